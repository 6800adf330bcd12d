//! Linux: the OS layer (Go's os_linux.go, mem_linux.go, signal_unix.go's linux parts): auxv,
//! ncpu, page sizes, futexes, memory mappings, threads (clone), signals, time. The per-arch half
//! (system call numbers, `syscall6`, `clone`, the TLS mechanism, the signal context) is
//! `linux/<arch>.rs`, picked below; nothing here names a register.
//!
//! The wrappers whose system call is not on a hot path are `#[inline(never)]`: with LTO each
//! was inlined at every call site (21 copies of the write loop, 16 of mmap, ...; issue 22's hello
//! size), and a call costs nothing next to the system call.

use core::sync::atomic::{AtomicU32, AtomicU8, AtomicUsize, Ordering};

use super::SigSet;

#[cfg_attr(target_arch = "x86_64", path = "amd64.rs")]
#[cfg_attr(target_arch = "aarch64", path = "arm64.rs")]
#[cfg_attr(target_arch = "arm", path = "arm.rs")]
mod arch;
pub use arch::*;
#[cfg(any(test, target_arch = "arm"))]
mod arm_frames;
pub mod fs;
pub mod socket;
mod vdso;
pub use vdso::{clock_ready, nanotime, vdso_clock_found, vdsoinit, walltime};

/// OS name as Go spells it.
pub const GOOS: &str = "linux";

/// Interrupted system call: the errno value the runtime looks at.
pub const EINTR: isize = 4;

// --- auxv (Go's sysauxv) ---

const AT_NULL: usize = 0;
const AT_PHDR: usize = 3;
const AT_PHNUM: usize = 5;
const AT_PAGESZ: usize = 6;
const AT_HWCAP: usize = 16;
const AT_SECURE: usize = 23;
const AT_RANDOM: usize = 25;
const AT_HWCAP2: usize = 26;
const AT_SYSINFO_EHDR: usize = 33;
const AT_EXECFN: usize = 31;

/// What the kernel told us in the auxiliary vector.
#[derive(Clone, Copy, Default, Debug)]
pub struct Auxv {
    /// AT_PAGESZ: physical page size.
    pub pagesz: usize,
    /// AT_RANDOM: address of 16 random bytes.
    pub random: usize,
    /// AT_HWCAP.
    pub hwcap: usize,
    /// AT_HWCAP2.
    pub hwcap2: usize,
    /// AT_SECURE: setuid/setgid or similar: ignore GODEBUG.
    pub secure: bool,
    /// AT_SYSINFO_EHDR: address of the vDSO ELF header.
    pub vdso: usize,
    /// AT_PHDR and AT_PHNUM: the program's own program headers in memory (traceback's unwind
    /// tables and load bias, symtab.rs).
    pub phdr: usize,
    /// AT_PHNUM.
    pub phnum: usize,
    /// AT_EXECFN: the NUL-terminated path the program was executed by (symtab.rs reads its
    /// `.symtab`), or 0.
    pub execfn: usize,
    /// Number of auxv entries seen.
    pub count: usize,
}

/// Walks an auxv array of (key, value) word pairs up to AT_NULL (Go's sysauxv).
///
/// # Safety
/// `auxv` must point at a well-formed, AT_NULL-terminated auxiliary vector.
pub unsafe fn sysauxv(auxv: *const usize) -> Auxv {
    let mut a = Auxv::default();
    let mut i = 0;
    loop {
        // SAFETY: the vector is terminated by AT_NULL, which stops the walk.
        let (tag, val) = unsafe { (*auxv.add(i), *auxv.add(i + 1)) };
        if tag == AT_NULL {
            break;
        }
        a.count += 1;
        match tag {
            AT_PAGESZ => a.pagesz = val,
            AT_RANDOM => a.random = val,
            AT_HWCAP => a.hwcap = val,
            AT_HWCAP2 => a.hwcap2 = val,
            AT_SECURE => a.secure = val != 0,
            AT_SYSINFO_EHDR => a.vdso = val,
            AT_PHDR => a.phdr = val,
            AT_PHNUM => a.phnum = val,
            AT_EXECFN => a.execfn = val,
            _ => {}
        }
        i += 2;
    }
    a
}

static NCPU: AtomicU32 = AtomicU32::new(1);
static PHYS_PAGE_SIZE: AtomicUsize = AtomicUsize::new(4096);
/// The transparent huge page size with its low bit set once read (0: not read yet; a size is 0
/// or a power of two of at least a page, so the bit is free). Read at first need, not by osinit:
/// a program whose heap never asks for huge pages never reads the file (issue 22: its open, read
/// and close are three system calls fewer before a hello's main).
static PHYS_HUGE_PAGE_SIZE: AtomicUsize = AtomicUsize::new(0);

/// Number of CPUs this process may run on (set by osinit).
pub fn ncpu() -> u32 {
    NCPU.load(Ordering::Relaxed)
}
/// Physical page size (AT_PAGESZ).
pub fn phys_page_size() -> usize {
    PHYS_PAGE_SIZE.load(Ordering::Relaxed)
}
/// Transparent huge page size, 0 if unknown (Go's physHugePageSize; read from sysfs at the
/// first call: two racing first calls both read it, with the same answer).
pub fn phys_huge_page_size() -> usize {
    let v = PHYS_HUGE_PAGE_SIZE.load(Ordering::Relaxed);
    if v != 0 {
        return v & !1;
    }
    read_huge_page_size()
}

/// phys_huge_page_size's first call, out of line (the file read is not inlined into its callers).
#[cold]
#[inline(never)]
fn read_huge_page_size() -> usize {
    let v = get_huge_page_size();
    PHYS_HUGE_PAGE_SIZE.store(v | 1, Ordering::Relaxed);
    v
}

/// Records the page size from auxv (called from args, before osinit, as Go does).
pub fn set_phys_page_size(n: usize) {
    if n != 0 {
        PHYS_PAGE_SIZE.store(n, Ordering::Relaxed);
    }
}

/// Whether `[addr, addr + len)` is loaded code or data of the program (inside one of its PT_LOAD
/// segments, mapped readable for its life): asynchronous preemption reads the instructions
/// before an interrupted pc with it when they lie in the page before the pc's
/// (`preempt::read_recently`). Reads only the program headers: fine in a signal handler.
#[cfg(any(target_arch = "aarch64", target_arch = "arm"))]
pub fn code_mapped(addr: usize, len: usize) -> bool {
    crate::symtab::image().is_some_and(|img| crate::symtab::in_loaded_segment(&img, addr, len))
}

/// Go's osinit for Linux: ncpu from sched_getaffinity (the huge page size, which Go's osinit
/// reads too, is read at its first use: `phys_huge_page_size`).
pub fn osinit() {
    NCPU.store(getproccount(), Ordering::Relaxed);
    os_arch_init();
}

/// Counts the CPUs in our affinity mask (Go's getproccount).
fn getproccount() -> u32 {
    let mut buf = [0u8; 1024]; // up to 8192 CPUs
                               // SAFETY: the kernel writes at most buf.len() bytes and returns how many.
    let r = unsafe { syscall6(nr::SCHED_GETAFFINITY, 0, buf.len(), buf.as_mut_ptr() as usize, 0, 0, 0) };
    if r <= 0 {
        return 1;
    }
    let n: u32 = buf[..r as usize].iter().map(|b| b.count_ones()).sum();
    n.max(1)
}

/// Reads /sys/kernel/mm/transparent_hugepage/hpage_pmd_size (Go's getHugePageSize); 0 if absent.
fn get_huge_page_size() -> usize {
    match read_number(b"/sys/kernel/mm/transparent_hugepage/hpage_pmd_size\0") {
        Some(v) if v.is_power_of_two() => v,
        _ => 0,
    }
}

/// The decimal number a small file starts with (a sysfs or procfs value), None if the file
/// cannot be read or does not start with a digit.
#[inline(never)]
fn read_number(path: &[u8]) -> Option<usize> {
    let mut buf = [0u8; 32];
    let n = readfile(path, &mut buf);
    if n <= 0 {
        return None;
    }
    let digits = buf[..n as usize].iter().take_while(|b| b.is_ascii_digit());
    let mut any = false;
    let mut v: usize = 0;
    for &b in digits {
        any = true;
        v = v.saturating_mul(10).saturating_add((b - b'0') as usize);
    }
    any.then_some(v)
}

/// Reads up to buf.len() bytes of a file; returns the count or -errno.
#[inline(never)]
pub fn readfile(path: &[u8], buf: &mut [u8]) -> isize {
    const AT_FDCWD: isize = -100;
    const O_RDONLY_CLOEXEC: usize = 0o2000000;
    debug_assert_eq!(path.last(), Some(&0));
    // SAFETY: path is NUL-terminated; buf is writable for its length.
    unsafe {
        let fd = syscall6(nr::OPENAT, AT_FDCWD as usize, path.as_ptr() as usize, O_RDONLY_CLOEXEC, 0, 0, 0);
        if fd < 0 {
            return fd;
        }
        let n = syscall6(nr::READ, fd as usize, buf.as_mut_ptr() as usize, buf.len(), 0, 0, 0);
        syscall6(nr::CLOSE, fd as usize, 0, 0, 0, 0, 0);
        n
    }
}

// --- output and exit ---

/// Resource temporarily unavailable (a non-blocking fd is full).
pub const EAGAIN: isize = 11;
/// Broken pipe (nobody reads the other end).
pub const EPIPE: isize = 32;
const POLLOUT: i16 = 4;

/// struct pollfd.
#[repr(C)]
struct PollFd {
    fd: i32,
    events: i16,
    revents: i16,
}

/// Writes all of `b` to `fd`. EINTR retries; EAGAIN (a non-blocking fd that is full) waits with
/// ppoll until it is writable, as `wait` says; Err(errno) on any other failure.
#[inline(never)]
pub fn write_all(fd: usize, mut b: &[u8], wait: super::WriteWait) -> Result<(), isize> {
    while !b.is_empty() {
        // SAFETY: b is a valid buffer.
        let n = unsafe { syscall6(nr::WRITE, fd, b.as_ptr() as usize, b.len(), 0, 0, 0) };
        if n == -EINTR {
            continue;
        }
        if n == -EAGAIN {
            let mut pfd = PollFd { fd: fd as i32, events: POLLOUT, revents: 0 };
            let one_second = Timespec { sec: 1, nsec: 0 };
            let timeout = match wait {
                super::WriteWait::Forever => 0,
                super::WriteWait::Bounded => &one_second as *const Timespec as usize,
            };
            // SAFETY: one valid pollfd; timeout is null or a valid timespec; no signal mask.
            let r = unsafe { syscall6(nr::PPOLL, &mut pfd as *mut PollFd as usize, 1, timeout, 0, 0, 0) };
            if r == 0 {
                return Err(EAGAIN); // Bounded, and still full after a second
            }
            continue;
        }
        if n < 0 {
            return Err(-n);
        }
        if n == 0 {
            return Err(EAGAIN);
        }
        b = &b[n as usize..];
    }
    Ok(())
}

/// Ends the process by SIGPIPE after a write to stdout or stderr found the pipe closed, as Go
/// does (`prog | head` ends quietly). Exits 2 if the signal did not kill.
pub fn raise_sigpipe() {
    die_from_signal(13);
    exit(2)
}

/// Ends the process for GOTRACEBACK=crash (Go's crash): by SIGABRT, which dumps core where
/// core dumps are enabled. Exits 2 if the signal did not kill.
#[inline(never)]
pub fn crash() -> ! {
    die_from_signal(6);
    exit(2)
}

/// Go's dieFromSignal: raises `sig` on this thread with its default action restored and the
/// signal unblocked first, in case the process inherited it ignored or blocked; returns if
/// that did not end the process. Out of line: a copy at its two callers (crash, SIGPIPE) otherwise.
#[inline(never)]
fn die_from_signal(sig: i32) {
    let dfl = SigAction {
        handler: 0,
        flags: SaFlags::RESTORER.bits(),
        restorer: sigreturn as *const () as usize,
        mask: [0; 2],
    };
    let unblock = SigSet(1u64 << (sig - 1));
    // SAFETY: dfl is a valid kernel sigaction (SIG_DFL); the mask is a valid sigset.
    unsafe {
        syscall6(nr::RT_SIGACTION, sig as usize, &dfl as *const SigAction as usize, 0, 8, 0, 0);
        syscall6(nr::RT_SIGPROCMASK, SIG_UNBLOCK, &unblock as *const SigSet as usize, 0, 8, 0, 0);
    }
    tgkill(gettid(), sig);
}

/// Ends the process with `code` (exit_group).
pub fn exit(code: i32) -> ! {
    loop {
        // SAFETY: exit_group takes an int and does not return.
        unsafe { syscall6(nr::EXIT_GROUP, code as usize, 0, 0, 0, 0, 0) };
    }
}

/// Ends the calling thread only (Go's mexit → exitThread), with every signal blocked first (Go's
/// sigblock in mexit): its M has left allm, so no handler should start on it any more.
#[inline(never)]
pub fn exit_thread() -> ! {
    sigprocmask(SIG_SETMASK, Some(&SigSet::all()), None);
    loop {
        // SAFETY: exit ends this thread; its stack is not freed by the kernel.
        unsafe { syscall6(nr::EXIT, 0, 0, 0, 0, 0, 0) };
    }
}

/// Kernel thread id of the caller.
pub fn gettid() -> u64 {
    // SAFETY: no arguments.
    unsafe { syscall6(nr::GETTID, 0, 0, 0, 0, 0, 0) as u64 }
}

/// Sends `sig` to the thread `tid` of this process.
#[inline(never)]
pub fn tgkill(tid: u64, sig: i32) {
    // SAFETY: plain integers.
    unsafe {
        let pid = syscall6(nr::GETPID, 0, 0, 0, 0, 0, 0);
        syscall6(nr::TGKILL, pid as usize, tid as usize, sig as usize, 0, 0, 0);
    }
}

/// SIGPROF: the CPU profiler's signal (the same number on every linux arch).
#[cfg(gort_pprof)]
pub const SIGPROF: i32 = 27;

/// Arms (or, with 0, disarms) the process's profiling timer (setitimer(ITIMER_PROF)): a SIGPROF
/// every `usec` microseconds of CPU time the process uses, on whichever thread is running then
/// (Go's setProcessCPUProfiler before 1.18). Returns false if the kernel refused.
#[cfg(gort_pprof)]
pub fn setitimer_prof(usec: usize) -> bool {
    const ITIMER_PROF: usize = 2;
    // struct itimerval: it_interval, it_value, each a timeval of two longs (word-sized).
    let tv = [usec / 1_000_000, usec % 1_000_000];
    let val = [tv[0], tv[1], tv[0], tv[1]];
    // SAFETY: val is a valid itimerval; no old value is asked for.
    let r = unsafe { syscall6(nr::SETITIMER, ITIMER_PROF, val.as_ptr() as usize, 0, 0, 0, 0) };
    r == 0
}

/// Go's runqgrab pause before it steals a running P's runnext: 3 µs (the kernel's timer slack
/// makes it longer).
pub fn steal_pause() {
    usleep(3);
}

/// Gives up the CPU to another thread (sched_yield).
#[inline(never)]
pub fn osyield() {
    // SAFETY: no arguments.
    unsafe { syscall6(nr::SCHED_YIELD, 0, 0, 0, 0, 0, 0) };
}

/// Sleeps the thread for `usec` microseconds.
#[inline(never)]
pub fn usleep(usec: u32) {
    let ts = Timespec { sec: (usec / 1_000_000) as isize, nsec: ((usec % 1_000_000) * 1000) as isize };
    // SAFETY: ts is valid; no remainder pointer.
    unsafe { syscall6(nr::NANOSLEEP, &ts as *const Timespec as usize, 0, 0, 0, 0, 0) };
}

/// struct timespec.
#[repr(C)]
#[derive(Default, Clone, Copy)]
pub struct Timespec {
    /// Seconds.
    pub sec: isize,
    /// Nanoseconds.
    pub nsec: isize,
}

/// clock_gettime(clock) in nanoseconds through the system call (the vDSO path is in vdso.rs).
#[inline(never)]
pub fn clock_gettime_syscall(clock: usize) -> i64 {
    let mut ts = Timespec::default();
    // SAFETY: ts is writable.
    unsafe { syscall6(nr::CLOCK_GETTIME, clock, &mut ts as *mut Timespec as usize, 0, 0, 0, 0) };
    ts.sec as i64 * 1_000_000_000 + ts.nsec as i64
}

// --- futexes (Go's futexsleep/futexwakeup) ---

const FUTEX_WAIT_PRIVATE: usize = 128;
const FUTEX_WAKE_PRIVATE: usize = 129;

/// Sleeps while `*addr == val`, for at most `ns` nanoseconds if ns >= 0. Spurious wakeups allowed.
#[inline(never)]
pub fn futexsleep(addr: &AtomicU32, val: u32, ns: i64) {
    let ts;
    let tsp = if ns < 0 {
        0
    } else {
        ts = Timespec { sec: (ns / 1_000_000_000) as isize, nsec: (ns % 1_000_000_000) as isize };
        &ts as *const Timespec as usize
    };
    // SAFETY: addr is a valid u32 for the whole call; tsp is null or a valid timespec.
    unsafe { syscall6(nr::FUTEX, addr.as_ptr() as usize, FUTEX_WAIT_PRIVATE, val as usize, tsp, 0, 0) };
}

/// Wakes up to `cnt` threads sleeping on addr.
#[inline(never)]
pub fn futexwakeup(addr: &AtomicU32, cnt: u32) {
    // SAFETY: addr is valid.
    let r = unsafe { syscall6(nr::FUTEX, addr.as_ptr() as usize, FUTEX_WAKE_PRIVATE, cnt as usize, 0, 0, 0) };
    if r < 0 {
        crate::throw("futexwakeup failed");
    }
}

// --- memory (Go's mem_linux.go) ---

bitflags::bitflags! {
    /// mmap/mprotect protection (PROT_*).
    #[derive(Clone, Copy)]
    struct Prot: usize {
        const READ = 1;
        const WRITE = 2;
    }

    /// mmap flags (MAP_*).
    #[derive(Clone, Copy)]
    struct MapFlags: usize {
        const PRIVATE = 0x02;
        const ANONYMOUS = 0x20;
        const NORESERVE = 0x4000;
    }

    /// clone flags (CLONE_*).
    #[derive(Clone, Copy)]
    struct CloneFlags: usize {
        const VM = 0x100;
        const FS = 0x200;
        const FILES = 0x400;
        const SIGHAND = 0x800;
        const THREAD = 0x10000;
        const SYSVSEM = 0x40000;
        const SETTLS = 0x80000;
    }

    /// sigaction flags (SA_*).
    #[derive(Clone, Copy)]
    struct SaFlags: usize {
        const SIGINFO = 0x4;
        const RESTORER = 0x0400_0000;
        const ONSTACK = 0x0800_0000;
        const RESTART = 0x1000_0000;
    }
}
const MADV_DONTNEED: usize = 4;
const MADV_HUGEPAGE: usize = 14;
const MADV_NOHUGEPAGE: usize = 15;

/// Maps the whole file at the NUL-terminated `path` read-only and private: (address, length), or
/// None if it cannot be opened or mapped (or is empty). `sys_free` unmaps it. (Tracebacks read the
/// executable's `.symtab`, which is not loaded.)
#[inline(never)]
pub fn map_file_readonly(path: *const u8) -> Option<(usize, usize)> {
    const AT_FDCWD: isize = -100;
    const O_RDONLY_CLOEXEC: usize = 0o2000000;
    const SEEK_END: usize = 2;
    // SAFETY: path is NUL-terminated (the caller's string); the calls take plain integers and
    // touch no memory of ours but the path.
    unsafe {
        let fd = syscall6(nr::OPENAT, AT_FDCWD as usize, path as usize, O_RDONLY_CLOEXEC, 0, 0, 0);
        if fd < 0 {
            return None;
        }
        let len = syscall6(nr::LSEEK, fd as usize, 0, SEEK_END, 0, 0, 0);
        let p = if len > 0 {
            syscall6(nr::MMAP, 0, len as usize, Prot::READ.bits(), MapFlags::PRIVATE.bits(), fd as usize, 0)
        } else {
            -1
        };
        syscall6(nr::CLOSE, fd as usize, 0, 0, 0, 0, 0);
        // mmap returns -errno in [-4095, -1] on failure.
        if (-4095..0).contains(&p) || len <= 0 {
            return None;
        }
        Some((p as usize, len as usize))
    }
}

/// Maps `n` bytes of zeroed read-write memory (Go's sysAlloc); null on failure.
#[inline(never)]
pub fn sys_alloc(n: usize) -> *mut u8 {
    sys_alloc_at(0, n)
}

/// sys_alloc at `hint` if that range is free (a hint, not MAP_FIXED: the kernel places the
/// mapping elsewhere otherwise; Go's sysReserve with an arena hint).
#[inline(never)]
pub fn sys_alloc_at(hint: usize, n: usize) -> *mut u8 {
    // SAFETY: anonymous private mapping; the kernel chooses the address (no MAP_FIXED: nothing
    // mapped is replaced).
    let p = unsafe {
        syscall6(
            nr::MMAP,
            hint,
            n,
            (Prot::READ | Prot::WRITE).bits(),
            (MapFlags::PRIVATE | MapFlags::ANONYMOUS | MapFlags::NORESERVE).bits(),
            usize::MAX,
            0,
        )
    };
    if p < 0 && p > -4096 {
        core::ptr::null_mut()
    } else {
        p as *mut u8
    }
}

/// Unmaps memory from sys_alloc (Go's sysFree).
///
/// # Safety
/// `[p, p+n)` must be a mapping the runtime owns and no longer uses.
#[inline(never)]
pub unsafe fn sys_free(p: *mut u8, n: usize) {
    // SAFETY: forwarded to the caller.
    unsafe { syscall6(nr::MUNMAP, p as usize, n, 0, 0, 0, 0) };
}

/// Makes `[p, p+n)` inaccessible (guard pages); false if the kernel refused (mapping budget).
///
/// # Safety
/// The range must be runtime-owned memory nobody uses.
#[inline(never)]
pub unsafe fn sys_guard(p: *mut u8, n: usize) -> bool {
    // SAFETY: forwarded to the caller.
    unsafe { syscall6(nr::MPROTECT, p as usize, n, Prot::empty().bits(), 0, 0, 0) == 0 }
}

/// MADV_GUARD_INSTALL (linux 6.13): the range becomes guard regions (every access faults, as
/// PROT_NONE) without changing the mapping: no split, no entry counted against vm.max_map_count.
const MADV_GUARD_INSTALL: usize = 102;
/// process_madvise's pidfd for the calling process (linux 6.15; PIDFD_SELF_THREAD: the same mm).
const PIDFD_SELF: usize = -10000isize as usize;
/// How sys_guard_slots installs guards, decided by its first call (GUARD_* below). Relaxed: it
/// only caches what this kernel supports, every value it can hold is safe to act on (an
/// UNKNOWN read just probes again), and stack.rs calls sys_guard_slots under its pool lock.
static GUARD_MODE: AtomicU8 = AtomicU8::new(GUARD_UNKNOWN);
const GUARD_UNKNOWN: u8 = 0;
/// Guard regions work (the first slot's faults); whether process_madvise takes them is not
/// known yet (the first chunk had one slot).
const GUARD_WORKS: u8 = 4;
/// One process_madvise(PIDFD_SELF, MADV_GUARD_INSTALL) for up to GUARD_BATCH slots (6.15+).
const GUARD_BATCH_CALL: u8 = 1;
/// One madvise(MADV_GUARD_INSTALL) per slot (6.13 and 6.14).
const GUARD_PER_SLOT: u8 = 2;
/// No guard regions (older kernels: EINVAL; qemu-user, which answers 0 to advice it does not
/// know and installs nothing): stack.rs falls back to sys_guard (mprotect) per slot.
const GUARD_NONE: u8 = 3;
/// Slots per process_madvise call (its iovec array lives on g0's stack: 1 KB on 64-bit).
const GUARD_BATCH: usize = 64;

/// Turns the first `len` bytes of each of `n` slots `stride` bytes apart from `first` into guard
/// regions without spending mappings (MADV_GUARD_INSTALL): one process_madvise per 64 slots where
/// the kernel allows it (6.15+), else one madvise per slot (6.13+). False if the kernel has no
/// guard regions, or does not really install them (the first call checks that the first slot's
/// guard faults), and then from now on: the caller guards with sys_guard instead. A false return
/// may leave some of the slots guarded (harmless: sys_guard on them works all the same).
///
/// # Safety
/// Every range must be runtime-owned, page-aligned memory nobody uses (its contents are lost).
pub unsafe fn sys_guard_slots(first: *mut u8, stride: usize, len: usize, n: usize) -> bool {
    let base = first as usize;
    let mut mode = GUARD_MODE.load(Ordering::Relaxed);
    if mode == GUARD_NONE {
        return false;
    }
    let mut done = 0;
    if mode == GUARD_UNKNOWN {
        // SAFETY: the caller's first range.
        if !unsafe { guard_region_works(base, len) } {
            GUARD_MODE.store(GUARD_NONE, Ordering::Relaxed);
            return false;
        }
        done = 1;
        mode = GUARD_WORKS;
        GUARD_MODE.store(mode, Ordering::Relaxed);
    }
    // One loop for both (its vectorised fill was two copies, issue 22): under GUARD_WORKS the
    // first batch finds out, for real, whether process_madvise takes the advice.
    if mode == GUARD_WORKS || mode == GUARD_BATCH_CALL {
        while done < n {
            let k = (n - done).min(GUARD_BATCH);
            // Every entry computed, those past k unused (wrapping: they may lie past the address
            // space): no zeroed array first, whose 64 stores were 256 bytes of code (issue 22).
            let iov: [[usize; 2]; GUARD_BATCH] =
                core::array::from_fn(|i| [base.wrapping_add((done + i).wrapping_mul(stride)), len]);
            // SAFETY: the caller's ranges.
            let ok = unsafe { guard_batch(&iov[..k]) };
            if mode == GUARD_WORKS {
                mode = if ok { GUARD_BATCH_CALL } else { GUARD_PER_SLOT };
                GUARD_MODE.store(mode, Ordering::Relaxed);
            }
            if !ok {
                break; // the rest one by one (ENOMEM for page tables, say: madvise says too)
            }
            done += k;
        }
    }
    while done < n {
        // SAFETY: one of the caller's ranges.
        if unsafe { syscall6(nr::MADVISE, base + done * stride, len, MADV_GUARD_INSTALL, 0, 0, 0) } != 0 {
            return false;
        }
        done += 1;
    }
    true
}

/// Whether MADV_GUARD_INSTALL on `[p, p + len)` really makes it fault. Older kernels answer
/// EINVAL; qemu-user answers 0 to advice it does not know and installs nothing, so the answer is
/// checked: a path the kernel reads from a guard region fails with EFAULT, from an ordinary
/// (untouched, zero) page it is "" (ENOENT).
///
/// # Safety
/// As for sys_guard_slots, for the one range.
unsafe fn guard_region_works(p: usize, len: usize) -> bool {
    const EFAULT: isize = 14;
    // SAFETY: forwarded to the caller.
    if unsafe { syscall6(nr::MADVISE, p, len, MADV_GUARD_INSTALL, 0, 0, 0) } != 0 {
        return false;
    }
    // getcpu writes the CPU number at p: EFAULT if the guard is in place. (A call that writes,
    // not one that reads a path from p: valgrind reads a path argument itself before the call
    // and dies of the fault; an output argument it leaves to the kernel.)
    // SAFETY: the kernel checks the address; if no guard is there, p is the caller's slot's
    // first page, which holds nothing yet.
    unsafe { syscall6(nr::GETCPU, p, 0, 0, 0, 0, 0) == -EFAULT }
}

/// One process_madvise(PIDFD_SELF, MADV_GUARD_INSTALL) for every (address, length) range in `iov`
/// (struct iovec); whether all of it was done (ENOSYS, EBADF without PIDFD_SELF and EINVAL
/// without guard advice there are false).
///
/// # Safety
/// As for sys_guard_slots, for each range.
#[inline(never)]
unsafe fn guard_batch(iov: &[[usize; 2]]) -> bool {
    let total: usize = iov.iter().map(|v| v[1]).sum();
    // SAFETY: iov is iov.len() iovecs the kernel only reads; the ranges are the caller's.
    let r = unsafe {
        syscall6(nr::PROCESS_MADVISE, PIDFD_SELF, iov.as_ptr() as usize, iov.len(), MADV_GUARD_INSTALL, 0, 0)
    };
    r == total as isize
}

/// Tells the kernel the pages are unused; they read back as zero (Go's sysUnused).
///
/// # Safety
/// The range must be runtime-owned memory whose contents may be discarded.
#[inline(never)]
pub unsafe fn sys_unused(p: *mut u8, n: usize) {
    // SAFETY: forwarded to the caller.
    unsafe { syscall6(nr::MADVISE, p as usize, n, MADV_DONTNEED, 0, 0, 0) };
}

/// Asks for (or against) transparent huge pages on `[p, p+n)` (Go's sysHugePage and
/// sysNoHugePage). Advice only: a kernel without THP ignores it.
///
/// # Safety
/// The range must be runtime-owned memory.
#[inline(never)]
pub unsafe fn sys_huge_pages(p: *mut u8, n: usize, want: bool) {
    let advice = if want { MADV_HUGEPAGE } else { MADV_NOHUGEPAGE };
    // SAFETY: forwarded to the caller.
    unsafe { syscall6(nr::MADVISE, p as usize, n, advice, 0, 0, 0) };
}

// --- threads (Go's newosproc) ---

/// QEMU user mode accepts thread clones only with all six of VM|FS|FILES|SIGHAND|SYSVSEM|THREAD.
const CLONE_FLAGS: CloneFlags = CloneFlags::VM
    .union(CloneFlags::FS)
    .union(CloneFlags::FILES)
    .union(CloneFlags::SIGHAND)
    .union(CloneFlags::SYSVSEM)
    .union(CloneFlags::THREAD)
    .union(CloneFlags::SETTLS);

/// Starts an OS thread for `mp` running `mstart` on g0's stack (Go's newosproc). Signals are
/// blocked across the clone so the new thread starts with everything blocked until minit.
///
/// # Safety
/// `mp` and its g0 must be fully initialised and live forever.
pub unsafe fn newosproc(mp: *mut crate::gmp::M, stk_hi: usize) -> isize {
    // Every signal but the synchronous ones: a fault while they are blocked kills the process
    // with no report (the kernel forces the default action).
    let mut all = SigSet::all();
    crate::signal_unix::unblock_fatal(&mut all);
    let mut old = SigSet::empty();
    sigprocmask(SIG_SETMASK, Some(&all), Some(&mut old));
    // SAFETY: forwarded; mp.g0 is valid.
    let r = unsafe { clone(CLONE_FLAGS.bits(), stk_hi, mp as usize, (*mp).g0 as usize, crate::proc::mstart) };
    sigprocmask(SIG_SETMASK, Some(&old), None);
    r
}

// --- signals (Go's signal_unix.go, the parts gort uses) ---

/// SIGBUS.
pub const SIGBUS: i32 = 7;
/// SIGURG: Go's preemption signal (kept unblocked).
#[allow(dead_code)] // coming use: asynchronous preemption (Go's sigPreempt)
pub const SIGURG: i32 = 23;
/// Signals in a sigset_t (Go's _NSIG).
pub const NSIG: u32 = 64;
/// sigprocmask's `how`: replace the mask.
pub const SIG_SETMASK: usize = 2;
const SIG_UNBLOCK: usize = 1;

/// rt_sigprocmask wrapper.
#[inline(never)]
pub fn sigprocmask(how: usize, new: Option<&SigSet>, old: Option<&mut SigSet>) {
    let n = new.map_or(0, |s| s as *const SigSet as usize);
    let o = old.map_or(0, |s| s as *mut SigSet as usize);
    // SAFETY: pointers are null or valid sigsets of 8 bytes.
    unsafe { syscall6(nr::RT_SIGPROCMASK, how, n, o, 8, 0, 0) };
}

#[repr(C)]
struct SigAction {
    handler: usize,
    flags: usize,
    restorer: usize,
    /// sigset_t as two words: a u64 here would be 8-aligned and leave padding after restorer on
    /// 32-bit arm, whose kernel layout is handler, flags, restorer, mask (no padding).
    mask: [u32; 2],
}

/// Installs `handler` (an SA_SIGINFO handler running on the signal stack) for `sig`.
#[inline(never)]
pub fn setsig(sig: i32, handler: unsafe extern "C" fn(i32, *mut u8, *mut u8)) {
    let sa = SigAction {
        handler: handler as usize,
        flags: (SaFlags::SIGINFO | SaFlags::ONSTACK | SaFlags::RESTORER | SaFlags::RESTART).bits(),
        restorer: sigreturn as *const () as usize,
        mask: [!0; 2],
    };
    // SAFETY: sa is a valid kernel sigaction; 8 is sizeof(sigset_t).
    unsafe { syscall6(nr::RT_SIGACTION, sig as usize, &sa as *const SigAction as usize, 0, 8, 0, 0) };
}

#[repr(C)]
struct StackT {
    sp: usize,
    flags: i32,
    size: usize,
}

/// Installs `[lo, lo+n)` as this thread's alternate signal stack (Go's signalstack).
#[inline(never)]
pub fn signalstack(lo: usize, n: usize) {
    let st = StackT { sp: lo, flags: 0, size: n };
    // SAFETY: st is valid.
    unsafe { syscall6(nr::SIGALTSTACK, &st as *const StackT as usize, 0, 0, 0, 0, 0) };
}

/// Points a signal frame's saved alternate signal stack (ucontext.uc_stack, right after
/// uc_flags and uc_link on every linux arch) at `[lo, lo+n)`: rt_sigreturn installs it, so a
/// frame saved on one thread and returned through on another must name the second thread's
/// stack (asynchronous preemption, preempt.rs).
///
/// # Safety
/// `uc` is a ucontext (a copy of one the kernel wrote) that is not in use.
pub unsafe fn sigframe_set_altstack(uc: *mut u8, lo: usize, n: usize) {
    // SAFETY: uc_stack is a stack_t at offset 2 words on x86-64, arm64 and arm.
    unsafe {
        *((uc as usize + 2 * core::mem::size_of::<usize>()) as *mut StackT) = StackT { sp: lo, flags: 0, size: n }
    };
}

/// Makes `gp` the current g of this thread (Go's setg): slot 0 of the M's TLS block, which the
/// thread pointer (fs base, tpidr_el0, TPIDRURO) addresses on every linux arch.
///
/// # Safety
/// `gp` belongs to this thread's M, and the caller is about to run on its stack.
pub unsafe fn setg(gp: *mut crate::gmp::G) {
    // SAFETY: getg's M is this thread's; tls[0] is what getg reads.
    unsafe { (*(*getg()).m).tls[0] = gp as usize };
}

/// Fault address (si_addr) from a siginfo.
///
/// # Safety
/// `info` must be the siginfo the kernel passed to the handler.
pub unsafe fn siginfo_addr(info: *const u8) -> usize {
    // SAFETY: si_addr follows si_signo, si_errno, si_code and padding at offset 16 on 64-bit,
    // 12 on 32-bit Linux.
    unsafe {
        *((info as usize + 2 * core::mem::size_of::<usize>() + if cfg!(target_pointer_width = "64") { 0 } else { 4 })
            as *const usize)
    }
}

// --- Go's args → sysargs, minit, initsig for Linux ---

/// The auxv values sysargs found, kept for alginit and secure mode.
static AUXV: crate::gmp::Global<Auxv> = crate::gmp::Global::new(Auxv {
    pagesz: 0,
    random: 0,
    hwcap: 0,
    hwcap2: 0,
    secure: false,
    vdso: 0,
    phdr: 0,
    phnum: 0,
    execfn: 0,
    count: 0,
});

/// Go's sysargs for Linux: walks argv/envp into the auxiliary vector, records the page size and
/// finds the vDSO's clock. Returns what it found (boottrace prints it).
///
/// # Safety
/// Called once, from args, with the kernel's initial argc/argv.
pub unsafe fn sysargs(argc: usize, argv: *const *const u8) -> Auxv {
    // SAFETY: argv is the kernel's initial argument vector.
    let auxv = unsafe { crate::args::args(argc, argv) };
    // SAFETY: the auxv pointer comes from walking that same vector.
    let a = unsafe { sysauxv(auxv) };
    set_phys_page_size(a.pagesz);
    // SAFETY: a.vdso is AT_SYSINFO_EHDR (or 0).
    unsafe { vdsoinit(a.vdso) };
    // SAFETY: single-threaded boot.
    unsafe { *AUXV.get() = a };
    a
}

impl core::fmt::Display for Auxv {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "auxv: entries={} AT_PAGESZ={} AT_RANDOM={:#x} AT_HWCAP={:#x} AT_HWCAP2={:#x} AT_SECURE={} AT_SYSINFO_EHDR={:#x} vdso_clock_gettime={}",
            self.count, self.pagesz, self.random, self.hwcap, self.hwcap2, self.secure as u64, self.vdso,
            crate::print::Str(if vdso_clock_found() { "found" } else { "absent (syscall fallback)" })
        )
    }
}

/// Address of the 16 random bytes the kernel gave us (AT_RANDOM), or 0.
pub fn startup_random() -> usize {
    // SAFETY: written once during args.
    unsafe { (*AUXV.get()).random }
}

/// AT_HWCAP and AT_HWCAP2 from the auxv sysargs walked (cpuinit's input on arm and arm64;
/// amd64 asks CPUID instead).
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
pub fn hwcaps() -> (usize, usize) {
    // SAFETY: written once during args, before cpuinit.
    let a = unsafe { &*AUXV.get() };
    (a.hwcap, a.hwcap2)
}

/// The program's own image as auxv describes it: (AT_PHDR, AT_PHNUM, AT_EXECFN), zeros if absent
/// (traceback, symtab.rs).
pub fn exe_auxv() -> (usize, usize, usize) {
    // SAFETY: written once during args.
    let a = unsafe { &*AUXV.get() };
    (a.phdr, a.phnum, a.execfn)
}

/// Whether the process runs in secure mode (AT_SECURE: setuid and the like).
pub fn secure_mode() -> bool {
    // SAFETY: written once during args.
    unsafe { (*AUXV.get()).secure }
}

/// No extra guard page under each chunk of stacks: a fault anywhere is reported from the
/// signal stack.
pub const STACK_CHUNK_FLOOR_GUARD: bool = false;

/// Bytes below each stack reserved as its guard (stack.rs), PROT_NONE: one page, or the arch's
/// `MIN_STACK_GUARD` if that is more (linux/arm, see arm_frames.rs).
#[allow(clippy::unnecessary_min_or_max)] // MIN_STACK_GUARD is 0 on amd64 and arm64
pub fn stack_guard_size() -> usize {
    phys_page_size().max(MIN_STACK_GUARD)
}

/// How many guard pages stacks may use: a quarter of vm.max_map_count (each guard page in the
/// middle of a chunk costs two mappings).
pub fn guard_page_budget() -> isize {
    let max_map = read_number(b"/proc/sys/vm/max_map_count\0").unwrap_or(65530);
    (max_map / 4).min(isize::MAX as usize) as isize
}

/// The kind of an OS error code (errno), for `gort::io::Error`.
pub fn error_kind(code: i32) -> crate::io::ErrorKind {
    use crate::io::ErrorKind as K;
    match code {
        1 => K::PermissionDenied,
        2 => K::NotFound,
        4 => K::Interrupted,
        11 => K::WouldBlock,
        12 => K::OutOfMemory,
        13 => K::PermissionDenied,
        17 => K::AlreadyExists,
        20 => K::NotADirectory,
        21 => K::IsADirectory,
        22 => K::InvalidInput,
        32 => K::BrokenPipe,
        38 => K::Unsupported,
        39 => K::DirectoryNotEmpty,
        95 => K::Unsupported,
        98 => K::AddrInUse,
        99 => K::AddrNotAvailable,
        101 => K::NetworkUnreachable,
        103 => K::ConnectionAborted,
        104 => K::ConnectionReset,
        107 => K::NotConnected,
        110 => K::TimedOut,
        111 => K::ConnectionRefused,
        113 => K::HostUnreachable,
        _ => K::Other,
    }
}
