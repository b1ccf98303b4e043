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
pub(crate) fn ints(v: &Value) -> Option<Ints<'_>> {
    match v {
        Value::Nil => Some(Ints(&[])),
        Value::List(items) | Value::Set(items) => items
            .iter()
            .all(|i| i.as_int().is_some())
            .then_some(Ints(items)),
        _ => None,
    }
}

/// A read's integers, read where they lie (a copy of a read of five million elements was
/// 40 MB, per checker).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Ints<'a>(&'a [Value]);

impl<'a> Ints<'a> {
    pub fn iter(self) -> impl Iterator<Item = i64> + 'a {
        self.0.iter().filter_map(Value::as_int)
    }

    pub fn contains(self, x: i64) -> bool {
        self.iter().any(|y| y == x)
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

/// No number, in [`IntIds`]' table.
const NO_ID: u32 = u32::MAX;
/// A dense [`IntIds`] table spans at most this many slots per integer it holds, plus
/// [`MIN_SPAN`]; past that the integers move to a hash map.
const SPAN_PER_ID: i128 = 4;
const MIN_SPAN: i128 = 64;

/// Distinct integers, each with a number: while they are dense in their range (Jepsen's
/// workloads add 0, 1, 2, … or the op's index), a table indexed by the integer, 4 to 16 bytes
/// an integer, where a hash map takes 17 to 34 and twice that while it grows; a hash map once
/// they are sparse. A table never comes back from the map.
#[derive(Debug)]
pub(crate) enum IntIds {
    Dense {
        base: i64,
        slots: Vec<u32>,
        len: usize,
    },
    Sparse(FxHashMap<i64, u32>),
}

impl Default for IntIds {
    fn default() -> Self {
        IntIds::Dense {
            base: 0,
            slots: Vec::new(),
            len: 0,
        }
    }
}

impl IntIds {
    pub fn get(&self, x: i64) -> Option<u32> {
        match self {
            IntIds::Dense { base, slots, .. } => {
                let off = i128::from(x) - i128::from(*base);
                usize::try_from(off)
                    .ok()
                    .and_then(|off| slots.get(off))
                    .copied()
                    .filter(|&id| id != NO_ID)
            }
            IntIds::Sparse(map) => map.get(&x).copied(),
        }
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        match self {
            IntIds::Dense { len, .. } => *len,
            IntIds::Sparse(map) => map.len(),
        }
    }

    /// The number of `x`: `id` if `x` is new (`id` must not be `u32::MAX`).
    pub fn get_or_insert(&mut self, x: i64, id: u32) -> u32 {
        debug_assert_ne!(id, NO_ID);
        if let IntIds::Dense { base, slots, len } = self {
            if slots.is_empty() {
                *base = x;
            }
            let (lo, hi) = (i128::from(*base), i128::from(*base) + slots.len() as i128);
            let x128 = i128::from(x);
            let budget = MIN_SPAN + SPAN_PER_ID * (*len as i128 + 1);
            if x128 >= lo && x128 < hi {
                let slot = &mut slots[(x128 - lo) as usize];
                if *slot == NO_ID {
                    *slot = id;
                    *len += 1;
                }
                return *slot;
            }
            if x128 >= lo && x128 - lo < budget {
                // Above: `resize` grows the table as a vector grows, doubling.
                slots.resize((x128 - lo) as usize + 1, NO_ID);
                slots[(x128 - lo) as usize] = id;
                *len += 1;
                return id;
            }
            if x128 < lo && hi - x128 <= budget {
                // Below: a new base with room for as many again below it, within budget,
                // so that integers that come down move the table rarely.
                let room = (hi - lo).min(budget - (hi - x128));
                let new_base = (x128 - room).max(i128::from(i64::MIN));
                let shift = (lo - new_base) as usize;
                let mut moved = Vec::with_capacity(shift + slots.len());
                moved.resize(shift, NO_ID);
                moved.extend_from_slice(slots);
                moved[(x128 - new_base) as usize] = id;
                *slots = moved;
                *base = new_base as i64;
                *len += 1;
                return id;
            }
            let map = slots
                .iter()
                .enumerate()
                .filter(|&(_, &id)| id != NO_ID)
                .map(|(i, &id)| ((lo + i as i128) as i64, id))
                .collect();
            *self = IntIds::Sparse(map);
        }
        match self {
            IntIds::Sparse(map) => *map.entry(x).or_insert(id),
            IntIds::Dense { .. } => unreachable!("a dense table became a map"),
        }
    }
}

/// Elements kept in the first chunk of a [`Chunked`] (a vector that grows as vectors do).
const SMALL_BITS: u32 = 12;

/// A vector that never moves what it holds once past its first few thousand elements: each
/// further chunk is as large as all before it, so that growing costs no copy, and no moment
/// holds both the old and the new array (a vector of 5 M elements of 64 bytes, at its last
/// doubling, holds 268 MB and copies it into 537: a third of a set history's peak).
#[derive(Debug)]
pub(crate) struct Chunked<T> {
    chunks: Vec<Vec<T>>,
    len: usize,
}

impl<T> Default for Chunked<T> {
    fn default() -> Self {
        Chunked {
            chunks: Vec::new(),
            len: 0,
        }
    }
}

impl<T> Chunked<T> {
    /// Chunk and place of element `i`: chunk 0 holds the first 2^SMALL_BITS, chunk c ≥ 1
    /// the 2^(SMALL_BITS+c-1) from 2^(SMALL_BITS+c-1) on.
    fn locate(i: usize) -> (usize, usize) {
        if i < 1 << SMALL_BITS {
            return (0, i);
        }
        let high = usize::BITS - 1 - i.leading_zeros();
        ((high - SMALL_BITS + 1) as usize, i - (1 << high))
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn push(&mut self, x: T) {
        let (c, at) = Self::locate(self.len);
        if c == self.chunks.len() {
            debug_assert_eq!(at, 0);
            self.chunks.push(if c == 0 {
                Vec::new()
            } else {
                Vec::with_capacity(1 << (SMALL_BITS + c as u32 - 1))
            });
        }
        self.chunks[c].push(x);
        self.len += 1;
    }

    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.chunks.iter().flatten()
    }
}

impl<T> std::ops::Index<usize> for Chunked<T> {
    type Output = T;
    fn index(&self, i: usize) -> &T {
        let (c, at) = Self::locate(i);
        &self.chunks[c][at]
    }
}

impl<T> std::ops::IndexMut<usize> for Chunked<T> {
    fn index_mut(&mut self, i: usize) -> &mut T {
        let (c, at) = Self::locate(i);
        &mut self.chunks[c][at]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn check_against_map(xs: &[i64]) -> IntIds {
        let mut ids = IntIds::default();
        let mut map = std::collections::HashMap::new();
        for (i, &x) in xs.iter().enumerate() {
            let id = i as u32;
            let want = *map.entry(x).or_insert(id);
            assert_eq!(ids.get_or_insert(x, id), want, "inserting {x} (#{i})");
            assert_eq!(ids.len(), map.len());
        }
        for (&x, &id) in &map {
            assert_eq!(ids.get(x), Some(id), "{x}");
            assert_eq!(
                ids.get(x.wrapping_add(1)),
                map.get(&x.wrapping_add(1)).copied()
            );
            assert_eq!(
                ids.get(x.wrapping_sub(1)),
                map.get(&x.wrapping_sub(1)).copied()
            );
        }
        ids
    }

    #[test]
    fn dense_integers_stay_in_a_table_and_sparse_ones_move_to_a_map() {
        let up: Vec<i64> = (0..10_000).map(|i| 2 * i).collect();
        assert!(matches!(check_against_map(&up), IntIds::Dense { .. }));
        let down: Vec<i64> = (0..10_000).rev().collect();
        assert!(matches!(check_against_map(&down), IntIds::Dense { .. }));
        let sparse: Vec<i64> = (0..1_000).map(|i| i * 1_000).collect();
        assert!(matches!(check_against_map(&sparse), IntIds::Sparse(_)));
        check_against_map(&[i64::MAX, i64::MIN, 0, i64::MAX - 1, i64::MIN + 1]);
        check_against_map(&[i64::MIN + 3, i64::MIN + 1, i64::MIN]);
    }

    #[test]
    fn a_chunked_vector_indexes_as_a_vector_does() {
        let mut c = Chunked::default();
        let n = (1 << SMALL_BITS) * 9 + 17;
        for i in 0..n {
            c.push(i);
            assert_eq!(c[i], i);
        }
        assert_eq!(c.len(), n);
        assert!(c.iter().copied().eq(0..n));
        for i in (0..n).step_by(7) {
            c[i] += 1;
        }
        assert!((0..n).all(|i| c[i] == i + usize::from(i % 7 == 0)));
        // No chunk past the first was ever reallocated: each was made at its full size.
        for (i, chunk) in c.chunks.iter().enumerate().skip(1) {
            assert_eq!(
                chunk.capacity(),
                1 << (SMALL_BITS + i as u32 - 1),
                "chunk {i}"
            );
        }
    }

    proptest! {
        #[test]
        fn numbers_integers_as_a_hash_map_would(
            xs in proptest::collection::vec(
                prop_oneof![-300i64..300, any::<i64>(), (0i64..50).prop_map(|x| x * 97)],
                0..400,
            )
        ) {
            check_against_map(&xs);
        }
    }
}
