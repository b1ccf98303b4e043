//! Consistency models: which anomalies each one prohibits, and which is stronger than which —
//! so that results can name the weakest models the anomalies found rule out, as Elle does.

/// (model, models it directly implies: everything it allows they allow too... inverted: a model
/// here is at least as strong as each listed one).
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
    ("linearizable", &[]),
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
    ("repeatable-read", &["read-committed"]),
    ("monotonic-atomic-view", &["read-committed"]),
    ("read-committed", &["read-uncommitted"]),
    ("read-uncommitted", &[]),
    ("causal", &["pram", "writes-follow-reads"]),
    (
        "pram",
        &["read-your-writes", "monotonic-reads", "monotonic-writes"],
    ),
    ("read-your-writes", &[]),
    ("monotonic-reads", &[]),
    ("monotonic-writes", &[]),
    ("writes-follow-reads", &[]),
];

/// The weakest models that prohibit an anomaly kind (everything stronger prohibits it too).
fn prohibited_by(kind: &str) -> &'static [&'static str] {
    match kind {
        "G0" | "duplicate-elements" | "incompatible-order" | "internal" | "future-read"
        | "garbage-read" => &["read-uncommitted"],
        "G1a" | "G1b" | "G1c" | "dirty-update" => &["read-committed"],
        "lost-update" => &["snapshot-isolation", "repeatable-read"],
        "G-single" | "G-nonadjacent" => &["snapshot-isolation", "repeatable-read"],
        "G2-item" => &["repeatable-read"],
        "read-your-writes" => &["read-your-writes"],
        "monotonic-reads" => &["monotonic-reads"],
        "monotonic-writes" => &["monotonic-writes"],
        "writes-follow-reads" => &["writes-follow-reads"],
        "G0-process" | "G1c-process" => &["pram", "strong-session-serializable"],
        "G-single-process" | "G-nonadjacent-process" => &[
            "strong-session-snapshot-isolation",
            "strong-session-serializable",
        ],
        "G2-item-process" => &["strong-session-serializable"],
        "G0-realtime" | "G1c-realtime" | "G2-item-realtime" => &["strict-serializable"],
        "G-single-realtime" | "G-nonadjacent-realtime" => {
            &["strong-snapshot-isolation", "strict-serializable"]
        }
        _ => &[],
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

/// Does any of `models` prohibit `kind`?
pub fn prohibits(models: &[String], kind: &str) -> bool {
    prohibited_by(kind)
        .iter()
        .any(|weak| models.iter().any(|m| implies(m, weak)))
}

/// The weakest models ruled out by the anomaly kinds found.
pub fn weakest_ruled_out<'a>(kinds: impl IntoIterator<Item = &'a str>) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for kind in kinds {
        for &m in prohibited_by(kind) {
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

#[cfg(test)]
mod tests {
    use super::*;

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
}
