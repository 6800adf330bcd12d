//! Standard input, output and error on the poller (Go's os.Stdin/Stdout/Stderr:
//! `newFile(fd, name, kindNonBlock)` in os/file_unix.go). Go never sets O_NONBLOCK on inherited
//! stdio: a blocking fd is read or written inside entersyscall (the thread blocks, the P goes
//! on), while an fd that already is non-blocking is registered with the network poller at its
//! first use, where it can be (a pipe, a socket, a terminal; epoll refuses regular files, which
//! then go the blocking way), and a read that finds nothing or a write that finds the pipe full
//! parks the goroutine on the poller. The choice is made once per fd, at its first use; the
//! descriptors are never closed.

use crate::io::Error;
use crate::netpoll::{Mode, PollDesc};

/// Serialises stdin's first decision and its poller reads (one goroutine at a time parks on the
/// descriptor's rg, as Go's fd read lock). Output is serialised by print.rs's print lock.
static READ_LOCK: crate::sync::Mutex<()> = crate::sync::Mutex::new(());

/// The poll descriptor of stdio fd `fd` (0, 1 or 2) if its I/O goes through the poller. The
/// caller holds the lock that serialises that fd's use (READ_LOCK for stdin, the print lock for
/// output), so the first decision is made once.
#[cfg(target_os = "linux")]
pub(crate) fn poll_desc(fd: usize) -> Option<&'static PollDesc> {
    use core::sync::atomic::{AtomicUsize, Ordering};
    /// Not yet decided.
    const UNKNOWN: usize = 0;
    /// Blocking I/O inside entersyscall.
    const BLOCKING: usize = 1;
    /// Per fd: UNKNOWN, BLOCKING, or the `&'static PollDesc` it is registered with.
    /// Release/Acquire: whoever sees the pointer sees the registered descriptor.
    static STATE: [AtomicUsize; 3] = [const { AtomicUsize::new(UNKNOWN) }; 3];
    let state = STATE.get(fd)?;
    let mut s = state.load(Ordering::Acquire);
    if s == UNKNOWN {
        s = match crate::sys::fs::is_nonblocking(fd).then(|| crate::netpoll::poll_open(fd)) {
            Some(Ok(pd)) => pd as *const PollDesc as usize,
            _ => BLOCKING,
        };
        state.store(s, Ordering::Release);
    }
    // SAFETY: a value other than the two markers is a descriptor from poll_open, never freed
    // (poll descriptors live for the process) and never closed (stdio's are kept open).
    (s != BLOCKING).then(|| unsafe { &*(s as *const PollDesc) })
}

/// No poller for stdio on this OS yet: its I/O always blocks the thread (inside entersyscall).
#[cfg(not(target_os = "linux"))]
pub(crate) fn poll_desc(_fd: usize) -> Option<&'static PollDesc> {
    None
}

/// One read of stdin: bytes read, 0 at the end of input.
pub(crate) fn read_stdin(buf: &mut [u8]) -> Result<usize, Error> {
    let fd = crate::sys::fs::stdin();
    let _lock = READ_LOCK.lock();
    let Some(pd) = poll_desc(fd) else {
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

/// Writes all of `b` to a stdio fd registered with the poller, parking while the pipe is full:
/// Err(errno) on failure. The caller holds the print lock.
pub(crate) fn write_polled(fd: usize, pd: &PollDesc, mut b: &[u8]) -> Result<(), isize> {
    // Never closed and no deadline: the waits cannot fail.
    let _ = pd.prepare(Mode::Write);
    while !b.is_empty() {
        match crate::sys::fs::write(fd, b) {
            Ok(n) => b = &b[n..],
            Err(e) if e.kind() == crate::io::ErrorKind::WouldBlock => {
                let _ = pd.wait(Mode::Write);
            }
            Err(e) => return Err(e.raw_os_error().unwrap_or(0) as isize),
        }
    }
    Ok(())
}
