//! `convergence`: once every fault is healed, do the replicas agree?
//!
//! Judges the final phase's reads (ops marked `final`): each node's own replica of every key,
//! read round after round (each round by fresh processes) until the replicas agree or a bound
//! passes. A key is `divergent` when the nodes' last final reads of it differ; the anomaly
//! names each node's value. Convergence time runs from the heal (the last nemesis op before the
//! final reads began, else the first final read) to the end of the first round in which every
//! node answered every key and all answers were equal; no such round is `no-agreement`.
//! Collections compare exactly (lists in order; `#set` values as sets).
//!
//! Memory: the final reads only; everything before them is passed over.

use crate::util::{Findings, Keys, key_label, show, split_keyed};
use crate::{CheckResult, Checker, Event, Validity};
use history::{OpType, Process, Sym, Value};
use serde_json::json;
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug)]
struct FinalRead {
    index: u64,
    time: u64,
    value: Value,
}

#[derive(Debug, Default)]
pub struct Convergence {
    keys: Keys,
    last_nemesis_time: Option<u64>,
    heal_time: Option<u64>,
    /// Per node: the process of its current round, and the round's number (from 0).
    rounds: BTreeMap<Sym, (Process, usize)>,
    /// (round, key) -> node -> answer (`None`: the read failed).
    answers: BTreeMap<(usize, u32), BTreeMap<Sym, Option<FinalRead>>>,
    /// Keys ever read finally.
    read_keys: BTreeSet<u32>,
}

impl Checker for Convergence {
    fn name(&self) -> &'static str {
        "convergence"
    }

    fn observe(&mut self, event: &Event<'_>) {
        let (invoked, op) = match *event {
            Event::Other(op) => {
                if self.heal_time.is_none() {
                    self.last_nemesis_time = Some(op.time);
                }
                return;
            }
            Event::Invoke(op) => {
                if op.is_final && self.heal_time.is_none() {
                    self.heal_time = Some(self.last_nemesis_time.unwrap_or(op.time));
                }
                return;
            }
            Event::Unfinished(_) => return,
            Event::Complete { invoked, op } => {
                // A final read recorded without its invocation begins the final phase too.
                if invoked.alone && op.is_final && self.heal_time.is_none() {
                    self.heal_time = Some(self.last_nemesis_time.unwrap_or(op.time));
                }
                (invoked, op)
            }
        };
        if !op.is_final || &*op.f != "read" {
            return;
        }
        let Some(node) = op.node.clone() else {
            return;
        };
        let (key, _) = split_keyed(invoked.value);
        let keyed = !key.is_nil();
        let key = self.keys.id(&key);
        let round = match self.rounds.get_mut(&node) {
            Some((process, round)) => {
                if *process != op.process {
                    *process = op.process.clone();
                    *round += 1;
                }
                *round
            }
            None => {
                self.rounds.insert(node.clone(), (op.process.clone(), 0));
                0
            }
        };
        let answer = (op.kind == OpType::Ok).then(|| FinalRead {
            index: op.index,
            time: op.time,
            value: if keyed {
                split_keyed(&op.value).1.clone()
            } else {
                op.value.clone()
            },
        });
        self.read_keys.insert(key);
        self.answers
            .entry((round, key))
            .or_default()
            .insert(node, answer);
    }

    fn finish(self: Box<Self>) -> CheckResult {
        let nodes: BTreeSet<&Sym> = self.rounds.keys().collect();
        let mut findings = Findings::default();
        if nodes.is_empty() {
            return CheckResult::not_applicable(
                "convergence",
                "not judged: the history has no final reads",
            );
        }
        let heal = self.heal_time.unwrap_or(0);
        let rounds = self.rounds.values().map(|(_, r)| r + 1).max().unwrap_or(0);

        // The first round in which every node answered every key alike.
        let agreed_round = (0..rounds).find(|&round| {
            self.read_keys.iter().all(|&key| {
                let Some(answers) = self.answers.get(&(round, key)) else {
                    return false;
                };
                let values: Vec<&Value> = answers
                    .values()
                    .filter_map(|a| a.as_ref().map(|a| &a.value))
                    .collect();
                values.len() == nodes.len() && values.windows(2).all(|w| w[0] == w[1])
            })
        });
        let convergence_ns = agreed_round.map(|round| {
            let done = self
                .answers
                .range((round, 0)..(round + 1, 0))
                .flat_map(|(_, a)| a.values().flatten().map(|r| r.time))
                .max()
                .unwrap_or(heal);
            done.saturating_sub(heal)
        });

        // Each node's last answer per key.
        let mut divergent_keys = 0u64;
        for &key in &self.read_keys {
            let mut last: BTreeMap<&Sym, &FinalRead> = BTreeMap::new();
            for ((_, k), answers) in &self.answers {
                if *k != key {
                    continue;
                }
                for (node, a) in answers {
                    if let Some(a) = a {
                        last.insert(node, a);
                    }
                }
            }
            let distinct: Vec<&Value> =
                last.values()
                    .map(|a| &a.value)
                    .fold(Vec::new(), |mut d, v| {
                        if !d.contains(&v) {
                            d.push(v);
                        }
                        d
                    });
            if distinct.len() > 1 {
                divergent_keys += 1;
                let label = key_label(self.keys.value(key));
                let ops: Vec<u64> = last.values().map(|a| a.index).collect();
                findings.note("divergent", ops, || {
                    let first = last.values().next().map(|a| &a.value);
                    let per_node: Vec<String> = last
                        .iter()
                        .map(|(node, a)| {
                            format!("{node} (op {}) {}", a.index, describe(&a.value, first))
                        })
                        .collect();
                    format!(
                        "After the heal, the replicas{label} never agreed: {}.",
                        per_node.join("; ")
                    )
                });
            }
        }
        if agreed_round.is_none() && divergent_keys == 0 {
            findings.note("no-agreement", Vec::new(), || {
                "No round of final reads had every node answer every key alike (some node \
                 never answered)."
                    .to_owned()
            });
        }

        let valid = if divergent_keys > 0 {
            Validity::False
        } else if agreed_round.is_none() {
            Validity::Unknown
        } else {
            Validity::True
        };
        let summary = match (valid, convergence_ns) {
            (Validity::True, Some(ns)) => format!(
                "{} nodes agreed on {} keys {:.0} ms after the heal (round {})",
                nodes.len(),
                self.read_keys.len(),
                ns as f64 / 1e6,
                agreed_round.unwrap_or(0) + 1
            ),
            (Validity::False, _) => format!(
                "{divergent_keys} of {} keys still differ between replicas after {rounds} rounds of final reads",
                self.read_keys.len()
            ),
            _ => {
                "no round of final reads in which every node answered: agreement unknown".to_owned()
            }
        };
        let mut result = CheckResult::new("convergence", valid, summary);
        for (k, v) in [
            ("nodes", json!(nodes.len())),
            ("keys", json!(self.read_keys.len())),
            ("rounds", json!(rounds)),
            ("divergent-keys", json!(divergent_keys)),
            (
                "convergence-ms",
                json!(convergence_ns.map(|ns| ns as f64 / 1e6)),
            ),
        ] {
            result.figures.insert(k.to_owned(), v);
        }
        if valid == Validity::Unknown {
            // Not an anomaly of the store: the final phase could not decide.
            findings = Findings::default();
            result.summary.push_str(" (no node disagreed)");
        }
        findings.into_result(&mut result);
        result
    }
}

/// A node's value, for a person: small values whole; collections by size and by how they
/// differ from the first node's.
fn describe(v: &Value, first: Option<&Value>) -> String {
    let items = |v: &Value| -> Option<Vec<Value>> {
        match v {
            Value::List(xs) | Value::Set(xs) => Some(xs.clone()),
            Value::Nil => Some(Vec::new()),
            _ => None,
        }
    };
    let text = show(v);
    if text.len() <= 80 {
        return format!("holds {text}");
    }
    let (Some(mine), Some(theirs)) = (items(v), first.and_then(items)) else {
        let cut: String = text.chars().take(80).collect();
        return format!("holds {cut}...");
    };
    let lacks: Vec<String> = theirs
        .iter()
        .filter(|x| !mine.contains(x))
        .map(show)
        .collect();
    let extra: Vec<String> = mine
        .iter()
        .filter(|x| !theirs.contains(x))
        .map(show)
        .collect();
    let sample = |xs: &[String]| xs.iter().take(5).cloned().collect::<Vec<_>>().join(", ");
    let mut s = format!("holds {} items", mine.len());
    if !lacks.is_empty() {
        s += &format!(
            ", lacks {} the first node holds ({})",
            lacks.len(),
            sample(&lacks)
        );
    }
    if !extra.is_empty() {
        s += &format!(
            ", has {} the first node lacks ({})",
            extra.len(),
            sample(&extra)
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{Row, count, h, ints, kv, run};
    use history::Op;
    use history::OpType::*;

    fn conv(ops: &[Op]) -> CheckResult {
        run(Box::new(Convergence::default()), ops)
    }

    /// A round of final reads of key 0: one (process, node, value) per node.
    fn round(reads: &[(u64, &'static str, Value)]) -> Vec<Row> {
        reads
            .iter()
            .flat_map(|(p, node, v)| {
                [
                    (*p, Invoke, "read", kv(0, Value::Nil), *node, true),
                    (*p, Ok, "read", kv(0, v.clone()), *node, true),
                ]
            })
            .collect()
    }

    #[test]
    fn replicas_that_agree_in_the_second_round_converge_then() {
        let mut rows = round(&[(10, "n1", ints(&[1, 2])), (11, "n2", ints(&[1]))]);
        rows.extend(round(&[
            (12, "n1", ints(&[1, 2])),
            (13, "n2", ints(&[1, 2])),
        ]));
        let r = conv(&h(&rows));
        assert_eq!(r.valid, Validity::True, "{}", r.summary);
        assert_eq!(r.figures["rounds"], json!(2));
        // Heal = first final read at t=0; round 2 ends at op 7, t=70 ns.
        assert_eq!(r.figures["convergence-ms"], json!(0.00007));
    }

    #[test]
    fn replicas_whose_last_reads_differ_are_divergent_with_each_value_named() {
        let mut rows = round(&[(10, "n1", ints(&[1, 2])), (11, "n2", ints(&[1]))]);
        rows.extend(round(&[(12, "n1", ints(&[1, 2])), (13, "n2", ints(&[1]))]));
        let r = conv(&h(&rows));
        assert_eq!(r.valid, Validity::False);
        assert_eq!(count(&r, "divergent"), 1);
        let a = &r.anomalies[0];
        assert_eq!(a.ops, vec![5, 7]);
        assert!(
            a.explanation.contains("n2 (op 7) holds [1]"),
            "{}",
            a.explanation
        );
        assert!(a.explanation.contains("of key 0"), "{}", a.explanation);
    }

    #[test]
    fn a_node_that_never_answers_leaves_agreement_unknown() {
        let rows = [
            (10, Invoke, "read", Value::Nil, "n1", true),
            (10, Ok, "read", ints(&[1]), "n1", true),
            (11, Invoke, "read", Value::Nil, "n2", true),
            (11, Fail, "read", Value::Nil, "n2", true),
        ];
        let r = conv(&h(&rows));
        assert_eq!(r.valid, Validity::Unknown, "{}", r.summary);
        assert_eq!(conv(&h(&rows[..0])).valid, Validity::Unknown);
    }

    #[test]
    fn the_heal_is_the_last_nemesis_op_before_the_final_reads() {
        let mut ops = h(&round(&[(10, "n1", ints(&[1])), (11, "n2", ints(&[1]))]));
        for op in &mut ops {
            op.index += 1;
            op.time += 1000;
        }
        let heal = Op::new(Info, Process::Named("nemesis".into()), "heal", Value::Nil).at(0, 500);
        ops.insert(0, heal);
        let r = conv(&ops);
        // Last read completes at t = 1030; heal at 500.
        assert_eq!(r.figures["convergence-ms"], json!(0.00053));
    }
}
