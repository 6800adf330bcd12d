//! The server side of 10 000 concurrent TCP connections (linux): `netserve N` listens on
//! 127.0.0.1, says where on its first line, and echoes for N clients, which the e2e harness's
//! companion process opens from outside (`companion: echo N SIZE ROUNDS`, tests/e2e/README.md):
//! under a 20 000 fd limit both ends of 10 000 connections do not fit in one process. It reports
//! how many connections were open at once, the bytes echoed, and whether the thread count stayed
//! under GOMAXPROCS + 8.
#![no_std]
#![no_main]
gort::main!(main);

#[cfg(not(target_os = "linux"))]
fn main() {
    gort::println!("netserve: Linux only: the thread count comes from /proc/self/status");
    gort::os::exit(3);
}

#[cfg(target_os = "linux")]
extern crate alloc;

#[cfg(target_os = "linux")]
use linux::main;

#[cfg(target_os = "linux")]
mod linux {
    use alloc::sync::Arc;
    use core::sync::atomic::{AtomicUsize, Ordering};
    use core::time::Duration;
    use gort::sync::WaitGroup;

    pub fn main() {
        let n = gort::os::args().get(1).and_then(|a| core::str::from_utf8(a).ok()).and_then(|a| a.parse().ok());
        serve(n.unwrap_or(10_000));
    }

    /// An echo server for `n` clients in another process (the case's `companion: echo ...`): its
    /// first line says where it listens; every connection gets a goroutine that echoes until EOF.
    /// Reports how many connections were open at once, the bytes echoed, and whether the thread
    /// count (sampled every 10 ms and once per connection) stayed under GOMAXPROCS + 8.
    #[inline(never)]
    fn serve(n: usize) {
        let l = gort::net::TcpListener::bind("127.0.0.1:0").unwrap();
        gort::println!("listening on {}", l.local_addr().unwrap());
        let wg = Arc::new(WaitGroup::new());
        let open = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let max_threads = Arc::new(AtomicUsize::new(gort_e2e::threads() as usize));
        let bytes = Arc::new(AtomicUsize::new(0));
        let (stop_tx, stop_rx) = gort::chan::<()>(0);
        let sampler_done = Arc::new(WaitGroup::new());
        sampler_done.add(1);
        {
            let (mt, done) = (max_threads.clone(), sampler_done.clone());
            gort::go(move || {
                let tick = gort::time::Ticker::new(Duration::from_millis(10));
                loop {
                    mt.fetch_max(gort_e2e::threads() as usize, Ordering::Relaxed);
                    gort::select! {
                        recv(tick.c()) -> _ => {},
                        recv(stop_rx) -> _ => break,
                    }
                }
                done.done();
            });
        }
        for _ in 0..n {
            let (c, _) = l.accept().unwrap();
            wg.add(1);
            let (wg, open, peak, mt, bytes) =
                (wg.clone(), open.clone(), peak.clone(), max_threads.clone(), bytes.clone());
            gort::go(move || {
                peak.fetch_max(open.fetch_add(1, Ordering::Relaxed) + 1, Ordering::Relaxed);
                let mut buf = [0u8; 1024];
                let mut first = true;
                loop {
                    match c.read(&mut buf) {
                        Ok(0) => break,
                        Ok(k) => {
                            c.write_all(&buf[..k]).unwrap();
                            bytes.fetch_add(k, Ordering::Relaxed);
                            if first {
                                mt.fetch_max(gort_e2e::threads() as usize, Ordering::Relaxed);
                                first = false;
                            }
                        }
                        Err(e) => panic!("read: {e}"),
                    }
                }
                open.fetch_sub(1, Ordering::Relaxed);
                drop(c);
                wg.done();
            });
        }
        wg.wait();
        drop(stop_tx);
        sampler_done.wait();
        let t = max_threads.load(Ordering::Relaxed) as i32;
        let procs = gort::gomaxprocs(0);
        gort::println!("served {} clients", n);
        gort::println!("peak {} connections open at once", peak.load(Ordering::Relaxed));
        gort::println!("echoed {} bytes", bytes.load(Ordering::Relaxed));
        gort::println!("max threads {}", t);
        if t >= procs + 8 {
            gort::println!("too many threads: {} at GOMAXPROCS={}", t, procs);
        } else {
            gort::println!("threads ok");
        }
    }
}
