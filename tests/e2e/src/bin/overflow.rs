//! Unbounded recursion in a goroutine: a loud `fatal error: stack overflow`, never silent.
#![no_std]
#![no_main]
gort::main!(main);

#[inline(never)]
#[allow(unconditional_recursion)]
fn recurse(n: u64, buf: &mut [u8; 256]) -> u64 {
    let mut local = [0u8; 256];
    local[(n % 256) as usize] = buf[(n % 7) as usize].wrapping_add(1);
    // black_box keeps the frame and the recursion real.
    core::hint::black_box(&mut local);
    recurse(n + 1, &mut local) + local[3] as u64
}

fn main() {
    // With an argument N, first park N goroutines: past the guard-page budget (a quarter of
    // vm.max_map_count) stacks have no guard page and overflow must still be loud.
    let parked: usize =
        gort::os::args().get(1).and_then(|a| core::str::from_utf8(a).ok()).and_then(|s| s.parse().ok()).unwrap_or(0);
    let (_hold_tx, hold_rx) = gort::chan::<()>(0);
    for _ in 0..parked {
        let r = hold_rx.clone();
        gort::go(move || {
            r.recv();
        });
    }
    for _ in 0..parked / 1000 + 1 {
        gort::gosched();
    }
    // A second argument gives the overflowing goroutine its own stack size (go_with_stack).
    let stack: usize = gort::os::args()
        .get(2)
        .and_then(|a| core::str::from_utf8(a).ok())
        .and_then(|s| s.parse().ok())
        .unwrap_or(gort::stack::stack_size());
    let (tx, rx) = gort::chan::<u64>(0);
    gort::go_with_stack(stack, move || {
        let mut b = [0u8; 256];
        tx.send(recurse(0, &mut b)).unwrap();
    });
    gort::println!("result {:?}", rx.recv());
}
