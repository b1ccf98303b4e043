use control::cluster::{ClusterState, Scratch};
use control::nodes::Inventory;
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
    scratch: Scratch,
}

impl TestCluster {
    /// `id` makes the cluster's names and subnet unique among tests running at once.
    pub fn up(id: u8, nodes: usize) -> Option<TestCluster> {
        let scratch = Scratch::up(&format!("rt{id}"), &format!("10.201.{id}.0/24"), nodes)?;
        let inventory = scratch.inventory();
        let remotes = control::connect_all(&inventory).unwrap();
        Some(TestCluster {
            dir: tempfile::tempdir().unwrap(),
            state: scratch.state.clone(),
            inventory,
            remotes,
            rt: Runtime::new().unwrap(),
            scratch,
        })
    }

    pub fn state_dir(&self) -> std::path::PathBuf {
        self.scratch.state_dir.clone()
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
