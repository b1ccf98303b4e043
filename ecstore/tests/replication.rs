//! ecstore across real processes in real network namespaces: convergence, and its flaws.
#![allow(clippy::unwrap_used)]

mod common;

use common::Nodes;
use serde_json::json;
use std::time::Duration;

/// Available under a partition: every node accepts writes alone, reads its own replica.
const ALONE: &[&str] = &[
    "--write-quorum",
    "1",
    "--read-quorum",
    "1",
    "--read-routing",
    "local",
];

#[test]
fn crdt_with_anti_entropy_converges_after_a_partition_heals() {
    let Some(mut c) = Nodes::new(1, 3) else {
        return;
    };
    let mut flags = ALONE.to_vec();
    flags.extend(["--resolution", "crdt", "--anti-entropy-ms", "200"]);
    c.start_all(&flags);

    c.partition(&[2]);
    for x in 1..=5 {
        c.post(0, "/kv/set/s", json!(x)).unwrap();
        c.post(2, "/kv/set/s", json!(100 + x)).unwrap();
        c.post(0, "/kv/counter/k", json!(1)).unwrap();
        c.post(2, "/kv/counter/k", json!(2)).unwrap();
    }
    std::thread::sleep(Duration::from_millis(600)); // several anti-entropy rounds, all cut
    assert_eq!(c.local(0, "set", "s"), json!([1, 2, 3, 4, 5]));
    assert_eq!(c.local(2, "set", "s"), json!([101, 102, 103, 104, 105]));
    assert_ne!(c.digest(0), c.digest(2), "the partition divides them");

    c.heal();
    let took = c
        .await_agreement(Duration::from_secs(10))
        .expect("replicas never agreed");
    eprintln!("agreement {took:?} after the heal");
    for i in 0..3 {
        assert_eq!(
            c.local(i, "set", "s"),
            json!([1, 2, 3, 4, 5, 101, 102, 103, 104, 105]),
            "node {i}"
        );
        assert_eq!(
            c.local(i, "counter", "k"),
            json!(15),
            "node {i}: no increment lost"
        );
    }
}

#[test]
fn without_anti_entropy_a_key_never_read_again_stays_divergent() {
    let Some(mut c) = Nodes::new(2, 3) else {
        return;
    };
    // Read repair on, anti-entropy off: only reads heal.
    let mut flags = ALONE.to_vec();
    flags.extend([
        "--resolution",
        "crdt",
        "--anti-entropy-ms",
        "0",
        "--read-repair",
        "on",
    ]);
    c.start_all(&flags);

    c.partition(&[2]);
    c.post(2, "/kv/set/cold", json!(7)).unwrap(); // written on the minority side only
    c.post(0, "/kv/set/hot", json!(1)).unwrap();
    c.heal();
    std::thread::sleep(Duration::from_secs(2));
    // Never read again: still only where it was written.
    assert_eq!(c.local(2, "set", "cold"), json!([7]));
    assert_eq!(c.local(0, "set", "cold"), json!([]));
    assert_eq!(c.local(1, "set", "cold"), json!([]));
    assert!(
        c.await_agreement(Duration::from_millis(500)).is_none(),
        "nothing heals the cold key"
    );
}

#[test]
fn read_repair_heals_what_a_quorum_read_finds_stale() {
    let Some(mut c) = Nodes::new(3, 3) else {
        return;
    };
    c.start_all(&[
        "--write-quorum",
        "1",
        "--read-quorum",
        "3",
        "--read-routing",
        "quorum",
        "--anti-entropy-ms",
        "0",
    ]);
    c.partition(&[2]);
    c.post(2, "/kv/set/cold", json!(7)).unwrap();
    c.heal();
    assert_eq!(c.local(0, "set", "cold"), json!([]));
    // A quorum read sees the write, and repairs the replicas that lacked it.
    assert_eq!(c.get(0, "/kv/set/cold").unwrap()["value"], json!([7]));
    assert!(c.await_agreement(Duration::from_secs(5)).is_some());
    assert_eq!(c.local(1, "set", "cold"), json!([7]));
}

#[test]
fn quorums_fail_clearly_when_a_side_is_too_small() {
    let Some(mut c) = Nodes::new(4, 3) else {
        return;
    };
    c.start_all(&["--peer-timeout-ms", "300", "--anti-entropy-ms", "0"]); // W = R = 2 of 3
    c.partition(&[2]);
    let e = c.post(2, "/kv/set/s", json!(1)).unwrap_err();
    assert!(
        e.contains("write quorum not met: 1 of 2") && e.contains("\"definite\":false"),
        "{e}"
    );
    let e = c.get(2, "/kv/set/s").unwrap_err();
    assert!(
        e.contains("read quorum not met") && e.contains("\"definite\":true"),
        "{e}"
    );
    // The majority side carries on.
    c.post(0, "/kv/set/s", json!(2)).unwrap();
    assert_eq!(c.get(1, "/kv/set/s").unwrap()["value"], json!([2]));
}

#[test]
fn a_killed_node_restarts_with_everything_it_acknowledged() {
    let Some(mut c) = Nodes::new(5, 1) else {
        return;
    };
    c.start_all(&["--fsync", "never"]);
    for x in 0..50 {
        c.post(0, "/kv/list/l", json!(x)).unwrap();
    }
    let before = c.local(0, "list", "l");
    // SIGKILL, no goodbye; the ecstore process is the one in the namespace.
    let pids = std::process::Command::new("ip")
        .args(["netns", "pids", &c.state.nodes[0].namespace])
        .output()
        .unwrap();
    for pid in String::from_utf8_lossy(&pids.stdout).split_whitespace() {
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        if comm.trim() == "ecstore" {
            nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid.parse().unwrap()),
                nix::sys::signal::Signal::SIGKILL,
            )
            .unwrap();
        }
    }
    if let Some(mut child) = c.procs[0].take() {
        child.wait().unwrap();
    }
    c.start(0, &["--fsync", "never"]);
    c.await_ready(0);
    assert_eq!(c.local(0, "list", "l"), before);
    assert_eq!(before.as_array().unwrap().len(), 50);
}

/// n1's clock runs 10 s ahead. A write through n1, then a later write through n2, both
/// acknowledged by every replica: which one do the replicas keep?
fn register_after_skewed_writes(id: u8, resolution: &str) -> Option<serde_json::Value> {
    let mut c = Nodes::new(id, 3)?;
    let flags = [
        "--resolution",
        resolution,
        "--write-quorum",
        "3",
        "--read-quorum",
        "3",
        "--anti-entropy-ms",
        "0",
    ];
    let offset = c.dir.path().join("n1-clock-offset");
    nemeses::clock::write_offset(&offset, 10_000_000_000).unwrap();
    c.start_skewed(0, &flags, &offset);
    c.start(1, &flags);
    c.start(2, &flags);
    for i in 0..3 {
        c.await_ready(i);
    }
    let wall = |i| c.get(i, "/time").unwrap()["wall_ns"].as_i64().unwrap();
    let ahead = (wall(0) - wall(1)) as f64 / 1e9;
    assert!((ahead - 10.0).abs() < 1.0, "n1 is {ahead} s ahead of n2");

    c.post(0, "/kv/register/x", json!("earlier")).unwrap();
    std::thread::sleep(Duration::from_millis(50));
    c.post(1, "/kv/register/x", json!("later")).unwrap();
    let read = c.get(2, "/kv/register/x").unwrap()["value"].clone();
    for i in 0..3 {
        assert_eq!(
            c.local(i, "register", "x"),
            read,
            "every replica keeps the same value"
        );
    }
    Some(read)
}

#[test]
fn lww_wall_with_a_clock_ahead_lets_an_earlier_write_overwrite_a_later_acknowledged_one() {
    let Some(kept) = register_after_skewed_writes(6, "lww-wall") else {
        return;
    };
    assert_eq!(
        kept,
        json!("earlier"),
        "the later acknowledged write is lost"
    );
}

#[test]
fn lww_hlc_keeps_the_later_write_despite_the_clock_ahead() {
    let Some(kept) = register_after_skewed_writes(7, "lww-hlc") else {
        return;
    };
    assert_eq!(kept, json!("later"));
}
