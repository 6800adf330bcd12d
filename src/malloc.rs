//! The allocator behind `#[global_allocator]` (Go's malloc.go, mcache.go, mcentral.go; the page
//! heap is mheap.rs): Go's 67 size classes up to 32 KB; a per-P cache with no lock (mcache); a
//! central list of spans per class (mcentral) whose spans go back to the page heap when their last
//! object is freed; large objects as spans of whole pages; objects above LARGE_DIRECT mapped
//! directly. Rust's dealloc passes the layout, so the class is known without a lookup; the span
//! map finds the object's span.

use core::alloc::{GlobalAlloc, Layout};
use core::ptr;
use core::sync::atomic::{AtomicUsize, Ordering};

use crate::lock_futex::Mutex;
use crate::mheap::{FreeObj, Mheap, Mspan, OsMem, SpanList, ARENA_SIZE, PAGE_SIZE, SPAN_LARGE, SPAN_SMALL};
use crate::sys as os;

/// Largest object served from size classes (Go's _MaxSmallSize).
pub const MAX_SMALL_SIZE: usize = 32768;
/// Go's class_to_size (class 0 unused).
pub const CLASS_TO_SIZE: [u32; 68] = [
    0, 8, 16, 24, 32, 48, 64, 80, 96, 112, 128, 144, 160, 176, 192, 208, 224, 240, 256, 288, 320, 352, 384, 416, 448,
    480, 512, 576, 640, 704, 768, 896, 1024, 1152, 1280, 1408, 1536, 1792, 2048, 2304, 2688, 3072, 3200, 3456, 4096,
    4864, 5376, 6144, 6528, 6784, 6912, 8192, 9472, 9728, 10240, 10880, 12288, 13568, 14336, 16384, 18432, 19072,
    20480, 21760, 24576, 27264, 28672, 32768,
];
/// Number of size classes including 0.
pub const NUM_CLASSES: usize = CLASS_TO_SIZE.len();

/// Go's size_to_class8: the class of each size up to 1024 bytes, in 8-byte steps.
static SIZE_TO_CLASS8: [u8; 1024 / 8 + 1] = {
    let mut t = [0u8; 1024 / 8 + 1];
    let mut i = 0;
    while i < t.len() {
        t[i] = match search_class(if i == 0 { 1 } else { i * 8 }, 1) {
            Some(c) => c as u8,
            None => 0,
        };
        i += 1;
    }
    t
};
/// Go's size_to_class128: the class of each size from 1024 to 32 KB, in 128-byte steps.
static SIZE_TO_CLASS128: [u8; (MAX_SMALL_SIZE - 1024) / 128 + 1] = {
    let mut t = [0u8; (MAX_SMALL_SIZE - 1024) / 128 + 1];
    let mut i = 0;
    while i < t.len() {
        t[i] = match search_class(1024 + i * 128, 1) {
            Some(c) => c as u8,
            None => 0,
        };
        i += 1;
    }
    t
};

/// The class of a request (Go's size_to_class8/128 lookup): the tables answer for alignments up
/// to 8, which every class size is a multiple of; stricter alignments search.
#[inline]
pub fn size_to_class(size: usize, align: usize) -> Option<usize> {
    if align > 8 {
        return search_class(size, align);
    }
    if size <= 1024 {
        Some(SIZE_TO_CLASS8[size.div_ceil(8)] as usize)
    } else if size <= MAX_SMALL_SIZE {
        Some(SIZE_TO_CLASS128[(size - 1024).div_ceil(128)] as usize)
    } else {
        None
    }
}

/// Smallest class whose size is >= `size` and a multiple of `align` (objects in a span start at a
/// page-aligned base, so such a class aligns them), or None if the request is large.
pub const fn search_class(size: usize, align: usize) -> Option<usize> {
    if size > MAX_SMALL_SIZE || align > 4096 {
        return None;
    }
    // Binary search for the first class >= size, then walk up to an aligned one.
    let (mut lo, mut hi) = (1, NUM_CLASSES - 1);
    while lo < hi {
        let mid = (lo + hi) / 2;
        if (CLASS_TO_SIZE[mid] as usize) < size {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    let mut c = lo;
    while c < NUM_CLASSES {
        if (CLASS_TO_SIZE[c] as usize).is_multiple_of(align) {
            return Some(c);
        }
        c += 1;
    }
    None
}

/// Go's class_to_allocnpages: pages of the span carved for each class (sizeclasses.go).
pub const CLASS_TO_ALLOCNPAGES: [u8; NUM_CLASSES] = [
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 1, 2,
    1, 2, 1, 3, 2, 3, 1, 3, 2, 3, 4, 5, 6, 1, 7, 6, 5, 4, 3, 5, 7, 2, 9, 7, 5, 8, 3, 10, 7, 4,
];

/// Pages of the span carved for class `c`.
#[inline]
pub const fn class_npages(c: usize) -> usize {
    CLASS_TO_ALLOCNPAGES[c] as usize
}

/// Bytes of the span carved for class `c` (the tests' arithmetic).
#[cfg(test)]
const fn span_bytes(c: usize) -> usize {
    class_npages(c) * PAGE_SIZE
}

/// Objects bigger than this are mapped directly instead of taken from the page heap (their
/// free unmaps at once; the page heap would keep them until the scavenger ages them out).
pub const LARGE_DIRECT: usize = ARENA_SIZE / 4;

/// How long a free span stays resident before the scavenger gives it back to the OS.
pub const SCAVENGE_AGE_NS: i64 = 500_000_000;

/// The page heap over the OS layer.
static HEAP: Mheap<SysMem> = Mheap::new();

/// The OS layer as the heap's memory.
struct SysMem;

impl OsMem for SysMem {
    fn alloc(n: usize, align: usize) -> *mut u8 {
        os_alloc_aligned(n, align)
    }
    unsafe fn unused(p: *mut u8, n: usize) {
        // SAFETY: forwarded.
        unsafe { os::sys_unused(p, n) }
    }
    unsafe fn huge(p: *mut u8, n: usize) {
        // Only where osinit found a transparent huge page size.
        if os::phys_huge_page_size() > os::phys_page_size() {
            // SAFETY: forwarded.
            unsafe { os::sys_huge_pages(p, n, true) };
        }
    }
    fn page_size() -> usize {
        os::phys_page_size()
    }
}

/// Bytes mapped directly for objects above LARGE_DIRECT.
static DIRECT_BYTES: AtomicUsize = AtomicUsize::new(0);

/// Where the next aligned mapping (a heap arena) is asked for first (Go's arenaHints, which
/// start at 0x00c0 << 32 on 64-bit): taken, it needs no trimming (one system call, not three)
/// and the next arena goes right after it. 0: no hint (32-bit address spaces, where the cast
/// leaves 0, or a hint the OS refused once).
static ARENA_HINT: AtomicUsize = AtomicUsize::new((0x00c0_u64 << 32) as usize);

/// sys_alloc with alignment: at the arena hint when the OS grants it, else maps `n + align` and
/// trims both ends (Go's sysReserveAligned). Out of line: a system call path, inlined at 5
/// callers (issue 22).
#[inline(never)]
fn os_alloc_aligned(n: usize, align: usize) -> *mut u8 {
    let page = os::phys_page_size();
    if align <= page {
        return os::sys_alloc(n);
    }
    // Relaxed: the hint is only advice. Two threads may try the same one: one gets it, the
    // other a mapping elsewhere, which it gives back before turning hints off.
    let hint = ARENA_HINT.load(Ordering::Relaxed);
    if hint != 0 && hint.is_multiple_of(align) {
        let p = os::sys_alloc_at(hint, n);
        if p as usize == hint {
            ARENA_HINT.store(hint.wrapping_add(n), Ordering::Relaxed);
            return p;
        }
        ARENA_HINT.store(0, Ordering::Relaxed);
        if !p.is_null() {
            // SAFETY: our fresh mapping, not handed out.
            unsafe { os::sys_free(p, n) };
        }
    }
    let p = os::sys_alloc(n + align);
    if p.is_null() {
        return p;
    }
    let start = p as usize;
    let aligned = (start + align - 1) & !(align - 1);
    // SAFETY: the head and tail around the aligned block are ours and unused.
    unsafe {
        if aligned > start {
            os::sys_free(p, aligned - start);
        }
        let tail = start + n + align - (aligned + n);
        if tail > 0 {
            os::sys_free((aligned + n) as *mut u8, tail);
        }
    }
    aligned as *mut u8
}

/// Current time for span bookkeeping (host tests run without the vDSO).
fn now() -> i64 {
    #[cfg(test)]
    {
        0
    }
    #[cfg(not(test))]
    {
        crate::time::nanotime()
    }
}

/// Go's mallocinit: checks the class table and maps the first arena.
pub fn mallocinit() {
    let mut prev = 0;
    for (c, &s) in CLASS_TO_SIZE.iter().enumerate().skip(1) {
        if s <= prev || s % 8 != 0 {
            crate::throw("mallocinit: bad size class table");
        }
        if size_to_class(s as usize, 1) != Some(c) {
            crate::throw("mallocinit: size_to_class mismatch");
        }
        prev = s;
    }
    if !HEAP.init() {
        out_of_memory();
    }
}

/// Heap statistics (the allocator part of Go's runtime.MemStats), in bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MemStats {
    /// Bytes of heap arenas obtained from the OS (HeapSys).
    pub heap_sys: usize,
    /// Bytes in spans in use: objects, the unused rest of their spans, caches (HeapInuse).
    pub heap_inuse: usize,
    /// Bytes in free spans (HeapIdle).
    pub heap_idle: usize,
    /// Bytes of free spans given back to the OS or never touched (HeapReleased).
    pub heap_released: usize,
    /// Bytes of objects above LARGE_DIRECT, mapped directly.
    pub direct: usize,
}

/// Go's runtime.ReadMemStats (the heap part).
pub fn read_mem_stats() -> MemStats {
    let h = HEAP.stats();
    MemStats {
        heap_sys: h.sys,
        heap_inuse: h.inuse,
        heap_idle: h.idle,
        heap_released: h.released,
        direct: DIRECT_BYTES.load(Ordering::Relaxed),
    }
}

/// The background scavenger's step (run by sysmon): gives back free spans that stayed free for
/// SCAVENGE_AGE_NS. Returns the bytes released.
pub fn background_scavenge(now: i64) -> usize {
    HEAP.scavenge(now, SCAVENGE_AGE_NS)
}

/// Whether free heap memory is still resident (sysmon then wakes up to scavenge it).
pub fn scavenge_pending() -> bool {
    let h = HEAP.stats();
    h.idle > h.released
}

/// Gives every free span back to the OS now, whatever its age (Go's debug.FreeOSMemory after
/// its GC). Returns the bytes released.
pub fn scavenge_all() -> usize {
    HEAP.scavenge(i64::MAX, 0)
}

/// Panics holding the heap lock, as a failure inside the allocator would (the testing hook
/// `panic_in_allocator`): the report must still print.
#[cfg(feature = "testing")]
pub fn panic_holding_heap_lock() -> ! {
    HEAP.lock_forever();
    panic!("a failure inside the allocator")
}

fn out_of_memory() -> ! {
    crate::throw("out of memory")
}

/// One class's spans (Go's mcentral): `partial` have free objects, `full` have none. Spans move
/// between them as objects come and go, and go back to the heap when their last object does.
struct Mcentral {
    /// The class lock and its span lists.
    lock: Mutex<CentralLists>,
}

/// A class's spans, by whether they have free objects.
struct CentralLists {
    partial: SpanList,
    full: SpanList,
}

// SAFETY: the spans on the lists are heap memory any thread may use under the class lock,
// which owns the lists.
unsafe impl Send for CentralLists {}

#[allow(clippy::declare_interior_mutable_const)]
const CENTRAL_INIT: Mcentral =
    Mcentral { lock: Mutex::new(CentralLists { partial: SpanList::new(), full: SpanList::new() }) };
static CENTRAL: [Mcentral; NUM_CLASSES] = [CENTRAL_INIT; NUM_CLASSES];

/// Whether small span `s` has no object left to hand out.
///
/// # Safety
/// `s` is a valid small span; the caller holds its class's lock.
unsafe fn span_exhausted(s: *const Mspan) -> bool {
    // SAFETY: forwarded.
    unsafe { (*s).freelist.is_null() && (*s).freeindex == (*s).nelems }
}

impl Mcentral {
    /// Takes up to `want` (at least one) objects of class `c` as a linked list, from a partial
    /// span or a new one (Go's mcentral.cacheSpan, by objects instead of whole spans). Null if
    /// the heap is out of memory.
    fn take<O: OsMem>(&self, heap: &Mheap<O>, c: usize, want: u32) -> (*mut FreeObj, u32) {
        let mut lists = self.lock.lock();
        let CentralLists { partial, full } = &mut *lists;
        // SAFETY: under the class lock: the lists and their spans are ours.
        unsafe {
            let mut s = partial.first();
            if s.is_null() {
                s = heap.alloc_span(class_npages(c), SPAN_SMALL);
                if s.is_null() {
                    return (ptr::null_mut(), 0);
                }
                (*s).class = c as u8;
                (*s).nelems = ((class_npages(c) * PAGE_SIZE) / CLASS_TO_SIZE[c] as usize) as u32;
                (*s).freeindex = 0;
                (*s).allocated = 0;
                (*s).freelist = ptr::null_mut();
                partial.insert(s);
            }
            let size = CLASS_TO_SIZE[c] as usize;
            let mut list: *mut FreeObj = ptr::null_mut();
            let mut got = 0;
            while got < want && !(*s).freelist.is_null() {
                let o = (*s).freelist;
                (*s).freelist = (*o).next;
                (*o).next = list;
                list = o;
                got += 1;
            }
            if got < want && (*s).freeindex < (*s).nelems {
                // Never handed out: carved lazily, so untouched pages stay untouched. Linking
                // an object writes to it, so fresh objects are carved only up to the end of the
                // OS page the first one starts in (32 objects of 240 bytes spanned two pages, of
                // 3 456 bytes six: a page fault each for objects nobody asked for yet), and
                // linked lowest first, so they are handed out in address order and the last
                // one, which may reach into the next page, is used last.
                let page = os::phys_page_size();
                let first = (*s).start + (*s).freeindex as usize * size;
                let in_page = ((first & !(page - 1)) + page - first).div_ceil(size) as u32;
                let n = (want - got).min((*s).nelems - (*s).freeindex).min(in_page);
                for i in (0..n).rev() {
                    let o = (first + i as usize * size) as *mut FreeObj;
                    (*o).next = list;
                    list = o;
                }
                (*s).freeindex += n;
                got += n;
            }
            (*s).allocated += got;
            if span_exhausted(s) {
                partial.remove(s);
                full.insert(s);
            }
            (list, got)
        }
    }

    /// Gives back a list of `n` objects of this class (linked by `next`; Go's mcentral
    /// uncacheSpan and the sweeper's freeing, object by object). A span whose last object comes
    /// back returns to the heap.
    ///
    /// # Safety
    /// Every object on the list came from `take` on this class and is not used again.
    unsafe fn put_list<O: OsMem>(&self, heap: &Mheap<O>, mut list: *mut FreeObj) {
        let mut lists = self.lock.lock();
        let CentralLists { partial, full } = &mut *lists;
        // SAFETY: under the class lock; each object's span is an in-use small span of this
        // class (the span map has all its pages).
        unsafe {
            while !list.is_null() {
                let o = list;
                list = (*o).next;
                let s = heap.span_of(o as usize);
                if s.is_null() || (*s).state != SPAN_SMALL || (*s).allocated == 0 {
                    crate::throw("free: object not from a small span (double free?)");
                }
                let was_full = span_exhausted(s);
                (*o).next = (*s).freelist;
                (*s).freelist = o;
                (*s).allocated -= 1;
                if (*s).allocated == 0 {
                    if was_full {
                        full.remove(s);
                    } else {
                        partial.remove(s);
                    }
                    heap.free_span(s, now());
                } else if was_full {
                    full.remove(s);
                    partial.insert(s);
                }
            }
        }
    }
}

/// Allocates one object of class `c` without a P (Go's mallocgc without an mcache).
fn alloc_small(c: usize) -> *mut u8 {
    let (o, _) = CENTRAL[c].take(&HEAP, c, 1);
    if o.is_null() {
        out_of_memory();
    }
    o as *mut u8
}

/// Returns one object of class `c` without a P.
///
/// # Safety
/// `p` must have come from this allocator's class `c` and not be used again.
unsafe fn free_small(p: *mut u8, c: usize) {
    let o = p as *mut FreeObj;
    // SAFETY: p is a free object of class c; a one-element list.
    unsafe {
        (*o).next = ptr::null_mut();
        CENTRAL[c].put_list(&HEAP, o);
    }
}

/// Objects a P's cache takes from (or gives back to) a central list at once.
const CACHE_BATCH: u32 = 32;
/// A P's cache of one class holds at most this many objects before giving half back.
const CACHE_MAX: u32 = 2 * CACHE_BATCH;

/// A P's per-class free lists (Go's mcache). Only the M that owns the P touches it, and gort
/// preempts only at runtime entries, never inside the allocator, so no lock is needed: a goroutine
/// cannot lose its P (or migrate) between reading the cache and updating it.
pub struct Mcache {
    lists: [(*mut FreeObj, u32); NUM_CLASSES],
    /// The heap profile's sampling countdown (mprof.rs).
    #[cfg(gort_pprof)]
    sample: crate::mprof::SampleState,
}

impl Mcache {
    /// An empty cache.
    pub const fn new() -> Self {
        Mcache {
            lists: [(ptr::null_mut(), 0); NUM_CLASSES],
            #[cfg(gort_pprof)]
            sample: crate::mprof::SampleState::new(),
        }
    }

    /// Gives every cached object back to its class (Go's mcache.releaseAll): when a P is
    /// destroyed, and before free_os_memory scavenges.
    pub fn release_all(&mut self) {
        for (c, (head, n)) in self.lists.iter_mut().enumerate() {
            if !head.is_null() {
                // SAFETY: the list holds free objects of class c owned by this cache.
                unsafe { CENTRAL[c].put_list(&HEAP, *head) };
                *head = ptr::null_mut();
                *n = 0;
            }
        }
    }
}

impl Default for Mcache {
    fn default() -> Self {
        Self::new()
    }
}

/// The current P's cache, if this code runs with a P (not on an M without one, not in a signal
/// handler, not before procresize). The caller holds the Pin while it uses it: a goroutine
/// preempted in the middle could resume on another P, still holding this one's cache.
#[inline]
fn current_mcache(pin: &Pin) -> Option<&'static mut Mcache> {
    #[cfg(test)]
    {
        let _ = pin;
        None
    }
    #[cfg(not(test))]
    {
        let gp = pin.0;
        if gp.is_null() {
            return None;
        }
        // SAFETY: gp is the running g, pinned to its M; its M's P (if any) is owned by this
        // thread.
        unsafe {
            let mp = (*gp).m;
            if mp.is_null() || gp == (*mp).gsignal {
                return None;
            }
            let pp = (*mp).p.load(Ordering::Relaxed);
            if pp.is_null() {
                None
            } else {
                Some(&mut (*pp).mcache)
            }
        }
    }
}

/// Go's acquirem/releasem around the allocator's per-P fast paths, as a guard that reads the g
/// once (a no-op in the host unit tests, which run without a scheduler). Holds the running g,
/// or null before the runtime set one up.
struct Pin(#[cfg(not(test))] *mut crate::gmp::G);

impl Pin {
    #[inline]
    fn new() -> Pin {
        #[cfg(not(test))]
        {
            let gp = crate::arch::getg();
            if !gp.is_null() {
                // SAFETY: the running g; its count is only touched by code running on it (see
                // proc::acquirem).
                unsafe { (*gp).locks += 1 };
            }
            Pin(gp)
        }
        #[cfg(test)]
        Pin()
    }
}

impl Drop for Pin {
    #[inline]
    fn drop(&mut self) {
        #[cfg(not(test))]
        if !self.0.is_null() {
            // SAFETY: as in new: the same g, still running (nothing in between parks).
            unsafe { (*self.0).locks -= 1 };
        }
    }
}

/// Calls `f` with the current P's heap-sampling state (mprof.rs), pinned; None without a P.
#[cfg(gort_pprof)]
pub fn with_sample_state<R>(f: impl FnOnce(&mut crate::mprof::SampleState) -> R) -> Option<R> {
    let pin = Pin::new();
    current_mcache(&pin).map(|mc| f(&mut mc.sample))
}

/// Small allocation of `size` bytes: the P's cache first, refilled from the central list in
/// batches; the heap profile's countdown (one subtract and a branch) on the way out.
#[inline(always)]
fn mcache_alloc(c: usize, size: usize) -> *mut u8 {
    let pin = Pin::new();
    let Some(mc) = current_mcache(&pin) else { return alloc_small(c) };
    #[cfg(not(gort_pprof))]
    let _ = size;
    let (head, n) = &mut mc.lists[c];
    if head.is_null() {
        // Refill: up to CACHE_BATCH objects from the central list in one lock round trip.
        let (list, got) = CENTRAL[c].take(&HEAP, c, CACHE_BATCH);
        if list.is_null() {
            out_of_memory();
        }
        *head = list;
        *n = got;
    }
    let o = *head;
    // SAFETY: o is the first object of our own list.
    *head = unsafe { (*o).next };
    *n -= 1;
    #[cfg(gort_pprof)]
    {
        mc.sample.next_sample = mc.sample.next_sample.wrapping_sub(size as isize);
        if mc.sample.next_sample < 0 {
            // `mc` is not used past here: profilealloc reaches the cache again itself.
            crate::mprof::profilealloc(o as *mut u8, size);
        }
    }
    o as *mut u8
}

/// Small free: into the P's cache; past CACHE_MAX half goes back to the central list.
///
/// # Safety
/// `p` must be a live object of class `c` that is not used again.
unsafe fn mcache_free(p: *mut u8, c: usize) {
    let pin = Pin::new();
    // SAFETY: forwarded.
    let Some(mc) = current_mcache(&pin) else { return unsafe { free_small(p, c) } };
    let (head, n) = &mut mc.lists[c];
    let o = p as *mut FreeObj;
    // SAFETY: o is now a free object owned by this cache.
    unsafe { (*o).next = *head };
    *head = o;
    *n += 1;
    if *n >= CACHE_MAX {
        // Split off CACHE_BATCH objects and give them back in one lock round trip.
        let give = *head;
        let mut last = give;
        for _ in 1..CACHE_BATCH {
            // SAFETY: the list has CACHE_MAX > CACHE_BATCH objects.
            last = unsafe { (*last).next };
        }
        // SAFETY: last is on our list; the part up to it goes back to the central list.
        unsafe {
            *head = (*last).next;
            (*last).next = ptr::null_mut();
            CENTRAL[c].put_list(&HEAP, give);
        }
        *n -= CACHE_BATCH;
    }
}

/// How the allocator serves a request.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    /// A size class.
    Small(usize),
    /// A span of whole pages from the heap (Go's large object).
    Large,
    /// A mapping of its own (huge objects, or alignment beyond a page).
    Direct,
}

/// The kind of a request of `size` (non-zero) bytes aligned to `align`.
#[inline]
fn kind(size: usize, align: usize) -> Kind {
    match size_to_class(size, align) {
        Some(c) => Kind::Small(c),
        None if size <= LARGE_DIRECT && align <= PAGE_SIZE => Kind::Large,
        None => Kind::Direct,
    }
}

/// Pages for a large object of `size` bytes.
fn large_npages(size: usize) -> usize {
    size.div_ceil(PAGE_SIZE)
}

/// A large or direct allocation `p` of `size` bytes, after the heap profile's countdown.
#[inline]
fn sampled(p: *mut u8, size: usize) -> *mut u8 {
    #[cfg(gort_pprof)]
    {
        // Pinned from the countdown through the recording, as mcache_alloc: recording switches
        // to g0 (systemstack), which a goroutine must not be preempted in the middle of.
        let pin = Pin::new();
        if let Some(mc) = current_mcache(&pin) {
            mc.sample.next_sample = mc.sample.next_sample.wrapping_sub(size as isize);
            if mc.sample.next_sample < 0 {
                // `mc` is not used past here: profilealloc reaches the cache again itself.
                crate::mprof::profilealloc(p, size);
            }
        }
    }
    #[cfg(not(gort_pprof))]
    let _ = size;
    p
}

/// A large object: a span of its own from the heap (Go's largeAlloc).
fn alloc_large(size: usize) -> *mut u8 {
    let s = HEAP.alloc_span(large_npages(size), SPAN_LARGE);
    if s.is_null() {
        out_of_memory();
    }
    // SAFETY: s is our new span.
    unsafe { (*s).start as *mut u8 }
}

/// The span of large object `p`.
///
/// # Safety
/// `p` must be a live large object from alloc_large.
unsafe fn large_span(p: *mut u8) -> *mut Mspan {
    let s = HEAP.span_of(p as usize);
    // SAFETY: forwarded: p's span is in use, so the map entry is current.
    if s.is_null() || unsafe { (*s).state != SPAN_LARGE || (*s).start != p as usize } {
        crate::throw("free: pointer is not a large object (double free?)");
    }
    s
}

/// Maps a huge object directly, aligned as asked.
fn alloc_direct(layout: Layout) -> *mut u8 {
    let page = os::phys_page_size();
    let align = layout.align().max(page);
    let size = layout.size().div_ceil(page) * page;
    let p = os_alloc_aligned(size, align);
    if p.is_null() {
        out_of_memory();
    }
    DIRECT_BYTES.fetch_add(size, Ordering::Relaxed);
    p
}

/// Unmaps a direct object.
///
/// # Safety
/// `p` came from alloc_direct with `size` and is not used again.
unsafe fn free_direct(p: *mut u8, size: usize) {
    let page = os::phys_page_size();
    let size = size.div_ceil(page) * page;
    DIRECT_BYTES.fetch_sub(size, Ordering::Relaxed);
    // SAFETY: forwarded: p is a mapping of this rounded size.
    unsafe { os::sys_free(p, size) };
}

/// The runtime's global allocator.
pub struct GoAlloc;

// SAFETY: alloc returns memory of at least layout.size() aligned to layout.align() or aborts
// (class sizes are multiples of the alignment they serve and spans are page aligned; large
// spans are page aligned; direct mappings are aligned explicitly); dealloc receives the same
// layout, so it finds the same kind, and the span map finds the object's span.
unsafe impl GlobalAlloc for GoAlloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        #[cfg(all(gort_traceback, feature = "traceback-lines"))]
        if let Some(p) = crate::traceback::lines::arena_alloc(layout) {
            return p;
        }
        match kind(layout.size().max(1), layout.align()) {
            Kind::Small(c) => mcache_alloc(c, layout.size()),
            Kind::Large => sampled(alloc_large(layout.size()), layout.size()),
            Kind::Direct => sampled(alloc_direct(layout), layout.size()),
        }
    }

    /// Zeroed memory: large spans whose pages were all released (or never touched) and direct
    /// mappings are zero already (Go's needzero), so only the rest is cleared.
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // The arena is a fresh mapping, untouched before: zero.
        #[cfg(all(gort_traceback, feature = "traceback-lines"))]
        if let Some(p) = crate::traceback::lines::arena_alloc(layout) {
            return p;
        }
        match kind(layout.size().max(1), layout.align()) {
            Kind::Small(c) => {
                let p = mcache_alloc(c, layout.size());
                // SAFETY: p is a fresh object of at least layout.size() bytes.
                unsafe { ptr::write_bytes(p, 0, layout.size()) };
                p
            }
            Kind::Large => {
                let s = HEAP.alloc_span(large_npages(layout.size()), SPAN_LARGE);
                if s.is_null() {
                    out_of_memory();
                }
                // SAFETY: s is our new span of at least layout.size() bytes.
                unsafe {
                    let p = (*s).start as *mut u8;
                    if (*s).needzero {
                        ptr::write_bytes(p, 0, layout.size());
                    }
                    sampled(p, layout.size())
                }
            }
            Kind::Direct => sampled(alloc_direct(layout), layout.size()), // a fresh mapping reads as zero
        }
    }

    #[inline]
    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        #[cfg(all(gort_traceback, feature = "traceback-lines"))]
        if crate::traceback::lines::arena_owns(p) {
            return;
        }
        #[cfg(gort_pprof)]
        if crate::mprof::maybe_sampled(p) {
            crate::mprof::free(p);
        }
        match kind(layout.size().max(1), layout.align()) {
            // SAFETY: p came from class c for the same layout.
            Kind::Small(c) => unsafe { mcache_free(p, c) },
            // SAFETY: p is a live large object, freed once.
            Kind::Large => unsafe { HEAP.free_span(large_span(p), now()) },
            // SAFETY: p is a direct mapping of this size.
            Kind::Direct => unsafe { free_direct(p, layout.size()) },
        }
    }

    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // Arena memory, or any memory while diverting: a fresh block and a copy.
        #[cfg(all(gort_traceback, feature = "traceback-lines"))]
        if crate::traceback::lines::arena_owns(p) || crate::traceback::lines::arena_alloc(Layout::new::<u8>()).is_some()
        {
            // SAFETY: new_size is non-zero and the alignment is the old valid one.
            let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
            // SAFETY: as GlobalAlloc::alloc.
            let q = unsafe { self.alloc(new_layout) };
            if !q.is_null() {
                // SAFETY: both blocks hold at least min(old, new) bytes and do not overlap.
                unsafe { ptr::copy_nonoverlapping(p, q, layout.size().min(new_size)) };
            }
            return q;
        }
        let old = kind(layout.size().max(1), layout.align());
        let new = kind(new_size.max(1), layout.align());
        match (old, new) {
            (Kind::Small(a), Kind::Small(b)) if a == b => return p, // the class already has room
            (Kind::Large, Kind::Large) => {
                // SAFETY: p is a live large object of ours.
                unsafe {
                    let s = large_span(p);
                    let need = large_npages(new_size);
                    if need <= (*s).npages {
                        HEAP.shrink_span(s, need, now());
                        return p;
                    }
                    if HEAP.grow_span_in_place(s, need) {
                        return p; // the pages after it were free
                    }
                }
            }
            _ => {}
        }
        // SAFETY: new_size is non-zero and the alignment is the old valid one.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        // SAFETY: as GlobalAlloc::alloc.
        let q = unsafe { self.alloc(new_layout) };
        // SAFETY: both blocks are valid for the smaller size and distinct.
        unsafe {
            ptr::copy_nonoverlapping(p, q, layout.size().min(new_size));
            self.dealloc(p, layout);
        }
        q
    }
}

#[cfg(not(test))]
#[global_allocator]
static GLOBAL: GoAlloc = GoAlloc;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_match_the_search() {
        for size in 1..=MAX_SMALL_SIZE + 1 {
            for align in [1, 2, 4, 8, 16, 64, 4096] {
                assert_eq!(size_to_class(size, align), search_class(size, align), "size {size} align {align}");
            }
        }
    }

    #[test]
    fn classes_cover_every_size() {
        for size in 1..=MAX_SMALL_SIZE {
            let c = size_to_class(size, 1).unwrap();
            assert!(CLASS_TO_SIZE[c] as usize >= size);
            assert!(c == 1 || (CLASS_TO_SIZE[c - 1] as usize) < size, "size {size} class {c}");
        }
        assert_eq!(size_to_class(MAX_SMALL_SIZE + 1, 1), None);
    }

    #[test]
    fn alignment_is_honoured_by_class_size() {
        for align in [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096] {
            for size in [1, 7, 100, 1000, 5000, 30000] {
                if let Some(c) = size_to_class(size, align) {
                    assert_eq!(CLASS_TO_SIZE[c] as usize % align, 0);
                    assert!(CLASS_TO_SIZE[c] as usize >= size);
                }
            }
        }
        assert_eq!(size_to_class(8, 8192), None);
    }

    #[test]
    #[cfg_attr(
        miri,
        ignore = "minutes under Miri (per-page atomics over whole arenas); runs natively in cargo xtask test"
    )]
    fn central_returns_empty_spans_to_the_heap() {
        let heap = crate::mheap::testing::heap();
        let central = CENTRAL_INIT;
        for c in [1, 5, 26, 40, 67] {
            let size = CLASS_TO_SIZE[c] as usize;
            let per_span = span_bytes(c) / size;
            // Take three spans' worth in batches, as mcaches do.
            let mut objs: std::vec::Vec<usize> = std::vec::Vec::new();
            while objs.len() < 3 * per_span {
                let (mut list, got) = central.take(&heap, c, CACHE_BATCH);
                assert!(got >= 1);
                let mut n = 0;
                while !list.is_null() {
                    objs.push(list as usize);
                    // SAFETY: list is a chain of objects handed to us.
                    list = unsafe { (*list).next };
                    n += 1;
                }
                assert_eq!(n, got);
            }
            let spans = heap.stats().inuse / span_bytes(c);
            assert_eq!(spans, objs.len().div_ceil(per_span), "class {c}: spans are filled before new ones");
            let mut sorted = objs.clone();
            sorted.sort_unstable();
            sorted.dedup();
            assert_eq!(sorted.len(), objs.len(), "an object handed out twice");
            for &o in &objs {
                let s = heap.span_of(o);
                // SAFETY: o's span is in use.
                unsafe {
                    assert_eq!((*s).class as usize, c);
                    assert_eq!((o - (*s).start) % size, 0);
                    ptr::write_bytes(o as *mut u8, 0x5a, size);
                }
            }
            // Give them back in a different order, one by one and in lists; every span empties
            // and goes back to the heap.
            objs.reverse();
            for chunk in objs.chunks(7) {
                let mut list: *mut FreeObj = ptr::null_mut();
                for &o in chunk {
                    let o = o as *mut FreeObj;
                    // SAFETY: o is ours and free now.
                    unsafe { (*o).next = list };
                    list = o;
                }
                // SAFETY: the objects came from take on this class.
                unsafe { central.put_list(&heap, list) };
            }
            let st = heap.stats();
            assert_eq!(st.inuse, 0, "class {c}: {st:?}");
            let lists = central.lock.lock();
            assert!(lists.partial.is_empty() && lists.full.is_empty());
        }
    }

    /// A fresh span hands out only the objects that start in the OS page its first free object
    /// starts in, lowest address first, so the objects nobody asked for yet are not written to
    /// (linking them would fault their pages in) and the last one handed out is the one that
    /// may reach into the next page. Red with a whole batch of 32 carved at once (a 240-byte
    /// class reached the second page, a 3 456-byte one the sixth) or linked highest first.
    #[test]
    fn fresh_objects_are_carved_one_os_page_at_a_time_lowest_first() {
        let heap = crate::mheap::testing::heap();
        let central = CENTRAL_INIT;
        let page = os::phys_page_size();
        for c in [size_to_class(240, 1).unwrap(), size_to_class(3456, 1).unwrap()] {
            let size = CLASS_TO_SIZE[c] as usize;
            let mut taken: std::vec::Vec<usize> = std::vec::Vec::new();
            for round in 0..3 {
                let (mut list, got) = central.take(&heap, c, CACHE_BATCH);
                let mut objs: std::vec::Vec<usize> = std::vec::Vec::new();
                while !list.is_null() {
                    objs.push(list as usize);
                    // SAFETY: list is a chain of objects handed to us.
                    list = unsafe { (*list).next };
                }
                assert_eq!(objs.len(), got as usize);
                let first = objs[0];
                let page_start = first & !(page - 1);
                assert!(objs.windows(2).all(|w| w[1] == w[0] + size), "class {c}: lowest first: {objs:x?}");
                assert!(
                    objs.iter().all(|&o| o < page_start + page),
                    "class {c} round {round}: an object past the page"
                );
                // SAFETY: first's span is in use.
                let left_in_span = unsafe {
                    let sp = heap.span_of(first);
                    (*sp).nelems as usize - (first - (*sp).start) / size
                };
                let in_page = (page_start + page - first).div_ceil(size);
                assert_eq!(got as usize, in_page.min(left_in_span).min(CACHE_BATCH as usize));
                if let Some(&last) = taken.last() {
                    if heap.span_of(first) == heap.span_of(last) {
                        assert_eq!(first, last + size, "class {c}: the next take goes on where the last stopped");
                    }
                }
                taken.extend(objs);
            }
            let mut list: *mut FreeObj = ptr::null_mut();
            for &o in &taken {
                let o = o as *mut FreeObj;
                // SAFETY: o is ours and free now.
                unsafe { (*o).next = list };
                list = o;
            }
            // SAFETY: the objects came from take on this class.
            unsafe { central.put_list(&heap, list) };
        }
        assert_eq!(heap.stats().inuse, 0);
    }

    #[test]
    fn waste_is_bounded() {
        // Go's table keeps tail waste per span under 12.5%.
        for (c, &s) in CLASS_TO_SIZE.iter().enumerate().take(NUM_CLASSES).skip(1) {
            let s = s as usize;
            let span = span_bytes(c);
            assert!(span / s >= 1);
            assert!((span % s) * 8 <= span, "class {c}");
        }
    }
}
