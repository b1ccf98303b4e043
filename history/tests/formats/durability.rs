//! A harness killed with SIGKILL loses no op recorded more than 100 ms before the kill.
//!
//! The test runs itself again as the child (the same test binary, this test alone, with an
//! environment variable naming the file): the child records ops at a steady rate and says
//! which one it has just recorded; the parent notes one, lets 150 ms pass, and kills it.

use crate::common::client;
use history::jsonl::JsonlReader;
use history::{HistoryWriter, Op, OpType, Value};
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

const CHILD_ENV: &str = "RIFT_DURABILITY_CHILD_HISTORY";

#[test]
fn killed_writer_keeps_every_op_flushed_before_the_kill() {
    if let Ok(path) = std::env::var(CHILD_ENV) {
        return run_child(&path);
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.jsonl");
    for round in 0..3 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args([
                "durability::killed_writer_keeps_every_op_flushed_before_the_kill",
                "--exact",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_ENV, &path)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let latest = Arc::new(AtomicU64::new(u64::MAX));
        let stdout = child.stdout.take().unwrap();
        let reader = {
            let latest = latest.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                    if let Some(i) = line.strip_prefix("recorded ").and_then(|i| i.parse().ok()) {
                        latest.store(i, Ordering::SeqCst);
                    }
                }
            })
        };
        // Let it get going, note what it has recorded, give the writer 150 ms, kill.
        let mut waited = 0;
        while latest.load(Ordering::SeqCst) == u64::MAX || latest.load(Ordering::SeqCst) < 200 {
            std::thread::sleep(Duration::from_millis(5));
            waited += 5;
            assert!(waited < 30_000, "child never got going");
        }
        std::thread::sleep(Duration::from_millis(20 * round));
        let noted = latest.load(Ordering::SeqCst);
        std::thread::sleep(Duration::from_millis(150));
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        reader.join().unwrap();

        let mut r = JsonlReader::open(&path).unwrap();
        let ops: Vec<Op> = r.by_ref().map(Result::unwrap).collect();
        assert!(
            ops.len() as u64 > noted,
            "round {round}: op {noted} was recorded 150 ms before the kill, file holds {} ops",
            ops.len()
        );
        assert!(
            ops.iter().enumerate().all(|(i, op)| op.index == i as u64),
            "a dense prefix"
        );
    }
}

fn run_child(path: &str) {
    let w = HistoryWriter::create(path).unwrap();
    let mut out = std::io::stdout().lock();
    for i in 0u64.. {
        let kind = if i % 2 == 0 {
            OpType::Invoke
        } else {
            OpType::Ok
        };
        let op = Op::new(kind, client(i % 10), "add", Value::Int(i as i64)).at(0, i);
        let index = w.record(op).unwrap();
        writeln!(out, "recorded {index}").unwrap();
        out.flush().unwrap();
        // A realistic rate (~2 000 ops/s): slow enough that no buffer fills up and writes for
        // us, so only the timed flush can have put the noted op on disk.
        std::thread::sleep(Duration::from_micros(500));
    }
}
