//! traceback's arm64 part (linux, windows, darwin): the DWARF register numbers the walk tracks
//! (the windows and frame-pointer unwinders use the same numbering), `capture`, and the frames
//! of a parked or (linux) interrupted goroutine.

use super::Regs;

/// DWARF register count tracked: x0-x30 and sp (31).
pub const N: usize = 32;
/// The stack pointer.
pub const SP: usize = 31;
/// The return address column (lr, x30).
pub const RA: usize = 30;
/// Registers `capture` records: x19-x30 and sp.
pub const CAPTURED: u64 = 0xfff8_0000 | 1 << 31;
/// A return address minus this is the `bl`/`blr` instruction itself.
pub const CALL_BACK: usize = 4;

/// Records the caller's callee-saved registers, its stack pointer and the return address (lr)
/// into `regs`, and marks them known.
///
/// # Safety
/// `regs` must point at a writable `Regs`.
#[unsafe(naked)]
pub unsafe extern "C" fn capture(regs: *mut Regs) {
    core::arch::naked_asm!(
        "stp x19, x20, [x0, #19*8]",
        "stp x21, x22, [x0, #21*8]",
        "stp x23, x24, [x0, #23*8]",
        "stp x25, x26, [x0, #25*8]",
        "stp x27, x28, [x0, #27*8]",
        "stp x29, x30, [x0, #29*8]",              // x30 = lr = the return address
        "mov x9, sp",
        "str x9, [x0, #31*8]",
        "ldr x9, ={known}",
        "str x9, [x0, #32*8]",
        "ret",
        known = const CAPTURED,
    )
}

/// The registers of a goroutine parked by `mcall` (arch/arm64.rs), from its saved context: mcall
/// stored x19-x28, x29, x30 (lr, the return address into its caller) from `g.sched.sp` up, and
/// d8-d15 above them, in a 160-byte frame; the caller's sp is just above it. None if that frame
/// is not inside `bounds`.
pub fn parked_regs(sp: usize, bounds: (usize, usize), read: impl Fn(usize) -> usize) -> Option<Regs> {
    if sp < bounds.0 || sp.checked_add(160)? > bounds.1 || !sp.is_multiple_of(16) {
        return None;
    }
    let mut r = Regs::new();
    for (i, reg) in (19..=30).enumerate() {
        r.r[reg] = read(sp + i * 8);
    }
    r.r[SP] = sp + 160;
    r.known = CAPTURED;
    Some(r)
}

/// The registers of the code a signal interrupted, from its ucontext (uc_mcontext at 176:
/// fault_address, regs[31], sp, pc); the RA column (x30) holds the interrupted pc, and
/// `leaf_lr` the interrupted lr, the return address of a leaf that has not saved it.
///
/// # Safety
/// `uc` must be the ucontext the kernel passed to an SA_SIGINFO handler.
#[cfg(target_os = "linux")]
pub unsafe fn signal_regs(uc: *const u8) -> Regs {
    let base = uc as usize + 184;
    let mut r = Regs::new();
    for i in 0..31 {
        // SAFETY: regs[0..31] lie in the kernel's ucontext (struct ucontext, arm64 Linux).
        r.r[i] = unsafe { *((base + i * 8) as *const usize) };
    }
    r.leaf_lr = r.r[30];
    // SAFETY: sp at 432, pc at 440 of the same ucontext.
    unsafe {
        r.r[SP] = *((uc as usize + 432) as *const usize);
        r.r[RA] = *((uc as usize + 440) as *const usize);
    }
    r.known = (1u64 << N) - 1;
    r.exact_pc = true;
    r
}
