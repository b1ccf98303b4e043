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

use crate::Value;
use crate::edn::Field;

/// Why the fast path stopped without a form.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stop {
    /// The bytes end inside the form: read more and try again (or, at the end of the input,
    /// let the general parser say what is wrong).
    More,
    /// Something the fast path does not read: the general parser reads this form.
    Unsupported,
}

/// An op map's entries, in the order written, with keyword keys.
pub(crate) type Fields<'a> = Vec<(&'a str, Field<'a>)>;

/// Reads the op map at the start of `bytes` (a `{...}`, or a tagged one); returns its fields and
/// the length of the form.
pub(crate) fn op_map(bytes: &[u8], max_depth: usize) -> Result<(Fields<'_>, usize), Stop> {
    let mut p = Parser {
        bytes,
        pos: 0,
        max_depth,
        scratch: Vec::new(),
    };
    p.skip_tag()?;
    if p.peek()? != b'{' {
        return Err(Stop::Unsupported);
    }
    p.pos += 1;
    let mut fields = Vec::with_capacity(8);
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
        let key = p.name()?;
        if fields.iter().any(|(k, _)| *k == key) {
            return Err(Stop::Unsupported);
        }
        p.skip_blank()?;
        // Names the op is made of are borrowed, not copied.
        let field = match key {
            "type" | "f" | "process" | "node" if p.peek()? == b':' => {
                p.pos += 1;
                Field::Name(p.name()?)
            }
            _ => Field::Value(p.value(1)?),
        };
        fields.push((key, field));
    }
    Ok((fields, p.pos))
}

struct Parser<'a> {
    bytes: &'a [u8],
    pos: usize,
    max_depth: usize,
    /// Items of the collections being read, innermost last: each collection is made once, at
    /// its exact size.
    scratch: Vec<Value>,
}

/// Bytes that may end a token.
fn ends_token(b: u8) -> bool {
    matches!(
        b,
        b' ' | b'\t' | b'\n' | b'\r' | b',' | b')' | b']' | b'}' | b'(' | b'[' | b'{'
    )
}

/// Bytes of keywords and tags the fast path reads.
fn name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric()
        || matches!(
            b,
            b'*' | b'+' | b'!' | b'-' | b'_' | b'?' | b'<' | b'>' | b'=' | b'.' | b'/'
        )
}

impl<'a> Parser<'a> {
    fn peek(&self) -> Result<u8, Stop> {
        self.bytes.get(self.pos).copied().ok_or(Stop::More)
    }

    fn skip_blank(&mut self) -> Result<(), Stop> {
        while let Some(&b) = self.bytes.get(self.pos) {
            match b {
                b' ' | b'\t' | b'\n' | b'\r' | b',' => self.pos += 1,
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
        self.name()?;
        self.skip_blank()
    }

    /// A keyword's or tag's name: ASCII name bytes up to a token's end.
    fn name(&mut self) -> Result<&'a str, Stop> {
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
        // Name bytes are ASCII.
        std::str::from_utf8(&self.bytes[start..self.pos]).map_err(|_| Stop::Unsupported)
    }

    /// After a token, the next byte must end it (the end of the input asks for more).
    fn token_end(&self) -> Result<(), Stop> {
        match self.bytes.get(self.pos) {
            Some(&b) if ends_token(b) => Ok(()),
            Some(_) => Err(Stop::Unsupported),
            None => Err(Stop::More),
        }
    }

    fn value(&mut self, depth: usize) -> Result<Value, Stop> {
        if depth > self.max_depth {
            return Err(Stop::Unsupported);
        }
        match self.peek()? {
            b'[' | b'(' => {
                let close = if self.bytes[self.pos] == b'[' {
                    b']'
                } else {
                    b')'
                };
                self.pos += 1;
                Ok(Value::List(self.items(close, depth)?))
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
                        Err(Stop::Unsupported)
                    }
                    m => {
                        debug_assert!(matches!(&m, Value::Map(e) if e.len() == n));
                        Ok(m)
                    }
                }
            }
            b'#' => match *self.bytes.get(self.pos + 1).ok_or(Stop::More)? {
                b'{' => {
                    self.pos += 2;
                    let items = self.items(b'}', depth)?;
                    let n = items.len();
                    match Value::set(items) {
                        Value::Set(s) if s.len() == n => Ok(Value::Set(s)),
                        _ => Err(Stop::Unsupported),
                    }
                }
                b if b.is_ascii_alphabetic() => {
                    self.skip_tag()?;
                    self.value(depth + 1)
                }
                _ => Err(Stop::Unsupported),
            },
            b':' => {
                self.pos += 1;
                Ok(Value::Str(self.name()?.to_owned()))
            }
            b'"' => self.string(),
            b'-' | b'0'..=b'9' => self.number(),
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
                Ok(value)
            }
            _ => Err(Stop::Unsupported),
        }
    }

    fn items(&mut self, close: u8, depth: usize) -> Result<Vec<Value>, Stop> {
        let start = self.scratch.len();
        loop {
            self.skip_blank()?;
            let b = self.peek()?;
            if b == close {
                self.pos += 1;
                return Ok(self.scratch.drain(start..).collect());
            }
            if matches!(b, b')' | b']' | b'}') {
                return Err(Stop::Unsupported);
            }
            let v = self.value(depth + 1)?;
            self.scratch.push(v);
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
