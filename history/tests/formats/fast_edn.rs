//! The EDN reader's fast path reads what the general parser reads, and gives way to it on
//! everything else: random histories in Jepsen's and Elle's shapes, with values of every kind,
//! blanks, comments, tags, the forms only the general parser reads, and mistakes, must give the
//! same ops, or the same error at the same line, with and without the fast path.

use history::edn;
use proptest::prelude::*;

fn keyword() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(":x".to_owned()),
        Just(":append".to_owned()),
        Just(":r".to_owned()),
        "[a-z][a-z0-9*+!_?<>=.-]{0,6}".prop_map(|s| format!(":{s}")),
        "[a-z]{1,4}/[a-z]{1,4}".prop_map(|s| format!(":{s}")),
        "[a-z]{1,4}\\.[a-z]{1,4}/[a-z-]{1,5}".prop_map(|s| format!(":{s}")),
    ]
}

fn string() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z ]{0,8}".prop_map(|s| format!("\"{s}\"")),
        // Escapes, Unicode, a raw newline, and escapes only the general parser reads.
        prop::collection::vec(
            prop_oneof![
                Just("\\\"".to_owned()),
                Just("\\\\".to_owned()),
                Just("\\n".to_owned()),
                Just("\\t".to_owned()),
                Just("\\r".to_owned()),
                Just("\\u00e9".to_owned()),
                Just("é".to_owned()),
                Just("日本".to_owned()),
                Just("\n".to_owned()),
                Just(";".to_owned()),
                Just("}".to_owned()),
                "[a-z]{1,3}",
            ],
            0..5
        )
        .prop_map(|parts| format!("\"{}\"", parts.concat())),
    ]
}

fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        (0i64..100).prop_map(|n| n.to_string()),
        (-100i64..0).prop_map(|n| n.to_string()),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| format!("{f:?}")),
        (0u32..1000, 0u32..100).prop_map(|(a, b)| format!("{a}.{b}")),
        (1u32..10, -5i32..5).prop_map(|(a, e)| format!("{a}e{e}")),
        (1u32..10, 0u32..10, -5i32..5).prop_map(|(a, b, e)| format!("-{a}.{b}E{e}")),
        // Only the general parser reads these (or refuses them).
        Just("9223372036854775808".to_owned()),
        Just("12N".to_owned()),
        Just("1.5M".to_owned()),
        Just("1/2".to_owned()),
        Just("007".to_owned()),
        Just("+3".to_owned()),
        Just("-0".to_owned()),
    ]
}

fn atom() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => number(),
        3 => keyword(),
        2 => string(),
        1 => Just("nil".to_owned()),
        1 => Just("true".to_owned()),
        1 => Just("false".to_owned()),
        // The general parser's alone: a symbol, a character, a discard, a named value.
        1 => prop_oneof![
            Just("sym".to_owned()),
            Just("\\a".to_owned()),
            Just("\\newline".to_owned()),
            Just("#_ 3 4".to_owned()),
            Just("#inst \"2026-01-01\"".to_owned()),
            Just("##NaN".to_owned()),
            Just("nilly".to_owned()),
        ],
    ]
}

fn sep() -> BoxedStrategy<String> {
    prop_oneof![
        6 => Just(" ".to_owned()),
        2 => Just(", ".to_owned()),
        1 => Just("\n  ".to_owned()),
        1 => Just(" ; a comment\n".to_owned()),
        1 => Just("\t,".to_owned()),
    ]
    .boxed()
}

fn value() -> impl Strategy<Value = String> {
    atom().prop_recursive(4, 24, 5, |inner| {
        let items = prop::collection::vec((inner.clone(), sep()), 0..5).boxed();
        prop_oneof![
            items.clone().prop_map(|xs| format!("[{}]", join(xs))),
            items.clone().prop_map(|xs| format!("({})", join(xs))),
            items.prop_map(|xs| format!("#{{{}}}", join(xs))),
            prop::collection::vec((inner.clone(), inner), 0..4).prop_map(|kv| {
                let body: Vec<String> = kv.into_iter().map(|(k, v)| format!("{k} {v}")).collect();
                format!("{{{}}}", body.join(", "))
            }),
        ]
    })
}

fn join(xs: Vec<(String, String)>) -> String {
    let n = xs.len();
    xs.into_iter()
        .enumerate()
        .map(|(i, (x, s))| if i + 1 < n { format!("{x}{s}") } else { x })
        .collect()
}

/// A micro-op transaction, as list-append histories carry.
fn txn() -> impl Strategy<Value = String> {
    prop::collection::vec(
        (
            any::<bool>(),
            0u32..5,
            prop::collection::vec(0u32..50, 0..6),
            any::<bool>(),
        ),
        1..4,
    )
    .prop_map(|mops| {
        let parts: Vec<String> = mops
            .into_iter()
            .map(|(append, k, xs, nil)| match (append, nil) {
                (true, _) => format!("[:append {k} {}]", xs.first().unwrap_or(&0)),
                (false, true) => format!("[:r {k} nil]"),
                (false, false) => format!(
                    "[:r {k} [{}]]",
                    xs.iter().map(u32::to_string).collect::<Vec<_>>().join(" ")
                ),
            })
            .collect();
        format!("[{}]", parts.join(" "))
    })
}

/// One op map's fields, in some order, now and then with a mistake.
/// Keys besides the four every op has: any keyword, and the importer's own (written twice now
/// and then, and `:final` beside `:final?`, where the general parser's order decides).
fn extra_key() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => keyword(),
        1 => Just(":final".to_owned()),
        1 => Just(":final?".to_owned()),
        1 => Just(":error".to_owned()),
        1 => Just(":node".to_owned()),
        1 => Just(":time".to_owned()),
    ]
}

fn extra_value() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => value(),
        1 => Just("true".to_owned()),
        1 => Just("false".to_owned()),
        1 => Just("nil".to_owned()),
        1 => Just("\"n2\"".to_owned()),
    ]
}

fn op_map(index: u64) -> impl Strategy<Value = String> {
    (
        prop_oneof![
            6 => Just(":invoke"), 6 => Just(":ok"), 1 => Just(":fail"), 1 => Just(":info"),
            1 => Just(":bogus"), 1 => Just("\"ok\""),
        ],
        prop_oneof![5 => (0u64..6).prop_map(|p| p.to_string()), 1 => Just(":nemesis".to_owned()), 1 => Just("-1".to_owned())],
        prop_oneof![3 => txn(), 3 => value()],
        prop_oneof![Just(":txn"), Just(":read"), Just(":add"), Just("\"write\"")],
        // Which optional fields, and how the index goes.
        (any::<bool>(), any::<bool>(), 0u8..10, prop::collection::vec((extra_key(), extra_value()), 0..3)),
        any::<u64>(),
        sep(),
    )
        .prop_map(move |(kind, process, value, f, (time, node, index_how, extras), shuffle, sep)| {
            let mut fields = vec![
                format!(":type {kind}"),
                format!(":process {process}"),
                format!(":f {f}"),
                format!(":value {value}"),
            ];
            match index_how {
                0 => {}
                1 => fields.push(":index 0".into()),
                2 => fields.push(":index :x".into()),
                3 => fields.push(":type :ok".into()),
                _ => fields.push(format!(":index {index}")),
            }
            if time {
                fields.push(format!(":time {}", index * 10));
            }
            if node {
                fields.push(":node \"n1\"".into());
            }
            for (k, v) in extras {
                fields.push(format!("{k} {v}"));
            }
            let n = fields.len();
            for i in 0..n {
                fields.swap(i, (shuffle >> (i * 4)) as usize % n);
            }
            format!("{{{}}}", fields.join(&format!(",{sep}")))
        })
}

/// A history: op maps one per line (some tagged, some sharing a line, a comment between), now
/// and then an Elle-style vector of ops, and maybe a form cut short at the end.
fn history() -> impl Strategy<Value = String> {
    (1u64..12)
        .prop_flat_map(|n| {
            let forms: Vec<_> = (0..n)
                .map(|i| (op_map(i * 2 + 1), 0u8..12, op_map(i * 2 + 2)))
                .collect();
            (forms, 0u8..8)
        })
        .prop_map(|(forms, end)| {
            let mut text = String::new();
            for (a, how, b) in forms {
                match how {
                    0 => text.push_str(&format!("#jepsen.history.Op{a}\n")),
                    1 => text.push_str(&format!("#jepsen.history.Op {a}\n")),
                    2 => text.push_str(&format!("[{a}\n {b}]\n")),
                    3 => text.push_str(&format!("{a} {b}\n")),
                    4 => text.push_str(&format!("; a comment {{\n{a}\n")),
                    5 => text.push_str(&format!("{a}\r\n")),
                    6 => text.push_str(&format!("\u{a0}{a}\n")),
                    _ => text.push_str(&format!("{a}\n")),
                }
            }
            match end {
                0 => text.push_str("{:type :ok, :process 1, :f :txn, :value [[:r 1"),
                1 => text.push_str("{:type :ok, :process 1, :f :read, :value \"open"),
                2 => text.push_str(":ok"),
                _ => {}
            }
            text
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn the_fast_path_reads_what_the_general_parser_reads(text in history()) {
        let path = std::path::Path::new("h.edn");
        let fast = edn::parse(&text, Some(path));
        let general = edn::parse_general(&text, Some(path));
        match (&fast, &general) {
            (Ok(a), Ok(b)) => prop_assert_eq!(a, b, "{}", text),
            (Err(a), Err(b)) => prop_assert_eq!(a.to_string(), b.to_string(), "{}", text),
            _ => prop_assert!(false, "fast {:?}\ngeneral {:?}\n{}", fast, general, text),
        }
    }
}

#[test]
fn the_fast_path_reads_jepsen_op_maps_itself() {
    // Not through the general parser: the same ops, and the general parser is slower on them.
    let mut text = String::new();
    for i in 0..2000 {
        text.push_str(&format!(
            "{{:type :invoke, :f :txn, :value [[:append {} {i}] [:r 3 nil]], :time {}, :process {}, :index {}}}\n",
            i % 7, i * 1000, i % 5, 2 * i
        ));
        text.push_str(&format!(
            "#jepsen.history.Op{{:type :ok, :f :txn, :value [[:append {} {i}] [:r 3 [1 2 3]]], :time {}, :process {}, :index {}, :node \"n1\", :error [:timeout \"é\"]}}\n",
            i % 7, i * 1000 + 1, i % 5, 2 * i + 1
        ));
    }
    let fast = edn::parse(&text, None).unwrap();
    let general = edn::parse_general(&text, None).unwrap();
    assert_eq!(fast.len(), 4000);
    assert_eq!(fast, general);
}

#[test]
fn the_fast_path_agrees_on_the_cases_order_decides() {
    // Each history, read with and without the fast path: the same ops, or the same error.
    let cases = [
        // Both `:final` and `:final?`: the general parser's map is sorted, so `:final?` wins.
        "{:type :ok, :process 1, :f :read, :value 1, :final? true, :final false}\n",
        "{:type :ok, :process 1, :f :read, :value 1, :final false, :final? true}\n",
        "{:final? false, :final true, :type :ok, :process 1, :f :read, :value 1}\n",
        // Other keys come out sorted.
        "{:zeta 1, :type :ok, :alpha 2, :process 1, :f :read, :mid 3, :value 1}\n",
        // A key twice: the general parser's error.
        "{:type :ok, :process 1, :f :read, :value 1, :x 1, :x 2}\n",
        "{:type :ok, :process 1, :f :read, :value 1, :time 3, :time 4}\n",
        // A raw line end in a string, then a mistake: the error's line counts it.
        "{:type :ok, :process 1, :f :read, :value \"a\nb\"}\n{:type :ok, :process 1, :f :read, :value 1, :index 0}\n",
        "{:type :ok, :process 1, :f :read, :value \"a\nb\"}\n\n{:type :bogus, :process 1, :f :read}\n",
    ];
    for text in cases {
        let fast = edn::parse(text, None);
        let general = edn::parse_general(text, None);
        match (&fast, &general) {
            (Ok(a), Ok(b)) => assert_eq!(a, b, "{text}"),
            (Err(a), Err(b)) => assert_eq!(a.to_string(), b.to_string(), "{text}"),
            _ => panic!("fast {fast:?}\ngeneral {general:?}\n{text}"),
        }
    }
    // And the first case is read as `:final?` says.
    let ops = edn::parse(cases[1], None).unwrap();
    assert!(ops[0].is_final);
}

#[test]
fn a_huge_final_read_is_read_whole() {
    // Longer than the point where the fast path stops doubling its room and estimates it.
    let n = 300_000;
    let items: Vec<String> = (0..n).map(|i| (i * 7).to_string()).collect();
    let text = format!(
        "{{:type :invoke, :f :read, :process 0, :value nil}}\n{{:type :ok, :f :read, :process 0, :value [{}], :final? true}}\n",
        items.join(" ")
    );
    let fast = edn::parse(&text, None).unwrap();
    assert_eq!(fast, edn::parse_general(&text, None).unwrap());
    let read = fast[1].value.as_seq().unwrap();
    assert_eq!(read.len(), n);
    assert_eq!(read[n - 1].as_int(), Some((n as i64 - 1) * 7));
}
