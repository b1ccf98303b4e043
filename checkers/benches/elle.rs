//! The transactional checker's speed and memory: `cargo bench -p checkers --bench elle`.
//!
//! 1. A list-append history of 1 M transactions (10 processes, 1–7 micro-ops, about 4 on
//!    average, a fresh set of keys every 1 000 transactions, one transaction in a hundred
//!    failed or crashed) from a strictly serializable model, streamed into the checker and
//!    checked for strict-serializable.
//! 2. One giant strongly connected component: 16 000 transactions on 3 keys against a store that reads
//!    a random stale prefix a third of the time, with processes crashing often (every crash
//!    starts a new process), checked for strict-serializable: every class must be decided (no
//!    search out of budget).
//! 3. Long lists: 100 000 transactions on 10 keys per 10 000 transactions, so lists grow to
//!    about 2 000 elements and every read returns the whole list (hundreds of millions of
//!    elements read in all). Peak memory is compared with the history's size as JSON Lines
//!    (must stay within 5 ×).
//!
//! Check time is the total minus the time to generate the same ops alone; peak memory is the
//! heap's peak above what it held before the checker began (a counting allocator).
#![allow(clippy::unwrap_used)]

use checkers::{Checker, Elle, Feed, Validity};
use history::{Op, OpType, Process, Value};
use std::collections::BTreeMap;
use std::time::Instant;

#[path = "../../bench-support/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::{peak_since, reset_peak};

#[path = "../../bench-support/rng.rs"]
mod rng;
use rng::Rng;

fn mop(f: &str, k: i64, v: Value) -> Value {
    Value::List(vec![Value::from(f), Value::Int(k), v])
}

/// Streams a list-append history. `stale`: one read in three returns a random prefix.
fn generate(
    n: u64,
    procs: u64,
    keys_per_epoch: i64,
    epoch_len: u64,
    stale: bool,
    crash_one_in: u64,
    sink: &mut dyn FnMut(&Op),
) {
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let mut lists: BTreeMap<i64, Vec<i64>> = BTreeMap::new();
    let mut pids: Vec<u64> = (0..procs).collect();
    let mut open: Vec<Option<Value>> = vec![None; procs as usize];
    let (mut started, mut next, mut index) = (0u64, 0i64, 0u64);
    let mut emit = |sink: &mut dyn FnMut(&Op), kind: OpType, p: u64, v: Value| {
        let op = Op::new(kind, Process::Client(p), "txn", v).at(index, index * 100);
        index += 1;
        sink(&op);
    };
    while started < n || open.iter().any(Option::is_some) {
        let slot = rng.below(procs) as usize;
        let p = pids[slot];
        match open[slot].take() {
            None if started < n => {
                started += 1;
                let epoch = (started / epoch_len) as i64 * keys_per_epoch;
                if started.is_multiple_of(epoch_len) {
                    // Keys of the epoch before last are done with.
                    lists.retain(|k, _| *k >= epoch - keys_per_epoch);
                }
                let count = 1 + rng.below(7);
                let mops: Vec<Value> = (0..count)
                    .map(|_| {
                        let k = epoch + rng.below(keys_per_epoch as u64) as i64;
                        if rng.below(2) == 0 {
                            mop("r", k, Value::Nil)
                        } else {
                            next += 1;
                            mop("append", k, Value::Int(next))
                        }
                    })
                    .collect();
                let v = Value::List(mops);
                emit(sink, OpType::Invoke, p, v.clone());
                open[slot] = Some(v);
            }
            None => {}
            Some(v) => {
                let roll = rng.below(crash_one_in.max(2));
                let kind = match roll {
                    0 => OpType::Info,
                    1 if crash_one_in > 2 => OpType::Fail,
                    _ => OpType::Ok,
                };
                let apply = kind != OpType::Fail;
                let mut done = Vec::new();
                for m in v.as_seq().unwrap() {
                    let parts = m.as_seq().unwrap();
                    let k = parts[1].as_int().unwrap();
                    if parts[0].as_str() == Some("r") {
                        let list = lists.get(&k).map_or(&[][..], |l| &l[..]);
                        let shown = if stale && rng.below(3) == 0 {
                            &list[..rng.below(list.len() as u64 + 1) as usize]
                        } else {
                            list
                        };
                        done.push(mop(
                            "r",
                            k,
                            Value::List(shown.iter().map(|&x| Value::Int(x)).collect()),
                        ));
                    } else {
                        if apply {
                            lists.entry(k).or_default().push(parts[2].as_int().unwrap());
                        }
                        done.push(m.clone());
                    }
                }
                let value = if kind == OpType::Ok {
                    Value::List(done)
                } else {
                    v
                };
                emit(sink, kind, p, value);
                if kind == OpType::Info {
                    pids[slot] += procs;
                }
            }
        }
    }
}

fn main() {
    let models = vec!["strict-serializable".to_owned()];
    println!(
        "{:<34} {:>9} {:>8} {:>8} {:>8} {:>10} {:>9} {:>12}",
        "history", "txns", "total s", "gen s", "check s", "peak MB", "B/txn", "largest SCC"
    );
    for (name, n, procs, keys, epoch, stale, crash) in [
        (
            "list-append, serializable",
            1_000_000u64,
            10u64,
            10i64,
            1000u64,
            false,
            100u64,
        ),
        (
            "list-append, one giant SCC",
            16_000,
            10,
            3,
            u64::MAX,
            true,
            4,
        ),
        (
            "list-append, long lists",
            100_000,
            10,
            10,
            10_000,
            false,
            100,
        ),
    ] {
        // The history's size as JSON Lines, measured apart.
        let mut input_bytes = 0u64;
        let mut longest = 0usize;
        generate(n, procs, keys, epoch, stale, crash, &mut |op| {
            input_bytes += serde_json::to_vec(op).unwrap().len() as u64 + 1;
            if op.kind == OpType::Ok {
                for m in op.value.as_seq().unwrap() {
                    if let Some(Value::List(xs)) = m.as_seq().and_then(|p| p.get(2)) {
                        longest = longest.max(xs.len());
                    }
                }
            }
        });
        let start = Instant::now();
        let mut count = 0u64;
        generate(n, procs, keys, epoch, stale, crash, &mut |_| count += 1);
        let gen_s = start.elapsed().as_secs_f64();

        let base = reset_peak();
        let checker: Box<dyn Checker> = Box::new(Elle::list_append(&models));
        let mut feed = Feed::new(vec![checker]);
        let start = Instant::now();
        generate(n, procs, keys, epoch, stale, crash, &mut |op| {
            feed.push(op).expect("the history pairs")
        });
        let result = feed.finish().results.remove(0);
        let total_s = start.elapsed().as_secs_f64();
        let peak = peak_since(base);
        let largest = &result.figures["largest-component"];
        let exhausted = result.figures["search-exhausted"]
            .as_array()
            .map_or(0, Vec::len);
        println!(
            "{:<34} {:>9} {:>8.2} {:>8.2} {:>8.2} {:>10.1} {:>9.0} {:>12}",
            name,
            n,
            total_s,
            gen_s,
            (total_s - gen_s).max(0.0),
            peak as f64 / 1e6,
            peak as f64 / n as f64,
            largest
        );
        println!(
            "  verdict {}: {}",
            result.valid,
            result.summary.chars().take(200).collect::<String>()
        );
        println!("  edges {}", result.figures["edges"]);
        println!(
            "  input {:.1} MB as JSON Lines, longest read {longest} elements; peak / input {:.2}",
            input_bytes as f64 / 1e6,
            peak as f64 / input_bytes as f64
        );
        if stale {
            assert_eq!(exhausted, 0, "every class decided");
            assert_eq!(result.valid, Validity::False);
        } else {
            assert_eq!(result.valid, Validity::True, "{}", result.summary);
        }
        assert!(
            peak as u64 <= 5 * input_bytes,
            "{name}: peak {peak} B is over 5 × the input's {input_bytes} B"
        );
        let _ = count;
    }
}
