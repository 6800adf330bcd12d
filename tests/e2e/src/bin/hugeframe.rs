//! e2e: a 192 KB local touched only at its far (lowest) end, in a goroutine on a 64 KB stack
//! with parked neighbours below it: one step of SP past any single guard page, into their
//! stacks. It must be loud on every target, never silent corruption:
//! - x86-64, arm64 (inline stack probes) and windows (`__chkstk`) probe the frame page by page
//!   from the top and fault in the guard: `fatal error: stack overflow`.
//! - linux/arm has no probes: the runtime refuses at startup to run a program with a frame above
//!   `arch::MAX_FRAME` (16 KB, the size of its guard region), naming the function.
#![no_std]
#![no_main]
gort::main!(main);

use core::mem::MaybeUninit;

/// Touches only the lowest byte of a 192 KB frame.
#[inline(never)]
fn huge(seed: u8) -> u8 {
    let mut a = MaybeUninit::<[u8; 192 << 10]>::uninit();
    let p = a.as_mut_ptr() as *mut u8;
    // SAFETY: p is the first byte of the local array.
    unsafe { core::ptr::write_volatile(p, seed) };
    core::hint::black_box(&mut a);
    // SAFETY: written just above.
    unsafe { core::ptr::read_volatile(p) }
}

fn main() {
    // Neighbours on the same stack size: their slots sit below the next one's.
    let (hold_tx, hold_rx) = gort::chan::<()>(0);
    for _ in 0..16 {
        let r = hold_rx.clone();
        gort::go_with_stack(64 << 10, move || {
            r.recv();
        });
    }
    for _ in 0..4 {
        gort::gosched();
    }
    let (tx, rx) = gort::chan::<u8>(0);
    gort::go_with_stack(64 << 10, move || tx.send(huge(7)).unwrap());
    gort::println!("not loud: {:?}", rx.recv());
    drop(hold_tx);
}
