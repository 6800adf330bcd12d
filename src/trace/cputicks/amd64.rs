//! The trace's event clock on x86-64 (Go's cputicks in asm_amd64.s): the time-stamp counter.
//! `rdtsc` is about 12 ns against nanotime's 24 on the machine the README measures on. gort's
//! x86-64 targets assume an invariant TSC, as the Linux vDSO's own nanotime does when its
//! clocksource is `tsc` (and windows' QueryPerformanceCounter on current hardware); per-M
//! monotonicity is kept by the encoder (`TraceBuf::encode`) regardless, and `convert` maps
//! ticks to nanotime linearly between start's and stop's readings.

/// The counter's current value.
#[inline(always)]
pub fn cputicks() -> i64 {
    // SAFETY: rdtsc has no preconditions (every x86-64 has it; user mode may run it unless the
    // OS sets CR4.TSD, which no supported OS does).
    unsafe { core::arch::x86_64::_rdtsc() as i64 }
}
