//! `rift test` as a user runs it, on a real local cluster with ecstore (root; CI runs these).
#![allow(clippy::unwrap_used)]

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A cluster, and a working directory for rift's results.
struct Cluster(tempfile::TempDir, control::cluster::Scratch);

impl Cluster {
    fn up(id: u8) -> Option<Cluster> {
        let scratch =
            control::cluster::Scratch::up(&format!("tc{id}"), &format!("10.205.{id}.0/24"), 3)?;
        Some(Cluster(tempfile::tempdir().unwrap(), scratch))
    }

    fn state_dir(&self) -> &Path {
        &self.1.state_dir
    }

    fn rift(&self, extra: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_rift"));
        c.current_dir(self.0.path())
            .args(["test", "--local", "--cluster-state-dir"])
            .arg(self.state_dir())
            .args([
                "--db",
                "ecstore",
                "--concurrency",
                "2n",
                "--rate",
                "100",
                "--seed",
                "7",
            ])
            .args(extra)
            .env("RIFT_ECSTORE_BIN", ecstore());
        c
    }

    fn run_dir(&self) -> std::path::PathBuf {
        std::fs::canonicalize(self.0.path().join("results/latest")).unwrap()
    }
}

/// The ecstore binary built beside rift.
fn ecstore() -> std::path::PathBuf {
    Path::new(env!("CARGO_BIN_EXE_rift")).with_file_name("ecstore")
}

fn finals_by_node(run: &Path) -> std::collections::BTreeSet<String> {
    history::jsonl::load(&run.join("history.jsonl"))
        .unwrap()
        .ops
        .iter()
        .filter(|o| o.is_final && o.kind == history::OpType::Ok)
        .map(|o| o.node.as_deref().unwrap().to_owned())
        .collect()
}

/// ecstore processes inside this cluster's namespaces.
fn ecstore_processes(id: u8) -> usize {
    (1..=3)
        .flat_map(|n| {
            let out = Command::new("ip")
                .args(["netns", "pids", &format!("tc{id}-n{n}")])
                .output()
                .unwrap();
            String::from_utf8_lossy(&out.stdout)
                .split_whitespace()
                .map(String::from)
                .collect::<Vec<_>>()
        })
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/comm"))
                .is_ok_and(|c| c.trim() == "ecstore")
        })
        .count()
}

#[test]
fn a_short_run_leaves_a_complete_run_directory_and_exits_with_the_verdict() {
    let Some(c) = Cluster::up(1) else { return };
    let out = c
        .rift(&["--workload", "set", "--time-limit", "3"])
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("final reads: every replica agreed"), "{text}");
    let run = c.run_dir();
    for f in [
        "test.json",
        "history.jsonl",
        "results.json",
        "rift.log",
        "nodes/n1/ecstore.log",
        "nodes/n3/ecstore.log",
    ] {
        assert!(run.join(f).is_file(), "{f} missing");
    }
    assert_eq!(finals_by_node(&run).len(), 3, "final reads from every node");
    let plan: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("test.json")).unwrap()).unwrap();
    assert_eq!(plan["plan"]["seed"], 7);
    assert_eq!(plan["concurrency"], 6);
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("results.json")).unwrap()).unwrap();
    assert_eq!(results["run"]["final_phase"]["agreed"], true);
    assert_eq!(results["run"]["problems"], serde_json::json!([]));
}

#[test]
fn sigint_ends_the_run_early_but_still_heals_reads_downloads_logs_tears_down_and_reports() {
    let Some(c) = Cluster::up(2) else { return };
    let child = c
        .rift(&[
            "--workload",
            "counter",
            "--time-limit",
            "60",
            "--nemesis",
            "partition,clock",
            "--nemesis-interval",
            "0.5",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Once a fault has been injected, interrupt.
    let start = Instant::now();
    loop {
        let history = c.0.path().join("results/latest/history.jsonl");
        if std::fs::read_to_string(&history).is_ok_and(|h| h.contains("\"f\":\"start-")) {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "the run never started"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    kill(Pid::from_raw(child.id() as i32), Signal::SIGINT).unwrap();
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        start.elapsed() < Duration::from_secs(40),
        "the 60 s run was cut short"
    );
    assert!(text.contains("interrupted: finishing the run"), "{text}");
    assert!(
        matches!(out.status.code(), Some(0..=2)),
        "exits with a verdict: {text}"
    );
    let run = c.run_dir();
    assert!(
        run.join("nodes/n2/ecstore.log").is_file(),
        "logs downloaded"
    );
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("results.json")).unwrap()).unwrap();
    assert_eq!(results["run"]["interrupted"], true);
    assert_eq!(finals_by_node(&run).len(), 3, "final reads from every node");
    assert_eq!(ecstore_processes(2), 0, "the store was torn down");
    // Interrupted mid-fault or not, every fault was healed on the way out.
    assert_eq!(leftovers(2), Vec::<String>::new());
    assert_eq!(clock_offsets(c.state_dir()), Vec::<String>::new());
    let history = std::fs::read_to_string(run.join("history.jsonl")).unwrap();
    assert!(
        history.contains("\"f\":\"heal\""),
        "the heal is in the history"
    );
}

#[test]
fn when_the_store_cannot_start_the_run_still_ends_in_a_report() {
    let Some(c) = Cluster::up(3) else { return };
    // ecstore refuses this flag: setup fails on every node; nothing else may be skipped.
    let out = c
        .rift(&[
            "--workload",
            "set",
            "--time-limit",
            "2",
            "--db-flag=--no-such-flag",
            "--final-read-bound",
            "1",
        ])
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        out.status.code(),
        Some(2),
        "unknown: nothing was observed: {text}"
    );
    let run = c.run_dir();
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("results.json")).unwrap()).unwrap();
    let problems = results["run"]["problems"].as_array().unwrap();
    assert!(
        problems
            .iter()
            .any(|p| p.as_str().unwrap().contains("not ready")),
        "{problems:?}"
    );
    assert!(
        run.join("nodes/n1/ecstore.log").is_file(),
        "the log that says why was downloaded"
    );
    assert!(
        std::fs::read_to_string(run.join("nodes/n1/ecstore.log"))
            .unwrap()
            .contains("--no-such-flag")
    );
}

/// What rift may have left on a node: its firewall chain, a clock offset, a stopped process.
fn leftovers(id: u8) -> Vec<String> {
    let mut found = Vec::new();
    for n in 1..=3 {
        let ns = format!("tc{id}-n{n}");
        let rules = Command::new("ip")
            .args(["netns", "exec", &ns, "iptables", "-S"])
            .output()
            .unwrap();
        if String::from_utf8_lossy(&rules.stdout).contains("RIFT") {
            found.push(format!("{ns}: RIFT rules"));
        }
        let pids = Command::new("ip")
            .args(["netns", "pids", &ns])
            .output()
            .unwrap();
        for pid in String::from_utf8_lossy(&pids.stdout).split_whitespace() {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            if stat
                .rsplit_once(')')
                .is_some_and(|(_, rest)| rest.trim_start().starts_with('T'))
            {
                found.push(format!("{ns}: process {pid} stopped"));
            }
        }
    }
    found
}

fn clock_offsets(dir: &Path) -> Vec<String> {
    (1..=3)
        .filter_map(|n| {
            std::fs::read_to_string(
                dir.join(format!("cluster/nodes/n{n}/work/ecstore/clock-offset")),
            )
            .ok()
        })
        .filter(|v| v.trim() != "0")
        .collect()
}

#[test]
fn twenty_runs_killed_with_faults_active_are_all_undone_by_rift_heal() {
    let Some(c) = Cluster::up(4) else { return };
    let mut lcg = 12345u64;
    let mut healed_something = 0;
    for round in 0..20 {
        let mut child = c
            .rift(&[
                "--workload",
                "set",
                "--time-limit",
                "60",
                "--op-timeout",
                "1",
                "--nemesis",
                "partition,clock,pause,loss",
                "--nemesis-interval",
                "0.3",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        // Wait for the run to be under way, then a little more, different every round.
        let start = Instant::now();
        let history = c.0.path().join("results/latest/history.jsonl");
        while !std::fs::read_to_string(&history).is_ok_and(|h| h.contains("\"nemesis\""))
            || start.elapsed() < Duration::from_millis(200)
        {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "round {round}: no fault was ever injected"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        lcg = lcg
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        std::thread::sleep(Duration::from_millis((lcg >> 33) % 1200));
        child.kill().unwrap(); // SIGKILL: no chance to clean up
        child.wait().unwrap();
        let before = leftovers(4).len() + clock_offsets(c.state_dir()).len();
        healed_something += usize::from(before > 0);

        let out = Command::new(env!("CARGO_BIN_EXE_rift"))
            .args(["heal", "--local", "--cluster-state-dir"])
            .arg(c.state_dir())
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "round {round}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(leftovers(4), Vec::<String>::new(), "round {round}");
        assert_eq!(
            clock_offsets(c.state_dir()),
            Vec::<String>::new(),
            "round {round}"
        );
    }
    eprintln!("{healed_something} of 20 kills left faults in force for rift heal to undo");
    assert!(
        healed_something >= 5,
        "the kills should often land while faults are active"
    );
}
