//! sysmon (Go's proc.go sysmon, retake, preemptone) and GODEBUG=schedtrace output (schedtrace).

use super::*;

// sysmon, retake, schedtrace
// ---------------------------------------------------------------------------------------------

/// How often sysmon stamps the waitsince of waiting goroutines.
const STAMP_PERIOD_NS: i64 = 20_000_000_000;

/// Stamps every waiting goroutine whose waitsince is unset with `now` (sysmon, `age_ns` 0); with
/// `age_ns` > 0 (the testing hook) every waiting one with `now - age_ns`, to show `N minutes`
/// without waiting that long.
pub(crate) fn stamp_waiting(now: i64, age_ns: i64) {
    let allgs = ALLGS.lock();
    for &gp in allgs.0.iter() {
        if gstatus_is(gp, GStatus::Waiting) {
            // SAFETY: gp is a g of allgs (never freed); waitsince is atomic. A goroutine that
            // woke meanwhile gets a stamp execute clears, or one a little late: approximate,
            // as Go's.
            let since = unsafe { &(*gp).waitsince };
            if age_ns > 0 {
                since.store(now - age_ns, Ordering::Relaxed);
            } else {
                let _ = since.compare_exchange(0, now, Ordering::Relaxed, Ordering::Relaxed);
            }
        }
    }
}

/// Go's sysmon: runs on its own M without a P. Retakes Ps blocked in syscalls, flags long-running
/// goroutines for preemption, starts an M for overdue timers, prints schedtrace.
/// Whether sysmon has been started (`ensure_sysmon`).
static SYSMON_STARTED: AtomicBool = AtomicBool::new(false);

/// Starts sysmon if it is not running yet. Go starts it in runtime.main, before the user's
/// main; gort waits until the program can need it, so that a program that never does (hello,
/// a tool that computes and exits) has no second thread: when a second goroutine is made
/// (newproc: preemption, syscall hand-off and overdue timers only matter with two), when a
/// goroutine first parks (park_m: deadlock reports, dump timestamps, giving freed heap memory
/// back, the network poll), when an `after_func` timer is made (its goroutine must start while
/// main sits in a system call), or at once with GODEBUG=schedtrace. Safe on g0 and on user
/// goroutines, with or without runtime locks held that newm does not take (newm: sched.lock,
/// the heap).
#[inline]
pub(crate) fn ensure_sysmon() {
    // Relaxed: a stale false only leads to the swap below, which decides.
    if !SYSMON_STARTED.load(Ordering::Relaxed) {
        start_sysmon();
    }
}

#[cold]
#[inline(never)]
fn start_sysmon() {
    if !SYSMON_STARTED.swap(true, Ordering::AcqRel) {
        newm(Some(sysmon), ptr::null_mut(), -1);
    }
}

pub(super) fn sysmon() {
    {
        let mut s = SCHED.lock.lock();
        s.nmsys += 1;
        checkdead(&s);
    }
    let dbg = args::debug();
    let mut lasttrace: i64 = 0;
    let mut lastscavenge: i64 = 0;
    let mut lastheapscavenge: i64 = 0;
    let mut laststamp: i64 = nanotime();
    let mut idle = 0u32;
    let mut delay: u32 = 0;
    loop {
        if idle == 0 {
            delay = 20; // start with 20µs sleep...
        } else if idle > 50 {
            delay *= 2; // ...then double after 1ms of idling
        }
        // Up to 10ms; no longer than a goroutine may run when GODEBUG=forcepreemptns shortens that.
        let max_delay = (force_preempt_ns() / 1000).clamp(20, 10_000) as u32;
        if delay > max_delay {
            delay = max_delay;
        }
        os::usleep(delay);
        let now = nanotime();
        if dbg.schedtrace <= 0
            && (SCHED.gcwaiting.load(Ordering::Acquire) || SCHED.npidle.load(Ordering::Relaxed) == gomaxprocs())
        {
            let s = SCHED.lock.lock();
            if SCHED.gcwaiting.load(Ordering::Acquire) || SCHED.npidle.load(Ordering::Relaxed) == gomaxprocs() {
                SCHED.sysmonwait.store(true, Ordering::Release);
                drop(s);
                let next = check_timers_no_p(0);
                let mut sleep =
                    if next != 0 { (next - now).clamp(1_000_000, STAMP_PERIOD_NS) } else { STAMP_PERIOD_NS };
                if crate::malloc::scavenge_pending() {
                    // Free heap memory still resident: wake up in time to give it back.
                    sleep = sleep.min(crate::malloc::SCAVENGE_AGE_NS + 100_000_000);
                }
                SCHED.sysmonnote.tsleep(sleep);
                let _s = SCHED.lock.lock();
                SCHED.sysmonwait.store(false, Ordering::Release);
                SCHED.sysmonnote.clear();
                idle = 0;
                delay = 20;
            }
        }
        // Go's GC stamps waiting goroutines' waitsince when it scans them; gort has no GC: sysmon
        // does it, every 20 s (dumps show whole minutes).
        if now - laststamp >= STAMP_PERIOD_NS {
            laststamp = now;
            stamp_waiting(now, 0);
        }
        // Go: poll the network if nobody has for 10 ms (every M busy), and inject what is ready.
        if crate::netpoll::inited()
            && crate::netpoll::any_waiters()
            && TIMER_SLEEPER_FREE.load(Ordering::Acquire)
            && LAST_POLL.load(Ordering::Relaxed) + 10_000_000 < now
        {
            LAST_POLL.store(now, Ordering::Relaxed);
            let (list, delta) = crate::netpoll::netpoll(0);
            if !list.empty() {
                // Counted as running while it injects (Go's incidlelocked(-1)): a false deadlock
                // report must not see these gs runnable with no M.
                incidlelocked(-1);
                inject_glist(list);
                incidlelocked(1);
                // Off the waiter count only now (netpoll's doc).
                crate::netpoll::adjust_waiters(delta);
            }
        }
        // Overdue timers with nobody to run them: start an M.
        let next = check_timers_no_p(0);
        if next != 0
            && next < now
            && TIMER_SLEEPER_FREE.load(Ordering::Acquire)
            && SCHED.npidle.load(Ordering::Relaxed) > 0
        {
            startm(ptr::null_mut(), false);
        }
        if retake(now) != 0 {
            idle = 0;
        } else {
            idle += 1;
        }
        // Stack scavenging: at most every 10 ms, for at most 100 us (1 % of a CPU, Go's
        // scavenger's budget): each dead stack looked at costs a page fault when its deep page
        // was never touched, and sysmon's thread competes with the Ps for the CPUs.
        if now - lastscavenge >= 10_000_000 {
            lastscavenge = now;
            scavenge_gfree(now + 100_000);
        }
        // Heap scavenging (Go's background scavenger): free spans older than
        // SCAVENGE_AGE_NS go back to the OS; looked at every 100 ms.
        if now - lastheapscavenge >= 100_000_000 {
            lastheapscavenge = now;
            crate::malloc::background_scavenge(now);
        }
        if dbg.schedtrace > 0 && lasttrace + dbg.schedtrace as i64 * 1_000_000 <= now {
            lasttrace = now;
            schedtrace(dbg.scheddetail > 0);
        }
    }
}

/// Go's retake: takes Ps from Ms in syscalls for a sysmon tick or more, and flags gs that ran
/// for more than 10 ms. Returns how many Ps were retaken.
pub(super) fn retake(now: i64) -> u32 {
    let mut n = 0;
    for i in 0..gomaxprocs() as usize {
        let pp = allp(i);
        if pp.is_null() {
            continue;
        }
        // SAFETY: pp is valid; sysmontick is touched only by sysmon; the rest is atomic or
        // decided by CAS on status.
        unsafe {
            let pd = &mut (*pp).sysmontick;
            let s = (*pp).status.load(Ordering::Acquire);
            let mut sysretake = false;
            if s == PStatus::Running || s == PStatus::Syscall {
                // Preempt a g running for too long.
                let t = (*pp).schedtick;
                if pd.schedtick != t {
                    pd.schedtick = t;
                    pd.schedwhen = now;
                } else if pd.schedwhen + force_preempt_ns() <= now {
                    preemptone(pp);
                    sysretake = true; // in a syscall, preemptone does nothing: retake instead
                }
            }
            if s == PStatus::Syscall {
                // Retake a P from a syscall if it has been there for more than one sysmon tick.
                let t = (*pp).syscalltick.load(Ordering::Relaxed);
                if !sysretake && pd.syscalltick != t {
                    pd.syscalltick = t;
                    pd.syscallwhen = now;
                    continue;
                }
                // No work and others spinning or idle: leave it (saves a wakeup), for up to 10ms.
                if (*pp).runq.is_empty()
                    && SCHED.nmspinning.load(Ordering::Relaxed) + SCHED.npidle.load(Ordering::Relaxed) > 0
                    && pd.syscallwhen + 10_000_000 > now
                {
                    continue;
                }
                // While sysmon holds the P between the CAS and handoffp it counts as a running M
                // (Go's incidlelocked(-1)): otherwise an M that finds no idle P meanwhile and goes
                // idle would see no running M at all and report a false deadlock.
                incidlelocked(-1);
                if (*pp)
                    .status
                    .compare_exchange(PStatus::Syscall, PStatus::Idle, Ordering::AcqRel, Ordering::Relaxed)
                    .is_ok()
                {
                    n += 1;
                    (*pp).syscalltick.fetch_add(1, Ordering::Relaxed);
                    handoffp(pp);
                }
                incidlelocked(1);
            }
        }
    }
    n
}

/// Go's incidlelocked: adjusts the count of locked idle Ms; going back up re-runs checkdead.
pub(super) fn incidlelocked(v: i32) {
    let mut s = SCHED.lock.lock();
    s.nmidlelocked += v;
    if v > 0 {
        checkdead(&s);
    }
}

/// Go's preemptone: asks the g running on pp to yield at its next safe point.
pub(super) fn preemptone(pp: *mut P) -> bool {
    // SAFETY: pp is valid; m and curg may change under us, but gs and Ms are never freed, so the
    // worst case is flagging a g that has just been switched out (it yields once, harmlessly).
    unsafe {
        let mp = (*pp).m.load(Ordering::Acquire);
        if mp.is_null() || mp == getm() {
            return false;
        }
        let gp = (*mp).curg;
        if gp.is_null() || gp == (*mp).g0 {
            return false;
        }
        (*gp).preempt.store(true, Ordering::Relaxed);
        // And by signal, where it is on (Go: preemptMSupported && asyncpreemptoff == 0).
        if crate::preempt::enabled() {
            crate::preempt::preemptm(mp);
        }
        true
    }
}

/// Goroutines preempted by signal so far (schedtrace's asyncpreempt=; gort's addition).
fn async_preempts() -> u64 {
    crate::preempt::ASYNC_PREEMPTS.load(Ordering::Relaxed)
}

/// Go's forcePreemptNS (10 ms; GODEBUG=forcepreemptns changes it).
fn force_preempt_ns() -> i64 {
    crate::preempt::FORCE_PREEMPT_NS.load(Ordering::Relaxed)
}

/// Flags every running g for preemption (Go's preemptall).
pub(super) fn preemptall() {
    for i in 0..gomaxprocs() as usize {
        let pp = allp(i);
        // SAFETY: valid P.
        if !pp.is_null() && unsafe { (*pp).status.load(Ordering::Acquire) } == PStatus::Running {
            preemptone(pp);
        }
    }
}

/// Go's schedtrace: one SCHED line (and with detail, a line per P, M and G) on stderr.
// Cold and out of line: only GODEBUG=schedtrace calls it; inlined into sysmon it took core::fmt's
// writer along six times (issue 22).
#[cold]
#[inline(never)]
pub fn schedtrace(detail: bool) {
    let now = nanotime();
    let mut w = FdWriter::new(2);
    let procs = gomaxprocs();
    let s = SCHED.lock.lock();
    let _ = write!(
        w,
        "SCHED {}ms: gomaxprocs={} idleprocs={} threads={} spinningthreads={} needspinning={} idlethreads={} runqueue={} asyncpreempt={}",
        (now - RUNTIME_INIT_TIME.load(Ordering::Relaxed)) / 1_000_000,
        procs as i64,
        SCHED.npidle.load(Ordering::Relaxed) as i64,
        SCHED.mcount.load(Ordering::Relaxed) as i64,
        SCHED.nmspinning.load(Ordering::Relaxed) as i64,
        SCHED.needspinning.load(Ordering::Relaxed) as u64,
        s.nmidle as i64,
        SCHED.runqsize.load(Ordering::Relaxed) as i64,
        async_preempts()
    );
    if detail {
        let _ = writeln!(
            w,
            " gcwaiting={} nmidlelocked={} stopwait={} sysmonwait={}",
            SCHED.gcwaiting.load(Ordering::Relaxed) as u64,
            s.nmidlelocked as i64,
            SCHED.stopwait.load(Ordering::Relaxed) as i64,
            SCHED.sysmonwait.load(Ordering::Relaxed) as u64
        );
    }
    // SAFETY: Ps, Ms and gs are never freed; fields read racily are for display only (as in Go).
    unsafe {
        for i in 0..procs as usize {
            let pp = allp(i);
            let h = (*pp).runq.len() + (*pp).runq.has_runnext() as u32;
            if detail {
                let mp = (*pp).m.load(Ordering::Relaxed);
                let _ = writeln!(
                    w,
                    "  P{}: status={} schedtick={} syscalltick={} m={} runqsize={} gfreecnt={} timerslen={}",
                    i,
                    (*pp).status.load(Ordering::Relaxed) as u64,
                    (*pp).schedtick as u64,
                    (*pp).syscalltick.load(Ordering::Relaxed) as u64,
                    if mp.is_null() { -1 } else { (*mp).id },
                    h as u64,
                    (*pp).gfreecnt.load(Ordering::Relaxed) as i64,
                    (*pp).timers.lock().len()
                );
            } else {
                let _ = write!(w, "{}{}", Str(if i == 0 { " [" } else { " " }), h as u64);
                if i as i32 == procs - 1 {
                    let _ = writeln!(w, "]");
                }
            }
        }
        if !detail {
            return;
        }
        let mut mp = ALLM.load(Ordering::Acquire);
        while !mp.is_null() {
            let pp = (*mp).p.load(Ordering::Relaxed);
            let gp = (*mp).curg;
            let _ = writeln!(
                w,
                "  M{}: p={} curg={} mallocing=0 throwing=0 preemptoff= locks={} dying={} spinning={} blocked={} lockedg={}",
                (*mp).id,
                if pp.is_null() { -1 } else { (*pp).id as i64 },
                if gp.is_null() { -1 } else { (*gp).goid as i64 },
                if gp.is_null() { 0 } else { (*gp).locks as i64 },
                (*mp).dying as i64,
                bool_str((*mp).spinning),
                bool_str((*mp).blocked),
                if (*mp).lockedg.is_null() { -1 } else { (*(*mp).lockedg).goid as i64 }
            );
            mp = (*mp).alllink;
        }
        drop(s);
        let allgs = ALLGS.lock();
        for &gp in allgs.0.iter() {
            let st = readgstatus(gp);
            if st == GStatus::Dead {
                continue;
            }
            let mp = (*gp).m;
            let _ = writeln!(
                w,
                "  G{}: status={}({}) m={} lockedm={}",
                (*gp).goid,
                st as u64,
                Str((*gp).waitreason.as_str()),
                if mp.is_null() { -1 } else { (*mp).id },
                if (*gp).lockedm.is_null() { -1 } else { (*(*gp).lockedm).id }
            );
        }
    }
}
