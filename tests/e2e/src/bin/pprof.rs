//! Known workloads for the profilers (src/cpuprof.rs, src/mprof.rs), whose files the harness
//! reads with `go tool pprof -top` (`pprof:` lines in cases/pprof.case).
//!
//! - `cpu` (run under GODEBUG=cpuprofile=PATH): `burn_hot` burns about three times the CPU of
//!   `burn_warm`, on two goroutines, so the profile must list `burn_hot` first.
//! - `api PATH`: the same through `gort::pprof::start_cpu` / `stop`.
//! - `ring PATH`: `api`'s profile with the sample ring cut to 16 samples, so the writer must
//!   drain it as the profile runs (`lost_profile_events` in the profile if it does not).
//! - `heap PATH`: `heap_leak_site` leaks 4096 objects of 4 KiB (16 MiB), `heap_churn_site`
//!   allocates and frees 64 MiB in objects of 4 KiB; then `gort::pprof::write_heap(PATH)`:
//!   in-use space is the leak's, allocated space mostly the churn's.
//! - `unsupported`: on a target without profiles, start_cpu must say Unsupported.
#![no_std]
#![no_main]
extern crate alloc;

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::hint::black_box;

gort::main!(main);

/// About `ms` milliseconds of pure computation (the clock is read every 4096 rounds); inlined,
/// so the loop is its caller's own code.
#[inline(always)]
fn spin(ms: u64, mut x: u64) -> u64 {
    let start = gort::time::Instant::now();
    let d = core::time::Duration::from_millis(ms);
    loop {
        for _ in 0..4096 {
            x = black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407));
        }
        if start.elapsed() >= d {
            return x;
        }
    }
}

#[inline(never)]
fn burn_hot(ms: u64) -> u64 {
    black_box(spin(ms, 1))
}

#[inline(never)]
fn burn_warm(ms: u64) -> u64 {
    black_box(spin(ms, 2))
}

/// Hot and warm, 3:1, on two goroutines; about 1.2 s of CPU.
fn workload() {
    let (tx, rx) = gort::chan::<u64>(1);
    gort::go(move || {
        let mut x = 0;
        for _ in 0..10 {
            x ^= burn_hot(45);
            x ^= burn_warm(15);
        }
        tx.send(x).unwrap();
    });
    let mut x = 0;
    for _ in 0..10 {
        x ^= burn_hot(45);
        x ^= burn_warm(15);
    }
    x ^= rx.recv().unwrap();
    gort::println!("workload done {}", x & 1 | 1);
}

#[inline(never)]
fn heap_leak_site(keep: &mut Vec<Box<[u8; 4096]>>) {
    for i in 0..4096 {
        let mut b = Box::new([0u8; 4096]);
        b[0] = i as u8;
        keep.push(black_box(b));
    }
}

#[inline(never)]
fn heap_churn_site() {
    for i in 0..16384 {
        let mut b = Box::new([0u8; 4096]);
        b[1] = i as u8;
        drop(black_box(b));
    }
}

fn main() {
    let args = gort::os::args();
    let arg = |i: usize| args.get(i).map(|a| core::str::from_utf8(a).unwrap_or("")).unwrap_or("");
    match arg(1) {
        "cpu" => workload(),
        "api" => {
            gort::pprof::start_cpu(arg(2)).unwrap();
            // A second start while one runs is refused.
            gort::println!("second start: {:?}", gort::pprof::start_cpu(arg(2)).map_err(|e| e.kind()));
            workload();
            gort::pprof::stop().unwrap();
            gort::println!("stopped");
        }
        "ring" => {
            // A 16-sample ring (the writer woken at 8) for a workload of ~120 samples: unless the
            // writer drains it while the profile runs, most samples are lost.
            gort::testing::set_cpu_profile_ring(16);
            gort::pprof::start_cpu(arg(2)).unwrap();
            workload();
            gort::pprof::stop().unwrap();
            gort::println!("stopped");
        }
        "heap" => {
            let mut keep = Vec::with_capacity(4096);
            heap_leak_site(&mut keep);
            heap_churn_site();
            gort::pprof::write_heap(arg(2)).unwrap();
            gort::println!("heap written, {} kept", keep.len());
            // Leaked for good: GODEBUG=memprofile's profile, written at exit, still sees it.
            core::mem::forget(keep);
        }
        "unsupported" => {
            gort::println!("{:?}", gort::pprof::start_cpu("x.prof").map_err(|e| e.kind()));
        }
        _ => gort::println!("usage: pprof cpu | api PATH | ring PATH | heap PATH | unsupported"),
    }
}
