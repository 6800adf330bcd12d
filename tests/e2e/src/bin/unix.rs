//! gort::net's unix-domain sockets end to end (UnixListener, UnixStream). The first argument
//! picks the check; each prints a few lines the case compares. Socket files go in /tmp under a
//! name made unique by the wall clock and the check's name.
#![no_std]
#![no_main]
gort::main!(main);

#[cfg(not(unix))]
fn main() {
    gort::println!("unix: unix-domain sockets are not offered on this OS");
    gort::os::exit(3);
}

#[cfg(unix)]
use unix::main;

#[cfg(unix)]
extern crate alloc;

#[cfg(unix)]
mod unix {
    use alloc::format;
    use alloc::string::String;
    use alloc::sync::Arc;
    use alloc::vec;
    use alloc::vec::Vec;
    use core::time::Duration;

    use gort::io::ErrorKind;
    use gort::net::{Shutdown, UnixListener, UnixStream};
    use gort::sync::WaitGroup;
    use gort::time::{Instant, SystemTime, UNIX_EPOCH};

    fn arg(i: usize) -> &'static str {
        gort::os::args().get(i).and_then(|a| core::str::from_utf8(a).ok()).unwrap_or("")
    }

    /// A fresh socket path for this run and check.
    fn sock_path(name: &str) -> String {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_nanos();
        format!("/tmp/gort-unix-{nanos}-{name}.sock")
    }

    /// Whether a file exists at `path`.
    fn exists(path: &str) -> bool {
        match gort::fs::metadata(path) {
            Ok(_) => true,
            Err(e) if e.kind() == ErrorKind::NotFound => false,
            Err(e) => panic!("metadata {path}: {e}"),
        }
    }

    pub fn main() {
        match arg(1) {
            "echo" => echo(),
            "close-wakes" => close_wakes(),
            "eof" => eof(),
            "addr-in-use" => addr_in_use(),
            "too-long" => too_long(),
            "removed" => removed(),
            "deadline" => deadline(),
            "write-after-close" => write_after_close(),
            other => panic!("unknown check {other:?}"),
        }
    }

    /// 50 clients, each sending 20 messages of growing size through an echo server; every byte
    /// checked; the addresses each end reports.
    fn echo() {
        let path = sock_path("echo");
        let l = Arc::new(UnixListener::bind(&path).unwrap());
        assert_eq!(l.local_addr().unwrap().as_bytes(), path.as_bytes());
        let server = l.clone();
        gort::go(move || loop {
            let l = &server;
            let Ok((c, peer)) = l.accept() else { return };
            assert!(peer.is_unnamed(), "accepted peer {peer}");
            gort::go(move || {
                let mut buf = [0u8; 4096];
                loop {
                    match c.read(&mut buf) {
                        Ok(0) | Err(_) => return,
                        Ok(n) => c.write_all(&buf[..n]).unwrap(),
                    }
                }
            });
        });
        const CLIENTS: usize = 50;
        let wg = Arc::new(WaitGroup::new());
        let total = Arc::new(core::sync::atomic::AtomicUsize::new(0));
        for i in 0..CLIENTS {
            wg.add(1);
            let (wg, total, path) = (wg.clone(), total.clone(), path.clone());
            gort::go(move || {
                let c = UnixStream::connect(&path).unwrap();
                assert_eq!(c.peer_addr().unwrap().as_bytes(), path.as_bytes());
                assert!(c.local_addr().unwrap().is_unnamed());
                for m in 0..20 {
                    let msg: Vec<u8> = (0..(m * 97 + i) % 3000 + 1).map(|k| (k * 7 + i + m) as u8).collect();
                    // Through embedded-io's traits, as a protocol crate would.
                    embedded_io::Write::write_all(&mut &c, &msg).unwrap();
                    let mut back = vec![0u8; msg.len()];
                    embedded_io::Read::read_exact(&mut &c, &mut back).unwrap();
                    assert_eq!(back, msg, "client {i} message {m}");
                    total.fetch_add(msg.len(), core::sync::atomic::Ordering::Relaxed);
                }
                wg.done();
            });
        }
        wg.wait();
        // Closing stops the accept loop and removes the socket file.
        l.close().unwrap();
        gort::println!("echoed {CLIENTS} clients, {} bytes checked", total.load(core::sync::atomic::Ordering::Relaxed));
    }

    /// A reader blocked on a unix stream is woken by a close from another goroutine.
    fn close_wakes() {
        let path = sock_path("close-wakes");
        let l = UnixListener::bind(&path).unwrap();
        let _client = UnixStream::connect(&path).unwrap();
        let (c, _) = l.accept().unwrap();
        let c = Arc::new(c);
        let c2 = c.clone();
        let (tx, rx) = gort::chan::<String>(1);
        gort::go(move || {
            let mut buf = [0u8; 16];
            let r = c2.read(&mut buf);
            tx.send(format!("{:?}", r.map_err(|e| e.kind()))).unwrap();
        });
        gort::time::sleep(Duration::from_millis(100));
        c.close().unwrap();
        gort::println!("woke: {}", rx.recv().unwrap());
        gort::println!("later read: {:?}", c.read(&mut [0u8; 4]).map_err(|e| e.kind()));
    }

    /// The peer writes and closes: the reader gets the bytes, then end of file.
    fn eof() {
        let path = sock_path("eof");
        let l = UnixListener::bind(&path).unwrap();
        let (done_tx, done_rx) = gort::chan::<()>(1);
        gort::go(move || {
            let (c, _) = l.accept().unwrap();
            c.write_all(b"abc").unwrap();
            drop(c);
            drop(l); // removes the socket file
            done_tx.send(()).unwrap();
        });
        let c = UnixStream::connect(&path).unwrap();
        let mut buf = [0u8; 3];
        c.read_exact(&mut buf).unwrap();
        gort::println!("got {}", core::str::from_utf8(&buf).unwrap());
        gort::println!("then {}", c.read(&mut [0u8; 8]).unwrap());
        done_rx.recv().unwrap();
    }

    /// A file (a listening socket, or a regular file) at the path: bind fails with AddrInUse and
    /// the file stays.
    fn addr_in_use() {
        let path = sock_path("in-use");
        let l = UnixListener::bind(&path).unwrap();
        gort::println!("second bind: {:?}", UnixListener::bind(&path).map(drop).map_err(|e| e.kind()));
        gort::println!("listener still accepts: {}", UnixStream::connect(&path).is_ok());
        drop(l);
        let file = sock_path("file");
        gort::fs::write(&file, b"not a socket").unwrap();
        gort::println!("bind over a file: {:?}", UnixListener::bind(&file).map(drop).map_err(|e| e.kind()));
        gort::println!("file kept: {:?}", gort::fs::read(&file).map(|b| b == b"not a socket"));
        gort::fs::remove_file(&file).unwrap();
    }

    /// Paths that do not fit sockaddr_un (or are empty, or hold a NUL) fail before any call.
    fn too_long() {
        let long = format!("/tmp/{}", "x".repeat(200));
        gort::println!("bind: {:?}", UnixListener::bind(&long).map(drop).map_err(|e| e.kind()));
        gort::println!("connect: {:?}", UnixStream::connect(&long).map(drop).map_err(|e| e.kind()));
        gort::println!("empty: {:?}", UnixListener::bind("").map(drop).map_err(|e| e.kind()));
        gort::println!("nul: {:?}", UnixListener::bind(b"/tmp/a\0b").map(drop).map_err(|e| e.kind()));
        // One byte under the limit works everywhere (103 on darwin, 107 on linux): 100 bytes.
        let fits = sock_path("fits");
        let fits = format!("{fits}{}", "y".repeat(100 - fits.len()));
        let l = UnixListener::bind(&fits).unwrap();
        gort::println!("100-byte path: {}", l.local_addr().unwrap().as_bytes().len());
        gort::println!(
            "not a socket here: {:?}",
            UnixStream::connect("/nonexistent/x.sock").map(drop).map_err(|e| e.kind())
        );
    }

    /// The listener removes its socket file when closed, and when dropped; a connect to the path
    /// then fails with NotFound.
    fn removed() {
        let path = sock_path("removed");
        let l = UnixListener::bind(&path).unwrap();
        gort::println!("exists while listening: {}", exists(&path));
        l.close().unwrap();
        gort::println!("exists after close: {}", exists(&path));
        gort::println!("second close: {:?}", l.close().map_err(|e| e.kind()));
        gort::println!("connect: {:?}", UnixStream::connect(&path).map(drop).map_err(|e| e.kind()));
        drop(l);
        let path = sock_path("dropped");
        {
            let _l = UnixListener::bind(&path).unwrap();
            gort::println!("exists while listening: {}", exists(&path));
        }
        gort::println!("exists after drop: {}", exists(&path));
    }

    /// Read deadlines and an accept deadline on unix sockets.
    fn deadline() {
        let path = sock_path("deadline");
        let l = UnixListener::bind(&path).unwrap();
        l.set_deadline(Some(Instant::now() + Duration::from_millis(50))).unwrap();
        gort::println!("accept: {:?}", l.accept().map(drop).map_err(|e| e.kind()));
        l.set_deadline(None).unwrap();
        let c = UnixStream::connect(&path).unwrap();
        let (s, _) = l.accept().unwrap();
        let t0 = Instant::now();
        c.set_read_deadline(Some(t0 + Duration::from_millis(100))).unwrap();
        let r = c.read(&mut [0u8; 4]).map_err(|e| e.kind());
        let waited = t0.elapsed();
        gort::println!("read: {:?} after >= 100 ms: {}", r, waited >= Duration::from_millis(90));
        c.set_read_deadline(None).unwrap();
        s.write_all(b"late").unwrap();
        let mut buf = [0u8; 4];
        c.read_exact(&mut buf).unwrap();
        gort::println!("after reset: {}", core::str::from_utf8(&buf).unwrap());
        s.shutdown(Shutdown::Write).unwrap();
        gort::println!("after shutdown: {}", c.read(&mut buf).unwrap());
    }

    /// Writing to a peer that closed fails (BrokenPipe), and SIGPIPE does not kill the process.
    fn write_after_close() {
        let path = sock_path("wac");
        let l = UnixListener::bind(&path).unwrap();
        let c = UnixStream::connect(&path).unwrap();
        let (s, _) = l.accept().unwrap();
        drop(s);
        let chunk = vec![7u8; 65536];
        let mut err = None;
        for _ in 0..100 {
            if let Err(e) = c.write(&chunk) {
                err = Some(e.kind());
                break;
            }
        }
        gort::println!("write failed: {:?}, still alive", err);
    }
}
