//! Reaching nodes.
//!
//! Owns: the [`Remote`] trait (exec, run, upload, download; sudo through [`Cmd::sudo`]), its
//! SSH implementation with pooled sessions and pinned host keys ([`ssh`]), commands built from
//! argument lists with shell quoting ([`shell`]), the inventory of nodes ([`nodes`]), running
//! one thing on many nodes at once ([`on_each`]), the [`Db`] trait a store implements to be
//! run and faulted, and the local cluster: one network namespace
//! per node, each running its own sshd ([`cluster`]).
//!
//! The local cluster writes an ordinary nodes file and known_hosts, so everything after it goes
//! through the same SSH code as real hosts.

pub mod cluster;
pub mod db;
pub mod nodes;
mod remote;
pub mod shell;
pub mod ssh;
mod system;

pub use db::Db;
pub use nodes::{HostKeyPolicy, Inventory, Node};
pub use remote::{BoxFuture, Output, Remote, RemoteError};
pub use shell::Cmd;
pub use ssh::{SshContext, SshNode};

use std::future::Future;
use std::sync::Arc;

/// Connects lazily to every node of an inventory.
pub fn connect_all(inventory: &Inventory) -> Result<Vec<Arc<SshNode>>, RemoteError> {
    let ctx = SshContext::new(inventory.ssh.clone())?;
    Ok(inventory
        .nodes
        .iter()
        .map(|n| Arc::new(SshNode::new(n.clone(), ctx.clone())))
        .collect())
}

/// Runs `f` on every node at once; results come back in the nodes' order, one per node.
pub async fn on_each<R, T, F, Fut>(
    remotes: &[Arc<R>],
    f: F,
) -> Vec<(String, Result<T, RemoteError>)>
where
    R: Remote + ?Sized + 'static,
    T: Send + 'static,
    F: Fn(Arc<R>) -> Fut,
    Fut: Future<Output = Result<T, RemoteError>> + Send + 'static,
{
    let tasks: Vec<_> = remotes
        .iter()
        .map(|r| (r.node().name.clone(), tokio::spawn(f(r.clone()))))
        .collect();
    let mut results = Vec::with_capacity(tasks.len());
    for (name, task) in tasks {
        let result = task.await.unwrap_or_else(|e| {
            Err(RemoteError::Ssh {
                node: name.clone(),
                message: format!("task failed: {e}"),
            })
        });
        results.push((name, result));
    }
    results
}
