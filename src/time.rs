//! Time: monotonic `nanotime` through the vDSO's clock_gettime (found via AT_SYSINFO_EHDR) with a
//! system-call fallback, per-P timer heaps (Go's p.timers), and `sleep`.

use core::sync::atomic::Ordering;

use crate::runtime2::{G, P};
use crate::sys as os;

/// Monotonic time in nanoseconds (Go's nanotime), from the OS layer (vDSO on Linux).
#[inline]
pub fn nanotime() -> i64 {
    os::nanotime()
}

/// A goroutine's sleep timer: when it should be made runnable.
#[repr(C)]
pub struct Timer {
    /// Wake time (nanotime), 0 if not armed.
    pub when: i64,
}

/// One pending timer in a P's heap.
#[derive(Clone, Copy)]
struct TimerEntry {
    when: i64,
    seq: u64,
    gp: *mut G,
}

/// A P's timers (Go's p.timers): a binary min-heap by (when, insertion order).
pub struct TimerHeap {
    heap: alloc::vec::Vec<TimerEntry>,
    seq: u64,
}

impl TimerHeap {
    /// An empty heap.
    pub const fn new() -> Self {
        TimerHeap { heap: alloc::vec::Vec::new(), seq: 0 }
    }
    /// Number of pending timers.
    pub fn len(&self) -> usize {
        self.heap.len()
    }
    /// Whether no timers are pending.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
    /// Earliest wake time, or 0.
    pub fn next_when(&self) -> i64 {
        self.heap.first().map_or(0, |t| t.when)
    }
    fn less(a: &TimerEntry, b: &TimerEntry) -> bool {
        (a.when, a.seq) < (b.when, b.seq)
    }
    /// Adds a timer that readies gp at `when`.
    pub fn push(&mut self, when: i64, gp: *mut G) {
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
    pub fn pop_due(&mut self, now: i64) -> Option<*mut G> {
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
    pub fn move_all(&mut self, to: &mut TimerHeap) {
        for t in self.heap.drain(..) {
            to.push(t.when, t.gp);
        }
    }
}

/// Adds a sleep timer for gp on pp (under pp's timers lock) and publishes the new earliest time.
///
/// # Safety
/// pp must be a valid P; gp a parked g.
pub unsafe fn addtimer(pp: *mut P, when: i64, gp: *mut G) {
    // SAFETY: P fields used here are guarded by timers_lock or atomic.
    unsafe {
        let p = &mut *pp;
        p.timers_lock.lock();
        p.timers.push(when, gp);
        p.timer0_when.store(p.timers.next_when(), Ordering::Release);
        p.timers_lock.unlock();
    }
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
        assert!(h.is_empty());
    }

    #[test]
    #[cfg_attr(miri, ignore = "reads the clock through the vDSO or a raw system call (inline assembly)")]
    fn nanotime_is_monotonic() {
        let a = nanotime();
        let b = nanotime();
        assert!(b >= a && a > 0);
    }
}
