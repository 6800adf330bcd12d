//! A P's local run queue (Go's p.runq/runqhead/runqtail/runnext): a fixed ring that only the owner
//! P puts into, that the owner and thieves take from, plus a one-slot `runnext` that the owner
//! fills and anyone may take. Elements are non-zero words (`*mut G` in the runtime; plain numbers in
//! the loom model).
//!
//! Ordering argument (the same as Go's, with Rust's model spelled out):
//! - Only the owner writes `tail` and the slots at `tail`. A put writes the slot (Relaxed) and then
//!   stores `tail` with Release; a consumer loads `tail` with Acquire, so every slot below the
//!   `tail` it saw is visible to it.
//! - Consumers (owner or thieves) claim `[head, head+n)` by CAS on `head` with Release after reading
//!   those slots; the owner loads `head` with Acquire before overwriting a slot, so a slot is reused
//!   only after the consumer that read it has finished reading (the CAS happened-before).
//! - A consumer may read a slot that the owner is concurrently rewriting (when its view of `head` is
//!   stale); its CAS on `head` then fails and the value is discarded. The slots are atomics, so
//!   that race is not undefined behaviour (Go reads them plainly).
//! - `runnext` changes only by swap/CAS with AcqRel, so a g put there is visible to its taker.

#[cfg(not(loom))]
use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
#[cfg(loom)]
use loom::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

/// A lock-free single-producer, multi-consumer ring of `N` words plus runnext.
pub struct RunQueue<const N: usize> {
    head: AtomicU32,
    tail: AtomicU32,
    runnext: AtomicUsize,
    buf: [AtomicUsize; N],
}

/// What did not fit: the caller (runqputslow) moves half the queue plus this value elsewhere.
#[derive(Debug)]
pub struct Full(pub usize);

impl<const N: usize> Default for RunQueue<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> RunQueue<N> {
    /// An empty queue.
    pub fn new() -> Self {
        assert!(N.is_power_of_two() && N <= 1 << 30);
        RunQueue {
            head: AtomicU32::new(0),
            tail: AtomicU32::new(0),
            runnext: AtomicUsize::new(0),
            buf: core::array::from_fn(|_| AtomicUsize::new(0)),
        }
    }

    /// Whether the queue (and runnext) looked empty (Go's runqempty: consistent snapshot of
    /// head, tail and runnext).
    pub fn is_empty(&self) -> bool {
        loop {
            let head = self.head.load(Ordering::Acquire);
            let tail = self.tail.load(Ordering::Acquire);
            let runnext = self.runnext.load(Ordering::Acquire);
            if tail == self.tail.load(Ordering::Acquire) {
                return head == tail && runnext == 0;
            }
        }
    }

    /// Number of gs in the ring (not counting runnext); approximate under concurrency.
    pub fn len(&self) -> u32 {
        let head = self.head.load(Ordering::Acquire);
        let tail = self.tail.load(Ordering::Acquire);
        tail.wrapping_sub(head).min(N as u32)
    }

    /// Whether runnext holds a g.
    pub fn has_runnext(&self) -> bool {
        self.runnext.load(Ordering::Acquire) != 0
    }

    /// The owner's handle: put, get, drain, the overflow grab and stealing into this queue.
    ///
    /// # Safety
    /// Only the queue's owner (the M holding its P) calls it, and only one `Owner` of a queue
    /// is used at a time: the ring's tail and slots are written by the owner alone (the ordering
    /// argument above).
    pub unsafe fn owner(&self) -> Owner<'_, N> {
        Owner { q: self }
    }

    /// A thief's handle: any thread may take half of the ring.
    pub fn stealer(&self) -> Stealer<'_, N> {
        Stealer { q: self }
    }
}

/// The owner's side of a RunQueue (tokio's Local, crossbeam's Worker): made only by the unsafe
/// `RunQueue::owner`, whose contract is the single-producer rule.
pub struct Owner<'a, const N: usize> {
    q: &'a RunQueue<N>,
}

/// The thieves' side of a RunQueue (tokio's Steal, crossbeam's Stealer).
pub struct Stealer<'a, const N: usize> {
    q: &'a RunQueue<N>,
}

impl<const N: usize> Owner<'_, N> {
    /// puts `v` at the tail, or into runnext if `next` (kicking the old runnext to the
    /// tail). Err(Full(x)) when the ring is full: `x` must go elsewhere with half of the ring.
    pub fn put(&self, mut v: usize, next: bool) -> Result<(), Full> {
        debug_assert!(v != 0);
        if next {
            let old = self.q.runnext.swap(v, Ordering::AcqRel);
            if old == 0 {
                return Ok(());
            }
            v = old; // kick the old runnext out to the regular queue
        }
        // Acquire: pairs with consumers' Release CAS, so slots below head are free to reuse.
        let h = self.q.head.load(Ordering::Acquire);
        let t = self.q.tail.load(Ordering::Relaxed); // only the owner writes tail
        if t.wrapping_sub(h) < N as u32 {
            self.q.buf[t as usize % N].store(v, Ordering::Relaxed);
            // Release: publishes the slot to consumers.
            self.q.tail.store(t.wrapping_add(1), Ordering::Release);
            return Ok(());
        }
        Err(Full(v))
    }

    /// Owner only, when `put` failed: claims the older half of the ring into `batch` (returns how
    /// many) so the caller can move them plus the overflow value to the global queue.
    /// Returns 0 if a thief emptied the queue meanwhile (then `put` will succeed).
    pub fn grab_half_for_overflow(&self, batch: &mut [usize]) -> usize {
        let h = self.q.head.load(Ordering::Acquire);
        let t = self.q.tail.load(Ordering::Relaxed);
        let n = t.wrapping_sub(h) / 2;
        if n as usize != N / 2 {
            return 0; // the queue is not full anymore
        }
        for (i, slot) in batch.iter_mut().enumerate().take(n as usize) {
            *slot = self.q.buf[(h.wrapping_add(i as u32)) as usize % N].load(Ordering::Relaxed);
        }
        // Release: our slot reads happen-before the owner (us) or anyone reusing them.
        if self.q.head.compare_exchange(h, h.wrapping_add(n), Ordering::Release, Ordering::Relaxed).is_err() {
            return 0;
        }
        n as usize
    }

    /// takes runnext if set, else the head of the ring. The bool says whether the
    /// value came from runnext (it then inherits the time slice).
    pub fn get(&self) -> Option<(usize, bool)> {
        let mut next = self.q.runnext.load(Ordering::Acquire);
        while next != 0 {
            match self.q.runnext.compare_exchange(next, 0, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return Some((next, true)),
                Err(cur) => next = cur,
            }
        }
        loop {
            // Acquire: sync with other consumers' CAS.
            let h = self.q.head.load(Ordering::Acquire);
            let t = self.q.tail.load(Ordering::Relaxed);
            if t == h {
                return None;
            }
            let v = self.q.buf[h as usize % N].load(Ordering::Relaxed);
            // Release: the slot read happens-before a later put reusing it.
            if self.q.head.compare_exchange(h, h.wrapping_add(1), Ordering::Release, Ordering::Relaxed).is_ok() {
                return Some((v, false));
            }
        }
    }

    /// empties the ring and runnext into `out` (procresize moving a dead P's gs).
    pub fn drain(&self, mut out: impl FnMut(usize)) {
        while let Some((v, _)) = self.get() {
            out(v);
        }
    }

    /// Steals half of `victim`'s queue into our ring (Go's runqsteal) and returns
    /// one of them to run now (the last one grabbed), or None. `backoff` as for `grab`.
    pub fn steal_from(&self, victim: Stealer<'_, N>, steal_runnext: bool, backoff: impl Fn()) -> Option<usize> {
        let mut batch = [0usize; N];
        let n = victim.grab(&mut batch[..N / 2], steal_runnext, backoff);
        if n == 0 {
            return None;
        }
        let last = batch[n - 1];
        if n == 1 {
            return Some(last);
        }
        let h = self.q.head.load(Ordering::Acquire);
        let t = self.q.tail.load(Ordering::Relaxed);
        if t.wrapping_sub(h) as usize + n - 1 > N {
            crate::throw("runqsteal: runq overflow");
        }
        for (i, &v) in batch[..n - 1].iter().enumerate() {
            self.q.buf[(t.wrapping_add(i as u32)) as usize % N].store(v, Ordering::Relaxed);
        }
        self.q.tail.store(t.wrapping_add(n as u32 - 1), Ordering::Release);
        Some(last)
    }
}

impl<const N: usize> Stealer<'_, N> {
    /// Claims half of the ring (Go's runqgrab) into `batch`; if the ring is empty and
    /// `steal_runnext`, takes runnext instead, after calling `backoff` (Go's runqgrab sleeps
    /// 3 µs there when the victim P is running: it may be about to run that g itself, the one
    /// its goroutine just readied before blocking). Returns the count.
    pub fn grab(&self, batch: &mut [usize], steal_runnext: bool, backoff: impl Fn()) -> usize {
        loop {
            let h = self.q.head.load(Ordering::Acquire); // sync with other consumers
            let t = self.q.tail.load(Ordering::Acquire); // sync with the producer
            let mut n = t.wrapping_sub(h);
            n -= n / 2;
            if n == 0 {
                if steal_runnext {
                    let next = self.q.runnext.load(Ordering::Acquire);
                    if next != 0 {
                        backoff();
                        // Meanwhile the owner may have run it, or queued more (and kicked it
                        // into the ring): then the CAS fails and the ring is looked at again.
                        if self.q.runnext.compare_exchange(next, 0, Ordering::AcqRel, Ordering::Acquire).is_err() {
                            continue;
                        }
                        batch[0] = next;
                        return 1;
                    }
                }
                return 0;
            }
            if n > N as u32 / 2 {
                continue; // read inconsistent h and t
            }
            let n = (n as usize).min(batch.len());
            for (i, slot) in batch.iter_mut().enumerate().take(n) {
                *slot = self.q.buf[(h.wrapping_add(i as u32)) as usize % N].load(Ordering::Relaxed);
            }
            if self.q.head.compare_exchange(h, h.wrapping_add(n as u32), Ordering::Release, Ordering::Relaxed).is_ok() {
                return n;
            }
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    /// The owner handle (in these tests one thread at a time puts into a queue).
    fn own<const N: usize>(q: &RunQueue<N>) -> Owner<'_, N> {
        // SAFETY: in these tests only one thread puts into a given queue.
        unsafe { q.owner() }
    }

    #[test]
    fn fifo_and_runnext() {
        let q = RunQueue::<8>::new();
        assert!(q.is_empty());
        own(&q).put(1, false).unwrap();
        own(&q).put(2, false).unwrap();
        own(&q).put(3, true).unwrap();
        assert_eq!(own(&q).get(), Some((3, true)));
        assert_eq!(own(&q).get(), Some((1, false)));
        own(&q).put(4, true).unwrap();
        own(&q).put(5, true).unwrap(); // kicks 4 to the tail
        assert_eq!(own(&q).get(), Some((5, true)));
        assert_eq!(own(&q).get(), Some((2, false)));
        assert_eq!(own(&q).get(), Some((4, false)));
        assert_eq!(own(&q).get(), None);
    }

    #[test]
    fn overflow_moves_half() {
        let q = RunQueue::<8>::new();
        for i in 1..=8 {
            own(&q).put(i, false).unwrap();
        }
        let Err(Full(9)) = own(&q).put(9, false) else { panic!("expected full") };
        let mut batch = [0; 8];
        assert_eq!(own(&q).grab_half_for_overflow(&mut batch), 4);
        assert_eq!(&batch[..4], &[1, 2, 3, 4]);
        own(&q).put(9, false).unwrap();
        let got: Vec<_> = core::iter::from_fn(|| own(&q).get().map(|x| x.0)).collect();
        assert_eq!(got, vec![5, 6, 7, 8, 9]);
    }

    #[test]
    fn steal_takes_half_and_runnext_last() {
        let a = RunQueue::<16>::new();
        let b = RunQueue::<16>::new();
        for i in 1..=6 {
            own(&a).put(i, false).unwrap();
        }
        assert_eq!(own(&b).steal_from(a.stealer(), true, || {}), Some(3));
        assert_eq!(b.len(), 2);
        assert_eq!(a.len(), 3);
        let c = RunQueue::<16>::new();
        own(&c).put(42, true).unwrap();
        assert_eq!(own(&b).steal_from(c.stealer(), false, || {}), None);
        assert_eq!(own(&b).steal_from(c.stealer(), true, || {}), Some(42));
        assert!(c.is_empty());
    }

    /// The thief backs off before it takes runnext, and takes only what is there after: the
    /// owner may have run that g meanwhile (then the thief takes the new runnext, after another
    /// back-off) or kicked it into the ring behind a newer one (then the ring's).
    #[test]
    fn runnext_is_taken_only_after_the_backoff_and_as_it_is_then() {
        use std::cell::Cell;
        let mut batch = [0usize; 8];
        // Nothing changes during the back-off: the thief takes runnext.
        let q = RunQueue::<16>::new();
        own(&q).put(5, true).unwrap();
        let calls = Cell::new(0);
        assert_eq!(q.stealer().grab(&mut batch, true, || calls.set(calls.get() + 1)), 1);
        assert_eq!((batch[0], calls.get()), (5, 1));
        assert!(q.is_empty());
        // No back-off where runnext is not to be taken, or is empty.
        own(&q).put(6, true).unwrap();
        assert_eq!(q.stealer().grab(&mut batch, false, || panic!("backed off")), 0);
        assert_eq!(own(&q).get(), Some((6, true)));
        assert_eq!(q.stealer().grab(&mut batch, true, || panic!("backed off")), 0);
        // The owner runs it and readies another meanwhile: the new one, after a second back-off.
        own(&q).put(7, true).unwrap();
        let calls = Cell::new(0);
        let n = q.stealer().grab(&mut batch, true, || {
            calls.set(calls.get() + 1);
            if calls.get() == 1 {
                assert_eq!(own(&q).get(), Some((7, true)));
                own(&q).put(8, true).unwrap();
            }
        });
        assert_eq!((n, batch[0], calls.get()), (1, 8, 2));
        // The owner spawns meanwhile (the new g in runnext, the old one kicked into the ring):
        // the ring's, and runnext stays.
        own(&q).put(9, true).unwrap();
        let kicked = Cell::new(false);
        let n = q.stealer().grab(&mut batch, true, || {
            if !kicked.replace(true) {
                own(&q).put(10, true).unwrap();
            }
        });
        assert_eq!((n, batch[0]), (1, 9));
        assert_eq!(own(&q).get(), Some((10, true)));
        assert!(q.is_empty());
    }

    #[test]
    fn threads_never_lose_or_duplicate() {
        use std::sync::atomic::AtomicBool;
        use std::sync::Arc;
        // Under miri every access is interpreted: fewer items, same interleaving checks.
        const TOTAL: usize = if cfg!(miri) { 2_000 } else { 200_000 };
        let q = Arc::new(RunQueue::<256>::new());
        let done = Arc::new(AtomicBool::new(false));
        let mut thieves = Vec::new();
        for _ in 0..2 {
            let q = q.clone();
            let done = done.clone();
            thieves.push(std::thread::spawn(move || {
                let mine = RunQueue::<256>::new();
                let mut got = Vec::new();
                loop {
                    let finished = done.load(std::sync::atomic::Ordering::Acquire);
                    if let Some(v) = own(&mine).steal_from(q.stealer(), true, || {}) {
                        got.push(v);
                        while let Some((v, _)) = own(&mine).get() {
                            got.push(v);
                        }
                    } else if finished {
                        return got;
                    }
                }
            }));
        }
        let mut got = Vec::new();
        let mut overflow = Vec::new();
        for i in 1..=TOTAL {
            if let Err(Full(v)) = own(&q).put(i, i % 7 == 0) {
                let mut batch = [0; 256];
                let n = own(&q).grab_half_for_overflow(&mut batch);
                overflow.extend_from_slice(&batch[..n]);
                if own(&q).put(v, false).is_err() {
                    overflow.push(v);
                }
            }
            if i % 3 == 0 {
                if let Some((v, _)) = own(&q).get() {
                    got.push(v);
                }
            }
        }
        while let Some((v, _)) = own(&q).get() {
            got.push(v);
        }
        done.store(true, std::sync::atomic::Ordering::Release);
        for t in thieves {
            got.extend(t.join().unwrap());
        }
        got.extend(overflow);
        got.sort_unstable();
        assert_eq!(got.len(), TOTAL);
        assert!(got.iter().enumerate().all(|(i, &v)| v == i + 1));
    }
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::*;
    use loom::sync::Arc;
    use loom::thread;

    /// The owner handle (in these tests one thread at a time puts into a queue).
    fn own<const N: usize>(q: &RunQueue<N>) -> Owner<'_, N> {
        // SAFETY: in these tests only one thread puts into a given queue.
        unsafe { q.owner() }
    }

    /// Owner puts (ring and runnext) and gets while a thief steals: every value is taken once.
    #[test]
    fn put_get_steal_runnext() {
        loom::model(|| {
            let q = Arc::new(RunQueue::<4>::new());
            let q2 = q.clone();
            let thief = thread::spawn(move || {
                let mine = RunQueue::<4>::new();
                let mut got = Vec::new();
                if let Some(v) = own(&mine).steal_from(q2.stealer(), true, || {}) {
                    got.push(v);
                    while let Some((v, _)) = own(&mine).get() {
                        got.push(v);
                    }
                }
                got
            });
            own(&q).put(1, false).unwrap();
            own(&q).put(2, false).unwrap();
            own(&q).put(3, true).unwrap();
            let mut got = Vec::new();
            if let Some((v, _)) = own(&q).get() {
                got.push(v);
            }
            let stolen = thief.join().unwrap();
            while let Some((v, _)) = own(&q).get() {
                got.push(v);
            }
            got.extend(stolen);
            got.sort_unstable();
            assert_eq!(got, vec![1, 2, 3]);
        });
    }

    /// Two thieves race for the same ring: no duplicates, no losses.
    #[test]
    fn two_thieves() {
        loom::model(|| {
            let q = Arc::new(RunQueue::<4>::new());
            own(&q).put(1, false).unwrap();
            own(&q).put(2, false).unwrap();
            own(&q).put(3, false).unwrap();
            let handles: Vec<_> = (0..2)
                .map(|_| {
                    let q = q.clone();
                    thread::spawn(move || {
                        let mine = RunQueue::<4>::new();
                        let mut got = Vec::new();
                        if let Some(v) = own(&mine).steal_from(q.stealer(), false, || {}) {
                            got.push(v);
                            while let Some((v, _)) = own(&mine).get() {
                                got.push(v);
                            }
                        }
                        got
                    })
                })
                .collect();
            let mut got: Vec<usize> = handles.into_iter().flat_map(|h| h.join().unwrap()).collect();
            while let Some((v, _)) = own(&q).get() {
                got.push(v);
            }
            got.sort_unstable();
            assert_eq!(got, vec![1, 2, 3]);
        });
    }

    /// Overflow while a thief steals: the owner's half-move and the thief never both take a value.
    #[test]
    fn overflow_vs_steal() {
        loom::model(|| {
            let q = Arc::new(RunQueue::<2>::new());
            own(&q).put(1, false).unwrap();
            own(&q).put(2, false).unwrap();
            let q2 = q.clone();
            let thief = thread::spawn(move || {
                let mut batch = [0usize; 1];
                let n = q2.stealer().grab(&mut batch, false, || {});
                batch[..n].to_vec()
            });
            let mut got = Vec::new();
            match own(&q).put(3, false) {
                Ok(()) => {}
                Err(Full(v)) => {
                    let mut batch = [0usize; 2];
                    let n = own(&q).grab_half_for_overflow(&mut batch);
                    got.extend_from_slice(&batch[..n]);
                    if own(&q).put(v, false).is_err() {
                        got.push(v);
                    }
                }
            }
            got.extend(thief.join().unwrap());
            while let Some((v, _)) = own(&q).get() {
                got.push(v);
            }
            got.sort_unstable();
            assert_eq!(got, vec![1, 2, 3]);
        });
    }
}
