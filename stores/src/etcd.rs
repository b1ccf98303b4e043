//! etcd 3.4 (Debian `etcd-server`): a static cluster over every node, data under
//! `<workdir>/etcd`, installed with apt when missing.
//!
//! Clients speak etcd's v3 JSON gateway (`/v3/kv/range`, `/v3/kv/put`, `/v3/kv/txn`) over HTTP
//! with the same client as ecstore: every operation rift needs is there, it is etcd's own API
//! (the gRPC messages as JSON), and it spares a gRPC stack and `protoc` in every build. Each
//! client is bound to its node's endpoint (sticky, as in Jepsen).
//!
//! - `register`: put and range on `r<k>`; reads are linearizable unless
//!   `--db-flag serializable-reads` (then served from the node's own state, possibly stale).
//! - `cas-register`: put and range on `c<k>`, and `cas [old new]` as one txn that compares the
//!   value with `old` and puts `new`; a compare that fails is a definite `fail`.
//! - `set`: a key per element under `s/`, read by one range over the prefix.
//! - `list-append` as transactions: the keys a transaction touches are read in one etcd txn
//!   (their values and mod revisions), its micro-ops are applied to that snapshot, and its
//!   appends are committed by a second txn that compares every key's mod revision (or that it
//!   does not exist yet). A failed compare is a definite `fail`; read-only transactions are the
//!   first txn alone. So the Elle checker judges real, strictly serializable transactions.
//!
//! The outcome rule: no connection means nothing was sent (`fail`); a failed compare or an
//! error etcd gives before proposing (a bad request) is `fail`; a timeout, a lost connection or
//! an error after proposing ("request timed out", "leader changed") is `info` for a write and
//! `fail` for a read. The leader is the primary.

use crate::packages;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use control::db::{BoxFuture, Daemon, ProcessEnv};
use control::{Cmd, Db, Node, Remote, RemoteError};
use history::Value;
use serde_json::{Value as Json, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use workloads::generator::Invocation;
use workloads::standard::{keyed, micro_ops};
use workloads::{Client, Clients, Completion};

pub const CLIENT_PORT: u16 = 2379;
pub const PEER_PORT: u16 = 2380;
pub const WORKLOADS: &[&str] = &["register", "cas-register", "set", "list-append"];

/// etcd on a set of nodes.
#[derive(Debug, Clone, Default)]
pub struct EtcdDb {
    pub env: ProcessEnv,
    /// Reads served from each member's own state (`serializable`), not through the leader.
    pub serializable_reads: bool,
}

fn dir(node: &Node) -> String {
    format!("{}/etcd", node.workdir)
}

fn daemon(node: &Node) -> Daemon {
    Daemon::new(dir(node), "etcd")
}

fn host_port(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

fn client_url(node: &Node) -> String {
    format!("http://{}", host_port(&node.host, CLIENT_PORT))
}

impl EtcdDb {
    pub fn argv(&self, node: &Node, nodes: &[Node]) -> Vec<String> {
        let peer = |n: &Node| format!("http://{}", host_port(&n.host, PEER_PORT));
        let cluster: Vec<String> = nodes
            .iter()
            .map(|n| format!("{}={}", n.name, peer(n)))
            .collect();
        [
            "etcd",
            "--name",
            &node.name,
            "--data-dir",
            &format!("{}/data", dir(node)),
            "--listen-client-urls",
            &client_url(node),
            "--advertise-client-urls",
            &client_url(node),
            "--listen-peer-urls",
            &peer(node),
            "--initial-advertise-peer-urls",
            &peer(node),
            "--initial-cluster",
            &cluster.join(","),
            "--initial-cluster-state",
            "new",
            "--initial-cluster-token",
            "rift",
        ]
        .map(String::from)
        .to_vec()
    }
}

impl Db for EtcdDb {
    fn name(&self) -> &'static str {
        "etcd"
    }

    fn setup<'a>(
        &'a self,
        node: &'a dyn Remote,
        nodes: &'a [Node],
    ) -> BoxFuture<'a, Result<(), RemoteError>> {
        Box::pin(async move {
            packages::ensure(node, &[("etcd", "etcd-server")]).await?;
            // A fresh cluster each run: old data would name another cluster's members.
            node.run(&Cmd::new("rm").args(["-rf", &format!("{}/data", dir(node.node()))]))
                .await?;
            self.start(node, nodes).await
        })
    }

    fn teardown<'a>(&'a self, node: &'a dyn Remote) -> BoxFuture<'a, Result<(), RemoteError>> {
        Box::pin(async move {
            let d = daemon(node.node());
            d.kill(node).await?;
            node.run(&Cmd::new("rm").args(["-rf", &format!("{}/data", d.dir), &d.pid_file()]))
                .await
                .map(|_| ())
        })
    }

    fn start<'a>(
        &'a self,
        node: &'a dyn Remote,
        nodes: &'a [Node],
    ) -> BoxFuture<'a, Result<(), RemoteError>> {
        Box::pin(async move {
            let n = node.node();
            daemon(n)
                .start(node, &self.argv(n, nodes), &self.env.for_node(n))
                .await
        })
    }

    fn kill<'a>(&'a self, node: &'a dyn Remote) -> BoxFuture<'a, Result<(), RemoteError>> {
        Box::pin(async move { daemon(node.node()).kill(node).await })
    }

    fn pause<'a>(&'a self, node: &'a dyn Remote) -> BoxFuture<'a, Result<(), RemoteError>> {
        Box::pin(async move { daemon(node.node()).signal(node, "STOP").await })
    }

    fn resume<'a>(&'a self, node: &'a dyn Remote) -> BoxFuture<'a, Result<(), RemoteError>> {
        Box::pin(async move { daemon(node.node()).signal(node, "CONT").await })
    }

    fn ready<'a>(&'a self, node: &'a dyn Remote) -> BoxFuture<'a, Result<bool, RemoteError>> {
        Box::pin(async move {
            let n = node.node();
            let http = Gateway::new(n, Duration::from_secs(1), false);
            let healthy = http
                .http
                .get(format!("{}/health", http.base))
                .send()
                .await
                .ok()
                .filter(|r| r.status().is_success())
                .map(|r| r.json::<Json>());
            if let Some(body) = healthy
                && body.await.is_ok_and(|b| b["health"] == "true")
            {
                return Ok(true);
            }
            let d = daemon(n);
            if d.alive(node).await? {
                Ok(false)
            } else {
                Err(d.exited(node).await)
            }
        })
    }

    fn log_files(&self, node: &Node) -> Vec<String> {
        vec![daemon(node).log_file()]
    }

    fn pid_files(&self, node: &Node) -> Vec<String> {
        vec![daemon(node).pid_file()]
    }

    /// The member every answering member names as leader.
    fn primaries<'a>(&'a self, nodes: &'a [Node]) -> BoxFuture<'a, Result<Vec<String>, String>> {
        Box::pin(async move {
            let mut ids: BTreeMap<String, String> = BTreeMap::new();
            let mut leaders: BTreeMap<String, usize> = BTreeMap::new();
            for n in nodes {
                let g = Gateway::new(n, Duration::from_secs(1), false);
                if let Ok(status) = g.post("maintenance/status", json!({})).await {
                    let id = status["header"]["member_id"]
                        .as_str()
                        .unwrap_or("")
                        .to_owned();
                    ids.insert(id, n.name.clone());
                    if let Some(l) = status["leader"].as_str() {
                        *leaders.entry(l.to_owned()).or_default() += 1;
                    }
                }
            }
            let leader = leaders
                .into_iter()
                .max_by_key(|(_, v)| *v)
                .map(|(l, _)| l)
                .ok_or("no etcd member answered with a leader")?;
            ids.get(&leader)
                .map(|n| vec![n.clone()])
                .ok_or_else(|| format!("the leader {leader} did not answer"))
        })
    }
}

/// etcd's JSON gateway on one member.
#[derive(Debug, Clone)]
struct Gateway {
    http: reqwest::Client,
    base: String,
    serializable: bool,
}

/// What a request came to, before the outcome rule.
#[derive(Debug)]
enum Failure {
    /// Nothing was sent.
    NotSent(String),
    /// Refused before anything happened.
    Definite(String),
    /// Sent; it may have taken effect.
    Indefinite(String),
}

impl Failure {
    fn completion(self, is_read: bool) -> Completion {
        match self {
            Failure::NotSent(e) | Failure::Definite(e) => Completion::fail(e),
            Failure::Indefinite(e) => Completion::unanswered(is_read, e),
        }
    }
}

fn b64(s: &str) -> String {
    B64.encode(s)
}

fn unb64(v: &Json) -> Option<String> {
    B64.decode(v.as_str()?)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
}

impl Gateway {
    fn new(node: &Node, timeout: Duration, serializable: bool) -> Gateway {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .build()
            .unwrap_or_default();
        Gateway {
            http,
            base: client_url(node),
            serializable,
        }
    }

    async fn post(&self, path: &str, body: Json) -> Result<Json, Failure> {
        let response = self
            .http
            .post(format!("{}/v3/{path}", self.base))
            .json(&body)
            .send()
            .await
            .map_err(|e| {
                if e.is_connect() {
                    Failure::NotSent(format!("connect: {e}"))
                } else {
                    Failure::Indefinite(e.to_string())
                }
            })?;
        let status = response.status();
        let body: Json = response
            .json()
            .await
            .map_err(|e| Failure::Indefinite(format!("{status}: unreadable answer: {e}")))?;
        if status.is_success() {
            return Ok(body);
        }
        let message = body["error"]
            .as_str()
            .or(body["message"].as_str())
            .unwrap_or("no reason given")
            .to_owned();
        // gRPC's InvalidArgument (3) and FailedPrecondition (9) are refused before proposing.
        match body["code"].as_i64() {
            Some(3 | 9) => Err(Failure::Definite(format!("{status}: {message}"))),
            _ => Err(Failure::Indefinite(format!("{status}: {message}"))),
        }
    }

    async fn put(&self, key: &str, value: &str) -> Result<(), Failure> {
        self.post("kv/put", json!({"key": b64(key), "value": b64(value)}))
            .await
            .map(|_| ())
    }

    fn range_request(&self, key: &str, range_end: Option<&str>) -> Json {
        let mut r = json!({"key": b64(key), "serializable": self.serializable});
        if let Some(end) = range_end {
            r["range_end"] = json!(b64(end));
        }
        r
    }

    /// `(key, value, mod_revision)` of every key in the range.
    async fn range(
        &self,
        key: &str,
        range_end: Option<&str>,
    ) -> Result<Vec<(String, String, String)>, Failure> {
        let body = self
            .post("kv/range", self.range_request(key, range_end))
            .await?;
        Ok(kvs(&body))
    }
}

fn kvs(range_response: &Json) -> Vec<(String, String, String)> {
    range_response["kvs"]
        .as_array()
        .map(|kvs| {
            kvs.iter()
                .filter_map(|kv| {
                    Some((
                        unb64(&kv["key"])?,
                        unb64(&kv["value"]).unwrap_or_default(),
                        kv["mod_revision"].as_str().unwrap_or("0").to_owned(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Workload {
    Register,
    /// Keys `c<k>`: small values, and cas as a txn comparing the value.
    CasRegister,
    Set,
    ListTxn,
}

struct EtcdClient {
    workload: Workload,
    gateway: Gateway,
    /// For final reads: the same member, serializable (its own state).
    local: Gateway,
}

fn parse_list(s: &str) -> Vec<i64> {
    serde_json::from_str(s).unwrap_or_default()
}

impl EtcdClient {
    async fn perform(&self, op: &Invocation, final_read: bool) -> Completion {
        let g = if final_read {
            &self.local
        } else {
            &self.gateway
        };
        let is_read = &*op.f == "read";
        let done = match (self.workload, &*op.f) {
            (Workload::Register | Workload::CasRegister, "write") => match keyed(&op.value) {
                Some((k, v)) if v.as_int().is_some() => {
                    let prefix = if self.workload == Workload::Register {
                        "r"
                    } else {
                        "c"
                    };
                    g.put(
                        &format!("{prefix}{k}"),
                        &v.as_int().unwrap_or_default().to_string(),
                    )
                    .await
                    .map(|()| op.value.clone())
                }
                _ => return Completion::fail("write takes [key, integer]"),
            },
            (Workload::CasRegister, "cas") => {
                let pair = keyed(&op.value).and_then(|(k, p)| {
                    let p = p.as_seq()?;
                    Some((k, p.first()?.as_int()?, p.get(1)?.as_int()?))
                });
                let Some((k, old, new)) = pair else {
                    return Completion::fail("cas takes [key, [old new]] of integers");
                };
                let key = b64(&format!("c{k}"));
                let txn = json!({
                    "compare": [{"key": key, "target": "VALUE", "result": "EQUAL",
                                 "value": b64(&old.to_string())}],
                    "success": [{"request_put": {"key": key, "value": b64(&new.to_string())}}],
                });
                match g.post("kv/txn", txn).await {
                    // proto3's JSON leaves out `false`.
                    Ok(answer) if answer["succeeded"].as_bool() == Some(true) => {
                        Ok(op.value.clone())
                    }
                    Ok(_) => return Completion::fail(format!("cas: c{k} did not hold {old}")),
                    Err(e) => Err(e),
                }
            }
            (Workload::Register | Workload::CasRegister | Workload::ListTxn, "read") => {
                let Some((k, _)) = keyed(&op.value) else {
                    return Completion::fail("read takes [key, nil]");
                };
                let prefix = match self.workload {
                    Workload::Register => "r",
                    Workload::CasRegister => "c",
                    _ => "l",
                };
                g.range(&format!("{prefix}{k}"), None).await.map(|kvs| {
                    let v = kvs.first().map(|(_, v, _)| v.clone());
                    let v = match self.workload {
                        Workload::Register | Workload::CasRegister => v
                            .and_then(|v| v.parse::<i64>().ok())
                            .map_or(Value::Nil, Value::Int),
                        _ => Value::List(
                            parse_list(v.as_deref().unwrap_or("[]"))
                                .into_iter()
                                .map(Value::Int)
                                .collect(),
                        ),
                    };
                    Value::List(vec![Value::Int(k), v])
                })
            }
            (Workload::Set, "add") => match op.value.as_int() {
                Some(x) => g
                    .put(&format!("s/{x}"), "")
                    .await
                    .map(|()| op.value.clone()),
                None => return Completion::fail("add takes an integer"),
            },
            (Workload::Set, "read") => g.range("s/", Some("s0")).await.map(|kvs| {
                let mut xs: Vec<i64> = kvs
                    .iter()
                    .filter_map(|(k, _, _)| k.strip_prefix("s/")?.parse().ok())
                    .collect();
                xs.sort_unstable();
                Value::List(xs.into_iter().map(Value::Int).collect())
            }),
            (Workload::ListTxn, "txn") => return self.transaction(g, &op.value).await,
            (_, f) => return Completion::fail(format!("{f} is not an operation of this workload")),
        };
        match done {
            Ok(v) => Completion::ok(v),
            Err(e) => e.completion(is_read),
        }
    }

    /// One list-append transaction: read the keys it touches in one txn, apply its micro-ops,
    /// commit its appends in a second txn guarded by every key's mod revision.
    async fn transaction(&self, g: &Gateway, value: &Value) -> Completion {
        let Some(micro) = micro_ops(value) else {
            return Completion::fail("txn takes [[f k v] ..]");
        };
        if let Some((f, _, _)) = micro.iter().find(|(f, _, _)| *f != "r" && *f != "append") {
            return Completion::fail(format!("{f} is not a micro-op of list-append"));
        }
        let keys: Vec<i64> = {
            let mut ks: Vec<i64> = micro.iter().map(|(_, k, _)| *k).collect();
            ks.sort_unstable();
            ks.dedup();
            ks
        };
        let read_only = micro.iter().all(|(f, _, _)| *f == "r");
        let snapshot = json!({
            "success": keys.iter().map(|k| json!({"request_range": g.range_request(&format!("l{k}"), None)})).collect::<Vec<_>>()
        });
        let answer = match g.post("kv/txn", snapshot).await {
            Ok(a) => a,
            // Reading changes nothing, whatever happened.
            Err(e) => return e.completion(true),
        };
        let responses = answer["responses"].as_array().cloned().unwrap_or_default();
        // key -> (list, mod revision or None when absent)
        let mut state: BTreeMap<i64, (Vec<i64>, Option<String>)> = BTreeMap::new();
        for (k, r) in keys.iter().zip(responses.iter()) {
            let found = kvs(&r["response_range"]);
            state.insert(
                *k,
                match found.first() {
                    Some((_, v, rev)) => (parse_list(v), Some(rev.clone())),
                    None => (Vec::new(), None),
                },
            );
        }
        if state.len() != keys.len() {
            return Completion::fail("etcd answered the snapshot with too few ranges");
        }
        let mut results = Vec::with_capacity(micro.len());
        let mut written = std::collections::BTreeSet::new();
        for (f, k, v) in &micro {
            let entry = state.entry(*k).or_default();
            if *f == "r" {
                let list = entry.0.iter().copied().map(Value::Int).collect();
                results.push(workloads::standard::micro("r", *k, Value::List(list)));
            } else {
                let Some(x) = v.as_int() else {
                    return Completion::fail("append takes an integer");
                };
                entry.0.push(x);
                written.insert(*k);
                results.push(workloads::standard::micro("append", *k, Value::Int(x)));
            }
        }
        if read_only {
            return Completion::ok(Value::List(results));
        }
        let compare: Vec<Json> = keys
            .iter()
            .map(|k| {
                let key = b64(&format!("l{k}"));
                match &state[k].1 {
                    Some(rev) => json!({"key": key, "result": "EQUAL", "target": "MOD", "mod_revision": rev}),
                    None => json!({"key": key, "result": "EQUAL", "target": "CREATE", "create_revision": "0"}),
                }
            })
            .collect();
        let puts: Vec<Json> = written
            .iter()
            .map(|k| {
                let list = serde_json::to_string(&state[k].0).unwrap_or_default();
                json!({"request_put": {"key": b64(&format!("l{k}")), "value": b64(&list)}})
            })
            .collect();
        match g
            .post("kv/txn", json!({"compare": compare, "success": puts}))
            .await
        {
            Ok(a) if a["succeeded"].as_bool() == Some(true) => Completion::ok(Value::List(results)),
            Ok(_) => Completion::fail("conflict: a key changed since the transaction read it"),
            Err(e) => e.completion(false),
        }
    }
}

impl Client for EtcdClient {
    fn invoke<'a>(&'a mut self, op: &'a Invocation) -> BoxFuture<'a, Completion> {
        Box::pin(self.perform(op, false))
    }

    fn final_read<'a>(&'a mut self, op: &'a Invocation) -> BoxFuture<'a, Completion> {
        Box::pin(self.perform(op, true))
    }
}

/// etcd's clients for a workload.
pub fn clients(workload: &str, db: &EtcdDb) -> Option<Arc<dyn Clients>> {
    let workload = match workload {
        "register" => Workload::Register,
        "cas-register" => Workload::CasRegister,
        "set" => Workload::Set,
        "list-append" => Workload::ListTxn,
        _ => return None,
    };
    let serializable = db.serializable_reads;
    Some(Arc::new(move |node: &Node, timeout: Duration| {
        Box::new(EtcdClient {
            workload,
            gateway: Gateway::new(node, timeout, serializable),
            local: Gateway::new(node, timeout, true),
        }) as Box<dyn Client>
    }))
}

/// etcd in the registry.
#[derive(Debug, Clone, Copy)]
pub struct Etcd;

impl crate::Store for Etcd {
    fn name(&self) -> &str {
        "etcd"
    }
    fn about(&self) -> &str {
        "etcd 3.4 (Debian etcd-server): Raft, linearizable by default; --db-flag serializable-reads"
    }
    fn workloads(&self) -> &[&'static str] {
        WORKLOADS
    }
    fn has_primaries(&self) -> bool {
        true
    }
    fn check_flags(&self, flags: &[String]) -> Result<(), String> {
        parse_flags(flags).map(|_| ())
    }
    /// etcd's documented guarantees (etcd.io, "API guarantees"): linearizable reads and writes,
    /// strictly serializable transactions. Serializable reads are served from a member's own
    /// state and "may be stale": then reads promise only what the member converges to, and a
    /// transaction reading such a snapshot is serializable, not strictly.
    fn claims(&self, workload: &str, flags: &[String]) -> Option<Vec<String>> {
        let serializable = parse_flags(flags).ok()?.serializable_reads;
        let transactional = matches!(workload, "list-append" | "rw-register");
        let claim = match (transactional, serializable) {
            (true, false) => "strict-serializable",
            (true, true) => "serializable",
            (false, false) => "linearizable",
            (false, true) => "eventual",
        };
        Some(vec![claim.to_owned()])
    }
    fn open(&self, config: &crate::StoreConfig) -> Result<crate::Opened, String> {
        let mut db = parse_flags(&config.db_flags)?;
        db.env = config.env.clone();
        let clients = clients(&config.workload, &db);
        // Real transactions: the Elle checker judges list-append.
        let options = workloads::standard::Options { transactions: true };
        crate::Opened::standard(db, &config.workload, options, clients)
    }
}

fn parse_flags(flags: &[String]) -> Result<EtcdDb, String> {
    let mut db = EtcdDb::default();
    for f in flags {
        match f.as_str() {
            "serializable-reads" => db.serializable_reads = true,
            other => return Err(format!("etcd takes serializable-reads; not {other:?}")),
        }
    }
    Ok(db)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_follow_the_documented_guarantees_and_the_read_flag() {
        use crate::Store;
        let serial = ["serializable-reads".to_owned()];
        let claim = |w: &str, f: &[String]| Etcd.claims(w, f).unwrap();
        assert_eq!(claim("set", &[]), ["linearizable"]);
        assert_eq!(claim("list-append", &[]), ["strict-serializable"]);
        assert_eq!(claim("register", &serial), ["eventual"]);
        assert_eq!(claim("list-append", &serial), ["serializable"]);
    }

    #[test]
    fn members_are_started_as_one_static_cluster() {
        let node = |i: u8| Node {
            name: format!("n{i}"),
            host: format!("10.0.0.{i}"),
            port: 22,
            user: "root".into(),
            workdir: format!("/w/{i}"),
            sudo_password: None,
        };
        let nodes = [node(1), node(2)];
        let argv = EtcdDb::default().argv(&nodes[1], &nodes).join(" ");
        assert!(
            argv.contains("--name n2 --data-dir /w/2/etcd/data"),
            "{argv}"
        );
        assert!(
            argv.contains("--listen-client-urls http://10.0.0.2:2379"),
            "{argv}"
        );
        assert!(
            argv.contains("--initial-cluster n1=http://10.0.0.1:2380,n2=http://10.0.0.2:2380"),
            "{argv}"
        );
    }

    #[test]
    fn range_answers_are_decoded_and_flags_checked() {
        let body = json!({"kvs": [{"key": b64("s/12"), "value": b64(""), "mod_revision": "7"}]});
        assert_eq!(kvs(&body), vec![("s/12".into(), String::new(), "7".into())]);
        assert_eq!(kvs(&json!({})), vec![]);
        assert!(
            parse_flags(&["serializable-reads".into()])
                .unwrap()
                .serializable_reads
        );
        assert!(parse_flags(&["quorum".into()]).is_err());
        assert_eq!(parse_list("[1,2]"), vec![1, 2]);
    }
}
