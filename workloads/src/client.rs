//! The two things a workload gives the runner: clients that perform operations against a
//! store, and the operations to perform (a generator), final reads and checkers.

use crate::generator::{Gen, Invocation};
use control::Node;
use control::db::BoxFuture;
use history::{OpType, Value};
use std::time::Duration;

/// How an operation ended, in Jepsen's terms, with what it returned.
#[derive(Debug, Clone, PartialEq)]
pub struct Completion {
    /// `Ok` (it happened), `Fail` (it certainly did not) or `Info` (it may have).
    pub kind: OpType,
    pub value: Value,
    pub error: Option<String>,
}

impl Completion {
    pub fn ok(value: Value) -> Completion {
        Completion {
            kind: OpType::Ok,
            value,
            error: None,
        }
    }
    pub fn fail(error: impl Into<String>) -> Completion {
        Completion {
            kind: OpType::Fail,
            value: Value::Nil,
            error: Some(error.into()),
        }
    }
    pub fn info(error: impl Into<String>) -> Completion {
        Completion {
            kind: OpType::Info,
            value: Value::Nil,
            error: Some(error.into()),
        }
    }
}

/// One client's connection to one node. A client that completed an operation with `info` is
/// dropped and replaced (its process may still have a request in flight).
pub trait Client: Send {
    /// Performs an operation. Must not give `Fail` unless the operation certainly had no effect.
    fn invoke<'a>(&'a mut self, op: &'a Invocation) -> BoxFuture<'a, Completion>;

    /// A read of this node's own replica, for the final phase (by default, `invoke`).
    fn final_read<'a>(&'a mut self, op: &'a Invocation) -> BoxFuture<'a, Completion> {
        self.invoke(op)
    }
}

/// What clients do, and how it is judged.
pub trait Workload: Send + Sync {
    fn name(&self) -> &'static str;
    /// The client operations, endless: the runner bounds them by time and rate.
    fn generator(&self) -> Gen;
    /// A client of `node`, whose requests give up after `timeout`.
    fn client(&self, node: &Node, timeout: Duration) -> Box<dyn Client>;
    /// The reads the final phase performs on every node's own replica.
    fn final_reads(&self) -> Vec<Invocation>;
    /// The checkers that judge the history, by name.
    fn checkers(&self) -> &'static [&'static str];
}
