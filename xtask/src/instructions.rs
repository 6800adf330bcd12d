//! `cargo xtask bench --instructions`: instructions per operation of the switch path, counted by
//! valgrind's callgrind, so that a change to the hot paths can be judged without timing noise.
//!
//! Each program (benches bench_yield, bench_pingpong, bench_spawn, bench_skynet) runs twice
//! under callgrind with GOMAXPROCS=1, at two sizes (BENCH_N); the difference in instructions
//! divided by the difference in operations is the cost of one operation, without startup and
//! exit. Threads are counted apart (`--separate-threads=yes`) and, for gort, only the busiest one
//! (the M running the goroutines) is used: sysmon's thread wakes by the clock, and valgrind's
//! slowdown changes how often. GODEBUG=asyncpreemptoff=1 (valgrind does not follow a goroutine
//! resumed from a saved signal frame) and forcepreemptns=2 s (next to no cooperative preemption
//! requests from sysmon either: both depend on time) make the counts the same from run to run.
//!
//! The Go twins (benches/go/yield, pingpong, spawn, skynet) run beside them the same way, all
//! their threads summed (`Threads::All`: Go may move its one P between Ms). Go's runtime reads
//! GOMAXPROCS=1 and asyncpreemptoff=1 too (forcepreemptns is gort's), and its garbage
//! collector's work is included, as in its timings. The last column is the ratio the timed rows
//! aim at, without their noise (and without what instructions do not show: page faults, cache
//! misses).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::bench::{go_setup, tool_setup};
use super::targets::{setup, target};
use super::{cargo_build, root, target_dir, Fail, HOST};

/// One row: the program, what one operation is, how many operations a BENCH_N makes, and the
/// two sizes.
struct Row {
    prog: &'static str,
    op: &'static str,
    ops_per_n: u64,
    sizes: [u64; 2],
}

const ROWS: &[Row] = &[
    Row { prog: "yield", op: "gosched (a switch)", ops_per_n: 2, sizes: [10_000, 60_000] },
    Row { prog: "pingpong", op: "round trip (2 sends, 2 receives)", ops_per_n: 1, sizes: [10_000, 60_000] },
    Row { prog: "spawn", op: "go + run + exit", ops_per_n: 1, sizes: [10_000, 60_000] },
    // Per leaf of the 10-way tree: 1.11 goroutines (go + run + exit), a send and a receive.
    Row { prog: "skynet", op: "leaf (1.11 goroutines, a send, a receive)", ops_per_n: 1, sizes: [10_000, 100_000] },
];

pub fn cmd_instructions() -> Result<i32, Fail> {
    let root = root();
    setup(&root, &[target(HOST)?])?;
    let valgrind = tool_setup("valgrind", "valgrind").map_err(Fail::Setup)?;
    println!("== bench --instructions: building gort programs (cargo build -p gort-benches --release --target {HOST})");
    let built = cargo_build(&root, &["-p", "gort-benches", "--bins"], HOST, true)?;
    if !built.success {
        return Err(Fail::Setup("building the gort bench programs failed (errors above)".into()));
    }
    let out_dir = target_dir(&root).join("bench").join("callgrind");
    // The Go twins, counted the same way: a ratio no timing noise moves.
    let go_dir = out_dir.join("go");
    let names: Vec<&str> = ROWS.iter().map(|r| r.prog).collect();
    let go = go_setup(&root, &go_dir, &names);
    if let Err(why) = &go {
        println!("== bench --instructions: NO Go column: {why}");
    }
    let mut failed = 0;
    println!("{:<10} {:>12} {:>12} {:>8}  per", "row", "gort", "go", "gort/go");
    for row in ROWS {
        let exe = built
            .exes
            .get(&format!("bench_{}", row.prog))
            .ok_or_else(|| Fail::Setup(format!("bench_{} was not built", row.prog)))?;
        let gort = per_op(&valgrind, exe, row, &out_dir.join(row.prog), Threads::Busiest);
        let go_exe = go_dir.join(row.prog);
        let twin = match &go {
            Ok(()) if go_exe.is_file() => {
                per_op(&valgrind, &go_exe, row, &out_dir.join(format!("go-{}", row.prog)), Threads::All)
            }
            Ok(()) => Err(format!("go build of {} failed", row.prog)),
            Err(why) => Err(why.clone()),
        };
        match (gort, twin) {
            (Ok(g), Ok(t)) => println!("{:<10} {:>12.1} {:>12.1} {:>8.2}  {}", row.prog, g, t, g / t, row.op),
            (Ok(g), Err(e)) => {
                failed += 1;
                println!("{:<10} {:>12.1} {:>12} {:>8}  {} (Go twin FAILED: {e})", row.prog, g, "-", "-", row.op);
            }
            (Err(e), _) => {
                failed += 1;
                println!("{:<10} FAILED: {e}", row.prog);
            }
        }
    }
    Ok(if failed == 0 { 0 } else { 1 })
}

/// Instructions per operation of `exe` (a gort program or its Go twin): callgrind at the row's
/// two sizes, their counts (`threads`) subtracted and divided by the operations between them.
/// Outputs go to `dir`-N.
fn per_op(valgrind: &Path, exe: &Path, row: &Row, dir: &Path, threads: Threads) -> Result<f64, String> {
    let mut counts = [0u64; 2];
    for (k, &n) in row.sizes.iter().enumerate() {
        let dir = PathBuf::from(format!("{}-{n}", dir.display()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let out = Command::new(valgrind)
            .args(["--tool=callgrind", "--separate-threads=yes"])
            .arg(format!("--callgrind-out-file={}", dir.join("cg.out").display()))
            .arg(exe)
            .env("GOMAXPROCS", "1")
            .env("GODEBUG", "asyncpreemptoff=1,forcepreemptns=2000000000")
            .env("BENCH_N", n.to_string())
            .output()
            .map_err(|e| format!("valgrind: {e}"))?;
        if !out.status.success() {
            return Err(format!("exit {:?}: {}", out.status.code(), String::from_utf8_lossy(&out.stderr)));
        }
        counts[k] = run_count(&dir, threads)?;
    }
    if counts[1] <= counts[0] {
        return Err(format!("the larger run counted fewer instructions ({counts:?})"));
    }
    let ops = (row.sizes[1] - row.sizes[0]) * row.ops_per_n;
    Ok((counts[1] - counts[0]) as f64 / ops as f64)
}

/// Which of callgrind's per-thread counts make up a run's count.
#[derive(Clone, Copy)]
enum Threads {
    /// The busiest thread: gort's one M at GOMAXPROCS=1 runs every goroutine, and its sysmon's
    /// count follows the clock (valgrind's slowdown), so leaving it out keeps the counts exact.
    Busiest,
    /// Every thread: Go may hand its one P from M to M during a run (its skynet ran on two
    /// threads, 116 M and 262 M instructions: the busiest alone undercounted a leaf by 30–40 %);
    /// its sysmon and idle threads add a few thousand instructions, under 0.1 per operation.
    All,
}

/// A run's instructions from callgrind's per-thread outputs in `dir` (cg.out-01, cg.out-02, ...:
/// each has a `summary:` or `totals:` line), as `threads` says.
fn run_count(dir: &Path, threads: Threads) -> Result<u64, String> {
    let mut totals = Vec::new();
    for e in fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        let p = e.map_err(|e| e.to_string())?.path();
        let text = fs::read_to_string(&p).map_err(|e| format!("{}: {e}", p.display()))?;
        let total = text
            .lines()
            .find_map(|l| l.strip_prefix("summary:").or_else(|| l.strip_prefix("totals:")))
            .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok());
        if let Some(t) = total {
            totals.push(t);
        }
    }
    if totals.is_empty() {
        return Err(format!("no callgrind totals in {}", dir.display()));
    }
    Ok(match threads {
        Threads::Busiest => totals.into_iter().max().unwrap_or(0),
        Threads::All => totals.into_iter().sum(),
    })
}
