//! traceback's arm part (linux/arm, ARM state): the register numbers the walk tracks (r0-r15,
//! as EHABI's unwind opcodes name them), `capture`, and the frames of a parked or interrupted
//! goroutine.

use super::Regs;

/// Registers tracked: r0-r15.
pub const N: usize = 16;
/// The stack pointer (r13).
pub const SP: usize = 13;
/// The link register (r14): the return address while a function has not saved it.
pub const LR: usize = 14;
/// The pc column (r15): the frame's pc, a return address into it for every frame but an
/// interrupted one.
pub const RA: usize = 15;
/// Registers `capture` records: r4-r11, sp and the pc column.
pub const CAPTURED: u64 = 0xff0 | 1 << SP | 1 << RA;
/// A return address minus this is the `bl`/`blx` instruction itself (ARM state).
pub const CALL_BACK: usize = 4;

/// Records the caller's callee-saved registers (r4-r11), its stack pointer and the return
/// address (lr, in the pc column) into `regs`, and marks them known.
///
/// # Safety
/// `regs` must point at a writable `Regs`.
#[unsafe(naked)]
pub unsafe extern "C" fn capture(regs: *mut Regs) {
    core::arch::naked_asm!(
        "add r1, r0, #16",
        "stm r1, {{r4-r11}}",                    // r[4..=11]
        "str sp, [r0, #52]",                      // r[13]: sp, the same once this returns
        "str lr, [r0, #60]",                      // r[15]: the return address
        "movw r1, #{known}",
        "str r1, [r0, #64]",                      // known (a u64: low word, then 0)
        "mov r1, #0",
        "str r1, [r0, #68]",
        "bx lr",
        known = const CAPTURED,
    )
}

/// The registers of a goroutine parked by `mcall` (arch/arm.rs), from its saved context: mcall
/// pushed r4-r12 and lr, then d8-d15 below them (`g.sched.sp` points at d8), 104 bytes in all;
/// lr is the return address into mcall's caller, whose sp is just above the frame. None if
/// that frame is not inside `bounds`.
pub fn parked_regs(sp: usize, bounds: (usize, usize), read: impl Fn(usize) -> usize) -> Option<Regs> {
    if sp < bounds.0 || sp.checked_add(104)? > bounds.1 || !sp.is_multiple_of(4) {
        return None;
    }
    let mut r = Regs::new();
    for reg in 4..=12 {
        r.r[reg] = read(sp + 64 + (reg - 4) * 4);
    }
    r.r[RA] = read(sp + 100);
    r.r[SP] = sp + 104;
    r.known = CAPTURED | 1 << 12;
    Some(r)
}

/// The registers of the code a signal interrupted, from its ucontext (sigcontext at 20:
/// trap_no, error_code, oldmask, then r0-r10, fp, ip, sp, lr, pc at 32..96); the pc column holds
/// the interrupted pc, and `leaf_lr` is set (to lr) so that the first step may leave sp as it is
/// (a leaf that has pushed nothing).
///
/// # Safety
/// `uc` must be the ucontext the kernel passed to an SA_SIGINFO handler.
pub unsafe fn signal_regs(uc: *const u8) -> Regs {
    let mut r = Regs::new();
    for i in 0..N {
        // SAFETY: arm_r0..arm_pc lie in the kernel's ucontext (struct ucontext, arm Linux).
        r.r[i] = unsafe { *((uc as usize + 32 + i * 4) as *const usize) };
    }
    r.leaf_lr = r.r[LR];
    r.known = (1u64 << N) - 1;
    r.exact_pc = true;
    r
}
