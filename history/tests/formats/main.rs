//! The history formats: JSON Lines, EDN, their round trip, durability, and robustness.

mod common;
mod durability;
mod edn;
mod jsonl;
mod never_panic;
mod round_trip;
