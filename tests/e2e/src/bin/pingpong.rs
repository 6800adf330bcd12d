//! Ping-pong over two unbuffered channels between main and one goroutine.
#![no_std]
#![no_main]
gort::main!(main);

fn main() {
    let (ping_tx, ping_rx) = gort::chan::<u64>(0);
    let (pong_tx, pong_rx) = gort::chan::<u64>(0);
    gort::go(move || {
        while let Some(v) = ping_rx.recv() {
            pong_tx.send(v + 1).unwrap();
        }
    });
    let mut v = 0;
    for _ in 0..100_000 {
        ping_tx.send(v).unwrap();
        v = pong_rx.recv().unwrap();
    }
    gort::println!("pingpong: {}", v);
}
