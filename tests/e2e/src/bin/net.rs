//! gort::net end to end (loopback only). The first argument picks the check; each prints a few
//! lines the case compares. Time bounds are generous (qemu, `stress --load`).
#![no_std]
#![no_main]
gort::main!(main);

#[cfg(not(any(target_os = "linux", windows)))]
fn main() {
    gort::println!("net: linux and windows only: gort::net has no poller on this OS yet");
    gort::os::exit(3);
}

#[cfg(any(target_os = "linux", windows))]
use checks::main;

#[cfg(any(target_os = "linux", windows))]
extern crate alloc;

#[cfg(any(target_os = "linux", windows))]
mod checks {

    use alloc::sync::Arc;
    use alloc::vec;
    use alloc::vec::Vec;
    use core::sync::atomic::{AtomicUsize, Ordering};
    use core::time::Duration;

    use gort::io::ErrorKind;
    use gort::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
    use gort::sync::WaitGroup;
    use gort::time::Instant;

    fn arg(i: usize) -> &'static str {
        gort::os::args().get(i).and_then(|a| core::str::from_utf8(a).ok()).unwrap_or("")
    }

    fn num(i: usize, default: u64) -> u64 {
        arg(i).parse().unwrap_or(default)
    }

    fn listen() -> (TcpListener, SocketAddr) {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let a = l.local_addr().unwrap();
        (l, a)
    }

    /// Threads of this process (/proc/self/status on linux, a Toolhelp snapshot on windows).
    fn threads() -> u64 {
        gort_e2e::threads()
    }

    pub fn main() {
        match arg(1) {
            "echo" => echo(num(2, 2000) as usize),
            "deadline" => deadline(),
            "refused" => refused(),
            "eof" => eof(),
            "write-after-close" => write_after_close(),
            "close-wakes" => close_wakes(),
            "half-close" => half_close(),
            "big" => big(num(2, 64) as usize),
            "accept-forever" => accept_forever(),
            "sleep-while-polling" => sleep_while_polling(),
            "udp" => udp(),
            "v6" => v6(),
            "accept-deadline" => accept_deadline(),
            #[cfg(windows)]
            "resolve" => resolve(),
            other => panic!("unknown check {other:?}"),
        }
    }

    /// An echo server and `n` concurrent clients in this process, every byte checked; the thread
    /// count stays under GOMAXPROCS + 8.
    #[inline(never)]
    fn echo(n: usize) {
        let (l, addr) = listen();
        let l = Arc::new(l);
        {
            let l = l.clone();
            gort::go(move || loop {
                let Ok((c, _)) = l.accept() else { return };
                gort::go(move || {
                    let mut buf = [0u8; 512];
                    loop {
                        match c.read(&mut buf) {
                            Ok(0) | Err(_) => return,
                            Ok(k) => c.write_all(&buf[..k]).unwrap(),
                        }
                    }
                });
            });
        }
        let wg = Arc::new(WaitGroup::new());
        let max_threads = Arc::new(AtomicUsize::new(0));
        let bytes = Arc::new(AtomicUsize::new(0));
        for i in 0..n {
            wg.add(1);
            let wg = wg.clone();
            let (mt, bytes) = (max_threads.clone(), bytes.clone());
            gort::go(move || {
                let c = TcpStream::connect(addr).unwrap();
                for round in 0..4u32 {
                    let msg: Vec<u8> = (0..100 + (i % 200)).map(|k| (k as u32 ^ i as u32 ^ round) as u8).collect();
                    c.write_all(&msg).unwrap();
                    let mut back = vec![0u8; msg.len()];
                    c.read_exact(&mut back).unwrap();
                    assert_eq!(back, msg, "client {i} round {round}");
                    bytes.fetch_add(msg.len(), Ordering::Relaxed);
                    // linux: every client samples (reading /proc is cheap); windows: a sampler
                    // goroutine does (a Toolhelp snapshot under wine takes milliseconds).
                    #[cfg(target_os = "linux")]
                    mt.fetch_max(threads() as usize, Ordering::Relaxed);
                    #[cfg(windows)]
                    let _ = &mt;
                }
                c.shutdown(Shutdown::Write).unwrap();
                let mut b = [0u8; 1];
                assert_eq!(c.read(&mut b).unwrap(), 0);
                wg.done();
            });
        }
        #[cfg(windows)]
        let sampling = {
            let (mt, stop) = (max_threads.clone(), Arc::new(core::sync::atomic::AtomicBool::new(false)));
            let stop2 = stop.clone();
            gort::go(move || {
                while !stop2.load(Ordering::Relaxed) {
                    mt.fetch_max(threads() as usize, Ordering::Relaxed);
                    gort::sleep(Duration::from_millis(20));
                }
            });
            stop
        };
        wg.wait();
        #[cfg(windows)]
        {
            max_threads.fetch_max(threads() as usize, Ordering::Relaxed);
            sampling.store(true, Ordering::Relaxed);
        }
        l.close().unwrap();
        let t = max_threads.load(Ordering::Relaxed) as i32;
        let procs = gort::gomaxprocs(0);
        gort::println!("echoed {} clients", n);
        if t >= procs + 8 {
            gort::println!("too many threads: {} at GOMAXPROCS={}", t, procs);
        } else {
            gort::println!("threads ok");
        }
        let _ = bytes;
    }

    /// A read deadline fires (TimedOut, not early), stays fired, and a reset works; a deadline
    /// already passed fails at once.
    #[inline(never)]
    fn deadline() {
        let (l, addr) = listen();
        gort::go(move || {
            let (c, _) = l.accept().unwrap();
            // Well after the 200 ms deadline, even on a loaded machine under qemu.
            gort::sleep(Duration::from_millis(1500));
            c.write_all(b"late").unwrap();
            let mut b = [0u8; 1];
            let _ = c.read(&mut b);
        });
        let c = TcpStream::connect(addr).unwrap();
        let start = Instant::now();
        c.set_read_deadline(Some(Instant::now() + Duration::from_millis(200))).unwrap();
        let mut buf = [0u8; 8];
        let e = c.read(&mut buf).unwrap_err();
        let took = start.elapsed();
        gort::println!("first: {:?}", e.kind());
        assert!(took >= Duration::from_millis(200), "fired early: {took:?}");
        assert!(took < Duration::from_secs(5), "fired late: {took:?}");
        // Still passed: fails at once.
        gort::println!("again: {:?}", c.read(&mut buf).unwrap_err().kind());
        // Reset: the read waits for the data.
        c.set_read_deadline(None).unwrap();
        let n = c.read(&mut buf).unwrap();
        gort::println!("after reset: {}", core::str::from_utf8(&buf[..n]).unwrap());
        // A deadline in the past fails at once, for writes too.
        c.set_deadline(Some(Instant::now())).unwrap();
        gort::println!("past read: {:?}", c.read(&mut buf).unwrap_err().kind());
        gort::println!("past write: {:?}", c.write(b"x").unwrap_err().kind());
        // A deadline set while a read is blocked fails that read.
        c.set_deadline(None).unwrap();
        let c = Arc::new(c);
        let c2 = c.clone();
        gort::go(move || {
            gort::sleep(Duration::from_millis(100));
            c2.set_read_deadline(Some(Instant::now())).unwrap();
        });
        gort::println!("pending read: {:?}", c.read(&mut buf).unwrap_err().kind());
    }

    #[inline(never)]
    fn refused() {
        // A port nobody listens on: bind one, note it, close it.
        let (l, addr) = listen();
        drop(l);
        gort::println!("connect: {:?}", TcpStream::connect(addr).unwrap_err().kind());
    }

    #[inline(never)]
    fn eof() {
        let (l, addr) = listen();
        gort::go(move || {
            let (c, _) = l.accept().unwrap();
            c.write_all(b"abc").unwrap();
            gort::sleep(Duration::from_millis(100));
            drop(c);
        });
        let c = TcpStream::connect(addr).unwrap();
        let mut buf = [0u8; 8];
        let n = c.read(&mut buf).unwrap();
        gort::println!("got {}", core::str::from_utf8(&buf[..n]).unwrap());
        gort::println!("then {}", c.read(&mut buf).unwrap());
    }

    #[inline(never)]
    fn write_after_close() {
        let (l, addr) = listen();
        gort::go(move || {
            let (c, _) = l.accept().unwrap();
            drop(c);
        });
        let c = TcpStream::connect(addr).unwrap();
        let mut buf = [0u8; 1];
        assert_eq!(c.read(&mut buf).unwrap(), 0);
        let chunk = vec![7u8; 65536];
        let mut kind = None;
        for _ in 0..1000 {
            if let Err(e) = c.write(&chunk) {
                kind = Some(e.kind());
                break;
            }
        }
        let k = kind.expect("writes to a closed peer never failed");
        assert!(matches!(k, ErrorKind::BrokenPipe | ErrorKind::ConnectionReset), "{k:?}");
        gort::println!("write failed, still alive");
    }

    #[inline(never)]
    fn close_wakes() {
        let (l, addr) = listen();
        let l = Arc::new(l);
        let l2 = l.clone();
        let (acc_tx, acc_rx) = gort::chan::<()>(0);
        gort::go(move || {
            let _keep = l2.accept().unwrap();
            acc_tx.send(()).unwrap();
            gort::sleep(Duration::from_secs(30));
        });
        let c = Arc::new(TcpStream::connect(addr).unwrap());
        // The connection is taken before the second accept starts (else that one would get it).
        acc_rx.recv().unwrap();
        let (tx, rx) = gort::chan::<gort::io::Error>(0);
        for _ in 0..3 {
            let (c, tx) = (c.clone(), tx.clone());
            gort::go(move || {
                let mut b = [0u8; 1];
                tx.send(c.read(&mut b).unwrap_err()).unwrap();
            });
        }
        // An accept blocked on the listener too.
        let tx2 = tx.clone();
        let l3 = l.clone();
        gort::go(move || tx2.send(l3.accept().unwrap_err()).unwrap());
        gort::sleep(Duration::from_millis(200));
        c.close().unwrap();
        l.close().unwrap();
        for _ in 0..4 {
            gort::println!("woke: {}", rx.recv().unwrap());
        }
        let mut b = [0u8; 1];
        gort::println!("later read: {:?}", c.read(&mut b).unwrap_err().kind());
        gort::println!("second close: {:?}", c.close().unwrap_err().kind());
    }

    #[inline(never)]
    fn half_close() {
        let (l, addr) = listen();
        gort::go(move || {
            let (c, _) = l.accept().unwrap();
            let mut all = Vec::new();
            let mut buf = [0u8; 64];
            loop {
                match c.read(&mut buf).unwrap() {
                    0 => break,
                    n => all.extend_from_slice(&buf[..n]),
                }
            }
            c.write_all(b"got ").unwrap();
            c.write_all(&all).unwrap();
        });
        let c = TcpStream::connect(addr).unwrap();
        c.write_all(b"request").unwrap();
        c.shutdown(Shutdown::Write).unwrap();
        let mut out = Vec::new();
        let mut buf = [0u8; 64];
        loop {
            match c.read(&mut buf).unwrap() {
                0 => break,
                n => out.extend_from_slice(&buf[..n]),
            }
        }
        gort::println!("{}", core::str::from_utf8(&out).unwrap());
    }

    #[inline(never)]
    fn big(mb: usize) {
        let (l, addr) = listen();
        let total = mb << 20;
        gort::go(move || {
            let (c, _) = l.accept().unwrap();
            let mut chunk = vec![0u8; 65536];
            let mut sent = 0usize;
            while sent < total {
                for (k, b) in chunk.iter_mut().enumerate() {
                    *b = ((sent + k) % 251) as u8;
                }
                c.write_all(&chunk).unwrap();
                sent += chunk.len();
            }
        });
        let c = TcpStream::connect(addr).unwrap();
        let mut buf = vec![0u8; 100_000];
        let mut got = 0usize;
        loop {
            let n = c.read(&mut buf).unwrap();
            if n == 0 {
                break;
            }
            for (k, &b) in buf[..n].iter().enumerate() {
                assert_eq!(b, ((got + k) % 251) as u8, "byte {}", got + k);
            }
            got += n;
        }
        gort::println!("received {} MB", got >> 20);
    }

    /// One M blocks in the poller (a goroutine in accept, no timers); sleeps that start after
    /// it must wake it (netpollBreak), each on time.
    #[inline(never)]
    fn sleep_while_polling() {
        let (l, _) = listen();
        gort::go(move || {
            let _ = l.accept();
        });
        gort::sleep(Duration::from_millis(50)); // the acceptor parks, an M polls
        for i in 0..5 {
            let start = Instant::now();
            gort::sleep(Duration::from_millis(30));
            let took = start.elapsed();
            assert!(took < Duration::from_secs(3), "sleep {i} took {took:?}");
        }
        gort::println!("slept 5 times");
    }

    /// UDP: send_to/recv_from both ways, then connected send/recv, a read deadline, close wakes.
    #[inline(never)]
    fn udp() {
        use gort::net::UdpSocket;
        let a = Arc::new(UdpSocket::bind("127.0.0.1:0").unwrap());
        let b = UdpSocket::bind("127.0.0.1:0").unwrap();
        let (aa, ba) = (a.local_addr().unwrap(), b.local_addr().unwrap());
        let a2 = a.clone();
        gort::go(move || {
            let mut buf = [0u8; 64];
            let (n, from) = a2.recv_from(&mut buf).unwrap();
            assert_eq!(from, ba);
            a2.send_to(&buf[..n], from).unwrap();
        });
        b.send_to(b"datagram", aa).unwrap();
        let mut buf = [0u8; 64];
        let (n, from) = b.recv_from(&mut buf).unwrap();
        assert_eq!(from, aa);
        gort::println!("echo: {}", core::str::from_utf8(&buf[..n]).unwrap());
        b.connect(aa).unwrap();
        a.connect(ba).unwrap();
        b.send(b"connected").unwrap();
        let n = a.recv(&mut buf).unwrap();
        gort::println!("recv: {}", core::str::from_utf8(&buf[..n]).unwrap());
        b.set_read_deadline(Some(Instant::now() + Duration::from_millis(50))).unwrap();
        gort::println!("deadline: {:?}", b.recv(&mut buf).unwrap_err().kind());
        let a3 = a.clone();
        gort::go(move || {
            gort::sleep(Duration::from_millis(100));
            a3.close().unwrap();
        });
        gort::println!("closed: {:?}", a.recv(&mut buf).unwrap_err().kind());
    }

    /// IPv6 loopback: bind, connect, echo, both addresses.
    #[inline(never)]
    fn v6() {
        let l = TcpListener::bind("[::1]:0").unwrap();
        let addr = l.local_addr().unwrap();
        gort::go(move || {
            let (c, peer) = l.accept().unwrap();
            assert_eq!(c.peer_addr().unwrap(), peer);
            let mut b = [0u8; 2];
            c.read_exact(&mut b).unwrap();
            c.write_all(&b).unwrap();
        });
        let c = TcpStream::connect(addr).unwrap();
        assert_eq!(c.peer_addr().unwrap(), addr);
        c.write_all(b"v6").unwrap();
        let mut b = [0u8; 2];
        c.read_exact(&mut b).unwrap();
        gort::println!("{} over {}", core::str::from_utf8(&b).unwrap(), c.local_addr().unwrap().ip());
    }

    /// A listener's deadline bounds accept; cleared, accept waits for the connection.
    #[inline(never)]
    fn accept_deadline() {
        let (l, addr) = listen();
        let start = Instant::now();
        l.set_deadline(Some(Instant::now() + Duration::from_millis(100))).unwrap();
        gort::println!("accept: {:?}", l.accept().unwrap_err().kind());
        assert!(start.elapsed() >= Duration::from_millis(100));
        l.set_deadline(None).unwrap();
        gort::go(move || {
            gort::sleep(Duration::from_millis(50));
            let _c = TcpStream::connect_timeout(addr, Duration::from_secs(5)).unwrap();
            gort::sleep(Duration::from_millis(100));
        });
        let (c, _) = l.accept().unwrap();
        let mut b = [0u8; 1];
        gort::println!("then accepted; peer closes: {}", c.read(&mut b).unwrap());
    }

    #[inline(never)]
    fn accept_forever() {
        let (l, _) = listen();
        gort::println!("accepting");
        let _ = l.accept();
        gort::println!("accept returned");
    }

    /// lookup_host on windows goes to the system resolver (GetAddrInfoW): "localhost", a numeric
    /// name (answered before the system is asked), and a name that cannot exist.
    #[cfg(windows)]
    #[inline(never)]
    fn resolve() {
        let a = gort::net::lookup_host("localhost").unwrap();
        assert!(!a.is_empty() && a.iter().all(|ip| ip.is_loopback()), "localhost: {a:?}");
        gort::println!("localhost: loopback");
        let b = gort::net::lookup_host("192.0.2.7").unwrap();
        gort::println!("numeric: {:?}", b);
        let e = gort::net::lookup_host("no-such-host.invalid").unwrap_err();
        gort::println!("invalid: error {}", e.raw_os_error().is_some());
    }
}
