//! Running a program with captured output and a timeout.

use std::io::Read;
use std::os::unix::process::{CommandExt, ExitStatusExt};
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
}

impl Outcome {
    /// "exit 0", "killed by signal 11 (SIGSEGV)", "timed out".
    pub fn describe_status(&self) -> String {
        match self.status {
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
pub fn run_captured_input(mut cmd: Command, timeout: Duration, input: Option<&[u8]>) -> std::io::Result<Outcome> {
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
    for (which, pipe) in [
        (1u8, child.stdout.take().map(|p| Box::new(p) as Box<dyn Read + Send>)),
        (2, child.stderr.take().map(|p| Box::new(p) as Box<dyn Read + Send>)),
    ] {
        let tx = tx.clone();
        let mut pipe = pipe.expect("piped");
        thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = pipe.read_to_end(&mut buf);
            let _ = tx.send((which, buf));
        });
    }
    drop(tx);

    let mut timed_out = false;
    let mut nap = Duration::from_micros(200);
    let status = loop {
        if let Some(st) = child.try_wait()? {
            break Some(st);
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
    Ok(Outcome {
        status,
        stdout: stdout.unwrap_or_default(),
        stderr: stderr.unwrap_or_default(),
        timed_out,
        elapsed,
        pipes_left_open,
    })
}
