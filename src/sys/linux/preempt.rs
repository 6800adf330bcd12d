//! Asynchronous preemption on linux (the SIGURG half of Go's signal_unix.go: preemptM,
//! doSigPreempt): the signal, its handler, and the resume through rt_sigreturn. The design is
//! preempt.rs's module doc; the per-arch frame handling is `linux/<arch>.rs`.

use core::ptr;
use core::sync::atomic::Ordering;

use super::{
    async_safe_point, enabled, want_async_preempt, ASYNC_PREEMPTS, DECLINED, DECLINED_FRAME, FIXUP_STACK, SAVE_AREA,
};
use crate::gmp::M;
use crate::sys as os;

/// Linux interrupts a thread with a signal.
pub const SUPPORTED: bool = true;
/// On unless GODEBUG=asyncpreemptoff=1: it runs here (loaded stress green).
pub const ON_BY_DEFAULT: bool = true;

/// Where a goroutine switched out by an asynchronous preemption resumes (its `sched.pc`).
pub fn resume_pc() -> usize {
    os::sigreturn_resume as *const () as usize
}

/// Sends the preemption signal to `mp`, unless one is on its way already.
pub fn preempt_thread(mp: *mut M) {
    // SAFETY: Ms are never freed; signal_pending is atomic, procid written once by minit.
    unsafe {
        if (*mp).signal_pending.swap(true, Ordering::AcqRel) {
            return;
        }
        os::tgkill((*mp).procid, os::SIGURG);
    }
}

/// The SIGURG handler (Go's sighandler → doSigPreempt).
///
/// # Safety
/// Installed with SA_SIGINFO|SA_ONSTACK; called by the kernel with a valid ucontext, on the
/// thread's signal stack.
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
    if !enabled() || !want_async_preempt(gp) {
        return;
    }
    // SAFETY: uc is the kernel's ucontext for this handler.
    let (pc, sp) = unsafe { os::sigctxt_pc_sp(uc) };
    // SAFETY: gp is the interrupted g of this thread, mp its M; pc the interrupted instruction.
    if !unsafe { async_safe_point(gp, mp, pc, sp) } {
        DECLINED.fetch_add(1, Ordering::Relaxed);
        return;
    }
    // SAFETY: the checks above: gp is a user goroutine running on this M with no runtime
    // state in use, interrupted on its own stack; uc and the frame around it are the kernel's.
    unsafe {
        // The frame: from its start below the ucontext up to the top of the signal stack
        // (the kernel put it there: we were not on the signal stack, sp is gp's).
        let gs = (*mp).gsignal;
        let lo = uc as usize - os::SIGFRAME_UC_OFFSET;
        let hi = (*gs).stack.hi;
        let len = hi - lo;
        let mut area = (*gp).preempt_save;
        let own = !area.is_null();
        if !own {
            area = (*mp).preempt_spare.swap(ptr::null_mut(), Ordering::AcqRel);
        }
        // Same offset within 64 bytes as the original: the xsave area must stay 64-aligned.
        let dst = area as usize + FIXUP_STACK + (lo & 63);
        if area.is_null() || dst + len > area as usize + SAVE_AREA {
            if !own && !area.is_null() {
                (*mp).preempt_spare.store(area, Ordering::Release);
            }
            DECLINED_FRAME.fetch_add(1, Ordering::Relaxed);
            return;
        }
        (*gp).preempt_save = area;
        ptr::copy_nonoverlapping(lo as *const u8, dst as *mut u8, len);
        let uc2 = (dst + os::SIGFRAME_UC_OFFSET) as *mut u8;
        os::sigframe_relocate(uc2, lo, hi, dst.wrapping_sub(lo));
        (*gp).sched.pc = os::sigreturn_resume as *const () as usize;
        (*gp).sched.sp = dst + os::SIGRETURN_SP_OFFSET;
        (*gp).sched.ctx = uc2 as usize;
        (*gp).sched.g = gp;
        ASYNC_PREEMPTS.fetch_add(1, Ordering::Relaxed);
        // Leave the handler into gopreempt_m(gp) on g0, as mcall would have.
        let g0 = (*mp).g0;
        os::setg(g0);
        os::sigctxt_set_call(uc, crate::proc::gopreempt_m as *const () as usize, (*g0).sched.sp, gp as usize);
    }
}

/// Called by `sigreturn_resume` on the save area's stack, just before rt_sigreturn: the frame
/// names the signal stack of the M that saved it; rt_sigreturn installs what it names, so it
/// must be this M's.
///
/// # Safety
/// `uc` is the ucontext of the running goroutine's saved frame.
pub unsafe extern "C" fn resume_fixup(uc: *mut u8) {
    // SAFETY: the goroutine runs on this M (gogo made it current); its gsignal is valid. A
    // preemption signal here declines (sp is not on the goroutine's stack), so the M cannot
    // change under us.
    unsafe {
        let gs = (*(*crate::arch::getg()).m).gsignal;
        os::sigframe_set_altstack(uc, (*gs).stack.lo, (*gs).stack.hi - (*gs).stack.lo);
    }
}

/// An exiting M releases what preemption kept for it: nothing on linux (the signal names the
/// thread by its id).
///
/// # Safety
/// `mp` is the calling thread's M, which is exiting.
pub unsafe fn thread_exit(_mp: *mut M) {}

/// The resume trap of the targets that resume through one (darwin, windows/arm64): none here.
///
/// # Safety
/// None: `_ctx` is not read.
pub unsafe fn resume_trap(_ctx: *mut u8) -> bool {
    false
}
