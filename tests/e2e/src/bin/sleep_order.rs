//! Goroutines sleeping different durations wake in order.
#![no_std]
#![no_main]
gort::main!(main);

use core::time::Duration;

fn main() {
    let (tx, rx) = gort::chan::<u64>(0);
    for ms in [300u64, 100, 200, 0, 50] {
        let tx = tx.clone();
        gort::go(move || {
            gort::sleep(Duration::from_millis(ms));
            tx.send(ms).unwrap();
        });
    }
    drop(tx);
    for ms in rx {
        gort::println!("woke {}ms", ms);
    }
}
