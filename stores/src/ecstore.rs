//! ecstore, the demo store: its `Db` (installed and run on nodes over any [`Remote`]) and its
//! clients.
//!
//! Setup uploads the `ecstore` binary built from this workspace into each node's work
//! directory, and starts it with every node as a peer, as a [`Daemon`]: its PID in
//! `ecstore.pid`, its output appended to `ecstore.log`; kill, pause and resume signal that PID.
//!
//! Clients map what happened to Jepsen's outcomes: `fail` only when the operation certainly
//! had no effect (refused before sending, bad request, a 503 the store marks definite, or any
//! failed read), `info` when it may have (a timeout after sending, a 503 for a write that
//! reached fewer than W replicas, a connection lost mid-request).

use control::db::{BoxFuture, Daemon, ProcessEnv};
use control::{Cmd, Db, Node, Remote, RemoteError};
use history::Value;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use workloads::generator::Invocation;
use workloads::standard::keyed;
use workloads::{Client, Clients, Completion};

pub const DEFAULT_PORT: u16 = 8300;

/// ecstore on a set of nodes.
#[derive(Debug, Clone)]
pub struct EcstoreDb {
    /// The binary on the controller, uploaded to every node.
    pub binary: PathBuf,
    pub port: u16,
    /// Flags passed to every node's ecstore (`--resolution lww-wall`, ...).
    pub flags: Vec<String>,
    /// Environment for the process (e.g. the clock library's `LD_PRELOAD`).
    pub env: ProcessEnv,
}

/// Where the `ecstore` binary built from this workspace is: `$RIFT_ECSTORE_BIN`, or beside the
/// running executable (`target/<profile>/`, also from `target/<profile>/deps/`).
pub fn locate_binary() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("RIFT_ECSTORE_BIN") {
        return Ok(PathBuf::from(p));
    }
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let dir = exe.parent().unwrap_or(Path::new("."));
    [dir.join("ecstore"), dir.join("../ecstore")]
        .into_iter()
        .find(|p| p.is_file())
        .ok_or_else(|| {
            format!(
                "no ecstore binary beside {}: build it (cargo build --release -p ecstore) or set RIFT_ECSTORE_BIN",
                exe.display()
            )
        })
}

impl EcstoreDb {
    pub fn new(binary: PathBuf) -> EcstoreDb {
        EcstoreDb {
            binary,
            port: DEFAULT_PORT,
            flags: Vec::new(),
            env: ProcessEnv::default(),
        }
    }

    /// The directory everything of ecstore's lives in on a node.
    pub fn dir(node: &Node) -> String {
        format!("{}/ecstore", node.workdir)
    }

    fn daemon(node: &Node) -> Daemon {
        Daemon::new(Self::dir(node), "ecstore")
    }

    pub fn url(&self, node: &Node) -> String {
        node_url(node, self.port)
    }

    fn argv(&self, node: &Node, nodes: &[Node]) -> Vec<String> {
        let peers: Vec<String> = nodes
            .iter()
            .map(|n| format!("{}={}:{}", n.name, n.host, self.port))
            .collect();
        let mut argv = vec![
            "./ecstore".to_owned(),
            "--node".into(),
            node.name.clone(),
            "--listen".into(),
            format!("{}:{}", node.host, self.port),
            "--peers".into(),
            peers.join(","),
            "--data-dir".into(),
            format!("{}/data", Self::dir(node)),
        ];
        argv.extend(self.flags.iter().cloned());
        argv
    }
}

impl Db for EcstoreDb {
    fn name(&self) -> &'static str {
        "ecstore"
    }

    fn setup<'a>(
        &'a self,
        node: &'a dyn Remote,
        nodes: &'a [Node],
    ) -> BoxFuture<'a, Result<(), RemoteError>> {
        Box::pin(async move {
            let dir = Self::dir(node.node());
            node.run(&Cmd::new("mkdir").args(["-p", &format!("{dir}/data")]))
                .await?;
            let target = format!("{dir}/ecstore");
            node.upload(&self.binary, &target).await?;
            node.run(&Cmd::new("chmod").args(["+x", &target])).await?;
            self.start(node, nodes).await
        })
    }

    fn teardown<'a>(&'a self, node: &'a dyn Remote) -> BoxFuture<'a, Result<(), RemoteError>> {
        Box::pin(async move {
            let daemon = Self::daemon(node.node());
            daemon.kill(node).await?;
            node.run(&Cmd::new("rm").args([
                "-rf",
                &format!("{}/data", daemon.dir),
                &daemon.pid_file(),
            ]))
            .await?;
            Ok(())
        })
    }

    fn start<'a>(
        &'a self,
        node: &'a dyn Remote,
        nodes: &'a [Node],
    ) -> BoxFuture<'a, Result<(), RemoteError>> {
        Box::pin(async move {
            let n = node.node();
            Self::daemon(n)
                .start(node, &self.argv(n, nodes), &self.env.for_node(n))
                .await
        })
    }

    fn kill<'a>(&'a self, node: &'a dyn Remote) -> BoxFuture<'a, Result<(), RemoteError>> {
        Box::pin(async move { Self::daemon(node.node()).kill(node).await })
    }

    fn pause<'a>(&'a self, node: &'a dyn Remote) -> BoxFuture<'a, Result<(), RemoteError>> {
        Box::pin(async move { Self::daemon(node.node()).signal(node, "STOP").await })
    }

    fn resume<'a>(&'a self, node: &'a dyn Remote) -> BoxFuture<'a, Result<(), RemoteError>> {
        Box::pin(async move { Self::daemon(node.node()).signal(node, "CONT").await })
    }

    fn ready<'a>(&'a self, node: &'a dyn Remote) -> BoxFuture<'a, Result<bool, RemoteError>> {
        Box::pin(async move {
            let client = EcstoreClient::new(&self.url(node.node()), Duration::from_secs(1));
            if client.health().await {
                return Ok(true);
            }
            // Not answering: still starting, or gone? A process that exited will not answer.
            let daemon = Self::daemon(node.node());
            if daemon.alive(node).await? {
                return Ok(false);
            }
            Err(daemon.exited(node).await)
        })
    }

    fn log_files(&self, node: &Node) -> Vec<String> {
        vec![Self::daemon(node).log_file()]
    }

    fn pid_files(&self, node: &Node) -> Vec<String> {
        vec![Self::daemon(node).pid_file()]
    }
}

/// A client of one ecstore node.
#[derive(Debug, Clone)]
pub struct EcstoreClient {
    http: reqwest::Client,
    base: String,
}

impl EcstoreClient {
    pub fn new(base: &str, timeout: Duration) -> EcstoreClient {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .unwrap_or_default();
        EcstoreClient {
            http,
            base: base.trim_end_matches('/').to_owned(),
        }
    }

    pub async fn health(&self) -> bool {
        let r = self.http.get(format!("{}/health", self.base)).send().await;
        r.is_ok_and(|r| r.status().is_success())
    }

    async fn call(&self, request: reqwest::RequestBuilder, is_read: bool) -> Completion {
        let response = match request.send().await {
            Ok(r) => r,
            // Nothing reached the store: it cannot have happened.
            Err(e) if e.is_connect() => return Completion::fail(format!("connect: {e}")),
            // Sent, then silence: a write may have happened; a read changes nothing.
            Err(e) if is_read => return Completion::fail(e.to_string()),
            Err(e) if e.is_timeout() => return Completion::info(format!("timeout: {e}")),
            Err(e) => return Completion::info(e.to_string()),
        };
        let status = response.status();
        let body: serde_json::Value = match response.json().await {
            Ok(b) => b,
            Err(e) if is_read => {
                return Completion::fail(format!("{status}: unreadable answer: {e}"));
            }
            Err(e) => return Completion::info(format!("{status}: unreadable answer: {e}")),
        };
        if status.is_success() {
            let value = body
                .get("value")
                .or_else(|| body.get("result"))
                .cloned()
                .unwrap_or(json!(null));
            return Completion::ok(from_json(&value));
        }
        let error = body
            .get("error")
            .and_then(|e| e.as_str())
            .unwrap_or("no reason given")
            .to_owned();
        let definite = body
            .get("definite")
            .and_then(|d| d.as_bool())
            .unwrap_or(false);
        if is_read || definite || status.is_client_error() {
            Completion::fail(format!("{status}: {error}"))
        } else {
            Completion::info(format!("{status}: {error}"))
        }
    }

    async fn write(&self, kind: &str, key: &str, value: serde_json::Value) -> Completion {
        let url = format!("{}/kv/{kind}/{}", self.base, path_segment(key));
        self.call(self.http.post(url).json(&json!({ "value": value })), false)
            .await
    }

    /// Reads through the node's configured routing, or (`local`) its own replica only.
    pub async fn read(&self, kind: &str, key: &str, local: bool) -> Completion {
        let url = format!(
            "{}/kv/{kind}/{}{}",
            self.base,
            path_segment(key),
            if local { "?local=true" } else { "" }
        );
        self.call(self.http.get(url), true).await
    }

    pub async fn write_register(&self, key: &str, value: i64) -> Completion {
        self.write("register", key, json!(value)).await
    }
    pub async fn add_to_set(&self, key: &str, element: i64) -> Completion {
        self.write("set", key, json!(element)).await
    }
    pub async fn increment(&self, key: &str, delta: i64) -> Completion {
        self.write("counter", key, json!(delta)).await
    }
    pub async fn append(&self, key: &str, element: i64) -> Completion {
        self.write("list", key, json!(element)).await
    }
    /// Insert-if-absent: completes `ok` with `"created"` or `"exists"`.
    pub async fn insert_if_absent(&self, key: &str, payload: i64) -> Completion {
        self.write("idem", key, json!(payload)).await
    }
}

/// The base URL of the ecstore on a node.
pub fn node_url(node: &Node, port: u16) -> String {
    if node.host.contains(':') {
        format!("http://[{}]:{}", node.host, port)
    } else {
        format!("http://{}:{}", node.host, port)
    }
}

/// The workloads ecstore's clients perform.
pub const WORKLOADS: &[&str] = &["set", "register", "counter", "list-append", "idempotency"];

/// ecstore's clients for a workload: single-key operations on each data type.
pub fn clients(workload: &str, db: &EcstoreDb) -> Option<Arc<dyn Clients>> {
    let kind = match workload {
        "set" => Kind::Set,
        "register" => Kind::Register,
        "counter" => Kind::Counter,
        "list-append" => Kind::List,
        "idempotency" => Kind::Idempotency,
        _ => return None,
    };
    let port = db.port;
    Some(Arc::new(move |node: &Node, timeout: Duration| {
        Box::new(EcstoreWorkloadClient {
            kind,
            client: EcstoreClient::new(&node_url(node, port), timeout),
        }) as Box<dyn Client>
    }))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Set,
    Register,
    Counter,
    List,
    Idempotency,
}

struct EcstoreWorkloadClient {
    kind: Kind,
    client: EcstoreClient,
}

impl EcstoreWorkloadClient {
    async fn perform(&self, op: &Invocation, local: bool) -> Completion {
        let c = &self.client;
        match (self.kind, &*op.f) {
            (Kind::Set, "add") => match op.value.as_int() {
                Some(x) => c.add_to_set("set", x).await.with_value(op.value.clone()),
                None => Completion::fail("add takes an integer"),
            },
            (Kind::Set, "read") => c.read("set", "set", local).await,
            (Kind::Counter, "add") => match op.value.as_int() {
                Some(d) => c.increment("counter", d).await.with_value(op.value.clone()),
                None => Completion::fail("add takes an integer"),
            },
            (Kind::Counter, "read") => c.read("counter", "counter", local).await,
            (Kind::Register | Kind::List, f) => {
                let Some((key, v)) = keyed(&op.value) else {
                    return Completion::fail("value must be [key, value]");
                };
                let (kind, name) = if self.kind == Kind::List {
                    ("list", "l")
                } else {
                    ("register", "r")
                };
                let store_key = format!("{name}{key}");
                let done = match (f, v.as_int()) {
                    ("read", _) => c.read(kind, &store_key, local).await,
                    ("write", Some(x)) => c
                        .write_register(&store_key, x)
                        .await
                        .with_value(Value::Int(x)),
                    ("append", Some(x)) => c.append(&store_key, x).await.with_value(Value::Int(x)),
                    _ => {
                        return Completion::fail(format!(
                            "{f} is not an operation of this workload"
                        ));
                    }
                };
                done.keyed(key)
            }
            (Kind::Idempotency, "read") => c.read("list", "ledger", local).await,
            (Kind::Idempotency, "insert") => {
                let Some(parts) = op.value.as_seq() else {
                    return Completion::fail("insert takes [id, payload]");
                };
                match (
                    parts.first().and_then(Value::as_str),
                    parts.get(1).and_then(Value::as_int),
                ) {
                    (Some(id), Some(payload)) => {
                        let done = c.insert_if_absent(id, payload).await;
                        let outcome = done.value.clone();
                        done.with_value(Value::List(vec![Value::from(id), outcome]))
                    }
                    _ => Completion::fail("insert takes [id, payload]"),
                }
            }
            (_, f) => Completion::fail(format!("{f} is not an operation of this workload")),
        }
    }
}

impl Client for EcstoreWorkloadClient {
    fn invoke<'a>(&'a mut self, op: &'a Invocation) -> BoxFuture<'a, Completion> {
        Box::pin(self.perform(op, false))
    }

    fn final_read<'a>(&'a mut self, op: &'a Invocation) -> BoxFuture<'a, Completion> {
        Box::pin(self.perform(op, true))
    }
}

/// Keys go into URL paths: anything but plain characters is percent-encoded.
fn path_segment(key: &str) -> String {
    key.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

fn from_json(v: &serde_json::Value) -> Value {
    match v {
        serde_json::Value::Null => Value::Nil,
        serde_json::Value::Bool(b) => Value::Bool(*b),
        serde_json::Value::Number(n) => n
            .as_i64()
            .map_or_else(|| Value::Float(n.as_f64().unwrap_or(f64::NAN)), Value::Int),
        serde_json::Value::String(s) => Value::Str(s.clone()),
        serde_json::Value::Array(items) => Value::List(items.iter().map(from_json).collect()),
        serde_json::Value::Object(m) => {
            Value::map(m.iter().map(|(k, v)| (Value::Str(k.clone()), from_json(v))))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_percent_encoded_in_paths() {
        assert_eq!(path_segment("a-b_1"), "a-b_1");
        assert_eq!(path_segment("a/b c?"), "a%2Fb%20c%3F");
    }

    #[test]
    fn the_argv_names_every_peer_and_the_flags() {
        let node = |name: &str, host: &str| Node {
            name: name.into(),
            host: host.into(),
            port: 22,
            user: "root".into(),
            workdir: "/w".into(),
            sudo_password: None,
        };
        let nodes = [node("n1", "10.0.0.1"), node("n2", "10.0.0.2")];
        let mut db = EcstoreDb::new("/bin/ecstore".into());
        db.flags = vec!["--resolution".into(), "lww-wall".into()];
        let argv = db.argv(&nodes[0], &nodes).join(" ");
        assert_eq!(
            argv,
            "./ecstore --node n1 --listen 10.0.0.1:8300 --peers n1=10.0.0.1:8300,n2=10.0.0.2:8300 \
             --data-dir /w/ecstore/data --resolution lww-wall"
        );
    }
}

/// ecstore in the registry.
#[derive(Debug, Clone, Copy)]
pub struct Ecstore;

impl crate::Store for Ecstore {
    fn name(&self) -> &str {
        "ecstore"
    }
    fn about(&self) -> &str {
        "rift's demo store: Dynamo-style, eventually consistent, its flaws are --db-flags"
    }
    fn workloads(&self) -> &[&'static str] {
        WORKLOADS
    }
    fn check_flags(&self, _flags: &[String]) -> Result<(), String> {
        // ecstore parses its own flags; a bad one stops it at start, and the run says why.
        Ok(())
    }
    fn open(&self, config: &crate::StoreConfig) -> Result<crate::Opened, String> {
        let mut db = EcstoreDb::new(locate_binary()?);
        db.flags = config.db_flags.clone();
        db.env = config.env.clone();
        let clients = clients(&config.workload, &db);
        crate::Opened::standard(db, &config.workload, Default::default(), clients)
    }
}
