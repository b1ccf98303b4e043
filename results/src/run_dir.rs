use crate::ResultsError;
use chrono::{DateTime, Local, TimeDelta};
use serde::Serialize;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

pub const TEST_JSON: &str = "test.json";
pub const HISTORY: &str = "history.jsonl";
pub const RESULTS_JSON: &str = "results.json";
pub const LOG: &str = "rift.log";
pub const NODES: &str = "nodes";
pub const LATEST: &str = "latest";

/// Run directories are named by their start time to the millisecond, so they sort by time.
const STAMP: &str = "%Y%m%dT%H%M%S%.3f";

/// One run's directory: `<results>/<test-name>/<stamp>/`.
#[derive(Debug, Clone)]
pub struct RunDir {
    path: PathBuf,
    test_name: String,
}

/// A test name becomes a directory name: keep it to one plain path component.
pub fn validate_test_name(name: &str) -> Result<(), ResultsError> {
    let why = if name.is_empty() {
        Some("is empty")
    } else if name == "." || name == ".." || name == LATEST {
        Some("is reserved")
    } else if name.starts_with('.') {
        Some("must not start with a dot")
    } else if !name
        .chars()
        .all(|c| c.is_alphanumeric() || "-_.+@".contains(c))
    {
        Some("may hold only letters, digits and - _ . + @")
    } else {
        None
    };
    match why {
        Some(why) => Err(ResultsError::BadTestName {
            name: name.to_owned(),
            why,
        }),
        None => Ok(()),
    }
}

impl RunDir {
    /// Makes a new run directory under `results_root` and points both `latest` links at it.
    pub fn create(
        results_root: &Path,
        test_name: &str,
        started: DateTime<Local>,
    ) -> Result<RunDir, ResultsError> {
        validate_test_name(test_name)?;
        let test_dir = results_root.join(test_name);
        fs::create_dir_all(&test_dir).map_err(|e| ResultsError::io(&test_dir, e))?;
        // Two runs started in the same millisecond get consecutive stamps.
        let mut at = started;
        let (stamp, path) = loop {
            let stamp = at.format(STAMP).to_string();
            let path = test_dir.join(&stamp);
            match fs::create_dir(&path) {
                Ok(()) => break (stamp, path),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    at += TimeDelta::milliseconds(1);
                }
                Err(e) => return Err(ResultsError::io(&path, e)),
            }
        };
        let nodes = path.join(NODES);
        fs::create_dir(&nodes).map_err(|e| ResultsError::io(&nodes, e))?;
        point_link(&test_dir.join(LATEST), Path::new(&stamp))?;
        point_link(
            &results_root.join(LATEST),
            &Path::new(test_name).join(&stamp),
        )?;
        Ok(RunDir {
            path,
            test_name: test_name.to_owned(),
        })
    }

    /// An existing run directory (or any directory holding a history).
    pub fn open(path: &Path) -> Result<RunDir, ResultsError> {
        if !path.is_dir() {
            return Err(ResultsError::Invalid {
                path: path.to_path_buf(),
                message: "not a directory".into(),
            });
        }
        let path = path.canonicalize().map_err(|e| ResultsError::io(path, e))?;
        // <results>/<test-name>/<stamp>: the test's name is the parent's name.
        let test_name = path
            .parent()
            .and_then(Path::file_name)
            .and_then(|n| n.to_str())
            .unwrap_or("run")
            .to_owned();
        Ok(RunDir { path, test_name })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn test_name(&self) -> &str {
        &self.test_name
    }

    pub fn history(&self) -> PathBuf {
        self.path.join(HISTORY)
    }

    pub fn test_json(&self) -> PathBuf {
        self.path.join(TEST_JSON)
    }

    pub fn results_json(&self) -> PathBuf {
        self.path.join(RESULTS_JSON)
    }

    pub fn log_path(&self) -> PathBuf {
        self.path.join(LOG)
    }

    /// `nodes/<node>/`, created on first use, for the files downloaded from a node.
    pub fn node_dir(&self, node: &str) -> Result<PathBuf, ResultsError> {
        validate_test_name(node).map_err(|_| ResultsError::Invalid {
            path: self.path.join(NODES),
            message: format!("node name {node:?} cannot be a directory name"),
        })?;
        let dir = self.path.join(NODES).join(node);
        fs::create_dir_all(&dir).map_err(|e| ResultsError::io(&dir, e))?;
        Ok(dir)
    }

    /// Writes a JSON file in the run directory atomically: readers see the old or the new.
    pub fn write_json(&self, name: &str, value: &impl Serialize) -> Result<PathBuf, ResultsError> {
        let path = self.path.join(name);
        let tmp = self.path.join(format!(".{name}.tmp"));
        let mut text = serde_json::to_vec_pretty(value).map_err(|e| ResultsError::Invalid {
            path: path.clone(),
            message: e.to_string(),
        })?;
        text.push(b'\n');
        let write = || -> std::io::Result<()> {
            let mut f = File::create(&tmp)?;
            f.write_all(&text)?;
            f.sync_data()?;
            fs::rename(&tmp, &path)
        };
        write().map_err(|e| ResultsError::io(&path, e))?;
        Ok(path)
    }
}

/// Replaces a symlink atomically (a new link beside it, renamed over it).
fn point_link(link: &Path, target: &Path) -> Result<(), ResultsError> {
    let tmp = link.with_file_name(format!(".{LATEST}.{}.tmp", std::process::id()));
    let _ = fs::remove_file(&tmp);
    std::os::unix::fs::symlink(target, &tmp).map_err(|e| ResultsError::io(&tmp, e))?;
    fs::rename(&tmp, link).map_err(|e| ResultsError::io(link, e))
}

/// `rift.log`: what the harness did, line by line, with local timestamps.
#[derive(Debug)]
pub struct RunLog {
    file: Mutex<File>,
}

impl RunLog {
    pub fn open(run: &RunDir) -> Result<RunLog, ResultsError> {
        let path = run.log_path();
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| ResultsError::io(&path, e))?;
        Ok(RunLog {
            file: Mutex::new(file),
        })
    }

    /// Appends one line; a log that cannot be written must not stop a run, so errors are dropped.
    pub fn line(&self, message: impl AsRef<str>) {
        let now = Local::now().format("%Y-%m-%d %H:%M:%S%.3f");
        let mut f = self.file.lock().unwrap_or_else(|p| p.into_inner());
        let _ = writeln!(f, "{now} {}", message.as_ref());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(ms: i64) -> DateTime<Local> {
        Local.timestamp_millis_opt(1_795_000_000_000 + ms).unwrap()
    }

    #[test]
    fn creates_stamped_dirs_and_points_latest_links_at_the_newest() {
        let root = tempfile::tempdir().unwrap();
        let first = RunDir::create(root.path(), "set", at(0)).unwrap();
        let second = RunDir::create(root.path(), "set", at(0)).unwrap();
        assert_ne!(
            first.path(),
            second.path(),
            "same millisecond, distinct dirs"
        );
        let stamp = |r: &RunDir| r.path().file_name().unwrap().to_str().unwrap().to_owned();
        assert_eq!(stamp(&first).len(), "YYYYMMDDTHHMMSS.mmm".len());
        assert!(stamp(&first) < stamp(&second));
        assert!(second.path().join("nodes").is_dir());

        let other = RunDir::create(root.path(), "counter", at(5)).unwrap();
        let latest = fs::canonicalize(root.path().join("latest")).unwrap();
        assert_eq!(latest, fs::canonicalize(other.path()).unwrap());
        let set_latest = fs::canonicalize(root.path().join("set/latest")).unwrap();
        assert_eq!(set_latest, fs::canonicalize(second.path()).unwrap());
        // Links are relative, so a results directory can be moved or archived whole.
        assert_eq!(
            fs::read_link(root.path().join("set/latest")).unwrap(),
            Path::new(&stamp(&second))
        );

        let reopened = RunDir::open(&root.path().join("latest")).unwrap();
        assert_eq!(reopened.test_name(), "counter");
    }

    #[test]
    fn refuses_names_that_are_not_one_plain_component() {
        for bad in ["", "..", "a/b", ".hidden", "latest", "x y"] {
            let e = validate_test_name(bad).unwrap_err().to_string();
            assert!(e.starts_with(&format!("test name {bad:?}")), "{e}");
        }
        validate_test_name("ecstore-set_3").unwrap();
    }

    #[test]
    fn json_files_and_the_log_land_in_the_run_dir() {
        let root = tempfile::tempdir().unwrap();
        let run = RunDir::create(root.path(), "t", at(0)).unwrap();
        run.write_json(TEST_JSON, &serde_json::json!({"seed": 7}))
            .unwrap();
        let text = fs::read_to_string(run.test_json()).unwrap();
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&text).unwrap()["seed"],
            7
        );
        let log = RunLog::open(&run).unwrap();
        log.line("hello");
        log.line("again");
        let logged = fs::read_to_string(run.log_path()).unwrap();
        assert_eq!(logged.lines().count(), 2);
        assert!(logged.lines().next().unwrap().ends_with(" hello"));
        assert!(run.node_dir("n1").unwrap().is_dir());
        assert!(run.node_dir("../evil").is_err());
    }
}
