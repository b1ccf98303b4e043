//! What a store must offer for rift to run it: the `Db` trait.
//!
//! A `Db` installs, configures, starts and stops a store on one node over SSH, and exposes
//! the process-level faults (kill, pause) that nemeses inject through it. Methods return boxed
//! futures so that the harness can hold any store as `Arc<dyn Db>`, chosen by `--db`.

use crate::{Node, RemoteError, SshNode};
use std::future::Future;
use std::pin::Pin;

pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

pub trait Db: Send + Sync {
    /// The name `--db` selects it by.
    fn name(&self) -> &'static str;

    /// Installs, configures and starts the store on `node`; `nodes` is every node of the test.
    fn setup<'a>(
        &'a self,
        node: &'a SshNode,
        nodes: &'a [Node],
    ) -> BoxFuture<'a, Result<(), RemoteError>>;

    /// Stops the store and removes its data; logs stay for downloading.
    fn teardown<'a>(&'a self, node: &'a SshNode) -> BoxFuture<'a, Result<(), RemoteError>>;

    /// Starts the store (after a kill); a running store is left as it is.
    fn start<'a>(
        &'a self,
        node: &'a SshNode,
        nodes: &'a [Node],
    ) -> BoxFuture<'a, Result<(), RemoteError>>;

    /// Kills the store's process with SIGKILL.
    fn kill<'a>(&'a self, node: &'a SshNode) -> BoxFuture<'a, Result<(), RemoteError>>;

    /// Stops the store's process with SIGSTOP.
    fn pause<'a>(&'a self, node: &'a SshNode) -> BoxFuture<'a, Result<(), RemoteError>>;

    /// Continues a paused process with SIGCONT.
    fn resume<'a>(&'a self, node: &'a SshNode) -> BoxFuture<'a, Result<(), RemoteError>>;

    /// Whether the store on `node` answers.
    fn ready<'a>(&'a self, node: &'a SshNode) -> BoxFuture<'a, Result<bool, RemoteError>>;

    /// Files on the node worth downloading into the run directory.
    fn log_files(&self, node: &Node) -> Vec<String>;

    /// The file holding the store's PID on the node, if it keeps one: what `rift heal` resumes
    /// after a crash left the store paused.
    fn pid_file(&self, _node: &Node) -> Option<String> {
        None
    }

    /// The nodes currently acting as primaries, for stores that have them (`None`: this store
    /// has no primaries, so "primaries" cannot be a fault's target).
    fn primaries(&self, _nodes: &[Node]) -> Option<Vec<String>> {
        None
    }
}
