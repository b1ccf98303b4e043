//! The test plan: what `rift test` will do, from flags and an optional TOML file (flags win),
//! checked before anything is touched. A [`TestPlan`] cannot be invalid: every error names the
//! field (and the file) it comes from.
//!
//! ```toml
//! name = "ecstore-set"
//! db = "ecstore"             # or store = "gun/store.toml" (a store file, relative to this file)
//! workload = "set"
//! nemesis = ["partition", "clock"]   # or ["none"]
//! nemesis_interval = 10       # seconds between a fault's start and stop
//! nemesis_targets = "minority" # one, minority, majority, all, primaries
//! clock_strategy = "process"  # or "system" (dedicated hosts only)
//! concurrency = "2n"          # N, or Nn = N per node
//! time_limit = 60             # seconds
//! rate = 200                  # operations per second, in all
//! test_count = 1
//! seed = 42
//! op_timeout = 5              # seconds
//! routing = "sticky"          # or "roaming"
//! final_read_bound = 30       # seconds
//! leave_db_running = false
//! db_flags = ["--resolution", "lww-wall"]
//! consistency_models = ["eventual", "read-your-writes"]  # what the store claims (default: the
//!                             # store's own claim, else the workload's: eventual, or
//!                             # strict-serializable for transactions)
//! linear_time_budget = 60     # seconds the linearizable checker may spend on one key
//! linear_memory_budget = 1024 # MiB it may use for one key
//! [nodes]
//! local = true                # or list = "a,b,c", or file = "nodes.toml"
//! local_nodes = 5
//! ```

use crate::run::Routing;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The store a plan that names none runs against: the demo store, built in.
pub const DEFAULT_DB: &str = "ecstore";

/// The faults `--nemesis` can schedule.
pub const NEMESES: &[&str] = &["partition", "loss", "clock", "kill", "pause"];

/// Which nodes a fault can strike.
pub const TARGETS: &[&str] = &["one", "minority", "majority", "all", "primaries"];

/// Every setting, optional: what a file or the flags say.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlanInputs {
    pub name: Option<String>,
    pub db: Option<String>,
    /// A store file, relative to the plan file.
    pub store: Option<PathBuf>,
    pub workload: Option<String>,
    pub nemesis: Option<Vec<String>>,
    pub nemesis_interval: Option<f64>,
    pub nemesis_targets: Option<String>,
    pub clock_strategy: Option<String>,
    pub concurrency: Option<String>,
    pub time_limit: Option<f64>,
    pub rate: Option<f64>,
    pub test_count: Option<u32>,
    pub seed: Option<u64>,
    pub op_timeout: Option<f64>,
    pub routing: Option<Routing>,
    pub final_read_bound: Option<f64>,
    pub leave_db_running: Option<bool>,
    pub db_flags: Option<Vec<String>>,
    pub consistency_models: Option<Vec<String>>,
    pub linear_time_budget: Option<f64>,
    pub linear_memory_budget: Option<u64>,
    pub results_dir: Option<PathBuf>,
    pub nodes: Option<NodesInput>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodesInput {
    pub list: Option<String>,
    pub file: Option<PathBuf>,
    pub local: Option<bool>,
    pub local_nodes: Option<usize>,
}

/// Where the nodes come from.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NodeSource {
    List(String),
    File(PathBuf),
    /// The local cluster, made with this many nodes if none is up.
    Local {
        nodes: usize,
    },
}

/// How many workers: a number, or a number per node.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Concurrency {
    Total(usize),
    PerNode(usize),
}

impl Concurrency {
    pub fn workers(self, nodes: usize) -> usize {
        match self {
            Concurrency::Total(n) => n,
            Concurrency::PerNode(n) => n * nodes,
        }
    }
}

/// A checked plan.
#[derive(Debug, Clone, Serialize)]
pub struct TestPlan {
    pub name: String,
    pub db: String,
    pub workload: String,
    pub nemesis: Vec<String>,
    pub nemesis_interval: Duration,
    /// Which nodes a fault strikes: one, minority, majority, all, or primaries.
    pub nemesis_targets: String,
    /// How clocks are skewed: `process` (preloaded library) or `system` (dedicated hosts).
    pub clock_strategy: String,
    pub nodes: NodeSource,
    pub concurrency: Concurrency,
    pub time_limit: Duration,
    pub rate: f64,
    pub test_count: u32,
    pub seed: u64,
    pub op_timeout: Duration,
    pub routing: Routing,
    pub final_read_bound: Duration,
    pub leave_db_running: bool,
    pub db_flags: Vec<String>,
    /// The consistency models the store is judged against, and where that claim came from.
    pub consistency_models: Vec<String>,
    pub claim_source: String,
    /// What the linearizable checker may spend on one key.
    #[serde(serialize_with = "budget_json")]
    pub linear_budget: checkers::linear::Budget,
    pub results_dir: PathBuf,
}

fn budget_json<S: serde::Serializer>(
    b: &checkers::linear::Budget,
    s: S,
) -> Result<S::Ok, S::Error> {
    serde_json::json!({
        "time_s": b.time.as_secs_f64(),
        "memory_mib": b.memory >> 20,
    })
    .serialize(s)
}

#[derive(Debug, thiserror::Error)]
#[error("{place}: {message}")]
pub struct PlanError {
    pub place: String,
    pub message: String,
}

/// Reads a plan file.
pub fn read_plan_file(path: &Path) -> Result<PlanInputs, PlanError> {
    let place = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| PlanError {
        place: place.clone(),
        message: e.to_string(),
    })?;
    toml::from_str(&text).map_err(|e| PlanError {
        place,
        message: e.to_string().trim_end().to_owned(),
    })
}

/// Flags over the file over the defaults; then every field is checked.
pub fn resolve(
    file: Option<(&Path, PlanInputs)>,
    flags: PlanInputs,
    registry: &stores::Registry,
) -> Result<TestPlan, PlanError> {
    let (origin, from_file) = match file {
        Some((path, inputs)) => (path.display().to_string(), inputs),
        None => (String::new(), PlanInputs::default()),
    };
    // Where a field's value came from, for errors.
    let place = |field: &str, from_flag: bool| {
        if from_flag || origin.is_empty() {
            format!("--{}", field.replace('_', "-"))
        } else {
            format!("{origin}: {field}")
        }
    };
    macro_rules! pick {
        ($f:ident) => {
            (
                flags.$f.is_some(),
                flags.$f.clone().or(from_file.$f.clone()),
            )
        };
    }
    let err = |place: String, message: String| PlanError { place, message };

    let (flag, workload) = pick!(workload);
    let workload = workload.ok_or_else(|| {
        err(
            "--workload".into(),
            format!("required: one of {}", workloads::names().join(", ")),
        )
    })?;
    if workloads::find(&workload).is_none() {
        return Err(err(
            place("workload", flag),
            format!(
                "unknown workload {workload:?}; rift knows {}",
                workloads::names().join(", ")
            ),
        ));
    }
    let (db_flag, db) = pick!(db);
    let db = db.unwrap_or_else(|| DEFAULT_DB.into());
    let (flag, nemesis) = pick!(nemesis);
    let nemesis = nemesis.unwrap_or_else(|| vec!["none".into()]);
    if let Some(n) = nemesis
        .iter()
        .find(|n| n.as_str() != "none" && !NEMESES.contains(&n.as_str()))
    {
        let known = NEMESES.join(", ");
        return Err(err(
            place("nemesis", flag),
            format!("unknown nemesis {n:?}: none, or some of {known}"),
        ));
    }
    let nemesis: Vec<String> = nemesis.into_iter().filter(|n| n != "none").collect();
    let (flag, targets) = pick!(nemesis_targets);
    let targets = targets.unwrap_or_else(|| "minority".into());
    if !TARGETS.contains(&targets.as_str()) {
        return Err(err(
            place("nemesis_targets", flag),
            format!("{targets:?} is not one of {}", TARGETS.join(", ")),
        ));
    }
    let (flag, strategy) = pick!(clock_strategy);
    let strategy = strategy.unwrap_or_else(|| "process".into());
    if strategy != "process" && strategy != "system" {
        return Err(err(
            place("clock_strategy", flag),
            format!("{strategy:?} is not process or system"),
        ));
    }
    let (flag, concurrency) = pick!(concurrency);
    let concurrency = parse_concurrency(&concurrency.unwrap_or_else(|| "2n".into()))
        .map_err(|m| err(place("concurrency", flag), m))?;
    let positive = |field: &str, flag: bool, v: f64| {
        if v.is_finite() && v > 0.0 {
            Ok(v)
        } else {
            Err(err(
                place(field, flag),
                format!("{v} must be a positive number"),
            ))
        }
    };
    let (flag, interval) = pick!(nemesis_interval);
    let interval = positive("nemesis_interval", flag, interval.unwrap_or(10.0))?;
    let (flag, time_limit) = pick!(time_limit);
    let time_limit = positive("time_limit", flag, time_limit.unwrap_or(60.0))?;
    let (flag, rate) = pick!(rate);
    let rate = positive("rate", flag, rate.unwrap_or(200.0))?;
    let (flag, op_timeout) = pick!(op_timeout);
    let op_timeout = positive("op_timeout", flag, op_timeout.unwrap_or(5.0))?;
    let (flag, bound) = pick!(final_read_bound);
    let bound = positive("final_read_bound", flag, bound.unwrap_or(30.0))?;
    let (flag, test_count) = pick!(test_count);
    let test_count = test_count.unwrap_or(1);
    if test_count == 0 {
        return Err(err(place("test_count", flag), "must be at least 1".into()));
    }
    // The store, its workload, targets and flags together: what the store cannot do is refused
    // here, before anything is touched.
    let (db_flags_flag, db_flags) = pick!(db_flags);
    let db_flags = db_flags.unwrap_or_default();
    if let Err(refusal) = registry.check(&db, &workload, targets == "primaries", &db_flags) {
        let from_flag = match refusal.field() {
            "db" => db_flag,
            "workload" => flags.workload.is_some(),
            "nemesis_targets" => flags.nemesis_targets.is_some(),
            _ => db_flags_flag,
        };
        let field = if refusal.field() == "db_flags" {
            "db_flag"
        } else {
            refusal.field()
        };
        return Err(err(place(field, from_flag), refusal.to_string()));
    }
    let (models_flag, models) = pick!(consistency_models);
    let (consistency_models, claim_source) = match models {
        Some(models) => {
            let at = place("consistency_models", models_flag);
            claim_of(&models).map_err(|m| err(at.clone(), m))?;
            (models, at)
        }
        None => match registry.claims(&db, &workload, &db_flags) {
            Some(models) => (models, format!("the {db} store's claim")),
            None => (
                default_claim(&workload),
                format!("the {workload} workload's default"),
            ),
        },
    };
    let (time_flag, time) = pick!(linear_time_budget);
    let (memory_flag, memory) = pick!(linear_memory_budget);
    let linear_budget = linear_budget(time, memory).map_err(|(field, m)| {
        let flag = if field == "linear_time_budget" {
            time_flag
        } else {
            memory_flag
        };
        err(place(field, flag), m)
    })?;
    let name = pick!(name).1.unwrap_or_else(|| format!("{db}-{workload}"));
    results::validate_test_name(&name)
        .map_err(|e| err(place("name", flags.name.is_some()), e.to_string()))?;

    let nodes_flag = flags.nodes.clone().unwrap_or_default();
    let nodes_file = from_file.nodes.clone().unwrap_or_default();
    let any_flag =
        nodes_flag.list.is_some() || nodes_flag.file.is_some() || nodes_flag.local == Some(true);
    let chosen = if any_flag { &nodes_flag } else { &nodes_file };
    let nodes = match (&chosen.list, &chosen.file, chosen.local.unwrap_or(false)) {
        (Some(list), None, false) => NodeSource::List(list.clone()),
        (None, Some(file), false) => NodeSource::File(file.clone()),
        (None, None, true) => {
            let n = nodes_flag
                .local_nodes
                .or(nodes_file.local_nodes)
                .unwrap_or(5);
            if !(1..=200).contains(&n) {
                return Err(err(
                    place("local_nodes", nodes_flag.local_nodes.is_some()),
                    format!("{n} must be from 1 to 200"),
                ));
            }
            NodeSource::Local { nodes: n }
        }
        (None, None, false) => {
            return Err(err(
                "nodes".into(),
                "say which nodes: --nodes a,b,c, --nodes-file FILE, or --local".into(),
            ));
        }
        _ => {
            return Err(err(
                place("nodes", any_flag),
                "give one of list, file and local".into(),
            ));
        }
    };
    let seed = pick!(seed).1.unwrap_or_else(|| {
        // Recorded in test.json, so a run can be repeated.
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64)
    });
    Ok(TestPlan {
        name,
        db,
        workload,
        nemesis,
        nemesis_interval: Duration::from_secs_f64(interval),
        nemesis_targets: targets,
        clock_strategy: strategy,
        nodes,
        concurrency,
        time_limit: Duration::from_secs_f64(time_limit),
        rate,
        test_count,
        seed,
        op_timeout: Duration::from_secs_f64(op_timeout),
        routing: pick!(routing).1.unwrap_or(Routing::Sticky),
        final_read_bound: Duration::from_secs_f64(bound),
        leave_db_running: pick!(leave_db_running).1.unwrap_or(false),
        db_flags,
        consistency_models,
        claim_source,
        linear_budget,
        results_dir: pick!(results_dir)
            .1
            .unwrap_or_else(|| PathBuf::from("results")),
    })
}

/// The linearizable checker's budget per key from seconds and MiB (each defaults); a bad value
/// names its field.
pub fn linear_budget(
    time_s: Option<f64>,
    memory_mib: Option<u64>,
) -> Result<checkers::linear::Budget, (&'static str, String)> {
    let default = checkers::linear::Budget::default();
    let time = match time_s {
        None => default.time,
        Some(t) if t.is_finite() && t > 0.0 && t < 1e9 => Duration::from_secs_f64(t),
        Some(t) => {
            return Err((
                "linear_time_budget",
                format!("{t} must be a positive number of seconds"),
            ));
        }
    };
    let memory = match memory_mib {
        None => default.memory,
        Some(m) if (1..=1 << 24).contains(&m) => (m as usize) << 20,
        Some(m) => {
            return Err((
                "linear_memory_budget",
                format!("{m} must be from 1 to 16777216 MiB"),
            ));
        }
    };
    Ok(checkers::linear::Budget { time, memory })
}

/// Checks claimed models by name: at least one, each one rift knows.
pub fn claim_of(models: &[String]) -> Result<(), String> {
    if models.is_empty() {
        return Err("name at least one model".into());
    }
    for m in models {
        if !checkers::models::known(m) {
            let all: Vec<&str> = checkers::models::MODELS.iter().map(|m| m.0).collect();
            return Err(format!(
                "unknown model {m:?}; rift knows {}",
                all.join(", ")
            ));
        }
    }
    Ok(())
}

/// What a workload's store is held to when nobody claims anything.
pub fn default_claim(workload: &str) -> Vec<String> {
    workloads::find(workload)
        .map(|w| w.claims.iter().map(|m| m.to_string()).collect())
        .unwrap_or_default()
}

fn parse_concurrency(s: &str) -> Result<Concurrency, String> {
    let bad = || format!("{s:?} is not N or Nn (N per node), with N at least 1");
    let (digits, per_node) = match s.strip_suffix('n') {
        Some(d) => (d, true),
        None => (s, false),
    };
    let n: usize = digits.parse().map_err(|_| bad())?;
    if n == 0 {
        return Err(bad());
    }
    Ok(if per_node {
        Concurrency::PerNode(n)
    } else {
        Concurrency::Total(n)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve_builtin(
        file: Option<(&Path, PlanInputs)>,
        flags: PlanInputs,
    ) -> Result<TestPlan, PlanError> {
        resolve(file, flags, &stores::Registry::builtin())
    }

    #[test]
    fn what_a_store_cannot_do_is_refused_with_its_field() {
        let mut f = flags("rw-register");
        let e = resolve_builtin(None, f.clone()).unwrap_err().to_string();
        assert!(
            e.starts_with("--workload: ecstore does not run the rw-register workload"),
            "{e}"
        );
        f.workload = Some("counter".into());
        f.db = Some("etcd".into());
        let e = resolve_builtin(None, f.clone()).unwrap_err().to_string();
        assert!(
            e.starts_with("--workload: etcd does not run the counter"),
            "{e}"
        );
        f.db = Some("ecstore".into());
        f.nemesis_targets = Some("primaries".into());
        let e = resolve_builtin(None, f.clone()).unwrap_err().to_string();
        assert!(
            e.starts_with("--nemesis-targets: ecstore has no primaries"),
            "{e}"
        );
        f.db = Some("redis".into());
        assert!(resolve_builtin(None, f.clone()).is_ok());
        f.db_flags = Some(vec!["fsync=always".into()]);
        let e = resolve_builtin(None, f.clone()).unwrap_err().to_string();
        assert!(
            e.starts_with("--db-flag: redis takes down-after-ms=N"),
            "{e}"
        );
        f.db = Some("cassandra".into());
        let e = resolve_builtin(None, f).unwrap_err().to_string();
        assert!(
            e.starts_with("--db: unknown store \"cassandra\"; rift knows ecstore, redis, etcd"),
            "{e}"
        );
        let file: PlanInputs =
            toml::from_str("workload = \"set\"\ndb = \"mongo\"\n[nodes]\nlocal = true\n").unwrap();
        let e = resolve_builtin(Some((Path::new("plan.toml"), file)), PlanInputs::default())
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("plan.toml: db: unknown store"), "{e}");
    }

    #[test]
    fn the_claim_comes_from_the_flag_the_file_the_store_or_the_workload() {
        let models = |v: &[&str]| Some(v.iter().map(|m| m.to_string()).collect::<Vec<_>>());
        let plan = resolve_builtin(None, flags("set")).unwrap();
        assert_eq!(plan.consistency_models, ["eventual"]);
        assert_eq!(plan.claim_source, "the set workload's default");
        let plan = resolve_builtin(None, flags("list-append")).unwrap();
        assert_eq!(plan.consistency_models, ["strict-serializable"]);
        // A store's own claim.
        let mut f = flags("set");
        f.db = Some("etcd".into());
        let plan = resolve_builtin(None, f.clone()).unwrap();
        assert_eq!(plan.consistency_models, ["linearizable"]);
        assert_eq!(plan.claim_source, "the etcd store's claim");
        // The plan file over the store, the flag over the file.
        let file: PlanInputs = toml::from_str("consistency_models = [\"sequential\"]\n").unwrap();
        let plan = resolve_builtin(Some((Path::new("p.toml"), file.clone())), f.clone()).unwrap();
        assert_eq!(plan.consistency_models, ["sequential"]);
        assert_eq!(plan.claim_source, "p.toml: consistency_models");
        f.consistency_models = models(&["eventual", "read-your-writes"]);
        let plan = resolve_builtin(Some((Path::new("p.toml"), file)), f.clone()).unwrap();
        assert_eq!(plan.consistency_models, ["eventual", "read-your-writes"]);
        assert_eq!(plan.claim_source, "--consistency-models");
        f.consistency_models = models(&["eventual", "acid"]);
        let e = resolve_builtin(None, f).unwrap_err().to_string();
        assert!(
            e.starts_with("--consistency-models: unknown model \"acid\"; rift knows"),
            "{e}"
        );
    }

    #[test]
    fn the_linear_budget_defaults_and_bad_values_name_their_field() {
        let plan = resolve_builtin(None, flags("set")).unwrap();
        assert_eq!(plan.linear_budget.time, Duration::from_secs(60));
        assert_eq!(plan.linear_budget.memory, 1 << 30);
        let file: PlanInputs =
            toml::from_str("linear_time_budget = 2.5\nlinear_memory_budget = 64\n").unwrap();
        let plan =
            resolve_builtin(Some((Path::new("p.toml"), file.clone())), flags("set")).unwrap();
        assert_eq!(plan.linear_budget.time, Duration::from_millis(2500));
        assert_eq!(plan.linear_budget.memory, 64 << 20);
        let mut f = flags("set");
        f.linear_memory_budget = Some(0);
        let e = resolve_builtin(Some((Path::new("p.toml"), file)), f).unwrap_err();
        assert_eq!(
            e.to_string(),
            "--linear-memory-budget: 0 must be from 1 to 16777216 MiB"
        );
        let file: PlanInputs = toml::from_str("linear_time_budget = -1.0\n").unwrap();
        let e = resolve_builtin(Some((Path::new("p.toml"), file)), flags("set")).unwrap_err();
        assert_eq!(
            e.to_string(),
            "p.toml: linear_time_budget: -1 must be a positive number of seconds"
        );
    }

    fn flags(workload: &str) -> PlanInputs {
        PlanInputs {
            workload: Some(workload.into()),
            nodes: Some(NodesInput {
                local: Some(true),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn defaults_fill_what_is_not_said() {
        let plan = resolve_builtin(None, flags("set")).unwrap();
        assert_eq!(plan.name, "ecstore-set");
        assert_eq!(plan.nodes, NodeSource::Local { nodes: 5 });
        assert_eq!(plan.concurrency.workers(5), 10);
        assert_eq!(plan.time_limit, Duration::from_secs(60));
        assert_eq!(plan.routing, Routing::Sticky);
    }

    #[test]
    fn flags_win_over_the_file() {
        let file: PlanInputs = toml::from_str(
            "workload = \"counter\"\nconcurrency = \"3\"\ntime_limit = 5\nrouting = \"roaming\"\n[nodes]\nlist = \"a,b\"\n",
        )
        .unwrap();
        let mut f = flags("set");
        f.time_limit = Some(2.0);
        let plan = resolve_builtin(Some((Path::new("plan.toml"), file)), f).unwrap();
        assert_eq!(plan.workload, "set");
        assert_eq!(plan.time_limit, Duration::from_secs(2));
        assert_eq!(plan.concurrency, Concurrency::Total(3));
        assert_eq!(plan.routing, Routing::Roaming);
        assert_eq!(
            plan.nodes,
            NodeSource::Local { nodes: 5 },
            "--local wins over the file's list"
        );
    }

    #[test]
    fn errors_point_at_the_field_and_where_it_came_from() {
        let file: PlanInputs =
            toml::from_str("workload = \"set\"\nconcurrency = \"0n\"\n[nodes]\nlocal = true\n")
                .unwrap();
        let e = resolve_builtin(Some((Path::new("plan.toml"), file)), PlanInputs::default())
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "plan.toml: concurrency: \"0n\" is not N or Nn (N per node), with N at least 1"
        );

        let mut f = flags("set");
        f.rate = Some(-1.0);
        assert_eq!(
            resolve_builtin(None, f).unwrap_err().to_string(),
            "--rate: -1 must be a positive number"
        );
        let e = resolve_builtin(None, flags("bank"))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("--workload: unknown workload \"bank\""),
            "{e}"
        );
        let mut f = flags("set");
        f.nemesis = Some(vec!["partition".into(), "meteor".into()]);
        let e = resolve_builtin(None, f).unwrap_err().to_string();
        assert!(
            e.starts_with("--nemesis: unknown nemesis \"meteor\""),
            "{e}"
        );
        let mut f = flags("set");
        f.nemesis_targets = Some("half".into());
        assert!(
            resolve_builtin(None, f)
                .unwrap_err()
                .to_string()
                .starts_with("--nemesis-targets: \"half\" is not one of one, minority")
        );
        let mut f = flags("set");
        f.clock_strategy = Some("ntp".into());
        assert!(
            resolve_builtin(None, f)
                .unwrap_err()
                .to_string()
                .starts_with("--clock-strategy: \"ntp\" is not process or system")
        );
        let mut f = flags("set");
        f.nodes = None;
        assert!(
            resolve_builtin(None, f)
                .unwrap_err()
                .to_string()
                .contains("say which nodes")
        );

        let bad = toml::from_str::<PlanInputs>("workload = \"set\"\ntime_limt = 5\n")
            .unwrap_err()
            .to_string();
        assert!(
            bad.contains("unknown field `time_limt`") && bad.contains("line 2"),
            "{bad}"
        );
    }
}
