use crate::common::TestCluster;
use control::nodes::HostKeyPolicy;
use control::{Cmd, Remote, SshContext, SshNode};
use std::sync::Arc;

fn node_with(c: &TestCluster, known_hosts: &std::path::Path, policy: HostKeyPolicy) -> SshNode {
    let mut ssh = c.inventory.ssh.clone();
    ssh.known_hosts = known_hosts.to_path_buf();
    ssh.host_keys = policy;
    SshNode::new(c.inventory.nodes[0].clone(), SshContext::new(ssh).unwrap())
}

#[test]
fn a_changed_host_key_is_refused_and_an_unknown_one_only_when_asked() {
    let Some(c) = TestCluster::up(3, 1) else {
        return;
    };
    let ip = c.state.nodes[0].ip;

    // Another key on record for this address: the node's real key is a change.
    let other = c.dir.path().join("other_key");
    let status = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&other)
        .status()
        .unwrap();
    assert!(status.success());
    let other_pub = std::fs::read_to_string(other.with_extension("pub")).unwrap();
    let changed = c.dir.path().join("changed_known_hosts");
    std::fs::write(&changed, format!("{ip} {other_pub}")).unwrap();
    let e =
        c.rt.block_on(node_with(&c, &changed, HostKeyPolicy::AcceptNew).exec(&Cmd::new("true")))
            .unwrap_err();
    let e = e.to_string();
    assert!(
        e.contains("host key has CHANGED") && e.contains("line 1"),
        "{e}"
    );

    // Unknown key, strict: refused.
    let empty = c.dir.path().join("empty_known_hosts");
    std::fs::write(&empty, "").unwrap();
    let e =
        c.rt.block_on(node_with(&c, &empty, HostKeyPolicy::Strict).exec(&Cmd::new("true")))
            .unwrap_err();
    assert!(e.to_string().contains("is not in"), "{e}");

    // Trust on first use records the key; after that, strict checking accepts it.
    let tofu = Arc::new(node_with(&c, &empty, HostKeyPolicy::AcceptNew));
    c.rt.block_on(tofu.run(&Cmd::new("true"))).unwrap();
    let recorded = std::fs::read_to_string(&empty).unwrap();
    assert!(
        recorded
            .trim_start()
            .starts_with(&format!("{ip} ssh-ed25519 ")),
        "{recorded}"
    );
    c.rt.block_on(node_with(&c, &empty, HostKeyPolicy::Strict).run(&Cmd::new("true")))
        .unwrap();
}
