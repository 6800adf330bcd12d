//! With GOMAXPROCS=2, work runs on at least two Ms (distinct OS threads) at once.
#![no_std]
#![no_main]
gort::main!(main);

use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};

static STARTED: AtomicU64 = AtomicU64::new(0);
static GO: AtomicBool = AtomicBool::new(false);

fn main() {
    gort::gomaxprocs(2); // the point of the test: two Ps, two Ms
    let procs = gort::gomaxprocs(0);
    let wg = alloc::sync::Arc::new(gort::sync::WaitGroup::new());
    let (tx, rx) = gort::chan::<usize>(2);
    for _ in 0..2 {
        let wg = wg.clone();
        let tx = tx.clone();
        wg.add(1);
        gort::go(move || {
            // Both goroutines spin until both have started: only possible if they run on two
            // threads at once (each spin yields so a single P would also make progress, but
            // then they would share one thread id).
            STARTED.fetch_add(1, Ordering::SeqCst);
            while STARTED.load(Ordering::SeqCst) < 2 && !GO.load(Ordering::SeqCst) {
                core::hint::spin_loop();
            }
            tx.send(gort_e2e::tid()).unwrap();
            wg.done();
        });
    }
    wg.wait();
    let a = rx.recv().unwrap();
    let b = rx.recv().unwrap();
    gort::println!("gomaxprocs={} distinct_threads={}", procs, a != b);
}
extern crate alloc;
