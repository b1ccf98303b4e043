//! ecstore installed and run by its `Db` over SSH on a real local cluster, driven by its
//! clients: setup, readiness, kill and restart, pause and resume, logs, clock skew, teardown.
#![allow(clippy::unwrap_used)]

use control::cluster::Scratch;
use control::db::ProcessEnv;
use control::{Cmd, Db, Remote, SshNode};
use history::{OpType, Value};
use std::sync::Arc;
use std::time::{Duration, Instant};
use stores::ecstore::{EcstoreClient, EcstoreDb, locate_binary};

struct Cluster {
    dir: tempfile::TempDir,
    remotes: Vec<Arc<SshNode>>,
    nodes: Vec<control::Node>,
    _cluster: Scratch,
}

fn cluster(id: u8, n: usize) -> Option<Cluster> {
    let scratch = Scratch::up(&format!("wl{id}"), &format!("10.204.{id}.0/24"), n)?;
    let inv = scratch.inventory();
    let remotes = control::connect_all(&inv).unwrap();
    Some(Cluster {
        dir: tempfile::tempdir().unwrap(),
        remotes,
        nodes: inv.nodes,
        _cluster: scratch,
    })
}

fn await_ready(rt: &tokio::runtime::Runtime, db: &EcstoreDb, node: &SshNode) {
    let start = Instant::now();
    while !rt.block_on(db.ready(node as &dyn Remote)).unwrap() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{} never became ready",
            node.node().name
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn ecstore_runs_under_its_db_and_clients_report_definite_and_indefinite_failures() {
    let Some(c) = cluster(1, 3) else { return };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut db = EcstoreDb::new(locate_binary().unwrap());
    db.flags = ["--peer-timeout-ms", "300", "--anti-entropy-ms", "0"]
        .map(String::from)
        .to_vec();
    let setups = rt.block_on(control::on_each(&c.remotes, |r| {
        let (db, nodes) = (db.clone(), c.nodes.clone());
        async move { db.setup(r.as_ref(), &nodes).await }
    }));
    for (name, r) in setups {
        r.unwrap_or_else(|e| panic!("{name}: {e}"));
    }
    for r in &c.remotes {
        await_ready(&rt, &db, r);
    }
    let client = |i: usize| EcstoreClient::new(&db.url(&c.nodes[i]), Duration::from_millis(800));

    let done = rt.block_on(client(0).add_to_set("s", 1));
    assert_eq!(done.kind, OpType::Ok, "{done:?}");
    let read = rt.block_on(client(1).read("set", "s", false));
    assert_eq!(
        (read.kind, read.value),
        (OpType::Ok, Value::List(vec![Value::Int(1)]))
    );
    let created = rt.block_on(client(2).insert_if_absent("req-1", 10));
    let again = rt.block_on(client(0).insert_if_absent("req-1", 10));
    assert_eq!(
        (created.value, again.value),
        (Value::from("created"), Value::from("exists"))
    );

    // Killed: refused connections are definite failures. Started again: it has its data.
    rt.block_on(db.kill(c.remotes[0].as_ref())).unwrap();
    let refused = rt.block_on(client(0).add_to_set("s", 2));
    assert_eq!(refused.kind, OpType::Fail, "{refused:?}");
    rt.block_on(db.start(c.remotes[0].as_ref(), &c.nodes))
        .unwrap();
    await_ready(&rt, &db, &c.remotes[0]);
    let local = rt.block_on(client(0).read("set", "s", true));
    assert_eq!(local.value, Value::List(vec![Value::Int(1)]));

    // Paused: a write sent to it times out, and may yet happen: indeterminate. A read: fail.
    rt.block_on(db.pause(c.remotes[1].as_ref())).unwrap();
    let hung = rt.block_on(client(1).add_to_set("s", 3));
    assert_eq!(hung.kind, OpType::Info, "{hung:?}");
    let hung_read = rt.block_on(client(1).read("set", "s", false));
    assert_eq!(hung_read.kind, OpType::Fail, "{hung_read:?}");
    // With two of three nodes able to answer, the others still reach a quorum.
    assert_eq!(rt.block_on(client(2).add_to_set("s", 4)).kind, OpType::Ok);
    rt.block_on(db.resume(c.remotes[1].as_ref())).unwrap();
    await_ready(&rt, &db, &c.remotes[1]);
    // Bad input is a definite failure with the store's reason.
    let bad = rt.block_on(client(0).read("bogus", "x", false));
    assert_eq!(bad.kind, OpType::Fail);
    assert!(bad.error.unwrap().contains("unknown data type"));

    // Logs are where the Db says; teardown stops the process and removes the data.
    let log = c.dir.path().join("n1.log");
    rt.block_on(c.remotes[0].download(&db.log_files(&c.nodes[0])[0], &log))
        .unwrap();
    assert!(
        std::fs::read_to_string(&log)
            .unwrap()
            .contains("ecstore n1 listening on")
    );
    for r in &c.remotes {
        rt.block_on(db.teardown(r.as_ref())).unwrap();
        assert!(
            !matches!(rt.block_on(db.ready(r.as_ref())), Ok(true)),
            "gone after teardown"
        );
    }
    let data = format!("{}/data", EcstoreDb::dir(&c.nodes[0]));
    assert!(
        !rt.block_on(c.remotes[0].exec(&Cmd::new("test").args(["-e", &data])))
            .unwrap()
            .success()
    );
}

#[test]
fn bump_strobe_and_reset_show_in_a_skewed_ecstores_own_time() {
    let Some(c) = cluster(2, 1) else { return };
    if !nemeses::clock::supported() {
        eprintln!("SKIPPED: per-process clock skew needs x86-64 Linux");
        return;
    }
    let rt = tokio::runtime::Runtime::new().unwrap();
    let node = &c.remotes[0];
    let dir = EcstoreDb::dir(&c.nodes[0]);
    let library = nemeses::clock::install_library(c.dir.path()).unwrap();
    rt.block_on(node.upload(&library, &format!("{dir}/librift_clock.so")))
        .unwrap();
    let offset = format!("{dir}/clock-offset");
    let ledger = nemeses::faults::Ledger::open(&c.dir.path().join("faults"), &c.nodes).unwrap();
    let faults = nemeses::faults::Faults::new(c.remotes.clone(), Arc::new(ledger));
    rt.block_on(faults.set_clock("n1", &offset, 0)).unwrap();
    let mut db = EcstoreDb::new(locate_binary().unwrap());
    db.env = ProcessEnv {
        vars: vec![
            ("LD_PRELOAD".into(), "./librift_clock.so".into()),
            (nemeses::clock::OFFSET_ENV.into(), "./clock-offset".into()),
        ],
    };
    rt.block_on(db.setup(node.as_ref(), &c.nodes)).unwrap();
    await_ready(&rt, &db, node);

    // ecstore's /time: its realtime clock as the process sees it, against ours.
    let skew = || {
        let body: serde_json::Value = rt.block_on(async {
            reqwest::get(format!("{}/time", db.url(&c.nodes[0])))
                .await
                .unwrap()
                .json()
                .await
                .unwrap()
        });
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as i64;
        (body["wall_ns"].as_i64().unwrap() - now) as f64 / 1e9
    };
    assert!(skew().abs() < 1.0);

    rt.block_on(faults.set_clock("n1", &offset, -7_000_000_000))
        .unwrap(); // bump: 7 s behind
    std::thread::sleep(Duration::from_millis(30));
    assert!((skew() + 7.0).abs() < 1.0, "bumped: {}", skew());

    // Strobe +20 s / 0 every 100 ms for 1.5 s: ecstore's time flips between the two.
    let strobing = {
        let (faults, offset) = (faults.clone(), offset.clone());
        rt.spawn(async move {
            faults
                .strobe(
                    "n1",
                    &offset,
                    20_000_000_000,
                    Duration::from_millis(100),
                    Duration::from_millis(1500),
                    None,
                )
                .await
        })
    };
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..25 {
        let s = skew();
        seen.insert(if (s - 20.0).abs() < 2.0 {
            "ahead"
        } else if s.abs() < 2.0 {
            "true"
        } else {
            "other"
        });
        std::thread::sleep(Duration::from_millis(40));
    }
    rt.block_on(strobing).unwrap().unwrap();
    assert!(seen.contains("ahead") && seen.contains("true"), "{seen:?}");

    rt.block_on(faults.heal_all()).unwrap(); // reset
    std::thread::sleep(Duration::from_millis(30));
    assert!(skew().abs() < 1.0, "reset: {}", skew());
    rt.block_on(db.teardown(node.as_ref())).unwrap();
}
