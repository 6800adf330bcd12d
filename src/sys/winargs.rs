//! Pure helpers of the windows OS layer, unit-tested on the host: splitting `GetCommandLineW`'s
//! line by the Windows (msvcrt / CommandLineToArgvW) rules and converting UTF-16 to WTF-8
//! (UTF-8, with unpaired surrogates encoded as their 3-byte sequences, as Rust's OsString does).

/// Calls `out(arg)` for each argument of a UTF-16 command line, in order (the rules of the
/// Microsoft C runtime since 2008): argv[0] ends at the first blank outside quotes and takes no
/// escapes; later, `2n` backslashes before `"` give `n` backslashes and toggle quoting, `2n+1`
/// give `n` and a literal `"`, `""` inside quotes is a literal `"`, other backslashes are literal.
/// `scratch` (at least `cmd.len()` long) holds the argument being built: no allocation, so this
/// runs before mallocinit.
pub fn split_command_line(cmd: &[u16], scratch: &mut [u16], mut out: impl FnMut(&[u16])) {
    const BACKSLASH: u16 = b'\\' as u16;
    const QUOTE: u16 = b'"' as u16;
    const SPACE: u16 = b' ' as u16;
    const TAB: u16 = b'\t' as u16;
    let blank = |c: u16| c == SPACE || c == TAB;
    let mut cur = Scratch { buf: scratch, len: 0 };
    let mut i = 0;
    // argv[0]: the program name.
    let mut in_quotes = false;
    while i < cmd.len() {
        let c = cmd[i];
        i += 1;
        if c == QUOTE {
            in_quotes = !in_quotes;
        } else if blank(c) && !in_quotes {
            break;
        } else {
            cur.push(c);
        }
    }
    out(cur.get());
    cur.clear();
    while i < cmd.len() && blank(cmd[i]) {
        i += 1;
    }
    let mut in_quotes = false;
    let mut started = false;
    let mut backslashes = 0usize;
    while i < cmd.len() {
        let c = cmd[i];
        i += 1;
        match c {
            _ if blank(c) && !in_quotes => {
                out(cur.get());
                cur.clear();
                started = false;
                backslashes = 0;
                while i < cmd.len() && blank(cmd[i]) {
                    i += 1;
                }
                continue;
            }
            BACKSLASH => {
                backslashes += 1;
                cur.push(c);
            }
            QUOTE => {
                if backslashes.is_multiple_of(2) {
                    cur.truncate(cur.len - backslashes / 2);
                    if in_quotes && cmd.get(i) == Some(&QUOTE) {
                        cur.push(QUOTE);
                        i += 1;
                    } else {
                        in_quotes = !in_quotes;
                    }
                } else {
                    cur.truncate(cur.len - backslashes / 2 - 1);
                    cur.push(QUOTE);
                }
                backslashes = 0;
            }
            _ => {
                cur.push(c);
                backslashes = 0;
            }
        }
        started = true;
    }
    if started {
        out(cur.get());
    }
}

/// A stack of u16 in a borrowed buffer (the argument being built).
struct Scratch<'a> {
    buf: &'a mut [u16],
    len: usize,
}

impl Scratch<'_> {
    fn push(&mut self, c: u16) {
        self.buf[self.len] = c;
        self.len += 1;
    }
    fn truncate(&mut self, n: usize) {
        self.len = self.len.min(n);
    }
    fn clear(&mut self) {
        self.len = 0;
    }
    fn get(&self) -> &[u16] {
        &self.buf[..self.len]
    }
}

/// Appends the WTF-8 encoding of UTF-16 `s` to `dst` (unpaired surrogates as 3-byte sequences).
pub fn wtf8_encode(s: &[u16], mut emit: impl FnMut(u8)) {
    let mut i = 0;
    while i < s.len() {
        let u = s[i] as u32;
        i += 1;
        let c = if (0xD800..0xDC00).contains(&u) && i < s.len() && (0xDC00..0xE000).contains(&(s[i] as u32)) {
            let lo = s[i] as u32;
            i += 1;
            0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00)
        } else {
            u
        };
        match c {
            0..=0x7F => emit(c as u8),
            0x80..=0x7FF => [0xC0 | (c >> 6) as u8, 0x80 | (c & 0x3F) as u8].into_iter().for_each(&mut emit),
            0x800..=0xFFFF => [0xE0 | (c >> 12) as u8, 0x80 | ((c >> 6) & 0x3F) as u8, 0x80 | (c & 0x3F) as u8]
                .into_iter()
                .for_each(&mut emit),
            _ => [
                0xF0 | (c >> 18) as u8,
                0x80 | ((c >> 12) & 0x3F) as u8,
                0x80 | ((c >> 6) & 0x3F) as u8,
                0x80 | (c & 0x3F) as u8,
            ]
            .into_iter()
            .for_each(&mut emit),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::String;
    use alloc::vec::Vec;

    fn split(s: &str) -> Vec<String> {
        let w: Vec<u16> = s.encode_utf16().collect();
        let mut v = Vec::new();
        let mut scratch = alloc::vec![0u16; w.len()];
        split_command_line(&w, &mut scratch, |a| v.push(String::from_utf16(a).unwrap()));
        v
    }

    #[test]
    fn command_lines() {
        assert_eq!(split(r#"C:\p\x.exe a b"#), ["C:\\p\\x.exe", "a", "b"]);
        assert_eq!(split(r#""C:\my dir\x.exe" "b c" d"#), ["C:\\my dir\\x.exe", "b c", "d"]);
        assert_eq!(split(r#"x a "" "b c" """#), ["x", "a", "", "b c", ""]);
        assert_eq!(
            split(r#"x "q\"uote" back\\slash a\\\"b c\\\\"d e""#),
            ["x", "q\"uote", "back\\\\slash", "a\\\"b", "c\\\\d e"]
        );
        assert_eq!(split("x \"tab\there\"  \t lead"), ["x", "tab\there", "lead"]);
        assert_eq!(split(r#"x "a""b" c"#), ["x", "a\"b", "c"]);
        assert_eq!(split("x"), ["x"]);
        assert_eq!(split("x   "), ["x"]);
        assert_eq!(split(""), [""]);
    }

    #[test]
    fn wtf8() {
        let mut v = Vec::new();
        wtf8_encode(&"aé€😀".encode_utf16().collect::<Vec<u16>>(), |b| v.push(b));
        assert_eq!(v, "aé€😀".as_bytes());
        let mut v = Vec::new();
        wtf8_encode(&[0xD800, b'x' as u16, 0xDC01], |b| v.push(b));
        assert_eq!(v, [0xED, 0xA0, 0x80, b'x', 0xED, 0xB0, 0x81]);
    }
}
