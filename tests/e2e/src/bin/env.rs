//! e2e: looks up environment variables.
//!
//! `env KEY...` prints `KEY="<escaped value>"` or `KEY <unset>` for each key, in order.
//! `env -all` prints every environment entry (escaped), sorted, after `envc=N`.
//! `env -summary KEY...` prints each key's value length and its first and last 16 bytes, then
//! `big-bytes>=N` style totals of the whole environment (for environments too big to print).
#![no_std]
#![no_main]
gort::main!(main);

extern crate alloc;
use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write;

fn escape(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len() + 2);
    s.push('"');
    for &c in b {
        match c {
            b'"' => s.push_str("\\\""),
            b'\\' => s.push_str("\\\\"),
            0x20..=0x7e => s.push(c as char),
            _ => {
                let _ = write!(s, "\\x{:02x}", c);
            }
        }
    }
    s.push('"');
    s
}

fn main() {
    let args = gort::os::args();
    if args.get(1).copied() == Some(&b"-all"[..]) {
        let mut all: Vec<&[u8]> = gort::os::environ().to_vec();
        all.sort();
        gort::println!("envc={}", all.len());
        for kv in all {
            gort::println!("{}", escape(kv));
        }
        return;
    }
    if args.get(1).copied() == Some(&b"-summary"[..]) {
        for key in args.iter().skip(2) {
            let k = core::str::from_utf8(key).unwrap_or("?");
            match gort::os::getenv(k) {
                Some(v) => {
                    let n = v.len().min(16);
                    gort::println!("{} len={} head={} tail={}", k, v.len(), escape(&v[..n]), escape(&v[v.len() - n..]))
                }
                None => gort::println!("{} <unset>", k),
            }
        }
        let total: usize = gort::os::environ().iter().map(|kv| kv.len() + 1).sum();
        gort::println!("envc={}", gort::os::environ().len());
        for step in [1usize << 20, 1 << 19] {
            if total >= step {
                gort::println!("big-bytes>={}", step);
                break;
            }
        }
        return;
    }
    for key in args.iter().skip(1) {
        let Ok(k) = core::str::from_utf8(key) else {
            gort::println!("{} <key is not utf-8>", escape(key));
            continue;
        };
        match gort::os::getenv(k) {
            Some(v) => gort::println!("{}={}", k, escape(v)),
            None => gort::println!("{} <unset>", k),
        }
    }
}
