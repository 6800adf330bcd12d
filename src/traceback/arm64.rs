//! traceback's arm64 part: the DWARF register numbers the walk tracks, and `capture`.

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
