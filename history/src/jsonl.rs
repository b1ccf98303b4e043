//! JSON Lines: rift's native history format, one op per line.
//!
//! The writer is built for a harness that may be killed at any moment: ops go to a background
//! thread that writes whatever it has at least every [`FLUSH_INTERVAL`], so an op recorded more
//! than 100 ms before a SIGKILL is in the file. That costs one `write(2)` per interval rather than
//! one per op. An `fdatasync` follows every [`SYNC_INTERVAL`] and at close, for machine crashes.
//!
//! The reader tolerates the one defect such a crash leaves, a last line cut short: it keeps every
//! complete line and says what it dropped. Any other malformed line is an error naming its line.

use crate::op::OpSeed;
use crate::{HistoryError, Interner, Loaded, Location, Op};
use serde::de::DeserializeSeed;
use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Longest an op waits in memory before it is written to the file.
pub const FLUSH_INTERVAL: Duration = Duration::from_millis(50);
/// Longest written data waits before it is synced to the disk.
pub const SYNC_INTERVAL: Duration = Duration::from_secs(1);

/// Appends ops to a JSON Lines file as they are recorded. Shareable across threads: the index
/// order of the file is the order in which [`HistoryWriter::record`] calls took the lock.
#[derive(Debug)]
pub struct HistoryWriter {
    path: PathBuf,
    state: Mutex<WriterState>,
    worker: Option<JoinHandle<()>>,
    failure: Arc<Mutex<Option<String>>>,
}

#[derive(Debug)]
struct WriterState {
    next_index: u64,
    sender: Option<mpsc::Sender<Op>>,
}

impl HistoryWriter {
    /// Creates (or truncates) the file and starts the writer thread.
    pub fn create(path: impl Into<PathBuf>) -> Result<HistoryWriter, HistoryError> {
        let path = path.into();
        let file = File::create(&path).map_err(|e| HistoryError::io(&path, e))?;
        let (sender, receiver) = mpsc::channel();
        let failure = Arc::new(Mutex::new(None));
        let worker = {
            let failure = failure.clone();
            let shown = path.display().to_string();
            std::thread::Builder::new()
                .name("history-writer".into())
                .spawn(move || {
                    if let Err(e) = write_loop(file, receiver) {
                        *lock(&failure) = Some(format!("{shown}: {e}"));
                    }
                })
                .map_err(|e| HistoryError::io(&path, e))?
        };
        Ok(HistoryWriter {
            path,
            state: Mutex::new(WriterState {
                next_index: 0,
                sender: Some(sender),
            }),
            worker: Some(worker),
            failure,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Records an op under the next index, which it returns.
    pub fn record(&self, mut op: Op) -> Result<u64, HistoryError> {
        let mut state = lock(&self.state);
        op.index = state.next_index;
        self.send(&mut state, op)
    }

    /// Appends an op keeping its own index, which must come after every index written so far
    /// (for copying a history whose indexes others refer to).
    pub fn append(&self, op: Op) -> Result<u64, HistoryError> {
        let mut state = lock(&self.state);
        if op.index < state.next_index {
            return Err(HistoryError::Writer(format!(
                "op index {} is not after the last one written ({})",
                op.index,
                state.next_index.saturating_sub(1)
            )));
        }
        self.send(&mut state, op)
    }

    fn send(&self, state: &mut WriterState, op: Op) -> Result<u64, HistoryError> {
        let index = op.index;
        let sent = state.sender.as_ref().map(|s| s.send(op).is_ok());
        if sent != Some(true) {
            return Err(self.failure());
        }
        state.next_index = index + 1;
        Ok(index)
    }

    fn failure(&self) -> HistoryError {
        let why = lock(&self.failure).clone();
        HistoryError::Writer(why.unwrap_or_else(|| "the writer is closed".into()))
    }

    /// Writes and syncs everything recorded, stops the writer thread, and returns how many ops
    /// the file holds.
    pub fn close(mut self) -> Result<u64, HistoryError> {
        self.shut_down()
    }

    fn shut_down(&mut self) -> Result<u64, HistoryError> {
        let count = {
            let mut state = lock(&self.state);
            state.sender = None;
            state.next_index
        };
        if let Some(worker) = self.worker.take()
            && worker.join().is_err()
        {
            return Err(HistoryError::Writer("the writer thread panicked".into()));
        }
        match lock(&self.failure).clone() {
            Some(why) => Err(HistoryError::Writer(why)),
            None => Ok(count),
        }
    }
}

impl Drop for HistoryWriter {
    fn drop(&mut self) {
        // Nothing recorded is lost when an owner forgets to close (or unwinds from a panic).
        let _ = self.shut_down();
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic elsewhere while holding the lock leaves the data usable: keep recording.
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn write_loop(file: File, ops: mpsc::Receiver<Op>) -> io::Result<()> {
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let mut last_sync = Instant::now();
    let mut unsynced = false;
    // Wait for the first op of a batch, then gather until the batch is FLUSH_INTERVAL old.
    while let Ok(first) = ops.recv() {
        write_op(&mut out, &first)?;
        let deadline = Instant::now() + FLUSH_INTERVAL;
        let mut closed = false;
        loop {
            match ops.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(op) => write_op(&mut out, &op)?,
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => {
                    closed = true;
                    break;
                }
            }
        }
        out.flush()?;
        unsynced = true;
        if last_sync.elapsed() >= SYNC_INTERVAL {
            out.get_ref().sync_data()?;
            last_sync = Instant::now();
            unsynced = false;
        }
        if closed {
            break;
        }
    }
    out.flush()?;
    if unsynced {
        out.get_ref().sync_data()?;
    }
    Ok(())
}

/// Writes one op as a line of JSON (with its newline): the bytes serde writes for it
/// ([`write_op_serde`]), built by hand in one buffer, which is three times faster.
pub fn write_op(out: &mut impl Write, op: &Op) -> io::Result<()> {
    thread_local! {
        static LINE: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
    }
    LINE.with(|line| {
        let mut line = line.borrow_mut();
        line.clear();
        op_line(op, &mut line)?;
        let written = out.write_all(&line);
        // A huge op (a final read of millions of elements) does not keep its buffer.
        if line.capacity() > 1 << 20 {
            *line = Vec::new();
        }
        written
    })
}

/// [`write_op`] through serde: what the hand-built line is tested against.
pub fn write_op_serde(out: &mut impl Write, op: &Op) -> io::Result<()> {
    serde_json::to_writer(&mut *out, op)?;
    out.write_all(b"\n")
}

/// One op's line, as serde would write it.
fn op_line(op: &Op, out: &mut Vec<u8>) -> io::Result<()> {
    let mut ints = itoa::Buffer::new();
    out.extend_from_slice(b"{\"index\":");
    out.extend_from_slice(ints.format(op.index).as_bytes());
    out.extend_from_slice(b",\"time\":");
    out.extend_from_slice(ints.format(op.time).as_bytes());
    out.extend_from_slice(b",\"type\":\"");
    out.extend_from_slice(op.kind.as_str().as_bytes());
    out.extend_from_slice(b"\",\"process\":");
    match &op.process {
        crate::Process::Client(n) => out.extend_from_slice(ints.format(*n).as_bytes()),
        crate::Process::Named(n) => json_str(n, out)?,
    }
    out.extend_from_slice(b",\"f\":");
    json_str(&op.f, out)?;
    out.extend_from_slice(b",\"value\":");
    json_value(&op.value, out, &mut ints)?;
    if let Some(node) = &op.node {
        out.extend_from_slice(b",\"node\":");
        json_str(node, out)?;
    }
    if let Some(error) = &op.error {
        out.extend_from_slice(b",\"error\":");
        json_value(error, out, &mut ints)?;
    }
    if op.is_final {
        out.extend_from_slice(b",\"final\":true");
    }
    for (k, v) in &op.extra {
        out.push(b',');
        json_str(k, out)?;
        out.push(b':');
        json_value(v, out, &mut ints)?;
    }
    out.extend_from_slice(b"}\n");
    Ok(())
}

/// A string as serde writes it: as is, unless it holds what JSON escapes (then serde writes it).
fn json_str(s: &str, out: &mut Vec<u8>) -> io::Result<()> {
    if s.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) {
        serde_json::to_writer(&mut *out, s)?;
    } else {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    }
    Ok(())
}

/// A value as serde writes it: lists, integers, strings and the rest by hand; decimals, sets and
/// maps through serde.
fn json_value(v: &crate::Value, out: &mut Vec<u8>, ints: &mut itoa::Buffer) -> io::Result<()> {
    use crate::Value;
    match v {
        Value::Nil => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Int(i) => out.extend_from_slice(ints.format(*i).as_bytes()),
        Value::Str(s) => json_str(s, out)?,
        Value::List(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                json_value(item, out, ints)?;
            }
            out.push(b']');
        }
        Value::Float(_) | Value::Set(_) | Value::Map(_) => serde_json::to_writer(&mut *out, v)?,
    }
    Ok(())
}

/// Writes a whole history at once (for conversions and tests).
pub fn write_all<'a>(
    path: &Path,
    ops: impl IntoIterator<Item = &'a Op>,
) -> Result<(), HistoryError> {
    let file = File::create(path).map_err(|e| HistoryError::io(path, e))?;
    let mut out = BufWriter::new(file);
    for op in ops {
        write_op(&mut out, op).map_err(|e| HistoryError::io(path, e))?;
    }
    out.flush().map_err(|e| HistoryError::io(path, e))
}

/// A history's last line, cut short by a crash while it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TruncatedTail {
    pub line: u64,
    pub bytes: usize,
}

/// Reads ops one at a time, so that a checker can stream a history larger than memory.
#[derive(Debug)]
pub struct JsonlReader<R> {
    input: R,
    path: Option<PathBuf>,
    line: u64,
    buf: Vec<u8>,
    interner: Interner,
    last_index: Option<u64>,
    ops_read: u64,
    truncated: Option<TruncatedTail>,
    done: bool,
    /// Whether lines go through the fast path at all.
    fast: bool,
}

impl JsonlReader<BufReader<File>> {
    pub fn open(path: &Path) -> Result<Self, HistoryError> {
        let file = File::open(path).map_err(|e| HistoryError::io(path, e))?;
        let mut reader = JsonlReader::new(BufReader::with_capacity(1 << 20, file));
        reader.path = Some(path.to_path_buf());
        Ok(reader)
    }
}

impl<R: BufRead> JsonlReader<R> {
    pub fn new(input: R) -> Self {
        JsonlReader {
            input,
            path: None,
            line: 0,
            buf: Vec::with_capacity(512),
            interner: Interner::default(),
            last_index: None,
            ops_read: 0,
            truncated: None,
            done: false,
            fast: true,
        }
    }

    /// Reads every line with serde alone, as before the fast path: what the fast path is
    /// tested against, and a way round it should it ever misread a history.
    pub fn serde_only(mut self) -> Self {
        self.fast = false;
        self
    }

    /// Names the input in errors (as `open` does with its file).
    pub fn named(mut self, path: &Path) -> Self {
        self.path = Some(path.to_path_buf());
        self
    }

    /// The line the last op read came from (counting from 1).
    pub fn line(&self) -> u64 {
        self.line
    }

    /// After the last op: the cut-short last line that was dropped, if there was one.
    pub fn truncated_tail(&self) -> Option<&TruncatedTail> {
        self.truncated.as_ref()
    }

    fn malformed(&self, message: impl Into<String>) -> HistoryError {
        HistoryError::Malformed {
            at: Location {
                path: self.path.clone(),
                line: self.line,
            },
            message: message.into(),
        }
    }

    fn next_op(&mut self) -> Result<Option<Op>, HistoryError> {
        loop {
            let next_index = self.last_index.map_or(0, |i| i + 1);
            // The fast path, on a whole line in the reader's buffer; serde reads anything else.
            let bytes = match self.input.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(self.io_error(e)),
            };
            if self.fast
                && bytes.first() == Some(&b'{')
                && let Ok((op, len)) = crate::jsonl_fast::op(bytes, &mut self.interner, next_index)
            {
                self.input.consume(len);
                self.line += 1;
                return self.accept(op).map(Some);
            }
            self.buf.clear();
            let n = self
                .input
                .read_until(b'\n', &mut self.buf)
                .map_err(|e| self.io_error(e))?;
            if n == 0 {
                return Ok(None);
            }
            self.line += 1;
            let complete = self.buf.last() == Some(&b'\n');
            if self.buf.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            // A line longer than the reader's buffer: the fast path reads it here.
            if self.fast
                && complete
                && let Ok((op, _)) =
                    crate::jsonl_fast::op(&self.buf, &mut self.interner, next_index)
            {
                self.shrink();
                return self.accept(op).map(Some);
            }
            let mut de = serde_json::Deserializer::from_slice(&self.buf);
            let parsed = OpSeed {
                interner: &mut self.interner,
                next_index,
            }
            .deserialize(&mut de)
            .and_then(|op| de.end().map(|()| op));
            self.shrink();
            let op = match parsed {
                Ok(op) => op,
                Err(_) if !complete => {
                    self.truncated = Some(TruncatedTail {
                        line: self.line,
                        bytes: n,
                    });
                    return Ok(None);
                }
                Err(e) => return Err(self.malformed(e.to_string())),
            };
            return self.accept(op).map(Some);
        }
    }

    /// A huge line (a final read of millions of elements) does not keep its buffer.
    fn shrink(&mut self) {
        if self.buf.capacity() > 1 << 20 {
            self.buf = Vec::with_capacity(512);
        }
    }

    fn io_error(&self, e: io::Error) -> HistoryError {
        match &self.path {
            Some(p) => HistoryError::io(p, e),
            None => HistoryError::io("<input>", e),
        }
    }

    /// An op read from the current line, if it comes after the last.
    fn accept(&mut self, op: Op) -> Result<Op, HistoryError> {
        if let Some(last) = self.last_index
            && op.index <= last
        {
            return Err(self.malformed(format!(
                "index {} does not come after the previous op's index {last}",
                op.index
            )));
        }
        self.last_index = Some(op.index);
        self.ops_read += 1;
        Ok(op)
    }
}

impl<R: BufRead> Iterator for JsonlReader<R> {
    type Item = Result<Op, HistoryError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let result = self.next_op().transpose();
        if !matches!(result, Some(Ok(_))) {
            self.done = true;
        }
        result
    }
}

/// Whether a JSON history file holds one array of ops (as Jepsen and elle-cli may write) rather
/// than one op per line.
pub fn is_array(path: &Path) -> Result<bool, HistoryError> {
    use std::io::Read;
    let mut file = File::open(path).map_err(|e| HistoryError::io(path, e))?;
    let mut buf = [0u8; 4096];
    loop {
        let n = file.read(&mut buf).map_err(|e| HistoryError::io(path, e))?;
        if n == 0 {
            return Ok(false);
        }
        if let Some(&b) = buf[..n].iter().find(|b| !b.is_ascii_whitespace()) {
            return Ok(b == b'[');
        }
    }
}

/// Reads a history written as one JSON array of op objects. Errors name the line.
pub fn load_array(path: &Path) -> Result<Loaded, HistoryError> {
    let bytes = std::fs::read(path).map_err(|e| HistoryError::io(path, e))?;
    parse_array(&bytes, Some(path))
}

/// Parses one JSON array of op objects.
pub fn parse_array(bytes: &[u8], path: Option<&Path>) -> Result<Loaded, HistoryError> {
    struct Ops<'a>(&'a mut Interner);
    impl<'de> serde::de::Visitor<'de> for Ops<'_> {
        type Value = Vec<Op>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an array of op objects")
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Op>, A::Error> {
            let mut ops: Vec<Op> = Vec::new();
            loop {
                let next_index = ops.last().map_or(0, |o| o.index + 1);
                let seed = OpSeed {
                    interner: &mut *self.0,
                    next_index,
                };
                match seq.next_element_seed(seed)? {
                    Some(op) => {
                        if let Some(last) = ops.last()
                            && op.index <= last.index
                        {
                            return Err(serde::de::Error::custom(format!(
                                "index {} does not come after the previous op's index {}",
                                op.index, last.index
                            )));
                        }
                        ops.push(op)
                    }
                    None => return Ok(ops),
                }
            }
        }
    }
    let mut interner = Interner::default();
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let parsed = serde::de::Deserializer::deserialize_seq(&mut de, Ops(&mut interner))
        .and_then(|ops| de.end().map(|()| ops));
    match parsed {
        Ok(ops) => Ok(Loaded {
            ops,
            warnings: Vec::new(),
        }),
        Err(e) => Err(HistoryError::Malformed {
            at: Location {
                path: path.map(Path::to_path_buf),
                line: e.line() as u64,
            },
            message: e.to_string(),
        }),
    }
}

/// Reads a whole JSON history: one op per line, or one array of ops.
pub fn load(path: &Path) -> Result<Loaded, HistoryError> {
    if is_array(path)? {
        return load_array(path);
    }
    let mut reader = JsonlReader::open(path)?;
    let ops = reader.by_ref().collect::<Result<Vec<_>, _>>()?;
    Ok(Loaded {
        ops,
        warnings: reader.warnings(),
    })
}

impl<R> JsonlReader<R> {
    /// What the reader noticed that lost nothing recorded, in words for a person.
    pub fn warnings(&self) -> Vec<String> {
        self.truncated
            .iter()
            .map(|t| {
                let at = Location {
                    path: self.path.clone(),
                    line: t.line,
                };
                format!(
                    "{at}: last line is cut short ({} bytes, no newline; a crash while writing?); \
                     dropped it and kept the {} ops before it",
                    t.bytes, self.ops_read
                )
            })
            .collect()
    }
}
