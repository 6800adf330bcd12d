//! bench alloc: GOMAXPROCS workers (goroutines), each 2 000 000 times frees one of its 64 live
//! objects and allocates a new one of 16..1024 bytes (sizes from a fixed pseudo-random
//! sequence); ns per free+alloc pair, over all workers. The Go twin does the same with
//! make([]byte); the glibc twin with Vec under glibc malloc on OS threads.
#![no_std]
#![no_main]
gort::main!(main);

extern crate alloc;
use alloc::sync::Arc;
use alloc::vec::Vec;

const ITERS: usize = 2_000_000;
const LIVE: usize = 64;

fn work(seed: u64) -> usize {
    let mut x = seed | 1;
    let mut live: Vec<Vec<u8>> = (0..LIVE).map(|_| Vec::with_capacity(16)).collect();
    let mut total = 0;
    for i in 0..ITERS {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let n = 16 + (x % 1009) as usize;
        let mut v = Vec::with_capacity(n);
        v.push(i as u8);
        total += v.capacity();
        live[i % LIVE] = v;
    }
    total
}

fn main() {
    let procs = gort::gomaxprocs(0) as usize;
    let wg = Arc::new(gort::sync::WaitGroup::new());
    let t0 = gort::time::Instant::now();
    wg.add(procs as i64);
    for p in 0..procs {
        let wg = wg.clone();
        gort::go(move || {
            core::hint::black_box(work(p as u64 + 1));
            wg.done();
        });
    }
    wg.wait();
    let ns = t0.elapsed().as_nanos() as u64;
    // Wall time per iteration of one worker: the workers run in parallel, so with 2 Ps twice
    // the work in the same time shows as the same number (as in the Go and glibc twins).
    gort::println!("RESULT alloc {:.1} ns", ns as f64 / ITERS as f64);
}
