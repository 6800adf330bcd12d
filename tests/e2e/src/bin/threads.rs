//! Goroutines blocked in system calls each hold an M: past maxmcount (10000) threads Go reports
//! "thread exhaustion" and exits 2. With an argument N, blocks N goroutines (default 10100), each
//! in a raw read(2) on a pipe nobody writes to.
#![no_std]
#![no_main]
gort::main!(main);

use gort::arch::nr;

fn main() {
    let n: usize = gort::os::args()
        .get(1)
        .and_then(|a| core::str::from_utf8(a).ok())
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_100);
    let mut fds = [0i32; 2];
    // SAFETY: pipe2 writes two fds.
    let r = unsafe { gort::arch::syscall6(nr::PIPE2, fds.as_mut_ptr() as usize, 0, 0, 0, 0, 0) };
    assert!(r == 0, "pipe2 failed: {}", r);
    let rd = fds[0] as usize;
    for _ in 0..n {
        gort::go(move || {
            let mut b = [0u8; 1];
            // SAFETY: b is writable; blocks until the write below.
            unsafe { gort::syscall::syscall6(nr::READ, rd, b.as_mut_ptr() as usize, 1, 0, 0, 0) };
        });
    }
    // Give every goroutine the chance to block (each needs an M to enter its read).
    for _ in 0..200 {
        gort::sleep(core::time::Duration::from_millis(5));
    }
    gort::println!("still alive with {} goroutines", gort::num_goroutine());
    gort::os::exit(0);
}
