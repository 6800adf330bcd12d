//! `cargo xtask loom`: gort's loom model checks (the `loom_tests` modules of src/runq.rs,
//! src/chan.rs, src/spinning.rs and src/trace/seqlock.rs), run as
//!
//! ```text
//! RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=3 cargo test -p gort --lib --features trace --release
//!     --target x86_64-unknown-linux-gnu loom_tests
//! ```
//!
//! in its own target directory (target/loom) so the changed RUSTFLAGS do not force rebuilds of
//! the normal release build. `cargo xtask test` runs the same command (`loom_command`) among its
//! host steps unless `--no-loom`.

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use super::targets::{setup, target};
use super::{cargo, root, target_dir, Fail, HOST};

/// The loom run, as `test` and `loom` announce it.
pub const LOOM_DESCRIPTION: &str =
    "RUSTFLAGS=\"--cfg loom\" LOOM_MAX_PREEMPTIONS=3 cargo test -p gort --lib --features trace --release --target x86_64-unknown-linux-gnu loom_tests";

/// The cargo command that runs the loom checks.
pub fn loom_command(root: &Path) -> Command {
    let mut c = cargo(root);
    c.args(["test", "-p", "gort", "--lib", "--features", "trace", "--release", "--target", HOST, "loom_tests"])
        .env("RUSTFLAGS", "--cfg loom")
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env("LOOM_MAX_PREEMPTIONS", "3")
        // Separate target dir: a RUSTFLAGS change would otherwise rebuild the normal release
        // build of everything each time the two alternate.
        .env("CARGO_TARGET_DIR", target_dir(root).join("loom"));
    c
}

pub fn cmd_loom(args: &[String]) -> Result<i32, Fail> {
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
