//! Unbounded recursion in a goroutine: a loud `fatal error: stack overflow`, never silent.
//!
//! `overflow [N [STACK]]`: N parked goroutines first (on STACK-byte stacks when STACK is given),
//! then a goroutine on a STACK-byte stack recurses without end.
//! `overflow neighbour`: a bounded overflow of a packed 2 KB stack into the parked neighbour
//! below it, which must be reported before that neighbour runs again (see `neighbour`).
//! `overflow waker`: the same overflow, then the overflowing goroutine itself wakes the trampled
//! neighbour through a channel: the waker must report the overflow, not write into (or read its
//! wait record from) trampled memory (see `waker`).
//! `overflow guards N` (linux): N goroutines on fresh default stacks, all alive at once; the page
//! below each stack must fault (the guard every stack of a page or more gets while the budget
//! lasts, or always with guard regions): prints `guarded K of N fresh stacks` (see `guards`).
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

/// Recurses until a frame lies below `floor`, filling each frame, then returns normally.
#[inline(never)]
fn trample(floor: usize, n: u64) -> u64 {
    let mut local = [(n as u8) | 0x80; 128];
    core::hint::black_box(&mut local);
    if (local.as_ptr() as usize) < floor {
        return local[5] as u64;
    }
    trample(floor, n + 1) + local[7] as u64
}

/// Yields until at least `n` goroutines are parked.
fn wait_parked(n: usize) {
    while gort::testing::parked_goroutines() < n {
        gort::sleep(core::time::Duration::from_millis(1));
    }
}

/// Goroutine B parks (sleeps 500 ms) on a 2 KB stack; goroutine A, on the 2 KB slot directly
/// above B's, then overflows by a few hundred bytes (into B's top frames), returns and spins
/// without any switch for 3 s. B's timer fires meanwhile and another P picks B up: the scheduler
/// must see that B's stack was overwritten from above (B's top word is A's canary) and report A's
/// overflow before running B. B's marker must never be printed; if A's spin ends with no report,
/// A's own check at its next switch reports it without the "overwritten from above" line, and
/// the case fails.
fn neighbour() {
    gort::gomaxprocs(2);
    let (btx, brx) = gort::chan::<(usize, usize)>(0);
    // The first 2 KB stacks of the process: a fresh chunk, B in one slot and A in the next.
    gort::go_with_stack(2048, move || {
        btx.send(gort::testing::stack_bounds()).unwrap();
        gort::sleep(core::time::Duration::from_millis(500));
        gort::println!("B ran after being trampled");
    });
    let (_, b_hi) = brx.recv().unwrap();
    let (done_tx, done_rx) = gort::chan::<()>(0);
    gort::go_with_stack(2048, move || {
        let (a_lo, a_hi) = gort::testing::stack_bounds();
        // Packed slots: A's stack starts right above B's 16-byte top reserve (stack.rs).
        if a_lo != b_hi + 16 || a_hi - a_lo != 2048 - 16 {
            gort::println!("LAYOUT ASSUMPTION BROKEN: A=[{:#x}, {:#x}) B's hi={:#x}", a_lo, a_hi, b_hi);
            gort::os::exit(3);
        }
        gort::println!("layout: A's stack is directly above B's");
        // Wait until B is parked in its sleep (main is parked too): a fixed delay was not
        // enough on a loaded machine under qemu, where B could still be running when A
        // trampled its frames, and crashed on them.
        wait_parked(2);
        core::hint::black_box(trample(a_lo - 512, 1));
        let end = gort::time::Instant::now() + core::time::Duration::from_secs(3);
        while gort::time::Instant::now() < end {
            core::hint::spin_loop();
        }
        gort::println!("A: no report within 3 s");
        done_tx.send(()).unwrap();
    });
    done_rx.recv();
}

/// As `neighbour`, but B parks in a channel receive and A, right after trampling B's top
/// frames, sends to B itself. The send finds B's wait record (a sudog: on the heap, so it still
/// names B) and must check B's stack before writing the value into it: A's overflow is reported
/// (`not run: its stack was overwritten from above`). Before sudogs left the stack, A read B's
/// trampled record and died with a wrong report (`casgstatus: bad transition`, blamed on g 1).
fn waker() {
    gort::gomaxprocs(2);
    let (btx, brx) = gort::chan::<(usize, usize)>(0);
    let (wake_tx, wake_rx) = gort::chan::<u64>(0);
    gort::go_with_stack(2048, move || {
        btx.send(gort::testing::stack_bounds()).unwrap();
        let v = wake_rx.recv();
        gort::println!("B ran after being trampled: {:?}", v);
    });
    let (_, b_hi) = brx.recv().unwrap();
    let (done_tx, done_rx) = gort::chan::<()>(0);
    gort::go_with_stack(2048, move || {
        let (a_lo, a_hi) = gort::testing::stack_bounds();
        if a_lo != b_hi + 16 || a_hi - a_lo != 2048 - 16 {
            gort::println!("LAYOUT ASSUMPTION BROKEN: A=[{:#x}, {:#x}) B's hi={:#x}", a_lo, a_hi, b_hi);
            gort::os::exit(3);
        }
        gort::println!("layout: A's stack is directly above B's");
        wait_parked(2); // B in its receive, main in its own
        core::hint::black_box(trample(a_lo - 512, 1));
        let r = wake_tx.send(7);
        gort::println!("A: woke a trampled goroutine without a report: {:?}", r.is_ok());
        done_tx.send(()).unwrap();
    });
    done_rx.recv();
}

/// `guards N`: N goroutines each send their stack bounds and park; for each stack, the page right
/// below `lo` (the top page of its guard, the first one a stack probe or an overflowing frame
/// hits) must be inaccessible, and the stack's own lowest page accessible. Checked from outside
/// the runtime: a path the kernel (or qemu-user) reads from an inaccessible page fails with
/// EFAULT, from an untouched stack page it is "" (ENOENT). Fresh slots only: nothing exits before.
#[cfg(target_os = "linux")]
fn guards(n: usize) {
    use gort::syscall::raw_syscall6;
    use linux_raw_sys::general as g;
    const EFAULT: isize = 14;
    const PAGE: usize = 4096;
    let faults = |addr: usize| {
        let mut b = [0u8; 1];
        // SAFETY: readlinkat only reads a path at addr (the kernel checks the address) and writes
        // at most one byte into b.
        let r = unsafe {
            raw_syscall6(g::__NR_readlinkat as usize, g::AT_FDCWD as usize, addr, b.as_mut_ptr() as usize, 1, 0, 0)
        };
        r == -EFAULT
    };
    let (tx, rx) = gort::chan::<(usize, usize)>(0);
    let (_hold_tx, hold_rx) = gort::chan::<()>(0);
    for _ in 0..n {
        let (tx, r) = (tx.clone(), hold_rx.clone());
        gort::go(move || {
            tx.send(gort::testing::stack_bounds()).unwrap();
            r.recv();
        });
    }
    let (mut guarded, mut open) = (0, 0);
    for i in 0..n {
        let (lo, _) = rx.recv().unwrap();
        if faults(lo - PAGE) {
            guarded += 1;
        } else if i < 3 || n - i < 3 {
            gort::println!("no guard below stack {} (lo={:#x})", i, lo);
        }
        if !faults(lo) {
            open += 1;
        }
    }
    gort::println!("guarded {} of {} fresh stacks; {} readable at lo", guarded, n, open);
}

fn main() {
    #[cfg(target_os = "linux")]
    if gort::os::args().get(1).copied() == Some(&b"guards"[..]) {
        let n = gort::os::args().get(2).and_then(|a| core::str::from_utf8(a).ok()).and_then(|s| s.parse().ok());
        return guards(n.unwrap_or(300));
    }
    if gort::os::args().get(1).copied() == Some(&b"neighbour"[..]) {
        return neighbour();
    }
    if gort::os::args().get(1).copied() == Some(&b"waker"[..]) {
        return waker();
    }
    // With an argument N, first park N goroutines: past the guard-page budget (a quarter of
    // vm.max_map_count) stacks have no guard page and overflow must still be loud.
    let parked: usize =
        gort::os::args().get(1).and_then(|a| core::str::from_utf8(a).ok()).and_then(|s| s.parse().ok()).unwrap_or(0);
    // A second argument gives the parked goroutines and the overflowing one their own stack
    // size (go_with_stack): with packed sizes (below a page) the overflow runs through parked
    // neighbours' stacks.
    let stack: usize = gort::os::args()
        .get(2)
        .and_then(|a| core::str::from_utf8(a).ok())
        .and_then(|s| s.parse().ok())
        .unwrap_or(gort::testing::default_stack_size());
    let (_hold_tx, hold_rx) = gort::chan::<()>(0);
    for _ in 0..parked {
        let r = hold_rx.clone();
        gort::go_with_stack(stack, move || {
            r.recv();
        });
    }
    for _ in 0..parked / 1000 + 1 {
        gort::gosched();
    }
    let (tx, rx) = gort::chan::<u64>(0);
    gort::go_with_stack(stack, move || {
        let mut b = [0u8; 256];
        tx.send(recurse(0, &mut b)).unwrap();
    });
    gort::println!("result {:?}", rx.recv());
}
