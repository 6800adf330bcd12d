//! The heap profile (Go's mprof.go: MemProfileRate, mProf_Malloc/mProf_Free, and
//! runtime/pprof's WriteHeapProfile), and the profile file writer both profiles share.
//!
//! **Sampling** (malloc.rs calls in): each P's cache keeps `next_sample`, the bytes still to
//! allocate before the next sampled object; the small-object fast path subtracts the request's
//! size from it and branches to `profilealloc` when it goes negative, so an unsampled allocation
//! pays one subtract-and-branch. Large and direct allocations (already slow) do the same through
//! `malloc::sampled`. The distance to the next sample is drawn from an exponential distribution of
//! mean `MemProfileRate` (512 KiB by default, Go's; `set_rate`, GODEBUG=memprofilerate=N; 0 turns
//! sampling off, 1 samples every allocation), as Go's nextSample, so every byte has the same
//! chance of being the one sampled.
//!
//! **Recording** (`profilealloc`): the allocating stack is walked with the traceback unwinder
//! from `capture` (on the M's g0 stack, through systemstack: a goroutine's may be 2 KB), and the
//! sample credited to its bucket (stack → allocated and freed objects and bytes) in `PROF`, a
//! lock; the object's address goes into `live` (address → bucket and size). While it records,
//! the P's `next_sample` stays at its maximum so the table's own allocations are not sampled;
//! `OWNER` names the g holding the lock, so an allocation or free the table makes under it (on
//! that same g) neither records nor waits for the lock it holds.
//!
//! **Frees** (`maybe_sampled`, `free`): a freed object is looked up only if its 8 KB page's
//! count in `PAGES` (page number modulo 65536: live sampled objects starting there) is not 0:
//! one load and a test per free; a false positive (another object of a page holding a live
//! sampled one, or of a page aliasing it) costs a locked lookup. A first version kept one bit
//! per page, never cleared: on a small heap every page soon had one, and bench alloc's frees
//! all took the lock (85 ns a pair instead of 30).
//!
//! **Writing** (`write_heap`): Go's four sample types, alloc_objects/count, alloc_space/bytes,
//! inuse_objects/count, inuse_space/bytes, each scaled by Go's scaleHeapSample
//! (1 / (1 − e^(−avg/rate))) so that they estimate the real totals, period space/bytes = rate.
//! The leading frames of the allocator (gort's, `alloc::`, `core::`, `__rust_*`) are dropped so
//! the innermost frame is the allocation site, as Go's profile starts at the caller of mallocgc.
//! Sizes are the requested ones (Go's are rounded up to the size class).

use alloc::collections::BTreeMap;
use alloc::string::String;
use alloc::vec::Vec;
use core::sync::atomic::{AtomicPtr, AtomicU32, AtomicUsize, Ordering};

use crate::io::{Error, ErrorKind};
use crate::lock_futex::Mutex;
use crate::pprof_proto::Symbol;

/// Go's MemProfileRate: the mean number of bytes between samples (0: off).
static RATE: AtomicUsize = AtomicUsize::new(512 * 1024);
/// Frames kept per sample (Go's maxStack).
const MAX_STACK: usize = 32;

/// The per-P sampling state, kept in its Mcache.
pub struct SampleState {
    /// Bytes to allocate before the next sample (negative: sample now).
    pub next_sample: isize,
    /// Whether a first distance was drawn (a fresh cache's countdown is 0, so its first
    /// allocation draws one: Go draws it when it makes the mcache).
    primed: bool,
}

impl SampleState {
    /// A fresh cache's.
    pub const fn new() -> Self {
        SampleState { next_sample: 0, primed: false }
    }
}

/// What one allocation site allocated and freed (sampled objects only).
#[derive(Clone, Copy, Default)]
struct Bucket {
    allocs: u64,
    alloc_bytes: u64,
    frees: u64,
    free_bytes: u64,
}

/// The sampled sites and the sampled objects still live.
struct Prof {
    buckets: BTreeMap<Vec<usize>, Bucket>,
    /// Address → (its bucket's stack, its size).
    live: BTreeMap<usize, (Vec<usize>, usize)>,
}

static PROF: Mutex<Prof> = Mutex::new(Prof { buckets: BTreeMap::new(), live: BTreeMap::new() });
/// The g holding PROF's lock (null if none): the table's own allocations and frees, made while
/// it is held, come back here on the same g and must neither record nor wait for the lock.
static OWNER: AtomicPtr<crate::gmp::G> = AtomicPtr::new(core::ptr::null_mut());

/// PROF, locked by the running g; None if this g holds it already (a nested call).
fn lock_prof() -> Option<ProfGuard> {
    let me = crate::arch::getg();
    // Relaxed: only this g stores `me` here, so reading `me` means this g holds the lock.
    if !me.is_null() && OWNER.load(Ordering::Relaxed) == me {
        return None;
    }
    let g = PROF.lock();
    OWNER.store(me, Ordering::Relaxed);
    Some(ProfGuard(g))
}

/// PROF's lock, with OWNER cleared before it is released.
struct ProfGuard(crate::lock_futex::MutexGuard<'static, Prof>);

impl Drop for ProfGuard {
    fn drop(&mut self) {
        OWNER.store(core::ptr::null_mut(), Ordering::Relaxed);
    }
}

impl core::ops::Deref for ProfGuard {
    type Target = Prof;
    fn deref(&self) -> &Prof {
        &self.0
    }
}

impl core::ops::DerefMut for ProfGuard {
    fn deref_mut(&mut self) -> &mut Prof {
        &mut self.0
    }
}

/// Per 8 KB page (modulo 65536 pages): how many sampled objects starting in it are live
/// (256 KB of .bss, touched only where objects are sampled).
static PAGES: [AtomicU32; 65536] = [const { AtomicU32::new(0) }; 65536];

/// The filter slot of `p`'s page.
#[inline(always)]
fn page_slot(p: usize) -> usize {
    (p >> 13) & 0xffff
}

/// Whether `p` may be a sampled object (then `free` must be told). Relaxed: the count was raised
/// before the object's address was returned to its allocating goroutine, which happens before
/// any free of it; it is lowered only when a sampled object is freed (under PROF's lock).
#[inline(always)]
pub fn maybe_sampled(p: *mut u8) -> bool {
    PAGES[page_slot(p as usize)].load(Ordering::Relaxed) != 0
}

/// Sets MemProfileRate (Go's runtime.MemProfileRate = rate): the mean bytes between samples.
/// Each P takes the new rate at its next sample.
pub fn set_rate(rate: usize) {
    RATE.store(rate, Ordering::Relaxed);
}

/// ln(x) for x > 0 (no libm in no_std): the exponent from the bits, log2 of the mantissa by a
/// few Newton-free series terms (relative error ~1e-7: plenty for sampling distances).
fn ln(x: f64) -> f64 {
    let bits = x.to_bits();
    let e = ((bits >> 52) & 0x7ff) as i64 - 1023;
    let m = f64::from_bits((bits & ((1 << 52) - 1)) | (1023 << 52)); // [1, 2)
                                                                     // ln(m) = 2 atanh((m-1)/(m+1))
    let t = (m - 1.0) / (m + 1.0);
    let t2 = t * t;
    let mut sum = 0.0;
    let mut term = t;
    let mut k = 1.0;
    for _ in 0..12 {
        sum += term / k;
        term *= t2;
        k += 2.0;
    }
    2.0 * sum + e as f64 * core::f64::consts::LN_2
}

/// e^x for x ≤ 0 (range-halved Taylor series).
fn exp_neg(x: f64) -> f64 {
    if x < -700.0 {
        return 0.0;
    }
    let mut k = 0;
    let mut y = x;
    while y < -0.5 {
        y /= 2.0;
        k += 1;
    }
    let (mut sum, mut term) = (1.0, 1.0);
    for i in 1..16 {
        term *= y / i as f64;
        sum += term;
    }
    for _ in 0..k {
        sum *= sum;
    }
    sum
}

/// Go's nextSample: an exponentially distributed distance of mean `rate` (isize::MAX when
/// sampling is off, 0 for every allocation).
fn next_sample() -> isize {
    let rate = RATE.load(Ordering::Relaxed);
    match rate {
        0 => isize::MAX,
        1 => 0,
        _ => {
            // Uniform in (0, 1], then -ln(u) * rate.
            let u = (crate::alg::fastrand() as f64 + 1.0) / 4_294_967_296.0;
            (-ln(u) * rate as f64).min(isize::MAX as f64 / 2.0) as isize
        }
    }
}

/// Sets the current P's distance to the next sample (nothing without a P).
fn set_next(n: isize) {
    crate::malloc::with_sample_state(|s| s.next_sample = n);
}

/// Records a sampled allocation of `size` bytes at `p` (Go's profilealloc + mProf_Malloc), and
/// draws the next distance. The caller is pinned to its P, whose countdown went negative; the
/// P's state is reached through short borrows (`with_sample_state`), since recording allocates
/// and those allocations use the same cache.
#[inline(never)]
#[cold]
pub fn profilealloc(p: *mut u8, size: usize) {
    let primed = crate::malloc::with_sample_state(|s| core::mem::replace(&mut s.primed, true));
    if primed == Some(false) {
        // The first distance, counted from before this allocation.
        let n = next_sample().saturating_sub(size as isize);
        set_next(n);
        if n >= 0 {
            return;
        }
    }
    // The table's own allocations (this P's, while it records) are not sampled.
    set_next(isize::MAX);
    let mut stack = [0usize; MAX_STACK];
    let n = callers(&mut stack);
    let key = stack[..n].to_vec();
    let Some(mut prof) = lock_prof() else {
        // An allocation of the table's, by the g holding it: not sampled.
        set_next(next_sample());
        return;
    };
    let b = prof.buckets.entry(key.clone()).or_default();
    b.allocs += 1;
    b.alloc_bytes += size as u64;
    if prof.live.insert(p as usize, (key, size)).is_none() {
        PAGES[page_slot(p as usize)].fetch_add(1, Ordering::Relaxed);
    }
    drop(prof);
    set_next(next_sample());
}

/// Go's mProf_Free: `p` (whose page bit is set) is freed; if it was sampled, its bucket is
/// credited. A free by the g holding the table (one of its own nodes) is not looked up.
pub fn free(p: *mut u8) {
    let Some(mut prof) = lock_prof() else { return };
    if let Some((key, size)) = prof.live.remove(&(p as usize)) {
        PAGES[page_slot(p as usize)].fetch_sub(1, Ordering::Relaxed);
        if let Some(b) = prof.buckets.get_mut(&key) {
            b.frees += 1;
            b.free_bytes += size as u64;
        }
    }
}

/// The stack of the caller's caller's … (this function's caller first), on the g0 stack.
#[inline(never)]
fn callers(out: &mut [usize]) -> usize {
    let mut regs = crate::traceback::Regs::new();
    // SAFETY: regs is a writable Regs; the frames it describes (ours and our callers') stay live
    // until this function returns.
    unsafe { crate::traceback::capture(&mut regs) };
    struct Args<'a> {
        regs: crate::traceback::Regs,
        out: &'a mut [usize],
        n: usize,
    }
    unsafe extern "C" fn walk(arg: usize) {
        // SAFETY: callers passes a pointer to its live Args.
        let a = unsafe { &mut *(arg as *mut Args<'_>) };
        if let Some((_, bounds)) = crate::proc::stack_holding(a.regs.sp()) {
            let mut storage = crate::traceback::WalkStorage::uninit();
            // SAFETY: bounds is the stack the registers were captured on (the goroutine's, or
            // g0's if we were on g0); its frames are live: its owner waits in systemstack.
            a.n = unsafe { crate::traceback::profile_frames(&a.regs, bounds, &mut storage, a.out) };
        }
    }
    let mut a = Args { regs, out, n: 0 };
    // Pinned: systemstack reads this M's g0 before it switches; a goroutine preempted (and
    // moved to another M) in the middle would run on the old M's g0 stack. (Its callers are
    // pinned already; this keeps callers() correct on its own.)
    let mp = crate::proc::acquirem();
    // SAFETY: walk neither parks nor switches goroutines; `a` outlives the call.
    unsafe { crate::arch::systemstack(walk, &mut a as *mut Args<'_> as usize) };
    crate::proc::releasem(mp);
    a.n
}

/// Whether a frame is the allocator's (dropped from the top of a heap sample).
fn allocator_frame(name: &str) -> bool {
    let path = name.strip_prefix('<').unwrap_or(name);
    path.starts_with("gort::")
        || path.starts_with("alloc::")
        || path.starts_with("core::")
        || name.starts_with("__rust")
        || name.starts_with("__rdl")
}

/// Go's scaleHeapSample: the estimated real (count, bytes) of `count` sampled objects totalling
/// `bytes`, sampled at `rate`.
fn scale(count: u64, bytes: u64, rate: usize) -> (i64, i64) {
    if count == 0 || bytes == 0 {
        return (0, 0);
    }
    if rate <= 1 {
        return (count as i64, bytes as i64);
    }
    let avg = bytes as f64 / count as f64;
    let s = 1.0 / (1.0 - exp_neg(-avg / rate as f64));
    ((count as f64 * s) as i64, (bytes as f64 * s) as i64)
}

/// Writes the heap profile to `path` (Go's pprof.WriteHeapProfile / Lookup("heap")).
pub fn write_heap(path: &[u8]) -> Result<(), Error> {
    let rate = RATE.load(Ordering::Relaxed);
    let buckets: Vec<(Vec<usize>, Bucket)> = match lock_prof() {
        Some(prof) => prof.buckets.iter().map(|(k, v)| (k.clone(), *v)).collect(),
        None => Vec::new(),
    };
    // The sampled stacks as they will be shown: the allocator's own frames dropped.
    let names = names_of(buckets.iter().flat_map(|(k, _)| k.iter().copied()));
    let samples: Vec<(Vec<usize>, [i64; 4])> = buckets
        .iter()
        .map(|(k, b)| {
            let skip = k.iter().take_while(|at| names.get(at).is_some_and(|s| allocator_frame(&s.name))).count();
            let skip = if skip == k.len() { 0 } else { skip };
            let (ao, ab) = scale(b.allocs, b.alloc_bytes, rate);
            let (io, ib) = scale(b.allocs - b.frees, b.alloc_bytes - b.free_bytes, rate);
            (k[skip..].to_vec(), [ao, ab, io, ib])
        })
        .collect();
    let h = crate::pprof_proto::Header {
        sample_types: &[
            ("alloc_objects", "count"),
            ("alloc_space", "bytes"),
            ("inuse_objects", "count"),
            ("inuse_space", "bytes"),
        ],
        period_type: ("space", "bytes"),
        period: rate as i64,
        time_nanos: crate::sys::walltime(),
        duration_nanos: 0,
    };
    write_named(path, &h, samples.iter().map(|(s, v)| (&s[..], &v[..])), &names)
}

/// Names every address of `ats` from the executable's `.symtab`, with its file and line from the
/// DWARF line tables where gort has `traceback-lines` and the program carries them.
fn names_of(ats: impl Iterator<Item = usize>) -> BTreeMap<usize, Symbol> {
    let mut all: Vec<usize> = ats.collect();
    all.sort_unstable();
    all.dedup();
    let mut out = BTreeMap::new();
    let Some(img) = crate::symtab::image() else { return out };
    crate::symtab::with_exe(&img, |file| {
        let Some(tab) = crate::symtab::symtab_of(crate::symtab::Class::NATIVE, file) else { return };
        #[cfg(feature = "traceback-lines")]
        let lines = crate::traceback::lines::Lines::new(file);
        for at in all {
            let mut name = String::new();
            if crate::traceback::profile_name(&tab, at, &mut name).is_some() {
                #[cfg(feature = "traceback-lines")]
                let mut inlined = lines.frames(at.wrapping_sub(img.bias));
                #[cfg(not(feature = "traceback-lines"))]
                let mut inlined = Vec::new();
                let line = inlined.pop().and_then(|(_, line)| line);
                out.insert(at, Symbol { name, line, inlined });
            }
        }
    });
    out
}

/// Names the addresses of `samples`, encodes the profile and writes it to `path` (cpuprof.rs
/// and the heap profile).
pub fn write_profile<'a>(
    path: &[u8],
    h: &crate::pprof_proto::Header,
    samples: impl Iterator<Item = (&'a [usize], &'a [i64])> + Clone,
) -> Result<(), Error> {
    let names = names_of(samples.clone().flat_map(|(s, _)| s.iter().copied()));
    write_named(path, h, samples, &names)
}

fn write_named<'a>(
    path: &[u8],
    h: &crate::pprof_proto::Header,
    samples: impl Iterator<Item = (&'a [usize], &'a [i64])>,
    names: &BTreeMap<usize, Symbol>,
) -> Result<(), Error> {
    let bytes = crate::pprof_proto::encode(h, samples, |at| names.get(&at).cloned());
    if path.is_empty() {
        return Err(Error::new(ErrorKind::InvalidInput, "empty profile path"));
    }
    crate::fs::File::create(path)?.write_all(&bytes)
}

/// The GODEBUG=memprofile=path hook, at exit: writes the heap profile, or says why not.
pub fn godebug_write(path: &[u8]) {
    if let Err(e) = write_heap(path) {
        crate::eprintln!("gort: GODEBUG=memprofile: {}", e);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ln_and_exp_are_close() {
        for &x in &[1e-9, 0.001, 0.5, 1.0, 2.0, 3.7, 1e6] {
            assert!((ln(x) - std::primitive::f64::ln(x)).abs() < 1e-6, "ln {}", x);
        }
        for &x in &[0.0, -0.1, -1.0, -5.0, -30.0] {
            let want = std::primitive::f64::exp(x);
            assert!((exp_neg(x) - want).abs() <= 1e-9 * want.max(1e-300) + 1e-300, "exp {}", x);
        }
    }

    #[test]
    fn heap_samples_scale_as_go() {
        // 512 KiB rate, 1 object of 4096 bytes sampled: Go estimates 1/(1-e^(-1/128)) ≈ 128.5.
        let (n, b) = scale(1, 4096, 512 * 1024);
        assert_eq!(n, 128);
        assert!((b - 4096 * 128).abs() < 4096, "{}", b);
        assert_eq!(scale(3, 300, 1), (3, 300));
        assert_eq!(scale(0, 0, 512), (0, 0));
    }

    #[test]
    fn page_filter_slots() {
        assert_eq!(page_slot(0x1234_5678), 0x1234_5678 >> 13 & 0xffff);
        assert_eq!(page_slot(0x2000), page_slot(0x3fff));
        assert!(page_slot(usize::MAX) < PAGES.len());
    }

    #[test]
    fn allocator_frames() {
        assert!(allocator_frame("gort::malloc::mcache_alloc"));
        assert!(allocator_frame("<gort::malloc::GoAlloc as core::alloc::global::GlobalAlloc>::alloc"));
        assert!(allocator_frame("alloc::raw_vec::RawVec<T,A>::grow_one"));
        assert!(allocator_frame("__rust_alloc"));
        assert!(!allocator_frame("heapleak::leak_site"));
    }
}
