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
//! park_m / gosched_m / gopreempt_m / goexit0 / exitsyscall0, each ending in `schedule()`.

use core::fmt::Write as _;
use core::ptr;
use core::sync::atomic::{AtomicBool, AtomicI32, AtomicI64, AtomicPtr, AtomicU32, AtomicU64, Ordering};

use alloc::boxed::Box;
use alloc::vec::Vec;

use crate::arch;
use crate::args;
use crate::gmp::*;
use crate::lock_futex::{Mutex, Note};
use crate::overflow::{check_stack, check_stack_run};
use crate::print::{bool_str, boottrace, FdWriter, Str};
use crate::runq::{Full, RunQueue};
use crate::stack;
use crate::sys as os;
use crate::time::nanotime;

mod boot;
mod lockosthread;
mod newproc;
mod pm;
mod schedule;
mod stw;
mod syscall;
mod sysmon;

pub use boot::*;
pub use lockosthread::*;
pub use newproc::*;
pub use pm::*;
pub use schedule::*;
pub use stw::*;
pub use syscall::*;
pub use sysmon::*;

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
    lock: Mutex::new(SchedLocked {
        midle: ptr::null_mut(),
        nmidle: 0,
        mnext: 0,
        maxmcount: 0,
        nmsys: 0,
        pidle: ptr::null_mut(),
        runq: GQueue::new(),
        nmidlelocked: 0,
        nmtransit: 0,
        nmwanted: 0,
        nmwanted_spinning: 0,
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
pub(crate) const FORCE_PREEMPT_NS: i64 = 10_000_000;

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
/// Every g ever created (Go's allgs, for checkdead, scheddetail and the overflow reports).
static ALLGS: Mutex<AllGs> = Mutex::new(AllGs(Vec::new()));
/// ALLGS's length, for num_goroutine without the lock.
static ALLGLEN: AtomicI64 = AtomicI64::new(0);
/// The list behind ALLGS.
struct AllGs(Vec<*mut G>);
// SAFETY: the gs are never freed; the Vec moves between threads only under ALLGS's lock.
unsafe impl Send for AllGs {}
/// The global pool of dead gs with stacks (Go's sched.gFree and its lock).
static GFREE: Mutex<GFree> = Mutex::new(GFree {
    hot: GList::new(),
    nhot: 0,
    scavenged: GList::new(),
    nscavenged: 0,
    bare: GList::new(),
    nbare: 0,
});
/// How many gs with stacks GFREE holds, for a look without the lock (gfget's fast check); exact
/// only under the lock.
static GFREE_COUNT: AtomicI32 = AtomicI32::new(0);
/// How many gs without stacks GFREE holds (as GFREE_COUNT).
static GFREE_BARE_COUNT: AtomicI32 = AtomicI32::new(0);

/// Dead gs, each with its stack.
struct GFree {
    /// Gs whose stacks may still be resident.
    hot: GList,
    nhot: i32,
    /// Gs whose stacks the scavenger visited (deep pages given back): gfget takes these only
    /// when `hot` is empty.
    scavenged: GList,
    nscavenged: i32,
    /// Gs without stacks (P.gfree_bare's overflow).
    bare: GList,
    nbare: i32,
}

impl GFree {
    /// Keeps the lock-free count in step (called with the lock held, after every change).
    fn publish_count(&self) {
        GFREE_COUNT.store(self.nhot + self.nscavenged, Ordering::Relaxed);
        GFREE_BARE_COUNT.store(self.nbare, Ordering::Relaxed);
    }
}
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
/// nanotime of the last network poll by findRunnable (Go's sched.lastpoll as a time): sysmon
/// polls when nobody has for 10 ms. Relaxed: a hint (a stale value moves sysmon's poll by a
/// tick); what the poll returns is synchronised by the poller itself.
static LAST_POLL: AtomicI64 = AtomicI64::new(0);

/// `&m0`.
pub fn m0() -> *mut M {
    runtime_m0.get()
}

/// `&g0` of m0.
pub fn g0() -> *mut G {
    runtime_g0.get()
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
#[cfg_attr(debug_assertions, track_caller)]
pub fn getm() -> *mut M {
    check_pinned("getm");
    // SAFETY: every g the runtime installs has a valid m while it runs.
    unsafe { (*arch::getg()).m }
}

/// The P of the current M, or null. On a user goroutine the answer is stable only while it
/// cannot be preempted: inside `acquirem`/`releasem` or with a runtime lock held (debug builds
/// check it: `check_pinned`).
#[inline]
#[cfg_attr(debug_assertions, track_caller)]
pub fn getp() -> *mut P {
    check_pinned("getp");
    // SAFETY: a non-null g from TLS has a valid m while it runs.
    unsafe { (*(*arch::getg()).m).p.load(Ordering::Relaxed) }
}

/// Whether run_timers should leave the rest of the due timers for later (timer.rs): the
/// current P's local run queue has room for at most one more g beside runnext, so the
/// goroutines of a burst of due timers would overflow it out of deadline order (runqputslow
/// sends its oldest half to the global queue). `ran`: whether this call ran one already. So that
/// a queue kept full cannot starve timers, the first one runs anyway on the P's fair turn (Go's
/// `schedtick % 61`, when schedule looks at the global queue too). False without a P.
pub fn timers_must_wait(ran: bool) -> bool {
    let pp = getp();
    if pp.is_null() {
        return false;
    }
    // SAFETY: Ps are never freed; len is an atomic read (exact for the owner, which we are), and
    // schedtick is the owner's.
    let (len, tick) = unsafe { ((*pp).runq.len() as usize, (*pp).schedtick) };
    len >= crate::gmp::RUNQ_SIZE - 1 && (ran || !tick.is_multiple_of(61))
}

/// Go's acquirem: pins the running goroutine to its M (and P) until `releasem`: no
/// preemption, synchronous or asynchronous, in between. Returns the M, read after the pin
/// (read before, it could be the M of a thread the goroutine was preempted away from).
#[inline]
pub fn acquirem() -> *mut M {
    let gp = arch::getg();
    // SAFETY: the running g; its count is only touched by code running on it. A preemption
    // between the load and the store of the increment resumes with the same g and count.
    unsafe {
        (*gp).locks += 1;
        (*gp).m
    }
}

/// Go's releasem: ends an `acquirem`.
#[inline]
pub fn releasem(_mp: *mut M) {
    let gp = arch::getg();
    // SAFETY: as acquirem.
    unsafe { (*gp).locks -= 1 };
}

/// Debug builds: throws if runtime code reads per-M or per-P state on a user goroutine that
/// could be preempted (and moved to another M) before it is done with it: the rule is to hold
/// `acquirem` (or a runtime lock) around such a section. Release builds: nothing.
#[inline]
#[cfg_attr(debug_assertions, track_caller)]
pub fn check_pinned(what: &str) {
    #[cfg(debug_assertions)]
    {
        let gp = arch::getg();
        // SAFETY: a non-null g from TLS is valid; its m is this thread's M.
        unsafe {
            if !gp.is_null() && !(*gp).m.is_null() && gp == (*(*gp).m).curg && (*gp).locks == 0 {
                crate::print::fatal_fmt(format_args!(
                    "{}: per-M state read by a preemptible goroutine (no acquirem), at {}",
                    what,
                    core::panic::Location::caller()
                ));
            }
        }
    }
    #[cfg(not(debug_assertions))]
    let _ = what;
}

/// Calls `f` on every M of allm, under sched.lock (trace::stop takes their buffers).
#[cfg_attr(not(gort_trace), allow(dead_code))]
pub fn for_each_m(mut f: impl FnMut(*mut M)) {
    let _s = SCHED.lock.lock();
    let mut mp = ALLM.load(Ordering::Acquire);
    while !mp.is_null() {
        f(mp);
        // SAFETY: Ms are never freed; alllink changes only under sched.lock, held.
        mp = unsafe { (*mp).alllink };
    }
}
