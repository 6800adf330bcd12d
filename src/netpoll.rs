//! The network poller (Go's runtime/netpoll.go): a poll descriptor per non-blocking fd, where a
//! goroutine parks until the fd is ready (`netpollblock`) and the OS poller readies it
//! (`netpoll` → `netpollready` → `netpollunblock`), with read and write deadlines on the per-P
//! timer heaps. The OS half is `netpoll/epoll.rs` on linux (Go's netpoll_epoll.go),
//! `netpoll/iocp.rs` on windows (Go's netpoll_windows.go: completions, not readiness) and
//! `netpoll/kqueue.rs` on darwin (Go's netpoll_kqueue.go; built, never run); any other OS would
//! get `netpoll/stub.rs` (Go's netpoll_stub.go) and no `gort::net`.
//!
//! The poller starts lazily, at the first fd registered (`poll_open` → `netpoll_generic_init`):
//! a program without network I/O never creates the epoll fd, and every scheduler hook below is
//! one relaxed load of [`inited`] that stays false.
//!
//! # Wait states (Go's pollDesc.rg / wg)
//!
//! Each of `rg` and `wg` is an atomic word: `PD_NIL` (nothing), `PD_READY` (I/O readiness
//! arrived, not yet consumed), `PD_WAIT` (a goroutine is about to park) or the parked `*mut G`.
//! Transitions: the waiter `NIL→WAIT` (netpollblock), `WAIT→G` (netpollblockcommit, in the
//! gopark hook once the g is `_Gwaiting`), then takes the word back to `NIL` when it runs again;
//! the poller `NIL/WAIT/G→READY` and a deadline or close `WAIT/G→NIL`, handing the g (if any) to
//! whoever readies it. All of them are SeqCst, and the argument is the Dekker pattern: the
//! waiter stores `WAIT` and then loads the error state (`closing`, `rd`, `wd`); a closer or
//! deadline stores the error state and then loads the word (netpollunblock). With both sides
//! SeqCst, at least one sees the other's store: either the waiter sees the error and does not
//! park, or the closer sees `WAIT`/g and takes it (the gopark hook's CAS `WAIT→G` then fails and
//! the waiter resumes at once). No wake-up is lost.
//!
//! # Memory
//!
//! Poll descriptors are never freed (Go's pollCache): a closed one goes back to a free list and
//! its `fdseq` is bumped, so an epoll event still in flight for the old fd (its user data carries
//! the pointer and the fdseq it was registered with, Go's taggedPointer) is recognised as stale
//! and dropped; deadline timers carry `rseq`/`wseq`, bumped at every deadline change and at
//! close, for the same reason.
// The descriptor half is used only by gort::net; on an OS without a poller only the scheduler
// hooks (inited, any_waiters, netpoll) would be live.
#![cfg_attr(not(any(target_os = "linux", target_os = "macos", windows)), allow(dead_code))]

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;
use core::ptr;
use core::sync::atomic::{AtomicBool, AtomicI32, AtomicI64, AtomicUsize, Ordering};

use crate::gmp::{GList, WaitReason, G};
use crate::lock_futex::Mutex;
use crate::time::nanotime;
use crate::timer::{Timer, TimerFn};

#[cfg_attr(target_os = "linux", path = "netpoll/epoll.rs")]
#[cfg_attr(target_os = "macos", path = "netpoll/kqueue.rs")]
#[cfg_attr(windows, path = "netpoll/iocp.rs")]
#[cfg_attr(not(any(target_os = "linux", target_os = "macos", windows)), path = "netpoll/stub.rs")]
mod os;
#[cfg(windows)]
pub(crate) use os::{Operation, Overlapped};

/// Nothing pending.
const PD_NIL: usize = 0;
/// I/O readiness arrived and nobody consumed it yet.
const PD_READY: usize = 1;
/// A goroutine is about to park (it becomes the g pointer in the gopark hook).
const PD_WAIT: usize = 2;

/// Go's pollDesc.
pub(crate) struct PollDesc {
    /// The fd, valid while the descriptor is open. Relaxed: written by poll_open under `lock`
    /// before the descriptor is handed out, read by its owner's close.
    fd: AtomicUsize,
    /// Bumped at every close: epoll events carry it (stale events are dropped).
    fdseq: AtomicUsize,
    /// Reader wait state (PD_NIL, PD_READY, PD_WAIT or a `*mut G`).
    rg: AtomicUsize,
    /// Writer wait state.
    wg: AtomicUsize,
    /// Closing: every wait fails with ErrorKind::Closed.
    closing: AtomicBool,
    /// Read deadline: 0 none, < 0 passed, > 0 its nanotime. Written under `lock`, read without
    /// it by check_err; SeqCst (the module doc's Dekker pattern).
    rd: AtomicI64,
    /// Write deadline, as `rd`.
    wd: AtomicI64,
    /// Deadline changes and the timers that enforce them; also the serial numbers.
    lock: Mutex<Deadlines>,
}

/// The part of a pollDesc behind its lock (Go's pd.lock, rseq, wseq, rt, wt).
struct Deadlines {
    /// Bumped at every read deadline change and at close: an older timer firing is stale.
    rseq: usize,
    /// The same for writes.
    wseq: usize,
    /// The read deadline's timer (made at the first read deadline).
    rt: Option<Arc<Timer>>,
    /// The write deadline's timer.
    wt: Option<Arc<Timer>>,
}

/// Why a wait ended (Go's pollNoError, pollErrClosing, pollErrTimeout).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum PollError {
    /// The fd is closing (Go's net.ErrClosed).
    Closing,
    /// The deadline passed.
    Timeout,
}

/// The error Go's net and os packages return for a failed wait (Go's errClosing / ErrDeadlineExceeded).
impl From<PollError> for crate::io::Error {
    fn from(e: PollError) -> crate::io::Error {
        match e {
            PollError::Closing => crate::io::Error::closed(),
            PollError::Timeout => crate::io::Error::timed_out(),
        }
    }
}

/// Read or write.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Mode {
    /// The reader's side (rg, rd).
    Read,
    /// The writer's side (wg, wd).
    Write,
}

/// Go's netpollInited.
static INITED: AtomicBool = AtomicBool::new(false);
/// Serialises the lazy init (Go's netpollInitLock).
static INIT_LOCK: Mutex<()> = Mutex::new(());
/// Goroutines parked in netpollblock (Go's netpollWaiters). A hint for the scheduler (whether to
/// poll, whether an idle M should block in the poller): AcqRel changes, Acquire reads; a stale
/// value costs one poll too many or one left to sysmon's 10 ms poll, never a lost goroutine (the
/// M that parked the goroutine reads its own increment before it can go idle).
static WAITERS: AtomicI32 = AtomicI32::new(0);
/// The pollCache: closed descriptors, to be reused (never freed).
static CACHE: Mutex<Vec<PdPtr>> = Mutex::new(Vec::new());

/// A cached descriptor pointer.
struct PdPtr(*const PollDesc);
// SAFETY: a PollDesc is Sync (atomics and a lock) and never freed; the pointer is only moved
// between threads under CACHE's lock.
unsafe impl Send for PdPtr {}

/// Whether the poller is running (Go's netpollinited). Relaxed: a stale false only means the
/// caller skips a poll that sysmon or the next idle M makes; init publishes the epoll fd with
/// its own Release (epoll.rs).
#[inline]
pub(crate) fn inited() -> bool {
    INITED.load(Ordering::Relaxed)
}

/// Whether goroutines are parked on the poller (Go's netpollAnyWaiters).
#[inline]
pub(crate) fn any_waiters() -> bool {
    WAITERS.load(Ordering::Acquire) > 0
}

/// Go's netpollGenericInit: starts the OS poller once.
fn netpoll_generic_init() {
    if INITED.load(Ordering::Acquire) {
        return;
    }
    let _g = INIT_LOCK.lock();
    if !INITED.load(Ordering::Acquire) {
        os::netpollinit();
        INITED.store(true, Ordering::Release);
        // An M asleep on the timer futex would not see goroutines parking here: wake it so it
        // sleeps in the poller from now on.
        crate::proc::wake_net_poller(0);
    }
}

/// Go's netpoll: ready goroutines from the OS poller. `delay_ns` < 0 blocks until an event or
/// `netpoll_break`, 0 does not block, > 0 waits at most that long. The gs are still
/// `_Gwaiting`; the caller injects them (proc's inject_glist) and only then takes them off the
/// waiter count with `adjust_waiters(delta)`, as Go's callers do: counted off earlier, an M
/// looking for work in between sees no waiters, does not poll, goes idle, and checkdead finds
/// every M idle and these gs still waiting — a false "all goroutines are asleep" (seen with
/// sysmon's poll: net/eof on qemu-aarch64). Counted a moment too long, the worst is an M
/// blocking in the poller for nothing, as in Go.
// One copy for its three callers (issue 22: hello size); the poll itself is a system call.
#[inline(never)]
pub(crate) fn netpoll(delay_ns: i64) -> (GList, i32) {
    if !inited() {
        return (GList::new(), 0);
    }
    os::netpoll(delay_ns)
}

/// Go's netpollBreak: wakes the M blocked in `netpoll`, if any.
pub(crate) fn netpoll_break() {
    if inited() {
        os::netpoll_break();
    }
}

/// Go's poll_runtime_pollOpen: registers `fd` (non-blocking) with the poller, edge-triggered
/// for reads and writes. Err(errno) if the OS refuses.
pub(crate) fn poll_open(fd: usize) -> Result<&'static PollDesc, i32> {
    netpoll_generic_init();
    let pd: &'static PollDesc = match CACHE.lock().pop() {
        // SAFETY: cached descriptors are leaked boxes, never freed.
        Some(p) => unsafe { &*p.0 },
        None => Box::leak(Box::new(PollDesc {
            fd: AtomicUsize::new(0),
            fdseq: AtomicUsize::new(0),
            rg: AtomicUsize::new(PD_NIL),
            wg: AtomicUsize::new(PD_NIL),
            closing: AtomicBool::new(false),
            rd: AtomicI64::new(0),
            wd: AtomicI64::new(0),
            lock: Mutex::new(Deadlines { rseq: 0, wseq: 0, rt: None, wt: None }),
        })),
    };
    {
        let _l = pd.lock.lock();
        pd.fd.store(fd, Ordering::Relaxed);
        pd.closing.store(false, Ordering::SeqCst);
        pd.rg.store(PD_NIL, Ordering::SeqCst);
        pd.wg.store(PD_NIL, Ordering::SeqCst);
        pd.rd.store(0, Ordering::SeqCst);
        pd.wd.store(0, Ordering::SeqCst);
    }
    // The fdseq read here goes into the event's user data; epoll_ctl is a syscall (a full
    // barrier for the kernel's copy), and close bumps fdseq before it releases the fd.
    if let Err(e) = os::netpollopen(fd, pd, pd.fdseq.load(Ordering::Acquire)) {
        poll_free(pd);
        return Err(e);
    }
    Ok(pd)
}

/// Puts a descriptor back in the cache, invalidating everything still in flight for it.
fn poll_free(pd: &'static PollDesc) {
    {
        let mut l = pd.lock.lock();
        l.rseq = l.rseq.wrapping_add(1);
        l.wseq = l.wseq.wrapping_add(1);
        // Release: a later epoll event's reader (netpoll, Acquire) that sees the new seq also
        // sees this descriptor as closed.
        pd.fdseq.fetch_add(1, Ordering::Release);
    }
    CACHE.lock().push(PdPtr(pd));
}

impl PollDesc {
    /// Go's poll_runtime_pollClose: deregisters the fd and recycles the descriptor. The caller
    /// unblocked it (`evict`) and knows no goroutine uses it any more (the fd's reference count);
    /// it closes the fd itself afterwards.
    pub(crate) fn close(&'static self) {
        if !self.closing.load(Ordering::SeqCst) {
            crate::throw("runtime: close polldesc w/o unblock");
        }
        let (rg, wg) = (self.rg.load(Ordering::SeqCst), self.wg.load(Ordering::SeqCst));
        if rg != PD_NIL && rg != PD_READY || wg != PD_NIL && wg != PD_READY {
            crate::throw("runtime: blocked write on closing polldesc");
        }
        os::netpollclose(self.fd.load(Ordering::Relaxed));
        {
            let mut l = self.lock.lock();
            if let Some(t) = &l.rt {
                t.stop();
            }
            if let Some(t) = &l.wt {
                t.stop();
            }
            l.rd_clear(self);
        }
        poll_free(self);
    }

    /// Go's netpollcheckerr.
    fn check_err(&self, mode: Mode) -> Result<(), PollError> {
        // SeqCst: the waiter's half of the Dekker pattern (module doc).
        if self.closing.load(Ordering::SeqCst) {
            return Err(PollError::Closing);
        }
        let d = match mode {
            Mode::Read => &self.rd,
            Mode::Write => &self.wd,
        };
        if d.load(Ordering::SeqCst) < 0 {
            return Err(PollError::Timeout);
        }
        Ok(())
    }

    /// Go's poll_runtime_pollReset: before an I/O attempt, fail if closing or past the deadline.
    pub(crate) fn prepare(&self, mode: Mode) -> Result<(), PollError> {
        self.check_err(mode)
    }

    /// Go's poll_runtime_pollWait: parks until the fd is ready for `mode`, the deadline passes
    /// or the descriptor closes.
    pub(crate) fn wait(&self, mode: Mode) -> Result<(), PollError> {
        self.check_err(mode)?;
        while !self.block(mode, false) {
            self.check_err(mode)?;
        }
        Ok(())
    }

    /// Go's poll_runtime_pollWaitCanceled (windows): after a wait failed (deadline, close) and
    /// the pending operation was cancelled, parks until its completion arrives, whatever the
    /// error state says: the kernel may use the operation's buffers until then.
    #[cfg(windows)]
    pub(crate) fn wait_canceled(&self, mode: Mode) {
        while !self.block(mode, true) {}
    }

    fn gpp(&self, mode: Mode) -> &AtomicUsize {
        match mode {
            Mode::Read => &self.rg,
            Mode::Write => &self.wg,
        }
    }

    /// Go's netpollblock: true if I/O is ready, false on a deadline or close (the caller
    /// rechecks which). `waitio` parks even when a deadline passed or the descriptor closes
    /// (only readiness ends it; a deadline or close that comes meanwhile still wakes it, false).
    fn block(&self, mode: Mode, waitio: bool) -> bool {
        let gpp = self.gpp(mode);
        loop {
            // Consume a notification that already arrived.
            if gpp.compare_exchange(PD_READY, PD_NIL, Ordering::SeqCst, Ordering::SeqCst).is_ok() {
                return true;
            }
            if gpp.compare_exchange(PD_NIL, PD_WAIT, Ordering::SeqCst, Ordering::SeqCst).is_ok() {
                break;
            }
            let v = gpp.load(Ordering::SeqCst);
            if v != PD_READY && v != PD_NIL {
                crate::throw("runtime: double wait");
            }
        }
        // Recheck the error state after publishing PD_WAIT (module doc: the Dekker pattern).
        if waitio || self.check_err(mode).is_ok() {
            crate::proc::gopark(Some(netpollblockcommit), gpp as *const AtomicUsize as usize, WaitReason::IoWait);
        }
        // Do not lose a PD_READY that arrived meanwhile.
        let old = gpp.swap(PD_NIL, Ordering::SeqCst);
        if old > PD_WAIT {
            crate::throw("runtime: corrupted polldesc");
        }
        old == PD_READY
    }

    /// Go's poll_runtime_pollUnblock: marks the descriptor closing and wakes its waiters (they
    /// fail with `Closing`). Safe to call more than once.
    pub(crate) fn evict(&self) {
        let (rg, wg) = {
            let mut l = self.lock.lock();
            // SeqCst: the closer's half of the Dekker pattern (module doc).
            self.closing.store(true, Ordering::SeqCst);
            l.rseq = l.rseq.wrapping_add(1);
            l.wseq = l.wseq.wrapping_add(1);
            let mut delta = 0;
            let rg = self.unblock(Mode::Read, false, &mut delta);
            let wg = self.unblock(Mode::Write, false, &mut delta);
            if let Some(t) = &l.rt {
                t.stop();
            }
            if let Some(t) = &l.wt {
                t.stop();
            }
            adjust_waiters(delta);
            (rg, wg)
        };
        ready_if(rg);
        ready_if(wg);
    }

    /// Go's netpollunblock: takes the parked g off `mode`'s word, if any (`ioready`: leave
    /// PD_READY behind). `delta` counts gs taken that had committed their park.
    fn unblock(&self, mode: Mode, ioready: bool, delta: &mut i32) -> *mut G {
        let gpp = self.gpp(mode);
        loop {
            let old = gpp.load(Ordering::SeqCst);
            if old == PD_READY {
                return ptr::null_mut();
            }
            if old == PD_NIL && !ioready {
                // Only I/O readiness is remembered; a deadline or close is seen by check_err.
                return ptr::null_mut();
            }
            let new = if ioready { PD_READY } else { PD_NIL };
            if gpp.compare_exchange(old, new, Ordering::SeqCst, Ordering::SeqCst).is_ok() {
                if old == PD_WAIT || old == PD_NIL {
                    return ptr::null_mut();
                }
                *delta -= 1;
                return old as *mut G;
            }
        }
    }

    /// Go's netpollready: the OS says the fd is ready for `r`/`w`; the gs to ready go on `list`.
    /// Returns the change in waiters.
    fn ready(&self, list: &mut GList, r: bool, w: bool) -> i32 {
        let mut delta = 0;
        for (want, mode) in [(r, Mode::Read), (w, Mode::Write)] {
            if want {
                let gp = self.unblock(mode, true, &mut delta);
                if !gp.is_null() {
                    // SAFETY: gp was parked here and is now ours to ready; it is on no list.
                    unsafe { list.push(gp) };
                }
            }
        }
        delta
    }

    /// Go's poll_runtime_pollSetDeadline: `d` is a nanotime, 0 for none, < 0 already passed.
    /// `mode` None sets both.
    pub(crate) fn set_deadline(&'static self, d: i64, mode: Option<Mode>) {
        let (rg, wg) = {
            let mut l = self.lock.lock();
            if self.closing.load(Ordering::SeqCst) {
                return;
            }
            let d = if d < 0 { -1 } else { d };
            let arg = self as *const PollDesc as usize;
            let mut delta = 0;
            let (mut rg, mut wg) = (ptr::null_mut(), ptr::null_mut());
            if mode != Some(Mode::Write) {
                l.rseq = l.rseq.wrapping_add(1);
                self.rd.store(d, Ordering::SeqCst);
                let seq = l.rseq;
                let t = l.rt.get_or_insert_with(|| Timer::new(TimerFn::Call(netpoll_read_deadline, arg, 0)));
                if d > 0 {
                    t.modify_seq(d, 0, Some(seq));
                } else {
                    t.stop();
                }
                if d < 0 {
                    rg = self.unblock(Mode::Read, false, &mut delta);
                }
            }
            if mode != Some(Mode::Read) {
                l.wseq = l.wseq.wrapping_add(1);
                self.wd.store(d, Ordering::SeqCst);
                let seq = l.wseq;
                let t = l.wt.get_or_insert_with(|| Timer::new(TimerFn::Call(netpoll_write_deadline, arg, 0)));
                if d > 0 {
                    t.modify_seq(d, 0, Some(seq));
                } else {
                    t.stop();
                }
                if d < 0 {
                    wg = self.unblock(Mode::Write, false, &mut delta);
                }
            }
            adjust_waiters(delta);
            (rg, wg)
        };
        ready_if(rg);
        ready_if(wg);
    }

    /// Go's netpolldeadlineimpl: the deadline timer fired (with the seq it was armed with).
    fn deadline_fired(&self, seq: usize, mode: Mode) {
        let gp = {
            let l = self.lock.lock();
            let cur = match mode {
                Mode::Read => l.rseq,
                Mode::Write => l.wseq,
            };
            if seq != cur {
                return; // the deadline changed, or the descriptor closed or was reused
            }
            let d = match mode {
                Mode::Read => &self.rd,
                Mode::Write => &self.wd,
            };
            if d.load(Ordering::SeqCst) <= 0 {
                crate::throw("runtime: inconsistent deadline");
            }
            // SeqCst: the deadline's half of the Dekker pattern (module doc).
            d.store(-1, Ordering::SeqCst);
            let mut delta = 0;
            let gp = self.unblock(mode, false, &mut delta);
            adjust_waiters(delta);
            gp
        };
        ready_if(gp);
    }
}

impl Deadlines {
    /// Clears both deadlines (close).
    fn rd_clear(&mut self, pd: &PollDesc) {
        pd.rd.store(0, Ordering::SeqCst);
        pd.wd.store(0, Ordering::SeqCst);
    }
}

/// The read deadline timer's function (Go's netpollReadDeadline).
fn netpoll_read_deadline(arg: usize, seq: usize) {
    // SAFETY: arg is a PollDesc, never freed.
    unsafe { &*(arg as *const PollDesc) }.deadline_fired(seq, Mode::Read)
}

/// The write deadline timer's function (Go's netpollWriteDeadline).
fn netpoll_write_deadline(arg: usize, seq: usize) {
    // SAFETY: arg is a PollDesc, never freed.
    unsafe { &*(arg as *const PollDesc) }.deadline_fired(seq, Mode::Write)
}

/// Readies a g taken off a wait word (a goroutine with a P: the caller of set_deadline/evict, or
/// a timer run on a P).
fn ready_if(gp: *mut G) {
    if !gp.is_null() {
        crate::proc::goready(gp);
    }
}

/// Go's netpollAdjustWaiters.
pub(crate) fn adjust_waiters(delta: i32) {
    if delta != 0 {
        WAITERS.fetch_add(delta, Ordering::AcqRel);
    }
}

/// Go's netpollblockcommit (gopark hook, on g0 with gp `_Gwaiting`): `WAIT → gp`; if a closer,
/// deadline or the poller changed the word meanwhile, the CAS fails and gp resumes at once.
///
/// # Safety
/// `gpp` is the address of a live pollDesc's rg or wg (descriptors are never freed).
unsafe fn netpollblockcommit(gp: *mut G, gpp: usize) -> bool {
    // SAFETY: per the contract.
    let w = unsafe { &*(gpp as *const AtomicUsize) };
    let ok = w.compare_exchange(PD_WAIT, gp as usize, Ordering::SeqCst, Ordering::SeqCst).is_ok();
    if ok {
        // Counted after the CAS published gp (as Go): the poller's decrement may come first and
        // WAITERS be -1 for a moment, which no reader minds (any_waiters is a hint).
        WAITERS.fetch_add(1, Ordering::AcqRel);
    }
    ok
}

/// A deadline for `set_deadline`: `None` clears (0), a time not in the future has passed (-1),
/// else its nanotime.
pub(crate) fn deadline_from(d: Option<crate::time::Instant>) -> i64 {
    match d {
        None => 0,
        Some(t) if t.as_nanos() <= nanotime() => -1,
        Some(t) => t.as_nanos(),
    }
}

#[cfg(all(test, target_os = "linux", not(miri)))]
mod tests {
    use super::*;
    use core::sync::atomic::Ordering::SeqCst;

    /// netpoll hands back the goroutines it readied and their change to the waiter count, and
    /// leaves the count alone: its callers apply the change only after they have injected the
    /// goroutines (Go's netpollAdjustWaiters after injectglist). While sysmon held a readied
    /// goroutine between its poll and its injection, an idle M that saw no waiters skipped the
    /// poller, went idle, and checkdead reported a deadlock (net/eof, qemu-aarch64). Red when
    /// netpoll lowers WAITERS itself.
    #[test]
    fn netpoll_leaves_the_waiter_count_to_its_caller() {
        use std::os::fd::AsRawFd;
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        let pd = poll_open(a.as_raw_fd() as usize).unwrap();
        // A goroutine parked for reading, as netpollblock leaves it (WAIT, then the gopark hook).
        // SAFETY: all-zero is a valid G; it is only ever put on a list and popped.
        let gp = Box::into_raw(Box::new(unsafe { core::mem::zeroed::<G>() }));
        pd.rg.store(PD_WAIT, SeqCst);
        let before = WAITERS.load(SeqCst);
        // SAFETY: rg of a live descriptor.
        assert!(unsafe { netpollblockcommit(gp, &pd.rg as *const AtomicUsize as usize) });
        assert_eq!(WAITERS.load(SeqCst), before + 1);
        std::io::Write::write_all(&mut &b, b"x").unwrap();
        let (mut list, delta) = netpoll(0);
        assert_eq!(delta, -1, "one goroutine readied");
        assert_eq!(list.pop(), gp);
        assert!(list.empty());
        assert_eq!(WAITERS.load(SeqCst), before + 1, "still counted until the caller has injected it");
        adjust_waiters(delta);
        assert_eq!(WAITERS.load(SeqCst), before);
        pd.closing.store(true, SeqCst);
        pd.close();
        // SAFETY: made by Box::into_raw above, on no list.
        drop(unsafe { Box::from_raw(gp) });
    }
}
