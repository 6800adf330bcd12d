//! A TCP echo server: every connection gets a goroutine that writes back what it reads. A
//! goroutine waiting for its client is parked on the network poller, not holding a thread, so ten
//! thousand idle clients cost ten thousand small stacks and one thread in the poller (`epoll_pwait`, `kevent`,
//! `GetQueuedCompletionStatusEx`).
//!
//! `cargo xtask run echo -- 127.0.0.1:7007` (the default address; port 0 picks a free one), then
//! `nc 127.0.0.1 7007`. The first line it prints says where it listens.
#![no_std]
#![no_main]

gort::main!(main);

fn main() {
    use core::time::Duration;
    use gort::net::{SocketAddr, TcpListener};

    let arg = gort::os::args().get(1).map(|a| core::str::from_utf8(a).unwrap_or("")).unwrap_or("127.0.0.1:7007");
    let Ok(addr) = arg.parse::<SocketAddr>() else {
        gort::eprintln!("echo: {arg:?} is not an address like 127.0.0.1:7007");
        gort::os::exit(2);
    };
    let l = match TcpListener::bind(addr) {
        Ok(l) => l,
        Err(e) => {
            gort::eprintln!("echo: listen on {addr}: {e}");
            gort::os::exit(1);
        }
    };
    gort::println!("echo: listening on {}", l.local_addr().unwrap());
    let mut backoff = Duration::from_millis(5);
    loop {
        let c = match l.accept() {
            Ok((c, _peer)) => c,
            Err(e) => {
                // Out of file descriptors, say: wait a little and try again (Go's http.Server
                // does the same, from 5 ms up to a second).
                gort::eprintln!("echo: accept: {e}; retrying in {backoff:?}");
                gort::sleep(backoff);
                backoff = (backoff * 2).min(Duration::from_secs(1));
                continue;
            }
        };
        backoff = Duration::from_millis(5);
        gort::go(move || {
            let mut buf = [0u8; 4096];
            loop {
                match c.read(&mut buf) {
                    Ok(0) | Err(_) => return, // the client is done (or gone); dropping `c` closes it
                    Ok(n) => {
                        if c.write_all(&buf[..n]).is_err() {
                            return;
                        }
                    }
                }
            }
        });
    }
}
