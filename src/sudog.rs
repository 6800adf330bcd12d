//! Sudogs (Go's `sudog`, `acquireSudog`/`releaseSudog` in proc.go): the record a parked goroutine
//! leaves on a wait queue (a channel's, or a sync primitive's).
//!
//! They live on the heap, never on the parked goroutine's stack: a waker reads the record (which
//! g, which list links) while the goroutine is parked, and a 2 KB stack overflowing from above
//! tramples exactly that goroutine's top frames. With the record on the heap the waker always
//! finds the right g, and checks that g's stack before writing a value into it
//! ([`check_parked_stack`]), so such an overflow is reported as the overflow it is.
//!
//! Each P keeps up to [`CACHE_MAX`] free sudogs (Go's p.sudogcache); beyond that they go back to
//! the allocator. Only the P's owner touches its cache.

use alloc::boxed::Box;
use core::ptr;

use crate::gmp::G;

/// A goroutine waiting on a queue.
pub struct Sudog {
    /// The waiting goroutine.
    pub g: *mut G,
    /// Next on the queue.
    pub next: *mut Sudog,
    /// Previous on the queue (channels: select removes its entries from the middle).
    pub prev: *mut Sudog,
    /// Where the value comes from (send) or goes to (receive): a `*mut T` of the channel's T,
    /// pointing into the parked goroutine's stack. Null for sync waiters.
    pub elem: *mut u8,
    /// Part of a select (its g's selectdone arbitrates between wakers).
    pub is_select: bool,
    /// Channels: completed by a real send/receive (false: woken by close). Mutex: ownership
    /// was handed to this waiter (starvation mode).
    pub success: bool,
}

impl Sudog {
    /// A record for `g` waiting with value slot `elem`.
    pub const fn new(g: *mut G, elem: *mut u8) -> Self {
        Sudog { g, next: ptr::null_mut(), prev: ptr::null_mut(), elem, is_select: false, success: false }
    }
}

/// Free sudogs a P keeps.
pub const CACHE_MAX: usize = 64;

/// A P's free sudogs (Go's p.sudogcache).
pub struct SudogCache {
    free: alloc::vec::Vec<*mut Sudog>,
}

impl SudogCache {
    /// An empty cache.
    pub const fn new() -> Self {
        SudogCache { free: alloc::vec::Vec::new() }
    }
}

/// A sudog for `g` with value slot `elem`, from the current P's cache or the heap (Go's
/// acquireSudog). The caller must hold a P (a goroutine about to park always does).
pub fn acquire_sudog(g: *mut G, elem: *mut u8) -> *mut Sudog {
    let pp = crate::proc::getp();
    // SAFETY: pp is this M's P, whose cache only its owner touches; a cached pointer came from
    // Box::into_raw below and is on no queue.
    unsafe {
        if let Some(sg) = (*pp).sudogcache.free.pop() {
            sg.write(Sudog::new(g, elem));
            return sg;
        }
    }
    Box::into_raw(Box::new(Sudog::new(g, elem)))
}

/// Gives a sudog back once its goroutine has been woken and read it (Go's releaseSudog).
///
/// # Safety
/// `sg` came from [`acquire_sudog`], is on no queue, and no waker can reach it any more.
pub unsafe fn release_sudog(sg: *mut Sudog) {
    let pp = crate::proc::getp();
    // SAFETY: pp is this M's P (see acquire_sudog); sg is ours per the contract.
    unsafe {
        let cache = &mut (*pp).sudogcache.free;
        if cache.len() < CACHE_MAX {
            if cache.capacity() == 0 {
                cache.reserve_exact(CACHE_MAX);
            }
            cache.push(sg);
        } else {
            drop(Box::from_raw(sg));
        }
    }
}

/// Checks the stack of a parked goroutine before a waker writes into (or reads from) it: if its
/// top word or its canary is broken, the stack above it overflowed into it (or it overflowed
/// itself before parking), and that overflow is reported (exit 2) instead of the waker going on
/// with trampled data.
pub fn check_parked_stack(gp: *mut G) {
    // SAFETY: gp is parked on a queue whose lock the caller holds: its stack is live.
    let (top_ok, canary_ok) =
        unsafe { (crate::stack::top_ok(&(*gp).stack), crate::stack::canary_ok(&(*gp).stack, (*gp).stack_guarded)) };
    if !top_ok || !canary_ok {
        crate::overflow::parked_stack_broken(gp, top_ok);
    }
}
