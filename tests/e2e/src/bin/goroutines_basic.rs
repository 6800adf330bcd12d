//! e2e: `gort::go` + `gort::gosched` with atomics only (no gort::sync yet).
//!
//! Main starts 10 goroutines; each records its index in a slot array guarded by a spin lock
//! (that yields with gosched while contended), adds it to a sum and bumps a counter. Main yields
//! until the counter reaches 10, then prints the results sorted, so the output is deterministic.
#![no_std]
#![no_main]
gort::main!(main);

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

const N: usize = 10;

/// A spin lock that yields the P while contended.
struct SpinLock<T> {
    locked: AtomicBool,
    value: UnsafeCell<T>,
}
// SAFETY: access to `value` only happens while `locked` is held.
unsafe impl<T: Send> Sync for SpinLock<T> {}

impl<T> SpinLock<T> {
    const fn new(v: T) -> Self {
        SpinLock { locked: AtomicBool::new(false), value: UnsafeCell::new(v) }
    }
    fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        while self.locked.compare_exchange(false, true, Ordering::Acquire, Ordering::Relaxed).is_err() {
            gort::gosched();
        }
        // SAFETY: we hold the lock.
        let r = f(unsafe { &mut *self.value.get() });
        self.locked.store(false, Ordering::Release);
        r
    }
}

/// The indices pushed so far, in arrival order.
static SLOTS: SpinLock<([usize; N], usize)> = SpinLock::new(([usize::MAX; N], 0));
static DONE: AtomicUsize = AtomicUsize::new(0);
static SUM: AtomicU64 = AtomicU64::new(0);

fn main() {
    for i in 0..N {
        gort::go(move || {
            SLOTS.with(|(slots, len)| {
                slots[*len] = i;
                *len += 1;
            });
            SUM.fetch_add(i as u64, Ordering::Relaxed);
            DONE.fetch_add(1, Ordering::Release);
        });
    }
    let mut spins = 0u64;
    while DONE.load(Ordering::Acquire) < N {
        gort::gosched();
        spins += 1;
        if spins == 50_000_000 {
            gort::println!("stuck: done={} after {} yields", DONE.load(Ordering::Acquire), spins);
            gort::os::exit(1);
        }
    }
    let (mut slots, len) = SLOTS.with(|s| *s);
    slots.sort_unstable();
    gort::println!("done {}", DONE.load(Ordering::Acquire));
    gort::println!("sum {}", SUM.load(Ordering::Relaxed));
    gort::println!("len {} slots {:?}", len, slots);
}
