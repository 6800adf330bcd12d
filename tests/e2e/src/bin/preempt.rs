//! e2e: asynchronous preemption (README "Preemption"). Goroutines that never enter the runtime
//! are preempted by signal; what they compute is unchanged by it. Modes:
//!
//! - `spin-print`: one goroutine spins in `loop { x = x.wrapping_mul(3) }`; a second one
//!   prints. On one P the print happens only if the spinner is preempted.
//! - `float N`: four goroutines run the same floating-point loop (scalar f64 and a 32-wide f64
//!   accumulator the compiler keeps in vector registers) while preempted every 100 µs or so;
//!   each prints its result, which must be bit-exact, and main checks that the runtime
//!   preempted them at least N times.
//! - `ymm N` (x86-64): four goroutines each hold their own 512 bits in every one of ymm0-15
//!   (lower and upper halves differ) through a spin loop in inline assembly, then check them
//!   bit-exact; preempted at least N times. The upper halves are what fxsave alone loses.
//! - `zmm N` (x86-64 with AVX-512): the same with zmm0-31 (2 KB each goroutine) and the opmask
//!   registers k1-k7.
//! - `alloc N`: four goroutines allocate and free blocks in a loop, each block filled with a
//!   pattern of its owner and checked before it is freed (the heap check); preempted at least N
//!   times, never inside the allocator. At the end every block is freed and the heap's in-use
//!   bytes are back near where they started.
//! - `stw`: with two goroutines spinning on two Ps, `gomaxprocs(1)` and `free_os_memory()`
//!   (both stop the world) return: the spinners are preempted by signal.
//! - `dump`: a goroutine preempted by signal shows its frames in `runtime::stack(true)` (read
//!   from its saved signal frame).
//! - `page-start`: a goroutine spinning in a two-instruction loop that begins at a page's first
//!   byte (assembly, on linux arm and arm64) is preempted: the check for a thread-pointer read
//!   just before the pc looks into the page before (it used to decline there, for good).
//! - `stress SECS`: eight spinners, a channel ring and allocating goroutines for SECS seconds;
//!   every goroutine must make progress.
#![no_std]
#![no_main]
gort::main!(main);

extern crate alloc;

use alloc::vec::Vec;
use core::hint::black_box;
use core::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use core::time::Duration;

static STOP: AtomicBool = AtomicBool::new(false);

fn arg_num(i: usize, default: u64) -> u64 {
    gort::os::args().get(i).and_then(|a| core::str::from_utf8(a).ok()).and_then(|s| s.parse().ok()).unwrap_or(default)
}

fn main() {
    let mode = gort::os::args().get(1).copied().unwrap_or(b"");
    match mode {
        b"spin-print" => spin_print(),
        b"float" => float(arg_num(2, 1000)),
        b"alloc" => alloc_mode(arg_num(2, 1000)),
        #[cfg(target_arch = "x86_64")]
        b"ymm" => ymm(arg_num(2, 1000)),
        #[cfg(target_arch = "x86_64")]
        b"zmm" => zmm(arg_num(2, 1000)),
        b"stress" => stress(arg_num(2, 10)),
        b"stw" => stw(),
        b"dump" => dump(false),
        b"dump-print" => dump(true),
        b"page-start" => page_start(),
        _ => {
            gort::eprintln!("usage: preempt spin-print|float N|alloc N|stw|dump|page-start|stress SECS");
            gort::os::exit(2);
        }
    }
}

fn spin() -> ! {
    let mut x: u64 = 1;
    loop {
        x = black_box(x.wrapping_mul(3));
    }
}

fn spin_print() {
    gort::go(|| spin());
    // The spinner runs while main sleeps; main wakes only if the spinner is preempted (its
    // timer is on the one P, which the spinner never gives up by itself).
    gort::sleep(Duration::from_millis(50));
    gort::println!("main ran again");
    let (tx, rx) = gort::chan::<()>(0);
    gort::go(move || {
        gort::println!("the second goroutine ran");
        tx.send(()).unwrap();
    });
    rx.recv().unwrap();
    gort::println!("main ran a third time");
    gort::eprintln!("async preemptions: {:?}", gort::testing::async_preemptions());
}

/// A floating-point workload whose result depends on every step, in scalar registers and in a
/// wide accumulator that lives in vector registers across iterations.
fn float_work(rounds: u32) -> (u64, u64) {
    let mut s = 0.5f64;
    let mut acc = [0.0f64; 32];
    for (i, a) in acc.iter_mut().enumerate() {
        *a = i as f64 * 0.25 + 1.0;
    }
    for r in 0..rounds {
        let k = black_box(1.0 + (r % 7) as f64 * 1e-9);
        for a in acc.iter_mut() {
            *a = *a * k + 1e-7;
        }
        s = s * 1.000_000_1 + (r as f64) / 3.0;
        s /= 1.000_000_3;
    }
    let sum: f64 = acc.iter().sum();
    (s.to_bits(), sum.to_bits())
}

fn float(min: u64) {
    const ROUNDS: u32 = 200_000;
    static DONE: AtomicBool = AtomicBool::new(false);
    let (before, _) = gort::testing::async_preemptions();
    let (tx, rx) = gort::chan::<(u64, u64, u64, u64)>(4);
    for _ in 0..4 {
        let tx = tx.clone();
        gort::go(move || {
            // The same computation again and again: every repetition must give the same bits.
            let first = float_work(ROUNDS);
            let (mut reps, mut wrong) = (1u64, 0u64);
            while !DONE.load(Ordering::Relaxed) {
                if float_work(ROUNDS) != first {
                    wrong += 1;
                }
                reps += 1;
            }
            tx.send((first.0, first.1, reps, wrong)).unwrap();
        });
    }
    let start = gort::time::Instant::now();
    while gort::testing::async_preemptions().0 - before < min && start.elapsed() < Duration::from_secs(30) {
        gort::sleep(Duration::from_millis(10));
    }
    DONE.store(true, Ordering::Relaxed);
    let mut results = Vec::new();
    for _ in 0..4 {
        results.push(rx.recv().unwrap());
    }
    let (a0, b0, _, _) = results[0];
    let agree = results.iter().all(|&(a, b, _, _)| a == a0 && b == b0);
    let wrong: u64 = results.iter().map(|r| r.3).sum();
    let reps: u64 = results.iter().map(|r| r.2).sum();
    gort::println!("results agree: {}", agree);
    gort::println!("repetitions that differ: {}", wrong);
    gort::println!("scalar {:#018x} vector {:#018x}", a0, b0);
    let n = gort::testing::async_preemptions().0 - before;
    gort::println!("preempted at least {}: {}", min, n >= min);
    gort::eprintln!("{} preemptions over {} repetitions", n, reps);
}

/// One round of `ymm`: loads ymm0-15 with 16 × 32 bytes made from `seed`, spins `spins` times
/// on a general register (where the preemptions land), stores ymm0-15 back and tells whether
/// every bit came back.
///
/// # Safety
/// The CPU has AVX (and the OS has it on).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx")]
unsafe fn ymm_round(seed: u64, spins: u64) -> bool {
    #[repr(align(32))]
    struct Regs([u64; 64]);
    let mut input = Regs([0; 64]);
    for (i, w) in input.0.iter_mut().enumerate() {
        // Every 64-bit lane distinct, the upper 128 bits of each register included.
        *w = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(i as u32) ^ (i as u64) << 56;
    }
    let mut output = Regs([0; 64]);
    // SAFETY: reads 512 bytes at `input`, writes 512 at `output` (both 32-aligned); every ymm
    // register and rcx are declared clobbered; AVX is there (the contract).
    unsafe {
        core::arch::asm!(
            "vmovdqa ymm0, [{i}]", "vmovdqa ymm1, [{i} + 32]", "vmovdqa ymm2, [{i} + 64]",
            "vmovdqa ymm3, [{i} + 96]", "vmovdqa ymm4, [{i} + 128]", "vmovdqa ymm5, [{i} + 160]",
            "vmovdqa ymm6, [{i} + 192]", "vmovdqa ymm7, [{i} + 224]", "vmovdqa ymm8, [{i} + 256]",
            "vmovdqa ymm9, [{i} + 288]", "vmovdqa ymm10, [{i} + 320]", "vmovdqa ymm11, [{i} + 352]",
            "vmovdqa ymm12, [{i} + 384]", "vmovdqa ymm13, [{i} + 416]", "vmovdqa ymm14, [{i} + 448]",
            "vmovdqa ymm15, [{i} + 480]",
            "2:",
            "dec rcx",
            "jnz 2b",
            "vmovdqa [{o}], ymm0", "vmovdqa [{o} + 32], ymm1", "vmovdqa [{o} + 64], ymm2",
            "vmovdqa [{o} + 96], ymm3", "vmovdqa [{o} + 128], ymm4", "vmovdqa [{o} + 160], ymm5",
            "vmovdqa [{o} + 192], ymm6", "vmovdqa [{o} + 224], ymm7", "vmovdqa [{o} + 256], ymm8",
            "vmovdqa [{o} + 288], ymm9", "vmovdqa [{o} + 320], ymm10", "vmovdqa [{o} + 352], ymm11",
            "vmovdqa [{o} + 384], ymm12", "vmovdqa [{o} + 416], ymm13", "vmovdqa [{o} + 448], ymm14",
            "vmovdqa [{o} + 480], ymm15",
            "vzeroupper",
            i = in(reg) input.0.as_ptr(),
            o = in(reg) output.0.as_mut_ptr(),
            inout("rcx") spins.max(1) => _,
            out("ymm0") _, out("ymm1") _, out("ymm2") _, out("ymm3") _,
            out("ymm4") _, out("ymm5") _, out("ymm6") _, out("ymm7") _,
            out("ymm8") _, out("ymm9") _, out("ymm10") _, out("ymm11") _,
            out("ymm12") _, out("ymm13") _, out("ymm14") _, out("ymm15") _,
            options(nostack),
        );
    }
    input.0 == output.0
}

/// Whether the CPU has AVX and the OS saves its state (CPUID.1:ECX AVX and OSXSAVE; XCR0 has
/// the SSE and AVX components).
#[cfg(target_arch = "x86_64")]
fn have_avx() -> bool {
    use core::arch::x86_64::{__cpuid, _xgetbv};
    let ecx = __cpuid(1).ecx;
    if ecx & (1 << 27) == 0 || ecx & (1 << 28) == 0 {
        return false;
    }
    // SAFETY: OSXSAVE is set, so xgetbv is available.
    let xcr0 = unsafe { _xgetbv(0) };
    xcr0 & 6 == 6
}

/// One round of `zmm`: as `ymm_round` with zmm0-31 (32 × 64 bytes) and k1-k7 (16 bits each).
///
/// # Safety
/// The CPU has AVX-512F (and the OS has it on).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn zmm_round(seed: u64, spins: u64) -> bool {
    #[repr(align(64))]
    struct Regs([u64; 256 + 8]);
    let mut input = Regs([0; 264]);
    for (i, w) in input.0.iter_mut().enumerate() {
        *w = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(i as u32) ^ (i as u64) << 56;
    }
    let mut output = Regs([0; 264]);
    // SAFETY: reads 2 KB + 64 at `input`, writes them at `output` (both 64-aligned); every zmm
    // register, k1-k7, rax and rcx are declared clobbered; AVX-512F is there (the contract).
    unsafe {
        core::arch::asm!(
            "vmovdqa64 zmm0, [{i}]", "vmovdqa64 zmm1, [{i} + 64]", "vmovdqa64 zmm2, [{i} + 128]",
            "vmovdqa64 zmm3, [{i} + 192]", "vmovdqa64 zmm4, [{i} + 256]", "vmovdqa64 zmm5, [{i} + 320]",
            "vmovdqa64 zmm6, [{i} + 384]", "vmovdqa64 zmm7, [{i} + 448]", "vmovdqa64 zmm8, [{i} + 512]",
            "vmovdqa64 zmm9, [{i} + 576]", "vmovdqa64 zmm10, [{i} + 640]", "vmovdqa64 zmm11, [{i} + 704]",
            "vmovdqa64 zmm12, [{i} + 768]", "vmovdqa64 zmm13, [{i} + 832]", "vmovdqa64 zmm14, [{i} + 896]",
            "vmovdqa64 zmm15, [{i} + 960]", "vmovdqa64 zmm16, [{i} + 1024]", "vmovdqa64 zmm17, [{i} + 1088]",
            "vmovdqa64 zmm18, [{i} + 1152]", "vmovdqa64 zmm19, [{i} + 1216]", "vmovdqa64 zmm20, [{i} + 1280]",
            "vmovdqa64 zmm21, [{i} + 1344]", "vmovdqa64 zmm22, [{i} + 1408]", "vmovdqa64 zmm23, [{i} + 1472]",
            "vmovdqa64 zmm24, [{i} + 1536]", "vmovdqa64 zmm25, [{i} + 1600]", "vmovdqa64 zmm26, [{i} + 1664]",
            "vmovdqa64 zmm27, [{i} + 1728]", "vmovdqa64 zmm28, [{i} + 1792]", "vmovdqa64 zmm29, [{i} + 1856]",
            "vmovdqa64 zmm30, [{i} + 1920]", "vmovdqa64 zmm31, [{i} + 1984]",
            "kmovw k1, word ptr [{i} + 2048]", "kmovw k2, word ptr [{i} + 2056]", "kmovw k3, word ptr [{i} + 2064]",
            "kmovw k4, word ptr [{i} + 2072]", "kmovw k5, word ptr [{i} + 2080]", "kmovw k6, word ptr [{i} + 2088]",
            "kmovw k7, word ptr [{i} + 2096]",
            "2:",
            "dec rcx",
            "jnz 2b",
            "vmovdqa64 [{o}], zmm0", "vmovdqa64 [{o} + 64], zmm1", "vmovdqa64 [{o} + 128], zmm2",
            "vmovdqa64 [{o} + 192], zmm3", "vmovdqa64 [{o} + 256], zmm4", "vmovdqa64 [{o} + 320], zmm5",
            "vmovdqa64 [{o} + 384], zmm6", "vmovdqa64 [{o} + 448], zmm7", "vmovdqa64 [{o} + 512], zmm8",
            "vmovdqa64 [{o} + 576], zmm9", "vmovdqa64 [{o} + 640], zmm10", "vmovdqa64 [{o} + 704], zmm11",
            "vmovdqa64 [{o} + 768], zmm12", "vmovdqa64 [{o} + 832], zmm13", "vmovdqa64 [{o} + 896], zmm14",
            "vmovdqa64 [{o} + 960], zmm15", "vmovdqa64 [{o} + 1024], zmm16", "vmovdqa64 [{o} + 1088], zmm17",
            "vmovdqa64 [{o} + 1152], zmm18", "vmovdqa64 [{o} + 1216], zmm19", "vmovdqa64 [{o} + 1280], zmm20",
            "vmovdqa64 [{o} + 1344], zmm21", "vmovdqa64 [{o} + 1408], zmm22", "vmovdqa64 [{o} + 1472], zmm23",
            "vmovdqa64 [{o} + 1536], zmm24", "vmovdqa64 [{o} + 1600], zmm25", "vmovdqa64 [{o} + 1664], zmm26",
            "vmovdqa64 [{o} + 1728], zmm27", "vmovdqa64 [{o} + 1792], zmm28", "vmovdqa64 [{o} + 1856], zmm29",
            "vmovdqa64 [{o} + 1920], zmm30", "vmovdqa64 [{o} + 1984], zmm31",
            "kmovw eax, k1", "mov qword ptr [{o} + 2048], rax", "kmovw eax, k2", "mov qword ptr [{o} + 2056], rax",
            "kmovw eax, k3", "mov qword ptr [{o} + 2064], rax", "kmovw eax, k4", "mov qword ptr [{o} + 2072], rax",
            "kmovw eax, k5", "mov qword ptr [{o} + 2080], rax", "kmovw eax, k6", "mov qword ptr [{o} + 2088], rax",
            "kmovw eax, k7", "mov qword ptr [{o} + 2096], rax",
            "vzeroupper",
            i = in(reg) input.0.as_ptr(),
            o = in(reg) output.0.as_mut_ptr(),
            inout("rcx") spins.max(1) => _,
            out("rax") _,
            out("zmm0") _, out("zmm1") _, out("zmm2") _, out("zmm3") _, out("zmm4") _, out("zmm5") _,
            out("zmm6") _, out("zmm7") _, out("zmm8") _, out("zmm9") _, out("zmm10") _, out("zmm11") _,
            out("zmm12") _, out("zmm13") _, out("zmm14") _, out("zmm15") _, out("zmm16") _, out("zmm17") _,
            out("zmm18") _, out("zmm19") _, out("zmm20") _, out("zmm21") _, out("zmm22") _, out("zmm23") _,
            out("zmm24") _, out("zmm25") _, out("zmm26") _, out("zmm27") _, out("zmm28") _, out("zmm29") _,
            out("zmm30") _, out("zmm31") _,
            out("k1") _, out("k2") _, out("k3") _, out("k4") _, out("k5") _, out("k6") _, out("k7") _,
            options(nostack),
        );
    }
    // The opmask words hold 16 bits each.
    let k_ok = (0..7).all(|j| output.0[256 + j] == input.0[256 + j] & 0xffff);
    input.0[..256] == output.0[..256] && k_ok
}

/// Whether the CPU has AVX-512F and the OS saves its state (XCR0: opmask, ZMM_Hi256, Hi16_ZMM).
#[cfg(target_arch = "x86_64")]
fn have_avx512() -> bool {
    use core::arch::x86_64::{__cpuid_count, _xgetbv};
    if !have_avx() || __cpuid_count(7, 0).ebx & (1 << 16) == 0 {
        return false;
    }
    // SAFETY: have_avx() saw OSXSAVE, so xgetbv is available.
    let xcr0 = unsafe { _xgetbv(0) };
    xcr0 & 0xe6 == 0xe6
}

/// `ymm` and `zmm`: four goroutines run `round` until the runtime preempted them `min` times.
#[cfg(target_arch = "x86_64")]
fn vector_regs(min: u64, what: &str, round: unsafe fn(u64, u64) -> bool) {
    static DONE: AtomicBool = AtomicBool::new(false);
    let (before, _) = gort::testing::async_preemptions();
    let (tx, rx) = gort::chan::<(u64, u64)>(4);
    for id in 1..=4u64 {
        let tx = tx.clone();
        gort::go(move || {
            let (mut rounds, mut wrong) = (0u64, 0u64);
            while !DONE.load(Ordering::Relaxed) {
                // SAFETY: the caller checked the CPU.
                if !unsafe { round(id << 32 | rounds, 300_000) } {
                    wrong += 1;
                }
                rounds += 1;
            }
            tx.send((rounds, wrong)).unwrap();
        });
    }
    // Up to 60 s: SuspendThread under wine on a loaded machine is slow (2000 took 25 s once).
    let start = gort::time::Instant::now();
    while gort::testing::async_preemptions().0 - before < min && start.elapsed() < Duration::from_secs(60) {
        gort::sleep(Duration::from_millis(10));
    }
    DONE.store(true, Ordering::Relaxed);
    let (mut rounds, mut wrong) = (0, 0);
    for _ in 0..4 {
        let (r, w) = rx.recv().unwrap();
        rounds += r;
        wrong += w;
    }
    let n = gort::testing::async_preemptions().0 - before;
    gort::println!("rounds that lost {} bits: {}", what, wrong);
    gort::println!("preempted at least {}: {}", min, n >= min);
    gort::eprintln!("{} preemptions over {} rounds", n, rounds);
}

#[cfg(target_arch = "x86_64")]
fn ymm(min: u64) {
    if !have_avx() {
        gort::println!("this CPU has no AVX: nothing checked");
        gort::os::exit(1);
    }
    vector_regs(min, "ymm", ymm_round);
}

#[cfg(target_arch = "x86_64")]
fn zmm(min: u64) {
    if !have_avx512() {
        gort::println!("this CPU has no AVX-512F: nothing checked");
        gort::os::exit(1);
    }
    vector_regs(min, "zmm/k", zmm_round);
}

/// One allocating goroutine: blocks of varying size, each filled with (owner, serial) and
/// checked before it is freed; returns how many blocks it checked.
fn alloc_worker(id: u64, until: &AtomicBool) -> u64 {
    let mut live: Vec<Vec<u64>> = Vec::new();
    let mut serial = 0u64;
    let mut checked = 0u64;
    while !until.load(Ordering::Relaxed) {
        serial += 1;
        let len = 1 + (serial * 7 + id) as usize % 300;
        let tag = id << 48 | serial;
        let mut v = Vec::with_capacity(len);
        v.resize(len, tag);
        live.push(v);
        if live.len() > 64 {
            let v = live.swap_remove((serial as usize * 13) % live.len());
            let t = v[0];
            if v.iter().any(|&w| w != t) || t >> 48 != id {
                gort::eprintln!("heap check: block of goroutine {} corrupted", id);
                gort::os::exit(1);
            }
            checked += 1;
        }
    }
    checked
}

fn alloc_mode(min: u64) {
    let _ = gort::free_os_memory();
    let base = gort::read_mem_stats().heap_inuse;
    let (before, _) = gort::testing::async_preemptions();
    static DONE: AtomicBool = AtomicBool::new(false);
    let (tx, rx) = gort::chan::<u64>(4);
    for id in 1..=4 {
        let tx = tx.clone();
        gort::go(move || tx.send(alloc_worker(id, &DONE)).unwrap());
    }
    // Run until enough preemptions happened (or 60 s: then the count check fails; wine on a
    // loaded machine took up to 20 s).
    let start = gort::time::Instant::now();
    while gort::testing::async_preemptions().0 - before < min && start.elapsed() < Duration::from_secs(60) {
        gort::sleep(Duration::from_millis(10));
    }
    DONE.store(true, Ordering::Relaxed);
    let mut checked = 0;
    for _ in 0..4 {
        checked += rx.recv().unwrap();
    }
    let n = gort::testing::async_preemptions().0 - before;
    gort::println!("blocks checked: {}", checked > 0);
    gort::println!("preempted at least {}: {}", min, n >= min);
    let _ = gort::free_os_memory();
    let after = gort::read_mem_stats().heap_inuse;
    let ok = after <= base + (256 << 10);
    gort::println!("heap back to its start: {}", ok);
    if !ok {
        gort::eprintln!("heap in use: {} before, {} after", base, after);
    }
}

fn stress(secs: u64) {
    static SPINS: [AtomicU64; 8] = [const { AtomicU64::new(0) }; 8];
    static RING: AtomicU64 = AtomicU64::new(0);
    static ALLOCS: AtomicU64 = AtomicU64::new(0);
    for (i, c) in SPINS.iter().enumerate() {
        gort::go(move || {
            let mut x = i as u64 + 1;
            while !STOP.load(Ordering::Relaxed) {
                for _ in 0..10_000 {
                    x = black_box(x.wrapping_mul(3).wrapping_add(1));
                }
                c.fetch_add(1, Ordering::Relaxed);
            }
            black_box(x);
        });
    }
    // A ring of four goroutines passing a token.
    let mut chans = Vec::new();
    for _ in 0..4 {
        chans.push(gort::chan::<u64>(0));
    }
    let (txs, rxs): (Vec<_>, Vec<_>) = chans.into_iter().unzip();
    let mut rxs: Vec<_> = rxs.into_iter().map(Some).collect();
    for i in 0..4 {
        let rx = rxs[i].take().unwrap();
        let tx = txs[(i + 1) % 4].clone();
        gort::go(move || {
            while let Some(v) = rx.recv() {
                RING.fetch_add(1, Ordering::Relaxed);
                if STOP.load(Ordering::Relaxed) || tx.send(v + 1).is_err() {
                    break;
                }
            }
        });
    }
    txs[0].send(0).unwrap();
    drop(txs);
    static ALLOC_DONE: AtomicBool = AtomicBool::new(false);
    for id in 1..=2 {
        gort::go(move || {
            ALLOCS.fetch_add(alloc_worker(id, &ALLOC_DONE), Ordering::Relaxed);
        });
    }
    gort::sleep(Duration::from_secs(secs));
    STOP.store(true, Ordering::Relaxed);
    ALLOC_DONE.store(true, Ordering::Relaxed);
    gort::sleep(Duration::from_millis(200));
    let spinners_ran = SPINS.iter().all(|c| c.load(Ordering::Relaxed) > 0);
    gort::println!("every spinner ran: {}", spinners_ran);
    gort::println!("the ring moved: {}", RING.load(Ordering::Relaxed) > 100);
    gort::println!("allocators ran: {}", ALLOCS.load(Ordering::Relaxed) > 0);
}

fn stw() {
    gort::gomaxprocs(2);
    for _ in 0..2 {
        gort::go(|| spin());
    }
    // Both spinners are running (main sleeps meanwhile on the timer of some P).
    gort::sleep(Duration::from_millis(50));
    let old = gort::gomaxprocs(1);
    gort::println!("gomaxprocs(1) returned {}", old);
    let _ = gort::free_os_memory();
    gort::println!("free_os_memory returned");
    gort::gomaxprocs(2);
    gort::println!("gomaxprocs(2) returned");
}

#[inline(never)]
fn spin_for_dump() -> ! {
    let mut x: u64 = 1;
    loop {
        x = black_box(x.wrapping_mul(5));
    }
}

/// `print`: the dump goes to stderr even when it shows the frames (windows names them only
/// through the case's `symbolize`, from the PDB).
fn dump(print: bool) {
    let (before, _) = gort::testing::async_preemptions();
    for _ in 0..2 {
        gort::go(|| spin_for_dump());
    }
    while gort::testing::async_preemptions().0 - before < 4 {
        gort::sleep(Duration::from_millis(5));
    }
    let s = gort::runtime::stack(true);
    // One spinner may be running on the other thread; the other waits, preempted, runnable.
    let shown = s.split("\n\n").any(|g| g.contains("[runnable]") && g.contains("spin_for_dump"));
    if print {
        gort::println!("dumped");
        gort::eprintln!("{}", s);
        return;
    }
    gort::println!("a preempted goroutine shows its frames: {}", shown);
    if !shown {
        gort::eprintln!("{}", s);
    }
}

// A loop at a page's first instruction, after a page of no-ops (no thread-pointer read in the
// 48 bytes before it, whatever the linker puts first).
#[cfg(all(target_os = "linux", target_arch = "aarch64"))]
core::arch::global_asm!(
    ".section .text.e2e_spin_at_page_start,\"ax\",%progbits",
    ".p2align 12",
    ".fill 1024, 4, 0xd503201f", // nop
    ".globl e2e_spin_at_page_start",
    ".type e2e_spin_at_page_start, %function",
    "e2e_spin_at_page_start:",
    "1: add x9, x9, #1",
    "b 1b",
    ".size e2e_spin_at_page_start, . - e2e_spin_at_page_start",
    ".text",
);
#[cfg(all(target_os = "linux", target_arch = "arm"))]
core::arch::global_asm!(
    ".section .text.e2e_spin_at_page_start,\"ax\",%progbits",
    ".arm",
    ".p2align 12",
    ".fill 1024, 4, 0xe320f000", // nop
    ".globl e2e_spin_at_page_start",
    ".type e2e_spin_at_page_start, %function",
    "e2e_spin_at_page_start:",
    "1: add r12, r12, #1",
    "b 1b",
    ".size e2e_spin_at_page_start, . - e2e_spin_at_page_start",
    ".text",
);

#[cfg(all(target_os = "linux", any(target_arch = "aarch64", target_arch = "arm")))]
fn spin_at_page_start() -> ! {
    extern "C" {
        fn e2e_spin_at_page_start() -> !;
    }
    assert_eq!(e2e_spin_at_page_start as *const () as usize & 0xfff, 0, "the loop is not at a page start");
    // SAFETY: the loop touches one scratch register and never returns.
    unsafe { e2e_spin_at_page_start() }
}

// Elsewhere there is no window before the pc to look at: any spinner shows the same.
#[cfg(not(all(target_os = "linux", any(target_arch = "aarch64", target_arch = "arm"))))]
fn spin_at_page_start() -> ! {
    spin_for_dump()
}

/// On one P (the case's GOMAXPROCS=1), main runs again only if the spinner is preempted.
fn page_start() {
    let (before, _) = gort::testing::async_preemptions();
    gort::go(|| spin_at_page_start());
    while gort::testing::async_preemptions().0 - before < 3 {
        gort::sleep(Duration::from_millis(5));
    }
    gort::println!("a loop at a page start was preempted");
}
