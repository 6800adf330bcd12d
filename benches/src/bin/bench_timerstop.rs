//! bench timerstop: start 1 M timers (an hour away, nothing to run), then stop them all (Go's
//! BenchmarkStartStop shape); ns per start+stop.
#![no_std]
#![no_main]
gort::main!(main);

extern crate alloc;
use alloc::vec::Vec;
use core::time::Duration;

const N: usize = 1_000_000;

fn main() {
    let t0 = gort::time::Instant::now();
    let mut timers = Vec::with_capacity(N);
    for _ in 0..N {
        timers.push(gort::time::after_func(Duration::from_secs(3600), || {}));
    }
    for t in &timers {
        t.stop();
    }
    let ns = t0.elapsed().as_nanos() as u64;
    gort::println!("RESULT timerstop {:.1} ns/op", ns as f64 / N as f64);
}
