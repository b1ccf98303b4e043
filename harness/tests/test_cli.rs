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
        Cluster::up_with(id, 3)
    }

    fn up_with(id: u8, nodes: usize) -> Option<Cluster> {
        let scratch =
            control::cluster::Scratch::up(&format!("tc{id}"), &format!("10.205.{id}.0/24"), nodes)?;
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

/// The problems a run recorded in results.json.
fn problems_of(run: &Path) -> Vec<String> {
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("results.json")).unwrap()).unwrap();
    results["run"]["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_str().unwrap().to_owned())
        .collect()
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
    let problems = problems_of(&run);
    assert!(
        problems.iter().any(|p| p.contains("not ready")),
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
    for n in 1..=4 {
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
    (1..=4)
        .filter_map(|n| {
            std::fs::read_to_string(dir.join(format!("nodes/n{n}/work/rift-clock/clock-offset")))
                .ok()
        })
        .filter(|v| v.trim() != "0")
        .collect()
}

/// The local cluster's nodes, as its own nodes file names them: (name, host).
fn cluster_nodes(state: &Path) -> Vec<(String, String)> {
    let text = std::fs::read_to_string(state.join("nodes.toml")).unwrap();
    let table: toml::Table = toml::from_str(&text).unwrap();
    table["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["name"].as_str().unwrap().to_owned(),
                n["host"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// A nodes file for these nodes (by cluster name), in this order, named as given.
fn nodes_file(state: &Path, path: &Path, nodes: &[(String, String)], names: &[String]) {
    let cluster = state;
    let mut text = format!(
        "user = \"root\"\nprivate_key = \"{}\"\nknown_hosts = \"{}\"\n",
        cluster.join("id_ed25519").display(),
        cluster.join("known_hosts").display()
    );
    for ((cluster_name, host), name) in nodes.iter().zip(names) {
        text += &format!(
            "\n[[nodes]]\nname = \"{name}\"\nhost = \"{host}\"\nworkdir = \"{}\"\n",
            cluster
                .join("nodes")
                .join(cluster_name)
                .join("work")
                .display()
        );
    }
    std::fs::write(path, text).unwrap();
}

/// Each running ecstore's own clock against this machine's, in ms (nodes whose store is not
/// running are passed over: their offset file says the rest).
fn store_clock_offsets(hosts: &[String]) -> Vec<String> {
    use std::io::{Read, Write};
    let mut skewed = Vec::new();
    for host in hosts {
        let Ok(mut conn) = std::net::TcpStream::connect_timeout(
            &format!("{host}:8300").parse().unwrap(),
            Duration::from_millis(500),
        ) else {
            continue;
        };
        conn.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let before = std::time::SystemTime::now();
        if conn
            .write_all(b"GET /time HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .is_err()
        {
            continue;
        }
        let mut answer = String::new();
        let _ = conn.read_to_string(&mut answer);
        let after = std::time::SystemTime::now();
        let Some(body) = answer.split("\r\n\r\n").nth(1) else {
            continue;
        };
        let Ok(v) = serde_json::from_str::<serde_json::Value>(body.trim()) else {
            continue;
        };
        let Some(theirs) = v["wall_ns"].as_i64() else {
            continue;
        };
        let ns = |t: std::time::SystemTime| {
            t.duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as i64
        };
        let off_ms = (theirs - (ns(before) + ns(after)) / 2) / 1_000_000;
        if off_ms.abs() > 1_000 {
            skewed.push(format!("{host}: store clock {off_ms} ms off"));
        }
    }
    skewed
}

#[test]
fn fifty_runs_killed_amid_random_faults_are_all_undone_by_rift_heal_given_nodes_any_way() {
    let Some(c) = Cluster::up_with(4, 4) else {
        return;
    };
    let state = c.state_dir().to_path_buf();
    let all = cluster_nodes(&state);
    // Runs use three of the four nodes; a quarter of the heals are given all four.
    let run_nodes = all[..3].to_vec();
    let run_file = c.0.path().join("run-nodes.toml");
    let names: Vec<String> = run_nodes.iter().map(|n| n.0.clone()).collect();
    nodes_file(&state, &run_file, &run_nodes, &names);
    let hosts: Vec<String> = all.iter().map(|n| n.1.clone()).collect();
    let mut rng = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move |m: u64| {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng % m
    };
    let faults = ["partition", "loss", "clock", "pause", "kill"];
    let (mut left_in_force, mut clocks_in_force, mut as_file, mut superset) = (0, 0, 0, 0);
    for round in 0..50 {
        let mut mix: Vec<&str> = faults.iter().copied().filter(|_| next(2) == 0).collect();
        if mix.is_empty() {
            mix.push(faults[next(5) as usize]);
        }
        let mut child = Command::new(env!("CARGO_BIN_EXE_rift"))
            .current_dir(c.0.path())
            .args(["test", "--nodes-file"])
            .arg(&run_file)
            .args([
                "--db",
                "ecstore",
                "--workload",
                "set",
                "--concurrency",
                "2n",
                "--rate",
                "100",
                "--time-limit",
                "60",
                "--op-timeout",
                "1",
                "--nemesis",
                &mix.join(","),
                "--nemesis-interval",
                "0.3",
            ])
            .env("RIFT_ECSTORE_BIN", ecstore())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
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
        std::thread::sleep(Duration::from_millis(next(1500)));
        child.kill().unwrap(); // SIGKILL: no chance to clean up
        child.wait().unwrap();
        let skewed = clock_offsets(&state).len();
        clocks_in_force += usize::from(skewed > 0);
        let before = leftovers(4).len() + skewed;
        left_in_force += usize::from(before > 0);

        // The nodes for heal: shuffled, a superset a quarter of the time, named differently
        // in a nodes file half of the time.
        let mut heal: Vec<(String, String)> = if next(4) == 0 {
            superset += 1;
            all.clone()
        } else {
            run_nodes.clone()
        };
        for i in (1..heal.len()).rev() {
            heal.swap(i, next(i as u64 + 1) as usize);
        }
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_rift"));
        cmd.arg("heal");
        if next(2) == 0 {
            as_file += 1;
            let file = c.0.path().join("heal-nodes.toml");
            let renamed: Vec<String> = (0..heal.len()).map(|i| format!("h{i}")).collect();
            nodes_file(&state, &file, &heal, &renamed);
            cmd.arg("--nodes-file").arg(file);
        } else {
            let list: Vec<&str> = heal.iter().map(|n| n.1.as_str()).collect();
            cmd.args(["--nodes", &list.join(",")])
                .arg("--ssh-private-key")
                .arg(state.join("id_ed25519"))
                .arg("--known-hosts")
                .arg(state.join("known_hosts"));
        }
        let out = cmd.output().unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "round {round} ({mix:?}): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            leftovers(4),
            Vec::<String>::new(),
            "round {round} ({mix:?})"
        );
        assert_eq!(clock_offsets(&state), Vec::<String>::new(), "round {round}");
        assert_eq!(
            store_clock_offsets(&hosts),
            Vec::<String>::new(),
            "round {round}"
        );
        eprintln!("round {round}: {mix:?}, in force before the heal: {before}");
    }
    eprintln!(
        "{left_in_force} of 50 kills left faults in force for rift heal to undo \
         ({clocks_in_force} with a clock skewed); {as_file} heals were given a nodes file, \
         {superset} a superset of the nodes"
    );
    assert!(
        clocks_in_force >= 3,
        "some kills land while a clock is skewed"
    );
    assert!(
        left_in_force >= 10,
        "the kills should often land while faults are active"
    );
}

#[test]
fn a_node_directory_that_cannot_be_made_skips_neither_teardown_nor_the_check() {
    let Some(c) = Cluster::up(5) else { return };
    let child = c
        .rift(&["--workload", "set", "--time-limit", "4"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Once the run directory exists, put a file where n1's log directory must go.
    let start = Instant::now();
    let blocker = loop {
        if let Ok(run) = std::fs::canonicalize(c.0.path().join("results/latest")) {
            let path = run.join("nodes/n1");
            std::fs::write(&path, "in the way").unwrap();
            break path;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no run directory"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let out = child.wait_with_output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(blocker.is_file());
    assert!(
        matches!(out.status.code(), Some(0..=2)),
        "exits with a verdict: {text}"
    );
    let run = c.run_dir();
    let problems = problems_of(&run);
    assert!(
        problems
            .iter()
            .any(|p| p.contains("logs of n1 not downloaded")),
        "{problems:?}"
    );
    assert!(
        run.join("nodes/n2/ecstore.log").is_file(),
        "the others' logs"
    );
    assert_eq!(ecstore_processes(5), 0, "the store was torn down");
    assert_eq!(finals_by_node(&run).len(), 3, "final reads from every node");
}

#[test]
fn a_second_ctrl_c_heals_every_fault_before_exiting() {
    let Some(c) = Cluster::up(6) else { return };
    let child = c
        .rift(&[
            "--workload",
            "set",
            "--time-limit",
            "60",
            "--op-timeout",
            "1",
            "--nemesis",
            "partition,clock,pause",
            "--nemesis-interval",
            "0.3",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = Pid::from_raw(child.id() as i32);
    let start = Instant::now();
    let history = c.0.path().join("results/latest/history.jsonl");
    // Until faults are in force on a node (the ledger says so through the leftovers).
    while leftovers(6).is_empty() && clock_offsets(c.state_dir()).is_empty() {
        assert!(
            start.elapsed() < Duration::from_secs(40),
            "no fault was ever in force"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    kill(pid, Signal::SIGINT).unwrap();
    std::thread::sleep(Duration::from_millis(50));
    kill(pid, Signal::SIGINT).unwrap();
    let out = child.wait_with_output().unwrap();
    let text = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(130), "{text}");
    assert!(history.is_file());
    // No fault is applied once the abort begins, and one being applied (a strobe mid-flip, a
    // pause) is in place before the heal runs: the heal leaves nothing.
    assert!(text.contains("every fault healed; aborted"), "{text}");
    assert!(!text.contains("ABORTED WITH FAULTS IN FORCE"), "{text}");
    assert_eq!(leftovers(6), Vec::<String>::new());
    assert_eq!(clock_offsets(c.state_dir()), Vec::<String>::new());
}

#[test]
fn a_strobe_of_several_nodes_is_one_fault_recorded_with_each_nodes_clock_while_in_force() {
    let Some(c) = Cluster::up(7) else { return };
    let tmp = tempfile::tempdir().unwrap();
    let out = c
        .rift(&[
            "--workload",
            "set",
            "--time-limit",
            "10",
            "--nemesis",
            "clock",
            "--nemesis-targets",
            "all",
            "--nemesis-interval",
            "1",
        ])
        .env("TMPDIR", tmp.path())
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0..=2)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The clock library was uploaded from a scratch directory, and nothing of it is left.
    let left: Vec<_> = std::fs::read_dir(tmp.path()).unwrap().collect();
    assert!(left.is_empty(), "left in TMPDIR: {left:?}");
    let ops = history::jsonl::load(&c.run_dir().join("history.jsonl"))
        .unwrap()
        .ops;
    let strobes: Vec<&history::Op> = ops
        .iter()
        .filter(|o| {
            &*o.f == "start-clock"
                && o.kind != history::OpType::Invoke
                && serde_json::to_string(&o.value).unwrap().contains("strobes")
        })
        .collect();
    assert!(!strobes.is_empty(), "seed 7 strobes at least once");
    for op in strobes {
        let v: serde_json::Value = serde_json::to_value(&op.value).unwrap();
        let requested: std::collections::BTreeMap<String, i64> = v["strobed (ms)"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| (p[0].as_str().unwrap().to_owned(), p[1].as_i64().unwrap()))
            .collect();
        let each = v["strobes"].as_array().unwrap();
        assert_eq!(each.len(), 3, "every node of the fault: {v}");
        let mut windows = Vec::new();
        for s in each {
            let node = s["node"].as_str().unwrap();
            let measured = s["measured in force (ms)"].as_i64().expect("measured");
            assert!(
                (measured - requested[node]).abs() < 2_000,
                "{node}: asked {} ms, measured {measured} ms in force: {v}",
                requested[node]
            );
            windows.push((
                s["from (ms)"].as_i64().unwrap(),
                s["to (ms)"].as_i64().unwrap(),
            ));
        }
        // At once: every node's strobe began before any ended.
        let latest_start = windows.iter().map(|w| w.0).max().unwrap();
        let earliest_end = windows.iter().map(|w| w.1).min().unwrap();
        assert!(latest_start < earliest_end, "{windows:?}");
    }
}
