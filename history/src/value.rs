//! Values carried by ops: the data model shared by JSON and EDN.
//!
//! Jepsen values are arbitrary Clojure data (a nemesis may record `[:isolated {"n1" #{"n2"}}]`),
//! so one generic type carries them, and checkers take typed views of it (an integer, a
//! list-append transaction, ...). It is the intersection of what both formats can say without
//! guessing:
//!
//! - EDN keywords, symbols and characters become strings (`:x` → `"x"`); rift never relies on
//!   the difference, and the EDN writer turns the places Jepsen expects keywords back into them.
//! - JSON has no sets and only string keys, so a set is written `{"#set": [..]}` and a map with
//!   other keys `{"#map": [[k, v], ..]}`. A string-keyed map whose only key is `#set` or `#map`
//!   is written in the `#map` form too, so reading is never ambiguous.

use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::cmp::Ordering;
use std::fmt;

#[derive(Debug, Clone, PartialEq, Default)]
pub enum Value {
    #[default]
    Nil,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    List(Vec<Value>),
    /// Sorted by [`Value::total_cmp`], without duplicates: build one with [`Value::set`].
    Set(Vec<Value>),
    /// Sorted by key, keys unique: build one with [`Value::map`].
    Map(Vec<(Value, Value)>),
}

const SET_TAG: &str = "#set";
const MAP_TAG: &str = "#map";

impl Value {
    /// A set in canonical form: sorted, duplicates removed.
    pub fn set(items: impl IntoIterator<Item = Value>) -> Value {
        let mut items: Vec<Value> = items.into_iter().collect();
        items.sort_by(Value::total_cmp);
        items.dedup_by(|a, b| a.total_cmp(b) == Ordering::Equal);
        Value::Set(items)
    }

    /// A map in canonical form: sorted by key (keys must be unique; readers check).
    pub fn map(entries: impl IntoIterator<Item = (Value, Value)>) -> Value {
        let mut entries: Vec<(Value, Value)> = entries.into_iter().collect();
        entries.sort_by(|a, b| a.0.total_cmp(&b.0));
        Value::Map(entries)
    }

    /// A total order over values, so that sets and maps have one form.
    pub fn total_cmp(&self, other: &Value) -> Ordering {
        fn rank(v: &Value) -> u8 {
            match v {
                Value::Nil => 0,
                Value::Bool(_) => 1,
                Value::Int(_) => 2,
                Value::Float(_) => 3,
                Value::Str(_) => 4,
                Value::List(_) => 5,
                Value::Set(_) => 6,
                Value::Map(_) => 7,
            }
        }
        fn seq(a: &[Value], b: &[Value]) -> Ordering {
            a.iter()
                .zip(b)
                .map(|(x, y)| x.total_cmp(y))
                .find(|o| o.is_ne())
                .unwrap_or_else(|| a.len().cmp(&b.len()))
        }
        match (self, other) {
            (Value::Bool(a), Value::Bool(b)) => a.cmp(b),
            (Value::Int(a), Value::Int(b)) => a.cmp(b),
            // -0.0 and 0.0 are one value (EDN agrees); NaNs still get a place.
            (Value::Float(a), Value::Float(b)) => {
                a.partial_cmp(b).unwrap_or_else(|| a.total_cmp(b))
            }
            (Value::Str(a), Value::Str(b)) => a.cmp(b),
            (Value::List(a), Value::List(b)) | (Value::Set(a), Value::Set(b)) => seq(a, b),
            (Value::Map(a), Value::Map(b)) => a
                .iter()
                .zip(b)
                .map(|((ka, va), (kb, vb))| ka.total_cmp(kb).then_with(|| va.total_cmp(vb)))
                .find(|o| o.is_ne())
                .unwrap_or_else(|| a.len().cmp(&b.len())),
            _ => rank(self).cmp(&rank(other)),
        }
    }

    /// A value that occurs twice among `items`, if any.
    pub fn find_duplicate<'a>(items: impl IntoIterator<Item = &'a Value>) -> Option<&'a Value> {
        let mut sorted: Vec<&Value> = items.into_iter().collect();
        sorted.sort_by(|a, b| a.total_cmp(b));
        sorted
            .windows(2)
            .find(|w| w[0].total_cmp(w[1]).is_eq())
            .map(|w| w[0])
    }

    pub fn is_nil(&self) -> bool {
        matches!(self, Value::Nil)
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The elements of a list or a set.
    pub fn as_seq(&self) -> Option<&[Value]> {
        match self {
            Value::List(v) | Value::Set(v) => Some(v),
            _ => None,
        }
    }

    /// The value under a string key of a map.
    pub fn get(&self, key: &str) -> Option<&Value> {
        match self {
            Value::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.as_str() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }

    fn map_needs_tag(entries: &[(Value, Value)]) -> bool {
        let all_str = entries.iter().all(|(k, _)| matches!(k, Value::Str(_)));
        let looks_tagged =
            entries.len() == 1 && matches!(entries[0].0.as_str(), Some(SET_TAG) | Some(MAP_TAG));
        !all_str || looks_tagged
    }
}

impl From<i64> for Value {
    fn from(i: i64) -> Self {
        Value::Int(i)
    }
}

impl From<&str> for Value {
    fn from(s: &str) -> Self {
        Value::Str(s.to_owned())
    }
}

impl From<String> for Value {
    fn from(s: String) -> Self {
        Value::Str(s)
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

impl<T: Into<Value>> From<Vec<T>> for Value {
    fn from(v: Vec<T>) -> Self {
        Value::List(v.into_iter().map(Into::into).collect())
    }
}

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Nil => s.serialize_unit(),
            Value::Bool(b) => s.serialize_bool(*b),
            Value::Int(i) => s.serialize_i64(*i),
            Value::Float(f) => s.serialize_f64(*f),
            Value::Str(x) => s.serialize_str(x),
            Value::List(items) => items.serialize(s),
            Value::Set(items) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry(SET_TAG, items)?;
                m.end()
            }
            Value::Map(entries) if Value::map_needs_tag(entries) => {
                let mut m = s.serialize_map(Some(1))?;
                m.serialize_entry(MAP_TAG, &Pairs(entries))?;
                m.end()
            }
            Value::Map(entries) => {
                let mut m = s.serialize_map(Some(entries.len()))?;
                for (k, v) in entries {
                    m.serialize_entry(k, v)?;
                }
                m.end()
            }
        }
    }
}

struct Pairs<'a>(&'a [(Value, Value)]);

impl Serialize for Pairs<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.len()))?;
        for (k, v) in self.0 {
            seq.serialize_element(&[k, v])?;
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a value")
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Nil)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Nil)
    }
    fn visit_bool<E>(self, b: bool) -> Result<Value, E> {
        Ok(Value::Bool(b))
    }
    fn visit_i64<E>(self, i: i64) -> Result<Value, E> {
        Ok(Value::Int(i))
    }
    fn visit_u64<E: de::Error>(self, u: u64) -> Result<Value, E> {
        i64::try_from(u).map(Value::Int).map_err(|_| {
            E::custom(format!(
                "integer {u} is larger than a 64-bit signed integer"
            ))
        })
    }
    fn visit_f64<E>(self, f: f64) -> Result<Value, E> {
        Ok(Value::Float(f))
    }
    fn visit_str<E>(self, s: &str) -> Result<Value, E> {
        Ok(Value::Str(s.to_owned()))
    }
    fn visit_string<E>(self, s: String) -> Result<Value, E> {
        Ok(Value::Str(s))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1024));
        while let Some(v) = seq.next_element()? {
            items.push(v);
        }
        Ok(Value::List(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries: Vec<(Value, Value)> = Vec::new();
        while let Some(key) = map.next_key::<String>()? {
            let value: Value = map.next_value()?;
            entries.push((Value::Str(key), value));
        }
        if let [(Value::Str(tag), inner)] = entries.as_slice() {
            match tag.as_str() {
                SET_TAG => {
                    let Value::List(items) = inner else {
                        return Err(de::Error::custom("#set must hold an array"));
                    };
                    if let Some(dup) = Value::find_duplicate(items) {
                        return Err(de::Error::custom(duplicate("a #set", "element", dup)));
                    }
                    return Ok(Value::set(items.iter().cloned()));
                }
                MAP_TAG => {
                    let map = untag_map(inner).map_err(de::Error::custom)?;
                    if let Value::Map(entries) = &map
                        && let Some(dup) = Value::find_duplicate(entries.iter().map(|(k, _)| k))
                    {
                        return Err(de::Error::custom(duplicate("a #map", "key", dup)));
                    }
                    return Ok(Value::map(entries_of(map)));
                }
                _ => {}
            }
        }
        if let Some(dup) = Value::find_duplicate(entries.iter().map(|(k, _)| k)) {
            return Err(de::Error::custom(duplicate("an object", "key", dup)));
        }
        Ok(Value::map(entries))
    }
}

fn entries_of(map: Value) -> Vec<(Value, Value)> {
    match map {
        Value::Map(entries) => entries,
        _ => Vec::new(),
    }
}

/// The message for a collection that holds something twice.
pub(crate) fn duplicate(collection: &str, what: &str, dup: &Value) -> String {
    let shown = serde_json::to_string(dup).unwrap_or_default();
    format!("{collection} holds the {what} {shown} twice")
}

fn untag_map(inner: &Value) -> Result<Value, &'static str> {
    const SHAPE: &str = "#map must hold an array of [key, value] pairs";
    let Value::List(pairs) = inner else {
        return Err(SHAPE);
    };
    pairs
        .iter()
        .map(|pair| match pair {
            Value::List(kv) if kv.len() == 2 => Ok((kv[0].clone(), kv[1].clone())),
            _ => Err(SHAPE),
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Value::Map)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(v: &Value) -> Value {
        serde_json::from_str(&serde_json::to_string(v).unwrap()).unwrap()
    }

    #[test]
    fn json_encoding_is_natural_where_json_can_say_it() {
        let v = Value::map(vec![
            ("b".into(), "x".into()),
            (
                "a".into(),
                Value::List(vec![1.into(), Value::Nil, Value::Float(1.5)]),
            ),
        ]);
        assert_eq!(
            serde_json::to_string(&v).unwrap(),
            r#"{"a":[1,null,1.5],"b":"x"}"#
        );
        assert_eq!(round_trip(&v), v);
    }

    #[test]
    fn sets_and_non_string_keyed_maps_are_tagged_and_come_back() {
        let set = Value::Set(vec![1.into(), 2.into()]);
        assert_eq!(serde_json::to_string(&set).unwrap(), r##"{"#set":[1,2]}"##);
        assert_eq!(round_trip(&set), set);
        let map = Value::Map(vec![(1.into(), set.clone())]);
        assert_eq!(round_trip(&map), map);
    }

    #[test]
    fn sets_are_canonical_and_duplicates_are_refused() {
        let read: Value = serde_json::from_str(r##"{"#set":[3,"a",1]}"##).unwrap();
        assert_eq!(read, Value::Set(vec![1.into(), 3.into(), "a".into()]));
        assert_eq!(
            read,
            Value::set(vec![Value::from("a"), 1.into(), 3.into(), 1.into()])
        );
        let e = serde_json::from_str::<Value>(r##"{"#set":[1,2,1]}"##).unwrap_err();
        assert!(e.to_string().contains("holds the element 1 twice"), "{e}");
        let e = serde_json::from_str::<Value>(r#"{"a":1,"a":2}"#).unwrap_err();
        assert!(e.to_string().contains("holds the key \"a\" twice"), "{e}");
    }

    #[test]
    fn a_map_that_looks_like_a_tag_is_not_mistaken_for_one() {
        let sneaky = Value::Map(vec![("#set".into(), Value::List(vec![1.into()]))]);
        assert_eq!(round_trip(&sneaky), sneaky);
        let float_one = Value::Float(1.0);
        assert_eq!(round_trip(&float_one), float_one);
    }
}
