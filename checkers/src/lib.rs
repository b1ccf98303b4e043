//! Pure analyses of a history: given the same ops, the same verdict, every time.
//!
//! Owns: the verdict model ([`Validity`], [`CheckResult`], [`Anomaly`]), the [`Checker`] trait,
//! and the checkers themselves: `stats`, `set`, `convergence`, `counter`, `register` (lost
//! updates), `idempotency`, `session` (the four session guarantees), `linearizable` (Wing–Gong–Lowe
//! search per key), Elle's analyses (`list-append`, `rw-register`), and `commit-order` (strong-session read
//! committed, read atomic and causal consistency by the commit order reads force).
//! No I/O: the harness reads, checkers judge. Checkers are pure: the same history gives the
//! same verdict (`linearizable` alone reads a clock, for its time budget: a search that runs
//! out of time is `unknown`, never a different answer).
//!
//! Checkers consume ops one at a time ([`Checker::observe`]) so that a history far larger than
//! memory can be checked in one pass, by every checker at once ([`check`]). The history is
//! paired once, by a [`Feed`], and every checker is handed the same pairs.

mod commit_order;
mod convergence;
mod counter;
pub mod elle;
mod feed;
mod idempotency;
pub mod linear;
pub mod models;
mod register;
mod session;
mod set;
mod stats;
#[cfg(test)]
mod testing;
mod util;

pub use commit_order::CommitOrder;
pub use convergence::Convergence;
pub use counter::Counter;
pub use elle::Elle;
pub use feed::{Event, Feed, Invoked};
pub use idempotency::Idempotency;
pub use linear::Linearizable;
pub use register::Register;
pub use session::{GUARANTEES, Session};
pub use set::SetChecker;
pub use stats::Stats;

use history::Op;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;
use std::fmt;

/// Jepsen's three verdicts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Validity {
    /// No checker found an anomaly.
    True,
    /// At least one anomaly.
    False,
    /// A checker could not decide (e.g. nothing was ever read).
    Unknown,
}

impl Validity {
    /// The verdict of two results together: an anomaly anywhere decides; otherwise any doubt.
    pub fn and(self, other: Validity) -> Validity {
        use Validity::*;
        match (self, other) {
            (False, _) | (_, False) => False,
            (Unknown, _) | (_, Unknown) => Unknown,
            (True, True) => True,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Validity::True => "true",
            Validity::False => "false",
            Validity::Unknown => "unknown",
        }
    }
}

impl fmt::Display for Validity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Written as Jepsen writes `:valid?`: `true`, `false` or `"unknown"`.
impl Serialize for Validity {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Validity::True => s.serialize_bool(true),
            Validity::False => s.serialize_bool(false),
            Validity::Unknown => s.serialize_str("unknown"),
        }
    }
}

impl<'de> Deserialize<'de> for Validity {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match serde_json::Value::deserialize(d)? {
            serde_json::Value::Bool(true) => Ok(Validity::True),
            serde_json::Value::Bool(false) => Ok(Validity::False),
            serde_json::Value::String(s) if s == "unknown" => Ok(Validity::Unknown),
            other => Err(serde::de::Error::custom(format!(
                "valid must be true, false or \"unknown\", not {other}"
            ))),
        }
    }
}

/// One thing found wrong, with the ops that show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Anomaly {
    /// A stable name: `lost-update`, `read-your-writes`, ...
    pub kind: String,
    /// Indexes of the ops involved (a minimal witness).
    pub ops: Vec<u64>,
    /// A paragraph a person can follow without reading code.
    pub explanation: String,
    /// For a cycle: its graph in Graphviz DOT.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dot: Option<String>,
    /// Ops drawn as a timeline, for witnesses that are an order of ops (a linearizability
    /// failure): one lane per process.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bars: Vec<Bar>,
    /// The claimed consistency models allow it: reported, but it does not make the result
    /// invalid (see [`models::judge`]).
    #[serde(default, skip_serializing_if = "is_false")]
    pub allowed: bool,
}

/// One op of a witness's timeline: a bar from invocation to completion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bar {
    /// The op's index (its invocation's).
    pub index: u64,
    pub process: String,
    /// What it did, as people read it: `write 3`, `read → 1`, `cas 1 → 2`.
    pub label: String,
    /// Invocation time, ns since the test began.
    pub start: u64,
    /// Completion time; none when it never completed (indeterminate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end: Option<u64>,
    /// Its place in the order found (1 first), if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub order: Option<u64>,
    /// The op that cannot be placed.
    #[serde(default, skip_serializing_if = "is_false")]
    pub failing: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// What one checker concluded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckResult {
    /// The checker's stable name.
    pub checker: String,
    pub valid: Validity,
    /// One line for a person: what was checked and what came of it.
    pub summary: String,
    /// Measurements, keyed by stable names (for reports and tables).
    pub figures: serde_json::Map<String, serde_json::Value>,
    /// How many anomalies of each kind were found (all of them, not only those listed).
    pub anomaly_counts: BTreeMap<String, u64>,
    /// Anomalies with their witnesses; may be a bounded sample of all those counted.
    pub anomalies: Vec<Anomaly>,
    /// False when the history holds nothing this checker judges (e.g. no final reads for
    /// `convergence`): its `unknown` then does not weigh on the verdict.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub applicable: bool,
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

impl CheckResult {
    pub fn new(checker: &str, valid: Validity, summary: impl Into<String>) -> CheckResult {
        CheckResult {
            checker: checker.to_owned(),
            valid,
            summary: summary.into(),
            figures: serde_json::Map::new(),
            anomaly_counts: BTreeMap::new(),
            anomalies: Vec::new(),
            applicable: true,
        }
    }

    /// The history holds nothing this checker judges.
    pub fn not_applicable(checker: &str, summary: impl Into<String>) -> CheckResult {
        CheckResult {
            applicable: false,
            ..CheckResult::new(checker, Validity::Unknown, summary)
        }
    }
}

/// A checker reads a history in index order, paired by a [`Feed`], then gives its verdict.
pub trait Checker: Send {
    /// The stable name results are reported under.
    fn name(&self) -> &'static str;
    /// Takes the next op of the history, paired.
    fn observe(&mut self, event: &Event<'_>);
    /// Whether it reads an invocation's value when its completion comes ([`Invoked::value`]);
    /// when no checker does, the feed keeps no copy of it (a transaction's micro-ops, say).
    fn reads_invocation_values(&self) -> bool {
        true
    }
    /// The verdict on everything observed.
    fn finish(self: Box<Self>) -> CheckResult;
}

/// Every checker rift has, by name.
pub const NAMES: &[&str] = &[
    "stats",
    "set",
    "convergence",
    "counter",
    "register",
    "idempotency",
    "session",
    "list-append",
    "rw-register",
    "commit-order",
    "linearizable",
];

/// What some checkers are told beyond the history.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The consistency models the store claims: `list-append` and `rw-register` search for
    /// what they forbid (default strict-serializable), and every result is judged against them
    /// ([`Verdict::claimed`]).
    pub consistency_models: Vec<String>,
    /// How `linearizable` searches: each key's time and memory budget, threads.
    pub linear: linear::Settings,
}

/// A fresh checker by its stable name.
pub fn by_name(name: &str) -> Option<Box<dyn Checker>> {
    by_name_with(name, &Options::default())
}

/// A fresh checker by its stable name, with options.
pub fn by_name_with(name: &str, options: &Options) -> Option<Box<dyn Checker>> {
    match name {
        "list-append" => Some(Box::new(Elle::list_append(&options.consistency_models))),
        "rw-register" => Some(Box::new(Elle::rw_register(&options.consistency_models))),
        "commit-order" => Some(Box::new(CommitOrder::new(&options.consistency_models))),
        "stats" => Some(Box::new(Stats::default())),
        "set" => Some(Box::new(SetChecker::default())),
        "convergence" => Some(Box::new(Convergence::default())),
        "counter" => Some(Box::new(Counter::default())),
        "register" => Some(Box::new(Register::default())),
        "idempotency" => Some(Box::new(Idempotency::default())),
        "session" => Some(Box::new(Session::default())),
        "linearizable" => Some(Box::new(Linearizable::new(options.linear))),
        _ => None,
    }
}

/// The verdicts of several checkers on one history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub valid: Validity,
    /// By checker name, in the order the checkers were given.
    pub results: Vec<CheckResult>,
}

impl Verdict {
    pub fn of(results: Vec<CheckResult>) -> Verdict {
        // With no checker that applies, nothing was decided.
        let valid = results
            .iter()
            .filter(|r| r.applicable)
            .map(|r| r.valid)
            .reduce(Validity::and);
        Verdict {
            valid: valid.unwrap_or(Validity::Unknown),
            results,
        }
    }

    /// The verdict against the claimed models: each result judged by [`models::judge`], so an
    /// anomaly the claim allows is reported but invalidates nothing.
    pub fn claimed(results: Vec<CheckResult>, models: &[String]) -> Verdict {
        Verdict::of(
            results
                .into_iter()
                .map(|r| models::judge(r, models))
                .collect(),
        )
    }
}

/// Runs checkers over a history in one pass, pairing it once; an op no real run can produce
/// (an invocation while its process has one open) is an error naming it.
pub fn check<'a>(
    checkers: Vec<Box<dyn Checker>>,
    ops: impl IntoIterator<Item = &'a Op>,
) -> Result<Verdict, history::HistoryError> {
    let mut feed = Feed::new(checkers);
    for op in ops {
        feed.push(op)?;
    }
    Ok(feed.finish())
}

#[cfg(test)]
mod tests {
    use super::Validity::*;
    use super::*;

    #[test]
    fn an_anomaly_anywhere_decides_then_any_doubt() {
        assert_eq!(True.and(True), True);
        assert_eq!(True.and(Unknown), Unknown);
        assert_eq!(Unknown.and(False), False);
        assert_eq!(False.and(True), False);
        assert_eq!(Verdict::of(vec![]).valid, Unknown);
        let ok = CheckResult::new("a", True, "");
        let na = CheckResult::not_applicable("b", "nothing to judge");
        assert_eq!(Verdict::of(vec![ok, na.clone()]).valid, True);
        assert_eq!(Verdict::of(vec![na]).valid, Unknown);
    }

    #[test]
    fn validity_serializes_as_jepsen_does() {
        for (v, json) in [(True, "true"), (False, "false"), (Unknown, "\"unknown\"")] {
            assert_eq!(serde_json::to_string(&v).unwrap(), json);
            assert_eq!(serde_json::from_str::<Validity>(json).unwrap(), v);
        }
        assert!(serde_json::from_str::<Validity>("\"maybe\"").is_err());
    }
}
