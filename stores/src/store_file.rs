//! A store described by a file (TOML), with clients in any language: `rift test --store
//! FILE.toml`. rift starts the store's process itself, so every nemesis works unchanged: kill
//! and pause signal the process group rift started, clock faults reach it through the same
//! environment hook as every store, partitions act on nodes.
//!
//! ```toml
//! name = "gun"
//! claims = ["eventual"]     # optional: the consistency models it promises (rift check's names)
//! [db]                      # argv lists; {node} {host} {workdir} {nodes} {peers} {port} are substituted
//! upload  = ["server.js", "package.json"]   # relative to this file, copied to {workdir}
//! install = ["sh", "-c", "cd {workdir} && npm install --omit=dev"]   # at setup, on every node
//! start   = ["node", "{workdir}/server.js", "--port", "{port}", "--peers", "{peers}"]
//! ready   = ["curl", "-sf", "http://{host}:{port}/health"]          # exit 0: serving
//! port    = 8765
//! peer    = "http://{host}:{port}/gun"      # how each node renders in {peers}
//! logs    = ["{workdir}/store.log"]
//! # optional: stop, kill, pause, resume, teardown (run on the node, in {workdir}), and
//! # primaries (run on the controller, in this file's folder; prints node names)
//! [client]
//! command = ["node", "client.js"]           # on the controller, one per worker, cwd = this file's folder
//! workloads = ["register", "set"]
//! options = { }                             # passed through in init
//! ```
//!
//! `{workdir}` is the store's own directory on the node (`<node workdir>/<name>`); the process
//! `start` names runs there, detached, in a process group of its own, with its output in
//! `{workdir}/store.log`. Every field is checked before a node is touched; an error names the
//! file, the line and the field.

use crate::stdio::{ClientSpec, StdioClients};
use control::db::{BoxFuture, Daemon, ProcessEnv};
use control::{Cmd, Db, Node, Remote, RemoteError};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use toml::Spanned;

/// Placeholders a command may use.
pub const PLACEHOLDERS: &[&str] = &["node", "host", "workdir", "nodes", "peers", "port"];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    name: Spanned<String>,
    claims: Option<Spanned<Vec<String>>>,
    db: Spanned<RawDb>,
    client: Spanned<RawClient>,
}

type Argv = Spanned<Vec<String>>;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDb {
    upload: Option<Spanned<Vec<String>>>,
    install: Option<Argv>,
    start: Argv,
    ready: Argv,
    port: Option<Spanned<u16>>,
    peer: Option<Spanned<String>>,
    logs: Option<Spanned<Vec<String>>>,
    stop: Option<Argv>,
    kill: Option<Argv>,
    pause: Option<Argv>,
    resume: Option<Argv>,
    teardown: Option<Argv>,
    primaries: Option<Argv>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawClient {
    command: Argv,
    workloads: Spanned<Vec<String>>,
    options: Option<toml::Table>,
}

/// A store file, checked.
#[derive(Debug, Clone)]
pub struct StoreFile {
    pub path: PathBuf,
    pub name: String,
    pub db: GenericDb,
    pub client: ClientSpec,
    /// The workloads its client performs.
    pub workloads: Vec<&'static str>,
    /// For `--help`.
    pub about: String,
    /// The consistency models it promises (`None`: each workload's default).
    pub claims: Option<Vec<String>>,
}

/// A store-file error: where, and what.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {field}: {message}")]
pub struct StoreFileError {
    pub file: String,
    pub line: usize,
    pub field: String,
    pub message: String,
}

/// The store's commands, with placeholders still in them.
#[derive(Debug, Clone, PartialEq)]
pub struct GenericDb {
    pub name: String,
    /// The name as `Db::name` gives it (made once per store file read).
    static_name: &'static str,
    /// Files on the controller, copied into `{workdir}`.
    pub upload: Vec<PathBuf>,
    pub install: Option<Vec<String>>,
    pub start: Vec<String>,
    pub ready: Vec<String>,
    pub port: Option<u16>,
    pub peer: String,
    pub logs: Vec<String>,
    pub stop: Option<Vec<String>>,
    pub kill: Option<Vec<String>>,
    pub pause: Option<Vec<String>>,
    pub resume: Option<Vec<String>>,
    pub teardown: Option<Vec<String>>,
    pub primaries: Option<Vec<String>>,
    pub env: ProcessEnv,
    /// The store file's folder (where `primaries` runs).
    pub folder: PathBuf,
    /// Every node of the test, once set up (what `ready` renders `{nodes}` and `{peers}` with).
    pub nodes: std::sync::OnceLock<Vec<Node>>,
}

impl StoreFile {
    /// Reads and checks a store file.
    pub fn load(path: &Path) -> Result<StoreFile, StoreFileError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| StoreFileError {
            file: file.clone(),
            line: 0,
            field: "file".into(),
            message: e.to_string(),
        })?;
        StoreFile::parse(path, &text)
    }

    /// Checks a store file's text; `path` places it (its folder is where uploads and the
    /// client are found).
    pub fn parse(path: &Path, text: &str) -> Result<StoreFile, StoreFileError> {
        let file = path.display().to_string();
        let line_of = |offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
        let err = |span: std::ops::Range<usize>, field: &str, message: String| StoreFileError {
            file: file.clone(),
            line: line_of(span.start),
            field: field.into(),
            message,
        };
        let raw: RawFile = toml::from_str(text).map_err(|e| {
            let line = e.span().map_or(0, |s| line_of(s.start));
            let message = e.message().to_owned();
            let field = message
                .strip_prefix("missing field `")
                .and_then(|m| m.split('`').next())
                .unwrap_or("toml")
                .to_owned();
            StoreFileError {
                file: file.clone(),
                line,
                field,
                message,
            }
        })?;
        let folder = path.parent().unwrap_or(Path::new(".")).to_path_buf();
        let name = raw.name.get_ref().clone();
        let valid_name = !name.is_empty()
            && name.len() <= 40
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !valid_name {
            return Err(err(
                raw.name.span(),
                "name",
                format!("{name:?}: 1 to 40 lowercase letters, digits or dashes"),
            ));
        }
        let claims = match &raw.claims {
            Some(c) => {
                let models = c.get_ref();
                if models.is_empty() {
                    return Err(err(
                        c.span(),
                        "claims",
                        "name at least one model, or leave claims out".into(),
                    ));
                }
                if let Some(m) = models.iter().find(|m| !checkers::models::known(m)) {
                    let all: Vec<&str> = checkers::models::MODELS.iter().map(|m| m.0).collect();
                    return Err(err(
                        c.span(),
                        "claims",
                        format!("unknown model {m:?}; rift knows {}", all.join(", ")),
                    ));
                }
                Some(models.clone())
            }
            None => None,
        };
        let db = raw.db.into_inner();
        let port = db.port.as_ref().map(|p| *p.get_ref());
        // Every command: non-empty, and only known placeholders (port only if given).
        let check = |field: &str,
                     argv: &Spanned<Vec<String>>|
         -> Result<Vec<String>, StoreFileError> {
            let list = argv.get_ref();
            if list.is_empty() || list[0].is_empty() {
                return Err(err(argv.span(), field, "must name a program".into()));
            }
            for a in list {
                check_placeholders(a, port.is_some()).map_err(|m| err(argv.span(), field, m))?;
            }
            Ok(list.clone())
        };
        let optional =
            |field: &str, argv: &Option<Argv>| -> Result<Option<Vec<String>>, StoreFileError> {
                argv.as_ref().map(|a| check(field, a)).transpose()
            };
        let mut upload = Vec::new();
        if let Some(files) = &db.upload {
            for f in files.get_ref() {
                let local = folder.join(f);
                if !local.is_file() {
                    return Err(err(
                        files.span(),
                        "db.upload",
                        format!(
                            "{f}: no such file beside the store file ({})",
                            local.display()
                        ),
                    ));
                }
                upload.push(local);
            }
        }
        let peer = match &db.peer {
            Some(p) => {
                check_placeholders(p.get_ref(), port.is_some())
                    .map_err(|m| err(p.span(), "db.peer", m))?;
                p.get_ref().clone()
            }
            None => "{host}".into(),
        };
        let logs = match &db.logs {
            Some(l) => {
                for f in l.get_ref() {
                    check_placeholders(f, port.is_some())
                        .map_err(|m| err(l.span(), "db.logs", m))?;
                }
                l.get_ref().clone()
            }
            None => vec!["{workdir}/store.log".into()],
        };
        let generic = GenericDb {
            name: name.clone(),
            static_name: Box::leak(name.clone().into_boxed_str()),
            upload,
            install: optional("db.install", &db.install)?,
            start: check("db.start", &db.start)?,
            ready: check("db.ready", &db.ready)?,
            port,
            peer,
            logs,
            stop: optional("db.stop", &db.stop)?,
            kill: optional("db.kill", &db.kill)?,
            pause: optional("db.pause", &db.pause)?,
            resume: optional("db.resume", &db.resume)?,
            teardown: optional("db.teardown", &db.teardown)?,
            primaries: optional("db.primaries", &db.primaries)?,
            env: ProcessEnv::default(),
            folder: folder.clone(),
            nodes: std::sync::OnceLock::new(),
        };
        let client = raw.client.into_inner();
        let command = client.command.get_ref().clone();
        if command.is_empty() || command[0].is_empty() {
            return Err(err(
                client.command.span(),
                "client.command",
                "must name a program".into(),
            ));
        }
        if !program_exists(&command[0], &folder) {
            return Err(err(
                client.command.span(),
                "client.command",
                format!("{}: not found on PATH or beside the store file", command[0]),
            ));
        }
        let mut workloads = Vec::new();
        for w in client.workloads.get_ref() {
            match workloads::standard::workload(w, Default::default()) {
                Some(known) => workloads.push(known.name()),
                None => {
                    return Err(err(
                        client.workloads.span(),
                        "client.workloads",
                        format!(
                            "{w:?} is not a workload a client can perform; rift's are set, register, counter, list-append, idempotency"
                        ),
                    ));
                }
            }
        }
        if workloads.is_empty() {
            return Err(err(
                client.workloads.span(),
                "client.workloads",
                "name at least one".into(),
            ));
        }
        let options = serde_json::to_value(client.options.unwrap_or_default()).unwrap_or_default();
        Ok(StoreFile {
            path: path.to_path_buf(),
            name,
            db: generic,
            client: ClientSpec {
                command,
                cwd: folder,
                workload: String::new(),
                options,
            },
            workloads,
            about: format!("from the store file {}", path.display()),
            claims,
        })
    }
}

fn check_placeholders(s: &str, has_port: bool) -> Result<(), String> {
    let mut rest = s;
    while let Some(open) = rest.find('{') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            return Err(format!("{s:?}: a {{ without its }}"));
        };
        let name = &after[..close];
        if !PLACEHOLDERS.contains(&name) {
            return Err(format!(
                "{s:?}: unknown placeholder {{{name}}}; known: {}",
                PLACEHOLDERS
                    .iter()
                    .map(|p| format!("{{{p}}}"))
                    .collect::<Vec<_>>()
                    .join(" ")
            ));
        }
        if name == "port" && !has_port {
            return Err(format!("{s:?}: {{port}} needs `port` in [db]"));
        }
        rest = &after[close + 1..];
    }
    Ok(())
}

fn program_exists(program: &str, folder: &Path) -> bool {
    if program.contains('/') {
        return folder.join(program).is_file();
    }
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(program).is_file()))
}

impl GenericDb {
    fn dir(&self, node: &Node) -> String {
        format!("{}/{}", node.workdir, self.name)
    }

    fn daemon(&self, node: &Node) -> Daemon {
        Daemon::new(self.dir(node), "store")
    }

    /// One argument with its placeholders replaced for `node` of `nodes`.
    pub fn render(&self, arg: &str, node: &Node, nodes: &[Node]) -> String {
        let port = self.port.map(|p| p.to_string()).unwrap_or_default();
        let simple = |s: &str, n: &Node| {
            s.replace("{node}", &n.name)
                .replace("{host}", &n.host)
                .replace("{workdir}", &self.dir(n))
                .replace("{port}", &port)
        };
        let names: Vec<&str> = nodes.iter().map(|n| n.name.as_str()).collect();
        let peers: Vec<String> = nodes.iter().map(|n| simple(&self.peer, n)).collect();
        simple(arg, node)
            .replace("{nodes}", &names.join(","))
            .replace("{peers}", &peers.join(","))
    }

    fn argv(&self, argv: &[String], node: &Node, nodes: &[Node]) -> Vec<String> {
        argv.iter().map(|a| self.render(a, node, nodes)).collect()
    }

    /// Runs one of the file's commands on the node, in `{workdir}`, rendered with every node of
    /// the test (known from setup on; before it, the node alone).
    async fn run(
        &self,
        node: &dyn Remote,
        argv: &[String],
    ) -> Result<control::Output, RemoteError> {
        let n = node.node();
        let alone = [n.clone()];
        let nodes = self.nodes.get().map_or(&alone[..], Vec::as_slice);
        let line = self.argv(argv, n, nodes);
        let dir = self.dir(n);
        let cmd = Cmd::script(format!(
            "cd {} && {}",
            control::shell::quote(&dir),
            line.iter()
                .map(|a| control::shell::quote(a).into_owned())
                .collect::<Vec<_>>()
                .join(" ")
        ))
        .timeout(std::time::Duration::from_secs(600));
        node.exec(&cmd).await
    }

    async fn must(
        &self,
        node: &dyn Remote,
        argv: &[String],
        field: &str,
    ) -> Result<(), RemoteError> {
        let out = self.run(node, argv).await?;
        if out.success() {
            Ok(())
        } else {
            Err(RemoteError::Failed {
                node: node.node().name.clone(),
                cmd: format!("db.{field}: {}", argv.join(" ")),
                output: Box::new(out),
            })
        }
    }

    /// A signal to the process group rift started.
    async fn signal_group(&self, node: &dyn Remote, signal: &str) -> Result<(), RemoteError> {
        let pid = self.daemon(node.node()).pid_file();
        node.run(&Cmd::script(format!(
            "p=$(cat {pid} 2>/dev/null) || exit 0; kill -{signal} \"-$p\" 2>/dev/null || kill -{signal} \"$p\" 2>/dev/null; true",
            pid = control::shell::quote(&pid)
        )))
        .await
        .map(|_| ())
    }

    async fn kill_group(&self, node: &dyn Remote) -> Result<(), RemoteError> {
        self.signal_group(node, "CONT").await?;
        self.signal_group(node, "KILL").await?;
        self.daemon(node.node()).kill(node).await
    }
}

impl Db for GenericDb {
    fn name(&self) -> &'static str {
        self.static_name
    }

    fn setup<'a>(
        &'a self,
        node: &'a dyn Remote,
        nodes: &'a [Node],
    ) -> BoxFuture<'a, Result<(), RemoteError>> {
        Box::pin(async move {
            let _ = self.nodes.set(nodes.to_vec());
            let dir = self.dir(node.node());
            node.run(&Cmd::new("mkdir").args(["-p", &dir])).await?;
            for f in &self.upload {
                let name = f
                    .file_name()
                    .map_or_else(|| "file".into(), |n| n.to_string_lossy().into_owned());
                node.upload(f, &format!("{dir}/{name}")).await?;
            }
            if let Some(install) = &self.install {
                self.must(node, install, "install").await?;
            }
            self.start(node, nodes).await
        })
    }

    fn teardown<'a>(&'a self, node: &'a dyn Remote) -> BoxFuture<'a, Result<(), RemoteError>> {
        Box::pin(async move {
            if let Some(stop) = &self.stop {
                self.must(node, stop, "stop").await?;
            }
            self.kill_group(node).await?;
            if let Some(t) = &self.teardown {
                self.must(node, t, "teardown").await?;
            }
            Ok(())
        })
    }

    fn start<'a>(
        &'a self,
        node: &'a dyn Remote,
        nodes: &'a [Node],
    ) -> BoxFuture<'a, Result<(), RemoteError>> {
        Box::pin(async move {
            let n = node.node();
            // setsid: the store gets a process group of its own, which kill and pause signal.
            let mut argv = vec!["setsid".to_owned()];
            argv.extend(self.argv(&self.start, n, nodes));
            self.daemon(n)
                .start(node, &argv, &self.env.for_node(n))
                .await
        })
    }

    fn kill<'a>(&'a self, node: &'a dyn Remote) -> BoxFuture<'a, Result<(), RemoteError>> {
        Box::pin(async move {
            match &self.kill {
                Some(k) => self.must(node, k, "kill").await,
                None => self.kill_group(node).await,
            }
        })
    }

    fn pause<'a>(&'a self, node: &'a dyn Remote) -> BoxFuture<'a, Result<(), RemoteError>> {
        Box::pin(async move {
            match &self.pause {
                Some(p) => self.must(node, p, "pause").await,
                None => self.signal_group(node, "STOP").await,
            }
        })
    }

    fn resume<'a>(&'a self, node: &'a dyn Remote) -> BoxFuture<'a, Result<(), RemoteError>> {
        Box::pin(async move {
            match &self.resume {
                Some(r) => self.must(node, r, "resume").await,
                None => self.signal_group(node, "CONT").await,
            }
        })
    }

    fn ready<'a>(&'a self, node: &'a dyn Remote) -> BoxFuture<'a, Result<bool, RemoteError>> {
        Box::pin(async move {
            let out = self.run(node, &self.ready).await?;
            if out.success() {
                return Ok(true);
            }
            let d = self.daemon(node.node());
            if d.alive(node).await? {
                Ok(false)
            } else {
                Err(d.exited(node).await)
            }
        })
    }

    fn log_files(&self, node: &Node) -> Vec<String> {
        self.logs
            .iter()
            .map(|l| self.render(l, node, std::slice::from_ref(node)))
            .collect()
    }

    fn pid_files(&self, node: &Node) -> Vec<String> {
        vec![self.daemon(node).pid_file()]
    }

    /// The `primaries` command, run on the controller in the store file's folder: the node
    /// names it prints.
    fn primaries<'a>(&'a self, nodes: &'a [Node]) -> BoxFuture<'a, Result<Vec<String>, String>> {
        Box::pin(async move {
            let (Some(argv), Some(first)) = (&self.primaries, nodes.first()) else {
                return Err(format!("{} has no primaries command", self.name));
            };
            let argv = self.argv(argv, first, nodes);
            let out = tokio::process::Command::new(&argv[0])
                .args(&argv[1..])
                .current_dir(&self.folder)
                .output()
                .await
                .map_err(|e| format!("db.primaries: {}: {e}", argv[0]))?;
            if !out.status.success() {
                return Err(format!("db.primaries: {} ({})", argv.join(" "), out.status));
            }
            let names: Vec<String> = String::from_utf8_lossy(&out.stdout)
                .split_whitespace()
                .filter(|n| nodes.iter().any(|node| node.name == *n))
                .map(String::from)
                .collect();
            Ok(names)
        })
    }
}

impl crate::Store for StoreFile {
    fn name(&self) -> &str {
        &self.name
    }
    fn about(&self) -> &str {
        &self.about
    }
    fn workloads(&self) -> &[&'static str] {
        &self.workloads
    }
    fn has_primaries(&self) -> bool {
        self.db.primaries.is_some()
    }
    fn check_flags(&self, flags: &[String]) -> Result<(), String> {
        if flags.is_empty() {
            Ok(())
        } else {
            Err(format!(
                "a store file takes no --db-flag; put settings in {}",
                self.path.display()
            ))
        }
    }
    fn claims(&self, _workload: &str, _flags: &[String]) -> Option<Vec<String>> {
        self.claims.clone()
    }
    fn open(&self, config: &crate::StoreConfig) -> Result<crate::Opened, String> {
        let mut db = self.db.clone();
        db.env = config.env.clone();
        let mut spec = self.client.clone();
        spec.workload = config.workload.clone();
        let clients: Arc<dyn workloads::Clients> = Arc::new(StdioClients {
            spec: Arc::new(spec),
        });
        crate::Opened::standard(db, &config.workload, Default::default(), Some(clients))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"name = "gun"
[db]
start = ["node", "{workdir}/server.js", "--port", "{port}", "--peers", "{peers}"]
ready = ["curl", "-sf", "http://{host}:{port}/health"]
port = 8765
peer = "http://{host}:{port}/gun"
[client]
command = ["sh", "client.sh"]
workloads = ["register", "set"]
options = { keys = 3 }
"#;

    fn parse(text: &str) -> Result<StoreFile, StoreFileError> {
        StoreFile::parse(Path::new("/tmp/x/store.toml"), text)
    }

    #[test]
    fn a_good_file_renders_its_commands_for_each_node() {
        let f = parse(GOOD).unwrap();
        assert_eq!(f.workloads, ["register", "set"]);
        assert_eq!(f.client.options["keys"], 3);
        let node = |i: u8| Node {
            name: format!("n{i}"),
            host: format!("10.0.0.{i}"),
            port: 22,
            user: "root".into(),
            workdir: format!("/w{i}"),
            sudo_password: None,
        };
        let nodes = [node(1), node(2)];
        let argv = f.db.argv(&f.db.start, &nodes[1], &nodes);
        assert_eq!(
            argv,
            [
                "node",
                "/w2/gun/server.js",
                "--port",
                "8765",
                "--peers",
                "http://10.0.0.1:8765/gun,http://10.0.0.2:8765/gun"
            ]
        );
        assert_eq!(f.db.log_files(&nodes[0]), ["/w1/gun/store.log"]);
        assert_eq!(crate::Store::claims(&f, "set", &[]), None);
        let claimed =
            parse(&GOOD.replace("name = \"gun\"", "name = \"gun\"\nclaims = [\"causal\"]"));
        let claimed = claimed.unwrap();
        assert_eq!(
            crate::Store::claims(&claimed, "set", &[]),
            Some(vec!["causal".to_owned()])
        );
    }

    #[test]
    fn errors_name_the_file_the_line_and_the_field() {
        let cases = [
            (
                GOOD.replace("{peers}\"]", "{peer}\"]"),
                3,
                "db.start",
                "unknown placeholder {peer}",
            ),
            (
                GOOD.replace("port = 8765\n", ""),
                5,
                "db.peer",
                "{port} needs `port`",
            ),
            (
                GOOD.replace("name = \"gun\"", "name = \"Gun!\""),
                1,
                "name",
                "lowercase",
            ),
            (
                GOOD.replace("\"register\", \"set\"", "\"bank\""),
                9,
                "client.workloads",
                "\"bank\" is not a workload",
            ),
            (
                GOOD.replace("[\"sh\", \"client.sh\"]", "[\"no-such-program-here\"]"),
                8,
                "client.command",
                "not found",
            ),
            (
                GOOD.replace(
                    "ready = [\"curl\", \"-sf\", \"http://{host}:{port}/health\"]\n",
                    "",
                ),
                2,
                "ready",
                "missing field `ready`",
            ),
            (GOOD.replace("port = 8765", "port = 87650"), 5, "toml", ""),
            (
                GOOD.replace("[client]", "colour = 1\n[client]"),
                7,
                "toml",
                "unknown field `colour`",
            ),
            (
                GOOD.replace(
                    "name = \"gun\"",
                    "name = \"gun\"\nclaims = [\"eventual\", \"acid\"]",
                ),
                2,
                "claims",
                "unknown model \"acid\"",
            ),
            (
                GOOD.replace("start = [", "upload = [\"missing.js\"]\nstart = ["),
                3,
                "db.upload",
                "missing.js: no such file",
            ),
        ];
        for (text, line, field, says) in cases {
            let e = parse(&text).expect_err(field);
            assert_eq!((e.line, e.field.as_str()), (line, field), "{e}");
            assert!(e.message.contains(says), "{e}");
            assert!(
                e.to_string()
                    .starts_with(&format!("/tmp/x/store.toml:{line}: {field}: ")),
                "{e}"
            );
        }
    }
}
