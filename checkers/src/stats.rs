//! `stats`: how many client ops of each function succeeded, failed, or may have happened.
//!
//! Counts completions of client ops (nemesis ops are counted apart), attributing each to its
//! invocation's `f`; an invocation never completed counts as `info`. The verdict is `true` when
//! every function succeeded at least once. When one never did, nothing can be inferred about
//! it — the store may have been down throughout — so the verdict is `unknown`, not `false`
//! (Jepsen says `false`; rift keeps `false` for anomalies found).

use crate::{CheckResult, Checker, Event, Validity};
use history::{OpType, Sym};
use serde_json::json;
use std::collections::BTreeMap;

#[derive(Debug, Default)]
pub struct Stats {
    by_f: BTreeMap<Sym, Counts>,
    nemesis_ops: u64,
}

#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    ok: u64,
    fail: u64,
    info: u64,
}

impl Counts {
    fn total(&self) -> u64 {
        self.ok + self.fail + self.info
    }
}

impl Checker for Stats {
    fn name(&self) -> &'static str {
        "stats"
    }

    fn observe(&mut self, event: &Event<'_>) {
        match *event {
            Event::Other(_) => self.nemesis_ops += 1,
            Event::Invoke(_) => {}
            Event::Complete { invoked, op } => {
                let counts = self.by_f.entry(invoked.f.clone()).or_default();
                match op.kind {
                    OpType::Ok => counts.ok += 1,
                    OpType::Fail => counts.fail += 1,
                    OpType::Info | OpType::Invoke => counts.info += 1,
                }
            }
            // Never completed: indeterminate.
            Event::Unfinished(invocation) => {
                self.by_f.entry(invocation.f.clone()).or_default().info += 1;
            }
        }
    }

    fn finish(self: Box<Self>) -> CheckResult {
        let total = self.by_f.values().fold(Counts::default(), |a, c| Counts {
            ok: a.ok + c.ok,
            fail: a.fail + c.fail,
            info: a.info + c.info,
        });
        let never_ok: Vec<&str> = self
            .by_f
            .iter()
            .filter(|(_, c)| c.ok == 0)
            .map(|(f, _)| &**f)
            .collect();

        let (valid, summary) = if total.total() == 0 {
            (
                Validity::Unknown,
                "no client operations in the history".to_string(),
            )
        } else if !never_ok.is_empty() {
            (
                Validity::Unknown,
                format!(
                    "no {} ever succeeded: nothing can be inferred about it",
                    never_ok.join(", ")
                ),
            )
        } else {
            (
                Validity::True,
                format!(
                    "{} client ops: {} ok, {} fail, {} info",
                    total.total(),
                    total.ok,
                    total.fail,
                    total.info
                ),
            )
        };
        let mut result = CheckResult::new("stats", valid, summary);
        let by_f: serde_json::Map<String, serde_json::Value> = self
            .by_f
            .iter()
            .map(|(f, c)| {
                let v = json!({"count": c.total(), "ok": c.ok, "fail": c.fail, "info": c.info});
                (f.to_string(), v)
            })
            .collect();
        for (k, v) in [
            ("count", json!(total.total())),
            ("ok", json!(total.ok)),
            ("fail", json!(total.fail)),
            ("info", json!(total.info)),
            ("nemesis-ops", json!(self.nemesis_ops)),
            ("by-f", serde_json::Value::Object(by_f)),
        ] {
            result.figures.insert(k.to_owned(), v);
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check;
    use history::{Op, Process, Value};

    fn op(kind: OpType, p: u64, f: &str) -> Op {
        Op::new(kind, Process::Client(p), f, Value::Nil)
    }

    fn stats(ops: &[Op]) -> CheckResult {
        check(vec![Box::new(Stats::default())], ops)
            .unwrap()
            .results
            .remove(0)
    }

    #[test]
    fn counts_completions_by_the_invocations_f() {
        use OpType::*;
        let nemesis = Op::new(Info, Process::Named("nemesis".into()), "kill", Value::Nil);
        let ops = [
            op(Invoke, 0, "read"),
            op(Invoke, 1, "add"),
            nemesis.clone(),
            op(Ok, 0, "read"),
            op(Fail, 1, "add"),
            op(Invoke, 1, "add"),
            op(Info, 1, "add"),
            op(Invoke, 2, "add"),
            op(Ok, 2, "add"),
            op(Invoke, 0, "read"),
            nemesis,
        ];
        let r = stats(&ops);
        assert_eq!(r.valid, Validity::True, "{}", r.summary);
        assert_eq!(
            r.figures["by-f"]["add"],
            json!({"count": 3, "ok": 1, "fail": 1, "info": 1})
        );
        // The read never completed: indeterminate.
        assert_eq!(
            r.figures["by-f"]["read"],
            json!({"count": 2, "ok": 1, "fail": 0, "info": 1})
        );
        assert_eq!(r.figures["nemesis-ops"], json!(2));
        assert_eq!(r.summary, "5 client ops: 2 ok, 1 fail, 2 info");
    }

    #[test]
    fn a_function_that_never_succeeded_leaves_the_verdict_unknown() {
        use OpType::*;
        let r = stats(&[
            op(Invoke, 0, "cas"),
            op(Fail, 0, "cas"),
            op(Invoke, 0, "read"),
            op(Ok, 0, "read"),
        ]);
        assert_eq!(r.valid, Validity::Unknown);
        assert!(r.summary.contains("no cas ever succeeded"), "{}", r.summary);
        assert_eq!(stats(&[]).valid, Validity::Unknown);
    }

    #[test]
    fn lone_completions_are_ops_of_their_own_and_a_double_invoke_an_error() {
        use OpType::*;
        // A lone completion is an op of its own (a client's lone info too); a second invocation
        // while one is open is not something a real run does, and is named.
        let r = stats(&[
            op(Ok, 0, "read"),
            op(Info, 0, "add"),
            op(Invoke, 0, "read"),
            op(Ok, 0, "read"),
        ]);
        assert_eq!(r.figures["ok"], json!(2), "{:?}", r.figures);
        assert_eq!(r.figures["by-f"]["add"]["info"], json!(1));
        let mut double = vec![op(Invoke, 0, "read"), op(Invoke, 0, "read")];
        double[1].index = 1;
        let e = check(vec![Box::new(Stats::default())], &double).unwrap_err();
        assert!(e.to_string().contains("invokes op 1 while its op 0"), "{e}");
    }
}
