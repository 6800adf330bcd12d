//! Execution traces (README "Debugging", src/trace/): a known workload is traced and the
//! Chrome Trace Event JSON it wrote is read back and checked for consistency.
//!
//! - `check`: `gort::trace::start(<temp>/gort-trace-<tid>.json)`, the workload, `stop()`, check.
//! - `godebug`: the trace was started by `GODEBUG=gorttrace=PATH`; the workload, `stop()`,
//!   check PATH.
//! - `write PATH`: the workload traced into PATH, no check (the picture in README "Debugging"
//!   and trace-view's fixture come from it).
//!
//! The workload: a channel ping-pong, a select woken by a send, sleepers, a goroutine in a
//! blocking system call, a spinner preempted by sysmon (asynchronously where the OS can), a
//! burst of goroutines for other Ps to steal, and one goroutine blocked for good (it is still
//! blocked when the trace stops).
//!
//! The checks: the file is valid JSON; every goroutine span (`B`/`E` on a P row, tid < 1000)
//! is on a P; spans on one P alternate B, E (never overlap) and an E closes the goroutine its
//! B opened, except a last B still open when the trace stops; every `block` end is followed by
//! an unblock (`s` wakeup for that goroutine) before the goroutine's next start (a goroutine
//! still blocked at the stop has no next start); every goroutine that starts or is woken was
//! either created in the trace (`GoCreate`) or has a `GoStatus` at its start (`check` makes a
//! parked, a runnable and a running goroutine before starting the trace, and the parked one
//! must show as `waiting` on `chan receive`; the running one's first event ends a span begun
//! before the trace; under `godebug` main has no create either); every `f` arrow has its `s`;
//! every worker that started ended (`exit`); and the trace shows preemptions, steals and
//! system calls.
#![no_std]
#![no_main]
gort::main!(main);
extern crate alloc;

use alloc::collections::BTreeMap;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;
use core::hint::black_box;
use core::sync::atomic::{AtomicBool, Ordering};
use core::time::Duration;

const WORKERS: usize = 16;

fn main() {
    let args = gort::os::args();
    match args.get(1).copied().unwrap_or(b"") {
        b"check" => {
            let path = scratch();
            // Goroutines that exist before the trace starts: one parked on a channel (woken
            // inside the trace), one runnable (it starts inside the trace). Neither has a
            // create event; each must have a GoStatus.
            let (pre_tx, pre_rx) = gort::chan::<u32>(0);
            let (back_tx, back_rx) = gort::chan::<u32>(0);
            let back2 = back_tx.clone();
            // Counted before the goroutine exists: at GOMAXPROCS>1 it may park before main looks.
            let parked = gort::testing::parked_goroutines();
            gort::go(move || {
                let v = pre_rx.recv().unwrap();
                back_tx.send(v + 1).unwrap();
            });
            // It runs and parks in its receive (on another P at GOMAXPROCS>1, where a yield alone
            // may return before it has: `a waiting status` was false once on windows at 4 P).
            gort::gosched();
            while gort::testing::parked_goroutines() <= parked {
                gort::gosched();
            }
            gort::go(move || back2.send(100).unwrap()); // runnable, not yet run

            // One running (on another P, in user code) when the trace starts: its first event
            // is the end of a span the trace never saw begin (the runtime records the begin
            // first, at the trace's start). At GOMAXPROCS=1 it runs once main parks, and sysmon
            // preempts it if the flag is late.
            static SPINNING: AtomicBool = AtomicBool::new(false);
            static GO_ON: AtomicBool = AtomicBool::new(false);
            let (spun_tx, spun_rx) = gort::chan::<()>(0);
            gort::go(move || {
                SPINNING.store(true, Ordering::Release);
                while !GO_ON.load(Ordering::Acquire) {
                    core::hint::spin_loop();
                }
                spun_tx.send(()).unwrap();
            });
            if gort::gomaxprocs(0) > 1 {
                while !SPINNING.load(Ordering::Acquire) {
                    core::hint::spin_loop();
                }
            }
            gort::trace::start(&path).expect("trace::start");
            GO_ON.store(true, Ordering::Release);
            pre_tx.send(1).unwrap();
            let (a, b) = (back_rx.recv().unwrap(), back_rx.recv().unwrap());
            assert_eq!(a + b, 102);
            spun_rx.recv().unwrap();
            workload();
            gort::trace::stop();
            check(&path, true);
            let _ = gort::fs::remove_file(&path);
        }
        b"godebug" => {
            let godebug = gort::os::getenv("GODEBUG").expect("GODEBUG");
            let s = core::str::from_utf8(godebug).unwrap();
            let path = String::from(s.split(',').find_map(|f| f.strip_prefix("gorttrace=")).expect("gorttrace="));
            workload();
            gort::trace::stop();
            check(&path, false);
            let _ = gort::fs::remove_file(&path);
        }
        b"write" => {
            let path = core::str::from_utf8(args[2]).unwrap();
            gort::trace::start(path).expect("trace::start");
            workload();
            gort::trace::stop();
            gort::println!("wrote {path}");
        }
        _ => panic!("usage: trace check|godebug|write PATH"),
    }
}

/// <temp>/gort-trace-<thread id>.json.
fn scratch() -> String {
    let (base, sep) = if cfg!(windows) {
        (gort::os::getenv("TEMP").and_then(|t| core::str::from_utf8(t).ok()).unwrap_or("."), "\\")
    } else {
        ("/tmp", "/")
    };
    format!("{base}{sep}gort-trace-{}.json", gort_e2e::tid())
}

fn workload() {
    // A channel ping-pong: blocks and wake-ups on both sides.
    let (a_tx, a_rx) = gort::chan::<u32>(0);
    let (b_tx, b_rx) = gort::chan::<u32>(0);
    gort::go(move || {
        while let Some(v) = a_rx.recv() {
            b_tx.send(v + 1).unwrap();
        }
    });
    for i in 0..200 {
        a_tx.send(i).unwrap();
        assert_eq!(b_rx.recv().unwrap(), i + 1);
    }
    drop(a_tx);
    // Yields: with nothing else due they go through the P's local queue (gosched_m's quiet
    // path), and each still ends its span.
    let (y_tx, y_rx) = gort::chan::<()>(0);
    for _ in 0..3 {
        let t = y_tx.clone();
        gort::go(move || {
            for _ in 0..50 {
                gort::gosched();
            }
            t.send(()).unwrap();
        });
    }
    for _ in 0..3 {
        y_rx.recv().unwrap();
    }
    // A select woken by a send from a sleeper.
    let (c_tx, c_rx) = gort::chan::<u32>(0);
    let (d_tx, d_rx) = gort::chan::<u32>(0);
    gort::go(move || {
        gort::sleep(Duration::from_millis(2));
        c_tx.send(7).unwrap();
    });
    gort::select! {
        recv(c_rx) -> v => assert_eq!(v.unwrap(), 7),
        recv(d_rx) -> _v => unreachable!(),
    }
    // A goroutine in a blocking system call (its P is handed off meanwhile).
    let (done_tx, done_rx) = gort::chan::<()>(0);
    let t = done_tx.clone();
    gort::go(move || {
        gort_e2e::sleep_blocking_ms(5);
        t.send(()).unwrap();
    });
    // A spinner that never enters the runtime: sysmon preempts it.
    let t = done_tx.clone();
    gort::go(move || {
        let start = gort::time::Instant::now();
        let mut x: u64 = 1;
        while start.elapsed() < Duration::from_millis(40) {
            for _ in 0..10_000 {
                x = black_box(x.wrapping_mul(3));
            }
        }
        t.send(()).unwrap();
    });
    // A burst of workers on this P: the other Ps steal them.
    for i in 0..WORKERS {
        let t = done_tx.clone();
        gort::go(move || {
            let mut x = i as u64;
            for _ in 0..20_000 {
                x = black_box(x.wrapping_mul(3).wrapping_add(1));
            }
            gort::sleep(Duration::from_millis(1));
            t.send(()).unwrap();
        });
    }
    for _ in 0..WORKERS + 2 {
        done_rx.recv().unwrap();
    }
    // Blocked for good: still blocked when the trace stops.
    gort::go(move || {
        let _ = d_tx;
        let (_keep, never) = gort::chan::<()>(0);
        let _ = never.recv();
    });
    // Every worker has sent; wait until each has also exited (its exit is recorded before it
    // stops counting), so the trace holds every end: main, the trace writer and the blocked
    // goroutine remain.
    let t0 = gort::time::Instant::now();
    while gort::num_goroutine() > 3 && t0.elapsed() < Duration::from_secs(10) {
        gort::sleep(Duration::from_millis(1));
    }
}

// ---------------------------------------------------------------------------------------------
// A small JSON reader (the program is no_std; the values the checks need).
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone)]
enum Json {
    Null,
    Bool(#[allow(dead_code)] bool),
    Num(f64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    fn get(&self, k: &str) -> Option<&Json> {
        match self {
            Json::Obj(m) => m.iter().find(|(key, _)| key == k).map(|(_, v)| v),
            _ => None,
        }
    }
    fn str(&self, k: &str) -> &str {
        match self.get(k) {
            Some(Json::Str(s)) => s,
            _ => "",
        }
    }
    fn num(&self, k: &str) -> Option<f64> {
        match self.get(k) {
            Some(Json::Num(n)) => Some(*n),
            _ => None,
        }
    }
    fn arg(&self, k: &str) -> Option<&Json> {
        self.get("args")?.get(k)
    }
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && matches!(self.s[self.i], b' ' | b'\n' | b'\r' | b'\t') {
            self.i += 1;
        }
    }
    fn eat(&mut self, c: u8) -> Result<(), String> {
        self.ws();
        if self.s.get(self.i) == Some(&c) {
            self.i += 1;
            Ok(())
        } else {
            Err(format!("expected {:?} at byte {}", c as char, self.i))
        }
    }
    fn value(&mut self) -> Result<Json, String> {
        self.ws();
        match self.s.get(self.i) {
            Some(b'{') => {
                self.i += 1;
                let mut m = Vec::new();
                self.ws();
                if self.s.get(self.i) == Some(&b'}') {
                    self.i += 1;
                    return Ok(Json::Obj(m));
                }
                loop {
                    self.ws();
                    let k = self.string()?;
                    self.eat(b':')?;
                    m.push((k, self.value()?));
                    self.ws();
                    match self.s.get(self.i) {
                        Some(b',') => self.i += 1,
                        Some(b'}') => {
                            self.i += 1;
                            return Ok(Json::Obj(m));
                        }
                        _ => return Err(format!("bad object at byte {}", self.i)),
                    }
                }
            }
            Some(b'[') => {
                self.i += 1;
                let mut v = Vec::new();
                self.ws();
                if self.s.get(self.i) == Some(&b']') {
                    self.i += 1;
                    return Ok(Json::Arr(v));
                }
                loop {
                    v.push(self.value()?);
                    self.ws();
                    match self.s.get(self.i) {
                        Some(b',') => self.i += 1,
                        Some(b']') => {
                            self.i += 1;
                            return Ok(Json::Arr(v));
                        }
                        _ => return Err(format!("bad array at byte {}", self.i)),
                    }
                }
            }
            Some(b'"') => Ok(Json::Str(self.string()?)),
            Some(b't') if self.s[self.i..].starts_with(b"true") => {
                self.i += 4;
                Ok(Json::Bool(true))
            }
            Some(b'f') if self.s[self.i..].starts_with(b"false") => {
                self.i += 5;
                Ok(Json::Bool(false))
            }
            Some(b'n') if self.s[self.i..].starts_with(b"null") => {
                self.i += 4;
                Ok(Json::Null)
            }
            Some(c) if *c == b'-' || c.is_ascii_digit() => {
                let st = self.i;
                while self.i < self.s.len() && matches!(self.s[self.i], b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9')
                {
                    self.i += 1;
                }
                let t = core::str::from_utf8(&self.s[st..self.i]).unwrap();
                t.parse::<f64>().map(Json::Num).map_err(|_| format!("bad number {t:?}"))
            }
            _ => Err(format!("unexpected byte at {}", self.i)),
        }
    }
    fn string(&mut self) -> Result<String, String> {
        if self.s.get(self.i) != Some(&b'"') {
            return Err(format!("expected a string at byte {}", self.i));
        }
        self.i += 1;
        let mut out = Vec::new();
        loop {
            match self.s.get(self.i) {
                None => return Err(String::from("unterminated string")),
                Some(b'"') => {
                    self.i += 1;
                    return String::from_utf8(out).map_err(|_| String::from("bad UTF-8"));
                }
                Some(b'\\') => {
                    let c = *self.s.get(self.i + 1).ok_or("bad escape")?;
                    self.i += 2;
                    match c {
                        b'u' => {
                            let h = core::str::from_utf8(self.s.get(self.i..self.i + 4).ok_or("bad \\u")?).unwrap();
                            let n = u32::from_str_radix(h, 16).map_err(|_| "bad \\u")?;
                            self.i += 4;
                            let mut b = [0; 4];
                            out.extend_from_slice(char::from_u32(n).unwrap_or('?').encode_utf8(&mut b).as_bytes());
                        }
                        b'n' => out.push(b'\n'),
                        b't' => out.push(b'\t'),
                        b'"' | b'\\' | b'/' => out.push(c),
                        _ => return Err(String::from("bad escape")),
                    }
                }
                Some(&c) if c < 0x20 => return Err(String::from("control character in a string")),
                Some(&c) => {
                    out.push(c);
                    self.i += 1;
                }
            }
        }
    }
}

fn parse(s: &[u8]) -> Result<Json, String> {
    let mut p = Parser { s, i: 0 };
    let v = p.value()?;
    p.ws();
    if p.i != s.len() {
        return Err(format!("trailing bytes at {}", p.i));
    }
    Ok(v)
}

// ---------------------------------------------------------------------------------------------
// The checks
// ---------------------------------------------------------------------------------------------

/// Reads the trace at `path` back and prints the checks; `pre_made`: the parked goroutine made
/// before the trace (`check`) must show as waiting.
fn check(path: &str, pre_made: bool) {
    let mut data = Vec::new();
    gort::fs::File::open(path).expect("open the trace").read_to_end(&mut data).expect("read the trace");
    let doc = match parse(&data) {
        Ok(d) => d,
        Err(e) => {
            gort::println!("valid JSON: false ({e})");
            return;
        }
    };
    gort::println!("valid JSON: true");
    let Some(Json::Arr(evs)) = doc.get("traceEvents") else {
        gort::println!("traceEvents: missing");
        return;
    };
    let mut errors: Vec<String> = Vec::new();
    // (P, index) of each error in a P's sequence of spans.
    let mut span_errors: Vec<(u64, usize)> = Vec::new();
    // Events in time order (E before B at the same instant: a span ends before the next starts).
    let mut evs: Vec<&Json> = evs.iter().filter(|e| e.str("ph") != "M").collect();
    let rank = |e: &Json| match e.str("ph") {
        "E" => 0,
        "s" => 1,
        "B" => 2,
        _ => 3,
    };
    evs.sort_by(|a, b| {
        let (ta, tb) = (a.num("ts").unwrap_or(0.0), b.num("ts").unwrap_or(0.0));
        ta.partial_cmp(&tb).unwrap().then(rank(a).cmp(&rank(b)))
    });
    let g_of = |e: &Json| match e.arg("g") {
        Some(Json::Num(n)) => *n as u64,
        _ => 0,
    };
    // Per P: B/E alternate, and E closes the B's goroutine.
    let mut open: BTreeMap<u64, (u64, usize)> = BTreeMap::new(); // tid -> (g, index)
    let mut ends: BTreeMap<u64, Vec<(usize, &str)>> = BTreeMap::new(); // g -> (index, end)
    let mut starts: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
    let mut unblocks: BTreeMap<u64, Vec<usize>> = BTreeMap::new();
    let (mut flows_s, mut flows_f) = (Vec::new(), Vec::new());
    // Each arrow's start time, by id: its end (the woken goroutine's start) may not precede it.
    let mut flow_ts: BTreeMap<u64, f64> = BTreeMap::new();
    let mut flow_ends: Vec<(u64, f64, u64)> = Vec::new();
    let (mut preempts, mut steals, mut syscalls, mut exits) = (0, 0, 0, 0);
    // Goroutines created inside the trace, and those it gives a status for at its start.
    let (mut created, mut statused) = (Vec::new(), Vec::new());
    let mut waiting_status = false;
    for (i, e) in evs.iter().enumerate() {
        let tid = e.num("tid").unwrap_or(-1.0) as u64;
        let g = g_of(e);
        let goroutine_row = tid < 1000;
        match e.str("ph") {
            "B" if goroutine_row => {
                if e.num("tid").is_none() {
                    errors.push(format!("a start without a P: {e:?}"));
                }
                if let Some((g0, _)) = open.insert(tid, (g, i)) {
                    errors.push(format!("P{tid}: G{g} starts while G{g0} runs"));
                    span_errors.push((tid, i));
                }
                starts.entry(g).or_default().push(i);
            }
            "E" if goroutine_row => {
                match open.remove(&tid) {
                    Some((g0, _)) if g0 == g => {}
                    Some((g0, _)) => {
                        errors.push(format!("P{tid}: G{g} ends while G{g0} runs"));
                        span_errors.push((tid, i));
                    }
                    None => {
                        errors.push(format!("P{tid}: G{g} ends, none started"));
                        span_errors.push((tid, i));
                    }
                }
                let end = e.arg("end").and_then(|v| if let Json::Str(s) = v { Some(s.as_str()) } else { None });
                let end = end.unwrap_or("");
                if end == "exit" {
                    exits += 1;
                }
                ends.entry(g).or_default().push((i, end));
            }
            "B" if e.str("name") == "syscall" => syscalls += 1,
            "s" => {
                unblocks.entry(g).or_default().push(i);
                flows_s.push(e.num("id").unwrap_or(0.0) as u64);
                flow_ts.insert(e.num("id").unwrap_or(0.0) as u64, e.num("ts").unwrap_or(0.0));
            }
            "f" => {
                flows_f.push(e.num("id").unwrap_or(0.0) as u64);
                flow_ends.push((e.num("id").unwrap_or(0.0) as u64, e.num("ts").unwrap_or(0.0), g));
            }
            "i" if e.str("name") == "GoCreate" => created.push(g),
            "i" if e.str("name") == "GoStatus" => {
                statused.push(g);
                let arg = |k| e.arg(k).and_then(|v| if let Json::Str(s) = v { Some(s.as_str()) } else { None });
                if arg("status") == Some("waiting") && arg("reason") == Some("chan receive") {
                    waiting_status = true;
                }
            }
            "i" if e.str("name") == "GoPreempt" => preempts += 1,
            "i" if e.str("name") == "Steal" => steals += 1,
            _ => {}
        }
    }
    // Spans still open at the end must be the last thing on their P.
    for (tid, (g, i)) in &open {
        let later = evs[*i + 1..].iter().any(|e| e.num("tid") == Some(*tid as f64) && matches!(e.str("ph"), "B" | "E"));
        if later {
            errors.push(format!("P{tid}: G{g} never ends"));
        }
    }
    // Every block is followed by an unblock before the goroutine's next start.
    for (g, es) in &ends {
        for &(i, end) in es {
            if end != "block" {
                continue;
            }
            let next_start = starts.get(g).and_then(|v| v.iter().copied().find(|&s| s > i));
            let Some(ns) = next_start else { continue }; // still blocked at the stop
            let woke = unblocks.get(g).is_some_and(|v| v.iter().any(|&u| u > i && u < ns));
            if !woke {
                errors.push(format!(
                    "G{g} blocked at {} and started again with no unblock",
                    evs[i].num("ts").unwrap_or(0.0)
                ));
            }
        }
    }
    // Every goroutine the trace starts or wakes was created in it or has a status at its start.
    created.sort_unstable();
    statused.sort_unstable();
    let seen: alloc::collections::BTreeSet<u64> = starts.keys().chain(unblocks.keys()).copied().collect();
    for g in &seen {
        if created.binary_search(g).is_err() && statused.binary_search(g).is_err() {
            errors.push(format!("G{g} starts or is woken but was neither created nor given a status"));
        }
    }
    for &(id, ts, g) in &flow_ends {
        if flow_ts.get(&id).is_some_and(|&s| ts < s) {
            errors.push(format!("G{g} starts at {ts} before the unblock at {} that woke it", flow_ts[&id]));
        }
    }
    flows_s.sort_unstable();
    for f in &flows_f {
        if flows_s.binary_search(f).is_err() {
            errors.push(format!("wake-up arrow {f} ends but never starts"));
        }
    }
    // Every goroutine that started either ended (exit) or is parked / was running at the stop:
    // the workers (all of which finish) are counted by their exits.
    let started_gs = starts.len();
    for e in errors.iter().take(10) {
        gort::println!("error: {e}");
    }
    // For the first span error, the events of its P around it (time, phase, goroutine, M):
    // which M stamped what, when a row's order looks wrong.
    if let Some(&(tid, at)) = span_errors.first() {
        let row: Vec<usize> = (0..evs.len()).filter(|&i| evs[i].num("tid") == Some(tid as f64)).collect();
        let k = row.iter().position(|&i| i == at).unwrap_or(0);
        for &i in &row[k.saturating_sub(6)..(k + 6).min(row.len())] {
            let e = evs[i];
            let m = e.arg("m").and_then(|v| if let Json::Num(n) = v { Some(*n as i64) } else { None });
            let s = |k| e.arg(k).and_then(|v| if let Json::Str(s) = v { Some(s.as_str()) } else { None });
            gort::println!(
                "  P{tid} ts {} {} {} G{} m {} {}{}",
                e.num("ts").unwrap_or(0.0),
                e.str("ph"),
                e.str("name"),
                g_of(e),
                m.unwrap_or(-1),
                s("end").or(s("status")).unwrap_or(""),
                if i == at { "  <--" } else { "" }
            );
        }
    }
    gort::println!("consistent: {}", errors.is_empty());
    gort::println!("goroutines started: {}", started_gs >= WORKERS + 5);
    gort::println!("workers ended: {}", exits >= WORKERS + 4);
    gort::println!("preemptions: {}", preempts > 0);
    gort::println!("steals: {}", steals > 0);
    gort::println!("syscalls: {}", syscalls > 0);
    if pre_made {
        gort::println!("a waiting status: {}", waiting_status);
    }
    gort::eprintln!(
        "events={} goroutines={} exits={} preempts={} steals={} syscalls={} arrows={}",
        evs.len(),
        started_gs,
        exits,
        preempts,
        steals,
        syscalls,
        flows_f.len()
    );
}
