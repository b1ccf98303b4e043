//! `rift test`: a whole run, always leaving a complete run directory.
//!
//! Setup, the main phase, the final phase (heal, resume and restart, read until the replicas
//! agree), teardown (logs downloaded, the store torn down) and the check all run, whatever
//! failed before them: problems are collected, reported loudly and written into results.json,
//! and never keep the history from being analysed. Ctrl-C ends the main phase early and goes
//! on through the rest; a second Ctrl-C heals every fault (for at most 30 s) and exits; if
//! healing fails, times out or is cut short by a third Ctrl-C, rift prints which faults remain
//! on which nodes and the `rift heal` command that removes them.

use crate::cli::TestArgs;
use crate::exit::{Exit, usage};
use crate::plan::{self, NodeSource, NodesInput, PlanInputs, TestPlan};
use crate::run::{self, FinalPhase, MainPhase, Recorder};
use anyhow::{Context, Result};
use control::cluster::{self, ClusterSpec, StateDir};
use control::db::ProcessEnv;
use control::{Db, SshNode};
use history::HistoryWriter;
use results::{RunDir, RunLog};
use serde_json::json;
use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use workloads::generator;

pub fn run(args: TestArgs, registry: &stores::Registry) -> Result<Exit> {
    let (args, registry) = with_store_file(args, registry)?;
    let registry = &registry;
    let plan = resolve_plan(&args, registry).map_err(|e| usage(e.to_string()))?;
    let store = registry
        .find(&plan.db)
        .cloned()
        .ok_or_else(|| usage(format!("unknown store {}", plan.db)))?;
    let runtime = tokio::runtime::Runtime::new()?;
    let interrupted = Arc::new(AtomicUsize::new(0));
    let in_force: InForce = Arc::new(std::sync::Mutex::new(None));
    {
        let interrupted = interrupted.clone();
        let in_force = in_force.clone();
        let heal_command = heal_command(&plan, &args);
        runtime.spawn(async move {
            while tokio::signal::ctrl_c().await.is_ok() {
                if interrupted.fetch_add(1, Ordering::SeqCst) == 0 {
                    eprintln!("\nrift: interrupted: finishing the run (heal, final reads, logs, check); Ctrl-C again to heal and abort");
                    continue;
                }
                let faults = in_force.lock().unwrap_or_else(|p| p.into_inner()).clone();
                abort(faults, &heal_command).await;
            }
        });
    }
    let mut worst = Exit::Valid;
    for i in 0..plan.test_count {
        if plan.test_count > 1 {
            eprintln!("rift: test {} of {}", i + 1, plan.test_count);
        }
        let exit = runtime.block_on(run_one(
            &plan,
            &args,
            store.as_ref(),
            interrupted.clone(),
            in_force.clone(),
        ))?;
        worst = worse(worst, exit);
        if interrupted.load(Ordering::SeqCst) > 0 {
            break;
        }
    }
    Ok(worst)
}

/// A store file (`--store`, or the plan's `store`) joins the registry under its own name, and
/// the run's store is it.
fn with_store_file(
    mut args: TestArgs,
    registry: &stores::Registry,
) -> Result<(TestArgs, stores::Registry)> {
    let from_plan = match (&args.store, &args.plan) {
        (Some(_), _) | (None, None) => None,
        (None, Some(plan)) => plan::read_plan_file(plan)
            .map_err(|e| usage(e.to_string()))?
            .store
            .map(|s| plan.parent().unwrap_or(std::path::Path::new(".")).join(s)),
    };
    let mut registry = registry.clone();
    let Some(path) = args.store.clone().or(from_plan) else {
        return Ok((args, registry));
    };
    let file = stores::store_file::StoreFile::load(&path).map_err(|e| usage(e.to_string()))?;
    match &args.db {
        Some(db) if *db != file.name => {
            return Err(usage(format!(
                "--db {db} and the store file {} (store {:?}) name different stores",
                path.display(),
                file.name
            )));
        }
        _ => args.db = Some(file.name.clone()),
    }
    registry.register(file);
    Ok((args, registry))
}

fn worse(a: Exit, b: Exit) -> Exit {
    let rank = |e: Exit| match e {
        Exit::Valid => 0,
        Exit::Unknown => 1,
        Exit::Invalid => 2,
        Exit::BadArguments => 3,
        Exit::Internal => 4,
    };
    if rank(b) > rank(a) { b } else { a }
}

fn resolve_plan(args: &TestArgs, registry: &stores::Registry) -> Result<TestPlan, plan::PlanError> {
    let file = match &args.plan {
        Some(path) => Some((path.as_path(), plan::read_plan_file(path)?)),
        None => None,
    };
    let flags = PlanInputs {
        name: args.name.clone(),
        db: args.db.clone(),
        store: None,
        workload: args.workload.clone(),
        nemesis: args.nemesis.clone(),
        nemesis_interval: args.nemesis_interval,
        nemesis_targets: args.nemesis_targets.clone(),
        clock_strategy: args.clock_strategy.clone(),
        concurrency: args.concurrency.clone(),
        time_limit: args.time_limit,
        rate: args.rate,
        test_count: args.test_count,
        seed: args.seed,
        op_timeout: args.op_timeout,
        routing: args.routing.as_deref().map(|r| {
            if r == "roaming" {
                run::Routing::Roaming
            } else {
                run::Routing::Sticky
            }
        }),
        final_read_bound: args.final_read_bound,
        leave_db_running: args.leave_db_running.then_some(true),
        db_flags: (!args.db_flags.is_empty()).then(|| args.db_flags.clone()),
        consistency_models: (!args.consistency_models.is_empty())
            .then(|| args.consistency_models.clone()),
        linear_time_budget: args.budget.linear_time_budget,
        linear_memory_budget: args.budget.linear_memory_budget,
        results_dir: args.results_dir.clone(),
        nodes: Some(NodesInput {
            list: args.nodes.nodes.clone(),
            file: args.nodes.nodes_file.clone(),
            local: args.nodes.local.then_some(true),
            local_nodes: args.local_nodes,
        }),
    };
    plan::resolve(file.as_ref().map(|(p, i)| (*p, i.clone())), flags, registry)
}

/// The nodes, making the local cluster when it is asked for and none is up.
fn inventory(plan: &TestPlan, args: &TestArgs) -> Result<control::Inventory> {
    let mut node_args = args.nodes.clone();
    match &plan.nodes {
        NodeSource::List(list) => node_args.nodes = Some(list.clone()),
        NodeSource::File(file) => node_args.nodes_file = Some(file.clone()),
        NodeSource::Local { nodes } => {
            let dir = StateDir(args.nodes.cluster_state_dir.clone());
            if cluster::load_state(&dir.0)?.is_none() {
                eprintln!("rift: no local cluster is up: building one with {nodes} nodes");
                let spec = ClusterSpec {
                    nodes: *nodes,
                    state_dir: dir.0.clone(),
                    ..ClusterSpec::default()
                };
                cluster::up(&spec).map_err(|e| usage(e.to_string()))?;
            }
            node_args.local = true;
            node_args.nodes = None;
            node_args.nodes_file = None;
        }
    }
    crate::nodes::inventory(&node_args)
}

/// The faults of the run in progress, for a second Ctrl-C to heal.
type InForce = Arc<std::sync::Mutex<Option<nemeses::faults::Faults>>>;

/// The `rift heal` command for this plan's nodes.
fn heal_command(plan: &TestPlan, args: &TestArgs) -> String {
    let q = |s: &str| control::shell::quote(s).into_owned();
    match &plan.nodes {
        NodeSource::Local { .. } => format!(
            "rift heal --local --cluster-state-dir {}",
            q(&args.nodes.cluster_state_dir.display().to_string())
        ),
        NodeSource::List(list) => format!("rift heal --nodes {}", q(list)),
        NodeSource::File(file) => {
            format!("rift heal --nodes-file {}", q(&file.display().to_string()))
        }
    }
}

/// What a ledger says may still be in force, a line per node.
pub fn describe_in_force(
    snapshot: &std::collections::BTreeMap<String, nemeses::faults::NodeFaults>,
) -> Vec<String> {
    snapshot
        .iter()
        .filter_map(|(node, f)| {
            let mut what = Vec::new();
            if f.network {
                what.push("firewall rules (RIFT chain)".to_owned());
            }
            if let Some(file) = &f.clock_file {
                what.push(format!("clock offset ({file})"));
            }
            if !f.paused.is_empty() {
                what.push(format!("{} paused process(es)", f.paused.len()));
            }
            if f.system_offset_ns != 0 || f.system_pending_ns != 0 {
                what.push(format!(
                    "system clock moved {} ms (and perhaps {} ms more)",
                    f.system_offset_ns / 1_000_000,
                    f.system_pending_ns / 1_000_000
                ));
            }
            if !f.ntp_stopped.is_empty() {
                what.push(format!("NTP stopped ({})", f.ntp_stopped.join(", ")));
            }
            (!what.is_empty()).then(|| format!("{node}: {}", what.join(", ")))
        })
        .collect()
}

/// A second Ctrl-C: heal (for at most 30 s, a third Ctrl-C cuts it short), then exit; say
/// exactly what is left when healing did not finish.
async fn abort(faults: Option<nemeses::faults::Faults>, heal_command: &str) -> ! {
    let Some(faults) = faults else {
        eprintln!("rift: aborted (no fault had been injected)");
        std::process::exit(130);
    };
    eprintln!("rift: aborting: healing every fault first (at most 30 s; Ctrl-C again to stop now)");
    let healed = tokio::select! {
        r = tokio::time::timeout(Duration::from_secs(30), async {
            // No fault is applied from here on, and one being applied is in place (and in the
            // ledger) before the heal begins: the heal is the last word.
            faults.close().await;
            faults.heal_all().await
        }) => match r {
            Ok(Ok(())) => Ok(()),
            Ok(Err(e)) => Err(e.to_string()),
            Err(_) => Err("healing took longer than 30 s".to_owned()),
        },
        _ = tokio::signal::ctrl_c() => Err("healing cut short".to_owned()),
    };
    match healed {
        Ok(()) => eprintln!("rift: every fault healed; aborted"),
        Err(why) => {
            eprintln!("rift: ABORTED WITH FAULTS IN FORCE ({why}):");
            for line in describe_in_force(&faults.ledger.snapshot()) {
                eprintln!("rift:   {line}");
            }
            eprintln!("rift:   and firewall rules may remain on any node of the test");
            eprintln!("rift: remove them with: {heal_command}");
        }
    }
    std::process::exit(130);
}

async fn run_one(
    plan: &TestPlan,
    args: &TestArgs,
    store: &dyn stores::Store,
    interrupted: Arc<AtomicUsize>,
    in_force: InForce,
) -> Result<Exit> {
    let inventory = inventory(plan, args)?;
    let remotes = control::connect_all(&inventory)?;
    let nodes = inventory.nodes.clone();
    let concurrency = plan.concurrency.workers(nodes.len());
    let run_dir = RunDir::create(&plan.results_dir, &plan.name, chrono::Local::now())?;
    let log = Arc::new(RunLog::open(&run_dir)?);
    run_dir.write_json(
        "test.json",
        &json!({"command": "test", "plan": plan, "nodes": nodes.iter().map(|n| json!({"name": n.name, "host": n.host, "port": n.port, "user": n.user, "workdir": n.workdir})).collect::<Vec<_>>(), "concurrency": concurrency, "workload": plan.workload}),
    )?;
    eprintln!("rift: run directory {}", run_dir.path().display());
    let mut problems: Vec<String> = Vec::new();
    let mut note = |problems: &mut Vec<String>, what: String| {
        eprintln!("rift: problem: {what}");
        log.line(format!("problem: {what}"));
        problems.push(what);
    };

    let ledger = nemeses::faults::Ledger::open(&nemeses::faults::ledger_dir(), &nodes)
        .map_err(|e| anyhow::anyhow!(e))?;
    let faults = nemeses::faults::Faults::new(remotes.clone(), Arc::new(ledger));
    let faulting = !plan.nemesis.is_empty();
    if faulting {
        *in_force.lock().unwrap_or_else(|p| p.into_inner()) = Some(faults.clone());
    }
    // From here on, a panic heals on its way out.
    let mut guard = faulting.then(|| crate::nemesis::HealGuard::new(faults.clone()));
    let clocks = plan.nemesis.iter().any(|n| n == "clock");
    // The store is opened before any node is touched: what it refuses costs nothing.
    let process_clocks = clocks && plan.clock_strategy != "system";
    let opened = store
        .open(&stores::StoreConfig {
            workload: plan.workload.clone(),
            db_flags: plan.db_flags.clone(),
            env: if process_clocks {
                clock_env()
            } else {
                ProcessEnv::default()
            },
        })
        .map_err(|e| usage(format!("--db {}: {e}", plan.db)))?;
    let (clock_files, system_helpers) = match (clocks, process_clocks) {
        (false, _) => (None, None),
        (true, false) => (
            None,
            Some(install_system_clock(&remotes, &nodes, &faults).await?),
        ),
        (true, true) => (Some(install_clock(&remotes, &nodes, &faults).await?), None),
    };
    let (db, workload, clients) = (opened.db, opened.workload, opened.clients);
    let recorder = Arc::new(Recorder::new(HistoryWriter::create(run_dir.history())?));
    let support = run::ClientSupport {
        files: Some(run_dir.path().join("clients")),
        log: Some({
            let log = log.clone();
            Arc::new(move |line: &str| log.line(line))
        }),
    };

    // Setup.
    log.line(format!("setting up {} on {} nodes", db.name(), nodes.len()));
    let setup_ok = for_each(&remotes, &nodes, &db, Step::Setup, &mut problems, &mut note).await
        && await_ready(
            &remotes,
            &db,
            Duration::from_secs(30),
            &mut problems,
            &mut note,
        )
        .await;

    // Main phase.
    let stop = Arc::new(AtomicBool::new(false));
    if setup_ok && interrupted.load(Ordering::SeqCst) == 0 {
        log.line(format!(
            "main phase: {concurrency} workers for {:?} at {}/s",
            plan.time_limit, plan.rate
        ));
        let watcher = {
            let (stop, interrupted) = (stop.clone(), interrupted.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::SeqCst) {
                    if interrupted.load(Ordering::SeqCst) > 0 {
                        stop.store(true, Ordering::SeqCst);
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            })
        };
        let progress = progress(recorder.clone(), plan.time_limit, stop.clone());
        let generator = generator::time_limit(
            plan.time_limit,
            generator::stagger(plan.rate, workload.generator()),
        );
        let phase = MainPhase {
            concurrency,
            op_timeout: plan.op_timeout,
            seed: plan.seed,
            routing: plan.routing,
            nodes: nodes.clone(),
            support: support.clone(),
        };
        let nemesis_task = faulting.then(|| {
            let mut nemesis = crate::nemesis::Nemesis::new(
                faults.clone(),
                db.clone(),
                nodes.clone(),
                clock_files.clone(),
                plan.seed,
                plan.nemesis_interval,
            );
            nemesis.targets = plan.nemesis_targets.clone();
            nemesis.system_helpers = system_helpers.clone();
            let schedule = crate::nemesis::schedule(&plan.nemesis, plan.nemesis_interval);
            let (recorder, stop) = (recorder.clone(), stop.clone());
            tokio::spawn(async move {
                let problems = crate::nemesis::run(&mut nemesis, schedule, recorder, stop).await;
                (nemesis, problems)
            })
        });
        for e in run::run_workers(
            &phase,
            clients.clone(),
            generator,
            recorder.clone(),
            stop.clone(),
        )
        .await
        {
            note(&mut problems, format!("main phase: {e}"));
        }
        stop.store(true, Ordering::SeqCst);
        if let Some(task) = nemesis_task {
            match task.await {
                Ok((_, nemesis_problems)) => {
                    for p in nemesis_problems {
                        note(&mut problems, p);
                    }
                }
                Err(e) => note(&mut problems, format!("nemesis failed: {e}")),
            }
        }
        let _ = watcher.await;
        if let Some(p) = progress {
            let _ = p.await;
        }
    }

    // Final phase: heal every fault, resume and restart, read.
    if faulting {
        log.line("final phase: heal every fault");
        let me = history::Process::Named(history::Sym::from("nemesis"));
        let f = history::Sym::from("heal");
        let _ = recorder.record(
            history::OpType::Invoke,
            &me,
            &f,
            history::Value::Nil,
            None,
            None,
            false,
        );
        let healed = faults.heal_all().await;
        let error = healed.as_ref().err().map(|e| e.to_string());
        let _ = recorder.record(
            history::OpType::Info,
            &me,
            &f,
            history::Value::from("healed"),
            None,
            error.clone(),
            false,
        );
        match error {
            None => {
                if let Some(g) = guard.as_mut() {
                    g.disarm();
                }
            }
            Some(e) => note(
                &mut problems,
                format!("HEALING FAILED: {e}; run `rift heal` with the same nodes"),
            ),
        }
    }
    log.line("final phase: resume and restart every node");
    for_each(
        &remotes,
        &nodes,
        &db,
        Step::Resume,
        &mut problems,
        &mut note,
    )
    .await;
    for_each(&remotes, &nodes, &db, Step::Start, &mut problems, &mut note).await;
    // A store that never started will not start now either: do not wait as long for it.
    let patience = Duration::from_secs(if setup_ok { 30 } else { 5 });
    let ready = await_ready(&remotes, &db, patience, &mut problems, &mut note).await;
    let healed_at = recorder.now();
    let final_report = if ready {
        let phase = FinalPhase {
            nodes: nodes.clone(),
            bound: plan.final_read_bound,
            op_timeout: plan.op_timeout,
            pause: Duration::from_millis(500),
            support: support.clone(),
        };
        match run::final_phase(
            &phase,
            workload.clone(),
            clients.clone(),
            recorder.clone(),
            healed_at,
        )
        .await
        {
            Ok(r) => Some(r),
            Err(e) => {
                note(&mut problems, format!("final reads: {e}"));
                None
            }
        }
    } else {
        None
    };
    if let Some(r) = &final_report {
        log.line(format!(
            "final reads: {} rounds, agreed {:?}, convergence {:?} ns",
            r.rounds, r.agreed, r.convergence_ns
        ));
    }

    // Teardown.
    for (remote, node) in remotes.iter().zip(&nodes) {
        // A node's logs that cannot be kept are a problem of the run, never a reason to skip
        // teardown, healing or checking what was recorded.
        let dir = match run_dir.node_dir(&node.name) {
            Ok(dir) => dir,
            Err(e) => {
                note(
                    &mut problems,
                    format!("logs of {} not downloaded: {e}", node.name),
                );
                continue;
            }
        };
        for file in db.log_files(node) {
            let name = std::path::Path::new(&file)
                .file_name()
                .map_or_else(|| "log".into(), |n| n.to_string_lossy().into_owned());
            if let Err(e) = control::Remote::download(remote.as_ref(), &file, &dir.join(name)).await
            {
                note(&mut problems, format!("downloading {file}: {e}"));
            }
        }
    }
    if !plan.leave_db_running {
        for_each(
            &remotes,
            &nodes,
            &db,
            Step::Teardown,
            &mut problems,
            &mut note,
        )
        .await;
    }
    for r in &remotes {
        r.close().await;
    }
    let ops = Arc::try_unwrap(recorder)
        .map_err(|_| anyhow::anyhow!("a worker outlived the run"))?
        .close()?;
    log.line(format!("history: {ops} ops"));

    let info = workloads::find(&plan.workload).context("workload vanished")?;
    let run_info = json!({
        "final_phase": final_report,
        "problems": problems,
        "interrupted": interrupted.load(Ordering::SeqCst) > 0,
        "concurrency": concurrency,
        "seed": plan.seed,
    });
    let claim = crate::check::Claim {
        models: plan.consistency_models.clone(),
        source: plan.claim_source.clone(),
        linear: plan.linear_budget,
    };
    let results = crate::check::judge_run(run_dir, info, run_info, &claim)?;
    if let Some(r) = &final_report {
        match (r.agreed, r.convergence_ns) {
            (Some(true), Some(ns)) => crate::say!(
                "final reads: every replica agreed {:.0} ms after the heal",
                ns as f64 / 1e6
            ),
            (Some(false), _) => crate::say!(
                "final reads: replicas still disagreed after {:?}: {}",
                plan.final_read_bound,
                r.disagreements.join("; ")
            ),
            _ => {}
        }
    }
    if !problems.is_empty() {
        eprintln!(
            "rift: {} problem(s) during the run (see results.json): {}",
            problems.len(),
            problems.join("; ")
        );
    }
    Ok(Exit::from(results.valid))
}

#[derive(Clone, Copy)]
enum Step {
    Setup,
    Start,
    Resume,
    Teardown,
}

/// Where the clock library and offset file go on a node, whatever the store.
fn clock_dir(workdir: &str) -> String {
    format!("{workdir}/rift-clock")
}

/// What makes any store's processes preload the clock library and read their node's offset.
fn clock_env() -> ProcessEnv {
    let dir = clock_dir("{workdir}");
    ProcessEnv {
        vars: vec![
            (
                "LD_PRELOAD".into(),
                format!("{dir}/{}", nemeses::clock::LIBRARY_NAME),
            ),
            (
                nemeses::clock::OFFSET_ENV.into(),
                format!("{dir}/clock-offset"),
            ),
        ],
    }
}

/// Puts the clock library and an offset file (0) in each node's `rift-clock` directory, and
/// [`clock_env`] makes any store's processes preload it: the clock nemesis then skews each
/// store process by rewriting its node's file.
async fn install_clock(
    remotes: &[Arc<SshNode>],
    nodes: &[control::Node],
    faults: &nemeses::faults::Faults,
) -> Result<Vec<String>> {
    // The library is written here only to be uploaded; the directory goes when this returns.
    let scratch = RemovedOnDrop(std::env::temp_dir().join(format!("rift-{}", std::process::id())));
    let library = nemeses::clock::install_library(&scratch.0)
        .map_err(|e| usage(format!("--nemesis clock: {e}")))?;
    let mut files = Vec::new();
    for (remote, node) in remotes.iter().zip(nodes) {
        let dir = clock_dir(&node.workdir);
        control::Remote::upload(
            remote.as_ref(),
            &library,
            &format!("{dir}/{}", nemeses::clock::LIBRARY_NAME),
        )
        .await?;
        let file = format!("{dir}/clock-offset");
        faults.set_clock(&node.name, &file, 0).await?;
        files.push(file);
    }
    Ok(files)
}

/// `system` clock strategy: puts the clock helper on every node, after making sure no node
/// shares this machine's kernel (moving its clock would move ours, and every local node's).
async fn install_system_clock(
    remotes: &[Arc<SshNode>],
    nodes: &[control::Node],
    faults: &nemeses::faults::Faults,
) -> Result<Vec<String>> {
    for node in nodes {
        if faults.shares_kernel(&node.name).await? {
            return Err(usage(format!(
                "--clock-strategy system: {} shares this machine's kernel, so its clock is this machine's; \
                 use --clock-strategy process",
                node.name
            )));
        }
    }
    let scratch = RemovedOnDrop(std::env::temp_dir().join(format!(
        "rift-{}-{}",
        std::process::id(),
        nemeses::clock::SYSTEM_HELPER_NAME
    )));
    let local = &scratch.0;
    std::fs::write(local, nemeses::clock::SYSTEM_HELPER)?;
    let mut helpers = Vec::new();
    for (remote, node) in remotes.iter().zip(nodes) {
        let path = format!("{}/{}", node.workdir, nemeses::clock::SYSTEM_HELPER_NAME);
        control::Remote::upload(remote.as_ref(), local, &path).await?;
        control::Remote::run(
            remote.as_ref(),
            &control::Cmd::new("chmod").args(["+x", &path]),
        )
        .await?;
        helpers.push(path);
    }
    Ok(helpers)
}

/// A scratch file or directory of this process, removed when dropped (on errors too).
struct RemovedOnDrop(std::path::PathBuf);

impl Drop for RemovedOnDrop {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0).or_else(|_| std::fs::remove_file(&self.0));
    }
}

async fn for_each(
    remotes: &[Arc<SshNode>],
    nodes: &[control::Node],
    db: &Arc<dyn Db>,
    step: Step,
    problems: &mut Vec<String>,
    note: &mut impl FnMut(&mut Vec<String>, String),
) -> bool {
    let results = control::on_each(remotes, |r| {
        let (db, nodes) = (db.clone(), nodes.to_vec());
        async move {
            match step {
                Step::Setup => db.setup(r.as_ref(), &nodes).await,
                Step::Start => db.start(r.as_ref(), &nodes).await,
                Step::Resume => db.resume(r.as_ref()).await,
                Step::Teardown => db.teardown(r.as_ref()).await,
            }
        }
    })
    .await;
    let mut ok = true;
    for (_, r) in results {
        if let Err(e) = r {
            ok = false;
            note(problems, e.to_string());
        }
    }
    ok
}

async fn await_ready(
    remotes: &[Arc<SshNode>],
    db: &Arc<dyn Db>,
    limit: Duration,
    problems: &mut Vec<String>,
    note: &mut impl FnMut(&mut Vec<String>, String),
) -> bool {
    let start = Instant::now();
    let mut waiting: Vec<&Arc<SshNode>> = remotes.iter().collect();
    let mut all_ready = true;
    while !waiting.is_empty() {
        let mut still = Vec::new();
        for r in waiting {
            match db.ready(r.as_ref()).await {
                Ok(true) => {}
                Ok(false) => still.push(r),
                Err(e) => {
                    // It exited: waiting longer will not help.
                    all_ready = false;
                    note(problems, format!("{} not ready: {e}", db.name()));
                }
            }
        }
        waiting = still;
        if !waiting.is_empty() {
            if start.elapsed() > limit {
                for r in waiting {
                    let name = &control::Remote::node(r.as_ref()).name;
                    note(
                        problems,
                        format!("{name}: {} not ready within {limit:?}", db.name()),
                    );
                }
                return false;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    all_ready
}

/// A progress bar on stderr: elapsed time against the limit, ops/s, ok/fail/info, the faults in
/// force and their nodes. Hidden when stderr is not a terminal, or in CI.
fn progress(
    recorder: Arc<Recorder>,
    limit: Duration,
    stop: Arc<AtomicBool>,
) -> Option<tokio::task::JoinHandle<()>> {
    if !std::io::stderr().is_terminal() || std::env::var("CI").is_ok_and(|v| v == "true") {
        return None;
    }
    let bar = indicatif::ProgressBar::new(limit.as_secs().max(1));
    bar.set_style(
        indicatif::ProgressStyle::with_template(
            "{elapsed_precise} [{bar:30}] {pos}/{len} s  {msg}",
        )
        .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar())
        .progress_chars("=> "),
    );
    Some(tokio::spawn(async move {
        let start = Instant::now();
        while !stop.load(Ordering::SeqCst) {
            let secs = start.elapsed().as_secs_f64().max(0.001);
            let done = recorder.ok.load(Ordering::Relaxed)
                + recorder.fail.load(Ordering::Relaxed)
                + recorder.info.load(Ordering::Relaxed);
            bar.set_position(start.elapsed().as_secs().min(limit.as_secs()));
            bar.set_message(format!(
                "{:.0} ops/s  ok {}  fail {}  info {}  fault: {}",
                done as f64 / secs,
                recorder.ok.load(Ordering::Relaxed),
                recorder.fail.load(Ordering::Relaxed),
                recorder.info.load(Ordering::Relaxed),
                recorder.faults_in_force()
            ));
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        bar.finish_and_clear();
    }))
}
