//! `set`: Jepsen's set-full analysis of adds of unique integers and reads of the whole set.
//!
//! Every element is judged on its own:
//! - `lost`: its add was acknowledged, yet a node's last final read (after every fault was healed
//!   and the replicas had time to agree) lacks it; without final reads, the last read of the
//!   history stands in for them.
//! - `stale`: a read invoked after its add was acknowledged lacks it, though it is not lost.
//!   Final reads do not count: they read one replica each while the replicas converge, and how
//!   long that takes is the convergence checker's business.
//! - `never-read`: no read was invoked after its add completed, so nothing can be said.
//! - `unexpected`: a read holds it, but no add of it was ever attempted.
//! - `duplicated`: a read holds it more than once.
//!
//! Visibility latency is, per acknowledged element, the time from the acknowledgement until a
//! read on every node has shown it.

use crate::{Anomaly, CheckResult, Checker, Validity};
use history::pairing::{OpenOps, Step};
use history::{Op, OpType, Sym, Value};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

/// Witnesses listed per anomaly kind (all are counted).
const WITNESSES: usize = 10;

#[derive(Debug, Default)]
struct Element {
    add_invoke: Option<(u64, u64)>, // (index, time)
    acked: Option<(u64, u64)>,      // completion (index, time)
    indeterminate: bool,
    /// Per node, when a read there first showed it.
    first_seen: BTreeMap<Sym, u64>,
    /// (index of a read invoked after the ack that lacked it).
    stale_read: Option<u64>,
    /// The last final read (index) that lacked it, and whether any final read held it.
    missing_in_final: Option<u64>,
}

#[derive(Debug)]
struct Read {
    index: u64,
    invoke_time: u64,
    time: u64,
    node: Option<Sym>,
    is_final: bool,
    elements: Vec<i64>,
}

#[derive(Debug, Default)]
pub struct SetChecker {
    position: u64,
    open: OpenOps,
    invokes: BTreeMap<u64, (u64, u64)>, // position -> (index, time) of open invocations
    elements: BTreeMap<i64, Element>,
    reads: Vec<Read>,
    duplicated: Vec<(i64, u64)>,
}

impl Checker for SetChecker {
    fn name(&self) -> &'static str {
        "set"
    }

    fn observe(&mut self, op: &Op) {
        let position = self.position;
        self.position += 1;
        if !op.process.is_client() {
            return;
        }
        let Ok(step) = self.open.push(position, op) else {
            return;
        };
        match step {
            Step::Opened => {
                self.invokes.insert(position, (op.index, op.time));
                if &*op.f == "add"
                    && let Some(x) = op.value.as_int()
                {
                    self.elements
                        .entry(x)
                        .or_default()
                        .add_invoke
                        .get_or_insert((op.index, op.time));
                }
            }
            Step::Completed(invocation) => {
                let (_, invoke_time) = self
                    .invokes
                    .remove(&invocation.position)
                    .unwrap_or((0, op.time));
                match (&*invocation.f, op.kind) {
                    ("add", OpType::Ok) => {
                        if let Some(x) = op.value.as_int() {
                            self.elements.entry(x).or_default().acked = Some((op.index, op.time));
                        }
                    }
                    ("add", OpType::Info) => {
                        if let Some(x) = op.value.as_int() {
                            self.elements.entry(x).or_default().indeterminate = true;
                        }
                    }
                    ("read", OpType::Ok) => {
                        let elements: Vec<i64> = op
                            .value
                            .as_seq()
                            .unwrap_or_default()
                            .iter()
                            .filter_map(Value::as_int)
                            .collect();
                        self.reads.push(Read {
                            index: op.index,
                            invoke_time,
                            time: op.time,
                            node: op.node.clone(),
                            is_final: op.is_final,
                            elements,
                        });
                    }
                    _ => {}
                }
            }
        }
    }

    fn finish(mut self: Box<Self>) -> CheckResult {
        let nodes: BTreeSet<Sym> = self.reads.iter().filter_map(|r| r.node.clone()).collect();
        let any_final = self.reads.iter().any(|r| r.is_final);
        // What is judged lost: each node's last final read (the final phase reads until the
        // replicas agree, so earlier rounds may still be catching up); without final reads,
        // the last read of the history.
        let mut last_reads: BTreeMap<Option<Sym>, u64> = BTreeMap::new();
        for r in self.reads.iter().filter(|r| r.is_final || !any_final) {
            let key = if any_final { r.node.clone() } else { None };
            let last = last_reads.entry(key).or_insert(r.index);
            *last = (*last).max(r.index);
        }
        let judged_reads: BTreeSet<u64> = last_reads.into_values().collect();
        let mut unexpected: BTreeMap<i64, u64> = BTreeMap::new();
        for read in &self.reads {
            let held: BTreeSet<i64> = read.elements.iter().copied().collect();
            if held.len() < read.elements.len() {
                let mut seen = BTreeSet::new();
                for &x in &read.elements {
                    if !seen.insert(x) {
                        self.duplicated.push((x, read.index));
                    }
                }
            }
            for &x in &held {
                match self.elements.get_mut(&x) {
                    Some(e) => {
                        if let Some(node) = &read.node {
                            e.first_seen.entry(node.clone()).or_insert(read.time);
                        }
                    }
                    None => {
                        unexpected.entry(x).or_insert(read.index);
                    }
                }
            }
            let judged = judged_reads.contains(&read.index);
            for (&x, e) in self.elements.iter_mut() {
                if held.contains(&x) {
                    continue;
                }
                if judged && e.acked.is_some() {
                    e.missing_in_final = Some(read.index);
                }
                if let Some((_, ack_time)) = e.acked
                    && !read.is_final
                    && read.invoke_time > ack_time
                    && e.stale_read.is_none()
                {
                    e.stale_read = Some(read.index);
                }
            }
        }

        let mut anomalies: BTreeMap<&'static str, Vec<Anomaly>> = BTreeMap::new();
        let mut counts: BTreeMap<String, u64> = BTreeMap::new();
        let mut note = |kind: &'static str, ops: Vec<u64>, explanation: String| {
            *counts.entry(kind.to_owned()).or_default() += 1;
            let list = anomalies.entry(kind).or_default();
            if list.len() < WITNESSES {
                list.push(Anomaly {
                    kind: kind.to_owned(),
                    ops,
                    explanation,
                });
            }
        };
        let mut latencies = Vec::new();
        let mut never_read = 0u64;
        for (&x, e) in &self.elements {
            let Some((ack_index, ack_time)) = e.acked else {
                if e.indeterminate && !self.reads.iter().any(|r| r.elements.contains(&x)) {
                    never_read += u64::from(
                        !self
                            .reads
                            .iter()
                            .any(|r| Some(r.invoke_time) > e.add_invoke.map(|a| a.1)),
                    );
                }
                continue;
            };
            let add = e.add_invoke.map_or(ack_index, |a| a.0);
            if let Some(read) = e.missing_in_final {
                note(
                    "lost",
                    vec![add, ack_index, read],
                    format!(
                        "Element {x} was added (op {add}) and the add was acknowledged (op {ack_index}), \
                     but the {} read op {read} does not hold it: an acknowledged write is gone.",
                        if any_final { "final" } else { "last" }
                    ),
                );
            } else if let Some(read) = e.stale_read {
                note(
                    "stale",
                    vec![ack_index, read],
                    format!(
                        "Element {x}'s add was acknowledged (op {ack_index}) before read op {read} began, \
                     yet that read does not hold it; later reads do."
                    ),
                );
            }
            if !self.reads.iter().any(|r| r.invoke_time > ack_time) {
                never_read += 1;
            }
            if !nodes.is_empty() && nodes.iter().all(|n| e.first_seen.contains_key(n)) {
                let visible = e.first_seen.values().max().copied().unwrap_or(ack_time);
                latencies.push(visible.saturating_sub(ack_time));
            }
        }
        for (&x, &read) in &unexpected {
            note(
                "unexpected",
                vec![read],
                format!("Read op {read} holds element {x}, which no add ever attempted."),
            );
        }
        for &(x, read) in &self.duplicated {
            note(
                "duplicated",
                vec![read],
                format!(
                    "Read op {read} holds element {x} more than once; a set holds each element once."
                ),
            );
        }

        let attempted = self
            .elements
            .values()
            .filter(|e| e.add_invoke.is_some())
            .count();
        let acked = self.elements.values().filter(|e| e.acked.is_some()).count();
        let found: u64 = counts.values().sum();
        let valid = if found > 0 {
            Validity::False
        } else if self.reads.is_empty() || acked == 0 {
            Validity::Unknown
        } else {
            Validity::True
        };
        let summary = match valid {
            Validity::False => {
                let parts: Vec<String> = counts.iter().map(|(k, n)| format!("{n} {k}")).collect();
                format!(
                    "{} of {acked} acknowledged elements: {}",
                    found,
                    parts.join(", ")
                )
            }
            Validity::Unknown if self.reads.is_empty() => {
                "no read ever succeeded: nothing can be inferred".to_owned()
            }
            Validity::Unknown => "no add was ever acknowledged: nothing can be inferred".to_owned(),
            Validity::True => format!(
                "all {acked} acknowledged elements read back ({} reads)",
                self.reads.len()
            ),
        };
        let mut result = CheckResult::new("set", valid, summary);
        latencies.sort_unstable();
        let quantile = |q: f64| -> serde_json::Value {
            if latencies.is_empty() {
                return serde_json::Value::Null;
            }
            json!(latencies[((latencies.len() - 1) as f64 * q).round() as usize] as f64 / 1e6)
        };
        for (k, v) in [
            ("attempted", json!(attempted)),
            ("acknowledged", json!(acked)),
            ("reads", json!(self.reads.len())),
            ("never-read", json!(never_read)),
            (
                "visibility-ms",
                json!({"0": quantile(0.0), "0.5": quantile(0.5), "0.95": quantile(0.95), "0.99": quantile(0.99), "1": quantile(1.0)}),
            ),
        ] {
            result.figures.insert(k.to_owned(), v);
        }
        result.anomaly_counts = counts;
        result.anomalies = anomalies.into_values().flatten().collect();
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check;
    use history::Process;

    /// A compact history: (process, type, f, value, node, final) at times 0, 10, 20, ...
    fn h(ops: &[(u64, OpType, &str, Value, &str, bool)]) -> Vec<Op> {
        ops.iter()
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

    fn set(xs: &[i64]) -> Value {
        Value::List(xs.iter().map(|&x| Value::Int(x)).collect())
    }

    fn run(ops: &[Op]) -> CheckResult {
        check(vec![Box::new(SetChecker::default())], ops)
            .results
            .remove(0)
    }

    use OpType::*;

    fn add(p: u64, x: i64) -> [(u64, OpType, &'static str, Value, &'static str, bool); 2] {
        [
            (p, Invoke, "add", Value::Int(x), "n1", false),
            (p, Ok, "add", Value::Int(x), "n1", false),
        ]
    }

    #[test]
    fn a_history_where_every_ack_is_read_back_is_valid_with_visibility_latency() {
        let mut ops = Vec::new();
        ops.extend(add(0, 1));
        ops.extend(add(0, 2));
        ops.extend([
            (1, Invoke, "read", Value::Nil, "n1", true),
            (1, Ok, "read", set(&[1, 2]), "n1", true),
            (2, Invoke, "read", Value::Nil, "n2", true),
            (2, Ok, "read", set(&[2, 1]), "n2", true),
        ]);
        let r = run(&h(&ops));
        assert_eq!(r.valid, Validity::True, "{}", r.summary);
        assert_eq!(r.figures["acknowledged"], json!(2));
        // Element 1 acked at t=10, on n2 first at t=70: 60 ns.
        assert_eq!(r.figures["visibility-ms"]["1"], json!(0.00006));
    }

    #[test]
    fn an_acknowledged_add_missing_from_a_final_read_is_lost() {
        let mut ops = Vec::new();
        ops.extend(add(0, 1));
        ops.extend([
            (1, Invoke, "read", Value::Nil, "n1", true),
            (1, Ok, "read", set(&[]), "n1", true),
        ]);
        let r = run(&h(&ops));
        assert_eq!(r.valid, Validity::False);
        assert_eq!(r.anomaly_counts["lost"], 1);
        assert_eq!(r.anomalies[0].ops, vec![0, 1, 3]);
        assert!(
            r.anomalies[0]
                .explanation
                .contains("final read op 3 does not hold it")
        );
    }

    #[test]
    fn only_each_nodes_last_final_read_decides_what_is_lost() {
        // The first round of final reads on n2 is still catching up; the second holds it.
        let mut ops = Vec::new();
        ops.extend(add(0, 1));
        ops.extend([
            (1, Invoke, "read", Value::Nil, "n2", true),
            (1, Ok, "read", set(&[]), "n2", true),
            (2, Invoke, "read", Value::Nil, "n1", true),
            (2, Ok, "read", set(&[1]), "n1", true),
            (3, Invoke, "read", Value::Nil, "n2", true),
            (3, Ok, "read", set(&[1]), "n2", true),
        ]);
        let r = run(&h(&ops));
        assert!(!r.anomaly_counts.contains_key("lost"), "{:?}", r.anomalies);
        assert_eq!(
            r.valid,
            Validity::True,
            "a final read still catching up is not stale"
        );
        // But if n2's last final read lacks it, it is lost.
        ops.truncate(6);
        ops.extend([
            (3, Invoke, "read", Value::Nil, "n2", true),
            (3, Ok, "read", set(&[]), "n2", true),
        ]);
        let r = run(&h(&ops));
        assert_eq!(r.anomaly_counts.get("lost"), Some(&1));
    }

    #[test]
    fn a_read_after_the_ack_that_lacks_it_is_stale_when_later_reads_have_it() {
        let mut ops = Vec::new();
        ops.extend(add(0, 1));
        ops.extend([
            (1, Invoke, "read", Value::Nil, "n2", false),
            (1, Ok, "read", set(&[]), "n2", false),
            (1, Invoke, "read", Value::Nil, "n2", true),
            (1, Ok, "read", set(&[1]), "n2", true),
        ]);
        let r = run(&h(&ops));
        assert_eq!(
            r.anomaly_counts.get("stale"),
            Some(&1),
            "{:?}",
            r.anomaly_counts
        );
        assert!(!r.anomaly_counts.contains_key("lost"));
        // A read that began before the ack is not stale.
        let mut concurrent = vec![(1, Invoke, "read", Value::Nil, "n2", false)];
        concurrent.extend(add(0, 1));
        concurrent.extend([
            (1, Ok, "read", set(&[]), "n2", false),
            (1, Invoke, "read", Value::Nil, "n2", true),
            (1, Ok, "read", set(&[1]), "n2", true),
        ]);
        assert_eq!(run(&h(&concurrent)).valid, Validity::True);
    }

    #[test]
    fn unexpected_and_duplicated_elements_are_named() {
        let mut ops = Vec::new();
        ops.extend(add(0, 1));
        ops.extend([
            (1, Invoke, "read", Value::Nil, "n1", true),
            (1, Ok, "read", set(&[1, 1, 9]), "n1", true),
        ]);
        let r = run(&h(&ops));
        assert_eq!(r.anomaly_counts.get("unexpected"), Some(&1));
        assert_eq!(r.anomaly_counts.get("duplicated"), Some(&1));
        assert!(r.anomalies.iter().any(|a| {
            a.explanation
                .contains("element 9, which no add ever attempted")
        }));
    }

    #[test]
    fn nothing_read_or_acknowledged_is_unknown_and_failed_adds_are_not_lost() {
        let r = run(&h(&add(0, 1)));
        assert_eq!(r.valid, Validity::Unknown);
        let failed = [
            (0, Invoke, "add", Value::Int(1), "n1", false),
            (0, Fail, "add", Value::Int(1), "n1", false),
            (0, Invoke, "add", Value::Int(2), "n1", false),
            (0, Ok, "add", Value::Int(2), "n1", false),
            (1, Invoke, "read", Value::Nil, "n1", true),
            (1, Ok, "read", set(&[2]), "n1", true),
        ];
        assert_eq!(run(&h(&failed)).valid, Validity::True);
    }
}
