//! Goroutine stacks (Go's stack.go: stackinit, stackalloc, stackfree), designed for the mapping
//! budget (DESIGN.md "Stacks"): stacks are carved from large chunks, a freed stack goes back to a
//! free list (and gs keep theirs on gFree), so a million stacks cost a few thousand mappings.
//!
//! Overflow is loud either way: while `vm.max_map_count` allows, the page below each stack is a
//! guard page (PROT_NONE) and the SIGSEGV handler reports `fatal error: stack overflow`; past the
//! budget the page stays as an untouched gap and a canary word below it (the top word of the slot
//! underneath, a page that slot's own stack already touches, so the canary costs no extra
//! resident page) is checked at every switch away from the goroutine; an overflow that runs past
//! it faults further down with SP below the stack, which the SIGSEGV handler also reports.
//!
//! Slot layout inside a chunk: `[pad page][gap|guard][stack ... 16-byte top reserve]...`, the
//! guard being `os::stack_guard_size()` bytes (linux: one PROT_NONE page; windows: 16 KB whose top
//! page is a PAGE_GUARD page, room for the exception frame of an overflow);
//! the top reserve of each slot holds the canary of the slot above.

use core::sync::atomic::{AtomicIsize, AtomicUsize, Ordering};

use crate::lock_futex::Mutex;
use crate::runtime2::{Global, Stack};
use crate::sys as os;

/// Default usable size of a goroutine stack.
#[cfg(target_pointer_width = "64")]
pub const DEFAULT_STACK_SIZE: usize = 64 << 10;
/// Default usable size of a goroutine stack (32-bit: address space is scarce).
#[cfg(target_pointer_width = "32")]
pub const DEFAULT_STACK_SIZE: usize = 32 << 10;
/// Smallest stack size (GORT_STACK_SIZE or per spawn): one 4 KB page.
pub const MIN_STACK_SIZE: usize = 4 << 10;
/// Largest stack size (GORT_STACK_SIZE or per spawn).
pub const MAX_STACK_SIZE: usize = 256 << 20;
/// Number of stack size orders: MIN_STACK_SIZE << order for order in 0..ORDERS (4 KB .. 256 MB).
const ORDERS: usize = 17;
/// Most stacks per chunk mapping (fewer for big stacks: a chunk aims at CHUNK_BYTES).
const CHUNK_STACKS: usize = 64;
/// Target size of a chunk mapping for big stacks.
const CHUNK_BYTES: usize = 4 << 20;
/// The canary word written just below an unguarded stack's gap page.
pub const CANARY: usize = 0x5a17_c0de_5a17_c0de_u64 as usize;

static STACK_SIZE: AtomicUsize = AtomicUsize::new(DEFAULT_STACK_SIZE);
/// How many more guard pages we may create before relying on canaries.
static GUARD_BUDGET: AtomicIsize = AtomicIsize::new(0);
/// Number of stacks that have a guard page.
static GUARDED: AtomicUsize = AtomicUsize::new(0);
/// Stacks whose deep pages were given back to the OS (for boottrace and tests).
static SCAVENGED: AtomicUsize = AtomicUsize::new(0);

/// Free stacks and the unused tail of the current chunk, for one size order (Go's stackpool).
struct Pool {
    /// Free stacks: (slot base, guarded).
    free: alloc::vec::Vec<(usize, bool)>,
    /// Unused part of the current chunk.
    cur: usize,
    end: usize,
}

static POOL_LOCK: Mutex = Mutex::new();
#[allow(clippy::declare_interior_mutable_const)]
const EMPTY_POOL: Pool = Pool { free: alloc::vec::Vec::new(), cur: 0, end: 0 };
static POOLS: Global<[Pool; ORDERS]> = Global::new([EMPTY_POOL; ORDERS]);

/// Parses a stack size: decimal bytes with an optional k/K or m/M suffix.
pub fn parse_size(v: &[u8]) -> Option<usize> {
    let (digits, mul) = match v.last() {
        Some(b'k' | b'K') => (&v[..v.len() - 1], 1 << 10),
        Some(b'm' | b'M') => (&v[..v.len() - 1], 1 << 20),
        _ => (v, 1),
    };
    let n = crate::runtime1::atoi(digits)?;
    if n <= 0 {
        return None;
    }
    (n as usize).checked_mul(mul)
}

/// The stack size actually used for a request of `n` bytes: clamped to
/// [MIN_STACK_SIZE, MAX_STACK_SIZE] and rounded up to a power of two (one pool per size).
pub const fn round_size(n: usize) -> usize {
    let n = if n < MIN_STACK_SIZE {
        MIN_STACK_SIZE
    } else if n > MAX_STACK_SIZE {
        MAX_STACK_SIZE
    } else {
        n
    };
    n.next_power_of_two()
}

/// The pool order of a rounded size.
fn order(size: usize) -> usize {
    (size / MIN_STACK_SIZE).trailing_zeros() as usize
}

/// Go's stackinit: the stack size (GORT_STACK_SIZE, default DEFAULT_STACK_SIZE) and the guard
/// page budget the OS allows (Linux: a quarter of vm.max_map_count).
pub fn stackinit() {
    if let Some(n) = crate::runtime1::gogetenv_raw("GORT_STACK_SIZE").and_then(parse_size) {
        STACK_SIZE.store(round_size(n), Ordering::Relaxed);
    }
    GUARD_BUDGET.store(os::guard_page_budget(), Ordering::Relaxed);
}

/// The configured default goroutine stack size.
pub fn stack_size() -> usize {
    STACK_SIZE.load(Ordering::Relaxed)
}

/// Number of stacks with guard pages, and the remaining guard budget (for boottrace/bench).
pub fn guard_stats() -> (usize, isize) {
    (GUARDED.load(Ordering::Relaxed), GUARD_BUDGET.load(Ordering::Relaxed))
}

/// Number of times a dead goroutine's deep stack pages were given back to the OS.
pub fn scavenged() -> usize {
    SCAVENGED.load(Ordering::Relaxed)
}

/// Allocates a goroutine stack of `size` bytes (a value from round_size) (Go's stackalloc).
/// Returns the stack and whether a guard page protects it.
pub fn stackalloc(size: usize) -> (Stack, bool) {
    let page = os::phys_page_size();
    let guard = os::stack_guard_size();
    let slot = size + guard;
    POOL_LOCK.lock();
    // SAFETY: POOLS is only touched under POOL_LOCK.
    let pool = unsafe { &mut (*POOLS.get())[order(size)] };
    let (base, guarded) = if let Some(s) = pool.free.pop() {
        s
    } else {
        if pool.cur == pool.end {
            // Where the OS asks for it (windows), one guard page under the whole chunk: an
            // overflow of an unguarded stack then faults at the latest there, with memory below
            // SP to deliver the exception on (windows has no alternate signal stack).
            let floor = if os::STACK_CHUNK_FLOOR_GUARD { page } else { 0 };
            let n = (CHUNK_BYTES / slot).clamp(1, CHUNK_STACKS);
            let bytes = slot * n + page + floor;
            let chunk = os::sys_alloc(bytes);
            if chunk.is_null() {
                POOL_LOCK.unlock();
                crate::throw("out of memory allocating goroutine stacks");
            }
            // Stacks touch one or two pages each: a transparent huge page would make a
            // parked goroutine cost 2 MB of a chunk instead of 4 KB (Go's stacks are
            // likewise kept off huge pages).
            // SAFETY: our fresh mapping.
            unsafe { os::sys_huge_pages(chunk, bytes, false) };
            if floor != 0 {
                // SAFETY: the first page of our fresh chunk, used by nothing else.
                unsafe { os::sys_guard(chunk, floor) };
            }
            // The pad page below slot 0 holds slot 0's canary.
            pool.cur = chunk as usize + floor + page;
            pool.end = pool.cur + slot * n;
        }
        let base = pool.cur;
        pool.cur += slot;
        let guarded = GUARD_BUDGET.fetch_sub(1, Ordering::Relaxed) > 0
            // SAFETY: the page at base belongs to this fresh stack slot and is unused.
            && unsafe { os::sys_guard(base as *mut u8, guard) };
        if guarded {
            GUARDED.fetch_add(1, Ordering::Relaxed);
        }
        (base, guarded)
    };
    POOL_LOCK.unlock();
    let lo = base + guard;
    if !guarded {
        // SAFETY: base - 8 is the top-reserve word of the slot below (or the chunk's pad page).
        unsafe { ((base - 8) as *mut usize).write(CANARY) };
    }
    (Stack { lo, hi: lo + size - TOP_RESERVE }, guarded)
}

/// Returns a stack to its size's pool (Go's stackfree), giving its pages back to the OS.
pub fn stackfree(s: &Stack, guarded: bool) {
    let guard = os::stack_guard_size();
    let size = limit(s);
    // SAFETY: the stack is dead; everything below its top page (which holds the canary of the
    // slot above in its top reserve) may be discarded.
    unsafe { release_deep_pages(s) };
    POOL_LOCK.lock();
    // SAFETY: under POOL_LOCK.
    unsafe { (*POOLS.get())[order(size)].free.push((s.lo - guard, guarded)) };
    POOL_LOCK.unlock();
}

/// Go's stack scavenging, for a dead goroutine's stack that stays attached to its g on a free
/// list: if the stack was ever used below its top page, the pages below are given back to the
/// OS (they read back as zero when reused). Whether it was used is read from the page below the
/// top page: an untouched page reads as zero (the kernel's shared zero page, so the read costs
/// no memory), a used one holds at least a return address. Returns whether pages were released.
///
/// # Safety
/// `s` must be the stack of a dead goroutine that nothing runs on.
pub unsafe fn scavenge(s: &Stack) -> bool {
    let page = os::phys_page_size();
    let top_page = (s.hi + TOP_RESERVE - 1) & !(page - 1);
    if top_page <= s.lo {
        return false; // a one-page stack
    }
    let w = core::mem::size_of::<usize>();
    // SAFETY: the page below top_page is inside the stack (a stack of two or more pages),
    // mapped read-write.
    let used = (1..=page / w).any(|i| unsafe { ((top_page - i * w) as *const usize).read_volatile() } != 0);
    if used {
        // SAFETY: forwarded to the caller.
        unsafe { release_deep_pages(s) };
    }
    used
}

/// madvise(DONTNEED) on every page of `s` below its top page.
///
/// # Safety
/// As for scavenge.
unsafe fn release_deep_pages(s: &Stack) {
    let page = os::phys_page_size();
    let top_page = (s.hi + TOP_RESERVE - 1) & !(page - 1);
    if top_page > s.lo {
        // SAFETY: [lo, top_page) is whole pages of this dead stack.
        unsafe { os::sys_unused(s.lo as *mut u8, top_page - s.lo) };
        SCAVENGED.fetch_add(1, Ordering::Relaxed);
    }
}

/// Bytes at the top of each slot kept for the canary of the slot above (16: keeps hi aligned).
const TOP_RESERVE: usize = 16;

/// Whether the stack's canary is intact (guarded stacks have none: their guard page faults).
pub fn canary_ok(s: &Stack, guarded: bool) -> bool {
    if guarded {
        return true;
    }
    let base = s.lo - os::stack_guard_size();
    // SAFETY: base - 8 is the canary word written by stackalloc, in memory the pool owns.
    unsafe { ((base - 8) as *const usize).read_volatile() == CANARY }
}

/// The stack limit as configured (what overflow messages report).
pub fn limit(s: &Stack) -> usize {
    s.hi - s.lo + TOP_RESERVE
}

/// Allocates a system stack (g0 or signal stack) with a guard page: returns [lo, hi).
pub fn sysstack(size: usize) -> Stack {
    let guard = os::stack_guard_size();
    let p = os::sys_alloc(size + guard);
    if p.is_null() {
        crate::throw("out of memory allocating a thread stack");
    }
    // SAFETY: the first bytes of our fresh mapping.
    unsafe { os::sys_guard(p, guard) };
    Stack { lo: p as usize + guard, hi: p as usize + guard + size }
}

#[cfg(test)]
mod tests {
    use super::parse_size;

    #[test]
    fn sizes() {
        assert_eq!(parse_size(b"65536"), Some(65536));
        assert_eq!(parse_size(b"16k"), Some(16384));
        assert_eq!(parse_size(b"2M"), Some(2 << 20));
        assert_eq!(parse_size(b"0"), None);
        assert_eq!(parse_size(b"-4k"), None);
        assert_eq!(parse_size(b"k"), None);
        assert_eq!(parse_size(b"12x"), None);
    }

    #[test]
    fn rounding_and_orders() {
        use super::{order, round_size, MAX_STACK_SIZE, MIN_STACK_SIZE, ORDERS};
        assert_eq!(round_size(0), MIN_STACK_SIZE);
        assert_eq!(round_size(4097), 8192);
        assert_eq!(round_size(65536), 65536);
        assert_eq!(round_size(usize::MAX), MAX_STACK_SIZE);
        assert_eq!(order(MIN_STACK_SIZE), 0);
        assert_eq!(order(MAX_STACK_SIZE), ORDERS - 1);
    }
}
