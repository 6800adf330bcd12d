//! Goroutine dumps (issue #16): every goroutine parked in a different way (chan send, select,
//! sync.Mutex.Lock, sync.WaitGroup.Wait, main in chan receive; with `sigquit` also sleep), each
//! in its own named frame, then either a deadlock (no argument: Go's `fatal error: all goroutines are
//! asleep - deadlock!` and every goroutine's chain) or, with `sigquit`, main sends itself SIGQUIT
//! (tgkill to its own thread) while the others are parked: Go's `SIGQUIT: quit` dump, exit 2.
//! With `aged`, the deadlock comes after the parked goroutines were made to look 3 minutes old
//! (gort::testing::age_waiting_goroutines): their headers say `, 3 minutes`.
#![no_std]
#![no_main]
gort::main!(main);

static MU: gort::sync::Mutex<u32> = gort::sync::Mutex::new(0);

#[inline(never)]
fn send_forever(tx: gort::Sender<u32>) {
    let _ = tx.send(1);
}

#[inline(never)]
fn select_forever(a: gort::Receiver<u32>, b: gort::Receiver<u32>) {
    gort::select! {
        recv(a) -> v => gort::println!("unexpected a {:?}", v),
        recv(b) -> v => gort::println!("unexpected b {:?}", v),
    }
}

#[inline(never)]
fn lock_forever() {
    let g = MU.lock();
    gort::println!("unexpected lock {}", *g);
}

#[inline(never)]
fn wait_forever(wg: &gort::sync::WaitGroup) {
    wg.wait();
    // Not a tail call: the frame stays on the stack for the dump to show.
    gort::println!("unexpected wait");
}

#[inline(never)]
fn sleep_long() {
    gort::sleep(core::time::Duration::from_secs(3600));
    gort::println!("unexpected wake");
}

#[inline(never)]
fn recv_forever(rx: gort::Receiver<u32>) {
    let _ = rx.recv();
}

#[cfg(target_os = "linux")]
#[inline(never)]
fn sigquit_self() {
    use gort::syscall::raw_syscall6;
    use linux_raw_sys::general as g;
    // SAFETY: getpid and gettid take no arguments; tgkill sends a signal to our own thread.
    unsafe {
        let pid = raw_syscall6(g::__NR_getpid as usize, 0, 0, 0, 0, 0, 0);
        let tid = raw_syscall6(g::__NR_gettid as usize, 0, 0, 0, 0, 0, 0);
        raw_syscall6(g::__NR_tgkill as usize, pid as usize, tid as usize, g::SIGQUIT as usize, 0, 0, 0);
    }
    gort::println!("unexpected: SIGQUIT did not end the process");
}

/// SIGQUIT is only handled on linux so far (the case runs there only).
#[cfg(not(target_os = "linux"))]
fn sigquit_self() {
    gort::println!("no SIGQUIT dump on this OS");
}

fn main() {
    let sigquit = gort::os::args().get(1) == Some(&&b"sigquit"[..]);
    let aged = gort::os::args().get(1) == Some(&&b"aged"[..]);
    // Held for good: lock_forever's goroutine waits on it.
    core::mem::forget(MU.lock());
    let (tx, keep_rx) = gort::chan::<u32>(0);
    let (keep_a, a) = gort::chan::<u32>(0);
    let (keep_b, b) = gort::chan::<u32>(0);
    let (keep_tx, rx) = gort::chan::<u32>(0);
    gort::go(move || send_forever(tx));
    gort::go(move || select_forever(a, b));
    gort::go(lock_forever);
    static WG: gort::sync::WaitGroup = gort::sync::WaitGroup::new();
    WG.add(1);
    gort::go(|| wait_forever(&WG));
    if sigquit {
        // Not a deadlock (a timer is pending): only in the SIGQUIT dump.
        gort::go(sleep_long);
    }
    // Let them all park first.
    gort::sleep(core::time::Duration::from_millis(50));
    gort::println!("parked");
    if aged {
        gort::testing::age_waiting_goroutines(core::time::Duration::from_secs(200));
    }
    if sigquit {
        sigquit_self();
    }
    recv_forever(rx);
    drop((keep_rx, keep_a, keep_b, keep_tx));
}
