//! One `--fix` at a time (SPEC §4 rule 5).
//!
//! The lock is an `flock` on `/run/citadel-check.lock` under the root: `/run` is writable by root only (in
//! `/run/lock` any user could take the lock first and block every fix), it is emptied at boot, and the kernel
//! drops the lock when its holder dies, so a killed run never leaves a stale lock. Each `--root` has its own
//! lock. The file is created once and never written or removed (removing a lock file lets two runs lock two
//! different files).

use std::fmt;
use std::fs::{File, OpenOptions, TryLockError};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use citadel_checks::SystemRoot;

use crate::fspath;

pub const LOCK_PATH: &str = "/run/citadel-check.lock";

/// How often a waiting run tries the lock again.
const POLL: Duration = Duration::from_millis(100);

/// Holds the lock until dropped (or the process ends).
#[derive(Debug)]
pub struct LockGuard {
    _file: File,
    path: PathBuf,
}

impl LockGuard {
    /// The lock's system path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LockError {
    /// Another run held the lock for the whole wait.
    Busy { path: PathBuf, waited: Duration },
    /// The lock file could not be created or locked.
    Io { path: PathBuf, error: String },
}

impl fmt::Display for LockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            LockError::Busy { path, waited } => write!(
                f,
                "another citadel-check --fix is running (it holds the lock {}); waited {:.1}s; nothing was \
                 changed: run again when it has finished",
                path.display(),
                waited.as_secs_f64()
            ),
            LockError::Io { path, error } => {
                write!(
                    f,
                    "cannot take the lock {}: {error}; nothing was changed",
                    path.display()
                )
            }
        }
    }
}

impl std::error::Error for LockError {}

/// Takes the exclusive lock for `root`, trying again until `wait` has passed.
pub fn acquire(root: &SystemRoot, wait: Duration) -> Result<LockGuard, LockError> {
    let path = PathBuf::from(LOCK_PATH);
    let io_error = |error: std::io::Error| LockError::Io {
        path: path.clone(),
        error: error.to_string(),
    };
    let (uid, gid) = (nix::unistd::geteuid().as_raw(), nix::unistd::getegid().as_raw());
    let parent = path.parent().unwrap_or(Path::new("/"));
    fspath::ensure_dir(root, parent, uid, gid, 0o755).map_err(io_error)?;
    let located = fspath::locate(root, &path).map_err(|e| io_error(fspath::fact_to_io(e)))?;
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_CLOEXEC)
        .open(&located.host)
        .map_err(io_error)?;
    let start = Instant::now();
    loop {
        match file.try_lock() {
            Ok(()) => return Ok(LockGuard { _file: file, path }),
            Err(TryLockError::WouldBlock) => {
                let waited = start.elapsed();
                if waited >= wait {
                    return Err(LockError::Busy { path, waited });
                }
                thread::sleep(POLL.min(wait - waited));
            }
            Err(TryLockError::Error(e)) => return Err(io_error(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_holder_in_one_process_waits_then_fails_clearly() {
        let dir = tempfile::tempdir().unwrap();
        let root = SystemRoot::new(dir.path());
        let first = acquire(&root, Duration::ZERO).unwrap();
        assert_eq!(first.path(), Path::new("/run/citadel-check.lock"));
        let start = Instant::now();
        let err = acquire(&root, Duration::from_millis(250)).unwrap_err();
        assert!(start.elapsed() >= Duration::from_millis(250));
        assert!(matches!(err, LockError::Busy { .. }));
        let message = err.to_string();
        assert!(message.contains("another citadel-check --fix is running"), "{message}");
        assert!(message.contains("/run/citadel-check.lock"), "{message}");
        drop(first);
        acquire(&root, Duration::ZERO).unwrap();
    }
}
