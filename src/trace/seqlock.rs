//! The per-M trace seqlock (Go's traceAcquire/traceRelease and the `mp.trace.seqlock` that
//! traceAdvance waits on): how an M's trace buffer is written without a lock while tracing is
//! on, and taken by `trace::stop` once it is off.
//!
//! The M that owns a buffer is its only writer. Before it writes it makes its `seq` odd with a
//! read-modify-write (RMW, Acquire), then looks at the trace switch `on` again; after writing
//! it makes `seq` even with a Release store. The stopper turns the switch off, then waits
//! until it can compare-exchange each M's `seq` from an even value to the same value (AcqRel),
//! and only then takes that M's buffer. Go does the same with an atomic Xadd per traceAcquire.
//!
//! Ordering argument. It needs no fence and no SeqCst, only two facts of the C++/Rust model:
//! an RMW reads the value just before its own write in `seq`'s modification order (mo), and a
//! Release write (or its release sequence) read by an Acquire RMW synchronizes with it. The
//! owner's writes to `seq` are, in program order and so in mo, `B1 E1 B2 E2 ...` (`Bk`:
//! writer_begin's RMW, odd; `Ek`: the Release store that makes it even again, writer_end's or
//! the switch-off path's). Let `R` be the stopper's successful exchange. It read an even value,
//! so its mo predecessor is some `Ek` (or the initial value, or an earlier trace's exchange
//! that read `Ek`, continuing `Ek`'s release sequence): `R` (Acquire) synchronizes with `Ek`
//! (Release), and every write of section `k` and before happens before the stopper reads the
//! buffer. The owner's first write after `R` in mo is `B(k+1)` (the stopper writes `seq` only
//! once per stop), an RMW, so it reads `R`'s write (or a later exchange's, in `R`'s release
//! sequence): `R` (Release, program-ordered after the stopper's `on = 0`) synchronizes with
//! `B(k+1)` (Acquire), so `on = 0` happens before the owner's following load of `on`, which by
//! coherence cannot read the older 1: the owner writes nothing more. A failed exchange (odd
//! value) writes nothing and decides nothing, and `R` only succeeds between sections, so it
//! never falls between the owner's `get` and `put` in writer_end. Both RMWs are needed: with a
//! plain store in the writer or a plain load in the stopper this is the store-buffering
//! pattern, where each side may miss the other's store. `loom_tests` model-checks the protocol
//! (loom models RMWs and Acquire/Release faithfully; nothing here relies on SeqCst, which it
//! weakens) and two variants that must race: the writer's RMW Relaxed, and the stopper reading
//! `seq` with a plain Acquire load.
//!
//! Cost: on x86-64 the writer's RMW is one `lock xadd` (~6 ns alone here), the same as the
//! `lock or` on the stack that LLVM emitted for the store-then-`fence(SeqCst)` this replaced
//! (not an `mfence`, ~22 ns), so x86-64 gains nothing measurable; on arm64 it is an `ldadda`
//! (or an `ldaxr`/`stxr` loop: the outlined `__aarch64_ldadd4_acq`) with no `dmb`, on arm a
//! `ldrex`/`strex` loop and a `dmb`. It was the largest part of an event's cost: where the
//! OS has a process-wide barrier the asymmetric form below goes without it.
//!
//! When tracing is off the hooks never get here: they test the switch with one Relaxed load
//! first (`trace::on`), so the scheduler's cost is a load and a predictable branch.
//!
//! **The asymmetric form** (`writer_begin_asym`, `stopper_may_take_after_barrier`), used where
//! the OS has a process-wide memory barrier (`membarrier/`: Linux's
//! `membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)`), moves the locked instruction's work to the
//! stopper, which runs once per trace. The owner makes `seq` odd with a plain (Relaxed) store,
//! a compiler fence keeps that store before its load of `on` (Acquire) and the buffer writes,
//! and `writer_end` is the same Release store as before. The stopper stores `on = 0`, issues
//! the barrier, then waits for an even `seq` with Acquire loads (no RMW: it writes nothing).
//!
//! Ordering argument. The barrier returns only after every thread of the process has run a
//! full memory barrier (or was not running, and a context switch is one) at some point `T` of
//! its instruction stream, after the stopper's store `on = 0` is visible (the system call
//! begins with a full barrier on the stopper's CPU). Take the owner's section whose odd store
//! `S` is the last one before `T` in program order, and the next one's `S'` (after `T`):
//! - every section from `S'` on loads `on` after `T`'s barrier, so it reads 0 (or a later
//!   start's 1, which is a new trace) and touches no buffer (it stores `seq` back to even);
//! - `S` and everything before it was drained by `T`'s barrier before the call returned, so
//!   the stopper's later loads of `seq` read `S` or a later store (coherence): it waits while
//!   the value is odd, and the even value it accepts is `S`'s section's Release store `E` (or a
//!   later aborted section's), which its Acquire load synchronizes with: every buffer write of
//!   that section happens before the stopper takes the buffer. (The load of `on` in `S`'s
//!   section may have read 1 even after `T`: then the section runs to `E` and the stopper waits
//!   for it; it could not have been reordered before `S` by the compiler (the fence) and, if
//!   the CPU did, `S` is still visible by `T`.)
//!
//! A writer that still runs the RMW form (it read `ASYM` before the first start set it, as
//! traceruntime.rs allows) is covered by the same argument: an RMW is a store for it. Without
//! the barrier it is the store-buffering pattern again (the owner's odd store still in its store buffer while its
//! load of `on` reads 1; the stopper reads the old even `seq`), which the loom model's
//! must-fail variant shows. `loom_tests` models the barrier as a pair of SeqCst fences, one
//! between the owner's odd store and its load of `on`, one after the stopper's store of `on`
//! (loom orders SeqCst fences totally and joins their causality, which is what the system
//! call gives: each thread's barrier is ordered against the stopper's).
//!
//! Cost: the owner's section is two plain stores and a load on every architecture; the
//! stopper pays one system call per trace (an IPI to each CPU running one of our threads).

use core::sync::atomic::Ordering;

/// The counter and switch as the protocol uses them (core's atomics in the runtime, loom's in
/// the model).
pub trait Word {
    /// Current value (Relaxed: only the owner writes `seq`, and the stopper's RMW writes back
    /// what it read).
    fn get(&self) -> u32;
    /// Store with the given ordering.
    fn put(&self, v: u32, o: Ordering);
    /// Load with the given ordering.
    fn load_with(&self, o: Ordering) -> u32;
    /// Atomic add with the given ordering; returns the previous value.
    fn add_with(&self, v: u32, o: Ordering) -> u32;
    /// If the value is `v`, writes `v` back (AcqRel; Relaxed when it is not): whether it was.
    fn exchange_same(&self, v: u32) -> bool;
}

impl Word for core::sync::atomic::AtomicU32 {
    #[inline]
    fn get(&self) -> u32 {
        self.load(Ordering::Relaxed)
    }
    #[inline]
    fn put(&self, v: u32, o: Ordering) {
        self.store(v, o)
    }
    #[inline]
    fn load_with(&self, o: Ordering) -> u32 {
        self.load(o)
    }
    #[inline]
    fn add_with(&self, v: u32, o: Ordering) -> u32 {
        self.fetch_add(v, o)
    }
    #[inline]
    fn exchange_same(&self, v: u32) -> bool {
        self.compare_exchange(v, v, Ordering::AcqRel, Ordering::Relaxed).is_ok()
    }
}

#[cfg(loom)]
impl Word for loom::sync::atomic::AtomicU32 {
    fn get(&self) -> u32 {
        self.load(Ordering::Relaxed)
    }
    fn put(&self, v: u32, o: Ordering) {
        self.store(v, o)
    }
    fn load_with(&self, o: Ordering) -> u32 {
        self.load(o)
    }
    fn add_with(&self, v: u32, o: Ordering) -> u32 {
        self.fetch_add(v, o)
    }
    fn exchange_same(&self, v: u32) -> bool {
        self.compare_exchange(v, v, Ordering::AcqRel, Ordering::Relaxed).is_ok()
    }
}

/// The writer's entry (Go's traceAcquire): makes `seq` odd with an Acquire RMW and rechecks
/// the switch `on` (non-zero: tracing). True: the caller owns its buffer until `writer_end`.
/// False: tracing went off meanwhile; `seq` is even again and the caller must not touch the
/// buffer.
#[inline]
pub fn writer_begin(seq: &impl Word, on: &impl Word) -> bool {
    writer_begin_with(seq, on, Ordering::Acquire)
}

/// writer_begin with the RMW's ordering as a parameter (the loom model's broken variant uses
/// Relaxed; the runtime only ever passes Acquire).
#[inline]
fn writer_begin_with(seq: &impl Word, on: &impl Word, rmw: Ordering) -> bool {
    let s = seq.add_with(1, rmw);
    // Acquire: a later `trace::start`'s switch-on (a Release store) publishes the stopper's
    // emptying of this M's buffer.
    if on.load_with(Ordering::Acquire) == 0 {
        seq.put(s.wrapping_add(2), Ordering::Release);
        return false;
    }
    true
}

/// The writer's entry where the stopper uses the process-wide barrier (see the module doc's
/// asymmetric form): makes `seq` odd with a plain store (the owner is `seq`'s only writer
/// then), keeps it before the recheck of `on` with a compiler fence. True/false as
/// `writer_begin`.
#[inline]
pub fn writer_begin_asym(seq: &impl Word, on: &impl Word) -> bool {
    // The compiler must not move the odd store after the load of `on` (the CPU may: the
    // stopper's barrier covers that); the Acquire load keeps the buffer writes after it.
    writer_begin_asym_with(seq, on, || core::sync::atomic::compiler_fence(Ordering::SeqCst))
}

/// writer_begin_asym with what stands between the odd store and the load of `on` as a
/// parameter: the runtime's compiler fence, the loom model's SeqCst fence (its half of the
/// barrier) or nothing (the must-fail variant).
#[inline(always)]
fn writer_begin_asym_with(seq: &impl Word, on: &impl Word, fence: impl Fn()) -> bool {
    let s = seq.get();
    seq.put(s.wrapping_add(1), Ordering::Relaxed);
    fence();
    if on.load_with(Ordering::Acquire) == 0 {
        seq.put(s.wrapping_add(2), Ordering::Release);
        return false;
    }
    true
}

/// The writer's exit (Go's traceRelease): `seq` even, publishing what was written.
#[inline]
pub fn writer_end(seq: &impl Word) {
    seq.put(seq.get().wrapping_add(1), Ordering::Release);
}

/// The stopper's side, after it stored the switch off: whether this M is outside its write
/// section, decided by an RMW that reads an even `seq` and writes it back unchanged (a
/// compare-exchange, AcqRel: it publishes the switch-off to the owner's next writer_begin and
/// acquires the owner's last section). A failed exchange (odd, or changed since the Relaxed
/// look) writes nothing, so a spinning stopper only reads the owner's line. The caller spins
/// until true, then owns the M's buffer.
#[inline]
pub fn stopper_may_take(seq: &impl Word) -> bool {
    let v = seq.get();
    v & 1 == 0 && seq.exchange_same(v)
}

/// The stopper's side in the asymmetric form, after it stored the switch off and the
/// process-wide barrier returned: whether this M is outside its write section (an Acquire
/// load of an even `seq`, synchronizing with the owner's last `writer_end`). The caller spins
/// until true, then owns the M's buffer.
#[inline]
pub fn stopper_may_take_after_barrier(seq: &impl Word) -> bool {
    seq.load_with(Ordering::Acquire) & 1 == 0
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::{
        stopper_may_take, stopper_may_take_after_barrier, writer_begin_asym_with, writer_begin_with, writer_end, Word,
    };
    use loom::cell::UnsafeCell;
    use loom::sync::atomic::{AtomicU32, Ordering};
    use loom::sync::Arc;
    use loom::thread;

    /// The stopper's check done right (the runtime's `stopper_may_take`).
    fn stopper_rmw(seq: &AtomicU32) -> bool {
        stopper_may_take(seq)
    }

    /// The variant that must fail: the stopper reads `seq` with a plain Acquire load.
    fn stopper_load(seq: &AtomicU32) -> bool {
        seq.load_with(Ordering::Acquire) & 1 == 0
    }

    /// An M writes one event into its buffer twice while another thread stops the trace and
    /// takes the buffer, the writer's RMW with ordering `rmw` and the stopper's check `may_take`.
    /// The buffer is a loom UnsafeCell: any write the stopper's read does not happen-after, or
    /// any write after it that does not happen-after it, is a data race loom reports.
    fn stop_while_writing(rmw: Ordering, may_take: fn(&AtomicU32) -> bool) {
        loom::model(move || {
            let seq = Arc::new(AtomicU32::new(0));
            let on = Arc::new(AtomicU32::new(1));
            let buf = Arc::new(UnsafeCell::new(0u32));
            let writer = {
                let (seq, on, buf) = (seq.clone(), on.clone(), buf.clone());
                thread::spawn(move || {
                    for _ in 0..2 {
                        if writer_begin_with(&*seq, &*on, rmw) {
                            // SAFETY: the section is ours (the protocol under test).
                            buf.with_mut(|p| unsafe { *p += 1 });
                            writer_end(&*seq);
                        }
                    }
                })
            };
            on.store(0, Ordering::Relaxed);
            while !may_take(&seq) {
                thread::yield_now();
            }
            // SAFETY: the stopper owns the buffer now (the protocol under test).
            let got = buf.with(|p| unsafe { *p });
            writer.join().unwrap();
            // Nothing is written after the stopper took the buffer.
            // SAFETY: the writer has exited.
            assert_eq!(buf.with(|p| unsafe { *p }), got, "an event written after the stop");
        });
    }

    #[test]
    fn stopper_never_reads_a_buffer_being_written() {
        stop_while_writing(Ordering::Acquire, stopper_rmw);
    }

    #[test]
    #[should_panic(expected = "Causality violation")]
    fn with_a_relaxed_writer_rmw_the_stopper_races() {
        stop_while_writing(Ordering::Relaxed, stopper_rmw);
    }

    #[test]
    #[should_panic(expected = "Causality violation")]
    fn with_a_plain_load_in_the_stopper_it_races() {
        stop_while_writing(Ordering::Acquire, stopper_load);
    }
    /// The asymmetric form: an M writes one event into its buffer twice (plain odd store, then
    /// `owner_barrier`, then the load of `on`) while another thread stores `on = 0`, runs
    /// `stopper_barrier` and takes the buffer once `seq` is even. The process-wide barrier is
    /// modelled as a SeqCst fence on each side (loom orders them and joins their causality).
    fn stop_while_writing_asym(barrier: bool) {
        loom::model(move || {
            let seq = Arc::new(AtomicU32::new(0));
            let on = Arc::new(AtomicU32::new(1));
            let buf = Arc::new(UnsafeCell::new(0u32));
            let fence = move || {
                if barrier {
                    loom::sync::atomic::fence(Ordering::SeqCst);
                }
            };
            let writer = {
                let (seq, on, buf) = (seq.clone(), on.clone(), buf.clone());
                thread::spawn(move || {
                    for _ in 0..2 {
                        if writer_begin_asym_with(&*seq, &*on, fence) {
                            // SAFETY: the section is ours (the protocol under test).
                            buf.with_mut(|p| unsafe { *p += 1 });
                            writer_end(&*seq);
                        }
                    }
                })
            };
            on.store(0, Ordering::Relaxed);
            fence();
            while !stopper_may_take_after_barrier(&*seq) {
                thread::yield_now();
            }
            // SAFETY: the stopper owns the buffer now (the protocol under test).
            let got = buf.with(|p| unsafe { *p });
            writer.join().unwrap();
            // SAFETY: the writer has exited.
            assert_eq!(buf.with(|p| unsafe { *p }), got, "an event written after the stop");
        });
    }

    #[test]
    fn asymmetric_stopper_never_reads_a_buffer_being_written() {
        stop_while_writing_asym(true);
    }

    #[test]
    #[should_panic(expected = "Causality violation")]
    fn asymmetric_without_the_barrier_the_stopper_races() {
        stop_while_writing_asym(false);
    }
}
