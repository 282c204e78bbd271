//! Replacing one directory entry atomically (SPEC §4 rules 3 and 7).
//!
//! A new version is built beside the old one under a temporary name, given its owner and mode, flushed to disk,
//! then renamed over the old one, and the directory is flushed: killed at any instant, the entry is either the
//! old or the new version. Temporary names start with a dot and contain dots (`.fstab.citadel-tmp.PID.N`), so
//! that cron (`/etc/cron.d` takes only `[A-Za-z0-9_-]` names), run-parts and udev (`*.rules` only) never read a
//! half-made file. One left behind by a killed run is removed by the next write to the same path.
//!
//! Every function takes host paths whose parent was resolved inside the root (`fspath::locate`).

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{fchown, symlink, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

use crate::obstacle::{inspect, Existing};

const TEMP_MARK: &str = ".citadel-tmp.";

static SEQUENCE: AtomicU32 = AtomicU32::new(0);

/// A file's new version, complete on disk under its temporary name, not yet in place.
#[derive(Debug)]
pub struct PreparedFile {
    temp: PathBuf,
    dest: PathBuf,
    committed: bool,
}

impl PreparedFile {
    /// Where the new version waits (for a validator such as `findmnt --verify --tab-file`).
    pub fn temp_path(&self) -> &Path {
        &self.temp
    }

    /// Renames the new version over the old one and flushes the directory.
    pub fn commit(mut self) -> io::Result<()> {
        fs::rename(&self.temp, &self.dest)?;
        self.committed = true;
        fsync_dir(parent(&self.dest))
    }
}

impl Drop for PreparedFile {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_file(&self.temp);
        }
    }
}

/// Writes `content` under a temporary name beside `dest`, sets owner then mode (chown clears set-id bits), and
/// flushes it. Nothing at `dest` changes until `commit`.
pub fn prepare_file(dest: &Path, content: &[u8], uid: u32, gid: u32, mode: u32) -> io::Result<PreparedFile> {
    remove_stale_temps(dest)?;
    let (temp, mut file) = create_temp(dest, |path| {
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(nix::libc::O_CLOEXEC)
            .open(path)
    })?;
    let prepared = PreparedFile {
        temp,
        dest: dest.to_path_buf(),
        committed: false,
    };
    file.write_all(content)?;
    fchown(&file, Some(uid), Some(gid))?;
    file.set_permissions(fs::Permissions::from_mode(mode))?;
    file.sync_all()?;
    Ok(prepared)
}

/// `prepare_file` then `commit`.
pub fn write_file(dest: &Path, content: &[u8], uid: u32, gid: u32, mode: u32) -> io::Result<()> {
    prepare_file(dest, content, uid, gid, mode)?.commit()
}

/// Puts a symlink `dest -> target` in place. An existing symlink is replaced in one rename; an empty directory
/// is removed first (rename cannot put a link over a directory; a kill in between leaves nothing there, which
/// the next run fills). Anything else at `dest` is an error and stays as it was.
pub fn replace_with_symlink(dest: &Path, target: &Path) -> io::Result<()> {
    ensure_replaceable(dest)?;
    remove_stale_temps(dest)?;
    let (temp, ()) = create_temp(dest, |path| symlink(target, path))?;
    let result = (|| {
        if fs::symlink_metadata(dest).map(|m| m.is_dir()).unwrap_or(false) {
            fs::remove_dir(dest)?;
        }
        fs::rename(&temp, dest)?;
        fsync_dir(parent(dest))
    })();
    if result.is_err() {
        let _ = fs::remove_file(&temp);
    }
    result
}

/// Puts a directory with this owner and mode in place of nothing or of a symlink (removed first). It appears
/// with its owner and mode already set. Anything else at `dest` is an error and stays as it was.
pub fn replace_with_dir(dest: &Path, uid: u32, gid: u32, mode: u32) -> io::Result<()> {
    match inspect(dest)? {
        Existing::Missing | Existing::Symlink(_) => {}
        other => return Err(in_the_way_error(dest, &other)),
    }
    remove_stale_temps(dest)?;
    let (temp, ()) = create_temp(dest, |path| fs::create_dir(path))?;
    let result = (|| {
        std::os::unix::fs::lchown(&temp, Some(uid), Some(gid))?;
        fs::set_permissions(&temp, fs::Permissions::from_mode(mode))?;
        if fs::symlink_metadata(dest)
            .map(|m| m.file_type().is_symlink())
            .unwrap_or(false)
        {
            fs::remove_file(dest)?;
        }
        fs::rename(&temp, dest)?;
        fsync_dir(parent(dest))
    })();
    if result.is_err() {
        let _ = fs::remove_dir(&temp);
    }
    result
}

/// Removes the symlink `dest` and flushes its directory. Anything else at `dest` is an error and stays as it
/// was: a link is the only entry citadel-check ever removes, since it holds no data.
pub fn remove_symlink(dest: &Path) -> io::Result<()> {
    match inspect(dest)? {
        Existing::Symlink(_) => {}
        other => return Err(in_the_way_error(dest, &other)),
    }
    fs::remove_file(dest)?;
    fsync_dir(parent(dest))
}

/// The last line of defence of rule 1, whatever the caller checked: only nothing, a symlink or an empty
/// directory may be replaced.
fn ensure_replaceable(dest: &Path) -> io::Result<()> {
    let existing = inspect(dest)?;
    if existing.is_replaceable() {
        Ok(())
    } else {
        Err(in_the_way_error(dest, &existing))
    }
}

fn in_the_way_error(dest: &Path, existing: &Existing) -> io::Error {
    io::Error::new(
        io::ErrorKind::AlreadyExists,
        format!("{} is {}: not replaced", dest.display(), existing.describe()),
    )
}

/// Removes what killed runs left beside `dest`: temporary entries for the same name whose process is gone.
/// Entries of a live process (another writer) are left alone. Returns how many were removed.
pub fn remove_stale_temps(dest: &Path) -> io::Result<usize> {
    let prefix = temp_prefix(dest);
    let mut removed = 0;
    let entries = match fs::read_dir(parent(dest)) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(0),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let Some(rest) = name.as_encoded_bytes().strip_prefix(prefix.as_encoded_bytes()) else {
            continue;
        };
        let pid = rest.split(|&b| b == b'.').next().unwrap_or_default();
        let Some(pid) = std::str::from_utf8(pid).ok().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid == std::process::id() || Path::new("/proc").join(pid.to_string()).exists() {
            continue;
        }
        let path = entry.path();
        let gone = if entry.file_type()?.is_dir() {
            fs::remove_dir(&path)
        } else {
            fs::remove_file(&path)
        };
        if gone.is_ok() {
            removed += 1;
        }
    }
    Ok(removed)
}

/// Flushes a directory, so that a rename or a new entry in it survives a crash.
pub fn fsync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// `.NAME.citadel-tmp.` for `dest` = `DIR/NAME`.
fn temp_prefix(dest: &Path) -> OsString {
    let mut prefix = OsString::from(".");
    prefix.push(dest.file_name().unwrap_or_default());
    prefix.push(TEMP_MARK);
    prefix
}

/// Creates a fresh temporary entry beside `dest` with `make`, retrying under the next name if one exists.
fn create_temp<T>(dest: &Path, make: impl Fn(&Path) -> io::Result<T>) -> io::Result<(PathBuf, T)> {
    loop {
        let mut name = temp_prefix(dest);
        name.push(format!(
            "{}.{}",
            std::process::id(),
            SEQUENCE.fetch_add(1, Ordering::Relaxed)
        ));
        let temp = parent(dest).join(name);
        match make(&temp) {
            Ok(made) => return Ok((temp, made)),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
}

fn parent(path: &Path) -> &Path {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::MetadataExt;

    fn ids() -> (u32, u32) {
        (nix::unistd::geteuid().as_raw(), nix::unistd::getegid().as_raw())
    }

    fn entries(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn new_version_is_complete_with_mode_before_the_rename() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("fstab");
        fs::write(&dest, "old\n").unwrap();
        let (uid, gid) = ids();
        let prepared = prepare_file(&dest, b"new\n", uid, gid, 0o640).unwrap();
        // Before commit: the old version is in place, the new one complete with its owner and mode.
        assert_eq!(fs::read(&dest).unwrap(), b"old\n");
        let meta = fs::metadata(prepared.temp_path()).unwrap();
        assert_eq!(meta.mode() & 0o7777, 0o640);
        assert_eq!((meta.uid(), meta.gid()), (uid, gid));
        assert_eq!(fs::read(prepared.temp_path()).unwrap(), b"new\n");
        let name = prepared.temp_path().file_name().unwrap().to_string_lossy().into_owned();
        assert!(name.starts_with(".fstab.citadel-tmp."), "{name}");
        prepared.commit().unwrap();
        assert_eq!(fs::read(&dest).unwrap(), b"new\n");
        assert_eq!(entries(dir.path()), ["fstab"]);
    }

    #[test]
    fn an_abandoned_version_leaves_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("f");
        let (uid, gid) = ids();
        drop(prepare_file(&dest, b"x", uid, gid, 0o644).unwrap());
        assert!(entries(dir.path()).is_empty());
    }

    #[test]
    fn temps_of_dead_processes_are_removed_live_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("citadel-backup");
        // Above the kernel's largest pid_max (2^22): certainly dead.
        let dead = dir.path().join(".citadel-backup.citadel-tmp.2147483647.0");
        let live = dir.path().join(".citadel-backup.citadel-tmp.1.0");
        let other = dir.path().join(".other.citadel-tmp.2147483647.0");
        for p in [&dead, &live, &other] {
            fs::write(p, "half").unwrap();
        }
        let (uid, gid) = ids();
        write_file(&dest, b"job\n", uid, gid, 0o644).unwrap();
        assert!(!dead.exists());
        assert!(live.exists(), "pid 1 is alive: its temp file is not ours to remove");
        assert!(other.exists(), "a temp file of another name is left alone");
        assert_eq!(fs::read(&dest).unwrap(), b"job\n");
    }

    #[test]
    fn symlink_replaces_a_link_and_an_empty_dir() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("models");
        symlink("/old", &dest).unwrap();
        replace_with_symlink(&dest, Path::new("/mnt/citadel-models/active")).unwrap();
        assert_eq!(
            fs::read_link(&dest).unwrap(),
            PathBuf::from("/mnt/citadel-models/active")
        );
        fs::remove_file(&dest).unwrap();
        fs::create_dir(&dest).unwrap();
        replace_with_symlink(&dest, Path::new("/x")).unwrap();
        assert_eq!(fs::read_link(&dest).unwrap(), PathBuf::from("/x"));
        assert_eq!(entries(dir.path()), ["models"]);
    }

    #[test]
    fn data_in_the_way_is_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("file");
        let full = dir.path().join("full");
        fs::write(&file, "data").unwrap();
        fs::create_dir(&full).unwrap();
        fs::write(full.join("x"), "data").unwrap();
        let (uid, gid) = ids();
        assert!(replace_with_symlink(&file, Path::new("/t")).is_err());
        assert!(replace_with_symlink(&full, Path::new("/t")).is_err());
        assert!(replace_with_dir(&file, uid, gid, 0o755).is_err());
        assert_eq!(fs::read(&file).unwrap(), b"data");
        assert_eq!(fs::read(full.join("x")).unwrap(), b"data");
        assert_eq!(entries(dir.path()), ["file", "full"]);
    }

    #[test]
    fn only_a_symlink_is_ever_removed() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("stale");
        symlink("/gone", &link).unwrap();
        remove_symlink(&link).unwrap();
        assert!(fs::symlink_metadata(&link).is_err());
        let file = dir.path().join("file");
        let empty = dir.path().join("empty");
        fs::write(&file, "data").unwrap();
        fs::create_dir(&empty).unwrap();
        assert!(remove_symlink(&file).is_err());
        assert!(remove_symlink(&empty).is_err());
        assert_eq!(entries(dir.path()), ["empty", "file"]);
    }

    #[test]
    fn dir_replaces_a_symlink_with_owner_and_mode() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("logs");
        symlink("/elsewhere", &dest).unwrap();
        let (uid, gid) = ids();
        replace_with_dir(&dest, uid, gid, 0o750).unwrap();
        let meta = fs::symlink_metadata(&dest).unwrap();
        assert!(meta.is_dir());
        assert_eq!(meta.mode() & 0o7777, 0o750);
        assert_eq!(entries(dir.path()), ["logs"]);
    }
}
