//! Time (Go's runtime/time.go, and the monotonic clock of Go's time package): `nanotime` from
//! the OS layer (the vDSO's clock_gettime on Linux, with a system-call fallback), per-P timer
//! heaps (Go's p.timers) behind `sleep`, and the public [`Instant`].

use core::sync::atomic::Ordering;
use core::time::Duration;

use crate::gmp::{G, P};
use crate::sys as os;

/// Monotonic time in nanoseconds (Go's nanotime), from the OS layer (vDSO on Linux).
#[inline]
pub(crate) fn nanotime() -> i64 {
    os::nanotime()
}

/// A point on the monotonic clock (Go's `time.Now()` for measuring; std's `Instant`), with
/// nanosecond resolution. Never goes backwards; unrelated to the wall clock.
///
/// ```
/// let start = gort::time::Instant::now();
/// gort::sleep(core::time::Duration::from_millis(2));
/// assert!(start.elapsed() >= core::time::Duration::from_millis(2));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Instant {
    ns: i64,
}

impl Instant {
    /// The current time.
    pub fn now() -> Instant {
        Instant { ns: nanotime() }
    }

    /// Time passed since `self`.
    pub fn elapsed(&self) -> Duration {
        Instant::now().saturating_duration_since(*self)
    }

    /// Time from `earlier` to `self`, zero if `earlier` is later.
    pub fn saturating_duration_since(&self, earlier: Instant) -> Duration {
        Duration::from_nanos(self.ns.saturating_sub(earlier.ns).max(0) as u64)
    }

    /// Time from `earlier` to `self`, None if `earlier` is later.
    pub fn checked_duration_since(&self, earlier: Instant) -> Option<Duration> {
        (self.ns >= earlier.ns).then(|| Duration::from_nanos((self.ns - earlier.ns) as u64))
    }

    /// `self + d`, None if it would overflow the clock's range (about 292 years).
    pub fn checked_add(&self, d: Duration) -> Option<Instant> {
        let d = i64::try_from(d.as_nanos()).ok()?;
        Some(Instant { ns: self.ns.checked_add(d)? })
    }

    /// `self - d`, None if it would overflow the clock's range.
    pub fn checked_sub(&self, d: Duration) -> Option<Instant> {
        let d = i64::try_from(d.as_nanos()).ok()?;
        Some(Instant { ns: self.ns.checked_sub(d)? })
    }
}

impl core::ops::Add<Duration> for Instant {
    type Output = Instant;
    /// # Panics
    /// If the result overflows (as std's Instant).
    #[track_caller]
    fn add(self, d: Duration) -> Instant {
        self.checked_add(d).expect("overflow when adding duration to instant")
    }
}

impl core::ops::Sub<Duration> for Instant {
    type Output = Instant;
    /// # Panics
    /// If the result overflows (as std's Instant).
    #[track_caller]
    fn sub(self, d: Duration) -> Instant {
        self.checked_sub(d).expect("overflow when subtracting duration from instant")
    }
}

impl core::ops::Sub<Instant> for Instant {
    type Output = Duration;
    /// Time from `earlier` to `self`, zero if `earlier` is later (as std's Instant).
    fn sub(self, earlier: Instant) -> Duration {
        self.saturating_duration_since(earlier)
    }
}

/// A goroutine's sleep timer: when it should be made runnable.
#[repr(C)]
pub(crate) struct Timer {
    /// Wake time (nanotime), 0 if not armed.
    pub(crate) when: i64,
}

/// One pending timer in a P's heap.
#[derive(Clone, Copy)]
struct TimerEntry {
    when: i64,
    seq: u64,
    gp: *mut G,
}

/// A P's timers (Go's p.timers): a binary min-heap by (when, insertion order).
pub(crate) struct TimerHeap {
    heap: alloc::vec::Vec<TimerEntry>,
    seq: u64,
}

impl TimerHeap {
    /// An empty heap.
    pub(crate) const fn new() -> Self {
        TimerHeap { heap: alloc::vec::Vec::new(), seq: 0 }
    }
    /// Number of pending timers.
    pub(crate) fn len(&self) -> usize {
        self.heap.len()
    }
    /// Earliest wake time, or 0.
    pub(crate) fn next_when(&self) -> i64 {
        self.heap.first().map_or(0, |t| t.when)
    }
    fn less(a: &TimerEntry, b: &TimerEntry) -> bool {
        (a.when, a.seq) < (b.when, b.seq)
    }
    /// Adds a timer that readies gp at `when`.
    pub(crate) fn push(&mut self, when: i64, gp: *mut G) {
        self.seq += 1;
        self.heap.push(TimerEntry { when, seq: self.seq, gp });
        let mut i = self.heap.len() - 1;
        while i > 0 {
            let parent = (i - 1) / 2;
            if !Self::less(&self.heap[i], &self.heap[parent]) {
                break;
            }
            self.heap.swap(i, parent);
            i = parent;
        }
    }
    /// Removes and returns the earliest timer's g if it is due at `now`.
    pub(crate) fn pop_due(&mut self, now: i64) -> Option<*mut G> {
        let first = *self.heap.first()?;
        if first.when > now {
            return None;
        }
        let last = self.heap.pop().unwrap();
        if !self.heap.is_empty() {
            self.heap[0] = last;
            let n = self.heap.len();
            let mut i = 0;
            loop {
                let (l, r) = (2 * i + 1, 2 * i + 2);
                let mut m = i;
                if l < n && Self::less(&self.heap[l], &self.heap[m]) {
                    m = l;
                }
                if r < n && Self::less(&self.heap[r], &self.heap[m]) {
                    m = r;
                }
                if m == i {
                    break;
                }
                self.heap.swap(i, m);
                i = m;
            }
        }
        Some(first.gp)
    }
    /// Moves every timer into `to` (procresize destroying a P).
    pub(crate) fn move_all(&mut self, to: &mut TimerHeap) {
        for t in self.heap.drain(..) {
            to.push(t.when, t.gp);
        }
    }
}

/// Adds a sleep timer for gp on pp (under pp's timers lock) and publishes the new earliest time.
///
/// # Safety
/// pp must be a valid P; gp a parked g.
pub(crate) unsafe fn addtimer(pp: *mut P, when: i64, gp: *mut G) {
    // SAFETY: pp is valid (the caller's promise); the heap is behind its lock, the rest atomic.
    let p = unsafe { &*pp };
    let mut timers = p.timers.lock();
    timers.push(when, gp);
    p.timer0_when.store(timers.next_when(), Ordering::Release);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heap_orders_by_when_then_insertion() {
        let mut h = TimerHeap::new();
        let g = |n: usize| core::ptr::without_provenance_mut::<G>(n);
        h.push(30, g(3));
        h.push(10, g(1));
        h.push(20, g(2));
        h.push(10, g(4));
        assert_eq!(h.next_when(), 10);
        assert_eq!(h.pop_due(5), None);
        assert_eq!(h.pop_due(100), Some(g(1)));
        assert_eq!(h.pop_due(100), Some(g(4)));
        assert_eq!(h.pop_due(100), Some(g(2)));
        assert_eq!(h.pop_due(25), None);
        assert_eq!(h.pop_due(30), Some(g(3)));
        assert_eq!(h.len(), 0);
    }

    #[test]
    #[cfg_attr(miri, ignore = "reads the clock through the vDSO or a raw system call (inline assembly)")]
    fn nanotime_is_monotonic() {
        let a = nanotime();
        let b = nanotime();
        assert!(b >= a && a > 0);
    }
}
