//! The client protocol against deliberately broken clients (shell scripts): each failure becomes
//! `info` or a definite `fail` as docs/client-protocol.md says, the offending line reaches the
//! run's log, and a new client works afterwards — nothing is lost and the run can go on.
#![allow(clippy::unwrap_used)]

use control::Node;
use history::{OpType, Value};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use stores::stdio::{ClientSpec, StdioClients};
use workloads::generator::Invocation;
use workloads::{ClientCtx, Clients, RunLogFn};

/// A client that behaves for its first `good` operations, then does `then`.
fn script(good: usize, then: &str) -> String {
    format!(
        r#"read init
echo '{{"type":"init_ok"}}'
n=0
while read line; do
  id=$(printf '%s' "$line" | sed 's/.*"id":\([0-9]*\).*/\1/')
  if [ $n -ge {good} ]; then {then}; fi
  n=$((n+1))
  echo "{{\"type\":\"ok\",\"id\":$id,\"value\":$n}}"
done
"#
    )
}

struct Harness {
    dir: tempfile::TempDir,
    log: Arc<Mutex<Vec<String>>>,
    log_fn: RunLogFn,
    node: Node,
}

impl Harness {
    fn new() -> Harness {
        let log: Arc<Mutex<Vec<String>>> = Arc::default();
        let sink = log.clone();
        Harness {
            dir: tempfile::tempdir().unwrap(),
            log,
            log_fn: Arc::new(move |l: &str| sink.lock().unwrap().push(l.to_owned())),
            node: Node {
                name: "n1".into(),
                host: "127.0.0.1".into(),
                port: 22,
                user: "root".into(),
                workdir: "/w".into(),
                sudo_password: None,
            },
        }
    }

    fn clients(&self, body: &str) -> StdioClients {
        std::fs::write(self.dir.path().join("client.sh"), body).unwrap();
        StdioClients {
            spec: Arc::new(ClientSpec {
                command: vec!["sh".into(), "client.sh".into()],
                cwd: self.dir.path().to_path_buf(),
                workload: "counter".into(),
                options: serde_json::json!({}),
            }),
        }
    }

    /// Runs `ops` adds through one client; the kinds of their completions and how long each took.
    fn run(
        &self,
        body: &str,
        ops: usize,
        timeout: Duration,
    ) -> Vec<(OpType, Option<String>, Duration)> {
        let clients = self.clients(body);
        let rt = tokio::runtime::Runtime::new().unwrap();
        let files = self.dir.path().join("clients");
        let mut client = clients.open(&ClientCtx {
            node: &self.node,
            nodes: std::slice::from_ref(&self.node),
            process: 7,
            timeout,
            files: Some(&files),
            log: Some(&self.log_fn),
        });
        (0..ops)
            .map(|_| {
                let start = Instant::now();
                let done = rt.block_on(client.invoke(&Invocation::new("add", Value::Int(1))));
                (done.kind, done.error, start.elapsed())
            })
            .collect()
    }

    fn logged(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }
}

const T: Duration = Duration::from_millis(400);

#[test]
fn a_well_behaved_client_answers_every_operation() {
    let h = Harness::new();
    let done = h.run(&script(usize::MAX, "true"), 5, T);
    assert!(done.iter().all(|(k, _, _)| *k == OpType::Ok), "{done:?}");
    // Its stderr has a file of its own, named by the process.
    assert!(h.dir.path().join("clients/7.stderr").is_file());
}

#[test]
fn a_client_that_hangs_is_info_after_the_timeout_and_its_process_group_is_killed() {
    let h = Harness::new();
    let pidfile = h.dir.path().join("sleeper.pid");
    let hang = format!("sleep 300 & echo $! > {}; wait", pidfile.display());
    let done = h.run(&script(2, &hang), 3, T);
    assert_eq!(done[0].0, OpType::Ok);
    assert_eq!(done[1].0, OpType::Ok);
    assert_eq!(done[2].0, OpType::Info, "{done:?}");
    assert!(done[2].1.as_deref().unwrap().starts_with("timeout"));
    assert!(done[2].2 >= T && done[2].2 < T * 3, "{:?}", done[2].2);
    // The client's child (in its process group) is gone too.
    std::thread::sleep(Duration::from_millis(100));
    let pid: i32 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_err()
            || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .is_ok_and(|s| s.contains(") Z ")),
        "the client's sleep {pid} survived"
    );
}

#[test]
fn a_client_that_exits_mid_operation_is_info_and_a_new_client_works() {
    let h = Harness::new();
    let done = h.run(&script(1, "exit 3"), 2, T);
    assert_eq!(done[0].0, OpType::Ok);
    assert_eq!(done[1].0, OpType::Info);
    assert!(
        done[1]
            .1
            .as_deref()
            .unwrap()
            .contains("exited mid-operation"),
        "{done:?}"
    );
    assert!(
        h.logged().contains("exited with operation 2 in flight"),
        "{}",
        h.logged()
    );
    // What the runner does after info: a new client, which starts afresh.
    let again = h.run(&script(1, "exit 3"), 1, T);
    assert_eq!(again[0].0, OpType::Ok);
}

#[test]
fn garbage_and_a_wrong_id_are_info_with_the_line_in_the_log() {
    let h = Harness::new();
    let done = h.run(&script(0, "echo 'not json at all'; continue"), 1, T);
    assert_eq!(done[0].0, OpType::Info, "{done:?}");
    assert!(h.logged().contains("not json at all"), "{}", h.logged());
    let h = Harness::new();
    let done = h.run(&script(0, "id=999"), 1, T);
    assert_eq!(done[0].0, OpType::Info, "{done:?}");
    assert!(h.logged().contains("\"id\":999"), "{}", h.logged());
}

#[test]
fn a_client_that_never_answers_init_fails_the_operation_it_was_started_for() {
    let h = Harness::new();
    let done = h.run("read init; sleep 300", 1, T);
    assert_eq!(
        done[0].0,
        OpType::Fail,
        "never sent, so certainly not done: {done:?}"
    );
    assert!(
        done[0]
            .1
            .as_deref()
            .unwrap()
            .contains("did not answer init")
    );
    let h = Harness::new();
    let done = h.run("read init; echo '{\"type\":\"hello\"}'", 1, T);
    assert_eq!(done[0].0, OpType::Fail);
    let h = Harness::new();
    let clients = StdioClients {
        spec: Arc::new(ClientSpec {
            command: vec!["/no/such/program".into()],
            cwd: h.dir.path().to_path_buf(),
            workload: "set".into(),
            options: serde_json::json!({}),
        }),
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let mut c = clients.client(&h.node, T);
    let done = rt.block_on(c.invoke(&Invocation::new("add", Value::Int(1))));
    assert_eq!(done.kind, OpType::Fail);
    assert!(
        done.error
            .unwrap()
            .contains("cannot start /no/such/program")
    );
}

#[test]
fn maelstrom_error_codes_are_definite_or_not_by_its_table() {
    let h = Harness::new();
    let body = r#"read init
echo '{"type":"init_ok"}'
read a; echo '{"type":"error","id":1,"code":20,"text":"key does not exist"}'
read b; echo '{"type":"error","id":2,"code":0,"text":"timed out"}'
read c; echo '{"type":"fail","id":3,"error":"refused"}'
read d; echo '{"type":"info","id":4,"error":"maybe"}'
"#;
    let done = h.run(body, 4, T);
    let kinds: Vec<OpType> = done.iter().map(|d| d.0).collect();
    assert_eq!(
        kinds,
        [OpType::Fail, OpType::Info, OpType::Fail, OpType::Info]
    );
    assert!(
        done[0]
            .1
            .as_deref()
            .unwrap()
            .contains("error 20: key does not exist")
    );
}
