//! Asynchronous preemption where gort has no way to interrupt a thread: a target without a
//! mechanism (each of gort's eight has one: linux, darwin and the windows targets). Here
//! `preempt::init` leaves preemption off, so goroutines yield only at runtime entries.

use crate::gmp::M;

/// No asynchronous preemption on this target.
pub const SUPPORTED: bool = false;
/// Nothing to turn on.
pub const ON_BY_DEFAULT: bool = false;

/// Where a goroutine switched out by an asynchronous preemption resumes: none here.
pub fn resume_pc() -> usize {
    0
}

/// Never called: `preempt::enabled()` is false here, and sysmon asks it before preempting.
pub fn preempt_thread(_mp: *mut M) {
    crate::throw("asynchronous preemption on a target without it");
}

/// An exiting M releases what preemption kept for it: windows' thread handle (minit's).
///
/// # Safety
/// `mp` is the calling thread's M, which is exiting.
pub unsafe fn thread_exit(_mp: *mut M) {
    #[cfg(windows)]
    // SAFETY: as the contract: nothing on this target uses the handle.
    unsafe {
        let h = (*_mp).thread;
        (*_mp).thread = 0;
        if h != 0 {
            crate::sys::close_handle(h);
        }
    }
}

/// The resume trap of the targets that resume through one (darwin, windows/arm64): none here.
///
/// # Safety
/// None: `_ctx` is not read.
pub unsafe fn resume_trap(_ctx: *mut u8) -> bool {
    false
}
