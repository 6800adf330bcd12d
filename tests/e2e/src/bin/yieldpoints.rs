//! e2e: every runtime entry honours a pending preemption request (README: a goroutine yields at
//! its next runtime entry). Each mode spins on one non-blocking entry while the goroutine it
//! waits for can only run if the spinner yields (the cases run with GOMAXPROCS=1):
//!
//! - `try-recv`: `loop { rx.try_recv() }` until a spawned sender has sent.
//! - `len`: `while rx.len() == 0 {}` until a spawned sender has sent.
//! - `try-lock`: `loop { m.try_lock() }` until a spawned goroutine set the flag under the lock.
//! - `lock`: `while !*ready.lock() {}` until a spawned goroutine set it.
//! - `starve`: a goroutine re-takes a Mutex in a loop; main sleeps 50 ms, then wants the lock,
//!   and must get it well within a second (Go: about 50 ms).
#![no_std]
#![no_main]
gort::main!(main);

use core::time::Duration;
use gort::sync::Mutex;
use gort::time::Instant;

static READY: Mutex<bool> = Mutex::new(false);
static STOP: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

fn main() {
    let mode = gort::os::args().get(1).copied().unwrap_or(b"");
    match mode {
        b"try-recv" => {
            let (tx, rx) = gort::chan::<u32>(1);
            gort::go(move || tx.send(1).unwrap());
            let v = loop {
                if let Ok(v) = rx.try_recv() {
                    break v;
                }
            };
            gort::println!("try-recv got {}", v);
        }
        b"len" => {
            let (tx, rx) = gort::chan::<u32>(1);
            gort::go(move || tx.send(2).unwrap());
            while rx.is_empty() {}
            gort::println!("len saw {}", rx.len());
        }
        b"try-lock" => {
            gort::go(|| *READY.lock() = true);
            loop {
                if let Some(g) = READY.try_lock() {
                    if *g {
                        break;
                    }
                }
            }
            gort::println!("try-lock saw the flag");
        }
        b"lock" => {
            gort::go(|| *READY.lock() = true);
            while !*READY.lock() {}
            gort::println!("lock saw the flag");
        }
        b"starve" => {
            let (done_tx, done_rx) = gort::chan::<()>(0);
            gort::go(move || {
                while !STOP.load(core::sync::atomic::Ordering::Relaxed) {
                    let _g = READY.lock();
                }
                drop(done_tx);
            });
            gort::sleep(Duration::from_millis(50));
            let t0 = Instant::now();
            let g = READY.lock();
            let waited = t0.elapsed();
            drop(g);
            STOP.store(true, core::sync::atomic::Ordering::Relaxed);
            done_rx.recv();
            gort::println!("main got the lock within 1 s: {}", waited < Duration::from_secs(1));
            if waited >= Duration::from_secs(1) {
                gort::eprintln!("waited {:?}", waited);
            }
        }
        _ => gort::println!("usage: yieldpoints try-recv|len|try-lock|lock|starve"),
    }
}
