//! Matching each invocation with its completion.
//!
//! A process runs one op at a time, so the op that follows an invocation *by the same process*
//! completes it. Two exceptions keep foreign histories readable:
//! - an invocation never completed (the history ended, or the process crashed without an `info`)
//!   is indeterminate, exactly as if it had completed with `info`;
//! - an `info` from a process with nothing open starts an op, as old Jepsen nemeses logged both
//!   the start and the end of a fault as `info`;
//! - an `ok` or `fail` with nothing open is an op of its own, invoked and completed at once:
//!   Elle's histories may hold completions only.
//!
//! An invocation while one is open is an error that names both ops: the history is not one a
//! real run can produce.

use crate::{HistoryError, Op, OpType, Process};
use std::collections::HashMap;

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

/// Follows which op each process has open, one op at a time, in little memory: what a
/// streaming checker needs to know an op's invocation, and what validates a history's shape.
#[derive(Debug, Default)]
pub struct OpenOps {
    /// Open invocation per process: (position in the history, the invocation's index, its f).
    open: HashMap<Process, Open>,
}

#[derive(Debug, Clone)]
pub struct Open {
    pub position: u64,
    pub index: u64,
    pub f: crate::Sym,
}

/// What an op did to its process's open op.
#[derive(Debug, Clone)]
pub enum Step {
    /// It opened an op (an invocation, or an `info` with nothing open).
    Opened,
    /// It completed the open op.
    Completed(Open),
}

impl OpenOps {
    /// Takes the op at `position` (its place in the history, from 0).
    pub fn push(&mut self, position: u64, op: &Op) -> Result<Step, HistoryError> {
        match (op.kind, self.open.remove(&op.process)) {
            (OpType::Invoke, None) | (OpType::Info, None) => {
                let open = Open {
                    position,
                    index: op.index,
                    f: op.f.clone(),
                };
                self.open.insert(op.process.clone(), open);
                Ok(Step::Opened)
            }
            (OpType::Invoke, Some(open)) => Err(error(
                op,
                &format!(
                    "process {} invokes op {} while its op {} is still open",
                    op.process, op.index, open.index
                ),
            )),
            (_, Some(open)) => Ok(Step::Completed(open)),
            // A completion alone: its own invocation.
            (_, None) => Ok(Step::Completed(Open {
                position,
                index: op.index,
                f: op.f.clone(),
            })),
        }
    }

    /// Ops still open: never completed, so indeterminate.
    pub fn still_open(&self) -> impl Iterator<Item = (&Process, &Open)> {
        self.open.iter()
    }
}

/// Pairs ops one at a time (for streaming readers).
#[derive(Debug, Default)]
pub struct PairingBuilder {
    partner: Vec<u32>,
    open: OpenOps,
}

impl PairingBuilder {
    pub fn push(&mut self, op: &Op) -> Result<(), HistoryError> {
        let pos = u32::try_from(self.partner.len())
            .ok()
            .filter(|&p| p != NONE)
            .ok_or_else(|| error(op, "history is longer than 4 294 967 294 ops"))?;
        if let Step::Completed(inv) = self.open.push(u64::from(pos), op)? {
            if inv.position != u64::from(pos) {
                self.partner[inv.position as usize] = pos;
            }
            self.partner.push(inv.position as u32);
        } else {
            self.partner.push(NONE);
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
        let alone = vec![op(0, OpType::Ok, c(2)), op(1, OpType::Fail, c(2))];
        let p = Pairing::build(&alone).unwrap();
        assert_eq!((p.partner(0), p.partner(1)), (Some(0), Some(1)));
        assert_eq!(p.outcome(&alone, 1), Outcome::Fail);
    }
}
