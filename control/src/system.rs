//! Running programs on the controller itself (for the local cluster): clear errors, and
//! installing missing Debian packages.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

#[derive(Debug, thiserror::Error)]
#[error("`{command}` failed: {message}")]
pub struct CommandFailed {
    pub command: String,
    pub message: String,
}

fn shown(program: &str, args: &[&str]) -> String {
    std::iter::once(program)
        .chain(args.iter().copied())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Runs a program and returns its stdout; a non-zero exit is an error carrying its stderr.
pub fn run(program: &str, args: &[&str]) -> Result<String, CommandFailed> {
    run_with_input(program, args, None)
}

pub fn run_with_input(
    program: &str,
    args: &[&str],
    input: Option<&str>,
) -> Result<String, CommandFailed> {
    let command = shown(program, args);
    let mut child = Command::new(program)
        .args(args)
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| CommandFailed {
            command: command.clone(),
            message: e.to_string(),
        })?;
    if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
        stdin
            .write_all(text.as_bytes())
            .map_err(|e| CommandFailed {
                command: command.clone(),
                message: e.to_string(),
            })?;
    }
    let out = child.wait_with_output().map_err(|e| CommandFailed {
        command: command.clone(),
        message: e.to_string(),
    })?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        let stderr = String::from_utf8_lossy(&out.stderr).trim().to_owned();
        Err(CommandFailed {
            command,
            message: if stderr.is_empty() {
                out.status.to_string()
            } else {
                stderr
            },
        })
    }
}

pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

fn installed(package: &str) -> bool {
    Command::new("dpkg-query")
        .args(["-W", "-f=${Status}", package])
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
}

/// Installs the Debian packages that are missing, saying so on stderr. Returns those installed.
pub fn ensure_packages(packages: &[&str]) -> Result<Vec<String>, CommandFailed> {
    let missing: Vec<&str> = packages.iter().copied().filter(|p| !installed(p)).collect();
    if missing.is_empty() {
        return Ok(Vec::new());
    }
    if !Path::new("/usr/bin/apt-get").exists() {
        return Err(CommandFailed {
            command: "apt-get".into(),
            message: format!(
                "missing packages {} and no apt-get to install them",
                missing.join(" ")
            ),
        });
    }
    eprintln!(
        "rift: installing missing Debian packages: {}",
        missing.join(" ")
    );
    let apt = |args: &[&str]| {
        let status = Command::new("apt-get")
            .args(args)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .status();
        match status {
            Ok(s) if s.success() => Ok(()),
            Ok(s) => Err(CommandFailed {
                command: shown("apt-get", args),
                message: s.to_string(),
            }),
            Err(e) => Err(CommandFailed {
                command: shown("apt-get", args),
                message: e.to_string(),
            }),
        }
    };
    apt(&["update", "-qq"])?;
    let mut args = vec!["install", "-y", "-qq", "--no-install-recommends"];
    args.extend(&missing);
    apt(&args)?;
    Ok(missing.into_iter().map(String::from).collect())
}
