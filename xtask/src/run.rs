//! Running a program with captured output and a timeout, and the companion client process some
//! e2e cases and benchmarks start beside it (`Companion`).

use std::ffi::OsString;
use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

/// What a run produced.
#[derive(Debug)]
pub struct Outcome {
    /// None when the program was killed for timing out.
    pub status: Option<ExitStatus>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
    pub timed_out: bool,
    pub elapsed: Duration,
    /// Set when an output pipe was still held open (by an escaped grandchild) after the program
    /// ended; that stream may be cut short.
    pub pipes_left_open: bool,
    /// The companion's run (`Err`: why it never ran), when one was asked for.
    pub companion: Option<Result<Box<Outcome>, String>>,
    /// The harness ended the program because its companion had exited (`Companion::stop_program`).
    pub stopped_after_companion: bool,
}

/// A client process started beside the program once the program has said where it listens: the
/// last blank-separated word of the program's first stdout line is the address, which replaces
/// `{addr}` in `args` (or, when no argument holds `{addr}`, comes first, before `args`). Its output is captured like the program's; it gets
/// what is left of the program's timeout (at least a few seconds).
pub struct Companion {
    pub exe: PathBuf,
    pub args: Vec<OsString>,
    /// End the program (SIGKILL to its group) once the companion has exited: a server that
    /// never stops by itself.
    pub stop_program: bool,
}

/// The address in a server's first line: its last word (e.g. `listening on 127.0.0.1:4000`).
pub fn address_of(first_line: &[u8]) -> Option<String> {
    let l = String::from_utf8_lossy(first_line);
    let w = l.split_whitespace().last()?;
    w.contains(':').then(|| w.to_string())
}

impl Outcome {
    /// "exit 0", "killed by signal 11 (SIGSEGV)", "timed out".
    pub fn describe_status(&self) -> String {
        match self.status {
            None if self.stopped_after_companion => "ended by the harness once its companion had exited".into(),
            None => "timed out".into(),
            Some(st) => describe(st),
        }
    }
}

/// How a process ended, in words.
pub fn describe(st: ExitStatus) -> String {
    if let Some(c) = st.code() {
        format!("exit {c}")
    } else if let Some(s) = st.signal() {
        format!("killed by signal {s} ({})", signal_name(s))
    } else {
        format!("{st}")
    }
}

/// The conventional shell exit code for a status (128 + signal when killed).
pub fn shell_code(st: ExitStatus) -> i32 {
    st.code().unwrap_or_else(|| 128 + st.signal().unwrap_or(0))
}

fn signal_name(s: i32) -> &'static str {
    match s {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        4 => "SIGILL",
        5 => "SIGTRAP",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        13 => "SIGPIPE",
        15 => "SIGTERM",
        31 => "SIGSYS",
        _ => "?",
    }
}

extern "C" {
    // libc's kill(2); std already links libc, so no crate is needed for this one call.
    fn kill(pid: i32, sig: i32) -> i32;
}
const SIGKILL: i32 = 9;

/// Runs `cmd` (stdin from /dev/null, stdout and stderr captured) in its own process group, killing
/// the whole group if it runs longer than `timeout`.
pub fn run_captured(cmd: Command, timeout: Duration) -> std::io::Result<Outcome> {
    run_captured_input(cmd, timeout, None)
}

/// `run_captured`, with `input` (if any) written to the program's stdin through a pipe by a
/// thread of its own (then the pipe is closed, so the program reads EOF); a program that stops
/// reading early just makes that thread's write fail.
pub fn run_captured_input(cmd: Command, timeout: Duration, input: Option<&[u8]>) -> std::io::Result<Outcome> {
    run_with_companion(cmd, timeout, input, None)
}

/// `run_captured_input`, plus a `Companion` started when the program's first stdout line arrives
/// (never started, with the reason, if stdout ends without one). After the program ends, the
/// companion is waited for (it has its own timeout).
pub fn run_with_companion(
    mut cmd: Command,
    timeout: Duration,
    input: Option<&[u8]>,
    companion: Option<Companion>,
) -> std::io::Result<Outcome> {
    cmd.stdin(if input.is_some() { Stdio::piped() } else { Stdio::null() });
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0);
    let start = Instant::now();
    let mut child: Child = cmd.spawn()?;
    if let (Some(mut pipe), Some(input)) = (child.stdin.take(), input) {
        let input = input.to_vec();
        thread::spawn(move || {
            use std::io::Write;
            let _ = pipe.write_all(&input);
        });
    }
    let pgid = child.id() as i32;
    let (tx, rx) = mpsc::channel::<(u8, Vec<u8>)>();
    let stop_program = companion.as_ref().is_some_and(|c| c.stop_program);
    let wants_companion = companion.is_some();
    let (ctx, crx) = mpsc::channel::<Result<Box<Outcome>, String>>();
    let mut companion = companion;
    for (which, pipe) in [
        (1u8, child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>)),
        (2, child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>)),
    ] {
        let tx = tx.clone();
        let mut pipe = pipe.expect("piped");
        let mut companion = if which == 1 { companion.take() } else { None };
        let ctx = ctx.clone();
        thread::spawn(move || {
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            loop {
                match pipe.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(k) => buf.extend_from_slice(&chunk[..k]),
                }
                if let Some(nl) = companion.is_some().then(|| buf.iter().position(|&b| b == b'\n')).flatten() {
                    let c = companion.take().expect("checked");
                    start_companion(c, &buf[..nl], timeout.saturating_sub(start.elapsed()), ctx.clone());
                }
            }
            if companion.is_some() {
                let _ = ctx.send(Err(format!(
                    "never started: the program's stdout ended without a first line saying where it listens ({:?})",
                    String::from_utf8_lossy(&buf)
                )));
            }
            let _ = tx.send((which, buf));
        });
    }
    drop(tx);
    drop(ctx);
    let mut companion_out: Option<Result<Box<Outcome>, String>> = None;
    let mut stopped_after_companion = false;

    let mut timed_out = false;
    let mut nap = Duration::from_micros(200);
    let status = loop {
        if let Some(st) = child.try_wait()? {
            break Some(st);
        }
        if wants_companion && companion_out.is_none() {
            if let Ok(o) = crx.try_recv() {
                companion_out = Some(o);
                if stop_program {
                    stopped_after_companion = true;
                    // SAFETY: plain kill(2) on the process group we created for this child.
                    unsafe { kill(-pgid, SIGKILL) };
                    let _ = child.wait();
                    break None;
                }
            }
        }
        if start.elapsed() >= timeout {
            timed_out = true;
            // SAFETY: plain kill(2) on the process group we created for this child.
            unsafe { kill(-pgid, SIGKILL) };
            let _ = child.wait();
            break None;
        }
        thread::sleep(nap);
        nap = (nap * 2).min(Duration::from_millis(10));
    };
    let elapsed = start.elapsed();
    // The group may hold descendants that still write; give the pipes a moment to drain, then
    // kill what is left of the group so the readers see EOF.
    let (mut stdout, mut stderr) = (None, None);
    let mut pipes_left_open = false;
    let mut deadline = Instant::now() + Duration::from_secs(2);
    while stdout.is_none() || stderr.is_none() {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok((1, b)) => stdout = Some(b),
            Ok((_, b)) => stderr = Some(b),
            Err(mpsc::RecvTimeoutError::Timeout) if !pipes_left_open => {
                pipes_left_open = true;
                // SAFETY: as above.
                unsafe { kill(-pgid, SIGKILL) };
                deadline = Instant::now() + Duration::from_secs(1);
            }
            Err(_) => break,
        }
    }
    if wants_companion && companion_out.is_none() {
        // The companion has its own timeout (what was left of ours, at least COMPANION_MIN).
        let wait = timeout.saturating_sub(start.elapsed()).max(COMPANION_MIN) + Duration::from_secs(5);
        companion_out = Some(match crx.recv_timeout(wait) {
            Ok(o) => o,
            Err(_) => Err("did not report back (harness bug?)".into()),
        });
    }
    Ok(Outcome {
        status,
        stdout: stdout.unwrap_or_default(),
        stderr: stderr.unwrap_or_default(),
        timed_out,
        elapsed,
        pipes_left_open,
        companion: companion_out,
        stopped_after_companion,
    })
}

/// The shortest timeout a companion gets, even when the program used up most of its own.
const COMPANION_MIN: Duration = Duration::from_secs(10);

/// Starts `c` with the address in `first_line` on a thread of its own, which sends its outcome.
fn start_companion(c: Companion, first_line: &[u8], left: Duration, done: mpsc::Sender<Result<Box<Outcome>, String>>) {
    let Some(addr) = address_of(first_line) else {
        let _ = done.send(Err(format!(
            "never started: the program's first line {:?} does not end with an address (HOST:PORT)",
            String::from_utf8_lossy(first_line)
        )));
        return;
    };
    thread::spawn(move || {
        let mut cmd = Command::new(&c.exe);
        let placeholder = c.args.iter().any(|a| a.to_string_lossy().contains("{addr}"));
        if !placeholder {
            cmd.arg(&addr);
        }
        cmd.args(c.args.iter().map(|a| match a.to_str() {
            Some(s) if s.contains("{addr}") => OsString::from(s.replace("{addr}", &addr)),
            _ => a.clone(),
        }));
        let r = run_captured(cmd, left.max(COMPANION_MIN))
            .map(Box::new)
            .map_err(|e| format!("could not start {}: {e}", c.exe.display()));
        let _ = done.send(r);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn address_is_the_first_lines_last_word() {
        assert_eq!(address_of(b"listening on 127.0.0.1:4000").as_deref(), Some("127.0.0.1:4000"));
        assert_eq!(address_of(b"[::1]:80").as_deref(), Some("[::1]:80"));
        assert_eq!(address_of(b"hello, world"), None);
        assert_eq!(address_of(b""), None);
    }

    #[test]
    fn companion_starts_after_the_first_line_and_stops_the_program() {
        // `sh` stands in for a server: it says where it "listens", then waits; `echo` stands in
        // for the companion and gets the address in place of {addr}.
        let mut prog = Command::new("sh");
        prog.args(["-c", "echo 'listening on 127.0.0.1:9'; sleep 30"]);
        let comp = Companion { exe: "echo".into(), args: vec!["got".into(), "{addr}".into()], stop_program: true };
        let out = run_with_companion(prog, Duration::from_secs(20), None, Some(comp)).unwrap();
        assert!(out.stopped_after_companion && !out.timed_out, "{out:?}");
        let c = out.companion.unwrap().unwrap();
        assert_eq!(c.stdout, b"got 127.0.0.1:9\n");
        // No first line: the companion never starts, and says why.
        let mut prog = Command::new("true");
        prog.arg("x");
        let comp = Companion { exe: "echo".into(), args: vec![], stop_program: false };
        let out = run_with_companion(prog, Duration::from_secs(20), None, Some(comp)).unwrap();
        assert!(out.companion.unwrap().unwrap_err().contains("never started"));
    }
}
