//! A run: workers invoke operations from the generator against the store and record them; the
//! final phase heals, then reads every key from every node until the replicas agree.

mod final_phase;
mod recorder;
mod workers;

pub use final_phase::{FinalPhase, FinalReport, final_phase};
pub use recorder::Recorder;
pub use workers::{ClientSupport, MainPhase, Routing, run_workers};
