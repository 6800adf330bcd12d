//! CLOCK_MONOTONIC read through the raw clock_gettime system call (shared by the bench programs
//! with `#[path = "../clock.rs"] mod clock;`).

/// Nanoseconds on CLOCK_MONOTONIC.
pub fn now_ns() -> u64 {
    let mut ts = [0i64; 2];
    // SAFETY: clock_gettime(CLOCK_MONOTONIC = 1, &mut timespec) writes two i64s into `ts`.
    let r = unsafe { gort::arch::syscall6(gort::arch::nr::CLOCK_GETTIME, 1, ts.as_mut_ptr() as usize, 0, 0, 0, 0) };
    if r != 0 {
        gort::throw("clock_gettime(CLOCK_MONOTONIC) failed");
    }
    ts[0] as u64 * 1_000_000_000 + ts[1] as u64
}
