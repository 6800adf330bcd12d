//! Changes GOMAXPROCS while goroutines run (stop the world + procresize): no goroutine is lost.
#![no_std]
#![no_main]
gort::main!(main);
extern crate alloc;

use alloc::sync::Arc;

fn main() {
    let start = gort::gomaxprocs(4);
    let wg = Arc::new(gort::sync::WaitGroup::new());
    let (tx, rx) = gort::chan::<u64>(1000);
    for i in 0..1000u64 {
        let wg = wg.clone();
        let tx = tx.clone();
        wg.add(1);
        gort::go(move || {
            for _ in 0..10 {
                gort::gosched();
            }
            tx.send(i).unwrap();
            wg.done();
        });
        if i == 300 {
            gort::gomaxprocs(1);
        }
        if i == 600 {
            gort::gomaxprocs(3);
        }
    }
    let now = gort::gomaxprocs(2);
    wg.wait();
    drop(tx);
    let sum: u64 = rx.sum();
    gort::println!("start={} then={} now={} sum={}", start > 0, now, gort::gomaxprocs(0), sum);
}
