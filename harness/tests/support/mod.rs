//! What the tests that run `rift test` on a local cluster share: running it, and reading the
//! run's results.json.
#![allow(dead_code, clippy::unwrap_used)]

use serde_json::Value as Json;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A finished `rift test`: its exit code, results.json, test.json and run directory.
pub struct Run {
    pub code: i32,
    pub results: Json,
    pub test: Json,
    pub dir: PathBuf,
}

/// Runs `rift test --local` on `cluster` with `args`, run directories under `results_dir`.
pub fn rift_test(cluster: &control::cluster::Scratch, results_dir: &Path, args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_rift"))
        .args(["test", "--local", "--cluster-state-dir"])
        .arg(&cluster.state_dir)
        .arg("--results-dir")
        .arg(results_dir)
        .args(args)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let dir = std::fs::canonicalize(results_dir.join("latest"))
        .unwrap_or_else(|e| panic!("no run directory ({e}); rift said: {stderr}"));
    let read = |f: &str| -> Json {
        serde_json::from_str(&std::fs::read_to_string(dir.join(f)).unwrap()).unwrap()
    };
    Run {
        code: out.status.code().unwrap_or(-1),
        results: read("results.json"),
        test: read("test.json"),
        dir,
    }
}

/// One checker's result.
pub fn checker<'a>(results: &'a Json, name: &str) -> &'a Json {
    results["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["checker"] == name)
        .unwrap_or_else(|| panic!("no {name} checker in {results}"))
}

/// How many anomalies of `kind` the checker found.
pub fn found(results: &Json, name: &str, kind: &str) -> u64 {
    checker(results, name)["anomaly_counts"][kind]
        .as_u64()
        .unwrap_or(0)
}

/// Every anomaly kind found, as `checker: kind (count)`.
pub fn anomalies(results: &Json) -> Vec<String> {
    results["results"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| {
            r["anomaly_counts"]
                .as_object()
                .unwrap()
                .iter()
                .map(move |(k, n)| format!("{}: {k} ({n})", r["checker"]))
        })
        .collect()
}
