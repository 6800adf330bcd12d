//! `cargo xtask doc-examples [--filter SUBSTR]`: the doc examples, one PASS/FAIL line per example,
//! named `file:line` (--filter matches it); `cargo xtask test` runs them all as one summary row.
//!
//! Doc examples: every fenced code block in the doc comments (`///`, `//!`) of `src/**/*.rs` and
//! every ```` ```rust ```` block of README.md must compile as a gort program for
//! x86_64-unknown-linux-gnu, and run to exit 0 unless marked `no_run`. (gort's `doctest = false`:
//! rustdoc would build them as std test programs, which a gort program is not.)
//!
//! Which blocks are Rust follows rustdoc: in doc comments a fence with no info string, or whose
//! info string has `rust` or only known rustdoc attributes (`no_run`, `ignore`, ...), is Rust;
//! `text`, `sh`, `toml`, `console`, `asm` etc. are not. In README.md only blocks whose info
//! string starts with `rust` are Rust. Attributes: `no_run` (built, not run), `edition2021`
//! (accepted); `ignore` is an error ("use no_run"), and `should_panic`, `compile_fail`,
//! `test_harness`, other editions are errors (compile-fail programs belong in tests/compile-fail).
//! Indented (4-space) code blocks are not looked at.
//!
//! Hidden lines as in rustdoc: `# code` and a lone `#` are code the reader does not see (the
//! `# ` is removed), `##` stands for a literal `#`; `#![...]` and `#[...]` are ordinary code.
//!
//! Wrapping: a block containing `gort::main!` is a complete program and is used as it is.
//! Otherwise it gets `#![no_std]`, `#![no_main]`, `#![allow(unused)]` (as rustdoc adds), its own
//! leading `#![...]` lines, `extern crate alloc;` (unless it says so itself) and
//! `gort::main!(main);` in front, and, if it has no `fn main`, its lines go inside `fn main() {`
//! ... `}`.
//!
//! The scratch crate `target/doc-examples/` (its own `[workspace]`, gort by absolute path, the
//! build.rs of README "Your first gort program", panic = "abort") gets one bin per example,
//! named after its place, e.g. `src_chan_rs_L814` (the line of the opening fence). They are
//! built with `cargo build --bins --keep-going --target x86_64-unknown-linux-gnu` and the
//! runnable ones run (10 s timeout each, the workspace root as directory). Compiler errors are
//! shown under the example they belong to, with `-->` locations mapped back to the source file.

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use super::compile_fail::{error_excerpt, sync_bins, write_if_changed, write_scratch_manifest};
use super::test::Row;
use super::{cargo, check, json, run, target_dir, Fail, HOST, USAGE};

/// How long a runnable example may run.
const RUN_TIMEOUT: Duration = Duration::from_secs(10);

/// The scratch crate's build script: README "Your first gort program"'s build.rs (the README's
/// own copy is built and run by `cargo xtask usercrate`).
pub const BUILD_RS: &str = "fn main() {
    let args = std::env::var(\"DEP_GORT_LINK_ARGS\").expect(\"gort's build script sets DEP_GORT_LINK_ARGS\");
    for a in args.split_whitespace() {
        println!(\"cargo::rustc-link-arg={a}\");
    }
    println!(\"cargo::rustc-check-cfg=cfg(gort_link_args)\");
    println!(\"cargo::rustc-cfg=gort_link_args\");
}
";

/// One Rust code block found in a doc comment or README.md.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    /// Path relative to the workspace root, e.g. "src/chan.rs".
    pub file: String,
    /// 1-based line of the opening fence.
    pub line: usize,
    /// The code lines (hidden-line markers already removed) with their 1-based source lines.
    pub code: Vec<(usize, String)>,
    /// Built but not run.
    pub no_run: bool,
    /// Why this block cannot be tested as it is (`ignore`, unsupported attribute, unclosed fence).
    pub error: Option<String>,
}

impl Example {
    /// `file:line`, what --filter matches and the report prints.
    pub fn id(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }

    /// The bin name: the path with every non-alphanumeric character as `_`, then `_L<line>`.
    pub fn bin_name(&self) -> String {
        let base: String = self.file.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
        format!("{base}_L{}", self.line)
    }
}

/// What a fence's info string makes of a block.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    NotRust,
    Rust { no_run: bool, error: Option<String> },
}

/// Classifies a fence by its info string, following rustdoc's rules: a block is Rust when it
/// says `rust`, or when every word is a rustdoc attribute (so an empty info string is Rust).
/// In markdown files (`markdown`), only blocks saying `rust` are Rust.
pub fn classify(info: &str, markdown: bool) -> Kind {
    let words: Vec<&str> = info.split([',', ' ', '\t']).map(str::trim).filter(|w| !w.is_empty()).collect();
    let mut rust = false;
    let mut other = false;
    let mut no_run = false;
    let mut errors: Vec<String> = Vec::new();
    for w in &words {
        match *w {
            "rust" => rust = true,
            "no_run" => no_run = true,
            "edition2021" => {}
            "ignore" => errors.push("`ignore`: the example is never checked; use `no_run` (built, not run)".into()),
            w if w.starts_with("ignore-") => {
                errors.push(format!("`{w}`: the example is never checked here; use `no_run` (built, not run)"))
            }
            "compile_fail" => errors.push(
                "`compile_fail` is not supported for doc examples: put the program in tests/compile-fail/".into(),
            ),
            "should_panic" | "test_harness" | "standalone_crate" | "edition2015" | "edition2018" | "edition2024" => {
                errors.push(format!("`{w}` is not supported by the gort doc-example harness"))
            }
            w if w.starts_with('{') || w.starts_with('.') => {} // rustdoc's custom classes
            _ => other = true,
        }
    }
    let is_rust = if markdown { words.first() == Some(&"rust") } else { rust || !other };
    if !is_rust {
        return Kind::NotRust;
    }
    Kind::Rust { no_run, error: (!errors.is_empty()).then(|| errors.join("; ")) }
}

/// rustdoc's hidden lines: `# x` → `x`, `#` → ``, `##x` → `#x`; anything else unchanged.
pub fn unhide(line: &str) -> String {
    let t = line.trim_start();
    let indent = &line[..line.len() - t.len()];
    if t.starts_with("##") {
        format!("{indent}{}", &t[1..])
    } else if let Some(rest) = t.strip_prefix("# ") {
        rest.to_string()
    } else if t == "#" {
        String::new()
    } else {
        line.to_string()
    }
}

/// A fence line: (indent, fence char, fence length, info string).
fn fence(line: &str) -> Option<(usize, char, usize, &str)> {
    let t = line.trim_start();
    let c = t.chars().next().filter(|&c| c == '`' || c == '~')?;
    let n = t.chars().take_while(|&x| x == c).count();
    if n < 3 {
        return None;
    }
    let info = t[n..].trim();
    if c == '`' && info.contains('`') {
        return None; // inline code, not a fence
    }
    Some((line.len() - t.len(), c, n, info))
}

/// The blocks of one markdown text, given as (1-based source line, text) pairs. `markdown`
/// selects README rules (see `classify`). A Rust block still open at the end of the text is
/// returned with an error.
fn blocks(file: &str, lines: &[(usize, String)], markdown: bool) -> Vec<Example> {
    let mut out = Vec::new();
    // (fence char, fence length, indent, the example being collected or None for a non-Rust block)
    let mut open: Option<(char, usize, usize, Option<Example>)> = None;
    for (n, text) in lines {
        match &mut open {
            None => {
                if let Some((indent, c, len, info)) = fence(text) {
                    let ex = match classify(info, markdown) {
                        Kind::NotRust => None,
                        Kind::Rust { no_run, error } => {
                            Some(Example { file: file.to_string(), line: *n, code: Vec::new(), no_run, error })
                        }
                    };
                    open = Some((c, len, indent, ex));
                }
            }
            Some((c, len, indent, ex)) => {
                if let Some((_, c2, len2, info)) = fence(text) {
                    if c2 == *c && len2 >= *len && info.is_empty() {
                        if let Some(ex) = ex.take() {
                            out.push(ex);
                        }
                        open = None;
                        continue;
                    }
                }
                if let Some(ex) = ex {
                    // Content lines lose up to the fence's indentation (CommonMark).
                    let t = text.trim_start_matches(' ');
                    let strip = (text.len() - t.len()).min(*indent);
                    ex.code.push((*n, unhide(&text[strip..])));
                }
            }
        }
    }
    if let Some((_, _, _, Some(mut ex))) = open {
        ex.error = Some(format!("the code block opened at line {} is never closed", ex.line));
        out.push(ex);
    }
    out
}

/// The Rust blocks of the doc comments of one Rust source file. Each run of consecutive `///`
/// (or `//!`) lines is one doc comment; a block must close inside its doc comment.
pub fn extract_doc_comments(file: &str, text: &str) -> Vec<Example> {
    let mut out = Vec::new();
    let mut run: Vec<(usize, String)> = Vec::new();
    let mut run_kind = "";
    for (i, line) in text.lines().enumerate() {
        let t = line.trim_start();
        // `////` is an ordinary comment, `///` and `//!` are doc comments.
        let kind = if t.starts_with("///") && !t.starts_with("////") {
            "///"
        } else if t.starts_with("//!") {
            "//!"
        } else {
            ""
        };
        if kind != run_kind && !run.is_empty() {
            out.extend(blocks(file, &run, false));
            run.clear();
        }
        run_kind = kind;
        if !kind.is_empty() {
            let body = &t[3..];
            run.push((i + 1, body.strip_prefix(' ').unwrap_or(body).to_string()));
        }
    }
    if !run.is_empty() {
        out.extend(blocks(file, &run, false));
    }
    out
}

/// The Rust blocks (```` ```rust ````) of a markdown file.
pub fn extract_markdown(file: &str, text: &str) -> Vec<Example> {
    let lines: Vec<(usize, String)> = text.lines().enumerate().map(|(i, l)| (i + 1, l.to_string())).collect();
    blocks(file, &lines, true)
}

/// A generated program and, per generated line (index = line - 1), the source line it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Wrapped {
    pub source: String,
    pub line_map: Vec<Option<usize>>,
}

/// Whether some line declares `fn main` (not `fn main_loop`).
fn has_fn_main(code: &[(usize, String)]) -> bool {
    code.iter().any(|(_, l)| {
        l.match_indices("fn main").any(|(i, _)| {
            let before_ok = i == 0 || !l.as_bytes()[i - 1].is_ascii_alphanumeric() && l.as_bytes()[i - 1] != b'_';
            let rest = l[i + "fn main".len()..].trim_start();
            before_ok && (rest.starts_with('(') || rest.starts_with('<'))
        })
    })
}

/// Turns an example into a gort program (see the module comment).
pub fn wrap(code: &[(usize, String)]) -> Wrapped {
    let mut w = Wrapped { source: String::new(), line_map: Vec::new() };
    let push = |w: &mut Wrapped, line: &str, from: Option<usize>| {
        w.source.push_str(line);
        w.source.push('\n');
        w.line_map.push(from);
    };
    if code.iter().any(|(_, l)| l.contains("gort::main!")) {
        for (n, l) in code {
            push(&mut w, l, Some(*n));
        }
        return w;
    }
    // The block's leading inner attributes go to the top of the crate; blank and comment lines
    // among them stay in the body.
    let lead = code
        .iter()
        .take_while(|(_, l)| {
            let t = l.trim();
            t.is_empty() || t.starts_with("//") || t.starts_with("#![")
        })
        .count();
    let (head, rest) = code.split_at(lead);
    for l in ["#![no_std]", "#![no_main]", "#![allow(unused)]"] {
        push(&mut w, l, None);
    }
    for (n, l) in head.iter().filter(|(_, l)| l.trim().starts_with("#![")) {
        push(&mut w, l, Some(*n));
    }
    if !code.iter().any(|(_, l)| l.contains("extern crate alloc")) {
        push(&mut w, "extern crate alloc;", None);
    }
    push(&mut w, "gort::main!(main);", None);
    let body = head.iter().filter(|(_, l)| !l.trim().starts_with("#![")).chain(rest);
    if has_fn_main(code) {
        for (n, l) in body {
            push(&mut w, l, Some(*n));
        }
    } else {
        push(&mut w, "fn main() {", None);
        for (n, l) in body {
            push(&mut w, l, Some(*n));
        }
        push(&mut w, "}", None);
    }
    w
}

/// Every Rust source file under `dir`, sorted.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), String> {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for p in entries {
        if p.is_dir() {
            rust_files(&p, out)?;
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
    Ok(())
}

/// Every example of src/**/*.rs and README.md.
pub fn collect(root: &Path) -> Result<Vec<Example>, String> {
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files)?;
    let mut out = Vec::new();
    for f in &files {
        let rel = f.strip_prefix(root).unwrap_or(f).display().to_string();
        let text = fs::read_to_string(f).map_err(|e| format!("{rel}: {e}"))?;
        out.extend(extract_doc_comments(&rel, &text));
    }
    let readme = root.join("README.md");
    let text = fs::read_to_string(&readme).map_err(|e| format!("README.md: {e}"))?;
    out.extend(extract_markdown("README.md", &text));
    Ok(out)
}

/// Rewrites rustc's `--> src/bin/NAME.rs:L:C` lines of a rendered diagnostic to the example's
/// source location.
fn map_locations(rendered: &str, bin: &str, ex: &Example, line_map: &[Option<usize>]) -> String {
    let needle = format!("src/bin/{bin}.rs:");
    let mut out = String::new();
    for l in rendered.lines() {
        let mut mapped = None;
        if let Some(i) = l.find(&needle) {
            let tail = &l[i + needle.len()..];
            let (ln, col) = tail.split_once(':').unwrap_or((tail, ""));
            if let Ok(g) = ln.parse::<usize>() {
                let to = match line_map.get(g.wrapping_sub(1)).copied().flatten() {
                    Some(src) => format!("{}:{src}:{col} (generated line {g})", ex.file),
                    None => format!("{}:{} (example wrapper, generated line {g}:{col})", ex.file, ex.line),
                };
                mapped = Some(format!("{}{to}", &l[..i]));
            }
        }
        out.push_str(&mapped.unwrap_or_else(|| l.to_string()));
        out.push('\n');
    }
    out
}

/// Indents every line of `s` by `n` spaces.
fn indent(s: &str, n: usize) -> String {
    let pad = " ".repeat(n);
    s.lines().map(|l| format!("{pad}{l}")).collect::<Vec<_>>().join("\n")
}

/// What `cargo build --bins --keep-going` said, per target (bin or library) name.
struct BuildResult {
    exes: BTreeMap<String, PathBuf>,
    /// Rendered error diagnostics by target name (gort's own under "gort").
    errors: BTreeMap<String, Vec<String>>,
    /// stderr lines that were not JSON (cargo's own errors, build-script failures).
    other: Vec<String>,
}

fn build(dir: &Path) -> Result<BuildResult, String> {
    let mut c: Command = cargo(dir);
    c.args(["build", "--bins", "--keep-going", "--target", HOST, "--message-format=json"])
        .env("CARGO_TARGET_DIR", dir.join("target"))
        .env("CARGO_TERM_COLOR", "never")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().map_err(|e| format!("cargo: {e}"))?;
    let stderr = child.stderr.take().expect("piped");
    let err_thread =
        std::thread::spawn(move || BufReader::new(stderr).lines().map_while(Result::ok).collect::<Vec<String>>());
    let mut r = BuildResult { exes: BTreeMap::new(), errors: BTreeMap::new(), other: Vec::new() };
    for line in BufReader::new(child.stdout.take().expect("piped")).lines() {
        let line = line.map_err(|e| format!("reading cargo output: {e}"))?;
        let Ok(msg) = json::parse(&line) else {
            r.other.push(line);
            continue;
        };
        let name = msg.get("target").and_then(|t| t.get("name")).and_then(json::Json::as_str).unwrap_or("");
        match msg.get("reason").and_then(json::Json::as_str) {
            Some("compiler-artifact") => {
                if let Some(exe) = msg.get("executable").and_then(json::Json::as_str) {
                    r.exes.insert(name.to_string(), PathBuf::from(exe));
                }
            }
            Some("compiler-message") => {
                let m = msg.get("message");
                let level = m.and_then(|m| m.get("level")).and_then(json::Json::as_str).unwrap_or("");
                let rendered = m.and_then(|m| m.get("rendered")).and_then(json::Json::as_str).unwrap_or("");
                if level.starts_with("error") && !rendered.starts_with("error: aborting due to") {
                    r.errors.entry(name.to_string()).or_default().push(rendered.to_string());
                }
            }
            _ => {}
        }
    }
    let _ = child.wait().map_err(|e| format!("cargo: {e}"))?;
    let err_lines = err_thread.join().unwrap_or_default();
    // cargo's progress lines are noise; its own `error:` lines (a build script failing) matter.
    r.other.extend(err_lines.into_iter().filter(|l| {
        let t = l.trim_start();
        !(t.starts_with("Compiling") || t.starts_with("Finished") || t.starts_with("Blocking") || t.is_empty())
    }));
    Ok(r)
}

/// Collects, builds and runs the examples whose `file:line` contains `filter`; prints one line
/// per example and returns the summary row plus one failure line per failed example.
pub fn run(root: &Path, filter: Option<&str>) -> (Row, Vec<String>) {
    crate::test::harness_row("doc examples (src/ docs, README)", "doc examples", |row, failures| {
        run_inner(root, filter, row, failures)
    })
}

fn run_inner(root: &Path, filter: Option<&str>, row: &mut Row, failures: &mut Vec<String>) -> Result<(), String> {
    let examples: Vec<Example> =
        collect(root)?.into_iter().filter(|e| filter.is_none_or(|f| e.id().contains(f))).collect();
    let dir = target_dir(root).join("doc-examples");
    let buildable: Vec<&Example> = examples.iter().filter(|e| e.error.is_none()).collect();
    println!(
        "== doc examples: {} in src/**/*.rs doc comments and README.md ({} to build, {} to run), \
         cargo build --bins --keep-going --target {HOST} in {}",
        examples.len(),
        buildable.len(),
        buildable.iter().filter(|e| !e.no_run).count(),
        dir.strip_prefix(root).unwrap_or(&dir).display()
    );
    write_scratch_manifest(root, &dir, "gort-doc-examples", "build = \"build.rs\"\n")?;
    write_if_changed(&dir.join("build.rs"), BUILD_RS)?;
    let wrapped: Vec<(String, Wrapped)> = buildable.iter().map(|e| (e.bin_name(), wrap(&e.code))).collect();
    let bins: Vec<(String, String)> = wrapped.iter().map(|(n, w)| (n.clone(), w.source.clone())).collect();
    // Two blocks on one line cannot happen, so names are unique; say so loudly if not.
    for (i, (n, _)) in bins.iter().enumerate() {
        if bins[..i].iter().any(|(m, _)| m == n) {
            return Err(format!("two examples map to the bin name {n}"));
        }
    }
    sync_bins(&dir, &bins)?;

    let built = if buildable.is_empty() { None } else { Some(build(&dir)?) };
    let gort_broken = built.as_ref().and_then(|b| b.errors.get("gort"));
    if let Some(errs) = gort_broken {
        println!("doc examples: gort itself does not build; every example fails:");
        for e in errs.iter().take(3) {
            println!("{}", indent(e, 4));
        }
        if errs.len() > 3 {
            println!("    ... ({} more errors in gort)", errs.len() - 3);
        }
    }

    let mut wrapped_it = wrapped.iter();
    for ex in &examples {
        let id = ex.id();
        let fail = |row: &mut Row, failures: &mut Vec<String>, why: &str, detail: String| {
            println!("FAIL {id}\n    {why}{}{detail}", if detail.is_empty() { "" } else { "\n" });
            row.failed += 1;
            failures.push(format!("doc example {id}: {why}"));
        };
        if let Some(e) = &ex.error {
            fail(row, failures, e, String::new());
            continue;
        }
        let (bin, w) = wrapped_it.next().expect("one wrapped program per buildable example");
        let built = built.as_ref().expect("built when there is something to build");
        if gort_broken.is_some() {
            fail(row, failures, "not built: gort itself does not build (errors above)", String::new());
            continue;
        }
        if let Some(errs) = built.errors.get(bin) {
            let shown: Vec<String> =
                errs.iter().take(5).map(|e| indent(&map_locations(e, bin, ex, &w.line_map), 4)).collect();
            let more =
                if errs.len() > 5 { format!("\n    ... ({} more errors)", errs.len() - 5) } else { String::new() };
            fail(
                row,
                failures,
                &format!("does not compile ({} errors; program: {}/src/bin/{bin}.rs)", errs.len(), dir.display()),
                format!("{}{more}", shown.join("\n")),
            );
            continue;
        }
        let Some(exe) = built.exes.get(bin) else {
            let detail =
                if built.other.is_empty() { String::new() } else { error_excerpt(&built.other.join("\n"), 20) };
            fail(row, failures, "not built: cargo produced no binary and no error for it", detail);
            continue;
        };
        if ex.no_run {
            println!("PASS {id} (no_run: built)");
            row.passed += 1;
            continue;
        }
        let mut c = Command::new(exe);
        c.current_dir(root).env_remove("GODEBUG").env_remove("GOMAXPROCS");
        match run::run_captured(c, RUN_TIMEOUT) {
            Ok(o) if o.status.is_some_and(|s| s.success()) => {
                println!("PASS {id} (ran: exit 0, {} ms)", o.elapsed.as_millis());
                row.passed += 1;
            }
            Ok(o) => {
                let why = if o.timed_out {
                    format!("ran longer than {} s (killed)", RUN_TIMEOUT.as_secs())
                } else {
                    format!("ran: {}, want exit 0", o.describe_status())
                };
                let detail = format!(
                    "{}\n{}",
                    indent(&check::show_captured("stdout", &o.stdout), 4),
                    indent(&check::show_captured("stderr", &o.stderr), 4)
                );
                fail(row, failures, &why, detail);
            }
            Err(e) => fail(row, failures, &format!("could not start {}: {e}", exe.display()), String::new()),
        }
    }
    if examples.is_empty() {
        row.note = "no examples matched".into();
    }
    Ok(())
}

/// `cargo xtask doc-examples [--filter SUBSTR]`.
pub fn cmd_doc_examples(args: &[String]) -> Result<i32, Fail> {
    let mut filter = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--filter" => filter = Some(it.next().ok_or("--filter needs a value")?.clone()),
            s => return Err(format!("doc-examples: unknown argument {s:?}\n{USAGE}").into()),
        }
    }
    let root = super::root();
    super::targets::setup(&root, &[super::targets::target(HOST)?])?;
    let (row, failures) = run(&root, filter.as_deref());
    println!("doc examples: {} passed, {} failed", row.passed, row.failed);
    for f in &failures {
        println!("  {f}");
    }
    Ok(if row.failed > 0 { 1 } else { 0 })
}

#[cfg(test)]
mod build_rs_tests {
    /// The scratch crate's build.rs is the README's, verbatim.
    #[test]
    fn build_rs_is_the_readmes() {
        let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
        let block = readme.split("```rs file=build.rs\n").nth(1).and_then(|b| b.split("```").next()).unwrap();
        assert_eq!(block, super::BUILD_RS);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(ex: &Example) -> Vec<&str> {
        ex.code.iter().map(|(_, l)| l.as_str()).collect()
    }

    #[test]
    fn info_strings_follow_rustdoc() {
        let rust = |no_run| Kind::Rust { no_run, error: None };
        assert_eq!(classify("", false), rust(false));
        assert_eq!(classify("rust", false), rust(false));
        assert_eq!(classify("no_run", false), rust(true));
        assert_eq!(classify("rust,no_run", false), rust(true));
        assert_eq!(classify("rust, no_run", false), rust(true));
        for not in ["text", "sh", "toml", "console", "asm", "text,no_run"] {
            assert_eq!(classify(not, false), Kind::NotRust, "{not}");
        }
        // In README.md only ```rust is Rust.
        assert_eq!(classify("", true), Kind::NotRust);
        assert_eq!(classify("no_run", true), Kind::NotRust);
        assert_eq!(classify("rust,no_run", true), rust(true));
        assert_eq!(classify("toml", true), Kind::NotRust);
        // ignore is Rust, and an error.
        match classify("ignore", false) {
            Kind::Rust { error: Some(e), .. } => assert!(e.contains("use `no_run`"), "{e}"),
            k => panic!("{k:?}"),
        }
        assert!(matches!(classify("rust,ignore", true), Kind::Rust { error: Some(_), .. }));
        assert!(
            matches!(classify("compile_fail", false), Kind::Rust { error: Some(e), .. } if e.contains("tests/compile-fail"))
        );
    }

    #[test]
    fn hidden_lines() {
        assert_eq!(unhide("# let x = 1;"), "let x = 1;");
        assert_eq!(unhide("    # let x = 1;"), "let x = 1;");
        assert_eq!(unhide("#"), "");
        assert_eq!(unhide("##[derive(Debug)]"), "#[derive(Debug)]");
        assert_eq!(unhide("#![no_std]"), "#![no_std]");
        assert_eq!(unhide("#[inline]"), "#[inline]");
        assert_eq!(unhide("let a = 1; # not hidden"), "let a = 1; # not hidden");
    }

    #[test]
    fn doc_comment_blocks() {
        let src = "\
//! Crate doc.
//!
//! ```
//! # use gort::chan;
//! let (tx, rx) = chan::<u8>(1);
//! ```
//!
//! ```text
//! not rust
//! ```

/// Item doc.
///
/// ```rust,no_run
///     indented();
/// ```
//// ```
//// ordinary comment, not a doc block
//// ```
fn f() {}
    /// ```ignore
    /// gort::select! {}
    /// ```
    fn g() {}
";
        let ex = extract_doc_comments("src/x.rs", src);
        assert_eq!(ex.len(), 3, "{ex:#?}");
        assert_eq!((ex[0].line, ex[0].no_run, ex[0].error.is_none()), (3, false, true));
        assert_eq!(ex[0].code, vec![(4, "use gort::chan;".into()), (5, "let (tx, rx) = chan::<u8>(1);".into())]);
        assert_eq!((ex[1].line, ex[1].no_run), (14, true));
        assert_eq!(code(&ex[1]), vec!["    indented();"]);
        assert_eq!(ex[2].line, 21);
        assert!(ex[2].error.as_deref().unwrap().contains("no_run"));
        assert_eq!(ex[2].id(), "src/x.rs:21");
        assert_eq!(ex[2].bin_name(), "src_x_rs_L21");
    }

    #[test]
    fn unclosed_fence_is_an_error_and_ends_with_the_doc_comment() {
        let src = "/// ```\n/// let x = 1;\nfn f() {}\n/// ```\n/// ok();\n/// ```\n";
        let ex = extract_doc_comments("a.rs", src);
        assert_eq!(ex.len(), 2, "{ex:#?}");
        assert!(ex[0].error.as_deref().unwrap().contains("never closed"));
        assert_eq!((ex[1].line, ex[1].error.clone()), (4, None));
        assert_eq!(code(&ex[1]), vec!["ok();"]);
    }

    #[test]
    fn markdown_blocks() {
        let md =
            "# T\n\n```rust\nfn main() {}\n```\n\n```sh\ncargo x\n```\n\n```\nlayout\n```\n\n```toml\n[a]\n```\n\n\
                  ````rust,no_run\n```\n# hidden();\n````\n";
        let ex = extract_markdown("README.md", md);
        assert_eq!(ex.len(), 2, "{ex:#?}");
        assert_eq!((ex[0].line, code(&ex[0])), (3, vec!["fn main() {}"]));
        assert_eq!((ex[1].line, ex[1].no_run), (19, true));
        assert_eq!(code(&ex[1]), vec!["```", "hidden();"]);
        assert_eq!(ex[1].bin_name(), "README_md_L19");
    }

    fn lines(s: &str) -> Vec<(usize, String)> {
        s.lines().enumerate().map(|(i, l)| (i + 10, l.to_string())).collect()
    }

    #[test]
    fn wrap_body_into_main() {
        let w = wrap(&lines("#![allow(dead_code)]\nuse gort::chan;\nlet (tx, rx) = chan::<u8>(1);"));
        assert_eq!(
            w.source,
            "#![no_std]\n#![no_main]\n#![allow(unused)]\n#![allow(dead_code)]\nextern crate alloc;\ngort::main!(main);\n\
             fn main() {\nuse gort::chan;\nlet (tx, rx) = chan::<u8>(1);\n}\n"
        );
        assert_eq!(w.line_map, vec![None, None, None, Some(10), None, None, None, Some(11), Some(12), None]);
    }

    #[test]
    fn wrap_keeps_fn_main_and_full_programs() {
        let w = wrap(&lines("extern crate alloc;\nfn main() {\n    helper();\n}\nfn helper() {}"));
        assert_eq!(
            w.source,
            "#![no_std]\n#![no_main]\n#![allow(unused)]\ngort::main!(main);\nextern crate alloc;\nfn main() {\n    helper();\n}\nfn helper() {}\n"
        );
        assert_eq!(w.line_map[4..], [Some(10), Some(11), Some(12), Some(13), Some(14)]);
        // `fn main_loop` is not `fn main`.
        assert!(wrap(&lines("fn main_loop() {}")).source.contains("fn main() {\nfn main_loop() {}\n}\n"));
        let full = "#![no_std]\n#![no_main]\ngort::main!(main);\nfn main() {}";
        let w = wrap(&lines(full));
        assert_eq!(w.source, format!("{full}\n"));
        assert_eq!(w.line_map, vec![Some(10), Some(11), Some(12), Some(13)]);
    }

    #[test]
    fn error_locations_map_back_to_the_source() {
        let ex = Example { file: "src/chan.rs".into(), line: 9, code: Vec::new(), no_run: false, error: None };
        let map = vec![None, Some(11)];
        let r = "error[E0425]: x\n --> src/bin/b.rs:2:5\n  |\n --> src/bin/b.rs:1:1\n";
        assert_eq!(
            map_locations(r, "b", &ex, &map),
            "error[E0425]: x\n --> src/chan.rs:11:5 (generated line 2)\n  |\n \
             --> src/chan.rs:9 (example wrapper, generated line 1:1)\n"
        );
    }
}
