//! Sudogs (Go's `sudog`, `acquireSudog`/`releaseSudog` in proc.go): the record a parked goroutine
//! leaves on a wait queue (a channel's, or a sync primitive's).
//!
//! They live on the heap, never on the parked goroutine's stack: a waker reads the record (which
//! g, which list links) while the goroutine is parked, and a 2 KB stack overflowing from above
//! tramples exactly that goroutine's top frames. With the record on the heap the waker always
//! finds the right g, and checks that g's stack before writing a value into it
//! ([`check_parked_stack`]), so such an overflow is reported as the overflow it is.
//!
//! Each goroutine keeps the sudog it last parked with (`g.sudog`) for its next park, so a
//! park costs no allocation after the first.

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

/// A sudog for `g` with value slot `elem`: g's spare one (a goroutine parks on one queue at a
/// time, and keeps its record between parks), or a new one from the heap the first time (Go
/// keeps a per-P cache, acquireSudog; one per g is cheaper and bounded by the gs that ever
/// parked, which Go's cache is not much below).
pub fn acquire_sudog(g: *mut G, elem: *mut u8) -> *mut Sudog {
    // SAFETY: g is the running goroutine; only it touches its spare sudog.
    let spare = unsafe {
        let s = (*g).sudog;
        (*g).sudog = ptr::null_mut();
        s
    };
    if spare.is_null() {
        return Box::into_raw(Box::new(Sudog::new(g, elem)));
    }
    // SAFETY: the spare came from Box::into_raw and is on no queue.
    unsafe { spare.write(Sudog::new(g, elem)) };
    spare
}

/// Gives a sudog back once its goroutine has been woken and read it (Go's releaseSudog): it
/// becomes the goroutine's spare.
///
/// # Safety
/// `sg` came from [`acquire_sudog`] for the running goroutine, is on no queue, and no waker can
/// reach it any more.
pub unsafe fn release_sudog(sg: *mut Sudog) {
    // SAFETY: per the contract; the running g's spare slot is its own.
    unsafe {
        let g = (*sg).g;
        if (*g).sudog.is_null() {
            (*g).sudog = sg;
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
