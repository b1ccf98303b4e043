//! The linearizability checker's speed and memory: `cargo bench -p checkers --bench linear`.
//!
//! 1. One cas-register key, Jepsen-style: values 0–4 (repeated), reads, writes and cas in equal
//!    parts, one op in a hundred crashed (`info`, its process replaced), 5, 10 and 50 concurrent
//!    clients, 10 K and 100 K ops; from a linearizable execution (each op takes effect at one
//!    moment between its invocation and completion), so the whole search must succeed.
//! 2. A key-value map as Porcupine's kv benchmark: 300 ops over 10 keys (its c10 history's
//!    shape), and 1 M ops over 1 000 keys, 10 clients, `get`/`put`/`append` of short strings.
//! 3. A history that defeats the search: 60 concurrent writes of distinct values, reads of each
//!    concurrent with them, then a read that no order allows, under a 2 s time budget and then a
//!    64 MB memory budget: it must end `unknown` within the budget plus 10 %, and under it.
//!
//! Times are medians of 3 checks of the same ops (201 for the 300-op history; generation not
//! included); peak heap is the heap's peak above what it held before the check (a counting
//! allocator).
#![allow(clippy::unwrap_used)]

use checkers::linear::{Budget, Settings};
use checkers::{CheckResult, Linearizable, Validity, check};
use history::{Op, OpType, Process, Value};
use std::time::{Duration, Instant};

#[path = "../../bench-support/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::{peak_since, reset_peak};

#[path = "../../bench-support/rng.rs"]
mod rng;
use rng::Rng;

/// An op in flight, and whether it has taken effect (with a read's value or a cas's outcome).
struct Open {
    process: u64,
    f: &'static str,
    key: Option<String>,
    asked: Value,
    applied: Option<(bool, Value)>,
}

/// The ops of clients against one linearizable store: `pick` chooses each new op (function,
/// key, value), `apply` runs it on the store's state and says whether it took effect and what
/// it returned.
fn simulate(
    seed: u64,
    clients: u64,
    ops: usize,
    crash_in: u64,
    mut pick: impl FnMut(&mut Rng) -> (&'static str, Option<String>, Value),
    mut apply: impl FnMut(&str, &Option<String>, &Value) -> (bool, Value),
) -> Vec<Op> {
    let mut rng = Rng(seed);
    let mut out: Vec<Op> = Vec::with_capacity(ops * 2);
    let mut open: Vec<Option<Open>> = (0..clients).map(|_| None).collect();
    let mut pids: Vec<u64> = (0..clients).collect();
    let mut next_pid = clients;
    let mut invoked = 0;
    let push = |out: &mut Vec<Op>, kind, p, f: &str, key: &Option<String>, v: Value| {
        let i = out.len() as u64;
        let mut op = Op::new(kind, Process::Client(p), f, v).at(i, i * 10_000);
        if let Some(k) = key {
            op.extra.push(("key".into(), Value::Str(k.clone())));
        }
        out.push(op);
    };
    while invoked < ops || open.iter().any(Option::is_some) {
        let slot = rng.below(clients) as usize;
        match &mut open[slot] {
            None if invoked < ops => {
                let (f, key, asked) = pick(&mut rng);
                push(&mut out, OpType::Invoke, pids[slot], f, &key, asked.clone());
                invoked += 1;
                open[slot] = Some(Open {
                    process: pids[slot],
                    f,
                    key,
                    asked,
                    applied: None,
                });
            }
            None => {}
            Some(o) if o.applied.is_none() => o.applied = Some(apply(o.f, &o.key, &o.asked)),
            Some(_) => {
                let o = open[slot].take().unwrap();
                let (took, got) = o.applied.unwrap();
                let crash = rng.below(crash_in) == 0;
                let kind = match (crash, took) {
                    (true, _) => OpType::Info,
                    (false, true) => OpType::Ok,
                    (false, false) => OpType::Fail,
                };
                let reads = matches!(o.f, "read" | "get");
                let v = if reads && kind == OpType::Ok {
                    got
                } else {
                    o.asked
                };
                push(&mut out, kind, o.process, o.f, &o.key, v);
                if crash {
                    pids[slot] = next_pid;
                    next_pid += 1;
                }
            }
        }
    }
    out
}

fn register_history(clients: u64, ops: usize) -> Vec<Op> {
    let state = std::cell::Cell::new(None::<i64>);
    let v = |x: Option<i64>| x.map_or(Value::Nil, Value::Int);
    simulate(
        0x5eed ^ clients,
        clients,
        ops,
        100,
        |rng| match rng.below(3) {
            0 => ("read", None, Value::Nil),
            1 => ("write", None, Value::Int(rng.below(5) as i64)),
            _ => (
                "cas",
                None,
                Value::List(vec![
                    Value::Int(rng.below(5) as i64),
                    Value::Int(rng.below(5) as i64),
                ]),
            ),
        },
        |f, _, asked| match f {
            "read" => (true, v(state.get())),
            "write" => {
                state.set(asked.as_int());
                (true, Value::Nil)
            }
            _ => {
                let pair = asked.as_seq().unwrap();
                if pair[0].as_int() == state.get() {
                    state.set(pair[1].as_int());
                    (true, Value::Nil)
                } else {
                    (false, Value::Nil)
                }
            }
        },
    )
}

fn kv_history(ops: usize, keys: u64) -> Vec<Op> {
    let map = std::cell::RefCell::new(std::collections::HashMap::<String, String>::new());
    let mut n = 0u64;
    simulate(
        0xc0ffee,
        10,
        ops,
        1000,
        |rng| {
            let key = Some(rng.below(keys).to_string());
            n += 1;
            match rng.below(3) {
                0 => ("get", key, Value::Nil),
                1 => ("put", key, Value::Str(format!("x {n} y"))),
                _ => ("append", key, Value::Str(format!("x {n} y"))),
            }
        },
        |f, key, asked| {
            let mut map = map.borrow_mut();
            let k = key.clone().unwrap();
            match f {
                "get" => (true, Value::Str(map.get(&k).cloned().unwrap_or_default())),
                "put" => {
                    map.insert(k, asked.as_str().unwrap().to_owned());
                    (true, Value::Nil)
                }
                _ => {
                    map.entry(k).or_default().push_str(asked.as_str().unwrap());
                    (true, Value::Nil)
                }
            }
        },
    )
}

/// Writes of distinct values, all concurrent, and reads concurrent with them, each seeing one
/// of the values; then a read of `nil`, which no order allows: every subset of the writes is a
/// configuration the search must rule out.
fn defeating(n: u64) -> Vec<Op> {
    let mut ops = Vec::new();
    let mut push = |kind, p: u64, f: &str, v: Value| {
        let i = ops.len() as u64;
        ops.push(Op::new(kind, Process::Client(p), f, v).at(i, i * 10_000));
    };
    for p in 0..n {
        push(OpType::Invoke, p, "write", Value::Int(p as i64));
    }
    for p in 0..n {
        push(OpType::Invoke, n + p, "read", Value::Nil);
    }
    for p in 0..n {
        push(OpType::Ok, p, "write", Value::Int(p as i64));
    }
    for p in 0..n {
        push(OpType::Ok, n + p, "read", Value::Int(p as i64));
    }
    push(OpType::Invoke, 0, "read", Value::Nil);
    push(OpType::Ok, 0, "read", Value::Nil);
    ops
}

fn judge(ops: &[Op], settings: Settings) -> (CheckResult, Duration, usize) {
    let base = reset_peak();
    let start = Instant::now();
    let r = check(vec![Box::new(Linearizable::new(settings))], ops)
        .unwrap()
        .results
        .remove(0);
    (r, start.elapsed(), peak_since(base))
}

fn median(ops: &[Op], settings: Settings) -> (CheckResult, Duration, usize) {
    median_of(3, ops, settings)
}

fn median_of(n: usize, ops: &[Op], settings: Settings) -> (CheckResult, Duration, usize) {
    let mut runs: Vec<_> = (0..n).map(|_| judge(ops, settings)).collect();
    runs.sort_by_key(|r| r.1);
    runs.swap_remove(n / 2)
}

fn line(name: &str, ops: usize, (r, t, peak): &(CheckResult, Duration, usize)) {
    println!(
        "{name:<36} {ops:>9} {:>9.1} {:>10.2} {:>10} {:>12} {}",
        t.as_secs_f64() * 1e3,
        *peak as f64 / 1e6,
        r.figures["search-steps"],
        r.figures["memo-peak-configurations"],
        r.valid
    );
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let settings = Settings::default();
    println!(
        "{:<36} {:>9} {:>9} {:>10} {:>10} {:>12} valid",
        "history", "ops", "ms", "peak MB", "steps", "memo"
    );
    let sizes: &[usize] = if quick { &[10_000] } else { &[10_000, 100_000] };
    for &n in sizes {
        for clients in [5, 10, 50] {
            let ops = register_history(clients, n);
            let m = median(&ops, settings);
            assert_eq!(m.0.valid, Validity::True, "{}", m.0.summary);
            line(
                &format!("cas-register, {clients} clients, 1% crashed"),
                n,
                &m,
            );
        }
    }
    // The shape of Porcupine's c10 kv history (10 clients, 10 keys, some 300 ops, short
    // values): Porcupine checks that in 0.7 ms partitioned by key.
    let ops = kv_history(300, 10);
    let m = median_of(201, &ops, settings);
    assert_eq!(m.0.valid, Validity::True, "{}", m.0.summary);
    line("kv, 10 keys, 10 clients", 300, &m);
    let n = if quick { 100_000 } else { 1_000_000 };
    let ops = kv_history(n, 1000);
    let m = median(&ops, settings);
    assert_eq!(m.0.valid, Validity::True, "{}", m.0.summary);
    line("kv, 1000 keys, 10 clients", n, &m);
    let one = Settings {
        threads: 1,
        ..settings
    };
    line("kv, 1000 keys, 10 clients, 1 thread", n, &median(&ops, one));

    let ops = defeating(60);
    let budget = Duration::from_secs(2);
    let timed = Settings {
        budget: Budget {
            time: budget,
            memory: 8 << 30,
        },
        threads: 1,
    };
    let r = judge(&ops, timed);
    assert_eq!(r.0.valid, Validity::Unknown, "{}", r.0.summary);
    line("defeating, time budget 2 s", ops.len(), &r);
    println!(
        "  ended after {:.2} s of a {:.0} s budget ({:.1} % over); {}",
        r.1.as_secs_f64(),
        budget.as_secs_f64(),
        (r.1.as_secs_f64() / budget.as_secs_f64() - 1.0) * 100.0,
        r.0.summary
    );
    let memory = 64 << 20;
    let sized = Settings {
        budget: Budget {
            time: Duration::from_secs(600),
            memory,
        },
        threads: 1,
    };
    let r = judge(&ops, sized);
    assert_eq!(r.0.valid, Validity::Unknown, "{}", r.0.summary);
    line("defeating, memory budget 64 MB", ops.len(), &r);
    assert!(r.2 <= memory, "peak heap {} over the memory budget", r.2);
    println!(
        "  peak heap {:.1} MB of a {:.0} MB budget; {}",
        r.2 as f64 / 1e6,
        memory as f64 / 1e6,
        r.0.summary
    );
}
