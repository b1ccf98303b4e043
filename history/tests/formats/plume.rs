//! Plume's text histories: transactions of `r`/`w` lines become rw-register txns, sessions
//! become processes, 0 is the initial value, `-1` an aborted write; mistakes name their line.

use history::{Format, OpType, Process, Value, plume};

fn mop(f: &str, k: i64, v: Option<i64>) -> Value {
    Value::List(vec![
        Value::Str(f.into()),
        Value::Int(k),
        v.map_or(Value::Nil, Value::Int),
    ])
}

#[test]
fn transactions_become_txns_of_their_session() {
    let text = "w(1,5,0,3)\nr(2,0,0,3)\n\nr(1,5,7,4)\nw(2,9,7,4)\nw(1,8,0,-1)\nr(2,9,0,6)\n";
    let ops = plume::parse(text, None).unwrap();
    let shape: Vec<(u64, OpType, Process)> = ops
        .iter()
        .map(|o| (o.index, o.kind, o.process.clone()))
        .collect();
    assert_eq!(
        shape,
        [
            (0, OpType::Invoke, Process::Client(0)),
            (1, OpType::Ok, Process::Client(0)),
            (2, OpType::Invoke, Process::Client(7)),
            (3, OpType::Ok, Process::Client(7)),
            (4, OpType::Invoke, Process::Client(0)),
            (5, OpType::Fail, Process::Client(0)),
            (6, OpType::Invoke, Process::Client(0)),
            (7, OpType::Ok, Process::Client(0)),
        ]
    );
    assert!(ops.iter().all(|o| &*o.f == "txn" && o.time == o.index));
    // Reads are open in the invocation; a read of 0 read nothing written.
    assert_eq!(
        ops[0].value,
        Value::List(vec![mop("w", 1, Some(5)), mop("r", 2, None)])
    );
    assert_eq!(
        ops[1].value,
        Value::List(vec![mop("w", 1, Some(5)), mop("r", 2, None)])
    );
    assert_eq!(
        ops[3].value,
        Value::List(vec![mop("r", 1, Some(5)), mop("w", 2, Some(9))])
    );
    assert_eq!(ops[5].value, Value::List(vec![mop("w", 1, Some(8))]));
}

#[test]
fn mistakes_name_their_line() {
    let cases = [
        (
            "w(1,5,0,3)\nx(1,2,3,4)\n",
            2,
            "expected r(key,value,session,txn)",
        ),
        (
            "w(1,5,0,3)\nw(1,5,0)\n",
            2,
            "expected r(key,value,session,txn)",
        ),
        ("w(1,a,0,3)\n", 1, "the value must be an integer"),
        (
            "w(1,5,-2,3)\n",
            1,
            "the session must be a non-negative integer",
        ),
        ("r(1,5,0,-1)\n", 1, "only a write can be aborted"),
        ("w(1,5,0,3)\nw(2,5,1,3)\n", 2, "began in session 0 (line 1)"),
        (
            "w(1,5,0,3)\nw(2,5,0,4)\nw(3,5,0,3)\n",
            3,
            "comes back after other transactions",
        ),
    ];
    for (text, line, says) in cases {
        let e = plume::parse(text, Some(std::path::Path::new("h.txt"))).unwrap_err();
        let shown = e.to_string();
        assert!(
            shown.contains(&format!("h.txt:{line}")),
            "{text:?}: {shown}"
        );
        assert!(shown.contains(says), "{text:?}: {shown}");
    }
}

#[test]
fn a_file_of_plume_lines_is_told_by_its_content() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["history.txt", "history", "h.plume", "h.log"] {
        let path = dir.path().join(name);
        std::fs::write(&path, "\nr(1,0,0,0)\nw(1,1,0,0)\n").unwrap();
        assert_eq!(Format::of_file(&path), Some(Format::Plume), "{name}");
        assert_eq!(history::load(&path).unwrap().ops.len(), 2, "{name}");
    }
    // A Jepsen text log stays one.
    let log = dir.path().join("jepsen.log");
    std::fs::write(&log, "INFO  jepsen.util - 3\t:invoke\t:read\tnil\n").unwrap();
    assert_eq!(Format::of_file(&log), Some(Format::Text));
}

#[test]
fn awdit_s_test_format_is_read_with_its_sessions_and_its_written_zeros() {
    let text = "w 0 0\nw 1 0\n=====\nr 0 0\nw 0 1\n-----\nr 1 0\n=====\n\nr 0 1\nw 1 2\n";
    let ops = plume::parse(text, None).unwrap();
    let shape: Vec<(OpType, Process, Value)> = ops
        .iter()
        .filter(|o| o.kind != OpType::Invoke)
        .map(|o| (o.kind, o.process.clone(), o.value.clone()))
        .collect();
    let ok = OpType::Ok;
    assert_eq!(
        shape,
        [
            (
                ok,
                Process::Client(0),
                Value::List(vec![mop("w", 0, Some(0)), mop("w", 1, Some(0))])
            ),
            // A read of 0 read the first session's write of 0: it is not nil here.
            (
                ok,
                Process::Client(1),
                Value::List(vec![mop("r", 0, Some(0)), mop("w", 0, Some(1))])
            ),
            (
                ok,
                Process::Client(1),
                Value::List(vec![mop("r", 1, Some(0))])
            ),
            (
                ok,
                Process::Client(2),
                Value::List(vec![mop("r", 0, Some(1)), mop("w", 1, Some(2))])
            ),
        ]
    );
    assert_eq!(ops.len(), 8);
    assert!(ops.windows(2).all(|w| w[0].index + 1 == w[1].index));
    // Its mistakes name their line too.
    let e = plume::parse(
        "w 0 0\n=====\nr 0 zero\n",
        Some(std::path::Path::new("t.txt")),
    )
    .unwrap_err()
    .to_string();
    assert!(
        e.contains("t.txt:3") && e.contains("the value must be an integer"),
        "{e}"
    );
    let e = plume::parse("w 0 0\nr(1,0,0,0)\n", Some(std::path::Path::new("t.txt")))
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("t.txt:2") && e.contains("AWDIT's test format"),
        "{e}"
    );
    // And a file of it is told by its content.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("long-fork.txt");
    std::fs::write(&path, text).unwrap();
    assert_eq!(Format::of_file(&path), Some(Format::Plume));
    assert_eq!(history::load(&path).unwrap().ops, ops);
}
