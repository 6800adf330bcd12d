//! g and M bookkeeping (Go's proc.go newm, allocm, malg, gfput/gfget, casgstatus) and goroutine
//! creation (newproc, newproc1).

use super::*;

/// Go's mcommoninit: M id (checked against maxmcount), random seed, signal stack, allm.
pub(super) fn mcommoninit(mp: *mut M, id: i64) {
    let mut s = SCHED.lock.lock();
    // SAFETY: mp is a fresh or boot M not yet visible to others; allm is pushed under sched.lock.
    unsafe {
        (*mp).id = if id >= 0 { id } else { m_reserve_id(&mut s) };
        (*mp).fastrand = crate::alg::seed_for(((*mp).id as u64) ^ 0x9e37_79b9_7f4a_7c15);
        mpreinit(mp);
        (*mp).alllink = ALLM.load(Ordering::Relaxed);
        ALLM.store(mp, Ordering::Release);
    }
}

/// Go's mReserveID: the next M id; fatal beyond maxmcount (under sched.lock). Out of line: a
/// new M is rare, and startm and mcommoninit each had a copy (issue 22).
#[inline(never)]
pub(super) fn m_reserve_id(s: &mut SchedLocked) -> i64 {
    let id = s.mnext;
    s.mnext += 1;
    SCHED.mcount.fetch_add(1, Ordering::Relaxed);
    checkmcount(s);
    id
}

/// Go's debug.SetMaxThreads: sets maxmcount (values < 1 mean 1) and returns the previous limit;
/// if more threads exist already, the program dies of thread exhaustion as Go's does.
pub fn set_max_threads(n: i32) -> i32 {
    let mut s = SCHED.lock.lock();
    let old = s.maxmcount;
    s.maxmcount = n.max(1);
    checkmcount(&s);
    old
}

/// Go's checkmcount: too many threads is fatal ("thread exhaustion"). Counts the Ms alive (Go's
/// mcount() = mnext - nmfreed: threads that exited with their locked goroutine do not count).
pub(super) fn checkmcount(s: &SchedLocked) {
    let count = SCHED.mcount.load(Ordering::Relaxed);
    if s.maxmcount > 0 && count > s.maxmcount {
        crate::print::print(true, format_args!("runtime: program exceeds {}-thread limit\n", s.maxmcount as i64));
        crate::throw("thread exhaustion");
    }
}

/// Go's mpreinit: allocates the signal-handling g and its stack (m0's, the first, at the stack
/// region's floor: `stack::sysstack_at_region_floor`).
pub(super) fn mpreinit(mp: *mut M) {
    let gs = malg_cold();
    // SAFETY: gs is fresh; mp is ours.
    unsafe {
        (*gs).stack = stack::sysstack_at_region_floor(SIGNAL_STACK_SIZE);
        (*gs).m = mp;
        (*gs).atomicstatus.store(GStatus::Dead, Ordering::Relaxed);
        (*mp).gsignal = gs;
    }
}

/// Go's newm: a new M (with its own g0 stack and TLS) that runs `f` then schedules with `pp`.
///
/// Runs on g0 whoever calls it (Go's startm/newm run on the system stack): wakep reaches here
/// from user goroutines (newproc, channel wake-ups), whose stack may be a packed 2 KB slot that
/// the goroutine above can overflow into at any moment, and the new M may run exactly that
/// goroutine before clone returns here. On a trampled goroutine stack, clone returned through a
/// trampled return address with every signal blocked, and the kernel killed the process with no
/// report (overflow/env-2k, about 3% of runs under load).
pub(super) fn newm(f: Option<fn()>, pp: *mut P, id: i64) {
    struct Args {
        f: Option<fn()>,
        pp: *mut P,
        id: i64,
    }
    unsafe extern "C" fn on_g0(a: usize) {
        // SAFETY: a is the address of newm's Args, alive until systemstack returns.
        let a = unsafe { ptr::read(a as *const Args) };
        newm_g0(a.f, a.pp, a.id);
    }
    let a = Args { f, pp, id };
    // SAFETY: newm_g0 neither parks nor switches goroutines (runtime locks only); on g0 already
    // (startm from the scheduler), systemstack just calls it.
    unsafe { arch::systemstack(on_g0, &a as *const Args as usize) };
}

/// newm's body, on g0.
fn newm_g0(f: Option<fn()>, pp: *mut P, id: i64) {
    let mp = Box::into_raw(Box::new(
        // SAFETY: all-zero is a valid M.
        unsafe { zeroed::<M>() },
    ));
    let g0 = malg_cold();
    // SAFETY: both are fresh and not yet shared.
    unsafe {
        (*g0).stack = stack::sysstack(G0_STACK_SIZE);
        (*g0).m = mp;
        (*g0).atomicstatus.store(GStatus::Dead, Ordering::Relaxed);
        (*mp).g0 = g0;
        (*mp).g0stack = (*g0).stack.lo;
        (*mp).mstartfn = f;
        (*mp).nextp = pp;
    }
    mcommoninit(mp, id);
    // SAFETY: mp and g0 are complete; g0's stack top is 16-aligned (page-aligned).
    let r = unsafe { os::newosproc(mp, (*g0).stack.hi) };
    if r < 0 {
        crate::print::print(
            true,
            format_args!(
                "runtime: failed to create new OS thread (have {} already; errno={})\n",
                SCHED.mcount.load(Ordering::Relaxed) as i64,
                -r
            ),
        );
        crate::throw("newosproc");
    }
}

/// Go's allgadd: records a new g.
pub(super) fn allgadd(gp: *mut G) {
    let mut allgs = ALLGS.lock();
    allgs.0.push(gp);
    ALLGLEN.store(allgs.0.len() as i64, Ordering::Relaxed);
}

/// Adds `d` to the free-g count of `pp`, which this M owns.
pub(super) fn gfreecnt_add(pp: *mut P, d: i32) {
    // SAFETY: pp is a live P (never freed).
    owner_add(unsafe { &(*pp).gfreecnt }, d);
}

/// Adds `d` to a count only this thread writes (a load and a store: no locked instruction);
/// others read it racily.
fn owner_add(c: &AtomicI32, d: i32) {
    c.store(c.load(Ordering::Relaxed) + d, Ordering::Relaxed);
}

/// Go's malg, without the stack: a new g whose stack is allocated at its first run
/// (`stack_for_first_run`).
pub(super) fn malg() -> *mut G {
    Box::into_raw(Box::new(
        // SAFETY: all-zero is a valid G (no stack: stack.lo == 0).
        unsafe { zeroed::<G>() },
    ))
}

/// malg for mpreinit's gsignal and newm's g0, out of line: the zeroed G's allocation was a copy
/// at each (issue 22). The spawn path keeps its own inline copy (a call there cost an instruction
/// per spawn).
#[inline(never)]
fn malg_cold() -> *mut G {
    malg()
}

/// A goroutine's stack at its first run (execute, on g0): the stack of a dead g on the P's free
/// list if that one has the right size (the donor moves to the P's list of gs without stacks;
/// its stack was just used, so its top pages are likely resident and cached), else stackalloc.
/// Lazy stacks are what let a burst of spawns cost g structs only: goroutines that run and exit
/// hand their stacks on to the ones that start after them instead of each touching a fresh stack.
/// Out of line: inlined into execute it made every switch save and restore six registers.
#[inline(never)]
pub(super) fn stack_for_first_run(pp: *mut P, gp: *mut G) {
    // SAFETY: on g0 with pp owned by this M; gp is runnable, ours, and has never run; a donor
    // popped from pp's free list is dead and goes back on one of its lists.
    unsafe {
        let size = (*gp).lazy_stack.load(Ordering::Relaxed);
        let donor = (*pp).gfree.pop();
        let (s, guarded) = if !donor.is_null() && (*donor).stack.lo != 0 && stack::limit(&(*donor).stack) == size {
            let taken = ((*donor).stack, (*donor).stack_guarded);
            clear_stack(donor);
            gfreecnt_add(pp, -1);
            gfput_bare(pp, donor);
            taken
        } else {
            if !donor.is_null() {
                (*pp).gfree.push(donor);
            }
            stack::stackalloc(size)
        };
        let g = &mut *gp;
        g.stack = s;
        g.stack_guarded = guarded;
        let ctx = g.sched.ctx;
        arch::gostartcall(&mut g.sched, s.hi, g.startfn, ctx);
        // Release: a fault handler that reads 0 here (Acquire, find_g) sees the stack fields.
        g.lazy_stack.store(0, Ordering::Release);
    }
}

/// Takes gp's stack away (it went to another g, or back to the pool).
pub(super) fn clear_stack(gp: *mut G) {
    // SAFETY: gp is dead and ours.
    unsafe {
        (*gp).stack = crate::gmp::Stack { lo: 0, hi: 0 };
        (*gp).stack_guarded = false;
    }
}

/// Go's casgstatus: a status transition from `old`, which the status must be (a mismatch is a
/// runtime bug: fatal).
///
/// A checked load and a store, not Go's CAS (Go's loops on the GC's scan bit, which gort does
/// not have). Ordering argument: a g's status has one writer at a time, its owner: the M running
/// it (Running to Waiting, Runnable, Syscall, Dead, and Syscall back), the M that took it off a
/// run queue or was handed it (Runnable to Running), the waker that dequeued its wait record
/// under that queue's lock, won its select or timeout claim (`selectdone`'s CAS), swapped it out
/// of a poll descriptor or fired its sleep timer (Waiting to Runnable), the spawner that took it
/// dead off a free list (Dead to Runnable). A park makes the g visible to wakers only after its
/// transition (the unlock hook runs after it), and every hand-over of a g (run queues'
/// release/acquire, locks, the claim CAS) orders the previous owner's writes before the next
/// owner's reads. So the load reads the previous owner's transition (it happens before), no
/// other write can fall between the load and the store, and a CAS would only add a locked
/// instruction, five to seven of them per goroutine's life (spawn, first run, park, wake-up,
/// run, exit); what it alone would catch is two owners at once, a runtime bug, whose sequential
/// forms (a second ready, a ready of a running g) the check still catches. Release/Acquire: as
/// the CAS's AcqRel, whoever reads the new status (the next owner's check, sysmon, find_g, a
/// dump) sees what the owner wrote before the transition.
#[inline]
pub fn casgstatus(gp: *mut G, old: GStatus, new: GStatus) {
    // SAFETY: gp is a valid g.
    let st = unsafe { &(*gp).atomicstatus };
    // A check and a store, not Go's CAS: Go needs the CAS because its garbage collector sets a
    // scan bit in the status from other threads; here nothing writes a g's status but the one
    // party that owns the g at that moment (its M while it runs, the waker that dequeued it,
    // the M that took it off a run queue), so the transition cannot race and the check only
    // catches a wrong old status. The CAS's lock prefix was a full barrier on every switch.
    // Release: the goroutine's state written before a transition is visible to whoever
    // observes the new status (e.g. a waker that sees _Gwaiting sees the saved context).
    if !st.is(old, Ordering::Relaxed) {
        bad_casgstatus(old, new, st.load_word(Ordering::Relaxed));
    }
    st.store(new, Ordering::Release);
}

/// casgstatus's failure, out of line: the message's formatting was inlined with casgstatus
/// at its 18 call sites (~1.3 KB of every program, issue 22).
#[cold]
#[inline(never)]
fn bad_casgstatus(old: GStatus, new: GStatus, cur: u32) -> ! {
    crate::print::fatal_fmt(format_args!(
        "casgstatus: bad transition {} -> {} (status is {})",
        old as u64, new as u64, cur as u64
    ))
}

/// Go's readgstatus.
pub fn readgstatus(gp: *mut G) -> GStatus {
    // SAFETY: gp is a valid g.
    unsafe { (*gp).atomicstatus.load(Ordering::Acquire) }
}

/// `readgstatus(gp) == s`, without the conversion's range check (the checks on every runtime
/// entry: preempt_check, gopark, in_syscall).
#[inline]
pub fn gstatus_is(gp: *mut G, s: GStatus) -> bool {
    // SAFETY: gp is a valid g.
    unsafe { (*gp).atomicstatus.is(s, Ordering::Acquire) }
}

/// Go's gfput: a dead g goes on the P's free list (half move to the global list past 64); one
/// without a stack on the P's bare list (likewise).
pub(super) fn gfput(pp: *mut P, gp: *mut G) {
    // SAFETY: gp is dead and on no list.
    if unsafe { (*gp).stack.lo } == 0 {
        return gfput_bare(pp, gp);
    }
    // SAFETY: pp is owned by this M; gp is dead and on no list.
    unsafe {
        let p = &mut *pp;
        p.gfree.push(gp);
        gfreecnt_add(pp, 1);
        if p.gfreecnt.load(Ordering::Relaxed) >= 64 {
            let mut g = GFREE.lock();
            let n = p.gfree.move_front(&mut g.hot, 32) as i32;
            gfreecnt_add(pp, -n);
            g.nhot += n;
            g.publish_count();
        }
    }
}

/// gfput for a dead g without a stack.
fn gfput_bare(pp: *mut P, gp: *mut G) {
    // SAFETY: pp is owned by this M; gp is dead, stackless and on no list.
    unsafe {
        let p = &mut *pp;
        p.gfree_bare.push(gp);
        let c = &p.gfreecnt_bare;
        owner_add(c, 1);
        if c.load(Ordering::Relaxed) >= 64 {
            let mut g = GFREE.lock();
            let n = p.gfree_bare.move_front(&mut g.bare, 32) as i32;
            owner_add(c, -n);
            g.nbare += n;
            g.publish_count();
        }
    }
}

/// Go's background scavenger, for goroutine stacks (run by sysmon): while the global free list
/// holds more than GFREE_KEEP_HOT dead gs, they have their stacks' deep pages given back to the
/// OS (stack::scavenge) and move to GFREE_SCAVENGED, 16 at a time, until nanotime passes
/// `deadline`. The stack scans and madvise calls happen outside GFREE's lock.
pub(super) fn scavenge_gfree(deadline: i64) {
    loop {
        let mut batch = GList::new();
        let mut n = 0;
        {
            let mut g = GFREE.lock();
            while g.nhot > GFREE_KEEP_HOT && n < 16 {
                let gp = g.hot.pop();
                // SAFETY: gp came off the free list: dead and on no other list.
                unsafe { batch.push(gp) };
                g.nhot -= 1;
                n += 1;
            }
            g.publish_count();
        }
        if n == 0 {
            return;
        }
        let mut list = batch;
        let mut out = GList::new();
        loop {
            let gp = list.pop();
            if gp.is_null() {
                break;
            }
            // SAFETY: gp is dead and was on our private list only: nothing runs on its stack,
            // and it goes on exactly one list again.
            unsafe {
                if (*gp).stack.lo != 0 {
                    stack::scavenge(&(*gp).stack);
                }
                out.push(gp);
            }
        }
        let mut g = GFREE.lock();
        loop {
            let gp = out.pop();
            if gp.is_null() {
                break;
            }
            // SAFETY: gp is dead and was on our private list only.
            unsafe { g.scavenged.push(gp) };
            g.nscavenged += 1;
        }
        g.publish_count();
        drop(g);
        if crate::time::nanotime() >= deadline {
            return;
        }
    }
}

/// Go's gfget: a dead g, with a stack if one is free (the P's list, refilled from the global
/// one), else one without (the bare lists, likewise), else null.
pub(super) fn gfget(pp: *mut P) -> *mut G {
    // SAFETY: pp is owned by this M.
    unsafe {
        let p = &mut *pp;
        if p.gfree.empty() && GFREE_COUNT.load(Ordering::Relaxed) > 0 {
            let mut g = GFREE.lock();
            let GFree { hot, nhot, scavenged, nscavenged, .. } = &mut *g;
            let mut got = 0;
            for (list, n) in [(hot, nhot), (scavenged, nscavenged)] {
                while got < 32 && !list.empty() {
                    p.gfree.push(list.pop());
                    *n -= 1;
                    got += 1;
                }
            }
            g.publish_count();
            gfreecnt_add(pp, got);
        }
        let gp = p.gfree.pop();
        if !gp.is_null() {
            gfreecnt_add(pp, -1);
            return gp;
        }
        let c = &p.gfreecnt_bare;
        if p.gfree_bare.empty() && GFREE_BARE_COUNT.load(Ordering::Relaxed) > 0 {
            let mut g = GFREE.lock();
            let mut got = 0;
            while got < 32 && !g.bare.empty() {
                p.gfree_bare.push(g.bare.pop());
                g.nbare -= 1;
                got += 1;
            }
            g.publish_count();
            owner_add(c, got);
        }
        let gp = p.gfree_bare.pop();
        if !gp.is_null() {
            owner_add(c, -1);
        }
        gp
    }
}

// ---------------------------------------------------------------------------------------------
// newproc
// ---------------------------------------------------------------------------------------------

/// The largest closure `gort::go` copies onto a new goroutine's stack of `stack_size` bytes (a
/// sixty-fourth of it, at most 128 bytes: 32 on a 2 KB stack): the copy stays at the top for
/// the goroutine's life.
const fn inline_closure_max(stack_size: usize) -> usize {
    let m = stack_size / 64;
    if m < 128 {
        m
    } else {
        128
    }
}

/// Go's newproc: a new goroutine running `entry(ctx)`, queued in runnext of the current P.
pub fn newproc(entry: usize, ctx: usize) -> *mut G {
    let ng = newproc_begin(stack::stack_size());
    // SAFETY: entry(ctx) is the caller's goroutine body; top 0 = the stack's own top.
    unsafe { newproc_end(ng, entry, ctx, 0, 0, None, true) }
}

/// newproc for the function of a timer that fired (Go's goFunc), from the scheduler's context:
/// queued at the tail of the P's run queue, not in runnext, so that the goroutines of timers
/// run by one checkTimers start in deadline order (in runnext each would push the previous one
/// back, reversing them).
pub fn newproc_timer(entry: usize, ctx: usize) -> *mut G {
    let ng = newproc_begin(stack::stack_size());
    // SAFETY: as in newproc.
    unsafe { newproc_end(ng, entry, ctx, 0, 0, None, false) }
}

/// A dead g taken for a new goroutine, between newproc_begin and newproc_end: the M is pinned
/// (acquirem) and the P is its own until newproc_end queues the g. `gort::go` places its
/// closure in between ([`NewG::closure_slot`], else a Box): Go before 1.17 likewise copied a
/// `go` call's arguments onto the new stack; a closure of up to G_CLOSURE_BYTES goes into the g
/// itself ([`NewG::closure_slot`]). In the g or on the stack it costs no allocation,
/// whose free would run on whichever P runs the goroutine (spawn at two Ps: the heap's central
/// lists shared between the spawning P and the running one).
pub struct NewG {
    mp: *mut M,
    pp: *mut P,
    gp: *mut G,
    stack_size: usize,
}

/// Go's newproc, first half: pins the M, takes a dead g (its stack if it has one of the right
/// size, see newproc1) for a goroutine with a stack of `stack_size` bytes (rounded by
/// stack::round_size; gort::go_with_stack).
pub fn newproc_begin(stack_size: usize) -> NewG {
    let mp = acquirem();
    let pp = getp();
    if pp.is_null() {
        crate::throw("newproc: no P");
    }
    let stack_size = stack::round_size(stack_size);
    NewG { mp, pp, gp: newproc1_take(pp, stack_size), stack_size }
}

impl NewG {
    /// Where a closure of `layout` may be moved so that the goroutine finds it, and the top its
    /// frames then start under (0: the stack's own): up to G_CLOSURE_BYTES aligned to at most
    /// G_CLOSURE_ALIGN into the g (G.closure); else, if the g has a stack, up to
    /// inline_closure_max aligned to at most 64 at the top of that stack, with the frames below
    /// it. None: the heap (no stack yet: it comes at the first run).
    #[inline]
    pub fn closure_slot(&self, layout: core::alloc::Layout) -> Option<(usize, usize)> {
        let (size, align) = (layout.size(), layout.align());
        if size <= G_CLOSURE_BYTES && align <= G_CLOSURE_ALIGN {
            // SAFETY: gp is dead and ours (newproc_begin); only its address is taken.
            return Some((unsafe { ptr::addr_of_mut!((*self.gp).closure) } as usize, 0));
        }
        // SAFETY: gp is dead and ours.
        let s = unsafe { (*self.gp).stack };
        if s.lo == 0 || size > inline_closure_max(self.stack_size) || align > 64 {
            return None;
        }
        let at = (s.hi - size) & !(align.max(16) - 1);
        Some((at, at))
    }
}

/// Go's newproc, second half: sets the g up to run `entry(ctx)` with its frames under `top` (0:
/// the stack's own top; else the closure_slot the closure went to), queues it (runnext when
/// `next`, else the tail of the local queue), wakes a P, unpins.
///
/// # Safety
/// `entry(ctx)` is a goroutine body that may run on any thread; a non-zero `top` is the value
/// closure_slot returned for `ng`. `gopc` and `loc` are the creating `gort::go` call's pc and
/// source location (Go's gopc), printed by a goroutine dump's `created by` line.
pub unsafe fn newproc_end(
    ng: NewG,
    entry: usize,
    ctx: usize,
    top: usize,
    gopc: usize,
    loc: Option<&'static core::panic::Location<'static>>,
    next: bool,
) -> *mut G {
    let NewG { mp, pp, gp: newg, stack_size } = ng;
    newproc1_setup(newg, pp, entry, ctx, top, stack_size);
    let parent = arch::getg();
    // SAFETY: newg is runnable but on no run queue yet: still ours. A non-null getg is the
    // running g (a user goroutine here: newproc needs a P and runs on its caller's stack).
    unsafe {
        (*newg).parent_goid = if parent.is_null() { 0 } else { (*parent).goid };
        (*newg).gopc = gopc;
        (*newg).gopc_loc = loc;
        if crate::trace::on() {
            crate::trace::go_create(newg, (*newg).parent_goid);
        }
    }
    runqput(pp, newg, next);
    if MAIN_STARTED.load(Ordering::Acquire) {
        ensure_sysmon();
        wakep_holding_p();
    }
    releasem(mp);
    newg
}

/// Go's newproc1, first half: a dead g from the P's free list (or a new one); a stack of the
/// wrong size goes back to the pool (the right one comes at the first run).
fn newproc1_take(pp: *mut P, stack_size: usize) -> *mut G {
    let mut newg = gfget(pp);
    if newg.is_null() {
        newg = malg();
        casgstatus(newg, GStatus::Idle, GStatus::Dead);
        allgadd(newg);
    } else {
        // SAFETY: newg is dead and ours.
        let (s, guarded) = unsafe { ((*newg).stack, (*newg).stack_guarded) };
        if s.lo != 0 && stack::limit(&s) != stack_size {
            // Go's gfget likewise frees a stack of the wrong size.
            stack::stackfree(&s, guarded);
            clear_stack(newg);
        }
    }
    newg
}

/// Go's newproc1, second half: newg (dead, ours) set up to run entry(ctx) under `top` (0: its
/// stack's top), then goexit; runnable.
fn newproc1_setup(newg: *mut G, pp: *mut P, entry: usize, ctx: usize, top: usize, stack_size: usize) {
    // SAFETY: newg is dead and ours; pp is owned by this M.
    unsafe {
        let g = &mut *newg;
        g.sched = Gobuf { sp: 0, pc: 0, g: newg, ctx };
        if g.stack.lo != 0 {
            // A g that came with its stack starts on it at once (Go's newproc1).
            arch::gostartcall(&mut g.sched, if top != 0 { top } else { g.stack.hi }, entry, ctx);
            g.lazy_stack.store(0, Ordering::Relaxed);
        } else {
            g.lazy_stack.store(stack_size, Ordering::Relaxed);
        }
        g.startfn = entry;
        g.waitreason = WaitReason::Zero;
        g.preempt.store(false, Ordering::Relaxed);
        g.param.store(0, Ordering::Relaxed);
        g.m = ptr::null_mut();
        let p = &mut *pp;
        if p.goidcache == p.goidcacheend {
            // Go's _GoidCacheBatch: take 16 ids at a time from the global generator.
            p.goidcache = SCHED.goidgen.fetch_add(16, Ordering::Relaxed) + 1;
            p.goidcacheend = p.goidcache + 16;
        }
        g.goid = p.goidcache;
        p.goidcache += 1;
    }
    casgstatus(newg, GStatus::Dead, GStatus::Runnable);
}

/// The first g that is not dead, has a stack, and satisfies `pred`. None if none does, or if
/// the g list is locked and `wait` is false (a fault handler: its thread may hold that lock).
pub(crate) fn find_g(wait: bool, pred: impl Fn(*mut G) -> bool) -> Option<*mut G> {
    let allgs = if wait { ALLGS.lock() } else { ALLGS.try_lock()? };
    // Gs are never freed. A g's stack fields change while it is dead (newproc1, stack
    // donation), or while it is runnable with lazy_stack != 0 (its first run): the Acquire loads
    // of the status (casgstatus publishes with AcqRel) and of lazy_stack (stored 0 with Release
    // after the stack fields) skip both, so the stack read is whole.
    allgs.0.iter().copied().find(|&gp| {
        // SAFETY: gp is a live g (never freed).
        unsafe {
            (*gp).atomicstatus.load(Ordering::Acquire) != GStatus::Dead
                && (*gp).lazy_stack.load(Ordering::Acquire) == 0
                && (*gp).stack.lo != 0
        }
    } && pred(gp))
}
