//! Runtime locks and one-shot notes on futexes, after Go's lock_futex.go.
//!
//! `Mutex<T>` is sched.lock and friends: spin briefly (the holder is usually running on another
//! CPU), then sleep in the kernel. It is not a spin lock. It owns what it guards: `lock()` returns
//! a guard that derefs to the `T` and unlocks when dropped. Two raw forms remain, each for a
//! reason stated where it is used: `MutexGuard::hold_across_park`, which leaves the lock held
//! when a goroutine parks, for the gopark hook that runs on g0 after the switch to release it
//! (`force_unlock`); and `lock_raw`/`adopt`/`keep_locked`/`unlock_raw` for select, which locks a
//! varying set of channels in address order (Go's sellock/selunlock). `Note` is a one-shot event an M sleeps on (stopm,
//! sysmon, stop-the-world).

use core::cell::UnsafeCell;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicU32, Ordering};

use crate::arch;
use crate::sys as os;

const MUTEX_UNLOCKED: u32 = 0;
const MUTEX_LOCKED: u32 = 1;
const MUTEX_SLEEPING: u32 = 2;
/// Rounds of active spinning before yielding (Go's active_spin).
const ACTIVE_SPIN: u32 = 4;
/// Pause instructions per active spin round (Go's active_spin_cnt).
const ACTIVE_SPIN_CNT: u32 = 30;
/// Rounds of sched_yield before sleeping (Go's passive_spin).
const PASSIVE_SPIN: u32 = 1;

/// A runtime mutex (Go's `mutex`): futex-based, with a short spin, owning the `T` it guards.
pub struct Mutex<T: ?Sized = ()> {
    key: AtomicU32,
    data: UnsafeCell<T>,
}

// SAFETY: the lock hands the T to one thread at a time (std's Mutex bounds).
unsafe impl<T: ?Sized + Send> Sync for Mutex<T> {}
// SAFETY: moving the Mutex moves the T.
unsafe impl<T: ?Sized + Send> Send for Mutex<T> {}

impl<T> Mutex<T> {
    /// An unlocked mutex holding `v`.
    pub const fn new(v: T) -> Self {
        Mutex { key: AtomicU32::new(MUTEX_UNLOCKED), data: UnsafeCell::new(v) }
    }
}

impl<T: ?Sized> Mutex<T> {
    /// Locks (as `lock_raw`) and returns the guard: access to the T until it is dropped.
    #[must_use = "the lock is released when the guard is dropped"]
    pub fn lock(&self) -> MutexGuard<'_, T> {
        self.lock_raw();
        MutexGuard { m: self }
    }

    /// `lock` with its uncontended path inlined, for the channel operations' own lock (a
    /// ping-pong round trip takes it four times: the out-of-line lock2/unlock2 cost it ~26
    /// instructions). Everywhere else `lock`, whose one copy keeps every program small.
    #[inline(always)]
    pub fn lock_inline(&self) -> MutexGuard<'_, T> {
        acquirem_count(1);
        // Acquire: as in lock2.
        let v = self.key.swap(MUTEX_LOCKED, Ordering::Acquire);
        if v != MUTEX_UNLOCKED {
            lock_slow(&self.key, v);
        }
        MutexGuard { m: self }
    }

    /// Locks if the lock is free at once (a fault handler must not wait on a lock its own
    /// thread may hold).
    pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
        self.try_lock_raw().then_some(MutexGuard { m: self })
    }

    /// A guard for a lock this thread already holds through `lock_raw` (select locks a
    /// varying set of channels in address order, Go's sellock, then works on each through a
    /// guard); dropping it unlocks, [`MutexGuard::keep_locked`] leaves the lock held.
    ///
    /// # Safety
    /// This thread holds the lock (taken with `lock_raw`), and no other guard for it is live.
    pub unsafe fn adopt(&self) -> MutexGuard<'_, T> {
        MutexGuard { m: self }
    }

    /// Releases a lock left held by [`MutexGuard::hold_across_park`] (from the gopark hook).
    ///
    /// # Safety
    /// The lock is held by `gp`, which parked holding it (a guard turned into a hold across
    /// the park, or select's `lock_raw`), and nothing uses the T through it any more.
    pub unsafe fn force_unlock(&self, gp: *mut crate::gmp::G) {
        // The lock was counted on the goroutine that took it, not on this g0. Uncounted before
        // the release: gp is parked and cannot be readied while the lock is held (its waker
        // takes the lock to find it; a hook that arms another waker first, as a timeout's
        // timer, uncounts before arming it: chan/timeout.rs `arm_and_unlock`), so nothing else
        // touches its count until the release, whose Release ordering publishes it. After the release, gp may already run elsewhere and
        // count a lock of its own: decrementing then raced with that (a lost update left it at
        // 0 under acquirem, seen on arm64 as "getp: per-M state read by a preemptible
        // goroutine" in pingpong/two-p).
        // SAFETY: gp is parked (off its M), holds this lock and counted it, as above.
        unsafe { uncount_parked(gp, 1) };
        self.release();
    }

    /// Releases a lock left held across a park whose count the caller has already taken off
    /// the parked goroutine with [`uncount_parked`] (select, which holds several: all of them
    /// are uncounted before the first release, after which the goroutine may run again).
    ///
    /// # Safety
    /// As force_unlock, with the count already taken off.
    pub unsafe fn force_unlock_uncounted(&self) {
        self.release();
    }

    /// Takes the lock only if it is free at once. Preemption is off while it is held, as with
    /// lock.
    pub fn try_lock_raw(&self) -> bool {
        // Acquire: as in lock.
        if self.key.compare_exchange(MUTEX_UNLOCKED, MUTEX_LOCKED, Ordering::Acquire, Ordering::Relaxed).is_ok() {
            acquirem_count(1);
            true
        } else {
            false
        }
    }

    /// Acquires the lock without a guard (Go's lock2), for a critical section that spans
    /// functions; each use says why. Preemption is off while any runtime lock is held.
    pub fn lock_raw(&self) {
        lock2(&self.key);
    }

    /// Releases a lock taken with `lock_raw` (Go's unlock2), waking one sleeper if any.
    pub fn unlock_raw(&self) {
        unlock2(&self.key);
    }

    /// The unlock itself (Go's unlock2 without the m.locks count).
    fn release(&self) {
        release(&self.key);
    }
}

// lock2 and unlock2 are out of line, and not methods of the generic Mutex<T>: inlined at each of
// the runtime's ~130 lock and unlock sites, the count, the exchange and the slow-path calls
// were ~10 KB of every program (issue 22). A call and a return are ~2% of the cheapest
// lock/unlock pair's cost (the two locked exchanges).

/// Go's lock2 on a lock word: counts the lock on the running g, then takes it (at once, or in
/// lock_slow).
#[inline(never)]
fn lock2(key: &AtomicU32) {
    acquirem_count(1);
    // Acquire on every successful exchange/CAS: pairs with the Release in unlock, so the
    // critical section of the previous holder happens-before ours.
    let v = key.swap(MUTEX_LOCKED, Ordering::Acquire);
    if v == MUTEX_UNLOCKED {
        return;
    }
    lock_slow(key, v);
}

/// Go's unlock2 on a lock word: releases it, then uncounts it.
#[inline(never)]
fn unlock2(key: &AtomicU32) {
    release(key);
    acquirem_count(-1);
}

/// The unlock itself (Go's unlock2 without the m.locks count).
#[inline]
fn release(key: &AtomicU32) {
    // Release: publishes the critical section to the next acquirer.
    let v = key.swap(MUTEX_UNLOCKED, Ordering::Release);
    if v != MUTEX_LOCKED {
        release_slow(key, v);
    }
}

/// release's uncommon outcomes, out of line (one copy instead of a futex call and a throw at
/// each of the runtime's ~130 unlock sites, ~6 KB of a hello; issue 22): wake a sleeper, or
/// throw on an unlock of an unlocked lock.
#[cold]
#[inline(never)]
fn release_slow(key: &AtomicU32, v: u32) {
    if v == MUTEX_UNLOCKED {
        crate::throw("unlock of unlocked lock");
    }
    os::futexwakeup(key, 1);
}

/// lock_raw's contended path: spin, yield, then sleep on the futex. One copy for every `T` (as
/// a method of `Mutex<T>` it was monomorphized per T: eight copies of ~660 bytes in a hello).
#[cold]
#[inline(never)]
fn lock_slow(key: &AtomicU32, v: u32) {
    // wait is MUTEX_LOCKED or MUTEX_SLEEPING: if anyone might be sleeping we must keep
    // the key at SLEEPING when we take the lock, so our unlock wakes them.
    let mut wait = v;
    let spin = if os::ncpu() > 1 { ACTIVE_SPIN } else { 0 };
    loop {
        for _ in 0..spin {
            while key.load(Ordering::Relaxed) == MUTEX_UNLOCKED {
                if key.compare_exchange(MUTEX_UNLOCKED, wait, Ordering::Acquire, Ordering::Relaxed).is_ok() {
                    return;
                }
            }
            arch::procyield(ACTIVE_SPIN_CNT);
        }
        for _ in 0..PASSIVE_SPIN {
            while key.load(Ordering::Relaxed) == MUTEX_UNLOCKED {
                if key.compare_exchange(MUTEX_UNLOCKED, wait, Ordering::Acquire, Ordering::Relaxed).is_ok() {
                    return;
                }
            }
            os::osyield();
        }
        let v = key.swap(MUTEX_SLEEPING, Ordering::Acquire);
        if v == MUTEX_UNLOCKED {
            return;
        }
        wait = MUTEX_SLEEPING;
        os::futexsleep(key, MUTEX_SLEEPING, -1);
    }
}

impl<T> Mutex<T> {
    /// The T, without locking: `&mut self` proves no one else can hold the lock.
    pub fn get_mut(&mut self) -> &mut T {
        self.data.get_mut()
    }
}

impl<T: Default> Default for Mutex<T> {
    fn default() -> Self {
        Self::new(T::default())
    }
}

/// Access to a locked runtime Mutex's T; unlocks when dropped.
#[must_use = "the lock is released when the guard is dropped"]
pub struct MutexGuard<'a, T: ?Sized> {
    m: &'a Mutex<T>,
}

impl<'a, T: ?Sized> MutexGuard<'a, T> {
    /// Keeps the lock held past this guard, for a goroutine about to park: the gopark hook,
    /// on g0 once the goroutine is off its M, releases it with `Mutex::force_unlock` (Go's
    /// parkunlock_c). Returns the Mutex, whose address the hook gets.
    pub fn hold_across_park(self) -> &'a Mutex<T> {
        self.keep_locked()
    }

    /// Unlocks with the release inlined (the partner of [`Mutex::lock_inline`]).
    #[inline(always)]
    pub fn unlock_inline(self) {
        let m = self.keep_locked();
        release(&m.key);
        acquirem_count(-1);
    }

    /// Ends the guard but leaves the lock held, for whoever unlocks it with `unlock_raw` or
    /// `force_unlock` (select's unlock of its whole set, Go's selunlock).
    pub fn keep_locked(self) -> &'a Mutex<T> {
        let m = self.m;
        core::mem::forget(self);
        m
    }
}

impl<T: ?Sized> Deref for MutexGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the lock.
        unsafe { &*self.m.data.get() }
    }
}

impl<T: ?Sized> DerefMut for MutexGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: the guard holds the lock, exclusively.
        unsafe { &mut *self.m.data.get() }
    }
}

impl<T: ?Sized> Drop for MutexGuard<'_, T> {
    fn drop(&mut self) {
        self.m.unlock_raw();
    }
}

/// Takes `n` runtime locks held across its park off parked `gp`'s count (from the gopark hook,
/// on g0). Must come before the first of those locks is released (see force_unlock).
///
/// # Safety
/// gp is parked, holds the `n` locks still, and counted them.
pub unsafe fn uncount_parked(gp: *mut crate::gmp::G, n: i32) {
    // A waker that readied gp already (one that does not take these locks to find it, armed
    // too early) would race with gp's own counting on another M: loud in debug builds, where
    // it shows every time the waker wins, not only when an update is lost.
    #[cfg(debug_assertions)]
    if !crate::proc::gstatus_is(gp, crate::gmp::GStatus::Waiting) {
        crate::throw("uncount_parked: the goroutine was readied before its locks were uncounted");
    }
    // SAFETY: the caller's promise: gp is off its M and cannot be readied while it holds the
    // locks, so only this thread touches its count.
    unsafe { (*gp).locks -= n };
}

/// Adjusts the running g's held-lock count (no preemption while non-zero).
fn acquirem_count(delta: i32) {
    let gp = arch::getg();
    if gp.is_null() {
        return;
    }
    // SAFETY: a non-null g from TLS is the running g; `locks` is only touched by code running
    // on it (or on g0 for it while it is off its M, force_unlock). The read-modify-write is
    // safe against preemption: interrupted before the store the count is still the old one
    // (>= 0), and the g resumes with the same registers and the same G wherever it runs.
    unsafe { (*gp).locks += delta };
}

/// A one-shot sleep/wake event (Go's note): `notesleep` blocks until `notewakeup`.
pub struct Note {
    key: AtomicU32,
}

impl Default for Note {
    fn default() -> Self {
        Self::new()
    }
}

impl Note {
    /// A cleared note.
    pub const fn new() -> Self {
        Note { key: AtomicU32::new(0) }
    }

    /// Resets the note so it can be slept on again (noteclear).
    pub fn clear(&self) {
        self.key.store(0, Ordering::Relaxed);
    }

    /// Wakes the (single) sleeper (notewakeup). Waking twice is a runtime bug.
    pub fn wakeup(&self) {
        // Release: what the waker did before is visible to the sleeper after it sees 1.
        let old = self.key.swap(1, Ordering::Release);
        if old != 0 {
            crate::throw("notewakeup - double wakeup");
        }
        os::futexwakeup(&self.key, 1);
    }

    /// Sleeps until woken (notesleep). Only on g0 or a thread without a P.
    pub fn sleep(&self) {
        // Acquire pairs with the Release in wakeup.
        while self.key.load(Ordering::Acquire) == 0 {
            os::futexsleep(&self.key, 0, -1);
        }
    }

    /// Sleeps until woken or `ns` nanoseconds pass (notetsleep); true if woken.
    /// A negative `ns` sleeps without limit.
    pub fn tsleep(&self, ns: i64) -> bool {
        if ns < 0 {
            self.sleep();
            return true;
        }
        let deadline = crate::time::nanotime() + ns;
        loop {
            if self.key.load(Ordering::Acquire) != 0 {
                return true;
            }
            let left = deadline - crate::time::nanotime();
            if left <= 0 {
                return self.key.load(Ordering::Acquire) != 0;
            }
            os::futexsleep(&self.key, 0, left);
        }
    }
}
