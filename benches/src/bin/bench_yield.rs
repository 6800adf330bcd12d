//! bench yield: one P, two goroutines each calling gosched N times; ns per switch.
#![no_std]
#![no_main]
gort::main!(main);

extern crate alloc;
use alloc::sync::Arc;

const N_DEFAULT: u64 = 1_000_000;

#[path = "../bench_n.rs"]
mod bench_n;

fn main() {
    let n = bench_n::n(N_DEFAULT);
    gort::gomaxprocs(1);
    let wg = Arc::new(gort::sync::WaitGroup::default());
    wg.add(2);
    let t0 = gort::time::Instant::now();
    for _ in 0..2 {
        let wg = wg.clone();
        gort::go(move || {
            for _ in 0..n {
                gort::gosched();
            }
            wg.done();
        });
    }
    wg.wait();
    let ns = t0.elapsed().as_nanos() as u64;
    gort::println!("RESULT yield {:.1} ns/op", ns as f64 / (2 * n) as f64);
}
