//! The CPU profiler (Go's cpuprof.go, profbuf.go and runtime/pprof's StartCPUProfile /
//! StopCPUProfile / profileWriter), linux only.
//!
//! **Sampling.** `start` installs the SIGPROF handler and arms `setitimer(ITIMER_PROF)` at 100 Hz
//! of the process's CPU time: the kernel sends SIGPROF to whichever thread is running when a
//! period's worth of CPU was used, so each M is sampled in proportion to the CPU it burns (Go
//! did exactly this before 1.18). Go 1.18+ gives each M its own
//! `timer_create(CLOCK_THREAD_CPUTIME_ID, SIGEV_THREAD_ID)` timer, because with many busy
//! threads the process-wide timer's signals cluster on few threads and the kernel caps delivery;
//! that needs a timer per M created in minit and deleted in mexit, which gort does not have yet.
//! Under qemu-user, ITIMER_PROF is the host kernel's timer of the emulator process: it works (the
//! e2e case runs under qemu-aarch64 and qemu-arm) and measures the emulator's CPU.
//!
//! **The handler** (`sigprof`) runs on the interrupted thread's signal stack with every signal
//! blocked (setsig's mask), so it never nests. It reads the interrupted registers from the
//! ucontext, finds the stack they are on (the M's current goroutine, g0 or gsignal:
//! `proc::stack_holding`) and walks it with the traceback unwinder (`traceback::profile_frames`,
//! its rule rows in a local on the signal stack), then copies the addresses into a slot of the
//! ring. Nothing allocates, locks or makes a system call: the walk reads only the interrupted
//! stack and the read-only unwind tables, the ring is claimed with a CAS. A thread without a g, or
//! a stack not among its M's, records the interrupted pc alone.
//!
//! **The ring** (Go's profBuf, simplified to fixed-size slots): `SLOTS` slots of `MAX_STACK`
//! addresses, many producers (the handlers of every thread), one consumer (the drainer, under
//! `AGG`'s lock). Producer: load `head` and `tail`; if the ring is full count the sample as lost
//! (Go's `lostProfileEvents`), else CAS `head` from h to h+1, which claims slot h alone, fill it
//! and publish it by storing `seq = h + 1` (Release). Consumer: slot `tail` is complete when its
//! `seq` is `tail + 1` (Acquire pairs with that Release, so the filled words are visible); it
//! copies it out, then stores `tail + 1` (Release). A producer reuses slot h only after reading
//! a `tail` past h − SLOTS (Acquire, pairing with the consumer's Release), so the consumer has
//! finished reading it. A slot claimed but not yet published stops the drain there until its
//! handler finishes (it runs to completion: handlers never block).
//!
//! **Start and stop.** `ON` gates the handler; `ACTIVE` counts handlers inside the gate. A
//! handler increments ACTIVE then loads ON, `stop` stores ON = false then loads ACTIVE (all
//! SeqCst): either the handler sees false and leaves, or stop sees it and waits, so once stop
//! has seen ACTIVE == 0 no handler touches the ring again and the last drain is complete.
//!
//! **The writer.** A goroutine (Go's profileWriter) drains the ring into `AGG` (stack → count,
//! Go's profMap) when it is half full, and `stop` disarms the timer, waits as above, drains the
//! rest and writes the profile (pprof_proto.rs): sample types `samples/count` and
//! `cpu/nanoseconds`, period 10 ms of cpu, names from `.symtab`. The writer waits in the kernel,
//! not on a gort timer: it runs inside `syscall::blocking` for the whole profile, on an M of its
//! own and without a P (Go's profileWriter sleeps in notetsleepg the same way), sleeping on the
//! futex word `WAKE`, and the handler that fills the ring to half wakes it (one futex system
//! call per `SLOTS / 2` samples); it drains without ever asking the scheduler for a P. A writer
//! that slept in `time::sleep` instead (as it did first, every 100 ms) left a timer on a P for
//! the whole profile, and a P with a timer reads the clock in every `schedule` and loses the
//! scheduler's fast paths: on skynet that was most of the profiler's cost (README "Debugging",
//! Profiles).
//! `WAKE` protocol: the writer stores 0 (SeqCst), drains, and sleeps while the word is 0; a
//! handler that sees the ring at least half full after publishing swaps in 1 (SeqCst) and wakes
//! the writer if the old value was 0. A handler's swap either comes after the writer's store
//! (it sees 0 and wakes, or the writer's sleep sees 1 and returns at once) or before it, and then
//! the writer's drain after that store sees the published slot; so a half-full ring is never
//! left waiting. `stop` stores 1 and wakes the writer, which sees `GEN` moved and ends.

use alloc::collections::BTreeMap;
use alloc::vec::Vec;
use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};

use crate::io::{Error, ErrorKind};
use crate::lock_futex::Mutex;
use crate::sys as os;

/// Samples per second (Go's default, runtime/pprof's hz).
pub const HZ: usize = 100;
/// Frames kept per sample (Go's maxCPUProfStack).
const MAX_STACK: usize = 64;
/// Slots in the ring: 10 s of one busy thread at 100 Hz, drained every 100 ms.
const SLOTS: usize = 1024;

/// One sample: its publication word and its addresses.
struct Slot {
    /// h + 1 once the sample claimed as number h is complete.
    seq: AtomicUsize,
    n: UnsafeCell<usize>,
    pcs: UnsafeCell<[usize; MAX_STACK]>,
}

/// The ring (see the module doc).
struct ProfBuf {
    head: AtomicUsize,
    tail: AtomicUsize,
    slots: [Slot; SLOTS],
}

// SAFETY: a slot's cells are written only by the producer that claimed it (CAS on head) and read
// only by the consumer after the Release/Acquire pair on seq; see the module doc.
unsafe impl Sync for ProfBuf {}

#[allow(clippy::declare_interior_mutable_const)]
const EMPTY_SLOT: Slot = Slot { seq: AtomicUsize::new(0), n: UnsafeCell::new(0), pcs: UnsafeCell::new([0; MAX_STACK]) };

/// The ring: static, so the handler never wonders whether it exists (about 530 KB of zeros in
/// .bss: untouched pages cost nothing until a profile runs).
static BUF: ProfBuf = ProfBuf { head: AtomicUsize::new(0), tail: AtomicUsize::new(0), slots: [EMPTY_SLOT; SLOTS] };

/// The handler records only while this is set.
static ON: AtomicBool = AtomicBool::new(false);
/// Handlers past the ON gate.
static ACTIVE: AtomicUsize = AtomicUsize::new(0);
/// Samples dropped because the ring was full.
static LOST: AtomicUsize = AtomicUsize::new(0);
/// Bumped by each start: a drainer goroutine of an earlier profile stops.
static GEN: AtomicU32 = AtomicU32::new(0);
/// The writer's futex word: 1 once a handler (or `stop`) asked it to drain (module doc).
static WAKE: AtomicU32 = AtomicU32::new(0);
/// Samples the ring holds before it counts them lost (SLOTS; less only for a test, so that the
/// writer must drain during a short profile: `set_ring_limit`). The writer is woken at half.
static LIMIT: AtomicUsize = AtomicUsize::new(SLOTS);

/// Makes the ring hold at most `slots` samples (clamped to 2 ..= SLOTS) from the next sample on
/// (gort::testing's hook: a short profile then needs the writer to drain it as it runs).
#[cfg(feature = "testing")]
pub fn set_ring_limit(slots: usize) {
    LIMIT.store(slots.clamp(2, SLOTS), Ordering::Relaxed);
}

/// The running profile: where it goes, when it began, and the samples drained so far.
struct Agg {
    path: Vec<u8>,
    start_ns: i64,
    start_wall: i64,
    counts: BTreeMap<Vec<usize>, i64>,
}

/// The profile being taken (None when none is).
static AGG: Mutex<Option<Agg>> = Mutex::new(None);

/// The SIGPROF handler: one sample of the interrupted stack into the ring.
///
/// # Safety
/// Installed with SA_SIGINFO|SA_ONSTACK and every signal masked; called by the kernel with a
/// valid ucontext, on the thread's signal stack.
unsafe extern "C" fn sigprof(_sig: i32, _info: *mut u8, uc: *mut u8) {
    ACTIVE.fetch_add(1, Ordering::SeqCst);
    if ON.load(Ordering::SeqCst) {
        // SAFETY: uc is the kernel's ucontext for this handler.
        unsafe { record(uc) };
    }
    ACTIVE.fetch_sub(1, Ordering::Release);
}

/// Walks the interrupted stack and publishes it in a slot (the handler's body).
///
/// # Safety
/// `uc` is the ucontext of the running SIGPROF handler.
unsafe fn record(uc: *mut u8) {
    let mut pcs = [0usize; MAX_STACK];
    // SAFETY: uc is the kernel's ucontext (the contract).
    let regs = unsafe { crate::traceback::signal_regs(uc) };
    // SAFETY: as above.
    let pc = unsafe { os::sigctxt_pc_sp(uc) }.0;
    let n = if pc == crate::proc::gopreempt_m as *const () as usize {
        // SAFETY: this thread's preemption handler has just sent it into gopreempt_m (below).
        unsafe { preempted_frames(&mut pcs) }
    } else {
        0
    };
    let n = match crate::proc::stack_holding(regs.sp()) {
        _ if n != 0 => n,
        Some((_, bounds)) => {
            let mut storage = crate::traceback::WalkStorage::uninit();
            // SAFETY: bounds is the stack of this thread's g0, gsignal or current goroutine
            // holding the interrupted sp; the interrupted code is stopped while its handler runs.
            unsafe { crate::traceback::profile_frames(&regs, bounds, &mut storage, &mut pcs) }
        }
        None => 0,
    };
    let n = if n == 0 {
        pcs[0] = pc;
        1
    } else {
        n
    };
    let limit = LIMIT.load(Ordering::Relaxed);
    let mut h = BUF.head.load(Ordering::Relaxed);
    loop {
        if h.wrapping_sub(BUF.tail.load(Ordering::Acquire)) >= limit {
            LOST.fetch_add(1, Ordering::Relaxed);
            return;
        }
        match BUF.head.compare_exchange_weak(h, h.wrapping_add(1), Ordering::Relaxed, Ordering::Relaxed) {
            Ok(_) => break,
            Err(now) => h = now,
        }
    }
    let slot = &BUF.slots[h % SLOTS];
    // SAFETY: the CAS gave this handler slot h alone, and the consumer is done with its previous
    // use (the tail check); it reads the cells only after the Release below.
    unsafe {
        *slot.n.get() = n;
        (&mut *slot.pcs.get())[..n].copy_from_slice(&pcs[..n]);
    }
    slot.seq.store(h.wrapping_add(1), Ordering::Release);
    // Half full: wake the writer (once per filling; see the module doc for the protocol).
    if h.wrapping_add(1).wrapping_sub(BUF.tail.load(Ordering::Relaxed)) >= limit / 2
        && WAKE.swap(1, Ordering::SeqCst) == 0
    {
        os::futexwakeup(&WAKE, i32::MAX as u32); // every writer: an old one may still sleep
    }
}

/// The stack of the goroutine this thread's asynchronous preemption has just stopped.
///
/// The preemption handler (preempt.rs) saves the goroutine's registers, makes g0 current and
/// returns into `gopreempt_m(gp)` on g0's stack; a SIGPROF pending meanwhile (both come at the
/// same timer ticks: sysmon's 10 ms preemption and the profiling period) is delivered right
/// there, at gopreempt_m's first instruction. Walked as it is, that is one frame,
/// `gopreempt_m`, which then took 10-30 % of a profile of two busy goroutines on a loaded
/// machine; the CPU time was the goroutine's, so the sample walks the goroutine from the
/// context its handler saved (`g.sched.ctx`, what tracebacks use for it too). 0 if the M's curg
/// is not such a goroutine.
///
/// # Safety
/// Called by the SIGPROF handler when the interrupted pc is gopreempt_m's entry: curg is then
/// the g being switched out by this M, which no other M can run before gopreempt_m queues it,
/// after this handler returns; its stack and save area are live and unchanging meanwhile.
unsafe fn preempted_frames(pcs: &mut [usize]) -> usize {
    let mp = crate::proc::getm();
    if mp.is_null() {
        return 0;
    }
    // SAFETY: mp is this thread's M; curg, if set, is a live g (gs are never freed).
    let gp = unsafe { (*mp).curg };
    if gp.is_null() || !crate::preempt::resumes_async(gp) {
        return 0;
    }
    // SAFETY: gp was preempted asynchronously (resumes_async), so sched.ctx is the ucontext copy
    // in its save area, and its stack is as the signal found it (the contract).
    unsafe {
        let regs = crate::traceback::signal_regs((*gp).sched.ctx as *const u8);
        let bounds = ((*gp).stack.lo, (*gp).stack.hi);
        let mut storage = crate::traceback::WalkStorage::uninit();
        crate::traceback::profile_frames(&regs, bounds, &mut storage, pcs)
    }
}

/// Moves every complete sample from the ring into `agg` (the consumer; the caller holds AGG's
/// lock, so there is one).
fn drain(agg: &mut Agg) {
    loop {
        let t = BUF.tail.load(Ordering::Relaxed);
        let slot = &BUF.slots[t % SLOTS];
        if slot.seq.load(Ordering::Acquire) != t.wrapping_add(1) {
            return;
        }
        // SAFETY: the slot is published (seq, Acquire) and no producer reuses it before the tail
        // store below.
        let stack = unsafe { (&*slot.pcs.get())[..*slot.n.get()].to_vec() };
        BUF.tail.store(t.wrapping_add(1), Ordering::Release);
        *agg.counts.entry(stack).or_insert(0) += 1;
    }
}

/// Starts a CPU profile to be written to `path` at `stop` (Go's pprof.StartCPUProfile).
/// AlreadyExists if one is running.
pub fn start(path: &[u8]) -> Result<(), Error> {
    let mut agg = AGG.lock();
    if agg.is_some() {
        return Err(Error::new(ErrorKind::AlreadyExists, "cpu profiling already in use"));
    }
    // Create the file now, so a bad path fails here and not at stop.
    crate::fs::File::create(path)?;
    *agg = Some(Agg {
        path: path.to_vec(),
        start_ns: crate::time::nanotime(),
        start_wall: os::walltime(),
        counts: BTreeMap::new(),
    });
    drop(agg);
    let gen = GEN.fetch_add(1, Ordering::Relaxed).wrapping_add(1);
    LOST.store(0, Ordering::Relaxed);
    os::setsig(os::SIGPROF, sigprof);
    ON.store(true, Ordering::SeqCst);
    if !os::setitimer_prof(1_000_000 / HZ) {
        ON.store(false, Ordering::SeqCst);
        *AGG.lock() = None;
        return Err(Error::new(ErrorKind::Unsupported, "setitimer(ITIMER_PROF) failed"));
    }
    // The writer (Go's profileWriter): drains when a handler finds the ring half full, until
    // this profile stops. All of it runs as one blocking system call, on an M of its own without
    // a P (the drain only allocates and takes AGG's runtime lock, both fine there): it holds no
    // timer and needs no P to wake up and drain (module doc).
    crate::go(move || {
        crate::syscall::blocking(|| loop {
            WAKE.store(0, Ordering::SeqCst);
            match &mut *AGG.lock() {
                Some(a) if GEN.load(Ordering::Relaxed) == gen => drain(a),
                _ => return,
            }
            while WAKE.load(Ordering::SeqCst) == 0 {
                os::futexsleep(&WAKE, 0, -1);
            }
        })
    });
    Ok(())
}

/// Stops the CPU profile and writes it (Go's pprof.StopCPUProfile). Nothing to do (Ok) if none
/// runs.
pub fn stop() -> Result<(), Error> {
    let mut guard = AGG.lock();
    let Some(mut agg) = guard.take() else { return Ok(()) };
    GEN.fetch_add(1, Ordering::Relaxed);
    // The writer wakes, sees GEN moved, and ends (it takes AGG's lock after we drop it).
    WAKE.store(1, Ordering::SeqCst);
    os::futexwakeup(&WAKE, i32::MAX as u32); // every writer: an old one may still sleep
    os::setitimer_prof(0);
    ON.store(false, Ordering::SeqCst);
    while ACTIVE.load(Ordering::SeqCst) != 0 {
        os::osyield();
    }
    drain(&mut agg);
    drop(guard);
    let duration = crate::time::nanotime() - agg.start_ns;
    let period = 1_000_000_000 / HZ as i64;
    let mut samples: Vec<(Vec<usize>, [i64; 2])> =
        agg.counts.into_iter().map(|(stack, n)| (stack, [n, n * period])).collect();
    let lost = LOST.swap(0, Ordering::Relaxed) as i64;
    if lost > 0 {
        samples.push((Vec::from([lost_profile_events as *const () as usize]), [lost, lost * period]));
    }
    let h = crate::pprof_proto::Header {
        sample_types: &[("samples", "count"), ("cpu", "nanoseconds")],
        period_type: ("cpu", "nanoseconds"),
        period,
        time_nanos: agg.start_wall,
        duration_nanos: duration,
    };
    crate::mprof::write_profile(&agg.path, &h, samples.iter().map(|(s, v)| (&s[..], &v[..])))
}

/// Stands for the samples the ring had no room for (Go's runtime._LostExternalCode-like
/// `lostProfileEvents` frame): its name is what the profile shows for them.
#[inline(never)]
fn lost_profile_events() {}

/// The GODEBUG=cpuprofile=path hook: starts at boot (runtime_main), written at exit.
pub fn godebug_start(path: &[u8]) {
    if let Err(e) = start(path) {
        crate::eprintln!("gort: GODEBUG=cpuprofile: {}", e);
    }
}
