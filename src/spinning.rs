//! The spinning-M handshake (Go's proc.go, "Worker thread parking/unparking"): how the scheduler
//! keeps every P busy when there is work, without waking a thread for every goroutine made
//! runnable.
//!
//! An M with a P and nothing to run first *spins*: it looks for work in every queue (stealing)
//! before it gives its P up and sleeps. While some M spins (`sched.nmspinning > 0`), a goroutine
//! made runnable (newproc, ready, a timer) needs no new M: the spinner will find it. Only when
//! nobody spins does the submitter wake an idle P with a spinning M (`wakep` → `startm`).
//!
//! The race: a spinner that found nothing decrements nmspinning and goes to sleep, while a
//! submitter publishes a goroutine and reads nmspinning. If the submitter reads the old count
//! (a spinner exists, so it wakes nobody) and the spinner's last look at the queues missed the
//! new goroutine, the goroutine sits in a queue while Ps idle: a lost wake-up. Each side is a
//! store followed by a load of the other side's variable (the store-buffering pattern), and
//! every CPU gort runs on, x86 included, may let such a load pass the store before it. So both
//! sides put a full StoreLoad barrier between their store and their load, as Go does:
//!
//! - submitter: publish the goroutine (runqput's Release store of the queue tail, or the global
//!   queue under sched.lock), then [`submitter_sees_no_spinner`]: `fence(SeqCst)`, load
//!   nmspinning; 0 → wake a P (`wakep`).
//! - spinner: decrement nmspinning, then [`spinner_dropped`]: `fence(SeqCst)`, then recheck every
//!   P's run queue (`check_runqs_no_p`) and take any work it finds.
//!
//! The two fences are ordered in the single total order of SeqCst fences: whichever comes
//! second sees the other side's store, so either the submitter sees nmspinning == 0 and wakes a
//! P, or the spinner's recheck sees the goroutine. `loom_tests` below model-checks exactly this
//! (the runtime calls the same functions with core's fence, the model with loom's), and a
//! variant with one fence removed, which loom must find a lost wake-up in.

use core::sync::atomic::Ordering;

/// A full memory barrier, core's for the runtime, loom's for the model.
pub trait Fence {
    /// `fence(SeqCst)`.
    fn seq_cst();
}

/// The runtime's barrier.
pub struct CoreFence;

impl Fence for CoreFence {
    #[inline]
    fn seq_cst() {
        core::sync::atomic::fence(Ordering::SeqCst);
    }
}

/// sched.nmspinning as the handshake reads it (core's and loom's AtomicI32).
pub trait SpinCount {
    /// A Relaxed load (the fence before it does the ordering).
    fn load_relaxed(&self) -> i32;
}

impl SpinCount for core::sync::atomic::AtomicI32 {
    #[inline]
    fn load_relaxed(&self) -> i32 {
        self.load(Ordering::Relaxed)
    }
}

#[cfg(loom)]
impl SpinCount for loom::sync::atomic::AtomicI32 {
    fn load_relaxed(&self) -> i32 {
        self.load(Ordering::Relaxed)
    }
}

/// The submitter's half, called after new work was published: the StoreLoad barrier, then
/// whether no M is spinning (so the caller must wake one).
#[inline]
pub fn submitter_sees_no_spinner<F: Fence>(nmspinning: &impl SpinCount) -> bool {
    F::seq_cst();
    nmspinning.load_relaxed() == 0
}

/// The spinner's half, called after it decremented nmspinning and before it rechecks every
/// queue: the StoreLoad barrier.
#[inline]
pub fn spinner_dropped<F: Fence>() {
    F::seq_cst();
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::{spinner_dropped, submitter_sees_no_spinner, Fence};
    use loom::sync::atomic::{AtomicI32, AtomicUsize, Ordering};
    use loom::sync::Arc;
    use loom::thread;

    struct LoomFence;
    impl Fence for LoomFence {
        fn seq_cst() {
            loom::sync::atomic::fence(Ordering::SeqCst);
        }
    }

    /// A side with its fence removed (the variants that must fail).
    struct NoFence;
    impl Fence for NoFence {
        fn seq_cst() {}
    }

    /// One M spinning (nmspinning = 1) gives up while another thread makes a goroutine
    /// runnable. The submitter publishes the goroutine with runqput's Release store and asks
    /// whether to wake a P; the spinner drops its count and rechecks the queue with an Acquire
    /// load (check_runqs_no_p). The goroutine is never stranded: the submitter wakes a P, or the
    /// spinner finds it.
    fn handshake<S: Fence, P: Fence>() {
        loom::model(|| {
            let queue = Arc::new(AtomicUsize::new(0));
            let nmspinning = Arc::new(AtomicI32::new(1));
            let submitter = {
                let (queue, nmspinning) = (queue.clone(), nmspinning.clone());
                thread::spawn(move || {
                    queue.store(1, Ordering::Release); // runqput
                    submitter_sees_no_spinner::<S>(&*nmspinning) // wakep
                })
            };
            nmspinning.fetch_sub(1, Ordering::AcqRel); // the spinner gives up
            spinner_dropped::<P>();
            let found = queue.load(Ordering::Acquire) != 0; // check_runqs_no_p
            let woke = submitter.join().unwrap();
            assert!(woke || found, "lost wake-up: the goroutine is queued, no M runs or looks for it");
        });
    }

    #[test]
    fn no_lost_wakeup() {
        handshake::<LoomFence, LoomFence>();
    }

    #[test]
    #[should_panic(expected = "lost wake-up")]
    fn without_the_submitters_fence_a_wakeup_is_lost() {
        handshake::<NoFence, LoomFence>();
    }

    #[test]
    #[should_panic(expected = "lost wake-up")]
    fn without_the_spinners_fence_a_wakeup_is_lost() {
        handshake::<LoomFence, NoFence>();
    }
}
