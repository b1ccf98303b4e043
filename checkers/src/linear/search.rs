//! The Wing–Gong search with Lowe's just-in-time linearization and memoisation, over one key's
//! operations.
//!
//! The operations' calls and returns form one list in history order (a dancing-links list over
//! indexes: an op placed is unlinked, and linked again when the search backs out of it). The
//! search walks the list from its head: a call is tried — if the model allows the op in the
//! current state, and the pair (ops placed, state) was never reached before, the op is placed
//! and the walk starts again from the head; a return reached means its op had to be placed
//! before it and no order of the ops still open allowed that: the search backs out of the last
//! op placed and tries the next one after it. The history is linearizable when every op that
//! completed is placed; an indeterminate op's return lies past the end of the history, so it
//! may be placed at any time after its call, or never.
//!
//! The set of ops placed is hashed incrementally (Zobrist: each op has two fixed random words,
//! XORed in when it is placed and out when it is taken back), so a configuration costs two words
//! plus the state in the memo, whatever the number of ops. Two configurations that differ but
//! hash alike (a chance of about n²/2¹²⁹ for n configurations) would make the search skip one
//! of them; no hash of less than 128 bits is used for that reason.
//!
//! The search is deterministic: the same ops give the same steps, the same answer and the same
//! witness. Only a time budget running out depends on the machine; a memory budget is counted
//! in bytes the search itself allocated, so it runs out at the same step every time.

use super::model::{Call, Model};
use rustc_hash::FxHashSet;
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

    type Key<S> = (u64, u64, S);
    let slot = std::mem::size_of::<Key<M::State>>() + 1;
    // A hash table of this capacity: one slot per bucket, a bucket per 7/8 of capacity.
    let table_bytes = |capacity: usize| capacity * 8 / 7 * slot;
    let fixed = (2 * n + 1) * 8 + n * 16 + n * (4 + std::mem::size_of::<M::State>()) * 2;
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

    let mut entry = next[head as usize];
    let outcome = loop {
        effort.steps += 1;
        if effort.steps & 1023 == 0 && started.elapsed() > budget.time {
            break Outcome::OutOfBudget {
                spent: Spent::Time,
                placed: best.len(),
            };
        }
        if entry == NONE {
            // Every op placed.
            break Outcome::Linearizable;
        }
        let op = entry / 2;
        if entry & 1 == 0 {
            if let Some(after) = model.step(state, ops[op as usize].c) {
                let (z1, z2) = zob[op as usize];
                let key = (h1 ^ z1, h2 ^ z2, after);
                if memo.len() == memo.capacity() {
                    // The memo is about to grow (to twice its table): count what it will take.
                    let now =
                        fixed + table_bytes(memo.capacity()) + model.memory() + best.capacity() * 4;
                    effort.bytes = effort.bytes.max(now);
                    let grown = now + table_bytes(memo.capacity().max(3));
                    if grown > budget.memory {
                        break Outcome::OutOfBudget {
                            spent: Spent::Memory,
                            placed: best.len(),
                        };
                    }
                }
                if memo.insert(key) {
                    stack.push((entry, state));
                    state = after;
                    (h1, h2) = (key.0, key.1);
                    unlink(&mut next, &mut prev, entry);
                    unlink(&mut next, &mut prev, entry + 1);
                    if stack.len() > best.len() {
                        best.truncate(common);
                        best.extend(stack[common..].iter().map(|&(e, _)| e / 2));
                        common = stack.len();
                        blocked = NONE;
                    }
                    entry = next[head as usize];
                    continue;
                }
            }
            entry = next[entry as usize];
        } else if ops[op as usize].ret == u64::MAX {
            // Only indeterminate ops remain unplaced: each may never have happened.
            break Outcome::Linearizable;
        } else {
            // This op had to be placed by now, and could not be: back out of the last op.
            // (The stack is the longest prefix itself only while `common` covers all of it.)
            if stack.len() == best.len() && common == stack.len() && blocked == NONE {
                blocked = op;
            }
            let Some((e, s)) = stack.pop() else {
                break Outcome::Not {
                    prefix: std::mem::take(&mut best),
                    blocked,
                };
            };
            common = common.min(stack.len());
            state = s;
            let (z1, z2) = zob[(e / 2) as usize];
            (h1, h2) = (h1 ^ z1, h2 ^ z2);
            relink(&mut next, &mut prev, e + 1);
            relink(&mut next, &mut prev, e);
            entry = next[e as usize];
        }
    };
    effort.memo = memo.len();
    effort.bytes = effort
        .bytes
        .max(fixed + table_bytes(memo.capacity()) + model.memory());
    effort.elapsed = started.elapsed();
    (outcome, effort)
}
