//! `counter`: increments (`add d`, or `add [k d]`) and reads of counters.
//!
//! A read may observe any subset of the increments that could have happened before it ended,
//! and must observe every increment acknowledged before it began. So, per key, a read must fall
//! within [lower, upper], where lower counts the positive increments acknowledged before the read
//! was invoked (and every negative one that may have happened), and upper counts the positive
//! increments invoked before the read completed and not known to have failed (and only the
//! negative ones acknowledged). Indeterminate increments widen the range. Final reads must also
//! agree across nodes (`final-reads-differ`).
//!
//! One pass in constant memory per key and per open op.

use crate::Event;
use crate::util::{Findings, Keys, key_label, split_keyed};
use crate::{CheckResult, Checker, Validity};
use history::{OpType, Process, Sym};
use rustc_hash::FxHashMap;
use serde_json::json;
use std::collections::BTreeMap;

#[derive(Debug, Default, Clone, Copy)]
struct Bounds {
    lower: i128,
    upper: i128,
}

#[derive(Debug, Default)]
pub struct Counter {
    keys: Keys,
    bounds: Vec<Bounds>,
    /// Open reads: the lower bound when they were invoked.
    lower_at_invoke: FxHashMap<Process, i128>,
    reads: u64,
    increments: u64,
    /// Per (key, observer), the last final read: (index, value, lower bound when invoked).
    finals: BTreeMap<(u32, crate::util::Observer), (u64, i64, i128)>,
    /// Per key, the last read (final or not): what stands in for final reads without them.
    last_read: FxHashMap<u32, (u64, i64, i128)>,
    findings: Findings,
}

impl Counter {
    fn key(&mut self, key: &history::Value) -> usize {
        self.keys.slot(key, &mut self.bounds)
    }
}

impl Checker for Counter {
    fn name(&self) -> &'static str {
        "counter"
    }

    fn observe(&mut self, event: &Event<'_>) {
        match *event {
            Event::Invoke(op) => {
                let (key, inner) = split_keyed(&op.value);
                match &*op.f {
                    "add" => {
                        if let Some(d) = inner.as_int() {
                            let id = self.key(&key);
                            let b = &mut self.bounds[id];
                            // It may happen from now on.
                            if d > 0 {
                                b.upper += i128::from(d);
                            } else {
                                b.lower += i128::from(d);
                            }
                        }
                    }
                    "read" => {
                        let id = self.key(&key);
                        let lower = self.bounds[id].lower;
                        self.lower_at_invoke.insert(op.process.clone(), lower);
                    }
                    _ => {}
                }
            }
            Event::Complete { invoked, op } => {
                let lower_at_invoke = self.lower_at_invoke.remove(&op.process);
                let (key, inner) = split_keyed(invoked.value);
                let keyed = !key.is_nil();
                let id = self.key(&key);
                match (&*op.f, op.kind) {
                    ("add", kind) => {
                        let Some(d) = inner.as_int() else { return };
                        let d = i128::from(d);
                        let b = &mut self.bounds[id];
                        match kind {
                            // It happened: now it must be seen.
                            OpType::Ok if d > 0 => b.lower += d,
                            OpType::Ok => b.upper += d,
                            // It did not happen: take back what was allowed for it.
                            OpType::Fail if d > 0 => b.upper -= d,
                            OpType::Fail => b.lower -= d,
                            _ => {}
                        }
                        if kind == OpType::Ok {
                            self.increments += 1;
                        }
                    }
                    ("read", OpType::Ok) => {
                        let value = if keyed {
                            split_keyed(&op.value).1.as_int()
                        } else {
                            op.value.as_int()
                        };
                        let Some(value) = value else { return };
                        self.reads += 1;
                        let lower = lower_at_invoke.unwrap_or(i128::MIN);
                        let upper = self.bounds[id].upper;
                        let label = key_label(self.keys.value(id as u32));
                        let (at, read) = (invoked.index, op.index);
                        let v = i128::from(value);
                        // A final read reads one replica while they converge: judged below,
                        // with the other observers' (a loss only if every one misses it).
                        if v < lower && !op.is_final {
                            self.findings.note("read-below-acknowledged", vec![at, read], || {
                                format!(
                                    "Read op {read} of the counter{label} returned {value}, but \
                                     increments totalling {lower} had been acknowledged before it \
                                     began (op {at}): acknowledged increments are missing."
                                )
                            });
                        } else if v > upper {
                            self.findings.note("read-above-attempted", vec![read], || {
                                format!(
                                    "Read op {read} of the counter{label} returned {value}, more \
                                     than the {upper} that all increments attempted so far could \
                                     make."
                                )
                            });
                        }
                        if op.is_final {
                            self.finals.insert(
                                (id as u32, crate::util::Observer::of(op)),
                                (read, value, lower),
                            );
                        }
                        self.last_read.insert(id as u32, (read, value, lower));
                    }
                    _ => {}
                }
            }
            Event::Unfinished(_) | Event::Other(_) => {}
        }
    }

    fn finish(self: Box<Self>) -> CheckResult {
        let Counter {
            keys,
            reads,
            increments,
            finals,
            last_read,
            mut findings,
            bounds,
            ..
        } = *self;
        for key in 0..keys.len() as u32 {
            let last: Vec<(&crate::util::Observer, u64, i64, i128)> = finals
                .range((key, crate::util::Observer::Node(Sym::from("")))..)
                .take_while(|((k, _), _)| *k == key)
                .map(|((_, node), (i, v, lower))| (node, *i, *v, *lower))
                .collect();
            // Lost: every observer's final read (without final reads, the last read) misses
            // increments acknowledged before it began.
            let judged: Vec<(u64, i64, i128)> = match last.is_empty() {
                true => last_read.get(&key).copied().into_iter().collect(),
                false => last.iter().map(|l| (l.1, l.2, l.3)).collect(),
            };
            if !judged.is_empty() && judged.iter().all(|(_, v, lower)| i128::from(*v) < *lower) {
                let label = key_label(keys.value(key));
                let what = if last.is_empty() {
                    "the last read of the history"
                } else {
                    "every observer's final read"
                };
                findings.note("lost", judged.iter().map(|j| j.0).collect(), || {
                    let each: Vec<String> = judged
                        .iter()
                        .map(|(i, v, lower)| {
                            format!("op {i} read {v} where {lower} had been acknowledged")
                        })
                        .collect();
                    format!(
                        "Acknowledged increments of the counter{label} are lost: {what} misses \
                         some ({}).",
                        each.join("; ")
                    )
                });
            }
            if last.windows(2).any(|w| w[0].2 != w[1].2) {
                let label = key_label(keys.value(key));
                findings.note(
                    "final-reads-differ",
                    last.iter().map(|l| l.1).collect(),
                    || {
                        let each: Vec<String> = last
                            .iter()
                            .map(|(n, i, v, _)| format!("{n} read {v} (op {i})"))
                            .collect();
                        format!(
                            "After the heal the nodes' final reads of the counter{label} differ: {}.",
                            each.join(", ")
                        )
                    },
                );
            }
        }
        let found = findings.total();
        let valid = if found > 0 {
            Validity::False
        } else if reads == 0 {
            Validity::Unknown
        } else {
            Validity::True
        };
        let summary = match valid {
            Validity::False => format!(
                "{found} of {reads} reads out of bounds: {}",
                findings.describe()
            ),
            Validity::Unknown => "no read ever succeeded: nothing can be inferred".to_owned(),
            Validity::True => {
                format!("all {reads} reads within bounds ({increments} acknowledged increments)")
            }
        };
        let mut result = CheckResult::new("counter", valid, summary);
        let finals_json: BTreeMap<String, i64> = finals
            .iter()
            .map(|((k, node), (_, v, _))| {
                let label = key_label(keys.value(*k));
                (format!("{node}{label}"), *v)
            })
            .collect();
        let final_bounds: Vec<serde_json::Value> = bounds
            .iter()
            .map(|b| json!([b.lower as f64, b.upper as f64]))
            .collect();
        for (k, v) in [
            ("reads", json!(reads)),
            ("acknowledged-increments", json!(increments)),
            ("final-reads", json!(finals_json)),
            ("final-bounds", json!(final_bounds)),
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
    use crate::testing::{count, h, pair, run};
    use history::OpType::*;
    use history::Value;

    fn counter(rows: &[crate::testing::Row]) -> CheckResult {
        run(Box::new(Counter::default()), &h(rows))
    }

    fn read(p: u64, v: i64) -> [crate::testing::Row; 2] {
        pair(p, Ok, "read", Value::Nil, Value::Int(v))
    }

    #[test]
    fn reads_within_bounds_are_valid() {
        let mut rows = Vec::new();
        rows.extend(pair(0, Ok, "add", Value::Int(1), Value::Int(1)));
        rows.extend(read(1, 1));
        // An indeterminate increment may or may not be seen.
        rows.extend(pair(0, Info, "add", Value::Int(1), Value::Int(1)));
        rows.extend(read(1, 2));
        rows.extend(read(1, 1));
        let r = counter(&rows);
        assert_eq!(r.valid, Validity::True, "{}", r.summary);
    }

    #[test]
    fn a_read_missing_an_acknowledged_increment_is_below() {
        let mut rows = Vec::new();
        rows.extend(pair(0, Ok, "add", Value::Int(3), Value::Int(3)));
        rows.extend(read(1, 2));
        let r = counter(&rows);
        assert_eq!(count(&r, "read-below-acknowledged"), 1);
        let below = r
            .anomalies
            .iter()
            .find(|a| a.kind == "read-below-acknowledged");
        assert_eq!(below.unwrap().ops, vec![2, 3]);
        // Without final reads the last read stands in for them: the increment is lost.
        assert_eq!(count(&r, "lost"), 1, "{:?}", r.anomalies);
        // A read concurrent with the increment may miss it.
        let rows = [
            (1, Invoke, "read", Value::Nil, "n1", false),
            (0, Invoke, "add", Value::Int(3), "n1", false),
            (0, Ok, "add", Value::Int(3), "n1", false),
            (1, Ok, "read", Value::Int(0), "n1", false),
        ];
        assert_eq!(counter(&rows).valid, Validity::True);
    }

    #[test]
    fn final_reads_lose_an_increment_only_when_every_observer_misses_it() {
        // Final reads carry no node: each process is its own observer.
        let fin = |p: u64, v: i64| -> [crate::testing::Row; 2] {
            [
                (p, Invoke, "read", Value::Nil, "", true),
                (p, Ok, "read", Value::Int(v), "", true),
            ]
        };
        let mut rows = Vec::new();
        rows.extend(pair(0, Ok, "add", Value::Int(3), Value::Int(3)));
        rows.extend(fin(1, 3));
        rows.extend(fin(2, 0));
        let r = counter(&rows);
        assert_eq!(count(&r, "lost"), 0, "{:?}", r.anomalies);
        assert_eq!(count(&r, "final-reads-differ"), 1);
        // A final read lagging behind is not a real-time violation of its own.
        assert_eq!(count(&r, "read-below-acknowledged"), 0);

        let mut rows = Vec::new();
        rows.extend(pair(0, Ok, "add", Value::Int(3), Value::Int(3)));
        rows.extend(fin(1, 0));
        rows.extend(fin(2, 0));
        let r = counter(&rows);
        assert_eq!(count(&r, "lost"), 1, "{:?}", r.anomalies);
        assert_eq!(r.valid, Validity::False);
    }

    #[test]
    fn a_read_above_every_attempt_and_failed_increments_are_caught() {
        let mut rows = Vec::new();
        rows.extend(pair(0, Fail, "add", Value::Int(1), Value::Int(1)));
        rows.extend(read(1, 1));
        let r = counter(&rows);
        assert_eq!(count(&r, "read-above-attempted"), 1, "{:?}", r.anomalies);
        let mut rows = Vec::new();
        rows.extend(pair(0, Ok, "add", Value::Int(1), Value::Int(1)));
        rows.extend(read(1, 1));
        assert_eq!(counter(&rows).valid, Validity::True);
    }

    #[test]
    fn final_reads_must_agree_across_nodes() {
        let mut rows = Vec::new();
        rows.extend(pair(0, Info, "add", Value::Int(1), Value::Int(1)));
        rows.extend([
            (5, Invoke, "read", Value::Nil, "n1", true),
            (5, Ok, "read", Value::Int(1), "n1", true),
            (6, Invoke, "read", Value::Nil, "n2", true),
            (6, Ok, "read", Value::Int(0), "n2", true),
        ]);
        let r = counter(&rows);
        assert_eq!(count(&r, "final-reads-differ"), 1, "{}", r.summary);
        assert!(r.anomalies[0].explanation.contains("n2 read 0 (op 5)"));
        rows[5].3 = Value::Int(1);
        assert_eq!(counter(&rows).valid, Validity::True);
    }

    #[test]
    fn final_reads_without_nodes_are_each_their_processs_and_must_agree() {
        let mut rows = Vec::new();
        rows.extend(pair(0, Info, "add", Value::Int(1), Value::Int(1)));
        rows.extend([
            (5, Invoke, "read", Value::Nil, "", true),
            (5, Ok, "read", Value::Int(1), "", true),
            (6, Invoke, "read", Value::Nil, "", true),
            (6, Ok, "read", Value::Int(0), "", true),
        ]);
        let r = counter(&rows);
        assert_eq!(count(&r, "final-reads-differ"), 1, "{}", r.summary);
        assert!(
            r.anomalies[0].explanation.contains("process 6 read 0"),
            "{}",
            r.anomalies[0].explanation
        );
    }

    #[test]
    fn keyed_counters_are_judged_apart() {
        let mut rows = Vec::new();
        let kv = crate::testing::kv;
        rows.extend(pair(
            0,
            Ok,
            "add",
            kv(1, Value::Int(5)),
            kv(1, Value::Int(5)),
        ));
        rows.extend(pair(1, Ok, "read", kv(2, Value::Nil), kv(2, Value::Int(0))));
        assert_eq!(counter(&rows).valid, Validity::True);
        rows.extend(pair(1, Ok, "read", kv(1, Value::Nil), kv(1, Value::Int(0))));
        let r = counter(&rows);
        assert_eq!(count(&r, "read-below-acknowledged"), 1);
        assert!(r.anomalies[0].explanation.contains("counter of key 1"));
    }
}
