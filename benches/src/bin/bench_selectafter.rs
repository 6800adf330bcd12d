//! bench selectafter: a loop whose select has a ready channel arm and an `after` arm that never
//! fires (the Go idiom `case <-time.After(d)`); ns per iteration.
#![no_std]
#![no_main]
gort::main!(main);

use core::time::Duration;

const N: u64 = 1_000_000;

fn main() {
    let (tx, rx) = gort::chan::<u64>(1);
    let t0 = gort::time::Instant::now();
    let mut sum = 0u64;
    for i in 0..N {
        tx.send(i).unwrap();
        let timeout = gort::time::after(Duration::from_secs(3600));
        gort::select! {
            recv(rx) -> v => sum += v.unwrap(),
            recv(timeout) -> _ => unreachable!(),
        }
    }
    let ns = t0.elapsed().as_nanos() as u64;
    assert_eq!(sum, N * (N - 1) / 2);
    gort::println!("RESULT selectafter {:.1} ns/op", ns as f64 / N as f64);
}
