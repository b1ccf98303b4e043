//! Who stops hearing whom: partitions as grudges.
//!
//! A grudge maps each node to the nodes whose traffic it drops. Topologies build grudges from
//! the node names; every grudge rift makes is symmetric (if a drops b, b drops a), so a
//! partition cuts both directions.

use std::collections::{BTreeMap, BTreeSet};

pub type Grudge = BTreeMap<String, BTreeSet<String>>;

/// The shapes of partition rift knows (Jepsen's names).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topology {
    /// One node, chosen at random, cut off from all others.
    IsolateOne,
    /// A random minority and majority, cut from each other.
    Halves,
    /// Every node sees a majority, but no two nodes see the same one.
    MajoritiesRing,
    /// Two halves joined by one node that sees both.
    Bridge,
}

impl Topology {
    pub const ALL: [Topology; 4] = [
        Topology::IsolateOne,
        Topology::Halves,
        Topology::MajoritiesRing,
        Topology::Bridge,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Topology::IsolateOne => "isolate-one",
            Topology::Halves => "halves",
            Topology::MajoritiesRing => "majorities-ring",
            Topology::Bridge => "bridge",
        }
    }

    pub fn parse(s: &str) -> Option<Topology> {
        Topology::ALL.into_iter().find(|t| t.name() == s)
    }
}

/// Each node drops every node outside its own component.
pub fn complete(components: &[Vec<String>]) -> Grudge {
    let all: BTreeSet<String> = components.iter().flatten().cloned().collect();
    let mut grudge = Grudge::new();
    for component in components {
        let mine: BTreeSet<String> = component.iter().cloned().collect();
        for n in component {
            grudge.insert(n.clone(), all.difference(&mine).cloned().collect());
        }
    }
    grudge
}

/// The grudge of a topology over `nodes`, shuffled by `pick` (a source of random indexes:
/// `pick(n)` is in `0..n`).
pub fn grudge(
    topology: Topology,
    nodes: &[String],
    mut pick: impl FnMut(usize) -> usize,
) -> Grudge {
    let mut order: Vec<String> = nodes.to_vec();
    for i in (1..order.len()).rev() {
        order.swap(i, pick(i + 1));
    }
    let n = order.len();
    match topology {
        Topology::IsolateOne => complete(&[order[..1].to_vec(), order[1..].to_vec()]),
        Topology::Halves => complete(&[order[..n / 2].to_vec(), order[n / 2..].to_vec()]),
        Topology::Bridge => {
            // [a b] c [d e]: c is in both halves.
            let mid = n / 2;
            let left: BTreeSet<&String> = order[..mid].iter().collect();
            let right: BTreeSet<&String> = order[mid + 1..].iter().collect();
            let mut g = Grudge::new();
            for node in &order {
                let drops: BTreeSet<String> = if left.contains(node) {
                    right.iter().map(|s| (*s).clone()).collect()
                } else if right.contains(node) {
                    left.iter().map(|s| (*s).clone()).collect()
                } else {
                    BTreeSet::new()
                };
                g.insert(node.clone(), drops);
            }
            g
        }
        Topology::MajoritiesRing => {
            // On a ring, each node keeps the nodes within distance k, the least k that makes
            // a majority (1 + 2k > n/2), and drops the rest: symmetric, since ring distance is,
            // and each node's majority is centred on itself. (Three nodes cannot be split this
            // way: each keeps all.)
            let majority = n / 2 + 1;
            let k = (majority - 1).div_ceil(2);
            let mut g = Grudge::new();
            for (i, node) in order.iter().enumerate() {
                let drops = order
                    .iter()
                    .enumerate()
                    .filter(|(j, _)| {
                        let d = i.abs_diff(*j);
                        d.min(n - d) > k
                    })
                    .map(|(_, m)| m.clone())
                    .collect();
                g.insert(node.clone(), drops);
            }
            g
        }
    }
}

/// Whether `from` can reach `to` under the grudge (neither drops the other).
pub fn connected(grudge: &Grudge, a: &str, b: &str) -> bool {
    let drops = |x: &str, y: &str| grudge.get(x).is_some_and(|d| d.contains(y));
    !drops(a, b) && !drops(b, a)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nodes(n: usize) -> Vec<String> {
        (1..=n).map(|i| format!("n{i}")).collect()
    }

    fn symmetric(g: &Grudge) -> bool {
        g.iter()
            .all(|(a, drops)| drops.iter().all(|b| g[b].contains(a)))
    }

    /// Everyone a node still reaches, itself included.
    fn reach(g: &Grudge, a: &str) -> usize {
        g.keys().filter(|b| connected(g, a, b)).count()
    }

    #[test]
    fn isolate_one_and_halves_cut_exactly_the_components() {
        let g = grudge(Topology::IsolateOne, &nodes(5), |_| 0);
        let alone: Vec<_> = g
            .iter()
            .filter(|(_, d)| d.len() == 4)
            .map(|(n, _)| n.clone())
            .collect();
        assert_eq!(alone.len(), 1);
        assert!(g.values().filter(|d| d.len() == 1).count() == 4 && symmetric(&g));

        let g = grudge(Topology::Halves, &nodes(5), |n| n - 1);
        let sizes: BTreeSet<usize> = g.keys().map(|n| reach(&g, n)).collect();
        assert_eq!(sizes, [2, 3].into(), "a minority of 2 and a majority of 3");
        assert!(symmetric(&g));
    }

    #[test]
    fn bridge_has_one_node_that_sees_everyone() {
        let g = grudge(Topology::Bridge, &nodes(5), |_| 0);
        let sees_all: Vec<_> = g.keys().filter(|n| reach(&g, n) == 5).collect();
        assert_eq!(sees_all.len(), 1);
        assert!(g.keys().filter(|n| reach(&g, n) == 3).count() == 4 && symmetric(&g));
    }

    #[test]
    fn majorities_ring_gives_every_node_a_different_majority() {
        for n in [3, 5, 7] {
            let g = grudge(Topology::MajoritiesRing, &nodes(n), |_| 0);
            assert!(symmetric(&g), "{n}: {g:?}");
            for node in g.keys() {
                assert!(
                    reach(&g, node) > n / 2,
                    "{n}: {node} sees a majority: {g:?}"
                );
            }
            let views: BTreeSet<Vec<bool>> = g
                .keys()
                .map(|a| g.keys().map(|b| connected(&g, a, b)).collect())
                .collect();
            if n >= 5 {
                assert_eq!(
                    views.len(),
                    n,
                    "{n}: every node's majority is its own: {g:?}"
                );
            }
        }
    }

    #[test]
    fn topologies_parse_by_name() {
        for t in Topology::ALL {
            assert_eq!(Topology::parse(t.name()), Some(t));
        }
        assert_eq!(Topology::parse("nope"), None);
    }
}
