//! Dated backups of the files a fix replaces (SPEC §4 rule 3).
//!
//! Backups live under `/var/backups/citadel-check/`, in a tree mirroring the original path
//! (`/var/backups/citadel-check/etc/cron.d/citadel-backup.20260501T023000Z`), never beside the file: a copy left
//! in `/etc/cron.d` would run as a second job, one in a rules directory could be read as rules. A mirrored tree
//! is unambiguous (`a_b` and `a/b` stay apart) and `ls` shows a file's history in one place. The tree is 0700:
//! a backup keeps its original's owner and mode, which alone would not protect a root-only file once copied.

use std::io;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use citadel_checks::SystemRoot;

use crate::{atomic, clock, fspath};

pub const BACKUP_DIR: &str = "/var/backups/citadel-check";

/// The backup's system path for `original` at `stamp`, before any de-duplicating suffix.
pub fn backup_path(original: &Path, stamp: &str) -> PathBuf {
    let relative = original.strip_prefix("/").unwrap_or(original);
    let mut path = Path::new(BACKUP_DIR).join(relative).into_os_string();
    path.push(".");
    path.push(stamp);
    PathBuf::from(path)
}

/// Keeps `content`, the current version of the file at system path `original`, with its owner and mode, as a
/// dated backup (written atomically itself). Returns the backup's system path. Two backups of one file in the
/// same second get `.1`, `.2`… after the stamp.
pub fn keep(
    root: &SystemRoot,
    original: &Path,
    content: &[u8],
    (uid, gid, mode): (u32, u32, u32),
    at: SystemTime,
) -> io::Result<PathBuf> {
    let first = backup_path(original, &clock::stamp(at));
    let dir = first.parent().unwrap_or(Path::new(BACKUP_DIR));
    let (euid, egid) = (nix::unistd::geteuid().as_raw(), nix::unistd::getegid().as_raw());
    fspath::ensure_dir(root, Path::new("/var/backups"), euid, egid, 0o755)?;
    fspath::ensure_dir(root, dir, euid, egid, 0o700)?;
    let mut chosen = first.clone();
    let mut n = 0;
    while root.exists(&chosen) {
        n += 1;
        chosen = PathBuf::from(format!("{}.{n}", first.display()));
    }
    let located = fspath::locate(root, &chosen).map_err(fspath::fact_to_io)?;
    atomic::write_file(&located.host, content, uid, gid, mode & 0o777)?;
    Ok(chosen)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::MetadataExt;
    use std::time::Duration;

    #[test]
    fn mirrors_the_path_with_a_utc_stamp() {
        assert_eq!(
            backup_path(Path::new("/etc/cron.d/citadel-backup"), "20260501T023000Z"),
            PathBuf::from("/var/backups/citadel-check/etc/cron.d/citadel-backup.20260501T023000Z")
        );
    }

    #[test]
    fn keeps_content_owner_and_mode_in_a_private_tree() {
        let dir = tempfile::tempdir().unwrap();
        let root = SystemRoot::new(dir.path());
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_777_602_600);
        let (uid, gid) = (nix::unistd::geteuid().as_raw(), nix::unistd::getegid().as_raw());
        let first = keep(&root, Path::new("/etc/fstab"), b"old\n", (uid, gid, 0o644), at).unwrap();
        assert_eq!(
            first,
            PathBuf::from("/var/backups/citadel-check/etc/fstab.20260501T023000Z")
        );
        assert_eq!(fs::read(root.path(&first)).unwrap(), b"old\n");
        assert_eq!(fs::metadata(root.path(&first)).unwrap().mode() & 0o777, 0o644);
        let tree = fs::metadata(root.path(BACKUP_DIR)).unwrap();
        assert_eq!(tree.mode() & 0o777, 0o700);
        // The same second again: a second file, the first intact.
        let second = keep(&root, Path::new("/etc/fstab"), b"older\n", (uid, gid, 0o644), at).unwrap();
        assert_eq!(
            second,
            PathBuf::from("/var/backups/citadel-check/etc/fstab.20260501T023000Z.1")
        );
        assert_eq!(fs::read(root.path(&first)).unwrap(), b"old\n");
    }
}
