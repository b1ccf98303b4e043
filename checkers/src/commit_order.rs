//! `commit-order`: strong-session read committed, read atomic and transactional causal
//! consistency, decided by saturation (Biswas and Enea, "On the complexity of checking
//! transactional consistency", 2019; the levels as Plume and AWDIT check them).
//!
//! Each level is a rule that forces one transaction to commit before another, given only
//! session order (`so`: a process's transactions in order) and write-read (`wr`: who each read
//! read from; values written are unique). A history satisfies the level when some total commit
//! order contains `so`, `wr` and every forced edge; that is, when `so ∪ wr ∪ forced` has no
//! cycle. For T3 reading x from T1, and T2 ≠ T1 another transaction that writes x:
//! - strong-session read committed: T3 read from T2 earlier than it read x ⇒ T2 before T1;
//! - read atomic: T2 precedes T3 in `so ∪ wr` (T3 saw T2) ⇒ T2 before T1;
//! - causal: T2 precedes T3 in `(so ∪ wr)⁺` (T3's causal past) ⇒ T2 before T1.
//!
//! Each level's edges include the weaker level's, so the levels are decided in order, and the
//! first with a cycle names the anomalies: `cyclic-causality` (a cycle of `so` and `wr` alone),
//! `non-monotonic-view` (read committed's rule), `fractured-read` (read atomic's; a
//! non-repeatable read is one), `causality-violation` (causal's). A cycle is the witness, each
//! forced edge in it explained. The initial state is a transaction before every other: a
//! forced edge into it is a cycle of two.
//!
//! Causal pasts are vector clocks, one entry per session, over a topological order of
//! `so ∪ wr`; for each read only the latest writer of the key in each session of the past is
//! considered, and not when it already precedes the transaction read from. Memory: a few words
//! per micro-op and forced edge, and the clocks (sessions entries each) of the transactions
//! whose session successor or readers are still to come, rows reused once they are done; past
//! [`CLOCK_BUDGET`] entries alive causal is not decided (unknown only if the claim needs it).
//!
//! Not judged here (Elle's analyses report them): aborted, intermediate and garbage reads,
//! and a transaction's reads of its own writes. Transactions that failed are not in the
//! history's order; ones that never completed count only when something read their writes.

use crate::elle::graph::{self, Graph};
use crate::models;
use crate::util::{Findings, Keys, show};
use crate::{CheckResult, Checker, Event, Validity};
use history::{OpType, Process, Value};
use rustc_hash::{FxHashMap, FxHashSet};
use serde_json::json;
use std::collections::VecDeque;

/// Vector-clock entries (transactions × sessions) causal may use: 1 GiB of u32.
pub const CLOCK_BUDGET: usize = 1 << 28;
/// Cycles explained per level (all are counted).
const EXPLAINED: usize = 10;

const NIL: i64 = i64::MIN;
/// The initial state, as a writer: a transaction before every other.
const INIT: u32 = u32::MAX;

/// Edge types in the graph.
const SO: u8 = 1;
const WR: u8 = 2;
const RC: u8 = 4;
const RA: u8 = 8;
const CC: u8 = 16;

/// The levels, weakest first: their model, the edges each adds, the anomaly its rule names.
const LEVELS: [(&str, u8, &str); 3] = [
    ("strong-session-read-committed", RC, "non-monotonic-view"),
    ("read-atomic", RA, "fractured-read"),
    ("causal", CC, "causality-violation"),
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Status {
    Ok,
    Info,
}

#[derive(Debug, Clone, Copy)]
struct Txn {
    /// The op's index (its invocation's).
    index: u64,
    session: u32,
    status: Status,
    mop_start: u32,
    mop_len: u32,
}

const WRITE: u8 = 0;
const READ: u8 = 1;

/// A micro-op: a write (or append) of `value`; a read of `value` (a list's last element), NIL
/// for the initial state.
#[derive(Debug, Clone, Copy)]
struct Mop {
    kind: u8,
    /// An append, or a read of a list (shown as such in explanations).
    list: bool,
    key: u32,
    value: i64,
}

/// A forced edge and why: `t3` read `key` from the edge's target.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Forced {
    from: u32,
    to: u32,
    level: u8,
    reader: u32,
    key: u32,
}

/// A transaction made to precede the initial state: a cycle of two.
#[derive(Debug, Clone, Copy, PartialEq)]
struct BeforeInit {
    writer: u32,
    level: u8,
    reader: u32,
    key: u32,
}

#[derive(Debug, Default)]
pub struct CommitOrder {
    models: Vec<String>,
    sessions: FxHashMap<Process, u32>,
    session_names: Vec<Process>,
    txns: Vec<Txn>,
    mops: Vec<Mop>,
    keys: Keys,
    /// (key, value) → the transaction that wrote it.
    writers: FxHashMap<(u32, i64), u32>,
    /// Values failed transactions wrote: reads of them are aborted reads.
    aborted: FxHashSet<(u32, i64)>,
    /// Values overwritten in their own transaction: reads of them are intermediate reads
    /// (Elle's G1b), which still read from that transaction, as Elle's dependencies do.
    intermediate: FxHashSet<(u32, i64)>,
    /// A value written twice, or a micro-op this checker cannot read.
    unjudgeable: Option<String>,
    /// Open transactions' processes, by invocation index (for those never completed).
    open: FxHashMap<u64, Process>,
}

impl CommitOrder {
    pub fn new(models: &[String]) -> CommitOrder {
        CommitOrder {
            models: models.to_vec(),
            ..CommitOrder::default()
        }
    }

    fn session(&mut self, p: &Process) -> u32 {
        let next = self.session_names.len() as u32;
        let id = *self.sessions.entry(p.clone()).or_insert(next);
        if id == next {
            self.session_names.push(p.clone());
        }
        id
    }

    /// A transaction's micro-ops; reads only when it committed.
    fn take(&mut self, value: &Value, index: u64, reads: bool) -> Vec<Mop> {
        let mut out = Vec::new();
        for m in value.as_seq().unwrap_or_default() {
            let Some([f, k, v]) = m.as_seq() else {
                self.unreadable(m, index);
                continue;
            };
            let key = self.keys.id(k);
            match f.as_str() {
                Some(w @ ("w" | "append")) => match v.as_int() {
                    Some(x) if x != NIL => out.push(Mop {
                        kind: WRITE,
                        list: w == "append",
                        key,
                        value: x,
                    }),
                    _ => self.unreadable(m, index),
                },
                Some("r") if reads => {
                    let read = match v {
                        Value::Nil => Some(NIL),
                        Value::Int(x) => Some(*x),
                        Value::List(items) => match items.last() {
                            None => Some(NIL),
                            Some(last) => last.as_int(),
                        },
                        _ => None,
                    };
                    match read {
                        Some(value) => out.push(Mop {
                            kind: READ,
                            list: matches!(v, Value::List(_)),
                            key,
                            value,
                        }),
                        None => self.unreadable(m, index),
                    }
                }
                Some("r") => {}
                _ => self.unreadable(m, index),
            }
        }
        out
    }

    fn unreadable(&mut self, m: &Value, index: u64) {
        if self.unjudgeable.is_none() {
            self.unjudgeable = Some(format!(
                "the micro-op {} of op {index} is not a write, an append or a read of integers",
                show(m)
            ));
        }
    }

    fn record(&mut self, p: &Process, index: u64, status: Option<Status>, value: &Value) {
        let Some(status) = status else {
            // Failed: its writes never happened.
            for m in self.take(value, index, false) {
                self.aborted.insert((m.key, m.value));
            }
            return;
        };
        let mops = self.take(value, index, status == Status::Ok);
        let id = self.txns.len() as u32;
        let session = self.session(p);
        // A wide transaction's last write of each key, found once (a search of the rest of
        // the transaction per write made n writes cost n²).
        let last_write: Option<FxHashMap<u32, usize>> = (mops.len() > NARROW).then(|| {
            let mut last = FxHashMap::default();
            for (i, m) in mops.iter().enumerate().filter(|(_, m)| m.kind == WRITE) {
                last.insert(m.key, i);
            }
            last
        });
        for (i, m) in mops.iter().enumerate() {
            let overwritten = || match &last_write {
                Some(last) => last.get(&m.key).is_some_and(|&l| l > i),
                None => mops[i + 1..]
                    .iter()
                    .any(|l| l.kind == WRITE && l.key == m.key),
            };
            if m.kind == WRITE && overwritten() {
                self.intermediate.insert((m.key, m.value));
            }
            if m.kind == WRITE
                && self
                    .writers
                    .insert((m.key, m.value), id)
                    .is_some_and(|w| w != id)
                && self.unjudgeable.is_none()
            {
                self.unjudgeable = Some(format!(
                    "{} is written to {} more than once (op {index}): who a read read from is \
                     ambiguous",
                    m.value,
                    show(self.keys.value(m.key))
                ));
            }
        }
        self.txns.push(Txn {
            index,
            session,
            status,
            mop_start: self.mops.len() as u32,
            mop_len: mops.len() as u32,
        });
        self.mops.extend(mops);
    }
}

impl Checker for CommitOrder {
    fn name(&self) -> &'static str {
        "commit-order"
    }

    fn observe(&mut self, event: &Event<'_>) {
        match *event {
            Event::Invoke(op) if &*op.f == "txn" => {
                self.open.insert(op.index, op.process.clone());
            }
            Event::Complete { invoked, op } if &*op.f == "txn" => {
                self.open.remove(&invoked.index);
                // What it meant to write (a completion alone is its own invocation).
                let asked = if invoked.alone {
                    &op.value
                } else {
                    invoked.value
                };
                match op.kind {
                    OpType::Ok => {
                        self.record(&op.process, invoked.index, Some(Status::Ok), &op.value)
                    }
                    OpType::Fail => self.record(&op.process, invoked.index, None, asked),
                    // Crashed: its writes happened if anything read them.
                    _ => self.record(&op.process, invoked.index, Some(Status::Info), asked),
                }
            }
            Event::Unfinished(invoked) if &**invoked.f == "txn" => {
                if let Some(p) = self.open.remove(&invoked.index) {
                    self.record(&p, invoked.index, Some(Status::Info), invoked.value)
                }
            }
            _ => {}
        }
    }

    fn finish(self: Box<Self>) -> CheckResult {
        let name = "commit-order";
        if self.txns.is_empty() {
            return CheckResult::not_applicable(
                name,
                "not judged: the history has no transactions",
            );
        }
        if let Some(why) = &self.unjudgeable {
            return CheckResult::new(name, Validity::Unknown, format!("not judged: {why}"));
        }
        Analysis::new(*self).run()
    }
}

/// The history as relations, built once the whole of it is known.
struct Analysis {
    c: CommitOrder,
    /// Per transaction: its external reads (key, writer), in program order.
    read_start: Vec<u32>,
    reads: Vec<(u32, u32)>,
    /// Per transaction: the keys it writes, sorted.
    write_start: Vec<u32>,
    writes: Vec<u32>,
    /// In the order: committed, or read from.
    kept: Vec<bool>,
    /// Per session, its transactions in order; each transaction's place (1-based).
    members: Vec<Vec<u32>>,
    pos: Vec<u32>,
    garbage: u64,
    aborted_reads: u64,
    intermediate_reads: u64,
    /// The most vector clocks alive at once while deciding causal.
    peak_clocks: std::cell::Cell<usize>,
}

impl Analysis {
    fn new(c: CommitOrder) -> Analysis {
        let n = c.txns.len();
        let mut a = Analysis {
            read_start: Vec::with_capacity(n + 1),
            reads: Vec::new(),
            write_start: Vec::with_capacity(n + 1),
            writes: Vec::new(),
            kept: c.txns.iter().map(|t| t.status == Status::Ok).collect(),
            members: vec![Vec::new(); c.session_names.len()],
            pos: vec![0; n],
            garbage: 0,
            aborted_reads: 0,
            intermediate_reads: 0,
            peak_clocks: std::cell::Cell::new(0),
            c,
        };
        let mut own: Vec<u32> = Vec::new();
        // A wide transaction's own writes are looked up in a set (a vector's search made a
        // transaction of n writes cost n²).
        let mut own_set: FxHashSet<u32> = FxHashSet::default();
        for t in 0..n {
            let txn = a.c.txns[t];
            a.read_start.push(a.reads.len() as u32);
            a.write_start.push(a.writes.len() as u32);
            own.clear();
            own_set.clear();
            let mops = &a.c.mops[txn.mop_start as usize..(txn.mop_start + txn.mop_len) as usize];
            let wide = mops.len() > NARROW;
            for m in mops {
                if m.kind == WRITE {
                    own.push(m.key);
                    if wide {
                        own_set.insert(m.key);
                    }
                    continue;
                }
                if (wide && own_set.contains(&m.key)) || (!wide && own.contains(&m.key)) {
                    continue; // its own write: internal consistency is Elle's to judge
                }
                let writer = if m.value == NIL {
                    INIT
                } else {
                    if a.c.intermediate.contains(&(m.key, m.value)) {
                        a.intermediate_reads += 1;
                    }
                    match a.c.writers.get(&(m.key, m.value)) {
                        Some(&w) if w as usize == t => continue, // a future read: Elle's
                        Some(&w) => w,
                        None => {
                            if a.c.aborted.contains(&(m.key, m.value)) {
                                a.aborted_reads += 1;
                            } else {
                                a.garbage += 1;
                            }
                            continue;
                        }
                    }
                };
                if writer != INIT {
                    a.kept[writer as usize] = true;
                }
                a.reads.push((m.key, writer));
            }
            own.sort_unstable();
            own.dedup();
            a.writes.extend_from_slice(&own);
        }
        a.read_start.push(a.reads.len() as u32);
        a.write_start.push(a.writes.len() as u32);
        for t in 0..n {
            if a.kept[t] {
                let s = a.c.txns[t].session as usize;
                a.members[s].push(t as u32);
                a.pos[t] = a.members[s].len() as u32;
            }
        }
        a
    }

    fn reads_of(&self, t: u32) -> &[(u32, u32)] {
        &self.reads[self.read_start[t as usize] as usize..self.read_start[t as usize + 1] as usize]
    }

    fn writes_key(&self, t: u32, key: u32) -> bool {
        let w = &self.writes
            [self.write_start[t as usize] as usize..self.write_start[t as usize + 1] as usize];
        w.binary_search(&key).is_ok()
    }

    /// Distinct transactions `t` read from (the initial state left out).
    fn read_from(&self, t: u32, out: &mut Vec<u32>) {
        out.clear();
        let reads = self.reads_of(t);
        if reads.len() > NARROW {
            // A wide transaction's writers are told apart by a set, not a search of those
            // found so far.
            let mut found = FxHashSet::default();
            out.extend(
                reads
                    .iter()
                    .map(|&(_, w)| w)
                    .filter(|&w| w != INIT && found.insert(w)),
            );
            return;
        }
        for &(_, w) in reads {
            if w != INIT && !out.contains(&w) {
                out.push(w);
            }
        }
    }

    fn so_wr_edges(&self) -> Vec<u64> {
        let mut edges = Vec::new();
        for m in &self.members {
            for pair in m.windows(2) {
                edges.push(graph::pack(pair[0], pair[1], SO));
            }
        }
        for s in &self.members {
            for &t in s {
                for &(_, w) in self.reads_of(t) {
                    if w != INIT {
                        edges.push(graph::pack(w, t, WR));
                    }
                }
            }
        }
        edges
    }

    /// Read committed's forced edges: for each read, every transaction read from earlier in the
    /// same transaction that writes the key.
    fn force_rc(&self, out: &mut Vec<Forced>, init: &mut Vec<BeforeInit>) {
        self.force_rc_with(out, init, NARROW);
    }

    /// [`Self::force_rc`], a transaction of more than `narrow` reads through [`Wide`].
    fn force_rc_with(&self, out: &mut Vec<Forced>, init: &mut Vec<BeforeInit>, narrow: usize) {
        let mut seen: Vec<u32> = Vec::new();
        let mut wide = Wide::default();
        for s in &self.members {
            for &t3 in s {
                let reads = self.reads_of(t3);
                if reads.len() > narrow {
                    // Each writer read from is entered under the keys it writes that t3
                    // reads, once; each read then meets only the writers of its key.
                    wide.start(reads);
                    for &(x, t1) in reads {
                        for &t2 in wide.writers(x) {
                            if t2 != t1 {
                                push(out, init, t2, t1, RC, t3, x);
                            }
                        }
                        wide.enter(self, t1);
                    }
                    continue;
                }
                seen.clear();
                for &(x, t1) in reads {
                    for &t2 in &seen {
                        if t2 != t1 && self.writes_key(t2, x) {
                            push(out, init, t2, t1, RC, t3, x);
                        }
                    }
                    if t1 != INIT && !seen.contains(&t1) {
                        seen.push(t1);
                    }
                }
            }
        }
    }

    /// Read atomic's: each transaction seen (read from, or before in the session) that writes
    /// a key read from another.
    fn force_ra(&self, out: &mut Vec<Forced>, init: &mut Vec<BeforeInit>) {
        self.force_ra_with(out, init, NARROW);
    }

    /// [`Self::force_ra`], a transaction of more than `narrow` reads through [`Wide`].
    fn force_ra_with(&self, out: &mut Vec<Forced>, init: &mut Vec<BeforeInit>, narrow: usize) {
        let mut seen: Vec<u32> = Vec::new();
        let mut wide = Wide::default();
        let mut latest: FxHashMap<u32, u32> = FxHashMap::default();
        for s in &self.members {
            latest.clear();
            for &t3 in s {
                let reads = self.reads_of(t3);
                let is_wide = reads.len() > narrow;
                if is_wide {
                    wide.start(reads);
                    for &(_, t1) in reads {
                        wide.enter(self, t1);
                    }
                } else {
                    self.read_from(t3, &mut seen);
                }
                for &(x, t1) in reads {
                    let writers = if is_wide { wide.writers(x) } else { &seen[..] };
                    for &t2 in writers {
                        if t2 != t1 && (is_wide || self.writes_key(t2, x)) {
                            push(out, init, t2, t1, RA, t3, x);
                        }
                    }
                    if let Some(&t2) = latest.get(&x)
                        && t2 != t1
                    {
                        push(out, init, t2, t1, RA, t3, x);
                    }
                }
                let w = &self.writes[self.write_start[t3 as usize] as usize
                    ..self.write_start[t3 as usize + 1] as usize];
                for &x in w {
                    latest.insert(x, t3);
                }
            }
        }
    }

    /// A topological order of `so ∪ wr`, if it has none cycle.
    fn topological(&self) -> Option<Vec<u32>> {
        let n = self.c.txns.len();
        let g = graph::build(self.so_wr_edges(), n);
        let mut indegree = vec![0u32; n];
        for v in 0..n as u32 {
            for &w in g.neighbors_slice(v) {
                indegree[w as usize] += 1;
            }
        }
        let mut queue: VecDeque<u32> = (0..n as u32)
            .filter(|&v| self.kept[v as usize] && indegree[v as usize] == 0)
            .collect();
        let mut order = Vec::with_capacity(n);
        while let Some(v) = queue.pop_front() {
            order.push(v);
            for &w in g.neighbors_slice(v) {
                indegree[w as usize] -= 1;
                if indegree[w as usize] == 0 {
                    queue.push_back(w);
                }
            }
        }
        let kept = self.kept.iter().filter(|&&k| k).count();
        (order.len() == kept).then_some(order)
    }

    /// Causal's: for each read, the latest writer of the key in each session of the reader's
    /// causal past, unless it precedes the transaction read from already. `None` when the
    /// clocks would pass [`CLOCK_BUDGET`].
    fn force_cc(&self, out: &mut Vec<Forced>, init: &mut Vec<BeforeInit>) -> Option<()> {
        let n = self.c.txns.len();
        let k = self.members.len();
        let order = self.topological()?;
        // Each key's writers by session: (session, positions) with positions ascending.
        // Each list keeps a cursor where its last search ended: the pasts of transactions
        // in topological order move forward together, so the next search starts close by.
        let mut by_key: FxHashMap<u32, Vec<(u32, Vec<u32>, u32)>> = FxHashMap::default();
        for (s, m) in self.members.iter().enumerate() {
            for &t in m {
                let w = &self.writes[self.write_start[t as usize] as usize
                    ..self.write_start[t as usize + 1] as usize];
                for &x in w {
                    // Sessions are walked in order: a session's list, if any, is the last.
                    let lists = by_key.entry(x).or_default();
                    match lists.last_mut() {
                        Some((last, ps, _)) if *last == s as u32 => ps.push(self.pos[t as usize]),
                        _ => lists.push((s as u32, vec![self.pos[t as usize]], 0)),
                    }
                }
            }
        }
        // Clocks live while something will still read them: each transaction's session
        // successor and the transactions that read from it. Rows are reused once freed.
        let mut uses = vec![0u32; n];
        let mut seen: Vec<u32> = Vec::new();
        for m in &self.members {
            for (i, &t) in m.iter().enumerate() {
                if i + 1 < m.len() {
                    uses[t as usize] += 1;
                }
                self.read_from(t, &mut seen);
                for &w in &seen {
                    uses[w as usize] += 1;
                }
            }
        }
        const NO_ROW: u32 = u32::MAX;
        let mut row = vec![NO_ROW; n];
        let mut rows: Vec<u32> = Vec::new();
        let mut free: Vec<u32> = Vec::new();
        let mut live = 0usize;
        let mut peak = 0usize;
        let mut past = vec![0u32; k];
        let mut preds: Vec<u32> = Vec::new();
        for &t3 in &order {
            let t = t3 as usize;
            let s3 = self.c.txns[t].session as usize;
            past.fill(0);
            let p = self.pos[t] as usize;
            self.read_from(t3, &mut seen);
            preds.clear();
            preds.extend_from_slice(&seen);
            if p > 1 {
                preds.push(self.members[s3][p - 2]);
            }
            for &w in &preds {
                let r = row[w as usize] as usize * k;
                join(&mut past, &rows[r..r + k]);
            }
            for &(x, t1) in self.reads_of(t3) {
                let Some(lists) = by_key.get_mut(&x) else {
                    continue;
                };
                // What T1 follows already, per session: a writer at or below it is ordered
                // before T1 by so ∪ wr, so no edge is needed (nor any search).
                let floor = (t1 != INIT).then(|| {
                    let r = row[t1 as usize] as usize * k;
                    &rows[r..r + k]
                });
                for (s, positions, cursor) in lists.iter_mut() {
                    let s = *s as usize;
                    let upto = past[s];
                    let below = floor.map_or(0, |f| f[s]);
                    if upto <= below {
                        continue;
                    }
                    let i = gallop(positions, upto, *cursor as usize);
                    *cursor = i as u32;
                    if i == 0 || positions[i - 1] <= below {
                        continue;
                    }
                    // Above T1's clock: neither T1 (its own entry is its place) nor T3 (the
                    // past holds its predecessors only).
                    let t2 = self.members[s][positions[i - 1] as usize - 1];
                    push(out, init, t2, t1, CC, t3, x);
                }
            }
            // Done with the predecessors' clocks, perhaps for good.
            for &w in &preds {
                let w = w as usize;
                uses[w] -= 1;
                if uses[w] == 0 {
                    free.push(row[w]);
                    row[w] = NO_ROW;
                    live -= 1;
                }
            }
            if uses[t] > 0 {
                let r = match free.pop() {
                    Some(r) => r,
                    None => {
                        if (rows.len() / k.max(1) + 1).saturating_mul(k) > CLOCK_BUDGET {
                            return None;
                        }
                        rows.resize(rows.len() + k, 0);
                        (rows.len() / k - 1) as u32
                    }
                };
                row[t] = r;
                live += 1;
                peak = peak.max(live);
                let own = &mut rows[r as usize * k..(r as usize + 1) * k];
                own.copy_from_slice(&past);
                own[s3] = self.pos[t];
            }
        }
        self.peak_clocks.set(peak);
        Some(())
    }

    fn run(self) -> CheckResult {
        let n = self.c.txns.len();
        let base = self.so_wr_edges();
        let mut forced: Vec<Forced> = Vec::new();
        let mut init: Vec<BeforeInit> = Vec::new();
        let mut figures = serde_json::Map::new();
        figures.insert("transactions".into(), json!(n));
        figures.insert("sessions".into(), json!(self.members.len()));
        figures.insert("reads".into(), json!(self.reads.len()));
        figures.insert("garbage-reads".into(), json!(self.garbage));
        figures.insert("aborted-reads".into(), json!(self.aborted_reads));
        figures.insert("intermediate-reads".into(), json!(self.intermediate_reads));
        let mut findings = Findings::default();
        let mut decided: Vec<&str> = Vec::new();
        let mut failed: Option<&str> = None;
        let mut undecided: Option<&str> = None;
        let mut skipped: Vec<&str> = Vec::new();
        for (model, level, kind) in LEVELS {
            // A level whose anomaly the claim allows is not worth its time (with no claim,
            // every level is decided).
            let wanted = self.c.models.is_empty()
                || level == RC
                || models::forbids(&self.c.models, "commit-order", kind);
            if !wanted || !skipped.is_empty() {
                skipped.push(model);
                continue;
            }
            let before = forced.len();
            match level {
                RC => self.force_rc(&mut forced, &mut init),
                RA => self.force_ra(&mut forced, &mut init),
                _ => {
                    if self.force_cc(&mut forced, &mut init).is_none() {
                        undecided = Some(model);
                        break;
                    }
                }
            }
            figures.insert(format!("forced-{model}"), json!(forced.len() - before));
            if level == CC {
                figures.insert("causal-clocks-peak".into(), json!(self.peak_clocks.get()));
            }
            let mut edges = base.clone();
            edges.extend(forced.iter().map(|f| graph::pack(f.from, f.to, f.level)));
            let g = graph::build(edges, n);
            let cycles = self.cycles(&g, &forced, level, kind, &mut findings);
            let mut found = cycles;
            for b in init.iter().filter(|b| b.level == level) {
                found += 1;
                let text = self.explain_before_init(b);
                findings.note(kind, vec![self.c.txns[b.writer as usize].index], || text);
            }
            if found > 0 {
                failed = Some(model);
                break;
            }
            decided.push(model);
        }
        let mut result = CheckResult::new("commit-order", Validity::True, String::new());
        result.figures = figures;
        let counts = findings.describe();
        findings.into_result(&mut result);
        match (failed, undecided) {
            (Some(model), _) => {
                result.valid = Validity::False;
                let held = if decided.is_empty() {
                    String::new()
                } else {
                    format!(" (it holds {})", decided.join(" and "))
                };
                result.summary = format!(
                    "{n} transactions violate {model}{held}, and every level above it: {counts}"
                );
            }
            (None, Some(model)) => {
                let needs = models::forbids(&self.c.models, "commit-order", "causality-violation");
                result.valid = if needs {
                    Validity::Unknown
                } else {
                    Validity::True
                };
                result.summary = format!(
                    "{n} transactions hold {}; {model} not decided: the vector clocks of {} \
                     sessions alive at once pass the budget of {CLOCK_BUDGET} entries",
                    decided.join(" and "),
                    self.members.len()
                );
            }
            (None, None) if skipped.is_empty() => {
                result.summary = format!(
                    "{n} transactions hold causal consistency (and so read atomic and strong-\
                     session read committed): no commit order they force has a cycle"
                );
            }
            (None, None) => {
                result.summary = format!(
                    "{n} transactions hold {}: no commit order they force has a cycle; {} not \
                     checked, as the claim ({}) allows what they forbid",
                    decided.join(" and "),
                    skipped.join(" and "),
                    self.c.models.join(", ")
                );
            }
        }
        result
    }

    /// Cycles of the graph with edges up to `level`; returns how many components have one.
    fn cycles(
        &self,
        g: &Graph,
        forced: &[Forced],
        level: u8,
        kind: &str,
        findings: &mut Findings,
    ) -> u64 {
        // Levels are bits in ascending order: every level up to this one.
        let mask = SO | WR | ((RC | RA | CC) & (level | (level - 1)));
        let (comp, count) = graph::scc(g, mask);
        let mut size = vec![0u32; count as usize];
        for &c in &comp {
            size[c as usize] += 1;
        }
        let mut found = 0u64;
        let mut done = vec![false; count as usize];
        for v in 0..g.node_count() as u32 {
            let c = comp[v as usize] as usize;
            if size[c] < 2 || done[c] {
                continue;
            }
            done[c] = true;
            found += 1;
            let cycle = shortest_cycle(g, &comp, v, mask);
            let has_forced = cycle
                .iter()
                .any(|&(_, t)| t & (RC | RA | CC) != 0 && t & (SO | WR) == 0);
            let kind = if has_forced { kind } else { "cyclic-causality" };
            let ops: Vec<u64> = cycle
                .iter()
                .map(|&(t, _)| self.c.txns[t as usize].index)
                .collect();
            if findings.counts.get(kind).copied().unwrap_or(0) as usize >= EXPLAINED {
                findings.note(kind, ops, String::new);
                continue;
            }
            let text = self.explain_cycle(&cycle, forced);
            let dot = self.dot(&cycle);
            findings.note_with_dot(kind, ops, text, dot);
        }
        found
    }

    fn describe(&self, t: u32) -> String {
        if t == INIT {
            return "the initial state".into();
        }
        let txn = &self.c.txns[t as usize];
        let mops: Vec<String> = self.c.mops
            [txn.mop_start as usize..(txn.mop_start + txn.mop_len) as usize]
            .iter()
            .map(|m| {
                let k = key_text(self.c.keys.value(m.key));
                match m.kind {
                    WRITE if m.list => format!("[append {k} {}]", m.value),
                    WRITE => format!("[w {k} {}]", m.value),
                    _ if m.list && m.value == NIL => format!("[r {k} []]"),
                    _ if m.list => format!("[r {k} [... {}]]", m.value),
                    _ if m.value == NIL => format!("[r {k} nil]"),
                    _ => format!("[r {k} {}]", m.value),
                }
            })
            .collect();
        let crashed = if txn.status == Status::Info {
            ", never acknowledged"
        } else {
            ""
        };
        format!(
            "T{} (op {}, process {}{crashed}): {}",
            txn.index,
            txn.index,
            self.c.session_names[txn.session as usize],
            mops.join(" ")
        )
    }

    fn name(&self, t: u32) -> String {
        if t == INIT {
            "the initial state".into()
        } else {
            format!("T{}", self.c.txns[t as usize].index)
        }
    }

    fn key(&self, x: u32) -> String {
        key_text(self.c.keys.value(x))
    }

    /// Why `a` precedes `b`, for an edge of types `t`.
    fn explain_step(&self, a: u32, b: u32, t: u8, forced: &[Forced]) -> String {
        if t & WR != 0 {
            let x = self
                .reads_of(b)
                .iter()
                .find(|r| r.1 == a)
                .map(|r| self.key(r.0))
                .unwrap_or_default();
            return format!(
                "{} < {}: {} read {x} from {}.",
                self.name(a),
                self.name(b),
                self.name(b),
                self.name(a)
            );
        }
        if t & SO != 0 {
            let s = self.c.txns[a as usize].session as usize;
            return format!(
                "{} < {}: both are process {}'s, in that order.",
                self.name(a),
                self.name(b),
                self.c.session_names[s]
            );
        }
        let level = [RC, RA, CC].into_iter().find(|l| t & l != 0).unwrap_or(CC);
        match forced
            .iter()
            .find(|f| f.from == a && f.to == b && f.level == level)
        {
            Some(f) => self.explain_forced(a, b, f.level, f.reader, f.key),
            None => format!("{} < {} (forced).", self.name(a), self.name(b)),
        }
    }

    /// Why a level forces `t2` to commit before `t1`, for `t3`'s read of `x` from `t1`.
    fn explain_forced(&self, t2: u32, t1: u32, level: u8, t3: u32, x: u32) -> String {
        let (n1, n2, n3, k) = (self.name(t1), self.name(t2), self.name(t3), self.key(x));
        match level {
            RC => {
                let y = self
                    .reads_of(t3)
                    .iter()
                    .find(|r| r.1 == t2)
                    .map(|r| self.key(r.0))
                    .unwrap_or_default();
                format!(
                    "{n2} < {n1}, forced by read committed: {n3} read {y} from {n2}, then read {k} \
                     from {n1}, and {n2} writes {k} too; a read never goes back to a state older \
                     than one its transaction already saw."
                )
            }
            RA => {
                let saw = if self.reads_of(t3).iter().any(|r| r.1 == t2) {
                    let y = self
                        .reads_of(t3)
                        .iter()
                        .find(|r| r.1 == t2)
                        .map(|r| self.key(r.0))
                        .unwrap_or_default();
                    format!("{n3} read {y} from {n2}")
                } else {
                    format!("{n2} came before {n3} in its process")
                };
                format!(
                    "{n2} < {n1}, forced by read atomic: {saw}, and {n2} writes {k}, yet {n3} read \
                     {k} from {n1}; a transaction sees all of another's writes or none."
                )
            }
            _ => {
                let path = self.causal_path(t2, t3);
                format!(
                    "{n2} < {n1}, forced by causal consistency: {n2} is in {n3}'s causal past \
                     ({path}) and writes {k}, yet {n3} read {k} from {n1}; a read sees the latest \
                     write of its causal past."
                )
            }
        }
    }

    /// A shortest path of `so ∪ wr` from `a` to `b`, as names.
    fn causal_path(&self, a: u32, b: u32) -> String {
        let mut prev: FxHashMap<u32, u32> = FxHashMap::default();
        let mut queue = VecDeque::from([b]);
        // Backwards from b: its session predecessor and what it read from.
        while let Some(v) = queue.pop_front() {
            if v == a {
                break;
            }
            let mut preds: Vec<u32> = Vec::new();
            self.read_from(v, &mut preds);
            let s = self.c.txns[v as usize].session as usize;
            let p = self.pos[v as usize] as usize;
            if p > 1 {
                preds.push(self.members[s][p - 2]);
            }
            for u in preds {
                if u != b && !prev.contains_key(&u) {
                    prev.insert(u, v);
                    queue.push_back(u);
                }
            }
        }
        let mut names = vec![self.name(a)];
        let mut v = a;
        while let Some(&next) = prev.get(&v) {
            names.push(self.name(next));
            v = next;
            if v == b {
                break;
            }
        }
        names.join(" → ")
    }

    fn explain_before_init(&self, b: &BeforeInit) -> String {
        let model = LEVELS
            .iter()
            .find(|l| l.1 == b.level)
            .map_or("causal", |l| l.0);
        format!(
            "{}\n{}\n\n{}\nBut the initial state precedes every transaction: {} violates {model}.",
            self.describe(b.writer),
            self.describe(b.reader),
            self.explain_forced(b.writer, INIT, b.level, b.reader, b.key),
            self.name(b.reader),
        )
    }

    fn explain_cycle(&self, cycle: &[(u32, u8)], forced: &[Forced]) -> String {
        let mut text = String::new();
        for &(t, _) in cycle {
            text.push_str(&self.describe(t));
            text.push('\n');
        }
        text.push('\n');
        for (i, &(a, t)) in cycle.iter().enumerate() {
            let b = cycle[(i + 1) % cycle.len()].0;
            text.push_str(&self.explain_step(a, b, t, forced));
            text.push('\n');
        }
        let first = self.name(cycle[0].0);
        text.push_str(&format!(
            "So {first} < {first}: no commit order is consistent with what these transactions saw."
        ));
        text
    }

    fn dot(&self, cycle: &[(u32, u8)]) -> String {
        let mut out = String::from("digraph {\n");
        for &(t, _) in cycle {
            out.push_str(&format!(
                "  {t} [label = \"{}\", shape = box]\n",
                self.describe(t).replace('"', "\\\"")
            ));
        }
        for (i, &(a, t)) in cycle.iter().enumerate() {
            let b = cycle[(i + 1) % cycle.len()].0;
            out.push_str(&format!("  {a} -> {b} [label = \"{}\"]\n", edge_label(t)));
        }
        out.push('}');
        out
    }
}

fn edge_label(t: u8) -> &'static str {
    if t & WR != 0 {
        "wr"
    } else if t & SO != 0 {
        "so"
    } else if t & RC != 0 {
        "rc"
    } else if t & RA != 0 {
        "ra"
    } else {
        "cc"
    }
}

fn key_text(v: &Value) -> String {
    v.as_str().map_or_else(|| show(v), str::to_owned)
}

/// How many of the sorted `positions` are at most `upto` (`partition_point`), searched from
/// `from` outwards by doubling steps, then by halving.
fn gallop(positions: &[u32], upto: u32, from: usize) -> usize {
    let n = positions.len();
    let from = from.min(n);
    let (mut lo, mut hi);
    if from < n && positions[from] <= upto {
        // Forward: the answer is past `from`.
        lo = from + 1;
        let mut step = 1;
        hi = lo;
        while hi < n && positions[hi] <= upto {
            lo = hi + 1;
            hi += step;
            step *= 2;
        }
        hi = hi.min(n);
    } else {
        // Backward: the answer is at most `from`.
        hi = from;
        let mut step = 1;
        lo = hi;
        while lo > 0 && positions[lo - 1] > upto {
            hi = lo - 1;
            lo = lo.saturating_sub(step);
            step *= 2;
        }
    }
    // positions[..lo] are ≤ upto, positions[hi..] are > upto.
    lo + positions[lo..hi].partition_point(|&q| q <= upto)
}

/// A transaction of more reads than this is read through [`Wide`]; below it, searching each
/// writer seen for the key read is faster than building an index.
const NARROW: usize = 32;

/// For one wide transaction (many reads): per key it reads, the writers it has read from so far
/// that write that key, in the order first read from. Entering a writer costs the smaller of
/// its writes and the keys read; a read then meets only its key's writers, where searching
/// every writer seen made a transaction of n reads from n writers cost n².
#[derive(Default)]
struct Wide {
    /// Key → its slot in `writers`.
    slots: FxHashMap<u32, u32>,
    /// The keys read, in slot order.
    keys: Vec<u32>,
    writers: Vec<Vec<u32>>,
    entered: FxHashSet<u32>,
}

impl Wide {
    fn start(&mut self, reads: &[(u32, u32)]) {
        // A map's clear costs its capacity: a smaller wide transaction after a large one
        // starts afresh rather than clearing the large one's tables.
        if self.slots.capacity() > 4 * reads.len() {
            self.slots = FxHashMap::default();
        }
        if self.entered.capacity() > 4 * reads.len() {
            self.entered = FxHashSet::default();
        }
        self.slots.clear();
        self.keys.clear();
        self.entered.clear();
        for &(x, _) in reads {
            let next = self.keys.len() as u32;
            if *self.slots.entry(x).or_insert(next) == next {
                self.keys.push(x);
            }
        }
        self.writers.resize_with(self.keys.len(), Vec::new);
        for w in &mut self.writers[..self.keys.len()] {
            w.clear();
        }
    }

    /// Enters `t` (read from) under each key it writes that the transaction reads.
    fn enter(&mut self, a: &Analysis, t: u32) {
        if t == INIT || !self.entered.insert(t) {
            return;
        }
        let w =
            &a.writes[a.write_start[t as usize] as usize..a.write_start[t as usize + 1] as usize];
        if w.len() <= self.keys.len() {
            for x in w {
                if let Some(&slot) = self.slots.get(x) {
                    self.writers[slot as usize].push(t);
                }
            }
        } else {
            for (slot, x) in self.keys.iter().enumerate() {
                if w.binary_search(x).is_ok() {
                    self.writers[slot].push(t);
                }
            }
        }
    }

    fn writers(&self, x: u32) -> &[u32] {
        self.slots
            .get(&x)
            .map_or(&[], |&slot| &self.writers[slot as usize])
    }
}

fn join(into: &mut [u32], from: &[u32]) {
    for (a, b) in into.iter_mut().zip(from) {
        *a = (*a).max(*b);
    }
}

/// Records a forced edge `t2 → t1`, or, when `t1` is the initial state, a cycle of two.
fn push(
    out: &mut Vec<Forced>,
    init: &mut Vec<BeforeInit>,
    t2: u32,
    t1: u32,
    level: u8,
    t3: u32,
    key: u32,
) {
    if t2 == INIT {
        return; // the initial state precedes everything anyway
    }
    if t1 == INIT {
        init.push(BeforeInit {
            writer: t2,
            level,
            reader: t3,
            key,
        });
        return;
    }
    out.push(Forced {
        from: t2,
        to: t1,
        level,
        reader: t3,
        key,
    });
}

/// A shortest cycle through `v` inside its component, by breadth-first search: each step the
/// node and the types of the edge into the next one.
fn shortest_cycle(g: &Graph, comp: &[u32], v: u32, mask: u8) -> Vec<(u32, u8)> {
    let c = comp[v as usize];
    let mut prev: FxHashMap<u32, (u32, u8)> = FxHashMap::default();
    let mut queue = VecDeque::from([v]);
    'search: while let Some(u) = queue.pop_front() {
        for (&w, &t) in g.neighbors_slice(u).iter().zip(g.edges_slice(u)) {
            if t & mask == 0 || comp[w as usize] != c {
                continue;
            }
            if w == v {
                prev.insert(v, (u, t & mask));
                break 'search;
            }
            if let std::collections::hash_map::Entry::Vacant(e) = prev.entry(w) {
                e.insert((u, t & mask));
                queue.push_back(w);
            }
        }
    }
    // Walk back from v to v.
    let mut cycle = Vec::new();
    let mut at = v;
    loop {
        let (from, t) = prev[&at];
        cycle.push((from, t));
        at = from;
        if at == v {
            break;
        }
    }
    cycle.reverse();
    cycle
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A history of transactions over a few keys, `(session, [(write?, key)])`, each write of a
    /// fresh value and each read of a value written before (or nothing), at random.
    fn analysis(txns: &[(u8, Vec<(bool, u8)>)], picks: &[u16]) -> Analysis {
        let mut c = CommitOrder::new(&["causal".to_owned()]);
        let mut written: Vec<Vec<i64>> = vec![Vec::new(); 8];
        let mut next = 1i64;
        let mut pick = picks.iter().cycle();
        for (i, (session, mops)) in txns.iter().enumerate() {
            let value = Value::List(
                mops.iter()
                    .map(|&(write, key)| {
                        let k = usize::from(key % 8);
                        let v = if write {
                            next += 1;
                            written[k].push(next);
                            Value::Int(next)
                        } else {
                            let p = usize::from(*pick.next().unwrap_or(&0));
                            match p % (written[k].len() + 1) {
                                0 => Value::Nil,
                                j => Value::Int(written[k][j - 1]),
                            }
                        };
                        let f = if write { "w" } else { "r" };
                        Value::List(vec![f.into(), Value::Int(k as i64), v])
                    })
                    .collect(),
            );
            let p = Process::Client(u64::from(session % 4));
            c.record(&p, i as u64, Some(Status::Ok), &value);
        }
        Analysis::new(c)
    }

    proptest! {
        #[test]
        fn wide_transactions_force_the_edges_narrow_ones_do(
            txns in proptest::collection::vec(
                (any::<u8>(), proptest::collection::vec((any::<bool>(), any::<u8>()), 0..12)),
                1..40,
            ),
            picks in proptest::collection::vec(any::<u16>(), 1..64),
        ) {
            let a = analysis(&txns, &picks);
            for narrow_first in [false, true] {
                let run = |narrow: usize| {
                    let (mut out, mut init) = (Vec::new(), Vec::new());
                    if narrow_first {
                        a.force_rc_with(&mut out, &mut init, narrow);
                    } else {
                        a.force_ra_with(&mut out, &mut init, narrow);
                    }
                    (out, init)
                };
                let (narrow, wide) = (run(usize::MAX), run(0));
                prop_assert_eq!(narrow, wide);
            }
        }
    }

    #[test]
    fn gallop_finds_what_partition_point_finds_from_any_start() {
        let positions = [1, 3, 4, 7, 8, 9, 15, 20, 21, 40];
        for upto in 0..45 {
            let want = positions.partition_point(|&q| q <= upto);
            for from in 0..=positions.len() + 2 {
                assert_eq!(
                    gallop(&positions, upto, from),
                    want,
                    "upto {upto} from {from}"
                );
            }
        }
        assert_eq!(gallop(&[], 5, 0), 0);
    }
}
