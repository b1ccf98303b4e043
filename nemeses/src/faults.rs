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
    /// `system` strategy: how far the host's clock has been moved in all (applied: the helper
    /// said so), how far it may have been moved beyond that (intended, not confirmed: rift
    /// stopped while the helper ran), the helper that moved it, and the NTP services stopped
    /// for it.
    #[serde(default)]
    pub system_offset_ns: i64,
    #[serde(default)]
    pub system_pending_ns: i64,
    #[serde(default)]
    pub system_helper: Option<String>,
    #[serde(default)]
    pub ntp_stopped: Vec<String>,
}

/// The record of faults that may be in force: one file per node, named after the node's
/// address (not its name, nor its place in a list), so that `rift heal` given the nodes in any
/// order, any subset or superset, or a nodes file naming them differently, finds everything done
/// to each of them.
#[derive(Debug)]
pub struct Ledger {
    dir: PathBuf,
    /// The file and address of each node of this test, by node name.
    files: BTreeMap<String, (PathBuf, String)>,
    /// What may be in force, by node name.
    faults: Mutex<BTreeMap<String, NodeFaults>>,
}

/// One node's file.
#[derive(Debug, Serialize, Deserialize)]
struct NodeRecord {
    /// The name the node had when the fault was recorded (for messages).
    node: String,
    address: String,
    faults: NodeFaults,
}

/// A node's ledger file name: its address made safe for a file name, with a hash of the exact
/// address so that two addresses never share a file.
pub fn ledger_file_name(address: &str) -> String {
    let safe: String = address
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect();
    let digest = address.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    });
    format!("{safe}-{:08x}.json", digest as u32)
}

impl Ledger {
    /// The records of these nodes in the ledger directory `dir`.
    pub fn open(dir: &Path, nodes: &[Node]) -> Result<Ledger, String> {
        let mut files = BTreeMap::new();
        let mut faults = BTreeMap::new();
        for node in nodes {
            let file = dir.join(ledger_file_name(&node.address()));
            match std::fs::read_to_string(&file) {
                Ok(text) => {
                    let record: NodeRecord = serde_json::from_str(&text)
                        .map_err(|e| format!("{}: {e}", file.display()))?;
                    faults.insert(node.name.clone(), record.faults);
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(format!("{}: {e}", file.display())),
            }
            files.insert(node.name.clone(), (file, node.address()));
        }
        Ok(Ledger {
            dir: dir.to_path_buf(),
            files,
            faults: Mutex::new(faults),
        })
    }

    /// The ledger directory.
    pub fn path(&self) -> &Path {
        &self.dir
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
        let entry = faults.entry(node.to_owned()).or_default();
        change(entry);
        self.save(node, entry)
    }

    /// Forgets a node's faults once they are undone.
    pub fn clear(&self, node: &str) -> Result<(), String> {
        let mut faults = self.faults.lock().unwrap_or_else(|p| p.into_inner());
        faults.remove(node);
        let (file, _) = self.file(node)?;
        match std::fs::remove_file(file) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(format!("{}: {e}", file.display())),
        }
    }

    fn file(&self, node: &str) -> Result<&(PathBuf, String), String> {
        self.files
            .get(node)
            .ok_or_else(|| format!("{node} is not a node of this ledger"))
    }

    fn save(&self, node: &str, faults: &NodeFaults) -> Result<(), String> {
        let (path, address) = self.file(node)?;
        let shown = |e: std::io::Error| format!("{}: {e}", path.display());
        std::fs::create_dir_all(&self.dir).map_err(shown)?;
        let record = NodeRecord {
            node: node.to_owned(),
            address: address.clone(),
            faults: faults.clone(),
        };
        let tmp = path.with_extension("tmp");
        let text = serde_json::to_string_pretty(&record).unwrap_or_default();
        let write = || -> std::io::Result<()> {
            use std::io::Write;
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(text.as_bytes())?;
            f.sync_all()?;
            std::fs::rename(&tmp, path)
        };
        write().map_err(shown)
    }
}

/// What one node's clock strobe did.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Strobe {
    /// Changes of the offset (to it and back).
    pub flips: u32,
    /// The node's clock against the controller's while the offset was first in force.
    pub measured_ms: Option<i64>,
    pub lasted: std::time::Duration,
}

/// What healing could not undo: every node and fault kind was tried; each failure is named.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealError {
    /// (node, what could not be undone, why).
    pub failures: Vec<(String, String, String)>,
}

impl std::fmt::Display for HealError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let each: Vec<String> = self
            .failures
            .iter()
            .map(|(node, what, why)| format!("{node}: {what}: {why}"))
            .collect();
        f.write_str(&each.join("; "))
    }
}

impl std::error::Error for HealError {}

impl HealError {
    fn of(failures: Vec<(String, String, String)>) -> Result<(), HealError> {
        if failures.is_empty() {
            Ok(())
        } else {
            Err(HealError { failures })
        }
    }
}

/// The `system` strategy's bookkeeping around one run of the helper: before it, the move is
/// intended; after it, applied (the helper succeeded) or dropped (it failed: nothing moved).
pub fn system_intend(f: &mut NodeFaults, delta_ns: i64) {
    f.system_pending_ns += delta_ns;
}

pub fn system_settle(f: &mut NodeFaults, delta_ns: i64, applied: bool) {
    f.system_pending_ns -= delta_ns;
    if applied {
        f.system_offset_ns += delta_ns;
    }
}

/// The move that undoes the `system` strategy on a host: exactly what was applied, unless a
/// move may have happened unconfirmed, when only the host's clock can say (`measured_ns`: its
/// offset from the controller's, if it could be measured).
pub fn system_undo(f: &NodeFaults, measured_ns: Option<i64>) -> Result<Option<i64>, String> {
    if f.system_pending_ns == 0 {
        return Ok(crate::clock::undo_delta(f.system_offset_ns));
    }
    match measured_ns {
        Some(m) => Ok(crate::clock::undo_delta(m)),
        None => Err(format!(
            "a move of {} ns may or may not have been applied, and the clock could not be \
             measured",
            f.system_pending_ns
        )),
    }
}

/// Faults on a set of nodes.
#[derive(Debug, Clone)]
pub struct Faults {
    pub remotes: Vec<Arc<SshNode>>,
    pub ledger: Arc<Ledger>,
    /// Held, shared, while a fault is being applied; taken whole by [`Faults::close`], after
    /// which no fault is applied again (true: closed).
    gate: Arc<tokio::sync::RwLock<bool>>,
    /// Held by every heal and every undoing outside one: two writers of one node's offset file
    /// (a strobe's last flip back and the abort's heal, or the run's heal and the abort's)
    /// would race on its temporary file.
    undoing: Arc<tokio::sync::Mutex<()>>,
}

/// Held while a fault is being applied: [`Faults::close`] waits for it.
#[derive(Debug)]
pub struct Applying<'a>(#[allow(dead_code)] tokio::sync::RwLockReadGuard<'a, bool>);

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
    pub fn new(remotes: Vec<Arc<SshNode>>, ledger: Arc<Ledger>) -> Faults {
        Faults {
            remotes,
            ledger,
            gate: Arc::new(tokio::sync::RwLock::new(false)),
            undoing: Arc::new(tokio::sync::Mutex::new(())),
        }
    }

    /// Leave to apply a fault on `node`, held until it is applied; refused once closed.
    pub async fn applying(&self, node: &str) -> Result<Applying<'_>, RemoteError> {
        let guard = self.gate.read().await;
        if *guard {
            return Err(RemoteError::Ssh {
                node: node.to_owned(),
                message: "not applied: rift is healing every fault to exit".into(),
            });
        }
        Ok(Applying(guard))
    }

    /// No fault is applied from now on: waits for those being applied to be in place (and in
    /// the ledger), so that a heal after it leaves nothing behind (the second Ctrl-C).
    pub async fn close(&self) {
        *self.gate.write().await = true;
    }

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
        let _applying = self.applying("every node").await?;
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

    /// Removes rift's rules from every node (whatever the ledger says), trying each.
    pub async fn heal_network(&self) -> Result<(), HealError> {
        let _undoing = self.undoing.lock().await;
        self.heal_network_now().await
    }

    async fn heal_network_now(&self) -> Result<(), HealError> {
        let results = control::on_each(&self.remotes, |r| async move {
            r.run(&Cmd::script(heal_network_script()).sudo())
                .await
                .map(|_| ())
        })
        .await;
        let mut failures = Vec::new();
        for (name, r) in results {
            let done = r.map_err(|e| e.to_string()).and_then(|()| {
                if self.ledger.snapshot().contains_key(&name) {
                    self.ledger.note(&name, |f| f.network = false)
                } else {
                    Ok(())
                }
            });
            if let Err(e) = done {
                failures.push((name, "firewall rules".to_owned(), e));
            }
        }
        HealError::of(failures)
    }

    /// Sets a node's clock offset (per-process strategy) by rewriting its offset file.
    pub async fn set_clock(
        &self,
        node: &str,
        clock_file: &str,
        offset_ns: i64,
    ) -> Result<(), RemoteError> {
        let _applying = self.applying(node).await?;
        self.write_clock(node, clock_file, offset_ns).await
    }

    /// [`Faults::set_clock`] without the gate: for undoing (an offset of 0), which healing
    /// must still do once no fault may be applied.
    async fn write_clock(
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
    /// leaves it at true time. With the clock `library`, the node's clock is measured while the
    /// offset is first in force.
    pub async fn strobe(
        &self,
        node: &str,
        clock_file: &str,
        offset_ns: i64,
        period: std::time::Duration,
        duration: std::time::Duration,
        library: Option<&str>,
    ) -> Result<Strobe, RemoteError> {
        let start = std::time::Instant::now();
        let mut flips = 0;
        let mut measured_ms = None;
        while start.elapsed() < duration {
            let value = if flips % 2 == 0 { offset_ns } else { 0 };
            self.set_clock(node, clock_file, value).await?;
            if flips == 0 && library.is_some() {
                let files = [(node.to_owned(), clock_file.to_owned())];
                measured_ms = self
                    .clock_offsets(library, &files)
                    .await
                    .ok()
                    .and_then(|m| m.get(node).copied());
            }
            flips += 1;
            tokio::time::sleep(period).await;
        }
        // Back to true time under the gate: once rift is healing to exit, the heal resets this
        // clock (and a close waits for this reset to be done).
        if let Ok(_applying) = self.applying(node).await {
            let _undoing = self.undoing.lock().await;
            self.write_clock(node, clock_file, 0).await?;
        }
        Ok(Strobe {
            flips,
            measured_ms,
            lasted: start.elapsed(),
        })
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
        let _applying = self.applying(node).await?;
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
                system_intend(f, delta_ns);
                f.system_helper = Some(helper.to_owned());
            })
            .map_err(|e| Self::ledger_error(node, e))?;
        let moved = remote
            .run(&Cmd::new(helper).arg(delta_ns.to_string()).sudo())
            .await;
        self.ledger
            .note(node, |f| system_settle(f, delta_ns, moved.is_ok()))
            .map_err(|e| Self::ledger_error(node, e))?;
        moved.map(|_| ())
    }

    /// `system` strategy: moves the host's clock back by all it was moved, restarts NTP.
    async fn system_clock_reset(&self, node: &str, faults: &NodeFaults) -> Result<(), RemoteError> {
        let remote = self.node(node)?;
        let measured = if faults.system_pending_ns != 0 {
            let files = [(node.to_owned(), String::new())];
            self.clock_offsets(None, &files)
                .await
                .ok()
                .and_then(|m| m.get(node).map(|ms| ms * 1_000_000))
        } else {
            None
        };
        let undo = system_undo(faults, measured).map_err(|message| RemoteError::Ssh {
            node: node.to_owned(),
            message,
        })?;
        if let (Some(delta), Some(helper)) = (undo, &faults.system_helper) {
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
                f.system_pending_ns = 0;
                f.system_helper = None;
                f.ntp_stopped.clear();
            })
            .map_err(|e| Self::ledger_error(node, e))
    }

    /// Every faulted node's clock back to true time: every node is tried, whatever failed
    /// before it.
    pub async fn reset_clocks(&self) -> Result<(), HealError> {
        let _undoing = self.undoing.lock().await;
        self.reset_clocks_now().await
    }

    async fn reset_clocks_now(&self) -> Result<(), HealError> {
        let mut failures = Vec::new();
        for (name, faults) in self.ledger.snapshot() {
            if self.host_of(&name).is_none() {
                continue;
            }
            if faults.system_helper.is_some()
                && let Err(e) = self.system_clock_reset(&name, &faults).await
            {
                failures.push((name.clone(), "system clock".to_owned(), e.to_string()));
            }
            if let Some(file) = faults.clock_file
                && let Err(e) = self.write_clock(&name, &file, 0).await
            {
                failures.push((
                    name.clone(),
                    format!("clock offset ({file})"),
                    e.to_string(),
                ));
            }
        }
        HealError::of(failures)
    }

    /// Undoes everything the ledger records on these nodes — rules, clock offsets, pauses —
    /// trying every node and every kind of fault, and forgets a node's record only once all of
    /// its faults are undone. The error names each failure with its node.
    pub async fn heal_all(&self) -> Result<(), HealError> {
        // One heal at a time: the abort's waits for the run's (then heals again).
        let _undoing = self.undoing.lock().await;
        let mut failures = Vec::new();
        if let Err(e) = self.heal_network_now().await {
            failures.extend(e.failures);
        }
        if let Err(e) = self.reset_clocks_now().await {
            failures.extend(e.failures);
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
                    failures.push((
                        name.clone(),
                        format!("paused process ({pid_file})"),
                        e.to_string(),
                    ));
                }
            }
            if !failures.iter().any(|(n, _, _)| *n == name)
                && let Err(e) = self.ledger.clear(&name)
            {
                failures.push((name.clone(), "ledger".to_owned(), e));
            }
        }
        HealError::of(failures)
    }
}

/// Where the ledger lives, whatever names the nodes (a list, a nodes file, the local cluster):
/// `$XDG_STATE_HOME/rift/faults` (or `~/.local/state/rift/faults`, or `/var/lib/rift/faults`
/// without a home), a file per node address inside.
pub fn ledger_dir() -> PathBuf {
    let base = std::env::var_os("XDG_STATE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
        .unwrap_or_else(|| PathBuf::from("/var/lib"));
    base.join("rift").join("faults")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Faults over no nodes, with a ledger in a directory of its own, and a runtime to drive
    /// them: for the gate's and the heal lock's logic.
    fn without_nodes() -> (tempfile::TempDir, Faults, tokio::runtime::Runtime) {
        let dir = tempfile::tempdir().unwrap();
        let faults = Faults::new(Vec::new(), Arc::new(Ledger::open(dir.path(), &[]).unwrap()));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        (dir, faults, rt)
    }

    #[test]
    fn closing_waits_for_a_fault_being_applied_and_refuses_any_after_it() {
        let (_dir, faults, rt) = without_nodes();
        rt.block_on(async {
            let applying = faults.applying("n1").await.unwrap();
            let closer = faults.clone();
            let closing = tokio::spawn(async move { closer.close().await });
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            assert!(
                !closing.is_finished(),
                "close waits for the fault being applied"
            );
            drop(applying);
            closing.await.unwrap();
            let refused = faults.applying("n2").await.unwrap_err().to_string();
            assert!(
                refused.contains("n2") && refused.contains("healing"),
                "{refused}"
            );
        });
    }

    #[test]
    fn one_heal_at_a_time_so_two_never_write_one_offset_file_together() {
        let (_dir, faults, rt) = without_nodes();
        rt.block_on(async {
            // A heal (or a strobe's flip back) in progress.
            let undoing = faults.undoing.lock().await;
            let (a, b, c) = (faults.clone(), faults.clone(), faults.clone());
            let heals = [
                tokio::spawn(async move { a.heal_all().await }),
                tokio::spawn(async move { b.reset_clocks().await }),
                tokio::spawn(async move { c.heal_network().await }),
            ];
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            assert!(
                heals.iter().all(|h| !h.is_finished()),
                "each heal waits for the one in progress"
            );
            drop(undoing);
            for h in heals {
                h.await.unwrap().unwrap();
            }
        });
    }

    fn node(name: &str, host: &str) -> Node {
        Node {
            name: name.into(),
            host: host.into(),
            port: 22,
            user: "root".into(),
            workdir: "/w".into(),
            sudo_password: None,
        }
    }

    #[test]
    fn the_ledger_survives_reopening_and_forgets_what_was_healed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/faults");
        let nodes = [node("n1", "10.0.0.1"), node("n2", "10.0.0.2")];
        let ledger = Ledger::open(&path, &nodes).unwrap();
        ledger.note("n1", |f| f.network = true).unwrap();
        ledger
            .note("n2", |f| f.clock_file = Some("/w/clock".into()))
            .unwrap();
        let again = Ledger::open(&path, &nodes).unwrap();
        assert!(again.snapshot()["n1"].network);
        assert_eq!(
            again.snapshot()["n2"].clock_file.as_deref(),
            Some("/w/clock")
        );
        again.clear("n1").unwrap();
        assert!(
            !Ledger::open(&path, &nodes)
                .unwrap()
                .snapshot()
                .contains_key("n1")
        );
        let file = path.join(ledger_file_name("10.0.0.2:22"));
        std::fs::write(&file, "{not json").unwrap();
        let e = Ledger::open(&path, &nodes).unwrap_err();
        assert!(e.contains("10.0.0.2_22"), "{e}");
        assert!(ledger.note("n9", |f| f.network = true).is_err());
    }

    #[test]
    fn any_order_subset_superset_or_naming_of_the_nodes_finds_each_nodes_faults() {
        let dir = tempfile::tempdir().unwrap();
        let run = [
            node("a", "10.0.0.1"),
            node("b", "10.0.0.2"),
            node("c", "10.0.0.3"),
        ];
        let ledger = Ledger::open(dir.path(), &run).unwrap();
        ledger
            .note("a", |f| f.paused = vec!["/w/a.pid".into()])
            .unwrap();
        ledger
            .note("c", |f| f.clock_file = Some("/w/c.clock".into()))
            .unwrap();
        // Reversed, named as a nodes file names them, with a node the run never had.
        let heal = [
            node("extra", "10.0.0.9"),
            node("third", "10.0.0.3"),
            node("second", "10.0.0.2"),
            node("first", "10.0.0.1"),
        ];
        let found = Ledger::open(dir.path(), &heal).unwrap().snapshot();
        assert_eq!(found["first"].paused, ["/w/a.pid"]);
        assert_eq!(found["third"].clock_file.as_deref(), Some("/w/c.clock"));
        assert!(!found.contains_key("second") && !found.contains_key("extra"));
        // A subset sees its own nodes only.
        let subset = Ledger::open(dir.path(), &[node("z", "10.0.0.3")]).unwrap();
        assert_eq!(subset.snapshot().len(), 1);
        assert_ne!(ledger_file_name("a:22"), ledger_file_name("a_22"));
    }

    #[test]
    fn the_system_strategy_undoes_exactly_what_it_applied() {
        assert_eq!(crate::clock::undo_delta(5_000), Some(-5_000));
        assert_eq!(crate::clock::undo_delta(-70), Some(70));
        assert_eq!(crate::clock::undo_delta(0), None);
        let dir = tempfile::tempdir().unwrap();
        let nodes = [node("n1", "10.0.0.1")];
        let ledger = Ledger::open(dir.path(), &nodes).unwrap();
        // Three moves applied, one whose helper failed (nothing moved).
        for (delta, applied) in [(3_000, true), (-1_000, true), (9_000, false), (500, true)] {
            ledger.note("n1", |f| system_intend(f, delta)).unwrap();
            ledger
                .note("n1", |f| system_settle(f, delta, applied))
                .unwrap();
        }
        let reopened = Ledger::open(dir.path(), &nodes).unwrap().snapshot();
        assert_eq!(reopened["n1"].system_pending_ns, 0);
        assert_eq!(system_undo(&reopened["n1"], None), Ok(Some(-2_500)));
        // rift stopped while the helper ran: only the host's clock can say what to undo.
        ledger.note("n1", |f| system_intend(f, 7_000)).unwrap();
        let crashed = Ledger::open(dir.path(), &nodes).unwrap().snapshot();
        assert_eq!(crashed["n1"].system_pending_ns, 7_000);
        assert_eq!(system_undo(&crashed["n1"], Some(9_480)), Ok(Some(-9_480)));
        assert!(
            system_undo(&crashed["n1"], None)
                .unwrap_err()
                .contains("7000 ns")
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
