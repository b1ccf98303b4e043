//! What several checkers share: counting and listing anomalies, keys, quantiles.

use crate::{Anomaly, CheckResult};
use history::{Op, Sym, Value};
use rustc_hash::FxHashMap;
use serde_json::json;
use std::collections::BTreeMap;

/// Witnesses listed per anomaly kind (all of them are counted).
pub(crate) const WITNESSES: usize = 10;

/// Anomalies found: every one counted, the first few of each kind listed with a witness.
#[derive(Debug, Default)]
pub(crate) struct Findings {
    pub counts: BTreeMap<String, u64>,
    listed: BTreeMap<String, Vec<Anomaly>>,
}

impl Findings {
    /// Counts one anomaly; the explanation is written only when it will be listed.
    pub fn note(&mut self, kind: &str, ops: Vec<u64>, explanation: impl FnOnce() -> String) {
        *self.counts.entry(kind.to_owned()).or_default() += 1;
        let list = self.listed.entry(kind.to_owned()).or_default();
        if list.len() < WITNESSES {
            list.push(Anomaly {
                kind: kind.to_owned(),
                ops,
                explanation: explanation(),
                dot: None,
                allowed: false,
                bars: Vec::new(),
            });
        }
    }

    /// Counts one anomaly with its graph (a cycle).
    pub fn note_with_dot(&mut self, kind: &str, ops: Vec<u64>, explanation: String, dot: String) {
        *self.counts.entry(kind.to_owned()).or_default() += 1;
        let list = self.listed.entry(kind.to_owned()).or_default();
        if list.len() < WITNESSES {
            list.push(Anomaly {
                kind: kind.to_owned(),
                ops,
                explanation,
                dot: Some(dot),
                allowed: false,
                bars: Vec::new(),
            });
        }
    }

    pub fn total(&self) -> u64 {
        self.counts.values().sum()
    }

    /// "3 lost, 1 stale"
    pub fn describe(&self) -> String {
        let parts: Vec<String> = self
            .counts
            .iter()
            .map(|(k, n)| format!("{n} {k}"))
            .collect();
        parts.join(", ")
    }

    /// Moves the counts and witnesses into a result (witnesses ordered by kind).
    pub fn into_result(self, result: &mut CheckResult) {
        result.anomaly_counts = self.counts;
        result.anomalies = self.listed.into_values().flatten().collect();
    }
}

/// Splits a keyed value `[key, inner]` (Jepsen's independent keys, rift's keyed workloads);
/// anything else is the one unnamed key's.
pub(crate) fn split_keyed(value: &Value) -> (Value, &Value) {
    match value.as_seq() {
        Some([key, inner]) if !matches!(key, Value::List(_) | Value::Set(_)) => {
            (key.clone(), inner)
        }
        _ => (Value::Nil, value),
    }
}

/// A key as people read it in explanations: nothing for the one unnamed key.
pub(crate) fn key_label(key: &Value) -> String {
    match key {
        Value::Nil => String::new(),
        k => format!(" of key {}", show(k)),
    }
}

/// A value in JSON, as the history writes it.
pub(crate) fn show(v: &Value) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| format!("{v:?}"))
}

/// Integers of a read's collection value (`nil` reads as empty).
pub(crate) fn ints(v: &Value) -> Option<Vec<i64>> {
    match v {
        Value::Nil => Some(Vec::new()),
        Value::List(items) | Value::Set(items) => items.iter().map(Value::as_int).collect(),
        _ => None,
    }
}

/// Quantiles 0, 0.5, 0.95, 0.99 and 1 of nanosecond durations, in milliseconds.
pub(crate) fn quantiles_ms(values: &mut [u64]) -> serde_json::Value {
    values.sort_unstable();
    let q = |q: f64| -> serde_json::Value {
        if values.is_empty() {
            return serde_json::Value::Null;
        }
        json!(values[((values.len() - 1) as f64 * q).round() as usize] as f64 / 1e6)
    };
    json!({"0": q(0.0), "0.5": q(0.5), "0.95": q(0.95), "0.99": q(0.99), "1": q(1.0)})
}

/// Nodes as bits of a mask (the first 64 nodes seen; visibility is not measured past them).
#[derive(Debug, Default)]
pub(crate) struct NodeBits {
    bits: FxHashMap<Sym, u32>,
}

impl NodeBits {
    pub fn bit(&mut self, node: &Option<Sym>) -> u64 {
        let Some(node) = node else { return 0 };
        let next = self.bits.len() as u32;
        let bit = *self.bits.entry(node.clone()).or_insert(next);
        if bit < 64 { 1 << bit } else { 0 }
    }

    /// Every node seen (up to 64).
    pub fn all(&self) -> u64 {
        match self.bits.len() {
            0 => 0,
            n if n >= 64 => u64::MAX,
            n => (1u64 << n) - 1,
        }
    }
}

/// Keys as small numbers (integers, the common case, without formatting them).
#[derive(Debug, Default)]
pub(crate) struct Keys {
    ints: FxHashMap<i64, u32>,
    others: FxHashMap<String, u32>,
    values: Vec<Value>,
}

impl Keys {
    pub fn id(&mut self, key: &Value) -> u32 {
        let next = self.values.len() as u32;
        let id = match key {
            Value::Int(i) => *self.ints.entry(*i).or_insert(next),
            other => *self.others.entry(show(other)).or_insert(next),
        };
        if id == next {
            self.values.push(key.clone());
        }
        id
    }

    /// A key's number, with a fresh state for it in `states` when it is new.
    pub fn slot<T: Default>(&mut self, key: &Value, states: &mut Vec<T>) -> usize {
        let id = self.id(key) as usize;
        if id == states.len() {
            states.push(T::default());
        }
        id
    }

    pub fn value(&self, id: u32) -> &Value {
        &self.values[id as usize]
    }

    pub fn len(&self) -> usize {
        self.values.len()
    }
}

/// Who a final read speaks for: its node, or its process when the history names no node. One
/// policy for every checker: each observer's last final read is what it holds at the end.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Observer {
    Node(Sym),
    Process(history::Process),
}

impl Observer {
    pub fn of(op: &Op) -> Observer {
        match &op.node {
            Some(node) => Observer::Node(node.clone()),
            None => Observer::Process(op.process.clone()),
        }
    }
}

impl std::fmt::Display for Observer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Observer::Node(n) => f.write_str(n),
            Observer::Process(p) => write!(f, "process {p}"),
        }
    }
}
