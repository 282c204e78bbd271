//! What already stands where an action wants to put something (SPEC §4 rule 1).
//!
//! Only an empty directory or a symlink may be replaced: neither holds data. A regular file, a non-empty
//! directory or anything else is in the way, and the action is refused naming it.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use crate::action::Refusal;

/// What is at a path, as far as replacing it is concerned. Symlinks are never followed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Existing {
    Missing,
    /// A symlink and its target, verbatim.
    Symlink(PathBuf),
    EmptyDir,
    NonEmptyDir,
    File,
    /// A device node, FIFO or socket.
    Special,
}

impl Existing {
    /// True when it holds no data and may be replaced by a directory or a symlink.
    pub fn is_replaceable(&self) -> bool {
        matches!(self, Existing::Missing | Existing::Symlink(_) | Existing::EmptyDir)
    }

    /// How a refusal names it: "a regular file", "a non-empty directory".
    pub fn describe(&self) -> &'static str {
        match self {
            Existing::Missing => "nothing",
            Existing::Symlink(_) => "a symlink",
            Existing::EmptyDir => "an empty directory",
            Existing::NonEmptyDir => "a non-empty directory",
            Existing::File => "a regular file",
            Existing::Special => "a device, FIFO or socket",
        }
    }
}

/// What is at `host_path` (a path on the real file system; see `fspath::locate`).
pub fn inspect(host_path: &Path) -> io::Result<Existing> {
    let meta = match fs::symlink_metadata(host_path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Existing::Missing),
        Err(e) => return Err(e),
    };
    let file_type = meta.file_type();
    Ok(if file_type.is_symlink() {
        Existing::Symlink(fs::read_link(host_path)?)
    } else if file_type.is_dir() {
        if fs::read_dir(host_path)?.next().is_none() {
            Existing::EmptyDir
        } else {
            Existing::NonEmptyDir
        }
    } else if file_type.is_file() {
        Existing::File
    } else {
        Existing::Special
    })
}

/// The refusal for something that is in the way of `wanted` ("a symlink") at `system_path`.
pub fn refusal(system_path: &Path, existing: &Existing, wanted: &str) -> Refusal {
    Refusal::new(
        system_path.display().to_string(),
        format!(
            "{} is {}, in the way of {wanted}; citadel-check never deletes data",
            system_path.display(),
            existing.describe()
        ),
        format!(
            "look at {0}, move it elsewhere if it is not needed (mv {0} {0}.old), then run --fix again",
            system_path.display()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn classifies_without_following_links() {
        let dir = tempfile::tempdir().unwrap();
        let p = |n: &str| dir.path().join(n);
        fs::create_dir(p("empty")).unwrap();
        fs::create_dir(p("full")).unwrap();
        fs::write(p("full/x"), "").unwrap();
        fs::write(p("file"), "").unwrap();
        symlink("full", p("link")).unwrap();
        assert_eq!(inspect(&p("none")).unwrap(), Existing::Missing);
        assert_eq!(inspect(&p("empty")).unwrap(), Existing::EmptyDir);
        assert_eq!(inspect(&p("full")).unwrap(), Existing::NonEmptyDir);
        assert_eq!(inspect(&p("file")).unwrap(), Existing::File);
        assert_eq!(inspect(&p("link")).unwrap(), Existing::Symlink("full".into()));
        assert!(inspect(&p("link")).unwrap().is_replaceable());
        assert!(!inspect(&p("full")).unwrap().is_replaceable());
    }
}
