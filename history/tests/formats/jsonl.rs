use crate::common::client;
use history::jsonl::{self, JsonlReader};
use history::{HistoryError, HistoryWriter, Op, OpType, Value};
use std::io::Cursor;

fn read(text: &str) -> (Vec<Result<Op, HistoryError>>, Vec<String>) {
    let mut r = JsonlReader::new(Cursor::new(text.as_bytes().to_vec()));
    let ops: Vec<_> = r.by_ref().collect();
    (ops, r.warnings())
}

#[test]
fn writer_assigns_dense_indexes_and_reader_gets_every_op_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.jsonl");
    let w = HistoryWriter::create(&path).unwrap();
    let mut sent = Vec::new();
    for i in 0..1000u64 {
        let kind = if i % 2 == 0 {
            OpType::Invoke
        } else {
            OpType::Ok
        };
        let op = Op::new(kind, client(i / 2 % 7), "add", Value::Int(i as i64)).at(99, i * 10);
        let index = w.record(op.clone()).unwrap();
        assert_eq!(index, i);
        sent.push(Op { index: i, ..op });
    }
    assert_eq!(w.close().unwrap(), 1000);
    let loaded = jsonl::load(&path).unwrap();
    assert_eq!(loaded.ops, sent);
    assert!(loaded.warnings.is_empty());
}

#[test]
fn concurrent_recorders_get_unique_dense_indexes_in_file_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("history.jsonl");
    let w = HistoryWriter::create(&path).unwrap();
    std::thread::scope(|s| {
        for t in 0..4u64 {
            let w = &w;
            s.spawn(move || {
                for i in 0..500 {
                    w.record(Op::new(OpType::Invoke, client(t), "read", Value::Int(i)))
                        .unwrap();
                }
            });
        }
    });
    w.close().unwrap();
    let ops = jsonl::load(&path).unwrap().ops;
    assert_eq!(ops.len(), 2000);
    assert!(ops.iter().enumerate().all(|(i, op)| op.index == i as u64));
    for t in 0..4 {
        let mine: Vec<i64> = ops
            .iter()
            .filter(|o| o.process == client(t))
            .map(|o| o.value.as_int().unwrap())
            .collect();
        assert_eq!(
            mine,
            (0..500).collect::<Vec<_>>(),
            "process {t} kept its order"
        );
    }
}

#[test]
fn a_cut_short_last_line_is_dropped_with_a_warning_and_the_rest_kept() {
    let text = concat!(
        r#"{"index":0,"time":1,"type":"invoke","process":0,"f":"read","value":null}"#,
        "\n",
        r#"{"index":1,"time":2,"type":"ok","process":0,"f":"read","value":3}"#,
        "\n",
        r#"{"index":2,"time":3,"type":"inv"#
    );
    let (ops, warnings) = read(text);
    assert_eq!(ops.len(), 2);
    assert!(ops.iter().all(Result::is_ok));
    assert_eq!(warnings.len(), 1);
    assert!(warnings[0].contains("line 3"), "{}", warnings[0]);
    assert!(warnings[0].contains("kept the 2 ops"), "{}", warnings[0]);
}

#[test]
fn a_complete_last_line_without_newline_is_an_op() {
    let text = r#"{"index":0,"time":1,"type":"invoke","process":0,"f":"read","value":null}"#;
    let (ops, warnings) = read(text);
    assert_eq!(ops.len(), 1);
    assert!(ops[0].is_ok() && warnings.is_empty());
}

#[test]
fn a_malformed_line_in_the_middle_is_an_error_naming_the_line() {
    let text = concat!(
        r#"{"index":0,"time":1,"type":"invoke","process":0,"f":"read","value":null}"#,
        "\n\n",
        r#"{"index":1,"time":2,"type":"maybe","process":0,"f":"read","value":3}"#,
        "\n",
        r#"{"index":2,"time":3,"type":"ok","process":0,"f":"read","value":3}"#,
        "\n",
    );
    let (ops, _) = read(text);
    assert_eq!(ops.len(), 2, "reading stops at the error");
    let e = ops[1].as_ref().unwrap_err().to_string();
    assert!(e.starts_with("line 3: malformed op:"), "{e}");
    assert!(
        e.contains("\"maybe\" is not one of invoke, ok, fail, info"),
        "{e}"
    );
}

#[test]
fn missing_fields_and_bad_processes_are_named() {
    // Elle's histories may leave the process out: such an op is a process of its own.
    let (ops, _) = read("{\"type\":\"ok\",\"f\":\"read\"}\n");
    assert_eq!(
        ops[0].as_ref().unwrap().process,
        history::Process::Client(history::UNNAMED_PROCESS_BASE)
    );
    for (line, expected) in [
        (
            r#"{"type":"ok","process":-1,"f":"read"}"#,
            "non-negative integer or a name",
        ),
        (r#"{"type":"ok","process":1}"#, "missing f"),
        (r#"[1,2]"#, "invalid type: sequence"),
        (
            r#"{"type":"ok","process":1,"f":"x"} trailing"#,
            "trailing characters",
        ),
    ] {
        let (ops, _) = read(&format!("{line}\n"));
        let e = ops[0].as_ref().unwrap_err().to_string();
        assert!(e.contains(expected), "{line}: {e}");
        assert!(e.starts_with("line 1:"), "{e}");
    }
}

#[test]
fn indexes_must_increase_and_missing_ones_continue_the_sequence() {
    let text = "{\"type\":\"invoke\",\"process\":0,\"f\":\"r\"}\n\
                {\"type\":\"ok\",\"process\":0,\"f\":\"r\"}\n\
                {\"index\":1,\"type\":\"invoke\",\"process\":0,\"f\":\"r\"}\n";
    let (ops, _) = read(text);
    assert_eq!(ops[0].as_ref().unwrap().index, 0);
    assert_eq!(ops[1].as_ref().unwrap().index, 1);
    assert_eq!(
        ops[1].as_ref().unwrap().time,
        1,
        "time defaults to the index"
    );
    let e = ops[2].as_ref().unwrap_err().to_string();
    assert!(
        e.contains("line 3") && e.contains("index 1 does not come after"),
        "{e}"
    );
}

#[test]
fn writer_refuses_to_append_out_of_order_and_reports_a_closed_file() {
    let dir = tempfile::tempdir().unwrap();
    let w = HistoryWriter::create(dir.path().join("h.jsonl")).unwrap();
    w.append(Op::new(OpType::Invoke, client(0), "r", Value::Nil).at(5, 5))
        .unwrap();
    let e = w
        .append(Op::new(OpType::Ok, client(0), "r", Value::Nil).at(5, 6))
        .unwrap_err();
    assert!(
        e.to_string().contains("not after the last one written (5)"),
        "{e}"
    );
    assert_eq!(
        w.record(Op::new(OpType::Ok, client(0), "r", Value::Nil))
            .unwrap(),
        6
    );
    assert_eq!(w.close().unwrap(), 7);

    let missing = dir.path().join("no/such/dir/h.jsonl");
    let e = HistoryWriter::create(&missing).unwrap_err().to_string();
    assert!(e.contains("no/such/dir/h.jsonl"), "{e}");
}

#[test]
fn a_json_array_of_jepsen_ops_reads_as_a_history_and_errors_name_the_line() {
    // As elle-cli reads Jepsen's JSON: an array, keywords as strings, no index or time.
    let text = br#"[
  {"type": "invoke", "process": 0, "f": "txn", "value": [["append", "x", 1], ["r", "y", null]]},
  {"type": "ok", "process": 0, "f": "txn", "value": [["append", "x", 1], ["r", "y", [2]]]},
  {"type": "ok", "value": [["r", "x", [1]]]}
]"#;
    let loaded = history::jsonl::parse_array(text, None).unwrap();
    assert_eq!(loaded.ops.len(), 3);
    assert_eq!(loaded.ops[2].index, 2);
    assert_eq!(&*loaded.ops[2].f, "txn");
    let bad = b"[\n{\"type\": \"ok\", \"process\": 0, \"f\": \"r\"},\n{\"type\": \"later\"}\n]";
    let e = history::jsonl::parse_array(bad, None)
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("line 3:") && e.contains("later"), "{e}");
}
