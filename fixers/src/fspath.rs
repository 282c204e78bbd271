//! Where a system path lives on the real file system, found chroot-style.
//!
//! `SystemRoot::path` only prefixes the root: if `/opt/citadel` is a link to `/data/citadel` in a tree under
//! `--root`, the host kernel would follow it to the host's own `/data`. Every write therefore resolves the
//! parent directory inside the root first (`SystemRoot::resolve`) and acts on the final component only, which
//! itself is never followed.

use std::fs;
use std::io;
use std::os::unix::fs::{lchown, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use citadel_checks::{FactError, SystemRoot};

/// A path about to be changed: as the system sees it (parent resolved) and as the host reaches it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// The system path with its parent's symlinks resolved (`/data/citadel/logs`).
    pub system: PathBuf,
    /// The same path on the host (`<root>/data/citadel/logs`).
    pub host: PathBuf,
}

/// Locates `abs` (an absolute system path) with its parent resolved inside the root. Fails when the parent does
/// not exist; `/` itself locates to the root.
pub fn locate(root: &SystemRoot, abs: &Path) -> Result<Located, FactError> {
    let Some(name) = abs.file_name() else {
        return Ok(Located {
            system: PathBuf::from("/"),
            host: root.path("/"),
        });
    };
    let parent = abs.parent().unwrap_or(Path::new("/"));
    let parent = root.resolve(parent)?;
    let system = parent.join(name);
    Ok(Located {
        host: root.path(&system),
        system,
    })
}

/// Makes sure the directory `abs` exists (with its parents), creating the missing ones with this owner and
/// mode: for the tool's own places (backups, the audit log, the lock). Existing directories are left as they are.
pub fn ensure_dir(root: &SystemRoot, abs: &Path, uid: u32, gid: u32, mode: u32) -> io::Result<PathBuf> {
    let mut current = PathBuf::from("/");
    for component in abs.components() {
        let Component::Normal(part) = component else { continue };
        current.push(part);
        let located = locate(root, &current).map_err(fact_to_io)?;
        match fs::symlink_metadata(&located.host) {
            Ok(meta) if meta.is_dir() => {}
            Ok(meta) if meta.file_type().is_symlink() => {
                // Followed chroot-style by the next `locate`, or checked below for the last component.
                if root.metadata(&located.system).map(|m| !m.is_dir()).unwrap_or(true) {
                    return Err(not_a_dir(&located.system));
                }
            }
            Ok(_) => return Err(not_a_dir(&located.system)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::create_dir(&located.host)?;
                lchown(&located.host, Some(uid), Some(gid))?;
                fs::set_permissions(&located.host, fs::Permissions::from_mode(mode))?;
            }
            Err(e) => return Err(e),
        }
    }
    let resolved = root.resolve(abs).map_err(fact_to_io)?;
    Ok(root.path(resolved))
}

fn not_a_dir(system: &Path) -> io::Error {
    io::Error::other(format!("{} is in the way: not a directory", system.display()))
}

pub fn fact_to_io(err: FactError) -> io::Error {
    let kind = match err.kind {
        citadel_checks::FactErrorKind::NotFound => io::ErrorKind::NotFound,
        citadel_checks::FactErrorKind::PermissionDenied => io::ErrorKind::PermissionDenied,
        _ => io::ErrorKind::Other,
    };
    io::Error::new(kind, err.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{symlink, MetadataExt};

    fn ids() -> (u32, u32) {
        (nix::unistd::geteuid().as_raw(), nix::unistd::getegid().as_raw())
    }

    #[test]
    fn parent_links_resolve_inside_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = SystemRoot::new(dir.path());
        fs::create_dir_all(root.path("/data/citadel")).unwrap();
        fs::create_dir_all(root.path("/opt")).unwrap();
        // Absolute: on the host this would point at the host's /data.
        symlink("/data/citadel", root.path("/opt/citadel")).unwrap();
        let located = locate(&root, Path::new("/opt/citadel/logs")).unwrap();
        assert_eq!(located.system, PathBuf::from("/data/citadel/logs"));
        assert_eq!(located.host, dir.path().join("data/citadel/logs"));
    }

    #[test]
    fn a_missing_parent_is_not_found() {
        let dir = tempfile::tempdir().unwrap();
        let root = SystemRoot::new(dir.path());
        assert!(locate(&root, Path::new("/no/such/file")).unwrap_err().is_not_found());
    }

    #[test]
    fn ensure_dir_creates_missing_levels_with_mode() {
        let dir = tempfile::tempdir().unwrap();
        let root = SystemRoot::new(dir.path());
        let (uid, gid) = ids();
        let host = ensure_dir(&root, Path::new("/var/backups/citadel-check"), uid, gid, 0o700).unwrap();
        assert_eq!(host, dir.path().join("var/backups/citadel-check"));
        assert_eq!(fs::metadata(&host).unwrap().mode() & 0o7777, 0o700);
        // Idempotent, and existing directories keep their mode.
        fs::set_permissions(root.path("/var"), fs::Permissions::from_mode(0o755)).unwrap();
        ensure_dir(&root, Path::new("/var/backups/citadel-check"), uid, gid, 0o700).unwrap();
        assert_eq!(fs::metadata(root.path("/var")).unwrap().mode() & 0o7777, 0o755);
    }

    #[test]
    fn ensure_dir_refuses_a_file_in_the_way() {
        let dir = tempfile::tempdir().unwrap();
        let root = SystemRoot::new(dir.path());
        fs::create_dir_all(root.path("/opt/citadel")).unwrap();
        fs::write(root.path("/opt/citadel/logs"), "data").unwrap();
        let (uid, gid) = ids();
        let err = ensure_dir(&root, Path::new("/opt/citadel/logs"), uid, gid, 0o755).unwrap_err();
        assert!(err.to_string().contains("/opt/citadel/logs is in the way"), "{err}");
        assert_eq!(fs::read(root.path("/opt/citadel/logs")).unwrap(), b"data");
    }
}
