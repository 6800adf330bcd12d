//! `cargo xtask stress [--runs N] [--seed S] [--target T]... [--filter SUBSTR]... [--load]`: the
//! end-to-end suite N times (default 20) on every runnable target, each run with a GOMAXPROCS
//! from 1 to 8 drawn from a seeded generator. `--filter` may repeat (a case runs if its id
//! contains any of them). `--load` runs a CPU hog per core beside the suite (busy threads in this
//! process), so cases also run on a machine with no idle core, where timing windows open wide. The seed is printed first and with every failure, so
//! `--seed S` replays the same sequence of GOMAXPROCS values. A case that sets GOMAXPROCS itself
//! keeps its own value; a case whose expectation depends on GOMAXPROCS being unset says so with
//! `stress: keep-env REASON` and runs unchanged.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

use super::case::Case;
use super::targets::{setup, target, Target, TARGETS};
use super::test::{case_skip, load_cases, run_case};
use super::{root, Fail, USAGE};

/// Default number of runs of the whole suite.
const DEFAULT_RUNS: usize = 20;

/// splitmix64: a small, well-mixed generator; the same seed gives the same GOMAXPROCS sequence.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// The GOMAXPROCS of each run, from the seed.
pub fn gomaxprocs_sequence(seed: u64, runs: usize) -> Vec<u32> {
    let mut g = SplitMix(seed);
    (0..runs).map(|_| 1 + (g.next() % 8) as u32).collect()
}

pub fn cmd_stress(args: &[String]) -> Result<i32, Fail> {
    let mut runs = DEFAULT_RUNS;
    let mut seed: Option<u64> = None;
    let mut triples: Vec<String> = Vec::new();
    let mut filters: Vec<String> = Vec::new();
    let mut load = false;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = |name: &str| it.next().cloned().ok_or(format!("{name} needs a value"));
        match a.as_str() {
            "--runs" => runs = val("--runs")?.parse().map_err(|_| "--runs: not a number")?,
            "--seed" => seed = Some(val("--seed")?.parse().map_err(|_| "--seed: not a number")?),
            "--target" => triples.push(val("--target")?),
            "--filter" => filters.push(val("--filter")?),
            "--load" => load = true,
            s => return Err(format!("stress: unknown argument {s:?}\n{USAGE}").into()),
        }
    }
    let seed = seed.unwrap_or_else(|| {
        let t = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        t.as_nanos() as u64 ^ (std::process::id() as u64) << 32
    });
    let targets: Vec<&Target> = if triples.is_empty() {
        TARGETS.iter().filter(|t| t.default_test).collect()
    } else {
        triples.iter().map(|t| target(t)).collect::<Result<_, _>>()?
    };
    let root = root();
    let (all_cases, _) = load_cases(&root)?;
    let cases: Vec<&Case> = all_cases
        .iter()
        .filter(|c| filters.is_empty() || filters.iter().any(|f| c.id().contains(f.as_str())))
        .collect();
    if cases.is_empty() {
        return Err("--filter matches no case".into());
    }
    setup(&root, &targets)?;
    let procs = gomaxprocs_sequence(seed, runs);
    let _hogs = load.then(Hogs::start);
    println!(
        "== stress: seed {seed}, {runs} runs, GOMAXPROCS per run {procs:?}{}",
        if load { " (loaded: a CPU hog per core)" } else { "" }
    );
    let started = Instant::now();
    let (mut passed, mut failed, mut skipped) = (0usize, 0usize, 0usize);
    let mut failures: Vec<String> = Vec::new();
    for t in &targets {
        let built = crate::test::build_e2e(&root, t.triple, false)?;
        if let Err(why) = (t.runnable)(t) {
            println!("SKIPPED target {} entirely: {why}", t.triple);
            skipped += cases.len() * runs;
            continue;
        }
        for (run, &g) in procs.iter().enumerate() {
            // As in `test`: e.g. wine's server and services started with their output going
            // nowhere (a run can outlast the server's persistence, so before every run).
            (t.prepare)(&root);
            let t0 = Instant::now();
            let (mut p, mut f) = (0, 0);
            for case in &cases {
                let id = case.id();
                // First: another target's case does not exist here (as in `test`), and its
                // program may not be built for this target (tests/lines).
                if !case.only_on.is_empty() && !case.only_on.iter().any(|tr| tr == t.triple) {
                    continue;
                }
                let Some(exe) = built.exes.get(&case.prog) else {
                    failures.push(format!("{} {id}: not built", t.triple));
                    f += 1;
                    continue;
                };
                if case_skip(t, case).is_some() {
                    skipped += 1;
                    continue;
                }
                let mut c = (*case).clone();
                if c.stress_keep_env.is_none() {
                    // First, so a GOMAXPROCS the case sets itself wins.
                    c.env.insert(0, (b"GOMAXPROCS".to_vec(), g.to_string().into_bytes()));
                }
                let (problems, _) = run_case(&root, t, exe, &c);
                if problems.is_empty() {
                    p += 1;
                } else {
                    f += 1;
                    println!("FAIL {} {id} (run {run}, GOMAXPROCS={g}, seed {seed})", t.triple);
                    for pr in &problems {
                        println!("    {}", pr.trim_start());
                    }
                    println!(
                        "    reproduce: cargo xtask stress --seed {seed} --runs {} --target {} --filter {id}",
                        run + 1,
                        t.triple
                    );
                    failures.push(format!("{} {id} run {run} GOMAXPROCS={g}", t.triple));
                }
            }
            println!(
                "run {run:>3} {} GOMAXPROCS={g}: {p} passed, {f} failed ({:.1} s)",
                t.triple,
                t0.elapsed().as_secs_f64()
            );
            passed += p;
            failed += f;
        }
    }
    println!("== stress summary ({:.1} s, seed {seed})", started.elapsed().as_secs_f64());
    for f in &failures {
        println!("  {f}");
    }
    if skipped > 0 {
        println!("WARNING: {skipped} case runs were SKIPPED (not run, not passed): see `cargo xtask test` for reasons");
    }
    println!("{passed} passed, {failed} failed, {skipped} skipped");
    Ok(if failed > 0 { 1 } else { 0 })
}

/// One busy thread per core until dropped (`--load`).
struct Hogs {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    threads: Vec<std::thread::JoinHandle<()>>,
}

impl Hogs {
    fn start() -> Hogs {
        use std::sync::atomic::{AtomicBool, Ordering};
        let n = std::thread::available_parallelism().map_or(2, |n| n.get());
        let stop = std::sync::Arc::new(AtomicBool::new(false));
        let threads = (0..n)
            .map(|_| {
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let mut x = 1u64;
                    while !stop.load(Ordering::Relaxed) {
                        for _ in 0..10_000 {
                            x = std::hint::black_box(x.wrapping_mul(6364136223846793005).wrapping_add(1));
                        }
                    }
                })
            })
            .collect();
        Hogs { stop, threads }
    }
}

impl Drop for Hogs {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::gomaxprocs_sequence;

    #[test]
    fn seed_replays_and_stays_in_range() {
        let a = gomaxprocs_sequence(42, 200);
        assert_eq!(a, gomaxprocs_sequence(42, 200));
        assert!(a.iter().all(|&g| (1..=8).contains(&g)));
        // Every value 1..=8 shows up in 200 draws.
        assert!((1..=8).all(|g| a.contains(&g)));
        assert_ne!(a, gomaxprocs_sequence(43, 200));
    }
}
