//! Rendering the reports of a long run: `cargo bench -p results --bench report`.
//!
//! A history of 1 M ops (10 processes adding and reading a set, 2 % failed and 1 % info,
//! a partition and a clock fault every few seconds with measured offsets for 5 nodes, 100 s of
//! run time) with results naming anomalies deep inside it; the reports (report.html,
//! summary.md, junit.xml) are rendered three times. Figures: median render time, the size of
//! report.html, and the heap's peak while rendering (a counting allocator).
#![allow(clippy::unwrap_used)]

use checkers::{Anomaly, CheckResult, Validity, Verdict};
use history::{HistoryWriter, Op, OpType, Process, Value};
use results::{HistorySummary, ResultsFile};
use std::time::Instant;

#[path = "../../bench-support/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::{peak_since, reset_peak};

const OPS: u64 = 1_000_000;

fn main() {
    let dir = tempfile::tempdir().unwrap();
    let w = HistoryWriter::create(dir.path().join("history.jsonl")).unwrap();
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let mut rand = move |m: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % m
    };
    let mut open: Vec<Option<&'static str>> = vec![None; 10];
    let (mut i, mut next) = (0u64, 0i64);
    let nemesis = Process::Named("nemesis".into());
    while i < OPS {
        let t = i * 100_000; // 100 s over the run
        if i % 50_000 == 25_000 {
            let (f, v) = if (i / 50_000) % 2 == 0 {
                ("start-partition", Value::from("halves"))
            } else {
                let offsets = Value::map((1..=5).map(|n| {
                    (
                        Value::from(format!("n{n}").as_str()),
                        Value::Int(rand(2000) as i64 - 1000),
                    )
                }));
                (
                    "start-clock",
                    Value::map([(Value::from("measured offsets (ms)"), offsets)]),
                )
            };
            w.append(Op::new(OpType::Info, nemesis.clone(), f, v).at(i, t))
                .unwrap();
            i += 1;
            continue;
        }
        if i % 50_000 == 45_000 {
            let f = if (i / 50_000) % 2 == 0 {
                "stop-partition"
            } else {
                "stop-clock"
            };
            w.append(Op::new(OpType::Info, nemesis.clone(), f, Value::Nil).at(i, t))
                .unwrap();
            i += 1;
            continue;
        }
        let p = rand(10) as usize;
        let op = match open[p].take() {
            None => {
                let f = if rand(5) == 0 { "read" } else { "add" };
                open[p] = Some(f);
                next += 1;
                Op::new(
                    OpType::Invoke,
                    Process::Client(p as u64),
                    f,
                    Value::Int(next),
                )
            }
            Some(f) => {
                let kind = match rand(100) {
                    0 | 1 => OpType::Fail,
                    2 => OpType::Info,
                    _ => OpType::Ok,
                };
                Op::new(kind, Process::Client(p as u64), f, Value::Int(next))
            }
        };
        w.append(op.on_node("n1").at(i, t + rand(50_000))).unwrap();
        i += 1;
    }
    w.close().unwrap();
    let size = std::fs::metadata(dir.path().join("history.jsonl"))
        .unwrap()
        .len();

    let mut set = CheckResult::new("set", Validity::False, "anomalies deep in the run");
    set.figures.insert(
        "visibility-ms".into(),
        serde_json::json!({"0": 1.0, "0.5": 12.0, "0.95": 80.0, "0.99": 200.0, "1": 900.0}),
    );
    for (n, at) in [(1u64, 123_456u64), (2, 654_321), (3, 999_000)] {
        let kind = if n == 2 { "stale" } else { "lost" };
        *set.anomaly_counts.entry(kind.into()).or_default() += 1;
        set.anomalies.push(Anomaly {
            kind: kind.into(),
            ops: vec![at, at + 7, at + 30],
            explanation: format!("witness {n}"),
            dot: None,
            allowed: false,
            bars: Vec::new(),
        });
    }
    let mut conv = CheckResult::new("convergence", Validity::True, "agreed");
    conv.figures
        .insert("convergence-ms".into(), serde_json::json!(42.0));
    let results = ResultsFile::new(
        "bench",
        HistorySummary {
            path: "history.jsonl".into(),
            ops: OPS,
            warnings: vec![],
        },
        Verdict::of(vec![set, conv]),
    );
    std::fs::write(
        dir.path().join("results.json"),
        serde_json::to_string(&results).unwrap(),
    )
    .unwrap();

    let mut times = Vec::new();
    let mut peak = 0usize;
    let mut html = 0usize;
    for _ in 0..3 {
        let base = reset_peak();
        let start = Instant::now();
        let r = results::report::write_reports(dir.path()).unwrap();
        times.push(start.elapsed().as_secs_f64());
        peak = peak.max(peak_since(base));
        html = r.html_bytes;
    }
    times.sort_by(f64::total_cmp);
    println!(
        "history {OPS} ops ({:.0} MB): reports rendered in {:.2} s (median of 3), report.html {:.2} MB, peak heap while rendering {:.1} MB",
        size as f64 / 1e6,
        times[1],
        html as f64 / 1e6,
        peak as f64 / 1e6
    );
}
