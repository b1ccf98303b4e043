//! What clients do, and which checkers judge it.
//!
//! Owns what is store-neutral: the workload definitions ([`standard`]: register, set, counter,
//! list-append, idempotency — generators, op shapes, final reads), the seams a store fills
//! ([`Client`], [`Clients`]), the generator algebra ([`generator`]), and the table `rift check`
//! uses to choose checkers by workload name. Stores and their clients live in the `stores`
//! crate.

pub mod client;
pub mod generator;
pub mod standard;

pub use client::{Client, ClientCtx, Clients, Completion, RunLogFn, Workload};

/// A workload as `rift` names it, with the checkers that judge its histories.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkloadInfo {
    pub name: &'static str,
    /// One line for `--help` and errors.
    pub about: &'static str,
    /// The checkers that judge its histories, by stable name.
    pub checkers: &'static [&'static str],
    /// The consistency models a store is held to when neither it nor the user claims any (see
    /// `checkers::models`): `eventual` for single objects, strict serializability for
    /// transactions, as Elle assumes.
    pub claims: &'static [&'static str],
}

/// Every workload rift knows.
pub const WORKLOADS: &[WorkloadInfo] = &[
    WorkloadInfo {
        name: "register",
        about: "reads and writes of unique values to single keys",
        checkers: &["stats", "register", "session", "linearizable"],
        claims: &["eventual"],
    },
    WorkloadInfo {
        name: "cas-register",
        about: "reads, writes and compare-and-set of small values on registers (as Knossos')",
        checkers: &["stats", "linearizable"],
        claims: &["linearizable"],
    },
    WorkloadInfo {
        name: "kv",
        about: "get, put and append of strings on keys (as Porcupine's kv)",
        checkers: &["stats", "linearizable"],
        claims: &["linearizable"],
    },
    WorkloadInfo {
        name: "set",
        about: "adds of unique elements, then reads of the whole set",
        checkers: &["stats", "set", "convergence", "session"],
        claims: &["eventual"],
    },
    WorkloadInfo {
        name: "counter",
        about: "increments and reads of counters",
        checkers: &["stats", "counter", "convergence"],
        claims: &["eventual"],
    },
    WorkloadInfo {
        name: "list-append",
        about: "appends of unique values to lists, and reads of them (single ops or txns)",
        checkers: &["stats", "session", "convergence", "list-append"],
        claims: &["strict-serializable"],
    },
    WorkloadInfo {
        name: "rw-register",
        about: "transactions writing unique values to registers and reading them",
        checkers: &["stats", "rw-register", "commit-order"],
        claims: &["strict-serializable"],
    },
    WorkloadInfo {
        name: "idempotency",
        about: "insert-if-absent of request ids, retried after timeouts",
        checkers: &["stats", "idempotency"],
        claims: &["eventual"],
    },
];

/// A workload by name.
pub fn find(name: &str) -> Option<&'static WorkloadInfo> {
    WORKLOADS.iter().find(|w| w.name == name)
}

/// The names, for error messages.
pub fn names() -> Vec<&'static str> {
    WORKLOADS.iter().map(|w| w.name).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_workload_names_checkers_that_exist() {
        for w in WORKLOADS {
            assert!(!w.checkers.is_empty(), "{} has no checker", w.name);
            for c in w.checkers {
                assert!(
                    checkers::by_name(c).is_some(),
                    "{} names unknown checker {c}",
                    w.name
                );
            }
        }
        for w in WORKLOADS {
            assert!(!w.claims.is_empty(), "{} claims nothing", w.name);
            for m in w.claims {
                assert!(checkers::models::known(m), "{} claims unknown {m}", w.name);
            }
        }
        assert_eq!(find("set").map(|w| w.name), Some("set"));
        assert!(find("bank").is_none());
    }
}
