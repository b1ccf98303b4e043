//! Jepsen's EDN histories: import from Jepsen and Elle, export for their tools.
//!
//! Accepted input: one op map per form (Jepsen's `history.edn`, usually one per line), or forms
//! that are vectors or lists of op maps (Elle's test histories), or a mix; tagged records such as
//! `#jepsen.history.Op{...}` are read as their map. Keys may be keywords or strings. A missing
//! `:index` continues from the previous op; a missing `:time` takes the index, which keeps the
//! history's order for real-time reasoning.
//!
//! The written form is one map per line with keywords where Jepsen expects them: `:type`, `:f`,
//! named processes (`:nemesis`), op keys, and the function of list-append and register micro-ops
//! (`[:append 3 7]`, `[:r 3 [7]]`, `[:w 3 1]`). Everything else keeps its [`Value`] shape, so
//! reading the output back gives the same ops.

use crate::value::duplicate;
use crate::{HistoryError, Interner, Loaded, Location, Op, OpType, Process, Value};
use clojure_reader::edn::{self, Edn};
use clojure_reader::error::Code;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

/// Deeper nesting than this is refused: no history needs it, and it guards the stack.
const MAX_DEPTH: usize = 256;

/// Reads a whole EDN history file.
pub fn load(path: &Path) -> Result<Loaded, HistoryError> {
    let bytes = std::fs::read(path).map_err(|e| HistoryError::io(path, e))?;
    let text = match std::str::from_utf8(&bytes) {
        Ok(t) => t,
        Err(e) => {
            let line = bytes[..e.valid_up_to()]
                .iter()
                .filter(|&&b| b == b'\n')
                .count() as u64
                + 1;
            return Err(HistoryError::Malformed {
                at: Location {
                    path: Some(path.to_path_buf()),
                    line,
                },
                message: "not UTF-8 text".into(),
            });
        }
    };
    let ops = parse(text, Some(path))?;
    Ok(Loaded {
        ops,
        warnings: Vec::new(),
    })
}

/// Parses EDN text into ops; `path` is only used to name places in errors.
pub fn parse(text: &str, path: Option<&Path>) -> Result<Vec<Op>, HistoryError> {
    let mut importer = Importer {
        path: path.map(Path::to_path_buf),
        interner: Interner::default(),
        last_index: None,
        ops: Vec::new(),
    };
    let mut rest = text;
    let mut line = 1u64;
    loop {
        let (form_start, newlines) = skip_blank(rest);
        line += newlines;
        rest = form_start;
        if rest.is_empty() {
            break;
        }
        check_depth(rest).map_err(|extra| importer.malformed(line + extra, "nested too deeply"))?;
        let (form, remaining) = edn::read(rest).map_err(|e| {
            let at = line + e.line.map_or(0, |l| l as u64 - 1);
            importer.malformed(at, format!("not valid EDN: {}", describe(&e.code)))
        })?;
        importer.form(&form, line)?;
        let consumed = &rest[..rest.len() - remaining.len()];
        line += consumed.bytes().filter(|&b| b == b'\n').count() as u64;
        rest = remaining;
    }
    Ok(importer.ops)
}

fn describe(code: &Code) -> String {
    match code {
        Code::UnexpectedEOF => "the input ends inside a form".into(),
        Code::UnmatchedDelimiter(c) => format!("unmatched {c:?}"),
        Code::HashMapDuplicateKey => "a map holds a key twice".into(),
        Code::SetDuplicateKey => "a set holds an element twice".into(),
        other => format!("{other:?}"),
    }
}

/// Skips whitespace, commas and `;` comments; returns the rest and the newlines skipped.
fn skip_blank(mut s: &str) -> (&str, u64) {
    let mut newlines = 0;
    loop {
        let trimmed = s.trim_start_matches(|c: char| c.is_whitespace() || c == ',');
        newlines += s[..s.len() - trimmed.len()]
            .bytes()
            .filter(|&b| b == b'\n')
            .count() as u64;
        s = trimmed;
        if let Some(comment) = s.strip_prefix(';') {
            s = comment.find('\n').map_or("", |i| &comment[i..]);
        } else {
            return (s, newlines);
        }
    }
}

/// Refuses a form nested deeper than [`MAX_DEPTH`] before the parser (which recurses) sees it.
/// Returns, on failure, the line offset where the limit was passed.
fn check_depth(s: &str) -> Result<(), u64> {
    // Every delimiter is ASCII, and no byte of a multi-byte UTF-8 character is: bytes suffice.
    let (mut depth, mut line) = (0usize, 0u64);
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        match b {
            b'\n' => line += 1,
            b'"' => {
                // Skip the string, honouring escapes.
                while let Some(b) = bytes.next() {
                    match b {
                        b'\\' => {
                            bytes.next();
                        }
                        b'"' => break,
                        b'\n' => line += 1,
                        _ => {}
                    }
                }
            }
            b'\\' => {
                bytes.next(); // a character literal such as \( or \[
            }
            b';' => {
                for b in bytes.by_ref() {
                    if b == b'\n' {
                        line += 1;
                        break;
                    }
                }
            }
            b'(' | b'[' | b'{' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(line);
                }
            }
            b')' | b']' | b'}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Ok(()); // the end of the first form
                }
            }
            _ => {}
        }
    }
    Ok(())
}

struct Importer {
    path: Option<PathBuf>,
    interner: Interner,
    last_index: Option<u64>,
    ops: Vec<Op>,
}

impl Importer {
    fn malformed(&self, line: u64, message: impl Into<String>) -> HistoryError {
        HistoryError::Malformed {
            at: Location {
                path: self.path.clone(),
                line,
            },
            message: message.into(),
        }
    }

    fn form(&mut self, form: &Edn<'_>, line: u64) -> Result<(), HistoryError> {
        match form {
            Edn::Vector(items) | Edn::List(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.op(item)
                        .map_err(|m| self.malformed(line, format!("element {i}: {m}")))?;
                }
                Ok(())
            }
            other => self.op(other).map_err(|m| self.malformed(line, m)),
        }
    }

    fn op(&mut self, form: &Edn<'_>) -> Result<(), String> {
        let entries = match form {
            Edn::Map(m) => m,
            Edn::Tagged(_, inner) => match &**inner {
                Edn::Map(m) => m,
                other => return Err(format!("expected an op map, found {}", kind(other))),
            },
            other => return Err(format!("expected an op map, found {}", kind(other))),
        };
        let next_index = self.last_index.map_or(0, |i| i + 1);
        let (mut index, mut time, mut op_type, mut process, mut f) = (None, None, None, None, None);
        let mut op = Op::new(OpType::Invoke, Process::Client(0), "", Value::Nil);
        for (key, value) in entries {
            let key = match key {
                Edn::Key(k) | Edn::Str(k) | Edn::Symbol(k) => k,
                other => return Err(format!("op keys must be keywords, found {}", kind(other))),
            };
            match &**key {
                "index" => index = Some(natural(value, "index")?),
                "time" => time = Some(natural(value, "time")?),
                "type" => {
                    op_type = Some(
                        name(value)
                            .and_then(OpType::parse)
                            .ok_or("type must be one of :invoke, :ok, :fail, :info")?,
                    )
                }
                "process" => {
                    process = Some(match value {
                        Edn::Int(n) if *n >= 0 => Process::Client(*n as u64),
                        _ => Process::Named(
                            self.interner.intern(
                                name(value)
                                    .ok_or("process must be a non-negative integer or a name")?,
                            ),
                        ),
                    })
                }
                "f" => f = Some(self.interner.intern(name(value).ok_or("f must be a name")?)),
                "value" => op.value = to_value(value, 0)?,
                "node" => {
                    op.node = match value {
                        Edn::Nil => None,
                        v => Some(self.interner.intern(name(v).ok_or("node must be a name")?)),
                    }
                }
                "error" => op.error = Some(to_value(value, 0)?),
                "final?" | "final" => match value {
                    Edn::Bool(b) => op.is_final = *b,
                    _ => return Err(format!(":{key} must be true or false")),
                },
                _ => op.extra.push((key.to_string(), to_value(value, 0)?)),
            }
        }
        op.index = index.unwrap_or(next_index);
        op.time = time.unwrap_or(op.index);
        op.kind = op_type.ok_or("missing :type")?;
        (op.f, op.process) = crate::op::fill_missing(f, process, &op.value, op.index)?;
        if let Some(last) = self.last_index
            && op.index <= last
        {
            return Err(format!(
                "index {} does not come after the previous op's index {last}",
                op.index
            ));
        }
        self.last_index = Some(op.index);
        self.ops.push(op);
        Ok(())
    }
}

fn kind(e: &Edn<'_>) -> &'static str {
    match e {
        Edn::Vector(_) => "a vector",
        Edn::Set(_) => "a set",
        Edn::Map(_) => "a map",
        Edn::List(_) => "a list",
        Edn::Key(_) => "a keyword",
        Edn::Symbol(_) => "a symbol",
        Edn::Str(_) => "a string",
        Edn::Int(_) => "an integer",
        Edn::Tagged(..) => "a tagged value",
        Edn::Double(_) | Edn::Rational(_) => "a number",
        Edn::Char(_) => "a character",
        Edn::Bool(_) => "a boolean",
        Edn::Nil => "nil",
        _ => "an unsupported value",
    }
}

fn name<'a>(e: &'a Edn<'_>) -> Option<&'a str> {
    match e {
        Edn::Key(s) | Edn::Str(s) | Edn::Symbol(s) => Some(s),
        _ => None,
    }
}

fn natural(e: &Edn<'_>, field: &str) -> Result<u64, String> {
    match e {
        Edn::Int(n) if *n >= 0 => Ok(*n as u64),
        _ => Err(format!(":{field} must be a non-negative integer")),
    }
}

fn to_value(e: &Edn<'_>, depth: usize) -> Result<Value, String> {
    if depth > MAX_DEPTH {
        return Err("value nested too deeply".into());
    }
    let seq = |items: &mut dyn Iterator<Item = &Edn<'_>>| -> Result<Vec<Value>, String> {
        items.map(|i| to_value(i, depth + 1)).collect()
    };
    Ok(match e {
        Edn::Nil => Value::Nil,
        Edn::Bool(b) => Value::Bool(*b),
        Edn::Int(i) => Value::Int(*i),
        Edn::Double(d) => Value::Float(d.into_inner()),
        Edn::Rational((n, d)) => Value::Float(*n as f64 / *d as f64),
        Edn::Key(s) | Edn::Symbol(s) | Edn::Str(s) => Value::Str(s.to_string()),
        Edn::Char(c) => Value::Str(c.to_string()),
        Edn::Vector(items) | Edn::List(items) => Value::List(seq(&mut items.iter())?),
        Edn::Set(items) => {
            let items = seq(&mut items.iter())?;
            if let Some(dup) = Value::find_duplicate(&items) {
                return Err(duplicate("a set", "element", dup));
            }
            Value::set(items)
        }
        Edn::Map(entries) => {
            let entries = entries
                .iter()
                .map(|(k, v)| Ok((to_value(k, depth + 1)?, to_value(v, depth + 1)?)))
                .collect::<Result<Vec<_>, String>>()?;
            if let Some(dup) = Value::find_duplicate(entries.iter().map(|(k, _)| k)) {
                return Err(duplicate("a map", "key", dup));
            }
            Value::map(entries)
        }
        Edn::Tagged(_, inner) => to_value(inner, depth + 1)?,
        other => return Err(format!("cannot read {}", kind(other))),
    })
}

// ---------------------------------------------------------------------------------------------
// Export

/// Writes ops as EDN, one map per line.
pub fn write_ops<'a>(
    out: &mut impl Write,
    ops: impl IntoIterator<Item = &'a Op>,
) -> io::Result<()> {
    let mut line = String::with_capacity(256);
    for op in ops {
        line.clear();
        op_to_edn(op, &mut line);
        line.push('\n');
        out.write_all(line.as_bytes())?;
    }
    Ok(())
}

/// Writes a whole history to an EDN file.
pub fn write_all<'a>(
    path: &Path,
    ops: impl IntoIterator<Item = &'a Op>,
) -> Result<(), HistoryError> {
    let file = std::fs::File::create(path).map_err(|e| HistoryError::io(path, e))?;
    let mut out = BufWriter::new(file);
    write_ops(&mut out, ops)
        .and_then(|()| out.flush())
        .map_err(|e| HistoryError::io(path, e))
}

/// One op as an EDN map.
pub fn op_to_edn(op: &Op, out: &mut String) {
    use std::fmt::Write as _;
    let _ = write!(
        out,
        "{{:index {}, :time {}, :type :{}, :process ",
        op.index, op.time, op.kind
    );
    match &op.process {
        Process::Client(n) => {
            let _ = write!(out, "{n}");
        }
        Process::Named(n) => name_to_edn(n, out),
    }
    out.push_str(", :f ");
    name_to_edn(&op.f, out);
    out.push_str(", :value ");
    if is_txn(&op.value) {
        txn_to_edn(&op.value, out);
    } else {
        value_to_edn(&op.value, out);
    }
    if let Some(node) = &op.node {
        out.push_str(", :node ");
        string_to_edn(node, out);
    }
    if let Some(error) = &op.error {
        out.push_str(", :error ");
        value_to_edn(error, out);
    }
    if op.is_final {
        out.push_str(", :final? true");
    }
    for (k, v) in &op.extra {
        out.push_str(", ");
        name_to_edn(k, out);
        out.push(' ');
        value_to_edn(v, out);
    }
    out.push('}');
}

const MICRO_OPS: [&str; 3] = ["append", "r", "w"];

/// A list of `[f k v]` micro-ops, each f one Jepsen writes as a keyword.
fn is_txn(v: &Value) -> bool {
    match v {
        Value::List(mops) if !mops.is_empty() => mops.iter().all(|m| match m {
            Value::List(parts) if parts.len() == 3 => {
                parts[0].as_str().is_some_and(|f| MICRO_OPS.contains(&f))
            }
            _ => false,
        }),
        _ => false,
    }
}

fn txn_to_edn(v: &Value, out: &mut String) {
    out.push('[');
    for (i, mop) in v.as_seq().unwrap_or_default().iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        let parts = mop.as_seq().unwrap_or_default();
        out.push('[');
        for (j, part) in parts.iter().enumerate() {
            if j > 0 {
                out.push(' ');
            }
            match (j, part) {
                (0, Value::Str(f)) => name_to_edn(f, out),
                _ => value_to_edn(part, out),
            }
        }
        out.push(']');
    }
    out.push(']');
}

/// A name as a keyword when it can be one, else as a string (both read back as the same name).
fn name_to_edn(name: &str, out: &mut String) {
    if is_keyword_name(name) {
        out.push(':');
        out.push_str(name);
    } else {
        string_to_edn(name, out);
    }
}

fn is_keyword_name(name: &str) -> bool {
    let segment_ok = |s: &str| {
        let mut chars = s.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || "*!_?<>=".contains(c))
            && chars.all(|c| c.is_ascii_alphanumeric() || "*+!_?<>=.-".contains(c))
    };
    match name.split_once('/') {
        None => segment_ok(name),
        Some((ns, n)) => segment_ok(ns) && segment_ok(n),
    }
}

fn string_to_edn(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Writes a value; its strings stay strings.
pub fn value_to_edn(v: &Value, out: &mut String) {
    use std::fmt::Write as _;
    let seq = |items: &[Value], out: &mut String| {
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                out.push(' ');
            }
            value_to_edn(item, out);
        }
    };
    match v {
        Value::Nil => out.push_str("nil"),
        Value::Bool(b) => {
            let _ = write!(out, "{b}");
        }
        Value::Int(i) => {
            let _ = write!(out, "{i}");
        }
        Value::Float(f) if f.is_nan() => out.push_str("##NaN"),
        Value::Float(f) if f.is_infinite() => {
            out.push_str(if *f > 0.0 { "##Inf" } else { "##-Inf" })
        }
        // Debug keeps a decimal point or exponent and round-trips exactly.
        Value::Float(f) => {
            let _ = write!(out, "{f:?}");
        }
        Value::Str(s) => string_to_edn(s, out),
        Value::List(items) => {
            out.push('[');
            seq(items, out);
            out.push(']');
        }
        Value::Set(items) => {
            out.push_str("#{");
            seq(items, out);
            out.push('}');
        }
        Value::Map(entries) => {
            out.push('{');
            for (i, (k, v)) in entries.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                value_to_edn(k, out);
                out.push(' ');
                value_to_edn(v, out);
            }
            out.push('}');
        }
    }
}
