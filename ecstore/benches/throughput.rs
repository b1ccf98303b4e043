//! ecstore measured: `cargo bench -p ecstore --bench throughput`.
//!
//! 1. One node on loopback, 32 concurrent clients: puts, then gets (5 s each): ops/s, p50, p99.
//! 2. (as root) Three nodes in network namespaces, anti-entropy every 200 ms: one node is cut
//!    off for 10 s while both sides take writes; time from the heal until every replica agrees.
#![allow(clippy::unwrap_used)]

#[path = "../tests/common/mod.rs"]
mod common;

use serde_json::json;
use std::sync::Arc;
use std::time::{Duration, Instant};

const CONCURRENCY: usize = 32;
const PHASE: Duration = Duration::from_secs(5);

fn quantile(xs: &mut [Duration], q: f64) -> Duration {
    xs.sort();
    xs[((xs.len() - 1) as f64 * q).round() as usize]
}

async fn phase(
    client: Arc<reqwest::Client>,
    base: Arc<String>,
    put: bool,
) -> (usize, Vec<Duration>) {
    let tasks: Vec<_> = (0..CONCURRENCY)
        .map(|t| {
            let (client, base) = (client.clone(), base.clone());
            tokio::spawn(async move {
                let mut lat = Vec::new();
                let start = Instant::now();
                let mut i = 0u64;
                while start.elapsed() < PHASE {
                    let key = format!("{base}/kv/register/k{}", (t as u64 * 7 + i) % 100);
                    let t0 = Instant::now();
                    let r = if put {
                        client.post(&key).json(&json!({"value": i})).send().await
                    } else {
                        client.get(&key).send().await
                    };
                    let r = r.unwrap();
                    assert!(r.status().is_success());
                    r.bytes().await.unwrap();
                    lat.push(t0.elapsed());
                    i += 1;
                }
                lat
            })
        })
        .collect();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    (all.len(), all)
}

fn single_node() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_ecstore"))
        .args([
            "--node",
            "n1",
            "--listen",
            "127.0.0.1:8399",
            "--peers",
            "n1=127.0.0.1:8399",
        ])
        .arg("--data-dir")
        .arg(dir.path())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let client = Arc::new(
        reqwest::Client::builder()
            .pool_max_idle_per_host(64)
            .build()
            .unwrap(),
    );
    let base = Arc::new("http://127.0.0.1:8399".to_string());
    rt.block_on(async {
        while client.get(format!("{base}/health")).send().await.is_err() {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    for (name, put) in [("put", true), ("get", false)] {
        let (n, mut lat) = rt.block_on(phase(client.clone(), base.clone(), put));
        println!(
            "one node, {CONCURRENCY} clients, {name}: {:>7.0} ops/s  p50 {:.2} ms  p99 {:.2} ms",
            n as f64 / PHASE.as_secs_f64(),
            quantile(&mut lat, 0.5).as_secs_f64() * 1e3,
            quantile(&mut lat, 0.99).as_secs_f64() * 1e3
        );
    }
    let _ = child.kill();
    let _ = child.wait();
}

fn convergence() {
    let mut times = Vec::new();
    for round in 0..3u8 {
        let Some(mut c) = common::Nodes::new(90 + round, 3) else {
            return;
        };
        c.start_all(&[
            "--write-quorum",
            "1",
            "--read-routing",
            "local",
            "--anti-entropy-ms",
            "200",
        ]);
        c.partition(&[2]);
        let start = Instant::now();
        let mut x = 0;
        while start.elapsed() < Duration::from_secs(10) {
            for (node, key) in [(0, "a"), (2, "b"), (0, "c"), (2, "c")] {
                c.post(node, &format!("/kv/set/{key}{}", x % 20), json!(x))
                    .unwrap();
            }
            x += 1;
            std::thread::sleep(Duration::from_millis(5));
        }
        c.heal();
        let took = c
            .await_agreement(Duration::from_secs(30))
            .expect("never agreed");
        println!(
            "round {round}: {x} write rounds over the 10 s partition; agreement {:.0} ms after the heal",
            took.as_secs_f64() * 1e3
        );
        times.push(took);
    }
    println!(
        "convergence after a 10 s partition, anti-entropy every 200 ms: median {:.0} ms",
        quantile(&mut times, 0.5).as_secs_f64() * 1e3
    );
}

fn main() {
    single_node();
    if nix::unistd::geteuid().is_root() {
        convergence();
    } else {
        println!("SKIPPED convergence: needs root (network namespaces)");
    }
}
