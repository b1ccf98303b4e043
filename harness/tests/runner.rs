//! The runner's logic with a fake store: timeouts, renumbering, failing workers, final reads.
#![allow(clippy::unwrap_used)]

use control::Node;
use control::db::BoxFuture;
use harness::run::{self, FinalPhase, MainPhase, Recorder, Routing};
use history::{HistoryWriter, OpType, Pairing, Process, Value};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::time::Duration;
use workloads::generator::{self, Ctx, Gen, Invocation};
use workloads::{Client, Clients, Completion, Workload};

/// Operations carry a number; the fake store answers by it.
struct Fake {
    hang: i64,
    info: i64,
    panic: i64,
    ops: i64,
    /// Final reads disagree across nodes until this many rounds have passed.
    disagree_rounds: u32,
    rounds: Arc<AtomicU32>,
}

struct FakeClient {
    node: String,
    hang: i64,
    info: i64,
    panic: i64,
    disagree_rounds: u32,
    rounds: Arc<AtomicU32>,
}

impl Client for FakeClient {
    fn invoke<'a>(&'a mut self, op: &'a Invocation) -> BoxFuture<'a, Completion> {
        Box::pin(async move {
            let n = op.value.as_int().unwrap_or(-1);
            if n == self.hang {
                std::future::pending::<()>().await;
            }
            assert!(n != self.panic, "the fake client fails on op {n}");
            if self.hang >= 0 {
                tokio::time::sleep(Duration::from_millis(2)).await; // a store takes a while
            }
            if n == self.info {
                Completion::info("lost the connection")
            } else {
                Completion::ok(op.value.clone())
            }
        })
    }

    fn final_read<'a>(&'a mut self, _op: &'a Invocation) -> BoxFuture<'a, Completion> {
        Box::pin(async move {
            let round = self.rounds.load(Ordering::SeqCst);
            let value = if round < self.disagree_rounds {
                Value::from(self.node.as_str())
            } else {
                Value::from("same")
            };
            Completion::ok(value)
        })
    }
}

impl Workload for Fake {
    fn name(&self) -> &'static str {
        "fake"
    }
    fn generator(&self) -> Gen {
        let mut n = 0;
        generator::limit(
            self.ops as u64,
            generator::boxed(move |_: &mut Ctx<'_>| {
                n += 1;
                Invocation::new("op", n)
            }),
        )
    }
    fn final_reads(&self) -> Vec<Invocation> {
        vec![Invocation::new("read", Value::Nil)]
    }
    fn checkers(&self) -> &'static [&'static str] {
        &["stats"]
    }
}

impl Clients for Fake {
    fn client(&self, node: &Node, _timeout: Duration) -> Box<dyn Client> {
        Box::new(FakeClient {
            node: node.name.clone(),
            hang: self.hang,
            info: self.info,
            panic: self.panic,
            disagree_rounds: self.disagree_rounds,
            rounds: self.rounds.clone(),
        })
    }
}

fn fake(hang: i64, info: i64, panic: i64, ops: i64) -> Fake {
    Fake {
        hang,
        info,
        panic,
        ops,
        disagree_rounds: 0,
        rounds: Arc::new(AtomicU32::new(0)),
    }
}

fn nodes(n: usize) -> Vec<Node> {
    (1..=n)
        .map(|i| Node {
            name: format!("n{i}"),
            host: "127.0.0.1".into(),
            port: 22,
            user: "root".into(),
            workdir: "/w".into(),
            sudo_password: None,
        })
        .collect()
}

fn phase(concurrency: usize) -> MainPhase {
    MainPhase {
        concurrency,
        op_timeout: Duration::from_millis(100),
        seed: 1,
        routing: Routing::Sticky,
        nodes: nodes(2),
        support: Default::default(),
    }
}

fn recorder(dir: &tempfile::TempDir) -> Arc<Recorder> {
    Arc::new(Recorder::new(
        HistoryWriter::create(dir.path().join("history.jsonl")).unwrap(),
    ))
}

fn history(dir: &tempfile::TempDir, recorder: Arc<Recorder>) -> Vec<history::Op> {
    Arc::try_unwrap(recorder).unwrap().close().unwrap();
    history::jsonl::load(&dir.path().join("history.jsonl"))
        .unwrap()
        .ops
}

#[tokio::test]
async fn a_hung_operation_becomes_info_and_its_worker_goes_on_as_a_new_process() {
    let dir = tempfile::tempdir().unwrap();
    let rec = recorder(&dir);
    // 300 operations of 2 ms: the worker that hangs for 200 ms still has some left afterwards.
    let w = Arc::new(fake(3, 5, -1, 300));
    let errors = run::run_workers(
        &phase(2),
        w.clone(),
        w.generator(),
        rec.clone(),
        Arc::new(AtomicBool::new(false)),
    )
    .await;
    assert!(errors.is_empty(), "{errors:?}");
    let ops = history(&dir, rec);
    Pairing::build(&ops).expect("no process ever has two operations open");

    for (n, why) in [(3, "no answer within 200ms"), (5, "lost the connection")] {
        let invoke = ops
            .iter()
            .position(|o| o.kind == OpType::Invoke && o.value == Value::Int(n))
            .unwrap();
        let process = ops[invoke].process.clone();
        let done = ops[invoke + 1..]
            .iter()
            .find(|o| o.process == process)
            .unwrap();
        assert_eq!(done.kind, OpType::Info, "op {n}");
        assert_eq!(done.error, Some(Value::from(why)));
        // That worker's next operation comes from process p + concurrency; p is never used again.
        let Process::Client(p) = process else {
            panic!()
        };
        assert!(
            ops.iter().any(|o| o.process == Process::Client(p + 2)),
            "op {n}: no process {}",
            p + 2
        );
        assert_eq!(
            ops.iter()
                .rev()
                .find(|o| o.process == Process::Client(p))
                .unwrap()
                .kind,
            OpType::Info
        );
    }
    let completed = ops.iter().filter(|o| o.kind.is_completion()).count();
    assert_eq!(
        completed, 300,
        "every operation completed one way or another"
    );
}

#[tokio::test]
async fn a_failed_worker_stops_the_main_phase_and_the_final_phase_still_runs() {
    let dir = tempfile::tempdir().unwrap();
    let rec = recorder(&dir);
    let mut f = fake(-1, -1, 4, 1_000_000);
    f.disagree_rounds = 2;
    let rounds = f.rounds.clone();
    let w = Arc::new(f);
    let stop = Arc::new(AtomicBool::new(false));
    let errors = run::run_workers(
        &phase(3),
        w.clone(),
        w.generator(),
        rec.clone(),
        stop.clone(),
    )
    .await;
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].contains("worker") && errors[0].contains("failed"),
        "{errors:?}"
    );
    assert!(
        stop.load(Ordering::SeqCst),
        "the other workers were stopped"
    );

    // The final phase: replicas disagree for two rounds, then agree.
    let counting = {
        let rounds = rounds.clone();
        tokio::spawn(async move {
            for _ in 0..2 {
                tokio::time::sleep(Duration::from_millis(60)).await;
                rounds.fetch_add(1, Ordering::SeqCst);
            }
        })
    };
    let healed = rec.now();
    let fp = FinalPhase {
        nodes: nodes(2),
        bound: Duration::from_secs(5),
        op_timeout: Duration::from_secs(1),
        pause: Duration::from_millis(50),
        support: Default::default(),
    };
    let report = run::final_phase(&fp, w.clone(), w.clone(), rec.clone(), healed)
        .await
        .unwrap();
    counting.await.unwrap();
    assert_eq!(report.agreed, Some(true));
    assert!(report.rounds >= 2, "{report:?}");
    assert!(report.convergence_ns.unwrap() >= 100_000_000, "{report:?}");

    let ops = history(&dir, rec);
    let finals: Vec<_> = ops.iter().filter(|o| o.is_final).collect();
    assert_eq!(
        finals.len(),
        2 * 2 * report.rounds as usize,
        "invoke and ok, per node, per round"
    );
    assert!(finals.iter().all(|o| o.node.is_some()));
    let last_round: Vec<_> = finals
        .iter()
        .rev()
        .take(4)
        .filter(|o| o.kind == OpType::Ok)
        .collect();
    assert!(last_round.iter().all(|o| o.value == Value::from("same")));
}

#[tokio::test]
async fn final_reads_that_never_agree_give_up_at_the_bound_and_say_where() {
    let dir = tempfile::tempdir().unwrap();
    let rec = recorder(&dir);
    let mut f = fake(-1, -1, -1, 0);
    f.disagree_rounds = u32::MAX;
    let w = Arc::new(f);
    let fp = FinalPhase {
        nodes: nodes(2),
        bound: Duration::from_millis(300),
        op_timeout: Duration::from_secs(1),
        pause: Duration::from_millis(50),
        support: Default::default(),
    };
    let report = run::final_phase(&fp, w.clone(), w, rec.clone(), rec.now())
        .await
        .unwrap();
    assert_eq!(report.agreed, Some(false));
    assert_eq!(report.disagreements, ["read null: n1: \"n1\", n2: \"n2\""]);
}
