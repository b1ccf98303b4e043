use crate::Value;
use serde::de::{self, DeserializeSeed, MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;
use std::sync::Arc;

/// An interned name: `f`, node names and named processes repeat millions of times in a long
/// history, so each distinct one is stored once and shared.
pub type Sym = Arc<str>;

/// Hands out one shared [`Sym`] per distinct name.
#[derive(Debug, Default)]
pub struct Interner {
    names: rustc_hash::FxHashSet<Sym>,
    /// The names handed out last, most recent first: a history repeats a few names over and
    /// over, and comparing a few bytes is cheaper than hashing them.
    recent: [Option<Sym>; 2],
}

impl Interner {
    pub fn intern(&mut self, name: &str) -> Sym {
        if let Some(s) = self.recent(name.as_bytes()) {
            return s;
        }
        let s = match self.names.get(name) {
            Some(s) => s.clone(),
            None => {
                let s: Sym = Arc::from(name);
                self.names.insert(s.clone());
                s
            }
        };
        self.recent = [Some(s.clone()), self.recent[0].take()];
        s
    }

    /// A name handed out lately, by its bytes (which then need no check that they are UTF-8).
    pub(crate) fn recent(&mut self, name: &[u8]) -> Option<Sym> {
        match &self.recent {
            [Some(s), _] if s.as_bytes() == name => Some(s.clone()),
            [first, Some(s)] if s.as_bytes() == name => {
                let s = s.clone();
                self.recent = [Some(s.clone()), first.clone()];
                Some(s)
            }
            _ => None,
        }
    }

    /// [`Interner::intern`] of bytes that must be UTF-8 text.
    pub(crate) fn intern_bytes(&mut self, name: &[u8]) -> Option<Sym> {
        match self.recent(name) {
            Some(s) => Some(s),
            None => std::str::from_utf8(name).ok().map(|n| self.intern(n)),
        }
    }
}

/// Jepsen's four op types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OpType {
    Invoke,
    /// It happened.
    Ok,
    /// It definitely did not happen.
    Fail,
    /// Indeterminate: it may or may not have happened (a timeout, a crash after sending).
    Info,
}

impl OpType {
    pub const ALL: [OpType; 4] = [OpType::Invoke, OpType::Ok, OpType::Fail, OpType::Info];

    pub fn as_str(self) -> &'static str {
        match self {
            OpType::Invoke => "invoke",
            OpType::Ok => "ok",
            OpType::Fail => "fail",
            OpType::Info => "info",
        }
    }

    pub fn parse(s: &str) -> Option<OpType> {
        OpType::parse_bytes(s.as_bytes())
    }

    pub(crate) fn parse_bytes(s: &[u8]) -> Option<OpType> {
        Some(match s {
            b"invoke" => OpType::Invoke,
            b"ok" => OpType::Ok,
            b"fail" => OpType::Fail,
            b"info" => OpType::Info,
            _ => return None,
        })
    }

    pub fn is_completion(self) -> bool {
        self != OpType::Invoke
    }
}

impl fmt::Display for OpType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who performed an op: a client (a logical process number; a crashed client's successor gets
/// a fresh number) or a named actor such as `nemesis`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Process {
    Client(u64),
    Named(Sym),
}

impl Process {
    pub fn is_client(&self) -> bool {
        matches!(self, Process::Client(_))
    }
}

impl fmt::Display for Process {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Process::Client(n) if *n >= UNNAMED_PROCESS_BASE => {
                write!(f, "none given (op {})", n - UNNAMED_PROCESS_BASE)
            }
            Process::Client(n) => write!(f, "{n}"),
            Process::Named(name) => f.write_str(name),
        }
    }
}

/// One entry of a history.
#[derive(Debug, Clone, PartialEq)]
pub struct Op {
    /// Position in the history: dense, assigned when the op is recorded.
    pub index: u64,
    /// Nanoseconds since the test began, on the controller's monotonic clock.
    pub time: u64,
    /// Written as `type`.
    pub kind: OpType,
    pub process: Process,
    /// The function: `read`, `add`, `txn`, `start-partition`, ...
    pub f: Sym,
    pub value: Value,
    /// The node the op was sent to, when known.
    pub node: Option<Sym>,
    /// Why an op failed or is indeterminate.
    pub error: Option<Value>,
    /// A read of the final phase, after every fault was healed. Written as `final`.
    pub is_final: bool,
    /// Fields rift has no use for but keeps, so that nothing read is lost on the way out.
    pub extra: Vec<(String, Value)>,
}

impl Op {
    /// An op with the given essentials and everything else empty; index and time are 0.
    pub fn new(kind: OpType, process: Process, f: impl Into<Sym>, value: Value) -> Op {
        Op {
            index: 0,
            time: 0,
            kind,
            process,
            f: f.into(),
            value,
            node: None,
            error: None,
            is_final: false,
            extra: Vec::new(),
        }
    }

    pub fn at(mut self, index: u64, time: u64) -> Op {
        self.index = index;
        self.time = time;
        self
    }

    pub fn on_node(mut self, node: impl Into<Sym>) -> Op {
        self.node = Some(node.into());
        self
    }

    pub fn with_error(mut self, error: impl Into<Value>) -> Op {
        self.error = Some(error.into());
        self
    }

    pub fn marked_final(mut self) -> Op {
        self.is_final = true;
        self
    }
}

/// Processes given to ops that name none: each such op is a process of its own, numbered from
/// here by its index (Elle's histories may leave `:process` out).
pub const UNNAMED_PROCESS_BASE: u64 = 1 << 48;

/// What a reader fills in for what Elle's and Jepsen's histories may leave out: a missing `f`
/// is `txn` when the value is a transaction (`[[f k v] ...]` with f one of r, append, w), and a
/// missing process makes the op a process of its own.
pub(crate) fn fill_missing(
    f: Option<Sym>,
    process: Option<Process>,
    value: &Value,
    index: u64,
) -> Result<(Sym, Process), &'static str> {
    let f = match f {
        Some(f) => f,
        None if is_transaction(value) => Sym::from("txn"),
        None => return Err("missing f (and the value is not a transaction of [f k v] micro-ops)"),
    };
    let process = process.unwrap_or(Process::Client(UNNAMED_PROCESS_BASE + index));
    Ok((f, process))
}

fn is_transaction(value: &Value) -> bool {
    value.as_seq().is_some_and(|mops| {
        mops.iter().all(|m| {
            m.as_seq().is_some_and(|m| {
                m.len() == 3 && matches!(m[0].as_str(), Some("r" | "append" | "w"))
            })
        })
    })
}

pub(crate) mod field {
    pub const INDEX: &str = "index";
    pub const TIME: &str = "time";
    pub const TYPE: &str = "type";
    pub const PROCESS: &str = "process";
    pub const F: &str = "f";
    pub const VALUE: &str = "value";
    pub const NODE: &str = "node";
    pub const ERROR: &str = "error";
    pub const FINAL: &str = "final";
    /// Clojure's spelling of [`FINAL`], read as the same marker.
    pub const FINAL_Q: &str = "final?";
}

impl Serialize for Process {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Process::Client(n) => s.serialize_u64(*n),
            Process::Named(name) => s.serialize_str(name),
        }
    }
}

impl Serialize for Op {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry(field::INDEX, &self.index)?;
        m.serialize_entry(field::TIME, &self.time)?;
        m.serialize_entry(field::TYPE, self.kind.as_str())?;
        m.serialize_entry(field::PROCESS, &self.process)?;
        m.serialize_entry(field::F, &*self.f)?;
        m.serialize_entry(field::VALUE, &self.value)?;
        if let Some(node) = &self.node {
            m.serialize_entry(field::NODE, &**node)?;
        }
        if let Some(error) = &self.error {
            m.serialize_entry(field::ERROR, error)?;
        }
        if self.is_final {
            m.serialize_entry(field::FINAL, &true)?;
        }
        for (k, v) in &self.extra {
            m.serialize_entry(k, v)?;
        }
        m.end()
    }
}

/// Reads one op, interning its names. `index` may be absent (then `next_index` is used) and so
/// may `time` (then the index stands in for it, keeping the history's order).
pub(crate) struct OpSeed<'a> {
    pub interner: &'a mut Interner,
    pub next_index: u64,
}

impl<'de> DeserializeSeed<'de> for OpSeed<'_> {
    type Value = Op;
    fn deserialize<D: de::Deserializer<'de>>(self, d: D) -> Result<Op, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for OpSeed<'_> {
    type Value = Op;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an op object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Op, A::Error> {
        let mut index = None;
        let mut time = None;
        let mut kind = None;
        let mut process = None;
        let mut f = None;
        let mut value = Value::Nil;
        let mut node = None;
        let mut error = None;
        let mut is_final = false;
        let mut extra = Vec::new();
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            match &*key {
                field::INDEX => index = Some(map.next_value::<u64>()?),
                field::TIME => time = Some(map.next_value::<u64>()?),
                field::TYPE => {
                    let t = map.next_value::<std::borrow::Cow<'de, str>>()?;
                    kind = Some(OpType::parse(&t).ok_or_else(|| {
                        de::Error::custom(format!(
                            "type {t:?} is not one of invoke, ok, fail, info"
                        ))
                    })?);
                }
                field::PROCESS => {
                    process = Some(match map.next_value::<Value>()? {
                        Value::Int(n) if n >= 0 => Process::Client(n as u64),
                        Value::Str(s) => Process::Named(self.interner.intern(&s)),
                        other => {
                            return Err(de::Error::custom(format!(
                                "process must be a non-negative integer or a name, not {}",
                                serde_json::to_string(&other).unwrap_or_default()
                            )));
                        }
                    })
                }
                field::F => {
                    let name = map.next_value::<std::borrow::Cow<'de, str>>()?;
                    f = Some(self.interner.intern(&name));
                }
                field::VALUE => value = map.next_value()?,
                field::NODE => {
                    let name = map.next_value::<Option<std::borrow::Cow<'de, str>>>()?;
                    node = name.map(|n| self.interner.intern(&n));
                }
                field::ERROR => error = Some(map.next_value::<Value>()?),
                field::FINAL | field::FINAL_Q => is_final = map.next_value::<bool>()?,
                _ => extra.push((key.into_owned(), map.next_value::<Value>()?)),
            }
        }
        let index = index.unwrap_or(self.next_index);
        let (f, process) = fill_missing(f, process, &value, index).map_err(de::Error::custom)?;
        Ok(Op {
            index,
            time: time.unwrap_or(index),
            kind: kind.ok_or_else(|| de::Error::missing_field(field::TYPE))?,
            process,
            f,
            value,
            node,
            error,
            is_final,
            extra,
        })
    }
}

impl<'de> Deserialize<'de> for Op {
    /// Reads one op without sharing names across ops; readers of whole histories use
    /// [`crate::JsonlReader`], which does.
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Op, D::Error> {
        OpSeed {
            interner: &mut Interner::default(),
            next_index: 0,
        }
        .deserialize(d)
    }
}
