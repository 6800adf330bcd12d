//! checkdead, stop-the-world and what needs it (Go's proc.go checkdead, stopTheWorld,
//! startTheWorld, GOMAXPROCS, and debug.FreeOSMemory), and the goroutine queries (NumGoroutine).

use super::*;

/// Go's checkdead: if no M is running (all idle, none in a syscall, waiting for a timer or
/// blocked in the network poller: goroutines parked on the poller keep one M there, counted as
/// running, so a server blocked in accept is never called deadlocked),
/// no goroutine can ever run again: `fatal error: all goroutines are asleep - deadlock!`.
/// Under sched.lock.
pub(super) fn checkdead(s: &SchedLocked) {
    let mcount = SCHED.mcount.load(Ordering::Relaxed);
    let run = mcount - s.nmidle - s.nmidlelocked - s.nmsys;
    if run > 0 {
        return;
    }
    if run < 0 {
        crate::print::fatal_fmt(format_args!(
            "checkdead: inconsistent counts run={} nmidle={} nmsys={} mcount={}",
            run as i64, s.nmidle as i64, s.nmsys as i64, mcount as i64
        ));
    }
    // Timers pending means someone will wake (the timer sleeper, counted as running, or sysmon).
    if check_timers_no_p(0) != 0 {
        return;
    }
    let allgs = ALLGS.lock();
    let mut grunning = 0;
    for &gp in allgs.0.iter() {
        match readgstatus(gp) {
            GStatus::Waiting => grunning += 1,
            GStatus::Runnable | GStatus::Running | GStatus::Syscall => {
                drop(allgs);
                crate::print::fatal_fmt(format_args!(
                    "checkdead: runnable g {} (status {}, mcount={} nmidle={} nmsys={} npidle={} runqsize={})",
                    unsafe { (*gp).goid },
                    readgstatus(gp) as u64,
                    mcount as i64,
                    s.nmidle as i64,
                    s.nmsys as i64,
                    SCHED.npidle.load(Ordering::Relaxed) as i64,
                    SCHED.runqsize.load(Ordering::Relaxed) as i64
                ));
            }
            _ => {}
        }
    }
    drop(allgs);
    if grunning == 0 {
        crate::print::fatal("no goroutines (main called runtime.Goexit) - deadlock!");
    }
    // Goroutines parked on the network poller while no M polls it is not the program's
    // deadlock (Go keeps one M blocked in netpoll whenever any wait, so it never reports one)
    // but a lost poller hand-off in the runtime: said so, with the state that decides who polls
    // (seen once, net/eof on qemu-aarch64 in CI, not reproduced since).
    if crate::netpoll::inited() && crate::netpoll::any_waiters() {
        crate::print::fatal_fmt(format_args!(
            "all goroutines are asleep - deadlock!\nruntime: bug: goroutines wait on the network poller and no M polls it (sleeper token free={}, nmtransit={}, nmwanted={}, mcount={}, nmidle={}, nmsys={})",
            crate::print::bool_str(TIMER_SLEEPER_FREE.load(Ordering::Acquire)),
            s.nmtransit as i64,
            s.nmwanted as i64,
            mcount as i64,
            s.nmidle as i64,
            s.nmsys as i64
        ))
    }
    // Go's throw prints every goroutine here (its traceback level is "all" for a deadlock).
    crate::print::fatal("all goroutines are asleep - deadlock!")
}

/// Go's gcstopm: during stop-the-world, give up the P and sleep.
pub(super) fn gcstopm() {
    let mp = getm();
    // SAFETY: mp is ours.
    unsafe {
        if (*mp).spinning {
            (*mp).spinning = false;
            SCHED.nmspinning.fetch_sub(1, Ordering::AcqRel);
        }
    }
    let pp = releasep();
    let s = SCHED.lock.lock();
    // SAFETY: pp was ours.
    unsafe { (*pp).status.store(PStatus::GcStop, Ordering::Relaxed) };
    let left = SCHED.stopwait.fetch_sub(1, Ordering::AcqRel) - 1;
    if left == 0 {
        SCHED.stopnote.wakeup();
    }
    drop(s);
    stopm();
}

/// Go's worldsema: one stop-the-world at a time. A goroutine mutex, so a second caller parks
/// (a thread lock would keep its P running and the first stop-the-world would wait forever).
pub(super) static WORLDSEMA: crate::sync::Mutex<()> = crate::sync::Mutex::new(());

/// Go's stopTheWorld: every P stops (_Pgcstop) except the caller's. The caller stays pinned
/// to its M (acquirem) until start_the_world: it must not be preempted off the one P left.
pub(super) fn stop_the_world() {
    let mp = acquirem();
    let mut s = SCHED.lock.lock();
    SCHED.stopwait.store(gomaxprocs(), Ordering::Release);
    SCHED.gcwaiting.store(true, Ordering::Release);
    preemptall();
    // SAFETY: our P is ours; the others' status words are CASed, or they are idle (ours to stop
    // under sched.lock).
    unsafe {
        let pp = (*mp).p.load(Ordering::Relaxed);
        (*pp).status.store(PStatus::GcStop, Ordering::Relaxed);
        SCHED.stopwait.fetch_sub(1, Ordering::AcqRel);
        // Ps in syscalls: take them.
        for i in 0..gomaxprocs() as usize {
            let p2 = allp(i);
            if (*p2)
                .status
                .compare_exchange(PStatus::Syscall, PStatus::GcStop, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
            {
                (*p2).syscalltick.fetch_add(1, Ordering::Relaxed);
                SCHED.stopwait.fetch_sub(1, Ordering::AcqRel);
            }
        }
        // Idle Ps.
        loop {
            let p2 = pidleget(&mut s);
            if p2.is_null() {
                break;
            }
            (*p2).status.store(PStatus::GcStop, Ordering::Relaxed);
            SCHED.stopwait.fetch_sub(1, Ordering::AcqRel);
        }
    }
    let wait = SCHED.stopwait.load(Ordering::Acquire) > 0;
    drop(s);
    if wait {
        loop {
            // Wait 100µs, then try to re-preempt in case of any races.
            if SCHED.stopnote.tsleep(100_000) {
                SCHED.stopnote.clear();
                break;
            }
            preemptall();
        }
    }
    if SCHED.stopwait.load(Ordering::Acquire) != 0 {
        crate::throw("stopTheWorld: not stopped");
    }
}

/// Go's startTheWorld: procresize to `procs`, then start Ms for the Ps that have work.
pub(super) fn start_the_world(procs: i32) {
    let mut s = SCHED.lock.lock();
    let mut p1 = procresize(&mut s, procs);
    SCHED.gcwaiting.store(false, Ordering::Release);
    if SCHED.sysmonwait.swap(false, Ordering::AcqRel) {
        SCHED.sysmonnote.wakeup();
    }
    drop(s);
    while !p1.is_null() {
        // SAFETY: p1 is a runnable P from procresize, owned by nobody yet.
        unsafe {
            let pp = p1;
            p1 = (*pp).link;
            let mp = (*pp).m.swap(ptr::null_mut(), Ordering::AcqRel);
            if !mp.is_null() {
                if !(*mp).nextp.is_null() {
                    crate::throw("startTheWorld: inconsistent mp->nextp");
                }
                (*mp).nextp = pp;
                (*mp).park.wakeup();
            } else {
                newm(None, pp, -1);
            }
        }
    }
    wakep();
    releasem(getm());
}

/// Go's runtime.GOMAXPROCS: returns the previous value; n > 0 changes it (stop-the-world).
pub fn set_gomaxprocs(n: i32) -> i32 {
    let old = gomaxprocs();
    if n <= 0 || n == old {
        return old;
    }
    let n = n.min(MAX_GOMAXPROCS as i32);
    let _world = WORLDSEMA.lock();
    stop_the_world();
    start_the_world(n);
    old
}

/// Go's debug.FreeOSMemory: stops the world to take every P's cached objects back to their
/// classes (Go's GC does that), then gives every free span back to the OS at once. Returns the
/// bytes released. Serialised with set_gomaxprocs (Go's worldsema).
pub fn free_os_memory() -> usize {
    let _world = WORLDSEMA.lock();
    stop_the_world();
    for i in 0..gomaxprocs() as usize {
        // SAFETY: the world is stopped: no other M touches any P's mcache.
        unsafe { (*allp(i)).mcache.release_all() };
    }
    start_the_world(gomaxprocs());
    crate::malloc::scavenge_all()
}

/// Runs `f` with every other P stopped (runtime.Stack(all)'s stop-the-world): no goroutine runs
/// meanwhile, so parked ones stay parked. Serialised with set_gomaxprocs (Go's worldsema).
pub fn with_world_stopped<R>(f: impl FnOnce() -> R) -> R {
    let _world = WORLDSEMA.lock();
    stop_the_world();
    let r = f();
    start_the_world(gomaxprocs());
    r
}

/// Number of live goroutines (Go's NumGoroutine, counted as its gcount: every g ever made less
/// the dead ones on the free lists). No counter is shared by spawn and exit, which run on
/// different Ps: a count both updated would bounce its cache line between them twice per
/// goroutine. The counts are read one after another while gs move between the lists, so the
/// answer may be off by a batch for a moment (as Go's).
pub fn num_goroutine() -> i64 {
    let mut n = ALLGLEN.load(Ordering::Relaxed)
        - GFREE_COUNT.load(Ordering::Relaxed) as i64
        - GFREE_BARE_COUNT.load(Ordering::Relaxed) as i64;
    for i in 0..gomaxprocs().max(0) as usize {
        let pp = allp(i);
        if !pp.is_null() {
            // SAFETY: Ps are never freed.
            n -= unsafe { (*pp).gfreecnt.load(Ordering::Relaxed) + (*pp).gfreecnt_bare.load(Ordering::Relaxed) } as i64;
        }
    }
    n.max(1)
}

/// Number of goroutines parked (_Gwaiting) right now (the `testing` feature's view).
#[cfg(feature = "testing")]
pub fn num_waiting() -> usize {
    ALLGS.lock().0.iter().filter(|&&gp| gstatus_is(gp, GStatus::Waiting)).count()
}

/// The running goroutine of this thread (m.curg when on g0 or gsignal), or null.
pub(crate) fn current_g() -> *mut G {
    let gp = arch::getg();
    if gp.is_null() {
        return gp;
    }
    // SAFETY: a non-null g is this thread's; its m is this thread's M.
    unsafe {
        let mp = (*gp).m;
        if mp.is_null() {
            return ptr::null_mut();
        }
        if gp == (*mp).g0 || gp == (*mp).gsignal {
            (*mp).curg
        } else {
            gp
        }
    }
}

/// Go's text for a goroutine's status in a `goroutine N [...]:` header: its wait reason when
/// waiting.
pub(crate) fn gstatus_str(gp: *mut G) -> &'static str {
    match readgstatus(gp) {
        GStatus::Running => "running",
        GStatus::Runnable => "runnable",
        GStatus::Syscall => "syscall",
        // SAFETY: gp is a live g (never freed); waitreason is set before it parks.
        GStatus::Waiting => unsafe { (*gp).waitreason.as_str() },
        GStatus::Idle => "idle",
        GStatus::Dead => "dead",
    }
}

/// Calls `f` on every goroutine of allgs that is not dead, in creation order (Go's forEachG).
pub(crate) fn for_each_g(mut f: impl FnMut(*mut G)) {
    let allgs = ALLGS.lock();
    for &gp in allgs.0.iter() {
        if !matches!(readgstatus(gp), GStatus::Dead | GStatus::Idle) {
            f(gp);
        }
    }
}

/// The goroutine of this thread whose stack holds `sp`, and that stack's bounds: the running
/// goroutine (m.curg; also when `sp` is up to 64 KB below its stack, in its guard, as a stack
/// overflow leaves it), else g0, else gsignal. None if `sp` is on none of them.
#[cfg(gort_traceback)]
pub(crate) fn stack_holding(sp: usize) -> Option<(*mut G, (usize, usize))> {
    let gp = arch::getg();
    if gp.is_null() {
        return None;
    }
    // SAFETY: a non-null g is this thread's; its m (if any) is this thread's M, whose g0,
    // gsignal and curg are live gs.
    unsafe {
        let mp = (*gp).m;
        let cands =
            if mp.is_null() { [gp, ptr::null_mut(), ptr::null_mut()] } else { [(*mp).curg, (*mp).g0, (*mp).gsignal] };
        for (i, &c) in cands.iter().enumerate() {
            if c.is_null() {
                continue;
            }
            let (lo, hi) = ((*c).stack.lo, (*c).stack.hi);
            let slack = if i == 0 { 64 << 10 } else { 0 };
            if lo != 0 && sp < hi && sp >= lo.saturating_sub(slack) {
                return Some((c, (lo, hi)));
            }
        }
    }
    None
}

/// Calls `f` on every goroutine of allgs that is not dead, in creation order, for a dying
/// thread's dump (Go's forEachG). The list lock is only tried, for up to a second (the thread
/// dumping may be the one holding it, interrupted by a signal): false if it never came.
pub(crate) fn for_each_g_dying(mut f: impl FnMut(*mut G)) -> bool {
    for _ in 0..1000 {
        if let Some(allgs) = ALLGS.try_lock() {
            for &gp in allgs.0.iter() {
                if !matches!(readgstatus(gp), GStatus::Dead | GStatus::Idle) {
                    f(gp);
                }
            }
            return true;
        }
        os::usleep(1000);
    }
    false
}
