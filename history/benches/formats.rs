//! History format throughput: `cargo bench -p history --bench formats`.
//!
//! One million ops shaped like a Jepsen list-append run (10 client processes, invoke/complete
//! pairs of transactions of 1–4 micro-ops, a nemesis now and then), written through the
//! `HistoryWriter` (including its final fsync), read back with the streaming reader, and
//! imported from and exported to EDN. Each figure is the median of five runs.
#![allow(clippy::unwrap_used)]

use history::{HistoryWriter, JsonlReader, Op, OpType, Process, Value, edn};
use std::time::{Duration, Instant};

const OPS: usize = 1_000_000;
const RUNS: usize = 5;

fn history(n: usize) -> Vec<Op> {
    let mut ops = Vec::with_capacity(n);
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut rand = move |m: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % m
    };
    let mut next_value = 0i64;
    let mut open: Vec<Option<Value>> = vec![None; 10];
    while ops.len() < n {
        let i = ops.len() as u64;
        if rand(100) == 0 {
            let f = if rand(2) == 0 {
                "start-partition"
            } else {
                "stop-partition"
            };
            let v = Value::List(vec!["isolated".into(), Value::set(vec!["n1".into()])]);
            ops.push(Op::new(OpType::Info, Process::Named("nemesis".into()), f, v).at(i, i * 1000));
            continue;
        }
        let p = rand(10) as usize;
        let op = match open[p].take() {
            None => {
                let mops = (0..1 + rand(4))
                    .map(|_| {
                        let k = Value::Int(rand(100) as i64);
                        if rand(2) == 0 {
                            next_value += 1;
                            Value::List(vec!["append".into(), k, Value::Int(next_value)])
                        } else {
                            Value::List(vec!["r".into(), k, Value::Nil])
                        }
                    })
                    .collect();
                let txn = Value::List(mops);
                open[p] = Some(txn.clone());
                Op::new(OpType::Invoke, Process::Client(p as u64), "txn", txn)
            }
            Some(Value::List(mops)) => {
                let done = mops
                    .into_iter()
                    .map(|m| match m {
                        Value::List(mut parts) if parts[0] == Value::from("r") => {
                            parts[2] = Value::List((0..rand(6) as i64).map(Value::Int).collect());
                            Value::List(parts)
                        }
                        other => other,
                    })
                    .collect();
                Op::new(
                    OpType::Ok,
                    Process::Client(p as u64),
                    "txn",
                    Value::List(done),
                )
            }
            Some(_) => unreachable!(),
        };
        ops.push(op.at(i, i * 1000).on_node("n1"));
    }
    ops
}

fn median(mut xs: Vec<Duration>) -> Duration {
    xs.sort();
    xs[xs.len() / 2]
}

fn measure(runs: usize, mut f: impl FnMut() -> Duration) -> Duration {
    median((0..runs).map(|_| f()).collect())
}

fn row(what: &str, d: Duration, ops: usize, bytes: u64) {
    let s = d.as_secs_f64();
    println!(
        "{what:<28} {:>9.1} ms {:>12.0} ops/s {:>9.1} MB/s",
        s * 1e3,
        ops as f64 / s,
        bytes as f64 / s / 1e6
    );
}

fn main() {
    let ops = history(OPS);
    let dir = tempfile::tempdir().unwrap();
    let jsonl = dir.path().join("history.jsonl");
    let edn_path = dir.path().join("history.edn");

    println!("{OPS} ops, median of {RUNS} runs");
    let write = measure(RUNS, || {
        let ops = ops.clone();
        let start = Instant::now();
        let w = HistoryWriter::create(&jsonl).unwrap();
        for op in ops {
            w.record(op).unwrap();
        }
        w.close().unwrap();
        start.elapsed()
    });
    let jsonl_bytes = std::fs::metadata(&jsonl).unwrap().len();
    row("JSONL write (record+fsync)", write, OPS, jsonl_bytes);

    let read = measure(RUNS, || {
        let start = Instant::now();
        let mut n = 0;
        for op in JsonlReader::open(&jsonl).unwrap() {
            op.unwrap();
            n += 1;
        }
        assert_eq!(n, OPS);
        start.elapsed()
    });
    row("JSONL read (streaming)", read, OPS, jsonl_bytes);

    let export = measure(RUNS, || {
        let start = Instant::now();
        edn::write_all(&edn_path, &ops).unwrap();
        start.elapsed()
    });
    let edn_bytes = std::fs::metadata(&edn_path).unwrap().len();
    row("EDN export", export, OPS, edn_bytes);

    let import = measure(RUNS, || {
        let start = Instant::now();
        let loaded = edn::load(&edn_path).unwrap();
        assert_eq!(loaded.ops.len(), OPS);
        start.elapsed()
    });
    row("EDN import", import, OPS, edn_bytes);
    println!(
        "sizes: JSONL {:.1} MB ({} B/op), EDN {:.1} MB",
        jsonl_bytes as f64 / 1e6,
        jsonl_bytes / OPS as u64,
        edn_bytes as f64 / 1e6
    );
}
