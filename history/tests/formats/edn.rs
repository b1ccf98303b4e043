use crate::common::client;
use history::edn;
use history::pairing::Outcome;
use history::{OpType, Pairing, Process, Value};

/// In the shape Jepsen writes `history.edn`: one map per line, keywords, a nemesis that logs
/// `:info` start/stop pairs, a client that crashes (`:info`) and comes back as process 3, and
/// list-append transactions with reads of vectors.
const JEPSEN: &str = r#"{:index 0, :time 10, :type :invoke, :process 0, :f :txn, :value [[:append 9 1] [:r 9 nil]]}
{:index 1, :time 12, :type :invoke, :process 1, :f :txn, :value [[:r 9 nil]]}
{:index 2, :time 20, :type :info, :process :nemesis, :f :start-partition, :value :majority}
{:index 3, :time 31, :type :ok, :process 0, :f :txn, :value [[:append 9 1] [:r 9 [1]]]}
{:index 4, :time 40, :type :info, :process 1, :f :txn, :value [[:r 9 nil]], :error [:timeout "no reply in 5 s"]}
{:index 5, :time 50, :type :info, :process :nemesis, :f :start-partition, :value [:isolated {"n1" #{"n2" "n3"}}]}
{:index 6, :time 60, :type :invoke, :process 3, :f :txn, :value [[:append :x 2]]}
{:index 7, :time 70, :type :fail, :process 3, :f :txn, :value [[:append :x 2]], :error :unavailable}
; the nemesis heals; a record-style op from jepsen.history
#jepsen.history.Op{:index 8, :time 80, :type :info, :process :nemesis, :f :stop-partition, :value nil}
{:index 9, :time 90, :type :info, :process :nemesis, :f :stop-partition, :value :network-healed, :clock-offsets {"n1" 0.25}}
"#;

#[test]
fn imports_a_jepsen_history_with_nemesis_crashes_and_transactions() {
    let ops = edn::parse(JEPSEN, None).unwrap();
    assert_eq!(ops.len(), 10);
    assert_eq!(ops[2].process, Process::Named("nemesis".into()));
    assert_eq!(&*ops[2].f, "start-partition");
    assert_eq!(ops[2].value, Value::from("majority"));
    assert_eq!(ops[3].kind, OpType::Ok);
    assert_eq!(
        ops[3].value,
        Value::List(vec![
            Value::List(vec!["append".into(), 9.into(), 1.into()]),
            Value::List(vec!["r".into(), 9.into(), Value::List(vec![1.into()])]),
        ])
    );
    assert_eq!(
        ops[4].error,
        Some(Value::List(vec![
            "timeout".into(),
            "no reply in 5 s".into()
        ]))
    );
    let isolated = ops[5].value.as_seq().unwrap()[1].get("n1").unwrap();
    assert_eq!(isolated, &Value::set(vec!["n3".into(), "n2".into()]));
    assert_eq!(ops[8].index, 8, "tagged records are read as their map");
    assert_eq!(
        ops[9].extra,
        vec![(
            "clock-offsets".to_string(),
            Value::map(vec![("n1".into(), Value::Float(0.25))])
        )]
    );

    let pairs = Pairing::build(&ops).unwrap();
    assert_eq!(pairs.outcome(&ops, 0), Outcome::Ok);
    assert_eq!(
        pairs.outcome(&ops, 1),
        Outcome::Indeterminate,
        "the crashed client"
    );
    assert_eq!(pairs.outcome(&ops, 6), Outcome::Fail);
    assert_eq!(
        pairs.partner(2),
        Some(5),
        "nemesis start pairs with its completion"
    );
    assert_eq!(pairs.partner(8), Some(9));
}

#[test]
fn imports_elle_style_vectors_without_index_or_time() {
    let text = "[{:type :invoke, :process 0, :f :txn, :value [[:w :x 1]]}\n \
                {:type :ok, :process 0, :f :txn, :value [[:w :x 1]]}]\n\
                {:type :invoke, :process 1, :f :read, :value nil}";
    let ops = edn::parse(text, None).unwrap();
    assert_eq!(
        ops.iter().map(|o| o.index).collect::<Vec<_>>(),
        vec![0, 1, 2]
    );
    assert_eq!(
        ops.iter().map(|o| o.time).collect::<Vec<_>>(),
        vec![0, 1, 2]
    );
    assert_eq!(ops[2].process, client(1));
}

#[test]
fn ops_without_f_or_process_as_elle_writes_them_are_transactions_of_their_own_processes() {
    let text = "{:type :ok, :value [[:append :x 1] [:r :y [2]]]}\n\
                {:type :ok, :value [[:r :x [1]]], :process 3}";
    let ops = edn::parse(text, None).unwrap();
    assert_eq!(&*ops[0].f, "txn");
    assert_eq!(ops[0].process, client(history::UNNAMED_PROCESS_BASE));
    assert_eq!(ops[1].process, client(3));
    // Without f, only a transaction can be understood.
    let e = edn::parse("{:type :ok, :value 3, :process 0}", None)
        .unwrap_err()
        .to_string();
    assert!(e.contains("line 1") && e.contains("missing f"), "{e}");
}

#[test]
fn errors_name_the_line_and_what_is_wrong() {
    let cases = [
        (
            "{:type :ok, :process 0, :f :r}\n\n{:type :ok :process 0",
            "line 3: malformed op: not valid EDN: the input ends inside a form",
        ),
        (
            "{:type :ok, :process 0, :f :r}\n{:process 0, :f :r}",
            "line 2: malformed op: missing :type",
        ),
        (
            "\n\n{:type :later, :process 0, :f :r}",
            "line 3: malformed op: type must be one of",
        ),
        (
            "{:type :ok, :process -2, :f :r}",
            "process must be a non-negative integer or a name",
        ),
        (
            "[{:type :ok, :process 0, :f :r} 7]",
            "line 1: malformed op: element 1: expected an op map, found an integer",
        ),
        (
            "{:index 4 :type :ok, :process 0, :f :r}\n{:index 2 :type :ok, :process 0, :f :r}",
            "line 2: malformed op: index 2 does not come after",
        ),
        (
            "{:type :ok, :process 0, :f :r, :value #{1 1}}",
            "a set holds an element twice",
        ),
        (
            "{:type :ok, :process 0, :f :r, :value #{:a \"a\"}}",
            "a set holds the element \"a\" twice",
        ),
    ];
    for (text, expected) in cases {
        let e = edn::parse(text, None).unwrap_err().to_string();
        assert!(
            e.contains(expected),
            "{text:?}\n  gave: {e}\n  want: {expected}"
        );
    }
}

#[test]
fn refuses_deep_nesting_instead_of_overflowing_the_stack() {
    let deep = format!(
        "{{:type :ok :process 0 :f :r :value {}{}}}",
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let e = edn::parse(&deep, None).unwrap_err().to_string();
    assert!(e.contains("nested too deeply"), "{e}");
}

#[test]
fn exports_keywords_where_jepsen_expects_them() {
    let ops = edn::parse(JEPSEN, None).unwrap();
    let mut text = Vec::new();
    edn::write_ops(&mut text, &ops).unwrap();
    let text = String::from_utf8(text).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines[0],
        "{:index 0, :time 10, :type :invoke, :process 0, :f :txn, :value [[:append 9 1] [:r 9 nil]]}"
    );
    assert!(
        lines[2].contains(":process :nemesis, :f :start-partition, :value \"majority\""),
        "{}",
        lines[2]
    );
    assert!(
        lines[9].ends_with(":clock-offsets {\"n1\" 0.25}}"),
        "{}",
        lines[9]
    );
    assert_eq!(edn::parse(&text, None).unwrap(), ops);
}

#[test]
fn the_streaming_reader_gives_the_same_ops_holding_one_form_at_a_time() {
    use std::io::Write;
    // 60 000 ops, one per line (several times the reader's 1 MiB of read-ahead), and an
    // Elle-style vector form at the end.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.edn");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    for i in 0..30_000u64 {
        writeln!(
            f,
            "{{:process {}, :type :invoke, :f :txn, :value [[:append :x {i}] [:r :y nil]]}}",
            i % 7
        )
        .unwrap();
        writeln!(
            f,
            "{{:process {}, :type :ok, :f :txn, :value [[:append :x {i}] [:r :y [1 2 3]]]}} ; done",
            i % 7
        )
        .unwrap();
    }
    writeln!(f, "[{{:process 9, :type :ok, :f :read, :value #{{1 2}}}}\n {{:process 9, :type :ok, :f :read, :value nil}}]").unwrap();
    drop(f);
    let text = std::fs::read_to_string(&path).unwrap();
    let whole = history::edn::parse(&text, Some(&path)).unwrap();
    let mut reader = history::edn::EdnReader::open(&path).unwrap();
    let mut streamed = Vec::new();
    let mut most = 0;
    while let Some(op) = reader.next() {
        streamed.push(op.unwrap());
        most = most.max(reader.buffered());
    }
    assert_eq!(streamed.len(), 60_002);
    assert_eq!(streamed, whole);
    let size = std::fs::metadata(&path).unwrap().len() as usize;
    assert!(
        most <= (1 << 20) + 4096 && most < size / 3,
        "held {most} bytes of {size} at once: it should hold its read-ahead and about one line"
    );
    // An error names the file and the line, as the whole-text parser does.
    std::fs::write(
        &path,
        format!(
            "{}{{:process 1, :type :ok, :f :txn, :value [[:r :x}}\n",
            text.lines()
                .take(3)
                .map(|l| format!("{l}\n"))
                .collect::<String>()
        ),
    )
    .unwrap();
    let e = history::edn::EdnReader::open(&path)
        .unwrap()
        .find_map(Result::err)
        .unwrap()
        .to_string();
    assert!(e.contains("h.edn:4"), "{e}");
}
