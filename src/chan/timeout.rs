//! Channel operations with a timeout (`Sender::send_timeout`, `Receiver::recv_timeout` and their
//! `_deadline` forms; crossbeam-channel's API), on the runtime timers.
//!
//! The goroutine parks once, as in a two-case select whose second case is a timer: its sudog on
//! the channel's queue is marked as a select's, and a timer ([`TimerFn::Wake`]) is armed in the
//! gopark hook, before the channel lock is released. Whoever first wins the goroutine's
//! select-done claim wakes it: a peer completing the operation (`param` = the sudog), a close
//! (`param` = the sudog, not successful), or the timer (`param` stays 0; the peers that come later
//! skip the sudog, as they skip a decided select's). No channel is allocated for the timer.

use core::time::Duration;

use super::*;
use crate::time::{nanotime, Instant};
use crate::timer::{Timer, TimerFn};

/// The error of [`Receiver::recv_timeout`] / [`Receiver::recv_deadline`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum RecvTimeoutError {
    /// Nothing arrived before the time ran out.
    Timeout,
    /// The channel is closed and drained.
    Disconnected,
}

impl fmt::Display for RecvTimeoutError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            RecvTimeoutError::Timeout => "timed out waiting on receive operation",
            RecvTimeoutError::Disconnected => "channel is empty and disconnected",
        })
    }
}

impl core::error::Error for RecvTimeoutError {}

/// The error of [`Sender::send_timeout`] / [`Sender::send_deadline`]: gives the value back.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum SendTimeoutError<T> {
    /// No receiver or buffer space before the time ran out.
    Timeout(T),
    /// The channel is closed.
    Disconnected(T),
}

impl<T> SendTimeoutError<T> {
    /// The value that was not sent.
    pub fn into_inner(self) -> T {
        match self {
            SendTimeoutError::Timeout(v) | SendTimeoutError::Disconnected(v) => v,
        }
    }
    /// Whether the send timed out.
    pub fn is_timeout(&self) -> bool {
        matches!(self, SendTimeoutError::Timeout(_))
    }
    /// Whether the channel was closed.
    pub fn is_disconnected(&self) -> bool {
        matches!(self, SendTimeoutError::Disconnected(_))
    }
}

impl<T> fmt::Debug for SendTimeoutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SendTimeoutError::Timeout(_) => "Timeout(..)",
            SendTimeoutError::Disconnected(_) => "Disconnected(..)",
        })
    }
}

impl<T> fmt::Display for SendTimeoutError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SendTimeoutError::Timeout(_) => "timed out waiting on send operation",
            SendTimeoutError::Disconnected(_) => "sending on a closed channel",
        })
    }
}

impl<T> core::error::Error for SendTimeoutError<T> {}

/// nanotime `d` from now (saturating: a huge timeout waits about forever).
fn deadline_after(d: Duration) -> i64 {
    nanotime().saturating_add(d.as_nanos().min(i64::MAX as u128) as i64)
}

impl<T: Send> Sender<T> {
    /// Sends `v`, waiting at most `timeout` for a receiver or buffer space.
    ///
    /// ```
    /// use core::time::Duration;
    /// let (tx, _rx) = gort::chan::<u32>(0);
    /// let r = tx.send_timeout(1, Duration::from_millis(5)); // nobody receives
    /// assert!(matches!(r, Err(gort::SendTimeoutError::Timeout(1))));
    /// ```
    pub fn send_timeout(&self, v: T, timeout: Duration) -> Result<(), SendTimeoutError<T>> {
        self.send_until(v, deadline_after(timeout))
    }

    /// Sends `v`, waiting until `deadline` at most.
    pub fn send_deadline(&self, v: T, deadline: Instant) -> Result<(), SendTimeoutError<T>> {
        self.send_until(v, deadline.as_nanos())
    }

    fn send_until(&self, v: T, when: i64) -> Result<(), SendTimeoutError<T>> {
        let mut v = MaybeUninit::new(v);
        // SAFETY: v is ours to give and stays in place until op_until returns.
        match unsafe { self.c.op_until(true, v.as_mut_ptr() as *mut u8, when) } {
            Some(true) => Ok(()),
            // SAFETY: not sent (closed, or timed out): the value is still ours.
            Some(false) => Err(SendTimeoutError::Disconnected(unsafe { v.assume_init() })),
            // SAFETY: as above.
            None => Err(SendTimeoutError::Timeout(unsafe { v.assume_init() })),
        }
    }
}

impl<T: Send> Receiver<T> {
    /// Receives a value, waiting at most `timeout`.
    ///
    /// ```
    /// use core::time::Duration;
    /// let (tx, rx) = gort::chan::<u32>(1);
    /// assert_eq!(rx.recv_timeout(Duration::from_millis(5)), Err(gort::RecvTimeoutError::Timeout));
    /// tx.send(7).unwrap();
    /// assert_eq!(rx.recv_timeout(Duration::from_millis(5)), Ok(7));
    /// drop(tx);
    /// assert_eq!(rx.recv_timeout(Duration::from_secs(5)), Err(gort::RecvTimeoutError::Disconnected));
    /// ```
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        self.recv_until(deadline_after(timeout))
    }

    /// Receives a value, waiting until `deadline` at most.
    pub fn recv_deadline(&self, deadline: Instant) -> Result<T, RecvTimeoutError> {
        self.recv_until(deadline.as_nanos())
    }

    fn recv_until(&self, when: i64) -> Result<T, RecvTimeoutError> {
        let Some(c) = &self.c else {
            // Receiver::never (Go's nil channel): nothing ever comes; the deadline does.
            crate::time::sleep_until(Instant::from_nanos(when));
            return Err(RecvTimeoutError::Timeout);
        };
        let mut slot = MaybeUninit::<T>::uninit();
        // SAFETY: slot is writable and stays in place until op_until returns.
        match unsafe { c.op_until(false, slot.as_mut_ptr() as *mut u8, when) } {
            // SAFETY: a completed receive wrote the slot.
            Some(true) => Ok(unsafe { slot.assume_init() }),
            Some(false) => Err(RecvTimeoutError::Disconnected),
            None => Err(RecvTimeoutError::Timeout),
        }
    }
}

/// What the gopark hook of op_until needs.
struct ParkArgs<T> {
    lock: *const Mutex<Inner<T>>,
    timer: *const Arc<Timer>,
    when: i64,
}

/// gopark hook: arms the timeout (the goroutine is parked, so the timer may ready it), then
/// releases the channel lock (so a peer may).
///
/// The channel lock comes off gp's count first: the timer readies gp without taking the
/// channel lock, so once it is armed gp may run on another M and count locks of its own there
/// (relocking this channel, so it waits for the release below) while this g0 still holds the
/// lock. Uncounted after the arming, the decrement raced with gp's own counting: a lost update
/// left gp at -1, and its next `acquirem` at 0 (timers/timeouts on aarch64, 1 run in several
/// hundred: "getp: per-M state read by a preemptible goroutine (no acquirem)").
unsafe fn arm_and_unlock<T>(gp: *mut G, arg: usize) -> bool {
    // SAFETY: arg points at op_until's ParkArgs, alive while the goroutine is parked and until
    // the channel lock is released (gp, woken, takes it before op_until returns); the lock was
    // left held across the park and counted on gp, which nothing can ready before the timer is
    // armed (its peers take the channel lock to find it).
    unsafe {
        let a = &*(arg as *const ParkArgs<T>);
        let lock = a.lock;
        crate::lock_futex::uncount_parked(gp, 1);
        (*a.timer).modify(a.when, 0);
        (*lock).force_unlock_uncounted();
    }
    true
}

impl<T> Hchan<T> {
    /// chansend / chanrecv that give up at `when` (nanotime): Some(true) done, Some(false) the
    /// channel is closed, None timed out (the value, for a send, is still at elem).
    ///
    /// # Safety
    /// As for Inner::try_send (send) / try_recv (receive); elem stays valid until this returns.
    unsafe fn op_until(&self, send: bool, elem: *mut u8, when: i64) -> Option<bool> {
        proc::preempt_check();
        let mut c = self.lock.lock();
        // SAFETY: per the contract.
        let r = unsafe {
            if send {
                c.try_send(elem as *mut T)
            } else {
                c.try_recv(elem as *mut T)
            }
        };
        if let Try::Done { ok, wake } = r {
            drop(c);
            return Some(Try::finish(ok, wake));
        }
        if when <= nanotime() {
            return None;
        }
        let gp = arch::getg();
        let sg = acquire_sudog(gp, elem);
        let t = Timer::new(TimerFn::Wake(gp));
        // SAFETY: sg is ours until a waker dequeues it; gp is the running g; the channel is locked.
        unsafe {
            (*sg).is_select = true;
            (*gp).param.store(0, Ordering::Relaxed);
            (*gp).selectdone.store(0, Ordering::Relaxed);
            c.waitq(send).enqueue(sg);
        }
        let args = ParkArgs { lock: c.hold_across_park() as *const Mutex<Inner<T>>, timer: &t, when };
        let reason = if send { WaitReason::ChanSend } else { WaitReason::ChanReceive };
        gopark(Some(arm_and_unlock::<T>), &args as *const ParkArgs<T> as usize, reason);
        // Woken by the winner of the claim. After stop, the timer can no longer touch gp.
        t.stop();
        // SAFETY: gp is the running g; the winner published param before readying it.
        let won = unsafe { protocol::take_wakeup(&(*gp).param) };
        let mut c = self.lock.lock();
        // SAFETY: channel locked; sg is queued here or was dequeued by a waker.
        unsafe { c.waitq(send).remove(sg) };
        drop(c);
        // SAFETY: no waker can reach sg now (off the queue, the select decided).
        unsafe {
            let r = (won == sg as usize).then(|| (*sg).success);
            release_sudog(sg);
            r
        }
    }
}
