//! The poller of an OS that has none yet (Go's runtime/netpoll_stub.go): darwin's kqueue and
//! windows' IOCP are still to come, so `gort::net` does not exist there and nothing registers an
//! fd; `inited` stays false and the scheduler never calls these.

use super::PollDesc;
use crate::gmp::GList;

/// Never called: no fd is registered on this OS.
pub(super) fn netpollinit() {
    crate::throw("netpollinit: no network poller on this OS")
}

/// Never called (see netpollinit).
pub(super) fn netpollopen(_fd: usize, _pd: &PollDesc, _seq: usize) -> Result<(), i32> {
    crate::throw("netpollopen: no network poller on this OS")
}

/// Never called (see netpollinit).
pub(super) fn netpollclose(_fd: usize) {
    crate::throw("netpollclose: no network poller on this OS")
}

/// Nothing to break: the poller never starts.
pub(super) fn netpoll_break() {}

/// No poller, no ready goroutines.
pub(super) fn netpoll(_delay_ns: i64) -> (GList, i32) {
    (GList::new(), 0)
}
