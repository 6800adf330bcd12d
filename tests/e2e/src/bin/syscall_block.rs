//! GOMAXPROCS=1: one goroutine blocks in a raw read(2) on a pipe nobody writes yet, and the
//! others still run to completion (the P is handed off while it blocks).
#![no_std]
#![no_main]
gort::main!(main);
extern crate alloc;

use gort::arch::nr;

fn main() {
    let mut fds = [0i32; 2];
    // SAFETY: pipe2 writes two fds.
    let r = unsafe { gort::arch::syscall6(nr::PIPE2, fds.as_mut_ptr() as usize, 0, 0, 0, 0, 0) };
    assert!(r == 0, "pipe2 failed: {}", r);
    let (rd, wr) = (fds[0] as usize, fds[1] as usize);
    let (done_tx, done_rx) = gort::chan::<&'static str>(0);
    let d1 = done_tx.clone();
    gort::go(move || {
        let mut buf = [0u8; 16];
        // SAFETY: buf is writable; rd is our pipe's read end.
        let n = unsafe { gort::syscall::syscall6(nr::READ, rd, buf.as_mut_ptr() as usize, buf.len(), 0, 0, 0) };
        gort::println!("reader: read {} bytes: {}", n, core::str::from_utf8(&buf[..n as usize]).unwrap());
        d1.send("reader").unwrap();
    });
    // Also block one goroutine in nanosleep (100 ms).
    let d2 = done_tx.clone();
    gort::go(move || {
        let ts = [0usize, 100_000_000];
        // SAFETY: ts is a valid timespec.
        unsafe { gort::syscall::syscall6(nr::NANOSLEEP, ts.as_ptr() as usize, 0, 0, 0, 0, 0) };
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
    // SAFETY: msg is readable.
    unsafe { gort::syscall::syscall6(nr::WRITE, wr, msg.as_ptr() as usize, msg.len(), 0, 0, 0) };
    let mut got = alloc::vec![done_rx.recv().unwrap(), done_rx.recv().unwrap()];
    got.sort();
    gort::println!("done: {:?} gomaxprocs={}", got, gort::gomaxprocs(0));
}
