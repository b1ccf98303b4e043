//! rift's op rate against Redis vs `redis-benchmark` against the same node at the same
//! concurrency, side by side in one run: `cargo bench -p harness --bench redis` (root, for the
//! local cluster; Debian redis-server, redis-sentinel and redis-tools).
//!
//! rift runs the `register` workload (half SET, half GET of single keys, each op recorded to
//! the history, timed, checked) with 10 workers bound to the primary, as fast as it can;
//! redis-benchmark runs SET and GET with 10 clients, no pipelining. redis-benchmark's rate is the
//! harmonic mean of its SET and GET rates (a 50/50 mix). Three rounds; medians.
#![allow(clippy::unwrap_used)]

use std::process::Command;

fn rift_rate(state: &std::path::Path, results: &std::path::Path) -> f64 {
    let out = Command::new(env!("CARGO_BIN_EXE_rift"))
        .args([
            "test",
            "--db",
            "redis",
            "-w",
            "register",
            "--concurrency",
            "10",
            "--rate",
            "10000000",
            "--time-limit",
            "8",
            "--leave-db-running",
            "--nodes-file",
        ])
        .arg(state.join("bench-nodes.toml"))
        .arg("--results-dir")
        .arg(results)
        .output()
        .unwrap();
    let run = std::fs::canonicalize(results.join("redis-register/latest"))
        .unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)));
    let ops = history::jsonl::load(&run.join("history.jsonl"))
        .unwrap()
        .ops;
    let main: Vec<_> = ops
        .iter()
        .filter(|o| o.process.is_client() && !o.is_final && o.kind.is_completion())
        .collect();
    let first = ops.iter().find(|o| o.process.is_client()).unwrap().time;
    let last = main.last().unwrap().time;
    main.len() as f64 / ((last - first) as f64 / 1e9)
}

fn redis_benchmark(host: &str) -> f64 {
    let out = Command::new("redis-benchmark")
        .args([
            "-h", host, "-p", "6379", "-c", "10", "-n", "200000", "-r", "5",
        ])
        .args(["-t", "set,get", "--csv"])
        .output()
        .expect("redis-benchmark (Debian redis-tools)");
    let text = String::from_utf8_lossy(&out.stdout);
    let rates: Vec<f64> = text
        .lines()
        .filter(|l| l.starts_with("\"SET\"") || l.starts_with("\"GET\""))
        .map(|l| {
            l.split(',')
                .nth(1)
                .unwrap()
                .trim_matches('"')
                .parse()
                .unwrap()
        })
        .collect();
    assert_eq!(rates.len(), 2, "{text}");
    2.0 / (1.0 / rates[0] + 1.0 / rates[1])
}

fn main() {
    let Some(cluster) = control::cluster::Scratch::up("rbench", "10.211.0.0/24", 3) else {
        return;
    };
    let inv = cluster.inventory();
    let primary = inv.nodes[0].host.clone();
    // Only the primary: every rift worker is bound to it, as redis-benchmark's clients are.
    let nodes = std::fs::read_to_string(cluster.dir().nodes_file()).unwrap();
    let first_only = nodes
        .split("[[nodes]]")
        .take(2)
        .collect::<Vec<_>>()
        .join("[[nodes]]");
    std::fs::write(cluster.state_dir.join("bench-nodes.toml"), first_only).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    for round in 0..3 {
        ours.push(rift_rate(
            &cluster.state_dir,
            &dir.path().join(round.to_string()),
        ));
        theirs.push(redis_benchmark(&primary));
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[1]
    };
    let (r, b) = (median(&mut ours), median(&mut theirs));
    println!(
        "redis, concurrency 10, one node: rift {r:.0} ops/s, redis-benchmark {b:.0} ops/s: rift reaches {:.0} % (medians of 3; rift {ours:.0?}, redis-benchmark {theirs:.0?})",
        100.0 * r / b
    );
}
