//! The scheduling cycle (Go's proc.go schedule, findRunnable, stealWork, execute, gopark, ready,
//! Gosched, goexit) and the run-queue wrappers (runqput, globrunqput/get).

use super::*;

/// Go's runqput: onto pp's local queue (runnext if `next`), overflow to the global queue.
pub fn runqput(pp: *mut P, gp: *mut G, next: bool) {
    // SAFETY: pp is owned by the calling M: its queue's owner.
    let q = unsafe { (*pp).runq.owner() };
    if let Err(Full(v)) = q.put(gp as usize, next) {
        runqputslow(pp, v as *mut G);
    }
}

/// Go's runqputslow: moves half of the full local queue plus gp to the global queue.
// Out of line: the overflow path of runqput, inlined into its three callers (issue 22).
#[inline(never)]
pub(super) fn runqputslow(pp: *mut P, gp: *mut G) {
    // SAFETY: pp is owned by the calling M: its queue's owner.
    let q = unsafe { (*pp).runq.owner() };
    let mut batch = [0usize; 129];
    loop {
        let n = q.grab_half_for_overflow(&mut batch[..128]);
        if n == 0 {
            // A thief made room meanwhile.
            if let Err(Full(_)) = q.put(gp as usize, false) {
                continue;
            }
            return;
        }
        batch[n] = gp as usize;
        let mut s = SCHED.lock.lock();
        for &g in &batch[..=n] {
            globrunqput(&mut s, g as *mut G);
        }
        return;
    }
}

/// Go's globrunqput: appends gp (runnable, on no list) to the global queue (under sched.lock).
pub(super) fn globrunqput(s: &mut SchedLocked, gp: *mut G) {
    // SAFETY: gp is a valid g on no other list (the caller's promise, as Go's).
    unsafe { s.runq.push_back(gp) };
    SCHED.runqsize.fetch_add(1, Ordering::Relaxed);
}

/// Go's globrunqget: takes a fair share of the global queue into pp; returns one g to run.
/// Under sched.lock.
pub(super) fn globrunqget(s: &mut SchedLocked, pp: *mut P, max: i32) -> *mut G {
    let size = SCHED.runqsize.load(Ordering::Relaxed);
    if size == 0 {
        return ptr::null_mut();
    }
    let mut n = size / gomaxprocs() + 1;
    if n > size {
        n = size;
    }
    if max > 0 && n > max {
        n = max;
    }
    if n > 128 {
        n = 128;
    }
    SCHED.runqsize.fetch_sub(n, Ordering::Relaxed);
    let gp = s.runq.pop();
    for _ in 1..n {
        let g1 = s.runq.pop();
        runqput(pp, g1, false);
    }
    gp
}

/// Go's runqget: the next g from pp's local queue; the bool is "inherit the time slice".
pub(super) fn runqget(pp: *mut P) -> Option<(*mut G, bool)> {
    // SAFETY: pp is owned by the calling M.
    unsafe { (*pp).runq.owner().get() }.map(|(g, inherit)| (g as *mut G, inherit))
}

/// Go's runqsteal: half of p2's queue into pp's, returning one to run.
///
/// Before taking p2's runnext (the last of the steal rounds, when its ring is empty) the thief
/// pauses if p2 is running (`os::steal_pause`: 3 µs, a yield on windows), as Go's runqgrab
/// does: p2's goroutine has most likely just readied that g and is about to block (a
/// ping-pong), or is spawning (every `go` puts the new g there and kicks the one before into
/// the ring); taking it at once moves the pair apart or takes one g per steal. Meanwhile the
/// owner runs it or queues more, which the steal then takes half of (pingpong/2 102.7 → 73.5 ns;
/// issue 22).
pub(super) fn runqsteal(pp: *mut P, p2: *mut P, steal_runnext: bool) -> *mut G {
    let backoff = || {
        // SAFETY: p2 is a valid P (Ps are never freed); status is atomic.
        if unsafe { (*p2).status.load(Ordering::Acquire) } == PStatus::Running {
            os::steal_pause();
        }
    };
    // SAFETY: pp is ours; p2 is any valid P (grab is safe from any thread).
    unsafe { (*pp).runq.owner().steal_from((*p2).runq.stealer(), steal_runnext, backoff) }
        .map_or(ptr::null_mut(), |g| g as *mut G)
}

// ---------------------------------------------------------------------------------------------
// The scheduling cycle
// ---------------------------------------------------------------------------------------------

/// Go's schedule: find a runnable goroutine and run it. Never returns. Runs on g0.
pub fn schedule() -> ! {
    let mp = getm();
    // SAFETY: mp is ours.
    unsafe {
        if (*arch::getg()).locks != 0 {
            crate::throw("schedule: holding locks");
        }
    }
    // SAFETY: mp is ours; lockedg is its own field.
    let lockedg = unsafe { (*mp).lockedg };
    if !lockedg.is_null() {
        // This M runs only its locked g (lockosthread.rs).
        stoplockedm();
        execute(lockedg, false);
    }
    loop {
        let (gp, inherit) = find_runnable();
        // SAFETY: mp is ours.
        if unsafe { (*mp).spinning } {
            resetspinning();
        }
        // SAFETY: gp is ours (taken off a queue); lockedm was set by gp itself while it ran.
        if unsafe { !(*gp).lockedm.is_null() } {
            // Hands our P to gp's M, then waits for a P of our own.
            startlockedm(gp);
            continue;
        }
        execute(gp, inherit)
    }
}

/// Go's execute: runs gp on the current M (its P's schedtick counts it unless it inherits).
pub(super) fn execute(gp: *mut G, inherit_time: bool) -> ! {
    let buf = execute_prepare(getm(), gp, inherit_time);
    // SAFETY: execute_prepare made gp this M's running g; buf is its saved context.
    unsafe { arch::gogo(buf) }
}

/// execute without its last step: makes gp the running g of `mp` (this M, from the caller's
/// getm: the M is found through TLS, two loads, once per switch) and returns the context to
/// `gogo` into, for an mcall'd function to return (arch's `mcall`: why returning beats calling
/// gogo). Inlined into the quiet paths (park_m, goexit0, gosched_m) and execute: the call and
/// its saved registers were ~9 instructions a switch; hello +656 bytes.
#[inline(always)]
pub(super) fn execute_prepare(mp: *mut M, gp: *mut G, inherit_time: bool) -> *const Gobuf {
    // SAFETY: mp is this M; its P is ours.
    let pp = unsafe { (*mp).p.load(Ordering::Relaxed) };
    // SAFETY: gp is runnable and ours.
    if unsafe { (*gp).lazy_stack.load(Ordering::Relaxed) } != 0 {
        stack_for_first_run(pp, gp);
    }
    // Before gp is anyone's curg: a report then names the overflowing goroutine only.
    check_stack_run(gp);
    // SAFETY: gp is runnable and was taken off a queue by us; mp and its P are ours.
    unsafe {
        (*mp).curg = gp;
        (*gp).m = mp;
        casgstatus(gp, GStatus::Runnable, GStatus::Running);
        (*gp).waitsince.store(0, Ordering::Relaxed);
        (*gp).preempt.store(false, Ordering::Relaxed);
        if crate::trace::on() {
            crate::trace::go_start(gp, pp);
        }
        if !inherit_time {
            (*pp).schedtick = (*pp).schedtick.wrapping_add(1);
        }
        &(*gp).sched
    }
}

/// A random permutation walk over `n` Ps (Go's randomOrder/randomEnum): start and a coprime step.
pub(super) struct RandomOrder {
    n: u32,
    pos: u32,
    inc: u32,
    i: u32,
}

impl RandomOrder {
    fn new(n: u32, r: u32) -> Self {
        let mut inc = 1;
        if n > 1 {
            // A step coprime with n visits every index exactly once.
            let mut cand = r / n.max(1) % n;
            for _ in 0..n {
                if cand != 0 && gcd(cand, n) == 1 {
                    inc = cand;
                    break;
                }
                cand = (cand + 1) % n;
            }
        }
        RandomOrder { n, pos: r % n.max(1), inc, i: 0 }
    }
}

impl Iterator for RandomOrder {
    type Item = usize;
    fn next(&mut self) -> Option<usize> {
        if self.i == self.n {
            return None;
        }
        self.i += 1;
        let p = self.pos;
        self.pos = (self.pos + self.inc) % self.n;
        Some(p as usize)
    }
}

pub(super) fn gcd(mut a: u32, mut b: u32) -> u32 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Go's checkTimers: runs pp's due timers (readying their gs onto the current P). Returns the
/// current time, the next timer's time (0 if none) and whether any ran.
#[inline]
pub(super) fn check_timers(pp: *mut P, now: i64) -> (i64, i64, bool) {
    // The common case, no timers on this P, stays inline in schedule (one load).
    // SAFETY: pp is a valid P; timer0_when is atomic.
    let next = unsafe { (*pp).timer0_when.load(Ordering::Acquire) };
    if next == 0 {
        return (now, 0, false);
    }
    check_timers_slow(pp, now, next)
}

/// check_timers when the P has timers: drops zombies if stops made new ones (timer.rs `clean`),
/// runs the due timers.
#[inline(never)]
pub(super) fn check_timers_slow(pp: *mut P, mut now: i64, next: i64) -> (i64, i64, bool) {
    if now == 0 {
        now = nanotime();
    }
    let (next, ran) = crate::timer::check(pp, now, next);
    (now, next, ran)
}

/// Go's findRunnable: local queue, global queue, timers, stealing; else give up the P and sleep.
/// Returns with a P and a runnable g.
pub(super) fn find_runnable() -> (*mut G, bool) {
    let mp = getm();
    loop {
        if SCHED.gcwaiting.load(Ordering::Acquire) {
            gcstopm();
            continue;
        }
        let pp = getp();
        let (now, mut poll_until, _) = check_timers(pp, 0);
        if let Some(found) = runnable_from_queues(pp) {
            return found;
        }
        // Go: poll the network without blocking before stealing, if goroutines wait on it and
        // no M is blocked in netpoll (that one will return them).
        if let Some(found) = poll_network_now() {
            return found;
        }
        match steal_if_allowed(mp, now) {
            Look::Found(found) => return found,
            Look::Again => continue,
            Look::Nothing(w) => {
                if w != 0 && (poll_until == 0 || w < poll_until) {
                    poll_until = w;
                }
            }
        }
        match give_up_p(mp, pp) {
            Look::Found(found) => return found,
            Look::Again => continue,
            Look::Nothing(_) => {}
        }
        // Now without a P. A spinner rechecks every queue before it sleeps.
        // SAFETY: mp is this thread's M.
        let was_spinning = unsafe { (*mp).spinning };
        if was_spinning && stop_spinning_and_recheck(mp) {
            continue;
        }
        poll_until = check_timers_no_p(poll_until);
        if sleep_until_timer(mp, poll_until, was_spinning) {
            continue;
        }
        stopm();
    }
}

/// Whether nothing but this P's local queue can be due: no locked thread to serve, no timer on
/// the P, an empty global queue (so not its every-61st turn either) and no stop-the-world.
/// Then `schedule` would run the local queue's head, and
/// gosched_m takes it itself (README "API", `gort::gosched`).
#[inline]
fn quiet(mp: *mut M, pp: *mut P) -> bool {
    // SAFETY: mp is ours; lockedg is its own field; pp is its P and timer0_when is atomic.
    unsafe {
        (*mp).lockedg.is_null()
            && (*pp).timer0_when.load(Ordering::Relaxed) == 0
            && SCHED.runqsize.load(Ordering::Relaxed) == 0
            && !SCHED.gcwaiting.load(Ordering::Acquire)
    }
}

/// Whether `schedule` would take its next goroutine from this P's local queue if that queue
/// is not empty: `quiet`, except that goroutines on the global queue are fine unless this is
/// the P's every-61st turn (find_runnable's order: gcwaiting, this P's timers, the global queue
/// on a fair turn, then the local queue). park_m and goexit0 take the local head themselves
/// then; an empty local queue sends them to `schedule`. (gosched_m needs `quiet`: its yielder
/// goes to the local queue's tail only where Go's global queue would put it in the same
/// place.) A spawner whose children overflow the local queue keeps goroutines on the global
/// queue for most of its run (skynet), and every switch went through find_runnable.
#[inline]
fn local_turn(mp: *mut M, pp: *mut P) -> bool {
    // SAFETY: mp is ours; lockedg is its own field; pp is its P: timer0_when is atomic, and
    // schedtick is its owner's (this M's).
    unsafe {
        (*mp).lockedg.is_null()
            && (*pp).timer0_when.load(Ordering::Relaxed) == 0
            && (SCHED.runqsize.load(Ordering::Relaxed) == 0 || !(*pp).schedtick.is_multiple_of(61))
            && !SCHED.gcwaiting.load(Ordering::Acquire)
    }
}

/// Runs what the quiet path found on this M (`mp`), as schedule's last step does: returns the
/// context to switch to, for the mcall'd function to return.
#[inline(always)]
fn run_found(mp: *mut M, next: *mut G, inherit: bool) -> *const Gobuf {
    // SAFETY: getg is g0 here, the M's own.
    if unsafe { (*arch::getg()).locks } != 0 {
        crate::throw("schedule: holding locks");
    }
    // SAFETY: next was taken off our queue; lockedm was set by next itself while it ran.
    if unsafe { !(*next).lockedm.is_null() } {
        // As schedule does: hand our P to next's M, then look for work again.
        startlockedm(next);
        schedule()
    }
    execute_prepare(mp, next, inherit)
}

/// What one step of find_runnable found.
enum Look {
    /// A goroutine to run (and whether it inherits the time slice).
    Found((*mut G, bool)),
    /// The world changed (new work appeared, a stop-the-world, a P was taken): start over.
    Again,
    /// Nothing; the earliest timer seen on the way, or 0.
    Nothing(i64),
}

/// The P's own queue, with a look at the global queue first every 61st tick (fairness) and
/// after the local one is empty.
fn runnable_from_queues(pp: *mut P) -> Option<(*mut G, bool)> {
    // SAFETY: pp is this M's P; schedtick is its owner's.
    let fair_turn = unsafe { (*pp).schedtick.is_multiple_of(61) };
    if fair_turn && SCHED.runqsize.load(Ordering::Relaxed) > 0 {
        let gp = globrunqget(&mut SCHED.lock.lock(), pp, 1);
        if !gp.is_null() {
            return Some((gp, false));
        }
    }
    if let Some(r) = runqget(pp) {
        return Some(r);
    }
    if SCHED.runqsize.load(Ordering::Relaxed) != 0 {
        let gp = globrunqget(&mut SCHED.lock.lock(), pp, 0);
        if !gp.is_null() {
            return Some((gp, false));
        }
    }
    None
}

/// Steals from other Ps, as a spinning M, if spinning Ms are fewer than half the busy Ps.
fn steal_if_allowed(mp: *mut M, now: i64) -> Look {
    let procs = gomaxprocs();
    // SAFETY: mp is this thread's M.
    let spinning = unsafe { (*mp).spinning };
    if !spinning && 2 * SCHED.nmspinning.load(Ordering::Relaxed) >= procs - SCHED.npidle.load(Ordering::Relaxed) {
        return Look::Nothing(0);
    }
    if !spinning {
        become_spinning(mp);
    }
    let (gp, inherit, _, w, new_work) = steal_work(now);
    if !gp.is_null() {
        Look::Found((gp, inherit))
    } else if new_work {
        Look::Again
    } else {
        Look::Nothing(w)
    }
}

/// Nothing to do: gives the P up (pidleput), unless the global queue or a stop-the-world
/// changed things meanwhile (looked at under sched.lock).
fn give_up_p(mp: *mut M, pp: *mut P) -> Look {
    // The P's cached objects go back to their spans first (an idle P's cache would otherwise
    // pin a span per cached object, memory the scavenger can never release); the M still owns
    // the P, so the cache is its to empty.
    // SAFETY: pp is this M's P.
    unsafe { (*pp).mcache.release_all() };
    let mut s = SCHED.lock.lock();
    if SCHED.gcwaiting.load(Ordering::Acquire) {
        return Look::Again;
    }
    if SCHED.runqsize.load(Ordering::Relaxed) != 0 {
        return Look::Found((globrunqget(&mut s, pp, 0), false));
    }
    // SAFETY: mp is this thread's M.
    if unsafe { !(*mp).spinning } && SCHED.needspinning.load(Ordering::Relaxed) == 1 {
        drop(s);
        become_spinning(mp);
        return Look::Again;
    }
    if releasep() != pp {
        crate::throw("findrunnable: wrong p");
    }
    pidleput(&mut s, pp);
    begin_transit(&mut s, mp);
    Look::Nothing(0)
}

/// A spinning M that gave its P up stops spinning, then (the spinner's half of the handshake,
/// spinning.rs) rechecks every P's queue: a g may have been queued after it looked, by someone
/// who saw it spinning and did not wake another M. True if it found work and took a P again.
fn stop_spinning_and_recheck(mp: *mut M) -> bool {
    // SAFETY: mp is this thread's M.
    unsafe { (*mp).spinning = false };
    if SCHED.nmspinning.fetch_sub(1, Ordering::AcqRel) - 1 < 0 {
        crate::throw("findrunnable: negative nmspinning");
    }
    crate::spinning::spinner_dropped::<crate::spinning::CoreFence>();
    if let Some(p2) = check_runqs_no_p() {
        acquirep(p2);
        end_transit_with_p(mp);
        become_spinning(mp);
        return true;
    }
    false
}

/// Go's first netpoll in findRunnable: `netpoll(0)` when the poller runs, goroutines wait on
/// it and no M is blocked in it; the first ready g is returned, the rest injected.
fn poll_network_now() -> Option<(*mut G, bool)> {
    if !crate::netpoll::inited() || !crate::netpoll::any_waiters() || !TIMER_SLEEPER_FREE.load(Ordering::Acquire) {
        return None;
    }
    let (mut list, delta) = crate::netpoll::netpoll(0);
    LAST_POLL.store(nanotime(), Ordering::Relaxed);
    let gp = list.pop();
    if gp.is_null() {
        return None;
    }
    inject_glist(list);
    casgstatus(gp, GStatus::Waiting, GStatus::Runnable);
    // Off the waiter count once they are runnable (netpoll's doc).
    crate::netpoll::adjust_waiters(delta);
    // SAFETY: gp is ours to run.
    unsafe { (*gp).waitreason = WaitReason::Zero };
    if crate::trace::on() {
        crate::trace::netpoll(1);
        crate::trace::go_unblock(gp);
    }
    Some((gp, false))
}

/// Go's injectglist: makes every g of `list` (parked, `_Gwaiting`, just taken from the poller)
/// runnable: onto the global queue, and an M started for each idle P that can take one. Out of
/// line: it was inlined at its 4 callers (~700 bytes; issue 22), none of them a fast path.
#[inline(never)]
pub(super) fn inject_glist(mut list: GList) {
    if list.empty() {
        return;
    }
    let mut n = 0;
    {
        let mut s = SCHED.lock.lock();
        loop {
            let gp = list.pop();
            if gp.is_null() {
                break;
            }
            casgstatus(gp, GStatus::Waiting, GStatus::Runnable);
            // SAFETY: gp is valid and, just popped, on no list.
            unsafe { (*gp).waitreason = WaitReason::Zero };
            if crate::trace::on() {
                crate::trace::go_unblock(gp);
            }
            globrunqput(&mut s, gp);
            n += 1;
        }
    }
    if crate::trace::on() {
        crate::trace::netpoll(n as usize);
    }
    let mut idle = SCHED.npidle.load(Ordering::Relaxed).min(n);
    // With a P, the caller runs one of them itself.
    if !getp().is_null() {
        idle = idle.min(n - 1);
    }
    for _ in 0..idle {
        startm(ptr::null_mut(), false);
    }
}

/// Sleeps until the next timer (`poll_until`), if no other M does already: blocked in
/// `netpoll(until the next timer)` once the poller runs (Go's design: one M sleeps in the poller
/// and timers wake it through netpollBreak), on a futex before (a program without network I/O
/// never starts the poller). Only this M holds the token (Go's sched.lastpoll == 0). Then it
/// takes an idle P if there is one. True if it did (find_runnable starts over with it).
fn sleep_until_timer(mp: *mut M, poll_until: i64, was_spinning: bool) -> bool {
    // The transit ends before this M blocks: a request startm handed it is served first.
    // SAFETY: mp is this thread's M.
    if unsafe { (*mp).transit } {
        let handed = take_handed_request(&mut SCHED.lock.lock(), mp);
        if let Some((pp, spinning)) = handed {
            acquirep(pp);
            // SAFETY: mp is this thread's M.
            unsafe { (*mp).spinning = spinning };
            return true;
        }
    }
    let net = crate::netpoll::inited() && crate::netpoll::any_waiters();
    if poll_until == 0 && !net || !TIMER_SLEEPER_FREE.swap(false, Ordering::AcqRel) {
        return false;
    }
    // Published before the wait: wake_net_poller compares a new timer against it. The fence
    // pairs with wake_net_poller's: either its adder sees this M's token and POLL_UNTIL, or
    // the recheck below sees the adder's timer0_when (store → fence → load on both sides).
    POLL_UNTIL.store(if poll_until == 0 { i64::MAX } else { poll_until }, Ordering::SeqCst);
    core::sync::atomic::fence(Ordering::SeqCst);
    // Recheck the timers after publishing POLL_UNTIL: a timer added before that saw no sleeper
    // to wake (TIMER_SLEEPER_FREE was true until our swap, so its adder called wakep, which may
    // have found no idle M); a timer added after sees POLL_UNTIL and wakes us.
    let w = check_timers_no_p(poll_until);
    let mut list = GList::new();
    let mut delta = 0;
    if crate::netpoll::inited() {
        let delay = if w == 0 { -1 } else { (w - nanotime()).max(0) };
        (list, delta) = crate::netpoll::netpoll(delay);
        LAST_POLL.store(nanotime(), Ordering::Relaxed);
    } else {
        let delay = w - nanotime();
        if delay > 0 && POLL_WAKE.load(Ordering::Acquire) == 0 {
            os::futexsleep(&POLL_WAKE, 0, delay);
        }
    }
    POLL_WAKE.store(0, Ordering::Release);
    POLL_UNTIL.store(0, Ordering::Release);
    TIMER_SLEEPER_FREE.store(true, Ordering::Release);
    let p2 = pidleget(&mut SCHED.lock.lock());
    // With a P: ours before the injection, so inject_glist starts Ms only for the gs beyond the
    // one we run. Without (every P busy): their Ms, or ones started for idle Ps later, run them.
    if !p2.is_null() {
        acquirep(p2);
    }
    inject_glist(list);
    // Off the waiter count only after the injection (netpoll's doc).
    crate::netpoll::adjust_waiters(delta);
    if p2.is_null() {
        return false;
    }
    if was_spinning {
        become_spinning(mp);
    }
    true
}

/// Go's stealWork: four rounds over all Ps in random order; the last round also runs their
/// timers and takes their runnext. Returns (g, inherit, now, next timer, new work appeared).
pub(super) fn steal_work(mut now: i64) -> (*mut G, bool, i64, i64, bool) {
    let pp = getp();
    let mut ran_timer = false;
    let mut poll_until = 0i64;
    const STEAL_TRIES: u32 = 4;
    let procs = gomaxprocs() as u32;
    for i in 0..STEAL_TRIES {
        let steal_timers_or_runnext = i == STEAL_TRIES - 1;
        for e in RandomOrder::new(procs, crate::alg::fastrand()) {
            if SCHED.gcwaiting.load(Ordering::Acquire) {
                return (ptr::null_mut(), false, now, poll_until, true);
            }
            let p2 = allp(e);
            if p2 == pp || p2.is_null() {
                continue;
            }
            if steal_timers_or_runnext {
                let (tnow, w, ran) = check_timers(p2, now);
                now = tnow;
                if w != 0 && (poll_until == 0 || w < poll_until) {
                    poll_until = w;
                }
                if ran {
                    if let Some((gp, inherit)) = runqget(pp) {
                        return (gp, inherit, now, poll_until, false);
                    }
                    ran_timer = true;
                }
            }
            // SAFETY: p2 is a valid P; status is atomic.
            if unsafe { (*p2).status.load(Ordering::Acquire) } != PStatus::Idle {
                let gp = runqsteal(pp, p2, steal_timers_or_runnext);
                if !gp.is_null() {
                    if crate::trace::on() {
                        crate::trace::steal(p2);
                    }
                    return (gp, false, now, poll_until, false);
                }
            }
        }
    }
    (ptr::null_mut(), false, now, poll_until, ran_timer)
}

/// Go's checkRunqsNoP: after giving up our P, is there a P with work and an idle P to run it?
pub(super) fn check_runqs_no_p() -> Option<*mut P> {
    for i in 0..gomaxprocs() as usize {
        let p2 = allp(i);
        // SAFETY: p2 is a valid P.
        if !p2.is_null() && unsafe { !(*p2).runq.is_empty() } {
            let pp = pidleget(&mut SCHED.lock.lock());
            return if pp.is_null() { None } else { Some(pp) };
        }
    }
    None
}

/// Go's checkTimersNoP: the earliest timer over all Ps, merged into poll_until.
#[inline(never)]
pub(super) fn check_timers_no_p(mut poll_until: i64) -> i64 {
    for i in 0..gomaxprocs() as usize {
        let p2 = allp(i);
        if p2.is_null() {
            continue;
        }
        // SAFETY: p2 is a valid P; timer0_when is atomic.
        let w = unsafe { (*p2).timer0_when.load(Ordering::Acquire) };
        if w != 0 && (poll_until == 0 || w < poll_until) {
            poll_until = w;
        }
    }
    poll_until
}

/// Go's dropg: the current M no longer runs its curg.
#[cfg_attr(debug_assertions, track_caller)]
pub(super) fn dropg() {
    dropg_on(getm());
}

/// dropg with this M (`mp`) already at hand.
#[cfg_attr(debug_assertions, track_caller)]
#[inline]
fn dropg_on(mp: *mut M) {
    let gp = dropg_preempted_on(mp);
    // SAFETY: mp is ours.
    if unsafe { !(*mp).lockedg.is_null() } {
        main_init_unlock_at_switch(mp, gp);
    }
}

/// dropg for a preempted goroutine: goroutine 1 keeps its hold on the initial thread. Returns
/// the g it no longer runs.
#[cfg_attr(debug_assertions, track_caller)]
fn dropg_preempted() -> *mut G {
    dropg_preempted_on(getm())
}

/// dropg_preempted on this M (`mp`).
#[cfg_attr(debug_assertions, track_caller)]
#[inline]
fn dropg_preempted_on(mp: *mut M) -> *mut G {
    // SAFETY: mp is ours; curg is the g we are switching away from.
    unsafe {
        let gp = (*mp).curg;
        if !gp.is_null() {
            (*gp).m = ptr::null_mut();
        }
        (*mp).curg = ptr::null_mut();
        gp
    }
}

/// Go's gopark: parks the current goroutine with `reason`. On g0, after the switch, `unlockf(gp,
/// lock)` runs; if it returns false the goroutine resumes at once.
pub fn gopark(unlockf: Option<unsafe fn(*mut G, usize) -> bool>, lock: usize, reason: WaitReason) {
    let gp = arch::getg();
    if gstatus_is(gp, GStatus::Syscall) {
        syscall_misuse();
    }
    // SAFETY: gp is the running user g.
    unsafe {
        // The lock passed in (a channel's, a wait queue's) is still held here: park_m releases it
        // through unlockf once the goroutine is off this M.
        (*gp).waitunlockf = unlockf;
        (*gp).waitlock = lock;
        (*gp).waitreason = reason;
        arch::mcall(park_m);
    }
}

/// Go's park_m (on g0): gp becomes _Gwaiting; run the unlock hook; schedule.
pub(super) unsafe extern "C" fn park_m(gp: *mut G) -> *const Gobuf {
    let mp = getm();
    check_stack(gp);
    casgstatus(gp, GStatus::Running, GStatus::Waiting);
    dropg_on(mp);
    // SAFETY: gp is the g that just parked; its hook was set by gopark.
    unsafe {
        // Recorded before the hook lets a waker see gp, so the block precedes its unblock.
        if crate::trace::on() {
            crate::trace::go_block(gp, (*gp).waitreason);
        }
        // Take both fields before calling the hook: once it releases the lock, a waker may
        // ready gp and gp may run and park again elsewhere, setting them anew.
        let lock = core::mem::replace(&mut (*gp).waitlock, 0);
        if let Some(f) = (*gp).waitunlockf.take() {
            let ok = f(gp, lock);
            if !ok {
                casgstatus(gp, GStatus::Waiting, GStatus::Runnable);
                if crate::trace::on() {
                    crate::trace::go_unblock(gp);
                }
                return execute_prepare(mp, gp, true);
            }
        }
    }
    ensure_sysmon();
    // The quiet path: what schedule would find, without its trip through find_runnable (the
    // switch from a parking goroutine to the one it just readied into runnext, as in a
    // ping-pong; or to the local queue's head while others wait on the global queue, as in
    // skynet).
    // SAFETY: mp is this M; its P is ours.
    let pp = unsafe { (*mp).p.load(Ordering::Relaxed) };
    if local_turn(mp, pp) {
        if let Some((next, inherit)) = runqget(pp) {
            return run_found(mp, next, inherit);
        }
    }
    schedule()
}

/// Go's goready/ready: gp becomes runnable in runnext of the current P; maybe wake a P.
pub fn ready(gp: *mut G, next: bool) {
    casgstatus(gp, GStatus::Waiting, GStatus::Runnable);
    // SAFETY: gp is a valid g.
    unsafe { (*gp).waitreason = WaitReason::Zero };
    if crate::trace::on() {
        crate::trace::go_unblock(gp);
    }
    // Pinned: runqput is the P owner's operation (Go's ready: acquirem).
    let mp = acquirem();
    let pp = getp();
    if pp.is_null() {
        crate::throw("ready: no P");
    }
    runqput(pp, gp, next);
    wakep_holding_p();
    releasem(mp);
}

/// Go's goready.
pub fn goready(gp: *mut G) {
    ready(gp, true)
}

/// Go's Gosched: yields the processor; the goroutine goes to the global queue.
pub fn gosched() {
    if in_syscall() {
        syscall_misuse();
    }
    // SAFETY: called on a user goroutine.
    unsafe { arch::mcall(gosched_m) }
}

/// Go's gosched_m → goschedImpl (on g0): the goroutine yielded of its own accord.
///
/// Go puts it on the global queue and runs `schedule`. When the global queue is empty and
/// nothing else is due (no stop-the-world, timer, trace or locked thread to serve), that is the
/// same as putting it at the tail of this P's local queue and running the local queue's head:
/// either way it runs after every goroutine already queued on this P, before any queued later,
/// and an idle P may steal it. This takes the local way, without sched.lock or the trip
/// through find_runnable (README "API", `gort::gosched`: what it guarantees).
pub(crate) unsafe extern "C" fn gosched_m(gp: *mut G) -> *const Gobuf {
    let mp = getm();
    // SAFETY: mp is this M; its P is ours.
    let pp = unsafe { (*mp).p.load(Ordering::Relaxed) };
    if !quiet(mp, pp) {
        gosched_impl(gp, false)
    }
    check_stack(gp);
    if crate::trace::on() {
        crate::trace::go_stop(gp, crate::trace::STOP_SCHED);
    }
    casgstatus(gp, GStatus::Running, GStatus::Runnable);
    dropg_on(mp);
    // Taken before gp goes in, so gp runs next only if nothing else is queued here.
    let (next, inherit) = runqget(pp).unwrap_or((gp, false));
    if next != gp {
        runqput(pp, gp, false);
    }
    run_found(mp, next, inherit)
}

/// Go's gopreempt_m → goschedImpl (on g0): the goroutine was preempted, at a safe point
/// (`preempt_check`) or asynchronously (the OS layer's preemption continues here, with gp's
/// context saved for its resume path). Unlike a yield, a preemption keeps goroutine 1's hold on
/// the initial thread (lockosthread.rs).
pub(crate) unsafe extern "C" fn gopreempt_m(gp: *mut G) -> *const Gobuf {
    gosched_impl(gp, true)
}

/// Go's goschedImpl: gp goes to the global queue; this M schedules.
fn gosched_impl(gp: *mut G, preempted: bool) -> ! {
    check_stack(gp);
    if crate::trace::on() {
        let async_ = preempted && crate::preempt::resumes_async(gp);
        if preempted {
            crate::trace::go_preempt(gp, async_);
        }
        crate::trace::go_stop(gp, if preempted { crate::trace::STOP_PREEMPT } else { crate::trace::STOP_SCHED });
    }
    casgstatus(gp, GStatus::Running, GStatus::Runnable);
    if preempted {
        dropg_preempted();
    } else {
        dropg();
    }
    globrunqput(&mut SCHED.lock.lock(), gp);
    schedule()
}

/// Whether the running goroutine is inside `syscall::blocking` (between entersyscall and
/// exitsyscall: it has no P).
pub fn in_syscall() -> bool {
    gstatus_is(arch::getg(), GStatus::Syscall)
}

/// The runtime services a goroutine may not use without its P (inside `syscall::blocking`) panic
/// here instead of corrupting the scheduler.
#[cold]
#[track_caller]
pub(super) fn syscall_misuse() -> ! {
    panic!(
        "gort: a goroutine used a runtime service (channel, spawn, sleep, lock wait, yield) inside syscall::blocking"
    )
}

/// The check of preempt_check without the yield, for entries that must not yield (an unlock
/// about to wake a waiter: yielding there would hold the lock longer).
#[inline]
pub fn check_has_p() {
    if in_syscall() {
        syscall_misuse();
    }
}

/// Yields if sysmon asked this goroutine to (Go's preemption check at a safe point). Every
/// runtime service a goroutine calls passes here first.
#[inline]
pub fn preempt_check() {
    let gp = arch::getg();
    if gstatus_is(gp, GStatus::Syscall) {
        syscall_misuse();
    }
    // SAFETY: gp is the running g.
    unsafe {
        if (*gp).preempt.load(Ordering::Relaxed) && gp != (*(*gp).m).g0 && (*gp).locks == 0 {
            arch::mcall(gopreempt_m);
        }
    }
}

/// Go's goexit1: the running goroutine is finished (reached from the goexit trampoline).
pub extern "C" fn goexit1() -> ! {
    // SAFETY: on the exiting user g.
    unsafe { arch::mcall(goexit0) };
    crate::throw("goexit1: returned")
}

/// Go's goexit0 (on g0): gp becomes _Gdead and goes on the P's free list with its stack.
pub(super) unsafe extern "C" fn goexit0(gp: *mut G) -> *const Gobuf {
    check_stack(gp);
    if crate::trace::on() {
        crate::trace::go_stop(gp, crate::trace::STOP_EXIT);
    }
    casgstatus(gp, GStatus::Running, GStatus::Dead);
    let mp = getm();
    // SAFETY: gp is dead; its fields are ours, as are mp's.
    let locked = unsafe {
        let locked = !(*gp).lockedm.is_null();
        (*gp).lockedm = ptr::null_mut();
        (*mp).lockedg = ptr::null_mut();
        locked
    };
    dropg_on(mp);
    // SAFETY: gp is dead; its fields are ours, as are mp's.
    unsafe {
        (*gp).startfn = 0;
        if (*mp).locked_int != 0 {
            crate::throw("internal lockOSThread error");
        }
    }
    // SAFETY: mp is this M; its P is ours.
    let pp = unsafe { (*mp).p.load(Ordering::Relaxed) };
    gfput(pp, gp);
    if locked {
        // The goroutine may have locked this thread because it put it in an unusual state: the
        // thread goes with it (Go's goexit0 → mexit).
        mexit();
    }
    // The quiet path, as park_m's: the next goroutine of this P's queue (a spawner's children
    // finishing one after another) without the trip through find_runnable.
    if local_turn(mp, pp) {
        if let Some((next, inherit)) = runqget(pp) {
            return run_found(mp, next, inherit);
        }
    }
    schedule()
}

/// Called by mcall when invoked on g0 (a runtime bug).
pub extern "C" fn badmcall() -> ! {
    crate::throw("runtime: mcall called on m->g0 stack")
}

#[cfg(test)]
mod tests {
    use super::RandomOrder;

    #[test]
    fn random_order_visits_each_p_once() {
        for n in 1..40u32 {
            for r in [0u32, 1, 7, 12345, u32::MAX] {
                let mut seen: Vec<usize> = RandomOrder::new(n, r).collect();
                seen.sort_unstable();
                assert_eq!(seen, (0..n as usize).collect::<Vec<_>>(), "n={n} r={r}");
            }
        }
    }
}
