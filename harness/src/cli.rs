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
    /// Run a workload against a store on a set of nodes, then check it and report.
    Test(Box<TestArgs>),
    /// Build, inspect or remove a local cluster: one network namespace and sshd per node.
    #[command(subcommand)]
    Cluster(ClusterCommand),
    /// Run a command on every node at once and show each node's result.
    Exec(ExecArgs),
    /// Undo every fault rift injected on these nodes (after a crash): rules, clocks, pauses.
    Heal(HealArgs),
    /// Run ecstore scenarios on the local cluster, each with the verdict it should earn: one
    /// correct configuration and four flawed ones (lost updates under clock skew, session
    /// guarantees broken, replicas that never converge, a request created twice).
    Demo(DemoArgs),
    /// Serve a web UI over the results directory: the runs, their reports and files.
    Serve(ServeArgs),
    /// Render a run's reports again (report.html, summary.md, junit.xml) from results.json and
    /// the history.
    Report(ReportArgs),
    /// Start something new from a skeleton that already works.
    #[command(subcommand)]
    New(NewCommand),
}

#[derive(Debug, Subcommand)]
pub enum NewCommand {
    /// A store file and a client in Node or Python, passing `rift test` against a stub store
    /// until you replace it with yours.
    Store {
        /// The store's name (lowercase letters, digits, dashes); also the folder made.
        name: String,
        /// The client's language.
        #[arg(long, value_enum, default_value = "python")]
        lang: NewLang,
        /// Where the folder is made.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
}

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum NewLang {
    Node,
    Python,
}

#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Seconds of workload per scenario.
    #[arg(long, default_value_t = 20.0)]
    pub time_limit: f64,
    /// Run only these scenarios (comma-separated): crdt-quorum, lww-clock-skew,
    /// random-replica-r1, no-anti-entropy, idempotency-r1.
    #[arg(long, value_delimiter = ',')]
    pub only: Option<Vec<String>>,
    /// Seed every scenario's generator and nemesis with this.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Where run directories go.
    #[arg(long, default_value = "results")]
    pub results_dir: PathBuf,
    /// Where the local cluster keeps its state (it is made when none is up).
    #[arg(long, default_value = control::cluster::DEFAULT_STATE_DIR)]
    pub cluster_state_dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The port to listen on (loopback only); 0 picks a free one.
    #[arg(long, default_value_t = 8080)]
    pub port: u16,
    /// The results directory to serve.
    #[arg(long, default_value = "results")]
    pub results_dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// A run directory (results/<test>/<stamp>, or a `latest` link).
    pub run_dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    /// A run directory (holding history.jsonl), or a history file: .jsonl or .edn.
    pub input: PathBuf,
    /// The workload that produced the history; it chooses the checkers. For a run directory,
    /// defaults to the workload in its test.json.
    #[arg(long, short = 'w')]
    pub workload: Option<String>,
    /// The consistency models the store claims, comma-separated: the history is invalid only
    /// for anomalies they forbid (every anomaly is still reported, marked allowed or
    /// forbidden). Single objects: eventual, read-your-writes, monotonic-reads,
    /// monotonic-writes, writes-follow-reads, pram, causal, sequential, linearizable;
    /// transactions: read-uncommitted, read-committed, strong-session-read-committed,
    /// read-atomic, causal, repeatable-read, snapshot-isolation, serializable,
    /// strict-serializable, ... Default: what a run's test.json recorded, else the
    /// workload's (eventual; strict-serializable for list-append and rw-register).
    #[arg(long, value_delimiter = ',')]
    pub consistency_models: Vec<String>,
    /// Only these checkers, comma-separated, instead of the workload's (say
    /// `--checkers commit-order` to judge isolation levels alone).
    #[arg(long, value_delimiter = ',')]
    pub checkers: Vec<String>,
    #[command(flatten)]
    pub budget: LinearBudgetArgs,
    /// Where run directories are made when checking a loose history file.
    #[arg(long, default_value = "results")]
    pub results_dir: PathBuf,
    /// The test name for a new run directory (default: check-<file name>).
    #[arg(long)]
    pub test_name: Option<String>,
}

/// What the `linearizable` checker may spend on each key; a key out of budget is `unknown`.
#[derive(Debug, Clone, Args)]
pub struct LinearBudgetArgs {
    /// Seconds the linearizable checker may search one key (default 60).
    #[arg(long, value_name = "SECONDS")]
    pub linear_time_budget: Option<f64>,
    /// MiB the linearizable checker may use for one key's search (default 1024; keys are
    /// searched on several threads at once).
    #[arg(long, value_name = "MIB")]
    pub linear_memory_budget: Option<u64>,
}

#[derive(Debug, Args)]
pub struct ConvertArgs {
    /// The history to read (.jsonl or .edn).
    pub input: PathBuf,
    /// The history to write (.jsonl or .edn).
    pub output: PathBuf,
}

#[derive(Debug, Subcommand)]
pub enum ClusterCommand {
    /// Make the cluster (as root): namespaces, a bridge, an sshd per node, a nodes file.
    Up {
        /// How many nodes.
        #[arg(long, default_value_t = 5)]
        nodes: usize,
        #[command(flatten)]
        place: ClusterPlace,
        /// Prefix of the namespaces and interfaces (1 to 8 lowercase letters or digits).
        #[arg(long, default_value = control::cluster::DEFAULT_NAME)]
        name: String,
        /// The cluster's IPv4 /24; the controller takes .1, node i takes .(10+i).
        #[arg(long, default_value = control::cluster::DEFAULT_SUBNET)]
        subnet: String,
    },
    /// Show each node and whether SSH answers.
    Status {
        #[command(flatten)]
        place: ClusterPlace,
    },
    /// Remove everything the cluster made: processes, namespaces, bridge, files. Safe to repeat.
    Down {
        #[command(flatten)]
        place: ClusterPlace,
    },
}

#[derive(Debug, Args)]
pub struct ClusterPlace {
    /// Where the cluster keeps its state (keys, configs, nodes file).
    #[arg(long, default_value = control::cluster::DEFAULT_STATE_DIR)]
    pub state_dir: PathBuf,
}

/// Which nodes, and how to reach them (as Jepsen's flags).
#[derive(Debug, Clone, Args)]
pub struct NodeArgs {
    /// Comma-separated hosts (host or host:port).
    #[arg(long, conflicts_with_all = ["nodes_file", "local"])]
    pub nodes: Option<String>,
    /// A nodes file (TOML; see docs/nodes.md).
    #[arg(long, conflicts_with = "local")]
    pub nodes_file: Option<PathBuf>,
    /// The local cluster (`rift cluster up`).
    #[arg(long)]
    pub local: bool,
    /// With --local: where the local cluster keeps its state.
    #[arg(long, default_value = control::cluster::DEFAULT_STATE_DIR)]
    pub cluster_state_dir: PathBuf,
    /// The SSH user (default root; a nodes file may say otherwise).
    #[arg(long)]
    pub username: Option<String>,
    /// The private key (default ~/.ssh/id_ed25519, id_ecdsa or id_rsa).
    #[arg(long)]
    pub ssh_private_key: Option<PathBuf>,
    /// The known_hosts file host keys are checked against (default ~/.ssh/known_hosts).
    #[arg(long)]
    pub known_hosts: Option<PathBuf>,
    /// Trust host keys seen for the first time (and record them); changed keys are still refused.
    #[arg(long)]
    pub accept_new_host_keys: bool,
}

#[derive(Debug, Args)]
pub struct ExecArgs {
    #[command(flatten)]
    pub nodes: NodeArgs,
    /// Run as root (through sudo when the SSH user is not root).
    #[arg(long)]
    pub sudo: bool,
    /// Seconds before a node's command is given up on.
    #[arg(long, default_value_t = 60)]
    pub timeout: u64,
    /// The command and its arguments, passed literally (no shell parses them).
    #[arg(last = true, required = true)]
    pub command: Vec<String>,
}

#[derive(Debug, Args)]
pub struct TestArgs {
    /// A TOML plan file; flags given here win over it.
    #[arg(long)]
    pub plan: Option<PathBuf>,
    /// The test's name (default: <db>-<workload>).
    #[arg(long)]
    pub name: Option<String>,
    /// The store (default ecstore): one of those listed below.
    #[arg(long)]
    pub db: Option<String>,
    /// A store file (TOML): a store and its client in any language, without Rust (see
    /// docs/stores.md). Its name becomes the store's.
    #[arg(long)]
    pub store: Option<PathBuf>,
    /// register, set, counter, list-append or idempotency (what each store runs is below).
    #[arg(long, short = 'w')]
    pub workload: Option<String>,
    /// Faults to inject, as start/stop pairs: none, or some of partition, loss, clock, kill,
    /// pause (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub nemesis: Option<Vec<String>>,
    /// Seconds between a fault's start and its stop, and between faults (default 10).
    #[arg(long)]
    pub nemesis_interval: Option<f64>,
    /// Which nodes a fault strikes: one, minority (default), majority, all, primaries. A
    /// partition aimed at one node or at the primaries cuts exactly those off from the rest;
    /// otherwise it takes a random topology (isolate-one, halves, majorities-ring, bridge).
    #[arg(long)]
    pub nemesis_targets: Option<String>,
    /// How clock faults are made: process (a preloaded library; the default, and the only one
    /// for nodes sharing a kernel) or system (sets a dedicated host's clock).
    #[arg(long)]
    pub clock_strategy: Option<String>,
    /// Workers: N, or Nn for N per node (default 2n).
    #[arg(long)]
    pub concurrency: Option<String>,
    /// Seconds of operations (default 60).
    #[arg(long)]
    pub time_limit: Option<f64>,
    /// Operations per second, in all (default 200).
    #[arg(long)]
    pub rate: Option<f64>,
    /// How many times to run the test (default 1).
    #[arg(long)]
    pub test_count: Option<u32>,
    /// Seed for every random choice (default: from the clock; recorded in test.json).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Seconds before an operation is given up on as indeterminate (default 5).
    #[arg(long)]
    pub op_timeout: Option<f64>,
    /// sticky (a process talks to one node) or roaming (each operation to a random node).
    #[arg(long, value_parser = ["sticky", "roaming"])]
    pub routing: Option<String>,
    /// Seconds the final reads wait for the replicas to agree (default 30).
    #[arg(long)]
    pub final_read_bound: Option<f64>,
    /// Leave the store running (and its data in place) after the test.
    #[arg(long)]
    pub leave_db_running: bool,
    /// The consistency models the store claims (see `rift check`); default: the store's own
    /// claim (etcd: linearizable), else the workload's (eventual; strict-serializable for
    /// transactions).
    #[arg(long, value_delimiter = ',')]
    pub consistency_models: Vec<String>,
    #[command(flatten)]
    pub budget: LinearBudgetArgs,
    /// A setting for the store, repeated for each: ecstore passes them to every node
    /// (--db-flag=--resolution --db-flag=lww-wall); redis takes down-after-ms=N; etcd takes
    /// serializable-reads.
    #[arg(long = "db-flag", allow_hyphen_values = true)]
    pub db_flags: Vec<String>,
    /// Where run directories go (default results).
    #[arg(long)]
    pub results_dir: Option<PathBuf>,
    /// With --local: nodes of the cluster made when none is up (default 5).
    #[arg(long)]
    pub local_nodes: Option<usize>,
    #[command(flatten)]
    pub nodes: NodeArgs,
}

#[derive(Debug, Args)]
pub struct HealArgs {
    #[command(flatten)]
    pub nodes: NodeArgs,
}
