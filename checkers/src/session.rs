//! `session`: the four session guarantees of Terry et al., per session (a process: a crashed
//! client's successor is a new process, so a new session).
//!
//! - `read-your-writes`: a read reflects every write its session had acknowledged before it.
//! - `monotonic-reads`: a read reflects every write the session's earlier reads reflected.
//! - `monotonic-writes`: a read that reflects a session's write reflects that session's earlier
//!   writes too (and, for lists, after them).
//! - `writes-follow-reads`: a read that reflects a session's write reflects every write that
//!   session had read before making it.
//!
//! Exact on set histories (`add`, reads of the whole set) and list-append histories (`append`,
//! reads of a list; Jepsen `txn`s of `append`/`r` micro-ops): each write adds a unique element,
//! so what a read reflects is what it holds. Sound on registers (`write`/`read`) and counters
//! (`add`/`read`), where a read shows one value or a sum: only the definite cases are named
//! (reading nothing or one's own older write after one's own acknowledged write; a value going
//! back to nil; a counter going down or below the session's own acknowledged increments), and
//! monotonic-writes and writes-follow-reads are not judged there.
//!
//! How: per key, each session's writes are numbered. What a read holds of a session's writes is
//! summed up as the longest prefix it holds entire, so that "reflects all writes an earlier read
//! reflected" is one comparison per session rather than one per element. Memory grows with the
//! writes (40 bytes each, plus the summary each write depends on: 12 bytes per writing session
//! it names, frozen when the write is made and shared by the session's writes until its next
//! read); a read leaves its summary only in its session's state.
//! Not judged: list order for writes-follow-reads (monotonic-writes checks order).

use crate::Event;
use crate::util::{Chunked, Findings, IntIds, Keys, key_label, split_keyed};
use crate::{CheckResult, Checker, Validity};
use history::{Op, OpType, Process, Value};
use rustc_hash::FxHashMap;
use serde_json::json;

pub const GUARANTEES: [&str; 4] = [
    "read-your-writes",
    "monotonic-reads",
    "monotonic-writes",
    "writes-follow-reads",
];

const NONE: u64 = u64::MAX;
/// In `Write::ack`: the write failed.
const FAILED: u64 = u64::MAX - 1;
/// Elements kept beyond the prefixes of a session's reads (holes; rare).
const EXTRAS: usize = 256;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Mode {
    #[default]
    Unknown,
    /// `add`s seen, reads not yet: a set or a counter.
    Add,
    Set,
    List,
    Counter,
    Register,
}

#[derive(Debug)]
struct Write {
    session: u32,
    /// 1-based place among its session's writes to this key.
    seq: u32,
    value: i64,
    invoke: u64,
    /// Its completion's index: [`NONE`] while unknown, [`FAILED`] when it failed (a field of
    /// its own made every write 8 bytes larger).
    ack: u64,
    /// What its session had read of this key before it was invoked: a union frozen in its
    /// key's [`Deps`], or [`NO_DEP`].
    dep: u32,
}

/// What a session's reads of a key have reflected, all together: per writing session the
/// longest prefix of its writes held (with the read that showed it, by its number in
/// `Session::read_ops`), and elements held beyond a hole.
#[derive(Debug, Clone, Default)]
struct Union {
    prefix: Vec<(u32, u32, u32)>,
    extras: Vec<(i64, u64)>,
}

/// A union as it lies, live or frozen.
#[derive(Debug, Clone, Copy)]
struct UnionRef<'a> {
    prefix: &'a [(u32, u32, u32)],
    extras: &'a [(i64, u64)],
}

impl Union {
    fn view(&self) -> UnionRef<'_> {
        UnionRef {
            prefix: &self.prefix,
            extras: &self.extras,
        }
    }
}

/// No union (nothing read yet).
const NO_DEP: u32 = u32::MAX;

/// The unions a key's writes depend on, frozen when a write is made, end to end: a write's
/// is 12 bytes per writing session it names, where a union of its own (shared until the next
/// read) took an allocation, two vectors and a count, about 128 bytes, and a list-append
/// history has about one per write.
#[derive(Debug, Default)]
struct Deps {
    /// Where each frozen union's prefix ends in `prefix`.
    ends: Vec<u32>,
    prefix: Vec<(u32, u32, u32)>,
    /// Extras of the few unions that have any.
    extras: FxHashMap<u32, Vec<(i64, u64)>>,
}

impl Deps {
    fn get(&self, id: u32) -> UnionRef<'_> {
        if id == NO_DEP {
            return UnionRef {
                prefix: &[],
                extras: &[],
            };
        }
        let i = id as usize;
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        UnionRef {
            prefix: &self.prefix[start..self.ends[i] as usize],
            extras: self.extras.get(&id).map_or(&[], Vec::as_slice),
        }
    }

    fn freeze(&mut self, u: &Union) -> u32 {
        let id = self.ends.len() as u32;
        self.prefix.extend_from_slice(&u.prefix);
        self.ends.push(self.prefix.len() as u32);
        if !u.extras.is_empty() {
            self.extras.insert(id, u.extras.clone());
        }
        id
    }
}

/// A session's union of a key: frozen (the one its last write depends on) until a read raises
/// it, live until its next write freezes it.
#[derive(Debug)]
enum Current {
    Frozen(u32),
    Live(Box<Union>),
}

impl Default for Current {
    fn default() -> Self {
        Current::Frozen(NO_DEP)
    }
}

impl Current {
    fn view<'a>(&'a self, deps: &'a Deps) -> UnionRef<'a> {
        match self {
            Current::Frozen(id) => deps.get(*id),
            Current::Live(u) => u.view(),
        }
    }

    /// For a write: the frozen union it depends on.
    fn freeze(&mut self, deps: &mut Deps) -> u32 {
        if let Current::Live(u) = self {
            *self = Current::Frozen(deps.freeze(u));
        }
        match self {
            Current::Frozen(id) => *id,
            Current::Live(_) => unreachable!("frozen above"),
        }
    }

    /// For a read that raises it: the union, live.
    fn live(&mut self, deps: &Deps) -> &mut Union {
        if let Current::Frozen(id) = *self {
            let v = deps.get(id);
            *self = Current::Live(Box::new(Union {
                prefix: v.prefix.to_vec(),
                extras: v.extras.to_vec(),
            }));
        }
        match self {
            Current::Live(u) => u,
            Current::Frozen(_) => unreachable!("made live above"),
        }
    }
}

#[derive(Debug, Default)]
struct SessionKey {
    /// Write ids, in order.
    writes: Vec<u32>,
    last_acked: Option<u32>,
    union: Current,
    /// What only counters and registers need, made for keys that may be one: a list-append
    /// history has a state per session and key, and these were most of its size.
    tallies: Option<Box<Tallies>>,
}

#[derive(Debug, Default)]
struct Tallies {
    acked_sum: i128,
    /// Counters: the largest value read, by which read.
    max_read: Option<(i128, u64)>,
    /// Registers: a read that returned a value.
    read_value: Option<u64>,
}

impl SessionKey {
    fn tallies(&mut self) -> &mut Tallies {
        self.tallies.get_or_insert_with(Default::default)
    }
}

#[derive(Debug, Default)]
struct KeyState {
    mode: Mode,
    ids: Ids,
    writes: Chunked<Write>,
    deps: Deps,
    sessions: FxHashMap<u32, SessionKey>,
    negative: bool,
}

impl KeyState {
    /// Write `seq` (1-based) of a session, by the session's state of this key.
    fn nth(&self, sk: &SessionKey, seq: u32) -> &Write {
        &self.writes[sk.writes[seq as usize - 1] as usize]
    }
}

/// Keys past this many written values keep them in a hash map.
const FEW_VALUES: usize = 64;

/// A key's written values, each with the first write of it: a sorted vector while they are
/// few (a list-append key takes a few dozen appends, and a hash map per key was a fifth of
/// this checker's memory), a hash map past [`FEW_VALUES`] (a set's one key).
#[derive(Debug)]
enum Ids {
    Few(Vec<(i64, u32)>),
    Many(IntIds),
}

impl Default for Ids {
    fn default() -> Self {
        Ids::Few(Vec::new())
    }
}

impl Ids {
    fn get(&self, x: i64) -> Option<u32> {
        match self {
            Ids::Few(few) => few.binary_search_by_key(&x, |e| e.0).ok().map(|i| few[i].1),
            Ids::Many(many) => many.get(x),
        }
    }

    /// The write that owns `x`: its first, which is `id` if `x` is new.
    fn owner(&mut self, x: i64, id: u32) -> u32 {
        if let Ids::Few(few) = self {
            match few.binary_search_by_key(&x, |e| e.0) {
                Ok(i) => return few[i].1,
                Err(i) if few.len() < FEW_VALUES => {
                    few.insert(i, (x, id));
                    return id;
                }
                Err(_) => {
                    let mut many = IntIds::default();
                    for (x, id) in std::mem::take(few) {
                        many.get_or_insert(x, id);
                    }
                    *self = Ids::Many(many);
                }
            }
        }
        match self {
            Ids::Many(many) => many.get_or_insert(x, id),
            Ids::Few(_) => unreachable!("a full vector became a map"),
        }
    }
}

/// A micro-op of an invocation.
enum Micro<'a> {
    Write(&'static str, Value, i64),
    Read(Value, &'a Value),
}

#[derive(Debug, Default)]
pub struct Session {
    keys: Keys,
    per_key: Vec<KeyState>,
    sessions: FxHashMap<Process, u32>,
    /// Open ops' writes: (key, write id).
    open_writes: Vec<Vec<(u32, u32)>>,
    reads: u64,
    judged: [bool; 4],
    findings: Findings,
    /// Scratch for one read: per writing session, the seqs of its writes held, in the read's
    /// order (4 bytes an element held).
    by_session: Vec<Vec<u32>>,
    touched: Vec<u32>,
    /// Scratch for one read: per writing session the longest prefix held, and its latest write
    /// held; elements held beyond a hole.
    prefixes: Vec<(u32, u32)>,
    latest: Vec<(u32, u32)>,
    extras: Vec<i64>,
    /// The op indexes of the reads that raised a union, numbered as unions name them.
    read_ops: Vec<u64>,
    /// Why the history cannot be judged here: a value written twice, or a `cas` (which writes
    /// without saying so in the shape this checker reads). Reads then cannot name their write.
    unjudgeable: Option<String>,
}

/// The micro-ops of an op, to `each` in order: a txn's list, or one read or write.
fn micro_ops<'a>(
    f: &str,
    invocation: &'a Value,
    completion: &'a Value,
    each: &mut impl FnMut(Micro<'a>),
) {
    let write = |f: &'static str, v: &Value| {
        let (key, x) = split_keyed(v);
        x.as_int().map(|x| Micro::Write(f, key, x))
    };
    match f {
        "add" => write("add", invocation).into_iter().for_each(each),
        "append" => write("append", invocation).into_iter().for_each(each),
        "write" => write("write", invocation).into_iter().for_each(each),
        "read" => {
            let (key, _) = split_keyed(invocation);
            let value = if key.is_nil() {
                completion
            } else {
                split_keyed(completion).1
            };
            each(Micro::Read(key, value));
        }
        "txn" => {
            let mops = completion
                .as_seq()
                .filter(|c| !c.is_empty())
                .or_else(|| invocation.as_seq())
                .unwrap_or_default();
            for m in mops {
                let micro = match m.as_seq() {
                    Some([f, k, v]) => match f.as_str() {
                        Some("append") => v.as_int().map(|v| Micro::Write("append", k.clone(), v)),
                        Some("w") => v.as_int().map(|v| Micro::Write("write", k.clone(), v)),
                        Some("r") => Some(Micro::Read(k.clone(), v)),
                        _ => None,
                    },
                    _ => None,
                };
                if let Some(micro) = micro {
                    each(micro);
                }
            }
        }
        _ => {}
    }
}

impl Session {
    fn key(&mut self, key: &Value) -> usize {
        self.keys.slot(key, &mut self.per_key)
    }

    fn session(&mut self, process: &Process) -> u32 {
        let next = self.sessions.len() as u32;
        let id = *self.sessions.entry(process.clone()).or_insert(next);
        if id == next {
            self.open_writes.push(Vec::new());
            self.by_session.push(Vec::new());
        }
        id
    }

    fn invoke(&mut self, op: &Op) {
        if &*op.f == "cas" && self.unjudgeable.is_none() {
            self.unjudgeable = Some(format!(
                "op {} is a cas; this checker reads only write, add and append",
                op.index
            ));
        }
        let session = self.session(&op.process);
        let mut opened = std::mem::take(&mut self.open_writes[session as usize]);
        opened.clear();
        micro_ops(&op.f, &op.value, &Value::Nil, &mut |micro| {
            let Micro::Write(f, key, x) = micro else {
                return;
            };
            let k = self.key(&key);
            let state = &mut self.per_key[k];
            state.mode = match (state.mode, f) {
                (Mode::Unknown, "append") => Mode::List,
                (Mode::Unknown, "write") => Mode::Register,
                (Mode::Unknown, _) => Mode::Add,
                (m, _) => m,
            };
            state.negative |= x < 0;
            let sk = state.sessions.entry(session).or_default();
            let id = state.writes.len() as u32;
            state.writes.push(Write {
                session,
                seq: sk.writes.len() as u32 + 1,
                value: x,
                invoke: op.index,
                ack: NONE,
                dep: sk.union.freeze(&mut state.deps),
            });
            sk.writes.push(id);
            // Unique values: the first write of a value owns it. A register value written twice
            // leaves reads of it ambiguous (adds repeat by design in counters).
            let owned = state.ids.owner(x, id);
            if owned != id && f == "write" && self.unjudgeable.is_none() {
                self.unjudgeable = Some(format!("{x} is written more than once (op {})", op.index));
            }
            opened.push((k as u32, id));
        });
        self.open_writes[session as usize] = opened;
    }

    fn complete(&mut self, invoked: &crate::Invoked<'_>, op: &Op) {
        let session = self.session(&op.process);
        if op.kind == OpType::Ok {
            micro_ops(&op.f, invoked.value, &op.value, &mut |micro| {
                if let Micro::Read(key, value) = micro {
                    let k = self.key(&key);
                    self.read(k, session, op.index, value);
                }
            });
        }
        let mut opened = std::mem::take(&mut self.open_writes[session as usize]);
        for &(k, id) in &opened {
            let state = &mut self.per_key[k as usize];
            let w = &mut state.writes[id as usize];
            match op.kind {
                OpType::Ok => {
                    w.ack = op.index;
                    let value = w.value;
                    // Sums matter to counters only (a key of adds may turn out to be one).
                    let counts = matches!(state.mode, Mode::Unknown | Mode::Add | Mode::Counter);
                    let sk = state.sessions.entry(session).or_default();
                    if counts {
                        sk.tallies().acked_sum += i128::from(value);
                    }
                    sk.last_acked = Some(id);
                }
                OpType::Fail => w.ack = FAILED,
                _ => {}
            }
        }
        opened.clear();
        self.open_writes[session as usize] = opened;
    }

    fn read(&mut self, k: usize, s: u32, r: u64, value: &Value) {
        self.reads += 1;
        let state = &mut self.per_key[k];
        match value {
            Value::Int(_) => {
                if matches!(state.mode, Mode::Add | Mode::Unknown) {
                    state.mode = Mode::Counter;
                }
            }
            Value::List(_) | Value::Set(_) => {
                if matches!(state.mode, Mode::Add | Mode::Unknown) {
                    state.mode = Mode::Set;
                }
            }
            _ => {}
        }
        match state.mode {
            Mode::Set | Mode::List => {
                let Some(held) = crate::util::ints(value) else {
                    return;
                };
                self.read_collection(k, s, r, held);
            }
            Mode::Counter => {
                if let Some(v) = value.as_int() {
                    self.read_counter(k, s, r, v);
                }
            }
            Mode::Register => match value {
                Value::Nil => self.read_register(k, s, r, None),
                v => {
                    if let Some(v) = v.as_int() {
                        self.read_register(k, s, r, Some(v));
                    }
                }
            },
            Mode::Add | Mode::Unknown => {}
        }
    }

    fn read_counter(&mut self, k: usize, s: u32, r: u64, v: i64) {
        self.judged[0] = true;
        self.judged[1] = true;
        let key = self.keys.value(k as u32);
        let state = &mut self.per_key[k];
        if state.negative {
            return;
        }
        let sk = state.sessions.entry(s).or_default();
        let last_acked = sk.last_acked;
        let t = sk.tallies();
        let v = i128::from(v);
        if v < t.acked_sum
            && let Some(last) = last_acked
        {
            let a = state.writes[last as usize].ack;
            let sum = t.acked_sum;
            self.findings.note("read-your-writes", vec![a, r], || {
                let label = key_label(key);
                format!(
                    "Process {s}'s increments of the counter{label} totalled {sum} once op {a} was \
                     acknowledged, yet its later read op {r} returned {v}: it does not reflect its \
                     own writes."
                )
            });
        }
        if let Some((m, ri)) = t.max_read
            && v < m
        {
            self.findings.note("monotonic-reads", vec![ri, r], || {
                let label = key_label(key);
                format!(
                    "Process {s} read the counter{label} as {m} (op {ri}), then as {v} (op {r}); \
                     with only increments, a later read must not see less."
                )
            });
        }
        if t.max_read.is_none_or(|(m, _)| v > m) {
            t.max_read = Some((v, r));
        }
    }

    fn read_register(&mut self, k: usize, s: u32, r: u64, v: Option<i64>) {
        self.judged[0] = true;
        self.judged[1] = true;
        let key = self.keys.value(k as u32);
        let state = &mut self.per_key[k];
        let writer = v
            .and_then(|v| state.ids.get(v))
            .map(|id| &state.writes[id as usize]);
        let sk = state.sessions.entry(s).or_default();
        if let Some(last) = sk.last_acked {
            let mine = &state.writes[last as usize];
            let older_own = writer.is_some_and(|w| w.session == s && w.seq < mine.seq);
            if v.is_none() || older_own {
                let (a, x) = (mine.ack, mine.value);
                let shown = v.map_or("nothing (nil)".to_owned(), |v| {
                    format!("its own older write {v}")
                });
                self.findings.note("read-your-writes", vec![a, r], || {
                    let label = key_label(key);
                    format!(
                        "Process {s} wrote {x} to the register{label} (acknowledged, op {a}), then \
                         its read op {r} returned {shown}."
                    )
                });
            }
        }
        let t = sk.tallies();
        match (t.read_value, v) {
            (Some(ri), None) => self.findings.note("monotonic-reads", vec![ri, r], || {
                let label = key_label(key);
                format!(
                    "Process {s} read a value of the register{label} (op {ri}), then its later read \
                     op {r} found it never written."
                )
            }),
            (None, Some(_)) => t.read_value = Some(r),
            _ => {}
        }
    }

    fn read_collection(&mut self, k: usize, s: u32, r: u64, held: crate::util::Ints<'_>) {
        self.judged = [true; 4];
        let Session {
            keys,
            per_key,
            findings,
            by_session,
            touched,
            prefixes,
            latest,
            extras,
            read_ops,
            ..
        } = self;
        prefixes.clear();
        latest.clear();
        extras.clear();
        // Named only when an anomaly is written up.
        let label_of = || match keys.value(k as u32) {
            Value::Nil => "the set".to_owned(),
            key => format!("key {}", crate::util::show(key)),
        };
        let state = &mut per_key[k];
        let is_list = state.mode == Mode::List;
        for t in touched.drain(..) {
            by_session[t as usize].clear();
        }
        for x in held.iter() {
            if let Some(id) = state.ids.get(x) {
                let w = &state.writes[id as usize];
                let list = &mut by_session[w.session as usize];
                if list.is_empty() {
                    touched.push(w.session);
                }
                list.push(w.seq);
            }
        }
        touched.sort_unstable();
        // Per writing session: the longest prefix held, what lies beyond a hole, and the
        // session's latest write held.
        for &t in touched.iter() {
            let present = &mut by_session[t as usize];
            let sk = &state.sessions[&t];
            if is_list {
                // Monotonic writes, order: the session's writes appear in the order made.
                if let Some(w) = present.windows(2).find(|w| w[1] < w[0]) {
                    let (earlier, later) = (state.nth(sk, w[1]), state.nth(sk, w[0]));
                    let (a, b, x, y) = (earlier.ack, later.invoke, earlier.value, later.value);
                    findings.note("monotonic-writes", vec![a, b, r], || {
                        let label = label_of();
                        format!(
                            "Process {t} appended {x} (acknowledged, op {a}) and then {y} (op {b}) \
                             to the list{label}, but read op {r} lists {y} before {x}."
                        )
                    });
                }
            }
            present.sort_unstable();
            present.dedup();
            let mut p = 0u32;
            let mut i = 0usize;
            loop {
                let next = p + 1;
                if i < present.len() && present[i] == next {
                    i += 1;
                    p = next;
                } else if (next as usize) <= sk.writes.len()
                    && state.nth(sk, next).ack == FAILED
                    && i < present.len()
                {
                    p = next;
                } else {
                    break;
                }
                while i < present.len() && present[i] <= p {
                    i += 1;
                }
            }
            prefixes.push((t, p));
            latest.push((t, present[present.len() - 1]));
            if i < present.len() {
                // A hole: write p+1 is missing while later ones are held.
                let missing = &state.writes[sk.writes[p as usize] as usize];
                let beyond = state.nth(sk, present[i]);
                let b = beyond.invoke;
                if missing.ack != NONE && missing.ack < b {
                    let (a, x, y) = (missing.ack, missing.value, beyond.value);
                    findings.note("monotonic-writes", vec![a, b, r], || {
                        let label = label_of();
                        format!(
                            "Process {t} wrote {x} (acknowledged, op {a}) and then {y} (op {b}) \
                             to {label}; read op {r} reflects {y} but not {x}."
                        )
                    });
                }
                extras.extend(present[i..].iter().map(|&seq| state.nth(sk, seq).value));
            }
        }
        prefixes.sort_unstable();
        let prefix_of = |t: u32| -> u32 {
            prefixes
                .binary_search_by_key(&t, |e| e.0)
                .map_or(0, |i| prefixes[i].1)
        };
        // Whether this read holds `x`: by its write's place among the writes held of its
        // session (sorted above), not a search of the read (a read of millions of elements,
        // once per element beyond a hole, per session).
        let by_session = &*by_session;
        let holds_extra = |state: &KeyState, x: i64| match state.ids.get(x) {
            Some(id) => {
                let w = &state.writes[id as usize];
                by_session[w.session as usize].binary_search(&w.seq).is_ok()
            }
            None => held.contains(x),
        };
        // The first write of session t, beyond what this read holds, that `union` requires.
        let missing = |union: UnionRef<'_>| -> Option<(u32, u32, u64)> {
            union
                .prefix
                .iter()
                .find(|&&(t, p, _)| prefix_of(t) < p)
                .map(|&(t, _, ri)| (t, prefix_of(t) + 1, read_ops[ri as usize]))
        };
        let value_of = |state: &KeyState, t: u32, seq: u32| -> i64 {
            state.nth(&state.sessions[&t], seq).value
        };

        // Read your writes.
        let sk = state.sessions.entry(s).or_default();
        let mine = prefix_of(s) as usize;
        let first_missing = sk.writes[mine.min(sk.writes.len())..]
            .iter()
            .map(|&id| &state.writes[id as usize])
            .find(|w| w.ack != FAILED);
        if let Some(w) = first_missing
            && w.ack != NONE
            && w.ack < r
        {
            let (a, x) = (w.ack, w.value);
            findings.note("read-your-writes", vec![a, r], || {
                let label = label_of();
                format!(
                    "Process {s} wrote {x} to {label} (acknowledged, op {a}), then its read op \
                     {r} does not reflect it."
                )
            });
        }
        // Monotonic reads.
        let union = state.sessions[&s].union.view(&state.deps);
        if let Some((t, seq, ri)) = missing(union) {
            let x = value_of(state, t, seq);
            findings.note("monotonic-reads", vec![ri, r], || {
                let label = label_of();
                format!(
                    "Process {s}'s read op {ri} of {label} reflected {x}, but its later read op \
                     {r} does not."
                )
            });
        } else if let Some(&(x, ri)) = union.extras.iter().find(|e| !holds_extra(state, e.0)) {
            findings.note("monotonic-reads", vec![ri, r], || {
                let label = label_of();
                format!(
                    "Process {s}'s read op {ri} of {label} reflected {x}, but its later read op \
                     {r} does not."
                )
            });
        }
        // Writes follow reads: the latest write held of each session carries the most.
        latest.sort_unstable();
        for &(t, seq) in latest.iter() {
            let sk_t = &state.sessions[&t];
            let w = state.nth(sk_t, seq);
            let dep = state.deps.get(w.dep);
            let found = missing(dep)
                .map(|(u, useq, ri)| (value_of(state, u, useq), ri))
                .or_else(|| {
                    dep.extras
                        .iter()
                        .find(|e| !holds_extra(state, e.0))
                        .copied()
                });
            if let Some((x, ri)) = found {
                let (b, y) = (w.invoke, w.value);
                findings.note("writes-follow-reads", vec![ri, b, r], || {
                    let label = label_of();
                    format!(
                        "Process {t} read {x} (op {ri}) from {label} and then wrote {y} (op \
                         {b}); read op {r} reflects {y} but not {x}."
                    )
                });
                break;
            }
        }
        // What this session has now seen.
        let raises = prefixes.iter().any(|&(t, p)| {
            union
                .prefix
                .iter()
                .find(|e| e.0 == t)
                .is_none_or(|e| e.1 < p)
        }) || extras
            .iter()
            .any(|x| !union.extras.iter().any(|e| e.0 == *x));
        if raises {
            let ord = read_ops.len() as u32;
            read_ops.push(r);
            let sk = state.sessions.entry(s).or_default();
            let u = sk.union.live(&state.deps);
            for &(t, p) in prefixes.iter() {
                match u.prefix.iter_mut().find(|e| e.0 == t) {
                    Some(e) if e.1 < p => *e = (t, p, ord),
                    Some(_) => {}
                    None => u.prefix.push((t, p, ord)),
                }
            }
            for &x in extras.iter() {
                if u.extras.len() < EXTRAS && !u.extras.iter().any(|e| e.0 == x) {
                    u.extras.push((x, r));
                }
            }
            let p = &u.prefix;
            u.extras.retain(|&(x, _)| {
                state.ids.get(x).is_none_or(|id| {
                    let w = &state.writes[id as usize];
                    p.iter()
                        .find(|e| e.0 == w.session)
                        .is_none_or(|e| e.1 < w.seq)
                })
            });
        }
    }
}

impl Checker for Session {
    fn name(&self) -> &'static str {
        "session"
    }

    fn observe(&mut self, event: &Event<'_>) {
        match *event {
            Event::Invoke(op) => self.invoke(op),
            Event::Complete { invoked, op } => self.complete(&invoked, op),
            Event::Unfinished(_) | Event::Other(_) => {}
        }
    }

    fn finish(self: Box<Self>) -> CheckResult {
        if let Some(why) = &self.unjudgeable {
            return CheckResult::not_applicable(
                "session",
                format!(
                    "not judged: {why}; session guarantees need unique written values — check \
                     such a history for linearizability instead"
                ),
            );
        }
        let counts = &self.findings.counts;
        let violated: Vec<String> = GUARANTEES
            .iter()
            .filter_map(|g| counts.get(*g).map(|n| format!("{g} ({n})")))
            .collect();
        let held: Vec<&str> = GUARANTEES
            .iter()
            .enumerate()
            .filter(|(i, g)| self.judged[*i] && !counts.contains_key(**g))
            .map(|(_, g)| *g)
            .collect();
        let judged: Vec<&str> = GUARANTEES
            .iter()
            .enumerate()
            .filter(|(i, _)| self.judged[*i])
            .map(|(_, g)| *g)
            .collect();
        let found = self.findings.total();
        let valid = if found > 0 {
            Validity::False
        } else if self.reads == 0 || judged.is_empty() {
            Validity::Unknown
        } else {
            Validity::True
        };
        let summary = match valid {
            Validity::False => {
                let mut s = format!("violates {}", violated.join(", "));
                if !held.is_empty() {
                    s += &format!("; holds {}", held.join(", "));
                }
                s
            }
            Validity::Unknown => {
                "no read of a kind the session checker judges: nothing can be inferred".to_owned()
            }
            Validity::True => format!(
                "no session guarantee violated: {} hold over {} sessions",
                held.join(", "),
                self.sessions.len()
            ),
        };
        let mut result = CheckResult::new("session", valid, summary);
        let per: serde_json::Map<String, serde_json::Value> = GUARANTEES
            .iter()
            .map(|g| (g.to_string(), json!(counts.get(*g).copied().unwrap_or(0))))
            .collect();
        for (k, v) in [
            ("sessions", json!(self.sessions.len())),
            ("reads", json!(self.reads)),
            ("keys", json!(self.keys.len())),
            ("judged", json!(judged)),
            ("violations", serde_json::Value::Object(per)),
        ] {
            result.figures.insert(k.to_owned(), v);
        }
        self.findings.into_result(&mut result);
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{Row, h, ints, kv, pair, run};
    use history::OpType::*;

    fn session(rows: &[Row]) -> CheckResult {
        run(Box::new(Session::default()), &h(rows))
    }

    fn add(p: u64, x: i64) -> [Row; 2] {
        pair(p, Ok, "add", Value::Int(x), Value::Int(x))
    }
    fn read(p: u64, xs: &[i64]) -> [Row; 2] {
        pair(p, Ok, "read", Value::Nil, ints(xs))
    }
    fn append(p: u64, x: i64) -> [Row; 2] {
        pair(p, Ok, "append", kv(0, Value::Int(x)), kv(0, Value::Int(x)))
    }
    fn read_list(p: u64, xs: &[i64]) -> [Row; 2] {
        pair(p, Ok, "read", kv(0, Value::Nil), kv(0, ints(xs)))
    }

    fn rows<const N: usize>(parts: &[[Row; N]]) -> Vec<Row> {
        parts.iter().flat_map(|p| p.iter().cloned()).collect()
    }

    fn only(r: &CheckResult, kind: &str) {
        assert_eq!(r.valid, Validity::False, "{}", r.summary);
        assert_eq!(
            r.anomaly_counts.keys().collect::<Vec<_>>(),
            vec![kind],
            "{:?}",
            r.anomalies
        );
    }

    #[test]
    fn a_session_that_sees_what_it_wrote_and_read_is_valid() {
        let r = session(&rows(&[
            add(0, 1),
            read(0, &[1]),
            add(1, 2),
            read(1, &[1, 2]),
            read(0, &[1, 2]),
        ]));
        assert_eq!(r.valid, Validity::True, "{}", r.summary);
        assert!(
            r.summary.contains("read-your-writes, monotonic-reads"),
            "{}",
            r.summary
        );
    }

    #[test]
    fn read_your_writes_set() {
        let r = session(&rows(&[add(0, 1), read(0, &[])]));
        only(&r, "read-your-writes");
        assert_eq!(r.anomalies[0].ops, vec![1, 3]);
        assert!(r.anomalies[0].explanation.contains("Process 0 wrote 1"));
        // Another session's read may lag.
        assert_eq!(
            session(&rows(&[add(0, 1), read(1, &[])])).valid,
            Validity::True
        );
    }

    #[test]
    fn monotonic_reads_set() {
        let r = session(&rows(&[add(0, 1), read(1, &[1]), read(1, &[])]));
        only(&r, "monotonic-reads");
        assert_eq!(r.anomalies[0].ops, vec![3, 5]);
        // Two sessions may see different states.
        assert_eq!(
            session(&rows(&[add(0, 1), read(1, &[1]), read(2, &[])])).valid,
            Validity::True
        );
    }

    #[test]
    fn monotonic_writes_set_hole_and_list_order() {
        // Process 0 adds 1 then 2; process 1 sees 2 without 1.
        let r = session(&rows(&[add(0, 1), add(0, 2), read(1, &[2])]));
        only(&r, "monotonic-writes");
        assert_eq!(r.anomalies[0].ops, vec![1, 2, 5]);
        assert_eq!(
            session(&rows(&[add(0, 1), add(0, 2), read(1, &[1])])).valid,
            Validity::True
        );
        // Lists: both held, in the wrong order.
        let r = session(&rows(&[append(0, 1), append(0, 2), read_list(1, &[2, 1])]));
        only(&r, "monotonic-writes");
        assert!(
            r.anomalies[0].explanation.contains("lists 2 before 1"),
            "{}",
            r.anomalies[0].explanation
        );
        let ok = session(&rows(&[append(0, 1), append(0, 2), read_list(1, &[1, 2])]));
        assert_eq!(ok.valid, Validity::True, "{}", ok.summary);
    }

    #[test]
    fn writes_follow_reads_set() {
        // Process 1 reads 1 (from 0), then adds 2; process 2 sees 2 without 1.
        let r = session(&rows(&[add(0, 1), read(1, &[1]), add(1, 2), read(2, &[2])]));
        only(&r, "writes-follow-reads");
        assert_eq!(r.anomalies[0].ops, vec![3, 4, 7]);
        let ok = session(&rows(&[
            add(0, 1),
            read(1, &[1]),
            add(1, 2),
            read(2, &[1, 2]),
        ]));
        assert_eq!(ok.valid, Validity::True);
        // Had process 1 not read 1 first, 2 without 1 would be fine.
        let ok = session(&rows(&[add(0, 1), add(1, 2), read(2, &[2])]));
        assert_eq!(ok.valid, Validity::True);
    }

    #[test]
    fn failed_writes_are_not_required_and_indeterminate_ones_not_for_your_writes() {
        let r = session(&rows(&[
            pair(0, Fail, "add", Value::Int(1), Value::Int(1)),
            add(0, 2),
            read(0, &[2]),
        ]));
        assert_eq!(r.valid, Validity::True, "{:?}", r.anomalies);
        let r = session(&rows(&[
            pair(0, Fail, "add", Value::Int(1), Value::Int(1)),
            add(0, 2),
            read(0, &[]),
        ]));
        only(&r, "read-your-writes");
        let r = session(&rows(&[
            pair(0, Info, "add", Value::Int(1), Value::Int(1)),
            read(5, &[]),
        ]));
        assert_eq!(r.valid, Validity::True);
    }

    #[test]
    fn jepsen_txns_of_appends_and_reads_are_judged() {
        let txn = |mops: Vec<Value>| Value::List(mops);
        let mop = |f: &str, k: i64, v: Value| Value::List(vec![Value::from(f), Value::Int(k), v]);
        let rows = [
            (
                0,
                Invoke,
                "txn",
                txn(vec![mop("append", 7, Value::Int(1))]),
                "",
                false,
            ),
            (
                0,
                Ok,
                "txn",
                txn(vec![mop("append", 7, Value::Int(1))]),
                "",
                false,
            ),
            (
                0,
                Invoke,
                "txn",
                txn(vec![mop("r", 7, Value::Nil)]),
                "",
                false,
            ),
            (0, Ok, "txn", txn(vec![mop("r", 7, ints(&[]))]), "", false),
        ];
        let r = session(&rows);
        only(&r, "read-your-writes");
        assert!(
            r.anomalies[0].explanation.contains("to key 7"),
            "{}",
            r.anomalies[0].explanation
        );
    }

    #[test]
    fn registers_are_judged_soundly() {
        let w = |p, v| pair(p, Ok, "write", kv(0, Value::Int(v)), kv(0, Value::Int(v)));
        let rd = |p, v: Value| pair(p, Ok, "read", kv(0, Value::Nil), kv(0, v));
        // Own write, then nil: read-your-writes.
        let r = session(&rows(&[w(0, 1), rd(0, Value::Nil)]));
        only(&r, "read-your-writes");
        // Own newer write, then own older one.
        let r = session(&rows(&[w(0, 1), w(0, 2), rd(0, Value::Int(1))]));
        only(&r, "read-your-writes");
        // Another process's value may have overwritten it.
        let r = session(&rows(&[
            w(0, 1),
            w(1, 2),
            rd(0, Value::Int(2)),
            rd(0, Value::Int(2)),
        ]));
        assert_eq!(r.valid, Validity::True);
        // A value, then nil.
        let r = session(&rows(&[w(0, 1), rd(1, Value::Int(1)), rd(1, Value::Nil)]));
        only(&r, "monotonic-reads");
        assert_eq!(
            r.figures["judged"],
            json!(["read-your-writes", "monotonic-reads"])
        );
    }

    #[test]
    fn repeated_register_values_and_cas_are_not_judged_here() {
        use crate::testing::{Row, h, kv, pair, run};
        let w = |p, v| pair(p, Ok, "write", kv(0, Value::Int(v)), kv(0, Value::Int(v)));
        let read = |p, v| pair(p, Ok, "read", kv(0, Value::Nil), kv(0, Value::Int(v)));
        // Process 0 writes 1, then 2, then 1 again, then reads 1: with unique values that would
        // be fine or not; here the read cannot name its write.
        let mut rows: Vec<Row> = Vec::new();
        rows.extend(w(0, 1));
        rows.extend(w(0, 2));
        rows.extend(w(1, 1));
        rows.extend(read(0, 1));
        let r = run(Box::new(Session::default()), &h(&rows));
        assert!(!r.applicable, "{}", r.summary);
        assert!(
            r.summary.contains("1 is written more than once"),
            "{}",
            r.summary
        );
        let mut rows: Vec<Row> = Vec::new();
        rows.extend(w(0, 1));
        rows.extend(pair(
            0,
            Ok,
            "cas",
            kv(0, crate::testing::ints(&[1, 5])),
            kv(0, Value::Nil),
        ));
        rows.extend(read(0, 5));
        let r = run(Box::new(Session::default()), &h(&rows));
        assert!(!r.applicable && r.summary.contains("cas"), "{}", r.summary);
    }

    #[test]
    fn counters_are_judged_soundly() {
        let inc = |p| pair(p, Ok, "add", Value::Int(1), Value::Int(1));
        let rd = |p, v| pair(p, Ok, "read", Value::Nil, Value::Int(v));
        only(
            &session(&rows(&[inc(0), inc(0), rd(0, 1)])),
            "read-your-writes",
        );
        only(
            &session(&rows(&[inc(0), rd(1, 1), rd(1, 0)])),
            "monotonic-reads",
        );
        assert_eq!(
            session(&rows(&[inc(0), inc(1), rd(0, 1), rd(0, 2)])).valid,
            Validity::True
        );
    }
}
