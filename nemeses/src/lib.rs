//! Faults and their undoing: partition grudges and topologies, clock bumps and strobes (with a
//! system-clock and a per-process strategy), kill and pause, packet loss, fault schedules, and
//! healing everything — at the end of a run, on Ctrl-C, on a panic, and after a crash.
//!
//! Not built yet: this crate only marks its place in the workspace.
