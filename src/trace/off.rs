//! The execution tracer's hooks when gort is built without its `trace` feature (mod.rs): `on()`
//! is false, so the scheduler's `if trace::on() { … }` blocks compile away, and the recording
//! functions, never called, do nothing.

use crate::gmp::{WaitReason, G, M, P};

pub const STOP_EXIT: u8 = 0;
pub const STOP_SCHED: u8 = 1;
pub const STOP_PREEMPT: u8 = 2;

/// Stands in for the per-M event buffer (M.trace_buf stays null).
pub struct TraceBuf;

/// Never tracing.
#[inline(always)]
pub const fn on() -> bool {
    false
}

pub fn go_create(_newg: *mut G, _parent: u64) {}
pub fn go_start(_gp: *mut G, _pp: *mut P) {}
pub fn go_stop(_gp: *mut G, _why: u8) {}
pub fn go_block(_gp: *mut G, _reason: WaitReason) {}
pub fn go_unblock(_gp: *mut G) {}
pub fn go_preempt(_gp: *mut G, _asynchronous: bool) {}
pub fn go_syscall(_gp: *mut G) {}
pub fn go_sysexit(_gp: *mut G) {}
pub fn proc_start(_pp: *mut P) {}
pub fn proc_stop(_pp: *mut P) {}
pub fn m_sleep(_woke: bool) {}
pub fn steal(_victim: *mut P) {}
pub fn netpoll(_n: usize) {}
pub fn m_exit(_mp: *mut M) {}

/// `GODEBUG=gorttrace=path` without the feature: says so once, records nothing.
pub fn start_from_godebug() {
    if crate::args::godebug_string("gorttrace").is_some_and(|p| !p.is_empty()) {
        crate::print::print(
            true,
            format_args!("gort: GODEBUG=gorttrace needs gort's `trace` feature; no trace is recorded\n"),
        );
    }
}

/// `gort::trace::start`: unsupported.
pub fn start(_path: &[u8]) -> Result<(), super::StartError> {
    Err(super::StartError::Unsupported)
}

/// Nothing to stop.
pub fn stop() {}
