//! Reports people read: `report.html` (self-contained: inline CSS and SVG, no network),
//! `summary.md` (for CI step summaries) and `junit.xml` (one test case per checker), all
//! rendered from a run directory's results.json, test.json and history — so `rift report`
//! can render them again at any time. Also the run list `rift serve` shows.

mod plots;
pub mod scan;

use crate::{ResultsError, ResultsFile};
use checkers::{Anomaly, CheckResult, Validity};
use scan::HistoryScan;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

pub const REPORT_HTML: &str = "report.html";
pub const SUMMARY_MD: &str = "summary.md";
pub const JUNIT_XML: &str = "junit.xml";

/// Escapes text for HTML and XML.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn verdict_word(v: Validity) -> &'static str {
    match v {
        Validity::True => "valid",
        Validity::False => "invalid",
        Validity::Unknown => "unknown",
    }
}

/// Up to three of a checker's plain figures, as `name value`.
pub fn key_figures(r: &CheckResult) -> String {
    r.figures
        .iter()
        .filter(|(_, v)| v.is_number() || v.is_string() || v.is_boolean())
        .take(3)
        .map(|(k, v)| format!("{k} {}", v.to_string().trim_matches('"')))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What was rendered, and where.
#[derive(Debug)]
pub struct Rendered {
    /// report.html, summary.md, junit.xml.
    pub files: Vec<PathBuf>,
    /// anomalies/<kind>.txt and anomalies/<kind>/<n>.dot.
    pub anomaly_files: Vec<PathBuf>,
    pub html_bytes: usize,
}

/// Anomaly files a run directory keeps: `anomalies/<kind>.txt` (every explanation) and
/// `anomalies/<kind>/<n>.dot` (each cycle's graph).
pub fn anomaly_files<'a>(
    anomalies: impl IntoIterator<Item = &'a Anomaly>,
) -> Vec<(String, String)> {
    let mut texts: std::collections::BTreeMap<&str, String> = std::collections::BTreeMap::new();
    let mut files = Vec::new();
    let mut numbers: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for a in anomalies {
        let text = texts.entry(&a.kind).or_default();
        if !text.is_empty() {
            text.push_str("\n\n");
        }
        text.push_str(&a.explanation);
        if let Some(dot) = &a.dot {
            let n = numbers.entry(&a.kind).or_default();
            *n += 1;
            files.push((format!("anomalies/{}/{n}.dot", a.kind), dot.clone()));
        }
    }
    for (kind, text) in texts {
        files.push((format!("anomalies/{kind}.txt"), text + "\n"));
    }
    files
}

/// Renders report.html, summary.md and junit.xml into a run directory.
pub fn write_reports(run_dir: &Path) -> Result<Rendered, ResultsError> {
    write_reports_with(run_dir, None)
}

/// [`write_reports`], with what the report draws already gathered op by op in the checking
/// pass (`rift check`): the history is read again only for the ops around a few anomalies.
pub fn write_reports_with(
    run_dir: &Path,
    gathered: Option<scan::ScanBuilder>,
) -> Result<Rendered, ResultsError> {
    let read = |name: &str| -> Result<String, ResultsError> {
        let p = run_dir.join(name);
        std::fs::read_to_string(&p).map_err(|e| ResultsError::io(p, e))
    };
    let results: ResultsFile =
        serde_json::from_str(&read(crate::run_dir::RESULTS_JSON)?).map_err(|e| {
            ResultsError::Invalid {
                path: run_dir.join(crate::run_dir::RESULTS_JSON),
                message: e.to_string(),
            }
        })?;
    let plan: Option<serde_json::Value> = read(crate::run_dir::TEST_JSON)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok());
    let anomalies: Vec<(String, checkers::Anomaly)> = results
        .results
        .iter()
        .flat_map(|r| r.anomalies.iter().map(|a| (r.checker.clone(), a.clone())))
        .collect();
    let history = run_dir.join(crate::run_dir::HISTORY);
    let invalid = |e: history::HistoryError| ResultsError::Invalid {
        path: history.clone(),
        message: e.to_string(),
    };
    let scan = match gathered {
        Some(b) if history.is_file() => b
            .finish_with_timelines(&history, &anomalies)
            .map_err(invalid)?,
        None if history.is_file() => scan::scan(&history, &anomalies).map_err(invalid)?,
        _ => HistoryScan::default(),
    };
    let html = render_html(&results, plan.as_ref(), &scan);
    let mut files = Vec::new();
    for (name, text) in [
        (REPORT_HTML, html.as_str()),
        (
            SUMMARY_MD,
            &render_summary_md(
                &results,
                &std::fs::canonicalize(run_dir).unwrap_or_else(|_| run_dir.to_path_buf()),
            ),
        ),
        (JUNIT_XML, &render_junit(&results)),
    ] {
        let p = run_dir.join(name);
        std::fs::write(&p, text).map_err(|e| ResultsError::io(p.clone(), e))?;
        files.push(p);
    }
    // Each anomaly's explanation, and each cycle's graph, as files of their own.
    let mut written = Vec::new();
    for (name, text) in anomaly_files(anomalies.iter().map(|(_, a)| a)) {
        let p = run_dir.join(name);
        if let Some(dir) = p.parent() {
            std::fs::create_dir_all(dir).map_err(|e| ResultsError::io(dir, e))?;
        }
        std::fs::write(&p, text).map_err(|e| ResultsError::io(p.clone(), e))?;
        written.push(p);
    }
    Ok(Rendered {
        files,
        anomaly_files: written,
        html_bytes: html.len(),
    })
}

const CSS: &str = r#"
body { font-family: system-ui, sans-serif; margin: 0 auto; max-width: 1000px; padding: 1em; color: #222; }
.banner { padding: 0.8em 1em; border-radius: 6px; color: white; font-size: 1.3em; }
.valid { background: #2e7d32; } .invalid { background: #c62828; } .unknown { background: #ef6c00; } .na { background: #78909c; }
table { border-collapse: collapse; margin: 0.5em 0 1em; width: 100%; }
th, td { border: 1px solid #ddd; padding: 4px 8px; text-align: left; vertical-align: top; font-size: 0.92em; }
th { background: #f5f5f5; }
td.v-valid { color: #2e7d32; font-weight: bold; } td.v-invalid { color: #c62828; font-weight: bold; } td.v-unknown { color: #ef6c00; font-weight: bold; }
pre { background: #fafafa; border: 1px solid #eee; padding: 0.6em; white-space: pre-wrap; }
.anomaly { border-left: 4px solid #c62828; padding-left: 0.8em; margin: 1em 0; }
.plot svg { max-width: 100%; height: auto; }
.muted { color: #777; }
"#;

/// The whole report as one HTML page.
pub fn render_html(
    results: &ResultsFile,
    plan: Option<&serde_json::Value>,
    scan: &HistoryScan,
) -> String {
    let mut h = String::new();
    let word = verdict_word(results.valid);
    let _ = write!(
        h,
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>rift: {} — {word}</title><style>{CSS}</style></head><body>\n",
        escape(&results.test_name)
    );
    let counts: u64 = results
        .results
        .iter()
        .flat_map(|r| r.anomaly_counts.values())
        .sum();
    let _ = write!(
        h,
        "<div class=\"banner {word}\" id=\"verdict\">{}: <b>{word}</b>{}</div>\n<p class=\"muted\">checked {} · {} ops in {}</p>\n",
        escape(&results.test_name),
        if counts > 0 {
            format!(" — {counts} anomalies")
        } else {
            String::new()
        },
        escape(&results.checked_at),
        results.history.ops,
        escape(&results.history.path)
    );
    if !results.claimed_models.is_empty() {
        let _ = writeln!(
            h,
            "<p id=\"claim\">judged against the claimed models <b>{}</b> ({}): an anomaly they allow is reported and marked allowed, but does not make the run invalid.</p>",
            escape(&results.claimed_models.join(", ")),
            escape(&results.claim_source)
        );
    }

    // The plan.
    if let Some(serde_json::Value::Object(plan)) = plan {
        h.push_str("<h2>Plan</h2>\n<table id=\"plan\">");
        for (k, v) in plan_rows(plan) {
            let _ = write!(h, "<tr><th>{}</th><td>{}</td></tr>", escape(&k), escape(&v));
        }
        h.push_str("</table>\n");
    }

    // Checkers.
    h.push_str("<h2>Checkers</h2>\n<table id=\"checkers\"><tr><th>checker</th><th>verdict</th><th>summary</th><th>figures</th></tr>");
    for r in &results.results {
        let v = if r.applicable {
            verdict_word(r.valid)
        } else {
            "n/a"
        };
        let figures = serde_json::to_string(&r.figures).unwrap_or_default();
        let _ = write!(
            h,
            "<tr><td>{}</td><td class=\"v-{v}\">{v}</td><td>{}</td><td><details><summary>{}</summary><pre>{}</pre></details></td></tr>",
            escape(&r.checker),
            escape(&r.summary),
            escape(&key_figures(r)),
            escape(&figures)
        );
    }
    h.push_str("</table>\n");

    // Anomalies.
    if counts > 0 {
        h.push_str("<h2>Anomalies</h2>\n<table id=\"anomaly-counts\"><tr><th>checker</th><th>kind</th><th>count</th><th>claim</th></tr>");
        for r in &results.results {
            for (k, n) in &r.anomaly_counts {
                let claim = if crate::allowed(r, k) {
                    "allowed"
                } else {
                    "forbidden"
                };
                let _ = write!(
                    h,
                    "<tr><td>{}</td><td>{}</td><td>{n}</td><td class=\"claim-{claim}\">{claim}</td></tr>",
                    escape(&r.checker),
                    escape(k)
                );
            }
        }
        h.push_str("</table>\n");
        for r in &results.results {
            let mut shown: std::collections::BTreeMap<&str, usize> = Default::default();
            for a in &r.anomalies {
                // The first few of each kind open; the rest folded.
                let n = shown.entry(a.kind.as_str()).or_default();
                *n += 1;
                if *n == 4 {
                    h.push_str("<details><summary>more witnesses of this kind</summary>");
                }
                let ops: Vec<String> = a.ops.iter().map(u64::to_string).collect();
                let _ = write!(
                    h,
                    "<div class=\"anomaly\"><h3>{} · {}{}</h3><p>ops {}</p><pre>{}</pre>",
                    escape(&r.checker),
                    escape(&a.kind),
                    if a.allowed {
                        " <span class=\"claim-allowed\">(allowed by the claim)</span>"
                    } else {
                        ""
                    },
                    ops.join(", "),
                    escape(&a.explanation)
                );
                if let Some(dot) = &a.dot {
                    let _ = write!(
                        h,
                        "<details><summary>graph (DOT)</summary><pre>{}</pre></details>",
                        escape(dot)
                    );
                }
                h.push_str("</div>\n");
                let last_of_kind = !r
                    .anomalies
                    .iter()
                    .skip_while(|x| !std::ptr::eq(*x, a))
                    .skip(1)
                    .any(|x| x.kind == a.kind);
                if *n >= 4 && last_of_kind {
                    h.push_str("</details>\n");
                }
            }
        }
    }

    // Plots.
    h.push_str("<h2>Plots</h2>\n");
    plot(&mut h, "latency", plots::latency(scan));
    plot(&mut h, "throughput", plots::throughput(scan));
    plot(&mut h, "clocks", plots::clocks(scan));
    for r in &results.results {
        if let Some(serde_json::Value::Object(q)) = r.figures.get("visibility-ms") {
            let bars: Vec<(String, f64)> = q
                .iter()
                .filter_map(|(k, v)| v.as_f64().map(|v| (format!("q {k}"), v)))
                .collect();
            plot(
                &mut h,
                "visibility",
                plots::quantiles("visibility latency: ack → on every node (ms)", &bars),
            );
        }
    }
    let mut convergence: Vec<(String, f64)> = Vec::new();
    for r in &results.results {
        if let Some(ms) = r.figures.get("convergence-ms").and_then(|v| v.as_f64()) {
            convergence.push((r.checker.clone(), ms));
        }
    }
    plot(
        &mut h,
        "convergence",
        plots::quantiles("convergence: heal → replicas agree (ms)", &convergence),
    );
    if !scan.faults.is_empty() {
        h.push_str("<table id=\"faults\"><tr><th>fault</th><th>from (s)</th><th>to (s)</th></tr>");
        for w in &scan.faults {
            let _ = write!(
                h,
                "<tr><td>{}</td><td>{:.2}</td><td>{}</td></tr>",
                escape(&w.label),
                w.start as f64 / 1e9,
                w.end.map_or("end of run".to_owned(), |e| format!(
                    "{:.2}",
                    e as f64 / 1e9
                ))
            );
        }
        h.push_str("</table>\n");
    }
    // Linearizability witnesses, drawn from the results alone: the first few.
    let witnesses: Vec<&checkers::Anomaly> = results
        .results
        .iter()
        .flat_map(|r| r.anomalies.iter())
        .filter(|a| !a.bars.is_empty())
        .take(4)
        .collect();
    if !witnesses.is_empty() {
        h.push_str("<h2>Linearizability witnesses</h2>\n");
        for (i, a) in witnesses.iter().enumerate() {
            let failing = a.bars.iter().find(|b| b.failing);
            let title = match failing {
                Some(b) => format!("{}: no order places {} ({})", a.kind, b.label, b.index),
                None => a.kind.clone(),
            };
            plot(
                &mut h,
                &format!("witness-{i}"),
                plots::bars(&title, &a.bars).map(Some),
            );
        }
    }
    if !scan.timelines.is_empty() {
        h.push_str("<h2>Around the anomalies</h2>\n");
        for (i, t) in scan.timelines.iter().enumerate() {
            plot(
                &mut h,
                &format!("timeline-{i}"),
                plots::timeline(t).map(Some),
            );
        }
    }
    if let Some(run) = &results.run {
        let _ = writeln!(
            h,
            "<h2>Run</h2><pre id=\"run\">{}</pre>",
            escape(&serde_json::to_string_pretty(run).unwrap_or_default())
        );
    }
    h.push_str("<p class=\"muted\">rendered by rift from results.json and the history; no network needed.</p></body></html>\n");
    h
}

/// A plot into the page, or why it could not be drawn.
fn plot(h: &mut String, id: &str, svg: Result<Option<String>, String>) {
    match svg {
        Ok(Some(svg)) => {
            let _ = writeln!(h, "<div class=\"plot\" id=\"{id}\">{svg}</div>");
        }
        Ok(None) => {}
        Err(e) => {
            let _ = writeln!(
                h,
                "<p class=\"muted\">{id}: could not draw: {}</p>",
                escape(&e)
            );
        }
    }
}

/// Markdown for a CI step summary.
/// test.json as rows a person reads: `rift test`'s plan field by field, then the rest; each
/// value in words (durations as `3 s`, lists joined, nodes as `name (host:port)`).
fn plan_rows(test: &serde_json::Map<String, serde_json::Value>) -> Vec<(String, String)> {
    let mut rows = Vec::new();
    if let Some(serde_json::Value::Object(plan)) = test.get("plan") {
        for (k, v) in plan {
            let name = if k == "nodes" {
                "node source".to_owned()
            } else {
                k.replace('_', " ")
            };
            rows.push((name, readable(v)));
        }
    }
    for (k, v) in test {
        if k != "plan" {
            rows.push((k.replace('_', " "), readable(v)));
        }
    }
    rows
}

fn readable(v: &serde_json::Value) -> String {
    use serde_json::Value as J;
    match v {
        J::Null => "—".into(),
        J::String(s) => s.clone(),
        J::Bool(b) => if *b { "yes" } else { "no" }.into(),
        J::Number(n) => n.to_string(),
        J::Array(items) if items.is_empty() => "none".into(),
        J::Array(items) => items.iter().map(readable).collect::<Vec<_>>().join(", "),
        J::Object(o) => {
            if let (Some(secs), Some(nanos), 2) = (
                o.get("secs").and_then(J::as_u64),
                o.get("nanos").and_then(J::as_u64),
                o.len(),
            ) {
                let s = secs as f64 + nanos as f64 / 1e9;
                return format!("{} s", (s * 1000.0).round() / 1000.0);
            }
            if let (Some(name), Some(host)) = (
                o.get("name").and_then(J::as_str),
                o.get("host").and_then(J::as_str),
            ) {
                return match o.get("port").and_then(J::as_u64) {
                    Some(port) => format!("{name} ({host}:{port})"),
                    None => format!("{name} ({host})"),
                };
            }
            o.iter()
                .map(|(k, v)| format!("{}: {}", k.replace('_', " "), readable(v)))
                .collect::<Vec<_>>()
                .join("; ")
        }
    }
}

pub fn render_summary_md(results: &ResultsFile, run_dir: &Path) -> String {
    let mark = match results.valid {
        Validity::True => "✅",
        Validity::False => "❌",
        Validity::Unknown => "⚠️",
    };
    let mut s = format!(
        "## rift: {} — {mark} {}\n\n{} ops · checked {}\n\n| checker | verdict | summary |\n|---|---|---|\n",
        results.test_name,
        verdict_word(results.valid),
        results.history.ops,
        results.checked_at
    );
    let cell = |t: &str| t.replace('|', "\\|").replace('\n', " ");
    for r in &results.results {
        let v = if r.applicable {
            verdict_word(r.valid)
        } else {
            "n/a"
        };
        let _ = writeln!(s, "| {} | {v} | {} |", r.checker, cell(&r.summary));
    }
    let found: Vec<_> = results
        .results
        .iter()
        .flat_map(|r| r.anomaly_counts.iter().map(move |(k, n)| (r, k, n)))
        .collect();
    if !found.is_empty() {
        s.push_str(
            "\n| checker | anomaly | count | claim | first witness |\n|---|---|---|---|---|\n",
        );
        for (r, k, n) in found {
            let first = r
                .anomalies
                .iter()
                .find(|a| &a.kind == k)
                .map_or(String::new(), |a| {
                    let ops: Vec<String> = a.ops.iter().map(u64::to_string).collect();
                    let text = a.explanation.lines().next().unwrap_or("");
                    format!("ops {}: {}", ops.join(", "), text)
                });
            let claim = if crate::allowed(r, k) {
                "allowed"
            } else {
                "forbidden"
            };
            let _ = writeln!(
                s,
                "| {} | {k} | {n} | {claim} | {} |",
                r.checker,
                cell(&first)
            );
        }
    }
    if !results.claimed_models.is_empty() {
        let _ = writeln!(
            s,
            "\nClaimed: {} ({})",
            results.claimed_models.join(", "),
            results.claim_source
        );
    }
    let _ = writeln!(s, "\nReport: `{}`", run_dir.join(REPORT_HTML).display());
    s
}

/// JUnit XML: one test case per checker; an anomaly is a failure, unknown an error, a
/// checker with nothing to judge skipped.
pub fn render_junit(results: &ResultsFile) -> String {
    let failures = results
        .results
        .iter()
        .filter(|r| r.applicable && r.valid == Validity::False)
        .count();
    let errors = results
        .results
        .iter()
        .filter(|r| r.applicable && r.valid == Validity::Unknown)
        .count();
    let skipped = results.results.iter().filter(|r| !r.applicable).count();
    let mut x = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"rift\" tests=\"{n}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\">\n  <testsuite name=\"{name}\" tests=\"{n}\" failures=\"{failures}\" errors=\"{errors}\" skipped=\"{skipped}\" timestamp=\"{at}\">\n",
        n = results.results.len(),
        name = escape(&results.test_name),
        at = escape(&results.checked_at),
    );
    for r in &results.results {
        let _ = write!(
            x,
            "    <testcase classname=\"rift.{}\" name=\"{}\">",
            escape(&results.test_name),
            escape(&r.checker)
        );
        if !r.applicable {
            let _ = write!(x, "<skipped message=\"{}\"/>", escape(&r.summary));
        } else if r.valid == Validity::False {
            let mut body = String::new();
            for a in &r.anomalies {
                let ops: Vec<String> = a.ops.iter().map(u64::to_string).collect();
                let _ = writeln!(
                    body,
                    "{} (ops {}): {}",
                    a.kind,
                    ops.join(", "),
                    a.explanation
                );
            }
            let _ = write!(
                x,
                "<failure message=\"{}\" type=\"anomaly\">{}</failure>",
                escape(&r.summary),
                escape(&body)
            );
        } else if r.valid == Validity::Unknown {
            let _ = write!(
                x,
                "<error message=\"{}\" type=\"unknown\"/>",
                escape(&r.summary)
            );
        }
        x.push_str("</testcase>\n");
    }
    x.push_str("  </testsuite>\n</testsuites>\n");
    x
}

/// One run, as the run list shows it.
#[derive(Debug, Clone)]
pub struct RunEntry {
    /// Relative to the results root: `<test>/<stamp>`.
    pub path: String,
    pub test_name: String,
    pub checked_at: String,
    pub valid: Validity,
    pub ops: u64,
    pub anomalies: u64,
    pub has_report: bool,
}

/// Every run under a results root (`<test>/<stamp>/results.json`), newest first.
pub fn list_runs(root: &Path) -> Vec<RunEntry> {
    let mut out = Vec::new();
    let Ok(tests) = std::fs::read_dir(root) else {
        return out;
    };
    for test in tests.flatten() {
        let tp = test.path();
        if tp.is_symlink() || !tp.is_dir() {
            continue;
        }
        let Ok(stamps) = std::fs::read_dir(&tp) else {
            continue;
        };
        for stamp in stamps.flatten() {
            let sp = stamp.path();
            if sp.is_symlink() {
                continue;
            }
            let Ok(text) = std::fs::read_to_string(sp.join(crate::run_dir::RESULTS_JSON)) else {
                continue;
            };
            let Ok(r) = serde_json::from_str::<ResultsFile>(&text) else {
                continue;
            };
            out.push(RunEntry {
                path: format!(
                    "{}/{}",
                    test.file_name().to_string_lossy(),
                    stamp.file_name().to_string_lossy()
                ),
                test_name: r.test_name.clone(),
                checked_at: r.checked_at.clone(),
                valid: r.valid,
                ops: r.history.ops,
                anomalies: r
                    .results
                    .iter()
                    .flat_map(|c| c.anomaly_counts.values())
                    .sum(),
                has_report: sp.join(REPORT_HTML).is_file(),
            });
        }
    }
    out.sort_by(|a, b| b.checked_at.cmp(&a.checked_at).then(a.path.cmp(&b.path)));
    out
}

/// The run list as an HTML page (links go to `/runs/<test>/<stamp>/`).
pub fn render_index(runs: &[RunEntry], root: &Path) -> String {
    let mut h = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>rift runs</title><style>{CSS}</style></head><body>\n<h1>rift runs</h1>\n<p class=\"muted\">{} runs in {}</p>\n<table id=\"runs\"><tr><th>test</th><th>checked</th><th>verdict</th><th>ops</th><th>anomalies</th><th>files</th></tr>\n",
        runs.len(),
        escape(&root.display().to_string())
    );
    for r in runs {
        let word = verdict_word(r.valid);
        let link = if r.has_report {
            format!(
                "<a href=\"/runs/{p}/report.html\">report</a> · <a href=\"/runs/{p}/\">files</a>",
                p = escape(&r.path)
            )
        } else {
            format!("<a href=\"/runs/{p}/\">files</a>", p = escape(&r.path))
        };
        let _ = writeln!(
            h,
            "<tr class=\"run\"><td>{}</td><td>{}</td><td class=\"v-{word}\">{word}</td><td>{}</td><td>{}</td><td>{link}</td></tr>",
            escape(&r.test_name),
            escape(&r.checked_at),
            r.ops,
            r.anomalies
        );
    }
    h.push_str("</table></body></html>\n");
    h
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::HistorySummary;
    use checkers::{Anomaly, Verdict};
    use history::{HistoryWriter, Op, OpType, Process, Value};

    fn results(valid: bool) -> ResultsFile {
        let mut set = CheckResult::new(
            "set",
            if valid {
                Validity::True
            } else {
                Validity::False
            },
            if valid {
                "all 2 acknowledged elements read back"
            } else {
                "1 anomaly: 1 lost"
            },
        );
        set.figures
            .insert("acknowledged".into(), serde_json::json!(2));
        if !valid {
            set.anomaly_counts.insert("lost".into(), 1);
            set.anomalies.push(Anomaly {
                kind: "lost".into(),
                ops: vec![1, 5],
                explanation: "Element 1 was acknowledged (op 1) but final read op 5 <lacks> it."
                    .into(),
                dot: None,
                allowed: false,
                bars: Vec::new(),
            });
        }
        let conv = CheckResult::not_applicable("convergence", "not judged: no final reads");
        let mut r = ResultsFile::new(
            "demo",
            HistorySummary {
                path: "history.jsonl".into(),
                ops: 6,
                warnings: vec![],
            },
            Verdict::of(vec![set, conv]),
        );
        r.checked_at = "2026-11-22T00:00:00+00:00".into();
        r
    }

    fn run_dir(valid: bool) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let w = HistoryWriter::create(dir.path().join("history.jsonl")).unwrap();
        let nemesis = Process::Named("nemesis".into());
        let ops = [
            Op::new(OpType::Invoke, Process::Client(0), "add", Value::Int(1)),
            Op::new(OpType::Ok, Process::Client(0), "add", Value::Int(1)),
            Op::new(OpType::Info, nemesis.clone(), "start-partition", Value::Nil),
            Op::new(OpType::Invoke, Process::Client(1), "read", Value::Nil),
            Op::new(OpType::Info, nemesis, "stop-partition", Value::Nil),
            Op::new(
                OpType::Ok,
                Process::Client(1),
                "read",
                Value::List(if valid { vec![Value::Int(1)] } else { vec![] }),
            ),
        ];
        for (i, op) in ops.into_iter().enumerate() {
            w.append(op.at(i as u64, i as u64 * 1_000_000)).unwrap();
        }
        w.close().unwrap();
        let r = results(valid);
        std::fs::write(
            dir.path().join("results.json"),
            serde_json::to_string(&r).unwrap(),
        )
        .unwrap();
        std::fs::write(
            dir.path().join("test.json"),
            r#"{"workload":"set","nemesis":["partition"]}"#,
        )
        .unwrap();
        dir
    }

    #[test]
    fn an_invalid_run_renders_its_verdict_anomaly_and_plots_escaped() {
        let dir = run_dir(false);
        let rendered = write_reports(dir.path()).unwrap();
        assert_eq!(rendered.files.len(), 3);
        let html = std::fs::read_to_string(dir.path().join(REPORT_HTML)).unwrap();
        assert!(html.starts_with("<!doctype html>"));
        assert!(
            html.contains("class=\"banner invalid\" id=\"verdict\""),
            "banner"
        );
        assert!(
            html.contains("final read op 5 &lt;lacks&gt; it"),
            "explanation escaped"
        );
        assert!(!html.contains("<lacks>"));
        assert!(
            !html.contains(" src=") && !html.contains("<link"),
            "no external assets"
        );
        assert!(!html.contains("<script"), "no scripts");
        // Plots: latency, throughput, a shaded partition, and the ops around the anomaly.
        for id in ["latency", "throughput", "timeline-0"] {
            let at = html
                .find(&format!("id=\"{id}\""))
                .unwrap_or_else(|| panic!("no {id} plot"));
            assert!(
                html[at..].trim_start_matches(|c| c != '<').contains("<svg"),
                "{id}"
            );
        }
        assert_eq!(html.matches("<svg").count(), html.matches("</svg>").count());
        assert!(
            html.contains(">partition</text>") || html.contains("partition\n</text>"),
            "fault label"
        );
        assert!(html.contains("<td>partition</td>"), "fault table");
        assert!(html.contains("<td class=\"v-n/a\">n/a</td>"));
    }

    #[test]
    fn a_valid_run_has_a_valid_banner_and_no_anomaly_section() {
        let dir = run_dir(true);
        write_reports(dir.path()).unwrap();
        let html = std::fs::read_to_string(dir.path().join(REPORT_HTML)).unwrap();
        assert!(html.contains("class=\"banner valid\""));
        assert!(!html.contains("<h2>Anomalies</h2>"));
        assert!(!html.contains("Around the anomalies"));
    }

    #[test]
    fn the_plan_reads_as_a_table_of_words_not_json() {
        let test = serde_json::json!({
            "command": "test",
            "plan": {
                "time_limit": {"secs": 3, "nanos": 0},
                "nemesis_interval": {"secs": 0, "nanos": 500_000_000},
                "nemesis": ["partition", "clock"],
                "db_flags": [],
                "nodes": {"local": {"nodes": 5}},
                "leave_db_running": false,
            },
            "nodes": [{"name": "n1", "host": "10.0.0.1", "port": 22, "user": "root"}],
            "concurrency": 10,
        });
        let rows: std::collections::BTreeMap<String, String> =
            plan_rows(test.as_object().unwrap()).into_iter().collect();
        assert_eq!(rows["time limit"], "3 s");
        assert_eq!(rows["nemesis interval"], "0.5 s");
        assert_eq!(rows["nemesis"], "partition, clock");
        assert_eq!(rows["db flags"], "none");
        assert_eq!(rows["leave db running"], "no");
        assert_eq!(rows["nodes"], "n1 (10.0.0.1:22)");
        assert_eq!(rows["node source"], "local: nodes: 5");
        assert_eq!(rows["concurrency"], "10");
        assert!(!rows.values().any(|v| v.contains('{')), "{rows:?}");
    }

    #[test]
    fn summary_markdown_snapshot() {
        let mut r = results(false);
        r.claimed_models = vec!["eventual".into()];
        r.claim_source = "the set workload's default".into();
        let md = render_summary_md(&r, Path::new("results/demo/x"));
        assert_eq!(
            md,
            "## rift: demo — ❌ invalid\n\n6 ops · checked 2026-11-22T00:00:00+00:00\n\n\
             | checker | verdict | summary |\n|---|---|---|\n\
             | set | invalid | 1 anomaly: 1 lost |\n\
             | convergence | n/a | not judged: no final reads |\n\n\
             | checker | anomaly | count | claim | first witness |\n|---|---|---|---|---|\n\
             | set | lost | 1 | forbidden | ops 1, 5: Element 1 was acknowledged (op 1) but final read op 5 <lacks> it. |\n\n\
             Claimed: eventual (the set workload's default)\n\n\
             Report: `results/demo/x/report.html`\n"
        );
    }

    #[test]
    fn junit_snapshot() {
        assert_eq!(
            render_junit(&results(false)),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
             <testsuites name=\"rift\" tests=\"2\" failures=\"1\" errors=\"0\" skipped=\"1\">\n  \
             <testsuite name=\"demo\" tests=\"2\" failures=\"1\" errors=\"0\" skipped=\"1\" timestamp=\"2026-11-22T00:00:00+00:00\">\n    \
             <testcase classname=\"rift.demo\" name=\"set\"><failure message=\"1 anomaly: 1 lost\" type=\"anomaly\">lost (ops 1, 5): Element 1 was acknowledged (op 1) but final read op 5 &lt;lacks&gt; it.\n</failure></testcase>\n    \
             <testcase classname=\"rift.demo\" name=\"convergence\"><skipped message=\"not judged: no final reads\"/></testcase>\n  \
             </testsuite>\n</testsuites>\n"
        );
        let valid = render_junit(&results(true));
        assert!(valid.contains("failures=\"0\""));
        assert!(valid.contains("name=\"set\"></testcase>"));
    }

    #[test]
    fn the_run_list_finds_runs_newest_first_and_skips_latest_links() {
        let root = tempfile::tempdir().unwrap();
        for (stamp, valid, at) in [("1", true, "2026-01-01"), ("2", false, "2026-02-01")] {
            let d = root.path().join("t").join(stamp);
            std::fs::create_dir_all(&d).unwrap();
            let mut r = results(valid);
            r.checked_at = at.into();
            std::fs::write(d.join("results.json"), serde_json::to_string(&r).unwrap()).unwrap();
        }
        std::os::unix::fs::symlink(root.path().join("t/2"), root.path().join("t/latest")).unwrap();
        let runs = list_runs(root.path());
        assert_eq!(
            runs.iter().map(|r| r.path.as_str()).collect::<Vec<_>>(),
            vec!["t/2", "t/1"]
        );
        assert_eq!(runs[0].anomalies, 1);
        let page = render_index(&runs, root.path());
        assert!(page.contains("<td class=\"v-invalid\">invalid</td>"));
        assert!(page.contains("href=\"/runs/t/1/\""));
    }

    #[test]
    fn anomaly_files_are_named_by_kind() {
        // G1c: each transaction read what the other appended.
        let txn = |mops: &[(&str, &str, Value)]| {
            Value::List(
                mops.iter()
                    .map(|(f, k, v)| Value::List(vec![Value::from(*f), Value::from(*k), v.clone()]))
                    .collect(),
            )
        };
        let ints = |xs: &[i64]| Value::List(xs.iter().map(|&x| Value::Int(x)).collect());
        let t0 = |v| txn(&[("append", "x", Value::Int(1)), ("r", "y", v)]);
        let t1 = |v| txn(&[("append", "y", Value::Int(2)), ("r", "x", v)]);
        let ops: Vec<Op> = [
            (0, OpType::Invoke, t0(Value::Nil)),
            (1, OpType::Invoke, t1(Value::Nil)),
            (0, OpType::Ok, t0(ints(&[2]))),
            (1, OpType::Ok, t1(ints(&[1]))),
        ]
        .into_iter()
        .enumerate()
        .map(|(i, (p, kind, v))| Op::new(kind, Process::Client(p), "txn", v).at(i as u64, i as u64))
        .collect();
        let elle = checkers::Elle::list_append(&["strict-serializable".to_owned()]);
        let r = checkers::check(vec![Box::new(elle)], &ops)
            .unwrap()
            .results
            .remove(0);
        let files = anomaly_files(&r.anomalies);
        assert!(
            files.iter().any(|(p, _)| p == "anomalies/G1c.txt"),
            "{:?}",
            files.iter().map(|f| &f.0).collect::<Vec<_>>()
        );
        assert!(
            files
                .iter()
                .any(|(p, c)| p == "anomalies/G1c/1.dot" && c.starts_with("digraph"))
        );
    }

    #[test]
    fn thinning_keeps_a_bounded_evenly_spread_sample() {
        let mut t = scan::Thinned::default();
        for i in 0..100_000u64 {
            t.push_for_test((i, i));
        }
        assert!(t.points.len() < scan::POINTS);
        assert!(t.points.len() > scan::POINTS / 4);
        assert_eq!(t.total(), 100_000);
        assert!(t.points.last().unwrap().0 > 90_000, "spread to the end");
    }
}
