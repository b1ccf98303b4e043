//! The JSON Lines reader's fast path reads what serde reads, and gives way to it on everything
//! else: random lines in the shapes rift, Jepsen and elle-cli write, with values of every kind,
//! blanks, escapes, fields of the wrong kind, mistakes and a last line cut short, must give the
//! same ops, or the same error at the same line, and the same warnings, with and without the
//! fast path, whatever the size of the reader's buffer.

use history::JsonlReader;
use proptest::prelude::*;
use std::io::BufReader;

fn string() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z]{0,8}".prop_map(|s| format!("\"{s}\"")),
        prop::collection::vec(
            prop_oneof![
                Just("\\\"".to_owned()),
                Just("\\\\".to_owned()),
                Just("\\n".to_owned()),
                Just("\\u00e9".to_owned()),
                Just("é".to_owned()),
                Just("日本".to_owned()),
                Just("\t".to_owned()),
                Just("}".to_owned()),
                "[a-z]{1,3}",
            ],
            0..4
        )
        .prop_map(|parts| format!("\"{}\"", parts.concat())),
    ]
}

fn number() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        (0i64..100).prop_map(|n| n.to_string()),
        (-100i64..0).prop_map(|n| n.to_string()),
        Just("-0".to_owned()),
        Just("0".to_owned()),
        Just("01".to_owned()),
        Just("9223372036854775808".to_owned()),
        Just("18446744073709551616".to_owned()),
        Just("-9223372036854775809".to_owned()),
        Just("1.5".to_owned()),
        Just("2e3".to_owned()),
        Just("-".to_owned()),
    ]
}

fn value() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        3 => number(),
        2 => string(),
        1 => Just("true".to_owned()),
        1 => Just("false".to_owned()),
        1 => Just("null".to_owned()),
        1 => Just("nul".to_owned()),
    ];
    leaf.prop_recursive(3, 24, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(|xs| format!("[{}]", xs.join(","))),
            prop::collection::vec(inner.clone(), 0..4)
                .prop_map(|xs| format!("[ {} ]", xs.join(" , "))),
            prop::collection::vec(inner.clone(), 0..3)
                .prop_map(|xs| format!("{{\"#set\":[{}]}}", xs.join(","))),
            (string(), inner).prop_map(|(k, v)| format!("{{{k}:{v}}}")),
        ]
    })
}

/// A micro-op list, as list-append and rw-register histories hold.
fn txn() -> impl Strategy<Value = String> {
    prop::collection::vec(
        (
            prop_oneof![Just("append"), Just("r"), Just("w")],
            0i64..5,
            value(),
        ),
        1..4,
    )
    .prop_map(|mops| {
        let mops: Vec<String> = mops
            .into_iter()
            .map(|(f, k, v)| format!("[\"{f}\",{k},{v}]"))
            .collect();
        format!("[{}]", mops.join(","))
    })
}

fn line(index: u64) -> impl Strategy<Value = String> {
    (
        prop_oneof![
            6 => Just("\"invoke\""), 6 => Just("\"ok\""), 1 => Just("\"fail\""),
            1 => Just("\"info\""), 1 => Just("\"bogus\""), 1 => Just("3"),
        ],
        prop_oneof![
            5 => (0u64..6).prop_map(|p| p.to_string()),
            1 => Just("\"nemesis\"".to_owned()),
            1 => Just("-1".to_owned()),
            1 => Just("null".to_owned()),
            1 => Just("[1]".to_owned()),
        ],
        prop_oneof![3 => txn(), 3 => value()],
        prop_oneof![
            Just("\"txn\""),
            Just("\"read\""),
            Just("\"add\""),
            Just("\"wr\\u0069te\""),
            Just("7")
        ],
        (
            0u8..10,
            any::<bool>(),
            any::<bool>(),
            prop::collection::vec((extra_key(), value()), 0..3),
        ),
        any::<u64>(),
        prop_oneof![Just(""), Just(" "), Just("\t"), Just("\r")],
        0u8..8,
    )
        .prop_map(
            move |(kind, process, value, f, (index_how, time, node, extras), shuffle, sep, end)| {
                let mut fields = vec![
                    format!("\"type\":{kind}"),
                    format!("\"process\":{process}"),
                    format!("\"f\":{f}"),
                    format!("\"value\":{value}"),
                ];
                match index_how {
                    0 => {}
                    1 => fields.push("\"index\":0".into()),
                    2 => fields.push("\"index\":\"x\"".into()),
                    3 => fields.push("\"type\":\"ok\"".into()),
                    4 => fields.push(format!("\"index\":{index}.0")),
                    _ => fields.push(format!("\"index\":{index}")),
                }
                if time {
                    fields.push(format!("\"time\":{}", index * 10));
                }
                if node {
                    fields.push("\"node\":\"n1\"".into());
                }
                for (k, v) in extras {
                    fields.push(format!("{k}:{v}"));
                }
                let n = fields.len();
                for i in 0..n {
                    fields.swap(i, (shuffle >> (i * 4)) as usize % n);
                }
                let body = format!("{{{sep}{}{sep}}}", fields.join(&format!(",{sep}")));
                match end {
                    0 => format!("{body} x"),
                    1 => format!("{body}{sep}"),
                    2 => format!(" {body}"),
                    _ => body,
                }
            },
        )
}

/// Keys besides the four every op has: any, and the reader's own (now and then twice).
fn extra_key() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-z]{1,6}".prop_map(|k| format!("\"{k}\"")),
        1 => Just("\"final\"".to_owned()),
        1 => Just("\"final?\"".to_owned()),
        1 => Just("\"error\"".to_owned()),
        1 => Just("\"node\"".to_owned()),
        1 => Just("\"time\"".to_owned()),
        1 => Just("\"x\\u0079\"".to_owned()),
    ]
}

/// A history: lines, now and then a blank one or a line end, maybe a last line cut short.
fn history() -> impl Strategy<Value = String> {
    (1u64..14)
        .prop_flat_map(|n| {
            let lines: Vec<_> = (0..n).map(|i| (line(i + 1), 0u8..10)).collect();
            (lines, 0u8..6)
        })
        .prop_map(|(lines, end)| {
            let mut text = String::new();
            for (l, how) in lines {
                match how {
                    0 => text.push_str(&format!("\n{l}\n")),
                    1 => text.push_str(&format!("{l}\r\n")),
                    _ => text.push_str(&format!("{l}\n")),
                }
            }
            match end {
                0 => text
                    .push_str("{\"type\":\"ok\",\"process\":1,\"f\":\"txn\",\"value\":[[\"r\",1"),
                1 => text.push_str("{\"type\":\"ok\",\"process\":1,\"f\":\"read\",\"value\":1}"),
                2 => text.pop().map_or((), |_| ()),
                _ => {}
            }
            text
        })
}

type Read = (Vec<Result<history::Op, String>>, Vec<String>);

fn read(text: &str, capacity: usize, fast: bool) -> Read {
    let input = BufReader::with_capacity(capacity, text.as_bytes());
    let reader = JsonlReader::new(input);
    let mut reader = if fast { reader } else { reader.serde_only() };
    let ops = reader
        .by_ref()
        .map(|r| r.map_err(|e| e.to_string()))
        .collect();
    (ops, reader.warnings())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    #[test]
    fn the_fast_path_reads_what_serde_reads(text in history(), capacity in prop_oneof![Just(8usize), Just(64), Just(1 << 16)]) {
        let serde = read(&text, 1 << 16, false);
        let fast = read(&text, capacity, true);
        prop_assert_eq!(fast, serde, "{}", text);
    }
}

#[test]
fn the_fast_path_agrees_where_order_decides() {
    let cases = [
        // Later fields overwrite earlier ones; other keys keep their order, twice if twice.
        "{\"type\":\"ok\",\"process\":1,\"f\":\"read\",\"value\":1,\"final?\":true,\"final\":false}\n",
        "{\"type\":\"ok\",\"process\":1,\"f\":\"read\",\"value\":1,\"z\":1,\"a\":2,\"z\":3}\n",
        "{\"type\":\"ok\",\"process\":1,\"f\":\"read\",\"value\":1,\"index\":5,\"index\":2}\n",
        // A line longer than the reader's buffer.
        "{\"type\":\"ok\",\"process\":1,\"f\":\"read\",\"value\":[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15]}\n",
    ];
    for text in cases {
        assert_eq!(read(text, 8, true), read(text, 1 << 16, false), "{text}");
    }
    let (ops, _) = read(cases[0], 1 << 16, true);
    assert!(!ops[0].as_ref().unwrap().is_final);
    let (ops, _) = read(cases[1], 1 << 16, true);
    let extra = &ops[0].as_ref().unwrap().extra;
    assert_eq!(
        extra.iter().map(|e| e.0.as_str()).collect::<Vec<_>>(),
        ["z", "a", "z"]
    );
}

#[test]
fn a_huge_final_read_is_read_whole() {
    // Longer than the reader's buffer, and than the point where the fast path stops doubling
    // its room and estimates it.
    let n = 300_000;
    let items: Vec<String> = (0..n).map(|i| (i * 7).to_string()).collect();
    let text = format!(
        "{{\"type\":\"invoke\",\"f\":\"read\",\"process\":0,\"value\":null}}\n{{\"type\":\"ok\",\"f\":\"read\",\"process\":0,\"value\":[{}],\"final\":true}}\n",
        items.join(",")
    );
    let fast = read(&text, 1 << 16, true);
    assert_eq!(fast, read(&text, 1 << 16, false));
    let op = fast.0[1].as_ref().unwrap();
    let held = op.value.as_seq().unwrap();
    assert_eq!(held.len(), n);
    assert_eq!(held[n - 1].as_int(), Some((n as i64 - 1) * 7));
}
