//! Command-line settings, and the placement of keys on nodes.

use crate::state::fnv1a;
use crate::store::Fsync;
use clap::{Parser, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Resolution {
    /// Last write wins by wall-clock time: wrong under clock skew.
    LwwWall,
    /// Last write wins by hybrid logical clock.
    LwwHlc,
    /// Sets by union, counters per node, lists merged by stamp; registers by hybrid clock.
    Crdt,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ReadRouting {
    /// The node that was asked answers from its own replica.
    Local,
    /// One replica of the key, chosen at random.
    Random,
    /// R replicas, merged.
    Quorum,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Switch {
    On,
    Off,
}

/// A Dynamo-style eventually consistent store (rift's demo target).
#[derive(Debug, Clone, Parser)]
#[command(name = "ecstore", version)]
pub struct Args {
    /// This node's name; it must be one of --peers.
    #[arg(long)]
    pub node: String,
    /// Address to serve HTTP on.
    #[arg(long)]
    pub listen: SocketAddr,
    /// Every node, this one included: name=host:port,...
    #[arg(long, value_delimiter = ',', value_parser = parse_peer)]
    pub peers: Vec<Peer>,
    /// Where the log lives.
    #[arg(long)]
    pub data_dir: PathBuf,
    /// Replicas per key (N); default: every node.
    #[arg(long)]
    pub replicas: Option<usize>,
    /// Acknowledgements a write waits for (W); default: a majority of N.
    #[arg(long)]
    pub write_quorum: Option<usize>,
    /// Replicas a quorum read asks for (R); default: a majority of N.
    #[arg(long)]
    pub read_quorum: Option<usize>,
    #[arg(long, value_enum, default_value = "crdt")]
    pub resolution: Resolution,
    #[arg(long, value_enum, default_value = "quorum")]
    pub read_routing: ReadRouting,
    /// Milliseconds between anti-entropy exchanges with a random peer; 0 turns it off.
    #[arg(long, default_value_t = 1000)]
    pub anti_entropy_ms: u64,
    /// Repair replicas a quorum read found stale.
    #[arg(long, value_enum, default_value = "on")]
    pub read_repair: Switch,
    #[arg(long, value_enum, default_value = "interval")]
    pub fsync: Fsync,
    /// How long a node waits for a peer before counting it as silent.
    #[arg(long, default_value_t = 500)]
    pub peer_timeout_ms: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    pub name: String,
    pub addr: String,
}

fn parse_peer(s: &str) -> Result<Peer, String> {
    let (name, addr) = s
        .split_once('=')
        .ok_or(format!("peer {s:?} is not name=host:port"))?;
    if name.is_empty() || !addr.contains(':') {
        return Err(format!("peer {s:?} is not name=host:port"));
    }
    Ok(Peer {
        name: name.to_owned(),
        addr: addr.to_owned(),
    })
}

/// Settings with every default resolved and checked.
#[derive(Debug, Clone)]
pub struct Settings {
    pub args: Args,
    /// Sorted by name: a node's index here is its id in stamps and counters.
    pub peers: Vec<Peer>,
    pub me: usize,
    pub n: usize,
    pub w: usize,
    pub r: usize,
}

impl Settings {
    pub fn resolve(args: Args) -> Result<Settings, String> {
        let mut peers = args.peers.clone();
        peers.sort_by(|a, b| a.name.cmp(&b.name));
        if peers.windows(2).any(|w| w[0].name == w[1].name) {
            return Err("--peers names a node twice".into());
        }
        if peers.len() > usize::from(u16::MAX) {
            return Err("too many peers".into());
        }
        let me = peers
            .iter()
            .position(|p| p.name == args.node)
            .ok_or(format!("--node {} is not among --peers", args.node))?;
        let n = args.replicas.unwrap_or(peers.len());
        if n == 0 || n > peers.len() {
            return Err(format!(
                "--replicas {n} must be from 1 to the {} peers",
                peers.len()
            ));
        }
        let majority = n / 2 + 1;
        let (w, r) = (
            args.write_quorum.unwrap_or(majority),
            args.read_quorum.unwrap_or(majority),
        );
        for (flag, q) in [("--write-quorum", w), ("--read-quorum", r)] {
            if q == 0 || q > n {
                return Err(format!("{flag} {q} must be from 1 to --replicas ({n})"));
            }
        }
        Ok(Settings {
            args,
            peers,
            me,
            n,
            w,
            r,
        })
    }

    /// The N nodes that hold a key, in preference order: N consecutive nodes on a ring of the
    /// nodes sorted by name, starting where the key hashes to.
    pub fn replicas(&self, key: &str) -> Vec<usize> {
        let start = (fnv1a(key.as_bytes()) % self.peers.len() as u64) as usize;
        (0..self.n)
            .map(|i| (start + i) % self.peers.len())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(extra: &[&str]) -> Args {
        let mut argv = vec![
            "ecstore",
            "--node",
            "b",
            "--listen",
            "127.0.0.1:1",
            "--data-dir",
            "/tmp/x",
            "--peers",
            "c=h:3,a=h:1,b=h:2,d=h:4,e=h:5",
        ];
        argv.extend(extra);
        Args::try_parse_from(argv).unwrap()
    }

    #[test]
    fn defaults_are_every_node_and_majorities() {
        let s = Settings::resolve(args(&[])).unwrap();
        assert_eq!((s.me, s.n, s.w, s.r), (1, 5, 3, 3));
        let s = Settings::resolve(args(&["--replicas", "3", "--write-quorum", "1"])).unwrap();
        assert_eq!((s.n, s.w, s.r), (3, 1, 2));
    }

    #[test]
    fn placement_is_n_distinct_consecutive_nodes_and_spreads_keys() {
        let s = Settings::resolve(args(&["--replicas", "3"])).unwrap();
        let mut firsts = std::collections::HashSet::new();
        for k in 0..100 {
            let r = s.replicas(&format!("set/{k}"));
            assert_eq!(r.len(), 3);
            assert_eq!(r[1], (r[0] + 1) % 5);
            assert_eq!(r[2], (r[0] + 2) % 5);
            firsts.insert(r[0]);
        }
        assert_eq!(firsts.len(), 5, "keys start on every node");
        assert_eq!(s.replicas("set/7"), s.replicas("set/7"));
    }

    #[test]
    fn impossible_quorums_are_refused() {
        for (extra, want) in [
            (
                &["--replicas", "6"][..],
                "--replicas 6 must be from 1 to the 5 peers",
            ),
            (
                &["--replicas", "3", "--read-quorum", "4"],
                "--read-quorum 4 must be from 1 to --replicas (3)",
            ),
            (&["--write-quorum", "0"], "--write-quorum 0"),
        ] {
            let e = Settings::resolve(args(extra)).unwrap_err();
            assert!(e.contains(want), "{e}");
        }
        let mut a = args(&[]);
        a.node = "z".into();
        assert!(
            Settings::resolve(a)
                .unwrap_err()
                .contains("not among --peers")
        );
    }
}
