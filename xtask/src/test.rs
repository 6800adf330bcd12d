//! `cargo xtask test [--target T]... [--filter SUBSTR]... [--release] [--no-loom]`: everything CI
//! checks on every change, in this order:
//!
//! 1. host unit tests: `cargo test -p gort --lib --features pprof,trace` and xtask's own tests (only when the host
//!    target is selected, which it is when no --target is given, and no --filter is given), and
//!    the fuzz smoke run (src/fuzz.rs, `fuzz::SMOKE_EXECS` executions per target, see
//!    `cargo xtask fuzz`);
//! 2. the loom model checks (see `cargo xtask loom`, loom.rs), under the same conditions, unless
//!    --no-loom;
//! 3. under the same conditions, the compile-fail cases (tests/compile-fail: programs that must
//!    not compile, see `cargo xtask compile-fail`) and the doc examples (see
//!    `cargo xtask doc-examples`), one summary row each;
//! 4. the end-to-end suite for each selected target (default: the targets marked `default_test`
//!    in TARGETS, targets.rs): builds every tests/e2e program, checks the ELF properties of each
//!    (inspect.rs `elf`: static, no PT_INTERP/DT_NEEDED, non-executable stack, entry = rt0; ELF
//!    targets only) and runs every case of tests/e2e/cases. A target whose runner is missing here
//!    is built but its cases are SKIPPED, loudly, and never counted as passed. A target's cases
//!    run `e2e_jobs()` at a time (the CPUs, or `GORT_E2E_JOBS`), longest timeout first.
//!
//! Prints `PASS prog/case (N ms)` or `FAIL ...` with the reasons per case, a summary table, and
//! last a line `N passed, M failed` (`, K skipped` added when K > 0). The unit-test and loom runs
//! count as one entry each, compile-fail cases and doc examples one per case or example. Exit
//! status 1 when anything failed. Before anything is built every case file is read: a bad one
//! stops the run. The targets are set up first (targets.rs `setup`: rust-std, clang, runners).
//!
//! `cargo xtask stress` (stress.rs) runs the same cases through `load_cases`, `case_skip` and
//! `run_case` below.
//!
//! # Case files: tests/e2e/cases/PROG.case
//!
//! Each file holds one or more cases for the program tests/e2e/src/bin/PROG.rs. A case file
//! without its program is an error; a program without a case file is built but only listed in a
//! WARNING line of the summary (programs may land before their cases). Lines (parsed by case.rs,
//! checked by check.rs):
//!
//! ```text
//! # comment                 whole-line comments only (a `#` later in a line is text)
//! case NAME                 starts a case; NAME is one word, unique in the file
//! args: WORDS               arguments (may repeat; appends). Shell-like words: blanks separate,
//!                           "..." groups ("" is an empty word), \xNN is a byte, \\ \" \  (space)
//!                           \t \n are those characters; other escapes are errors
//! args-repeat: N WORD       appends N copies of WORD
//! env: KEY=VALUE            sets a variable (may repeat); the KEY=VALUE is one word as above,
//!                           so `env: K="a b"`, `env: K=` (empty) and `env: K=\xff` work
//! env-unset: KEY...         removes variables from the environment the case starts from
//! env-clear                 starts from an empty environment (env: lines still apply)
//! env-fill: KEY SIZE PAT [N] KEY (or KEY0..KEY<N-1>) = PAT repeated to SIZE bytes (big environments)
//! secure-exec               run a setgid-nogroup copy (root, native only) so the kernel sets AT_SECURE
//! stress: keep-env REASON   `cargo xtask stress` must not add GOMAXPROCS to this case
//! symbolize                 names nameless traceback frames before the checks: each `?()` line
//!                           followed by `\tPATH+0xADDR` becomes `NAME(...) [symbolized]`, NAME
//!                           from `llvm-symbolizer --obj=EXE` (ADDR an RVA for a PE: the PDB
//!                           names it; windows prints no names itself). A frame it cannot name
//!                           fails the case (a --release PDB has no debug info: dev profile only)
//! pprof: FILE FLAGS...      after the run, `go tool pprof -top FLAGS FILE` (Debian golang-go;
//!                           FILE relative to the repository root, deleted before the run): a
//!                           line `pprof FILE FLAGS:` and pprof's output are appended to stdout
//!                           before the checks; pprof failing (or missing) fails the case
//! skip-on: TRIPLE REASON    do not run on TRIPLE; reported SKIPPED with REASON (never passed)
//! only-on: TRIPLE...        an OS-specific expectation: exists only for these targets (on the
//!                           others it is not run and not counted; pair it with a skip-on in
//!                           the general case, so the general case's absence stays loud)
//! needs-cpu: FEATURE...     x86 features (avx, avx2, avx512f) the host CPU must have, else the
//!                           case is SKIPPED with that reason (programs run on the host's CPU)
//! needs-linux: MAJOR.MINOR  the oldest host kernel the case holds on, else SKIPPED with that
//!                           reason (for native-only cases: qemu-user has its own answers)
//! exit: N                   expected exit status (default 0); death by a signal never matches
//! exit: timeout             the program must still run when `timeout` ends (the harness kills it)
//! exit: companion           the program must still run when its companion exits (then killed)
//! companion: WORDS          once the program's first stdout line ends with ADDR, run the host
//!                           client tests/companion as `companion ADDR WORDS...`; it must exit 0
//!                           (protocol: tests/e2e/README.md "Companion processes")
//! timeout: SECONDS          default 60; a timeout fails the case and shows what was captured
//! stdin:                    what the program reads on stdin (a block like stdout:), through a
//! ...                       pipe then closed; without it stdin is /dev/null
//! .
//! stdout:                   exact stdout: the following lines up to a line holding only ".";
//! ...                       each line gets a "\n". A line that starts with "." is written with
//! .                         one more "." (".." for "."). `stdout:` then `.` means empty.
//! stdout-contains: TEXT     TEXT (rest of the line, trimmed, no escapes) occurs (may repeat)
//! stdout-lines-in-order: A | B && C | D
//!                           some line contains A, a later line contains both B and C, a later
//!                           one D (items trimmed; repeated keys extend the same sequence)
//! stderr: / stderr-contains: / stderr-lines-in-order:    the same for stderr
//! ```
//!
//! A stream with no expectations is not checked. Unknown keys, a key before the first `case`,
//! an unterminated block and the like are harness errors: the run stops before testing anything.
//! Each case starts from xtask's own environment minus GODEBUG and GOMAXPROCS (so a developer's
//! shell does not leak in), or from nothing with env-clear; the runner's own variables (e.g.
//! WINEPREFIX) are added in both cases. Programs run with the workspace root as their directory.

use std::ffi::{OsStr, OsString};
use std::fs;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, RwLock};
use std::time::{Duration, Instant};

use super::case::{self, Case};
use super::loom::{loom_command, LOOM_DESCRIPTION};
use super::targets::{runner_command, setup, target, Inspect, Target, TARGETS};
use super::{cargo, cargo_build, check, compile_fail, doc_examples, e2e_programs, fuzz, inspect, is_root, root, run};
use super::{target_dir, Built, Fail, HOST, USAGE};

/// Whether `cargo xtask test` runs the loom checks (when it runs host unit tests).
/// Measured on a 2-core machine: the first build of loom and its dependencies in release mode
/// takes about 28 s, a warm run about 1 s, the three models finish in well under a second.
/// That is under the 60 s budget, so they are part of `test`.
const LOOM_IN_TEST: bool = true;

/// One line of the summary table (compile_fail.rs and doc_examples.rs make theirs too).
pub struct Row {
    pub what: String,
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    pub time: Duration,
    pub note: String,
}

impl Row {
    /// A row with nothing counted yet.
    fn empty(what: String) -> Row {
        Row { what, passed: 0, failed: 0, skipped: 0, time: Duration::ZERO, note: String::new() }
    }
}

/// What the run found so far: the summary rows and one line per failure.
#[derive(Default)]
struct Results {
    rows: Vec<Row>,
    failures: Vec<String>,
}

pub fn cmd_test(args: &[String]) -> Result<i32, Fail> {
    let mut triples: Vec<String> = Vec::new();
    let mut filters: Vec<String> = Vec::new();
    let mut release = false;
    let mut loom = LOOM_IN_TEST;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--target" => triples.push(it.next().ok_or("--target needs a value")?.clone()),
            "--filter" => filters.push(it.next().ok_or("--filter needs a value")?.clone()),
            "--release" => release = true,
            "--no-loom" => loom = false,
            s => return Err(format!("test: unknown argument {s:?}\n{USAGE}").into()),
        }
    }
    let targets: Vec<&Target> = if triples.is_empty() {
        TARGETS.iter().filter(|t| t.default_test).collect()
    } else {
        triples.iter().map(|t| target(t)).collect::<Result<_, _>>()?
    };
    let root = root();
    let started = Instant::now();

    // Read every case first: a bad case file stops the run before anything is built.
    let (all_cases, uncovered) = load_cases(&root)?;
    // Several --filter: a case runs if its id contains any of them (as in `stress`).
    let cases: Vec<&Case> = all_cases
        .iter()
        .filter(|c| filters.is_empty() || filters.iter().any(|f| c.id().contains(f.as_str())))
        .collect();
    if cases.is_empty() {
        return Err(format!("--filter {filters:?} matches no case").into());
    }

    setup(&root, &targets)?;

    let mut res = Results::default();
    if !targets.iter().any(|t| t.triple == HOST) {
        println!("== unit tests: not run ({HOST} is not among the selected targets)");
    } else if !filters.is_empty() {
        println!("== unit tests and loom: not run (--filter selects e2e cases only)");
    } else {
        host_steps(&root, loom, &mut res);
    }
    for t in &targets {
        e2e_target(&root, t, &cases, release, &mut res)?;
    }
    Ok(summary(started, &res, &uncovered))
}

/// Steps 1 to 3: unit tests, xtask's tests, fuzz smoke, loom, compile-fail, doc examples.
fn host_steps(root: &Path, loom: bool, res: &mut Results) {
    let steps: [(&str, Vec<&str>); 2] = [
        ("unit tests (gort --lib)", vec!["test", "-p", "gort", "--lib", "--features", "pprof,trace", "--target", HOST]),
        ("xtask self-tests", vec!["test", "-p", "xtask", "--target", HOST]),
    ];
    for (what, cargo_args) in steps {
        println!("== {what}: cargo {}", cargo_args.join(" "));
        let t0 = Instant::now();
        let ok = cargo(root).args(&cargo_args).status().map(|s| s.success()).unwrap_or(false);
        res.rows.push(entry_row(what, ok, t0.elapsed()));
        if !ok {
            res.failures.push(format!("{what}: failed (output above)"));
        }
    }
    println!("== fuzz smoke: {} executions per target (cargo xtask fuzz runs 10 M)", fuzz::SMOKE_EXECS);
    let t0 = Instant::now();
    let ok = fuzz::fuzz_command(fuzz::SMOKE_EXECS, None).status().map(|s| s.success()).unwrap_or(false);
    res.rows.push(entry_row("fuzz smoke (src/fuzz.rs)", ok, t0.elapsed()));
    if !ok {
        res.failures.push("fuzz smoke: failed (output above)".into());
    }
    if loom {
        println!("== loom: {}", LOOM_DESCRIPTION);
        let t0 = Instant::now();
        let ok = loom_command(root).status().map(|s| s.success()).unwrap_or(false);
        res.rows.push(entry_row("loom (runq, chan, spinning, trace)", ok, t0.elapsed()));
        if !ok {
            res.failures.push("loom: failed (output above)".into());
        }
    } else {
        println!("== loom: not run (--no-loom)");
    }
    for (row, fails) in [compile_fail::run(root, None), doc_examples::run(root, None)] {
        res.rows.push(row);
        res.failures.extend(fails);
    }
}

/// The targets whose e2e build includes tests/lines (the `traceback-lines` feature).
const LINES_TARGETS: [&str; 2] = ["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu"];

/// Builds the e2e programs for `triple`, and where tracebacks have line tables (linux amd64 and
/// arm64) the traceback program again with gort's `traceback-lines` feature (tests/lines): a
/// feature is per build, so it is a second one.
pub fn build_e2e(root: &Path, triple: &str, release: bool) -> Result<Built, String> {
    let mut built = cargo_build(root, &["-p", "gort-e2e", "--bins", "--keep-going"], triple, release)?;
    if LINES_TARGETS.contains(&triple) {
        let lines = cargo_build(root, &["-p", "gort-lines", "--bins"], triple, release)?;
        built.success &= lines.success;
        built.exes.extend(lines.exes);
    }
    Ok(built)
}

/// Step 4 for one target: build the e2e programs, check their ELF properties, run the cases.
fn e2e_target(root: &Path, t: &Target, cases: &[&Case], release: bool, res: &mut Results) -> Result<(), Fail> {
    let t0 = Instant::now();
    println!("== e2e {}: building", t.triple);
    let built = build_e2e(root, t.triple, release)?;
    if let Inspect::Elf { class, machine, entry } = t.inspect {
        elf_properties(t, &built, (class, machine, entry), res);
    }
    if t.triple == HOST {
        let (row, fails) = super::startup::run(root, &built);
        res.rows.push(row);
        res.failures.extend(fails);
    }
    let runnable = (t.runnable)(t);
    if runnable.is_ok() {
        (t.prepare)(root);
    }
    match &runnable {
        Ok(()) => println!("== e2e {}: running {} cases", t.triple, cases.len()),
        Err(why) => println!("== e2e {}: SKIPPING all {} cases: {why}", t.triple, cases.len()),
    }
    let mut row = Row::empty(format!("e2e {}", t.triple));
    // The cases run `e2e_jobs()` at a time (most of a case's time under qemu or wine is one emulated
    // thread, or sleeping); each case's lines are printed together when it ends.
    // Longest first, so the long ones (timers/order, timers/leak: most of a minute under qemu)
    // do not start last and run alone: the case's timeout stands for its length.
    let mut cases: Vec<&Case> = cases.to_vec();
    cases.sort_by_key(|c| std::cmp::Reverse(c.timeout));
    let next = AtomicUsize::new(0);
    let shared = Mutex::new((&mut row, &mut res.failures));
    std::thread::scope(|s| {
        for _ in 0..e2e_jobs() {
            s.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(case) = cases.get(i) else { break };
                let result = e2e_case(root, t, case, &built, &runnable);
                let mut guard = shared.lock().unwrap_or_else(|e| e.into_inner());
                let (row, failures) = &mut *guard;
                print!("{}", result.lines);
                match result.verdict {
                    Verdict::NotCounted => {}
                    Verdict::Passed => row.passed += 1,
                    Verdict::Skipped { counted_note } => {
                        row.skipped += 1;
                        if counted_note && row.note.is_empty() {
                            row.note = "some cases SKIPPED (reasons above)".into();
                        }
                    }
                    Verdict::Failed(why) => {
                        row.failed += 1;
                        failures.push(why);
                    }
                }
            });
        }
    });
    if let Err(why) = runnable {
        row.note = format!("SKIPPED: {why}");
    } else if !built.success {
        row.note = "some programs did not build".into();
    }
    row.time = t0.elapsed();
    res.rows.push(row);
    Ok(())
}

/// The hardening properties (static, no PT_INTERP/DT_NEEDED, non-executable stack, entry = rt0)
/// of every program just built, asserted with readelf (inspect::elf); `elf` is the target's
/// class, machine and entry symbol.
fn elf_properties(t: &Target, built: &Built, elf: (&str, &str, &str), res: &mut Results) {
    let (class, machine, entry) = elf;
    let t1 = Instant::now();
    let mut row = Row::empty(format!("elf properties {}", t.triple));
    let mut exes: Vec<(&String, &PathBuf)> = built.exes.iter().collect();
    exes.sort();
    for (prog, exe) in exes {
        let (problems, _) = inspect::elf(exe, class, machine, entry);
        if problems.is_empty() {
            row.passed += 1;
        } else {
            println!("FAIL elf {prog} ({}): {}", t.triple, problems.join("; "));
            res.failures.push(format!("{} elf {prog}: {}", t.triple, problems[0]));
            row.failed += 1;
        }
    }
    println!("== elf properties {}: {} programs checked, {} failed", t.triple, row.passed + row.failed, row.failed);
    row.time = t1.elapsed();
    res.rows.push(row);
}

/// How many e2e cases run at once: `GORT_E2E_JOBS` if set (1 runs them one after another),
/// else the number of CPUs. Cases share nothing but the machine: a case's files are its own
/// (pprof outputs, the secure-exec copy), servers listen on port 0, and a wine server restart
/// waits for the cases in flight (`run_case_once`).
fn e2e_jobs() -> usize {
    match std::env::var("GORT_E2E_JOBS").ok().and_then(|v| v.parse::<usize>().ok()) {
        Some(n) if n > 0 => n,
        _ => std::thread::available_parallelism().map_or(1, |n| n.get()),
    }
}

/// What one case came to on one target.
enum Verdict {
    /// Another OS's `only-on` case: not run, not counted.
    NotCounted,
    Passed,
    /// Not run; `counted_note`: the row gets the "some cases SKIPPED" note (a skip of the case,
    /// not of the whole target).
    Skipped {
        counted_note: bool,
    },
    /// The line for the failure list.
    Failed(String),
}

/// A case's verdict and the lines it prints (PASS/FAIL/SKIPPED and the reasons).
struct CaseResult {
    verdict: Verdict,
    lines: String,
}

/// One case on one target: not counted (another OS's `only-on`), FAIL (not built), SKIPPED
/// (target not runnable here, `skip-on`, secure-exec's needs), or run: PASS/FAIL.
fn e2e_case(root: &Path, t: &Target, case: &Case, built: &Built, runnable: &Result<(), String>) -> CaseResult {
    let done = |verdict, lines| CaseResult { verdict, lines };
    if !case.only_on.is_empty() && !case.only_on.iter().any(|tr| tr == t.triple) {
        return done(Verdict::NotCounted, String::new());
    }
    let id = case.id();
    let Some(exe) = built.exes.get(&case.prog) else {
        return done(
            Verdict::Failed(format!("{} {id}: build failed", t.triple)),
            format!(
                "FAIL {id} (0 ms)\n    build failed: cargo produced no {} binary for {} (errors above)\n",
                case.prog, t.triple
            ),
        );
    };
    if let Err(why) = runnable {
        return done(Verdict::Skipped { counted_note: false }, format!("SKIPPED {id} ({why})\n"));
    }
    if let Some(why) = case_skip(t, case) {
        return done(Verdict::Skipped { counted_note: true }, format!("SKIPPED {id} ({why})\n"));
    }
    let (problems, ms) = run_case(root, t, exe, case);
    if problems.is_empty() {
        return done(Verdict::Passed, format!("PASS {id} ({ms} ms)\n"));
    }
    let mut lines = format!("FAIL {id} ({ms} ms)\n");
    for p in &problems {
        lines.push_str(&format!("    {}\n", p.trim_start()));
    }
    done(Verdict::Failed(format!("{} {id}: {}", t.triple, problems[0].lines().next().unwrap_or(""))), lines)
}

/// Prints the summary table, the failures, the warnings and the final count; returns the exit
/// status.
fn summary(started: Instant, res: &Results, uncovered: &[String]) -> i32 {
    println!();
    println!("== summary ({:.1} s)", started.elapsed().as_secs_f64());
    println!("{:<44} {:>6} {:>6} {:>7} {:>8}  note", "what", "passed", "failed", "skipped", "time");
    for r in &res.rows {
        println!(
            "{:<44} {:>6} {:>6} {:>7} {:>7.1}s  {}",
            r.what,
            r.passed,
            r.failed,
            r.skipped,
            r.time.as_secs_f64(),
            r.note
        );
    }
    if !res.failures.is_empty() {
        println!("failures:");
        for f in &res.failures {
            println!("  {f}");
        }
    }
    let passed: usize = res.rows.iter().map(|r| r.passed).sum();
    let failed: usize = res.rows.iter().map(|r| r.failed).sum();
    let skipped: usize = res.rows.iter().map(|r| r.skipped).sum();
    if !uncovered.is_empty() {
        println!(
            "WARNING: {} e2e programs have no case file and were not run: {}",
            uncovered.len(),
            uncovered.join(", ")
        );
    }
    if skipped > 0 {
        println!("WARNING: {skipped} cases were SKIPPED (not run, not passed): see the note column above");
        println!("{passed} passed, {failed} failed, {skipped} skipped");
    } else {
        println!("{passed} passed, {failed} failed");
    }
    if failed > 0 {
        1
    } else {
        0
    }
}

fn entry_row(what: &str, ok: bool, time: Duration) -> Row {
    Row { what: what.into(), passed: ok as usize, failed: !ok as usize, skipped: 0, time, note: String::new() }
}

/// Why `case` cannot run on `t` here (its `skip-on` lines, secure-exec's needs), if it cannot.
pub fn case_skip(t: &Target, case: &Case) -> Option<String> {
    if let Some((_, why)) = case.skip_on.iter().find(|(tr, _)| tr == t.triple) {
        return Some(format!("skip-on {}: {why}", t.triple));
    }
    if let Some(f) = case.needs_cpu.iter().find(|f| case::host_cpu_has(f) != Some(true)) {
        return Some(format!("this machine's CPU lacks {f} (needs-cpu)"));
    }
    if let Some((ma, mi)) = case.needs_linux {
        match case::host_linux_version() {
            Some(v) if v >= (ma, mi) => {}
            v => {
                let have = v.map_or("no linux kernel version".to_string(), |(a, b)| format!("linux {a}.{b}"));
                return Some(format!("needs linux {ma}.{mi}, this machine runs {have} (needs-linux)"));
            }
        }
    }
    if case.secure_exec && !t.runner.is_empty() {
        return Some(
            "secure-exec needs a native run: under an emulator the kernel execs the emulator, not the setgid program"
                .into(),
        );
    }
    if case.secure_exec && !is_root() {
        return Some("secure-exec needs root to make the setgid copy".into());
    }
    None
}

/// Runs one case; returns its problems (empty: passed) and its run time in ms.
pub fn run_case(root: &Path, t: &Target, exe: &Path, case: &Case) -> (Vec<String>, u128) {
    run_case_once(root, t, exe, case, WINE_RETRIES)
}

/// Cases in flight hold it shared; restarting a runner's server (wine's) holds it alone.
static RUNNER_RESTART: RwLock<()> = RwLock::new(());

/// How many times a case that failed with wine's own infrastructure error is run again.
const WINE_RETRIES: u32 = 2;

/// run_case; `retries`: how many more times a wine infrastructure failure may be retried.
fn run_case_once(root: &Path, t: &Target, exe: &Path, case: &Case, retries: u32) -> (Vec<String>, u128) {
    // Held while the case runs: a wine server restart (below) takes it exclusively, so it waits
    // for the other cases in flight instead of pulling the server from under them.
    let running = RUNNER_RESTART.read().unwrap_or_else(|e| e.into_inner());
    let secure_copy;
    let exe = if case.secure_exec {
        match setgid_copy(root, exe, &case.name) {
            Ok(p) => {
                secure_copy = p;
                secure_copy.as_path()
            }
            Err(e) => return (vec![format!("secure-exec: {e}")], 0),
        }
    } else {
        exe
    };
    let mut c = runner_command(t, exe);
    c.args(case.args.iter().map(|a| OsString::from_vec(a.clone()))).current_dir(root);
    if case.env_clear {
        c.env_clear();
    } else {
        c.env_remove("GODEBUG").env_remove("GOMAXPROCS");
    }
    c.envs((t.runner_env)(root));
    for (k, v) in &case.env {
        c.env(OsString::from_vec(k.clone()), OsString::from_vec(v.clone()));
    }
    for k in &case.env_unset {
        c.env_remove(OsString::from_vec(k.clone()));
    }
    let companion = match &case.companion {
        None => None,
        Some(words) => match companion_exe(root) {
            Ok(exe) => Some(run::Companion {
                exe,
                args: words.iter().map(|w| OsString::from_vec(w.clone())).collect(),
                stop_program: case.exit_companion,
            }),
            Err(e) => return (vec![format!("companion: {e}")], 0),
        },
    };
    for (file, _) in &case.pprof {
        let _ = std::fs::remove_file(root.join(OsStr::from_bytes(file)));
    }
    match run::run_with_companion(c, case.timeout, case.stdin.as_deref(), companion) {
        Ok(mut out) => {
            for (file, flags) in &case.pprof {
                match pprof_top(root, file, flags) {
                    Ok(text) => out.stdout.extend_from_slice(&text),
                    Err(e) => return (vec![format!("pprof: {e}")], 0),
                }
            }
            if case.symbolize {
                match symbolize(exe, &out.stderr) {
                    Ok(s) => out.stderr = s,
                    Err(e) => return (vec![format!("symbolize: {e}")], 0),
                }
            }
            let problems = check::check(case, &out);
            if !problems.is_empty() && t.runner.first() == Some(&"wine") && retries > 0 {
                if let Some(line) = wine_infrastructure_failure(case, &out) {
                    // Not the program's doing: wine's own client/server plumbing failed (the
                    // client lost its wineserver). Said loudly; the server is started again
                    // (the target's prepare step) and the case run again; the last failure counts.
                    println!("RETRY {} ({}): wine infrastructure failure: {line}", case.id(), t.triple);
                    drop(running);
                    {
                        let _alone = RUNNER_RESTART.write().unwrap_or_else(|e| e.into_inner());
                        (t.prepare)(root);
                    }
                    return run_case_once(root, t, exe, case, retries - 1);
                }
            }
            (problems, out.elapsed.as_millis())
        }
        Err(e) => (vec![format!("could not start {}: {e}", exe.display())], 0),
    }
}

/// The companion client (tests/companion, std, built for the host once per xtask run): whatever
/// the target, it runs natively beside the program under test.
pub fn companion_exe(root: &Path) -> Result<PathBuf, String> {
    static EXE: std::sync::OnceLock<Result<PathBuf, String>> = std::sync::OnceLock::new();
    EXE.get_or_init(|| {
        let built = cargo_build(root, &["-p", "gort-companion", "--bin", "companion"], HOST, true)?;
        match built.exes.get("companion") {
            Some(e) if built.success => Ok(e.clone()),
            _ => Err("building tests/companion for the host failed (errors above)".into()),
        }
    })
    .clone()
}

/// The `pprof` key (see the module doc): `go tool pprof -top FLAGS FILE`'s output after a
/// `pprof FILE FLAGS:` line. Errors if the file is missing or pprof fails.
fn pprof_top(root: &Path, file: &[u8], flags: &[Vec<u8>]) -> Result<Vec<u8>, String> {
    let path = root.join(OsStr::from_bytes(file));
    let shown = String::from_utf8_lossy(file);
    if !path.exists() {
        return Err(format!("{shown}: the program wrote no profile there"));
    }
    let mut c = std::process::Command::new("go");
    c.args(["tool", "pprof", "-top"]).args(flags.iter().map(|f| OsStr::from_bytes(f))).arg(&path);
    let out = c.output().map_err(|e| format!("go tool pprof: {e} (Debian: apt-get install golang-go)"))?;
    if !out.status.success() {
        return Err(format!("go tool pprof -top {shown} failed: {}", String::from_utf8_lossy(&out.stderr)));
    }
    let mut text = format!(
        "pprof {shown}{}:\n",
        flags.iter().map(|f| format!(" {}", String::from_utf8_lossy(f))).collect::<String>()
    )
    .into_bytes();
    text.extend_from_slice(&out.stdout);
    Ok(text)
}

/// The `symbolize` key (see the module doc): `?()` + `\tPATH+0xADDR` pairs in `stderr` become
/// `NAME(...) [symbolized]` + the same location line, NAME from llvm-symbolizer on `exe`
/// (`--relative-address` for a PE, whose ADDR is an RVA). Errors if llvm-symbolizer cannot run.
fn symbolize(exe: &Path, stderr: &[u8]) -> Result<Vec<u8>, String> {
    let text = String::from_utf8_lossy(stderr);
    let lines: Vec<&str> = text.split('\n').collect();
    let addr_of = |l: &str| -> Option<String> {
        let l = l.strip_prefix('\t')?;
        let hex = &l[l.rfind("+0x")? + 3..];
        (!hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit())).then(|| format!("0x{hex}"))
    };
    let wanted: Vec<(usize, String)> = (0..lines.len().saturating_sub(1))
        .filter(|&i| lines[i] == "?()")
        .filter_map(|i| addr_of(lines[i + 1]).map(|a| (i, a)))
        .collect();
    if wanted.is_empty() {
        return Ok(stderr.to_vec());
    }
    let mut c = std::process::Command::new("llvm-symbolizer");
    c.arg(format!("--obj={}", exe.display())).args(["--functions=linkage", "--demangle", "--no-inlines"]);
    if exe.extension().is_some_and(|e| e == "exe") {
        c.arg("--relative-address");
    }
    c.args(wanted.iter().map(|(_, a)| a));
    let out = c.output().map_err(|e| format!("llvm-symbolizer: {e} (install llvm)"))?;
    if !out.status.success() {
        return Err(format!("llvm-symbolizer: {}", String::from_utf8_lossy(&out.stderr)));
    }
    // Three lines per address: function (empty when unknown), location, blank.
    let stdout = String::from_utf8_lossy(&out.stdout);
    let out_lines: Vec<&str> = stdout.lines().collect();
    let names: Vec<String> = out_lines
        .chunks(3)
        .map(|b| {
            let f = b[0];
            // Rust's legacy mangling leaves the hash in the demangled name: drop it, as the
            // runtime does on linux.
            match f.rsplit_once("::h") {
                Some((head, h)) if h.len() == 16 && h.bytes().all(|b| b.is_ascii_hexdigit()) => head.to_string(),
                _ => f.to_string(),
            }
        })
        .collect();
    if names.len() != wanted.len() {
        return Err(format!("llvm-symbolizer gave {} names for {} addresses", names.len(), wanted.len()));
    }
    if let Some(((_, addr), _)) = wanted.iter().zip(&names).find(|(_, n)| n.is_empty() || n.starts_with("??")) {
        return Err(format!(
            "llvm-symbolizer names nothing at {addr} in {}: no debug info for it (a --release build's PDB \
             has none: `symbolize` cases need the dev profile)\n{}",
            exe.display(),
            String::from_utf8_lossy(stderr)
        ));
    }
    let mut lines: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    for ((i, _), name) in wanted.iter().zip(names) {
        lines[*i] = format!("{name}(...) [symbolized]");
    }
    Ok(lines.join("\n").into_bytes())
}

/// What says wine itself failed (not the program), if anything: a line of wine's own stderr
/// (`wine client error:NNN: ...`, its connection to wineserver broke; `wine: ...` startup
/// failures; `wineserver: ...`), or a silent death: exit 0 or 1 with nothing on stdout or stderr
/// when the case expects output. gort never ends that way (its failures exit 2 with a report,
/// and every program under test prints before it can fail), while a wine client that loses its
/// server while starting does exactly that (seen by stopping the server during a case's start).
fn wine_infrastructure_failure(case: &Case, out: &run::Outcome) -> Option<String> {
    let line = String::from_utf8_lossy(&out.stderr)
        .lines()
        .find(|l| l.starts_with("wine client error:") || l.starts_with("wine: ") || l.starts_with("wineserver: "))
        .map(str::to_string);
    let silent = out.stdout.is_empty()
        && out.stderr.is_empty()
        && !out.timed_out
        && matches!(out.status.and_then(|s| s.code()), Some(0 | 1))
        && case.expects_output();
    line.or_else(|| silent.then(|| format!("the program {} with no output at all", out.describe_status())))
}

/// Copies `exe` to target/secure-exec/EXE-CASE as a setgid-nogroup executable: run by root (gid
/// 0) its effective gid differs from the real one, so the kernel passes AT_SECURE=1 in the auxv.
/// One copy per case: cases run at once (`e2e_jobs`).
fn setgid_copy(root: &Path, exe: &Path, case: &str) -> Result<PathBuf, String> {
    use std::os::unix::fs::PermissionsExt;
    const NOGROUP: u32 = 65534;
    let dir = target_dir(root).join("secure-exec");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut name = exe.file_name().ok_or("no file name")?.to_os_string();
    name.push(format!("-{case}"));
    let dst = dir.join(name);
    let _ = std::fs::remove_file(&dst);
    std::fs::copy(exe, &dst).map_err(|e| format!("copy to {}: {e}", dst.display()))?;
    std::os::unix::fs::chown(&dst, Some(0), Some(NOGROUP)).map_err(|e| format!("chown {}: {e}", dst.display()))?;
    // chmod after chown: chown clears the setgid bit.
    std::fs::set_permissions(&dst, std::fs::Permissions::from_mode(0o2755))
        .map_err(|e| format!("chmod g+s {}: {e}", dst.display()))?;
    Ok(dst)
}

/// The examples tests/e2e builds again as e2e programs (`[[bin]] path = "../../examples/..."`),
/// so their smoke cases run on every target like any other case.
pub const EXAMPLE_PROGRAMS: [&str; 2] = ["example_echo", "example_http_hello"];

/// Every case of tests/e2e/cases, checked against the programs that exist, and the programs that
/// have no case file (built, but not run: reported as a warning, since a program may land before
/// its cases do).
pub fn load_cases(root: &Path) -> Result<(Vec<Case>, Vec<String>), String> {
    let mut programs = e2e_programs(root)?;
    // tests/lines builds traceback.rs and pprof.rs again as `traceback_lines` and `pprof_lines`
    // (the traceback-lines feature).
    programs.extend(["traceback_lines", "pprof_lines"].map(String::from));
    // tests/e2e builds examples/echo.rs and examples/http_hello.rs as `example_<name>`.
    programs.extend(EXAMPLE_PROGRAMS.iter().map(|p| p.to_string()));
    let dir = root.join("tests/e2e/cases");
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "case"))
        .collect();
    files.sort();
    let mut cases = Vec::new();
    let mut problems = Vec::new();
    let mut with_cases = Vec::new();
    for f in &files {
        let prog = f.file_stem().unwrap().to_string_lossy().into_owned();
        let rel = f.strip_prefix(root).unwrap_or(f).display().to_string();
        if !programs.contains(&prog) {
            problems.push(format!("{rel}: there is no program tests/e2e/src/bin/{prog}.rs"));
            continue;
        }
        let text = fs::read_to_string(f).map_err(|e| format!("{rel}: {e}"))?;
        match case::parse_file(&prog, &rel, &text) {
            Ok(c) => cases.extend(c),
            Err(e) => problems.push(e),
        }
        with_cases.push(prog);
    }
    let uncovered: Vec<String> = programs.iter().filter(|p| !with_cases.contains(p)).cloned().collect();
    if problems.is_empty() {
        Ok((cases, uncovered))
    } else {
        Err(format!("bad e2e cases:\n  {}", problems.join("\n  ")))
    }
}

/// Runs one self-contained harness (compile-fail, doc examples) as a summary row: `inner` counts
/// into the row and lists failures; a harness error counts as one failure.
pub fn harness_row(
    what: &str,
    label: &str,
    inner: impl FnOnce(&mut Row, &mut Vec<String>) -> Result<(), String>,
) -> (Row, Vec<String>) {
    let t0 = std::time::Instant::now();
    let mut row =
        Row { what: what.into(), passed: 0, failed: 0, skipped: 0, time: Duration::ZERO, note: String::new() };
    let mut failures = Vec::new();
    if let Err(e) = inner(&mut row, &mut failures) {
        println!("FAIL {label}: harness error: {e}");
        row.failed += 1;
        failures.push(format!("{label}: harness error: {e}"));
    }
    row.time = t0.elapsed();
    (row, failures)
}

#[cfg(test)]
mod tests {
    use super::wine_infrastructure_failure;
    use crate::case::parse_file;
    use crate::run::Outcome;
    use std::os::unix::process::ExitStatusExt;
    use std::process::ExitStatus;
    use std::time::Duration;

    fn outcome(code: i32, stdout: &[u8], stderr: &[u8]) -> Outcome {
        Outcome {
            status: Some(ExitStatus::from_raw(code << 8)),
            stdout: stdout.to_vec(),
            stderr: stderr.to_vec(),
            timed_out: false,
            elapsed: Duration::ZERO,
            pipes_left_open: false,
            companion: None,
            stopped_after_companion: false,
        }
    }

    #[test]
    fn wine_infrastructure_failures_are_recognised() {
        let cases =
            parse_file("p", "p.case", "case prints\nexit: 2\nstdout:\nstart\n.\n\ncase silent\nexit: 3\n").unwrap();
        let (prints, silent) = (&cases[0], &cases[1]);
        let found = |c, code, o: &[u8], e: &[u8]| wine_infrastructure_failure(c, &outcome(code, o, e));
        assert_eq!(found(prints, 2, b"", b"wine client error:3d0: ").as_deref(), Some("wine client error:3d0: "));
        assert!(found(prints, 2, b"", b"hello\nwineserver: could not connect\n").is_some());
        assert!(found(prints, 2, b"start\n", b"panic: boom\n").is_none());
        // A client that lost its server exits 1 (or 0) having printed nothing.
        assert!(found(prints, 1, b"", b"").is_some());
        assert!(found(prints, 0, b"", b"").is_some());
        // Not when something was printed, the program's own exit code, or nothing was expected.
        assert!(found(prints, 1, b"start\n", b"").is_none());
        assert!(found(prints, 2, b"", b"").is_none());
        assert!(found(silent, 1, b"", b"").is_none());
    }
}
