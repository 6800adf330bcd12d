//! Paths for the OS: the byte strings `gort::fs` takes, turned into what the OS's calls want,
//! without allocating when they are short: a NUL-terminated byte string on unix
//! ([`with_cstr`]), a NUL-terminated UTF-16 string on windows ([`with_wide`], from UTF-8 or the
//! WTF-8 that `gort::os::args` gives on windows). A path with a NUL inside, or one that is not
//! (W)UTF-8 on windows, is an `InvalidInput` error, never a truncated path. Unit-tested on every
//! host.

use alloc::vec::Vec;

use crate::io::{Error, ErrorKind};

/// Paths up to this many bytes (with the NUL) are converted in a stack buffer; longer ones in a
/// Vec. Small enough for a goroutine on a 2 KB stack to open a file.
const STACK_PATH: usize = 256;

/// The error for a path with a NUL byte inside (std's wording).
pub const NUL_IN_PATH: Error = Error::new(ErrorKind::InvalidInput, "file name contained an unexpected NUL byte");

/// The error for a windows path that is not UTF-8 (or WTF-8).
pub const NOT_UTF8_PATH: Error = Error::new(ErrorKind::InvalidInput, "path is not valid UTF-8");

/// Calls `f` with `path` as a NUL-terminated C string; `InvalidInput` if `path` holds a NUL.
#[cfg(any(unix, test))]
pub fn with_cstr<R>(path: &[u8], f: impl FnOnce(*const u8) -> R) -> Result<R, Error> {
    if path.contains(&0) {
        return Err(NUL_IN_PATH);
    }
    if path.len() < STACK_PATH {
        let mut buf = [0u8; STACK_PATH];
        buf[..path.len()].copy_from_slice(path);
        Ok(f(buf.as_ptr()))
    } else {
        let mut v = Vec::with_capacity(path.len() + 1);
        v.extend_from_slice(path);
        v.push(0);
        Ok(f(v.as_ptr()))
    }
}

/// Calls `f` with `path` (UTF-8, or WTF-8: unpaired surrogates encoded as 3-byte sequences, as
/// windows file names may hold them) as a NUL-terminated UTF-16 string; `InvalidInput` for a NUL
/// inside or bytes that are not (W)UTF-8.
#[cfg(any(windows, test))]
pub fn with_wide<R>(path: &[u8], f: impl FnOnce(*const u16) -> R) -> Result<R, Error> {
    let mut stack = [0u16; STACK_PATH];
    let mut heap = Vec::new();
    // UTF-16 never needs more units than UTF-8 has bytes.
    let buf: &mut [u16] = if path.len() < STACK_PATH {
        &mut stack
    } else {
        heap.resize(path.len() + 1, 0u16);
        &mut heap
    };
    let n = wtf8_to_utf16(path, buf)?;
    buf[n] = 0;
    Ok(f(buf.as_ptr()))
}

/// Decodes (W)UTF-8 `s` into `out` (at least `s.len()` units long); the number of units written.
#[cfg(any(windows, test))]
fn wtf8_to_utf16(s: &[u8], out: &mut [u16]) -> Result<usize, Error> {
    let (mut i, mut n) = (0, 0);
    while i < s.len() {
        let b = s[i];
        let (len, min, init) = match b {
            0 => return Err(NUL_IN_PATH),
            0x01..=0x7f => (1, 0, b as u32),
            0xc2..=0xdf => (2, 0x80, (b & 0x1f) as u32),
            0xe0..=0xef => (3, 0x800, (b & 0x0f) as u32),
            0xf0..=0xf4 => (4, 0x10000, (b & 0x07) as u32),
            _ => return Err(NOT_UTF8_PATH),
        };
        let tail = s.get(i + 1..i + len).ok_or(NOT_UTF8_PATH)?;
        let mut c = init;
        for &t in tail {
            if t & 0xc0 != 0x80 {
                return Err(NOT_UTF8_PATH);
            }
            c = (c << 6) | (t & 0x3f) as u32;
        }
        if c < min || c > 0x10ffff {
            return Err(NOT_UTF8_PATH); // overlong or out of range
        }
        i += len;
        if c >= 0x10000 {
            let c = c - 0x10000;
            out[n] = 0xd800 | (c >> 10) as u16;
            out[n + 1] = 0xdc00 | (c & 0x3ff) as u16;
            n += 2;
        } else {
            out[n] = c as u16; // a surrogate here is WTF-8's unpaired one: kept as is
            n += 1;
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cstr(p: &[u8]) -> Result<Vec<u8>, Error> {
        // SAFETY: with_cstr hands a NUL-terminated string that lives for the call.
        with_cstr(p, |c| unsafe { core::ffi::CStr::from_ptr(c.cast()) }.to_bytes_with_nul().to_vec())
    }

    fn wide(p: &[u8]) -> Result<Vec<u16>, Error> {
        with_wide(p, |w| {
            let mut v = Vec::new();
            let mut i = 0;
            // SAFETY: with_wide hands a NUL-terminated string that lives for the call.
            while unsafe { *w.add(i) } != 0 {
                v.push(unsafe { *w.add(i) });
                i += 1;
            }
            v
        })
    }

    #[test]
    fn cstr_short_long_and_nul() {
        assert_eq!(cstr(b"/tmp/x").unwrap(), b"/tmp/x\0");
        assert_eq!(cstr(b"").unwrap(), b"\0");
        for len in [STACK_PATH - 2, STACK_PATH - 1, STACK_PATH, 5000] {
            let p = alloc::vec![b'a'; len];
            let c = cstr(&p).unwrap();
            assert_eq!(c.len(), len + 1);
            assert_eq!(&c[..len], &p[..]);
        }
        assert_eq!(cstr(b"a\0b").unwrap_err().kind(), ErrorKind::InvalidInput);
        assert_eq!(cstr(&alloc::vec![0u8; 1000]).unwrap_err().kind(), ErrorKind::InvalidInput);
    }

    #[test]
    fn wide_matches_std_and_rejects_bad_input() {
        for s in ["C:\\tmp\\x", "", "ascii", "é ü", "日本語\\ファイル", "😀/x", &"z".repeat(3000)] {
            let want: Vec<u16> = s.encode_utf16().collect();
            assert_eq!(wide(s.as_bytes()).unwrap(), want, "{s:?}");
        }
        // WTF-8: an unpaired surrogate (ED A0 80 = U+D800) round-trips.
        assert_eq!(wide(b"a\xed\xa0\x80").unwrap(), [b'a' as u16, 0xd800]);
        for bad in [&b"a\0b"[..], b"\xff", b"\xc0\x80", b"\xe2\x82", b"\xf5\x80\x80\x80", b"\x80", b"\xe0\x80\x80"] {
            assert_eq!(wide(bad).unwrap_err().kind(), ErrorKind::InvalidInput, "{bad:?}");
        }
    }
}
