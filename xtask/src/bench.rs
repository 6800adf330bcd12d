//! `cargo xtask bench [--quick] [--only NAME] [--runs N] [--http-seconds S]`: gort against Go on
//! the same workloads. `cargo xtask bench --instructions` is instructions.rs.
//!
//! The programs: benches/src/bin/bench_NAME.rs (package gort-benches, built `--release` for the
//! host) and their Go twins benches/go/NAME/main.go (one module, built with the `go` on PATH,
//! CGO_ENABLED=0 so both sides are static executables). Each program does a fixed amount of work,
//! times it itself on CLOCK_MONOTONIC and prints `RESULT NAME VALUE UNIT`; `hello` is the
//! exception: the harness runs it HELLO_EXECS times and reports the wall time per run. Server
//! workloads print `listening on ADDR` first: `idleconn` then gets the companion client process
//! (tests/companion, 10 000 idle connections: they cannot share the server's fd limit), and the
//! `http` rows run examples/http_hello.rs and its Go twin (net/http) under `wrk` (2 threads, 100
//! connections, 10 s or `--http-seconds S`, 3 with --quick; installed with apt-get when missing and
//! root), one wrk run giving both the requests/s row and the p99 row. Rows whose unit ends in
//! `/s` are throughputs (higher is better); the table's last column says which way each row goes.
//!
//! Each workload runs gort and Go alternately (gort, Go, gort, Go, ...) N times (default 5,
//! --quick 1), with GOMAXPROCS set in the environment of both (hello: unset, the default). The
//! harness prints a table (median/min/max for gort, median for Go, the ratio gort/Go), the
//! stripped size of both hello binaries, and writes target/bench/results.json (machine, versions,
//! every run), target/bench/report.svg (medians, log scale) and target/bench/table.md (the README
//! table: medians with their min–max spread).
//!
//! When `go` is missing it is installed with apt-get (golang-go) if we are root; otherwise the Go
//! column stays empty and says why. Not part of `cargo xtask test` nor of CI: timings on shared
//! machines are noisy, and a full run takes minutes.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::targets::{setup, target};
use super::{cargo_build, is_root, root, run, target_dir, which, Fail, HOST};

/// How a workload's program is run and measured.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    /// The program does its work and prints `RESULT` (hello: timed executions).
    Plain,
    /// A server whose first line says where it listens; the companion (tests/companion) is
    /// started against it with these arguments, and the server prints `RESULT`.
    Companion(&'static [&'static str]),
    /// An HTTP server (gort: examples/http_hello.rs, Go: benches/go/httphello) driven by `wrk`
    /// (`WRK_THREADS` threads, `WRK_CONNECTIONS` connections, `--http-seconds`); one wrk run gives
    /// both rows of its GOMAXPROCS, requests per second and the 99th percentile latency.
    Wrk(Metric),
}

/// What a `Kind::Wrk` row reports from wrk's output.
#[derive(Clone, Copy, PartialEq)]
enum Metric {
    Rps,
    P99,
}

/// wrk's load: 2 threads, 100 connections (issue 18).
const WRK_THREADS: u32 = 2;
const WRK_CONNECTIONS: u32 = 100;
/// Seconds per wrk run (`--http-seconds`; --quick: WRK_SECONDS_QUICK).
const WRK_SECONDS: u32 = 10;
const WRK_SECONDS_QUICK: u32 = 3;

/// One row of the table: a program and the GOMAXPROCS it runs with (None: unset).
struct Workload {
    name: &'static str,
    procs: Option<u32>,
    /// The program (bench_<prog> for gort, benches/go/<prog> for Go, bench_<prog>_glibc).
    prog: &'static str,
    /// Its argument, if any.
    arg: Option<&'static str>,
    /// The name on its `RESULT` line.
    result: &'static str,
    /// What gort is compared with: "go", "glibc" (the same loop on glibc malloc, std threads),
    /// "untraced" (the gort side runs with an execution trace on, `GODEBUG=gorttrace`, into
    /// target/bench/; the other side is the same program without: issue 20's overhead rows) or
    /// "unprofiled" (both sides run the program built with gort's `pprof` feature; the gort side
    /// with GODEBUG=cpuprofile=target/bench/NAME.prof: the profiler's overhead; both timed whole,
    /// exec to exit, so the profile's start and its write at exit count: `run_whole`), or "asm"
    /// (benches/asm's static assembly hello: the `hello-asm` row's floor), or "go traced" (the
    /// gort side traced as for "untraced"; the Go twin with Go's own execution tracer on,
    /// `BENCH_TRACE`: what a user who traces pays in each runtime).
    vs: &'static str,
    kind: Kind,
}

/// A gort-vs-Go workload whose program, result and name are the same.
const fn w(name: &'static str, procs: Option<u32>) -> Workload {
    Workload { name, procs, prog: name, arg: None, result: name, vs: "go", kind: Kind::Plain }
}

/// An execution-trace overhead row: gort's `prog` traced against itself untraced.
const fn traced(name: &'static str, prog: &'static str, procs: u32) -> Workload {
    Workload { name, procs: Some(procs), prog, arg: None, result: prog, vs: "untraced", kind: Kind::Plain }
}

/// gort's `prog` traced against the Go twin traced by Go's runtime/trace.
const fn go_traced(name: &'static str, prog: &'static str, procs: u32) -> Workload {
    Workload { name, procs: Some(procs), prog, arg: None, result: prog, vs: "go traced", kind: Kind::Plain }
}

/// A wake-up latency row (benches bench_wakeup / go wakeup, which print both percentiles).
const fn wake(procs: u32, result: &'static str) -> Workload {
    Workload { name: "wakeup", procs: Some(procs), prog: "wakeup", arg: None, result, vs: "go", kind: Kind::Plain }
}

/// An HTTP hello row (gort's examples/http_hello against Go's benches/go/httphello).
const fn http(procs: u32, metric: Metric) -> Workload {
    let result = match metric {
        Metric::Rps => "http-rps",
        Metric::P99 => "http-p99",
    };
    Workload {
        name: "http",
        procs: Some(procs),
        prog: "httphello",
        arg: None,
        result,
        vs: "go",
        kind: Kind::Wrk(metric),
    }
}

impl Workload {
    /// Whether the gort side runs with an execution trace on (the trace-feature build).
    fn traces_gort(&self) -> bool {
        matches!(self.vs, "untraced" | "go traced")
    }

    fn label(&self) -> String {
        // The http and wakeup rows share a name (one run measures two results): their result
        // tells them apart.
        let name = if matches!(self.kind, Kind::Wrk(_)) || self.result.starts_with(self.name) {
            self.result
        } else {
            self.name
        };
        match self.procs {
            Some(p) => format!("{}/{}", name, p),
            None => name.to_string(),
        }
    }
}

/// Whether a bigger value is the better one (throughput), by the unit.
fn higher_is_better(unit: &str) -> bool {
    unit.ends_with("/s")
}

static WORKLOADS: &[Workload] = &[
    w("yield", Some(1)),
    w("pingpong", Some(1)),
    w("pingpong", Some(2)),
    w("spawn", Some(1)),
    w("spawn", Some(2)),
    w("skynet", Some(1)),
    w("skynet", Some(2)),
    // Go's test/chan/goroutines.go (10 000-goroutine relay), a 100 000-goroutine token ring,
    // select over 4 channels (issue 22).
    w("goroutines", Some(1)),
    w("goroutines", Some(2)),
    w("ring", Some(1)),
    w("ring", Some(2)),
    w("select4", Some(1)),
    w("select4", Some(2)),
    w("hello", None),
    // The same program against the floor: a static assembly hello (benches/asm), execve + one
    // write + exit_group (issue 22's startup aim: within 1.25x of it).
    Workload {
        name: "hello-asm",
        procs: None,
        prog: "hello",
        arg: None,
        result: "hello",
        vs: "asm",
        kind: Kind::Plain,
    },
    w("rss", Some(2)),
    // gort with 2 KB stacks (go_with_stack) against Go's default (2 KB, growing).
    Workload {
        name: "rss-small",
        procs: Some(2),
        prog: "rss",
        arg: Some("small"),
        result: "rss-small",
        vs: "go",
        kind: Kind::Plain,
    },
    w("alloc", Some(1)),
    w("alloc", Some(2)),
    w("timerstop", Some(1)),
    w("timerstop", Some(2)),
    w("selectafter", Some(1)),
    w("ticker", Some(2)),
    // A goroutine sleeping 1 ms while GOMAXPROCS goroutines spin (issue 19): how late it wakes.
    wake(1, "wakeup-p50"),
    wake(1, "wakeup-p99"),
    wake(2, "wakeup-p50"),
    wake(2, "wakeup-p99"),
    w("tcpecho", Some(1)),
    w("tcpecho", Some(2)),
    w("tcpecho1k", Some(1)),
    w("tcpecho1k", Some(2)),
    // 10 000 idle connections from the companion process (the fd limit keeps both ends from
    // fitting in one process).
    Workload {
        name: "idleconn",
        procs: Some(2),
        prog: "idleconn",
        arg: None,
        result: "idleconn",
        vs: "go",
        kind: Kind::Companion(&["idle", "10000"]),
    },
    // The same with gort's handlers on 2 KB stacks and their buffers on the heap (as Go's are).
    Workload {
        name: "idleconn-small",
        procs: Some(2),
        prog: "idleconn",
        arg: Some("small"),
        result: "idleconn-small",
        vs: "go",
        kind: Kind::Companion(&["idle", "10000"]),
    },
    http(1, Metric::Rps),
    http(1, Metric::P99),
    http(2, Metric::Rps),
    http(2, Metric::P99),
    // Tracing on (GODEBUG=gorttrace) against off: the ratio is the tracer's overhead (aim: 1.3).
    traced("pingpong+trace", "pingpong", 1),
    traced("pingpong+trace", "pingpong", 2),
    traced("spawn+trace", "spawn", 1),
    traced("spawn+trace", "spawn", 2),
    // Both runtimes traced: gort's tracer against Go's (runtime/trace) on the same workload.
    go_traced("pingpong+gotrace", "pingpong", 1),
    go_traced("spawn+gotrace", "spawn", 1),
    // skynet with the CPU profiler on (100 Hz, GODEBUG=cpuprofile) against the same run without
    // it (issue 20: at most 2 % slower); the whole process timed, the profile's write included.
    Workload {
        name: "skynet-cpuprof",
        procs: Some(2),
        prog: "skynet",
        arg: None,
        result: "skynet",
        vs: "unprofiled",
        kind: Kind::Plain,
    },
    // The same gort program against glibc malloc.
    Workload {
        name: "malloc",
        procs: Some(1),
        prog: "alloc",
        arg: None,
        result: "alloc",
        vs: "glibc",
        kind: Kind::Plain,
    },
    Workload {
        name: "malloc",
        procs: Some(2),
        prog: "alloc",
        arg: None,
        result: "alloc",
        vs: "glibc",
        kind: Kind::Plain,
    },
];

/// How many times one `hello` sample executes the program (--quick: HELLO_EXECS_QUICK).
const HELLO_EXECS: usize = 200;
const HELLO_EXECS_QUICK: usize = 50;
/// Longest one benchmark run may take.
const RUN_TIMEOUT: Duration = Duration::from_secs(300);

/// One measurement (or why there is none).
struct Sample {
    workload: usize,
    imp: &'static str,
    run: usize,
    result: Result<(f64, String), String>,
}

pub fn cmd_bench(args: &[String]) -> Result<i32, Fail> {
    let mut quick = false;
    let mut only: Option<String> = None;
    let mut runs: Option<usize> = None;
    let mut http_seconds: Option<u32> = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--quick" => quick = true,
            "--instructions" if args.len() == 1 => return super::instructions::cmd_instructions(),
            "--only" => only = Some(it.next().ok_or("--only needs a value")?.clone()),
            "--http-seconds" => {
                let v = it.next().ok_or("--http-seconds needs a value")?;
                http_seconds = Some(
                    v.parse::<u32>()
                        .ok()
                        .filter(|&n| n > 0)
                        .ok_or_else(|| format!("--http-seconds: not a positive number: {v:?}"))?,
                );
            }
            "--runs" => {
                let v = it.next().ok_or("--runs needs a value")?;
                runs = Some(
                    v.parse::<usize>()
                        .ok()
                        .filter(|&n| n > 0)
                        .ok_or_else(|| format!("--runs: not a positive number: {v:?}"))?,
                );
            }
            s => return Err(format!("bench: unknown argument {s:?}\n{}", super::USAGE).into()),
        }
    }
    let runs = runs.unwrap_or(if quick { 1 } else { 5 });
    let hello_execs = if quick { HELLO_EXECS_QUICK } else { HELLO_EXECS };
    let http_seconds = http_seconds.unwrap_or(if quick { WRK_SECONDS_QUICK } else { WRK_SECONDS });
    let picked = |i: usize| only.as_ref().is_none_or(|o| WORKLOADS[i].name == o || WORKLOADS[i].label() == *o);
    // An http row brings its twin (requests/s and p99 come from the same wrk run).
    let selected: Vec<usize> = (0..WORKLOADS.len()).filter(|&i| picked(i) || wrk_twin(i).is_some_and(picked)).collect();
    if selected.is_empty() {
        let names: Vec<String> = WORKLOADS.iter().map(Workload::label).collect();
        return Err(
            format!("--only {:?} matches no workload; known: {}", only.unwrap_or_default(), names.join(", ")).into()
        );
    }

    let root = root();
    let out_dir = target_dir(&root).join("bench");
    fs::create_dir_all(&out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;
    setup(&root, &[target(HOST)?])?;

    // gort programs.
    println!("== bench: building gort programs (cargo build -p gort-benches --release --target {HOST})");
    // skynet-cpuprof's program: bench_skynet with gort's `pprof` feature, built first and copied
    // aside (the plain build below writes the same path).
    let profiled = if selected.iter().any(|&i| WORKLOADS[i].vs == "unprofiled") {
        let b =
            cargo_build(&root, &["-p", "gort-benches", "--bin", "bench_skynet", "--features", "pprof"], HOST, true)?;
        let exe = b.exes.get("bench_skynet").filter(|_| b.success).ok_or("bench_skynet with pprof did not build")?;
        let to = target_dir(&root).join("bench").join("bench_skynet_pprof");
        fs::create_dir_all(to.parent().unwrap()).map_err(|e| format!("{}: {e}", to.display()))?;
        fs::copy(exe, &to).map_err(|e| format!("copying {} to {}: {e}", exe.display(), to.display()))?;
        Some(to)
    } else {
        None
    };
    // The +trace rows' programs: bench_pingpong and bench_spawn with gort's `trace` feature (both
    // sides of those rows run them, traced and untraced), copied aside likewise.
    let mut traced_exes: BTreeMap<&str, PathBuf> = BTreeMap::new();
    let traced_progs: Vec<&str> =
        selected.iter().filter(|&&i| WORKLOADS[i].traces_gort()).map(|&i| WORKLOADS[i].prog).collect();
    if !traced_progs.is_empty() {
        let mut args = vec!["-p", "gort-benches", "--features", "trace"];
        let bins: Vec<String> = traced_progs.iter().map(|p| format!("bench_{p}")).collect();
        for b in &bins {
            args.push("--bin");
            args.push(b);
        }
        let b = cargo_build(&root, &args, HOST, true)?;
        for p in &traced_progs {
            let exe = b
                .exes
                .get(&format!("bench_{p}"))
                .filter(|_| b.success)
                .ok_or(format!("bench_{p} with trace did not build"))?;
            let to = target_dir(&root).join("bench").join(format!("bench_{p}_trace"));
            fs::copy(exe, &to).map_err(|e| format!("copying {} to {}: {e}", exe.display(), to.display()))?;
            traced_exes.insert(p, to);
        }
    }
    let built = cargo_build(&root, &["-p", "gort-benches", "--bins"], HOST, true)?;
    if !built.success {
        return Err(Fail::Setup("building the gort bench programs failed (errors above)".into()));
    }
    let mut names: Vec<&str> = selected
        .iter()
        .filter(|&&i| matches!(WORKLOADS[i].vs, "go" | "go traced"))
        .map(|&i| WORKLOADS[i].prog)
        .collect();
    names.sort_unstable();
    names.dedup();
    if !names.contains(&"hello") {
        names.push("hello"); // for the size comparison
    }
    let gort_exe = |name: &str| built.exes.get(&format!("bench_{name}")).cloned();
    // The http rows' gort server is examples/http_hello.rs itself; the companion and wrk drive
    // the server rows.
    let wants = |f: fn(&Kind) -> bool| selected.iter().any(|&i| f(&WORKLOADS[i].kind));
    let http_hello = if wants(|k| matches!(k, Kind::Wrk(_))) {
        println!("== bench: building examples/http_hello (cargo build -p gort --example http_hello --release)");
        let b = cargo_build(&root, &["-p", "gort", "--example", "http_hello"], HOST, true)?;
        b.exes.get("http_hello").filter(|_| b.success).cloned()
    } else {
        None
    };
    let wrk = if wants(|k| matches!(k, Kind::Wrk(_))) { tool_setup("wrk", "wrk") } else { Err("not needed".into()) };
    let companion = if wants(|k| matches!(k, Kind::Companion(_))) {
        crate::test::companion_exe(&root)
    } else {
        Err("not needed".into())
    };

    // Go programs.
    let go_dir = out_dir.join("go");
    let go = go_setup(&root, &go_dir, &names);
    let go_exe = |name: &str| -> Result<PathBuf, String> {
        match &go {
            Err(why) => Err(why.clone()),
            Ok(()) => {
                let p = go_dir.join(name);
                if p.is_file() {
                    Ok(p)
                } else {
                    Err(format!("go build of {name} failed"))
                }
            }
        }
    };
    if let Err(why) = &go {
        println!("== bench: NO Go column: {why}");
    }
    // glibc programs (std, the system allocator), for the `vs: "glibc"` rows.
    let glibc = if selected.iter().any(|&i| WORKLOADS[i].vs == "glibc") {
        println!("== bench: building glibc programs (cargo build -p gort-benches-glibc --release --target {HOST})");
        cargo_build(&root, &["-p", "gort-benches-glibc", "--bins"], HOST, true)
            .map_err(|e| format!("building the glibc bench programs failed: {e}"))
    } else {
        Err("not needed".into())
    };
    let glibc_exe = |name: &str| -> Result<PathBuf, String> {
        match &glibc {
            Err(e) => Err(e.clone()),
            Ok(b) => b.exes.get(&format!("bench_{name}_glibc")).cloned().ok_or(format!("no bench_{name}_glibc binary")),
        }
    };

    // The assembly floor, for the `vs: "asm"` row.
    let asm_hello = if selected.iter().any(|&i| WORKLOADS[i].vs == "asm") {
        asm_hello_setup(&root, &out_dir)
    } else {
        Err("not needed".into())
    };

    // Runs: per workload, gort and Go alternately.
    let mut samples: Vec<Sample> = Vec::new();
    for &w in &selected {
        let wl = &WORKLOADS[w];
        if wl.kind == Kind::Wrk(Metric::P99) {
            continue; // measured by its requests/s row's wrk runs
        }
        for r in 0..runs {
            for imp in ["gort", wl.vs] {
                let exe = match (imp, wl.kind) {
                    ("gort", Kind::Wrk(_)) => {
                        http_hello.clone().ok_or_else(|| "examples/http_hello did not build".into())
                    }
                    ("gort" | "unprofiled", _) if wl.vs == "unprofiled" => {
                        profiled.clone().ok_or_else(|| "no bench_skynet_pprof".to_string())
                    }
                    ("gort" | "untraced", _) if wl.traces_gort() => traced_exes
                        .get(wl.prog)
                        .cloned()
                        .ok_or_else(|| format!("no bench_{} built with the trace feature", wl.prog)),
                    ("gort", _) => gort_exe(wl.prog).ok_or_else(|| format!("no gort binary bench_{}", wl.prog)),
                    ("glibc", _) => glibc_exe(wl.prog),
                    ("asm", _) => asm_hello.clone(),
                    _ => go_exe(wl.prog),
                };
                let result = match (exe, wl.kind) {
                    (Err(e), _) => Err(e),
                    (Ok(exe), _) if wl.prog == "hello" => time_execs(&root, &exe, hello_execs),
                    (Ok(exe), Kind::Plain) if wl.vs == "go traced" && imp == "go traced" => {
                        let trace = out_dir.join(format!("gotrace-{}.out", wl.label().replace('/', "-p")));
                        let r = run_one_env(&root, &exe, wl, None, &[("BENCH_TRACE", trace.display().to_string())]);
                        let _ = fs::remove_file(&trace);
                        r
                    }
                    (Ok(exe), Kind::Plain) if wl.traces_gort() && imp == "gort" => {
                        // Hundreds of MB of JSON for the ping-pong: deleted after the run.
                        let trace = out_dir.join(format!("trace-{}.json", wl.label().replace('/', "-p")));
                        let r = run_one(&root, &exe, wl, Some(format!("gorttrace={}", trace.display())));
                        let _ = fs::remove_file(&trace);
                        r
                    }
                    (Ok(exe), Kind::Plain) if wl.vs == "unprofiled" => {
                        let profiled = imp == "gort";
                        run_whole(
                            &root,
                            &exe,
                            wl,
                            profiled.then(|| format!("cpuprofile=target/bench/{}.prof", wl.name)),
                        )
                    }
                    (Ok(exe), Kind::Plain) => run_one(&root, &exe, wl, None),
                    (Ok(exe), Kind::Companion(args)) => {
                        companion.clone().and_then(|c| run_companion(&root, &exe, wl, &c, args))
                    }
                    (Ok(exe), Kind::Wrk(_)) => {
                        let both = wrk.clone().and_then(|wrk| run_wrk(&root, &exe, wl, &wrk, http_seconds));
                        if let Some(p99) = wrk_twin(w) {
                            let result = both.clone().map(|(_, p)| (p, "ms".to_string()));
                            if let Ok((v, unit)) = &result {
                                println!(
                                    "  {:<12} {:<5} run {}/{}: {v:.2} {unit}",
                                    WORKLOADS[p99].label(),
                                    imp,
                                    r + 1,
                                    runs
                                );
                            }
                            samples.push(Sample { workload: p99, imp, run: r, result });
                        }
                        both.map(|(rps, _)| (rps, "req/s".to_string()))
                    }
                };
                match &result {
                    Ok((v, unit)) => println!("  {:<12} {:<5} run {}/{}: {v:.1} {unit}", wl.label(), imp, r + 1, runs),
                    Err(e) if imp.starts_with("go") && go.is_err() => {
                        let _ = e;
                    }
                    Err(e) => println!("  {:<12} {:<5} run {}/{}: FAILED: {e}", wl.label(), imp, r + 1, runs),
                }
                samples.push(Sample { workload: w, imp, run: r, result });
            }
        }
    }

    let rows: Vec<RowStats> = selected.iter().map(|&w| row_stats(&samples, w)).collect();
    let problems = print_table(&rows, runs, quick, go.as_ref().err());

    // Stripped hello sizes.
    let gort_size = gort_exe("hello")
        .ok_or_else(|| "no gort hello binary".to_string())
        .and_then(|p| stripped_size(&p, &out_dir.join("stripped-gort-hello")));
    let go_size = go_exe("hello").and_then(|p| stripped_size(&p, &out_dir.join("stripped-go-hello")));
    let show = |s: &Result<u64, String>| match s {
        Ok(n) => format!("{n} bytes ({:.1} KiB)", *n as f64 / 1024.0),
        Err(e) => format!("unknown: {e}"),
    };
    println!("stripped hello: gort {}, Go {}", show(&gort_size), show(&go_size));

    // results.json and report.svg.
    let machine = Machine::probe(&root);
    let json = results_json(&machine, runs, quick, hello_execs, &samples, &rows, &gort_size, &go_size, &go);
    let json_path = out_dir.join("results.json");
    fs::write(&json_path, json).map_err(|e| format!("{}: {e}", json_path.display()))?;
    let svg_path = out_dir.join("report.svg");
    fs::write(&svg_path, report_svg(&machine, runs, &rows)).map_err(|e| format!("{}: {e}", svg_path.display()))?;
    let md_path = out_dir.join("table.md");
    fs::write(&md_path, markdown_table(runs, &rows, &gort_size, &go_size))
        .map_err(|e| format!("{}: {e}", md_path.display()))?;
    println!("wrote {}, {} and {}", rel(&root, &json_path), rel(&root, &svg_path), rel(&root, &md_path));
    Ok(if problems > 0 { 1 } else { 0 })
}

/// The README's table (target/bench/table.md): one line per row with both sides' medians and
/// their spread (min–max of the runs), the ratio and which way is better; the stripped hello
/// sizes last.
fn markdown_table(
    runs: usize,
    rows: &[RowStats],
    gort_size: &Result<u64, String>,
    go_size: &Result<u64, String>,
) -> String {
    let mut o = String::new();
    let _ = writeln!(o, "| row | unit | gort median (min–max) | other median (min–max) | gort/other | better |");
    let _ = writeln!(o, "|---|---|---|---|---|---|");
    let cell = |st: &Stats| match (st.median(), st.values.first(), st.values.last()) {
        (Some(m), Some(lo), Some(hi)) => format!("{} ({}–{})", num(m), num(*lo), num(*hi)),
        _ if !st.errors.is_empty() => format!("failed {}/{runs}", st.errors.len()),
        _ => "-".into(),
    };
    for r in rows {
        let wl = &WORKLOADS[r.workload];
        let unit = if r.gort.unit.is_empty() { &r.go.unit } else { &r.gort.unit };
        let ratio = match (r.gort.median(), r.go.median()) {
            (Some(a), Some(b)) if b > 0.0 => format!("{:.2}", a / b),
            _ => "-".into(),
        };
        let better = if higher_is_better(unit) { "higher" } else { "lower" };
        let _ = writeln!(
            o,
            "| {} | {unit} | {} | {} {} | {ratio} | {better} |",
            wl.label(),
            cell(&r.gort),
            wl.vs,
            cell(&r.go)
        );
    }
    if let (Ok(a), Ok(b)) = (gort_size, go_size) {
        let _ = writeln!(o, "| hello, stripped | bytes | {a} | go {b} | {:.2} | lower |", *a as f64 / *b as f64);
    }
    o
}

/// A value with a precision that suits its size (the table's cells).
fn num(x: f64) -> String {
    if x >= 1000.0 {
        format!("{x:.0}")
    } else if x >= 10.0 {
        format!("{x:.1}")
    } else {
        format!("{x:.2}")
    }
}

/// A workload's samples, sorted, for each side.
fn row_stats(samples: &[Sample], w: usize) -> RowStats {
    let stats = |imp: &str| -> Stats {
        let mut v: Vec<f64> = Vec::new();
        let mut unit = String::new();
        let mut errors = Vec::new();
        for s in samples.iter().filter(|s| s.workload == w && s.imp == imp) {
            match &s.result {
                Ok((x, u)) => {
                    v.push(*x);
                    unit = u.clone();
                }
                Err(e) => errors.push(e.clone()),
            }
        }
        v.sort_by(|a, b| a.total_cmp(b));
        Stats { values: v, unit, errors }
    };
    RowStats { workload: w, gort: stats("gort"), go: stats(WORKLOADS[w].vs) }
}

/// Prints the table and the failed runs; returns how many rows had failures (a missing Go,
/// `no_go`, is said once and not counted).
fn print_table(rows: &[RowStats], runs: usize, quick: bool, no_go: Option<&String>) -> usize {
    println!();
    println!("== bench: {} run(s) each, gort vs Go{}", runs, if quick { " (--quick)" } else { "" });
    println!(
        "{:<16} {:<7} {:>10} {:>10} {:>10} {:>10} {:>8}  better",
        "workload", "unit", "gort med", "gort min", "gort max", "other med", "gort/other"
    );
    for r in rows {
        let unit = if r.gort.unit.is_empty() { &r.go.unit } else { &r.gort.unit };
        let cell = |x: Option<f64>| x.map_or("-".to_string(), |x| format!("{x:.1}"));
        let ratio = match (r.gort.median(), r.go.median()) {
            (Some(a), Some(b)) if b > 0.0 => format!("{:.2}", a / b),
            _ => "-".into(),
        };
        println!(
            "{:<16} {:<7} {:>10} {:>10} {:>10} {:>10} {:>8}  {}",
            WORKLOADS[r.workload].label(),
            unit,
            cell(r.gort.median()),
            cell(r.gort.values.first().copied()),
            cell(r.gort.values.last().copied()),
            cell(r.go.median()),
            ratio,
            if higher_is_better(unit) { "higher" } else { "lower" }
        );
    }
    let mut problems = 0;
    for r in rows {
        for (imp, st) in [("gort", &r.gort), ("Go", &r.go)] {
            if let Some(e) = st.errors.first() {
                if imp == "Go" && no_go.is_some() {
                    continue;
                }
                problems += 1;
                println!(
                    "  {} {imp}: {} of {} runs failed: {e}",
                    WORKLOADS[r.workload].label(),
                    st.errors.len(),
                    st.errors.len() + st.values.len()
                );
            }
        }
    }
    if let Some(why) = no_go {
        println!("  Go column empty: {why}");
    }
    problems
}

fn rel(root: &Path, p: &Path) -> String {
    p.strip_prefix(root).unwrap_or(p).display().to_string()
}

struct Stats {
    /// Sorted.
    values: Vec<f64>,
    unit: String,
    errors: Vec<String>,
}

impl Stats {
    fn median(&self) -> Option<f64> {
        median(&self.values)
    }
}

struct RowStats {
    workload: usize,
    gort: Stats,
    go: Stats,
}

/// The median of sorted values.
fn median(v: &[f64]) -> Option<f64> {
    match v.len() {
        0 => None,
        n if n % 2 == 1 => Some(v[n / 2]),
        n => Some((v[n / 2 - 1] + v[n / 2]) / 2.0),
    }
}

// ---------------------------------------------------------------------------------------------
// running

/// The environment of every run: xtask's minus GODEBUG, with GOMAXPROCS as the workload says.
fn bench_command(root: &Path, exe: &Path, procs: Option<u32>) -> Command {
    let mut c = Command::new(exe);
    c.current_dir(root).env_remove("GODEBUG").env_remove("GOMAXPROCS");
    if let Some(p) = procs {
        c.env("GOMAXPROCS", p.to_string());
    }
    c
}

/// Runs one program once and reads its `RESULT name value unit` line; with `godebug`, under
/// `GODEBUG=<godebug>` (an execution trace or a CPU profile: the overhead rows).
fn run_one(root: &Path, exe: &Path, wl: &Workload, godebug: Option<String>) -> Result<(f64, String), String> {
    run_one_env(root, exe, wl, godebug, &[])
}

/// run_one with more environment variables (the Go twin's BENCH_TRACE).
fn run_one_env(
    root: &Path,
    exe: &Path,
    wl: &Workload,
    godebug: Option<String>,
    env: &[(&str, String)],
) -> Result<(f64, String), String> {
    let mut c = bench_command(root, exe, wl.procs);
    c.args(wl.arg);
    if let Some(g) = godebug {
        c.env("GODEBUG", g);
    }
    for (k, v) in env {
        c.env(k, v);
    }
    let out = run::run_captured(c, RUN_TIMEOUT).map_err(|e| format!("could not start {}: {e}", exe.display()))?;
    if !out.status.is_some_and(|s| s.success()) {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(format!(
            "{}; stderr: {}",
            out.describe_status(),
            err.lines().take(3).collect::<Vec<_>>().join(" | ")
        ));
    }
    parse_result(&String::from_utf8_lossy(&out.stdout), wl.result)
}

/// Runs one program once and times all of it, exec to exit, in ms (the skynet-cpuprof row: a
/// profile started at boot and written at exit costs its user that too, outside the program's
/// own timing). Its `RESULT` line must be there (the run did its work). Waits blocking, with no
/// polling (run_captured's polling would round the end up by up to 10 ms); a watchdog kills
/// it after RUN_TIMEOUT.
fn run_whole(root: &Path, exe: &Path, wl: &Workload, godebug: Option<String>) -> Result<(f64, String), String> {
    extern "C" {
        fn kill(pid: i32, sig: i32) -> i32;
    }
    let mut c = bench_command(root, exe, wl.procs);
    c.args(wl.arg).stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    if let Some(g) = godebug {
        c.env("GODEBUG", g);
    }
    let t0 = Instant::now();
    let child = c.spawn().map_err(|e| format!("could not start {}: {e}", exe.display()))?;
    let pid = child.id() as i32;
    let (done, until_done) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = until_done.recv_timeout(RUN_TIMEOUT) {
            // SAFETY: plain kill(2) of our child, not yet waited for (wait_with_output below
            // has not returned: it signals `done` first).
            unsafe { kill(pid, 9) };
        }
    });
    let out = child.wait_with_output();
    let ms = t0.elapsed().as_secs_f64() * 1e3;
    let _ = done.send(());
    let _ = watchdog.join();
    let out = out.map_err(|e| format!("waiting for {}: {e}", exe.display()))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(format!("{}; stderr: {}", out.status, err.lines().take(3).collect::<Vec<_>>().join(" | ")));
    }
    parse_result(&String::from_utf8_lossy(&out.stdout), wl.result)?;
    Ok((ms, "ms".into()))
}

/// The other row of an http pair (requests/s ↔ p99 of the same GOMAXPROCS).
fn wrk_twin(i: usize) -> Option<usize> {
    let Kind::Wrk(m) = WORKLOADS[i].kind else { return None };
    WORKLOADS.iter().position(|x| matches!(x.kind, Kind::Wrk(o) if o != m) && x.procs == WORKLOADS[i].procs)
}

/// Runs a server and the companion against it (`Kind::Companion`); the server's RESULT line is
/// the value, and the companion must succeed too.
fn run_companion(
    root: &Path,
    exe: &Path,
    wl: &Workload,
    companion: &Path,
    args: &[&str],
) -> Result<(f64, String), String> {
    let mut c = bench_command(root, exe, wl.procs);
    c.args(wl.arg);
    let comp = run::Companion {
        exe: companion.to_path_buf(),
        args: args.iter().map(Into::into).collect(),
        stop_program: false,
    };
    let out = run::run_with_companion(c, RUN_TIMEOUT, None, Some(comp))
        .map_err(|e| format!("could not start {}: {e}", exe.display()))?;
    match &out.companion {
        Some(Ok(o)) if o.status.is_some_and(|s| s.success()) => {}
        Some(Ok(o)) => {
            return Err(format!(
                "the companion failed ({}): {}",
                o.describe_status(),
                String::from_utf8_lossy(&o.stderr).lines().take(3).collect::<Vec<_>>().join(" | ")
            ))
        }
        Some(Err(e)) => return Err(format!("the companion {e}")),
        None => return Err("no companion outcome".into()),
    }
    if !out.status.is_some_and(|s| s.success()) {
        return Err(format!("{}; stderr: {}", out.describe_status(), String::from_utf8_lossy(&out.stderr)));
    }
    parse_result(&String::from_utf8_lossy(&out.stdout), wl.result)
}

/// Runs an HTTP server and wrk against it (`Kind::Wrk`), then ends the server; returns
/// (requests per second, p99 latency in ms). Any socket error or non-2xx answer fails the run.
fn run_wrk(root: &Path, exe: &Path, wl: &Workload, wrk: &Path, seconds: u32) -> Result<(f64, f64), String> {
    let c = bench_command(root, exe, wl.procs);
    let args = [
        format!("-t{WRK_THREADS}"),
        format!("-c{WRK_CONNECTIONS}"),
        format!("-d{seconds}s"),
        "--latency".to_string(),
        "http://{addr}/".to_string(),
    ];
    let comp =
        run::Companion { exe: wrk.to_path_buf(), args: args.iter().map(Into::into).collect(), stop_program: true };
    let timeout = Duration::from_secs(seconds as u64 + 60);
    let out = run::run_with_companion(c, timeout, None, Some(comp))
        .map_err(|e| format!("could not start {}: {e}", exe.display()))?;
    if !out.stopped_after_companion {
        return Err(format!(
            "the server ended before wrk did ({}); stderr: {}",
            out.describe_status(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let o = match out.companion {
        Some(Ok(o)) if o.status.is_some_and(|s| s.success()) => o,
        Some(Ok(o)) => {
            return Err(format!("wrk failed ({}): {}", o.describe_status(), String::from_utf8_lossy(&o.stderr)))
        }
        Some(Err(e)) => return Err(format!("wrk {e}")),
        None => return Err("no wrk outcome".into()),
    };
    parse_wrk(&String::from_utf8_lossy(&o.stdout))
}

/// Requests/s and the 99% latency (ms) from `wrk --latency` output; errors on socket errors or
/// non-2xx/3xx answers.
fn parse_wrk(out: &str) -> Result<(f64, f64), String> {
    let show = || out.lines().map(str::trim).collect::<Vec<_>>().join(" | ");
    if let Some(l) = out.lines().find(|l| l.contains("Socket errors") || l.contains("Non-2xx")) {
        return Err(format!("wrk: {} ({})", l.trim(), show()));
    }
    let rps = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .ok_or_else(|| format!("no Requests/sec in wrk's output: {}", show()))?;
    let p99 = out
        .lines()
        .find_map(|l| l.trim().strip_prefix("99%"))
        .and_then(|v| wrk_duration_ms(v.trim()))
        .ok_or_else(|| format!("no 99% latency in wrk's output (--latency): {}", show()))?;
    Ok((rps, p99))
}

/// wrk's durations (`812.00us`, `1.23ms`, `2.01s`, `1.5m`) in ms.
fn wrk_duration_ms(v: &str) -> Option<f64> {
    let split = v.find(|c: char| c.is_ascii_alphabetic())?;
    let (n, unit) = v.split_at(split);
    let n: f64 = n.parse().ok()?;
    Some(match unit {
        "us" => n / 1000.0,
        "ms" => n,
        "s" => n * 1000.0,
        "m" => n * 60_000.0,
        _ => return None,
    })
}

/// Finds `RESULT NAME VALUE UNIT` in a program's output.
fn parse_result(stdout: &str, name: &str) -> Result<(f64, String), String> {
    for l in stdout.lines() {
        let w: Vec<&str> = l.split_whitespace().collect();
        if w.len() == 4 && w[0] == "RESULT" && w[1] == name {
            let v: f64 = w[2].parse().map_err(|_| format!("bad value in {l:?}"))?;
            return Ok((v, w[3].to_string()));
        }
    }
    Err(format!("no `RESULT {name} ...` line in its output: {:?}", stdout.chars().take(200).collect::<String>()))
}

/// Executes `exe` `n` times (GOMAXPROCS unset, after one untimed warm-up run that pages the
/// binary in) and returns the mean wall time per run in µs.
fn time_execs(root: &Path, exe: &Path, n: usize) -> Result<(f64, String), String> {
    let mut t0 = Instant::now();
    for i in 0..=n {
        if i == 1 {
            t0 = Instant::now();
        }
        let out = bench_command(root, exe, None)
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .map_err(|e| format!("could not start {}: {e}", exe.display()))?;
        if !out.status.success() || !out.stdout.starts_with(b"hello") {
            return Err(format!("{}, stdout {:?}", run::describe(out.status), String::from_utf8_lossy(&out.stdout)));
        }
    }
    Ok((t0.elapsed().as_secs_f64() * 1e6 / n as f64, "us/run".into()))
}

/// Builds benches/asm's static assembly hello for the host (linux x86-64 only) with clang into
/// `dir`; Err says why there is none.
fn asm_hello_setup(root: &Path, dir: &Path) -> Result<PathBuf, String> {
    if HOST != "x86_64-unknown-linux-gnu" {
        return Err(format!("benches/asm has no hello for {HOST}"));
    }
    let src = root.join("benches/asm/hello_x86_64_linux.S");
    let exe = dir.join("asm-hello");
    let out = Command::new("clang")
        .args(["-nostdlib", "-static", "-o"])
        .arg(&exe)
        .arg(&src)
        .output()
        .map_err(|e| format!("clang: {e}"))?;
    if !out.status.success() {
        return Err(format!("clang {}: {}", src.display(), String::from_utf8_lossy(&out.stderr)));
    }
    Ok(exe)
}

/// Makes sure `go` exists (apt-get install golang-go when root) and builds the Go programs into
/// `dir`. Err says why there is no Go column.
pub fn go_setup(root: &Path, dir: &Path, names: &[&str]) -> Result<(), String> {
    if which("go").is_none() {
        if !is_root() {
            return Err("`go` is not installed and we are not root (apt-get install golang-go)".into());
        }
        eprintln!("xtask: bench: installing golang-go (apt-get)");
        let st = Command::new("sh")
            .arg("-c")
            .arg("apt-get update -qq && apt-get install -y -qq --no-install-recommends golang-go")
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .map_err(|e| format!("apt-get: {e}"))?;
        if !st.success() || which("go").is_none() {
            return Err(format!("apt-get install golang-go failed ({})", run::describe(st)));
        }
    }
    println!("== bench: building Go programs ({})", go_version().unwrap_or_else(|e| e));
    fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut failed = Vec::new();
    for name in names {
        let out = dir.join(name);
        let _ = fs::remove_file(&out);
        let mut c = Command::new("go");
        c.current_dir(root.join("benches/go"))
            .arg("build")
            .arg("-o")
            .arg(&out)
            .arg(format!("./{name}"))
            .env("CGO_ENABLED", "0");
        if std::env::var_os("HOME").is_none() && std::env::var_os("GOCACHE").is_none() {
            c.env("GOCACHE", dir.join("cache"));
        }
        match c.status() {
            Ok(s) if s.success() => {}
            Ok(s) => failed.push(format!("{name} ({})", run::describe(s))),
            Err(e) => return Err(format!("go: {e}")),
        }
    }
    if failed.len() == names.len() {
        return Err(format!("go build failed for every program: {}", failed.join(", ")));
    }
    Ok(())
}

/// Makes sure `tool` is on PATH, installing the Debian package `pkg` with apt-get when root (as
/// `go` is); Err says why there is none.
pub fn tool_setup(tool: &str, pkg: &str) -> Result<PathBuf, String> {
    if let Some(p) = which(tool) {
        return Ok(p);
    }
    if !is_root() {
        return Err(format!("`{tool}` is not installed and we are not root (apt-get install {pkg})"));
    }
    eprintln!("xtask: installing {pkg} (apt-get)");
    let st = Command::new("sh")
        .arg("-c")
        .arg(format!("apt-get update -qq && apt-get install -y -qq --no-install-recommends {pkg}"))
        .env("DEBIAN_FRONTEND", "noninteractive")
        .status()
        .map_err(|e| format!("apt-get: {e}"))?;
    which(tool).ok_or_else(|| format!("apt-get install {pkg} failed ({})", run::describe(st)))
}

fn go_version() -> Result<String, String> {
    command_line(Command::new("go").arg("version"))
}

/// A command's first line of stdout.
fn command_line(c: &mut Command) -> Result<String, String> {
    let out = c.output().map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(format!("failed ({})", run::describe(out.status)));
    }
    Ok(String::from_utf8_lossy(&out.stdout).lines().next().unwrap_or("").trim().to_string())
}

/// Copies `exe` to `copy`, strips the copy and returns its size.
fn stripped_size(exe: &Path, copy: &Path) -> Result<u64, String> {
    let tool =
        ["strip", "llvm-strip"].into_iter().find(|t| which(t).is_some()).ok_or("no strip or llvm-strip on PATH")?;
    fs::copy(exe, copy).map_err(|e| format!("copy {}: {e}", exe.display()))?;
    let st = Command::new(tool).arg(copy).status().map_err(|e| format!("{tool}: {e}"))?;
    if !st.success() {
        return Err(format!("{tool} failed ({})", run::describe(st)));
    }
    Ok(fs::metadata(copy).map_err(|e| e.to_string())?.len())
}

// ---------------------------------------------------------------------------------------------
// results.json

struct Machine {
    date: String,
    uname: String,
    rustc: String,
    go: String,
    git: String,
    cpus: usize,
}

impl Machine {
    fn probe(root: &Path) -> Machine {
        let or_why = |r: Result<String, String>| r.unwrap_or_else(|e| format!("unknown: {e}"));
        Machine {
            date: or_why(command_line(Command::new("date").args(["-u", "+%Y-%m-%dT%H:%M:%SZ"]))),
            uname: or_why(command_line(Command::new("uname").arg("-a"))),
            rustc: or_why(command_line(Command::new("rustc").current_dir(root).arg("-V"))),
            go: if which("go").is_some() { or_why(go_version()) } else { "not installed".into() },
            git: or_why(command_line(Command::new("git").current_dir(root).args(["rev-parse", "HEAD"]))),
            cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
        }
    }
}

/// A JSON string literal.
fn js(s: &str) -> String {
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\t' => o.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(o, "\\u{:04x}", c as u32);
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// A JSON number (null when missing or not finite).
fn jn(x: Option<f64>) -> String {
    match x {
        Some(x) if x.is_finite() => format!("{x}"),
        _ => "null".into(),
    }
}

#[allow(clippy::too_many_arguments)]
fn results_json(
    m: &Machine,
    runs: usize,
    quick: bool,
    hello_execs: usize,
    samples: &[Sample],
    rows: &[RowStats],
    gort_size: &Result<u64, String>,
    go_size: &Result<u64, String>,
    go: &Result<(), String>,
) -> String {
    let mut o = String::new();
    let size = |s: &Result<u64, String>| match s {
        Ok(n) => n.to_string(),
        Err(_) => "null".into(),
    };
    let _ = writeln!(o, "{{");
    let _ = writeln!(o, "  \"date\": {},", js(&m.date));
    let _ = writeln!(o, "  \"uname\": {},", js(&m.uname));
    let _ = writeln!(o, "  \"rustc\": {},", js(&m.rustc));
    let _ = writeln!(o, "  \"go\": {},", js(&m.go));
    let _ = writeln!(o, "  \"go_missing\": {},", go.as_ref().err().map_or("null".into(), |e| js(e)));
    let _ = writeln!(o, "  \"git_commit\": {},", js(&m.git));
    let _ = writeln!(o, "  \"cpus\": {},", m.cpus);
    let _ = writeln!(o, "  \"runs_per_workload\": {runs},");
    let _ = writeln!(o, "  \"quick\": {quick},");
    let _ = writeln!(o, "  \"hello_execs_per_run\": {hello_execs},");
    let _ = writeln!(o, "  \"hello_stripped_bytes\": {{\"gort\": {}, \"go\": {}}},", size(gort_size), size(go_size));
    let _ = writeln!(o, "  \"summary\": [");
    for (i, r) in rows.iter().enumerate() {
        let wl = &WORKLOADS[r.workload];
        let unit = if r.gort.unit.is_empty() { &r.go.unit } else { &r.gort.unit };
        let ratio = match (r.gort.median(), r.go.median()) {
            (Some(a), Some(b)) if b > 0.0 => Some(a / b),
            _ => None,
        };
        let _ = writeln!(
            o,
            "    {{\"workload\": {}, \"program\": {}, \"gomaxprocs\": {}, \"unit\": {}, \"gort\": {{\"median\": {}, \"min\": {}, \"max\": {}, \"ok\": {}, \"failed\": {}}}, \"go\": {{\"median\": {}, \"min\": {}, \"max\": {}, \"ok\": {}, \"failed\": {}}}, \"ratio_gort_go\": {}}}{}",
            js(&wl.label()),
            js(wl.name),
            wl.procs.map_or("null".into(), |p| p.to_string()),
            js(unit),
            jn(r.gort.median()),
            jn(r.gort.values.first().copied()),
            jn(r.gort.values.last().copied()),
            r.gort.values.len(),
            r.gort.errors.len(),
            jn(r.go.median()),
            jn(r.go.values.first().copied()),
            jn(r.go.values.last().copied()),
            r.go.values.len(),
            r.go.errors.len(),
            jn(ratio),
            if i + 1 < rows.len() { "," } else { "" }
        );
    }
    let _ = writeln!(o, "  ],");
    let _ = writeln!(o, "  \"runs\": [");
    for (i, s) in samples.iter().enumerate() {
        let wl = &WORKLOADS[s.workload];
        let (value, unit, error) = match &s.result {
            Ok((v, u)) => (jn(Some(*v)), js(u), "null".to_string()),
            Err(e) => ("null".into(), "null".into(), js(e)),
        };
        let _ = writeln!(
            o,
            "    {{\"workload\": {}, \"impl\": {}, \"run\": {}, \"gomaxprocs\": {}, \"value\": {value}, \"unit\": {unit}, \"error\": {error}}}{}",
            js(&wl.label()),
            js(s.imp),
            s.run + 1,
            wl.procs.map_or("null".into(), |p| p.to_string()),
            if i + 1 < samples.len() { "," } else { "" }
        );
    }
    let _ = writeln!(o, "  ]");
    let _ = writeln!(o, "}}");
    o
}

// ---------------------------------------------------------------------------------------------
// report.svg

fn xml(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A bar chart of the medians: one group per workload (gort, Go), log-scale y axis.
fn report_svg(m: &Machine, runs: usize, rows: &[RowStats]) -> String {
    const GORT: &str = "#d9534f";
    const GO: &str = "#00add8";
    const GLIBC: &str = "#8c8c8c";
    const BASELINE: &str = "#f0ad4e";
    // Each row's comparison bar says what it is: Go's, glibc malloc's for the malloc rows, or
    // gort's own run without the trace or profiler for the overhead rows.
    let other = |r: &RowStats| match WORKLOADS[r.workload].vs {
        "glibc" => ("glibc", GLIBC),
        "untraced" => ("gort untraced", BASELINE),
        "go traced" => ("Go traced", GO),
        "unprofiled" => ("gort unprofiled", BASELINE),
        "asm" => ("asm hello", GLIBC),
        _ => ("Go", GO),
    };
    let mut others: Vec<(&str, &str)> = Vec::new();
    for r in rows {
        if !others.contains(&other(r)) {
            others.push(other(r));
        }
    }
    let any_glibc = others.iter().any(|o| o.0 == "glibc");
    let (left, right, top, bottom) = (70.0, 20.0, 60.0, 80.0);
    let plot_h = 320.0;
    let group_w = 110.0;
    let bar_w = 36.0;
    let width = left + right + group_w * rows.len().max(1) as f64;
    let height = top + plot_h + bottom;

    let values: Vec<f64> =
        rows.iter().flat_map(|r| [r.gort.median(), r.go.median()]).flatten().filter(|v| *v > 0.0).collect();
    let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = values.iter().copied().fold(0.0, f64::max);
    let (lo_e, hi_e) = if values.is_empty() {
        (0, 1)
    } else {
        let l = lo.log10().floor() as i32;
        let h = (hi.log10().ceil() as i32).max(l + 1);
        (l, h)
    };
    let y = |v: f64| -> f64 {
        let f = (v.log10() - lo_e as f64) / (hi_e - lo_e) as f64;
        top + plot_h * (1.0 - f.clamp(0.0, 1.0))
    };

    let mut o = String::new();
    let _ = writeln!(
        o,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" viewBox=\"0 0 {width} {height}\" font-family=\"sans-serif\" font-size=\"11\">"
    );
    let _ = writeln!(o, "<rect width=\"100%\" height=\"100%\" fill=\"white\"/>");
    let _ = writeln!(
        o,
        "<text x=\"{left}\" y=\"20\" font-size=\"14\" font-weight=\"bold\">gort vs Go{}: median of {runs} run(s), lower is better except the rows marked higher (log scale)</text>",
        if any_glibc { " (malloc rows: glibc)" } else { "" }
    );
    let _ = writeln!(
        o,
        "<text x=\"{left}\" y=\"36\" fill=\"#555\">{} | {} | {}</text>",
        xml(&m.date),
        xml(&m.rustc),
        xml(&m.go)
    );
    // Legend: gort, then every kind of comparison bar the rows have (same color, same name).
    let mut legend: Vec<(&str, &str)> = others.clone();
    legend.insert(0, ("gort", GORT));
    let legend_w: f64 = legend.iter().map(|(name, _)| 24.0 + 6.5 * name.len() as f64).sum();
    let mut lx = (width - right - legend_w).max(left);
    for (name, color) in legend {
        let _ = writeln!(
            o,
            "<rect x=\"{lx}\" y=\"42\" width=\"10\" height=\"10\" fill=\"{color}\"/><text x=\"{}\" y=\"51\">{}</text>",
            lx + 14.0,
            xml(name)
        );
        lx += 24.0 + 6.5 * name.len() as f64;
    }
    // Decade grid lines.
    for e in lo_e..=hi_e {
        let v = 10f64.powi(e);
        let yy = y(v);
        let _ = writeln!(
            o,
            "<line x1=\"{left}\" y1=\"{yy:.1}\" x2=\"{}\" y2=\"{yy:.1}\" stroke=\"#ddd\"/><text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            width - right,
            left - 6.0,
            yy + 4.0,
            axis_label(e)
        );
    }
    let _ = writeln!(
        o,
        "<line x1=\"{left}\" y1=\"{top}\" x2=\"{left}\" y2=\"{}\" stroke=\"#333\"/><line x1=\"{left}\" y1=\"{0}\" x2=\"{1}\" y2=\"{0}\" stroke=\"#333\"/>",
        top + plot_h,
        width - right
    );
    let base = top + plot_h;
    for (i, r) in rows.iter().enumerate() {
        let gx = left + group_w * i as f64 + (group_w - 2.0 * bar_w - 6.0) / 2.0;
        let (other_name, other_color) = other(r);
        for (k, (st, color)) in [(&r.gort, GORT), (&r.go, other_color)].into_iter().enumerate() {
            let x = gx + k as f64 * (bar_w + 6.0);
            match st.median() {
                Some(v) if v > 0.0 => {
                    let yy = y(v);
                    let _ = writeln!(
                        o,
                        "<rect x=\"{x:.1}\" y=\"{yy:.1}\" width=\"{bar_w}\" height=\"{:.1}\" fill=\"{color}\"><title>{} {}: {}</title></rect><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"9\">{}</text>",
                        base - yy,
                        xml(&WORKLOADS[r.workload].label()),
                        if k == 0 { "gort" } else { other_name },
                        short(v),
                        x + bar_w / 2.0,
                        yy - 3.0,
                        short(v)
                    );
                }
                _ => {
                    let _ = writeln!(
                        o,
                        "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-size=\"9\" fill=\"#999\">n/a</text>",
                        x + bar_w / 2.0,
                        base - 4.0
                    );
                }
            }
        }
        let cx = left + group_w * (i as f64 + 0.5);
        let unit = if r.gort.unit.is_empty() { &r.go.unit } else { &r.gort.unit };
        let ratio = match (r.gort.median(), r.go.median()) {
            (Some(a), Some(b)) if b > 0.0 => format!("gort/{other_name} {:.2}", a / b),
            _ => String::new(),
        };
        let _ = writeln!(
            o,
            "<text x=\"{cx:.1}\" y=\"{:.1}\" text-anchor=\"middle\" font-weight=\"bold\">{}</text><text x=\"{cx:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#555\">{}</text><text x=\"{cx:.1}\" y=\"{:.1}\" text-anchor=\"middle\" fill=\"#555\">{}</text>",
            base + 16.0,
            xml(&WORKLOADS[r.workload].label()),
            base + 30.0,
            xml(&if higher_is_better(unit) { format!("{unit} (higher)") } else { unit.to_string() }),
            base + 44.0,
            ratio
        );
    }
    let _ = writeln!(o, "</svg>");
    o
}

fn axis_label(e: i32) -> String {
    if (0..=6).contains(&e) {
        format!("{}", 10u64.pow(e as u32))
    } else {
        format!("1e{e}")
    }
}

fn short(v: f64) -> String {
    if v >= 100.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.1}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_result_lines() {
        let out = "noise\nRESULT pingpong 226.9 ns/op\n";
        assert_eq!(parse_result(out, "pingpong").unwrap(), (226.9, "ns/op".to_string()));
        assert!(parse_result(out, "yield").is_err());
        assert!(parse_result("RESULT yield x ns/op\n", "yield").is_err());
    }

    #[test]
    fn parses_wrk_output() {
        let out = "Running 3s test @ http://127.0.0.1:4000/\n  2 threads and 100 connections\n  Latency Distribution\n     50%  610.00us\n     99%    2.51ms\n  153351 requests in 3.00s, 16.38MB read\nRequests/sec:  51084.13\nTransfer/sec:      5.46MB\n";
        assert_eq!(parse_wrk(out).unwrap(), (51084.13, 2.51));
        assert_eq!(wrk_duration_ms("812.00us"), Some(0.812));
        assert_eq!(wrk_duration_ms("1.50s"), Some(1500.0));
        assert!(parse_wrk(&out.replace("Requests/sec", "x")).is_err());
        assert!(parse_wrk(&format!("{out}  Socket errors: connect 0, read 3, write 0, timeout 0\n")).is_err());
        assert!(parse_wrk(&format!("{out}  Non-2xx or 3xx responses: 5\n")).is_err());
    }

    #[test]
    fn http_rows_come_in_pairs() {
        for (i, w) in WORKLOADS.iter().enumerate() {
            if let Kind::Wrk(_) = w.kind {
                let t = wrk_twin(i).expect("twin");
                assert_eq!(wrk_twin(t), Some(i));
                assert_eq!(WORKLOADS[t].procs, w.procs);
            }
        }
    }

    #[test]
    fn medians() {
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[1.0, 2.0, 9.0]), Some(2.0));
        assert_eq!(median(&[1.0, 2.0, 4.0, 9.0]), Some(3.0));
    }

    #[test]
    fn json_strings_are_escaped() {
        assert_eq!(js("a\"b\\c\n\u{1}"), "\"a\\\"b\\\\c\\n\\u0001\"");
    }
}
