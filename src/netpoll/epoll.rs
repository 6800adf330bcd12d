//! The linux poller (Go's runtime/netpoll_epoll.go): one epoll instance, every fd registered
//! once, edge-triggered for reads and writes, and an eventfd to break a blocked `epoll_pwait`
//! (netpollBreak). Same system calls on amd64, arm64 and arm (numbers in `sys/linux/<arch>.rs`).

use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

use super::PollDesc;
use crate::gmp::GList;
use crate::sys::{nr, syscall6};

const EPOLLIN: u32 = 0x1;
const EPOLLOUT: u32 = 0x4;
const EPOLLERR: u32 = 0x8;
const EPOLLHUP: u32 = 0x10;
const EPOLLRDHUP: u32 = 0x2000;
const EPOLLET: u32 = 0x8000_0000;
const EPOLL_CTL_ADD: usize = 1;
const EPOLL_CTL_DEL: usize = 2;
const EPOLL_CLOEXEC: usize = 0o2000000;
const EFD_CLOEXEC: usize = 0o2000000;
const EFD_NONBLOCK: usize = 0o4000;
const EINTR: isize = 4;

/// struct epoll_event: packed on amd64 (12 bytes), naturally aligned (16 bytes) elsewhere.
#[cfg_attr(target_arch = "x86_64", repr(C, packed))]
#[cfg_attr(not(target_arch = "x86_64"), repr(C))]
#[derive(Clone, Copy)]
struct EpollEvent {
    events: u32,
    data: u64,
}

/// The epoll fd (set once by netpollinit, published by INITED's Release store).
static EPFD: AtomicUsize = AtomicUsize::new(usize::MAX);
/// The eventfd netpollBreak writes.
static BREAK_FD: AtomicUsize = AtomicUsize::new(usize::MAX);
/// Go's netpollWakeSig: 1 while a break is pending, so many breaks cost one write.
static WAKE_SIG: AtomicU32 = AtomicU32::new(0);
/// The user data of the eventfd's event (no pollDesc has this address).
const BREAK_TAG: u64 = 1;

/// The epoll event's user data: the descriptor's address with its fdseq in the top 16 bits
/// (Go's taggedPointer; user addresses fit in 48 bits on amd64 and arm64, 32 on arm).
fn tag(pd: &PollDesc, seq: usize) -> u64 {
    (pd as *const PollDesc as usize as u64) | ((seq as u64 & 0xffff) << 48)
}

/// Go's netpollinit: the epoll fd and the break eventfd. A failure is fatal, as Go's.
pub(super) fn netpollinit() {
    // SAFETY: plain system calls with integer arguments.
    let epfd = unsafe { syscall6(nr::EPOLL_CREATE1, EPOLL_CLOEXEC, 0, 0, 0, 0, 0) };
    if epfd < 0 {
        crate::print::fatal_fmt(format_args!("runtime: netpollinit failed with {}", -epfd));
    }
    // SAFETY: as above.
    let efd = unsafe { syscall6(nr::EVENTFD2, 0, EFD_CLOEXEC | EFD_NONBLOCK, 0, 0, 0, 0) };
    if efd < 0 {
        crate::print::fatal_fmt(format_args!("runtime: eventfd failed with {}", -efd));
    }
    let mut ev = EpollEvent { events: EPOLLIN, data: BREAK_TAG };
    // SAFETY: ev is a valid epoll_event.
    let r = unsafe {
        syscall6(nr::EPOLL_CTL, epfd as usize, EPOLL_CTL_ADD, efd as usize, &mut ev as *mut _ as usize, 0, 0)
    };
    if r < 0 {
        crate::print::fatal_fmt(format_args!("runtime: epollctl failed with {}", -r));
    }
    BREAK_FD.store(efd as usize, Ordering::Relaxed);
    EPFD.store(epfd as usize, Ordering::Relaxed);
}

/// Go's netpollopen: registers fd, edge-triggered, for reads, writes and peer hang-ups.
pub(super) fn netpollopen(fd: usize, pd: &PollDesc, seq: usize) -> Result<(), i32> {
    let mut ev = EpollEvent { events: EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, data: tag(pd, seq) };
    // SAFETY: ev is a valid epoll_event.
    let r = unsafe {
        syscall6(nr::EPOLL_CTL, EPFD.load(Ordering::Relaxed), EPOLL_CTL_ADD, fd, &mut ev as *mut _ as usize, 0, 0)
    };
    if r < 0 {
        Err(-r as i32)
    } else {
        Ok(())
    }
}

/// Go's netpollclose.
pub(super) fn netpollclose(fd: usize) {
    let mut ev = EpollEvent { events: 0, data: 0 };
    // SAFETY: ev is a valid epoll_event (ignored by DEL on current kernels).
    unsafe {
        syscall6(nr::EPOLL_CTL, EPFD.load(Ordering::Relaxed), EPOLL_CTL_DEL, fd, &mut ev as *mut _ as usize, 0, 0)
    };
}

/// Go's netpollBreak: one write to the eventfd while no break is pending.
pub(super) fn netpoll_break() {
    // AcqRel: pairs with netpoll's reset after it drained the eventfd.
    if WAKE_SIG.compare_exchange(0, 1, Ordering::AcqRel, Ordering::Relaxed).is_err() {
        return;
    }
    let one: u64 = 1;
    loop {
        // SAFETY: writes 8 bytes from a valid u64.
        let r =
            unsafe { syscall6(nr::WRITE, BREAK_FD.load(Ordering::Relaxed), &one as *const u64 as usize, 8, 0, 0, 0) };
        if r == -EINTR {
            continue;
        }
        // EAGAIN: the counter is already non-zero, the poller will wake anyway.
        return;
    }
}

/// Go's netpoll: waits up to `delay_ns` (< 0 forever, 0 not at all) and returns the gs made
/// ready and the change in the waiter count.
pub(super) fn netpoll(delay_ns: i64) -> (GList, i32) {
    let epfd = EPFD.load(Ordering::Relaxed);
    // Go's rounding: under a millisecond waits one; very long waits are capped (a spurious
    // wake-up is harmless).
    let waitms: isize = if delay_ns < 0 {
        -1
    } else if delay_ns == 0 {
        0
    } else if delay_ns < 1_000_000 {
        1
    } else if delay_ns < 1_000_000_000_000_000 {
        (delay_ns / 1_000_000) as isize
    } else {
        1_000_000_000
    };
    let mut events = [EpollEvent { events: 0, data: 0 }; 128];
    let n = loop {
        // SAFETY: events is a writable array of 128 epoll_events; no signal mask.
        let n = unsafe {
            syscall6(nr::EPOLL_PWAIT, epfd, events.as_mut_ptr() as usize, events.len(), waitms as usize, 0, 0)
        };
        if n >= 0 {
            break n as usize;
        }
        if n != -EINTR {
            crate::print::fatal_fmt(format_args!("runtime: netpoll failed with {}", -n));
        }
        // EINTR: a timed wait returns to recalculate (as Go); a blocking one retries.
        if waitms > 0 {
            return (GList::new(), 0);
        }
    };
    let mut list = GList::new();
    let mut delta = 0;
    for ev in &events[..n] {
        let (bits, data) = (ev.events, ev.data);
        if bits == 0 {
            continue;
        }
        if data == BREAK_TAG {
            if delay_ns != 0 {
                // A blocking poll consumes the break (a non-blocking one leaves it for the
                // blocked poller, as Go).
                let mut buf = 0u64;
                // SAFETY: reads 8 bytes into a valid u64.
                unsafe {
                    syscall6(nr::READ, BREAK_FD.load(Ordering::Relaxed), &mut buf as *mut u64 as usize, 8, 0, 0, 0)
                };
                WAKE_SIG.store(0, Ordering::Release);
            }
            continue;
        }
        let r = bits & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR) != 0;
        let w = bits & (EPOLLOUT | EPOLLHUP | EPOLLERR) != 0;
        if !r && !w {
            continue;
        }
        let ptr = (data & ((1u64 << 48) - 1)) as usize as *const PollDesc;
        let seq = (data >> 48) as usize;
        // SAFETY: the address came from a registered PollDesc; they are never freed.
        let pd = unsafe { &*ptr };
        // Acquire: pairs with poll_free's Release bump; a stale event (the fd closed and the
        // descriptor reused since) is dropped.
        if pd.fdseq.load(Ordering::Acquire) & 0xffff != seq {
            continue;
        }
        // EPOLLERR wakes both sides; their retried system call returns the error (Go keeps
        // an everr flag only for its pollable-but-not-socket files).
        delta += pd.ready(&mut list, r, w);
    }
    (list, delta)
}
