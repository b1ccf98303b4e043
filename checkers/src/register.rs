//! `register`: lost updates on registers written with unique values (`write v`, `read` → `v`,
//! or keyed: `write [k v]`, `read [k nil]` → `[k v]`; a `cas [old new]` that completed ok wrote
//! `new`). A history that writes a value twice (Jepsen's small register values) is not judged
//! here (`n/a`, with the value named): without unique values a read cannot say which write it
//! saw.
//!
//! After the heal a key's final reads show one value, written by some write A (or no write:
//! `nil`). Every acknowledged write B that began after A had completed — B follows A in real
//! time — and was acknowledged before the read began should have replaced A. When A survives
//! instead, B is `lost-update`: overwritten by an older write, as last-write-wins does when the
//! node that took A had its clock ahead; or B vanished while an older value stayed. A read of a
//! value no write attempted is `unexpected-value`.
//!
//! An indeterminate write is in effect from the first read that returned its value.
//! Judged: each node's last final read of each key; without final reads, each key's last read.
//! Memory: a few words per write; reads other than the judged ones leave nothing behind.

use crate::Event;
use crate::util::{Findings, Keys, key_label, split_keyed};
use crate::{CheckResult, Checker, Validity};
use history::{OpType, Value};
use rustc_hash::{FxHashMap, FxHashSet};
use serde_json::json;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Copy)]
struct Write {
    invoke: u64,
    /// Index of the `ok` completion, if acknowledged. An indeterminate write may take effect
    /// at any time after its invocation, so it has no completion to order by.
    ack: Option<u64>,
    /// The first read that returned its value: by then it had taken effect.
    seen: Option<u64>,
}

#[derive(Debug, Clone, Copy)]
struct Read {
    invoke: u64,
    index: u64,
    value: Option<i64>,
}

#[derive(Debug, Default)]
struct KeyState {
    writes: FxHashMap<i64, Write>,
    /// Acknowledged writes by invocation index: (invoke, ack, value).
    acked: Vec<(u64, u64, i64)>,
    last_final: BTreeMap<crate::util::Observer, Read>,
    last_read: Option<Read>,
}

#[derive(Debug, Default)]
pub struct Register {
    keys: Keys,
    per_key: Vec<KeyState>,
    reads: u64,
    writes_acked: u64,
    findings: Findings,
    /// The first value written twice (key, value, op): unique values are what this checker's
    /// reasoning needs, so such a history is not judged here.
    repeated: Option<(Value, i64, u64)>,
}

impl Register {
    fn key(&mut self, key: &Value) -> usize {
        self.keys.slot(key, &mut self.per_key)
    }
}

/// The value a `write v` or a `cas [old new]` writes (`new`), if it is an integer.
fn written(f: &str, v: &Value) -> Option<i64> {
    match f {
        "write" => v.as_int(),
        "cas" => v.as_seq().filter(|p| p.len() == 2)?[1].as_int(),
        _ => None,
    }
}

/// A `cas` is `[old new]`, or keyed `[k [old new]]`.
fn cas_parts(v: &Value) -> (Value, Value) {
    match v.as_seq() {
        Some([k, pair]) if pair.as_seq().is_some() => (k.clone(), pair.clone()),
        _ => (Value::Nil, v.clone()),
    }
}

/// The key and what an op of `f` carries.
fn parts(f: &str, invocation: &Value) -> (Value, Value) {
    if f == "cas" {
        cas_parts(invocation)
    } else {
        inner(invocation, invocation)
    }
}

/// `[k v]` when the invocation was keyed, else the value itself.
fn inner(invocation: &Value, value: &Value) -> (Value, Value) {
    let (key, _) = split_keyed(invocation);
    if key.is_nil() {
        (key, value.clone())
    } else {
        (key, split_keyed(value).1.clone())
    }
}

impl Checker for Register {
    fn name(&self) -> &'static str {
        "register"
    }

    fn observe(&mut self, event: &Event<'_>) {
        match *event {
            Event::Invoke(op) => {
                let (key, v) = parts(&op.f, &op.value);
                if let Some(v) = written(&op.f, &v) {
                    let id = self.key(&key);
                    let fresh = Write {
                        invoke: op.index,
                        ack: None,
                        seen: None,
                    };
                    if self.per_key[id].writes.insert(v, fresh).is_some() {
                        self.repeated.get_or_insert((key, v, op.index));
                    }
                }
            }
            Event::Complete { invoked, op } => match (&*op.f, op.kind) {
                // A cas that completed ok wrote its new value; one that failed wrote nothing.
                ("write" | "cas", OpType::Ok) => {
                    let (key, v) = parts(&op.f, invoked.value);
                    let Some(v) = written(&op.f, &v) else { return };
                    let id = self.key(&key);
                    let state = &mut self.per_key[id];
                    if let Some(w) = state.writes.get_mut(&v) {
                        w.ack = Some(op.index);
                        state.acked.push((w.invoke, op.index, v));
                        self.writes_acked += 1;
                    }
                }
                ("read", OpType::Ok) => {
                    let (key, v) = inner(invoked.value, &op.value);
                    let value = match v {
                        Value::Nil => None,
                        v => match v.as_int() {
                            Some(v) => Some(v),
                            None => return,
                        },
                    };
                    self.reads += 1;
                    let id = self.key(&key);
                    let read = Read {
                        invoke: invoked.index,
                        index: op.index,
                        value,
                    };
                    let label = key_label(self.keys.value(id as u32));
                    let state = &mut self.per_key[id];
                    if let Some(v) = value
                        && !state.writes.contains_key(&v)
                    {
                        self.findings.note("unexpected-value", vec![op.index], || {
                            format!(
                                "Read op {} of the register{label} returned {v}, which no \
                                     write had attempted.",
                                op.index
                            )
                        });
                    }
                    if let Some(v) = value
                        && let Some(w) = state.writes.get_mut(&v)
                    {
                        w.seen.get_or_insert(op.index);
                    }
                    if op.is_final {
                        state.last_final.insert(crate::util::Observer::of(op), read);
                    } else {
                        state.last_read = Some(read);
                    }
                }
                _ => {}
            },
            Event::Unfinished(_) | Event::Other(_) => {}
        }
    }

    fn finish(self: Box<Self>) -> CheckResult {
        if let Some((key, v, at)) = &self.repeated {
            let label = key_label(key);
            return CheckResult::not_applicable(
                "register",
                format!(
                    "not judged: {v} is written to the register{label} more than once (op {at});                      lost updates can only be told apart with unique values — check such a                      history for linearizability instead"
                ),
            );
        }
        let Register {
            keys,
            per_key,
            reads,
            writes_acked,
            mut findings,
            ..
        } = *self;
        let any_final = per_key.iter().any(|k| !k.last_final.is_empty());
        let mut lost_total = 0u64;
        for (id, state) in per_key.iter().enumerate() {
            let label = key_label(keys.value(id as u32));
            let judged: Vec<Read> = if any_final {
                state.last_final.values().copied().collect()
            } else {
                state.last_read.iter().copied().collect()
            };
            let mut lost: FxHashSet<i64> = FxHashSet::default();
            for read in judged {
                // The write whose value survived: when did it complete?
                let survivor = match read.value {
                    None => Some((None, 0u64)),
                    Some(a) => state.writes.get(&a).and_then(|w| {
                        // In effect by its ack, or by the first read that showed it.
                        let done = match (w.ack, w.seen) {
                            (Some(a), Some(s)) => Some(a.min(s)),
                            (a, s) => a.or(s),
                        };
                        done.map(|c| (Some((a, c)), c + 1))
                    }),
                };
                let Some((a, after)) = survivor else { continue };
                for &(invoke, ack, b) in &state.acked {
                    if invoke < after || ack > read.invoke || !lost.insert(b) {
                        continue;
                    }
                    let ops: Vec<u64> = match a {
                        Some((_, a_done)) => vec![a_done, invoke, ack, read.index],
                        None => vec![invoke, ack, read.index],
                    };
                    let which = if any_final { "final" } else { "last" };
                    let r = read.index;
                    findings.note("lost-update", ops, || match a {
                        Some((a, a_done)) => format!(
                            "The write of {b} to the register{label} began (op {invoke}) after the \
                             write of {a} had completed (op {a_done}) and was acknowledged (op \
                             {ack}), yet the {which} read op {r} returns {a}: the later write was \
                             overwritten by an older one (as last-write-wins does under clock \
                             skew), or vanished while the older value survived."
                        ),
                        None => format!(
                            "The write of {b} to the register{label} was acknowledged (op {ack}), \
                             yet the {which} read op {r} finds the register never written."
                        ),
                    });
                }
            }
            lost_total += lost.len() as u64;
        }
        let found = findings.total();
        let valid = if found > 0 {
            Validity::False
        } else if reads == 0 || writes_acked == 0 {
            Validity::Unknown
        } else {
            Validity::True
        };
        let summary = match valid {
            Validity::False => format!(
                "{lost_total} of {writes_acked} acknowledged writes lost ({})",
                findings.describe()
            ),
            Validity::Unknown => {
                "no acknowledged write and read to compare: nothing can be inferred".to_owned()
            }
            Validity::True => format!(
                "no acknowledged write lost to an older one ({writes_acked} writes, {reads} reads, {} keys)",
                keys.len()
            ),
        };
        let mut result = CheckResult::new("register", valid, summary);
        for (k, v) in [
            ("acknowledged-writes", json!(writes_acked)),
            ("reads", json!(reads)),
            ("keys", json!(keys.len())),
            ("lost-writes", json!(lost_total)),
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
    use crate::testing::{Row, count, h, ints, kv, pair, run};
    use history::OpType::*;

    fn register(rows: &[Row]) -> CheckResult {
        run(Box::new(Register::default()), &h(rows))
    }

    fn write(p: u64, v: i64) -> [Row; 2] {
        pair(p, Ok, "write", kv(0, Value::Int(v)), kv(0, Value::Int(v)))
    }

    fn final_read(p: u64, node: &'static str, v: Value) -> [Row; 2] {
        [
            (p, Invoke, "read", kv(0, Value::Nil), node, true),
            (p, Ok, "read", kv(0, v), node, true),
        ]
    }

    #[test]
    fn the_latest_write_surviving_is_valid() {
        let mut rows = Vec::new();
        rows.extend(write(0, 1));
        rows.extend(write(0, 2));
        rows.extend(final_read(5, "n1", Value::Int(2)));
        let r = register(&rows);
        assert_eq!(r.valid, Validity::True, "{}", r.summary);
    }

    #[test]
    fn an_older_write_surviving_a_later_acknowledged_one_is_a_lost_update() {
        let mut rows = Vec::new();
        rows.extend(write(0, 1));
        rows.extend(write(1, 2));
        rows.extend(final_read(5, "n1", Value::Int(1)));
        let r = register(&rows);
        assert_eq!(count(&r, "lost-update"), 1, "{}", r.summary);
        // A's completion, B's invocation, B's ack, the final read.
        assert_eq!(r.anomalies[0].ops, vec![1, 2, 3, 5]);
        assert!(
            r.anomalies[0]
                .explanation
                .contains("overwritten by an older one")
        );
    }

    #[test]
    fn a_final_read_without_a_node_still_judges_its_process_what_survived() {
        // Jepsen-style: no node on any op. The final read used to be dropped, and the lost
        // update with it.
        let mut rows = Vec::new();
        rows.extend(write(0, 1));
        rows.extend(write(1, 2));
        rows.extend(final_read(5, "", Value::Int(1)));
        let r = register(&rows);
        assert_eq!(count(&r, "lost-update"), 1, "{}", r.summary);
    }

    #[test]
    fn a_successful_cas_wrote_its_new_value_and_repeated_values_are_not_judged_here() {
        // cas [1 3] completed: 3 was written after 1; a final read of 1 loses it.
        let mut rows = Vec::new();
        rows.extend(write(0, 1));
        rows.extend(pair(
            1,
            Ok,
            "cas",
            kv(0, ints(&[1, 3])),
            kv(0, ints(&[1, 3])),
        ));
        rows.extend(final_read(5, "n1", Value::Int(1)));
        let r = register(&rows);
        assert_eq!(count(&r, "lost-update"), 1, "{}", r.summary);
        // A failed cas wrote nothing.
        rows[3].1 = Fail;
        assert_eq!(register(&rows).valid, Validity::True);
        // Knossos-style: unkeyed, small values written twice: n/a, never a wrong verdict.
        let knossos = [
            (0, Invoke, "write", Value::Int(1), "", false),
            (0, Ok, "write", Value::Int(1), "", false),
            (1, Invoke, "cas", ints(&[1, 2]), "", false),
            (1, Ok, "cas", ints(&[1, 2]), "", false),
            (0, Invoke, "write", Value::Int(1), "", false),
            (0, Ok, "write", Value::Int(1), "", false),
            (2, Invoke, "read", Value::Nil, "", false),
            (2, Ok, "read", Value::Int(1), "", false),
        ];
        let r = register(&knossos);
        assert!(!r.applicable, "{}", r.summary);
        assert!(
            r.summary
                .contains("1 is written to the register more than once"),
            "{}",
            r.summary
        );
    }

    #[test]
    fn concurrent_writes_may_land_in_either_order() {
        let rows = [
            (0, Invoke, "write", kv(0, Value::Int(1)), "n1", false),
            (1, Invoke, "write", kv(0, Value::Int(2)), "n2", false),
            (1, Ok, "write", kv(0, Value::Int(2)), "n2", false),
            (0, Ok, "write", kv(0, Value::Int(1)), "n1", false),
            (5, Invoke, "read", kv(0, Value::Nil), "n1", true),
            (5, Ok, "read", kv(0, Value::Int(1)), "n1", true),
        ];
        assert_eq!(register(&rows).valid, Validity::True);
        let mut rows = rows.to_vec();
        rows[5].3 = kv(0, Value::Int(2));
        assert_eq!(register(&rows).valid, Validity::True);
    }

    #[test]
    fn an_acknowledged_write_vanishing_to_nil_and_unexpected_values_are_named() {
        let mut rows = Vec::new();
        rows.extend(write(0, 1));
        rows.extend(final_read(5, "n1", Value::Nil));
        rows.extend(final_read(6, "n2", Value::Int(99)));
        let r = register(&rows);
        assert_eq!(count(&r, "lost-update"), 1);
        assert_eq!(count(&r, "unexpected-value"), 1);
        assert!(
            r.anomalies
                .iter()
                .any(|a| a.explanation.contains("never written"))
        );
    }

    #[test]
    fn without_final_reads_the_last_read_is_judged_and_an_indeterminate_write_may_win() {
        let mut rows = Vec::new();
        rows.extend(write(0, 1));
        rows.extend(pair(
            1,
            Info,
            "write",
            kv(0, Value::Int(2)),
            kv(0, Value::Int(2)),
        ));
        rows.extend(pair(2, Ok, "read", kv(0, Value::Nil), kv(0, Value::Int(2))));
        assert_eq!(register(&rows).valid, Validity::True);
        rows.extend(write(3, 3));
        rows.extend(pair(2, Ok, "read", kv(0, Value::Nil), kv(0, Value::Int(2))));
        let r = register(&rows);
        assert_eq!(count(&r, "lost-update"), 1, "{}", r.summary);
    }
}
