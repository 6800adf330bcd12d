//! The trace's event clock on arm64 (Go's cputicks in asm_arm64.s): the generic timer's
//! virtual count, `CNTVCT_EL0`, readable from user mode on Linux, windows and darwin (their
//! kernels set CNTKCTL_EL1.EL0VCTEN; qemu-user emulates it). It runs at a fixed frequency
//! (`CNTFRQ_EL0`, often 24 MHz to 1 GHz) on every core of the system, so it needs no per-M
//! care beyond the encoder's monotonicity; `convert` maps it to nanotime linearly between
//! start's and stop's readings, so its frequency need not be known. Like Go, no `isb` before
//! it: an early read only makes an event's time a few cycles early, and the encoder keeps the
//! M's events in order.

/// The counter's current value.
#[inline(always)]
pub fn cputicks() -> i64 {
    let t: u64;
    // SAFETY: reading CNTVCT_EL0 has no side effects and is allowed at EL0 on the supported
    // OSes (see the module doc).
    unsafe { core::arch::asm!("mrs {}, cntvct_el0", out(reg) t, options(nomem, nostack, preserves_flags)) };
    t as i64
}
