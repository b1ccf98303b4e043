//! `commit-order` end to end, as a user runs it on the histories isolation checkers of the
//! literature share: `cargo bench -p harness --bench isolation`.
//!
//! Generates causal histories in Plume's text format (`r/w(key,value,session,txn)` lines, as
//! AWDIT's and Plume's generators write them) of 10 K, 100 K and 1 M transactions over 100
//! sessions, then runs `rift check -w rw-register --checkers commit-order` on each under each
//! level's claim (strong-session-read-committed, read-atomic, causal), each run a fresh
//! process, and quotes wall time and peak RSS (median of `RUNS`). The histories are valid at
//! every level, so every level's rule is saturated in full (a violation stops early).
//!
//! The execution: one log of transactions in commit order; each session reads the state of a
//! prefix of it that includes its own last transaction and lags the end by up to
//! `LAG` transactions (so sessions see one another late, and causal pasts are wide), and its
//! transaction goes at the end. As AWDIT's generator shapes its histories: 5 micro-ops a
//! transaction on average (geometric), 80 % reads, keys skewed (key = `KEYS`·u³, a tenth of
//! the keys taking nearly half the accesses); values unique.
//!
//! Then wide transactions, where a search per read of every writer read before made a
//! transaction of n reads cost n²: `wide-read`, 200 K single-write transactions and one
//! transaction reading every key from them; `wide-write`, one transaction writing 200 K keys
//! and 200 K single-read transactions reading them; these also through Elle's `rw-register`
//! checker under read committed.
//! `-- --quick` stops at 100 K (and 20 K wide); `-- --keep DIR` leaves the histories in DIR.
#![allow(clippy::unwrap_used)]

use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

#[path = "../../bench-support/rng.rs"]
mod rng;
use rng::Rng;

const RUNS: usize = 3;
const SESSIONS: u64 = 100;
const KEYS: u64 = 10_000;
const LAG: u64 = 1_000;

/// `wide-read` (`reads` true) or `wide-write` of `n` keys; returns the micro-ops written.
fn wide_plume(path: &Path, n: u64, reads: bool) -> u64 {
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path).unwrap());
    for k in 0..n {
        if reads {
            writeln!(out, "w({k},1,{},{k})", k % SESSIONS).unwrap();
        } else {
            writeln!(out, "w({k},1,0,0)").unwrap();
        }
    }
    for k in 0..n {
        if reads {
            writeln!(out, "r({k},1,{SESSIONS},{n})").unwrap();
        } else {
            writeln!(out, "r({k},1,{},{})", 1 + k % SESSIONS, k + 1).unwrap();
        }
    }
    out.flush().unwrap();
    2 * n
}

/// Writes `txns` transactions; returns the micro-ops written.
fn causal_plume(path: &Path, txns: u64) -> u64 {
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path).unwrap());
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    // Per key, its versions: (log position of the writer, value).
    let mut versions: Vec<Vec<(u64, u64)>> = vec![Vec::new(); KEYS as usize + 1];
    // Per session, the log position of its last transaction plus one (what it must see).
    let mut seen: Vec<u64> = vec![0; SESSIONS as usize];
    let mut next_value = 1u64;
    let mut mops = 0u64;
    let mut own: Vec<(u64, u64)> = Vec::new();
    for t in 0..txns {
        let s = rng.below(SESSIONS);
        let lag = rng.below(LAG + 1);
        let view = seen[s as usize].max(t.saturating_sub(lag));
        seen[s as usize] = view;
        own.clear();
        loop {
            let u = rng.below(1 << 20) as f64 / (1u64 << 20) as f64;
            let k = 1 + ((u * u * u) * KEYS as f64) as u64;
            mops += 1;
            if rng.below(5) == 0 {
                let v = next_value;
                next_value += 1;
                own.retain(|w| w.0 != k);
                own.push((k, v));
                writeln!(out, "w({k},{v},{s},{t})").unwrap();
            } else {
                let v = match own.iter().find(|w| w.0 == k) {
                    Some(w) => w.1,
                    None => {
                        let vs = &versions[k as usize];
                        let i = vs.partition_point(|&(p, _)| p < view);
                        if i == 0 { 0 } else { vs[i - 1].1 }
                    }
                };
                writeln!(out, "r({k},{v},{s},{t})").unwrap();
            }
            if rng.below(5) == 0 {
                break;
            }
        }
        for &(k, v) in &own {
            versions[k as usize].push((t, v));
        }
        seen[s as usize] = t + 1;
    }
    out.flush().unwrap();
    mops
}

#[derive(Clone, Copy)]
struct Run {
    wall: Duration,
    peak_kb: u64,
    code: i32,
}

fn run_rift(args: &[&str]) -> Run {
    let me = std::env::current_exe().unwrap();
    let out = Command::new(me)
        .arg("--measure")
        .arg(env!("CARGO_BIN_EXE_rift"))
        .args(args)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let last = text.lines().last().unwrap_or_default();
    let fields: Vec<&str> = last.split_whitespace().collect();
    assert!(
        fields.len() == 4 && fields[0] == "measured",
        "the measuring parent said {text:?}, {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Run {
        wall: Duration::from_nanos(fields[1].parse().unwrap()),
        peak_kb: fields[2].parse().unwrap(),
        code: fields[3].parse().unwrap(),
    }
}

/// This bench re-executed as the one parent of one rift: its peak RSS is that run's alone.
fn measure_child(args: &[String]) {
    let start = Instant::now();
    let out = Command::new(&args[0])
        .args(&args[1..])
        .output()
        .expect("runs rift");
    let wall = start.elapsed();
    let usage = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN)
        .expect("getrusage");
    if !out.status.success() {
        eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    }
    println!(
        "measured {} {} {}",
        wall.as_nanos(),
        usage.max_rss(),
        out.status.code().unwrap_or(-1)
    );
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--measure") {
        return measure_child(&args[1..]);
    }
    let quick = args.iter().any(|a| a == "--quick");
    let kept = args
        .iter()
        .position(|a| a == "--keep")
        .and_then(|i| args.get(i + 1))
        .map(PathBuf::from);
    let temp = tempfile::tempdir().unwrap();
    let dir = match &kept {
        Some(d) => {
            std::fs::create_dir_all(d).unwrap();
            d.as_path()
        }
        None => temp.path(),
    };
    let results = dir.join("results");
    let sizes: &[u64] = if quick {
        &[10_000, 100_000]
    } else {
        &[10_000, 100_000, 1_000_000]
    };
    println!(
        "causal histories, {SESSIONS} sessions, {KEYS} keys; `rift check --checkers \
         commit-order`, median of {RUNS} runs"
    );
    println!(
        "{:<16} {:>10} {:>8} {:<32} {:>8} {:>9} {:>5}",
        "txns", "micro-ops", "MB", "claim", "wall s", "peak MB", "exit"
    );
    let wide: u64 = if quick { 20_000 } else { 200_000 };
    let mut cases: Vec<(String, PathBuf, u64)> = Vec::new();
    for &txns in sizes {
        let file = dir.join(format!("causal-{txns}.plume"));
        let mops = causal_plume(&file, txns);
        cases.push((txns.to_string(), file, mops));
    }
    for (name, reads) in [("wide-read", true), ("wide-write", false)] {
        let file = dir.join(format!("{name}-{wide}.plume"));
        let mops = wide_plume(&file, wide, reads);
        cases.push((format!("{name} {}K", wide / 1000), file, mops));
    }
    for (txns, file, mops) in cases {
        let bytes = std::fs::metadata(&file).unwrap().len();
        // Wide transactions also through Elle's rw-register checker, which searched a
        // transaction's other micro-ops per micro-op too.
        let wide_case = txns.starts_with("wide");
        let runs_of = ["strong-session-read-committed", "read-atomic", "causal"]
            .map(|m| ("commit-order", m))
            .into_iter()
            .chain(wide_case.then_some(("rw-register", "read-committed")));
        for (checker, model) in runs_of {
            let mut runs: Vec<Run> = (0..RUNS)
                .map(|i| {
                    let stem = file.file_stem().unwrap().to_str().unwrap();
                    let name = format!("bench-{stem}-{model}-{i}");
                    let run = run_rift(&[
                        "check",
                        file.to_str().unwrap(),
                        "-w",
                        "rw-register",
                        "--checkers",
                        checker,
                        "--consistency-models",
                        model,
                        "--results-dir",
                        results.to_str().unwrap(),
                        "--test-name",
                        &name,
                    ]);
                    let _ = std::fs::remove_dir_all(&results);
                    run
                })
                .collect();
            runs.sort_by_key(|r| r.wall);
            let mut m = runs[RUNS / 2];
            let mut peaks: Vec<u64> = runs.iter().map(|r| r.peak_kb).collect();
            peaks.sort();
            m.peak_kb = peaks[RUNS / 2];
            println!(
                "{:<16} {:>10} {:>8.1} {:<32} {:>8.2} {:>9.1} {:>5}",
                txns,
                mops,
                bytes as f64 / 1e6,
                if checker == "commit-order" {
                    model.to_owned()
                } else {
                    format!("{model} ({checker})")
                },
                m.wall.as_secs_f64(),
                m.peak_kb as f64 / 1024.0,
                m.code
            );
        }
    }
}
