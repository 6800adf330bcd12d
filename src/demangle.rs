//! Rust symbol names as a traceback prints them: the legacy (`_ZN…E`) and v0 (`_R…`) manglings
//! turned back into paths, without the hash (what `rustc-demangle`'s `{:#}` prints). Go has no
//! counterpart (its symbol names are already `pkg.Func`); this is the demangling half of
//! symtab.go's `funcname` for Rust programs.
//!
//! Why not `rustc-demangle`: it carried ~20 KB into every program (a stripped hello is ~216 KB
//! against an aim of 64 KiB, issue 22), most of it v0 printing of consts, string literals and
//! punycode that a runtime's traceback never meets. Both manglings are needed: the user's crates
//! and gort use the toolchain's default (legacy), while the precompiled `core` and `alloc` are
//! v0. What is not handled here (punycode identifiers, v0 consts other than integers, `bool`,
//! plain ASCII `char` and `_`, a v0 encoding version) makes the whole name print raw, as an
//! unknown symbol does. The unit tests compare the output with `rustc-demangle`'s on every symbol
//! of the test binary.

use core::fmt::{self, Write};

/// Writes `sym` demangled without the hash, or as it is if it is not a Rust name this module
/// reads. A `.llvm.HEX` tail is dropped and a `.word` tail kept, as `rustc-demangle` does.
pub fn write(w: &mut impl Write, sym: &str) -> fmt::Result {
    let mut s = sym;
    // (Byte loops, not str::find: its searchers are a few KB in every program.)
    if let Some(i) = s.as_bytes().windows(6).position(|w| w == b".llvm.") {
        if sub(s, i + 6..).bytes().all(|c| matches!(c, b'A'..=b'F' | b'0'..=b'9' | b'@')) {
            s = sub(s, ..i);
        }
    }
    if let Some((inner, elements, suffix)) = legacy(s) {
        if suffix.is_empty() || symbol_like_suffix(suffix) {
            legacy_write(w, inner, elements)?;
            return w.write_str(suffix);
        }
    } else if let Some(inner) = s.strip_prefix("_R").or_else(|| s.strip_prefix("R")).or_else(|| s.strip_prefix("__R")) {
        if let Some(end) = v0_check(inner) {
            let suffix = sub(inner, end..);
            if suffix.is_empty() || symbol_like_suffix(suffix) {
                let mut p = V0 { s: inner, pos: 0, depth: 0, lifetimes: 0, steps: 0, out: Some(w as &mut dyn Write) };
                p.path(true).map_err(|_| fmt::Error)?;
                return p.out.take().map_or(Ok(()), |w| w.write_str(suffix));
            }
        }
    }
    w.write_str(s)
}

/// `&s[r]`, or "" if `r` is out of bounds or not on char boundaries (which the callers rule out:
/// the names are ASCII and the ranges checked): the indexing operator would pull core's
/// slice-error formatting (~1 KB) into every program for a panic that cannot happen.
fn sub<R: core::slice::SliceIndex<str, Output = str>>(s: &str, r: R) -> &str {
    s.get(r).unwrap_or("")
}

/// A tail such as `.77` or `.cold` that LLVM appended: printed after the demangled name.
fn symbol_like_suffix(s: &str) -> bool {
    s.starts_with('.') && s.bytes().all(|c| c.is_ascii_alphanumeric() || c.is_ascii_punctuation())
}

// --- legacy: _ZN <len><element>... E ---

/// The elements between `_ZN` and `E`, how many there are, and what follows the `E`.
fn legacy(s: &str) -> Option<(&str, usize, &str)> {
    let inner = if s.len() > 2 && s.starts_with("_ZN") {
        sub(s, 3..)
    } else if s.len() > 1 && s.starts_with("ZN") {
        sub(s, 2..)
    } else if s.len() > 3 && s.starts_with("__ZN") {
        sub(s, 4..)
    } else {
        return None;
    };
    if !ascii(inner) {
        return None;
    }
    let b = inner.as_bytes();
    let (mut i, mut elements) = (0, 0);
    loop {
        match b.get(i)? {
            b'E' => return Some((inner, elements, sub(inner, i + 1..))),
            b'0'..=b'9' => {
                let mut len = 0usize;
                while let Some(d @ b'0'..=b'9') = b.get(i) {
                    len = len.checked_mul(10)?.checked_add((d - b'0') as usize)?;
                    i += 1;
                }
                i = i.checked_add(len)?;
                if i >= b.len() {
                    return None;
                }
                elements += 1;
            }
            _ => return None,
        }
    }
}

/// Whether a legacy element is the hash (`h` and hex digits), which is not printed.
fn is_rust_hash(e: &str) -> bool {
    e.starts_with('h') && sub(e, 1..).bytes().all(|c| c.is_ascii_hexdigit())
}

fn legacy_write(w: &mut impl Write, mut inner: &str, elements: usize) -> fmt::Result {
    for element in 0..elements {
        let digits = inner.bytes().take_while(u8::is_ascii_digit).count();
        let len = sub(inner, ..digits).bytes().fold(0usize, |n, d| n * 10 + (d - b'0') as usize);
        let mut rest = sub(inner, digits..digits + len);
        inner = sub(inner, digits + len..);
        if element + 1 == elements && is_rust_hash(rest) {
            break;
        }
        if element != 0 {
            w.write_str("::")?;
        }
        if rest.starts_with("_$") {
            rest = sub(rest, 1..);
        }
        loop {
            if let Some(r) = rest.strip_prefix("..") {
                w.write_str("::")?;
                rest = r;
            } else if let Some(r) = rest.strip_prefix('.') {
                w.write_char('.')?;
                rest = r;
            } else if let Some(r) = rest.strip_prefix('$') {
                let Some(end) = r.bytes().position(|c| c == b'$') else { break };
                let (escape, after) = (sub(r, ..end), sub(r, end + 1..));
                match escape {
                    "SP" => w.write_char('@')?,
                    "BP" => w.write_char('*')?,
                    "RF" => w.write_char('&')?,
                    "LT" => w.write_char('<')?,
                    "GT" => w.write_char('>')?,
                    "LP" => w.write_char('(')?,
                    "RP" => w.write_char(')')?,
                    "C" => w.write_char(',')?,
                    _ => match unicode_escape(escape) {
                        Some(c) => w.write_char(c)?,
                        None => break,
                    },
                }
                rest = after;
            } else if let Some(i) = rest.bytes().position(|c| c == b'$' || c == b'.') {
                w.write_str(sub(rest, ..i))?;
                rest = sub(rest, i..);
            } else {
                break;
            }
        }
        w.write_str(rest)?;
    }
    Ok(())
}

/// `u7e` (lowercase hex) as a character that is not a control character.
fn unicode_escape(e: &str) -> Option<char> {
    let digits = e.strip_prefix('u')?;
    if digits.is_empty() || !digits.bytes().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    let c = char::from_u32(u32::from_str_radix(digits, 16).ok()?)?;
    (!c.is_control()).then_some(c)
}

/// `s.is_ascii()`, one copy: core's word-at-a-time loop was inlined at both callers (~400
/// bytes each; issue 22), and a name is short.
#[inline(never)]
fn ascii(s: &str) -> bool {
    s.bytes().all(|b| b < 0x80)
}

// --- v0: _R <path> [<instantiating-crate>] ---

/// Where the v0 name in `inner` (after `_R`) ends, if it is one this module can print.
fn v0_check(inner: &str) -> Option<usize> {
    if inner.bytes().next()?.is_ascii_digit() || !ascii(inner) {
        return None; // an encoding version: not one rustc emits today
    }
    let mut p = V0 { s: inner, pos: 0, depth: 0, lifetimes: 0, steps: 0, out: None };
    p.path(false).ok()?;
    if p.peek().is_some_and(|c| c.is_ascii_uppercase()) {
        p.path(false).ok()?; // the instantiating crate, not printed
    }
    Some(p.pos)
}

/// A name that cannot be read (or a failed write).
struct Bad;

/// The v0 parser and printer in one pass: with `out` None it only checks.
struct V0<'a, 'w> {
    /// The name after `_R`, all ASCII (checked first), so every byte position is a char
    /// boundary.
    s: &'a str,
    pos: usize,
    /// Nesting of paths and types (backrefs can loop): bounded so a hostile name cannot overflow
    /// the dying thread's stack.
    depth: u32,
    /// Lifetimes bound by the enclosing `for<...>` binders.
    lifetimes: u64,
    /// Paths, types and consts read so far: backrefs can make a short name print at length
    /// exponential in its own, so reading stops after MAX_STEPS. The check and the printing
    /// read the same way, so a name that passed the check prints whole.
    steps: u32,
    out: Option<&'w mut dyn Write>,
}

/// Deepest nesting read (rustc-demangle allows 500; runtime frames nest a few levels).
const MAX_DEPTH: u32 = 100;
/// Most paths, types and consts one name may print (a traceback shows 256 bytes of a name).
const MAX_STEPS: u32 = 1000;

impl<'a> V0<'a, '_> {
    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.pos).copied()
    }

    // Out of line, as print below: 31 inlined copies (issue 22).
    #[inline(never)]
    fn eat(&mut self, c: u8) -> bool {
        let yes = self.peek() == Some(c);
        self.pos += yes as usize;
        yes
    }

    #[inline(never)]
    fn next(&mut self) -> Result<u8, Bad> {
        let c = self.peek().ok_or(Bad)?;
        self.pos += 1;
        Ok(c)
    }

    // (print and print_char are kept out of line: inlined, each of their ~80 call sites
    // grows by its own copy of the dyn call and the error mapping.)
    #[inline(never)]
    fn print(&mut self, s: &str) -> Result<(), Bad> {
        match &mut self.out {
            Some(w) => w.write_str(s).map_err(|_| Bad),
            None => Ok(()),
        }
    }

    #[inline(never)]
    fn print_char(&mut self, c: u8) -> Result<(), Bad> {
        match &mut self.out {
            Some(w) => w.write_char(c as char).map_err(|_| Bad),
            None => Ok(()),
        }
    }

    fn print_u64(&mut self, n: u64) -> Result<(), Bad> {
        if n >= 10 {
            self.print_u64(n / 10)?;
        }
        self.print_char(b'0' + (n % 10) as u8)
    }

    /// `{0-9a-zA-Z} _`: 0 for a bare `_`, else the base-62 value plus 1.
    #[inline(never)]
    fn base62(&mut self) -> Result<u64, Bad> {
        if self.eat(b'_') {
            return Ok(0);
        }
        let mut x: u64 = 0;
        loop {
            let d = match self.next()? {
                b'_' => break,
                c @ b'0'..=b'9' => c - b'0',
                c @ b'a'..=b'z' => 10 + c - b'a',
                c @ b'A'..=b'Z' => 36 + c - b'A',
                _ => return Err(Bad),
            };
            x = x.checked_mul(62).and_then(|x| x.checked_add(d as u64)).ok_or(Bad)?;
        }
        x.checked_add(1).ok_or(Bad)
    }

    /// `[s <base62>]`.
    fn disambiguator(&mut self) -> Result<u64, Bad> {
        if self.eat(b's') {
            self.base62()?.checked_add(1).ok_or(Bad)
        } else {
            Ok(0)
        }
    }

    /// `<decimal> [_] <bytes>` (a `u` punycode identifier is not read).
    fn ident(&mut self) -> Result<&'a str, Bad> {
        if self.peek() == Some(b'u') {
            return Err(Bad);
        }
        let mut len = 0usize;
        match self.peek() {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                while let Some(d @ b'0'..=b'9') = self.peek() {
                    len = len.checked_mul(10).and_then(|n| n.checked_add((d - b'0') as usize)).ok_or(Bad)?;
                    self.pos += 1;
                }
            }
            _ => return Err(Bad),
        }
        self.eat(b'_');
        let end = self.pos.checked_add(len).filter(|&e| e <= self.s.len()).ok_or(Bad)?;
        let s: &'a str = self.s;
        let id = sub(s, self.pos..end);
        self.pos = end;
        Ok(id)
    }

    /// Runs `f` at the position a `B<base62>` backref names, then comes back.
    fn backref(&mut self, f: impl FnOnce(&mut Self) -> Result<(), Bad>) -> Result<(), Bad> {
        let start = self.pos - 1;
        let to = usize::try_from(self.base62()?).map_err(|_| Bad)?;
        if to >= start {
            return Err(Bad); // backrefs point strictly backwards
        }
        let back = core::mem::replace(&mut self.pos, to);
        let r = f(self);
        self.pos = back;
        r
    }

    fn enter(&mut self) -> Result<(), Bad> {
        self.depth += 1;
        self.steps += 1;
        if self.depth > MAX_DEPTH || self.steps > MAX_STEPS {
            return Err(Bad);
        }
        Ok(())
    }

    /// A path; `in_value` puts `::` before generic arguments (a function's, not a type's).
    fn path(&mut self, in_value: bool) -> Result<(), Bad> {
        self.enter()?;
        match self.next()? {
            b'C' => {
                self.disambiguator()?;
                let name = self.ident()?;
                self.print(name)?;
            }
            b'N' => {
                let ns = self.next()?;
                self.path(in_value)?;
                let dis = self.disambiguator()?;
                let name = self.ident()?;
                match ns {
                    b'A'..=b'Z' => {
                        self.print("::{")?;
                        match ns {
                            b'C' => self.print("closure")?,
                            b'S' => self.print("shim")?,
                            _ => self.print_char(ns)?,
                        }
                        if !name.is_empty() {
                            self.print(":")?;
                            self.print(name)?;
                        }
                        self.print("#")?;
                        self.print_u64(dis)?;
                        self.print("}")?;
                    }
                    b'a'..=b'z' => {
                        if !name.is_empty() {
                            self.print("::")?;
                            self.print(name)?;
                        }
                    }
                    _ => return Err(Bad),
                }
            }
            c @ (b'M' | b'X' | b'Y') => {
                if c != b'Y' {
                    // The impl's own path is not printed.
                    self.disambiguator()?;
                    let out = self.out.take();
                    let r = self.path(false);
                    self.out = out;
                    r?;
                }
                self.print("<")?;
                self.ty()?;
                if c != b'M' {
                    self.print(" as ")?;
                    self.path(false)?;
                }
                self.print(">")?;
            }
            b'I' => {
                self.path(in_value)?;
                if in_value {
                    self.print("::")?;
                }
                self.print("<")?;
                self.generic_args()?;
                self.print(">")?;
            }
            b'B' => self.backref(|p| p.path(in_value))?,
            _ => return Err(Bad),
        }
        self.depth -= 1;
        Ok(())
    }

    /// `{<generic-arg>} E`, separated by `, `.
    fn generic_args(&mut self) -> Result<(), Bad> {
        let mut i = 0;
        while !self.eat(b'E') {
            if i > 0 {
                self.print(", ")?;
            }
            i += 1;
            if self.eat(b'L') {
                let lt = self.base62()?;
                self.lifetime(lt)?;
            } else if self.eat(b'K') {
                self.konst()?;
            } else {
                self.ty()?;
            }
        }
        Ok(())
    }

    /// Bound lifetime `lt` (1-based from the innermost binder): `'a`, `'b`, …; 0 is `'_`.
    fn lifetime(&mut self, lt: u64) -> Result<(), Bad> {
        if lt == 0 {
            return self.print("'_");
        }
        let depth = self.lifetimes.checked_sub(lt).ok_or(Bad)?;
        if depth < 26 {
            self.print_char(b'\'')?;
            self.print_char(b'a' + depth as u8)
        } else {
            self.print("'_")?;
            self.print_u64(depth)
        }
    }

    /// `[G <base62>]`: prints `for<'a, …> ` and binds those lifetimes; returns the count of
    /// lifetimes bound outside, which the caller restores when the binder's scope ends.
    fn binder(&mut self) -> Result<u64, Bad> {
        let n = if self.eat(b'G') { self.base62()? + 1 } else { 0 };
        let outer = self.lifetimes;
        if n > 0 {
            self.print("for<")?;
            for i in 0..n {
                if i > 0 {
                    self.print(", ")?;
                }
                self.lifetimes = self.lifetimes.checked_add(1).ok_or(Bad)?;
                self.lifetime(1)?;
            }
            self.print("> ")?;
        }
        Ok(outer)
    }

    /// `{<type>} E`, separated by `sep`: how many.
    fn types(&mut self, sep: &str) -> Result<usize, Bad> {
        let mut n = 0;
        while !self.eat(b'E') {
            if n > 0 {
                self.print(sep)?;
            }
            n += 1;
            self.ty()?;
        }
        Ok(n)
    }

    fn ty(&mut self) -> Result<(), Bad> {
        self.enter()?;
        let c = self.next()?;
        if let Some(name) = basic_type(c) {
            self.print(name)?;
            self.depth -= 1;
            return Ok(());
        }
        match c {
            b'R' | b'Q' => {
                self.print("&")?;
                if self.eat(b'L') {
                    let lt = self.base62()?;
                    if lt != 0 {
                        self.lifetime(lt)?;
                        self.print(" ")?;
                    }
                }
                if c == b'Q' {
                    self.print("mut ")?;
                }
                self.ty()?;
            }
            b'P' | b'O' => {
                self.print(if c == b'P' { "*const " } else { "*mut " })?;
                self.ty()?;
            }
            b'A' | b'S' => {
                self.print("[")?;
                self.ty()?;
                if c == b'A' {
                    self.print("; ")?;
                    self.konst()?;
                }
                self.print("]")?;
            }
            b'T' => {
                self.print("(")?;
                if self.types(", ")? == 1 {
                    self.print(",")?;
                }
                self.print(")")?;
            }
            b'F' => {
                let outer = self.binder()?;
                if self.eat(b'U') {
                    self.print("unsafe ")?;
                }
                if self.eat(b'K') {
                    self.print("extern \"")?;
                    if self.eat(b'C') {
                        self.print("C")?;
                    } else {
                        // The ABI's `-`s were mangled as `_`.
                        let mut rest = self.ident()?;
                        while let Some(i) = rest.bytes().position(|c| c == b'_') {
                            self.print(sub(rest, ..i))?;
                            self.print("-")?;
                            rest = sub(rest, i + 1..);
                        }
                        self.print(rest)?;
                    }
                    self.print("\" ")?;
                }
                self.print("fn(")?;
                self.types(", ")?;
                self.print(")")?;
                if !self.eat(b'u') {
                    self.print(" -> ")?;
                    self.ty()?;
                }
                self.lifetimes = outer;
            }
            b'D' => {
                self.print("dyn ")?;
                let outer = self.binder()?;
                let mut n = 0;
                while !self.eat(b'E') {
                    if n > 0 {
                        self.print(" + ")?;
                    }
                    n += 1;
                    self.dyn_trait()?;
                }
                self.lifetimes = outer;
                if !self.eat(b'L') {
                    return Err(Bad);
                }
                let lt = self.base62()?;
                if lt != 0 {
                    self.print(" + ")?;
                    self.lifetime(lt)?;
                }
            }
            b'B' => self.backref(|p| p.ty())?,
            _ => {
                self.pos -= 1;
                self.path(false)?;
            }
        }
        self.depth -= 1;
        Ok(())
    }

    /// A trait in `dyn`: its path, then `<Assoc = T>` bindings (inside its generics if it has
    /// any).
    fn dyn_trait(&mut self) -> Result<(), Bad> {
        let mut open = self.path_open_generics()?;
        while self.eat(b'p') {
            self.print(if open { ", " } else { "<" })?;
            open = true;
            let name = self.ident()?;
            self.print(name)?;
            self.print(" = ")?;
            self.ty()?;
        }
        if open {
            self.print(">")?;
        }
        Ok(())
    }

    /// A path whose generic arguments, if any, are left open (no `>`): whether they are.
    fn path_open_generics(&mut self) -> Result<bool, Bad> {
        if self.eat(b'B') {
            let mut open = false;
            self.backref(|p| {
                open = p.path_open_generics()?;
                Ok(())
            })?;
            Ok(open)
        } else if self.eat(b'I') {
            self.enter()?;
            self.path(false)?;
            self.print("<")?;
            self.generic_args()?;
            self.depth -= 1;
            Ok(true)
        } else {
            self.path(false)?;
            Ok(false)
        }
    }

    /// A const generic argument: an integer, `bool`, an ASCII `char` or `_`.
    fn konst(&mut self) -> Result<(), Bad> {
        self.enter()?;
        match self.next()? {
            b'p' => self.print("_")?,
            b'B' => self.backref(|p| p.konst())?,
            ty @ (b'a' | b'b' | b'c' | b'h' | b'i' | b'j' | b'l' | b'm' | b'n' | b'o' | b's' | b't' | b'x' | b'y') => {
                let neg = self.eat(b'n');
                let start = self.pos;
                while self.peek().is_some_and(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()) {
                    self.pos += 1;
                }
                let hex = &self.s.as_bytes()[start..self.pos];
                if !self.eat(b'_') {
                    return Err(Bad);
                }
                let v = hex.iter().try_fold(0u64, |v, &c| {
                    let d = (c as char).to_digit(16)? as u64;
                    v.checked_mul(16)?.checked_add(d)
                });
                let v = v.ok_or(Bad)?; // past u64: printed in hex by rustc-demangle, raw here
                match ty {
                    b'b' if !neg && v <= 1 => self.print(if v == 1 { "true" } else { "false" })?,
                    b'c' if !neg => {
                        let c = u8::try_from(v).map_err(|_| Bad)?;
                        if !c.is_ascii_graphic() && c != b' ' || c == b'\'' || c == b'\\' {
                            return Err(Bad);
                        }
                        self.print_char(b'\'')?;
                        self.print_char(c)?;
                        self.print_char(b'\'')?;
                    }
                    b'b' | b'c' => return Err(Bad),
                    _ => {
                        if neg {
                            self.print("-")?;
                        }
                        self.print_u64(v)?;
                    }
                }
            }
            _ => return Err(Bad),
        }
        self.depth -= 1;
        Ok(())
    }
}

/// The one-letter v0 types.
fn basic_type(c: u8) -> Option<&'static str> {
    Some(match c {
        b'a' => "i8",
        b'b' => "bool",
        b'c' => "char",
        b'd' => "f64",
        b'e' => "str",
        b'f' => "f32",
        b'h' => "u8",
        b'i' => "isize",
        b'j' => "usize",
        b'l' => "i32",
        b'm' => "u32",
        b'n' => "i128",
        b'o' => "u128",
        b's' => "i16",
        b't' => "u16",
        b'u' => "()",
        b'v' => "...",
        b'x' => "i64",
        b'y' => "u64",
        b'z' => "!",
        b'p' => "_",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::write;
    use std::string::String;
    use std::vec::Vec;

    fn ours(sym: &str) -> String {
        let mut s = String::new();
        write(&mut s, sym).unwrap();
        s
    }

    fn theirs(sym: &str) -> String {
        std::format!("{:#}", rustc_demangle::demangle(sym))
    }

    #[test]
    fn known_names() {
        for (sym, want) in [
            ("_ZN4core9panicking9panic_fmt17h0123456789abcdefE", "core::panicking::panic_fmt"),
            ("_ZN4gort4proc8schedule8schedule17h1b2c3d4e5f607182E", "gort::proc::schedule::schedule"),
            (
                "_ZN60_$LT$gort..alg..CpuDisplay$u20$as$u20$core..fmt..Display$GT$3fmt17h0123456789abcdefE",
                "<gort::alg::CpuDisplay as core::fmt::Display>::fmt",
            ),
            ("_ZN4main4main28_$u7b$$u7b$closure$u7d$$u7d$17h0123456789abcdefE", "main::main::{{closure}}"),
            ("_ZN4core3ptr13drop_in_place17h0123456789abcdefE.llvm.12AB", "core::ptr::drop_in_place"),
            ("_RNvMNtNtCsgEmfK2I1SDS_4core4char7methodsc16escape_debug_ext.77", "<char>::escape_debug_ext.77"),
            ("_RNvCsfLfy6EI15iL_7___rustc17rust_begin_unwind", "__rustc::rust_begin_unwind"),
            ("_RNvNtCs1234_4core9panicking9panic_fmt", "core::panicking::panic_fmt"),
            ("_RINvNtCs1234_4core3ptr13drop_in_placeRShEB4_", "core::ptr::drop_in_place::<&[u8]>"),
            ("_RNCNvCs1234_4main4mains_0_", "main::main::{closure#1}"),
            ("_RINvCs1234_4main1fKj2a_EB2_", "main::f::<42>"),
            ("_RINvCs1234_4main1fKb1_EB2_", "main::f::<true>"),
            ("_RINvCs1234_4main1fFG_KCRL0_hEuEB2_", "main::f::<for<'a> extern \"C\" fn(&'a u8)>"),
            ("_RINvCs1234_4main1fDNtCs1234_4core3AnyEL_EB2_", "main::f::<dyn core::Any>"),
            ("memcpy", "memcpy"),
            ("_ZN3fooE.bar baz", "_ZN3fooE.bar baz"),
            ("_RNvCs1234_4main1f_garbage", "_RNvCs1234_4main1f_garbage"),
        ] {
            assert_eq!(ours(sym), want, "{sym}");
            assert_eq!(theirs(sym), want, "rustc-demangle on {sym}");
        }
    }

    /// Hostile names are printed raw, without recursing deeply, reading out of bounds or
    /// taking time exponential in their length.
    #[test]
    fn hostile_names_print_raw() {
        // 5000 nested `&`: past MAX_DEPTH.
        let deep = std::format!("_RINvC1a1f{}hE", "R".repeat(5000));
        // Each generic argument a pair of the previous one, by backrefs: 2^40 types to print.
        let mut exp = String::from("INvC1a1f");
        let mut prev = exp.len();
        exp.push_str("Thh");
        exp.push('E');
        for _ in 0..40 {
            let at = exp.len();
            let b = std::format!("B{}", base62(prev));
            exp.push('T');
            exp.push_str(&b);
            exp.push_str(&b);
            exp.push('E');
            prev = at;
        }
        exp.push('E');
        let exp = std::format!("_R{exp}");
        for sym in ["_RB_", "_RNvB0_1a", "_RC", "_R", "_RNvC99999999999999999999a1b", &deep, &exp] {
            assert_eq!(ours(sym), sym);
        }
        // The same shape 3 levels deep is fine (and rustc-demangle agrees).
        let small = "_RINvC1a1fThhETB7_B7_EE";
        assert_eq!(ours(small), "a::f::<(u8, u8), ((u8, u8), (u8, u8))>");
        assert_eq!(ours(small), theirs(small));
        // Not ASCII: neither manglings allows it (rustc-demangle agrees).
        for sym in ["_ZN4f\u{e9}o3barE", "_RNvC4f\u{e9}o3bar"] {
            assert_eq!(ours(sym), sym);
            assert_eq!(theirs(sym), sym);
        }
    }

    /// A backref's position as v0 writes it.
    fn base62(n: usize) -> String {
        if n == 0 {
            return "_".into();
        }
        let (mut x, mut d) = (n - 1, Vec::new());
        loop {
            d.push(b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"[x % 62]);
            x /= 62;
            if x == 0 {
                break;
            }
        }
        d.reverse();
        String::from_utf8(d).unwrap() + "_"
    }

    /// Every symbol of this test binary (std, core, alloc in v0 or legacy, gort's in legacy)
    /// demangles as rustc-demangle prints it, or, for what this module leaves out, raw.
    #[test]
    #[cfg_attr(miri, ignore = "runs nm on the test binary: not under Miri")]
    fn every_symbol_of_the_test_binary_matches_rustc_demangle() {
        let exe = std::env::current_exe().unwrap();
        let out = std::process::Command::new("nm").arg(&exe).output().expect("nm (binutils) must be installed");
        assert!(out.status.success());
        let text = String::from_utf8(out.stdout).unwrap();
        let syms: Vec<&str> = text.lines().filter_map(|l| l.split_whitespace().last()).collect();
        let (mut same, mut raw, mut v0) = (0, 0, 0);
        for sym in &syms {
            let (o, t) = (ours(sym), theirs(sym));
            if o == t {
                same += 1;
                v0 += sym.starts_with("_R") as usize;
            } else {
                assert_eq!(o, *sym, "differs from rustc-demangle's {t:?} and is not raw");
                raw += 1;
            }
        }
        std::eprintln!("{} symbols: {same} as rustc-demangle ({v0} v0), {raw} raw", syms.len());
        assert!(same > 1000 && v0 > 100, "too few names compared: {same} ({v0} v0)");
        assert!(raw * 100 <= syms.len(), "more than 1% printed raw: {raw} of {}", syms.len());
    }
}
