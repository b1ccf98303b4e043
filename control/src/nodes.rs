//! Which nodes a run reaches, and how.
//!
//! From `--nodes a,b,c` (with `--username` and `--ssh-private-key`, as in Jepsen), or from a
//! nodes file (TOML), which the local cluster writes too:
//!
//! ```toml
//! user = "root"                  # default for every node
//! private_key = "id_ed25519"     # relative paths are relative to this file
//! known_hosts = "known_hosts"    # host keys are checked against this file
//! workdir = "/var/lib/rift"      # each node's work directory defaults to <workdir>/<name>
//!
//! [[nodes]]
//! name = "n1"
//! host = "10.77.0.11"            # host, or host:port
//!
//! [[nodes]]
//! name = "n2"
//! host = "db2.example:2222"
//! user = "admin"                 # any default can be set per node
//! workdir = "/srv/rift"
//! sudo_password = "..."          # when sudo asks this user for one
//! ```
//!
//! Every node has its own work directory, so stores on nodes that share a filesystem (the local
//! cluster, containers) never collide.

use serde::Deserialize;
use std::path::{Path, PathBuf};

/// One node as rift reaches it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// A short name, used in histories and as a directory name.
    pub name: String,
    pub host: String,
    pub port: u16,
    pub user: String,
    /// Where rift keeps this node's files (binaries, data, logs).
    pub workdir: String,
    pub sudo_password: Option<String>,
}

impl Node {
    /// `host:port` for messages.
    pub fn address(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }
}

/// How host keys not yet in known_hosts are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostKeyPolicy {
    /// Refuse them (the default for real nodes).
    Strict,
    /// Trust on first use: record them, then check them like any other.
    AcceptNew,
}

/// Settings shared by every connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshSettings {
    pub private_key: PathBuf,
    pub known_hosts: PathBuf,
    pub host_keys: HostKeyPolicy,
}

/// Nodes and how to reach them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inventory {
    pub nodes: Vec<Node>,
    pub ssh: SshSettings,
}

#[derive(Debug, thiserror::Error)]
pub enum InventoryError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Parse { path: PathBuf, message: String },
    #[error("{place}: {message}")]
    Invalid { place: String, message: String },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NodesFile {
    user: Option<String>,
    private_key: Option<PathBuf>,
    known_hosts: Option<PathBuf>,
    workdir: Option<String>,
    sudo_password: Option<String>,
    #[serde(default)]
    nodes: Vec<NodeEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct NodeEntry {
    name: Option<String>,
    host: String,
    user: Option<String>,
    workdir: Option<String>,
    sudo_password: Option<String>,
}

/// Defaults for what neither the file nor the flags say.
#[derive(Debug, Clone)]
pub struct Defaults {
    pub user: String,
    pub private_key: PathBuf,
    pub known_hosts: PathBuf,
    pub workdir: String,
    pub host_keys: HostKeyPolicy,
}

impl Defaults {
    /// Jepsen's: root, the user's own key and known_hosts, strict host keys.
    pub fn standard() -> Defaults {
        let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("/root"), PathBuf::from);
        let ssh = home.join(".ssh");
        let private_key = ["id_ed25519", "id_ecdsa", "id_rsa"]
            .iter()
            .map(|k| ssh.join(k))
            .find(|p| p.exists())
            .unwrap_or_else(|| ssh.join("id_ed25519"));
        Defaults {
            user: "root".into(),
            private_key,
            known_hosts: ssh.join("known_hosts"),
            workdir: "/var/lib/rift".into(),
            host_keys: HostKeyPolicy::Strict,
        }
    }
}

/// Reads a nodes file.
pub fn load_nodes_file(path: &Path, defaults: &Defaults) -> Result<Inventory, InventoryError> {
    let text = std::fs::read_to_string(path).map_err(|e| InventoryError::Io {
        path: path.to_path_buf(),
        source: e,
    })?;
    parse_nodes_file(&text, path, defaults)
}

/// Parses a nodes file's text; `path` names it in errors and anchors relative paths.
pub fn parse_nodes_file(
    text: &str,
    path: &Path,
    defaults: &Defaults,
) -> Result<Inventory, InventoryError> {
    let file: NodesFile = toml::from_str(text).map_err(|e| InventoryError::Parse {
        path: path.to_path_buf(),
        message: e.to_string().trim_end().to_owned(),
    })?;
    let base = path.parent().unwrap_or(Path::new("."));
    let anchor = |p: PathBuf| if p.is_relative() { base.join(p) } else { p };
    let user = file.user.unwrap_or_else(|| defaults.user.clone());
    let workdir = file.workdir.unwrap_or_else(|| defaults.workdir.clone());
    if file.nodes.is_empty() {
        return Err(InventoryError::Invalid {
            place: path.display().to_string(),
            message: "no [[nodes]] entries".into(),
        });
    }
    let mut nodes = Vec::with_capacity(file.nodes.len());
    for (i, entry) in file.nodes.into_iter().enumerate() {
        let place = format!("{}: nodes[{i}]", path.display());
        let (host, port) = split_host(&entry.host).map_err(|message| InventoryError::Invalid {
            place: place.clone(),
            message,
        })?;
        let name = entry.name.unwrap_or_else(|| default_name(&entry.host));
        let node_workdir = entry.workdir.unwrap_or_else(|| format!("{workdir}/{name}"));
        nodes.push(Node {
            name,
            host,
            port,
            user: entry.user.unwrap_or_else(|| user.clone()),
            workdir: node_workdir,
            sudo_password: entry.sudo_password.or_else(|| file.sudo_password.clone()),
        });
    }
    validate(&nodes, &path.display().to_string())?;
    Ok(Inventory {
        nodes,
        ssh: SshSettings {
            private_key: file
                .private_key
                .map_or_else(|| defaults.private_key.clone(), anchor),
            known_hosts: file
                .known_hosts
                .map_or_else(|| defaults.known_hosts.clone(), anchor),
            host_keys: defaults.host_keys,
        },
    })
}

/// Nodes from `--nodes a,b:2222,c`, named after their hosts.
pub fn from_list(list: &str, defaults: &Defaults) -> Result<Inventory, InventoryError> {
    let mut nodes = Vec::new();
    for (i, item) in list.split(',').map(str::trim).enumerate() {
        let place = format!("--nodes item {}", i + 1);
        if item.is_empty() {
            return Err(InventoryError::Invalid {
                place,
                message: "empty node".into(),
            });
        }
        let (host, port) =
            split_host(item).map_err(|message| InventoryError::Invalid { place, message })?;
        let name = default_name(item);
        nodes.push(Node {
            workdir: format!("{}/{name}", defaults.workdir),
            name,
            host,
            port,
            user: defaults.user.clone(),
            sudo_password: None,
        });
    }
    validate(&nodes, "--nodes")?;
    Ok(Inventory {
        nodes,
        ssh: SshSettings {
            private_key: defaults.private_key.clone(),
            known_hosts: defaults.known_hosts.clone(),
            host_keys: defaults.host_keys,
        },
    })
}

/// A node named after its host: `db1`, or `db1-2222` when a port is given.
fn default_name(host: &str) -> String {
    host.trim_start_matches('[')
        .replace("]:", "-")
        .replace(':', "-")
}

fn split_host(s: &str) -> Result<(String, u16), String> {
    let port = |p: &str| {
        p.parse::<u16>()
            .map_err(|_| format!("port {p:?} in {s:?} is not a port"))
    };
    if let Some(rest) = s.strip_prefix('[') {
        // [v6]:port or [v6]
        let (host, after) = rest.split_once(']').ok_or(format!("{s:?}: unclosed '['"))?;
        return match after.strip_prefix(':') {
            Some(p) => Ok((host.to_owned(), port(p)?)),
            None if after.is_empty() => Ok((host.to_owned(), 22)),
            None => Err(format!("{s:?} is not host, host:port or [v6]:port")),
        };
    }
    match s.split_once(':') {
        None if !s.is_empty() => Ok((s.to_owned(), 22)),
        Some((h, p)) if !h.is_empty() && !p.contains(':') => Ok((h.to_owned(), port(p)?)),
        _ => Err(format!("{s:?} is not host, host:port or [v6]:port")),
    }
}

fn validate(nodes: &[Node], place: &str) -> Result<(), InventoryError> {
    for (i, n) in nodes.iter().enumerate() {
        let bad_name = n.name.is_empty()
            || n.name.starts_with('.')
            || !n
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        let invalid = |message: String| InventoryError::Invalid {
            place: format!("{place}: node {:?}", n.name),
            message,
        };
        if bad_name {
            return Err(invalid(
                "a node name may hold only letters, digits and - _ .".into(),
            ));
        }
        if nodes[..i].iter().any(|m| m.name == n.name) {
            return Err(invalid("two nodes have this name".into()));
        }
        if !n.workdir.starts_with('/') {
            return Err(invalid(format!(
                "workdir {:?} must be an absolute path",
                n.workdir
            )));
        }
        if n.user.is_empty() {
            return Err(invalid("user is empty".into()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defaults() -> Defaults {
        Defaults {
            user: "root".into(),
            private_key: "/k".into(),
            known_hosts: "/kh".into(),
            workdir: "/var/lib/rift".into(),
            host_keys: HostKeyPolicy::Strict,
        }
    }

    #[test]
    fn reads_a_nodes_file_with_defaults_and_overrides() {
        let text = r#"
            user = "admin"
            private_key = "id_ed25519"
            workdir = "/srv/rift"
            [[nodes]]
            name = "n1"
            host = "10.77.0.11"
            [[nodes]]
            host = "db2.example:2222"
            user = "root"
            workdir = "/data"
        "#;
        let inv = parse_nodes_file(text, Path::new("/etc/rift/nodes.toml"), &defaults()).unwrap();
        assert_eq!(inv.nodes[0].workdir, "/srv/rift/n1");
        assert_eq!(inv.nodes[0].user, "admin");
        assert_eq!(
            (inv.nodes[1].name.as_str(), inv.nodes[1].port),
            ("db2.example-2222", 2222)
        );
        assert_eq!(inv.nodes[1].workdir, "/data");
        assert_eq!(inv.ssh.private_key, Path::new("/etc/rift/id_ed25519"));
        assert_eq!(inv.ssh.known_hosts, Path::new("/kh"));
    }

    #[test]
    fn errors_name_the_file_and_the_node() {
        let p = Path::new("nodes.toml");
        let cases = [
            (
                "[[nodes]]\nhost = \"a:b\"",
                "nodes.toml: nodes[0]: port \"b\" in \"a:b\" is not a port",
            ),
            (
                "[[nodes]]\nhost = \"a\"\n[[nodes]]\nhost = \"a\"",
                "node \"a\": two nodes have this name",
            ),
            (
                "[[nodes]]\nhost = \"a\"\nworkdir = \"rel\"",
                "workdir \"rel\" must be an absolute path",
            ),
            (
                "[[nodes]]\nhost = \"a\"\nname = \"../x\"",
                "a node name may hold only",
            ),
            ("[[nodes]]\nhots = \"a\"", "unknown field `hots`"),
            ("user = \"x\"", "no [[nodes]] entries"),
            (
                "[[nodes]\nhost = 1",
                "nodes.toml: TOML parse error at line 1",
            ),
        ];
        for (text, want) in cases {
            let e = parse_nodes_file(text, p, &defaults())
                .unwrap_err()
                .to_string();
            assert!(e.contains(want), "{text:?}\n got: {e}\nwant: {want}");
        }
    }

    #[test]
    fn a_list_of_hosts_makes_nodes_named_after_them() {
        let inv = from_list("n1, n2:2200,[::1]:2201", &defaults()).unwrap();
        let names: Vec<_> = inv.nodes.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["n1", "n2-2200", "--1-2201"]);
        assert_eq!(inv.nodes[2].host, "::1");
        assert_eq!(inv.nodes[2].address(), "[::1]:2201");
        assert_eq!(inv.nodes[0].workdir, "/var/lib/rift/n1");
        assert!(
            from_list("a,,b", &defaults())
                .unwrap_err()
                .to_string()
                .contains("--nodes item 2: empty node")
        );
    }
}
