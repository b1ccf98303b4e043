use history::{Op, OpType, Process, Value};
use proptest::prelude::*;

pub fn client(n: u64) -> Process {
    Process::Client(n)
}

/// Any value either format can carry: finite floats, canonical sets and maps.
pub fn value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Nil),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::Int),
        (-1e12f64..1e12).prop_map(Value::Float),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::Float),
        ".{0,12}".prop_map(Value::Str),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::List),
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::set),
            prop::collection::vec((inner.clone(), inner), 0..5).prop_map(|entries| {
                let mut seen: Vec<Value> = Vec::new();
                Value::map(entries.into_iter().filter(|(k, _)| {
                    let fresh = !seen.iter().any(|s| s.total_cmp(k).is_eq());
                    seen.push(k.clone());
                    fresh
                }))
            }),
        ]
    })
}

const KNOWN: [&str; 10] = [
    "index", "time", "type", "process", "f", "value", "node", "error", "final", "final?",
];

pub fn op() -> impl Strategy<Value = Op> {
    let kind = prop::sample::select(OpType::ALL.to_vec());
    let process = prop_oneof![
        (0u64..1_000_000).prop_map(Process::Client),
        prop_oneof![Just("nemesis".to_string()), ".{1,8}"].prop_map(|n| Process::Named(n.into())),
    ];
    let name = prop_oneof![
        prop::sample::select(vec![
            "read",
            "add",
            "txn",
            "write",
            "cas",
            "start-partition"
        ])
        .prop_map(String::from),
        ".{1,10}",
    ];
    let txn = prop::collection::vec(
        (
            prop::sample::select(vec!["append", "r", "w"]),
            0i64..5,
            value(),
        )
            .prop_map(|(f, k, v)| Value::List(vec![f.into(), k.into(), v])),
        1..4,
    )
    .prop_map(Value::List);
    let extra = prop::collection::vec(
        (
            ".{1,8}".prop_filter("not a known field", |k| !KNOWN.contains(&k.as_str())),
            value(),
        ),
        0..2,
    )
    .prop_map(|mut kvs| {
        kvs.sort_by(|a, b| a.0.cmp(&b.0));
        kvs.dedup_by(|a, b| a.0 == b.0);
        kvs
    });
    (
        (0u64..u64::MAX / 2, kind, process, name),
        (prop_oneof![value(), txn], proptest::option::of(".{0,6}")),
        (proptest::option::of(value()), any::<bool>(), extra),
    )
        .prop_map(
            |((time, kind, process, f), (value, node), (error, is_final, extra))| Op {
                index: 0,
                time,
                kind,
                process,
                f: f.as_str().into(),
                value,
                node: node.map(|n| n.as_str().into()),
                error,
                is_final,
                extra,
            },
        )
}

/// Ops with dense indexes, as a recorded history has.
pub fn history(max: usize) -> impl Strategy<Value = Vec<Op>> {
    prop::collection::vec(op(), 0..max).prop_map(|ops| {
        ops.into_iter()
            .enumerate()
            .map(|(i, op)| Op {
                index: i as u64,
                ..op
            })
            .collect()
    })
}
