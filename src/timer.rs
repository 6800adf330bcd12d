//! Runtime timers (Go's runtime/time.go): the `timer` record, the per-P heaps that hold armed
//! timers (Go's `p.timers`), modtimer / stop (deltimer) / run, and how a timer acts when it fires.
//!
//! A [`Timer`] is shared (an `Arc`) by its owner (a `time::Timer`, a timer channel, a sleeping
//! goroutine, a channel operation with a timeout) and, while armed, by one P's heap. Its state
//! (`when`, `period`, `seq`, what it does) is behind its own lock `mu`; where it sits (`pp`, `idx`)
//! is behind the lock of the heap that holds it. Lock order: `t.mu` → a P's heap lock → (nothing);
//! the timer channel's lock comes after `t.mu` (sending and draining). The run path never holds a
//! heap lock while it takes `t.mu`: it pops the due entry, releases the heap, then locks the timer
//! and checks the entry's `seq` against the timer's (a `stop` or `modify` in between bumped it:
//! the entry is stale and does nothing).
//!
//! Differences from Go 1.23, and why:
//! - Deletion is eager: `stop` and `modify` take the timer out of its heap at once (by the index
//!   the heap keeps up to date), where Go marks it a zombie for the heap's owner to clean. So a
//!   heap never holds a stopped timer (10 M timers started and stopped leave it empty), and the
//!   cost is one heap lock per stop, which Go pays too (`t.ts.lock` in its adjust).
//! - Go 1.23's synchronous timer channels (no stale value after `Stop`/`Reset`): Go holds the
//!   channel lock across the send and checks `t.seq`, and stop/reset drain the buffer
//!   (`timerchandrain`). Here the send happens under `t.mu` after the same `seq` check, and
//!   stop/reset drain under `t.mu`: a value is either sent before a stop (which then drains it and
//!   reports the timer as stopped) or never.
//! - Go adds a channel timer to a heap only while a goroutine is blocked on its channel (so the GC
//!   can collect unreferenced ones). gort has no GC: a timer channel's last receiver, when
//!   dropped, stops its timer (chan/timers.rs).

use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::ptr;
use core::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

use crate::chan::Hchan;
use crate::gmp::{G, P};
use crate::lock_futex::Mutex;

/// What a timer does when it fires (Go's `t.f` and `t.arg`).
pub(crate) enum TimerFn {
    /// Ready a sleeping goroutine (Go's goroutineReady).
    Ready(*mut G),
    /// A channel operation with a timeout (chan/timeout.rs): if the timer wins the goroutine's
    /// select-done claim against the channel's peers, ready it with no sudog in `param`.
    Wake(*mut G),
    /// Send the time it was due on a timer channel, without blocking (Go's sendTime).
    Chan(Weak<Hchan<crate::time::Instant>>),
    /// Start the function in a goroutine of its own (Go's goFunc, for AfterFunc).
    Go(Arc<dyn Fn() + Send + Sync>),
    /// Call `f(arg, seq)` with no timer lock held (Go's `t.f(t.arg, t.seq, delay)` for the
    /// netpoller's deadlines, netpollReadDeadline & co.): `f` takes its own lock, which is held
    /// around `modify`/`stop` of this timer, so it cannot run under `mu`; it checks `seq` itself
    /// against its own state to ignore a firing that a deadline change made stale.
    Call(fn(usize, usize), usize, usize),
}

/// A timer's state, behind `Timer::mu`.
struct TimerState {
    /// When it fires (nanotime), 0 if not armed.
    when: i64,
    /// Re-arm period for tickers, else 0.
    period: i64,
    /// Bumped by every stop and modify: a heap entry with an older seq is stale.
    seq: u64,
    /// What firing does.
    f: TimerFn,
}

// SAFETY: the only non-Send part is a G pointer (Ready, Wake); any M may ready any g (Go's model),
// and the g stays valid (gs are never freed).
unsafe impl Send for TimerState {}

/// Go's `timer`.
pub(crate) struct Timer {
    mu: Mutex<TimerState>,
    /// The P whose heap holds this timer, or null. Changed only under that heap's lock.
    pp: AtomicPtr<P>,
    /// Index in that heap's array; read and written only under that heap's lock.
    idx: AtomicUsize,
}

impl Timer {
    /// A timer that is not armed.
    pub(crate) fn new(f: TimerFn) -> Arc<Timer> {
        Arc::new(Timer {
            mu: Mutex::new(TimerState { when: 0, period: 0, seq: 0, f }),
            pp: AtomicPtr::new(ptr::null_mut()),
            idx: AtomicUsize::new(0),
        })
    }

    /// Go's modtimer / resettimer: arms the timer to fire at `when` (nanotime; then every
    /// `period` ns if > 0) on the current P's heap, replacing any earlier arming. Returns whether
    /// the timer was armed, or had sent a value nobody received (which is drained): Go 1.23's
    /// Reset result. The caller has a P (a goroutine, or g0 in a gopark hook).
    pub(crate) fn modify(self: &Arc<Self>, when: i64, period: i64) -> bool {
        self.modify_seq(when, period, None)
    }

    /// `modify`, also replacing the `seq` a `TimerFn::Call` timer passes to its function (Go's
    /// modify with a new `seq` argument), under the same lock so no firing mixes old and new.
    pub(crate) fn modify_seq(self: &Arc<Self>, when: i64, period: i64, call_seq: Option<usize>) -> bool {
        // Declared before the guard, dropped after it: a channel kept alive here may be the last
        // reference, and its drop stops this timer (takes `mu`).
        let mut keep: Option<Arc<Hchan<crate::time::Instant>>> = None;
        let mut st = self.mu.lock();
        let mut pending = st.when > 0;
        let unheaped = self.unheap();
        st.seq = st.seq.wrapping_add(1);
        if let TimerFn::Chan(w) = &st.f {
            keep = w.upgrade();
            if keep.as_ref().is_some_and(|c| c.timer_drain()) {
                pending = true;
            }
        }
        if let (TimerFn::Call(_, _, cseq), Some(n)) = (&mut st.f, call_seq) {
            *cseq = n;
        }
        st.when = when;
        st.period = period;
        let mut wake = false;
        if when > 0 {
            let pp = crate::proc::getp();
            if pp.is_null() {
                crate::throw("modtimer: no P");
            }
            wake = self.add_to(pp, when, st.seq);
        }
        drop(st);
        drop(unheaped);
        drop(keep);
        if wake {
            crate::proc::timer_added(when);
        }
        pending
    }

    /// Go's Timer.Stop (stop, deltimer): disarms the timer. Returns whether it was armed, or had
    /// sent a value nobody received (which is drained). After it returns the timer does nothing
    /// more until armed again.
    pub(crate) fn stop(&self) -> bool {
        let mut keep: Option<Arc<Hchan<crate::time::Instant>>> = None;
        let mut st = self.mu.lock();
        let mut pending = st.when > 0;
        let unheaped = self.unheap();
        st.when = 0;
        st.seq = st.seq.wrapping_add(1);
        if let TimerFn::Chan(w) = &st.f {
            keep = w.upgrade();
            if keep.as_ref().is_some_and(|c| c.timer_drain()) {
                pending = true;
            }
        }
        drop(st);
        drop(unheaped);
        drop(keep);
        pending
    }

    /// Takes the timer out of the heap holding it, if any; returns the heap's reference for the
    /// caller to drop once `mu` is released. Called with `mu` held (no add can race).
    fn unheap(&self) -> Option<Arc<Timer>> {
        loop {
            let pp = self.pp.load(Ordering::Acquire);
            if pp.is_null() {
                return None;
            }
            // SAFETY: Ps are never freed; the heap is behind its lock.
            let mut h = unsafe { (*pp).timers.lock() };
            // pp changes only under the lock of the heap holding the timer: if it is still pp
            // now, the timer is in this heap at idx.
            if self.pp.load(Ordering::Relaxed) != pp {
                continue;
            }
            let e = h.remove(self.idx.load(Ordering::Relaxed));
            self.pp.store(ptr::null_mut(), Ordering::Release);
            // SAFETY: pp is valid; timer0_when is atomic.
            unsafe { (*pp).timer0_when.store(h.next_when(), Ordering::Release) };
            drop(h);
            // SAFETY: the entry held one strong count (Arc::into_raw in add_to).
            return Some(unsafe { Arc::from_raw(e.t) });
        }
    }

    /// Puts the timer in pp's heap (mu held, timer in no heap). Returns whether it is now the
    /// earliest there (someone may have to wake earlier).
    fn add_to(self: &Arc<Self>, pp: *mut P, when: i64, seq: u64) -> bool {
        // SAFETY: Ps are never freed; the heap is behind its lock.
        let mut h = unsafe { (*pp).timers.lock() };
        let old = h.next_when();
        h.push(Entry { when, ins: 0, seq, t: Arc::into_raw(self.clone()) }, pp);
        // SAFETY: as above.
        unsafe { (*pp).timer0_when.store(h.next_when(), Ordering::Release) };
        old == 0 || when < old
    }
}

/// One armed timer in a P's heap. Holds one strong count of the timer.
struct Entry {
    when: i64,
    /// Insertion order: equal `when`s fire first in, first out.
    ins: u64,
    /// The timer's seq when it was armed.
    seq: u64,
    t: *const Timer,
}

/// A P's timers (Go's p.timers): a 4-ary min-heap by (when, insertion order), as Go's (half the
/// depth of a binary one: a removal from a million timers moves through 10 levels, not 20). Each
/// timer knows its index, so stop and modify remove it at once.
pub(crate) struct TimerHeap {
    heap: Vec<Entry>,
    ins: u64,
}

// SAFETY: the entries' timers are Send + Sync (Arc<Timer> counts); the heap moves between threads
// only behind its P's lock.
unsafe impl Send for TimerHeap {}

impl TimerHeap {
    /// An empty heap.
    pub(crate) const fn new() -> Self {
        TimerHeap { heap: Vec::new(), ins: 0 }
    }

    /// Number of armed timers.
    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }

    /// Earliest `when`, or 0.
    pub(crate) fn next_when(&self) -> i64 {
        self.heap.first().map_or(0, |e| e.when)
    }

    fn less(a: &Entry, b: &Entry) -> bool {
        (a.when, a.ins) < (b.when, b.ins)
    }

    /// Records that heap[i] sits at i (and in the heap of pp).
    fn place(&mut self, i: usize) {
        // SAFETY: the entry's timer is alive (the entry holds a count).
        unsafe { (*self.heap[i].t).idx.store(i, Ordering::Relaxed) };
    }

    fn swap(&mut self, i: usize, j: usize) {
        self.heap.swap(i, j);
        self.place(i);
        self.place(j);
    }

    fn sift_up(&mut self, mut i: usize) {
        while i > 0 {
            let parent = (i - 1) / 4;
            if !Self::less(&self.heap[i], &self.heap[parent]) {
                break;
            }
            self.swap(i, parent);
            i = parent;
        }
    }

    fn sift_down(&mut self, mut i: usize) {
        let n = self.heap.len();
        loop {
            let first = 4 * i + 1;
            if first >= n {
                break;
            }
            let mut m = first;
            for c in first + 1..(first + 4).min(n) {
                if Self::less(&self.heap[c], &self.heap[m]) {
                    m = c;
                }
            }
            if !Self::less(&self.heap[m], &self.heap[i]) {
                break;
            }
            self.swap(i, m);
            i = m;
        }
    }

    /// Adds e (its timer now lives in pp's heap).
    fn push(&mut self, mut e: Entry, pp: *mut P) {
        self.ins += 1;
        e.ins = self.ins;
        // SAFETY: the entry's timer is alive; pp changes under this heap's lock, held.
        unsafe { (*e.t).pp.store(pp, Ordering::Release) };
        self.heap.push(e);
        let i = self.heap.len() - 1;
        self.place(i);
        self.sift_up(i);
    }

    /// Removes and returns the entry at i (Go's deleteMin generalised).
    fn remove(&mut self, i: usize) -> Entry {
        let last = self.heap.len() - 1;
        if i != last {
            self.swap(i, last);
        }
        let e = self.heap.pop().expect("timer heap: remove from empty heap");
        if i < self.heap.len() {
            self.sift_down(i);
            self.sift_up(i);
        }
        e
    }

    /// Removes the earliest entry if it is due at `now`; its timer is then in no heap.
    fn pop_due(&mut self, now: i64) -> Option<Entry> {
        if self.heap.first()?.when > now {
            return None;
        }
        let e = self.remove(0);
        // SAFETY: the entry's timer is alive; this heap's lock is held.
        unsafe { (*e.t).pp.store(ptr::null_mut(), Ordering::Release) };
        Some(e)
    }

    /// Moves every timer into `to`, the heap of `to_pp` (procresize destroying a P). Both locks
    /// held.
    pub(crate) fn move_all(&mut self, to: &mut TimerHeap, to_pp: *mut P) {
        for e in core::mem::take(&mut self.heap) {
            to.push(e, to_pp);
        }
    }
}

/// Go's checkTimers body (runtimer loop): runs pp's timers due at `now`, re-arming tickers in
/// pp's heap. Returns whether any ran. The caller has a P (readied goroutines go on its queue).
///
/// Unlike Go, it stops early, with timers still due, once the current P's run queue is nearly
/// full (`timers_must_wait`): the goroutines those timers ready or start would overflow it, and
/// runqputslow moves the *oldest* half of the queue to the global queue, behind later ones. After
/// a stall of the P's thread (a loaded machine: tens of ms), hundreds of timers are due at once,
/// and their goroutines would then start out of deadline order. The rest stay due in the heap
/// (timer0_when ≤ now) and run at this P's next schedule, or by an M that steals timers, in
/// deadline order. Lateness is unchanged: they are late either way.
pub(crate) fn run_timers(pp: *mut P, now: i64) -> bool {
    let mut ran = false;
    loop {
        if crate::proc::timers_must_wait(ran) {
            return ran;
        }
        let e = {
            // SAFETY: Ps are never freed; the heap is behind its lock.
            let mut h = unsafe { (*pp).timers.lock() };
            let e = h.pop_due(now);
            // SAFETY: as above.
            unsafe { (*pp).timer0_when.store(h.next_when(), Ordering::Release) };
            match e {
                Some(e) => e,
                None => return ran,
            }
        };
        ran = true;
        // SAFETY: the entry held one strong count.
        let t = unsafe { Arc::from_raw(e.t) };
        run_one(&t, pp, e.when, e.seq, now);
        // `t` (perhaps the last reference) is dropped here, with no lock held.
    }
}

/// Runs one due timer popped from pp's heap (Go's unlockAndRun).
fn run_one(t: &Arc<Timer>, pp: *mut P, when: i64, seq: u64, now: i64) {
    let mut keep: Option<Arc<Hchan<crate::time::Instant>>> = None;
    let mut st = t.mu.lock();
    if st.seq != seq || st.when != when {
        return; // stopped or re-armed after it was popped: stale
    }
    let mut rearmed = false;
    if st.period > 0 {
        // Go: t.when += t.period * (1 + -delay/t.period): the next multiple of the period after
        // now, so a ticker never drifts and drops the ticks it missed.
        let next = when.saturating_add(st.period.saturating_mul(1 + (now - when) / st.period));
        st.when = next;
        rearmed = t.add_to(pp, next, st.seq);
    } else {
        st.when = 0;
    }
    // The action runs under mu, so a stop that returns has either seen it done or prevented it.
    match &st.f {
        TimerFn::Ready(gp) => crate::proc::goready(*gp),
        TimerFn::Wake(gp) => {
            // SAFETY: gp is parked in a channel operation with a timeout; it stops this timer
            // (taking mu) before it parks again, so it is still that park here.
            if crate::chan::protocol::claim_select(unsafe { &(**gp).selectdone }) {
                crate::proc::goready(*gp);
            }
        }
        TimerFn::Chan(w) => {
            keep = w.upgrade();
            if let Some(c) = &keep {
                // The time it was due, as Go's sendTime (Now() minus the delay): a ticker's
                // values lie on its grid.
                c.send_from_timer(crate::time::Instant::from_nanos(when));
            }
        }
        TimerFn::Go(f) => {
            let f = f.clone();
            crate::spawn_from_runtime(move || f());
        }
        TimerFn::Call(..) => {}
    }
    let call = match st.f {
        TimerFn::Call(f, arg, cseq) => Some((f, arg, cseq)),
        _ => None,
    };
    let next = st.when;
    drop(st);
    drop(keep);
    if rearmed {
        crate::proc::timer_added(next);
    }
    if let Some((f, arg, cseq)) = call {
        f(arg, cseq);
    }
}

/// Number of timers in every P's heap (for gort::testing).
#[cfg(feature = "testing")]
pub(crate) fn count_all() -> usize {
    crate::proc::count_timers()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn heap_of(whens: &[i64]) -> (TimerHeap, Vec<Arc<Timer>>) {
        let mut h = TimerHeap::new();
        let mut ts = Vec::new();
        for &w in whens {
            let t = Timer::new(TimerFn::Ready(ptr::null_mut()));
            h.push(Entry { when: w, ins: 0, seq: 0, t: Arc::into_raw(t.clone()) }, ptr::null_mut());
            ts.push(t);
        }
        (h, ts)
    }

    fn check(h: &TimerHeap) {
        for (i, e) in h.heap.iter().enumerate() {
            // SAFETY: test timers alive.
            assert_eq!(unsafe { (*e.t).idx.load(Ordering::Relaxed) }, i);
            if i > 0 {
                assert!(!TimerHeap::less(e, &h.heap[(i - 1) / 4]));
            }
        }
    }

    #[test]
    fn heap_orders_by_when_then_insertion() {
        let (mut h, ts) = heap_of(&[30, 10, 20, 10]);
        check(&h);
        assert_eq!(h.next_when(), 10);
        assert!(h.pop_due(5).is_none());
        let order: Vec<*const Timer> = core::iter::from_fn(|| h.pop_due(100))
            .map(|e| e.t)
            .inspect(|&t| drop(unsafe { Arc::from_raw(t) }))
            .collect();
        let want: Vec<*const Timer> = [1, 3, 2, 0].iter().map(|&i| Arc::as_ptr(&ts[i])).collect();
        assert_eq!(order, want);
        assert_eq!(h.len(), 0);
    }

    #[test]
    fn remove_at_any_index_keeps_heap_and_indices() {
        let whens: Vec<i64> = (0..200).map(|i| (i * 7919 % 211) as i64 + 1).collect();
        let (mut h, ts) = heap_of(&whens);
        check(&h);
        // Remove every third timer by the index it knows.
        for t in ts.iter().step_by(3) {
            let e = h.remove(t.idx.load(Ordering::Relaxed));
            assert_eq!(e.t, Arc::as_ptr(t));
            // SAFETY: the entry's count.
            drop(unsafe { Arc::from_raw(e.t) });
            check(&h);
        }
        let mut last = 0;
        while let Some(e) = h.pop_due(i64::MAX) {
            assert!(e.when >= last);
            last = e.when;
            // SAFETY: the entry's count.
            drop(unsafe { Arc::from_raw(e.t) });
        }
        assert!(ts.iter().all(|t| Arc::strong_count(t) == 1));
    }
}
