//! bench select4: a loop whose select receives from whichever of 4 buffered channels is
//! ready, fed round-robin by another goroutine; ns per select.
#![no_std]
#![no_main]
gort::main!(main);

const N: u64 = 1_000_000;

fn main() {
    let (t0x, r0) = gort::chan::<u64>(16);
    let (t1x, r1) = gort::chan::<u64>(16);
    let (t2x, r2) = gort::chan::<u64>(16);
    let (t3x, r3) = gort::chan::<u64>(16);
    // The Senders are kept here too, so that no channel closes when the feeder is done (a closed
    // channel is always ready in a select, as in Go; Go's twin never closes its channels).
    let _keep = (t0x.clone(), t1x.clone(), t2x.clone(), t3x.clone());
    gort::go(move || {
        for i in 0..N {
            match i % 4 {
                0 => t0x.send(i).unwrap(),
                1 => t1x.send(i).unwrap(),
                2 => t2x.send(i).unwrap(),
                _ => t3x.send(i).unwrap(),
            }
        }
    });
    let t0 = gort::time::Instant::now();
    let mut sum = 0u64;
    for _ in 0..N {
        gort::select! {
            recv(r0) -> v => sum += v.unwrap(),
            recv(r1) -> v => sum += v.unwrap(),
            recv(r2) -> v => sum += v.unwrap(),
            recv(r3) -> v => sum += v.unwrap(),
        }
    }
    let ns = t0.elapsed().as_nanos() as u64;
    assert_eq!(sum, N * (N - 1) / 2);
    gort::println!("RESULT select4 {:.1} ns/op", ns as f64 / N as f64);
}
