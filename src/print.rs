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
use core::sync::atomic::{AtomicI64, AtomicU8, AtomicUsize, Ordering};

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
    pub fn flush(&mut self) {
        if self.len > 0 {
            let r = os::write_all(self.fd, &self.buf[..self.len], os::WriteWait::Bounded);
            self.err = self.err.or(r.err());
            self.len = 0;
        }
    }
}

impl Write for FdWriter {
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
}

impl Drop for FdWriter {
    fn drop(&mut self) {
        self.flush();
    }
}

/// Serialises user prints' writes (Go: the fd's write lock). Held only around one write.
static PRINT_LOCK: crate::sync::Mutex<()> = crate::sync::Mutex::new(());

/// Buffers kept per M above this size are freed after the print.
const PRINTBUF_KEEP: usize = 64 << 10;

/// fmt::Write into a Vec (the per-M print buffer).
struct VecWriter<'a>(&'a mut Vec<u8>);

impl Write for VecWriter<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

/// Takes the current M's print buffer (empty, with its capacity), or a new empty one.
fn take_printbuf() -> Vec<u8> {
    let mp = crate::proc::getm();
    // SAFETY: mp is this thread's M; printbuf holds the raw parts of a Vec<u8> of length 0
    // (put_printbuf) or zeros. Only this thread touches its M's printbuf.
    unsafe {
        let (ptr, cap) = (*mp).printbuf;
        (*mp).printbuf = (core::ptr::null_mut(), 0);
        if ptr.is_null() {
            Vec::new()
        } else {
            Vec::from_raw_parts(ptr, 0, cap)
        }
    }
}

/// Gives a print buffer to the current M (which may not be the one it came from), unless the M
/// has one already or it is too big to keep.
fn put_printbuf(mut buf: Vec<u8>) {
    if buf.capacity() == 0 || buf.capacity() > PRINTBUF_KEEP {
        return;
    }
    let mp = crate::proc::getm();
    // SAFETY: as in take_printbuf.
    unsafe {
        if (*mp).printbuf.0.is_null() {
            buf.clear();
            let mut buf = core::mem::ManuallyDrop::new(buf);
            (*mp).printbuf = (buf.as_mut_ptr(), buf.capacity());
        }
    }
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

/// One user write of `b` to `fd`: under the print lock, inside entersyscall, waiting out EAGAIN.
/// Err(errno) if the write failed.
fn write_user(fd: usize, b: &[u8]) -> Result<(), isize> {
    let _lock = PRINT_LOCK.lock();
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
    // SAFETY: a non-null g is the running one, whose m is this thread's M.
    let mp = if gp.is_null() { core::ptr::null_mut() } else { unsafe { (*gp).m } };
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

/// Go's throw: a runtime invariant is broken. Prints `fatal error: msg` and exits 2.
#[cold]
pub fn throw(msg: &str) -> ! {
    fatal_fmt(format_args!("{}", msg))
}

/// Go's fatal with a formatted message: `fatal error: ...`, the current goroutine and (linux
/// the call chain of the stack it runs on (every target but windows/arm), exit 2.
#[cold]
pub fn fatal_fmt(args: fmt::Arguments<'_>) -> ! {
    fatal_report(None, args)
}

/// fatal_fmt with a report printed before the `fatal error:` line (stack_overflow's `runtime:`
/// lines), under the same dying protocol: when two threads fail at once (an overflow trampling
/// a neighbour that faults), the second waits for the first to finish its report and exit, so
/// the two reports never interleave.
#[cold]
pub fn fatal_report(pre: Option<fmt::Arguments<'_>>, args: fmt::Arguments<'_>) -> ! {
    start_dying();
    {
        let mut w = FdWriter::new(2);
        if let Some(pre) = pre {
            let _ = w.write_fmt(pre);
        }
        let _ = writeln!(w, "fatal error: {}", args);
        if let Some((goid, status)) = crate::proc::current_goroutine() {
            let _ = write!(w, "\ngoroutine {} [{}]:\n", goid, status);
            #[cfg(not(all(windows, target_arch = "arm")))]
            {
                let mut regs = crate::traceback::Regs::new();
                // SAFETY: regs is a writable Regs.
                unsafe { crate::traceback::capture(&mut regs) };
                let r = crate::traceback::Report { regs, location: None, w: &mut w };
                // SAFETY: start_dying admitted this thread as the only reporter; regs describe
                // this function, which runs until the process exits.
                unsafe { crate::traceback::traceback(r) };
            }
        }
    }
    os::exit(2)
}

/// Go's throw for a deadlock: `fatal error: msg`, then every goroutine (dump_goroutines), exit 2.
#[cold]
pub fn throw_dump(msg: &str) -> ! {
    start_dying();
    {
        let mut w = FdWriter::new(2);
        let _ = writeln!(w, "fatal error: {}", msg);
        dump_goroutines(&mut w, None);
    }
    os::exit(2)
}

/// The registers a signal interrupted the current goroutine at (SIGQUIT's dump).
#[cfg(not(all(windows, target_arch = "arm")))]
pub type CurRegs = crate::traceback::Regs;
/// The registers a signal interrupted the current goroutine at (unused without tracebacks).
#[cfg(all(windows, target_arch = "arm"))]
pub type CurRegs = ();

/// Every goroutine, as Go's tracebackothers after `fatal error:` or `SIGQUIT:`: for each, a
/// blank line, `goroutine N [status or wait reason]:`, and (not on windows/arm) its frames and
/// `created by` lines; the current goroutine first (its frames from `cur`, the registers a
/// signal interrupted it at). Elsewhere only the headers. Never allocates.
///
/// Only the thread that passed start_dying calls it, on g0 or the signal stack.
pub fn dump_goroutines(w: &mut FdWriter, cur: Option<CurRegs>) {
    let me = crate::proc::current_g();
    let one = |w: &mut FdWriter, gp: *mut crate::gmp::G, _regs: Option<CurRegs>| {
        // SAFETY: gp is a g of allgs (never freed).
        let goid = unsafe { (*gp).goid };
        let _ = write!(w, "\ngoroutine {} [{}]:\n", goid, crate::proc::gstatus_str(gp));
        #[cfg(not(all(windows, target_arch = "arm")))]
        // SAFETY: the caller passed start_dying and runs on g0 or gsignal; gp is of allgs.
        unsafe {
            crate::traceback::goroutine_frames(w, gp, _regs)
        };
    };
    if !me.is_null() {
        one(w, me, cur);
    }
    let ok = crate::proc::for_each_g_dying(|gp| {
        if gp != me {
            one(w, gp, None);
        }
    });
    if !ok {
        let _ = writeln!(w, "\n(the goroutine list is locked: other goroutines not shown)");
    }
}

/// The start of a signal's report (signal_unix, the windows exception handler): the dying
/// protocol, then a writer for the report; the caller exits.
pub fn start_signal_report() -> FdWriter {
    start_dying();
    FdWriter::new(2)
}

/// The panic handler: Go's `panic: <msg>` + `goroutine N [running]:` + the goroutine's call
/// chain (traceback/; on windows/arm the panic location alone), exit 2.
#[cfg(not(test))]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    start_dying();
    {
        let mut w = FdWriter::new(2);
        let _ = write!(w, "panic: {}", info.message());
        let goid = crate::proc::current_goroutine().map_or(0, |(id, _)| id);
        let _ = write!(w, "\n\ngoroutine {} [running]:\n", goid);
        #[cfg(not(all(windows, target_arch = "arm")))]
        {
            let mut regs = crate::traceback::Regs::new();
            // SAFETY: regs is a writable Regs.
            unsafe { crate::traceback::capture(&mut regs) };
            let r = crate::traceback::Report { regs, location: info.location(), w: &mut w };
            // SAFETY: start_dying admitted this thread as the only reporter; regs describe this
            // function, which runs until the process exits.
            unsafe { crate::traceback::traceback(r) };
        }
        #[cfg(all(windows, target_arch = "arm"))]
        if let Some(loc) = info.location() {
            let _ = writeln!(w, "\t{}:{}:{}", loc.file(), loc.line(), loc.column());
        }
    }
    os::exit(2)
}

// --- GODEBUG=boottrace=1 ---

const TRACE_UNDECIDED: u8 = 0;
const TRACE_ON: u8 = 1;
const TRACE_OFF: u8 = 2;
static TRACE_STATE: AtomicU8 = AtomicU8::new(TRACE_UNDECIDED);
/// nanotime at rt0_go's hand-off to Rust (the first `check` instruction).
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
}

/// Starts the boottrace clock (called first thing in check).
pub fn boottrace_start() {
    T0.store(crate::time::nanotime(), Ordering::Relaxed);
}

/// Records one startup step: `boottrace: +<µs>µs <step>: <values>`. Before parsedebugvars the line
/// is kept (with the time it happened) and printed once GODEBUG says boottrace=1.
pub fn boottrace(step: &str, args: fmt::Arguments<'_>) {
    let state = TRACE_STATE.load(Ordering::Relaxed);
    if state == TRACE_OFF {
        return;
    }
    let us = (crate::time::nanotime() - T0.load(Ordering::Relaxed)) / 1000;
    if state == TRACE_UNDECIDED {
        let _ = writeln!(EarlyWriter, "boottrace: +{}us {}: {}", us, step, args);
    } else {
        print(true, format_args!("boottrace: +{}us {}: {}\n", us, step, args));
    }
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
