//! `rift cluster` and `rift exec` as a user runs them (root; skipped elsewhere, never in CI).

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use std::path::Path;
use std::process::{Command, Output};

fn rift(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rift"))
        .args(args)
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn can_run() -> bool {
    let root = nix_root();
    if !root {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "cluster CLI tests must run in CI, as root"
        );
        eprintln!("SKIPPED: needs root (network namespaces)");
    }
    root
}

fn nix_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout == b"0\n")
}

#[test]
fn up_status_exec_down_as_a_user_runs_them() {
    if !can_run() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("cluster");
    let state = state.to_str().unwrap();
    let place = ["--state-dir", state];
    let up = |extra: &[&str]| {
        let mut args = vec![
            "cluster",
            "up",
            "--nodes",
            "2",
            "--name",
            "rc8",
            "--subnet",
            "10.201.8.0/24",
        ];
        args.extend(place);
        args.extend(extra);
        rift(&args)
    };

    // Not root: a clear refusal before anything is touched.
    let out = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            env!("CARGO_BIN_EXE_rift"),
        ])
        .args([
            "cluster",
            "up",
            "--nodes",
            "2",
            "--name",
            "rc8",
            "--state-dir",
            state,
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(254), "{}", text(&out));
    assert!(text(&out).contains("needs root"), "{}", text(&out));

    let out = up(&[]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains("local cluster rc8 is up: 2 nodes"),
        "{}",
        text(&out)
    );
    let again = up(&[]);
    assert_eq!(again.status.code(), Some(254));
    assert!(
        text(&again).contains("already up (2 nodes"),
        "{}",
        text(&again)
    );

    let status = rift(&["cluster", "status", "--state-dir", state]);
    assert_eq!(status.status.code(), Some(0), "{}", text(&status));
    assert!(
        text(&status).matches("answers (").count() == 2,
        "{}",
        text(&status)
    );

    let exec = rift(&[
        "exec",
        "--local",
        "--cluster-state-dir",
        state,
        "--",
        "sh",
        "-c",
        "echo \"$0 on $(hostname -I)\"",
        "it's",
    ]);
    assert_eq!(exec.status.code(), Some(0), "{}", text(&exec));
    assert!(text(&exec).contains("── n2: exit 0"), "{}", text(&exec));
    assert!(
        text(&exec).contains("it's on 10.201.8.12"),
        "{}",
        text(&exec)
    );
    let failing = rift(&[
        "exec",
        "--local",
        "--cluster-state-dir",
        state,
        "--",
        "false",
    ]);
    assert_eq!(failing.status.code(), Some(1), "{}", text(&failing));
    assert!(
        text(&failing).contains("── n1: exit 1"),
        "{}",
        text(&failing)
    );

    let down = rift(&["cluster", "down", "--state-dir", state]);
    assert_eq!(down.status.code(), Some(0), "{}", text(&down));
    assert!(
        text(&down).contains("2 namespaces removed"),
        "{}",
        text(&down)
    );
    let down = rift(&["cluster", "down", "--state-dir", state]);
    assert_eq!(down.status.code(), Some(0));
    assert!(
        text(&down).contains("no local cluster is up"),
        "{}",
        text(&down)
    );
    assert!(!Path::new(state).exists());

    let no_cluster = rift(&[
        "exec",
        "--local",
        "--cluster-state-dir",
        state,
        "--",
        "true",
    ]);
    assert_eq!(no_cluster.status.code(), Some(254));
    assert!(
        text(&no_cluster).contains("no local cluster is up"),
        "{}",
        text(&no_cluster)
    );
}

#[test]
fn exec_errors_name_the_node_or_the_flag() {
    let dir = tempfile::tempdir().unwrap();
    let nodes = dir.path().join("nodes.toml");
    std::fs::write(&nodes, "[[nodes]]\nhost = \"db1:70000\"\n").unwrap();
    let out = rift(&[
        "exec",
        "--nodes-file",
        nodes.to_str().unwrap(),
        "--",
        "true",
    ]);
    assert_eq!(out.status.code(), Some(254));
    assert!(
        text(&out).contains("nodes.toml: nodes[0]: port \"70000\""),
        "{}",
        text(&out)
    );
    let out = rift(&["exec", "--", "true"]);
    assert_eq!(out.status.code(), Some(254));
    assert!(text(&out).contains("say which nodes"), "{}", text(&out));
    // Nothing listens on this loopback port: the node is named in the error.
    let key = dir.path().join("id");
    Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&key)
        .status()
        .unwrap();
    let out = rift(&[
        "exec",
        "--nodes",
        "127.0.0.1:1",
        "--ssh-private-key",
        key.to_str().unwrap(),
        "--",
        "true",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("127.0.0.1-1 (127.0.0.1:1): cannot connect"),
        "{}",
        text(&out)
    );
}
