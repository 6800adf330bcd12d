//! The startup check of `cargo xtask test` on the host: the system calls the smallest program
//! (the e2e `hello`) makes, counted with strace (issue 22: "what a hello program never needs
//! should not be set up before its main runs"). It fails if one of them comes back: a second
//! thread (sysmon starts when a program can first need it), a clock read through the system
//! call (boottrace's clock waits for the vDSO), or more calls than `MAX_CALLS`.

use std::path::Path;
use std::process::{Command, Stdio};

use super::bench::tool_setup;
use super::test::{harness_row, Row};
use super::Built;

/// System calls hello must not make, and why.
const FORBIDDEN: &[(&str, &str)] = &[
    ("clone", "a second thread before main returns (sysmon starts lazily: ensure_sysmon)"),
    ("clone3", "a second thread before main returns (sysmon starts lazily: ensure_sysmon)"),
    ("clock_gettime", "a clock read through the system call (boottrace's clock waits for the vDSO)"),
];

/// The most system calls hello may make, execve and exit_group included (22 on 2026-12-04:
/// execve, arch_prctl, sched_getaffinity, the heap arena's mmap at its hint (no trimming), one
/// mmap for the heap's metadata (persistentalloc), the stack region's mmap + madvise + floor
/// guard (m0's signal stack is the region's lowest 32 KB, guarded by that floor:
/// stack.rs `sysstack_at_region_floor`), minit 3 (sigprocmask to read the initial mask,
/// gettid, sigaltstack: m0 sets no mask when the initial one blocks no fatal signal), 6
/// rt_sigaction (SIGURG's waits for the first preemption), goroutine 1's stack guard 2 (the
/// guard-region probe on its slot: madvise + getcpu; the chunk's other slots get theirs in
/// batches as they are handed out, stack.rs `Pool::batch_shift`), fcntl, write, exit_group).
/// Read at their first use, which a hello never reaches: the huge page size and
/// vm.max_map_count (a file each: open, read, close); the FS base and the CPU's features
/// (CPUID: no system call, but a trap to the hypervisor in a VM) only for boottrace.
const MAX_CALLS: usize = 22;

/// The row "startup syscalls HOST": one check, or SKIPPED without strace.
pub fn run(root: &Path, built: &Built) -> (Row, Vec<String>) {
    harness_row("startup syscalls (e2e hello, strace)", "startup", |row, failures| {
        let exe = built.exes.get("hello").ok_or("no e2e hello binary")?;
        let strace = match tool_setup("strace", "strace") {
            Ok(p) => p,
            Err(why) => {
                println!("SKIPPED startup syscalls: {why}");
                row.skipped += 1;
                row.note = format!("SKIPPED: {why}");
                return Ok(());
            }
        };
        let log = super::target_dir(root).join("startup-hello.strace");
        let st = Command::new(&strace)
            .args(["-f", "-qq", "-o"])
            .arg(&log)
            .arg(exe)
            .stdout(Stdio::null())
            .status()
            .map_err(|e| format!("strace: {e}"))?;
        if !st.success() {
            return Err(format!("strace {}: {st}", exe.display()));
        }
        let text = std::fs::read_to_string(&log).map_err(|e| format!("{}: {e}", log.display()))?;
        let calls = syscall_names(&text);
        let mut problems = Vec::new();
        for (name, why) in FORBIDDEN {
            if calls.iter().any(|c| c == name) {
                problems.push(format!("{name}: {why}"));
            }
        }
        if calls.len() > MAX_CALLS {
            problems.push(format!("{} system calls, more than {MAX_CALLS}", calls.len()));
        }
        println!("== startup: hello made {} system calls ({}): {}", calls.len(), log.display(), calls.join(" "));
        if problems.is_empty() {
            println!("PASS startup syscalls ({} ≤ {MAX_CALLS}, none of {:?})", calls.len(), names(FORBIDDEN));
            row.passed += 1;
        } else {
            for p in &problems {
                println!("FAIL startup syscalls: {p}");
            }
            failures.push(format!("startup syscalls: {}", problems.join("; ")));
            row.failed += 1;
        }
        Ok(())
    })
}

fn names(list: &[(&str, &str)]) -> Vec<String> {
    list.iter().map(|(n, _)| n.to_string()).collect()
}

/// The system call names of an `strace -f -qq` log, in order (`PID name(args) = r` per line).
fn syscall_names(log: &str) -> Vec<String> {
    log.lines()
        .filter_map(|l| {
            let rest = l.split_once(' ').map_or(l, |(_, r)| r).trim_start();
            let name = rest.split('(').next()?;
            (!name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')).then(|| name.to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::syscall_names;

    #[test]
    fn reads_strace_lines() {
        let log = "123 execve(\"x\", [\"x\"], 0x7ff /* 3 vars */) = 0\n123 arch_prctl(ARCH_SET_FS, 0x1) = 0\n\
                   123 write(1, \"hi\\n\", 3) = 3\n123 exit_group(0) = ?\n";
        assert_eq!(syscall_names(log), ["execve", "arch_prctl", "write", "exit_group"]);
    }
}
