//! `cargo xtask run PROG [--target T] [--release] [-- ARGS...]`: builds examples/PROG.rs (or the
//! e2e program tests/e2e/src/bin/PROG.rs when there is no such example) for T (default
//! x86_64-unknown-linux-gnu) and runs it with ARGS, through the target's runner (qemu-aarch64,
//! qemu-arm, wine) when it has one. Exits with the program's exit code (128+N when killed by
//! signal N). The target is set up first as for every command (targets.rs `setup`).
//!
//! (This file is run_cmd.rs because run.rs is the process runner with timeouts the other
//! commands use.)

use super::targets::{runner_command, setup, target};
use super::{cargo_build, e2e_programs, root, run, Fail, HOST, USAGE};

pub fn cmd_run(args: &[String]) -> Result<i32, Fail> {
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
