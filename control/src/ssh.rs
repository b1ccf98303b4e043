//! [`Remote`] over SSH (russh), with pooled connections and checked host keys.
//!
//! Each node keeps a small pool of authenticated connections; a command takes a channel on one
//! of them (sshd allows ten sessions per connection, rift uses at most [`CHANNELS_PER_CONNECTION`])
//! and a new connection is opened only when every channel is busy. A connection found dead is
//! dropped and replaced on the next command: a node whose sshd restarts is reached again
//! without anyone noticing. A command is never re-sent once it may have started, since running
//! it twice could be wrong; only connecting and opening a channel are retried.
//!
//! Host keys are checked against a known_hosts file: a key that changed is always refused, an
//! unknown key is refused unless trust-on-first-use was asked for (then it is recorded).

use crate::nodes::{HostKeyPolicy, Node, SshSettings};
use crate::remote::{BoxFuture, Output, Remote, RemoteError};
use crate::shell::{Cmd, quote};
use russh::client::{self, Handle, Msg};
use russh::keys::known_hosts::learn_known_hosts_path;
use russh::keys::{
    PrivateKey, PrivateKeyWithHashAlg, PublicKeyOrCertificate, check_known_hosts_path,
};
use russh::{Channel, ChannelMsg, Sig};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex as StdMutex};
use std::time::Duration;
use tokio::io::AsyncRead;
use tokio::sync::{Mutex, OwnedSemaphorePermit, Semaphore};

pub const CHANNELS_PER_CONNECTION: usize = 8;
pub const CONNECTIONS_PER_NODE: usize = 4;

/// What every connection shares: settings, the loaded key, russh's configuration.
#[derive(Debug)]
pub struct SshContext {
    settings: SshSettings,
    key: Arc<PrivateKey>,
    config: Arc<client::Config>,
    pub connect_timeout: Duration,
    /// For commands that set no time limit of their own.
    pub command_timeout: Duration,
}

impl SshContext {
    pub fn new(settings: SshSettings) -> Result<Arc<SshContext>, RemoteError> {
        let key = russh::keys::load_secret_key(&settings.private_key, None).map_err(|e| {
            RemoteError::Key {
                node: "ssh".into(),
                path: settings.private_key.clone(),
                message: e.to_string(),
            }
        })?;
        let config = client::Config {
            inactivity_timeout: None,
            keepalive_interval: Some(Duration::from_secs(10)),
            keepalive_max: 3,
            nodelay: true,
            ..Default::default()
        };
        Ok(Arc::new(SshContext {
            settings,
            key: Arc::new(key),
            config: Arc::new(config),
            connect_timeout: Duration::from_secs(10),
            command_timeout: Duration::from_secs(600),
        }))
    }
}

/// A node reached over SSH.
#[derive(Debug)]
pub struct SshNode {
    node: Node,
    ctx: Arc<SshContext>,
    pool: Mutex<Vec<Arc<Connection>>>,
}

struct Connection {
    handle: Handle<HostKeyCheck>,
    channels: Arc<Semaphore>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("closed", &self.handle.is_closed())
            .finish()
    }
}

/// Checks the server's key during the handshake; what it refused, and why, is left in `refusal`.
struct HostKeyCheck {
    host: String,
    port: u16,
    known_hosts: PathBuf,
    policy: HostKeyPolicy,
    refusal: Arc<StdMutex<Option<String>>>,
}

impl HostKeyCheck {
    fn judge(&self, key: &russh::keys::PublicKey) -> Result<(), String> {
        let shown = || key.fingerprint(Default::default()).to_string();
        match check_known_hosts_path(&self.host, self.port, key, &self.known_hosts) {
            Ok(true) => Ok(()),
            Ok(false) if self.policy == HostKeyPolicy::AcceptNew => {
                learn_known_hosts_path(&self.host, self.port, key, &self.known_hosts)
                    .map_err(|e| format!("cannot record its host key: {e}"))
            }
            Ok(false) => Err(format!(
                "host key {} is not in {}: refusing to connect (add it, or trust new keys on first use)",
                shown(),
                self.known_hosts.display()
            )),
            Err(russh::keys::Error::KeyChanged { line }) => Err(format!(
                "host key has CHANGED (now {}; {} line {line} has another): refusing to connect. \
                 If the node was rebuilt, remove that line",
                shown(),
                self.known_hosts.display()
            )),
            Err(e) => Err(format!("cannot check {}: {e}", self.known_hosts.display())),
        }
    }
}

impl client::Handler for HostKeyCheck {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        server_key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let verdict = match server_key {
            PublicKeyOrCertificate::PublicKey { key, .. } => self.judge(key),
            PublicKeyOrCertificate::Certificate(_) => {
                Err("the server offered a certificate; rift checks plain host keys only".into())
            }
        };
        match verdict {
            Ok(()) => Ok(true),
            Err(why) => {
                *self.refusal.lock().unwrap_or_else(|p| p.into_inner()) = Some(why);
                Ok(false)
            }
        }
    }
}

/// Where a command's stdin comes from.
enum Input<'a> {
    Bytes(Vec<u8>),
    Reader(&'a mut (dyn AsyncRead + Unpin + Send)),
}

impl SshNode {
    pub fn new(node: Node, ctx: Arc<SshContext>) -> SshNode {
        SshNode {
            node,
            ctx,
            pool: Mutex::new(Vec::new()),
        }
    }

    fn connect_error(&self, message: impl Into<String>) -> RemoteError {
        RemoteError::Connect {
            node: self.node.name.clone(),
            address: self.node.address(),
            message: message.into(),
        }
    }

    fn ssh_error(&self, e: impl std::fmt::Display) -> RemoteError {
        RemoteError::Ssh {
            node: self.node.name.clone(),
            message: e.to_string(),
        }
    }

    async fn connect(&self) -> Result<Connection, RemoteError> {
        let refusal = Arc::new(StdMutex::new(None));
        let check = HostKeyCheck {
            host: self.node.host.clone(),
            port: self.node.port,
            known_hosts: self.ctx.settings.known_hosts.clone(),
            policy: self.ctx.settings.host_keys,
            refusal: refusal.clone(),
        };
        let address = (self.node.host.as_str(), self.node.port);
        let connecting = client::connect(self.ctx.config.clone(), address, check);
        let mut handle = match tokio::time::timeout(self.ctx.connect_timeout, connecting).await {
            Err(_) => {
                return Err(
                    self.connect_error(format!("no answer within {:?}", self.ctx.connect_timeout))
                );
            }
            Ok(Err(e)) => {
                let refused = refusal.lock().unwrap_or_else(|p| p.into_inner()).take();
                return Err(match refused {
                    Some(message) => RemoteError::HostKey {
                        node: self.node.name.clone(),
                        address: self.node.address(),
                        message,
                    },
                    None => self.connect_error(e.to_string()),
                });
            }
            Ok(Ok(handle)) => handle,
        };
        let hash = handle
            .best_supported_rsa_hash()
            .await
            .ok()
            .flatten()
            .flatten();
        let key = PrivateKeyWithHashAlg::new(self.ctx.key.clone(), hash);
        let auth = handle
            .authenticate_publickey(self.node.user.clone(), key)
            .await
            .map_err(|e| self.ssh_error(e))?;
        if !auth.success() {
            return Err(RemoteError::Auth {
                node: self.node.name.clone(),
                user: self.node.user.clone(),
                key: self.ctx.settings.private_key.clone(),
            });
        }
        Ok(Connection {
            handle,
            channels: Arc::new(Semaphore::new(CHANNELS_PER_CONNECTION)),
        })
    }

    /// Connects, retrying briefly when nothing answers (a node or its sshd restarting); never
    /// retries a refused host key or a failed authentication.
    async fn connect_retrying(&self) -> Result<Connection, RemoteError> {
        let mut delay = Duration::from_millis(50);
        let mut attempts = 0;
        loop {
            match self.connect().await {
                Err(RemoteError::Connect { .. }) if attempts < 3 => {
                    attempts += 1;
                    tokio::time::sleep(delay).await;
                    delay *= 3;
                }
                other => return other,
            }
        }
    }

    /// A live connection with a free channel, opening one when all are busy.
    async fn checkout(&self) -> Result<(Arc<Connection>, OwnedSemaphorePermit), RemoteError> {
        let busy = {
            let mut pool = self.pool.lock().await;
            pool.retain(|c| !c.handle.is_closed());
            for c in pool.iter() {
                if let Ok(permit) = c.channels.clone().try_acquire_owned() {
                    return Ok((c.clone(), permit));
                }
            }
            if pool.is_empty() || pool.len() < CONNECTIONS_PER_NODE {
                let conn = Arc::new(self.connect_retrying().await?);
                let permit = conn
                    .channels
                    .clone()
                    .try_acquire_owned()
                    .map_err(|e| self.ssh_error(e))?;
                pool.push(conn.clone());
                return Ok((conn, permit));
            }
            pool[0].clone()
        };
        let permit = busy
            .channels
            .clone()
            .acquire_owned()
            .await
            .map_err(|e| self.ssh_error(e))?;
        Ok((busy, permit))
    }

    async fn discard(&self, dead: &Arc<Connection>) {
        self.pool.lock().await.retain(|c| !Arc::ptr_eq(c, dead));
    }

    /// A session channel; a connection that cannot open one is replaced once.
    async fn open_channel(&self) -> Result<(Channel<Msg>, OwnedSemaphorePermit), RemoteError> {
        let mut last = None;
        for _ in 0..2 {
            let (conn, permit) = self.checkout().await?;
            match conn.handle.channel_open_session().await {
                Ok(channel) => return Ok((channel, permit)),
                Err(e) => {
                    self.discard(&conn).await;
                    last = Some(e);
                }
            }
        }
        Err(self.ssh_error(format!(
            "cannot open a session: {}",
            last.map_or_else(String::new, |e| e.to_string())
        )))
    }

    /// Runs a command line on a fresh channel, feeding stdin and sending stdout to `sink`.
    async fn run_line(
        &self,
        line: String,
        shown: String,
        input: Option<Input<'_>>,
        limit: Duration,
        sink: &mut (dyn Write + Send),
    ) -> Result<Output, RemoteError> {
        let (mut channel, _permit) = self.open_channel().await?;
        let node = self.node.name.clone();
        let lost = || RemoteError::Lost {
            node: node.clone(),
            cmd: shown.clone(),
        };
        let io = |e: std::io::Error| RemoteError::LocalIo {
            node: node.clone(),
            path: PathBuf::from("<output>"),
            source: e,
        };
        let work = async {
            channel.exec(true, line).await.map_err(|_| lost())?;
            match input {
                Some(Input::Bytes(bytes)) => channel.data(&bytes[..]).await.map_err(|_| lost())?,
                Some(Input::Reader(reader)) => channel.data(reader).await.map_err(|_| lost())?,
                None => {}
            }
            channel.eof().await.map_err(|_| lost())?;
            let mut output = Output::default();
            while let Some(msg) = channel.wait().await {
                match msg {
                    ChannelMsg::Data { data } => sink.write_all(&data).map_err(io)?,
                    ChannelMsg::ExtendedData { data, ext: 1 } => {
                        output.stderr.extend_from_slice(&data)
                    }
                    ChannelMsg::ExitStatus { exit_status } => output.status = Some(exit_status),
                    ChannelMsg::ExitSignal { signal_name, .. } => {
                        output.signal = Some(signal_name_of(&signal_name))
                    }
                    ChannelMsg::Close => break,
                    _ => {}
                }
            }
            if output.status.is_none() && output.signal.is_none() {
                return Err(lost());
            }
            Ok(output)
        };
        match tokio::time::timeout(limit, work).await {
            Ok(result) => result,
            Err(_) => {
                // Best effort: OpenSSH honours signals on sessions since 7.9.
                let _ = channel.signal(Sig::KILL).await;
                let _ = channel.close().await;
                Err(RemoteError::Timeout {
                    node: node.clone(),
                    cmd: shown,
                    after: limit,
                })
            }
        }
    }

    /// The command line for this node's user (sudo reading a password when there is one).
    fn render(&self, cmd: &Cmd, sudo_password: bool) -> Result<String, RemoteError> {
        cmd.render(&self.node.user, sudo_password)
            .map_err(|e| RemoteError::Command {
                node: self.node.name.clone(),
                source: e,
            })
    }

    /// Errors of files on the controller's side of a copy, naming the node and the file.
    fn local_io<'a>(
        &'a self,
        path: &'a Path,
    ) -> impl Fn(std::io::Error) -> RemoteError + Copy + 'a {
        move |e| RemoteError::LocalIo {
            node: self.node.name.clone(),
            path: path.to_path_buf(),
            source: e,
        }
    }

    /// Closes every pooled connection.
    pub async fn close(&self) {
        let conns = std::mem::take(&mut *self.pool.lock().await);
        for c in conns {
            let _ = c
                .handle
                .disconnect(russh::Disconnect::ByApplication, "", "en")
                .await;
        }
    }
}

fn signal_name_of(sig: &Sig) -> String {
    let debug = format!("{sig:?}");
    debug
        .strip_prefix("Custom(\"")
        .and_then(|s| s.strip_suffix("\")"))
        .unwrap_or(&debug)
        .to_owned()
}

impl Remote for SshNode {
    fn node(&self) -> &Node {
        &self.node
    }

    fn exec<'a>(&'a self, cmd: &'a Cmd) -> BoxFuture<'a, Result<Output, RemoteError>> {
        Box::pin(self.exec_inner(cmd))
    }

    fn upload<'a>(
        &'a self,
        local: &'a Path,
        remote_path: &'a str,
    ) -> BoxFuture<'a, Result<u64, RemoteError>> {
        Box::pin(self.upload_inner(local, remote_path))
    }

    fn download<'a>(
        &'a self,
        remote_path: &'a str,
        local: &'a Path,
    ) -> BoxFuture<'a, Result<u64, RemoteError>> {
        Box::pin(self.download_inner(remote_path, local))
    }
}

impl SshNode {
    async fn exec_inner(&self, cmd: &Cmd) -> Result<Output, RemoteError> {
        let password = self
            .node
            .sudo_password
            .as_deref()
            .filter(|_| cmd.uses_sudo(&self.node.user));
        let line = self.render(cmd, password.is_some())?;
        let mut stdin: Vec<u8> = password
            .map(|p| format!("{p}\n").into_bytes())
            .unwrap_or_default();
        stdin.extend_from_slice(cmd.stdin_bytes().unwrap_or_default());
        let input = (!stdin.is_empty()).then_some(Input::Bytes(stdin));
        let limit = cmd.time_limit().unwrap_or(self.ctx.command_timeout);
        let mut stdout = Vec::new();
        let mut output = self
            .run_line(line, cmd.display(), input, limit, &mut stdout)
            .await?;
        output.stdout = stdout;
        Ok(output)
    }

    async fn upload_inner(&self, local: &Path, remote_path: &str) -> Result<u64, RemoteError> {
        let local_io = self.local_io(local);
        let mut file = tokio::fs::File::open(local).await.map_err(local_io)?;
        let size = file.metadata().await.map_err(local_io)?.len();
        // Written beside the target and renamed over it, so no reader sees half a file; the
        // size the node counted is checked against what was sent.
        let tmp = format!("{remote_path}.rift-upload");
        let parent = Path::new(remote_path)
            .parent()
            .and_then(Path::to_str)
            .filter(|p| !p.is_empty());
        let mkdir = parent.map_or_else(String::new, |p| format!("mkdir -p {} && ", quote(p)));
        let script = format!(
            "{mkdir}cat > {t} && wc -c < {t} && mv -f {t} {d}",
            t = quote(&tmp),
            d = quote(remote_path)
        );
        let cmd = Cmd::script(script);
        let line = self.render(&cmd, false)?;
        let limit = self.ctx.command_timeout;
        let mut stdout = Vec::new();
        let reader: &mut (dyn AsyncRead + Unpin + Send) = &mut file;
        let shown = format!("upload {} to {remote_path}", local.display());
        let mut output = self
            .run_line(
                line,
                shown.clone(),
                Some(Input::Reader(reader)),
                limit,
                &mut stdout,
            )
            .await?;
        output.stdout = stdout;
        if !output.success() {
            return Err(RemoteError::Failed {
                node: self.node.name.clone(),
                cmd: shown,
                output: Box::new(output),
            });
        }
        let written: u64 = output.stdout_text().trim().parse().unwrap_or(u64::MAX);
        if written != size {
            return Err(self.ssh_error(format!(
                "{shown}: sent {size} bytes but the node wrote {}",
                output.stdout_text().trim()
            )));
        }
        Ok(size)
    }

    async fn download_inner(&self, remote_path: &str, local: &Path) -> Result<u64, RemoteError> {
        let local_io = self.local_io(local);
        let tmp = local.with_extension("rift-download");
        let mut file = std::io::BufWriter::new(std::fs::File::create(&tmp).map_err(local_io)?);
        let cmd = Cmd::new("cat").arg(remote_path);
        let line = self.render(&cmd, false)?;
        let shown = format!("download {remote_path}");
        let output = self
            .run_line(
                line,
                shown.clone(),
                None,
                self.ctx.command_timeout,
                &mut file,
            )
            .await;
        let output = match output {
            Ok(o) if o.success() => o,
            Ok(o) => {
                let _ = std::fs::remove_file(&tmp);
                return Err(RemoteError::Failed {
                    node: self.node.name.clone(),
                    cmd: shown,
                    output: Box::new(o),
                });
            }
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                return Err(e);
            }
        };
        drop(output);
        let file = file.into_inner().map_err(|e| local_io(e.into_error()))?;
        file.sync_all().map_err(local_io)?;
        let size = file.metadata().map_err(local_io)?.len();
        std::fs::rename(&tmp, local).map_err(local_io)?;
        Ok(size)
    }
}
