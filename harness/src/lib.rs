//! The parts of `rift` that other code (tests, benchmarks) drives directly: the test plan and
//! the run — workers, recording, the final phase. The binary (`main.rs`) is the command line
//! around them.

pub mod plan;
pub mod run;
