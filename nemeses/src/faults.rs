//! Injecting faults on nodes, and undoing every one of them.
//!
//! Network faults are iptables rules in a chain rift owns, `RIFT`, jumped to from the top of
//! `INPUT`: rules rift did not make are never touched, and healing is flushing that chain. Only
//! peers' addresses are dropped, never the controller's, so rift keeps reaching every node.
//! Clock faults (per-process strategy) rewrite each node's offset file, which the preloaded
//! clock library reads.
//!
//! Before any fault is applied it is written to a ledger on the controller, so that after a
//! crash (even SIGKILL) `rift heal` knows what to undo.

use crate::grudge::Grudge;
use control::shell::quote;
use control::{Cmd, Node, Remote, RemoteError, SshNode};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

pub const CHAIN: &str = "RIFT";

/// What might need undoing on one node.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeFaults {
    /// Rules may be in the RIFT chain.
    pub network: bool,
    /// The clock offset file, when the node's clock may be offset.
    pub clock_file: Option<String>,
    /// PID files of processes that may be paused.
    pub paused: Vec<String>,
    /// `system` strategy: how far the host's clock has been moved in all, the helper that moved
    /// it, and the NTP services stopped for it.
    #[serde(default)]
    pub system_offset_ns: i64,
    #[serde(default)]
    pub system_helper: Option<String>,
    #[serde(default)]
    pub ntp_stopped: Vec<String>,
}

/// The record of faults that may be in force, kept in a file.
#[derive(Debug)]
pub struct Ledger {
    path: PathBuf,
    faults: Mutex<BTreeMap<String, NodeFaults>>,
}

impl Ledger {
    pub fn open(path: &Path) -> Result<Ledger, String> {
        let faults = match std::fs::read_to_string(path) {
            Ok(text) => {
                serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => return Err(format!("{}: {e}", path.display())),
        };
        Ok(Ledger {
            path: path.to_path_buf(),
            faults: Mutex::new(faults),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn snapshot(&self) -> BTreeMap<String, NodeFaults> {
        self.faults
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Records a fault (durably: written and synced) before it is applied.
    pub fn note(&self, node: &str, change: impl FnOnce(&mut NodeFaults)) -> Result<(), String> {
        let mut faults = self.faults.lock().unwrap_or_else(|p| p.into_inner());
        change(faults.entry(node.to_owned()).or_default());
        self.save(&faults)
    }

    /// Forgets a node's faults once they are undone.
    pub fn clear(&self, node: &str) -> Result<(), String> {
        let mut faults = self.faults.lock().unwrap_or_else(|p| p.into_inner());
        faults.remove(node);
        self.save(&faults)
    }

    fn save(&self, faults: &BTreeMap<String, NodeFaults>) -> Result<(), String> {
        let shown = |e: std::io::Error| format!("{}: {e}", self.path.display());
        if let Some(dir) = self.path.parent() {
            std::fs::create_dir_all(dir).map_err(shown)?;
        }
        let tmp = self.path.with_extension("tmp");
        let text = serde_json::to_string_pretty(faults).unwrap_or_default();
        let write = || -> std::io::Result<()> {
            use std::io::Write;
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(text.as_bytes())?;
            f.sync_all()?;
            std::fs::rename(&tmp, &self.path)
        };
        write().map_err(shown)
    }
}

/// Faults on a set of nodes.
#[derive(Debug, Clone)]
pub struct Faults {
    pub remotes: Vec<Arc<SshNode>>,
    pub ledger: Arc<Ledger>,
}

fn ensure_chain() -> String {
    format!(
        "iptables -w -N {c} 2>/dev/null; iptables -w -C INPUT -j {c} 2>/dev/null || iptables -w -I INPUT 1 -j {c}",
        c = CHAIN
    )
}

/// Removes everything rift put in the firewall: its chain and the jump to it.
pub fn heal_network_script() -> String {
    format!(
        "iptables -w -F {c} 2>/dev/null; while iptables -w -D INPUT -j {c} 2>/dev/null; do :; done; iptables -w -X {c} 2>/dev/null; true",
        c = CHAIN
    )
}

impl Faults {
    fn node(&self, name: &str) -> Result<&Arc<SshNode>, RemoteError> {
        self.remotes
            .iter()
            .find(|r| r.node().name == name)
            .ok_or_else(|| RemoteError::Ssh {
                node: name.to_owned(),
                message: "not a node of this test".into(),
            })
    }

    fn host_of(&self, name: &str) -> Option<&str> {
        self.remotes
            .iter()
            .find(|r| r.node().name == name)
            .map(|r| r.node().host.as_str())
    }

    fn ledger_error(node: &str, e: String) -> RemoteError {
        RemoteError::Ssh {
            node: node.to_owned(),
            message: format!("fault ledger: {e}"),
        }
    }

    /// Replaces each node's rules with drops from the nodes it holds a grudge against
    /// (`probability` below 1 drops only that share of their packets: packet loss).
    pub async fn partition(&self, grudge: &Grudge, probability: f64) -> Result<(), RemoteError> {
        let mut scripts = Vec::new();
        for remote in &self.remotes {
            let name = &remote.node().name;
            let mut script = vec![ensure_chain(), format!("iptables -w -F {CHAIN}")];
            for peer in grudge.get(name).into_iter().flatten() {
                let Some(host) = self.host_of(peer) else {
                    continue;
                };
                let loss = if probability < 1.0 {
                    format!(" -m statistic --mode random --probability {probability:.4}")
                } else {
                    String::new()
                };
                script.push(format!(
                    "iptables -w -A {CHAIN} -s {}{loss} -j DROP",
                    quote(host)
                ));
            }
            self.ledger
                .note(name, |f| f.network = true)
                .map_err(|e| Self::ledger_error(name, e))?;
            scripts.push((remote.clone(), script.join(" && ")));
        }
        let results = control::on_each(&self.remotes, |r| {
            let script = scripts
                .iter()
                .find(|(s, _)| Arc::ptr_eq(s, &r))
                .map(|(_, s)| s.clone())
                .unwrap_or_default();
            async move { r.run(&Cmd::script(script).sudo()).await.map(|_| ()) }
        })
        .await;
        results.into_iter().try_for_each(|(_, r)| r)
    }

    /// Removes rift's rules from every node.
    pub async fn heal_network(&self) -> Result<(), RemoteError> {
        let results = control::on_each(&self.remotes, |r| async move {
            r.run(&Cmd::script(heal_network_script()).sudo())
                .await
                .map(|_| ())
        })
        .await;
        let mut first_error = None;
        for (name, r) in results {
            match r {
                Ok(()) => self
                    .ledger
                    .note(&name, |f| f.network = false)
                    .map_err(|e| Self::ledger_error(&name, e))?,
                Err(e) => {
                    first_error.get_or_insert(e);
                }
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Sets a node's clock offset (per-process strategy) by rewriting its offset file.
    pub async fn set_clock(
        &self,
        node: &str,
        clock_file: &str,
        offset_ns: i64,
    ) -> Result<(), RemoteError> {
        self.ledger
            .note(node, |f| f.clock_file = Some(clock_file.to_owned()))
            .map_err(|e| Self::ledger_error(node, e))?;
        let tmp = format!("{clock_file}.tmp");
        let script = format!(
            "printf '%s\\n' {offset_ns} > {t} && mv -f {t} {f}",
            t = quote(&tmp),
            f = quote(clock_file)
        );
        self.node(node)?.run(&Cmd::script(script)).await.map(|_| ())
    }

    /// Flips a node's clock between `offset_ns` and true time every `period`, for `duration`;
    /// leaves it at true time.
    pub async fn strobe(
        &self,
        node: &str,
        clock_file: &str,
        offset_ns: i64,
        period: std::time::Duration,
        duration: std::time::Duration,
    ) -> Result<u32, RemoteError> {
        let start = std::time::Instant::now();
        let mut flips = 0;
        while start.elapsed() < duration {
            let value = if flips % 2 == 0 { offset_ns } else { 0 };
            self.set_clock(node, clock_file, value).await?;
            flips += 1;
            tokio::time::sleep(period).await;
        }
        self.set_clock(node, clock_file, 0).await?;
        Ok(flips)
    }

    /// How far each node's skewed clock is from the controller's, in milliseconds: `date` run
    /// on the node under the clock library, against the controller's clock at the midpoint of
    /// the round trip.
    /// Without a library (`system` strategy), plain `date` on the node.
    pub async fn clock_offsets(
        &self,
        library: Option<&str>,
        clock_files: &[(String, String)],
    ) -> Result<BTreeMap<String, i64>, RemoteError> {
        let mut offsets = BTreeMap::new();
        for (node, file) in clock_files {
            let mut cmd = Cmd::new("date").arg("+%s%N");
            if let Some(library) = library {
                cmd = cmd
                    .env("LD_PRELOAD", library)
                    .env(crate::clock::OFFSET_ENV, file.as_str());
            }
            let before = std::time::SystemTime::now();
            let out = self.node(node)?.run(&cmd).await?;
            let after = std::time::SystemTime::now();
            let ns = |t: std::time::SystemTime| {
                t.duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_nanos() as i64)
            };
            let theirs: i64 = out.stdout_text().trim().parse().unwrap_or(0);
            let mine = (ns(before) + ns(after)) / 2;
            offsets.insert(node.clone(), (theirs - mine) / 1_000_000);
        }
        Ok(offsets)
    }

    /// Whether a node shares this machine's kernel (same boot id): moving its system clock
    /// would move the controller's, and every other local node's.
    pub async fn shares_kernel(&self, node: &str) -> Result<bool, RemoteError> {
        let mine = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").unwrap_or_default();
        let theirs = self
            .node(node)?
            .run(&Cmd::new("cat").arg("/proc/sys/kernel/random/boot_id"))
            .await?;
        Ok(!mine.trim().is_empty() && mine.trim() == theirs.stdout_text().trim())
    }

    /// `system` strategy: moves a dedicated host's clock by `delta_ns` with the helper at
    /// `helper` (uploaded by the caller), stopping NTP first. Refused on a node that shares the
    /// controller's kernel.
    pub async fn system_clock_bump(
        &self,
        node: &str,
        helper: &str,
        delta_ns: i64,
    ) -> Result<(), RemoteError> {
        if self.shares_kernel(node).await? {
            return Err(RemoteError::Ssh {
                node: node.to_owned(),
                message:
                    "refusing the system clock strategy: this node shares the controller's kernel \
                          (same boot id), so its clock is this machine's; use the process strategy"
                        .into(),
            });
        }
        let remote = self.node(node)?;
        if self
            .ledger
            .snapshot()
            .get(node)
            .is_none_or(|f| f.system_helper.is_none())
        {
            let stopped = remote
                .run(&Cmd::script(crate::clock::STOP_NTP).sudo())
                .await?;
            let names: Vec<String> = stopped
                .stdout_text()
                .split_whitespace()
                .map(String::from)
                .collect();
            self.ledger
                .note(node, |f| f.ntp_stopped = names)
                .map_err(|e| Self::ledger_error(node, e))?;
        }
        self.ledger
            .note(node, |f| {
                f.system_offset_ns += delta_ns;
                f.system_helper = Some(helper.to_owned());
            })
            .map_err(|e| Self::ledger_error(node, e))?;
        remote
            .run(&Cmd::new(helper).arg(delta_ns.to_string()).sudo())
            .await
            .map(|_| ())
    }

    /// `system` strategy: moves the host's clock back by all it was moved, restarts NTP.
    async fn system_clock_reset(&self, node: &str, faults: &NodeFaults) -> Result<(), RemoteError> {
        let remote = self.node(node)?;
        if let (Some(delta), Some(helper)) = (
            crate::clock::undo_delta(faults.system_offset_ns),
            &faults.system_helper,
        ) {
            remote
                .run(&Cmd::new(helper).arg(delta.to_string()).sudo())
                .await?;
        }
        for service in &faults.ntp_stopped {
            remote
                .run(&Cmd::new("systemctl").args(["start", service]).sudo())
                .await?;
        }
        self.ledger
            .note(node, |f| {
                f.system_offset_ns = 0;
                f.system_helper = None;
                f.ntp_stopped.clear();
            })
            .map_err(|e| Self::ledger_error(node, e))
    }

    /// Every faulted node's clock back to true time.
    pub async fn reset_clocks(&self) -> Result<(), RemoteError> {
        for (name, faults) in self.ledger.snapshot() {
            if faults.system_helper.is_some() && self.host_of(&name).is_some() {
                self.system_clock_reset(&name, &faults).await?;
            }
            if let Some(file) = faults.clock_file
                && self.host_of(&name).is_some()
            {
                self.set_clock(&name, &file, 0).await?;
            }
        }
        Ok(())
    }

    /// Undoes everything the ledger records on these nodes: rules, clock offsets, pauses.
    pub async fn heal_all(&self) -> Result<(), RemoteError> {
        let mut first_error = self.heal_network().await.err();
        if let Err(e) = self.reset_clocks().await {
            first_error.get_or_insert(e);
        }
        for (name, faults) in self.ledger.snapshot() {
            let Ok(remote) = self.node(&name) else {
                continue;
            };
            for pid_file in &faults.paused {
                let script = format!(
                    "p=$(cat {} 2>/dev/null) && kill -CONT \"-$p\" 2>/dev/null; kill -CONT \"$p\" 2>/dev/null; true",
                    quote(pid_file)
                );
                if let Err(e) = remote.run(&Cmd::script(script).sudo()).await {
                    first_error.get_or_insert(e);
                }
            }
            if first_error.is_none() {
                self.ledger
                    .clear(&name)
                    .map_err(|e| Self::ledger_error(&name, e))?;
            }
        }
        first_error.map_or(Ok(()), Err)
    }
}

/// Where the ledger lives for a set of nodes: beside the local cluster's state, or under
/// `$XDG_STATE_HOME/rift` (or `~/.local/state/rift`) for real nodes.
pub fn ledger_path(local_cluster: Option<&Path>, nodes: &[Node]) -> PathBuf {
    if let Some(dir) = local_cluster {
        return dir.join("faults.json");
    }
    let base = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
        .unwrap_or_else(|| PathBuf::from("/var/lib"));
    let key: Vec<String> = nodes.iter().map(|n| n.address()).collect();
    let digest = key
        .join(",")
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
    base.join("rift").join(format!("faults-{digest:016x}.json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ledger_survives_reopening_and_forgets_what_was_healed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/faults.json");
        let ledger = Ledger::open(&path).unwrap();
        ledger.note("n1", |f| f.network = true).unwrap();
        ledger
            .note("n2", |f| f.clock_file = Some("/w/clock".into()))
            .unwrap();
        let again = Ledger::open(&path).unwrap();
        assert!(again.snapshot()["n1"].network);
        assert_eq!(
            again.snapshot()["n2"].clock_file.as_deref(),
            Some("/w/clock")
        );
        again.clear("n1").unwrap();
        assert!(!Ledger::open(&path).unwrap().snapshot().contains_key("n1"));
        std::fs::write(&path, "{not json").unwrap();
        assert!(Ledger::open(&path).unwrap_err().contains("faults.json"));
    }

    #[test]
    fn the_system_strategy_undoes_exactly_what_it_applied() {
        assert_eq!(crate::clock::undo_delta(5_000), Some(-5_000));
        assert_eq!(crate::clock::undo_delta(-70), Some(70));
        assert_eq!(crate::clock::undo_delta(0), None);
        let dir = tempfile::tempdir().unwrap();
        let ledger = Ledger::open(&dir.path().join("f.json")).unwrap();
        for delta in [3_000, -1_000, 500] {
            ledger.note("n1", |f| f.system_offset_ns += delta).unwrap();
        }
        let reopened = Ledger::open(&dir.path().join("f.json")).unwrap();
        assert_eq!(
            crate::clock::undo_delta(reopened.snapshot()["n1"].system_offset_ns),
            Some(-2_500)
        );
    }

    #[test]
    fn heal_removes_only_rifts_chain() {
        let s = heal_network_script();
        assert!(s.contains("-F RIFT") && s.contains("-D INPUT -j RIFT") && s.contains("-X RIFT"));
        assert!(
            !s.contains("-F INPUT") && !s.contains("-P "),
            "never touches rules rift did not make"
        );
    }
}
