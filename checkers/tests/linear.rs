//! Property tests of `linearizable`: histories generated from a sequential execution of the
//! model — random concurrency, crashed ops (`info`, the process replaced), failed ops, small
//! repeated values, `cas`, several keys — are always linearizable; one injected stale read, lost
//! write or wrong cas result is always found. (Histories this small are searched on one thread;
//! the unit tests compare one thread with many on a larger one.)
#![allow(clippy::unwrap_used)]

use checkers::linear::{Budget, Settings};
use checkers::{CheckResult, Linearizable, Validity, check};
use history::{Op, OpType, Process, Value};
use proptest::prelude::*;
use std::collections::BTreeMap;

mod common;
use common::Rng;

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
    }
}

/// One op of a small random history, for the brute-force oracle: `kind` 0 ok, 1 info (or never
/// completed), 2 fail; `f` 0 read, 1 write, 2 cas; values 0–1, `None` nil.
#[derive(Debug, Clone)]
struct Small {
    call: usize,
    ret: usize,
    kind: u8,
    f: u8,
    a: Option<i64>,
    b: Option<i64>,
}

/// A random history of a cas register, any outcome: ops of 3 processes overlapping at random,
/// reads returning any value, crashes and failures, values repeated. Returns the ops as the
/// checker reads them and as the oracle does.
fn random_small(seed: u64, n: usize) -> (Vec<Op>, Vec<Small>) {
    let mut rng = Rng(seed);
    let val = |rng: &mut Rng| match rng.below(3) {
        2 => None,
        v => Some(v as i64),
    };
    let mut events: Vec<(usize, bool)> = Vec::new(); // (op, is call)
    let mut smalls: Vec<Small> = Vec::new();
    let mut open: [Option<usize>; 3] = [None; 3];
    while smalls.len() < n || open.iter().any(Option::is_some) {
        let p = rng.below(3) as usize;
        match open[p] {
            None if smalls.len() < n => {
                let f = rng.below(3) as u8;
                let a = val(&mut rng).or(Some(0));
                let b = val(&mut rng).or(Some(1));
                smalls.push(Small {
                    call: events.len(),
                    ret: usize::MAX,
                    kind: 0,
                    f,
                    a: if f == 0 { val(&mut rng) } else { a },
                    b,
                });
                open[p] = Some(smalls.len() - 1);
                events.push((smalls.len() - 1, true));
            }
            None => {}
            Some(i) => {
                open[p] = None;
                let kind = match rng.below(10) {
                    0..=3 => 1,
                    4 => 2,
                    _ => 0,
                };
                smalls[i].kind = kind;
                // An info op now and then never completes at all.
                if kind == 1 && rng.below(2) == 0 {
                    continue;
                }
                if kind != 1 {
                    smalls[i].ret = events.len();
                }
                events.push((i, false));
            }
        }
    }
    // Processes: each op its own (crashed ones never reuse one), in call order.
    let nil = |v: Option<i64>| v.map_or(Value::Nil, Value::Int);
    let mut ops = Vec::new();
    for (i, &(o, is_call)) in events.iter().enumerate() {
        let s = &smalls[o];
        let (f, v) = match s.f {
            0 => ("read", if is_call { Value::Nil } else { nil(s.a) }),
            1 => ("write", nil(s.a)),
            _ => ("cas", Value::List(vec![nil(s.a), nil(s.b)])),
        };
        let kind = match (is_call, s.kind) {
            (true, _) => OpType::Invoke,
            (false, 0) => OpType::Ok,
            (false, 1) => OpType::Info,
            _ => OpType::Fail,
        };
        let v = if s.f == 0 && kind == OpType::Info {
            Value::Nil
        } else {
            v
        };
        ops.push(Op::new(kind, Process::Client(o as u64), f, v).at(i as u64, i as u64 * 10));
    }
    (ops, smalls)
}

/// Linearizable by brute force: some order of the ok ops and some of the info ops (reads of
/// info ops excluded: their value is unknown), each after every op that returned before its
/// call, is legal for a register starting at nil.
fn oracle(smalls: &[Small]) -> bool {
    let must: Vec<usize> = (0..smalls.len()).filter(|&i| smalls[i].kind == 0).collect();
    let may: Vec<usize> = (0..smalls.len())
        .filter(|&i| smalls[i].kind == 1 && smalls[i].f != 0)
        .collect();
    fn go(
        smalls: &[Small],
        left: &mut Vec<usize>,
        done: &mut Vec<usize>,
        state: Option<i64>,
    ) -> bool {
        if left.is_empty() {
            return true;
        }
        for k in 0..left.len() {
            let i = left[k];
            // Every op still left that returned before i was called must come first.
            if left.iter().any(|&j| smalls[j].ret < smalls[i].call) {
                continue;
            }
            let s = &smalls[i];
            let after = match s.f {
                0 if s.a == state => Some(state),
                0 => None,
                1 => Some(s.a),
                _ if s.a == state => Some(s.b),
                _ => None,
            };
            if let Some(next) = after {
                left.swap_remove(k);
                done.push(i);
                let ok = go(smalls, left, done, next);
                done.pop();
                left.push(i);
                let last = left.len() - 1;
                left.swap(k, last);
                if ok {
                    return true;
                }
            }
        }
        false
    }
    (0..1u32 << may.len()).any(|subset| {
        let mut left = must.clone();
        left.extend(
            (0..may.len())
                .filter(|b| subset >> b & 1 == 1)
                .map(|b| may[b]),
        );
        go(smalls, &mut left, &mut Vec::new(), None)
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1500))]

    /// On small histories of any outcome the search agrees with trying every order.
    #[test]
    fn the_search_agrees_with_brute_force(seed in any::<u64>(), n in 1usize..11) {
        let (ops, smalls) = random_small(seed, n);
        let r = judge(&ops, 1);
        let expected = oracle(&smalls);
        if r.applicable {
            prop_assert_eq!(r.valid == Validity::True, expected, "{}\n{:#?}", r.summary, smalls);
            prop_assert!(r.valid != Validity::Unknown);
        } else {
            // Nothing judged: every op failed, or is an indeterminate read.
            prop_assert!(expected);
        }
    }
}
