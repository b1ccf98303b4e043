//! `rift heal`: undo every fault rift may have left on a set of nodes, e.g. after the harness
//! was killed mid-run. Always removes rift's firewall chain on every node; resets clock offsets
//! and resumes paused processes that the fault ledger records for each node (kept per node
//! address: the nodes may be given in any order, as a subset or superset, or named otherwise).
//! Every node and every kind of fault is tried; each failure is reported with its node, and the
//! exit code is non-zero only after everything was tried.

use crate::cli::HealArgs;
use crate::exit::Exit;
use anyhow::Result;
use nemeses::faults::{Faults, Ledger, ledger_dir};
use std::sync::Arc;

pub fn run(args: HealArgs) -> Result<Exit> {
    let inventory = crate::nodes::inventory(&args.nodes)?;
    let path = ledger_dir();
    let ledger = Ledger::open(&path, &inventory.nodes).map_err(|e| anyhow::anyhow!(e))?;
    let recorded = ledger.snapshot();
    let faults = Faults::new(control::connect_all(&inventory)?, Arc::new(ledger));
    let runtime = tokio::runtime::Runtime::new()?;
    match runtime.block_on(faults.heal_all()) {
        Ok(()) => {
            let clocks = recorded.values().filter(|f| f.clock_file.is_some()).count();
            let paused: usize = recorded.values().map(|f| f.paused.len()).sum();
            crate::say!(
                "healed {} nodes: rift's firewall rules removed; {clocks} clock offsets reset; {paused} paused processes resumed (ledger {})",
                inventory.nodes.len(),
                path.display()
            );
            Ok(Exit::Valid)
        }
        Err(e) => {
            for (node, what, why) in &e.failures {
                eprintln!("rift: HEALING FAILED on {node}: {what}: {why}");
            }
            eprintln!(
                "rift: {} fault(s) not undone; everything else was (ledger {})",
                e.failures.len(),
                path.display()
            );
            Ok(Exit::Internal)
        }
    }
}
