//! One pass over a history for what the report draws, in memory that does not grow with the
//! history: latency points thinned to a bound per series, throughput in buckets that merge as
//! the run gets longer, fault windows, clock offsets, and the ops around a few anomalies.

use checkers::Anomaly;
use history::{JsonlReader, Op, OpType, Process, Value};
use std::collections::BTreeMap;
use std::path::Path;

/// Points kept per latency series.
pub const POINTS: usize = 1500;
/// Throughput buckets (they double in width to stay within this).
const BUCKETS: usize = 240;
/// Ops shown either side of an anomaly's witness ops.
const AROUND: u64 = 12;
/// Anomalies whose surroundings are drawn.
pub const TIMELINES: usize = 4;

/// A series thinned deterministically: every `stride`-th point, the stride doubling (and half
/// the points dropped) whenever the bound is reached.
#[derive(Debug, Clone, Default)]
pub struct Thinned {
    pub points: Vec<(u64, u64)>,
    stride: u64,
    seen: u64,
}

impl Thinned {
    fn push(&mut self, p: (u64, u64)) {
        if self.stride == 0 {
            self.stride = 1;
        }
        if self.seen.is_multiple_of(self.stride) {
            self.points.push(p);
            if self.points.len() >= POINTS {
                let mut i = 0;
                self.points.retain(|_| {
                    i += 1;
                    i % 2 == 1
                });
                self.stride *= 2;
            }
        }
        self.seen += 1;
    }

    pub fn total(&self) -> u64 {
        self.seen
    }

    #[cfg(test)]
    pub fn push_for_test(&mut self, p: (u64, u64)) {
        self.push(p);
    }
}

#[derive(Debug, Clone)]
pub struct FaultWindow {
    pub label: String,
    pub start: u64,
    pub end: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct TimelineOp {
    pub index: u64,
    pub process: String,
    pub f: String,
    pub start: u64,
    /// None: still open when the window closed.
    pub end: Option<u64>,
    pub outcome: OpType,
    pub witness: bool,
}

#[derive(Debug, Clone)]
pub struct Timeline {
    pub kind: String,
    pub checker: String,
    pub witness: Vec<u64>,
    pub ops: Vec<TimelineOp>,
}

/// What the report draws from the history.
#[derive(Debug, Default)]
pub struct HistoryScan {
    pub ops: u64,
    pub end: u64,
    /// (f, outcome) -> (completion time, latency), both ns.
    pub latency: BTreeMap<(String, &'static str), Thinned>,
    /// Completions per bucket, by outcome.
    pub throughput: BTreeMap<&'static str, Vec<u64>>,
    pub bucket_ns: u64,
    pub faults: Vec<FaultWindow>,
    /// node -> (time, offset ms)
    pub clocks: BTreeMap<String, Vec<(u64, f64)>>,
    pub timelines: Vec<Timeline>,
}

fn outcome(kind: OpType) -> &'static str {
    match kind {
        OpType::Ok => "ok",
        OpType::Fail => "fail",
        _ => "info",
    }
}

/// Index windows to gather, for the first anomaly of a few kinds: around each witness op.
/// An anomaly (with its checker) and the index ranges around it.
type Window = (String, Anomaly, Vec<(u64, u64)>);

fn windows(anomalies: &[(String, Anomaly)]) -> Vec<Window> {
    let mut seen = Vec::new();
    let mut out = Vec::new();
    for (checker, a) in anomalies {
        if out.len() >= TIMELINES || a.ops.is_empty() || seen.contains(&a.kind) {
            continue;
        }
        seen.push(a.kind.clone());
        let mut w: Vec<(u64, u64)> = a
            .ops
            .iter()
            .map(|&i| (i.saturating_sub(AROUND), i + AROUND))
            .collect();
        w.sort_unstable();
        let mut merged: Vec<(u64, u64)> = Vec::new();
        for (lo, hi) in w {
            match merged.last_mut() {
                Some(last) if lo <= last.1 + 1 => last.1 = last.1.max(hi),
                _ => merged.push((lo, hi)),
            }
        }
        out.push((checker.clone(), a.clone(), merged));
    }
    out
}

/// The report's data gathered op by op: by `rift check` in its checking pass (no window to
/// gather yet: the anomalies are not known), or by [`scan`] in a pass of its own.
#[derive(Debug)]
pub struct ScanBuilder {
    s: HistoryScan,
    open: BTreeMap<Process, (u64, u64)>,
    wanted: Vec<Window>,
    gathered: Vec<Vec<Op>>,
}

impl Default for ScanBuilder {
    fn default() -> Self {
        ScanBuilder::gathering(&[])
    }
}

impl ScanBuilder {
    /// A builder that also gathers the ops around these anomalies' witnesses.
    fn gathering(anomalies: &[(String, Anomaly)]) -> ScanBuilder {
        let wanted = windows(anomalies);
        ScanBuilder {
            s: HistoryScan {
                bucket_ns: 10_000_000,
                ..HistoryScan::default()
            },
            open: BTreeMap::new(),
            gathered: vec![Vec::new(); wanted.len()],
            wanted,
        }
    }

    /// Keeps the op for each anomaly whose window it is in.
    fn gather(&mut self, op: &Op) {
        for (i, (_, _, w)) in self.wanted.iter().enumerate() {
            if w.iter().any(|&(lo, hi)| op.index >= lo && op.index <= hi) {
                self.gathered[i].push(op.clone());
            }
        }
    }

    pub fn push(&mut self, op: &Op) {
        self.gather(op);
        let s = &mut self.s;
        s.ops += 1;
        s.end = s.end.max(op.time);
        if !op.process.is_client() {
            nemesis(s, op);
            return;
        }
        match op.kind {
            OpType::Invoke => {
                self.open.insert(op.process.clone(), (op.index, op.time));
            }
            kind => {
                let Some((_, start)) = self.open.remove(&op.process) else {
                    return;
                };
                let o = outcome(kind);
                s.latency
                    .entry((op.f.to_string(), o))
                    .or_default()
                    .push((op.time, op.time.saturating_sub(start)));
                let mut b = (op.time / s.bucket_ns) as usize;
                while b >= BUCKETS {
                    // Twice as wide: merge neighbours.
                    for counts in s.throughput.values_mut() {
                        let merged: Vec<u64> = counts.chunks(2).map(|c| c.iter().sum()).collect();
                        *counts = merged;
                    }
                    s.bucket_ns *= 2;
                    b = (op.time / s.bucket_ns) as usize;
                }
                let counts = s.throughput.entry(o).or_default();
                if counts.len() <= b {
                    counts.resize(b + 1, 0);
                }
                counts[b] += 1;
            }
        }
    }

    /// The scan, with the timelines of the windows gathered.
    fn finish(self) -> HistoryScan {
        let mut s = self.s;
        for ((checker, anomaly, _), ops) in self.wanted.into_iter().zip(self.gathered) {
            s.timelines.push(timeline(checker, anomaly, ops));
        }
        s
    }

    /// The scan, with the ops around these anomalies read from the history at `path`: only the
    /// lines in their windows are parsed (a line rift wrote names its index first), and the read
    /// stops after the last window.
    pub fn finish_with_timelines(
        self,
        path: &Path,
        anomalies: &[(String, Anomaly)],
    ) -> Result<HistoryScan, history::HistoryError> {
        let mut s = self.finish();
        let mut windows = ScanBuilder::gathering(anomalies);
        let Some(last) = windows
            .wanted
            .iter()
            .flat_map(|(_, _, w)| w.iter().map(|&(_, hi)| hi))
            .max()
        else {
            return Ok(s);
        };
        let inside = |i: u64| {
            windows
                .wanted
                .iter()
                .any(|(_, _, w)| w.iter().any(|&(lo, hi)| i >= lo && i <= hi))
        };
        let file = std::fs::File::open(path).map_err(|e| history::HistoryError::io(path, e))?;
        let mut input = std::io::BufReader::with_capacity(1 << 20, file);
        let mut line = Vec::new();
        let mut lines = Vec::new();
        loop {
            line.clear();
            let n = std::io::BufRead::read_until(&mut input, b'\n', &mut line)
                .map_err(|e| history::HistoryError::io(path, e))?;
            if n == 0 {
                break;
            }
            match leading_index(&line) {
                Some(i) if i > last => break,
                Some(i) if !inside(i) => continue,
                _ => lines.extend_from_slice(&line),
            }
        }
        // The lines kept are read as the history is, so that an op reads the same either way.
        for op in JsonlReader::new(std::io::Cursor::new(lines)).named(path) {
            windows.gather(&op?);
        }
        s.timelines = windows.finish().timelines;
        Ok(s)
    }
}

/// The index of a line that begins `{"index":N` (as every line rift writes does).
fn leading_index(line: &[u8]) -> Option<u64> {
    let rest = line.strip_prefix(b"{\"index\":")?;
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    if digits == 0 || !matches!(rest.get(digits), Some(b',' | b'}')) {
        return None;
    }
    std::str::from_utf8(&rest[..digits]).ok()?.parse().ok()
}

/// Reads the history once.
pub fn scan(
    path: &Path,
    anomalies: &[(String, Anomaly)],
) -> Result<HistoryScan, history::HistoryError> {
    let mut b = ScanBuilder::gathering(anomalies);
    for op in JsonlReader::open(path)? {
        b.push(&op?);
    }
    Ok(b.finish())
}

fn nemesis(s: &mut HistoryScan, op: &Op) {
    let f = &*op.f;
    if let Some(what) = f.strip_prefix("start-") {
        // Jepsen writes invoke and info for each nemesis op: the first opens the window.
        if !s.faults.iter().any(|w| w.end.is_none() && w.label == what) {
            s.faults.push(FaultWindow {
                label: what.to_owned(),
                start: op.time,
                end: None,
            });
        }
    } else if let Some(what) = f.strip_prefix("stop-") {
        for w in s
            .faults
            .iter_mut()
            .filter(|w| w.end.is_none() && w.label == what)
        {
            w.end = Some(op.time);
        }
    } else if f == "heal" {
        for w in s.faults.iter_mut().filter(|w| w.end.is_none()) {
            w.end = Some(op.time);
        }
    }
    if let Some(Value::Map(entries)) = offsets(&op.value) {
        for (node, ms) in entries {
            let (Some(node), Some(ms)) = (node.as_str(), number(ms)) else {
                continue;
            };
            s.clocks
                .entry(node.to_owned())
                .or_default()
                .push((op.time, ms));
        }
    }
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Int(i) => Some(*i as f64),
        Value::Float(f) => Some(*f),
        _ => None,
    }
}

/// The measured clock offsets a clock op's value carries.
fn offsets(v: &Value) -> Option<&Value> {
    match v {
        Value::Map(entries) => entries
            .iter()
            .find(|(k, _)| k.as_str() == Some("measured offsets (ms)"))
            .map(|(_, v)| v),
        _ => None,
    }
}

fn timeline(checker: String, anomaly: Anomaly, ops: Vec<Op>) -> Timeline {
    let mut out: Vec<TimelineOp> = Vec::new();
    let mut open: BTreeMap<Process, usize> = BTreeMap::new();
    for op in ops {
        let witness = anomaly.ops.contains(&op.index);
        match op.kind {
            OpType::Invoke => {
                open.insert(op.process.clone(), out.len());
                out.push(TimelineOp {
                    index: op.index,
                    process: op.process.to_string(),
                    f: op.f.to_string(),
                    start: op.time,
                    end: None,
                    outcome: OpType::Invoke,
                    witness,
                });
            }
            kind => match open.remove(&op.process) {
                Some(i) => {
                    let t = &mut out[i];
                    t.end = Some(op.time);
                    t.outcome = kind;
                    t.witness |= witness;
                    t.index = op.index;
                }
                None => out.push(TimelineOp {
                    index: op.index,
                    process: op.process.to_string(),
                    f: op.f.to_string(),
                    start: op.time,
                    end: Some(op.time),
                    outcome: kind,
                    witness,
                }),
            },
        }
    }
    Timeline {
        kind: anomaly.kind,
        checker,
        witness: anomaly.ops,
        ops: out,
    }
}
