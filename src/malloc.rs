//! The heap behind `#[global_allocator]` (Go's malloc.go/mheap.go/mcentral.go, reduced):
//! Go's 67 size classes up to 32 KB, a central free list per class, spans carved from a page heap
//! over 64 MB arenas, and large objects mapped directly. `mallocinit` reserves the first arena.
//! Free gives the object back to its class's list (Rust tells us the layout, so no span lookup).

use core::alloc::{GlobalAlloc, Layout};
use core::ptr;

use crate::lock_futex::Mutex;
use crate::runtime2::Global;
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
/// Arena size: the page heap maps memory in these units.
const ARENA_SIZE: usize = 64 << 20;
/// Smallest span carved for a class.
const MIN_SPAN: usize = 8 << 10;

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
        if (CLASS_TO_SIZE[c] as usize) % align == 0 {
            return Some(c);
        }
        c += 1;
    }
    None
}

/// Bytes of the span carved for class `c` (at least 8 objects, at least 8 KB, whole pages).
pub const fn span_bytes(c: usize) -> usize {
    let s = CLASS_TO_SIZE[c] as usize * 8;
    let s = if s < MIN_SPAN { MIN_SPAN } else { s };
    (s + 4095) & !4095
}

/// A free object: the first word links to the next.
struct FreeObj {
    next: *mut FreeObj,
}

/// One class's central list (Go's mcentral).
struct Central {
    lock: Mutex,
    free: Global<*mut FreeObj>,
}

// SAFETY: `free` is only touched under `lock`.
unsafe impl Sync for Central {}

#[allow(clippy::declare_interior_mutable_const)]
const CENTRAL_INIT: Central = Central { lock: Mutex::new(), free: Global::new(ptr::null_mut()) };
static CENTRAL: [Central; NUM_CLASSES] = [CENTRAL_INIT; NUM_CLASSES];

/// The page heap: bump allocation within the current arena (Go's mheap, without coalescing:
/// spans are never returned, they stay in their class).
struct PageHeap {
    cur: usize,
    end: usize,
    mapped: usize,
}
static HEAP_LOCK: Mutex = Mutex::new();
static HEAP: Global<PageHeap> = Global::new(PageHeap { cur: 0, end: 0, mapped: 0 });

/// Go's mallocinit: checks the class table and reserves the first arena.
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
    HEAP_LOCK.lock();
    // SAFETY: under HEAP_LOCK.
    unsafe { grow_arena(&mut *HEAP.get(), ARENA_SIZE) };
    HEAP_LOCK.unlock();
}

/// Maps a new arena of at least `need` bytes. Huge-page aware (Go's sysHugePage): once the heap
/// outgrows its first arena and osinit found a transparent huge page size, each new arena is
/// aligned to it and marked MADV_HUGEPAGE, so a big heap sits on few TLB entries. The first
/// arena is left to the kernel's default: a huge page there would make a small program's RSS
/// 2 MB instead of ~0.5 MB (measured: hello 488 KB vs 2076 KB). Stacks are kept off huge pages.
///
/// # Safety
/// Caller holds HEAP_LOCK.
unsafe fn grow_arena(h: &mut PageHeap, need: usize) -> bool {
    let size = need.max(ARENA_SIZE);
    let huge = os::phys_huge_page_size();
    let big_heap = h.mapped > 0;
    let align =
        if big_heap && huge.is_power_of_two() && huge > os::phys_page_size() && huge <= size { huge } else { 0 };
    let p = os::sys_alloc(size + align);
    if p.is_null() {
        return false;
    }
    let mut start = p as usize;
    if align != 0 {
        let aligned = (start + align - 1) & !(align - 1);
        // SAFETY: the head and tail around the aligned arena are ours and unused.
        unsafe {
            if aligned > start {
                os::sys_free(p, aligned - start);
            }
            let tail = start + size + align - (aligned + size);
            if tail > 0 {
                os::sys_free((aligned + size) as *mut u8, tail);
            }
            os::sys_huge_pages(aligned as *mut u8, size, true);
        }
        start = aligned;
    }
    h.cur = start;
    h.end = start + size;
    h.mapped += size;
    true
}

/// Takes `n` bytes of fresh, page-aligned memory from the page heap.
fn alloc_span(n: usize) -> *mut u8 {
    HEAP_LOCK.lock();
    // SAFETY: under HEAP_LOCK.
    let h = unsafe { &mut *HEAP.get() };
    // SAFETY: under HEAP_LOCK.
    if h.end - h.cur < n && !unsafe { grow_arena(h, n) } {
        HEAP_LOCK.unlock();
        return ptr::null_mut();
    }
    let p = h.cur;
    h.cur += n;
    HEAP_LOCK.unlock();
    p as *mut u8
}

/// Bytes the heap has mapped from the OS (arenas only).
pub fn heap_mapped() -> usize {
    HEAP_LOCK.lock();
    // SAFETY: under HEAP_LOCK.
    let n = unsafe { (*HEAP.get()).mapped };
    HEAP_LOCK.unlock();
    n
}

fn out_of_memory() -> ! {
    crate::throw("out of memory")
}

/// Allocates one object of class `c` (Go's mallocgc small path via mcentral).
fn alloc_small(c: usize) -> *mut u8 {
    let central = &CENTRAL[c];
    central.lock.lock();
    // SAFETY: the list is only touched under the class lock; objects on it are free memory.
    unsafe {
        let head = &mut *central.free.get();
        if head.is_null() {
            let size = CLASS_TO_SIZE[c] as usize;
            let n = span_bytes(c);
            let span = alloc_span(n);
            if span.is_null() {
                central.lock.unlock();
                out_of_memory();
            }
            // Thread objects 1.. onto the free list; object 0 is returned.
            let count = n / size;
            let mut list: *mut FreeObj = ptr::null_mut();
            for i in (1..count).rev() {
                let o = span.add(i * size) as *mut FreeObj;
                (*o).next = list;
                list = o;
            }
            *head = list;
            central.lock.unlock();
            return span;
        }
        let o = *head;
        *head = (*o).next;
        central.lock.unlock();
        o as *mut u8
    }
}

/// Takes up to `want` (at least one) objects of class `c` from its central list as a linked list,
/// carving a new span if the list is empty.
fn central_take(c: usize, want: u32) -> (*mut FreeObj, u32) {
    let first = alloc_small(c) as *mut FreeObj; // refills from a span when needed
    let central = &CENTRAL[c];
    central.lock.lock();
    // SAFETY: under the class lock; the objects popped become ours.
    unsafe {
        (*first).next = ptr::null_mut();
        let head = &mut *central.free.get();
        let mut list = first;
        let mut got = 1;
        while got < want && !head.is_null() {
            let o = *head;
            *head = (*o).next;
            (*o).next = list;
            list = o;
            got += 1;
        }
        central.lock.unlock();
        (list, got)
    }
}

/// Returns an object to class `c`.
///
/// # Safety
/// `p` must have come from alloc_small(c) and not be used again.
unsafe fn free_small(p: *mut u8, c: usize) {
    let central = &CENTRAL[c];
    central.lock.lock();
    // SAFETY: under the class lock; p is a free object of this class.
    unsafe {
        let head = &mut *central.free.get();
        let o = p as *mut FreeObj;
        (*o).next = *head;
        *head = o;
    }
    central.lock.unlock();
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
}

impl Mcache {
    /// An empty cache.
    pub const fn new() -> Self {
        Mcache { lists: [(ptr::null_mut(), 0); NUM_CLASSES] }
    }
}

impl Default for Mcache {
    fn default() -> Self {
        Self::new()
    }
}

/// The current P's cache, if this code runs with a P (not on an M without one, not in a signal
/// handler, not before procresize).
fn current_mcache() -> Option<&'static mut Mcache> {
    #[cfg(test)]
    {
        None
    }
    #[cfg(not(test))]
    {
        let gp = crate::arch::getg();
        if gp.is_null() {
            return None;
        }
        // SAFETY: gp is the running g; its M's P (if any) is owned by this thread.
        unsafe {
            let mp = (*gp).m;
            if mp.is_null() || gp == (*mp).gsignal {
                return None;
            }
            let pp = (*mp).p.load(core::sync::atomic::Ordering::Relaxed);
            if pp.is_null() {
                None
            } else {
                Some(&mut (*pp).mcache)
            }
        }
    }
}

/// Small allocation: the P's cache first, refilled from the central list in batches.
fn mcache_alloc(c: usize) -> *mut u8 {
    let Some(mc) = current_mcache() else { return alloc_small(c) };
    let (head, n) = &mut mc.lists[c];
    if head.is_null() {
        // Refill: CACHE_BATCH objects from the central list in one lock round trip.
        let (list, got) = central_take(c, CACHE_BATCH);
        *head = list;
        *n = got;
    }
    let o = *head;
    // SAFETY: o is the first object of our own list.
    *head = unsafe { (*o).next };
    *n -= 1;
    o as *mut u8
}

/// Small free: into the P's cache; past CACHE_MAX half goes back to the central list.
///
/// # Safety
/// `p` must be a live object of class `c` that is not used again.
unsafe fn mcache_free(p: *mut u8, c: usize) {
    // SAFETY: forwarded.
    let Some(mc) = current_mcache() else { return unsafe { free_small(p, c) } };
    let (head, n) = &mut mc.lists[c];
    let o = p as *mut FreeObj;
    // SAFETY: o is now a free object owned by this cache.
    unsafe { (*o).next = *head };
    *head = o;
    *n += 1;
    if *n >= CACHE_MAX {
        for _ in 0..CACHE_BATCH {
            let x = *head;
            // SAFETY: x is on our list; it goes back to the central list.
            unsafe {
                *head = (*x).next;
                free_small(x as *mut u8, c);
            }
            *n -= 1;
        }
    }
}

/// Maps a large object directly (Go's largeAlloc).
fn alloc_large(layout: Layout) -> *mut u8 {
    let page = os::phys_page_size();
    let align = layout.align().max(page);
    let size = (layout.size() + page - 1) & !(page - 1);
    let extra = align - page;
    let p = os::sys_alloc(size + extra);
    if p.is_null() {
        out_of_memory();
    }
    if extra == 0 {
        return p;
    }
    let aligned = (p as usize + align - 1) & !(align - 1);
    // SAFETY: trims the parts of our own fresh mapping around the aligned block.
    unsafe {
        if aligned > p as usize {
            os::sys_free(p, aligned - p as usize);
        }
        let tail = p as usize + size + extra - (aligned + size);
        if tail > 0 {
            os::sys_free((aligned + size) as *mut u8, tail);
        }
    }
    aligned as *mut u8
}

/// The runtime's global allocator.
pub struct GoAlloc;

// SAFETY: alloc returns memory of at least layout.size() aligned to layout.align() or aborts;
// dealloc receives the same layout, so it finds the same class.
unsafe impl GlobalAlloc for GoAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let size = layout.size().max(1);
        match size_to_class(size, layout.align()) {
            Some(c) => mcache_alloc(c),
            None => alloc_large(layout),
        }
    }

    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        let size = layout.size().max(1);
        match size_to_class(size, layout.align()) {
            // SAFETY: p came from alloc_small(c) for the same layout.
            Some(c) => unsafe { mcache_free(p, c) },
            None => {
                let page = os::phys_page_size();
                // SAFETY: p is a large mapping of this rounded size.
                unsafe { os::sys_free(p, (layout.size() + page - 1) & !(page - 1)) };
            }
        }
    }

    unsafe fn realloc(&self, p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let old_class = size_to_class(layout.size().max(1), layout.align());
        let new_class = size_to_class(new_size.max(1), layout.align());
        if old_class.is_some() && old_class == new_class {
            return p; // the object's class already has room: grow in place
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
    fn waste_is_bounded() {
        // Go's table keeps tail waste per span under 12.5%.
        for c in 1..NUM_CLASSES {
            let s = CLASS_TO_SIZE[c] as usize;
            let span = span_bytes(c);
            assert!(span / s >= 1);
            assert!((span % s) * 8 <= span, "class {c}");
        }
    }
}
