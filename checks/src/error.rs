//! Why a fact about the system could not be read.

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

/// A fact (a file, a link, a directory listing) that could not be read or parsed.
///
/// `path` is the path as the system sees it (`/etc/fstab`), not the path under `--root`, so that a message
/// reads the same for a fixture tree and a live host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FactError {
    pub path: PathBuf,
    pub line: Option<usize>,
    pub kind: FactErrorKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FactErrorKind {
    NotFound,
    PermissionDenied,
    /// A symlink chain that loops or is longer than the kernel allows (ELOOP).
    TooManyLinks,
    Io(String),
    Parse(String),
}

impl FactError {
    pub fn new(path: impl Into<PathBuf>, kind: FactErrorKind) -> Self {
        FactError {
            path: path.into(),
            line: None,
            kind,
        }
    }

    pub fn parse(path: impl Into<PathBuf>, line: usize, message: impl Into<String>) -> Self {
        FactError {
            path: path.into(),
            line: Some(line),
            kind: FactErrorKind::Parse(message.into()),
        }
    }

    pub fn from_io(path: &Path, err: &io::Error) -> Self {
        let kind = match err.kind() {
            io::ErrorKind::NotFound => FactErrorKind::NotFound,
            io::ErrorKind::PermissionDenied => FactErrorKind::PermissionDenied,
            _ if err.raw_os_error() == Some(nix::libc::ELOOP) => FactErrorKind::TooManyLinks,
            _ => FactErrorKind::Io(err.to_string()),
        };
        FactError::new(path, kind)
    }

    pub fn is_not_found(&self) -> bool {
        self.kind == FactErrorKind::NotFound
    }
}

impl fmt::Display for FactError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        match &self.kind {
            FactErrorKind::NotFound => write!(f, ": not found"),
            FactErrorKind::PermissionDenied => write!(f, ": permission denied"),
            FactErrorKind::TooManyLinks => write!(f, ": too many levels of symbolic links"),
            FactErrorKind::Io(msg) => write!(f, ": {msg}"),
            FactErrorKind::Parse(msg) => write!(f, ": {msg}"),
        }
    }
}

impl std::error::Error for FactError {}
