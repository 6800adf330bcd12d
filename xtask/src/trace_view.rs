//! `cargo xtask trace-view TRACE.json [-o OUT.html] [--png OUT.png] [--window FROM_MS..TO_MS]`:
//! renders an execution trace that gort wrote
//! (`GODEBUG=gorttrace=PATH`, `gort::trace::start`; Chrome Trace Event JSON, src/trace/json.rs
//! says which events) as a self-contained HTML page holding one inline SVG: a time axis, one row
//! per P with its goroutines as colored spans (the color is the goroutine's), one row per M
//! with its system calls, wake-up arrows from where a goroutine was made runnable to where it
//! next started, and marks for preemptions (red) and steals (blue). Hovering a span shows its
//! goroutine, times and why it ended. The same file loads in Perfetto (ui.perfetto.dev) and
//! chrome://tracing for zooming.
//!
//! The self-test renders `xtask/testdata/trace-known.json` (two Ps, each running one goroutine
//! from start to end, and an M in a system call), screenshots the page with headless Chromium,
//! decodes the PNG and checks it is not blank and that each P row shows its goroutine's color
//! and the row background where the layout puts them.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::json::{self, Json};
use crate::Fail;

/// Page layout (pixels): the test reads pixels at these places.
pub const WIDTH: f64 = 1400.0;
/// Left margin for the row labels.
pub const LEFT: f64 = 70.0;
/// Top of the first row (title and time axis above).
pub const TOP: f64 = 70.0;
/// Height of a row.
pub const ROW: f64 = 30.0;
/// Background of even rows, odd rows.
pub const BAND: [(u8, u8, u8); 2] = [(0xf2, 0xf2, 0xf7), (0xe6, 0xe6, 0xee)];

/// A goroutine's color: a fixed palette indexed by its id (distinct neighbours).
pub fn color(g: u64) -> (u8, u8, u8) {
    const PALETTE: [(u8, u8, u8); 12] = [
        (0x1f, 0x77, 0xb4),
        (0xff, 0x7f, 0x0e),
        (0x2c, 0xa0, 0x2c),
        (0xd6, 0x27, 0x28),
        (0x94, 0x67, 0xbd),
        (0x8c, 0x56, 0x4b),
        (0xe3, 0x77, 0xc2),
        (0x7f, 0x7f, 0x7f),
        (0xbc, 0xbd, 0x22),
        (0x17, 0xbe, 0xcf),
        (0x39, 0x3b, 0x79),
        (0x63, 0x79, 0x39),
    ];
    PALETTE[(g % PALETTE.len() as u64) as usize]
}

fn hex((r, g, b): (u8, u8, u8)) -> String {
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// A span on a row.
struct Span {
    row: u64,
    start: f64,
    end: f64,
    g: u64,
    name: String,
    why: String,
}

/// What the renderer takes from a trace.
#[derive(Default)]
struct Model {
    spans: Vec<Span>,
    /// (row, ts) of each flow's start and finish, by id.
    flows: BTreeMap<u64, [Option<(u64, f64)>; 2]>,
    /// (row, ts, preempt?) instants drawn as marks.
    marks: Vec<(u64, f64, bool)>,
    rows: BTreeMap<u64, String>,
    t_end: f64,
}

fn num(v: Option<&Json>) -> Option<f64> {
    match v {
        Some(Json::Num(s)) => s.parse().ok(),
        _ => None,
    }
}

fn model(doc: &Json) -> Result<Model, String> {
    let Some(Json::Arr(evs)) = doc.get("traceEvents") else {
        return Err("no traceEvents array".into());
    };
    let mut m = Model::default();
    let mut evs: Vec<&Json> = evs.iter().collect();
    let ts = |e: &Json| num(e.get("ts")).unwrap_or(0.0);
    let rank = |e: &Json| match e.get("ph").and_then(Json::as_str) {
        Some("E") => 0,
        Some("B") => 2,
        _ => 1,
    };
    evs.sort_by(|a, b| ts(a).partial_cmp(&ts(b)).unwrap().then(rank(a).cmp(&rank(b))));
    let mut open: BTreeMap<u64, (f64, u64, String)> = BTreeMap::new();
    for e in evs {
        let ph = e.get("ph").and_then(Json::as_str).unwrap_or("");
        let tid = num(e.get("tid")).unwrap_or(-1.0);
        if tid < 0.0 {
            continue;
        }
        let tid = tid as u64;
        let t = ts(e);
        let g = num(e.get("args").and_then(|a| a.get("g"))).unwrap_or(0.0) as u64;
        let name = e.get("name").and_then(Json::as_str).unwrap_or("").to_string();
        if ph == "M" {
            if name == "thread_name" {
                if let Some(n) = e.get("args").and_then(|a| a.get("name")).and_then(Json::as_str) {
                    m.rows.insert(tid, n.to_string());
                }
            }
            continue;
        }
        m.rows.entry(tid).or_insert_with(|| if tid >= 1000 { format!("M{}", tid - 1000) } else { format!("P{tid}") });
        m.t_end = m.t_end.max(t);
        match ph {
            "B" => {
                open.insert(tid, (t, g, name));
            }
            "E" => {
                let start = open.remove(&tid);
                let (start, g, name) = start.unwrap_or((0.0, g, format!("G{g}")));
                let args = e.get("args");
                let end = args.and_then(|a| a.get("end")).and_then(Json::as_str).unwrap_or("");
                let reason = args.and_then(|a| a.get("reason")).and_then(Json::as_str).unwrap_or("");
                let why = if reason.is_empty() { end.to_string() } else { format!("{end}: {reason}") };
                m.spans.push(Span { row: tid, start, end: t, g, name, why });
            }
            "s" | "f" => {
                let id = num(e.get("id")).unwrap_or(0.0) as u64;
                m.flows.entry(id).or_default()[(ph == "f") as usize] = Some((tid, t));
            }
            "i" if name == "GoPreempt" => m.marks.push((tid, t, true)),
            "i" if name == "Steal" => m.marks.push((tid, t, false)),
            _ => {}
        }
    }
    // Spans still open at the end run to the end.
    for (tid, (start, g, name)) in open {
        m.spans.push(Span { row: tid, start, end: m.t_end, g, name, why: "running at the end".into() });
    }
    Ok(m)
}

/// Renders the trace `doc` as an HTML page; `window`: only the time range [from, to) in µs
/// since the trace's start (None: all of it).
pub fn render(doc: &Json, title: &str, window: Option<(f64, f64)>) -> Result<String, String> {
    let mut m = model(doc)?;
    if let Some((from, to)) = window {
        m.spans.retain(|s| s.end > from && s.start < to);
        for s in &mut m.spans {
            s.start = s.start.max(from) - from;
            s.end = s.end.min(to) - from;
        }
        m.marks.retain(|k| k.1 >= from && k.1 < to);
        m.marks.iter_mut().for_each(|k| k.1 -= from);
        m.flows.retain(|_, f| f.iter().all(|e| e.is_some_and(|(_, t)| t >= from && t < to)));
        m.flows.values_mut().flatten().flatten().for_each(|e| e.1 -= from);
        m.t_end = to - from;
    }
    let rows: Vec<u64> = m.rows.keys().copied().collect();
    let y_of = |tid: u64| TOP + rows.iter().position(|&r| r == tid).unwrap_or(0) as f64 * ROW;
    let span_us = if m.t_end > 0.0 { m.t_end } else { 1.0 };
    let x_of = |t: f64| LEFT + (t / span_us) * (WIDTH - LEFT - 10.0);
    let height = page_height(rows.len());
    let mut s = String::new();
    let _ = write!(
        s,
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>{t}</title>\
         <style>body{{margin:0;background:#fff;font-family:sans-serif}}svg text{{font-size:12px}}</style></head><body>\n\
         <svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height}\" viewBox=\"0 0 {WIDTH} {height}\">\n\
         <defs><marker id=\"a\" viewBox=\"0 0 6 6\" refX=\"6\" refY=\"3\" markerWidth=\"6\" markerHeight=\"6\" orient=\"auto\">\
         <path d=\"M0,0L6,3L0,6z\" fill=\"#333\"/></marker></defs>\n\
         <text x=\"8\" y=\"20\" style=\"font-size:15px;font-weight:bold\">{t}</text>\n\
         <text x=\"8\" y=\"38\">{n} goroutine spans, {dur:.3} ms; arrows: wake-ups; red: preemptions; blue: steals</text>\n",
        t = esc(title),
        n = m.spans.iter().filter(|s| s.row < 1000).count(),
        dur = span_us / 1000.0,
    );
    // Rows.
    for (i, &tid) in rows.iter().enumerate() {
        let y = y_of(tid);
        let _ = writeln!(
            s,
            "<rect x=\"0\" y=\"{y}\" width=\"{WIDTH}\" height=\"{ROW}\" fill=\"{}\"/><text x=\"8\" y=\"{}\">{}</text>",
            hex(BAND[i % 2]),
            y + ROW / 2.0 + 4.0,
            esc(&m.rows[&tid])
        );
    }
    // Time axis: about ten ticks at a round step.
    let step = nice_step(span_us / 10.0);
    let mut t = 0.0;
    while t <= span_us {
        let x = x_of(t);
        let _ = writeln!(
            s,
            "<line x1=\"{x:.1}\" y1=\"{}\" x2=\"{x:.1}\" y2=\"{}\" stroke=\"#bbb\" stroke-width=\"1\"/><text x=\"{:.1}\" y=\"{}\">{}</text>",
            TOP - 8.0,
            TOP,
            x + 2.0,
            TOP - 10.0,
            fmt_us(t)
        );
        t += step;
    }
    // Spans.
    for sp in &m.spans {
        let (x0, x1) = (x_of(sp.start), x_of(sp.end));
        let w = (x1 - x0).max(1.0);
        let y = y_of(sp.row) + 4.0;
        let fill = if sp.row >= 1000 { "#555555".to_string() } else { hex(color(sp.g)) };
        let _ = writeln!(
            s,
            "<rect x=\"{x0:.2}\" y=\"{y}\" width=\"{w:.2}\" height=\"{}\" fill=\"{fill}\"><title>{} ({}, {} .. {}, ended: {})</title></rect>",
            ROW - 8.0,
            esc(&sp.name),
            if sp.row >= 1000 { format!("G{}", sp.g) } else { m.rows[&sp.row].clone() },
            fmt_us(sp.start),
            fmt_us(sp.end),
            esc(&sp.why)
        );
    }
    // Marks.
    for &(tid, t, preempt) in &m.marks {
        let (x, y) = (x_of(t), y_of(tid));
        let c = if preempt { "#e00000" } else { "#0040ff" };
        let _ = writeln!(s, "<path d=\"M{:.1},{y}l4,-6h-8z\" fill=\"{c}\"/>", x);
    }
    // Wake-up arrows.
    for ends in m.flows.values() {
        if let [Some((r0, t0)), Some((r1, t1))] = *ends {
            let (x0, y0, x1, y1) = (x_of(t0), y_of(r0) + ROW / 2.0, x_of(t1), y_of(r1) + ROW / 2.0);
            let _ = writeln!(
                s,
                "<line x1=\"{x0:.1}\" y1=\"{y0}\" x2=\"{x1:.1}\" y2=\"{y1}\" stroke=\"#333\" stroke-width=\"0.7\" marker-end=\"url(#a)\"/>"
            );
        }
    }
    s.push_str("</svg>\n</body></html>\n");
    Ok(s)
}

/// The page's height for `rows` rows.
pub fn page_height(rows: usize) -> f64 {
    TOP + rows as f64 * ROW + 20.0
}

/// 1, 2 or 5 times a power of ten, at least `x`.
fn nice_step(x: f64) -> f64 {
    let p = 10f64.powf(x.max(1e-3).log10().floor());
    [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * p).find(|&v| v >= x).unwrap_or(10.0 * p)
}

fn fmt_us(t: f64) -> String {
    if t >= 1000.0 {
        format!("{} ms", trim(format!("{:.3}", t / 1000.0)))
    } else {
        format!("{} µs", trim(format!("{t:.3}")))
    }
}

/// "10.500" → "10.5", "10.000" → "10".
fn trim(s: String) -> String {
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

pub fn cmd_trace_view(args: &[String]) -> Result<i32, Fail> {
    let mut input: Option<PathBuf> = None;
    let mut out: Option<PathBuf> = None;
    let mut png: Option<PathBuf> = None;
    let mut window: Option<(f64, f64)> = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "-o" => out = Some(it.next().ok_or("-o needs a file")?.into()),
            "--png" => png = Some(it.next().ok_or("--png needs a file")?.into()),
            "--window" => {
                let w = it.next().ok_or("--window needs FROM_MS..TO_MS")?;
                let (a, b) = w.split_once("..").ok_or("--window FROM_MS..TO_MS")?;
                let ms = |v: &str| v.parse::<f64>().map_err(|_| format!("--window: bad number {v:?}"));
                window = Some((ms(a)? * 1000.0, ms(b)? * 1000.0));
            }
            a if input.is_none() && !a.starts_with('-') => input = Some(a.into()),
            a => return Err(format!("trace-view: unexpected argument {a:?}").into()),
        }
    }
    let input = input.ok_or("usage: cargo xtask trace-view TRACE.json [-o OUT.html] [--png OUT.png]")?;
    let text = std::fs::read_to_string(&input).map_err(|e| format!("{}: {e}", input.display()))?;
    let doc = json::parse(&text).map_err(|e| format!("{}: not JSON: {e}", input.display()))?;
    let title = format!("gort trace: {}", input.file_name().map(|f| f.to_string_lossy()).unwrap_or_default());
    let html = render(&doc, &title, window).map_err(|e| format!("{}: {e}", input.display()))?;
    let out = out.unwrap_or_else(|| input.with_extension("html"));
    std::fs::write(&out, html).map_err(|e| format!("{}: {e}", out.display()))?;
    println!("wrote {}", out.display());
    if let Some(png) = png {
        let rows = model(&doc)?.rows.len();
        screenshot(&out, &png, page_height(rows) as u32)?;
        println!("wrote {}", png.display());
    }
    Ok(0)
}

/// Screenshots `html` with headless Chromium into `png`, WIDTH x `height` pixels.
pub fn screenshot(html: &Path, png: &Path, height: u32) -> Result<(), String> {
    // Installed with apt-get when missing and root (as bench installs go and wrk).
    let chromium = match ["chromium-browser", "google-chrome"].into_iter().find_map(crate::which) {
        Some(p) => p,
        None => crate::bench::tool_setup("chromium", "chromium")?,
    };
    let chromium = chromium.display().to_string();
    let html = std::fs::canonicalize(html).map_err(|e| format!("{}: {e}", html.display()))?;
    let profile = std::env::temp_dir().join(format!("gort-chromium-{}", std::process::id()));
    let st = std::process::Command::new(&chromium)
        .args(["--headless", "--disable-gpu", "--no-sandbox", "--hide-scrollbars", "--force-device-scale-factor=1"])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("--window-size={},{height}", WIDTH as u32))
        .arg(format!("file://{}", html.display()))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .map_err(|e| format!("{chromium}: {e}"))?;
    let _ = std::fs::remove_dir_all(&profile);
    if !st.success() || !png.is_file() {
        return Err(format!("{chromium} --screenshot failed ({st})"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An RGB image.
    struct Image {
        w: usize,
        h: usize,
        px: Vec<u8>,
    }

    impl Image {
        fn at(&self, x: usize, y: usize) -> (u8, u8, u8) {
            let i = (y * self.w + x) * 3;
            (self.px[i], self.px[i + 1], self.px[i + 2])
        }
    }

    fn decode(path: &Path) -> Image {
        let d = png::Decoder::new(std::io::BufReader::new(std::fs::File::open(path).unwrap()));
        let mut r = d.read_info().unwrap();
        let mut buf = vec![0; r.output_buffer_size().unwrap()];
        let info = r.next_frame(&mut buf).unwrap();
        let ch = info.color_type.samples();
        assert!(ch >= 3 && info.bit_depth == png::BitDepth::Eight, "unexpected PNG format {info:?}");
        let (w, h) = (info.width as usize, info.height as usize);
        let mut px = Vec::with_capacity(w * h * 3);
        for p in buf[..w * h * ch].chunks(ch) {
            px.extend_from_slice(&p[..3]);
        }
        Image { w, h, px }
    }

    /// Renders the known trace, screenshots it with headless Chromium and looks at the pixels:
    /// the page is not blank, and each P row shows its goroutine's color inside the span and
    /// the row's band color outside it (G1 runs on P0 from 10% to 90% of the trace, G2 on P1
    /// from 30% to the end).
    #[test]
    fn known_trace_screenshot_shows_the_p_rows() {
        let root = crate::root();
        let text = std::fs::read_to_string(root.join("xtask/testdata/trace-known.json")).unwrap();
        let doc = json::parse(&text).unwrap();
        let html = render(&doc, "known trace", None).unwrap();
        let dir = std::env::temp_dir().join(format!("gort-trace-view-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (page, shot) = (dir.join("known.html"), dir.join("known.png"));
        std::fs::write(&page, &html).unwrap();
        screenshot(&page, &shot, page_height(3) as u32 + 40).expect("screenshot (CI installs chromium; see .ci/run)");
        let img = decode(&shot);
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(img.w, WIDTH as usize);
        // Not blank: many colors.
        let mut colors: Vec<(u8, u8, u8)> = (0..img.w * img.h).map(|i| img.at(i % img.w, i / img.w)).collect();
        colors.sort_unstable();
        colors.dedup();
        assert!(colors.len() > 20, "a blank page: {} colors", colors.len());
        // The rows are P0, P1, M1 (tids 0, 1, 1001), at TOP + i*ROW.
        let x_at = |frac: f64| (LEFT + frac * (WIDTH - LEFT - 10.0)) as usize;
        let y_mid = |i: usize| (TOP + i as f64 * ROW + ROW / 2.0) as usize;
        assert_eq!(img.at(x_at(0.5), y_mid(0)), color(1), "P0 row: G1's span");
        assert_eq!(img.at(x_at(0.05), y_mid(0)), BAND[0], "P0 row: background before G1 starts");
        assert_eq!(img.at(x_at(0.6), y_mid(1)), color(2), "P1 row: G2's span");
        assert_eq!(img.at(x_at(0.2), y_mid(1)), BAND[1], "P1 row: background before G2 starts");
        assert_eq!(img.at(x_at(0.5), y_mid(2)), (0x55, 0x55, 0x55), "M1 row: the system call");
        // Below the rows: white page.
        assert_eq!(img.at(x_at(0.5), (TOP + 3.0 * ROW + 10.0) as usize), (255, 255, 255));
    }

    #[test]
    fn model_pairs_spans_and_arrows() {
        let root = crate::root();
        let text = std::fs::read_to_string(root.join("xtask/testdata/trace-known.json")).unwrap();
        let m = model(&json::parse(&text).unwrap()).unwrap();
        let p_spans: Vec<(u64, u64)> = m.spans.iter().filter(|s| s.row < 1000).map(|s| (s.row, s.g)).collect();
        assert_eq!(p_spans, vec![(0, 1), (1, 2)]);
        assert_eq!(m.flows.values().filter(|f| f[0].is_some() && f[1].is_some()).count(), 1);
        assert_eq!(m.marks.len(), 2);
    }
}
