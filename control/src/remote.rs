//! The one way rift acts on a node.

use crate::nodes::Node;
use crate::shell::{Cmd, CmdError};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::time::Duration;

/// A boxed future: what [`Remote`] and [`crate::Db`] return, so both can be used as trait
/// objects (`&dyn Remote`, `Arc<dyn Db>`) by code that names no concrete node or store type.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a command left behind.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Output {
    /// The exit status, when the command exited.
    pub status: Option<u32>,
    /// The signal that ended it, when one did.
    pub signal: Option<String>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl Output {
    pub fn success(&self) -> bool {
        self.status == Some(0)
    }

    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }

    /// How it ended, in words: `exit 0`, `exit 3`, `signal KILL`.
    pub fn describe(&self) -> String {
        match (&self.status, &self.signal) {
            (Some(s), _) => format!("exit {s}"),
            (None, Some(sig)) => format!("signal {sig}"),
            (None, None) => "no exit status".into(),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error("{node} ({address}): cannot connect: {message}")]
    Connect {
        node: String,
        address: String,
        message: String,
    },
    #[error("{node} ({address}): {message}")]
    HostKey {
        node: String,
        address: String,
        message: String,
    },
    #[error("{node}: authentication as {user} failed with key {key}")]
    Auth {
        node: String,
        user: String,
        key: PathBuf,
    },
    #[error("{node}: cannot read private key {path}: {message}")]
    Key {
        node: String,
        path: PathBuf,
        message: String,
    },
    #[error("{node}: `{cmd}` did not finish within {after:?}; it may still be running")]
    Timeout {
        node: String,
        cmd: String,
        after: Duration,
    },
    #[error("{node}: connection lost while running `{cmd}`; it may or may not have run")]
    Lost { node: String, cmd: String },
    #[error("{node}: `{cmd}` failed ({}): {}", .output.describe(), tail(&.output.stderr_text()))]
    Failed {
        node: String,
        cmd: String,
        output: Box<Output>,
    },
    #[error("{node}: {source}")]
    Command { node: String, source: CmdError },
    #[error("{node}: {path}: {source}")]
    LocalIo {
        node: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{node}: ssh: {message}")]
    Ssh { node: String, message: String },
}

/// The last lines of a command's stderr, for an error message.
fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.trim_end().lines().collect();
    let start = lines.len().saturating_sub(5);
    match lines[start..].join(" / ") {
        s if s.is_empty() => "no stderr".into(),
        s => s,
    }
}

/// A node rift can act on. Dyn-compatible: stores and nemeses take `&dyn Remote`, so SSH is
/// one implementation among others (tests may act on a node in other ways).
pub trait Remote: Send + Sync {
    fn node(&self) -> &Node;

    /// Runs a command; a non-zero exit is not an error here (see [`Remote::run`]).
    fn exec<'a>(&'a self, cmd: &'a Cmd) -> BoxFuture<'a, Result<Output, RemoteError>>;

    /// Runs a command that must succeed.
    fn run<'a>(&'a self, cmd: &'a Cmd) -> BoxFuture<'a, Result<Output, RemoteError>> {
        Box::pin(async move {
            let output = self.exec(cmd).await?;
            if output.success() {
                Ok(output)
            } else {
                Err(RemoteError::Failed {
                    node: self.node().name.clone(),
                    cmd: cmd.display(),
                    output: Box::new(output),
                })
            }
        })
    }

    /// Copies a local file to a path on the node (replacing it whole, never half-written).
    fn upload<'a>(
        &'a self,
        local: &'a Path,
        remote_path: &'a str,
    ) -> BoxFuture<'a, Result<u64, RemoteError>>;

    /// Copies a file from the node to a local path; returns its size.
    fn download<'a>(
        &'a self,
        remote_path: &'a str,
        local: &'a Path,
    ) -> BoxFuture<'a, Result<u64, RemoteError>>;
}
