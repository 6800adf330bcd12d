//! windows/arm64's half of asynchronous preemption (sys/windows/preempt.rs has the shared half:
//! suspending, the rules, the image check): the ARM64 CONTEXT layout, the redirect and the
//! resume. **Built, never run** (no windows arm64 machine or emulator here), so off by default:
//! on only with GODEBUG=asyncpreemptoff=0.
//!
//! Save: GetThreadContext with CONTEXT_FULL (control: fp, lr, sp, pc, cpsr; integer: x0-x28;
//! floating point: v0-v31, fpcr, fpsr) is copied to the top of the goroutine's save area, with
//! the area's base and the TEB's LastErrorValue in the 16 bytes below the copy. The thread is
//! set (SetThreadContext, control and integer only) to call `gopreempt_m(gp)` on g0's stack (x0 =
//! gp, fp = lr = 0), with its TLS g = g0 and the TEB's stack bounds on g0's stack, as on amd64.
//!
//! Resume — the choice, and why. Restoring every register by hand, as amd64's `context_resume`
//! does with iretq, cannot be done on arm64: at an arbitrary instruction no register is free to
//! hold the branch target (x16/x17 may be live in Rust code, x18 is the TEB), and pushing it on
//! the goroutine's stack is out (2 KB stacks). So the OS restores it: gogo enters
//! `preempt_resume` on the save area's stack (just below the copy; about 11 KB of room for the
//! exception dispatch), which points the TEB's stack bounds at the save area and executes `udf`.
//! The vectored exception handler (sys/windows/mod.rs) sees the illegal instruction at
//! `preempt_resume` and calls `resume_trap`, which copies the saved CONTEXT over the exception's
//! (keeping this thread's x18: the TEB is per thread, and the goroutine may now run on another),
//! puts LastErrorValue and the goroutine's stack bounds back into the TEB and returns
//! EXCEPTION_CONTINUE_EXECUTION: the dispatcher's NtContinue restores every register exactly and
//! the goroutine continues at the interrupted instruction. Only kernel32 imports stay.
//!
//! Unverified, to check on a machine: that the exception dispatch on the save area's stack (not
//! the thread's original stack, though the TEB bounds name it) is accepted, and its depth.

use core::arch::naked_asm;
use core::ptr;

use super::TEB_LAST_ERROR;
use crate::gmp::G;
use crate::preempt::SAVE_AREA;
use crate::sys as os;

/// Built, never run: on only with GODEBUG=asyncpreemptoff=0.
pub const ON_BY_DEFAULT: bool = false;

const CONTEXT_ARM64: u32 = 0x40_0000;
const CONTEXT_CONTROL: u32 = CONTEXT_ARM64 | 0x1;
const CONTEXT_INTEGER: u32 = CONTEXT_ARM64 | 0x2;
const CONTEXT_FLOATING_POINT: u32 = CONTEXT_ARM64 | 0x4;
/// sizeof(ARM64_NT_CONTEXT) (16-aligned).
pub const CONTEXT_SIZE: usize = 0x390;
/// ARM64 CONTEXT field offsets: ContextFlags, Cpsr, X0..X28, Fp, Lr, Sp, Pc, V0..V31, Fpcr,
/// Fpsr, then the debug registers (not saved, not restored).
pub(super) const CTX_FLAGS: usize = 0x000;
const CTX_CPSR: usize = 0x004;
const CTX_X0: usize = 0x008;
const CTX_X18: usize = CTX_X0 + 18 * 8;
const CTX_FP: usize = CTX_X0 + 29 * 8;
const CTX_LR: usize = CTX_X0 + 30 * 8;
const CTX_SP: usize = 0x100;
const CTX_PC: usize = 0x108;
const CTX_V0: usize = 0x110;
const CTX_FPCR: usize = 0x310;
/// The end of what GetThreadContext saved (Fpsr's last byte + 1).
const CTX_SAVED_END: usize = 0x318;
const _: () = assert!(CTX_FP == 0xf0 && CTX_LR == 0xf8 && CTX_SP == CTX_X0 + 31 * 8);
const _: () = assert!(CTX_V0 == CTX_PC + 8 && CTX_FPCR == CTX_V0 + 32 * 16 && CTX_SAVED_END == CTX_FPCR + 8);
/// The copy sits at the top of the save area; below it, 16 bytes (area base, LastErrorValue),
/// then the resume's stack.
const COPY: usize = SAVE_AREA - CONTEXT_SIZE;
const _: () = assert!(COPY.is_multiple_of(16) && COPY >= 8 << 10);

/// GetThreadContext's flags (everything restored at resume) and SetThreadContext's (control
/// and integer: the floating-point state stays as it is).
pub(super) const FLAGS_GET: u32 = CONTEXT_CONTROL | CONTEXT_INTEGER | CONTEXT_FLOATING_POINT;
pub(super) const FLAGS_SET: u32 = CONTEXT_CONTROL | CONTEXT_INTEGER;

/// pc and sp of a CONTEXT.
///
/// # Safety
/// `c` is a whole CONTEXT.
pub(super) unsafe fn pc_sp(c: *const u8) -> (usize, usize) {
    // SAFETY: as the contract.
    unsafe { (*(c.add(CTX_PC) as *const usize), *(c.add(CTX_SP) as *const usize)) }
}

/// Copies the CONTEXT to the top of the save area `area`, with the area's base and
/// `last_error` in the 16 bytes below it; returns the copy and the resume's sp.
///
/// # Safety
/// `c` is a whole CONTEXT; `area` a save area (SAVE_AREA bytes, page-aligned) owned by us.
pub(super) unsafe fn save_context(c: *const u8, area: *mut u8, last_error: u32) -> (*mut u8, usize) {
    // SAFETY: as the contract; areas are page-aligned (sys_alloc): the copy and the slot below
    // it are 16-aligned.
    unsafe {
        let save = area.add(COPY);
        ptr::copy_nonoverlapping(c, save, CONTEXT_SIZE);
        *(save.sub(16) as *mut usize) = area as usize;
        *(save.sub(8) as *mut u32) = last_error;
        (save, save as usize - 16)
    }
}

/// Sets the thread's registers to call `gopreempt_m(gp)` on g0's stack, as mcall calls it.
///
/// # Safety
/// `c` is a whole CONTEXT; g0 is the M's g0.
pub(super) unsafe fn aim_at_gosched(c: *mut u8, gp: *mut G, g0: *mut G, _save: *mut u8) {
    // SAFETY: as the contract.
    unsafe {
        *(c.add(CTX_X0) as *mut usize) = gp as usize;
        *(c.add(CTX_FP) as *mut usize) = 0;
        *(c.add(CTX_LR) as *mut usize) = 0;
        *(c.add(CTX_SP) as *mut usize) = (*g0).sched.sp & !15;
        *(c.add(CTX_PC) as *mut usize) = crate::proc::gopreempt_m as *const () as usize;
    }
}

/// Entered by gogo for a goroutine preempted asynchronously, with x0 = its saved CONTEXT and
/// sp just below it: names the save area as the thread's stack in the TEB (the exception is
/// dispatched on it) and traps; `resume_trap` does the rest (the module doc).
///
/// # Safety
/// Only through gogo with the gobuf `redirect` prepared.
#[unsafe(naked)]
pub unsafe extern "C" fn preempt_resume() {
    naked_asm!(
        "ldr x1, [x0, #-16]",        // the save area's base
        "sub x2, x0, #16",           // its stack's top
        "str x2, [x18, #{base}]",    // TEB StackBase
        "str x1, [x18, #{limit}]",   // TEB StackLimit
        "str x1, [x18, #{dealloc}]", // TEB DeallocationStack
        "udf #0",
        base = const os::TEB_STACKBASE,
        limit = const os::TEB_STACKLIMIT,
        dealloc = const os::TEB_DEALLOCATIONSTACK,
    )
}

/// Where a goroutine switched out by an asynchronous preemption resumes (its `sched.pc`).
pub fn resume_pc() -> usize {
    preempt_resume as *const () as usize
}

/// The resume trap (module doc), called by the vectored exception handler for an illegal
/// instruction before anything else. If it is `preempt_resume`'s, reached by gogo for a
/// goroutine `redirect` preempted, puts the saved CONTEXT into the exception's and returns true:
/// the handler must return EXCEPTION_CONTINUE_EXECUTION. Otherwise returns false and changes
/// nothing.
///
/// # Safety
/// `ctx` is the CONTEXT the exception dispatcher passed to the handler, on this thread.
pub unsafe fn resume_trap(ctx: *mut u8) -> bool {
    // SAFETY: ctx is the dispatcher's CONTEXT (contract).
    let (pc, _sp) = unsafe { os::context_pc_sp(ctx) };
    let resume = preempt_resume as *const () as usize;
    let gp = os::getg();
    // SAFETY: a non-null g from TLS is this thread's current g; gogo made it current before
    // jumping to its sched.pc, and nothing changes its gobuf while it runs.
    if pc != resume || gp.is_null() || unsafe { (*gp).sched.pc } != resume {
        return false;
    }
    // SAFETY: sched.ctx is the copy `redirect` made in the goroutine's save area, with the
    // LastErrorValue 8 bytes below it; ctx is a whole CONTEXT; its x18 is this thread's TEB
    // (x18 holds it on windows/arm64, and the trap was taken on this thread).
    unsafe {
        let copy = (*gp).sched.ctx as *const u8;
        let x18 = *(ctx.add(CTX_X18) as *const usize);
        ptr::copy_nonoverlapping(copy.add(CTX_CPSR), ctx.add(CTX_CPSR), CTX_SAVED_END - CTX_CPSR);
        *(ctx.add(CTX_X18) as *mut usize) = x18;
        *(ctx.add(CTX_FLAGS) as *mut u32) |= CONTEXT_CONTROL | CONTEXT_INTEGER | CONTEXT_FLOATING_POINT;
        let teb = x18;
        *((teb + TEB_LAST_ERROR) as *mut u32) = *(copy.sub(8) as *const u32);
        let (hi, lo) = ((*gp).stack.hi, (*gp).stack.lo);
        os::teb_set_stack(hi, lo, lo - os::STACK_GUARD);
    }
    true
}
