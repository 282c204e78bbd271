//! A read-only view of a file system tree as if it were `/`.
//!
//! Every path a check reads is an absolute system path (`/etc/fstab`); `SystemRoot` maps it under `--root`.
//! Symlinks are resolved the way a `chroot` would: an absolute target restarts at the root, `..` never climbs
//! above it. That makes a fixture tree and a live host read exactly alike.

use std::ffi::OsString;
use std::fs::{self, Metadata};
use std::path::{Component, Path, PathBuf};

use crate::error::{FactError, FactErrorKind};

/// The kernel's limit on symlinks followed in one lookup (MAXSYMLINKS).
const MAX_SYMLINKS: usize = 40;

#[derive(Debug, Clone)]
pub struct SystemRoot {
    base: PathBuf,
}

impl SystemRoot {
    pub fn new(base: impl Into<PathBuf>) -> Self {
        SystemRoot { base: base.into() }
    }

    /// The directory playing `/`.
    pub fn base(&self) -> &Path {
        &self.base
    }

    /// True when the root is the running host's `/` (kernel facts are live).
    pub fn is_host(&self) -> bool {
        self.base == Path::new("/")
    }

    /// Where the system path `abs` lives on the real file system. Does not follow symlinks.
    pub fn path(&self, abs: impl AsRef<Path>) -> PathBuf {
        // `..` is folded lexically and never climbs above the root, so no path can name a file outside it.
        let mut parts: Vec<&std::ffi::OsStr> = Vec::new();
        for comp in abs.as_ref().components() {
            match comp {
                Component::Normal(part) => parts.push(part),
                Component::ParentDir => {
                    parts.pop();
                }
                Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
            }
        }
        let mut out = self.base.clone();
        out.extend(parts);
        out
    }

    pub fn read(&self, abs: impl AsRef<Path>) -> Result<Vec<u8>, FactError> {
        let abs = abs.as_ref();
        fs::read(self.path(abs)).map_err(|e| FactError::from_io(abs, &e))
    }

    /// The file's text; invalid UTF-8 is replaced, never an error (file names and findings stay printable).
    pub fn read_text(&self, abs: impl AsRef<Path>) -> Result<String, FactError> {
        let bytes = self.read(abs)?;
        Ok(match String::from_utf8(bytes) {
            Ok(s) => s,
            Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
        })
    }

    /// Like `read_text`, but a missing file is `None`.
    pub fn read_text_opt(&self, abs: impl AsRef<Path>) -> Result<Option<String>, FactError> {
        match self.read_text(abs) {
            Ok(s) => Ok(Some(s)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub fn symlink_metadata(&self, abs: impl AsRef<Path>) -> Result<Metadata, FactError> {
        let abs = abs.as_ref();
        fs::symlink_metadata(self.path(abs)).map_err(|e| FactError::from_io(abs, &e))
    }

    /// Metadata of `abs` itself (a final symlink is not followed) with every directory above it resolved inside
    /// the root: when `/opt/citadel` links to `/srv/citadel`, `/opt/citadel/logs` is looked up as
    /// `/srv/citadel/logs` under the root, never through the host's `/srv`. A missing directory above it is
    /// `NotFound`, like a missing `abs`.
    pub fn lstat(&self, abs: impl AsRef<Path>) -> Result<Metadata, FactError> {
        let abs = abs.as_ref();
        match (abs.parent(), abs.file_name()) {
            (Some(parent), Some(name)) => {
                let parent = self.resolve(parent)?;
                self.symlink_metadata(parent.join(name)).map_err(|e| FactError {
                    path: abs.to_path_buf(),
                    ..e
                })
            }
            _ => self.symlink_metadata(abs),
        }
    }

    /// Metadata of what `abs` finally points to, following symlinks inside the root.
    pub fn metadata(&self, abs: impl AsRef<Path>) -> Result<Metadata, FactError> {
        let resolved = self.resolve(abs)?;
        self.symlink_metadata(resolved)
    }

    pub fn read_link(&self, abs: impl AsRef<Path>) -> Result<PathBuf, FactError> {
        let abs = abs.as_ref();
        fs::read_link(self.path(abs)).map_err(|e| FactError::from_io(abs, &e))
    }

    pub fn exists(&self, abs: impl AsRef<Path>) -> bool {
        self.symlink_metadata(abs).is_ok()
    }

    /// The entry names of a directory, sorted bytewise (the order cron, run-parts and udev use).
    pub fn read_dir_names(&self, abs: impl AsRef<Path>) -> Result<Vec<OsString>, FactError> {
        let abs = abs.as_ref();
        let entries = fs::read_dir(self.path(abs)).map_err(|e| FactError::from_io(abs, &e))?;
        let mut names = Vec::new();
        for entry in entries {
            let entry = entry.map_err(|e| FactError::from_io(abs, &e))?;
            names.push(entry.file_name());
        }
        names.sort_by(|a, b| a.as_encoded_bytes().cmp(b.as_encoded_bytes()));
        Ok(names)
    }

    /// Like `read_dir_names`, but a missing directory has no entries.
    pub fn read_dir_names_opt(&self, abs: impl AsRef<Path>) -> Result<Vec<OsString>, FactError> {
        match self.read_dir_names(abs) {
            Err(e) if e.is_not_found() => Ok(Vec::new()),
            other => other,
        }
    }

    /// The canonical system path of `abs`: every symlink followed inside the root, `.` and `..` folded.
    /// Fails with `NotFound` naming the first missing component (a dangling link), or `TooManyLinks`.
    pub fn resolve(&self, abs: impl AsRef<Path>) -> Result<PathBuf, FactError> {
        let abs = abs.as_ref();
        let mut resolved = PathBuf::from("/");
        // Components still to walk, in reverse so that `pop` yields the next one.
        let mut pending: Vec<OsString> = Vec::new();
        push_components(&mut pending, abs);
        let mut links = 0;
        while let Some(part) = pending.pop() {
            if part == ".." {
                resolved.pop();
                continue;
            }
            let candidate = resolved.join(&part);
            let meta = fs::symlink_metadata(self.path(&candidate)).map_err(|e| FactError::from_io(&candidate, &e))?;
            if !meta.file_type().is_symlink() {
                resolved = candidate;
                continue;
            }
            links += 1;
            if links > MAX_SYMLINKS {
                return Err(FactError::new(abs, FactErrorKind::TooManyLinks));
            }
            let target = fs::read_link(self.path(&candidate)).map_err(|e| FactError::from_io(&candidate, &e))?;
            if target.is_absolute() {
                resolved = PathBuf::from("/");
            }
            push_components(&mut pending, &target);
        }
        Ok(resolved)
    }
}

/// Pushes the normal and `..` components of `path` onto `stack` so that the first component is on top.
fn push_components(stack: &mut Vec<OsString>, path: &Path) {
    let parts: Vec<OsString> = path
        .components()
        .filter_map(|c| match c {
            Component::Normal(p) => Some(p.to_os_string()),
            Component::ParentDir => Some(OsString::from("..")),
            _ => None,
        })
        .collect();
    stack.extend(parts.into_iter().rev());
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn tree() -> (tempfile::TempDir, SystemRoot) {
        let dir = tempfile::tempdir().unwrap();
        let root = SystemRoot::new(dir.path());
        fs::create_dir_all(root.path("/mnt/models/active/m1")).unwrap();
        fs::create_dir_all(root.path("/opt/citadel")).unwrap();
        (dir, root)
    }

    #[test]
    fn path_maps_under_the_root() {
        let root = SystemRoot::new("/tmp/fx");
        assert_eq!(root.path("/etc/fstab"), PathBuf::from("/tmp/fx/etc/fstab"));
        assert!(SystemRoot::new("/").is_host());
        assert!(!root.is_host());
        assert_eq!(root.path("/sys/x/../../../../etc"), PathBuf::from("/tmp/fx/etc"));
    }

    #[test]
    fn absolute_links_restart_at_the_root_not_the_host() {
        let (_d, root) = tree();
        symlink("/mnt/models/active", root.path("/opt/citadel/models")).unwrap();
        assert_eq!(
            root.resolve("/opt/citadel/models/m1").unwrap(),
            PathBuf::from("/mnt/models/active/m1")
        );
    }

    #[test]
    fn relative_links_and_dotdot_never_climb_above_the_root() {
        let (_d, root) = tree();
        symlink("../../../../../mnt/models", root.path("/opt/citadel/up")).unwrap();
        assert_eq!(
            root.resolve("/opt/citadel/up/active").unwrap(),
            PathBuf::from("/mnt/models/active")
        );
    }

    #[test]
    fn dangling_link_names_the_missing_component() {
        let (_d, root) = tree();
        symlink("/mnt/models/active/gone", root.path("/opt/citadel/m")).unwrap();
        let err = root.resolve("/opt/citadel/m").unwrap_err();
        assert!(err.is_not_found());
        assert_eq!(err.path, PathBuf::from("/mnt/models/active/gone"));
    }

    #[test]
    fn link_loops_are_an_error_not_a_hang() {
        let (_d, root) = tree();
        symlink("b", root.path("/opt/a")).unwrap();
        symlink("a", root.path("/opt/b")).unwrap();
        assert_eq!(root.resolve("/opt/a").unwrap_err().kind, FactErrorKind::TooManyLinks);
    }

    #[test]
    fn lstat_resolves_the_directories_above_inside_the_root() {
        let (_d, root) = tree();
        fs::create_dir_all(root.path("/srv/citadel/logs")).unwrap();
        symlink("/srv/citadel", root.path("/opt/app")).unwrap();
        symlink("gone", root.path("/srv/citadel/dangling")).unwrap();
        assert!(root.lstat("/opt/app/logs").unwrap().is_dir());
        assert!(root.lstat("/opt/app").unwrap().file_type().is_symlink());
        assert!(root.lstat("/opt/app/dangling").unwrap().file_type().is_symlink());
        let err = root.lstat("/opt/app/missing").unwrap_err();
        assert!(err.is_not_found());
        assert_eq!(err.path, PathBuf::from("/opt/app/missing"));
        assert!(root.lstat("/nowhere/x").unwrap_err().is_not_found());
    }

    #[test]
    fn directory_names_sort_bytewise() {
        let (_d, root) = tree();
        for name in ["b", "A", "a", "10", "9"] {
            fs::write(root.path("/opt").join(name), "").unwrap();
        }
        let names = root.read_dir_names("/opt").unwrap();
        let names: Vec<_> = names.iter().map(|n| n.to_str().unwrap()).collect();
        assert_eq!(names, ["10", "9", "A", "a", "b", "citadel"]);
    }
}
