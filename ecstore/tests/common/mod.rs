//! Real ecstore processes, one per network namespace of a local cluster, and real partitions.
#![allow(dead_code)]

use control::cluster::{ClusterState, Scratch};
use serde_json::{Value, json};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const PORT: u16 = 8300;

pub struct Nodes {
    pub dir: tempfile::TempDir,
    pub state: ClusterState,
    pub procs: Vec<Option<Child>>,
    pub http: reqwest::Client,
    pub rt: tokio::runtime::Runtime,
    _cluster: Scratch,
}

impl Nodes {
    /// A cluster of `n` namespaces (no ecstore started yet); `None` (with a reason) when this
    /// machine cannot make one, which CI never accepts.
    pub fn new(id: u8, n: usize) -> Option<Nodes> {
        let scratch = Scratch::up(&format!("ec{id}"), &format!("10.203.{id}.0/24"), n)?;
        Some(Nodes {
            dir: tempfile::tempdir().unwrap(),
            procs: (0..n).map(|_| None).collect(),
            state: scratch.state.clone(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .unwrap(),
            rt: tokio::runtime::Runtime::new().unwrap(),
            _cluster: scratch,
        })
    }

    pub fn addr(&self, i: usize) -> String {
        format!("{}:{PORT}", self.state.nodes[i].ip)
    }

    /// Starts ecstore on every node with these extra flags.
    pub fn start_all(&mut self, flags: &[&str]) {
        for i in 0..self.state.nodes.len() {
            self.start(i, flags);
        }
        for i in 0..self.state.nodes.len() {
            self.await_ready(i);
        }
    }

    pub fn start(&mut self, i: usize, flags: &[&str]) {
        self.start_with_env(i, flags, &[]);
    }

    /// Starts node `i` with its realtime clock offset by the nanoseconds in `offset_file`
    /// (rift's per-process clock library, preloaded).
    pub fn start_skewed(&mut self, i: usize, flags: &[&str], offset_file: &std::path::Path) {
        let library = nemeses::clock::install_library(self.dir.path()).unwrap();
        let env = [
            ("LD_PRELOAD", library.to_str().unwrap().to_owned()),
            (
                nemeses::clock::OFFSET_ENV,
                offset_file.to_str().unwrap().to_owned(),
            ),
        ];
        self.start_with_env(i, flags, &env);
    }

    pub fn start_with_env(&mut self, i: usize, flags: &[&str], env: &[(&str, String)]) {
        let peers: Vec<String> = self
            .state
            .nodes
            .iter()
            .enumerate()
            .map(|(j, n)| format!("{}={}", n.name, self.addr(j)))
            .collect();
        let n = &self.state.nodes[i];
        let log = std::fs::File::create(self.dir.path().join(format!("{}.log", n.name))).unwrap();
        let child = Command::new("ip")
            .args(["netns", "exec", &n.namespace, env!("CARGO_BIN_EXE_ecstore")])
            .args([
                "--node",
                &n.name,
                "--listen",
                &self.addr(i),
                "--peers",
                &peers.join(","),
            ])
            .arg("--data-dir")
            .arg(self.dir.path().join(&n.name))
            .args(flags)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.procs[i] = Some(child);
    }

    pub fn await_ready(&self, i: usize) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.get(i, "/health").is_err() {
            assert!(
                Instant::now() < deadline,
                "{} never answered",
                self.state.nodes[i].name
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn get(&self, i: usize, path: &str) -> Result<Value, String> {
        let url = format!("http://{}{path}", self.addr(i));
        self.rt.block_on(async {
            let r = self.http.get(url).send().await.map_err(|e| e.to_string())?;
            let ok = r.status().is_success();
            let v: Value = r.json().await.map_err(|e| e.to_string())?;
            if ok { Ok(v) } else { Err(v.to_string()) }
        })
    }

    pub fn post(&self, i: usize, path: &str, value: Value) -> Result<Value, String> {
        let url = format!("http://{}{path}", self.addr(i));
        self.rt.block_on(async {
            let r = self
                .http
                .post(url)
                .json(&json!({"value": value}))
                .send()
                .await
                .map_err(|e| e.to_string())?;
            let ok = r.status().is_success();
            let v: Value = r.json().await.map_err(|e| e.to_string())?;
            if ok { Ok(v) } else { Err(v.to_string()) }
        })
    }

    /// What node `i`'s own replica holds.
    pub fn local(&self, i: usize, kind: &str, key: &str) -> Value {
        self.get(i, &format!("/kv/{kind}/{key}?local=true"))
            .unwrap()["value"]
            .clone()
    }

    pub fn digest(&self, i: usize) -> String {
        self.get(i, "/digest").unwrap()["digest"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    fn iptables(&self, i: usize, args: &[&str]) {
        let ns = &self.state.nodes[i].namespace;
        let status = Command::new("ip")
            .args(["netns", "exec", ns, "iptables"])
            .args(args)
            .status()
            .unwrap();
        assert!(status.success(), "iptables {args:?} in {ns}");
    }

    /// Cuts the nodes in `side` off from all others (both ways); the controller still reaches all.
    pub fn partition(&self, side: &[usize]) {
        for &i in side {
            for j in (0..self.state.nodes.len()).filter(|j| !side.contains(j)) {
                let other = self.state.nodes[j].ip.to_string();
                self.iptables(i, &["-A", "INPUT", "-s", &other, "-j", "DROP"]);
                self.iptables(
                    j,
                    &[
                        "-A",
                        "INPUT",
                        "-s",
                        &self.state.nodes[i].ip.to_string(),
                        "-j",
                        "DROP",
                    ],
                );
            }
        }
    }

    pub fn heal(&self) {
        for i in 0..self.state.nodes.len() {
            self.iptables(i, &["-F", "INPUT"]);
        }
    }

    /// Polls until every node's digest is the same; returns how long that took, or None.
    pub fn await_agreement(&self, limit: Duration) -> Option<Duration> {
        let start = Instant::now();
        while start.elapsed() < limit {
            let digests: Vec<String> = (0..self.state.nodes.len())
                .map(|i| self.digest(i))
                .collect();
            if digests.windows(2).all(|w| w[0] == w[1]) {
                return Some(start.elapsed());
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }
}

impl Drop for Nodes {
    fn drop(&mut self) {
        // The ecstore processes (`ip netns exec` runs them in place); the cluster goes after.
        for child in self.procs.iter_mut().flatten() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
