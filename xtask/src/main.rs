//! gort's task runner: `cargo xtask <command>` (the alias lives in .cargo/config.toml).
//!
//! Each command lives in its own file, whose top doc comment documents it (what
//! `cargo xtask CMD --help` points at):
//!
//! ```text
//! command        file             what it does
//! run            run_cmd.rs       build examples/PROG.rs (or an e2e program) for a target and run it
//! test           test.rs          unit tests, fuzz smoke, loom, compile-fail, doc examples and the
//!                                 end-to-end suite per target; what CI runs (also: the case format)
//! loom           loom.rs          the loom model checks
//! build-all      build_all.rs     every target built, linked, inspected and, where possible, run
//! bench          bench.rs         gort against Go (not part of test nor CI)
//! stress         stress.rs        the end-to-end suite N times with random GOMAXPROCS
//! fuzz           fuzz.rs          the host fuzz harness of src/fuzz.rs
//! miri           miri.rs          the host unit tests and fuzz seeds under Miri
//! lint           lint.rs          clippy -D warnings on every target, rustdoc -Dwarnings
//! compile-fail   compile_fail.rs  programs that must not compile
//! doc-examples   doc_examples.rs  the code blocks of doc comments and README.md, built and run
//! usercrate      usercrate.rs     gort as a user's crate: gort's harness tests, templates/gort-app
//!                                 from a clean copy, README "Your first gort program", cargo package
//! trace-view     trace_view.rs    an execution trace (gort::trace) as an HTML/SVG timeline
//! ```
//!
//! The pieces they share: targets.rs (the TARGETS table, `setup`: rust-std, clang and the
//! runners, per-target build environment), inspect.rs (the ELF, Mach-O and PE checks of linked
//! programs), case.rs and check.rs (e2e case files and checking a run against them), run.rs
//! (running a program with captured output and a timeout), json.rs (cargo's JSON messages).
//! This file keeps the dispatch, USAGE, the Fail type and small helpers: the workspace root and
//! target directory, cargo invocation (`cargo`, `cargo_build`), `which`, `is_root`, the list of
//! e2e programs.

mod bench;
mod build_all;
mod case;
mod check;
mod compile_fail;
mod doc_examples;
mod fuzz;
mod inspect;
mod instructions;
mod json;
mod lint;
mod loom;
mod miri;
mod run;
mod run_cmd;
mod startup;
mod stress;
mod targets;
mod test;
mod trace_view;
mod usercrate;

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use targets::target_env;

/// The machine xtask is written for: the host of every build and the target of host unit tests.
const HOST: &str = "x86_64-unknown-linux-gnu";

/// How a command failed, for a harness error.
enum Fail {
    /// Print this and exit with status 1 (a setup problem the user must fix).
    Setup(String),
    /// Print this and exit with status 2 (bad invocation, bad case file, a tool broke).
    Harness(String),
}

impl From<String> for Fail {
    fn from(s: String) -> Fail {
        Fail::Harness(s)
    }
}

impl From<&str> for Fail {
    fn from(s: &str) -> Fail {
        Fail::Harness(s.into())
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    // `cargo xtask CMD --help` and `cargo xtask help CMD`: that command's usage.
    let help_for = match args.first().map(String::as_str) {
        Some("help") => args.get(1).cloned(),
        Some(cmd) if args[1..].iter().any(|a| a == "--help" || a == "-h") => Some(cmd.to_string()),
        _ => None,
    };
    if let Some(cmd) = help_for {
        let lines: Vec<&str> =
            USAGE.lines().filter(|l| l.trim_start().starts_with(&format!("cargo xtask {cmd}"))).collect();
        if lines.is_empty() {
            eprintln!("xtask: unknown command {cmd:?}\n{USAGE}");
            return ExitCode::from(2);
        }
        println!("usage:\n{}\n(details: the doc comment at the top of the command's file in xtask/src/, and README \"The two commands\")", lines.join("\n"));
        return ExitCode::SUCCESS;
    }
    let r = match args.first().map(String::as_str) {
        Some("run") => run_cmd::cmd_run(&args[1..]),
        Some("test") => test::cmd_test(&args[1..]),
        Some("loom") => loom::cmd_loom(&args[1..]),
        Some("build-all") => build_all::cmd_build_all(&args[1..]),
        Some("bench") => bench::cmd_bench(&args[1..]),
        Some("stress") => stress::cmd_stress(&args[1..]),
        Some("fuzz") => fuzz::cmd_fuzz(&args[1..]),
        Some("miri") => miri::cmd_miri(&args[1..]),
        Some("lint") => lint::cmd_lint(&args[1..]),
        Some("compile-fail") => compile_fail::cmd_compile_fail(&args[1..]),
        Some("doc-examples") => doc_examples::cmd_doc_examples(&args[1..]),
        Some("usercrate") => usercrate::cmd_usercrate(&args[1..]),
        Some("trace-view") => trace_view::cmd_trace_view(&args[1..]),
        Some("help" | "-h" | "--help") | None => {
            println!("{}", USAGE);
            Ok(if args.is_empty() { 2 } else { 0 })
        }
        Some(other) => Err(Fail::Harness(format!("unknown command {other:?}\n{USAGE}"))),
    };
    match r {
        Ok(code) => ExitCode::from(code.clamp(0, 255) as u8),
        Err(Fail::Setup(msg)) => {
            eprintln!("xtask: {msg}");
            ExitCode::from(1)
        }
        Err(Fail::Harness(msg)) => {
            eprintln!("xtask: error: {msg}");
            ExitCode::from(2)
        }
    }
}

const USAGE: &str = "usage:
  cargo xtask run PROG [--target T] [--release] [-- ARGS...]
  cargo xtask test [--target T]... [--filter SUBSTR]... [--release] [--no-loom]
  cargo xtask loom
  cargo xtask build-all [--target T]...
  cargo xtask bench [--quick] [--only NAME] [--runs N] [--http-seconds S]
  cargo xtask bench --instructions
  cargo xtask stress [--runs N] [--seed S] [--target T]... [--filter SUBSTR]... [--load]
  cargo xtask fuzz [--execs N] [--seed S]
  cargo xtask miri
  cargo xtask lint [--target T]...
  cargo xtask compile-fail [--filter SUBSTR]
  cargo xtask doc-examples [--filter SUBSTR]
  cargo xtask usercrate [--target T]... [--no-readme] [--no-package]
  cargo xtask trace-view TRACE.json [-o OUT.html] [--png OUT.png] [--window FROM_MS..TO_MS]
(details at the top of xtask/src/main.rs)";

// ---------------------------------------------------------------------------------------------
// helpers shared by the commands

/// The workspace root (xtask lives in <root>/xtask), found at run time (a path baked in at
/// compile time would send a copied checkout, copied `target/` and all, back to build in the
/// original tree): `cargo run` (the `cargo xtask` alias) tells the program its manifest
/// directory, xtask/, whose parent is the root; without it, the nearest directory upwards from
/// the current one that holds `xtask/Cargo.toml`.
fn root() -> PathBuf {
    if let Some(dir) = std::env::var_os("CARGO_MANIFEST_DIR") {
        let dir = PathBuf::from(dir);
        if dir.join("Cargo.toml").is_file() && dir.ends_with("xtask") {
            if let Some(p) = dir.parent() {
                return p.to_path_buf();
            }
        }
    }
    let cwd = std::env::current_dir().expect("current directory");
    cwd.ancestors().find(|d| d.join("xtask/Cargo.toml").is_file()).map(Path::to_path_buf).unwrap_or_else(|| {
        panic!("xtask: no gort checkout (a directory with xtask/Cargo.toml) at or above {}", cwd.display())
    })
}

fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) => root.join(d),
        None => root.join("target"),
    }
}

/// A cargo command run from the workspace root (.cargo/config.toml is read from the current
/// directory, HACKING.md wall 4).
fn cargo(root: &Path) -> Command {
    let mut c = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    c.current_dir(root);
    c
}

fn which(tool: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|d| d.join(tool)).find(|p| {
        use std::os::unix::fs::PermissionsExt;
        p.metadata().map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0).unwrap_or(false)
    })
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0").unwrap_or(false)
}

/// Executables cargo produced (or found fresh), by target name.
struct Built {
    exes: BTreeMap<String, PathBuf>,
    success: bool,
}

/// `cargo build ARGS --target T`, with cargo's and rustc's messages shown on stderr as usual and
/// the produced executables read from the JSON messages on stdout (so a stale binary from an
/// earlier build is never mistaken for a fresh one).
fn cargo_build(root: &Path, args: &[&str], triple: &str, release: bool) -> Result<Built, String> {
    let mut c = cargo(root);
    c.arg("build").args(args).arg("--target").arg(triple).arg("--message-format=json-render-diagnostics");
    if release {
        c.arg("--release");
    }
    target_env(&mut c, root, triple)?;
    c.stdout(Stdio::piped());
    let mut child = c.spawn().map_err(|e| format!("cargo: {e}"))?;
    let mut exes = BTreeMap::new();
    let mut finished_ok = None;
    for line in BufReader::new(child.stdout.take().expect("piped")).lines() {
        let line = line.map_err(|e| format!("reading cargo output: {e}"))?;
        let Ok(msg) = json::parse(&line) else {
            // Not JSON: a build script or cargo itself printed it; pass it on.
            eprintln!("{line}");
            continue;
        };
        match msg.get("reason").and_then(json::Json::as_str) {
            Some("compiler-artifact") => {
                let exe = msg.get("executable").and_then(json::Json::as_str);
                let name = msg.get("target").and_then(|t| t.get("name")).and_then(json::Json::as_str);
                if let (Some(exe), Some(name)) = (exe, name) {
                    exes.insert(name.to_string(), PathBuf::from(exe));
                }
            }
            Some("build-finished") => finished_ok = msg.get("success").and_then(json::Json::as_bool),
            _ => {}
        }
    }
    let st = child.wait().map_err(|e| format!("cargo: {e}"))?;
    Ok(Built { exes, success: st.success() && finished_ok != Some(false) })
}

/// The programs in tests/e2e/src/bin (NAME.rs or NAME/main.rs).
fn e2e_programs(root: &Path) -> Result<Vec<String>, String> {
    let dir = root.join("tests/e2e/src/bin");
    let mut names = Vec::new();
    for e in fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        let p = e.map_err(|e| e.to_string())?.path();
        if p.extension().is_some_and(|x| x == "rs") || p.join("main.rs").is_file() {
            names.push(p.file_stem().unwrap().to_string_lossy().into_owned());
        }
    }
    names.sort();
    Ok(names)
}
