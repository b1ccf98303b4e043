use std::fmt;
use std::path::PathBuf;

/// Where in an input something went wrong: a file (when there is one) and a line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub path: Option<PathBuf>,
    /// Counting from 1.
    pub line: u64,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.path {
            Some(p) => write!(f, "{}:{}", p.display(), self.line),
            None => write!(f, "line {}", self.line),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum HistoryError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{at}: malformed op: {message}")]
    Malformed { at: Location, message: String },
    #[error(
        "{}: cannot tell the history format from the extension (use .jsonl or .edn)",
        .0.display()
    )]
    UnknownFormat(PathBuf),
    #[error("op {index}: {message}")]
    Unpaired { index: u64, message: String },
    #[error("history writer: {0}")]
    Writer(String),
}

impl HistoryError {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        HistoryError::Io {
            path: path.into(),
            source,
        }
    }
}
