//! Output without allocation: `print!`/`println!`/`eprint!`/`eprintln!`, Go's `throw`/`fatal`,
//! the panic handler, and `GODEBUG=boottrace=1`.
//!
//! Each print call formats into a stack buffer and issues as few write(2)s as it can, straight to
//! the fd: nothing is buffered across calls, so messages survive a crash of the allocator or the
//! scheduler.

use core::fmt::{self, Write};
use core::sync::atomic::{AtomicI64, AtomicU8, Ordering};

use crate::runtime2::Global;
use crate::sys as os;

/// fmt::Write to a file descriptor through a 512-byte stack buffer.
pub struct FdWriter {
    fd: usize,
    len: usize,
    /// Write through entersyscall/exitsyscall (a user goroutine: a blocked pipe must not hold
    /// the P). Runtime and crash messages write directly.
    blocking: bool,
    buf: [u8; 512],
}

impl FdWriter {
    /// A writer for fd that writes directly (runtime messages).
    pub const fn new(fd: usize) -> Self {
        FdWriter { fd, len: 0, blocking: false, buf: [0; 512] }
    }
    /// Writes out what is buffered.
    pub fn flush(&mut self) {
        self.write_out_range(0, self.len);
        self.len = 0;
    }
    fn write_out_range(&self, from: usize, to: usize) {
        if from == to {
            return;
        }
        if self.blocking {
            crate::proc::entersyscall();
            os::write_all(self.fd, &self.buf[from..to]);
            crate::proc::exitsyscall();
        } else {
            os::write_all(self.fd, &self.buf[from..to]);
        }
    }
}

impl Write for FdWriter {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let b = s.as_bytes();
        if self.len + b.len() > self.buf.len() {
            self.flush();
            if b.len() > self.buf.len() {
                if self.blocking {
                    crate::proc::entersyscall();
                    os::write_all(self.fd, b);
                    crate::proc::exitsyscall();
                } else {
                    os::write_all(self.fd, b);
                }
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

/// What the print macros expand to: formats `args` to standard error or standard output.
pub fn print(stderr: bool, args: fmt::Arguments<'_>) {
    let mut w = FdWriter::new(if stderr { 2 } else { 1 });
    w.blocking = crate::proc::can_enter_syscall();
    let _ = w.write_fmt(args);
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

/// Set once a fatal path has started: a second failure while dying exits at once.
static DYING: AtomicU8 = AtomicU8::new(0);

/// Marks the process as dying; returns false if it already was (so the caller just exits).
fn start_dying() -> bool {
    DYING.swap(1, Ordering::SeqCst) == 0
}

/// Go's throw: a runtime invariant is broken. Prints `fatal error: msg` and exits 2.
#[cold]
pub fn throw(msg: &str) -> ! {
    fatal_fmt(format_args!("{}", msg))
}

/// Go's fatal with a formatted message: `fatal error: ...`, the current goroutine, exit 2.
#[cold]
pub fn fatal_fmt(args: fmt::Arguments<'_>) -> ! {
    fatal_report(None, args)
}

/// fatal_fmt with a report printed before the `fatal error:` line (stack_overflow's `runtime:`
/// lines), under the same dying check: when two threads fail at once (an overflow trampling a
/// neighbour that faults), the second waits for the first to finish its report and exit, so the
/// two reports never interleave.
#[cold]
pub fn fatal_report(pre: Option<fmt::Arguments<'_>>, args: fmt::Arguments<'_>) -> ! {
    if !start_dying() {
        // Give the first report a second to be written and exit the process.
        os::usleep(1_000_000);
        os::write_all(2, b"fatal error: (while dying)\n");
        os::exit(2);
    }
    {
        let mut w = FdWriter::new(2);
        if let Some(pre) = pre {
            let _ = w.write_fmt(pre);
        }
        let _ = writeln!(w, "fatal error: {}", args);
        if let Some((goid, status)) = crate::proc::current_goroutine() {
            let _ = write!(w, "\ngoroutine {} [{}]:\n", goid, status);
        }
    }
    os::exit(2)
}

/// The panic handler: Go's `panic: <msg>` + `goroutine N [running]:` + location, exit 2.
#[cfg(not(test))]
#[panic_handler]
fn panic(info: &core::panic::PanicInfo<'_>) -> ! {
    if !start_dying() {
        os::write_all(2, b"panic during panic\n");
        os::exit(2);
    }
    {
        let mut w = FdWriter::new(2);
        let _ = write!(w, "panic: {}", info.message());
        let goid = crate::proc::current_goroutine().map_or(0, |(id, _)| id);
        let _ = write!(w, "\n\ngoroutine {} [running]:\n", goid);
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
        os::write_all(2, &buf[..*len]);
        TRACE_STATE.store(TRACE_ON, Ordering::Relaxed);
    } else {
        TRACE_STATE.store(TRACE_OFF, Ordering::Relaxed);
    }
}

