//! Putting a report in place: `-` is stdout; a file is written atomically (temp file in the same directory,
//! fsync, rename, fsync of the directory), so a reader (a CI server, node_exporter) sees the old report or the
//! new one, never half of one.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

/// Where a report goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    Stdout,
    File(PathBuf),
}

impl Destination {
    /// `-` is stdout, anything else a file path.
    pub fn from_arg(arg: &Path) -> Destination {
        if arg == Path::new("-") {
            Destination::Stdout
        } else {
            Destination::File(arg.to_path_buf())
        }
    }

    /// Why this destination cannot be written, checked before the run so that a bad path costs no report.
    pub fn problem(&self) -> Option<String> {
        let Destination::File(path) = self else {
            return None;
        };
        if path.as_os_str().is_empty() {
            return Some("the path is empty".into());
        }
        if path.file_name().is_none() {
            return Some("the path does not name a file".into());
        }
        if path.is_dir() {
            return Some("it is a directory".into());
        }
        let dir = parent_dir(path);
        match fs::metadata(dir) {
            Ok(meta) if meta.is_dir() => None,
            Ok(_) => Some(format!("{} is not a directory", dir.display())),
            Err(e) => Some(format!("directory {}: {e}", dir.display())),
        }
    }

    pub fn write(&self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Destination::Stdout => {
                let mut stdout = io::stdout().lock();
                stdout.write_all(bytes)?;
                stdout.flush()
            }
            Destination::File(path) => write_atomically(path, bytes),
        }
    }
}

/// Replaces `path` with `bytes`: a reader sees either the previous file or the whole new one.
/// The file is created 0644 (less the umask); a symlink at `path` is replaced, not followed.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> io::Result<()> {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let dir = parent_dir(path);
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "the path does not name a file"))?;
    // A dot name without the final extension: node_exporter only reads `*.prom`, so it never sees the temp file.
    let temp = dir.join(format!(
        ".{}.tmp-{}-{}",
        name.to_string_lossy(),
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    let result = write_new_file(&temp, bytes).and_then(|()| fs::rename(&temp, path));
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result?;
    File::open(dir)?.sync_all()
}

fn write_new_file(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut file = OpenOptions::new().write(true).create_new(true).mode(0o644).open(path)?;
    file.write_all(bytes)?;
    file.sync_all()
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn dash_is_stdout() {
        assert_eq!(Destination::from_arg(Path::new("-")), Destination::Stdout);
        assert_eq!(
            Destination::from_arg(Path::new("r.json")),
            Destination::File("r.json".into())
        );
    }

    #[test]
    fn atomic_write_replaces_the_file_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("report.json");
        fs::write(&path, "old").unwrap();
        write_atomically(&path, b"new").unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new");
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["report.json"]);
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode & 0o600, 0o600, "{mode:o}");
    }

    #[test]
    fn failed_write_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("taken");
        fs::create_dir(path.join("")).unwrap();
        fs::write(dir.path().join("taken/x"), "").unwrap();
        assert!(write_atomically(&path, b"new").is_err());
        let names: Vec<_> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, ["taken"]);
    }

    #[test]
    fn problems_are_found_before_the_run() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Destination::Stdout.problem(), None);
        assert_eq!(Destination::File(dir.path().join("r.xml")).problem(), None);
        assert!(Destination::File(dir.path().into())
            .problem()
            .unwrap()
            .contains("directory"));
        let missing = Destination::File(dir.path().join("no/such/r.xml"));
        assert!(missing.problem().unwrap().contains("no/such"));
        assert!(Destination::File(PathBuf::new()).problem().is_some());
    }
}
