//! What a client in another language costs: `cargo bench -p harness --bench stdio`.
//!
//! Workers at concurrency 10 drive a client that does nothing, with the history recorded as in
//! a real run: rift's native no-op client, and no-op clients over the stdio protocol in Python
//! and in Node (one process per worker, one op in flight each). 3 s each, median of 3 runs.
#![allow(clippy::unwrap_used)]

use control::Node;
use control::db::BoxFuture;
use harness::run::{self, MainPhase, Recorder, Routing};
use history::HistoryWriter;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use stores::stdio::{ClientSpec, StdioClients};
use workloads::generator::{self, Ctx, Invocation};
use workloads::{Client, Clients, Completion};

struct Noop;

impl Client for Noop {
    fn invoke<'a>(&'a mut self, op: &'a Invocation) -> BoxFuture<'a, Completion> {
        Box::pin(async move { Completion::ok(op.value.clone()) })
    }
}

const PYTHON: &str = r#"import json, sys
for line in sys.stdin:
    m = json.loads(line)
    out = {"type": "init_ok"} if m["type"] == "init" else {"type": "ok", "id": m["id"]}
    sys.stdout.write(json.dumps(out) + "\n")
    sys.stdout.flush()
"#;

const NODE: &str = r#"const rl = require('readline').createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const m = JSON.parse(line);
  process.stdout.write(JSON.stringify(m.type === 'init' ? { type: 'init_ok' } : { type: 'ok', id: m.id }) + '\n');
});
"#;

fn rate(rt: &tokio::runtime::Runtime, clients: Arc<dyn Clients>, nodes: &[Node]) -> f64 {
    let dir = tempfile::tempdir().unwrap();
    let recorder = Arc::new(Recorder::new(
        HistoryWriter::create(dir.path().join("history.jsonl")).unwrap(),
    ));
    let phase = MainPhase {
        concurrency: 10,
        op_timeout: Duration::from_secs(5),
        seed: 1,
        routing: Routing::Sticky,
        nodes: nodes.to_vec(),
        support: Default::default(),
    };
    let mut n = 0i64;
    let ops = generator::time_limit(
        Duration::from_secs(3),
        generator::boxed(move |_: &mut Ctx<'_>| {
            n += 1;
            Invocation::new("add", n)
        }),
    );
    let start = Instant::now();
    let errors = rt.block_on(run::run_workers(
        &phase,
        clients,
        ops,
        recorder.clone(),
        Arc::new(AtomicBool::new(false)),
    ));
    assert!(errors.is_empty(), "{errors:?}");
    let elapsed = start.elapsed().as_secs_f64();
    assert_eq!(recorder.info.load(Ordering::Relaxed), 0);
    recorder.ok.load(Ordering::Relaxed) as f64 / elapsed
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
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("noop.py"), PYTHON).unwrap();
    std::fs::write(dir.path().join("noop.js"), NODE).unwrap();
    let stdio = |program: &str, file: &str| -> Arc<dyn Clients> {
        Arc::new(StdioClients {
            spec: Arc::new(ClientSpec {
                command: vec![program.into(), file.into()],
                cwd: dir.path().to_path_buf(),
                workload: "set".into(),
                options: serde_json::json!({}),
            }),
        })
    };
    let native: Arc<dyn Clients> =
        Arc::new(|_: &Node, _: Duration| Box::new(Noop) as Box<dyn Client>);
    let mut medians = Vec::new();
    for (name, clients) in [
        ("native", native),
        ("python", stdio("python3", "noop.py")),
        ("node", stdio("node", "noop.js")),
    ] {
        let mut rates: Vec<f64> = (0..3).map(|_| rate(&rt, clients.clone(), &nodes)).collect();
        rates.sort_by(f64::total_cmp);
        println!(
            "no-op client, concurrency 10, {name:>6}: {:>9.0} ops/s (median of 3; {:.0} / {:.0} / {:.0})",
            rates[1], rates[0], rates[1], rates[2]
        );
        medians.push(rates[1]);
    }
    println!(
        "stdio cost: python at {:.1} %, node at {:.1} % of the native rate",
        100.0 * medians[1] / medians[0],
        100.0 * medians[2] / medians[0]
    );
}
