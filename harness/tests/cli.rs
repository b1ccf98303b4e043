//! The `rift` binary as a user meets it: exit codes, errors that name the place, run dirs.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn rift(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rift"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn code(o: &Output) -> i32 {
    o.status.code().expect("exited, not killed")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The results.json of the newest run under `dir/results`.
fn latest_results(dir: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(dir.join("results/latest/results.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn sample(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../samples")
        .join(name)
}

const VALID: &str = r##"{"index":0,"time":1,"type":"invoke","process":0,"f":"add","value":1}
{"index":1,"time":2,"type":"ok","process":0,"f":"add","value":1}
{"index":2,"time":3,"type":"invoke","process":1,"f":"read","value":null}
{"index":3,"time":4,"type":"ok","process":1,"f":"read","value":{"#set":[1]}}
"##;

#[test]
fn a_valid_history_exits_0_and_leaves_a_complete_run_directory() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("h.jsonl"), VALID).unwrap();
    let out = rift(
        dir.path(),
        &[
            "check",
            "h.jsonl",
            "--workload",
            "set",
            "--test-name",
            "mine",
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let run = dir.path().join("results/mine/latest");
    for f in ["test.json", "history.jsonl", "results.json", "rift.log"] {
        assert!(run.join(f).is_file(), "{f} missing");
    }
    assert!(run.join("nodes").is_dir());
    assert_eq!(
        std::fs::read_to_string(run.join("history.jsonl")).unwrap(),
        VALID
    );
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("results.json")).unwrap()).unwrap();
    assert_eq!(results["valid"], true);
    assert_eq!(results["history"]["ops"], 4);
    assert_eq!(results["results"][0]["checker"], "stats");
    assert_eq!(results["results"][0]["figures"]["by-f"]["add"]["ok"], 1);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("valid: true"), "{stdout}");

    // Checking the run directory again finds its workload in test.json.
    let again = rift(dir.path(), &["check", "results/latest"]);
    assert_eq!(code(&again), 0, "{}", stderr(&again));
}

#[test]
fn nothing_succeeded_is_unknown_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let h = VALID.replace(r#""type":"ok","process":1"#, r#""type":"fail","process":1"#);
    std::fs::write(dir.path().join("h.jsonl"), h).unwrap();
    let out = rift(dir.path(), &["check", "h.jsonl", "-w", "set"]);
    assert_eq!(code(&out), 2, "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("no read ever succeeded"));
}

#[test]
fn jepsen_edn_is_checked_and_copied_as_jsonl() {
    let dir = tempfile::tempdir().unwrap();
    let out = rift(
        dir.path(),
        &[
            "check",
            sample("list-append.edn").to_str().unwrap(),
            "-w",
            "list-append",
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let copied = dir.path().join("results/latest/history.jsonl");
    let ops = history::jsonl::load(&copied).unwrap().ops;
    let original = history::edn::load(&sample("list-append.edn")).unwrap().ops;
    assert_eq!(ops, original);
}

#[test]
fn a_truncated_last_line_is_a_warning_and_the_rest_is_checked() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("h.jsonl"),
        format!("{VALID}{{\"index\":4,\"ti"),
    )
    .unwrap();
    let out = rift(dir.path(), &["check", "h.jsonl", "-w", "set"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("h.jsonl:5: last line is cut short"),
        "{}",
        stderr(&out)
    );
    let results = std::fs::read_to_string(dir.path().join("results/latest/results.json")).unwrap();
    assert!(results.contains("last line is cut short"));
}

#[test]
fn bad_input_exits_254_naming_the_place() {
    let dir = tempfile::tempdir().unwrap();
    let bad_line = VALID.replace(r#""type":"ok","process":1"#, r#""type":"okay","process":1"#);
    std::fs::write(dir.path().join("bad.jsonl"), bad_line).unwrap();
    std::fs::write(
        dir.path().join("unpaired.jsonl"),
        VALID
            .replace(
                r#""type":"invoke","process":1"#,
                r#""type":"invoke","process":0"#,
            )
            .replace(
                r#""type":"ok","process":0"#,
                r#""type":"invoke","process":0"#,
            ),
    )
    .unwrap();
    std::fs::write(dir.path().join("h.txt"), VALID).unwrap();
    std::fs::write(dir.path().join("h.xyz"), VALID).unwrap();
    std::fs::write(dir.path().join("h.jsonl"), VALID).unwrap();
    let cases: &[(&[&str], &str)] = &[
        (
            &["check", "bad.jsonl", "-w", "set"],
            "bad.jsonl:4: malformed op: type \"okay\" is not one of",
        ),
        (
            &["check", "unpaired.jsonl", "-w", "set"],
            "unpaired.jsonl:2: op 1: process 0 invokes op 1 while its op 0 is still open",
        ),
        (
            &["check", "missing.jsonl", "-w", "set"],
            "missing.jsonl: No such file or directory",
        ),
        (
            &["check", "h.xyz", "-w", "set"],
            "cannot tell the history format",
        ),
        (
            &["check", "h.txt", "-w", "set"],
            "h.txt:1: malformed op: no jepsen.util op lines",
        ),
        (
            &["convert", "h.jsonl", "h.txt"],
            "rift reads Jepsen's text logs and Plume's histories but writes .jsonl or .edn",
        ),
        (
            &["check", "h.jsonl", "-w", "bank"],
            "unknown workload \"bank\"; rift knows register, cas-register, kv, set",
        ),
        (&["check", "h.jsonl"], "--workload is required"),
        (
            &["check", "h.jsonl", "-w", "set", "--test-name", "../x"],
            "test name \"../x\"",
        ),
        (&["check"], "required arguments were not provided"),
        (&["chek", "h.jsonl"], "unrecognized subcommand 'chek'"),
        (&["test", "--time-limit", "20"], "--workload: required"),
        (
            &[
                "test",
                "-w",
                "list-append",
                "--consistency-models",
                "serializable-ish",
            ],
            "unknown model \"serializable-ish\"",
        ),
        (&["report", "no/such/run"], "no/such/run"),
        (&["demo", "--only", "nope"], "no demo scenario \"nope\""),
        (&["heal"], "say which nodes"),
        (
            &["convert", "h.jsonl", "h.xyz"],
            "cannot tell the output format",
        ),
    ];
    for (args, expected) in cases {
        let out = rift(dir.path(), args);
        assert_eq!(code(&out), 254, "{args:?}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(expected),
            "{args:?}\n  got: {}\n  want: {expected}",
            stderr(&out)
        );
    }
}

#[test]
fn rift_failing_itself_exits_255() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("h.jsonl"), VALID).unwrap();
    std::fs::write(dir.path().join("a-file"), "").unwrap();
    let out = rift(
        dir.path(),
        &[
            "check",
            "h.jsonl",
            "-w",
            "set",
            "--results-dir",
            "a-file/results",
        ],
    );
    assert_eq!(code(&out), 255, "{}", stderr(&out));
    assert!(stderr(&out).contains("a-file/results"), "{}", stderr(&out));
}

#[test]
fn help_and_version_exit_0() {
    let dir = tempfile::tempdir().unwrap();
    for args in [&["--help"][..], &["--version"], &["check", "--help"]] {
        let out = rift(dir.path(), args);
        assert_eq!(code(&out), 0, "{args:?}");
    }
    let help = String::from_utf8_lossy(&rift(dir.path(), &["--help"]).stdout).into_owned();
    assert!(help.contains("254 bad arguments"), "{help}");
}

#[test]
fn convert_goes_both_ways_without_loss() {
    let dir = tempfile::tempdir().unwrap();
    let edn = sample("list-append.edn");
    let out = rift(dir.path(), &["convert", edn.to_str().unwrap(), "a.jsonl"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert_eq!(code(&rift(dir.path(), &["convert", "a.jsonl", "b.edn"])), 0);
    assert_eq!(code(&rift(dir.path(), &["convert", "b.edn", "c.jsonl"])), 0);
    let a = std::fs::read(dir.path().join("a.jsonl")).unwrap();
    assert_eq!(a, std::fs::read(dir.path().join("c.jsonl")).unwrap());
    assert_eq!(
        code(&rift(dir.path(), &["convert", "a.jsonl", "a.jsonl"])),
        254
    );
}

#[test]
fn a_jepsen_set_history_with_a_lost_element_exits_1_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let out = rift(
        dir.path(),
        &[
            "check",
            sample("set-lost.edn").to_str().unwrap(),
            "--workload",
            "set",
        ],
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("1 lost"), "{stdout}");
    assert!(stdout.contains("read-your-writes"), "{stdout}");
    let results = latest_results(dir.path());
    let set = &results["results"][1];
    assert_eq!(set["checker"], "set");
    assert_eq!(set["anomalies"][0]["ops"], serde_json::json!([0, 1, 6]));
    // No final reads: convergence does not apply and does not weigh on the verdict.
    assert_eq!(results["results"][2]["applicable"], false);
}

#[test]
fn a_jepsen_list_append_history_is_judged_under_the_models_asked_for() {
    let dir = tempfile::tempdir().unwrap();
    let file = sample("list-append-read-skew.edn");
    let check = |models: &str| {
        rift(
            dir.path(),
            &[
                "check",
                file.to_str().unwrap(),
                "-w",
                "list-append",
                "--consistency-models",
                models,
            ],
        )
    };
    let out = check("snapshot-isolation");
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let run = std::fs::canonicalize(dir.path().join("results/latest")).unwrap();
    let text = std::fs::read_to_string(run.join("anomalies/G-single.txt")).unwrap();
    assert!(text.contains("a contradiction"), "{text}");
    let dot = std::fs::read_to_string(run.join("anomalies/G-single/1.dot")).unwrap();
    assert!(
        dot.starts_with("digraph") && dot.contains("label = \"rw\""),
        "{dot}"
    );
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("results.json")).unwrap()).unwrap();
    let elle = results["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["checker"] == "list-append")
        .unwrap();
    assert_eq!(elle["figures"]["indeterminate"], 1);
    assert!(
        elle["figures"]["ruled-out"]
            .as_array()
            .unwrap()
            .contains(&serde_json::json!("snapshot-isolation")),
        "{elle}"
    );
    // Read committed allows read skew.
    let out = check("read-committed");
    assert_eq!(code(&out), 0, "{}", String::from_utf8_lossy(&out.stdout));
    // A model rift does not know is bad input.
    let out = check("sequential-ish");
    assert_eq!(code(&out), 254);
    assert!(stderr(&out).contains("unknown model \"sequential-ish\""));
}

/// A stale read (one process adds 1; another, invoked after the ack, reads the empty set; a
/// later read shows 1) and a read-your-writes violation (process 0 adds 2, then reads without
/// it), in a Jepsen history with no final reads and no nodes.
const STALE: &str = r##"{"index":0,"time":1,"type":"invoke","process":0,"f":"add","value":1}
{"index":1,"time":2,"type":"ok","process":0,"f":"add","value":1}
{"index":2,"time":3,"type":"invoke","process":1,"f":"read","value":null}
{"index":3,"time":4,"type":"ok","process":1,"f":"read","value":{"#set":[]}}
{"index":4,"time":5,"type":"invoke","process":0,"f":"add","value":2}
{"index":5,"time":6,"type":"ok","process":0,"f":"add","value":2}
{"index":6,"time":7,"type":"invoke","process":0,"f":"read","value":null}
{"index":7,"time":8,"type":"ok","process":0,"f":"read","value":{"#set":[1]}}
{"index":8,"time":9,"type":"invoke","process":1,"f":"read","value":null}
{"index":9,"time":10,"type":"ok","process":1,"f":"read","value":{"#set":[1,2]}}
"##;

#[test]
fn a_verdict_is_relative_to_the_claimed_models_and_every_anomaly_is_still_reported() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("h.jsonl"), STALE).unwrap();
    let check = |extra: &[&str]| {
        let mut args = vec!["check", "h.jsonl", "-w", "set"];
        args.extend(extra);
        let out = rift(dir.path(), &args);
        let run = std::fs::canonicalize(dir.path().join("results/latest")).unwrap();
        let results: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(run.join("results.json")).unwrap())
                .unwrap();
        (out, results, run)
    };
    let checker = |results: &serde_json::Value, name: &str| {
        results["results"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["checker"] == name)
            .unwrap()
            .clone()
    };
    // The set workload's default claim is eventual: stale reads and session violations are
    // allowed; they are reported, marked allowed, and the run is valid.
    let (out, results, run) = check(&[]);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert_eq!(code(&out), 0, "{stdout}{}", stderr(&out));
    assert_eq!(results["claimed_models"], serde_json::json!(["eventual"]));
    assert_eq!(results["claim_source"], "the set workload's default");
    let set = checker(&results, "set");
    assert_eq!(set["valid"], true, "{set}");
    // Both reads that missed an acknowledged element: another process's, and its own.
    assert_eq!(set["anomaly_counts"]["stale"], 2, "{set}");
    assert_eq!(set["anomalies"][0]["allowed"], true, "{set}");
    let session = checker(&results, "session");
    assert_eq!(
        session["anomaly_counts"]["read-your-writes"], 1,
        "{session}"
    );
    assert_eq!(session["valid"], true, "{session}");
    assert!(stdout.contains("│ allowed "), "{stdout}");
    assert!(
        stdout.contains("claimed: eventual (the set workload's default)"),
        "{stdout}"
    );
    let test_json = std::fs::read_to_string(run.join("test.json")).unwrap();
    assert!(test_json.contains("\"consistency_models\""), "{test_json}");

    // Claiming read-your-writes forbids the session violation only.
    let (out, results, _) = check(&["--consistency-models", "eventual,read-your-writes"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    assert_eq!(checker(&results, "set")["valid"], true);
    assert_eq!(checker(&results, "session")["valid"], false);
    assert_eq!(results["claim_source"], "--consistency-models");

    // Linearizability forbids the stale read too.
    let (out, results, _) = check(&["--consistency-models", "linearizable"]);
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let set = checker(&results, "set");
    assert_eq!(set["valid"], false, "{set}");
    assert!(set["anomalies"][0].get("allowed").is_none(), "{set}");

    // Checking a run directory again keeps the claim it recorded.
    let again = rift(dir.path(), &["check", "results/latest"]);
    assert_eq!(code(&again), 1, "{}", stderr(&again));
    let stdout = String::from_utf8_lossy(&again.stdout);
    assert!(
        stdout.contains("claimed: linearizable (the run's test.json"),
        "{stdout}"
    );
}

#[test]
fn a_closed_stdout_ends_the_check_quietly_with_its_verdict() {
    // `rift check … | head`: the reader is gone before rift prints its tables.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("h.jsonl"), STALE).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_rift"))
        .args([
            "check",
            "h.jsonl",
            "-w",
            "set",
            "--consistency-models",
            "linearizable",
        ])
        .current_dir(dir.path())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    let err = stderr(&out);
    assert!(!err.contains("panicked"), "{err}");
    assert_eq!(
        code(&out),
        1,
        "the verdict still decides the exit code: {err}"
    );
    assert!(dir.path().join("results/latest/results.json").is_file());
}

#[test]
fn convert_streams_and_a_bad_line_leaves_no_half_written_output() {
    let dir = tempfile::tempdir().unwrap();
    let edn = "{:process 0, :type :invoke, :f :add, :value 1}\n{:process 0, :type :ok, :f :add, :value 1}\n{:process 1, :type :ok, :f :read, :value #{1}\n";
    std::fs::write(dir.path().join("h.edn"), edn).unwrap();
    let out = rift(dir.path(), &["convert", "h.edn", "h.jsonl"]);
    assert_eq!(code(&out), 254, "{}", stderr(&out));
    assert!(stderr(&out).contains("h.edn:3"), "{}", stderr(&out));
    assert!(
        !dir.path().join("h.jsonl").exists(),
        "no half-written output"
    );
    assert!(
        !dir.path().join("h.partial").exists(),
        "nothing left beside it"
    );
    // Fixed, it converts, and back again gives the same ops.
    std::fs::write(dir.path().join("h.edn"), edn.replace("#{1}\n", "#{1}}\n")).unwrap();
    let out = rift(dir.path(), &["convert", "h.edn", "h.jsonl"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    assert!(stderr(&out).contains("wrote 3 ops"), "{}", stderr(&out));
    let out = rift(dir.path(), &["convert", "h.jsonl", "back.edn"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    let a = history::edn::load(&dir.path().join("h.edn")).unwrap().ops;
    let b = history::edn::load(&dir.path().join("back.edn"))
        .unwrap()
        .ops;
    assert_eq!(a, b);
}

#[test]
fn reports_gathered_while_checking_are_the_ones_rift_report_draws_from_the_history() {
    // `rift check` gathers the report's data in its checking pass and reads the history again
    // only around the anomalies; `rift report` reads the whole history. Both must draw the
    // same report, for EDN input, JSON Lines copied as they are, and lines rift did not write
    // (their fields in another order: no leading index to skip by).
    let dir = tempfile::tempdir().unwrap();
    let mut cases: Vec<(PathBuf, &str)> = vec![
        (sample("list-append.edn"), "list-append"),
        (sample("list-append-read-skew.edn"), "list-append"),
        (sample("set-lost.edn"), "set"),
    ];
    for (name, workload) in [
        ("set-lost", "set"),
        ("list-append-read-skew", "list-append"),
    ] {
        let jsonl = dir.path().join(format!("{name}.jsonl"));
        let out = rift(
            dir.path(),
            &[
                "convert",
                sample(&format!("{name}.edn")).to_str().unwrap(),
                jsonl.to_str().unwrap(),
            ],
        );
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        let sorted: String = std::fs::read_to_string(&jsonl)
            .unwrap()
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                format!("{v}\n")
            })
            .collect();
        assert!(!sorted.starts_with("{\"index\""), "{sorted}");
        let other = dir.path().join(format!("{name}-sorted.jsonl"));
        std::fs::write(&other, sorted).unwrap();
        cases.push((jsonl, workload));
        cases.push((other, workload));
    }
    let mut timelines = 0;
    for (i, (file, workload)) in cases.iter().enumerate() {
        let name = format!("r{i}");
        let out = rift(
            dir.path(),
            &[
                "check",
                file.to_str().unwrap(),
                "--workload",
                workload,
                "--test-name",
                &name,
            ],
        );
        assert!(
            matches!(code(&out), 0 | 1),
            "{}: {}",
            file.display(),
            stderr(&out)
        );
        let run = dir.path().join("results").join(&name).join("latest");
        let read = |f: &str| std::fs::read_to_string(run.join(f)).unwrap();
        let first: Vec<String> = ["report.html", "summary.md", "junit.xml"]
            .iter()
            .map(|f| read(f))
            .collect();
        timelines += first[0].matches("Around the anomalies").count();
        for f in ["report.html", "summary.md", "junit.xml"] {
            std::fs::remove_file(run.join(f)).unwrap();
        }
        let out = rift(dir.path(), &["report", run.to_str().unwrap()]);
        assert_eq!(code(&out), 0, "{}", stderr(&out));
        for (f, before) in ["report.html", "summary.md", "junit.xml"]
            .iter()
            .zip(&first)
        {
            assert_eq!(&read(f), before, "{}: {f} differs", file.display());
        }
    }
    assert!(timelines > 0, "some report draws the ops around an anomaly");
}

#[test]
fn a_mistake_deep_in_a_history_is_named_and_every_op_before_it_is_kept() {
    // The reader sends ops to the checkers and the copy in batches of thousands: the ops read
    // before a bad line, in the batch it interrupts too, must still reach the run directory.
    let dir = tempfile::tempdir().unwrap();
    let mut text = String::new();
    for i in 0..2_500u64 {
        text.push_str(&format!(
            "{{:type :invoke, :f :add, :value {i}, :process 0, :index {}}}\n{{:type :ok, :f :add, :value {i}, :process 0, :index {}}}\n",
            2 * i,
            2 * i + 1
        ));
    }
    text.push_str("{:type :ok, :f :add, :value [1 2, :process 0}\n");
    std::fs::write(dir.path().join("h.edn"), text).unwrap();
    let out = rift(
        dir.path(),
        &["check", "h.edn", "--workload", "set", "--test-name", "deep"],
    );
    assert_eq!(code(&out), 254, "{}", stderr(&out));
    assert!(stderr(&out).contains("h.edn:5001"), "{}", stderr(&out));
    let copy = dir.path().join("results/deep/latest/history.jsonl");
    let kept = std::fs::read_to_string(copy).unwrap().lines().count();
    assert_eq!(kept, 5_000, "every op before the bad line is copied");
}

#[test]
fn a_knossos_cas_register_history_is_judged_linearizable_or_not_with_a_drawn_witness() {
    let dir = tempfile::tempdir().unwrap();
    let out = rift(
        dir.path(),
        &[
            "check",
            sample("cas-register-lost.edn").to_str().unwrap(),
            "-w",
            "cas-register",
            "--linear-time-budget",
            "5",
        ],
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("nonlinearizable"), "{stdout}");
    let results = latest_results(dir.path());
    let linear = &results["results"][1];
    assert_eq!(linear["checker"], "linearizable");
    assert_eq!(linear["figures"]["model"], "cas-register");
    let witness = &linear["anomalies"][0];
    // The read of 2 (op 6) cannot be placed; its bar is the failing one.
    let failing: Vec<&serde_json::Value> = witness["bars"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["failing"] == true)
        .collect();
    assert_eq!(failing.len(), 1, "{witness}");
    assert_eq!(failing[0]["index"], 6);
    let html = std::fs::read_to_string(dir.path().join("results/latest/report.html")).unwrap();
    let at = html.find("id=\"witness-0\"").expect("a witness timeline");
    assert!(html[at..].contains("<svg"));
    assert!(html[at..].contains("read"), "the failing op labelled");

    // Porcupine's kv shape: :key, strings, an indeterminate append that took effect.
    let out = rift(
        dir.path(),
        &[
            "check",
            sample("kv-porcupine.edn").to_str().unwrap(),
            "-w",
            "kv",
        ],
    );
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    // As Porcupine keeps them: EDN lines in a .txt file.
    std::fs::copy(sample("kv-porcupine.edn"), dir.path().join("c10-ok.txt")).unwrap();
    let out = rift(dir.path(), &["check", "c10-ok.txt", "-w", "kv"]);
    assert_eq!(code(&out), 0, "{}", stderr(&out));
    // A bad budget is a usage error naming the flag.
    let out = rift(
        dir.path(),
        &[
            "check",
            sample("kv-porcupine.edn").to_str().unwrap(),
            "-w",
            "kv",
            "--linear-memory-budget",
            "0",
        ],
    );
    assert_eq!(code(&out), 254, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--linear-memory-budget"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn jepsen_etcd_histories_get_porcupines_verdicts() {
    // Porcupine's own tests: etcd_000 is not linearizable, etcd_002 is.
    let dir = tempfile::tempdir().unwrap();
    for (log, exit) in [("etcd_000.log", 1), ("etcd_002.log", 0)] {
        let path = sample(&format!("jepsen-etcd/{log}"));
        let out = rift(
            dir.path(),
            &["check", path.to_str().unwrap(), "-w", "cas-register"],
        );
        assert_eq!(code(&out), exit, "{log}: {}", stderr(&out));
        let results = latest_results(dir.path());
        let linear = &results["results"][1];
        assert_eq!(linear["figures"]["model"], "cas-register", "{log}");
        // Timed-out ops (`:info`, valued `:timed-out`) are indeterminate, not dropped.
        assert!(
            linear["figures"]["indeterminate"].as_u64().unwrap() > 10,
            "{log}"
        );
    }
}

#[test]
fn a_plume_history_is_judged_as_rw_register_transactions() {
    // Plume's text format, as isolation checkers of the literature write it: each of two
    // transactions reads what the other wrote (G1c), which read committed forbids.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("history.txt"),
        "w(1,1,0,0)\nr(2,1,0,0)\nw(2,1,1,1)\nr(1,1,1,1)\n",
    )
    .unwrap();
    let check = |models: &str| {
        rift(
            dir.path(),
            &[
                "check",
                "history.txt",
                "-w",
                "rw-register",
                "--consistency-models",
                models,
            ],
        )
    };
    let out = check("read-committed");
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let results = latest_results(dir.path());
    let elle = results["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["checker"] == "rw-register")
        .unwrap();
    assert!(elle["summary"].as_str().unwrap().contains("G1c"), "{elle}");
    // Read uncommitted allows it.
    assert_eq!(code(&check("read-uncommitted")), 0);
    // A line that is not Plume's names its place.
    std::fs::write(dir.path().join("bad.plume"), "w(1,1,0,0)\nw(1,2)\n").unwrap();
    let out = rift(dir.path(), &["check", "bad.plume", "-w", "rw-register"]);
    assert_eq!(code(&out), 254);
    assert!(stderr(&out).contains("bad.plume:2"), "{}", stderr(&out));
}

#[test]
fn awdit_s_test_histories_are_checked_as_they_are_shipped() {
    // AWDIT's own test format (`r k v` lines, `-----`/`=====` between transactions and
    // sessions), as samples/awdit holds it: each sample holds at its level and fails the next.
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("read-atomic/test-ra.txt", "read-atomic", "causal"),
        (
            "read-committed/non-repeatable-read.txt",
            "strong-session-read-committed",
            "read-atomic",
        ),
    ];
    for (file, holds, fails) in cases {
        let path = sample(&format!("awdit/{file}"));
        let check = |model: &str| {
            rift(
                dir.path(),
                &[
                    "check",
                    path.to_str().unwrap(),
                    "-w",
                    "rw-register",
                    "--checkers",
                    "commit-order",
                    "--consistency-models",
                    model,
                ],
            )
        };
        let out = check(holds);
        assert_eq!(code(&out), 0, "{file} at {holds}: {}", stderr(&out));
        let out = check(fails);
        assert_eq!(code(&out), 1, "{file} at {fails}: {}", stderr(&out));
    }
}

#[test]
fn a_fractured_read_fails_read_atomic_and_the_report_says_which_edge_was_forced() {
    // Plume lines: session 0's txn 0 writes x and y; session 1's txn 1 reads y's initial state
    // (0), then T0's x: each read saw a committed state, not one snapshot.
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("h.plume"),
        "w(1,5,0,0)\nw(2,6,0,0)\nr(2,0,1,1)\nr(1,5,1,1)\n",
    )
    .unwrap();
    let check = |models: &str| {
        rift(
            dir.path(),
            &[
                "check",
                "h.plume",
                "-w",
                "rw-register",
                "--consistency-models",
                models,
            ],
        )
    };
    let out = check("read-atomic");
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let results = latest_results(dir.path());
    let co = results["results"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["checker"] == "commit-order")
        .unwrap();
    assert_eq!(co["anomaly_counts"]["fractured-read"], 1, "{co}");
    let html = std::fs::read_to_string(dir.path().join("results/latest/report.html")).unwrap();
    assert!(
        html.contains("forced by read atomic"),
        "the report explains the forced edge"
    );
    // Strong-session read committed allows it.
    assert_eq!(code(&check("strong-session-read-committed")), 0);
    // A list-append history claimed causal gets commit-order too; under serializable, Elle's
    // analysis decides alone.
    std::fs::write(
        dir.path().join("la.edn"),
        "{:process 0, :type :ok, :f :txn, :value [[:append :x 1]]}\n\
         {:process 1, :type :ok, :f :txn, :value [[:r :x [1]] [:append :y 2]]}\n\
         {:process 2, :type :ok, :f :txn, :value [[:r :y [2]] [:r :x []]]}\n",
    )
    .unwrap();
    let la = |models: &str| {
        let out = rift(
            dir.path(),
            &[
                "check",
                "la.edn",
                "-w",
                "list-append",
                "--consistency-models",
                models,
            ],
        );
        let results = latest_results(dir.path());
        let names: Vec<String> = results["results"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["checker"].as_str().unwrap().to_owned())
            .collect();
        (code(&out), names)
    };
    let (c, names) = la("causal");
    assert_eq!(c, 1);
    assert!(names.contains(&"commit-order".to_owned()), "{names:?}");
    let (c, names) = la("read-atomic");
    assert_eq!(c, 0, "read atomic allows a causality violation");
    assert!(names.contains(&"commit-order".to_owned()), "{names:?}");
    let (_, names) = la("serializable");
    assert!(!names.contains(&"commit-order".to_owned()), "{names:?}");
    // --checkers runs those alone; a name rift does not have is a usage error naming them.
    let out = rift(
        dir.path(),
        &[
            "check",
            "h.plume",
            "-w",
            "rw-register",
            "--checkers",
            "commit-order",
        ],
    );
    assert_eq!(code(&out), 1, "{}", stderr(&out));
    let results = latest_results(dir.path());
    assert_eq!(results["results"].as_array().unwrap().len(), 1);
    assert_eq!(results["results"][0]["checker"], "commit-order");
    let out = rift(
        dir.path(),
        &[
            "check",
            "h.plume",
            "-w",
            "rw-register",
            "--checkers",
            "isolation",
        ],
    );
    assert_eq!(code(&out), 254, "{}", stderr(&out));
    assert!(
        stderr(&out).contains("no checker named \"isolation\""),
        "{}",
        stderr(&out)
    );
}
