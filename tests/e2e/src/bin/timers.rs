//! Runtime timers end to end (gort::time, channel timeouts, gort::context). The first argument
//! picks the check; each prints a few lines the case compares. Bounds on time are generous (qemu,
//! `stress --load`): "never early" is exact, "late" is only ever bounded by seconds.
#![no_std]
#![no_main]
gort::main!(main);

extern crate alloc;

use alloc::sync::Arc;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use core::time::Duration;

use gort::time::{after, after_func, Instant, SystemTime, Ticker, Timer, UNIX_EPOCH};
use gort::{context, select};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// xorshift64*, seeded from the clock (the seed is printed on failure).
struct Rng(u64);
impl Rng {
    fn new() -> Rng {
        Rng((SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos() as u64) | 1)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 11) % n
    }
}

fn arg(i: usize) -> &'static str {
    gort::os::args().get(i).and_then(|a| core::str::from_utf8(a).ok()).unwrap_or("")
}

fn num(i: usize, default: u64) -> u64 {
    arg(i).parse().unwrap_or(default)
}

fn main() {
    match arg(1) {
        "clock" => clock(),
        "order" => order(num(2, 100_000)),
        "order-burst" => order_burst(num(2, 1000)),
        "stop-race" => stop_race(num(2, 2000)),
        "ticker" => ticker(),
        "resize" => resize(),
        "leak" => leak(num(2, 10_000_000)),
        "timeouts" => timeouts(),
        "timeout-race" => timeout_race(num(2, 20_000)),
        "select-after" => select_after(),
        "context" => context_tree(),
        "after-func" => after_func_check(),
        a => panic!("unknown check {:?}", a),
    }
}

/// The clocks and sleeps.
fn clock() {
    let wall = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    gort::println!("wall after 2020: {}", wall.as_secs() > 1_600_000_000);
    let a = Instant::now();
    gort::time::sleep(ms(20));
    let slept = a.elapsed();
    gort::println!("sleep 20ms not early: {}", slept >= ms(20));
    let until = Instant::now() + ms(15);
    gort::time::sleep_until(until);
    gort::println!("sleep_until not early: {}", Instant::now() >= until);
    gort::time::sleep_until(a); // in the past: returns at once
    let mut b = a;
    b += ms(5);
    b -= ms(2);
    gort::println!("instant arithmetic: {}", b.duration_since(a) == ms(3) && a.duration_since(b) == Duration::ZERO);
    gort::println!("pending after sleeps: {}", gort::testing::timers_pending());
}

/// 100 000 after_func timers with random deadlines over 10 s: none runs before its deadline, and
/// as one goroutine sees them (a shared channel), any two whose deadlines are 10 ms or more apart
/// arrive in deadline order.
fn order(n: u64) {
    let mut rng = Rng::new();
    let seed = rng.0;
    let (tx, rx) = gort::chan::<(usize, Instant)>(n as usize);
    let mut deadlines = Vec::with_capacity(n as usize);
    let mut handles = Vec::with_capacity(n as usize);
    // The deadlines start once every timer is made (creating them takes from tens of ms natively
    // to seconds under qemu): measure 1000, allow four times the rate for the rest.
    let a = Instant::now();
    for _ in 0..1000 {
        after_func(Duration::from_secs(3600), || {}).stop();
    }
    let per_1000 = a.elapsed();
    // Both scale with that measurement, within bounds: a load spike during it (qemu beside
    // other builds: 70 ms per 1000 once) would otherwise stretch the run past the case's
    // timeout (per_1000 x 4400: over five minutes). Timers made late are not held to order
    // (below), so the bounds cost no accuracy.
    let base = Instant::now() + (per_1000 * (n as u32 / 1000 * 4)).min(Duration::from_secs(20)) + ms(50);
    // 100 000 timers over 10 s: 10 due per ms. The goroutines of timers run together start in
    // deadline order unless more than a run queue's worth (256) fire at once, which takes a
    // 25 ms stall of the P's thread; over 1 s, a 2.5 ms stall (common on a loaded machine) would
    // reorder them. Where making timers is slow (qemu), the spread widens with it: the same
    // machine runs the timers' goroutines as slowly.
    let spread = (Duration::from_secs(10) * (n as u32) / 100_000)
        .max((per_1000 * (n as u32 / 1000 * 40)).min(Duration::from_secs(60)));
    gort::eprintln!("1000 timers made in {:?}: deadlines over {:?}", per_1000, spread);
    for i in 0..n as usize {
        let deadline = base + Duration::from_micros(rng.below(spread.as_micros() as u64));
        let d = deadline.saturating_duration_since(Instant::now());
        deadlines.push(deadline);
        let tx = tx.clone();
        handles.push(after_func(d, move || {
            let _ = tx.send((i, Instant::now()));
        }));
    }
    drop(tx);
    // A timer already due when the last one is made (making them took longer than the estimate
    // above: a loaded machine) fires in the order it was made, not by its deadline: only the
    // ones due later are held to deadline order.
    let made = Instant::now();
    let overdue = deadlines.iter().filter(|d| **d < made).count();
    let mut early = 0;
    let mut out_of_order = 0;
    let mut max_deadline = *deadlines.iter().min().unwrap();
    let mut got = 0;
    let mut max_late = Duration::ZERO;
    let mut late5 = 0;
    let t0 = max_deadline;
    let (mut max_i, mut max_at) = (0, t0);
    let mut seen = alloc::vec![false; n as usize];
    for _ in 0..n {
        let (i, at) = rx.recv_timeout(Duration::from_secs(120)).expect("a timer never fired");
        assert!(!seen[i], "timer {} fired twice", i);
        seen[i] = true;
        got += 1;
        if at < deadlines[i] {
            early += 1;
        }
        max_late = max_late.max(at.saturating_duration_since(deadlines[i]));
        if at.saturating_duration_since(deadlines[i]) > ms(5) {
            late5 += 1;
        }
        if deadlines[i] >= made && deadlines[i] + ms(10) <= max_deadline {
            out_of_order += 1;
            if out_of_order <= 3 {
                gort::eprintln!(
                    "seed {}: timer {} (deadline {:?} before the latest seen, timer {} that ran at {:?}) arrived late, ran at {:?}",
                    seed,
                    i,
                    max_deadline.duration_since(deadlines[i]),
                    max_i,
                    max_at.duration_since(t0),
                    at.duration_since(t0),
                );
            }
        }
        if deadlines[i] > max_deadline {
            max_deadline = deadlines[i];
            max_i = i;
            max_at = at;
        }
    }
    // Every timer fired: stopping any returns false, and no timer is left in a heap.
    let stopped = handles.iter().filter(|h| h.stop()).count();
    // Out of order is counted, not required to be 0: a thread of the runtime stalled by the OS
    // for longer than 10 ms (a loaded machine, qemu) delays every timer of its P past later
    // ones elsewhere, and a stall of 25 ms overflows the run queue the timers' goroutines start
    // in (Go 1.19 on this machine, loaded: 377 of 100 000 out of order with GOMAXPROCS=1). What
    // must hold: timers of one heap run in order, so out-of-order ones are a small minority.
    // Overloaded on purpose (`cargo xtask stress --load` beside other builds, load average 8 on
    // 2 cores), a Go twin of this function and this one, run alternately at GOMAXPROCS 2, 4
    // and 8, 9 runs each: gort 0–829 out of order (median 80), Go 248–17 009 (median 1053, over
    // 1% in 6 of 9). So a rare failure of this 1% bound under such load is the machine's stalls,
    // not a reordering in gort (issue #22's session note has the runs).
    gort::println!(
        "fired {} early {} out of order under 1%: {} stop after fire {}",
        got,
        early,
        out_of_order * 100 < got,
        stopped
    );
    if out_of_order > 0 {
        gort::eprintln!("out of order: {} of {}", out_of_order, got);
    }
    gort::eprintln!("latest run: {:?} after its deadline; {} more than 5 ms late", max_late, late5);
    if overdue > 0 {
        gort::eprintln!("{} of {} were due before the last was made (not held to order)", overdue, got);
    }
    gort::println!("pending: {}", gort::testing::timers_pending());
}

/// n after_func timers due 20 µs apart become due together while the only P is held by a
/// goroutine that never yields (GOMAXPROCS=1, asyncpreemptoff=1): a stall, made on purpose.
/// Their goroutines must still start in deadline order, although they are more than a run
/// queue's worth (256): the timers of one heap run in order, and no overflow of the run queue
/// may reorder their goroutines.
fn order_burst(n: u64) {
    let (tx, rx) = gort::chan::<usize>(n as usize);
    // Durations, not deadlines: timer i is due at (when it was made) + 20 ms + 20 µs × i, so the
    // deadlines increase with i however slowly the timers are made.
    let step = Duration::from_micros(20);
    for i in 0..n as usize {
        let tx = tx.clone();
        after_func(ms(20) + step * i as u32, move || {
            let _ = tx.send(i);
        });
    }
    drop(tx);
    // Hold the P until every timer is due (no runtime entry in the loop).
    let end = Instant::now() + ms(20) + step * n as u32 + ms(20);
    while Instant::now() < end {
        core::hint::spin_loop();
    }
    let mut out_of_order = 0;
    let mut last = None;
    for _ in 0..n {
        let i = rx.recv().expect("a timer never fired");
        if last.is_some_and(|l| i < l) {
            out_of_order += 1;
            if out_of_order <= 5 {
                gort::eprintln!("timer {} arrived after timer {}", i, last.unwrap());
            }
        }
        last = Some(i);
    }
    gort::println!("fired {} out of order {}", n, out_of_order);
    gort::println!("pending: {}", gort::testing::timers_pending());
}

/// Several goroutines stop and reset one timer while another receives from it. Every arming (the
/// first and each reset) ends in exactly one of: its value was received, or a later stop/reset
/// returned true. So received + (stop/reset calls that returned true) = 1 + resets, once a final
/// stop ends the last arming; and after that stop nothing can be received.
fn stop_race(rounds: u64) {
    let mut rng = Rng::new();
    let mut bad = 0;
    for round in 0..rounds {
        let t = Arc::new(Timer::new(Duration::from_micros(rng.below(300))));
        let trues = Arc::new(AtomicUsize::new(0));
        let resets = Arc::new(AtomicUsize::new(0));
        let received = Arc::new(AtomicUsize::new(0));
        let stop_recv = Arc::new(AtomicBool::new(false));
        let wg = Arc::new(gort::sync::WaitGroup::new());
        for k in 0..4u64 {
            let (t, trues, resets, wg) = (t.clone(), trues.clone(), resets.clone(), wg.clone());
            let delay = rng.below(400);
            let reset = (round + k) % 3 == 0;
            wg.add(1);
            gort::go(move || {
                let until = Instant::now() + Duration::from_micros(delay);
                while Instant::now() < until {
                    gort::gosched();
                }
                let r = if reset {
                    resets.fetch_add(1, Ordering::Relaxed);
                    t.reset(Duration::from_micros(delay % 200))
                } else {
                    t.stop()
                };
                if r {
                    trues.fetch_add(1, Ordering::Relaxed);
                }
                wg.done();
            });
        }
        let receiver_done = Arc::new(gort::sync::WaitGroup::new());
        {
            let (t, received, stop_recv, receiver_done) =
                (t.clone(), received.clone(), stop_recv.clone(), receiver_done.clone());
            receiver_done.add(1);
            gort::go(move || {
                let c = t.c();
                while !stop_recv.load(Ordering::Acquire) {
                    select! {
                        recv(c) -> v => { v.unwrap(); received.fetch_add(1, Ordering::Relaxed); },
                        default => gort::gosched(),
                    }
                }
                receiver_done.done();
            });
        }
        wg.wait();
        // Let a last reset's value arrive (or not), then end the receiver and the last arming.
        gort::time::sleep(Duration::from_micros(rng.below(300)));
        stop_recv.store(true, Ordering::Release);
        receiver_done.wait();
        if t.stop() {
            trues.fetch_add(1, Ordering::Relaxed);
        }
        let c = t.c();
        let stale = select! {
            recv(c) -> _ => true,
            default => false,
        };
        let (r, tr, rs) =
            (received.load(Ordering::Relaxed), trues.load(Ordering::Relaxed), resets.load(Ordering::Relaxed));
        if stale || r + tr != 1 + rs {
            bad += 1;
            gort::eprintln!("round {}: received {} true-returns {} resets {} stale {}", round, r, tr, rs, stale);
        }
    }
    gort::println!("rounds {} inconsistent {}", rounds, bad);
    gort::println!("pending: {}", gort::testing::timers_pending());
}

/// A 20 ms ticker for 2 s: between 100 - 60 and 100 + 1 ticks, each tick's value on the grid
/// first + n·20 ms (no drift), increasing; a slow receiver loses ticks, still on the grid; after
/// stop nothing arrives.
fn ticker() {
    let d = ms(20);
    let start = Instant::now();
    let t = Ticker::new(d);
    let c = t.c();
    let mut ticks = Vec::new();
    let end = start + Duration::from_secs(2);
    loop {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            break;
        }
        match c.recv_timeout(left) {
            Ok(v) => ticks.push(v),
            Err(_) => break,
        }
    }
    let n = ticks.len();
    let on_grid = ticks.iter().all(|v| v.duration_since(ticks[0]).as_nanos() % d.as_nanos() == 0);
    let increasing = ticks.windows(2).all(|w| w[0] < w[1]);
    let first_ok = ticks[0] >= start + d;
    gort::println!("ticks in range: {} (40..=101)", (40..=101).contains(&n));
    gort::println!("on grid: {} increasing: {} first not early: {}", on_grid, increasing, first_ok);
    if !(40..=101).contains(&n) {
        gort::eprintln!("ticks: {}", n);
    }
    // A slow receiver: sleeps 3.5 periods between receives.
    let mut slow = Vec::new();
    for _ in 0..8 {
        gort::time::sleep(d * 7 / 2);
        slow.push(c.recv().unwrap());
    }
    let slow_grid = slow.iter().all(|v| v.duration_since(ticks[0]).as_nanos() % d.as_nanos() == 0);
    let skipped = slow.windows(2).any(|w| w[1].duration_since(w[0]) > d);
    gort::println!("slow receiver: on grid {} skipped ticks {}", slow_grid, skipped);
    t.stop();
    gort::println!("after stop: {:?}", c.recv_timeout(ms(60)));
    t.reset(ms(5));
    gort::println!("after reset: {}", c.recv_timeout(Duration::from_secs(30)).is_ok());
    drop(t);
    gort::println!("pending: {}", gort::testing::timers_pending());
}

/// Timers armed on several Ps survive gomaxprocs going to 1 and back up: every one fires, none
/// early.
fn resize() {
    let before = gort::gomaxprocs(4);
    let (tx, rx) = gort::chan::<bool>(0);
    let n = 400;
    for i in 0..n {
        let tx = tx.clone();
        gort::go(move || {
            let d = ms(50 + (i % 40) * 10);
            let deadline = Instant::now() + d;
            if i % 2 == 0 {
                let t = Timer::new(d);
                t.c().recv().unwrap();
            } else {
                gort::time::sleep(d);
            }
            tx.send(Instant::now() >= deadline).unwrap();
        });
    }
    drop(tx);
    gort::time::sleep(ms(20));
    gort::gomaxprocs(1);
    gort::time::sleep(ms(100));
    gort::gomaxprocs(3);
    gort::time::sleep(ms(100));
    gort::gomaxprocs(1);
    gort::gomaxprocs(4);
    let mut fired = 0;
    let mut early = 0;
    while let Ok(ok) = rx.recv_timeout(Duration::from_secs(60)) {
        fired += 1;
        early += !ok as u32;
        if fired == n {
            break;
        }
    }
    gort::gomaxprocs(before);
    gort::println!("fired {} of {} early {}", fired, n, early);
    gort::println!("pending: {}", gort::testing::timers_pending());
}

/// Millions of timers started and stopped, and `after` receivers dropped unfired: none stays
/// armed, and the heaps' stale entries (zombies, timer.rs) stay few: they are swept as timers are
/// added, without the goroutine ever scheduling.
fn leak(n: u64) {
    // Far more than the sweeps leave (a handful), far less than an unswept heap would hold.
    const BOUND: usize = 1000;
    let mut most = 0;
    let mut most_entries = 0;
    for i in 0..n {
        let t = Timer::new(Duration::from_secs(3600 + i % 1000));
        assert!(t.stop(), "a fresh timer is pending");
        if i % 4099 == 0 {
            most = most.max(gort::testing::timers_pending());
            most_entries = most_entries.max(gort::testing::timer_heap_entries());
        }
    }
    gort::println!(
        "started and stopped {}; most pending seen {}; pending now {}; heap entries under {}: {}",
        n,
        most,
        gort::testing::timers_pending(),
        BOUND,
        most_entries < BOUND
    );
    for i in 0..n / 10 {
        drop(after(Duration::from_secs(3600)));
        if i % 4099 == 0 {
            most_entries = most_entries.max(gort::testing::timer_heap_entries());
        }
    }
    let f = after_func(Duration::from_secs(3600), || panic!("stopped after_func ran"));
    assert!(f.stop());
    gort::println!(
        "after dropped {}; pending now {}; heap entries under {}: {}",
        n / 10,
        gort::testing::timers_pending(),
        BOUND,
        most_entries < BOUND
    );
    // A goroutine that parks lets its M look at the timers (check_timers): the stopped ones'
    // entries go then, not when they would have come due.
    gort::sleep(Duration::from_millis(1));
    gort::println!("heap entries after a sleep: {}", gort::testing::timer_heap_entries());
    // A stopped timer at the top of a heap with live ones (too few zombies for a sweep, and no
    // timer added after it): the next look at the heap (a schedule) drops it, so timer0_when
    // names a live timer again.
    // On one P from here: with more, another P's M looking for work looks at this P's heap too
    // and may drop the stopped top before the "before" count (seen: "7 before a sleep" at
    // GOMAXPROCS=7 under `stress --load` on aarch64), which is right, but not what is counted.
    gort::gomaxprocs(1);
    let first = Timer::new(Duration::from_secs(3600));
    let rest: Vec<Timer> = (0..7).map(|_| Timer::new(Duration::from_secs(7200))).collect();
    assert!(first.stop());
    let before = gort::testing::timer_heap_entries();
    gort::gosched();
    gort::println!(
        "stopped top: heap entries {} before a gosched, {} after",
        before,
        gort::testing::timer_heap_entries()
    );
    // A stopped timer that comes to the top when the live one above it fires (the sleep's): it
    // goes with that firing, not when it would have come due.
    let second = Timer::new(Duration::from_secs(3600));
    assert!(second.stop());
    let before = gort::testing::timer_heap_entries();
    gort::sleep(Duration::from_millis(1));
    gort::println!(
        "stopped second: heap entries {} before a sleep, {} after",
        before,
        gort::testing::timer_heap_entries()
    );
    drop(rest);
}

/// send_timeout / recv_timeout: not early, values arrive, closed channels are reported, and a
/// timeout racing a sender loses no value and duplicates none.
fn timeouts() {
    let (tx, rx) = gort::chan::<u32>(0);
    let a = Instant::now();
    let r = rx.recv_timeout(ms(30));
    gort::println!("recv timeout: {:?} not early: {}", r, a.elapsed() >= ms(30));
    let a = Instant::now();
    let r = tx.send_timeout(5, ms(30));
    gort::println!(
        "send timeout: {:?} value back: {} not early: {}",
        r,
        r.unwrap_err().into_inner() == 5,
        a.elapsed() >= ms(30)
    );
    let tx2 = tx.clone();
    gort::go(move || {
        gort::time::sleep(ms(10));
        tx2.send(9).unwrap();
    });
    gort::println!("recv in time: {:?}", rx.recv_timeout(Duration::from_secs(30)));
    let rx2 = rx.clone();
    gort::go(move || {
        gort::time::sleep(ms(10));
        assert_eq!(rx2.recv(), Some(11));
    });
    gort::println!("send in time: {:?}", tx.send_timeout(11, Duration::from_secs(30)));
    // Races: a sender after a random delay, the receiver with a similar timeout. Each value is
    // received exactly once (by the timed receive or the plain one after it).
    let mut rng = Rng::new();
    let (mut in_time, mut late) = (0, 0);
    for i in 0..2000u32 {
        let tx = tx.clone();
        let delay = rng.below(200);
        gort::go(move || {
            let until = Instant::now() + Duration::from_micros(delay);
            while Instant::now() < until {
                gort::gosched();
            }
            tx.send(i).unwrap();
        });
        match rx.recv_timeout(Duration::from_micros(rng.below(200))) {
            Ok(v) => {
                assert_eq!(v, i);
                in_time += 1;
            }
            Err(gort::RecvTimeoutError::Timeout) => {
                assert_eq!(rx.recv(), Some(i));
                late += 1;
            }
            Err(e) => panic!("{}", e),
        }
    }
    gort::println!(
        "race: every value once: {} (in time and late both seen: {})",
        in_time + late == 2000,
        in_time > 0 && late > 0
    );
    drop(tx);
    gort::println!("closed: {:?}", rx.recv_timeout(Duration::from_secs(30)));
    let (tx, _rx) = gort::chan::<u32>(0);
    tx.close();
    gort::println!("send on closed: {:?}", tx.send_timeout(1, Duration::from_secs(30)));
    gort::println!("pending: {}", gort::testing::timers_pending());
}

/// Timed receives whose timeouts (0-20 µs) expire about when the goroutine parks, while other
/// Ps are idle or busy: the timer often fires, on another P, while the parking hook is still
/// releasing the channel lock. Each must time out (nobody sends) and leave the goroutine's
/// runtime-lock count balanced: debug builds check both (a readied goroutine whose count is
/// still being changed by its old M's hook throws), and an unbalanced count throws at the next
/// `acquirem`.
fn timeout_race(n: u64) {
    let mut rng = Rng::new();
    let stop = Arc::new(AtomicBool::new(false));
    // Two goroutines that come and go, so that Ps go idle and look for timers to run.
    for _ in 0..2 {
        let stop = stop.clone();
        gort::go(move || {
            while !stop.load(Ordering::Relaxed) {
                gort::time::sleep(Duration::from_micros(5));
            }
        });
    }
    let (_tx, rx) = gort::chan::<u32>(0);
    let mut timeouts = 0;
    for _ in 0..n {
        if let Err(gort::RecvTimeoutError::Timeout) = rx.recv_timeout(Duration::from_nanos(rng.below(20_000))) {
            timeouts += 1;
        }
    }
    stop.store(true, Ordering::Relaxed);
    gort::println!("timed out {} of {}", timeouts, n);
}

/// A reused `after` receiver in a select loop: it fires once, then never again (it does not close).
fn select_after() {
    let (tx, rx) = gort::chan::<u32>(1);
    let timeout = after(ms(50));
    let mut work = 0;
    loop {
        let _ = tx.send_timeout(work, ms(1));
        select! {
            recv(rx) -> _ => work += 1,
            recv(timeout) -> v => { assert!(v.is_some()); break; },
        }
        gort::time::sleep(ms(1));
    }
    gort::println!("work done before timeout: {}", work > 0);
    let again = select! {
        recv(timeout) -> _ => "ready",
        default => "blocks",
    };
    gort::println!("timeout arm after it fired: {}", again);
    // Many selects each with a fresh after that never fires: none is left armed.
    let (tx, rx) = gort::chan::<u32>(1);
    for i in 0..10_000 {
        tx.send(i).unwrap();
        let t = after(Duration::from_secs(3600));
        select! {
            recv(rx) -> v => assert_eq!(v, Some(i)),
            recv(t) -> _ => unreachable!(),
        }
    }
    gort::println!("pending: {}", gort::testing::timers_pending());
}

/// A root with 1000 children (some with far deadlines, each watched by a goroutine), cancelled by
/// the root; a deadline; a chain 1000 deep.
fn context_tree() {
    let bg = context::background();
    let (root, cancel_root) = context::with_cancel(&bg);
    let wg = Arc::new(gort::sync::WaitGroup::new());
    let canceled = Arc::new(AtomicUsize::new(0));
    let mut keep = Vec::new();
    for i in 0..1000 {
        let (ctx, cancel) = if i % 3 == 0 {
            context::with_timeout(&root, Duration::from_secs(3600))
        } else {
            context::with_cancel(&root)
        };
        keep.push(cancel);
        let (wg, canceled) = (wg.clone(), canceled.clone());
        wg.add(1);
        gort::go(move || {
            let (_tx, never) = gort::chan::<()>(0);
            let done = ctx.done();
            select! {
                recv(never) -> _ => unreachable!(),
                recv(done) -> v => assert!(v.is_none()),
            }
            if ctx.err() == Some(context::Error::Canceled) {
                canceled.fetch_add(1, Ordering::Relaxed);
            }
            wg.done();
        });
    }
    gort::println!("before cancel: err {:?}, timers pending {}", root.err(), gort::testing::timers_pending());
    cancel_root.cancel();
    wg.wait();
    gort::println!("children canceled: {}", canceled.load(Ordering::Relaxed));
    gort::println!("after cancel: timers pending {}", gort::testing::timers_pending());
    drop(keep);
    // The clock is read before the context exists: its deadline is counted from inside
    // with_timeout, and the goroutine may run other goroutines at a runtime entry in between (a
    // pending preemption request), so a clock read after it could start late and see less than
    // 20 ms (a CI run did, loaded: "not early: false").
    let a = Instant::now();
    let (ctx, _c) = context::with_timeout(&bg, ms(20));
    let done = ctx.done();
    select! {
        recv(done) -> _ => {},
    }
    gort::println!("deadline: {:?} not early: {}", ctx.err(), a.elapsed() >= ms(20));
    let (child, _cc) = context::with_cancel(&ctx);
    gort::println!("child of a cancelled context: {:?}", child.err());
    // A chain 1000 deep, cancelled at the top.
    let (top, cancel_top) = context::with_cancel(&bg);
    let mut chain = alloc::vec![(top.clone(), None)];
    for _ in 0..1000 {
        let (c, k) = context::with_cancel(&chain.last().unwrap().0);
        chain.push((c, Some(k)));
    }
    drop(cancel_top);
    gort::println!("chain bottom: {:?}", chain.last().unwrap().0.err());
    gort::println!("background: {:?}", bg.err());
    gort::println!("pending: {}", gort::testing::timers_pending());
}

/// after_func runs its function in a goroutine, once; stop before it runs prevents it; reset runs
/// it again.
fn after_func_check() {
    let (tx, rx) = gort::chan::<u32>(4);
    let tx2 = tx.clone();
    let f = after_func(ms(10), move || tx2.send(1).unwrap());
    gort::println!("ran: {:?}", rx.recv_timeout(Duration::from_secs(30)));
    gort::println!("stop after run: {}", f.stop());
    gort::println!("reset: {}", f.reset(ms(5)));
    gort::println!("ran again: {:?}", rx.recv_timeout(Duration::from_secs(30)));
    let tx3 = tx.clone();
    let g = after_func(ms(30), move || tx3.send(2).unwrap());
    gort::println!("stop before run: {}", g.stop());
    gort::println!("did not run: {:?}", rx.recv_timeout(ms(80)));
    gort::println!("pending: {}", gort::testing::timers_pending());
}
