use control::cluster::{self, ClusterSpec, ClusterState, StateDir};
use control::nodes::{Defaults, Inventory, load_nodes_file};
use control::{Cmd, Output, Remote, SshNode};
use std::sync::Arc;
use tokio::runtime::Runtime;

/// A cluster for one test, taken down when dropped (also when the test panics).
pub struct TestCluster {
    pub dir: tempfile::TempDir,
    pub state: ClusterState,
    pub inventory: Inventory,
    pub remotes: Vec<Arc<SshNode>>,
    pub rt: Runtime,
}

/// Why this machine cannot run cluster tests, if it cannot.
fn unable() -> Option<String> {
    if !nix::unistd::geteuid().is_root() {
        return Some("needs root (network namespaces)".into());
    }
    match std::process::Command::new("ip")
        .args(["netns", "list"])
        .output()
    {
        Ok(o) if o.status.success() => None,
        Ok(o) => Some(format!(
            "ip netns does not work: {}",
            String::from_utf8_lossy(&o.stderr)
        )),
        Err(e) => Some(format!("no ip command: {e}")),
    }
}

impl TestCluster {
    /// `id` makes the cluster's names and subnet unique among tests running at once.
    pub fn up(id: u8, nodes: usize) -> Option<TestCluster> {
        if let Some(why) = unable() {
            if std::env::var("CI").is_ok_and(|v| v == "true") {
                panic!("cluster tests must run in CI, but: {why}");
            }
            eprintln!("SKIPPED: {why}");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let spec = ClusterSpec {
            name: format!("rt{id}"),
            nodes,
            subnet: format!("10.201.{id}.0/24"),
            state_dir: dir.path().join("cluster"),
        };
        let state = cluster::up(&spec).unwrap_or_else(|e| panic!("cluster up: {e}"));
        let inventory = load_nodes_file(
            &StateDir(spec.state_dir.clone()).nodes_file(),
            &Defaults::standard(),
        )
        .unwrap();
        let remotes = control::connect_all(&inventory).unwrap();
        Some(TestCluster {
            dir,
            state,
            inventory,
            remotes,
            rt: Runtime::new().unwrap(),
        })
    }

    pub fn state_dir(&self) -> std::path::PathBuf {
        self.dir.path().join("cluster")
    }

    /// Runs a command on node `i` (0-based), which must succeed.
    pub fn run(&self, i: usize, cmd: Cmd) -> Output {
        self.rt
            .block_on(self.remotes[i].run(&cmd))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    /// Whether node `from` can open a TCP connection to node `to`'s sshd.
    pub fn can_connect(&self, from: usize, to: usize) -> bool {
        let ip = self.state.nodes[to].ip;
        let probe = format!("exec 3<>/dev/tcp/{ip}/22");
        let out = self
            .rt
            .block_on(
                self.remotes[from].exec(&Cmd::new("timeout").args(["1", "bash", "-c", &probe])),
            )
            .unwrap();
        out.success()
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        let report = cluster::down(&self.state_dir());
        if let Ok(r) = &report {
            assert!(
                r.errors.is_empty() || std::thread::panicking(),
                "down: {:?}",
                r.errors
            );
        }
    }
}
