use crate::common::history as arbitrary_history;
use history::{edn, jsonl};
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
