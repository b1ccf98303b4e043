use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

/// A fault-injection test harness for replicated data stores.
///
/// Exit codes: 0 valid, 1 invalid, 2 unknown, 254 bad arguments or input, 255 rift failed.
#[derive(Debug, Parser)]
#[command(name = "rift", version, about, propagate_version = true)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a stored run or a history file (JSON Lines or Jepsen EDN).
    Check(CheckArgs),
    /// Convert a history between JSON Lines and Jepsen EDN (by the files' extensions).
    Convert(ConvertArgs),
    /// Run a workload against a store under faults [not built yet].
    Test(Planned),
    /// Build, inspect or remove a local cluster of network namespaces [not built yet].
    Cluster(Planned),
    /// Run a command on every node [not built yet].
    Exec(Planned),
    /// Undo every fault rift injected, after a crash [not built yet].
    Heal(Planned),
    /// Run the demo scenarios on a local cluster [not built yet].
    Demo(Planned),
    /// Serve a web UI over the results directory [not built yet].
    Serve(Planned),
    /// Re-render a run's reports [not built yet].
    Report(Planned),
}

impl Command {
    /// The name of a planned command that is not built yet.
    pub fn not_built(&self) -> Option<&'static str> {
        Some(match self {
            Command::Test(_) => "test",
            Command::Cluster(_) => "cluster",
            Command::Exec(_) => "exec",
            Command::Heal(_) => "heal",
            Command::Demo(_) => "demo",
            Command::Serve(_) => "serve",
            Command::Report(_) => "report",
            Command::Check(_) | Command::Convert(_) => return None,
        })
    }
}

/// Whatever a planned command is given, until it is built.
#[derive(Debug, Args)]
pub struct Planned {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    pub rest: Vec<String>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// A run directory (holding history.jsonl), or a history file: .jsonl or .edn.
    pub input: PathBuf,
    /// The workload that produced the history; it chooses the checkers. For a run directory,
    /// defaults to the workload in its test.json.
    #[arg(long, short = 'w')]
    pub workload: Option<String>,
    /// Where run directories are made when checking a loose history file.
    #[arg(long, default_value = "results")]
    pub results_dir: PathBuf,
    /// The test name for a new run directory (default: check-<file name>).
    #[arg(long)]
    pub test_name: Option<String>,
}

#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// The history to read (.jsonl or .edn).
    pub input: PathBuf,
    /// The history to write (.jsonl or .edn).
    pub output: PathBuf,
}
