//! The runtime half of execution tracing (Go's traceruntime.go, tracebuf.go and trace.go's
//! reader): events, per-M buffers, the scheduler's hooks, the writer goroutine, start and stop.
//! The design is in `trace/mod.rs`'s doc.

use super::json;
use super::seqlock;
pub use super::tracebuf::TraceBuf;
use super::tracebuf::{self, Decoder};
use super::StartError;

use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize, Ordering};
use core::{ptr, str};

use alloc::vec::Vec;

use crate::gmp::{GStatus, Global, WaitReason, G, M, P};
use crate::lock_futex::Mutex;

/// One event as `convert` reads it back from a buffer's compact encoding (Go's traceEv*;
/// ``tracebuf.rs` encodes it, `json.rs` says what each field means per kind).
#[derive(Clone, Copy)]
pub struct Ev {
    /// When it happened: `ticks()` as decoded, nanotime once `convert` has mapped it.
    pub ts: i64,
    /// The goroutine it is about (goid), or 0.
    pub g: u64,
    /// Kind-specific.
    pub x: u64,
    /// Kind-specific.
    pub y: u64,
    /// One of the `EV_*` kinds.
    pub kind: u8,
    /// Kind-specific small argument.
    pub arg: u8,
    /// The P it happened on (its id), or -1.
    pub p: i16,
    /// The M that recorded it (its id).
    pub m: i32,
}

/// A goroutine was created: g = the new goid, x = its creator's goid.
pub const EV_GO_CREATE: u8 = 1;
/// A goroutine starts running on P: x = its `gort::go` call site (`&'static Location` or 0);
/// arg = 1 if an unblock made it runnable: y = that unblock's timestamp as recorded, then (once
/// `convert` has paired them) the wake-up arrow's id; 0 otherwise.
pub const EV_GO_START: u8 = 2;
/// The running goroutine stops: arg = `STOP_*`; for a block x = the `WaitReason` as u8 when
/// recorded, x, y = its text once decoded.
pub const EV_GO_STOP: u8 = 3;
/// A goroutine was made runnable: g = the woken goid; y = this event's timestamp as recorded
/// (what its start names), then the wake-up arrow's id.
pub const EV_GO_UNBLOCK: u8 = 4;
/// The running goroutine enters a blocking system call (Go's traceEvGoSysCall).
pub const EV_GO_SYSCALL: u8 = 5;
/// ... and comes back (Go's traceEvGoSysExit).
pub const EV_GO_SYSEXIT: u8 = 6;
/// An M acquired P (Go's traceEvProcStart).
pub const EV_PROC_START: u8 = 7;
/// An M released P (Go's traceEvProcStop).
pub const EV_PROC_STOP: u8 = 8;
/// An M woke from stopm (it got work) or started.
pub const EV_M_START: u8 = 9;
/// An M goes to sleep in stopm.
pub const EV_M_STOP: u8 = 10;
/// The running goroutine was preempted: arg = 1 asynchronously (signal / SuspendThread), 0 at
/// a safe point (Go's traceEvGoPreempt).
pub const EV_GO_PREEMPT: u8 = 11;
/// This P stole work: x = the victim P's id.
pub const EV_STEAL: u8 = 12;
/// The network poller returned x goroutines.
pub const EV_NETPOLL: u8 = 13;

/// A goroutine that existed when the trace started, and its state then (Go's
/// traceEvGoStatus): arg = `STATUS_*`; for `STATUS_WAITING` x = the `WaitReason` as u8 when
/// recorded, x, y = its text once decoded.
/// One per goroutine, at the start, so every goroutine the trace shows was either created in
/// it or has one.
pub const EV_GO_STATUS: u8 = 14;

/// EV_GO_STATUS's arg: on a run queue.
pub const STATUS_RUNNABLE: u8 = 1;
/// Running on some P (the one that started the trace: its span opens right after).
pub const STATUS_RUNNING: u8 = 2;
/// In a blocking system call.
pub const STATUS_SYSCALL: u8 = 3;
/// Parked (x, y: the wait reason).
pub const STATUS_WAITING: u8 = 4;

/// Why a goroutine stopped (EV_GO_STOP's arg).
pub const STOP_EXIT: u8 = 0;
/// It yielded (Gosched).
pub const STOP_SCHED: u8 = 1;
/// It was preempted.
pub const STOP_PREEMPT: u8 = 2;
/// It entered a blocking system call (its P may run others meanwhile).
pub const STOP_SYSCALL: u8 = 3;
/// The trace stopped while it ran.
pub const STOP_TRACE: u8 = 4;
/// It parked (x, y: the wait reason).
pub const STOP_BLOCK: u8 = 5;

/// The switch: 1 while tracing (the seqlock's `on` word).
static ON: AtomicU32 = AtomicU32::new(0);
/// The process-wide barrier works here (`membarrier::register` said so at the first start):
/// writers use the seqlock's asymmetric form and `stop` issues the barrier. Only ever goes
/// from false to true, before the `ON` store that starts a trace; a writer that reads a stale
/// false runs the RMW form, which the asymmetric stopper covers too (seqlock.rs).
static ASYM: AtomicBool = AtomicBool::new(false);
/// A trace is being recorded or written (start..stop, writer included).
static ACTIVE: AtomicBool = AtomicBool::new(false);
/// Full buffers waiting for the writer (and, after stop, every partial one).
static FULL: Mutex<BufList> = Mutex::new(BufList(Vec::new()));
/// Spilled buffers for the Ms to reuse (Go's trace.empty): no allocation, zeroing or page
/// faults for a buffer in the steady state.
static EMPTY: Mutex<BufList> = Mutex::new(BufList(Vec::new()));
/// At most this many buffers wait on EMPTY (more are freed).
const EMPTY_MAX: usize = 16;
/// Full buffers that make the writer worth waking (one futex wake per this many, not per
/// buffer); `stop` wakes it regardless.
const WAKE_AT: usize = 4;
/// Buffers on FULL not yet taken by the writer: push_full wakes it once this reaches `WAKE_AT`.
static PENDING: AtomicUsize = AtomicUsize::new(0);
/// The writer's wake-up word: 0 while it may sleep, set to 1 (and the futex woken) by whoever
/// gives it work: a full buffer, or `stop`.
static WAKE: AtomicU32 = AtomicU32::new(0);
/// stop has taken every buffer: the writer finishes after the next take.
static STOPPING: AtomicBool = AtomicBool::new(false);
/// The writer has written the file's end and closed it.
static DONE: AtomicBool = AtomicBool::new(false);
/// The goroutine parked in `stop` waiting for DONE, or null.
static STOPPER: AtomicPtr<G> = AtomicPtr::new(ptr::null_mut());
/// nanotime at start: the trace's time zero.
static T0: AtomicU64 = AtomicU64::new(0);
/// `ticks()` at start, and nanotime and `ticks()` at stop: `convert`'s calibration.
static K0: AtomicU64 = AtomicU64::new(0);
static T1: AtomicU64 = AtomicU64::new(0);
static K1: AtomicU64 = AtomicU64::new(0);
/// The JSON file, the spill file and the spill file's path: set by start, taken by the writer.
static FILE: Global<Option<(crate::fs::File, crate::fs::File, Vec<u8>)>> = Global::new(None);

/// The list behind FULL.
struct BufList(Vec<*mut TraceBuf>);
// SAFETY: the buffers are plain memory owned by the list; they move between threads only under
// FULL's lock (and are then owned by whoever took them).
unsafe impl Send for BufList {}

/// Whether tracing is on: the scheduler's hooks test this (one Relaxed load) before calling in.
#[inline(always)]
pub fn on() -> bool {
    ON.load(Ordering::Relaxed) != 0
}

/// A buffer for an M: a spilled one off `EMPTY`, else a zeroed one; null if the OS has no
/// memory (the event is then dropped). Its bytes are all initialized either way (a recycled
/// buffer's are its old events'), so `seal` never hands out uninitialized padding.
fn new_buf() -> *mut TraceBuf {
    if let Some(b) = EMPTY.lock().0.pop() {
        return b;
    }
    // SAFETY: TraceBuf has a non-zero size; all-zero is a valid TraceBuf.
    unsafe { alloc::alloc::alloc_zeroed(core::alloc::Layout::new::<TraceBuf>()) as *mut TraceBuf }
}

/// Gives a spilled buffer back for reuse (Go's trace.empty), or frees it past `EMPTY_MAX`.
///
/// # Safety
/// `b` came from `new_buf` and nobody else holds it.
unsafe fn recycle_buf(b: *mut TraceBuf) {
    let mut empty = EMPTY.lock();
    if empty.0.len() < EMPTY_MAX {
        empty.0.push(b);
        return;
    }
    drop(empty);
    // SAFETY: the caller's promise.
    unsafe { free_buf(b) }
}

/// Frees every buffer on `EMPTY` (the writer, when a trace is over).
fn free_empty() {
    for b in core::mem::take(&mut EMPTY.lock().0) {
        // SAFETY: on EMPTY: from new_buf, held by nobody else.
        unsafe { free_buf(b) };
    }
}

/// Frees a buffer the writer is done with.
///
/// # Safety
/// `b` came from `new_buf` and nobody else holds it.
unsafe fn free_buf(b: *mut TraceBuf) {
    // SAFETY: the caller's promise; the layout is new_buf's.
    unsafe { alloc::alloc::dealloc(b as *mut u8, core::alloc::Layout::new::<TraceBuf>()) }
}

/// Hands a buffer to the writer.
fn push_full(b: *mut TraceBuf) {
    FULL.lock().0.push(b);
    if PENDING.fetch_add(1, Ordering::SeqCst) + 1 >= WAKE_AT {
        wake_writer();
    }
}

/// Wakes the writer if it may be asleep (one futex wake per time it reset WAKE). SeqCst against
/// the writer's reset: either it sees WAKE = 1 and does not sleep, or our swap comes after its
/// reset and its next look at FULL (under the lock) sees our buffers. push_full calls this once
/// `PENDING` reaches `WAKE_AT`: PENDING counts every buffer pushed and not yet subtracted by the
/// writer (which subtracts after its take), so it never reads low, and the push that brings
/// FULL to WAKE_AT buffers wakes a sleeping writer.
fn wake_writer() {
    if WAKE.swap(1, Ordering::SeqCst) == 0 {
        crate::sys::futexwakeup(&WAKE, 1);
    }
}

/// The event clock (Go's cputicks): `cputicks/<arch>.rs` (rdtsc on x86-64, CNTVCT_EL0 on
/// arm64, nanotime elsewhere). `convert` maps it to nanotime between start's and stop's
/// readings.
#[inline(always)]
fn ticks() -> i64 {
    super::cputicks::cputicks()
}

/// Maps a `ticks()` reading to nanotime: linear through (K0, T0) and (K1, T1); the identity
/// where ticks is nanotime. Monotonic (the slope is never negative), so events keep their
/// per-M order.
fn ticks_to_nanotime(k: i64, k0: u64, t0: u64, k1: u64, t1: u64) -> i64 {
    let (dk, dt) = (k1.wrapping_sub(k0) as i64, t1.wrapping_sub(t0) as i64);
    if dk <= 0 || dt < 0 {
        // No usable calibration (a clock that did not move): treat ticks as nanoseconds.
        return t0 as i64 + (k - k0 as i64);
    }
    t0 as i64 + ((k - k0 as i64) as i128 * dt as i128 / dk as i128) as i64
}

/// Records one event on the current M (Go's traceEventWriter.event) and returns its timestamp
/// as stored, or None if it was not recorded (tracing off, no memory). The goroutine is pinned
/// to the M meanwhile (`acquirem`: no preemption inside the section). Inlined into each hook
/// (themselves out of line and cold), so the encoder's per-kind choices are made at compile time.
#[inline(always)]
fn emit(kind: u8, arg: u8, g: u64, x: u64, y: u64, pp: Option<*mut P>) -> Option<i64> {
    // acquirem and releasem with one read of the g (each would read it again).
    let gp = crate::arch::getg();
    // SAFETY: gp is the running g: its `locks` count is only touched by code running on it (as
    // acquirem), and while it is raised gp stays on this M, whose P is read here.
    unsafe {
        (*gp).locks += 1;
        let mp = (*gp).m;
        // None: the current P, read while pinned.
        let pp = pp.unwrap_or_else(|| (*mp).p.load(Ordering::Relaxed));
        let ts = emit_on(mp, kind, arg, g, x, y, pp, None);
        (*gp).locks -= 1;
        ts
    }
}

/// emit, out of line: for the hooks that are not on a hot path (Ps and Ms starting and
/// stopping, steals, netpoll, system calls, preemptions), so that each does not carry its own
/// copy of the encoder.
#[inline(never)]
fn emit_rare(kind: u8, arg: u8, g: u64, x: u64, y: u64, pp: Option<*mut P>) {
    emit(kind, arg, g, x, y, pp);
}

/// emit's body for M `mp` (the current one). `since`: for a goroutine's start, when it became
/// runnable (`TraceBuf::reuse_ts`: the start may take the M's previous timestamp instead of
/// reading the clock).
///
/// A goroutine's stop (EV_GO_STOP, whose `y` is otherwise unused: the stop hooks pass the
/// goroutine's creation site there) ends the span this M opened for it. When this M opened none
/// in this trace (`TraceBuf::open_g`), the goroutine was already running when the trace
/// started (its execute looked at the switch before `start` turned it on): its span's start
/// is recorded first, at the trace's start (raised to this M's previous event: which can only
/// be this goroutine's own), as Go's tracer emits a running goroutine's status with its first
/// event. So every end on a P's row closes a start on that row.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn emit_on(mp: *mut M, kind: u8, arg: u8, g: u64, x: u64, y: u64, pp: *mut P, since: Option<i64>) -> Option<i64> {
    if mp.is_null() {
        return None;
    }
    // SAFETY: mp is this thread's M: trace_seq and trace_buf are its own, the buffer written
    // only inside the seqlock section (seqlock.rs).
    unsafe {
        let seq = &(*mp).trace_seq;
        let begun = if ASYM.load(Ordering::Relaxed) {
            seqlock::writer_begin_asym(seq, &ON)
        } else {
            seqlock::writer_begin(seq, &ON)
        };
        if !begun {
            return None;
        }
        let p = if pp.is_null() { -1 } else { (*pp).id };
        let y = if kind == EV_GO_STOP {
            let b = (*mp).trace_buf;
            if b.is_null() || (*b).open_g() != g {
                record(mp, K0.load(Ordering::Relaxed) as i64, EV_GO_START, 0, p, g, y, 0);
            }
            0
        } else {
            y
        };
        let b = (*mp).trace_buf;
        let now = match since {
            Some(s) if !b.is_null() => (*b).reuse_ts(s).unwrap_or_else(ticks),
            _ => ticks(),
        };
        let ts = record(mp, now, kind, arg, p, g, x, y);
        seqlock::writer_end(&(*mp).trace_seq);
        ts
    }
}

/// Appends one event stamped `now` to M `mp`'s buffer, taking a fresh buffer when it is full
/// or there is none. encode keeps timestamps monotonic per M (never before this M's previous
/// event: a TSC that is not synchronized across cores, after a migration), across buffers too.
///
/// # Safety
/// `mp` is this thread's M, inside its seqlock write section.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
unsafe fn record(mp: *mut M, now: i64, kind: u8, arg: u8, p: i32, g: u64, x: u64, y: u64) -> Option<i64> {
    // SAFETY: the caller's promise: the M's buffer is ours to write.
    unsafe {
        let b = (*mp).trace_buf;
        let ts = if b.is_null() { None } else { (*b).encode(now, kind, arg, p, g, x, y) };
        if ts.is_none() {
            return refill(mp, now, kind, arg, p, g, x, y);
        }
        ts
    }
}

/// emit_on's slow path, once per buffer: hands the M's full buffer to the writer and records
/// the event in a fresh one (dropped if there is no memory).
///
/// # Safety
/// `mp` is this thread's M, inside its seqlock write section.
#[allow(clippy::too_many_arguments)]
#[cold]
#[inline(never)]
unsafe fn refill(mp: *mut M, now: i64, kind: u8, arg: u8, p: i32, g: u64, x: u64, y: u64) -> Option<i64> {
    // SAFETY: the caller's promise: the M's buffer is ours to replace.
    unsafe {
        let mut b = (*mp).trace_buf;
        let (last, open_g) = if b.is_null() { (0, 0) } else { ((*b).last_ts(), (*b).open_g()) };
        if !b.is_null() {
            push_full(b);
        }
        b = new_buf();
        (*mp).trace_buf = b;
        if b.is_null() {
            return None;
        }
        (*b).init((*mp).id as i32, last, open_g);
        (*b).encode(now, kind, arg, p, g, x, y)
    }
}

/// goid of gp (0 for null).
fn goid(gp: *mut G) -> u64 {
    // SAFETY: gs are never freed; goid is written before the g is published.
    if gp.is_null() {
        0
    } else {
        unsafe { (*gp).goid }
    }
}

/// Where gp was created (its `gort::go` call's `Location`, as the event field), 0 for goroutine
/// 1: a start's `x`, and a stop's `y` (emit_on's start of a span begun before the trace).
fn site(gp: *mut G) -> u64 {
    // SAFETY: gs are never freed; gopc_loc is written before the g is published.
    unsafe { (*gp).gopc_loc.map_or(0, |l| l as *const _ as u64) }
}

/// "On the current M's P" (read under emit's acquirem; none without one).
const CURP: Option<*mut P> = None;
/// "On no P" (an M's own event).
const NOP: Option<*mut P> = Some(ptr::null_mut());

/// `G.trace_since`'s value: when the goroutine became runnable (`ts`, a stored event's
/// timestamp) and whether an unblock made it so (its start then draws the wake-up arrow).
fn since(ts: i64, woken: bool) -> u64 {
    (ts as u64) << 1 | woken as u64
}

/// Go's traceGoCreate: `newg` was just made by the running goroutine (not yet on a run queue).
#[cold]
pub fn go_create(newg: *mut G, parent: u64) {
    if let Some(ts) = emit(EV_GO_CREATE, 0, goid(newg), parent, 0, CURP) {
        // SAFETY: newg is on no run queue yet: ours.
        unsafe { (*newg).trace_since = since(ts, false) };
    }
}

/// Go's GoStatus events at a trace's start (traceAdvance's forEachGRace): one per goroutine
/// that exists now, with its state, on the starting M. Called by `start` right after the
/// switch is on. A goroutine created from now on has its own create event: a new g is added
/// to allgs under the lock this walk holds, after which its newproc sees the switch on; a
/// dead g reused by newproc1 (its status CAS, then newproc's look at the switch) is ordered
/// against the switch-on by the process-wide barrier issued here first where there is one
/// (the same argument as seqlock.rs's asymmetric form; without one a goroutine made in that
/// instant may have neither). Statuses are read as they are, racing with their goroutines
/// (as Go's forEachGRace): one may change right after; its next event says so.
fn go_statuses() {
    if ASYM.load(Ordering::Relaxed) {
        let _ = super::membarrier::barrier();
    }
    let me = crate::arch::getg();
    crate::proc::for_each_g(|gp| {
        let (arg, reason) = match crate::proc::readgstatus(gp) {
            GStatus::Runnable => (STATUS_RUNNABLE, 0),
            GStatus::Running => (STATUS_RUNNING, 0),
            GStatus::Syscall => (STATUS_SYSCALL, 0),
            // SAFETY: gp is a live g (never freed); its waitreason is set before it parks
            // (as the goroutine dump reads it).
            GStatus::Waiting => (STATUS_WAITING, unsafe { (*gp).waitreason } as u8),
            GStatus::Idle | GStatus::Dead => return,
        };
        // The trace writer is made after this walk; the caller runs (its span opens next).
        let arg = if gp == me { STATUS_RUNNING } else { arg };
        emit_rare(EV_GO_STATUS, arg, goid(gp), reason as u64, 0, CURP);
    });
}

/// Go's traceGoStart: `gp` starts running on `pp` (execute, exitsyscall's fast path). Right
/// after a stop on this M it takes that stop's timestamp when `gp` was runnable by then
/// (`TraceBuf::reuse_ts`), saving a clock read per switch.
#[cold]
pub fn go_start(gp: *mut G, pp: *mut P) {
    // SAFETY: gp is the g about to run, ours: when it became runnable is stable (written before
    // it was put on a run queue, read after taking it off).
    let s = unsafe { core::mem::replace(&mut (*gp).trace_since, 0) };
    let loc = site(gp);
    let t = (s >> 1) as i64;
    // The arrow only from an unblock of this trace (one before `start` is in no file).
    let woken = s & 1 != 0 && t >= K0.load(Ordering::Relaxed) as i64;
    let me = crate::arch::getg();
    // SAFETY: as emit's.
    unsafe {
        (*me).locks += 1;
        emit_on((*me).m, EV_GO_START, woken as u8, goid(gp), loc, t as u64, pp, Some(t));
        (*me).locks -= 1;
    }
}

/// Go's traceGoSched / GoPreempt's stop / GoEnd / GoSysCall's stop half: the running `gp`
/// stops (before its status changes: a yielded or preempted gp is runnable from then on).
#[cold]
pub fn go_stop(gp: *mut G, why: u8) {
    if let Some(ts) = emit(EV_GO_STOP, why, goid(gp), 0, site(gp), CURP) {
        // SAFETY: gp is the stopping g, still ours (on no run queue yet).
        unsafe { (*gp).trace_since = since(ts, false) };
    }
}

/// `gp` parks with `reason` (park_m, before its unlock hook lets a waker see it).
#[cold]
pub fn go_block(gp: *mut G, reason: WaitReason) {
    // The reason as its discriminant: one byte in the buffer (tracebuf.rs `REASONS`).
    emit(EV_GO_STOP, STOP_BLOCK, goid(gp), reason as u8 as u64, site(gp), CURP);
}

/// Go's traceGoUnpark: `gp` was made runnable (not yet on a run queue); its next start draws an
/// arrow from here. The arrow needs no id of its own: `convert` pairs this event (gp and its
/// timestamp) with the start that names the same timestamp (tracebuf.rs).
#[cold]
#[inline(never)]
pub fn go_unblock(gp: *mut G) {
    if let Some(ts) = emit(EV_GO_UNBLOCK, 0, goid(gp), 0, 0, CURP) {
        // SAFETY: gp was just made runnable by us and is on no run queue yet: whoever runs it
        // next reads trace_since after the run queue's (or the lock's) release/acquire.
        unsafe { (*gp).trace_since = since(ts, true) };
    }
}

/// Go's traceGoPreempt: `gp` is being switched out by a preemption.
#[cold]
pub fn go_preempt(gp: *mut G, asynchronous: bool) {
    emit_rare(EV_GO_PREEMPT, asynchronous as u8, goid(gp), 0, 0, CURP);
}

/// Go's traceGoSysCall: the running `gp` enters a blocking system call (still with its P).
#[cold]
pub fn go_syscall(gp: *mut G) {
    emit_rare(EV_GO_STOP, STOP_SYSCALL, goid(gp), 0, site(gp), CURP);
    emit_rare(EV_GO_SYSCALL, 0, goid(gp), 0, 0, NOP);
}

/// Go's traceGoSysExit: `gp` is back from the kernel (before it has a P again).
#[cold]
pub fn go_sysexit(gp: *mut G) {
    emit_rare(EV_GO_SYSEXIT, 0, goid(gp), 0, 0, NOP);
}

/// Go's traceProcStart: the current M acquired `pp`.
#[cold]
pub fn proc_start(pp: *mut P) {
    emit_rare(EV_PROC_START, 0, 0, 0, 0, Some(pp));
}

/// Go's traceProcStop: the current M releases `pp`.
#[cold]
pub fn proc_stop(pp: *mut P) {
    emit_rare(EV_PROC_STOP, 0, 0, 0, 0, Some(pp));
}

/// The current M goes to sleep (`stopm`), or woke up.
#[cold]
pub fn m_sleep(woke: bool) {
    emit_rare(if woke { EV_M_START } else { EV_M_STOP }, 0, 0, 0, 0, NOP);
}

/// The current M's P stole from `victim`.
#[cold]
pub fn steal(victim: *mut P) {
    // SAFETY: Ps are never freed.
    let v = unsafe { (*victim).id } as u64;
    emit_rare(EV_STEAL, 0, 0, v, 0, CURP);
}

/// The network poller handed back `n` goroutines.
#[cold]
pub fn netpoll(n: usize) {
    emit_rare(EV_NETPOLL, 0, 0, n as u64, 0, CURP);
}

/// mexit: the exiting M hands its partial buffer over (under sched.lock, which `stop` walks
/// the Ms under, so the buffer is either taken by stop or pushed here, never lost).
pub fn m_exit(mp: *mut M) {
    // SAFETY: mp is the exiting M, outside any write section; stop walks Ms under sched.lock,
    // held by our caller.
    unsafe {
        let b = core::mem::take(&mut (*mp).trace_buf);
        if !b.is_null() {
            push_full(b);
        }
    }
}

/// stop's park hook: publishes the stopper, then looks at DONE again (SeqCst against the
/// writer's SeqCst store of DONE and load of STOPPER). False: resume at once.
unsafe fn stopper_park(gp: *mut G, _: usize) -> bool {
    STOPPER.store(gp, Ordering::SeqCst);
    if DONE.load(Ordering::SeqCst) {
        return STOPPER.compare_exchange(gp, ptr::null_mut(), Ordering::AcqRel, Ordering::Relaxed).is_err();
    }
    true
}

/// The writer goroutine's entry (newproc's calling convention; a plain function rather than a
/// closure through `gort::go`, so a program that never traces links less).
extern "C" fn writer_entry(_ctx: usize) {
    writer_main()
}

/// The writer (Go's trace reader and ReadTrace's consumer), a goroutine that spends the whole
/// trace in one blocking call on an M of its own, its P handed off at once (entersyscallblock),
/// as the CPU profile's writer does: a 64 KB write takes 16–37 µs here, which on a P would
/// stall that P's goroutines, and it needs no P to sleep or wake. It sleeps on `WAKE` while no
/// buffer is full, and only appends each full buffer's bytes, as encoded, to the spill file
/// (no formatting: Go too writes a binary trace and converts it later); once `stop` has taken
/// every buffer it turns the spill file into the JSON file, then (back with a P) readies the
/// stopper.
fn writer_main() {
    // SAFETY: FILE was set by start before this goroutine was made; only this goroutine takes it.
    let files = unsafe { (*FILE.get()).take() };
    let Some((file, spill, spill_path)) = files else { return };
    // Allocation, runtime locks and file calls all work without a P (no channel, no park).
    crate::proc::blocking_handoff(|| {
        // Buffers that could not be spilled (a write failed: disk full): kept in memory from
        // then on, after the spilled prefix, so the events keep their order.
        let mut held: Vec<*mut TraceBuf> = Vec::new();
        loop {
            // Reset before looking (wake_writer's argument), and read STOPPING before the take:
            // stop pushes every buffer before it sets STOPPING.
            WAKE.store(0, Ordering::SeqCst);
            let stopping = STOPPING.load(Ordering::SeqCst);
            let bufs = core::mem::take(&mut FULL.lock().0);
            PENDING.fetch_sub(bufs.len(), Ordering::SeqCst);
            for b in bufs {
                // SAFETY: taken off FULL: ours; its events were written before it was pushed.
                if held.is_empty() && spill.write_all(unsafe { (*b).seal() }).is_ok() {
                    // SAFETY: ours, and spilled.
                    unsafe { recycle_buf(b) };
                } else {
                    held.push(b);
                }
            }
            if stopping {
                break;
            }
            while WAKE.load(Ordering::SeqCst) == 0 {
                crate::sys::futexsleep(&WAKE, 0, -1);
            }
        }
        convert(&file, &spill, &held);
        for b in held {
            // SAFETY: ours (taken off FULL), converted.
            unsafe { free_buf(b) };
        }
        free_empty();
        drop(file);
        drop(spill);
        let _ = crate::fs::remove_file(&spill_path);
    });
    DONE.store(true, Ordering::SeqCst);
    let gp = STOPPER.swap(ptr::null_mut(), Ordering::AcqRel);
    if !gp.is_null() {
        crate::proc::goready(gp);
    }
}

/// Turns `evs`' timestamps (one buffer's: one M's) from ticks into nanotime (stop's
/// calibration), strictly increasing per M: an event in the same nanosecond as its M's previous
/// one (a counter coarser than a nanosecond, such as arm64's CNTVCT at 16-40 ns a tick, stamps
/// a goroutine's start and end alike) goes 1 ns after it, so a viewer or checker that sorts by
/// time keeps the M's order. `last` holds each M's last nanotime across buffers.
fn to_nanotime(evs: &mut [Ev], last: &mut Vec<(i32, i64)>) {
    let (k0, t0) = (K0.load(Ordering::Relaxed), T0.load(Ordering::Relaxed));
    let (k1, t1) = (K1.load(Ordering::Relaxed), T1.load(Ordering::Relaxed));
    let Some(m) = evs.first().map(|e| e.m) else { return };
    let slot = match last.iter().position(|&(lm, _)| lm == m) {
        Some(i) => i,
        None => {
            last.push((m, i64::MIN));
            last.len() - 1
        }
    };
    let mut prev = last[slot].1;
    for e in evs {
        let t = ticks_to_nanotime(e.ts, k0, t0, k1, t1);
        prev = if t > prev { t } else { prev.saturating_add(1) };
        e.ts = prev;
    }
    last[slot].1 = prev;
}

/// The wake-up arrows' ids, made while converting: an unblock (its goroutine and timestamp,
/// as decoded: EV_GO_UNBLOCK's y) and the start that names it (EV_GO_START with arg 1, y the
/// same timestamp) get one number, whichever of the two is decoded first (buffers reach the
/// spill file in the order they filled, not in time order). Holds only arrows with one end seen.
struct Flows {
    open: alloc::collections::BTreeMap<(u64, u64), u64>,
    next: u64,
}

impl Flows {
    /// Replaces each unblock's and woken start's y with its arrow's id (1, 2, ...); a start that
    /// was not woken gets 0 (no arrow).
    fn number(&mut self, evs: &mut [Ev]) {
        for e in evs {
            let woken = match e.kind {
                EV_GO_UNBLOCK => true,
                EV_GO_START => e.arg == 1,
                _ => continue,
            };
            if !woken {
                e.y = 0;
                continue;
            }
            e.y = match self.open.remove(&(e.g, e.y)) {
                Some(id) => id,
                None => {
                    self.next += 1;
                    self.open.insert((e.g, e.y), self.next);
                    self.next
                }
            };
        }
    }
}

/// Writes the JSON file from the spill file's buffers, then `held`'s (stop's end of the trace).
/// Reads the spill file back a buffer at a time (its header, then its events) and decodes it.
fn convert(file: &crate::fs::File, spill: &crate::fs::File, held: &[*mut TraceBuf]) {
    let mut w = json::Writer::new(T0.load(Ordering::Relaxed), crate::proc::gomaxprocs());
    let mut out = Vec::new();
    w.begin(&mut out);
    let mut evs: Vec<Ev> = Vec::new();
    let mut bytes: Vec<u8> = Vec::new();
    let mut last = Vec::new();
    let mut flows = Flows { open: Default::default(), next: 0 };
    let mut emit_json = |w: &mut json::Writer, out: &mut Vec<u8>, evs: &mut Vec<Ev>| {
        flows.number(evs);
        to_nanotime(evs, &mut last);
        w.events(out, evs);
        let _ = file.write_all(out);
        out.clear();
        evs.clear();
    };
    if spill.seek(crate::io::SeekFrom::Start(0)).is_ok() {
        loop {
            let mut hdr = [0u8; tracebuf::HDR];
            if !read_full(spill, &mut hdr) {
                break;
            }
            bytes.clear();
            bytes.resize(tracebuf::events_len(&hdr).min(tracebuf::BUF_BYTES), 0);
            let whole = read_full(spill, &mut bytes);
            evs.extend(Decoder::new(&hdr, &bytes));
            emit_json(&mut w, &mut out, &mut evs);
            if !whole {
                break;
            }
        }
    }
    for &b in held {
        // SAFETY: the writer's (taken off FULL); its events were written before it was pushed.
        evs.extend(Decoder::whole(unsafe { (*b).seal() }));
        emit_json(&mut w, &mut out, &mut evs);
    }
    w.end(&mut out);
    let _ = file.write_all(&out);
}

/// Fills `buf` from `f`: false at end of file or on an error before it is full.
fn read_full(f: &crate::fs::File, buf: &mut [u8]) -> bool {
    let mut got = 0;
    while got < buf.len() {
        match f.read(&mut buf[got..]) {
            Ok(0) | Err(_) => return false,
            Ok(n) => got += n,
        }
    }
    true
}

/// `gort::trace::start`: creates `path` and starts recording.
pub fn start(path: &[u8]) -> Result<(), StartError> {
    crate::proc::preempt_check();
    if ACTIVE.compare_exchange(false, true, Ordering::AcqRel, Ordering::Relaxed).is_err() {
        return Err(StartError::Active);
    }
    let file = match crate::fs::File::create(path) {
        Ok(f) => f,
        Err(e) => {
            ACTIVE.store(false, Ordering::Release);
            return Err(StartError::File(e));
        }
    };
    // The spill file: the raw events until stop converts them (`<path>.raw`, removed then).
    let mut spill_path = Vec::from(path);
    spill_path.extend_from_slice(b".raw");
    let spill = match crate::fs::OpenOptions::new().read(true).write(true).create(true).truncate(true).open(&spill_path)
    {
        Ok(f) => f,
        Err(e) => {
            ACTIVE.store(false, Ordering::Release);
            return Err(StartError::File(e));
        }
    };
    // SAFETY: ACTIVE excludes other starts; the writer that takes FILE is not running yet (a
    // previous one finished before its stop cleared ACTIVE).
    unsafe { *FILE.get() = Some((file, spill, spill_path)) };
    STOPPING.store(false, Ordering::Relaxed);
    DONE.store(false, Ordering::Relaxed);
    if !ASYM.load(Ordering::Relaxed) && super::membarrier::register() {
        ASYM.store(true, Ordering::Relaxed);
    }
    T0.store(crate::time::nanotime() as u64, Ordering::Relaxed);
    K0.store(ticks() as u64, Ordering::Relaxed);
    // Pinned from the switch-on to the caller's span start: a preemption in between (the
    // statuses' walk is long enough for sysmon's) would end a span not yet begun, and the
    // caller's start below would then open a second one.
    let mp = crate::proc::acquirem();
    ON.store(1, Ordering::SeqCst);
    go_statuses();
    // The caller is running: open its span.
    go_start(crate::arch::getg(), crate::proc::getp());
    crate::proc::releasem(mp);
    crate::proc::newproc(writer_entry as *const () as usize, 0);
    Ok(())
}

/// `gort::trace::stop`: stops recording and waits until the file is complete.
pub fn stop() {
    if !ACTIVE.load(Ordering::Acquire) || !on() {
        return;
    }
    crate::proc::preempt_check();
    // Pinned from the caller's span end to the switch-off (no preemption's stop after it).
    let mp = crate::proc::acquirem();
    go_stop(crate::arch::getg(), STOP_TRACE);
    ON.store(0, Ordering::SeqCst);
    crate::proc::releasem(mp);
    // The asymmetric form's half of the protocol (seqlock.rs): every thread runs a full
    // barrier after the switch-off is visible, then an even `seq` is final.
    let asym = ASYM.load(Ordering::Relaxed);
    if asym && !super::membarrier::barrier() {
        // Registered, so the kernel does not refuse; if it did, the buffers are unsafe to take.
        crate::throw("trace: membarrier failed after registration");
    }
    crate::proc::for_each_m(|mp| {
        // SAFETY: Ms are never freed; once stopper_may_take(_after_barrier) says so, mp's
        // buffer is ours (its M sees the switch off at its next writer_begin and never touches
        // the buffer again).
        unsafe {
            let seq = &(*mp).trace_seq;
            while !(if asym { seqlock::stopper_may_take_after_barrier(seq) } else { seqlock::stopper_may_take(seq) }) {
                core::hint::spin_loop();
            }
            let b = core::mem::take(&mut (*mp).trace_buf);
            if !b.is_null() {
                push_full(b);
            }
        }
    });
    // The calibration's second point, after every event (the writer reads it after STOPPING's
    // SeqCst store, through its Acquire load).
    K1.store(ticks() as u64, Ordering::Relaxed);
    T1.store(crate::time::nanotime() as u64, Ordering::Relaxed);
    STOPPING.store(true, Ordering::SeqCst);
    wake_writer();
    while !DONE.load(Ordering::Acquire) {
        crate::proc::gopark(Some(stopper_park), 0, WaitReason::TraceReaderBlocked);
    }
    ACTIVE.store(false, Ordering::Release);
}

/// GODEBUG=gorttrace=path: starts tracing before the user's main (runtime_main).
pub fn start_from_godebug() {
    if let Some(path) = crate::args::godebug_string("gorttrace") {
        if !path.is_empty() {
            if let Err(e) = start(path) {
                let why = match e {
                    StartError::Active => "a trace is active",
                    StartError::File(_) => "cannot create the file",
                    StartError::Unsupported => "unreachable",
                };
                crate::print::print(
                    true,
                    format_args!("gort: GODEBUG=gorttrace={}: {why}\n", str::from_utf8(path).unwrap_or("?")),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(kind: u8, arg: u8, g: u64, y: u64) -> Ev {
        Ev { ts: 0, g, x: 0, y, kind, arg, p: 0, m: 0 }
    }

    #[test]
    fn arrows_pair_an_unblock_with_the_start_naming_it_in_either_order() {
        let mut f = Flows { open: Default::default(), next: 0 };
        // g 5 woken at 100 (its start decoded first: another M's buffer), g 6 at 100 too, g 5
        // again at 300, and a start that was not woken.
        let mut a = [ev(EV_GO_START, 1, 5, 100), ev(EV_GO_UNBLOCK, 0, 6, 100), ev(EV_GO_START, 0, 7, 55)];
        f.number(&mut a);
        let mut b = [ev(EV_GO_UNBLOCK, 0, 5, 100), ev(EV_GO_START, 1, 6, 100), ev(EV_GO_UNBLOCK, 0, 5, 300)];
        f.number(&mut b);
        let mut c = [ev(EV_GO_START, 1, 5, 300)];
        f.number(&mut c);
        assert_eq!((a[0].y, b[0].y), (1, 1));
        assert_eq!((a[1].y, b[1].y), (2, 2));
        assert_eq!(a[2].y, 0);
        assert_eq!((b[2].y, c[0].y), (3, 3));
        assert!(f.open.is_empty(), "every arrow has both ends");
    }
}
