//! Asynchronous preemption on darwin (amd64 and arm64): Go's preemptM/doSigPreempt as in
//! signal_unix.go and os_darwin.go (signalM: pthread_kill). **Built, never run** (no Mac here),
//! and therefore **off by default**: `preempt::init` turns it on only for an explicit
//! GODEBUG=asyncpreemptoff=0 (`ON_BY_DEFAULT`).
//!
//! Interrupt: sysmon's `preemptm` → `preempt_thread` → pthread_kill(the M's pthread, SIGURG)
//! (darwin threads come from pthread_create; minit records pthread_self in `m.pthread`). The
//! SIGURG handler (`sigpreempt`, on the M's signal stack) applies preempt.rs's
//! `async_safe_point` rules and darwin's own: the interrupted pc lies in the program's own
//! `__TEXT` segment (`pc_in_image`). gort calls libSystem directly on goroutine stacks (darwin/
//! mod.rs), so a goroutine can be interrupted inside a libSystem function that holds an
//! os_unfair_lock or another per-thread resource; switched out there, the next goroutine on the
//! thread could deadlock on the same lock, or the goroutine could resume on another thread and
//! release a lock that thread does not own. (Go never preempts in libc: its calls switch to g0.)
//!
//! Save: the kernel's machine context (`uc->uc_mcontext`, `uc_mcsize` bytes: general registers,
//! pc, sp, flags, and the whole floating-point/vector state — x87/SSE plus the AVX or AVX-512
//! state the thread uses on amd64, v0-v31/fpsr/fpcr on arm64) is copied into the goroutine's save
//! area, after a word holding its size. `g.sched` becomes `{pc: preempt_resume, sp: the save
//! area, ctx: the copy}`, and the handler edits its own context to continue in `gopreempt_m(gp)`
//! on g0's stack (`sigctxt_set_call`), as linux does. Nothing touches the goroutine's stack.
//!
//! Resume — the choice, and why. darwin's sigreturn(uctx, infostyle, token) accepts a context
//! only with token == uctx ^ a per-process secret (xnu bsd/dev/*/unix_signal.c: sendsig makes the
//! token, sigreturn checks it unless validation is disabled); libSystem's _sigtramp receives it
//! from the kernel and gort's handlers never see it, so linux's "sigreturn on the copy" is out
//! without replacing libSystem's trampoline. Restoring every register by hand is possible on
//! amd64 (iretq, as windows does) but not on arm64: at an arbitrary instruction no register is
//! free to hold the branch target (x16/x17 may be live in Rust code, x18 is the platform's), and
//! arm64 darwin has a red zone below sp as well. So gort lets the kernel restore everything, with
//! a valid token, from a context it delivers itself: `preempt_resume` (entered by gogo on the
//! save area's stack, the goroutine current) is a single undefined instruction (amd64 `ud2`,
//! arm64 `udf`). The trap is synchronous — it cannot merge with a pending SIGURG and it calls
//! no libSystem code that could be left half done — and its SIGILL runs on the signal stack.
//! signal_unix.rs's handler sees the trap at `preempt_resume` and calls `resume_trap`, which
//! copies the saved context over the kernel's (from the thread state on; preempt_layout.rs's
//! `restore_range`); returning, _sigtramp's sigreturn installs it: every register as the SIGURG
//! found it, the goroutine continues at the interrupted instruction.
//!
//! Costs and limits: one more signal per resume (a goroutine is preempted at most every 10 ms);
//! a debugger stops at each resume trap (lldb: `process handle SIGILL -n false -p true -s
//! false`); on amd64, a goroutine using AVX-512 that resumes on a thread whose kernel context has
//! only the AVX flavour (a thread that never used AVX-512) gets its zmm upper halves and opmask
//! registers from that thread (`restore_range`: the common prefix); with the AVX flavour on both
//! sides, or the same flavour, nothing is lost.

use core::ptr;
use core::sync::atomic::Ordering;

use super::{async_safe_point, want_async_preempt, ASYNC_PREEMPTS, DECLINED, DECLINED_FRAME, FIXUP_STACK, SAVE_AREA};
use crate::gmp::M;
use crate::sys as os;

use crate::sys::preempt_layout as layout;
use layout::{restore_range, text_segment_size, MC_SS, UC_MCONTEXT, UC_MCSIZE};

/// darwin interrupts a thread with a signal (pthread_kill).
pub const SUPPORTED: bool = true;
/// Never run on a Mac: on only when GODEBUG=asyncpreemptoff=0 asks for it.
pub const ON_BY_DEFAULT: bool = false;

/// The thread state's size in a machine context of this arch.
#[cfg(target_arch = "x86_64")]
const SS_SIZE: usize = layout::amd64::SS_SIZE;
/// The thread state's size in a machine context of this arch.
#[cfg(target_arch = "aarch64")]
const SS_SIZE: usize = layout::arm64::SS_SIZE;

/// Where the copy starts in a save area: after the fixup stack, a 16-byte slot for its size.
const COPY: usize = FIXUP_STACK + 16;

/// Sends the preemption signal to `mp`, unless one is on its way already.
pub fn preempt_thread(mp: *mut M) {
    // SAFETY: Ms are never freed; signal_pending and pthread are atomics. A pthread_t of a
    // thread that has exited is rejected by pthread_kill (ESRCH: it looks the thread up in its
    // list under its lock); a reused one names another M, whose handler declines.
    unsafe {
        let t = (*mp).pthread.load(Ordering::Acquire);
        if t == 0 || (*mp).signal_pending.swap(true, Ordering::AcqRel) {
            return;
        }
        if os::pthread_kill(t, os::SIGURG) != 0 {
            (*mp).signal_pending.store(false, Ordering::Release);
        }
    }
}

/// The program's `__TEXT` segment `[mh, mh + size)`, read from the Mach-O header on first use.
static TEXT_END: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(0);

extern "C" {
    /// The executable's Mach-O header, as loaded (ld64 and rust-lld define it).
    #[link_name = "_mh_execute_header"]
    static MH_EXECUTE_HEADER: u8;
}

/// Whether `pc` lies in the program's own code (not in libSystem or another dylib).
fn pc_in_image(pc: usize) -> bool {
    let mh = ptr::addr_of!(MH_EXECUTE_HEADER) as usize;
    let mut end = TEXT_END.load(Ordering::Relaxed);
    if end == 0 {
        // SAFETY: the mach_header_64 and its load commands (sizeofcmds at 20, the commands after
        // the 32-byte header) are mapped with the image for the life of the program.
        let cmds = unsafe { core::slice::from_raw_parts((mh + 32) as *const u8, *((mh + 20) as *const u32) as usize) };
        end = mh + text_segment_size(cmds).unwrap_or(0);
        // Racing first uses store the same value.
        TEXT_END.store(end, Ordering::Relaxed);
    }
    pc >= mh && pc < end
}

/// The SIGURG handler (Go's sighandler → doSigPreempt).
///
/// # Safety
/// Installed with SA_SIGINFO|SA_ONSTACK; called through libSystem's _sigtramp with a valid
/// ucontext, on the thread's signal stack.
pub unsafe extern "C" fn sigpreempt(_sig: i32, _info: *mut u8, uc: *mut u8) {
    let gp = crate::arch::getg();
    if gp.is_null() {
        return;
    }
    // SAFETY: a non-null g from TLS is valid; its m is this thread's M.
    let mp = unsafe { (*gp).m };
    if mp.is_null() {
        return;
    }
    // SAFETY: mp is this thread's M.
    unsafe { (*mp).signal_pending.store(false, Ordering::Release) };
    if !super::enabled() || !want_async_preempt(gp) {
        return;
    }
    // SAFETY: uc is the kernel's ucontext for this handler.
    let (pc, sp) = unsafe { os::sigctxt_pc_sp(uc) };
    // SAFETY: gp is the interrupted g of this thread, mp its M; pc the interrupted instruction.
    if !pc_in_image(pc) || !unsafe { async_safe_point(gp, mp, pc, sp) } {
        DECLINED.fetch_add(1, Ordering::Relaxed);
        return;
    }
    // SAFETY: the checks above: gp is a user goroutine running on this M with no runtime state
    // in use, interrupted in the program's code on its own stack; uc and its machine context are
    // the kernel's.
    unsafe {
        let mc = *((uc as usize + UC_MCONTEXT) as *const usize) as *const u8;
        let n = *((uc as usize + UC_MCSIZE) as *const u64) as usize;
        let mut area = (*gp).preempt_save;
        let own = !area.is_null();
        if !own {
            area = (*mp).preempt_spare.swap(ptr::null_mut(), Ordering::AcqRel);
        }
        if area.is_null() || n < MC_SS + SS_SIZE || COPY + n > SAVE_AREA {
            if !own && !area.is_null() {
                (*mp).preempt_spare.store(area, Ordering::Release);
            }
            DECLINED_FRAME.fetch_add(1, Ordering::Relaxed);
            return;
        }
        (*gp).preempt_save = area;
        let copy = area.add(COPY);
        ptr::copy_nonoverlapping(mc, copy, n);
        *(area.add(FIXUP_STACK) as *mut usize) = n;
        (*gp).sched.pc = os::preempt_resume as *const () as usize;
        (*gp).sched.sp = area.add(FIXUP_STACK) as usize;
        (*gp).sched.ctx = copy as usize;
        (*gp).sched.g = gp;
        ASYNC_PREEMPTS.fetch_add(1, Ordering::Relaxed);
        // Leave the handler into gopreempt_m(gp) on g0, as mcall would have.
        let g0 = (*mp).g0;
        os::setg(g0);
        os::sigctxt_set_call(uc, crate::proc::gopreempt_m as *const () as usize, (*g0).sched.sp, gp as usize);
    }
}

/// Where a goroutine switched out by an asynchronous preemption resumes (its `sched.pc`).
pub fn resume_pc() -> usize {
    os::preempt_resume as *const () as usize
}

/// The resume trap (module doc): called by signal_unix.rs's SIGILL handler first. If the trap
/// is `preempt_resume`'s, reached by gogo for a goroutine this file preempted, puts the saved
/// machine context into the kernel's and returns true: the handler must return at once, and
/// sigreturn resumes the goroutine. Otherwise returns false and changes nothing.
///
/// # Safety
/// `uc` is the ucontext of a running SIGILL handler.
pub unsafe fn resume_trap(uc: *mut u8) -> bool {
    // SAFETY: uc is the kernel's ucontext (contract).
    let (pc, _sp) = unsafe { os::sigctxt_pc_sp(uc) };
    let resume = os::preempt_resume as *const () as usize;
    let gp = crate::arch::getg();
    // SAFETY: a non-null g from TLS is this thread's current g; gogo made it current before
    // jumping to its sched.pc, and nothing changes its gobuf while it runs.
    if pc != resume || gp.is_null() || unsafe { (*gp).sched.pc } != resume {
        return false;
    }
    // SAFETY: sched.ctx is the copy `sigpreempt` made in the goroutine's save area, its size
    // the word before the 16-byte slot; the kernel's context is uc_mcsize bytes at uc_mcontext.
    unsafe {
        let copy = (*gp).sched.ctx as *const u8;
        let saved = *(copy.sub(16) as *const usize);
        let mc = *((uc as usize + UC_MCONTEXT) as *const usize) as *mut u8;
        let current = *((uc as usize + UC_MCSIZE) as *const u64) as usize;
        let Some(r) = restore_range(saved, current, SS_SIZE) else {
            crate::throw("preempt: resume trap with a machine context too small");
        };
        ptr::copy_nonoverlapping(copy.add(r.start), mc.add(r.start), r.len());
    }
    true
}

/// An exiting M stops being a target: its pthread_t is about to be freed.
///
/// # Safety
/// `mp` is the calling thread's M, which is exiting.
pub unsafe fn thread_exit(mp: *mut M) {
    // SAFETY: as the contract; pthread is atomic.
    unsafe { (*mp).pthread.store(0, Ordering::Release) };
}
