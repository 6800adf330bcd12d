//! bench skynet: the skynet 1M benchmark: a 10-way tree of goroutines over unbuffered channels
//! down to 1 000 000 leaves (or BENCH_N, a power of ten), each sending its number; the sums
//! flow back up. ms.
#![no_std]
#![no_main]
gort::main!(main);

const SIZE_DEFAULT: u64 = 1_000_000;
const DIV: u64 = 10;

fn skynet(out: gort::Sender<u64>, num: u64, size: u64) {
    if size == 1 {
        out.send(num).unwrap();
        return;
    }
    let (tx, rx) = gort::chan::<u64>(0);
    let sub = size / DIV;
    for i in 0..DIV {
        let tx = tx.clone();
        gort::go(move || skynet(tx, num + i * sub, sub));
    }
    drop(tx);
    let mut sum = 0;
    for _ in 0..DIV {
        sum += rx.recv().unwrap();
    }
    out.send(sum).unwrap();
}

#[path = "../bench_n.rs"]
mod bench_n;

fn main() {
    let size = bench_n::n(SIZE_DEFAULT);
    let t0 = gort::time::Instant::now();
    let (tx, rx) = gort::chan::<u64>(0);
    gort::go(move || skynet(tx, 0, size));
    let sum = rx.recv().unwrap();
    let ns = t0.elapsed().as_nanos() as u64;
    if sum != size * (size - 1) / 2 {
        gort::println!("skynet: wrong sum {}", sum);
        gort::os::exit(1);
    }
    gort::println!("RESULT skynet {:.1} ms", ns as f64 / 1e6);
}
