//! traceback's x86-64 part (linux, windows, darwin): the DWARF register numbers the walk tracks
//! (the windows and frame-pointer unwinders use the same numbering), `capture`, and the frames
//! of a parked or (linux) interrupted goroutine.

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
/// the return address (the RA column) into `regs`, and marks them known. `sysv64` on every OS
/// (the argument in rdi), as the switch functions (windows' rsi and rdi, callee-saved there, are
/// saved by the Rust caller around a sysv64 call; the walk finds them in its frame).
///
/// # Safety
/// `regs` must point at a writable `Regs`.
#[unsafe(naked)]
pub unsafe extern "sysv64" fn capture(regs: *mut Regs) {
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

/// The registers of a goroutine parked by `mcall` (arch/amd64.rs), from its saved context:
/// mcall pushed rbp, rbx, r12, r13, r14, r15 (r15 lowest, at `g.sched.sp`), above them lies the
/// return address into mcall's caller, and the caller's sp is just above that. None if the words
/// are not inside `bounds`.
pub fn parked_regs(sp: usize, bounds: (usize, usize), read: impl Fn(usize) -> usize) -> Option<Regs> {
    if sp < bounds.0 || sp.checked_add(7 * 8)? > bounds.1 || !sp.is_multiple_of(8) {
        return None;
    }
    let mut r = Regs::new();
    for (i, reg) in [15, 14, 13, 12, 3, 6, RA].into_iter().enumerate() {
        r.r[reg] = read(sp + i * 8);
    }
    r.r[SP] = sp + 7 * 8;
    r.known = CAPTURED;
    Some(r)
}

/// The registers of the code a signal interrupted, from its ucontext (mcontext gregs: r8-r15,
/// rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip); the RA column holds the interrupted pc.
///
/// # Safety
/// `uc` must be the ucontext the kernel passed to an SA_SIGINFO handler.
#[cfg(target_os = "linux")]
pub unsafe fn signal_regs(uc: *const u8) -> Regs {
    let gregs = (uc as usize + 40) as *const usize;
    let mut r = Regs::new();
    // DWARF number of each greg, in gregs order.
    const MAP: [usize; 17] = [8, 9, 10, 11, 12, 13, 14, 15, 5, 4, 6, 3, 1, 0, 2, SP, RA];
    for (i, &reg) in MAP.iter().enumerate() {
        // SAFETY: gregs[0..17] lie in the kernel's ucontext (struct ucontext_t, x86-64 Linux).
        r.r[reg] = unsafe { *gregs.add(i) };
    }
    r.known = (1 << N) - 1;
    r.exact_pc = true;
    r
}
