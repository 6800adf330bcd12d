//! Parser for tests/e2e/cases/<prog>.case files. The format is documented at the top of test.rs
//! and in tests/e2e/README.md; every line that is not understood is an error, never ignored.

use std::time::Duration;

/// Timeout of a case without a `timeout:` key.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// One case: how to run the program and what to expect.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    /// The program (file stem of the .case file).
    pub prog: String,
    /// The case's name (`case NAME`).
    pub name: String,
    /// Line of the `case` line, for messages.
    pub line: usize,
    pub args: Vec<Vec<u8>>,
    /// Start from an empty environment instead of the harness's.
    pub env_clear: bool,
    /// `env:` entries, applied in order.
    pub env: Vec<(Vec<u8>, Vec<u8>)>,
    /// `env-unset:` keys.
    pub env_unset: Vec<Vec<u8>>,
    pub exit: i32,
    /// `exit: signal N`: the program must die by signal N (then `exit` is unused).
    pub exit_signal: Option<i32>,
    /// `exit: timeout`: the program must still be running when `timeout` ends (the harness kills
    /// it; e.g. a server blocked in accept that must not be called deadlocked).
    pub exit_timeout: bool,
    pub timeout: Duration,
    pub stdout: Stream,
    pub stderr: Stream,
    /// `skip-on: TRIPLE REASON...`: targets where the case cannot run, and why (reported SKIPPED).
    pub skip_on: Vec<(String, String)>,
    /// `secure-exec`: run a setgid copy of the program so the kernel sets AT_SECURE (needs root and
    /// a native target; SKIPPED otherwise).
    pub secure_exec: bool,
    /// `stress: keep-env REASON`: `cargo xtask stress` must not add GOMAXPROCS to this case.
    pub stress_keep_env: Option<String>,
    /// `symbolize`: nameless traceback frames in stderr (`?()` + `\tEXE+0xADDR`) are named with
    /// llvm-symbolizer before the checks (windows: the names are in the PDB).
    pub symbolize: bool,
    /// `pprof: FILE FLAGS...` (may repeat): after the run, `go tool pprof -top FLAGS FILE` (FILE
    /// relative to the repository root, removed before the run) and its output appended to
    /// stdout, after a line `pprof FILE FLAGS:`, before the checks.
    pub pprof: Vec<(Vec<u8>, Vec<Vec<u8>>)>,
    /// `only-on: TRIPLE...`: the case is an OS-specific expectation (e.g. windows' own wording of
    /// a report, next to the linux one): it runs on these targets only and does not exist for
    /// the others (not run, not counted). Empty: every target.
    pub only_on: Vec<String>,
    /// `needs-cpu: FEATURE...`: x86 CPU features the host must have (the case's program runs on
    /// this machine's CPU, natively or under wine); without them the case is SKIPPED, loudly.
    pub needs_cpu: Vec<String>,
    /// `needs-linux: MAJOR.MINOR`: the oldest linux kernel the case's expectation holds on (the
    /// host's kernel: the case's program runs natively); on an older one it is SKIPPED, loudly.
    pub needs_linux: Option<(u32, u32)>,
    /// `stdin:` block: what the program reads on standard input (None: /dev/null).
    pub stdin: Option<Vec<u8>>,
    /// `companion: WORDS`: the host-native client (tests/companion) the harness starts as
    /// `companion ADDR WORDS...` once the program's first stdout line ends with ADDR; the case
    /// fails unless it exits 0.
    pub companion: Option<Vec<Vec<u8>>>,
    /// `exit: companion`: the program (a server that never stops) must still be running when its
    /// companion exits; the harness then ends it.
    pub exit_companion: bool,
}

impl Case {
    /// `prog/name`, what --filter matches and progress lines print.
    pub fn id(&self) -> String {
        format!("{}/{}", self.prog, self.name)
    }

    /// Whether a run that printed nothing at all cannot pass: some stream must hold something.
    pub fn expects_output(&self) -> bool {
        [&self.stdout, &self.stderr].iter().any(|s| {
            s.exact.as_ref().is_some_and(|e| !e.is_empty()) || !s.contains.is_empty() || !s.lines_in_order.is_empty()
        })
    }
}

/// Expectations for one output stream. With none set the stream is not checked.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Stream {
    /// Exact content.
    pub exact: Option<Vec<u8>>,
    /// Substrings that must occur.
    pub contains: Vec<Vec<u8>>,
    /// Substrings that must not occur.
    pub not_contains: Vec<Vec<u8>>,
    /// `*-lines-in-order`: each group must match a line after the previous group's line; a group
    /// matches a line containing all of its substrings.
    pub lines_in_order: Vec<Vec<Vec<u8>>>,
}

/// Parses a whole .case file for program `prog`. Errors carry `path:line: `.
pub fn parse_file(prog: &str, path: &str, text: &str) -> Result<Vec<Case>, String> {
    let mut cases: Vec<Case> = Vec::new();
    let mut seen = Seen::default();
    let lines: Vec<&str> = text.split('\n').collect();
    let mut i = 0;
    while i < lines.len() {
        let lineno = i + 1;
        let raw = lines[i].strip_suffix('\r').unwrap_or(lines[i]);
        i += 1;
        let err = |msg: String| format!("{path}:{lineno}: {msg}");
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, rest) = match line.find(':') {
            // `case NAME`, `env-clear`, `secure-exec` and `symbolize` have no colon.
            _ if line == "env-clear" => ("env-clear", ""),
            _ if line == "secure-exec" => ("secure-exec", ""),
            _ if line == "symbolize" => ("symbolize", ""),
            _ if line.starts_with("case ") || line == "case" => ("case", line[4..].trim()),
            Some(c) => (line[..c].trim(), line[c + 1..].trim()),
            None => return Err(err(format!("expected `key: value`, `case NAME` or `env-clear`, got {line:?}"))),
        };
        if key == "case" {
            if rest.is_empty() || rest.contains(char::is_whitespace) || rest.contains('/') {
                return Err(err(format!("case name must be one word without '/', got {rest:?}")));
            }
            if cases.iter().any(|c| c.name == rest) {
                return Err(err(format!("duplicate case name {rest:?}")));
            }
            cases.push(new_case(prog, rest, lineno));
            seen = Seen::default();
            continue;
        }
        let Some(case) = cases.last_mut() else {
            return Err(err(format!("`{key}` before the first `case NAME` line")));
        };
        if key == "stdin" {
            if !rest.is_empty() {
                return Err(err(
                    "`stdin:` starts a block: the text goes on the following lines, ended by a line `.`".into()
                ));
            }
            let block =
                read_block(&lines, &mut i).ok_or_else(|| err("`stdin:` block not ended by a line `.`".into()))?;
            if case.stdin.is_some() {
                return Err(err("`stdin:` given twice".into()));
            }
            case.stdin = Some(block);
            continue;
        }
        if key == "stdout" || key == "stderr" {
            if !rest.is_empty() {
                return Err(err(format!(
                    "`{key}:` starts a block: the text goes on the following lines, ended by a line `.`"
                )));
            }
            let block =
                read_block(&lines, &mut i).ok_or_else(|| err(format!("`{key}:` block not ended by a line `.`")))?;
            let s = stream(case, key);
            if s.exact.is_some() {
                return Err(err(format!("`{key}:` given twice")));
            }
            s.exact = Some(block);
            continue;
        }
        apply_key(case, &mut seen, key, rest).map_err(err)?;
    }
    if cases.is_empty() {
        return Err(format!("{path}: no `case NAME` line"));
    }
    if let Some(c) = cases.iter().find(|c| c.exit_companion && c.companion.is_none()) {
        return Err(format!("{path}:{}: `exit: companion` without a `companion:` line", c.line));
    }
    Ok(cases)
}

/// Keys that may be given once per case, and whether they were.
#[derive(Default)]
struct Seen {
    exit: bool,
    timeout: bool,
}

/// A case with every field at its default.
fn new_case(prog: &str, name: &str, line: usize) -> Case {
    Case {
        prog: prog.to_string(),
        name: name.to_string(),
        line,
        args: Vec::new(),
        env_clear: false,
        env: Vec::new(),
        env_unset: Vec::new(),
        exit: 0,
        exit_signal: None,
        exit_timeout: false,
        timeout: DEFAULT_TIMEOUT,
        skip_on: Vec::new(),
        secure_exec: false,
        stress_keep_env: None,
        symbolize: false,
        pprof: Vec::new(),
        only_on: Vec::new(),
        needs_cpu: Vec::new(),
        needs_linux: None,
        stdin: None,
        companion: None,
        exit_companion: false,
        stdout: Stream::default(),
        stderr: Stream::default(),
    }
}

/// The lines of a `stdout:`/`stderr:` block from `lines[*i]` up to the line `.` (consumed), each
/// ended by a newline; None if no `.` line ends it.
fn read_block(lines: &[&str], i: &mut usize) -> Option<Vec<u8>> {
    let mut block = Vec::new();
    loop {
        let l = lines.get(*i)?;
        let l = l.strip_suffix('\r').unwrap_or(l);
        *i += 1;
        if l == "." {
            return Some(block);
        }
        // Dot-stuffing: a line that begins with "." is written with one more ".".
        let l = if l.starts_with("..") { &l[1..] } else { l };
        block.extend_from_slice(l.as_bytes());
        block.push(b'\n');
    }
}

/// Applies one single-line `key: rest` to `case`. The error has no location (the caller adds it).
fn apply_key(case: &mut Case, seen: &mut Seen, key: &str, rest: &str) -> Result<(), String> {
    match key {
        "args" => case.args.extend(words(rest)?),
        "args-repeat" => {
            let w = words(rest)?;
            let [n, word] = w.as_slice() else {
                return Err("args-repeat wants `N WORD`".into());
            };
            let n: usize = std::str::from_utf8(n)
                .ok()
                .and_then(|s| s.parse().ok())
                .ok_or_else(|| "args-repeat: N must be a number".to_string())?;
            case.args.extend(std::iter::repeat_n(word.clone(), n));
        }
        "env" => {
            let w = words(rest)?;
            let [kv] = w.as_slice() else {
                return Err("env wants exactly one word KEY=VALUE (quote values with spaces)".into());
            };
            let eq = kv.iter().position(|&b| b == b'=').ok_or_else(|| "env wants KEY=VALUE".to_string())?;
            if eq == 0 {
                return Err("env: empty key".into());
            }
            case.env.push((kv[..eq].to_vec(), kv[eq + 1..].to_vec()));
        }
        "companion" => {
            if case.companion.is_some() {
                return Err("companion given twice".into());
            }
            let w = words(rest)?;
            if w.is_empty() {
                return Err("companion: needs a mode and its arguments (see tests/companion)".into());
            }
            case.companion = Some(w);
        }
        "env-unset" => {
            for k in words(rest)? {
                case.env_unset.push(k);
            }
        }
        "env-clear" => case.env_clear = true,
        "secure-exec" => case.secure_exec = true,
        "symbolize" => case.symbolize = true,
        "pprof" => {
            let mut w = words(rest)?;
            if w.is_empty() {
                return Err("pprof: needs the profile's path (then pprof's flags)".into());
            }
            let file = w.remove(0);
            case.pprof.push((file, w));
        }
        "stress" => match rest.split_once(' ') {
            Some(("keep-env", why)) if !why.trim().is_empty() => case.stress_keep_env = Some(why.trim().into()),
            _ => return Err("stress: wants `keep-env REASON`".into()),
        },
        "env-fill" => env_fill(case, rest)?,
        "skip-on" => {
            let (triple, why) = rest.split_once(' ').map(|(a, b)| (a, b.trim())).unwrap_or((rest, ""));
            if triple.is_empty() || why.is_empty() {
                return Err("skip-on: needs a target triple and a reason".into());
            }
            case.skip_on.push((triple.to_string(), why.to_string()));
        }
        "only-on" => {
            let before = case.only_on.len();
            case.only_on.extend(rest.split_whitespace().map(str::to_string));
            if case.only_on.len() == before {
                return Err("only-on: needs at least one target triple".into());
            }
        }
        "needs-linux" => {
            let v = parse_kernel_version(rest.trim()).ok_or("needs-linux: needs MAJOR.MINOR (e.g. 6.13)")?;
            case.needs_linux = Some(v);
        }
        "needs-cpu" => {
            for f in rest.split_whitespace() {
                if host_cpu_has(f).is_none() {
                    return Err(format!("needs-cpu: unknown feature {f:?} (known: avx, avx2, avx512f)"));
                }
                case.needs_cpu.push(f.to_string());
            }
            if case.needs_cpu.is_empty() {
                return Err("needs-cpu: needs at least one feature".into());
            }
        }
        "exit" => {
            if seen.exit {
                return Err("exit given twice".into());
            }
            seen.exit = true;
            if rest == "timeout" {
                case.exit_timeout = true;
            } else if rest == "companion" {
                case.exit_companion = true;
            } else if let Some(sig) = rest.strip_prefix("signal ") {
                let sig = sig.trim().parse().map_err(|_| format!("exit: signal: not a number: {rest:?}"))?;
                case.exit_signal = Some(sig);
            } else {
                case.exit = rest.parse().map_err(|_| format!("exit: not a number: {rest:?}"))?;
            }
        }
        "timeout" => {
            if seen.timeout {
                return Err("timeout given twice".into());
            }
            seen.timeout = true;
            let s: u64 = rest.parse().map_err(|_| format!("timeout: not a number of seconds: {rest:?}"))?;
            case.timeout = Duration::from_secs(s);
        }
        "stdout-contains" | "stderr-contains" => {
            if rest.is_empty() {
                return Err(format!("{key}: empty text"));
            }
            stream(case, key).contains.push(rest.as_bytes().to_vec());
        }
        "stdout-not-contains" | "stderr-not-contains" => {
            if rest.is_empty() {
                return Err(format!("{key}: empty text"));
            }
            stream(case, key).not_contains.push(rest.as_bytes().to_vec());
        }
        "stdout-lines-in-order" | "stderr-lines-in-order" => {
            let mut groups = Vec::new();
            for item in rest.split('|') {
                let subs: Vec<Vec<u8>> =
                    item.split("&&").map(|s| s.trim().as_bytes().to_vec()).filter(|s| !s.is_empty()).collect();
                if subs.is_empty() {
                    return Err(format!("{key}: empty item"));
                }
                groups.push(subs);
            }
            // Several keys for one stream form one sequence.
            stream(case, key).lines_in_order.extend(groups);
        }
        _ => return Err(format!("unknown key {key:?}")),
    }
    Ok(())
}

/// `env-fill: KEY SIZE PATTERN [COUNT]`: KEY (or KEY0..KEY<COUNT-1>) set to PATTERN repeated to
/// SIZE bytes; for environments too big to write out.
fn env_fill(case: &mut Case, rest: &str) -> Result<(), String> {
    // `env-fill: KEY SIZE PATTERN [COUNT]`: KEY (or KEY0..KEY<COUNT-1>) set to PATTERN
    // repeated to SIZE bytes; for environments too big to write out.
    let w = words(rest)?;
    let num = |b: &Vec<u8>| -> Result<usize, String> {
        std::str::from_utf8(b)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("env-fill: not a number: {:?}", String::from_utf8_lossy(b)))
    };
    let (key, size, pat, count) = match w.as_slice() {
        [k, n, p] => (k, num(n)?, p, None),
        [k, n, p, c] => (k, num(n)?, p, Some(num(c)?)),
        _ => return Err("env-fill wants `KEY SIZE PATTERN [COUNT]`".into()),
    };
    if key.is_empty() || key.contains(&b'=') || pat.is_empty() {
        return Err("env-fill: empty key, '=' in key, or empty pattern".into());
    }
    let value: Vec<u8> = pat.iter().copied().cycle().take(size).collect();
    match count {
        None => case.env.push((key.clone(), value)),
        Some(n) => {
            for i in 0..n {
                let mut k = key.clone();
                k.extend_from_slice(i.to_string().as_bytes());
                case.env.push((k, value.clone()));
            }
        }
    }
    Ok(())
}

fn stream<'a>(case: &'a mut Case, key: &str) -> &'a mut Stream {
    if key.starts_with("stdout") {
        &mut case.stdout
    } else {
        &mut case.stderr
    }
}

/// Splits shell-like words: blanks separate words; `"..."` groups (and `""` is an empty word);
/// outside and inside quotes `\xNN` is a byte, `\\`, `\"`, `\ ` (space), `\t`, `\n` are those
/// characters. Any other backslash sequence is an error.
pub fn words(s: &str) -> Result<Vec<Vec<u8>>, String> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    loop {
        while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
            i += 1;
        }
        if i >= b.len() {
            return Ok(out);
        }
        let mut w = Vec::new();
        let mut quoted = false;
        while i < b.len() {
            let c = b[i];
            match c {
                b' ' | b'\t' if !quoted => break,
                b'"' => {
                    quoted = !quoted;
                    i += 1;
                }
                b'\\' => {
                    let e = *b.get(i + 1).ok_or("trailing backslash")?;
                    i += 2;
                    match e {
                        b'\\' | b'"' | b' ' => w.push(e),
                        b't' => w.push(b'\t'),
                        b'n' => w.push(b'\n'),
                        b'x' => {
                            let h = b.get(i..i + 2).ok_or("\\x needs two hex digits")?;
                            let h = std::str::from_utf8(h).map_err(|_| "\\x needs two hex digits")?;
                            w.push(u8::from_str_radix(h, 16).map_err(|_| format!("bad hex escape \\x{h}"))?);
                            i += 2;
                        }
                        _ => return Err(format!("unknown escape \\{}", e as char)),
                    }
                }
                _ => {
                    w.push(c);
                    i += 1;
                }
            }
        }
        if quoted {
            return Err("unterminated double quote".into());
        }
        out.push(w);
    }
}

/// MAJOR.MINOR from the start of a kernel release (`6.18.44-fc-v1045` → (6, 18)).
pub fn parse_kernel_version(release: &str) -> Option<(u32, u32)> {
    let mut it = release.split(|c: char| !c.is_ascii_digit());
    let major = it.next()?.parse().ok()?;
    let minor = it.next()?.parse().ok()?;
    Some((major, minor))
}

/// This machine's linux kernel version (None: not linux, or unreadable).
pub fn host_linux_version() -> Option<(u32, u32)> {
    let r = std::fs::read_to_string("/proc/sys/kernel/osrelease").ok()?;
    parse_kernel_version(r.trim())
}

/// Whether this machine's CPU has the x86 feature `f` (None: a feature `needs-cpu` does not know).
/// A host that is not x86-64 has none of them.
pub fn host_cpu_has(f: &str) -> Option<bool> {
    #[cfg(target_arch = "x86_64")]
    let has = match f {
        "avx" => std::is_x86_feature_detected!("avx"),
        "avx2" => std::is_x86_feature_detected!("avx2"),
        "avx512f" => std::is_x86_feature_detected!("avx512f"),
        _ => return None,
    };
    #[cfg(not(target_arch = "x86_64"))]
    let has = match f {
        "avx" | "avx2" | "avx512f" => false,
        _ => return None,
    };
    Some(has)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_like_a_shell() {
        assert_eq!(
            words(r#"a "" "b c" \xff\xfe"#).unwrap(),
            vec![b"a".to_vec(), vec![], b"b c".to_vec(), vec![0xff, 0xfe]]
        );
        assert_eq!(words(r#"x"y z"w \" a\ b"#).unwrap(), vec![b"xy zw".to_vec(), b"\"".to_vec(), b"a b".to_vec()]);
        assert_eq!(words("   ").unwrap(), Vec::<Vec<u8>>::new());
        assert!(words("\"open").is_err());
        assert!(words("\\q").is_err());
        assert!(words("\\x4").is_err());
    }

    #[test]
    fn needs_linux_reads_a_version() {
        let c = parse_file("p", "p.case", "case v\nneeds-linux: 6.13\n").unwrap();
        assert_eq!(c[0].needs_linux, Some((6, 13)));
        assert!(parse_file("p", "p.case", "case v\nneeds-linux: six\n").is_err());
        assert_eq!(super::parse_kernel_version("6.18.44-fc-v1045"), Some((6, 18)));
        assert_eq!(super::parse_kernel_version("5.4"), Some((5, 4)));
        assert_eq!(super::parse_kernel_version("x"), None);
    }

    #[test]
    fn needs_cpu_takes_known_features_only() {
        let c = parse_file("p", "p.case", "case v\nneeds-cpu: avx avx2\n").unwrap();
        assert_eq!(c[0].needs_cpu, vec!["avx".to_string(), "avx2".to_string()]);
        assert!(parse_file("p", "p.case", "case v\nneeds-cpu: sse9\n").is_err());
        assert!(parse_file("p", "p.case", "case v\nneeds-cpu:\n").is_err());
    }

    #[test]
    fn parses_a_file() {
        let text = "# c\ncase basic\nargs: a \"\"\nargs-repeat: 3 x\nenv: K=\"v w\"\nenv: E=\nenv-clear\nexit: 7\ntimeout: 5\nstdout:\nhello\n..dot\n\n.\nstderr-contains: boom\nstderr-lines-in-order: a && b | c\ncase two\nstderr:\n.\n";
        let c = parse_file("p", "p.case", text).unwrap();
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].id(), "p/basic");
        assert_eq!(c[0].args, vec![b"a".to_vec(), vec![], b"x".to_vec(), b"x".to_vec(), b"x".to_vec()]);
        assert_eq!(c[0].env, vec![(b"K".to_vec(), b"v w".to_vec()), (b"E".to_vec(), vec![])]);
        assert!(c[0].env_clear);
        assert_eq!(c[0].exit, 7);
        assert_eq!(c[0].timeout, Duration::from_secs(5));
        assert!(!c[0].exit_timeout);
        let t = parse_file("p", "p", "case t\nexit: timeout\ntimeout: 2\n").unwrap();
        assert!(t[0].exit_timeout && t[0].timeout == Duration::from_secs(2));
        assert_eq!(c[0].stdout.exact.as_deref(), Some(&b"hello\n.dot\n\n"[..]));
        assert_eq!(c[0].stderr.contains, vec![b"boom".to_vec()]);
        assert_eq!(c[0].stderr.lines_in_order, vec![vec![b"a".to_vec(), b"b".to_vec()], vec![b"c".to_vec()]]);
        assert_eq!(c[1].exit, 0);
        let sig = parse_file("x", "x.case", "case s\nexit: signal 13\n").unwrap();
        assert_eq!(sig[0].exit_signal, Some(13));
        assert_eq!(c[1].stderr.exact.as_deref(), Some(&b""[..]));
        assert_eq!(c[1].stdout, Stream::default());
        assert!(!c[0].secure_exec);
    }

    #[test]
    fn companion_keys() {
        let c = parse_file("p", "p.case", "case a\ncompanion: echo 10 \"2 k\"\nexit: companion\ncase b\n").unwrap();
        assert_eq!(c[0].companion, Some(vec![b"echo".to_vec(), b"10".to_vec(), b"2 k".to_vec()]));
        assert!(c[0].exit_companion && !c[0].exit_timeout);
        assert_eq!(c[1].companion, None);
        for bad in ["case a\nexit: companion\n", "case a\ncompanion:\n", "case a\ncompanion: x\ncompanion: y\n"] {
            assert!(parse_file("p", "p.case", bad).is_err(), "accepted {bad:?}");
        }
    }

    #[test]
    fn stdin_block() {
        let c = parse_file("p", "p.case", "case a\nstdin:\nline 1\n..dot\n.\ncase b\nstdin:\n.\ncase c\n").unwrap();
        assert_eq!(c[0].stdin.as_deref(), Some(&b"line 1\n.dot\n"[..]));
        assert_eq!(c[1].stdin.as_deref(), Some(&b""[..]));
        assert_eq!(c[2].stdin, None);
        for bad in ["case a\nstdin: x\n.\n", "case a\nstdin:\nx\n", "case a\nstdin:\n.\nstdin:\n.\n"] {
            assert!(parse_file("p", "p.case", bad).is_err(), "accepted {bad:?}");
        }
    }

    #[test]
    fn env_fill_and_secure_exec() {
        let c = parse_file("p", "p.case", "case a\nsecure-exec\nenv-fill: K 5 ab\nenv-fill: M 2 z 2\n").unwrap();
        assert!(c[0].secure_exec);
        let p =
            parse_file("p", "p.case", "case a\npprof: t/c.prof -sample_index=alloc_space\npprof: t/h.prof\n").unwrap();
        assert_eq!(
            p[0].pprof,
            [(b"t/c.prof".to_vec(), vec![b"-sample_index=alloc_space".to_vec()]), (b"t/h.prof".to_vec(), vec![])]
        );
        assert!(parse_file("p", "p.case", "case a\npprof:\n").is_err());
        let s = parse_file("p", "p.case", "case a\nsymbolize\n").unwrap();
        assert!(s[0].symbolize && !c[0].symbolize);
        assert_eq!(
            c[0].env,
            vec![
                (b"K".to_vec(), b"ababa".to_vec()),
                (b"M0".to_vec(), b"zz".to_vec()),
                (b"M1".to_vec(), b"zz".to_vec())
            ]
        );
    }

    #[test]
    fn rejects_what_it_does_not_understand() {
        for bad in [
            "exit: 0\n",                   // before a case
            "case a\nstdot:\nx\n.\n",      // unknown key
            "case a\nstdout:\nx\n",        // unterminated block
            "case a\nstdout: x\n",         // text on the block line
            "case a\ncase a\n",            // duplicate
            "case a\nexit: zero\n",        // not a number
            "case a\nenv: NOEQUALS\n",     // env without =
            "case a\nargs-repeat: x 3\n",  // swapped
            "case a\nfrobnicate\n",        // no colon
            "case a\nenv-fill: K 3\n",     // no pattern
            "case a\nenv-fill: K=1 3 x\n", // '=' in key
            "",                            // no case
        ] {
            assert!(parse_file("p", "p.case", bad).is_err(), "accepted {bad:?}");
        }
    }
}
