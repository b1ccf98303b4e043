//! Partitions, packet loss and clock offsets on a real local cluster (root; CI runs these).
#![allow(clippy::unwrap_used)]

use control::cluster::Scratch;
use control::{Cmd, Remote, SshNode};
use nemeses::faults::{Faults, Ledger};
use nemeses::grudge::{self, Topology};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

struct Cluster {
    dir: tempfile::TempDir,
    faults: Faults,
    rt: tokio::runtime::Runtime,
    ips: BTreeMap<String, String>,
    _cluster: Scratch,
}

fn cluster(id: u8, n: usize) -> Option<Cluster> {
    let scratch = Scratch::up(&format!("nm{id}"), &format!("10.207.{id}.0/24"), n)?;
    let inv = scratch.inventory();
    let dir = tempfile::tempdir().unwrap();
    let remotes: Vec<Arc<SshNode>> = control::connect_all(&inv).unwrap();
    let ledger = Arc::new(Ledger::open(dir.path(), &inv.nodes).unwrap());
    let ips = inv
        .nodes
        .iter()
        .map(|n| (n.name.clone(), n.host.clone()))
        .collect();
    Some(Cluster {
        dir,
        faults: Faults::new(remotes, ledger),
        rt: tokio::runtime::Runtime::new().unwrap(),
        ips,
        _cluster: scratch,
    })
}

impl Cluster {
    /// Which (from, to) pairs can open a TCP connection, probed from every node at once.
    fn reachability(&self) -> BTreeMap<(String, String), bool> {
        let targets: Vec<(String, String)> = self
            .ips
            .iter()
            .map(|(n, ip)| (n.clone(), ip.clone()))
            .collect();
        let results = self.rt.block_on(control::on_each(&self.faults.remotes, |r| {
            let targets = targets.clone();
            async move {
                let me = r.node().name.clone();
                let probes: Vec<String> = targets
                    .iter()
                    .filter(|(n, _)| *n != me)
                    .map(|(n, ip)| format!("(timeout 1 bash -c 'exec 3<>/dev/tcp/{ip}/22' && echo '{n} yes' || echo '{n} no') &"))
                    .collect();
                let out = r.run(&Cmd::script(format!("{} wait", probes.join(" ")))).await?;
                Ok((me, out.stdout_text()))
            }
        }));
        let mut map = BTreeMap::new();
        for (_, r) in results {
            let (me, text) = r.unwrap();
            for line in text.lines() {
                let (to, answer) = line.split_once(' ').unwrap();
                map.insert((me.clone(), to.to_owned()), answer == "yes");
            }
        }
        map
    }
}

#[test]
fn each_topology_cuts_exactly_its_pairs_and_heal_restores_all() {
    let Some(c) = cluster(1, 5) else { return };
    let names: Vec<String> = c.ips.keys().cloned().collect();
    let mut seed = 7usize;
    for topology in Topology::ALL {
        let g = grudge::grudge(topology, &names, |n| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) % n
        });
        c.rt.block_on(c.faults.partition(&g, 1.0)).unwrap();
        let seen = c.reachability();
        for ((from, to), reachable) in &seen {
            assert_eq!(
                *reachable,
                grudge::connected(&g, from, to),
                "{}: {from} -> {to} under {g:?}",
                topology.name()
            );
        }
        assert!(
            seen.values().any(|r| !r),
            "{} cut something",
            topology.name()
        );
        // The controller reaches every node throughout.
        for r in &c.faults.remotes {
            c.rt.block_on(r.run(&Cmd::new("true"))).unwrap();
        }
    }
    c.rt.block_on(c.faults.heal_all()).unwrap();
    assert!(c.reachability().values().all(|r| *r), "healed");
    for r in &c.faults.remotes {
        let rules =
            c.rt.block_on(r.run(&Cmd::new("iptables").args(["-S"])))
                .unwrap()
                .stdout_text();
        assert!(!rules.contains("RIFT"), "no trace of rift's chain: {rules}");
    }
    assert!(
        c.faults.ledger.snapshot().is_empty(),
        "the ledger is empty once all is healed"
    );
}

#[test]
fn heal_leaves_rules_rift_did_not_make() {
    let Some(c) = cluster(2, 2) else { return };
    let n1 = &c.faults.remotes[0];
    c.rt.block_on(n1.run(
        &Cmd::new("iptables").args(["-A", "INPUT", "-p", "tcp", "--dport", "9", "-j", "DROP"]),
    ))
    .unwrap();
    let g = grudge::complete(&[vec!["n1".into()], vec!["n2".into()]]);
    c.rt.block_on(c.faults.partition(&g, 1.0)).unwrap();
    c.rt.block_on(c.faults.heal_all()).unwrap();
    let rules =
        c.rt.block_on(n1.run(&Cmd::new("iptables").args(["-S", "INPUT"])))
            .unwrap()
            .stdout_text();
    assert!(
        rules.contains("--dport 9 -j DROP"),
        "the user's rule stays: {rules}"
    );
    assert!(!rules.contains("RIFT"));
}

#[test]
fn packet_loss_drops_a_measurable_share() {
    let Some(c) = cluster(3, 2) else { return };
    // n1 drops half of what n2 sends it.
    let mut g = grudge::Grudge::new();
    g.insert("n1".into(), ["n2".to_string()].into());
    c.rt.block_on(c.faults.partition(&g, 0.5)).unwrap();
    let n1 = &c.ips["n1"];
    let script = format!(
        "ok=0; for i in $(seq 100); do timeout 0.3 bash -c 'exec 3<>/dev/tcp/{n1}/22' 2>/dev/null && ok=$((ok+1)); done; echo $ok"
    );
    let out =
        c.rt.block_on(c.faults.remotes[1].run(&Cmd::script(script)))
            .unwrap();
    let connected: u32 = out.stdout_text().trim().parse().unwrap();
    eprintln!("{connected} of 100 connections got through at 50% loss");
    assert!(
        (20..=80).contains(&connected),
        "{connected} of 100 got through"
    );
    c.rt.block_on(c.faults.heal_all()).unwrap();
}

#[test]
fn clock_offsets_are_written_recorded_and_reset() {
    let Some(c) = cluster(4, 2) else { return };
    let file = format!("{}/clock-offset", c.faults.remotes[0].node().workdir);
    c.rt.block_on(c.faults.set_clock("n1", &file, 5_000_000_000))
        .unwrap();
    let read = || {
        c.rt.block_on(c.faults.remotes[0].run(&Cmd::new("cat").arg(&file)))
            .unwrap()
            .stdout_text()
    };
    assert_eq!(read(), "5000000000\n");
    assert_eq!(
        c.faults.ledger.snapshot()["n1"].clock_file.as_deref(),
        Some(file.as_str())
    );
    c.rt.block_on(c.faults.heal_all()).unwrap();
    assert_eq!(read(), "0\n");
}

#[test]
fn a_node_that_cannot_be_reset_does_not_keep_the_others_skewed() {
    // n1's recorded offset file cannot be written (its directory is gone); n2's can. Heal tries
    // both, resets n2, and names n1 with what failed.
    let Some(c) = cluster(7, 2) else { return };
    let good = format!("{}/clock-offset", c.faults.remotes[1].node().workdir);
    c.rt.block_on(c.faults.set_clock("n2", &good, 9_000_000_000))
        .unwrap();
    c.faults
        .ledger
        .note("n1", |f| {
            f.clock_file = Some("/nonexistent/rift/clock-offset".into())
        })
        .unwrap();
    let e = c.rt.block_on(c.faults.heal_all()).unwrap_err();
    assert_eq!(e.failures.len(), 1, "{e}");
    assert_eq!(e.failures[0].0, "n1", "{e}");
    assert!(
        e.to_string().contains("/nonexistent/rift/clock-offset"),
        "{e}"
    );
    let read =
        c.rt.block_on(c.faults.remotes[1].run(&Cmd::new("cat").arg(&good)))
            .unwrap()
            .stdout_text();
    assert_eq!(read, "0\n", "n2 was reset although n1 failed first");
    // n2's record is forgotten; n1's stays for the next heal.
    let left = c.faults.ledger.snapshot();
    assert!(
        left.contains_key("n1") && !left.contains_key("n2"),
        "{left:?}"
    );
}

#[test]
fn strobe_flips_the_offset_and_offsets_are_measured_on_the_node() {
    let Some(c) = cluster(5, 1) else { return };
    let node = &c.faults.remotes[0];
    let workdir = node.node().workdir.clone();
    let library = format!("{workdir}/librift_clock.so");
    let local = nemeses::clock::install_library(c.dir.path()).unwrap();
    c.rt.block_on(node.upload(&local, &library)).unwrap();
    let file = format!("{workdir}/clock-offset");
    let files = vec![("n1".to_string(), file.clone())];

    c.rt.block_on(c.faults.set_clock("n1", &file, 42_000_000_000))
        .unwrap();
    let measured =
        c.rt.block_on(c.faults.clock_offsets(Some(&library), &files))
            .unwrap();
    assert!(
        (measured["n1"] - 42_000).abs() < 2_000,
        "measured {measured:?}"
    );

    c.rt.block_on(c.faults.set_clock("n1", &file, 0)).unwrap();
    // While strobing, the measured offset is sometimes +10 s, sometimes 0.
    let faults = c.faults.clone();
    let strobing = c.rt.spawn({
        let (file, library) = (file.clone(), library.clone());
        async move {
            faults
                .strobe(
                    "n1",
                    &file,
                    10_000_000_000,
                    Duration::from_millis(100),
                    Duration::from_millis(1500),
                    Some(&library),
                )
                .await
        }
    });
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..20 {
        let m =
            c.rt.block_on(c.faults.clock_offsets(Some(&library), &files))
                .unwrap()["n1"];
        // Generous: a loaded machine stretches the round trip the measurement spans.
        seen.insert(if (m - 10_000).abs() < 2_000 {
            "ahead"
        } else if m.abs() < 2_000 {
            "true"
        } else {
            "other"
        });
        std::thread::sleep(Duration::from_millis(50));
    }
    let strobe = c.rt.block_on(strobing).unwrap().unwrap();
    let flips = strobe.flips;
    // Measured while the offset was in force, not after the strobe ended.
    let during = strobe.measured_ms.expect("measured while in force");
    assert!((during - 10_000).abs() < 2_000, "measured {during} ms");
    // 15 at most in 1.5 s; each is a write over SSH, which a loaded 2-core machine slows (9 seen
    // in one CI run): that it flips, and keeps flipping, is what is tested here.
    assert!(flips >= 5, "{flips} flips");
    assert!(
        seen.contains("ahead") && seen.contains("true") && !seen.contains("other"),
        "{seen:?}"
    );
    let after =
        c.rt.block_on(c.faults.clock_offsets(Some(&library), &files))
            .unwrap()["n1"];
    assert!(after.abs() < 2_000, "strobe ends at true time: {after}");
}

#[test]
fn the_system_clock_strategy_refuses_nodes_sharing_this_kernel() {
    let Some(c) = cluster(6, 1) else { return };
    let before = std::time::SystemTime::now();
    let e = c
        .rt
        .block_on(
            c.faults
                .system_clock_bump("n1", "/nonexistent/rift-setclock", 3_600_000_000_000),
        )
        .unwrap_err();
    assert!(
        e.to_string().contains("shares the controller's kernel"),
        "{e}"
    );
    assert!(c.rt.block_on(c.faults.shares_kernel("n1")).unwrap());
    // Nothing was recorded, and this machine's clock did not move.
    assert!(
        c.faults
            .ledger
            .snapshot()
            .get("n1")
            .is_none_or(|f| f.system_offset_ns == 0)
    );
    let drift = std::time::SystemTime::now().duration_since(before).unwrap();
    assert!(drift < Duration::from_secs(60));
}
