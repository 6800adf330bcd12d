// Two goroutines share one `&MutexGuard<Cell<u64>>`: both call `Cell::get`/`Cell::set` through
// the guard at the same time, a data race on a `!Sync` value in safe code. A guard gives shared
// access to its value to whoever holds a `&MutexGuard`, so `MutexGuard<T>` may be `Sync` only
// when `T: Sync` (std's `MutexGuard` says the same); `gort::go` needs `Send + 'static`, and
// `&MutexGuard<Cell<u64>>` must not be `Send`.
// expect: cannot be shared between threads safely
#![no_std]
#![no_main]
#![forbid(unsafe_code)]

extern crate alloc;

use alloc::boxed::Box;
use core::cell::Cell;
use gort::sync::{Mutex, MutexGuard};

gort::main!(main);

static COUNTER: Mutex<Cell<u64>> = Mutex::new(Cell::new(0));

fn main() {
    let guard: &'static MutexGuard<'static, Cell<u64>> = Box::leak(Box::new(COUNTER.lock()));
    gort::go(move || guard.set(guard.get() + 1));
    guard.set(guard.get() + 1); // races with the goroutine's get/set
}
