//! The trace writer's output format: Chrome Trace Event JSON (the "JSON Object Format" of
//! Google's Trace Event Format document), which Perfetto and chrome://tracing load, and which
//! `cargo xtask trace-view` renders. Go writes its own binary format (trace.go's traceEv*
//! encoding); gort writes what those viewers read directly.
//!
//! One process (pid 1). One thread row per P (tid = P id, named "P<n>") holding its goroutines'
//! spans: a `B` event when a goroutine starts on the P and an `E` event when it stops, with
//! `args.end` saying why (`block` with `args.reason` = Go's wait reason, `sched`, `preempt`,
//! `syscall`, `exit`, `trace stop`). One row per M (tid = 1000 + M id, "M<n>") holding its
//! system calls (`B`/`E` named `syscall`) and its sleeps and wake-ups. Wake-ups are flow
//! events: `s` (name `wakeup`, `args.g` = the woken goroutine) where the goroutine was made
//! runnable, `f` with the same id where it next starts. Instant events (`i`, thread scope) mark
//! creations, preemptions (`args.async`), steals, P starts and stops and netpoll results.
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

/// A nanotime as microseconds since t0 with three decimals.
struct Us(u64);

impl core::fmt::Display for Us {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{}.{:03}", self.0 / 1000, self.0 % 1000)
    }
}

/// A string as a JSON string's content (wait reasons and file names: escapes `"` and `\`).
struct Esc<'a>(&'a str);

impl core::fmt::Display for Esc<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        for c in self.0.chars() {
            match c {
                '"' => f.write_str("\\\"")?,
                '\\' => f.write_str("\\\\")?,
                c if (c as u32) < 0x20 => write!(f, "\\u{:04x}", c as u32)?,
                c => f.write_char(c)?,
            }
        }
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

    fn event(&mut self, out: &mut Vec<u8>, e: &Ev) {
        let ts = Us((e.ts as u64).saturating_sub(self.t0));
        let mrow = M_TID_BASE + e.m as u64;
        // Goroutine events belong on their P's row; without a P (a wake-up from an M that has
        // none) on the M's.
        let prow = if e.p >= 0 { e.p as u64 } else { mrow };
        let g = e.g;
        match e.kind {
            EV_GO_CREATE => self.put(out, prow, format_args!(
                "\"ph\":\"i\",\"s\":\"t\",\"name\":\"GoCreate\",\"cat\":\"goroutine\",\"ts\":{ts},\"args\":{{\"g\":{g},\"parent\":{}}}", e.x)),
            EV_GO_START => {
                let name = Name(g, e.x);
                self.put(out, prow, format_args!("\"ph\":\"B\",\"name\":\"{name}\",\"cat\":\"goroutine\",\"ts\":{ts},\"args\":{{\"g\":{g}}}"));
                if e.y != 0 {
                    self.put(out, prow, format_args!(
                        "\"ph\":\"f\",\"bp\":\"e\",\"name\":\"wakeup\",\"cat\":\"wakeup\",\"id\":{},\"ts\":{ts},\"args\":{{\"g\":{g}}}", e.y));
                }
            }
            EV_GO_STOP => {
                let end = match e.arg {
                    STOP_EXIT => "exit",
                    STOP_SCHED => "sched",
                    STOP_PREEMPT => "preempt",
                    STOP_SYSCALL => "syscall",
                    STOP_TRACE => "trace stop",
                    _ => "block",
                };
                let reason = if e.arg == STOP_BLOCK {
                    // SAFETY: x, y are a WaitReason::as_str text: 'static, UTF-8.
                    unsafe { str::from_utf8_unchecked(core::slice::from_raw_parts(e.x as *const u8, e.y as usize)) }
                } else {
                    ""
                };
                self.put(out, prow, format_args!(
                    "\"ph\":\"E\",\"ts\":{ts},\"args\":{{\"g\":{g},\"end\":\"{end}\",\"reason\":\"{}\"}}", Esc(reason)));
            }
            EV_GO_UNBLOCK => self.put(out, prow, format_args!(
                "\"ph\":\"s\",\"name\":\"wakeup\",\"cat\":\"wakeup\",\"id\":{},\"ts\":{ts},\"args\":{{\"g\":{g}}}", e.y)),
            EV_GO_SYSCALL => self.put(out, mrow, format_args!(
                "\"ph\":\"B\",\"name\":\"syscall\",\"cat\":\"syscall\",\"ts\":{ts},\"args\":{{\"g\":{g}}}")),
            EV_GO_SYSEXIT => self.put(out, mrow, format_args!("\"ph\":\"E\",\"ts\":{ts},\"args\":{{\"g\":{g}}}")),
            EV_PROC_START | EV_PROC_STOP => {
                let name = if e.kind == EV_PROC_START { "ProcStart" } else { "ProcStop" };
                self.put(out, prow, format_args!(
                    "\"ph\":\"i\",\"s\":\"t\",\"name\":\"{name}\",\"cat\":\"proc\",\"ts\":{ts},\"args\":{{\"m\":{}}}", e.m));
            }
            EV_M_START | EV_M_STOP => {
                let name = if e.kind == EV_M_START { "MWake" } else { "MSleep" };
                self.put(out, mrow, format_args!("\"ph\":\"i\",\"s\":\"t\",\"name\":\"{name}\",\"cat\":\"m\",\"ts\":{ts}"));
            }
            EV_GO_PREEMPT => self.put(out, prow, format_args!(
                "\"ph\":\"i\",\"s\":\"t\",\"name\":\"GoPreempt\",\"cat\":\"preempt\",\"ts\":{ts},\"args\":{{\"g\":{g},\"async\":{}}}",
                e.arg != 0)),
            EV_STEAL => self.put(out, prow, format_args!(
                "\"ph\":\"i\",\"s\":\"t\",\"name\":\"Steal\",\"cat\":\"sched\",\"ts\":{ts},\"args\":{{\"from\":{}}}", e.x)),
            EV_NETPOLL => self.put(out, prow, format_args!(
                "\"ph\":\"i\",\"s\":\"t\",\"name\":\"Netpoll\",\"cat\":\"netpoll\",\"ts\":{ts},\"args\":{{\"n\":{}}}", e.x)),
            _ => {}
        }
    }

    /// One event object on row `tid`: `{"pid":1,"tid":N,<body>}`.
    fn put(&mut self, out: &mut Vec<u8>, tid: u64, body: core::fmt::Arguments<'_>) {
        self.row(out, tid);
        self.sep(out);
        let _ = write!(Out(out), "{{\"pid\":1,\"tid\":{tid},{body}}}");
    }
}

/// A goroutine span's name: `G<id>` and, when known, its `gort::go` call site.
struct Name(u64, u64);

impl core::fmt::Display for Name {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "G{}", self.0)?;
        if self.1 != 0 {
            // SAFETY: x of a GoStart is a `&'static Location` (gopc_loc) or 0.
            let l = unsafe { &*(self.1 as *const core::panic::Location<'static>) };
            let file = l.file().rsplit(['/', '\\']).next().unwrap_or("");
            write!(f, " {}:{}", Esc(file), l.line())?;
        }
        Ok(())
    }
}
