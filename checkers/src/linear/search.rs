//! The Wing–Gong search with Lowe's just-in-time linearization and memoisation, over one key's
//! operations.
//!
//! The operations' calls and returns form one list in history order (a dancing-links list over
//! indexes: an op placed is unlinked, and linked again when the search backs out of it). In a
//! configuration (the ops placed so far, in order, and the state they leave), the first return
//! left in the list is the op that must be placed next or before long (the *forced* op); the
//! calls before it are the ops that may be placed now. They are tried depth first, each leading
//! to a configuration never reached before: the forced op first (as Lowe's just-in-time search
//! places an op when its return comes), then the ops after which it would be legal, then the
//! rest, each group in history order. When none is left, no order of the ops still open lets
//! the forced op be placed after this prefix: the search backs out of the last op placed. The
//! history is linearizable when every op that completed is placed; an indeterminate op's return
//! lies past the end of the history, so it may be placed at any time after its call, or never.
//!
//! The set of ops placed is hashed incrementally (Zobrist: each op has two fixed random words,
//! XORed in when it is placed and out when it is taken back), so a configuration costs two words
//! plus the state in the memo, whatever the number of ops. Two configurations that differ but
//! hash alike (a chance of about n²/2¹²⁹ for n configurations) would make the search skip one
//! of them; no hash of less than 128 bits is used for that reason.
//!
//! Some orders need not be tried, as any linearization can be rewritten into one that keeps
//! these rules, the state after every completed op unchanged:
//! - An op that only observes (a read: wherever it is legal it leaves the state as it found
//!   it) and may be placed now is placed now, with no alternative: in a linearization from here
//!   it can be moved to here.
//! - Alike ops (the same call: the same function and values) keep the order of their windows:
//!   if a was called before b and returned no later (an indeterminate op returns at infinity),
//!   b is tried only once a is placed. Where b comes before a, or b is placed and a (being
//!   indeterminate) is not, swap them: a at b's point is after a's call and before its return,
//!   b at a's point is after b's call and before b's return; or put a where b was and drop b.
//! - An indeterminate op that would leave the state as it is is never placed (drop it).
//! - An indeterminate op is never followed by an overwrite (`write`, `put`), which makes it moot
//!   (drop it: the overwrite leaves the same state); so in a register, the op after it needs
//!   its value. Whether the last op placed was indeterminate is part of a configuration in the
//!   memo.
//!
//! Rewriting ends (each drop shortens the linearization, each swap removes an inversion) with
//! every rule kept. Without them, n alike or indeterminate ops open at once would make up to 2ⁿ
//! configurations where far fewer say the same. A property test checks the search against
//! trying every order on small histories.
//!
//! The search is deterministic: the same ops give the same steps, the same answer and the same
//! witness. Only a time budget running out depends on the machine; a memory budget is counted
//! in bytes the search itself allocated, so it runs out at the same step every time.

use super::model::{Call, Model};
use rustc_hash::{FxHashMap, FxHashSet};
use std::time::{Duration, Instant};

/// One op of a key, as the search sees it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SearchOp {
    /// Position of its call in the history.
    pub call: u64,
    /// Position of its return; `u64::MAX` when indeterminate (it may never have happened).
    pub ret: u64,
    pub c: Call,
}

/// What one key's search may spend.
#[derive(Debug, Clone, Copy)]
pub struct Budget {
    pub time: Duration,
    /// Bytes of the memo, the search's lists and stack, and the model's own values.
    pub memory: usize,
}

impl Default for Budget {
    fn default() -> Budget {
        Budget {
            time: Duration::from_secs(60),
            memory: 1 << 30,
        }
    }
}

/// Which budget ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Spent {
    Time,
    Memory,
}

/// How the search went, whatever its answer.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Effort {
    pub steps: u64,
    /// Configurations in the memo at the end.
    pub memo: usize,
    /// Bytes counted against the memory budget at the peak.
    pub bytes: usize,
    pub elapsed: Duration,
}

#[derive(Debug, Clone)]
pub(crate) enum Outcome {
    Linearizable,
    /// No linearization: the longest linearizable prefix found (ops, in order), and the op
    /// whose return came while it could not be placed after that prefix.
    Not {
        prefix: Vec<u32>,
        blocked: u32,
    },
    /// A budget ran out; `placed` ops was as far as the search got.
    OutOfBudget {
        spent: Spent,
        placed: usize,
    },
}

const NONE: u32 = u32::MAX;

/// Marks a configuration reached by placing an indeterminate op, in the memo's second word.
const AFTER_INDETERMINATE: u64 = 0x243f_6a88_85a3_08d3;

/// Two fixed random words per op (splitmix64 of its number): the same for every run.
fn zobrist(op: u32) -> (u64, u64) {
    fn mix(mut z: u64) -> u64 {
        z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    let x = u64::from(op);
    (mix(x), mix(x ^ 0x5851_f42d_4c95_7f2d).rotate_left(17))
}

/// For each op b, the alike op a (the same call) that is placed before it, or `NONE`: the
/// latest one by (call, return) with a's call before b's and a's return no later than b's.
fn twins(ops: &[SearchOp]) -> Vec<u32> {
    let mut twin = vec![NONE; ops.len()];
    let mut alike: FxHashMap<Call, Vec<u32>> = FxHashMap::default();
    for (i, op) in ops.iter().enumerate() {
        alike.entry(op.c).or_default().push(i as u32);
    }
    let mut below: Vec<u32> = Vec::new();
    for (_, mut group) in alike {
        group.sort_unstable_by_key(|&i| (ops[i as usize].call, ops[i as usize].ret, i));
        // The latest earlier op whose return is no later: a stack of returns rising.
        below.clear();
        for &b in &group {
            let ret = ops[b as usize].ret;
            while below.last().is_some_and(|&a| ops[a as usize].ret > ret) {
                below.pop();
            }
            if let Some(&a) = below.last() {
                twin[b as usize] = a;
            }
            below.push(b);
        }
    }
    twin
}

/// Checks one key's ops against the model.
pub(crate) fn search<M: Model>(
    ops: &[SearchOp],
    model: &mut M,
    budget: &Budget,
) -> (Outcome, Effort) {
    let started = Instant::now();
    let n = ops.len();
    // Entries: call of op i is 2i, its return 2i+1; the list runs in history order.
    let mut order: Vec<u32> = (0..2 * n as u32).collect();
    let position = |e: u32| {
        let op = &ops[(e / 2) as usize];
        // Calls before returns at one position (a lone completion's call and return).
        if e & 1 == 0 {
            (op.call, 0, e)
        } else {
            (op.ret, 1, e)
        }
    };
    order.sort_unstable_by_key(|&e| position(e));
    let head = 2 * n as u32;
    let mut next = vec![NONE; 2 * n + 1];
    let mut prev = vec![NONE; 2 * n + 1];
    let mut last = head;
    for &e in &order {
        next[last as usize] = e;
        prev[e as usize] = last;
        last = e;
    }
    drop(order);
    let zob: Vec<(u64, u64)> = (0..n as u32).map(zobrist).collect();
    // For each op, an alike op (the same call) whose window lies no later than its own: it is
    // placed first.
    let twin = twins(ops);
    let mut placed = vec![false; n];

    type Key<S> = (u64, u64, S);
    let slot = std::mem::size_of::<Key<M::State>>() + 1;
    // A hash table of this capacity: one slot per bucket, a bucket per 7/8 of capacity.
    let table_bytes = |capacity: usize| capacity * 8 / 7 * slot;
    let fixed = (2 * n + 1) * 8 + n * 21 + n * (4 + std::mem::size_of::<M::State>()) * 2;
    let mut memo: FxHashSet<Key<M::State>> = FxHashSet::default();
    let mut effort = Effort::default();
    let mut stack: Vec<(u32, M::State)> = Vec::new();
    let mut state = model.init();
    let (mut h1, mut h2) = (0u64, 0u64);
    // The longest prefix placed, kept as the stack's ops without copying it at every step:
    // `best[..common]` equals the stack's first `common` ops.
    let mut best: Vec<u32> = Vec::new();
    let mut common = 0usize;
    let mut blocked = NONE;

    let unlink = |next: &mut Vec<u32>, prev: &mut Vec<u32>, e: u32| {
        let (p, x) = (prev[e as usize], next[e as usize]);
        next[p as usize] = x;
        if x != NONE {
            prev[x as usize] = p;
        }
    };
    let relink = |next: &mut Vec<u32>, prev: &mut Vec<u32>, e: u32| {
        let (p, x) = (prev[e as usize], next[e as usize]);
        next[p as usize] = e;
        if x != NONE {
            prev[x as usize] = e;
        }
    };

    // One frame per configuration on the path: its candidates (call entries, with the state each
    // leads to) in `cands[start..]`, the next to try at `cursor`, and the op it must place.
    struct Frame {
        start: usize,
        cursor: usize,
        forced: u32,
    }
    let mut frames: Vec<Frame> = Vec::new();
    let mut cands: Vec<(u32, M::State)> = Vec::new();
    // The ops that may be placed in the current configuration, in the order they are tried;
    // `None` when every op that completed is placed.
    let open_frame = |model: &mut M,
                      next: &[u32],
                      placed: &[bool],
                      stack: &[(u32, M::State)],
                      state: M::State,
                      cands: &mut Vec<(u32, M::State)>|
     -> Option<Frame> {
        let start = cands.len();
        let after_indeterminate = stack
            .last()
            .is_some_and(|&(e, _)| ops[(e / 2) as usize].ret == u64::MAX);
        let mut e = next[head as usize];
        while e != NONE && e & 1 == 0 {
            let op = (e / 2) as usize;
            let this = ops[op];
            let t = twin[op];
            let allowed =
                (t == NONE || placed[t as usize]) && !(after_indeterminate && this.c.overwrites());
            if allowed
                && let Some(after) = model.step(state, this.c)
                && !(this.ret == u64::MAX && after == state)
            {
                if this.c.only_observes() {
                    // Placed at once, with no alternative.
                    cands.truncate(start);
                    cands.push((e, after));
                    while e != NONE && e & 1 == 0 {
                        e = next[e as usize];
                    }
                    break;
                }
                cands.push((e, after));
            }
            e = next[e as usize];
        }
        if e == NONE || ops[(e / 2) as usize].ret == u64::MAX {
            // Only indeterminate ops remain unplaced: each may never have happened.
            cands.truncate(start);
            return None;
        }
        let forced = e / 2;
        if cands.len() > start + 1 {
            // The op that must be placed first, then the ops after which it can be, then the
            // rest, each group in history order.
            let call = ops[forced as usize].c;
            // Reordered past the end of the buffer, then moved back: no allocation per frame.
            let end = cands.len();
            if let Some(i) = (start..end).find(|&i| cands[i].0 / 2 == forced) {
                cands.push(cands[i]);
            }
            for enables in [true, false] {
                for i in start..end {
                    let (c, after) = cands[i];
                    if c / 2 != forced && model.step(after, call).is_some() == enables {
                        cands.push((c, after));
                    }
                }
            }
            cands.copy_within(end.., start);
            cands.truncate(end);
        }
        Some(Frame {
            start,
            cursor: start,
            forced,
        })
    };

    let outcome = 'search: {
        match open_frame(model, &next, &placed, &stack, state, &mut cands) {
            Some(f) => frames.push(f),
            None => break 'search Outcome::Linearizable,
        }
        loop {
            effort.steps += 1;
            if effort.steps & 1023 == 0 && started.elapsed() > budget.time {
                break 'search Outcome::OutOfBudget {
                    spent: Spent::Time,
                    placed: best.len(),
                };
            }
            let frame = frames.last_mut().expect("a frame while searching");
            if frame.cursor < cands.len() {
                let (entry, after) = cands[frame.cursor];
                frame.cursor += 1;
                let op = entry / 2;
                let (z1, z2) = zob[op as usize];
                // Configurations right after an indeterminate op are told apart from the rest:
                // fewer ops may follow them.
                let mark = if ops[op as usize].ret == u64::MAX {
                    AFTER_INDETERMINATE
                } else {
                    0
                };
                let key = (h1 ^ z1, h2 ^ z2 ^ mark, after);
                if memo.len() == memo.capacity() {
                    // The memo is about to grow to twice its table, the old one still held while
                    // it moves: count what that will take.
                    let now = fixed
                        + table_bytes(memo.capacity())
                        + model.memory()
                        + best.capacity() * 4
                        + stack.capacity() * std::mem::size_of::<(u32, M::State)>()
                        + cands.capacity() * std::mem::size_of::<(u32, M::State)>()
                        + frames.capacity() * std::mem::size_of::<Frame>();
                    effort.bytes = effort.bytes.max(now);
                    let grown = now + 2 * table_bytes(memo.capacity().max(3));
                    if grown > budget.memory {
                        break 'search Outcome::OutOfBudget {
                            spent: Spent::Memory,
                            placed: best.len(),
                        };
                    }
                }
                if !memo.insert(key) {
                    continue;
                }
                stack.push((entry, state));
                placed[op as usize] = true;
                state = after;
                (h1, h2) = (key.0, key.1 ^ mark);
                unlink(&mut next, &mut prev, entry);
                unlink(&mut next, &mut prev, entry + 1);
                if stack.len() > best.len() {
                    best.truncate(common);
                    best.extend(stack[common..].iter().map(|&(e, _)| e / 2));
                    common = stack.len();
                    blocked = NONE;
                }
                match open_frame(model, &next, &placed, &stack, state, &mut cands) {
                    Some(f) => frames.push(f),
                    None => break 'search Outcome::Linearizable,
                }
            } else {
                // No candidate left: the frame's op cannot be placed after this prefix. Back out
                // of the last op placed. (The stack is the longest prefix itself only while
                // `common` covers all of it.)
                if stack.len() == best.len() && common == stack.len() && blocked == NONE {
                    blocked = frame.forced;
                }
                cands.truncate(frame.start);
                frames.pop();
                let Some((e, s)) = stack.pop() else {
                    break 'search Outcome::Not {
                        prefix: std::mem::take(&mut best),
                        blocked,
                    };
                };
                common = common.min(stack.len());
                placed[(e / 2) as usize] = false;
                state = s;
                let (z1, z2) = zob[(e / 2) as usize];
                (h1, h2) = (h1 ^ z1, h2 ^ z2);
                relink(&mut next, &mut prev, e + 1);
                relink(&mut next, &mut prev, e);
            }
        }
    };
    effort.memo = memo.len();
    effort.bytes = effort
        .bytes
        .max(fixed + table_bytes(memo.capacity()) + model.memory());
    effort.elapsed = started.elapsed();
    (outcome, effort)
}
