//! e2e: where `gort::go` puts a goroutine's closure. A closure of up to 32 bytes (aligned to at
//! most 8) goes into the g, a larger one to the top of the new goroutine's stack when its g
//! comes with a stack (up to a sixty-fourth of the stack, 128 bytes at most), any other to the
//! heap. Each kind below is spawned in rounds (the first takes fresh gs without stacks, later
//! ones reuse dead gs with theirs) and checks that every goroutine sees its captures intact, at
//! their alignment, and that each capture is dropped exactly once.
#![no_std]
#![no_main]
gort::main!(main);

extern crate alloc;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicUsize, Ordering};
use gort::sync::WaitGroup;

static DROPS: AtomicUsize = AtomicUsize::new(0);
static BAD: AtomicUsize = AtomicUsize::new(0);

/// Counts its drop.
struct Tally;
impl Drop for Tally {
    fn drop(&mut self) {
        DROPS.fetch_add(1, Ordering::Relaxed);
    }
}

/// `N` bytes of a pattern derived from `seed`.
#[derive(Clone, Copy)]
struct Bytes<const N: usize>([u8; N]);
impl<const N: usize> Bytes<N> {
    fn new(seed: usize) -> Self {
        let mut b = [0u8; N];
        for (i, x) in b.iter_mut().enumerate() {
            *x = (seed.wrapping_mul(31).wrapping_add(i * 7)) as u8;
        }
        Bytes(b)
    }
    fn ok(&self, seed: usize) -> bool {
        self.0 == Self::new(seed).0
    }
}

#[repr(align(16))]
struct Align16(u64);
#[repr(align(64))]
struct Align64(u64);

const ROUNDS: usize = 3;
const PER_ROUND: usize = 200;

/// Spawns directly (the closure under test is what gort::go sees), ROUNDS x PER_ROUND.
fn direct<F: FnOnce() + Send + 'static>(name: &str, stack: Option<usize>, make: impl Fn(usize, Arc<WaitGroup>) -> F) {
    let (drops0, bad0) = (DROPS.load(Ordering::Relaxed), BAD.load(Ordering::Relaxed));
    for r in 0..ROUNDS {
        let wg = Arc::new(WaitGroup::new());
        wg.add(PER_ROUND as i64);
        for i in 0..PER_ROUND {
            let f = make(r * PER_ROUND + i, wg.clone());
            match stack {
                Some(n) => gort::go_with_stack(n, f),
                None => gort::go(f),
            }
        }
        wg.wait();
    }
    let drops = DROPS.load(Ordering::Relaxed) - drops0;
    let bad = BAD.load(Ordering::Relaxed) - bad0;
    // (The sizes named are 64-bit ones; the output does not depend on them.)
    gort::println!("{}: drops {} bad {}", name, drops, bad);
}

fn check(ok: bool) {
    if !ok {
        BAD.fetch_add(1, Ordering::Relaxed);
    }
}

fn kinds(stack: Option<usize>, tag: &str) {
    // Zero-sized: a static WaitGroup.
    static ZWG: WaitGroup = WaitGroup::new();
    for _ in 0..ROUNDS {
        ZWG.add(PER_ROUND as i64);
        for _ in 0..PER_ROUND {
            let f = || ZWG.done();
            match stack {
                Some(n) => gort::go_with_stack(n, f),
                None => gort::go(f),
            }
        }
        ZWG.wait();
    }
    gort::println!("{}zero-sized: done", tag);
    macro_rules! bytes {
        ($n:expr, $label:expr) => {
            direct(&alloc::format!("{}{}", tag, $label), stack, |i, wg| {
                let (b, t) = (Bytes::<$n>::new(i), Tally);
                move || {
                    check(b.ok(i));
                    drop(t);
                    wg.done();
                }
            });
        };
    }
    // wg (8) + i (8) + Tally (0) + bytes: 16 + N in all (8-aligned).
    bytes!(1, "24-byte");
    bytes!(9, "32-byte");
    bytes!(17, "40-byte");
    bytes!(100, "120-byte");
    bytes!(120, "136-byte");
    if stack.is_none() {
        // Not on 2 KB stacks: the goroutine moves its closure onto its own frame (twice in a
        // debug build), which would not fit.
        bytes!(1000, "1016-byte");
    }
    direct(&alloc::format!("{}align16", tag), stack, |i, wg| {
        let (a, t) = (Align16(i as u64 * 3), Tally);
        move || {
            check((&a as *const Align16 as usize).is_multiple_of(16) && a.0 == i as u64 * 3);
            drop(t);
            wg.done();
        }
    });
    direct(&alloc::format!("{}align64", tag), stack, |i, wg| {
        let (a, t) = (Align64(i as u64 * 5), Tally);
        move || {
            check((&a as *const Align64 as usize).is_multiple_of(64) && a.0 == i as u64 * 5);
            drop(t);
            wg.done();
        }
    });
}

fn main() {
    let args = gort::os::args();
    let small = args.get(1).map(|a| &a[..] == b"small").unwrap_or(false);
    if small {
        kinds(Some(2048), "2k-stack ");
    } else {
        kinds(None, "");
    }
    gort::println!("total drops {}", DROPS.load(Ordering::Relaxed));
}
