//! Plume's text histories, as the isolation checkers of the research literature write them
//! (Plume, AWDIT, PolySI, ...): one micro-operation per line,
//!
//! ```text
//! w(1,5,0,3)
//! r(2,0,0,3)
//! ```
//!
//! that is `r` or `w`, then key, value, session and transaction, all integers. A transaction's
//! lines follow each other; its session's transactions come in the order they ran. Value 0 is
//! every key's initial value (Plume's loader writes it in a transaction of its own), so a read
//! of 0 reads nothing written, `nil` in rift's terms; written values are unique per key. A
//! transaction numbered `-1` is a write that aborted.
//!
//! Each transaction becomes a Jepsen-style `txn` of `[:r k v]` and `[:w k v]` micro-ops, its
//! invocation followed by its completion (`ok`, or `fail` for an aborted write), with the
//! session as its process: an rw-register history (`--workload rw-register`). The format
//! records no real time, so the file's order stands in for it: judge such a history against
//! models without real time (read committed, read atomic, causal, serializable, ...), which
//! are what these checkers decide; a real-time model would read an order the file never meant.
//!
//! AWDIT's test histories are read too (its `res/tests`, and what `samples/awdit` holds):
//!
//! ```text
//! w 0 0
//! w 1 0
//! =====
//! r 0 0
//! w 0 1
//! -----
//! r 1 0
//! ```
//!
//! one `r key value` or `w key value` per line, a session's transactions separated by `-----`,
//! sessions by `=====`, each session numbered from 0 in the file's order. That format has no
//! implicit initial value: a read of 0 reads a write of 0 (its histories begin with a session
//! that writes each key's 0), so there a 0 read stays 0.
//!
//! Read line by line, in memory that grows only with the number of transactions (to refuse one
//! whose lines are not together). Errors name the file's line.

use crate::{HistoryError, Location, Op, OpType, Process, Sym, Value};
use std::collections::VecDeque;
use std::io::{self, BufRead};
use std::path::{Path, PathBuf};

/// Whether a line is one of Plume's micro-operations, or a line of AWDIT's test format: how a
/// `.txt` file is told to be one.
pub fn is_plume_line(line: &str) -> bool {
    parse_line(line.trim()).is_ok() || awdit_line(line.trim()).is_ok()
}

/// A line of AWDIT's test format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AwditLine {
    /// `(write?, key, value)`
    Micro(bool, i64, i64),
    /// `-----`
    NextTxn,
    /// `=====`
    NextSession,
}

fn awdit_line(line: &str) -> Result<AwditLine, String> {
    match line {
        "-----" => return Ok(AwditLine::NextTxn),
        "=====" => return Ok(AwditLine::NextSession),
        _ => {}
    }
    let expected = || {
        format!(
            "expected `r key value`, `w key value`, `-----` or `=====` (AWDIT's test format, \
             as this file's first line is), found {:?}",
            line.chars().take(80).collect::<String>()
        )
    };
    let fields: Vec<&str> = line.split_whitespace().collect();
    let [f, key, value] = fields[..] else {
        return Err(expected());
    };
    let write = match f {
        "w" => true,
        "r" => false,
        _ => return Err(expected()),
    };
    let number = |what: &str, s: &str| -> Result<i64, String> {
        s.parse::<i64>()
            .map_err(|_| format!("{what} must be an integer, found {s:?}"))
    };
    Ok(AwditLine::Micro(
        write,
        number("the key", key)?,
        number("the value", value)?,
    ))
}

/// Which of the two formats a reader reads, told by the first line that is not blank.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Dialect {
    Unknown,
    Plume,
    /// AWDIT's test format, at this session and transaction.
    Awdit {
        session: u64,
        txn: u64,
    },
}

/// One line: `r`/`w`, key, value, session, transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Micro {
    write: bool,
    key: i64,
    value: i64,
    session: u64,
    /// `None` for an aborted write (`-1`).
    txn: Option<u64>,
}

fn parse_line(line: &str) -> Result<Micro, String> {
    let expected = || {
        format!(
            "expected r(key,value,session,txn) or w(key,value,session,txn), found {:?}",
            line.chars().take(80).collect::<String>()
        )
    };
    let write = match line.as_bytes().first() {
        Some(b'w') => true,
        Some(b'r') => false,
        _ => return Err(expected()),
    };
    let inner = line[1..]
        .strip_prefix('(')
        .and_then(|l| l.strip_suffix(')'))
        .ok_or_else(expected)?;
    let fields: Vec<&str> = inner.split(',').map(str::trim).collect();
    let [key, value, session, txn] = fields[..] else {
        return Err(expected());
    };
    let number = |what: &str, s: &str| -> Result<i64, String> {
        s.parse::<i64>()
            .map_err(|_| format!("{what} must be an integer, found {s:?}"))
    };
    let natural = |what: &str, s: &str| -> Result<u64, String> {
        s.parse::<u64>()
            .map_err(|_| format!("{what} must be a non-negative integer, found {s:?}"))
    };
    let txn = match txn {
        "-1" => None,
        t => Some(natural("the transaction", t)?),
    };
    if txn.is_none() && !write {
        return Err("only a write can be aborted (transaction -1)".into());
    }
    Ok(Micro {
        write,
        key: number("the key", key)?,
        value: number("the value", value)?,
        session: natural("the session", session)?,
        txn,
    })
}

/// The transaction being read.
#[derive(Debug)]
struct Open {
    txn: u64,
    session: u64,
    line: u64,
    /// (write?, key, value), in order.
    micros: Vec<(bool, i64, i64)>,
}

/// Reads a Plume history op by op.
#[derive(Debug)]
pub struct PlumeReader<R> {
    input: R,
    path: Option<PathBuf>,
    line: u64,
    text: String,
    open: Option<Open>,
    /// Transactions already read, to refuse one that comes back.
    seen: rustc_hash::FxHashSet<u64>,
    ready: VecDeque<Op>,
    next_index: u64,
    txn: Sym,
    dialect: Dialect,
    done: bool,
}

impl PlumeReader<io::BufReader<std::fs::File>> {
    pub fn open(path: &Path) -> Result<Self, HistoryError> {
        let file = std::fs::File::open(path).map_err(|e| HistoryError::io(path, e))?;
        let mut reader = PlumeReader::new(io::BufReader::with_capacity(1 << 20, file));
        reader.path = Some(path.to_path_buf());
        Ok(reader)
    }
}

impl<R: BufRead> PlumeReader<R> {
    pub fn new(input: R) -> Self {
        PlumeReader {
            input,
            path: None,
            line: 0,
            text: String::new(),
            open: None,
            seen: Default::default(),
            ready: VecDeque::new(),
            next_index: 0,
            txn: Sym::from("txn"),
            dialect: Dialect::Unknown,
            done: false,
        }
    }

    fn malformed(&self, line: u64, message: impl Into<String>) -> HistoryError {
        HistoryError::Malformed {
            at: Location {
                path: self.path.clone(),
                line,
            },
            message: message.into(),
        }
    }

    /// Queues a transaction's invocation and completion.
    fn emit(&mut self, session: u64, micros: &[(bool, i64, i64)], kind: OpType) {
        let mop = |write: bool, key: i64, value: Option<i64>| {
            Value::List(vec![
                Value::Str(if write { "w" } else { "r" }.to_owned()),
                Value::Int(key),
                value.map_or(Value::Nil, Value::Int),
            ])
        };
        let invoked = micros
            .iter()
            .map(|&(w, k, v)| mop(w, k, w.then_some(v)))
            .collect();
        // A read of 0 reads Plume's initial value: nothing written (AWDIT's tests write it).
        let zero_is_written = matches!(self.dialect, Dialect::Awdit { .. });
        let completed = micros
            .iter()
            .map(|&(w, k, v)| mop(w, k, (w || v != 0 || zero_is_written).then_some(v)))
            .collect();
        for (kind, value) in [(OpType::Invoke, invoked), (kind, completed)] {
            let mut op = Op::new(
                kind,
                Process::Client(session),
                self.txn.clone(),
                Value::List(value),
            );
            op.index = self.next_index;
            op.time = self.next_index;
            self.next_index += 1;
            self.ready.push_back(op);
        }
    }

    /// Ends the open transaction, if there is one.
    fn close(&mut self) {
        if let Some(open) = self.open.take() {
            self.seen.insert(open.txn);
            self.emit(open.session, &open.micros, OpType::Ok);
        }
    }

    fn fill(&mut self) -> Result<(), HistoryError> {
        while self.ready.is_empty() && !self.done {
            self.text.clear();
            let n = self.input.read_line(&mut self.text).map_err(|e| {
                let path = self.path.as_deref().unwrap_or(Path::new("<input>"));
                HistoryError::io(path, e)
            })?;
            if n == 0 {
                self.close();
                self.done = true;
                break;
            }
            self.line += 1;
            let line = self.text.trim();
            if line.is_empty() {
                continue;
            }
            if self.dialect == Dialect::Unknown {
                self.dialect = if parse_line(line).is_err() && awdit_line(line).is_ok() {
                    Dialect::Awdit { session: 0, txn: 0 }
                } else {
                    Dialect::Plume
                };
            }
            let micro = match self.dialect {
                Dialect::Awdit { session, txn } => {
                    match awdit_line(line).map_err(|m| self.malformed(self.line, m))? {
                        AwditLine::Micro(write, key, value) => Micro {
                            write,
                            key,
                            value,
                            session,
                            txn: Some(txn),
                        },
                        next => {
                            let session = session + u64::from(next == AwditLine::NextSession);
                            self.dialect = Dialect::Awdit {
                                session,
                                txn: txn + 1,
                            };
                            self.close();
                            continue;
                        }
                    }
                }
                _ => parse_line(line).map_err(|m| self.malformed(self.line, m))?,
            };
            let Some(txn) = micro.txn else {
                // An aborted write: a transaction of its own that failed.
                self.close();
                self.emit(
                    micro.session,
                    &[(true, micro.key, micro.value)],
                    OpType::Fail,
                );
                continue;
            };
            match &mut self.open {
                Some(open) if open.txn == txn => {
                    if open.session != micro.session {
                        let (first, was) = (open.line, open.session);
                        return Err(self.malformed(
                            self.line,
                            format!(
                                "transaction {txn} began in session {was} (line {first}) and \
                                 goes on in session {}",
                                micro.session
                            ),
                        ));
                    }
                    open.micros.push((micro.write, micro.key, micro.value));
                }
                _ => {
                    self.close();
                    if self.seen.contains(&txn) {
                        return Err(self.malformed(
                            self.line,
                            format!(
                                "transaction {txn} comes back after other transactions: a \
                                 transaction's lines must follow each other"
                            ),
                        ));
                    }
                    self.open = Some(Open {
                        txn,
                        session: micro.session,
                        line: self.line,
                        micros: vec![(micro.write, micro.key, micro.value)],
                    });
                }
            }
        }
        Ok(())
    }
}

impl<R: BufRead> Iterator for PlumeReader<R> {
    type Item = Result<Op, HistoryError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Err(e) = self.fill() {
            self.done = true;
            self.ready.clear();
            self.open = None;
            return Some(Err(e));
        }
        self.ready.pop_front().map(Ok)
    }
}

/// Reads a whole Plume history.
pub fn load(path: &Path) -> Result<crate::Loaded, HistoryError> {
    Ok(crate::Loaded {
        ops: PlumeReader::open(path)?.collect::<Result<_, _>>()?,
        warnings: Vec::new(),
    })
}

/// Parses Plume text; `path` only names places in errors.
pub fn parse(text: &str, path: Option<&Path>) -> Result<Vec<Op>, HistoryError> {
    let mut reader = PlumeReader::new(text.as_bytes());
    reader.path = path.map(Path::to_path_buf);
    reader.collect()
}
