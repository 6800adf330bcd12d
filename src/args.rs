//! Process arguments, environment and GODEBUG (Go's runtime1.go): `check`, argv/envp bookkeeping
//! (`args` → `goargs`, `goenvs`), GODEBUG (`parsedebugvars`) and the small string-to-int parser
//! the runtime uses for env vars.
//! The parsers are pure and unit-tested on the host.

use core::sync::atomic::{AtomicBool, AtomicI32, AtomicI64, AtomicU32, AtomicU64, AtomicUsize, Ordering};

use crate::gmp::Global;

/// Raw argc/argv/envp as the kernel left them (written once by `args`, read-only after).
struct RawArgs {
    argc: usize,
    argv: *const *const u8,
    envp: *const *const u8,
    envc: usize,
}

// SAFETY: argv and envp point at the strings the kernel put on the initial stack, which live,
// unchanged, as long as the process.
unsafe impl Send for RawArgs {}

static RAW: Global<RawArgs> =
    Global::new(RawArgs { argc: 0, argv: core::ptr::null(), envp: core::ptr::null(), envc: 0 });
/// os::args(): set by goargs.
static ARGSLICE: Global<Strings> = Global::new(Strings(EMPTY));
/// The environment, `KEY=value` byte strings: set by goenvs.
static ENVS: Global<Strings> = Global::new(Strings(EMPTY));
/// A leaked boxed slice of byte strings (a raw pointer so host tests can free it).
struct Strings(*mut [&'static [u8]]);
// SAFETY: the slice is written once at boot and only read afterwards; `&[u8]` is Sync.
unsafe impl Send for Strings {}
/// What ARGSLICE and ENVS hold before goargs/goenvs: an empty slice (never freed).
const EMPTY: *mut [&'static [u8]] = core::ptr::slice_from_raw_parts_mut(core::ptr::NonNull::dangling().as_ptr(), 0);

/// Go's check: size, alignment and atomic sanity. Throws on any mismatch.
pub fn check() {
    use core::mem::{align_of, size_of};
    // A program must come with gort::main! (or gort::test_main!), which defines the hint symbol:
    // referring to it here makes a program without one fail to link naming that symbol, whose
    // name says what is missing (next to `undefined symbol: gort_user_main`).
    #[cfg(not(test))]
    {
        extern "C" {
            #[link_name = "gort: no gort::main!(main) in this program (or gort::test_main! in this harness = false test)"]
            fn main_hint();
        }
        core::hint::black_box(main_hint as unsafe extern "C" fn());
    }
    if size_of::<i8>() != 1 || size_of::<u8>() != 1 || size_of::<i16>() != 2 || size_of::<u16>() != 2 {
        crate::throw("bad int8/int16 size");
    }
    if size_of::<i32>() != 4 || size_of::<u32>() != 4 || size_of::<i64>() != 8 || size_of::<u64>() != 8 {
        crate::throw("bad int32/int64 size");
    }
    if size_of::<f32>() != 4 || size_of::<f64>() != 8 {
        crate::throw("bad float size");
    }
    if size_of::<usize>() != size_of::<*const u8>() {
        crate::throw("bad uintptr size");
    }
    if align_of::<AtomicU64>() != 8 {
        crate::throw("bad atomic uint64 alignment");
    }
    if size_of::<crate::gmp::Gobuf>() != 4 * size_of::<usize>() {
        crate::throw("bad gobuf size");
    }
    // Atomics: CAS, swap, add on 32- and 64-bit and pointer-sized words (Go checks Cas, Casp,
    // Or8/And8 similarly).
    let z = AtomicU32::new(1);
    if z.compare_exchange(1, 2, Ordering::SeqCst, Ordering::SeqCst) != Ok(1) || z.load(Ordering::SeqCst) != 2 {
        crate::throw("cas1");
    }
    if z.compare_exchange(5, 6, Ordering::SeqCst, Ordering::SeqCst) != Err(2) || z.load(Ordering::SeqCst) != 2 {
        crate::throw("cas2");
    }
    let w = AtomicU64::new(u64::MAX - 1);
    if w.fetch_add(1, Ordering::SeqCst) != u64::MAX - 1 || w.load(Ordering::SeqCst) != u64::MAX {
        crate::throw("xadd64 failed");
    }
    if w.compare_exchange(u64::MAX, 1 << 40, Ordering::SeqCst, Ordering::SeqCst).is_err()
        || w.load(Ordering::SeqCst) != 1 << 40
    {
        crate::throw("cas64 failed");
    }
    let p = AtomicUsize::new(0);
    if p.swap(usize::MAX, Ordering::SeqCst) != 0 || p.load(Ordering::SeqCst) != usize::MAX {
        crate::throw("xchguintptr failed");
    }
    let i = AtomicI64::new(-1);
    if i.fetch_add(1, Ordering::SeqCst) != -1 || i.load(Ordering::SeqCst) != 0 {
        crate::throw("xaddint64 failed");
    }
    let b = AtomicBool::new(false);
    if b.compare_exchange(false, true, Ordering::SeqCst, Ordering::SeqCst).is_err() {
        crate::throw("casbool failed");
    }
    let n = AtomicI32::new(0);
    n.fetch_sub(1, Ordering::SeqCst);
    if n.load(Ordering::SeqCst) != -1 {
        crate::throw("xaddint32 failed");
    }
}

/// Go's args: keep argc/argv, find envp and the auxiliary vector behind it (sysargs).
/// Returns the auxv pointer.
///
/// # Safety
/// `argv` must be the process's initial argv: argc pointers, NULL, envp pointers, NULL, auxv.
pub unsafe fn args(argc: usize, argv: *const *const u8) -> *const usize {
    // SAFETY: the initial stack layout is fixed by the ELF ABI; argv[argc] is NULL.
    unsafe {
        let envp = argv.add(argc + 1);
        let mut envc = 0;
        while !(*envp.add(envc)).is_null() {
            envc += 1;
        }
        *RAW.get() = RawArgs { argc, argv, envp, envc };
        envp.add(envc + 1) as *const usize
    }
}

/// Number of arguments (argc).
pub fn argc() -> usize {
    // SAFETY: RAW is written once before any other thread exists.
    unsafe { (*RAW.get()).argc }
}

/// Number of environment entries.
pub fn envc() -> usize {
    // SAFETY: as in argc.
    unsafe { (*RAW.get()).envc }
}

/// The bytes of a NUL-terminated C string.
///
/// # Safety
/// `p` must point at a NUL-terminated string that lives for the rest of the process.
unsafe fn cstr(p: *const u8) -> &'static [u8] {
    // SAFETY: forwarded to the caller.
    unsafe { core::ffi::CStr::from_ptr(p as *const core::ffi::c_char).to_bytes() }
}

/// Looks `key` up in the raw envp, before goenvs has run (Go's gogetenv on early paths).
pub fn gogetenv_raw(key: &str) -> Option<&'static [u8]> {
    // SAFETY: RAW is set by args before anything calls this; envp strings live forever.
    unsafe {
        let raw = &*RAW.get();
        let key = key.as_bytes();
        for i in 0..raw.envc {
            // The key compared in place, byte by byte (a NUL in the entry stops it at the first
            // mismatch): only the entry that matches is measured, not every one (strlen over
            // the whole environment at each early lookup was a fifth of hello's startup).
            let p = *raw.envp.add(i);
            if key.iter().enumerate().all(|(k, &c)| *p.add(k) == c) && *p.add(key.len()) == b'=' {
                return Some(cstr(p.add(key.len() + 1)));
            }
        }
    }
    None
}

/// If `kv` is `key=value`, returns value.
pub fn env_value<'a>(kv: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    if kv.len() > key.len() && kv[key.len()] == b'=' && &kv[..key.len()] == key {
        Some(&kv[key.len() + 1..])
    } else {
        None
    }
}

/// Gives back the slices goargs and goenvs allocated (the fuzz harness calls them millions of
/// times); the runtime itself keeps them for the life of the process.
///
/// # Safety
/// No reference obtained from argslice() or envs() may be used afterwards.
#[cfg(test)]
pub unsafe fn free_args_for_test() {
    // SAFETY: each pointer came from Box::into_raw (or is the empty static slice, which is
    // skipped); the caller guarantees no reference into them survives.
    unsafe {
        for g in [&ARGSLICE, &ENVS] {
            let p = core::mem::replace(&mut (*g.get()).0, EMPTY);
            if !core::ptr::addr_eq(p, EMPTY) {
                drop(alloc::boxed::Box::from_raw(p));
            }
        }
    }
}

/// Go's goargs: argv as byte strings, for os::args().
pub fn goargs() {
    // SAFETY: single-threaded during schedinit; argv holds argc strings that live for the
    // process.
    unsafe {
        let raw = &*RAW.get();
        *ARGSLICE.get() = boxed_strings(raw.argv, raw.argc);
    }
}

/// Go's goenvs: the environment as `KEY=value` byte strings.
pub fn goenvs() {
    // SAFETY: as in goargs, for envp's envc strings.
    unsafe {
        let raw = &*RAW.get();
        *ENVS.get() = boxed_strings(raw.envp, raw.envc);
    }
}

/// The `n` C strings at `p`, as a boxed slice of byte strings (goargs and goenvs: one copy of
/// the loop and the vector's code, issue 22).
///
/// # Safety
/// `p` must point at `n` pointers to NUL-terminated strings that live for the process.
#[inline(never)]
unsafe fn boxed_strings(p: *const *const u8, n: usize) -> Strings {
    let mut v = alloc::vec::Vec::with_capacity(n);
    for i in 0..n {
        // SAFETY: the caller's contract.
        v.push(unsafe { cstr(*p.add(i)) });
    }
    Strings(alloc::boxed::Box::into_raw(v.into_boxed_slice()))
}

/// argv as set by goargs.
pub fn argslice() -> &'static [&'static [u8]] {
    // SAFETY: written once in schedinit before user code runs.
    unsafe { &*(*ARGSLICE.get()).0 }
}

/// The environment as set by goenvs.
pub fn envs() -> &'static [&'static [u8]] {
    // SAFETY: as in argslice.
    unsafe { &*(*ENVS.get()).0 }
}

/// Go's gogetenv: the value of the first `key=` entry.
pub fn gogetenv(key: &str) -> Option<&'static [u8]> {
    envs().iter().find_map(|kv| env_value(kv, key.as_bytes()))
}

/// The GODEBUG settings gort understands (Go's dbgvars).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DebugVars {
    /// schedtrace=MS: print a SCHED line every MS milliseconds.
    pub schedtrace: i32,
    /// scheddetail=1: with schedtrace, per-P/M/G detail.
    pub scheddetail: i32,
    /// boottrace=1 (gort's own): print each startup step.
    pub boottrace: i32,
    /// asyncpreemptoff=1: no signal-based preemption (Go's); 0 asks for it (darwin, where it is
    /// off by default); `NOT_GIVEN` until GODEBUG names it (the target's default, preempt::init).
    pub asyncpreemptoff: i32,
    /// forcepreemptns=N (gort's own): a goroutine may run N ns before sysmon asks it to yield
    /// (Go's constant forcePreemptNS, 10 ms); for tests that want many preemptions.
    pub forcepreemptns: i32,
    /// cpuprofile=PATH (gort's own): a CPU profile from start to exit, written to PATH.
    pub cpuprofile: Option<&'static [u8]>,
    /// memprofile=PATH (gort's own): the heap profile, written to PATH at exit.
    pub memprofile: Option<&'static [u8]>,
    /// memprofilerate=N (gort's own; Go's runtime.MemProfileRate): mean bytes between heap
    /// samples, 0 off; -1 (unset) keeps the default, 512 KiB.
    pub memprofilerate: i32,
}

/// The values when GODEBUG names nothing: asyncpreemptoff not given (each target's default),
/// memprofilerate unset (512 KiB).
const DEFAULT_DEBUG: DebugVars = DebugVars {
    schedtrace: 0,
    scheddetail: 0,
    boottrace: 0,
    asyncpreemptoff: NOT_GIVEN,
    forcepreemptns: 0,
    cpuprofile: None,
    memprofile: None,
    memprofilerate: -1,
};

/// A GODEBUG setting GODEBUG did not name (only `asyncpreemptoff` needs to know).
pub const NOT_GIVEN: i32 = i32::MIN;

impl Default for DebugVars {
    /// The values when GODEBUG names nothing (`DEFAULT_DEBUG`).
    fn default() -> Self {
        DEFAULT_DEBUG
    }
}

static DEBUG: Global<DebugVars> = Global::new(DEFAULT_DEBUG);

/// The parsed GODEBUG values.
pub fn debug() -> DebugVars {
    // SAFETY: written once in schedinit before other threads start.
    unsafe { *DEBUG.get() }
}

/// Parses a GODEBUG value the way Go's parsedebugvars does: comma-separated `key=value`; unknown
/// keys, fields without `=` and values that are not integers are ignored; later fields win. The
/// path keys (cpuprofile, memprofile) take the rest of the field as it is (a path with a comma
/// cannot be given); an empty one is ignored.
pub fn parse_godebug(s: &'static [u8], into: &mut DebugVars) {
    // The keys by table, one comparison loop: a `match` on byte strings inlined a comparison
    // per key (1.2 KB of every program; issue 22).
    const KEYS: [&[u8]; 8] = [
        b"cpuprofile",
        b"memprofile",
        b"memprofilerate",
        b"schedtrace",
        b"scheddetail",
        b"boottrace",
        b"asyncpreemptoff",
        b"forcepreemptns",
    ];
    for field in s.split(|&c| c == b',') {
        let Some(eq) = field.iter().position(|&c| c == b'=') else { continue };
        let (key, value) = (&field[..eq], &field[eq + 1..]);
        let Some(k) = KEYS.iter().position(|&name| name == key) else { continue };
        let path = match k {
            0 => &mut into.cpuprofile,
            1 => &mut into.memprofile,
            _ => {
                let slot = match k {
                    2 => &mut into.memprofilerate,
                    3 => &mut into.schedtrace,
                    4 => &mut into.scheddetail,
                    5 => &mut into.boottrace,
                    6 => &mut into.asyncpreemptoff,
                    _ => &mut into.forcepreemptns,
                };
                if let Some(n) = atoi32(value) {
                    *slot = n;
                }
                continue;
            }
        };
        if !value.is_empty() {
            *path = Some(value);
        }
    }
}

/// The string value of GODEBUG field `key` (the last one wins, as for the integer keys), for
/// keys whose value is not a number (gort's `gorttrace=path`). None in secure mode, as all of
/// GODEBUG.
pub fn godebug_string(key: &str) -> Option<&'static [u8]> {
    if SECURE.load(Ordering::Relaxed) {
        return None;
    }
    godebug_field(gogetenv("GODEBUG")?, key.as_bytes())
}

/// The value of the last `key=value` field of a GODEBUG string.
pub fn godebug_field<'a>(s: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    s.split(|&c| c == b',').rev().find_map(|f| f.strip_prefix(key)?.strip_prefix(b"="))
}

/// Whether parsedebugvars found the process in secure mode (GODEBUG ignored).
static SECURE: AtomicBool = AtomicBool::new(false);

/// Go's parsedebugvars: reads GODEBUG unless the process runs in secure mode (AT_SECURE), and
/// GOTRACEBACK (setTraceback), which secure mode forces to `none` as Go's secureEnv does.
pub fn parsedebugvars(secure: bool) {
    let mut d = DebugVars::default();
    SECURE.store(secure, Ordering::Relaxed);
    if !secure {
        if let Some(v) = gogetenv("GODEBUG") {
            parse_godebug(v, &mut d);
        }
    }
    // SAFETY: single-threaded in schedinit.
    unsafe { *DEBUG.get() = d };
    settraceback(if secure { Some(b"none") } else { gogetenv("GOTRACEBACK") });
}

/// What a fatal report shows (Go's gotraceback result): `level` 0 shows no goroutine, 1 the
/// user's frames, 2 gort's own frames too (with their pcs); `all` every goroutine, not only the
/// failing one; `crash` aborts (SIGABRT, for a core dump) after the report instead of exiting 2.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Traceback {
    /// 0 none, 1 user frames, 2 and more: system frames too.
    pub level: u8,
    /// Every goroutine.
    pub all: bool,
    /// Abort after the report.
    pub crash: bool,
}

/// GOTRACEBACK, encoded as Go's traceback_cache: level << 2 | all << 1 | crash. Before
/// parsedebugvars it holds the default, `single`.
static TRACEBACK: AtomicU32 = AtomicU32::new(1 << 2);

/// Parses a GOTRACEBACK value as Go's setTraceback: none, single (and empty), all, system,
/// crash, wer (windows: crash), or a number N meaning level N with all goroutines; anything
/// else means all goroutines at level 0.
pub fn parse_traceback(v: Option<&[u8]>) -> Traceback {
    let t = |level, all, crash| Traceback { level, all, crash };
    match v.unwrap_or(b"") {
        b"none" => t(0, false, false),
        b"single" | b"" => t(1, false, false),
        b"all" => t(1, true, false),
        b"system" => t(2, true, false),
        b"crash" => t(2, true, true),
        b"wer" if cfg!(windows) => t(2, true, true),
        other => t(atoi32(other).map_or(0, |n| n.clamp(0, 63) as u8), true, false),
    }
}

/// Go's setTraceback: records GOTRACEBACK for gotraceback.
pub fn settraceback(v: Option<&[u8]>) {
    let t = parse_traceback(v);
    TRACEBACK.store((t.level as u32) << 2 | (t.all as u32) << 1 | t.crash as u32, Ordering::Relaxed);
}

/// How much a failure prints (Go's gotraceback): GOTRACEBACK's setting, except that a fatal
/// error (`fatal`: a deadlock, a throw) always shows every goroutine, and a broken runtime
/// invariant (`runtime`) gort's own frames too, as Go's throwTypeUser / throwTypeRuntime.
pub fn gotraceback(fatal: bool, runtime: bool) -> Traceback {
    let t = TRACEBACK.load(Ordering::Relaxed);
    let mut r = Traceback { level: (t >> 2) as u8, all: t & 2 != 0, crash: t & 1 != 0 };
    if fatal {
        r.all = true;
    }
    if runtime {
        r.level = 2;
    }
    r
}

/// Go's atoi: optional leading '-', then decimal digits only; None on empty input, any other byte,
/// or overflow of isize. (Like Go, a lone "-" parses as 0.) Out of line: it was inlined at 5
/// startup callers (issue 22).
#[inline(never)]
pub fn atoi(s: &[u8]) -> Option<isize> {
    if s.is_empty() {
        return None;
    }
    let (neg, digits) = if s[0] == b'-' { (true, &s[1..]) } else { (false, s) };
    let mut un: usize = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        un = un.checked_mul(10)?.checked_add((c - b'0') as usize)?;
    }
    if !neg && un > isize::MAX as usize {
        return None;
    }
    if neg && un > isize::MAX as usize + 1 {
        return None;
    }
    Some(if neg { (un as isize).wrapping_neg() } else { un as isize })
}

/// Go's atoi32: atoi restricted to the int32 range.
pub fn atoi32(s: &[u8]) -> Option<i32> {
    let n = atoi(s)?;
    i32::try_from(n).ok()
}

/// GOMAXPROCS from the environment if it is a positive integer (Go ignores anything else).
pub fn gomaxprocs_env(v: Option<&[u8]>) -> Option<i32> {
    match v.and_then(atoi32) {
        Some(n) if n > 0 => Some(n),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atoi_matches_go() {
        assert_eq!(atoi(b"0"), Some(0));
        assert_eq!(atoi(b"123"), Some(123));
        assert_eq!(atoi(b"-17"), Some(-17));
        assert_eq!(atoi(b"-"), Some(0));
        assert_eq!(atoi(b""), None);
        assert_eq!(atoi(b"+1"), None);
        assert_eq!(atoi(b" 1"), None);
        assert_eq!(atoi(b"1x"), None);
        assert_eq!(atoi(b"99999999999999999999999"), None);
        assert_eq!(atoi32(b"2147483647"), Some(i32::MAX));
        assert_eq!(atoi32(b"2147483648"), None);
        assert_eq!(atoi32(b"-2147483648"), Some(i32::MIN));
    }

    #[test]
    fn gomaxprocs_env_ignores_non_positive() {
        assert_eq!(gomaxprocs_env(Some(b"3")), Some(3));
        for bad in [&b"abc"[..], b"0", b"-1", b"", b"3.5", b"99999999999"] {
            assert_eq!(gomaxprocs_env(Some(bad)), None, "{:?}", bad);
        }
        assert_eq!(gomaxprocs_env(None), None);
    }

    #[test]
    fn godebug_string_fields() {
        let s = b"schedtrace=10,gorttrace=/tmp/a.json,x=1";
        assert_eq!(godebug_field(s, b"gorttrace"), Some(&b"/tmp/a.json"[..]));
        assert_eq!(godebug_field(b"gorttrace=a,gorttrace=b", b"gorttrace"), Some(&b"b"[..]));
        assert_eq!(godebug_field(b"gorttracex=a,gorttrace", b"gorttrace"), None);
        assert_eq!(godebug_field(b"gorttrace=", b"gorttrace"), Some(&b""[..]));
    }

    #[test]
    fn godebug_parsing() {
        let mut d = DebugVars::default();
        parse_godebug(b"schedtrace=1000,scheddetail=1,foo=bar,boottrace=1,asyncpreemptoff=1,forcepreemptns=5", &mut d);
        assert_eq!(
            d,
            DebugVars {
                schedtrace: 1000,
                scheddetail: 1,
                boottrace: 1,
                asyncpreemptoff: 1,
                forcepreemptns: 5,
                ..DebugVars::default()
            }
        );
        let mut d = DebugVars::default();
        parse_godebug(b"cpuprofile=/tmp/c.prof,memprofile=,memprofilerate=1,memprofile=m.prof", &mut d);
        assert_eq!(d.cpuprofile, Some(&b"/tmp/c.prof"[..]));
        assert_eq!(d.memprofile, Some(&b"m.prof"[..]));
        assert_eq!(d.memprofilerate, 1);
        let mut d = DebugVars::default();
        parse_godebug(b"schedtrace=x,=,,=,boottrace", &mut d);
        assert_eq!(d, DebugVars::default());
        let mut d = DebugVars::default();
        parse_godebug(b"boottrace=1,boottrace=0", &mut d);
        assert_eq!(d.boottrace, 0);
        static BIG: [u8; 65536] = [b'a'; 65536];
        let mut d = DebugVars::default();
        parse_godebug(&BIG, &mut d);
        assert_eq!(d, DebugVars::default());
    }

    #[test]
    fn gotraceback_values_as_go() {
        let t = |level, all, crash| Traceback { level, all, crash };
        assert_eq!(parse_traceback(None), t(1, false, false));
        assert_eq!(parse_traceback(Some(b"")), t(1, false, false));
        assert_eq!(parse_traceback(Some(b"none")), t(0, false, false));
        assert_eq!(parse_traceback(Some(b"single")), t(1, false, false));
        assert_eq!(parse_traceback(Some(b"all")), t(1, true, false));
        assert_eq!(parse_traceback(Some(b"system")), t(2, true, false));
        assert_eq!(parse_traceback(Some(b"crash")), t(2, true, true));
        assert_eq!(parse_traceback(Some(b"2")), t(2, true, false));
        assert_eq!(parse_traceback(Some(b"bogus")), t(0, true, false));
        assert_eq!(parse_traceback(Some(b"wer")).crash, cfg!(windows));
    }

    #[test]
    fn env_value_needs_exact_key() {
        assert_eq!(env_value(b"HOME=/root", b"HOME"), Some(&b"/root"[..]));
        assert_eq!(env_value(b"HOMER=x", b"HOME"), None);
        assert_eq!(env_value(b"HOME=", b"HOME"), Some(&b""[..]));
        assert_eq!(env_value(b"HOME", b"HOME"), None);
    }
}
