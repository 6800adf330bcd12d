//! The OS layer (Go's `os_<GOOS>.go`), one directory per OS chosen by `cfg_attr(path)`. (The
//! public `gort::os` is the program-facing API in lib.rs.)
//!
//! # The contract every OS provides
//!
//! Each OS (`linux/`, `darwin/`, `windows/`, with its per-arch file) defines the same names with
//! the same meaning; the rest of the runtime uses only these. What each must guarantee:
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
//! `usleep(us)` sleeps the thread. `steal_pause()` is the few microseconds a thief waits before
//! it takes a running P's runnext (Go's runqgrab: `usleep(3)`, or `osyield` where the OS cannot
//! sleep that briefly: windows' Sleep rounds up to a millisecond and its timer tick).
//!
//! **Memory.** `sys_alloc(n)`: `n` bytes of zeroed, read-write, page-aligned memory the runtime
//! owns, or null; `sys_alloc_at(hint, n)` the same, at `hint` if nothing is mapped there (a
//! hint: elsewhere otherwise, never over an existing mapping). `sys_free` gives a whole
//! `sys_alloc` back; `sys_unused` discards the contents of owned pages (they read back as zero,
//! Go's sysUnused); `sys_guard` makes owned pages inaccessible and says whether the OS agreed
//! (mapping budgets); `sys_guard_slots(first, stride,
//! len, n)` does the same for the first `len` bytes of `n` slots at once where that costs no
//! mappings (linux guard regions), or says false and does nothing the caller relies on (the caller
//! then uses `sys_guard` per slot); `sys_huge_pages` is advice.
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
//! closed stdout/stderr does in Go; `crash` ends it for GOTRACEBACK=crash (SIGABRT on unix, for
//! a core dump; exit status 2 on windows, as Go's crash there).
//!
//! **The program image** (linux; tracebacks). `exe_auxv` gives the program headers' address
//! and count and the executable's path from the auxv (AT_PHDR, AT_PHNUM, AT_EXECFN);
//! `map_file_readonly(path)` maps a whole file read-only (`sys_free` unmaps it).
//!
//! **Files** (`<os>/fs.rs`, behind `gort::fs` and `gort::os::stdin`; Go's syscall/os file
//! calls). Each is a plain blocking OS call; fs.rs runs it inside `syscall::blocking`
//! (entersyscall), as Go's os package does for regular files. Handles are `usize` (an fd on unix,
//! a HANDLE on windows). Paths are the caller's bytes without a NUL; the OS file converts them
//! with `path.rs` (`with_cstr` on unix, `with_wide` on windows: no allocation below 256 bytes,
//! `InvalidInput` for a NUL inside or, on windows, bytes that are not UTF-8/WTF-8). Every failure
//! is a `gort::io::Error` carrying the OS's code; EINTR is retried; nothing panics on any input.
//! `open(path, &OpenHow)` (close-on-exec; `OpenHow` already checked by fs.rs) → handle;
//! `read(h, buf)` → count, 0 at the end (also a windows pipe whose writer closed);
//! `write(h, buf)` → count; both cap one call at 1 GB (Go's maxRW); `seek(h, SeekFrom)` → the
//! new offset (64-bit on every arch: `_llseek` on linux/arm); `sync(h)`; `set_len(h, len)`
//! (the offset does not move); `close(h)`; `fstat(h)` / `stat(path)` (follows links) →
//! `FileStat` (size, `FileKind`, permission bits, mtime since the Unix epoch); `unlink`,
//! `rmdir`, `mkdir(path, mode)`, `rename(from, to)` (replaces a file at `to`); `Dir::open(path)`
//! (NotADirectory for a file) and `Dir::next()` → the entries but `.` and `..`, each a name (bytes;
//! WTF-8 on windows) and a kind (a link as a link; asked with a no-follow stat where the
//! listing does not say), the handle closed on drop; `stdin()` → standard input's handle.
//!
//! **Errors.** `error_kind(code)` maps an OS error code (errno; windows: Win32 and Winsock
//! codes) to a `gort::io::ErrorKind`.
//!
//! **Time.** `nanotime` is monotonic and cheap (vDSO on linux, `clock_gettime_nsec_np` on
//! darwin, QueryPerformanceCounter on windows); `clock_ready` says it is as cheap as it will
//! get (false on linux until `sysargs` has recorded where the vDSO is: before, each call is a
//! system call; the vDSO's clock_gettime itself is looked up by the first call after that, so a
//! program that never reads the clock never touches the vDSO).
//!
//! **TLS and the switch hooks** (per OS × arch). `getg` reads the current g in a few
//! instructions (inline, never cached: a goroutine may resume on another thread); `TLS_MECHANISM`
//! and `tls_base` describe it for boottrace; darwin, whose threads come from pthread_create, also
//! has `setg`. The context switches of `arch/<arch>.rs` expand the OS's `os_naked_asm!`, the g-slot
//! macros (`load_g!`/`save_g!` on amd64, `g_slot!` on arm and arm64), `stack_switched!` (the
//! windows TEB; nothing on unix) and on amd64 the C-ABI macros (`shadow_space!`, `cabi_arg0!`,
//! `tail_call!`, `SHADOW_SPACE`); each arch file's module doc says what they must do.
//! `sigctxt_pc_sp` (unix) and `context_pc_sp` (windows) read a fault's pc and sp.
//!
//! **Preemption** (arm, arm64). `thread_pointer_live(pc)` says whether a register may hold an
//! address derived from this thread's thread pointer at an interrupted pc (asynchronous
//! preemption declines there); it reads the code before pc, and `code_mapped(addr, len)` says
//! whether bytes before pc's page may be read (linux: inside a PT_LOAD of the program; windows:
//! inside the image; darwin does not look, and declines).
//!
//! **CPU and the rest.** `hwcaps` gives arm and arm64's cpuinit AT_HWCAP/AT_HWCAP2-style bits
//! (linux: the auxv; darwin/arm64: sysctl; windows: none yet). linux also has `syscall6` and
//! the numbers in `nr` (the raw calls behind `gort::syscall`), `os_arch_init` (Go's osArchInit)
//! and `MIN_STACK_GUARD`.
//!
//! # Layout
//!
//! `sys/<os>/mod.rs` is the OS (Go's `os_<os>.go`, `mem_<os>.go`, ...); it picks `sys/<os>/<arch>.rs`
//! with `cfg_attr(path)` for what depends on both (Go's `sys_<os>_<arch>.s`,
//! `signal_<os>_<arch>.go`, the OS's part of go_tls.h): getg and the TLS mechanism (`TLS_MECHANISM`,
//! `tls_base`, the g-slot macros the switch code of `arch/<arch>.rs` expands), raw system calls and
//! their numbers, clone, the signal context, the windows TEB. `sys/<os>/fs.rs` is the OS's
//! half of `gort::fs`. `sys/unix/` is what linux and darwin share; `winargs.rs` and `half.rs` are
//! windows code unit-tested on every host, as is `path.rs` (paths for both kinds of OS).

#[cfg_attr(target_os = "linux", path = "linux/mod.rs")]
#[cfg_attr(target_os = "macos", path = "darwin/mod.rs")]
#[cfg_attr(windows, path = "windows/mod.rs")]
mod os;
pub use os::*;
#[cfg(unix)]
pub(crate) mod unix;
#[cfg(unix)]
pub use unix::*;
#[cfg(any(test, all(windows, target_arch = "arm")))]
mod half;

/// Host unit tests have no runtime: the thread pointer belongs to the test harness's libc, so
/// there is no g (code that asks, such as the futex lock's held-lock count, then does nothing).
/// Shadows the OS's getg in test builds.
#[cfg(test)]
#[inline(always)]
pub fn getg() -> *mut crate::gmp::G {
    core::ptr::null_mut()
}
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

#[cfg_attr(not(test), allow(dead_code))]
pub mod path;

/// How to open a file: `gort::fs::OpenOptions` after its checks (at least one of read, write,
/// append; truncate and create only with write or append).
#[derive(Clone, Copy, Debug, Default)]
pub struct OpenHow {
    /// Open for reading.
    pub read: bool,
    /// Open for writing.
    pub write: bool,
    /// Every write goes to the end (implies writing).
    pub append: bool,
    /// Cut the file to length 0.
    pub truncate: bool,
    /// Create the file if it does not exist.
    pub create: bool,
    /// Create the file; fail with AlreadyExists if it exists.
    pub create_new: bool,
    /// Permission bits of a new file (unix; on windows only the 0o200 bit counts: without it
    /// the file is created read-only, as Go does).
    pub mode: u32,
}

/// What kind of file a path or handle names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FileKind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link (only from directory listings and never-followed lookups).
    Symlink,
    /// Anything else (device, pipe, socket...).
    Other,
}

/// The part of a file's status `gort::fs::Metadata` shows.
#[derive(Clone, Copy, Debug)]
pub struct FileStat {
    /// Size in bytes.
    pub size: u64,
    /// The kind.
    pub kind: FileKind,
    /// Permission bits (unix `st_mode & 0o7777`; windows: Go's emulation from the read-only
    /// attribute).
    pub mode: u32,
    /// Last modification, seconds since the Unix epoch (negative before it).
    pub mtime_sec: i64,
    /// The nanoseconds within that second.
    pub mtime_nsec: u32,
}
