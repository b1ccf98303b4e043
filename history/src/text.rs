//! Jepsen's old plain-text logs, where each op is a line of `jepsen.util`:
//!
//! ```text
//! INFO  jepsen.util - 3    :invoke    :read    nil
//! INFO  jepsen.util - 3    :ok        :read    [1 2]
//! INFO  jepsen.util - :nemesis    :info    :start    nil
//! ```
//!
//! (fields separated by tabs or spaces). Each such line becomes an op (process, type, f, and the rest of the line as the EDN value);
//! every other line (the test's own logging) is passed over. Errors name the file's line.

use crate::{HistoryError, Loaded, Location, Op};
use std::path::Path;

const MARK: &str = "jepsen.util - ";

/// Reads a Jepsen text log.
pub fn load(path: &Path) -> Result<Loaded, HistoryError> {
    let text = std::fs::read_to_string(path).map_err(|e| HistoryError::io(path, e))?;
    Ok(Loaded {
        ops: parse(&text, Some(path))?,
        warnings: Vec::new(),
    })
}

/// Parses a Jepsen text log: each op line is rewritten as an EDN op map on the same line, so
/// the EDN reader's errors name the log's own lines.
pub fn parse(text: &str, path: Option<&Path>) -> Result<Vec<Op>, HistoryError> {
    let mut edn = String::with_capacity(text.len());
    let mut found = false;
    for (i, line) in text.lines().enumerate() {
        if let Some(at) = line.find(MARK) {
            found = true;
            let rest = line[at + MARK.len()..].trim();
            // Three words, then the value: the rest of the line.
            let mut remaining = rest;
            let mut word = || {
                let r = remaining.trim_start();
                let end = r.find(char::is_whitespace).unwrap_or(r.len());
                remaining = &r[end..];
                Some(&r[..end]).filter(|w| !w.is_empty())
            };
            let (Some(process), Some(kind), Some(f)) = (word(), word(), word()) else {
                return Err(HistoryError::Malformed {
                    at: Location {
                        path: path.map(Path::to_path_buf),
                        line: i as u64 + 1,
                    },
                    message: format!(
                        "a jepsen.util line needs a process, a type and an f: {rest:?}"
                    ),
                });
            };
            let value = Some(remaining.trim())
                .filter(|v| !v.is_empty())
                .unwrap_or("nil");
            edn.push_str(&format!(
                "{{:process {process} :type {kind} :f {f} :value {value}}}"
            ));
        }
        edn.push('\n');
    }
    if !found {
        return Err(HistoryError::Malformed {
            at: Location {
                path: path.map(Path::to_path_buf),
                line: 1,
            },
            message: "no jepsen.util op lines: is this a Jepsen log? (.jsonl, .json and .edn \
                      are read by their extensions; a .txt whose first line is Plume's \
                      r(k,v,s,t) or AWDIT's `r k v` is read as theirs)"
                .into(),
        });
    }
    crate::edn::parse(&edn, path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{OpType, Process, Value};

    #[test]
    fn op_lines_become_ops_and_the_rest_is_passed_over() {
        let log = "2013-05-15 INFO  jepsen.core - Starting test\n\
                   INFO  jepsen.util - 3\t:invoke\t:read\tnil\n\
                   INFO  jepsen.util - 3\t:ok\t:read\t[1 2]\n\
                   INFO jepsen.util - :nemesis   :info  :start nil\n\
                   INFO  jepsen.util - 4\t:invoke\t:cas\t[1 2]\n";
        let ops = parse(log, None).unwrap();
        assert_eq!(ops.len(), 4);
        assert_eq!((ops[1].kind, &*ops[1].f), (OpType::Ok, "read"));
        assert_eq!(
            ops[1].value,
            Value::List(vec![Value::Int(1), Value::Int(2)])
        );
        assert_eq!(ops[2].process, Process::Named("nemesis".into()));
        assert_eq!(
            ops[3].value,
            Value::List(vec![Value::Int(1), Value::Int(2)])
        );
    }

    #[test]
    fn errors_name_the_logs_own_line() {
        let log = "noise\nINFO  jepsen.util - 3\t:invoke\t:read\t[1 2\n";
        let e = parse(log, None).unwrap_err().to_string();
        assert!(e.starts_with("line 2:"), "{e}");
        let e = parse("x\ny\nINFO  jepsen.util - 3\n", None)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("line 3:") && e.contains("needs a process"),
            "{e}"
        );
    }
}
