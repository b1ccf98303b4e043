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
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

/// Deeper nesting than this is refused: no history needs it, and it guards the stack.
const MAX_DEPTH: usize = 256;

/// Reads a whole EDN history file.
pub fn load(path: &Path) -> Result<Loaded, HistoryError> {
    let ops = EdnReader::open(path)?.collect::<Result<Vec<Op>, _>>()?;
    Ok(Loaded {
        ops,
        warnings: Vec::new(),
    })
}

/// Parses EDN text into ops; `path` is only used to name places in errors.
pub fn parse(text: &str, path: Option<&Path>) -> Result<Vec<Op>, HistoryError> {
    let mut reader = EdnReader::new(text.as_bytes());
    reader.importer.path = path.map(Path::to_path_buf);
    reader.collect()
}

/// [`parse`] with the general parser alone ([`EdnReader::general_only`]).
pub fn parse_general(text: &str, path: Option<&Path>) -> Result<Vec<Op>, HistoryError> {
    let mut reader = EdnReader::new(text.as_bytes()).general_only();
    reader.importer.path = path.map(Path::to_path_buf);
    reader.collect()
}

/// Reads ops from EDN one form at a time, holding only the form being read: a history of one op
/// map per line streams in constant memory; one vector of every op is read as one form.
///
/// Op maps go through the fast path (`edn_fast`), straight from the bytes; a form it does not
/// read (a vector of ops, a comment inside a form, a character, ...) or cannot read (a mistake)
/// goes to the general parser, which reads it or names what is wrong, with its line.
pub struct EdnReader<R> {
    input: R,
    importer: Importer,
    /// Bytes read; those before `pos` are consumed.
    buf: Vec<u8>,
    pos: usize,
    /// The line `pos` is on.
    line: u64,
    /// The general parser's scan for the end of the form at `pos` (positions from `pos`).
    scan: Scan,
    /// The fast path found the form at `pos` unreadable: the general parser reads it.
    general: bool,
    /// Whether op maps go through the fast path at all.
    fast: bool,
    /// How many bytes the next read asks for at least: it doubles while one form outgrows the
    /// buffer, so a long form is re-tried a logarithmic number of times.
    want: usize,
    /// Ops of the last form the general parser read, not yet handed out.
    ready: std::collections::VecDeque<Op>,
    /// The fast path's scratch space, kept from op to op.
    scratch: Vec<Value>,
    eof: bool,
    done: bool,
}

/// Bytes a read asks for.
const CHUNK: usize = 1 << 20;

/// Where the scan of `buf` for the end of its first form stands.
#[derive(Debug, Default, Clone, Copy)]
struct Scan {
    pos: usize,
    depth: usize,
    in_string: bool,
    escape: bool,
    in_comment: bool,
    /// A character literal's backslash was the last byte.
    char_literal: bool,
    /// Lines passed inside the form so far.
    lines: u64,
}

impl<R> std::fmt::Debug for EdnReader<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EdnReader")
            .field("line", &self.line)
            .field("buffered", &self.buffered())
            .finish()
    }
}

impl<R> EdnReader<R> {
    /// The line the next form starts on.
    pub fn line(&self) -> u64 {
        self.line
    }

    /// Bytes read and held, not yet parsed (what streaming keeps in memory).
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Reads every form with the general parser, as before the fast path: what the fast path
    /// is tested against, and a way round it should it ever misread a history.
    pub fn general_only(mut self) -> Self {
        self.fast = false;
        self
    }
}

impl EdnReader<io::BufReader<std::fs::File>> {
    pub fn open(path: &Path) -> Result<Self, HistoryError> {
        let file = std::fs::File::open(path).map_err(|e| HistoryError::io(path, e))?;
        let mut reader = EdnReader::new(io::BufReader::with_capacity(CHUNK, file));
        reader.importer.path = Some(path.to_path_buf());
        Ok(reader)
    }
}

fn newlines(bytes: &[u8]) -> u64 {
    bytes.iter().filter(|&&b| b == b'\n').count() as u64
}

impl<R: io::BufRead> EdnReader<R> {
    pub fn new(input: R) -> Self {
        EdnReader {
            input,
            importer: Importer {
                path: None,
                interner: Interner::default(),
                last_index: None,
                ops: Vec::new(),
            },
            buf: Vec::new(),
            pos: 0,
            line: 1,
            scan: Scan::default(),
            general: false,
            fast: true,
            want: CHUNK,
            ready: Default::default(),
            scratch: Vec::new(),
            eof: false,
            done: false,
        }
    }

    /// Consumes `n` bytes at `pos`, counting their lines; the next form starts afresh.
    fn consume(&mut self, n: usize) {
        let lines = newlines(&self.buf[self.pos..self.pos + n]);
        self.consume_counted(n, lines);
    }

    /// [`Self::consume`] of bytes whose lines are counted already.
    fn consume_counted(&mut self, n: usize, lines: u64) {
        self.line += lines;
        self.pos += n;
        self.scan = Scan::default();
        self.general = false;
    }

    /// Drops blanks and comments at `pos`; false when the bytes end inside a comment (its end
    /// is not read yet), or when a comment is not UTF-8 text.
    fn skip_blank(&mut self) -> Result<bool, HistoryError> {
        let rest = &self.buf[self.pos..];
        let mut i = 0;
        while i < rest.len() {
            match rest[i] {
                b' ' | b'\t' | b'\n' | b'\r' | b',' | 0x0b | 0x0c => i += 1,
                b';' => match rest[i..].iter().position(|&b| b == b'\n') {
                    Some(end) => {
                        if std::str::from_utf8(&rest[i..i + end]).is_err() {
                            let at = self.line + newlines(&rest[..i]);
                            return Err(self.importer.malformed(at, "not UTF-8 text"));
                        }
                        i += end;
                    }
                    None if self.eof => i = rest.len(),
                    None => {
                        self.consume(i);
                        return Ok(false);
                    }
                },
                b if b >= 0x80 => {
                    // Unicode's other whitespace (U+00A0, U+2028, ...) is blank too.
                    let end = rest.len().min(i + 4);
                    let c = match std::str::from_utf8(&rest[i..end]) {
                        Ok(s) => s.chars().next(),
                        Err(e) if e.valid_up_to() > 0 => {
                            std::str::from_utf8(&rest[i..i + e.valid_up_to()])
                                .ok()
                                .and_then(|s| s.chars().next())
                        }
                        Err(_) => None,
                    };
                    match c {
                        Some(c) if c.is_whitespace() => i += c.len_utf8(),
                        _ => break,
                    }
                }
                _ => break,
            }
        }
        self.consume(i);
        Ok(true)
    }

    /// Reads more input onto the buffer; false at its end.
    fn read_more(&mut self) -> Result<bool, HistoryError> {
        if self.pos > 0 {
            self.buf.drain(..self.pos);
            self.pos = 0;
        }
        // Read into the buffer itself, not through the reader's own and then copied: the
        // copy was a twentieth of the reader's time.
        let want = self.want as u64;
        self.buf.reserve(self.want);
        loop {
            match (&mut self.input).take(want).read_to_end(&mut self.buf) {
                Ok(n) => {
                    self.eof |= (n as u64) < want;
                    break;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    let path = self.importer.path.as_deref().unwrap_or(Path::new("-"));
                    return Err(HistoryError::io(path, e));
                }
            }
        }
        Ok(!self.eof || !self.buf.is_empty())
    }

    /// The end of the form at `pos`, if it is all there; scans only what is new.
    fn form_end(&mut self) -> Result<Option<usize>, HistoryError> {
        let bytes = &self.buf[self.pos..];
        let s = &mut self.scan;
        // A form that is no collection (an atom) ends at the end of its line: the parser says
        // what is wrong with it.
        if s.pos == 0 && !matches!(bytes.first(), Some(b'(' | b'[' | b'{' | b'#')) {
            return Ok(bytes.iter().position(|&b| b == b'\n'));
        }
        while s.pos < bytes.len() {
            let b = bytes[s.pos];
            s.pos += 1;
            if b == b'\n' {
                s.lines += 1;
            }
            if s.in_string {
                match (s.escape, b) {
                    (true, _) => s.escape = false,
                    (false, b'\\') => s.escape = true,
                    (false, b'"') => s.in_string = false,
                    _ => {}
                }
                continue;
            }
            if s.in_comment {
                s.in_comment = b != b'\n';
                continue;
            }
            if s.char_literal {
                s.char_literal = false;
                continue;
            }
            match b {
                b'"' => s.in_string = true,
                b';' => s.in_comment = true,
                b'\\' => s.char_literal = true,
                b'(' | b'[' | b'{' => {
                    s.depth += 1;
                    if s.depth > MAX_DEPTH {
                        let at = self.line + s.lines;
                        return Err(self.importer.malformed(at, "nested too deeply"));
                    }
                }
                b')' | b']' | b'}' => {
                    s.depth = s.depth.saturating_sub(1);
                    if s.depth == 0 {
                        return Ok(Some(s.pos));
                    }
                }
                _ => {}
            }
        }
        Ok(None)
    }

    /// Parses the form of `len` bytes at `pos` with the general parser into `ready`.
    fn take_form(&mut self, len: usize) -> Result<(), HistoryError> {
        let line = self.line;
        {
            let bytes = &self.buf[self.pos..self.pos + len];
            let importer = &mut self.importer;
            let text = std::str::from_utf8(bytes).map_err(|e| {
                let at = line + newlines(&bytes[..e.valid_up_to()]);
                importer.malformed(at, "not UTF-8 text")
            })?;
            let (form, _) = edn::read(text).map_err(|e| {
                // A form the input ends inside is named where it begins.
                let at = match e.code {
                    Code::UnexpectedEOF => line,
                    _ => line + e.line.map_or(0, |l| l as u64 - 1),
                };
                importer.malformed(at, format!("not valid EDN: {}", describe(&e.code)))
            })?;
            importer.form(&form, line)?;
        }
        self.ready.extend(self.importer.ops.drain(..));
        self.consume(len);
        Ok(())
    }

    /// Reads the op map at `pos` with the fast path: `Ok(None)` when it needs more bytes,
    /// `Err(())` when it leaves the form to the general parser.
    fn take_fast(&mut self) -> Result<Option<Op>, ()> {
        let bytes = &self.buf[self.pos..];
        match crate::edn_fast::op(bytes, MAX_DEPTH, &mut self.scratch, &mut self.importer) {
            Ok(fast) => {
                // A huge op (a final read of millions of elements) does not keep its scratch.
                if self.scratch.capacity() > 1 << 16 {
                    self.scratch = Vec::new();
                }
                self.consume_counted(fast.len, fast.lines);
                self.want = CHUNK;
                Ok(Some(fast.op))
            }
            Err(crate::edn_fast::Stop::Unsupported) => Err(()),
            Err(crate::edn_fast::Stop::More) => Ok(None),
        }
    }

    /// Reads on until an op is ready, or the input ends: an op of the fast path is handed
    /// straight out, those of the general parser wait in `ready`.
    fn fill(&mut self) -> Result<Option<Op>, HistoryError> {
        while self.ready.is_empty() && !self.done {
            if !self.skip_blank()? {
                self.read_more()?;
                continue;
            }
            if self.pos == self.buf.len() {
                if self.eof {
                    self.done = true;
                } else {
                    self.read_more()?;
                }
                continue;
            }
            if self.fast && !self.general {
                match self.take_fast() {
                    Ok(Some(op)) => return Ok(Some(op)),
                    Err(()) => self.general = true,
                    Ok(None) if self.eof => self.general = true,
                    Ok(None) => {
                        self.want = self.want.max(self.buffered());
                        self.read_more()?;
                        continue;
                    }
                }
            }
            match self.form_end()? {
                Some(end) => self.take_form(end)?,
                None if self.eof => {
                    // What is left is no whole form: the parser names what is wrong.
                    let len = self.buffered();
                    self.take_form(len)?;
                    self.done = self.buffered() == 0 && self.ready.is_empty();
                }
                None => {
                    self.read_more()?;
                }
            }
        }
        Ok(self.ready.pop_front())
    }
}

impl<R: io::BufRead> Iterator for EdnReader<R> {
    type Item = Result<Op, HistoryError>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(op) = self.ready.pop_front() {
            return Some(Ok(op));
        }
        match self.fill() {
            Ok(op) => op.map(Ok),
            Err(e) => {
                self.done = true;
                self.ready.clear();
                self.buf.clear();
                self.pos = 0;
                Some(Err(e))
            }
        }
    }
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

pub(crate) struct Importer {
    path: Option<PathBuf>,
    pub(crate) interner: Interner,
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
        let mut fields = Vec::with_capacity(entries.len());
        for (key, value) in entries {
            let key = match key {
                Edn::Key(k) | Edn::Str(k) | Edn::Symbol(k) => k,
                other => return Err(format!("op keys must be keywords, found {}", kind(other))),
            };
            fields.push((&**key, Field::Value(to_value(value, 0)?)));
        }
        let op = self.op_from(fields.into_iter())?;
        self.ops.push(op);
        Ok(())
    }

    /// Makes an op of its fields (keys without their colon, in the map's order): what the
    /// general parser does with a map ([`OpParts`] is what the fast path does, field by field).
    fn op_from<'k>(
        &mut self,
        fields: impl Iterator<Item = (&'k str, Field<'k>)>,
    ) -> Result<Op, String> {
        let mut parts = OpParts::default();
        for (key, field) in fields {
            parts.field(key, field, &mut self.interner)?;
        }
        self.finish(parts)
    }

    /// The op of its parts: a missing index continues from the last op, which it must follow.
    pub(crate) fn finish(&mut self, parts: OpParts) -> Result<Op, String> {
        let next_index = self.last_index.map_or(0, |i| i + 1);
        let index = parts.index.unwrap_or(next_index);
        let kind = parts.op_type.ok_or("missing :type")?;
        let (f, process) = crate::op::fill_missing(parts.f, parts.process, &parts.value, index)?;
        if let Some(last) = self.last_index
            && index <= last
        {
            return Err(format!(
                "index {index} does not come after the previous op's index {last}"
            ));
        }
        self.last_index = Some(index);
        Ok(Op {
            index,
            time: parts.time.unwrap_or(index),
            kind,
            process,
            f,
            value: parts.value,
            node: parts.node,
            error: parts.error,
            is_final: parts.is_final,
            extra: parts.extra,
        })
    }
}

/// An op's fields as they are read, before [`Importer::finish`] makes it an op.
#[derive(Debug, Default)]
pub(crate) struct OpParts {
    index: Option<u64>,
    time: Option<u64>,
    op_type: Option<OpType>,
    process: Option<Process>,
    f: Option<crate::Sym>,
    value: Value,
    node: Option<crate::Sym>,
    error: Option<Value>,
    is_final: bool,
    pub(crate) extra: Vec<(String, Value)>,
}

impl OpParts {
    /// Takes one field. Fields come in the order of the general parser's map (sorted by key):
    /// that order decides between `:final` and `:final?`, and is the order of `extra`.
    pub(crate) fn field(
        &mut self,
        key: &str,
        field: Field<'_>,
        interner: &mut Interner,
    ) -> Result<(), String> {
        match key {
            "index" => self.index = Some(natural(&field, "index")?),
            "time" => self.time = Some(natural(&field, "time")?),
            "type" => {
                self.op_type = Some(
                    field
                        .name()
                        .and_then(OpType::parse)
                        .ok_or("type must be one of :invoke, :ok, :fail, :info")?,
                )
            }
            "process" => {
                self.process = Some(match field.int() {
                    Some(n) if n >= 0 => Process::Client(n as u64),
                    _ => Process::Named(
                        interner.intern(
                            field
                                .name()
                                .ok_or("process must be a non-negative integer or a name")?,
                        ),
                    ),
                })
            }
            "f" => self.f = Some(interner.intern(field.name().ok_or("f must be a name")?)),
            "value" => self.value = field.into_value(),
            "node" => {
                self.node = match field.is_nil() {
                    true => None,
                    false => Some(interner.intern(field.name().ok_or("node must be a name")?)),
                }
            }
            "error" => self.error = Some(field.into_value()),
            "final?" | "final" => match field.into_value() {
                Value::Bool(b) => self.is_final = b,
                _ => return Err(format!(":{key} must be true or false")),
            },
            _ => self.extra.push((key.to_string(), field.into_value())),
        }
        Ok(())
    }
}

/// An op map's field as a reader has it: a name it did not need to copy (the fast path's
/// keywords for `:type`, `:f`, `:process`, `:node`), or a value.
#[derive(Debug)]
pub(crate) enum Field<'a> {
    Name(&'a str),
    Value(Value),
}

impl Field<'_> {
    fn name(&self) -> Option<&str> {
        match self {
            Field::Name(n) => Some(n),
            Field::Value(v) => v.as_str(),
        }
    }

    fn int(&self) -> Option<i64> {
        match self {
            Field::Name(_) => None,
            Field::Value(v) => v.as_int(),
        }
    }

    fn is_nil(&self) -> bool {
        matches!(self, Field::Value(Value::Nil))
    }

    fn into_value(self) -> Value {
        match self {
            Field::Name(n) => Value::Str(n.to_owned()),
            Field::Value(v) => v,
        }
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

fn natural(v: &Field<'_>, field: &str) -> Result<u64, String> {
    match v.int() {
        Some(n) if n >= 0 => Ok(n as u64),
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
