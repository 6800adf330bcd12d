//! Channels (Go's chan.go) and select (Go's select.go).
//!
//! An `Hchan<T>` is Go's hchan: a lock, a ring buffer of `cap` slots, and two wait queues of
//! sudogs (parked receivers and senders). A sender that finds a parked receiver copies its value
//! straight into the receiver's slot and readies it (direct hand-off), and vice versa; only when
//! nobody waits does a value go through the buffer. Sudogs live on the heap (sudog.rs) and wakers
//! touch them only under the channel lock; the value slot a sudog points at is on the parked
//! goroutine's stack, which the waker checks (`check_parked_stack`) before using it.
//!
//! Select locks every channel involved in address order, polls the cases in a random order (so
//! ready cases are chosen uniformly), and otherwise enqueues one sudog per case; the first waker to
//! win the goroutine's `selectdone` CAS completes it, the others skip its sudogs.

use core::fmt;
use core::mem::MaybeUninit;
use core::ptr;
use core::sync::atomic::Ordering;

use alloc::boxed::Box;
use alloc::sync::Arc;
use alloc::vec::Vec;

use crate::arch;
use crate::gmp::{WaitReason, G};
use crate::lock_futex::{Mutex, MutexGuard};
use crate::proc::{self, gopark, goready};
use crate::sudog::{acquire_sudog, check_parked_stack, release_sudog, Sudog};

mod timeout;
mod timers;
pub use timeout::{RecvTimeoutError, SendTimeoutError};
pub(crate) use timers::timer_chan;

/// A FIFO of sudogs (Go's waitq), doubly linked so select can remove its entries.
struct WaitQ {
    first: *mut Sudog,
    last: *mut Sudog,
}

impl WaitQ {
    const fn new() -> Self {
        WaitQ { first: ptr::null_mut(), last: ptr::null_mut() }
    }

    /// # Safety
    /// Channel lock held; sg valid and not queued.
    unsafe fn enqueue(&mut self, sg: *mut Sudog) {
        // SAFETY: per the contract.
        unsafe {
            (*sg).next = ptr::null_mut();
            (*sg).prev = self.last;
            if self.last.is_null() {
                self.first = sg;
            } else {
                (*self.last).next = sg;
            }
        }
        self.last = sg;
    }

    /// Pops the first sudog that can still be completed: select sudogs whose select was already
    /// won elsewhere are dropped (Go's waitq.dequeue).
    ///
    /// # Safety
    /// Channel lock held.
    unsafe fn dequeue(&mut self) -> *mut Sudog {
        loop {
            let sg = self.first;
            if sg.is_null() {
                return sg;
            }
            // SAFETY: queued sudogs are valid while the channel lock is held (their gs are parked
            // and cannot leave select/send/recv without taking this lock).
            unsafe {
                self.first = (*sg).next;
                if self.first.is_null() {
                    self.last = ptr::null_mut();
                } else {
                    (*self.first).prev = ptr::null_mut();
                }
                (*sg).next = ptr::null_mut();
                (*sg).prev = ptr::null_mut();
                // AcqRel CAS: exactly one waker wins a select; the winner's writes to the sudog
                // and g.param happen-before the goroutine reads them after goready.
                if (*sg).is_select && !protocol::claim_select(&(*(*sg).g).selectdone) {
                    continue;
                }
            }
            return sg;
        }
    }

    /// Removes sg if it is still queued (Go's dequeueSudoG).
    ///
    /// # Safety
    /// Channel lock held.
    unsafe fn remove(&mut self, sg: *mut Sudog) {
        // SAFETY: channel lock held; sg is valid (on the caller's stack).
        unsafe {
            let (prev, next) = ((*sg).prev, (*sg).next);
            if !prev.is_null() {
                (*prev).next = next;
                if next.is_null() {
                    self.last = prev;
                } else {
                    (*next).prev = prev;
                }
            } else if self.first == sg {
                self.first = next;
                if next.is_null() {
                    self.last = ptr::null_mut();
                } else {
                    (*next).prev = ptr::null_mut();
                }
            } else {
                return; // not queued (already dequeued by a waker)
            }
            (*sg).next = ptr::null_mut();
            (*sg).prev = ptr::null_mut();
        }
    }
}

/// The state behind the channel lock.
struct Inner<T> {
    buf: Box<[MaybeUninit<T>]>,
    qcount: usize,
    sendx: usize,
    recvx: usize,
    closed: bool,
    recvq: WaitQ,
    sendq: WaitQ,
}

/// Go's hchan.
pub struct Hchan<T> {
    /// The channel lock and the state it guards.
    lock: Mutex<Inner<T>>,
    senders: core::sync::atomic::AtomicUsize,
    cap: usize,
    /// The timer feeding this channel (Go's c.timer), stopped when the channel goes away.
    timer: Option<Arc<crate::timer::Timer>>,
}

// SAFETY: moving the channel state moves the buffered Ts it owns: T: Send. The raw sudog
// pointers in its queues point at parked goroutines, which any M may run.
unsafe impl<T: Send> Send for Inner<T> {}
// SAFETY: shared channels only move Ts from one goroutine to another (through the buffer or a
// parked peer's slot, always under `lock`) and never hand out `&T`: T: Send suffices (as std's
// mpsc and crossbeam's channels). (Send follows from Mutex<Inner<T>>: Send.)
unsafe impl<T: Send> Sync for Hchan<T> {}

/// Outcome of trying an operation with the lock held.
enum Try {
    /// Done; `ok`: sent, or for a receive "got a value" (false: closed (and drained)). `wake`: a
    /// parked peer to ready once the lock is released, or null.
    Done { ok: bool, wake: *mut G },
    /// Would block.
    Block,
}

impl Try {
    /// The lock is released: ready the peer, if any, and give the outcome.
    fn finish(ok: bool, wake: *mut G) -> bool {
        if !wake.is_null() {
            goready(wake);
        }
        ok
    }
}

impl<T> Inner<T> {
    /// Tries to send `*elem` (moving it out on success): to a parked receiver, or into the
    /// buffer. Done { ok: false } if the channel is closed (value not taken).
    ///
    /// # Safety
    /// elem points at a valid T that the caller gives up on Done { ok: true }.
    unsafe fn try_send(&mut self, elem: *mut T) -> Try {
        if self.closed {
            return Try::Done { ok: false, wake: ptr::null_mut() };
        }
        // SAFETY: a dequeued receiver's sudog is valid until we ready it, and its elem points
        // at its MaybeUninit<T> slot.
        unsafe {
            let sg = self.recvq.dequeue();
            if !sg.is_null() {
                check_parked_stack((*sg).g);
                ptr::copy_nonoverlapping(elem, (*sg).elem as *mut T, 1);
                (*sg).success = true;
                let gp = (*sg).g;
                protocol::publish_wakeup(&(*gp).param, sg as usize);
                return Try::Done { ok: true, wake: gp };
            }
            if self.qcount < self.buf.len() {
                let i = self.sendx;
                self.buf[i].write(ptr::read(elem));
                self.sendx = if i + 1 == self.buf.len() { 0 } else { i + 1 };
                self.qcount += 1;
                return Try::Done { ok: true, wake: ptr::null_mut() };
            }
        }
        Try::Block
    }

    /// Tries to receive into `*elem`: from a parked sender, the buffer, or a closed channel.
    ///
    /// # Safety
    /// elem points at writable space for a T.
    unsafe fn try_recv(&mut self, elem: *mut T) -> Try {
        // SAFETY: a dequeued sender's sudog is valid until we ready it, and its elem points at
        // its value.
        unsafe {
            let sg = self.sendq.dequeue();
            if !sg.is_null() {
                check_parked_stack((*sg).g);
                if self.buf.is_empty() {
                    ptr::copy_nonoverlapping((*sg).elem as *const T, elem, 1);
                } else {
                    // Full buffer: take the head, and put the sender's value at the tail (which
                    // is the same slot).
                    let i = self.recvx;
                    ptr::write(elem, self.buf[i].assume_init_read());
                    self.buf[i].write(ptr::read((*sg).elem as *const T));
                    self.recvx = if i + 1 == self.buf.len() { 0 } else { i + 1 };
                    self.sendx = self.recvx;
                }
                (*sg).success = true;
                let gp = (*sg).g;
                protocol::publish_wakeup(&(*gp).param, sg as usize);
                return Try::Done { ok: true, wake: gp };
            }
            if self.qcount > 0 {
                let i = self.recvx;
                ptr::write(elem, self.buf[i].assume_init_read());
                self.recvx = if i + 1 == self.buf.len() { 0 } else { i + 1 };
                self.qcount -= 1;
                return Try::Done { ok: true, wake: ptr::null_mut() };
            }
        }
        if self.closed {
            return Try::Done { ok: false, wake: ptr::null_mut() };
        }
        Try::Block
    }

    /// The send or receive wait queue.
    fn waitq(&mut self, send: bool) -> &mut WaitQ {
        if send {
            &mut self.sendq
        } else {
            &mut self.recvq
        }
    }
}

impl<T> Hchan<T> {
    /// Queues a sudog for the current goroutine on the send or receive queue and parks it; the
    /// channel lock is released once it is off its M. Returns whether the operation completed
    /// (false: woken by close).
    ///
    /// # Safety
    /// `elem` must stay valid until this returns.
    unsafe fn park(&self, mut c: MutexGuard<'_, Inner<T>>, send: bool, elem: *mut u8) -> bool {
        let gp = arch::getg();
        let sg = acquire_sudog(gp, elem);
        // SAFETY: sg is ours until a waker dequeues it and readies us; gp is the running g.
        unsafe {
            c.waitq(send).enqueue(sg);
            (*gp).param.store(0, Ordering::Relaxed);
        }
        let reason = if send { WaitReason::ChanSend } else { WaitReason::ChanReceive };
        let lock = c.hold_across_park();
        gopark(Some(unlock_chan::<T>), lock as *const Mutex<Inner<T>> as usize, reason);
        // SAFETY: the waker dequeued sg and wrote success before readying us (publish_wakeup,
        // whose Release our wake-up's Acquire pairs with); nobody else reaches it now.
        unsafe {
            let ok = (*sg).success;
            release_sudog(sg);
            ok
        }
    }

    /// Go's chansend: blocks until the value is taken; Err(v) if the channel is (or gets) closed.
    fn send(&self, v: T) -> Result<(), SendError<T>> {
        proc::preempt_check();
        let mut v = MaybeUninit::new(v);
        let mut c = self.lock.lock_inline();
        // SAFETY: v is ours to give.
        let sent = match unsafe { c.try_send(v.as_mut_ptr()) } {
            Try::Done { ok, wake } => {
                c.unlock_inline();
                Try::finish(ok, wake)
            }
            // SAFETY: v stays in place until a receiver copies it out or we are woken.
            Try::Block => unsafe { self.park(c, true, v.as_mut_ptr() as *mut u8) },
        };
        if sent {
            Ok(())
        } else {
            // SAFETY: closed (before or while we waited): the value was not taken.
            Err(SendError(unsafe { v.assume_init() }))
        }
    }

    /// Go's chanrecv: blocks until a value arrives; None once closed and drained.
    fn recv(&self) -> Option<T> {
        proc::preempt_check();
        let mut slot = MaybeUninit::<T>::uninit();
        let mut c = self.lock.lock_inline();
        // SAFETY: slot is writable.
        let got = match unsafe { c.try_recv(slot.as_mut_ptr()) } {
            Try::Done { ok, wake } => {
                c.unlock_inline();
                Try::finish(ok, wake)
            }
            // SAFETY: slot stays in place until a sender fills it or we are woken.
            Try::Block => unsafe { self.park(c, false, slot.as_mut_ptr() as *mut u8) },
        };
        // SAFETY: a completed receive wrote the slot (before readying us, if we parked).
        got.then(|| unsafe { slot.assume_init() })
    }

    /// Non-blocking receive (Go's selectnbrecv): a value, or why there is none.
    fn try_recv(&self) -> Result<T, TryRecvError> {
        proc::preempt_check();
        let mut slot = MaybeUninit::<T>::uninit();
        let mut c = self.lock.lock();
        // SAFETY: slot is writable.
        match unsafe { c.try_recv(slot.as_mut_ptr()) } {
            Try::Done { ok, wake } => {
                drop(c);
                if Try::finish(ok, wake) {
                    // SAFETY: a completed receive wrote the slot.
                    Ok(unsafe { slot.assume_init() })
                } else {
                    Err(TryRecvError::Disconnected)
                }
            }
            Try::Block => Err(TryRecvError::Empty),
        }
    }

    /// Non-blocking send (Go's selectnbsend): Full(v) if no receiver waits and the buffer is
    /// full, Disconnected(v) if the channel is closed.
    fn try_send(&self, v: T) -> Result<(), TrySendError<T>> {
        proc::preempt_check();
        let mut v = MaybeUninit::new(v);
        let mut c = self.lock.lock();
        // SAFETY: v is ours to give.
        match unsafe { c.try_send(v.as_mut_ptr()) } {
            Try::Done { ok, wake } => {
                drop(c);
                if Try::finish(ok, wake) {
                    Ok(())
                } else {
                    // SAFETY: closed: the value was not taken.
                    Err(TrySendError::Disconnected(unsafe { v.assume_init() }))
                }
            }
            // SAFETY: would block: the value was not taken.
            Try::Block => Err(TrySendError::Full(unsafe { v.assume_init() })),
        }
    }

    /// Go's closechan: wakes every waiter (receivers get None, senders Err). Returns false if
    /// already closed.
    fn close(&self) -> bool {
        proc::preempt_check();
        let mut c = self.lock.lock();
        if c.closed {
            return false;
        }
        c.closed = true;
        let mut wake: Vec<*mut G> = Vec::new();
        for send in [false, true] {
            loop {
                // SAFETY: dequeued sudogs are valid until their gs are readied.
                unsafe {
                    let sg = c.waitq(send).dequeue();
                    if sg.is_null() {
                        break;
                    }
                    (*sg).success = false;
                    protocol::publish_wakeup(&(*(*sg).g).param, sg as usize);
                    wake.push((*sg).g);
                }
            }
        }
        drop(c);
        for gp in wake {
            goready(gp);
        }
        true
    }

    fn len(&self) -> usize {
        proc::preempt_check();
        self.lock.lock().qcount
    }
}

impl<T> Drop for Hchan<T> {
    fn drop(&mut self) {
        if let Some(t) = self.timer.take() {
            t.stop(); // nobody can receive its values any more (chan/timers.rs)
        }
        let c = self.lock.get_mut();
        while c.qcount > 0 {
            // SAFETY: slots [recvx, recvx+qcount) are initialised.
            unsafe { c.buf[c.recvx].assume_init_drop() };
            c.recvx = (c.recvx + 1) % c.buf.len();
            c.qcount -= 1;
        }
    }
}

/// gopark hook: releases the channel lock once the goroutine is parked.
unsafe fn unlock_chan<T>(gp: *mut G, lock: usize) -> bool {
    // SAFETY: lock is the address of the channel's Mutex, which park left held across the park
    // (hold_across_park); the parked goroutine no longer touches the state.
    unsafe { (*(lock as *const Mutex<Inner<T>>)).force_unlock(gp) };
    true
}

/// The error of a send on a closed channel; gives the value back.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SendError<T>(pub T);

impl<T> SendError<T> {
    /// The value that was not sent.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("send on closed channel")
    }
}

impl<T> fmt::Display for SendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("send on closed channel")
    }
}

impl<T> core::error::Error for SendError<T> {}

/// The error of [`Sender::try_send`]; gives the value back.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum TrySendError<T> {
    /// No receiver was waiting and the buffer was full (an unbuffered channel without a waiting
    /// receiver is always full).
    Full(T),
    /// The channel is closed.
    Disconnected(T),
}

impl<T> TrySendError<T> {
    /// The value that was not sent.
    pub fn into_inner(self) -> T {
        match self {
            TrySendError::Full(v) | TrySendError::Disconnected(v) => v,
        }
    }
    /// Whether the send failed because the channel was full.
    pub fn is_full(&self) -> bool {
        matches!(self, TrySendError::Full(_))
    }
    /// Whether the send failed because the channel is closed.
    pub fn is_disconnected(&self) -> bool {
        matches!(self, TrySendError::Disconnected(_))
    }
}

impl<T> From<SendError<T>> for TrySendError<T> {
    fn from(e: SendError<T>) -> Self {
        TrySendError::Disconnected(e.0)
    }
}

impl<T> fmt::Debug for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("Full(..)"),
            TrySendError::Disconnected(_) => f.write_str("Disconnected(..)"),
        }
    }
}

impl<T> fmt::Display for TrySendError<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TrySendError::Full(_) => f.write_str("send on full channel"),
            TrySendError::Disconnected(_) => f.write_str("send on closed channel"),
        }
    }
}

impl<T> core::error::Error for TrySendError<T> {}

/// The error of [`Receiver::try_recv`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TryRecvError {
    /// Nothing to receive now (no value buffered, no sender waiting); the channel is open.
    Empty,
    /// The channel is closed and drained: nothing will ever arrive.
    Disconnected,
}

impl TryRecvError {
    /// Whether nothing was ready on an open channel.
    pub fn is_empty(&self) -> bool {
        *self == TryRecvError::Empty
    }
    /// Whether the channel is closed and drained.
    pub fn is_disconnected(&self) -> bool {
        *self == TryRecvError::Disconnected
    }
}

impl fmt::Display for TryRecvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TryRecvError::Empty => f.write_str("receive from empty channel"),
            TryRecvError::Disconnected => f.write_str("receive from empty and closed channel"),
        }
    }
}

impl core::error::Error for TryRecvError {}

/// The sending end of a channel (Clone: many senders). The channel closes when the last
/// Sender is dropped, or on `close()`.
pub struct Sender<T> {
    c: Arc<Hchan<T>>,
}

/// The receiving end of a channel (Clone: many receivers), or [`Receiver::never`], Go's nil
/// channel.
pub struct Receiver<T> {
    /// None: a receiver that never becomes ready (Go's nil channel).
    c: Option<Arc<Hchan<T>>>,
}

/// Makes a channel with `cap` buffer slots: 0 is unbuffered (every send meets a receive).
///
/// Both ends can be cloned and sent to other goroutines. The channel closes when every
/// [`Sender`] is dropped or one calls [`Sender::close`]; receivers then drain what is
/// buffered and get `None`.
///
/// ```
/// let (tx, rx) = gort::chan::<&str>(1);
/// gort::go(move || tx.send("hello").unwrap());
/// assert_eq!(rx.recv(), Some("hello"));
/// assert_eq!(rx.recv(), None); // the goroutine's Sender is gone: closed
/// ```
pub fn chan<T: Send>(cap: usize) -> (Sender<T>, Receiver<T>) {
    let mut buf = Vec::with_capacity(cap);
    buf.resize_with(cap, MaybeUninit::uninit);
    let c = Arc::new(Hchan {
        lock: Mutex::new(Inner {
            buf: buf.into_boxed_slice(),
            qcount: 0,
            sendx: 0,
            recvx: 0,
            closed: false,
            recvq: WaitQ::new(),
            sendq: WaitQ::new(),
        }),
        senders: core::sync::atomic::AtomicUsize::new(1),
        cap,
        timer: None,
    });
    (Sender { c: c.clone() }, Receiver { c: Some(c) })
}

/// Parks the calling goroutine for good (an operation on Go's nil channel, or a select with
/// nothing to wait for). The deadlock detector sees it like any parked goroutine.
fn block_forever(reason: WaitReason) -> ! {
    proc::preempt_check();
    gopark(None, 0, reason);
    crate::throw("unreachable: a goroutine blocked forever resumed");
}

impl<T: Send> Sender<T> {
    /// Sends v, blocking until a receiver takes it or buffer space frees up. Err(v) if the
    /// channel is closed.
    pub fn send(&self, v: T) -> Result<(), SendError<T>> {
        self.c.send(v)
    }

    /// Sends v if that can be done without blocking: to a waiting receiver, or into free buffer
    /// space. Otherwise gives v back: [`TrySendError::Full`] (an unbuffered channel with no
    /// receiver waiting is full) or [`TrySendError::Disconnected`] (closed).
    ///
    /// ```
    /// use gort::TrySendError;
    /// let (tx, rx) = gort::chan::<u32>(1);
    /// assert_eq!(tx.try_send(1), Ok(()));
    /// assert_eq!(tx.try_send(2), Err(TrySendError::Full(2)));
    /// drop(rx);
    /// tx.close();
    /// assert_eq!(tx.try_send(3), Err(TrySendError::Disconnected(3)));
    /// ```
    pub fn try_send(&self, v: T) -> Result<(), TrySendError<T>> {
        self.c.try_send(v)
    }

    /// Closes the channel: receivers drain what is buffered, then get None; blocked and later
    /// senders get Err.
    ///
    /// # Panics
    /// If the channel is closed already ("close of closed channel", as in Go); the panic points
    /// at the caller.
    #[track_caller]
    pub fn close(&self) {
        if !self.c.close() {
            panic!("close of closed channel");
        }
    }

    /// Number of buffered values.
    pub fn len(&self) -> usize {
        self.c.len()
    }

    /// Whether no value is buffered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Buffer capacity: the `cap` the channel was made with, 0 for an unbuffered one. (A plain
    /// `usize`, not crossbeam's `Option<usize>`: every gort channel is bounded, as Go's.)
    pub fn capacity(&self) -> usize {
        self.c.cap
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.c.senders.fetch_add(1, Ordering::Relaxed);
        Sender { c: self.c.clone() }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if protocol::release_sender(&self.c.senders) {
            close_by_last_sender(&self.c);
        }
    }
}

/// The last Sender's close, out of line: inlined, close's locals and its wake-up loop made every
/// Sender drop save and restore six registers (skynet drops one per goroutine; the last one of
/// a channel is one in ten there).
#[inline(never)]
fn close_by_last_sender<T>(c: &Hchan<T>) {
    c.close();
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender").field("capacity", &self.c.cap).finish_non_exhaustive()
    }
}

impl<T: Send> Receiver<T> {
    /// A receiver that never becomes ready: Go's nil channel. `recv` on it blocks forever (the
    /// goroutine shows as `chan receive (nil chan)` in a deadlock report), `try_recv` is always
    /// `Empty`, and a [`select!`](crate::select!) arm on it is never chosen. Cheap: no channel
    /// is allocated.
    ///
    /// ```
    /// let never = gort::Receiver::<u32>::never();
    /// assert_eq!(never.try_recv(), Err(gort::TryRecvError::Empty));
    /// let got = gort::select! {
    ///     recv(never) -> v => v,
    ///     default => None,
    /// };
    /// assert_eq!(got, None);
    /// ```
    pub fn never() -> Self {
        Receiver { c: None }
    }

    /// Receives a value, blocking until one is sent; None once the channel is closed and drained.
    pub fn recv(&self) -> Option<T> {
        match &self.c {
            Some(c) => c.recv(),
            None => block_forever(WaitReason::ChanReceiveNilChan),
        }
    }

    /// Receives without blocking: the value, or [`TryRecvError::Empty`] if nothing is ready,
    /// or [`TryRecvError::Disconnected`] once the channel is closed and drained.
    ///
    /// ```
    /// use gort::TryRecvError;
    /// let (tx, rx) = gort::chan::<u32>(1);
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    /// tx.send(5).unwrap();
    /// drop(tx);
    /// assert_eq!(rx.try_recv(), Ok(5));
    /// assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
    /// ```
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        match &self.c {
            Some(c) => c.try_recv(),
            None => {
                proc::preempt_check();
                Err(TryRecvError::Empty)
            }
        }
    }

    /// Number of buffered values.
    pub fn len(&self) -> usize {
        self.c.as_ref().map_or(0, |c| c.len())
    }

    /// Whether no value is buffered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Buffer capacity, as [`Sender::capacity`] (0 for [`Receiver::never`]).
    pub fn capacity(&self) -> usize {
        self.c.as_ref().map_or(0, |c| c.cap)
    }

    /// A blocking iterator over received values: each `next` is a [`recv`](Self::recv), and
    /// the iteration ends when the channel is closed and drained (`for v in &rx` is the same).
    ///
    /// ```
    /// let (tx, rx) = gort::chan::<u32>(3);
    /// for i in 1..=3 {
    ///     tx.send(i).unwrap();
    /// }
    /// drop(tx);
    /// assert_eq!(rx.iter().sum::<u32>(), 6);
    /// ```
    pub fn iter(&self) -> Iter<'_, T> {
        Iter { rx: self }
    }

    /// A non-blocking iterator: yields what can be received right now ([`try_recv`](Self::try_recv))
    /// and ends at the first `Empty` or `Disconnected`.
    ///
    /// ```
    /// let (tx, rx) = gort::chan::<u32>(4);
    /// tx.send(1).unwrap();
    /// tx.send(2).unwrap();
    /// assert_eq!(rx.try_iter().count(), 2); // does not wait for more
    /// ```
    pub fn try_iter(&self) -> TryIter<'_, T> {
        TryIter { rx: self }
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        Receiver { c: self.c.clone() }
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.c {
            Some(c) => f.debug_struct("Receiver").field("capacity", &c.cap).finish_non_exhaustive(),
            None => f.write_str("Receiver(never)"),
        }
    }
}

/// A `Receiver` is itself a blocking iterator (`rx.sum()`, `for v in rx`), as
/// [`Receiver::iter`] but by value.
impl<T: Send> Iterator for Receiver<T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.recv()
    }
}

impl<'a, T: Send> IntoIterator for &'a Receiver<T> {
    type Item = T;
    type IntoIter = Iter<'a, T>;
    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}

/// The blocking iterator of [`Receiver::iter`].
pub struct Iter<'a, T> {
    rx: &'a Receiver<T>,
}

impl<T: Send> Iterator for Iter<'_, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.rx.recv()
    }
}

impl<T> fmt::Debug for Iter<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Iter").field("rx", self.rx).finish()
    }
}

/// The non-blocking iterator of [`Receiver::try_iter`].
pub struct TryIter<'a, T> {
    rx: &'a Receiver<T>,
}

impl<T: Send> Iterator for TryIter<'_, T> {
    type Item = T;
    fn next(&mut self) -> Option<T> {
        self.rx.try_recv().ok()
    }
}

impl<T> fmt::Debug for TryIter<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TryIter").field("rx", self.rx).finish()
    }
}

// ---------------------------------------------------------------------------------------------
// select
// ---------------------------------------------------------------------------------------------

/// The type-erased channel operations select needs. Select locks a varying set of channels in
/// address order and unlocks them all at once, last in a gopark hook (Go's sellock/selunlock),
/// so it takes the locks raw; each operation below works through a guard adopting the held lock.
#[doc(hidden)]
pub trait SelectChan {
    /// Address used to order lock acquisition.
    fn addr(&self) -> usize;
    /// Locks the channel (raw: select keeps it across calls).
    fn lock(&self);
    /// Unlocks the channel.
    ///
    /// # Safety
    /// This thread locked it with [`SelectChan::lock`] and holds it still.
    unsafe fn unlock(&self);
    /// Unlocks the channel from the gopark hook, on g0, for the parked goroutine that locked
    /// it; the hook has already taken the lock off that goroutine's count
    /// (`Mutex::force_unlock_uncounted`).
    ///
    /// # Safety
    /// The parked goroutine locked it with [`SelectChan::lock`] and still holds it, uncounted.
    unsafe fn unlock_parked(&self);
    /// Tries the operation with the lock held; on Done the lock has been released.
    ///
    /// # Safety
    /// Lock held (through [`SelectChan::lock`]); `elem` as for Inner::try_send/try_recv.
    unsafe fn try_op(&self, send: bool, elem: *mut u8) -> Option<bool>;
    /// Queues sg; the lock stays held.
    ///
    /// # Safety
    /// Lock held; sg valid until dequeued or removed.
    unsafe fn enqueue(&self, send: bool, sg: *mut Sudog);
    /// Removes sg if still queued; the lock stays held.
    ///
    /// # Safety
    /// Lock held.
    unsafe fn remove(&self, send: bool, sg: *mut Sudog);
}

impl<T> SelectChan for Hchan<T> {
    fn addr(&self) -> usize {
        self as *const Self as usize
    }
    fn lock(&self) {
        self.lock.lock_raw()
    }
    unsafe fn unlock(&self) {
        self.lock.unlock_raw()
    }
    unsafe fn unlock_parked(&self) {
        // SAFETY: the caller's promise: the parked goroutine holds the lock, uncounted.
        unsafe { self.lock.force_unlock_uncounted() }
    }
    unsafe fn try_op(&self, send: bool, elem: *mut u8) -> Option<bool> {
        // SAFETY: this thread holds the lock (the caller's promise) and no guard for it is live.
        let mut c = unsafe { self.lock.adopt() };
        // SAFETY: elem as the caller promised.
        let r = unsafe {
            if send {
                c.try_send(elem as *mut T)
            } else {
                c.try_recv(elem as *mut T)
            }
        };
        match r {
            Try::Done { ok, wake } => {
                drop(c);
                Some(Try::finish(ok, wake))
            }
            Try::Block => {
                c.keep_locked();
                None
            }
        }
    }
    unsafe fn enqueue(&self, send: bool, sg: *mut Sudog) {
        // SAFETY: this thread holds the lock and no guard for it is live (the caller's promise).
        let mut c = unsafe { self.lock.adopt() };
        // SAFETY: sg is valid until dequeued or removed (the caller's promise).
        unsafe { c.waitq(send).enqueue(sg) };
        c.keep_locked();
    }
    unsafe fn remove(&self, send: bool, sg: *mut Sudog) {
        // SAFETY: as enqueue.
        let mut c = unsafe { self.lock.adopt() };
        // SAFETY: sg is one of this select's sudogs, queued here or already dequeued.
        unsafe { c.waitq(send).remove(sg) };
        c.keep_locked();
    }
}

/// What selectgo needs from one case; implemented by [`RecvCase`] and [`SendCase`] only.
pub(crate) trait CaseOps {
    /// The channel, or None for an arm that is switched off (Go's nil channel): never chosen.
    fn chan(&self) -> Option<&dyn SelectChan>;
    /// Send (true) or receive.
    fn is_send(&self) -> bool;
    /// The value to send, or the slot to receive into (a `*mut T` of the channel's T). Points
    /// into the case, which the [`Case`] borrows for the whole select, so it stays put.
    fn elem(&mut self) -> *mut u8;
    /// Records the outcome of the case that won.
    ///
    /// # Safety
    /// `ok` is true only if the channel operation completed through [`CaseOps::elem`] (the slot
    /// was written, or the value was moved out), false only if it found the channel closed.
    unsafe fn complete(&mut self, ok: bool);
}

/// One case of a select as selectgo sees it: built by [`RecvCase::case`] or [`SendCase::case`],
/// it borrows the case mutably, so the slot selectgo writes through cannot move or be read
/// before select returns.
pub struct Case<'a> {
    ops: &'a mut dyn CaseOps,
}

impl fmt::Debug for Case<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Case").field("send", &self.ops.is_send()).field("enabled", &self.ops.chan().is_some()).finish()
    }
}

/// Where a case stands.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum CaseState {
    /// Not run (yet).
    Pending,
    /// Won: true if the value was received / sent, false if the channel was closed.
    Done(bool),
    /// The outcome was taken.
    Taken,
}

/// Go's selectgo: runs one ready case (chosen uniformly at random among the ready ones), or the
/// default if `block` is false and none is ready, or parks until one can proceed.
/// Returns the index of the case that ran (its outcome is in the case: `take`), or None for the
/// default. Cases without a channel (Go's nil channels) are never chosen; with nothing else to
/// wait for, a blocking select parks for good (the deadlock detector sees it).
pub fn selectgo(cases: &mut [Case<'_>], block: bool) -> Option<usize> {
    proc::preempt_check();
    let n = cases.len();
    if n == 0 {
        if !block {
            return None;
        }
        // select {} blocks forever (Go's block()).
        block_forever(WaitReason::SelectNoCases);
    }
    let mut elems = Scratch::new(n, ptr::null_mut::<u8>());
    for (e, c) in elems.as_mut_slice().iter_mut().zip(cases.iter_mut()) {
        *e = c.ops.elem();
    }
    let (i, ok) = selectgo_erased(cases, elems.as_mut_slice(), block)?;
    // SAFETY: selectgo_erased completed case i through elems[i] (ok) or found its channel closed.
    unsafe { cases[i].ops.complete(ok) };
    Some(i)
}

/// A select's per-case lists (Go's pollorder, lockorder and the elements): on the stack up to
/// SCRATCH_INLINE cases, as Go keeps them in selectgo's caller's frame; a bigger select takes
/// the heap. (Three Vecs per select were a third of the `select4` bench row's instructions.)
const SCRATCH_INLINE: usize = 8;

struct Scratch<T: Copy> {
    inline: [T; SCRATCH_INLINE],
    heap: Vec<T>,
    len: usize,
}

impl<T: Copy> Scratch<T> {
    /// `n` entries, each `fill`.
    fn new(n: usize, fill: T) -> Self {
        let heap = if n > SCRATCH_INLINE { alloc::vec![fill; n] } else { Vec::new() };
        Scratch { inline: [fill; SCRATCH_INLINE], heap, len: n }
    }
    fn as_mut_slice(&mut self) -> &mut [T] {
        if self.heap.is_empty() {
            &mut self.inline[..self.len]
        } else {
            &mut self.heap[..self.len]
        }
    }
    fn truncate(&mut self, len: usize) {
        self.len = self.len.min(len);
    }
}

/// The poll order: a uniform random permutation of `order` (Fisher-Yates, as Go's selectgo).
/// Go draws fastrandn per step; here one 32-bit draw serves 7 steps: x is a fraction in [0, 1),
/// and each step's index is the integer part of x × (i + 1), the fraction part left for the
/// next. The 7 indices are the mixed-radix digits of floor(x × 8!), so each of the 8! outcomes
/// comes from 2^32 / 8! draws give or take one: a bias below 8! / 2^32 < 10^-5.
#[inline(always)]
fn shuffle(order: &mut [usize], mut draw: impl FnMut() -> u32) {
    let mut x = 0u32;
    for i in 1..order.len() {
        if i % 7 == 1 {
            x = draw();
        }
        let p = x as u64 * (i as u64 + 1);
        x = p as u32;
        order.swap(i, (p >> 32) as usize);
    }
}

fn selectgo_erased(cases: &[Case<'_>], elems: &[*mut u8], block: bool) -> Option<(usize, bool)> {
    let n = cases.len();
    // Cases without a channel are left out of the poll and lock orders (as Go's nil channels).
    // Each case's channel asked for once (a dynamic call), then looked up by index.
    let mut chans: Scratch<Option<&dyn SelectChan>> = Scratch::new(n, None);
    for (c, case) in chans.as_mut_slice().iter_mut().zip(cases.iter()) {
        *c = case.ops.chan();
    }
    let chans: &[Option<&dyn SelectChan>] = chans.as_mut_slice();
    let mut poll = Scratch::new(n, 0usize);
    let mut enabled = 0;
    for (i, c) in chans.iter().enumerate() {
        if c.is_some() {
            poll.as_mut_slice()[enabled] = i;
            enabled += 1;
        }
    }
    poll.truncate(enabled);
    let pollorder = poll.as_mut_slice();
    if pollorder.is_empty() {
        if !block {
            return None;
        }
        // Go compiles a one-case select to the plain channel operation, which parks on a nil
        // channel with its own wait reason; a bigger one parks in selectgo as "select".
        block_forever(match n {
            1 if cases[0].ops.is_send() => WaitReason::ChanSendNilChan,
            1 => WaitReason::ChanReceiveNilChan,
            _ => WaitReason::Select,
        });
    }
    shuffle(pollorder, crate::alg::fastrand);
    let chan = |i: usize| match chans[i] {
        Some(c) => c,
        None => crate::throw("selectgo: a case without a channel in the lock order"),
    };
    // Pass 0 (gort's, not Go's): each channel alone, in poll order, under its own lock. A case
    // found ready here is as good as one found with every lock held: the operation is done
    // under its channel's lock, and the select takes effect at that moment. Only "nothing is
    // ready" needs every lock at once (that decides a default or a park, and a channel polled
    // early may have become ready since), so that answer still comes from pass 1 below. When a
    // case is ready, as in a busy select loop, this takes one lock instead of all of them, and
    // skips the lock order's sort (bench select4: each select locked and unlocked 4 channels).
    for &i in pollorder.iter() {
        let c = chan(i);
        c.lock();
        // SAFETY: c is locked by this thread; elems[i] points into case i, borrowed for the call.
        if let Some(ok) = unsafe { c.try_op(cases[i].ops.is_send(), elems[i]) } {
            // try_op released the lock.
            return Some((i, ok));
        }
        // SAFETY: locked just above; try_op kept it locked (it found nothing to do).
        unsafe { c.unlock() };
    }
    // Lock order: by channel address, each channel once.
    // (address, case) pairs: each channel's address asked for once, not at every comparison.
    let mut lock = Scratch::new(pollorder.len(), (0usize, 0usize));
    for (l, &i) in lock.as_mut_slice().iter_mut().zip(pollorder.iter()) {
        *l = (chan(i).addr(), i);
    }
    lock.as_mut_slice().sort_unstable_by_key(|l| l.0);
    let mut distinct = 0;
    for k in 0..lock.len {
        let l = lock.as_mut_slice()[k];
        if distinct == 0 || lock.as_mut_slice()[distinct - 1].0 != l.0 {
            lock.as_mut_slice()[distinct] = l;
            distinct += 1;
        }
    }
    lock.truncate(distinct);
    let lockorder: &[(usize, usize)] = lock.as_mut_slice();
    let pollorder: &[usize] = pollorder;
    let lock_all = || lockorder.iter().for_each(|&(_, i)| chan(i).lock());
    let unlock_all_except = |skip: usize| {
        for &(addr, i) in lockorder.iter().rev() {
            if addr != skip {
                // SAFETY: lock_all locked each channel of lockorder once; `skip` was released.
                unsafe { chan(i).unlock() };
            }
        }
    };

    lock_all();
    // Pass 1: look for something already waiting.
    for &i in pollorder {
        let c = chan(i);
        // SAFETY: every channel is locked; elems[i] points into case i, borrowed for the call.
        if let Some(ok) = unsafe { c.try_op(cases[i].ops.is_send(), elems[i]) } {
            // try_op released this channel's lock.
            unlock_all_except(c.addr());
            return Some((i, ok));
        }
    }
    if !block {
        unlock_all_except(0);
        return None;
    }

    // Pass 2: enqueue on every channel.
    let gp = arch::getg();
    let mut sgs: Vec<Sudog> = (0..n).map(|i| Sudog::new(gp, elems[i])).collect();
    // SAFETY: all channels locked; the sudogs live in `sgs` until every one is dequeued/removed.
    unsafe {
        (*gp).param.store(0, Ordering::Relaxed);
        (*gp).selectdone.store(0, Ordering::Relaxed);
        for (i, sg) in sgs.iter_mut().enumerate() {
            if let Some(c) = cases[i].ops.chan() {
                sg.is_select = true;
                c.enqueue(cases[i].ops.is_send(), sg);
            }
        }
    }
    let locks = SelectLocks { cases, order: lockorder };
    gopark(Some(unlock_select), &locks as *const SelectLocks<'_, '_> as usize, WaitReason::Select);

    // Pass 3: woken by the winner; dequeue the rest.
    lock_all();
    // SAFETY: gp.param is the winning sudog (set by the waker before goready).
    let won = unsafe { protocol::take_wakeup(&(*gp).param) } as *const Sudog;
    let mut result = None;
    for (i, sg) in sgs.iter_mut().enumerate() {
        let Some(c) = cases[i].ops.chan() else { continue }; // never enqueued
        if ptr::eq(sg as *const Sudog, won) {
            result = Some((i, sg.success));
        } else {
            // SAFETY: channel locked; sg may or may not still be queued.
            unsafe { c.remove(cases[i].ops.is_send(), sg) };
        }
    }
    unlock_all_except(0);
    if result.is_none() {
        crate::throw("selectgo: bad wakeup");
    }
    result
}

struct SelectLocks<'a, 'b> {
    cases: &'b [Case<'a>],
    /// (channel address, case index), by address, each channel once.
    order: &'b [(usize, usize)],
}

/// gopark hook for select: unlocks every channel once the goroutine is parked.
unsafe fn unlock_select(gp: *mut G, arg: usize) -> bool {
    // SAFETY: arg points at the SelectLocks on the parked goroutine's stack.
    let l = unsafe { &*(arg as *const SelectLocks<'_, '_>) };
    // Every lock comes off gp's count before the first is released: once one is, a waker may
    // ready gp, which then counts locks of its own on another M (relocking every channel, so
    // it waits for the rest, and `l` on its stack stays valid until the last unlock).
    let held = l.order.iter().filter(|&&(_, i)| l.cases[i].ops.chan().is_some()).count();
    // SAFETY: gp is parked and holds these locks, counted once each by SelectChan::lock.
    unsafe { crate::lock_futex::uncount_parked(gp, held as i32) };
    for &(_, i) in l.order.iter().rev() {
        // SAFETY: selectgo locked each channel of the order once before parking (the order
        // holds only cases with a channel), uncounted above.
        if let Some(c) = l.cases[i].ops.chan() {
            unsafe { c.unlock_parked() };
        }
    }
    true
}

/// What a `recv(...)` arm of [`select!`](crate::select!) accepts: a [`Receiver`], a reference
/// to one, or an `Option` of either (None switches the arm off, as a nil channel in Go).
#[diagnostic::on_unimplemented(
    message = "`recv({Self})` in select!: the channel must be a Receiver, a reference to one, or an Option of either",
    label = "not a Receiver"
)]
pub trait SelectRecv {
    /// The channel's element type.
    type Item;
    /// The receiver to wait on, or None for an arm that is never chosen.
    fn select_receiver(&self) -> Option<&Receiver<Self::Item>>;
}

impl<T> SelectRecv for Receiver<T> {
    type Item = T;
    fn select_receiver(&self) -> Option<&Receiver<T>> {
        Some(self)
    }
}

impl<X: SelectRecv + ?Sized> SelectRecv for &X {
    type Item = X::Item;
    fn select_receiver(&self) -> Option<&Receiver<X::Item>> {
        (**self).select_receiver()
    }
}

impl<X: SelectRecv + ?Sized> SelectRecv for &mut X {
    type Item = X::Item;
    fn select_receiver(&self) -> Option<&Receiver<X::Item>> {
        (**self).select_receiver()
    }
}

impl<X: SelectRecv> SelectRecv for Option<X> {
    type Item = X::Item;
    fn select_receiver(&self) -> Option<&Receiver<X::Item>> {
        self.as_ref()?.select_receiver()
    }
}

/// What a `send(...)` arm of [`select!`](crate::select!) accepts: a [`Sender`], a reference to
/// one, or an `Option` of either (None switches the arm off, as a nil channel in Go).
#[diagnostic::on_unimplemented(
    message = "`send({Self}, ..)` in select!: the channel must be a Sender, a reference to one, or an Option of either",
    label = "not a Sender"
)]
pub trait SelectSend {
    /// The channel's element type.
    type Item;
    /// The sender to wait on, or None for an arm that is never chosen.
    fn select_sender(&self) -> Option<&Sender<Self::Item>>;
}

impl<T> SelectSend for Sender<T> {
    type Item = T;
    fn select_sender(&self) -> Option<&Sender<T>> {
        Some(self)
    }
}

impl<X: SelectSend + ?Sized> SelectSend for &X {
    type Item = X::Item;
    fn select_sender(&self) -> Option<&Sender<X::Item>> {
        (**self).select_sender()
    }
}

impl<X: SelectSend + ?Sized> SelectSend for &mut X {
    type Item = X::Item;
    fn select_sender(&self) -> Option<&Sender<X::Item>> {
        (**self).select_sender()
    }
}

impl<X: SelectSend> SelectSend for Option<X> {
    type Item = X::Item;
    fn select_sender(&self) -> Option<&Sender<X::Item>> {
        self.as_ref()?.select_sender()
    }
}

/// A receive case of `select!`: the channel (None: never chosen) and the slot a value lands in.
pub struct RecvCase<'a, T> {
    c: Option<&'a Hchan<T>>,
    slot: MaybeUninit<T>,
    state: CaseState,
}

impl<'a, T: Send> RecvCase<'a, T> {
    /// A case receiving from rx (a Receiver, a reference to one, or an Option of either).
    pub fn new<A: SelectRecv<Item = T> + ?Sized>(rx: &'a A) -> Self {
        let c = rx.select_receiver().and_then(|r| r.c.as_deref());
        RecvCase { c, slot: MaybeUninit::uninit(), state: CaseState::Pending }
    }
    /// The view selectgo works on; borrows this case until select returns.
    pub fn case(&mut self) -> Case<'_> {
        Case { ops: self }
    }
    /// The outcome once this case won: Some(v), or None if the channel was closed.
    ///
    /// # Panics
    /// If this case did not run, or its outcome was taken already.
    #[track_caller]
    pub fn take(&mut self) -> Option<T> {
        match core::mem::replace(&mut self.state, CaseState::Taken) {
            // SAFETY: Done(true) means the slot was written (CaseOps::complete's contract), and
            // the state is Taken from here on, so it is read once.
            CaseState::Done(true) => Some(unsafe { self.slot.assume_init_read() }),
            CaseState::Done(false) => None,
            _ => panic!("select: outcome of a case that did not run"),
        }
    }
    /// Some(outcome) if this case won (as [`take`](Self::take)), None if it did not run.
    ///
    /// # Panics
    /// If the outcome was taken already.
    #[track_caller]
    pub fn outcome(&mut self) -> Option<Option<T>> {
        match self.state {
            CaseState::Pending => None,
            _ => Some(self.take()),
        }
    }
}

impl<T: Send> CaseOps for RecvCase<'_, T> {
    fn chan(&self) -> Option<&dyn SelectChan> {
        self.c.map(|c| c as &dyn SelectChan)
    }
    fn is_send(&self) -> bool {
        false
    }
    fn elem(&mut self) -> *mut u8 {
        self.slot.as_mut_ptr() as *mut u8
    }
    unsafe fn complete(&mut self, ok: bool) {
        self.state = CaseState::Done(ok);
    }
}

impl<T> fmt::Debug for RecvCase<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecvCase").field("enabled", &self.c.is_some()).field("state", &self.state).finish()
    }
}

impl<T> Drop for RecvCase<'_, T> {
    fn drop(&mut self) {
        if self.state == CaseState::Done(true) {
            // SAFETY: received and never taken.
            unsafe { self.slot.assume_init_drop() };
        }
    }
}

/// A send case of `select!`: the channel (None: never chosen) and the value, owned until it is
/// sent.
pub struct SendCase<'a, T> {
    c: Option<&'a Hchan<T>>,
    val: MaybeUninit<T>,
    state: CaseState,
}

impl<'a, T: Send> SendCase<'a, T> {
    /// A case sending v on tx (a Sender, a reference to one, or an Option of either).
    pub fn new<A: SelectSend<Item = T> + ?Sized>(tx: &'a A, v: T) -> Self {
        let c = tx.select_sender().map(|s| &*s.c);
        SendCase { c, val: MaybeUninit::new(v), state: CaseState::Pending }
    }
    /// The view selectgo works on; borrows this case until select returns.
    pub fn case(&mut self) -> Case<'_> {
        Case { ops: self }
    }
    /// The outcome once this case won: Ok, or Err(v) if the channel was closed.
    ///
    /// # Panics
    /// If this case did not run, or its outcome was taken already.
    #[track_caller]
    pub fn take(&mut self) -> Result<(), SendError<T>> {
        match self.state {
            CaseState::Done(true) => {
                self.state = CaseState::Taken;
                Ok(())
            }
            CaseState::Done(false) => {
                self.state = CaseState::Taken;
                // SAFETY: a send that found the channel closed left the value in place, and the
                // state is Taken from here on, so it is moved out once.
                Err(SendError(unsafe { self.val.assume_init_read() }))
            }
            _ => panic!("select: outcome of a case that did not run"),
        }
    }
    /// Some(outcome) if this case won (as [`take`](Self::take)), None if it did not run.
    ///
    /// # Panics
    /// If the outcome was taken already.
    #[track_caller]
    pub fn outcome(&mut self) -> Option<Result<(), SendError<T>>> {
        match self.state {
            CaseState::Pending => None,
            _ => Some(self.take()),
        }
    }
}

impl<T: Send> CaseOps for SendCase<'_, T> {
    fn chan(&self) -> Option<&dyn SelectChan> {
        self.c.map(|c| c as &dyn SelectChan)
    }
    fn is_send(&self) -> bool {
        true
    }
    fn elem(&mut self) -> *mut u8 {
        self.val.as_mut_ptr() as *mut u8
    }
    unsafe fn complete(&mut self, ok: bool) {
        self.state = CaseState::Done(ok);
    }
}

impl<T> fmt::Debug for SendCase<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendCase").field("enabled", &self.c.is_some()).field("state", &self.state).finish()
    }
}

impl<T> Drop for SendCase<'_, T> {
    fn drop(&mut self) {
        // The value is still here unless it was sent (Done(true)) or handed back (Taken).
        if matches!(self.state, CaseState::Pending | CaseState::Done(false)) {
            // SAFETY: as above: the value was never moved out.
            unsafe { self.val.assume_init_drop() };
        }
    }
}

/// Waits on several channel operations at once: Go's `select` statement, as an expression.
///
/// ```text
/// gort::select! {
///     recv(RX) -> PAT => BODY,
///     send(TX, VALUE) -> PAT => BODY,
///     default => BODY,
/// }
/// ```
///
/// - `recv(rx) -> v`: `v: Option<T>`, as [`Receiver::recv`] (None once the channel is closed
///   and drained).
/// - `send(tx, value) -> r`: `r: Result<(), SendError<T>>`, as [`Sender::send`]; a send arm
///   that is not chosen drops its value.
/// - `default`: at most one; taken when no other arm is ready. Without it, `select!` blocks
///   until an arm is ready.
///
/// Among ready arms one is chosen uniformly at random. The channel and value expressions are
/// evaluated once each, in source order, before anything is chosen; temporaries they make
/// (`recv(make_rx())`) live until the chosen body has been entered, and the select's cases are
/// gone before any body runs, so a body may move, drop or reassign the channels. Bodies are
/// expressions (`=> expr,` or `=> { block }`, the comma after a block is optional) and the
/// whole `select!` takes the value of the body that ran, so all bodies have one type.
/// `break`, `continue`, `return` and `?` in a body act on the code around the `select!`.
///
/// `RX` is a [`Receiver`], a reference to one, or an `Option` of either; `TX` likewise with
/// [`Sender`]. An arm whose option is `None`, or on [`Receiver::never`], is never chosen: Go's
/// nil channel, the way to switch an arm off. With no arm left and no `default`, `select!`
/// blocks for good (a deadlock if nothing else runs), as `select {}` does in Go. Each arm costs
/// one step of macro recursion: up to 124 arms (and a `default`) fit in the default
/// `recursion_limit` of 128, more with `#![recursion_limit = "256"]`. The expansion raises no
/// rustc or clippy warning in the caller's code.
///
/// ```
/// let (tx, rx) = gort::chan::<u32>(1);
/// // Nothing ready: default. The select is an expression.
/// let got = gort::select! {
///     recv(rx) -> v => v,
///     default => None,
/// };
/// assert_eq!(got, None);
/// // A temporary in an arm, and a send arm whose result is the select's value.
/// let sent = gort::select! {
///     send(tx, 7) -> r => r.is_ok(),
///     // Never ready: the temporary Sender lives as long as the select.
///     recv(gort::chan::<u32>(0).1) -> _ => false,
/// };
/// assert!(sent);
/// // A switched-off arm: `None` is never chosen.
/// let off: Option<&gort::Receiver<u32>> = None;
/// let v = gort::select! {
///     recv(off) -> _ => unreachable!(),
///     recv(rx) -> v => v.unwrap(),
/// };
/// assert_eq!(v, 7);
/// ```
///
/// A loop that drains two channels and switches each arm off once its channel closes:
///
/// ```
/// let (a_tx, a_rx) = gort::chan::<u32>(0);
/// let (b_tx, b_rx) = gort::chan::<u32>(0);
/// gort::go(move || (1..=3).for_each(|i| a_tx.send(i).unwrap()));
/// gort::go(move || (10..=30).step_by(10).for_each(|i| b_tx.send(i).unwrap()));
/// let (mut a, mut b) = (Some(&a_rx), Some(&b_rx));
/// let mut sum = 0;
/// while a.is_some() || b.is_some() {
///     gort::select! {
///         recv(a) -> v => match v {
///             Some(v) => sum += v,
///             None => a = None, // closed: switch the arm off
///         },
///         recv(b) -> v => match v {
///             Some(v) => sum += v,
///             None => b = None,
///         },
///     }
/// }
/// assert_eq!(sum, 66);
/// ```
#[macro_export]
macro_rules! select {
    ($($tt:tt)*) => {
        $crate::__select_parse!(@arms [] @default [] $($tt)*)
    };
}

/// select!'s parser: a tt-muncher that takes one arm per step (so the recursion depth is the
/// number of arms) and turns it into `[(scrutinee) (pattern) (case) (outcome) (constructor)
/// (user pattern) (body)]`. The identifiers it writes (`__gort_ch`, `__gort_val`, `__gort_case`,
/// `__gort_out`) come from a different expansion at each step, so hygiene makes them distinct
/// variables per arm. The last rule expands the whole select at once, without recursion:
///
/// - `match (scrutinees,) { (patterns,) => ... }`: every channel and value expression in
///   source order; temporaries in a match scrutinee live to the end of the match, which is
///   what lets `recv(make_rx())` borrow its receiver;
/// - inside, one case per arm, selectgo, and each case's outcome moved out into a variable
///   declared before the match;
/// - after the match (the cases, which borrow the channels, are gone by then), an `if let`
///   chain runs the body of the arm that won, or the default.
#[doc(hidden)]
#[macro_export]
macro_rules! __select_parse {
    // recv arm: a block body (comma optional), or an expression body (comma unless last).
    (@arms [$($a:tt)*] @default [$($d:tt)*] recv($rx:expr) -> $v:pat => $body:block, $($rest:tt)*) => {
        $crate::__select_parse!(@arms [$($a)* [(&$rx) (__gort_ch) (__gort_case) (__gort_out)
            ($crate::__private::RecvCase::new(__gort_ch)) ($v) ($body)]] @default [$($d)*] $($rest)*)
    };
    (@arms [$($a:tt)*] @default [$($d:tt)*] recv($rx:expr) -> $v:pat => $body:block $($rest:tt)*) => {
        $crate::__select_parse!(@arms [$($a)* [(&$rx) (__gort_ch) (__gort_case) (__gort_out)
            ($crate::__private::RecvCase::new(__gort_ch)) ($v) ($body)]] @default [$($d)*] $($rest)*)
    };
    (@arms [$($a:tt)*] @default [$($d:tt)*] recv($rx:expr) -> $v:pat => $body:expr $(, $($rest:tt)*)?) => {
        $crate::__select_parse!(@arms [$($a)* [(&$rx) (__gort_ch) (__gort_case) (__gort_out)
            ($crate::__private::RecvCase::new(__gort_ch)) ($v) ($body)]] @default [$($d)*] $($($rest)*)?)
    };
    // send arm: the value is part of the scrutinee, so it is evaluated in source order.
    (@arms [$($a:tt)*] @default [$($d:tt)*] send($tx:expr, $val:expr) -> $r:pat => $body:block, $($rest:tt)*) => {
        $crate::__select_parse!(@arms [$($a)* [((&$tx, $val)) ((__gort_ch, __gort_val)) (__gort_case) (__gort_out)
            ($crate::__private::SendCase::new(__gort_ch, __gort_val)) ($r) ($body)]] @default [$($d)*] $($rest)*)
    };
    (@arms [$($a:tt)*] @default [$($d:tt)*] send($tx:expr, $val:expr) -> $r:pat => $body:block $($rest:tt)*) => {
        $crate::__select_parse!(@arms [$($a)* [((&$tx, $val)) ((__gort_ch, __gort_val)) (__gort_case) (__gort_out)
            ($crate::__private::SendCase::new(__gort_ch, __gort_val)) ($r) ($body)]] @default [$($d)*] $($rest)*)
    };
    (@arms [$($a:tt)*] @default [$($d:tt)*] send($tx:expr, $val:expr) -> $r:pat => $body:expr $(, $($rest:tt)*)?) => {
        $crate::__select_parse!(@arms [$($a)* [((&$tx, $val)) ((__gort_ch, __gort_val)) (__gort_case) (__gort_out)
            ($crate::__private::SendCase::new(__gort_ch, __gort_val)) ($r) ($body)]] @default [$($d)*] $($($rest)*)?)
    };
    // default (at most one: a second one matches no rule).
    (@arms [$($a:tt)*] @default [] default => $body:block, $($rest:tt)*) => {
        $crate::__select_parse!(@arms [$($a)*] @default [($body)] $($rest)*)
    };
    (@arms [$($a:tt)*] @default [] default => $body:block $($rest:tt)*) => {
        $crate::__select_parse!(@arms [$($a)*] @default [($body)] $($rest)*)
    };
    (@arms [$($a:tt)*] @default [] default => $body:expr $(, $($rest:tt)*)?) => {
        $crate::__select_parse!(@arms [$($a)*] @default [($body)] $($($rest)*)?)
    };
    // Every arm parsed: the whole select.
    (@arms [$([($scrut:expr) ($pat:pat) ($case:ident) ($out:ident) ($ctor:expr) ($v:pat) ($body:expr)])*]
     @default [$($d:tt)*]) => {{
        $( let $out; )*
        match ($($scrut,)*) {
            ($($pat,)*) => {
                $( let mut $case = $ctor; )*
                $crate::__private::selectgo(&mut [$($case.case()),*], !$crate::__select_has_default!($($d)*));
                $( $out = $case.outcome(); )*
            }
        }
        $( if let ::core::option::Option::Some(__gort_o) = $out { let $v = __gort_o; $body } else )*
        { $crate::__select_default!($($d)*) }
    }};
}

#[doc(hidden)]
#[macro_export]
macro_rules! __select_has_default {
    () => {
        false
    };
    ($d:tt) => {
        true
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __select_default {
    () => {
        ::core::unreachable!("select: no case ran")
    };
    (($body:expr)) => {
        $body
    };
}

/// The lock-free steps of the channel protocol, generic over the atomic types so that loom can
/// model-check them with its own atomics (loom_tests below) while the runtime uses core's.
/// Everything else in a channel happens under its lock.
pub(crate) mod protocol {
    use core::sync::atomic::Ordering;

    /// The 32-bit atomic operations the protocol uses (core's and loom's AtomicU32).
    pub trait Word32 {
        fn cas(&self, old: u32, new: u32, ok: Ordering, fail: Ordering) -> Result<u32, u32>;
    }
    /// The pointer-sized atomic operations the protocol uses (core's and loom's AtomicUsize).
    pub trait Word {
        fn store_word(&self, v: usize, o: Ordering);
        fn load_word(&self, o: Ordering) -> usize;
        fn sub_word(&self, v: usize, o: Ordering) -> usize;
    }
    impl Word32 for core::sync::atomic::AtomicU32 {
        fn cas(&self, old: u32, new: u32, ok: Ordering, fail: Ordering) -> Result<u32, u32> {
            self.compare_exchange(old, new, ok, fail)
        }
    }
    impl Word for core::sync::atomic::AtomicUsize {
        fn store_word(&self, v: usize, o: Ordering) {
            self.store(v, o)
        }
        fn load_word(&self, o: Ordering) -> usize {
            self.load(o)
        }
        fn sub_word(&self, v: usize, o: Ordering) -> usize {
            self.fetch_sub(v, o)
        }
    }
    #[cfg(loom)]
    impl Word32 for loom::sync::atomic::AtomicU32 {
        fn cas(&self, old: u32, new: u32, ok: Ordering, fail: Ordering) -> Result<u32, u32> {
            self.compare_exchange(old, new, ok, fail)
        }
    }
    #[cfg(loom)]
    impl Word for loom::sync::atomic::AtomicUsize {
        fn store_word(&self, v: usize, o: Ordering) {
            self.store(v, o)
        }
        fn load_word(&self, o: Ordering) -> usize {
            self.load(o)
        }
        fn sub_word(&self, v: usize, o: Ordering) -> usize {
            self.fetch_sub(v, o)
        }
    }

    /// Go's selectDone CAS: a waker that dequeues a select's sudog completes that select only if
    /// it wins this; exactly one waker does. AcqRel: the winner's later writes (the value, the
    /// wake-up) are ordered after every earlier claim attempt.
    pub fn claim_select(done: &impl Word32) -> bool {
        done.cas(0, 1, Ordering::AcqRel, Ordering::Acquire).is_ok()
    }

    /// The waker's hand-off: records which sudog completed the wait (g.param). Release: the
    /// value copied into the waiter's slot before this is visible to the waiter's take_wakeup.
    pub fn publish_wakeup(param: &impl Word, sudog: usize) {
        param.store_word(sudog, Ordering::Release);
    }

    /// The woken goroutine reads which sudog completed its wait (Acquire: pairs with
    /// publish_wakeup, so the value in its slot is complete).
    pub fn take_wakeup(param: &impl Word) -> usize {
        param.load_word(Ordering::Acquire)
    }

    /// A Sender dropped: true for exactly the last one, which closes the channel. AcqRel: the
    /// close happens after every other sender's sends.
    pub fn release_sender(senders: &impl Word) -> bool {
        senders.sub_word(1, Ordering::AcqRel) == 1
    }
}

/// loom models of the channel protocol's lock-free steps, run on the real `protocol` functions;
/// the channel lock is loom's Mutex and a goroutine's park/ready is a loom thread waiting for
/// its wake-up. `cargo xtask loom` runs them with the run-queue models.
#[cfg(all(test, loom))]
mod loom_tests {
    use super::protocol::{claim_select, publish_wakeup, release_sender, take_wakeup};
    use loom::cell::UnsafeCell;
    use loom::sync::atomic::{AtomicU32, AtomicUsize, Ordering};
    use loom::sync::{Arc, Mutex};
    use loom::thread;
    use std::vec::Vec;

    /// A goroutine blocked in select on two channels; a sender on each races to complete it.
    struct Selector {
        done: AtomicU32,
        param: AtomicUsize,
        /// The receive slot of each case (the sudog's elem).
        slots: [UnsafeCell<u64>; 2],
        /// goready: set (Release) after the hand-off; the selector "runs" once it sees it.
        ready: AtomicU32,
    }

    /// Two channels' wait queues each hold the selector's sudog (case 0 and case 1). A sender on
    /// each channel dequeues it under that channel's lock: exactly one wins the claim, writes its
    /// value and wakes the selector, which sees that case and that value; the loser finds the
    /// select done and would park instead (it reports that it lost).
    #[test]
    fn select_has_exactly_one_winner_and_sees_its_value() {
        loom::model(|| {
            let sel = Arc::new(Selector {
                done: AtomicU32::new(0),
                param: AtomicUsize::new(0),
                slots: [UnsafeCell::new(0), UnsafeCell::new(0)],
                ready: AtomicU32::new(0),
            });
            // Each channel's recvq: Some(case) while the selector's sudog is queued on it.
            let queues: Arc<[Mutex<Option<usize>>; 2]> = Arc::new([Mutex::new(Some(0)), Mutex::new(Some(1))]);
            let senders: Vec<_> = (0..2usize)
                .map(|c| {
                    let (sel, queues) = (sel.clone(), queues.clone());
                    thread::spawn(move || {
                        let mut q = queues[c].lock().unwrap();
                        let Some(case) = q.take() else { return false };
                        if !claim_select(&sel.done) {
                            return false; // Go's dequeue skips a select sudog already won
                        }
                        // SAFETY (model): the claim gives this sender the only right to write
                        // the slot; the selector reads it after take_wakeup.
                        sel.slots[case].with_mut(|p| unsafe { *p = 100 + case as u64 });
                        publish_wakeup(&sel.param, case + 1);
                        drop(q);
                        sel.ready.store(1, Ordering::Release);
                        true
                    })
                })
                .collect();
            // The selector: parked until readied, then pass 3 (dequeue from the other channel).
            while sel.ready.load(Ordering::Acquire) == 0 {
                thread::yield_now();
            }
            let won = take_wakeup(&sel.param);
            assert!(won == 1 || won == 2, "woken without a winner");
            let case = won - 1;
            // SAFETY (model): the winner wrote the slot before publish_wakeup.
            let v = sel.slots[case].with(|p| unsafe { *p });
            assert_eq!(v, 100 + case as u64);
            for (c, q) in queues.iter().enumerate() {
                if c != case {
                    q.lock().unwrap().take(); // dequeueSudoG on the losing channel
                }
            }
            let wins: usize = senders.into_iter().map(|h| h.join().unwrap() as usize).sum();
            assert_eq!(wins, 1, "exactly one sender completes the select");
        });
    }

    /// Three senders dropped concurrently: exactly one is the last and closes the channel.
    #[test]
    fn exactly_one_last_sender_closes() {
        loom::model(|| {
            let senders = Arc::new(AtomicUsize::new(3));
            let closes = Arc::new(AtomicUsize::new(0));
            let hs: Vec<_> = (0..2)
                .map(|_| {
                    let (s, c) = (senders.clone(), closes.clone());
                    thread::spawn(move || {
                        if release_sender(&*s) {
                            c.fetch_add(1, Ordering::Relaxed);
                        }
                    })
                })
                .collect();
            if release_sender(&*senders) {
                closes.fetch_add(1, Ordering::Relaxed);
            }
            for h in hs {
                h.join().unwrap();
            }
            assert_eq!(closes.load(Ordering::Relaxed), 1);
            assert_eq!(senders.load(Ordering::Relaxed), 0);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::shuffle;

    /// Every ordering of `n` cases, for draws spread evenly over the u32 range: each must come
    /// out equally often, give or take one (the bias bound of `shuffle`'s doc), and each result
    /// must be a permutation.
    fn counts(n: usize, draws: u64) -> alloc::collections::BTreeMap<Vec<usize>, u64> {
        let mut seen = alloc::collections::BTreeMap::new();
        for k in 0..draws {
            let x = ((k << 32) / draws) as u32;
            let mut order: Vec<usize> = (0..n).collect();
            shuffle(&mut order, || x);
            let mut sorted = order.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, (0..n).collect::<Vec<_>>(), "not a permutation: {order:?}");
            *seen.entry(order).or_insert(0) += 1;
        }
        seen
    }

    #[test]
    fn shuffle_is_uniform_over_orderings() {
        // Under Miri the 8-case sweep (322 560 shuffles) would take most of CI's Miri step.
        let sizes: &[(u64, u64)] =
            if cfg!(miri) { &[(2, 2), (3, 6), (4, 24)] } else { &[(2, 2), (3, 6), (4, 24), (5, 120), (8, 40_320)] };
        for &(n, fact) in sizes {
            let per = 8;
            let seen = counts(n as usize, fact * per);
            assert_eq!(seen.len() as u64, fact, "n={n}: not every ordering occurs");
            for (order, &c) in &seen {
                assert!(c.abs_diff(per) <= 1, "n={n}: {order:?} occurred {c} times, not {per}");
            }
        }
    }

    #[test]
    fn shuffle_draws_again_after_seven_steps() {
        // Beyond 8 cases a fresh draw continues the permutation: with every draw 0 the
        // result is the rotation Fisher-Yates gives for j = 0 at every step.
        let mut calls = 0;
        let mut order: Vec<usize> = (0..20).collect();
        shuffle(&mut order, || {
            calls += 1;
            0
        });
        assert_eq!(calls, 3, "steps 1-7, 8-14, 15-19");
        let mut sorted = order.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..20).collect::<Vec<_>>());
    }
}
