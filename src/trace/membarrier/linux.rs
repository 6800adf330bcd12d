//! The process-wide memory barrier on Linux (no Go counterpart: Go's tracer keeps its atomic
//! Xadd per event): `membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED)`, which returns once every
//! running thread of the process has executed a full memory barrier (an IPI to their CPUs;
//! threads not running pass through one at their next context switch). The process registers
//! once (`MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED`, Linux 4.14); where the command does not
//! exist (an older kernel, a seccomp filter, an emulator without it) `register` says false and
//! the tracer keeps its RMW seqlock. seqlock.rs states what the tracer relies on.

use core::sync::atomic::{AtomicU8, Ordering};

#[cfg(target_arch = "x86_64")]
const SYS_MEMBARRIER: usize = 324;
#[cfg(target_arch = "aarch64")]
const SYS_MEMBARRIER: usize = 283;
#[cfg(target_arch = "arm")]
const SYS_MEMBARRIER: usize = 389;

const MEMBARRIER_CMD_QUERY: usize = 0;
const MEMBARRIER_CMD_PRIVATE_EXPEDITED: usize = 1 << 3;
const MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED: usize = 1 << 4;

/// 0: not tried; 1: registered; 2: unavailable.
static STATE: AtomicU8 = AtomicU8::new(0);

fn membarrier(cmd: usize) -> isize {
    // SAFETY: membarrier takes two integers (cmd, flags) and a cpu id (unused without
    // MEMBARRIER_CMD_FLAG_CPU); it touches no memory of ours.
    unsafe { crate::sys::syscall6(SYS_MEMBARRIER, cmd, 0, 0, 0, 0, 0) }
}

/// Registers the process for `barrier` (once; later calls return the first answer): whether
/// the barrier is available.
pub fn register() -> bool {
    match STATE.load(Ordering::Acquire) {
        1 => return true,
        2 => return false,
        _ => {}
    }
    let q = membarrier(MEMBARRIER_CMD_QUERY);
    let ok = q >= 0
        && q as usize & MEMBARRIER_CMD_PRIVATE_EXPEDITED != 0
        && membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0
        // One barrier now: a kernel (or emulator) that registers but fails the command is
        // found here, not at the stop that relies on it.
        && membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0;
    STATE.store(if ok { 1 } else { 2 }, Ordering::Release);
    ok
}

/// Every running thread of the process executes a full memory barrier before this returns.
/// Only after `register` said true; false if the kernel refused (it does not once registered).
pub fn barrier() -> bool {
    membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0
}
