//! bench tcpecho: round trips of 64 bytes over one loopback TCP connection to an echo goroutine
//! in the same process (both ends on the network poller); ns per round trip.
#![no_std]
#![no_main]
gort::main!(main);

use gort::net::{TcpListener, TcpStream};

const N: u64 = 50_000;

fn main() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    gort::go(move || {
        let (c, _) = l.accept().unwrap();
        let mut buf = [0u8; 64];
        loop {
            match c.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => c.write_all(&buf[..n]).unwrap(),
            }
        }
    });
    let c = TcpStream::connect(addr).unwrap();
    let mut msg = [0u8; 64];
    let mut back = [0u8; 64];
    let t0 = gort::time::Instant::now();
    for i in 0..N {
        msg[0] = i as u8;
        c.write_all(&msg).unwrap();
        c.read_exact(&mut back).unwrap();
        if back[0] != i as u8 {
            panic!("tcpecho: wrong byte");
        }
    }
    let ns = t0.elapsed().as_nanos() as u64;
    gort::println!("RESULT tcpecho {:.1} ns/op", ns as f64 / N as f64);
}
