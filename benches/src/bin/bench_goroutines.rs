//! bench goroutines: Go's test/chan/goroutines.go, ported: 10 000 goroutines in a chain, each
//! relaying one value from its right neighbour's unbuffered channel to its left one's; the
//! whole program after startup (spawn the chain, pass the value, all goroutines done), in ms.
#![no_std]
#![no_main]
gort::main!(main);

const N: usize = 10_000;

fn main() {
    let t0 = gort::time::Instant::now();
    let (leftmost_tx, leftmost_rx) = gort::chan::<u64>(0);
    let mut left = leftmost_tx;
    for _ in 0..N {
        let (right_tx, right_rx) = gort::chan::<u64>(0);
        gort::go(move || {
            let v = right_rx.recv().unwrap();
            left.send(v + 1).unwrap();
        });
        left = right_tx;
    }
    gort::go(move || left.send(1).unwrap());
    let v = leftmost_rx.recv().unwrap();
    let ns = t0.elapsed().as_nanos() as u64;
    assert_eq!(v, N as u64 + 1);
    gort::println!("RESULT goroutines {:.2} ms", ns as f64 / 1e6);
}
