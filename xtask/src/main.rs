//! gort's task runner: `cargo xtask <command>` (the alias lives in .cargo/config.toml).
//!
//! ```text
//! cargo xtask run PROG [--target T] [--release] [-- ARGS...]
//!     Builds examples/PROG.rs (or the e2e program tests/e2e/src/bin/PROG.rs when there is no such
//!     example) and runs it with ARGS, through the target's runner (qemu-aarch64, qemu-arm, wine)
//!     when it has one. Exits with the program's exit code (128+N when killed by signal N).
//! cargo xtask test [--target T]... [--filter SUBSTR] [--release] [--no-loom]
//!     1. host unit tests: `cargo test -p gort --lib` and xtask's own tests (only when the host
//!        target is selected, which it is when no --target is given, and no --filter is given);
//!     2. the loom model checks of the run queue (see `cargo xtask loom`), under the same
//!        conditions, unless --no-loom;
//!     3. under the same conditions, the compile-fail cases (tests/compile-fail: programs that
//!        must not compile, see `cargo xtask compile-fail`) and the doc examples (see
//!        `cargo xtask doc-examples`), one summary row each;
//!     4. the end-to-end suite for each selected target (default: the targets marked
//!        `default_test` in TARGETS): builds every tests/e2e program and runs every case of
//!        tests/e2e/cases. A target whose runner is missing here is built but its cases are
//!        SKIPPED, loudly, and never counted as passed.
//!     Prints `PASS prog/case (N ms)` or `FAIL ...` with the reasons per case, a summary table,
//!     and last a line `N passed, M failed` (`, K skipped` added when K > 0). The unit-test and
//!     loom runs count as one entry each, compile-fail cases and doc examples one per case or
//!     example. Exit status 1 when anything failed.
//! cargo xtask loom
//!     RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=3 cargo test -p gort --lib --release
//!     --target x86_64-unknown-linux-gnu loom_tests (runq, chan, spinning), in its own target dir (target/loom) so the
//!     changed RUSTFLAGS do not force rebuilds of the normal release build.
//! cargo xtask build-all [--target T]...
//!     For each target marked `build_all` in TARGETS (or each --target given; linux amd64/arm64/arm, windows
//!     amd64/arm64/arm, darwin amd64/arm64): builds the gort library, links examples/hello and
//!     every e2e program, inspects each binary and runs the two hello programs if the target can
//!     run here (linux natively or under qemu, windows/amd64 under wine); darwin and windows on
//!     ARM are "no (cannot run here)", never counted as passed. Inspection: ELF (class, machine,
//!     entry = the rt0 symbol, no PT_INTERP, no DT_NEEDED, non-executable GNU_STACK), Mach-O
//!     (inspect.rs: cputype, MH_EXECUTE PIE, LC_MAIN entryoff = the rt0 symbol, dyld, only
//!     /usr/lib/libSystem.B.dylib, no MH_ALLOW_STACK_EXECUTION, arm64 code signature), PE
//!     (inspect.rs: COFF machine, entry = the rt0 symbol via the symbol table or the PDB, imports
//!     only from WINDOWS_DLLS, NX_COMPAT). A target whose asm/rt0_<goos>_<goarch>.S is absent on
//!     this branch is listed as "not built" without being a failure. Prints one table target x
//!     built/linked/inspected/ran (plus the darwin/arm cell, which does not exist as a platform);
//!     exit status 1 when anything attempted failed.
//! cargo xtask lint [--target T]...
//!     `cargo clippy --workspace --all-targets --target x86_64-unknown-linux-gnu -- -D warnings`,
//!     then `cargo clippy -p gort -p gort-e2e --target T -- -D warnings` for every other build-all
//!     target (windows/arm with -Zbuild-std as build-all builds it), then
//!     `RUSTDOCFLAGS=-Dwarnings cargo doc --no-deps -p gort --target x86_64-unknown-linux-gnu`.
//!     PASS/FAIL and the time per step; exit status 1 when any failed. --target T limits it to
//!     those targets (the host target: the workspace clippy and rustdoc). Details in lint.rs.
//! cargo xtask compile-fail [--filter SUBSTR]
//!     tests/compile-fail/<name>.rs: gort programs that must not compile, each with
//!     `// expect: TEXT` lines that must occur in rustc's stderr; checked in a scratch crate
//!     under target/compile-fail after a control program that must compile. Format in
//!     tests/compile-fail/README.md, details in compile_fail.rs.
//! cargo xtask doc-examples [--filter SUBSTR]
//!     Every Rust code block of src/**/*.rs doc comments and README.md (rustdoc's rules, `ignore`
//!     is an error: use `no_run`) is built as a gort program for x86_64-unknown-linux-gnu in a
//!     scratch crate under target/doc-examples and, unless `no_run`, run (exit 0 within 10 s).
//!     One PASS/FAIL line per example, `file:line` (--filter matches it). Details in
//!     doc_examples.rs.
//! cargo xtask bench [--quick] [--only NAME] [--runs N]
//!     gort against Go: the programs of benches/ (gort, built --release for the host) and
//!     benches/go (Go, installed with apt-get when missing and root), run alternately N times
//!     (default 5, --quick 1) per workload; prints a table of medians and the stripped size of
//!     hello, writes target/bench/results.json and target/bench/report.svg. Not part of `test`
//!     nor CI. Details at the top of xtask/src/bench.rs.
//! ```
//!
//! `run`, `test` and `build-all` first run `rustup target add` for the targets they use, and make
//! sure clang (needed to assemble rt0) and the targets' runners exist: missing ones are installed
//! with apt-get when running as root; otherwise a missing clang stops with a line saying what to
//! install, and a missing runner makes that target's cases SKIPPED.
//!
//! Adding a target (aarch64 through qemu, windows through wine, ...) means editing the TARGETS
//! table only.
//!
//! # Case files: tests/e2e/cases/PROG.case
//!
//! Each file holds one or more cases for the program tests/e2e/src/bin/PROG.rs. A case file
//! without its program is an error; a program without a case file is built but only listed in a
//! WARNING line of the summary (programs may land before their cases). Lines:
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
//! skip-on: TRIPLE REASON    do not run on TRIPLE; reported SKIPPED with REASON (never passed)
//! only-on: TRIPLE...        an OS-specific expectation: exists only for these targets (on the
//!                           others it is not run and not counted; pair it with a skip-on in
//!                           the general case, so the general case's absence stays loud)
//! exit: N                   expected exit status (default 0); death by a signal never matches
//! timeout: SECONDS          default 60; a timeout fails the case and shows what was captured
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

mod bench;
mod case;
mod check;
mod compile_fail;
mod doc_examples;
mod fuzz;
mod inspect;
mod json;
mod lint;
mod miri;
mod run;
mod stress;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs;
use std::io::{BufRead, BufReader};
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use case::Case;

/// The machine xtask is written for: the host of every build and the target of host unit tests.
const HOST: &str = "x86_64-unknown-linux-gnu";

/// Whether `cargo xtask test` runs the loom checks (when it runs host unit tests).
/// Measured on a 2-core machine: the first build of loom and its dependencies in release mode
/// takes about 28 s, a warm run about 1 s, the three models finish in well under a second.
/// That is under the 60 s budget, so they are part of `test`.
const LOOM_IN_TEST: bool = true;

/// One build target and how to run its programs on this machine.
struct Target {
    triple: &'static str,
    /// In the default target list of `cargo xtask test`.
    default_test: bool,
    /// Built and inspected by `cargo xtask build-all`.
    build_all: bool,
    /// Command prefix that runs one of its binaries here (empty: execute directly).
    runner: &'static [&'static str],
    /// Debian packages that provide the runner.
    runner_packages: &'static [&'static str],
    /// Extra environment for the runner, kept even for env-clear cases.
    runner_env: fn(&Path) -> Vec<(String, String)>,
    /// Ok when its binaries can run on this machine, else why not.
    runnable: fn(&Target) -> Result<(), String>,
    /// Run once before its programs run (e.g. start wine's server), given the workspace root.
    prepare: fn(&Path),
    /// What build-all checks in a linked binary.
    inspect: Inspect,
    /// Tier 3 in Rust (no rustup rust-std): built with `RUSTC_BOOTSTRAP=1 -Zbuild-std=core,alloc`.
    build_std: bool,
}

/// What `build-all` verifies in a binary.
#[derive(Clone, Copy)]
enum Inspect {
    /// readelf's `Class:` (ELF32/ELF64), a substring of its `Machine:`, the symbol the ELF entry
    /// point must be.
    Elf { class: &'static str, machine: &'static str, entry: &'static str },
    /// Mach-O (inspect::macho): llvm-objdump's cputype, the symbol LC_MAIN's entryoff must resolve
    /// to, the only dylib it may load.
    MachO { cputype: &'static str, entry: &'static str, dylib: &'static str },
    /// PE/COFF (inspect::pe): llvm-readobj's COFF machine, the entry symbol, the DLLs it may import
    /// (lower case).
    Pe { machine: &'static str, entry: &'static str, dlls: &'static [&'static str] },
}

/// Every target xtask knows. To put a target into the default `test` list or into `build-all`,
/// flip its flags here.
static TARGETS: &[Target] = &[
    Target {
        triple: "x86_64-unknown-linux-gnu",
        default_test: true,
        build_all: true,
        runner: &[],
        runner_packages: &[],
        runner_env: no_env,
        runnable: native_linux_amd64,
        prepare: no_prepare,
        inspect: Inspect::Elf { class: "ELF64", machine: "X86-64", entry: "_rt0_amd64_linux" },
        build_std: false,
    },
    Target {
        triple: "aarch64-unknown-linux-gnu",
        default_test: true,
        build_all: true,
        runner: &["qemu-aarch64"],
        runner_packages: &["qemu-user"],
        runner_env: no_env,
        runnable: runner_on_path,
        prepare: no_prepare,
        inspect: Inspect::Elf { class: "ELF64", machine: "AArch64", entry: "_rt0_arm64_linux" },
        build_std: false,
    },
    Target {
        triple: "armv7-unknown-linux-gnueabihf",
        default_test: true,
        build_all: true,
        runner: &["qemu-arm"],
        runner_packages: &["qemu-user"],
        runner_env: no_env,
        runnable: runner_on_path,
        prepare: no_prepare,
        inspect: Inspect::Elf { class: "ELF32", machine: "ARM", entry: "_rt0_arm_linux" },
        build_std: false,
    },
    // windows: the msvc flavour links most simply (rust-lld in lld-link mode, raw-dylib imports,
    // no CRT archives to fake); see README "windows".
    Target {
        triple: "x86_64-pc-windows-msvc",
        default_test: true,
        build_all: true,
        runner: &["wine"],
        runner_packages: &["wine64", "wine"],
        runner_env: wine_env,
        runnable: runner_on_path,
        prepare: wine_prepare,
        inspect: Inspect::Pe { machine: "IMAGE_FILE_MACHINE_AMD64", entry: "_rt0_amd64_windows", dlls: WINDOWS_DLLS },
        build_std: false,
    },
    // windows/arm64: built, linked and inspected; nothing here runs it (no arm64 wine).
    Target {
        triple: "aarch64-pc-windows-msvc",
        default_test: false,
        build_all: true,
        runner: &[],
        runner_packages: &[],
        runner_env: no_env,
        runnable: cannot_run_here,
        prepare: no_prepare,
        inspect: Inspect::Pe { machine: "IMAGE_FILE_MACHINE_ARM64", entry: "_rt0_arm64_windows", dlls: WINDOWS_DLLS },
        build_std: false,
    },
    // windows/arm (Thumb-2): tier 3, built with -Zbuild-std; built, linked and inspected only.
    Target {
        triple: "thumbv7a-pc-windows-msvc",
        default_test: false,
        build_all: true,
        runner: &[],
        runner_packages: &[],
        runner_env: no_env,
        runnable: cannot_run_here,
        prepare: no_prepare,
        inspect: Inspect::Pe { machine: "IMAGE_FILE_MACHINE_ARMNT", entry: "_rt0_arm_windows", dlls: WINDOWS_DLLS },
        build_std: true,
    },
    // darwin: linked by rust-lld in ld64 mode against linker/libSystem.tbd (cargo_build sets the
    // linker); there is no Mac here, so the binaries are built and inspected, never run.
    // darwin/arm (32-bit) does not exist as a platform (Go dropped it in 1.15): no row.
    Target {
        triple: "x86_64-apple-darwin",
        default_test: false,
        build_all: true,
        runner: &[],
        runner_packages: &[],
        runner_env: no_env,
        runnable: cannot_run_here,
        prepare: no_prepare,
        inspect: Inspect::MachO { cputype: "X86_64", entry: "_rt0_amd64_darwin", dylib: DARWIN_DYLIB },
        build_std: false,
    },
    Target {
        triple: "aarch64-apple-darwin",
        default_test: false,
        build_all: true,
        runner: &[],
        runner_packages: &[],
        runner_env: no_env,
        runnable: cannot_run_here,
        prepare: no_prepare,
        inspect: Inspect::MachO { cputype: "ARM64", entry: "_rt0_arm64_darwin", dylib: DARWIN_DYLIB },
        build_std: false,
    },
];

/// The DLLs a windows gort program may import (lower case): kernel32, and the API set that
/// exports WaitOnAddress/WakeByAddress*.
const WINDOWS_DLLS: &[&str] = &["kernel32.dll", "api-ms-win-core-synch-l1-2-0.dll"];

/// The only dylib a darwin gort program loads.
const DARWIN_DYLIB: &str = "/usr/lib/libSystem.B.dylib";

/// Runnable-check of targets no machine of ours can run (darwin, windows on ARM).
fn cannot_run_here(t: &Target) -> Result<(), String> {
    Err(format!("no {} machine or emulator on this linux/amd64 host", goos_goarch(t.triple)))
}

/// Go's GOOS/GOARCH for a Rust triple, e.g. "darwin/arm64".
fn goos_goarch(triple: &str) -> String {
    let arch = match triple.split('-').next().unwrap_or("") {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        a if a.starts_with("arm") || a.starts_with("thumb") => "arm",
        a => a,
    };
    let os = if triple.contains("-linux-") {
        "linux"
    } else if triple.contains("-windows-") {
        "windows"
    } else if triple.contains("-darwin") {
        "darwin"
    } else {
        "?"
    };
    format!("{os}/{arch}")
}

fn no_env(_: &Path) -> Vec<(String, String)> {
    Vec::new()
}

/// One wine prefix per workspace (its first creation is slow and noisy), quiet wine debug output.
fn wine_env(root: &Path) -> Vec<(String, String)> {
    let prefix = target_dir(root).join("wine-prefix");
    vec![("WINEPREFIX".into(), prefix.display().to_string()), ("WINEDEBUG".into(), "-all".into())]
}

/// Targets that need nothing started before their programs run.
fn no_prepare(_: &Path) {}

/// Starts the prefix's wineserver (persistent for a minute after the last client) and its
/// system processes (wineboot) with their output going nowhere. Started by the first case
/// instead, they would inherit that case's stdout/stderr pipes and hold them open, so the
/// harness would wait for EOF that never comes. Also creates the prefix (8 s, noisy) the first
/// time, outside any case's timing.
fn wine_prepare(root: &Path) {
    let env = wine_env(root);
    let _ = fs::create_dir_all(target_dir(root));
    let prefix = target_dir(root).join("wine-prefix");
    let run = |cmd: &[&str]| {
        let st = Command::new(cmd[0])
            .args(&cmd[1..])
            .envs(env.iter().cloned())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        if !st.as_ref().is_ok_and(|s| s.success()) {
            eprintln!("xtask: `{}` failed ({st:?}); wine cases may hang on open pipes", cmd.join(" "));
        }
    };
    // A fresh prefix first: `wineserver -p60` refuses to start for a prefix that does not exist,
    // and the server wineboot starts for it has no persistence (-p0), so it would exit between
    // cases and the next case's wine would start the server and services holding its pipes.
    if !prefix.join("system.reg").is_file() {
        run(&["wine", "wineboot"]);
        run(&["wineserver", "-k"]);
        run(&["wineserver", "-w"]);
    }
    for cmd in [&["wineserver", "-p60"][..], &["wine", "wineboot"][..]] {
        run(cmd);
    }
}

fn native_linux_amd64(_: &Target) -> Result<(), String> {
    if cfg!(all(target_os = "linux", target_arch = "x86_64")) {
        Ok(())
    } else {
        Err("this machine is not linux/amd64".into())
    }
}

fn runner_on_path(t: &Target) -> Result<(), String> {
    let tool = t.runner[0];
    if which(tool).is_some() {
        Ok(())
    } else {
        Err(format!("{tool} not found (Debian: apt-get install {})", t.runner_packages.join(" ")))
    }
}

fn target(triple: &str) -> Result<&'static Target, String> {
    TARGETS.iter().find(|t| t.triple == triple).ok_or_else(|| {
        let known: Vec<&str> = TARGETS.iter().map(|t| t.triple).collect();
        format!("unknown target {triple:?}; known: {}", known.join(", "))
    })
}

/// The workspace root (xtask lives in <root>/xtask).
/// The repository root, found at run time (a path baked in at compile time would send a copied
/// checkout, copied `target/` and all, back to build in the original tree): `cargo run` (the
/// `cargo xtask` alias) tells the program its manifest directory, xtask/, whose parent is the
/// root; without it, the nearest directory upwards from the current one that holds
/// `xtask/Cargo.toml`.
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
    cwd.ancestors()
        .find(|d| d.join("xtask/Cargo.toml").is_file())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| panic!("xtask: no gort checkout (a directory with xtask/Cargo.toml) at or above {}", cwd.display()))
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
        Some("run") => cmd_run(&args[1..]),
        Some("test") => cmd_test(&args[1..]),
        Some("loom") => cmd_loom(&args[1..]),
        Some("build-all") => cmd_build_all(&args[1..]),
        Some("bench") => bench::cmd_bench(&args[1..]),
        Some("stress") => stress::cmd_stress(&args[1..]),
        Some("fuzz") => fuzz::cmd_fuzz(&args[1..]),
        Some("miri") => miri::cmd_miri(&args[1..]),
        Some("lint") => lint::cmd_lint(&args[1..]),
        Some("compile-fail") => compile_fail::cmd_compile_fail(&args[1..]),
        Some("doc-examples") => doc_examples::cmd_doc_examples(&args[1..]),
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
  cargo xtask test [--target T]... [--filter SUBSTR] [--release] [--no-loom]
  cargo xtask loom
  cargo xtask build-all [--target T]...
  cargo xtask bench [--quick] [--only NAME] [--runs N]
  cargo xtask stress [--runs N] [--seed S] [--target T]... [--filter SUBSTR]... [--load]
  cargo xtask fuzz [--execs N] [--seed S]
  cargo xtask miri
  cargo xtask lint [--target T]...
  cargo xtask compile-fail [--filter SUBSTR]
  cargo xtask doc-examples [--filter SUBSTR]
(details at the top of xtask/src/main.rs)";

// ---------------------------------------------------------------------------------------------
// setup

/// `rustup target add` for the targets, and clang plus the targets' runners (apt-get when root).
/// Returns nothing on success; a missing runner is only reported (its cases will be SKIPPED).
fn setup(root: &Path, targets: &[&Target]) -> Result<(), Fail> {
    rustup_targets(root, targets)?;
    let mut packages: Vec<&str> = Vec::new();
    let clang_missing = which("clang").is_none();
    if clang_missing {
        packages.extend(["clang", "lld"]);
    }
    let mut missing_runners = Vec::new();
    for t in targets {
        if let Some(tool) = t.runner.first() {
            if which(tool).is_none() {
                missing_runners.push((t.triple, *tool));
                for p in t.runner_packages {
                    if !packages.contains(p) {
                        packages.push(p);
                    }
                }
            }
        }
    }
    if packages.is_empty() {
        return Ok(());
    }
    if is_root() {
        let list = packages.join(" ");
        eprintln!("xtask: setup: installing {list} (apt-get)");
        let st = Command::new("sh")
            .arg("-c")
            .arg(format!("apt-get update -qq && apt-get install -y -qq --no-install-recommends {list}"))
            .env("DEBIAN_FRONTEND", "noninteractive")
            .status()
            .map_err(|e| format!("apt-get: {e}"))?;
        if !st.success() {
            return Err(Fail::Setup(format!("apt-get install {list} failed ({})", run::describe(st))));
        }
        if which("clang").is_none() {
            return Err(Fail::Setup("clang is still missing after apt-get install clang".into()));
        }
        return Ok(());
    }
    if clang_missing {
        return Err(Fail::Setup(format!(
            "clang is missing (it assembles rt0): install it, e.g. `sudo apt-get install --no-install-recommends {}`",
            packages.join(" ")
        )));
    }
    for (triple, tool) in missing_runners {
        eprintln!("xtask: setup: {tool} is missing and we are not root: {triple} programs will be built but SKIPPED");
    }
    Ok(())
}

/// `rustup target add` for the targets (rust-src for the tier-3 ones, which build core and alloc).
fn rustup_targets(root: &Path, targets: &[&Target]) -> Result<(), Fail> {
    if which("rustup").is_some() {
        let mut c = Command::new("rustup");
        // HOST: never an empty list. Tier 3 targets have no rust-std to add: they build core and
        // alloc from rust-src.
        c.current_dir(root).arg("target").arg("add").arg(HOST);
        for t in targets.iter().filter(|t| !t.build_std) {
            c.arg(t.triple);
        }
        if targets.iter().any(|t| t.build_std) {
            let _ = Command::new("rustup").current_dir(root).args(["component", "add", "rust-src"]).output();
        }
        let out = c.output().map_err(|e| format!("rustup: {e}"))?;
        if !out.status.success() {
            return Err(Fail::Setup(format!("`rustup target add` failed:\n{}", String::from_utf8_lossy(&out.stderr))));
        }
        let said = String::from_utf8_lossy(&out.stderr);
        if said.contains("downloading") || said.contains("installing") {
            eprint!("{said}");
        }
    } else {
        eprintln!("xtask: rustup not found; assuming the rust-std of every target is installed");
    }
    Ok(())
}

fn is_root() -> bool {
    Command::new("id").arg("-u").output().map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0").unwrap_or(false)
}

// ---------------------------------------------------------------------------------------------
// building

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

/// What a cargo command for `triple` needs besides `--target` (linker, darwin SDK, build-std);
/// shared by every build and `cargo xtask lint`.
fn target_env(c: &mut Command, root: &Path, triple: &str) -> Result<(), String> {
    // Cross linux targets link with clang (gort's build script adds -fuse-ld=lld --target=...);
    // the host's cc is gcc, which cannot link them.
    if triple.contains("-linux-") && !triple.starts_with("x86_64") {
        let var = format!("CARGO_TARGET_{}_LINKER", triple.to_uppercase().replace('-', "_"));
        if std::env::var_os(&var).is_none() {
            c.env(var, "clang");
        }
    }
    // darwin links with rust-lld in ld64 mode (rustc picks the flavor from the name) against
    // linker/libSystem.tbd; SDKROOT points at linker/ (the only "SDK" file gort needs), which
    // also keeps rustc from looking for xcrun. HACKING.md wall 12.
    if triple.contains("-apple-darwin") {
        let var = format!("CARGO_TARGET_{}_LINKER", triple.to_uppercase().replace('-', "_"));
        if std::env::var_os(&var).is_none() {
            c.env(var, rust_lld(root)?);
        }
        c.env("MACOSX_DEPLOYMENT_TARGET", "11.0").env("SDKROOT", root.join("linker"));
    }
    // Tier 3 targets: core and alloc are built from rust-src (HACKING.md "windows").
    if TARGETS.iter().any(|t| t.triple == triple && t.build_std) {
        c.env("RUSTC_BOOTSTRAP", "1").arg("-Zbuild-std=core,alloc");
    }
    Ok(())
}

/// The rust-lld that ships with the pinned toolchain (`rustc --print sysroot` run in the workspace,
/// so rust-toolchain.toml applies).
fn rust_lld(root: &Path) -> Result<PathBuf, String> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let out = Command::new(rustc)
        .current_dir(root)
        .args(["--print", "sysroot"])
        .output()
        .map_err(|e| format!("rustc --print sysroot: {e}"))?;
    let sysroot = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let lld = Path::new(&sysroot).join("lib/rustlib").join(HOST).join("bin/rust-lld");
    if lld.is_file() {
        Ok(lld)
    } else {
        Err(format!("{} not found (the toolchain's rust-lld links darwin programs)", lld.display()))
    }
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

/// Every case of tests/e2e/cases, checked against the programs that exist, and the programs that
/// have no case file (built, but not run: reported as a warning, since a program may land before
/// its cases do).
fn load_cases(root: &Path) -> Result<(Vec<Case>, Vec<String>), String> {
    let programs = e2e_programs(root)?;
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

// ---------------------------------------------------------------------------------------------
// run

fn cmd_run(args: &[String]) -> Result<i32, Fail> {
    let mut prog = None;
    let mut triple = HOST.to_string();
    let mut release = false;
    let mut prog_args: Vec<String> = Vec::new();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--target" => triple = it.next().ok_or("--target needs a value")?.clone(),
            "--release" => release = true,
            "--" => {
                prog_args = it.by_ref().cloned().collect();
            }
            s if s.starts_with('-') => return Err(format!("run: unknown option {s}\n{USAGE}").into()),
            s if prog.is_none() => prog = Some(s.to_string()),
            s => return Err(format!("run: unexpected {s:?} (program arguments go after --)").into()),
        }
    }
    let prog = prog.ok_or_else(|| format!("run: which program?\n{USAGE}"))?;
    let root = root();
    let t = target(&triple)?;
    setup(&root, &[t])?;
    let (args, kind): (Vec<&str>, &str) = if root.join("examples").join(format!("{prog}.rs")).is_file() {
        (vec!["-p", "gort", "--example", &prog], "example")
    } else if e2e_programs(&root)?.contains(&prog) {
        (vec!["-p", "gort-e2e", "--bin", &prog], "e2e program")
    } else {
        return Err(format!("no examples/{prog}.rs and no tests/e2e/src/bin/{prog}.rs").into());
    };
    let built = cargo_build(&root, &args, t.triple, release)?;
    let exe = match built.exes.get(&prog) {
        Some(e) if built.success => e.clone(),
        _ => return Err(Fail::Setup(format!("building the {kind} {prog} for {} failed", t.triple))),
    };
    if let Err(why) = (t.runnable)(t) {
        return Err(Fail::Setup(format!("built {} but cannot run it here: {why}", exe.display())));
    }
    (t.prepare)(&root);
    let mut c = runner_command(t, &exe);
    c.args(&prog_args).envs((t.runner_env)(&root));
    let st = c.status().map_err(|e| format!("{}: {e}", exe.display()))?;
    Ok(run::shell_code(st))
}

/// The command that runs `exe` of target `t` here (through its runner, if any).
fn runner_command(t: &Target, exe: &Path) -> Command {
    match t.runner.split_first() {
        None => Command::new(exe),
        Some((tool, rest)) => {
            let mut c = Command::new(tool);
            c.args(rest).arg(exe);
            c
        }
    }
}

// ---------------------------------------------------------------------------------------------
// test

/// One line of the summary table.
struct Row {
    what: String,
    passed: usize,
    failed: usize,
    skipped: usize,
    time: Duration,
    note: String,
}

fn cmd_test(args: &[String]) -> Result<i32, Fail> {
    let mut triples: Vec<String> = Vec::new();
    let mut filter: Option<String> = None;
    let mut release = false;
    let mut loom = LOOM_IN_TEST;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--target" => triples.push(it.next().ok_or("--target needs a value")?.clone()),
            "--filter" => filter = Some(it.next().ok_or("--filter needs a value")?.clone()),
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
    let cases: Vec<&Case> =
        all_cases.iter().filter(|c| filter.as_ref().is_none_or(|f| c.id().contains(f.as_str()))).collect();
    if cases.is_empty() {
        return Err(format!("--filter {:?} matches no case", filter.unwrap_or_default()).into());
    }

    setup(&root, &targets)?;

    let mut rows: Vec<Row> = Vec::new();
    let mut failures: Vec<String> = Vec::new();
    let host_selected = targets.iter().any(|t| t.triple == HOST);
    if !host_selected {
        println!("== unit tests: not run ({HOST} is not among the selected targets)");
    } else if filter.is_some() {
        println!("== unit tests and loom: not run (--filter selects e2e cases only)");
    } else {
        let steps: [(&str, Vec<&str>); 2] = [
            ("unit tests (gort --lib)", vec!["test", "-p", "gort", "--lib", "--target", HOST]),
            ("xtask self-tests", vec!["test", "-p", "xtask", "--target", HOST]),
        ];
        for (what, cargo_args) in steps {
            println!("== {what}: cargo {}", cargo_args.join(" "));
            let t0 = Instant::now();
            let ok = cargo(&root).args(&cargo_args).status().map(|s| s.success()).unwrap_or(false);
            rows.push(entry_row(what, ok, t0.elapsed()));
            if !ok {
                failures.push(format!("{what}: failed (output above)"));
            }
        }
        println!("== fuzz smoke: {} executions per target (cargo xtask fuzz runs 10 M)", fuzz::SMOKE_EXECS);
        let t0 = Instant::now();
        let ok = fuzz::fuzz_command(fuzz::SMOKE_EXECS, None).status().map(|s| s.success()).unwrap_or(false);
        rows.push(entry_row("fuzz smoke (src/fuzz.rs)", ok, t0.elapsed()));
        if !ok {
            failures.push("fuzz smoke: failed (output above)".into());
        }
        if loom {
            println!("== loom: {}", LOOM_DESCRIPTION);
            let t0 = Instant::now();
            let ok = loom_command(&root).status().map(|s| s.success()).unwrap_or(false);
            rows.push(entry_row("loom (runq, chan, spinning)", ok, t0.elapsed()));
            if !ok {
                failures.push("loom: failed (output above)".into());
            }
        } else {
            println!("== loom: not run (--no-loom)");
        }
        for (row, fails) in [compile_fail::run(&root, None), doc_examples::run(&root, None)] {
            rows.push(row);
            failures.extend(fails);
        }
    }

    for t in &targets {
        let t0 = Instant::now();
        println!("== e2e {}: building", t.triple);
        let built = cargo_build(&root, &["-p", "gort-e2e", "--bins", "--keep-going"], t.triple, release)?;
        // The hardening properties (static, no PT_INTERP/DT_NEEDED, non-executable stack, entry =
        // rt0) of every program just built, asserted with readelf.
        if let Inspect::Elf { class, machine, entry } = t.inspect {
            let t1 = Instant::now();
            let mut elf = Row {
                what: format!("elf properties {}", t.triple),
                passed: 0,
                failed: 0,
                skipped: 0,
                time: Duration::ZERO,
                note: String::new(),
            };
            let mut exes: Vec<(&String, &PathBuf)> = built.exes.iter().collect();
            exes.sort();
            for (prog, exe) in exes {
                let (problems, _) = inspect_elf(exe, class, machine, entry);
                if problems.is_empty() {
                    elf.passed += 1;
                } else {
                    println!("FAIL elf {prog} ({}): {}", t.triple, problems.join("; "));
                    failures.push(format!("{} elf {prog}: {}", t.triple, problems[0]));
                    elf.failed += 1;
                }
            }
            println!(
                "== elf properties {}: {} programs checked, {} failed",
                t.triple,
                elf.passed + elf.failed,
                elf.failed
            );
            elf.time = t1.elapsed();
            rows.push(elf);
        }
        let runnable = (t.runnable)(t);
        if runnable.is_ok() {
            (t.prepare)(&root);
        }
        match &runnable {
            Ok(()) => println!("== e2e {}: running {} cases", t.triple, cases.len()),
            Err(why) => println!("== e2e {}: SKIPPING all {} cases: {why}", t.triple, cases.len()),
        }
        let mut row = Row {
            what: format!("e2e {}", t.triple),
            passed: 0,
            failed: 0,
            skipped: 0,
            time: Duration::ZERO,
            note: String::new(),
        };
        for case in &cases {
            if !case.only_on.is_empty() && !case.only_on.iter().any(|tr| tr == t.triple) {
                continue;
            }
            let id = case.id();
            let Some(exe) = built.exes.get(&case.prog) else {
                println!(
                    "FAIL {id} (0 ms)\n    build failed: cargo produced no {} binary for {} (errors above)",
                    case.prog, t.triple
                );
                row.failed += 1;
                failures.push(format!("{} {id}: build failed", t.triple));
                continue;
            };
            if let Err(why) = &runnable {
                println!("SKIPPED {id} ({why})");
                row.skipped += 1;
                continue;
            }
            if let Some(why) = case_skip(t, case) {
                println!("SKIPPED {id} ({why})");
                row.skipped += 1;
                if row.note.is_empty() {
                    row.note = "some cases SKIPPED (reasons above)".into();
                }
                continue;
            }
            let (problems, ms) = run_case(&root, t, exe, case);
            if problems.is_empty() {
                println!("PASS {id} ({ms} ms)");
                row.passed += 1;
            } else {
                println!("FAIL {id} ({ms} ms)");
                for p in &problems {
                    println!("    {}", p.trim_start());
                }
                row.failed += 1;
                failures.push(format!("{} {id}: {}", t.triple, problems[0].lines().next().unwrap_or("")));
            }
        }
        if let Err(why) = runnable {
            row.note = format!("SKIPPED: {why}");
        } else if !built.success {
            row.note = "some programs did not build".into();
        }
        row.time = t0.elapsed();
        rows.push(row);
    }

    // Summary.
    println!();
    println!("== summary ({:.1} s)", started.elapsed().as_secs_f64());
    println!("{:<44} {:>6} {:>6} {:>7} {:>8}  note", "what", "passed", "failed", "skipped", "time");
    for r in &rows {
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
    if !failures.is_empty() {
        println!("failures:");
        for f in &failures {
            println!("  {f}");
        }
    }
    let passed: usize = rows.iter().map(|r| r.passed).sum();
    let failed: usize = rows.iter().map(|r| r.failed).sum();
    let skipped: usize = rows.iter().map(|r| r.skipped).sum();
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
    Ok(if failed > 0 { 1 } else { 0 })
}

fn entry_row(what: &str, ok: bool, time: Duration) -> Row {
    Row { what: what.into(), passed: ok as usize, failed: !ok as usize, skipped: 0, time, note: String::new() }
}

/// Why `case` cannot run on `t` here (its `skip-on` lines, secure-exec's needs), if it cannot.
fn case_skip(t: &Target, case: &Case) -> Option<String> {
    if let Some((_, why)) = case.skip_on.iter().find(|(tr, _)| tr == t.triple) {
        return Some(format!("skip-on {}: {why}", t.triple));
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
fn run_case(root: &Path, t: &Target, exe: &Path, case: &Case) -> (Vec<String>, u128) {
    run_case_once(root, t, exe, case, true)
}

/// run_case; `retry`: a wine infrastructure failure may be retried once.
fn run_case_once(root: &Path, t: &Target, exe: &Path, case: &Case, retry: bool) -> (Vec<String>, u128) {
    let secure_copy;
    let exe = if case.secure_exec {
        match setgid_copy(root, exe) {
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
    match run::run_captured(c, case.timeout) {
        Ok(out) => {
            let problems = check::check(case, &out);
            if !problems.is_empty() && t.runner.first() == Some(&"wine") && retry {
                if let Some(line) = wine_infrastructure_failure(&out.stderr) {
                    // Not the program's doing: wine's own client/server plumbing failed. Said
                    // loudly, run once more; a second failure counts.
                    println!("RETRY {} ({}): wine infrastructure failure: {line}", case.id(), t.triple);
                    return run_case_once(root, t, exe, case, false);
                }
            }
            (problems, out.elapsed.as_millis())
        }
        Err(e) => (vec![format!("could not start {}: {e}", exe.display())], 0),
    }
}

/// A line of wine's own stderr that says wine itself failed (not the program): `wine client
/// error:NNN: ...` (its connection to wineserver broke), `wine: ...` startup failures,
/// `wineserver: ...`.
fn wine_infrastructure_failure(stderr: &[u8]) -> Option<String> {
    String::from_utf8_lossy(stderr)
        .lines()
        .find(|l| l.starts_with("wine client error:") || l.starts_with("wine: ") || l.starts_with("wineserver: "))
        .map(str::to_string)
}

/// Copies `exe` to target/secure-exec/ as a setgid-nogroup executable: run by root (gid 0) its
/// effective gid differs from the real one, so the kernel passes AT_SECURE=1 in the auxv.
fn setgid_copy(root: &Path, exe: &Path) -> Result<PathBuf, String> {
    use std::os::unix::fs::PermissionsExt;
    const NOGROUP: u32 = 65534;
    let dir = target_dir(root).join("secure-exec");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let dst = dir.join(exe.file_name().ok_or("no file name")?);
    let _ = std::fs::remove_file(&dst);
    std::fs::copy(exe, &dst).map_err(|e| format!("copy to {}: {e}", dst.display()))?;
    std::os::unix::fs::chown(&dst, Some(0), Some(NOGROUP)).map_err(|e| format!("chown {}: {e}", dst.display()))?;
    // chmod after chown: chown clears the setgid bit.
    std::fs::set_permissions(&dst, std::fs::Permissions::from_mode(0o2755))
        .map_err(|e| format!("chmod g+s {}: {e}", dst.display()))?;
    Ok(dst)
}

// ---------------------------------------------------------------------------------------------
// loom

const LOOM_DESCRIPTION: &str =
    "RUSTFLAGS=\"--cfg loom\" LOOM_MAX_PREEMPTIONS=3 cargo test -p gort --lib --release --target x86_64-unknown-linux-gnu loom_tests";

fn loom_command(root: &Path) -> Command {
    let mut c = cargo(root);
    c.args(["test", "-p", "gort", "--lib", "--release", "--target", HOST, "loom_tests"])
        .env("RUSTFLAGS", "--cfg loom")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env("LOOM_MAX_PREEMPTIONS", "3")
        // Separate target dir: a RUSTFLAGS change would otherwise rebuild the normal release
        // build of everything each time the two alternate.
        .env("CARGO_TARGET_DIR", target_dir(root).join("loom"));
    c
}

fn cmd_loom(args: &[String]) -> Result<i32, Fail> {
    if let Some(a) = args.first() {
        return Err(format!("loom: unexpected argument {a:?}").into());
    }
    let root = root();
    setup(&root, &[target(HOST)?])?;
    println!("== loom: {LOOM_DESCRIPTION}");
    let t0 = Instant::now();
    let st = loom_command(&root).status().map_err(|e| format!("cargo: {e}"))?;
    println!("== loom: {} in {:.1} s", if st.success() { "ok" } else { "FAILED" }, t0.elapsed().as_secs_f64());
    Ok(if st.success() { 0 } else { 1 })
}

// ---------------------------------------------------------------------------------------------
// build-all

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

/// The rt0 file that marks an OS port as present on this branch (asm/rt0_<goos>_<goarch>.S).
fn rt0_file(triple: &str) -> String {
    format!("asm/rt0_{}.S", goos_goarch(triple).replace('/', "_"))
}

fn cmd_build_all(args: &[String]) -> Result<i32, Fail> {
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
        let mut built = Tally { of: 1, ..Tally::default() };
        let mut linked = Tally::default();
        let mut inspected = Tally::default();
        let mut ran = Tally::default();
        let mut notes = Vec::new();

        let rt0 = rt0_file(t.triple);
        if !ported.iter().any(|p| p.triple == t.triple) {
            let why = format!("no {} OS layer on this branch ({rt0} missing)", goos_goarch(t.triple));
            println!("  NOT BUILT: {why}");
            built.skipped = Some("not built".into());
            linked.skipped = Some("-".into());
            inspected.skipped = Some("-".into());
            ran.skipped = Some("-".into());
            notes.push(format!("not built: {why}"));
            table.push((t.triple, built, linked, inspected, ran, notes));
            continue;
        }

        // built: the runtime library compiles (and its rt0 assembles) for the target.
        if cargo_build(&root, &["-p", "gort", "--lib"], t.triple, false)?.success {
            built.ok = 1;
        } else {
            notes.push("the gort library does not build".to_string());
        }

        // linked: examples/hello and every e2e program.
        let mut exes: Vec<(String, PathBuf)> = Vec::new();
        let example = cargo_build(&root, &["-p", "gort", "--example", "hello"], t.triple, false)?;
        let e2e = cargo_build(&root, &["-p", "gort-e2e", "--bins", "--keep-going"], t.triple, false)?;
        let mut wanted = vec![("examples/hello".to_string(), example.exes.get("hello").cloned())];
        for p in e2e_programs(&root)? {
            wanted.push((format!("e2e/{p}"), e2e.exes.get(&p).cloned()));
        }
        for (name, exe) in wanted {
            linked.of += 1;
            match exe {
                Some(exe) => {
                    linked.ok += 1;
                    exes.push((name, exe));
                }
                None => {
                    println!("  {name:<24} NOT LINKED");
                    notes.push(format!("{name} did not link"));
                }
            }
        }

        // inspected.
        for (name, exe) in &exes {
            inspected.of += 1;
            let (problems, facts) = match t.inspect {
                Inspect::Elf { class, machine, entry } => inspect_elf(exe, class, machine, entry),
                Inspect::MachO { cputype, entry, dylib } => inspect::macho(exe, cputype, entry, dylib),
                Inspect::Pe { machine, entry, dlls } => inspect::pe(exe, machine, entry, dlls),
            };
            if problems.is_empty() {
                inspected.ok += 1;
                println!("  {name:<24} ok: {facts}");
            } else {
                println!("  {name:<24} BAD: {}", problems.join("; "));
                notes.push(format!("{name}: {}", problems.join("; ")));
            }
        }

        // ran: the two hello programs, where this machine can run the target.
        match (t.runnable)(t) {
            Err(why) => {
                println!("  NOT RUN: {why}");
                ran.skipped = Some("no (cannot run here)".into());
                notes.push(format!("NOT RUN, NOT COUNTED AS PASSED: {why}"));
            }
            Ok(()) => {
                (t.prepare)(&root);
                for (name, exe) in exes.iter().filter(|(n, _)| n.ends_with("/hello")) {
                    ran.of += 1;
                    let mut c = runner_command(t, exe);
                    c.current_dir(&root).env_remove("GODEBUG").env_remove("GOMAXPROCS").envs((t.runner_env)(&root));
                    match run::run_captured(c, Duration::from_secs(30)) {
                        Ok(o)
                            if o.status.is_some_and(|s| s.success()) && check::find(&o.stdout, b"hello").is_some() =>
                        {
                            ran.ok += 1;
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
                            notes.push(format!("{name} did not run cleanly ({})", o.describe_status()));
                        }
                        Err(e) => {
                            println!("  {name:<24} RUN FAILED: {e}");
                            notes.push(format!("{name}: {e}"));
                        }
                    }
                }
            }
        }
        table.push((t.triple, built, linked, inspected, ran, notes));
    }

    println!();
    println!(
        "{:<30} {:<14} {:<10} {:<12} {:<12} {:<22}",
        "target", "GOOS/GOARCH", "built", "linked", "inspected", "ran"
    );
    let mut bad = false;
    for (triple, built, linked, inspected, ran, _) in &table {
        println!(
            "{:<30} {:<14} {:<10} {:<12} {:<12} {:<22}",
            triple,
            goos_goarch(triple),
            built.cell(),
            linked.cell(),
            inspected.cell(),
            ran.cell()
        );
        bad |= built.failed() || linked.failed() || inspected.failed() || ran.failed();
    }
    println!("{:<30} {:<14} {:<10} {:<12} {:<12} {:<22}", "(no such target)", "darwin/arm", "n/a", "n/a", "n/a", "n/a");
    for (triple, _, _, _, _, notes) in &table {
        for n in notes {
            println!("  {triple}: {n}");
        }
    }
    println!("  darwin/arm: does not exist as a platform (Go dropped it in 1.15); never built");
    let not_run: Vec<&str> =
        table.iter().filter(|r| r.4.skipped.as_deref() == Some("no (cannot run here)")).map(|r| r.0).collect();
    let not_built: Vec<&str> = table.iter().filter(|r| r.1.skipped.is_some()).map(|r| r.0).collect();
    if !not_run.is_empty() {
        println!("build-all: built and inspected but NOT RUN (no machine here): {}", not_run.join(", "));
    }
    if !not_built.is_empty() {
        println!("build-all: NOT BUILT (OS layer absent on this branch): {}", not_built.join(", "));
    }
    println!("build-all: {}", if bad { "FAILED" } else { "ok (for the targets built)" });
    Ok(if bad { 1 } else { 0 })
}

/// Runs a tool, returning its stdout as text.
fn tool_output(cmd: &[&str], file: &Path) -> Result<String, String> {
    let out = Command::new(cmd[0]).args(&cmd[1..]).arg(file).output().map_err(|e| format!("{}: {e}", cmd[0]))?;
    if !out.status.success() {
        return Err(format!("{} failed: {}", cmd.join(" "), String::from_utf8_lossy(&out.stderr).trim()));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// readelf (binutils) or LLVM's equivalent in GNU output style.
fn readelf() -> Vec<&'static str> {
    if which("readelf").is_some() {
        vec!["readelf"]
    } else if which("llvm-readelf").is_some() {
        vec!["llvm-readelf"]
    } else {
        vec!["llvm-readobj", "--elf-output-style=GNU"]
    }
}

fn nm() -> &'static str {
    if which("nm").is_some() {
        "nm"
    } else {
        "llvm-nm"
    }
}

/// Checks a gort ELF executable; returns (problems, a one-line description).
fn inspect_elf(exe: &Path, class: &str, machine: &str, entry_sym: &str) -> (Vec<String>, String) {
    let mut problems = Vec::new();
    let re = readelf();
    let with = |flag: &str| {
        let mut c = re.clone();
        c.push(flag);
        tool_output(&c, exe)
    };
    let header = match with("-hlW") {
        Ok(s) => s,
        Err(e) => return (vec![e], String::new()),
    };
    let field = |name: &str| {
        header.lines().find_map(|l| l.trim().strip_prefix(name).map(|v| v.trim().to_string())).unwrap_or_default()
    };
    let (got_class, got_machine, got_type, got_entry) =
        (field("Class:"), field("Machine:"), field("Type:"), field("Entry point address:"));
    if got_class != class {
        problems.push(format!("class {got_class:?}, want {class}"));
    }
    if !got_machine.contains(machine) {
        problems.push(format!("machine {got_machine:?}, want {machine}"));
    }
    let entry = u64::from_str_radix(got_entry.trim_start_matches("0x").trim_start_matches("0X"), 16).ok();

    // Program headers: no PT_INTERP, a GNU_STACK without E.
    let mut stack_flags = None;
    for l in header.lines() {
        let w: Vec<&str> = l.split_whitespace().collect();
        match w.first() {
            Some(&"INTERP") => problems.push("has PT_INTERP (wants a dynamic loader)".into()),
            Some(&"GNU_STACK") if w.len() >= 8 => stack_flags = Some(w[6..w.len() - 1].join("")),
            _ => {}
        }
    }
    match &stack_flags {
        None => problems.push("no PT_GNU_STACK (the stack may be executable)".into()),
        Some(f) if f.contains('E') => problems.push(format!("GNU_STACK is executable ({f})")),
        Some(_) => {}
    }

    match with("-dW") {
        Ok(d) => {
            let needed: Vec<&str> = d.lines().filter(|l| l.contains("(NEEDED)")).map(str::trim).collect();
            if !needed.is_empty() {
                problems.push(format!("DT_NEEDED entries: {}", needed.join(", ")));
            }
        }
        Err(e) => problems.push(e),
    }

    // The entry point is the rt0 symbol.
    match tool_output(&[nm()], exe) {
        Ok(syms) => {
            let addr = syms.lines().find_map(|l| {
                let w: Vec<&str> = l.split_whitespace().collect();
                (w.len() == 3 && w[2] == entry_sym).then(|| u64::from_str_radix(w[0], 16).ok()).flatten()
            });
            match (addr, entry) {
                (None, _) => problems.push(format!("no symbol {entry_sym}")),
                (Some(a), Some(e)) if a == e => {}
                (Some(a), _) => problems.push(format!("entry point {got_entry} is not {entry_sym} ({a:#x})")),
            }
        }
        Err(e) => problems.push(e),
    }
    let facts = format!(
        "{got_class} {got_machine}, {}, entry {got_entry} = {entry_sym}, static, GNU_STACK {}",
        got_type.split_whitespace().next().unwrap_or("?"),
        stack_flags.unwrap_or_default()
    );
    (problems, facts)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The inspector must reject an ordinary dynamically linked program.
    #[test]
    fn inspect_rejects_a_dynamic_executable() {
        let exe = Path::new("/bin/true");
        if !exe.exists() || (which("readelf").is_none() && which("llvm-readobj").is_none()) {
            eprintln!("skipped: no /bin/true or no readelf");
            return;
        }
        let (problems, _) = inspect_elf(exe, "ELF64", "X86-64", "_rt0_amd64_linux");
        let all = problems.join("; ");
        assert!(all.contains("PT_INTERP"), "{all}");
        assert!(all.contains("DT_NEEDED"), "{all}");
    }

    #[test]
    fn targets_table_is_consistent() {
        assert!(TARGETS.iter().any(|t| t.triple == HOST && t.default_test));
        for t in TARGETS {
            assert_eq!(t.runner.is_empty(), t.runner_packages.is_empty(), "{}", t.triple);
        }
    }
}
