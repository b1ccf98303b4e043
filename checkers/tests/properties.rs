//! Property tests: histories of a linearizable model (each op takes effect at once, at its
//! completion) are never flagged by any checker; one anomaly injected into such a history is
//! flagged, under its kind. Histories come in the shapes foreign tools write too: with or
//! without final reads, with or without nodes, registers with small repeated values and `cas`.
#![allow(clippy::unwrap_used)]

use checkers::{CheckResult, Validity, by_name, check};
use history::{Op, OpType, Process, Value};
use proptest::prelude::*;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Set,
    List,
    Counter,
    Register,
    Idempotency,
}

const KEYS: i64 = 2;
const NODES: usize = 3;

mod common;
use common::Rng;

#[derive(Default)]
struct Model {
    set: BTreeSet<i64>,
    lists: BTreeMap<i64, Vec<i64>>,
    counter: i64,
    registers: BTreeMap<i64, i64>,
    ids: BTreeSet<i64>,
}

fn int_list(xs: &[i64]) -> Value {
    Value::List(xs.iter().map(|&x| Value::Int(x)).collect())
}

fn kv(k: i64, v: Value) -> Value {
    Value::List(vec![Value::Int(k), v])
}

impl Model {
    /// Does `cas [k [old new]]` find `old` in the register (nil reads as no value)?
    fn cas_holds(&self, value: &Value) -> bool {
        let parts = value.as_seq().unwrap();
        let key = parts[0].as_int().unwrap();
        let old = parts[1].as_seq().and_then(|on| on[0].as_int());
        self.registers.get(&key).copied() == old
    }

    /// Applies an op at once; returns the completion's value.
    fn apply(&mut self, kind: Kind, f: &str, value: &Value) -> Value {
        let parts = value.as_seq().map(<[Value]>::to_vec).unwrap_or_default();
        let key = parts.first().and_then(Value::as_int).unwrap_or(0);
        let x = parts.get(1).and_then(Value::as_int);
        match (kind, f) {
            (Kind::Set, "add") => {
                self.set.insert(value.as_int().unwrap());
                value.clone()
            }
            (Kind::Set, "read") => int_list(&self.set.iter().copied().collect::<Vec<_>>()),
            (Kind::List, "append") => {
                self.lists.entry(key).or_default().push(x.unwrap());
                value.clone()
            }
            (Kind::List, "read") => kv(
                key,
                int_list(self.lists.get(&key).map_or(&[][..], |l| &l[..])),
            ),
            (Kind::Counter, "add") => {
                self.counter += value.as_int().unwrap();
                value.clone()
            }
            (Kind::Counter, "read") => Value::Int(self.counter),
            (Kind::Register, "write") => {
                self.registers.insert(key, x.unwrap());
                value.clone()
            }
            (Kind::Register, "cas") => {
                let new = parts[1].as_seq().and_then(|on| on[1].as_int()).unwrap();
                self.registers.insert(key, new);
                value.clone()
            }
            (Kind::Register, "read") => kv(
                key,
                self.registers
                    .get(&key)
                    .map_or(Value::Nil, |&v| Value::Int(v)),
            ),
            (Kind::Idempotency, "insert") => {
                let id = parts[0].clone();
                let created = self.ids.insert(x.unwrap());
                let outcome = if created { "created" } else { "exists" };
                Value::List(vec![id, Value::from(outcome)])
            }
            _ => Value::Nil,
        }
    }
}

/// How a history is written.
#[derive(Debug, Clone, Copy)]
struct Shape {
    /// Final reads of every key on every node at the end (rift's); none: Jepsen's.
    finals: bool,
    /// Ops name their node (rift's); none: Jepsen's and Elle's.
    nodes: bool,
    /// Registers written with values from 0 to 2, and `cas [old new]` (Knossos' histories).
    repeated: bool,
}

const RIFT: Shape = Shape {
    finals: true,
    nodes: true,
    repeated: false,
};

fn shapes() -> impl Strategy<Value = Shape> {
    (any::<bool>(), any::<bool>(), any::<bool>()).prop_map(|(finals, nodes, repeated)| Shape {
        finals,
        nodes,
        repeated,
    })
}

/// A history of `n` client ops by `procs` processes, interleaved at random, then final reads
/// of every key on every node.
fn history(kind: Kind, seed: u64, n: usize, procs: u64) -> Vec<Op> {
    history_shaped(kind, seed, n, procs, RIFT)
}

fn history_shaped(kind: Kind, seed: u64, n: usize, procs: u64, shape: Shape) -> Vec<Op> {
    let mut rng = Rng(seed);
    let mut model = Model::default();
    let mut ops: Vec<Op> = Vec::new();
    let push = |ops: &mut Vec<Op>, mut op: Op| {
        let i = ops.len() as u64;
        op = op.at(i, i * 1000);
        ops.push(op);
    };
    let mut pids: Vec<u64> = (0..procs).collect();
    let mut open: Vec<Option<(String, Value)>> = vec![None; procs as usize];
    let (mut invoked, mut next) = (0usize, 0i64);
    let node = |p: u64| format!("n{}", p % NODES as u64 + 1);
    let placed = |op: Op, name: &str| if shape.nodes { op.on_node(name) } else { op };
    while invoked < n || open.iter().any(Option::is_some) {
        let slot = rng.below(procs) as usize;
        let p = pids[slot];
        match open[slot].take() {
            None if invoked < n => {
                invoked += 1;
                let key = rng.below(KEYS as u64) as i64;
                let read = rng.below(3) == 0;
                let (f, value) = match (kind, read) {
                    (Kind::Set, true) | (Kind::Counter, true) => ("read", Value::Nil),
                    (Kind::List, true) | (Kind::Register, true) => ("read", kv(key, Value::Nil)),
                    (Kind::Set, false) => {
                        next += 1;
                        ("add", Value::Int(next))
                    }
                    (Kind::Counter, false) => ("add", Value::Int(1)),
                    (Kind::List, false) => {
                        next += 1;
                        ("append", kv(key, Value::Int(next)))
                    }
                    (Kind::Register, false) if shape.repeated && rng.below(2) == 0 => {
                        let old = Value::Int(rng.below(3) as i64);
                        let new = Value::Int(rng.below(3) as i64);
                        ("cas", kv(key, Value::List(vec![old, new])))
                    }
                    (Kind::Register, false) if shape.repeated => {
                        ("write", kv(key, Value::Int(rng.below(3) as i64)))
                    }
                    (Kind::Register, false) => {
                        next += 1;
                        ("write", kv(key, Value::Int(next)))
                    }
                    (Kind::Idempotency, _) => {
                        let id = rng.below(n as u64 / 3 + 1) as i64;
                        (
                            "insert",
                            Value::List(vec![Value::Str(format!("req-{id}")), Value::Int(id)]),
                        )
                    }
                };
                let op = placed(
                    Op::new(OpType::Invoke, Process::Client(p), f, value.clone()),
                    &node(p),
                );
                push(&mut ops, op);
                open[slot] = Some((f.to_owned(), value));
            }
            None => {}
            Some((f, value)) => {
                let is_read = f == "read";
                let roll = rng.below(100);
                let (outcome, applied) = if roll < 80 || (is_read && roll < 90) {
                    (OpType::Ok, true)
                } else if roll < 90 {
                    (OpType::Fail, false)
                } else {
                    // Indeterminate: it may or may not have happened.
                    (OpType::Info, !is_read && rng.below(2) == 0)
                };
                // A cas whose old value is not the register's fails, and changes nothing.
                let cas_holds = f != "cas" || model.cas_holds(&value);
                let (outcome, applied) = match (cas_holds, outcome) {
                    (false, OpType::Ok) => (OpType::Fail, false),
                    (false, o) => (o, false),
                    (true, o) => (o, applied),
                };
                let done = if applied {
                    model.apply(kind, &f, &value)
                } else {
                    value.clone()
                };
                let outcome = if is_read && outcome == OpType::Info {
                    OpType::Fail
                } else {
                    outcome
                };
                let op = placed(
                    Op::new(outcome, Process::Client(p), f.as_str(), done),
                    &node(p),
                );
                push(&mut ops, op);
                if outcome == OpType::Info {
                    pids[slot] += procs;
                }
            }
        }
    }
    if !shape.finals {
        return ops;
    }
    let reads: Vec<Value> = match kind {
        Kind::Set | Kind::Counter => vec![Value::Nil],
        Kind::List | Kind::Register => (0..KEYS).map(|k| kv(k, Value::Nil)).collect(),
        Kind::Idempotency => Vec::new(),
    };
    for i in 0..NODES {
        let p = Process::Client(10_000 + i as u64);
        let name = format!("n{}", i + 1);
        for r in &reads {
            push(
                &mut ops,
                placed(Op::new(OpType::Invoke, p.clone(), "read", r.clone()), &name).marked_final(),
            );
            let done = model.apply(kind, "read", r);
            push(
                &mut ops,
                placed(Op::new(OpType::Ok, p.clone(), "read", done), &name).marked_final(),
            );
        }
    }
    ops
}

fn checkers_of(kind: Kind) -> &'static [&'static str] {
    match kind {
        Kind::Set => &["set", "convergence", "session"],
        Kind::List => &["session", "convergence"],
        Kind::Counter => &["counter", "convergence", "session"],
        Kind::Register => &["register", "session"],
        Kind::Idempotency => &["idempotency"],
    }
}

fn judge(kind: Kind, ops: &[Op]) -> Vec<CheckResult> {
    let checkers = checkers_of(kind)
        .iter()
        .map(|n| by_name(n).unwrap())
        .collect();
    check(checkers, ops).expect("the history pairs").results
}

fn flagged(results: &[CheckResult], checker: &str, kind: &str) -> bool {
    results.iter().any(|r| {
        r.checker == checker && r.valid == Validity::False && r.anomaly_counts.contains_key(kind)
    })
}

fn kinds() -> impl Strategy<Value = Kind> {
    prop_oneof![
        Just(Kind::Set),
        Just(Kind::List),
        Just(Kind::Counter),
        Just(Kind::Register),
        Just(Kind::Idempotency),
    ]
}

/// The read ops (completions) of a history, with their invocation.
fn reads(ops: &[Op]) -> Vec<(usize, usize)> {
    let mut open: BTreeMap<Process, usize> = BTreeMap::new();
    let mut out = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        match op.kind {
            OpType::Invoke => {
                open.insert(op.process.clone(), i);
            }
            _ => {
                if let Some(inv) = open.remove(&op.process)
                    && &*op.f == "read"
                    && op.kind == OpType::Ok
                {
                    out.push((inv, i));
                }
            }
        }
    }
    out
}

/// The elements of a collection read, keyed or not.
fn held(v: &Value) -> Vec<i64> {
    let items = match v.as_seq() {
        Some([Value::Int(_), Value::List(items)]) => items.clone(),
        Some(items) => items.to_vec(),
        None => Vec::new(),
    };
    items.iter().filter_map(Value::as_int).collect()
}

fn set_held(v: &mut Value, xs: Vec<i64>) {
    let list = int_list(&xs);
    match v {
        Value::List(parts) if parts.len() == 2 && matches!(parts[1], Value::List(_)) => {
            parts[1] = list
        }
        other => *other = list,
    }
}

/// Acknowledged writes: (invocation index, ack index, process, element).
fn acked_writes(ops: &[Op]) -> Vec<(usize, usize, Process, i64)> {
    let mut open: BTreeMap<Process, usize> = BTreeMap::new();
    let mut out = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        if op.kind == OpType::Invoke {
            open.insert(op.process.clone(), i);
        } else if let Some(inv) = open.remove(&op.process)
            && op.kind == OpType::Ok
            && matches!(&*op.f, "add" | "append" | "write")
        {
            let x = match op.value.as_seq() {
                Some([_, x]) => x.as_int(),
                _ => op.value.as_int(),
            };
            out.push((inv, i, op.process.clone(), x.unwrap_or(0)));
        }
    }
    out
}

proptest! {
    // The properties that assume a shape (prop_assume!) reject most histories: the bound on
    // rejects is raised so that a run never fails for having drawn too many of them.
    #![proptest_config(ProptestConfig { max_global_rejects: 1_000_000, ..ProptestConfig::with_cases(300) })]

    #[test]
    fn a_feed_of_shared_ops_judges_as_a_feed_of_borrowed_ones(kind in kinds(), seed in any::<u64>(), n in 1usize..120, procs in 1u64..6, shape in shapes()) {
        // Invocations kept by reference (rift check's threads) or by copy: the same verdicts.
        let ops = history_shaped(kind, seed, n, procs, shape);
        let feed = |shared: bool| {
            let checkers = checkers_of(kind).iter().map(|n| by_name(n).unwrap()).collect();
            let mut feed = checkers::Feed::new(checkers);
            for op in &ops {
                if shared {
                    feed.push_shared(&std::sync::Arc::new(op.clone())).unwrap();
                } else {
                    feed.push(op).unwrap();
                }
            }
            serde_json::to_string(&feed.finish().results).unwrap()
        };
        prop_assert_eq!(feed(true), feed(false));
    }

    #[test]
    fn linearizable_histories_are_never_flagged(kind in kinds(), seed in any::<u64>(), n in 1usize..120, procs in 1u64..6, shape in shapes()) {
        let ops = history_shaped(kind, seed, n, procs, shape);
        for r in judge(kind, &ops) {
            prop_assert!(r.valid != Validity::False, "{kind:?} {shape:?} {}: {} {:?}", r.checker, r.summary, r.anomalies);
        }
    }

    #[test]
    fn repeated_register_values_and_cas_are_not_judged_rather_than_misjudged(seed in any::<u64>(), n in 10usize..80, finals in any::<bool>(), nodes in any::<bool>()) {
        // Values from 0 to 2 repeat in any history this long. The register checker cannot tell
        // which write a read saw once a key is written the same value twice (a `cas [old new]`
        // writes `new`), and says so (n/a); with every written value unique per key it judges,
        // and a linearizable history is never `false`. The session checker reads no `cas` and
        // needs unique values: either makes it n/a.
        let shape = Shape { finals, nodes, repeated: true };
        let ops = history_shaped(Kind::Register, seed, n, 3, shape);
        let mut written = BTreeSet::new();
        let mut repeats = false;
        let mut cas = false;
        for o in ops.iter().filter(|o| o.kind == OpType::Invoke) {
            let Some([key, v]) = o.value.as_seq() else { continue };
            let new = match &*o.f {
                "write" => v.clone(),
                "cas" => {
                    cas = true;
                    v.as_seq().expect("cas [old new]")[1].clone()
                }
                _ => continue,
            };
            repeats |= !written.insert(format!("{key:?} {new:?}"));
        }
        prop_assume!(repeats || cas);
        for r in judge(Kind::Register, &ops) {
            prop_assert!(r.valid != Validity::False, "{}: {} {:?}", r.checker, r.summary, r.anomalies);
            let unjudgeable = match r.checker.as_str() {
                "register" => repeats,
                _ => true,
            };
            if unjudgeable {
                prop_assert!(!r.applicable, "{}: {} {:?}", r.checker, r.summary, r.anomalies);
                prop_assert!(r.summary.contains("not judged"), "{}: {}", r.checker, r.summary);
            } else {
                prop_assert!(r.applicable, "{}: {}", r.checker, r.summary);
            }
        }
    }

    #[test]
    fn one_lost_element_is_flagged_lost(seed in any::<u64>(), n in 10usize..80, nodes in any::<bool>()) {
        let shape = Shape { nodes, ..RIFT };
        let mut ops = history_shaped(Kind::Set, seed, n, 3, shape);
        let acked = acked_writes(&ops);
        prop_assume!(!acked.is_empty());
        let x = acked[seed as usize % acked.len()].3;
        for op in ops.iter_mut().filter(|o| o.is_final && o.kind == OpType::Ok) {
            let xs = held(&op.value).into_iter().filter(|&e| e != x).collect();
            set_held(&mut op.value, xs);
        }
        prop_assert!(flagged(&judge(Kind::Set, &ops), "set", "lost"));
    }

    #[test]
    fn without_final_reads_the_last_read_judges_what_was_acknowledged_before_it(seed in any::<u64>(), n in 10usize..80, nodes in any::<bool>()) {
        // Jepsen's set histories: no final reads. An element acknowledged before the last read
        // began, dropped from it, is lost; one acknowledged after it began is not judged by it.
        let shape = Shape { finals: false, nodes, repeated: false };
        let mut ops = history_shaped(Kind::Set, seed, n, 3, shape);
        let reads = reads(&ops);
        let acked = acked_writes(&ops);
        prop_assume!(!reads.is_empty());
        let (inv, done) = *reads.last().unwrap();
        let before: Vec<i64> = acked.iter().filter(|a| a.1 < inv).map(|a| a.3).collect();
        prop_assume!(!before.is_empty());
        let x = before[seed as usize % before.len()];
        let xs = held(&ops[done].value).into_iter().filter(|&e| e != x).collect();
        set_held(&mut ops[done].value, xs);
        let results = judge(Kind::Set, &ops);
        prop_assert!(flagged(&results, "set", "lost"), "{:?}", results.iter().find(|r| r.checker == "set"));
    }

    #[test]
    fn one_divergent_replica_is_flagged(kind in prop_oneof![Just(Kind::Set), Just(Kind::List), Just(Kind::Counter)], seed in any::<u64>(), n in 10usize..80) {
        let mut ops = history(kind, seed, n, 3);
        let last = ops.len() - 1;
        match kind {
            Kind::Counter => ops[last].value = Value::Int(-1),
            _ => {
                let mut xs = held(&ops[last].value);
                xs.push(1_000_000);
                set_held(&mut ops[last].value, xs);
            }
        }
        prop_assert!(flagged(&judge(kind, &ops), "convergence", "divergent"));
    }

    #[test]
    fn session_anomalies_are_flagged_by_name(kind in prop_oneof![Just(Kind::Set), Just(Kind::List)], seed in any::<u64>(), n in 20usize..120, which in 0usize..4) {
        let mut ops = history(kind, seed, n, 3);
        let reads = reads(&ops);
        let acked = acked_writes(&ops);
        let key_of = |v: &Value| match v.as_seq() { Some([k, _]) => k.as_int(), _ => None };
        // (read completion to change, element to remove, guarantee expected)
        let mut target: Option<(usize, i64, &str)> = None;
        'search: for &(inv, done) in reads.iter().filter(|(_, d)| !ops[*d].is_final) {
            let holds = held(&ops[done].value);
            let reader = &ops[done].process;
            let key = key_of(&ops[inv].value);
            let same_key = |w: usize| key_of(&ops[w].value) == key;
            match which {
                // Its own acknowledged write, removed from its own later read.
                0 => for (_, ack, p, x) in &acked {
                    if p == reader && *ack < inv && same_key(*ack) && holds.contains(x) {
                        target = Some((done, *x, "read-your-writes"));
                        break 'search;
                    }
                },
                // Something an earlier read of the same session held.
                1 => for &(inv0, done0) in &reads {
                    if done0 < inv && &ops[done0].process == reader && key_of(&ops[inv0].value) == key
                        && let Some(&x) = held(&ops[done0].value).iter().find(|x| holds.contains(x))
                    {
                        target = Some((done, x, "monotonic-reads"));
                        break 'search;
                    }
                },
                // A session's earlier write, held with a later one of that session.
                2 => for (i, (_, ack1, p1, x1)) in acked.iter().enumerate() {
                    if !holds.contains(x1) || !same_key(*ack1) { continue; }
                    if acked[i + 1..].iter().any(|(inv2, _, p2, x2)| p2 == p1 && inv2 > ack1 && same_key(*inv2) && holds.contains(x2)) {
                        target = Some((done, *x1, "monotonic-writes"));
                        break 'search;
                    }
                },
                // What a session read before writing, held with that write.
                _ => for (inv2, _, p2, x2) in &acked {
                    if !holds.contains(x2) || !same_key(*inv2) { continue; }
                    for &(inv0, done0) in &reads {
                        if &ops[done0].process == p2 && done0 < *inv2 && key_of(&ops[inv0].value) == key
                            && let Some(&x) = held(&ops[done0].value).iter().find(|x| holds.contains(x))
                        {
                            target = Some((done, x, "writes-follow-reads"));
                            break 'search;
                        }
                    }
                },
            }
        }
        prop_assume!(target.is_some());
        let (done, x, guarantee) = target.unwrap();
        let xs = held(&ops[done].value).into_iter().filter(|&e| e != x).collect();
        set_held(&mut ops[done].value, xs);
        let results = judge(kind, &ops);
        prop_assert!(flagged(&results, "session", guarantee), "{guarantee}: {:?}", results.iter().find(|r| r.checker == "session"));
    }

    #[test]
    fn counter_reads_out_of_bounds_are_flagged(seed in any::<u64>(), n in 10usize..80, high in any::<bool>()) {
        let mut ops = history(Kind::Counter, seed, n, 3);
        let reads = reads(&ops);
        let acked = acked_writes(&ops);
        let (expected, target) = if high {
            ("read-above-attempted", reads.first().map(|r| (r.1, i64::MAX / 2)))
        } else {
            // A final read that lags is judged with the other observers' (lost or divergent).
            ("read-below-acknowledged", reads.iter().find(|(inv, done)| !ops[*done].is_final && acked.iter().any(|a| a.1 < *inv)).map(|r| (r.1, -1)))
        };
        prop_assume!(target.is_some());
        let (done, v) = target.unwrap();
        ops[done].value = Value::Int(v);
        prop_assert!(flagged(&judge(Kind::Counter, &ops), "counter", expected));
    }

    #[test]
    fn an_older_value_surviving_is_a_lost_update(seed in any::<u64>(), n in 10usize..80) {
        let mut ops = history(Kind::Register, seed, n, 3);
        let acked = acked_writes(&ops);
        // A acknowledged, then B invoked after A's ack and acknowledged, both on one key.
        let key_of = |i: usize| ops[i].value.as_seq().and_then(|p| p[0].as_int());
        let pair = acked.iter().find_map(|a| {
            acked.iter().find(|b| b.0 > a.1 && key_of(b.0) == key_of(a.0)).map(|_| (key_of(a.0), a.3))
        });
        prop_assume!(pair.is_some());
        let (key, old) = pair.unwrap();
        for op in ops.iter_mut().filter(|o| o.is_final && o.kind == OpType::Ok) {
            if op.value.as_seq().and_then(|p| p[0].as_int()) == key {
                op.value = kv(key.unwrap(), Value::Int(old));
            }
        }
        prop_assert!(flagged(&judge(Kind::Register, &ops), "register", "lost-update"));
    }

    #[test]
    fn a_second_creation_is_a_duplicate(seed in any::<u64>(), n in 10usize..80) {
        let mut ops = history(Kind::Idempotency, seed, n, 3);
        let answered = |o: &Op, what: &str| o.kind == OpType::Ok && o.value.as_seq().is_some_and(|v| v[1].as_str() == Some(what));
        // An id answered `exists` after an acknowledged creation of it.
        let exists = ops.iter().enumerate().position(|(i, o)| {
            answered(o, "exists") && ops[..i].iter().any(|c| answered(c, "created") && c.value.as_seq().unwrap()[0] == o.value.as_seq().unwrap()[0])
        });
        prop_assume!(exists.is_some());
        let i = exists.unwrap();
        let id = ops[i].value.as_seq().unwrap()[0].clone();
        ops[i].value = Value::List(vec![id, Value::from("created")]);
        prop_assert!(flagged(&judge(Kind::Idempotency, &ops), "idempotency", "duplicate-creation"));
    }
}
