use crate::common::TestCluster;
use control::{Cmd, Remote, cluster};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

#[test]
fn a_node_whose_sshd_is_killed_and_restarted_is_reached_again() {
    let Some(c) = TestCluster::up(5, 2) else {
        return;
    };
    let ns = &c.state.nodes[0].namespace;
    assert_eq!(
        c.run(0, Cmd::new("echo").arg("before")).stdout_text(),
        "before\n"
    );

    // Kill every sshd in the node (the listener and the session our pooled connection uses).
    let pids = std::process::Command::new("ip")
        .args(["netns", "pids", ns])
        .output()
        .unwrap();
    for pid in String::from_utf8_lossy(&pids.stdout).split_whitespace() {
        kill(Pid::from_raw(pid.parse().unwrap()), Signal::SIGKILL).unwrap();
    }
    std::thread::sleep(std::time::Duration::from_millis(100));
    let e =
        c.rt.block_on(c.remotes[0].exec(&Cmd::new("true")))
            .unwrap_err();
    assert!(e.to_string().starts_with("n1 ("), "names the node: {e}");
    // The other node is unaffected.
    assert_eq!(
        c.run(1, Cmd::new("echo").arg("n2 fine")).stdout_text(),
        "n2 fine\n"
    );

    cluster::start_sshd(&c.state_dir(), "n1").unwrap();
    assert_eq!(
        c.run(0, Cmd::new("echo").arg("after")).stdout_text(),
        "after\n"
    );
}
