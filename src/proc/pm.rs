//! Ps and Ms (Go's proc.go procresize, acquirep/releasep, pidleput/get, mput/mget, stopm, startm,
//! handoffp, wakep, spinning): who runs, who sleeps, who is woken. The spinning handshake itself
//! is argued in spinning.rs.

use super::*;

/// Go's procresize: grows/shrinks the set of Ps to `nprocs`, keeps (or gives) the caller a P,
/// puts Ps without work on the idle list and returns a list of Ps with work (linked by `link`).
/// Under sched.lock, with the world stopped (or not yet started).
pub(super) fn procresize(s: &mut SchedLocked, nprocs: i32) -> *mut P {
    let old = gomaxprocs();
    if nprocs <= 0 || nprocs as usize > MAX_GOMAXPROCS {
        crate::throw("procresize: invalid arg");
    }
    for (i, slot) in ALLP.iter().enumerate().take(nprocs as usize) {
        let pp = slot.load(Ordering::Acquire);
        if pp.is_null() {
            let p = Box::into_raw(Box::new(P {
                id: i as i32,
                status: AtomicStatus::new(PStatus::GcStop as u32),
                link: ptr::null_mut(),
                schedtick: 0,
                syscalltick: AtomicU32::new(0),
                sysmontick: SysmonTick { schedtick: 0, syscalltick: 0, schedwhen: 0, syscallwhen: 0 },
                m: AtomicPtr::new(ptr::null_mut()),
                goidcache: 0,
                goidcacheend: 0,
                runq: RunQueue::new(),
                gfree: GList::new(),
                gfreecnt: AtomicI32::new(0),
                gfree_bare: GList::new(),
                gfreecnt_bare: AtomicI32::new(0),
                timers: Mutex::new(crate::timer::TimerHeap::new()),
                timer0_when: AtomicI64::new(0),
                timer_zombies: crate::timer::Zombies::new(),
                mcache: crate::malloc::Mcache::new(),
            }));
            slot.store(p, Ordering::Release);
        } else {
            // SAFETY: a P from allp; the world is stopped.
            unsafe {
                let st = (*pp).status.load(Ordering::Relaxed);
                if st == PStatus::Dead {
                    (*pp).status.store(PStatus::GcStop, Ordering::Relaxed);
                }
            }
        }
    }
    let mp = getm();
    // SAFETY: mp is ours; Ps are valid and the world is stopped.
    unsafe {
        let cur = (*mp).p.load(Ordering::Relaxed);
        if !cur.is_null() && (*cur).id < nprocs {
            (*cur).status.store(PStatus::Running, Ordering::Relaxed);
        } else {
            if !cur.is_null() {
                (*cur).m.store(ptr::null_mut(), Ordering::Relaxed);
                (*mp).p.store(ptr::null_mut(), Ordering::Relaxed);
            }
            let p0 = allp(0);
            (*p0).m.store(ptr::null_mut(), Ordering::Relaxed);
            (*p0).status.store(PStatus::Idle, Ordering::Relaxed);
            acquirep(p0);
        }
        // Destroy the Ps past nprocs: their work moves to the global queue and to the caller's P.
        let mine = (*mp).p.load(Ordering::Relaxed);
        for i in nprocs as usize..old.max(0) as usize {
            let pp = allp(i);
            (*pp).runq.owner().drain(|g| globrunqput(s, g as *mut G));
            {
                let mut g = GFREE.lock();
                loop {
                    let gp = (*pp).gfree.pop();
                    if gp.is_null() {
                        break;
                    }
                    g.hot.push(gp);
                    g.nhot += 1;
                }
                loop {
                    let gp = (*pp).gfree_bare.pop();
                    if gp.is_null() {
                        break;
                    }
                    g.bare.push(gp);
                    g.nbare += 1;
                }
                (*pp).gfreecnt.store(0, Ordering::Relaxed);
                (*pp).gfreecnt_bare.store(0, Ordering::Relaxed);
                g.publish_count();
            }
            {
                let (mut from, mut to) = ((*pp).timers.lock(), (*mine).timers.lock());
                from.move_all(pp, &(*pp).timer_zombies, &mut to, mine, &(*mine).timer_zombies);
                (*mine).timer0_when.store(to.next_when(), Ordering::Release);
                (*pp).timer0_when.store(0, Ordering::Release);
            }
            // Go's freemcache: the cached objects go back to their classes.
            (*pp).mcache.release_all();
            (*pp).status.store(PStatus::Dead, Ordering::Relaxed);
        }
        // Rebuild the idle list from scratch.
        s.pidle = ptr::null_mut();
        SCHED.npidle.store(0, Ordering::Relaxed);
        GOMAXPROCS.store(nprocs, Ordering::Release);
        let mut runnable: *mut P = ptr::null_mut();
        for i in (0..nprocs as usize).rev() {
            let pp = allp(i);
            if pp == mine {
                continue;
            }
            (*pp).status.store(PStatus::Idle, Ordering::Relaxed);
            if (*pp).runq.is_empty() {
                pidleput(s, pp);
            } else {
                (*pp).m.store(mget(s), Ordering::Relaxed);
                (*pp).link = runnable;
                runnable = pp;
            }
        }
        runnable
    }
}

/// acquirep's failure, out of line: the message's formatting was inlined with acquirep at its
/// 12 call sites (issue 22).
#[cold]
#[inline(never)]
fn bad_wirep(st: PStatus) -> ! {
    crate::print::fatal_fmt(format_args!("wirep: invalid p state (status={})", st as u64))
}

/// Go's acquirep (wirep): associates pp with the current M. Out of line: it was inlined at its
/// 12 call sites (issue 22), each where an M takes a P after a wait or a system call.
#[inline(never)]
pub(super) fn acquirep(pp: *mut P) {
    let mp = getm();
    // SAFETY: pp is idle (ours to take) and mp is this thread's M.
    unsafe {
        if !(*mp).p.load(Ordering::Relaxed).is_null() {
            crate::throw("wirep: already in go");
        }
        let st = (*pp).status.load(Ordering::Relaxed);
        if !(*pp).m.load(Ordering::Relaxed).is_null() || st != PStatus::Idle {
            bad_wirep(st);
        }
        (*mp).p.store(pp, Ordering::Relaxed);
        (*pp).m.store(mp, Ordering::Relaxed);
        (*pp).status.store(PStatus::Running, Ordering::Release);
    }
    if crate::trace::on() {
        crate::trace::proc_start(pp);
    }
}

/// Go's releasep: disassociates the current M from its P, which becomes idle. Out of line: it
/// was inlined at its 5 callers (issue 22), each on the way to an idle M or a system call.
#[inline(never)]
pub(super) fn releasep() -> *mut P {
    let mp = getm();
    // SAFETY: mp is ours; its P is _Prunning and owned by it.
    unsafe {
        let pp = (*mp).p.load(Ordering::Relaxed);
        if pp.is_null()
            || (*pp).m.load(Ordering::Relaxed) != mp
            || (*pp).status.load(Ordering::Relaxed) != PStatus::Running
        {
            crate::throw("releasep: invalid arg");
        }
        if crate::trace::on() {
            crate::trace::proc_stop(pp);
        }
        (*mp).p.store(ptr::null_mut(), Ordering::Relaxed);
        (*pp).m.store(ptr::null_mut(), Ordering::Relaxed);
        (*pp).status.store(PStatus::Idle, Ordering::Release);
        pp
    }
}

/// Go's pidleput: pp onto the idle list (under sched.lock); pp has no local work. Out of line
/// (a P going idle; Go's is a call too): three copies otherwise (issue 22).
#[inline(never)]
pub(super) fn pidleput(s: &mut SchedLocked, pp: *mut P) {
    // SAFETY: pp is idle: its link is the idle list's, which sched.lock guards.
    unsafe {
        if !(*pp).runq.is_empty() {
            crate::throw("pidleput: P has non-empty run queue");
        }
        (*pp).link = s.pidle;
        s.pidle = pp;
    }
    SCHED.npidle.fetch_add(1, Ordering::Release);
}

/// Go's pidleget: an idle P, or null (under sched.lock).
pub(super) fn pidleget(s: &mut SchedLocked) -> *mut P {
    // SAFETY: the Ps on the idle list are valid (never freed) and their links are the list's.
    unsafe {
        let pp = s.pidle;
        if !pp.is_null() {
            s.pidle = (*pp).link;
            SCHED.npidle.fetch_sub(1, Ordering::Release);
        }
        pp
    }
}

/// Go's pidlegetSpinning: pidleget, and if none, tells running Ms someone wanted to spin.
pub(super) fn pidleget_spinning(s: &mut SchedLocked) -> *mut P {
    let pp = pidleget(s);
    if pp.is_null() {
        SCHED.needspinning.store(1, Ordering::Relaxed);
    }
    pp
}

/// Go's mput: mp onto the idle M list, then checkdead (under sched.lock).
pub(super) fn mput(s: &mut SchedLocked, mp: *mut M) {
    // SAFETY: mp is the calling M about to sleep; its schedlink is the idle list's.
    unsafe { (*mp).schedlink = s.midle };
    s.midle = mp;
    s.nmidle += 1;
    checkdead(s);
}

/// Go's mget: an idle M, or null (under sched.lock).
pub(super) fn mget(s: &mut SchedLocked) -> *mut M {
    // SAFETY: the Ms on the idle list are valid (never freed), asleep, and their links are the
    // list's.
    unsafe {
        let mp = s.midle;
        if !mp.is_null() {
            s.midle = (*mp).schedlink;
            s.nmidle -= 1;
        }
        mp
    }
}

// ---------------------------------------------------------------------------------------------
// Ms: stopm, startm, handoffp, wakep, spinning
// ---------------------------------------------------------------------------------------------

/// Go's stopm: parks the current M (without a P) until startm hands it one.
pub(super) fn stopm() {
    let mp = getm();
    // SAFETY: mp is ours.
    unsafe {
        if (*arch::getg()).locks != 0 {
            crate::throw("stopm holding locks");
        }
        if !(*mp).p.load(Ordering::Relaxed).is_null() {
            crate::throw("stopm holding p");
        }
        if (*mp).spinning {
            crate::throw("stopm spinning");
        }
        let mut s = SCHED.lock.lock();
        // An M in transit ends it here, under the lock startm hands requests over with: one
        // handed to it is served now instead of sleeping.
        if let Some((pp, spinning)) = take_handed_request(&mut s, mp) {
            drop(s);
            acquirep(pp);
            (*mp).spinning = spinning;
            return;
        }
        mput(&mut s, mp);
        drop(s);
        (*mp).blocked = true;
        if crate::trace::on() {
            crate::trace::m_sleep(false);
        }
        (*mp).park.sleep();
        (*mp).park.clear();
        (*mp).blocked = false;
        if crate::trace::on() {
            crate::trace::m_sleep(true);
        }
        acquirep((*mp).nextp);
        (*mp).nextp = ptr::null_mut();
    }
}

/// The mstartfn of an M started to spin (Go's mspinning).
pub(super) fn mspinning() {
    // SAFETY: getm is this thread's M.
    unsafe { (*getm()).spinning = true };
}

/// Go's startm: runs pp (or any idle P if null) on an idle or new M. If `spinning`, the caller
/// already counted the M in nmspinning.
pub(super) fn startm(mut pp: *mut P, spinning: bool) {
    let mut s = SCHED.lock.lock();
    if pp.is_null() {
        if spinning {
            crate::throw("startm: P required for spinning=true");
        }
        pp = pidleget(&mut s);
        if pp.is_null() {
            return;
        }
    }
    let nmp = mget(&mut s);
    // No idle M, but one gave its P up and is on its way to sleep: it takes this request when
    // it gets there (end_transit), instead of a new thread that would stay for good. Under
    // emulation (qemu-user) that window is long, and Ms piled up in it: a server at
    // GOMAXPROCS=2 reached 10 Ms. A P with local work is not put back idle (pidleput's rule).
    // SAFETY: pp is ours (taken idle or handed over) and valid.
    if nmp.is_null() && s.nmtransit > s.nmwanted && unsafe { (*pp).runq.is_empty() } {
        s.nmwanted += 1;
        if spinning {
            s.nmwanted_spinning += 1;
        }
        pidleput(&mut s, pp);
        return;
    }
    if nmp.is_null() {
        let id = m_reserve_id(&mut s);
        drop(s);
        let f: Option<fn()> = if spinning { Some(mspinning) } else { None };
        newm(f, pp, id);
        return;
    }
    drop(s);
    // SAFETY: nmp is an idle M asleep on its park note; nobody else touches it now.
    unsafe {
        if (*nmp).spinning {
            crate::throw("startm: m is spinning");
        }
        if !(*nmp).nextp.is_null() {
            crate::throw("startm: m has p");
        }
        (*nmp).spinning = spinning;
        (*nmp).nextp = pp;
        (*nmp).park.wakeup();
    }
}

/// The M gave its P up in find_runnable (under sched.lock): in transit until it sleeps or
/// takes a P again, and until then startm's requests may be handed to it.
pub(super) fn begin_transit(s: &mut SchedLocked, mp: *mut M) {
    // SAFETY: mp is the calling M; `transit` is only touched by its own thread.
    unsafe { (*mp).transit = true };
    s.nmtransit += 1;
}

/// Ends the calling M's transit, if it is in one (under sched.lock). If startm handed over more
/// requests than Ms remain in transit, this M takes one: Some(whether it is for a spinning M).
/// Invariant kept: nmwanted <= nmtransit, so every request handed over finds an M.
#[inline(never)] // an M going idle or waking: 2-3 copies inlined (issue 22)
pub(super) fn end_transit(s: &mut SchedLocked, mp: *mut M) -> Option<bool> {
    // SAFETY: mp is the calling M.
    unsafe {
        if !(*mp).transit {
            return None;
        }
        (*mp).transit = false;
    }
    s.nmtransit -= 1;
    if s.nmwanted <= s.nmtransit {
        return None;
    }
    s.nmwanted -= 1;
    let spinning = s.nmwanted_spinning > 0;
    if spinning {
        s.nmwanted_spinning -= 1;
    }
    Some(spinning)
}

/// An idle P for a request taken from startm (end_transit), or null if none is left (someone
/// took it meanwhile, e.g. a stop-the-world): then a spinning request's count is given back.
#[inline(never)] // an M going idle or waking: 2-3 copies inlined (issue 22)
pub(super) fn take_wanted_p(s: &mut SchedLocked, spinning: bool) -> *mut P {
    let pp = if spinning { pidleget_spinning(s) } else { pidleget(s) };
    if pp.is_null() && spinning && SCHED.nmspinning.fetch_sub(1, Ordering::AcqRel) - 1 < 0 {
        crate::throw("take_wanted_p: negative nmspinning");
    }
    pp
}

/// Ends the calling M's transit (under sched.lock) as it is about to sleep: if a request was
/// handed to it, the idle P to serve it with and whether it is for a spinning M.
#[inline(never)] // an M going idle or waking: 2-3 copies inlined (issue 22)
pub(super) fn take_handed_request(s: &mut SchedLocked, mp: *mut M) -> Option<(*mut P, bool)> {
    let spinning = end_transit(s, mp)?;
    let pp = take_wanted_p(s, spinning);
    (!pp.is_null()).then_some((pp, spinning))
}

/// Ends the calling M's transit when it took a P itself: a request it was handed goes to
/// another M through startm.
pub(super) fn end_transit_with_p(mp: *mut M) {
    let mut s = SCHED.lock.lock();
    let Some(spinning) = end_transit(&mut s, mp) else { return };
    let pp = take_wanted_p(&mut s, spinning);
    drop(s);
    if !pp.is_null() {
        startm(pp, spinning);
    }
}

/// Go's handoffp: the current M is giving up pp (syscall, no work): start an M for it if there
/// is work, else make it idle.
pub(super) fn handoffp(pp: *mut P) {
    // SAFETY: pp was released to us by the caller and is not running anywhere.
    unsafe {
        if !(*pp).runq.is_empty() || SCHED.runqsize.load(Ordering::Relaxed) != 0 {
            startm(pp, false);
            return;
        }
        if SCHED.gcwaiting.load(Ordering::Acquire) {
            let s = SCHED.lock.lock();
            (*pp).status.store(PStatus::GcStop, Ordering::Relaxed);
            let left = SCHED.stopwait.fetch_sub(1, Ordering::AcqRel) - 1;
            drop(s);
            if left == 0 {
                SCHED.stopnote.wakeup();
            }
            return;
        }
        // No local work: make sure some M spins if nobody does.
        if SCHED.nmspinning.load(Ordering::Relaxed) + SCHED.npidle.load(Ordering::Relaxed) == 0
            && SCHED.nmspinning.compare_exchange(0, 1, Ordering::AcqRel, Ordering::Relaxed).is_ok()
        {
            SCHED.needspinning.store(0, Ordering::Relaxed);
            startm(pp, true);
            return;
        }
        let mut s = SCHED.lock.lock();
        if SCHED.runqsize.load(Ordering::Relaxed) != 0 {
            drop(s);
            startm(pp, false);
            return;
        }
        // The last running P with timers pending and no timer sleeper: someone must wait for them.
        // The same if goroutines wait on the poller and nobody polls (Go: sched.lastpoll != 0).
        let when = (*pp).timer0_when.load(Ordering::Acquire);
        if SCHED.npidle.load(Ordering::Relaxed) == gomaxprocs() - 1
            && (when != 0 || crate::netpoll::any_waiters())
            && TIMER_SLEEPER_FREE.load(Ordering::Acquire)
        {
            drop(s);
            startm(pp, false);
            return;
        }
        pidleput(&mut s, pp);
        drop(s);
        if when != 0 {
            wake_net_poller(when);
        }
    }
}

/// wakep for a caller that holds its P (newproc, ready, with acquirem): with one P, the
/// caller's, no P can be idle, and wakep would only spend its fence (the spinning handshake's
/// StoreLoad barrier) to find that out. GOMAXPROCS changes only inside procresize with the
/// world stopped, which cannot happen while the caller runs with its P; and the caller took
/// its P after the last start of the world, so a 1 read here is the current value.
#[inline]
pub fn wakep_holding_p() {
    if gomaxprocs() > 1 {
        wakep();
    }
}

/// Go's wakep: if nobody spins and a P is idle, start a spinning M for it.
pub fn wakep() {
    // The submitter's half of the spinning handshake (spinning.rs): the caller just published
    // work; after a StoreLoad barrier, a spinning M (nmspinning > 0) is guaranteed to see it.
    let no_spinner = crate::spinning::submitter_sees_no_spinner::<crate::spinning::CoreFence>(&SCHED.nmspinning);
    // No idle P: no M could run anything more (Go 1.19's ready() makes this check before
    // calling wakep); the work is in a running P's queue.
    if SCHED.npidle.load(Ordering::Relaxed) == 0 {
        return;
    }
    if !no_spinner || SCHED.nmspinning.compare_exchange(0, 1, Ordering::AcqRel, Ordering::Relaxed).is_err() {
        return;
    }
    let mut s = SCHED.lock.lock();
    let pp = pidleget_spinning(&mut s);
    if pp.is_null() {
        // Still under sched.lock, as Go does.
        if SCHED.nmspinning.fetch_sub(1, Ordering::AcqRel) - 1 < 0 {
            crate::throw("wakep: negative nmspinning");
        }
        return;
    }
    drop(s);
    startm(pp, true);
}

/// Go's becomeSpinning.
pub(super) fn become_spinning(mp: *mut M) {
    // SAFETY: mp is ours.
    unsafe { (*mp).spinning = true };
    SCHED.nmspinning.fetch_add(1, Ordering::AcqRel);
    SCHED.needspinning.store(0, Ordering::Relaxed);
}

/// Go's resetspinning: we found work while spinning; if we were the last spinner, wake another.
pub(super) fn resetspinning() {
    let mp = getm();
    // SAFETY: mp is ours.
    unsafe {
        if !(*mp).spinning {
            crate::throw("resetspinning: not a spinning m");
        }
        (*mp).spinning = false;
    }
    if SCHED.nmspinning.fetch_sub(1, Ordering::AcqRel) - 1 < 0 {
        crate::throw("resetspinning: negative nmspinning");
    }
    wakep();
}

/// A goroutine armed a timer at `when`: make sure some M will wake for it.
pub fn timer_added(when: i64) {
    wake_net_poller(when);
}

/// Sum of `f` over every P's timer heap, dead Ps included (gort::testing: armed timers, or
/// entries with zombies).
#[cfg(feature = "testing")]
pub fn count_timers(f: fn(&crate::timer::TimerHeap) -> usize) -> usize {
    let mut n = 0;
    for slot in ALLP.iter() {
        let pp = slot.load(Ordering::Acquire);
        if !pp.is_null() {
            // SAFETY: Ps are never freed; the heap is behind its lock.
            n += f(unsafe { &(*pp).timers.lock() });
        }
    }
    n
}

/// Whether the running code is a user goroutine that may enter a syscall (has a P, holds no
/// runtime lock): then blocking writes go through entersyscall/exitsyscall.
pub fn can_enter_syscall() -> bool {
    let gp = arch::getg();
    if gp.is_null() {
        return false;
    }
    // SAFETY: gp is the running g; its m is this thread's M.
    unsafe {
        let mp = (*gp).m;
        !mp.is_null()
            && gp != (*mp).g0
            && gp != (*mp).gsignal
            && (*gp).locks == 0
            && !(*mp).p.load(Ordering::Relaxed).is_null()
            && gstatus_is(gp, GStatus::Running)
    }
}

/// Go's wakeNetPoller: make sure some M wakes by `when`: the one sleeping in the poller (or on
/// the timer futex, before the poller starts) if it would sleep past `when`, else an M to look.
pub(crate) fn wake_net_poller(when: i64) {
    // The adder's half of the sleeper handshake (schedule.rs sleep_until_timer): the caller
    // published its timer (timer0_when); the fence orders that before the loads below.
    core::sync::atomic::fence(Ordering::SeqCst);
    if TIMER_SLEEPER_FREE.load(Ordering::Acquire) {
        // Nobody waits for timers: have an M look (it will sleep until the earliest one).
        wakep();
        // If every M is busy spinning or none could be started, the sleeper token stays free and
        // the next M to go idle takes it.
        return;
    }
    let until = POLL_UNTIL.load(Ordering::SeqCst);
    if until == 0 || until > when {
        if POLL_WAKE.swap(1, Ordering::AcqRel) == 0 {
            os::futexwakeup(&POLL_WAKE, 1);
        }
        crate::netpoll::netpoll_break();
    }
}
