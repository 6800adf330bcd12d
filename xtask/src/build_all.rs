//! `cargo xtask build-all [--target T]...`: every target, built, linked, inspected and, where this
//! machine can, run.
//!
//! For each target marked `build_all` in TARGETS (targets.rs), or each --target given (linux
//! amd64/arm64/arm, windows amd64/arm64/arm, darwin amd64/arm64): builds the gort library, links
//! the examples (hello, echo, http_hello) and every e2e program, inspects each binary and runs the two hello programs if
//! the target can run here (linux natively or under qemu, windows/amd64 under wine); darwin and
//! windows on ARM are "no (cannot run here)", never counted as passed. Inspection (inspect.rs):
//! ELF (class, machine, entry = the rt0 symbol, no PT_INTERP, no DT_NEEDED, non-executable
//! GNU_STACK), Mach-O (cputype, MH_EXECUTE PIE, LC_MAIN entryoff = the rt0 symbol, dyld, only
//! /usr/lib/libSystem.B.dylib, no MH_ALLOW_STACK_EXECUTION, arm64 code signature), PE (COFF
//! machine, entry = the rt0 symbol via the symbol table or the PDB, imports only from
//! WINDOWS_DLLS, NX_COMPAT). A target whose asm/rt0_<goos>_<goarch>.S is absent on this branch is
//! listed as "not built" without being a failure. Prints one table target x
//! built/linked/inspected/ran (plus the darwin/arm cell, which does not exist as a platform);
//! exit status 1 when anything attempted failed.

use std::path::{Path, PathBuf};
use std::time::Duration;

use super::inspect;
use super::targets::{goos_goarch, runner_command, setup, target, Inspect, Target, TARGETS};
use super::{cargo_build, check, e2e_programs, root, run, Fail};

/// One column of the build-all table: how many of how many, or a word.
#[derive(Default)]
struct Tally {
    ok: usize,
    of: usize,
    /// Not attempted: the cell text (e.g. "no (cannot run here)"); never counted as a pass.
    skipped: Option<String>,
}

impl Tally {
    fn cell(&self) -> String {
        match &self.skipped {
            Some(s) => s.clone(),
            None if self.of == 0 => "-".into(),
            None if self.ok == self.of => format!("ok {}/{}", self.ok, self.of),
            None => format!("FAIL {}/{}", self.ok, self.of),
        }
    }
    fn failed(&self) -> bool {
        self.skipped.is_none() && self.ok < self.of
    }
}

/// One target's row of the table, and the notes printed under it.
struct TargetRow {
    triple: &'static str,
    built: Tally,
    linked: Tally,
    inspected: Tally,
    ran: Tally,
    notes: Vec<String>,
}

/// The rt0 file that marks an OS port as present on this branch (asm/rt0_<goos>_<goarch>.S).
fn rt0_file(triple: &str) -> String {
    format!("asm/rt0_{}.S", goos_goarch(triple).replace('/', "_"))
}

pub fn cmd_build_all(args: &[String]) -> Result<i32, Fail> {
    let mut only: Vec<String> = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--target" => only.push(it.next().ok_or("--target needs a value")?.clone()),
            _ => return Err(format!("build-all: unexpected argument {a:?}").into()),
        }
    }
    let root = root();
    let targets: Vec<&Target> = if only.is_empty() {
        TARGETS.iter().filter(|t| t.build_all).collect()
    } else {
        only.iter().map(|t| target(t)).collect::<Result<_, _>>()?
    };
    // Only targets whose OS layer exists on this branch are built (and need rust-std).
    let ported: Vec<&Target> = targets.iter().copied().filter(|t| root.join(rt0_file(t.triple)).is_file()).collect();
    setup(&root, &ported)?;
    let mut table = Vec::new();
    for t in &targets {
        println!("== {} ({})", t.triple, goos_goarch(t.triple));
        if ported.iter().any(|p| p.triple == t.triple) {
            table.push(build_target(&root, t)?);
        } else {
            table.push(not_built(t));
        }
    }
    let bad = print_table(&table);
    Ok(if bad { 1 } else { 0 })
}

/// The row of a target whose OS layer is absent on this branch: nothing attempted.
fn not_built(t: &Target) -> TargetRow {
    let why = format!("no {} OS layer on this branch ({} missing)", goos_goarch(t.triple), rt0_file(t.triple));
    println!("  NOT BUILT: {why}");
    let skipped = |cell: &str| Tally { skipped: Some(cell.into()), ..Tally::default() };
    TargetRow {
        triple: t.triple,
        built: Tally { of: 1, ..skipped("not built") },
        linked: skipped("-"),
        inspected: skipped("-"),
        ran: skipped("-"),
        notes: vec![format!("not built: {why}")],
    }
}

/// Builds, links, inspects and (where it can) runs one target, printing a line per binary.
fn build_target(root: &Path, t: &Target) -> Result<TargetRow, Fail> {
    let mut row = TargetRow {
        triple: t.triple,
        built: Tally { of: 1, ..Tally::default() },
        linked: Tally::default(),
        inspected: Tally::default(),
        ran: Tally::default(),
        notes: Vec::new(),
    };
    // built: the runtime library compiles (and its rt0 assembles) for the target.
    if cargo_build(root, &["-p", "gort", "--lib"], t.triple, false)?.success {
        row.built.ok = 1;
    } else {
        row.notes.push("the gort library does not build".to_string());
    }
    let exes = link(root, t, &mut row)?;
    inspect_all(t, &exes, &mut row);
    run_hellos(root, t, &exes, &mut row);
    Ok(row)
}

/// The programs in examples/ (gort's [[example]]s), each linked for every target.
const EXAMPLES: [&str; 3] = ["hello", "echo", "http_hello"];

/// linked: the examples and every e2e program; returns the executables that linked, by name
/// (`examples/hello`, `e2e/PROG`).
fn link(root: &Path, t: &Target, row: &mut TargetRow) -> Result<Vec<(String, PathBuf)>, Fail> {
    let mut exes: Vec<(String, PathBuf)> = Vec::new();
    let example = cargo_build(root, &["-p", "gort", "--examples", "--keep-going"], t.triple, false)?;
    let e2e = cargo_build(root, &["-p", "gort-e2e", "--bins", "--keep-going"], t.triple, false)?;
    let mut wanted: Vec<(String, Option<PathBuf>)> =
        EXAMPLES.iter().map(|e| (format!("examples/{e}"), example.exes.get(*e).cloned())).collect();
    for p in e2e_programs(root)? {
        wanted.push((format!("e2e/{p}"), e2e.exes.get(&p).cloned()));
    }
    for (name, exe) in wanted {
        row.linked.of += 1;
        match exe {
            Some(exe) => {
                row.linked.ok += 1;
                exes.push((name, exe));
            }
            None => {
                println!("  {name:<24} NOT LINKED");
                row.notes.push(format!("{name} did not link"));
            }
        }
    }
    Ok(exes)
}

/// inspected: each linked binary, by the target's format (inspect.rs).
fn inspect_all(t: &Target, exes: &[(String, PathBuf)], row: &mut TargetRow) {
    for (name, exe) in exes {
        row.inspected.of += 1;
        let (problems, facts) = match t.inspect {
            Inspect::Elf { class, machine, entry } => inspect::elf(exe, class, machine, entry),
            Inspect::MachO { cputype, entry, dylib } => inspect::macho(exe, cputype, entry, dylib),
            Inspect::Pe { machine, entry, dlls } => inspect::pe(exe, machine, entry, dlls),
        };
        if problems.is_empty() {
            row.inspected.ok += 1;
            println!("  {name:<24} ok: {facts}");
        } else {
            println!("  {name:<24} BAD: {}", problems.join("; "));
            row.notes.push(format!("{name}: {}", problems.join("; ")));
        }
    }
}

/// ran: the two hello programs, where this machine can run the target.
fn run_hellos(root: &Path, t: &Target, exes: &[(String, PathBuf)], row: &mut TargetRow) {
    if let Err(why) = (t.runnable)(t) {
        println!("  NOT RUN: {why}");
        row.ran.skipped = Some("no (cannot run here)".into());
        row.notes.push(format!("NOT RUN, NOT COUNTED AS PASSED: {why}"));
        return;
    }
    (t.prepare)(root);
    for (name, exe) in exes.iter().filter(|(n, _)| n.ends_with("/hello")) {
        row.ran.of += 1;
        let mut c = runner_command(t, exe);
        c.current_dir(root).env_remove("GODEBUG").env_remove("GOMAXPROCS").envs((t.runner_env)(root));
        match run::run_captured(c, Duration::from_secs(30)) {
            Ok(o) if o.status.is_some_and(|s| s.success()) && check::find(&o.stdout, b"hello").is_some() => {
                row.ran.ok += 1;
                println!(
                    "  {name:<24} ran: exit 0, {:?}",
                    check::esc(o.stdout.split(|&b| b == b'\n').next().unwrap_or(&[]))
                );
            }
            Ok(o) => {
                println!(
                    "  {name:<24} RUN FAILED: {}\n{}\n{}",
                    o.describe_status(),
                    check::show_captured("stdout", &o.stdout),
                    check::show_captured("stderr", &o.stderr)
                );
                row.notes.push(format!("{name} did not run cleanly ({})", o.describe_status()));
            }
            Err(e) => {
                println!("  {name:<24} RUN FAILED: {e}");
                row.notes.push(format!("{name}: {e}"));
            }
        }
    }
}

/// Prints the table, its notes and the verdict; returns whether anything attempted failed.
fn print_table(table: &[TargetRow]) -> bool {
    println!();
    println!(
        "{:<30} {:<14} {:<10} {:<12} {:<12} {:<22}",
        "target", "GOOS/GOARCH", "built", "linked", "inspected", "ran"
    );
    let mut bad = false;
    for r in table {
        println!(
            "{:<30} {:<14} {:<10} {:<12} {:<12} {:<22}",
            r.triple,
            goos_goarch(r.triple),
            r.built.cell(),
            r.linked.cell(),
            r.inspected.cell(),
            r.ran.cell()
        );
        bad |= r.built.failed() || r.linked.failed() || r.inspected.failed() || r.ran.failed();
    }
    println!("{:<30} {:<14} {:<10} {:<12} {:<12} {:<22}", "(no such target)", "darwin/arm", "n/a", "n/a", "n/a", "n/a");
    for r in table {
        for n in &r.notes {
            println!("  {}: {n}", r.triple);
        }
    }
    println!("  darwin/arm: does not exist as a platform (Go dropped it in 1.15); never built");
    let not_run: Vec<&str> =
        table.iter().filter(|r| r.ran.skipped.as_deref() == Some("no (cannot run here)")).map(|r| r.triple).collect();
    let not_built: Vec<&str> = table.iter().filter(|r| r.built.skipped.is_some()).map(|r| r.triple).collect();
    if !not_run.is_empty() {
        println!("build-all: built and inspected but NOT RUN (no machine here): {}", not_run.join(", "));
    }
    if !not_built.is_empty() {
        println!("build-all: NOT BUILT (OS layer absent on this branch): {}", not_built.join(", "));
    }
    println!("build-all: {}", if bad { "FAILED" } else { "ok (for the targets built)" });
    bad
}
