//! The transaction graph: a compact CSR (u32 offsets and targets, one byte of edge types per
//! edge, built from edges packed into one u64 each), strongly connected components by an
//! iterative Tarjan (no recursion, so no stack to overflow on a million transactions), and a
//! budgeted shortest-cycle search under constraints. Witness cycles are drawn with petgraph.

pub const WW: u8 = 1;
pub const WR: u8 = 2;
pub const RW: u8 = 4;
pub const PROCESS: u8 = 8;
pub const REALTIME: u8 = 16;
pub const DATA: u8 = WW | WR | RW;

/// Nodes a packed edge can name.
pub const MAX_NODES: usize = 1 << 29;

/// An edge in one word: source, target, type.
pub fn pack(a: u32, b: u32, t: u8) -> u64 {
    (u64::from(a) << 34) | (u64::from(b) << 5) | u64::from(t)
}

fn unpack(e: u64) -> (u32, u32, u8) {
    (
        (e >> 34) as u32,
        ((e >> 5) & ((1 << 29) - 1)) as u32,
        (e & 31) as u8,
    )
}

/// Compressed sparse rows: node v's edges are `targets[offsets[v]..offsets[v + 1]]`.
#[derive(Debug, Default)]
pub struct Graph {
    offsets: Vec<u32>,
    targets: Vec<u32>,
    kinds: Vec<u8>,
}

impl Graph {
    pub fn node_count(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    pub fn edge_count(&self) -> usize {
        self.targets.len()
    }

    pub fn neighbors_slice(&self, v: u32) -> &[u32] {
        &self.targets[self.offsets[v as usize] as usize..self.offsets[v as usize + 1] as usize]
    }

    pub fn edges_slice(&self, v: u32) -> &[u8] {
        &self.kinds[self.offsets[v as usize] as usize..self.offsets[v as usize + 1] as usize]
    }
}

/// Builds the graph from packed edges: one edge per pair, its types OR-ed.
pub fn build(mut edges: Vec<u64>, nodes: usize) -> Graph {
    edges.sort_unstable();
    let mut g = Graph {
        offsets: vec![0; nodes + 1],
        targets: Vec::new(),
        kinds: Vec::new(),
    };
    let mut last: Option<(u32, u32)> = None;
    let mut count = 0usize;
    for &e in &edges {
        let (a, b, _) = unpack(e);
        if last != Some((a, b)) {
            count += 1;
            last = Some((a, b));
        }
    }
    g.targets.reserve_exact(count);
    g.kinds.reserve_exact(count);
    last = None;
    for e in edges {
        let (a, b, t) = unpack(e);
        if last == Some((a, b)) {
            if let Some(k) = g.kinds.last_mut() {
                *k |= t;
            }
            continue;
        }
        last = Some((a, b));
        g.offsets[a as usize + 1] += 1;
        g.targets.push(b);
        g.kinds.push(t);
    }
    for v in 0..nodes {
        g.offsets[v + 1] += g.offsets[v];
    }
    g
}

/// Strongly connected components over edges of the given types: each node's component number
/// (Tarjan's order: a component's successors have smaller numbers), and the count.
pub fn scc(graph: &Graph, types: u8) -> (Vec<u32>, u32) {
    const UNSEEN: u32 = u32::MAX;
    let n = graph.node_count();
    let mut index = vec![UNSEEN; n];
    let mut low = vec![0u32; n];
    let mut comp = vec![UNSEEN; n];
    let mut on_stack = vec![false; n];
    let mut stack: Vec<u32> = Vec::new();
    // (node, next edge position)
    let mut call: Vec<(u32, u32)> = Vec::new();
    let mut next_index = 0u32;
    let mut comps = 0u32;
    for root in 0..n as u32 {
        if index[root as usize] != UNSEEN {
            continue;
        }
        call.push((root, 0));
        index[root as usize] = next_index;
        low[root as usize] = next_index;
        next_index += 1;
        stack.push(root);
        on_stack[root as usize] = true;
        while let Some(&mut (v, ref mut pos)) = call.last_mut() {
            let targets = graph.neighbors_slice(v);
            let kinds = graph.edges_slice(v);
            let mut descended = false;
            while (*pos as usize) < targets.len() {
                let i = *pos as usize;
                *pos += 1;
                if kinds[i] & types == 0 {
                    continue;
                }
                let w = targets[i];
                if index[w as usize] == UNSEEN {
                    index[w as usize] = next_index;
                    low[w as usize] = next_index;
                    next_index += 1;
                    stack.push(w);
                    on_stack[w as usize] = true;
                    call.push((w, 0));
                    descended = true;
                    break;
                } else if on_stack[w as usize] {
                    low[v as usize] = low[v as usize].min(index[w as usize]);
                }
            }
            if descended {
                continue;
            }
            call.pop();
            if let Some(&(parent, _)) = call.last() {
                low[parent as usize] = low[parent as usize].min(low[v as usize]);
            }
            if low[v as usize] == index[v as usize] {
                while let Some(w) = stack.pop() {
                    on_stack[w as usize] = false;
                    comp[w as usize] = comps;
                    if w == v {
                        break;
                    }
                }
                comps += 1;
            }
        }
    }
    (comp, comps)
}

/// How many anti-dependency (rw) edges a cycle may or must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RwRule {
    Any,
    None,
    ExactlyOne,
    AtLeastTwo,
    /// At least two, no two adjacent (the cycle read around).
    NonAdjacent,
}

/// What a cycle of one anomaly class is made of.
#[derive(Debug, Clone, Copy)]
pub struct Constraint {
    /// Edge types the cycle may use.
    pub allowed: u8,
    pub rw: RwRule,
    /// It must have a wr edge.
    pub needs_wr: bool,
}

/// Out of budget: a cycle may exist that the search could not classify.
#[derive(Debug)]
pub struct Exhausted;

/// Visited marks stamped by search, so that starting a search costs nothing; sized to the
/// nodes that lie on some cycle (`local` numbers them), not to the whole graph.
#[derive(Debug, Default)]
pub struct Searcher {
    stamp: u32,
    seen: Vec<u32>,
    parent: Vec<(u32, u8, u8)>,
    /// Graph node -> its number among the nodes searched (u32::MAX: never searched).
    pub local: Vec<u32>,
    pub work: u64,
}

impl Searcher {
    /// A searcher over the nodes for which `on_cycle` holds.
    pub fn over(nodes: usize, on_cycle: impl Fn(u32) -> bool) -> Searcher {
        let mut local = vec![u32::MAX; nodes];
        let mut next = 0u32;
        for (v, l) in local.iter_mut().enumerate() {
            if on_cycle(v as u32) {
                *l = next;
                next += 1;
            }
        }
        Searcher {
            stamp: 0,
            seen: vec![0; next as usize * STATES],
            parent: vec![(0, 0, 0); next as usize * STATES],
            local,
            work: 0,
        }
    }
}

const STATES: usize = 16;

fn state(rw: u8, wr: bool, last_rw: bool) -> u8 {
    rw.min(2) | (u8::from(wr) << 2) | (u8::from(last_rw) << 3)
}

impl Searcher {
    /// A shortest cycle that starts with edge `a -start-> b` and keeps to `constraint`, using
    /// only nodes for which `keep` holds: the cycle's edges as (from, type), from `a` on.
    #[allow(clippy::too_many_arguments)]
    pub fn cycle(
        &mut self,
        graph: &Graph,
        a: u32,
        b: u32,
        start: u8,
        constraint: Constraint,
        keep: &dyn Fn(u32) -> bool,
        budget: u64,
    ) -> Result<Option<Vec<(u32, u8)>>, Exhausted> {
        self.stamp = self.stamp.wrapping_add(1);
        if self.stamp == 0 {
            self.seen.iter_mut().for_each(|s| *s = 0);
            self.stamp = 1;
        }
        let rw0 = u8::from(start == RW);
        let s0 = state(rw0, start == WR, start == RW);
        let mut queue = std::collections::VecDeque::new();
        let local = &self.local;
        let slot = |v: u32, s: u8| local[v as usize] as usize * STATES + s as usize;
        self.seen[slot(b, s0)] = self.stamp;
        queue.push_back((b, s0));
        let accept = |s: u8| -> bool {
            let (rw, wr, last_rw) = (s & 3, s & 4 != 0, s & 8 != 0);
            if constraint.needs_wr && !wr {
                return false;
            }
            match constraint.rw {
                RwRule::Any => true,
                RwRule::None => rw == 0,
                RwRule::ExactlyOne => rw == 1,
                RwRule::AtLeastTwo => rw >= 2,
                // The last edge runs into the first: both rw would be adjacent.
                RwRule::NonAdjacent => rw >= 2 && !(last_rw && start == RW),
            }
        };
        while let Some((v, s)) = queue.pop_front() {
            if v == a && accept(s) {
                // Walk back.
                let mut path = Vec::new();
                let (mut node, mut st) = (v, s);
                while !(node == b && st == s0) {
                    let (p, ps, t) = self.parent[slot(node, st)];
                    path.push((p, t));
                    node = p;
                    st = ps;
                }
                path.push((a, start));
                path.reverse();
                return Ok(Some(path));
            }
            if v == a {
                continue;
            }
            let targets = graph.neighbors_slice(v);
            let kinds = graph.edges_slice(v);
            self.work += targets.len() as u64;
            if self.work > budget {
                return Err(Exhausted);
            }
            let (rw, wr, last_rw) = (s & 3, s & 4 != 0, s & 8 != 0);
            for (i, &w) in targets.iter().enumerate() {
                let types = kinds[i] & constraint.allowed;
                if types == 0 || local[w as usize] == u32::MAX || !keep(w) {
                    continue;
                }
                // Each type of the edge is a way to take it.
                for t in [WW, WR, PROCESS, REALTIME, RW] {
                    if types & t == 0 {
                        continue;
                    }
                    let is_rw = t == RW;
                    let rw2 = rw + u8::from(is_rw);
                    match constraint.rw {
                        RwRule::None if is_rw => continue,
                        RwRule::ExactlyOne if rw2 > 1 => continue,
                        RwRule::NonAdjacent if is_rw && last_rw => continue,
                        _ => {}
                    }
                    let s2 = state(rw2, wr || t == WR, is_rw);
                    let k = slot(w, s2);
                    if self.seen[k] != self.stamp {
                        self.seen[k] = self.stamp;
                        self.parent[k] = (v, s, t);
                        queue.push_back((w, s2));
                    }
                }
            }
        }
        Ok(None)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tarjan_finds_components_without_recursion_on_a_long_chain() {
        // A chain of 200 000 closed into one cycle, plus a tail: deep enough to overflow a
        // recursive search.
        let n = 200_000u32;
        let mut edges: Vec<u64> = (0..n - 1).map(|i| pack(i, i + 1, WW)).collect();
        edges.push(pack(n - 1, 0, WR));
        edges.push(pack(n - 1, n, WW));
        let g = build(edges, n as usize + 1);
        let (comp, count) = scc(&g, DATA);
        assert_eq!(count, 2);
        assert_eq!(comp[0], comp[(n - 1) as usize]);
        assert_ne!(comp[0], comp[n as usize]);
        // Without wr edges there is no cycle.
        let (_, count) = scc(&g, WW);
        assert_eq!(count, n + 1);
    }

    #[test]
    fn the_search_keeps_to_the_rw_rule() {
        // 0 -rw-> 1 -ww-> 0, and 0 -rw-> 1 -rw-> 2 -ww-> 0.
        let g = build(
            vec![
                pack(0, 1, RW),
                pack(1, 0, WW),
                pack(1, 2, RW),
                pack(2, 0, WW),
            ],
            3,
        );
        let mut s = Searcher::over(3, |_| true);
        let all = |_| true;
        let single = Constraint {
            allowed: DATA,
            rw: RwRule::ExactlyOne,
            needs_wr: false,
        };
        let c = s.cycle(&g, 0, 1, RW, single, &all, 1000).unwrap().unwrap();
        assert_eq!(c, vec![(0, RW), (1, WW)]);
        let two = Constraint {
            allowed: DATA,
            rw: RwRule::AtLeastTwo,
            needs_wr: false,
        };
        let c = s.cycle(&g, 0, 1, RW, two, &all, 1000).unwrap().unwrap();
        assert_eq!(c, vec![(0, RW), (1, RW), (2, WW)]);
        // Adjacent rw edges are not G-nonadjacent.
        let nonadj = Constraint {
            allowed: DATA,
            rw: RwRule::NonAdjacent,
            needs_wr: false,
        };
        assert!(s.cycle(&g, 0, 1, RW, nonadj, &all, 1000).unwrap().is_none());
        assert!(s.cycle(&g, 0, 1, RW, two, &all, 1).is_err(), "budget");
    }
}

/// Whether a cycle's edge types (in order, the last running into the first) make a cycle of the
/// class: the rw rule, a wr edge where one is needed, and the edge type it starts from.
fn fits(types: &[u8], constraint: Constraint, start: u8) -> bool {
    let rw = types.iter().filter(|&&t| t == RW).count();
    let adjacent_rw =
        (0..types.len()).any(|i| types[i] == RW && types[(i + 1) % types.len()] == RW);
    let rule = match constraint.rw {
        RwRule::Any => true,
        RwRule::None => rw == 0,
        RwRule::ExactlyOne => rw == 1,
        RwRule::AtLeastTwo => rw >= 2,
        RwRule::NonAdjacent => rw >= 2 && !adjacent_rw,
    };
    rule && (!constraint.needs_wr || types.contains(&WR)) && types.contains(&start)
}

/// A cycle that visits each node once, from a closed walk the product search found (which may
/// pass a node twice, in two states): the walk is split at a repeated node until the pieces are
/// simple, and a piece of the same class is kept, rotated to begin with a `start` edge. `None`
/// when no piece is of the class: the walk proved another class, whose own search finds it.
pub fn simple_cycle(
    cycle: Vec<(u32, u8)>,
    constraint: Constraint,
    start: u8,
) -> Option<Vec<(u32, u8)>> {
    let n = cycle.len();
    let repeat = (0..n).find_map(|i| {
        (i + 1..n)
            .find(|&j| cycle[j].0 == cycle[i].0)
            .map(|j| (i, j))
    });
    let Some((i, j)) = repeat else {
        let types: Vec<u8> = cycle.iter().map(|c| c.1).collect();
        if !fits(&types, constraint, start) {
            return None;
        }
        let first = cycle.iter().position(|c| c.1 == start).unwrap_or(0);
        let mut rotated = cycle;
        rotated.rotate_left(first);
        return Some(rotated);
    };
    let inner: Vec<(u32, u8)> = cycle[i..j].to_vec();
    let outer: Vec<(u32, u8)> = cycle[..i].iter().chain(&cycle[j..]).copied().collect();
    simple_cycle(inner, constraint, start).or_else(|| simple_cycle(outer, constraint, start))
}

#[cfg(test)]
mod simple_cycle_tests {
    use super::*;

    #[test]
    fn a_walk_through_a_node_twice_becomes_a_simple_cycle_of_its_class_or_none() {
        // 5 -rw-> 3 -ww-> 5 -rw-> 3 -ww-> (5): two rw edges, never adjacent, but only because
        // the walk goes round the same two-node cycle twice; that cycle has one rw.
        let walk = vec![(5, RW), (3, WW), (5, RW), (3, WW)];
        let nonadjacent = Constraint {
            allowed: DATA,
            rw: RwRule::NonAdjacent,
            needs_wr: false,
        };
        assert_eq!(simple_cycle(walk.clone(), nonadjacent, RW), None);
        let single = Constraint {
            rw: RwRule::ExactlyOne,
            ..nonadjacent
        };
        assert_eq!(simple_cycle(walk, single, RW), Some(vec![(5, RW), (3, WW)]));
        // A simple cycle comes back as it is, rotated to its start edge.
        let c = vec![(1, WW), (2, RW), (3, WR)];
        assert_eq!(
            simple_cycle(c, single, RW),
            Some(vec![(2, RW), (3, WR), (1, WW)])
        );
    }
}
