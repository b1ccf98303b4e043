//! The nemesis in a run: a fault schedule from the plan, carried out on the nodes and recorded
//! in the history, and healing — at the end of the run, on Ctrl-C, on a panic (a guard heals as
//! the stack unwinds) and, after a crash, by `rift heal` from the fault ledger.

use crate::run::Recorder;
use control::{Db, Node, Remote};
use history::{OpType, Process, Sym, Value};
use nemeses::faults::Faults;
use nemeses::grudge::{self, Topology};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use workloads::generator::{self, Ctx, Gen, Invocation, NEMESIS_THREAD, Rng, Step};

/// Start/stop pairs, one kind after another, `interval` apart.
pub fn schedule(kinds: &[String], interval: Duration) -> Gen {
    let kinds: Vec<String> = kinds.to_vec();
    let mut turn = 0usize;
    generator::cycle(move || {
        let kind = kinds[turn % kinds.len()].clone();
        turn += 1;
        vec![
            generator::sleep(interval),
            generator::once(Invocation::new(&format!("start-{kind}"), Value::Nil)),
            generator::sleep(interval),
            generator::once(Invocation::new(&format!("stop-{kind}"), Value::Nil)),
        ]
    })
}

/// What the nemesis acts with.
pub struct Nemesis {
    pub faults: Faults,
    pub db: Arc<dyn Db>,
    pub nodes: Vec<Node>,
    pub clock_files: Option<Vec<String>>,
    pub rng: Rng,
    /// How long a strobe lasts.
    pub interval: Duration,
    /// one, minority, majority, all or primaries.
    pub targets: String,
    /// `system` clock strategy: the helper's path on each node (else the process strategy).
    pub system_helpers: Option<Vec<String>>,
    /// Nodes currently killed or paused (to restart or resume at stop).
    down: Vec<usize>,
}

impl Nemesis {
    pub fn new(
        faults: Faults,
        db: Arc<dyn Db>,
        nodes: Vec<Node>,
        clock_files: Option<Vec<String>>,
        seed: u64,
        interval: Duration,
    ) -> Nemesis {
        Nemesis {
            faults,
            db,
            nodes,
            clock_files,
            rng: Rng::new(seed).fork(u64::MAX),
            interval,
            targets: "minority".into(),
            system_helpers: None,
            down: Vec::new(),
        }
    }

    /// Each node's clock offset from the controller (ms), as measured on the node: under the
    /// clock library beside its offset file (process strategy), or plainly (system strategy).
    /// Strobes every victim's clock at once (one fault, in force on all of them together) and
    /// records what happened on each: the offset, the clock measured while it was in force,
    /// how many flips, and when it started and ended (ms after the fault began).
    async fn strobe_all(
        &self,
        names: &[String],
        offsets: &[(usize, i64)],
        set: Vec<Value>,
    ) -> Result<Value, String> {
        let Some(files) = &self.clock_files else {
            return Err("clock faults were not set up".into());
        };
        let began = std::time::Instant::now();
        let period = Duration::from_millis(100);
        let mut tasks = Vec::new();
        for &(v, ns) in offsets {
            let (faults, node, file) = (self.faults.clone(), names[v].clone(), files[v].clone());
            let library = file
                .rsplit_once('/')
                .map(|(d, _)| format!("{d}/{}", nemeses::clock::LIBRARY_NAME));
            let interval = self.interval;
            tasks.push(tokio::spawn(async move {
                let started = began.elapsed();
                let r = faults
                    .strobe(&node, &file, ns, period, interval, library.as_deref())
                    .await;
                (node, started, r)
            }));
        }
        let mut each = Vec::new();
        let mut failed = None;
        for task in tasks {
            let (node, started, r) = task.await.map_err(|e| e.to_string())?;
            match r {
                Ok(s) => each.push(Value::map([
                    (Value::from("node"), Value::from(node.as_str())),
                    (
                        Value::from("measured in force (ms)"),
                        s.measured_ms.map_or(Value::Nil, Value::Int),
                    ),
                    (Value::from("flips"), Value::Int(i64::from(s.flips))),
                    (
                        Value::from("from (ms)"),
                        Value::Int(started.as_millis() as i64),
                    ),
                    (
                        Value::from("to (ms)"),
                        Value::Int((started + s.lasted).as_millis() as i64),
                    ),
                ])),
                Err(e) => {
                    failed.get_or_insert(format!("{node}: {e}"));
                }
            }
        }
        if let Some(e) = failed {
            return Err(e);
        }
        Ok(Value::map([
            (Value::from("strobed (ms)"), Value::List(set)),
            (Value::from("strobes"), Value::List(each)),
        ]))
    }

    async fn measured_offsets(&self) -> Value {
        let mut measured = Vec::new();
        for (i, node) in self.nodes.iter().enumerate() {
            let (library, file) = match (&self.clock_files, &self.system_helpers) {
                (Some(files), _) => {
                    let dir = files[i].rsplit_once('/').map_or("", |(d, _)| d);
                    (
                        Some(format!("{dir}/{}", nemeses::clock::LIBRARY_NAME)),
                        files[i].clone(),
                    )
                }
                (None, Some(_)) => (None, String::new()),
                (None, None) => return Value::Nil,
            };
            match self
                .faults
                .clock_offsets(library.as_deref(), &[(node.name.clone(), file)])
                .await
            {
                Ok(m) => measured.extend(
                    m.into_iter()
                        .map(|(n, ms)| (Value::from(n), Value::Int(ms))),
                ),
                Err(e) => return Value::from(format!("could not measure: {e}")),
            }
        }
        Value::map(measured)
    }

    fn remote(&self, i: usize) -> &dyn Remote {
        self.faults.remotes[i].as_ref()
    }

    fn names(&self, idx: &[usize]) -> Value {
        Value::List(
            idx.iter()
                .map(|&i| Value::from(self.nodes[i].name.as_str()))
                .collect(),
        )
    }

    /// The nodes a fault strikes, by the plan's targets.
    async fn victims(&mut self) -> Result<Vec<usize>, String> {
        let n = self.nodes.len();
        let k = match self.targets.as_str() {
            "one" => 1,
            "minority" => return Ok(self.minority()),
            "majority" => n / 2 + 1,
            "all" => n,
            "primaries" => {
                let primaries = self
                    .db
                    .primaries(&self.nodes)
                    .await
                    .map_err(|e| format!("finding the primaries: {e}"))?;
                return Ok((0..n)
                    .filter(|&i| primaries.contains(&self.nodes[i].name))
                    .collect());
            }
            other => return Err(format!("unknown targets {other:?}")),
        };
        Ok(self.pick(k))
    }

    /// A random minority (at least one).
    fn minority(&mut self) -> Vec<usize> {
        let n = self.nodes.len();
        let k = 1 + self.rng.below(((n - 1) / 2).max(1) as u64) as usize;
        self.pick(k)
    }

    /// `k` distinct nodes at random, in index order.
    fn pick(&mut self, k: usize) -> Vec<usize> {
        let n = self.nodes.len();
        let mut idx: Vec<usize> = (0..n).collect();
        for i in (1..n).rev() {
            idx.swap(i, self.rng.below(i as u64 + 1) as usize);
        }
        idx.truncate(k.min(n));
        idx.sort();
        idx
    }

    /// Carries out one fault operation; returns what it did, for the history.
    pub async fn apply(&mut self, f: &str) -> Result<Value, String> {
        let names: Vec<String> = self.nodes.iter().map(|n| n.name.clone()).collect();
        match f {
            "start-partition" => {
                // Aimed at one node or the primaries, a partition cuts them off from every other
                // node (clients still reach them); otherwise it takes a random topology.
                let (t, g) = if self.targets == "primaries" || self.targets == "one" {
                    let victims = self.victims().await?;
                    let (cut, rest): (Vec<_>, Vec<_>) =
                        (0..names.len()).partition(|i| victims.contains(i));
                    let named = |idx: Vec<usize>| -> Vec<String> {
                        idx.into_iter().map(|i| names[i].clone()).collect()
                    };
                    let (cut, rest) = (named(cut), named(rest));
                    let name = if self.targets == "one" {
                        "isolate-one"
                    } else {
                        "isolate-primaries"
                    };
                    (name, grudge::complete(&[cut, rest]))
                } else {
                    let t = Topology::ALL[self.rng.below(Topology::ALL.len() as u64) as usize];
                    let rng = &mut self.rng;
                    (
                        t.name(),
                        grudge::grudge(t, &names, |n| rng.below(n as u64) as usize),
                    )
                };
                self.faults
                    .partition(&g, 1.0)
                    .await
                    .map_err(|e| e.to_string())?;
                let cut: Vec<Value> = g
                    .iter()
                    .map(|(a, d)| {
                        Value::List(vec![
                            Value::from(a.as_str()),
                            Value::List(d.iter().map(|b| Value::from(b.as_str())).collect()),
                        ])
                    })
                    .collect();
                Ok(Value::List(vec![Value::from(t), Value::List(cut)]))
            }
            "start-loss" => {
                let victims = self.minority();
                let mut g = grudge::Grudge::new();
                for &v in &victims {
                    g.insert(
                        names[v].clone(),
                        names.iter().filter(|n| **n != names[v]).cloned().collect(),
                    );
                }
                self.faults
                    .partition(&g, 0.3)
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(Value::List(vec![
                    Value::from("loss 30% into"),
                    self.names(&victims),
                ]))
            }
            "stop-partition" | "stop-loss" => {
                self.faults
                    .heal_network()
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(Value::from("network healed"))
            }
            "start-clock" => {
                let victims = self.victims().await?;
                // Up to a minute either way: bumped, or (process strategy) strobed back and
                // forth for an interval.
                let strobe = self.system_helpers.is_none() && self.rng.below(2) == 1;
                let mut set = Vec::new();
                let mut offsets = Vec::new();
                for &v in &victims {
                    let ms = self.rng.below(120_000) as i64 - 60_000;
                    set.push(Value::List(vec![
                        Value::from(names[v].as_str()),
                        Value::Int(ms),
                    ]));
                    offsets.push((v, ms * 1_000_000));
                }
                if strobe {
                    return self.strobe_all(&names, &offsets, set).await;
                }
                for &(v, ns) in &offsets {
                    let result = match (&self.system_helpers, &self.clock_files) {
                        (Some(helpers), _) => {
                            self.faults
                                .system_clock_bump(&names[v], &helpers[v], ns)
                                .await
                        }
                        (None, Some(files)) => {
                            self.faults.set_clock(&names[v], &files[v], ns).await
                        }
                        (None, None) => return Err("clock faults were not set up".into()),
                    };
                    result.map_err(|e| e.to_string())?;
                }
                // Measured with the offsets in force.
                Ok(Value::map([
                    (Value::from("bumped (ms)"), Value::List(set)),
                    (
                        Value::from("measured offsets (ms)"),
                        self.measured_offsets().await,
                    ),
                ]))
            }
            "stop-clock" => {
                self.faults
                    .reset_clocks()
                    .await
                    .map_err(|e| e.to_string())?;
                Ok(Value::map([
                    (Value::from("reset"), Value::Bool(true)),
                    (
                        Value::from("measured offsets (ms)"),
                        self.measured_offsets().await,
                    ),
                ]))
            }
            "start-kill" | "start-pause" => {
                let victims = self.victims().await?;
                // A pause is a fault to undo: applied under the gate, like the others.
                let _applying = self
                    .faults
                    .applying("the victims")
                    .await
                    .map_err(|e| e.to_string())?;
                for &v in &victims {
                    if f == "start-kill" {
                        self.db
                            .kill(self.remote(v))
                            .await
                            .map_err(|e| e.to_string())?;
                    } else {
                        let pid_files = self.db.pid_files(&self.nodes[v]);
                        if !pid_files.is_empty() {
                            self.faults
                                .ledger
                                .note(&names[v], |n| {
                                    for p in pid_files {
                                        if !n.paused.contains(&p) {
                                            n.paused.push(p);
                                        }
                                    }
                                })
                                .map_err(|e| e.to_string())?;
                        }
                        self.db
                            .pause(self.remote(v))
                            .await
                            .map_err(|e| e.to_string())?;
                    }
                }
                self.down = victims.clone();
                Ok(self.names(&victims))
            }
            "stop-kill" | "stop-pause" => {
                let victims = std::mem::take(&mut self.down);
                for &v in &victims {
                    if f == "stop-kill" {
                        self.db
                            .start(self.remote(v), &self.nodes)
                            .await
                            .map_err(|e| e.to_string())?;
                    } else {
                        self.db
                            .resume(self.remote(v))
                            .await
                            .map_err(|e| e.to_string())?;
                    }
                }
                Ok(self.names(&victims))
            }
            other => Err(format!("the nemesis has no operation {other:?}")),
        }
    }
}

/// Runs the fault schedule until `stop`; every fault is an invocation and an `info` completion
/// by process `nemesis`, carrying what was done.
pub async fn run(
    nemesis: &mut Nemesis,
    mut schedule: Gen,
    recorder: Arc<Recorder>,
    stop: Arc<AtomicBool>,
) -> Vec<String> {
    let me = Process::Named(Sym::from("nemesis"));
    let mut rng = Rng::new(0);
    let mut problems = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        let step = schedule.next(&mut Ctx {
            now: recorder.now(),
            process: &me,
            thread: NEMESIS_THREAD,
            rng: &mut rng,
        });
        let op = match step {
            Step::Done => break,
            Step::Wait(d) => {
                tokio::time::sleep(d.min(Duration::from_millis(50))).await;
                continue;
            }
            Step::Op(op) => op,
        };
        let _ = recorder.record(OpType::Invoke, &me, &op.f, Value::Nil, None, None, false);
        let (value, error) = match nemesis.apply(&op.f).await {
            Ok(v) => (v, None),
            Err(e) => {
                problems.push(format!("nemesis {}: {e}", op.f));
                (Value::Nil, Some(e))
            }
        };
        if error.is_none() {
            let names: Vec<String> = nemesis.nodes.iter().map(|n| n.name.clone()).collect();
            recorder.note_fault(&op.f, &value, &names);
        }
        let _ = recorder.record(OpType::Info, &me, &op.f, value, None, error, false);
        schedule.completed(&me, &op, OpType::Info);
    }
    problems
}

/// Heals when dropped unless disarmed: a panic anywhere in the run still leaves no fault behind.
pub struct HealGuard {
    faults: Option<Faults>,
}

impl HealGuard {
    pub fn new(faults: Faults) -> HealGuard {
        HealGuard {
            faults: Some(faults),
        }
    }

    pub fn disarm(&mut self) {
        self.faults = None;
    }
}

impl Drop for HealGuard {
    fn drop(&mut self) {
        if let Some(faults) = self.faults.take() {
            eprintln!("rift: healing every fault before exiting");
            // A thread of its own: this may run while a runtime is unwinding.
            let healed = std::thread::spawn(move || {
                tokio::runtime::Runtime::new().map(|rt| rt.block_on(faults.heal_all()))
            })
            .join();
            if !matches!(healed, Ok(Ok(Ok(())))) {
                eprintln!("rift: HEALING FAILED: run `rift heal` with the same nodes");
            }
        }
    }
}
