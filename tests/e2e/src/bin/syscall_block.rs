//! GOMAXPROCS=1: one goroutine blocks in a raw read(2) on a pipe nobody writes yet, and the
//! others still run to completion (the P is handed off while it blocks).
#![no_std]
#![no_main]
gort::main!(main);
extern crate alloc;

fn main() {
    let (rd, wr) = gort_e2e::pipe();
    let (done_tx, done_rx) = gort::chan::<&'static str>(0);
    let d1 = done_tx.clone();
    gort::go(move || {
        let mut buf = [0u8; 16];
        let n = gort_e2e::read_blocking(rd, &mut buf);
        gort::println!("reader: read {} bytes: {}", n, core::str::from_utf8(&buf[..n as usize]).unwrap());
        d1.send("reader").unwrap();
    });
    // Also block one goroutine in nanosleep (100 ms).
    let d2 = done_tx.clone();
    gort::go(move || {
        gort_e2e::sleep_blocking_ms(100);
        d2.send("sleeper").unwrap();
    });
    // Meanwhile other goroutines compute and finish.
    let (sum_tx, sum_rx) = gort::chan::<u64>(0);
    for i in 0..10u64 {
        let sum_tx = sum_tx.clone();
        gort::go(move || sum_tx.send((0..1000).map(|x| x * i).sum()).unwrap());
    }
    let total: u64 = (0..10).map(|_| sum_rx.recv().unwrap()).sum();
    gort::println!("workers done while reader blocked: total={}", total);
    // Now unblock the reader.
    let msg = b"hello";
    gort_e2e::write_blocking(wr, msg);
    let mut got = alloc::vec![done_rx.recv().unwrap(), done_rx.recv().unwrap()];
    got.sort();
    gort::println!("done: {:?} gomaxprocs={}", got, gort::gomaxprocs(0));
}
