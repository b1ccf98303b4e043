//! `list-append` and `rw-register`: Elle's transactional analyses.
//!
//! Transactions (`txn` ops of `[f k v]` micro-ops: `append`/`r` on lists, `w`/`r` on registers)
//! are read once, in order, into compact records (a few words per transaction and micro-op;
//! list reads keep only their length: every read must be a prefix of the longest read of its
//! key, which is checked as the history streams, so a read's elements are the first `len` of
//! that version order).
//!
//! Non-cycle anomalies: `G1a` (aborted read), `G1b` (intermediate read), `internal`,
//! `duplicate-elements`, `incompatible-order`, `dirty-update`, `lost-update` (two committed
//! transactions read the same version of a key and both wrote it), `future-read` (a read shows
//! what its own transaction appends only later).
//!
//! Dependencies: ww, wr and rw from the version orders (lists: the longest read; registers: the
//! initial state, and a write that follows a read of the same key in one transaction), process
//! order, and real-time order as a transitive reduction (each transaction follows only the
//! frontier of transactions completed before it began, not every one of them).
//!
//! Cycles: strongly connected components by an iterative Tarjan over a CSR graph; inside each,
//! a shortest-cycle search per class of a declarative table (G0, G1c, G-single, G-nonadjacent,
//! G2-item, each also `-process` and `-realtime`), bounded by work done: out of budget, the
//! component is reported as `cycle-search-exhausted` and the verdict is unknown rather than a
//! hang. A cycle of one process edge and data edges is named for the session guarantee it
//! breaks (`read-your-writes`, `monotonic-reads`, `monotonic-writes`, `writes-follow-reads`).
//! G2-item here means two or more rw edges; a cycle with exactly one is G-single.
//!
//! The verdict: `false` when an anomaly the chosen models prohibit is found (others are listed,
//! and do not fail the check), with the weakest models the anomalies rule out.

pub(crate) mod graph;
pub use crate::models;

use crate::util::{Findings, Keys, show};

/// A key as people write it: strings bare.
fn key_text(v: &Value) -> String {
    v.as_str().map_or_else(|| show(v), str::to_owned)
}
use crate::{CheckResult, Checker, Event, Validity};
use graph::{Constraint, DATA, Exhausted, PROCESS, REALTIME, RW, RwRule, Searcher, WR, WW};
use history::{Op, OpType, Process, Value};
use rustc_hash::FxHashMap;
use serde_json::json;
use std::collections::BTreeMap;

/// Which data model the transactions use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    ListAppend,
    RwRegister,
}

const NONE: u64 = u64::MAX;
const NIL: i64 = i64::MIN;
/// In `writer`: the write is not its transaction's last to that key.
const INTERMEDIATE: u32 = 1 << 31;
/// In `writer`: the element has been met in its key's order (a second meeting is a duplicate).
const IN_ORDER: u32 = 1 << 30;
const NO_WRITER: u32 = u32::MAX;
/// Registers: edges from reads of nil to a key's first versions, at most, per key. Past it the
/// edges are cut short, said so in the figures, and a verdict that would be valid is unknown.
const ROOT_EDGES: usize = 1 << 20;

/// A write's tag: its transaction, and whether it is intermediate.
fn untag(tag: u32) -> (u32, bool) {
    (tag & !(INTERMEDIATE | IN_ORDER), tag & INTERMEDIATE != 0)
}
/// Search work (edges looked at) allowed per class over the whole history.
const BUDGET: u64 = 50_000_000;
/// Cycles explained per class (all are counted).
const EXPLAINED: usize = 10;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Open,
    Ok,
    Fail,
    Info,
}

#[derive(Debug, Clone, Copy)]
struct Txn {
    invoke: u64,
    complete: u64,
    process: u32,
    status: Status,
    mop_start: u32,
    mop_len: u16,
}

const APPEND: u8 = 0;
const WRITE: u8 = 1;
const READ: u8 = 2;

/// A micro-op: for list reads `value` is the length read; for register reads the value or NIL.
#[derive(Debug, Clone, Copy)]
struct Mop {
    kind: u8,
    key: u32,
    value: i64,
}

#[derive(Debug)]
struct OpenTxn {
    id: u32,
    /// The last completion (real-time event) before it began.
    after: Option<u32>,
    /// Its micro-ops as invoked (kind, key, written value or NIL), for when it does not commit.
    invoked: Vec<(u8, u32, i64)>,
    /// A completion with no invocation recorded (histories of completions only): when it began
    /// is unknown, so neither real-time nor process order is inferred for it.
    bare: bool,
}

/// A micro-op on its way in: kind, key, written value (NIL for reads), what a read returned.
type Raw<'a> = (u8, u32, i64, Option<&'a Value>);

/// No micro-op, in [`Links`].
const NO_MOP: u32 = u32::MAX;

/// A transaction's micro-ops linked to those of the same key before and after them, and each
/// one's nearest later write of its key: what a read must agree with is found along its key's
/// links, where a search of the whole transaction per micro-op made one of n micro-ops cost n².
/// Kept between transactions, so that linking one allocates nothing.
#[derive(Debug, Default)]
struct Links {
    prev: Vec<u32>,
    next: Vec<u32>,
    later_write: Vec<Option<i64>>,
    last: FxHashMap<u32, u32>,
}

impl Links {
    fn link(&mut self, raw: &[Raw<'_>]) {
        let n = raw.len();
        let links = self;
        for v in [&mut links.prev, &mut links.next] {
            v.clear();
            v.resize(n, NO_MOP);
        }
        links.later_write.clear();
        links.later_write.resize(n, None);
        // A map's clear costs its capacity: after one wide transaction, every small one after
        // it would clear the wide one's table.
        if links.last.capacity() > 4 * n.max(16) {
            links.last = FxHashMap::default();
        }
        links.last.clear();
        for (i, m) in raw.iter().enumerate() {
            if let Some(j) = links.last.insert(m.1, i as u32) {
                links.prev[i] = j;
                links.next[j as usize] = i as u32;
            }
        }
        for i in (0..n).rev() {
            let j = links.next[i];
            if j != NO_MOP {
                let m = raw[j as usize];
                links.later_write[i] = if m.0 != READ && m.2 != NIL {
                    Some(m.2)
                } else {
                    links.later_write[j as usize]
                };
            }
        }
    }

    /// The micro-ops of `i`'s key before it, nearest first.
    fn same_key_before(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        Self::walk(&self.prev, i)
    }

    /// The micro-ops of `i`'s key after it, nearest first.
    fn same_key_after(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        Self::walk(&self.next, i)
    }

    fn walk(links: &[u32], i: usize) -> impl Iterator<Item = usize> + '_ {
        let mut j = links[i];
        std::iter::from_fn(move || {
            (j != NO_MOP).then(|| {
                let k = j as usize;
                j = links[k];
                k
            })
        })
    }
}

/// Marks a real-time event (a completion) rather than a transaction, until the graph is built.
const EVENT: u32 = 1 << 31;

/// The checker; [`Elle::list_append`] and [`Elle::rw_register`] make one.
#[derive(Debug)]
pub struct Elle {
    flavor: Flavor,
    models: Vec<String>,
    keys: Keys,
    txns: Vec<Txn>,
    mops: Vec<Mop>,
    processes: FxHashMap<Process, u32>,
    /// The history's process of each number in `processes`, for explanations.
    process_names: Vec<Process>,
    open: FxHashMap<Process, OpenTxn>,
    last_ok: FxHashMap<u32, u32>,
    /// Real-time order as a chain of completion events: T -> its completion, each completion
    /// -> the next, the last completion before T began -> T. Linear in the history, exact.
    realtime: Vec<(u32, u32)>,
    completions: u32,
    /// Process edges, packed.
    edges: Vec<u64>,
    /// Lists: per key the longest read (the version order) and the op that showed it.
    longest: Vec<(Vec<i64>, u64)>,
    /// (key, tag: writing transaction | flags, value); sorted by (key, value) once the history
    /// has been read, then searched (a sorted vector is a third of a hash map's memory).
    writes: Vec<(u32, u32, i64)>,
    /// An invocation has happened since the last completion event was made.
    invoked_since_event: bool,
    /// (key, version read) -> first committed transaction that read it and then wrote the key.
    read_then_write: FxHashMap<(u32, i64), u32>,
    /// Registers: (key, version, next version) from a read followed by a write.
    version_pairs: Vec<(u32, i64, i64)>,
    /// Keys whose initial-state edges were cut short at [`ROOT_EDGES`].
    roots_cut: Vec<u32>,
    /// The first micro-op this flavor does not know (e.g. `w` in a list-append history).
    foreign: std::cell::RefCell<Option<String>>,
    findings: Findings,
    scratch: Vec<i64>,
    links: Links,
}

impl Elle {
    pub fn list_append(models: &[String]) -> Elle {
        Elle::new(Flavor::ListAppend, models)
    }

    pub fn rw_register(models: &[String]) -> Elle {
        Elle::new(Flavor::RwRegister, models)
    }

    fn new(flavor: Flavor, models: &[String]) -> Elle {
        let models = if models.is_empty() {
            vec!["strict-serializable".to_owned()]
        } else {
            models.to_vec()
        };
        Elle {
            flavor,
            models,
            keys: Keys::default(),
            txns: Vec::new(),
            mops: Vec::new(),
            processes: FxHashMap::default(),
            process_names: Vec::new(),
            open: FxHashMap::default(),
            last_ok: FxHashMap::default(),
            realtime: Vec::new(),
            completions: 0,
            edges: Vec::new(),
            longest: Vec::new(),
            writes: Vec::new(),
            invoked_since_event: true,
            read_then_write: FxHashMap::default(),
            version_pairs: Vec::new(),
            roots_cut: Vec::new(),
            foreign: std::cell::RefCell::new(None),
            findings: Findings::default(),
            scratch: Vec::new(),
            links: Links::default(),
        }
    }

    fn key(&mut self, k: &Value) -> u32 {
        self.keys.slot(k, &mut self.longest) as u32
    }

    fn begin(&mut self, op: &Op, bare: bool) {
        let next = self.processes.len() as u32;
        let process = *self.processes.entry(op.process.clone()).or_insert(next);
        if process == next {
            self.process_names.push(op.process.clone());
        }
        let id = self.txns.len() as u32;
        self.txns.push(Txn {
            invoke: op.index,
            complete: NONE,
            process,
            status: Status::Open,
            mop_start: 0,
            mop_len: 0,
        });
        self.invoked_since_event |= !bare;
        let mut invoked = Vec::new();
        for (kind, k, v) in self.parse(&op.value) {
            let key = self.key(k);
            invoked.push((
                kind,
                key,
                if kind == READ {
                    NIL
                } else {
                    v.as_int().unwrap_or(NIL)
                },
            ));
        }
        self.open.insert(
            op.process.clone(),
            OpenTxn {
                id,
                after: if bare {
                    None
                } else {
                    self.completions.checked_sub(1)
                },
                invoked,
                bare,
            },
        );
    }

    /// A txn's micro-ops: (kind, key, value).
    fn parse<'a>(&self, value: &'a Value) -> Vec<(u8, &'a Value, &'a Value)> {
        let mut out = Vec::new();
        for m in value.as_seq().unwrap_or_default() {
            let kind = match m.as_seq() {
                Some([f, k, v]) => match (f.as_str(), self.flavor) {
                    (Some("append"), Flavor::ListAppend) => Some((APPEND, k, v)),
                    (Some("w"), Flavor::RwRegister) => Some((WRITE, k, v)),
                    (Some("r"), _) => Some((READ, k, v)),
                    _ => None,
                },
                _ => None,
            };
            match kind {
                Some(mop) => out.push(mop),
                None => {
                    let mut foreign = self.foreign.borrow_mut();
                    if foreign.is_none() {
                        *foreign = Some(show(m));
                    }
                }
            }
        }
        out
    }

    /// Completes a transaction: committed ones with their completion's value, others as
    /// invoked.
    fn finish_txn(&mut self, open: OpenTxn, status: Status, value: Option<&Value>, index: u64) {
        let id = open.id;
        let start = self.mops.len();
        let raw: Vec<Raw<'_>> = match value {
            Some(value) => self
                .parse(value)
                .into_iter()
                .map(|(kind, k, v)| {
                    let key = self.key(k);
                    if kind == READ {
                        (kind, key, NIL, Some(v))
                    } else {
                        (kind, key, v.as_int().unwrap_or(NIL), None)
                    }
                })
                .collect(),
            None => open
                .invoked
                .iter()
                .map(|&(kind, key, v)| (kind, key, v, None))
                .collect(),
        };
        {
            let t = &mut self.txns[id as usize];
            t.status = status;
            t.complete = index;
            t.mop_start = start as u32;
            t.mop_len = raw.len() as u16;
        }
        let process = self.txns[id as usize].process;
        if status != Status::Fail && !open.bare {
            if let Some(j) = open.after {
                self.realtime.push((EVENT | j, id));
            }
            if let Some(&last) = self.last_ok.get(&process) {
                self.edges.push(graph::pack(last, id, PROCESS));
            }
        }
        match status {
            _ if open.bare => {}
            Status::Ok => {
                self.last_ok.insert(process, id);
                // Completions with no invocation between them share one event: whatever
                // begins later follows them all.
                if self.invoked_since_event || self.completions == 0 {
                    let j = self.completions;
                    self.completions += 1;
                    if j > 0 {
                        self.realtime.push((EVENT | (j - 1), EVENT | j));
                    }
                    self.invoked_since_event = false;
                }
                self.realtime.push((id, EVENT | (self.completions - 1)));
            }
            Status::Info => {
                self.last_ok.remove(&process);
            }
            _ => {}
        }
        let mut links = std::mem::take(&mut self.links);
        links.link(&raw);
        for (i, &(kind, key, x, v)) in raw.iter().enumerate() {
            let later_write = links.later_write[i];
            match kind {
                APPEND | WRITE => {
                    if x == NIL {
                        continue;
                    }
                    let tag = id
                        | if later_write.is_some() {
                            INTERMEDIATE
                        } else {
                            0
                        };
                    self.writes.push((key, tag, x));
                    self.mops.push(Mop {
                        kind,
                        key,
                        value: x,
                    });
                }
                _ => {
                    let value = match v {
                        Some(v) if status == Status::Ok => {
                            self.read(id, index, key, v, &raw, i, &links)
                        }
                        _ => NIL,
                    };
                    self.mops.push(Mop {
                        kind: READ,
                        key,
                        value,
                    });
                }
            }
        }
        self.links = links;
    }

    /// A committed read: its anomalies of its own; returns what the micro-op keeps.
    #[allow(clippy::too_many_arguments)]
    fn read(
        &mut self,
        id: u32,
        index: u64,
        key: u32,
        v: &Value,
        raw: &[Raw<'_>],
        i: usize,
        links: &Links,
    ) -> i64 {
        let later_write = links.later_write[i];
        let label = key_text(self.keys.value(key));
        // The transaction's own writes of the key before this read, in order.
        let mut own_before: Vec<i64> = links
            .same_key_before(i)
            .map(|j| raw[j])
            .filter(|m| m.0 != READ && m.2 != NIL)
            .map(|m| m.2)
            .collect();
        own_before.reverse();
        let kept = match self.flavor {
            Flavor::RwRegister => {
                let read = if v.is_nil() { Some(NIL) } else { v.as_int() };
                let Some(read) = read else { return NIL };
                // Two reads of one key in one transaction, with no write of its own between,
                // must agree.
                let earlier = links.same_key_before(i).next().map(|j| &raw[j]);
                if let Some((READ, _, _, Some(first))) = earlier {
                    let first_read = if first.is_nil() {
                        Some(NIL)
                    } else {
                        first.as_int()
                    };
                    if first_read.is_some_and(|f| f != read) {
                        let show = |x: i64| {
                            if x == NIL {
                                "nil".to_owned()
                            } else {
                                x.to_string()
                            }
                        };
                        let was = show(first_read.unwrap_or(NIL));
                        self.findings.note("internal", vec![index], || {
                            format!(
                                "Transaction op {index} read key {label} as {was} and then as \
                                 {}, with no write of its own between: reads within a \
                                 transaction must agree.",
                                show(read)
                            )
                        });
                    }
                }
                if let Some(&mine) = own_before.last()
                    && mine != read
                {
                    self.findings.note("internal", vec![index], || {
                        format!(
                            "Transaction op {index} wrote {mine} to key {label}, then read {} \
                             there: a transaction must see its own writes.",
                            if read == NIL {
                                "nil".to_owned()
                            } else {
                                read.to_string()
                            }
                        )
                    });
                }
                read
            }
            Flavor::ListAppend => {
                let mut list = std::mem::take(&mut self.scratch);
                list.clear();
                match v {
                    Value::Nil => {}
                    Value::List(items) | Value::Set(items) => {
                        for item in items {
                            match item.as_int() {
                                Some(x) => list.push(x),
                                None => {
                                    self.scratch = list;
                                    return 0;
                                }
                            }
                        }
                    }
                    _ => {
                        self.scratch = list;
                        return 0;
                    }
                }
                if !own_before.is_empty() && !list.ends_with(&own_before) {
                    self.findings.note("internal", vec![index], || {
                        format!(
                            "Transaction op {index} appended {own_before:?} to key {label}, then \
                             read it as {}, which does not end with its own appends.",
                            show(v)
                        )
                    });
                }
                let future: Option<i64> = links
                    .same_key_after(i)
                    .map(|j| raw[j])
                    .filter(|m| m.0 == APPEND && m.2 != NIL)
                    .map(|m| m.2)
                    .find(|x| list.contains(x));
                if let Some(x) = future {
                    self.findings.note("future-read", vec![index], || {
                        format!(
                            "Transaction op {index} read key {label} as {}, which holds {x}, an \
                             element it appends only later.",
                            show(v)
                        )
                    });
                }
                // Every read must be a prefix of the longest; duplicates are found when the
                // order is walked at the end.
                let (order, at) = &mut self.longest[key as usize];
                let consistent = if list.len() > order.len() {
                    list.starts_with(order)
                } else {
                    order.starts_with(&list)
                };
                if !consistent {
                    let (at, order_text) = (*at, format!("{order:?}"));
                    self.findings.note("incompatible-order", vec![at, index], || {
                        format!(
                            "Op {at} read key {label} as {order_text}, op {index} as {}: neither \
                             is a prefix of the other, so there is no one order of appends both \
                             saw.",
                            show(v)
                        )
                    });
                } else if list.len() > order.len() {
                    order.extend_from_slice(&list[order.len()..]);
                    *at = index;
                }
                let len = list.len() as i64;
                self.scratch = list;
                len
            }
        };
        if let Some(w) = later_write {
            self.version_pairs.push((key, kept, w));
            match self.read_then_write.get(&(key, kept)) {
                Some(&other) if other != id => {
                    let o = self.txns[other as usize].complete;
                    let version = match self.flavor {
                        Flavor::ListAppend => format!("the same {kept} elements"),
                        Flavor::RwRegister if kept == NIL => "nil".to_owned(),
                        Flavor::RwRegister => kept.to_string(),
                    };
                    self.findings.note("lost-update", vec![o, index], || {
                        format!(
                            "Transactions op {o} and op {index} both read key {label} as \
                             {version} and both wrote it: one update was made without seeing \
                             the other."
                        )
                    });
                }
                Some(_) => {}
                None => {
                    self.read_then_write.insert((key, kept), id);
                }
            }
        }
        kept
    }

    fn mop_range(&self, t: u32) -> std::ops::Range<usize> {
        let t = &self.txns[t as usize];
        t.mop_start as usize..t.mop_start as usize + t.mop_len as usize
    }

    fn txn_mops(&self, t: u32) -> &[Mop] {
        &self.mops[self.mop_range(t)]
    }

    fn status(&self, t: u32) -> Status {
        self.txns[t as usize].status
    }

    /// Where (key, x)'s write is in `writes` (after they are sorted).
    fn write_index(&self, key: u32, x: i64) -> Option<usize> {
        self.writes
            .binary_search_by_key(&(key, x), |w| (w.0, w.2))
            .ok()
    }

    fn writer_of(&self, key: u32, x: i64) -> Option<(u32, bool)> {
        self.write_index(key, x).map(|i| untag(self.writes[i].1))
    }

    /// Dependency edges and the anomalies of the version orders.
    fn infer(&mut self) -> Vec<u64> {
        // The first write of a value owns it.
        self.writes
            .sort_unstable_by_key(|w| (w.0, w.2, w.1 & !(INTERMEDIATE | IN_ORDER)));
        self.writes.dedup_by_key(|w| (w.0, w.2));
        let mut edges = std::mem::take(&mut self.edges);
        let reads = self.mops.iter().filter(|m| m.kind == READ).count();
        edges.reserve_exact(self.writes.len() + 2 * reads + self.realtime.len());
        match self.flavor {
            Flavor::ListAppend => self.infer_lists(&mut edges),
            Flavor::RwRegister => self.infer_registers(&mut edges),
        }
        // Completion events become nodes after the transactions.
        let n = self.txns.len() as u32;
        let node = |v: u32| if v & EVENT != 0 { n + (v & !EVENT) } else { v };
        for (a, b) in std::mem::take(&mut self.realtime) {
            edges.push(graph::pack(node(a), node(b), REALTIME));
        }
        edges
    }

    fn infer_lists(&mut self, edges: &mut Vec<u64>) {
        let mut first_failed: Vec<usize> = Vec::with_capacity(self.longest.len());
        let longest = std::mem::take(&mut self.longest);
        // Per key, per place in its order: the writer's tag (NO_WRITER when unknown).
        let mut writers: Vec<Vec<u32>> = Vec::with_capacity(longest.len());
        for (key, (order, at)) in longest.iter().enumerate() {
            let key = key as u32;
            let mut failed_at = usize::MAX;
            let mut dirty_noted = false;
            let mut prev: Option<u32> = None;
            let mut here = Vec::with_capacity(order.len());
            for (i, &x) in order.iter().enumerate() {
                let Some(index) = self.write_index(key, x) else {
                    here.push(NO_WRITER);
                    prev = None;
                    continue;
                };
                let tag = &mut self.writes[index].1;
                if *tag & IN_ORDER != 0 {
                    let at = *at;
                    let keys = &self.keys;
                    self.findings.note("duplicate-elements", vec![at], || {
                        format!(
                            "Op {at} read key {} with {x} in it more than once: an element \
                             appended once appears twice.",
                            key_text(keys.value(key))
                        )
                    });
                    here.push(NO_WRITER);
                    continue;
                }
                *tag |= IN_ORDER;
                here.push(*tag);
                let w = untag(*tag).0;
                let failed = self.status(w) == Status::Fail;
                if failed && failed_at == usize::MAX {
                    failed_at = i;
                }
                if !failed && failed_at < i && !dirty_noted {
                    let (fw, cw) = (
                        self.txns
                            [self.writer_of(key, order[failed_at]).map_or(0, |w| w.0) as usize]
                            .complete,
                        self.txns[w as usize].complete,
                    );
                    let label = key_text(self.keys.value(key));
                    let (y, z) = (order[failed_at], x);
                    self.findings.note("dirty-update", vec![fw, cw], || {
                        format!(
                            "Key {label}'s order of appends has {z} (committed, op {cw}) after \
                             {y}, appended by a transaction that failed (op {fw}): a committed \
                             write built on an aborted one."
                        )
                    });
                    dirty_noted = true;
                }
                if let Some(p) = prev
                    && p != w
                    && !failed
                {
                    edges.push(graph::pack(p, w, WW));
                }
                prev = (!failed).then_some(w);
            }
            first_failed.push(failed_at);
            writers.push(here);
        }
        self.longest = longest;
        // Elle's rule for appends no read showed: each comes after the last element of its
        // key's longest read (after the initial state when nothing was read), in no known order
        // among themselves. Only committed ones: an indeterminate append nobody saw may never
        // have happened.
        let mut unobserved: Vec<Vec<u32>> = vec![Vec::new(); writers.len()];
        for &(key, tag, _) in &self.writes {
            let (w, _) = untag(tag);
            if tag & IN_ORDER == 0 && self.status(w) == Status::Ok {
                let list = &mut unobserved[key as usize];
                if list.last() != Some(&w) {
                    list.push(w);
                }
            }
        }
        for (key, after) in unobserved.iter_mut().enumerate() {
            after.sort_unstable();
            after.dedup();
            let last = writers[key]
                .iter()
                .rev()
                .find(|&&tag| tag != NO_WRITER)
                .map(|&tag| untag(tag).0)
                .filter(|&w| self.status(w) != Status::Fail);
            if let Some(last) = last {
                for &w in after.iter().filter(|&&w| w != last) {
                    edges.push(graph::pack(last, w, WW));
                }
            }
        }
        for t in 0..self.txns.len() as u32 {
            if self.status(t) != Status::Ok {
                continue;
            }
            let done = self.txns[t as usize].complete;
            for i in self.mop_range(t) {
                // Copied out, so that the loop may note findings.
                let m = self.mops[i];
                if m.kind != READ {
                    continue;
                }
                let (key, len) = (m.key, m.value as usize);
                let order_len = self.longest[key as usize].0.len();
                if len > order_len {
                    continue;
                }
                let keys = &self.keys;
                let label = || key_text(keys.value(key));
                let at = |i: usize| {
                    let tag = writers[key as usize][i];
                    (tag != NO_WRITER).then(|| untag(tag))
                };
                if first_failed[key as usize] < len {
                    let x = self.longest[key as usize].0[first_failed[key as usize]];
                    if let Some((w, _)) = at(first_failed[key as usize]) {
                        let fw = self.txns[w as usize].complete;
                        self.findings.note("G1a", vec![fw, done], || {
                            format!(
                                "Transaction op {done} read key {} including {x}, appended by a \
                                 transaction that failed (op {fw}): an aborted read.",
                                label()
                            )
                        });
                    }
                }
                if len > 0 {
                    let x = self.longest[key as usize].0[len - 1];
                    if let Some((w, intermediate)) = at(len - 1)
                        && w != t
                        && self.status(w) != Status::Fail
                    {
                        edges.push(graph::pack(w, t, WR));
                        if intermediate {
                            let wd = self.txns[w as usize].complete;
                            self.findings.note("G1b", vec![wd, done], || {
                                format!(
                                    "Transaction op {done} read key {} ending at {x}, which \
                                     transaction op {wd} appended and then appended more to: an \
                                     intermediate read.",
                                    label()
                                )
                            });
                        }
                    }
                }
                if len < order_len
                    && let Some((w, _)) = at(len)
                    && w != t
                    && self.status(w) != Status::Fail
                {
                    edges.push(graph::pack(t, w, RW));
                }
                // A read of the whole order (or of the initial state, when nothing was read)
                // precedes every append no read showed.
                if len == order_len {
                    for &w in unobserved[key as usize].iter().filter(|&&w| w != t) {
                        edges.push(graph::pack(t, w, RW));
                    }
                }
            }
        }
    }

    fn infer_registers(&mut self, edges: &mut Vec<u64>) {
        let mut readers: FxHashMap<(u32, i64), Vec<u32>> = FxHashMap::default();
        for t in 0..self.txns.len() as u32 {
            if self.status(t) != Status::Ok {
                continue;
            }
            let done = self.txns[t as usize].complete;
            for i in self.mop_range(t) {
                // Copied out, so that the loop may note findings.
                let m = self.mops[i];
                if m.kind != READ {
                    continue;
                }
                readers.entry((m.key, m.value)).or_default().push(t);
                if m.value == NIL {
                    continue;
                }
                let label = key_text(self.keys.value(m.key));
                let Some((w, intermediate)) = self.writer_of(m.key, m.value) else {
                    let x = m.value;
                    self.findings.note("garbage-read", vec![done], || {
                        format!(
                            "Transaction op {done} read {x} from key {label}, a value no                              transaction ever wrote there."
                        )
                    });
                    continue;
                };
                let (wd, x) = (self.txns[w as usize].complete, m.value);
                if self.status(w) == Status::Fail {
                    self.findings.note("G1a", vec![wd, done], || {
                        format!(
                            "Transaction op {done} read {x} from key {label}, written by a \
                             transaction that failed (op {wd}): an aborted read."
                        )
                    });
                } else if w != t {
                    edges.push(graph::pack(w, t, WR));
                    if intermediate {
                        self.findings.note("G1b", vec![wd, done], || {
                            format!(
                                "Transaction op {done} read {x} from key {label}, which \
                                 transaction op {wd} overwrote before it committed: an \
                                 intermediate read."
                            )
                        });
                    }
                }
            }
        }
        let implied = self.implied_version_order();
        self.version_pairs.extend(implied);
        for &(key, v, w) in &self.version_pairs {
            let Some((wt, _)) = self.writer_of(key, w) else {
                continue;
            };
            if self.status(wt) == Status::Fail {
                continue;
            }
            if v != NIL
                && let Some((vt, _)) = self.writer_of(key, v)
                && vt != wt
                && self.status(vt) != Status::Fail
            {
                edges.push(graph::pack(vt, wt, WW));
            }
            for &r in readers.get(&(key, v)).map_or(&[][..], |r| &r[..]) {
                if r != wt {
                    edges.push(graph::pack(r, wt, RW));
                }
            }
        }
        // The initial state comes before every version: a read of nil precedes the first
        // versions of its key (those no known version precedes).
        let preceded: rustc_hash::FxHashSet<(u32, i64)> = self
            .version_pairs
            .iter()
            .filter(|p| p.1 != NIL)
            .map(|p| (p.0, p.2))
            .collect();
        let mut roots: FxHashMap<u32, Vec<u32>> = FxHashMap::default();
        for &(key, tag, x) in &self.writes {
            let (w, intermediate) = untag(tag);
            if intermediate || self.status(w) == Status::Fail || preceded.contains(&(key, x)) {
                continue;
            }
            roots.entry(key).or_default().push(w);
        }
        let mut nil_reads: Vec<(&(u32, i64), &Vec<u32>)> =
            readers.iter().filter(|((_, v), _)| *v == NIL).collect();
        nil_reads.sort_unstable_by_key(|(k, _)| **k);
        for ((key, _), rs) in nil_reads {
            let firsts = roots.get(key).map_or(&[][..], |r| &r[..]);
            let mut made = 0usize;
            'key: for &w in firsts {
                for &r in rs {
                    if r != w {
                        if made == ROOT_EDGES {
                            self.roots_cut.push(*key);
                            break 'key;
                        }
                        edges.push(graph::pack(r, w, RW));
                        made += 1;
                    }
                }
            }
        }
    }

    /// Registers: version orders the chosen models imply. Under a real-time model (strict
    /// serializability, linearizability, strong snapshot isolation) a committed write that
    /// completed before another began comes first; under a strong-session model, a process's
    /// own writes come in its order. Each version gets its next write so ordered.
    fn implied_version_order(&self) -> Vec<(u32, i64, i64)> {
        let claims = |weak: &str| self.models.iter().any(|m| models::implies(m, weak));
        let realtime = claims("strong-snapshot-isolation") || claims("linearizable");
        let process =
            claims("strong-session-serializable") || claims("strong-session-snapshot-isolation");
        if !realtime && !process {
            return Vec::new();
        }
        // Per key, the final writes of committed transactions, by invocation.
        let mut by_key: FxHashMap<u32, Vec<(u64, u64, u32, i64)>> = FxHashMap::default();
        for &(key, tag, x) in &self.writes {
            let (w, intermediate) = untag(tag);
            let t = &self.txns[w as usize];
            if intermediate || t.status != Status::Ok {
                continue;
            }
            by_key
                .entry(key)
                .or_default()
                .push((t.invoke, t.complete, t.process, x));
        }
        let mut out = Vec::new();
        let mut keys: Vec<u32> = by_key.keys().copied().collect();
        keys.sort_unstable();
        for key in keys {
            let writes = &mut by_key.get_mut(&key).map(std::mem::take).unwrap_or_default();
            writes.sort_unstable();
            // From each place on, the earliest completion of a write invoked there or later.
            let mut earliest_done = vec![u64::MAX; writes.len() + 1];
            for i in (0..writes.len()).rev() {
                earliest_done[i] = earliest_done[i + 1].min(writes[i].1);
            }
            for &(_, complete, by, v) in writes.iter() {
                // The writes begun after this one completed...
                let first = writes.partition_point(|w| w.0 <= complete);
                if realtime {
                    // ...that no other of them precedes: each is a next version in real time.
                    // (Only the first of them would miss a later write that overlapped a
                    // slow one and completed before a stale read began.)
                    let bound = earliest_done[first];
                    let end = writes.partition_point(|w| w.0 <= bound);
                    for &(_, _, _, w) in &writes[first..end.max(first)] {
                        out.push((key, v, w));
                    }
                }
                if process && let Some(&(_, _, _, w)) = writes[first..].iter().find(|w| w.2 == by) {
                    out.push((key, v, w));
                }
            }
        }
        out
    }

    /// One step of a cycle, in words.
    fn explain_step(&self, a: u32, b: u32, t: u8) -> String {
        let (ta, tb) = (&self.txns[a as usize], &self.txns[b as usize]);
        let name = |x: u32| format!("T{x}");
        let lists = self.flavor == Flavor::ListAppend;
        let reason = match t {
            PROCESS => format!(
                "{} came after {} in process {}",
                name(b),
                name(a),
                self.process_names[ta.process as usize]
            ),
            REALTIME => format!(
                "{} began (op {}) after {} had completed (op {})",
                name(b),
                tb.invoke,
                name(a),
                ta.complete
            ),
            WR => self
                .txn_mops(b)
                .iter()
                .filter(|m| m.kind == READ)
                .find_map(|m| {
                    let x = if lists {
                        let order = &self.longest[m.key as usize].0;
                        (m.value > 0)
                            .then(|| order.get(m.value as usize - 1))
                            .flatten()
                            .copied()?
                    } else {
                        m.value
                    };
                    (self.writer_of(m.key, x)?.0 == a).then(|| {
                        let k = key_text(self.keys.value(m.key));
                        if lists {
                            format!("{} observed {}'s append of {x} to {k}", name(b), name(a))
                        } else {
                            format!("{} read {}'s write of {x} to {k}", name(b), name(a))
                        }
                    })
                })
                .unwrap_or_else(|| format!("{} read what {} wrote", name(b), name(a))),
            WW => self
                .txn_mops(b)
                .iter()
                .filter(|m| m.kind != READ)
                .find_map(|m| {
                    let k = key_text(self.keys.value(m.key));
                    if lists {
                        let order = &self.longest[m.key as usize].0;
                        let i = order.iter().position(|&x| x == m.value)?;
                        let prev = *order.get(i.checked_sub(1)?)?;
                        (self.writer_of(m.key, prev)?.0 == a).then(|| {
                            format!(
                                "{} appended {} to {k} after {}'s {prev}",
                                name(b),
                                m.value,
                                name(a)
                            )
                        })
                    } else {
                        self.version_pairs
                            .iter()
                            .find(|&&(key, v, w)| {
                                key == m.key
                                    && w == m.value
                                    && v != NIL
                                    && self.writer_of(key, v).is_some_and(|x| x.0 == a)
                            })
                            .map(|&(_, v, w)| {
                                format!("{} wrote {w} to {k} over {}'s {v}", name(b), name(a))
                            })
                    }
                })
                .unwrap_or_else(|| format!("{} overwrote {}", name(b), name(a))),
            _ => self
                .txn_mops(a)
                .iter()
                .filter(|m| m.kind == READ)
                .find_map(|m| {
                    let k = key_text(self.keys.value(m.key));
                    if lists {
                        let order = &self.longest[m.key as usize].0;
                        let y = *order.get(m.value as usize)?;
                        (self.writer_of(m.key, y)?.0 == b).then(|| {
                            format!(
                                "{} read {k} with {} elements, not yet {}'s append of {y}",
                                name(a),
                                m.value,
                                name(b)
                            )
                        })
                    } else {
                        self.version_pairs
                            .iter()
                            .find(|&&(key, v, w)| {
                                key == m.key
                                    && v == m.value
                                    && self.writer_of(key, w).is_some_and(|x| x.0 == b)
                            })
                            .copied()
                            .or_else(|| {
                                // Nil: the initial state, before every version.
                                let w = self.txn_mops(b).iter().find(|w| {
                                    w.kind == WRITE && w.key == m.key && m.value == NIL
                                })?;
                                Some((m.key, NIL, w.value))
                            })
                            .map(|(_, v, w)| {
                                let v = if v == NIL {
                                    "nil".to_owned()
                                } else {
                                    v.to_string()
                                };
                                format!(
                                    "{} read {v} from {k}, which {} overwrote with {w}",
                                    name(a),
                                    name(b)
                                )
                            })
                    }
                })
                .unwrap_or_else(|| format!("{} read a version {} overwrote", name(a), name(b))),
        };
        format!("{} < {} because {reason}.", name(a), name(b))
    }

    fn describe_txn(&self, t: u32) -> String {
        let txn = &self.txns[t as usize];
        let mops: Vec<String> = self
            .txn_mops(t)
            .iter()
            .map(|m| {
                let k = key_text(self.keys.value(m.key));
                match (m.kind, self.flavor) {
                    (APPEND, _) => format!("[append {k} {}]", m.value),
                    (WRITE, _) => format!("[w {k} {}]", m.value),
                    (_, Flavor::ListAppend) => {
                        let order = &self.longest[m.key as usize].0;
                        let shown = &order[..(m.value.max(0) as usize).min(order.len())];
                        let tail: Vec<String> = shown
                            .iter()
                            .rev()
                            .take(3)
                            .rev()
                            .map(|x| x.to_string())
                            .collect();
                        let dots = if shown.len() > 3 { "... " } else { "" };
                        format!("[r {k} [{dots}{}]]", tail.join(" "))
                    }
                    (_, Flavor::RwRegister) if m.value == NIL => format!("[r {k} nil]"),
                    _ => format!("[r {k} {}]", m.value),
                }
            })
            .collect();
        let when = if txn.complete == NONE {
            format!("op {}, never completed", txn.invoke)
        } else {
            format!("op {}", txn.complete)
        };
        format!(
            "T{t} ({when}, process {}): {}",
            self.process_names[txn.process as usize],
            mops.join(" ")
        )
    }

    fn note_cycle(&mut self, kind: &str, cycle: &[(u32, u8)], listed: usize) {
        // Real-time events are not transactions: a path through them is one real-time step.
        let n = self.txns.len() as u32;
        let cycle: Vec<(u32, u8)> = cycle.iter().copied().filter(|&(v, _)| v < n).collect();
        let cycle = &cycle[..];
        let ops: Vec<u64> = cycle
            .iter()
            .map(|&(t, _)| {
                let txn = &self.txns[t as usize];
                if txn.complete == NONE {
                    txn.invoke
                } else {
                    txn.complete
                }
            })
            .collect();
        if listed >= EXPLAINED {
            self.findings.note(kind, ops, String::new);
            return;
        }
        let mut text = String::new();
        for &(t, _) in cycle {
            text.push_str(&format!("{}\n", self.describe_txn(t)));
        }
        text.push('\n');
        for (i, &(a, t)) in cycle.iter().enumerate() {
            let b = cycle[(i + 1) % cycle.len()].0;
            text.push_str(&self.explain_step(a, b, t));
            text.push('\n');
        }
        let first = cycle[0].0;
        text.push_str(&format!(
            "So T{first} < T{first}: a contradiction — no order of these transactions explains \
             what they saw."
        ));
        // The cycle as a graph of its own, drawn by petgraph.
        let mut g = petgraph::graph::DiGraph::<String, &'static str>::new();
        let nodes: Vec<_> = cycle
            .iter()
            .map(|&(t, _)| g.add_node(self.describe_txn(t)))
            .collect();
        for (i, &(_, t)) in cycle.iter().enumerate() {
            g.add_edge(nodes[i], nodes[(i + 1) % nodes.len()], edge_name(t));
        }
        use petgraph::dot::{Config, Dot};
        let dot = format!(
            "{}",
            Dot::with_attr_getters(
                &g,
                &[Config::EdgeNoLabel, Config::NodeNoLabel],
                &|_, e| format!("label = \"{}\"", e.weight()),
                &|_, (_, label)| format!("label = \"{}\", shape = box", label.replace('"', "\\\"")),
            )
        );
        self.findings.note_with_dot(kind, ops, text, dot);
    }

    /// Finds the cycles: components, then each class of the table in each.
    fn cycles(&mut self, graph: &graph::Graph) -> (u64, usize, Vec<String>) {
        let all = DATA | PROCESS | REALTIME;
        let (comp, count) = graph::scc(graph, all);
        let mut sizes = vec![0u32; count as usize];
        let mut txns_in = vec![0u32; count as usize];
        let n = self.txns.len();
        for (v, &c) in comp.iter().enumerate() {
            sizes[c as usize] += 1;
            txns_in[c as usize] += u32::from(v < n);
        }
        let nontrivial = sizes.iter().filter(|&&s| s > 1).count() as u64;
        // In transactions (the real-time events that join them are not counted).
        let largest = txns_in.iter().copied().max().unwrap_or(0) as usize;
        let mut exhausted = Vec::new();
        if nontrivial == 0 {
            return (0, largest, exhausted);
        }
        let in_cycle = |v: u32| sizes[comp[v as usize] as usize] > 1;
        let mut searcher = Searcher::over(graph.node_count(), in_cycle);
        let mut sub_cache: BTreeMap<u8, Vec<u32>> = BTreeMap::new();
        let mut sub = |types: u8| -> Vec<u32> {
            sub_cache
                .entry(types)
                .or_insert_with(|| graph::scc(graph, types).0)
                .clone()
        };

        // Session guarantees: one process edge, then data edges back.
        {
            let sc = sub(DATA | PROCESS);
            let any = Constraint {
                allowed: DATA,
                rw: RwRule::Any,
                needs_wr: false,
            };
            let mut listed = 0;
            let mut found_in: Vec<bool> = vec![false; count as usize];
            'edges: for a in 0..graph.node_count() as u32 {
                if !in_cycle(a) {
                    continue;
                }
                let targets = graph.neighbors_slice(a).to_vec();
                let kinds = graph.edges_slice(a).to_vec();
                for (i, &b) in targets.iter().enumerate() {
                    if kinds[i] & PROCESS == 0
                        || sc[a as usize] != sc[b as usize]
                        || found_in[comp[a as usize] as usize]
                    {
                        continue;
                    }
                    let keep = |v: u32| sc[v as usize] == sc[a as usize];
                    match searcher.cycle(graph, a, b, PROCESS, any, &keep, BUDGET) {
                        Ok(Some(cycle)) => {
                            let types: Vec<u8> = cycle[1..].iter().map(|c| c.1).collect();
                            let name = match types.as_slice() {
                                [RW] => "read-your-writes",
                                [RW, WR] => "monotonic-reads",
                                [WW] => "monotonic-writes",
                                [WW, WR] => "writes-follow-reads",
                                _ => continue,
                            };
                            self.note_cycle(name, &cycle, listed);
                            listed += 1;
                            found_in[comp[a as usize] as usize] = true;
                        }
                        Ok(None) => {}
                        Err(Exhausted) => {
                            exhausted.push("session".to_owned());
                            break 'edges;
                        }
                    }
                }
            }
        }

        // The table: base classes, then each with process and real-time edges.
        let base: [(&str, u8, RwRule, bool, u8); 5] = [
            ("G0", WW, RwRule::None, false, WW),
            ("G1c", WW | WR, RwRule::None, true, WR),
            ("G-single", DATA, RwRule::ExactlyOne, false, RW),
            ("G-nonadjacent", DATA, RwRule::NonAdjacent, false, RW),
            ("G2-item", DATA, RwRule::AtLeastTwo, false, RW),
        ];
        for (suffix, extra, start_type) in [
            ("", 0u8, 0u8),
            ("-process", PROCESS, PROCESS),
            ("-realtime", PROCESS | REALTIME, REALTIME),
        ] {
            for &(name, allowed, rw, needs_wr, start) in &base {
                let kind = format!("{name}{suffix}");
                let constraint = Constraint {
                    allowed: allowed | extra,
                    rw,
                    needs_wr,
                };
                let start = if start_type == 0 { start } else { start_type };
                // Edges that could close a cycle keep within one component of the allowed
                // edges; a cycle with one rw edge comes back without any.
                let sc = sub(constraint.allowed);
                let back = if rw == RwRule::ExactlyOne && start == RW {
                    Some(sub(constraint.allowed & !RW))
                } else {
                    None
                };
                let mut found_in: Vec<bool> = vec![false; count as usize];
                let mut listed = 0;
                searcher.work = 0;
                'search: for a in 0..graph.node_count() as u32 {
                    if !in_cycle(a) || found_in[comp[a as usize] as usize] {
                        continue;
                    }
                    let targets = graph.neighbors_slice(a);
                    let kinds = graph.edges_slice(a);
                    for (i, &b) in targets.iter().enumerate() {
                        if kinds[i] & start == 0 || sc[a as usize] != sc[b as usize] {
                            continue;
                        }
                        if let Some(back) = &back
                            && back[a as usize] > back[b as usize]
                        {
                            continue;
                        }
                        let keep = |v: u32| sc[v as usize] == sc[a as usize];
                        let found = searcher.cycle(graph, a, b, start, constraint, &keep, BUDGET);
                        match found
                            .map(|c| c.and_then(|c| graph::simple_cycle(c, constraint, start)))
                        {
                            Ok(Some(cycle)) => {
                                self.note_cycle(&kind, &cycle, listed);
                                listed += 1;
                                found_in[comp[a as usize] as usize] = true;
                                continue 'search;
                            }
                            Ok(None) => {}
                            Err(Exhausted) => {
                                exhausted.push(kind.clone());
                                break 'search;
                            }
                        }
                    }
                }
            }
        }
        (nontrivial, largest, exhausted)
    }
}

fn edge_name(t: u8) -> &'static str {
    match t {
        WW => "ww",
        WR => "wr",
        RW => "rw",
        PROCESS => "process",
        _ => "realtime",
    }
}

impl Checker for Elle {
    fn name(&self) -> &'static str {
        match self.flavor {
            Flavor::ListAppend => "list-append",
            Flavor::RwRegister => "rw-register",
        }
    }

    /// The micro-ops are read at the invocation; the completion carries what was read.
    fn reads_invocation_values(&self) -> bool {
        false
    }

    fn observe(&mut self, event: &Event<'_>) {
        let (invoked, op) = match *event {
            Event::Invoke(op) => {
                if &*op.f == "txn" {
                    self.begin(op, false);
                }
                return;
            }
            Event::Complete { invoked, op } => (invoked, op),
            // Never completed ops are finished as indeterminate with the rest still open.
            Event::Unfinished(_) | Event::Other(_) => return,
        };
        if &*op.f != "txn" {
            return;
        }
        if invoked.alone {
            // A completion alone is its own invocation.
            self.begin(op, true);
        }
        let Some(open) = self.open.remove(&op.process) else {
            return;
        };
        let status = match op.kind {
            OpType::Ok => Status::Ok,
            OpType::Fail => Status::Fail,
            _ => Status::Info,
        };
        let value = (status == Status::Ok).then_some(&op.value);
        self.finish_txn(open, status, value, op.index);
    }

    fn finish(mut self: Box<Self>) -> CheckResult {
        let name = self.name();
        if self.txns.is_empty() {
            return CheckResult::not_applicable(
                name,
                "not judged: the history has no transactions",
            );
        }
        if let Some(m) = self.foreign.borrow().as_ref() {
            let knows = match self.flavor {
                Flavor::ListAppend => "append and r",
                Flavor::RwRegister => "w and r",
            };
            return CheckResult::new(
                name,
                Validity::Unknown,
                format!(
                    "input error: the micro-op {m} is not one {name} knows ({knows}); is this \
                     history of another workload?"
                ),
            );
        }
        // Never completed: indeterminate.
        let mut still: Vec<(Process, OpenTxn)> = self.open.drain().collect();
        still.sort_by_key(|(_, o)| o.id);
        for (_, open) in still {
            self.finish_txn(open, Status::Info, None, NONE);
        }
        let nodes = self.txns.len() + self.completions as usize;
        if nodes >= graph::MAX_NODES {
            return CheckResult::new(
                name,
                Validity::Unknown,
                format!(
                    "{} transactions: more than this checker can graph",
                    self.txns.len()
                ),
            );
        }
        let edges = self.infer();
        let graph = graph::build(edges, nodes);
        let edge_count = graph.edge_count();
        let (sccs, largest, exhausted) = self.cycles(&graph);

        let counts = self.findings.counts.clone();
        let prohibited: Vec<&String> = counts
            .keys()
            .filter(|k| models::prohibits(&self.models, k))
            .collect();
        let ruled_out = models::weakest_ruled_out(counts.keys().map(String::as_str));
        let ok = self.txns.iter().filter(|t| t.status == Status::Ok).count();
        // A search out of budget leaves doubt only about a class the models forbid.
        let doubtful: Vec<&String> = exhausted
            .iter()
            .filter(|k| k.as_str() == "session" || models::prohibits(&self.models, k))
            .collect();
        let roots_cut = !self.roots_cut.is_empty();
        let valid = if !prohibited.is_empty() {
            Validity::False
        } else if !doubtful.is_empty() || roots_cut || ok == 0 {
            Validity::Unknown
        } else {
            Validity::True
        };
        let models = self.models.join(", ");
        let summary = match valid {
            Validity::False => format!(
                "{} under {models}; rules out {}",
                self.findings.describe(),
                ruled_out.join(", ")
            ),
            Validity::Unknown if ok == 0 => {
                "no transaction committed: nothing can be inferred".to_owned()
            }
            Validity::Unknown if doubtful.is_empty() => format!(
                "reads of nil on {} key(s) precede more first versions than {ROOT_EDGES} edges \
                 can say: a cycle through the initial state could be missed",
                self.roots_cut.len()
            ),
            Validity::Unknown => format!(
                "cycle search ran out of budget ({}): a cycle exists that could not be classified",
                doubtful
                    .iter()
                    .map(|s| s.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Validity::True if counts.is_empty() => {
                format!("{ok} committed transactions consistent with {models}")
            }
            Validity::True => format!(
                "consistent with {models}; found {} (allowed there), which rules out {}",
                self.findings.describe(),
                ruled_out.join(", ")
            ),
        };
        let mut result = CheckResult::new(name, valid, summary);
        let status_count = |s: Status| self.txns.iter().filter(|t| t.status == s).count();
        for (k, v) in [
            ("transactions", json!(self.txns.len())),
            ("committed", json!(ok)),
            ("failed", json!(status_count(Status::Fail))),
            ("indeterminate", json!(status_count(Status::Info))),
            ("keys", json!(self.keys.len())),
            ("edges", json!(edge_count)),
            ("cycle-components", json!(sccs)),
            ("largest-component", json!(largest)),
            ("models", json!(self.models)),
            ("anomaly-types", json!(counts.keys().collect::<Vec<_>>())),
            ("ruled-out", json!(ruled_out)),
            ("search-exhausted", json!(exhausted)),
            ("initial-state-edges-cut", json!(self.roots_cut.len())),
        ] {
            result.figures.insert(k.to_owned(), v);
        }
        std::mem::take(&mut self.findings).into_result(&mut result);
        result
    }
}

#[cfg(test)]
mod tests;
