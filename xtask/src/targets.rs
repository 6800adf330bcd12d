//! The targets xtask knows and how to get a machine ready for them; not a command itself, but
//! what `run`, `test`, `build-all`, `stress`, `lint`, `loom`, `bench`, `compile-fail` and
//! `doc-examples` share.
//!
//! - TARGETS: every build target (linux amd64/arm64/arm, windows amd64/arm64/arm, darwin
//!   amd64/arm64), whether it is in the default `cargo xtask test` list and in
//!   `cargo xtask build-all`, the runner that runs its programs here (qemu-aarch64, qemu-arm,
//!   wine; none when native or when nothing can run it), and what build-all inspects in its
//!   binaries. Adding a target (aarch64 through qemu, windows through wine, ...) means editing
//!   the TARGETS table only.
//! - `setup`: `run`, `test` and `build-all` (and the others above) first run `rustup target add`
//!   for the targets they use, and make sure clang (needed to assemble rt0) and the targets'
//!   runners exist: missing ones are installed with apt-get when running as root; otherwise a
//!   missing clang stops with a line saying what to install, and a missing runner makes that
//!   target's cases SKIPPED.
//! - `target_env`: what a cargo command for a target needs besides `--target` (the linker, the
//!   darwin "SDK", -Zbuild-std for tier 3 targets).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::{is_root, run, target_dir, which, Fail, HOST};

/// One build target and how to run its programs on this machine.
pub struct Target {
    pub triple: &'static str,
    /// In the default target list of `cargo xtask test`.
    pub default_test: bool,
    /// Built and inspected by `cargo xtask build-all`.
    pub build_all: bool,
    /// Command prefix that runs one of its binaries here (empty: execute directly).
    pub runner: &'static [&'static str],
    /// Debian packages that provide the runner.
    pub runner_packages: &'static [&'static str],
    /// Extra environment for the runner, kept even for env-clear cases.
    pub runner_env: fn(&Path) -> Vec<(String, String)>,
    /// Ok when its binaries can run on this machine, else why not.
    pub runnable: fn(&Target) -> Result<(), String>,
    /// Run once before its programs run (e.g. start wine's server), given the workspace root.
    pub prepare: fn(&Path),
    /// What build-all checks in a linked binary.
    pub inspect: Inspect,
    /// Tier 3 in Rust (no rustup rust-std): built with `RUSTC_BOOTSTRAP=1 -Zbuild-std=core,alloc`.
    pub build_std: bool,
}

/// What `build-all` verifies in a binary (inspect.rs); `test` checks the ELF properties too.
#[derive(Clone, Copy)]
pub enum Inspect {
    /// ELF (inspect::elf): readelf's `Class:` (ELF32/ELF64), a substring of its `Machine:`, the
    /// symbol the ELF entry point must be.
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
pub static TARGETS: &[Target] = &[
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

/// The DLLs a windows gort program may import (lower case): kernel32, the API set that
/// exports WaitOnAddress/WakeByAddress*, and Winsock (ws2_32: gort::net).
pub const WINDOWS_DLLS: &[&str] = &["kernel32.dll", "api-ms-win-core-synch-l1-2-0.dll", "ws2_32.dll"];

/// The only dylib a darwin gort program loads.
const DARWIN_DYLIB: &str = "/usr/lib/libSystem.B.dylib";

/// Runnable-check of targets no machine of ours can run (darwin, windows on ARM).
fn cannot_run_here(t: &Target) -> Result<(), String> {
    Err(format!("no {} machine or emulator on this linux/amd64 host", goos_goarch(t.triple)))
}

/// Go's GOOS/GOARCH for a Rust triple, e.g. "darwin/arm64".
pub fn goos_goarch(triple: &str) -> String {
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
///
/// A server already running is stopped first, so the one the cases use is always the one
/// started here: a leftover server (an earlier step's, or one wineboot started with wine's
/// default persistence of a few seconds) can exit while a case starts, and a wine client that
/// loses its server mid-start exits 1 (sometimes 0) having printed nothing.
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
    // A fresh prefix first: `wineserver -p60` refuses to start for a prefix that does not exist.
    if !prefix.join("system.reg").is_file() {
        run(&["wine", "wineboot"]);
    }
    // `wineserver -k` fails when no server runs: that is fine, nothing to stop.
    let _ = Command::new("wineserver").arg("-k").envs(env.iter().cloned()).stderr(Stdio::null()).status();
    for cmd in [&["wineserver", "-w"][..], &["wineserver", "-p60"][..], &["wine", "wineboot"][..]] {
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

pub fn target(triple: &str) -> Result<&'static Target, String> {
    TARGETS.iter().find(|t| t.triple == triple).ok_or_else(|| {
        let known: Vec<&str> = TARGETS.iter().map(|t| t.triple).collect();
        format!("unknown target {triple:?}; known: {}", known.join(", "))
    })
}

/// The command that runs `exe` of target `t` here (through its runner, if any).
pub fn runner_command(t: &Target, exe: &Path) -> Command {
    match t.runner.split_first() {
        None => Command::new(exe),
        Some((tool, rest)) => {
            let mut c = Command::new(tool);
            c.args(rest).arg(exe);
            c
        }
    }
}

/// `rustup target add` for the targets, and clang plus the targets' runners (apt-get when root).
/// Returns nothing on success; a missing runner is only reported (its cases will be SKIPPED).
pub fn setup(root: &Path, targets: &[&Target]) -> Result<(), Fail> {
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
pub fn rustup_targets(root: &Path, targets: &[&Target]) -> Result<(), Fail> {
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

/// What a cargo command for `triple` needs besides `--target` (linker, darwin SDK, build-std);
/// shared by every build and `cargo xtask lint`.
pub fn target_env(c: &mut Command, root: &Path, triple: &str) -> Result<(), String> {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets_table_is_consistent() {
        assert!(TARGETS.iter().any(|t| t.triple == HOST && t.default_test));
        for t in TARGETS {
            assert_eq!(t.runner.is_empty(), t.runner_packages.is_empty(), "{}", t.triple);
        }
    }
}
