//! bench pingpong: round trips over two unbuffered channels; ns per round trip.
#![no_std]
#![no_main]
gort::main!(main);

const N_DEFAULT: u64 = 500_000;

#[path = "../bench_n.rs"]
mod bench_n;

fn main() {
    let n = bench_n::n(N_DEFAULT);
    let (ping_tx, ping_rx) = gort::chan::<u64>(0);
    let (pong_tx, pong_rx) = gort::chan::<u64>(0);
    gort::go(move || {
        while let Some(v) = ping_rx.recv() {
            pong_tx.send(v + 1).unwrap();
        }
    });
    let t0 = gort::time::Instant::now();
    let mut v = 0;
    for _ in 0..n {
        ping_tx.send(v).unwrap();
        v = pong_rx.recv().unwrap();
    }
    let ns = t0.elapsed().as_nanos() as u64;
    if v != n {
        panic!("pingpong: wrong count");
    }
    gort::println!("RESULT pingpong {:.1} ns/op", ns as f64 / n as f64);
}
