//! What a replica holds for one key, and how two replicas' holdings merge.
//!
//! Two families, chosen by the store's conflict resolution:
//! - last-write-wins (`lww-wall`, `lww-hlc`): the whole value carries a [`Stamp`], and the
//!   greater stamp wins. An add to a set, an increment or an append is done by the coordinator
//!   as read-modify-write of the value it holds, so concurrent updates lose all but one — and a
//!   clock running ahead makes an *earlier* write win. That is the flaw on purpose.
//! - `crdt`: sets merge by union, counters keep a (increments, decrements) pair per node and
//!   merge by per-node maximum, lists keep (stamp → element) entries and merge by union, read in
//!   stamp order. Registers and idempotency records stay last-write-wins (by hybrid clock).
//!
//! Every merge is commutative, associative and idempotent, so replicas that have seen the same
//! updates hold the same state, in whatever order and however often the updates arrived.

use crate::clock::Stamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The data types ecstore stores, each under its own key space.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Register,
    Set,
    Counter,
    List,
    /// Insert-if-absent records, keyed by idempotency key.
    Idem,
}

impl Kind {
    pub fn parse(s: &str) -> Option<Kind> {
        Some(match s {
            "register" => Kind::Register,
            "set" => Kind::Set,
            "counter" => Kind::Counter,
            "list" => Kind::List,
            "idem" => Kind::Idem,
            _ => return None,
        })
    }
}

/// A whole value, as last-write-wins replicates it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Data {
    Register(Value),
    Set(BTreeSet<i64>),
    Counter(i64),
    List(Vec<i64>),
    Idem(Value),
}

/// One replica's state of one key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    Lww {
        stamp: Stamp,
        data: Data,
    },
    Set(BTreeSet<i64>),
    /// Per node: (increments, decrements) it coordinated, in total.
    Counter(BTreeMap<u16, (u64, u64)>),
    #[serde(with = "stamp_pairs")]
    List(BTreeMap<Stamp, i64>),
}

/// JSON map keys must be strings: list entries travel as `[[stamp, element], ...]`.
mod stamp_pairs {
    use super::Stamp;
    use serde::{Deserialize, Deserializer, Serializer};
    use std::collections::BTreeMap;

    pub fn serialize<S: Serializer>(m: &BTreeMap<Stamp, i64>, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(m.iter())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<BTreeMap<Stamp, i64>, D::Error> {
        Ok(Vec::<(Stamp, i64)>::deserialize(d)?.into_iter().collect())
    }
}

impl State {
    /// The state after seeing both. `None` when they are of different shapes, which only a
    /// store reconfigured between resolutions could produce; the receiver keeps its own.
    pub fn merge(&self, other: &State) -> Option<State> {
        Some(match (self, other) {
            (State::Lww { stamp: a, .. }, State::Lww { stamp: b, .. }) => {
                if b > a {
                    other.clone()
                } else {
                    self.clone()
                }
            }
            (State::Set(a), State::Set(b)) => State::Set(a.union(b).copied().collect()),
            (State::Counter(a), State::Counter(b)) => {
                let mut merged = a.clone();
                for (node, &(inc, dec)) in b {
                    let e = merged.entry(*node).or_insert((0, 0));
                    *e = (e.0.max(inc), e.1.max(dec));
                }
                State::Counter(merged)
            }
            (State::List(a), State::List(b)) => {
                let mut merged = a.clone();
                for (stamp, &x) in b {
                    // One stamp, one element; should two ever differ, keep one deterministically.
                    let e = merged.entry(*stamp).or_insert(x);
                    *e = (*e).max(x);
                }
                State::List(merged)
            }
            _ => return None,
        })
    }

    /// What a client reads.
    pub fn read(&self) -> Value {
        match self {
            State::Lww { data, .. } => match data {
                Data::Register(v) | Data::Idem(v) => v.clone(),
                Data::Set(s) => serde_json::json!(s),
                Data::Counter(n) => serde_json::json!(n),
                Data::List(l) => serde_json::json!(l),
            },
            State::Set(s) => serde_json::json!(s),
            State::Counter(entries) => {
                let total: i128 = entries
                    .values()
                    .map(|&(inc, dec)| inc as i128 - dec as i128)
                    .sum();
                serde_json::json!(total as i64)
            }
            State::List(entries) => serde_json::json!(entries.values().collect::<Vec<_>>()),
        }
    }

    /// A stable fingerprint for anti-entropy: equal states, equal digests.
    pub fn digest(&self) -> u64 {
        fnv1a(serde_json::to_string(self).unwrap_or_default().as_bytes())
    }
}

/// What nothing has been written to reads as.
pub fn empty_read(kind: Kind) -> Value {
    match kind {
        Kind::Register | Kind::Idem => Value::Null,
        Kind::Set | Kind::List => serde_json::json!([]),
        Kind::Counter => serde_json::json!(0),
    }
}

/// FNV-1a, 64 bits: deterministic across processes (std's hasher is randomly seeded).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(time: u64, node: u16) -> Stamp {
        Stamp {
            time,
            logical: 0,
            node,
        }
    }

    /// A spread of states of every shape, including ties and overlaps.
    fn samples() -> Vec<Vec<State>> {
        vec![
            vec![
                State::Lww {
                    stamp: s(5, 1),
                    data: Data::Register(Value::from(1)),
                },
                State::Lww {
                    stamp: s(5, 2),
                    data: Data::Register(Value::from(2)),
                },
                State::Lww {
                    stamp: s(9, 0),
                    data: Data::Register(Value::from(3)),
                },
            ],
            vec![
                State::Set([1, 2].into()),
                State::Set([2, 3].into()),
                State::Set([9].into()),
            ],
            vec![
                State::Counter([(1, (3, 0)), (2, (1, 1))].into()),
                State::Counter([(1, (2, 5)), (3, (4, 0))].into()),
                State::Counter([(2, (7, 0))].into()),
            ],
            vec![
                State::List([(s(1, 1), 10), (s(2, 1), 20)].into()),
                State::List([(s(2, 1), 20), (s(3, 2), 30)].into()),
                State::List([(s(0, 3), 5)].into()),
            ],
        ]
    }

    #[test]
    fn merges_are_commutative_associative_and_idempotent() {
        for family in samples() {
            for a in &family {
                assert_eq!(a.merge(a).as_ref(), Some(a), "idempotent: {a:?}");
                for b in &family {
                    assert_eq!(a.merge(b), b.merge(a), "commutative: {a:?} {b:?}");
                    for c in &family {
                        let left = a.merge(b).and_then(|ab| ab.merge(c));
                        let right = b.merge(c).and_then(|bc| a.merge(&bc));
                        assert_eq!(left, right, "associative: {a:?} {b:?} {c:?}");
                    }
                }
            }
        }
    }

    #[test]
    fn what_each_merge_keeps() {
        let f = samples();
        // LWW: the greatest stamp; the node breaks a tie in time.
        assert_eq!(f[0][0].merge(&f[0][1]).unwrap().read(), Value::from(2));
        assert_eq!(f[0][1].merge(&f[0][2]).unwrap().read(), Value::from(3));
        // Set: union.
        assert_eq!(
            f[1][0].merge(&f[1][1]).unwrap().read(),
            serde_json::json!([1, 2, 3])
        );
        // Counter: per node max of increments and of decrements, then the sum.
        // node 1: (3, 5), node 2: (1, 1), node 3: (4, 0) => 3-5 + 0 + 4 = 2
        assert_eq!(
            f[2][0].merge(&f[2][1]).unwrap().read(),
            serde_json::json!(2)
        );
        // List: union, in stamp order.
        assert_eq!(
            f[3][0]
                .merge(&f[3][2])
                .unwrap()
                .merge(&f[3][1])
                .unwrap()
                .read(),
            serde_json::json!([5, 10, 20, 30])
        );
        // Shapes that cannot meet do not merge.
        assert_eq!(f[1][0].merge(&f[2][0]), None);
    }

    #[test]
    fn digests_tell_states_apart_and_agree_on_equal_ones() {
        let a = State::Set([1, 2].into());
        let b = State::Set([2, 1].into());
        let c = State::Set([1, 3].into());
        assert_eq!(a.digest(), b.digest());
        assert_ne!(a.digest(), c.digest());
    }
}
