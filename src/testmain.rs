//! The test harness behind [`crate::test_main!`]: Go's testing.M (`go test`'s generated
//! `_testmain.go` calling `testing.MainStart(...).Run()`, testing/testing.go's `runTests`),
//! printing libtest's lines so `cargo test` reads it as any other test target.
//!
//! A test target built with `harness = false` is a gort program whose `main` is [`main`]. Run with
//! no internal flag it is the *supervisor*: it lists the tests the name filters select and runs
//! each one in a child process of its own (the same executable, `--gort-run-one NAME`), one after
//! the other, printing `test NAME ... ok` or `... FAILED` as each ends and libtest's closing
//! `test result:` line; it exits 101 (libtest's code) if any failed. The child runs the test as a
//! goroutine and exits 0 when it returns; a panic (panic = abort), a fatal error or a stack
//! overflow ends only that child, with its report on stderr, so a failing test never hides the
//! others.
//!
//! Children are started the way the target allows (`exec_<os>.rs`): linux forks and executes
//! `/proc/self/exe`; under qemu-user without binfmt_misc the kernel refuses the foreign binary
//! (ENOEXEC), so the child executes `qemu-<arch>` from `PATH` with the binary instead (qemu
//! emulates `/proc/self/exe`, so the path is the guest binary's). windows (and wine) use
//! CreateProcessW on the module's own path. Where no child can be started (darwin here, or a
//! failed spawn), every test runs in this process, in turn, each as a goroutine: the first panic
//! then ends the run, which the harness says before it starts.
//!
//! Accepted arguments (libtest's): name filters (substring, any of them; `--exact` for whole
//! names), `--skip S`, `--list`, `--ignored`, `--include-ignored`; `--nocapture`, `--quiet`/`-q`,
//! `--test-threads N`, `--color X`, `--format X`, `--show-output` are accepted and ignored (output
//! is never captured: a test's prints appear above its result line; tests run one at a time).
use alloc::string::String;
use alloc::vec::Vec;

#[cfg_attr(target_os = "linux", path = "testmain/exec_linux.rs")]
#[cfg_attr(windows, path = "testmain/exec_windows.rs")]
#[cfg_attr(not(any(target_os = "linux", windows)), path = "testmain/exec_none.rs")]
mod exec;

/// One test function, as [`crate::test_main!`] lists it.
#[derive(Debug, Clone, Copy)]
pub struct Test {
    /// The function's name, what filters match.
    pub name: &'static str,
    /// Runs the test: returns normally when it passes, panics when it fails.
    pub f: fn(),
    /// Marked `#[ignore]`: listed, run only with `--ignored` or `--include-ignored`.
    pub ignore: bool,
}

/// What a test function may return: `()`, or a `Result` whose `Err` fails the test (libtest's
/// `Termination` for tests).
pub trait TestResult {
    /// Panics if the value is a failure.
    fn check(self);
}

impl TestResult for () {
    fn check(self) {}
}

impl<E: core::fmt::Debug> TestResult for Result<(), E> {
    fn check(self) {
        if let Err(e) = self {
            panic!("the test returned an error: {e:?}");
        }
    }
}

/// How a child's run of one test ended.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Exit {
    /// Exited with this status (0 = passed).
    Code(i32),
    /// Killed by this signal (linux: only exec_linux.rs makes it).
    #[cfg_attr(not(target_os = "linux"), allow(dead_code))]
    Signal(i32),
}

/// The internal flag that makes the executable run one test in-process.
const RUN_ONE: &str = "--gort-run-one";

/// The options a run was given.
#[derive(Debug, Default)]
struct Opts {
    filters: Vec<String>,
    skip: Vec<String>,
    exact: bool,
    list: bool,
    ignored: bool,
    include_ignored: bool,
    run_one: Option<String>,
}

fn parse(args: &[&[u8]]) -> Result<Opts, String> {
    let mut o = Opts::default();
    let mut it = args.iter().skip(1).map(|a| String::from_utf8_lossy(a).into_owned());
    while let Some(a) = it.next() {
        match a.as_str() {
            "--list" => o.list = true,
            "--exact" => o.exact = true,
            "--ignored" => o.ignored = true,
            "--include-ignored" => o.include_ignored = true,
            "--nocapture" | "--quiet" | "-q" | "--show-output" | "--test" => {}
            "--test-threads" | "--color" | "--format" | "-Z" => {
                it.next();
            }
            "--skip" => o.skip.push(it.next().ok_or("--skip needs a value")?),
            RUN_ONE => o.run_one = Some(it.next().ok_or("--gort-run-one needs a test name")?),
            s if s.starts_with("--test-threads=") || s.starts_with("--color=") || s.starts_with("--format=") => {}
            s if s.starts_with("--skip=") => o.skip.push(String::from(&s[7..])),
            s if s.starts_with('-') => return Err(alloc::format!("unknown option {s:?}")),
            _ => o.filters.push(a),
        }
    }
    Ok(o)
}

/// Whether `name` is selected by the filters and not skipped (libtest's filter_tests).
fn selected(o: &Opts, name: &str) -> bool {
    let m = |p: &String| if o.exact { name == p.as_str() } else { name.contains(p.as_str()) };
    (o.filters.is_empty() || o.filters.iter().any(m)) && !o.skip.iter().any(m)
}

/// The harness's entry: runs as goroutine 1 of a test target (see the module doc). Never returns.
pub fn main(tests: &[Test]) -> ! {
    let o = match parse(crate::os::args()) {
        Ok(o) => o,
        Err(e) => {
            crate::eprintln!("error: {e}");
            crate::os::exit(101)
        }
    };
    if let Some(name) = &o.run_one {
        let Some(t) = tests.iter().find(|t| t.name == name.as_str()) else {
            crate::eprintln!("error: no test named {name:?}");
            crate::os::exit(101)
        };
        run_in_process(t);
        crate::os::exit(0)
    }
    let chosen: Vec<&Test> = tests.iter().filter(|t| selected(&o, t.name)).collect();
    let filtered_out = tests.len() - chosen.len();
    if o.list {
        for t in &chosen {
            crate::println!("{}: test", t.name);
        }
        crate::println!("\n{} tests, 0 benchmarks", chosen.len());
        crate::os::exit(0)
    }
    let start = crate::time::Instant::now();
    crate::println!("\nrunning {} test{}", chosen.len(), if chosen.len() == 1 { "" } else { "s" });
    let (mut passed, mut ignored) = (0usize, 0usize);
    let mut failed: Vec<&str> = Vec::new();
    let mut in_process = false;
    for t in chosen {
        let run = if o.ignored { t.ignore } else { !t.ignore || o.include_ignored };
        if !run {
            crate::println!("test {} ... ignored", t.name);
            ignored += 1;
            continue;
        }
        let exit = if in_process {
            None
        } else {
            match exec::run_child(t.name) {
                Ok(e) => Some(e),
                Err(why) => {
                    crate::println!(
                        "note: gort's test harness cannot start a child process here ({why}): the remaining tests run in this process, one after the other, and the first one that panics ends the run"
                    );
                    in_process = true;
                    None
                }
            }
        };
        let exit = exit.unwrap_or_else(|| {
            run_in_process(t);
            Exit::Code(0)
        });
        match exit {
            Exit::Code(0) => {
                crate::println!("test {} ... ok", t.name);
                passed += 1;
            }
            Exit::Code(c) => {
                crate::println!("test {} ... FAILED (exit status {c})", t.name);
                failed.push(t.name);
            }
            Exit::Signal(s) => {
                crate::println!("test {} ... FAILED (signal {s})", t.name);
                failed.push(t.name);
            }
        }
    }
    if !failed.is_empty() {
        crate::println!("\nfailures:");
        for name in &failed {
            crate::println!("    {name}");
        }
    }
    let secs = start.elapsed().as_millis() as f64 / 1000.0;
    crate::println!(
        "\ntest result: {}. {} passed; {} failed; {} ignored; 0 measured; {} filtered out; finished in {:.2}s\n",
        if failed.is_empty() { "ok" } else { "FAILED" },
        passed,
        failed.len(),
        ignored,
        filtered_out,
        secs
    );
    crate::os::exit(if failed.is_empty() { 0 } else { 101 })
}

/// Runs `t` as a goroutine of this process and waits for it (a failure ends the process).
fn run_in_process(t: &Test) {
    let (tx, rx) = crate::chan::<()>(0);
    let f = t.f;
    crate::go(move || {
        f();
        let _ = tx.send(());
    });
    let _ = rx.recv();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(args: &[&str]) -> Opts {
        let v: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        parse(&v).unwrap()
    }

    #[test]
    fn filters_and_flags() {
        let o = opts(&["bin", "chan", "--skip", "chan_close", "--nocapture", "--test-threads", "1"]);
        assert!(selected(&o, "chan_send"));
        assert!(!selected(&o, "chan_close"));
        assert!(!selected(&o, "select"));
        let o = opts(&["bin", "--exact", "chan"]);
        assert!(selected(&o, "chan") && !selected(&o, "chan_send"));
        let o = opts(&["bin", "--list"]);
        assert!(o.list && selected(&o, "anything"));
        let o = opts(&["bin", RUN_ONE, "t1"]);
        assert_eq!(o.run_one.as_deref(), Some("t1"));
        let v: Vec<&[u8]> = ["bin", "--bogus"].iter().map(|a| a.as_bytes()).collect();
        assert!(parse(&v).is_err());
    }
}
