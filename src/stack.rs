//! Goroutine stacks (Go's stack.go: stackinit, stackalloc, stackfree), designed for the mapping
//! budget: stacks are carved from large chunks, a freed stack goes back to a
//! free list (and gs keep theirs on gFree), so a million stacks cost a few thousand mappings.
//!
//! Overflow is loud either way: the page below each stack is a guard page and the SIGSEGV
//! handler reports `fatal error: stack overflow`. On linux 6.13+ the guards are guard regions
//! (MADV_GUARD_INSTALL, `os::sys_guard_slots`): installed for all the slots of a fresh chunk at
//! once (one process_madvise per chunk on 6.15+), they split no mapping and so cost no budget:
//! every stack is guarded. Elsewhere (older kernels, qemu-user, darwin, windows, or
//! GORT_STACK_GUARD=mprotect) each fresh slot gets its guard from `os::sys_guard` (mprotect: one
//! call and two mappings more) while `vm.max_map_count` allows; either way a guard stays with its
//! slot across reuse. Past the budget the page stays as an untouched gap and a canary word
//! below it (the top word of the slot underneath, a page that slot's own stack already touches,
//! so the canary costs no extra resident page) is checked at every switch away from the
//! goroutine; an overflow that runs past it faults further down with SP below the stack, which
//! the SIGSEGV handler also reports.
//!
//! Slot layout inside a chunk, for stacks of a page or more:
//! `[floor][pad page][gap|guard][stack ... 16-byte top reserve]...`, the guard being
//! `os::stack_guard_size()` bytes (linux: one page, 16 KB on arm; windows: 16 KB whose top page
//! is a PAGE_GUARD page, room for the exception frame of an overflow), the floor a PAGE_GUARD
//! page on windows only (`os::STACK_CHUNK_FLOOR_GUARD`).
//!
//! Stacks smaller than a page (2 KB on unix; windows keeps 4 KB, see MIN_STACK_SIZE) cannot have
//! a guard page or a gap of their own: they are packed back to back,
//! `[floor page][pad: one slot][stack ... top reserve][stack ... top reserve]...`, and rely on the
//! canary alone; the floor page is a guard (a guard region where the kernel has them, always;
//! else PROT_NONE while the guard budget lasts, one per chunk), so an unbounded overflow stops at
//! the bottom of its chunk instead of running into other mappings.
//!
//! Chunks are carved from 64 MB regions (16 MB on 32-bit) whose lowest page is PROT_NONE
//! (`STACK_REGION`; windows instead maps each chunk with a floor guard of its own): an overflow
//! that runs past every canary tramples only stacks and faults at the region's floor at the
//! latest, never reaching the heap or other mappings.
//!
//! In both layouts the top reserve of each slot holds the canary of the slot above, and stackalloc
//! fills the allocated slot's own top reserve with CANARY too (the same words, the same
//! value: whichever of the two slots is allocated first writes it, neither ever erases it). The
//! scheduler reads it before running a goroutine (`top_ok`): a broken top word means the stack
//! above overflowed into this one, whose frames must then never run (overflow.rs `check_stack_run`).

use core::sync::atomic::{AtomicBool, AtomicIsize, AtomicUsize, Ordering};

use crate::gmp::Stack;
use crate::lock_futex::Mutex;
use crate::sys as os;

/// Default usable size of a goroutine stack.
#[cfg(target_pointer_width = "64")]
pub const DEFAULT_STACK_SIZE: usize = 64 << 10;
/// Default usable size of a goroutine stack (32-bit: address space is scarce).
#[cfg(target_pointer_width = "32")]
pub const DEFAULT_STACK_SIZE: usize = 32 << 10;
/// Smallest stack size (GORT_STACK_SIZE or per spawn): 2 KB, packed below a page with no guard
/// (see the module comment).
#[cfg(not(windows))]
pub const MIN_STACK_SIZE: usize = 2 << 10;
/// Smallest stack size on windows: one 4 KB page. Sub-page stacks are not safe there: before the
/// vectored handler runs, exception dispatch pushes a CONTEXT record (~1.5 KB) and more onto the
/// faulting stack, which on a packed 2 KB stack would land in the neighbour's frames.
#[cfg(windows)]
pub const MIN_STACK_SIZE: usize = 4 << 10;
/// Largest stack size (GORT_STACK_SIZE or per spawn).
pub const MAX_STACK_SIZE: usize = 256 << 20;
/// Number of stack size orders: MIN_STACK_SIZE << order for order in 0..ORDERS (2 KB or 4 KB ..
/// 256 MB).
const ORDERS: usize = (MAX_STACK_SIZE / MIN_STACK_SIZE).trailing_zeros() as usize + 1;
/// Most stacks per chunk mapping (fewer for big stacks: a chunk aims at CHUNK_BYTES).
const CHUNK_STACKS: usize = 64;
/// Target size of a chunk mapping for big stacks.
const CHUNK_BYTES: usize = 4 << 20;
/// The canary word written just below an unguarded stack's gap page.
pub const CANARY: usize = 0x5a17_c0de_5a17_c0de_u64 as usize;

static STACK_SIZE: AtomicUsize = AtomicUsize::new(DEFAULT_STACK_SIZE);
/// How many more guard pages we may create before relying on canaries (read at first use:
/// `budget_read`).
static GUARD_BUDGET: AtomicIsize = AtomicIsize::new(0);
/// Whether GUARD_BUDGET holds the OS's budget yet.
static BUDGET_READ: AtomicBool = AtomicBool::new(false);
/// Number of stacks that have a guard page.
static GUARDED: AtomicUsize = AtomicUsize::new(0);
/// Whether fresh chunks try `os::sys_guard_slots` (guards for all their slots at once, outside
/// the budget); GORT_STACK_GUARD=mprotect turns it off (one sys_guard per slot, within the
/// budget: how every kernel without guard regions works, kept testable on those that have them).
static GUARD_SLOTS: AtomicBool = AtomicBool::new(true);
/// Stacks whose deep pages were given back to the OS (for boottrace and tests).
static SCAVENGED: AtomicUsize = AtomicUsize::new(0);

/// A pool's free stacks, (slot base, guarded): a stack of them like a `Vec`, but all zeros when
/// empty, so that `POOLS` lies in .bss (`Vec::new()` holds a dangling non-null pointer: with one
/// per pool, POOLS was 888 bytes of every program's file; issue 22).
struct FreeSlots {
    /// The array (null until the first push), `cap` entries, the first `len` in use.
    ptr: *mut (usize, bool),
    len: usize,
    cap: usize,
}

// SAFETY: FreeSlots owns its array outright (as a Vec<(usize, bool)>, which is Send); the
// pointer is never shared.
unsafe impl Send for FreeSlots {}

impl FreeSlots {
    const fn new() -> Self {
        FreeSlots { ptr: core::ptr::null_mut(), len: 0, cap: 0 }
    }

    fn layout(cap: usize) -> core::alloc::Layout {
        core::alloc::Layout::array::<(usize, bool)>(cap)
            .unwrap_or_else(|_| crate::throw("stack pool: too many free stacks"))
    }

    fn push(&mut self, v: (usize, bool)) {
        if self.len == self.cap {
            let cap = (self.cap * 2).max(16);
            let new = Self::layout(cap);
            let p = if self.ptr.is_null() {
                // SAFETY: a non-zero size (cap ≥ 16).
                unsafe { alloc::alloc::alloc(new) }
            } else {
                // SAFETY: ptr was allocated with the layout of `self.cap` entries, and the new
                // size is non-zero.
                unsafe { alloc::alloc::realloc(self.ptr.cast(), Self::layout(self.cap), new.size()) }
            };
            if p.is_null() {
                alloc::alloc::handle_alloc_error(new);
            }
            self.ptr = p.cast();
            self.cap = cap;
        }
        // SAFETY: len < cap: inside the array.
        unsafe { self.ptr.add(self.len).write(v) };
        self.len += 1;
    }

    fn pop(&mut self) -> Option<(usize, bool)> {
        self.len = self.len.checked_sub(1)?;
        // SAFETY: the entry at the old len - 1 was written by push.
        Some(unsafe { self.ptr.add(self.len).read() })
    }
}

/// Free stacks and the unused tail of the current chunk, for one size order (Go's stackpool).
struct Pool {
    /// Free stacks: (slot base, guarded).
    free: FreeSlots,
    /// Unused part of the current chunk.
    cur: usize,
    end: usize,
    /// Whether the current chunk's slots get their guards from `os::sys_guard_slots` (guard
    /// regions, in batches); if not, each slot is guarded by `os::sys_guard` as it is first
    /// handed out.
    cur_slots: bool,
    /// The slots of the current chunk below this address have their guard regions.
    guarded_end: usize,
    /// The next `sys_guard_slots` batch covers `1 << batch_shift` slots (at most the chunk's
    /// rest): 1 for a pool's first stack, doubling up to a whole chunk, so a program that starts
    /// one goroutine pays for one guard (a hello's startup installed 59 it never used: one
    /// process_madvise of 59 ranges, each needing its page-table entry), and one that spawns
    /// many pays one call per chunk as before. A shift, not a count, so that an empty pool is
    /// all zeros and POOLS stays in `.bss` (a 1 there made it 1.2 KB of file bytes).
    batch_shift: u32,
}

/// Address space reserved at a time for stack chunks where the OS puts no floor guard under each
/// chunk (linux, darwin): chunks are carved from a region whose lowest page is PROT_NONE, so an
/// overflow that runs down through unguarded stacks tramples only other stacks (whose top words
/// then stop them from running) and faults at the region's floor at the latest: it never reaches
/// the heap's arenas or metadata, or any other mapping below. A region costs two mappings.
#[cfg(target_pointer_width = "64")]
const STACK_REGION: usize = 64 << 20;
#[cfg(target_pointer_width = "32")]
const STACK_REGION: usize = 16 << 20;

/// The unused part of the current stack region.
struct Region {
    cur: usize,
    end: usize,
}

/// Maps a chunk of `bytes` (whole pages) for stacks: on windows a mapping of its own (it gets a
/// floor guard), elsewhere the next `bytes` of the current stack region `r`. Null if out of
/// memory.
fn chunk_alloc(r: &mut Region, bytes: usize) -> *mut u8 {
    if os::STACK_CHUNK_FLOOR_GUARD {
        let chunk = os::sys_alloc(bytes);
        if !chunk.is_null() {
            // SAFETY: our fresh mapping.
            unsafe { os::sys_huge_pages(chunk, bytes, false) };
        }
        return chunk;
    }
    if r.end - r.cur < bytes && !region_map(r, bytes) {
        return core::ptr::null_mut();
    }
    let c = r.cur;
    r.cur += bytes;
    c as *mut u8
}

/// Maps a new stack region with room for `bytes` above its floor page into `r` (the rest of
/// the old one is left unused). False if out of memory.
fn region_map(r: &mut Region, bytes: usize) -> bool {
    let page = os::phys_page_size();
    let size = (bytes + page).max(STACK_REGION);
    let p = os::sys_alloc(size);
    if p.is_null() {
        return false;
    }
    // SAFETY: our fresh mapping. Stacks touch one or two pages each: a transparent huge page
    // would make a parked goroutine cost 2 MB instead of 4 KB (Go's stacks are kept off huge
    // pages too). The floor page: see STACK_REGION (one mapping split, always paid).
    unsafe {
        os::sys_huge_pages(p, size, false);
        os::sys_guard(p, page);
    }
    r.cur = p as usize + page;
    r.end = p as usize + size;
    true
}

/// A thread's stack of `size` bytes (whole pages) for the first caller while no stack region
/// is mapped yet (m0's signal stack: mpreinit runs before any goroutine has a stack): the
/// lowest bytes of the first region, right above its floor page, which is the stack's guard.
/// A mapping and a guard page of its own were two system calls and a mapping split at every
/// startup (issue 22). Stacks of goroutines are carved above it; an overflow running down
/// through unguarded (packed) stacks reaches this one before the floor: harmless while no
/// signal is being handled on m0 (the stack holds nothing then), and the report is a fault at
/// the floor as before. Every other caller, and windows (no stack region: every chunk is a
/// mapping with its own floor guard), gets `sysstack`'s own guarded mapping.
pub fn sysstack_at_region_floor(size: usize) -> Stack {
    if !os::STACK_CHUNK_FLOOR_GUARD {
        let mut pools = POOLS.lock();
        let r = &mut pools.region;
        if r.end == 0 && region_map(r, size) {
            let lo = r.cur;
            r.cur += size;
            return Stack { lo, hi: lo + size };
        }
    }
    sysstack(size)
}

#[allow(clippy::declare_interior_mutable_const)]
const EMPTY_POOL: Pool =
    Pool { free: FreeSlots::new(), cur: 0, end: 0, cur_slots: false, guarded_end: 0, batch_shift: 0 };

/// Every size's pool and the stack region they carve chunks from (Go's stackpool and its lock).
struct Pools {
    by_order: [Pool; ORDERS],
    region: Region,
}

static POOLS: Mutex<Pools> = Mutex::new(Pools { by_order: [EMPTY_POOL; ORDERS], region: Region { cur: 0, end: 0 } });

/// Parses a stack size: decimal bytes with an optional k/K or m/M suffix.
pub fn parse_size(v: &[u8]) -> Option<usize> {
    let (digits, mul) = match v.last() {
        Some(b'k' | b'K') => (&v[..v.len() - 1], 1 << 10),
        Some(b'm' | b'M') => (&v[..v.len() - 1], 1 << 20),
        _ => (v, 1),
    };
    let n = crate::args::atoi(digits)?;
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
    if let Some(n) = crate::args::gogetenv_raw("GORT_STACK_SIZE").and_then(parse_size) {
        STACK_SIZE.store(round_size(n), Ordering::Relaxed);
    }
    // Ignored in secure mode (setuid-like, as GODEBUG): it can only take guards away.
    if crate::args::gogetenv_raw("GORT_STACK_GUARD") == Some(b"mprotect") && !os::secure_mode() {
        GUARD_SLOTS.store(false, Ordering::Relaxed);
    }
}

/// The configured default goroutine stack size.
pub fn stack_size() -> usize {
    STACK_SIZE.load(Ordering::Relaxed)
}

/// Number of stacks with guard pages, and the remaining guard budget (for boottrace/bench).
pub fn guard_stats() -> (usize, isize) {
    let _pools = POOLS.lock();
    budget_read();
    (GUARDED.load(Ordering::Relaxed), GUARD_BUDGET.load(Ordering::Relaxed))
}

/// Reads the guard page budget from the OS at its first use (linux: vm.max_map_count, a file:
/// three system calls a program whose stacks all get guard regions never makes). Called with
/// POOLS locked, which orders the store before every use.
fn budget_read() {
    if !BUDGET_READ.load(Ordering::Relaxed) {
        budget_read_now();
    }
}

/// budget_read's first call, out of line (the file read is not inlined into stackalloc).
#[cold]
#[inline(never)]
fn budget_read_now() {
    GUARD_BUDGET.store(os::guard_page_budget(), Ordering::Relaxed);
    BUDGET_READ.store(true, Ordering::Relaxed);
}

/// Takes one guard page from the budget, false when it is spent. Called with POOLS locked.
fn take_guard_budget() -> bool {
    budget_read();
    GUARD_BUDGET.fetch_sub(1, Ordering::Relaxed) > 0
}

#[cfg(feature = "testing")]
/// Number of times a dead goroutine's deep stack pages were given back to the OS.
pub fn scavenged() -> usize {
    SCAVENGED.load(Ordering::Relaxed)
}

#[cfg(feature = "testing")]
/// The bounds `[lo, hi)` of the running goroutine's stack (hi: below the 16-byte top reserve),
/// for tests and tools that check stack use and layout.
pub fn current_bounds() -> (usize, usize) {
    let gp = crate::arch::getg();
    // SAFETY: gp is the running g (a goroutine or g0), whose stack bounds are set.
    unsafe { ((*gp).stack.lo, (*gp).stack.hi) }
}

/// Whether stacks of `size` bytes are packed back to back with no guard page or gap: stacks
/// smaller than a page (a guard or a gap is a whole page).
const fn is_packed(size: usize, page: usize) -> bool {
    size < page
}

/// Where the slots of one chunk of stacks lie (pure arithmetic; see the module comment).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ChunkLayout {
    /// Bytes from one slot to the next: guard (or gap) + stack, or the stack alone when packed.
    slot: usize,
    /// Bytes of each slot below its stack (the guard or gap): 0 when packed.
    guard: usize,
    /// Bytes at the bottom of the chunk that are a guard page under the whole chunk (0: none).
    floor: usize,
    /// Offset of slot 0 from the chunk's start: floor + the pad that holds slot 0's canary.
    first: usize,
    /// Slots per chunk.
    n: usize,
    /// Bytes of the chunk mapping (whole pages).
    bytes: usize,
}

/// The chunk layout for stacks of `size` bytes (a round_size value) with pages of `page` bytes,
/// `guard` bytes of guard per unpacked stack, and whether the OS wants a floor guard under every
/// chunk (windows).
const fn chunk_layout(size: usize, page: usize, guard: usize, floor_guard: bool) -> ChunkLayout {
    if is_packed(size, page) {
        // [floor page][pad][n slots]: the pad is one slot (it holds slot 0's canary in its top
        // word) and pad + slots fill whole pages. size divides page (both powers of two), so no
        // slot straddles a page.
        let data = (CHUNK_STACKS * size).next_multiple_of(page);
        ChunkLayout { slot: size, guard: 0, floor: page, first: page + size, n: data / size - 1, bytes: page + data }
    } else {
        let slot = size + guard;
        let n = {
            let n = CHUNK_BYTES / slot;
            if n < 1 {
                1
            } else if n > CHUNK_STACKS {
                CHUNK_STACKS
            } else {
                n
            }
        };
        let floor = if floor_guard { page } else { 0 };
        // The pad page below slot 0 holds slot 0's canary.
        ChunkLayout { slot, guard, floor, first: floor + page, n, bytes: floor + page + slot * n }
    }
}

/// Bytes of a stack's slot below the stack itself (its guard or gap page): 0 when packed.
fn slot_guard(size: usize) -> usize {
    if is_packed(size, os::phys_page_size()) {
        0
    } else {
        os::stack_guard_size()
    }
}

/// Words in a top reserve: the canary is all of them (2 on 64-bit, 4 on 32-bit targets).
const CANARY_WORDS: usize = TOP_RESERVE / core::mem::size_of::<usize>();

/// Fills the top reserve at `addr` with CANARY.
///
/// # Safety
/// `addr` must be the start of the 16-byte top reserve of a stack slot (or of a chunk's pad),
/// memory the pool owns and no goroutine's frames cover.
unsafe fn set_canary(addr: usize) {
    let words = addr as *const AtomicUsize;
    for i in 0..CANARY_WORDS {
        // SAFETY: per the contract; atomic because another M may read the same words at once (the
        // canary check of the slot above, or the top check of the slot below), always seeing
        // CANARY.
        unsafe { (*words.add(i)).store(CANARY, Ordering::Relaxed) }
    }
}

/// Whether the top reserve at `addr` still holds CANARY in every word. Every word, not one: an
/// overflowing frame may leave a word or two unwritten (padding, an uninitialised local), and a
/// canary that sits in such a hole would miss the overflow.
///
/// # Safety
/// As for set_canary.
unsafe fn canary_at(addr: usize) -> bool {
    let words = addr as *const AtomicUsize;
    // SAFETY: per the contract. An overflowing goroutine may be writing the words with plain
    // stores; whatever is read, a value other than CANARY is reported, never trusted.
    (0..CANARY_WORDS).all(|i| unsafe { (*words.add(i)).load(Ordering::Relaxed) } == CANARY)
}

/// Allocates a goroutine stack of `size` bytes (a value from round_size) (Go's stackalloc).
/// Returns the stack and whether a guard page protects it.
pub fn stackalloc(size: usize) -> (Stack, bool) {
    let page = os::phys_page_size();
    let l = chunk_layout(size, page, os::stack_guard_size(), os::STACK_CHUNK_FLOOR_GUARD);
    let mut pools = POOLS.lock();
    let Pools { by_order, region } = &mut *pools;
    let pool = &mut by_order[order(size)];
    let (base, guarded) = if let Some(s) = pool.free.pop() {
        s
    } else {
        if pool.cur == pool.end {
            let chunk = chunk_alloc(region, l.bytes);
            if chunk.is_null() {
                drop(pools);
                crate::throw("out of memory allocating goroutine stacks");
            }
            // Where the OS asks for it (windows), one guard page under the whole chunk: an
            // overflow of an unguarded stack then faults at the latest there, with memory below
            // SP to deliver the exception on (windows has no alternate signal stack). Packed
            // chunks (no guard per stack) get one too while the guard budget lasts: an overflow
            // then stops at the bottom of its chunk instead of running on into other mappings.
            // A guard region (linux 6.13+, sys_guard_slots) costs no budget.
            let floor_region = l.floor != 0
                && !os::STACK_CHUNK_FLOOR_GUARD
                && GUARD_SLOTS.load(Ordering::Relaxed)
                // SAFETY: the first page of our fresh chunk, used by nothing else.
                && unsafe { os::sys_guard_slots(chunk, l.floor, l.floor, 1) };
            if l.floor != 0 && !floor_region && (os::STACK_CHUNK_FLOOR_GUARD || take_guard_budget()) {
                // SAFETY: the first page of our fresh chunk, used by nothing else.
                unsafe { os::sys_guard(chunk, l.floor) };
            }
            pool.cur = chunk as usize + l.first;
            pool.end = pool.cur + l.slot * l.n;
            // The chunk's guards in batches where the OS can (linux 6.13+: guard regions, one
            // call per batch on 6.15+, no mapping split, so no budget): mprotect per slot cost
            // one call and two mappings per fresh stack (issue #22).
            pool.cur_slots = l.guard != 0 && GUARD_SLOTS.load(Ordering::Relaxed);
            pool.guarded_end = pool.cur;
        }
        let base = pool.cur;
        pool.cur += l.slot;
        if pool.cur_slots && base >= pool.guarded_end {
            let k = (1usize << pool.batch_shift).min((pool.end - base) / l.slot);
            // SAFETY: slots of our current chunk that nobody has used yet (base and the ones
            // above it up to end); each slot's guard is its lowest l.guard bytes, whole pages.
            if unsafe { os::sys_guard_slots(base as *mut u8, l.slot, l.guard, k) } {
                pool.guarded_end = base + k * l.slot;
                if 1usize << pool.batch_shift < l.n {
                    pool.batch_shift += 1;
                }
            } else {
                pool.cur_slots = false; // this slot and the rest: sys_guard
            }
        }
        let guarded = pool.cur_slots && base < pool.guarded_end
            || l.guard != 0
            && take_guard_budget()
            // SAFETY: the page at base belongs to this fresh stack slot and is unused.
            && unsafe { os::sys_guard(base as *mut u8, l.guard) };
        if guarded {
            GUARDED.fetch_add(1, Ordering::Relaxed);
        }
        (base, guarded)
    };
    drop(pools);
    let lo = base + l.guard;
    let s = Stack { lo, hi: lo + size - TOP_RESERVE };
    // SAFETY: canary_word_of(base) is the top reserve of the slot below (or the top of the chunk's
    // pad), and top_word(&s) this slot's own: memory of this pool that no stack's frames cover.
    unsafe {
        if !guarded {
            set_canary(canary_word_of(base));
        }
        set_canary(top_word(&s));
    }
    (s, guarded)
}

/// Returns a stack to its size's pool (Go's stackfree), giving its pages back to the OS.
pub fn stackfree(s: &Stack, guarded: bool) {
    let size = limit(s);
    // SAFETY: the stack is dead; everything below its top page (which holds the canary of the
    // slot above in its top reserve) may be discarded.
    unsafe { release_deep_pages(s) };
    POOLS.lock().by_order[order(size)].free.push((s.lo - slot_guard(size), guarded));
}

/// The whole pages of a stack `[lo, top)` (top = hi + TOP_RESERVE) that may be given back to
/// the OS when it is dead: every page that lies entirely inside the stack, except the top page
/// (its top reserve holds the canary of the slot above and the stack's own top word). None if
/// there is no such page, which is always the case for a packed stack (smaller than a page, it
/// shares its page with its neighbours, whose frames must not be zeroed).
const fn deep_pages(lo: usize, top: usize, page: usize) -> Option<(usize, usize)> {
    let start = lo.next_multiple_of(page);
    let top_page = (top - 1) & !(page - 1);
    if top_page > start {
        Some((start, top_page - start))
    } else {
        None
    }
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
    let Some((start, len)) = deep_pages(s.lo, s.hi + TOP_RESERVE, page) else {
        return false; // a one-page or packed stack
    };
    let below_top = start + len;
    let w = core::mem::size_of::<usize>();
    // SAFETY: the page below below_top is inside the stack (deep_pages found it), mapped
    // read-write.
    let used = (1..=page / w).any(|i| unsafe { ((below_top - i * w) as *const usize).read_volatile() } != 0);
    if used {
        // SAFETY: forwarded to the caller.
        unsafe { release_deep_pages(s) };
    }
    used
}

/// madvise(DONTNEED) on every page of `s` below its top page (deep_pages).
///
/// # Safety
/// As for scavenge.
unsafe fn release_deep_pages(s: &Stack) {
    if let Some((start, len)) = deep_pages(s.lo, s.hi + TOP_RESERVE, os::phys_page_size()) {
        // SAFETY: [start, start + len) is whole pages inside this dead stack, shared with no
        // other slot (deep_pages).
        unsafe { os::sys_unused(start as *mut u8, len) };
        SCAVENGED.fetch_add(1, Ordering::Relaxed);
    }
}

/// Bytes at the top of each slot kept for the canary of the slot above (16: keeps hi aligned):
/// the canary of a slot is the whole top reserve of the slot below, `[base - 16, base)`.
const TOP_RESERVE: usize = 16;

/// The stack's own top reserve (its address): the canary of the slot above, written by
/// stackalloc.
pub fn top_word(s: &Stack) -> usize {
    top_word_of(s.hi)
}

/// The top reserve of a stack whose hi is `hi`: right above hi.
const fn top_word_of(hi: usize) -> usize {
    hi
}

/// The canary of the slot whose base (start of its guard, gap or packed stack) is `base`: the
/// top reserve of the slot below.
const fn canary_word_of(base: usize) -> usize {
    base - TOP_RESERVE
}

/// Where the canary of an unguarded stack lies: the top reserve of the slot below.
pub fn canary_word(s: &Stack) -> usize {
    canary_word_of(s.lo - slot_guard(limit(s)))
}

/// Whether the stack's canary is intact (guarded stacks have none: their guard page faults).
pub fn canary_ok(s: &Stack, guarded: bool) -> bool {
    if guarded {
        return true;
    }
    // SAFETY: the canary written by stackalloc, in memory the pool owns.
    unsafe { canary_at(canary_word(s)) }
}

/// Whether the stack's own top word is intact: if not, the stack above it overflowed into it
/// (that stack's canary is this word). Any stack from stackalloc, guarded or not.
pub fn top_ok(s: &Stack) -> bool {
    // SAFETY: this stack's top reserve, written by stackalloc.
    unsafe { canary_at(top_word(s)) }
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

    /// FreeSlots is a LIFO stack that keeps its entries across growth (16, 32, 64, ...).
    #[test]
    fn free_slots_lifo_across_growth() {
        let mut f = super::FreeSlots::new();
        assert_eq!(f.pop(), None);
        for i in 0..100 {
            f.push((i * 4096, i % 3 == 0));
        }
        for i in (50..100).rev() {
            assert_eq!(f.pop(), Some((i * 4096, i % 3 == 0)));
        }
        f.push((7, true));
        assert_eq!(f.pop(), Some((7, true)));
        for i in (0..50).rev() {
            assert_eq!(f.pop(), Some((i * 4096, i % 3 == 0)));
        }
        assert_eq!(f.pop(), None);
        // (POOLS never frees its arrays; this one is freed for Miri's leak check.)
        // SAFETY: the array was allocated with the layout of f.cap entries.
        unsafe { alloc::alloc::dealloc(f.ptr.cast(), super::FreeSlots::layout(f.cap)) };
    }

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
        assert_eq!(round_size(MIN_STACK_SIZE - 1), MIN_STACK_SIZE);
        assert_eq!(round_size(MIN_STACK_SIZE + 1), 2 * MIN_STACK_SIZE);
        assert_eq!(round_size(4097), 8192);
        assert_eq!(round_size(65536), 65536);
        assert_eq!(round_size(usize::MAX), MAX_STACK_SIZE);
        assert_eq!(order(MIN_STACK_SIZE), 0);
        assert_eq!(order(2 * MIN_STACK_SIZE), 1);
        assert_eq!(order(MAX_STACK_SIZE), ORDERS - 1);
        #[cfg(not(windows))]
        {
            assert_eq!(MIN_STACK_SIZE, 2048);
            assert_eq!(round_size(2048), 2048);
            assert_eq!(round_size(2049), 4096);
            assert_eq!(ORDERS, 18);
        }
        #[cfg(windows)]
        {
            assert_eq!(MIN_STACK_SIZE, 4096);
            assert_eq!(round_size(2048), 4096);
            assert_eq!(ORDERS, 17);
        }
    }

    #[test]
    fn packed_layout() {
        use super::{chunk_layout, ChunkLayout};
        // 2 KB stacks on 4 KB pages: [floor page][2 KB pad][63 slots], 33 pages in all.
        assert_eq!(
            chunk_layout(2048, 4096, 4096, false),
            ChunkLayout { slot: 2048, guard: 0, floor: 4096, first: 4096 + 2048, n: 63, bytes: 4096 + 64 * 2048 }
        );
        // The floor page is there whatever the OS asks for.
        assert_eq!(chunk_layout(2048, 4096, 16384, true), chunk_layout(2048, 4096, 4096, false));
        // darwin/arm64's 16 KB pages: 2, 4 and 8 KB stacks are packed.
        assert_eq!(chunk_layout(8192, 16384, 16384, false).guard, 0);
        assert_eq!(chunk_layout(8192, 16384, 16384, false).n, 63);
        // A page or more: the layout of guarded stacks, unchanged.
        assert_eq!(
            chunk_layout(4096, 4096, 4096, false),
            ChunkLayout { slot: 8192, guard: 4096, floor: 0, first: 4096, n: 64, bytes: 4096 + 64 * 8192 }
        );
        assert_eq!(
            chunk_layout(4096, 4096, 16384, true),
            ChunkLayout { slot: 20480, guard: 16384, floor: 4096, first: 8192, n: 64, bytes: 8192 + 64 * 20480 }
        );
        assert_eq!(chunk_layout(1 << 20, 4096, 4096, false).n, 3);
        assert_eq!(chunk_layout(256 << 20, 4096, 4096, false).n, 1);
    }

    /// Every slot of every layout: inside the chunk, its canary word above the floor and below its
    /// stack, its top word inside its own slot and the same word as the canary of the slot above,
    /// and the pages scavenging may release whole pages inside the stack only (none for packed
    /// stacks).
    #[test]
    fn slots_canaries_and_releasable_pages() {
        use super::{canary_word_of, chunk_layout, deep_pages, is_packed, top_word_of, TOP_RESERVE};
        for page in [4096usize, 16384, 65536] {
            for guard in [page, 16384.max(page)] {
                for floor_guard in [false, true] {
                    let mut size = 2048;
                    while size <= 1 << 20 {
                        let l = chunk_layout(size, page, guard, floor_guard);
                        assert_eq!(l.bytes % page, 0);
                        assert_eq!(l.first + l.slot * l.n, l.bytes, "size {size} page {page}");
                        assert_eq!(l.slot, size + l.guard);
                        assert_eq!(is_packed(size, page), l.guard == 0);
                        let chunk = 0x7f00_0000_0000usize; // page-aligned for every page size
                        for k in 0..l.n {
                            let base = chunk + l.first + k * l.slot;
                            let (lo, top) = (base + l.guard, base + l.slot);
                            let hi = lo + size - TOP_RESERVE;
                            let c = canary_word_of(base);
                            assert!(c >= chunk + l.floor && c + TOP_RESERVE <= lo && c.is_multiple_of(16));
                            assert!(top_word_of(hi) >= hi && top_word_of(hi) + TOP_RESERVE <= top);
                            assert!(top <= chunk + l.bytes);
                            assert_eq!(top_word_of(hi), canary_word_of(base + l.slot));
                            if k == 0 {
                                // Slot 0's canary lies in the pad, above the floor page.
                                assert!(l.first - l.floor >= TOP_RESERVE);
                            }
                            assert_eq!((top - TOP_RESERVE) % 16, 0);
                            match deep_pages(lo, top, page) {
                                None => assert!(size <= page),
                                Some((start, len)) => {
                                    assert!(!is_packed(size, page));
                                    assert_eq!((start % page, len % page), (0, 0));
                                    assert!(start >= lo && start + len + page <= top && len > 0);
                                }
                            }
                            if is_packed(size, page) {
                                // A packed slot never straddles a page.
                                assert_eq!(lo / page, (top - 1) / page);
                            }
                        }
                        size *= 2;
                    }
                }
            }
        }
    }

    #[test]
    fn deep_pages_examples() {
        use super::deep_pages;
        let p = 0x10_0000;
        // Packed 2 KB stacks, the low and the high half of a page: nothing to release.
        assert_eq!(deep_pages(p, p + 2048, 4096), None);
        assert_eq!(deep_pages(p + 2048, p + 4096, 4096), None);
        // One page: it is the top page.
        assert_eq!(deep_pages(p, p + 4096, 4096), None);
        assert_eq!(deep_pages(p, p + 8192, 4096), Some((p, 4096)));
        assert_eq!(deep_pages(p, p + 65536, 4096), Some((p, 61440)));
        // A stack not starting on a page boundary keeps its partial first page.
        assert_eq!(deep_pages(p + 2048, p + 2048 + 16384, 4096), Some((p + 4096, 12288)));
    }
}
