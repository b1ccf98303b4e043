//! Faults and their undoing: partition grudges and topologies, clock bumps and strobes (with a
//! system-clock and a per-process strategy), kill and pause, packet loss, fault schedules, and
//! healing everything — at the end of a run, on Ctrl-C, on a panic, and after a crash.
//!
//! Built so far: [`grudge`] (partition topologies), [`faults`] (network and clock faults on
//! nodes, the ledger that lets `rift heal` undo them), and [`clock`]'s per-process clock library.

pub mod clock;
pub mod faults;
pub mod grudge;
