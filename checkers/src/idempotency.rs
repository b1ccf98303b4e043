//! `idempotency`: insert-if-absent requests (`insert [id payload]`, completing with
//! `[id "created"]` or `[id "exists"]`), retried until acknowledged, as a payment client retries
//! after a timeout.
//!
//! However often a request is retried, its id must be created once. An id whose inserts were
//! answered `created` more than once is `duplicate-creation`: the double credit of a retried
//! payment. A creation the client never heard of (its answer timed out, and the retry created
//! again) shows in the store's ledger, when the history reads one: reads (`read` → a list of
//! payloads, one per creation) are judged like final reads elsewhere — each node's last final
//! read, else the last read — and a payload there more than once is `duplicate-creation` too.
//! Memory: a few words per request id.

use crate::Event;
use crate::util::{Findings, show};
use crate::{CheckResult, Checker, Validity};
use history::{OpType, Value};
use rustc_hash::FxHashMap;
use serde_json::json;

#[derive(Debug, Default)]
struct Request {
    attempts: u32,
    /// Indexes of completions answering `created`.
    created: Vec<u64>,
}

#[derive(Debug, Default)]
pub struct Idempotency {
    requests: FxHashMap<String, Request>,
    /// Ids in the order first seen, so that the verdict does not depend on hashing.
    order: Vec<String>,
    acknowledged: u64,
    /// Payload -> request id.
    payloads: FxHashMap<i64, String>,
    /// The judged ledger reads: per observer (final reads: the node, or the process when no
    /// node is recorded), or the last ordinary read (None).
    ledgers: std::collections::BTreeMap<Option<crate::util::Observer>, (u64, bool, Vec<i64>)>,
}

fn id_of(v: &Value) -> Option<String> {
    let id = v.as_seq()?.first()?;
    Some(id.as_str().map_or_else(|| show(id), str::to_owned))
}

impl Checker for Idempotency {
    fn name(&self) -> &'static str {
        "idempotency"
    }

    fn observe(&mut self, event: &Event<'_>) {
        let Event::Complete { invoked, op } = *event else {
            return;
        };
        if &*op.f == "read" && op.kind == OpType::Ok {
            if let Some(entries) = crate::util::ints(&op.value) {
                let slot = op.is_final.then(|| crate::util::Observer::of(op));
                self.ledgers
                    .insert(slot, (op.index, op.is_final, entries.iter().collect()));
            }
            return;
        }
        if &*op.f != "insert" {
            return;
        }
        let Some(id) = id_of(invoked.value) else {
            return;
        };
        if let Some(payload) = invoked.value.as_seq().and_then(|v| v.get(1)?.as_int()) {
            self.payloads.entry(payload).or_insert_with(|| id.clone());
        }
        let request = match self.requests.get_mut(&id) {
            Some(r) => r,
            None => {
                self.order.push(id.clone());
                self.requests.entry(id).or_default()
            }
        };
        request.attempts += 1;
        if op.kind == OpType::Ok {
            self.acknowledged += 1;
            let outcome = op.value.as_seq().and_then(|v| v.get(1));
            if outcome.and_then(Value::as_str) == Some("created") {
                request.created.push(op.index);
            }
        }
    }

    fn finish(self: Box<Self>) -> CheckResult {
        let mut findings = Findings::default();
        let mut created_once = 0u64;
        let mut retried = 0u64;
        for id in &self.order {
            let r = &self.requests[id];
            retried += u64::from(r.attempts > 1);
            match r.created.len() {
                0 => {}
                1 => created_once += 1,
                n => findings.note("duplicate-creation", r.created.clone(), || {
                    let ops: Vec<String> = r.created.iter().map(u64::to_string).collect();
                    format!(
                        "Request {id} was attempted {} times and created {n} times (ops {}): a \
                         retried insert-if-absent applied twice, as a retried payment credited \
                         twice.",
                        r.attempts,
                        ops.join(", ")
                    )
                }),
            }
        }
        // The ledger: each node's last final read, or without final reads the last read.
        let any_final = self.ledgers.values().any(|l| l.1);
        let mut doubled: std::collections::BTreeSet<i64> = std::collections::BTreeSet::new();
        for (index, is_final, entries) in self.ledgers.values() {
            if *is_final != any_final {
                continue;
            }
            let mut counts: std::collections::BTreeMap<i64, usize> = Default::default();
            for e in entries {
                *counts.entry(*e).or_default() += 1;
            }
            for (payload, n) in counts {
                let Some(id) = self.payloads.get(&payload) else {
                    continue;
                };
                let already = self.requests[id].created.len() > 1;
                if n > 1 && !already && doubled.insert(payload) {
                    let r = &self.requests[id];
                    findings.note("duplicate-creation", vec![*index], || {
                        format!(
                            "Request {id} (payload {payload}) was attempted {} times and answered \
                             `created` {} times, but the ledger read by op {index} holds its \
                             payload {n} times: a retry created it again after an attempt whose \
                             answer was lost had already created it.",
                            r.attempts,
                            r.created.len()
                        )
                    });
                }
            }
        }
        let found = findings.total();
        let valid = if found > 0 {
            Validity::False
        } else if self.acknowledged == 0 {
            Validity::Unknown
        } else {
            Validity::True
        };
        let summary = match valid {
            Validity::False => format!(
                "{found} of {} requests created more than once",
                self.order.len()
            ),
            Validity::Unknown => {
                "no insert was ever acknowledged: nothing can be inferred".to_owned()
            }
            Validity::True => format!(
                "no request created twice ({} requests, {retried} retried)",
                self.order.len()
            ),
        };
        let mut result = CheckResult::new("idempotency", valid, summary);
        for (k, v) in [
            ("requests", json!(self.order.len())),
            ("retried", json!(retried)),
            ("created-once", json!(created_once)),
            ("acknowledged", json!(self.acknowledged)),
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
    use crate::testing::{Row, count, h, pair, run};

    fn insert(p: u64, kind: OpType, id: &str, outcome: &str) -> [Row; 2] {
        let req = Value::List(vec![Value::from(id), Value::Int(1)]);
        let done = Value::List(vec![Value::from(id), Value::from(outcome)]);
        pair(p, kind, "insert", req, done)
    }

    #[test]
    fn a_payload_twice_in_the_ledger_is_a_duplicate_creation() {
        let mut rows = Vec::new();
        rows.extend(insert(0, OpType::Info, "req-1", ""));
        rows.extend(insert(5, OpType::Ok, "req-1", "created"));
        rows.extend([
            (9, OpType::Invoke, "read", Value::Nil, "n1", true),
            (
                9,
                OpType::Ok,
                "read",
                crate::testing::ints(&[1]),
                "n1",
                true,
            ),
        ]);
        let r = run(Box::new(Idempotency::default()), &h(&rows));
        assert_eq!(r.valid, Validity::True, "{}", r.summary);
        rows[5].3 = crate::testing::ints(&[1, 1]);
        let r = run(Box::new(Idempotency::default()), &h(&rows));
        assert_eq!(count(&r, "duplicate-creation"), 1, "{}", r.summary);
        assert_eq!(r.anomalies[0].ops, vec![5]);
        assert!(
            r.anomalies[0]
                .explanation
                .contains("holds its payload 2 times"),
            "{}",
            r.anomalies[0].explanation
        );
    }

    #[test]
    fn final_ledger_reads_without_nodes_are_not_lumped_with_ordinary_reads() {
        // A nodeless final read whose ledger holds the payload twice, then an ordinary read
        // (by another process) that holds it once: the final read is judged.
        let ledger = |p: u64, xs: &[i64], fin: bool| -> [Row; 2] {
            [
                (p, OpType::Invoke, "read", Value::Nil, "", fin),
                (p, OpType::Ok, "read", crate::testing::ints(xs), "", fin),
            ]
        };
        let mut rows = Vec::new();
        rows.extend(insert(0, OpType::Info, "req-1", ""));
        rows.extend(insert(5, OpType::Ok, "req-1", "created"));
        rows.extend(ledger(9, &[1, 1], true));
        rows.extend(ledger(8, &[1], false));
        let r = run(Box::new(Idempotency::default()), &h(&rows));
        assert_eq!(count(&r, "duplicate-creation"), 1, "{}", r.summary);
    }

    #[test]
    fn a_retry_answered_exists_is_fine_and_a_second_creation_is_a_duplicate() {
        let mut rows = Vec::new();
        rows.extend(insert(0, OpType::Info, "req-1", ""));
        rows.extend(insert(5, OpType::Ok, "req-1", "exists"));
        rows.extend(insert(5, OpType::Ok, "req-2", "created"));
        let r = run(Box::new(Idempotency::default()), &h(&rows));
        assert_eq!(r.valid, Validity::True, "{}", r.summary);
        assert_eq!(r.figures["retried"], json!(1));
        rows.extend(insert(6, OpType::Ok, "req-2", "created"));
        let r = run(Box::new(Idempotency::default()), &h(&rows));
        assert_eq!(count(&r, "duplicate-creation"), 1);
        assert_eq!(r.anomalies[0].ops, vec![5, 7]);
        assert!(
            r.anomalies[0]
                .explanation
                .contains("Request req-2 was attempted 2 times and created 2 times")
        );
    }
}
