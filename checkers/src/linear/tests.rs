//! Known answers, on histories written as Knossos and Porcupine write them: EDN maps, no
//! `:index` (positions are the history's order), no nodes, small repeated values, `cas`,
//! crashed ops.

use super::*;
use crate::check;
use std::time::Duration;

fn edn(text: &str) -> Vec<Op> {
    history::edn::EdnReader::new(std::io::Cursor::new(text.as_bytes().to_vec()))
        .collect::<Result<Vec<_>, _>>()
        .expect("the history reads")
}

fn judge_with(text: &str, settings: Settings) -> CheckResult {
    check(vec![Box::new(Linearizable::new(settings))], &edn(text))
        .expect("the history pairs")
        .results
        .remove(0)
}

fn judge(text: &str) -> CheckResult {
    judge_with(text, Settings::default())
}

#[track_caller]
fn valid(text: &str) -> CheckResult {
    let r = judge(text);
    assert_eq!(r.valid, Validity::True, "{}\n{r:#?}", r.summary);
    r
}

#[track_caller]
fn invalid(text: &str) -> CheckResult {
    let r = judge(text);
    assert_eq!(r.valid, Validity::False, "{}", r.summary);
    assert_eq!(r.anomaly_counts.get("nonlinearizable"), Some(&1));
    r
}

#[test]
fn a_read_that_sees_a_write_before_it_was_invoked_is_not_linearizable() {
    let r = invalid(
        "{:process 1, :type :invoke, :f :read, :value nil}
         {:process 1, :type :ok, :f :read, :value 1}
         {:process 0, :type :invoke, :f :write, :value 1}
         {:process 0, :type :ok, :f :write, :value 1}",
    );
    let a = &r.anomalies[0];
    // The read (op 0) is the op that cannot be placed: nothing was placed before it.
    assert_eq!(a.ops[0], 0);
    assert!(a.explanation.contains("read → 1"), "{}", a.explanation);
    assert!(
        a.explanation.contains("places 0 of them"),
        "{}",
        a.explanation
    );
    assert!(a.bars.iter().any(|b| b.failing && b.index == 0));
    assert_eq!(r.figures["model"], "register");
    // Concurrent, the same ops are linearizable.
    valid(
        "{:process 1, :type :invoke, :f :read, :value nil}
         {:process 0, :type :invoke, :f :write, :value 1}
         {:process 1, :type :ok, :f :read, :value 1}
         {:process 0, :type :ok, :f :write, :value 1}",
    );
}

#[test]
fn two_concurrent_writes_read_in_both_orders_by_two_readers_is_not_linearizable() {
    let writes_open = "{:process 0, :type :invoke, :f :write, :value 1}
         {:process 1, :type :invoke, :f :write, :value 2}";
    let writes_done = "{:process 0, :type :ok, :f :write, :value 1}
         {:process 1, :type :ok, :f :write, :value 2}";
    let reads = |a: [i64; 2], b: [i64; 2]| {
        format!(
            "{{:process 2, :type :invoke, :f :read, :value nil}}
             {{:process 2, :type :ok, :f :read, :value {}}}
             {{:process 3, :type :invoke, :f :read, :value nil}}
             {{:process 3, :type :ok, :f :read, :value {}}}
             {{:process 2, :type :invoke, :f :read, :value nil}}
             {{:process 2, :type :ok, :f :read, :value {}}}
             {{:process 3, :type :invoke, :f :read, :value nil}}
             {{:process 3, :type :ok, :f :read, :value {}}}",
            a[0], b[0], a[1], b[1]
        )
    };
    let r = invalid(&format!(
        "{writes_open}\n{}\n{writes_done}",
        reads([1, 2], [2, 1])
    ));
    assert!(
        r.anomalies[0].explanation.contains("write"),
        "{:?}",
        r.anomalies[0]
    );
    valid(&format!(
        "{writes_open}\n{}\n{writes_done}",
        reads([1, 2], [1, 2])
    ));
    valid(&format!(
        "{writes_open}\n{}\n{writes_done}",
        reads([1, 1], [1, 2])
    ));
    invalid(&format!(
        "{writes_open}\n{}\n{writes_done}",
        reads([2, 2], [1, 2])
    ));
}

#[test]
fn a_cas_that_succeeds_on_a_value_already_overwritten_is_not_linearizable() {
    let history = |cas: &str, outcome: &str| {
        format!(
            "{{:process 0, :type :invoke, :f :write, :value 1}}
             {{:process 0, :type :ok, :f :write, :value 1}}
             {{:process 1, :type :invoke, :f :write, :value 2}}
             {{:process 1, :type :ok, :f :write, :value 2}}
             {{:process 2, :type :invoke, :f :cas, :value {cas}}}
             {{:process 2, :type :{outcome}, :f :cas, :value {cas}}}
             {{:process 0, :type :invoke, :f :read, :value nil}}
             {{:process 0, :type :ok, :f :read, :value 3}}"
        )
    };
    let r = invalid(&history("[1 3]", "ok"));
    assert_eq!(r.figures["model"], "cas-register");
    let a = &r.anomalies[0];
    // After write 2 completed, no order lets the cas find 1.
    assert!(a.explanation.contains("cas 1 → 3"), "{}", a.explanation);
    valid(&history("[2 3]", "ok"));
    // A cas that failed did not happen: the read of 3 is then what is wrong.
    let r = invalid(&history("[2 3]", "fail"));
    assert_eq!(r.figures["failed-dropped"], 1);
}

#[test]
fn a_crashed_write_may_take_effect_later_or_never_but_only_once() {
    let crash = "{:process 0, :type :invoke, :f :write, :value 1}
                 {:process 0, :type :info, :f :write, :value 1, :error :timeout}";
    let read = |v: &str| {
        format!(
            "{{:process 1, :type :invoke, :f :read, :value nil}}
             {{:process 1, :type :ok, :f :read, :value {v}}}"
        )
    };
    valid(&format!(
        "{crash}\n{}\n{}\n{}",
        read("nil"),
        read("1"),
        read("1")
    ));
    valid(&format!("{crash}\n{}\n{}", read("nil"), read("nil")));
    invalid(&format!("{crash}\n{}\n{}", read("1"), read("nil")));
    // An invocation never completed is as indeterminate.
    valid(&format!(
        "{{:process 0, :type :invoke, :f :write, :value 1}}\n{}\n{}",
        read("nil"),
        read("1")
    ));
    // An indeterminate read constrains nothing, and is dropped.
    let r = valid(&format!(
        "{crash}\n{}\n{{:process 2, :type :invoke, :f :read, :value nil}}\n{{:process 2, :type :info, :f :read, :value nil}}",
        read("1")
    ));
    assert_eq!(r.figures["reads-dropped"], 1);
    assert_eq!(r.figures["indeterminate"], 1);
}

#[test]
fn keys_are_judged_apart_and_the_witness_names_the_bad_one() {
    // Jepsen's independent keys: `[k v]`. Key 7 is fine; key 9 reads a value before its write.
    let r = invalid(
        "{:process 0, :type :invoke, :f :write, :value [7 1]}
         {:process 0, :type :ok, :f :write, :value [7 1]}
         {:process 1, :type :invoke, :f :read, :value [7 nil]}
         {:process 1, :type :ok, :f :read, :value [7 1]}
         {:process 1, :type :invoke, :f :read, :value [9 nil]}
         {:process 1, :type :ok, :f :read, :value [9 2]}
         {:process 0, :type :invoke, :f :write, :value [9 2]}
         {:process 0, :type :ok, :f :write, :value [9 2]}",
    );
    assert_eq!(r.figures["keys"], 2);
    assert!(r.summary.contains("key 9"), "{}", r.summary);
    assert!(r.anomalies[0].explanation.contains("of key 9"));
}

#[test]
fn porcupine_kv_histories_are_judged_as_a_map_of_strings() {
    let h = |got: &str| {
        format!(
            "{{:process 0, :type :invoke, :f :put, :key \"x\", :value \"a\"}}
             {{:process 0, :type :ok, :f :put, :key \"x\", :value \"a\"}}
             {{:process 1, :type :invoke, :f :append, :key \"x\", :value \"b\"}}
             {{:process 2, :type :invoke, :f :get, :key \"y\", :value nil}}
             {{:process 2, :type :ok, :f :get, :key \"y\", :value \"\"}}
             {{:process 1, :type :ok, :f :append, :key \"x\", :value \"b\"}}
             {{:process 2, :type :invoke, :f :get, :key \"x\", :value nil}}
             {{:process 2, :type :ok, :f :get, :key \"x\", :value \"{got}\"}}"
        )
    };
    let r = valid(&h("ab"));
    assert_eq!(r.figures["model"], "kv");
    assert_eq!(r.figures["keys"], 2);
    let r = invalid(&h("ba"));
    assert!(
        r.anomalies[0].explanation.contains("get → \"ba\""),
        "{}",
        r.anomalies[0].explanation
    );
    // The value after the prefix is the append's result, a string no op wrote.
    assert!(
        r.anomalies[0].explanation.contains("\"ab\""),
        "{}",
        r.anomalies[0].explanation
    );
}

#[test]
fn a_completions_only_history_is_judged_without_real_time() {
    // No invocations: each op may have taken effect any time before it completed, so the
    // read of 1 may come after the write of 1, though recorded first.
    valid(
        "{:process 1, :type :ok, :f :read, :value 1}
         {:process 0, :type :ok, :f :write, :value 1}",
    );
    // But no order makes a read of 2 legal when nothing wrote 2.
    invalid(
        "{:process 1, :type :ok, :f :read, :value 2}
         {:process 0, :type :ok, :f :write, :value 1}",
    );
}

#[test]
fn a_mixed_or_malformed_history_is_not_judged_and_says_why() {
    let r = judge(
        "{:process 0, :type :invoke, :f :write, :value 1}
         {:process 0, :type :ok, :f :write, :value 1}
         {:process 0, :type :invoke, :f :get, :key \"x\", :value nil}
         {:process 0, :type :ok, :f :get, :key \"x\", :value \"\"}",
    );
    assert_eq!(r.valid, Validity::Unknown);
    assert!(r.summary.contains("op 2"), "{}", r.summary);
    let r = judge(
        "{:process 0, :type :invoke, :f :cas, :value 1}
         {:process 0, :type :ok, :f :cas, :value 1}",
    );
    assert_eq!(r.valid, Validity::Unknown);
    assert!(r.summary.contains("[old new]"), "{}", r.summary);
    let r = judge(
        "{:process 0, :type :invoke, :f :add, :value 1}
         {:process 0, :type :ok, :f :add, :value 1}",
    );
    assert!(!r.applicable, "{}", r.summary);
    assert!(r.summary.contains("add"), "{}", r.summary);
}

/// Writes of distinct values, all concurrent, and reads concurrent with them, each seeing one
/// of the values; then, after all of them, a read of `nil`, which no order allows: every
/// subset of the writes is a configuration to rule out.
fn defeating(n: usize) -> String {
    let mut h = String::new();
    for p in 0..n {
        h.push_str(&format!(
            "{{:process {p}, :type :invoke, :f :write, :value {p}}}\n"
        ));
    }
    for p in 0..n {
        h.push_str(&format!(
            "{{:process {}, :type :invoke, :f :read, :value nil}}\n",
            n + p
        ));
    }
    for p in 0..n {
        h.push_str(&format!(
            "{{:process {p}, :type :ok, :f :write, :value {p}}}\n"
        ));
    }
    for p in 0..n {
        h.push_str(&format!(
            "{{:process {}, :type :ok, :f :read, :value {p}}}\n",
            n + p
        ));
    }
    h.push_str("{:process 0, :type :invoke, :f :read, :value nil}\n{:process 0, :type :ok, :f :read, :value nil}\n");
    h
}

#[test]
fn a_search_out_of_its_memory_budget_is_unknown_and_says_how_far_it_got() {
    let tight = Settings {
        budget: Budget {
            time: Duration::from_secs(600),
            memory: 256 << 10,
        },
        threads: 1,
    };
    let r = judge_with(&defeating(40), tight);
    assert_eq!(r.valid, Validity::Unknown, "{}", r.summary);
    assert!(r.summary.contains("memory budget"), "{}", r.summary);
    assert_eq!(r.figures["keys-out-of-budget"], 1);
    let bytes = r.figures["search-peak-bytes"].as_u64().unwrap();
    assert!(bytes <= 256 << 10, "{bytes} bytes counted, over the budget");
    // Deterministic: the same budget runs out at the same step.
    let again = judge_with(&defeating(40), tight);
    assert_eq!(r.figures["search-steps"], again.figures["search-steps"]);
    // With room, the same history is decided: no write was of 999999.
    let roomy = Settings {
        budget: Budget {
            time: Duration::from_secs(600),
            memory: 1 << 30,
        },
        threads: 1,
    };
    assert_eq!(judge_with(&defeating(8), roomy).valid, Validity::False);
}

#[test]
fn results_are_the_same_on_one_thread_and_on_many() {
    let mut h = String::new();
    // Enough ops (400 keys, 64 each) that the keys are searched on threads, and each takes a
    // while: helper threads pick keys up, out of order.
    for k in 0..400 {
        let bad = k % 7 == 3;
        h.push_str(&format!(
            "{{:process 0, :type :invoke, :f :write, :value [{k} 1]}}
             {{:process 1, :type :invoke, :f :read, :value [{k} nil]}}
             {{:process 0, :type :ok, :f :write, :value [{k} 1]}}
             {{:process 1, :type :ok, :f :read, :value [{k} 1]}}
             {{:process 1, :type :invoke, :f :read, :value [{k} nil]}}
             {{:process 1, :type :ok, :f :read, :value [{k} {}]}}\n",
            if bad { "nil" } else { "1" }
        ));
        for v in 2..31 {
            h.push_str(&format!(
                "{{:process 0, :type :invoke, :f :write, :value [{k} {v}]}}
                 {{:process 0, :type :ok, :f :write, :value [{k} {v}]}}\n"
            ));
        }
    }
    let one = judge_with(
        &h,
        Settings {
            threads: 1,
            ..Settings::default()
        },
    );
    let many = judge_with(
        &h,
        Settings {
            threads: 8,
            ..Settings::default()
        },
    );
    assert_eq!(one.valid, Validity::False);
    assert_eq!(
        one.anomaly_counts["nonlinearizable"],
        (0..400).filter(|k| k % 7 == 3).count() as u64
    );
    let strip = |mut r: CheckResult| {
        r.figures.remove("slowest-key-ms");
        r
    };
    assert_eq!(strip(one), strip(many));
}

#[test]
fn final_reads_of_one_replica_are_not_judged() {
    // rift's final reads ask each node's own replica after the faults; a stale one there says
    // nothing about linearizability.
    let r = valid(
        "{:process 0, :type :invoke, :f :write, :value [0 1]}
         {:process 0, :type :ok, :f :write, :value [0 1]}
         {:process 0, :type :invoke, :f :write, :value [0 2]}
         {:process 0, :type :ok, :f :write, :value [0 2]}
         {:process 9, :type :invoke, :f :read, :value [0 nil], :final? true}
         {:process 9, :type :ok, :f :read, :value [0 1], :final? true}
         {:process 9, :type :invoke, :f :read, :value [0 nil], :final? true}",
    );
    assert_eq!(r.figures["final-reads-skipped"], 2);
    // Without the marker the same read is stale.
    let r = judge(
        "{:process 0, :type :invoke, :f :write, :value [0 1]}
         {:process 0, :type :ok, :f :write, :value [0 1]}
         {:process 0, :type :invoke, :f :write, :value [0 2]}
         {:process 0, :type :ok, :f :write, :value [0 2]}
         {:process 9, :type :invoke, :f :read, :value [0 nil]}
         {:process 9, :type :ok, :f :read, :value [0 1]}",
    );
    assert_eq!(r.valid, Validity::False);
}
