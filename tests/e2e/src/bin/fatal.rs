//! e2e: the runtime's fatal paths that no other program reaches.
//!
//! - `oom`: an allocation the OS cannot back: the allocator itself fails, and the report must
//!   still come out (it is written without allocating): `fatal error: out of memory`, exit 2.
//! - `throw`: a runtime throw from a goroutine (gort::testing::throw, what the runtime calls on a broken
//!   invariant): `fatal error: <msg>` and the goroutine, exit 2.
//! - `wg-negative`: a WaitGroup counter below zero panics, as in Go: `panic: sync: negative
//!   WaitGroup counter`, at the caller's line (track_caller), exit 2.
//! - `close-twice`: closing a closed channel panics at the caller's line.
//! - `select-unrun`: select's building block, asked for the outcome of a case that never ran,
//!   panics (it used to read an uninitialised slot).
//! - `blocking-misuse`: a channel operation inside `syscall::blocking` (the goroutine has no P)
//!   panics instead of parking a goroutine without a P.
#![no_std]
#![no_main]
gort::main!(main);

extern crate alloc;
use alloc::vec::Vec;

fn oom() {
    // 64-bit: one request of 1 PB, beyond any user address space. 32-bit: 256 MB at a time
    // until the address space runs out.
    #[cfg(target_pointer_width = "64")]
    {
        let v: Vec<u8> = Vec::with_capacity(1 << 50);
        core::hint::black_box(&v);
    }
    #[cfg(target_pointer_width = "32")]
    {
        let mut keep: Vec<Vec<u8>> = Vec::new();
        for _ in 0..64 {
            keep.push(Vec::with_capacity(256 << 20));
        }
        core::hint::black_box(&keep);
    }
    gort::println!("allocation succeeded?");
}

fn main() {
    let mode = gort::os::args().get(1).copied().unwrap_or(b"");
    gort::println!("start");
    match mode {
        b"oom" => oom(),
        b"throw" => {
            let (tx, rx) = gort::chan::<()>(0);
            gort::go(move || {
                let _keep = &tx;
                gort::testing::throw("e2e: broken invariant");
            });
            rx.recv();
        }
        b"wg-negative" => {
            let wg = gort::sync::WaitGroup::new();
            wg.done();
        }
        b"close-twice" => {
            let (tx, _rx) = gort::chan::<u32>(1);
            tx.close();
            tx.close();
        }
        b"select-unrun" => {
            let (_tx, rx) = gort::chan::<u32>(1);
            let mut case = gort::__private::RecvCase::new(&rx);
            let v = case.take();
            gort::println!("read {:?}", v);
        }
        b"blocking-misuse" => {
            let (tx, rx) = gort::chan::<u32>(1);
            gort::syscall::blocking(|| tx.send(1).unwrap());
            rx.recv();
        }
        _ => gort::println!("usage: fatal oom|throw|wg-negative|close-twice|select-unrun|blocking-misuse"),
    }
    gort::println!("not reached");
}
