//! `set`: Jepsen's set-full analysis of adds of unique integers and reads of the whole set.
//!
//! Values are `add x` / `read [x ...]` on one set, or `add [k x]` / `read [k [x ...]]` on many
//! (Jepsen's independent keys). Every element is judged on its own:
//! - `lost`: its add was acknowledged, yet every observer's last final read (after every fault
//!   was healed and the replicas had time to agree; an observer is a node, or a process when no
//!   node is recorded) lacks it; without final reads, the last read of the history stands in
//!   for them. Held by some observers and not others, it is not lost but divergent, which the
//!   convergence checker reports. Only an element acknowledged before a read began can be
//!   missing from it: one acknowledged later is `never-read` when no read followed.
//! - `stale`: a read invoked after its add was acknowledged lacks it, though it is not lost.
//!   Final reads do not count: they read one replica each while the replicas converge, and how
//!   long that takes is the convergence checker's business.
//! - `never-read`: no read was invoked after its add completed, so nothing can be said.
//! - `unexpected`: a read holds it, but no add of it had been attempted.
//! - `duplicated`: a read holds it more than once.
//!
//! Visibility latency is, per acknowledged element, the time from the acknowledgement until a
//! read on every node has shown it.
//!
//! One pass, in memory that grows with the elements added (about 75 bytes each, 90 when they
//! are not dense integers), not with the reads: a read costs time in its size, plus the
//! acknowledged elements it lacks.

use crate::util::{
    Chunked, Findings, IntIds, Ints, Keys, NodeBits, Observer, ints, key_label, quantiles_ms,
};
use crate::{CheckResult, Checker, Event, Validity};
use history::{Op, OpType, Process};
use rustc_hash::{FxHashMap, FxHashSet};
use serde_json::json;
use std::collections::BTreeMap;

const NONE: u64 = u64::MAX;

#[derive(Debug)]
struct Element {
    x: i64,
    add_invoke: u64,
    ack_index: u64,
    ack_time: u64,
    indeterminate: bool,
    /// Nodes whose reads have shown it, and when the last of them first did.
    seen_on: u64,
    seen: bool,
    visible_time: u64,
    /// The first read invoked after the ack that lacked it.
    stale_read: u64,
}

/// A read that decides what is lost: only elements acknowledged before it began can be
/// missing from it.
#[derive(Debug)]
struct JudgedRead {
    index: u64,
    invoked: u64,
    /// The elements it held, by id (one bit per element added before it completed: a
    /// million-element read is 125 KB, not a hash set of 16 MB).
    held: Bits,
}

/// A set of element ids as bits.
#[derive(Debug, Default)]
struct Bits(Vec<u64>);

impl Bits {
    /// Empty, with room for ids below `n`.
    fn reset(&mut self, n: usize) {
        self.0.clear();
        self.0.resize(n.div_ceil(64), 0);
    }

    fn contains(&self, id: u32) -> bool {
        self.0
            .get(id as usize / 64)
            .is_some_and(|w| w & (1 << (id % 64)) != 0)
    }

    /// Adds `id` (below the reset's `n`); false when it was there already.
    fn insert(&mut self, id: u32) -> bool {
        let w = &mut self.0[id as usize / 64];
        let bit = 1 << (id % 64);
        let new = *w & bit == 0;
        *w |= bit;
        new
    }
}

#[derive(Debug, Default)]
struct KeyState {
    ids: IntIds,
    elements: Chunked<Element>,
    /// Element ids in the order their adds were acknowledged.
    acked: Vec<u32>,
    /// Per observer (the node, or the process when no node is recorded), the last final read.
    last_final: BTreeMap<Observer, JudgedRead>,
    /// The last read of the history that was not a final read.
    last_read: Option<JudgedRead>,
    /// Index of the last read invoked.
    last_read_invoke: Option<u64>,
}

#[derive(Debug, Default)]
pub struct SetChecker {
    keys: Keys,
    per_key: Vec<KeyState>,
    nodes: NodeBits,
    /// Open reads: how many adds of their key had been acknowledged when they were invoked.
    acked_at_invoke: FxHashMap<Process, usize>,
    reads: u64,
    findings: Findings,
    scratch: Bits,
    /// Elements of one read that no add attempted (each reported once per read).
    unknown: FxHashSet<i64>,
    /// The first keyed (`[k x]`) and the first unkeyed op: a history with both is not one
    /// this checker can read either way.
    keyed_op: Option<u64>,
    unkeyed_op: Option<u64>,
}

impl SetChecker {
    fn key(&mut self, key: &history::Value) -> usize {
        self.keys.slot(key, &mut self.per_key)
    }

    fn element(&mut self, key: usize, x: i64, add_invoke: u64) -> &mut Element {
        let state = &mut self.per_key[key];
        let next = state.elements.len() as u32;
        let id = state.ids.get_or_insert(x, next);
        if id == next {
            state.elements.push(Element {
                x,
                add_invoke,
                ack_index: NONE,
                ack_time: 0,
                indeterminate: false,
                seen_on: 0,
                seen: false,
                visible_time: 0,
                stale_read: NONE,
            });
        }
        &mut state.elements[id as usize]
    }

    fn read(
        &mut self,
        key: usize,
        op: &Op,
        invoke_index: u64,
        acked_before: usize,
        held: Ints<'_>,
    ) {
        self.reads += 1;
        let bit = self.nodes.bit(&op.node);
        let label = key_label(self.keys.value(key as u32));
        let mut set = std::mem::take(&mut self.scratch);
        let state = &mut self.per_key[key];
        set.reset(state.elements.len());
        self.unknown.clear();
        let mut present_acked = 0usize;
        for x in held.iter() {
            let id = state.ids.get(x);
            let new = match id {
                Some(id) => set.insert(id),
                None => self.unknown.insert(x),
            };
            if !new {
                self.findings.note("duplicated", vec![op.index], || {
                    format!(
                        "Read op {} holds element {x} more than once; a set holds each element once.",
                        op.index
                    )
                });
                continue;
            }
            match id {
                Some(id) => {
                    let e = &mut state.elements[id as usize];
                    e.seen = true;
                    if e.seen_on & bit == 0 {
                        e.seen_on |= bit;
                        e.visible_time = op.time;
                    }
                    if e.ack_index != NONE && e.ack_index < invoke_index {
                        present_acked += 1;
                    }
                }
                None => self.findings.note("unexpected", vec![op.index], || {
                    format!(
                        "Read op {} holds element {x}{label}, which no add had attempted.",
                        op.index
                    )
                }),
            }
        }
        if !op.is_final && present_acked < acked_before {
            for &id in &state.acked[..acked_before] {
                let e = &mut state.elements[id as usize];
                if e.stale_read == NONE && !set.contains(id) {
                    e.stale_read = op.index;
                }
            }
        }
        let judged = JudgedRead {
            index: op.index,
            invoked: invoke_index,
            held: set,
        };
        if op.is_final {
            state.last_final.insert(Observer::of(op), judged);
            self.scratch = Bits::default();
        } else {
            self.scratch = match state.last_read.replace(judged) {
                Some(old) => old.held,
                None => Bits::default(),
            };
        }
    }
}

impl Checker for SetChecker {
    fn name(&self) -> &'static str {
        "set"
    }

    fn observe(&mut self, event: &Event<'_>) {
        match *event {
            Event::Invoke(op) => {
                let (key, inner) = crate::util::split_keyed(&op.value);
                if matches!(&*op.f, "add" | "read") {
                    let slot = if key.is_nil() {
                        &mut self.unkeyed_op
                    } else {
                        &mut self.keyed_op
                    };
                    slot.get_or_insert(op.index);
                }
                match &*op.f {
                    "add" => {
                        if let Some(x) = inner.as_int() {
                            let key = self.key(&key);
                            self.element(key, x, op.index);
                        }
                    }
                    "read" => {
                        let key = self.key(&key);
                        let state = &mut self.per_key[key];
                        state.last_read_invoke = Some(op.index);
                        self.acked_at_invoke
                            .insert(op.process.clone(), state.acked.len());
                    }
                    _ => {}
                }
            }
            Event::Complete { invoked, op } => {
                let acked_before = self.acked_at_invoke.remove(&op.process);
                let (key, _) = crate::util::split_keyed(invoked.value);
                match (&*op.f, op.kind) {
                    ("add", OpType::Ok | OpType::Info) => {
                        let Some(x) = crate::util::split_keyed(invoked.value).1.as_int() else {
                            return;
                        };
                        let key = self.key(&key);
                        let e = self.element(key, x, invoked.index);
                        if op.kind == OpType::Info {
                            e.indeterminate = true;
                        } else if e.ack_index == NONE {
                            e.ack_index = op.index;
                            e.ack_time = op.time;
                            let id = self.per_key[key]
                                .ids
                                .get(x)
                                .expect("an added element has an id");
                            self.per_key[key].acked.push(id);
                        }
                    }
                    ("read", OpType::Ok) => {
                        let (_, held) = crate::util::split_keyed(&op.value);
                        let held = if invoked.value.is_nil() {
                            ints(&op.value)
                        } else {
                            ints(held)
                        };
                        if let Some(held) = held {
                            let key = self.key(&key);
                            self.read(key, op, invoked.index, acked_before.unwrap_or(0), held);
                        }
                    }
                    _ => {}
                }
            }
            Event::Unfinished(_) | Event::Other(_) => {}
        }
    }

    fn finish(self: Box<Self>) -> CheckResult {
        if let (Some(k), Some(u)) = (self.keyed_op, self.unkeyed_op) {
            return CheckResult::new(
                "set",
                Validity::Unknown,
                format!(
                    "input error: op {k} is keyed ([k x]) and op {u} is not; a set history's \
                     adds and reads are all keyed or all unkeyed, and rift will not guess which \
                     reads go with which adds"
                ),
            );
        }
        let SetChecker {
            keys,
            per_key,
            nodes,
            reads,
            mut findings,
            ..
        } = *self;
        let any_final = per_key.iter().any(|k| !k.last_final.is_empty());
        let all_nodes = nodes.all();
        let (mut attempted, mut acked, mut never_read) = (0u64, 0u64, 0u64);
        let mut latencies = Vec::new();
        for (key, state) in per_key.iter().enumerate() {
            let label = key_label(keys.value(key as u32));
            // What is judged lost: each node's last final read (the final phase reads until
            // the replicas agree, so earlier rounds may still be catching up); without final
            // reads, the last read of the history.
            let judged: Vec<&JudgedRead> = if any_final {
                state.last_final.values().collect()
            } else {
                state.last_read.iter().collect()
            };
            for (id, e) in state.elements.iter().enumerate() {
                let id = id as u32;
                attempted += 1;
                // Indexes follow time: a read invoked after op i has a larger index.
                let read_after = |i: u64| state.last_read_invoke.is_some_and(|r| r > i);
                if e.ack_index == NONE {
                    never_read +=
                        u64::from(e.indeterminate && !e.seen && !read_after(e.add_invoke));
                    continue;
                }
                acked += 1;
                let x = e.x;
                let (add, ack) = (e.add_invoke, e.ack_index);
                // Lost: absent from every observer's judged read begun after the ack. Present
                // on some observers and absent on others is divergence (the convergence
                // checker's finding): the write survives somewhere.
                let mut after = judged.iter().filter(|r| r.invoked > ack).peekable();
                let lost = after.peek().is_some() && after.clone().all(|r| !r.held.contains(id));
                if let Some(read) = lost.then(|| after.last()).flatten() {
                    let read = read.index;
                    findings.note("lost", vec![add, ack, read], || {
                        format!(
                            "Element {x}{label} was added (op {add}) and the add was acknowledged \
                             (op {ack}), but the {} read op {read} does not hold it: an \
                             acknowledged write is gone.",
                            if any_final { "final" } else { "last" }
                        )
                    });
                } else if e.stale_read != NONE {
                    let read = e.stale_read;
                    findings.note("stale", vec![ack, read], || {
                        format!(
                            "Element {x}{label}'s add was acknowledged (op {ack}) before read op \
                             {read} began, yet that read does not hold it; later reads do."
                        )
                    });
                }
                if !read_after(e.ack_index) {
                    never_read += 1;
                }
                if all_nodes != 0 && e.seen_on == all_nodes {
                    latencies.push(e.visible_time.saturating_sub(e.ack_time));
                }
            }
        }
        let found = findings.total();
        let valid = if found > 0 {
            Validity::False
        } else if reads == 0 || acked == 0 {
            Validity::Unknown
        } else {
            Validity::True
        };
        let summary = match valid {
            Validity::False => format!(
                "{found} {} among {acked} acknowledged elements: {}",
                if found == 1 { "anomaly" } else { "anomalies" },
                findings.describe()
            ),
            Validity::Unknown if reads == 0 => {
                "no read ever succeeded: nothing can be inferred".to_owned()
            }
            Validity::Unknown => "no add was ever acknowledged: nothing can be inferred".to_owned(),
            Validity::True => {
                format!("all {acked} acknowledged elements read back ({reads} reads)")
            }
        };
        let mut result = CheckResult::new("set", valid, summary);
        for (k, v) in [
            ("attempted", json!(attempted)),
            ("acknowledged", json!(acked)),
            ("reads", json!(reads)),
            ("keys", json!(keys.len())),
            ("never-read", json!(never_read)),
            ("visibility-ms", quantiles_ms(&mut latencies)),
        ] {
            result.figures.insert(k.to_owned(), v);
        }
        findings.into_result(&mut result);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{h, ints as set, run as run_with};
    use history::Value;

    fn run(ops: &[Op]) -> CheckResult {
        run_with(Box::new(SetChecker::default()), ops)
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
    fn without_final_reads_an_add_acknowledged_after_the_last_read_began_is_not_lost() {
        // Jepsen-style: no final reads, no nodes. The last read began before add 1 was
        // acknowledged (here, before it was even invoked), so it says nothing of 1; add 2 was
        // acknowledged before it began, and it lacks 2: that one is lost.
        let mut ops = Vec::new();
        ops.extend(add(0, 2));
        ops.extend([(1, Invoke, "read", Value::Nil, "", false)]);
        ops.extend(add(0, 1));
        ops.extend([(1, Ok, "read", set(&[]), "", false)]);
        let r = run(&h(&ops));
        assert_eq!(r.anomaly_counts.get("lost"), Some(&1), "{}", r.summary);
        assert!(
            r.anomalies[0].explanation.contains("Element 2"),
            "{:?}",
            r.anomalies
        );
        assert_eq!(r.figures["never-read"], 1);
    }

    #[test]
    fn keyed_adds_with_unkeyed_reads_are_an_input_error_not_a_verdict() {
        let kv = crate::testing::kv;
        let ops = [
            (0, Invoke, "add", kv(1, Value::Int(5)), "", false),
            (0, Ok, "add", kv(1, Value::Int(5)), "", false),
            (1, Invoke, "read", Value::Nil, "", false),
            (1, Ok, "read", set(&[]), "", false),
        ];
        let r = run(&h(&ops));
        assert_eq!(r.valid, Validity::Unknown, "{}", r.summary);
        assert!(
            r.summary.starts_with("input error: op 0 is keyed"),
            "{}",
            r.summary
        );
        assert!(r.anomaly_counts.is_empty());
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
        // n2's last final read lacks it but n1's holds it: divergence (the convergence
        // checker's finding), not a loss — the write survives on n1.
        ops.truncate(6);
        ops.extend([
            (3, Invoke, "read", Value::Nil, "n2", true),
            (3, Ok, "read", set(&[]), "n2", true),
        ]);
        let r = run(&h(&ops));
        assert_eq!(r.anomaly_counts.get("lost"), None, "{:?}", r.anomalies);
        // Every observer's last final read lacks it: lost.
        ops.extend([
            (4, Invoke, "read", Value::Nil, "n1", true),
            (4, Ok, "read", set(&[]), "n1", true),
        ]);
        let r = run(&h(&ops));
        assert_eq!(r.anomaly_counts.get("lost"), Some(&1));
    }

    #[test]
    fn final_reads_without_nodes_speak_for_their_processes() {
        // Two observers named by process only; one still holds the element.
        let mut ops = Vec::new();
        ops.extend(add(0, 1));
        ops.extend([
            (5, Invoke, "read", Value::Nil, "", true),
            (5, Ok, "read", set(&[1]), "", true),
            (6, Invoke, "read", Value::Nil, "", true),
            (6, Ok, "read", set(&[]), "", true),
        ]);
        let r = run(&h(&ops));
        assert_eq!(r.anomaly_counts.get("lost"), None, "{:?}", r.anomalies);
        ops.extend([
            (5, Invoke, "read", Value::Nil, "", true),
            (5, Ok, "read", set(&[]), "", true),
        ]);
        let r = run(&h(&ops));
        assert_eq!(r.anomaly_counts.get("lost"), Some(&1), "{:?}", r.anomalies);
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
                .contains("element 9, which no add had attempted")
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
