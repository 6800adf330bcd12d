//! System calls (Go's proc.go entersyscall, exitsyscall, exitsyscallfast, exitsyscall0): a
//! goroutine in the kernel gives its P up for others.

use super::*;

/// Go's entersyscall: the goroutine is about to block in the kernel; its P may be taken
/// (by sysmon's retake, or by stop-the-world) while it is there.
pub fn entersyscall() {
    let gp = arch::getg();
    // SAFETY: gp is the running user g; mp/pp are ours.
    unsafe {
        (*gp).locks += 1; // no preemption while we rearrange: gp.m is ours until the -= 1
        if crate::trace::on() {
            crate::trace::go_syscall(gp);
        }
        let mp = (*gp).m;
        casgstatus(gp, GStatus::Running, GStatus::Syscall);
        let pp = (*mp).p.load(Ordering::Relaxed);
        (*mp).syscalltick = (*pp).syscalltick.load(Ordering::Relaxed);
        (*pp).m.store(ptr::null_mut(), Ordering::Relaxed);
        (*mp).oldp = pp;
        (*mp).p.store(ptr::null_mut(), Ordering::Relaxed);
        // Release: everything the P's owner did is visible to whoever CASes it out of _Psyscall.
        (*pp).status.store(PStatus::Syscall, Ordering::Release);
        if SCHED.sysmonwait.load(Ordering::Acquire) {
            let _s = SCHED.lock.lock();
            if SCHED.sysmonwait.swap(false, Ordering::AcqRel) {
                SCHED.sysmonnote.wakeup();
            }
        }
        if SCHED.gcwaiting.load(Ordering::Acquire) {
            // Go's entersyscall_gcwait: a stop-the-world is waiting for this P.
            let _s = SCHED.lock.lock();
            if (*pp)
                .status
                .compare_exchange(PStatus::Syscall, PStatus::GcStop, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
            {
                (*pp).syscalltick.fetch_add(1, Ordering::Relaxed);
                if SCHED.stopwait.fetch_sub(1, Ordering::AcqRel) - 1 == 0 {
                    SCHED.stopnote.wakeup();
                }
            }
        }
        (*gp).locks -= 1;
    }
}

/// Go's entersyscallblock: entersyscall for a call known to block for a while (the execution
/// tracer's writer spilling its buffers to the file): the P is handed off at once (handoffp, on
/// g0) instead of staying with the call until sysmon retakes it, so the P's other goroutines
/// run on another M meanwhile. exitsyscall then finds no old P and takes an idle one, or queues
/// the goroutine. Built with the tracer only (its one user).
#[cfg(gort_trace)]
pub fn entersyscallblock() {
    let gp = arch::getg();
    // SAFETY: gp is the running user g; mp/pp are ours until releasep hands pp on.
    unsafe {
        (*gp).locks += 1;
        if crate::trace::on() {
            crate::trace::go_syscall(gp);
        }
        let mp = (*gp).m;
        casgstatus(gp, GStatus::Running, GStatus::Syscall);
        let pp = (*mp).p.load(Ordering::Relaxed);
        (*mp).syscalltick = (*pp).syscalltick.load(Ordering::Relaxed);
        (*pp).syscalltick.fetch_add(1, Ordering::Relaxed);
        (*mp).oldp = ptr::null_mut();
        arch::systemstack(entersyscallblock_handoff, 0);
        (*gp).locks -= 1;
    }
}

/// entersyscallblock's half on g0 (handoffp may start an M: not on a goroutine's small stack).
#[cfg(gort_trace)]
unsafe extern "C" fn entersyscallblock_handoff(_: usize) {
    handoffp(releasep());
}

/// Runs `f`, a call that blocks for a while, with the P handed off for its duration
/// (entersyscallblock; `gort::syscall::blocking` keeps the P for sysmon to retake). Nested in
/// another such call, just runs `f`.
#[cfg(gort_trace)]
pub fn blocking_handoff<R>(f: impl FnOnce() -> R) -> R {
    if in_syscall() {
        return f();
    }
    preempt_check();
    entersyscallblock();
    let r = f();
    exitsyscall();
    r
}

/// Go's exitsyscall: back from the kernel. Fast path: our old P (or any idle P); slow path:
/// exitsyscall0 queues us and parks the M.
pub fn exitsyscall() {
    let gp = arch::getg();
    // SAFETY: gp is the running g in _Gsyscall.
    unsafe {
        (*gp).locks += 1;
        let mp = (*gp).m;
        let oldp = (*mp).oldp;
        (*mp).oldp = ptr::null_mut();
        if crate::trace::on() {
            crate::trace::go_sysexit(gp);
        }
        if exitsyscallfast(oldp) {
            let pp = (*mp).p.load(Ordering::Relaxed);
            if crate::trace::on() {
                crate::trace::go_start(gp, pp);
            }
            (*pp).syscalltick.fetch_add(1, Ordering::Relaxed);
            casgstatus(gp, GStatus::Syscall, GStatus::Running);
            (*gp).locks -= 1;
            return;
        }
        (*gp).locks -= 1;
        arch::mcall(exitsyscall0);
        // Resumed by execute on some M with a P.
    }
}

/// Go's exitsyscallfast: reacquire oldp if still in _Psyscall, else any idle P.
pub(super) fn exitsyscallfast(oldp: *mut P) -> bool {
    let mp = getm();
    // SAFETY: oldp is a valid P or null; the CAS decides ownership against sysmon/STW.
    unsafe {
        if SCHED.gcwaiting.load(Ordering::Acquire) {
            return false;
        }
        if !oldp.is_null()
            && (*oldp)
                .status
                .compare_exchange(PStatus::Syscall, PStatus::Idle, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
        {
            acquirep(oldp);
            return true;
        }
        if (*mp).p.load(Ordering::Relaxed).is_null() && SCHED.npidle.load(Ordering::Relaxed) > 0 {
            let mut s = SCHED.lock.lock();
            let pp = pidleget(&mut s);
            if !pp.is_null() && SCHED.sysmonwait.swap(false, Ordering::AcqRel) {
                SCHED.sysmonnote.wakeup();
            }
            drop(s);
            if !pp.is_null() {
                acquirep(pp);
                return true;
            }
        }
    }
    false
}

/// Go's exitsyscall0 (on g0): no P for gp: run it on an idle P if one appeared, else queue it
/// globally and park this M.
pub(super) unsafe extern "C" fn exitsyscall0(gp: *mut G) -> *const Gobuf {
    casgstatus(gp, GStatus::Syscall, GStatus::Runnable);
    dropg();
    let mut s = SCHED.lock.lock();
    let pp = if SCHED.gcwaiting.load(Ordering::Acquire) { ptr::null_mut() } else { pidleget(&mut s) };
    let mut locked = false;
    if pp.is_null() {
        globrunqput(&mut s, gp);
        // Read before sched.lock is released: from then on another M may run gp (Go's note).
        // SAFETY: gp is ours until the lock is released.
        locked = unsafe { !(*gp).lockedm.is_null() };
    } else if SCHED.sysmonwait.swap(false, Ordering::AcqRel) {
        SCHED.sysmonnote.wakeup();
    }
    drop(s);
    if !pp.is_null() {
        acquirep(pp);
        execute(gp, false);
    }
    if locked {
        // gp is locked to this M (it ran here before entersyscall): wait until some M takes
        // it off the global queue and hands us a P for it.
        stoplockedm();
        execute(gp, false);
    }
    stopm();
    schedule()
}
