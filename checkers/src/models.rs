//! Consistency models on one lattice for both worlds — single objects (eventual consistency,
//! the four session guarantees, PRAM, causal, sequential, linearizable) and transactions (Elle's
//! models) — which anomalies each forbids, and which model is stronger than which.
//!
//! A verdict is relative to what the store claims: [`judge`] marks each anomaly a checker found
//! as allowed or forbidden by the claimed models, and a result is invalid only for a forbidden
//! one. Results also name the weakest models the anomalies found rule out, as Elle does.
//!
//! Single-object models, as rift reads them:
//! - `eventual`: the replicas converge, and no acknowledged write is lost: an acknowledged
//!   element stays in the set; a register settles on a write no acknowledged write followed in
//!   real time. Stale reads and session violations are allowed.
//! - `read-your-writes`, `monotonic-reads`, `monotonic-writes`, `writes-follow-reads`: each
//!   forbids its own violation; `pram` is the first three; `causal` is PRAM with
//!   writes-follow-reads, and converging (causal+, as COPS defines it), so it implies
//!   `eventual`.
//! - `sequential`: one order of all ops that respects each process's order (stronger than
//!   causal); `linearizable`: that order also respects real time, so a read begun after a
//!   write was acknowledged sees it (a `stale` read is forbidden only here).
//!
//! Transactional models beside Elle's (Adya's, without sessions): `strong-session-read-committed`
//! < `read-atomic` < `causal` (transactional causal consistency), as Biswas and Enea define
//! them: each forces commit orders that contain session order and write-read, and `causal`, read
//! by the `commit-order` checker on transactions, is the same `causal` as single objects have
//! (it implies PRAM and writes-follow-reads). `read-atomic` implies Elle's
//! monotonic-atomic-view, `strong-session-read-committed` Elle's read-committed; a cycle of
//! write, read and process dependencies (G0-process, G1c-process) breaks
//! strong-session-read-committed.
//!
//! What no model allows: reading what was never written, an element twice, a creation twice.
//! An anomaly kind this module does not know is forbidden by every model: an unknown finding
//! never turns into a valid verdict.

use crate::{CheckResult, Validity};
use serde_json::json;
use std::collections::BTreeMap;

/// (model, the models it implies: everything forbidden by one of them it forbids too).
pub const MODELS: &[(&str, &[&str])] = &[
    (
        "strict-serializable",
        &[
            "serializable",
            "strong-session-serializable",
            "strong-snapshot-isolation",
            "linearizable",
        ],
    ),
    ("linearizable", &["sequential"]),
    ("sequential", &["causal"]),
    ("strong-session-serializable", &["serializable", "causal"]),
    ("serializable", &["repeatable-read", "snapshot-isolation"]),
    (
        "strong-snapshot-isolation",
        &["strong-session-snapshot-isolation"],
    ),
    (
        "strong-session-snapshot-isolation",
        &["snapshot-isolation", "causal"],
    ),
    (
        "snapshot-isolation",
        &["read-committed", "monotonic-atomic-view"],
    ),
    (
        "read-atomic",
        &["strong-session-read-committed", "monotonic-atomic-view"],
    ),
    ("strong-session-read-committed", &["read-committed"]),
    ("repeatable-read", &["read-committed"]),
    ("monotonic-atomic-view", &["read-committed"]),
    ("read-committed", &["read-uncommitted"]),
    ("read-uncommitted", &[]),
    (
        "causal",
        &["pram", "writes-follow-reads", "eventual", "read-atomic"],
    ),
    (
        "pram",
        &["read-your-writes", "monotonic-reads", "monotonic-writes"],
    ),
    ("read-your-writes", &[]),
    ("monotonic-reads", &[]),
    ("monotonic-writes", &[]),
    ("writes-follow-reads", &[]),
    ("eventual", &[]),
];

/// Checkers of transactions (Elle's analyses); the others judge single objects.
fn transactional(checker: &str) -> bool {
    matches!(checker, "list-append" | "rw-register")
}

/// The weakest models that forbid an anomaly kind a checker found (everything stronger forbids
/// it too); `None` when no model allows it; an unknown kind is `None` as well.
fn forbidden_by(checker: &str, kind: &str) -> Option<&'static [&'static str]> {
    let session = match kind {
        "read-your-writes" => Some(&["read-your-writes"][..]),
        "monotonic-reads" => Some(&["monotonic-reads"][..]),
        "monotonic-writes" => Some(&["monotonic-writes"][..]),
        "writes-follow-reads" => Some(&["writes-follow-reads"][..]),
        _ => None,
    };
    if session.is_some() {
        return session;
    }
    if transactional(checker) {
        return match kind {
            "G0" | "duplicate-elements" | "incompatible-order" | "internal" | "future-read"
            | "garbage-read" => Some(&["read-uncommitted"]),
            "G1a" | "G1b" | "G1c" | "dirty-update" => Some(&["read-committed"]),
            "lost-update" => Some(&["snapshot-isolation", "repeatable-read"]),
            "G-single" | "G-nonadjacent" => Some(&["snapshot-isolation", "repeatable-read"]),
            "G2-item" => Some(&["repeatable-read"]),
            "G0-process" | "G1c-process" => Some(&["pram", "strong-session-read-committed"]),
            "G-single-process" | "G-nonadjacent-process" => Some(&[
                "strong-session-snapshot-isolation",
                "strong-session-serializable",
            ]),
            "G2-item-process" => Some(&["strong-session-serializable"]),
            "G0-realtime" | "G1c-realtime" | "G2-item-realtime" => Some(&["strict-serializable"]),
            "G-single-realtime" | "G-nonadjacent-realtime" => {
                Some(&["strong-snapshot-isolation", "strict-serializable"])
            }
            _ => None,
        };
    }
    match (checker, kind) {
        // The commit order forced by each level's rule has a cycle.
        ("commit-order", "cyclic-causality") => Some(&["pram", "strong-session-read-committed"]),
        ("commit-order", "non-monotonic-view") => Some(&["strong-session-read-committed"]),
        ("commit-order", "fractured-read") => Some(&["read-atomic"]),
        ("commit-order", "causality-violation") => Some(&["causal"]),
        // Acknowledged writes lost, replicas that never agree.
        ("set", "lost") | ("register", "lost-update") | ("counter", "lost") => Some(&["eventual"]),
        ("convergence" | "counter", "divergent" | "no-agreement" | "final-reads-differ") => {
            Some(&["eventual"])
        }
        // A read that missed what was acknowledged before it began: real time.
        ("set", "stale") | ("counter", "read-below-acknowledged") => Some(&["linearizable"]),
        // No order of a key's ops both respects real time and its model.
        ("linearizable", "nonlinearizable") => Some(&["linearizable"]),
        _ => None,
    }
}

pub fn known(model: &str) -> bool {
    MODELS.iter().any(|(m, _)| *m == model)
}

/// Is `strong` at least as strong as `weak`?
pub fn implies(strong: &str, weak: &str) -> bool {
    if strong == weak {
        return true;
    }
    MODELS
        .iter()
        .find(|(m, _)| *m == strong)
        .is_some_and(|(_, below)| below.iter().any(|b| implies(b, weak)))
}

/// Anomalies no model allows, whatever world it is of: a read of what was never written, an
/// element read twice, a creation twice.
fn always_forbidden(checker: &str, kind: &str) -> bool {
    matches!(
        (checker, kind),
        (
            "list-append" | "rw-register",
            "garbage-read" | "duplicate-elements"
        ) | ("set", "unexpected" | "duplicated")
            | ("register", "unexpected-value")
            | ("counter", "read-above-attempted")
            | ("idempotency", "duplicate-creation")
    )
}

/// Does any of `models` forbid an anomaly of `kind` found by `checker`?
pub fn forbids(models: &[String], checker: &str, kind: &str) -> bool {
    if always_forbidden(checker, kind) {
        return true;
    }
    match forbidden_by(checker, kind) {
        Some(weakest) => weakest
            .iter()
            .any(|weak| models.iter().any(|m| implies(m, weak))),
        None => true,
    }
}

/// For Elle's analyses: does any of `models` forbid `kind`?
pub fn prohibits(models: &[String], kind: &str) -> bool {
    forbids(models, "list-append", kind)
}

/// The weakest models ruled out by the anomaly kinds found (by Elle's analyses).
pub fn weakest_ruled_out<'a>(kinds: impl IntoIterator<Item = &'a str>) -> Vec<&'static str> {
    ruled_out("list-append", kinds)
}

/// The weakest models ruled out by the anomaly kinds a checker found; a kind no model allows
/// rules out every model and is not listed.
pub fn ruled_out<'a>(checker: &str, kinds: impl IntoIterator<Item = &'a str>) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for kind in kinds {
        for &m in forbidden_by(checker, kind).unwrap_or(&[]) {
            if !out.contains(&m) {
                out.push(m);
            }
        }
    }
    // Keep those no weaker model in the list already rules out.
    let all = out.clone();
    out.retain(|m| !all.iter().any(|w| w != m && implies(m, w)));
    out.sort_unstable();
    out
}

/// Judges a checker's result against the claimed models: each anomaly is marked allowed or
/// forbidden, the allowed ones are counted apart (`allowed-anomalies`), and a result whose
/// anomalies the claim all allows is valid, its summary saying so. Every anomaly stays
/// reported. Pure: the same result and claim give the same judgement.
pub fn judge(mut result: CheckResult, models: &[String]) -> CheckResult {
    if models.is_empty() || result.anomaly_counts.is_empty() {
        return result;
    }
    let checker = result.checker.clone();
    let allowed: BTreeMap<String, u64> = result
        .anomaly_counts
        .iter()
        .filter(|(k, _)| !forbids(models, &checker, k))
        .map(|(k, n)| (k.clone(), *n))
        .collect();
    for a in &mut result.anomalies {
        a.allowed = allowed.contains_key(&a.kind);
    }
    let ruled = ruled_out(&checker, result.anomaly_counts.keys().map(String::as_str));
    if !result.figures.contains_key("ruled-out") {
        result.figures.insert("ruled-out".into(), json!(ruled));
    }
    if allowed.is_empty() {
        return result;
    }
    result
        .figures
        .insert("allowed-anomalies".into(), json!(allowed));
    if result.valid == Validity::False && allowed.len() == result.anomaly_counts.len() {
        result.valid = Validity::True;
        result.summary = format!("allowed under {}: {}", models.join(", "), result.summary);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Anomaly;

    fn claim(models: &[&str]) -> Vec<String> {
        models.iter().map(|m| m.to_string()).collect()
    }

    #[test]
    fn the_commit_order_levels_are_ordered_and_sit_on_the_lattice() {
        let order = ["strong-session-read-committed", "read-atomic", "causal"];
        for (i, strong) in order.iter().enumerate() {
            for (j, weak) in order.iter().enumerate() {
                assert_eq!(implies(strong, weak), i >= j, "{strong} vs {weak}");
            }
        }
        assert!(implies("strong-session-read-committed", "read-committed"));
        assert!(!implies("read-committed", "strong-session-read-committed"));
        assert!(implies("read-atomic", "monotonic-atomic-view"));
        assert!(implies("strong-session-serializable", "read-atomic"));
        assert!(implies("strict-serializable", "causal"));
        assert!(!implies("snapshot-isolation", "read-atomic"));
        // Each anomaly is forbidden from its level up, and allowed below it.
        let claims = |m: &str| vec![m.to_string()];
        for (kind, weakest) in [
            ("cyclic-causality", 0),
            ("non-monotonic-view", 0),
            ("fractured-read", 1),
            ("causality-violation", 2),
        ] {
            for (i, m) in order.iter().enumerate() {
                assert_eq!(
                    forbids(&claims(m), "commit-order", kind),
                    i >= weakest,
                    "{kind} {m}"
                );
            }
            assert!(!forbids(&claims("read-committed"), "commit-order", kind));
        }
        assert_eq!(
            ruled_out("commit-order", ["fractured-read", "causality-violation"]),
            ["read-atomic"]
        );
    }

    #[test]
    fn strength_and_what_is_ruled_out() {
        assert!(implies("strict-serializable", "read-committed"));
        assert!(implies("serializable", "snapshot-isolation"));
        assert!(!implies("snapshot-isolation", "serializable"));
        assert!(implies("causal", "read-your-writes"));
        let models = vec!["snapshot-isolation".to_owned()];
        assert!(prohibits(&models, "G-single"));
        assert!(
            !prohibits(&models, "G2-item"),
            "write skew is allowed under SI"
        );
        assert!(prohibits(&["serializable".to_owned()], "G2-item"));
        assert_eq!(
            weakest_ruled_out(["G1c", "G-single"]),
            vec!["read-committed"]
        );
        assert_eq!(weakest_ruled_out(["G2-item"]), vec!["repeatable-read"]);
        for (m, below) in MODELS {
            for b in *below {
                assert!(known(b), "{m} names unknown {b}");
            }
        }
    }

    #[test]
    fn one_lattice_spans_single_objects_and_transactions() {
        // The single-object chain.
        for (strong, weak) in [
            ("linearizable", "sequential"),
            ("sequential", "causal"),
            ("causal", "eventual"),
            ("causal", "writes-follow-reads"),
            ("pram", "monotonic-writes"),
            ("strict-serializable", "eventual"),
            ("strict-serializable", "monotonic-reads"),
        ] {
            assert!(implies(strong, weak), "{strong} implies {weak}");
        }
        for (weak, strong) in [
            ("eventual", "read-your-writes"),
            ("sequential", "linearizable"),
            ("serializable", "eventual"),
            ("read-your-writes", "eventual"),
        ] {
            assert!(!implies(weak, strong), "{weak} does not imply {strong}");
        }
        let eventual = claim(&["eventual"]);
        assert!(forbids(&eventual, "set", "lost"));
        assert!(!forbids(&eventual, "set", "stale"));
        assert!(forbids(&claim(&["linearizable"]), "set", "stale"));
        assert!(!forbids(&claim(&["sequential"]), "set", "stale"));
        assert!(!forbids(&eventual, "session", "read-your-writes"));
        assert!(forbids(&claim(&["causal"]), "session", "read-your-writes"));
        assert!(forbids(&eventual, "convergence", "divergent"));
        assert!(!forbids(
            &claim(&["read-your-writes"]),
            "convergence",
            "divergent"
        ));
        // Serializability promises no process order: session violations are allowed.
        assert!(!forbids(
            &claim(&["serializable"]),
            "session",
            "monotonic-reads"
        ));
        // The same name means what its checker means: a register's lost update is a lost
        // acknowledged write; Elle's is two transactions writing over one read.
        assert!(forbids(&eventual, "register", "lost-update"));
        assert!(!forbids(&eventual, "list-append", "lost-update"));
        assert!(!forbids(
            &claim(&["read-committed"]),
            "list-append",
            "lost-update"
        ));
        // What no model allows, and what rift does not know, is always forbidden.
        for (checker, kind) in [
            ("set", "unexpected"),
            ("set", "duplicated"),
            ("register", "unexpected-value"),
            ("counter", "read-above-attempted"),
            ("idempotency", "duplicate-creation"),
            ("set", "a-kind-nobody-names"),
            ("list-append", "garbage-read"),
            ("rw-register", "duplicate-elements"),
        ] {
            assert!(
                forbids(&claim(&["read-your-writes"]), checker, kind),
                "{kind}"
            );
        }
        assert_eq!(ruled_out("set", ["stale", "lost"]), vec!["eventual"]);
        assert_eq!(ruled_out("set", ["stale"]), vec!["linearizable"]);
    }

    fn anomaly(kind: &str) -> Anomaly {
        Anomaly {
            kind: kind.into(),
            ops: vec![1],
            explanation: String::new(),
            dot: None,
            allowed: false,
            bars: Vec::new(),
        }
    }

    fn found(checker: &str, kinds: &[&str]) -> CheckResult {
        let mut r = CheckResult::new(checker, Validity::False, "found things");
        for k in kinds {
            r.anomaly_counts.insert(k.to_string(), 2);
            r.anomalies.push(anomaly(k));
        }
        r
    }

    #[test]
    fn a_result_is_invalid_only_for_what_the_claim_forbids_and_reports_everything() {
        let r = judge(found("set", &["stale"]), &claim(&["eventual"]));
        assert_eq!(r.valid, Validity::True);
        assert!(
            r.summary.starts_with("allowed under eventual"),
            "{}",
            r.summary
        );
        assert!(r.anomalies[0].allowed);
        assert_eq!(r.anomaly_counts["stale"], 2, "still counted");
        assert_eq!(r.figures["allowed-anomalies"], json!({"stale": 2}));
        assert_eq!(r.figures["ruled-out"], json!(["linearizable"]));

        let r = judge(found("set", &["stale", "lost"]), &claim(&["eventual"]));
        assert_eq!(r.valid, Validity::False);
        let marks: Vec<(&str, bool)> = r
            .anomalies
            .iter()
            .map(|a| (a.kind.as_str(), a.allowed))
            .collect();
        assert_eq!(marks, [("stale", true), ("lost", false)]);

        let r = judge(found("set", &["stale"]), &claim(&["linearizable"]));
        assert_eq!(r.valid, Validity::False);
        assert!(!r.anomalies[0].allowed);
        assert!(!r.figures.contains_key("allowed-anomalies"));

        // Nothing claimed: the checker's own verdict stands.
        assert_eq!(judge(found("set", &["stale"]), &[]).valid, Validity::False);
        // Judging is deterministic.
        let once = judge(
            found("session", &["monotonic-reads"]),
            &claim(&["serializable"]),
        );
        let twice = judge(
            found("session", &["monotonic-reads"]),
            &claim(&["serializable"]),
        );
        assert_eq!(once, twice);
        assert_eq!(once.valid, Validity::True);
    }
}
