//! `companion ADDR MODE ARGS...`: the client side of an e2e case or a benchmark whose server is a
//! gort program (possibly under qemu or wine). It is a plain std program built for the host: the
//! harness starts it once the server has printed where it listens (its first stdout line ends
//! with ADDR), and the case fails unless it exits 0. Modes:
//!
//! - `echo N SIZE ROUNDS`: open N connections (all of them before any byte is sent), then for
//!   each round write SIZE bytes on every connection and read them back, checking every byte
//!   (the pattern depends on the connection, the round and the offset, so crossed or shifted data
//!   is caught); once every connection has finished every round, half-close each and expect the
//!   server to close it (read returns 0).
//! - `idle N`: open N connections, say so, and wait until the server has closed every one of them
//!   (a benchmark measures the server meanwhile).
//! - `http N`: HTTP/1.1 against a hello server: N keep-alive requests on one connection, three
//!   pipelined in one write, a request split across two writes, a POST whose body must be
//!   skipped, then `Connection: close`, which the server must honour; every response must be
//!   `200` with the body `Hello, world!\n`.
//!
//! Prints one summary line on success; on failure a message on stderr and exit 1.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::process::exit;
use std::sync::{Arc, Barrier};
use std::thread;
use std::time::{Duration, Instant};

/// Client threads for `echo` and `idle` (each owns a slice of the connections).
const THREADS: usize = 4;
/// How long a connect or a read may wait before the companion gives up (the harness's own timeout
/// is usually shorter; this only keeps a forgotten companion from living forever).
const IO_TIMEOUT: Duration = Duration::from_secs(120);

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: companion ADDR (echo N SIZE ROUNDS | idle N | http N)";
    let Some(addr) = args.first().and_then(|a| a.parse::<SocketAddr>().ok()) else { fail(usage) };
    let num = |i: usize| -> usize { args.get(i).and_then(|a| a.parse().ok()).unwrap_or_else(|| fail(usage)) };
    let t0 = Instant::now();
    match args.get(1).map(String::as_str) {
        Some("echo") => echo(addr, num(2), num(3), num(4)),
        Some("idle") => idle(addr, num(2)),
        Some("http") => http(addr, num(2)),
        _ => fail(usage),
    }
    eprintln!("companion: done in {:.2} s", t0.elapsed().as_secs_f64());
}

fn fail(msg: &str) -> ! {
    eprintln!("companion: {msg}");
    exit(1)
}

fn connect(addr: SocketAddr) -> TcpStream {
    let c = TcpStream::connect_timeout(&addr, IO_TIMEOUT).unwrap_or_else(|e| fail(&format!("connect {addr}: {e}")));
    c.set_read_timeout(Some(IO_TIMEOUT)).unwrap();
    c.set_write_timeout(Some(IO_TIMEOUT)).unwrap();
    c
}

/// Byte `k` of round `round` on connection `conn`.
fn pattern(conn: usize, round: usize, k: usize) -> u8 {
    (conn.wrapping_mul(131) ^ round.wrapping_mul(17) ^ k.wrapping_mul(7) ^ (k >> 8)) as u8
}

/// Runs `f(thread, first_conn, count)` on THREADS threads that share `n` connections and a
/// barrier; returns when all are done.
fn on_threads(n: usize, f: impl Fn(usize, usize, Arc<Barrier>) + Send + Sync + 'static) {
    let f = Arc::new(f);
    let barrier = Arc::new(Barrier::new(THREADS));
    let per = n.div_ceil(THREADS);
    let hs: Vec<_> = (0..THREADS)
        .map(|t| {
            let (f, b) = (f.clone(), barrier.clone());
            let first = (t * per).min(n);
            let count = per.min(n - first);
            thread::spawn(move || f(first, count, b))
        })
        .collect();
    for h in hs {
        if h.join().is_err() {
            fail("a client thread panicked");
        }
    }
}

fn echo(addr: SocketAddr, n: usize, size: usize, rounds: usize) {
    on_threads(n, move |first, count, barrier| {
        let conns: Vec<TcpStream> = (0..count).map(|_| connect(addr)).collect();
        // Every connection of every thread is open before any byte is sent.
        barrier.wait();
        let mut msg = vec![0u8; size];
        let mut back = vec![0u8; size];
        for round in 0..rounds {
            for (i, c) in conns.iter().enumerate() {
                for (k, b) in msg.iter_mut().enumerate() {
                    *b = pattern(first + i, round, k);
                }
                (&*c)
                    .write_all(&msg)
                    .unwrap_or_else(|e| fail(&format!("conn {} round {round}: write: {e}", first + i)));
            }
            for (i, c) in conns.iter().enumerate() {
                (&*c)
                    .read_exact(&mut back)
                    .unwrap_or_else(|e| fail(&format!("conn {} round {round}: read: {e}", first + i)));
                if let Some(k) = (0..size).find(|&k| back[k] != pattern(first + i, round, k)) {
                    fail(&format!(
                        "conn {} round {round}: byte {k} is {:#04x}, sent {:#04x}",
                        first + i,
                        back[k],
                        pattern(first + i, round, k)
                    ));
                }
            }
        }
        // No connection closes before all of them have echoed everything.
        barrier.wait();
        for (i, c) in conns.iter().enumerate() {
            c.shutdown(Shutdown::Write).unwrap_or_else(|e| fail(&format!("conn {}: shutdown: {e}", first + i)));
        }
        for (i, c) in conns.iter().enumerate() {
            let mut b = [0u8; 1];
            match (&*c).read(&mut b) {
                Ok(0) => {}
                Ok(_) => fail(&format!("conn {}: data after the echo", first + i)),
                Err(e) => fail(&format!("conn {}: waiting for the server's close: {e}", first + i)),
            }
        }
    });
    println!("companion: {n} connections open at once, {} bytes echoed and checked", n * size * rounds);
}

fn idle(addr: SocketAddr, n: usize) {
    on_threads(n, move |_, count, barrier| {
        let conns: Vec<TcpStream> = (0..count).map(|_| connect(addr)).collect();
        barrier.wait();
        for c in &conns {
            let mut b = [0u8; 16];
            // Closed (0) or reset by a server that exited: both are the end.
            while let Ok(k) = (&*c).read(&mut b) {
                if k == 0 {
                    break;
                }
            }
        }
    });
    println!("companion: {n} idle connections, all closed by the server");
}

const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: localhost\r\nUser-Agent: gort-companion\r\n\r\n";
const HELLO: &[u8] = b"Hello, world!\n";

/// Reads one response from `c` (`buf` keeps what was read past it) and checks it is a 200 with
/// the hello body; returns whether the server said `Connection: close`.
fn response(c: &mut TcpStream, buf: &mut Vec<u8>, what: &str) -> bool {
    let head_end = loop {
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break p + 4;
        }
        let mut chunk = [0u8; 4096];
        match c.read(&mut chunk) {
            Ok(0) => fail(&format!("{what}: the server closed before a full response header ({buf:?})")),
            Ok(k) => buf.extend_from_slice(&chunk[..k]),
            Err(e) => fail(&format!("{what}: read: {e}")),
        }
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap_or("");
    if !status.starts_with("HTTP/1.1 200 ") {
        fail(&format!("{what}: status line {status:?}"));
    }
    let mut len = None;
    let mut close = false;
    for l in lines {
        let Some((k, v)) = l.split_once(':') else { continue };
        match k.trim().to_ascii_lowercase().as_str() {
            "content-length" => len = v.trim().parse::<usize>().ok(),
            "connection" => close = v.trim().eq_ignore_ascii_case("close"),
            _ => {}
        }
    }
    let Some(len) = len else { fail(&format!("{what}: no Content-Length in {head:?}")) };
    while buf.len() < head_end + len {
        let mut chunk = [0u8; 4096];
        match c.read(&mut chunk) {
            Ok(0) => fail(&format!("{what}: the server closed inside the body")),
            Ok(k) => buf.extend_from_slice(&chunk[..k]),
            Err(e) => fail(&format!("{what}: read: {e}")),
        }
    }
    if &buf[head_end..head_end + len] != HELLO {
        fail(&format!("{what}: body {:?}", String::from_utf8_lossy(&buf[head_end..head_end + len])));
    }
    buf.drain(..head_end + len);
    close
}

fn http(addr: SocketAddr, n: usize) {
    let mut c = connect(addr);
    let mut buf = Vec::new();
    for i in 0..n {
        c.write_all(GET).unwrap();
        if response(&mut c, &mut buf, &format!("keep-alive request {i}")) {
            fail("the server closed a keep-alive connection");
        }
    }
    // Pipelined: three requests in one write, three responses in order.
    c.write_all(&[GET, GET, GET].concat()).unwrap();
    for i in 0..3 {
        response(&mut c, &mut buf, &format!("pipelined request {i}"));
    }
    // One request in two writes: the server must wait for the rest of the header.
    let (a, b) = GET.split_at(20);
    c.write_all(a).unwrap();
    thread::sleep(Duration::from_millis(50));
    c.write_all(b).unwrap();
    response(&mut c, &mut buf, "split request");
    // A body the server must skip, then a GET on the same connection.
    c.write_all(b"POST / HTTP/1.1\r\nHost: localhost\r\nContent-Length: 5\r\n\r\nxxxxx").unwrap();
    c.write_all(GET).unwrap();
    response(&mut c, &mut buf, "POST with a body");
    response(&mut c, &mut buf, "GET after the POST");
    // Connection: close is honoured.
    c.write_all(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n").unwrap();
    if !response(&mut c, &mut buf, "Connection: close request") {
        fail("no `Connection: close` in the answer to a request that asked for it");
    }
    let mut rest = [0u8; 16];
    match c.read(&mut rest) {
        Ok(0) => {}
        Ok(_) => fail("data after the last response"),
        Err(e) => fail(&format!("waiting for the server's close: {e}")),
    }
    println!("companion: {} HTTP responses checked", n + 7);
}
