//! Go's sync package, the parts gort provides: `WaitGroup`, `Mutex`, `Once`. Waiting goroutines
//! park (gopark) instead of spinning; the runtime lock guarding each wait queue is released by the
//! park hook once the goroutine is off its M.

use core::cell::UnsafeCell;
use core::fmt;
use core::marker::PhantomData;
use core::ops::{Deref, DerefMut};
use core::ptr;
use core::sync::atomic::{AtomicBool, AtomicI64, AtomicU32, Ordering};

use crate::arch;
use crate::gmp::{WaitReason, G};
use crate::lock_futex::{Mutex as RtLock, MutexGuard as RtGuard};
use crate::proc::{self, gopark};
use crate::sudog::{acquire_sudog, release_sudog, Sudog};
use crate::time::nanotime;

/// A FIFO of parked goroutines (Go's semaRoot, simplified): the list of their sudogs.
struct Waiters {
    head: *mut Sudog,
    tail: *mut Sudog,
}

// SAFETY: the list only points at sudogs of parked goroutines (heap records any M may touch
// under the queue's lock): nothing in it is tied to a thread.
unsafe impl Send for Waiters {}

impl Waiters {
    /// Appends w (or puts it first if `front`).
    ///
    /// # Safety
    /// w is a valid sudog on no list, and stays valid until popped.
    unsafe fn push(&mut self, w: *mut Sudog, front: bool) {
        // SAFETY: w and the listed sudogs are valid (contract; the lock guards the list).
        unsafe {
            if front {
                (*w).next = self.head;
                self.head = w;
                if self.tail.is_null() {
                    self.tail = w;
                }
            } else {
                (*w).next = ptr::null_mut();
                if self.tail.is_null() {
                    self.head = w;
                } else {
                    (*self.tail).next = w;
                }
                self.tail = w;
            }
        }
    }

    /// Pops the first waiter, or null.
    fn pop(&mut self) -> *mut Sudog {
        let w = self.head;
        if !w.is_null() {
            // SAFETY: listed sudogs are valid while their goroutines are parked on the list.
            self.head = unsafe { (*w).next };
            if self.head.is_null() {
                self.tail = ptr::null_mut();
            }
        }
        w
    }

    fn is_empty(&self) -> bool {
        self.head.is_null()
    }
}

/// A wait queue: the waiters behind the runtime lock that guards them.
struct WaitQueue(RtLock<Waiters>);

impl WaitQueue {
    const fn new() -> Self {
        WaitQueue(RtLock::new(Waiters { head: ptr::null_mut(), tail: ptr::null_mut() }))
    }
}

/// Parks the current goroutine on the queue whose lock `waiters` holds; returns after a waker
/// popped it, the lock released (by the park hook, once this goroutine is off its M). Returns
/// whether ownership was handed off (Mutex starvation mode).
fn park_on(mut waiters: RtGuard<'_, Waiters>, front: bool, reason: WaitReason) -> bool {
    // On the heap, not our stack (sudog.rs): the waker reads it while we are parked.
    let w = acquire_sudog(arch::getg(), ptr::null_mut());
    // SAFETY: w is ours until popped and readied.
    unsafe { waiters.push(w, front) };
    // The lock stays held across the switch: a waker must not pop us before we are parked.
    let lock = waiters.hold_across_park();
    gopark(Some(unlock_queue), lock as *const RtLock<Waiters> as usize, reason);
    // SAFETY: the waker popped w (under the queue lock) and set `success` before readying us;
    // nobody reaches it now.
    unsafe {
        let handoff = (*w).success;
        release_sudog(w);
        handoff
    }
}

/// Readies a waiter this package woke (goready). Out of line: goready, inlined at the mutex's
/// and the WaitGroup's wake-ups, was three copies in every program that prints (the print lock
/// is a Mutex; issue 22). A wake-up costs far more than the call.
#[inline(never)]
fn ready_waiter(gp: *mut G) {
    proc::goready(gp);
}

/// gopark hook: releases the queue's lock once the goroutine is parked.
unsafe fn unlock_queue(gp: *mut G, lock: usize) -> bool {
    // SAFETY: lock is the queue's runtime lock, held across the park by park_on.
    unsafe { (*(lock as *const RtLock<Waiters>)).force_unlock(gp) };
    true
}

/// Waits for a collection of goroutines to finish (Go's sync.WaitGroup). Share it with `Arc`
/// (or a `static`: [`WaitGroup::new`] is `const`).
///
/// ```
/// static WG: gort::sync::WaitGroup = gort::sync::WaitGroup::new();
/// WG.add(2);
/// gort::go(|| WG.done());
/// gort::go(|| WG.done());
/// WG.wait();
/// ```
pub struct WaitGroup {
    count: AtomicI64,
    q: WaitQueue,
}

impl fmt::Debug for WaitGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WaitGroup").field("count", &self.count.load(Ordering::Relaxed)).finish_non_exhaustive()
    }
}

impl Default for WaitGroup {
    fn default() -> Self {
        Self::new()
    }
}

impl WaitGroup {
    /// A WaitGroup with counter 0.
    pub const fn new() -> Self {
        WaitGroup { count: AtomicI64::new(0), q: WaitQueue::new() }
    }

    /// Adds delta (may be negative) to the counter; at zero every waiter is released.
    ///
    /// # Panics
    /// If the counter goes negative (as Go's "sync: negative WaitGroup counter"); the panic
    /// points at the caller.
    #[track_caller]
    pub fn add(&self, delta: i64) {
        proc::preempt_check();
        // AcqRel: work done before done() happens-before wait() returning.
        let v = self.count.fetch_add(delta, Ordering::AcqRel) + delta;
        if v < 0 {
            panic!("sync: negative WaitGroup counter");
        }
        if v > 0 || delta > 0 {
            return;
        }
        // Counter hit zero: release everyone (under the lock, so no waiter can slip in between
        // its check of the counter and its park).
        let mut wake = alloc::vec::Vec::new();
        let mut waiters = self.q.0.lock();
        loop {
            let w = waiters.pop();
            if w.is_null() {
                break;
            }
            // SAFETY: w is a parked waiter; we read its g before readying it.
            wake.push(unsafe { (*w).g });
        }
        drop(waiters);
        for g in wake {
            ready_waiter(g);
        }
    }

    /// Decrements the counter by one.
    ///
    /// # Panics
    /// As [`WaitGroup::add`], if the counter goes negative.
    #[track_caller]
    pub fn done(&self) {
        self.add(-1);
    }

    /// Blocks until the counter is zero.
    pub fn wait(&self) {
        proc::preempt_check();
        if self.count.load(Ordering::Acquire) == 0 {
            return;
        }
        let waiters = self.q.0.lock();
        if self.count.load(Ordering::Acquire) == 0 {
            return;
        }
        park_on(waiters, false, WaitReason::SyncWaitGroupWait);
    }
}

const LOCKED: u32 = 1;
const STARVING: u32 = 2;
/// A waiter that waited longer than this switches the mutex to hand-off mode (Go's
/// starvationThresholdNs).
const STARVATION_NS: i64 = 1_000_000;

/// A mutual exclusion lock protecting a `T` (Go's sync.Mutex with std's guard API).
///
/// ```
/// static COUNT: gort::sync::Mutex<u64> = gort::sync::Mutex::new(0);
/// static WG: gort::sync::WaitGroup = gort::sync::WaitGroup::new();
/// for _ in 0..8 {
///     WG.add(1);
///     gort::go(|| {
///         for _ in 0..1000 {
///             *COUNT.lock() += 1;
///         }
///         WG.done();
///     });
/// }
/// WG.wait();
/// assert_eq!(*COUNT.lock(), 8000);
/// ```
///
/// Normal mode lets a running goroutine barge in (fast); a waiter that waited more than 1 ms
/// switches the mutex to starvation mode, where unlock hands ownership straight to the oldest
/// waiter, so no goroutine waits forever.
pub struct Mutex<T: ?Sized> {
    state: AtomicU32,
    nwait: AtomicU32,
    q: WaitQueue,
    data: UnsafeCell<T>,
}

// SAFETY: moving the Mutex moves the T it owns: T: Send (std's bound).
unsafe impl<T: ?Sized + Send> Send for Mutex<T> {}
// SAFETY: a shared Mutex hands out `&mut T` to one goroutine at a time, so T only ever moves
// between threads, never is shared: T: Send (std's bound).
unsafe impl<T: ?Sized + Send> Sync for Mutex<T> {}

/// Access to a locked Mutex's value; unlocks when dropped.
pub struct MutexGuard<'a, T: ?Sized> {
    m: &'a Mutex<T>,
    /// Opts out of the auto traits: `&Mutex<T>` is Send + Sync for any `T: Send`, which would
    /// make the guard Sync without `T: Sync`. The impls below give the right bounds.
    _not_auto: PhantomData<*mut T>,
}

// SAFETY: sending the guard sends `&mut T` access (T: Send) and the unlock, which gort's Mutex
// allows from any goroutine (as Go's sync.Mutex does).
unsafe impl<T: ?Sized + Send> Send for MutexGuard<'_, T> {}
// SAFETY: a shared guard only gives `&T`: T: Sync (std's bound).
unsafe impl<T: ?Sized + Sync> Sync for MutexGuard<'_, T> {}

impl<T> Mutex<T> {
    /// A new unlocked mutex holding v.
    pub const fn new(v: T) -> Self {
        Mutex { state: AtomicU32::new(0), nwait: AtomicU32::new(0), q: WaitQueue::new(), data: UnsafeCell::new(v) }
    }

    /// Consumes the mutex, returning the value.
    pub fn into_inner(self) -> T {
        self.data.into_inner()
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Locks, parking the goroutine while another holds the lock.
    pub fn lock(&self) -> MutexGuard<'_, T> {
        // A runtime entry: honour a pending preemption request first (a goroutine that only
        // locks and unlocks in a loop must still let others run).
        proc::preempt_check();
        // Acquire: pairs with the Release in unlock.
        if self.state.compare_exchange(0, LOCKED, Ordering::Acquire, Ordering::Relaxed).is_err() {
            self.lock_slow();
        }
        MutexGuard { m: self, _not_auto: PhantomData }
    }

    /// Locks if free, without waiting.
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        proc::preempt_check();
        self.state
            .compare_exchange(0, LOCKED, Ordering::Acquire, Ordering::Relaxed)
            .ok()
            .map(|_| MutexGuard { m: self, _not_auto: PhantomData })
    }

    /// Takes the lock if it is free, for good and without a guard: the fatal-report path
    /// (print.rs), which must neither yield nor park and never unlocks (the process exits).
    pub(crate) fn try_lock_raw(&self) -> bool {
        self.state.compare_exchange(0, LOCKED, Ordering::Acquire, Ordering::Relaxed).is_ok()
    }

    fn lock_slow(&self) {
        let mut wait_start = 0i64;
        let mut woken = false;
        loop {
            // Spin a little when another CPU may release it soon (never in starvation mode).
            if crate::sys::ncpu() > 1 && !woken {
                for _ in 0..4 {
                    let s = self.state.load(Ordering::Relaxed);
                    if s & (LOCKED | STARVING) == 0
                        && self.state.compare_exchange(s, s | LOCKED, Ordering::Acquire, Ordering::Relaxed).is_ok()
                    {
                        return;
                    }
                    arch::procyield(30);
                }
            }
            let s = self.state.load(Ordering::Relaxed);
            // A woken waiter may take the lock even in starvation mode; newcomers may not.
            if s & LOCKED == 0
                && (woken || s & STARVING == 0)
                && self.state.compare_exchange(s, s | LOCKED, Ordering::Acquire, Ordering::Relaxed).is_ok()
            {
                return;
            }
            let waiters = self.q.0.lock();
            // SeqCst pairs with unlock's SeqCst: either we see the lock free here, or unlock sees
            // nwait > 0 and wakes us (no lost wake-up).
            self.nwait.fetch_add(1, Ordering::SeqCst);
            let s = self.state.load(Ordering::SeqCst);
            if s & LOCKED == 0 && (woken || s & STARVING == 0) {
                self.nwait.fetch_sub(1, Ordering::SeqCst);
                drop(waiters);
                continue;
            }
            let front = wait_start != 0;
            if wait_start == 0 {
                wait_start = nanotime();
            }
            if park_on(waiters, front, WaitReason::SyncMutexLock) {
                // Handed off: LOCKED stayed set for us. As in Go, leave starvation mode when we
                // did not really starve or nobody else waits.
                if nanotime() - wait_start < STARVATION_NS || self.nwait.load(Ordering::SeqCst) == 0 {
                    self.state.fetch_and(!STARVING, Ordering::SeqCst);
                }
                return;
            }
            woken = true;
            if nanotime() - wait_start > STARVATION_NS {
                self.state.fetch_or(STARVING, Ordering::SeqCst);
            }
        }
    }

    fn unlock(&self) {
        proc::check_has_p(); // waking a waiter needs a P
        if self.state.load(Ordering::Relaxed) & STARVING == 0 {
            // Release: our critical section happens-before the next owner's.
            let old = self.state.fetch_and(!LOCKED, Ordering::SeqCst);
            if old & LOCKED == 0 {
                crate::print::fatal("sync: unlock of unlocked mutex");
            }
            if self.nwait.load(Ordering::SeqCst) == 0 {
                return;
            }
            let w = self.q.0.lock().pop();
            if !w.is_null() {
                self.nwait.fetch_sub(1, Ordering::SeqCst);
            }
            if !w.is_null() {
                // SAFETY: w was parked on our queue; readying it lets it retry.
                ready_waiter(unsafe { (*w).g });
            }
            return;
        }
        // Starvation mode: hand ownership to the oldest waiter.
        let mut waiters = self.q.0.lock();
        let w = waiters.pop();
        if w.is_null() {
            self.state.fetch_and(!(LOCKED | STARVING), Ordering::SeqCst);
            return;
        }
        self.nwait.fetch_sub(1, Ordering::SeqCst);
        // SAFETY: w is parked on our queue (popped under its lock).
        unsafe { (*w).success = true }; // hand-off: the lock stays LOCKED for the waiter
        if waiters.is_empty() {
            self.state.fetch_and(!STARVING, Ordering::SeqCst);
        }
        // SAFETY: read g before readying; the waiter owns the lock from here.
        let g = unsafe { (*w).g };
        drop(waiters);
        ready_waiter(g);
    }
}

/// Shows the value when the lock can be taken without waiting (as std's Mutex), `<locked>`
/// otherwise; inside `syscall::blocking`, where taking a lock is not allowed, always `<locked>`.
impl<T: ?Sized + fmt::Debug> fmt::Debug for Mutex<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("Mutex");
        match (!proc::in_syscall()).then(|| self.try_lock()).flatten() {
            Some(g) => d.field("data", &&*g),
            None => d.field("data", &format_args!("<locked>")),
        };
        d.finish_non_exhaustive()
    }
}

impl<T: ?Sized + fmt::Debug> fmt::Debug for MutexGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: we hold the lock.
        unsafe { &*self.m.data.get() }
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: we hold the lock exclusively.
        unsafe { &mut *self.m.data.get() }
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        self.m.unlock();
    }
}

/// Runs a function exactly once (Go's sync.Once).
///
/// ```
/// static INIT: gort::sync::Once = gort::sync::Once::new();
/// INIT.call_once(|| gort::println!("first"));
/// INIT.call_once(|| unreachable!());
/// assert!(INIT.is_completed());
/// ```
pub struct Once {
    done: AtomicBool,
    m: Mutex<()>,
}

impl fmt::Debug for Once {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Once").field("completed", &self.done.load(Ordering::Acquire)).finish_non_exhaustive()
    }
}

impl Default for Once {
    fn default() -> Self {
        Self::new()
    }
}

impl Once {
    /// A new Once.
    pub const fn new() -> Self {
        Once { done: AtomicBool::new(false), m: Mutex::new(()) }
    }

    /// Calls f if no call_once on this Once has run it yet; every caller returns after f has
    /// finished.
    pub fn call_once<F: FnOnce()>(&self, f: F) {
        proc::preempt_check();
        // Acquire: pairs with the Release store below, so f's effects are visible.
        if self.done.load(Ordering::Acquire) {
            return;
        }
        let _g = self.m.lock();
        if !self.done.load(Ordering::Relaxed) {
            f();
            self.done.store(true, Ordering::Release);
        }
    }

    /// Whether f has run.
    pub fn is_completed(&self) -> bool {
        self.done.load(Ordering::Acquire)
    }
}
