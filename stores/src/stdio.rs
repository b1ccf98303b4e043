//! Clients in any language: one client program per worker, run on the controller, speaking
//! rift's client protocol (version 1) as JSON Lines over its stdin and stdout. The contract is
//! docs/client-protocol.md; this module follows it.
//!
//! rift → client, once: `{"type":"init","protocol":1,"workload":…,"process":3,"node":"n2",
//! "host":…,"nodes":[{"name":…,"host":…}…],"timeout_ms":5000,"options":{…}}`, answered by
//! `{"type":"init_ok"}`. Then one operation in flight at a time: `{"type":"invoke","id":17,
//! "f":"add","value":42}` (final reads add `"final":true`), answered by `ok` (with a `value`),
//! `fail` (certainly no effect), `info` (may have happened), or Maelstrom's `error` with a code.
//!
//! Whatever the client does, nothing recorded is lost and the run goes on: no answer within the
//! timeout plus a grace is `info` and the client's process group is killed; EOF, a crash, a
//! malformed or unexpected line while an operation is in flight is `info` (the line goes to the
//! run's log); an invocation the client never read (its stdin closed) is `fail`; a client that
//! cannot start or does not answer init fails the operation it was started for (it was never
//! sent). After `info` the runner gives the process a new number and a new client.

use control::Node;
use control::db::BoxFuture;
use history::Value;
use serde_json::{Value as Json, json};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::process::{Child, ChildStdin, ChildStdout};
use workloads::generator::Invocation;
use workloads::{Client, ClientCtx, Clients, Completion, RunLogFn};

pub const PROTOCOL: u64 = 1;

/// Maelstrom's definite error codes: the operation certainly did not happen. Every other code
/// (0 timeout, 13 crash, ...) is indefinite.
pub const DEFINITE_CODES: &[i64] = &[1, 10, 11, 12, 14, 20, 21, 22, 30];

/// How to run a store's client program.
#[derive(Debug, Clone, PartialEq)]
pub struct ClientSpec {
    /// The program and its arguments.
    pub command: Vec<String>,
    /// Its working directory (the store file's folder).
    pub cwd: PathBuf,
    pub workload: String,
    /// Passed through in `init`.
    pub options: Json,
}

/// A store's clients: one program per client.
#[derive(Debug, Clone)]
pub struct StdioClients {
    pub spec: Arc<ClientSpec>,
}

impl Clients for StdioClients {
    fn client(&self, node: &Node, timeout: Duration) -> Box<dyn Client> {
        self.open(&ClientCtx {
            node,
            nodes: std::slice::from_ref(node),
            process: 0,
            timeout,
            files: None,
            log: None,
        })
    }

    fn open(&self, ctx: &ClientCtx<'_>) -> Box<dyn Client> {
        let nodes: Vec<Json> = ctx
            .nodes
            .iter()
            .map(|n| json!({"name": n.name, "host": n.host}))
            .collect();
        let init = json!({
            "type": "init",
            "protocol": PROTOCOL,
            "workload": self.spec.workload,
            "process": ctx.process,
            "node": ctx.node.name,
            "host": ctx.node.host,
            "nodes": nodes,
            "timeout_ms": ctx.timeout.as_millis() as u64,
            "options": self.spec.options,
        });
        Box::new(StdioClient {
            spec: self.spec.clone(),
            init,
            timeout: ctx.timeout,
            stderr: ctx.files.map(|d| d.join(format!("{}.stderr", ctx.process))),
            log: ctx.log.cloned(),
            process: ctx.process,
            running: None,
            next_id: 0,
        })
    }
}

/// The client program, while it runs. Dropping it kills its whole process group.
struct Running {
    child: Child,
    stdin: ChildStdin,
    stdout: Lines<BufReader<ChildStdout>>,
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(pid) = self.child.id() {
            // The group is the client's own (it was started as a group leader).
            let _ = nix::sys::signal::killpg(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        let _ = self.child.start_kill();
    }
}

struct StdioClient {
    spec: Arc<ClientSpec>,
    init: Json,
    timeout: Duration,
    stderr: Option<PathBuf>,
    log: Option<RunLogFn>,
    process: u64,
    running: Option<Running>,
    next_id: u64,
}

/// What went wrong reading an answer.
enum Broken {
    Timeout,
    Eof,
    Unreadable(String),
}

impl StdioClient {
    /// Beyond the client's own timeout, how long rift waits for its answer.
    fn patience(&self) -> Duration {
        self.timeout + (self.timeout / 2).min(Duration::from_secs(1))
    }

    fn note(&self, line: String) {
        if let Some(log) = &self.log {
            log(&format!("client {}: {line}", self.process));
        }
    }

    async fn start(&self) -> Result<Running, String> {
        let (program, args) = self
            .spec
            .command
            .split_first()
            .ok_or("the client command is empty")?;
        let stderr = match &self.stderr {
            Some(path) => {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
                }
                std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map(std::process::Stdio::from)
                    .map_err(|e| format!("{}: {e}", path.display()))?
            }
            None => std::process::Stdio::null(),
        };
        let mut child = tokio::process::Command::new(program)
            .args(args)
            .current_dir(&self.spec.cwd)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(stderr)
            .process_group(0)
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| {
                format!(
                    "cannot start {} (in {}): {e}",
                    self.spec.command.join(" "),
                    self.spec.cwd.display()
                )
            })?;
        let (Some(stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
            return Err("the client's pipes were not opened".into());
        };
        let mut running = Running {
            child,
            stdin,
            stdout: BufReader::new(stdout).lines(),
        };
        send(&mut running.stdin, &self.init)
            .await
            .map_err(|e| format!("the client did not read init: {e}"))?;
        match self.answer(&mut running).await {
            Ok(m) if m["type"] == "init_ok" => Ok(running),
            Ok(m) => {
                self.note(format!("answered init with {m}"));
                Err(format!("the client answered init with {m}, not init_ok"))
            }
            Err(Broken::Timeout) => Err(format!(
                "the client did not answer init within {:?}",
                self.patience()
            )),
            Err(Broken::Eof) => Err(format!(
                "the client exited before answering init ({})",
                exit_status(&mut running.child)
            )),
            Err(Broken::Unreadable(line)) => {
                self.note(format!("unreadable answer to init: {line:?}"));
                Err(format!("the client answered init with {line:?}"))
            }
        }
    }

    /// The next message, within the client's patience.
    async fn answer(&self, running: &mut Running) -> Result<Json, Broken> {
        let line = tokio::time::timeout(self.patience(), running.stdout.next_line())
            .await
            .map_err(|_| Broken::Timeout)?;
        match line {
            Ok(Some(line)) => serde_json::from_str::<Json>(&line)
                .ok()
                .filter(Json::is_object)
                .ok_or(Broken::Unreadable(line)),
            Ok(None) => Err(Broken::Eof),
            Err(e) => Err(Broken::Unreadable(format!("(not text: {e})"))),
        }
    }

    async fn perform(&mut self, op: &Invocation, final_read: bool) -> Completion {
        let mut running = match self.running.take() {
            Some(r) => r,
            None => match self.start().await {
                Ok(r) => r,
                Err(e) => {
                    self.note(e.clone());
                    return Completion::fail(format!("client: {e}"));
                }
            },
        };
        self.next_id += 1;
        let id = self.next_id;
        let mut invoke = json!({"type": "invoke", "id": id, "f": &*op.f, "value": op.value});
        if final_read {
            invoke["final"] = json!(true);
        }
        if let Err(e) = send(&mut running.stdin, &invoke).await {
            // It never read the operation: nothing was done.
            return Completion::fail(format!(
                "the client did not take the operation: {e} ({})",
                exit_status(&mut running.child)
            ));
        }
        let answer = match self.answer(&mut running).await {
            Ok(a) => a,
            Err(Broken::Timeout) => {
                return Completion::info(format!(
                    "timeout: no answer within {:?}",
                    self.patience()
                ));
            }
            Err(Broken::Eof) => {
                let status = exit_status(&mut running.child);
                self.note(format!("exited with operation {id} in flight ({status})"));
                return Completion::info(format!("the client exited mid-operation ({status})"));
            }
            Err(Broken::Unreadable(line)) => {
                self.note(format!(
                    "malformed line with operation {id} in flight: {line:?}"
                ));
                return Completion::info(format!("malformed answer: {line:?}"));
            }
        };
        if answer["id"].as_u64() != Some(id) {
            self.note(format!(
                "answered {answer} while operation {id} was in flight"
            ));
            return Completion::info(format!("unexpected answer for operation {id}: {answer}"));
        }
        let done = completion(&answer, op);
        if done.is_some() {
            self.running = Some(running);
        }
        done.unwrap_or_else(|| {
            self.note(format!("unknown answer type: {answer}"));
            Completion::info(format!("unknown answer: {answer}"))
        })
    }
}

/// An answer as a completion (`None`: not a type of the protocol).
fn completion(answer: &Json, op: &Invocation) -> Option<Completion> {
    let text = |key: &str| {
        answer[key]
            .as_str()
            .map_or_else(|| answer[key].to_string(), str::to_owned)
    };
    Some(match answer["type"].as_str()? {
        "ok" => match answer.get("value") {
            Some(v) if !v.is_null() || op.f.as_ref() == "read" => {
                match serde_json::from_value::<Value>(v.clone()) {
                    Ok(v) => Completion::ok(v),
                    Err(e) => Completion::info(format!("unreadable value {v}: {e}")),
                }
            }
            // A write that says nothing of its value wrote what it was given.
            _ => Completion::ok(op.value.clone()),
        },
        "fail" => Completion::fail(text("error")),
        "info" => Completion::info(text("error")),
        "error" => {
            let code = answer["code"].as_i64();
            let why = format!(
                "error {}: {}",
                code.map_or("?".into(), |c| c.to_string()),
                text("text")
            );
            match code {
                Some(c) if DEFINITE_CODES.contains(&c) => Completion::fail(why),
                _ => Completion::info(why),
            }
        }
        _ => return None,
    })
}

async fn send(stdin: &mut ChildStdin, message: &Json) -> std::io::Result<()> {
    let mut line = serde_json::to_vec(message)?;
    line.push(b'\n');
    stdin.write_all(&line).await?;
    stdin.flush().await
}

fn exit_status(child: &mut Child) -> String {
    match child.try_wait() {
        Ok(Some(s)) => s.to_string(),
        _ => "still running".into(),
    }
}

impl Client for StdioClient {
    fn invoke<'a>(&'a mut self, op: &'a Invocation) -> BoxFuture<'a, Completion> {
        Box::pin(self.perform(op, false))
    }

    fn final_read<'a>(&'a mut self, op: &'a Invocation) -> BoxFuture<'a, Completion> {
        Box::pin(self.perform(op, true))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(f: &str, v: Value) -> Invocation {
        Invocation::new(f, v)
    }

    #[test]
    fn answers_map_to_outcomes_by_the_protocol() {
        let add = op("add", Value::Int(4));
        let c = completion(&json!({"type": "ok", "id": 1}), &add).unwrap();
        assert_eq!(c, Completion::ok(Value::Int(4)));
        let read = op("read", Value::Nil);
        let c = completion(&json!({"type": "ok", "id": 1, "value": [1, 2]}), &read).unwrap();
        assert_eq!(c.value, Value::List(vec![Value::Int(1), Value::Int(2)]));
        let c = completion(&json!({"type": "ok", "id": 1, "value": null}), &read).unwrap();
        assert_eq!(c, Completion::ok(Value::Nil));
        let c = completion(&json!({"type": "fail", "id": 1, "error": "no"}), &add).unwrap();
        assert_eq!(c, Completion::fail("no"));
        let c = completion(&json!({"type": "info", "id": 1, "error": "?"}), &add).unwrap();
        assert_eq!(c, Completion::info("?"));
        for (code, kind) in [
            (11, history::OpType::Fail),
            (20, history::OpType::Fail),
            (0, history::OpType::Info),
            (13, history::OpType::Info),
            (99, history::OpType::Info),
        ] {
            let c = completion(
                &json!({"type": "error", "id": 1, "code": code, "text": "t"}),
                &add,
            )
            .unwrap();
            assert_eq!(c.kind, kind, "code {code}");
        }
        assert!(completion(&json!({"type": "maybe", "id": 1}), &add).is_none());
    }
}
