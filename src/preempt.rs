//! Asynchronous preemption (Go's preempt.go, and the preemption half of signal_unix.go:
//! preemptM, doSigPreempt, wantAsyncPreempt, isAsyncSafePoint).
//!
//! How a thread is interrupted and resumed is per OS, in `mechanism`: linux
//! (sys/linux/preempt.rs) signals it, as this doc describes; windows/amd64
//! (sys/windows/preempt_amd64.rs, its module doc) suspends it with SuspendThread and redirects
//! it with SetThreadContext, under the same rules and with the same save areas; darwin
//! (sys/darwin/preempt.rs) signals it as linux does but resumes through a trap whose signal
//! context the kernel restores (built, never run: off unless GODEBUG=asyncpreemptoff=0); the
//! windows arm targets (sys/windows/preempt_arm64.rs, preempt_arm.rs) suspend as windows/amd64
//! and resume through a trap whose exception CONTEXT the OS restores (built, never run: off);
//! sys/preempt_none.rs is for a target without any. What is here is shared: `preemptm`, the save-area pool, the counters, `async_safe_point`'s rules.
//!
//! sysmon's `retake` → `preemptone` flags a goroutine that has run for 10 ms
//! (`g.preempt`) and, on linux, sends its M a SIGURG (`preemptm`). The handler decides whether the
//! interrupted instruction is an async-safe point (`async_safe_point`, the rules in HACKING.md
//! "Preemption"). If it is not, nothing happens and sysmon asks again at its next tick, as in
//! Go.
//!
//! If it is, the goroutine's whole register state is already saved — by the kernel, in the
//! signal frame on this M's signal stack: general registers, flags, and the complete
//! floating-point/vector state (xsave with AVX-512 on x86-64, fpsimd/SVE records on arm64, VFP
//! on arm). The handler copies that frame into a save area owned by the goroutine
//! (`g.preempt_save`; not on the goroutine's stack, which may be a packed 2 KB slot) and points
//! `g.sched` at `sigreturn_resume` with the copy as its stack. Then it edits its own ucontext so
//! that, when it returns, the thread continues in `gopreempt_m(gp)` on g0 (Go's asyncPreempt2 →
//! gopreempt_m → goschedImpl: the g goes to the global queue) instead of in the goroutine.
//!
//! When the goroutine is next scheduled, on this M or another, `gogo` enters
//! `sigreturn_resume`, which fixes the copy for the thread it now runs on (`resume_fixup`: the
//! saved alternate signal stack) and calls rt_sigreturn on it: the kernel restores every
//! register exactly as the signal found them and the goroutine continues at the interrupted
//! instruction. Nothing is pushed on the goroutine's stack, so the x86-64 red zone (the 128
//! bytes below sp that Rust code uses without moving sp) is never touched, and a goroutine on
//! a 2 KB stack is preempted like any other.
//!
//! Save areas: an M carries a spare (`m.preempt_spare`), which sysmon provides before it
//! signals (a signal handler cannot allocate). The handler moves it into the goroutine; a
//! goroutine keeps its area for the rest of its life, and through reuse of its G (gfree), so
//! the areas in use are bounded by the number of G structs ever preempted. Areas come from
//! `sys_alloc` in batches, under `POOL`.

// Where no mechanism exists (sys/preempt_none.rs), the rules and counters stay for the day one does.
#![cfg_attr(not(any(target_os = "linux", target_os = "macos", windows)), allow(dead_code))]

use core::ptr;
use core::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};

use crate::gmp::{GStatus, G, M};
use crate::lock_futex::Mutex;
use crate::sys as os;

// How a thread is interrupted and resumed: per OS (and arch where it differs).
#[cfg_attr(target_os = "linux", path = "sys/linux/preempt.rs")]
#[cfg_attr(target_os = "macos", path = "sys/darwin/preempt.rs")]
#[cfg_attr(windows, path = "sys/windows/preempt.rs")]
#[cfg_attr(not(any(target_os = "linux", target_os = "macos", windows)), path = "sys/preempt_none.rs")]
mod mechanism;
#[allow(unused_imports)] // the entry points the OS layer names (unix: the handler, the fixup)
pub use mechanism::*;

// darwin's OS-neutral parts (Mach-O text range, context copy), unit-tested on the host.
#[cfg(all(test, not(target_os = "macos")))]
#[path = "sys/darwin/preempt_layout.rs"]
mod darwin_layout;

/// Size of one save area: the largest signal frame seen (x86-64 with AVX-512: about 3.5 KB;
/// arm64: about 4.6 KB, more with large SVE vectors) plus room below it for `resume_fixup`'s
/// call. A frame that does not fit declines the preemption (counted in `DECLINED_FRAME`).
const SAVE_AREA: usize = 12 << 10;
/// Bytes kept free below the frame copy: linux's `resume_fixup` stack, windows/amd64's iretq
/// frame, darwin's size word. (windows/arm64 and arm keep their copy at the area's top instead:
/// the resume's exception is dispatched on the room below it.)
#[cfg_attr(all(windows, any(target_arch = "aarch64", target_arch = "arm")), allow(dead_code))]
const FIXUP_STACK: usize = 1 << 10;
/// Save areas mapped at once.
const BATCH: usize = 16;

/// How far back `read_recently` looks: longer than the longest stretch in which gort's code keeps
/// a thread-pointer-derived address in a register on a user goroutine's stack (systemstack's, 11
/// instructions from its `mrs` to its `setg(g0)`).
const TP_WINDOW: usize = 48;

/// Whether one of the instructions in the `TP_WINDOW` bytes before `pc` (at `step`-byte
/// alignment, whole words) satisfies `is_tp_read`: the arm OS layers' `thread_pointer_live`.
/// Where the window reaches into the page before pc's, it is read only if `mapped(lo, len)`
/// (the OS layer's `code_mapped`) says those bytes are loaded code; otherwise the answer is a
/// conservative true. (It was always true there until a spinning loop that began at a page's
/// first instruction could never be preempted: preempt/dump hung on aarch64 when a change
/// elsewhere moved `spin_for_dump`'s loop to 0x22c000.)
///
/// # Safety
/// `pc` is an interrupted instruction's address in mapped code.
#[allow(dead_code)] // x86-64 targets have no window
pub(crate) unsafe fn read_recently(
    pc: usize,
    step: usize,
    is_tp_read: impl Fn(u32) -> bool,
    mapped: impl FnOnce(usize, usize) -> bool,
) -> bool {
    if pc & 0xfff < TP_WINDOW && !mapped(pc.wrapping_sub(TP_WINDOW), TP_WINDOW) {
        return true;
    }
    let mut k = 4;
    while k <= TP_WINDOW {
        // SAFETY: [pc - k, pc - k + 4) lies in pc's page, which is mapped code, or in the bytes
        // before it that `mapped` vouched for (checked above); read_unaligned takes any address.
        if is_tp_read(unsafe { ((pc - k) as *const u32).read_unaligned() }) {
            return true;
        }
        k += step;
    }
    false
}

/// Whether asynchronous preemption is on (GODEBUG=asyncpreemptoff=1 turns it off; on darwin
/// only asyncpreemptoff=0 turns it on).
static ENABLED: AtomicBool = AtomicBool::new(false);
/// How long a goroutine may run before sysmon asks it to yield (Go's forcePreemptNS, 10 ms;
/// gort's GODEBUG=forcepreemptns=N changes it, for tests).
pub static FORCE_PREEMPT_NS: AtomicI64 = AtomicI64::new(crate::proc::FORCE_PREEMPT_NS);

/// Preemptions done by the signal (schedtrace's `asyncpreempt=`).
pub static ASYNC_PREEMPTS: AtomicU64 = AtomicU64::new(0);
/// Signals that found no async-safe point (retried at the next sysmon tick).
pub static DECLINED: AtomicU64 = AtomicU64::new(0);
/// Signals whose frame did not fit a save area, or that found no save area.
pub static DECLINED_FRAME: AtomicU64 = AtomicU64::new(0);

/// Free save areas, linked through their first word.
struct Pool(*mut u8);
// SAFETY: the areas are plain memory owned by the list, moved between threads under POOL.
unsafe impl Send for Pool {}
static POOL: Mutex<Pool> = Mutex::new(Pool(ptr::null_mut()));

/// Reads GODEBUG's settings (schedinit). `asyncpreemptoff`: non-zero off (as Go), 0 on where
/// the mechanism exists, `args::NOT_GIVEN` the target's default: on where the mechanism has run
/// here (linux, windows/amd64), off where it is only built (darwin: `ON_BY_DEFAULT`).
pub fn init(asyncpreemptoff: i32, force_ns: i64) {
    let on = match asyncpreemptoff {
        0 => mechanism::SUPPORTED,
        crate::args::NOT_GIVEN => mechanism::SUPPORTED && mechanism::ON_BY_DEFAULT,
        _ => false,
    };
    ENABLED.store(on, Ordering::Relaxed);
    if force_ns > 0 {
        FORCE_PREEMPT_NS.store(force_ns, Ordering::Relaxed);
    }
}

/// Whether `gp`, being switched out in gopreempt_m, was preempted asynchronously (its context
/// is the OS's resume path; execution traces tell the two kinds apart by it).
///
/// gp is a g being switched out, whose `sched` its M wrote.
pub fn resumes_async(gp: *mut G) -> bool {
    let pc = mechanism::resume_pc();
    // SAFETY: gs are never freed; gp's sched was written by this M (mcall or the handler).
    pc != 0 && unsafe { (*gp).sched.pc } == pc
}

/// Whether sysmon signals goroutines that ran too long.
pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// A save area from the pool (mapping a batch if it is empty), or null if the OS has no memory.
fn area_get() -> *mut u8 {
    let mut p = POOL.lock();
    if p.0.is_null() {
        let base = os::sys_alloc(SAVE_AREA * BATCH);
        if base.is_null() {
            return ptr::null_mut();
        }
        for i in (0..BATCH).rev() {
            let a = base.wrapping_add(i * SAVE_AREA);
            // SAFETY: a is a fresh, writable, SAVE_AREA-sized piece of the mapping.
            unsafe { *(a as *mut *mut u8) = p.0 };
            p.0 = a;
        }
    }
    let a = p.0;
    // SAFETY: a is the free list's head; its first word links the rest.
    p.0 = unsafe { *(a as *mut *mut u8) };
    a
}

/// Gives a save area back to the pool.
fn area_put(a: *mut u8) {
    let mut p = POOL.lock();
    // SAFETY: a is an unused area; its first word becomes the link.
    unsafe { *(a as *mut *mut u8) = p.0 };
    p.0 = a;
}

/// Go's preemptM: interrupts `mp`'s thread (the OS's way: `mechanism::preempt_thread`) after
/// making sure it has a save area to use. Called by sysmon (preemptone) and stop-the-world.
pub fn preemptm(mp: *mut M) {
    // SAFETY: Ms are never freed; the fields used are atomics.
    unsafe {
        if (*mp).preempt_spare.load(Ordering::Acquire).is_null() {
            let a = area_get();
            if a.is_null() {
                return;
            }
            if (*mp).preempt_spare.compare_exchange(ptr::null_mut(), a, Ordering::AcqRel, Ordering::Relaxed).is_err() {
                area_put(a);
            }
        }
    }
    #[cfg(unix)]
    crate::signal_unix::ensure_sigpreempt();
    mechanism::preempt_thread(mp);
}

/// Go's wantAsyncPreempt: sysmon asked this goroutine to yield and it is running.
fn want_async_preempt(gp: *mut G) -> bool {
    // SAFETY: gp is the interrupted, valid g.
    unsafe { (*gp).preempt.load(Ordering::Relaxed) && crate::proc::gstatus_is(gp, GStatus::Running) }
}

/// Go's isAsyncSafePoint, for gort: the interrupted goroutine may be switched out at `pc`
/// with stack pointer `sp`. Every rule is one of HACKING.md "Preemption".
///
/// # Safety
/// `gp` is the interrupted g of `mp`'s thread, and that thread is stopped: in this signal
/// handler (linux, darwin), or suspended by the caller (windows); `pc` is the address of the
/// instruction it was interrupted at, in mapped code.
unsafe fn async_safe_point(gp: *mut G, mp: *mut M, pc: usize, sp: usize) -> bool {
    // SAFETY: as the contract; these fields are only written by mp's thread, which is stopped.
    unsafe {
        // A user goroutine, not g0 (which runs the scheduler, and also covers mcall and gogo
        // halfway: they make g0 current before touching g.sched) nor the signal stack.
        gp == (*mp).curg
            && gp != (*mp).g0
            && gp != (*mp).gsignal
            // No runtime lock held, no acquirem section (per-M/per-P state in use).
            && (*gp).locks == 0
            // Running Go code with a P: not in a syscall, not exiting one, not dying.
            && !(*mp).p.load(Ordering::Relaxed).is_null()
            && (*mp).dying == 0
            // On its own stack: not on g0's in systemstack, not in gogo before the switch, not
            // in sigreturn_resume (whose stack is the save area).
            && sp > (*gp).stack.lo
            && sp <= (*gp).stack.hi
            // Not where a register holds this thread's TLS address (arm: getg is two
            // instructions, mcall and systemstack keep the slot's address a while): the goroutine
            // may resume on another thread (the OS layer's thread_pointer_live).
            && !os::thread_pointer_live(pc)
            // Not in gogo after its switch to gp's stack: it has yet to read gp's gobuf, which
            // this preemption is about to overwrite (`arch::in_gogo`).
            && !crate::arch::in_gogo(pc)
    }
}

#[cfg(test)]
mod tests {
    use super::{read_recently, TP_WINDOW};

    /// Two pages of "code": `pc` at the second one's first byte, so the window lies wholly in
    /// the first; `mark` (if any) is written at `pc - mark`.
    fn window_at_page_start(mark: Option<usize>, mapped: bool) -> bool {
        #[repr(C, align(4096))]
        struct Pages([u8; 8192]);
        let mut pages = Box::new(Pages([0; 8192]));
        if let Some(k) = mark {
            pages.0[4096 - k..4096 - k + 4].copy_from_slice(&0xd53b_d040u32.to_le_bytes());
        }
        let pc = pages.0.as_ptr() as usize + 4096;
        let mut asked = None;
        // SAFETY: pc lies in (one past) the allocation; the window's bytes are in its first page.
        let live = unsafe {
            read_recently(
                pc,
                4,
                |w| w == 0xd53b_d040,
                |lo, len| {
                    asked = Some((lo, len));
                    mapped
                },
            )
        };
        assert_eq!(asked, Some((pc - TP_WINDOW, TP_WINDOW)));
        live
    }

    #[test]
    fn a_window_in_the_previous_page_is_read_when_it_is_mapped() {
        // A loop at a page's first instruction with no thread-pointer read before it may be
        // preempted (was: never, so a spinner there kept its P for good).
        assert!(!window_at_page_start(None, true));
        assert!(window_at_page_start(Some(4), true));
        assert!(window_at_page_start(Some(TP_WINDOW), true));
        // Not known to be mapped: conservative.
        assert!(window_at_page_start(None, false));
    }
}
