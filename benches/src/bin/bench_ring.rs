//! bench ring: 100 000 goroutines in a ring of unbuffered channels pass one token 10 rounds
//! (1 M hand-offs); ns per hand-off, the ring's set-up not counted.
#![no_std]
#![no_main]
gort::main!(main);

const N: usize = 100_000;
const ROUNDS: u64 = 10;

fn main() {
    // Goroutine i receives from link i and sends to link i+1; main closes the ring: it sends on
    // link 0 and receives from link N.
    let (first_tx, mut prev_rx) = gort::chan::<u64>(0);
    for _ in 0..N {
        let (tx, rx) = gort::chan::<u64>(0);
        let my_rx = core::mem::replace(&mut prev_rx, rx);
        gort::go(move || {
            while let Some(v) = my_rx.recv() {
                if tx.send(v + 1).is_err() {
                    break;
                }
            }
        });
    }
    let last_rx = prev_rx;
    let t0 = gort::time::Instant::now();
    let mut v = 0;
    for _ in 0..ROUNDS {
        first_tx.send(v).unwrap();
        v = last_rx.recv().unwrap();
    }
    let ns = t0.elapsed().as_nanos() as u64;
    assert_eq!(v, ROUNDS * N as u64);
    gort::println!("RESULT ring {:.1} ns/op", ns as f64 / (ROUNDS * N as u64) as f64);
}
