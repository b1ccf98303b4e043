//! A real cluster on one Linux machine: one network namespace per node, joined by a bridge, each
//! running its own sshd.
//!
//! Why namespaces: nodes need addresses of their own so that iptables inside one node can cut
//! it off from another (loopback aliases cannot do that: peer traffic leaves from 127.0.0.1).
//! The controller sits on the bridge's address and keeps reaching every node while nodes are cut
//! from each other. Nodes share the machine's filesystem and kernel, so each has its own work
//! directory, and clock faults must be per process.
//!
//! Everything the cluster is lives under its state directory: `cluster.json` (what was made,
//! written before anything is made, so that a failed `up` can be undone), the client key,
//! `known_hosts`, `nodes.toml` (the ordinary nodes file the rest of rift uses), and per node its
//! sshd config, host key, pid file, log and work directory. `down` undoes exactly what
//! `cluster.json` names, and is safe to repeat.

use crate::system::{self, CommandFailed};
use serde::{Deserialize, Serialize};
use std::fmt::Write as _;
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub const DEFAULT_STATE_DIR: &str = "/var/lib/rift/cluster";
pub const DEFAULT_NAME: &str = "rift";
pub const DEFAULT_SUBNET: &str = "10.77.0.0/24";
pub const STATE_FILE: &str = "cluster.json";
pub const NODES_FILE: &str = "nodes.toml";
pub const KNOWN_HOSTS: &str = "known_hosts";
pub const CLIENT_KEY: &str = "id_ed25519";
const PACKAGES: &[&str] = &["openssh-server", "openssh-client", "iptables", "iproute2"];
const SSHD: &str = "/usr/sbin/sshd";

/// What to build.
#[derive(Debug, Clone)]
pub struct ClusterSpec {
    /// Prefix of every namespace and interface (so several clusters can coexist).
    pub name: String,
    pub nodes: usize,
    /// A /24: the controller takes .1, node i takes .(10 + i).
    pub subnet: String,
    pub state_dir: PathBuf,
}

impl Default for ClusterSpec {
    fn default() -> Self {
        ClusterSpec {
            name: DEFAULT_NAME.into(),
            nodes: 5,
            subnet: DEFAULT_SUBNET.into(),
            state_dir: PathBuf::from(DEFAULT_STATE_DIR),
        }
    }
}

/// What was made: the contents of `cluster.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterState {
    pub name: String,
    pub subnet: String,
    pub bridge: String,
    pub controller_ip: Ipv4Addr,
    pub nodes: Vec<NodeState>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeState {
    pub name: String,
    pub namespace: String,
    /// The host side of the node's veth pair (the node side is `eth0`).
    pub veth: String,
    pub ip: Ipv4Addr,
}

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("the local cluster needs root (to make network namespaces): run rift as root")]
    NotRoot,
    #[error(
        "a local cluster is already up ({nodes} nodes, state in {}); use it as it is, or `rift cluster down` first",
        .state_dir.display()
    )]
    AlreadyUp { state_dir: PathBuf, nodes: usize },
    #[error("{0}")]
    Spec(String),
    #[error("{0}")]
    Conflict(String),
    #[error(transparent)]
    Command(#[from] CommandFailed),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    NotReady(String),
    #[error("{path}: {message}")]
    State { path: PathBuf, message: String },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> ClusterError + '_ {
    move |source| ClusterError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn parse_subnet(subnet: &str) -> Result<[u8; 3], ClusterError> {
    let bad = || {
        ClusterError::Spec(format!(
            "subnet {subnet:?} must be an IPv4 /24 such as 10.77.0.0/24"
        ))
    };
    let (addr, prefix) = subnet.split_once('/').ok_or_else(bad)?;
    let addr: Ipv4Addr = addr.parse().map_err(|_| bad())?;
    if prefix != "24" || addr.octets()[3] != 0 {
        return Err(bad());
    }
    let [a, b, c, _] = addr.octets();
    Ok([a, b, c])
}

impl ClusterSpec {
    /// The state this spec makes, or why it cannot be made.
    pub fn plan(&self) -> Result<ClusterState, ClusterError> {
        let name_ok = !self.name.is_empty()
            && self.name.len() <= 8
            && self
                .name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit());
        if !name_ok {
            return Err(ClusterError::Spec(format!(
                "cluster name {:?} must be 1 to 8 lowercase letters or digits (it prefixes interface names)",
                self.name
            )));
        }
        if !(1..=200).contains(&self.nodes) {
            return Err(ClusterError::Spec(format!(
                "--nodes {} must be from 1 to 200",
                self.nodes
            )));
        }
        let [a, b, c] = parse_subnet(&self.subnet)?;
        let nodes = (1..=self.nodes)
            .map(|i| NodeState {
                name: format!("n{i}"),
                namespace: format!("{}-n{i}", self.name),
                veth: format!("{}-n{i}", self.name),
                ip: Ipv4Addr::new(a, b, c, 10 + i as u8),
            })
            .collect();
        Ok(ClusterState {
            name: self.name.clone(),
            subnet: self.subnet.clone(),
            bridge: format!("{}-br", self.name),
            controller_ip: Ipv4Addr::new(a, b, c, 1),
            nodes,
        })
    }
}

/// Paths inside a cluster's state directory.
#[derive(Debug, Clone)]
pub struct StateDir(pub PathBuf);

impl StateDir {
    pub fn state_file(&self) -> PathBuf {
        self.0.join(STATE_FILE)
    }
    pub fn nodes_file(&self) -> PathBuf {
        self.0.join(NODES_FILE)
    }
    pub fn known_hosts(&self) -> PathBuf {
        self.0.join(KNOWN_HOSTS)
    }
    pub fn client_key(&self) -> PathBuf {
        self.0.join(CLIENT_KEY)
    }
    pub fn node_dir(&self, node: &str) -> PathBuf {
        self.0.join("nodes").join(node)
    }
    pub fn sshd_pid_file(&self, node: &str) -> PathBuf {
        self.node_dir(node).join("sshd.pid")
    }
    pub fn sshd_log(&self, node: &str) -> PathBuf {
        self.node_dir(node).join("sshd.log")
    }
    pub fn workdir(&self, node: &str) -> PathBuf {
        self.node_dir(node).join("work")
    }
}

/// Reads `cluster.json`: `None` when no cluster is up there.
pub fn load_state(state_dir: &Path) -> Result<Option<ClusterState>, ClusterError> {
    let path = StateDir(state_dir.to_path_buf()).state_file();
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io(&path)(e)),
    };
    serde_json::from_str(&text)
        .map(Some)
        .map_err(|e| ClusterError::State {
            path,
            message: e.to_string(),
        })
}

/// Builds the cluster; on any failure, undoes what it made and returns the failure.
pub fn up(spec: &ClusterSpec) -> Result<ClusterState, ClusterError> {
    let state = spec.plan()?;
    if !system::is_root() {
        return Err(ClusterError::NotRoot);
    }
    let dir = StateDir(spec.state_dir.clone());
    if let Some(existing) = load_state(&dir.0)? {
        return Err(ClusterError::AlreadyUp {
            state_dir: dir.0,
            nodes: existing.nodes.len(),
        });
    }
    system::ensure_packages(PACKAGES)?;
    check_conflicts(&state)?;

    std::fs::create_dir_all(&dir.0).map_err(io(&dir.0))?;
    // Written first: whatever happens next, `down` knows what to undo.
    write_file(
        &dir.state_file(),
        &serde_json::to_string_pretty(&state).unwrap_or_default(),
    )?;
    match build(&state, &dir) {
        Ok(()) => Ok(state),
        Err(e) => {
            let _ = down(&dir.0);
            Err(e)
        }
    }
}

fn check_conflicts(state: &ClusterState) -> Result<(), ClusterError> {
    let namespaces = system::run("ip", &["netns", "list"])?;
    for n in &state.nodes {
        if namespaces
            .lines()
            .any(|l| l.split_whitespace().next() == Some(n.namespace.as_str()))
        {
            return Err(ClusterError::Conflict(format!(
                "network namespace {} exists but no cluster rift knows of made it; \
                 remove it (ip netns del {0}) or choose another --name",
                n.namespace
            )));
        }
    }
    let links = system::run("ip", &["-o", "link", "show"])?;
    let taken = |iface: &str| {
        links.lines().any(|l| {
            l.split(": ")
                .nth(1)
                .is_some_and(|n| n.split('@').next() == Some(iface))
        })
    };
    for iface in std::iter::once(&state.bridge).chain(state.nodes.iter().map(|n| &n.veth)) {
        if taken(iface) {
            return Err(ClusterError::Conflict(format!(
                "network interface {iface} exists already; remove it or choose another --name"
            )));
        }
    }
    let prefix = state
        .subnet
        .rsplit_once('.')
        .map_or("", |(p, _)| p)
        .to_owned()
        + ".";
    let addrs = system::run("ip", &["-4", "-o", "addr", "show"])?;
    if let Some(line) = addrs
        .lines()
        .find(|l| l.contains(&format!("inet {prefix}")))
    {
        let iface = line.split_whitespace().nth(1).unwrap_or("?");
        return Err(ClusterError::Conflict(format!(
            "subnet {} is in use on this machine ({iface}); choose another with --subnet",
            state.subnet
        )));
    }
    Ok(())
}

fn write_file(path: &Path, text: &str) -> Result<(), ClusterError> {
    std::fs::write(path, text).map_err(io(path))
}

fn build(state: &ClusterState, dir: &StateDir) -> Result<(), ClusterError> {
    for n in &state.nodes {
        let d = dir.node_dir(&n.name);
        std::fs::create_dir_all(dir.workdir(&n.name)).map_err(io(&d))?;
    }
    generate_keys(state, dir)?;

    // One `ip` process for the host side, one per node inside it.
    let mut host = String::new();
    let _ = writeln!(host, "link add {} type bridge", state.bridge);
    let _ = writeln!(
        host,
        "addr add {}/24 dev {}",
        state.controller_ip, state.bridge
    );
    let _ = writeln!(host, "link set {} up", state.bridge);
    for n in &state.nodes {
        let _ = writeln!(host, "netns add {}", n.namespace);
        let _ = writeln!(
            host,
            "link add {} type veth peer name eth0 netns {}",
            n.veth, n.namespace
        );
        let _ = writeln!(host, "link set {} master {} up", n.veth, state.bridge);
    }
    system::run_with_input("ip", &["-batch", "-"], Some(&host))?;
    for n in &state.nodes {
        let inside = format!(
            "addr add {}/24 dev eth0\nlink set eth0 up\nlink set lo up\n",
            n.ip
        );
        system::run_with_input("ip", &["-n", &n.namespace, "-batch", "-"], Some(&inside))?;
    }

    // sshd refuses to start without its privilege-separation directory.
    std::fs::create_dir_all("/run/sshd").map_err(io(Path::new("/run/sshd")))?;
    let starting = state
        .nodes
        .iter()
        .map(|n| {
            let config = dir.node_dir(&n.name).join("sshd_config");
            write_file(&config, &sshd_config(n, dir))?;
            spawn_sshd(n, dir).map(|child| (n, child))
        })
        .collect::<Result<Vec<_>, _>>()?;
    for (n, child) in starting {
        await_sshd_start(n, dir, child)?;
    }
    wait_for_ssh(state, Duration::from_secs(10))?;
    warn_if_bridged_traffic_is_filtered();

    let mut known = String::new();
    for n in &state.nodes {
        let pubkey_path = dir.node_dir(&n.name).join("ssh_host_ed25519_key.pub");
        let pubkey = std::fs::read_to_string(&pubkey_path).map_err(io(&pubkey_path))?;
        let mut parts = pubkey.split_whitespace();
        let (kind, key) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
        let _ = writeln!(known, "{} {kind} {key}", n.ip);
    }
    write_file(&dir.known_hosts(), &known)?;
    write_file(&dir.nodes_file(), &nodes_file(state, dir))?;
    Ok(())
}

fn spawn_sshd(n: &NodeState, dir: &StateDir) -> Result<std::process::Child, ClusterError> {
    let config = dir.node_dir(&n.name).join("sshd_config");
    std::process::Command::new("ip")
        .args(["netns", "exec", &n.namespace, SSHD, "-f"])
        .arg(&config)
        .arg("-E")
        .arg(dir.sshd_log(&n.name))
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .map_err(io(&config))
}

/// sshd forks into the background once it listens; the parent's exit says how it went.
fn await_sshd_start(
    n: &NodeState,
    dir: &StateDir,
    child: std::process::Child,
) -> Result<(), ClusterError> {
    let out = child.wait_with_output().map_err(io(Path::new(SSHD)))?;
    if out.status.success() {
        return Ok(());
    }
    Err(ClusterError::NotReady(format!(
        "sshd on {} did not start: {} (log: {})",
        n.name,
        String::from_utf8_lossy(&out.stderr).trim(),
        dir.sshd_log(&n.name).display()
    )))
}

/// Starts a node's sshd again (after it was killed) and waits until it accepts connections.
pub fn start_sshd(state_dir: &Path, node: &str) -> Result<(), ClusterError> {
    let state = load_state(state_dir)?.ok_or_else(|| ClusterError::State {
        path: state_dir.to_path_buf(),
        message: "no local cluster is up here".into(),
    })?;
    let n = state
        .nodes
        .iter()
        .find(|n| n.name == node)
        .ok_or_else(|| ClusterError::Spec(format!("the local cluster has no node {node:?}")))?;
    let dir = StateDir(state_dir.to_path_buf());
    await_sshd_start(n, &dir, spawn_sshd(n, &dir)?)?;
    let one = ClusterState {
        nodes: vec![n.clone()],
        ..state.clone()
    };
    wait_for_ssh(&one, Duration::from_secs(10))
}

fn generate_keys(state: &ClusterState, dir: &StateDir) -> Result<(), ClusterError> {
    let mut keys = vec![(dir.client_key(), "rift-controller".to_owned())];
    for n in &state.nodes {
        keys.push((
            dir.node_dir(&n.name).join("ssh_host_ed25519_key"),
            format!("rift-{}", n.name),
        ));
    }
    let children: Vec<_> = keys
        .iter()
        .map(|(path, comment)| {
            std::process::Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f"])
                .arg(path)
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .map(|c| (path, c))
                .map_err(io(path))
        })
        .collect::<Result<_, _>>()?;
    for (path, child) in children {
        let out = child.wait_with_output().map_err(io(path))?;
        if !out.status.success() {
            return Err(ClusterError::Command(CommandFailed {
                command: format!("ssh-keygen -f {}", path.display()),
                message: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
            }));
        }
    }
    let public = std::fs::read_to_string(dir.client_key().with_extension("pub"))
        .map_err(io(&dir.client_key()))?;
    write_file(&dir.0.join("authorized_keys"), &public)
}

fn sshd_config(n: &NodeState, dir: &StateDir) -> String {
    let node_dir = dir.node_dir(&n.name);
    format!(
        "# rift local cluster: node {name} in network namespace {ns}\n\
         ListenAddress {ip}:22\n\
         HostKey {dir}/ssh_host_ed25519_key\n\
         PidFile {pid}\n\
         AuthorizedKeysFile {auth}\n\
         PermitRootLogin prohibit-password\n\
         PubkeyAuthentication yes\n\
         PasswordAuthentication no\n\
         KbdInteractiveAuthentication no\n\
         UsePAM no\n\
         StrictModes no\n\
         UseDNS no\n\
         PrintMotd no\n\
         MaxSessions 16\n\
         MaxStartups 64:30:128\n\
         Subsystem sftp internal-sftp\n\
         # Debian's bash sources ~/.bashrc for SSH sessions when SHLVL < 2; on machines whose\n\
         # root runs version managers there (pyenv, nvm) that adds ~130 ms to every command.\n\
         SetEnv SHLVL=1\n",
        name = n.name,
        ns = n.namespace,
        ip = n.ip,
        dir = node_dir.display(),
        pid = dir.sshd_pid_file(&n.name).display(),
        auth = dir.0.join("authorized_keys").display(),
    )
}

fn nodes_file(state: &ClusterState, dir: &StateDir) -> String {
    let mut out = format!(
        "# rift local cluster {name}: written by `rift cluster up`, removed by `rift cluster down`.\n\
         user = \"root\"\n\
         private_key = \"{key}\"\n\
         known_hosts = \"{known}\"\n",
        name = state.name,
        key = CLIENT_KEY,
        known = KNOWN_HOSTS,
    );
    for n in &state.nodes {
        let _ = write!(
            out,
            "\n[[nodes]]\nname = \"{}\"\nhost = \"{}\"\nworkdir = \"{}\"\n",
            n.name,
            n.ip,
            dir.workdir(&n.name).display()
        );
    }
    out
}

fn wait_for_ssh(state: &ClusterState, limit: Duration) -> Result<(), ClusterError> {
    let deadline = Instant::now() + limit;
    for n in &state.nodes {
        let addr = SocketAddr::from((n.ip, 22));
        loop {
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                break;
            }
            if Instant::now() > deadline {
                return Err(ClusterError::NotReady(format!(
                    "sshd on {} ({addr}) did not accept connections within {limit:?}",
                    n.name
                )));
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    Ok(())
}

/// Bridged frames pass the host's iptables FORWARD chain when br_netfilter is on; a DROP policy
/// there (Docker sets one) silently cuts nodes off from each other.
fn warn_if_bridged_traffic_is_filtered() {
    let on = std::fs::read_to_string("/proc/sys/net/bridge/bridge-nf-call-iptables")
        .is_ok_and(|v| v.trim() == "1");
    let drops = system::run("iptables", &["-S", "FORWARD"])
        .is_ok_and(|rules| rules.lines().any(|l| l.trim() == "-P FORWARD DROP"));
    if on && drops {
        eprintln!(
            "rift: warning: this host filters bridged traffic (bridge-nf-call-iptables = 1) and its \
             FORWARD policy is DROP, so nodes may not reach each other; allow the cluster's bridge: \
             iptables -I FORWARD -i <name>-br -o <name>-br -j ACCEPT"
        );
    }
}

/// What `down` did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct DownReport {
    /// False when there was no cluster to take down.
    pub was_up: bool,
    pub processes_killed: usize,
    pub namespaces_removed: usize,
    /// What could not be undone; `down` carries on past each.
    pub errors: Vec<String>,
}

/// Takes down the cluster whose state is in `state_dir`: every process in its namespaces (by
/// PID), the namespaces, the bridge, and the state directory. Safe to repeat.
pub fn down(state_dir: &Path) -> Result<DownReport, ClusterError> {
    let Some(state) = load_state(state_dir)? else {
        return Ok(DownReport::default());
    };
    if !system::is_root() {
        return Err(ClusterError::NotRoot);
    }
    let mut report = DownReport {
        was_up: true,
        ..DownReport::default()
    };
    let existing = system::run("ip", &["netns", "list"]).unwrap_or_default();
    for n in &state.nodes {
        if !existing
            .lines()
            .any(|l| l.split_whitespace().next() == Some(n.namespace.as_str()))
        {
            continue;
        }
        report.processes_killed += kill_namespace_processes(&n.namespace, &mut report.errors);
        // The kernel destroys a namespace (and the veth inside it) lazily; deleting the veth
        // here takes both its ends at once, so nothing is left when `down` returns.
        if let Err(e) = system::run("ip", &["link", "del", &n.veth])
            && !e.message.contains("Cannot find device")
        {
            report.errors.push(e.to_string());
        }
        match system::run("ip", &["netns", "del", &n.namespace]) {
            Ok(_) => report.namespaces_removed += 1,
            Err(e) => report.errors.push(e.to_string()),
        }
    }
    if let Err(e) = system::run("ip", &["link", "del", &state.bridge])
        && !e.message.contains("Cannot find device")
    {
        report.errors.push(e.to_string());
    }
    if report.errors.is_empty() {
        if let Err(e) = std::fs::remove_dir_all(state_dir) {
            report.errors.push(format!("{}: {e}", state_dir.display()));
        }
    } else {
        report.errors.push(format!(
            "kept {} so that `rift cluster down` can try again",
            state_dir.display()
        ));
    }
    Ok(report)
}

/// Kills every process in a namespace (they are all the cluster's: sshd, and whatever ran
/// through it), waiting up to two seconds for them to go.
fn kill_namespace_processes(namespace: &str, errors: &mut Vec<String>) -> usize {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    let pids: Vec<i32> = match system::run("ip", &["netns", "pids", namespace]) {
        Ok(out) => out
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect(),
        Err(e) => {
            errors.push(e.to_string());
            return 0;
        }
    };
    for &pid in &pids {
        // SIGCONT first: a paused process must be able to die.
        let _ = kill(Pid::from_raw(pid), Signal::SIGCONT);
        let _ = kill(Pid::from_raw(pid), Signal::SIGKILL);
    }
    let deadline = Instant::now() + Duration::from_secs(2);
    while Instant::now() < deadline {
        if pids
            .iter()
            .all(|p| !Path::new(&format!("/proc/{p}")).exists() || is_zombie(*p))
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    pids.len()
}

fn is_zombie(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z'))
    })
}

/// One node's health, as `rift cluster status` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeHealth {
    pub node: NodeState,
    pub namespace_exists: bool,
    pub sshd_pid: Option<i32>,
    pub port_open: bool,
}

/// The cluster's state and each node's health, or `None` when no cluster is up.
pub fn status(state_dir: &Path) -> Result<Option<(ClusterState, Vec<NodeHealth>)>, ClusterError> {
    let Some(state) = load_state(state_dir)? else {
        return Ok(None);
    };
    let dir = StateDir(state_dir.to_path_buf());
    let health = state
        .nodes
        .iter()
        .map(|n| {
            let sshd_pid = std::fs::read_to_string(dir.sshd_pid_file(&n.name))
                .ok()
                .and_then(|p| p.trim().parse::<i32>().ok())
                .filter(|p| Path::new(&format!("/proc/{p}")).exists());
            NodeHealth {
                node: n.clone(),
                namespace_exists: Path::new("/run/netns").join(&n.namespace).exists(),
                sshd_pid,
                port_open: TcpStream::connect_timeout(
                    &SocketAddr::from((n.ip, 22)),
                    Duration::from_millis(300),
                )
                .is_ok(),
            }
        })
        .collect();
    Ok(Some((state, health)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_names_and_addresses() {
        let spec = ClusterSpec {
            nodes: 3,
            ..ClusterSpec::default()
        };
        let s = spec.plan().unwrap();
        assert_eq!(s.bridge, "rift-br");
        assert_eq!(s.controller_ip, Ipv4Addr::new(10, 77, 0, 1));
        assert_eq!(s.nodes[2].namespace, "rift-n3");
        assert_eq!(s.nodes[2].ip, Ipv4Addr::new(10, 77, 0, 13));
    }

    #[test]
    fn refuses_specs_it_cannot_build() {
        let bad = |spec: ClusterSpec, want: &str| {
            let e = spec.plan().unwrap_err().to_string();
            assert!(e.contains(want), "{e}");
        };
        bad(
            ClusterSpec {
                nodes: 0,
                ..ClusterSpec::default()
            },
            "--nodes 0 must be from 1 to 200",
        );
        bad(
            ClusterSpec {
                subnet: "10.0.0.0/16".into(),
                ..ClusterSpec::default()
            },
            "must be an IPv4 /24",
        );
        bad(
            ClusterSpec {
                subnet: "10.0.0.5/24".into(),
                ..ClusterSpec::default()
            },
            "must be an IPv4 /24",
        );
        bad(
            ClusterSpec {
                name: "averylongname".into(),
                ..ClusterSpec::default()
            },
            "1 to 8 lowercase",
        );
        bad(
            ClusterSpec {
                name: "a-b".into(),
                ..ClusterSpec::default()
            },
            "1 to 8 lowercase",
        );
    }

    #[test]
    fn the_nodes_file_it_writes_reads_back_as_an_inventory() {
        let spec = ClusterSpec {
            nodes: 2,
            ..ClusterSpec::default()
        };
        let state = spec.plan().unwrap();
        let dir = StateDir(PathBuf::from("/var/lib/rift/cluster"));
        let text = nodes_file(&state, &dir);
        let inv = crate::nodes::parse_nodes_file(
            &text,
            &dir.nodes_file(),
            &crate::nodes::Defaults::standard(),
        )
        .unwrap();
        assert_eq!(inv.nodes.len(), 2);
        assert_eq!(inv.nodes[1].host, "10.77.0.12");
        assert_eq!(inv.nodes[1].workdir, "/var/lib/rift/cluster/nodes/n2/work");
        assert_eq!(
            inv.ssh.private_key,
            Path::new("/var/lib/rift/cluster/id_ed25519")
        );
        assert_eq!(
            inv.ssh.known_hosts,
            Path::new("/var/lib/rift/cluster/known_hosts")
        );
    }
}

/// A cluster for one test or benchmark, in a fresh state directory, taken down (and its
/// directory removed) when dropped, also when the test panics.
#[derive(Debug)]
pub struct Scratch {
    pub state: ClusterState,
    pub state_dir: PathBuf,
}

impl Scratch {
    /// Makes a cluster named `name` (1 to 8 lowercase letters or digits) on `subnet`. Where this
    /// machine cannot (not root), prints why and returns `None` — except under `CI=true`, where
    /// that is a failure, so that CI never passes by skipping.
    pub fn up(name: &str, subnet: &str, nodes: usize) -> Option<Scratch> {
        if !system::is_root() {
            let why = "needs root (network namespaces)";
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "cluster tests must run in CI, but this {why}"
            );
            eprintln!("SKIPPED: {why}");
            return None;
        }
        let state_dir =
            std::env::temp_dir().join(format!("rift-scratch-{name}-{}", std::process::id()));
        let spec = ClusterSpec {
            name: name.into(),
            nodes,
            subnet: subnet.into(),
            state_dir: state_dir.clone(),
        };
        let state = up(&spec).unwrap_or_else(|e| panic!("cluster {name}: {e}"));
        Some(Scratch { state, state_dir })
    }

    pub fn dir(&self) -> StateDir {
        StateDir(self.state_dir.clone())
    }

    /// The cluster's nodes, as the rest of rift reaches them.
    pub fn inventory(&self) -> crate::Inventory {
        crate::nodes::load_nodes_file(
            &self.dir().nodes_file(),
            &crate::nodes::Defaults::standard(),
        )
        .unwrap_or_else(|e| panic!("{e}"))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        match down(&self.state_dir) {
            Ok(r) if r.errors.is_empty() => {}
            Ok(r) => eprintln!("cluster down left errors: {:?}", r.errors),
            Err(e) => eprintln!("cluster down: {e}"),
        }
        let _ = std::fs::remove_dir_all(&self.state_dir);
    }
}
