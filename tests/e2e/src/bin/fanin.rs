//! 100 000 goroutines (or the first argument) each send their index on one channel; main sums
//! them. A second argument N makes each goroutine yield (gort::gosched) N times before it sends:
//! with GODEBUG=forcepreemptns small, many switches (mcall) happen with no runtime lock held
//! while preemption signals arrive (`fanin/preempt-storm`).
#![no_std]
#![no_main]
gort::main!(main);

fn arg(i: usize) -> Option<u64> {
    gort::os::args().get(i).and_then(|a| core::str::from_utf8(a).ok()).and_then(|s| s.parse().ok())
}

fn main() {
    let n_total: u64 = arg(1).unwrap_or(100_000);
    let yields = arg(2).unwrap_or(0);
    let (tx, rx) = gort::chan::<u64>(0);
    for i in 0..n_total {
        let tx = tx.clone();
        gort::go(move || {
            for _ in 0..yields {
                gort::gosched();
            }
            tx.send(i).unwrap()
        });
    }
    drop(tx);
    let mut sum = 0u64;
    let mut n = 0u64;
    for v in rx {
        sum += v;
        n += 1;
    }
    gort::println!("received {} values, sum {} (expected {})", n, sum, n_total * (n_total - 1) / 2);
}
