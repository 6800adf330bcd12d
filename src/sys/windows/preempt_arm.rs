//! windows/arm's half of asynchronous preemption (sys/windows/preempt.rs has the shared half:
//! suspending, the rules, the image check): the ARM (32-bit, Thumb-2) CONTEXT layout, the
//! redirect and the resume. **Built, never run** (no windows arm machine or emulator here), so
//! off by default: on only with GODEBUG=asyncpreemptoff=0. It mirrors preempt_arm64.rs.
//!
//! Save: GetThreadContext with CONTEXT_FULL (control: sp, lr, pc, cpsr; integer: r0-r12;
//! floating point: fpscr, d0-d31) is copied to the top of the goroutine's save area, with the
//! area's base and the TEB's LastErrorValue in the 16 bytes below the copy. The thread is set
//! (SetThreadContext, control and integer only) to call `gopreempt_m(gp)` on g0's stack (r0 = gp,
//! r11 = lr = 0, pc = gopreempt_m in Thumb state with the IT bits cleared), with its TLS g = g0
//! and the TEB's stack bounds on g0's stack, as on the other windows targets.
//!
//! Resume, for the reason preempt_arm64.rs gives (no register is free at an arbitrary
//! instruction to hold the branch target, and nothing may be pushed on the goroutine's stack):
//! gogo enters `preempt_resume` on the save area's stack, which names it as the thread's stack
//! in the TEB and executes `udf`; the vectored exception handler calls `resume_trap`, which
//! copies the saved CONTEXT over the exception's and puts LastErrorValue and the goroutine's
//! stack bounds back; EXCEPTION_CONTINUE_EXECUTION then restores every register, cpsr (Thumb
//! and IT state) included. windows/arm keeps its TEB in TPIDRURW, not in a general register, so
//! unlike arm64 no register of the copy needs to be kept from the current thread.
//!
//! Unverified, to check on a machine: that the exception dispatch on the save area's stack is
//! accepted, and its depth (about 11 KB of room).

use core::arch::naked_asm;
use core::ptr;

use super::TEB_LAST_ERROR;
use crate::gmp::G;
use crate::preempt::SAVE_AREA;
use crate::sys as os;

/// Built, never run: on only with GODEBUG=asyncpreemptoff=0.
pub const ON_BY_DEFAULT: bool = false;

const CONTEXT_ARM: u32 = 0x20_0000;
const CONTEXT_CONTROL: u32 = CONTEXT_ARM | 0x1;
const CONTEXT_INTEGER: u32 = CONTEXT_ARM | 0x2;
const CONTEXT_FLOATING_POINT: u32 = CONTEXT_ARM | 0x4;
/// sizeof(CONTEXT) on ARM (8-aligned; 16-aligned here for the shared scratch buffer).
pub const CONTEXT_SIZE: usize = 0x1a0;
/// ARM CONTEXT field offsets: ContextFlags, R0..R12, Sp, Lr, Pc, Cpsr, Fpscr, Padding, D0..D31,
/// then the debug registers (not saved, not restored).
pub(super) const CTX_FLAGS: usize = 0x000;
const CTX_R0: usize = 0x004;
const CTX_R11: usize = CTX_R0 + 11 * 4;
const CTX_SP: usize = 0x038;
const CTX_LR: usize = 0x03c;
const CTX_PC: usize = 0x040;
const CTX_CPSR: usize = 0x044;
const CTX_FPSCR: usize = 0x048;
const CTX_D0: usize = 0x050;
/// The end of what GetThreadContext saved (D31's last byte + 1).
const CTX_SAVED_END: usize = 0x150;
const _: () = assert!(CTX_SP == CTX_R0 + 13 * 4 && CTX_LR == CTX_SP + 4 && CTX_PC == CTX_LR + 4);
const _: () = assert!(CTX_CPSR == CTX_PC + 4 && CTX_FPSCR == CTX_CPSR + 4 && CTX_D0 == CTX_FPSCR + 8);
const _: () = assert!(CTX_SAVED_END == CTX_D0 + 32 * 8 && CTX_SAVED_END <= CONTEXT_SIZE);
/// cpsr's Thumb bit, and its IT-state bits (IT[1:0] at 26:25, IT[7:2] at 15:10).
const CPSR_T: u32 = 1 << 5;
const CPSR_IT: u32 = 0x0600_fc00;
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

/// Sets the thread's registers to call `gopreempt_m(gp)` on g0's stack, as mcall calls it, in
/// Thumb state outside any IT block.
///
/// # Safety
/// `c` is a whole CONTEXT; g0 is the M's g0.
pub(super) unsafe fn aim_at_gosched(c: *mut u8, gp: *mut G, g0: *mut G, _save: *mut u8) {
    // SAFETY: as the contract.
    unsafe {
        let cpsr = *(c.add(CTX_CPSR) as *const u32);
        *(c.add(CTX_R0) as *mut usize) = gp as usize;
        *(c.add(CTX_R11) as *mut usize) = 0;
        *(c.add(CTX_LR) as *mut usize) = 0;
        *(c.add(CTX_SP) as *mut usize) = (*g0).sched.sp & !7;
        *(c.add(CTX_PC) as *mut usize) = crate::proc::gopreempt_m as *const () as usize & !1;
        *(c.add(CTX_CPSR) as *mut u32) = (cpsr & !CPSR_IT) | CPSR_T;
    }
}

/// Entered by gogo for a goroutine preempted asynchronously, with r0 = its saved CONTEXT and
/// sp just below it: names the save area as the thread's stack in the TEB (the exception is
/// dispatched on it) and traps; `resume_trap` does the rest (the module doc).
///
/// # Safety
/// Only through gogo with the gobuf `redirect` prepared.
#[unsafe(naked)]
pub unsafe extern "C" fn preempt_resume() {
    naked_asm!(
        "ldr r1, [r0, #-16]",                // the save area's base
        "sub r2, r0, #16",                   // its stack's top
        "mrc p15, 0, r3, c13, c0, 2",        // the TEB (TPIDRURW)
        "str r2, [r3, #{base}]",             // TEB StackBase
        "str r1, [r3, #{limit}]",            // TEB StackLimit
        "str r1, [r3, #{dealloc}]",          // TEB DeallocationStack
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
    // A Thumb function's address has bit 0 set; the trapping pc does not.
    let resume = preempt_resume as *const () as usize & !1;
    let gp = os::getg();
    // SAFETY: a non-null g from TLS is this thread's current g; gogo made it current before
    // jumping to its sched.pc, and nothing changes its gobuf while it runs.
    if pc & !1 != resume || gp.is_null() || unsafe { (*gp).sched.pc } & !1 != resume {
        return false;
    }
    // SAFETY: sched.ctx is the copy `redirect` made in the goroutine's save area, with the
    // LastErrorValue 8 bytes below it; ctx is a whole CONTEXT on this thread; gp.m is this
    // thread's M (gogo set it), whose teb minit recorded.
    unsafe {
        let copy = (*gp).sched.ctx as *const u8;
        ptr::copy_nonoverlapping(copy.add(CTX_R0), ctx.add(CTX_R0), CTX_SAVED_END - CTX_R0);
        *(ctx.add(CTX_FLAGS) as *mut u32) |= CONTEXT_CONTROL | CONTEXT_INTEGER | CONTEXT_FLOATING_POINT;
        let teb = (*(*gp).m).teb;
        *((teb + TEB_LAST_ERROR) as *mut u32) = *(copy.sub(8) as *const u32);
        let (hi, lo) = ((*gp).stack.hi, (*gp).stack.lo);
        os::teb_set_stack(hi, lo, lo - os::STACK_GUARD);
    }
    true
}
