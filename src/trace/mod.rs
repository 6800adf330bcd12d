//! Execution tracing (Go's runtime/trace.go, traceruntime.go, traceevent.go, tracebuf.go):
//! `GODEBUG=gorttrace=path` or `gort::trace::start(path)` / `stop()` record what the scheduler
//! does (goroutines created, started, blocked with their reason, unblocked, ended; system calls;
//! Ps and Ms starting and stopping; preemptions; steals; netpoll wake-ups) and write it as
//! Chrome Trace Event JSON (`json.rs`), which Perfetto, chrome://tracing and
//! `cargo xtask trace-view` read.
//!
//! - **Off**: every hook in the scheduler is `if trace::on() { … }`, one Relaxed load and a
//!   predictable branch; the recording functions are out of line (`#[cold]`).
//! - **On**: each M appends events to its own buffer (`m.trace_buf`, Go 1.21's per-M buffers:
//!   an event is written by the M that makes it, with or without a P, so no lock is needed),
//!   inside the seqlock section of `seqlock.rs` (which states the ordering argument; on Linux
//!   its asymmetric form: plain stores on the event path and `membarrier/` in the stopper, the
//!   locked RMW elsewhere), in the compact binary encoding of `tracebuf.rs` (one or two words
//!   an event for the common ones, timestamps as deltas, as Go's tracebuf.go). Timestamps
//!   are `cputicks/` (Go's cputicks: rdtsc on x86-64, CNTVCT_EL0 on arm64, nanotime on arm),
//!   monotonic per M, mapped to nanotime when the JSON is written. A full buffer (64 KB) goes
//!   on the `FULL` list (a lock taken once per buffer) and the M takes a fresh one.
//! - **Start** records one `GoStatus` event per goroutine that exists (Go's GoStatus events:
//!   runnable, running, in a system call, waiting with its reason), so every goroutine the
//!   trace shows was either created in it or has a status.
//! - **The writer** (Go's trace reader) is a goroutine started by `start` that spends the whole
//!   trace in one blocking call on an M of its own, its P handed off at once (Go's
//!   entersyscallblock), as the CPU profile's writer does: it sleeps on a futex word while no
//!   buffer is full (the M that fills one wakes it) and appends each full buffer's bytes, as
//!   encoded, to a spill file (`<path>.raw`), as Go writes a binary trace and converts it
//!   later. So a write (16–37 µs a 64 KB buffer here) never holds a P, and the scheduler has no
//!   trace reader to look for.
//! - **stop** records the caller's span end, turns the switch off, takes every M's partial
//!   buffer once that M is out of its write section, tells the writer to finish and waits for
//!   it: the writer reads the spill file back, decodes it, writes the JSON file, and removes
//!   the spill. Goroutines running on other Ps when tracing starts have a `running` status and
//!   a span from the trace's start to their first stop (`emit_on`); at the stop their spans
//!   are cut.

//!
//! All of this is built with gort's `trace` Cargo feature only (`gort_trace`): without it the
//! hooks are `off.rs`'s (`on()` is a constant false, so every hook and its arguments compile
//! away), `start` answers [`StartError::Unsupported`] and `GODEBUG=gorttrace` prints that it
//! needs the feature: a program that is not traced does not carry the tracer (~39 KB, issue
//! 22's hello size).

#[cfg(gort_trace)]
#[cfg_attr(target_arch = "x86_64", path = "cputicks/amd64.rs")]
#[cfg_attr(target_arch = "aarch64", path = "cputicks/arm64.rs")]
#[cfg_attr(not(any(target_arch = "x86_64", target_arch = "aarch64")), path = "cputicks/nanotime.rs")]
mod cputicks;
#[cfg(gort_trace)]
mod json;
#[cfg(gort_trace)]
#[cfg_attr(target_os = "linux", path = "membarrier/linux.rs")]
#[cfg_attr(not(target_os = "linux"), path = "membarrier/none.rs")]
mod membarrier;
#[cfg(not(gort_trace))]
mod off;
#[cfg(gort_trace)]
mod seqlock;
#[cfg(gort_trace)]
mod tracebuf;
#[cfg(gort_trace)]
mod traceruntime;

#[cfg(not(gort_trace))]
pub(crate) use off::*;
#[cfg(gort_trace)]
pub(crate) use traceruntime::*;

#[cfg(not(gort_trace))]
use off as traceruntime;

/// Why `start` refused.
#[derive(Debug)]
pub enum StartError {
    /// A trace is already being recorded.
    Active,
    /// The file could not be created.
    File(crate::io::Error),
    /// gort was built without its `trace` feature.
    Unsupported,
}

/// Starts recording an execution trace into `path` (created or truncated), as
/// `GODEBUG=gorttrace=path` does before `main`. Fails if a trace is being recorded already, the
/// file cannot be created, or gort was built without its `trace` feature.
///
/// ```no_run
/// gort::trace::start("trace.json").unwrap();
/// // ... the work to look at ...
/// gort::trace::stop();
/// ```
pub fn start(path: impl AsRef<[u8]>) -> Result<(), StartError> {
    traceruntime::start(path.as_ref())
}

/// Stops recording and returns once the trace file is complete. Does nothing when no trace is
/// being recorded. (`GODEBUG=gorttrace` traces stop when `main` returns; `gort::os::exit` and a
/// panic leave the file incomplete, as Go's trace is.)
pub fn stop() {
    traceruntime::stop()
}
