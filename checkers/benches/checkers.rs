//! Checker throughput and memory: `cargo bench -p checkers --bench checkers`.
//!
//! Generated histories are streamed through each checker as they are made (never held whole),
//! so that memory is the checker's own. Shapes: 10 client processes, invoke/complete pairs,
//! one op in five a read, an indeterminate op now and then (its process renumbered), final reads
//! from 5 nodes at the end. Sets and lists are keyed, a fresh key every 256 ops (Jepsen's
//! independent keys: reads stay bounded). Check time is the total minus the time to generate
//! the same ops alone. Peak memory is the heap's peak above what it held before the checker
//! began (a counting allocator), so the ops in flight count too, a few hundred bytes.
//!
//! `RIFT_BENCH_OPS` (default 10 000 000) sets the size; a second round at a tenth of it shows
//! how memory scales.
//!
//! `RIFT_BENCH_FILE=history.jsonl` (or `.edn`) streams that file instead, through each checker
//! of `RIFT_BENCH_CHECKERS` (default `set,session,convergence,stats`) alone, one op in memory at
//! a time: what each checker keeps of that history, in MB and bytes per op. The first row,
//! `(reading)`, is the reader and the pairing with no checker: its peak is the largest op.
//! `RIFT_BENCH_MODELS` names the claimed models (for `list-append`, `rw-register`).
#![allow(clippy::unwrap_used)]

use checkers::{Checker, Counter, Feed, Session, SetChecker};
use history::{Op, OpType, Process, Value};
use std::time::Instant;

#[derive(Clone, Copy, Debug)]
enum Shape {
    Set,
    Counter,
    List,
}

const PROCS: usize = 10;
const OPS_PER_KEY: u64 = 256;

/// Streams a valid history of about `n` ops of a shape into `sink`.
fn generate(shape: Shape, n: u64, sink: &mut dyn FnMut(&Op)) {
    let mut seed = 0x9E37_79B9_7F4A_7C15u64;
    let mut rand = move |m: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % m
    };
    let mut index = 0u64;
    let mut emit = |sink: &mut dyn FnMut(&Op), mut op: Op| {
        op.index = index;
        op.time = index * 1000;
        index += 1;
        sink(&op);
    };
    let mut pids: Vec<u64> = (0..PROCS as u64).collect();
    let mut open: Vec<Option<(&'static str, Value)>> = vec![None; PROCS];
    let mut elements: Vec<i64> = Vec::new();
    let mut previous: Vec<i64> = Vec::new();
    let mut counter = 0i64;
    let mut key = 0i64;
    let mut next = 0i64;
    let mut started = 0u64;
    let keyed = |k: i64, v: Value| Value::List(vec![Value::Int(k), v]);
    let list = |xs: &[i64]| Value::List(xs.iter().map(|&x| Value::Int(x)).collect());
    while started < n / 2 || open.iter().any(Option::is_some) {
        let slot = rand(PROCS as u64) as usize;
        let p = Process::Client(pids[slot]);
        let node = ["n1", "n2", "n3", "n4", "n5"][slot % 5];
        match open[slot].take() {
            None if started < n / 2 => {
                started += 1;
                if started.is_multiple_of(OPS_PER_KEY) && !matches!(shape, Shape::Counter) {
                    key += 1;
                    previous = std::mem::take(&mut elements);
                }
                let read = rand(5) == 0;
                let (f, v) = match (shape, read) {
                    (Shape::Counter, true) => ("read", Value::Nil),
                    (Shape::Counter, false) => ("add", Value::Int(1)),
                    (_, true) => ("read", keyed(key, Value::Nil)),
                    (Shape::Set, false) => {
                        next += 1;
                        ("add", keyed(key, Value::Int(next)))
                    }
                    (Shape::List, false) => {
                        next += 1;
                        ("append", keyed(key, Value::Int(next)))
                    }
                };
                emit(sink, Op::new(OpType::Invoke, p, f, v.clone()).on_node(node));
                open[slot] = Some((f, v));
            }
            None => {}
            Some((f, v)) => {
                let info = f != "read" && rand(1000) == 0;
                let done = match (shape, f) {
                    (Shape::Counter, "read") => Value::Int(counter),
                    (Shape::Counter, _) => {
                        counter += 1;
                        v
                    }
                    (_, "read") => {
                        let k = v.as_seq().unwrap()[0].clone();
                        // A read begun before the key moved on reads the previous key.
                        let held = if k == Value::Int(key) {
                            list(&elements)
                        } else {
                            list(&previous)
                        };
                        Value::List(vec![k, held])
                    }
                    _ => {
                        let parts = v.as_seq().unwrap();
                        let x = parts[1].as_int().unwrap();
                        if parts[0] == Value::Int(key) {
                            elements.push(x);
                        } else {
                            previous.push(x);
                        }
                        v
                    }
                };
                let kind = if info { OpType::Info } else { OpType::Ok };
                emit(sink, Op::new(kind, p, f, done).on_node(node));
                if info {
                    pids[slot] += PROCS as u64;
                }
            }
        }
    }
    // Final reads of the last key from every node.
    for (i, node) in ["n1", "n2", "n3", "n4", "n5"].iter().enumerate() {
        let p = Process::Client(1_000_000_000 + i as u64);
        let (inv, done) = match shape {
            Shape::Counter => (Value::Nil, Value::Int(counter)),
            _ => (keyed(key, Value::Nil), keyed(key, list(&elements))),
        };
        emit(
            sink,
            Op::new(OpType::Invoke, p.clone(), "read", inv)
                .on_node(*node)
                .marked_final(),
        );
        emit(
            sink,
            Op::new(OpType::Ok, p, "read", done)
                .on_node(*node)
                .marked_final(),
        );
    }
}

#[path = "../../bench-support/counting_alloc.rs"]
mod counting_alloc;
use counting_alloc::{peak_since, reset_peak};

/// Each checker's state on a history file, streamed.
fn file_mode(path: &std::path::Path) {
    let names = std::env::var("RIFT_BENCH_CHECKERS")
        .unwrap_or_else(|_| "set,session,convergence,stats".to_owned());
    // `RIFT_BENCH_MODELS=strict-serializable` for the cycle checkers.
    let options = checkers::Options {
        consistency_models: std::env::var("RIFT_BENCH_MODELS")
            .map(|m| m.split(',').map(str::to_owned).collect())
            .unwrap_or_default(),
        ..Default::default()
    };
    println!(
        "{:<14} {:>11} {:>9} {:>11} {:>10} {:>10}",
        "checker", "ops", "s", "ops/s", "peak MB", "B per op"
    );
    for name in std::iter::once("(reading)").chain(names.split(',')) {
        let checkers: Vec<Box<dyn Checker>> = match name {
            "(reading)" => Vec::new(),
            n => vec![checkers::by_name_with(n, &options).expect("a checker's name")],
        };
        let base = reset_peak();
        let start = Instant::now();
        let mut feed = Feed::new(checkers);
        let mut count = 0u64;
        let mut each = |op: Result<Op, history::HistoryError>| {
            feed.push(&op.expect("a readable history"))
                .expect("the history pairs");
            count += 1;
        };
        match history::Format::of_file(path) {
            Some(history::Format::Edn) => history::edn::EdnReader::open(path)
                .expect("the history opens")
                .for_each(&mut each),
            _ => history::JsonlReader::open(path)
                .expect("the history opens")
                .for_each(&mut each),
        }
        let verdict = feed.finish();
        let s = start.elapsed().as_secs_f64();
        let peak = peak_since(base);
        drop(verdict);
        println!(
            "{:<14} {:>11} {:>9.2} {:>11.0} {:>10.1} {:>10.1}",
            name,
            count,
            s,
            count as f64 / s,
            peak as f64 / 1e6,
            peak as f64 / count as f64
        );
    }
}

fn main() {
    if let Ok(path) = std::env::var("RIFT_BENCH_FILE") {
        return file_mode(std::path::Path::new(&path));
    }
    let n: u64 = std::env::var("RIFT_BENCH_OPS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000_000);
    println!(
        "{:<10} {:<8} {:>11} {:>9} {:>9} {:>9} {:>11} {:>10}",
        "history", "checker", "ops", "total s", "gen s", "check s", "ops/s", "peak MB"
    );
    for size in [n, n / 10] {
        for (shape, name) in [
            (Shape::Set, "set"),
            (Shape::Counter, "counter"),
            (Shape::List, "session"),
            (Shape::Set, "session"),
        ] {
            // Generation alone.
            let start = Instant::now();
            let mut count = 0u64;
            generate(shape, size, &mut |_| count += 1);
            let gen_s = start.elapsed().as_secs_f64();

            let base = reset_peak();
            let checker: Box<dyn Checker> = match name {
                "set" => Box::new(SetChecker::default()),
                "counter" => Box::new(Counter::default()),
                _ => Box::new(Session::default()),
            };
            let start = Instant::now();
            let mut feed = Feed::new(vec![checker]);
            generate(shape, size, &mut |op| {
                feed.push(op).expect("the history pairs")
            });
            let result = feed.finish().results.remove(0);
            let total_s = start.elapsed().as_secs_f64();
            let check_s = (total_s - gen_s).max(0.0);
            assert_eq!(
                result.valid,
                checkers::Validity::True,
                "{name}: {}",
                result.summary
            );
            println!(
                "{:<10} {:<8} {:>11} {:>9.2} {:>9.2} {:>9.2} {:>11.0} {:>10.1}",
                format!("{shape:?}").to_lowercase(),
                name,
                count,
                total_s,
                gen_s,
                check_s,
                count as f64 / check_s,
                peak_since(base) as f64 / 1e6
            );
        }
    }
}
