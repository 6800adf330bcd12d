//! bench pingpong: round trips over two unbuffered channels; ns per round trip.
#![no_std]
#![no_main]
gort::main!(main);

const N: u64 = 500_000;

fn main() {
    let (ping_tx, ping_rx) = gort::chan::<u64>(0);
    let (pong_tx, pong_rx) = gort::chan::<u64>(0);
    gort::go(move || {
        while let Some(v) = ping_rx.recv() {
            pong_tx.send(v + 1).unwrap();
        }
    });
    let t0 = gort::time::Instant::now();
    let mut v = 0;
    for _ in 0..N {
        ping_tx.send(v).unwrap();
        v = pong_rx.recv().unwrap();
    }
    let ns = t0.elapsed().as_nanos() as u64;
    if v != N {
        panic!("pingpong: wrong count");
    }
    gort::println!("RESULT pingpong {:.1} ns/op", ns as f64 / N as f64);
}
