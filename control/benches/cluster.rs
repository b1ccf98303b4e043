//! The local cluster and SSH, measured: `cargo bench -p control --bench cluster` (as root).
//!
//! - `cluster up` of 5 nodes, wall time until every sshd accepts connections (5 rounds);
//! - a trivial command (`true`) over a pooled session, one after another;
//! - the same command on all 5 nodes at once.
#![allow(clippy::unwrap_used)]

use control::cluster::{self, ClusterSpec, StateDir};
use control::nodes::{Defaults, load_nodes_file};
use control::{Cmd, Remote};
use std::time::{Duration, Instant};

fn quantile(xs: &mut [Duration], q: f64) -> Duration {
    xs.sort();
    xs[((xs.len() - 1) as f64 * q).round() as usize]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}

fn main() {
    if !nix::unistd::geteuid().is_root() {
        println!("SKIPPED: the cluster benchmark needs root (network namespaces)");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let spec = ClusterSpec {
        name: "rbench".into(),
        nodes: 5,
        subnet: "10.202.0.0/24".into(),
        state_dir: dir.path().join("cluster"),
    };
    let mut ups = Vec::new();
    let mut downs = Vec::new();
    for _ in 0..5 {
        let start = Instant::now();
        cluster::up(&spec).unwrap();
        ups.push(start.elapsed());
        let start = Instant::now();
        cluster::down(&spec.state_dir).unwrap();
        downs.push(start.elapsed());
    }
    println!(
        "cluster up, 5 nodes:   median {}  max {}",
        ms(quantile(&mut ups, 0.5)),
        ms(quantile(&mut ups, 1.0))
    );
    println!(
        "cluster down, 5 nodes: median {}",
        ms(quantile(&mut downs, 0.5))
    );

    cluster::up(&spec).unwrap();
    let inventory = load_nodes_file(
        &StateDir(spec.state_dir.clone()).nodes_file(),
        &Defaults::standard(),
    )
    .unwrap();
    let remotes = control::connect_all(&inventory).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let trivial = Cmd::new("true");

    let start = Instant::now();
    rt.block_on(remotes[0].run(&trivial)).unwrap();
    println!(
        "first command (connect + auth + run): {}",
        ms(start.elapsed())
    );

    let mut one = Vec::new();
    for _ in 0..500 {
        let start = Instant::now();
        rt.block_on(remotes[0].run(&trivial)).unwrap();
        one.push(start.elapsed());
    }
    println!(
        "pooled `true` on one node (500 runs):  p50 {}  p99 {}",
        ms(quantile(&mut one, 0.5)),
        ms(quantile(&mut one, 0.99))
    );

    let mut all = Vec::new();
    for _ in 0..200 {
        let start = Instant::now();
        let results = rt.block_on(control::on_each(&remotes, |r| async move {
            r.run(&Cmd::new("true")).await
        }));
        assert!(results.iter().all(|(_, r)| r.is_ok()));
        all.push(start.elapsed());
    }
    println!(
        "`true` on all 5 nodes at once (200 runs): p50 {}  p99 {}",
        ms(quantile(&mut all, 0.5)),
        ms(quantile(&mut all, 0.99))
    );
    cluster::down(&spec.state_dir).unwrap();
}
