//! Timer channels (the timer parts of Go's chan.go and time.go: `newTimer`'s channel, `sendTime`,
//! `timerchandrain`): the channel a `time::Timer`, `time::Ticker`, `time::after` or `time::tick`
//! delivers on.
//!
//! One buffer slot, as Go's. It has no `Sender` at all, so it never closes (as in Go: after its
//! value is taken, or once the timer is stopped, a receive blocks). The timer holds only a weak
//! reference to it and the channel holds the timer (Go's `c.timer`): when the last receiver goes,
//! the channel is dropped and stops its timer, so an `after` whose receiver was dropped leaves no
//! entry in any heap.

use alloc::sync::Arc;

use super::*;
use crate::time::Instant;
use crate::timer::{Timer, TimerFn};

/// Makes a timer channel and its timer (not armed).
pub(crate) fn timer_chan() -> (Receiver<Instant>, Arc<Timer>) {
    let c = Arc::new_cyclic(|weak| {
        let buf: Box<[MaybeUninit<Instant>]> = Box::new([MaybeUninit::uninit()]);
        Hchan {
            lock: Mutex::new(Inner {
                buf,
                qcount: 0,
                sendx: 0,
                recvx: 0,
                closed: false,
                recvq: WaitQ::new(),
                sendq: WaitQ::new(),
            }),
            senders: core::sync::atomic::AtomicUsize::new(0),
            cap: 1,
            timer: Some(Timer::new(TimerFn::Chan(weak.clone()))),
        }
    });
    let t = c.timer.clone().expect("timer channel without its timer");
    (Receiver { c: Some(c) }, t)
}

impl<T> Hchan<T> {
    /// Go's sendTime: a send that never blocks (the timer fires on the scheduler's stack): to a
    /// waiting receiver, or into the free slot; dropped if the slot is full (a slow ticker
    /// receiver loses ticks, as in Go). Returns whether the value went in.
    pub(crate) fn send_from_timer(&self, v: T) -> bool {
        let mut v = MaybeUninit::new(v);
        let mut c = self.lock.lock();
        // SAFETY: v is ours to give; on Block it is still ours.
        match unsafe { c.try_send(v.as_mut_ptr()) } {
            Try::Done { ok, wake } => {
                drop(c);
                if !ok {
                    // SAFETY: a closed channel did not take the value (timer channels never
                    // close; kept for completeness).
                    unsafe { v.assume_init_drop() };
                }
                Try::finish(ok, wake)
            }
            Try::Block => {
                drop(c);
                // SAFETY: not taken.
                unsafe { v.assume_init_drop() };
                false
            }
        }
    }

    /// Go's timerchandrain: drops a buffered value nobody received. Returns whether there was one.
    pub(crate) fn timer_drain(&self) -> bool {
        let mut c = self.lock.lock();
        let mut drained = false;
        while c.qcount > 0 {
            let i = c.recvx;
            // SAFETY: slots [recvx, recvx+qcount) are initialised.
            unsafe { c.buf[i].assume_init_drop() };
            c.recvx = if i + 1 == c.buf.len() { 0 } else { i + 1 };
            c.qcount -= 1;
            drained = true;
        }
        drained
    }
}
