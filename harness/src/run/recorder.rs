use history::{HistoryError, HistoryWriter, Op, OpType, Process, Sym, Value};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Stamps ops with the time since the test began and appends them to the history as they
/// happen; keeps the counts the progress view shows.
#[derive(Debug)]
pub struct Recorder {
    writer: HistoryWriter,
    start: Instant,
    pub invoked: AtomicU64,
    pub ok: AtomicU64,
    pub fail: AtomicU64,
    pub info: AtomicU64,
    /// One past the greatest client process number recorded.
    next_process: AtomicU64,
    /// The faults in force and the nodes each strikes, as the nemesis last recorded them.
    faults: std::sync::Mutex<std::collections::BTreeMap<String, Vec<String>>>,
}

impl Recorder {
    pub fn new(writer: HistoryWriter) -> Recorder {
        Recorder {
            writer,
            start: Instant::now(),
            invoked: AtomicU64::new(0),
            ok: AtomicU64::new(0),
            fail: AtomicU64::new(0),
            info: AtomicU64::new(0),
            next_process: AtomicU64::new(0),
            faults: std::sync::Mutex::new(Default::default()),
        }
    }

    /// Follows the nemesis: a `start-<kind>` that completed puts its fault in force on the
    /// nodes its value names; `stop-<kind>` (or `heal`) ends it.
    pub fn note_fault(&self, f: &str, value: &Value, nodes: &[String]) {
        let mut faults = self.faults.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(kind) = f.strip_prefix("start-") {
            let text = serde_json::to_string(value).unwrap_or_default();
            let named: Vec<String> = nodes
                .iter()
                .filter(|n| text.contains(&format!("\"{n}\"")))
                .cloned()
                .collect();
            faults.insert(kind.to_owned(), named);
        } else if let Some(kind) = f.strip_prefix("stop-") {
            faults.remove(kind);
        } else if f == "heal" {
            faults.clear();
        }
    }

    /// "partition (n1, n2), clock (n3)", or "none".
    pub fn faults_in_force(&self) -> String {
        let faults = self.faults.lock().unwrap_or_else(|p| p.into_inner());
        if faults.is_empty() {
            return "none".into();
        }
        let each: Vec<String> = faults
            .iter()
            .map(|(kind, nodes)| match nodes.is_empty() {
                true => kind.clone(),
                false => format!("{kind} ({})", nodes.join(", ")),
            })
            .collect();
        each.join(", ")
    }

    /// Time since the test began (the monotonic clock the history's times are on).
    pub fn now(&self) -> Duration {
        self.start.elapsed()
    }

    #[allow(clippy::too_many_arguments)]
    pub fn record(
        &self,
        kind: OpType,
        process: &Process,
        f: &Sym,
        value: Value,
        node: Option<&Sym>,
        error: Option<String>,
        is_final: bool,
    ) -> Result<u64, HistoryError> {
        let counter = match kind {
            OpType::Invoke => &self.invoked,
            OpType::Ok => &self.ok,
            OpType::Fail => &self.fail,
            OpType::Info => &self.info,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        if let Process::Client(n) = process {
            self.next_process.fetch_max(n + 1, Ordering::Relaxed);
        }
        let mut op = Op::new(kind, process.clone(), f.clone(), value);
        op.time = self.start.elapsed().as_nanos() as u64;
        op.node = node.cloned();
        op.error = error.map(Value::Str);
        op.is_final = is_final;
        self.writer.record(op)
    }

    /// `n` process numbers never used before (for the final phase's readers).
    pub fn fresh_processes(&self, n: u64) -> std::ops::Range<u64> {
        let first = self.next_process.fetch_add(n, Ordering::Relaxed);
        first..first + n
    }

    /// Writes and syncs everything; returns how many ops the history holds.
    pub fn close(self) -> Result<u64, HistoryError> {
        self.writer.close()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_faults_in_force_follow_the_nemesis_with_their_nodes() {
        let dir = tempfile::tempdir().unwrap();
        let r = Recorder::new(HistoryWriter::create(dir.path().join("h.jsonl")).unwrap());
        let nodes: Vec<String> = ["n1", "n2", "n3", "n10"].map(String::from).to_vec();
        assert_eq!(r.faults_in_force(), "none");
        let grudge = Value::map([(
            Value::from("n1"),
            Value::List(vec![Value::from("n2"), Value::from("n3")]),
        )]);
        r.note_fault("start-partition", &grudge, &nodes);
        let clock = Value::map([(
            Value::from("bumped (ms)"),
            Value::List(vec![Value::List(vec![Value::from("n10"), Value::Int(5)])]),
        )]);
        r.note_fault("start-clock", &clock, &nodes);
        // n1 is not taken for n10, nor the other way round.
        assert_eq!(r.faults_in_force(), "clock (n10), partition (n1, n2, n3)");
        r.note_fault("stop-partition", &Value::Nil, &nodes);
        assert_eq!(r.faults_in_force(), "clock (n10)");
        r.note_fault("heal", &Value::Nil, &nodes);
        assert_eq!(r.faults_in_force(), "none");
    }
}
