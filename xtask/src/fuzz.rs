//! `cargo xtask fuzz [--execs N] [--seed S]`: the host fuzz harness in src/fuzz.rs (argv/envp/auxv
//! walk, GODEBUG, GOMAXPROCS, GORT_STACK_SIZE and atoi parsers, each against a std oracle; the
//! DNS message parser against a reference parser; resolv.conf and hosts files), N
//! mutated inputs per target (default 10 000 000) from the seeds in fuzz/corpus/<target>/.
//! `cargo xtask test` runs the same targets briefly (SMOKE_EXECS) so a broken oracle or parser
//! is caught on every run.

use std::process::Command;

use super::{cargo, root, Fail, HOST, USAGE};

/// Executions per target of `cargo xtask fuzz` by default.
pub const DEFAULT_EXECS: u64 = 10_000_000;
/// Executions per target inside `cargo xtask test`.
pub const SMOKE_EXECS: u64 = 200_000;

/// The cargo command that runs the fuzz targets with `execs` executions each.
pub fn fuzz_command(execs: u64, seed: Option<u64>) -> Command {
    let mut c = cargo(&root());
    c.args(["test", "-p", "gort", "--lib", "--release", "--target", HOST, "fuzz::", "--"])
        .args(["--ignored", "--test-threads=1", "--nocapture"])
        .env("GORT_FUZZ_EXECS", execs.to_string());
    if let Some(s) = seed {
        c.env("GORT_FUZZ_SEED", s.to_string());
    }
    c
}

pub fn cmd_fuzz(args: &[String]) -> Result<i32, Fail> {
    let mut execs = DEFAULT_EXECS;
    let mut seed = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--execs" => execs = it.next().and_then(|v| v.parse().ok()).ok_or("--execs needs a number")?,
            "--seed" => seed = Some(it.next().and_then(|v| v.parse().ok()).ok_or("--seed needs a number")?),
            s => return Err(format!("fuzz: unknown argument {s:?}\n{USAGE}").into()),
        }
    }
    println!("== fuzz: {execs} executions per target (src/fuzz.rs, seeds in fuzz/corpus/)");
    let ok = fuzz_command(execs, seed).status().map(|s| s.success()).unwrap_or(false);
    println!(
        "fuzz: {}",
        if ok { "0 failures" } else { "FAILED (the failing input is printed above and saved under target/fuzz/)" }
    );
    Ok(if ok { 0 } else { 1 })
}
