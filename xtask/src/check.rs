//! Comparing a run's outcome with a case's expectations, and showing the differences.

use crate::case::{Case, Stream};
use crate::run::Outcome;

/// Checks `out` against `case`; returns one message per broken expectation (empty: pass).
pub fn check(case: &Case, out: &Outcome) -> Vec<String> {
    let mut problems = check_program(case, out);
    if let Some(words) = &case.companion {
        let args = words.iter().map(|w| esc(w)).collect::<Vec<_>>().join(" ");
        match &out.companion {
            None => problems.push(format!("companion ({args}): the harness has no outcome for it")),
            Some(Err(why)) => problems.push(format!("companion ({args}): {why}")),
            Some(Ok(o)) if o.status.is_some_and(|s| s.success()) => {}
            Some(Ok(o)) => problems.push(format!(
                "companion ({args}) failed: {}\n{}\n{}",
                if o.timed_out { "timed out".to_string() } else { o.describe_status() },
                show_captured("companion stdout", &o.stdout),
                show_captured("companion stderr", &o.stderr)
            )),
        }
    }
    problems
}

/// The program's own expectations (exit, streams).
fn check_program(case: &Case, out: &Outcome) -> Vec<String> {
    let mut problems = Vec::new();
    if case.exit_companion {
        // `exit: companion`: a server the harness ends once its companion is done.
        if !out.stopped_after_companion {
            problems.push(format!(
                "expected to run until its companion exited, ended with {}\n{}\n{}",
                out.describe_status(),
                show_captured("stdout", &out.stdout),
                show_captured("stderr", &out.stderr)
            ));
        }
        check_stream("stdout", &case.stdout, &out.stdout, &mut problems);
        check_stream("stderr", &case.stderr, &out.stderr, &mut problems);
        return problems;
    }
    if case.exit_timeout {
        // `exit: timeout`: killed by the harness is the expected end; the output so far is checked.
        if !out.timed_out {
            problems.push(format!(
                "expected to run until the {} s timeout, ended with {}",
                case.timeout.as_secs(),
                out.describe_status()
            ));
        }
        check_stream("stdout", &case.stdout, &out.stdout, &mut problems);
        check_stream("stderr", &case.stderr, &out.stderr, &mut problems);
        return problems;
    }
    if out.timed_out {
        problems.push(format!(
            "timed out after {} s; captured so far:\n{}\n{}",
            case.timeout.as_secs(),
            show_captured("stdout", &out.stdout),
            show_captured("stderr", &out.stderr)
        ));
        return problems;
    }
    if let Some(sig) = case.exit_signal {
        use std::os::unix::process::ExitStatusExt as _;
        if out.status.and_then(|s| s.signal()) != Some(sig) {
            problems.push(format!("expected death by signal {sig}, got {}", out.describe_status()));
        }
    } else {
        match out.status.and_then(|s| s.code()) {
            Some(c) if c == case.exit => {}
            _ => problems.push(format!("expected exit {}, got {}", case.exit, out.describe_status())),
        }
    }
    check_stream("stdout", &case.stdout, &out.stdout, &mut problems);
    check_stream("stderr", &case.stderr, &out.stderr, &mut problems);
    if out.pipes_left_open {
        problems.push("an output pipe stayed open after the program ended (a descendant escaped?)".into());
    }
    // A failure says more with the output next to it: show the streams whose exact content was
    // not already diffed above.
    if !problems.is_empty() {
        let shown: Vec<String> = [("stdout", &case.stdout, &out.stdout), ("stderr", &case.stderr, &out.stderr)]
            .into_iter()
            .filter(|(_, want, _)| want.exact.is_none() && want.contains.is_empty() && want.lines_in_order.is_empty())
            .map(|(name, _, got)| show_captured(name, got))
            .collect();
        if !shown.is_empty() {
            problems.push(shown.join("\n"));
        }
    }
    problems
}

fn check_stream(name: &str, want: &Stream, got: &[u8], problems: &mut Vec<String>) {
    if let Some(exact) = &want.exact {
        if exact.as_slice() != got {
            problems.push(format!("{name} differs (- expected, + actual):\n{}", diff(exact, got)));
        }
    }
    for sub in &want.contains {
        if find(got, sub).is_none() {
            problems.push(format!("{name} does not contain {:?}\n{}", esc(sub), show_captured(name, got)));
        }
    }
    for sub in &want.not_contains {
        if find(got, sub).is_some() {
            problems.push(format!("{name} contains {:?}, which it must not\n{}", esc(sub), show_captured(name, got)));
        }
    }
    if !want.lines_in_order.is_empty() {
        let lines: Vec<&[u8]> = split_lines(got);
        let mut next = 0;
        for group in &want.lines_in_order {
            match (next..lines.len()).find(|&i| group.iter().all(|s| find(lines[i], s).is_some())) {
                Some(i) => next = i + 1,
                None => {
                    let what = group.iter().map(|s| format!("{:?}", esc(s))).collect::<Vec<_>>().join(" && ");
                    let after = if next == 0 {
                        "anywhere".to_string()
                    } else {
                        format!("after line {} ({:?})", next, esc(lines[next - 1]))
                    };
                    let elsewhere = lines.iter().position(|l| group.iter().all(|s| find(l, s).is_some()));
                    let hint = match elsewhere {
                        Some(i) => format!(" (a matching line is at line {}, out of order)", i + 1),
                        None if group.len() > 1 => {
                            let partial = lines.iter().position(|l| find(l, &group[0]).is_some());
                            match partial {
                                Some(i) => format!(" (line {} has {:?} but not all the rest)", i + 1, esc(&group[0])),
                                None => String::new(),
                            }
                        }
                        None => String::new(),
                    };
                    problems.push(format!("{name}: no line with {what} {after}{hint}\n{}", show_captured(name, got)));
                    break;
                }
            }
        }
    }
}

/// Lines without their terminators (a final newline does not start an extra empty line).
pub fn split_lines(b: &[u8]) -> Vec<&[u8]> {
    if b.is_empty() {
        return Vec::new();
    }
    let b = b.strip_suffix(b"\n").unwrap_or(b);
    b.split(|&c| c == b'\n').collect()
}

pub fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return Some(0);
    }
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Bytes as text, with anything that is not printable ASCII (or tab) shown as \xNN.
pub fn esc(b: &[u8]) -> String {
    let mut s = String::with_capacity(b.len());
    for &c in b {
        if c == b'\t' || (0x20..0x7f).contains(&c) {
            s.push(c as char);
        } else {
            s.push_str(&format!("\\x{c:02x}"));
        }
    }
    s
}

/// At most this many lines of a stream are shown in a failure (head and tail).
const SHOW_LINES: usize = 60;

/// A captured stream for a failure message, indented, long output cut in the middle.
pub fn show_captured(name: &str, b: &[u8]) -> String {
    if b.is_empty() {
        return format!("    --- {name}: (empty)");
    }
    let lines = split_lines(b);
    let mut s = format!("    --- {name} ({} bytes, {} lines):", b.len(), lines.len());
    let show = |s: &mut String, l: &[u8]| {
        s.push_str("\n    | ");
        s.push_str(&esc(l));
    };
    if lines.len() <= SHOW_LINES {
        lines.iter().for_each(|l| show(&mut s, l));
    } else {
        lines[..SHOW_LINES / 2].iter().for_each(|l| show(&mut s, l));
        s.push_str(&format!("\n    ... {} lines omitted ...", lines.len() - SHOW_LINES));
        lines[lines.len() - SHOW_LINES / 2..].iter().for_each(|l| show(&mut s, l));
    }
    if !b.ends_with(b"\n") {
        s.push_str("\n    (no newline at end)");
    }
    s
}

/// A line diff of expected vs actual (LCS; falls back to the first difference when the inputs
/// are too big for the table). Runs of equal lines longer than 6 are elided.
pub fn diff(want: &[u8], got: &[u8]) -> String {
    let a = split_lines(want);
    let b = split_lines(got);
    let mut ops: Vec<(char, &[u8])> = Vec::new();
    if (a.len() + 1) * (b.len() + 1) > 4_000_000 {
        let i = a.iter().zip(&b).position(|(x, y)| x != y).unwrap_or(a.len().min(b.len()));
        let mut s = format!(
            "    (too long for a full diff: {} vs {} lines; first difference at line {})",
            a.len(),
            b.len(),
            i + 1
        );
        if let Some(l) = a.get(i) {
            s.push_str(&format!("\n    - {}", esc(l)));
        }
        if let Some(l) = b.get(i) {
            s.push_str(&format!("\n    + {}", esc(l)));
        }
        return s;
    }
    // lcs[i][j]: length of the LCS of a[i..] and b[j..].
    let w = b.len() + 1;
    let mut lcs = vec![0u32; (a.len() + 1) * w];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i * w + j] =
                if a[i] == b[j] { lcs[(i + 1) * w + j + 1] + 1 } else { lcs[(i + 1) * w + j].max(lcs[i * w + j + 1]) };
        }
    }
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            ops.push((' ', a[i]));
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[(i + 1) * w + j] >= lcs[i * w + j + 1]) {
            ops.push(('-', a[i]));
            i += 1;
        } else {
            ops.push(('+', b[j]));
            j += 1;
        }
    }
    let mut s = String::new();
    let mut k = 0;
    while k < ops.len() {
        if ops[k].0 == ' ' {
            let run = ops[k..].iter().take_while(|o| o.0 == ' ').count();
            let (head, tail) = if k == 0 {
                (0, 3)
            } else if k + run == ops.len() {
                (3, 0)
            } else {
                (3, 3)
            };
            if run > head + tail + 1 {
                for o in &ops[k..k + head] {
                    s.push_str(&format!("\n      {}", esc(o.1)));
                }
                s.push_str(&format!("\n      ... {} equal lines ...", run - head - tail));
                for o in &ops[k + run - tail..k + run] {
                    s.push_str(&format!("\n      {}", esc(o.1)));
                }
                k += run;
                continue;
            }
        }
        s.push_str(&format!("\n    {} {}", ops[k].0, esc(ops[k].1)));
        k += 1;
    }
    let nl = |x: &[u8]| !x.is_empty() && !x.ends_with(b"\n");
    if nl(want) != nl(got) {
        s.push_str(&format!(
            "\n    (expected {} newline at end, actual {})",
            if nl(want) { "no" } else { "a" },
            if nl(got) { "has none" } else { "has one" }
        ));
    }
    s.trim_start_matches('\n').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_marks_changes() {
        let d = diff(b"a\nb\nc\n", b"a\nx\nc\n");
        assert_eq!(d, "      a\n    - b\n    + x\n      c");
        let long_want: String = (0..20).map(|i| format!("{i}\n")).collect();
        let long_got = long_want.replace("10\n", "ten\n");
        let d = diff(long_want.as_bytes(), long_got.as_bytes());
        assert!(d.contains("equal lines"), "{d}");
        assert!(d.contains("- 10") && d.contains("+ ten"), "{d}");
    }

    #[test]
    fn lines_in_order() {
        let mut case =
            crate::case::parse_file("p", "p", "case a\nstderr-lines-in-order: one && x | two\n").unwrap().remove(0);
        let out = |e: &[u8]| Outcome {
            status: Some(std::os::unix::process::ExitStatusExt::from_raw(0)),
            stdout: vec![],
            stderr: e.to_vec(),
            timed_out: false,
            elapsed: Default::default(),
            pipes_left_open: false,
            companion: None,
            stopped_after_companion: false,
        };
        assert!(check(&case, &out(b"zero\none x\nthree\ntwo\n")).is_empty());
        assert_eq!(check(&case, &out(b"two\none x\n")).len(), 2); // out of order (+ captured output)
        assert!(!check(&case, &out(b"one\ntwo\n")).is_empty()); // "x" missing on the line
        case.exit = 3;
        assert!(!check(&case, &out(b"one x\ntwo\n")).is_empty());
    }

    #[test]
    fn exit_timeout() {
        let case =
            crate::case::parse_file("p", "p", "case a\nexit: timeout\ntimeout: 1\nstdout:\nup\n.\n").unwrap().remove(0);
        let out = |timed_out: bool, o: &[u8]| Outcome {
            status: if timed_out { None } else { Some(std::os::unix::process::ExitStatusExt::from_raw(2 << 8)) },
            stdout: o.to_vec(),
            stderr: vec![],
            timed_out,
            elapsed: Default::default(),
            pipes_left_open: false,
            companion: None,
            stopped_after_companion: false,
        };
        assert!(check(&case, &out(true, b"up\n")).is_empty());
        assert!(!check(&case, &out(false, b"up\n")).is_empty()); // ended (e.g. a deadlock report)
        assert!(!check(&case, &out(true, b"down\n")).is_empty());
    }

    #[test]
    fn companion_outcomes() {
        use std::os::unix::process::ExitStatusExt;
        let cases = crate::case::parse_file(
            "p",
            "p",
            "case a\ncompanion: echo 1 2 3\nstdout-contains: ok\ncase b\ncompanion: http 1\nexit: companion\n",
        )
        .unwrap();
        let run = |code: i32| Outcome {
            status: Some(ExitStatusExt::from_raw(code << 8)),
            stdout: b"ok\n".to_vec(),
            stderr: vec![],
            timed_out: false,
            elapsed: Default::default(),
            pipes_left_open: false,
            companion: None,
            stopped_after_companion: false,
        };
        let with = |c: Option<Result<Box<Outcome>, String>>| Outcome { companion: c, ..run(0) };
        assert!(check(&cases[0], &with(Some(Ok(Box::new(run(0)))))).is_empty());
        assert_eq!(check(&cases[0], &with(Some(Ok(Box::new(run(1)))))).len(), 1);
        assert_eq!(check(&cases[0], &with(Some(Err("never started".into())))).len(), 1);
        assert_eq!(check(&cases[0], &with(None)).len(), 1);
        // exit: companion: the program must have been ended by the harness.
        let mut stopped = with(Some(Ok(Box::new(run(0)))));
        assert!(!check(&cases[1], &stopped).is_empty());
        stopped.status = None;
        stopped.stopped_after_companion = true;
        assert!(check(&cases[1], &stopped).is_empty());
    }
}
