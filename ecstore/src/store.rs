//! One node's replica: states by key, kept durable in an append-only log.
//!
//! Every change merged into a key is appended to `ecstore.log` as one JSON line and written to
//! the kernel at once, so a killed process loses nothing it acknowledged; `fsync` decides when it
//! also reaches the disk. On start the log is replayed by merging its lines in order (merges are
//! idempotent, so replaying more than once is harmless). A last line cut short by a crash is
//! dropped; any other bad line stops the start with its line number.

use crate::state::State;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Fsync {
    /// After every change: slow, and nothing acknowledged is lost even to a power cut.
    Always,
    /// Every 100 ms.
    Interval,
    /// Never (the OS decides): a killed process still loses nothing, a machine crash may.
    Never,
}

#[derive(Serialize, Deserialize)]
struct Entry {
    k: String,
    s: State,
}

#[derive(Debug)]
pub struct Store {
    states: Mutex<HashMap<String, State>>,
    log: Arc<Mutex<BufWriter<File>>>,
    dirty: Arc<AtomicBool>,
    fsync: Fsync,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Store {
    pub fn open(dir: &Path, fsync: Fsync) -> Result<Store, String> {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let path = dir.join("ecstore.log");
        let states = replay(&path)?;
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        let store = Store {
            states: Mutex::new(states),
            log: Arc::new(Mutex::new(BufWriter::new(file))),
            dirty: Arc::new(AtomicBool::new(false)),
            fsync,
        };
        if fsync == Fsync::Interval {
            let (log, dirty) = (store.log.clone(), store.dirty.clone());
            std::thread::spawn(move || {
                loop {
                    std::thread::sleep(Duration::from_millis(100));
                    if dirty.swap(false, Ordering::AcqRel) {
                        let _ = lock(&log).get_ref().sync_data();
                    }
                }
            });
        }
        Ok(store)
    }

    pub fn get(&self, key: &str) -> Option<State> {
        lock(&self.states).get(key).cloned()
    }

    /// Merges `incoming` into the key; returns the result. A change is logged before it counts.
    pub fn merge(&self, key: &str, incoming: &State) -> Result<State, String> {
        self.update(key, |_| incoming.clone())
    }

    /// Computes a change from the key's current state and merges it, atomically with respect to
    /// every other change on this node; returns the result.
    pub fn update(
        &self,
        key: &str,
        change: impl FnOnce(Option<&State>) -> State,
    ) -> Result<State, String> {
        let mut states = lock(&self.states);
        let current = states.get(key);
        let delta = change(current);
        let merged = match current {
            None => delta.clone(),
            Some(cur) => cur.merge(&delta).ok_or_else(|| {
                format!("key {key}: cannot merge a {delta:?} into a {cur:?} (was the store reconfigured?)")
            })?,
        };
        if current != Some(&merged) {
            self.append(key, &delta)?;
            states.insert(key.to_owned(), merged.clone());
        }
        Ok(merged)
    }

    fn append(&self, key: &str, state: &State) -> Result<(), String> {
        let mut line = serde_json::to_vec(&Entry {
            k: key.to_owned(),
            s: state.clone(),
        })
        .map_err(|e| e.to_string())?;
        line.push(b'\n');
        let mut log = lock(&self.log);
        log.write_all(&line)
            .and_then(|()| log.flush())
            .map_err(|e| format!("log: {e}"))?;
        match self.fsync {
            Fsync::Always => log.get_ref().sync_data().map_err(|e| format!("log: {e}"))?,
            Fsync::Interval => self.dirty.store(true, Ordering::Release),
            Fsync::Never => {}
        }
        Ok(())
    }

    pub fn keys(&self) -> Vec<String> {
        let mut keys: Vec<String> = lock(&self.states).keys().cloned().collect();
        keys.sort();
        keys
    }

    pub fn digests(&self) -> BTreeMap<String, u64> {
        lock(&self.states)
            .iter()
            .map(|(k, s)| (k.clone(), s.digest()))
            .collect()
    }
}

fn replay(path: &PathBuf) -> Result<HashMap<String, State>, String> {
    let mut states: HashMap<String, State> = HashMap::new();
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(states),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let mut reader = BufReader::new(file);
    let mut line = String::new();
    let mut number = 0;
    loop {
        line.clear();
        let n = reader
            .read_line(&mut line)
            .map_err(|e| format!("{}: {e}", path.display()))?;
        if n == 0 {
            break;
        }
        number += 1;
        let entry: Entry = match serde_json::from_str(&line) {
            Ok(e) => e,
            Err(_) if !line.ends_with('\n') => {
                eprintln!(
                    "ecstore: {}:{number}: dropping a last line cut short",
                    path.display()
                );
                break;
            }
            Err(e) => return Err(format!("{}:{number}: {e}", path.display())),
        };
        let merged = match states.get(&entry.k) {
            None => entry.s,
            Some(cur) => cur.merge(&entry.s).ok_or_else(|| {
                format!("{}:{number}: key {} changes shape", path.display(), entry.k)
            })?,
        };
        states.insert(entry.k, merged);
    }
    Ok(states)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changes_survive_a_restart_and_a_cut_short_last_line() {
        let dir = tempfile::tempdir().unwrap();
        {
            let store = Store::open(dir.path(), Fsync::Never).unwrap();
            store.merge("set/a", &State::Set([1].into())).unwrap();
            store.merge("set/a", &State::Set([2].into())).unwrap();
            store.update("set/b", |_| State::Set([7].into())).unwrap();
        }
        let log = dir.path().join("ecstore.log");
        let mut text = std::fs::read_to_string(&log).unwrap();
        assert_eq!(text.lines().count(), 3);
        text.push_str("{\"k\":\"set/a\",\"s\":{\"se");
        std::fs::write(&log, text).unwrap();

        let store = Store::open(dir.path(), Fsync::Never).unwrap();
        assert_eq!(store.get("set/a"), Some(State::Set([1, 2].into())));
        assert_eq!(store.keys(), ["set/a", "set/b"]);
    }

    #[test]
    fn a_bad_line_in_the_middle_stops_the_start_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("ecstore.log"),
            "{\"k\":\"set/a\",\"s\":{\"set\":[1]}}\nnot json\n{}\n",
        )
        .unwrap();
        let e = Store::open(dir.path(), Fsync::Never).unwrap_err();
        assert!(e.contains("ecstore.log:2:"), "{e}");
    }

    #[test]
    fn an_unchanged_state_is_not_logged_again() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), Fsync::Always).unwrap();
        for _ in 0..3 {
            store.merge("set/a", &State::Set([1].into())).unwrap();
        }
        let text = std::fs::read_to_string(dir.path().join("ecstore.log")).unwrap();
        assert_eq!(text.lines().count(), 1);
    }
}
