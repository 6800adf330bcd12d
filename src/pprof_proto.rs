//! pprof's `profile.proto` (github.com/google/pprof/proto/profile.proto), written by hand (Go's
//! runtime/pprof/protobuf.go and the profileBuilder of proto.go): the CPU profile (cpuprof.rs)
//! and the heap profile (mprof.rs) are both a list of samples (a stack of addresses and a few
//! values each) that this file names and encodes. Uncompressed: `go tool pprof` reads a plain
//! profile as well as a gzipped one.
//!
//! Each distinct address becomes a Location (its runtime address, one Line naming its Function
//! and, when known, the source line); each distinct (function name, source file) a Function (its
//! name and file). The names come from the executable's `.symtab` (symtab.rs), read when the
//! profile is written, so `go tool pprof -top FILE` shows them without the binary; a Mapping
//! covering the whole address space says `has_functions` (and `has_filenames`,
//! `has_line_numbers` when lines are there) so pprof does not try to symbolize again. Without a
//! `.symtab` (a stripped program) the functions are named `0xADDR`. File and line come from the
//! program's DWARF line tables when gort is built with `traceback-lines` and the program carries
//! them (traceback/lines.rs; Go's pclntab gives Go's profiles the same); otherwise they stay
//! empty (filename "" and line 0), as pprof expects of an unknown line.

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;

/// Appends `v` as a protobuf varint.
fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Appends a field key: field number and wire type (0 varint, 2 length-delimited).
fn key(out: &mut Vec<u8>, field: u32, wire: u8) {
    varint(out, (field as u64) << 3 | wire as u64);
}

/// Appends a varint field (omitted when 0, as proto3 does).
fn uint(out: &mut Vec<u8>, field: u32, v: u64) {
    if v != 0 {
        key(out, field, 0);
        varint(out, v);
    }
}

/// Appends a length-delimited field.
fn bytes(out: &mut Vec<u8>, field: u32, b: &[u8]) {
    key(out, field, 2);
    varint(out, b.len() as u64);
    out.extend_from_slice(b);
}

/// Appends a packed repeated varint field.
fn packed(out: &mut Vec<u8>, field: u32, vs: impl Iterator<Item = u64>) {
    let mut body = Vec::new();
    for v in vs {
        varint(&mut body, v);
    }
    bytes(out, field, &body);
}

/// A sample type or the period type: (type, unit), e.g. ("cpu", "nanoseconds").
pub type ValueType = (&'static str, &'static str);

/// What a profile says about itself.
pub struct Header {
    /// One entry per value of every sample.
    pub sample_types: &'static [ValueType],
    /// What `period` counts.
    pub period_type: ValueType,
    /// The sampling period (CPU: nanoseconds between samples; heap: the sampling rate in bytes).
    pub period: i64,
    /// When the profile started (ns since the epoch) and how long it ran (ns; 0 for the heap).
    pub time_nanos: i64,
    /// How long the profile ran.
    pub duration_nanos: i64,
}

/// What the profile says about one address: its function's (demangled) name and, if the line
/// tables cover it, its source file and line.
#[derive(Clone, Debug)]
pub struct Symbol {
    /// The function's name.
    pub name: String,
    /// Source file and line of the address (None: unknown).
    pub line: Option<(String, u32)>,
    /// The functions inlined at the address, innermost first: name, and file and line (pprof's
    /// extra Lines of a Location; empty without line tables).
    pub inlined: Vec<(String, Option<(String, u32)>)>,
}

/// Builds one profile: strings, functions and locations are interned as samples arrive.
struct Builder {
    out: Vec<u8>,
    strings: BTreeMap<String, u64>,
    string_list: Vec<String>,
    /// Function ids by (name, file).
    funcs: BTreeMap<(String, String), u64>,
    locs: BTreeMap<usize, u64>,
    /// Whether any Line has a line number (the Mapping says so).
    has_lines: bool,
}

impl Builder {
    fn string(&mut self, s: &str) -> u64 {
        if let Some(&i) = self.strings.get(s) {
            return i;
        }
        let i = self.string_list.len() as u64;
        self.strings.insert(String::from(s), i);
        self.string_list.push(String::from(s));
        i
    }

    fn value_type(&mut self, field: u32, (t, u): ValueType) {
        let mut m = Vec::new();
        uint(&mut m, 1, self.string(t));
        uint(&mut m, 2, self.string(u));
        bytes(&mut self.out, field, &m);
    }

    /// The Location id of address `at`, emitting it (and its Function) the first time.
    fn location(&mut self, at: usize, name: &mut impl FnMut(usize) -> Option<Symbol>) -> u64 {
        if let Some(&id) = self.locs.get(&at) {
            return id;
        }
        let sym =
            name(at).unwrap_or_else(|| Symbol { name: alloc::format!("{:#x}", at), line: None, inlined: Vec::new() });
        // The Lines: the inlined functions innermost first, then the symbol's own function.
        let mut lines = Vec::new();
        for (name, line) in sym.inlined.into_iter().chain([(sym.name, sym.line)]) {
            let (file, line) = line.unwrap_or_default();
            let fid = self.function(name, file);
            let mut l = Vec::new();
            uint(&mut l, 1, fid);
            uint(&mut l, 2, line as u64); // line (0: unknown, omitted)
            self.has_lines |= line != 0;
            lines.push(l);
        }
        let id = self.locs.len() as u64 + 1;
        let mut l = Vec::new();
        uint(&mut l, 1, id);
        uint(&mut l, 2, 1); // mapping_id: the one mapping
        uint(&mut l, 3, at as u64);
        for line in &lines {
            bytes(&mut l, 4, line);
        }
        bytes(&mut self.out, 4, &l);
        self.locs.insert(at, id);
        id
    }

    /// The Function id of (name, file), emitting it the first time.
    fn function(&mut self, name: String, file: String) -> u64 {
        let key = (name, file);
        if let Some(&id) = self.funcs.get(&key) {
            return id;
        }
        let id = self.funcs.len() as u64 + 1;
        let n = self.string(&key.0);
        let file = self.string(&key.1); // 0, the empty string, when unknown: omitted
        let mut f = Vec::new();
        uint(&mut f, 1, id);
        uint(&mut f, 2, n); // name
        uint(&mut f, 3, n); // system_name
        uint(&mut f, 4, file); // filename
        bytes(&mut self.out, 5, &f);
        self.funcs.insert(key, id);
        id
    }
}

/// Encodes a profile: `samples` are (stack of addresses, innermost first; one value per sample
/// type); `name(at)` says which function holds address `at` (and its source line, if known).
pub fn encode<'a>(
    h: &Header,
    samples: impl Iterator<Item = (&'a [usize], &'a [i64])>,
    mut name: impl FnMut(usize) -> Option<Symbol>,
) -> Vec<u8> {
    let mut b = Builder {
        out: Vec::new(),
        strings: BTreeMap::new(),
        string_list: Vec::new(),
        funcs: BTreeMap::new(),
        locs: BTreeMap::new(),
        has_lines: false,
    };
    b.string("");
    for &t in h.sample_types {
        b.value_type(1, t);
    }
    for (stack, values) in samples {
        let ids: Vec<u64> = stack.iter().map(|&at| b.location(at, &mut name)).collect();
        let mut s = Vec::new();
        packed(&mut s, 1, ids.into_iter());
        packed(&mut s, 2, values.iter().map(|&v| v as u64));
        bytes(&mut b.out, 2, &s);
    }
    // One mapping for the whole address space: its functions are named already.
    let mut m = Vec::new();
    uint(&mut m, 1, 1);
    uint(&mut m, 3, usize::MAX as u64); // memory_limit
    let exe = b.string(core::str::from_utf8(crate::symtab::exe_path()).unwrap_or("?"));
    uint(&mut m, 5, exe);
    uint(&mut m, 7, 1); // has_functions
    uint(&mut m, 8, b.has_lines as u64); // has_filenames
    uint(&mut m, 9, b.has_lines as u64); // has_line_numbers
    bytes(&mut b.out, 3, &m);
    uint(&mut b.out, 9, h.time_nanos as u64);
    uint(&mut b.out, 10, h.duration_nanos as u64);
    b.value_type(11, h.period_type);
    uint(&mut b.out, 12, h.period as u64);
    let strings = core::mem::take(&mut b.string_list);
    for s in &strings {
        bytes(&mut b.out, 6, s.as_bytes());
    }
    b.out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varints_as_protobuf() {
        let mut v = Vec::new();
        varint(&mut v, 1);
        varint(&mut v, 300);
        varint(&mut v, u64::MAX);
        assert_eq!(v[..3], [1, 0xac, 0x02]);
        assert_eq!(v.len(), 3 + 10);
        let mut v = Vec::new();
        bytes(&mut v, 6, b"cpu");
        assert_eq!(v, [0x32, 3, b'c', b'p', b'u']);
    }

    #[test]
    fn locations_and_functions_are_shared() {
        let h = Header {
            sample_types: &[("samples", "count")],
            period_type: ("cpu", "nanoseconds"),
            period: 10,
            time_nanos: 0,
            duration_nanos: 0,
        };
        let s1: &[usize] = &[0x10, 0x20];
        let s2: &[usize] = &[0x11, 0x20];
        let mut asked = Vec::new();
        let out = encode(&h, [(s1, &[1i64][..]), (s2, &[2i64][..])].into_iter(), |at| {
            asked.push(at);
            let name = String::from(if at < 0x20 { "hot" } else { "main" });
            Some(Symbol { name, line: None, inlined: Vec::new() })
        });
        // Three distinct addresses, each named once; two functions.
        assert_eq!(asked, [0x10, 0x20, 0x11]);
        let count = |field: u8| {
            // Top-level fields only: walk the message.
            let (mut i, mut n) = (0, 0);
            while i < out.len() {
                let k = out[i];
                i += 1;
                let mut len = 0usize;
                let mut shift = 0;
                loop {
                    let c = out[i];
                    i += 1;
                    len |= ((c & 0x7f) as usize) << shift;
                    shift += 7;
                    if c < 0x80 {
                        break;
                    }
                }
                if k & 7 == 2 {
                    i += len;
                }
                if k >> 3 == field {
                    n += 1;
                }
            }
            n
        };
        assert_eq!(count(2), 2, "samples");
        assert_eq!(count(4), 3, "locations");
        assert_eq!(count(5), 2, "functions");
    }

    /// The fields of one message: (field number, varint value or length-delimited bytes).
    fn fields(b: &[u8]) -> Vec<(u64, Result<u64, &[u8]>)> {
        let read = |i: &mut usize| {
            let (mut v, mut shift) = (0u64, 0);
            loop {
                let c = b[*i];
                *i += 1;
                v |= ((c & 0x7f) as u64) << shift;
                shift += 7;
                if c < 0x80 {
                    return v;
                }
            }
        };
        let (mut i, mut out) = (0, Vec::new());
        while i < b.len() {
            let k = read(&mut i);
            let v = read(&mut i);
            if k & 7 == 2 {
                out.push((k >> 3, Err(&b[i..i + v as usize])));
                i += v as usize;
            } else {
                out.push((k >> 3, Ok(v)));
            }
        }
        out
    }

    #[test]
    fn lines_and_inlined_functions() {
        let h = Header {
            sample_types: &[("samples", "count")],
            period_type: ("cpu", "nanoseconds"),
            period: 10,
            time_nanos: 0,
            duration_nanos: 0,
        };
        let s1: &[usize] = &[0x10, 0x20];
        let out = encode(&h, [(s1, &[1i64][..])].into_iter(), |at| {
            Some(if at == 0x10 {
                // `spin` (a.rs:7) inlined into `hot` at a.rs:3.
                let inlined = Vec::from([(String::from("spin"), Some((String::from("a.rs"), 7)))]);
                Symbol { name: String::from("hot"), line: Some((String::from("a.rs"), 3)), inlined }
            } else {
                Symbol { name: String::from("main"), line: None, inlined: Vec::new() }
            })
        });
        let top = fields(&out);
        let strings: Vec<&[u8]> = top.iter().filter(|f| f.0 == 6).map(|f| f.1.unwrap_err()).collect();
        let msgs = |n: u64| top.iter().filter(move |f| f.0 == n).map(|f| fields(f.1.unwrap_err()));
        // Functions: (name, filename) as strings.
        let funcs: Vec<(u64, &[u8], &[u8])> = msgs(5)
            .map(|f| {
                let get = |n: u64| f.iter().find(|x| x.0 == n).map_or(0, |x| x.1.unwrap());
                (get(1), strings[get(2) as usize], strings[get(4) as usize])
            })
            .collect();
        let id = |name: &[u8]| funcs.iter().find(|f| f.1 == name).unwrap().0;
        assert_eq!(funcs.len(), 3);
        assert_eq!(funcs.iter().find(|f| f.1 == b"spin").unwrap().2, b"a.rs");
        assert_eq!(funcs.iter().find(|f| f.1 == b"main").unwrap().2, b"", "no file: empty");
        // Location 1 (0x10): two Lines, the inlined spin first.
        let locs: Vec<_> = msgs(4).collect();
        let lines = |l: &Vec<(u64, Result<u64, &[u8]>)>| -> Vec<(u64, u64)> {
            l.iter()
                .filter(|x| x.0 == 4)
                .map(|x| {
                    let f = fields(x.1.unwrap_err());
                    let get = |n: u64| f.iter().find(|y| y.0 == n).map_or(0, |y| y.1.unwrap());
                    (get(1), get(2))
                })
                .collect()
        };
        assert_eq!(lines(&locs[0]), [(id(b"spin"), 7), (id(b"hot"), 3)]);
        assert_eq!(lines(&locs[1]), [(id(b"main"), 0)]);
        // The mapping says it has file names and line numbers.
        let m = msgs(3).next().unwrap();
        assert!(m.iter().any(|x| x.0 == 8 && x.1 == Ok(1)) && m.iter().any(|x| x.0 == 9 && x.1 == Ok(1)));
    }
}
