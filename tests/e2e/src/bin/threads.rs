//! Goroutines blocked in system calls each hold an M: past maxmcount (10000) threads Go reports
//! "thread exhaustion" and exits 2. With an argument N, blocks N goroutines (default 10100), each
//! in a raw read(2) on a pipe nobody writes to.
#![no_std]
#![no_main]
gort::main!(main);

fn main() {
    let n: usize = gort::os::args()
        .get(1)
        .and_then(|a| core::str::from_utf8(a).ok())
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_100);
    let (rd, _wr) = gort_e2e::pipe();
    for _ in 0..n {
        gort::go(move || {
            let mut b = [0u8; 1];
            // Blocks: nobody ever writes.
            gort_e2e::read_blocking(rd, &mut b);
        });
    }
    // Give every goroutine the chance to block (each needs an M to enter its read).
    for _ in 0..200 {
        gort::sleep(core::time::Duration::from_millis(5));
    }
    gort::println!("still alive with {} goroutines", gort::num_goroutine());
    gort::os::exit(0);
}
