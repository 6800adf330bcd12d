//! The startup sequence and the scheduler, after Go's proc.go.
//!
//! rt0 (`asm/rt0_<os>_<arch>.S`) hands off to this file and nowhere else. Read top to bottom, the
//! boot is Go's startup sequence, by Go's names:
//!
//! ```text
//! rt0_go (asm) ─► runtime_check      check: sizes, atomics
//!              ─► runtime_args       args: argc/argv, envp, auxv (page size, AT_RANDOM, vDSO)
//!              ─► runtime_osinit     osinit: ncpu, huge page size
//!              ─► runtime_schedinit  schedinit: stackinit, mallocinit, cpuinit, alginit,
//!                                    mcommoninit(m0), sigmask, goargs, goenvs, parsedebugvars,
//!                                    GOMAXPROCS, procresize
//!              ─► runtime_newproc    newproc(runtime_main): G1 on P0's runnext
//!              ─► mstart             mstart0 → mstart1 (minit, initsig) → schedule
//! schedule → findRunnable → execute → gogo ─► runtime_main (G1): sysmon, then the user's main, exit(0)
//! ```
//!
//! After that, the scheduling cycle: every goroutine gives up its M through `mcall` into one of
//! park_m / gosched_m / goexit0 / exitsyscall0, each ending in `schedule()`.

use core::fmt::Write as _;
use core::ptr;
use core::sync::atomic::{AtomicBool, AtomicI32, AtomicI64, AtomicPtr, AtomicU32, AtomicU64, Ordering};

use alloc::boxed::Box;
use alloc::vec::Vec;

use crate::arch;
use crate::lock_futex::{Mutex, Note};
use crate::print::{boottrace, FdWriter};
use crate::runq::{Full, RunQueue};
use crate::runtime1;
use crate::runtime2::*;
use crate::stack;
use crate::sys as os;
use crate::time::{self, nanotime};

// ---------------------------------------------------------------------------------------------
// Globals
// ---------------------------------------------------------------------------------------------

/// m0: the M of the process's initial thread (asm: runtime_m0).
#[no_mangle]
pub static runtime_m0: Global<M> = Global::new(
    // SAFETY: all-zero is a valid M (null pointers, zero counters, None); checked by const eval.
    unsafe { zeroed() },
);
/// g0 of m0, whose stack rt0_go carves from the OS stack (asm: runtime_g0).
#[no_mangle]
pub static runtime_g0: Global<G> = Global::new(
    // SAFETY: all-zero is a valid G; checked by const eval.
    unsafe { zeroed() },
);

/// Go's `sched`.
pub static SCHED: Sched = Sched {
    goidgen: AtomicU64::new(0),
    lock: Mutex::new(),
    locked: core::cell::UnsafeCell::new(SchedLocked {
        midle: ptr::null_mut(),
        nmidle: 0,
        mnext: 0,
        maxmcount: 0,
        nmsys: 0,
        pidle: ptr::null_mut(),
        runq: GQueue::new(),
        nmidlelocked: 0,
    }),
    npidle: AtomicI32::new(0),
    nmspinning: AtomicI32::new(0),
    needspinning: AtomicU32::new(0),
    runqsize: AtomicI32::new(0),
    gcwaiting: AtomicBool::new(false),
    stopwait: AtomicI32::new(0),
    stopnote: Note::new(),
    sysmonwait: AtomicBool::new(false),
    sysmonnote: Note::new(),
    ngalive: AtomicI64::new(0),
    mcount: AtomicI32::new(0),
};

/// Upper bound on GOMAXPROCS (Ps are allocated only up to the value in use).
pub const MAX_GOMAXPROCS: usize = 1024;
/// Go's maxmcount default: more threads than this is a fatal error.
pub const MAX_M_COUNT: i32 = 10000;
/// Usable g0 stack size of Ms other than m0.
const G0_STACK_SIZE: usize = 64 << 10;
/// Signal stack size (gsignal).
const SIGNAL_STACK_SIZE: usize = 32 << 10;
/// sysmon flags a g running longer than this (Go's forcePreemptNS).
const FORCE_PREEMPT_NS: i64 = 10_000_000;

#[allow(clippy::declare_interior_mutable_const)]
const NO_P: AtomicPtr<P> = AtomicPtr::new(ptr::null_mut());
/// Every P ever created, indexed by id. Ps are never freed (a shrunk P is `_Pdead`), so readers
/// without sched.lock always see a valid pointer or null.
static ALLP: [AtomicPtr<P>; MAX_GOMAXPROCS] = [NO_P; MAX_GOMAXPROCS];
/// Current GOMAXPROCS: the number of Ps in use.
static GOMAXPROCS: AtomicI32 = AtomicI32::new(0);
/// Head of the allm list (Ms are never freed).
static ALLM: AtomicPtr<M> = AtomicPtr::new(ptr::null_mut());
/// Set once runtime_main starts: from then on newproc wakes Ps.
static MAIN_STARTED: AtomicBool = AtomicBool::new(false);
/// Every g ever created (for checkdead and scheddetail), guarded by ALLGLOCK.
static ALLGLOCK: Mutex = Mutex::new();
static ALLGS: Global<AllGs> = Global::new(AllGs(Vec::new()));
/// The list behind ALLGS.
struct AllGs(Vec<*mut G>);
// SAFETY: the gs are never freed and the Vec is used only under ALLGLOCK.
unsafe impl Send for AllGs {}
/// Global pool of dead gs with stacks (Go's sched.gFree), under GFREE_LOCK.
static GFREE_LOCK: Mutex = Mutex::new();
static GFREE: Global<(GList, i32)> = Global::new((GList::new(), 0));
/// Dead gs whose stacks the scavenger has visited (deep pages given back), under GFREE_LOCK;
/// gfget takes from it only when GFREE is empty.
static GFREE_SCAVENGED: Global<(GList, i32)> = Global::new((GList::new(), 0));
/// The global free list may hold this many gs before sysmon scavenges the rest's stacks.
const GFREE_KEEP_HOT: i32 = 256;
/// nanotime when schedinit finished (Go's runtimeInitTime), for schedtrace.
static RUNTIME_INIT_TIME: AtomicI64 = AtomicI64::new(0);
/// Token for the one M that sleeps until the next timer (Go's sched.lastpoll: 0 = taken).
static TIMER_SLEEPER_FREE: AtomicBool = AtomicBool::new(true);
/// When the timer sleeper will wake on its own (0: nobody sleeps).
static POLL_UNTIL: AtomicI64 = AtomicI64::new(0);
/// Futex word the timer sleeper waits on; wakeNetPoller sets it to 1.
static POLL_WAKE: AtomicU32 = AtomicU32::new(0);

/// `&m0`.
pub fn m0() -> *mut M {
    runtime_m0.get()
}

/// `&g0` of m0.
pub fn g0() -> *mut G {
    runtime_g0.get()
}

/// sched's lock-guarded part.
///
/// # Safety
/// The caller must hold SCHED.lock, and must not keep the reference past unlocking.
#[allow(clippy::mut_from_ref)]
unsafe fn sl() -> &'static mut SchedLocked {
    // SAFETY: forwarded to the caller.
    unsafe { &mut *SCHED.locked.get() }
}

/// Current GOMAXPROCS.
pub fn gomaxprocs() -> i32 {
    GOMAXPROCS.load(Ordering::Acquire)
}

/// `allp[i]`.
fn allp(i: usize) -> *mut P {
    ALLP[i].load(Ordering::Acquire)
}

/// The current M (Go's getg().m).
#[inline]
pub fn getm() -> *mut M {
    // SAFETY: every g the runtime installs has a valid m while it runs.
    unsafe { (*arch::getg()).m }
}

/// The P of the current M, or null.
#[inline]
pub fn getp() -> *mut P {
    // SAFETY: as getm.
    unsafe { (*getm()).p.load(Ordering::Relaxed) }
}

// ---------------------------------------------------------------------------------------------
// Boot: the steps rt0_go calls, in order.
// ---------------------------------------------------------------------------------------------

/// rt0_go → check (Go's runtime·check). The first Rust code to run; TLS already works.
#[no_mangle]
pub extern "C" fn runtime_check() {
    crate::print::boottrace_start();
    let (m0, g0) = (m0(), g0());
    // SAFETY: rt0_go has initialised g0's stack bounds and the m0/g0 links; single-threaded.
    unsafe {
        let base = arch::tls_base();
        let tls = ptr::addr_of!((*m0).tls) as usize;
        let s = &(*g0).stack;
        // linux: the thread pointer is &m0.tls; windows: tls_base is our TEB slot, holding g0.
        #[cfg(not(windows))]
        let (tls_check, tls_ok) = ("tls_base_is_m0_tls", base == tls);
        #[cfg(windows)]
        let (tls_check, tls_ok) = ("tls_slot_holds_g0", *(base as *const usize) == g0 as usize);
        boottrace(
            "rt0_go",
            format_args!(
                "tls={} tls_base={:#x} &m0.tls={:#x} {}={} getg_is_g0={} g0.stack=[{:#x}, {:#x}) size={} m0.g0=&g0:{} g0.m=&m0:{}",
                arch::TLS_MECHANISM,
                base,
                tls,
                tls_check,
                tls_ok,
                arch::getg() == g0,
                s.lo,
                s.hi,
                s.hi - s.lo,
                (*m0).g0 == g0,
                (*g0).m == m0
            ),
        );
    }
    runtime1::check();
    boottrace("check", format_args!("type sizes, alignment and atomics ok"));
}

/// rt0_go → args (Go's runtime·args → sysargs): argc/argv, envp, the auxiliary vector.
///
/// # Safety
/// Called once by rt0_go with the kernel's argc/argv.
#[no_mangle]
pub unsafe extern "C" fn runtime_args(argc: isize, argv: *const *const u8) {
    // SAFETY: forwarded from rt0_go.
    let a = unsafe { os::sysargs(argc as usize, argv) };
    boottrace("args", format_args!("argc={} envc={} {}", runtime1::argc(), runtime1::envc(), a));
}

/// rt0_go → osinit (Go's runtime·osinit): ncpu and the page sizes.
#[no_mangle]
pub extern "C" fn runtime_osinit() {
    os::osinit();
    boottrace(
        "osinit",
        format_args!(
            "os={} ncpu={} physPageSize={} physHugePageSize={}",
            os::GOOS,
            os::ncpu(),
            os::phys_page_size(),
            os::phys_huge_page_size()
        ),
    );
}

/// rt0_go → schedinit (Go's runtime·schedinit): every sub-step by Go's name, in Go's order.
#[no_mangle]
pub extern "C" fn runtime_schedinit() {
    let mp = m0();
    // lockInit: gort's locks are statically initialised futex words; nothing to rank.
    boottrace("schedinit", format_args!("begin"));
    // SAFETY: single-threaded boot; no lock needed yet but take it for the invariant.
    SCHED.lock.lock();
    // SAFETY: sched.lock held.
    unsafe { sl().maxmcount = MAX_M_COUNT };
    SCHED.lock.unlock();
    boottrace("schedinit.maxmcount", format_args!("{}", MAX_M_COUNT));

    stack::stackinit();
    let (_, budget) = stack::guard_stats();
    boottrace(
        "schedinit.stackinit",
        format_args!("goroutine stack={} bytes, guard page budget={}", stack::stack_size(), budget),
    );

    crate::malloc::mallocinit();
    boottrace(
        "schedinit.mallocinit",
        format_args!(
            "{} size classes up to {} bytes, {}-byte pages, arena={} bytes",
            crate::malloc::NUM_CLASSES - 1,
            crate::malloc::MAX_SMALL_SIZE,
            crate::mheap::PAGE_SIZE,
            crate::malloc::read_mem_stats().heap_sys
        ),
    );

    let cpu = crate::alg::cpuinit();
    boottrace("schedinit.cpuinit", format_args!("{}", cpu));

    // SAFETY: startup_random is AT_RANDOM's address (16 bytes) or 0.
    let seed = unsafe { crate::alg::alginit(os::startup_random()) };
    boottrace("schedinit.alginit", format_args!("hash seed from AT_RANDOM: {:#018x}", seed));

    mcommoninit(mp, -1);
    // SAFETY: mp is m0.
    boottrace("schedinit.mcommoninit", format_args!("m0 id={} (maxmcount={})", unsafe { (*mp).id }, MAX_M_COUNT));

    let mask = os::save_initsigmask();
    boottrace("schedinit.initSigmask", format_args!("{:#x}", mask));

    runtime1::goargs();
    boottrace("schedinit.goargs", format_args!("{} args", runtime1::argslice().len()));
    runtime1::goenvs();
    boottrace("schedinit.goenvs", format_args!("{} env entries", runtime1::envs().len()));

    let secure = os::secure_mode();
    runtime1::parsedebugvars(secure);
    let dbg = runtime1::debug();
    crate::print::boottrace_decide(dbg.boottrace > 0);
    boottrace(
        "schedinit.parsedebugvars",
        format_args!(
            "secure={} schedtrace={} scheddetail={} boottrace={}",
            secure as u8, dbg.schedtrace, dbg.scheddetail, dbg.boottrace
        ),
    );

    let env = runtime1::gogetenv("GOMAXPROCS");
    let procs = match runtime1::gomaxprocs_env(env) {
        Some(n) => n.min(MAX_GOMAXPROCS as i32),
        None => os::ncpu().min(MAX_GOMAXPROCS as u32) as i32,
    };
    boottrace(
        "schedinit.gomaxprocs",
        format_args!(
            "GOMAXPROCS env={:?} ncpu={} -> procs={}",
            env.map(|v| core::str::from_utf8(v).unwrap_or("<non-utf8>")),
            os::ncpu(),
            procs
        ),
    );
    SCHED.lock.lock();
    let runnable = procresize(procs);
    SCHED.lock.unlock();
    if !runnable.is_null() {
        crate::throw("unknown runnable goroutine during bootstrap");
    }
    RUNTIME_INIT_TIME.store(nanotime(), Ordering::Relaxed);
    boottrace(
        "schedinit.procresize",
        format_args!("allp[0..{}], P0 bound to m0 (_Prunning), {} idle", procs, SCHED.npidle.load(Ordering::Relaxed)),
    );
}

/// rt0_go → newproc(runtime_main): creates goroutine 1 on P0.
#[no_mangle]
pub extern "C" fn runtime_newproc(entry: usize) {
    let gp = newproc(entry, 0);
    // SAFETY: newproc returns a valid g.
    boottrace("newproc", format_args!("runtime_main as goid={} on P0 runnext", unsafe { (*gp).goid }));
}

/// rt0_go → mstart, and the entry of every new M's thread (Go's mstart → mstart0).
#[export_name = "runtime_mstart"]
pub extern "C" fn mstart() -> ! {
    mstart0()
}

/// Go's mstart0: g0's stack guard, then mstart1.
fn mstart0() -> ! {
    let gp = arch::getg();
    // SAFETY: gp is this M's g0 with its stack bounds set (by rt0_go or allocm).
    unsafe {
        if (*gp).stack.lo == 0 {
            crate::throw("mstart0: g0 has no stack");
        }
    }
    mstart1()
}

/// Go's mstart1: records where g0's stack resets to, minit, signals (m0), mstartfn, the P, schedule.
fn mstart1() -> ! {
    let gp = arch::getg();
    // SAFETY: gp is g0 of this M.
    let mp = unsafe { (*gp).m };
    // SAFETY: mp is this thread's M.
    unsafe {
        if gp != (*mp).g0 {
            crate::throw("bad runtime·mstart");
        }
        // Every mcall/systemstack onto g0 starts from here: our frame and callers stay intact.
        (*gp).sched.sp = arch::getsp();
        (*gp).sched.g = gp;
    }
    minit();
    if mp == m0() {
        mstartm0();
        boottrace("mstart", format_args!("m0: mstart0 → mstart1 → minit → initsig → schedule"));
    }
    // SAFETY: mstartfn and nextp were set by newm before the thread started.
    unsafe {
        if let Some(f) = (*mp).mstartfn {
            f();
        }
        if mp != m0() {
            acquirep((*mp).nextp);
            (*mp).nextp = ptr::null_mut();
        }
    }
    schedule()
}

/// Go's minit (per OS: thread id, signal stack and mask on Linux).
fn minit() {
    os::minit(getm());
}

/// Go's mstartm0: m0 installs the signal handlers.
fn mstartm0() {
    os::initsig();
}

/// Goroutine 1 (Go's runtime.main): starts sysmon, runs the user's main, exits 0.
extern "C" fn runtime_main(_ctx: usize) {
    let gp = arch::getg();
    MAIN_STARTED.store(true, Ordering::Release);
    // SAFETY: gp is the running g.
    boottrace("schedule", format_args!("picked goid={} from P0 runnext; gogo onto its stack", unsafe { (*gp).goid }));
    newm(Some(sysmon), ptr::null_mut(), -1);
    boottrace("main", format_args!("runtime_main: sysmon started, mainStarted=true, calling the user's main"));
    #[cfg(not(test))]
    {
        extern "Rust" {
            /// Defined by `gort::main!` in the program.
            fn gort_user_main();
        }
        // SAFETY: gort::main! defines gort_user_main as a plain `fn()`.
        unsafe { gort_user_main() };
    }
    os::exit(0);
}

/// The address of runtime_main, for rt0_go's `newproc(runtime_main)`.
#[no_mangle]
pub static runtime_mainPC: extern "C" fn(usize) = runtime_main;

// ---------------------------------------------------------------------------------------------
// M, P and G bookkeeping
// ---------------------------------------------------------------------------------------------

/// Go's mcommoninit: M id (checked against maxmcount), random seed, signal stack, allm.
fn mcommoninit(mp: *mut M, id: i64) {
    SCHED.lock.lock();
    // SAFETY: sched.lock held; mp is a fresh or boot M not yet visible to others.
    unsafe {
        (*mp).id = if id >= 0 { id } else { mreserveid() };
        (*mp).fastrand = crate::alg::seed_for(((*mp).id as u64) ^ 0x9e37_79b9_7f4a_7c15);
        mpreinit(mp);
        (*mp).alllink = ALLM.load(Ordering::Relaxed);
        ALLM.store(mp, Ordering::Release);
    }
    SCHED.lock.unlock();
}

/// Go's mReserveID: the next M id; fatal beyond maxmcount. Caller holds sched.lock.
fn mreserveid() -> i64 {
    // SAFETY: sched.lock held by the caller.
    let s = unsafe { sl() };
    let id = s.mnext;
    s.mnext += 1;
    SCHED.mcount.fetch_add(1, Ordering::Relaxed);
    checkmcount(s);
    id
}

/// Go's debug.SetMaxThreads: sets maxmcount (values < 1 mean 1) and returns the previous limit;
/// if more threads exist already, the program dies of thread exhaustion as Go's does.
pub fn set_max_threads(n: i32) -> i32 {
    SCHED.lock.lock();
    // SAFETY: sched.lock held.
    let s = unsafe { sl() };
    let old = s.maxmcount;
    s.maxmcount = n.max(1);
    checkmcount(s);
    SCHED.lock.unlock();
    old
}

/// Go's checkmcount: too many threads is fatal ("thread exhaustion").
fn checkmcount(s: &SchedLocked) {
    let count = s.mnext;
    if s.maxmcount > 0 && count > s.maxmcount as i64 {
        crate::print::print(true, format_args!("runtime: program exceeds {}-thread limit\n", s.maxmcount));
        crate::throw("thread exhaustion");
    }
}

/// Go's mpreinit: allocates the signal-handling g and its stack.
fn mpreinit(mp: *mut M) {
    let gs = Box::into_raw(Box::new(
        // SAFETY: all-zero is a valid G.
        unsafe { zeroed::<G>() },
    ));
    // SAFETY: gs is fresh; mp is ours.
    unsafe {
        (*gs).stack = stack::sysstack(SIGNAL_STACK_SIZE);
        (*gs).m = mp;
        (*gs).atomicstatus.store(GDEAD, Ordering::Relaxed);
        (*mp).gsignal = gs;
    }
}

/// Go's newm: a new M (with its own g0 stack and TLS) that runs `f` then schedules with `pp`.
fn newm(f: Option<fn()>, pp: *mut P, id: i64) {
    let mp = Box::into_raw(Box::new(
        // SAFETY: all-zero is a valid M.
        unsafe { zeroed::<M>() },
    ));
    let g0 = Box::into_raw(Box::new(
        // SAFETY: all-zero is a valid G.
        unsafe { zeroed::<G>() },
    ));
    // SAFETY: both are fresh and not yet shared.
    unsafe {
        (*g0).stack = stack::sysstack(G0_STACK_SIZE);
        (*g0).m = mp;
        (*g0).atomicstatus.store(GDEAD, Ordering::Relaxed);
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
                SCHED.mcount.load(Ordering::Relaxed),
                -r
            ),
        );
        crate::throw("newosproc");
    }
}

/// Go's allgadd: records a new g.
fn allgadd(gp: *mut G) {
    ALLGLOCK.lock();
    // SAFETY: under ALLGLOCK.
    unsafe { (*ALLGS.get()).0.push(gp) };
    ALLGLOCK.unlock();
}

/// Go's malg, without the stack: a new g whose stack is allocated at its first run
/// (`stack_for_first_run`).
fn malg() -> *mut G {
    Box::into_raw(Box::new(
        // SAFETY: all-zero is a valid G (no stack: stack.lo == 0).
        unsafe { zeroed::<G>() },
    ))
}

/// A goroutine's stack at its first run (execute, on g0): the stack of a dead g on the P's free
/// list if that one has the right size (it stays on the list, stackless; its stack was just used,
/// so its top pages are likely resident and cached), else stackalloc. Lazy stacks are what let a
/// burst of spawns cost g structs only: goroutines that run and exit hand their stacks on to the
/// ones that start after them instead of each touching a fresh stack.
fn stack_for_first_run(pp: *mut P, gp: *mut G) {
    // SAFETY: on g0 with pp owned by this M; gp is runnable, ours, and has never run; a donor
    // popped from pp's free list is dead and goes back on it.
    unsafe {
        let size = (*gp).lazy_stack.load(Ordering::Relaxed);
        let donor = (*pp).gfree.pop();
        let (s, guarded) = if !donor.is_null() && (*donor).stack.lo != 0 && stack::limit(&(*donor).stack) == size {
            let taken = ((*donor).stack, (*donor).stack_guarded);
            clear_stack(donor);
            taken
        } else {
            stack::stackalloc(size)
        };
        if !donor.is_null() {
            (*pp).gfree.push(donor);
        }
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
fn clear_stack(gp: *mut G) {
    // SAFETY: gp is dead and ours.
    unsafe {
        (*gp).stack = crate::runtime2::Stack { lo: 0, hi: 0 };
        (*gp).stack_guarded = false;
    }
}

/// Go's casgstatus: status transitions by CAS; a mismatch is a runtime bug.
pub fn casgstatus(gp: *mut G, old: u32, new: u32) {
    // SAFETY: gp is a valid g.
    let st = unsafe { &(*gp).atomicstatus };
    // AcqRel: the goroutine's state written before a transition is visible to whoever observes
    // the new status (e.g. a waker that sees _Gwaiting sees the saved context).
    if let Err(cur) = st.compare_exchange(old, new, Ordering::AcqRel, Ordering::Acquire) {
        crate::print::fatal_fmt(format_args!("casgstatus: bad transition {} -> {} (status is {})", old, new, cur));
    }
}

/// Go's readgstatus.
pub fn readgstatus(gp: *mut G) -> u32 {
    // SAFETY: gp is a valid g.
    unsafe { (*gp).atomicstatus.load(Ordering::Acquire) }
}

/// Go's gfput: a dead g goes on the P's free list (half move to the global list past 64).
fn gfput(pp: *mut P, gp: *mut G) {
    // SAFETY: pp is owned by this M; gp is dead and on no list.
    unsafe {
        let p = &mut *pp;
        p.gfree.push(gp);
        p.gfreecnt += 1;
        if p.gfreecnt >= 64 {
            GFREE_LOCK.lock();
            let g = &mut *GFREE.get();
            while p.gfreecnt >= 32 {
                let x = p.gfree.pop();
                p.gfreecnt -= 1;
                g.0.push(x);
                g.1 += 1;
            }
            GFREE_LOCK.unlock();
        }
    }
}

/// Go's background scavenger, for goroutine stacks (run by sysmon): while the global free list
/// holds more than GFREE_KEEP_HOT dead gs, up to `max` of them have their stacks' deep pages
/// given back to the OS (stack::scavenge) and move to GFREE_SCAVENGED. The stack scans and
/// madvise calls happen outside GFREE_LOCK.
fn scavenge_gfree(max: usize) {
    let mut done = 0;
    while done < max {
        let mut batch = GList::new();
        let mut n = 0;
        GFREE_LOCK.lock();
        // SAFETY: under GFREE_LOCK.
        unsafe {
            let g = &mut *GFREE.get();
            while g.1 > GFREE_KEEP_HOT && n < 64 {
                batch.push(g.0.pop());
                g.1 -= 1;
                n += 1;
            }
        }
        GFREE_LOCK.unlock();
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
        GFREE_LOCK.lock();
        // SAFETY: under GFREE_LOCK.
        unsafe {
            let c = &mut *GFREE_SCAVENGED.get();
            loop {
                let gp = out.pop();
                if gp.is_null() {
                    break;
                }
                c.0.push(gp);
                c.1 += 1;
            }
        }
        GFREE_LOCK.unlock();
        done += n;
    }
}

/// Go's gfget: a dead g with a stack from the P's list, refilled from the global list.
fn gfget(pp: *mut P) -> *mut G {
    // SAFETY: pp is owned by this M.
    unsafe {
        let p = &mut *pp;
        if p.gfree.empty() && ((*GFREE.get()).1 > 0 || (*GFREE_SCAVENGED.get()).1 > 0) {
            GFREE_LOCK.lock();
            for list in [&GFREE, &GFREE_SCAVENGED] {
                let g = &mut *list.get();
                while p.gfreecnt < 32 && !g.0.empty() {
                    let x = g.0.pop();
                    g.1 -= 1;
                    p.gfree.push(x);
                    p.gfreecnt += 1;
                }
            }
            GFREE_LOCK.unlock();
        }
        let gp = p.gfree.pop();
        if !gp.is_null() {
            p.gfreecnt -= 1;
        }
        gp
    }
}

// ---------------------------------------------------------------------------------------------
// newproc
// ---------------------------------------------------------------------------------------------

/// Go's newproc: a new goroutine running `entry(ctx)`, queued in runnext of the current P.
pub fn newproc(entry: usize, ctx: usize) -> *mut G {
    newproc_stack(entry, ctx, stack::stack_size())
}

/// newproc with a stack of `stack_size` bytes (rounded by stack::round_size) instead of the
/// default (gort::go_with_stack).
pub fn newproc_stack(entry: usize, ctx: usize, stack_size: usize) -> *mut G {
    let pp = getp();
    if pp.is_null() {
        crate::throw("newproc: no P");
    }
    let newg = newproc1(entry, ctx, pp, stack::round_size(stack_size));
    runqput(pp, newg, true);
    if MAIN_STARTED.load(Ordering::Acquire) {
        wakep();
    }
    newg
}

/// Go's newproc1: takes a dead g (or makes one) and sets it up to run entry(ctx), then goexit.
fn newproc1(entry: usize, ctx: usize, pp: *mut P, stack_size: usize) -> *mut G {
    let mut newg = gfget(pp);
    if newg.is_null() {
        newg = malg();
        casgstatus(newg, GIDLE, GDEAD);
        allgadd(newg);
    } else {
        // SAFETY: newg is dead and ours.
        let (s, guarded) = unsafe { ((*newg).stack, (*newg).stack_guarded) };
        if s.lo != 0 && stack::limit(&s) != stack_size {
            // Go's gfget likewise frees a stack of the wrong size (the right one comes at the
            // first run).
            stack::stackfree(&s, guarded);
            clear_stack(newg);
        }
    }
    // SAFETY: newg is dead and ours; pp is owned by this M.
    unsafe {
        let g = &mut *newg;
        g.sched = Gobuf { sp: 0, pc: 0, g: newg, ctx };
        if g.stack.lo != 0 {
            // A g that came with its stack starts on it at once (Go's newproc1).
            arch::gostartcall(&mut g.sched, g.stack.hi, entry, ctx);
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
        g.runnable_since = 0;
    }
    SCHED.ngalive.fetch_add(1, Ordering::Relaxed);
    casgstatus(newg, GDEAD, GRUNNABLE);
    newg
}

// ---------------------------------------------------------------------------------------------
// Run queues
// ---------------------------------------------------------------------------------------------

/// Go's runqput: onto pp's local queue (runnext if `next`), overflow to the global queue.
pub fn runqput(pp: *mut P, gp: *mut G, next: bool) {
    // SAFETY: pp is owned by the calling M (only the owner puts).
    let q = unsafe { &(*pp).runq };
    if let Err(Full(v)) = q.put(gp as usize, next) {
        runqputslow(pp, v as *mut G);
    }
}

/// Go's runqputslow: moves half of the full local queue plus gp to the global queue.
fn runqputslow(pp: *mut P, gp: *mut G) {
    // SAFETY: pp is owned by the calling M.
    let q = unsafe { &(*pp).runq };
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
        SCHED.lock.lock();
        for &g in &batch[..=n] {
            globrunqput(g as *mut G);
        }
        SCHED.lock.unlock();
        return;
    }
}

/// Go's globrunqput: appends to the global queue. Caller holds sched.lock.
fn globrunqput(gp: *mut G) {
    // SAFETY: sched.lock held; gp is runnable and on no list.
    unsafe { sl().runq.push_back(gp) };
    SCHED.runqsize.fetch_add(1, Ordering::Relaxed);
}

/// Go's globrunqget: takes a fair share of the global queue into pp; returns one g to run.
/// Caller holds sched.lock.
fn globrunqget(pp: *mut P, max: i32) -> *mut G {
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
    // SAFETY: sched.lock held.
    let s = unsafe { sl() };
    let gp = s.runq.pop();
    for _ in 1..n {
        let g1 = s.runq.pop();
        runqput(pp, g1, false);
    }
    gp
}

/// Go's runqget: the next g from pp's local queue; the bool is "inherit the time slice".
fn runqget(pp: *mut P) -> Option<(*mut G, bool)> {
    // SAFETY: pp is owned by the calling M.
    unsafe { (*pp).runq.get() }.map(|(g, inherit)| (g as *mut G, inherit))
}

/// Go's runqsteal: half of p2's queue into pp's, returning one to run.
fn runqsteal(pp: *mut P, p2: *mut P, steal_runnext: bool) -> *mut G {
    // SAFETY: pp is ours; p2 is any valid P (grab is safe from any thread).
    unsafe { (*pp).runq.steal_from(&(*p2).runq, steal_runnext) }.map_or(ptr::null_mut(), |g| g as *mut G)
}

// ---------------------------------------------------------------------------------------------
// P lifecycle: procresize, acquirep/releasep, idle lists
// ---------------------------------------------------------------------------------------------

/// Go's procresize: grows/shrinks the set of Ps to `nprocs`, keeps (or gives) the caller a P,
/// puts Ps without work on the idle list and returns a list of Ps with work (linked by `link`).
/// Caller holds sched.lock and the world is stopped (or not yet started).
fn procresize(nprocs: i32) -> *mut P {
    let old = gomaxprocs();
    if nprocs <= 0 || nprocs as usize > MAX_GOMAXPROCS {
        crate::throw("procresize: invalid arg");
    }
    for (i, slot) in ALLP.iter().enumerate().take(nprocs as usize) {
        let pp = slot.load(Ordering::Acquire);
        if pp.is_null() {
            let p = Box::into_raw(Box::new(P {
                id: i as i32,
                status: AtomicU32::new(PGCSTOP),
                link: ptr::null_mut(),
                schedtick: 0,
                syscalltick: AtomicU32::new(0),
                sysmontick: SysmonTick { schedtick: 0, syscalltick: 0, schedwhen: 0, syscallwhen: 0 },
                m: AtomicPtr::new(ptr::null_mut()),
                goidcache: 0,
                goidcacheend: 0,
                runq: RunQueue::new(),
                gfree: GList::new(),
                gfreecnt: 0,
                timers: time::TimerHeap::new(),
                timers_lock: Mutex::new(),
                timer0_when: AtomicI64::new(0),
                mcache: crate::malloc::Mcache::new(),
                sudogcache: crate::sudog::SudogCache::new(),
            }));
            slot.store(p, Ordering::Release);
        } else {
            // SAFETY: a P from allp; the world is stopped.
            unsafe {
                let st = (*pp).status.load(Ordering::Relaxed);
                if st == PDEAD {
                    (*pp).status.store(PGCSTOP, Ordering::Relaxed);
                }
            }
        }
    }
    let mp = getm();
    // SAFETY: mp is ours; Ps are valid and the world is stopped.
    unsafe {
        let cur = (*mp).p.load(Ordering::Relaxed);
        if !cur.is_null() && (*cur).id < nprocs {
            (*cur).status.store(PRUNNING, Ordering::Relaxed);
        } else {
            if !cur.is_null() {
                (*cur).m.store(ptr::null_mut(), Ordering::Relaxed);
                (*mp).p.store(ptr::null_mut(), Ordering::Relaxed);
            }
            let p0 = allp(0);
            (*p0).m.store(ptr::null_mut(), Ordering::Relaxed);
            (*p0).status.store(PIDLE, Ordering::Relaxed);
            acquirep(p0);
        }
        // Destroy the Ps past nprocs: their work moves to the global queue and to the caller's P.
        let mine = (*mp).p.load(Ordering::Relaxed);
        for i in nprocs as usize..old.max(0) as usize {
            let pp = allp(i);
            (*pp).runq.drain(|g| globrunqput(g as *mut G));
            loop {
                let gp = (*pp).gfree.pop();
                if gp.is_null() {
                    break;
                }
                (*pp).gfreecnt -= 1;
                GFREE_LOCK.lock();
                let g = &mut *GFREE.get();
                g.0.push(gp);
                g.1 += 1;
                GFREE_LOCK.unlock();
            }
            (*pp).timers_lock.lock();
            (*mine).timers_lock.lock();
            (*pp).timers.move_all(&mut (*mine).timers);
            (*mine).timer0_when.store((*mine).timers.next_when(), Ordering::Release);
            (*pp).timer0_when.store(0, Ordering::Release);
            (*mine).timers_lock.unlock();
            (*pp).timers_lock.unlock();
            // Go's freemcache: the cached objects go back to their classes.
            (*pp).mcache.release_all();
            (*pp).status.store(PDEAD, Ordering::Relaxed);
        }
        // Rebuild the idle list from scratch.
        sl().pidle = ptr::null_mut();
        SCHED.npidle.store(0, Ordering::Relaxed);
        GOMAXPROCS.store(nprocs, Ordering::Release);
        let mut runnable: *mut P = ptr::null_mut();
        for i in (0..nprocs as usize).rev() {
            let pp = allp(i);
            if pp == mine {
                continue;
            }
            (*pp).status.store(PIDLE, Ordering::Relaxed);
            if (*pp).runq.is_empty() {
                pidleput(pp);
            } else {
                (*pp).m.store(mget(), Ordering::Relaxed);
                (*pp).link = runnable;
                runnable = pp;
            }
        }
        runnable
    }
}

/// Go's acquirep (wirep): associates pp with the current M.
fn acquirep(pp: *mut P) {
    let mp = getm();
    // SAFETY: pp is idle (ours to take) and mp is this thread's M.
    unsafe {
        if !(*mp).p.load(Ordering::Relaxed).is_null() {
            crate::throw("wirep: already in go");
        }
        let st = (*pp).status.load(Ordering::Relaxed);
        if !(*pp).m.load(Ordering::Relaxed).is_null() || st != PIDLE {
            crate::print::fatal_fmt(format_args!("wirep: invalid p state (status={})", st));
        }
        (*mp).p.store(pp, Ordering::Relaxed);
        (*pp).m.store(mp, Ordering::Relaxed);
        (*pp).status.store(PRUNNING, Ordering::Release);
    }
}

/// Go's releasep: disassociates the current M from its P, which becomes idle.
fn releasep() -> *mut P {
    let mp = getm();
    // SAFETY: mp is ours; its P is _Prunning and owned by it.
    unsafe {
        let pp = (*mp).p.load(Ordering::Relaxed);
        if pp.is_null() || (*pp).m.load(Ordering::Relaxed) != mp || (*pp).status.load(Ordering::Relaxed) != PRUNNING {
            crate::throw("releasep: invalid arg");
        }
        (*mp).p.store(ptr::null_mut(), Ordering::Relaxed);
        (*pp).m.store(ptr::null_mut(), Ordering::Relaxed);
        (*pp).status.store(PIDLE, Ordering::Release);
        pp
    }
}

/// Go's pidleput: pp onto the idle list. Caller holds sched.lock; pp has no local work.
fn pidleput(pp: *mut P) {
    // SAFETY: sched.lock held; pp is idle.
    unsafe {
        if !(*pp).runq.is_empty() {
            crate::throw("pidleput: P has non-empty run queue");
        }
        let s = sl();
        (*pp).link = s.pidle;
        s.pidle = pp;
    }
    SCHED.npidle.fetch_add(1, Ordering::Release);
}

/// Go's pidleget: an idle P, or null. Caller holds sched.lock.
fn pidleget() -> *mut P {
    // SAFETY: sched.lock held.
    unsafe {
        let s = sl();
        let pp = s.pidle;
        if !pp.is_null() {
            s.pidle = (*pp).link;
            SCHED.npidle.fetch_sub(1, Ordering::Release);
        }
        pp
    }
}

/// Go's pidlegetSpinning: pidleget, and if none, tells running Ms someone wanted to spin.
fn pidleget_spinning() -> *mut P {
    let pp = pidleget();
    if pp.is_null() {
        SCHED.needspinning.store(1, Ordering::Relaxed);
    }
    pp
}

/// Go's mput: mp onto the idle M list, then checkdead. Caller holds sched.lock.
fn mput(mp: *mut M) {
    // SAFETY: sched.lock held; mp is the calling M about to sleep.
    unsafe {
        let s = sl();
        (*mp).schedlink = s.midle;
        s.midle = mp;
        s.nmidle += 1;
    }
    checkdead();
}

/// Go's mget: an idle M, or null. Caller holds sched.lock.
fn mget() -> *mut M {
    // SAFETY: sched.lock held.
    unsafe {
        let s = sl();
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
fn stopm() {
    let mp = getm();
    // SAFETY: mp is ours.
    unsafe {
        if (*mp).locks != 0 {
            crate::throw("stopm holding locks");
        }
        if !(*mp).p.load(Ordering::Relaxed).is_null() {
            crate::throw("stopm holding p");
        }
        if (*mp).spinning {
            crate::throw("stopm spinning");
        }
        SCHED.lock.lock();
        mput(mp);
        SCHED.lock.unlock();
        (*mp).blocked = true;
        (*mp).park.sleep();
        (*mp).park.clear();
        (*mp).blocked = false;
        acquirep((*mp).nextp);
        (*mp).nextp = ptr::null_mut();
    }
}

/// The mstartfn of an M started to spin (Go's mspinning).
fn mspinning() {
    // SAFETY: getm is this thread's M.
    unsafe { (*getm()).spinning = true };
}

/// Go's startm: runs pp (or any idle P if null) on an idle or new M. If `spinning`, the caller
/// already counted the M in nmspinning.
fn startm(mut pp: *mut P, spinning: bool) {
    SCHED.lock.lock();
    if pp.is_null() {
        if spinning {
            crate::throw("startm: P required for spinning=true");
        }
        pp = pidleget();
        if pp.is_null() {
            SCHED.lock.unlock();
            return;
        }
    }
    let nmp = mget();
    if nmp.is_null() {
        let id = mreserveid();
        SCHED.lock.unlock();
        let f: Option<fn()> = if spinning { Some(mspinning) } else { None };
        newm(f, pp, id);
        return;
    }
    SCHED.lock.unlock();
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

/// Go's handoffp: the current M is giving up pp (syscall, no work): start an M for it if there
/// is work, else make it idle.
fn handoffp(pp: *mut P) {
    // SAFETY: pp was released to us by the caller and is not running anywhere.
    unsafe {
        if !(*pp).runq.is_empty() || SCHED.runqsize.load(Ordering::Relaxed) != 0 {
            startm(pp, false);
            return;
        }
        if SCHED.gcwaiting.load(Ordering::Acquire) {
            SCHED.lock.lock();
            (*pp).status.store(PGCSTOP, Ordering::Relaxed);
            let left = SCHED.stopwait.fetch_sub(1, Ordering::AcqRel) - 1;
            SCHED.lock.unlock();
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
        SCHED.lock.lock();
        if SCHED.runqsize.load(Ordering::Relaxed) != 0 {
            SCHED.lock.unlock();
            startm(pp, false);
            return;
        }
        // The last running P with timers pending and no timer sleeper: someone must wait for them.
        let when = (*pp).timer0_when.load(Ordering::Acquire);
        if SCHED.npidle.load(Ordering::Relaxed) == gomaxprocs() - 1
            && when != 0
            && TIMER_SLEEPER_FREE.load(Ordering::Acquire)
        {
            SCHED.lock.unlock();
            startm(pp, false);
            return;
        }
        pidleput(pp);
        SCHED.lock.unlock();
        if when != 0 {
            wake_netpoller(when);
        }
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
    SCHED.lock.lock();
    let pp = pidleget_spinning();
    if pp.is_null() {
        if SCHED.nmspinning.fetch_sub(1, Ordering::AcqRel) - 1 < 0 {
            crate::throw("wakep: negative nmspinning");
        }
        SCHED.lock.unlock();
        return;
    }
    SCHED.lock.unlock();
    startm(pp, true);
}

/// Go's becomeSpinning.
fn become_spinning(mp: *mut M) {
    // SAFETY: mp is ours.
    unsafe { (*mp).spinning = true };
    SCHED.nmspinning.fetch_add(1, Ordering::AcqRel);
    SCHED.needspinning.store(0, Ordering::Relaxed);
}

/// Go's resetspinning: we found work while spinning; if we were the last spinner, wake another.
fn resetspinning() {
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
    wake_netpoller(when);
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
            && (*mp).locks == 0
            && !(*mp).p.load(Ordering::Relaxed).is_null()
            && readgstatus(gp) == GRUNNING
    }
}

/// Go's wakeNetPoller (gort has no netpoller, only the timer sleeper): make sure some M wakes by
/// `when`.
fn wake_netpoller(when: i64) {
    if TIMER_SLEEPER_FREE.load(Ordering::Acquire) {
        // Nobody waits for timers: have an M look (it will sleep until the earliest one).
        wakep();
        // If every M is busy spinning or none could be started, the sleeper token stays free and
        // the next M to go idle takes it.
        return;
    }
    let until = POLL_UNTIL.load(Ordering::Acquire);
    if (until == 0 || until > when)
        && POLL_WAKE.swap(1, Ordering::AcqRel) == 0 {
            os::futexwakeup(&POLL_WAKE, 1);
        }
}

// ---------------------------------------------------------------------------------------------
// The scheduling cycle
// ---------------------------------------------------------------------------------------------

/// Go's schedule: find a runnable goroutine and run it. Never returns. Runs on g0.
pub fn schedule() -> ! {
    let mp = getm();
    // SAFETY: mp is ours.
    unsafe {
        if (*mp).locks != 0 {
            crate::throw("schedule: holding locks");
        }
    }
    let (gp, inherit) = find_runnable();
    // SAFETY: mp is ours.
    if unsafe { (*mp).spinning } {
        resetspinning();
    }
    execute(gp, inherit)
}

/// Go's execute: runs gp on the current M (its P's schedtick counts it unless it inherits).
fn execute(gp: *mut G, inherit_time: bool) -> ! {
    // SAFETY: gp is runnable and ours.
    if unsafe { (*gp).lazy_stack.load(Ordering::Relaxed) } != 0 {
        stack_for_first_run(getp(), gp);
    }
    // Before gp is anyone's curg: a report then names the overflowing goroutine only.
    check_stack_run(gp);
    let mp = getm();
    // SAFETY: gp is runnable and was taken off a queue by us; mp and its P are ours.
    unsafe {
        (*mp).curg = gp;
        (*gp).m = mp;
        casgstatus(gp, GRUNNABLE, GRUNNING);
        (*gp).preempt.store(false, Ordering::Relaxed);
        (*gp).runnable_since = nanotime();
        if !inherit_time {
            let pp = (*mp).p.load(Ordering::Relaxed);
            (*pp).schedtick = (*pp).schedtick.wrapping_add(1);
        }
        arch::gogo(&(*gp).sched)
    }
}

/// A random permutation walk over `n` Ps (Go's randomOrder/randomEnum): start and a coprime step.
struct RandomOrder {
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

fn gcd(mut a: u32, mut b: u32) -> u32 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Go's checkTimers: runs pp's due timers (readying their gs onto the current P). Returns the
/// current time, the next timer's time (0 if none) and whether any ran.
#[inline]
fn check_timers(pp: *mut P, now: i64) -> (i64, i64, bool) {
    // The common case, no timers on this P, stays inline in schedule (one load).
    // SAFETY: pp is a valid P; timer0_when is atomic.
    let next = unsafe { (*pp).timer0_when.load(Ordering::Acquire) };
    if next == 0 {
        return (now, 0, false);
    }
    check_timers_slow(pp, now, next)
}

/// check_timers when the P has timers: runs the due ones.
#[inline(never)]
fn check_timers_slow(pp: *mut P, mut now: i64, next: i64) -> (i64, i64, bool) {
    // SAFETY: pp is a valid P; its heap is touched only under timers_lock.
    unsafe {
        if now == 0 {
            now = nanotime();
        }
        if now < next {
            return (now, next, false);
        }
        let mut ready_list = GList::new();
        (*pp).timers_lock.lock();
        while let Some(gp) = (*pp).timers.pop_due(now) {
            ready_list.push(gp);
        }
        let next = (*pp).timers.next_when();
        (*pp).timer0_when.store(next, Ordering::Release);
        (*pp).timers_lock.unlock();
        let ran = !ready_list.empty();
        loop {
            let gp = ready_list.pop();
            if gp.is_null() {
                break;
            }
            (*gp).timer.when = 0;
            ready(gp, true);
        }
        (now, next, ran)
    }
}

/// Go's findRunnable: local queue, global queue, timers, stealing; else give up the P and sleep.
/// Returns with a P and a runnable g.
fn find_runnable() -> (*mut G, bool) {
    let mp = getm();
    'top: loop {
        // SAFETY: mp is ours; while we hold a P, it is ours too.
        unsafe {
            let pp = (*mp).p.load(Ordering::Relaxed);
            if SCHED.gcwaiting.load(Ordering::Acquire) {
                gcstopm();
                continue 'top;
            }
            let (mut now, mut poll_until, _) = check_timers(pp, 0);

            // Fairness: every 61st tick look at the global queue first.
            if (*pp).schedtick.is_multiple_of(61) && SCHED.runqsize.load(Ordering::Relaxed) > 0 {
                SCHED.lock.lock();
                let gp = globrunqget(pp, 1);
                SCHED.lock.unlock();
                if !gp.is_null() {
                    return (gp, false);
                }
            }
            if let Some(r) = runqget(pp) {
                return r;
            }
            if SCHED.runqsize.load(Ordering::Relaxed) != 0 {
                SCHED.lock.lock();
                let gp = globrunqget(pp, 0);
                SCHED.lock.unlock();
                if !gp.is_null() {
                    return (gp, false);
                }
            }

            // Steal, limiting spinning Ms to half the busy Ps.
            let procs = gomaxprocs();
            if (*mp).spinning
                || 2 * SCHED.nmspinning.load(Ordering::Relaxed) < procs - SCHED.npidle.load(Ordering::Relaxed)
            {
                if !(*mp).spinning {
                    become_spinning(mp);
                }
                let (gp, inherit, tnow, w, new_work) = steal_work(now);
                if !gp.is_null() {
                    return (gp, inherit);
                }
                if new_work {
                    continue 'top;
                }
                now = tnow;
                if w != 0 && (poll_until == 0 || w < poll_until) {
                    poll_until = w;
                }
            }

            // Nothing to do: give up the P. Its cached objects go back to their spans first (an
            // idle P's cache would otherwise pin a span per cached object, memory the scavenger
            // can never release); the M still owns the P, so the cache is its to empty.
            (*pp).mcache.release_all();
            SCHED.lock.lock();
            if SCHED.gcwaiting.load(Ordering::Acquire) {
                SCHED.lock.unlock();
                continue 'top;
            }
            if SCHED.runqsize.load(Ordering::Relaxed) != 0 {
                let gp = globrunqget(pp, 0);
                SCHED.lock.unlock();
                return (gp, false);
            }
            if !(*mp).spinning && SCHED.needspinning.load(Ordering::Relaxed) == 1 {
                SCHED.lock.unlock();
                become_spinning(mp);
                continue 'top;
            }
            if releasep() != pp {
                crate::throw("findrunnable: wrong p");
            }
            pidleput(pp);
            SCHED.lock.unlock();

            let was_spinning = (*mp).spinning;
            if (*mp).spinning {
                (*mp).spinning = false;
                if SCHED.nmspinning.fetch_sub(1, Ordering::AcqRel) - 1 < 0 {
                    crate::throw("findrunnable: negative nmspinning");
                }
                // The spinner's half of the spinning handshake (spinning.rs): after the barrier,
                // recheck every P's queue (a g may have been queued after we looked, by someone
                // who saw us spinning and did not wake another M).
                crate::spinning::spinner_dropped::<crate::spinning::CoreFence>();
                if let Some(p2) = check_runqs_no_p() {
                    acquirep(p2);
                    become_spinning(mp);
                    continue 'top;
                }
                // And every P's timers.
                poll_until = check_timers_no_p(poll_until);
            } else {
                poll_until = check_timers_no_p(poll_until);
            }
            let _ = now;

            // Sleep until the next timer (one M at a time) or until startm.
            if poll_until != 0 && TIMER_SLEEPER_FREE.swap(false, Ordering::AcqRel) {
                POLL_UNTIL.store(poll_until, Ordering::Release);
                let delay = poll_until - nanotime();
                if delay > 0 && POLL_WAKE.load(Ordering::Acquire) == 0 {
                    os::futexsleep(&POLL_WAKE, 0, delay);
                }
                POLL_WAKE.store(0, Ordering::Release);
                POLL_UNTIL.store(0, Ordering::Release);
                TIMER_SLEEPER_FREE.store(true, Ordering::Release);
                SCHED.lock.lock();
                let p2 = pidleget();
                SCHED.lock.unlock();
                if !p2.is_null() {
                    acquirep(p2);
                    if was_spinning {
                        become_spinning(mp);
                    }
                    continue 'top;
                }
            }
            stopm();
        }
    }
}

/// Go's stealWork: four rounds over all Ps in random order; the last round also runs their
/// timers and takes their runnext. Returns (g, inherit, now, next timer, new work appeared).
fn steal_work(mut now: i64) -> (*mut G, bool, i64, i64, bool) {
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
            if unsafe { (*p2).status.load(Ordering::Acquire) } != PIDLE {
                let gp = runqsteal(pp, p2, steal_timers_or_runnext);
                if !gp.is_null() {
                    return (gp, false, now, poll_until, false);
                }
            }
        }
    }
    (ptr::null_mut(), false, now, poll_until, ran_timer)
}

/// Go's checkRunqsNoP: after giving up our P, is there a P with work and an idle P to run it?
fn check_runqs_no_p() -> Option<*mut P> {
    for i in 0..gomaxprocs() as usize {
        let p2 = allp(i);
        // SAFETY: p2 is a valid P.
        if !p2.is_null() && unsafe { !(*p2).runq.is_empty() } {
            SCHED.lock.lock();
            let pp = pidleget();
            SCHED.lock.unlock();
            return if pp.is_null() { None } else { Some(pp) };
        }
    }
    None
}

/// Go's checkTimersNoP: the earliest timer over all Ps, merged into poll_until.
fn check_timers_no_p(mut poll_until: i64) -> i64 {
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
fn dropg() {
    let mp = getm();
    // SAFETY: mp is ours; curg is the g we are switching away from.
    unsafe {
        let gp = (*mp).curg;
        if !gp.is_null() {
            (*gp).m = ptr::null_mut();
        }
        (*mp).curg = ptr::null_mut();
    }
}

/// Checks gp's stack on every switch away from it (park, gosched, goexit), on g0: its canary
/// (below the stack: did gp overflow?) and its top word (above: did the stack above overflow
/// into gp's?). Two 16-byte reserves, in the cache lines next to the stack.
fn check_stack(gp: *mut G) {
    // SAFETY: gp is the g we just left; its stack is live.
    unsafe {
        if !stack::canary_ok(&(*gp).stack, (*gp).stack_guarded) {
            stack_overflow(gp, (*gp).sched.sp);
        }
        if !stack::top_ok(&(*gp).stack) {
            overwritten_from_above(gp);
        }
    }
}

/// Checks gp's stack just before it runs (execute, on g0), the other way round: the top word
/// first. An unguarded stack that overflows writes its canary (the top reserve of the slot below)
/// and then the top frames of the goroutine below; that goroutine may be resumed on another M
/// before the overflowing one's next switch is checked, and must never run on trampled frames.
/// Every stack is checked (one 16-byte reserve): a guarded stack's slot above may be an unguarded one.
fn check_stack_run(gp: *mut G) {
    // SAFETY: gp is runnable and ours; its stack is live.
    unsafe {
        if !stack::top_ok(&(*gp).stack) {
            overwritten_from_above(gp);
        }
        if !stack::canary_ok(&(*gp).stack, (*gp).stack_guarded) {
            stack_overflow(gp, (*gp).sched.sp);
        }
    }
}

/// gp's top word is broken: the stack above gp's overflowed into it. Reports the goroutine that
/// owns that stack (the one whose canary is gp's top word, or further up if that one was run
/// through too; else any overflowed goroutine; else gp itself, saying its stack was overwritten
/// from above) and exits 2. On g0, never in a signal handler (it waits for ALLGLOCK).
#[cold]
fn overwritten_from_above(gp: *mut G) -> ! {
    // SAFETY: gp is a valid g with a live stack.
    let (goid, mut word) = unsafe { ((*gp).goid, stack::top_word(&(*gp).stack)) };
    // Walk up the slots: the g whose canary is `word` overflowed into gp, unless its own top word
    // is broken too (an overflow from further up ran through it).
    let mut over = None;
    for _ in 0..1024 {
        let Some(g) = find_g(true, |g| {
            // SAFETY: g is a live g from allgs (find_g).
            unsafe { !(*g).stack_guarded && stack::canary_word(&(*g).stack) == word }
        }) else {
            break;
        };
        over = Some(g);
        // SAFETY: as above.
        if unsafe { stack::top_ok(&(*g).stack) } {
            break;
        }
        // SAFETY: as above.
        word = unsafe { stack::top_word(&(*g).stack) };
    }
    let over = over.or_else(find_overflowed_g);
    if let Some(over) = over {
        stack_overflow_after(
            over,
            0,
            format_args!("runtime: goroutine {} not run: its stack was overwritten from above\n", goid),
        );
    }
    stack_overflow_after(
        gp,
        // SAFETY: gp is valid.
        unsafe { (*gp).sched.sp },
        format_args!(
            "runtime: goroutine {} not run: its stack was overwritten from above by an overflow of the stack above it\n",
            goid
        ),
    )
}

/// A waker found the stack of parked goroutine gp broken (sudog.rs check_parked_stack): report
/// the overflow that did it (`top_ok` false: the stack above gp's overflowed into it) and exit 2.
#[cold]
pub fn parked_stack_broken(gp: *mut G, top_ok: bool) -> ! {
    if !top_ok {
        overwritten_from_above(gp);
    }
    // SAFETY: gp is parked: its saved sp is stable.
    stack_overflow(gp, unsafe { (*gp).sched.sp })
}

/// The first g that is not dead, has a stack, and satisfies `pred`. None if none does, or if
/// the g list is locked and `wait` is false (a fault handler: its thread may hold that lock).
fn find_g(wait: bool, pred: impl Fn(*mut G) -> bool) -> Option<*mut G> {
    if wait {
        ALLGLOCK.lock();
    } else if !ALLGLOCK.try_lock() {
        return None;
    }
    let mut found = None;
    // SAFETY: under ALLGLOCK; gs are never freed. A g's stack fields change while it is dead
    // (newproc1, stack donation), or while it is runnable with lazy_stack != 0 (its first run):
    // the Acquire loads of the status (casgstatus publishes with AcqRel) and of lazy_stack
    // (stored 0 with Release after the stack fields) skip both, so the stack read is whole.
    unsafe {
        for &gp in (*ALLGS.get()).0.iter() {
            let st = (*gp).atomicstatus.load(Ordering::Acquire);
            if st != GDEAD && (*gp).lazy_stack.load(Ordering::Acquire) == 0 && (*gp).stack.lo != 0 && pred(gp) {
                found = Some(gp);
                break;
            }
        }
    }
    ALLGLOCK.unlock();
    found
}

/// A goroutine whose unguarded stack overflowed (its canary below the stack is broken), if any.
/// The fault handler asks before reporting a plain fault: an overflow past the canary can write
/// into a neighbouring stack, and that neighbour, running on another M, may fault first.
/// Returns None if the g list is locked (the faulting thread may hold that lock).
pub fn find_overflowed_g() -> Option<*mut G> {
    // An overflow of a packed stack can run on through the stacks below it, breaking their
    // canaries too: the one it started from is the one whose own top word is still intact.
    find_g(false, |gp| {
        // SAFETY: gp is a live g from allgs (find_g).
        unsafe { !stack::canary_ok(&(*gp).stack, (*gp).stack_guarded) && stack::top_ok(&(*gp).stack) }
    })
    .or_else(|| {
        find_g(false, |gp| {
            // SAFETY: as above.
            unsafe { !stack::canary_ok(&(*gp).stack, (*gp).stack_guarded) }
        })
    })
}

/// Prints Go's stack overflow report for gp and exits 2.
pub fn stack_overflow(gp: *mut G, sp: usize) -> ! {
    stack_overflow_after(gp, sp, format_args!(""))
}

/// stack_overflow with `pre` printed first, in the same report (see print::fatal_report).
fn stack_overflow_after(gp: *mut G, sp: usize, pre: core::fmt::Arguments<'_>) -> ! {
    // SAFETY: gp is a valid g (the overflowing one).
    let (goid, s, limit) = unsafe {
        let s = (*gp).stack;
        ((*gp).goid, s, if (*gp).startfn != 0 { stack::limit(&s) } else { s.hi - s.lo })
    };
    crate::print::fatal_report(
        Some(format_args!(
            "{}runtime: goroutine {} stack exceeds {}-byte limit\nruntime: sp={:#x} stack=[{:#x}, {:#x}]\n",
            pre, goid, limit, sp, s.lo, s.hi
        )),
        format_args!("stack overflow"),
    )
}

/// Go's gopark: parks the current goroutine with `reason`. On g0, after the switch, `unlockf(gp,
/// lock)` runs; if it returns false the goroutine resumes at once.
pub fn gopark(unlockf: Option<unsafe fn(*mut G, usize) -> bool>, lock: usize, reason: WaitReason) {
    let gp = arch::getg();
    if readgstatus(gp) == GSYSCALL {
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
unsafe extern "C" fn park_m(gp: *mut G) -> ! {
    check_stack(gp);
    casgstatus(gp, GRUNNING, GWAITING);
    dropg();
    // SAFETY: gp is the g that just parked; its hook was set by gopark.
    unsafe {
        // Take both fields before calling the hook: once it releases the lock, a waker may
        // ready gp and gp may run and park again elsewhere, setting them anew.
        let lock = core::mem::replace(&mut (*gp).waitlock, 0);
        if let Some(f) = (*gp).waitunlockf.take() {
            let ok = f(gp, lock);
            if !ok {
                casgstatus(gp, GWAITING, GRUNNABLE);
                execute(gp, true);
            }
        }
    }
    schedule()
}

/// Go's goready/ready: gp becomes runnable in runnext of the current P; maybe wake a P.
pub fn ready(gp: *mut G, next: bool) {
    casgstatus(gp, GWAITING, GRUNNABLE);
    // SAFETY: gp is a valid g.
    unsafe { (*gp).waitreason = WaitReason::Zero };
    let pp = getp();
    if pp.is_null() {
        crate::throw("ready: no P");
    }
    runqput(pp, gp, next);
    wakep();
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

/// Go's gosched_m → goschedImpl (on g0).
unsafe extern "C" fn gosched_m(gp: *mut G) -> ! {
    check_stack(gp);
    casgstatus(gp, GRUNNING, GRUNNABLE);
    dropg();
    SCHED.lock.lock();
    globrunqput(gp);
    SCHED.lock.unlock();
    schedule()
}

/// Whether the running goroutine is inside `syscall::blocking` (between entersyscall and
/// exitsyscall: it has no P).
pub fn in_syscall() -> bool {
    readgstatus(arch::getg()) == GSYSCALL
}

/// The runtime services a goroutine may not use without its P (inside `syscall::blocking`) panic
/// here instead of corrupting the scheduler.
#[cold]
#[track_caller]
fn syscall_misuse() -> ! {
    panic!("gort: a goroutine used a runtime service (channel, spawn, sleep, lock wait, yield) inside syscall::blocking")
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
    if readgstatus(gp) == GSYSCALL {
        syscall_misuse();
    }
    // SAFETY: gp is the running g.
    unsafe {
        if (*gp).preempt.load(Ordering::Relaxed) && gp != (*(*gp).m).g0 && (*(*gp).m).locks == 0 {
            gosched();
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
unsafe extern "C" fn goexit0(gp: *mut G) -> ! {
    check_stack(gp);
    casgstatus(gp, GRUNNING, GDEAD);
    SCHED.ngalive.fetch_sub(1, Ordering::Relaxed);
    dropg();
    // SAFETY: gp is dead; its fields are ours.
    unsafe {
        (*gp).startfn = 0;
        (*gp).waiting = ptr::null_mut();
    }
    gfput(getp(), gp);
    schedule()
}

/// Called by mcall when invoked on g0 (a runtime bug).
pub extern "C" fn badmcall() -> ! {
    crate::throw("runtime: mcall called on m->g0 stack")
}

// ---------------------------------------------------------------------------------------------
// System calls
// ---------------------------------------------------------------------------------------------

/// Go's entersyscall: the goroutine is about to block in the kernel; its P may be taken
/// (by sysmon's retake, or by stop-the-world) while it is there.
pub fn entersyscall() {
    let gp = arch::getg();
    // SAFETY: gp is the running user g; mp/pp are ours.
    unsafe {
        let mp = (*gp).m;
        (*mp).locks += 1; // no preemption while we rearrange
        casgstatus(gp, GRUNNING, GSYSCALL);
        let pp = (*mp).p.load(Ordering::Relaxed);
        (*mp).syscalltick = (*pp).syscalltick.load(Ordering::Relaxed);
        (*pp).m.store(ptr::null_mut(), Ordering::Relaxed);
        (*mp).oldp = pp;
        (*mp).p.store(ptr::null_mut(), Ordering::Relaxed);
        // Release: everything the P's owner did is visible to whoever CASes it out of _Psyscall.
        (*pp).status.store(PSYSCALL, Ordering::Release);
        if SCHED.sysmonwait.load(Ordering::Acquire) {
            SCHED.lock.lock();
            if SCHED.sysmonwait.swap(false, Ordering::AcqRel) {
                SCHED.sysmonnote.wakeup();
            }
            SCHED.lock.unlock();
        }
        if SCHED.gcwaiting.load(Ordering::Acquire) {
            // Go's entersyscall_gcwait: a stop-the-world is waiting for this P.
            SCHED.lock.lock();
            if (*pp).status.compare_exchange(PSYSCALL, PGCSTOP, Ordering::AcqRel, Ordering::Relaxed).is_ok() {
                (*pp).syscalltick.fetch_add(1, Ordering::Relaxed);
                if SCHED.stopwait.fetch_sub(1, Ordering::AcqRel) - 1 == 0 {
                    SCHED.stopnote.wakeup();
                }
            }
            SCHED.lock.unlock();
        }
        (*mp).locks -= 1;
    }
}

/// Go's exitsyscall: back from the kernel. Fast path: our old P (or any idle P); slow path:
/// exitsyscall0 queues us and parks the M.
pub fn exitsyscall() {
    let gp = arch::getg();
    // SAFETY: gp is the running g in _Gsyscall.
    unsafe {
        let mp = (*gp).m;
        (*mp).locks += 1;
        let oldp = (*mp).oldp;
        (*mp).oldp = ptr::null_mut();
        if exitsyscallfast(oldp) {
            let pp = (*mp).p.load(Ordering::Relaxed);
            (*pp).syscalltick.fetch_add(1, Ordering::Relaxed);
            casgstatus(gp, GSYSCALL, GRUNNING);
            (*mp).locks -= 1;
            return;
        }
        (*mp).locks -= 1;
        arch::mcall(exitsyscall0);
        // Resumed by execute on some M with a P.
    }
}

/// Go's exitsyscallfast: reacquire oldp if still in _Psyscall, else any idle P.
fn exitsyscallfast(oldp: *mut P) -> bool {
    let mp = getm();
    // SAFETY: oldp is a valid P or null; the CAS decides ownership against sysmon/STW.
    unsafe {
        if SCHED.gcwaiting.load(Ordering::Acquire) {
            return false;
        }
        if !oldp.is_null()
            && (*oldp).status.compare_exchange(PSYSCALL, PIDLE, Ordering::AcqRel, Ordering::Relaxed).is_ok()
        {
            acquirep(oldp);
            return true;
        }
        if (*mp).p.load(Ordering::Relaxed).is_null() && SCHED.npidle.load(Ordering::Relaxed) > 0 {
            SCHED.lock.lock();
            let pp = pidleget();
            if !pp.is_null() && SCHED.sysmonwait.swap(false, Ordering::AcqRel) {
                SCHED.sysmonnote.wakeup();
            }
            SCHED.lock.unlock();
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
unsafe extern "C" fn exitsyscall0(gp: *mut G) -> ! {
    casgstatus(gp, GSYSCALL, GRUNNABLE);
    dropg();
    SCHED.lock.lock();
    let pp = if SCHED.gcwaiting.load(Ordering::Acquire) { ptr::null_mut() } else { pidleget() };
    if pp.is_null() {
        globrunqput(gp);
    } else if SCHED.sysmonwait.swap(false, Ordering::AcqRel) {
        SCHED.sysmonnote.wakeup();
    }
    SCHED.lock.unlock();
    if !pp.is_null() {
        acquirep(pp);
        execute(gp, false);
    }
    stopm();
    schedule()
}

// ---------------------------------------------------------------------------------------------
// sysmon, retake, schedtrace
// ---------------------------------------------------------------------------------------------

/// Go's sysmon: runs on its own M without a P. Retakes Ps blocked in syscalls, flags long-running
/// goroutines for preemption, starts an M for overdue timers, prints schedtrace.
fn sysmon() {
    SCHED.lock.lock();
    // SAFETY: sched.lock held.
    unsafe { sl().nmsys += 1 };
    checkdead();
    SCHED.lock.unlock();
    let dbg = runtime1::debug();
    let mut lasttrace: i64 = 0;
    let mut lastscavenge: i64 = 0;
    let mut lastheapscavenge: i64 = 0;
    let mut idle = 0u32;
    let mut delay: u32 = 0;
    loop {
        if idle == 0 {
            delay = 20; // start with 20µs sleep...
        } else if idle > 50 {
            delay *= 2; // ...then double after 1ms of idling
        }
        if delay > 10_000 {
            delay = 10_000; // up to 10ms
        }
        os::usleep(delay);
        let now = nanotime();
        if dbg.schedtrace <= 0
            && (SCHED.gcwaiting.load(Ordering::Acquire) || SCHED.npidle.load(Ordering::Relaxed) == gomaxprocs())
        {
            SCHED.lock.lock();
            if SCHED.gcwaiting.load(Ordering::Acquire) || SCHED.npidle.load(Ordering::Relaxed) == gomaxprocs() {
                SCHED.sysmonwait.store(true, Ordering::Release);
                SCHED.lock.unlock();
                let next = check_timers_no_p(0);
                let mut sleep = if next != 0 { (next - now).clamp(1_000_000, 60_000_000_000) } else { 60_000_000_000 };
                if crate::malloc::scavenge_pending() {
                    // Free heap memory still resident: wake up in time to give it back.
                    sleep = sleep.min(crate::malloc::SCAVENGE_AGE_NS + 100_000_000);
                }
                SCHED.sysmonnote.tsleep(sleep);
                SCHED.lock.lock();
                SCHED.sysmonwait.store(false, Ordering::Release);
                SCHED.sysmonnote.clear();
                SCHED.lock.unlock();
                idle = 0;
                delay = 20;
            } else {
                SCHED.lock.unlock();
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
        // Stack scavenging: at most every 10 ms, 1024 gs per pass.
        if now - lastscavenge >= 10_000_000 {
            lastscavenge = now;
            scavenge_gfree(1024);
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
fn retake(now: i64) -> u32 {
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
            if s == PRUNNING || s == PSYSCALL {
                // Preempt a g running for too long.
                let t = (*pp).schedtick;
                if pd.schedtick != t {
                    pd.schedtick = t;
                    pd.schedwhen = now;
                } else if pd.schedwhen + FORCE_PREEMPT_NS <= now {
                    preemptone(pp);
                    sysretake = true; // in a syscall, preemptone does nothing: retake instead
                }
            }
            if s == PSYSCALL {
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
                if (*pp).status.compare_exchange(PSYSCALL, PIDLE, Ordering::AcqRel, Ordering::Relaxed).is_ok() {
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
fn incidlelocked(v: i32) {
    SCHED.lock.lock();
    // SAFETY: sched.lock held.
    unsafe { sl().nmidlelocked += v };
    if v > 0 {
        checkdead();
    }
    SCHED.lock.unlock();
}

/// Go's preemptone: asks the g running on pp to yield at its next safe point.
fn preemptone(pp: *mut P) -> bool {
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
        true
    }
}

/// Flags every running g for preemption (Go's preemptall).
fn preemptall() {
    for i in 0..gomaxprocs() as usize {
        let pp = allp(i);
        // SAFETY: valid P.
        if !pp.is_null() && unsafe { (*pp).status.load(Ordering::Acquire) } == PRUNNING {
            preemptone(pp);
        }
    }
}

/// Go's schedtrace: one SCHED line (and with detail, a line per P, M and G) on stderr.
pub fn schedtrace(detail: bool) {
    let now = nanotime();
    let mut w = FdWriter::new(2);
    let procs = gomaxprocs();
    SCHED.lock.lock();
    // SAFETY: sched.lock held.
    let s = unsafe { sl() };
    let _ = write!(
        w,
        "SCHED {}ms: gomaxprocs={} idleprocs={} threads={} spinningthreads={} needspinning={} idlethreads={} runqueue={}",
        (now - RUNTIME_INIT_TIME.load(Ordering::Relaxed)) / 1_000_000,
        procs,
        SCHED.npidle.load(Ordering::Relaxed),
        s.mnext,
        SCHED.nmspinning.load(Ordering::Relaxed),
        SCHED.needspinning.load(Ordering::Relaxed),
        s.nmidle,
        SCHED.runqsize.load(Ordering::Relaxed)
    );
    if detail {
        let _ = writeln!(
            w,
            " gcwaiting={} nmidlelocked={} stopwait={} sysmonwait={}",
            SCHED.gcwaiting.load(Ordering::Relaxed) as u8,
            s.nmidlelocked,
            SCHED.stopwait.load(Ordering::Relaxed),
            SCHED.sysmonwait.load(Ordering::Relaxed) as u8
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
                    (*pp).status.load(Ordering::Relaxed),
                    (*pp).schedtick,
                    (*pp).syscalltick.load(Ordering::Relaxed),
                    if mp.is_null() { -1 } else { (*mp).id },
                    h,
                    (*pp).gfreecnt,
                    (*pp).timers.len()
                );
            } else {
                let _ = write!(w, "{}{}", if i == 0 { " [" } else { " " }, h);
                if i as i32 == procs - 1 {
                    let _ = writeln!(w, "]");
                }
            }
        }
        if !detail {
            SCHED.lock.unlock();
            return;
        }
        let mut mp = ALLM.load(Ordering::Acquire);
        while !mp.is_null() {
            let pp = (*mp).p.load(Ordering::Relaxed);
            let gp = (*mp).curg;
            let _ = writeln!(
                w,
                "  M{}: p={} curg={} mallocing=0 throwing=0 preemptoff= locks={} dying={} spinning={} blocked={} lockedg=-1",
                (*mp).id,
                if pp.is_null() { -1 } else { (*pp).id },
                if gp.is_null() { -1 } else { (*gp).goid as i64 },
                (*mp).locks,
                (*mp).dying,
                (*mp).spinning,
                (*mp).blocked
            );
            mp = (*mp).alllink;
        }
        SCHED.lock.unlock();
        ALLGLOCK.lock();
        for &gp in (*ALLGS.get()).0.iter() {
            let st = readgstatus(gp);
            if st == GDEAD {
                continue;
            }
            let mp = (*gp).m;
            let _ = writeln!(
                w,
                "  G{}: status={}({}) m={} lockedm=-1",
                (*gp).goid,
                st,
                (*gp).waitreason.as_str(),
                if mp.is_null() { -1 } else { (*mp).id }
            );
        }
        ALLGLOCK.unlock();
    }
}

// ---------------------------------------------------------------------------------------------
// checkdead, stop-the-world, GOMAXPROCS
// ---------------------------------------------------------------------------------------------

/// Go's checkdead: if no M is running (all idle, none in a syscall or waiting for a timer),
/// no goroutine can ever run again: `fatal error: all goroutines are asleep - deadlock!`.
/// Caller holds sched.lock.
fn checkdead() {
    // SAFETY: sched.lock held.
    let s = unsafe { sl() };
    let mcount = SCHED.mcount.load(Ordering::Relaxed);
    let run = mcount - s.nmidle - s.nmidlelocked - s.nmsys;
    if run > 0 {
        return;
    }
    if run < 0 {
        crate::print::fatal_fmt(format_args!(
            "checkdead: inconsistent counts run={} nmidle={} nmsys={} mcount={}",
            run, s.nmidle, s.nmsys, mcount
        ));
    }
    // Timers pending means someone will wake (the timer sleeper, counted as running, or sysmon).
    if check_timers_no_p(0) != 0 {
        return;
    }
    ALLGLOCK.lock();
    let mut grunning = 0;
    // SAFETY: under ALLGLOCK.
    for &gp in unsafe { (*ALLGS.get()).0.iter() } {
        match readgstatus(gp) {
            GWAITING => grunning += 1,
            GRUNNABLE | GRUNNING | GSYSCALL => {
                ALLGLOCK.unlock();
                crate::print::fatal_fmt(format_args!(
                    "checkdead: runnable g {} (status {}, mcount={} nmidle={} nmsys={} npidle={} runqsize={})",
                    unsafe { (*gp).goid },
                    readgstatus(gp),
                    mcount,
                    s.nmidle,
                    s.nmsys,
                    SCHED.npidle.load(Ordering::Relaxed),
                    SCHED.runqsize.load(Ordering::Relaxed)
                ));
            }
            _ => {}
        }
    }
    ALLGLOCK.unlock();
    if grunning == 0 {
        crate::throw("no goroutines (main called runtime.Goexit) - deadlock!");
    }
    crate::throw("all goroutines are asleep - deadlock!")
}

/// Go's gcstopm: during stop-the-world, give up the P and sleep.
fn gcstopm() {
    let mp = getm();
    // SAFETY: mp is ours.
    unsafe {
        if (*mp).spinning {
            (*mp).spinning = false;
            SCHED.nmspinning.fetch_sub(1, Ordering::AcqRel);
        }
    }
    let pp = releasep();
    SCHED.lock.lock();
    // SAFETY: pp was ours.
    unsafe { (*pp).status.store(PGCSTOP, Ordering::Relaxed) };
    let left = SCHED.stopwait.fetch_sub(1, Ordering::AcqRel) - 1;
    if left == 0 {
        SCHED.stopnote.wakeup();
    }
    SCHED.lock.unlock();
    stopm();
}

/// Go's worldsema: one stop-the-world at a time. A goroutine mutex, so a second caller parks
/// (a thread lock would keep its P running and the first stop-the-world would wait forever).
static WORLDSEMA: crate::sync::Mutex<()> = crate::sync::Mutex::new(());

/// Go's stopTheWorld: every P stops (_Pgcstop) except the caller's.
fn stop_the_world() {
    let mp = getm();
    SCHED.lock.lock();
    SCHED.stopwait.store(gomaxprocs(), Ordering::Release);
    SCHED.gcwaiting.store(true, Ordering::Release);
    preemptall();
    // SAFETY: we hold sched.lock; our P is ours.
    unsafe {
        let pp = (*mp).p.load(Ordering::Relaxed);
        (*pp).status.store(PGCSTOP, Ordering::Relaxed);
        SCHED.stopwait.fetch_sub(1, Ordering::AcqRel);
        // Ps in syscalls: take them.
        for i in 0..gomaxprocs() as usize {
            let p2 = allp(i);
            if (*p2).status.compare_exchange(PSYSCALL, PGCSTOP, Ordering::AcqRel, Ordering::Relaxed).is_ok() {
                (*p2).syscalltick.fetch_add(1, Ordering::Relaxed);
                SCHED.stopwait.fetch_sub(1, Ordering::AcqRel);
            }
        }
        // Idle Ps.
        loop {
            let p2 = pidleget();
            if p2.is_null() {
                break;
            }
            (*p2).status.store(PGCSTOP, Ordering::Relaxed);
            SCHED.stopwait.fetch_sub(1, Ordering::AcqRel);
        }
    }
    let wait = SCHED.stopwait.load(Ordering::Acquire) > 0;
    SCHED.lock.unlock();
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
fn start_the_world(procs: i32) {
    SCHED.lock.lock();
    let mut p1 = procresize(procs);
    SCHED.gcwaiting.store(false, Ordering::Release);
    if SCHED.sysmonwait.swap(false, Ordering::AcqRel) {
        SCHED.sysmonnote.wakeup();
    }
    SCHED.lock.unlock();
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

/// Number of live goroutines (Go's NumGoroutine).
pub fn num_goroutine() -> i64 {
    SCHED.ngalive.load(Ordering::Relaxed)
}

/// Number of goroutines parked (_Gwaiting) right now (the `testing` feature's view).
#[cfg(feature = "testing")]
pub fn num_waiting() -> usize {
    let mut n = 0;
    ALLGLOCK.lock();
    // SAFETY: under ALLGLOCK; gs are never freed; the status is atomic.
    unsafe {
        for &gp in (*ALLGS.get()).0.iter() {
            if (*gp).atomicstatus.load(Ordering::Acquire) == GWAITING {
                n += 1;
            }
        }
    }
    ALLGLOCK.unlock();
    n
}

/// (goid, status text) of the running goroutine, for fatal messages; None on g0 or before TLS.
pub fn current_goroutine() -> Option<(u64, &'static str)> {
    let m0 = m0();
    // SAFETY: m0 is static; after rt0 its g0 is set and TLS works.
    unsafe {
        if (*m0).g0.is_null() {
            return None;
        }
        let gp = arch::getg();
        if gp.is_null() {
            return None;
        }
        let mp = (*gp).m;
        if mp.is_null() {
            return None;
        }
        let cur = if gp == (*mp).g0 || gp == (*mp).gsignal { (*mp).curg } else { gp };
        if cur.is_null() {
            return None;
        }
        let st = match readgstatus(cur) {
            GRUNNING => "running",
            GRUNNABLE => "runnable",
            GSYSCALL => "syscall",
            GWAITING => (*cur).waitreason.as_str(),
            _ => "dead",
        };
        Some(((*cur).goid, st))
    }
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
