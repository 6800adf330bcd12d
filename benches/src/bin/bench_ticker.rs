//! bench ticker: 10 000 goroutines, each with a 1 ms ticker, each waits for 100 ticks; ms of wall
//! time (100 at best: ticks a goroutine is too slow for are dropped and cost time).
#![no_std]
#![no_main]
gort::main!(main);

extern crate alloc;
use alloc::sync::Arc;
use core::time::Duration;

const G: usize = 10_000;
const TICKS: usize = 100;

fn main() {
    let wg = Arc::new(gort::sync::WaitGroup::default());
    let t0 = gort::time::Instant::now();
    for _ in 0..G {
        wg.add(1);
        let wg = wg.clone();
        gort::go(move || {
            let t = gort::time::Ticker::new(Duration::from_millis(1));
            for _ in 0..TICKS {
                t.c().recv().unwrap();
            }
            t.stop();
            wg.done();
        });
    }
    wg.wait();
    let ms = t0.elapsed().as_secs_f64() * 1000.0;
    gort::println!("RESULT ticker {:.1} ms", ms);
}
