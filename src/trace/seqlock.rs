//! The per-M trace seqlock (Go's traceAcquire/traceRelease and the `mp.trace.seqlock` that
//! traceAdvance waits on): how an M's trace buffer is written without a lock while tracing is
//! on, and taken by `trace::stop` once it is off.
//!
//! The M that owns a buffer is its only writer. Before it writes it makes its `seq` odd, then
//! (after a full fence) looks at the trace switch again; after writing it makes `seq` even with
//! a Release store. The stopper turns the switch off, fences, then waits until each M's `seq`
//! is even (Acquire) before it takes that M's buffer. Ordering argument (a Dekker pair):
//! writer `store seq odd; fence(SeqCst); load on` against stopper `store on = false;
//! fence(SeqCst); load seq`. The two fences are ordered; whichever comes second sees the other
//! side's store: either the writer sees the switch off and writes nothing, or the stopper sees
//! the odd `seq` and waits for the even one, whose Release store makes the writes visible to
//! its Acquire load. A writer that sees the switch on keeps `seq` odd for the whole write, so
//! the stopper never reads a buffer being written. `loom_tests` model-checks this with loom's
//! atomics and fences, and a variant without the writer's fence, which must race.
//!
//! When tracing is off the hooks never get here: they test the switch with one Relaxed load
//! first (`trace::on`), so the scheduler's cost is a load and a predictable branch.

use core::sync::atomic::Ordering;

use crate::spinning::Fence;

/// The counter and switch as the protocol uses them (core's atomics in the runtime, loom's in
/// the model).
pub trait Word {
    /// Current value (Relaxed: only the owner writes `seq`).
    fn get(&self) -> u32;
    /// Store with the given ordering.
    fn put(&self, v: u32, o: Ordering);
    /// Load with the given ordering.
    fn load_with(&self, o: Ordering) -> u32;
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
}

/// The writer's entry (Go's traceAcquire): makes `seq` odd, fences, and rechecks the switch
/// `on` (non-zero: tracing). True: the caller owns its buffer until `writer_end`. False: tracing
/// went off meanwhile; `seq` is even again and the caller must not touch the buffer.
#[inline]
pub fn writer_begin<F: Fence>(seq: &impl Word, on: &impl Word) -> bool {
    let s = seq.get();
    seq.put(s.wrapping_add(1), Ordering::Relaxed);
    F::seq_cst();
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

/// The stopper's side, after it stored the switch off: the fence, then whether this M is
/// outside its write section (even `seq`, read with Acquire). The caller spins until true,
/// then owns the M's buffer.
#[inline]
pub fn stopper_may_take<F: Fence>(seq: &impl Word) -> bool {
    F::seq_cst();
    seq.load_with(Ordering::Acquire) & 1 == 0
}

#[cfg(all(test, loom))]
mod loom_tests {
    use super::{stopper_may_take, writer_begin, writer_end};
    use crate::spinning::Fence;
    use loom::cell::UnsafeCell;
    use loom::sync::atomic::{AtomicU32, Ordering};
    use loom::sync::Arc;
    use loom::thread;

    struct LoomFence;
    impl Fence for LoomFence {
        fn seq_cst() {
            loom::sync::atomic::fence(Ordering::SeqCst);
        }
    }

    /// The variant that must fail: the writer's fence removed.
    struct NoFence;
    impl Fence for NoFence {
        fn seq_cst() {}
    }

    /// An M writes one event into its buffer while another thread stops the trace and takes
    /// the buffer. The buffer is a loom UnsafeCell: any write the stopper's read does not
    /// happen-after is a data race loom reports.
    fn stop_while_writing<W: Fence>() {
        loom::model(|| {
            let seq = Arc::new(AtomicU32::new(0));
            let on = Arc::new(AtomicU32::new(1));
            let buf = Arc::new(UnsafeCell::new(0u32));
            let writer = {
                let (seq, on, buf) = (seq.clone(), on.clone(), buf.clone());
                thread::spawn(move || {
                    for _ in 0..2 {
                        if writer_begin::<W>(&*seq, &*on) {
                            // SAFETY: the section is ours (the protocol under test).
                            buf.with_mut(|p| unsafe { *p += 1 });
                            writer_end(&*seq);
                        }
                    }
                })
            };
            on.store(0, Ordering::Relaxed);
            while !stopper_may_take::<LoomFence>(&*seq) {
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
        stop_while_writing::<LoomFence>();
    }

    #[test]
    #[should_panic(expected = "Causality violation")]
    fn without_the_writers_fence_the_stopper_races() {
        stop_while_writing::<NoFence>();
    }
}
