//! `cargo xtask usercrate [--target T]... [--no-readme] [--no-package]`: gort as a user's crate
//! sees it (issue 21), one PASS/FAIL line per check and a last line `N passed, M failed` (`, K
//! skipped` when a target cannot run here: loud, never a pass). Per selected target (default:
//! the targets `cargo xtask test` runs):
//!
//! 1. gort's own harness tests: `cargo test -p gort --test runtime` (runtime tests that need a
//!    scheduler, tests/runtime.rs, run by `gort::test_main!`), and tests/harness_demo.rs, whose
//!    tests fail on purpose (a panic in a goroutine, an `Err`, a deadlock, a stack overflow) beside
//!    passing and ignored ones: each failure must be reported FAILED alone, the others pass, the
//!    counts line and exit status 101 must be libtest's; `--list` and a name filter too. Built
//!    in `target/harness` (they need `-C panic=abort` in rustflags, README "Your first gort
//!    program", which would make the workspace's other builds rebuild).
//! 2. templates/gort-app copied to a clean directory outside the workspace (`$TMPDIR/gort-usercrate`,
//!    its gort path rewritten to this checkout), then `cargo run --target T` and `cargo test
//!    --target T` there, through the template's own `.cargo/config.toml` (linker, runner,
//!    rustflags): nothing from xtask's environment but wine's prefix. On the host also the two
//!    link hints: the copy without build.rs must fail with gort's compile_error, without
//!    `gort::main!` with the undefined hint symbol.
//!
//! Then, unless --no-readme, README's "Your first gort program": its ```` ```sh ```` blocks
//! and the ```` ```lang file=PATH ```` blocks (written to PATH, relative to the directory the
//! commands have reached) become one bash script, run with `-euxo pipefail` in a clean
//! directory whose `.cargo/config.toml` patches `gort` (crates.io) to this checkout. And unless
//! --no-package: `cargo package` and `cargo publish --dry-run` of gort-mem and gort.
//!
//! The template's and README's crates share one target directory, `target/usercrate`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::targets::{setup, target, target_env, Target, TARGETS};
use super::{cargo, root, run, target_dir, Fail, HOST, USAGE};

/// The counts and failures of one run.
#[derive(Default)]
struct Tally {
    passed: usize,
    failed: Vec<String>,
    skipped: usize,
}

impl Tally {
    fn check(&mut self, what: &str, t0: Instant, r: Result<(), String>) {
        let ms = t0.elapsed().as_millis();
        match r {
            Ok(()) => {
                println!("PASS {what} ({ms} ms)");
                self.passed += 1;
            }
            Err(e) => {
                println!("FAIL {what} ({ms} ms)\n    {}", e.replace('\n', "\n    "));
                self.failed.push(what.to_string());
            }
        }
    }
}

pub fn cmd_usercrate(args: &[String]) -> Result<i32, Fail> {
    let mut triples: Vec<String> = Vec::new();
    let (mut readme, mut package) = (true, true);
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--target" => triples.push(it.next().ok_or("--target needs a value")?.clone()),
            "--no-readme" => readme = false,
            "--no-package" => package = false,
            s => return Err(format!("usercrate: unknown argument {s:?}\n{USAGE}").into()),
        }
    }
    let targets: Vec<&Target> = if triples.is_empty() {
        TARGETS.iter().filter(|t| t.default_test).collect()
    } else {
        triples.iter().map(|t| target(t)).collect::<Result<_, _>>()?
    };
    let root = root();
    setup(&root, &targets)?;
    let started = Instant::now();
    let mut tally = Tally::default();

    let app = copy_template(&root).map_err(Fail::Harness)?;
    for t in &targets {
        if let Err(why) = (t.runnable)(t) {
            println!("SKIPPED {}: {why} (harness tests and template not run)", t.triple);
            tally.skipped += 1;
            continue;
        }
        (t.prepare)(&root);
        let t0 = Instant::now();
        tally.check(&format!("{}: cargo test -p gort --test runtime", t.triple), t0, runtime_tests(&root, t));
        let t0 = Instant::now();
        tally.check(&format!("{}: harness_demo (failures reported alone)", t.triple), t0, harness_demo(&root, t));
        let t0 = Instant::now();
        tally.check(&format!("{}: templates/gort-app cargo run + cargo test", t.triple), t0, template(&root, &app, t));
    }
    if targets.iter().any(|t| t.triple == HOST) {
        let t0 = Instant::now();
        tally.check("hint: a crate without build.rs", t0, hint_no_build_rs(&root, &app));
        let t0 = Instant::now();
        tally.check("hint: a program without gort::main!", t0, hint_no_main(&root, &app));
    }
    if readme {
        let t0 = Instant::now();
        tally.check("README \"Your first gort program\" (every command)", t0, readme_commands(&root));
    }
    if package {
        let t0 = Instant::now();
        tally.check("cargo package + cargo publish --dry-run (gort-mem, gort)", t0, package_check(&root));
    }
    let mut line = format!("{} passed, {} failed", tally.passed, tally.failed.len());
    if tally.skipped > 0 {
        line += &format!(", {} skipped", tally.skipped);
    }
    for f in &tally.failed {
        println!("failed: {f}");
    }
    println!("usercrate: {line} in {:.0} s", started.elapsed().as_secs_f64());
    Ok(if tally.failed.is_empty() { 0 } else { 1 })
}

/// CARGO_TARGET_<TRIPLE>_<KEY>.
fn target_var(triple: &str, key: &str) -> String {
    format!("CARGO_TARGET_{}_{key}", triple.to_uppercase().replace('-', "_"))
}

/// Runs `c`, failing with its output's tail unless it exits 0; returns stdout and stderr.
fn output_ok(mut c: Command, what: &str) -> Result<(String, String), String> {
    let out = c.output().map_err(|e| format!("{what}: {e}"))?;
    let (so, se) =
        (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned());
    if out.status.success() {
        Ok((so, se))
    } else {
        Err(format!("{what}: {}\n{}{}", run::describe(out.status), tail(&so, 15), tail(&se, 25)))
    }
}

fn tail(s: &str, n: usize) -> String {
    let lines: Vec<&str> = s.lines().collect();
    lines[lines.len().saturating_sub(n)..].iter().map(|l| format!("{l}\n")).collect()
}

/// A cargo command for gort's harness test targets of `t`: target/harness, panic=abort in the
/// target's rustflags, the target's linker and runner.
fn harness_cargo(root: &Path, t: &Target) -> Result<Command, String> {
    let mut c = cargo(root);
    c.env("CARGO_TARGET_DIR", target_dir(root).join("harness"));
    c.env(target_var(t.triple, "RUSTFLAGS"), "-Cpanic=abort");
    if !t.runner.is_empty() {
        c.env(target_var(t.triple, "RUNNER"), t.runner.join(" "));
    }
    c.envs((t.runner_env)(root));
    target_env(&mut c, root, t.triple)?;
    Ok(c)
}

fn runtime_tests(root: &Path, t: &Target) -> Result<(), String> {
    let mut c = harness_cargo(root, t)?;
    c.args(["test", "-p", "gort", "--test", "runtime", "--target", t.triple]);
    let (so, _) = output_ok(c, "cargo test --test runtime")?;
    expect_lines(&so, &["running 6 tests", "test result: ok. 6 passed; 0 failed; 0 ignored"])
}

/// Each of `want` must occur in `out`, in this order.
fn expect_lines(out: &str, want: &[&str]) -> Result<(), String> {
    let mut rest = out;
    for w in want {
        match rest.find(w) {
            Some(i) => rest = &rest[i + w.len()..],
            None => return Err(format!("missing (in order): {w:?}\n--- output:\n{}", tail(out, 30))),
        }
    }
    Ok(())
}

fn harness_demo(root: &Path, t: &Target) -> Result<(), String> {
    let mut c = harness_cargo(root, t)?;
    c.args(["build", "-p", "gort", "--test", "harness_demo", "--target", t.triple, "--message-format=json"]);
    let (so, _) = output_ok(c, "cargo build --test harness_demo")?;
    let exe = so
        .lines()
        .filter(|l| l.contains("\"compiler-artifact\"") && l.contains("harness_demo"))
        .find_map(|l| {
            let i = l.find("\"executable\":\"")? + 14;
            Some(PathBuf::from(&l[i..i + l[i..].find('"')?]))
        })
        .ok_or("no harness_demo executable in cargo's messages")?;
    let run = |args: &[&str]| -> Result<(i32, String, String), String> {
        let mut c = super::targets::runner_command(t, &exe);
        c.args(args).envs((t.runner_env)(root));
        let out = run::run_captured(c, Duration::from_secs(300)).map_err(|e| format!("running harness_demo: {e}"))?;
        let Some(st) = out.status else { return Err(format!("harness_demo {args:?}: {}", out.describe_status())) };
        Ok((
            run::shell_code(st),
            String::from_utf8_lossy(&out.stdout).into(),
            String::from_utf8_lossy(&out.stderr).into(),
        ))
    };
    let (code, so, se) = run(&[])?;
    if code != 101 {
        return Err(format!("exit status {code}, want 101 (a test failed)\n{}{}", tail(&so, 20), tail(&se, 20)));
    }
    expect_lines(
        &so,
        &[
            "running 7 tests",
            "test passes_before ... ok",
            "test panics_in_a_goroutine ... FAILED",
            "test returns_an_error ... FAILED",
            "test deadlocks ... FAILED",
            "test overflows_its_stack ... FAILED",
            "test ignored_one ... ignored",
            "test passes_after ... ok",
            "failures:",
            "test result: FAILED. 2 passed; 4 failed; 1 ignored; 0 measured; 0 filtered out",
        ],
    )?;
    // Each failure's own report, on stderr, in the order the tests ran.
    expect_lines(
        &se,
        &[
            "panic: index out of bounds",
            "panic: the test returned an error: \"on purpose\"",
            "fatal error: all goroutines are asleep - deadlock!",
            "stack exceeds 65536-byte limit",
            "runtime: hint: ",
            "GORT_STACK_SIZE",
            "gort::go_with_stack(",
        ],
    )?;
    let (code, so, _) = run(&["--list"])?;
    if code != 0 {
        return Err(format!("--list: exit status {code}"));
    }
    expect_lines(&so, &["passes_before: test", "passes_after: test", "7 tests, 0 benchmarks"])?;
    let (code, so, _) = run(&["passes", "--skip", "after"])?;
    if code != 0 {
        return Err(format!("filter `passes --skip after`: exit status {code}, want 0\n{}", tail(&so, 10)));
    }
    expect_lines(
        &so,
        &[
            "running 1 test",
            "test passes_before ... ok",
            "test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 6 filtered out",
        ],
    )
}

/// templates/gort-app copied afresh to $TMPDIR/gort-usercrate/gort-app, its gort path rewritten.
fn copy_template(root: &Path) -> Result<PathBuf, String> {
    let base = std::env::temp_dir().join("gort-usercrate");
    let app = base.join("gort-app");
    let _ = fs::remove_dir_all(&app);
    copy_dir(&root.join("templates/gort-app"), &app).map_err(|e| format!("copying templates/gort-app: {e}"))?;
    let manifest = app.join("Cargo.toml");
    let text = fs::read_to_string(&manifest).map_err(|e| e.to_string())?;
    let dep = "gort = { path = \"../..\" }";
    if !text.contains(dep) {
        return Err(format!("templates/gort-app/Cargo.toml: no line {dep:?} to rewrite"));
    }
    let text = text.replace(dep, &format!("gort = {{ path = {:?} }}", root.display().to_string()));
    fs::write(&manifest, text).map_err(|e| e.to_string())?;
    Ok(app)
}

fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    fs::create_dir_all(to)?;
    for e in fs::read_dir(from)? {
        let e = e?;
        let dst = to.join(e.file_name());
        if e.file_type()?.is_dir() {
            if e.file_name() != "target" {
                copy_dir(&e.path(), &dst)?;
            }
        } else {
            fs::copy(e.path(), dst)?;
        }
    }
    Ok(())
}

/// A user's shell environment for commands in a user crate's directory: xtask's own cargo
/// variables removed (cargo sets them for `cargo xtask`), the shared target/usercrate, wine's
/// prefix.
fn user_env(c: &mut Command, root: &Path) {
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy().into_owned();
        if (k.starts_with("CARGO_") && k != "CARGO_HOME") || k == "RUSTFLAGS" || k == "RUSTC_WRAPPER" {
            c.env_remove(k);
        }
    }
    c.env("CARGO_TARGET_DIR", target_dir(root).join("usercrate"));
    if let Ok(t) = target("x86_64-pc-windows-msvc") {
        c.envs((t.runner_env)(root));
    }
}

/// A cargo command in a user crate's directory (see user_env).
fn user_cargo(root: &Path, dir: &Path) -> Command {
    let mut c = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    c.current_dir(dir);
    user_env(&mut c, root);
    c
}

fn template(root: &Path, app: &Path, t: &Target) -> Result<(), String> {
    let mut c = user_cargo(root, app);
    c.args(["run", "--target", t.triple]);
    let (so, _) = output_ok(c, "cargo run")?;
    expect_lines(&so, &["squares=[0, 1, 4, 9, 16, 25, 36, 49, 64, 81] sum=285"])?;
    if t.triple == HOST {
        // A user's crate has gort's default features: no tracer; GODEBUG=gorttrace says so.
        let trace = std::env::temp_dir().join("gort-usercrate-trace.json");
        let _ = fs::remove_file(&trace);
        let mut c = user_cargo(root, app);
        c.args(["run", "--target", t.triple]).env("GODEBUG", format!("gorttrace={}", trace.display()));
        let (so, se) = output_ok(c, "cargo run with GODEBUG=gorttrace")?;
        expect_lines(&so, &["squares=[0, 1, 4, 9, 16, 25, 36, 49, 64, 81] sum=285"])?;
        if !se.contains("GODEBUG=gorttrace needs gort's `trace` feature") || trace.exists() {
            return Err(format!(
                "GODEBUG=gorttrace without the trace feature: stderr {se:?}, file made: {}",
                trace.exists()
            ));
        }
    }
    let mut c = user_cargo(root, app);
    c.args(["test", "--target", t.triple]);
    let (so, _) = output_ok(c, "cargo test")?;
    expect_lines(&so, &["running 2 tests", "test result: ok. 2 passed; 0 failed"])
}

/// A copy of the template in a sibling directory, changed by `change`, built on the host: the
/// build must fail with `want` in its messages.
fn hint_case(
    root: &Path,
    app: &Path,
    name: &str,
    change: impl FnOnce(&Path) -> std::io::Result<()>,
    want: &str,
) -> Result<(), String> {
    let dir = app.with_file_name(name);
    let _ = fs::remove_dir_all(&dir);
    copy_dir(app, &dir).map_err(|e| e.to_string())?;
    change(&dir).map_err(|e| e.to_string())?;
    let mut c = user_cargo(root, &dir);
    c.args(["build", "--bins", "--target", HOST]);
    let out = c.output().map_err(|e| e.to_string())?;
    let se = String::from_utf8_lossy(&out.stderr);
    if out.status.success() {
        return Err("the build succeeded; it must fail".into());
    }
    if !se.contains(want) {
        return Err(format!("the build failed without {want:?}:\n{}", tail(&se, 20)));
    }
    Ok(())
}

fn hint_no_build_rs(root: &Path, app: &Path) -> Result<(), String> {
    hint_case(
        root,
        app,
        "gort-app-no-build-rs",
        |d| fs::remove_file(d.join("build.rs")),
        "error: gort: this crate's build.rs does not forward gort's link flags",
    )
}

fn hint_no_main(root: &Path, app: &Path) -> Result<(), String> {
    hint_case(
        root,
        app,
        "gort-app-no-main",
        |d| {
            let p = d.join("src/main.rs");
            let s = fs::read_to_string(&p)?;
            fs::write(p, s.replace("gort::main!(main);", "#[allow(dead_code)]"))
        },
        "undefined symbol: gort: no gort::main!(main) in this program",
    )
}

/// The README section's commands as one bash script (see the module doc).
pub fn readme_script(readme: &str) -> Result<String, String> {
    let start =
        readme.find("\n## Your first gort program").ok_or("README.md: no section \"## Your first gort program\"")?;
    let body = &readme[start + 1..];
    let end = body[3..].find("\n## ").map(|i| i + 3).unwrap_or(body.len());
    let mut script = String::new();
    let mut lines = body[..end].lines();
    let mut blocks = 0;
    while let Some(l) = lines.next() {
        let Some(info) = l.strip_prefix("```") else { continue };
        let mut block = Vec::new();
        for b in lines.by_ref() {
            if b.starts_with("```") {
                break;
            }
            block.push(b);
        }
        let words: Vec<&str> = info.split_whitespace().collect();
        if let Some(path) = words.iter().find_map(|w| w.strip_prefix("file=")) {
            script += &format!("mkdir -p \"$(dirname {path})\"\ncat > {path} <<'GORT_README_EOF'\n");
            for b in &block {
                script += b;
                script.push('\n');
            }
            script += "GORT_README_EOF\n";
            blocks += 1;
        } else if words.first() == Some(&"sh") {
            for b in &block {
                script += b;
                script.push('\n');
            }
            blocks += 1;
        }
    }
    if blocks == 0 {
        return Err("README.md \"Your first gort program\": no sh or file= blocks".into());
    }
    Ok(script)
}

fn readme_commands(root: &Path) -> Result<(), String> {
    let readme = fs::read_to_string(root.join("README.md")).map_err(|e| e.to_string())?;
    let script = readme_script(&readme)?;
    let base = std::env::temp_dir().join("gort-readme");
    let _ = fs::remove_dir_all(&base);
    fs::create_dir_all(base.join(".cargo")).map_err(|e| e.to_string())?;
    // What publishing gort would provide: `gort = "0.1"` resolves to this checkout.
    fs::write(
        base.join(".cargo/config.toml"),
        format!(
            "# written by cargo xtask usercrate: gort from this checkout instead of crates.io\n[patch.crates-io]\ngort = {{ path = {:?} }}\ngort-mem = {{ path = {:?} }}\n",
            root.display().to_string(),
            root.join("mem").display().to_string()
        ),
    )
    .map_err(|e| e.to_string())?;
    fs::write(base.join("readme.sh"), &script).map_err(|e| e.to_string())?;
    let mut bash = Command::new("bash");
    bash.current_dir(&base).args(["-euxo", "pipefail", "readme.sh"]);
    user_env(&mut bash, root);
    let out = run::run_captured(bash, Duration::from_secs(1200)).map_err(|e| format!("bash readme.sh: {e}"))?;
    if !out.status.is_some_and(|s| s.success()) {
        return Err(format!(
            "{}/readme.sh: {}\n{}{}",
            base.display(),
            out.describe_status(),
            tail(&String::from_utf8_lossy(&out.stdout), 15),
            tail(&String::from_utf8_lossy(&out.stderr), 30)
        ));
    }
    // What the README says the commands print (cargo run and cargo test, host then arm64).
    let ok = "test result: ok. 2 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out";
    expect_lines(
        &String::from_utf8_lossy(&out.stdout),
        &[
            "\"gort\" matches: true",
            "sqrt(len(gamma)) = 2.2361, 3 words",
            "running 2 tests",
            "test squares_over_a_channel ... ok",
            "test json_roundtrip ... ok",
            ok,
            "\"gort\" matches: true",
            "sqrt(len(gamma)) = 2.2361, 3 words",
            ok,
            "test result: ok. 1 passed; 0 failed; 0 ignored; 0 measured; 1 filtered out",
            "squares_over_a_channel: test",
        ],
    )
}

fn package_check(root: &Path) -> Result<(), String> {
    let mut c = cargo(root);
    c.args(["package", "-p", "gort-mem", "-p", "gort", "--allow-dirty"]);
    output_ok(c, "cargo package")?;
    let mut c = cargo(root);
    c.args(["publish", "--dry-run", "--no-verify", "-p", "gort-mem", "-p", "gort", "--allow-dirty"]);
    output_ok(c, "cargo publish --dry-run")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::readme_script;

    #[test]
    fn readme_blocks_become_a_script() {
        let md = "# x\n\n## Your first gort program\n\ntext\n```sh\ncargo new hello\ncd hello\n```\n```rs file=src/main.rs\nfn main() {}\n```\n```toml\nnot = \"run\"\n```\n## Next\n```sh\nnot run\n```\n";
        let s = readme_script(md).unwrap();
        assert_eq!(
            s,
            "cargo new hello\ncd hello\nmkdir -p \"$(dirname src/main.rs)\"\ncat > src/main.rs <<'GORT_README_EOF'\nfn main() {}\nGORT_README_EOF\n"
        );
        assert!(readme_script("# x\n").is_err());
    }
}
