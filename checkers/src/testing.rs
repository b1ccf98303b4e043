//! Tiny hand-written histories for the checkers' unit tests.

use crate::{CheckResult, Checker, check};
use history::{Op, OpType, Process, Value};

/// One op in compact form: (process, type, f, value, node ("" for none), final).
pub type Row = (u64, OpType, &'static str, Value, &'static str, bool);

/// A history from compact rows, at times 0, 10, 20, ... and indexes 0, 1, 2, ...
pub fn h(rows: &[Row]) -> Vec<Op> {
    rows.iter()
        .enumerate()
        .map(|(i, (p, t, f, v, node, fin))| {
            let mut op =
                Op::new(*t, Process::Client(*p), *f, v.clone()).at(i as u64, i as u64 * 10);
            if !node.is_empty() {
                op = op.on_node(*node);
            }
            op.is_final = *fin;
            op
        })
        .collect()
}

/// An invocation and its completion, back to back.
pub fn pair(p: u64, kind: OpType, f: &'static str, invoke: Value, done: Value) -> [Row; 2] {
    [
        (p, OpType::Invoke, f, invoke, "n1", false),
        (p, kind, f, done, "n1", false),
    ]
}

pub fn ints(xs: &[i64]) -> Value {
    Value::List(xs.iter().map(|&x| Value::Int(x)).collect())
}

/// `[k, v]`
pub fn kv(k: i64, v: Value) -> Value {
    Value::List(vec![Value::Int(k), v])
}

pub fn run(checker: Box<dyn Checker>, ops: &[Op]) -> CheckResult {
    check(vec![checker], ops)
        .expect("the history pairs")
        .results
        .remove(0)
}

/// How many anomalies of a kind a result counted.
pub fn count(r: &CheckResult, kind: &str) -> u64 {
    r.anomaly_counts.get(kind).copied().unwrap_or(0)
}
