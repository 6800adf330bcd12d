//! The windows poller (Go's runtime/netpoll_windows.go): one I/O completion port, every socket
//! associated with it at `poll_open`, and `GetQueuedCompletionStatusEx` as `netpoll(delay)`.
//!
//! epoll says "this fd is ready, retry the call"; a completion port says "this operation is
//! done". So each read or write is an [`Operation`] (an OVERLAPPED with, after it, the pollDesc
//! and mode it belongs to): `net/fd_windows.rs` starts it (WSARecv & co. with the operation's
//! OVERLAPPED) and parks in `PollDesc::wait`; the completion packet carries the OVERLAPPED's
//! address, which is the operation's (it is the first field), so `netpoll` finds the pollDesc
//! and the mode and readies the waiter through the OS-neutral `netpollready` (`PollDesc::ready`).
//! The waiter then asks `WSAGetOverlappedResult` for the outcome (Go's netpoll asks it itself;
//! here the poller imports nothing from ws2_32, so a program without sockets never loads
//! Winsock). `netpollBreak` posts a packet with no OVERLAPPED.
//!
//! No stale packets: a completion is dequeued for every operation started, and the net package
//! never returns from an operation (so never closes the socket, recycles the pollDesc or frees
//! the operation) before its packet was handled here (net/fd_windows.rs, `exec_io`). So unlike
//! epoll's user data, a packet needs no fdseq tag.

use core::cell::UnsafeCell;
use core::sync::atomic::{AtomicU32, AtomicUsize, Ordering};

use super::{Mode, PollDesc};
use crate::gmp::GList;

/// OVERLAPPED (the same field list on every arch: two ULONG_PTRs, two DWORDs, a HANDLE).
#[repr(C)]
pub(crate) struct Overlapped {
    internal: usize,
    internal_high: usize,
    offset: u32,
    offset_high: u32,
    event: usize,
}

/// OVERLAPPED_ENTRY: what GetQueuedCompletionStatusEx returns per packet.
#[repr(C)]
#[derive(Clone, Copy)]
struct OverlappedEntry {
    key: usize,
    overlapped: *mut Overlapped,
    internal: usize,
    qty: u32,
}

#[link(name = "kernel32", kind = "raw-dylib")]
extern "system" {
    fn CreateIoCompletionPort(file: usize, port: usize, key: usize, threads: u32) -> usize;
    fn GetQueuedCompletionStatusEx(
        port: usize,
        entries: *mut OverlappedEntry,
        count: u32,
        removed: *mut u32,
        ms: u32,
        alertable: i32,
    ) -> i32;
    fn PostQueuedCompletionStatus(port: usize, qty: u32, key: usize, o: *mut Overlapped) -> i32;
    fn GetLastError() -> u32;
}

const INVALID_HANDLE_VALUE: usize = usize::MAX;
const INFINITE: u32 = u32::MAX;
const WAIT_TIMEOUT: u32 = 258;

/// Go's net_op: one overlapped socket operation. `repr(C)` with the OVERLAPPED first, so the
/// address a completion packet carries is the operation's.
#[repr(C)]
pub(crate) struct Operation {
    /// Written by the kernel while the operation is pending: only ever touched through the raw
    /// pointer `start` returns, never through a reference.
    o: UnsafeCell<Overlapped>,
    /// The descriptor and side the packet readies.
    pd: &'static PollDesc,
    mode: Mode,
}

// SAFETY: the OVERLAPPED is shared only with the kernel, through raw pointers, by the one
// goroutine that holds the operation's side (the net package's read or write lock); the rest is
// a &'static PollDesc (Sync) and a Copy mode.
unsafe impl Sync for Operation {}
// SAFETY: as above; nothing in it is tied to a thread.
unsafe impl Send for Operation {}

impl Operation {
    /// An operation for `mode` on a socket registered as `pd`.
    pub(crate) fn new(pd: &'static PollDesc, mode: Mode) -> Operation {
        Operation {
            o: UnsafeCell::new(Overlapped { internal: 0, internal_high: 0, offset: 0, offset_high: 0, event: 0 }),
            pd,
            mode,
        }
    }

    /// Clears the OVERLAPPED before a new operation starts and returns its address, for the
    /// starting call and later for WSAGetOverlappedResult and CancelIoEx.
    ///
    /// # Safety
    /// No operation may be pending on it (the caller holds its side's lock and waited for the
    /// last one's completion).
    pub(crate) unsafe fn start(&self) -> *mut Overlapped {
        let p = self.o.get();
        // SAFETY: nothing else (the kernel included) uses the OVERLAPPED now, per the contract.
        unsafe { p.write(Overlapped { internal: 0, internal_high: 0, offset: 0, offset_high: 0, event: 0 }) };
        p
    }
}

/// The completion port (set once by netpollinit, published by INITED's Release store).
static IOCP: AtomicUsize = AtomicUsize::new(INVALID_HANDLE_VALUE);
/// Go's netpollWakeSig: 1 while a break packet is queued, so many breaks cost one packet.
static WAKE_SIG: AtomicU32 = AtomicU32::new(0);

/// Go's netpollinit: the completion port. A failure is fatal, as Go's.
pub(super) fn netpollinit() {
    // SAFETY: creates a new port (no file); plain integer arguments.
    let h = unsafe { CreateIoCompletionPort(INVALID_HANDLE_VALUE, 0, 0, u32::MAX) };
    if h == 0 {
        // SAFETY: no arguments.
        let e = unsafe { GetLastError() };
        crate::print::fatal_fmt(format_args!("runtime: CreateIoCompletionPort failed (errno={e})"));
    }
    IOCP.store(h, Ordering::Relaxed);
}

/// Go's netpollopen: associates the socket with the port (for its whole life). The pollDesc
/// and fdseq are not needed: each packet names its operation.
pub(super) fn netpollopen(fd: usize, _pd: &PollDesc, _seq: usize) -> Result<(), i32> {
    // SAFETY: fd is a socket the caller owns; the port is ours.
    if unsafe { CreateIoCompletionPort(fd, IOCP.load(Ordering::Relaxed), 0, 0) } == 0 {
        // SAFETY: no arguments.
        Err(unsafe { GetLastError() } as i32)
    } else {
        Ok(())
    }
}

/// Go's netpollclose: nothing (closing the socket ends its association).
pub(super) fn netpollclose(_fd: usize) {}

/// Go's netpollBreak: one packet without an OVERLAPPED while none is queued.
pub(super) fn netpoll_break() {
    // AcqRel: pairs with netpoll's reset when it dequeues the packet.
    if WAKE_SIG.compare_exchange(0, 1, Ordering::AcqRel, Ordering::Relaxed).is_err() {
        return;
    }
    // SAFETY: posts to our port; a null OVERLAPPED marks the break packet.
    if unsafe { PostQueuedCompletionStatus(IOCP.load(Ordering::Relaxed), 0, 0, core::ptr::null_mut()) } == 0 {
        // SAFETY: no arguments.
        let e = unsafe { GetLastError() };
        crate::print::fatal_fmt(format_args!("runtime: netpoll: PostQueuedCompletionStatus failed (errno={e})"));
    }
}

/// Go's netpoll: waits up to `delay_ns` (< 0 forever, 0 not at all) for completion packets and
/// returns the gs they ready and the change in the waiter count.
pub(super) fn netpoll(delay_ns: i64) -> (GList, i32) {
    let port = IOCP.load(Ordering::Relaxed);
    // Go's rounding: under a millisecond waits one; very long waits are capped.
    let wait: u32 = if delay_ns < 0 {
        INFINITE
    } else if delay_ns == 0 {
        0
    } else if delay_ns < 1_000_000 {
        1
    } else if delay_ns < 1_000_000_000_000_000 {
        (delay_ns / 1_000_000) as u32
    } else {
        1_000_000_000
    };
    let mut entries = [OverlappedEntry { key: 0, overlapped: core::ptr::null_mut(), internal: 0, qty: 0 }; 64];
    // Go takes at most 64/GOMAXPROCS (at least 8) per call, so several polling Ms share them.
    let max = (entries.len() as u32 / crate::proc::gomaxprocs().max(1) as u32).max(8);
    let mut n = 0u32;
    // SAFETY: entries holds `max` (≤ 64) writable entries; n is an out-parameter; not alertable.
    if unsafe { GetQueuedCompletionStatusEx(port, entries.as_mut_ptr(), max, &mut n, wait, 0) } == 0 {
        // SAFETY: no arguments.
        let e = unsafe { GetLastError() };
        if e == WAIT_TIMEOUT {
            return (GList::new(), 0);
        }
        crate::print::fatal_fmt(format_args!("runtime: GetQueuedCompletionStatusEx failed (errno={e})"));
    }
    let mut list = GList::new();
    let mut delta = 0;
    for e in &entries[..n as usize] {
        if e.overlapped.is_null() {
            // The break packet.
            WAKE_SIG.store(0, Ordering::Release);
            if delay_ns == 0 {
                // A non-blocking poll took it: forward it to the poller it was meant for.
                netpoll_break();
            }
            continue;
        }
        // SAFETY: every OVERLAPPED we hand to the kernel is the first field of a live Operation
        // (repr(C)), which stays alive until its waiter was readied by this packet.
        let op = unsafe { &*(e.overlapped as *const Operation) };
        // Copied out before the waiter can run: once readied it may free the operation. The
        // kernel's writes (the outcome in the OVERLAPPED, the buffers) were done before the
        // packet was queued; the SeqCst wait word that `ready` sets orders them before the
        // waiter's reads.
        let (pd, mode) = (op.pd, op.mode);
        delta += pd.ready(&mut list, mode == Mode::Read, mode == Mode::Write);
    }
    (list, delta)
}
