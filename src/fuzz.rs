//! Host fuzz harness for the code that reads untrusted input: the argv/envp/auxv walk
//! (args, goargs, goenvs, gogetenv, sysauxv), the GODEBUG, GOMAXPROCS and GORT_STACK_SIZE
//! parsers, the DNS message parser (net/dnsmessage.rs: what a network peer sends), and the
//! resolv.conf and hosts file parsers (net/dnsconfig.rs, net/hosts.rs), and the symbol
//! demangler (demangle.rs: names come from the binary, but a traceback must survive any). Each target checks the runtime's code against a reference written independently
//! with std (a differential oracle), not only "does not crash".
//!
//! It is a mutation fuzzer: inputs start from the seeds checked in under fuzz/corpus/<target>/,
//! and each execution applies a few random mutations (bit flips, dictionary tokens, splices,
//! deletions, growth to 64 KB). It is not coverage-guided (cargo fuzz needs a nightly compiler,
//! which this project's machines cannot fetch); the targets are small enough that the oracle and
//! the dictionary reach every branch. Run with `cargo xtask fuzz [--execs N]` (default 10 M per
//! target); GORT_FUZZ_EXECS and GORT_FUZZ_SEED set the count and the generator seed.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::vec::Vec;

use crate::args::{self, DebugVars};

/// xorshift64*: the fuzzer's generator (seeded, so a failure replays).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Tokens the mutator inserts: what the parsers look for.
const DICT: &[&[u8]] = &[
    b"schedtrace=",
    b"scheddetail=",
    b"boottrace=",
    b"asyncpreemptoff=",
    b"forcepreemptns=",
    b"=",
    b",",
    b"-",
    b"+",
    b"0",
    b"1",
    b"9",
    b"2147483647",
    b"2147483648",
    b"-2147483648",
    b"9223372036854775807",
    b"9223372036854775808",
    b"-9223372036854775808",
    b"18446744073709551616",
    b"k",
    b"K",
    b"m",
    b"M",
    b"\0",
    b"\xff",
    b" ",
    b"GODEBUG=",
    b"GOMAXPROCS=",
    // DNS messages: a pointer to the question's name, type/class IN A, CNAME, AAAA, a label.
    b"\xc0\x0c",
    b"\x00\x01\x00\x01",
    b"\x00\x05\x00\x01",
    b"\x00\x1c\x00\x01",
    b"\x03www",
    b"\x00",
    // Rust symbol names (demangle.rs): v0 tags, backrefs, generics, legacy escapes and hash.
    b"_R",
    b"_ZN",
    b"NvNt",
    b"B5_",
    b"I",
    b"E",
    b"Cs",
    b"Ms",
    b"Xs",
    b"$LT$",
    b"$GT$",
    b"$u20$",
    b"..",
    b"17h0123456789abcdef",
    b".llvm.",
];

/// Applies 1 to 4 random mutations to `buf`, drawing splices from `corpus`.
fn mutate(rng: &mut Rng, buf: &mut Vec<u8>, corpus: &[Vec<u8>], max_len: usize) {
    for _ in 0..1 + rng.below(4) {
        match rng.below(9) {
            0 if !buf.is_empty() => {
                let i = rng.below(buf.len());
                buf[i] ^= 1 << rng.below(8);
            }
            1 if !buf.is_empty() => {
                let i = rng.below(buf.len());
                buf[i] = rng.next() as u8;
            }
            2 | 3 => {
                let tok = DICT[rng.below(DICT.len())];
                let at = rng.below(buf.len() + 1);
                buf.splice(at..at, tok.iter().copied());
            }
            4 if !buf.is_empty() => {
                let a = rng.below(buf.len());
                let b = (a + 1 + rng.below(8)).min(buf.len());
                buf.drain(a..b);
            }
            5 if !buf.is_empty() => {
                let a = rng.below(buf.len());
                let b = (a + 1 + rng.below(16)).min(buf.len());
                let piece: Vec<u8> = buf[a..b].to_vec();
                let at = rng.below(buf.len() + 1);
                buf.splice(at..at, piece);
            }
            6 if !corpus.is_empty() => {
                let other = &corpus[rng.below(corpus.len())];
                let cut = rng.below(buf.len() + 1);
                buf.truncate(cut);
                let from = rng.below(other.len() + 1);
                buf.extend_from_slice(&other[from..]);
            }
            7 if rng.below(200) == 0 => {
                // Rarely: a huge input (GODEBUG of 64 KB and the like).
                let tok = DICT[rng.below(DICT.len())];
                while buf.len() < 65536 {
                    buf.extend_from_slice(tok);
                }
            }
            8 if !buf.is_empty() => buf.truncate(rng.below(buf.len())),
            _ => buf.push(rng.next() as u8),
        }
    }
    if buf.len() > max_len {
        buf.truncate(max_len);
    }
}

/// The seeds in fuzz/corpus/<target>/ (each file one input).
fn load_corpus(target: &str) -> Vec<Vec<u8>> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus").join(target);
    let mut seeds: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| std::fs::read(e.unwrap().path()).unwrap())
        .collect();
    seeds.sort();
    assert!(!seeds.is_empty(), "no seeds in {}", dir.display());
    seeds
}

/// Runs `exec` on the seeds and then on `execs` mutated inputs; on a failure, saves the input
/// under target/fuzz/ and panics with the seed and the input.
fn run(target: &str, max_len: usize, exec: impl Fn(&[u8])) {
    let execs: u64 = std::env::var("GORT_FUZZ_EXECS").ok().and_then(|v| v.parse().ok()).unwrap_or(100_000);
    let seed: u64 = std::env::var("GORT_FUZZ_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(0x5eed_1234_abcd);
    let corpus = load_corpus(target);
    let mut rng = Rng(seed | 1);
    let mut pool: Vec<Vec<u8>> = corpus.clone();
    let start = std::time::Instant::now();
    let mut buf = Vec::new();
    for i in 0..execs + corpus.len() as u64 {
        buf.clear();
        if (i as usize) < corpus.len() {
            buf.extend_from_slice(&corpus[i as usize]);
        } else {
            buf.extend_from_slice(&pool[rng.below(pool.len())]);
            mutate(&mut rng, &mut buf, &corpus, max_len);
        }
        if catch_unwind(AssertUnwindSafe(|| exec(&buf))).is_err() {
            let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/fuzz");
            let _ = std::fs::create_dir_all(&dir);
            let path = dir.join(format!("crash-{target}-{i}"));
            let _ = std::fs::write(&path, &buf);
            panic!(
                "fuzz {target}: failure at exec {i} (GORT_FUZZ_SEED={seed}); input saved to {}: {:?}",
                path.display(),
                String::from_utf8_lossy(&buf[..buf.len().min(200)])
            );
        }
        // Keep some mutants as new starting points (a small rolling pool).
        if rng.below(64) == 0 {
            if pool.len() < 256 {
                pool.push(buf.clone());
            } else {
                let j = rng.below(pool.len());
                pool[j] = buf.clone();
            }
        }
    }
    std::println!(
        "fuzz {target}: {execs} execs + {} seeds, 0 failures, {:.1} s (GORT_FUZZ_SEED={seed})",
        corpus.len(),
        start.elapsed().as_secs_f64()
    );
}

// --- oracles, written with std and without looking at the runtime's code paths ---

/// Go's atoi semantics via std: optional '-', digits only, "-" alone is 0, '+' is rejected.
fn ref_atoi(s: &[u8]) -> Option<isize> {
    if s == b"-" {
        return Some(0);
    }
    let t = std::str::from_utf8(s).ok()?;
    if t.starts_with('+') || t.starts_with("-+") || t.starts_with("--") {
        return None;
    }
    t.parse::<isize>().ok()
}

fn ref_godebug(s: &[u8]) -> DebugVars {
    let mut d = DebugVars::default();
    let text = String::from_utf8_lossy(s);
    // Fields are split on ','; invalid UTF-8 cannot form a known key or a number, so lossy
    // decoding does not change which fields count.
    for field in text.split(',') {
        let Some((k, v)) = field.split_once('=') else { continue };
        let Some(n) = ref_atoi(v.as_bytes()).and_then(|n| i32::try_from(n).ok()) else { continue };
        if v.contains('\u{fffd}') {
            continue;
        }
        match k {
            "schedtrace" => d.schedtrace = n,
            "scheddetail" => d.scheddetail = n,
            "boottrace" => d.boottrace = n,
            "asyncpreemptoff" => d.asyncpreemptoff = n,
            "forcepreemptns" => d.forcepreemptns = n,
            "memprofilerate" => d.memprofilerate = n,
            _ => {}
        }
    }
    d
}

fn ref_stack_size(s: &[u8]) -> Option<usize> {
    let t = std::str::from_utf8(s).ok()?;
    let (num, mul) = match t.as_bytes().last()? {
        b'k' | b'K' => (&t[..t.len() - 1], 1024usize),
        b'm' | b'M' => (&t[..t.len() - 1], 1 << 20),
        _ => (t, 1),
    };
    let n = ref_atoi(num.as_bytes())?;
    if n <= 0 {
        return None;
    }
    (n as usize).checked_mul(mul)
}

#[test]
#[cfg_attr(
    not(miri),
    ignore = "fuzzing: run by `cargo xtask fuzz` (and by `cargo xtask miri` on a few hundred inputs)"
)]
fn fuzz_atoi() {
    run("atoi", 64, |s| {
        assert_eq!(args::atoi(s), ref_atoi(s));
        assert_eq!(args::atoi32(s), ref_atoi(s).and_then(|n| i32::try_from(n).ok()));
    });
}

#[test]
#[cfg_attr(
    not(miri),
    ignore = "fuzzing: run by `cargo xtask fuzz` (and by `cargo xtask miri` on a few hundred inputs)"
)]
fn fuzz_gomaxprocs() {
    run("gomaxprocs", 64, |s| {
        let want = ref_atoi(s).and_then(|n| i32::try_from(n).ok()).filter(|&n| n > 0);
        assert_eq!(args::gomaxprocs_env(Some(s)), want);
    });
}

#[test]
#[cfg_attr(
    not(miri),
    ignore = "fuzzing: run by `cargo xtask fuzz` (and by `cargo xtask miri` on a few hundred inputs)"
)]
fn fuzz_godebug() {
    run("godebug", 1 << 17, |s| {
        let mut d = DebugVars::default();
        // The path keys keep slices of the (static) GODEBUG value: a leaked copy here, freed
        // below once nothing points into it (Miri reports leaks).
        let value: &'static mut [u8] = Vec::leak(s.to_vec());
        let raw: *mut [u8] = value;
        // SAFETY: raw is the leaked copy, only read through this shared borrow until freed.
        args::parse_godebug(unsafe { &*raw }, &mut d);
        // The path keys (cpuprofile, memprofile) take any bytes: not compared.
        d.cpuprofile = None;
        d.memprofile = None;
        assert_eq!(d, ref_godebug(s));
        // SAFETY: raw came from Vec::leak (a Box<[u8]> of the same length); d, the only holder
        // of slices into it, is not used again.
        drop(unsafe { std::boxed::Box::from_raw(raw) });
    });
}

#[test]
#[cfg_attr(
    not(miri),
    ignore = "fuzzing: run by `cargo xtask fuzz` (and by `cargo xtask miri` on a few hundred inputs)"
)]
fn fuzz_stack_size() {
    run("stack_size", 64, |s| assert_eq!(crate::stack::parse_size(s), ref_stack_size(s)));
}

/// The symbol demangler (demangle.rs) against rustc-demangle's `{:#}`: whatever it demangles
/// must read exactly as rustc-demangle prints it; what it declines it prints unchanged. Either
/// way it returns (bounded depth and steps on hostile names) without panicking.
#[test]
#[cfg_attr(
    not(miri),
    ignore = "fuzzing: run by `cargo xtask fuzz` (and by `cargo xtask miri` on a few hundred inputs)"
)]
fn fuzz_demangle() {
    run("demangle", 512, |b| {
        let Ok(s) = core::str::from_utf8(b) else { return };
        let mut ours = std::string::String::new();
        if crate::demangle::write(&mut ours, s).is_err() || ours == s {
            return;
        }
        let theirs = std::format!("{:#}", rustc_demangle::demangle(s));
        assert_eq!(ours, theirs, "{s:?}");
    });
}

/// The argv/envp/auxv walk: the input is decoded into argc strings, env strings and auxv pairs,
/// laid out as the kernel lays out the initial stack, and walked by args, goargs, goenvs,
/// gogetenv and sysauxv; every value must come back exactly.
#[test]
#[cfg_attr(
    not(miri),
    ignore = "fuzzing: run by `cargo xtask fuzz` (and by `cargo xtask miri` on a few hundred inputs)"
)]
fn fuzz_args_walk() {
    run("args", 4096, |input| {
        // Layout of the input: byte 0 = argc (0..=15), byte 1 = number of auxv pairs (0..=15);
        // the rest split on 0xff into strings: argc of them are argv, the rest envp. Auxv
        // pairs come from the bytes (tags drawn from the interesting ones).
        let argc = input.first().map_or(0, |b| (b & 15) as usize);
        let nauxv = input.get(1).map_or(0, |b| (b & 15) as usize);
        let rest = input.get(2..).unwrap_or(&[]);
        let strs: Vec<Vec<u8>> =
            rest.split(|&b| b == 0xff).map(|s| s.iter().copied().filter(|&b| b != 0).collect()).collect();
        let mut argv: Vec<Vec<u8>> = strs.iter().take(argc).cloned().collect();
        while argv.len() < argc {
            argv.push(Vec::new());
        }
        let envp: Vec<Vec<u8>> = strs.iter().skip(argc).cloned().collect();
        const TAGS: [usize; 8] = [6, 25, 16, 26, 23, 33, 3, 99]; // PAGESZ RANDOM HWCAP HWCAP2 SECURE SYSINFO_EHDR PHDR ?
        let auxv: Vec<(usize, usize)> = (0..nauxv)
            .map(|i| {
                let b = rest.get(i).copied().unwrap_or(0) as usize;
                (TAGS[b % TAGS.len()], b.wrapping_mul(0x1001) + i)
            })
            .collect();

        // The initial stack image: argv..., NULL, envp..., NULL, auxv pairs..., AT_NULL, 0. Kept
        // as pointers (not usize) so the string pointers keep their provenance under Miri.
        let cstrs: Vec<Vec<u8>> = argv.iter().chain(envp.iter()).map(|s| [&s[..], b"\0"].concat()).collect();
        let word = |w: usize| core::ptr::null::<u8>().wrapping_add(w);
        let mut stack: Vec<*const u8> = Vec::new();
        for c in &cstrs[..argc] {
            stack.push(c.as_ptr());
        }
        stack.push(core::ptr::null());
        for c in &cstrs[argc..] {
            stack.push(c.as_ptr());
        }
        stack.push(core::ptr::null());
        let auxv_at = stack.len();
        for &(k, v) in &auxv {
            stack.push(word(k));
            stack.push(word(v));
        }
        stack.extend([core::ptr::null(), core::ptr::null()]);

        // SAFETY: `stack` is laid out exactly as the ABI's initial stack, and every string
        // pointer in it points into `cstrs`, which outlives this closure's use of the results.
        let got_auxv = unsafe { args::args(argc, stack.as_ptr()) };
        assert_eq!(got_auxv, stack[auxv_at..].as_ptr() as *const usize);
        assert_eq!(args::argc(), argc);
        assert_eq!(args::envc(), envp.len());
        args::goargs();
        args::goenvs();
        let a = args::argslice();
        let e = args::envs();
        assert_eq!(a.len(), argv.len());
        for (x, y) in a.iter().zip(&argv) {
            assert_eq!(x, y);
        }
        for (x, y) in e.iter().zip(&envp) {
            assert_eq!(x, y);
        }
        // gogetenv: the first entry whose key matches exactly, as std would look it up.
        for key in ["GODEBUG", "GOMAXPROCS", "A", ""] {
            let want = envp.iter().find_map(|kv| {
                let eq = kv.iter().position(|&c| c == b'=')?;
                (eq == key.len() && &kv[..eq] == key.as_bytes()).then(|| kv[eq + 1..].to_vec())
            });
            assert_eq!(args::gogetenv(key).map(<[u8]>::to_vec), want, "key {key:?}");
        }
        #[cfg(target_os = "linux")]
        {
            // SAFETY: got_auxv points at our AT_NULL-terminated pairs.
            let x = unsafe { crate::sys::sysauxv(got_auxv) };
            assert_eq!(x.count, auxv.len());
            let last = |tag: usize| auxv.iter().rev().find(|p| p.0 == tag).map_or(0, |p| p.1);
            assert_eq!(x.pagesz, last(6));
            assert_eq!(x.random, last(25));
            assert_eq!(x.hwcap, last(16));
            assert_eq!(x.hwcap2, last(26));
            assert_eq!(x.secure, last(23) != 0);
            assert_eq!(x.vdso, last(33));
        }
        // goargs/goenvs keep their slices for the life of the process; give these back so ten
        // million executions do not grow the heap.
        // SAFETY: a and e are not used after this.
        unsafe { args::free_args_for_test() };
    });
}

/// The DNS reference parser's view of a message: header bits, questions, answers with names as
/// label lists and data decoded for A (4 bytes), AAAA (16) and CNAME (a name filling the data).
type RefName = Vec<Vec<u8>>;
type RefMessage = ([u8; 4], Vec<(RefName, u16, u16)>, Vec<(RefName, u16, u16, u32, Option<Vec<u8>>)>);

/// A name at `pos` of `msg`, RFC 1035 4.1.4, written recursively: a pointer must point before
/// the run of labels it ends (`run`), the name is at most 255 bytes in wire form. Returns the
/// labels and where the name's own bytes end.
fn ref_name(msg: &[u8], pos: usize, run: usize, labels: &mut RefName) -> Option<usize> {
    let c = *msg.get(pos)?;
    if c >= 0xc0 {
        let target = ((c as usize & 0x3f) << 8) | *msg.get(pos + 1)? as usize;
        if target >= run {
            return None;
        }
        ref_name(msg, target, target, labels)?;
        return Some(pos + 2);
    }
    if c >= 0x40 {
        return None;
    }
    if c == 0 {
        return (labels.iter().map(|l| l.len() + 1).sum::<usize>() < 255).then_some(pos + 1);
    }
    labels.push(msg.get(pos + 1..pos + 1 + c as usize)?.to_vec());
    if labels.iter().map(|l| l.len() + 1).sum::<usize>() >= 255 {
        return None;
    }
    ref_name(msg, pos + 1 + c as usize, run, labels)
}

fn ref_dns(msg: &[u8]) -> Option<RefMessage> {
    let be16 = |at: usize| Some(u16::from_be_bytes([*msg.get(at)?, *msg.get(at + 1)?]));
    let (qd, an) = (be16(4)?, be16(6)?);
    let _ = be16(10)?;
    let flags = [msg[2] >> 7 & 1, msg[2] >> 2 & 1, msg[2] >> 1 & 1, msg[3] & 0xf];
    let mut pos = 12;
    let mut qs = Vec::new();
    for _ in 0..qd {
        let mut n = Vec::new();
        pos = ref_name(msg, pos, pos, &mut n)?;
        qs.push((n, be16(pos)?, be16(pos + 2)?));
        pos += 4;
    }
    let mut ans = Vec::new();
    for _ in 0..an {
        let mut n = Vec::new();
        pos = ref_name(msg, pos, pos, &mut n)?;
        let (t, class) = (be16(pos)?, be16(pos + 2)?);
        let ttl = u32::from_be_bytes(msg.get(pos + 4..pos + 8)?.try_into().ok()?);
        let len = be16(pos + 8)? as usize;
        let start = pos + 10;
        let data = msg.get(start..start + len)?;
        let decoded = match t {
            1 if len == 4 => Some(data.to_vec()),
            28 if len == 16 => Some(data.to_vec()),
            1 | 28 => return None,
            5 => {
                let mut c = Vec::new();
                if ref_name(&msg[..start + len], start, start, &mut c)? != start + len {
                    return None;
                }
                Some(c.concat())
            }
            _ => None,
        };
        ans.push((n, t, class, ttl, decoded));
        pos = start + len;
    }
    Some((flags, qs, ans))
}

/// DNS answers as a server (or a forger) may send them: gort's parser must agree with the
/// reference on every input (accept the same messages, decode the same values), never panic,
/// and what it decodes must survive an encode/parse round trip.
#[test]
#[cfg(target_os = "linux")]
#[cfg_attr(
    not(miri),
    ignore = "fuzzing: run by `cargo xtask fuzz` (and by `cargo xtask miri` on a few hundred inputs)"
)]
fn fuzz_dnsmessage() {
    use crate::net::dnsmessage::{encode, Message, RData};
    let labels = |w: &[u8]| -> RefName {
        let mut v = Vec::new();
        let mut i = 0;
        while w[i] != 0 {
            v.push(w[i + 1..i + 1 + w[i] as usize].to_vec());
            i += 1 + w[i] as usize;
        }
        v
    };
    run("dnsmessage", 2048, |msg| {
        let got = Message::parse(msg).ok();
        let want = ref_dns(msg);
        let got_view = got.as_ref().map(|m| {
            let h = &m.header;
            let flags = [h.response as u8, h.authoritative as u8, h.truncated as u8, h.rcode];
            let qs = m.questions.iter().map(|q| (labels(q.name.wire()), q.qtype, q.class)).collect();
            let ans = m
                .answers
                .iter()
                .map(|r| {
                    let d = match &r.data {
                        RData::A(ip) => Some(ip.octets().to_vec()),
                        RData::Aaaa(ip) => Some(ip.octets().to_vec()),
                        RData::Cname(n) => Some(labels(n.wire()).concat()),
                        RData::Other => None,
                    };
                    (labels(r.name.wire()), r.rtype, r.class, r.ttl, d)
                })
                .collect();
            (flags, qs, ans)
        });
        assert_eq!(got_view, want);
        if let Some(m) = got {
            assert_eq!(m.header.id, u16::from_be_bytes([msg[0], msg[1]]));
            // Other records are encoded with empty data, which parses back as Other.
            assert_eq!(Message::parse(&encode(&m)).as_ref(), Ok(&m));
        }
    });
}

/// resolv.conf and hosts files as anyone who can write them may: the input is read as both.
/// resolv.conf: never a panic, and the result always within Go's bounds (1 to 3 servers,
/// ndots <= 15, attempts >= 1, timeout >= 1 s, rooted search suffixes, a name list of rooted
/// names). Hosts: every (address, name) pair a line holds, as a reference reading written with
/// std finds them, is looked up, in any ASCII case.
#[test]
#[cfg(target_os = "linux")]
#[cfg_attr(
    not(miri),
    ignore = "fuzzing: run by `cargo xtask fuzz` (and by `cargo xtask miri` on a few hundred inputs)"
)]
fn fuzz_resolver_files() {
    use crate::net::dnsconfig::DnsConfig;
    use crate::net::hosts::Hosts;
    use std::net::IpAddr;
    run("resolver_files", 4096, |text| {
        let c = DnsConfig::parse(Some(text), b"host.example.org");
        assert!((1..=3).contains(&c.servers.len()), "{c:?}");
        assert!(c.ndots <= 15 && c.attempts >= 1 && c.timeout.as_secs() >= 1, "{c:?}");
        assert!(c.search.iter().all(|s| s.ends_with('.')), "{c:?}");
        for name in ["a", "a.b", "a.b.", "x.onion"] {
            assert!(c.name_list(name).iter().all(|n| n.ends_with('.') && n.len() <= 254));
        }

        let h = Hosts::parse(text);
        for line in text.split(|&b| b == b'\n') {
            let line = line.split(|&b| b == b'#').next().unwrap_or_default();
            let words: Vec<&[u8]> = line.split(|b| b" \t\r".contains(b)).filter(|w| !w.is_empty()).collect();
            if words.len() < 2 {
                continue;
            }
            let Some(ip) = std::str::from_utf8(words[0]).ok().and_then(|s| s.parse::<IpAddr>().ok()) else { continue };
            let ip = match ip {
                IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
                v4 => v4,
            };
            for name in &words[1..] {
                let Ok(name) = std::str::from_utf8(name) else { continue };
                let found = h.lookup(name);
                assert!(found.contains(&ip), "{name:?} -> {found:?}, want {ip}");
                assert_eq!(h.lookup(&name.to_ascii_uppercase()), found);
                assert_eq!(h.lookup(&name.to_ascii_lowercase()), found);
            }
        }
    });
}
