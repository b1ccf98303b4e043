//! The main phase: one worker per concurrency slot.
//!
//! A worker is a logical process bound to a node (`sticky`, as in Jepsen) or sending each
//! operation to a random node (`roaming`, as behind a load balancer). It asks the shared
//! generator for an operation, records the invocation, performs it with a time limit, and
//! records the completion. After an `info` — the operation may still be in flight — the worker
//! continues as a new process (its number grows by the concurrency, Jepsen's rule) with a new
//! client, so no process ever has two operations open.

use super::Recorder;
use control::Node;
use history::{OpType, Process, Sym};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use workloads::generator::{Ctx, Gen, Rng, Step};
use workloads::{Client, Clients, Completion};

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Routing {
    Sticky,
    Roaming,
}

#[derive(Debug, Clone)]
pub struct MainPhase {
    pub concurrency: usize,
    pub op_timeout: Duration,
    pub seed: u64,
    pub routing: Routing,
    pub nodes: Vec<Node>,
    pub support: ClientSupport,
}

/// What the run offers clients beyond their node: a directory for their own files and the run's
/// log (see [`workloads::ClientCtx`]).
#[derive(Clone, Default)]
pub struct ClientSupport {
    pub files: Option<std::path::PathBuf>,
    pub log: Option<workloads::RunLogFn>,
}

impl std::fmt::Debug for ClientSupport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientSupport")
            .field("files", &self.files)
            .field("log", &self.log.is_some())
            .finish()
    }
}

impl ClientSupport {
    /// The context for a client of `node` serving `process`.
    pub fn ctx<'a>(
        &'a self,
        node: &'a Node,
        nodes: &'a [Node],
        process: u64,
        timeout: Duration,
    ) -> workloads::ClientCtx<'a> {
        workloads::ClientCtx {
            node,
            nodes,
            process,
            timeout,
            files: self.files.as_deref(),
            log: self.log.as_ref(),
        }
    }
}

/// The longest a worker sleeps before asking a waiting generator again.
const MAX_WAIT: Duration = Duration::from_millis(50);

/// Runs the workers until the generator is done or `stop` is set. Returns what went wrong
/// (workers that failed); the history holds everything that happened either way.
pub async fn run_workers(
    phase: &MainPhase,
    clients: Arc<dyn Clients>,
    generator: Gen,
    recorder: Arc<Recorder>,
    stop: Arc<AtomicBool>,
) -> Vec<String> {
    let shared = Arc::new(Mutex::new((generator, Rng::new(phase.seed))));
    let names: Arc<Vec<Sym>> = Arc::new(
        phase
            .nodes
            .iter()
            .map(|n| Sym::from(n.name.as_str()))
            .collect(),
    );
    let mut tasks = tokio::task::JoinSet::new();
    let mut slots = std::collections::HashMap::new();
    for slot in 0..phase.concurrency {
        let worker = Worker {
            slot,
            phase: phase.clone(),
            clients: clients.clone(),
            shared: shared.clone(),
            recorder: recorder.clone(),
            stop: stop.clone(),
            names: names.clone(),
            rng: Rng::new(phase.seed).fork(slot as u64 + 1),
        };
        slots.insert(tasks.spawn(worker.run()).id(), slot);
    }
    // In the order they finish: the first worker to fail stops the others at once.
    let mut errors = Vec::new();
    while let Some(done) = tasks.join_next_with_id().await {
        let failure = match done {
            Ok((_, Ok(()))) => None,
            Ok((id, Err(e))) => Some(format!(
                "worker {}: {e}",
                slots.get(&id).copied().unwrap_or_default()
            )),
            Err(e) => Some(format!(
                "worker {} failed: {e}",
                slots.get(&e.id()).copied().unwrap_or_default()
            )),
        };
        if let Some(f) = failure {
            stop.store(true, Ordering::SeqCst);
            errors.push(f);
        }
    }
    errors
}

struct Worker {
    slot: usize,
    phase: MainPhase,
    clients: Arc<dyn Clients>,
    shared: Arc<Mutex<(Gen, Rng)>>,
    recorder: Arc<Recorder>,
    stop: Arc<AtomicBool>,
    names: Arc<Vec<Sym>>,
    rng: Rng,
}

impl Worker {
    async fn run(mut self) -> Result<(), String> {
        let mut process = self.slot as u64;
        let home = self.slot % self.phase.nodes.len();
        let mut clients: Vec<Option<Box<dyn Client>>> =
            (0..self.phase.nodes.len()).map(|_| None).collect();
        while !self.stop.load(Ordering::SeqCst) {
            // Yield now and then even to a client that never waits, so that stopping is prompt.
            tokio::task::consume_budget().await;
            let me = Process::Client(process);
            let step = {
                let mut guard = self.shared.lock().unwrap_or_else(|p| p.into_inner());
                let (generator, rng) = &mut *guard;
                generator.next(&mut Ctx {
                    now: self.recorder.now(),
                    process: &me,
                    thread: self.slot,
                    rng,
                })
            };
            let op = match step {
                Step::Done => return Ok(()),
                Step::Wait(d) => {
                    tokio::time::sleep(d.min(MAX_WAIT)).await;
                    continue;
                }
                Step::Op(op) => op,
            };
            let node = match self.phase.routing {
                Routing::Sticky => home,
                Routing::Roaming => self.rng.below(self.phase.nodes.len() as u64) as usize,
            };
            let name = &self.names[node];
            let client = clients[node].get_or_insert_with(|| {
                let phase = &self.phase;
                self.clients.open(&phase.support.ctx(
                    &phase.nodes[node],
                    &phase.nodes,
                    process,
                    phase.op_timeout,
                ))
            });
            self.recorder
                .record(
                    OpType::Invoke,
                    &me,
                    &op.f,
                    op.value.clone(),
                    Some(name),
                    None,
                    false,
                )
                .map_err(|e| e.to_string())?;
            // The client's own timeout should fire first; this one catches clients that hang.
            let limit = self.phase.op_timeout * 2;
            let done = tokio::time::timeout(limit, client.invoke(&op))
                .await
                .unwrap_or_else(|_| Completion::info(format!("no answer within {limit:?}")));
            self.recorder
                .record(
                    done.kind,
                    &me,
                    &op.f,
                    done.value.clone(),
                    Some(name),
                    done.error.clone(),
                    false,
                )
                .map_err(|e| e.to_string())?;
            {
                let mut guard = self.shared.lock().unwrap_or_else(|p| p.into_inner());
                guard.0.completed(&me, &op, done.kind);
            }
            if done.kind == OpType::Info {
                process += self.phase.concurrency as u64;
                clients[node] = None;
            }
        }
        Ok(())
    }
}
