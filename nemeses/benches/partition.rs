//! Partition latency: `cargo bench -p nemeses --bench partition` (as root).
//!
//! On a 5-node local cluster, from a partition op's invocation until the rules are in force on
//! all 5 nodes (every node's iptables command has returned), and the same for heal; 100 rounds.
#![allow(clippy::unwrap_used)]

use control::cluster::Scratch;
use nemeses::faults::{Faults, Ledger};
use nemeses::grudge::{self, Topology};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn quantile(xs: &mut [Duration], q: f64) -> Duration {
    xs.sort();
    xs[((xs.len() - 1) as f64 * q).round() as usize]
}

fn main() {
    let Some(cluster) = Scratch::up("nbench", "10.208.0.0/24", 5) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let inv = cluster.inventory();
    let faults = Faults::new(
        control::connect_all(&inv).unwrap(),
        Arc::new(Ledger::open(dir.path(), &inv.nodes).unwrap()),
    );
    let names: Vec<String> = inv.nodes.iter().map(|n| n.name.clone()).collect();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(faults.heal_all()).unwrap(); // warm the SSH pool
    let (mut apply, mut heal) = (Vec::new(), Vec::new());
    let mut seed = 1u64;
    for i in 0..100 {
        let g = grudge::grudge(Topology::ALL[i % 4], &names, |n| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((seed >> 33) as usize) % n
        });
        let t = Instant::now();
        rt.block_on(faults.partition(&g, 1.0)).unwrap();
        apply.push(t.elapsed());
        let t = Instant::now();
        rt.block_on(faults.heal_network()).unwrap();
        heal.push(t.elapsed());
    }
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "partition, rules in force on all 5 nodes: p50 {:.1} ms  p99 {:.1} ms",
        ms(quantile(&mut apply, 0.5)),
        ms(quantile(&mut apply, 0.99))
    );
    println!(
        "heal, rules gone from all 5 nodes:         p50 {:.1} ms  p99 {:.1} ms",
        ms(quantile(&mut heal, 0.5)),
        ms(quantile(&mut heal, 0.99))
    );
}
