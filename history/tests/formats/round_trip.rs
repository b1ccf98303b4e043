use crate::common::history as arbitrary_history;
use history::{Value, edn, jsonl};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn jsonl_to_edn_to_jsonl_is_lossless(ops in arbitrary_history(12)) {
        let dir = tempfile::tempdir().unwrap();
        let first = dir.path().join("a.jsonl");
        jsonl::write_all(&first, &ops).unwrap();
        let from_jsonl = jsonl::load(&first).unwrap().ops;
        prop_assert_eq!(&from_jsonl, &ops);

        let as_edn = dir.path().join("b.edn");
        edn::write_all(&as_edn, &from_jsonl).unwrap();
        let from_edn = edn::load(&as_edn).unwrap().ops;
        prop_assert_eq!(&from_edn, &ops);

        let again = dir.path().join("c.jsonl");
        jsonl::write_all(&again, &from_edn).unwrap();
        prop_assert_eq!(std::fs::read(&first).unwrap(), std::fs::read(&again).unwrap());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// The JSON Lines writer builds lines by hand: byte for byte what serde writes.
    #[test]
    fn the_jsonl_writer_writes_what_serde_writes(op in crate::common::op()) {
        let (mut fast, mut serde) = (Vec::new(), Vec::new());
        jsonl::write_op(&mut fast, &op).unwrap();
        jsonl::write_op_serde(&mut serde, &op).unwrap();
        prop_assert_eq!(String::from_utf8(fast).unwrap(), String::from_utf8(serde).unwrap());
    }
}

#[test]
fn the_jsonl_writer_escapes_what_json_escapes() {
    let mut op = history::Op::new(
        history::OpType::Ok,
        history::Process::Named("a\"b".into()),
        "f\\",
        Value::List(vec![
            Value::Str("tab\there\u{1}".into()),
            Value::Str("é日本".into()),
        ]),
    );
    op.extra = vec![("k\n".into(), Value::Float(1.5))];
    let (mut fast, mut serde) = (Vec::new(), Vec::new());
    jsonl::write_op(&mut fast, &op).unwrap();
    jsonl::write_op_serde(&mut serde, &op).unwrap();
    assert_eq!(fast, serde);
    let text = String::from_utf8(fast).unwrap();
    assert!(text.contains(r#""process":"a\"b""#), "{text}");
    assert!(text.contains(r#""tab\there\u0001""#), "{text}");
}
