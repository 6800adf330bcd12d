//! Runtime tests that need a scheduler (goroutines, channels, select, timers, locks), run as a
//! harness = false target by gort's own test harness (`gort::test_main!`): `cargo test --test
//! runtime --target x86_64-unknown-linux-gnu` (xtask runs it on every runnable target).
#![no_std]
#![no_main]
extern crate alloc;

gort::test_main! {
    use alloc::sync::Arc;
    use alloc::vec::Vec;
    use core::sync::atomic::{AtomicUsize, Ordering};
    use core::time::Duration;

    #[test]
    fn unbuffered_channel_fan_in() {
        let (tx, rx) = gort::chan::<u64>(0);
        for i in 0..100u64 {
            let tx = tx.clone();
            gort::go(move || tx.send(i).unwrap());
        }
        drop(tx);
        assert_eq!(rx.iter().sum::<u64>(), 4950);
    }

    #[test]
    fn waitgroup_and_mutex_across_gomaxprocs() {
        let prev = gort::gomaxprocs(4);
        let wg = Arc::new(gort::sync::WaitGroup::new());
        let m = Arc::new(gort::sync::Mutex::new(0usize));
        for _ in 0..64 {
            wg.add(1);
            let (wg, m) = (wg.clone(), m.clone());
            gort::go(move || {
                for _ in 0..100 {
                    *m.lock() += 1;
                    gort::gosched();
                }
                wg.done();
            });
        }
        wg.wait();
        assert_eq!(*m.lock(), 6400);
        gort::gomaxprocs(prev);
    }

    #[test]
    fn select_takes_the_ready_case() {
        let (tx1, rx1) = gort::chan::<u32>(1);
        let (_tx2, rx2) = gort::chan::<u32>(1);
        tx1.send(7).unwrap();
        let got = gort::select! {
            recv(rx1) -> v => { v.unwrap() },
            recv(rx2) -> v => { v.unwrap() + 100 },
        };
        assert_eq!(got, 7);
    }

    #[test]
    fn sleep_and_timeout() {
        let t = gort::time::Instant::now();
        gort::sleep(Duration::from_millis(20));
        assert!(t.elapsed() >= Duration::from_millis(20));
        let (_tx, rx) = gort::chan::<()>(0);
        assert!(rx.recv_timeout(Duration::from_millis(10)).is_err());
    }

    #[test]
    fn many_goroutines_park_and_wake() {
        let n = Arc::new(AtomicUsize::new(0));
        let (start_tx, start_rx) = gort::chan::<()>(0);
        let (done_tx, done_rx) = gort::chan::<()>(0);
        for _ in 0..1000 {
            let (n, start_rx, done_tx) = (n.clone(), start_rx.clone(), done_tx.clone());
            gort::go(move || {
                let _ = start_rx.recv();
                n.fetch_add(1, Ordering::Relaxed);
                done_tx.send(()).unwrap();
            });
        }
        drop(start_tx); // closing wakes every receiver
        drop(done_tx);
        let got: Vec<()> = done_rx.iter().collect();
        assert_eq!((got.len(), n.load(Ordering::Relaxed)), (1000, 1000));
    }

    #[test]
    fn result_returning_test() -> Result<(), &'static str> {
        let (tx, rx) = gort::chan::<u8>(1);
        tx.send(1).map_err(|_| "send")?;
        rx.recv().ok_or("recv")?;
        Ok(())
    }
}
