//! `rift cluster up | status | down`.

use crate::cli::ClusterCommand;
use crate::exit::{Exit, usage};
use anyhow::Result;
use control::cluster::{self, ClusterError, ClusterSpec, StateDir};
use control::{Cmd, Remote};
use std::time::Instant;
use tabled::builder::Builder;
use tabled::settings::Style;

pub fn run(command: ClusterCommand) -> Result<Exit> {
    match command {
        ClusterCommand::Up {
            nodes,
            place,
            name,
            subnet,
        } => {
            let spec = ClusterSpec {
                name,
                nodes,
                subnet,
                state_dir: place.state_dir,
            };
            let started = Instant::now();
            let state = cluster::up(&spec).map_err(user_or_internal)?;
            let dir = StateDir(spec.state_dir.clone());
            crate::say!(
                "local cluster {} is up: {} nodes on {} in {:.1} s",
                state.name,
                state.nodes.len(),
                state.subnet,
                started.elapsed().as_secs_f64()
            );
            crate::say!("nodes file: {}", dir.nodes_file().display());
            crate::say!("try:        rift exec --local -- hostname -I");
            Ok(Exit::Valid)
        }
        ClusterCommand::Status { place } => status(&place.state_dir),
        ClusterCommand::Down { place } => {
            let report = cluster::down(&place.state_dir).map_err(user_or_internal)?;
            if !report.was_up {
                crate::say!(
                    "no local cluster is up (nothing in {})",
                    place.state_dir.display()
                );
                return Ok(Exit::Valid);
            }
            crate::say!(
                "local cluster down: {} namespaces removed, {} processes killed",
                report.namespaces_removed,
                report.processes_killed
            );
            for e in &report.errors {
                eprintln!("rift: error: {e}");
            }
            Ok(if report.errors.is_empty() {
                Exit::Valid
            } else {
                Exit::Internal
            })
        }
    }
}

/// Not being root, a bad spec, or a cluster in the way are the user's to fix.
fn user_or_internal(e: ClusterError) -> anyhow::Error {
    match e {
        ClusterError::NotRoot
        | ClusterError::AlreadyUp { .. }
        | ClusterError::Spec(_)
        | ClusterError::Conflict(_) => usage(e.to_string()),
        other => other.into(),
    }
}

fn status(state_dir: &std::path::Path) -> Result<Exit> {
    let Some((state, health)) = cluster::status(state_dir)? else {
        crate::say!(
            "no local cluster is up (nothing in {})",
            state_dir.display()
        );
        return Ok(Exit::Unknown);
    };
    let dir = StateDir(state_dir.to_path_buf());
    let inventory =
        control::nodes::load_nodes_file(&dir.nodes_file(), &control::nodes::Defaults::standard())
            .map_err(|e| usage(e.to_string()))?;
    let remotes = control::connect_all(&inventory)?;
    let runtime = tokio::runtime::Runtime::new()?;
    let answers = runtime.block_on(control::on_each(&remotes, |r| async move {
        let start = Instant::now();
        r.run(&Cmd::new("true").timeout(std::time::Duration::from_secs(5)))
            .await?;
        Ok(start.elapsed())
    }));
    let mut table = Builder::default();
    table.push_record(["node", "address", "namespace", "sshd pid", "ssh"]);
    let mut all_ok = true;
    for (h, (_, answer)) in health.iter().zip(&answers) {
        let ssh = match answer {
            Ok(took) => format!("answers ({} ms)", took.as_millis()),
            Err(e) => {
                all_ok = false;
                format!("no: {e}")
            }
        };
        all_ok &= h.namespace_exists && h.sshd_pid.is_some();
        table.push_record([
            h.node.name.clone(),
            h.node.ip.to_string(),
            format!(
                "{}{}",
                h.node.namespace,
                if h.namespace_exists { "" } else { " (missing)" }
            ),
            h.sshd_pid
                .map_or_else(|| "not running".into(), |p| p.to_string()),
            ssh,
        ]);
    }
    crate::say!(
        "local cluster {} on {} (bridge {}, controller {})",
        state.name,
        state.subnet,
        state.bridge,
        state.controller_ip
    );
    crate::say!("{}", table.build().with(Style::rounded()));
    Ok(if all_ok { Exit::Valid } else { Exit::Invalid })
}
