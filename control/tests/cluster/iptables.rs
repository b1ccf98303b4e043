use crate::common::TestCluster;
use control::Cmd;

#[test]
fn a_drop_rule_inside_one_node_cuts_only_that_node() {
    let Some(c) = TestCluster::up(6, 3) else {
        return;
    };
    for (from, to) in [(0, 1), (1, 0), (2, 0), (2, 1)] {
        assert!(
            c.can_connect(from, to),
            "before: n{} -> n{}",
            from + 1,
            to + 1
        );
    }
    // n1 drops everything from n2.
    let n2 = c.state.nodes[1].ip.to_string();
    c.run(
        0,
        Cmd::new("iptables").args(["-A", "INPUT", "-s", &n2, "-j", "DROP"]),
    );
    assert!(!c.can_connect(1, 0), "n2 -> n1 must be cut");
    assert!(
        !c.can_connect(0, 1),
        "n1 -> n2 must be cut (its replies are dropped)"
    );
    assert!(c.can_connect(2, 0), "n3 still reaches n1");
    assert!(c.can_connect(2, 1), "n3 still reaches n2");
    // The rule lives in n1 only; the controller still reaches every node.
    let rules = |i| {
        c.run(i, Cmd::new("iptables").args(["-S", "INPUT"]))
            .stdout_text()
    };
    assert!(rules(0).contains(&format!("-A INPUT -s {n2}/32 -j DROP")));
    assert!(!rules(1).contains("DROP") && !rules(2).contains("DROP"));
    let host = std::process::Command::new("iptables")
        .args(["-S", "INPUT"])
        .output()
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&host.stdout).contains(&n2),
        "the host's rules are untouched"
    );
}
