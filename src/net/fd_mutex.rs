//! Go's fdMutex (internal/poll/fd_mutex.go), reduced to what gort needs, shared by every OS's
//! `NetFd`: a reference count that keeps the fd alive while calls use it, the closed bit, and
//! the read and write locks (one reader and one writer at a time park on a descriptor).

use core::sync::atomic::{AtomicUsize, Ordering};

use crate::io::Error;
use crate::netpoll::{Mode, PollDesc};
use crate::sync::{Mutex, MutexGuard};

/// The closed bit of `refs`; the count of calls in flight is above it, in steps of 2.
const CLOSED: usize = 1;

/// What an OS's socket gives the fd mutex: itself, and how to release the fd.
pub(super) trait Release {
    /// The socket's fd mutex.
    fn fd_mutex(&self) -> &FdMutex;
    /// The socket's poll descriptor.
    fn poll_desc(&self) -> &PollDesc;
    /// Go's FD.destroy: deregisters and closes the fd. Called exactly once, by whoever brings
    /// the count to "closed, no calls".
    fn destroy(&self);
}

/// Go's fdMutex: bit 0 = closed, the rest = calls in flight × 2, and the read and write locks.
pub(super) struct FdMutex {
    /// AcqRel on every change: whoever releases the fd sees every call's effects finished.
    refs: AtomicUsize,
    /// Go's rwlock read half: one reader at a time parks on the descriptor's rg.
    rmu: Mutex<()>,
    /// Go's rwlock write half.
    wmu: Mutex<()>,
}

/// A call in flight: the fd stays open until it drops. Holds the read or write lock if taken.
pub(super) struct Use<'a, F: Release> {
    fd: &'a F,
    _lock: Option<MutexGuard<'a, ()>>,
}

impl<F: Release> Drop for Use<'_, F> {
    fn drop(&mut self) {
        // Go's fdMutex.decref: the last call after a close releases the fd.
        if self.fd.fd_mutex().refs.fetch_sub(2, Ordering::AcqRel) - 2 == CLOSED {
            self.fd.destroy();
        }
    }
}

impl FdMutex {
    /// Open, no calls in flight.
    pub(super) fn new() -> FdMutex {
        FdMutex { refs: AtomicUsize::new(0), rmu: Mutex::new(()), wmu: Mutex::new(()) }
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
}

/// A call that neither reads nor writes (getsockname, setsockopt, shutdown, deadlines).
pub(super) fn use_fd<F: Release>(fd: &F) -> Result<Use<'_, F>, Error> {
    fd.fd_mutex().incref()?;
    Ok(Use { fd, _lock: None })
}

/// A read (Go's readLock) or write (writeLock): a reference + that direction's lock.
pub(super) fn lock<F: Release>(fd: &F, mode: Mode) -> Result<Use<'_, F>, Error> {
    let m = fd.fd_mutex();
    m.incref()?;
    let guard = match mode {
        Mode::Read => m.rmu.lock(),
        Mode::Write => m.wmu.lock(),
    };
    let u = Use { fd, _lock: Some(guard) };
    // Closed while we waited for the lock: fail as Go's rwlock does.
    fd.poll_desc().prepare(mode)?;
    Ok(u)
}

/// Go's FD.Close: marks the fd closed, wakes every goroutine blocked on it (Closed), and
/// releases it once no call uses it. A second close fails with Closed.
pub(super) fn close<F: Release>(fd: &F) -> Result<(), Error> {
    crate::proc::check_has_p();
    let prev = fd.fd_mutex().refs.fetch_or(CLOSED, Ordering::AcqRel);
    if prev & CLOSED != 0 {
        return Err(Error::closed());
    }
    fd.poll_desc().evict();
    if prev == 0 {
        fd.destroy();
    }
    Ok(())
}
