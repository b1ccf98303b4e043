//! `rift check` end to end, as a user runs it: `cargo bench -p harness --bench check`.
//!
//! Generates histories into a temporary directory, then runs the `rift` binary on each (a fresh
//! process per run, through this bench re-executed as a measuring parent, so that each peak RSS
//! is that run's alone) and quotes wall time, peak RSS, and input MB/s:
//!
//! - list-append, 1 M transactions of 1–4 micro-ops, as Jepsen's append workload writes
//!   `history.edn` (10 processes, 10 active keys each retired after 32 appends, crashed
//!   transactions, a nemesis), judged under strict serializability;
//! - set, 10 M ops as JSON Lines (adds of unique elements, three reads of the whole set);
//! - counter, 1 M and 10 M ops as JSON Lines: checkers whose state is constant, so peak RSS
//!   should not grow with the history.
//!
//! Then the readers alone: EDN and JSON Lines parse throughput over the same files, in this
//! process. Each figure is the median of `RUNS` runs. `-- --quick` divides every size by ten;
//! `-- --keep DIR` leaves the histories in DIR; `-- --readers` times the readers alone.
#![allow(clippy::unwrap_used)]

use std::io::{BufWriter, Write};

// The allocator rift itself uses, so that the readers' figures are rift's.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const RUNS: usize = 3;

#[path = "../../bench-support/rng.rs"]
mod rng;
use rng::Rng;

/// Ends an op map of Jepsen's EDN begun in `line` (its value's vector open) and writes it.
fn end_op(out: &mut impl Write, line: &mut String, time: u64, process: u64, index: u64) {
    line.push_str(&format!(
        "], :time {time}, :process {process}, :index {index}}}"
    ));
    writeln!(out, "{line}").unwrap();
}

/// A strictly serializable list-append history in Jepsen's EDN: each transaction takes effect
/// at its completion, atomically; a crashed one (`:info`) takes effect or not, at random.
fn list_append_edn(path: &Path, txns: usize) -> u64 {
    const PROCS: usize = 10;
    const KEYS: usize = 10;
    const WRITES_PER_KEY: u64 = 32;
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path).unwrap());
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    // Active keys, each with its list and the appends it has had.
    let mut next_key = KEYS as u64;
    let mut active: Vec<u64> = (0..KEYS as u64).collect();
    let mut lists: std::collections::HashMap<u64, Vec<u64>> = Default::default();
    let mut next_value: std::collections::HashMap<u64, u64> = Default::default();
    let mut pids: Vec<u64> = (0..PROCS as u64).collect();
    // Each process's open transaction: micro-ops as (append?, key, value).
    let mut open: Vec<Option<Vec<(bool, u64, u64)>>> = vec![None; PROCS];
    let (mut index, mut time, mut invoked) = (0u64, 0u64, 0usize);
    let mut line = String::with_capacity(4096);
    let mut nemesis_on = false;
    while invoked < txns || open.iter().any(Option::is_some) {
        time += 1 + rng.below(20_000);
        if rng.below(2000) == 0 {
            let f = if nemesis_on {
                "stop-partition"
            } else {
                "start-partition"
            };
            nemesis_on = !nemesis_on;
            for kind in ["info", "info"] {
                writeln!(
                    out,
                    "{{:type :{kind}, :f :{f}, :value nil, :time {time}, :process :nemesis, :index {index}}}"
                )
                .unwrap();
                index += 1;
            }
            continue;
        }
        let slot = rng.below(PROCS as u64) as usize;
        line.clear();
        match open[slot].take() {
            None if invoked < txns => {
                invoked += 1;
                let n = 1 + rng.below(4);
                // Values are unique per key, counted from 1 as Jepsen's generator does.
                let mops: Vec<(bool, u64, u64)> = (0..n)
                    .map(|_| {
                        let k = active[rng.below(KEYS as u64) as usize];
                        if rng.below(2) == 0 {
                            let v = next_value.entry(k).or_insert(0);
                            *v += 1;
                            (true, k, *v)
                        } else {
                            (false, k, 0)
                        }
                    })
                    .collect();
                line.push_str("{:type :invoke, :f :txn, :value [");
                for (i, (append, k, v)) in mops.iter().enumerate() {
                    if i > 0 {
                        line.push(' ');
                    }
                    if *append {
                        line.push_str(&format!("[:append {k} {v}]"));
                    } else {
                        line.push_str(&format!("[:r {k} nil]"));
                    }
                }
                end_op(&mut out, &mut line, time, pids[slot], index);
                open[slot] = Some(mops);
                index += 1;
            }
            None => {}
            Some(mops) => {
                let roll = rng.below(100);
                let kind = match roll {
                    0 => "info",
                    1..=2 => "fail",
                    _ => "ok",
                };
                let applied = kind == "ok" || (kind == "info" && rng.below(2) == 0);
                line.push_str(&format!("{{:type :{kind}, :f :txn, :value ["));
                for (i, &(append, k, v)) in mops.iter().enumerate() {
                    if i > 0 {
                        line.push(' ');
                    }
                    let list = lists.entry(k).or_default();
                    if append {
                        if applied {
                            list.push(v);
                            if list.len() as u64 >= WRITES_PER_KEY
                                && let Some(slot) = active.iter().position(|&a| a == k)
                            {
                                active[slot] = next_key;
                                next_key += 1;
                            }
                        }
                        line.push_str(&format!("[:append {k} {v}]"));
                    } else if kind == "ok" {
                        line.push_str(&format!("[:r {k} ["));
                        for (j, x) in list.iter().enumerate() {
                            if j > 0 {
                                line.push(' ');
                            }
                            line.push_str(&x.to_string());
                        }
                        line.push_str("]]");
                    } else {
                        line.push_str(&format!("[:r {k} nil]"));
                    }
                }
                end_op(&mut out, &mut line, time, pids[slot], index);
                index += 1;
                if kind == "info" {
                    pids[slot] += PROCS as u64;
                }
            }
        }
    }
    out.flush().unwrap();
    index
}

/// rift's JSON Lines: a set history of unique adds and three reads of the whole set.
fn set_jsonl(path: &Path, ops: usize) -> u64 {
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path).unwrap());
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut held: Vec<u64> = Vec::new();
    let (mut index, mut time) = (0u64, 0u64);
    let reads_at = [ops / 3, 2 * ops / 3, ops - 2];
    while (index as usize) < ops {
        let p = rng.below(10);
        time += 1 + rng.below(5000);
        if reads_at.contains(&(index as usize)) {
            writeln!(out, "{{\"index\":{index},\"time\":{time},\"type\":\"invoke\",\"process\":{p},\"f\":\"read\",\"value\":null}}").unwrap();
            let mut line = format!(
                "{{\"index\":{},\"time\":{},\"type\":\"ok\",\"process\":{p},\"f\":\"read\",\"value\":[",
                index + 1,
                time + 1
            );
            for (i, x) in held.iter().enumerate() {
                if i > 0 {
                    line.push(',');
                }
                line.push_str(&x.to_string());
            }
            line.push_str("]}");
            writeln!(out, "{line}").unwrap();
        } else {
            let x = index;
            writeln!(out, "{{\"index\":{index},\"time\":{time},\"type\":\"invoke\",\"process\":{p},\"f\":\"add\",\"value\":{x}}}").unwrap();
            held.push(x);
            writeln!(out, "{{\"index\":{},\"time\":{},\"type\":\"ok\",\"process\":{p},\"f\":\"add\",\"value\":{x}}}", index + 1, time + 1).unwrap();
        }
        index += 2;
    }
    out.flush().unwrap();
    index
}

/// rift's JSON Lines: increments of one counter, and a read after every hundred of them.
fn counter_jsonl(path: &Path, ops: usize) -> u64 {
    let mut out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path).unwrap());
    let mut rng = Rng(0xdead_beef_cafe_f00d);
    let (mut index, mut time, mut total) = (0u64, 0u64, 0u64);
    while (index as usize) < ops {
        let p = rng.below(10);
        time += 1 + rng.below(5000);
        let (f, inv, done) = if index % 200 == 198 {
            ("read", "null".to_owned(), total.to_string())
        } else {
            total += 1;
            ("add", "1".to_owned(), "1".to_owned())
        };
        writeln!(out, "{{\"index\":{index},\"time\":{time},\"type\":\"invoke\",\"process\":{p},\"f\":\"{f}\",\"value\":{inv}}}").unwrap();
        writeln!(out, "{{\"index\":{},\"time\":{},\"type\":\"ok\",\"process\":{p},\"f\":\"{f}\",\"value\":{done}}}", index + 1, time + 1).unwrap();
        index += 2;
    }
    out.flush().unwrap();
    index
}

/// What one run of the binary took.
#[derive(Debug, Clone, Copy)]
struct Run {
    wall: Duration,
    peak_kb: u64,
    code: i32,
}

/// Runs `rift` under this bench re-executed as `--measure`, which waits for it and reports its
/// peak RSS (`RUSAGE_CHILDREN` of a process with that one child).
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

fn measure_child(args: &[String]) {
    let start = Instant::now();
    let out = Command::new(&args[0])
        .args(&args[1..])
        .output()
        .expect("runs rift");
    let wall = start.elapsed();
    let usage = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN)
        .expect("getrusage");
    if !out.status.success() && out.status.code() != Some(1) {
        eprintln!("{}", String::from_utf8_lossy(&out.stderr));
    }
    println!(
        "measured {} {} {}",
        wall.as_nanos(),
        usage.max_rss(),
        out.status.code().unwrap_or(-1)
    );
}

fn median_run(mut runs: Vec<Run>) -> Run {
    runs.sort_by_key(|r| r.wall);
    let mut m = runs[runs.len() / 2];
    let mut peaks: Vec<u64> = runs.iter().map(|r| r.peak_kb).collect();
    peaks.sort();
    m.peak_kb = peaks[peaks.len() / 2];
    m
}

struct Case {
    name: String,
    file: PathBuf,
    workload: &'static str,
    ops: u64,
    extra: Vec<&'static str>,
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--measure") {
        return measure_child(&args[1..]);
    }
    let scale = if args.iter().any(|a| a == "--quick") {
        10
    } else {
        1
    };
    // `--keep DIR`: the histories go to DIR and stay there (to profile or compare with).
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
    let mut cases = Vec::new();
    let started = Instant::now();
    let txns = 1_000_000 / scale;
    let edn = dir.join("list-append.edn");
    let n = list_append_edn(&edn, txns);
    cases.push(Case {
        name: format!("list-append {}K txns EDN", txns / 1000),
        file: edn,
        workload: "list-append",
        ops: n,
        extra: vec!["--consistency-models", "strict-serializable"],
    });
    let set = dir.join("set.jsonl");
    let n = set_jsonl(&set, 10_000_000 / scale);
    cases.push(Case {
        name: format!("set {}K ops JSONL", 10_000 / scale),
        file: set,
        workload: "set",
        ops: n,
        extra: vec![],
    });
    for m in [1_000_000 / scale, 10_000_000 / scale] {
        let file = dir.join(format!("counter-{m}.jsonl"));
        let n = counter_jsonl(&file, m);
        cases.push(Case {
            name: format!("counter {}K ops JSONL", m / 1000),
            file,
            workload: "counter",
            ops: n,
            extra: vec![],
        });
    }
    println!(
        "generated {} histories in {:.1} s; median of {RUNS} runs of `rift check` each",
        cases.len(),
        started.elapsed().as_secs_f64()
    );
    println!(
        "{:<28} {:>10} {:>9} {:>10} {:>9} {:>9} {:>7}",
        "history", "ops", "MB", "wall s", "MB/s", "peak MB", "exit"
    );
    // `--readers`: the readers alone, no run of rift.
    let runs_of_rift = !args.iter().any(|a| a == "--readers");
    for case in cases.iter().filter(|_| runs_of_rift) {
        let bytes = std::fs::metadata(&case.file).unwrap().len();
        let runs = (0..RUNS)
            .map(|i| {
                let name = format!("bench-{}-{i}", case.workload);
                let mut args = vec![
                    "check",
                    case.file.to_str().unwrap(),
                    "--workload",
                    case.workload,
                    "--results-dir",
                    results.to_str().unwrap(),
                    "--test-name",
                    &name,
                ];
                args.extend(case.extra.iter().copied());
                let run = run_rift(&args);
                let _ = std::fs::remove_dir_all(&results);
                run
            })
            .collect();
        let m = median_run(runs);
        println!(
            "{:<28} {:>10} {:>9.1} {:>10.2} {:>9.1} {:>9.1} {:>7}",
            case.name,
            case.ops,
            bytes as f64 / 1e6,
            m.wall.as_secs_f64(),
            bytes as f64 / 1e6 / m.wall.as_secs_f64(),
            m.peak_kb as f64 / 1024.0,
            m.code
        );
    }
    println!("readers alone (in this process, ops counted and dropped):");
    // `--readers edn` or `--readers jsonl`: that reader alone.
    let only = args
        .iter()
        .position(|a| a == "--readers")
        .and_then(|i| args.get(i + 1))
        .cloned();
    for case in cases[..2].iter().filter(|c| {
        only.as_deref()
            .is_none_or(|o| c.file.extension().is_some_and(|e| e == o))
    }) {
        let bytes = std::fs::metadata(&case.file).unwrap().len();
        let times: Vec<Duration> = (0..RUNS)
            .map(|_| {
                let start = Instant::now();
                let n = count_ops(&case.file);
                assert_eq!(n, case.ops, "{}", case.file.display());
                start.elapsed()
            })
            .collect();
        let mut times = times;
        times.sort();
        let t = times[times.len() / 2].as_secs_f64();
        println!(
            "{:<28} {:>10} {:>9.1} {:>10.2} {:>9.1}",
            format!(
                "{} read",
                if case.file.extension().unwrap() == "edn" {
                    "EDN"
                } else {
                    "JSONL"
                }
            ),
            case.ops,
            bytes as f64 / 1e6,
            t,
            bytes as f64 / 1e6 / t
        );
    }
}

fn count_ops(path: &Path) -> u64 {
    let mut n = 0;
    if path.extension().unwrap() == "edn" {
        for op in history::edn::EdnReader::open(path).unwrap() {
            op.unwrap();
            n += 1;
        }
    } else {
        for op in history::JsonlReader::open(path).unwrap() {
            op.unwrap();
            n += 1;
        }
    }
    n
}
