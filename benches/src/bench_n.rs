//! The operation count of a bench program: its default, or BENCH_N from the environment
//! (`cargo xtask bench --instructions` runs each program at two sizes under callgrind and
//! divides the difference in instructions by the difference in operations).

/// `default`, or BENCH_N if it is set to a number.
pub fn n(default: u64) -> u64 {
    gort::os::getenv("BENCH_N").and_then(|v| core::str::from_utf8(v).ok()?.parse().ok()).unwrap_or(default)
}
