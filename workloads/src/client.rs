//! The seams between the runner, a workload and a store: a workload says what to do (a
//! generator), what to read at the end and which checkers judge it, store-neutral; a store gives
//! [`Clients`] that perform those operations against it.

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

    /// The completion's value as the history records it: for writes, what was written.
    pub fn with_value(mut self, value: Value) -> Completion {
        if self.kind == OpType::Ok {
            self.value = value;
        }
        self
    }

    /// `[key, value]`, as keyed workloads record results.
    pub fn keyed(mut self, key: i64) -> Completion {
        if self.kind == OpType::Ok {
            self.value = Value::List(vec![Value::Int(key), std::mem::take(&mut self.value)]);
        }
        self
    }

    /// The outcome rule for a request that was sent and got no answer (or a broken one): a
    /// read changed nothing, so it certainly had no effect (`fail`); a write may have happened
    /// (`info`).
    pub fn unanswered(is_read: bool, error: impl Into<String>) -> Completion {
        if is_read {
            Completion::fail(error)
        } else {
            Completion::info(error)
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

/// What clients do, and how it is judged: store-neutral, written once for every store.
pub trait Workload: Send + Sync {
    fn name(&self) -> &'static str;
    /// The client operations, endless: the runner bounds them by time and rate.
    fn generator(&self) -> Gen;
    /// The reads the final phase performs on every node's own replica.
    fn final_reads(&self) -> Vec<Invocation>;
    /// The checkers that judge the history, by name.
    fn checkers(&self) -> &'static [&'static str];
}

/// A store's clients for one workload: a client of `node` whose requests give up after
/// `timeout`. A closure is a `Clients` too.
pub trait Clients: Send + Sync {
    fn client(&self, node: &Node, timeout: Duration) -> Box<dyn Client>;

    /// A client for one process of the run; the runner calls this. Clients that need more than
    /// the node (a client program of their own, told its process number and every node) say so
    /// here; the rest keep the default.
    fn open(&self, ctx: &ClientCtx<'_>) -> Box<dyn Client> {
        self.client(ctx.node, ctx.timeout)
    }
}

/// What the runner knows when it makes a client.
#[derive(Clone)]
pub struct ClientCtx<'a> {
    pub node: &'a Node,
    /// Every node of the test.
    pub nodes: &'a [Node],
    /// The process the client serves (a new one after every `info`).
    pub process: u64,
    pub timeout: Duration,
    /// Where a client may keep files of its own: the run directory's `clients/`.
    pub files: Option<&'a std::path::Path>,
    /// The run's log (`rift.log`), for what a client must report.
    pub log: Option<&'a RunLogFn>,
}

/// A line for the run's log.
pub type RunLogFn = std::sync::Arc<dyn Fn(&str) + Send + Sync>;

impl std::fmt::Debug for ClientCtx<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientCtx")
            .field("node", &self.node.name)
            .field("process", &self.process)
            .finish()
    }
}

impl<F> Clients for F
where
    F: Fn(&Node, Duration) -> Box<dyn Client> + Send + Sync,
{
    fn client(&self, node: &Node, timeout: Duration) -> Box<dyn Client> {
        self(node, timeout)
    }
}
