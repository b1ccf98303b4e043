//! Where a run's record lives, and how people read it.
//!
//! Owns: the run directory (`results/<test>/<YYYYMMDDTHHMMSS.mmm>/` with `test.json`,
//! `history.jsonl`, `results.json`, `rift.log`, `nodes/<node>/`, and the `latest` links),
//! `results.json` itself, and rendering — terminal tables now; HTML with SVG plots, JUnit XML,
//! a Markdown summary and the `serve` web UI as they land.

pub mod report;
mod run_dir;
mod terminal;

/// The names of the files in a run directory.
pub mod run_dir_files {
    pub use crate::run_dir::{HISTORY, LATEST, LOG, NODES, RESULTS_JSON, TEST_JSON};
}

pub use run_dir::{RunDir, RunLog, validate_test_name};
pub use terminal::render_terminal;

use checkers::{CheckResult, Validity, Verdict};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum ResultsError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("test name {name:?}: {why}")]
    BadTestName { name: String, why: &'static str },
}

impl ResultsError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> ResultsError {
        ResultsError::Io {
            path: path.into(),
            source,
        }
    }
}

/// The contents of `results.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultsFile {
    pub valid: Validity,
    pub test_name: String,
    /// When the check ran (RFC 3339, local time).
    pub checked_at: String,
    pub history: HistorySummary,
    /// The consistency models the store claims: the verdict is relative to them (an anomaly
    /// they allow is reported, marked `allowed`, and invalidates nothing).
    #[serde(default)]
    pub claimed_models: Vec<String>,
    /// Where the claim came from: a flag, the plan, the store, or the workload's default.
    #[serde(default)]
    pub claim_source: String,
    /// Each checker's result, in the order the workload names them.
    pub results: Vec<CheckResult>,
    /// For `rift test`: what the run itself saw (the final phase, problems along the way).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistorySummary {
    /// The history checked, relative to the run directory when it is inside it.
    pub path: String,
    pub ops: u64,
    /// What reading it noticed that lost nothing (a cut-short last line, ...).
    pub warnings: Vec<String>,
}

/// Does the claim a result was judged against allow this anomaly kind?
pub fn allowed(result: &CheckResult, kind: &str) -> bool {
    result
        .figures
        .get("allowed-anomalies")
        .and_then(|a| a.get(kind))
        .is_some()
}

impl ResultsFile {
    pub fn new(test_name: &str, history: HistorySummary, verdict: Verdict) -> ResultsFile {
        ResultsFile {
            valid: verdict.valid,
            test_name: test_name.to_owned(),
            checked_at: chrono::Local::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, false),
            history,
            claimed_models: Vec::new(),
            claim_source: String::new(),
            results: verdict.results,
            run: None,
        }
    }
}
