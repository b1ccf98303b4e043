//! The compact tables printed after `rift check` and `rift test`.

use crate::ResultsFile;
use tabled::builder::Builder;
use tabled::settings::Style;

/// Renders the checker table, the anomaly table (when anything was found) and the stats
/// breakdown by function.
pub fn render_terminal(results: &ResultsFile) -> String {
    let mut out = String::new();
    let mut checkers = Builder::default();
    checkers.push_record(["checker", "valid", "summary", "figures"]);
    for r in &results.results {
        let valid = if r.applicable {
            r.valid.as_str()
        } else {
            "n/a"
        };
        let figures = crate::report::key_figures(r);
        checkers.push_record([r.checker.as_str(), valid, r.summary.as_str(), &figures]);
    }
    out.push_str(&checkers.build().with(Style::rounded()).to_string());
    out.push('\n');

    let found: Vec<_> = results
        .results
        .iter()
        .flat_map(|r| r.anomaly_counts.iter().map(move |(kind, n)| (r, kind, n)))
        .collect();
    if !found.is_empty() {
        let mut anomalies = Builder::default();
        anomalies.push_record(["checker", "anomaly", "count", "claim", "first witness"]);
        for (r, kind, n) in found {
            let claim = if crate::allowed(r, kind) {
                "allowed"
            } else {
                "forbidden"
            };
            let first = r.anomalies.iter().find(|a| &a.kind == kind);
            let witness = first.map_or(String::new(), |a| {
                let ops: Vec<String> = a.ops.iter().map(u64::to_string).collect();
                format!("ops {}: {}", ops.join(", "), one_line(&a.explanation, 100))
            });
            anomalies.push_record([
                r.checker.clone(),
                kind.clone(),
                n.to_string(),
                claim.to_owned(),
                witness,
            ]);
        }
        out.push_str(&anomalies.build().with(Style::rounded()).to_string());
        out.push('\n');
    }

    for r in &results.results {
        let Some(serde_json::Value::Object(by_f)) = r.figures.get("by-f") else {
            continue;
        };
        let mut table = Builder::default();
        table.push_record(["f", "count", "ok", "fail", "info"]);
        for (f, counts) in by_f {
            let n = |k: &str| counts.get(k).map_or_else(String::new, |v| v.to_string());
            table.push_record([f.clone(), n("count"), n("ok"), n("fail"), n("info")]);
        }
        out.push_str(&table.build().with(Style::rounded()).to_string());
        out.push('\n');
    }
    if !results.claimed_models.is_empty() {
        out.push_str(&format!(
            "claimed: {} ({})\n",
            results.claimed_models.join(", "),
            results.claim_source
        ));
    }
    out.push_str(&format!("valid: {}\n", results.valid));
    out
}

fn one_line(text: &str, max: usize) -> String {
    let flat: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if flat.chars().count() <= max {
        return flat;
    }
    let cut: String = flat.chars().take(max - 1).collect();
    format!("{cut}…")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::HistorySummary;
    use checkers::{Anomaly, CheckResult, Validity, Verdict};

    fn results(valid: Validity) -> ResultsFile {
        let mut stats = CheckResult::new(
            "stats",
            Validity::True,
            "4 client ops: 2 ok, 1 fail, 1 info",
        );
        stats.figures.insert(
            "by-f".into(),
            serde_json::json!({"add": {"count": 3, "ok": 1, "fail": 1, "info": 1},
                               "read": {"count": 1, "ok": 1, "fail": 0, "info": 0}}),
        );
        let mut set = CheckResult::new("set", valid, "1 lost element");
        if valid == Validity::False {
            set.anomaly_counts.insert("lost".into(), 1);
            set.anomalies.push(Anomaly {
                kind: "lost".into(),
                ops: vec![3, 9],
                explanation:
                    "Element 4 was acknowledged by op 3\nbut no final read (op 9) holds it.".into(),
                dot: None,
                allowed: false,
                bars: Vec::new(),
            });
        }
        let history = HistorySummary {
            path: "history.jsonl".into(),
            ops: 8,
            warnings: vec![],
        };
        ResultsFile::new("t", history, Verdict::of(vec![stats, set]))
    }

    #[test]
    fn valid_run_shows_checkers_and_breakdown_but_no_anomaly_table() {
        let text = render_terminal(&results(Validity::True));
        assert!(
            text.contains("│ stats   │ true  │ 4 client ops: 2 ok, 1 fail, 1 info │"),
            "{text}"
        );
        assert!(
            text.contains("│ add  │ 3     │ 1  │ 1    │ 1    │"),
            "{text}"
        );
        assert!(!text.contains("first witness"), "{text}");
        assert!(text.ends_with("valid: true\n"));
    }

    #[test]
    fn invalid_run_lists_each_anomaly_kind_with_its_first_witness_on_one_line() {
        let text = render_terminal(&results(Validity::False));
        assert!(text.contains("│ set     │ lost    │ 1     │ forbidden │ ops 3, 9: Element 4 was acknowledged by op 3 but no final read (op 9) holds it. │"), "{text}");
        assert!(text.ends_with("valid: false\n"));
    }

    #[test]
    fn anomalies_the_claim_allows_are_marked_and_the_claim_is_named() {
        let mut r = results(Validity::False);
        r.results[1]
            .figures
            .insert("allowed-anomalies".into(), serde_json::json!({"lost": 1}));
        r.claimed_models = vec!["serializable".into()];
        r.claim_source = "--consistency-models".into();
        let text = render_terminal(&r);
        assert!(text.contains("│ lost    │ 1     │ allowed │"), "{text}");
        assert!(
            text.contains("claimed: serializable (--consistency-models)\n"),
            "{text}"
        );
    }
}
