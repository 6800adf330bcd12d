//! Frame setup for the link-register architectures, arm and arm64 (Go's sys_arm.go and
//! sys_arm64.go, which are the same): a fresh goroutine needs no return address on its stack,
//! since gogo loads lr = goexit+4 itself; and the stack pointer is read the same way on both.

use crate::gmp::Gobuf;

/// Prepares `buf` so that `gogo(buf)` calls `entry(ctx)` on the stack `[.., hi)` and `entry`
/// returns into `goexit` (gogo loads lr = goexit+4) (Go's gostartcallfn).
///
/// # Safety
/// `hi` must be the top of a writable stack with at least 16 bytes.
pub unsafe fn gostartcall(buf: &mut Gobuf, hi: usize, entry: usize, ctx: usize) {
    buf.sp = hi & !15;
    buf.pc = entry;
    buf.ctx = ctx;
}

/// The current stack pointer, rounded down to 16 with some slack (for g0.sched.sp).
#[inline(always)]
pub fn getsp() -> usize {
    let sp: usize;
    // SAFETY: reads a register.
    unsafe { core::arch::asm!("mov {}, sp", out(reg) sp, options(nomem, nostack, preserves_flags)) };
    (sp - 128) & !15
}
