//! A socket on the poller (Go's internal/poll FD + fd_mutex.go + net/fd_unix.go): the fd, its
//! poll descriptor, a reference count that keeps the fd alive while calls use it, and the read
//! and write locks.

use core::sync::atomic::{AtomicUsize, Ordering};

use crate::io::{Error, ErrorKind};
use crate::netpoll::{Mode, PollDesc, PollError};
use crate::sync::{Mutex, MutexGuard};
use crate::sys::{nr, syscall6};

/// Interrupted system call.
pub(super) const EINTR: isize = 4;
/// Would block.
pub(super) const EAGAIN: isize = 11;
/// Connection in progress (non-blocking connect).
pub(super) const EINPROGRESS: isize = 115;
/// Connection aborted before accept took it.
pub(super) const ECONNABORTED: isize = 103;

/// The closed bit of `refs`; the count of calls in flight is above it, in steps of 2.
const CLOSED: usize = 1;

/// Go's poll.FD: a non-blocking socket registered with the poller.
pub(super) struct NetFd {
    fd: usize,
    pd: &'static PollDesc,
    /// Go's fdMutex, reduced to what gort needs: bit 0 = closed, the rest = calls in flight × 2.
    /// Whoever brings it to "closed, no calls" (close, or the last call after it) releases the
    /// fd. AcqRel on every change: the releaser sees every call's effects finished.
    refs: AtomicUsize,
    /// Go's rwlock read half: one reader at a time parks on the descriptor's rg.
    rmu: Mutex<()>,
    /// Go's rwlock write half.
    wmu: Mutex<()>,
}

/// A call in flight: the fd stays open until it drops. Holds the read or write lock if taken.
pub(super) struct Use<'a> {
    fd: &'a NetFd,
    _lock: Option<MutexGuard<'a, ()>>,
}

impl Drop for Use<'_> {
    fn drop(&mut self) {
        self.fd.decref();
    }
}

/// A poll error as the error Go's net package returns.
pub(super) fn poll_error(e: PollError) -> Error {
    match e {
        PollError::Closing => Error::closed(),
        PollError::Timeout => Error::timed_out(),
    }
}

/// The error for a negative system call result.
pub(super) fn os_error(r: isize) -> Error {
    Error::from_raw_os_error(-r as i32)
}

impl NetFd {
    /// Takes ownership of `fd` (non-blocking, close-on-exec) and registers it with the poller;
    /// closes it on failure.
    pub(super) fn new(fd: usize) -> Result<NetFd, Error> {
        match crate::netpoll::poll_open(fd) {
            Ok(pd) => Ok(NetFd { fd, pd, refs: AtomicUsize::new(0), rmu: Mutex::new(()), wmu: Mutex::new(()) }),
            Err(e) => {
                close_raw(fd);
                Err(Error::from_raw_os_error(e))
            }
        }
    }

    /// Go's fdMutex.incref: fails with Closed once the fd is closing.
    fn incref(&self) -> Result<(), Error> {
        // Every call may park or ready a goroutine: not inside syscall::blocking (a panic, as
        // for channels, instead of a goroutine parked without a P).
        crate::proc::check_has_p();
        let mut v = self.refs.load(Ordering::Relaxed);
        loop {
            if v & CLOSED != 0 {
                return Err(Error::closed());
            }
            match self.refs.compare_exchange_weak(v, v + 2, Ordering::AcqRel, Ordering::Relaxed) {
                Ok(_) => return Ok(()),
                Err(cur) => v = cur,
            }
        }
    }

    /// Go's fdMutex.decref: the last call after a close releases the fd.
    fn decref(&self) {
        if self.refs.fetch_sub(2, Ordering::AcqRel) - 2 == CLOSED {
            self.destroy();
        }
    }

    /// A call that neither reads nor writes (getsockname, setsockopt, shutdown, deadlines).
    pub(super) fn use_fd(&self) -> Result<Use<'_>, Error> {
        self.incref()?;
        Ok(Use { fd: self, _lock: None })
    }

    /// A read (Go's readLock): reference + the read lock.
    pub(super) fn read_lock(&self) -> Result<Use<'_>, Error> {
        self.incref()?;
        let u = Use { fd: self, _lock: Some(self.rmu.lock()) };
        // Closed while we waited for the lock: fail as Go's rwlock does.
        self.pd.prepare(Mode::Read).map_err(poll_error)?;
        Ok(u)
    }

    /// A write (Go's writeLock).
    pub(super) fn write_lock(&self) -> Result<Use<'_>, Error> {
        self.incref()?;
        let u = Use { fd: self, _lock: Some(self.wmu.lock()) };
        self.pd.prepare(Mode::Write).map_err(poll_error)?;
        Ok(u)
    }

    /// The raw fd (valid while a `Use` is held).
    pub(super) fn raw(&self, _u: &Use<'_>) -> usize {
        self.fd
    }

    /// Go's pollDesc.wait: parks until ready for `mode`, the deadline or close.
    pub(super) fn wait(&self, mode: Mode) -> Result<(), Error> {
        self.pd.wait(mode).map_err(poll_error)
    }

    /// Go's SetDeadline family: `d` as crate::netpoll::deadline_from.
    pub(super) fn set_deadline(&self, d: i64, mode: Option<Mode>) -> Result<(), Error> {
        let _u = self.use_fd()?;
        self.pd.set_deadline(d, mode);
        Ok(())
    }

    /// Go's FD.Close: marks the fd closed, wakes every goroutine blocked on it (Closed), and
    /// releases it once no call uses it. A second close fails with Closed.
    pub(super) fn close(&self) -> Result<(), Error> {
        crate::proc::check_has_p();
        let prev = self.refs.fetch_or(CLOSED, Ordering::AcqRel);
        if prev & CLOSED != 0 {
            return Err(Error::closed());
        }
        self.pd.evict();
        if prev == 0 {
            self.destroy();
        }
        Ok(())
    }

    /// Go's FD.destroy: deregisters and closes the fd (exactly once: the caller brought `refs`
    /// to "closed, no calls").
    fn destroy(&self) {
        self.pd.close();
        close_raw(self.fd);
    }

    /// Reads with the poller: one system call `f(fd)` returning bytes or -errno, parked on EAGAIN.
    pub(super) fn read_with(&self, mut f: impl FnMut(usize) -> isize) -> Result<usize, Error> {
        let u = self.read_lock()?;
        let fd = self.raw(&u);
        loop {
            let n = f(fd);
            if n >= 0 {
                return Ok(n as usize);
            }
            match n {
                r if r == -EINTR => continue,
                r if r == -EAGAIN => self.wait(Mode::Read)?,
                r => return Err(os_error(r)),
            }
        }
    }

    /// Writes with the poller, as read_with.
    pub(super) fn write_with(&self, mut f: impl FnMut(usize) -> isize) -> Result<usize, Error> {
        let u = self.write_lock()?;
        let fd = self.raw(&u);
        loop {
            let n = f(fd);
            if n >= 0 {
                return Ok(n as usize);
            }
            match n {
                r if r == -EINTR => continue,
                r if r == -EAGAIN => self.wait(Mode::Write)?,
                r => return Err(os_error(r)),
            }
        }
    }
}

impl Drop for NetFd {
    fn drop(&mut self) {
        // The owner goes away: close if nobody did (no call can be in flight: they borrow self).
        let _ = self.close();
    }
}

/// close(2), ignoring EINTR as Go does (linux releases the fd anyway).
pub(super) fn close_raw(fd: usize) {
    // SAFETY: fd is ours and released exactly once.
    unsafe { syscall6(nr::CLOSE, fd, 0, 0, 0, 0, 0) };
}

/// socket(2), non-blocking and close-on-exec.
pub(super) fn socket(family: usize, ty: usize) -> Result<usize, Error> {
    const SOCK_NONBLOCK: usize = 0o4000;
    const SOCK_CLOEXEC: usize = 0o2000000;
    // SAFETY: integer arguments.
    let r = unsafe { syscall6(nr::SOCKET, family, ty | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, 0, 0, 0) };
    if r < 0 {
        return Err(os_error(r));
    }
    Ok(r as usize)
}

/// setsockopt(2) with an int value.
pub(super) fn setsockopt_int(fd: usize, level: usize, name: usize, v: i32) -> Result<(), Error> {
    // SAFETY: v is a valid int for the call's duration.
    let r = unsafe { syscall6(nr::SETSOCKOPT, fd, level, name, &v as *const i32 as usize, 4, 0) };
    if r < 0 {
        return Err(os_error(r));
    }
    Ok(())
}

/// getsockopt(2) of an int value.
pub(super) fn getsockopt_int(fd: usize, level: usize, name: usize) -> Result<i32, Error> {
    let mut v: i32 = 0;
    let mut len: u32 = 4;
    // SAFETY: v and len are valid for writes.
    let r = unsafe {
        syscall6(nr::GETSOCKOPT, fd, level, name, &mut v as *mut i32 as usize, &mut len as *mut u32 as usize, 0)
    };
    if r < 0 {
        return Err(os_error(r));
    }
    Ok(v)
}

/// Error for a sockaddr family gort does not know.
pub(super) fn bad_family() -> Error {
    Error::new(ErrorKind::InvalidData, "unknown address family")
}
