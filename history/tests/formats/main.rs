//! The history formats: JSON Lines, EDN, their round trip, durability, and robustness.

#![allow(clippy::unwrap_used)] // tests fail loudly by design

mod common;
mod durability;
mod edn;
mod fast_edn;
mod fast_jsonl;
mod jsonl;
mod never_panic;
mod plume;
mod round_trip;
