//! Standard input's reads (Go's os.Stdin: `newFile(fd, name, kindNonBlock)` in os/file_unix.go).
//! Go never sets O_NONBLOCK on inherited stdio: a blocking stdin is read inside entersyscall (the
//! thread blocks, the P goes on), while a stdin that already is non-blocking is registered with
//! the network poller at the first read, where it can be (a pipe, a socket, a terminal; epoll
//! refuses regular files, which then read as blocking ones), and a read that finds nothing parks
//! the goroutine instead of failing with WouldBlock. The choice is made once, at the first read.

use crate::io::Error;
use crate::netpoll::{Mode, PollDesc};

/// Serialises the first decision, and the poller reads (one goroutine at a time parks on the
/// descriptor's rg, as Go's fd read lock).
static READ_LOCK: crate::sync::Mutex<()> = crate::sync::Mutex::new(());

/// The poll descriptor if stdin reads go through the poller. Called with READ_LOCK held.
#[cfg(target_os = "linux")]
fn poll_desc() -> Option<&'static PollDesc> {
    use core::sync::atomic::{AtomicUsize, Ordering};
    /// Not yet decided.
    const UNKNOWN: usize = 0;
    /// Blocking reads inside entersyscall.
    const BLOCKING: usize = 1;
    /// UNKNOWN, BLOCKING, or the `&'static PollDesc` stdin is registered with. Release/Acquire:
    /// a reader that sees the pointer sees the registered descriptor.
    static STATE: AtomicUsize = AtomicUsize::new(UNKNOWN);
    let mut s = STATE.load(Ordering::Acquire);
    if s == UNKNOWN {
        let fd = crate::sys::fs::stdin();
        s = match crate::sys::fs::is_nonblocking(fd).then(|| crate::netpoll::poll_open(fd)) {
            Some(Ok(pd)) => pd as *const PollDesc as usize,
            _ => BLOCKING,
        };
        STATE.store(s, Ordering::Release);
    }
    // SAFETY: a value other than the two markers is a descriptor from poll_open, never freed
    // (poll descriptors live for the process) and never closed (stdin's is kept open).
    (s != BLOCKING).then(|| unsafe { &*(s as *const PollDesc) })
}

/// No poller on this OS yet: stdin always blocks the thread (inside entersyscall).
#[cfg(not(target_os = "linux"))]
fn poll_desc() -> Option<&'static PollDesc> {
    None
}

/// One read of stdin: bytes read, 0 at the end of input.
pub(crate) fn read(buf: &mut [u8]) -> Result<usize, Error> {
    let fd = crate::sys::fs::stdin();
    let _lock = READ_LOCK.lock();
    let Some(pd) = poll_desc() else {
        return crate::syscall::blocking(|| crate::sys::fs::read(fd, buf));
    };
    pd.prepare(Mode::Read)?;
    loop {
        match crate::sys::fs::read(fd, buf) {
            Err(e) if e.kind() == crate::io::ErrorKind::WouldBlock => pd.wait(Mode::Read)?,
            r => return r,
        }
    }
}
