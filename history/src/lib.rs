//! The operation model every part of rift shares, and its formats.
//!
//! A history is a sequence of [`Op`]s in the order they were recorded, with Jepsen's meaning:
//! a client process *invokes* an operation, then *completes* it with `ok` (it happened), `fail`
//! (it definitely did not happen) or `info` (nobody knows). An invocation with no completion at
//! all is indeterminate too. A process has at most one operation open at a time, so pairing is
//! a matter of following each process ([`pairing`]).
//!
//! Formats:
//! - JSON Lines ([`jsonl`]) is native: one op per line, written as ops complete by a
//!   [`HistoryWriter`] that makes every op durable within 100 ms, and read back by a reader that
//!   keeps the readable prefix of a file cut short by a crash.
//! - Jepsen EDN ([`edn`]) for histories from Jepsen and Elle, and for handing ours to their tools.
//!   JSONL → EDN → JSONL gives back the same ops.
//!
//! This crate owns the shape of the data only; what a history *means* is the checkers' business.

pub mod edn;
mod edn_fast;
mod error;
pub mod jsonl;
mod jsonl_fast;
mod op;
pub mod pairing;
pub mod plume;
pub mod text;
mod value;

pub use error::{HistoryError, Location};
pub use jsonl::{HistoryWriter, JsonlReader};
pub use op::{Interner, Op, OpType, Process, Sym, UNNAMED_PROCESS_BASE};
pub use pairing::Pairing;
pub use value::Value;

use std::path::Path;

/// The formats a history file can be in, chosen by its extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// rift's native JSON Lines (`.jsonl`, `.json`).
    Jsonl,
    /// Jepsen's EDN (`.edn`).
    Edn,
    /// Jepsen's old plain-text logs of `jepsen.util` op lines (`.log`, `.txt`); read only.
    Text,
    /// Plume's text histories of `r(key,value,session,txn)` lines (`.plume`, or a `.txt`,
    /// `.log` or extensionless file of such lines), and AWDIT's test histories of `r key value`
    /// lines; read only.
    Plume,
}

impl Format {
    /// The format a path's extension names, if any.
    pub fn from_path(path: &Path) -> Option<Format> {
        match path.extension()?.to_str()? {
            "jsonl" | "json" | "ndjson" => Some(Format::Jsonl),
            "edn" => Some(Format::Edn),
            "log" | "txt" => Some(Format::Text),
            "plume" => Some(Format::Plume),
            _ => None,
        }
    }

    /// The format of a file to read: its extension's, except that a `.log` or `.txt` file whose
    /// first line that is not blank opens an EDN map (or a vector of them) is EDN (Porcupine keeps its kv
    /// histories as `{:process 0, :type :invoke, ...}` lines in `.txt` files), and a `.txt`,
    /// `.log` or unknown file whose first such line is `r(k,v,s,t)` or `w(k,v,s,t)` is Plume's
    /// (or `r k v`, `w k v`, `-----`, `=====`: AWDIT's test format, read by the same reader).
    pub fn of_file(path: &Path) -> Option<Format> {
        let by_name = Format::from_path(path);
        if by_name.is_some_and(|f| f != Format::Text) {
            return by_name;
        }
        use std::io::BufRead;
        let first = std::fs::File::open(path).ok().and_then(|f| {
            std::io::BufReader::new(f)
                .lines()
                .map_while(Result::ok)
                .find(|l| !l.trim().is_empty())
        });
        match first.as_deref().map(str::trim_start) {
            // `{:process 0, ...}` or `[{:process ...`: EDN keywords, not JSON.
            Some(l)
                if by_name.is_some()
                    && (l.starts_with('{') || l.starts_with('['))
                    && l.trim_start_matches(['[', '{', ' ']).starts_with(':') =>
            {
                Some(Format::Edn)
            }
            // `r(1,0,0,0)`: Plume's, with or without an extension.
            Some(l) if plume::is_plume_line(l) => Some(Format::Plume),
            _ => by_name,
        }
    }
}

/// A whole history read into memory, with what the reader had to say about it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Loaded {
    pub ops: Vec<Op>,
    /// Problems that lost nothing recorded, e.g. a last line cut short by a crash.
    pub warnings: Vec<String>,
}

/// Reads a whole history file in its format ([`Format::of_file`]).
pub fn load(path: &Path) -> Result<Loaded, HistoryError> {
    match Format::of_file(path) {
        Some(Format::Jsonl) => jsonl::load(path),
        Some(Format::Edn) => edn::load(path),
        Some(Format::Text) => text::load(path),
        Some(Format::Plume) => plume::load(path),
        None => Err(HistoryError::UnknownFormat(path.to_path_buf())),
    }
}
