//! bench wakeup: GOMAXPROCS goroutines spin without ever entering the runtime while one more
//! sleeps 1 ms, 300 times; how late it wakes (the wake-up time minus 1 ms), p50 and p99 in µs.
//! Without preemption of the spinners it would never wake: its timer's P never schedules.
#![no_std]
#![no_main]
gort::main!(main);

extern crate alloc;
use alloc::vec::Vec;
use core::hint::black_box;
use core::sync::atomic::{AtomicBool, Ordering};
use core::time::Duration;

const SLEEPS: usize = 300;
static STOP: AtomicBool = AtomicBool::new(false);

fn main() {
    let procs = gort::gomaxprocs(0);
    for _ in 0..procs {
        gort::go(|| {
            let mut x = 1u64;
            while !STOP.load(Ordering::Relaxed) {
                x = black_box(x.wrapping_mul(3));
            }
        });
    }
    let (tx, rx) = gort::chan::<Vec<f64>>(1);
    gort::go(move || {
        let mut late = Vec::with_capacity(SLEEPS);
        for _ in 0..SLEEPS {
            let t0 = gort::time::Instant::now();
            gort::sleep(Duration::from_millis(1));
            late.push((t0.elapsed().as_secs_f64() - 0.001) * 1e6);
        }
        tx.send(late).unwrap();
    });
    let mut late = rx.recv().unwrap();
    STOP.store(true, Ordering::Relaxed);
    late.sort_by(|a, b| a.partial_cmp(b).unwrap());
    gort::println!("RESULT wakeup-p50 {:.1} us", late[SLEEPS / 2]);
    gort::println!("RESULT wakeup-p99 {:.1} us", late[SLEEPS * 99 / 100]);
}
