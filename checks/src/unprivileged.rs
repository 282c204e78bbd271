//! Test support: reading files as an unprivileged user, so that "permission denied" paths are tested even when
//! the tests run as root (root bypasses file permissions).
//!
//! `setfsuid(2)`/`setfsgid(2)` change the file-system credentials of the calling thread only, and every test
//! runs on its own thread, so other tests are not affected.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use nix::unistd::{setfsgid, setfsuid, Gid, Uid};

const NOBODY: u32 = 65534;

/// Runs `f` with the file-system identity of nobody:nogroup. `None` when not root (the caller is then already
/// unprivileged, and its own permission tests apply).
pub fn as_nobody<T>(f: impl FnOnce() -> T) -> Option<T> {
    if !nix::unistd::geteuid().is_root() {
        return None;
    }
    let old_gid = setfsgid(Gid::from_raw(NOBODY));
    let old_uid = setfsuid(Uid::from_raw(NOBODY));
    let out = f();
    setfsuid(old_uid);
    setfsgid(old_gid);
    Some(out)
}

/// Lets nobody traverse a temp directory (they are created 0700).
pub fn open_up(dir: &Path) {
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o755)).expect("chmod temp dir");
}
