//! Parsers meet arbitrary bytes: they may refuse them, never panic.

use history::{JsonlReader, edn};
use proptest::prelude::*;
use std::io::Cursor;

fn op_like() -> impl Strategy<Value = Vec<u8>> {
    // Near-misses find more than pure noise: fragments of real ops, shuffled and cut.
    let fragments = prop::sample::select(vec![
        "{",
        "}",
        "[",
        "]",
        "#{",
        "\"",
        ":",
        ",",
        "\n",
        "\\",
        "#",
        "nil",
        "-1",
        "1e999",
        "\"type\"",
        "\"invoke\"",
        ":type",
        ":invoke",
        "\"process\"",
        ":process",
        "#set",
        "#map",
        "\"#set\"",
        "\"#map\"",
        "{\"#set\":[1,1]}",
        "9223372036854775808",
        "#jepsen.history.Op",
        "\"value\":",
        ":value",
        "\"f\":\"r\"",
        ":f :r",
        "\\u0000",
        "##NaN",
        "1/0",
        "\\newline",
    ]);
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..300),
        prop::collection::vec(fragments, 0..60).prop_map(|f| f.concat().into_bytes()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn jsonl_reader_never_panics(bytes in op_like()) {
        let mut reader = JsonlReader::new(Cursor::new(bytes));
        for _ in reader.by_ref() {}
        let _ = reader.warnings();
    }

    #[test]
    fn edn_parser_never_panics(bytes in op_like()) {
        if let Ok(text) = std::str::from_utf8(&bytes) {
            let _ = edn::parse(text, None);
        }
    }
}

#[test]
fn edn_load_reports_invalid_utf8_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("h.edn");
    std::fs::write(&path, b"{:type :ok :process 0 :f :r}\n{:f \xff}").unwrap();
    let e = edn::load(&path).unwrap_err().to_string();
    assert!(e.ends_with("h.edn:2: malformed op: not UTF-8 text"), "{e}");
}
