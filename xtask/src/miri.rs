//! `cargo xtask miri`: the host-testable parts of gort under Miri (undefined-behaviour checks):
//! every `gort --lib` unit test (size classes, the run queue including its multi-threaded
//! steal test, the random P order) and the fuzz targets of src/fuzz.rs on their checked-in seeds
//! plus a few hundred mutants (the argv/envp/auxv walk reads raw pointers: Miri checks each
//! read). Miri needs a nightly toolchain; this pins one (MIRI_TOOLCHAIN) and installs it with
//! rustup when missing. If it cannot be installed, the run says SKIPPED loudly and fails.
//! Not covered: anything that needs the runtime running (context switches, clone, futexes,
//! signals are inline assembly and raw system calls, which Miri cannot execute); loom and the
//! end-to-end suite cover those.

use std::process::Command;

use super::{root, Fail, HOST, USAGE};

/// The pinned nightly (rustc 1.101.0-nightly 92b5b8c87 2026-10-29).
pub const MIRI_TOOLCHAIN: &str = "nightly-2026-10-30";

pub fn cmd_miri(args: &[String]) -> Result<i32, Fail> {
    if let Some(a) = args.first() {
        return Err(format!("miri: unknown argument {a:?}\n{USAGE}").into());
    }
    println!("== miri: rustup toolchain install {MIRI_TOOLCHAIN} (miri, rust-src)");
    let installed = Command::new("rustup")
        .args(["toolchain", "install", MIRI_TOOLCHAIN, "--profile", "minimal"])
        .args(["--component", "miri", "--component", "rust-src"])
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !installed {
        println!("miri: SKIPPED: could not install {MIRI_TOOLCHAIN} with miri (nothing was checked)");
        return Ok(1);
    }
    // `rustup run`, not `cargo +toolchain`: under `cargo xtask`, $CARGO is the pinned toolchain's
    // cargo itself, not rustup's proxy that understands `+toolchain`.
    let mut c = Command::new("rustup");
    c.current_dir(root())
        .args([
            "run",
            MIRI_TOOLCHAIN,
            "cargo",
            "miri",
            "test",
            "-p",
            "gort",
            "--lib",
            "--features",
            "trace",
            "--target",
            HOST,
        ])
        // The fuzz targets read their seeds from fuzz/corpus.
        .env("MIRIFLAGS", "-Zmiri-disable-isolation")
        .env("GORT_FUZZ_EXECS", "200")
        .env_remove("RUSTUP_TOOLCHAIN")
        .env_remove("CARGO")
        .env_remove("RUSTC");
    println!("== miri: MIRIFLAGS=-Zmiri-disable-isolation GORT_FUZZ_EXECS=200 rustup run {MIRI_TOOLCHAIN} cargo miri test -p gort --lib --target {HOST}");
    let ok = c.status().map(|s| s.success()).unwrap_or(false);
    println!("miri: {}", if ok { "no undefined behaviour found" } else { "FAILED (output above)" });
    Ok(if ok { 0 } else { 1 })
}
