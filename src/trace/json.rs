//! The trace writer's output format: Chrome Trace Event JSON (the "JSON Object Format" of
//! Google's Trace Event Format document), which Perfetto and chrome://tracing load, and which
//! `cargo xtask trace-view` renders. Go writes its own binary format (trace.go's traceEv*
//! encoding); gort writes what those viewers read directly.
//!
//! One process (pid 1). One thread row per P (tid = P id, named `P<n>`) holding its goroutines'
//! spans: a `B` event when a goroutine starts on the P and an `E` event when it stops, with
//! `args.end` saying why (`block` with `args.reason` = Go's wait reason, `sched`, `preempt`,
//! `syscall`, `exit`, `trace stop`). One row per M (tid = 1000 + M id, `M<n>`) holding its
//! system calls (`B`/`E` named `syscall`) and its sleeps and wake-ups. Wake-ups are flow
//! events: `s` (name `wakeup`, `args.g` = the woken goroutine) where the goroutine was made
//! runnable, `f` with the same id where it next starts. Instant events (`i`, thread scope) mark
//! creations, preemptions (`args.async`), steals, P starts and stops and netpoll results, and
//! the state of each goroutine that existed when the trace started (`GoStatus`, `args.status`:
//! `runnable`, `running`, `syscall` or `waiting` with `args.reason`).
//! Timestamps are microseconds since the trace's start, with nanosecond fractions.

use alloc::vec::Vec;
use core::fmt::Write as _;

use super::traceruntime::*;
use core::str;

/// Rows for Ms start at this tid, above any P id (MAX_GOMAXPROCS is 1024).
pub const M_TID_BASE: u64 = 1000;

/// The writer's state: the trace's time zero and which rows have been named.
pub struct Writer {
    t0: u64,
    named: Vec<u64>,
    first: bool,
}

/// `write!` into a Vec<u8>.
struct Out<'a>(&'a mut Vec<u8>);

impl core::fmt::Write for Out<'_> {
    fn write_str(&mut self, s: &str) -> core::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

impl Writer {
    /// A writer for a trace that started at nanotime `t0`.
    pub fn new(t0: u64, procs: i32) -> Writer {
        let _ = procs;
        Writer { t0, named: Vec::new(), first: true }
    }

    /// The file's head and the process's name.
    pub fn begin(&mut self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"{\"displayTimeUnit\":\"ns\",\"traceEvents\":[\n");
        self.sep(out);
        out.extend_from_slice(b"{\"ph\":\"M\",\"pid\":1,\"name\":\"process_name\",\"args\":{\"name\":\"gort\"}}");
    }

    /// The file's end.
    pub fn end(&mut self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"\n]}\n");
    }

    fn sep(&mut self, out: &mut Vec<u8>) {
        if !self.first {
            out.extend_from_slice(b",\n");
        }
        self.first = false;
    }

    /// Names row `tid` the first time it is used ("P3", "M5"), sorted Ps first.
    fn row(&mut self, out: &mut Vec<u8>, tid: u64) {
        if self.named.contains(&tid) {
            return;
        }
        self.named.push(tid);
        self.sep(out);
        let (kind, n) = if tid >= M_TID_BASE { ('M', tid - M_TID_BASE) } else { ('P', tid) };
        let _ = write!(
            Out(out),
            "{{\"ph\":\"M\",\"pid\":1,\"tid\":{tid},\"name\":\"thread_name\",\"args\":{{\"name\":\"{kind}{n}\"}}}},\n{{\"ph\":\"M\",\"pid\":1,\"tid\":{tid},\"name\":\"thread_sort_index\",\"args\":{{\"sort_index\":{tid}}}}}"
        );
    }

    /// Appends the JSON of `evs`.
    pub fn events(&mut self, out: &mut Vec<u8>, evs: &[Ev]) {
        for e in evs {
            self.event(out, e);
        }
    }

    /// One event. Written with byte pushes and a small integer formatter rather than
    /// core::fmt: the writer runs beside the traced program, and this is most of its work.
    fn event(&mut self, out: &mut Vec<u8>, e: &Ev) {
        let ts = (e.ts as u64).saturating_sub(self.t0);
        let mrow = M_TID_BASE + e.m as u64;
        // Goroutine events belong on their P's row; without a P (a wake-up from an M that has
        // none) on the M's.
        let prow = if e.p >= 0 { e.p as u64 } else { mrow };
        let g = e.g;
        match e.kind {
            EV_GO_CREATE => {
                self.head(out, prow, b"i", ts);
                out.extend_from_slice(b",\"s\":\"t\",\"name\":\"GoCreate\",\"cat\":\"goroutine\",\"args\":{\"g\":");
                num(out, g);
                out.extend_from_slice(b",\"parent\":");
                num(out, e.x);
                out.extend_from_slice(b"}}");
            }
            EV_GO_START => {
                self.head(out, prow, b"B", ts);
                out.extend_from_slice(b",\"cat\":\"goroutine\",\"name\":\"G");
                num(out, g);
                if e.x != 0 {
                    // SAFETY: x of a GoStart is a `&'static Location` (gopc_loc) or 0.
                    let l = unsafe { &*(e.x as *const core::panic::Location<'static>) };
                    out.push(b' ');
                    esc(out, l.file().rsplit(['/', '\\']).next().unwrap_or(""));
                    out.push(b':');
                    num(out, l.line() as u64);
                }
                out.extend_from_slice(b"\",\"args\":{\"g\":");
                num(out, g);
                out.extend_from_slice(b",\"m\":");
                num(out, e.m as u64);
                out.extend_from_slice(b"}}");
                if e.y != 0 {
                    self.head(out, prow, b"f", ts);
                    out.extend_from_slice(b",\"bp\":\"e\",\"name\":\"wakeup\",\"cat\":\"wakeup\",\"id\":");
                    num(out, e.y);
                    out.extend_from_slice(b",\"args\":{\"g\":");
                    num(out, g);
                    out.extend_from_slice(b"}}");
                }
            }
            EV_GO_STOP => {
                let end: &[u8] = match e.arg {
                    STOP_EXIT => b"exit",
                    STOP_SCHED => b"sched",
                    STOP_PREEMPT => b"preempt",
                    STOP_SYSCALL => b"syscall",
                    STOP_TRACE => b"trace stop",
                    _ => b"block",
                };
                let reason = if e.arg == STOP_BLOCK { reason_text(e) } else { "" };
                self.head(out, prow, b"E", ts);
                out.extend_from_slice(b",\"args\":{\"g\":");
                num(out, g);
                out.extend_from_slice(b",\"m\":");
                num(out, e.m as u64);
                out.extend_from_slice(b",\"end\":\"");
                out.extend_from_slice(end);
                out.extend_from_slice(b"\",\"reason\":\"");
                esc(out, reason);
                out.extend_from_slice(b"\"}}");
            }
            EV_GO_STATUS => {
                let status: &[u8] = match e.arg {
                    STATUS_RUNNABLE => b"runnable",
                    STATUS_RUNNING => b"running",
                    STATUS_SYSCALL => b"syscall",
                    _ => b"waiting",
                };
                let reason = if e.arg == STATUS_WAITING { reason_text(e) } else { "" };
                self.head(out, prow, b"i", ts);
                out.extend_from_slice(b",\"s\":\"t\",\"name\":\"GoStatus\",\"cat\":\"goroutine\",\"args\":{\"g\":");
                num(out, g);
                out.extend_from_slice(b",\"status\":\"");
                out.extend_from_slice(status);
                out.extend_from_slice(b"\",\"reason\":\"");
                esc(out, reason);
                out.extend_from_slice(b"\"}}");
            }
            EV_GO_UNBLOCK => {
                self.head(out, prow, b"s", ts);
                out.extend_from_slice(b",\"name\":\"wakeup\",\"cat\":\"wakeup\",\"id\":");
                num(out, e.y);
                out.extend_from_slice(b",\"args\":{\"g\":");
                num(out, g);
                out.extend_from_slice(b"}}");
            }
            EV_GO_SYSCALL => {
                self.head(out, mrow, b"B", ts);
                out.extend_from_slice(b",\"name\":\"syscall\",\"cat\":\"syscall\",\"args\":{\"g\":");
                num(out, g);
                out.extend_from_slice(b"}}");
            }
            EV_GO_SYSEXIT => {
                self.head(out, mrow, b"E", ts);
                out.extend_from_slice(b",\"args\":{\"g\":");
                num(out, g);
                out.extend_from_slice(b"}}");
            }
            EV_PROC_START | EV_PROC_STOP => {
                self.head(out, prow, b"i", ts);
                out.extend_from_slice(if e.kind == EV_PROC_START {
                    b",\"s\":\"t\",\"name\":\"ProcStart\",\"cat\":\"proc\",\"args\":{\"m\":"
                } else {
                    b",\"s\":\"t\",\"name\":\"ProcStop\",\"cat\":\"proc\",\"args\":{\"m\":"
                });
                num(out, e.m as u64);
                out.extend_from_slice(b"}}");
            }
            EV_M_START | EV_M_STOP => {
                self.head(out, mrow, b"i", ts);
                out.extend_from_slice(if e.kind == EV_M_START {
                    b",\"s\":\"t\",\"name\":\"MWake\",\"cat\":\"m\"}"
                } else {
                    b",\"s\":\"t\",\"name\":\"MSleep\",\"cat\":\"m\"}"
                });
            }
            EV_GO_PREEMPT => {
                self.head(out, prow, b"i", ts);
                out.extend_from_slice(b",\"s\":\"t\",\"name\":\"GoPreempt\",\"cat\":\"preempt\",\"args\":{\"g\":");
                num(out, g);
                out.extend_from_slice(if e.arg != 0 { b",\"async\":true}}" } else { b",\"async\":false}}" });
            }
            EV_STEAL | EV_NETPOLL => {
                self.head(out, prow, b"i", ts);
                out.extend_from_slice(if e.kind == EV_STEAL {
                    b",\"s\":\"t\",\"name\":\"Steal\",\"cat\":\"sched\",\"args\":{\"from\":"
                } else {
                    b",\"s\":\"t\",\"name\":\"Netpoll\",\"cat\":\"netpoll\",\"args\":{\"n\":"
                });
                num(out, e.x);
                out.extend_from_slice(b"}}");
            }
            _ => {}
        }
    }

    /// The start of an event object on row `tid`: `{"pid":1,"tid":N,"ph":"X","ts":T` (the
    /// caller adds the rest and the closing brace).
    fn head(&mut self, out: &mut Vec<u8>, tid: u64, ph: &[u8], ts: u64) {
        self.row(out, tid);
        self.sep(out);
        out.extend_from_slice(b"{\"pid\":1,\"tid\":");
        num(out, tid);
        out.extend_from_slice(b",\"ph\":\"");
        out.extend_from_slice(ph);
        out.extend_from_slice(b"\",\"ts\":");
        // Microseconds with three decimals (nanoseconds).
        num(out, ts / 1000);
        let f = ts % 1000;
        out.extend_from_slice(&[b'.', b'0' + (f / 100) as u8, b'0' + (f / 10 % 10) as u8, b'0' + (f % 10) as u8]);
    }
}

/// Appends `n` in decimal.
fn num(out: &mut Vec<u8>, mut n: u64) {
    let mut b = [0u8; 20];
    let mut i = b.len();
    loop {
        i -= 1;
        b[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&b[i..]);
}

/// Appends `s` as JSON string content.
fn esc(out: &mut Vec<u8>, s: &str) {
    for &c in s.as_bytes() {
        match c {
            b'"' => out.extend_from_slice(b"\\\""),
            b'\\' => out.extend_from_slice(b"\\\\"),
            c if c < 0x20 => {
                out.extend_from_slice(b"\\u00");
                out.push(b"0123456789abcdef"[(c >> 4) as usize]);
                out.push(b"0123456789abcdef"[(c & 15) as usize]);
            }
            c => out.push(c),
        }
    }
}

/// The wait reason of a block or waiting-status event, as the decoder left it in `x`, `y`.
fn reason_text(e: &Ev) -> &'static str {
    // SAFETY: the decoder sets x, y of these events to a WaitReason::as_str text: 'static, UTF-8.
    unsafe { str::from_utf8_unchecked(core::slice::from_raw_parts(e.x as *const u8, e.y as usize)) }
}
