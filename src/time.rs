//! Time (Go's time package: time.go's clocks, sleep.go, tick.go): the monotonic [`Instant`]
//! (`nanotime`: the vDSO's clock_gettime on Linux, with a system-call fallback), the wall clock
//! [`SystemTime`], [`sleep`] and [`sleep_until`], and timers: [`Timer`], [`Ticker`], [`after`],
//! [`tick`], [`after_func`]. Every one of them is a runtime timer on a P's heap (timer.rs, Go's
//! runtime/time.go), never a goroutine waiting.
//!
//! | Go | gort |
//! |---|---|
//! | `time.Now()` (monotonic part), `time.Since` | [`Instant::now`], [`Instant::elapsed`] |
//! | `time.Now()` (wall part), `t.Unix()` | [`SystemTime::now`], `duration_since(UNIX_EPOCH)` |
//! | `time.Sleep(d)` | [`sleep`], [`sleep_until`] |
//! | `time.After(d)`, `time.Tick(d)` | [`after`], [`tick`] (a `Receiver<Instant>`) |
//! | `time.NewTimer(d)`, `t.C`, `t.Stop()`, `t.Reset(d)` | [`Timer::new`], [`Timer::c`], [`Timer::stop`], [`Timer::reset`] |
//! | `time.NewTicker(d)`, `t.Stop()`, `t.Reset(d)` | [`Ticker::new`], [`Ticker::stop`], [`Ticker::reset`] |
//! | `time.AfterFunc(d, f)` | [`after_func`] |

use alloc::sync::Arc;
use core::time::Duration;

use crate::gmp::G;
use crate::sys as os;
use crate::timer as rt;

/// Monotonic time in nanoseconds (Go's nanotime), from the OS layer (vDSO on Linux).
#[inline]
pub(crate) fn nanotime() -> i64 {
    os::nanotime()
}

/// A point on the monotonic clock (Go's `time.Now()` for measuring; std's `Instant`), with
/// nanosecond resolution. Never goes backwards; unrelated to the wall clock.
///
/// ```
/// let start = gort::time::Instant::now();
/// gort::sleep(core::time::Duration::from_millis(2));
/// assert!(start.elapsed() >= core::time::Duration::from_millis(2));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Instant {
    ns: i64,
}

impl Instant {
    /// The current time.
    pub fn now() -> Instant {
        Instant { ns: nanotime() }
    }

    /// Time passed since `self`.
    pub fn elapsed(&self) -> Duration {
        Instant::now().saturating_duration_since(*self)
    }

    /// Time from `earlier` to `self`, zero if `earlier` is later.
    pub fn saturating_duration_since(&self, earlier: Instant) -> Duration {
        Duration::from_nanos(self.ns.saturating_sub(earlier.ns).max(0) as u64)
    }

    /// Time from `earlier` to `self`, None if `earlier` is later.
    pub fn checked_duration_since(&self, earlier: Instant) -> Option<Duration> {
        (self.ns >= earlier.ns).then(|| Duration::from_nanos((self.ns - earlier.ns) as u64))
    }

    /// `self + d`, None if it would overflow the clock's range (about 292 years).
    pub fn checked_add(&self, d: Duration) -> Option<Instant> {
        let d = i64::try_from(d.as_nanos()).ok()?;
        Some(Instant { ns: self.ns.checked_add(d)? })
    }

    /// `self - d`, None if it would overflow the clock's range.
    pub fn checked_sub(&self, d: Duration) -> Option<Instant> {
        let d = i64::try_from(d.as_nanos()).ok()?;
        Some(Instant { ns: self.ns.checked_sub(d)? })
    }
}

/// `+`, `-`, `+=` and `-=` with a Duration for a clock reading type with `checked_add` and
/// `checked_sub`; they panic when the result is out of the clock's range, as std's do.
macro_rules! duration_ops {
    ($t:ty) => {
        impl core::ops::Add<Duration> for $t {
            type Output = $t;
            /// # Panics
            /// If the result is out of range (as std's).
            #[track_caller]
            fn add(self, d: Duration) -> $t {
                self.checked_add(d).expect("overflow when adding duration to instant")
            }
        }

        impl core::ops::Sub<Duration> for $t {
            type Output = $t;
            /// # Panics
            /// If the result is out of range (as std's).
            #[track_caller]
            fn sub(self, d: Duration) -> $t {
                self.checked_sub(d).expect("overflow when subtracting duration from instant")
            }
        }

        impl core::ops::AddAssign<Duration> for $t {
            #[track_caller]
            fn add_assign(&mut self, d: Duration) {
                *self = *self + d;
            }
        }

        impl core::ops::SubAssign<Duration> for $t {
            #[track_caller]
            fn sub_assign(&mut self, d: Duration) {
                *self = *self - d;
            }
        }
    };
}

duration_ops!(Instant);
duration_ops!(SystemTime);

impl core::ops::Sub<Instant> for Instant {
    type Output = Duration;
    /// Time from `earlier` to `self`, zero if `earlier` is later (as std's Instant).
    fn sub(self, earlier: Instant) -> Duration {
        self.saturating_duration_since(earlier)
    }
}

impl Instant {
    /// The instant `ns` on the nanotime clock.
    pub(crate) const fn from_nanos(ns: i64) -> Instant {
        Instant { ns }
    }

    /// This instant on the nanotime clock.
    pub(crate) const fn as_nanos(&self) -> i64 {
        self.ns
    }

    /// Time from `earlier` to `self`, zero if `earlier` is later (as std's).
    pub fn duration_since(&self, earlier: Instant) -> Duration {
        self.saturating_duration_since(earlier)
    }
}

// ---------------------------------------------------------------------------------------------
// The wall clock
// ---------------------------------------------------------------------------------------------

/// A reading of the wall clock (Go's `time.Now()` as a date; std's `SystemTime`): nanoseconds
/// since the Unix epoch, from CLOCK_REALTIME (the vDSO on Linux), `GetSystemTimePreciseAsFileTime`
/// on windows, `clock_gettime_nsec_np(CLOCK_REALTIME)` on darwin. It can jump (the clock is set):
/// measure intervals with [`Instant`].
///
/// ```
/// use gort::time::{SystemTime, UNIX_EPOCH};
/// let since = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
/// assert!(since.as_secs() > 1_600_000_000); // after September 2020
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct SystemTime {
    /// Nanoseconds since the epoch (negative before it); about ±292 years of range.
    ns: i64,
}

/// 1970-01-01 00:00:00 UTC.
pub const UNIX_EPOCH: SystemTime = SystemTime { ns: 0 };

impl SystemTime {
    /// 1970-01-01 00:00:00 UTC (also [`UNIX_EPOCH`]).
    pub const UNIX_EPOCH: SystemTime = UNIX_EPOCH;

    /// The time `secs` + `nanos` after the epoch (a file's timestamps), saturating at the range.
    pub(crate) const fn from_unix(secs: i64, nanos: u32) -> SystemTime {
        SystemTime { ns: secs.saturating_mul(1_000_000_000).saturating_add(nanos as i64) }
    }

    /// The current wall-clock time.
    pub fn now() -> SystemTime {
        SystemTime { ns: os::walltime() }
    }

    /// Time from `earlier` to `self`; Err with the difference if `earlier` is later.
    pub fn duration_since(&self, earlier: SystemTime) -> Result<Duration, SystemTimeError> {
        let d = self.ns as i128 - earlier.ns as i128;
        if d >= 0 {
            Ok(Duration::from_nanos(d as u64))
        } else {
            Err(SystemTimeError(Duration::from_nanos(d.unsigned_abs() as u64)))
        }
    }

    /// Time since `self` (Err if the clock is now before it).
    pub fn elapsed(&self) -> Result<Duration, SystemTimeError> {
        SystemTime::now().duration_since(*self)
    }

    /// `self + d`, None if out of range.
    pub fn checked_add(&self, d: Duration) -> Option<SystemTime> {
        Some(SystemTime { ns: self.ns.checked_add(i64::try_from(d.as_nanos()).ok()?)? })
    }

    /// `self - d`, None if out of range.
    pub fn checked_sub(&self, d: Duration) -> Option<SystemTime> {
        Some(SystemTime { ns: self.ns.checked_sub(i64::try_from(d.as_nanos()).ok()?)? })
    }
}

/// The error of [`SystemTime::duration_since`]: `earlier` was later, by [`SystemTimeError::duration`].
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct SystemTimeError(Duration);

impl SystemTimeError {
    /// How much later the "earlier" time was.
    pub fn duration(&self) -> Duration {
        self.0
    }
}

impl core::fmt::Display for SystemTimeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("second time provided was later than self")
    }
}

impl core::error::Error for SystemTimeError {}

// ---------------------------------------------------------------------------------------------
// Sleeping
// ---------------------------------------------------------------------------------------------

/// nanotime `d` from now, at least 1 (0 means "not armed" to a timer), saturating.
fn when_after(d: Duration) -> i64 {
    nanotime().saturating_add(d.as_nanos().min(i64::MAX as u128) as i64).max(1)
}

/// Puts the goroutine to sleep for at least `d` (Go's time.Sleep). Other goroutines run meanwhile.
/// Same as [`crate::sleep`].
pub fn sleep(d: Duration) {
    crate::proc::preempt_check();
    if d.is_zero() {
        return;
    }
    sleep_until_ns(when_after(d));
}

/// Puts the goroutine to sleep until `deadline` (returns at once if it has passed).
///
/// ```
/// use core::time::Duration;
/// let t = gort::time::Instant::now() + Duration::from_millis(3);
/// gort::time::sleep_until(t);
/// assert!(gort::time::Instant::now() >= t);
/// ```
pub fn sleep_until(deadline: Instant) {
    crate::proc::preempt_check();
    sleep_until_ns(deadline.ns);
}

/// Go's timeSleep: parks on the goroutine's own timer (Go's gp.timer), armed in the gopark hook
/// (resetForSleep) so that it cannot fire before the goroutine is parked.
fn sleep_until_ns(when: i64) {
    if when <= nanotime() {
        return;
    }
    let gp = crate::arch::getg();
    // SAFETY: the running goroutine's own field; its timer lives as long as the g (never freed).
    unsafe {
        if (*gp).timer.is_null() {
            (*gp).timer = Arc::into_raw(rt::Timer::new(rt::TimerFn::Ready(gp)));
        }
    }
    /// gopark hook: arms the g's timer once the g is parked.
    unsafe fn reset_for_sleep(gp: *mut G, when: usize) -> bool {
        // SAFETY: on g0 of an M holding a P; gp is parked; `when` points at sleep_until_ns's
        // argument on gp's stack; gp.timer came from Arc::into_raw and is never released.
        unsafe {
            let t = core::mem::ManuallyDrop::new(Arc::from_raw((*gp).timer));
            t.modify(*(when as *const i64), 0);
        }
        true
    }
    crate::proc::gopark(Some(reset_for_sleep), &when as *const i64 as usize, crate::gmp::WaitReason::Sleep);
}

// ---------------------------------------------------------------------------------------------
// Timers and tickers (Go's time/sleep.go, time/tick.go)
// ---------------------------------------------------------------------------------------------

/// A single event (Go's `time.Timer` from `NewTimer`): after its duration the [`Instant`] it was
/// due is sent on its channel, [`Timer::c`]. It lives on a P's timer heap, not in a
/// goroutine. As in Go 1.23: [`Timer::stop`] and [`Timer::reset`] return whether the timer was
/// still pending, and once they return no stale value can be received; the channel never closes.
/// Dropping the timer stops it.
///
/// ```
/// use core::time::Duration;
/// let t = gort::time::Timer::new(Duration::from_millis(2));
/// let fired = t.c().recv().unwrap();
/// assert!(fired.elapsed() < Duration::from_secs(60));
/// assert!(!t.stop()); // already fired and received
/// assert!(!t.reset(Duration::from_millis(1))); // not pending: re-armed
/// t.c().recv().unwrap();
/// ```
pub struct Timer {
    t: Arc<rt::Timer>,
    c: crate::Receiver<Instant>,
}

impl Timer {
    /// A timer that fires once, `d` from now.
    pub fn new(d: Duration) -> Timer {
        crate::proc::preempt_check();
        let (c, t) = crate::chan::timer_chan();
        t.modify(when_after(d), 0);
        Timer { t, c }
    }

    /// The channel the timer's value arrives on (Go's `t.C`).
    pub fn c(&self) -> &crate::Receiver<Instant> {
        &self.c
    }

    /// Stops the timer. Returns true if this call stopped it (it had not fired, or its value had
    /// not been received: that value is discarded), false if it had fired and its value was
    /// received, or was stopped already. Afterwards a receive on [`Timer::c`] blocks.
    pub fn stop(&self) -> bool {
        crate::proc::preempt_check();
        self.t.stop()
    }

    /// Re-arms the timer to fire `d` from now, discarding a value not yet received. Returns what
    /// [`Timer::stop`] would have.
    pub fn reset(&self, d: Duration) -> bool {
        crate::proc::preempt_check();
        self.t.modify(when_after(d), 0)
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        self.t.stop();
    }
}

impl core::fmt::Debug for Timer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Timer").finish_non_exhaustive()
    }
}

/// Ticks at a fixed period (Go's `time.Ticker`): the n-th tick is due at start + n·period, so it
/// does not drift, and each tick carries the [`Instant`] it was due; a receiver too slow for the ticks misses some (the channel holds one). Dropping
/// the ticker stops it.
///
/// ```
/// use core::time::Duration;
/// let t = gort::time::Ticker::new(Duration::from_millis(1));
/// for _ in 0..3 {
///     t.c().recv().unwrap();
/// }
/// t.stop();
/// ```
pub struct Ticker {
    t: Arc<rt::Timer>,
    c: crate::Receiver<Instant>,
}

impl Ticker {
    /// A ticker with period `d`.
    ///
    /// # Panics
    /// If `d` is zero (Go: "non-positive interval for NewTicker").
    #[track_caller]
    pub fn new(d: Duration) -> Ticker {
        crate::proc::preempt_check();
        let period = period_of(d);
        let (c, t) = crate::chan::timer_chan();
        t.modify(when_after(d), period);
        Ticker { t, c }
    }

    /// The channel ticks arrive on (Go's `t.C`).
    pub fn c(&self) -> &crate::Receiver<Instant> {
        &self.c
    }

    /// Stops the ticker: no tick is received after this returns (one not yet received is
    /// discarded).
    pub fn stop(&self) {
        crate::proc::preempt_check();
        self.t.stop();
    }

    /// Stops the ticker and restarts it with period `d`, the next tick `d` from now.
    ///
    /// # Panics
    /// If `d` is zero.
    #[track_caller]
    pub fn reset(&self, d: Duration) {
        crate::proc::preempt_check();
        let period = period_of(d);
        self.t.modify(when_after(d), period);
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.t.stop();
    }
}

impl core::fmt::Debug for Ticker {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Ticker").finish_non_exhaustive()
    }
}

/// A ticker period in nanoseconds; panics on zero.
#[track_caller]
fn period_of(d: Duration) -> i64 {
    if d.is_zero() {
        panic!("non-positive interval for Ticker");
    }
    d.as_nanos().min(i64::MAX as u128 / 2) as i64
}

/// A receiver that gets an [`Instant`] (the one it was due) once, `d` from now (Go's `time.After`; crossbeam's
/// `after`). No goroutine waits for it; dropping the receiver removes its timer. It never closes:
/// after the value is taken, receiving blocks.
///
/// ```
/// use core::time::Duration;
/// let (_tx, rx) = gort::chan::<u32>(0);
/// let timeout = gort::time::after(Duration::from_millis(5));
/// let mut timed_out = false;
/// gort::select! {
///     recv(rx) -> _ => {}
///     recv(timeout) -> _ => timed_out = true,
/// }
/// assert!(timed_out);
/// ```
pub fn after(d: Duration) -> crate::Receiver<Instant> {
    crate::proc::preempt_check();
    let (c, t) = crate::chan::timer_chan();
    t.modify(when_after(d), 0);
    c
}

/// A receiver that gets an [`Instant`] (the tick's due time) every `d` (Go's `time.Tick`), dropping ticks for a
/// slow receiver. A zero `d` gives a receiver that never receives (Go returns a nil channel).
/// Dropping the receiver stops the ticks.
pub fn tick(d: Duration) -> crate::Receiver<Instant> {
    crate::proc::preempt_check();
    let (c, t) = crate::chan::timer_chan();
    if !d.is_zero() {
        t.modify(when_after(d), period_of(d));
    }
    c
}

/// Runs `f` in a goroutine of its own `d` from now (Go's `time.AfterFunc`). The returned handle can
/// stop or re-arm it; dropping the handle does not (as in Go, where the timer outlives its
/// reference).
///
/// ```
/// use core::time::Duration;
/// let (tx, rx) = gort::chan::<&str>(1);
/// let _t = gort::time::after_func(Duration::from_millis(1), move || {
///     let _ = tx.send("ran");
/// });
/// assert_eq!(rx.recv(), Some("ran"));
/// ```
pub fn after_func<F>(d: Duration, f: F) -> AfterFunc
where
    F: Fn() + Send + Sync + 'static,
{
    crate::proc::preempt_check();
    crate::proc::ensure_sysmon();
    let t = rt::Timer::new(rt::TimerFn::Go(Arc::new(f)));
    t.modify(when_after(d), 0);
    AfterFunc { t }
}

/// The handle of an [`after_func`] timer.
pub struct AfterFunc {
    t: Arc<rt::Timer>,
}

impl AfterFunc {
    /// Stops the timer: true if this prevented `f` from starting, false if `f` has been started
    /// already (or the timer was stopped).
    pub fn stop(&self) -> bool {
        crate::proc::preempt_check();
        self.t.stop()
    }

    /// Re-arms the timer to start `f` (again) `d` from now. Returns whether it was pending.
    pub fn reset(&self, d: Duration) -> bool {
        crate::proc::preempt_check();
        self.t.modify(when_after(d), 0)
    }
}

impl core::fmt::Debug for AfterFunc {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AfterFunc").finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg_attr(miri, ignore = "reads the clock through the vDSO or a raw system call (inline assembly)")]
    fn nanotime_is_monotonic() {
        let a = nanotime();
        let b = nanotime();
        assert!(b >= a && a > 0);
    }
}
