//! bench idleconn: an echo server (one goroutine per connection, a 1 KB read buffer) to which the
//! companion process (tests/companion `idle 10000`, started by `cargo xtask bench` once the first
//! line says where this listens) opens 10 000 connections that send nothing. Resident bytes added
//! per idle connection: /proc/self/statm once every handler is parked in read, minus before the
//! first accept. Then it exits, which closes them all and ends the companion.
#![no_std]
#![no_main]
gort::main!(main);

extern crate alloc;
use alloc::sync::Arc;
use core::sync::atomic::{AtomicUsize, Ordering};
use core::time::Duration;

#[path = "../statm.rs"]
mod statm;

const N: usize = 10_000;

fn main() {
    let l = gort::net::TcpListener::bind("127.0.0.1:0".parse().unwrap()).unwrap();
    gort::println!("listening on {}", l.local_addr().unwrap());
    let before = statm::rss_bytes();
    let started = Arc::new(AtomicUsize::new(0));
    for _ in 0..N {
        let (c, _) = l.accept().unwrap();
        let started = started.clone();
        gort::go(move || {
            started.fetch_add(1, Ordering::Relaxed);
            let mut buf = [0u8; 1024];
            loop {
                match c.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => {
                        if c.write_all(&buf[..n]).is_err() {
                            return;
                        }
                    }
                }
            }
        });
    }
    while started.load(Ordering::Relaxed) < N {
        gort::sleep(Duration::from_millis(1));
    }
    // Every handler has started; give the last ones time to park in read.
    gort::sleep(Duration::from_millis(200));
    let after = statm::rss_bytes();
    gort::println!("RESULT idleconn {} B", (after - before) / N);
}
