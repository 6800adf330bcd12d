//! Windows: the OS layer (Go's os_windows.go, mem_windows.go, signal_windows.go): argv and env
//! from the process's UTF-16 strings, ncpu and page sizes, notes on WaitOnAddress, memory from
//! VirtualAlloc, Ms from CreateThread, faults through a vectored exception handler, exit through
//! ExitProcess. Imports are `raw-dylib`: kernel32 and the synch API set only, no import library
//! on disk, nothing else linked. The per-arch half (the TLS slot's getg, the switch hooks that
//! keep the TEB's stack bounds in step, the thread start routine, the exception CONTEXT layout) is
//! `windows/<arch>.rs`, picked below; what the TEB code shares (the TLS slot, the TEB's field
//! offsets, `teb_set_stack`, `tls_base`) is written once here. Nothing here names a register.

use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

use super::winargs;

#[cfg_attr(target_arch = "x86_64", path = "amd64.rs")]
#[cfg_attr(target_arch = "aarch64", path = "arm64.rs")]
#[cfg_attr(target_arch = "arm", path = "arm.rs")]
mod arch;
pub use arch::*;
pub mod fs;
pub mod socket;

/// OS name as Go spells it.
pub const GOOS: &str = "windows";

/// Bytes below every stack's `lo` that belong to it: the top page is a PAGE_GUARD page, the rest
/// committed but untouched, room for the exception frame and the handler when a goroutine
/// overflows (a fault on the last bytes of a stack has nowhere else to push the frame). The TEB's
/// DeallocationStack is `lo - STACK_GUARD` (set on every switch).
pub const STACK_GUARD: usize = 16 << 10;

// --- the TEB (NT_TIB and beyond) and gort's TLS slot in it ---

/// Bytes in a word: the TEB's layout is the same on every arch but for the word size.
const W: usize = core::mem::size_of::<usize>();
/// TEB offset of NT_TIB.StackBase (the top of the running stack).
pub const TEB_STACKBASE: usize = W;
/// TEB offset of NT_TIB.StackLimit (the lowest committed address of the running stack).
pub const TEB_STACKLIMIT: usize = 2 * W;
/// TEB offset of the 64 inline TLS slots (TlsSlots).
const TEB_TLSSLOTS: usize = if W == 8 { 0x1480 } else { 0xe10 };
/// TEB offset of DeallocationStack (the bottom of the stack's reservation), just below TlsSlots.
pub const TEB_DEALLOCATIONSTACK: usize = TEB_TLSSLOTS - W;

/// TEB offset of our TLS slot (`TlsSlots + W*slot`), written by rt0_go (Go's runtime·tls_g).
#[export_name = "runtime_tls_g"]
pub static TLS_G: AtomicUsize = AtomicUsize::new(0);

/// Writes the TEB's stack fields (StackBase, StackLimit, DeallocationStack).
///
/// # Safety
/// The values must describe the stack this thread runs on (or the OS's own, when it exits).
pub unsafe fn teb_set_stack(base: usize, limit: usize, dealloc: usize) {
    let teb = arch::teb() as *mut u8;
    // SAFETY: teb is this thread's TEB; these are its documented offsets for this word size.
    unsafe {
        teb.add(TEB_STACKBASE).cast::<usize>().write_volatile(base);
        teb.add(TEB_STACKLIMIT).cast::<usize>().write_volatile(limit);
        teb.add(TEB_DEALLOCATIONSTACK).cast::<usize>().write_volatile(dealloc);
    }
}

/// The address of this thread's TLS slot (for boottrace: where getg reads).
pub fn tls_base() -> usize {
    arch::teb() + TLS_G.load(Ordering::Relaxed)
}

/// `naked_asm!` plus the operands the switch hooks of `windows/<arch>.rs` name (the TLS slot,
/// the TEB's stack fields, a g's stack bounds, the guard): the same on every arch. The invocation
/// must end with a comma.
macro_rules! os_naked_asm {
    ($($t:tt)*) => {
        core::arch::naked_asm!($($t)*
            tls_g = sym $crate::sys::TLS_G,
            g_stack_hi = const $crate::offsets::G_STACK_HI,
            g_stack_lo = const $crate::offsets::G_STACK_LO,
            teb_base = const $crate::sys::TEB_STACKBASE,
            teb_limit = const $crate::sys::TEB_STACKLIMIT,
            teb_dealloc = const $crate::sys::TEB_DEALLOCATIONSTACK,
            guard = const $crate::sys::STACK_GUARD,
        )
    };
}
pub(crate) use os_naked_asm;

type Handle = usize;
type Bool = i32;

#[repr(C)]
struct SystemInfo {
    processor_architecture: u16,
    reserved: u16,
    page_size: u32,
    minimum_application_address: usize,
    maximum_application_address: usize,
    active_processor_mask: usize,
    number_of_processors: u32,
    processor_type: u32,
    allocation_granularity: u32,
    processor_level: u16,
    processor_revision: u16,
}

#[link(name = "kernel32", kind = "raw-dylib")]
extern "system" {
    // rt0_windows_*.S calls the first five through their __imp_ pointers.
    fn TlsAlloc() -> u32;
    fn TlsGetValue(slot: u32) -> usize;
    fn GetStdHandle(which: u32) -> Handle;
    fn WriteFile(h: Handle, buf: *const u8, n: u32, written: *mut u32, overlapped: usize) -> Bool;
    fn ExitProcess(code: u32) -> !;
    fn ExitThread(code: u32) -> !;
    fn GetCommandLineW() -> *const u16;
    fn GetEnvironmentStringsW() -> *const u16;
    fn GetSystemInfo(info: *mut SystemInfo);
    fn GetCurrentProcess() -> Handle;
    fn GetProcessAffinityMask(p: Handle, process_mask: *mut usize, system_mask: *mut usize) -> Bool;
    fn GetLargePageMinimum() -> usize;
    fn CreateThread(attrs: usize, stack: usize, start: usize, param: usize, flags: u32, tid: *mut u32) -> Handle;
    fn CloseHandle(h: Handle) -> Bool;
    fn GetCurrentThread() -> Handle;
    fn DuplicateHandle(
        src_process: Handle,
        src: Handle,
        dst_process: Handle,
        dst: *mut Handle,
        access: u32,
        inherit: Bool,
        options: u32,
    ) -> Bool;
    fn GetCurrentThreadId() -> u32;
    fn GetCurrentProcessId() -> u32;
    fn GetLastError() -> u32;
    fn GetModuleHandleA(name: *const u8) -> Handle;
    fn GetProcAddress(module: Handle, name: *const u8) -> usize;
    fn SwitchToThread() -> Bool;
    fn Sleep(ms: u32);
    fn QueryPerformanceCounter(v: *mut i64) -> Bool;
    fn QueryPerformanceFrequency(v: *mut i64) -> Bool;
    fn GetTickCount64() -> u64;
    fn GetSystemTimePreciseAsFileTime(ft: *mut u64);
    fn VirtualAlloc(addr: usize, size: usize, kind: u32, protect: u32) -> *mut u8;
    fn VirtualFree(addr: *mut u8, size: usize, kind: u32) -> Bool;
    fn VirtualQuery(addr: usize, info: *mut MemoryBasicInformation, len: usize) -> usize;
    fn VirtualProtect(addr: *mut u8, size: usize, protect: u32, old: *mut u32) -> Bool;
    fn AddVectoredExceptionHandler(
        first: u32,
        handler: unsafe extern "system" fn(*mut ExceptionPointers) -> i32,
    ) -> usize;
}

#[link(name = "api-ms-win-core-synch-l1-2-0", kind = "raw-dylib")]
extern "system" {
    fn WaitOnAddress(addr: *const u32, compare: *const u32, size: usize, ms: u32) -> Bool;
    fn WakeByAddressSingle(addr: *const u32);
    fn WakeByAddressAll(addr: *const u32);
}

/// Keeps the imports only assembly uses referenced from Rust (so they stay in the import table).
#[used]
static ASM_IMPORTS: (unsafe extern "system" fn() -> u32, unsafe extern "system" fn(u32) -> usize) =
    (TlsAlloc, TlsGetValue);

static NCPU: AtomicU32 = AtomicU32::new(1);
static PHYS_PAGE_SIZE: AtomicUsize = AtomicUsize::new(4096);
static ALLOC_GRANULARITY: AtomicUsize = AtomicUsize::new(65536);
static LARGE_PAGE: AtomicUsize = AtomicUsize::new(0);
static QPC_FREQ: AtomicUsize = AtomicUsize::new(0);

extern "C" {
    /// The image's first byte (lld-link and link.exe define it).
    static __ImageBase: u8;
}

/// The executable's base address (`__ImageBase`): a pc minus it is an RVA (the traceback's
/// `+0xRVA`, the unwind tables' addresses).
pub fn image_base() -> usize {
    core::ptr::addr_of!(__ImageBase) as usize
}

/// Whether `[addr, addr + len)` lies in the executable's image: every page from its base
/// (`image_base`, the headers) to base + SizeOfImage is mapped readable for the program's life
/// (a PE image's sections are contiguous). Asynchronous preemption reads the instructions before
/// an interrupted pc with it when they lie in the page before the pc's (`preempt::read_recently`).
#[cfg(any(target_arch = "aarch64", target_arch = "arm"))]
pub fn code_mapped(addr: usize, len: usize) -> bool {
    let base = image_base();
    // SAFETY: the headers are mapped with the image: the DOS header's e_lfanew (offset 0x3c)
    // locates the NT headers, whose optional header (at +24) has SizeOfImage at offset 56 in
    // both PE32 and PE32+.
    let size = unsafe {
        let nt = base + ((base + 0x3c) as *const u32).read_unaligned() as usize;
        ((nt + 24 + 56) as *const u32).read_unaligned() as usize
    };
    base <= addr && addr.checked_add(len).is_some_and(|end| end <= base + size)
}

/// Number of CPUs this process may run on (set by osinit).
pub fn ncpu() -> u32 {
    NCPU.load(Ordering::Relaxed)
}
/// Page size (GetSystemInfo's dwPageSize).
pub fn phys_page_size() -> usize {
    PHYS_PAGE_SIZE.load(Ordering::Relaxed)
}
/// Large page size (GetLargePageMinimum), 0 if unsupported.
pub fn phys_huge_page_size() -> usize {
    LARGE_PAGE.load(Ordering::Relaxed)
}

/// Go's osinit for Windows: page size and allocation granularity from GetSystemInfo, ncpu from
/// the process affinity mask, the large page size, the performance counter's frequency.
pub fn osinit() {
    // SAFETY: plain out-parameter calls.
    unsafe {
        let mut si: SystemInfo = core::mem::zeroed();
        GetSystemInfo(&mut si);
        if si.page_size != 0 {
            PHYS_PAGE_SIZE.store(si.page_size as usize, Ordering::Relaxed);
        }
        if si.allocation_granularity != 0 {
            ALLOC_GRANULARITY.store(si.allocation_granularity as usize, Ordering::Relaxed);
        }
        let (mut pm, mut sm) = (0usize, 0usize);
        let n = if GetProcessAffinityMask(GetCurrentProcess(), &mut pm, &mut sm) != 0 && pm != 0 {
            pm.count_ones()
        } else {
            si.number_of_processors.max(1)
        };
        NCPU.store(n, Ordering::Relaxed);
        LARGE_PAGE.store(GetLargePageMinimum(), Ordering::Relaxed);
    }
    qpc_init();
}

// --- time ---

fn qpc_init() {
    let mut f = 0i64;
    // SAFETY: out-parameter.
    unsafe { QueryPerformanceFrequency(&mut f) };
    QPC_FREQ.store(f.max(1) as usize, Ordering::Relaxed);
}

/// The OS contract's clock_ready: QueryPerformanceCounter needs no setup.
pub fn clock_ready() -> bool {
    true
}

/// Monotonic time in nanoseconds (QueryPerformanceCounter).
pub fn nanotime() -> i64 {
    let mut f = QPC_FREQ.load(Ordering::Relaxed) as i64;
    if f == 0 {
        qpc_init();
        f = QPC_FREQ.load(Ordering::Relaxed) as i64;
    }
    let mut c = 0i64;
    // SAFETY: out-parameter.
    unsafe { QueryPerformanceCounter(&mut c) };
    ((c as i128 * 1_000_000_000) / f as i128) as i64
}

/// Wall-clock time in nanoseconds since the Unix epoch (GetSystemTimePreciseAsFileTime: 100 ns
/// units since 1601-01-01).
pub fn walltime() -> i64 {
    /// 1601-01-01 to 1970-01-01 in 100 ns units.
    const EPOCH_DIFF: i64 = 116_444_736_000_000_000;
    let mut ft = 0u64;
    // SAFETY: out-parameter (a FILETIME is two u32s, low first: one little-endian u64).
    unsafe { GetSystemTimePreciseAsFileTime(&mut ft) };
    (ft as i64 - EPOCH_DIFF).saturating_mul(100)
}

// --- output and exit ---

/// Writes all of `b` to fd 1 (stdout) or 2 (stderr) through WriteFile: runtime messages,
/// including while crashing.
pub fn write_all(fd: usize, mut b: &[u8], _wait: super::WriteWait) -> Result<(), isize> {
    const STD_OUTPUT_HANDLE: u32 = -11i32 as u32;
    const STD_ERROR_HANDLE: u32 = -12i32 as u32;
    // SAFETY: GetStdHandle takes a constant.
    let h = unsafe { GetStdHandle(if fd == 2 { STD_ERROR_HANDLE } else { STD_OUTPUT_HANDLE }) };
    if h == 0 || h == usize::MAX {
        return Err(ERROR_INVALID_HANDLE);
    }
    while !b.is_empty() {
        let mut n = 0u32;
        let want = b.len().min(1 << 30) as u32;
        // SAFETY: b is valid for `want` bytes; n is an out-parameter; no OVERLAPPED.
        if unsafe { WriteFile(h, b.as_ptr(), want, &mut n, 0) } == 0 || n == 0 {
            // SAFETY: no arguments.
            let e = unsafe { GetLastError() } as isize;
            return Err(if e == ERROR_BROKEN_PIPE || e == ERROR_NO_DATA { EPIPE } else { e });
        }
        b = &b[n as usize..];
    }
    Ok(())
}

/// A handle that is not one (GetStdHandle found no stdout/stderr).
const ERROR_INVALID_HANDLE: isize = 6;
/// The reader of a pipe closed it (WriteFile to an anonymous pipe).
const ERROR_BROKEN_PIPE: isize = 109;
/// The pipe is being closed (WriteFile to a named pipe).
const ERROR_NO_DATA: isize = 232;
/// What write_all reports for a closed pipe, whatever Win32 said (print.rs compares with it).
pub const EPIPE: isize = 32;

/// Windows has no SIGPIPE: a write to a closed pipe ends the process with status 2 (quietly, as
/// a Go program's write to a closed stdout does not end it there, but nothing more can be
/// printed).
pub fn raise_sigpipe() {
    exit(2)
}

/// Ends the process for GOTRACEBACK=crash: exit status 2, as Go's crash on windows before
/// Windows Error Reporting support (there is no signal to die from).
pub fn crash() -> ! {
    exit(2)
}

/// Ends the process with `code` (ExitProcess). First takes the M's `preempt_ext_lock` (Go's
/// osPreemptExtEnter), waiting out a preemption that has this thread suspended: ExitProcess
/// kills the other threads, and if the suspender were among them this thread would stay
/// suspended, the process half-exited, for good (seen under wine: about 1 run in 20 of
/// output/panics hung). Once the lock is held no preemption suspends this thread again.
pub fn exit(code: i32) -> ! {
    let gp = getg();
    // SAFETY: a non-null g is the running one and its m (if any) this thread's M, which is never
    // freed; the lock word is atomic.
    unsafe {
        if !gp.is_null() && !(*gp).m.is_null() {
            let lock = &(*(*gp).m).preempt_ext_lock;
            while lock.compare_exchange(0, 1, Ordering::Acquire, Ordering::Relaxed).is_err() {
                osyield();
            }
        }
    }
    // SAFETY: ExitProcess does not return.
    unsafe { ExitProcess(code as u32) }
}

/// Ends the calling thread only: gives the TEB back its OS stack first (saved by tstart in
/// m.tls[1..4]) so ExitThread frees the right memory.
pub fn exit_thread() -> ! {
    // SAFETY: getg().m is this thread's M and tstart saved the OS stack bounds in its tls.
    unsafe {
        let mp = (*getg()).m;
        let t = &(*mp).tls;
        teb_set_stack(t[1], t[2], t[3]);
        ExitThread(0)
    }
}

/// OS thread id of the caller.
pub fn gettid() -> u64 {
    // SAFETY: no arguments.
    unsafe { GetCurrentThreadId() as u64 }
}

/// Go's runqgrab pause before it steals a running P's runnext: a yield (Sleep's millisecond
/// resolution would stall the thief for a timer tick, as Go notes).
pub fn steal_pause() {
    osyield();
}

/// Gives up the CPU to another thread (SwitchToThread).
pub fn osyield() {
    // SAFETY: no arguments.
    unsafe { SwitchToThread() };
}

/// Sleeps the thread for at least `usec` microseconds (Sleep has millisecond resolution).
pub fn usleep(usec: u32) {
    // SAFETY: plain integer.
    unsafe { Sleep(usec.div_ceil(1000)) };
}

// --- notes and locks: WaitOnAddress (Go's lock_futex would use futexes) ---

/// Sleeps while `*addr == val`, for at most `ns` nanoseconds if ns >= 0. Spurious wakeups allowed.
pub fn futexsleep(addr: &AtomicU32, val: u32, ns: i64) {
    const INFINITE: u32 = u32::MAX;
    let ms = if ns < 0 { INFINITE } else { ((ns + 999_999) / 1_000_000).min(INFINITE as i64 - 1) as u32 };
    // SAFETY: addr is a valid u32 for the whole call; val is compared by value.
    unsafe { WaitOnAddress(addr.as_ptr(), &val, 4, ms) };
}

/// Wakes up to `cnt` threads sleeping on addr.
pub fn futexwakeup(addr: &AtomicU32, cnt: u32) {
    // SAFETY: addr is valid.
    unsafe {
        if cnt == 1 {
            WakeByAddressSingle(addr.as_ptr())
        } else {
            WakeByAddressAll(addr.as_ptr())
        }
    }
}

// --- memory (Go's mem_windows.go) ---

const MEM_COMMIT: u32 = 0x1000;
const MEM_RESERVE: u32 = 0x2000;
const MEM_DECOMMIT: u32 = 0x4000;
const MEM_TOP_DOWN: u32 = 0x10_0000;
const PAGE_READWRITE: u32 = 0x04;
const PAGE_GUARD: u32 = 0x100;

/// Reserves and commits `n` bytes of zeroed read-write memory (Go's sysAlloc); null on failure.
/// Top-down: under wine, bottom-up allocations land in the preloader's reserved low area, where
/// VirtualAlloc starts failing (ERROR_INVALID_PARAMETER) after about 4 GB of stacks.
pub fn sys_alloc(n: usize) -> *mut u8 {
    // SAFETY: a fresh region chosen by the system.
    unsafe { VirtualAlloc(0, n, MEM_COMMIT | MEM_RESERVE | MEM_TOP_DOWN, PAGE_READWRITE) }
}

/// sys_alloc at `hint` if that range is free, else where the system chooses (Go's sysReserve
/// with an arena hint).
pub fn sys_alloc_at(hint: usize, n: usize) -> *mut u8 {
    // SAFETY: a fresh region at hint; VirtualAlloc fails rather than touch a used range.
    let p = unsafe { VirtualAlloc(hint, n, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE) };
    if p.is_null() {
        sys_alloc(n)
    } else {
        p
    }
}

/// MEMORY_BASIC_INFORMATION (the same field list on 32 and 64 bits; 64-bit pads after
/// AllocationProtect, which repr(C) reproduces).
#[repr(C)]
#[derive(Default)]
struct MemoryBasicInformation {
    base_address: usize,
    allocation_base: usize,
    allocation_protect: u32,
    region_size: usize,
    state: u32,
    protect: u32,
    kind: u32,
}

/// Gives memory from sys_alloc back (Go's sysFree). Windows releases only whole allocations,
/// and the runtime also frees parts of them (alignment trims), so this decommits the range, then
/// releases the whole allocation once none of it is committed any more (no address space or,
/// under wine, Linux mapping is left behind).
///
/// # Safety
/// `[p, p+n)` must be memory the runtime owns and no longer uses.
pub unsafe fn sys_free(p: *mut u8, n: usize) {
    const MEM_RELEASE: u32 = 0x8000;
    // SAFETY: forwarded to the caller; VirtualQuery only reads the address space's bookkeeping.
    unsafe {
        VirtualFree(p, n, MEM_DECOMMIT);
        let mut mbi = MemoryBasicInformation::default();
        let sz = core::mem::size_of::<MemoryBasicInformation>();
        if VirtualQuery(p as usize, &mut mbi, sz) == 0 {
            return;
        }
        let base = mbi.allocation_base;
        let mut at = base;
        loop {
            if VirtualQuery(at, &mut mbi, sz) == 0 || mbi.allocation_base != base || mbi.region_size == 0 {
                break; // walked past the allocation: nothing in it is committed
            }
            if mbi.state == MEM_COMMIT {
                return; // still in use
            }
            at = mbi.base_address + mbi.region_size;
        }
        VirtualFree(base as *mut u8, 0, MEM_RELEASE);
    }
}

/// Turns `[p, p+n)` (the STACK_GUARD bytes below a stack) into its guard: the top page becomes a
/// PAGE_GUARD page, the pages under it stay committed and untouched (the overflow handler's room).
///
/// # Safety
/// The range must be runtime-owned memory nobody uses.
pub unsafe fn sys_guard(p: *mut u8, n: usize) -> bool {
    let page = phys_page_size();
    let mut old = 0u32;
    // SAFETY: forwarded to the caller.
    unsafe { VirtualProtect((p as usize + n - page) as *mut u8, page, PAGE_READWRITE | PAGE_GUARD, &mut old) != 0 }
}

/// Guards for a batch of fresh stack slots without spending mappings (linux's
/// MADV_GUARD_INSTALL): always false here, windows has no guard regions that cost nothing: each stack's PAGE_GUARD page is set by
/// sys_guard (its own VirtualProtect).
///
/// # Safety
/// As for sys_guard, for every slot (nothing is done here).
pub unsafe fn sys_guard_slots(_first: *mut u8, _stride: usize, _len: usize, _n: usize) -> bool {
    false
}

/// Tells the system the pages are unused; they read back as zero (Go's sysUnused).
///
/// VirtualFree and VirtualAlloc take pages of one allocation per call, and the heap's free spans
/// may run across two (arenas mapped one after another at the arena hint coalesce), so a range the
/// first decommit refuses is done region by region, each inside one allocation (Go's
/// sysUnusedOS retries in smaller pieces for the same reason).
///
/// # Safety
/// The range must be runtime-owned memory whose contents may be discarded.
pub unsafe fn sys_unused(p: *mut u8, n: usize) {
    // SAFETY: forwarded to the caller; decommit then commit yields zero pages.
    unsafe {
        if VirtualFree(p, n, MEM_DECOMMIT) != 0 {
            VirtualAlloc(p as usize, n, MEM_COMMIT, PAGE_READWRITE);
            return;
        }
        let (mut at, end) = (p as usize, p as usize + n);
        let mut mbi = MemoryBasicInformation::default();
        let sz = core::mem::size_of::<MemoryBasicInformation>();
        while at < end {
            if VirtualQuery(at, &mut mbi, sz) == 0 || mbi.region_size == 0 {
                crate::throw("sys_unused: VirtualQuery failed inside the heap");
            }
            let piece = (mbi.base_address + mbi.region_size).min(end) - at;
            VirtualFree(at as *mut u8, piece, MEM_DECOMMIT);
            VirtualAlloc(at, piece, MEM_COMMIT, PAGE_READWRITE);
            at += piece;
        }
    }
}

/// Advice for or against huge pages (Go's sysHugePage/sysNoHugePage). Windows has no
/// transparent huge pages (large pages need SeLockMemoryPrivilege and MEM_LARGE_PAGES at
/// allocation), so there is nothing to ask for: a no-op, as on darwin.
///
/// # Safety
/// The range must be runtime-owned memory.
pub unsafe fn sys_huge_pages(_p: *mut u8, _n: usize, _want: bool) {}

/// A PAGE_GUARD page under each chunk of 64 stacks (stack.rs): past the guard budget, an
/// overflow runs through the unguarded stacks below it (as on linux) but faults at the latest
/// there, with writable memory under SP, so the exception can be delivered and reported.
pub const STACK_CHUNK_FLOOR_GUARD: bool = true;

/// Bytes below each stack reserved as its guard (stack.rs): STACK_GUARD.
pub fn stack_guard_size() -> usize {
    STACK_GUARD
}

/// How many stacks get a guard page. Windows itself has no cap like vm.max_map_count: every
/// stack is guarded. Wine backs each guard page with a Linux mprotect that splits the mapping, so
/// under wine 100 000 guarded stacks exhaust the default 65530 mappings (mmap, dlopen and thread
/// creation then fail): there the budget is linux's default (a quarter of 65530) and later stacks
/// rely on the canary. (Windows cannot deliver an exception on a stack with no room left, so an
/// overflow of an unguarded stack that runs into unmapped memory kills the process silently.)
pub fn guard_page_budget() -> isize {
    if is_wine() {
        65530 / 4
    } else {
        isize::MAX / 2
    }
}

/// Whether we run under wine (its ntdll exports wine_get_version).
pub fn is_wine() -> bool {
    // SAFETY: constant NUL-terminated names; GetProcAddress only looks the symbol up.
    unsafe {
        let ntdll = GetModuleHandleA(c"ntdll.dll".as_ptr().cast());
        ntdll != 0 && GetProcAddress(ntdll, c"wine_get_version".as_ptr().cast()) != 0
    }
}

// --- threads (Go's newosproc) ---

/// Starts an OS thread for `mp` (Go's newosproc): CreateThread runs `tstart`, which moves onto
/// g0's stack `[.., stk_hi)` and calls mstart. The thread's own 64 KB stack is only its OS stack.
/// Returns 0 or -GetLastError().
///
/// # Safety
/// `mp` and its g0 must be fully initialised and live forever.
pub unsafe fn newosproc(mp: *mut crate::gmp::M, _stk_hi: usize) -> isize {
    const STACK_SIZE_PARAM_IS_A_RESERVATION: u32 = 0x10000;
    // SAFETY: tstart takes the M pointer; the M outlives the thread.
    unsafe {
        let start = tstart as *const () as usize;
        let h = CreateThread(0, 64 << 10, start, mp as usize, STACK_SIZE_PARAM_IS_A_RESERVATION, core::ptr::null_mut());
        if h == 0 {
            return -(GetLastError() as isize).max(1);
        }
        CloseHandle(h);
    }
    0
}

// --- exceptions (Go's signal_windows.go) ---

/// EXCEPTION_RECORD (64-bit layout).
#[repr(C)]
pub struct ExceptionRecord {
    code: u32,
    flags: u32,
    record: usize,
    address: usize,
    nparams: u32,
    info: [usize; 15],
}

/// EXCEPTION_POINTERS.
#[repr(C)]
pub struct ExceptionPointers {
    record: *mut ExceptionRecord,
    context: *mut u8,
}

const EXCEPTION_ACCESS_VIOLATION: u32 = 0xC000_0005;
const EXCEPTION_IN_PAGE_ERROR: u32 = 0xC000_0006;
const EXCEPTION_ILLEGAL_INSTRUCTION: u32 = 0xC000_001D;
const EXCEPTION_PRIV_INSTRUCTION: u32 = 0xC000_0096;
const EXCEPTION_INT_DIVIDE_BY_ZERO: u32 = 0xC000_0094;
const EXCEPTION_INT_OVERFLOW: u32 = 0xC000_0095;
const EXCEPTION_FLT_DIVIDE_BY_ZERO: u32 = 0xC000_008E;
const EXCEPTION_STACK_OVERFLOW: u32 = 0xC000_00FD;
const EXCEPTION_GUARD_PAGE: u32 = 0x8000_0001;
const EXCEPTION_DATATYPE_MISALIGNMENT: u32 = 0x8000_0002;
const EXCEPTION_BREAKPOINT: u32 = 0x8000_0003;
const EXCEPTION_CONTINUE_SEARCH: i32 = 0;
const EXCEPTION_CONTINUE_EXECUTION: i32 = -1;

/// What the handler hands to the report running on gsignal's stack.
struct Fault {
    gp: *mut crate::gmp::G,
    code: u32,
    info0: usize,
    addr: usize,
    pc: usize,
    sp: usize,
    overflow: bool,
    /// The faulting registers, for the report's frames.
    regs: crate::print::CurRegs,
}

/// The registers of the faulting code, from the handler's CONTEXT (none on windows/arm, which
/// has no unwinder).
///
/// # Safety
/// `ctx` is the CONTEXT the exception dispatcher passed to the handler.
#[cfg(gort_traceback)]
unsafe fn fault_regs(ctx: *const u8) -> crate::print::CurRegs {
    // SAFETY: as this function's contract.
    unsafe { crate::traceback::context_regs(ctx) }
}

/// See the other fault_regs: windows/arm keeps no registers.
///
/// # Safety
/// None: `ctx` is not read.
#[cfg(not(gort_traceback))]
unsafe fn fault_regs(_ctx: *const u8) -> crate::print::CurRegs {
    crate::print::CurRegs
}

/// Go's initsig for Windows: the first vectored exception handler reports gort's faults.
pub fn initsig() {
    // SAFETY: sigtramp has the PVECTORED_EXCEPTION_HANDLER signature.
    unsafe { AddVectoredExceptionHandler(1, sigtramp) };
}

/// The vectored exception handler (Go's exceptionhandler): a fault in a thread of ours is
/// reported like Go reports it, from gsignal's stack, and the process exits 2. Exceptions that
/// are not faults (debug output, thread naming, C++ throws) are left to others.
///
/// # Safety
/// Called by the exception dispatcher with valid pointers.
unsafe extern "system" fn sigtramp(ep: *mut ExceptionPointers) -> i32 {
    // SAFETY: the dispatcher passes a valid record and context.
    let (rec, ctx) = unsafe { (&*(*ep).record, (*ep).context) };
    // windows/arm64 resumes a preempted goroutine through an illegal instruction at a known
    // address (sys/windows/preempt_arm64.rs): not a fault. (Elsewhere resume_trap says no.)
    // SAFETY: ctx is this exception's CONTEXT, on this thread.
    if rec.code == EXCEPTION_ILLEGAL_INSTRUCTION && unsafe { crate::preempt::resume_trap(ctx) } {
        return EXCEPTION_CONTINUE_EXECUTION;
    }
    match rec.code {
        EXCEPTION_ACCESS_VIOLATION
        | EXCEPTION_IN_PAGE_ERROR
        | EXCEPTION_ILLEGAL_INSTRUCTION
        | EXCEPTION_PRIV_INSTRUCTION
        | EXCEPTION_INT_DIVIDE_BY_ZERO
        | EXCEPTION_INT_OVERFLOW
        | EXCEPTION_FLT_DIVIDE_BY_ZERO
        | EXCEPTION_STACK_OVERFLOW
        | EXCEPTION_GUARD_PAGE
        | EXCEPTION_DATATYPE_MISALIGNMENT
        | EXCEPTION_BREAKPOINT => {}
        _ => return EXCEPTION_CONTINUE_SEARCH,
    }
    let gp = getg();
    if gp.is_null() {
        return EXCEPTION_CONTINUE_SEARCH; // not a thread of ours
    }
    // SAFETY: ctx is the faulting CONTEXT.
    let (pc, sp) = unsafe { context_pc_sp(ctx) };
    let (info0, addr) = match rec.code {
        EXCEPTION_ACCESS_VIOLATION | EXCEPTION_IN_PAGE_ERROR | EXCEPTION_GUARD_PAGE if rec.nparams >= 2 => {
            (rec.info[0], rec.info[1])
        }
        _ => (0, 0),
    };
    // SAFETY: gp is the g that was running; its m and gsignal exist for every M.
    unsafe {
        let lo = (*gp).stack.lo;
        let overflow = rec.code == EXCEPTION_STACK_OVERFLOW
            || (lo != 0
                && matches!(rec.code, EXCEPTION_ACCESS_VIOLATION | EXCEPTION_GUARD_PAGE)
                && (sp < lo || (addr < lo && addr + STACK_GUARD >= lo)));
        let f = Fault { gp, code: rec.code, info0, addr, pc, sp, overflow, regs: fault_regs(ctx) };
        let gs = (*(*gp).m).gsignal;
        let (hi, slo) = ((*gs).stack.hi, (*gs).stack.lo);
        if (slo..hi).contains(&sp) {
            // A fault while reporting one: do not move onto gsignal's stack a second time.
            let _ =
                write_all(2, b"fatal error: unexpected exception while reporting a fault\n", super::WriteWait::Bounded);
            exit(2);
        }
        teb_set_stack(hi, slo, slo - STACK_GUARD);
        call_on_stack(sigpanic, &f as *const Fault as usize, hi)
    }
}

/// Prints the report for a fault (Go's sigpanic/winthrow wording) and exits 2. Runs on gsignal.
///
/// # Safety
/// `f` is the address of the handler's `Fault`, which stays alive (the handler never returns).
unsafe extern "C" fn sigpanic(f: usize) -> ! {
    use crate::print::Failure;
    // SAFETY: see above.
    let f = unsafe { &*(f as *const Fault) };
    if f.overflow {
        crate::overflow::stack_overflow_signal(f.gp, f.sp, f.regs);
    }
    // Not this g's overflow, but maybe another's (as signal_unix does): an unguarded stack that
    // overflowed past its canary writes into the stack below, whose goroutine can fault first
    // (returning through a trampled frame to address 0, say).
    if matches!(f.code, EXCEPTION_ACCESS_VIOLATION | EXCEPTION_GUARD_PAGE) {
        if let Some(over) = crate::overflow::find_overflowed_g() {
            crate::overflow::stack_overflow(over, 0);
        }
    }
    let head = match f.code {
        EXCEPTION_ACCESS_VIOLATION | EXCEPTION_IN_PAGE_ERROR | EXCEPTION_GUARD_PAGE => {
            "panic: runtime error: invalid memory address or nil pointer dereference"
        }
        EXCEPTION_INT_DIVIDE_BY_ZERO => "panic: runtime error: integer divide by zero",
        EXCEPTION_INT_OVERFLOW => "panic: runtime error: integer overflow",
        EXCEPTION_FLT_DIVIDE_BY_ZERO => "panic: runtime error: floating point error",
        _ => "fatal error: unexpected signal during runtime execution",
    };
    let kind = if head.starts_with("panic") { Failure::Panic } else { Failure::Throw };
    crate::print::die(
        kind,
        format_args!("{}\n[signal {:#x} code={:#x} addr={:#x} pc={:#x}]\n", head, f.code, f.info0, f.addr, f.pc),
        crate::print::Frames::Signal(f.regs),
    )
}

// --- args, minit ---

/// What sysargs found, for boottrace.
#[derive(Clone, Copy, Default, Debug)]
pub struct WinArgs {
    /// UTF-16 units of GetCommandLineW.
    pub cmdline_units: usize,
    /// UTF-16 units of GetEnvironmentStringsW.
    pub env_units: usize,
    /// Entries skipped from the environment block (the `=C:=C:\` drive entries).
    pub env_hidden: usize,
}

impl core::fmt::Display for WinArgs {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "GetCommandLineW: {} UTF-16 units, GetEnvironmentStringsW: {} units ({} '='-drive entries hidden), converted to WTF-8",
            self.cmdline_units, self.env_units, self.env_hidden
        )
    }
}

/// 16 bytes of startup entropy for alginit (Windows has no AT_RANDOM).
static RANDOM: crate::gmp::Global<[u64; 2]> = crate::gmp::Global::new([0; 2]);

/// Length of a NUL-terminated UTF-16 string.
///
/// # Safety
/// `p` must point at a NUL-terminated UTF-16 string.
unsafe fn wcslen(p: *const u16) -> usize {
    let mut n = 0;
    // SAFETY: stops at the terminator.
    while unsafe { *p.add(n) } != 0 {
        n += 1;
    }
    n
}

/// Go's sysargs for Windows: argv from GetCommandLineW split by the Windows rules, env from
/// GetEnvironmentStringsW, both converted to WTF-8 in one VirtualAlloc'd block laid out like a
/// Unix initial stack (argv pointers, NULL, envp pointers, NULL), which args::args then reads.
/// No heap yet: this runs before mallocinit.
///
/// # Safety
/// Called once, from args, on the boot thread.
pub unsafe fn sysargs(_argc: usize, _argv: *const *const u8) -> WinArgs {
    const EQ: u16 = b'=' as u16;
    // SAFETY: both calls return process-lifetime strings; the environment block is a series of
    // NUL-terminated strings ended by an empty one.
    unsafe {
        let cmd = GetCommandLineW();
        let cmd = core::slice::from_raw_parts(cmd, wcslen(cmd));
        let envblk = GetEnvironmentStringsW();
        let mut env_units = 0;
        let (mut envc, mut hidden) = (0usize, 0usize);
        if !envblk.is_null() {
            loop {
                let n = wcslen(envblk.add(env_units));
                if n == 0 {
                    break;
                }
                if *envblk.add(env_units) == EQ {
                    hidden += 1;
                } else {
                    envc += 1;
                }
                env_units += n + 1;
            }
        }
        let page = 4096;
        // Pass 1: count the arguments (into a scratch buffer from the same allocation).
        let scratch_bytes = (cmd.len() * 2 + 15) & !15;
        let scratch_mem = sys_alloc(scratch_bytes.max(page));
        if scratch_mem.is_null() {
            exit_msg(b"fatal error: sysargs: out of memory\n");
        }
        let scratch = core::slice::from_raw_parts_mut(scratch_mem as *mut u16, cmd.len());
        let mut argc = 0usize;
        winargs::split_command_line(cmd, scratch, |_| argc += 1);
        // Pass 2: one block with the pointer vectors and the WTF-8 strings.
        let words = argc + 1 + envc + 1 + 2;
        let bytes = words * core::mem::size_of::<usize>() + 3 * (cmd.len() + env_units) + argc + envc + 16;
        let blk = sys_alloc(bytes);
        if blk.is_null() {
            exit_msg(b"fatal error: sysargs: out of memory\n");
        }
        let vec = blk as *mut *const u8;
        let mut s = blk.add(words * core::mem::size_of::<usize>());
        let mut i = 0;
        winargs::split_command_line(cmd, scratch, |a| {
            *vec.add(i) = s;
            i += 1;
            winargs::wtf8_encode(a, |b| {
                *s = b;
                s = s.add(1);
            });
            *s = 0;
            s = s.add(1);
        });
        *vec.add(argc) = core::ptr::null();
        let mut off = 0;
        let mut j = argc + 1;
        if !envblk.is_null() {
            loop {
                let p = envblk.add(off);
                let n = wcslen(p);
                if n == 0 {
                    break;
                }
                off += n + 1;
                if *p == EQ {
                    continue;
                }
                *vec.add(j) = s;
                j += 1;
                winargs::wtf8_encode(core::slice::from_raw_parts(p, n), |b| {
                    *s = b;
                    s = s.add(1);
                });
                *s = 0;
                s = s.add(1);
            }
        }
        *vec.add(j) = core::ptr::null();
        sys_free(scratch_mem, scratch_bytes.max(page));
        crate::args::args(argc, vec as *const *const u8);

        // Startup entropy: the counter, the clock, ids and (ASLR) addresses, mixed.
        let mut c = 0i64;
        QueryPerformanceCounter(&mut c);
        let mut x = c as u64 ^ GetTickCount64().rotate_left(32) ^ ((GetCurrentProcessId() as u64) << 20);
        x ^= (blk as u64).rotate_left(17) ^ (&c as *const i64 as u64).rotate_left(41);
        x ^= (GetCurrentThreadId() as u64).rotate_left(7);
        let r = &mut *RANDOM.get();
        for w in r.iter_mut() {
            // splitmix64
            x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = x;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            *w = z ^ (z >> 31);
        }
        WinArgs { cmdline_units: cmd.len(), env_units, env_hidden: hidden }
    }
}

/// Writes `msg` to stderr and exits 2 (before the runtime can throw).
fn exit_msg(msg: &[u8]) -> ! {
    let _ = write_all(2, msg, super::WriteWait::Bounded);
    exit(2)
}

/// Address of 16 bytes of startup entropy (Windows' stand-in for AT_RANDOM).
pub fn startup_random() -> usize {
    RANDOM.get() as usize
}

/// Windows has no setuid-style secure mode: GODEBUG is always honoured.
pub fn secure_mode() -> bool {
    false
}

/// Windows threads have no signal mask; boottrace shows 0.
pub fn save_initsigmask() -> u64 {
    0
}

/// Go's minit for Windows: the thread id, a real handle of the thread and its TEB (asynchronous
/// preemption suspends the thread through the handle and reads its g from the TEB). (Faults are
/// dispatched on the faulting stack, so there is no signal stack to install; the handler moves
/// to gsignal's stack itself.)
pub fn minit(mp: *mut crate::gmp::M) {
    const DUPLICATE_SAME_ACCESS: u32 = 2;
    // SAFETY: mp is the calling thread's M; GetCurrentThread's pseudo-handle is turned into a
    // real one (valid from other threads) by DuplicateHandle, which writes only `h`.
    unsafe {
        (*mp).procid = gettid();
        (*mp).teb = teb();
        let mut h: Handle = 0;
        let me = GetCurrentProcess();
        if DuplicateHandle(me, GetCurrentThread(), me, &mut h, 0, 0, DUPLICATE_SAME_ACCESS) == 0 {
            h = 0; // no preemption of this M (preempt_thread skips a null handle)
        }
        (*mp).thread = h; // before the M runs goroutines: sysmon sees it through the M's P
    }
}

/// Closes a thread handle (preemption's, when its M exits).
///
/// # Safety
/// `h` is a handle nobody uses any more.
pub unsafe fn close_handle(h: usize) {
    // SAFETY: as the contract.
    unsafe { CloseHandle(h) };
}

/// CPU feature bits in AT_HWCAP/AT_HWCAP2 form: windows has no auxv, so none (Go asks
/// IsProcessorFeaturePresent there; gort does not yet).
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
pub fn hwcaps() -> (usize, usize) {
    (0, 0)
}

/// The kind of an OS error code (Win32 or Winsock error), for `gort::io::Error`.
pub fn error_kind(code: i32) -> crate::io::ErrorKind {
    use crate::io::ErrorKind as K;
    match code {
        1 => K::Unsupported,
        2 => K::NotFound,
        3 => K::NotFound,
        120 => K::Unsupported,
        5 => K::PermissionDenied,
        8 => K::OutOfMemory,
        14 => K::OutOfMemory,
        80 => K::AlreadyExists,
        183 => K::AlreadyExists,
        87 => K::InvalidInput,
        123 => K::InvalidInput,
        131 => K::InvalidInput,
        38 => K::UnexpectedEof,
        109 => K::BrokenPipe,
        232 => K::BrokenPipe,
        145 => K::DirectoryNotEmpty,
        267 => K::NotADirectory,
        50 => K::Unsupported,
        1460 => K::TimedOut,
        64 => K::ConnectionReset,
        1225 => K::ConnectionRefused,
        1236 => K::ConnectionAborted,
        1231 => K::NetworkUnreachable,
        1232 => K::HostUnreachable,
        10040 => K::InvalidData,
        10058 => K::BrokenPipe,
        11001 => K::NotFound,
        10004 => K::Interrupted,
        10013 => K::PermissionDenied,
        10022 => K::InvalidInput,
        10035 => K::WouldBlock,
        10048 => K::AddrInUse,
        10049 => K::AddrNotAvailable,
        10051 => K::NetworkUnreachable,
        10053 => K::ConnectionAborted,
        10054 => K::ConnectionReset,
        10057 => K::NotConnected,
        10060 => K::TimedOut,
        10061 => K::ConnectionRefused,
        10065 => K::HostUnreachable,
        _ => K::Other,
    }
}
