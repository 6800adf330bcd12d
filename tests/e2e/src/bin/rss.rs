//! e2e: memory per parked goroutine, and stacks given back to the OS.
//!
//! `rss [N [STACK]]` parks N goroutines (default 100 000), each on its own stack of STACK bytes
//! (default: the runtime's default, through go_with_stack), and reports the resident memory they
//! add per goroutine (from /proc/self/statm, the kernel's count). It then wakes them all, runs
//! 2 000 goroutines that each use 32 KB of stack and exit, and reports whether their deep stack
//! pages were given back to the OS (stack scavenging). It also reports how much of its stack the
//! first parked goroutine uses (the deepest non-zero word of its fresh, zero-filled slot): the
//! margin a small stack size leaves.
#![no_std]
#![no_main]
gort::main!(main);

extern crate alloc;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicUsize, Ordering};
use gort::sync::WaitGroup;

/// The stack bounds of the first parked goroutine.
static FIRST_LO: AtomicUsize = AtomicUsize::new(0);
static FIRST_HI: AtomicUsize = AtomicUsize::new(0);

/// Bytes of `[lo, hi)` in use: from the lowest non-zero word up to hi (the stack memory was
/// zero when the goroutine started on it).
fn stack_use(lo: usize, hi: usize) -> usize {
    let w = core::mem::size_of::<usize>();
    let mut p = lo;
    // SAFETY: [lo, hi) is the stack of a parked goroutine (nothing writes it while we read),
    // mapped read-write; volatile reads of plain words.
    while p < hi && unsafe { (p as *const usize).read_volatile() } == 0 {
        p += w;
    }
    hi - p
}

/// Resident set size in bytes (the kernel's count, through the e2e helper crate).
fn rss() -> usize {
    gort_e2e::rss_kb() as usize * 1024
}

#[inline(never)]
fn use_stack(depth: usize) -> u64 {
    let mut a = [0u8; 1024];
    a[depth % 1024] = depth as u8;
    core::hint::black_box(&mut a);
    if depth == 0 {
        a[1] as u64
    } else {
        use_stack(depth - 1) + a[depth % 1024] as u64
    }
}

fn arg(i: usize) -> Option<usize> {
    gort::os::args().get(i).and_then(|a| core::str::from_utf8(a).ok()).and_then(|s| s.parse().ok())
}

fn main() {
    let n = arg(1).unwrap_or(100_000);
    let stack = arg(2).unwrap_or(gort::testing::default_stack_size());
    let before = rss();
    let (tx, rx) = gort::chan::<()>(0);
    let wg = Arc::new(WaitGroup::new());
    wg.add(n as i64);
    for i in 0..n {
        let rx = rx.clone();
        let wg = wg.clone();
        gort::go_with_stack(stack, move || {
            if i == 0 {
                let (lo, hi) = gort::testing::stack_bounds();
                FIRST_LO.store(lo, Ordering::Relaxed);
                FIRST_HI.store(hi, Ordering::Relaxed);
            }
            rx.recv();
            wg.done();
        });
    }
    // Let every goroutine run up to its receive.
    while gort::num_goroutine() < n as i64 + 1 {
        gort::gosched();
    }
    for _ in 0..n / 1000 + 10 {
        gort::gosched();
    }
    let during = rss();
    let per = (during.saturating_sub(before)) / n;
    gort::println!("parked={} stack={} bytes_per_goroutine={}", n, gort::testing::round_stack_size(stack), per);
    gort::println!("under 16 KB each: {}", per < 16384);
    let (lo, hi) = (FIRST_LO.load(Ordering::Relaxed), FIRST_HI.load(Ordering::Relaxed));
    gort::println!("parked goroutine's stack use: {} of {} bytes", stack_use(lo, hi), hi - lo);
    drop(tx);
    drop(rx);
    wg.wait();

    // Deep stacks that exit: their pages below the top one go back to the OS when their gs
    // move to the global free list. The 2000 are alive at once (each waits at a gate once it
    // has used its stack), so 2000 stacks exist: one after the other, each would start on the
    // stack the previous one left (stack_for_first_run), and that one stack stays on the P.
    let released_before = gort::testing::stacks_scavenged();
    let wg = Arc::new(WaitGroup::new());
    let started = Arc::new(WaitGroup::new());
    let (gate_tx, gate_rx) = gort::chan::<()>(0);
    wg.add(2000);
    started.add(2000);
    for _ in 0..2000 {
        let (wg, started, gate) = (wg.clone(), started.clone(), gate_rx.clone());
        gort::go(move || {
            core::hint::black_box(use_stack(24));
            started.done();
            let _ = gate.recv();
            wg.done();
        });
    }
    started.wait();
    drop(gate_tx);
    wg.wait();
    // Churn the free lists so the dead gs move to the global list.
    for _ in 0..4 {
        let wg = Arc::new(WaitGroup::new());
        wg.add(200);
        for _ in 0..200 {
            let wg = wg.clone();
            gort::go(move || wg.done());
        }
        wg.wait();
    }
    // sysmon scavenges the global free list every 10 ms; give it up to 2 s.
    let mut released = false;
    for _ in 0..100 {
        released = gort::testing::stacks_scavenged() > released_before;
        if released {
            break;
        }
        gort::sleep(core::time::Duration::from_millis(20));
    }
    gort::println!("deep stacks released: {}", released);
}
