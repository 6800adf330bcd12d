//! Runtime timers (Go's runtime/time.go): the `timer` record, the per-P heaps that hold armed
//! timers (Go's `p.timers`), modtimer / stop (deltimer) / run, and how a timer acts when it fires.
//!
//! A [`Timer`] is shared (an `Arc`) by its owner (a `time::Timer`, a timer channel, a sleeping
//! goroutine, a channel operation with a timeout) and by each P-heap entry made for it (an entry
//! holds one count). Its state (`when`, `period`, what it does) is behind its own lock `mu`, and
//! so are the writes of its `seq`. Lock order: `t.mu` → a P's heap lock → (nothing); the timer
//! channel's lock comes after `t.mu` (sending and draining). The run path never holds a heap lock
//! while it takes `t.mu`: it pops the due entry, releases the heap, then locks the timer and
//! checks the entry's `seq` against the timer's (a `stop` or `modify` in between bumped it: the
//! entry is stale and does nothing).
//!
//! Deletion is lazy, as Go's: `stop` bumps `seq` under `t.mu` and counts a zombie on the P whose
//! heap holds the entry (an atomic add), without that heap's lock; `modify` does the same to the
//! old entry and pushes a new one on the current P. A stale entry (its seq is no longer the
//! timer's) never acts, whoever pops it. Zombies leave a heap (their counts dropped after the
//! locks are released, `Garbage`) when
//! - they come due and are popped (`run_timers` skips them without taking `t.mu`), or a firing
//!   uncovers them at the top (it drops them with it: `clean_top`);
//! - an M looks at the P's timers (`check_timers`, every `schedule` of a P with timers, and the
//!   last stealing round for other Ps) and zombies were counted since the last look: the stale
//!   entries at the top go (Go's cleantimers), so `timer0_when` names a live timer again and an
//!   idle P's M does not sleep for a stopped one or keep the scheduler off its quiet paths; past
//!   a quarter of zombies, the whole heap is swept in O(n) (Go's clearDeletedTimers);
//! - a timer is added to a heap more than a quarter stale (the same sweep, in `add_to`): so a
//!   heap whose goroutine starts and stops timers without ever scheduling stays within 4/3 of
//!   the most timers armed on it at once (10 M timers started and stopped: tests/e2e
//!   timers/leak), and every sweep is paid for by the quarter of the heap's stops before it.
//!
//! Why lazy: an eager stop took the heap's lock and removed the entry by an index every heap
//! move kept up to date in the timer; on the bench (1 M timers started, then stopped in order)
//! that removal was 56 % of all instructions (a sift-down through a 32 MB array at each stop),
//! 1 675 instructions per start+stop. Now a stop touches only its timer and one counter.
//! What it costs: stopped timers (and what their `TimerFn` holds, an `after_func` closure)
//! live until a cleaner drops them, on whichever goroutine or g0 that is; `timer0_when` may name
//! a zombie until the P's next schedule (a spurious wake-up of the timer sleeper at worst: Go
//! has the same); the zombie count is a hint (see [`Zombies`]).
//!
//! Differences from Go 1.23, and why:
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
use core::sync::atomic::{AtomicPtr, AtomicU32, AtomicU64, Ordering};

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
    /// What firing does.
    f: TimerFn,
}

// SAFETY: the only non-Send part is a G pointer (Ready, Wake); any M may ready any g (Go's model),
// and the g stays valid (gs are never freed).
unsafe impl Send for TimerState {}

/// Go's `timer`.
pub(crate) struct Timer {
    mu: Mutex<TimerState>,
    /// Bumped by every stop and modify: a heap entry with an older seq is stale (a zombie). Written
    /// only under `mu`; read under `mu` by the run path (which decides) and without it, under a
    /// heap's lock, by the cleaners (which only drop entries that can no longer act). Relaxed is
    /// enough for them: an entry is pushed under its heap's lock after its seq was written, so
    /// a cleaner holding that lock reads a seq at least the entry's (write-read coherence through
    /// the lock's release/acquire) and never takes a live entry for stale; reading an older value
    /// than the newest only leaves a zombie for a later clean.
    seq: AtomicU64,
    /// The P whose heap holds this timer's live entry (the one with the current seq), or null.
    /// Set by `add_to` (under `mu` and the heap's lock); cleared or moved by the heap's lock
    /// holder only if it still names that heap (compare-exchange), so a re-arm on another P in
    /// between is not undone. Read by stop/modify (under `mu`) only to count the zombie they make
    /// on that heap: a hint (see [`Zombies`]).
    pp: AtomicPtr<P>,
}

/// A P's count of stale entries in its heap (Go's `ts.zombies`, `p.deletedTimers` in 1.19), and
/// what it was at the last clean. `n` is a hint, not an exact count: a stop counts its zombie on
/// the heap `Timer::pp` names, which may have popped or moved the entry meanwhile (one too many),
/// and a sweep resets it to 0 while a stop of an entry it kept may be counting (one too few: that
/// zombie stays until the next sweep or until it is popped). Every such error needs a stop racing
/// a pop, a move or a sweep, and each sweep starts the count afresh, so the heap stays bounded
/// (module doc). Relaxed throughout: nothing is published through these counters.
pub(crate) struct Zombies {
    n: AtomicU32,
    /// `n` after the last clean of the heap (written under its lock): `clean` does nothing while
    /// no new zombie was counted, so zombies left in a heap do not cost a lock per schedule.
    seen: AtomicU32,
}

impl Zombies {
    /// No zombies.
    pub(crate) const fn new() -> Self {
        Zombies { n: AtomicU32::new(0), seen: AtomicU32::new(0) }
    }

    /// `k` entries fewer (a cleaner dropped stale entries), never below 0. Only a holder of the
    /// heap's lock lowers `n` (stops only raise it), so what the load sees can be taken off.
    fn sub(&self, k: u32) {
        let n = self.n.load(Ordering::Relaxed);
        if n > 0 && k > 0 {
            self.n.fetch_sub(k.min(n), Ordering::Relaxed);
        }
    }

    /// Whether there are enough to sweep the heap of `len` entries: more than a quarter (Go's
    /// threshold), so a sweep (O(len)) is paid for by the stops that made them.
    fn sweep_due(&self, len: usize) -> bool {
        let n = self.n.load(Ordering::Relaxed) as usize;
        n > 0 && n * 4 > len
    }
}

/// Stale entries taken out of a heap: their timers' counts are dropped by `Drop`, after the
/// caller released the heap's lock and the timer's `mu` (the last count may drop a user closure,
/// `TimerFn::Go`, whose drop may stop other timers). The first is kept inline: a clean usually
/// drops one, and an allocation for it would cost more than the clean (bench selectafter: +13 %
/// instructions per iteration with a Vec).
pub(crate) struct Garbage {
    /// The first one, or null.
    first: *const Timer,
    more: Vec<*const Timer>,
}

impl Garbage {
    const fn new() -> Self {
        Garbage { first: ptr::null(), more: Vec::new() }
    }

    /// Takes a stale entry's count.
    fn push(&mut self, t: *const Timer) {
        if self.first.is_null() {
            self.first = t;
        } else {
            self.push_more(t);
        }
    }

    #[cold]
    #[inline(never)]
    fn push_more(&mut self, t: *const Timer) {
        self.more.push(t);
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        usize::from(!self.first.is_null()) + self.more.len()
    }
}

impl Drop for Garbage {
    #[inline]
    fn drop(&mut self) {
        if !self.first.is_null() {
            self.release();
        }
    }
}

impl Garbage {
    /// Drops the counts.
    #[inline]
    fn release(&mut self) {
        // SAFETY: each pointer is a heap entry's strong count (Arc::into_raw in add_to), out of
        // its heap now, pushed once.
        drop(unsafe { Arc::from_raw(self.first) });
        for &t in &self.more {
            // SAFETY: as above.
            drop(unsafe { Arc::from_raw(t) });
        }
    }
}

impl Timer {
    /// A timer that is not armed.
    pub(crate) fn new(f: TimerFn) -> Arc<Timer> {
        link_run_path();
        Arc::new(Timer {
            mu: Mutex::new(TimerState { when: 0, period: 0, f }),
            seq: AtomicU64::new(0),
            pp: AtomicPtr::new(ptr::null_mut()),
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
        let mut garbage = Garbage::new();
        let mut st = self.mu.lock();
        let mut pending = st.when > 0;
        let seq = self.zombify(st.when);
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
            wake = self.add_to(pp, when, seq, &mut garbage);
        }
        drop(st);
        drop(garbage);
        drop(keep);
        if wake {
            crate::proc::timer_added(when);
        }
        pending
    }

    /// Go's Timer.Stop (stop, deltimer): disarms the timer. Returns whether it was armed, or had
    /// sent a value nobody received (which is drained). After it returns the timer does nothing
    /// more until armed again. Its heap entry, if any, stays behind as a zombie for the heap's
    /// cleaners: no heap lock here.
    pub(crate) fn stop(&self) -> bool {
        let mut keep: Option<Arc<Hchan<crate::time::Instant>>> = None;
        let mut st = self.mu.lock();
        let mut pending = st.when > 0;
        self.zombify(st.when);
        st.when = 0;
        if let TimerFn::Chan(w) = &st.f {
            keep = w.upgrade();
            if keep.as_ref().is_some_and(|c| c.timer_drain()) {
                pending = true;
            }
        }
        drop(st);
        drop(keep);
        pending
    }

    /// Makes any heap entry of the timer stale (Go's deltimer marking it deleted) and counts it
    /// as a zombie of the heap believed to hold it; returns the new seq. `mu` held, `when` the
    /// timer's current arming (0: not armed, so no entry is live).
    fn zombify(&self, when: i64) -> u64 {
        let seq = self.seq.load(Ordering::Relaxed).wrapping_add(1);
        self.seq.store(seq, Ordering::Relaxed);
        if when > 0 {
            let pp = self.pp.load(Ordering::Relaxed);
            if !pp.is_null() {
                // SAFETY: Ps are never freed; the count is atomic.
                unsafe { (*pp).timer_zombies.n.fetch_add(1, Ordering::Relaxed) };
            }
        }
        seq
    }

    /// Whether an entry armed at `seq` is stale. Called under the heap's lock (see `seq`).
    fn stale(&self, seq: u64) -> bool {
        self.seq.load(Ordering::Relaxed) != seq
    }

    /// Puts the timer in pp's heap (`mu` held; its other entries, if any, are stale). Returns
    /// whether it is now the earliest there (someone may have to wake earlier). If the heap holds
    /// more than a quarter zombies, cleans them first into `garbage` (`clean_top`: the stale top,
    /// then a sweep if still past a quarter, Go's clearDeletedTimers): this is what bounds a heap
    /// that timers are started and stopped on without its P ever scheduling.
    fn add_to(self: &Arc<Self>, pp: *mut P, when: i64, seq: u64, garbage: &mut Garbage) -> bool {
        // SAFETY: Ps are never freed; the heap is behind its lock.
        let mut h = unsafe { (*pp).timers.lock() };
        // SAFETY: as above; the counts are atomic.
        let z = unsafe { &(*pp).timer_zombies };
        if z.sweep_due(h.len()) {
            h.clean_top(z, garbage);
        }
        let old = h.next_when();
        self.pp.store(pp, Ordering::Relaxed);
        h.push(Entry { when, ins: 0, seq, t: Arc::into_raw(self.clone()) });
        // SAFETY: as above.
        unsafe { (*pp).timer0_when.store(h.next_when(), Ordering::Release) };
        old == 0 || when < old
    }
}

/// The scheduler's way into the timers ([`check`]), set by the first [`Timer::new`]: a program
/// that never makes a timer (hello) links none of the run and clean code (Go links it always;
/// here it is 3 KB of a 140 KB hello). Set before any timer can be armed, so before any
/// `timer0_when` is published (a Release store the scheduler reads with Acquire before it calls
/// [`check`]).
static RUN_PATH: AtomicPtr<()> = AtomicPtr::new(ptr::null_mut());

#[inline]
fn link_run_path() {
    if RUN_PATH.load(Ordering::Relaxed).is_null() {
        RUN_PATH.store(run_path as *mut (), Ordering::Release);
    }
}

/// What [`check`] calls: cleans pp's heap if zombies were counted since the last look, then runs
/// its due timers if its earliest (`next`, or the new earliest after the clean) is due at `now`.
/// Returns (the earliest `when` left, 0 if none; whether any ran).
fn run_path(pp: *mut P, now: i64, mut next: i64) -> (i64, bool) {
    if clean(pp) {
        // SAFETY: Ps are never freed; timer0_when is atomic.
        next = unsafe { (*pp).timer0_when.load(Ordering::Acquire) };
    }
    if next == 0 || now < next {
        return (next, false);
    }
    let ran = run_timers(pp, now);
    // SAFETY: as above.
    (unsafe { (*pp).timer0_when.load(Ordering::Acquire) }, ran)
}

/// Go's checkTimers past its `timer0When` check (the caller read `next`, non-zero, from
/// `timer0_when`): see `run_path`.
pub(crate) fn check(pp: *mut P, now: i64, next: i64) -> (i64, bool) {
    let f = RUN_PATH.load(Ordering::Acquire);
    if f.is_null() {
        // No timer was ever made, so none was armed: `next` cannot be non-zero.
        return (next, false);
    }
    // SAFETY: RUN_PATH only ever holds `run_path`.
    let f: fn(*mut P, i64, i64) -> (i64, bool) = unsafe { core::mem::transmute(f) };
    f(pp, now, next)
}

/// Cleans pp's heap if a zombie was counted on it since its last clean (from check_timers, on
/// whichever M looks at pp's timers, Go's owner-P cleaning): drops the stale entries at its top
/// (Go's cleantimers), so a stopped timer does not keep `timer0_when` set (which would wake the
/// timer sleeper for nothing, keep the scheduler off its quiet paths, and hold off checkdead), and
/// sweeps the whole heap if more than a quarter of it is stale. Returns whether it looked.
#[inline]
pub(crate) fn clean(pp: *mut P) -> bool {
    // SAFETY: Ps are never freed; the counts are atomic.
    let z = unsafe { &(*pp).timer_zombies };
    if z.n.load(Ordering::Relaxed) == z.seen.load(Ordering::Relaxed) {
        return false;
    }
    clean_slow(pp, z);
    true
}

/// `clean` once there is something to look at.
#[inline(never)]
fn clean_slow(pp: *mut P, z: &Zombies) {
    let mut garbage = Garbage::new();
    {
        // SAFETY: as above; the heap is behind its lock.
        let mut h = unsafe { (*pp).timers.lock() };
        h.clean(z, &mut garbage);
        // SAFETY: as above.
        unsafe { (*pp).timer0_when.store(h.next_when(), Ordering::Release) };
    }
    drop(garbage);
}

/// One timer's entry in a P's heap. Holds one strong count of the timer; live while the timer's
/// seq is still `seq`, a zombie after.
struct Entry {
    when: i64,
    /// Insertion order: equal `when`s fire first in, first out.
    ins: u64,
    /// The timer's seq when it was armed.
    seq: u64,
    t: *const Timer,
}

impl Entry {
    fn stale(&self) -> bool {
        // SAFETY: the entry's count keeps the timer alive.
        unsafe { (*self.t).stale(self.seq) }
    }
}

/// A P's timers (Go's p.timers): a 4-ary min-heap by (when, insertion order), as Go's (half the
/// depth of a binary one). Stopped and re-armed timers leave stale entries (zombies) that the
/// cleaners drop; the count of them is the P's `timer_zombies`.
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

    /// Number of entries, zombies included (Go's len(timers)).
    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }

    /// Number of live entries (armed timers), for gort::testing: O(len).
    #[cfg(feature = "testing")]
    pub(crate) fn live(&self) -> usize {
        self.heap.iter().filter(|e| !e.stale()).count()
    }

    /// Earliest `when`, or 0.
    pub(crate) fn next_when(&self) -> i64 {
        self.heap.first().map_or(0, |e| e.when)
    }

    fn less(a: &Entry, b: &Entry) -> bool {
        (a.when, a.ins) < (b.when, b.ins)
    }

    fn sift_up(&mut self, mut i: usize) {
        while i > 0 {
            let parent = (i - 1) / 4;
            if !Self::less(&self.heap[i], &self.heap[parent]) {
                break;
            }
            self.heap.swap(i, parent);
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
            self.heap.swap(i, m);
            i = m;
        }
    }

    /// Adds e.
    fn push(&mut self, mut e: Entry) {
        self.ins += 1;
        e.ins = self.ins;
        self.heap.push(e);
        let i = self.heap.len() - 1;
        self.sift_up(i);
    }

    /// Removes and returns the earliest entry (Go's deleteMin).
    fn pop(&mut self) -> Entry {
        let e = self.heap.swap_remove(0);
        if !self.heap.is_empty() {
            self.sift_down(0);
        }
        e
    }

    /// Removes the earliest entry if it is due at `now`: a zombie goes to `garbage` (and the
    /// next due one is looked at), a live one is returned, its timer in no heap now, after the
    /// zombies that are now at the top went too (`clean_top`: so `timer0_when` names a live
    /// timer, not one stopped long ago behind this one). `pp` is the P whose heap this is.
    fn pop_due(&mut self, now: i64, pp: *mut P, z: &Zombies, garbage: &mut Garbage) -> Option<Entry> {
        loop {
            if self.heap.first()?.when > now {
                return None;
            }
            let e = self.pop();
            if e.stale() {
                z.sub(1);
                garbage.push(e.t);
                continue;
            }
            // SAFETY: the entry's timer is alive. Only if it still names this heap: see Timer::pp.
            let _ = unsafe { &(*e.t).pp }.compare_exchange(pp, ptr::null_mut(), Ordering::Relaxed, Ordering::Relaxed);
            self.clean_top_outlined(z, garbage);
            return Some(e);
        }
    }

    /// `clean_top`, then records the count it leaves as seen.
    fn clean(&mut self, z: &Zombies, garbage: &mut Garbage) {
        self.clean_top_outlined(z, garbage);
        z.seen.store(z.n.load(Ordering::Relaxed), Ordering::Relaxed);
    }

    /// `clean_top` where its code size matters more than a call (add_to has it inline).
    #[inline(never)]
    fn clean_top_outlined(&mut self, z: &Zombies, garbage: &mut Garbage) {
        self.clean_top(z, garbage);
    }

    /// Go's cleantimers then, past a quarter of zombies, clearDeletedTimers: drops stale entries
    /// from the top (a few, each an O(log n) pop), then sweeps the whole heap if the top is still
    /// stale or the count says so.
    #[inline(always)]
    fn clean_top(&mut self, z: &Zombies, garbage: &mut Garbage) {
        let mut k = 0;
        while k < 4 && self.heap.first().is_some_and(Entry::stale) {
            let e = self.pop();
            garbage.push(e.t);
            k += 1;
        }
        z.sub(k);
        if (k == 4 && self.heap.first().is_some_and(Entry::stale)) || z.sweep_due(self.heap.len()) {
            self.sweep(z, garbage);
        }
    }

    /// Drops every stale entry into `garbage` and rebuilds the heap from the live ones, in
    /// O(len) (Go's clearDeletedTimers); the zombie count starts again from 0.
    #[cold]
    #[inline(never)]
    fn sweep(&mut self, z: &Zombies, garbage: &mut Garbage) {
        let mut k = 0;
        for i in 0..self.heap.len() {
            if self.heap[i].stale() {
                garbage.push(self.heap[i].t);
            } else {
                self.heap.swap(k, i);
                k += 1;
            }
        }
        self.heap.truncate(k);
        // Floyd's heap construction: sift down every inner node, last first.
        if k > 1 {
            for i in (0..=(k - 2) / 4).rev() {
                self.sift_down(i);
            }
        }
        z.n.store(0, Ordering::Relaxed);
        z.seen.store(0, Ordering::Relaxed);
    }

    /// Moves every entry into `to`, the heap of `to_pp`, zombies too (they are counted over to
    /// `to_z`): procresize destroying the P `from_pp`. Both locks held.
    pub(crate) fn move_all(
        &mut self,
        from_pp: *mut P,
        from_z: &Zombies,
        to: &mut TimerHeap,
        to_pp: *mut P,
        to_z: &Zombies,
    ) {
        for e in core::mem::take(&mut self.heap) {
            // SAFETY: the entry's timer is alive. Only if it still names this heap (Timer::pp).
            let _ = unsafe { &(*e.t).pp }.compare_exchange(from_pp, to_pp, Ordering::Relaxed, Ordering::Relaxed);
            to.push(e);
        }
        to_z.n.fetch_add(from_z.n.swap(0, Ordering::Relaxed), Ordering::Relaxed);
        from_z.seen.store(0, Ordering::Relaxed);
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
        let mut garbage = Garbage::new();
        let e = {
            // SAFETY: Ps are never freed; the heap is behind its lock.
            let mut h = unsafe { (*pp).timers.lock() };
            // SAFETY: as above; the counts are atomic.
            let e = h.pop_due(now, pp, unsafe { &(*pp).timer_zombies }, &mut garbage);
            // SAFETY: as above.
            unsafe { (*pp).timer0_when.store(h.next_when(), Ordering::Release) };
            e
        };
        drop(garbage);
        let Some(e) = e else { return ran };
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
    let mut garbage = Garbage::new();
    let mut st = t.mu.lock();
    if t.stale(seq) || st.when != when {
        return; // stopped or re-armed after it was popped: stale
    }
    let mut rearmed = false;
    if st.period > 0 {
        // Go: t.when += t.period * (1 + -delay/t.period): the next multiple of the period after
        // now, so a ticker never drifts and drops the ticks it missed.
        let next = when.saturating_add(st.period.saturating_mul(1 + (now - when) / st.period));
        st.when = next;
        rearmed = t.add_to(pp, next, seq, &mut garbage);
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
    drop(garbage);
    drop(keep);
    if rearmed {
        crate::proc::timer_added(next);
    }
    if let Some((f, arg, cseq)) = call {
        f(arg, cseq);
    }
}

/// Number of armed timers (live entries) in every P's heap (for gort::testing).
#[cfg(feature = "testing")]
pub(crate) fn count_all() -> usize {
    crate::proc::count_timers(TimerHeap::live)
}

/// Number of entries, zombies included, in every P's heap (for gort::testing).
#[cfg(feature = "testing")]
pub(crate) fn count_entries() -> usize {
    crate::proc::count_timers(TimerHeap::len)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn heap_of(whens: &[i64]) -> (TimerHeap, Vec<Arc<Timer>>) {
        let mut h = TimerHeap::new();
        let mut ts = Vec::new();
        for &w in whens {
            let t = Timer::new(TimerFn::Ready(ptr::null_mut()));
            h.push(Entry { when: w, ins: 0, seq: 0, t: Arc::into_raw(t.clone()) });
            ts.push(t);
        }
        (h, ts)
    }

    fn check(h: &TimerHeap) {
        for (i, e) in h.heap.iter().enumerate() {
            if i > 0 {
                assert!(!TimerHeap::less(e, &h.heap[(i - 1) / 4]));
            }
        }
    }

    /// Makes t's entries stale as stop does (without a P to count them on).
    fn stop(t: &Timer, z: &Zombies) {
        t.seq.fetch_add(1, Ordering::Relaxed);
        z.n.fetch_add(1, Ordering::Relaxed);
    }

    fn pop_all(h: &mut TimerHeap, z: &Zombies) -> Vec<*const Timer> {
        let mut g = Garbage::new();
        let out: Vec<*const Timer> = core::iter::from_fn(|| h.pop_due(i64::MAX, ptr::null_mut(), z, &mut g))
            .map(|e| e.t)
            .inspect(|&t| drop(unsafe { Arc::from_raw(t) }))
            .collect();
        drop(g);
        out
    }

    #[test]
    fn heap_orders_by_when_then_insertion() {
        let (mut h, ts) = heap_of(&[30, 10, 20, 10]);
        let z = Zombies::new();
        check(&h);
        assert_eq!(h.next_when(), 10);
        let mut g = Garbage::new();
        assert!(h.pop_due(5, ptr::null_mut(), &z, &mut g).is_none());
        let want: Vec<*const Timer> = [1, 3, 2, 0].iter().map(|&i| Arc::as_ptr(&ts[i])).collect();
        assert_eq!(pop_all(&mut h, &z), want);
        assert_eq!(h.len(), 0);
        assert!(ts.iter().all(|t| Arc::strong_count(t) == 1));
    }

    #[test]
    fn stale_entries_are_skipped_and_released_by_pop() {
        let whens: Vec<i64> = (0..200).map(|i| (i * 7919 % 211) as i64 + 1).collect();
        let (mut h, ts) = heap_of(&whens);
        let z = Zombies::new();
        for t in ts.iter().step_by(3) {
            stop(t, &z);
        }
        let popped = pop_all(&mut h, &z);
        assert_eq!(popped.len(), 200 - 67);
        assert!(popped.iter().all(|&p| ts.iter().position(|t| Arc::as_ptr(t) == p).unwrap() % 3 != 0));
        assert_eq!(z.n.load(Ordering::Relaxed), 0, "each stale pop uncounts its zombie");
        assert!(ts.iter().all(|t| Arc::strong_count(t) == 1), "the heap's counts are all dropped");
    }

    #[test]
    fn sweep_keeps_live_entries_in_order() {
        let whens: Vec<i64> = (0..1000).map(|i| (i * 7919 % 1009) as i64 + 1).collect();
        let (mut h, ts) = heap_of(&whens);
        let z = Zombies::new();
        for t in ts.iter().step_by(2) {
            stop(t, &z);
        }
        assert!(z.sweep_due(h.len()));
        let mut g = Garbage::new();
        h.sweep(&z, &mut g);
        assert_eq!(g.len(), 500);
        drop(g);
        assert_eq!(h.len(), 500);
        assert_eq!(z.n.load(Ordering::Relaxed), 0);
        check(&h);
        let mut last = (0, 0);
        let z2 = Zombies::new();
        let mut g = Garbage::new();
        while let Some(e) = h.pop_due(i64::MAX, ptr::null_mut(), &z2, &mut g) {
            assert!((e.when, e.ins) > last);
            last = (e.when, e.ins);
            // SAFETY: the entry's count.
            drop(unsafe { Arc::from_raw(e.t) });
        }
        assert!(g.len() == 0, "a sweep leaves no stale entry");
        assert!(ts.iter().all(|t| Arc::strong_count(t) == 1));
    }

    #[test]
    fn clean_drops_a_stale_top_and_remembers_the_count() {
        let (mut h, ts) = heap_of(&[10, 20, 30, 40, 50, 60, 70, 80, 90]);
        let z = Zombies::new();
        stop(&ts[0], &z); // the top
        stop(&ts[5], &z); // deep inside
        let mut g = Garbage::new();
        h.clean(&z, &mut g);
        // The stale top is gone; 1 zombie of 8 is not past a quarter, so no sweep.
        assert_eq!(h.next_when(), 20);
        assert_eq!(h.len(), 8);
        assert_eq!(z.n.load(Ordering::Relaxed), 1);
        assert_eq!(z.seen.load(Ordering::Relaxed), 1);
        drop(g);
        assert_eq!(Arc::strong_count(&ts[0]), 1);
        // Zombies past a quarter: the whole heap is swept.
        for t in &ts[6..9] {
            stop(t, &z);
        }
        let mut g = Garbage::new();
        h.clean(&z, &mut g);
        assert_eq!(h.len(), 4);
        assert_eq!((z.n.load(Ordering::Relaxed), z.seen.load(Ordering::Relaxed)), (0, 0));
        drop(g);
        check(&h);
        assert_eq!(pop_all(&mut h, &z).len(), 4);
        assert!(ts.iter().all(|t| Arc::strong_count(t) == 1));
    }
}
