//! `rift check`: judge a stored run or a history file.
//!
//! The history is read once, as a stream, on a thread of its own: each op is validated (it must
//! pair with its process's open op), shown to every checker, gathered for the report, and — for
//! a loose file — copied into a new run directory as JSON Lines (a JSON Lines file byte for
//! byte), so that the run directory always holds what was judged. The report reads the history
//! again only for the few ops around the anomalies it draws.

use crate::cli::CheckArgs;
use crate::exit::{Exit, usage};
use anyhow::{Context, Result};
use checkers::Checker;
use history::{Format, JsonlReader, Op};
use results::{HistorySummary, ResultsFile, RunDir, RunLog, render_terminal};
use serde_json::json;
use std::path::{Path, PathBuf};

/// Where the history comes from and where the results go.
struct Target {
    run: RunDir,
    history: PathBuf,
    format: Format,
    /// A loose file is copied into the run directory; a run directory is checked in place.
    copy: bool,
}

pub fn run(args: CheckArgs) -> Result<Exit> {
    let target = resolve(&args)?;
    let workload_name = match &args.workload {
        Some(w) => w.clone(),
        None => workload_of(&target.run)?,
    };
    let workload = workloads::find(&workload_name).ok_or_else(|| {
        usage(format!(
            "unknown workload {workload_name:?}; rift knows {}",
            workloads::names().join(", ")
        ))
    })?;
    let mut claim = claim_of(&args.consistency_models, &target.run, workload)?;
    claim.linear = crate::plan::linear_budget(
        args.budget.linear_time_budget,
        args.budget.linear_memory_budget,
    )
    .map_err(|(field, m)| usage(format!("--{}: {m}", field.replace('_', "-"))))?;
    let checkers = if args.checkers.is_empty() {
        checkers_of(workload, &claim)?
    } else {
        only_checkers(&args.checkers, &claim)?
    };
    let names: Vec<&str> = checkers.iter().map(|c| c.name()).collect();

    let log = RunLog::open(&target.run)?;
    log.line(format!(
        "check {} as workload {} with checkers {}, claiming {} ({})",
        target.history.display(),
        workload.name,
        names.join(", "),
        claim.models.join(", "),
        claim.source
    ));
    if target.copy {
        target.run.write_json(
            "test.json",
            &json!({
                "command": "check",
                "name": target.run.test_name(),
                "workload": workload.name,
                "source": absolute(&target.history),
                "source-format": format!("{:?}", target.format).to_lowercase(),
                "consistency_models": claim.models,
                "claim_source": claim.source,
            }),
        )?;
    }

    let results = judge(&target, checkers, &claim, &log, None)?;
    Ok(Exit::from(results.valid))
}

/// The consistency models a history is judged against, and where that claim came from; and
/// what the linearizable checker may spend on each key.
#[derive(Debug, Clone)]
pub struct Claim {
    pub models: Vec<String>,
    pub source: String,
    pub linear: checkers::linear::Budget,
}

/// The flags' claim; else the one a stored run recorded; else the workload's default.
fn claim_of(flags: &[String], run: &RunDir, workload: &workloads::WorkloadInfo) -> Result<Claim> {
    if !flags.is_empty() {
        options_of(flags)?;
        return Ok(Claim {
            models: flags.to_vec(),
            source: "--consistency-models".into(),
            linear: Default::default(),
        });
    }
    let recorded = std::fs::read_to_string(run.test_json())
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|plan| {
            let models: Vec<String> = plan
                .get("consistency_models")?
                .as_array()?
                .iter()
                .filter_map(|m| m.as_str().map(str::to_owned))
                .collect();
            let source = plan.get("claim_source").and_then(|s| s.as_str());
            Some((models, source.unwrap_or("unknown").to_owned()))
        });
    if let Some((models, source)) = recorded.filter(|(m, _)| !m.is_empty()) {
        options_of(&models).map_err(|e| usage(format!("{}: {e}", run.test_json().display())))?;
        return Ok(Claim {
            models,
            source: format!("the run's test.json ({source})"),
            linear: Default::default(),
        });
    }
    Ok(Claim {
        models: crate::plan::default_claim(workload.name),
        source: format!("the {} workload's default", workload.name),
        linear: Default::default(),
    })
}

/// The checkers' options from the command line; unknown models are bad arguments.
pub fn options_of(models: &[String]) -> Result<checkers::Options> {
    for m in models {
        if !checkers::elle::models::known(m) {
            let all: Vec<&str> = checkers::elle::models::MODELS.iter().map(|m| m.0).collect();
            return Err(usage(format!(
                "--consistency-models: unknown model {m:?}; rift knows {}",
                all.join(", ")
            )));
        }
    }
    Ok(checkers::Options {
        consistency_models: models.to_vec(),
        ..Default::default()
    })
}

/// Judges a run directory's own history (after `rift test`), adding what the run saw.
pub fn judge_run(
    run: RunDir,
    workload: &workloads::WorkloadInfo,
    run_info: serde_json::Value,
    claim: &Claim,
) -> Result<ResultsFile> {
    let checkers = checkers_of(workload, claim)?;
    let log = RunLog::open(&run)?;
    let history = run.history();
    let target = Target {
        run,
        history,
        format: Format::Jsonl,
        copy: false,
    };
    judge(&target, checkers, claim, &log, Some(run_info))
}

fn checker_options(claim: &Claim) -> checkers::Options {
    checkers::Options {
        consistency_models: claim.models.clone(),
        linear: checkers::linear::Settings {
            budget: claim.linear,
            ..Default::default()
        },
    }
}

/// The checkers `--checkers` names, each known.
fn only_checkers(names: &[String], claim: &Claim) -> Result<Vec<Box<dyn Checker>>> {
    let options = checker_options(claim);
    names
        .iter()
        .map(|name| {
            checkers::by_name_with(name, &options).ok_or_else(|| {
                usage(format!(
                    "--checkers: no checker named {name:?}; rift has {}",
                    checkers::NAMES.join(", ")
                ))
            })
        })
        .collect()
}

fn checkers_of(workload: &workloads::WorkloadInfo, claim: &Claim) -> Result<Vec<Box<dyn Checker>>> {
    let options = &checker_options(claim);
    let mut names: Vec<&str> = workload.checkers.to_vec();
    if workload.name == "list-append" && needs_commit_order(&claim.models) {
        names.push("commit-order");
    }
    names
        .iter()
        .map(|name| {
            checkers::by_name_with(name, options).context(format!("no checker named {name}"))
        })
        .collect()
}

/// List-append histories get `commit-order` too when the claim is one of its levels (read
/// atomic, causal, strong-session read committed) and no stronger one Elle's analysis decides:
/// Elle's cycles (G-single, say) are allowed there, but some of them are fractured reads or
/// causality violations, which only `commit-order` tells apart.
fn needs_commit_order(models: &[String]) -> bool {
    let level = models
        .iter()
        .any(|m| checkers::models::implies(m, "strong-session-read-committed"));
    let elle_decides = models.iter().any(|m| {
        checkers::models::implies(m, "snapshot-isolation")
            || checkers::models::implies(m, "repeatable-read")
    });
    level && !elle_decides
}

/// Streams the history through the checkers, writes results.json, prints the tables.
fn judge(
    target: &Target,
    checkers: Vec<Box<dyn Checker>>,
    claim: &Claim,
    log: &RunLog,
    run_info: Option<serde_json::Value>,
) -> Result<ResultsFile> {
    let (verdict, ops, warnings, gathered) = match stream(target, checkers, &claim.models) {
        Ok(done) => done,
        Err(e) => {
            log.line(format!("check failed: {e:#}"));
            return Err(e);
        }
    };
    for w in &warnings {
        eprintln!("rift: warning: {w}");
        log.line(format!("warning: {w}"));
    }
    let history_path = if target.copy || target.history == target.run.history() {
        results::run_dir_files::HISTORY.to_owned()
    } else {
        target.history.display().to_string()
    };
    let mut results = ResultsFile::new(
        target.run.test_name(),
        HistorySummary {
            path: history_path,
            ops,
            warnings,
        },
        verdict,
    );
    results.run = run_info;
    results.claimed_models = claim.models.clone();
    results.claim_source = claim.source.clone();
    target.run.write_json("results.json", &results)?;
    log.line(format!("checked {ops} ops: valid {}", results.valid));
    crate::say_raw!("{}", render_terminal(&results));
    // The reports people read; a failure here loses nothing (results.json is written).
    match results::report::write_reports_with(target.run.path(), Some(gathered)) {
        Ok(r) => log.line(format!("reports written ({} bytes of HTML)", r.html_bytes)),
        Err(e) => {
            eprintln!("rift: warning: reports not written: {e}");
            log.line(format!("warning: reports not written: {e}"));
        }
    }
    crate::say!(
        "report: {}",
        target.run.path().join("report.html").display()
    );
    crate::say!("run directory: {}", target.run.path().display());
    Ok(results)
}

fn resolve(args: &CheckArgs) -> Result<Target> {
    let input = &args.input;
    let meta = std::fs::metadata(input).map_err(|e| usage(format!("{}: {e}", input.display())))?;
    if meta.is_dir() {
        let run = RunDir::open(input).map_err(|e| usage(e.to_string()))?;
        let history = run.history();
        if !history.is_file() {
            return Err(usage(format!(
                "{}: no history.jsonl here; give a run directory or a history file",
                input.display()
            )));
        }
        return Ok(Target {
            run,
            history,
            format: Format::Jsonl,
            copy: false,
        });
    }
    let format = Format::of_file(input).ok_or_else(|| {
        usage(format!(
            "{}: cannot tell the history format from the extension (use .jsonl, .json, .edn, or .log for a Jepsen text log)",
            input.display()
        ))
    })?;
    let name = match &args.test_name {
        Some(n) => n.clone(),
        None => default_test_name(input),
    };
    results::validate_test_name(&name).map_err(|e| usage(e.to_string()))?;
    let run = RunDir::create(&args.results_dir, &name, chrono::Local::now())?;
    Ok(Target {
        run,
        history: input.clone(),
        format,
        copy: true,
    })
}

fn default_test_name(input: &Path) -> String {
    let stem = input
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("history");
    let clean: String = stem
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '-'
            }
        })
        .collect();
    format!("check-{}", clean.trim_start_matches('.'))
}

/// The workload a stored run was made with, from its test.json.
fn workload_of(run: &RunDir) -> Result<String> {
    let missing = || {
        usage(format!(
            "--workload is required: {} names none (rift knows {})",
            run.test_json().display(),
            workloads::names().join(", ")
        ))
    };
    let text = std::fs::read_to_string(run.test_json()).map_err(|_| missing())?;
    let plan: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| usage(format!("{}: {e}", run.test_json().display())))?;
    plan.get("workload")
        .and_then(|w| w.as_str())
        .map(str::to_owned)
        .ok_or_else(missing)
}

fn absolute(path: &Path) -> String {
    std::fs::canonicalize(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string()
}

/// Ops read ahead of the checkers, in batches: the reader thread parses while the checkers
/// judge (and, for a history that is not JSON Lines, while a third thread writes the copy), and
/// at most `BATCHES` batches of `BATCH` ops wait between them.
const BATCH: usize = 2048;
const BATCHES: usize = 4;

/// What the reader thread sends: ops with the line each is on (when the format keeps it),
/// shared by the checking side and the copying side.
type Batch = std::sync::Arc<Vec<(Shared, Option<u64>)>>;

/// An op as the threads share it: a checker's feed keeps an open invocation by its reference
/// rather than by a copy of its value.
type Shared = std::sync::Arc<Op>;

/// Where the reader thread sends its batches.
struct Outlets {
    check: std::sync::mpsc::SyncSender<Result<Batch>>,
    /// The threads of checkers of their own (each pairs the history itself).
    others: Vec<std::sync::mpsc::SyncSender<Batch>>,
    copy: Option<std::sync::mpsc::SyncSender<Batch>>,
    /// Batches sent, oldest first, until every receiver is done with them: the reader, which
    /// allocated their ops, frees them (freeing on the thread that allocated is the cheap
    /// way, and it was a fifth of the slowest checker's thread).
    sent: std::cell::RefCell<std::collections::VecDeque<Batch>>,
}

impl Outlets {
    /// Sends a batch (once full, or the last); false once the checking side has hung up.
    fn send(&self, batch: &mut Vec<(Shared, Option<u64>)>, last: bool) -> bool {
        if batch.len() < BATCH && !last {
            return true;
        }
        let full = std::sync::Arc::new(std::mem::replace(batch, Vec::with_capacity(BATCH)));
        let mut sent = self.sent.borrow_mut();
        while sent
            .front()
            .is_some_and(|b| std::sync::Arc::strong_count(b) == 1)
        {
            sent.pop_front();
        }
        sent.push_back(full.clone());
        for out in self.copy.iter().chain(&self.others) {
            if out.send(full.clone()).is_err() {
                return false;
            }
        }
        self.check.send(Ok(full)).is_ok()
    }
}

/// Checkers worth a thread of their own: each keeps state that grows with the history and
/// spends about as long on it as all the others together.
const OWN_THREAD: &[&str] = &["session", "set", "list-append", "commit-order"];

/// Checkers with their places in the workload's order.
type Placed = Vec<(usize, Box<dyn Checker>)>;

/// Splits the checkers into those the main thread runs and those that get a thread of their
/// own.
fn place(checkers: Vec<Box<dyn Checker>>) -> (Placed, Vec<Placed>) {
    let mut main = Vec::new();
    let mut own = Vec::new();
    let many = checkers.len() > 1;
    for (i, c) in checkers.into_iter().enumerate() {
        if many && OWN_THREAD.contains(&c.name()) {
            own.push(vec![(i, c)]);
        } else {
            main.push((i, c));
        }
    }
    if main.is_empty() {
        main = own.pop().unwrap_or_default();
    }
    (main, own)
}

/// Runs checkers over the batches on a thread of their own; their results, with their places.
fn check_apart(
    checkers: Placed,
    batches: std::sync::mpsc::Receiver<Batch>,
) -> Vec<(usize, checkers::CheckResult)> {
    let (places, checkers): (Vec<usize>, Vec<_>) = checkers.into_iter().unzip();
    let mut feed = checkers::Feed::new(checkers);
    for batch in batches {
        for (op, _) in batch.iter() {
            // The main thread pairs the same ops and reports what does not pair.
            if feed.push_shared(op).is_err() {
                return Vec::new();
            }
        }
    }
    places.into_iter().zip(feed.results()).collect()
}

/// Reads the history on a thread of its own, sending batches of ops; returns the reader's
/// warnings. It stops early, quietly, when the receiving side is gone (the check failed).
fn read_ahead(path: &Path, format: Format, out: &Outlets) -> Result<Vec<String>> {
    let bad = |e: history::HistoryError| usage(e.to_string());
    match format {
        Format::Jsonl if history::jsonl::is_array(path).map_err(bad)? => {
            let loaded = history::jsonl::load_array(path).map_err(bad)?;
            pump(out, loaded.ops.into_iter().map(|op| Ok((op, None))))?;
            Ok(loaded.warnings)
        }
        Format::Jsonl => {
            let mut reader = JsonlReader::open(path).map_err(bad)?;
            let ops = std::iter::from_fn(|| {
                let op = reader.next()?;
                Some(op.map(|op| (op, Some(reader.line()))).map_err(bad))
            });
            pump(out, ops)?;
            Ok(reader.warnings())
        }
        // One form at a time: a history of an op per line streams.
        Format::Edn => {
            let reader = history::edn::EdnReader::open(path).map_err(bad)?;
            pump(out, reader.map(|op| op.map(|op| (op, None)).map_err(bad)))?;
            Ok(Vec::new())
        }
        Format::Plume => {
            let reader = history::plume::PlumeReader::open(path).map_err(bad)?;
            pump(out, reader.map(|op| op.map(|op| (op, None)).map_err(bad)))?;
            Ok(Vec::new())
        }
        Format::Text => {
            let loaded = history::load(path).map_err(bad)?;
            pump(out, loaded.ops.into_iter().map(|op| Ok((op, None))))?;
            Ok(loaded.warnings)
        }
    }
}

/// Sends ops in batches until they end, the first error, or the checking side hangs up.
fn pump(out: &Outlets, ops: impl Iterator<Item = Result<(Op, Option<u64>)>>) -> Result<()> {
    let mut batch = Vec::with_capacity(BATCH);
    for op in ops {
        match op {
            Ok((op, line)) => batch.push((std::sync::Arc::new(op), line)),
            Err(e) => {
                // The ops before the mistake still reach the checkers and the copy first.
                out.send(&mut batch, true);
                return Err(e);
            }
        }
        if !out.send(&mut batch, false) {
            return Ok(());
        }
    }
    out.send(&mut batch, true);
    Ok(())
}

/// Writes the copy of a history as JSON Lines, batch by batch.
fn write_copy(to: &Path, batches: std::sync::mpsc::Receiver<Batch>) -> Result<()> {
    let file = std::fs::File::create(to).with_context(|| format!("creating {}", to.display()))?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    let written = (|| -> std::io::Result<()> {
        for batch in batches {
            for (op, _) in batch.iter() {
                history::jsonl::write_op(&mut out, op)?;
            }
        }
        // Not synced, as the byte copy is not: the history it copies is still there.
        std::io::Write::flush(&mut out)
    })();
    written.with_context(|| format!("writing {}", to.display()))
}

/// Reads, validates, checks and (for a loose file) copies every op. Reading runs on a thread
/// of its own, ahead of the checkers; an error in either stops both.
fn stream(
    target: &Target,
    checkers: Vec<Box<dyn Checker>>,
    models: &[String],
) -> Result<(
    checkers::Verdict,
    u64,
    Vec<String>,
    results::report::scan::ScanBuilder,
)> {
    // A JSON Lines file is copied as it is, once it has been judged; any other is written as
    // JSON Lines op by op, on a thread of its own.
    let byte_copy = target.copy
        && target.format == Format::Jsonl
        && !history::jsonl::is_array(&target.history).map_err(|e| usage(e.to_string()))?;
    let (copy_tx, copier) = if target.copy && !byte_copy {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Batch>(BATCHES);
        let to = target.run.history();
        let copier = std::thread::Builder::new()
            .name("rift-copy".into())
            .spawn(move || write_copy(&to, rx))
            .context("starting the history copier")?;
        (Some(tx), Some(copier))
    } else {
        (None, None)
    };
    // Checkers of their own thread (the session checker) take the same batches.
    let (main_checkers, apart) = place(checkers);
    let mut others = Vec::new();
    let mut apart_threads = Vec::new();
    for group in apart {
        let (tx, rx) = std::sync::mpsc::sync_channel::<Batch>(BATCHES);
        others.push(tx);
        apart_threads.push(
            std::thread::Builder::new()
                .name("rift-checker".into())
                .spawn(move || check_apart(group, rx))
                .context("starting a checker's thread")?,
        );
    }
    // Pairs the history once, for every checker of this thread, and refuses what no real run
    // can produce.
    let (main_places, main_checkers): (Vec<usize>, Vec<_>) = main_checkers.into_iter().unzip();
    let mut feed = checkers::Feed::new(main_checkers);
    // What the report draws, gathered in the same pass.
    let mut report = results::report::scan::ScanBuilder::default();
    let mut count = 0u64;
    let (tx, rx) = std::sync::mpsc::sync_channel::<Result<Batch>>(BATCHES);
    let path = target.history.clone();
    let format = target.format;
    let reader = std::thread::Builder::new()
        .name("rift-read".into())
        .spawn(move || {
            let out = Outlets {
                check: tx,
                others,
                copy: copy_tx,
                sent: Default::default(),
            };
            match read_ahead(&path, format, &out) {
                Ok(warnings) => warnings,
                // After every op before it: the checking side reports it in the file's order.
                Err(e) => {
                    let _ = out.check.send(Err(e));
                    Vec::new()
                }
            }
        })
        .context("starting the history reader")?;
    let mut checked = || -> Result<()> {
        for batch in &rx {
            for (op, line) in batch?.iter() {
                feed.push_shared(op).map_err(|e| {
                    let at = line.map_or_else(String::new, |l| format!(":{l}"));
                    usage(format!("{}{at}: {e}", target.history.display()))
                })?;
                report.push(op);
                count += 1;
            }
        }
        Ok(())
    };
    let outcome = checked();
    // Hanging up stops the reader at its next batch.
    drop(rx);
    let read = reader
        .join()
        .map_err(|_| anyhow::anyhow!("the history reader panicked"))?;
    let copied = copier.map(|c| {
        c.join()
            .map_err(|_| anyhow::anyhow!("the history copier panicked"))
    });
    outcome?;
    if let Some(copied) = copied {
        copied??;
    }
    let warnings = read;
    if byte_copy {
        let to = target.run.history();
        // Not synced: the file it copies is still there, so a crash loses nothing that cannot
        // be copied again (syncing a gigabyte's copy took longer than checking it).
        std::fs::copy(&target.history, &to)
            .with_context(|| format!("copying {} to {}", target.history.display(), to.display()))?;
    }
    // The main thread's checkers finish while the others do; results in the workload's order.
    let mut placed: Vec<(usize, checkers::CheckResult)> =
        main_places.into_iter().zip(feed.results()).collect();
    for t in apart_threads {
        placed.extend(
            t.join()
                .map_err(|_| anyhow::anyhow!("a checker's thread panicked"))?,
        );
    }
    placed.sort_by_key(|(i, _)| *i);
    let verdict = checkers::Verdict::claimed(placed.into_iter().map(|(_, r)| r).collect(), models);
    Ok((verdict, count, warnings, report))
}
