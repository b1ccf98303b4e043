use crate::common::TestCluster;
use control::{Cmd, Remote};
use std::io::Write;

#[test]
fn commands_run_on_every_node_at_once_each_on_its_own_node() {
    let Some(c) = TestCluster::up(1, 3) else {
        return;
    };
    let results = c.rt.block_on(control::on_each(&c.remotes, |r| async move {
        r.run(&Cmd::new("hostname").arg("-I"))
            .await
            .map(|o| o.stdout_text())
    }));
    assert_eq!(results.len(), 3);
    for ((name, result), node) in results.iter().zip(&c.state.nodes) {
        assert_eq!(name, &node.name);
        let addrs = result.as_ref().unwrap();
        assert_eq!(
            addrs.split_whitespace().collect::<Vec<_>>(),
            [node.ip.to_string()],
            "{name}"
        );
    }
    // Each node's work directory is its own.
    let workdirs: Vec<_> = c
        .inventory
        .nodes
        .iter()
        .map(|n| n.workdir.clone())
        .collect();
    assert_eq!(
        workdirs
            .iter()
            .collect::<std::collections::HashSet<_>>()
            .len(),
        3
    );
    // Exit status and stderr come back.
    let out =
        c.rt.block_on(c.remotes[1].exec(&Cmd::script("echo oops >&2; exit 3")))
            .unwrap();
    assert_eq!(
        (out.status, out.stderr_text().as_str()),
        (Some(3), "oops\n")
    );
    let e =
        c.rt.block_on(c.remotes[1].run(&Cmd::script("echo oops >&2; exit 3")))
            .unwrap_err();
    assert!(
        e.to_string()
            .contains("n2: `echo oops >&2; exit 3` failed (exit 3): oops"),
        "{e}"
    );
    // A command past its time limit is reported as such.
    let slow = Cmd::new("sleep")
        .arg("5")
        .timeout(std::time::Duration::from_millis(300));
    let e = c.rt.block_on(c.remotes[0].exec(&slow)).unwrap_err();
    assert!(e.to_string().contains("did not finish within 300ms"), "{e}");
}

fn sha256(path: &std::path::Path) -> String {
    let out = std::process::Command::new("sha256sum")
        .arg(path)
        .output()
        .unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .split_whitespace()
        .next()
        .unwrap()
        .to_owned()
}

#[test]
fn ten_megabytes_go_up_and_come_back_intact() {
    let Some(c) = TestCluster::up(2, 2) else {
        return;
    };
    let local = c.dir.path().join("payload.bin");
    {
        // Not compressible, not repetitive: a simple xorshift stream.
        let mut f = std::io::BufWriter::new(std::fs::File::create(&local).unwrap());
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..(10 << 20) / 8 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            f.write_all(&x.to_le_bytes()).unwrap();
        }
    }
    let want = sha256(&local);
    let remote_path = format!("{}/in/payload.bin", c.inventory.nodes[0].workdir);
    let sent =
        c.rt.block_on(c.remotes[0].upload(&local, &remote_path))
            .unwrap();
    assert_eq!(sent, 10 << 20);
    let out = c.run(0, Cmd::new("sha256sum").arg(&remote_path));
    assert_eq!(
        out.stdout_text().split_whitespace().next(),
        Some(want.as_str())
    );

    let back = c.dir.path().join("back.bin");
    let got =
        c.rt.block_on(c.remotes[0].download(&remote_path, &back))
            .unwrap();
    assert_eq!(got, 10 << 20);
    assert_eq!(sha256(&back), want);

    // A missing remote file is an error naming it, and leaves no local file behind.
    let missing = c.dir.path().join("missing.bin");
    let e =
        c.rt.block_on(c.remotes[1].download("/nonexistent/x", &missing))
            .unwrap_err();
    assert!(e.to_string().contains("download /nonexistent/x"), "{e}");
    assert!(!missing.exists() && !missing.with_extension("rift-download").exists());
}
