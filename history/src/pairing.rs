//! Matching each invocation with its completion.
//!
//! A process runs one op at a time, so the op that follows an invocation *by the same process*
//! completes it. Two exceptions keep foreign histories readable:
//! - an invocation never completed (the history ended, or the process crashed without an `info`)
//!   is indeterminate, exactly as if it had completed with `info`;
//! - an `info` from a nemesis with nothing open starts an op, as old Jepsen nemeses logged both
//!   the start and the end of a fault as `info`;
//! - a client's `ok`, `fail` or `info` with nothing open is an op of its own, invoked and
//!   completed at once: Elle's histories may hold completions only, and Jepsen gives a client
//!   process a new number after an `info`, so its lone `info` never opens anything.
//!
//! An invocation while one is open is an error that names both ops: the history is not one a
//! real run can produce.

use crate::{HistoryError, Op, OpType, Process};
use rustc_hash::FxHashMap as HashMap;

const NONE: u32 = u32::MAX;

/// For every op of a history (by position), the position of its partner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pairing {
    partner: Vec<u32>,
}

impl Pairing {
    pub fn build(ops: &[Op]) -> Result<Pairing, HistoryError> {
        let mut builder = PairingBuilder::default();
        for op in ops {
            builder.push(op)?;
        }
        Ok(builder.finish())
    }

    /// The completion of the invocation at `pos`, or the invocation of the completion at `pos`.
    /// `None` for an invocation never completed.
    pub fn partner(&self, pos: usize) -> Option<usize> {
        match self.partner.get(pos) {
            Some(&p) if p != NONE => Some(p as usize),
            _ => None,
        }
    }

    pub fn len(&self) -> usize {
        self.partner.len()
    }

    pub fn is_empty(&self) -> bool {
        self.partner.is_empty()
    }
}

/// Follows which op each process has open, one op at a time, in little memory: the one pairing
/// rule of rift. Every reader of a history and every checker (through `checkers::Feed`) pairs
/// with it, so they cannot disagree on what an op's invocation was.
///
/// `T` is what is kept of an open invocation: its position for a [`Pairing`], the whole op for
/// the checkers.
#[derive(Debug)]
pub struct OpenOps<T> {
    /// Open invocation per process, with the invocation's index (for errors).
    open: HashMap<Process, (u64, T)>,
}

impl<T> Default for OpenOps<T> {
    fn default() -> Self {
        OpenOps {
            open: HashMap::default(),
        }
    }
}

/// What an op did to its process's open op.
#[derive(Debug, Clone)]
pub enum Step<T> {
    /// It opened an op: an invocation, or a nemesis's `info` with nothing open.
    Opened,
    /// It completed the open op, kept as `T`.
    Completed(T),
    /// A completion with nothing open: an op of its own, invoked and completed at once.
    Alone,
}

impl<T> OpenOps<T> {
    /// Takes the next op; `keep` makes what is kept of it if it opens an op.
    pub fn push(&mut self, op: &Op, keep: impl FnOnce() -> T) -> Result<Step<T>, HistoryError> {
        match (op.kind, self.open.remove(&op.process)) {
            (OpType::Invoke, None) => {
                self.open.insert(op.process.clone(), (op.index, keep()));
                Ok(Step::Opened)
            }
            // Old Jepsen nemeses logged the start and the end of a fault as two `info`s. A
            // client's lone `info` is a crashed op of its own (Jepsen retires the process).
            (OpType::Info, None) if !op.process.is_client() => {
                self.open.insert(op.process.clone(), (op.index, keep()));
                Ok(Step::Opened)
            }
            (OpType::Invoke, Some((open, _))) => Err(error(
                op,
                &format!(
                    "process {} invokes op {} while its op {open} is still open",
                    op.process, op.index
                ),
            )),
            (_, Some((_, kept))) => Ok(Step::Completed(kept)),
            (_, None) => Ok(Step::Alone),
        }
    }

    /// Ops still open: never completed, so indeterminate.
    pub fn still_open(&self) -> impl Iterator<Item = (&Process, &T)> {
        self.open.iter().map(|(p, (_, t))| (p, t))
    }

    /// Ops still open, in the order they were invoked.
    pub fn into_still_open(self) -> Vec<T> {
        let mut open: Vec<(u64, T)> = self.open.into_values().collect();
        open.sort_by_key(|(index, _)| *index);
        open.into_iter().map(|(_, t)| t).collect()
    }
}

/// Pairs ops one at a time (for streaming readers).
#[derive(Debug, Default)]
pub struct PairingBuilder {
    partner: Vec<u32>,
    open: OpenOps<u32>,
}

impl PairingBuilder {
    pub fn push(&mut self, op: &Op) -> Result<(), HistoryError> {
        let pos = u32::try_from(self.partner.len())
            .ok()
            .filter(|&p| p != NONE)
            .ok_or_else(|| error(op, "history is longer than 4 294 967 294 ops"))?;
        match self.open.push(op, || pos)? {
            Step::Opened => self.partner.push(NONE),
            Step::Completed(invocation) => {
                self.partner[invocation as usize] = pos;
                self.partner.push(invocation);
            }
            Step::Alone => self.partner.push(pos),
        }
        Ok(())
    }

    pub fn finish(self) -> Pairing {
        Pairing {
            partner: self.partner,
        }
    }
}

fn error(op: &Op, message: &str) -> HistoryError {
    HistoryError::Unpaired {
        index: op.index,
        message: message.to_owned(),
    }
}

/// Whether the op at `pos` (an invocation) definitely happened, definitely did not, or may have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Ok,
    Fail,
    Indeterminate,
}

impl Pairing {
    pub fn outcome(&self, ops: &[Op], invocation: usize) -> Outcome {
        match self.partner(invocation).map(|c| ops[c].kind) {
            Some(OpType::Ok) => Outcome::Ok,
            Some(OpType::Fail) => Outcome::Fail,
            _ => Outcome::Indeterminate,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Value;

    fn op(i: u64, kind: OpType, process: Process) -> Op {
        Op::new(kind, process, "read", Value::Nil).at(i, i)
    }
    fn c(n: u64) -> Process {
        Process::Client(n)
    }

    #[test]
    fn interleaved_processes_pair_with_their_own_completions() {
        let ops = vec![
            op(0, OpType::Invoke, c(0)),
            op(1, OpType::Invoke, c(1)),
            op(2, OpType::Ok, c(1)),
            op(3, OpType::Fail, c(0)),
            op(4, OpType::Invoke, c(1)),
        ];
        let p = Pairing::build(&ops).unwrap();
        assert_eq!(p.partner(0), Some(3));
        assert_eq!(p.partner(3), Some(0));
        assert_eq!(p.partner(1), Some(2));
        assert_eq!(p.partner(4), None);
        assert_eq!(p.outcome(&ops, 0), Outcome::Fail);
        assert_eq!(p.outcome(&ops, 1), Outcome::Ok);
        assert_eq!(p.outcome(&ops, 4), Outcome::Indeterminate);
    }

    #[test]
    fn info_completion_is_indeterminate() {
        let ops = vec![op(0, OpType::Invoke, c(0)), op(1, OpType::Info, c(0))];
        let p = Pairing::build(&ops).unwrap();
        assert_eq!(p.partner(0), Some(1));
        assert_eq!(p.outcome(&ops, 0), Outcome::Indeterminate);
    }

    #[test]
    fn legacy_nemesis_info_pairs_start_with_end() {
        let nemesis = Process::Named("nemesis".into());
        let ops = vec![
            op(0, OpType::Info, nemesis.clone()),
            op(1, OpType::Invoke, c(0)),
            op(2, OpType::Info, nemesis.clone()),
            op(3, OpType::Ok, c(0)),
        ];
        let p = Pairing::build(&ops).unwrap();
        assert_eq!(p.partner(0), Some(2));
        assert_eq!(p.partner(1), Some(3));
    }

    #[test]
    fn a_double_invoke_is_an_error_naming_the_ops_and_a_lone_completion_its_own_op() {
        let double = vec![op(0, OpType::Invoke, c(7)), op(1, OpType::Invoke, c(7))];
        let e = Pairing::build(&double).unwrap_err().to_string();
        assert!(
            e.contains("process 7 invokes op 1 while its op 0 is still open"),
            "{e}"
        );

        // Elle's completions-only histories: each completion is an op of its own.
        // A client's lone `info` too: it opens nothing, so the `ok` after it is its own op.
        let alone = vec![
            op(0, OpType::Ok, c(2)),
            op(1, OpType::Fail, c(2)),
            op(2, OpType::Info, c(2)),
            op(3, OpType::Ok, c(2)),
        ];
        let p = Pairing::build(&alone).unwrap();
        assert_eq!(
            (0..4).map(|i| p.partner(i)).collect::<Vec<_>>(),
            [Some(0), Some(1), Some(2), Some(3)]
        );
        assert_eq!(p.outcome(&alone, 1), Outcome::Fail);
        assert_eq!(p.outcome(&alone, 2), Outcome::Indeterminate);
    }
}
