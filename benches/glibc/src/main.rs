//! bench alloc under glibc malloc: the same loop as benches/src/bin/bench_alloc.rs on
//! GOMAXPROCS OS threads (std, the system allocator); wall ns per iteration of one worker.
use std::time::Instant;

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
    let procs: u64 = std::env::var("GOMAXPROCS").ok().and_then(|v| v.parse().ok()).unwrap_or(1);
    let t0 = Instant::now();
    let handles: Vec<_> = (0..procs).map(|p| std::thread::spawn(move || std::hint::black_box(work(p + 1)))).collect();
    for h in handles {
        h.join().unwrap();
    }
    println!("RESULT alloc {:.1} ns", t0.elapsed().as_nanos() as f64 / ITERS as f64);
}
