//! Property tests of `linearizable`: histories generated from a sequential execution of the
//! model — random concurrency, crashed ops (`info`, the process replaced), failed ops, small
//! repeated values, `cas`, several keys — are always linearizable; one injected stale read, lost
//! write or wrong cas result is always found; the result is the same on one thread and many.
#![allow(clippy::unwrap_used)]

use checkers::linear::{Budget, Settings};
use checkers::{CheckResult, Linearizable, Validity, check};
use history::{Op, OpType, Process, Value};
use proptest::prelude::*;
use std::collections::BTreeMap;

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Inject {
    None,
    /// Write X, then write Z, then a read of X (X and Z fresh values).
    StaleRead,
    /// Write X acknowledged, then a read of the initial `nil` (no op writes `nil`).
    LostWrite,
    /// Write X, then write Z, then `cas [X Y]` acknowledged.
    WrongCas,
}

/// An op in flight: invoked, perhaps applied (its outcome then known), not yet completed.
struct Open {
    process: u64,
    f: &'static str,
    key: i64,
    asked: Value,
    /// Once applied: whether it took effect (a cas may find another value), and a read's value.
    applied: Option<(bool, Value)>,
}

/// `[k v]`
fn keyed(k: i64, v: Value) -> Value {
    Value::List(vec![Value::Int(k), v])
}

/// A history of a linearizable cas-register per key: each op takes effect at one moment
/// between its invocation and its completion. Crashed ops complete `info` (applied or not, at
/// random) and their process is replaced; a cas that finds another value fails.
fn generate(seed: u64, processes: u64, steps: usize, keys: i64, inject: Inject) -> Vec<Op> {
    let mut rng = Rng(seed);
    let mut ops = Vec::new();
    let mut registers: BTreeMap<i64, Value> = BTreeMap::new();
    let mut open: Vec<Option<Open>> = (0..processes).map(|_| None).collect();
    let mut pids: Vec<u64> = (0..processes).collect();
    let mut next_pid = processes;
    let push = |ops: &mut Vec<Op>, kind, p, f: &str, v: Value| {
        let i = ops.len() as u64;
        ops.push(Op::new(kind, Process::Client(p), f, v).at(i, i * 1_000));
    };
    let inject_at = steps / 2;
    for step in 0..steps {
        if step == inject_at && inject != Inject::None {
            // Quiescent moment: the open ops complete first (crashed ones stay in flight).
            for slot in open.iter_mut() {
                if let Some(o) = slot.take() {
                    let (took, read) = o.applied.unwrap_or((false, Value::Nil));
                    let kind = if took { OpType::Ok } else { OpType::Fail };
                    let v = if o.f == "read" { read } else { o.asked };
                    push(&mut ops, kind, o.process, o.f, keyed(o.key, v));
                }
            }
            let p = 1_000_000;
            let k = 0;
            let (x, z, y) = (Value::Int(-1), Value::Int(-2), Value::Int(-3));
            let pair = |ops: &mut Vec<Op>, f: &str, asked: Value, done: Value| {
                push(ops, OpType::Invoke, p, f, keyed(k, asked));
                push(ops, OpType::Ok, p, f, keyed(k, done));
            };
            match inject {
                Inject::StaleRead => {
                    pair(&mut ops, "write", x.clone(), x.clone());
                    pair(&mut ops, "write", z.clone(), z.clone());
                    pair(&mut ops, "read", Value::Nil, x);
                }
                Inject::LostWrite => {
                    pair(&mut ops, "write", x.clone(), x);
                    pair(&mut ops, "read", Value::Nil, Value::Nil);
                }
                Inject::WrongCas => {
                    pair(&mut ops, "write", x.clone(), x.clone());
                    pair(&mut ops, "write", z.clone(), z);
                    let cas = Value::List(vec![x, y]);
                    pair(&mut ops, "cas", cas.clone(), cas);
                }
                Inject::None => {}
            }
            continue;
        }
        let slot = rng.below(processes) as usize;
        match &mut open[slot] {
            None => {
                let key = rng.below(keys as u64) as i64;
                let (f, asked) = match rng.below(3) {
                    0 => ("read", Value::Nil),
                    1 => ("write", Value::Int(rng.below(4) as i64)),
                    _ => (
                        "cas",
                        Value::List(vec![
                            Value::Int(rng.below(4) as i64),
                            Value::Int(rng.below(4) as i64),
                        ]),
                    ),
                };
                let process = pids[slot];
                push(
                    &mut ops,
                    OpType::Invoke,
                    process,
                    f,
                    keyed(key, asked.clone()),
                );
                open[slot] = Some(Open {
                    process,
                    f,
                    key,
                    asked,
                    applied: None,
                });
            }
            Some(o) if o.applied.is_none() => {
                // It takes effect now.
                let current = registers.get(&o.key).cloned().unwrap_or(Value::Nil);
                o.applied = Some(match o.f {
                    "read" => (true, current),
                    "write" => {
                        registers.insert(o.key, o.asked.clone());
                        (true, Value::Nil)
                    }
                    _ => {
                        let pair = o.asked.as_seq().unwrap();
                        if pair[0] == current {
                            registers.insert(o.key, pair[1].clone());
                            (true, Value::Nil)
                        } else {
                            (false, Value::Nil)
                        }
                    }
                });
                // A crash before it took effect: sometimes it never does.
            }
            Some(_) => {
                let o = open[slot].take().unwrap();
                let (took, read) = o.applied.unwrap();
                let crash = rng.below(8) == 0;
                let kind = match (crash, took) {
                    (true, _) => OpType::Info,
                    (false, true) => OpType::Ok,
                    (false, false) => OpType::Fail,
                };
                let v = if o.f == "read" && kind == OpType::Ok {
                    read
                } else if o.f == "read" {
                    Value::Nil
                } else {
                    o.asked
                };
                push(&mut ops, kind, o.process, o.f, keyed(o.key, v));
                if crash {
                    pids[slot] = next_pid;
                    next_pid += 1;
                }
            }
        }
        // Now and then an op crashes before taking effect, and never does.
        if rng.below(40) == 0
            && let Some(o) = &open[slot]
            && o.applied.is_none()
        {
            let o = open[slot].take().unwrap();
            push(
                &mut ops,
                OpType::Info,
                o.process,
                o.f,
                keyed(o.key, o.asked),
            );
            pids[slot] = next_pid;
            next_pid += 1;
        }
    }
    // Whatever is still open stays so: invocations never completed.
    ops
}

fn judge(ops: &[Op], threads: usize) -> CheckResult {
    let settings = Settings {
        budget: Budget::default(),
        threads,
    };
    check(vec![Box::new(Linearizable::new(settings))], ops)
        .unwrap()
        .results
        .remove(0)
}

fn strip(mut r: CheckResult) -> CheckResult {
    r.figures.remove("slowest-key-ms");
    r
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn histories_of_a_linearizable_register_are_linearizable(
        seed in any::<u64>(), processes in 1u64..8, steps in 4usize..160, keys in 1i64..4,
    ) {
        let ops = generate(seed, processes, steps, keys, Inject::None);
        let r = judge(&ops, 1);
        // (Nothing to judge when every op failed or is an indeterminate read.)
        prop_assert!(r.valid == Validity::True || !r.applicable, "{}\n{:#?}", r.summary, r.anomalies);
        prop_assert_eq!(strip(r), strip(judge(&ops, 4)));
    }

    #[test]
    fn one_injected_violation_is_always_found(
        seed in any::<u64>(), processes in 1u64..8, steps in 4usize..160, keys in 1i64..4,
        which in 0usize..3,
    ) {
        let inject = [Inject::StaleRead, Inject::LostWrite, Inject::WrongCas][which];
        let ops = generate(seed, processes, steps, keys, inject);
        let r = judge(&ops, 1);
        prop_assert_eq!(r.valid, Validity::False, "{:?}: {}", inject, r.summary);
        prop_assert_eq!(r.anomaly_counts.get("nonlinearizable"), Some(&1));
        // The witness names key 0, where the violation was put.
        prop_assert!(r.anomalies[0].explanation.contains("of key 0"), "{}", r.anomalies[0].explanation);
        prop_assert_eq!(strip(r), strip(judge(&ops, 3)));
    }
}
