//! Goroutines blocked in system calls each hold an M: past maxmcount (10000) threads Go reports
//! "thread exhaustion" and exits 2. With an argument N, blocks N goroutines (default 10100), each
//! in a raw read(2) on a pipe nobody writes to.
#![no_std]
#![no_main]
gort::main!(main);

use core::sync::atomic::{AtomicUsize, Ordering};

fn main() {
    let n: usize = gort::os::args()
        .get(1)
        .and_then(|a| core::str::from_utf8(a).ok())
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_100);
    let (rd, _wr) = gort_e2e::pipe();
    static STARTED: AtomicUsize = AtomicUsize::new(0);
    for _ in 0..n {
        gort::go(move || {
            STARTED.fetch_add(1, Ordering::Relaxed);
            let mut b = [0u8; 1];
            // Blocks: nobody ever writes.
            gort_e2e::read_blocking(rd, &mut b);
        });
    }
    // Wait until every goroutine has started (each needs an M: the ones before it are blocked in
    // their reads, so sysmon must hand their Ps off), up to a minute, then a little longer for
    // the last ones to enter read(2).
    for _ in 0..6000 {
        if STARTED.load(Ordering::Relaxed) >= n {
            break;
        }
        gort::sleep(core::time::Duration::from_millis(10));
    }
    gort::sleep(core::time::Duration::from_millis(100));
    gort::println!("still alive with {} goroutines", gort::num_goroutine());
    gort::os::exit(0);
}
