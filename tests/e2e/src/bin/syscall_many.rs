//! e2e: N goroutines (default 10 000) blocked in system calls at once while other goroutines keep
//! running. Each blocked goroutine holds an M (Go's model), so the thread limit is raised first
//! with `set_max_threads` (Go's debug.SetMaxThreads). The blockers wait in futex(2) on one word;
//! meanwhile workers keep passing a token around a ring of channels, and main checks that the
//! ring made progress while every blocker was in the kernel, then wakes them all.
#![no_std]
#![no_main]
gort::main!(main);

#[cfg(not(target_os = "linux"))]
fn main() {
    gort::println!("syscall_many: Linux only: it blocks in futex(2) and counts threads in /proc/self/status");
    gort::os::exit(3);
}

#[cfg(target_os = "linux")]
use linux::main;

#[cfg(target_os = "linux")]
mod linux {
    use core::sync::atomic::{AtomicU32, AtomicU64, Ordering};
    use core::time::Duration;
    use gort_e2e::nr;

    const FUTEX_WAIT_PRIVATE: usize = 128;
    const FUTEX_WAKE_PRIVATE: usize = 129;

    static WORD: AtomicU32 = AtomicU32::new(0);
    static ENTERED: AtomicU64 = AtomicU64::new(0);
    static ROUNDS: AtomicU64 = AtomicU64::new(0);

    /// The "Threads:" count of /proc/self/status (the kernel's view, independent of the runtime).
    fn os_threads() -> Option<u64> {
        const AT_FDCWD: isize = -100;
        let path = b"/proc/self/status\0";
        // SAFETY: NUL-terminated path, read-only open.
        let fd = unsafe { gort::syscall::syscall6(nr::OPENAT, AT_FDCWD as usize, path.as_ptr() as usize, 0, 0, 0, 0) };
        if fd < 0 {
            return None;
        }
        let mut buf = [0u8; 4096];
        // SAFETY: buf is writable.
        let n =
            unsafe { gort::syscall::syscall6(nr::READ, fd as usize, buf.as_mut_ptr() as usize, buf.len(), 0, 0, 0) };
        // SAFETY: our fd.
        unsafe { gort::syscall::syscall6(nr::CLOSE, fd as usize, 0, 0, 0, 0, 0) };
        let text = core::str::from_utf8(&buf[..n.max(0) as usize]).ok()?;
        let line = text.lines().find(|l| l.starts_with("Threads:"))?;
        line["Threads:".len()..].trim().parse().ok()
    }

    pub fn main() {
        let n: u64 = gort::os::args()
            .get(1)
            .and_then(|a| core::str::from_utf8(a).ok())
            .and_then(|s| s.parse().ok())
            .unwrap_or(10_000);
        let old = gort::set_max_threads(n as i32 + 1000);
        gort::println!("max threads {} -> {}", old, n + 1000);

        let (done_tx, done_rx) = gort::chan::<()>(0);
        for _ in 0..n {
            let done = done_tx.clone();
            gort::go(move || {
                ENTERED.fetch_add(1, Ordering::SeqCst);
                // 100 s (the case's timeout is 120): a lost wake-up fails the case instead of
                // hanging it. Not shorter: on a loaded machine at GOMAXPROCS=1 each blocker's P
                // comes back through sysmon's retake (two of its passes, milliseconds apart
                // under CPU hogs), ~270 new threads a second here, so the last blocker enters
                // ~37 s after the first, and a first blocker that timed out meanwhile took its
                // thread away (the count then stalled at ~8 900 of 10 000).
                let ts = [100usize, 0];
                loop {
                    // SAFETY: WORD is a live u32; ts is a valid timespec.
                    let r = unsafe {
                        gort::syscall::syscall6(
                            nr::FUTEX,
                            WORD.as_ptr() as usize,
                            FUTEX_WAIT_PRIVATE,
                            0,
                            ts.as_ptr() as usize,
                            0,
                            0,
                        )
                    };
                    if WORD.load(Ordering::SeqCst) != 0 || r == -110 {
                        break; // woken (or EAGAIN because already set), or timed out
                    }
                }
                done.send(()).unwrap();
            });
        }

        // The ring: 4 goroutines pass a token; it keeps moving as long as the scheduler has a P for them.
        let (first_tx, mut prev_rx) = gort::chan::<u64>(0);
        for _ in 0..3 {
            let (tx, rx) = gort::chan::<u64>(0);
            gort::go(move || {
                while let Some(v) = prev_rx.recv() {
                    if tx.send(v + 1).is_err() {
                        break;
                    }
                }
            });
            prev_rx = rx;
        }
        let ring_tx = first_tx.clone();
        gort::go(move || {
            let mut v = 0;
            loop {
                if ring_tx.send(v).is_err() {
                    break;
                }
                match prev_rx.recv() {
                    Some(w) => v = w,
                    None => break,
                }
                ROUNDS.fetch_add(1, Ordering::Relaxed);
                // A ring of unbuffered channels runs on runnext, inheriting its time slice, so with
                // GOMAXPROCS=1 it would leave the global queue (where the blockers wait for their
                // turn to enter the kernel) to the 1-in-61 fairness check, as in Go: yield once a round.
                gort::gosched();
            }
        });

        // Wait until every blocker has entered its system call and the kernel shows a thread each:
        // as long as threads keep coming (a stall of 20 s fails), up to 95 s (before the first
        // blocker's futex times out).
        let start = gort::time::Instant::now();
        let (mut last, mut last_change) = (0, gort::time::Instant::now());
        while ENTERED.load(Ordering::SeqCst) < n || os_threads().unwrap_or(0) < n {
            gort::sleep(Duration::from_millis(10));
            let now = os_threads().unwrap_or(0);
            if now != last {
                (last, last_change) = (now, gort::time::Instant::now());
            }
            if last_change.elapsed() > Duration::from_secs(20) || start.elapsed() > Duration::from_secs(95) {
                gort::println!(
                    "timed out after {:?}: entered={} threads={:?}",
                    start.elapsed(),
                    ENTERED.load(Ordering::SeqCst),
                    os_threads()
                );
                gort::os::exit(1);
            }
        }
        let before = ROUNDS.load(Ordering::Relaxed);
        gort::sleep(Duration::from_millis(100));
        let during = ROUNDS.load(Ordering::Relaxed) - before;
        let threads = os_threads().unwrap_or(0);
        gort::println!("{} goroutines blocked in futex(2); os threads >= {}: {}", n, n, threads >= n);
        gort::println!("ring kept running while they were blocked: {}", during > 0);

        WORD.store(1, Ordering::SeqCst);
        // SAFETY: WORD is a live u32.
        unsafe {
            gort::syscall::raw_syscall6(
                nr::FUTEX,
                WORD.as_ptr() as usize,
                FUTEX_WAKE_PRIVATE,
                i32::MAX as usize,
                0,
                0,
                0,
            )
        };
        for _ in 0..n {
            done_rx.recv().unwrap();
        }
        gort::println!("all {} returned", n);
    }
}
