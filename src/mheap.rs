//! The page heap (Go's mheap.go, with mpagealloc and mgcscavenge reduced to what gort needs):
//! 8 KB pages in 64 MB arenas aligned to their size, a span map per arena (page → span, Go's
//! heapArena.spans) found through a two-level arena index (Go's `arenas[L1][L2]`), free spans kept by
//! size and coalesced with their free neighbours, and the scavenger, which gives the pages of spans
//! that stayed free for a while back to the OS (madvise) and keeps count of them, page by page.
//!
//! Spans: a run of pages in one of three states. `SPAN_FREE` spans sit on the heap's free lists;
//! `SPAN_SMALL` spans hold objects of one size class and belong to that class's mcentral
//! (malloc.rs); `SPAN_LARGE` spans are one large object. The span map invariant: the first and last
//! page of every span map to it, and every page of an in-use span does (so any object pointer finds
//! its span); interior entries of a free span may be stale and are never read.
//!
//! Locking: one lock (`Mheap::lock`) for the free lists, span structs and statistics. mcentral
//! calls in with its own lock held (lock order: mcentral, then mheap); the heap never calls out.
//! The span map and arena index are read without the lock: an entry is written (under the lock)
//! before the span's memory is handed out, and the memory reaches whoever frees it through the
//! program's own synchronisation, so a relaxed load already sees the entry (write-read coherence).

use core::ptr;
use core::sync::atomic::{AtomicPtr, AtomicU64, Ordering};

use crate::lock_futex::Mutex;

/// log2 of the heap page size (Go's _PageShift).
pub const PAGE_SHIFT: usize = 13;
/// The heap's page: spans are whole pages (Go's _PageSize, 8 KB).
pub const PAGE_SIZE: usize = 1 << PAGE_SHIFT;
/// log2 of the arena size (Go's logHeapArenaBytes on 64-bit).
#[cfg(not(miri))]
pub const ARENA_SHIFT: usize = 26;
/// Under Miri the host tests run the same code on 4 MB arenas: every size in the heap derives
/// from this constant, and Miri would spend minutes zeroing and walking 64 MB ones.
#[cfg(miri)]
pub const ARENA_SHIFT: usize = 22;
/// Arena size: the heap maps memory from the OS in these units, aligned to them.
pub const ARENA_SIZE: usize = 1 << ARENA_SHIFT;
/// Pages per arena.
pub const PAGES_PER_ARENA: usize = ARENA_SIZE / PAGE_SIZE;
/// Bits of user address space the arena index covers (48 on 64-bit targets: Linux, Windows and
/// darwin all hand out user addresses below 2^48 unless asked for more).
#[cfg(target_pointer_width = "64")]
const ADDR_BITS: usize = 48;
#[cfg(target_pointer_width = "32")]
const ADDR_BITS: usize = 32;
/// Bits of an arena number.
const ARENA_INDEX_BITS: usize = ADDR_BITS - ARENA_SHIFT;
/// Bits of an arena number resolved by the second level (Go's arenaL2Bits).
const L2_BITS: usize = if ARENA_INDEX_BITS < 12 { ARENA_INDEX_BITS } else { 12 };
/// Entries of the first level (Go's 1 << arenaL1Bits).
const L1_LEN: usize = 1 << (ARENA_INDEX_BITS - L2_BITS);
/// Entries of a second-level table.
const L2_LEN: usize = 1 << L2_BITS;
/// Spans of fewer pages than this have a free list of their own; bigger ones share one.
const FREE_LISTS: usize = 128;

/// Span state: on the heap's free lists.
pub const SPAN_FREE: u8 = 0;
/// Span state: objects of one size class, owned by that class's mcentral.
pub const SPAN_SMALL: u8 = 1;
/// Span state: one large object.
pub const SPAN_LARGE: u8 = 2;
/// Span state: free, taken off the lists while the scavenger releases its pages.
const SPAN_SCAVENGING: u8 = 3;

/// A free object inside a small span: the first word links to the next.
pub struct FreeObj {
    /// Next free object of the same span (or of the same mcache list).
    pub next: *mut FreeObj,
}

/// A run of pages (Go's mspan).
pub struct Mspan {
    /// Address of the first page.
    pub start: usize,
    /// Number of pages.
    pub npages: usize,
    next: *mut Mspan,
    prev: *mut Mspan,
    /// SPAN_FREE, SPAN_SMALL, SPAN_LARGE (or SPAN_SCAVENGING, inside the heap only).
    pub state: u8,
    /// Size class (small spans).
    pub class: u8,
    /// Objects in the span (small spans).
    pub nelems: u32,
    /// Objects never handed out yet are those at index >= freeindex (small spans; Go's freeindex).
    pub freeindex: u32,
    /// Objects handed out and not freed (small spans; Go's allocCount).
    pub allocated: u32,
    /// Objects freed back to this span (small spans; Go keeps a bitmap, gort a list).
    pub freelist: *mut FreeObj,
    /// When the span became free (nanotime), for the scavenger.
    free_since: i64,
    /// Whether every page of this free span is already given back to the OS.
    released_all: bool,
    /// In-use spans: whether the memory may hold old data (Go's needzero). False when every page
    /// was released or never touched, so it reads as zero and alloc_zeroed need not clear it.
    pub needzero: bool,
}

impl Mspan {
    /// One past the span's last byte.
    pub fn end(&self) -> usize {
        self.start + (self.npages << PAGE_SHIFT)
    }
}

/// An intrusive doubly-linked list of spans (Go's mSpanList). A span is on at most one list.
pub struct SpanList {
    first: *mut Mspan,
}

impl SpanList {
    /// An empty list.
    pub const fn new() -> Self {
        SpanList { first: ptr::null_mut() }
    }
    /// The first span, or null.
    pub fn first(&self) -> *mut Mspan {
        self.first
    }
    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.first.is_null()
    }
    /// Puts `s` at the front.
    ///
    /// # Safety
    /// `s` must be a valid span on no list; the caller holds the list's lock.
    pub unsafe fn insert(&mut self, s: *mut Mspan) {
        // SAFETY: forwarded to the caller; list members are valid spans.
        unsafe {
            (*s).prev = ptr::null_mut();
            (*s).next = self.first;
            if !self.first.is_null() {
                (*self.first).prev = s;
            }
        }
        self.first = s;
    }
    /// Takes `s` off this list.
    ///
    /// # Safety
    /// `s` must be on this list; the caller holds the list's lock.
    pub unsafe fn remove(&mut self, s: *mut Mspan) {
        // SAFETY: forwarded to the caller; s and its neighbours are valid list members.
        unsafe {
            if (*s).prev.is_null() {
                self.first = (*s).next;
            } else {
                (*(*s).prev).next = (*s).next;
            }
            if !(*s).next.is_null() {
                (*(*s).next).prev = (*s).prev;
            }
            (*s).next = ptr::null_mut();
            (*s).prev = ptr::null_mut();
        }
    }
}

impl Default for SpanList {
    fn default() -> Self {
        Self::new()
    }
}

/// Where the heap gets its memory (the OS layer; host tests give it the std allocator). A trait
/// on a zero-sized type rather than function pointers in the heap: the static heap then has no
/// non-zero byte and sits in .bss instead of adding 9 KB of .data to every binary.
pub trait OsMem {
    /// Maps `n` zeroed read-write bytes aligned to `align` (a power of two), or returns null.
    fn alloc(n: usize, align: usize) -> *mut u8;
    /// Gives whole OS pages back; they read back as zero and stay usable (Go's sysUnused).
    ///
    /// # Safety
    /// The range is memory the heap owns and no longer uses.
    unsafe fn unused(p: *mut u8, n: usize);
    /// Huge-page advice for a new arena other than the first (Go's sysHugePage).
    ///
    /// # Safety
    /// The range is memory the heap owns.
    unsafe fn huge(p: *mut u8, n: usize);
    /// The OS page size: only whole OS pages are released.
    fn page_size() -> usize;
}

/// Per-arena metadata (Go's heapArena): the span map and which pages are released. The
/// released bits first (repr(C)): they share an OS page with the span map entries of the arena's
/// first pages, which a fresh arena writes too.
#[repr(C)]
struct HeapArena {
    /// Bit set: the page is given back to the OS (or was never touched) and not reused since.
    released: [AtomicU64; PAGES_PER_ARENA / 64],
    spans: [AtomicPtr<Mspan>; PAGES_PER_ARENA],
}

/// Off-heap metadata (the arena index's second-level tables, arena metadata, span structs) is
/// carved from chunks of this size (Go's persistentalloc): at startup one mapping instead of
/// three. Never freed, as in Go.
const META_CHUNK: usize = 256 << 10;

/// A second-level table of the arena index.
type ArenaL2 = [AtomicPtr<HeapArena>; L2_LEN];

/// Heap statistics in bytes (the heap side of Go's runtime.MemStats).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HeapStats {
    /// Bytes of arenas mapped from the OS (HeapSys).
    pub sys: usize,
    /// Bytes in spans in use (HeapInuse).
    pub inuse: usize,
    /// Bytes in free spans (HeapIdle): sys = inuse + idle.
    pub idle: usize,
    /// Bytes of free spans given back to the OS or never touched (HeapReleased), <= idle.
    pub released: usize,
}

/// The state under the heap lock.
struct HeapInner {
    /// `free[n]`: free spans of n pages (n < FREE_LISTS); `free[0]`: all bigger free spans.
    free: [SpanList; FREE_LISTS],
    /// Bit n set: `free[n]` is not empty.
    nonempty: u128,
    /// Recycled span structs (Go's fixalloc free list), linked by `next`.
    span_pool: *mut Mspan,
    /// Unused part of the current chunk of span structs.
    span_cur: usize,
    span_end: usize,
    /// Unused part of the current metadata chunk (`meta_alloc`).
    meta_cur: usize,
    meta_end: usize,
    stats: HeapStats,
}

/// The page heap (Go's mheap), over the OS memory `O`.
///
/// The lock comes first and the whole heap starts a page (repr(C), 4 KB aligned), so the L1
/// slots of the first arenas share the lock's page: the first thing a program does to the heap
/// is take the lock, a write, and grow's read of the still empty slot then finds the page
/// mapped. Elsewhere in `.bss` that read mapped the zero page and the store right after it
/// faulted a second time to replace it (issue 22: two of a hello's page faults).
#[repr(C, align(4096))]
pub struct Mheap<O: OsMem> {
    /// The heap lock and the lists and counters it guards. Helpers that need it held take the
    /// `&mut HeapInner` its guard gives; the span map entries they write (arena metadata, outside
    /// the lock's T) are also written only under it.
    lock: Mutex<HeapInner>,
    /// The arena index (Go's mheap.arenas): L1 → L2 table → arena metadata.
    arenas: [AtomicPtr<ArenaL2>; L1_LEN],
    os: core::marker::PhantomData<O>,
}

// SAFETY: the span pointers and chunk addresses in HeapInner are the heap's own memory, which
// any thread may use under the heap lock.
unsafe impl Send for HeapInner {}

#[allow(clippy::declare_interior_mutable_const)]
const NULL_L2: AtomicPtr<ArenaL2> = AtomicPtr::new(ptr::null_mut());
#[allow(clippy::declare_interior_mutable_const)]
const EMPTY_LIST: SpanList = SpanList::new();

impl<O: OsMem> Mheap<O> {
    /// An empty heap; it maps its first arena on first use (or `init`).
    pub const fn new() -> Self {
        Mheap {
            lock: Mutex::new(HeapInner {
                free: [EMPTY_LIST; FREE_LISTS],
                nonempty: 0,
                span_pool: ptr::null_mut(),
                span_cur: 0,
                span_end: 0,
                meta_cur: 0,
                meta_end: 0,
                stats: HeapStats { sys: 0, inuse: 0, idle: 0, released: 0 },
            }),
            arenas: [NULL_L2; L1_LEN],
            os: core::marker::PhantomData,
        }
    }

    /// Takes the heap lock and never gives it back: what a failure inside the allocator
    /// leaves behind (`gort::testing::panic_in_allocator`).
    #[cfg(feature = "testing")]
    pub fn lock_forever(&self) {
        core::mem::forget(self.lock.lock());
    }

    /// Maps the first arena (Go's mallocinit reserving the heap). False if the OS refused.
    pub fn init(&self) -> bool {
        // SAFETY: grow's remaining condition is the lock, held through `h`.
        unsafe { self.grow(&mut self.lock.lock(), 1) }
    }

    /// The heap's statistics.
    pub fn stats(&self) -> HeapStats {
        self.lock.lock().stats
    }

    /// The arena metadata of address `p`, or null if no arena holds it.
    fn arena_of(&self, p: usize) -> *mut HeapArena {
        let idx = p >> ARENA_SHIFT;
        if idx >> ARENA_INDEX_BITS != 0 {
            return ptr::null_mut();
        }
        let l2 = self.arenas[idx >> L2_BITS].load(Ordering::Acquire);
        if l2.is_null() {
            return ptr::null_mut();
        }
        // SAFETY: l2 tables are never freed; the index is in range by construction.
        unsafe { (*l2)[idx & (L2_LEN - 1)].load(Ordering::Acquire) }
    }

    /// The span holding heap address `p` (Go's spanOf), or null if `p` is in no arena. For a
    /// free span's interior page the answer may be stale: callers ask for in-use memory or for
    /// span boundaries only.
    #[inline]
    pub fn span_of(&self, p: usize) -> *mut Mspan {
        let a = self.arena_of(p);
        if a.is_null() {
            return ptr::null_mut();
        }
        // SAFETY: arena metadata is never freed.
        unsafe { (*a).spans[(p >> PAGE_SHIFT) & (PAGES_PER_ARENA - 1)].load(Ordering::Relaxed) }
    }

    /// Points the span map entry of page `p` at `s`.
    ///
    /// # Safety
    /// `p` is a page of a mapped arena; the caller holds the heap lock.
    unsafe fn set_span(&self, p: usize, s: *mut Mspan) {
        let a = self.arena_of(p);
        // SAFETY: forwarded: the arena exists.
        unsafe { (*a).spans[(p >> PAGE_SHIFT) & (PAGES_PER_ARENA - 1)].store(s, Ordering::Relaxed) };
    }

    /// Maps every page of `s` to it (an in-use span).
    ///
    /// # Safety
    /// As set_span, for all of s's pages.
    unsafe fn set_span_all(&self, s: *mut Mspan) {
        // SAFETY: forwarded.
        unsafe {
            let mut p = (*s).start;
            while p < (*s).end() {
                self.set_span(p, s);
                p += PAGE_SIZE;
            }
        }
    }

    /// Maps the first and last page of `s` to it (a free span).
    ///
    /// # Safety
    /// As set_span.
    unsafe fn set_span_ends(&self, s: *mut Mspan) {
        // SAFETY: forwarded.
        unsafe {
            self.set_span((*s).start, s);
            self.set_span((*s).end() - PAGE_SIZE, s);
        }
    }

    /// Sets or clears the released bits of pages `[p, p + n*PAGE_SIZE)`; returns how many pages
    /// changed state.
    ///
    /// A word (64 pages) at a time: a fresh 64 MB arena is 128 words, not 8192 locked
    /// read-modify-writes (that loop was most of mallocinit's time at startup). A word never
    /// straddles two arenas (PAGES_PER_ARENA is a multiple of 64). Out of line: it was inlined at
    /// 3 of its callers (issue 22); a span's allocation calls it once.
    #[inline(never)]
    fn mark_released(&self, p: usize, npages: usize, released: bool) -> usize {
        const { assert!(PAGES_PER_ARENA.is_multiple_of(64)) };
        let mut changed = 0;
        let mut page = p >> PAGE_SHIFT;
        let end = page + npages;
        while page < end {
            let n = page & (PAGES_PER_ARENA - 1);
            let bit0 = n % 64;
            let count = (64 - bit0).min(end - page);
            let a = self.arena_of(page << PAGE_SHIFT);
            if !a.is_null() {
                let mask = if count == 64 { !0 } else { ((1u64 << count) - 1) << bit0 };
                // SAFETY: arena metadata is never freed.
                let w = unsafe { &(*a).released[n / 64] };
                changed += if released {
                    (!w.fetch_or(mask, Ordering::Relaxed) & mask).count_ones()
                } else {
                    (w.fetch_and(!mask, Ordering::Relaxed) & mask).count_ones()
                } as usize;
            }
            page += count;
        }
        changed
    }

    /// Whether page `p` is marked released.
    fn is_released(&self, p: usize) -> bool {
        let a = self.arena_of(p);
        if a.is_null() {
            return false;
        }
        let n = (p >> PAGE_SHIFT) & (PAGES_PER_ARENA - 1);
        // SAFETY: arena metadata is never freed.
        unsafe { (*a).released[n / 64].load(Ordering::Relaxed) & (1 << (n % 64)) != 0 }
    }

    /// `size` bytes of zeroed, never-freed metadata, 64-byte aligned (Go's persistentalloc):
    /// carved from the current META_CHUNK mapping; more than half a chunk gets a mapping of
    /// its own. Null if the OS has no memory.
    ///
    /// Under the heap lock (`h`). Out of line: a cold path of three callers.
    #[inline(never)]
    fn meta_alloc(h: &mut HeapInner, size: usize) -> *mut u8 {
        let size = size.next_multiple_of(64);
        if size > META_CHUNK / 2 {
            return O::alloc(size, 4096);
        }
        if h.meta_end - h.meta_cur < size {
            let c = O::alloc(META_CHUNK, 4096);
            if c.is_null() {
                return c;
            }
            h.meta_cur = c as usize;
            h.meta_end = c as usize + META_CHUNK;
        }
        let p = h.meta_cur;
        h.meta_cur += size;
        p as *mut u8
    }

    /// A span struct (Go's fixalloc for mspans): recycled, else carved from a 64 KB chunk.
    ///
    /// Under the heap lock (`h`).
    fn new_span(h: &mut HeapInner, start: usize, npages: usize) -> *mut Mspan {
        let s = if !h.span_pool.is_null() {
            let s = h.span_pool;
            // SAFETY: pool members are span structs nobody uses.
            h.span_pool = unsafe { (*s).next };
            s
        } else {
            let size = core::mem::size_of::<Mspan>();
            if h.span_end - h.span_cur < size {
                const CHUNK: usize = 64 << 10;
                let c = Self::meta_alloc(h, CHUNK);
                if c.is_null() {
                    return ptr::null_mut();
                }
                h.span_cur = c as usize;
                h.span_end = c as usize + CHUNK;
            }
            let s = h.span_cur as *mut Mspan;
            h.span_cur += size;
            s
        };
        // SAFETY: s is an unused, suitably aligned span struct (chunks are page aligned and
        // size_of is a multiple of the alignment).
        unsafe {
            s.write(Mspan {
                start,
                npages,
                next: ptr::null_mut(),
                prev: ptr::null_mut(),
                state: SPAN_FREE,
                class: 0,
                nelems: 0,
                freeindex: 0,
                allocated: 0,
                freelist: ptr::null_mut(),
                free_since: 0,
                released_all: false,
                needzero: true,
            })
        };
        s
    }

    /// Gives a span struct back to the pool.
    ///
    /// # Safety
    /// `s` is on no list and no span map entry that is read points to it any more.
    unsafe fn dispose_span(h: &mut HeapInner, s: *mut Mspan) {
        // SAFETY: s is a span struct nobody uses any more (the caller's promise).
        unsafe { (*s).next = h.span_pool };
        h.span_pool = s;
    }

    /// The free list for spans of `npages`.
    fn list_index(npages: usize) -> usize {
        if npages < FREE_LISTS {
            npages
        } else {
            0
        }
    }

    /// Puts a free span on its list.
    ///
    /// # Safety
    /// `s` is free and on no list.
    #[inline(never)]
    unsafe fn insert_free(h: &mut HeapInner, s: *mut Mspan) {
        // SAFETY: s is a valid free span on no list (the caller's promise).
        unsafe {
            let i = Self::list_index((*s).npages);
            h.free[i].insert(s);
            h.nonempty |= 1 << i;
        }
    }

    /// Takes a free span off its list.
    ///
    /// # Safety
    /// `s` is on its free list.
    #[inline(never)]
    unsafe fn remove_free(h: &mut HeapInner, s: *mut Mspan) {
        // SAFETY: s is on its free list (the caller's promise).
        unsafe {
            let i = Self::list_index((*s).npages);
            h.free[i].remove(s);
            if h.free[i].is_empty() {
                h.nonempty &= !(1 << i);
            }
        }
    }

    /// A free span of at least `npages`, still on its list, or null: the smallest list that
    /// has one, else the best fit (lowest address among equals) of the big spans.
    ///
    /// Under the heap lock (`h`).
    fn find_free(h: &HeapInner, npages: usize) -> *mut Mspan {
        if npages < FREE_LISTS {
            let mask = h.nonempty & !((1u128 << npages) - 1) & !1;
            if mask != 0 {
                return h.free[mask.trailing_zeros() as usize].first();
            }
        }
        let mut best: *mut Mspan = ptr::null_mut();
        let mut s = h.free[0].first();
        // SAFETY: list members are valid free spans.
        unsafe {
            while !s.is_null() {
                if (*s).npages >= npages
                    && (best.is_null()
                        || (*s).npages < (*best).npages
                        || ((*s).npages == (*best).npages && (*s).start < (*best).start))
                {
                    best = s;
                }
                s = (*s).next;
            }
        }
        best
    }

    /// Maps new arenas for at least `npages` and adds them as a free span (Go's mheap.grow).
    /// Huge-page aware: every arena after the first is advised onto huge pages (the first is
    /// left alone so a small program's RSS stays small).
    ///
    /// # Safety
    /// `h` is the heap lock's guard (the span map entries written here are also the lock's).
    unsafe fn grow(&self, h: &mut HeapInner, npages: usize) -> bool {
        let bytes = npages.checked_mul(PAGE_SIZE).and_then(|b| b.checked_add(ARENA_SIZE - 1));
        let Some(bytes) = bytes else { return false };
        let size = bytes & !(ARENA_SIZE - 1);
        let p = O::alloc(size, ARENA_SIZE) as usize;
        if p == 0 {
            return false;
        }
        if ((p + size - 1) >> ARENA_SHIFT) >> ARENA_INDEX_BITS != 0 {
            crate::throw("mheap: arena above the address space the arena index covers");
        }
        if h.stats.sys > 0 {
            // SAFETY: our fresh mapping.
            unsafe { O::huge(p as *mut u8, size) };
        }
        let mut a = p;
        while a < p + size {
            let idx = a >> ARENA_SHIFT;
            let slot = &self.arenas[idx >> L2_BITS];
            let mut l2 = slot.load(Ordering::Acquire);
            if l2.is_null() {
                l2 = Self::meta_alloc(h, core::mem::size_of::<ArenaL2>()) as *mut ArenaL2;
                if l2.is_null() {
                    return false;
                }
                slot.store(l2, Ordering::Release);
            }
            let meta = Self::meta_alloc(h, core::mem::size_of::<HeapArena>()) as *mut HeapArena;
            if meta.is_null() {
                return false;
            }
            // Fresh pages are not resident: they count as released until used. The new
            // metadata is all zeros, so plain stores set the bits (mark_released's read-modify-
            // writes would read the untouched page first, and a read of a fresh page maps the
            // zero page, which the write then faults again to replace: two faults for one page).
            // SAFETY: meta is fresh, zeroed and ours; nobody else sees it before the store below.
            for w in unsafe { &(*meta).released } {
                w.store(!0, Ordering::Relaxed);
            }
            // SAFETY: zeroed memory is a valid HeapArena (null pointers, zero bits); l2 is ours.
            unsafe { (*l2)[idx & (L2_LEN - 1)].store(meta, Ordering::Release) };
            a += ARENA_SIZE;
        }
        let n = size >> PAGE_SHIFT;
        let s = Self::new_span(h, p, n);
        if s.is_null() {
            return false;
        }
        h.stats.sys += size;
        h.stats.idle += size;
        h.stats.released += size;
        // SAFETY: s is a new free span covering the new arenas, on no list.
        unsafe {
            (*s).released_all = true;
            // Never resident, so nothing to age: "free since forever", and a resident free
            // neighbour it merges with keeps its own age (the merge takes the later time). No
            // clock read here: alloc_span took one for every span it handed out, at startup
            // the vDSO's page and its data page (two page faults) for a time nothing used.
            (*s).free_since = 0;
            self.coalesce_and_insert(h, s);
        }
        true
    }

    /// Cuts free span `s` (taken off its list) down to its first `keep` pages; the rest becomes
    /// a free span of its own, with s's age and released state, back on a list. False if no span
    /// struct could be had (s is then unchanged).
    ///
    /// # Safety
    /// `h` is the heap lock's guard; `s` is free, on no list, and has at least `keep` pages.
    unsafe fn split_free(&self, h: &mut HeapInner, s: *mut Mspan, keep: usize) -> bool {
        // SAFETY: forwarded to the caller.
        unsafe {
            if (*s).npages > keep {
                let rest = Self::new_span(h, (*s).start + (keep << PAGE_SHIFT), (*s).npages - keep);
                if rest.is_null() {
                    return false;
                }
                (*rest).free_since = (*s).free_since;
                (*rest).released_all = (*s).released_all;
                (*s).npages = keep;
                self.set_span_ends(rest);
                Self::insert_free(h, rest);
            }
        }
        true
    }

    /// Allocates a span of `npages` in state `state` (Go's mheap.alloc). Null if out of memory.
    pub fn alloc_span(&self, npages: usize, state: u8) -> *mut Mspan {
        let mut h = self.lock.lock();
        let h = &mut *h;
        // SAFETY: under the heap lock (`h`) throughout; s is a free span found on its list.
        unsafe {
            let mut s = Self::find_free(h, npages);
            if s.is_null() && self.grow(h, npages) {
                s = Self::find_free(h, npages);
            }
            if !s.is_null() {
                Self::remove_free(h, s);
                if !self.split_free(h, s, npages) {
                    Self::insert_free(h, s);
                    return ptr::null_mut();
                }
                let bytes = npages << PAGE_SHIFT;
                let fresh = self.mark_released((*s).start, npages, false);
                h.stats.released -= fresh << PAGE_SHIFT;
                (*s).needzero = fresh != npages;
                h.stats.idle -= bytes;
                h.stats.inuse += bytes;
                (*s).state = state;
                (*s).released_all = false;
                self.set_span_all(s);
            }
            s
        }
    }

    /// Merges free span `s` with free neighbours and puts the result on a free list.
    ///
    /// # Safety
    /// `h` is the heap lock's guard; `s` is SPAN_FREE, on no list, counted in idle.
    unsafe fn coalesce_and_insert(&self, h: &mut HeapInner, s: *mut Mspan) {
        // SAFETY: under the heap lock; neighbours found through the span map boundaries are
        // valid spans (the first/last-page invariant).
        unsafe {
            if (*s).start >= PAGE_SIZE {
                let before = self.span_of((*s).start - PAGE_SIZE);
                if !before.is_null() && (*before).state == SPAN_FREE && (*before).end() == (*s).start {
                    Self::remove_free(h, before);
                    (*s).start = (*before).start;
                    (*s).npages += (*before).npages;
                    (*s).free_since = (*s).free_since.max((*before).free_since);
                    (*s).released_all &= (*before).released_all;
                    Self::dispose_span(h, before);
                }
            }
            let after = self.span_of((*s).end());
            if !after.is_null() && (*after).state == SPAN_FREE && (*after).start == (*s).end() {
                Self::remove_free(h, after);
                (*s).npages += (*after).npages;
                (*s).free_since = (*s).free_since.max((*after).free_since);
                (*s).released_all &= (*after).released_all;
                Self::dispose_span(h, after);
            }
            self.set_span_ends(s);
            Self::insert_free(h, s);
        }
    }

    /// Frees an in-use span (Go's mheap.freeSpan): it merges with free neighbours.
    ///
    /// # Safety
    /// `s` came from alloc_span, is on no list, and neither it nor its memory is used again.
    pub unsafe fn free_span(&self, s: *mut Mspan, now: i64) {
        let mut h = self.lock.lock();
        // SAFETY: under the heap lock; s is ours to free.
        unsafe {
            let bytes = (*s).npages << PAGE_SHIFT;
            h.stats.inuse -= bytes;
            h.stats.idle += bytes;
            (*s).state = SPAN_FREE;
            (*s).free_since = now;
            (*s).released_all = false;
            self.coalesce_and_insert(&mut h, s);
        }
    }

    /// Shrinks in-use span `s` to `npages`, freeing its tail.
    ///
    /// # Safety
    /// `s` is an in-use SPAN_LARGE span whose memory past `npages` is not used.
    pub unsafe fn shrink_span(&self, s: *mut Mspan, npages: usize, now: i64) {
        let mut h = self.lock.lock();
        let h = &mut *h;
        // SAFETY: under the heap lock; s is an in-use span of ours, its tail unused.
        unsafe {
            if npages > 0 && npages < (*s).npages {
                let tail = Self::new_span(h, (*s).start + (npages << PAGE_SHIFT), (*s).npages - npages);
                if !tail.is_null() {
                    (*s).npages = npages;
                    let bytes = (*tail).npages << PAGE_SHIFT;
                    h.stats.inuse -= bytes;
                    h.stats.idle += bytes;
                    (*tail).free_since = now;
                    self.coalesce_and_insert(h, tail);
                }
            }
        }
    }

    /// Grows in-use span `s` to `npages` in place if the pages right after it are free
    /// (realloc's in-place path). Returns whether it did.
    ///
    /// # Safety
    /// `s` is an in-use SPAN_LARGE span owned by the caller.
    pub unsafe fn grow_span_in_place(&self, s: *mut Mspan, npages: usize) -> bool {
        let mut h = self.lock.lock();
        let h = &mut *h;
        // SAFETY: under the heap lock; s is ours, `after` a free span found through the span map.
        unsafe {
            let need = npages.saturating_sub((*s).npages);
            let after = self.span_of((*s).end());
            if need == 0 {
                true
            } else if after.is_null()
                || (*after).state != SPAN_FREE
                || (*after).start != (*s).end()
                || (*after).npages < need
            {
                false
            } else {
                Self::remove_free(h, after);
                if !self.split_free(h, after, need) {
                    Self::insert_free(h, after);
                    return false;
                }
                h.stats.released -= self.mark_released((*after).start, need, false) << PAGE_SHIFT;
                h.stats.idle -= need << PAGE_SHIFT;
                h.stats.inuse += need << PAGE_SHIFT;
                Self::dispose_span(h, after);
                (*s).npages = npages;
                self.set_span_all(s);
                true
            }
        }
    }

    /// The scavenger (Go's mgcscavenge, by age instead of by heap goal): gives back to the OS
    /// every page of every free span that has been free for at least `min_age` ns. The heap lock
    /// is not held across the madvise calls: the span is taken off its list meanwhile. Returns the
    /// bytes released.
    pub fn scavenge(&self, now: i64, min_age: i64) -> usize {
        let mut total = 0;
        // Bound the passes: every pass either finishes a span or finds none.
        for _ in 0..1 << 20 {
            let mut h = self.lock.lock();
            let s = Self::scavenge_candidate(&h, now, min_age);
            if s.is_null() {
                break;
            }
            // SAFETY: s is free and on its list; we hold the lock.
            unsafe {
                Self::remove_free(&mut h, s);
                (*s).state = SPAN_SCAVENGING;
            }
            drop(h);
            // SAFETY: s is ours alone while SPAN_SCAVENGING (no list holds it, no merge takes
            // it, nobody allocates from it).
            let released = unsafe { self.release_pages((*s).start, (*s).npages) };
            let mut h = self.lock.lock();
            h.stats.released += released;
            // SAFETY: under the heap lock; s (ours while SPAN_SCAVENGING) goes back to the free
            // lists.
            unsafe {
                (*s).state = SPAN_FREE;
                (*s).released_all = true;
                self.coalesce_and_insert(&mut h, s);
            }
            total += released;
        }
        total
    }

    /// A free span old enough and not fully released, or null.
    ///
    /// Under the heap lock (`h`).
    fn scavenge_candidate(h: &HeapInner, now: i64, min_age: i64) -> *mut Mspan {
        // SAFETY: list members are valid spans.
        unsafe {
            let mut mask = h.nonempty;
            while mask != 0 {
                let i = mask.trailing_zeros() as usize;
                mask &= mask - 1;
                let mut s = h.free[i].first();
                while !s.is_null() {
                    if !(*s).released_all && now - (*s).free_since >= min_age {
                        return s;
                    }
                    s = (*s).next;
                }
            }
        }
        ptr::null_mut()
    }

    /// Releases the pages of `[p, p + npages pages)` not yet released, in runs of whole OS
    /// pages; marks them. Returns the bytes newly released.
    ///
    /// # Safety
    /// The range is free heap memory nobody else touches meanwhile.
    unsafe fn release_pages(&self, p: usize, npages: usize) -> usize {
        let os_page = O::page_size().max(PAGE_SIZE);
        let end = p + (npages << PAGE_SHIFT);
        let mut released = 0;
        let mut at = p;
        while at < end {
            if self.is_released(at) {
                at += PAGE_SIZE;
                continue;
            }
            let mut run_end = at;
            while run_end < end && !self.is_released(run_end) {
                run_end += PAGE_SIZE;
            }
            // Only whole OS pages can be given back (16 KB or 64 KB pages on some arm64).
            let lo = (at + os_page - 1) & !(os_page - 1);
            let hi = run_end & !(os_page - 1);
            if hi > lo {
                // SAFETY: forwarded: whole OS pages of free heap memory.
                unsafe { O::unused(lo as *mut u8, hi - lo) };
                self.mark_released(lo, (hi - lo) >> PAGE_SHIFT, true);
                released += hi - lo;
            }
            at = run_end;
        }
        released
    }
}

/// A heap over the std allocator for host tests (and Miri): `unused` zeroes the range, as the
/// OS does, and records it. The memory a test heap maps is given back when it is dropped (the
/// real heap never unmaps its arenas; a test must not leak them, or Miri reports it).
#[cfg(test)]
pub mod testing {
    use super::*;
    use std::cell::RefCell;
    use std::sync::Mutex as StdMutex;
    use std::vec::Vec;

    /// Ranges given to `unused` by the test heaps (all tests share it; each checks its own).
    pub static UNUSED: StdMutex<Vec<(usize, usize)>> = StdMutex::new(Vec::new());

    std::thread_local! {
        /// What this thread's test heaps mapped (a test builds and drops its heap on one thread).
        static MAPPED: RefCell<Vec<(*mut u8, std::alloc::Layout)>> = const { RefCell::new(Vec::new()) };
    }

    /// The std allocator as the heap's OS.
    pub struct TestMem;

    impl OsMem for TestMem {
        fn alloc(n: usize, align: usize) -> *mut u8 {
            let layout = std::alloc::Layout::from_size_align(n, align.max(4096)).unwrap();
            // SAFETY: non-zero size.
            let p = unsafe { std::alloc::alloc_zeroed(layout) };
            MAPPED.with(|m| m.borrow_mut().push((p, layout)));
            p
        }
        unsafe fn unused(p: *mut u8, n: usize) {
            // What the OS does: the pages read back as zero.
            // SAFETY: the heap passes free memory it owns.
            unsafe { ptr::write_bytes(p, 0, n) };
            UNUSED.lock().unwrap().push((p as usize, n));
        }
        unsafe fn huge(_p: *mut u8, _n: usize) {}
        fn page_size() -> usize {
            4096
        }
    }

    /// A test heap; dropping it frees everything it mapped.
    pub struct TestHeap(Box<Mheap<TestMem>>);

    impl core::ops::Deref for TestHeap {
        type Target = Mheap<TestMem>;
        fn deref(&self) -> &Mheap<TestMem> {
            &self.0
        }
    }

    impl Drop for TestHeap {
        fn drop(&mut self) {
            MAPPED.with(|m| {
                for (p, layout) in m.borrow_mut().drain(..) {
                    // SAFETY: allocated by test_alloc with this layout; the heap is going away.
                    unsafe { std::alloc::dealloc(p, layout) };
                }
            });
        }
    }

    /// How many mappings this thread's test heaps hold.
    pub fn mappings() -> usize {
        MAPPED.with(|m| m.borrow().len())
    }

    /// A fresh heap over the std allocator.
    pub fn heap() -> TestHeap {
        TestHeap(Box::new(Mheap::new()))
    }
}

#[cfg(test)]
mod tests {
    use super::testing::{heap, UNUSED};
    use super::*;
    use std::vec::Vec;

    fn check(h: &Mheap<testing::TestMem>) -> HeapStats {
        let s = h.stats();
        assert_eq!(s.sys, s.inuse + s.idle, "{s:?}");
        assert!(s.released <= s.idle, "{s:?}");
        s
    }
    fn unused_in(lo: usize, hi: usize) -> usize {
        UNUSED.lock().unwrap().iter().filter(|&&(p, n)| p >= lo && p + n <= hi).map(|&(_, n)| n).sum()
    }

    /// mark_released's word masks against the page-at-a-time answer: ranges that start and end
    /// inside a word, span several, and cover whole words, in both directions.
    #[test]
    #[cfg_attr(
        miri,
        ignore = "minutes under Miri (a whole arena's pages read one by one); runs natively in cargo xtask test"
    )]
    fn mark_released_counts_each_page_once() {
        let h = heap();
        assert!(h.init());
        let base = h.stats().sys; // one arena, all of it released by init
        assert_eq!(base, ARENA_SIZE);
        let s = h.alloc_span(1, SPAN_LARGE);
        // SAFETY: s is a live span of this heap.
        let arena = unsafe { (*s).start } & !(ARENA_SIZE - 1);
        let mut model = std::vec![true; PAGES_PER_ARENA];
        for (i, m) in model.iter_mut().enumerate() {
            *m = h.is_released(arena + i * PAGE_SIZE);
        }
        let ranges = [(0, 1), (3, 60), (60, 10), (63, 1), (64, 64), (1, 200), (130, 1), (0, 300), (257, 0)];
        for released in [false, true, false] {
            for &(first, n) in &ranges {
                let want = model[first..first + n].iter().filter(|&&r| r != released).count();
                let got = h.mark_released(arena + first * PAGE_SIZE, n, released);
                assert_eq!(got, want, "range {first}+{n} to {released}");
                model[first..first + n].iter_mut().for_each(|r| *r = released);
                for (i, &m) in model.iter().enumerate().take(400) {
                    assert_eq!(h.is_released(arena + i * PAGE_SIZE), m, "page {i} after {first}+{n}");
                }
            }
        }
    }

    #[test]
    fn alloc_maps_every_page_and_fresh_memory_counts_released() {
        let h = heap();
        assert!(h.init());
        let s0 = check(&h);
        assert_eq!(s0.sys, ARENA_SIZE);
        assert_eq!(s0.released, ARENA_SIZE);
        let s = h.alloc_span(5, SPAN_LARGE);
        assert!(!s.is_null());
        // SAFETY: s is a live span of this heap.
        unsafe {
            assert_eq!((*s).start % PAGE_SIZE, 0);
            for p in ((*s).start..(*s).end()).step_by(PAGE_SIZE / 2) {
                assert_eq!(h.span_of(p), s);
            }
        }
        let st = check(&h);
        assert_eq!(st.inuse, 5 * PAGE_SIZE);
        assert_eq!(st.released, ARENA_SIZE - 5 * PAGE_SIZE);
        assert!(h.span_of(12345).is_null(), "an address outside every arena has no span");
    }

    #[test]
    #[cfg_attr(
        miri,
        ignore = "minutes under Miri (per-page atomics over whole arenas); runs natively in cargo xtask test"
    )]
    fn freed_neighbours_coalesce() {
        let h = heap();
        let a = h.alloc_span(3, SPAN_LARGE);
        let b = h.alloc_span(4, SPAN_LARGE);
        let c = h.alloc_span(5, SPAN_LARGE);
        // SAFETY: live spans of this heap, freed once each.
        unsafe {
            assert_eq!((*a).end(), (*b).start);
            assert_eq!((*b).end(), (*c).start);
            let (start, end) = ((*a).start, (*c).end());
            h.free_span(a, 1);
            h.free_span(c, 1);
            h.free_span(b, 1);
            // Everything is one free span again: a 12-page request lands at a's start, and the
            // whole arena can be taken in one piece.
            let d = h.alloc_span(12, SPAN_LARGE);
            assert_eq!((*d).start, start);
            assert_eq!((*d).end(), end);
            h.free_span(d, 3);
            let all = h.alloc_span(PAGES_PER_ARENA, SPAN_LARGE);
            assert_eq!((*all).start, start, "one arena, fully coalesced");
            assert_eq!(check(&h).sys, ARENA_SIZE, "no growth needed");
            h.free_span(all, 5);
        }
        assert_eq!(check(&h).inuse, 0);
    }

    #[test]
    #[cfg_attr(
        miri,
        ignore = "minutes under Miri (per-page atomics over whole arenas); runs natively in cargo xtask test"
    )]
    fn small_requests_reuse_freed_memory_before_growing() {
        let h = heap();
        let spans: Vec<_> = (0..100).map(|i| h.alloc_span(1 + i % 7, SPAN_LARGE)).collect();
        let sys = check(&h).sys;
        for &s in &spans {
            // SAFETY: each span freed once.
            unsafe { h.free_span(s, 0) };
        }
        for i in 0..100 {
            assert!(!h.alloc_span(1 + i % 7, SPAN_LARGE).is_null());
        }
        assert_eq!(check(&h).sys, sys);
    }

    #[test]
    #[cfg_attr(
        miri,
        ignore = "minutes under Miri (per-page atomics over whole arenas); runs natively in cargo xtask test"
    )]
    fn large_requests_span_arenas() {
        let h = heap();
        let n = PAGES_PER_ARENA + PAGES_PER_ARENA / 2;
        let s = h.alloc_span(n, SPAN_LARGE);
        assert!(!s.is_null());
        // SAFETY: a live span of this heap.
        unsafe {
            assert_eq!((*s).npages, n);
            assert_eq!(h.span_of((*s).end() - 1), s);
            assert_eq!(h.span_of((*s).start + ARENA_SIZE), s);
            let st = check(&h);
            assert!(st.sys >= 2 * ARENA_SIZE);
            h.free_span(s, 0);
        }
        check(&h);
    }

    /// The first arena's metadata (index table, arena metadata, span structs) comes from one
    /// META_CHUNK mapping (Go's persistentalloc): a heap is two mappings, not four.
    #[test]
    fn metadata_shares_one_mapping() {
        let h = heap();
        let before = super::testing::mappings();
        assert!(h.init());
        let s = h.alloc_span(1, SPAN_LARGE);
        assert!(!s.is_null());
        assert_eq!(super::testing::mappings() - before, 2, "the arena and one metadata chunk");
        // SAFETY: s is a live span of this heap.
        unsafe { h.free_span(s, 0) };
        check(&h);
    }

    #[test]
    fn scavenger_releases_old_free_spans_only() {
        let h = heap();
        let keep = h.alloc_span(2, SPAN_LARGE);
        let old = h.alloc_span(8, SPAN_LARGE);
        let mid = h.alloc_span(1, SPAN_LARGE);
        let young = h.alloc_span(8, SPAN_LARGE);
        let keep2 = h.alloc_span(2, SPAN_LARGE);
        // SAFETY: live spans; the memory written is theirs.
        unsafe {
            ptr::write_bytes((*old).start as *mut u8, 0xaa, 8 * PAGE_SIZE);
            ptr::write_bytes((*young).start as *mut u8, 0xbb, 8 * PAGE_SIZE);
            let (olo, ohi) = ((*old).start, (*old).end());
            let (ylo, yhi) = ((*young).start, (*young).end());
            h.free_span(old, 100);
            h.free_span(young, 900);
            let before = check(&h).released;
            // At t=1000 with min age 500, only the old span qualifies.
            let got = h.scavenge(1000, 500);
            assert_eq!(got, 8 * PAGE_SIZE);
            assert_eq!(unused_in(olo, ohi), 8 * PAGE_SIZE);
            assert_eq!(unused_in(ylo, yhi), 0, "a young free span is kept");
            assert_eq!(check(&h).released, before + got);
            assert_eq!(*(ylo as *const u8), 0xbb);
            // Later both are old; the old one is not released twice.
            let got = h.scavenge(2000, 500);
            assert_eq!(got, 8 * PAGE_SIZE);
            assert_eq!(unused_in(olo, ohi), 8 * PAGE_SIZE);
            assert_eq!(h.scavenge(3000, 0), 0, "nothing left to release");
            // Freeing `mid` merges old, mid and young; only mid's page is not released yet, and
            // a merged span younger than the age limit waits.
            h.free_span(mid, 3500);
            assert_eq!(h.scavenge(3600, 500), 0);
            assert_eq!(h.scavenge(4000, 500), PAGE_SIZE, "only the page not yet released");
            // Reusing released pages takes them out of the released count.
            let r = check(&h).released;
            let again = h.alloc_span(17, SPAN_LARGE);
            assert_eq!((*again).start, olo, "the coalesced run is reused");
            assert_eq!(check(&h).released, r - 17 * PAGE_SIZE);
            assert_eq!(*(olo as *const u8), 0, "released pages read back as zero");
            assert!(!(*again).needzero, "every page was released: no clearing needed");
            let used = h.alloc_span(1, SPAN_LARGE);
            h.free_span(used, 4000);
            let reused = h.alloc_span(1, SPAN_LARGE);
            assert!((*reused).needzero, "a page freed but not released may hold old data");
            assert_eq!(h.span_of((*keep).start), keep);
            assert_eq!(h.span_of((*keep2).start), keep2);
        }
    }

    #[test]
    fn grow_in_place_and_shrink() {
        let h = heap();
        let a = h.alloc_span(4, SPAN_LARGE);
        // SAFETY: live spans of this heap.
        unsafe {
            assert!(h.grow_span_in_place(a, 10));
            assert_eq!((*a).npages, 10);
            assert_eq!(h.span_of((*a).end() - 1), a);
            let b = h.alloc_span(1, SPAN_LARGE);
            assert_eq!((*b).start, (*a).end());
            assert!(!h.grow_span_in_place(a, 11), "b is in the way");
            h.shrink_span(a, 3, 0);
            assert_eq!((*a).npages, 3);
            assert!(h.grow_span_in_place(a, 10), "the freed tail is free again");
            assert_eq!(check(&h).inuse, 11 * PAGE_SIZE);
        }
    }

    /// A random walk of allocations and frees against a model: spans never overlap, every page
    /// of every live span maps to it, and the statistics add up.
    #[test]
    #[cfg_attr(
        miri,
        ignore = "minutes under Miri (per-page atomics over whole arenas); runs natively in cargo xtask test"
    )]
    fn random_alloc_free_keeps_invariants() {
        let h = heap();
        let mut live: Vec<*mut Mspan> = Vec::new();
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let steps = if cfg!(miri) { 200 } else { 20_000 };
        for t in 0..steps {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            if live.is_empty() || !x.is_multiple_of(3) {
                let n = if x.is_multiple_of(50) { 100 + (x >> 8) as usize % 3000 } else { 1 + (x >> 8) as usize % 20 };
                let s = h.alloc_span(n, SPAN_LARGE);
                assert!(!s.is_null());
                live.push(s);
            } else {
                let s = live.swap_remove((x >> 16) as usize % live.len());
                // SAFETY: freed once.
                unsafe { h.free_span(s, t) };
            }
            if t % 1000 == 0 {
                h.scavenge(t, 300);
            }
        }
        let mut ranges: Vec<(usize, usize)> = live
            .iter()
            // SAFETY: live spans.
            .map(|&s| unsafe { ((*s).start, (*s).end()) })
            .collect();
        ranges.sort_unstable();
        for w in ranges.windows(2) {
            assert!(w[0].1 <= w[1].0, "overlap {w:?}");
        }
        let mut pages = 0;
        for &s in &live {
            // SAFETY: live spans.
            unsafe {
                pages += (*s).npages;
                for p in ((*s).start..(*s).end()).step_by(PAGE_SIZE) {
                    assert_eq!(h.span_of(p), s);
                }
            }
        }
        assert_eq!(check(&h).inuse, pages * PAGE_SIZE);
        for s in live {
            // SAFETY: freed once.
            unsafe { h.free_span(s, steps) };
        }
        let st = check(&h);
        assert_eq!(st.inuse, 0);
        h.scavenge(i64::MAX, 0);
        assert_eq!(check(&h).released, st.sys, "everything free is released");
    }
}
