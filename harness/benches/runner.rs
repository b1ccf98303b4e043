//! Runner overhead: `cargo bench -p harness --bench runner`.
//!
//! Workers driving a client that does nothing, with the history recorded to a file as in a real
//! run: what the runner itself costs per operation, at concurrency 10 and 100 (3 s each,
//! median of 3 runs).
#![allow(clippy::unwrap_used)]

use control::Node;
use control::db::BoxFuture;
use harness::run::{self, MainPhase, Recorder, Routing};
use history::HistoryWriter;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use workloads::generator::{self, Ctx, Gen, Invocation};
use workloads::{Client, Completion, Workload};

struct Noop;
struct NoopClient;

impl Client for NoopClient {
    fn invoke<'a>(&'a mut self, op: &'a Invocation) -> BoxFuture<'a, Completion> {
        Box::pin(async move { Completion::ok(op.value.clone()) })
    }
}

impl Workload for Noop {
    fn name(&self) -> &'static str {
        "noop"
    }
    fn generator(&self) -> Gen {
        let mut n = 0i64;
        generator::boxed(move |ctx: &mut Ctx<'_>| {
            n += 1;
            if ctx.rng.below(2) == 0 {
                Invocation::new("add", n)
            } else {
                Invocation::new("read", history::Value::Nil)
            }
        })
    }
    fn final_reads(&self) -> Vec<Invocation> {
        Vec::new()
    }
    fn checkers(&self) -> &'static [&'static str] {
        &["stats"]
    }
}

fn main() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let nodes: Vec<Node> = (1..=5)
        .map(|i| Node {
            name: format!("n{i}"),
            host: "127.0.0.1".into(),
            port: 22,
            user: "root".into(),
            workdir: "/w".into(),
            sudo_password: None,
        })
        .collect();
    for concurrency in [10, 100] {
        let mut rates = Vec::new();
        for _ in 0..3 {
            let dir = tempfile::tempdir().unwrap();
            let recorder = Arc::new(Recorder::new(
                HistoryWriter::create(dir.path().join("history.jsonl")).unwrap(),
            ));
            let phase = MainPhase {
                concurrency,
                op_timeout: Duration::from_secs(1),
                seed: 1,
                routing: Routing::Sticky,
                nodes: nodes.clone(),
                support: Default::default(),
            };
            let w: Arc<dyn Workload> = Arc::new(Noop);
            let limited = generator::time_limit(Duration::from_secs(3), w.generator());
            let start = Instant::now();
            let errors = rt.block_on(run::run_workers(
                &phase,
                Arc::new(|_: &Node, _: Duration| Box::new(NoopClient) as Box<dyn Client>),
                limited,
                recorder.clone(),
                Arc::new(AtomicBool::new(false)),
            ));
            assert!(errors.is_empty());
            let elapsed = start.elapsed().as_secs_f64();
            let done = recorder.ok.load(Ordering::Relaxed);
            let ops = Arc::try_unwrap(recorder).unwrap().close().unwrap();
            assert_eq!(
                ops,
                2 * done,
                "every op recorded, invocation and completion"
            );
            rates.push(done as f64 / elapsed);
        }
        rates.sort_by(f64::total_cmp);
        println!(
            "no-op client, concurrency {concurrency:>3}, history recorded: {:>8.0} ops/s (median of 3; runs {:.0} / {:.0} / {:.0})",
            rates[1], rates[0], rates[1], rates[2]
        );
    }
}
