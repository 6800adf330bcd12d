//! The scheduler's data structures, after Go's runtime2.go: G (goroutine), M (OS thread),
//! P (processor: the right to run Go code, with its run queue), and the global `sched`.
//!
//! The fields that assembly touches come first in each `#[repr(C)]` struct and are pointer-sized;
//! their offsets are listed once in asm/offsets.def and checked against `offset_of!` at compile time
//! (see `crate::offsets`).

use core::cell::UnsafeCell;
use core::ptr;
use core::sync::atomic::{AtomicBool, AtomicI32, AtomicI64, AtomicPtr, AtomicU32, AtomicU64, AtomicUsize};

use crate::lock_futex::{Mutex, Note};
use crate::runq::RunQueue;

/// A goroutine's status (Go's `_G*` constants, same values).
#[repr(u32)]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum GStatus {
    /// `_Gidle`: just allocated, not yet initialised.
    Idle = 0,
    /// `_Grunnable`: on a run queue, not running.
    Runnable = 1,
    /// `_Grunning`: running user code on an M with a P.
    Running = 2,
    /// `_Gsyscall`: in a system call, holding no P it can rely on.
    Syscall = 3,
    /// `_Gwaiting`: parked (channel, timer, lock...), waiting for goready.
    Waiting = 4,
    /// `_Gdead`: exited, on a gFree list (or never used).
    Dead = 6,
}

/// A P's status (Go's `_P*` constants, same values).
#[repr(u32)]
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum PStatus {
    /// `_Pidle`: on the idle P list.
    Idle = 0,
    /// `_Prunning`: owned by an M running user code or the scheduler.
    Running = 1,
    /// `_Psyscall`: its M is in a system call; sysmon or another M may take it.
    Syscall = 2,
    /// `_Pgcstop`: halted by stop-the-world.
    GcStop = 3,
    /// `_Pdead`: no longer used (GOMAXPROCS shrank).
    Dead = 4,
}

/// A status word: an `AtomicU32` that holds only values of `S` (all-zero is `S`'s 0 variant, so
/// a zeroed G or P is valid).
#[repr(transparent)]
pub struct AtomicStatus<S> {
    v: AtomicU32,
    _s: core::marker::PhantomData<S>,
}

/// The enums an AtomicStatus can hold.
pub trait Status: Copy + Into<u32> {
    /// The variant with value `v` (only values stored from a variant are ever read back).
    fn from_u32(v: u32) -> Self;
}

impl From<GStatus> for u32 {
    fn from(s: GStatus) -> u32 {
        s as u32
    }
}

impl From<PStatus> for u32 {
    fn from(s: PStatus) -> u32 {
        s as u32
    }
}

impl Status for GStatus {
    fn from_u32(v: u32) -> Self {
        match v {
            0 => GStatus::Idle,
            1 => GStatus::Runnable,
            2 => GStatus::Running,
            3 => GStatus::Syscall,
            4 => GStatus::Waiting,
            6 => GStatus::Dead,
            _ => bad_gstatus(),
        }
    }
}

impl Status for PStatus {
    fn from_u32(v: u32) -> Self {
        match v {
            0 => PStatus::Idle,
            1 => PStatus::Running,
            2 => PStatus::Syscall,
            3 => PStatus::GcStop,
            4 => PStatus::Dead,
            _ => bad_pstatus(),
        }
    }
}

/// A g's status word holding no variant. Out of line and without arguments: the message's
/// address and length at each of the ~30 status loads the scheduler inlines were 12 bytes
/// apiece (issue 22).
#[cold]
#[inline(never)]
fn bad_gstatus() -> ! {
    crate::throw("bad g status")
}

/// A P's status word holding no variant (as bad_gstatus).
#[cold]
#[inline(never)]
fn bad_pstatus() -> ! {
    crate::throw("bad p status")
}

impl<S: Status> AtomicStatus<S> {
    /// A status word holding `s`.
    pub const fn new(s: u32) -> Self {
        AtomicStatus { v: AtomicU32::new(s), _s: core::marker::PhantomData }
    }
    /// Loads the status.
    #[inline]
    pub fn load(&self, o: core::sync::atomic::Ordering) -> S {
        S::from_u32(self.v.load(o))
    }
    /// Whether the status is `s` (compares the raw word: no conversion, no check of its value).
    #[inline]
    pub fn is(&self, s: S, o: core::sync::atomic::Ordering) -> bool {
        self.v.load(o) == s.into()
    }
    /// Loads the status word as stored (for a check that reports a mismatch itself).
    #[inline]
    pub fn load_word(&self, o: core::sync::atomic::Ordering) -> u32 {
        self.v.load(o)
    }
    /// Stores a status.
    #[inline]
    pub fn store(&self, s: S, o: core::sync::atomic::Ordering) {
        self.v.store(s.into(), o)
    }
    /// Moves from `old` to `new` if the status is `old`; Err(the status) if not.
    #[inline]
    pub fn compare_exchange(
        &self,
        old: S,
        new: S,
        ok: core::sync::atomic::Ordering,
        fail: core::sync::atomic::Ordering,
    ) -> Result<S, S> {
        self.v.compare_exchange(old.into(), new.into(), ok, fail).map(S::from_u32).map_err(S::from_u32)
    }
}

/// Number of machine words in `m.tls`; `tls[0]` holds the current g (read by `getg`).
pub const TLS_SLOTS: usize = 8;

/// A memory region `[lo, hi)` used as a stack.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Stack {
    /// Lowest usable address.
    pub lo: usize,
    /// One past the highest address; stacks grow down from here.
    pub hi: usize,
}

/// A saved execution context: where `gogo` resumes a goroutine.
#[repr(C)]
pub struct Gobuf {
    /// Stack pointer to restore.
    pub sp: usize,
    /// Program counter to jump to.
    pub pc: usize,
    /// The g this context belongs to (installed in TLS by gogo).
    pub g: *mut G,
    /// Context word passed to a fresh goroutine's entry function (its closure).
    pub ctx: usize,
}

/// Why a goroutine is parked (Go's waitReason), shown by scheddetail and checkdead.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
#[repr(u8)]
pub enum WaitReason {
    /// Not waiting.
    Zero,
    /// Blocked in a channel receive.
    ChanReceive,
    /// Blocked in a channel send.
    ChanSend,
    /// Blocked for good receiving from a never-ready receiver (Go's nil channel).
    ChanReceiveNilChan,
    /// Blocked for good in a select whose only case is a send on no channel (Go's nil channel).
    ChanSendNilChan,
    /// Blocked in select.
    Select,
    /// Blocked in select with no cases.
    SelectNoCases,
    /// Sleeping.
    Sleep,
    /// Waiting in sync::Mutex::lock (Go's waitReasonSyncMutexLock).
    SyncMutexLock,
    /// Waiting in sync::WaitGroup::wait (Go's waitReasonSyncWaitGroupWait).
    SyncWaitGroupWait,
    /// Parked on the network poller (Go's waitReasonIOWait).
    IoWait,
    /// `trace::stop` waiting for the trace writer to finish the file (Go's waitReasonTraceReaderBlocked, the name Go gives a goroutine waiting on the trace reader).
    #[cfg_attr(not(gort_trace), allow(dead_code))]
    TraceReaderBlocked,
}

impl WaitReason {
    /// Go's text for this reason. Out of line: a copy of the match in each goroutine listing
    /// (the traceback's header, schedtrace) was ~200 bytes (issue 22).
    #[inline(never)]
    pub fn as_str(self) -> &'static str {
        match self {
            WaitReason::Zero => "",
            WaitReason::ChanReceive => "chan receive",
            WaitReason::ChanSend => "chan send",
            WaitReason::ChanReceiveNilChan => "chan receive (nil chan)",
            WaitReason::ChanSendNilChan => "chan send (nil chan)",
            WaitReason::Select => "select",
            WaitReason::SelectNoCases => "select (no cases)",
            WaitReason::Sleep => "sleep",
            WaitReason::SyncMutexLock => "sync.Mutex.Lock",
            WaitReason::SyncWaitGroupWait => "sync.WaitGroup.Wait",
            WaitReason::IoWait => "IO wait",
            WaitReason::TraceReaderBlocked => "trace reader (blocked)",
        }
    }
}

/// A goroutine.
#[repr(C)]
pub struct G {
    /// Stack bounds `[lo, hi)` (asm: g_stack_lo/hi).
    pub stack: Stack,
    /// The M running this g, or null (asm: g_m).
    pub m: *mut M,
    /// Saved context while not running (asm: g_sched_*).
    pub sched: Gobuf,
    /// Runtime locks held and sections pinned to the M/P (`acquirem`) by this goroutine: no
    /// preemption, synchronous or asynchronous, while > 0 (Go's m.locks, kept in the G so that
    /// counting is safe against migration: `getg().locks += 1` touches the same counter
    /// wherever the g was interrupted between reading getg and writing the count). asm: g_locks
    /// (mcall and systemstack on amd64 count their own window).
    pub locks: i32,
    /// `_G*` status, changed by CAS (casgstatus).
    pub atomicstatus: AtomicStatus<GStatus>,
    // The small fields together (8 bytes), so that G stays in the 240-byte size class with
    // `closure`.
    /// Why it is parked.
    pub waitreason: WaitReason,
    /// Set by sysmon after 10 ms on CPU: yield at the next runtime entry.
    pub preempt: AtomicBool,
    /// Whether the stack has a guard page below it (overflow faults) or relies on the canary.
    pub stack_guarded: bool,
    /// Set when a select has been decided by some waker (CAS 0 -> 1).
    pub selectdone: AtomicU32,
    /// Goroutine id; 1 is main.
    pub goid: u64,
    /// Next g on a run queue or free list (guintptr).
    pub schedlink: *mut G,
    /// Next g in allgs.
    pub alllink: *mut G,
    /// About when it started waiting (Go's waitsince; nanotime): 0 when running, stamped by
    /// sysmon's periodic scan (as Go's GC stamps it) for the `N minutes` of a dump's header.
    pub waitsince: core::sync::atomic::AtomicI64,
    /// The save area of asynchronous preemption (preempt.rs): this goroutine's last signal
    /// frame, copied off the signal stack; kept for the G's life once it has one.
    pub preempt_save: *mut u8,
    /// Entry function of a fresh goroutine: called with `sched.ctx`.
    pub startfn: usize,
    /// Value handed over by the waker (chan: the sudog that completed; select: which case).
    pub param: AtomicUsize,
    /// This g's spare sudog (sudog.rs): the wait record it parks with on a channel or a sync
    /// queue, kept between parks (and across the g's reuse after exit), null before its first.
    pub sudog: *mut crate::sudog::Sudog,
    /// The g's sleep timer (Go's gp.timer): an `Arc::into_raw` made at its first sleep and kept
    /// for good (gs are never freed), or null.
    pub timer: *const crate::timer::Timer,
    /// `gopark` unlock hook: called on g0 after the switch; false aborts the park.
    pub waitunlockf: Option<unsafe fn(*mut G, usize) -> bool>,
    /// Argument of waitunlockf.
    pub waitlock: usize,
    /// Stack size to allocate at the goroutine's first run (0: it has its stack). newproc1
    /// leaves a new goroutine without a stack unless its g came with one of the right size.
    /// Atomic: the stack fields are written while the g is runnable, and the fault handler on
    /// another M may scan them (find_g); 0 is stored with Release after them, read with Acquire.
    pub lazy_stack: AtomicUsize,
    /// goid of the goroutine that created this one (Go's parentGoid); 0 for goroutine 1.
    pub parent_goid: u64,
    /// pc of the `gort::go` call that created this goroutine (Go's gopc): an address inside the
    /// creating function (0 for goroutine 1).
    pub gopc: usize,
    /// Source location of that `gort::go` call (#[track_caller]), printed by `created by`.
    pub gopc_loc: Option<&'static core::panic::Location<'static>>,
    /// The M this g is locked to (Go's g.lockedm; proc/lockosthread.rs), or null. Written only
    /// by the g itself while it runs; read by the M that takes it off a run queue (the queue's
    /// release/acquire orders the two).
    pub lockedm: *mut M,
    /// Execution tracing (trace/traceruntime.rs `since`): when this g last became runnable
    /// (the timestamp of its unblock, creation or stop, shifted left by one) and whether an
    /// unblock made it so (bit 0: its next start draws the wake-up arrow); 0 when unknown.
    pub trace_since: u64,
    /// A small closure of a new goroutine (`gort::go`: up to G_CLOSURE_BYTES, aligned to at
    /// most G_CLOSURE_ALIGN), moved here by its creator while the g is dead and moved out by the
    /// goroutine as its first act (the run queue's release/acquire orders the two): no
    /// allocation per spawn.
    pub closure: [core::mem::MaybeUninit<u64>; 4],
}

/// Bytes of G.closure: a closure holding a channel end and three integers fits (skynet's: `tx`,
/// `num`, `i` and `sub`; Rust captures each variable its body names, where Go's `go` statement
/// copies the call's evaluated arguments). 32 bytes fill G to exactly its 240-byte class.
pub const G_CLOSURE_BYTES: usize = core::mem::size_of::<[u64; 4]>();
/// Alignment of G.closure (u64's: 8 on every target gort supports, 32-bit arm included).
pub const G_CLOSURE_ALIGN: usize = core::mem::align_of::<u64>();
// G is allocated on its own (malg): keep it in the 240-byte size class on 64-bit targets.
#[cfg(target_pointer_width = "64")]
const _: () = assert!(core::mem::size_of::<G>() <= 240);

/// An OS thread ("machine").
#[repr(C)]
pub struct M {
    /// Goroutine with the scheduling stack (asm: m_g0).
    pub g0: *mut G,
    /// Current running user goroutine, or null.
    pub curg: *mut G,
    /// Thread-local storage: the TLS base register points here (asm: m_tls); `tls[0]` = g.
    pub tls: [usize; TLS_SLOTS],
    /// Signal-handling g: its stack is the sigaltstack.
    pub gsignal: *mut G,
    /// M id (0 for m0).
    pub id: i64,
    /// Kernel thread id.
    pub procid: u64,
    /// Attached P for executing Go code (null if not executing Go code).
    pub p: AtomicPtr<P>,
    /// P to acquire when woken by startm.
    pub nextp: *mut P,
    /// P that was attached before entering a syscall.
    pub oldp: *mut P,
    /// Looking for work (counted in sched.nmspinning).
    pub spinning: bool,
    /// Parked on `park` (stopm).
    pub blocked: bool,
    /// Gave its P up in find_runnable and is on its way to sleep (counted in sched.nmtransit).
    pub transit: bool,
    /// A preemption signal was sent and its handler has not run yet (Go's signalPending).
    pub signal_pending: AtomicBool,
    /// A save area for the next goroutine this M preempts asynchronously (preempt.rs): a
    /// signal handler cannot allocate, so sysmon provides it before it signals.
    pub preempt_spare: AtomicPtr<u8>,
    /// Set while printing a fatal error, so a second failure exits at once.
    pub dying: i32,
    /// Per-M random state (wyrand).
    pub fastrand: u64,
    /// Sleep/wake note for stopm/startm.
    pub park: Note,
    /// Next M in allm.
    pub alllink: *mut M,
    /// Next M on sched.midle.
    pub schedlink: *mut M,
    /// Function to run when this M starts (sysmon, spinning M...), before schedule.
    pub mstartfn: Option<fn()>,
    /// Syscall tick seen when entersyscall gave up the P, to detect a P retaken meanwhile.
    pub syscalltick: u32,
    /// Kernel thread-id word cleared by the kernel at thread exit (CLONE_CHILD_CLEARTID).
    pub exited: AtomicU32,
    /// Base of the memory holding g0's stack for non-m0 Ms.
    pub g0stack: usize,
    /// The buffer user prints format into (print.rs), kept between prints as raw parts of a
    /// `Vec<u8>` (all-zero is "none", so an M stays valid when zeroed).
    pub printbuf: (*mut u8, usize),
    /// The g locked to this M (Go's m.lockedg; proc/lockosthread.rs), or null. This M's own.
    pub lockedg: *mut G,
    /// Nesting count of `gort::lock_os_thread` (Go's m.lockedExt).
    pub locked_ext: u32,
    /// Nesting count of the runtime's own locks (Go's m.lockedInt): runtime_main's for
    /// goroutine 1 until its first switch.
    pub locked_int: u32,
    /// darwin: this M's pthread_t, for pthread_kill (asynchronous preemption; Go keeps it in
    /// m.procid there). Written by minit, cleared when the M's thread exits.
    #[cfg(target_os = "macos")]
    pub pthread: core::sync::atomic::AtomicUsize,
    /// windows: a handle of this M's thread, for SuspendThread/GetThreadContext (Go's
    /// mOS.thread; written by minit, closed by mexit under the preemption lock).
    #[cfg(windows)]
    pub thread: usize,
    /// windows: this M's TEB, where preemption reads the thread's current g (its TLS slot) and
    /// writes its stack bounds (written by minit).
    #[cfg(windows)]
    pub teb: usize,
    /// windows: 1 while a preemption has this M's thread suspended, or once the thread is on its
    /// way into ExitProcess (Go's preemptExtLock): a thread suspended by another that the exit
    /// then kills would never run again, and ExitProcess would wait for it forever.
    #[cfg(windows)]
    pub preempt_ext_lock: AtomicU32,
    /// Execution tracing (trace/seqlock.rs): odd while this M writes into `trace_buf`.
    pub trace_seq: AtomicU32,
    /// This M's trace buffer (trace/): written only by this M inside its seqlock section,
    /// taken by `trace::stop` once tracing is off and `trace_seq` is even; null when none.
    pub trace_buf: *mut crate::trace::TraceBuf,
}

/// sysmon's view of a P at its last look.
#[repr(C)]
pub struct SysmonTick {
    /// p.schedtick when sysmon last looked.
    pub schedtick: u32,
    /// p.syscalltick when sysmon last looked.
    pub syscalltick: u32,
    /// When sysmon saw schedtick change.
    pub schedwhen: i64,
    /// When sysmon saw syscalltick change.
    pub syscallwhen: i64,
}

/// Capacity of a P's local run queue (Go's runq [256]guintptr).
pub const RUNQ_SIZE: usize = 256;

/// A processor: the resource needed to run Go code, with a local run queue.
#[repr(C)]
pub struct P {
    /// Index in allp.
    pub id: i32,
    /// `_P*` status.
    pub status: AtomicStatus<PStatus>,
    /// Next P on sched.pidle.
    pub link: *mut P,
    /// Incremented on every scheduler call.
    pub schedtick: u32,
    /// Incremented on every system call.
    pub syscalltick: AtomicU32,
    /// Last tick observed by sysmon (sysmon only).
    pub sysmontick: SysmonTick,
    /// Back-link to the associated M (null if idle).
    pub m: AtomicPtr<M>,
    /// Goroutine ids handed out locally: [goidcache, goidcacheend).
    pub goidcache: u64,
    /// End of the local goid batch.
    pub goidcacheend: u64,
    /// Lock-free local run queue plus runnext.
    pub runq: RunQueue<RUNQ_SIZE>,
    /// Free gs with stacks (status _Gdead).
    pub gfree: GList,
    /// Length of gfree. Written only by the P's owner (a load and a store, no read-modify-write:
    /// plain moves); read racily by num_goroutine and schedtrace (Go's gcount reads it so too).
    pub gfreecnt: AtomicI32,
    /// Free gs without a stack (theirs went to a goroutine at its first run, or was the wrong
    /// size): gfget takes them only when no g with a stack is free, so stacks keep being reused
    /// (and a spawned closure can sit on its goroutine's stack) while such gs are around.
    pub gfree_bare: GList,
    /// Length of gfree_bare (owner-written as gfreecnt).
    pub gfreecnt_bare: AtomicI32,
    /// Timers armed on this P (timer.rs), a min-heap by wake time, behind Go's timersLock
    /// (other Ms add, stop, run and move timers).
    pub timers: Mutex<crate::timer::TimerHeap>,
    /// Earliest `when` in timers, or 0: readable without the lock. A zombie (a stopped timer's
    /// entry) counts until a cleaner drops it (timer.rs).
    pub timer0_when: AtomicI64,
    /// Stale entries in timers (Go's ts.zombies), counted by stop without the lock (timer.rs).
    pub timer_zombies: crate::timer::Zombies,
    /// Per-P object cache (Go's mcache): the allocator's lock-free fast path.
    pub mcache: crate::malloc::Mcache,
}

/// A singly linked list of gs through `schedlink` (Go's gList).
#[repr(C)]
pub struct GList {
    /// First g, or null.
    pub head: *mut G,
}

impl GList {
    /// An empty list.
    pub const fn new() -> Self {
        GList { head: ptr::null_mut() }
    }
    /// Whether the list is empty.
    pub fn empty(&self) -> bool {
        self.head.is_null()
    }
    /// Pushes gp on the front.
    ///
    /// # Safety
    /// `gp` must be valid and not on another list.
    pub unsafe fn push(&mut self, gp: *mut G) {
        // SAFETY: gp is valid per the caller.
        unsafe { (*gp).schedlink = self.head };
        self.head = gp;
    }
    /// Pops from the front.
    pub fn pop(&mut self) -> *mut G {
        let gp = self.head;
        if !gp.is_null() {
            // SAFETY: list members are valid gs.
            self.head = unsafe { (*gp).schedlink };
        }
        gp
    }
    /// Moves the first `n` gs (all, if the list is shorter) onto the front of `to` in one
    /// splice, in their order; returns how many moved. Out of line with `n` a parameter: the
    /// pop-and-push loops it replaces (gfput's batches of 32) were unrolled 32 times, ~900
    /// bytes each (issue 22). The walk's one exit test after the load keeps LLVM from
    /// unrolling it (766 bytes as `while moved < n && next != null`, 58 now), at ~5 instructions
    /// a spawn (bench --instructions: 651.9 -> 657.0).
    #[inline(never)]
    pub fn move_front(&mut self, to: &mut GList, n: usize) -> usize {
        let first = self.head;
        if first.is_null() || n == 0 {
            return 0;
        }
        let (mut last, mut moved) = (first, 1);
        // SAFETY: list members are valid gs; `to`'s head is one or null.
        unsafe {
            loop {
                let next = (*last).schedlink;
                if next.is_null() || moved == n {
                    break;
                }
                last = next;
                moved += 1;
            }
            self.head = (*last).schedlink;
            (*last).schedlink = to.head;
        }
        to.head = first;
        moved
    }
}

/// A FIFO of gs through `schedlink` (Go's gQueue), used for the global run queue.
#[repr(C)]
pub struct GQueue {
    /// First g.
    pub head: *mut G,
    /// Last g.
    pub tail: *mut G,
}

impl GQueue {
    /// An empty queue.
    pub const fn new() -> Self {
        GQueue { head: ptr::null_mut(), tail: ptr::null_mut() }
    }
    /// Appends gp.
    ///
    /// # Safety
    /// `gp` must be valid and on no other list.
    pub unsafe fn push_back(&mut self, gp: *mut G) {
        // SAFETY: gp and tail are valid gs.
        unsafe {
            (*gp).schedlink = ptr::null_mut();
            if self.tail.is_null() {
                self.head = gp;
            } else {
                (*self.tail).schedlink = gp;
            }
        }
        self.tail = gp;
    }
    /// Removes and returns the first g, or null.
    pub fn pop(&mut self) -> *mut G {
        let gp = self.head;
        if !gp.is_null() {
            // SAFETY: queue members are valid.
            self.head = unsafe { (*gp).schedlink };
            if self.head.is_null() {
                self.tail = ptr::null_mut();
            }
        }
        gp
    }
}

/// The global scheduler state (Go's schedt). Fields under `lock` are in `SchedLocked`.
pub struct Sched {
    /// Global goroutine id generator (batches of 16 go to P caches).
    pub goidgen: AtomicU64,
    /// sched.lock and what it guards. Functions Go documents as "sched.lock must be held" take
    /// `&mut SchedLocked`: holding the guard is the only way to call them.
    pub lock: Mutex<SchedLocked>,
    /// Number of idle Ps (readable without the lock).
    pub npidle: AtomicI32,
    /// Number of spinning Ms.
    pub nmspinning: AtomicI32,
    /// Set when a P found work while no M was spinning (Go's needspinning).
    pub needspinning: AtomicU32,
    /// Global run queue length (readable without the lock).
    pub runqsize: AtomicI32,
    /// A stop-the-world is in progress: Ms give up their P at the next scheduler call.
    pub gcwaiting: AtomicBool,
    /// Number of Ps still to stop in a stop-the-world.
    pub stopwait: AtomicI32,
    /// Woken when stopwait reaches 0.
    pub stopnote: Note,
    /// sysmon is asleep on sysmonnote.
    pub sysmonwait: AtomicBool,
    /// Wakes sysmon.
    pub sysmonnote: Note,
    /// Number of Ms created.
    pub mcount: AtomicI32,
}

/// The part of `Sched` guarded by sched.lock.
pub struct SchedLocked {
    /// Idle Ms waiting for work.
    pub midle: *mut M,
    /// Number of idle Ms.
    pub nmidle: i32,
    /// Number of Ms created so far; next M id.
    pub mnext: i64,
    /// Maximum number of Ms allowed (10000).
    pub maxmcount: i32,
    /// Number of system Ms (sysmon) not counted for deadlock.
    pub nmsys: i32,
    /// Idle Ps.
    pub pidle: *mut P,
    /// Global runnable queue.
    pub runq: GQueue,
    /// Number of idle Ms that are locked: waiting in stoplockedm for their g (Go's
    /// sched.nmidlelocked); sysmon also holds it at -1 while it hands off a retaken P, as Go's
    /// incidlelocked.
    pub nmidlelocked: i32,
    /// Ms that gave their P up in find_runnable and have neither slept nor taken a P since
    /// (`M.transit`): startm hands them its requests instead of creating Ms (pm.rs).
    pub nmtransit: i32,
    /// startm requests waiting for an M in transit (never more than nmtransit).
    pub nmwanted: i32,
    /// How many of those requests are for a spinning M (counted in nmspinning already).
    pub nmwanted_spinning: i32,
}

// SAFETY: the Ms and Ps on the idle lists and the gs on the run queue are never freed, and
// these links move between threads only under sched.lock, which owns them.
unsafe impl Send for SchedLocked {}

/// A static whose contents the runtime mutates under its own rules (locks, ownership by one M).
#[repr(transparent)]
pub struct Global<T>(pub UnsafeCell<T>);

// SAFETY: a Global is a Mutex whose lock is the runtime's discipline documented at each static
// (a runtime lock, boot before any second thread, or one owning M): the T is only ever used by
// one thread at a time, so it must be able to move between threads (T: Send, std's Mutex bound).
unsafe impl<T: Send> Sync for Global<T> {}

impl<T> Global<T> {
    /// Wraps a value.
    pub const fn new(v: T) -> Self {
        Global(UnsafeCell::new(v))
    }
    /// Raw pointer to the contents.
    pub const fn get(&self) -> *mut T {
        self.0.get()
    }
}

// Send for the scheduler's objects, so that statics holding them can be `Global`s. What makes a
// G, M or P safe to reach from several threads is the runtime's protocol (a G's status, an M's
// ownership of its P, sched.lock), not the type system; their raw pointers point at other
// runtime objects, which are never freed.
// SAFETY: any M may run any G: Go's model; a G's fields are owned by the M that runs it, or by
// whoever moved its status out of _Grunning (casgstatus).
unsafe impl Send for G {}
// SAFETY: an M's fields are its own thread's, except those sched.lock or atomics guard; moving
// the M value itself happens only while one thread sets it up (boot, newm).
unsafe impl Send for M {}
// SAFETY: a list of gs owned by whoever holds the list (a P's owner, or a lock): see G.
unsafe impl Send for GList {}

/// A value of `T` with every byte zero.
///
/// # Safety
/// All-zero bytes must be a valid `T` (const evaluation rejects types where they are not).
pub const unsafe fn zeroed<T>() -> T {
    // SAFETY: forwarded to the caller.
    unsafe { core::mem::MaybeUninit::zeroed().assume_init() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::boxed::Box;
    use alloc::vec::Vec;

    /// The gs of a list, front to back.
    fn members(l: &GList) -> Vec<*mut G> {
        let mut v = Vec::new();
        let mut gp = l.head;
        while !gp.is_null() {
            v.push(gp);
            // SAFETY: the test's gs live until the end of the test.
            gp = unsafe { (*gp).schedlink };
        }
        v
    }

    #[test]
    fn move_front_splices_in_order() {
        // SAFETY: all-zero bytes are a valid G (runtime_g0 is one).
        let gs: Vec<*mut G> = (0..5).map(|_| Box::into_raw(Box::new(unsafe { zeroed::<G>() }))).collect();
        let (mut from, mut to) = (GList::new(), GList::new());
        for &gp in gs[..4].iter().rev() {
            // SAFETY: a fresh g, on no list.
            unsafe { from.push(gp) };
        }
        // SAFETY: likewise.
        unsafe { to.push(gs[4]) };
        assert_eq!(from.move_front(&mut to, 3), 3);
        assert_eq!(members(&to), [gs[0], gs[1], gs[2], gs[4]]);
        assert_eq!(members(&from), [gs[3]]);
        // Shorter than asked: all of it.
        assert_eq!(from.move_front(&mut to, 32), 1);
        assert_eq!(members(&to), [gs[3], gs[0], gs[1], gs[2], gs[4]]);
        assert!(from.empty());
        assert_eq!(from.move_front(&mut to, 32), 0);
        assert_eq!(to.move_front(&mut from, 0), 0);
        for gp in gs {
            // SAFETY: made by Box::into_raw above, on no list any more that is used.
            drop(unsafe { Box::from_raw(gp) });
        }
    }
}
