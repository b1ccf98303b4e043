//! `linearizable`: is there one order of each key's operations that respects real time and is a
//! legal sequential history of its model? Knossos and Porcupine answer the same question.
//!
//! Models ([`model`]): `register` (read, write), `cas-register` (read, write, `cas [old new]`,
//! as Knossos' histories write them), `kv` (Porcupine's: `get`, `put`, `append` of strings, the
//! key in a `:key` field or as Jepsen's `[k v]`). The model is taken from the ops: `cas` makes a
//! register history a cas-register's; `get`/`put`/`append` make it a map's. Values are compared
//! as written (`nil` is a register's initial value, `""` a map key's).
//!
//! What the ops mean, as Knossos reads them:
//! - an `ok` op took effect once, between its invocation and its completion;
//! - a `fail` op did not take effect: it is dropped;
//! - an `info` op (and an invocation never completed) may have taken effect at any time after
//!   its invocation, or never; an indeterminate read is dropped (it constrains nothing);
//! - a completion with no invocation recorded (a completions-only history) may have taken
//!   effect at any time before it completed.
//!
//! Real time is the history's order (op indexes), as in Knossos: an op whose completion comes
//! before another's invocation precedes it.
//!
//! Each key is its own register (P-compositionality: a history is linearizable exactly when
//! every key's sub-history is), checked on its own, keys in parallel across threads; results are
//! merged in key order, so they do not depend on the number of threads. A key's search
//! ([`search`]) has a time and a memory budget; a key out of budget is `unknown` with how far the
//! search got. The verdict: `false` if any key is not linearizable, else `unknown` if any key
//! ran out of budget, else `true`.
//!
//! For a key that is not linearizable the witness is the longest linearizable prefix the search
//! found, the op that could not be placed after it, and the ops concurrent with that op: told in
//! a paragraph and drawn as a timeline ([`crate::Bar`]).
//!
//! Memory: about 64 bytes per op kept (reads and writes alike: any op can constrain any other),
//! plus each key's search while it runs (its memo: 24 bytes per configuration reached).

pub mod model;
mod search;

pub use search::{Budget, Spent};

use crate::util::{key_label, show, split_keyed};
use crate::{Anomaly, Bar, CheckResult, Checker, Event, Validity};
use history::{Op, OpType, Process, Value};
use model::{Call, CasRegister, Kv, Model, Register};
use rustc_hash::FxHashMap;
use search::{Effort, Outcome, SearchOp};
use serde_json::json;
use std::sync::atomic::{AtomicUsize, Ordering};

/// How the checker runs: each key's budget, and how many keys at once.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    pub budget: Budget,
    /// Threads checking keys at once (at least one).
    pub threads: usize,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            budget: Budget::default(),
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        }
    }
}

/// The ops' vocabulary: a register's or a map's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Register,
    Kv,
}

/// One op of a key, with what a witness needs to show it.
#[derive(Debug, Clone, Copy)]
struct KeptOp {
    search: SearchOp,
    /// The invocation's index (the completion's for a lone completion).
    index: u64,
    call_time: u64,
    ret_time: Option<u64>,
    process: u32,
}

/// A key's values by number (`nil`, or for maps `""`, is 0) and its ops.
#[derive(Debug, Default)]
struct KeyOps {
    values: Vec<Value>,
    ints: FxHashMap<i64, u32>,
    others: FxHashMap<String, u32>,
    ops: Vec<KeptOp>,
}

impl KeyOps {
    /// A value's number; the first is the initial value (`nil`, for a map's key `""`).
    fn number(&mut self, v: &Value, kv: bool) -> u32 {
        if self.values.is_empty() {
            let first = if kv {
                Value::Str(String::new())
            } else {
                Value::Nil
            };
            self.others.insert(show(&first), 0);
            self.values.push(first);
        }
        let next = self.values.len() as u32;
        let id = match v {
            Value::Int(i) => *self.ints.entry(*i).or_insert(next),
            other => *self.others.entry(show(other)).or_insert(next),
        };
        if id == next {
            self.values.push(v.clone());
        }
        id
    }
}

/// See the module documentation.
#[derive(Debug)]
pub struct Linearizable {
    settings: Settings,
    keys: crate::util::Keys,
    per_key: Vec<KeyOps>,
    /// Open invocations: index → (time, a `:key` field, process).
    open: FxHashMap<u64, (u64, Option<Value>, u32)>,
    processes: Vec<Process>,
    process_ids: FxHashMap<Process, u32>,
    family: Option<Family>,
    cas: bool,
    /// The first op of the other family (a history mixing a register's ops and a map's).
    mixed: Option<(u64, String)>,
    /// The first malformed op: index and what is wrong.
    malformed: Option<(u64, String)>,
    dropped_reads: u64,
    /// Final reads (rift's, each on one node's own replica after the faults): not judged.
    final_reads: u64,
    failed: u64,
    indeterminate: u64,
    other_fs: std::collections::BTreeMap<String, u64>,
}

impl Default for Linearizable {
    fn default() -> Linearizable {
        Linearizable::new(Settings::default())
    }
}

/// What an op does, by its function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Read,
    Write,
    Cas,
    Get,
    Put,
    Append,
}

fn kind_of(f: &str) -> Option<Kind> {
    Some(match f {
        "read" => Kind::Read,
        "write" => Kind::Write,
        "cas" => Kind::Cas,
        "get" => Kind::Get,
        "put" => Kind::Put,
        "append" => Kind::Append,
        _ => return None,
    })
}

impl Kind {
    fn family(self) -> Family {
        match self {
            Kind::Read | Kind::Write | Kind::Cas => Family::Register,
            _ => Family::Kv,
        }
    }
}

/// A map's value as a string: what Porcupine's kv model holds (`nil` is the empty string).
fn kv_value(v: &Value) -> Value {
    match v {
        Value::Nil => Value::Str(String::new()),
        Value::Str(_) => v.clone(),
        Value::Int(i) => Value::Str(i.to_string()),
        other => Value::Str(show(other)),
    }
}

/// A `:key` field, as Porcupine's kv histories name the key.
fn key_field(op: &Op) -> Option<Value> {
    op.extra
        .iter()
        .find(|(k, _)| k == "key")
        .map(|(_, v)| v.clone())
}

impl Linearizable {
    pub fn new(settings: Settings) -> Linearizable {
        Linearizable {
            settings,
            keys: Default::default(),
            per_key: Vec::new(),
            open: Default::default(),
            processes: Vec::new(),
            process_ids: Default::default(),
            family: None,
            cas: false,
            mixed: None,
            malformed: None,
            dropped_reads: 0,
            final_reads: 0,
            failed: 0,
            indeterminate: 0,
            other_fs: Default::default(),
        }
    }

    fn process(&mut self, p: &Process) -> u32 {
        if let Some(&id) = self.process_ids.get(p) {
            return id;
        }
        let id = self.processes.len() as u32;
        self.processes.push(p.clone());
        self.process_ids.insert(p.clone(), id);
        id
    }

    /// Keeps one op that may have taken effect. `asked` is what the invocation carried (or for a
    /// lone completion, the completion's value), `seen` what an ok read returned.
    #[allow(clippy::too_many_arguments)]
    fn keep(
        &mut self,
        kind: Kind,
        asked: &Value,
        seen: Option<&Value>,
        key_field: Option<Value>,
        index: u64,
        (call, ret): (u64, u64),
        (call_time, ret_time): (u64, Option<u64>),
        process: u32,
    ) {
        let family = kind.family();
        match self.family {
            None => self.family = Some(family),
            Some(f) if f != family => {
                self.mixed
                    .get_or_insert((index, format!("{kind:?}").to_lowercase()));
                return;
            }
            Some(_) => {}
        }
        let reads = matches!(kind, Kind::Read | Kind::Get);
        // The key: a `:key` field, else Jepsen's `[k v]` (a read's invocation is `[k nil]`).
        let keyed_by = if reads { seen.unwrap_or(asked) } else { asked };
        let (key, asked, seen) = match (&key_field, kind) {
            (Some(k), _) => (k.clone(), asked.clone(), seen.cloned()),
            (None, Kind::Cas) => match asked.as_seq() {
                Some([k, pair]) if pair.as_seq().is_some() => {
                    (k.clone(), pair.clone(), seen.cloned())
                }
                _ => (Value::Nil, asked.clone(), seen.cloned()),
            },
            (None, _) => {
                let (key, _) = split_keyed(keyed_by);
                if key.is_nil() {
                    (key, asked.clone(), seen.cloned())
                } else {
                    (
                        key,
                        split_keyed(asked).1.clone(),
                        seen.map(|s| split_keyed(s).1.clone()),
                    )
                }
            }
        };
        let slot = self.keys.slot(&key, &mut self.per_key);
        let k = &mut self.per_key[slot];
        let kv = family == Family::Kv;
        let mut num = |v: &Value| {
            if kv {
                k.number(&kv_value(v), true)
            } else {
                k.number(v, false)
            }
        };
        let c = match kind {
            Kind::Read => Call::Read(num(seen.as_ref().unwrap_or(&Value::Nil))),
            Kind::Get => Call::Get(num(seen.as_ref().unwrap_or(&Value::Nil))),
            Kind::Write => Call::Write(num(&asked)),
            Kind::Put => Call::Put(num(&asked)),
            Kind::Append => Call::Append(num(&asked)),
            Kind::Cas => match asked.as_seq() {
                Some([old, new]) => {
                    let (old, new) = (old.clone(), new.clone());
                    Call::Cas(num(&old), num(&new))
                }
                _ => {
                    self.malformed.get_or_insert((
                        index,
                        format!("a cas must carry [old new], not {}", show(&asked)),
                    ));
                    return;
                }
            },
        };
        if kind == Kind::Cas {
            self.cas = true;
        }
        self.per_key[slot].ops.push(KeptOp {
            search: SearchOp { call, ret, c },
            index,
            call_time,
            ret_time,
            process,
        });
    }
}

impl Checker for Linearizable {
    fn name(&self) -> &'static str {
        "linearizable"
    }

    fn observe(&mut self, event: &Event<'_>) {
        match *event {
            Event::Invoke(op) => {
                if kind_of(&op.f).is_some() && !op.is_final {
                    let process = self.process(&op.process);
                    self.open
                        .insert(op.index, (op.time, key_field(op), process));
                }
            }
            Event::Complete { invoked, op } => {
                let opened = self.open.remove(&invoked.index);
                let Some(kind) = kind_of(invoked.f) else {
                    *self.other_fs.entry(invoked.f.to_string()).or_default() += 1;
                    return;
                };
                if op.is_final {
                    self.final_reads += 1;
                    return;
                }
                let reads = matches!(kind, Kind::Read | Kind::Get);
                match op.kind {
                    OpType::Fail => {
                        self.failed += 1;
                        return;
                    }
                    OpType::Info if reads => {
                        self.dropped_reads += 1;
                        return;
                    }
                    OpType::Info => self.indeterminate += 1,
                    _ => {}
                }
                let ok = op.kind == OpType::Ok;
                // A lone completion may have taken effect any time before it completed.
                let (call, call_time) = match (invoked.alone, &opened) {
                    (false, Some((t, _, _))) => (invoked.index, *t),
                    _ => (0, 0),
                };
                let asked = if invoked.alone {
                    &op.value
                } else {
                    invoked.value
                };
                let key = key_field(op).or_else(|| opened.and_then(|(_, k, _)| k));
                let process = self.process(&op.process);
                self.keep(
                    kind,
                    asked,
                    (reads && ok).then_some(&op.value),
                    key,
                    invoked.index,
                    (call, if ok { op.index } else { u64::MAX }),
                    (call_time, ok.then_some(op.time)),
                    process,
                );
            }
            Event::Unfinished(invoked) => {
                let opened = self.open.remove(&invoked.index);
                let Some(kind) = kind_of(invoked.f) else {
                    return;
                };
                // An invocation that was not kept is a final read's.
                let Some((time, key, process)) = opened else {
                    self.final_reads += 1;
                    return;
                };
                if matches!(kind, Kind::Read | Kind::Get) {
                    self.dropped_reads += 1;
                    return;
                }
                self.indeterminate += 1;
                self.keep(
                    kind,
                    invoked.value,
                    None,
                    key,
                    invoked.index,
                    (invoked.index, u64::MAX),
                    (time, None),
                    process,
                );
            }
            Event::Other(_) => {}
        }
    }

    fn finish(self: Box<Self>) -> CheckResult {
        let me = *self;
        let ops: usize = me.per_key.iter().map(|k| k.ops.len()).sum();
        let name = "linearizable";
        if let Some((index, what)) = &me.malformed {
            return CheckResult::new(
                name,
                Validity::Unknown,
                format!("not judged: op {index} is malformed: {what}"),
            );
        }
        if let Some((index, f)) = &me.mixed {
            return CheckResult::new(
                name,
                Validity::Unknown,
                format!(
                    "not judged: op {index} ({f}) is a map's, the ops before it a register's \
                     (or the other way round); a history is checked against one model"
                ),
            );
        }
        let Some(family) = me.family else {
            let others: Vec<String> = me.other_fs.keys().cloned().collect();
            return CheckResult::not_applicable(
                name,
                format!(
                    "not judged: no read, write, cas, get, put or append completed{}",
                    if others.is_empty() {
                        String::new()
                    } else {
                        format!(" (functions seen: {})", others.join(", "))
                    }
                ),
            );
        };
        let model_name = match (family, me.cas) {
            (Family::Kv, _) => "kv",
            (Family::Register, true) => "cas-register",
            (Family::Register, false) => "register",
        };
        let keys = me.per_key.len();
        let outcomes = run_keys(&me.per_key, family, me.cas, &me.settings);
        judge(&me, model_name, ops, keys, outcomes)
    }
}

/// Each key's outcome, in key order, whatever the number of threads.
fn run_keys(
    per_key: &[KeyOps],
    family: Family,
    cas: bool,
    settings: &Settings,
) -> Vec<(Outcome, Effort)> {
    let one = |k: &KeyOps| -> (Outcome, Effort) {
        let ops: Vec<SearchOp> = k.ops.iter().map(|o| o.search).collect();
        let budget = &settings.budget;
        match (family, cas) {
            (Family::Kv, _) => search::search(&ops, &mut kv_model(k), budget),
            (Family::Register, true) => search::search(&ops, &mut CasRegister, budget),
            (Family::Register, false) => search::search(&ops, &mut Register, budget),
        }
    };
    // A few thousand ops are searched sooner than threads start.
    let total: usize = per_key.iter().map(|k| k.ops.len()).sum();
    let threads = if total < 2048 {
        1
    } else {
        settings.threads.clamp(1, per_key.len().max(1))
    };
    if threads == 1 {
        return per_key.iter().map(one).collect();
    }
    let next = AtomicUsize::new(0);
    let work = || {
        let mut mine = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(k) = per_key.get(i) else { break };
            mine.push((i, one(k)));
        }
        mine
    };
    let mut done: Vec<(usize, (Outcome, Effort))> = std::thread::scope(|s| {
        // This thread is one of the workers.
        let helpers: Vec<_> = (1..threads).map(|_| s.spawn(work)).collect();
        let mut all = work();
        for h in helpers {
            all.extend(h.join().unwrap_or_default());
        }
        all
    });
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, o)| o).collect()
}

fn kv_model(k: &KeyOps) -> Kv {
    let strings = if k.values.is_empty() {
        vec![String::new()]
    } else {
        k.values
            .iter()
            .map(|v| v.as_str().unwrap_or_default().to_owned())
            .collect()
    };
    Kv::new(strings)
}

/// The values a key's model can hold: its table, then what appends made (replayed).
struct Shown<'a> {
    key: &'a KeyOps,
    kv: Option<Kv>,
}

impl Shown<'_> {
    fn value(&self, id: u32) -> String {
        match &self.kv {
            Some(kv) => format!("{:?}", kv.string(id)),
            None => show(&self.key.values[id as usize]),
        }
    }

    fn call(&self, c: Call) -> String {
        match c {
            Call::Read(v) => format!("read → {}", self.value(v)),
            Call::Write(v) => format!("write {}", self.value(v)),
            Call::Cas(a, b) => format!("cas {} → {}", self.value(a), self.value(b)),
            Call::Get(v) => format!("get → {}", self.value(v)),
            Call::Put(v) => format!("put {}", self.value(v)),
            Call::Append(v) => format!("append {}", self.value(v)),
        }
    }
}

/// The state after a prefix, replayed through a fresh model (with the model, for appends' strings).
fn replay(k: &KeyOps, family: Family, cas: bool, prefix: &[u32]) -> (u32, Option<Kv>) {
    fn run<M: Model<State = u32>>(m: &mut M, k: &KeyOps, prefix: &[u32]) -> u32 {
        let mut s = m.init();
        for &i in prefix {
            // The search placed these in this order: each step is legal.
            s = m.step(s, k.ops[i as usize].search.c).unwrap_or(s);
        }
        m.value_of(s)
    }
    match (family, cas) {
        (Family::Kv, _) => {
            let mut m = kv_model(k);
            let s = run(&mut m, k, prefix);
            (s, Some(m))
        }
        (Family::Register, true) => (run(&mut CasRegister, k, prefix), None),
        (Family::Register, false) => (run(&mut Register, k, prefix), None),
    }
}

/// Ops shown around a failure: the last of the prefix, the op blocked, and those concurrent.
const SHOWN_PREFIX: usize = 8;
const SHOWN_CONCURRENT: usize = 24;

fn judge(
    me: &Linearizable,
    model_name: &str,
    ops: usize,
    keys: usize,
    outcomes: Vec<(Outcome, Effort)>,
) -> CheckResult {
    let family = me.family.unwrap_or(Family::Register);
    let mut not = Vec::new();
    let mut out_of_budget = Vec::new();
    let (mut steps, mut peak_bytes, mut peak_memo) = (0u64, 0usize, 0usize);
    let mut slowest = std::time::Duration::ZERO;
    for (slot, (outcome, effort)) in outcomes.iter().enumerate() {
        steps += effort.steps;
        peak_bytes = peak_bytes.max(effort.bytes);
        peak_memo = peak_memo.max(effort.memo);
        slowest = slowest.max(effort.elapsed);
        match outcome {
            Outcome::Linearizable => {}
            Outcome::Not { prefix, blocked } => not.push((slot, prefix, *blocked)),
            Outcome::OutOfBudget { spent, placed } => out_of_budget.push((slot, *spent, *placed)),
        }
    }
    let valid = if !not.is_empty() {
        Validity::False
    } else if !out_of_budget.is_empty() {
        Validity::Unknown
    } else {
        Validity::True
    };
    let key_name = |slot: usize| match me.keys.value(slot as u32) {
        Value::Nil => "the register".to_owned(),
        k => format!("key {}", show(k)),
    };
    let summary = match valid {
        Validity::True => format!(
            "{ops} ops on {keys} key{} linearizable as a {model_name}",
            if keys == 1 { "" } else { "s" }
        ),
        Validity::False => format!(
            "{} of {keys} key{} not linearizable as a {model_name} (first: {})",
            not.len(),
            if keys == 1 { "" } else { "s" },
            key_name(not[0].0)
        ),
        Validity::Unknown => {
            let (slot, spent, placed) = out_of_budget[0];
            format!(
                "unknown: {} of {keys} key{} ran out of budget; {} out of its {} budget after \
                 placing {placed} of its {} ops (the others are linearizable)",
                out_of_budget.len(),
                if keys == 1 { "" } else { "s" },
                key_name(slot),
                match spent {
                    Spent::Time => "time",
                    Spent::Memory => "memory",
                },
                me.per_key[slot].ops.len()
            )
        }
    };
    let mut result = CheckResult::new("linearizable", valid, summary);
    let f = &mut result.figures;
    f.insert("model".into(), json!(model_name));
    f.insert("keys".into(), json!(keys));
    f.insert("ops".into(), json!(ops));
    f.insert("indeterminate".into(), json!(me.indeterminate));
    f.insert("failed-dropped".into(), json!(me.failed));
    f.insert("reads-dropped".into(), json!(me.dropped_reads));
    f.insert("final-reads-skipped".into(), json!(me.final_reads));
    f.insert("keys-nonlinearizable".into(), json!(not.len()));
    f.insert("keys-out-of-budget".into(), json!(out_of_budget.len()));
    f.insert("search-steps".into(), json!(steps));
    f.insert("memo-peak-configurations".into(), json!(peak_memo));
    f.insert("search-peak-bytes".into(), json!(peak_bytes));
    f.insert(
        "slowest-key-ms".into(),
        json!((slowest.as_secs_f64() * 1e3 * 10.0).round() / 10.0),
    );
    if !out_of_budget.is_empty() {
        let listed: Vec<serde_json::Value> = out_of_budget
            .iter()
            .take(crate::util::WITNESSES)
            .map(|&(slot, spent, placed)| {
                json!({
                    "key": me.keys.value(slot as u32),
                    "budget": match spent { Spent::Time => "time", Spent::Memory => "memory" },
                    "placed": placed,
                    "ops": me.per_key[slot].ops.len(),
                })
            })
            .collect();
        f.insert("out-of-budget".into(), json!(listed));
    }
    if !me.other_fs.is_empty() {
        f.insert("other-functions".into(), json!(me.other_fs));
    }
    if !not.is_empty() {
        result
            .anomaly_counts
            .insert("nonlinearizable".into(), not.len() as u64);
    }
    for &(slot, prefix, blocked) in not.iter().take(crate::util::WITNESSES) {
        result
            .anomalies
            .push(witness(me, family, slot, prefix, blocked));
    }
    result
}

fn witness(
    me: &Linearizable,
    family: Family,
    slot: usize,
    prefix: &[u32],
    blocked: u32,
) -> Anomaly {
    let k = &me.per_key[slot];
    let (state, kv) = replay(k, family, me.cas, prefix);
    let shown = Shown { key: k, kv };
    let b = &k.ops[blocked as usize];
    let process = |o: &KeptOp| me.processes[o.process as usize].to_string();
    let secs = |ns: u64| format!("{:.3} s", ns as f64 / 1e9);
    let describe = |o: &KeptOp| {
        format!(
            "op {} ({} by process {})",
            o.index,
            shown.call(o.search.c),
            process(o)
        )
    };
    let in_prefix: FxHashMap<u32, usize> =
        prefix.iter().enumerate().map(|(at, &i)| (i, at)).collect();
    let overlaps = |o: &KeptOp| o.search.call < b.search.ret && b.search.call < o.search.ret;
    let concurrent: Vec<u32> = (0..k.ops.len() as u32)
        .filter(|&i| i != blocked && overlaps(&k.ops[i as usize]))
        .collect();
    let open: Vec<u32> = concurrent
        .iter()
        .copied()
        .filter(|i| !in_prefix.contains_key(i))
        .collect();
    let last: Vec<u32> = prefix[prefix.len().saturating_sub(SHOWN_PREFIX)..].to_vec();
    let key = key_label(me.keys.value(slot as u32));
    let mut text = format!(
        "No order of the {} ops{key} both respects real time and is a legal {} history. The \
         longest linearizable prefix the search found places {} of them",
        k.ops.len(),
        match (family, me.cas) {
            (Family::Kv, _) => "key-value",
            (Family::Register, true) => "cas-register",
            (Family::Register, false) => "register",
        },
        prefix.len()
    );
    if last.is_empty() {
        text.push_str(" (none: the first op to complete could not be placed)");
    } else {
        let shown_last: Vec<String> = last.iter().map(|&i| describe(&k.ops[i as usize])).collect();
        text.push_str(&format!(", ending {}", shown_last.join(", ")));
    }
    text.push_str(&format!(
        "; after it the value is {}. Next, {}, invoked at {} and completed at {}, had to take \
         effect before it completed",
        shown.value(state),
        describe(b),
        secs(b.call_time),
        b.ret_time.map_or("never".into(), secs)
    ));
    if open.is_empty() {
        text.push_str(", and no op concurrent with it was left to change the value first.");
    } else {
        let listed: Vec<String> = open
            .iter()
            .take(SHOWN_CONCURRENT)
            .map(|&i| describe(&k.ops[i as usize]))
            .collect();
        text.push_str(&format!(
            ", and no order of the ops still open around it ({}{}) lets it: each order tried \
             either breaks real time or gives some op a value it did not see.",
            listed.join(", "),
            if open.len() > SHOWN_CONCURRENT {
                format!(", and {} more", open.len() - SHOWN_CONCURRENT)
            } else {
                String::new()
            }
        ));
    }
    let mut shown_ops: Vec<u32> = last.clone();
    shown_ops.push(blocked);
    shown_ops.extend(concurrent.iter().copied().take(SHOWN_CONCURRENT));
    shown_ops.sort_unstable();
    shown_ops.dedup();
    let bars: Vec<Bar> = shown_ops
        .iter()
        .map(|&i| {
            let o = &k.ops[i as usize];
            Bar {
                index: o.index,
                process: process(o),
                label: shown.call(o.search.c),
                start: o.call_time,
                end: o.ret_time,
                order: in_prefix.get(&i).map(|&at| at as u64 + 1),
                failing: i == blocked,
            }
        })
        .collect();
    let mut witness_ops = vec![b.index];
    witness_ops.extend(
        open.iter()
            .take(SHOWN_CONCURRENT)
            .map(|&i| k.ops[i as usize].index),
    );
    witness_ops.extend(last.iter().map(|&i| k.ops[i as usize].index));
    Anomaly {
        kind: "nonlinearizable".into(),
        ops: witness_ops,
        explanation: text,
        dot: None,
        allowed: false,
        bars,
    }
}

#[cfg(test)]
mod tests;
