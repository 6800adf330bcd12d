//! bench spawn: start 1 000 000 goroutines that each call wg.done(), wait for all; ms.
#![no_std]
#![no_main]
gort::main!(main);

extern crate alloc;
use alloc::sync::Arc;

const N_DEFAULT: u64 = 1_000_000;

#[path = "../bench_n.rs"]
mod bench_n;

fn main() {
    let n = bench_n::n(N_DEFAULT) as i64;
    let wg = Arc::new(gort::sync::WaitGroup::default());
    let t0 = gort::time::Instant::now();
    wg.add(n);
    for _ in 0..n {
        let wg = wg.clone();
        gort::go(move || wg.done());
    }
    wg.wait();
    let ns = t0.elapsed().as_nanos() as u64;
    gort::println!("RESULT spawn {:.1} ms", ns as f64 / 1e6);
}
