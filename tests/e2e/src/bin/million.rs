//! 1 000 000 goroutines parked at once on channels, then woken and summed (issue 6's bar).
//! With an argument N, uses N goroutines instead. Prints RSS per parked goroutine.
#![no_std]
#![no_main]
gort::main!(main);
extern crate alloc;

use alloc::vec::Vec;

fn main() {
    let n: u64 = gort::os::args()
        .get(1)
        .and_then(|a| core::str::from_utf8(a).ok())
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let before = gort_e2e::rss_kb();
    let (res_tx, res_rx) = gort::chan::<u64>(1024);
    let mut wakers: Vec<gort::Sender<u64>> = Vec::with_capacity(n as usize);
    let wg = alloc::sync::Arc::new(gort::sync::WaitGroup::new());
    for _ in 0..n {
        let (tx, rx) = gort::chan::<u64>(0);
        wakers.push(tx);
        let res_tx = res_tx.clone();
        let wg = wg.clone();
        wg.add(1);
        gort::go(move || {
            wg.done();
            let v = rx.recv().unwrap();
            res_tx.send(v * 2).unwrap();
        });
    }
    wg.wait();
    // Let every goroutine reach its park.
    for _ in 0..4 {
        gort::gosched();
    }
    let parked = gort::num_goroutine() - 1;
    let during = gort_e2e::rss_kb();
    gort::println!(
        "parked {} goroutines; RSS per parked goroutine: {} bytes",
        parked,
        (during - before) * 1024 / n.max(1)
    );
    gort::go(move || {
        for (i, w) in wakers.into_iter().enumerate() {
            w.send(i as u64).unwrap();
        }
    });
    let mut sum = 0u64;
    for _ in 0..n {
        sum += res_rx.recv().unwrap();
    }
    gort::println!("sum {} expected {}", sum, n * (n - 1));
}
