//! Which crontab files cron reads, and the file rules it checks before reading one (cron(8)).
//!
//! Debian cron reads `/etc/crontab`, `/etc/cron.d/NAME` for NAME matching `^[a-zA-Z0-9_-]+$` (other names are
//! skipped without a word in the log), and `/var/spool/cron/crontabs/USER`. A system file must be owned by
//! root, not writable by group or others, have one hard link, and may be a symlink when the link and its
//! target are both owned by root. A spool file must be a regular file of mode 0600 owned by its user (or
//! root). cronie allows dots in cron.d names, never follows symlinks (O_NOFOLLOW), and wants
//! `(mode & 07533) == 0400` for every file; its spool is `/var/spool/cron/USER`.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use super::users::Users;
use super::Flavor;
use crate::error::FactError;
use crate::root::SystemRoot;

pub const SYSTEM_CRONTAB: &str = "/etc/crontab";
pub const CRON_D: &str = "/etc/cron.d";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TabKind {
    /// `/etc/crontab`.
    SystemCrontab,
    /// `/etc/cron.d/NAME`.
    CronD,
    /// A user's crontab in the spool, without a user field.
    Spool { user: String },
}

impl TabKind {
    pub fn has_user_field(&self) -> bool {
        !matches!(self, TabKind::Spool { .. })
    }
}

/// Whether cron reads a crontab file at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Admission {
    Read,
    /// cron passes over it without a word: the name is not one it reads.
    Skipped(String),
    /// cron refuses it and logs `log` (e.g. "INSECURE MODE"); `detail` says why.
    Refused {
        log: &'static str,
        detail: String,
    },
}

/// Where a user's crontab lives.
pub fn spool_path(flavor: Flavor, user: &str) -> PathBuf {
    Path::new(spool_dir(flavor)).join(user)
}

/// Whether cron reads a file of this name in /etc/cron.d; the error says why not.
pub fn cron_d_name_ok(flavor: Flavor, name: &str) -> Result<(), String> {
    match flavor {
        Flavor::Debian => match name
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
        {
            None if !name.is_empty() => Ok(()),
            None => Err("an empty name".into()),
            Some(c) => Err(format!(
                "Debian cron reads only /etc/cron.d names made of letters, digits, _ and - (this one has {c:?}), \
                 and skips the others without a word in the log"
            )),
        },
        Flavor::Cronie => {
            let skipped = name.starts_with('.')
                || name.starts_with('#')
                || name.ends_with('~')
                || [".rpmsave", ".rpmorig", ".rpmnew"].iter().any(|s| name.ends_with(s))
                || name.is_empty()
                || name.len() >= 255;
            if skipped {
                Err(
                    "cronie skips /etc/cron.d names starting with . or #, ending in ~, or ending in .rpmsave, \
                     .rpmorig or .rpmnew"
                        .into(),
                )
            } else {
                Ok(())
            }
        }
    }
}

/// Applies cron's file rules to an existing crontab file. Unreadable metadata is an error.
pub fn admit(
    root: &SystemRoot,
    path: &Path,
    kind: &TabKind,
    flavor: Flavor,
    users: &Users,
) -> Result<Admission, FactError> {
    let refused = |log: &'static str, detail: String| Ok(Admission::Refused { log, detail });
    let link = root.symlink_metadata(path)?;
    let spool = matches!(kind, TabKind::Spool { .. });
    if link.file_type().is_symlink() {
        if spool {
            return refused(
                "NOT REGULAR",
                "a symlink; a crontab in the spool must be a regular file".into(),
            );
        }
        if flavor == Flavor::Cronie {
            return refused(
                "can't open",
                "a symlink, which cronie never follows (it opens with O_NOFOLLOW)".into(),
            );
        }
        if link.uid() != 0 {
            return refused(
                "WRONG SYMLINK OWNER",
                format!(
                    "the symlink is owned by uid {}; cron wants the link and its target owned by root",
                    link.uid()
                ),
            );
        }
    }
    let meta = match root.metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.is_not_found() => {
            return refused(
                "can't open",
                format!("a dangling symlink ({} is missing)", e.path.display()),
            )
        }
        Err(e) => return Err(e),
    };
    if !meta.is_file() {
        return refused("NOT REGULAR", "not a regular file".into());
    }
    let owner_ok = match kind {
        TabKind::Spool { user } => meta.uid() == 0 || users.uid(user) == Some(meta.uid()),
        _ => meta.uid() == 0,
    };
    if !owner_ok {
        return refused("WRONG FILE OWNER", format!("owned by uid {}, not by root", meta.uid()));
    }
    let mode = meta.mode() & 0o7777;
    match flavor {
        Flavor::Debian if spool && mode != 0o600 => {
            return refused(
                "BAD FILE MODE",
                format!("mode {mode:04o}; a crontab in the spool must be 0600"),
            );
        }
        Flavor::Debian if mode & 0o022 != 0 => {
            return refused(
                "INSECURE MODE",
                format!("mode {mode:04o}: group or others may write it"),
            );
        }
        Flavor::Cronie if mode & 0o7533 != 0o400 => {
            return refused(
                "BAD FILE MODE",
                format!("mode {mode:04o}; cronie wants (mode & 07533) == 0400, e.g. 0644 or 0600"),
            );
        }
        _ => {}
    }
    if meta.nlink() != 1 {
        return refused("NUMBER OF HARD LINKS > 1", format!("{} hard links", meta.nlink()));
    }
    Ok(Admission::Read)
}

/// The system crontab files present: `/etc/crontab` and every `/etc/cron.d` entry (names not yet judged).
pub fn system_tabs(root: &SystemRoot) -> Result<Vec<(PathBuf, TabKind)>, FactError> {
    let mut out = Vec::new();
    if root.exists(SYSTEM_CRONTAB) {
        out.push((PathBuf::from(SYSTEM_CRONTAB), TabKind::SystemCrontab));
    }
    for name in root.read_dir_names_opt(CRON_D)? {
        out.push((Path::new(CRON_D).join(&name), TabKind::CronD));
    }
    Ok(out)
}

/// The spool directory holding one crontab per user, named by the user.
pub fn spool_dir(flavor: Flavor) -> &'static str {
    match flavor {
        Flavor::Debian => "/var/spool/cron/crontabs",
        Flavor::Cronie => "/var/spool/cron",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::{symlink, PermissionsExt};

    fn is_root() -> bool {
        nix::unistd::geteuid().is_root()
    }

    fn users() -> Users {
        Users::parse("root:x:0:0:root:/root:/bin/bash\ncitadel:x:1000:1000::/home/citadel:/bin/bash\n")
    }

    fn tree() -> (tempfile::TempDir, SystemRoot) {
        let dir = tempfile::tempdir().unwrap();
        let root = SystemRoot::new(dir.path());
        fs::create_dir_all(root.path("/etc/cron.d")).unwrap();
        fs::create_dir_all(root.path("/var/spool/cron/crontabs")).unwrap();
        (dir, root)
    }

    fn file(root: &SystemRoot, path: &str, mode: u32) {
        fs::write(root.path(path), "x\n").unwrap();
        fs::set_permissions(root.path(path), fs::Permissions::from_mode(mode)).unwrap();
    }

    fn admission(root: &SystemRoot, path: &str, kind: TabKind, flavor: Flavor) -> Admission {
        admit(root, Path::new(path), &kind, flavor, &users()).unwrap()
    }

    fn refusal(a: Admission) -> &'static str {
        match a {
            Admission::Refused { log, .. } => log,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn cron_d_names() {
        assert!(cron_d_name_ok(Flavor::Debian, "citadel-backup").is_ok());
        assert!(cron_d_name_ok(Flavor::Debian, "e2scrub_all").is_ok());
        assert!(cron_d_name_ok(Flavor::Debian, "citadel.backup")
            .unwrap_err()
            .contains("'.'"));
        assert!(cron_d_name_ok(Flavor::Debian, "citadel-backup~").is_err());
        assert!(cron_d_name_ok(Flavor::Debian, "x.dpkg-old").is_err());
        assert!(cron_d_name_ok(Flavor::Debian, ".placeholder").is_err());
        assert!(cron_d_name_ok(Flavor::Debian, "").is_err());
        assert!(cron_d_name_ok(Flavor::Cronie, "citadel.backup").is_ok());
        assert!(cron_d_name_ok(Flavor::Cronie, "citadel-backup~").is_err());
        assert!(cron_d_name_ok(Flavor::Cronie, "x.rpmnew").is_err());
        assert!(cron_d_name_ok(Flavor::Cronie, ".hidden").is_err());
    }

    #[test]
    fn debian_file_rules() {
        if !is_root() {
            return; // fixture files must be owned by root
        }
        let (_d, root) = tree();
        file(&root, "/etc/cron.d/ok", 0o644);
        assert_eq!(
            admission(&root, "/etc/cron.d/ok", TabKind::CronD, Flavor::Debian),
            Admission::Read
        );
        file(&root, "/etc/cron.d/exec", 0o755);
        assert_eq!(
            admission(&root, "/etc/cron.d/exec", TabKind::CronD, Flavor::Debian),
            Admission::Read
        );
        file(&root, "/etc/cron.d/gw", 0o664);
        assert_eq!(
            refusal(admission(&root, "/etc/cron.d/gw", TabKind::CronD, Flavor::Debian)),
            "INSECURE MODE"
        );
        file(&root, "/etc/cron.d/ow", 0o646);
        assert_eq!(
            refusal(admission(&root, "/etc/cron.d/ow", TabKind::CronD, Flavor::Debian)),
            "INSECURE MODE"
        );
        file(&root, "/etc/cron.d/user", 0o644);
        std::os::unix::fs::chown(root.path("/etc/cron.d/user"), Some(1000), Some(1000)).unwrap();
        assert_eq!(
            refusal(admission(&root, "/etc/cron.d/user", TabKind::CronD, Flavor::Debian)),
            "WRONG FILE OWNER"
        );
        fs::hard_link(root.path("/etc/cron.d/ok"), root.path("/etc/cron.d/ok2")).unwrap();
        assert_eq!(
            refusal(admission(&root, "/etc/cron.d/ok", TabKind::CronD, Flavor::Debian)),
            "NUMBER OF HARD LINKS > 1"
        );
        fs::create_dir(root.path("/etc/cron.d/dir")).unwrap();
        assert_eq!(
            refusal(admission(&root, "/etc/cron.d/dir", TabKind::CronD, Flavor::Debian)),
            "NOT REGULAR"
        );
    }

    #[test]
    fn symlinks_in_cron_d() {
        if !is_root() {
            return;
        }
        let (_d, root) = tree();
        fs::create_dir_all(root.path("/usr/share/citadel")).unwrap();
        file(&root, "/usr/share/citadel/job", 0o644);
        symlink("/usr/share/citadel/job", root.path("/etc/cron.d/link")).unwrap();
        assert_eq!(
            admission(&root, "/etc/cron.d/link", TabKind::CronD, Flavor::Debian),
            Admission::Read
        );
        assert_eq!(
            refusal(admission(&root, "/etc/cron.d/link", TabKind::CronD, Flavor::Cronie)),
            "can't open"
        );
        std::os::unix::fs::lchown(root.path("/etc/cron.d/link"), Some(1000), Some(1000)).unwrap();
        assert_eq!(
            refusal(admission(&root, "/etc/cron.d/link", TabKind::CronD, Flavor::Debian)),
            "WRONG SYMLINK OWNER"
        );
        symlink("/nowhere", root.path("/etc/cron.d/dangling")).unwrap();
        assert_eq!(
            refusal(admission(&root, "/etc/cron.d/dangling", TabKind::CronD, Flavor::Debian)),
            "can't open"
        );
        std::os::unix::fs::chown(root.path("/usr/share/citadel/job"), Some(1000), Some(1000)).unwrap();
        symlink("/usr/share/citadel/job", root.path("/etc/cron.d/link2")).unwrap();
        assert_eq!(
            refusal(admission(&root, "/etc/cron.d/link2", TabKind::CronD, Flavor::Debian)),
            "WRONG FILE OWNER"
        );
    }

    #[test]
    fn spool_rules() {
        if !is_root() {
            return;
        }
        let (_d, root) = tree();
        let spool = TabKind::Spool { user: "root".into() };
        file(&root, "/var/spool/cron/crontabs/root", 0o600);
        assert_eq!(
            admission(&root, "/var/spool/cron/crontabs/root", spool.clone(), Flavor::Debian),
            Admission::Read
        );
        fs::set_permissions(
            root.path("/var/spool/cron/crontabs/root"),
            fs::Permissions::from_mode(0o644),
        )
        .unwrap();
        assert_eq!(
            refusal(admission(
                &root,
                "/var/spool/cron/crontabs/root",
                spool.clone(),
                Flavor::Debian
            )),
            "BAD FILE MODE"
        );
        // cronie accepts 0644 in its spool, and rejects 0755 anywhere.
        assert_eq!(
            admission(&root, "/var/spool/cron/crontabs/root", spool.clone(), Flavor::Cronie),
            Admission::Read
        );
        file(&root, "/etc/cron.d/x", 0o755);
        assert_eq!(
            refusal(admission(&root, "/etc/cron.d/x", TabKind::CronD, Flavor::Cronie)),
            "BAD FILE MODE"
        );
        // A user's own crontab may be owned by the user.
        let citadel = TabKind::Spool { user: "citadel".into() };
        file(&root, "/var/spool/cron/crontabs/citadel", 0o600);
        std::os::unix::fs::chown(root.path("/var/spool/cron/crontabs/citadel"), Some(1000), Some(1000)).unwrap();
        assert_eq!(
            admission(&root, "/var/spool/cron/crontabs/citadel", citadel, Flavor::Debian),
            Admission::Read
        );
        symlink("root", root.path("/var/spool/cron/crontabs/link")).unwrap();
        assert_eq!(
            refusal(admission(&root, "/var/spool/cron/crontabs/link", spool, Flavor::Debian)),
            "NOT REGULAR"
        );
    }

    #[test]
    fn listing() {
        let (_d, root) = tree();
        file(&root, "/etc/crontab", 0o644);
        file(&root, "/etc/cron.d/b", 0o644);
        file(&root, "/etc/cron.d/a.x", 0o644);
        let listed = system_tabs(&root).unwrap();
        let paths: Vec<&Path> = listed.iter().map(|(p, _)| p.as_path()).collect();
        assert_eq!(
            paths,
            [
                Path::new("/etc/crontab"),
                Path::new("/etc/cron.d/a.x"),
                Path::new("/etc/cron.d/b")
            ]
        );
        assert_eq!(listed[0].1, TabKind::SystemCrontab);
        assert_eq!(
            spool_path(Flavor::Debian, "root"),
            Path::new("/var/spool/cron/crontabs/root")
        );
        assert_eq!(spool_path(Flavor::Cronie, "root"), Path::new("/var/spool/cron/root"));
    }
}
