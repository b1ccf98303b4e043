//! `rift demo` on a real local cluster with ecstore (root; CI runs it): every scenario must find
//! what it expects — the correct configuration valid, each flawed one its anomaly.
#![allow(clippy::unwrap_used)]

use std::path::Path;
use std::process::Command;

#[test]
fn rift_demo_finds_what_every_scenario_expects() {
    let Some(cluster) = control::cluster::Scratch::up("tc9", "10.205.9.0/24", 5) else {
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_rift"))
        .current_dir(work.path())
        .args(["demo", "--time-limit", "15", "--cluster-state-dir"])
        .arg(&cluster.state_dir)
        .env(
            "RIFT_ECSTORE_BIN",
            Path::new(env!("CARGO_BIN_EXE_rift")).with_file_name("ecstore"),
        )
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let table: Vec<&str> = stdout
        .lines()
        .skip_while(|l| !l.contains("scenario") || !l.contains("expected"))
        .collect();
    println!("{}", table.join("\n"));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        table.join("\n"),
        String::from_utf8_lossy(&out.stderr)
    );
    for scenario in [
        "crdt-quorum",
        "lww-clock-skew",
        "random-replica-r1",
        "no-anti-entropy",
        "idempotency-r1",
    ] {
        let row = table
            .iter()
            .find(|l| l.contains(&format!(" {scenario} ")))
            .unwrap_or_else(|| panic!("no row for {scenario}"));
        assert!(row.contains("as expected"), "{row}");
        let results = work
            .path()
            .join(format!("results/demo-{scenario}/latest/results.json"));
        assert!(results.is_file(), "{}", results.display());
    }
}
