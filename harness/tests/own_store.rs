//! The harness names no concrete store: a store defined here, in a test, registers itself and
//! runs through `rift test` unchanged — plan, setup over SSH, workers, final reads, teardown,
//! logs, checkers and reports (root, for the local cluster; CI runs it).
#![allow(clippy::unwrap_used)]

use control::db::BoxFuture;
use control::{Cmd, Db, Node, Remote, RemoteError};
use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use stores::{Opened, Registry, Store, StoreConfig};
use workloads::generator::Invocation;
use workloads::{Client, Completion};

/// One set in the controller's memory, shared by every node: linearizable, unless it is told
/// to forget every `forget_every`-th element it acknowledged.
#[derive(Clone)]
struct MemStore {
    set: Arc<Mutex<BTreeSet<i64>>>,
    forget_every: i64,
}

fn marker(node: &Node) -> String {
    format!("{}/memstore/state", node.workdir)
}

impl Db for MemStore {
    fn name(&self) -> &'static str {
        "memstore"
    }
    fn setup<'a>(
        &'a self,
        node: &'a dyn Remote,
        _nodes: &'a [Node],
    ) -> BoxFuture<'a, Result<(), RemoteError>> {
        Box::pin(async move {
            let m = marker(node.node());
            node.run(&Cmd::script(format!(
                "mkdir -p \"$(dirname {q})\" && echo memstore up on {n} > {q}",
                q = control::shell::quote(&m),
                n = node.node().name
            )))
            .await
            .map(|_| ())
        })
    }
    fn teardown<'a>(&'a self, node: &'a dyn Remote) -> BoxFuture<'a, Result<(), RemoteError>> {
        Box::pin(async move {
            node.run(&Cmd::new("rm").args(["-f", &marker(node.node())]))
                .await
                .map(|_| ())
        })
    }
    fn start<'a>(
        &'a self,
        _node: &'a dyn Remote,
        _nodes: &'a [Node],
    ) -> BoxFuture<'a, Result<(), RemoteError>> {
        Box::pin(async { Ok(()) })
    }
    fn kill<'a>(&'a self, _node: &'a dyn Remote) -> BoxFuture<'a, Result<(), RemoteError>> {
        Box::pin(async { Ok(()) })
    }
    fn pause<'a>(&'a self, _node: &'a dyn Remote) -> BoxFuture<'a, Result<(), RemoteError>> {
        Box::pin(async { Ok(()) })
    }
    fn resume<'a>(&'a self, _node: &'a dyn Remote) -> BoxFuture<'a, Result<(), RemoteError>> {
        Box::pin(async { Ok(()) })
    }
    fn ready<'a>(&'a self, node: &'a dyn Remote) -> BoxFuture<'a, Result<bool, RemoteError>> {
        Box::pin(async move {
            let out = node
                .exec(&Cmd::new("test").args(["-f", &marker(node.node())]))
                .await?;
            Ok(out.success())
        })
    }
    fn log_files(&self, node: &Node) -> Vec<String> {
        vec![marker(node)]
    }
}

struct MemClient(MemStore);

impl Client for MemClient {
    fn invoke<'a>(&'a mut self, op: &'a Invocation) -> BoxFuture<'a, Completion> {
        Box::pin(async move {
            let mut set = self.0.set.lock().unwrap();
            match (&*op.f, op.value.as_int()) {
                ("add", Some(x)) => {
                    if self.0.forget_every == 0 || x % self.0.forget_every != 0 {
                        set.insert(x);
                    }
                    Completion::ok(op.value.clone())
                }
                ("read", _) => Completion::ok(history::Value::List(
                    set.iter().copied().map(history::Value::Int).collect(),
                )),
                _ => Completion::fail("not an operation of memstore"),
            }
        })
    }
}

impl Store for MemStore {
    fn name(&self) -> &str {
        "memstore"
    }
    fn about(&self) -> &str {
        "a set in the test's memory"
    }
    fn workloads(&self) -> &[&'static str] {
        &["set"]
    }
    fn check_flags(&self, flags: &[String]) -> Result<(), String> {
        if flags.is_empty() {
            Ok(())
        } else {
            Err("memstore takes no flags".into())
        }
    }
    fn open(&self, config: &StoreConfig) -> Result<Opened, String> {
        let store = self.clone();
        let clients: Arc<dyn workloads::Clients> = Arc::new(move |_: &Node, _: Duration| {
            Box::new(MemClient(store.clone())) as Box<dyn Client>
        });
        Opened::standard(
            self.clone(),
            &config.workload,
            Default::default(),
            Some(clients),
        )
    }
}

fn run(
    cluster: &control::cluster::Scratch,
    results: &std::path::Path,
    forget_every: i64,
) -> serde_json::Value {
    let mut registry = Registry::builtin();
    registry.register(MemStore {
        set: Arc::default(),
        forget_every,
    });
    let state = cluster.state_dir.display().to_string();
    let out = results.display().to_string();
    let _ = harness::main_with(
        [
            "rift",
            "test",
            "--local",
            "--cluster-state-dir",
            &state,
            "--db",
            "memstore",
            "-w",
            "set",
            "--time-limit",
            "3",
            "--rate",
            "300",
            "--results-dir",
            &out,
            "--nemesis",
            "partition",
            "--nemesis-interval",
            "1",
        ],
        &registry,
    );
    let run = std::fs::canonicalize(results.join("memstore-set/latest")).unwrap();
    let test: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("test.json")).unwrap()).unwrap();
    assert_eq!(test["plan"]["db"], "memstore");
    // Setup ran on every node over SSH, and teardown downloaded what the Db named.
    for n in 1..=3 {
        let log = std::fs::read_to_string(run.join(format!("nodes/n{n}/state"))).unwrap();
        assert_eq!(log.trim(), format!("memstore up on n{n}"));
    }
    serde_json::from_str(&std::fs::read_to_string(run.join("results.json")).unwrap()).unwrap()
}

#[test]
fn a_store_registered_in_a_test_runs_through_rift_test_unchanged() {
    let Some(cluster) = control::cluster::Scratch::up("own1", "10.210.1.0/24", 3) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let results = run(&cluster, &dir.path().join("a"), 0);
    assert_eq!(results["valid"], true, "{results}");
    let set = results["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["checker"] == "set")
        .unwrap();
    assert!(
        set["figures"]["acknowledged"].as_u64().unwrap() > 100,
        "{set}"
    );

    // The same store, made to forget: the checkers see its history and say so.
    let results = run(&cluster, &dir.path().join("b"), 10);
    assert_eq!(results["valid"], false);
    let lost = results["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["checker"] == "set")
        .unwrap()["anomaly_counts"]["lost"]
        .as_u64()
        .unwrap();
    assert!(lost > 10, "{lost}");
}

#[test]
fn rift_test_help_lists_every_store_with_its_workloads() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rift"))
        .args(["test", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    for line in [
        "ecstore",
        "workloads: set, register, counter, list-append, idempotency",
        "redis",
        "workloads: set, register, counter, list-append; has primaries",
        "etcd",
        "workloads: register, cas-register, set, list-append; has primaries",
    ] {
        assert!(help.contains(line), "{line:?} not in:\n{help}");
    }
}
