//! bench yield: one P, two goroutines each calling gosched N times; ns per switch.
#![no_std]
#![no_main]
gort::main!(main);

extern crate alloc;
use alloc::sync::Arc;

const N: u64 = 1_000_000;

fn main() {
    gort::gomaxprocs(1);
    let wg = Arc::new(gort::sync::WaitGroup::default());
    wg.add(2);
    let t0 = gort::time::Instant::now();
    for _ in 0..2 {
        let wg = wg.clone();
        gort::go(move || {
            for _ in 0..N {
                gort::gosched();
            }
            wg.done();
        });
    }
    wg.wait();
    let ns = t0.elapsed().as_nanos() as u64;
    gort::println!("RESULT yield {:.1} ns/op", ns as f64 / (2 * N) as f64);
}
