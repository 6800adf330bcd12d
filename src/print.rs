//! Output: `print!`/`println!`/`eprint!`/`eprintln!`, Go's `throw`/`fatal`, the panic handler,
//! and `GODEBUG=boottrace=1`.
//!
//! **User prints** (a goroutine with a P and no runtime lock) format into a per-M buffer, a
//! `Vec<u8>` kept in `m.printbuf` between prints (it grows from the heap for a long line, the
//! first print on an M allocates it, and one above 64 KB is not kept), then reach the fd as one
//! `write(2)` under the print lock, inside entersyscall so a blocked pipe does not hold the P:
//! a line up to PIPE_BUF is atomic on a pipe, and whole on a file or terminal, whatever other
//! goroutines print (Go: fmt's whole-line write under the fd's lock). The print lock is a
//! `sync::Mutex` (waiters park, nothing spins) held only around the write, never while
//! formatting, so a `Display` impl that blocks cannot hold it. The buffer is taken out of the M
//! for the call, so a goroutine that moves to another M while formatting keeps its own.
//!
//! **Runtime messages** (no P, a runtime lock held, g0, the signal handler, a dying process)
//! never allocate: they go through a 512-byte stack buffer straight to the fd, in as few writes
//! as they need, so they survive a broken allocator or scheduler.
//!
//! **Failures**: the first goroutine to panic or throw writes its whole report (after waiting up
//! to a second for the print lock, so it does not land inside another goroutine's line) and
//! exits; any other that fails meanwhile waits for that exit (Go's `panicking`/`paniclk`);
//! a failure while writing one's own report prints `panic during panic`.
//!
//! A write that finds the fd non-blocking and full waits until it drains (EAGAIN, `sys::write_all`);
//! EINTR retries; EPIPE on stdout or stderr ends the process by SIGPIPE, as Go does (`prog | head`
//! ends quietly). `gort::os::stdout()`/`stderr()` give the fallible form.

use alloc::vec::Vec;
use core::fmt::{self, Write};
use core::sync::atomic::{AtomicBool, AtomicI64, AtomicU8, AtomicUsize, Ordering};

use crate::gmp::Global;
use crate::sys as os;

/// fmt::Write to a file descriptor through a 512-byte stack buffer: runtime messages (never
/// allocates, never takes a lock).
pub struct FdWriter {
    fd: usize,
    len: usize,
    /// The first write error (errno), if any.
    err: Option<isize>,
    buf: [u8; 512],
}

impl FdWriter {
    /// A writer for fd that writes directly (runtime messages).
    pub const fn new(fd: usize) -> Self {
        FdWriter { fd, len: 0, err: None, buf: [0; 512] }
    }
    /// Writes out what is buffered.
    // Out of line: inlined into each runtime message's writer it was 17 copies (issue 22).
    #[inline(never)]
    pub fn flush(&mut self) {
        if self.len > 0 {
            let r = os::write_all(self.fd, &self.buf[..self.len], os::WriteWait::Bounded);
            self.err = self.err.or(r.err());
            self.len = 0;
        }
    }
}

impl Write for FdWriter {
    // Out of line: core's write_char default (and the integer and padding writers) would each
    // carry a copy (issue 22).
    #[inline(never)]
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let b = s.as_bytes();
        if self.len + b.len() > self.buf.len() {
            self.flush();
            if b.len() > self.buf.len() {
                let r = os::write_all(self.fd, b, os::WriteWait::Bounded);
                self.err = self.err.or(r.err());
                return Ok(());
            }
        }
        self.buf[self.len..self.len + b.len()].copy_from_slice(b);
        self.len += b.len();
        Ok(())
    }
    fn write_char(&mut self, c: char) -> fmt::Result {
        write_char(self, c)
    }
}

impl Drop for FdWriter {
    fn drop(&mut self) {
        self.flush();
    }
}

/// `fmt::Write::write_char` for the runtime's writers: one out-of-line copy (core's default
/// method, the UTF-8 encoding and its `write_str` inlined, was a copy per writer; issue 22).
#[inline(never)]
pub(crate) fn write_char(w: &mut dyn Write, c: char) -> fmt::Result {
    w.write_str(c.encode_utf8(&mut [0; 4]))
}

/// A `&str` shown by `{}` as it is: the runtime's messages never pad or truncate their strings,
/// and `str`'s own Display goes through core's `Formatter::pad` (2.3 KB with its UTF-8 character
/// counting), which a program then carries only if it formats a `&str` with `{}` itself
/// (issue 22).
#[derive(Clone, Copy)]
pub(crate) struct Str<'a>(pub &'a str);

impl fmt::Display for Str<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

/// `{}` of a bool without `Formatter::pad` (as `Str`).
pub(crate) fn bool_str(b: bool) -> Str<'static> {
    Str(if b { "true" } else { "false" })
}

/// Serialises user prints' writes (Go: the fd's write lock). Held only around one write.
static PRINT_LOCK: crate::sync::Mutex<()> = crate::sync::Mutex::new(());

/// Buffers kept per M above this size are freed after the print.
const PRINTBUF_KEEP: usize = 64 << 10;

/// fmt::Write into a Vec (the per-M print buffer).
struct VecWriter<'a>(&'a mut Vec<u8>);

impl Write for VecWriter<'_> {
    #[inline(never)]
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
    fn write_char(&mut self, c: char) -> fmt::Result {
        write_char(self, c)
    }
}

/// Takes the current M's print buffer (empty, with its capacity), or a new empty one.
fn take_printbuf() -> Vec<u8> {
    // Pinned: preempted between the read and the clear, the goroutine would clear another
    // thread's M and both would own the buffer.
    let mp = crate::proc::acquirem();
    // SAFETY: mp is this thread's M; printbuf holds the raw parts of a Vec<u8> of length 0
    // (put_printbuf) or zeros. Only this thread touches its M's printbuf.
    let buf = unsafe {
        let (ptr, cap) = (*mp).printbuf;
        (*mp).printbuf = (core::ptr::null_mut(), 0);
        if ptr.is_null() {
            Vec::new()
        } else {
            Vec::from_raw_parts(ptr, 0, cap)
        }
    };
    crate::proc::releasem(mp);
    buf
}

/// Gives a print buffer to the current M (which may not be the one it came from), unless the M
/// has one already or it is too big to keep.
fn put_printbuf(mut buf: Vec<u8>) {
    if buf.capacity() == 0 || buf.capacity() > PRINTBUF_KEEP {
        return;
    }
    let mp = crate::proc::acquirem();
    // SAFETY: as in take_printbuf.
    unsafe {
        if (*mp).printbuf.0.is_null() {
            buf.clear();
            let mut buf = core::mem::ManuallyDrop::new(buf);
            (*mp).printbuf = (buf.as_mut_ptr(), buf.capacity());
        }
    }
    crate::proc::releasem(mp);
}

/// What the print macros expand to: formats `args` to standard error or standard output.
/// A closed pipe ends the process by SIGPIPE; other failures are dropped (as Go's fmt.Print).
pub fn print(stderr: bool, args: fmt::Arguments<'_>) {
    let _ = print_to(if stderr { 2 } else { 1 }, args);
}

/// Formats `args` and writes them to fd 1 or 2: as one write for a user goroutine (see the
/// module doc), through the stack buffer elsewhere (inside `syscall::blocking` too, where the
/// print lock, which may park, cannot be taken). Err(errno) if a write failed; EPIPE ends the
/// process by SIGPIPE first.
pub fn print_to(fd: usize, args: fmt::Arguments<'_>) -> Result<(), isize> {
    let r = if !crate::proc::can_enter_syscall() || dying() {
        let mut w = FdWriter::new(fd);
        let _ = w.write_fmt(args);
        w.flush();
        w.err.map_or(Ok(()), Err)
    } else {
        let mut buf = take_printbuf();
        let _ = VecWriter(&mut buf).write_fmt(args);
        let r = write_user(fd, &buf);
        put_printbuf(buf);
        r
    };
    if r == Err(os::EPIPE) && !dying() {
        os::raise_sigpipe();
    }
    r
}

/// Writes `b` to fd 1 or 2 as one user write (under the print lock, so it does not land inside
/// a print) or, where the lock cannot be taken, directly: `gort::os::stdout()`'s
/// `embedded_io::Write`. Err(errno) if the write failed; EPIPE ends the process by SIGPIPE first.
pub fn write_bytes(fd: usize, b: &[u8]) -> Result<(), isize> {
    let r = if !crate::proc::can_enter_syscall() || dying() {
        os::write_all(fd, b, os::WriteWait::Bounded)
    } else {
        write_user(fd, b)
    };
    if r == Err(os::EPIPE) && !dying() {
        os::raise_sigpipe();
    }
    r
}

/// One user write of `b` to `fd`: under the print lock, waiting out EAGAIN on the poller when
/// the fd is a non-blocking one (crate::stdio), else inside entersyscall. Err(errno) if the
/// write failed.
fn write_user(fd: usize, b: &[u8]) -> Result<(), isize> {
    let _lock = PRINT_LOCK.lock();
    if let Some(pd) = crate::stdio::poll_desc(fd) {
        return crate::stdio::write_polled(fd, pd, b);
    }
    crate::proc::entersyscall();
    let r = os::write_all(fd, b, os::WriteWait::Forever);
    crate::proc::exitsyscall();
    r
}

/// Prints to standard output, like std's `print!`.
#[macro_export]
macro_rules! print {
    ($($arg:tt)*) => { $crate::__private::print(false, format_args!($($arg)*)) };
}

/// Prints to standard output with a newline, like std's `println!`.
#[macro_export]
macro_rules! println {
    () => { $crate::__private::print(false, format_args!("\n")) };
    ($($arg:tt)*) => { $crate::__private::print(false, format_args!("{}\n", format_args!($($arg)*))) };
}

/// Prints to standard error, like std's `eprint!`.
#[macro_export]
macro_rules! eprint {
    ($($arg:tt)*) => { $crate::__private::print(true, format_args!($($arg)*)) };
}

/// Prints to standard error with a newline, like std's `eprintln!`.
#[macro_export]
macro_rules! eprintln {
    () => { $crate::__private::print(true, format_args!("\n")) };
    ($($arg:tt)*) => { $crate::__private::print(true, format_args!("{}\n", format_args!($($arg)*))) };
}

/// Who is dying: 0 nobody, else the address of the M (or 1 for a thread without one) that
/// started the first fatal report.
static DYING: AtomicUsize = AtomicUsize::new(0);

/// Whether a fatal report has started.
fn dying() -> bool {
    DYING.load(Ordering::Relaxed) != 0
}

/// Starts the fatal report of this thread: returns when the caller is the first to fail and
/// may write its report. A second failure on the same thread (a panic while reporting) prints
/// `panic during panic` and exits 2; a failure on another thread waits for the first to finish
/// and exit (up to ten seconds, then it exits 2 itself).
fn start_dying() {
    let gp = crate::arch::getg();
    // Pinned for good (the report ends in exit): a failing goroutine is not preempted halfway
    // through its report, and the M read here stays its own.
    let mp = if gp.is_null() { core::ptr::null_mut() } else { crate::proc::acquirem() };
    let me = if mp.is_null() { 1 } else { mp as usize };
    match DYING.compare_exchange(0, me, Ordering::SeqCst, Ordering::SeqCst) {
        Ok(_) => {
            if !mp.is_null() {
                // SAFETY: our own M; scheddetail reads this word only for display.
                unsafe { (*mp).dying = 1 };
            }
            // Let a user print that is being written finish its line first (bounded: the
            // writer may be blocked on a pipe nobody drains).
            for _ in 0..1000 {
                if PRINT_LOCK.try_lock_raw() {
                    break;
                }
                os::usleep(1000);
            }
        }
        Err(first) if first == me => {
            let _ = os::write_all(2, b"panic during panic\n", os::WriteWait::Bounded);
            os::exit(2);
        }
        Err(_) => {
            // Another thread is writing the first report and will exit the process.
            for _ in 0..100 {
                os::usleep(100_000);
            }
            let _ = os::write_all(2, b"fatal error: another failure's report did not finish\n", os::WriteWait::Bounded);
            os::exit(2);
        }
    }
}

/// What failed, which decides how much the report shows (Go's throwType and gotraceback).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// An unrecovered panic (or a fault reported as one): GOTRACEBACK decides.
    Panic,
    /// A fatal error in the program's use of the runtime (a deadlock, an unlock of an unlocked
    /// mutex; Go's `fatal`): every goroutine, at GOTRACEBACK's level.
    Fatal,
    /// A broken runtime invariant (Go's `throw`): every goroutine, gort's own frames too.
    Throw,
}

/// Where the failing goroutine's frames start.
#[derive(Clone, Copy)]
#[allow(clippy::large_enum_variant)] // made once per failure, on the way to exit: no heap there
pub enum Frames<'a> {
    /// In the reporting function, which captures its registers: a panic (with its location)
    /// or a throw.
    Here(Option<&'a core::panic::Location<'a>>),
    /// Where a signal interrupted this thread (a fault, SIGQUIT, a stack overflow).
    Signal(CurRegs),
}

/// Go's throw: a runtime invariant is broken. Prints `fatal error: msg`, the goroutines with
/// gort's frames (as Go's throwTypeRuntime) and exits 2.
#[cold]
pub fn throw(msg: &str) -> ! {
    fatal_fmt(format_args!("{}", Str(msg)))
}

/// throw with a formatted message.
#[cold]
pub fn fatal_fmt(args: fmt::Arguments<'_>) -> ! {
    die(Failure::Throw, format_args!("fatal error: {}\n", args), Frames::Here(None))
}

/// Go's fatal: the program misused the runtime (a deadlock, an unlock of an unlocked mutex).
/// Prints `fatal error: msg` and every goroutine at GOTRACEBACK's level, exits 2.
#[cold]
pub fn fatal(msg: &str) -> ! {
    die(Failure::Fatal, format_args!("fatal error: {}\n", Str(msg)), Frames::Here(None))
}

/// Writes a fatal report and ends the process (Go's fatalthrow/fatalpanic + dopanic_m): `head`
/// (the `panic:` or `fatal error:` lines), then as GOTRACEBACK says (args::gotraceback): the
/// failing goroutine's frames from `frames`, every other goroutine; then exit 2, or SIGABRT for
/// GOTRACEBACK=crash. Under the dying protocol (start_dying): when two threads fail at once
/// (an overflow trampling a neighbour that faults), the second waits for the first to finish
/// its report and exit, so the two reports never interleave.
#[cold]
pub fn die(kind: Failure, head: fmt::Arguments<'_>, frames: Frames<'_>) -> ! {
    start_dying();
    let t = crate::args::gotraceback(kind != Failure::Panic, kind == Failure::Throw);
    // A `stack` call on another thread shares the unwinder's state: let it finish (bounded: it
    // may be this thread's, failing inside it).
    for _ in 0..1000 {
        if !STACK_BUSY.load(Ordering::Acquire) {
            break;
        }
        os::usleep(1000);
    }
    // From here on allocations (the line tables') come from an arena, not the heap.
    #[cfg(all(gort_traceback, feature = "traceback-lines"))]
    if t.level > 0 {
        crate::traceback::lines::divert();
    }
    {
        let mut w = FdWriter::new(2);
        let _ = w.write_fmt(head);
        if t.level > 0 {
            goroutines(&mut w, t, frames, true);
        }
    }
    if t.crash {
        os::crash()
    }
    os::exit(2)
}

/// The goroutines of a report (Go's dopanic_m + tracebackothers): the failing one first (its
/// `goroutine N [status]:` header, frames from `frames`, `created by`), then every other
/// goroutine if `t.all`, each after a blank line. A failure on g0 prints `runtime stack:` and
/// g0's frames instead of the first goroutine's. Frames exist only where the target has an
/// unwinder (cfg gort_traceback); elsewhere the headers, and a panic's location. Allocates
/// nothing. `dying`: the caller passed start_dying (else it holds the traceback lock and has
/// stopped the world).
fn goroutines(w: &mut dyn Write, t: crate::args::Traceback, frames: Frames<'_>, dying: bool) {
    let me = crate::proc::current_g();
    #[cfg(gort_traceback)]
    let regs = match frames {
        Frames::Here(_) => {
            let mut regs = crate::traceback::Regs::new();
            // SAFETY: regs is a writable Regs; this function stays live while they are used.
            unsafe { crate::traceback::capture(&mut regs) };
            regs
        }
        Frames::Signal(regs) => regs,
    };
    #[cfg(not(gort_traceback))]
    let regs = CurRegs;
    let (location, here) = match frames {
        Frames::Here(l) => (l, true),
        Frames::Signal(_) => (None, false),
    };
    let mut body = || {
        // The stack the frames are on: the goroutine's, or g0's (or gsignal's) for a failure in
        // the scheduler.
        #[cfg(gort_traceback)]
        let on = crate::proc::stack_holding(regs.sp());
        #[cfg(gort_traceback)]
        // SAFETY: this thread is the only one reporting (the caller's contract), on g0 or
        // gsignal (on_system_stack); the registers describe live frames of the stack found.
        let walk = |w: &mut dyn Write, bounds| unsafe {
            let mut r = crate::traceback::Report { regs, location, level: t.level, w };
            crate::traceback::print_frames(&mut r, bounds);
        };
        // (Go shows a scheduler's stack only at level 2, as a runtime throw has.)
        #[cfg(gort_traceback)]
        if let Some((gp, bounds)) = on {
            if gp != me && t.level >= 2 {
                let _ = writeln!(w, "\nruntime stack:");
                walk(&mut *w, bounds);
            }
        }
        if !me.is_null() {
            // A panic or throw comes from running code (even inside syscall::blocking, whose
            // status says syscall): Go's header says running.
            goroutine_header(w, me, here);
            #[cfg(gort_traceback)]
            {
                if let Some((gp, bounds)) = on {
                    if gp == me {
                        walk(&mut *w, bounds);
                    }
                }
                // SAFETY: as above; me is a g of allgs.
                unsafe { crate::traceback::created_by(w, me) };
            }
            #[cfg(not(gort_traceback))]
            if let Some(l) = location {
                let _ = writeln!(w, "\t{}:{}:{}", Str(l.file()), l.line() as u64, l.column() as u64);
            }
        }
        let _ = regs;
        if t.all {
            others(w, me, t.level, dying);
        }
    };
    on_system_stack(&mut body);
}

/// A blank line, then `goroutine N [status]:` (Go's goroutineheader): the status is its wait
/// reason when waiting, with `, M minutes` once it has waited a minute or more (waitsince), or
/// `running` when `running` says so (the failing goroutine).
fn goroutine_header(w: &mut dyn Write, gp: *mut crate::gmp::G, running: bool) {
    // SAFETY: gp is a g of allgs (never freed); waitsince is atomic.
    let (goid, since) = unsafe { ((*gp).goid, (*gp).waitsince.load(Ordering::Relaxed)) };
    let status = if running { "running" } else { crate::proc::gstatus_str(gp) };
    let _ = write!(w, "\ngoroutine {} [{}", goid, Str(status));
    let waiting = !running && crate::proc::gstatus_is(gp, crate::gmp::GStatus::Waiting);
    let minutes = (crate::time::nanotime() - since) / 60_000_000_000;
    if waiting && since != 0 && minutes >= 1 {
        let _ = write!(w, ", {} minutes", minutes);
    }
    let _ = w.write_str("]:\n");
}

/// Every goroutine but `me`, each after a blank line (Go's tracebackothers).
fn others(w: &mut dyn Write, me: *mut crate::gmp::G, _level: u8, dying: bool) {
    let mut one = |gp: *mut crate::gmp::G| {
        if gp == me {
            return;
        }
        goroutine_header(w, gp, false);
        #[cfg(gort_traceback)]
        // SAFETY: the caller is the only thread reporting, on g0 or gsignal; gp is of allgs.
        unsafe {
            crate::traceback::goroutine_frames(w, gp, None, _level)
        };
    };
    if dying {
        if !crate::proc::for_each_g_dying(&mut one) {
            let _ = writeln!(w, "\n(the goroutine list is locked: other goroutines not shown)");
        }
    } else {
        crate::proc::for_each_g(&mut one);
    }
}

/// Runs `f` on the M's g0 stack when on a goroutine's (which may be 2 KB), else (g0, gsignal,
/// a thread without g) where it is.
fn on_system_stack(f: &mut dyn FnMut()) {
    unsafe extern "C" fn tramp(arg: usize) {
        // SAFETY: on_system_stack passes a pointer to its live `&mut dyn FnMut()`.
        let f = unsafe { &mut *(arg as *mut &mut dyn FnMut()) };
        f();
    }
    let gp = crate::arch::getg();
    // SAFETY: a non-null g is this thread's running g, whose m is this thread's M.
    let user = !gp.is_null()
        && unsafe {
            let mp = (*gp).m;
            !mp.is_null() && gp != (*mp).g0 && gp != (*mp).gsignal
        };
    if user {
        let mut f = f;
        // SAFETY: the report neither parks nor switches goroutines; f outlives the call.
        unsafe { crate::arch::systemstack(tramp, &mut f as *mut &mut dyn FnMut() as usize) };
    } else {
        f();
    }
}

/// The registers a signal interrupted the current goroutine at (faults, SIGQUIT).
#[cfg(gort_traceback)]
pub type CurRegs = crate::traceback::Regs;
/// The registers a signal interrupted the current goroutine at (none kept: this target has no
/// unwinder).
#[cfg(not(gort_traceback))]
#[derive(Clone, Copy)]
pub struct CurRegs;

/// Set while `stack` walks (it and a fatal report share the unwinder's static state).
static STACK_BUSY: AtomicBool = AtomicBool::new(false);

/// Go's runtime.Stack: the report `goroutines` prints for a panic, as text: this goroutine's
/// `goroutine N [running]:` and frames (gort's own hidden unless GOTRACEBACK=system), then with
/// `all` every other goroutine, the world stopped meanwhile so that none moves.
pub fn stack(all: bool) -> alloc::string::String {
    struct S(alloc::string::String);
    impl Write for S {
        fn write_str(&mut self, s: &str) -> fmt::Result {
            self.0.push_str(s);
            Ok(())
        }
    }
    let mut t = crate::args::gotraceback(false, false);
    t.level = t.level.max(1);
    t.all = all;
    let mut out = S(alloc::string::String::new());
    // Taken before the world stops: a holder preempted meanwhile could not run again.
    while STACK_BUSY.swap(true, Ordering::Acquire) {
        crate::proc::gosched();
    }
    let mut run = || goroutines(&mut out, t, Frames::Here(None), false);
    if all {
        crate::proc::with_world_stopped(run);
    } else {
        run();
    }
    STACK_BUSY.store(false, Ordering::Release);
    // Go's text starts with the header, not the blank line a report puts before it.
    let s = out.0;
    match s.strip_prefix('\n') {
        Some(rest) => rest.into(),
        None => s,
    }
}

/// The panic handler: Go's `panic: <msg>` + `goroutine N [running]:` + the goroutine's call
/// chain (see `die`), exit 2.
///
/// A panic off a user goroutine (on g0 or gsignal: the scheduler, a signal handler; or on a g
/// whose M is gone, a broken scheduler state) is a runtime bug, as in Go's gopanic (`panic on
/// system stack`): a throw, whose report shows the stack the panic happened on (`runtime
/// stack:`) and every goroutine. As a plain panic it printed `panic: <msg>` alone there: with
/// no current goroutine there was no goroutine to show, and the M's stack only shows at level 2.
#[cfg(not(test))]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    let gp = crate::arch::getg();
    if !gp.is_null() && crate::proc::current_g() != gp {
        die(
            Failure::Throw,
            format_args!("panic: {}\nfatal error: panic on system stack\n", info.message()),
            Frames::Here(info.location()),
        )
    }
    die(Failure::Panic, format_args!("panic: {}\n", info.message()), Frames::Here(info.location()))
}

// --- GODEBUG=boottrace=1 ---

const TRACE_UNDECIDED: u8 = 0;
const TRACE_ON: u8 = 1;
const TRACE_OFF: u8 = 2;
static TRACE_STATE: AtomicU8 = AtomicU8::new(TRACE_UNDECIDED);
/// nanotime at the first step timed (boottrace_us), 0 before.
static T0: AtomicI64 = AtomicI64::new(0);
/// Lines recorded before parsedebugvars knows whether to print them (single-threaded at boot).
static EARLY: Global<([u8; 4096], usize)> = Global::new(([0; 4096], 0));

struct EarlyWriter;
impl Write for EarlyWriter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        // SAFETY: only the boot thread writes EARLY, before any other thread exists.
        let (buf, len) = unsafe { &mut *EARLY.get() };
        let n = s.len().min(buf.len() - *len);
        buf[*len..*len + n].copy_from_slice(&s.as_bytes()[..n]);
        *len += n;
        Ok(())
    }
    fn write_char(&mut self, c: char) -> fmt::Result {
        write_char(self, c)
    }
}

/// Microseconds since boottrace's clock started. It starts at the first step the OS's clock is
/// cheap for (`clock_ready`; linux: once sysargs has found the vDSO): before that a reading would
/// cost a system call in every program, traced or not, so those first steps say +0us.
fn boottrace_us() -> i64 {
    if !os::clock_ready() {
        return 0;
    }
    let now = crate::time::nanotime();
    let t0 = T0.load(Ordering::Relaxed);
    if t0 == 0 {
        T0.store(now, Ordering::Relaxed);
        return 0;
    }
    (now - t0) / 1000
}

/// Records one startup step: `boottrace: +<µs>µs <step>: <values>`. Before parsedebugvars the line
/// is kept (with the time it happened) and printed once GODEBUG says boottrace=1.
pub fn boottrace(step: &str, args: fmt::Arguments<'_>) {
    let state = TRACE_STATE.load(Ordering::Relaxed);
    if state == TRACE_OFF {
        return;
    }
    let us = boottrace_us();
    if state == TRACE_UNDECIDED {
        let _ = writeln!(EarlyWriter, "boottrace: +{}us {}: {}", us, Str(step), args);
    } else {
        print(true, format_args!("boottrace: +{}us {}: {}\n", us, Str(step), args));
    }
}

/// Whether boottrace may print (on, or not decided yet): a step whose values cost something to
/// find (a file read, say) asks first, since `format_args!` evaluates them either way.
pub fn boottracing() -> bool {
    TRACE_STATE.load(Ordering::Relaxed) != TRACE_OFF
}

/// Decides boottrace once GODEBUG is parsed, flushing the lines recorded so far if it is on.
pub fn boottrace_decide(on: bool) {
    if on {
        // SAFETY: still single-threaded (schedinit).
        let (buf, len) = unsafe { &*EARLY.get() };
        let _ = os::write_all(2, &buf[..*len], os::WriteWait::Bounded);
        TRACE_STATE.store(TRACE_ON, Ordering::Relaxed);
    } else {
        TRACE_STATE.store(TRACE_OFF, Ordering::Relaxed);
    }
}
