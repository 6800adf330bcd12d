//! bench rss: park 100 000 goroutines on a channel; resident bytes added per parked goroutine
//! (/proc/self/statm before and after). With the argument `small`, each goroutine gets a 2 KB
//! stack (go_with_stack), gort's small-stack option (packed below a page, see stack.rs).
#![no_std]
#![no_main]
gort::main!(main);

extern crate alloc;
use alloc::sync::Arc;

#[path = "../statm.rs"]
mod statm;

const N: usize = 100_000;

/// Starts f on a 2 KB stack (`small`) or the default one.
fn spawn(small: bool, f: impl FnOnce() + Send + 'static) {
    if small {
        gort::go_with_stack(2048, f)
    } else {
        gort::go(f)
    }
}

fn main() {
    let small = gort::os::args().get(1).copied() == Some(&b"small"[..]);
    let before = statm::rss_bytes();
    let (tx, rx) = gort::chan::<()>(0);
    let wg = Arc::new(gort::sync::WaitGroup::new());
    wg.add(N as i64);
    for _ in 0..N {
        let (rx, wg) = (rx.clone(), wg.clone());
        spawn(small, move || {
            rx.recv();
            wg.done();
        });
    }
    while gort::num_goroutine() < N as i64 + 1 {
        gort::gosched();
    }
    for _ in 0..200 {
        gort::gosched();
    }
    let after = statm::rss_bytes();
    drop(tx);
    drop(rx);
    wg.wait();
    gort::println!("RESULT {} {} B", if small { "rss-small" } else { "rss" }, (after - before) / N);
}
