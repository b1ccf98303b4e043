//! Redis with Sentinel (Debian `redis-server` and `redis-sentinel`): one primary (the first
//! node), a replica on every other node, and a Sentinel on every node with a majority quorum
//! and automatic failover.
//!
//! Each node keeps its configs, data and logs under `<workdir>/redis`. Both processes are
//! [`Daemon`]s rift starts and owns; kill and pause act on `redis-server` (the Sentinels keep
//! watching, as operators run them). Setup installs the packages with apt when they are
//! missing. Configs are written only at setup: Sentinel rewrites them as it reconfigures the
//! group, and a restarted node comes back with what Sentinel last told it.
//!
//! Clients follow Sentinel: a client bound to a node asks that node's Sentinel for the current
//! primary and sends its commands there; after any error it asks again. So a client beside a
//! primary that a partition cut off from the rest keeps writing to it — acknowledged writes
//! that the failover on the majority side later discards, which is what Jepsen found. Final
//! reads go to each node's own `redis-server` (its replica).
//!
//! The outcome rule: an error reply from Redis (`READONLY`, `ERR`, ...) means the command was
//! not executed (`fail`); no connection, no primary known, or a connection refused means nothing
//! was sent (`fail`); a timeout or a connection lost after sending is `info` for a write and
//! `fail` for a read.

use crate::packages;
use control::db::{BoxFuture, Daemon, ProcessEnv};
use control::{Cmd, Db, Node, Remote, RemoteError};
use history::Value;
use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, RedisError};
use std::sync::Arc;
use std::time::Duration;
use workloads::standard::keyed;
use workloads::{Client, Clients, Completion};

pub const PORT: u16 = 6379;
pub const SENTINEL_PORT: u16 = 26379;
/// The name Sentinel knows the group by.
pub const MASTER_NAME: &str = "rift";
/// The workloads Redis's clients perform.
pub const WORKLOADS: &[&str] = &["set", "register", "counter", "list-append"];

/// Redis + Sentinel on a set of nodes.
#[derive(Debug, Clone)]
pub struct RedisDb {
    pub env: ProcessEnv,
    /// Sentinel's `down-after-milliseconds`: how long a primary may be silent before failover.
    pub down_after_ms: u64,
    /// How many nodes the group has, once set up: a Sentinel is ready only when it knows every
    /// replica and every other Sentinel (else a failover finds "no good replica").
    group: std::sync::OnceLock<usize>,
}

impl Default for RedisDb {
    fn default() -> RedisDb {
        RedisDb {
            env: ProcessEnv::default(),
            down_after_ms: 2000,
            group: std::sync::OnceLock::new(),
        }
    }
}

fn dir(node: &Node) -> String {
    format!("{}/redis", node.workdir)
}

fn server(node: &Node) -> Daemon {
    Daemon::new(dir(node), "redis-server")
}

fn sentinel(node: &Node) -> Daemon {
    Daemon::new(dir(node), "redis-sentinel")
}

fn url(host: &str, port: u16) -> String {
    if host.contains(':') {
        format!("redis://[{host}]:{port}/")
    } else {
        format!("redis://{host}:{port}/")
    }
}

impl RedisDb {
    /// redis-server's config on `node`; every node but the first starts as a replica of it.
    pub fn server_config(&self, node: &Node, nodes: &[Node]) -> String {
        let primary = &nodes[0];
        let mut conf = format!(
            "bind {host}\nport {PORT}\nprotected-mode no\ndaemonize no\ndir {dir}/data\n\
             save \"\"\nappendonly no\nrepl-diskless-sync yes\nrepl-diskless-sync-delay 0\n\
             replica-read-only yes\n",
            host = node.host,
            dir = dir(node),
        );
        if node.name != primary.name {
            conf.push_str(&format!("replicaof {} {PORT}\n", primary.host));
        }
        conf
    }

    /// Sentinel's config: a majority quorum over the first node as the initial primary.
    pub fn sentinel_config(&self, node: &Node, nodes: &[Node]) -> String {
        let quorum = nodes.len() / 2 + 1;
        format!(
            "bind {host}\nport {SENTINEL_PORT}\nprotected-mode no\ndaemonize no\ndir {dir}\n\
             sentinel monitor {MASTER_NAME} {primary} {PORT} {quorum}\n\
             sentinel down-after-milliseconds {MASTER_NAME} {down}\n\
             sentinel failover-timeout {MASTER_NAME} 6000\n\
             sentinel parallel-syncs {MASTER_NAME} {all}\n",
            host = node.host,
            dir = dir(node),
            primary = nodes[0].host,
            down = self.down_after_ms,
            all = nodes.len().max(1),
        )
    }

    async fn start_both(&self, node: &dyn Remote) -> Result<(), RemoteError> {
        let n = node.node();
        let env = self.env.for_node(n);
        let d = dir(n);
        server(n)
            .start(
                node,
                &["redis-server".into(), format!("{d}/redis.conf")],
                &env,
            )
            .await?;
        sentinel(n)
            .start(
                node,
                &["redis-sentinel".into(), format!("{d}/sentinel.conf")],
                &env,
            )
            .await
    }
}

async fn write_file(node: &dyn Remote, path: &str, text: String) -> Result<(), RemoteError> {
    node.run(
        &Cmd::new("sh")
            .args(["-c", "cat > \"$0\"", path])
            .stdin(text),
    )
    .await
    .map(|_| ())
}

impl Db for RedisDb {
    fn name(&self) -> &'static str {
        "redis"
    }

    fn setup<'a>(
        &'a self,
        node: &'a dyn Remote,
        nodes: &'a [Node],
    ) -> BoxFuture<'a, Result<(), RemoteError>> {
        Box::pin(async move {
            let _ = self.group.set(nodes.len());
            packages::ensure(
                node,
                &[
                    ("redis-server", "redis-server"),
                    ("redis-sentinel", "redis-sentinel"),
                ],
            )
            .await?;
            let n = node.node();
            let d = dir(n);
            node.run(&Cmd::new("mkdir").args(["-p", &format!("{d}/data")]))
                .await?;
            write_file(
                node,
                &format!("{d}/redis.conf"),
                self.server_config(n, nodes),
            )
            .await?;
            write_file(
                node,
                &format!("{d}/sentinel.conf"),
                self.sentinel_config(n, nodes),
            )
            .await?;
            self.start_both(node).await
        })
    }

    fn teardown<'a>(&'a self, node: &'a dyn Remote) -> BoxFuture<'a, Result<(), RemoteError>> {
        Box::pin(async move {
            let n = node.node();
            sentinel(n).kill(node).await?;
            server(n).kill(node).await?;
            let d = dir(n);
            node.run(&Cmd::new("rm").args([
                "-rf",
                &format!("{d}/data"),
                &format!("{d}/redis.conf"),
                &format!("{d}/sentinel.conf"),
                &server(n).pid_file(),
                &sentinel(n).pid_file(),
            ]))
            .await
            .map(|_| ())
        })
    }

    fn start<'a>(
        &'a self,
        node: &'a dyn Remote,
        _nodes: &'a [Node],
    ) -> BoxFuture<'a, Result<(), RemoteError>> {
        Box::pin(self.start_both(node))
    }

    fn kill<'a>(&'a self, node: &'a dyn Remote) -> BoxFuture<'a, Result<(), RemoteError>> {
        Box::pin(async move { server(node.node()).kill(node).await })
    }

    fn pause<'a>(&'a self, node: &'a dyn Remote) -> BoxFuture<'a, Result<(), RemoteError>> {
        Box::pin(async move { server(node.node()).signal(node, "STOP").await })
    }

    fn resume<'a>(&'a self, node: &'a dyn Remote) -> BoxFuture<'a, Result<(), RemoteError>> {
        Box::pin(async move { server(node.node()).signal(node, "CONT").await })
    }

    fn ready<'a>(&'a self, node: &'a dyn Remote) -> BoxFuture<'a, Result<bool, RemoteError>> {
        Box::pin(async move {
            let n = node.node();
            let t = Duration::from_secs(1);
            // The server answers and, as a replica, is attached; its Sentinel knows the group.
            let server_ok = match connect(&n.host, PORT, t).await {
                Ok(mut c) => redis::cmd("INFO")
                    .arg("replication")
                    .query_async::<String>(&mut c)
                    .await
                    .is_ok_and(|info| {
                        info.contains("role:master") || info.contains("master_link_status:up")
                    }),
                Err(_) => false,
            };
            let others = self.group.get().map_or(0, |n| n.saturating_sub(1));
            let sentinel_ok = match connect(&n.host, SENTINEL_PORT, t).await {
                Ok(mut c) => redis::cmd("SENTINEL")
                    .arg("master")
                    .arg(MASTER_NAME)
                    .query_async::<Vec<String>>(&mut c)
                    .await
                    .is_ok_and(|fields| {
                        let field = |name: &str| -> usize {
                            fields
                                .chunks(2)
                                .find(|kv| kv[0] == name)
                                .and_then(|kv| kv.get(1)?.parse().ok())
                                .unwrap_or(0)
                        };
                        field("num-slaves") >= others && field("num-other-sentinels") >= others
                    }),
                Err(_) => false,
            };
            if server_ok && sentinel_ok {
                return Ok(true);
            }
            for d in [server(n), sentinel(n)] {
                if !d.alive(node).await? {
                    return Err(d.exited(node).await);
                }
            }
            Ok(false)
        })
    }

    fn log_files(&self, node: &Node) -> Vec<String> {
        let d = dir(node);
        vec![
            server(node).log_file(),
            sentinel(node).log_file(),
            format!("{d}/redis.conf"),
            format!("{d}/sentinel.conf"),
        ]
    }

    fn pid_files(&self, node: &Node) -> Vec<String> {
        vec![server(node).pid_file()]
    }

    /// The primary most Sentinels name.
    fn primaries<'a>(&'a self, nodes: &'a [Node]) -> BoxFuture<'a, Result<Vec<String>, String>> {
        Box::pin(async move {
            let mut votes: std::collections::BTreeMap<String, usize> = Default::default();
            let mut errors = Vec::new();
            for n in nodes {
                match ask_sentinel(&n.host, Duration::from_secs(1)).await {
                    Ok(host) => *votes.entry(host).or_default() += 1,
                    Err(e) => errors.push(format!("{}: {e}", n.name)),
                }
            }
            let Some((host, _)) = votes.into_iter().max_by_key(|(_, v)| *v) else {
                return Err(format!(
                    "no Sentinel named a primary: {}",
                    errors.join("; ")
                ));
            };
            nodes
                .iter()
                .find(|n| n.host == host)
                .map(|n| vec![n.name.clone()])
                .ok_or_else(|| format!("Sentinel names {host}, which is not a node of this test"))
        })
    }
}

async fn connect(
    host: &str,
    port: u16,
    timeout: Duration,
) -> Result<MultiplexedConnection, RedisError> {
    let client = redis::Client::open(url(host, port))?;
    let config = AsyncConnectionConfig::new()
        .set_connection_timeout(Some(timeout))
        .set_response_timeout(Some(timeout));
    client
        .get_multiplexed_async_connection_with_config(&config)
        .await
}

/// The primary's host, as the Sentinel on `host` sees it.
async fn ask_sentinel(host: &str, timeout: Duration) -> Result<String, String> {
    let mut c = connect(host, SENTINEL_PORT, timeout)
        .await
        .map_err(|e| format!("Sentinel: {e}"))?;
    let addr: Option<(String, String)> = redis::cmd("SENTINEL")
        .arg("get-master-addr-by-name")
        .arg(MASTER_NAME)
        .query_async(&mut c)
        .await
        .map_err(|e| format!("Sentinel: {e}"))?;
    addr.map(|(h, _)| h)
        .ok_or_else(|| "Sentinel knows no primary".into())
}

/// A client bound to one node: commands to the primary that node's Sentinel names.
struct RedisClient {
    node: Node,
    timeout: Duration,
    workload: Workload,
    /// The connection to the current primary, dropped after any error.
    primary: Option<MultiplexedConnection>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Workload {
    Set,
    Register,
    Counter,
    List,
}

/// The Redis command for an operation, and whether it only reads.
fn command(workload: Workload, f: &str, value: &Value) -> Result<(redis::Cmd, bool), String> {
    let keyed_int = || -> Result<(i64, Option<i64>), String> {
        let (k, v) = keyed(value).ok_or("the value must be [key, value]")?;
        Ok((k, v.as_int()))
    };
    Ok(match (workload, f) {
        (Workload::Set, "add") => {
            let x = value.as_int().ok_or("add takes an integer")?;
            (redis::cmd("SADD").arg("rift-set").arg(x).clone(), false)
        }
        (Workload::Set, "read") => (redis::cmd("SMEMBERS").arg("rift-set").clone(), true),
        (Workload::Counter, "add") => {
            let d = value.as_int().ok_or("add takes an integer")?;
            (
                redis::cmd("INCRBY").arg("rift-counter").arg(d).clone(),
                false,
            )
        }
        (Workload::Counter, "read") => (redis::cmd("GET").arg("rift-counter").clone(), true),
        (Workload::Register, "write") => match keyed_int()? {
            (k, Some(v)) => (redis::cmd("SET").arg(format!("r{k}")).arg(v).clone(), false),
            _ => return Err("write takes [key, integer]".into()),
        },
        (Workload::Register, "read") => {
            let (k, _) = keyed_int()?;
            (redis::cmd("GET").arg(format!("r{k}")).clone(), true)
        }
        (Workload::List, "append") => match keyed_int()? {
            (k, Some(v)) => (
                redis::cmd("RPUSH").arg(format!("l{k}")).arg(v).clone(),
                false,
            ),
            _ => return Err("append takes [key, integer]".into()),
        },
        (Workload::List, "read") => {
            let (k, _) = keyed_int()?;
            (
                redis::cmd("LRANGE")
                    .arg(format!("l{k}"))
                    .arg(0)
                    .arg(-1)
                    .clone(),
                true,
            )
        }
        (_, f) => return Err(format!("{f} is not an operation of this workload")),
    })
}

/// What Redis answered, as the history records it.
fn result(workload: Workload, f: &str, op: &Value, answer: redis::Value) -> Result<Value, String> {
    use redis::FromRedisValue;
    let ints = |v: &redis::Value| -> Result<Vec<i64>, String> {
        Vec::<i64>::from_redis_value_ref(v).map_err(|e| e.to_string())
    };
    Ok(match (workload, f) {
        (Workload::Set, "read") => {
            let mut xs = ints(&answer)?;
            xs.sort_unstable();
            Value::List(xs.into_iter().map(Value::Int).collect())
        }
        (Workload::Counter, "read") => {
            let n = Option::<i64>::from_redis_value_ref(&answer).map_err(|e| e.to_string())?;
            Value::Int(n.unwrap_or(0))
        }
        (Workload::Register, "read") => {
            let k = keyed(op).map_or(0, |(k, _)| k);
            let v = Option::<i64>::from_redis_value_ref(&answer).map_err(|e| e.to_string())?;
            Value::List(vec![Value::Int(k), v.map_or(Value::Nil, Value::Int)])
        }
        (Workload::List, "read") => {
            let k = keyed(op).map_or(0, |(k, _)| k);
            let xs = ints(&answer)?;
            Value::List(vec![
                Value::Int(k),
                Value::List(xs.into_iter().map(Value::Int).collect()),
            ])
        }
        // Writes record what they wrote.
        _ => op.clone(),
    })
}

/// The outcome rule for a Redis error on a command that was sent.
fn outcome_of(e: &RedisError, is_read: bool) -> Completion {
    if e.is_connection_refusal() {
        return Completion::fail(format!("refused: {e}"));
    }
    // An error reply: Redis did not execute the command.
    if !e.is_io_error()
        && !e.is_timeout()
        && !e.is_connection_dropped()
        && !e.is_unrecoverable_error()
    {
        return Completion::fail(e.to_string());
    }
    Completion::unanswered(is_read, e.to_string())
}

impl RedisClient {
    async fn perform(&mut self, op: &workloads::generator::Invocation, own: bool) -> Completion {
        let (cmd, is_read) = match command(self.workload, &op.f, &op.value) {
            Ok(c) => c,
            Err(e) => return Completion::fail(e),
        };
        let mut conn = match (own, self.primary.take()) {
            (false, Some(c)) => c,
            _ => {
                let host = if own {
                    self.node.host.clone()
                } else {
                    match ask_sentinel(&self.node.host, self.timeout).await {
                        Ok(h) => h,
                        Err(e) => return Completion::fail(format!("no primary: {e}")),
                    }
                };
                match connect(&host, PORT, self.timeout).await {
                    Ok(c) => c,
                    Err(e) => return Completion::fail(format!("connect to {host}: {e}")),
                }
            }
        };
        match cmd.query_async::<redis::Value>(&mut conn).await {
            Ok(answer) => {
                if !own {
                    self.primary = Some(conn);
                }
                match result(self.workload, &op.f, &op.value, answer) {
                    Ok(v) => Completion::ok(v),
                    Err(e) => Completion::unanswered(is_read, format!("unreadable answer: {e}")),
                }
            }
            Err(e) => outcome_of(&e, is_read),
        }
    }
}

impl Client for RedisClient {
    fn invoke<'a>(
        &'a mut self,
        op: &'a workloads::generator::Invocation,
    ) -> BoxFuture<'a, Completion> {
        Box::pin(self.perform(op, false))
    }

    fn final_read<'a>(
        &'a mut self,
        op: &'a workloads::generator::Invocation,
    ) -> BoxFuture<'a, Completion> {
        Box::pin(self.perform(op, true))
    }
}

/// Redis's clients for a workload.
pub fn clients(workload: &str) -> Option<Arc<dyn Clients>> {
    let workload = match workload {
        "set" => Workload::Set,
        "register" => Workload::Register,
        "counter" => Workload::Counter,
        "list-append" => Workload::List,
        _ => return None,
    };
    Some(Arc::new(move |node: &Node, timeout: Duration| {
        Box::new(RedisClient {
            node: node.clone(),
            timeout,
            workload,
            primary: None,
        }) as Box<dyn Client>
    }))
}

/// Redis in the registry.
#[derive(Debug, Clone, Copy)]
pub struct Redis;

impl crate::Store for Redis {
    fn name(&self) -> &str {
        "redis"
    }
    fn about(&self) -> &str {
        "Redis with Sentinel (Debian redis-server, redis-sentinel): asynchronous replication, failover"
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
    fn open(&self, config: &crate::StoreConfig) -> Result<crate::Opened, String> {
        let mut db = parse_flags(&config.db_flags)?;
        db.env = config.env.clone();
        crate::Opened::standard(
            db,
            &config.workload,
            Default::default(),
            clients(&config.workload),
        )
    }
}

/// `--db-flag down-after-ms=N`.
fn parse_flags(flags: &[String]) -> Result<RedisDb, String> {
    let mut db = RedisDb::default();
    for f in flags {
        match f.split_once('=') {
            Some(("down-after-ms", v)) => {
                db.down_after_ms =
                    v.parse()
                        .ok()
                        .filter(|&ms: &u64| ms >= 100)
                        .ok_or_else(|| {
                            format!("down-after-ms={v}: a number of milliseconds, at least 100")
                        })?;
            }
            _ => return Err(format!("redis takes down-after-ms=N; not {f:?}")),
        }
    }
    Ok(db)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nodes() -> Vec<Node> {
        (1..=3)
            .map(|i| Node {
                name: format!("n{i}"),
                host: format!("10.0.0.{i}"),
                port: 22,
                user: "root".into(),
                workdir: format!("/w/n{i}"),
                sudo_password: None,
            })
            .collect()
    }

    #[test]
    fn the_first_node_is_the_primary_and_sentinels_need_a_majority() {
        let (db, ns) = (RedisDb::default(), nodes());
        let primary = db.server_config(&ns[0], &ns);
        assert!(!primary.contains("replicaof"), "{primary}");
        assert!(primary.contains("bind 10.0.0.1\n") && primary.contains("dir /w/n1/redis/data\n"));
        let replica = db.server_config(&ns[2], &ns);
        assert!(replica.contains("replicaof 10.0.0.1 6379\n"), "{replica}");
        let s = db.sentinel_config(&ns[1], &ns);
        assert!(s.contains("sentinel monitor rift 10.0.0.1 6379 2\n"), "{s}");
        assert!(s.contains("down-after-milliseconds rift 2000\n"), "{s}");
    }

    #[test]
    fn operations_become_redis_commands_and_bad_ones_are_refused() {
        let kv = |k, v| Value::List(vec![Value::Int(k), v]);
        let (c, read) = command(Workload::Set, "add", &Value::Int(7)).unwrap();
        assert_eq!(
            c.get_packed_command(),
            redis::cmd("SADD")
                .arg("rift-set")
                .arg(7)
                .get_packed_command()
        );
        assert!(!read);
        let (c, read) = command(Workload::List, "read", &kv(3, Value::Nil)).unwrap();
        assert_eq!(
            c.get_packed_command(),
            redis::cmd("LRANGE")
                .arg("l3")
                .arg(0)
                .arg(-1)
                .get_packed_command()
        );
        assert!(read);
        assert!(command(Workload::Register, "write", &Value::Int(1)).is_err());
        assert!(command(Workload::Counter, "cas", &Value::Nil).is_err());
        let got = result(
            Workload::List,
            "read",
            &kv(3, Value::Nil),
            redis::Value::Array(vec![
                redis::Value::BulkString(b"5".to_vec()),
                redis::Value::Int(6),
            ]),
        )
        .unwrap();
        assert_eq!(got, kv(3, Value::List(vec![Value::Int(5), Value::Int(6)])));
        let got = result(
            Workload::Register,
            "read",
            &kv(1, Value::Nil),
            redis::Value::Nil,
        )
        .unwrap();
        assert_eq!(got, kv(1, Value::Nil));
    }

    #[test]
    fn flags_are_checked() {
        assert_eq!(
            parse_flags(&["down-after-ms=500".into()])
                .unwrap()
                .down_after_ms,
            500
        );
        assert!(parse_flags(&["down-after-ms=5".into()]).is_err());
        assert!(parse_flags(&["--bogus".into()]).is_err());
    }
}
