//! bench tcpecho1k: 1 000 loopback TCP connections echoing at once, both ends in this process
//! (a client goroutine and a server goroutine per connection, all on the network poller); each
//! client makes 100 round trips of 1 KB. Throughput in round trips per second, from the first
//! write to the last read (the connections are opened before the clock starts).
#![no_std]
#![no_main]
gort::main!(main);

extern crate alloc;
use alloc::sync::Arc;
use alloc::vec::Vec;

use gort::net::{TcpListener, TcpStream};

const CONNS: usize = 1000;
const ROUNDS: usize = 100;
const SIZE: usize = 1024;

fn main() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    gort::go(move || loop {
        let Ok((c, _)) = l.accept() else { return };
        gort::go(move || {
            let mut buf = [0u8; SIZE];
            loop {
                match c.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => c.write_all(&buf[..n]).unwrap(),
                }
            }
        });
    });
    let conns: Vec<TcpStream> = (0..CONNS).map(|_| TcpStream::connect(addr).unwrap()).collect();
    let wg = Arc::new(gort::sync::WaitGroup::new());
    wg.add(CONNS as i64);
    let t0 = gort::time::Instant::now();
    for (i, c) in conns.into_iter().enumerate() {
        let wg = wg.clone();
        gort::go(move || {
            let mut msg = [i as u8; SIZE];
            let mut back = [0u8; SIZE];
            for r in 0..ROUNDS {
                msg[0] = r as u8;
                c.write_all(&msg).unwrap();
                c.read_exact(&mut back).unwrap();
                if back != msg {
                    panic!("tcpecho1k: connection {i} round {r}: wrong bytes");
                }
            }
            wg.done();
        });
    }
    wg.wait();
    let s = t0.elapsed().as_nanos() as f64 / 1e9;
    gort::println!("RESULT tcpecho1k {:.0} rt/s", (CONNS * ROUNDS) as f64 / s);
}
