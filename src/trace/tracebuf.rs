//! A per-M trace buffer and its compact binary event encoding (Go's tracebuf.go: traceBuf,
//! varint-encoded events with timestamps as deltas from the buffer's previous event). Events
//! are encoded here as the M records them, spilled as they are, and decoded back into `Ev`s at
//! `stop`, where `json.rs` writes them.
//!
//! A buffer's bytes are a 16-byte header (events' byte length: u32; the M's id: i32; the
//! timestamp floor, the previous buffer's last timestamp: i64; all little-endian) followed by
//! its events, each a whole number of 8-byte little-endian words. Timestamps are stored as
//! deltas from the previous event's (the floor for the first: timestamps are monotonic per M,
//! so deltas are never negative); an event's P is the previous event's unless it says so.
//!
//! **Compact form** (the events a switch records, one store each and no branch per field): a
//! head word of kind (bits 0..4, never 0), arg (4..8), timestamp delta (8..32) and one 32-bit
//! field (32..64: the goroutine id; a steal's victim or netpoll's count). A block is its own
//! kind (`K_BLOCK`) with the wait reason in arg. A start adds a word: its `gort::go` call site
//! as a signed 32-bit distance from a static of this binary (0: none; they point into its
//! read-only data), and for a woken start (arg 1) the distance back to its unblock's timestamp
//! (signed 32 bits). A creation adds its parent's goroutine id.
//!
//! **Extended form**, for anything else (a delta of 2^24 ticks or more, larger ids, a change of
//! P, statuses): a zero byte, a head byte (kind in bits 0..4, `arg` in bits 4..7, bit 7: "a P
//! follows"), the timestamp delta as an unsigned LEB128 varint, the P's id + 1 if bit 7 says so
//! (-1, "no P", at a buffer's start), then the kind's fields as varints (pointers as zigzag
//! distances from the same static), padded to a whole word.
//!
//! A wake-up arrow has no id of its own: an unblock is known by its goroutine and timestamp,
//! and the start it leads to names that timestamp; `convert` pairs the two and numbers the
//! arrow. A ping-pong round trip's six events take 64 bytes.
//!
//! The pointers make the encoding readable only by the process that wrote it, as before.

use super::traceruntime::*;
use crate::gmp::WaitReason;

/// A buffer's size in bytes, header included.
pub const BUF_BYTES: usize = 64 * 1024;
/// The header's size.
pub const HDR: usize = 16;
/// The most bytes one event takes (head 1, ts 10, P 3, g 10, x 10, y 10), plus one for the
/// 3-byte varint's 4-byte store: `encode` wants this much room.
pub const MAX_EV: usize = 54;

/// A buffer of encoded events (Go's traceBuf). All-zero is a valid value (an empty buffer
/// whose `init` has not run), so buffers come from `alloc_zeroed`.
#[repr(C)]
pub struct TraceBuf {
    /// Bytes of `data` used (header included once `init` has run).
    n: usize,
    /// The previous event's timestamp (the floor before the first).
    prev_ts: i64,
    /// The previous event's P id, -1 for none.
    prev_p: i32,
    /// The previous event was a goroutine's stop (`reuse_ts`).
    after_stop: bool,
    /// The goroutine whose span this M opened (its last start, not yet followed by a stop),
    /// 0 for none; carried to the M's next buffer (`init`). A stop of any other goroutine is of
    /// one that was running when the trace started (traceruntime.rs `emit_on`).
    open_g: u64,
    /// The header, then the events.
    data: [u8; BUF_BYTES],
}

/// The pointer fields' origin: a static of this binary, near the `Location`s and wait-reason
/// texts the events point at, so their distances are small.
static PTR_BASE: [u8; 1] = [0];

fn ptr_base() -> u64 {
    PTR_BASE.as_ptr() as u64
}

/// A pointer field's code: 0 for null, else the zigzag distance from `ptr_base` plus one. The
/// one non-null value whose code would wrap to 0 takes null's old code instead, so the map is
/// a bijection on u64 (any value round-trips, not only real pointers).
fn ptr_code(x: u64) -> u64 {
    let base = ptr_base();
    if x == 0 {
        return 0;
    }
    match zigzag(x.wrapping_sub(base) as i64).wrapping_add(1) {
        0 => zigzag(0u64.wrapping_sub(base) as i64).wrapping_add(1),
        c => c,
    }
}

/// `ptr_code`'s inverse.
fn ptr_decode(c: u64) -> u64 {
    let base = ptr_base();
    if c == 0 {
        return 0;
    }
    if c == zigzag(0u64.wrapping_sub(base) as i64).wrapping_add(1) {
        // The value whose code wrapped (see ptr_code).
        return unzigzag(u64::MAX).wrapping_add(base as i64) as u64;
    }
    unzigzag(c - 1).wrapping_add(base as i64) as u64
}

fn zigzag(d: i64) -> u64 {
    ((d << 1) ^ (d >> 63)) as u64
}

fn unzigzag(z: u64) -> i64 {
    (z >> 1) as i64 ^ -((z & 1) as i64)
}

/// The compact form's kind for a block (EV_GO_STOP with STOP_BLOCK): its arg is the wait reason.
const K_BLOCK: u8 = 15;

/// Every wait reason, for the decoder: a block's or a waiting status's reason is stored as its
/// `WaitReason` discriminant (one byte; `go_block` passes `reason as u8`) and decoded back to
/// its text's address and length, which `json.rs` reads. A reason missing here decodes as
/// "?": a variant added to `WaitReason` belongs here too (`every_wait_reason_is_decodable`
/// checks the list is in discriminant order and ends with the last variant known to it).
const REASONS: [WaitReason; 12] = [
    WaitReason::Zero,
    WaitReason::ChanReceive,
    WaitReason::ChanSend,
    WaitReason::ChanReceiveNilChan,
    WaitReason::ChanSendNilChan,
    WaitReason::Select,
    WaitReason::SelectNoCases,
    WaitReason::Sleep,
    WaitReason::SyncMutexLock,
    WaitReason::SyncWaitGroupWait,
    WaitReason::IoWait,
    WaitReason::TraceReaderBlocked,
];

/// A stored wait reason's text as (address, length).
fn reason_text(code: u64) -> (u64, u64) {
    let s = REASONS.iter().find(|&&r| r as u8 as u64 == code).map_or("?", |r| r.as_str());
    (s.as_ptr() as u64, s.len() as u64)
}

/// Writes `v` as an unsigned LEB128 varint at `p`, returns the byte after it. Values below 2^21
/// (timestamp deltas under ~0.7 ms of ticks, goroutine ids, nearby pointers, flow counts: nearly
/// every field) take one store and no loop; the 2- and 3-byte forms store 2 and 4 bytes (the
/// 4th is garbage the next field or event overwrites, and within `MAX_EV`'s slack).
///
/// # Safety
/// `p` is valid for 10 bytes of writes.
#[inline(always)]
unsafe fn put(p: *mut u8, v: u64) -> *mut u8 {
    // SAFETY: at most 10 bytes (64 bits, 7 a byte; the 3-byte form stores 4), the caller's
    // promise; unaligned stores are what write_unaligned is for.
    unsafe {
        if v < 1 << 7 {
            *p = v as u8;
            return p.add(1);
        }
        if v < 1 << 14 {
            let w = (v & 0x7f | (v << 1) & 0x7f00 | 0x80) as u16;
            (p as *mut u16).write_unaligned(w.to_le());
            return p.add(2);
        }
        if v < 1 << 21 {
            let w = (v & 0x7f | (v << 1) & 0x7f00 | (v << 2) & 0x7f_0000 | 0x8080) as u32;
            (p as *mut u32).write_unaligned(w.to_le());
            return p.add(3);
        }
        put_slow(p, v)
    }
}

/// put's loop for values of 2^21 and up (rare: out of line, so each field's inline code stays
/// small).
///
/// # Safety
/// As put.
#[cold]
#[inline(never)]
unsafe fn put_slow(mut p: *mut u8, mut v: u64) -> *mut u8 {
    // SAFETY: at most 10 bytes, the caller's promise.
    unsafe {
        while v >= 0x80 {
            *p = v as u8 | 0x80;
            p = p.add(1);
            v >>= 7;
        }
        *p = v as u8;
        p.add(1)
    }
}

impl TraceBuf {
    /// Makes a fresh (zeroed) buffer M `m`'s, its first timestamp no lower than `floor`, the
    /// M's span of goroutine `open_g` open (0: none; the M's previous buffer's `open_g`).
    pub fn init(&mut self, m: i32, floor: i64, open_g: u64) {
        self.n = HDR;
        self.prev_ts = floor;
        self.prev_p = -1;
        self.after_stop = false;
        self.open_g = open_g;
        self.data[4..8].copy_from_slice(&m.to_le_bytes());
        self.data[8..16].copy_from_slice(&floor.to_le_bytes());
    }

    /// The last event's timestamp (the next buffer's floor).
    pub fn last_ts(&self) -> i64 {
        self.prev_ts
    }

    /// The goroutine whose span this M has open (started and not stopped in this trace), 0
    /// for none.
    #[inline(always)]
    pub fn open_g(&self) -> u64 {
        self.open_g
    }

    /// Whether an event may not fit (or `init` has not run): the M takes a fresh buffer.
    #[inline(always)]
    pub fn full(&self) -> bool {
        // n < HDR wraps to a large value: one compare for both.
        self.n.wrapping_sub(HDR) > BUF_BYTES - MAX_EV - HDR
    }

    /// The timestamp a goroutine's start may take without reading the clock: the previous
    /// event's, if that was a goroutine's stop on this M (nothing recorded since: the time between
    /// is the scheduler's own, finding the next goroutine) and the starting goroutine was
    /// runnable by then (`since`, its unblock's, creation's or stop's timestamp, is not later).
    /// Then the start cannot precede what made it runnable, and the M's order is kept. None:
    /// read the clock.
    #[inline(always)]
    pub fn reuse_ts(&self, since: i64) -> Option<i64> {
        (self.after_stop && since <= self.prev_ts).then_some(self.prev_ts)
    }

    /// Appends one event and returns its timestamp as stored, or None (writing nothing) if it
    /// may not fit. Its timestamp is raised to the previous event's if below it (per-M
    /// monotonicity: a TSC not synchronized across cores, after a migration); `arg` is below 8
    /// (every kind's is). Fields a kind does not use (json.rs) are not stored and decode as 0.
    /// A woken start (EV_GO_START, arg 1) stores `y`, its unblock's timestamp, as a distance
    /// from its own. The common events take the compact form (one or two words, no branch per
    /// field: the module doc), anything else the extended one, out of line.
    #[allow(clippy::too_many_arguments)]
    #[inline(always)]
    pub fn encode(&mut self, ts: i64, kind: u8, arg: u8, p: i32, g: u64, x: u64, y: u64) -> Option<i64> {
        debug_assert!(kind != 0 && kind < 15 && arg < 8);
        if self.full() {
            return None;
        }
        let ts = ts.max(self.prev_ts);
        let d = ts.wrapping_sub(self.prev_ts) as u64;
        // The compact form's head word: kind, arg, the timestamp delta and one 32-bit field.
        let (k, a, f) = match kind {
            EV_GO_STOP if arg == STOP_BLOCK => (K_BLOCK, x, g),
            EV_STEAL | EV_NETPOLL => (kind, arg as u64, x),
            _ => (kind, arg as u64, g),
        };
        // The second word: a start's site and wake-up distance, a creation's parent.
        let (two, w1, ok) = match kind {
            EV_GO_START => {
                let site = if x == 0 { 0 } else { x.wrapping_sub(ptr_base()) as i64 };
                let woke = if arg == 1 { ts.wrapping_sub(y as i64) } else { 0 };
                let ok = site as i32 as i64 == site && woke as i32 as i64 == woke && (x == 0) == (site == 0);
                (true, site as u32 as u64 | (woke as u64) << 32, ok)
            }
            EV_GO_CREATE => (true, x, true),
            EV_GO_STOP => (false, 0, arg != STOP_BLOCK || x < 16),
            EV_GO_STATUS => (false, 0, false),
            _ => (false, 0, true),
        };
        if ok && d < 1 << 24 && f < 1 << 32 && p == self.prev_p {
            let w0 = k as u64 | a << 4 | d << 8 | f << 32;
            // SAFETY: n <= BUF_BYTES - MAX_EV (checked above): 16 bytes fit.
            unsafe {
                let at = self.data.as_mut_ptr().add(self.n) as *mut u64;
                at.write_unaligned(w0.to_le());
                if two {
                    at.add(1).write_unaligned(w1.to_le());
                }
            }
            self.n += if two { 16 } else { 8 };
        } else {
            self.n = self.encode_ext(ts, kind, arg, p, g, x, y);
        }
        self.prev_ts = ts;
        self.prev_p = p;
        self.after_stop = kind == EV_GO_STOP;
        if kind == EV_GO_START {
            self.open_g = g;
        } else if kind == EV_GO_STOP {
            self.open_g = 0;
        }
        Some(ts)
    }

    /// encode's extended form (module doc): a zero byte, the head byte, LEB128 varints, padded
    /// to a whole word. Returns the new `n`. For what the compact form cannot hold: large
    /// values, a change of P, statuses.
    #[allow(clippy::too_many_arguments)]
    #[cold]
    #[inline(never)]
    fn encode_ext(&mut self, ts: i64, kind: u8, arg: u8, p: i32, g: u64, x: u64, y: u64) -> usize {
        let pflag = p != self.prev_p;
        // SAFETY: n <= BUF_BYTES - MAX_EV (checked by encode) and an event writes at most
        // MAX_EV bytes: 2 head + 10 (ts) + 3 (P id + 1 < 2^17) + three fields of at most 10,
        // one spare byte of put's 4-byte store, padding to a word.
        unsafe {
            let start = self.data.as_mut_ptr().add(self.n);
            *start = 0;
            *start.add(1) = kind & 15 | (arg & 7) << 4 | (pflag as u8) << 7;
            let mut q = put(start.add(2), ts.wrapping_sub(self.prev_ts) as u64);
            if pflag {
                q = put(q, (p + 1) as u32 as u64 & 0xffff);
            }
            match kind {
                EV_GO_CREATE => {
                    q = put(q, g);
                    q = put(q, x);
                }
                EV_GO_START => {
                    q = put(q, g);
                    q = put(q, ptr_code(x));
                    if arg == 1 {
                        q = put(q, zigzag(ts.wrapping_sub(y as i64)));
                    }
                }
                EV_GO_STOP => {
                    q = put(q, g);
                    if arg == STOP_BLOCK {
                        q = put(q, x);
                    }
                }
                EV_GO_STATUS => {
                    q = put(q, g);
                    if arg == STATUS_WAITING {
                        q = put(q, x);
                    }
                }
                EV_GO_UNBLOCK | EV_GO_SYSCALL | EV_GO_SYSEXIT | EV_GO_PREEMPT => q = put(q, g),
                EV_STEAL | EV_NETPOLL => q = put(q, x),
                _ => {}
            }
            let len = q.offset_from(start) as usize;
            self.n + len.next_multiple_of(8)
        }
    }

    /// The buffer's bytes (header and events) once its header's length is filled in: what the
    /// writer spills and `Decoder` reads.
    pub fn seal(&mut self) -> &[u8] {
        let n = self.n.max(HDR);
        self.data[..4].copy_from_slice(&((n - HDR) as u32).to_le_bytes());
        &self.data[..n]
    }
}

/// A buffer's header: the length of the events after it (bytes).
pub fn events_len(hdr: &[u8; HDR]) -> usize {
    u32::from_le_bytes([hdr[0], hdr[1], hdr[2], hdr[3]]) as usize
}

/// Reads one sealed buffer's events back (its header, then `events_len` bytes) as `Ev`s, in
/// order. Stops at the end or at a truncated event.
pub struct Decoder<'a> {
    rest: &'a [u8],
    m: i32,
    prev_ts: i64,
    prev_p: i32,
}

impl<'a> Decoder<'a> {
    /// A decoder for `hdr` (a buffer's first HDR bytes) and `events` (the bytes after it).
    pub fn new(hdr: &[u8; HDR], events: &'a [u8]) -> Decoder<'a> {
        let m = i32::from_le_bytes([hdr[4], hdr[5], hdr[6], hdr[7]]);
        let mut f = [0u8; 8];
        f.copy_from_slice(&hdr[8..16]);
        let len = events_len(hdr).min(events.len());
        Decoder { rest: &events[..len], m, prev_ts: i64::from_le_bytes(f), prev_p: -1 }
    }

    /// A decoder for a whole sealed buffer (`TraceBuf::seal`'s bytes).
    pub fn whole(bytes: &'a [u8]) -> Decoder<'a> {
        let mut h = [0u8; HDR];
        let n = bytes.len().min(HDR);
        h[..n].copy_from_slice(&bytes[..n]);
        Decoder::new(&h, &bytes[n..])
    }

    fn get(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for (i, &b) in self.rest.iter().enumerate().take(10) {
            v |= ((b & 0x7f) as u64) << (7 * i);
            if b < 0x80 {
                self.rest = &self.rest[i + 1..];
                return Some(v);
            }
        }
        None
    }
}

impl Decoder<'_> {
    /// One event in the extended form, after its zero byte: the old varint encoding.
    fn next_ext(&mut self) -> Option<Ev> {
        let (&h, rest) = self.rest.split_first()?;
        self.rest = rest;
        let (kind, arg) = (h & 15, h >> 4 & 7);
        let ts = self.prev_ts.wrapping_add(self.get()? as i64);
        let p = if h & 0x80 != 0 { self.get()? as i32 - 1 } else { self.prev_p };
        let (mut g, mut x, mut y) = (0, 0, 0);
        match kind {
            EV_GO_CREATE => {
                g = self.get()?;
                x = self.get()?;
            }
            EV_GO_START => {
                g = self.get()?;
                x = ptr_decode(self.get()?);
                if arg == 1 {
                    y = ts.wrapping_sub(unzigzag(self.get()?)) as u64;
                }
            }
            EV_GO_STOP => {
                g = self.get()?;
                if arg == STOP_BLOCK {
                    (x, y) = reason_text(self.get()?);
                }
            }
            EV_GO_UNBLOCK => {
                g = self.get()?;
                y = ts as u64;
            }
            EV_GO_STATUS => {
                g = self.get()?;
                if arg == STATUS_WAITING {
                    (x, y) = reason_text(self.get()?);
                }
            }
            EV_GO_SYSCALL | EV_GO_SYSEXIT | EV_GO_PREEMPT => g = self.get()?,
            EV_STEAL | EV_NETPOLL => x = self.get()?,
            _ => {}
        }
        Some(Ev { ts, g, x, y, kind, arg, p: p as i16, m: self.m })
    }

    /// The next little-endian word, if a whole one is left.
    fn word(&mut self) -> Option<u64> {
        let (w, rest) = self.rest.split_first_chunk::<8>()?;
        self.rest = rest;
        Some(u64::from_le_bytes(*w))
    }
}

impl Iterator for Decoder<'_> {
    type Item = Ev;

    fn next(&mut self) -> Option<Ev> {
        let &first = self.rest.first()?;
        let e = if first == 0 {
            // Extended: decode, then skip the padding to the next word.
            let before = self.rest.len();
            self.rest = &self.rest[1..];
            let e = self.next_ext()?;
            let used = before - self.rest.len();
            let pad = used.next_multiple_of(8) - used;
            self.rest = self.rest.get(pad..)?;
            e
        } else {
            let w = self.word()?;
            let (k, a) = ((w & 15) as u8, (w >> 4 & 15) as u8);
            let ts = self.prev_ts.wrapping_add((w >> 8 & 0xff_ffff) as i64);
            let f = w >> 32;
            let mut e = Ev { ts, g: f, x: 0, y: 0, kind: k, arg: a, p: self.prev_p as i16, m: self.m };
            match k {
                K_BLOCK => {
                    (e.kind, e.arg) = (EV_GO_STOP, STOP_BLOCK);
                    (e.x, e.y) = reason_text(a as u64);
                }
                EV_STEAL | EV_NETPOLL => (e.g, e.x) = (0, f),
                EV_GO_UNBLOCK => e.y = ts as u64,
                EV_GO_CREATE => e.x = self.word()?,
                EV_GO_START => {
                    let w1 = self.word()?;
                    let site = w1 as u32 as i32 as i64;
                    e.x = if site == 0 { 0 } else { ptr_base().wrapping_add(site as u64) };
                    if a == 1 {
                        e.y = ts.wrapping_sub((w1 >> 32) as u32 as i32 as i64) as u64;
                    }
                }
                _ => {}
            }
            e
        };
        self.prev_ts = e.ts;
        self.prev_p = e.p as i32;
        Some(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::boxed::Box;
    use alloc::vec::Vec;

    fn fresh(m: i32, floor: i64) -> Box<TraceBuf> {
        // SAFETY: all-zero is a valid TraceBuf (plain integers and bytes).
        let mut b: Box<TraceBuf> = unsafe { Box::new_zeroed().assume_init() };
        b.init(m, floor, 0);
        b
    }

    fn ev(ts: i64, kind: u8, arg: u8, p: i16, g: u64, x: u64, y: u64) -> Ev {
        Ev { ts, g, x, y, kind, arg, p, m: 7 }
    }

    fn same(a: &Ev, b: &Ev) -> bool {
        (a.ts, a.g, a.x, a.y, a.kind, a.arg, a.p, a.m) == (b.ts, b.g, b.x, b.y, b.kind, b.arg, b.p, b.m)
    }

    fn round_trip(floor: i64, evs: &[Ev]) -> Vec<Ev> {
        let mut b = fresh(7, floor);
        for e in evs {
            let want = e.ts.max(b.last_ts());
            assert_eq!(b.encode(e.ts, e.kind, e.arg, e.p as i32, e.g, e.x, e.y), Some(want));
        }
        let bytes: Vec<u8> = b.seal().to_vec();
        Decoder::whole(&bytes).collect()
    }

    #[test]
    fn every_kind_round_trips() {
        let loc = &PTR_BASE as *const _ as u64 + 0x1234;
        let big = u64::MAX;
        let evs = [
            ev(100, EV_GO_CREATE, 0, 0, 2, 1, 0),
            ev(100, EV_GO_CREATE, 0, 1023, big, big, 0),
            // Woken starts name their unblock's timestamp: before theirs, equal, after (another
            // M's unsynchronized clock), far away either side.
            ev(150, EV_GO_START, 1, 0, 2, loc, 120),
            ev(150, EV_GO_START, 1, 0, 2, loc, 150),
            ev(150, EV_GO_START, 1, 0, 2, loc, 151),
            ev(150, EV_GO_START, 1, 0, 2, loc, big),
            ev(150, EV_GO_START, 1, 0, 2, loc, 1 << 62),
            ev(150, EV_GO_START, 0, 0, 2, 0, 0),
            ev(151, EV_GO_START, 0, 5, big, big, 0),
            ev(152, EV_GO_START, 0, -1, 1, 1, 0),
            ev(160, EV_GO_STOP, STOP_EXIT, 0, 2, 0, 0),
            ev(161, EV_GO_STOP, STOP_SCHED, 0, 3, 0, 0),
            ev(162, EV_GO_STOP, STOP_PREEMPT, 0, 3, 0, 0),
            ev(163, EV_GO_STOP, STOP_SYSCALL, 0, 3, 0, 0),
            ev(164, EV_GO_STOP, STOP_TRACE, 0, 3, 0, 0),
            ev(165, EV_GO_STOP, STOP_BLOCK, 0, 3, WaitReason::ChanReceive as u64, 0),
            ev(166, EV_GO_STOP, STOP_BLOCK, 2, 3, WaitReason::TraceReaderBlocked as u64, 0),
            // An unblock decodes with its own timestamp as y (what its start names).
            ev(170, EV_GO_UNBLOCK, 0, 2, 9, 0, 170),
            ev(171, EV_GO_UNBLOCK, 0, -1, big, 0, 171),
            ev(180, EV_GO_SYSCALL, 0, -1, 4, 0, 0),
            ev(190, EV_GO_SYSEXIT, 0, -1, 4, 0, 0),
            ev(200, EV_PROC_START, 0, 3, 0, 0, 0),
            ev(210, EV_PROC_STOP, 0, 3, 0, 0, 0),
            ev(220, EV_M_START, 0, -1, 0, 0, 0),
            ev(230, EV_M_STOP, 0, -1, 0, 0, 0),
            ev(240, EV_GO_PREEMPT, 1, 0, 6, 0, 0),
            ev(241, EV_GO_PREEMPT, 0, 0, 6, 0, 0),
            ev(250, EV_STEAL, 0, 1, 0, 1023, 0),
            ev(260, EV_NETPOLL, 0, 0, 0, 12345, 0),
            ev(261, EV_GO_STATUS, STATUS_RUNNABLE, 0, 5, 0, 0),
            ev(262, EV_GO_STATUS, STATUS_RUNNING, 0, 1, 0, 0),
            ev(263, EV_GO_STATUS, STATUS_SYSCALL, 0, 9, 0, 0),
            ev(264, EV_GO_STATUS, STATUS_WAITING, 1, 77, WaitReason::Select as u64, 0),
            // A large delta: the whole positive range in one step.
            ev(i64::MAX, EV_NETPOLL, 0, 1023, 0, big, 0),
        ];
        let got = round_trip(90, &evs);
        assert_eq!(got.len(), evs.len());
        // A wait reason goes in as its discriminant and comes out as its text.
        let text = |e: &Ev| {
            let r = REASONS.iter().find(|&&r| r as u8 as u64 == e.x).unwrap().as_str();
            Ev { x: r.as_ptr() as u64, y: r.len() as u64, ..*e }
        };
        let evs: Vec<Ev> = evs
            .iter()
            .map(|e| {
                let reason = (e.kind == EV_GO_STOP && e.arg == STOP_BLOCK)
                    || (e.kind == EV_GO_STATUS && e.arg == STATUS_WAITING);
                if reason {
                    text(e)
                } else {
                    *e
                }
            })
            .collect();
        for (a, b) in evs.iter().zip(&got) {
            assert!(
                same(a, b),
                "kind {} ts {}: decoded ts {} g {} x {:#x} y {:#x} p {}",
                a.kind,
                a.ts,
                b.ts,
                b.g,
                b.x,
                b.y,
                b.p
            );
        }
    }

    #[test]
    fn a_start_reuses_the_stop_before_it_only_when_runnable_by_then() {
        let mut b = fresh(1, 0);
        assert_eq!(b.reuse_ts(0), None, "nothing recorded yet");
        b.encode(100, EV_GO_UNBLOCK, 0, 0, 2, 0, 0).unwrap();
        assert_eq!(b.reuse_ts(50), None, "not after a stop");
        b.encode(120, EV_GO_STOP, STOP_BLOCK, 0, 1, 1, 0).unwrap();
        assert_eq!(b.reuse_ts(100), Some(120), "woken before the stop");
        assert_eq!(b.reuse_ts(120), Some(120));
        assert_eq!(b.reuse_ts(121), None, "runnable only after the stop: read the clock");
        b.encode(130, EV_GO_START, 0, 0, 2, 0, 0).unwrap();
        assert_eq!(b.reuse_ts(0), None, "a start is not a stop");
        for why in [STOP_EXIT, STOP_SCHED, STOP_PREEMPT] {
            b.encode(140, EV_GO_STOP, why, 0, 2, 0, 0).unwrap();
            assert_eq!(b.reuse_ts(0), Some(140));
        }
    }

    #[test]
    fn the_open_span_is_the_last_start_until_a_stop_and_carries_to_the_next_buffer() {
        let mut b = fresh(1, 0);
        assert_eq!(b.open_g(), 0, "a fresh trace's M has no span open");
        b.encode(100, EV_GO_START, 0, 0, 5, 0, 0).unwrap();
        assert_eq!(b.open_g(), 5);
        b.encode(110, EV_GO_CREATE, 0, 0, 6, 5, 0).unwrap();
        b.encode(115, EV_GO_UNBLOCK, 0, 0, 7, 0, 0).unwrap();
        assert_eq!(b.open_g(), 5, "the running goroutine's own events leave its span open");
        let mut next = fresh(1, 0);
        next.init(1, b.last_ts(), b.open_g());
        assert_eq!(next.open_g(), 5, "carried to the M's next buffer");
        for why in [STOP_EXIT, STOP_SCHED, STOP_PREEMPT, STOP_SYSCALL, STOP_BLOCK] {
            b.encode(120, EV_GO_START, 0, 0, 5, 0, 0).unwrap();
            b.encode(130, EV_GO_STOP, why, 0, 5, 1, 0).unwrap();
            assert_eq!(b.open_g(), 0, "stop {why} closes the span");
        }
    }

    #[test]
    fn common_events_take_one_or_two_words() {
        let loc = &PTR_BASE as *const _ as u64 + 0x1234;
        let before = ptr_base() - 0x40;
        let evs = [
            // The first event names its P: extended.
            ev(1000, EV_PROC_START, 0, 2, 0, 0, 0),
            ev(1100, EV_GO_UNBLOCK, 0, 2, 9, 0, 1100),
            ev(1200, EV_GO_STOP, STOP_BLOCK, 2, 8, WaitReason::ChanReceive as u64, 0),
            ev(1200, EV_GO_START, 1, 2, 9, loc, 1100),
            ev(1300, EV_GO_START, 1, 2, 9, before, 1400),
            ev(1400, EV_GO_START, 0, 2, 9, 0, 0),
            ev(1500, EV_GO_STOP, STOP_EXIT, 2, 9, 0, 0),
            ev(1600, EV_GO_CREATE, 0, 2, 10, u64::MAX, 0),
            ev(1700, EV_STEAL, 0, 2, 0, 3, 0),
            ev(1700 + (1 << 24) - 1, EV_GO_PREEMPT, 1, 2, u32::MAX as u64, 0, 0),
            // Too far apart, too large a goroutine id, another P: extended again.
            ev(1700 + (2 << 24), EV_GO_UNBLOCK, 0, 2, 9, 0, 1700 + (2 << 24)),
            ev(1700 + (2 << 24), EV_GO_UNBLOCK, 0, 2, 1 << 32, 0, 1700 + (2 << 24)),
            ev(1700 + (2 << 24), EV_GO_UNBLOCK, 0, 3, 9, 0, 1700 + (2 << 24)),
        ];
        // Bytes taken, 0 for the extended form (its first byte is 0, its size varies).
        let sizes = [0, 8, 8, 16, 16, 16, 8, 16, 8, 8, 0, 0, 0];
        let mut b = fresh(7, 0);
        for (e, want) in evs.iter().zip(sizes) {
            let n0 = b.n;
            b.encode(e.ts, e.kind, e.arg, e.p as i32, e.g, e.x, e.y).unwrap();
            let got = if b.data[n0] == 0 { 0 } else { b.n - n0 };
            assert_eq!(got, want, "kind {} ts {}", e.kind, e.ts);
            assert_eq!((b.n - HDR) % 8, 0, "events are whole words");
        }
        let bytes: Vec<u8> = b.seal().to_vec();
        let got: Vec<Ev> = Decoder::whole(&bytes).collect();
        assert_eq!(got.len(), evs.len());
        for (a, b) in evs.iter().zip(&got) {
            let a = if a.kind == EV_GO_STOP && a.arg == STOP_BLOCK {
                let (x, y) = reason_text(a.x);
                Ev { x, y, ..*a }
            } else {
                *a
            };
            assert!(
                same(&a, b),
                "kind {} ts {}: got kind {} ts {} g {} x {:#x} y {:#x}",
                a.kind,
                a.ts,
                b.kind,
                b.ts,
                b.g,
                b.x,
                b.y
            );
        }
    }

    #[test]
    fn every_wait_reason_is_decodable() {
        // The discriminants are 0..n in declaration order: the table must hold each, in place.
        for (i, r) in REASONS.iter().enumerate() {
            assert_eq!(*r as u8 as usize, i);
            assert_eq!(reason_text(i as u64), (r.as_str().as_ptr() as u64, r.as_str().len() as u64));
        }
        // The last variant this list knows is its last.
        assert_eq!(WaitReason::TraceReaderBlocked as u8 as usize, REASONS.len() - 1);
    }

    #[test]
    fn timestamps_wrap_and_stay_monotonic() {
        // From the most negative floor to the largest timestamp (a delta of 2^64 - 1, wrapping).
        let got = round_trip(i64::MIN, &[ev(i64::MAX, EV_M_START, 0, -1, 0, 0, 0)]);
        assert_eq!(got[0].ts, i64::MAX);
        // Below the floor or the previous event: raised to it.
        let got = round_trip(
            1000,
            &[
                ev(5, EV_M_START, 0, -1, 0, 0, 0),
                ev(2000, EV_M_STOP, 0, -1, 0, 0, 0),
                ev(1500, EV_M_START, 0, -1, 0, 0, 0),
            ],
        );
        let ts: Vec<i64> = got.iter().map(|e| e.ts).collect();
        assert_eq!(ts, [1000, 2000, 2000]);
    }

    #[test]
    fn pointer_codes_are_a_bijection_at_the_edges() {
        let base = ptr_base();
        let wrapped = unzigzag(u64::MAX).wrapping_add(base as i64) as u64;
        for x in [0, 1, base, base.wrapping_sub(1), base + 1, wrapped, wrapped ^ 1, u64::MAX, 1 << 63] {
            assert_eq!(ptr_decode(ptr_code(x)), x, "{x:#x}");
        }
        assert_ne!(ptr_code(wrapped), ptr_code(0));
        assert!(ptr_code(base + 0x1000) < 1 << 14, "near pointers take two bytes");
    }

    #[test]
    fn varint_boundaries_round_trip() {
        let mut evs = Vec::new();
        let mut ts = 0i64;
        for k in 0..64 {
            for v in [(1u64 << k) - 1, 1 << k, (1 << k) + 1] {
                ts = ts.wrapping_add(v as i64).max(ts);
                evs.push(ev(ts, EV_NETPOLL, 0, (k % 3) as i16 - 1, 0, v, 0));
                evs.push(ev(ts, EV_GO_UNBLOCK, 0, 0, v, 0, ts as u64));
                evs.push(ev(ts, EV_GO_START, 1, 0, v, 0, ts.wrapping_sub(v as i64) as u64));
            }
        }
        let got = round_trip(0, &evs);
        assert_eq!(got.len(), evs.len());
        for (a, b) in evs.iter().zip(&got) {
            assert!(
                same(a, b),
                "ts {} x {:#x} g {:#x}: got ts {} x {:#x} g {:#x} y {:#x}",
                a.ts,
                a.x,
                a.g,
                b.ts,
                b.x,
                b.g,
                b.y
            );
        }
    }

    #[test]
    fn a_full_buffer_refuses_and_decodes_what_it_holds() {
        let mut b = fresh(3, 0);
        let mut n = 0u64;
        while b.encode(n as i64 * 1000, EV_GO_UNBLOCK, 0, 1, u64::MAX, 0, 0).is_some() {
            n += 1;
        }
        assert!(b.full() && n > 1000);
        let bytes: Vec<u8> = b.seal().to_vec();
        assert!(bytes.len() <= BUF_BYTES);
        let got: Vec<Ev> = Decoder::whole(&bytes).collect();
        assert_eq!(got.len() as u64, n);
        assert!(got.iter().enumerate().all(|(i, e)| e.ts == i as i64 * 1000
            && e.g == u64::MAX
            && e.y == e.ts as u64
            && e.m == 3
            && e.p == 1));
        // A truncated buffer decodes its whole events and stops.
        let cut: Vec<Ev> = Decoder::whole(&bytes[..bytes.len() - 3]).collect();
        assert_eq!(cut.len() as u64, n - 1);
    }
}
