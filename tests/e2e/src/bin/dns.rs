//! gort::net name resolution end to end, loopback only: the program runs its own DNS responder
//! on 127.0.0.1 (UDP, and TCP on the same port for truncated answers), writes its own
//! resolv.conf and hosts file with gort::fs, and points a `Resolver` at them. Nothing here asks
//! the machine's real DNS servers: the default resolver is used only for numeric addresses and
//! `localhost`. The first argument picks the check; each prints a few lines the case compares.
#![no_std]
#![no_main]
gort::main!(main);

use checks::main;

extern crate alloc;

mod checks {
    use alloc::format;
    use alloc::string::String;
    use alloc::sync::Arc;
    use alloc::vec;
    use alloc::vec::Vec;
    use core::sync::atomic::{AtomicUsize, Ordering};
    use core::time::Duration;

    use gort::net::{IpAddr, Resolver, SocketAddr, TcpListener, TcpStream, UdpSocket};
    use gort::println;
    use gort::sync::Mutex;
    use gort::time::Instant;

    fn arg(i: usize) -> &'static str {
        gort::os::args().get(i).and_then(|a| core::str::from_utf8(a).ok()).unwrap_or("")
    }

    // --- the responder ---

    /// What the responder saw: every question as "udp|tcp NAME TYPE".
    static LOG: Mutex<Vec<String>> = Mutex::new(Vec::new());
    static TCP_QUERIES: AtomicUsize = AtomicUsize::new(0);

    fn asked(prefix: &str) -> usize {
        LOG.lock().iter().filter(|l| l.starts_with(prefix)).count()
    }

    fn wire(name: &str) -> Vec<u8> {
        let mut w = Vec::new();
        for l in name.trim_end_matches('.').split('.') {
            w.push(l.len() as u8);
            w.extend_from_slice(l.as_bytes());
        }
        w.push(0);
        w
    }

    /// A query's (id, question bytes, lower-case rooted name, qtype), uncompressed names only.
    fn parse_query(b: &[u8]) -> Option<(u16, Vec<u8>, String, u16)> {
        let id = u16::from_be_bytes([*b.first()?, *b.get(1)?]);
        let mut i = 12;
        let mut name = String::new();
        loop {
            let n = *b.get(i)? as usize;
            i += 1;
            if n == 0 {
                break;
            }
            name.push_str(core::str::from_utf8(b.get(i..i + n)?).ok()?);
            name.push('.');
            i += n;
        }
        let qtype = u16::from_be_bytes([*b.get(i)?, *b.get(i + 1)?]);
        Some((id, b.get(12..i + 4)?.to_vec(), name.to_ascii_lowercase(), qtype))
    }

    const A: u16 = 1;
    const CNAME: u16 = 5;
    const AAAA: u16 = 28;

    /// A record: owner (None: a pointer to the question's name), type, data.
    type Rr = (Option<&'static str>, u16, Vec<u8>);

    fn a(owner: Option<&'static str>, ip: &str) -> Rr {
        let ip: IpAddr = ip.parse().unwrap();
        match ip {
            IpAddr::V4(v4) => (owner, A, v4.octets().to_vec()),
            IpAddr::V6(v6) => (owner, AAAA, v6.octets().to_vec()),
        }
    }

    fn cname(owner: Option<&'static str>, target: &str) -> Rr {
        (owner, CNAME, wire(target))
    }

    /// The zone: (rcode, truncated, answers) for a question.
    fn zone(name: &str, qtype: u16, tcp: bool) -> (u16, bool, Vec<Rr>) {
        let pick = |rrs: Vec<Rr>| rrs.into_iter().filter(|r| r.1 == qtype || r.1 == CNAME).collect::<Vec<_>>();
        let both = |owner| vec![a(owner, "192.0.2.3"), a(owner, "2001:db8::3")];
        let rrs = match name {
            "a.test." => vec![a(None, "192.0.2.1"), a(None, "192.0.2.2")],
            "v6.test." => vec![a(None, "2001:db8::6")],
            "both.test." => both(None),
            "single.gort-e2e.invalid." => vec![a(None, "192.0.2.50")],
            "hosts.test." => vec![a(None, "192.0.2.99")],
            "forged.test." => vec![a(None, "192.0.2.77")],
            // A chain of two aliases, answered whole.
            "alias.test." => {
                let mut v = vec![cname(None, "mid.test."), cname(Some("mid.test."), "both.test.")];
                v.extend(both(Some("both.test.")));
                v
            }
            // A server that stops at the alias: the resolver must ask for both.test. itself.
            "stop.test." => vec![cname(None, "both.test.")],
            "big.test." if !tcp => return (0, true, Vec::new()),
            "big.test." => (1..=20).map(|i| a(None, &format!("10.0.0.{i}"))).collect(),
            "servfail.test." => return (2, false, Vec::new()),
            _ => return (3, false, Vec::new()),
        };
        (0, false, pick(rrs))
    }

    fn respond(q: &[u8], tcp: bool) -> Option<(Vec<u8>, String)> {
        let (id, question, name, qtype) = parse_query(q)?;
        LOG.lock().push(format!("{} {name} {qtype}", if tcp { "tcp" } else { "udp" }));
        let (rcode, tc, rrs) = zone(&name, qtype, tcp);
        let flags: u16 = 0x8180 | rcode | if tc { 0x0200 } else { 0 };
        let mut b = Vec::new();
        b.extend_from_slice(&id.to_be_bytes());
        b.extend_from_slice(&flags.to_be_bytes());
        b.extend_from_slice(&[0, 1]);
        b.extend_from_slice(&(rrs.len() as u16).to_be_bytes());
        b.extend_from_slice(&[0, 0, 0, 0]);
        b.extend_from_slice(&question);
        for (owner, t, data) in rrs {
            match owner {
                None => b.extend_from_slice(&[0xc0, 12]),
                Some(o) => b.extend_from_slice(&wire(o)),
            }
            b.extend_from_slice(&t.to_be_bytes());
            b.extend_from_slice(&[0, 1, 0, 0, 0, 60]);
            b.extend_from_slice(&(data.len() as u16).to_be_bytes());
            b.extend_from_slice(&data);
        }
        Some((b, name))
    }

    /// Starts the responder: UDP on 127.0.0.1:port and TCP on the same port.
    fn start_server() -> SocketAddr {
        for _ in 0..20 {
            let u = UdpSocket::bind("127.0.0.1:0").unwrap();
            let addr = u.local_addr().unwrap();
            let Ok(l) = TcpListener::bind(addr) else { continue };
            gort::go(move || {
                let mut buf = [0u8; 512];
                while let Ok((n, from)) = u.recv_from(&mut buf) {
                    let Some((resp, name)) = respond(&buf[..n], false) else { continue };
                    if name == "forged.test." {
                        // Two answers that are not ours first: a wrong ID (saying 6.6.6.6),
                        // a wrong question.
                        let mut bad = resp.clone();
                        bad[0] ^= 0xff;
                        let n = bad.len();
                        bad[n - 4..].copy_from_slice(&[6, 6, 6, 6]);
                        u.send_to(&bad, from).unwrap();
                        let q = [&buf[..12], &wire("a.test.")[..], &[0, 1, 0, 1]].concat();
                        let (wrong_q, _) = respond(&q, false).unwrap();
                        u.send_to(&wrong_q, from).unwrap();
                    }
                    u.send_to(&resp, from).unwrap();
                }
            });
            gort::go(move || {
                while let Ok((c, _)) = l.accept() {
                    gort::go(move || loop {
                        let mut len = [0u8; 2];
                        if c.read_exact(&mut len).is_err() {
                            return;
                        }
                        let mut q = vec![0u8; u16::from_be_bytes(len) as usize];
                        if c.read_exact(&mut q).is_err() {
                            return;
                        }
                        TCP_QUERIES.fetch_add(1, Ordering::Relaxed);
                        let Some((resp, _)) = respond(&q, true) else { return };
                        let mut out = (resp.len() as u16).to_be_bytes().to_vec();
                        out.extend_from_slice(&resp);
                        if c.write_all(&out).is_err() {
                            return;
                        }
                    });
                }
            });
            return addr;
        }
        panic!("no free port for UDP and TCP");
    }

    /// A UDP socket that never answers (its queries pile up unread, no ICMP comes back).
    fn silent_server() -> (UdpSocket, SocketAddr) {
        let u = UdpSocket::bind("127.0.0.1:0").unwrap();
        let a = u.local_addr().unwrap();
        (u, a)
    }

    /// The resolv.conf and hosts file of this run, written with gort::fs under /tmp (%TEMP% on
    /// windows).
    fn files() -> (String, String) {
        let tmp = if cfg!(windows) {
            gort::os::getenv("TEMP").and_then(|t| core::str::from_utf8(t).ok()).unwrap_or(".")
        } else {
            "/tmp"
        };
        let sep = if cfg!(windows) { "\\" } else { "/" };
        let base = format!("{tmp}{sep}gort-dns-{}", gort_e2e::tid());
        let rc = format!("{base}-resolv.conf");
        let hosts = format!("{base}-hosts");
        // The nameserver line is replaced by Resolver::nameservers (it cannot carry a port);
        // the search list and options come from here.
        gort::fs::write(
            &rc,
            "# gort e2e\nnameserver 127.0.0.1\nsearch gort-e2e.invalid\noptions ndots:1 timeout:5 attempts:2\n",
        )
        .unwrap();
        gort::fs::write(&hosts, "# gort e2e\n10.9.9.9\tHosts.Test hosts-alias # DNS says 192.0.2.99\n::1 hosts.test\n")
            .unwrap();
        (rc, hosts)
    }

    fn resolver(servers: &[SocketAddr]) -> Resolver {
        let (rc, hosts) = files();
        Resolver::new().resolv_conf(rc).hosts_file(hosts).nameservers(servers)
    }

    fn show(r: Result<Vec<IpAddr>, gort::io::Error>) -> String {
        match r {
            Ok(v) => v.iter().map(|ip| format!("{ip}")).collect::<Vec<_>>().join(" "),
            Err(e) => format!("{:?}: {e}", e.kind()),
        }
    }

    pub fn main() {
        match arg(1) {
            "records" => records(),
            "cname" => cname_chains(),
            "nxdomain" => nxdomain(),
            "truncated" => truncated(),
            "timeout" => timeout(),
            "forged" => forged(),
            "hosts" => hosts(),
            "numeric" => numeric(),
            "localhost" => localhost(),
            a => panic!("unknown check {a:?}"),
        }
    }

    fn records() {
        let r = resolver(&[start_server()]);
        for n in ["a.test", "v6.test", "both.test", "BoTh.TeSt.", "single"] {
            println!("{n}: {}", show(r.lookup_host(n)));
        }
        println!("asked for single: {}", asked("udp single.gort-e2e.invalid."));
    }

    fn cname_chains() {
        let r = resolver(&[start_server()]);
        println!("alias.test: {}", show(r.lookup_host("alias.test")));
        println!("asked for both.test: {}", asked("udp both.test."));
        println!("stop.test: {}", show(r.lookup_host("stop.test")));
        println!("asked for both.test: {}", asked("udp both.test."));
    }

    fn nxdomain() {
        let r = resolver(&[start_server()]);
        println!("nx.test: {}", show(r.lookup_host("nx.test")));
        println!("questions: {}", asked("udp"));
        println!("bad..name: {}", show(r.lookup_host("bad..name")));
        println!("questions: {}", asked("udp"));
        println!("servfail.test: {}", show(r.lookup_host("servfail.test.")));
    }

    fn truncated() {
        let r = resolver(&[start_server()]);
        let v = r.lookup_host("big.test").unwrap();
        println!("big.test: {} addresses, {} .. {}", v.len(), v[0], v[v.len() - 1]);
        println!("over udp: {}, over tcp: {}", asked("udp big.test."), asked("tcp big.test."));
    }

    fn timeout() {
        let (_silent, quiet) = silent_server();
        let good = start_server();
        let t = Duration::from_millis(300);
        // Only the silent server: every try waits `t`; the lookup fails with TimedOut.
        let r = resolver(&[quiet]).timeout(t).attempts(1).search(&[]);
        let start = Instant::now();
        let res = r.lookup_host("a.test");
        let took = start.elapsed();
        println!("silent: {}", show(res));
        println!("waited at least the timeout: {}", took >= t);
        println!("within bounds: {}", took < Duration::from_secs(20));
        // The silent server first, then one that answers.
        let r = resolver(&[quiet, good]).timeout(t).attempts(2).search(&[]);
        let start = Instant::now();
        let res = r.lookup_host("a.test");
        let took = start.elapsed();
        println!("silent, then good: {}", show(res));
        println!("waited for the first: {}", took >= t);
        println!("within bounds: {}", took < Duration::from_secs(20));
    }

    fn forged() {
        let r = resolver(&[start_server()]);
        println!("forged.test: {}", show(r.lookup_host("forged.test")));
    }

    fn hosts() {
        let r = resolver(&[start_server()]);
        for n in ["hosts.test", "HOSTS.TEST.", "Hosts-Alias"] {
            println!("{n}: {}", show(r.lookup_host(n)));
        }
        println!("asked DNS: {}", LOG.lock().len());
        // The same names through DNS once the hosts file is gone.
        let gone = resolver(&[start_server()]).hosts_file("/nonexistent/gort-hosts");
        println!("without the file: {}", show(gone.lookup_host("hosts.test")));
    }

    fn echo_once(l: TcpListener) {
        gort::go(move || {
            let (c, _) = l.accept().unwrap();
            let mut b = [0u8; 1];
            c.read_exact(&mut b).unwrap();
            c.write_all(&b).unwrap();
        });
    }

    fn round_trip(c: &TcpStream) -> bool {
        let mut b = [0u8; 1];
        c.write_all(b"x").is_ok() && c.read_exact(&mut b).is_ok() && &b == b"x"
    }

    fn numeric() {
        // Numeric hosts need no server at all (the default resolver, no file is read for them).
        println!("lookup 192.0.2.1: {}", show(gort::net::lookup_host("192.0.2.1")));
        println!("lookup ::1: {}", show(gort::net::lookup_host("::1")));
        let l6 = TcpListener::bind("[::1]:0").unwrap();
        let p6 = l6.local_addr().unwrap().port();
        echo_once(l6);
        let c = TcpStream::connect(format!("[::1]:{p6}")).unwrap();
        println!("[::1]:port: {} {}", c.peer_addr().unwrap().ip(), round_trip(&c));
        let l = TcpListener::bind(("127.0.0.1", 0)).unwrap();
        let a = l.local_addr().unwrap();
        let port = a.port();
        echo_once(l);
        let c = TcpStream::connect(("127.0.0.1", port)).unwrap();
        println!("(&str, port): {} {}", c.peer_addr().unwrap().ip(), round_trip(&c));
        // dialSerial: a refused address first, then the listener: the second one connects.
        let closed = {
            let t = TcpListener::bind("127.0.0.1:0").unwrap();
            t.local_addr().unwrap()
        };
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let good = l.local_addr().unwrap();
        echo_once(l);
        let c = TcpStream::connect(&[closed, good][..]).unwrap();
        println!("refused then good: {}", c.peer_addr().unwrap() == good && round_trip(&c));
        // Both refused: the first error.
        println!("both refused: {:?}", TcpStream::connect(&[closed, closed][..]).unwrap_err().kind());
        println!("no port: {:?}", TcpStream::connect("127.0.0.1").unwrap_err().kind());
        // UDP with text addresses.
        let u = UdpSocket::bind("127.0.0.1:0").unwrap();
        let v = UdpSocket::bind(("127.0.0.1", 0)).unwrap();
        let va = v.local_addr().unwrap();
        u.send_to(b"hi", format!("127.0.0.1:{}", va.port())).unwrap();
        let mut b = [0u8; 8];
        let (n, from) = v.recv_from(&mut b).unwrap();
        println!(
            "udp send_to text: {} from own port: {}",
            core::str::from_utf8(&b[..n]).unwrap(),
            from == u.local_addr().unwrap()
        );
        u.connect(va).unwrap();
        u.send(b"again").unwrap();
        let n = v.recv(&mut b).unwrap();
        println!("udp connect: {}", core::str::from_utf8(&b[..n]).unwrap());
    }

    fn localhost() {
        // The default resolver: /etc/hosts, else the localhost rule; never DNS.
        let ips = gort::net::lookup_host("localhost").unwrap();
        println!("localhost is loopback: {}", !ips.is_empty() && ips.iter().all(|ip| ip.is_loopback()));
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        let l = Arc::new(l);
        for (what, c) in [
            ("localhost:PORT", TcpStream::connect(format!("localhost:{port}"))),
            ("(localhost, PORT)", TcpStream::connect_timeout(("localhost", port), Duration::from_secs(10))),
        ] {
            let l2 = l.clone();
            gort::go(move || {
                let (c, _) = l2.accept().unwrap();
                let mut b = [0u8; 1];
                c.read_exact(&mut b).unwrap();
                c.write_all(&b).unwrap();
            });
            let c = c.unwrap();
            println!("{what}: {} {}", c.peer_addr().unwrap().ip(), round_trip(&c));
        }
        let v = UdpSocket::bind("localhost:0").unwrap();
        let u = UdpSocket::bind("127.0.0.1:0").unwrap();
        u.send_to(b"udp", format!("localhost:{}", v.local_addr().unwrap().port())).unwrap();
        let mut b = [0u8; 8];
        let n = v.recv(&mut b).unwrap();
        println!("udp to localhost: {}", core::str::from_utf8(&b[..n]).unwrap());
    }
}
