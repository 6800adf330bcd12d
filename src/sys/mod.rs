//! The OS layer (Go's `os_<GOOS>.go`), one file per OS chosen by `cfg`. (The public `gort::os` is the
//! program-facing API in lib.rs.)
//!
//! # The contract every OS provides
//!
//! Each OS file (`linux.rs`, `darwin.rs`, `windows.rs`) defines the same names with the same
//! meaning; the rest of the runtime uses only these. What each must guarantee:
//!
//! **Boot.** `sysargs` walks the initial argv/envp (and auxv where there is one) into `args`
//! before any allocation; `osinit` sets `ncpu`, the page sizes (`phys_page_size`,
//! `phys_huge_page_size`) and anything the OS needs before schedinit; `startup_random` gives 16
//! bytes of startup entropy (or 0); `secure_mode` says whether GODEBUG must be ignored
//! (setuid-like); `save_initsigmask` records the signal mask the process started with.
//!
//! **Locks and sleeping** (Go's lock_futex.go contract). `futexsleep(addr, val, ns)`: atomically
//! with respect to `futexwakeup`, if `*addr == val` sleep until woken, or for at most `ns`
//! nanoseconds when `ns >= 0`; it may return spuriously and early, never late by more than the
//! OS's timer slack, and never misses a wake-up that follows a change of `*addr` (the callers
//! always change the word before waking and re-check it after sleeping). `futexwakeup(addr,
//! cnt)`: wakes at least one (cnt == 1) or all sleepers on `addr`. `osyield` gives up the CPU;
//! `usleep(us)` sleeps the thread.
//!
//! **Memory.** `sys_alloc(n)`: `n` bytes of zeroed, read-write, page-aligned memory the runtime
//! owns, or null. `sys_free` gives a whole `sys_alloc` back; `sys_unused` discards the contents
//! of owned pages (they read back as zero, Go's sysUnused); `sys_guard` makes owned pages
//! inaccessible and says whether the OS agreed (mapping budgets); `sys_huge_pages` is advice.
//! `stack_guard_size`, `guard_page_budget` and `STACK_CHUNK_FLOOR_GUARD` describe the guards
//! below goroutine stacks (stack.rs).
//!
//! **Threads.** `newosproc(mp, stk_hi)` starts a thread that sets its TLS to `mp` and runs
//! `proc::mstart` on g0's stack `[g0.stack.lo, stk_hi)`, with every signal but the synchronous
//! ones blocked until `minit`; it runs on g0 (newm uses systemstack). `minit` sets up a new M's
//! signal stack (gsignal) and mask; `exit(code)` ends the process at once; `gettid` names the
//! thread for schedtrace.
//!
//! **Signals** (unix: `signal_unix.rs` on top). `initsig` installs the fault handlers; `setsig`,
//! `signalstack`, `sigprocmask`/`getsigmask`/`setsigmask`, `siginfo_addr`/`siginfo_code`, `SigSet`
//! and the `SIG*` numbers are the pieces it uses. windows has a vectored exception handler
//! instead, installed by its `initsig`.
//!
//! **Output.** `write_all(fd, bytes, wait)` writes everything to fd 1 or 2: EINTR retries,
//! a full non-blocking fd (EAGAIN) waits as `wait` says, any other failure returns its errno
//! (`EPIPE` for a closed pipe on every OS). `raise_sigpipe` ends the process as a write to a
//! closed stdout/stderr does in Go.
//!
//! **Time.** `nanotime` is monotonic and cheap (vDSO on linux, `clock_gettime_nsec_np` on
//! darwin, QueryPerformanceCounter on windows).

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
pub use linux::*;
#[cfg(target_os = "linux")]
mod vdso_linux;
#[cfg(target_os = "linux")]
pub use vdso_linux::{nanotime, vdso_clock_found, vdsoinit};
#[cfg(target_os = "macos")]
mod darwin;
#[cfg(target_os = "macos")]
pub use darwin::*;
#[cfg(windows)]
mod windows;
#[cfg(windows)]
pub use windows::*;
#[cfg(any(windows, test))]
pub mod winargs;

/// How long `write_all` waits for a full non-blocking fd (EAGAIN) to drain.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum WriteWait {
    /// Until it drains (user output: nothing is dropped).
    Forever,
    /// A second at most, then the rest is dropped (runtime and crash messages: a dying process
    /// must not hang on a pipe nobody reads).
    Bounded,
}
