//! The stores rift can test, one module each ([`ecstore`], [`redis`], [`etcd`]), and the
//! [`Registry`] the harness chooses them from by name. The harness names no concrete store: it
//! asks the registry, which knows each store's workloads and capabilities, so a plan a store
//! cannot carry out is refused before any node is touched.
//!
//! A store is a [`Store`]: a name, what it supports, and [`Store::open`], which gives the run
//! its [`Db`] (lifecycle and process faults on each node, over any `Remote`), the workload (the
//! store-neutral definition from `workloads`, in the variant the store wants) and the store's
//! [`Clients`] for that workload. See docs/stores.md for adding one.

pub mod ecstore;
pub mod etcd;
mod packages;
pub mod redis;
pub mod stdio;
pub mod store_file;

use control::Db;
use control::db::ProcessEnv;
use std::sync::Arc;
use workloads::{Clients, Workload};

/// What a run asks of a store.
#[derive(Debug, Clone, Default)]
pub struct StoreConfig {
    pub workload: String,
    /// `--db-flag`s, for the store to read (each store says which it takes).
    pub db_flags: Vec<String>,
    /// Environment every store process must start with (the clock fault's hook).
    pub env: ProcessEnv,
}

/// What a run drives: the store on its nodes, the workload, and the store's clients for it.
pub struct Opened {
    pub db: Arc<dyn Db>,
    pub workload: Arc<dyn Workload>,
    pub clients: Arc<dyn Clients>,
}

impl std::fmt::Debug for Opened {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Opened")
            .field("db", &self.db.name())
            .field("workload", &self.workload.name())
            .finish()
    }
}

/// A store rift can test.
pub trait Store: Send + Sync {
    /// The name `--db` selects it by.
    fn name(&self) -> &str;
    /// One line for `--help`.
    fn about(&self) -> &str;
    /// The workloads its clients perform.
    fn workloads(&self) -> &[&'static str];
    /// Whether it has primaries (so `--nemesis-targets primaries` means something).
    fn has_primaries(&self) -> bool {
        false
    }
    /// Checks `--db-flag`s before anything is touched; the message says what is accepted.
    fn check_flags(&self, flags: &[String]) -> Result<(), String>;
    /// The consistency models it promises for a workload with these flags (`checkers::models`
    /// names them); `None`: the workload's default (`eventual` for single objects, strict
    /// serializability for transactions). Its verdicts are judged against them.
    fn claims(&self, _workload: &str, _flags: &[String]) -> Option<Vec<String>> {
        None
    }
    /// The run's store, workload and clients. Called after [`Store::check_flags`] passed and the
    /// workload is one of [`Store::workloads`].
    fn open(&self, config: &StoreConfig) -> Result<Opened, String>;
}

/// The stores a `rift` knows, by name.
#[derive(Clone, Default)]
pub struct Registry {
    stores: Vec<Arc<dyn Store>>,
}

impl std::fmt::Debug for Registry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.names()).finish()
    }
}

impl Registry {
    /// The stores built into rift: ecstore, redis, etcd.
    pub fn builtin() -> Registry {
        let mut r = Registry::default();
        r.register(ecstore::Ecstore);
        r.register(redis::Redis);
        r.register(etcd::Etcd);
        r
    }

    /// Adds a store (or replaces one of the same name).
    pub fn register(&mut self, store: impl Store + 'static) {
        self.stores.retain(|s| s.name() != store.name());
        self.stores.push(Arc::new(store));
    }

    pub fn find(&self, name: &str) -> Option<&Arc<dyn Store>> {
        self.stores.iter().find(|s| s.name() == name)
    }

    pub fn names(&self) -> Vec<&str> {
        self.stores.iter().map(|s| s.name()).collect()
    }

    /// Checks a store, workload, targets and flags together, before a run touches anything.
    pub fn check(
        &self,
        db: &str,
        workload: &str,
        targets_primaries: bool,
        flags: &[String],
    ) -> Result<&Arc<dyn Store>, Refusal> {
        let store = self.find(db).ok_or_else(|| Refusal::Db {
            message: format!(
                "unknown store {db:?}; rift knows {}",
                self.names().join(", ")
            ),
        })?;
        if !store.workloads().contains(&workload) {
            return Err(Refusal::Workload {
                message: format!(
                    "{db} does not run the {workload} workload; it runs {}",
                    store.workloads().join(", ")
                ),
            });
        }
        if targets_primaries && !store.has_primaries() {
            return Err(Refusal::Targets {
                message: format!("{db} has no primaries; choose one, minority, majority or all"),
            });
        }
        store
            .check_flags(flags)
            .map_err(|message| Refusal::Flags { message })?;
        Ok(store)
    }

    /// What a store claims for a workload with these flags (`None`: unknown store, or the
    /// workload's default).
    pub fn claims(&self, db: &str, workload: &str, flags: &[String]) -> Option<Vec<String>> {
        self.find(db)?.claims(workload, flags)
    }

    /// Every store with its workloads, for `rift test --help`.
    pub fn describe(&self) -> String {
        let mut out = String::from("Stores (--db) and the workloads (-w) each runs:\n");
        for s in &self.stores {
            out.push_str(&format!(
                "  {:<9} {}\n            workloads: {}{}\n",
                s.name(),
                s.about(),
                s.workloads().join(", "),
                if s.has_primaries() {
                    "; has primaries"
                } else {
                    ""
                }
            ));
        }
        out
    }
}

/// Why a plan is refused, by the field at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("{message}")]
    Db { message: String },
    #[error("{message}")]
    Workload { message: String },
    #[error("{message}")]
    Targets { message: String },
    #[error("{message}")]
    Flags { message: String },
}

impl Refusal {
    /// The plan field at fault.
    pub fn field(&self) -> &'static str {
        match self {
            Refusal::Db { .. } => "db",
            Refusal::Workload { .. } => "workload",
            Refusal::Targets { .. } => "nemesis_targets",
            Refusal::Flags { .. } => "db_flags",
        }
    }
}

impl Opened {
    /// A run of one of the standard (store-neutral) workloads, with the store's clients for it.
    /// `None` for clients means the store has none for that workload, which the registry's
    /// check before a run already refuses.
    pub fn standard(
        db: impl Db + 'static,
        workload: &str,
        options: workloads::standard::Options,
        clients: Option<Arc<dyn Clients>>,
    ) -> Result<Opened, String> {
        let clients = clients.ok_or_else(|| format!("{} has no {workload} client", db.name()))?;
        let workload = workloads::standard::workload(workload, options)
            .map(Arc::from)
            .ok_or_else(|| format!("no workload named {workload}"))?;
        Ok(Opened {
            db: Arc::new(db),
            workload,
            clients,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_registry_refuses_what_a_store_cannot_do_and_names_the_field() {
        let r = Registry::builtin();
        assert_eq!(r.names(), ["ecstore", "redis", "etcd"]);
        let e = r.check("mongo", "set", false, &[]).err().unwrap();
        assert_eq!(e.field(), "db");
        assert!(
            e.to_string().contains("rift knows ecstore, redis, etcd"),
            "{e}"
        );
        let e = r.check("etcd", "counter", false, &[]).err().unwrap();
        assert_eq!(e.field(), "workload");
        let e = r.check("ecstore", "rw-register", false, &[]).err().unwrap();
        assert_eq!(e.field(), "workload");
        let e = r.check("ecstore", "set", true, &[]).err().unwrap();
        assert_eq!(e.field(), "nemesis_targets");
        assert!(r.check("redis", "set", true, &[]).is_ok());
        assert!(r.check("etcd", "register", true, &[]).is_ok());
        let e = r
            .check("etcd", "register", false, &["--bogus".into()])
            .err()
            .unwrap();
        assert_eq!(e.field(), "db_flags");
        for s in ["ecstore", "redis", "etcd"] {
            assert!(r.describe().contains(s));
        }
    }

    #[test]
    fn every_store_workload_is_a_known_workload() {
        let r = Registry::builtin();
        for name in r.names() {
            for w in r.find(name).unwrap().workloads() {
                assert!(workloads::find(w).is_some(), "{name}: {w}");
            }
        }
    }
}
