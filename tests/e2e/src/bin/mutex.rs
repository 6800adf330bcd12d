//! 64 goroutines × 100 000 increments under gort::sync::Mutex: exact total.
#![no_std]
#![no_main]
gort::main!(main);
extern crate alloc;

use alloc::sync::Arc;

fn main() {
    const G: u64 = 64;
    const N: u64 = 100_000;
    let m = Arc::new(gort::sync::Mutex::new(0u64));
    let wg = Arc::new(gort::sync::WaitGroup::new());
    for _ in 0..G {
        let m = m.clone();
        let wg = wg.clone();
        wg.add(1);
        gort::go(move || {
            for _ in 0..N {
                *m.lock() += 1;
            }
            wg.done();
        });
    }
    wg.wait();
    gort::println!("total {} (expected {})", *m.lock(), G * N);
    let once = gort::sync::Once::new();
    let mut hits = 0;
    for _ in 0..3 {
        once.call_once(|| hits += 1);
    }
    gort::println!("once ran {} time(s)", hits);
}
