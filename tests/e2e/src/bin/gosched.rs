//! gort::gosched's order (Go's Gosched): on one P, a yielding goroutine runs again after every
//! goroutine already queued there. gort takes a local-queue path when nothing else is due and
//! Go's global-queue path otherwise; both must give Go's order.
//!
//! `gosched order`        main and 3 goroutines (A, B, C) each log and yield 3 times.
//! `gosched order-timer`  the same with a timer pending all along (the global-queue path).
//!
//! Go 1.19 prints, for the same program (GOMAXPROCS=1):
//! `main1 C1 A1 B1 main2 C2 A2 B2 main3 C3 A3 B3` — C first because a new goroutine goes to
//! runnext, pushing the one there before it to the queue's tail.
#![no_std]
#![no_main]
gort::main!(main);

extern crate alloc;

use alloc::string::String;
use core::sync::atomic::{AtomicUsize, Ordering};
use core::time::Duration;

/// The log: (name, round) in the order they ran.
static LOG: [AtomicUsize; 64] = [const { AtomicUsize::new(0) }; 64];
static LEN: AtomicUsize = AtomicUsize::new(0);

fn log(who: usize, round: usize) {
    LOG[LEN.fetch_add(1, Ordering::Relaxed)].store(who * 10 + round, Ordering::Relaxed);
}

fn main() {
    let mode = gort::os::args().get(1).and_then(|a| core::str::from_utf8(a).ok()).unwrap_or("");
    let _timer = (mode == "order-timer").then(|| gort::time::after_func(Duration::from_secs(3600), || {}));
    gort::gomaxprocs(1);
    let (tx, rx) = gort::chan::<()>(3);
    for who in 1..=3 {
        let tx = tx.clone();
        gort::go(move || {
            for round in 1..=3 {
                log(who, round);
                gort::gosched();
            }
            tx.send(()).unwrap();
        });
    }
    for round in 1..=3 {
        log(0, round);
        gort::gosched();
    }
    for _ in 0..3 {
        rx.recv().unwrap();
    }
    let mut out = String::new();
    for e in LOG.iter().take(LEN.load(Ordering::Relaxed)) {
        let e = e.load(Ordering::Relaxed);
        let name = ["main", "A", "B", "C"][e / 10];
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(name);
        out.push(char::from(b'0' + (e % 10) as u8));
    }
    gort::println!("{}", out);
}
