use crate::common::TestCluster;
use control::Cmd;
use control::cluster;

/// Gone, or a zombie waiting for its (reparented) parent to reap it: dead either way.
fn dead(pid: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

#[test]
fn down_leaves_no_namespace_bridge_process_rule_or_file() {
    let Some(c) = TestCluster::up(7, 3) else {
        return;
    };
    // Leave things behind on purpose: a background process and a rule in every node.
    for i in 0..3 {
        c.run(i, Cmd::script("nohup sleep 600 >/dev/null 2>&1 &"));
        c.run(
            i,
            Cmd::new("iptables").args(["-A", "INPUT", "-p", "tcp", "--dport", "9", "-j", "DROP"]),
        );
    }
    let mut pids = Vec::new();
    for n in &c.state.nodes {
        let out = std::process::Command::new("ip")
            .args(["netns", "pids", &n.namespace])
            .output()
            .unwrap();
        pids.extend(
            String::from_utf8_lossy(&out.stdout)
                .split_whitespace()
                .map(String::from),
        );
    }
    assert!(pids.len() >= 6, "sshd and sleep in each node: {pids:?}");
    for r in &c.remotes {
        c.rt.block_on(r.close());
    }

    let report = cluster::down(&c.state_dir()).unwrap();
    assert!(report.was_up && report.errors.is_empty(), "{report:?}");
    assert_eq!(report.namespaces_removed, 3);

    let namespaces = std::process::Command::new("ip")
        .args(["netns", "list"])
        .output()
        .unwrap();
    let links = std::process::Command::new("ip")
        .args(["-o", "link", "show"])
        .output()
        .unwrap();
    for text in [namespaces.stdout, links.stdout] {
        let text = String::from_utf8_lossy(&text);
        assert!(!text.contains("rt7-"), "left behind: {text}");
    }
    for pid in &pids {
        assert!(dead(pid), "process {pid} survived");
    }
    let host_rules = std::process::Command::new("iptables-save")
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&host_rules.stdout).contains("rt7"));
    assert!(!c.state_dir().exists(), "state directory removed");

    // Again: nothing to do, and says so.
    let again = cluster::down(&c.state_dir()).unwrap();
    assert!(!again.was_up);
}
