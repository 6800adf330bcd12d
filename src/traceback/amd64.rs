//! traceback's x86-64 part: the DWARF register numbers the walk tracks, and `capture`.

use super::Regs;

/// DWARF register count tracked: rax..r15 (0-15) and the return address column (16).
pub const N: usize = 17;
/// The stack pointer (rsp).
pub const SP: usize = 7;
/// The return address column.
pub const RA: usize = 16;
/// Registers `capture` records: rbx, rbp, rsp, r12-r15, RA.
pub const CAPTURED: u64 = 1 << 3 | 1 << 6 | 1 << 7 | 1 << 12 | 1 << 13 | 1 << 14 | 1 << 15 | 1 << 16;
/// A return address minus this is inside the call instruction (calls vary in length).
pub const CALL_BACK: usize = 1;

/// Records the caller's callee-saved registers, its stack pointer after the call returns and
/// the return address (the RA column) into `regs`, and marks them known.
///
/// # Safety
/// `regs` must point at a writable `Regs`.
#[unsafe(naked)]
pub unsafe extern "C" fn capture(regs: *mut Regs) {
    core::arch::naked_asm!(
        "mov [rdi + 3*8], rbx",
        "mov [rdi + 6*8], rbp",
        "lea rax, [rsp + 8]",                     // the caller's rsp once this returns
        "mov [rdi + 7*8], rax",
        "mov [rdi + 12*8], r12",
        "mov [rdi + 13*8], r13",
        "mov [rdi + 14*8], r14",
        "mov [rdi + 15*8], r15",
        "mov rax, [rsp]",                         // return address
        "mov [rdi + 16*8], rax",
        "mov rax, {known}",
        "mov [rdi + 17*8], rax",
        "ret",
        known = const CAPTURED,
    )
}
