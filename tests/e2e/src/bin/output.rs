//! e2e: print's promises under hostile conditions.
//!
//! - `tear`: stdout is a pipe this program reads itself (dup3 onto fd 1); 64 goroutines print
//!   200 lines of 600 bytes each at once. Every line must arrive whole (one print = one write):
//!   `lines=12800 torn=0` on stderr.
//! - `nonblock`: stdout is an O_NONBLOCK pipe whose reader starts draining after a second; 100 000
//!   printed lines must all arrive (EAGAIN waits, nothing is dropped): `lines=100000`.
//! - `epipe`: stdout is a pipe whose read end is closed: the first print ends the process by
//!   SIGPIPE, quietly, as Go (`prog | head`).
//! - `stdout-error`: `write!` through `gort::os::stdout()` to a closed fd 1 returns Err (EBADF)
//!   instead of dropping the output silently.
//! - `panics`: eight goroutines panic at the same moment: the first report is written whole,
//!   then the process exits 2 (before: often only `panic during panic`).
#![no_std]
#![no_main]
gort::main!(main);

#[cfg(target_os = "linux")]
use linux::main;

#[cfg(not(target_os = "linux"))]
fn main() {
    match gort::os::args().get(1).copied().unwrap_or(b"") {
        b"panics" => common::panics(),
        _ => gort::println!("output: only `panics` exists on this OS"),
    }
}

mod common {
    use core::time::Duration;

    pub fn panics() {
        let (tx, rx) = gort::chan::<()>(0);
        for i in 0..8 {
            let rx = rx.clone();
            gort::go(move || {
                rx.recv();
                panic!("boom from goroutine {}", i);
            });
        }
        gort::sleep(Duration::from_millis(20));
        drop(tx); // wakes all eight at once
        gort::sleep(Duration::from_secs(5));
        gort::println!("not reached");
    }
}

#[cfg(target_os = "linux")]
mod linux {
    use alloc::sync::Arc;
    use alloc::vec::Vec;
    use core::time::Duration;
    use gort::syscall::{raw_syscall6, syscall6};
    use linux_raw_sys::general as g;

    extern crate alloc;

    const O_NONBLOCK: usize = g::O_NONBLOCK as usize;
    const EAGAIN: isize = 11; // the same on every Linux architecture

    /// Makes fd 1 the write end of a new pipe (with `flags`); returns the read end.
    fn redirect_stdout(flags: usize) -> usize {
        let mut fds = [0i32; 2];
        // SAFETY: pipe2 writes two fds into `fds`.
        let r = unsafe { raw_syscall6(g::__NR_pipe2 as usize, fds.as_mut_ptr() as usize, flags, 0, 0, 0, 0) };
        assert!(r == 0, "pipe2: {}", r);
        // SAFETY: plain fds.
        unsafe {
            let r = raw_syscall6(g::__NR_dup3 as usize, fds[1] as usize, 1, 0, 0, 0, 0);
            assert!(r == 1, "dup3: {}", r);
            raw_syscall6(g::__NR_close as usize, fds[1] as usize, 0, 0, 0, 0, 0);
        }
        fds[0] as usize
    }

    fn close(fd: usize) {
        // SAFETY: a plain fd of ours.
        unsafe { raw_syscall6(g::__NR_close as usize, fd, 0, 0, 0, 0, 0) };
    }

    /// Reads from `fd` (blocking, or polling with short sleeps when it is non-blocking) until
    /// `done` says the bytes so far are complete; `done` also sees how many lines have ended.
    fn read_until(fd: usize, done: impl Fn(&[u8], usize) -> bool) -> Vec<u8> {
        let mut all = Vec::new();
        let mut lines = 0;
        let mut buf = [0u8; 2048];
        while !done(&all, lines) {
            // SAFETY: buf is writable for its length.
            let n = unsafe { syscall6(g::__NR_read as usize, fd, buf.as_mut_ptr() as usize, buf.len(), 0, 0, 0) };
            if n == -EAGAIN {
                gort::sleep(Duration::from_millis(1));
                continue;
            }
            assert!(n > 0, "read: {}", n);
            let got = &buf[..n as usize];
            lines += got.iter().filter(|&&c| c == b'\n').count();
            all.extend_from_slice(got);
        }
        all
    }

    const LINE: usize = 600;

    fn tear() {
        const G: usize = 64;
        const L: usize = 200;
        let rd = redirect_stdout(0);
        let (res_tx, res_rx) = gort::chan::<(usize, usize)>(1);
        gort::go(move || {
            let all = read_until(rd, |_, lines| lines == G * L);
            let mut torn = 0;
            let lines: Vec<&[u8]> = all.split(|&c| c == b'\n').filter(|l| !l.is_empty()).collect();
            for l in &lines {
                // "gNN lNNN " then x's up to LINE bytes.
                let whole = l.len() == LINE - 1
                    && l[0] == b'g'
                    && l[3] == b' '
                    && l[4] == b'l'
                    && l[8] == b' '
                    && l[9..].iter().all(|&c| c == b'x');
                if !whole {
                    torn += 1;
                }
            }
            res_tx.send((lines.len(), torn)).unwrap();
        });
        let wg = Arc::new(gort::sync::WaitGroup::new());
        let fill = alloc::string::String::from_utf8(alloc::vec![b'x'; LINE - 10]).unwrap();
        let fill = Arc::new(fill);
        for gi in 0..G {
            wg.add(1);
            let (wg, fill) = (wg.clone(), fill.clone());
            gort::go(move || {
                for li in 0..L {
                    gort::println!("g{:02} l{:03} {}", gi, li, fill);
                }
                wg.done();
            });
        }
        wg.wait();
        let (lines, torn) = res_rx.recv().unwrap();
        gort::eprintln!("lines={} torn={}", lines, torn);
    }

    fn nonblock() {
        const N: usize = 100_000;
        let rd = redirect_stdout(O_NONBLOCK);
        let (res_tx, res_rx) = gort::chan::<usize>(1);
        gort::go(move || {
            gort::sleep(Duration::from_secs(1));
            let all = read_until(rd, |b, _| b.ends_with(b"END\n"));
            res_tx.send(all.iter().filter(|&&c| c == b'\n').count() - 1).unwrap();
        });
        for i in 0..N {
            gort::println!("line {}", i);
        }
        gort::println!("END");
        gort::eprintln!("lines={}", res_rx.recv().unwrap());
    }

    fn epipe() {
        let rd = redirect_stdout(0);
        close(rd);
        gort::eprintln!("printing to a closed pipe");
        gort::println!("nobody reads this");
        gort::eprintln!("still alive after EPIPE (wrong)");
    }

    fn stdout_error() {
        use core::fmt::Write as _;
        // A closed fd 1: the fallible form reports the failure (EBADF) instead of dropping it.
        close(1);
        let r = writeln!(gort::os::stdout(), "into a closed fd");
        gort::eprintln!("write to a closed stdout: {}", if r.is_err() { "Err" } else { "Ok (wrong)" });
    }

    pub fn main() {
        match gort::os::args().get(1).copied().unwrap_or(b"") {
            b"tear" => tear(),
            b"nonblock" => nonblock(),
            b"epipe" => epipe(),
            b"stdout-error" => stdout_error(),
            b"panics" => super::common::panics(),
            _ => gort::println!("usage: output tear|nonblock|epipe|stdout-error|panics"),
        }
    }
}
