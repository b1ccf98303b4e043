//! One ecstore node: the HTTP API, coordination of reads and writes, and anti-entropy.
//!
//! Any node coordinates a request for any key. A write is stamped by the coordinator, merged
//! into its own replica, and pushed to the key's replicas; it is acknowledged once W of them
//! (the coordinator counts when it is one) have it. The pushes still under way carry on in the
//! background and are not retried: a replica that missed one stays behind until anti-entropy
//! or read repair reaches it. A write that gets fewer than W acknowledgements fails *without*
//! being undone, so its client cannot know whether it happened (HTTP 503, `definite: false`).

use crate::clock::{Clock, Hlc, Stamp};
use crate::config::{ReadRouting, Resolution, Settings, Switch};
use crate::state::{Data, Kind, State, empty_read};
use crate::store::Store;
use axum::extract::{Path, Query, State as Ax};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use rand::RngExt;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

#[derive(Debug)]
pub struct Node {
    pub settings: Settings,
    pub store: Store,
    clock: Clock,
    http: reqwest::Client,
}

/// A failed request: what went wrong, and whether it certainly had no effect.
#[derive(Debug)]
pub struct Failure {
    status: StatusCode,
    message: String,
    definite: bool,
}

/// The list insert-if-absent appends each creation's payload to.
pub const LEDGER: &str = "ledger";

impl Failure {
    fn bad_request(message: impl Into<String>) -> Failure {
        Failure {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
            definite: true,
        }
    }
    fn unavailable(message: impl Into<String>, definite: bool) -> Failure {
        Failure {
            status: StatusCode::SERVICE_UNAVAILABLE,
            message: message.into(),
            definite,
        }
    }
    fn internal(message: impl Into<String>) -> Failure {
        Failure {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            message: message.into(),
            definite: false,
        }
    }
}

impl IntoResponse for Failure {
    fn into_response(self) -> Response {
        (
            self.status,
            Json(json!({"error": self.message, "definite": self.definite})),
        )
            .into_response()
    }
}

#[derive(Serialize, Deserialize)]
struct Apply {
    key: String,
    state: State,
}

#[derive(Serialize, Deserialize)]
struct ReadRequest {
    key: String,
}

#[derive(Serialize, Deserialize)]
struct Exchange {
    from: usize,
    digests: BTreeMap<String, u64>,
}

#[derive(Serialize, Deserialize, Default)]
struct ExchangeReply {
    states: Vec<(String, State)>,
    wanted: Vec<String>,
}

impl Node {
    pub fn new(settings: Settings, store: Store) -> Result<Node, String> {
        let id = settings.me as u16;
        let clock = match settings.args.resolution {
            Resolution::LwwWall => Clock::Wall { node: id },
            Resolution::LwwHlc | Resolution::Crdt => Clock::Hybrid(Hlc::new(id)),
        };
        let http = reqwest::Client::builder()
            .timeout(Duration::from_millis(settings.args.peer_timeout_ms))
            .pool_max_idle_per_host(64)
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Node {
            settings,
            store,
            clock,
            http,
        })
    }

    fn name(&self, i: usize) -> &str {
        &self.settings.peers[i].name
    }

    async fn post<T: Serialize, R: for<'de> Deserialize<'de>>(
        &self,
        peer: usize,
        path: &str,
        body: &T,
    ) -> Result<R, String> {
        let url = format!("http://{}{path}", self.settings.peers[peer].addr);
        let resp = self
            .http
            .post(url)
            .json(body)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !resp.status().is_success() {
            return Err(format!("{} answered {}", self.name(peer), resp.status()));
        }
        resp.json().await.map_err(|e| e.to_string())
    }

    /// The stamps in a state, so the hybrid clock stays ahead of everything it has seen.
    fn observe(&self, state: &State) {
        match state {
            State::Lww { stamp, .. } => self.clock.observe(*stamp),
            State::List(entries) => {
                if let Some(stamp) = entries.keys().next_back() {
                    self.clock.observe(*stamp);
                }
            }
            State::Set(_) | State::Counter(_) => {}
        }
    }

    fn merge_local(&self, key: &str, state: &State) -> Result<State, Failure> {
        self.observe(state);
        self.store.merge(key, state).map_err(Failure::internal)
    }

    /// The change a client's write makes, computed from this node's own state of the key.
    /// `value` has been checked: an integer for sets, counters and lists.
    fn change(&self, kind: Kind, current: Option<&State>, value: &Value, stamp: Stamp) -> State {
        let int = value.as_i64().unwrap_or_default();
        let lww = self.settings.args.resolution != Resolution::Crdt;
        let lww_data = |c: Option<&State>| match c {
            Some(State::Lww { data, .. }) => Some(data.clone()),
            _ => None,
        };
        match kind {
            Kind::Register => State::Lww {
                stamp,
                data: Data::Register(value.clone()),
            },
            Kind::Idem => State::Lww {
                stamp,
                data: Data::Idem(value.clone()),
            },
            // Last-write-wins: read-modify-write of the whole value, here.
            Kind::Set if lww => {
                let mut set = match lww_data(current) {
                    Some(Data::Set(s)) => s,
                    _ => Default::default(),
                };
                set.insert(int);
                State::Lww {
                    stamp,
                    data: Data::Set(set),
                }
            }
            Kind::Counter if lww => {
                let n = match lww_data(current) {
                    Some(Data::Counter(n)) => n,
                    _ => 0,
                };
                State::Lww {
                    stamp,
                    data: Data::Counter(n.saturating_add(int)),
                }
            }
            Kind::List if lww => {
                let mut list = match lww_data(current) {
                    Some(Data::List(l)) => l,
                    _ => Vec::new(),
                };
                list.push(int);
                State::Lww {
                    stamp,
                    data: Data::List(list),
                }
            }
            // CRDTs: a delta that merges.
            Kind::Set => State::Set([int].into()),
            Kind::Counter => {
                let me = self.settings.me as u16;
                let (inc, dec) = match current {
                    Some(State::Counter(entries)) => entries.get(&me).copied().unwrap_or((0, 0)),
                    _ => (0, 0),
                };
                let mine = if int >= 0 {
                    (inc + int as u64, dec)
                } else {
                    (inc, dec + int.unsigned_abs())
                };
                State::Counter([(me, mine)].into())
            }
            Kind::List => State::List([(stamp, int)].into()),
        }
    }

    /// Pushes a state to the key's replicas; Ok once W have it.
    async fn replicate(self: &Arc<Self>, key: &str, state: State) -> Result<(), Failure> {
        let replicas = self.settings.replicas(key);
        let mut acks = usize::from(replicas.contains(&self.settings.me));
        let (tx, mut rx) = mpsc::unbounded_channel();
        let mut pending = 0;
        for &peer in replicas.iter().filter(|&&p| p != self.settings.me) {
            pending += 1;
            let (node, tx) = (self.clone(), tx.clone());
            let body = Apply {
                key: key.to_owned(),
                state: state.clone(),
            };
            // Spawned, so that pushes past the W-th go on after the client has its answer.
            tokio::spawn(async move {
                let r: Result<Value, String> = node.post(peer, "/internal/apply", &body).await;
                let _ = tx.send(
                    r.map(|_| ())
                        .map_err(|e| format!("{}: {e}", node.name(peer))),
                );
            });
        }
        let mut failures = Vec::new();
        while acks < self.settings.w && pending > 0 {
            match rx.recv().await {
                Some(Ok(())) => acks += 1,
                Some(Err(e)) => failures.push(e),
                None => break,
            }
            pending -= 1;
        }
        if acks >= self.settings.w {
            return Ok(());
        }
        Err(Failure::unavailable(
            format!(
                "write quorum not met: {acks} of {} acknowledgements ({}); the write may have been applied",
                self.settings.w,
                failures.join("; ")
            ),
            false,
        ))
    }

    pub async fn write(
        self: &Arc<Self>,
        kind: Kind,
        name: &str,
        value: Value,
    ) -> Result<Value, Failure> {
        if kind == Kind::Idem {
            let key = format!("{}/{name}", kind_str(kind));
            return self.insert_if_absent(&key, value).await;
        }
        self.update(kind, name, value).await
    }

    /// A write of any kind but insert-if-absent: applied here, then replicated.
    async fn update(
        self: &Arc<Self>,
        kind: Kind,
        name: &str,
        value: Value,
    ) -> Result<Value, Failure> {
        let key = format!("{}/{name}", kind_str(kind));
        if matches!(kind, Kind::Set | Kind::Counter | Kind::List) && !value.is_i64() {
            return Err(Failure::bad_request(format!(
                "a {} takes an integer, not {value}",
                kind_str(kind)
            )));
        }
        let stamp = self.clock.now();
        let mut delta = None;
        self.store
            .update(&key, |current| {
                let change = self.change(kind, current, &value, stamp);
                delta = Some(change.clone());
                change
            })
            .map_err(Failure::internal)?;
        let delta = delta.ok_or_else(|| Failure::internal("no change computed"))?;
        self.replicate(&key, delta).await?;
        Ok(json!({"ok": true}))
    }

    /// Creates the record (and its ledger entry) unless a read (routed as every read is) finds one: with R=1 under a
    /// partition, two coordinators can both find none and both create.
    async fn insert_if_absent(
        self: &Arc<Self>,
        key: &str,
        payload: Value,
    ) -> Result<Value, Failure> {
        if self.read_state(key).await?.is_some() {
            return Ok(json!({"result": "exists"}));
        }
        let state = State::Lww {
            stamp: self.clock.now(),
            data: Data::Idem(payload.clone()),
        };
        self.merge_local(key, &state)?;
        // What a creation does (a payment's credit): an entry in the ledger, a list every
        // replica keeps, so that a request created twice shows there twice.
        if payload.is_i64() {
            self.update(Kind::List, LEDGER, payload).await?;
        }
        self.replicate(key, state).await?;
        Ok(json!({"result": "created"}))
    }

    pub async fn read(
        self: &Arc<Self>,
        kind: Kind,
        name: &str,
        local_only: bool,
    ) -> Result<Value, Failure> {
        let key = format!("{}/{name}", kind_str(kind));
        let state = if local_only {
            self.store.get(&key)
        } else {
            self.read_state(&key).await?
        };
        Ok(json!({"value": state.map_or_else(|| empty_read(kind), |s| s.read())}))
    }

    async fn read_state(self: &Arc<Self>, key: &str) -> Result<Option<State>, Failure> {
        match self.settings.args.read_routing {
            ReadRouting::Local => Ok(self.store.get(key)),
            ReadRouting::Random => {
                let replicas = self.settings.replicas(key);
                let peer = replicas[rand::rng().random_range(0..replicas.len())];
                self.read_one(peer, key)
                    .await
                    .map_err(|e| Failure::unavailable(e, true))
            }
            ReadRouting::Quorum => self.read_quorum(key).await,
        }
    }

    async fn read_one(&self, peer: usize, key: &str) -> Result<Option<State>, String> {
        if peer == self.settings.me {
            return Ok(self.store.get(key));
        }
        let state: Option<State> = self
            .post(
                peer,
                "/internal/read",
                &ReadRequest {
                    key: key.to_owned(),
                },
            )
            .await?;
        if let Some(s) = &state {
            self.observe(s);
        }
        Ok(state)
    }

    async fn read_quorum(self: &Arc<Self>, key: &str) -> Result<Option<State>, Failure> {
        let replicas = self.settings.replicas(key);
        let (tx, mut rx) = mpsc::unbounded_channel();
        for &peer in &replicas {
            let (node, tx, key) = (self.clone(), tx.clone(), key.to_owned());
            tokio::spawn(async move {
                let _ = tx.send((peer, node.read_one(peer, &key).await));
            });
        }
        drop(tx);
        let mut answers: Vec<(usize, Option<State>)> = Vec::new();
        let mut failures = Vec::new();
        while answers.len() < self.settings.r {
            match rx.recv().await {
                Some((peer, Ok(state))) => answers.push((peer, state)),
                Some((peer, Err(e))) => failures.push(format!("{}: {e}", self.name(peer))),
                None => break,
            }
        }
        if answers.len() < self.settings.r {
            return Err(Failure::unavailable(
                format!(
                    "read quorum not met: {} of {} replicas answered ({})",
                    answers.len(),
                    self.settings.r,
                    failures.join("; ")
                ),
                true,
            ));
        }
        let merged = answers
            .iter()
            .filter_map(|(_, s)| s.clone())
            .reduce(|a, b| a.merge(&b).unwrap_or(a));
        if let (Some(m), Switch::On) = (&merged, self.settings.args.read_repair) {
            for (peer, state) in &answers {
                if state.as_ref() != Some(m) {
                    self.repair(*peer, key, m.clone());
                }
            }
        }
        Ok(merged)
    }

    fn repair(self: &Arc<Self>, peer: usize, key: &str, state: State) {
        if peer == self.settings.me {
            let _ = self.merge_local(key, &state);
            return;
        }
        let (node, body) = (
            self.clone(),
            Apply {
                key: key.to_owned(),
                state,
            },
        );
        tokio::spawn(async move {
            let _: Result<Value, String> = node.post(peer, "/internal/apply", &body).await;
        });
    }

    /// One anti-entropy round with a random peer: compare digests of the keys both replicate,
    /// then each side merges what the other has that differs.
    pub async fn anti_entropy_round(self: &Arc<Self>) -> Result<usize, String> {
        let me = self.settings.me;
        let others: Vec<usize> = (0..self.settings.peers.len())
            .filter(|&p| p != me)
            .collect();
        let Some(&peer) = others.get(rand::rng().random_range(0..others.len().max(1))) else {
            return Ok(0);
        };
        let digests = self.shared_digests(peer);
        let reply: ExchangeReply = self
            .post(peer, "/internal/ae", &Exchange { from: me, digests })
            .await?;
        let received = reply.states.len();
        for (key, state) in &reply.states {
            self.merge_local(key, state).map_err(|f| f.message)?;
        }
        let entries: Vec<(String, State)> = reply
            .wanted
            .iter()
            .filter_map(|k| self.store.get(k).map(|s| (k.clone(), s)))
            .collect();
        if !entries.is_empty() {
            let _: Value = self.post(peer, "/internal/merge", &entries).await?;
        }
        Ok(received + entries.len())
    }

    /// Digests of this node's keys that `peer` also replicates.
    fn shared_digests(&self, peer: usize) -> BTreeMap<String, u64> {
        let me = self.settings.me;
        self.store
            .digests()
            .into_iter()
            .filter(|(k, _)| {
                let r = self.settings.replicas(k);
                r.contains(&peer) && r.contains(&me)
            })
            .collect()
    }

    fn exchange(&self, request: Exchange) -> ExchangeReply {
        let mine = self.shared_digests(request.from);
        let mut reply = ExchangeReply::default();
        for (key, digest) in &mine {
            if request.digests.get(key) != Some(digest)
                && let Some(state) = self.store.get(key)
            {
                reply.states.push((key.clone(), state));
            }
        }
        for (key, digest) in &request.digests {
            if mine.get(key) != Some(digest)
                && self.settings.replicas(key).contains(&self.settings.me)
            {
                reply.wanted.push(key.clone());
            }
        }
        reply
    }
}

fn kind_str(kind: Kind) -> &'static str {
    match kind {
        Kind::Register => "register",
        Kind::Set => "set",
        Kind::Counter => "counter",
        Kind::List => "list",
        Kind::Idem => "idem",
    }
}

type Shared = Arc<Node>;

fn kind_of(s: &str) -> Result<Kind, Failure> {
    Kind::parse(s).ok_or_else(|| {
        Failure::bad_request(format!(
            "unknown data type {s:?}: register, set, counter, list or idem"
        ))
    })
}

#[derive(Deserialize)]
struct ReadQuery {
    #[serde(default)]
    local: bool,
}

#[derive(Deserialize)]
struct WriteBody {
    value: Value,
}

async fn client_read(
    Ax(node): Ax<Shared>,
    Path((kind, key)): Path<(String, String)>,
    Query(q): Query<ReadQuery>,
) -> Result<Json<Value>, Failure> {
    node.read(kind_of(&kind)?, &key, q.local).await.map(Json)
}

async fn client_write(
    Ax(node): Ax<Shared>,
    Path((kind, key)): Path<(String, String)>,
    Json(body): Json<WriteBody>,
) -> Result<Json<Value>, Failure> {
    node.write(kind_of(&kind)?, &key, body.value)
        .await
        .map(Json)
}

async fn health(Ax(node): Ax<Shared>) -> Json<Value> {
    Json(json!({"node": node.name(node.settings.me), "ok": true, "keys": node.store.keys().len()}))
}

async fn time(Ax(node): Ax<Shared>) -> Json<Value> {
    Json(json!({"node": node.name(node.settings.me), "wall_ns": crate::clock::wall_ns()}))
}

async fn digest(Ax(node): Ax<Shared>) -> Json<Value> {
    let per_key = node.store.digests();
    let all = crate::state::fnv1a(
        serde_json::to_string(&per_key)
            .unwrap_or_default()
            .as_bytes(),
    );
    Json(
        json!({"node": node.name(node.settings.me), "keys": per_key.len(), "digest": format!("{all:016x}"), "per_key": per_key}),
    )
}

async fn keys(Ax(node): Ax<Shared>) -> Json<Value> {
    let keys: Vec<Value> = node
        .store
        .keys()
        .iter()
        .filter_map(|k| k.split_once('/'))
        .map(|(kind, key)| json!({"kind": kind, "key": key}))
        .collect();
    Json(json!(keys))
}

async fn internal_apply(
    Ax(node): Ax<Shared>,
    Json(a): Json<Apply>,
) -> Result<Json<Value>, Failure> {
    node.merge_local(&a.key, &a.state)?;
    Ok(Json(json!({"ok": true})))
}

async fn internal_read(Ax(node): Ax<Shared>, Json(r): Json<ReadRequest>) -> Json<Option<State>> {
    Json(node.store.get(&r.key))
}

async fn internal_ae(Ax(node): Ax<Shared>, Json(x): Json<Exchange>) -> Json<ExchangeReply> {
    Json(node.exchange(x))
}

async fn internal_merge(
    Ax(node): Ax<Shared>,
    Json(entries): Json<Vec<(String, State)>>,
) -> Result<Json<Value>, Failure> {
    for (key, state) in &entries {
        node.merge_local(key, state)?;
    }
    Ok(Json(json!({"ok": true})))
}

pub fn router(node: Shared) -> Router {
    Router::new()
        .route("/kv/{kind}/{key}", get(client_read).post(client_write))
        .route("/health", get(health))
        .route("/time", get(time))
        .route("/digest", get(digest))
        .route("/keys", get(keys))
        .route("/internal/apply", post(internal_apply))
        .route("/internal/read", post(internal_read))
        .route("/internal/ae", post(internal_ae))
        .route("/internal/merge", post(internal_merge))
        .with_state(node)
}
