//! Locking a goroutine to its OS thread (Go's proc.go LockOSThread, UnlockOSThread,
//! lockOSThread/unlockOSThread, dolockOSThread/dounlockOSThread, stoplockedm, startlockedm, and
//! the thread exit of mexit).
//!
//! A locked g (`g.lockedm`) runs only on its M and its M (`m.lockedg`) runs only that g:
//! - `schedule` on a locked M does not look for work: `stoplockedm` gives its P away and sleeps
//!   until some M hands it a P together with its g, then runs it (Go's
//!   `if mp.lockedg != 0 { stoplockedm(); execute(mp.lockedg) }`);
//! - an M whose `find_runnable` returns a g locked to another M hands its own P to that M and
//!   stops (`startlockedm`). Every path that makes a g runnable (ready, gosched, netpoll
//!   injection, exitsyscall0, timers, preemption) puts it on a run queue, and every run queue is
//!   emptied through `schedule`, so no path can run a locked g elsewhere;
//! - the exception is exitsyscall0 when no P is free: the g goes to the global queue and its M,
//!   whose g it is, waits in `stoplockedm` (Go's exitsyscall0);
//! - a goroutine that exits still locked takes its thread with it (`mexit`): the thread may be
//!   in a state other goroutines must not see. m0 (the process's initial thread) is wedged
//!   instead of exiting (Go's behaviour: on linux a process whose main thread exits becomes a
//!   zombie to its parent's wait).
//!
//! The locked M waiting for its g is counted in `sched.nmidlelocked`, so checkdead treats it as
//! idle (a program whose goroutines are all blocked is still diagnosed) and the counts never
//! show a running M that is not one.
//!
//! Goroutine 1 starts on m0 (the initial thread) and runtime_main holds a runtime lock on it
//! (Go's lockOSThread during init) until the goroutine's first switch (`dropg`) or its first
//! `lock_os_thread`, which takes the lock over: so a `lock_os_thread` in `main` before anything
//! that parks, yields or blocks locks `main` to the initial thread. A preemption is not such a
//! switch (`gopreempt_m` drops the g without this step): main keeps the lock through it.

use super::*;

/// Whether goroutine 1 still holds runtime_main's lock (Go's lockOSThread around init). Only
/// m0's own thread reads or writes it while true (goroutine 1 on m0).
static MAIN_INIT_LOCK: AtomicBool = AtomicBool::new(false);

/// Go's dolockOSThread: ties the running g and its M together.
fn dolock_os_thread() {
    let gp = arch::getg();
    // SAFETY: gp is the running user g; its m is this thread's M (nothing between here and the
    // caller's count update can switch goroutines).
    unsafe {
        let mp = (*gp).m;
        (*mp).lockedg = gp;
        (*gp).lockedm = mp;
    }
}

/// Go's dounlockOSThread: unties them once neither count holds the lock.
fn dounlock_os_thread() {
    let gp = arch::getg();
    // SAFETY: as dolock_os_thread.
    unsafe {
        let mp = (*gp).m;
        if (*mp).locked_int != 0 || (*mp).locked_ext != 0 {
            return;
        }
        (*mp).lockedg = ptr::null_mut();
        (*gp).lockedm = ptr::null_mut();
    }
}

/// Go's LockOSThread: the running goroutine runs only on this thread, and nothing else runs on
/// it, until `unlock_os_thread` was called as many times.
pub fn lock_os_thread() {
    // Pinned (acquirem) while the M's counts and links change: a preemption in between could
    // move the goroutine to another M halfway.
    let mp = acquirem();
    let gp = arch::getg();
    // SAFETY: gp is the running user g (the public entry is only reachable from one); its m is
    // this thread's M and locked_ext is this M's own.
    unsafe {
        if gp == (*mp).g0 || gp == (*mp).gsignal {
            crate::throw("lock_os_thread: not on a user goroutine");
        }
        (*mp).locked_ext = match (*mp).locked_ext.checked_add(1) {
            Some(n) => n,
            None => panic!("LockOSThread nesting overflow"),
        };
        dolock_os_thread();
        // The user's lock takes over from runtime_main's (goroutine 1 is on m0 until here).
        if MAIN_INIT_LOCK.load(Ordering::Relaxed) && mp == m0() {
            MAIN_INIT_LOCK.store(false, Ordering::Relaxed);
            unlock_os_thread_internal();
        }
    }
    releasem(mp);
}

/// Go's UnlockOSThread: undoes one `lock_os_thread`; at zero the goroutine is free to move. No
/// effect without a matching lock.
pub fn unlock_os_thread() {
    let mp = acquirem();
    // SAFETY: as lock_os_thread.
    unsafe {
        if (*mp).locked_ext != 0 {
            (*mp).locked_ext -= 1;
            dounlock_os_thread();
        }
    }
    releasem(mp);
}

/// Go's lockOSThread: the runtime's own lock (counted apart from the user's).
pub(super) fn lock_os_thread_internal() {
    let mp = acquirem();
    // SAFETY: mp is this thread's M.
    unsafe { (*mp).locked_int += 1 };
    dolock_os_thread();
    releasem(mp);
}

/// Go's unlockOSThread.
pub(super) fn unlock_os_thread_internal() {
    let mp = acquirem();
    // SAFETY: mp is this thread's M.
    unsafe {
        if (*mp).locked_int == 0 {
            crate::throw("runtime: internal error: misuse of lockOSThread/unlockOSThread");
        }
        (*mp).locked_int -= 1;
    }
    dounlock_os_thread();
    releasem(mp);
}

/// runtime_main, before the user's main: goroutine 1 must be on m0 (Go: "runtime.main not on
/// m0") and stays there until its first switch or its first `lock_os_thread`.
pub(super) fn main_init_lock() {
    let mp = acquirem();
    if mp != m0() {
        crate::throw("runtime.main not on m0");
    }
    lock_os_thread_internal();
    MAIN_INIT_LOCK.store(true, Ordering::Relaxed);
    releasem(mp);
}

/// dropg's part: the goroutine leaving this M (status already out of _Grunning, not yet
/// visible to any other M) gives up runtime_main's lock if it still holds it, so it is not
/// handed back to m0 after that. Only ever true for goroutine 1 on m0.
#[cold]
pub(super) fn main_init_unlock_at_switch(mp: *mut M, gp: *mut G) {
    if mp != m0() || !MAIN_INIT_LOCK.load(Ordering::Relaxed) {
        return;
    }
    MAIN_INIT_LOCK.store(false, Ordering::Relaxed);
    // SAFETY: on g0 of m0; gp is goroutine 1, just switched away from (its fields are ours
    // until it is published). The same steps as unlock_os_thread_internal for the g that was
    // running (getg is g0 here).
    unsafe {
        if (*mp).locked_int == 0 || (*mp).lockedg != gp {
            crate::throw("runtime: internal error: main's init lock");
        }
        (*mp).locked_int -= 1;
        if (*mp).locked_ext == 0 && (*mp).locked_int == 0 {
            (*mp).lockedg = ptr::null_mut();
            (*gp).lockedm = ptr::null_mut();
        }
    }
}

/// Go's stoplockedm: this M's g is locked to it and not running: give the P away and sleep
/// until an M hands over a P with the g runnable (startlockedm). Returns with a P.
pub(super) fn stoplockedm() {
    let mp = getm();
    // SAFETY: mp is this thread's M; lockedg is its own field; nextp is written by the M that
    // wakes us before the note's wakeup, read after our sleep returns.
    unsafe {
        let gp = (*mp).lockedg;
        if gp.is_null() || (*gp).lockedm != mp {
            crate::throw("stoplockedm: inconsistent locking");
        }
        if !(*mp).p.load(Ordering::Relaxed).is_null() {
            // Schedule another M to run this P.
            handoffp(releasep());
        }
        incidlelocked(1);
        // Wait until another thread schedules lockedg again.
        (*mp).blocked = true;
        (*mp).park.sleep();
        (*mp).park.clear();
        (*mp).blocked = false;
        let st = readgstatus(gp);
        if st != GStatus::Runnable {
            crate::print::fatal_fmt(format_args!("stoplockedm: lockedg (atomicstatus={}) is not Grunnable", st as u64));
        }
        acquirep((*mp).nextp);
        (*mp).nextp = ptr::null_mut();
    }
}

/// Go's startlockedm: `gp` (runnable, taken off a queue by this M) is locked to another M,
/// which waits in stoplockedm: give it our P and stop. Returns (from stopm) with a P.
pub(super) fn startlockedm(gp: *mut G) {
    let me = getm();
    // SAFETY: gp is ours (off every queue) and locked to mp, which sleeps in stoplockedm (or is
    // about to): its nextp is null until we set it, and only the holder of its g sets it.
    unsafe {
        let mp = (*gp).lockedm;
        if mp == me {
            crate::throw("startlockedm: locked to me");
        }
        if !(*mp).nextp.is_null() {
            crate::throw("startlockedm: m has p");
        }
        // Directly hand off the current P to the locked M.
        incidlelocked(-1);
        let pp = releasep();
        (*mp).nextp = pp;
        (*mp).park.wakeup();
    }
    stopm();
}

/// Go's mexit (from goexit0, on g0, with a P): the goroutine locked to this M exited locked, so
/// the thread goes too. The P goes on to other Ms first, and checkdead runs again without this M.
/// m0 is wedged instead (parked for good, no longer counted).
pub(super) fn mexit() -> ! {
    let mp = getm();
    if mp != m0() {
        // Off allm (readers walk it under sched.lock; the M itself is never freed, so a
        // reader standing on it still finds the rest through its unchanged alllink).
        let _s = SCHED.lock.lock();
        // SAFETY: allm's links change only under sched.lock, held; every M on it is valid.
        unsafe {
            let head = ALLM.load(Ordering::Acquire);
            if head == mp {
                ALLM.store((*mp).alllink, Ordering::Release);
            } else {
                let mut cur = head;
                while !cur.is_null() && (*cur).alllink != mp {
                    cur = (*cur).alllink;
                }
                if cur.is_null() {
                    crate::throw("m not found in allm");
                }
                (*cur).alllink = (*mp).alllink;
            }
        }
        // Off allm, so trace::stop no longer finds it: its trace buffer goes now.
        crate::trace::m_exit(mp);
    }
    handoffp(releasep());
    {
        // Invoke the deadlock detector after handoffp, which may have started an M for our P's
        // work (Go's order). mcount is Go's mcount() = mnext - nmfreed.
        let s = SCHED.lock.lock();
        SCHED.mcount.fetch_sub(1, Ordering::Relaxed);
        checkdead(&s);
    }
    if mp == m0() {
        // This is the main thread. Just wedge it (Go: exiting it would leave a zombie on linux).
        // SAFETY: mp is this thread's M; its park note is never woken: no M can hand a P to an
        // M that is on no idle list and has no locked g.
        unsafe { (*mp).park.sleep() };
        crate::throw("locked m0 woke up");
    }
    // SAFETY: mp is this thread's M, exiting.
    unsafe { crate::preempt::thread_exit(mp) };
    os::exit_thread()
}

/// The OS thread id of m0 (the initial thread), for gort::testing.
#[cfg(feature = "testing")]
pub fn m0_procid() -> u64 {
    // SAFETY: m0's procid is written once by its minit, before any goroutine runs.
    unsafe { (*m0()).procid }
}

/// Go's mcount(): Ms alive, for gort::testing.
#[cfg(feature = "testing")]
pub fn mcount() -> i32 {
    SCHED.mcount.load(Ordering::Relaxed)
}
