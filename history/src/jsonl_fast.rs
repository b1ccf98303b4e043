//! The fast path of the JSON Lines reader: one op object on one line, read straight from the
//! reader's buffer into an op, with no copy of the line and no serde machinery.
//!
//! It reads the JSON that histories are made of: an object of string keys; strings without
//! escapes; integers in `i64`'s range (`u64`'s for `index` and `time`); `true`, `false`, `null`;
//! arrays of those. Anything else — an escape, a decimal, an object inside the op (rift's
//! `{"#set": ..}` and `{"#map": ..}`), nesting deeper than serde_json allows, a field of the
//! wrong kind, text after the object — makes it give up, and serde reads the line as before,
//! with its errors. What it does read, it reads as [`crate::op::OpSeed`] does, field for field:
//! later fields overwrite earlier ones, other keys are kept in the order written. The history
//! crate's property tests compare both on random lines.

use crate::op::fill_missing;
use crate::{Interner, Op, OpType, Process, Value};

/// serde_json refuses deeper nesting than this (its recursion limit): leave it to serde.
const MAX_DEPTH: usize = 100;

/// Lists longer than this grow by an estimate of their length rather than by doubling.
const BIG: usize = 1 << 16;

/// Why the fast path gave up: serde reads the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Unsupported;

type Read<T> = Result<T, Unsupported>;

/// Reads the op on the line at the start of `bytes`; returns it and the length of the line
/// with its line end. `bytes` must hold the whole line (a line cut off by the end of `bytes`
/// is left to the slow path, which reads on).
pub(crate) fn op(bytes: &[u8], interner: &mut Interner, next_index: u64) -> Read<(Op, usize)> {
    let mut p = Parser { bytes, pos: 0 };
    if p.peek()? != b'{' {
        return Err(Unsupported);
    }
    p.pos += 1;
    let (mut index, mut time, mut kind, mut process, mut f) = (None, None, None, None, None);
    let (mut value, mut node, mut error, mut is_final) = (Value::Nil, None, None, false);
    let mut extra = Vec::new();
    p.blank()?;
    if p.peek()? != b'}' {
        loop {
            p.blank()?;
            let key = p.string_bytes()?;
            p.blank()?;
            if p.peek()? != b':' {
                return Err(Unsupported);
            }
            p.pos += 1;
            p.blank()?;
            match key {
                b"index" => index = Some(p.natural()?),
                b"time" => time = Some(p.natural()?),
                b"type" => kind = Some(OpType::parse_bytes(p.string_bytes()?).ok_or(Unsupported)?),
                b"process" => {
                    process = Some(match p.value(0)? {
                        Value::Int(n) if n >= 0 => Process::Client(n as u64),
                        Value::Str(s) => Process::Named(interner.intern(&s)),
                        _ => return Err(Unsupported),
                    })
                }
                b"f" => {
                    f = Some(
                        interner
                            .intern_bytes(p.string_bytes()?)
                            .ok_or(Unsupported)?,
                    )
                }
                b"value" => value = p.value(0)?,
                b"node" => {
                    node = match p.peek()? {
                        b'n' => {
                            p.word(b"null")?;
                            None
                        }
                        _ => Some(
                            interner
                                .intern_bytes(p.string_bytes()?)
                                .ok_or(Unsupported)?,
                        ),
                    }
                }
                b"error" => error = Some(p.value(0)?),
                b"final" | b"final?" => {
                    is_final = match p.value(0)? {
                        Value::Bool(b) => b,
                        _ => return Err(Unsupported),
                    }
                }
                other => {
                    let key = std::str::from_utf8(other).map_err(|_| Unsupported)?;
                    extra.push((key.to_owned(), p.value(0)?));
                }
            }
            p.blank()?;
            match p.peek()? {
                b',' => p.pos += 1,
                b'}' => break,
                _ => return Err(Unsupported),
            }
        }
    }
    p.pos += 1;
    // Only blanks after the object, to the line's end.
    p.blank()?;
    if p.peek()? != b'\n' {
        return Err(Unsupported);
    }
    p.pos += 1;
    let index = index.unwrap_or(next_index);
    let (f, process) = fill_missing(f, process, &value, index).map_err(|_| Unsupported)?;
    let op = Op {
        index,
        time: time.unwrap_or(index),
        kind: kind.ok_or(Unsupported)?,
        process,
        f,
        value,
        node,
        error,
        is_final,
        extra,
    };
    Ok((op, p.pos))
}

struct Parser<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Parser<'a> {
    #[inline]
    fn peek(&self) -> Read<u8> {
        self.bytes.get(self.pos).copied().ok_or(Unsupported)
    }

    /// JSON's blanks within a line (a line end inside the object is serde's business).
    #[inline]
    fn blank(&mut self) -> Read<()> {
        while let Some(&b) = self.bytes.get(self.pos) {
            match b {
                b' ' | b'\t' | b'\r' => self.pos += 1,
                _ => return Ok(()),
            }
        }
        Err(Unsupported)
    }

    fn word(&mut self, w: &[u8]) -> Read<()> {
        if self.bytes[self.pos..].starts_with(w) {
            self.pos += w.len();
            Ok(())
        } else {
            Err(Unsupported)
        }
    }

    /// A string's bytes, without escapes or control characters (serde reads those).
    #[inline]
    fn string_bytes(&mut self) -> Read<&'a [u8]> {
        if self.peek()? != b'"' {
            return Err(Unsupported);
        }
        let start = self.pos + 1;
        let rest = self.bytes.get(start..).ok_or(Unsupported)?;
        let len = rest
            .iter()
            .position(|&b| b == b'"' || b == b'\\' || b < 0x20)
            .ok_or(Unsupported)?;
        if rest[len] != b'"' {
            return Err(Unsupported);
        }
        self.pos = start + len + 1;
        Ok(&rest[..len])
    }

    fn str(&mut self) -> Read<&'a str> {
        std::str::from_utf8(self.string_bytes()?).map_err(|_| Unsupported)
    }

    /// A non-negative integer (what serde reads as a `u64`).
    fn natural(&mut self) -> Read<u64> {
        let start = self.pos;
        let mut n: u64 = 0;
        while let Some(&b) = self.bytes.get(self.pos) {
            if !b.is_ascii_digit() {
                break;
            }
            n = n
                .checked_mul(10)
                .and_then(|n| n.checked_add(u64::from(b - b'0')))
                .ok_or(Unsupported)?;
            self.pos += 1;
        }
        self.integer_end(start)?;
        Ok(n)
    }

    /// After an integer's digits (from `digits`): JSON's grammar (at least a digit, no leading
    /// zero) and no fraction or exponent.
    fn integer_end(&self, digits: usize) -> Read<()> {
        let n = self.pos - digits;
        if n == 0 || (n > 1 && self.bytes[digits] == b'0') {
            return Err(Unsupported);
        }
        match self.bytes.get(self.pos) {
            Some(b'.' | b'e' | b'E') | None => Err(Unsupported),
            Some(_) => Ok(()),
        }
    }

    fn value(&mut self, depth: usize) -> Read<Value> {
        Ok(match self.peek()? {
            b'"' => Value::Str(self.str()?.to_owned()),
            b'[' => {
                if depth >= MAX_DEPTH {
                    return Err(Unsupported);
                }
                self.pos += 1;
                let mut items = Vec::new();
                self.blank()?;
                if self.peek()? == b']' {
                    self.pos += 1;
                    return Ok(Value::List(items));
                }
                let start = self.pos;
                loop {
                    self.blank()?;
                    if items.len() == items.capacity() && items.len() >= BIG {
                        // A huge list (a final read): room for what the bytes left can hold
                        // at the size of an item so far, rather than twice what it has.
                        let per_item = (self.pos - start) / items.len() + 1;
                        let left = (self.bytes.len() - self.pos) / per_item;
                        items.reserve_exact(left + left / 16 + 16);
                    }
                    items.push(self.value(depth + 1)?);
                    self.blank()?;
                    match self.peek()? {
                        b',' => self.pos += 1,
                        b']' => {
                            self.pos += 1;
                            break;
                        }
                        _ => return Err(Unsupported),
                    }
                }
                Value::List(items)
            }
            b'-' | b'0'..=b'9' => {
                let negative = self.bytes[self.pos] == b'-';
                if negative {
                    self.pos += 1;
                }
                let digits = self.pos;
                // Summed as negatives: i64::MIN too.
                let mut n: i64 = 0;
                while let Some(&b) = self.bytes.get(self.pos) {
                    if !b.is_ascii_digit() {
                        break;
                    }
                    n = n
                        .checked_mul(10)
                        .and_then(|n| n.checked_sub(i64::from(b - b'0')))
                        .ok_or(Unsupported)?;
                    self.pos += 1;
                }
                self.integer_end(digits)?;
                if negative {
                    // serde_json reads `-0` as a float.
                    if n == 0 {
                        return Err(Unsupported);
                    }
                    Value::Int(n)
                } else {
                    Value::Int(n.checked_neg().ok_or(Unsupported)?)
                }
            }
            b't' => {
                self.word(b"true")?;
                Value::Bool(true)
            }
            b'f' => {
                self.word(b"false")?;
                Value::Bool(false)
            }
            b'n' => {
                self.word(b"null")?;
                Value::Nil
            }
            _ => return Err(Unsupported),
        })
    }
}
