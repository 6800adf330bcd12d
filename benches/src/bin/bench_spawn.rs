//! bench spawn: start 1 000 000 goroutines that each call wg.done(), wait for all; ms.
#![no_std]
#![no_main]
gort::main!(main);

extern crate alloc;
use alloc::sync::Arc;

const N: i64 = 1_000_000;

fn main() {
    let wg = Arc::new(gort::sync::WaitGroup::default());
    let t0 = gort::time::Instant::now();
    wg.add(N);
    for _ in 0..N {
        let wg = wg.clone();
        gort::go(move || wg.done());
    }
    wg.wait();
    let ns = t0.elapsed().as_nanos() as u64;
    gort::println!("RESULT spawn {:.1} ms", ns as f64 / 1e6);
}
