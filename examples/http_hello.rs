//! A keep-alive HTTP/1.1 server that answers every request with `Hello, world!`: one goroutine
//! per connection, requests parsed with the `httparse` crate (no_std, zero-copy), pipelined
//! requests answered in order with one write per batch, request bodies skipped, `Connection:
//! close` and HTTP/1.0 honoured. The same job as Go's `http.ListenAndServe` with a handler that
//! writes the greeting; `cargo xtask bench` drives both with `wrk`.
//!
//! `cargo xtask run http_hello -- 127.0.0.1:8080` (the default address; port 0 picks a free
//! one), then `curl http://127.0.0.1:8080/`. The first line it prints says where it listens.
#![no_std]
#![no_main]

gort::main!(main);

fn main() {
    use core::time::Duration;
    use gort::net::{SocketAddr, TcpListener};

    let arg = gort::os::args().get(1).map(|a| core::str::from_utf8(a).unwrap_or("")).unwrap_or("127.0.0.1:8080");
    let Ok(addr) = arg.parse::<SocketAddr>() else {
        gort::eprintln!("http_hello: {arg:?} is not an address like 127.0.0.1:8080");
        gort::os::exit(2);
    };
    let l = match TcpListener::bind(addr) {
        Ok(l) => l,
        Err(e) => {
            gort::eprintln!("http_hello: listen on {addr}: {e}");
            gort::os::exit(1);
        }
    };
    gort::println!("http_hello: listening on {}", l.local_addr().unwrap());
    let mut backoff = Duration::from_millis(5);
    loop {
        match l.accept() {
            Ok((c, _peer)) => {
                backoff = Duration::from_millis(5);
                gort::go(move || http::serve(&c));
            }
            Err(e) => {
                // Out of file descriptors, say: Go's http.Server backs off from 5 ms to 1 s.
                gort::eprintln!("http_hello: accept: {e}; retrying in {backoff:?}");
                gort::sleep(backoff);
                backoff = (backoff * 2).min(Duration::from_secs(1));
            }
        }
    }
}

mod http {
    extern crate alloc;
    use alloc::vec::Vec;
    use gort::net::TcpStream;

    const HELLO: &[u8] = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 14\r\n\r\nHello, world!\n";
    const HELLO_CLOSE: &[u8] =
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 14\r\nConnection: close\r\n\r\nHello, world!\n";
    const BAD_REQUEST: &[u8] = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    const TOO_LARGE: &[u8] =
        b"HTTP/1.1 431 Request Header Fields Too Large\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    const NOT_IMPLEMENTED: &[u8] = b"HTTP/1.1 501 Not Implemented\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";

    /// The largest request head (request line + headers) accepted, as one buffer per connection.
    const MAX_HEAD: usize = 8192;
    /// Headers parsed per request (httparse fails a request with more).
    const MAX_HEADERS: usize = 32;

    /// What one buffered request asks for.
    enum Next {
        /// Answer (with or without closing) and drop `len` bytes: the head plus its body.
        Answer { len: usize, close: bool },
        /// The head is not complete yet: read more.
        Partial,
        /// Answer with this error and close.
        Fail(&'static [u8]),
    }

    /// Parses the request at the start of `buf`.
    fn next(buf: &[u8]) -> Next {
        let mut headers = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut req = httparse::Request::new(&mut headers);
        let head = match req.parse(buf) {
            Ok(httparse::Status::Complete(n)) => n,
            Ok(httparse::Status::Partial) => return Next::Partial,
            Err(httparse::Error::TooManyHeaders) => return Next::Fail(TOO_LARGE),
            Err(_) => return Next::Fail(BAD_REQUEST),
        };
        // HTTP/1.1 keeps the connection unless told to close; HTTP/1.0 closes unless told not to.
        let mut keep_alive = req.version == Some(1);
        let mut body = 0usize;
        for h in req.headers.iter() {
            if h.name.eq_ignore_ascii_case("connection") {
                if h.value.eq_ignore_ascii_case(b"close") {
                    keep_alive = false;
                } else if h.value.eq_ignore_ascii_case(b"keep-alive") {
                    keep_alive = true;
                }
            } else if h.name.eq_ignore_ascii_case("content-length") {
                match core::str::from_utf8(h.value).ok().and_then(|v| v.trim().parse().ok()) {
                    Some(n) => body = n,
                    None => return Next::Fail(BAD_REQUEST),
                }
            } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
                // A chunked body would need a decoder to find the next request: not in a hello.
                return Next::Fail(NOT_IMPLEMENTED);
            }
        }
        Next::Answer { len: head + body, close: !keep_alive }
    }

    /// Serves one connection until the client closes it, asks to, or errs.
    pub fn serve(c: &TcpStream) {
        let mut buf = [0u8; MAX_HEAD];
        let mut have = 0usize; // bytes of buf holding unparsed input
        let mut skip = 0usize; // body bytes of an answered request still to arrive and drop
        let mut out: Vec<u8> = Vec::new();
        loop {
            // Answer every complete request in the buffer (pipelining), then write once.
            let mut start = 0usize;
            let mut close = false;
            while start < have {
                match next(&buf[start..have]) {
                    Next::Answer { len, close: c } => {
                        out.extend_from_slice(if c { HELLO_CLOSE } else { HELLO });
                        let here = len.min(have - start);
                        skip = len - here;
                        start += here;
                        if c {
                            close = true;
                            break;
                        }
                    }
                    Next::Partial if start == 0 && have == buf.len() => {
                        out.extend_from_slice(TOO_LARGE);
                        close = true;
                        break;
                    }
                    Next::Partial => break,
                    Next::Fail(answer) => {
                        out.extend_from_slice(answer);
                        close = true;
                        break;
                    }
                }
            }
            if !out.is_empty() {
                if c.write_all(&out).is_err() {
                    return;
                }
                out.clear();
            }
            if close {
                return;
            }
            buf.copy_within(start..have, 0);
            have -= start;
            let n = match c.read(&mut buf[have..]) {
                Ok(0) | Err(_) => return,
                Ok(n) => n,
            };
            // Drop what is left of a body before anything else.
            let dropped = skip.min(n);
            skip -= dropped;
            buf.copy_within(have + dropped..have + n, have);
            have += n - dropped;
        }
    }
}
