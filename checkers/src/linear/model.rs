//! The sequential specifications the search checks histories against.
//!
//! A model is a Rust type with a small `Copy` state: values are numbered per key (the checker
//! interns them, `nil` first), so a register's state is one number and comparing two states is
//! comparing two numbers. The key-value model's `append` makes strings no op wrote; the model
//! numbers those itself.

use rustc_hash::FxHashMap;
use std::hash::Hash;

/// One operation as the models see it: values by number in its key's table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Call {
    /// A read that returned value `0`.
    Read(u32),
    Write(u32),
    /// `cas [old new]` that took effect: the register held `old`, and now holds `new`.
    Cas(u32, u32),
    /// A `get` that returned the value.
    Get(u32),
    Put(u32),
    Append(u32),
}

impl Call {
    /// Whether, wherever the op is legal, it leaves the state as it found it (a read; a cas of
    /// a value to itself): such an op, once it may be placed, can be placed at once.
    pub fn only_observes(self) -> bool {
        match self {
            Call::Read(_) | Call::Get(_) => true,
            Call::Cas(old, new) => old == new,
            Call::Write(_) | Call::Put(_) | Call::Append(_) => false,
        }
    }

    /// Whether the op is legal in every state and leaves the same state whatever it found.
    pub fn overwrites(self) -> bool {
        matches!(self, Call::Write(_) | Call::Put(_))
    }
}

/// A sequential specification: from a state, an operation either is legal (and gives the next
/// state) or is not.
pub trait Model {
    type State: Copy + Eq + Hash + std::fmt::Debug + Send;
    /// The model's name, as results give it.
    fn name(&self) -> &'static str;
    fn init(&self) -> Self::State;
    fn step(&mut self, state: Self::State, call: Call) -> Option<Self::State>;
    /// The value a state holds, by number in the key's table (and beyond it, the model's own).
    fn value_of(&self, state: Self::State) -> u32;
    /// Bytes the model has allocated for values of its own (an append's results).
    fn memory(&self) -> usize {
        0
    }
}

/// A register of reads and writes, as Knossos' `register`: it starts `nil` (value 0).
#[derive(Debug, Clone, Copy, Default)]
pub struct Register;

impl Model for Register {
    type State = u32;
    fn name(&self) -> &'static str {
        "register"
    }
    fn init(&self) -> u32 {
        0
    }
    fn step(&mut self, state: u32, call: Call) -> Option<u32> {
        match call {
            Call::Read(v) => (v == state).then_some(state),
            Call::Write(v) => Some(v),
            _ => None,
        }
    }
    fn value_of(&self, state: u32) -> u32 {
        state
    }
}

/// A register with compare-and-set, as Knossos' `cas-register`: a `cas [old new]` that took
/// effect found `old` and left `new`.
#[derive(Debug, Clone, Copy, Default)]
pub struct CasRegister;

impl Model for CasRegister {
    type State = u32;
    fn name(&self) -> &'static str {
        "cas-register"
    }
    fn init(&self) -> u32 {
        0
    }
    fn step(&mut self, state: u32, call: Call) -> Option<u32> {
        match call {
            Call::Cas(old, new) => (old == state).then_some(new),
            other => Register.step(state, other),
        }
    }
    fn value_of(&self, state: u32) -> u32 {
        state
    }
}

/// One key of a key-value map, as Porcupine's kv model: `get` returns the string held (`""`
/// before any write), `put` replaces it, `append` adds to its end.
#[derive(Debug, Clone, Default)]
pub struct Kv {
    /// Strings by number: the key's table first, then the results of appends.
    strings: Vec<String>,
    ids: FxHashMap<String, u32>,
    /// (state, appended value) → the resulting state: an append repeated in the search is
    /// computed once.
    appended: FxHashMap<(u32, u32), u32>,
    bytes: usize,
}

impl Kv {
    /// A model over a key's values (strings, numbered as the checker numbered them; the first
    /// is the empty string a key starts with).
    pub fn new(values: Vec<String>) -> Kv {
        let mut kv = Kv::default();
        for v in values {
            kv.number(v);
        }
        kv
    }

    fn number(&mut self, s: String) -> u32 {
        if let Some(&id) = self.ids.get(&s) {
            return id;
        }
        let id = self.strings.len() as u32;
        self.bytes += 2 * s.len() + 64;
        self.strings.push(s.clone());
        self.ids.insert(s, id);
        id
    }

    /// The string a number stands for.
    pub fn string(&self, id: u32) -> &str {
        &self.strings[id as usize]
    }
}

impl Model for Kv {
    type State = u32;
    fn name(&self) -> &'static str {
        "kv"
    }
    fn init(&self) -> u32 {
        0
    }
    fn step(&mut self, state: u32, call: Call) -> Option<u32> {
        match call {
            Call::Get(v) => (v == state).then_some(state),
            Call::Put(v) => Some(v),
            Call::Append(v) => {
                if let Some(&s) = self.appended.get(&(state, v)) {
                    return Some(s);
                }
                let joined = format!("{}{}", self.string(state), self.string(v));
                let s = self.number(joined);
                self.appended.insert((state, v), s);
                self.bytes += 24;
                Some(s)
            }
            _ => None,
        }
    }
    fn value_of(&self, state: u32) -> u32 {
        state
    }
    fn memory(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_model_follows_its_specification() {
        let mut r = Register;
        assert_eq!(r.step(0, Call::Read(0)), Some(0));
        assert_eq!(r.step(0, Call::Read(1)), None);
        assert_eq!(r.step(0, Call::Write(2)), Some(2));
        assert_eq!(r.step(2, Call::Cas(2, 3)), None, "a register has no cas");
        let mut c = CasRegister;
        assert_eq!(c.step(2, Call::Cas(2, 3)), Some(3));
        assert_eq!(c.step(1, Call::Cas(2, 3)), None);
        assert_eq!(c.step(1, Call::Write(4)), Some(4));
        let mut kv = Kv::new(vec!["".into(), "a".into(), "ab".into(), "b".into()]);
        let a = kv.step(0, Call::Append(1)).unwrap();
        assert_eq!(a, 1, "\"\" + \"a\" is the string numbered 1");
        let ab = kv.step(a, Call::Append(3)).unwrap();
        assert_eq!(ab, 2);
        assert_eq!(kv.step(ab, Call::Get(2)), Some(2));
        assert_eq!(kv.step(ab, Call::Get(1)), None);
        let aba = kv.step(ab, Call::Append(1)).unwrap();
        assert_eq!(kv.string(aba), "aba");
        assert_eq!(kv.step(aba, Call::Put(3)), Some(3));
    }
}
