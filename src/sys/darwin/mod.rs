//! darwin (macOS): the OS layer (Go's os_darwin.go and sys_darwin.go); the per-arch half (the TLS
//! mechanism, the signal context) is `darwin/<arch>.rs`, picked below. darwin has no stable system
//! call ABI, so every service goes through libSystem, as Go has done since 1.12: the symbols are
//! declared in the extern block below and linked against `linker/libSystem.tbd`, which lists
//! exactly these symbols (plus what asm/rt0_darwin_*.S calls). Nothing here names a register.
//!
//! libSystem functions run on whatever stack calls them: g0 stacks (64 KB) and goroutine stacks
//! (64 KB by default). The calls used here are leaf-like in libSystem (a few hundred bytes of stack
//! at most), which is why that is fine; a deep libSystem call (printf-like, dlopen) would not be.
//!
//! Not yet run on a real Mac (none is reachable from the machine gort is developed on): this file
//! builds and links for x86_64-apple-darwin and aarch64-apple-darwin, and `cargo xtask build-all`
//! inspects the binaries; see README "Targets".

use core::ffi::{c_char, c_int, c_void};
use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

use super::SigSet;

#[cfg_attr(target_arch = "x86_64", path = "amd64.rs")]
#[cfg_attr(target_arch = "aarch64", path = "arm64.rs")]
mod arch;
pub use arch::*;
pub mod fs;
pub mod preempt_layout;
pub mod socket;

/// OS name as Go spells it.
pub const GOOS: &str = "darwin";

/// Interrupted system call.
pub const EINTR: isize = 4;
/// No such waiter (__ulock_wake with nobody waiting).
const ENOENT: c_int = 2;

/// pthread_attr_t: 8-byte signature plus 56 opaque bytes.
#[repr(C)]
struct PthreadAttr {
    _opaque: [u64; 8],
}

/// The libSystem functions gort calls (linker/libSystem.tbd lists the same set).
mod libsystem {
    use super::{PthreadAttr, SigAction, StackT};
    use core::ffi::{c_char, c_int, c_void};

    #[link(name = "System", kind = "dylib")]
    unsafe extern "C" {
        pub fn write(fd: c_int, buf: *const c_void, n: usize) -> isize;
        pub fn exit(code: c_int) -> !;
        pub fn __error() -> *mut c_int;
        pub fn mmap(addr: *mut c_void, len: usize, prot: c_int, flags: c_int, fd: c_int, off: i64) -> *mut c_void;
        pub fn munmap(addr: *mut c_void, len: usize) -> c_int;
        pub fn mprotect(addr: *mut c_void, len: usize, prot: c_int) -> c_int;
        pub fn pthread_attr_init(attr: *mut PthreadAttr) -> c_int;
        pub fn pthread_attr_setstack(attr: *mut PthreadAttr, addr: *mut c_void, size: usize) -> c_int;
        pub fn pthread_attr_setdetachstate(attr: *mut PthreadAttr, state: c_int) -> c_int;
        pub fn pthread_attr_destroy(attr: *mut PthreadAttr) -> c_int;
        pub fn pthread_create(
            t: *mut usize,
            attr: *const PthreadAttr,
            start: extern "C" fn(*mut c_void) -> *mut c_void,
            arg: *mut c_void,
        ) -> c_int;
        pub fn pthread_threadid_np(t: usize, id: *mut u64) -> c_int;
        pub fn pthread_exit(value: *mut c_void) -> !;
        pub fn pthread_self() -> usize;
        pub fn pthread_kill(t: usize, sig: c_int) -> c_int;
        pub fn pthread_sigmask(how: c_int, new: *const u32, old: *mut u32) -> c_int;
        pub fn sigaction(sig: c_int, new: *const SigAction, old: *mut SigAction) -> c_int;
        pub fn sigaltstack(new: *const StackT, old: *mut StackT) -> c_int;
        pub fn sysctlbyname(
            name: *const c_char,
            old: *mut c_void,
            oldlen: *mut usize,
            new: *mut c_void,
            newlen: usize,
        ) -> c_int;
        pub fn clock_gettime_nsec_np(clock: c_int) -> u64;
        pub fn usleep(usec: u32) -> c_int;
        pub fn raise(sig: c_int) -> c_int;
        pub fn sched_yield() -> c_int;
        pub fn getentropy(buf: *mut c_void, n: usize) -> c_int;
        pub fn issetugid() -> c_int;
        pub fn __ulock_wait(op: u32, addr: *mut c_void, value: u64, timeout_us: u32) -> c_int;
        pub fn __ulock_wake(op: u32, addr: *mut c_void, wake_value: u64) -> c_int;
        pub fn kqueue() -> c_int;
        pub fn kevent(
            kq: c_int,
            changes: *const super::Kevent,
            nchanges: c_int,
            events: *mut super::Kevent,
            nevents: c_int,
            timeout: *const super::Timespec,
        ) -> c_int;
    }
}
use libsystem as ls;

/// errno of the calling thread.
fn errno() -> isize {
    // SAFETY: __error returns this thread's errno slot.
    unsafe { *ls::__error() as isize }
}

// --- args, osinit (Go's args/sysargs, osinit for darwin) ---

/// What sysargs found (darwin has no auxv: the "apple" strings follow envp instead).
#[derive(Clone, Copy, Default, Debug)]
pub struct Auxv {
    /// Number of apple strings after envp.
    pub apple: usize,
    /// issetugid(): setuid/setgid; GODEBUG is ignored.
    pub secure: bool,
    /// getentropy filled the 16 startup random bytes.
    pub random_ok: bool,
}

impl core::fmt::Display for Auxv {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "apple strings={} issetugid={} random=getentropy:{}",
            self.apple,
            self.secure as u8,
            if self.random_ok { "ok" } else { "failed (zero seed)" }
        )
    }
}

static NCPU: AtomicU32 = AtomicU32::new(1);
static PHYS_PAGE_SIZE: AtomicUsize = AtomicUsize::new(4096);
static AUXV: crate::gmp::Global<Auxv> = crate::gmp::Global::new(Auxv { apple: 0, secure: false, random_ok: false });
/// 16 random bytes for alginit (the darwin stand-in for Linux's AT_RANDOM).
static RANDOM: crate::gmp::Global<[u8; 16]> = crate::gmp::Global::new([0; 16]);

/// Number of CPUs (set by osinit).
pub fn ncpu() -> u32 {
    NCPU.load(Ordering::Relaxed)
}
/// Physical page size (hw.pagesize: 4 KB on amd64, 16 KB on Apple silicon).
pub fn phys_page_size() -> usize {
    PHYS_PAGE_SIZE.load(Ordering::Relaxed)
}
/// Huge page size: darwin has no transparent huge pages gort could use.
pub fn phys_huge_page_size() -> usize {
    0
}

/// Reads an integer sysctl by name (NUL-terminated); None if it does not exist.
pub(super) fn sysctl_int(name: &[u8]) -> Option<i64> {
    debug_assert_eq!(name.last(), Some(&0));
    let mut v: i64 = 0;
    let mut len = core::mem::size_of::<i64>();
    // SAFETY: name is NUL-terminated; v is writable for len bytes.
    let r = unsafe {
        ls::sysctlbyname(
            name.as_ptr() as *const c_char,
            &mut v as *mut i64 as *mut c_void,
            &mut len,
            core::ptr::null_mut(),
            0,
        )
    };
    if r != 0 {
        return None;
    }
    // An int sysctl fills 4 bytes (little-endian: the low half of v).
    Some(if len == 4 { v as i32 as i64 } else { v })
}

/// Go's sysargs for darwin: argv/envp (as on Linux), counts the apple strings, fills the startup
/// random bytes with getentropy and records issetugid.
///
/// # Safety
/// Called once, from args, with dyld's argc/argv.
pub unsafe fn sysargs(argc: usize, argv: *const *const u8) -> Auxv {
    // SAFETY: argv is dyld's argument vector; envp follows it, then the apple strings.
    let apple = unsafe { crate::args::args(argc, argv) } as *const *const u8;
    let mut a = Auxv::default();
    // SAFETY: the apple vector is NULL-terminated.
    unsafe {
        while !(*apple.add(a.apple)).is_null() {
            a.apple += 1;
        }
    }
    // SAFETY: single-threaded boot; RANDOM is 16 writable bytes (getentropy allows up to 256).
    unsafe {
        a.random_ok = ls::getentropy((*RANDOM.get()).as_mut_ptr() as *mut c_void, 16) == 0;
        a.secure = ls::issetugid() != 0;
        *AUXV.get() = a;
    }
    a
}

/// Go's osinit for darwin: ncpu from hw.logicalcpu, the page size from hw.pagesize.
pub fn osinit() {
    let n = sysctl_int(b"hw.logicalcpu\0").unwrap_or(1).clamp(1, u32::MAX as i64);
    NCPU.store(n as u32, Ordering::Relaxed);
    if let Some(p) = sysctl_int(b"hw.pagesize\0").filter(|&p| p > 0 && (p as usize).is_power_of_two()) {
        PHYS_PAGE_SIZE.store(p as usize, Ordering::Relaxed);
    }
}

/// Address of 16 random bytes (from getentropy), or 0 if getentropy failed.
pub fn startup_random() -> usize {
    // SAFETY: written once during args.
    unsafe {
        if (*AUXV.get()).random_ok {
            RANDOM.get() as usize
        } else {
            0
        }
    }
}

/// Whether the process runs setuid/setgid (issetugid): GODEBUG is ignored then.
pub fn secure_mode() -> bool {
    // SAFETY: written once during args.
    unsafe { (*AUXV.get()).secure }
}

// --- output, exit, time ---

/// Resource temporarily unavailable (a non-blocking fd is full).
pub const EAGAIN: isize = 35;
/// Broken pipe (nobody reads the other end).
pub const EPIPE: isize = 32;

/// Writes all of `b` to `fd`. EINTR retries; EAGAIN (a non-blocking fd that is full) sleeps a
/// millisecond and retries, as `wait` says (libSystem's poll is not in linker/libSystem.tbd);
/// Err(errno) on any other failure.
pub fn write_all(fd: usize, mut b: &[u8], wait: super::WriteWait) -> Result<(), isize> {
    let mut waited = 0;
    while !b.is_empty() {
        // SAFETY: b is a valid buffer.
        let n = unsafe { ls::write(fd as c_int, b.as_ptr() as *const c_void, b.len()) };
        if n < 0 {
            match errno() {
                EINTR => continue,
                EAGAIN if wait == super::WriteWait::Forever || waited < 1000 => {
                    waited += 1;
                    usleep(1000);
                    continue;
                }
                e => return Err(e),
            }
        }
        if n == 0 {
            return Err(EAGAIN);
        }
        b = &b[n as usize..];
    }
    Ok(())
}

/// Ends the process by SIGPIPE after a write to stdout or stderr found the pipe closed, as Go
/// does. Exits 2 if the signal did not kill.
pub fn raise_sigpipe() {
    die_from_signal(13);
    exit(2)
}

/// Ends the process for GOTRACEBACK=crash (Go's crash): by SIGABRT, which dumps core where
/// core dumps are enabled. Exits 2 if the signal did not kill.
pub fn crash() -> ! {
    die_from_signal(6);
    exit(2)
}

/// Go's dieFromSignal: raises `sig` with its default action restored and the signal unblocked
/// first; returns if that did not end the process.
fn die_from_signal(sig: c_int) {
    const SIG_UNBLOCK: c_int = 2;
    let dfl = SigAction { handler: 0, mask: 0, flags: 0 };
    let unblock: u32 = 1 << (sig - 1);
    // SAFETY: a valid struct sigaction (SIG_DFL) and sigset; raise takes a signal number.
    unsafe {
        ls::sigaction(sig, &dfl, core::ptr::null_mut());
        ls::pthread_sigmask(SIG_UNBLOCK, &unblock, core::ptr::null_mut());
        ls::raise(sig);
    }
}

/// Ends the process with `code` (libSystem's exit: gort registers no atexit handlers).
pub fn exit(code: i32) -> ! {
    // SAFETY: exit does not return.
    unsafe { ls::exit(code) }
}

/// Ends the calling thread only (pthread_exit; the thread was created detached, on a stack newm
/// owns, which libSystem leaves alone). Go's mexit returns from mstart instead, which ends a
/// pthread the same way.
pub fn exit_thread() -> ! {
    // SAFETY: the thread was made by pthread_create (newosproc); nothing on its stack is needed
    // after this, and no C++ destructors or pthread keys of gort's hold state.
    unsafe { ls::pthread_exit(core::ptr::null_mut()) }
}

/// Go's runqgrab pause before it steals a running P's runnext: 3 µs.
pub fn steal_pause() {
    usleep(3);
}

/// Gives up the CPU to another thread.
pub fn osyield() {
    // SAFETY: no arguments.
    unsafe { ls::sched_yield() };
}

/// Sleeps the thread for `usec` microseconds.
pub fn usleep(usec: u32) {
    // SAFETY: plain integer.
    unsafe { ls::usleep(usec) };
}

/// CLOCK_REALTIME: the wall clock.
const CLOCK_REALTIME: c_int = 0;

/// Wall-clock time in nanoseconds since the Unix epoch (Go's walltime).
pub fn walltime() -> i64 {
    // SAFETY: clock_gettime_nsec_np takes a clock id and nothing else.
    unsafe { ls::clock_gettime_nsec_np(CLOCK_REALTIME) as i64 }
}

/// CLOCK_UPTIME_RAW: mach_absolute_time in nanoseconds, what Go's nanotime uses on darwin.
const CLOCK_UPTIME_RAW: c_int = 8;

/// The OS contract's clock_ready: libSystem's clock needs no setup.
pub fn clock_ready() -> bool {
    true
}

/// Monotonic time in nanoseconds (Go's nanotime: mach_absolute_time scaled to ns).
pub fn nanotime() -> i64 {
    // SAFETY: plain integer.
    unsafe { ls::clock_gettime_nsec_np(CLOCK_UPTIME_RAW) as i64 }
}

// --- futexes: __ulock_wait/__ulock_wake ---
//
// Go's lock_sema.go on darwin parks Ms on a pthread mutex+cond per M (semasleep/semawakeup).
// gort keeps its futex-shaped lock_futex.rs on every OS and implements futexsleep/futexwakeup with
// the kernel's compare-and-wait primitive, __ulock_wait/__ulock_wake (exported by libSystem since
// macOS 10.12, used by libc++'s std::atomic::wait and by Rust's std on macOS). It is not in
// Apple's public headers; its operation codes are stable (xnu bsd/sys/ulock.h).

const UL_COMPARE_AND_WAIT: u32 = 1;
const ULF_WAKE_ALL: u32 = 0x0000_0100;
const ULF_NO_ERRNO: u32 = 0x0100_0000;

/// Sleeps while `*addr == val`, for at most `ns` nanoseconds if ns >= 0. Spurious wakeups allowed.
pub fn futexsleep(addr: &AtomicU32, val: u32, ns: i64) {
    // timeout 0 means forever; round a positive wait up to at least 1 µs.
    let us = if ns < 0 { 0 } else { ((ns + 999) / 1000).clamp(1, u32::MAX as i64) as u32 };
    // SAFETY: addr is a valid u32 for the whole call.
    unsafe { ls::__ulock_wait(UL_COMPARE_AND_WAIT | ULF_NO_ERRNO, addr.as_ptr() as *mut c_void, val as u64, us) };
}

/// Wakes one (cnt == 1) or all threads sleeping on addr.
pub fn futexwakeup(addr: &AtomicU32, cnt: u32) {
    let op = UL_COMPARE_AND_WAIT | ULF_NO_ERRNO | if cnt > 1 { ULF_WAKE_ALL } else { 0 };
    loop {
        // SAFETY: addr is valid.
        let r = unsafe { ls::__ulock_wake(op, addr.as_ptr() as *mut c_void, 0) };
        match -r {
            0 | ENOENT => return, // woken, or nobody was waiting
            4 => continue,        // EINTR
            _ => crate::throw("futexwakeup failed"),
        }
    }
}

// --- kqueue (Go's sys_darwin.go kqueue, kevent; the poller is netpoll/kqueue.rs) ---

/// struct kevent (`<sys/event.h>`, the 64-bit layout of both arches: 32 bytes).
#[repr(C)]
#[derive(Clone, Copy, Default)]
pub struct Kevent {
    /// The fd (or an EVFILT_USER identifier).
    pub ident: usize,
    /// EVFILT_*.
    pub filter: i16,
    /// EV_*.
    pub flags: u16,
    /// Filter flags (NOTE_*).
    pub fflags: u32,
    /// Filter data (bytes readable, or the errno of an EV_ERROR).
    pub data: isize,
    /// Opaque user data, returned with the event.
    pub udata: usize,
}
const _: () = assert!(core::mem::size_of::<Kevent>() == 32);

/// struct timespec (time_t and long are both 64-bit on darwin).
#[repr(C)]
pub struct Timespec {
    /// Seconds.
    pub tv_sec: i64,
    /// Nanoseconds (below 1e9).
    pub tv_nsec: i64,
}

/// kqueue(2) with close-on-exec (Go's kqueue + closeonexec): the fd or -errno.
pub fn kqueue() -> isize {
    // SAFETY: no arguments.
    let kq = unsafe { ls::kqueue() };
    if kq < 0 {
        return -errno();
    }
    socket::closeonexec(kq as usize);
    kq as isize
}

/// kevent(2): applies `changes`, then waits for up to `events.len()` events for at most
/// `timeout` (None: forever). The number of events written, or -errno.
pub fn kevent(kq: usize, changes: &[Kevent], events: &mut [Kevent], timeout: Option<&Timespec>) -> isize {
    let ts = timeout.map_or(core::ptr::null(), |t| t as *const Timespec);
    // SAFETY: the kernel reads `changes` and writes at most `events.len()` entries of `events`,
    // both valid for their lengths; ts is null or a valid timespec.
    let n = unsafe {
        ls::kevent(
            kq as c_int,
            changes.as_ptr(),
            changes.len() as c_int,
            events.as_mut_ptr(),
            events.len() as c_int,
            ts,
        )
    };
    if n < 0 {
        -errno()
    } else {
        n as isize
    }
}

// --- memory (Go's mem_darwin.go) ---

bitflags::bitflags! {
    /// mmap/mprotect protection (PROT_*).
    #[derive(Clone, Copy)]
    struct Prot: c_int {
        const READ = 1;
        const WRITE = 2;
    }

    /// mmap flags (MAP_*).
    #[derive(Clone, Copy)]
    struct MapFlags: c_int {
        const PRIVATE = 0x0002;
        const FIXED = 0x0010;
        const ANON = 0x1000;
    }

    /// sigaction flags (SA_*).
    #[derive(Clone, Copy)]
    struct SaFlags: c_int {
        const ONSTACK = 0x0001;
        const RESTART = 0x0002;
        const SIGINFO = 0x0040;
    }
}
const MAP_FAILED: *mut c_void = !0usize as *mut c_void;

/// Maps `n` bytes of zeroed read-write memory (Go's sysAlloc); null on failure.
pub fn sys_alloc(n: usize) -> *mut u8 {
    sys_alloc_at(0, n)
}

/// sys_alloc at `hint` if that range is free (a hint, not MAP_FIXED: the kernel places the
/// mapping elsewhere otherwise; Go's sysReserve with an arena hint).
pub fn sys_alloc_at(hint: usize, n: usize) -> *mut u8 {
    // SAFETY: anonymous private mapping; the kernel chooses the address (no MAP_FIXED: nothing
    // mapped is replaced).
    let p = unsafe {
        ls::mmap(
            hint as *mut c_void,
            n,
            (Prot::READ | Prot::WRITE).bits(),
            (MapFlags::PRIVATE | MapFlags::ANON).bits(),
            -1,
            0,
        )
    };
    if p == MAP_FAILED {
        core::ptr::null_mut()
    } else {
        p as *mut u8
    }
}

/// Unmaps memory from sys_alloc (Go's sysFree).
///
/// # Safety
/// `[p, p+n)` must be a mapping the runtime owns and no longer uses.
pub unsafe fn sys_free(p: *mut u8, n: usize) {
    // SAFETY: forwarded to the caller.
    unsafe { ls::munmap(p as *mut c_void, n) };
}

/// Makes `[p, p+n)` inaccessible (guard pages); false if the kernel refused.
///
/// # Safety
/// The range must be runtime-owned memory nobody uses.
pub unsafe fn sys_guard(p: *mut u8, n: usize) -> bool {
    // SAFETY: forwarded to the caller.
    unsafe { ls::mprotect(p as *mut c_void, n, Prot::empty().bits()) == 0 }
}

/// Guards for a batch of fresh stack slots without spending mappings (linux's
/// MADV_GUARD_INSTALL): always false here, darwin has no guard regions apart from mprotect: each stack's guard is set by sys_guard.
///
/// # Safety
/// As for sys_guard, for every slot (nothing is done here).
pub unsafe fn sys_guard_slots(_first: *mut u8, _stride: usize, _len: usize, _n: usize) -> bool {
    false
}

/// Tells the kernel the pages are unused; they read back as zero (Go's sysUnused). darwin's
/// madvise(MADV_DONTNEED/MADV_FREE_REUSABLE) does not promise zeroes, so the range is replaced by
/// a fresh anonymous mapping (MAP_FIXED). If that fails the range is cleared by hand: the heap
/// relies on released pages reading as zero (alloc_zeroed skips clearing them).
///
/// # Safety
/// The range must be runtime-owned memory whose contents may be discarded.
pub unsafe fn sys_unused(p: *mut u8, n: usize) {
    // SAFETY: forwarded to the caller: the range is ours and may lose its contents.
    unsafe {
        let q = ls::mmap(
            p as *mut c_void,
            n,
            (Prot::READ | Prot::WRITE).bits(),
            (MapFlags::PRIVATE | MapFlags::ANON | MapFlags::FIXED).bits(),
            -1,
            0,
        );
        if q == MAP_FAILED {
            core::ptr::write_bytes(p, 0, n);
        }
    }
}

/// Advice for or against huge pages (Go's sysHugePage/sysNoHugePage). darwin has no transparent
/// huge pages for anonymous memory (osinit reports a huge page size of 0), so there is nothing
/// to ask for: a no-op, as Go's mem_darwin.go.
///
/// # Safety
/// The range must be runtime-owned memory.
pub unsafe fn sys_huge_pages(_p: *mut u8, _n: usize, _want: bool) {}

/// No extra guard page under each chunk of stacks: faults are reported from the signal stack.
pub const STACK_CHUNK_FLOOR_GUARD: bool = false;

/// Bytes below each stack reserved as its guard (stack.rs): one page, PROT_NONE.
pub fn stack_guard_size() -> usize {
    phys_page_size()
}

/// How many guard pages stacks may use. darwin has no vm.max_map_count; the same budget as Linux's
/// default (65530 / 4) keeps the two alike.
pub fn guard_page_budget() -> isize {
    65530 / 4
}

// --- threads (Go's newosproc: pthread_create) ---

const PTHREAD_CREATE_DETACHED: c_int = 2;

/// The start routine of every M but m0: installs g0 in TLS, then mstart (never returns).
extern "C" fn mstart_stub(mp: *mut c_void) -> *mut c_void {
    let mp = mp as *mut crate::gmp::M;
    // SAFETY: newosproc passed a fully initialised M; its g0 belongs to this new thread. Nothing
    // before setg reads the g slot.
    unsafe { setg((*mp).g0) };
    crate::proc::mstart()
}

/// Starts an OS thread for `mp` running `mstart` on g0's stack `[g0.stack.lo, stk_hi)` (Go's
/// newosproc for darwin: pthread_create, detached, on the stack newm allocated). Signals are blocked
/// across the creation so the new thread starts with everything blocked until minit.
/// Returns 0 or -errno.
///
/// # Safety
/// `mp` and its g0 must be fully initialised and live forever.
pub unsafe fn newosproc(mp: *mut crate::gmp::M, stk_hi: usize) -> isize {
    // SAFETY: mp.g0 is valid (caller).
    let lo = unsafe { (*(*mp).g0).stack.lo };
    let mut attr = PthreadAttr { _opaque: [0; 8] };
    // Every signal but the synchronous ones: a fault while they are blocked kills the process
    // with no report (the kernel forces the default action).
    let mut all = SigSet::all();
    crate::signal_unix::unblock_fatal(&mut all);
    let mut old = SigSet::empty();
    sigprocmask(SIG_SETMASK, Some(&all), Some(&mut old));
    // SAFETY: attr is a pthread_attr_t we own; the stack [lo, stk_hi) is page-aligned, owned by
    // g0 and lives forever; mp outlives the thread.
    let r = unsafe {
        let mut r = ls::pthread_attr_init(&mut attr);
        if r == 0 {
            r = ls::pthread_attr_setstack(&mut attr, lo as *mut c_void, stk_hi - lo);
        }
        if r == 0 {
            r = ls::pthread_attr_setdetachstate(&mut attr, PTHREAD_CREATE_DETACHED);
        }
        if r == 0 {
            let mut t: usize = 0;
            r = ls::pthread_create(&mut t, &attr, mstart_stub, mp as *mut c_void);
        }
        ls::pthread_attr_destroy(&mut attr);
        r
    };
    sigprocmask(SIG_SETMASK, Some(&old), None);
    -(r as isize)
}

/// The calling thread's pthread_t (for pthread_kill: asynchronous preemption).
pub fn pthread_self() -> usize {
    // SAFETY: no arguments; always succeeds.
    unsafe { ls::pthread_self() }
}

/// Sends `sig` to thread `t` (Go's pthread_kill in signalM); 0 or an errno (ESRCH: no such
/// thread any more).
pub fn pthread_kill(t: usize, sig: i32) -> i32 {
    // SAFETY: pthread_kill validates `t` against libpthread's thread list before using it.
    unsafe { ls::pthread_kill(t, sig) }
}

/// The calling thread's system-wide unique id (pthread_threadid_np), for m.procid.
pub fn gettid() -> u64 {
    let mut id = 0u64;
    // SAFETY: 0 means the calling thread; id is writable.
    unsafe { ls::pthread_threadid_np(0, &mut id) };
    id
}

// --- signals (Go's signal_unix.go + os_darwin.go, the parts gort uses) ---

/// SIGBUS (darwin reports most bad accesses to mapped-but-protected memory as SIGBUS).
pub const SIGBUS: i32 = 10;
/// SIGURG: Go's preemption signal (kept unblocked).
pub const SIGURG: i32 = 16;
/// Signals in a sigset_t (Go's _NSIG).
pub const NSIG: u32 = 32;
/// sigprocmask's `how`: replace the mask.
pub const SIG_SETMASK: c_int = 3;

/// pthread_sigmask wrapper (the calling thread's mask).
pub fn sigprocmask(how: c_int, new: Option<&SigSet>, old: Option<&mut SigSet>) {
    let n = new.map(|s| s.0 as u32);
    let mut o: u32 = 0;
    let np = n.as_ref().map_or(core::ptr::null(), |v| v as *const u32);
    let op = if old.is_some() { &mut o as *mut u32 } else { core::ptr::null_mut() };
    // SAFETY: pointers are null or valid 32-bit sigsets.
    unsafe { ls::pthread_sigmask(how, np, op) };
    if let Some(old) = old {
        old.0 = o as u64;
    }
}

/// libSystem's struct sigaction (libSystem supplies the return trampoline itself).
#[repr(C)]
struct SigAction {
    handler: usize,
    mask: u32,
    flags: c_int,
}

/// Installs `handler` (an SA_SIGINFO handler running on the signal stack) for `sig`.
pub fn setsig(sig: i32, handler: unsafe extern "C" fn(i32, *mut u8, *mut u8)) {
    let sa = SigAction {
        handler: handler as usize,
        mask: !0,
        flags: (SaFlags::SIGINFO | SaFlags::ONSTACK | SaFlags::RESTART).bits(),
    };
    // SAFETY: sa is a valid struct sigaction.
    unsafe { ls::sigaction(sig, &sa, core::ptr::null_mut()) };
}

/// darwin's stack_t (sp, size, flags: not Linux's order).
#[repr(C)]
struct StackT {
    sp: usize,
    size: usize,
    flags: c_int,
}

/// Installs `[lo, lo+n)` as this thread's alternate signal stack (Go's signalstack).
pub fn signalstack(lo: usize, n: usize) {
    let st = StackT { sp: lo, size: n, flags: 0 };
    // SAFETY: st is valid.
    unsafe { ls::sigaltstack(&st, core::ptr::null_mut()) };
}

/// Fault address (si_addr) from a siginfo.
///
/// # Safety
/// `info` must be the siginfo the kernel passed to the handler.
pub unsafe fn siginfo_addr(info: *const u8) -> usize {
    // SAFETY: darwin siginfo_t: si_signo, si_errno, si_code, si_pid, si_uid, si_status (6 ints),
    // then si_addr at 24.
    unsafe { *((info as usize + 24) as *const usize) }
}

/// The kind of an OS error code (errno), for `gort::io::Error`.
pub fn error_kind(code: i32) -> crate::io::ErrorKind {
    use crate::io::ErrorKind as K;
    match code {
        1 => K::PermissionDenied,
        2 => K::NotFound,
        4 => K::Interrupted,
        35 => K::WouldBlock,
        12 => K::OutOfMemory,
        13 => K::PermissionDenied,
        17 => K::AlreadyExists,
        20 => K::NotADirectory,
        21 => K::IsADirectory,
        22 => K::InvalidInput,
        32 => K::BrokenPipe,
        78 => K::Unsupported,
        66 => K::DirectoryNotEmpty,
        102 => K::Unsupported,
        45 => K::Unsupported,
        48 => K::AddrInUse,
        49 => K::AddrNotAvailable,
        51 => K::NetworkUnreachable,
        53 => K::ConnectionAborted,
        54 => K::ConnectionReset,
        57 => K::NotConnected,
        60 => K::TimedOut,
        61 => K::ConnectionRefused,
        65 => K::HostUnreachable,
        _ => K::Other,
    }
}
