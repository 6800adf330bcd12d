//! Trying a list of addresses (Go's net/dial.go: dialSerial and partialDeadline).

use core::net::SocketAddr;
use core::time::Duration;

use super::ToSocketAddrs;
use crate::io::{Error, ErrorKind};
use crate::time::Instant;

/// No address to try (Go's errMissingAddress).
const MISSING_ADDRESS: Error = Error::new(ErrorKind::InvalidInput, "missing address");

/// Go's partialDeadline: the deadline for one of `remaining` addresses, sharing what is left
/// before `deadline` equally but giving each at least 2 s while there is that much; `None`
/// when the time is up.
pub(super) fn partial_deadline(now: Instant, deadline: Instant, remaining: usize) -> Option<Instant> {
    const SANE_MINIMUM: Duration = Duration::from_secs(2);
    let left = deadline.saturating_duration_since(now);
    if left.is_zero() {
        return None;
    }
    let mut each = left / remaining.max(1) as u32;
    if each < SANE_MINIMUM {
        each = left.min(SANE_MINIMUM);
    }
    Some(now + each)
}

/// Go's dialSerial: `dial` each address in turn until one works; the first success, or the
/// first error (the most relevant: the address the caller preferred). With a deadline, each
/// try gets its `partial_deadline`.
pub(super) fn dial_serial<A: ToSocketAddrs, T>(
    addr: A,
    deadline: Option<Instant>,
    mut dial: impl FnMut(SocketAddr, Option<Instant>) -> Result<T, Error>,
) -> Result<T, Error> {
    let addrs: alloc::vec::Vec<SocketAddr> = addr.to_socket_addrs()?.collect();
    let mut first_err = None;
    for (i, &a) in addrs.iter().enumerate() {
        let d = match deadline {
            None => None,
            Some(d) => match partial_deadline(Instant::now(), d, addrs.len() - i) {
                Some(p) => Some(p),
                None => {
                    first_err.get_or_insert(Error::timed_out());
                    break;
                }
            },
        };
        match dial(a, d) {
            Ok(t) => return Ok(t),
            Err(e) => {
                first_err.get_or_insert(e);
            }
        }
    }
    Err(first_err.unwrap_or(MISSING_ADDRESS))
}

/// std's `each_addr` for bind and UDP connect: the first address that works, or the first error.
pub(super) fn each_addr<A: ToSocketAddrs, T>(
    addr: A,
    mut f: impl FnMut(SocketAddr) -> Result<T, Error>,
) -> Result<T, Error> {
    dial_serial(addr, None, |a, _| f(a))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Go's TestDialerPartialDeadline table (dial_test.go), less its no-deadline row (that is
    /// `None` before partial_deadline is called).
    #[test]
    #[cfg_attr(miri, ignore = "Instant::now reads the clock through the vDSO (inline assembly)")]
    fn partial_deadlines() {
        let now = Instant::now();
        let (s, ms) = (Duration::from_secs, Duration::from_millis);
        assert_eq!(partial_deadline(now, now + s(12), 1), Some(now + s(12)));
        assert_eq!(partial_deadline(now, now + s(12), 2), Some(now + s(6)));
        assert_eq!(partial_deadline(now, now + s(12), 3), Some(now + s(4)));
        assert_eq!(partial_deadline(now, now + s(12), 999), Some(now + s(2)), "the 2 s sane minimum");
        assert_eq!(partial_deadline(now, now + ms(1900), 999), Some(now + ms(1900)), "all that is left");
        assert_eq!(partial_deadline(now - ms(1), now, 1), Some(now));
        assert_eq!(partial_deadline(now, now, 1), None);
        assert_eq!(partial_deadline(now + ms(1), now, 1), None);
    }
}
