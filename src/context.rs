//! Cancellation and deadlines across goroutines (Go's context package), shaped for Rust.
//!
//! A [`Context`] is a cheap, cloneable handle on a node of a tree. [`background`] is the root
//! that is never cancelled. [`with_cancel`], [`with_deadline`] and [`with_timeout`] make a child
//! and return it with a [`Cancel`] handle; cancelling a node (calling [`Cancel::cancel`],
//! dropping the `Cancel`, or reaching the deadline) closes its [`Context::done`] channel, sets
//! [`Context::err`], and does the same to every descendant, releasing their deadline timers.
//!
//! | Go | gort |
//! |---|---|
//! | `context.Background()`, `context.TODO()` | [`background`] |
//! | `ctx, cancel := context.WithCancel(parent)` | `let (ctx, cancel) = context::with_cancel(&parent)` |
//! | `context.WithDeadline(parent, t)`, `WithTimeout(parent, d)` | [`with_deadline`] (an [`Instant`]), [`with_timeout`] |
//! | `cancel()` | [`Cancel::cancel`], or dropping the [`Cancel`] (Rust's RAII: a forgotten cancel cannot leak the child) |
//! | `<-ctx.Done()` in a select | `recv(done) -> _` with `let done = ctx.done();` ([`Context::done`]: a receiver that yields `None` once cancelled) |
//! | `ctx.Err()`: `nil`, `context.Canceled`, `context.DeadlineExceeded` | [`Context::err`]: `None`, `Some(Error::Canceled)`, `Some(Error::DeadlineExceeded)` |
//! | `ctx.Deadline()` | [`Context::deadline`] |
//!
//! Values (`WithValue`) and `AfterFunc`/`WithoutCancel`/`Cause` are not provided: pass values as
//! arguments, and `time::after_func` covers timed callbacks.
//!
//! ```
//! use core::time::Duration;
//! use gort::context;
//! let (ctx, _cancel) = context::with_timeout(&context::background(), Duration::from_millis(5));
//! let (_tx, work) = gort::chan::<u32>(0); // work that never comes
//! let done = ctx.done();
//! gort::select! {
//!     recv(work) -> v => gort::println!("got {:?}", v),
//!     recv(done) -> _ => assert_eq!(ctx.err(), Some(context::Error::DeadlineExceeded)),
//! }
//! ```

use alloc::collections::BTreeMap;
use alloc::sync::{Arc, Weak};
use alloc::vec::Vec;
use core::fmt;
use core::sync::atomic::{AtomicPtr, AtomicU64, Ordering};
use core::time::Duration;

use crate::lock_futex::Mutex;
use crate::time::{AfterFunc, Instant};
use crate::{Receiver, Sender};

/// Why a context was cancelled (Go's `context.Canceled` and `context.DeadlineExceeded`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Error {
    /// Its (or an ancestor's) [`Cancel`] was used or dropped.
    Canceled,
    /// Its (or an ancestor's) deadline passed.
    DeadlineExceeded,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Error::Canceled => "context canceled",
            Error::DeadlineExceeded => "context deadline exceeded",
        })
    }
}

impl core::error::Error for Error {}

/// A node of the context tree.
struct Node {
    /// Key in the parent's `children`.
    id: u64,
    /// Closed when the node is cancelled.
    done: Receiver<()>,
    deadline: Option<Instant>,
    parent: Option<Weak<Node>>,
    state: Mutex<State>,
}

/// A node's state, behind its lock.
struct State {
    err: Option<Error>,
    /// The only Sender of `done`: dropped to close it.
    close: Option<Sender<()>>,
    children: BTreeMap<u64, Arc<Node>>,
    /// The deadline's timer, stopped on cancel.
    timer: Option<AfterFunc>,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);
/// The background node (made once, never freed: it is never cancelled, so its `done` never closes).
static BACKGROUND: AtomicPtr<Node> = AtomicPtr::new(core::ptr::null_mut());

impl Node {
    fn new(parent: Option<Weak<Node>>, deadline: Option<Instant>) -> Arc<Node> {
        let (tx, rx) = crate::chan::<()>(0);
        Arc::new(Node {
            id: NEXT_ID.fetch_add(1, Ordering::Relaxed),
            done: rx,
            deadline,
            parent,
            state: Mutex::new(State { err: None, close: Some(tx), children: BTreeMap::new(), timer: None }),
        })
    }

    /// Go's cancelCtx.cancel: cancels this node and its subtree (iteratively: a deep chain must
    /// not overflow a small stack), then detaches it from its parent.
    fn cancel(self: &Arc<Node>, err: Error) {
        let mut work: Vec<Arc<Node>> = alloc::vec![self.clone()];
        while let Some(n) = work.pop() {
            let (tx, timer) = {
                let mut st = n.state.lock();
                if st.err.is_some() {
                    continue;
                }
                st.err = Some(err);
                work.extend(core::mem::take(&mut st.children).into_values());
                (st.close.take(), st.timer.take())
            };
            drop(tx); // the last Sender: done closes
            if let Some(t) = timer {
                t.stop();
            }
        }
        if let Some(p) = self.parent.as_ref().and_then(Weak::upgrade) {
            p.state.lock().children.remove(&self.id);
        }
    }
}

/// A context: carries cancellation and a deadline to the goroutines it is passed to (Go's
/// `context.Context`). Clone it freely; all clones are the same context.
#[derive(Clone)]
pub struct Context {
    node: Arc<Node>,
}

impl Context {
    /// A receiver that yields `None` once the context is cancelled, and blocks until then: use it
    /// as a `select!` arm (Go's `<-ctx.Done()`). The background context's never yields.
    pub fn done(&self) -> &Receiver<()> {
        &self.node.done
    }

    /// `None` while the context is live, then why it was cancelled (Go's `ctx.Err()`).
    pub fn err(&self) -> Option<Error> {
        self.node.state.lock().err
    }

    /// The earliest deadline of the context and its ancestors (Go's `ctx.Deadline()`).
    pub fn deadline(&self) -> Option<Instant> {
        self.node.deadline
    }
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context").field("err", &self.err()).field("deadline", &self.deadline()).finish()
    }
}

/// Cancels its context (Go's `CancelFunc`): by [`Cancel::cancel`] or when dropped. Cancelling
/// twice does nothing.
#[must_use = "dropping the Cancel cancels the context at once"]
pub struct Cancel {
    node: Arc<Node>,
}

impl Cancel {
    /// Cancels the context and everything derived from it, with [`Error::Canceled`] (unless it
    /// was cancelled already).
    pub fn cancel(&self) {
        self.node.cancel(Error::Canceled);
    }
}

impl Drop for Cancel {
    fn drop(&mut self) {
        self.node.cancel(Error::Canceled);
    }
}

impl fmt::Debug for Cancel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Cancel").finish_non_exhaustive()
    }
}

/// The root context: never cancelled, no deadline (Go's `context.Background()`).
pub fn background() -> Context {
    let mut p = BACKGROUND.load(Ordering::Acquire);
    if p.is_null() {
        let fresh = Arc::into_raw(Node::new(None, None)) as *mut Node;
        match BACKGROUND.compare_exchange(core::ptr::null_mut(), fresh, Ordering::AcqRel, Ordering::Acquire) {
            Ok(_) => p = fresh,
            Err(won) => {
                // SAFETY: fresh came from Arc::into_raw above and was never published.
                drop(unsafe { Arc::from_raw(fresh) });
                p = won;
            }
        }
    }
    // SAFETY: BACKGROUND holds one count of this Arc forever; we add one for the new handle.
    unsafe {
        Arc::increment_strong_count(p);
        Context { node: Arc::from_raw(p) }
    }
}

/// A child of `parent` that is cancelled by the returned [`Cancel`], or when `parent` is
/// (Go's `context.WithCancel`).
pub fn with_cancel(parent: &Context) -> (Context, Cancel) {
    child(parent, parent.node.deadline)
}

/// A child of `parent` that is also cancelled, with [`Error::DeadlineExceeded`], at `deadline`
/// (Go's `context.WithDeadline`). A timer on the runtime's heaps does it; cancelling the child
/// stops that timer.
pub fn with_deadline(parent: &Context, deadline: Instant) -> (Context, Cancel) {
    if parent.node.deadline.is_some_and(|d| d <= deadline) {
        return with_cancel(parent); // the parent's deadline comes first anyway
    }
    let (ctx, cancel) = child(parent, Some(deadline));
    let left = deadline.saturating_duration_since(Instant::now());
    if left.is_zero() {
        ctx.node.cancel(Error::DeadlineExceeded);
        return (ctx, cancel);
    }
    let weak = Arc::downgrade(&ctx.node);
    let t = crate::time::after_func(left, move || {
        if let Some(n) = weak.upgrade() {
            n.cancel(Error::DeadlineExceeded);
        }
    });
    let late = {
        let mut st = ctx.node.state.lock();
        if st.err.is_none() {
            st.timer = Some(t);
            None
        } else {
            Some(t) // cancelled meanwhile (by the parent)
        }
    };
    if let Some(t) = late {
        t.stop();
    }
    (ctx, cancel)
}

/// [`with_deadline`] at `timeout` from now (Go's `context.WithTimeout`).
pub fn with_timeout(parent: &Context, timeout: Duration) -> (Context, Cancel) {
    let deadline = Instant::now().checked_add(timeout).unwrap_or(Instant::from_nanos(i64::MAX));
    with_deadline(parent, deadline)
}

/// A new node under parent, registered with it (Go's propagateCancel).
fn child(parent: &Context, deadline: Option<Instant>) -> (Context, Cancel) {
    let is_background = ptr_eq_background(&parent.node);
    let node = Node::new((!is_background).then(|| Arc::downgrade(&parent.node)), deadline);
    if !is_background {
        let mut st = parent.node.state.lock();
        match st.err {
            Some(err) => {
                drop(st);
                node.cancel(err);
            }
            None => {
                st.children.insert(node.id, node.clone());
            }
        }
    }
    (Context { node: node.clone() }, Cancel { node })
}

/// Whether n is the background node (never cancelled: children need not register).
fn ptr_eq_background(n: &Arc<Node>) -> bool {
    core::ptr::eq(Arc::as_ptr(n), BACKGROUND.load(Ordering::Acquire))
}
