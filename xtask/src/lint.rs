//! `cargo xtask lint [--target T]...`: clippy with `-D warnings` and rustdoc with `-Dwarnings`.
//!
//! 1. `cargo clippy --workspace --all-targets --target x86_64-unknown-linux-gnu -- -D warnings`
//!    (gort with its unit tests and examples, gort-mem, xtask, the e2e and bench programs). A
//!    gort program cannot be built as a std test harness (E0152, duplicate `panic_impl`), so each
//!    e2e/bench program has `test = false` in its Cargo.toml; a step failing that way says so;
//! 2. `cargo clippy -p gort -p gort-e2e --target T -- -D warnings` for every other target of
//!    `build-all` (linux arm64/arm, windows amd64/arm64/arm, darwin amd64/arm64): the code behind
//!    each target's `cfg`s. The tier-3 windows/arm target is linted as build-all builds it
//!    (`RUSTC_BOOTSTRAP=1 -Zbuild-std=core,alloc`, core and alloc built from rust-src);
//!    On the host also gort's harness = false test targets (tests/runtime.rs,
//!    tests/harness_demo.rs: `test = false`, so not in `--all-targets`), with panic=abort in the
//!    target's rustflags and `target/harness`, as `cargo xtask usercrate` builds them;
//! 3. `RUSTDOCFLAGS=-Dwarnings cargo doc --no-deps -p gort --target x86_64-unknown-linux-gnu`
//!    (broken intra-doc links, bad HTML, unclosed code blocks...).
//!
//! `--target T` limits the run to those targets (the host target means steps 1 and 3). Prints a
//! PASS/FAIL line per step with its time, then a table; exit status 1 when any step failed.
//! Every clippy step runs with `--keep-going`, so one broken program does not hide the others.
//!
//! Measured on a 2-core machine, cold target directory (toolchain and rust-std installed, xtask
//! built): 83 s for the steps: workspace clippy 22 s, each tier-2 cross target 4-4.5 s,
//! windows/arm 34 s (core and alloc built from rust-src), rustdoc 3 s. Warm (nothing changed):
//! about 3 s in all.

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::targets::{rustup_targets, setup, target, target_env, Target, TARGETS};
use super::{cargo, root, Fail, HOST, USAGE};

/// One lint step.
struct Step {
    what: String,
    /// The command as a user would type it.
    shown: String,
    cmd: Command,
}

/// The steps for the selected targets.
fn steps(targets: &[&Target]) -> Result<Vec<Step>, String> {
    let root = root();
    let mut out = Vec::new();
    let host = targets.iter().any(|t| t.triple == HOST);
    if host {
        let mut c = cargo(&root);
        c.args(["clippy", "--keep-going", "--workspace", "--all-targets", "--target", HOST, "--", "-D", "warnings"]);
        out.push(Step {
            what: format!("clippy workspace --all-targets {HOST}"),
            shown: format!("cargo clippy --keep-going --workspace --all-targets --target {HOST} -- -D warnings"),
            cmd: c,
        });
    }
    if host {
        // gort's harness = false test targets (test = false, so not in --all-targets): built as
        // `cargo xtask usercrate` builds them, panic=abort in rustflags and their own target dir.
        let mut c = cargo(&root);
        c.args(["clippy", "-p", "gort", "--test", "runtime", "--test", "harness_demo", "--target", HOST])
            .env("CARGO_TARGET_DIR", super::target_dir(&root).join("harness"))
            .env("CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS", "-Cpanic=abort")
            .args(["--", "-D", "warnings"]);
        out.push(Step {
            what: format!("clippy gort harness tests {HOST}"),
            shown: format!(
                "CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS=-Cpanic=abort cargo clippy -p gort --test runtime --test harness_demo --target {HOST} -- -D warnings"
            ),
            cmd: c,
        });
    }
    for t in targets.iter().filter(|t| t.triple != HOST) {
        let mut c = cargo(&root);
        c.args(["clippy", "--keep-going", "-p", "gort", "-p", "gort-e2e", "--target", t.triple]);
        target_env(&mut c, &root, t.triple)?;
        c.args(["--", "-D", "warnings"]);
        let zflag = if t.build_std { "RUSTC_BOOTSTRAP=1 " } else { "" };
        let bflag = if t.build_std { " -Zbuild-std=core,alloc" } else { "" };
        out.push(Step {
            what: format!("clippy gort, gort-e2e {}", t.triple),
            shown: format!(
                "{zflag}cargo clippy --keep-going -p gort -p gort-e2e --target {}{bflag} -- -D warnings",
                t.triple
            ),
            cmd: c,
        });
    }
    if host {
        let mut c = cargo(&root);
        c.args(["doc", "--no-deps", "-p", "gort", "--target", HOST])
            .env("RUSTDOCFLAGS", "-Dwarnings")
            .env_remove("CARGO_ENCODED_RUSTDOCFLAGS");
        out.push(Step {
            what: format!("rustdoc gort {HOST}"),
            shown: format!("RUSTDOCFLAGS=-Dwarnings cargo doc --no-deps -p gort --target {HOST}"),
            cmd: c,
        });
    }
    Ok(out)
}

/// Counts the diagnostics of a clippy/rustdoc stderr: (errors, the units that failed, sorted, from
/// cargo's "could not compile UNIT due to ..." lines).
pub fn count_errors(stderr_lines: &[String]) -> (usize, Vec<String>) {
    let mut errors = 0;
    let mut summaries = Vec::new();
    for l in stderr_lines {
        if let Some(what) = l.strip_prefix("error: could not compile ").or(l.strip_prefix("error: could not document "))
        {
            let what = what.split(" due to").next().unwrap_or(what).to_string();
            if !summaries.contains(&what) {
                summaries.push(what);
            }
        } else if (l.starts_with("error:") || l.starts_with("error[")) && !l.starts_with("error: aborting due to") {
            errors += 1;
        }
    }
    summaries.sort();
    (errors, summaries)
}

/// Runs a step with its stderr passed through (and kept, to count the errors).
fn run_step(mut cmd: Command) -> Result<(bool, Vec<String>), String> {
    cmd.env("CARGO_TERM_COLOR", "never").stderr(Stdio::piped());
    let mut child = cmd.spawn().map_err(|e| format!("cargo: {e}"))?;
    let mut kept = Vec::new();
    let stderr = std::io::stderr();
    for line in BufReader::new(child.stderr.take().expect("piped")).lines() {
        let line = line.map_err(|e| format!("reading cargo output: {e}"))?;
        let _ = writeln!(stderr.lock(), "{line}");
        kept.push(line);
    }
    let st = child.wait().map_err(|e| format!("cargo: {e}"))?;
    Ok((st.success(), kept))
}

pub fn cmd_lint(args: &[String]) -> Result<i32, Fail> {
    let mut triples: Vec<String> = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--target" => triples.push(it.next().ok_or("--target needs a value")?.clone()),
            s => return Err(format!("lint: unknown argument {s:?}\n{USAGE}").into()),
        }
    }
    let targets: Vec<&Target> = if triples.is_empty() {
        TARGETS.iter().filter(|t| t.build_all).collect()
    } else {
        triples.iter().map(|t| target(t)).collect::<Result<_, _>>()?
    };
    let root = root();
    // clang for the build script (it assembles rt0 even for a check), rust-std of each target;
    // not the runners: nothing runs here.
    setup(&root, &[target(HOST)?])?;
    rustup_targets(&root, &targets)?;

    let started = Instant::now();
    let mut results: Vec<(String, bool, Duration, String)> = Vec::new();
    for step in steps(&targets)? {
        println!("== lint: {}", step.shown);
        let t0 = Instant::now();
        let (ok, lines) = run_step(step.cmd)?;
        let took = t0.elapsed();
        let (errors, summaries) = count_errors(&lines);
        let note = if ok {
            String::new()
        } else if errors > 0 {
            format!("{errors} errors; failed: {}", summaries.join(", "))
        } else {
            summaries.join("; ")
        };
        if lines.iter().any(|l| l.contains("E0152") && l.contains("panic_impl")) {
            println!(
                "lint: hint: E0152 duplicate `panic_impl`: a gort program was built as a std test \
                 harness; give it `test = false` (a [[bin]] entry in its package's Cargo.toml)"
            );
        }
        println!(
            "{} lint: {} ({:.1} s){}",
            if ok { "PASS" } else { "FAIL" },
            step.what,
            took.as_secs_f64(),
            if note.is_empty() { String::new() } else { format!(": {note}") }
        );
        results.push((step.what, ok, took, note));
    }

    println!();
    println!("== lint summary ({:.1} s)", started.elapsed().as_secs_f64());
    for (what, ok, took, note) in &results {
        println!("{:<6} {:<56} {:>7.1}s  {}", if *ok { "PASS" } else { "FAIL" }, what, took.as_secs_f64(), note);
    }
    let failed = results.iter().filter(|r| !r.1).count();
    println!("lint: {} passed, {failed} failed", results.len() - failed);
    Ok(if failed > 0 { 1 } else { 0 })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_are_counted_without_the_summaries() {
        let lines: Vec<String> = [
            "    Checking gort v0.1.0 (/w)",
            "error: this `if` has identical blocks",
            "  --> src/a.rs:1:1",
            "error[E0425]: cannot find value",
            "warning: unused",
            "error: aborting due to 2 previous errors",
            "error: could not compile `gort` (lib) due to 2 previous errors",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let (n, s) = count_errors(&lines);
        assert_eq!(n, 2);
        assert_eq!(s, vec!["`gort` (lib)"]);
    }

    #[test]
    fn every_build_all_target_has_a_step() {
        let targets: Vec<&Target> = TARGETS.iter().filter(|t| t.build_all).collect();
        let s = steps(&targets).unwrap();
        assert_eq!(s.len(), targets.len() + 2); // host: clippy, harness tests' clippy, rustdoc; the others: clippy
        assert!(s[0].shown.contains("--workspace --all-targets --target x86_64-unknown-linux-gnu -- -D warnings"));
        assert!(s.last().unwrap().shown.starts_with("RUSTDOCFLAGS=-Dwarnings cargo doc"));
        assert!(s.iter().any(|s| s.shown.contains("-Zbuild-std=core,alloc")));
    }
}
