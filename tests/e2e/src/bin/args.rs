//! e2e: prints argc and every argument as `[i] "<escaped bytes>"`.
//!
//! Bytes outside printable ASCII are written as `\xNN` (and `"`/`\` are backslash-escaped) so the
//! output is deterministic for any input. argv[0] is reduced to its base name without `.exe`, so
//! the output does not depend on where the binary was built or on the runner (qemu, wine).
#![no_std]
#![no_main]
gort::main!(main);

extern crate alloc;
use alloc::string::String;
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

/// The last path component of argv[0] (either separator), minus a `.exe` suffix.
fn base_name(p: &[u8]) -> &[u8] {
    let start = p.iter().rposition(|&c| c == b'/' || c == b'\\').map_or(0, |i| i + 1);
    let b = &p[start..];
    b.strip_suffix(b".exe").unwrap_or(b)
}

fn main() {
    let args = gort::os::args();
    gort::println!("argc={}", args.len());
    for (i, a) in args.iter().enumerate() {
        let a = if i == 0 { base_name(a) } else { a };
        gort::println!("[{}] {}", i, escape(a));
    }
}
