//! What a store must offer for rift to run it: the `Db` trait, and the pieces every store's `Db`
//! shares — [`Daemon`] (a long-running process rift starts, owns and signals by its PID file)
//! and [`ProcessEnv`] (the environment rift's faults need in every store process).
//!
//! A `Db` installs, configures, starts and stops a store on one node, over any [`Remote`], and
//! exposes the process-level faults (kill, pause) that nemeses inject through it. Methods return
//! boxed futures so that the harness can hold any store as `Arc<dyn Db>`, chosen by name from
//! the stores registry.

pub use crate::remote::BoxFuture;
use crate::shell::quote;
use crate::{Cmd, Node, Output, Remote, RemoteError};

pub trait Db: Send + Sync {
    /// The name the registry knows it by.
    fn name(&self) -> &'static str;

    /// Installs, configures and starts the store on `node`; `nodes` is every node of the test.
    fn setup<'a>(
        &'a self,
        node: &'a dyn Remote,
        nodes: &'a [Node],
    ) -> BoxFuture<'a, Result<(), RemoteError>>;

    /// Stops the store and removes its data; logs stay for downloading.
    fn teardown<'a>(&'a self, node: &'a dyn Remote) -> BoxFuture<'a, Result<(), RemoteError>>;

    /// Starts the store (after a kill); a running store is left as it is.
    fn start<'a>(
        &'a self,
        node: &'a dyn Remote,
        nodes: &'a [Node],
    ) -> BoxFuture<'a, Result<(), RemoteError>>;

    /// Kills the store's process with SIGKILL.
    fn kill<'a>(&'a self, node: &'a dyn Remote) -> BoxFuture<'a, Result<(), RemoteError>>;

    /// Stops the store's process with SIGSTOP.
    fn pause<'a>(&'a self, node: &'a dyn Remote) -> BoxFuture<'a, Result<(), RemoteError>>;

    /// Continues a paused process with SIGCONT.
    fn resume<'a>(&'a self, node: &'a dyn Remote) -> BoxFuture<'a, Result<(), RemoteError>>;

    /// Whether the store on `node` answers; an error when it cannot (its process exited).
    fn ready<'a>(&'a self, node: &'a dyn Remote) -> BoxFuture<'a, Result<bool, RemoteError>>;

    /// Files on the node worth downloading into the run directory.
    fn log_files(&self, node: &Node) -> Vec<String>;

    /// The PID files of the processes a pause stops, if the store keeps them: what `rift heal`
    /// resumes after a crash left the store paused.
    fn pid_files(&self, _node: &Node) -> Vec<String> {
        Vec::new()
    }

    /// The nodes currently acting as primaries. Stores without primaries keep the default,
    /// and the registry says so before a run, so "primaries" is refused as a target up front.
    fn primaries<'a>(&'a self, _nodes: &'a [Node]) -> BoxFuture<'a, Result<Vec<String>, String>> {
        Box::pin(async move { Err(format!("{} has no primaries", self.name())) })
    }
}

/// Environment every store process must start with, whatever the store: today the clock
/// library's preload and its offset file, so that the per-process clock fault reaches any
/// store's processes. Values may name `{workdir}`, replaced by each node's work directory.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProcessEnv {
    pub vars: Vec<(String, String)>,
}

impl ProcessEnv {
    /// The variables for a process on `node`.
    pub fn for_node(&self, node: &Node) -> Vec<(String, String)> {
        self.vars
            .iter()
            .map(|(k, v)| (k.clone(), v.replace("{workdir}", &node.workdir)))
            .collect()
    }
}

/// A long-running process on a node that rift starts detached and owns: its PID in a file, its
/// output appended to a log, signalled by that PID (never by a name, which could match
/// processes rift did not start).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Daemon {
    /// The directory it runs in.
    pub dir: String,
    /// What it is called in file names and errors (`redis-server`, `ecstore`).
    pub name: String,
}

impl Daemon {
    pub fn new(dir: impl Into<String>, name: impl Into<String>) -> Daemon {
        Daemon {
            dir: dir.into(),
            name: name.into(),
        }
    }

    pub fn pid_file(&self) -> String {
        format!("{}/{}.pid", self.dir, self.name)
    }

    pub fn log_file(&self) -> String {
        format!("{}/{}.log", self.dir, self.name)
    }

    /// A script that starts `argv` in `dir` with `env`, unless the process the PID file names is
    /// alive already.
    pub fn start_script(&self, argv: &[String], env: &[(String, String)]) -> String {
        let env: Vec<String> = env
            .iter()
            .map(|(k, v)| quote(&format!("{k}={v}")).into_owned())
            .collect();
        let command = argv
            .iter()
            .map(|a| quote(a).into_owned())
            .collect::<Vec<_>>()
            .join(" ");
        format!(
            "mkdir -p {d} && cd {d} && if [ -f {p} ] && kill -0 \"$(cat {p})\" 2>/dev/null; then exit 0; fi; \
             nohup env {env} {command} >> {l} 2>&1 < /dev/null & echo $! > {p}",
            d = quote(&self.dir),
            p = quote(&self.pid_file()),
            l = quote(&self.log_file()),
            env = env.join(" "),
        )
    }

    pub async fn start(
        &self,
        node: &dyn Remote,
        argv: &[String],
        env: &[(String, String)],
    ) -> Result<(), RemoteError> {
        node.run(&Cmd::script(self.start_script(argv, env)))
            .await
            .map(|_| ())
    }

    /// Sends a signal (`KILL`, `STOP`, `CONT`) to the process, if it has a PID file.
    pub async fn signal(&self, node: &dyn Remote, signal: &str) -> Result<(), RemoteError> {
        node.run(&Cmd::script(format!(
            "p=$(cat {pid} 2>/dev/null) && kill -{signal} \"$p\" 2>/dev/null; true",
            pid = quote(&self.pid_file())
        )))
        .await
        .map(|_| ())
    }

    /// SIGKILL, after a SIGCONT so that a paused process can die; waits until it is gone.
    pub async fn kill(&self, node: &dyn Remote) -> Result<(), RemoteError> {
        self.signal(node, "CONT").await?;
        self.signal(node, "KILL").await?;
        node.run(&Cmd::script(format!(
            "p=$(cat {pid} 2>/dev/null) || exit 0; for i in $(seq 250); do kill -0 \"$p\" 2>/dev/null || exit 0; sleep 0.02; done; exit 1",
            pid = quote(&self.pid_file())
        )))
        .await
        .map(|_| ())
    }

    /// Whether the process is alive.
    pub async fn alive(&self, node: &dyn Remote) -> Result<bool, RemoteError> {
        let out = node
            .exec(&Cmd::script(format!(
                "kill -0 \"$(cat {} 2>/dev/null)\" 2>/dev/null",
                quote(&self.pid_file())
            )))
            .await?;
        Ok(out.success())
    }

    /// The error for a process that exited: its log's last lines.
    pub async fn exited(&self, node: &dyn Remote) -> RemoteError {
        let log = node
            .exec(&Cmd::new("tail").args(["-n", "5", &self.log_file()]))
            .await
            .map(|o| o.stdout)
            .unwrap_or_default();
        RemoteError::Failed {
            node: node.node().name.clone(),
            cmd: self.name.clone(),
            output: Box::new(Output {
                status: None,
                signal: Some("exited".into()),
                stdout: Vec::new(),
                stderr: log,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_start_script_quotes_what_it_is_given() {
        let d = Daemon::new("/w/it's", "store");
        let script = d.start_script(
            &["./store".into(), "--peers".into(), "a b".into()],
            &[("LD_PRELOAD".into(), "/w/lib.so".into())],
        );
        assert!(
            script.starts_with("mkdir -p '/w/it'\\''s' && cd '/w/it'\\''s' && "),
            "{script}"
        );
        assert!(
            script.contains(
                "nohup env 'LD_PRELOAD=/w/lib.so' ./store --peers 'a b' >> '/w/it'\\''s/store.log'"
            ),
            "{script}"
        );
        assert!(
            script.ends_with("echo $! > '/w/it'\\''s/store.pid'"),
            "{script}"
        );
    }

    #[test]
    fn process_env_names_each_nodes_workdir() {
        let env = ProcessEnv {
            vars: vec![("LD_PRELOAD".into(), "{workdir}/rift/lib.so".into())],
        };
        let node = Node {
            name: "n1".into(),
            host: "h".into(),
            port: 22,
            user: "root".into(),
            workdir: "/var/rift".into(),
            sudo_password: None,
        };
        assert_eq!(
            env.for_node(&node),
            vec![("LD_PRELOAD".into(), "/var/rift/rift/lib.so".into())]
        );
    }
}
