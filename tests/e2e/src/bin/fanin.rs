//! 100 000 goroutines each send their index on one channel; main sums them.
#![no_std]
#![no_main]
gort::main!(main);

fn main() {
    const N: u64 = 100_000;
    let (tx, rx) = gort::chan::<u64>(0);
    for i in 0..N {
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
    gort::println!("received {} values, sum {} (expected {})", n, sum, N * (N - 1) / 2);
}
