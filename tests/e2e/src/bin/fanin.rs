//! 100 000 goroutines (or the first argument) each send their index on one channel; main sums
//! them.
#![no_std]
#![no_main]
gort::main!(main);

fn main() {
    let n_arg = gort::os::args().get(1).and_then(|a| core::str::from_utf8(a).ok()).and_then(|s| s.parse().ok());
    let n_total: u64 = n_arg.unwrap_or(100_000);
    let (tx, rx) = gort::chan::<u64>(0);
    for i in 0..n_total {
        let tx = tx.clone();
        gort::go(move || tx.send(i).unwrap());
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
