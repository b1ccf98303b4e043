//! The fast path of the EDN reader: one op map, as Jepsen and Elle write them, read straight
//! from bytes into an op's fields, with no intermediate tree.
//!
//! It reads the subset of EDN that histories are made of: maps, vectors, lists, sets, keywords,
//! strings (with the common escapes), integers, decimals, `nil`, `true`, `false`, and tagged
//! values such as `#jepsen.history.Op{...}` (read as what they tag). Anything else — a comment
//! or a discard inside the form, a symbol, a character, a big or ratio number, an unusual
//! escape, a duplicate key or set element, nesting deeper than the general reader allows, or a
//! form that is not a map — makes it give up ([`Stop::Unsupported`]), and the general parser
//! reads that form, with its errors. What it does read, it reads as the general parser does:
//! the history crate's property tests compare both on random histories.

use crate::edn::{Field, Importer, OpParts};
use crate::{Op, Value};

/// Why the fast path stopped without a form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// The bytes end inside the form: read more and try again (or, at the end of the input,
    /// let the general parser say what is wrong).
    More,
    /// Something the fast path does not read: the general parser reads this form.
    Unsupported,
}

/// Collections longer than this grow by an estimate of their length rather than by doubling.
const BIG: usize = 1 << 16;

/// An op read by the fast path: the op, the length of its form, and the lines that form holds.
#[derive(Debug)]
pub(crate) struct FastOp {
    pub op: Op,
    pub len: usize,
    pub lines: u64,
}

/// The bit of each key the importer knows, to refuse a key written twice (`:final` and
/// `:final?` share one: which of them wins is the general parser's business).
fn known_key(key: &[u8]) -> Option<(&'static str, u16)> {
    Some(match key {
        b"index" => ("index", 1),
        b"time" => ("time", 2),
        b"type" => ("type", 4),
        b"process" => ("process", 8),
        b"f" => ("f", 16),
        b"value" => ("value", 32),
        b"node" => ("node", 64),
        b"error" => ("error", 128),
        b"final" => ("final", 256),
        b"final?" => ("final?", 256),
        _ => return None,
    })
}

/// Reads the op map at the start of `bytes` (a `{...}`, or a tagged one) into an op, field by
/// field as the importer takes them. `scratch` is kept between calls, so that collections are
/// built without allocating more than themselves. A map the importer refuses is left to the
/// general parser, which names the mistake.
pub(crate) fn op(
    bytes: &[u8],
    max_depth: usize,
    scratch: &mut Vec<Value>,
    importer: &mut Importer,
) -> Result<FastOp, Stop> {
    // A first item no collection owns: `split_off` then never takes the whole buffer.
    scratch.clear();
    scratch.push(Value::Nil);
    let mut p = Parser {
        bytes,
        pos: 0,
        max_depth,
        scratch,
        lines: 0,
    };
    p.skip_tag()?;
    if p.peek()? != b'{' {
        return Err(Stop::Unsupported);
    }
    p.pos += 1;
    let mut parts = OpParts::default();
    let mut seen = 0u16;
    loop {
        p.skip_blank()?;
        if p.peek()? == b'}' {
            p.pos += 1;
            break;
        }
        if p.peek()? != b':' {
            return Err(Stop::Unsupported);
        }
        p.pos += 1;
        let raw = p.name_bytes()?;
        let key = match known_key(raw) {
            Some((key, bit)) => {
                if seen & bit != 0 {
                    return Err(Stop::Unsupported);
                }
                seen |= bit;
                key
            }
            None => {
                let key = ascii(raw)?;
                if parts.extra.iter().any(|(k, _)| k == key) {
                    return Err(Stop::Unsupported);
                }
                key
            }
        };
        p.skip_blank()?;
        // Names the op is made of are borrowed, not copied.
        let field = match key {
            "type" | "f" | "process" | "node" if p.peek()? == b':' => {
                p.pos += 1;
                Field::Name(ascii(p.name_bytes()?)?)
            }
            _ => Field::Value(p.value(1)?),
        };
        parts
            .field(key, field, &mut importer.interner)
            .map_err(|_| Stop::Unsupported)?;
    }
    // Other keys in the order of the general parser's map.
    if parts.extra.len() > 1 {
        parts.extra.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    }
    let (len, lines) = (p.pos, p.lines);
    let op = importer.finish(parts).map_err(|_| Stop::Unsupported)?;
    Ok(FastOp { op, len, lines })
}

/// Name bytes are ASCII, so this never fails; it is the safe way to make them a `str`.
fn ascii(bytes: &[u8]) -> Result<&str, Stop> {
    std::str::from_utf8(bytes).map_err(|_| Stop::Unsupported)
}

struct Parser<'a, 's> {
    bytes: &'a [u8],
    pos: usize,
    max_depth: usize,
    /// Items of the collections being read, innermost last: each collection is made once, at
    /// its exact size.
    scratch: &'s mut Vec<Value>,
    /// Line ends passed so far (in blanks and in strings: nowhere else in what this reads).
    lines: u64,
}

/// Byte classes, looked up rather than tested one by one: blanks, bytes that may end a token,
/// bytes of keywords and tags.
const BLANK: u8 = 1;
const END: u8 = 2;
const NAME: u8 = 4;

static CLASS: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        let mut class = 0;
        if matches!(c, b' ' | b'\t' | b'\n' | b'\r' | b',') {
            class |= BLANK | END;
        }
        if matches!(c, b')' | b']' | b'}' | b'(' | b'[' | b'{') {
            class |= END;
        }
        if c.is_ascii_alphanumeric()
            || matches!(
                c,
                b'*' | b'+' | b'!' | b'-' | b'_' | b'?' | b'<' | b'>' | b'=' | b'.' | b'/'
            )
        {
            class |= NAME;
        }
        t[b] = class;
        b += 1;
    }
    t
};

/// Bytes that may end a token.
#[inline]
fn ends_token(b: u8) -> bool {
    CLASS[b as usize] & END != 0
}

/// Bytes of keywords and tags the fast path reads.
#[inline]
fn name_byte(b: u8) -> bool {
    CLASS[b as usize] & NAME != 0
}

impl<'a> Parser<'a, '_> {
    fn peek(&self) -> Result<u8, Stop> {
        self.bytes.get(self.pos).copied().ok_or(Stop::More)
    }

    #[inline]
    fn skip_blank(&mut self) -> Result<(), Stop> {
        while let Some(&b) = self.bytes.get(self.pos) {
            if CLASS[b as usize] & BLANK == 0 && b != b';' {
                return Ok(());
            }
            match b {
                b' ' | b'\t' | b'\r' | b',' => self.pos += 1,
                b'\n' => {
                    self.pos += 1;
                    self.lines += 1;
                }
                // A comment inside a form: the general parser reads it.
                b';' => return Err(Stop::Unsupported),
                _ => return Ok(()),
            }
        }
        Err(Stop::More)
    }

    /// A `#tag` before a map or value (not `#{`, `#_` or `##`), skipped with the blanks after it.
    fn skip_tag(&mut self) -> Result<(), Stop> {
        if self.peek()? != b'#' {
            return Ok(());
        }
        let first = *self.bytes.get(self.pos + 1).ok_or(Stop::More)?;
        if !first.is_ascii_alphabetic() {
            return Err(Stop::Unsupported);
        }
        self.pos += 1;
        self.name_bytes()?;
        self.skip_blank()
    }

    /// A keyword's or tag's name: ASCII name bytes up to a token's end.
    fn name_bytes(&mut self) -> Result<&'a [u8], Stop> {
        let start = self.pos;
        loop {
            let b = self.peek()?;
            if name_byte(b) {
                self.pos += 1;
            } else if ends_token(b) && self.pos > start {
                break;
            } else {
                return Err(Stop::Unsupported);
            }
        }
        Ok(&self.bytes[start..self.pos])
    }

    /// After a token, the next byte must end it (the end of the input asks for more).
    fn token_end(&self) -> Result<(), Stop> {
        match self.bytes.get(self.pos) {
            Some(&b) if ends_token(b) => Ok(()),
            Some(_) => Err(Stop::Unsupported),
            None => Err(Stop::More),
        }
    }

    /// Reads one value.
    fn value(&mut self, depth: usize) -> Result<Value, Stop> {
        self.push(depth)?;
        self.scratch.pop().ok_or(Stop::Unsupported)
    }

    /// Reads one value onto `scratch` (values are not moved through returns: it is faster).
    fn push(&mut self, depth: usize) -> Result<(), Stop> {
        if depth > self.max_depth {
            return Err(Stop::Unsupported);
        }
        let value = match self.peek()? {
            b'[' | b'(' => {
                let close = if self.bytes[self.pos] == b'[' {
                    b']'
                } else {
                    b')'
                };
                self.pos += 1;
                let start = self.items(close, depth)?;
                Value::List(self.scratch.split_off(start))
            }
            b'{' => {
                self.pos += 1;
                let mut entries = Vec::new();
                loop {
                    self.skip_blank()?;
                    if self.peek()? == b'}' {
                        self.pos += 1;
                        break;
                    }
                    let k = self.value(depth + 1)?;
                    self.skip_blank()?;
                    if self.peek()? == b'}' {
                        // A key without a value.
                        return Err(Stop::Unsupported);
                    }
                    let v = self.value(depth + 1)?;
                    entries.push((k, v));
                }
                let n = entries.len();
                match Value::map(entries) {
                    Value::Map(e) if e.windows(2).any(|w| w[0].0.total_cmp(&w[1].0).is_eq()) => {
                        return Err(Stop::Unsupported);
                    }
                    m => {
                        debug_assert!(matches!(&m, Value::Map(e) if e.len() == n));
                        m
                    }
                }
            }
            b'#' => match *self.bytes.get(self.pos + 1).ok_or(Stop::More)? {
                b'{' => {
                    self.pos += 2;
                    let start = self.items(b'}', depth)?;
                    let items = self.scratch.split_off(start);
                    let n = items.len();
                    match Value::set(items) {
                        Value::Set(s) if s.len() == n => Value::Set(s),
                        _ => return Err(Stop::Unsupported),
                    }
                }
                b if b.is_ascii_alphabetic() => {
                    self.skip_tag()?;
                    return self.push(depth + 1);
                }
                _ => return Err(Stop::Unsupported),
            },
            b':' => {
                self.pos += 1;
                Value::Str(ascii(self.name_bytes()?)?.to_owned())
            }
            b'"' => self.string()?,
            b'-' | b'0'..=b'9' => self.number()?,
            b'n' | b't' | b'f' => {
                let rest = &self.bytes[self.pos..];
                let (word, value) = if rest.starts_with(b"nil") {
                    (3, Value::Nil)
                } else if rest.starts_with(b"true") {
                    (4, Value::Bool(true))
                } else if rest.starts_with(b"false") {
                    (5, Value::Bool(false))
                } else if rest.len() < 5 {
                    return Err(Stop::More);
                } else {
                    return Err(Stop::Unsupported);
                };
                self.pos += word;
                self.token_end()?;
                value
            }
            _ => return Err(Stop::Unsupported),
        };
        self.scratch.push(value);
        Ok(())
    }

    /// Reads a collection's items onto `scratch`; returns where they start there (a vector
    /// returned through a `Result` was copied through memory and stalled on it).
    fn items(&mut self, close: u8, depth: usize) -> Result<usize, Stop> {
        let start = self.scratch.len();
        let from = self.pos;
        loop {
            self.skip_blank()?;
            let n = self.scratch.len() - start;
            if self.scratch.len() == self.scratch.capacity() && n >= BIG {
                // A huge collection (a final read): room for what the bytes left can hold at
                // the size of an item so far, rather than twice what there is.
                let per_item = (self.pos - from) / n + 1;
                let left = (self.bytes.len() - self.pos) / per_item;
                self.scratch.reserve_exact(left + left / 16 + 16);
            }
            let b = self.peek()?;
            if b == close {
                self.pos += 1;
                return Ok(start);
            }
            if matches!(b, b')' | b']' | b'}') {
                return Err(Stop::Unsupported);
            }
            self.push(depth + 1)?;
        }
    }

    fn string(&mut self) -> Result<Value, Stop> {
        self.pos += 1;
        let start = self.pos;
        let mut out: Option<Vec<u8>> = None;
        loop {
            let b = self.peek()?;
            match b {
                b'"' => {
                    let raw = &self.bytes[start..self.pos];
                    self.pos += 1;
                    let bytes = match out {
                        Some(o) => o,
                        None => raw.to_vec(),
                    };
                    return String::from_utf8(bytes)
                        .map(Value::Str)
                        .map_err(|_| Stop::Unsupported);
                }
                b'\\' => {
                    let esc = *self.bytes.get(self.pos + 1).ok_or(Stop::More)?;
                    let c = match esc {
                        b'"' => b'"',
                        b'\\' => b'\\',
                        b'n' => b'\n',
                        b't' => b'\t',
                        b'r' => b'\r',
                        _ => return Err(Stop::Unsupported),
                    };
                    let o = out.get_or_insert_with(|| self.bytes[start..self.pos].to_vec());
                    o.push(c);
                    self.pos += 2;
                }
                _ => {
                    if let Some(o) = &mut out {
                        o.push(b);
                    }
                    self.lines += u64::from(b == b'\n');
                    self.pos += 1;
                }
            }
        }
    }

    /// `-?digits`, or a decimal `-?digits.digits` with an optional exponent; no leading zeros.
    fn number(&mut self) -> Result<Value, Stop> {
        let start = self.pos;
        let negative = self.bytes[self.pos] == b'-';
        if negative {
            self.pos += 1;
        }
        // An integer is summed as its digits are read (negatives as negatives: i64::MIN too).
        let first = self.pos;
        let mut n: i64 = 0;
        let mut fits = true;
        while let Some(&b) = self.bytes.get(self.pos) {
            if !b.is_ascii_digit() {
                break;
            }
            let d = i64::from(b - b'0');
            match n.checked_mul(10).and_then(|m| {
                if negative {
                    m.checked_sub(d)
                } else {
                    m.checked_add(d)
                }
            }) {
                Some(m) => n = m,
                None => fits = false,
            }
            self.pos += 1;
        }
        let digits = self.pos - first;
        if self.pos == self.bytes.len() {
            return Err(Stop::More);
        }
        if digits == 0 || (digits > 1 && self.bytes[first] == b'0') {
            return Err(Stop::Unsupported);
        }
        let mut float = false;
        if self.peek()? == b'.' {
            self.pos += 1;
            if self.digits()? == 0 {
                return Err(Stop::Unsupported);
            }
            float = true;
        }
        if matches!(self.peek()?, b'e' | b'E') {
            self.pos += 1;
            if matches!(self.peek()?, b'+' | b'-') {
                self.pos += 1;
            }
            if self.digits()? == 0 {
                return Err(Stop::Unsupported);
            }
            float = true;
        }
        self.token_end()?;
        if !float {
            // Out of i64's range: the general parser decides.
            return if fits {
                Ok(Value::Int(n))
            } else {
                Err(Stop::Unsupported)
            };
        }
        // The bytes are ASCII digits, signs, a dot and an exponent.
        let text =
            std::str::from_utf8(&self.bytes[start..self.pos]).map_err(|_| Stop::Unsupported)?;
        text.parse::<f64>()
            .map(Value::Float)
            .map_err(|_| Stop::Unsupported)
    }

    fn digits(&mut self) -> Result<usize, Stop> {
        let start = self.pos;
        while self.peek()?.is_ascii_digit() {
            self.pos += 1;
        }
        Ok(self.pos - start)
    }
}
