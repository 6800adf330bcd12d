//! bench idleconn: an echo server (one goroutine per connection, a 1 KB read buffer) to which the
//! companion process (tests/companion `idle 10000`, started by `cargo xtask bench` once the first
//! line says where this listens) opens 10 000 connections that send nothing. Resident bytes added
//! per idle connection: /proc/self/statm once every handler is parked in read, minus before the
//! first accept. Then it exits, which closes them all and ends the companion. With the argument
//! `small` each handler runs on a 2 KB stack (`go_with_stack`, packed two to a page) and its
//! buffer is on the heap, as Go's is (a `make` that escapes); without it, the default stack holds
//! the buffer.
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

/// Echoes until the client closes; `buf` is the read buffer.
fn echo(c: &gort::net::TcpStream, buf: &mut [u8]) {
    loop {
        match c.read(buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if c.write_all(&buf[..n]).is_err() {
                    return;
                }
            }
        }
    }
}

fn main() {
    let small = gort::os::args().get(1).copied() == Some(&b"small"[..]);
    let l = gort::net::TcpListener::bind("127.0.0.1:0").unwrap();
    gort::println!("listening on {}", l.local_addr().unwrap());
    let before = statm::rss_bytes();
    let started = Arc::new(AtomicUsize::new(0));
    for _ in 0..N {
        let (c, _) = l.accept().unwrap();
        let started = started.clone();
        if small {
            gort::go_with_stack(2048, move || {
                started.fetch_add(1, Ordering::Relaxed);
                echo(&c, &mut alloc::vec![0u8; 1024]);
            });
        } else {
            gort::go(move || {
                started.fetch_add(1, Ordering::Relaxed);
                echo(&c, &mut [0u8; 1024]);
            });
        }
    }
    while started.load(Ordering::Relaxed) < N {
        gort::sleep(Duration::from_millis(1));
    }
    // Every handler has started; give the last ones time to park in read.
    gort::sleep(Duration::from_millis(200));
    let after = statm::rss_bytes();
    gort::println!("RESULT {} {} B", if small { "idleconn-small" } else { "idleconn" }, (after - before) / N);
}
