//! Tiny histories in a compact notation: a transaction is `"a x 1; r y 1 2"` — `a k v` appends,
//! `w k v` writes, `r k ...` reads (a list's elements; a register's value, none for nil).

use super::*;
use crate::check;

/// A history being written: ops in order, at times 0, 10, 20, ...
#[derive(Default)]
struct H(Vec<Op>);

fn mops(text: &str, invoke: bool) -> Value {
    let items = text
        .split(';')
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(|m| {
            let parts: Vec<&str> = m.split_whitespace().collect();
            let f = match parts[0] {
                "a" => "append",
                other => other,
            };
            let k = Value::from(parts[1]);
            let rest: Vec<i64> = parts[2..].iter().map(|x| x.parse().unwrap()).collect();
            let v = match (f, invoke) {
                ("r", true) => Value::Nil,
                ("r", false) => Value::List(rest.iter().map(|&x| Value::Int(x)).collect()),
                _ => Value::Int(rest[0]),
            };
            Value::List(vec![Value::from(f), k, v])
        })
        .collect();
    Value::List(items)
}

/// Register reads: `r x 3` reads 3, `r x` reads nil.
fn reg_mops(text: &str, invoke: bool) -> Value {
    let Value::List(items) = mops(text, invoke) else {
        unreachable!()
    };
    Value::List(
        items
            .into_iter()
            .map(|m| {
                let Value::List(mut p) = m else {
                    unreachable!()
                };
                if p[0].as_str() == Some("r") {
                    p[2] = match &p[2] {
                        Value::List(xs) if xs.len() == 1 => xs[0].clone(),
                        _ => Value::Nil,
                    };
                }
                Value::List(p)
            })
            .collect(),
    )
}

impl H {
    fn push(&mut self, p: u64, kind: OpType, value: Value) -> &mut H {
        let i = self.0.len() as u64;
        self.0
            .push(Op::new(kind, Process::Client(p), "txn", value).at(i, i * 10));
        self
    }
    fn invoke(&mut self, p: u64, t: &str) -> &mut H {
        self.push(p, OpType::Invoke, mops(t, true))
    }
    fn ok(&mut self, p: u64, t: &str) -> &mut H {
        self.push(p, OpType::Ok, mops(t, false))
    }
    /// Invoked and committed back to back.
    fn txn(&mut self, p: u64, t: &str) -> &mut H {
        self.invoke(p, t).ok(p, t)
    }
    fn failed(&mut self, p: u64, t: &str) -> &mut H {
        self.invoke(p, t).push(p, OpType::Fail, mops(t, true))
    }
    fn info(&mut self, p: u64, t: &str) -> &mut H {
        self.invoke(p, t).push(p, OpType::Info, mops(t, true))
    }
    fn reg(&mut self, p: u64, t: &str) -> &mut H {
        self.push(p, OpType::Invoke, reg_mops(t, true))
            .push(p, OpType::Ok, reg_mops(t, false))
    }
    fn check(&self, flavor: Flavor, models: &[&str]) -> CheckResult {
        let models: Vec<String> = models.iter().map(|m| m.to_string()).collect();
        let elle = Elle::new(flavor, &models);
        check(vec![Box::new(elle)], &self.0)
            .expect("the history pairs")
            .results
            .remove(0)
    }
    fn lists(&self, models: &[&str]) -> CheckResult {
        self.check(Flavor::ListAppend, models)
    }
}

fn found(r: &CheckResult, kind: &str) -> bool {
    r.anomaly_counts.contains_key(kind)
}

const STRICT: &[&str] = &["strict-serializable"];

#[test]
fn g0_write_cycle() {
    let mut h = H::default();
    h.invoke(0, "a x 1; a y 1").invoke(1, "a x 2; a y 2");
    h.ok(0, "a x 1; a y 1").ok(1, "a x 2; a y 2");
    let mut bad = H(h.0.clone());
    bad.txn(2, "r x 1 2; r y 2 1");
    let r = bad.lists(&["read-uncommitted"]);
    assert!(found(&r, "G0"), "{}", r.summary);
    assert_eq!(r.valid, Validity::False);
    assert!(
        r.summary.contains("rules out read-uncommitted"),
        "{}",
        r.summary
    );
    h.txn(2, "r x 1 2; r y 1 2");
    let r = h.lists(STRICT);
    assert_eq!(r.valid, Validity::True, "{} {:?}", r.summary, r.anomalies);
}

#[test]
fn g1c_circular_information_flow() {
    let mut h = H::default();
    h.invoke(0, "a x 1; r y").invoke(1, "a y 2; r x");
    let mut bad = H(h.0.clone());
    bad.ok(0, "a x 1; r y 2").ok(1, "a y 2; r x 1");
    let r = bad.lists(&["read-committed"]);
    assert!(found(&r, "G1c"), "{}", r.summary);
    let a = r.anomalies.iter().find(|a| a.kind == "G1c").unwrap();
    assert!(
        a.explanation
            .contains("because T1 observed T0's append of 1 to x"),
        "{}",
        a.explanation
    );
    assert!(a.explanation.contains("a contradiction"));
    let dot = a.dot.as_ref().unwrap();
    assert!(
        dot.starts_with("digraph")
            && dot.contains("0 -> 1 [ label = \"wr\"]")
            && dot.contains("T0 ("),
        "{dot}"
    );
    h.ok(0, "a x 1; r y 2").ok(1, "a y 2; r x");
    h.txn(2, "r x 1");
    let r = h.lists(&["read-committed"]);
    assert_eq!(r.valid, Validity::True, "{} {:?}", r.summary, r.anomalies);
}

/// T0 and T1 each read both keys empty and append to one: write skew.
fn write_skew() -> H {
    let mut h = H::default();
    h.invoke(0, "r x; r y; a x 1").invoke(1, "r x; r y; a y 1");
    h.ok(0, "r x; r y; a x 1").ok(1, "r x; r y; a y 1");
    h.txn(2, "r x 1; r y 1");
    h
}

#[test]
fn write_skew_is_g2_item_valid_under_snapshot_isolation_not_serializable() {
    let h = write_skew();
    let si = h.lists(&["snapshot-isolation"]);
    assert!(found(&si, "G2-item"), "{} {:?}", si.summary, si.anomalies);
    assert!(!found(&si, "G-single") && !found(&si, "G-nonadjacent"));
    assert_eq!(si.valid, Validity::True, "{}", si.summary);
    let ser = h.lists(&["serializable"]);
    assert_eq!(ser.valid, Validity::False);
    assert!(
        ser.summary.contains("rules out repeatable-read"),
        "{}",
        ser.summary
    );
}

#[test]
fn write_skew_with_appends_no_read_shows_is_still_g2_item() {
    // Elle's rule: an append no read observed follows its key's longest read (here the initial
    // state), so both empty reads anti-depend on the other transaction's append.
    let mut h = H::default();
    h.invoke(0, "r x; r y; a x 1").invoke(1, "r x; r y; a y 1");
    h.ok(0, "r x; r y; a x 1").ok(1, "r x; r y; a y 1");
    let ser = h.lists(&["serializable"]);
    assert!(
        found(&ser, "G2-item"),
        "{} {:?}",
        ser.summary,
        ser.anomalies
    );
    assert_eq!(ser.valid, Validity::False);
    assert_eq!(h.lists(&["snapshot-isolation"]).valid, Validity::True);
}

#[test]
fn a_stale_read_of_the_last_observed_state_is_found_when_the_next_append_is_never_read() {
    // T0 appends 1 (read back by T1), T2 appends 2 and commits; T3, begun after T2 committed,
    // still reads [1]. Nobody ever reads 2: without Elle's rule the stale read goes unseen.
    let mut h = H::default();
    h.txn(0, "a x 1")
        .txn(1, "r x 1")
        .txn(2, "a x 2")
        .txn(3, "r x 1");
    let r = h.lists(STRICT);
    assert_eq!(r.valid, Validity::False, "{} {:?}", r.summary, r.anomalies);
    assert!(
        r.anomaly_counts.keys().any(|k| k.ends_with("-realtime")),
        "{:?}",
        r.anomaly_counts
    );
    assert_eq!(h.lists(&["serializable"]).valid, Validity::True);
    // An indeterminate append nobody saw may never have happened: no edge, no anomaly.
    let mut h = H::default();
    h.txn(0, "a x 1")
        .txn(1, "r x 1")
        .info(2, "a x 2")
        .txn(3, "r x 1");
    assert_eq!(h.lists(STRICT).valid, Validity::True);
}

#[test]
fn a_write_overlapping_a_slow_one_still_makes_a_later_read_of_the_old_value_stale() {
    // w1 completes; w2 is invoked and stays open; w3 is invoked and completes; then a read of
    // 1 begins. w3 followed w1 in real time and completed before the read: the read is stale.
    let mut h = H::default();
    h.reg(0, "w x 1");
    h.push(1, OpType::Invoke, reg_mops("w x 2", true));
    h.reg(2, "w x 3");
    h.reg(3, "r x 1");
    h.push(1, OpType::Ok, reg_mops("w x 2", false));
    let r = h.check(Flavor::RwRegister, STRICT);
    assert_eq!(r.valid, Validity::False, "{} {:?}", r.summary, r.anomalies);
    assert!(
        r.anomaly_counts.keys().any(|k| k.ends_with("-realtime")),
        "{:?}",
        r.anomaly_counts
    );
    // Without the real-time promise, reading the old value is allowed.
    assert_eq!(
        h.check(Flavor::RwRegister, &["serializable"]).valid,
        Validity::True
    );
}

#[test]
fn rw_register_reads_that_disagree_within_a_transaction_are_internal_and_unwritten_values_garbage()
{
    let mut h = H::default();
    h.reg(0, "w x 1").reg(1, "w x 2");
    h.reg(2, "r x 1; r x 2");
    let r = h.check(Flavor::RwRegister, &["read-uncommitted"]);
    assert!(found(&r, "internal"), "{} {:?}", r.summary, r.anomalies);
    assert_eq!(r.valid, Validity::False);
    // Agreeing reads, or a write of its own between them, are fine.
    let mut ok = H::default();
    ok.reg(0, "w x 1")
        .reg(2, "r x 1; r x 1")
        .reg(3, "r x 1; w x 5; r x 5");
    assert_eq!(ok.check(Flavor::RwRegister, STRICT).valid, Validity::True);
    // A value nobody wrote.
    let mut g = H::default();
    g.reg(0, "w x 1").reg(1, "r x 7");
    let r = g.check(Flavor::RwRegister, &["read-uncommitted"]);
    assert!(found(&r, "garbage-read"), "{} {:?}", r.summary, r.anomalies);
    assert_eq!(r.valid, Validity::False);
}

#[test]
fn explanations_name_each_transactions_own_process() {
    // Processes 7 and 3 (not the order rift first met them in).
    let mut h = H::default();
    h.invoke(7, "a x 1; r y").invoke(3, "a y 2; r x");
    h.ok(7, "a x 1; r y 2").ok(3, "a y 2; r x 1");
    let r = h.lists(&["read-committed"]);
    let a = r.anomalies.iter().find(|a| a.kind == "G1c").unwrap();
    assert!(a.explanation.contains("process 7)"), "{}", a.explanation);
    assert!(a.explanation.contains("process 3)"), "{}", a.explanation);
}

#[test]
fn a_history_of_completions_only_is_judged_without_real_time_or_process_order() {
    // Elle's test histories often hold only completions. G1c is there whatever the order...
    let mut h = H::default();
    h.ok(0, "a x 1; r y 2").ok(1, "a y 2; r x 1");
    let r = h.lists(&["read-committed"]);
    assert!(found(&r, "G1c"), "{} {:?}", r.summary, r.anomalies);
    // ...but a read of an older state is no real-time anomaly: when it began is unknown.
    let mut h = H::default();
    h.ok(0, "a x 1")
        .ok(1, "r x 1")
        .ok(2, "a x 2")
        .ok(3, "r x 1")
        .ok(4, "r x 1 2");
    let r = h.lists(STRICT);
    assert_eq!(r.valid, Validity::True, "{} {:?}", r.summary, r.anomalies);
}

#[test]
fn a_read_of_nil_precedes_every_first_version_not_just_the_first_sixty_four() {
    // 70 first versions of x; the last of them also wrote z, which T read while it read x as
    // nil: T anti-depends on that writer and depends on it — G-single.
    let mut h = H::default();
    for i in 1..70 {
        h.reg(i, &format!("w x {i}"));
    }
    h.reg(70, "w x 70; w z 1");
    h.reg(71, "r z 1; r x");
    let r = h.check(Flavor::RwRegister, &["serializable"]);
    assert!(
        found(&r, "G-single"),
        "{} {:?}",
        r.summary,
        r.anomaly_counts
    );
    assert_eq!(r.figures["initial-state-edges-cut"], 0);
}

#[test]
fn micro_ops_of_another_workload_are_an_input_error() {
    let mut h = H::default();
    h.reg(0, "w x 1").reg(1, "r x 1");
    let r = h.lists(STRICT);
    assert_eq!(r.valid, Validity::Unknown);
    assert!(
        r.summary.starts_with("input error: the micro-op"),
        "{}",
        r.summary
    );
}

#[test]
fn g_single_read_skew() {
    // T0 reads x before T1's append but sees T1's append to y.
    let mut h = H::default();
    h.invoke(0, "r x; r y").invoke(1, "a x 1; a y 1");
    h.ok(1, "a x 1; a y 1").ok(0, "r x; r y 1");
    h.txn(2, "r x 1");
    let r = h.lists(&["snapshot-isolation"]);
    assert!(found(&r, "G-single"), "{} {:?}", r.summary, r.anomalies);
    assert_eq!(r.valid, Validity::False);
    // Consistent reads: nothing.
    let mut ok = H::default();
    ok.invoke(0, "r x; r y").invoke(1, "a x 1; a y 1");
    ok.ok(1, "a x 1; a y 1").ok(0, "r x 1; r y 1");
    assert_eq!(ok.lists(STRICT).valid, Validity::True);
}

#[test]
fn realtime_and_process_variants() {
    // T0 commits x=1; then T1, begun later by another process, reads x empty.
    let mut h = H::default();
    h.txn(0, "a x 1").txn(1, "r x").txn(2, "r x 1");
    let r = h.lists(&["serializable"]);
    assert_eq!(r.valid, Validity::True, "{}", r.summary);
    let r = h.lists(STRICT);
    assert!(
        found(&r, "G-single-realtime"),
        "{} {:?}",
        r.summary,
        r.anomalies
    );
    assert_eq!(r.valid, Validity::False);
    assert!(
        r.summary.contains("strong-snapshot-isolation")
            || r.summary.contains("strict-serializable"),
        "{}",
        r.summary
    );
    // Concurrent instead: fine under strict serializability.
    let mut c = H::default();
    c.invoke(1, "r x")
        .invoke(0, "a x 1")
        .ok(0, "a x 1")
        .ok(1, "r x")
        .txn(2, "r x 1");
    assert_eq!(c.lists(STRICT).valid, Validity::True);
}

#[test]
fn a_process_edge_cycle_is_named_for_the_session_guarantee_and_agrees_with_session() {
    // Process 0 appends, then reads its key without it: read-your-writes.
    let mut h = H::default();
    h.txn(0, "a x 1").txn(0, "r x").txn(2, "r x 1");
    let r = h.lists(&["read-your-writes"]);
    assert!(
        found(&r, "read-your-writes"),
        "{} {:?}",
        r.summary,
        r.anomalies
    );
    assert_eq!(r.valid, Validity::False);
    let session = check(vec![Box::new(crate::Session::default())], &h.0)
        .unwrap()
        .results
        .remove(0);
    assert!(
        session.anomaly_counts.contains_key("read-your-writes"),
        "{}",
        session.summary
    );
    // Monotonic reads: process 0 sees 1, then not.
    let mut h = H::default();
    h.txn(1, "a x 1").txn(0, "r x 1").txn(0, "r x");
    let r = h.lists(&["monotonic-reads"]);
    assert!(
        found(&r, "monotonic-reads"),
        "{} {:?}",
        r.summary,
        r.anomalies
    );
    let session = check(vec![Box::new(crate::Session::default())], &h.0)
        .unwrap()
        .results
        .remove(0);
    assert!(session.anomaly_counts.contains_key("monotonic-reads"));
    // Monotonic writes: process 0 appends 1 then 2; the order has 2 first.
    let mut h = H::default();
    h.txn(0, "a x 1").txn(0, "a x 2").txn(1, "r x 2 1");
    let r = h.lists(&["monotonic-writes"]);
    assert!(
        found(&r, "monotonic-writes"),
        "{} {:?}",
        r.summary,
        r.anomalies
    );
    // None of it when each process sees its own and what it saw.
    let mut ok = H::default();
    ok.txn(0, "a x 1").txn(0, "r x 1").txn(1, "r x 1");
    assert_eq!(ok.lists(&["pram"]).valid, Validity::True);
}

#[test]
fn non_cycle_anomalies() {
    let cases: Vec<(&str, H)> = vec![
        ("G1a", {
            let mut h = H::default();
            h.failed(0, "a x 9").txn(1, "r x 9");
            h
        }),
        ("G1b", {
            let mut h = H::default();
            h.txn(0, "a x 1; a x 2").txn(1, "r x 1").txn(2, "r x 1 2");
            h
        }),
        ("internal", {
            let mut h = H::default();
            h.txn(0, "a x 1; r x");
            h
        }),
        ("duplicate-elements", {
            let mut h = H::default();
            h.txn(0, "a x 1").txn(1, "r x 1 1");
            h
        }),
        ("incompatible-order", {
            let mut h = H::default();
            h.txn(0, "a x 1")
                .txn(0, "a x 2")
                .txn(1, "r x 1 2")
                .txn(2, "r x 2 1");
            h
        }),
        ("lost-update", {
            let mut h = H::default();
            h.invoke(0, "r x; a x 1").invoke(1, "r x; a x 2");
            h.ok(0, "r x; a x 1").ok(1, "r x; a x 2").txn(2, "r x 1 2");
            h
        }),
        ("future-read", {
            let mut h = H::default();
            h.txn(0, "r x 1; a x 1");
            h
        }),
        ("dirty-update", {
            let mut h = H::default();
            h.failed(0, "a x 1").txn(1, "a x 2").txn(2, "r x 1 2");
            h
        }),
    ];
    for (kind, h) in cases {
        let r = h.lists(STRICT);
        assert!(found(&r, kind), "{kind}: {} {:?}", r.summary, r.anomalies);
        assert_eq!(r.valid, Validity::False, "{kind}");
    }
    // A crashed process's append may have happened: reading it is no anomaly.
    let mut h = H::default();
    h.info(0, "a x 1").txn(1, "r x 1");
    let r = h.lists(STRICT);
    assert_eq!(r.valid, Validity::True, "{} {:?}", r.summary, r.anomalies);
    assert_eq!(r.figures["indeterminate"], json!(1));
}

#[test]
fn rw_registers() {
    let mut h = H::default();
    h.push(0, OpType::Invoke, reg_mops("w x 1; r y", true))
        .push(1, OpType::Invoke, reg_mops("w y 1; r x", true));
    let mut bad = H(h.0.clone());
    bad.push(0, OpType::Ok, reg_mops("w x 1; r y 1", false))
        .push(1, OpType::Ok, reg_mops("w y 1; r x 1", false));
    let r = bad.check(Flavor::RwRegister, &["read-committed"]);
    assert!(found(&r, "G1c"), "{} {:?}", r.summary, r.anomalies);
    h.push(0, OpType::Ok, reg_mops("w x 1; r y 1", false)).push(
        1,
        OpType::Ok,
        reg_mops("w y 1; r x", false),
    );
    let r = h.check(Flavor::RwRegister, STRICT);
    assert_eq!(r.valid, Validity::True, "{} {:?}", r.summary, r.anomalies);
    // Both read nil and both wrote: a lost update.
    let mut h = H::default();
    h.push(0, OpType::Invoke, reg_mops("r x; w x 1", true))
        .push(1, OpType::Invoke, reg_mops("r x; w x 2", true))
        .push(0, OpType::Ok, reg_mops("r x; w x 1", false))
        .push(1, OpType::Ok, reg_mops("r x; w x 2", false));
    let r = h.check(Flavor::RwRegister, &["snapshot-isolation"]);
    assert!(found(&r, "lost-update"), "{} {:?}", r.summary, r.anomalies);
    // Reading one's own write is required.
    let mut h = H::default();
    h.reg(0, "w x 1; r x 2");
    assert!(found(&h.check(Flavor::RwRegister, STRICT), "internal"));
}

#[test]
fn g_nonadjacent_two_rw_edges_apart() {
    // T0 -rw-> T1 -wr-> T2 -rw-> T3 -wr-> T0, all concurrent; T4 fixes the orders of x and z.
    let concurrent = |t2: &'static str| {
        let mut h = H::default();
        let txns = [
            (0, "r x; r w 4"),
            (1, "a x 1; a y 2"),
            (2, t2),
            (3, "a z 3; a w 4"),
        ];
        for (p, t) in txns {
            h.invoke(p, t);
        }
        for (p, t) in txns {
            h.ok(p, t);
        }
        h.txn(4, "r x 1; r z 3");
        h.lists(&["snapshot-isolation"])
    };
    let r = concurrent("r y 2; r z");
    assert!(
        found(&r, "G-nonadjacent"),
        "{} {:?}",
        r.summary,
        r.anomalies
    );
    assert!(!found(&r, "G-single"), "{:?}", r.anomaly_counts);
    assert_eq!(r.valid, Validity::False);
    // With T2 reading z after T3's append, the cycle is broken.
    let r = concurrent("r y 2; r z 3");
    assert_eq!(r.valid, Validity::True, "{:?}", r.anomaly_counts);
}

#[test]
fn a_register_read_of_nil_precedes_every_first_version() {
    // T0 reads x as never written, yet sees T1's write of y: T1 wrote x too.
    let mut h = H::default();
    h.push(0, OpType::Invoke, reg_mops("r x; r y", true))
        .push(1, OpType::Invoke, reg_mops("w x 1; w y 1", true))
        .push(1, OpType::Ok, reg_mops("w x 1; w y 1", false))
        .push(0, OpType::Ok, reg_mops("r x; r y 1", false));
    let r = h.check(Flavor::RwRegister, &["snapshot-isolation"]);
    assert!(found(&r, "G-single"), "{} {:?}", r.summary, r.anomalies);
    let a = r.anomalies.iter().find(|a| a.kind == "G-single").unwrap();
    assert!(
        a.explanation.contains("read nil from x"),
        "{}",
        a.explanation
    );
    // Reading x as 1 too is consistent.
    let mut h = H::default();
    h.reg(1, "w x 1; w y 1").reg(0, "r x 1; r y 1");
    assert_eq!(h.check(Flavor::RwRegister, STRICT).valid, Validity::True);
}

#[test]
fn a_real_time_model_orders_register_versions_by_real_time() {
    // T0 writes 1; after it completes T1 writes 2; after that T2 reads 1.
    let mut h = H::default();
    h.reg(0, "w x 1").reg(1, "w x 2").reg(2, "r x 1");
    // Serializable alone implies no order between the writes: T2 may come before T1.
    let r = h.check(Flavor::RwRegister, &["serializable"]);
    assert_eq!(r.valid, Validity::True, "{} {:?}", r.summary, r.anomalies);
    // Strict serializability orders 1 before 2, so T2 read a version T1 had overwritten.
    let r = h.check(Flavor::RwRegister, STRICT);
    assert!(
        found(&r, "G-single-realtime"),
        "{} {:?}",
        r.summary,
        r.anomalies
    );
    // A strong-session model orders one process's writes: process 0 writes 1, then 2, then
    // reads 1 — a version its own later write had replaced.
    let mut h = H::default();
    h.reg(0, "w x 1").reg(0, "w x 2").reg(0, "r x 1");
    let r = h.check(Flavor::RwRegister, &["strong-session-serializable"]);
    assert!(
        found(&r, "G-single-process"),
        "{} {:?}",
        r.summary,
        r.anomalies
    );
    assert_eq!(
        h.check(Flavor::RwRegister, &["serializable"]).valid,
        Validity::True
    );
}
