//! The darwin poller (Go's runtime/netpoll_kqueue.go + netpoll_kqueue_event.go): one kqueue,
//! every fd registered once for EVFILT_READ and EVFILT_WRITE, edge-triggered (EV_CLEAR), and an
//! EVFILT_USER event to break a blocked `kevent` (netpollBreak). The calls are libSystem's
//! `kqueue`/`kevent` (`sys/darwin/mod.rs`).
//!
//! Differences from epoll.rs: the kernel forgets an fd's registrations when the fd is closed,
//! so `netpollclose` does nothing (as Go); a registration is one event per filter, so a socket
//! whose peer hung up reports EVFILT_READ with EV_EOF, which readies the writer too (Go's
//! comment: some systems send no EVFILT_WRITE then; the writer retries its call and gets EPIPE or
//! success). An event with `flags == EV_ERROR` readies its side: the retried system call
//! returns the error (Go records it in pd.everr, which only its non-socket files read; gort's
//! pollDesc has no everr, as with epoll's EPOLLERR).
//!
//! **Built for x86_64-apple-darwin and aarch64-apple-darwin and inspected (README "Targets"),
//! never run**: no Mac is reachable from the machines gort is developed on. The struct layout
//! (`Kevent`, 32 bytes) and the constants are Apple's `<sys/event.h>` as Go's
//! defs_darwin_*.go spell them.

use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

use super::PollDesc;
use crate::gmp::GList;
use crate::sys::{kevent, kqueue, Kevent, Timespec};

const EVFILT_READ: i16 = -1;
const EVFILT_WRITE: i16 = -2;
const EVFILT_USER: i16 = -10;
const EV_ADD: u16 = 0x1;
const EV_CLEAR: u16 = 0x20;
const EV_EOF: u16 = 0x8000;
/// EVFILT_USER: trigger the event (fflags).
const NOTE_TRIGGER: u32 = 0x0100_0000;
const EINTR: isize = 4;

/// The EVFILT_USER identifier of the break event (Go's kqIdent, a number chosen to be unique).
const KQ_IDENT: usize = 0xee1e_b9f4;

/// The kqueue fd (set once by netpollinit, published by INITED's Release store).
static KQ: AtomicUsize = AtomicUsize::new(usize::MAX);
/// Go's netpollWakeSig: 1 while a break is pending, so many breaks cost one kevent.
static WAKE_SIG: AtomicU32 = AtomicU32::new(0);

/// The event's user data: the descriptor's address with its fdseq in the top 16 bits (Go's
/// taggedPointer; darwin is 64-bit only and user addresses fit in 48 bits).
fn tag(pd: &PollDesc, seq: usize) -> usize {
    (pd as *const PollDesc as usize) | ((seq & 0xffff) << 48)
}

/// Applies one change, retrying EINTR (Go: the changes were applied before EINTR, but retry to
/// be sure). Err(errno).
fn change(ev: &Kevent) -> Result<(), isize> {
    loop {
        match kevent(KQ.load(Ordering::Relaxed), core::slice::from_ref(ev), &mut [], None) {
            n if n >= 0 => return Ok(()),
            n if n == -EINTR => continue,
            n => return Err(-n),
        }
    }
}

/// Go's netpollinit: the kqueue (close-on-exec) and the EVFILT_USER break event (Go's
/// addWakeupEvent: EV_CLEAR, so each trigger is delivered once). A failure is fatal, as Go's.
pub(super) fn netpollinit() {
    let kq = kqueue();
    if kq < 0 {
        crate::print::fatal_fmt(format_args!("runtime: netpollinit failed with {}", -kq));
    }
    KQ.store(kq as usize, Ordering::Relaxed);
    let ev = Kevent { ident: KQ_IDENT, filter: EVFILT_USER, flags: EV_ADD | EV_CLEAR, ..Kevent::default() };
    if let Err(e) = change(&ev) {
        crate::print::fatal_fmt(format_args!("runtime: kevent for EVFILT_USER failed with {e}"));
    }
}

/// Go's netpollopen: EVFILT_READ and EVFILT_WRITE, EV_ADD | EV_CLEAR (edge-triggered) for the
/// fd's whole life, the tagged descriptor in udata.
pub(super) fn netpollopen(fd: usize, pd: &PollDesc, seq: usize) -> Result<(), i32> {
    let r =
        Kevent { ident: fd, filter: EVFILT_READ, flags: EV_ADD | EV_CLEAR, fflags: 0, data: 0, udata: tag(pd, seq) };
    let w = Kevent { filter: EVFILT_WRITE, ..r };
    let n = kevent(KQ.load(Ordering::Relaxed), &[r, w], &mut [], None);
    if n < 0 {
        Err(-n as i32)
    } else {
        Ok(())
    }
}

/// Go's netpollclose: nothing, closing the fd removes its events from the kqueue.
pub(super) fn netpollclose(_fd: usize) {}

/// Triggers the break event (Go's wakeNetpoll).
fn wake_netpoll() {
    let ev = Kevent { ident: KQ_IDENT, filter: EVFILT_USER, fflags: NOTE_TRIGGER, ..Kevent::default() };
    if let Err(e) = change(&ev) {
        crate::print::fatal_fmt(format_args!("runtime: netpollBreak write failed with {e}"));
    }
}

/// Go's netpollBreak: one trigger while no break is pending.
pub(super) fn netpoll_break() {
    // AcqRel: pairs with netpoll's reset after a blocking poll consumed the trigger.
    if WAKE_SIG.compare_exchange(0, 1, Ordering::AcqRel, Ordering::Relaxed).is_ok() {
        wake_netpoll();
    }
}

/// Go's netpoll: waits up to `delay_ns` (< 0 forever, 0 not at all) and returns the gs made
/// ready and the change in the waiter count.
pub(super) fn netpoll(delay_ns: i64) -> (GList, i32) {
    let kq = KQ.load(Ordering::Relaxed);
    let ts;
    let timeout = if delay_ns < 0 {
        None
    } else {
        // darwin fails a timeout above 1e8 seconds with EINVAL: cap at 1e6 s, as Go (a spurious
        // wake-up is harmless).
        ts = Timespec { tv_sec: (delay_ns / 1_000_000_000).min(1_000_000), tv_nsec: delay_ns % 1_000_000_000 };
        Some(&ts)
    };
    let mut events = [Kevent::default(); 64];
    let n = loop {
        let n = kevent(kq, &[], &mut events, timeout);
        if n >= 0 {
            break n as usize;
        }
        if n != -EINTR {
            crate::print::fatal_fmt(format_args!("runtime: kevent on fd {kq} failed with {}", -n));
        }
        // EINTR: a timed wait returns to recalculate (as Go); a blocking one retries.
        if delay_ns > 0 {
            return (GList::new(), 0);
        }
    };
    let mut list = GList::new();
    let mut delta = 0;
    for ev in &events[..n] {
        if ev.filter == EVFILT_USER {
            if ev.ident != KQ_IDENT {
                crate::print::fatal_fmt(format_args!("runtime: netpoll: break fd ready for {}", ev.ident));
            }
            if delay_ns != 0 {
                // A blocking poll consumed the break.
                WAKE_SIG.store(0, Ordering::Release);
            } else {
                // A non-blocking poll took it (EV_CLEAR reset the event): pass it on to the
                // poller that blocks (Go's processWakeupEvent relay); WAKE_SIG stays 1.
                wake_netpoll();
            }
            continue;
        }
        let (r, w) = match ev.filter {
            // A peer that hung up may send only EVFILT_READ with EV_EOF: wake the writer too.
            EVFILT_READ => (true, ev.flags & EV_EOF != 0),
            EVFILT_WRITE => (false, true),
            _ => (false, false),
        };
        if !r && !w {
            continue;
        }
        let ptr = (ev.udata & ((1usize << 48) - 1)) as *const PollDesc;
        let seq = ev.udata >> 48;
        // SAFETY: the address came from a registered PollDesc; they are never freed.
        let pd = unsafe { &*ptr };
        // Acquire: pairs with poll_free's Release bump; a stale event (the fd closed and the
        // descriptor reused since) is dropped.
        if pd.fdseq.load(Ordering::Acquire) & 0xffff != seq {
            continue;
        }
        // An EV_ERROR event readies its side like any other: the retried system call returns
        // the error (module doc).
        delta += pd.ready(&mut list, r, w);
    }
    (list, delta)
}
