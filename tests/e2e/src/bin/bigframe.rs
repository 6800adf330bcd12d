//! Frames larger than a page in goroutines (> 8 KB): the compiler probes them page by page
//! (`__chkstk` on windows, inline probes on linux). Within the stack they just work, on several
//! goroutines and threads at once; with the argument `overflow` a recursion of 12 KB frames in one
//! goroutine runs
//! off the stack and the probe hits the guard: `fatal error: stack overflow`, exit 2, not silent
//! memory corruption.
#![no_std]
#![no_main]
gort::main!(main);

/// Fills a 12 KB local array and sums it: one frame of more than 8 KB.
#[inline(never)]
fn big(seed: u64, depth: u32) -> u64 {
    let mut a = [0u64; 1536];
    for (i, x) in a.iter_mut().enumerate() {
        *x = seed.wrapping_mul(i as u64 + 1);
    }
    core::hint::black_box(&mut a);
    let here: u64 = a.iter().fold(0u64, |s, &x| s.wrapping_add(x));
    if depth == 0 {
        here
    } else {
        here.wrapping_add(big(seed + 1, depth - 1))
    }
}

fn main() {
    let overflow = gort::os::args().get(1).is_some_and(|a| a == b"overflow");
    if overflow {
        // One goroutine only: two crashing at once would race for the report.
        let (tx, rx) = gort::chan::<u64>(0);
        gort::go(move || tx.send(big(0, u32::MAX)).unwrap());
        gort::println!("unreachable: {:?}", rx.recv());
        return;
    }
    let depth = 1; // 2 frames of 12 KB: 24 KB, within the 32 KB default stack of 32-bit targets
    let (tx, rx) = gort::chan::<u64>(0);
    for g in 0..8u64 {
        let tx = tx.clone();
        gort::go(move || tx.send(big(g, depth)).unwrap());
    }
    let mut got = [0u64; 8];
    for _ in 0..8 {
        let v = rx.recv().unwrap();
        if let Some(g) = (0..8).find(|&g| v == expected(g)) {
            got[g as usize] += 1;
        }
    }
    gort::println!("8 goroutines with 12 KB frames: all sums right = {}", got.iter().all(|&n| n == 1));
}

/// What big(g, 1) must return, computed on goroutine 1's stack with the same frames.
fn expected(g: u64) -> u64 {
    big(g, 1)
}
