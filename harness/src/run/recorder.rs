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
        }
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
