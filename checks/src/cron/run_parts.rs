//! `/etc/cron.daily` and run-parts(8): which entries run, and whether anything runs the directory daily.
//!
//! Debian's run-parts runs only names made of letters, digits, `_` and `-` (so `citadel-backup.sh` is
//! skipped), and only executable regular files (a symlink to one counts); it executes them directly, so a
//! script needs a `#!` line, and a `#!/bin/sh\r` line (CRLF) names an interpreter that does not exist.
//! cronie's run-parts is a shell script that skips only backup-like names (`~`, `,`, `.rpmsave`, …).

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use super::Flavor;
use crate::error::FactError;
use crate::root::SystemRoot;

pub const CRON_DAILY: &str = "/etc/cron.daily";
pub const ANACRON: &str = "/usr/sbin/anacron";
pub const ANACRONTAB: &str = "/etc/anacrontab";

/// Whether run-parts runs a file of this name; the error says why not.
pub fn name_ok(flavor: Flavor, name: &str) -> Result<(), String> {
    match flavor {
        Flavor::Debian => match name
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
        {
            None if !name.is_empty() => Ok(()),
            None => Err("an empty name".into()),
            Some(c) => Err(format!(
                "run-parts runs only names made of letters, digits, _ and - (this one has {c:?}) and skips the \
                 others silently"
            )),
        },
        Flavor::Cronie => {
            let skipped = name.starts_with('.')
                || name.ends_with('~')
                || name.ends_with(',')
                || [".rpmsave", ".rpmorig", ".rpmnew", ".swp", ".cfsaved"]
                    .iter()
                    .any(|s| name.ends_with(s));
            if skipped {
                Err(
                    "cronie's run-parts skips names starting with . or ending in ~, ',', .rpmsave, .rpmorig, \
                     .rpmnew, .swp or .cfsaved"
                        .into(),
                )
            } else {
                Ok(())
            }
        }
    }
}

/// One entry of a run-parts directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub name: String,
    /// `/etc/cron.daily/NAME`.
    pub path: PathBuf,
    /// What the entry finally is (links followed), when it exists.
    pub resolved: Option<PathBuf>,
    /// Why run-parts does not run it (or fails to), if it does not.
    pub problem: Option<String>,
    /// The file's text, when it is a readable regular file (to see what it runs).
    pub text: Option<String>,
}

/// Lists a run-parts directory with run-parts' verdict on each entry. A missing directory has no entries.
pub fn list(root: &SystemRoot, dir: &str, flavor: Flavor) -> Result<Vec<Entry>, FactError> {
    let mut out = Vec::new();
    for name in root.read_dir_names_opt(dir)? {
        let name = name.to_string_lossy().into_owned();
        let path = Path::new(dir).join(&name);
        let mut entry = Entry {
            name: name.clone(),
            path: path.clone(),
            resolved: None,
            problem: None,
            text: None,
        };
        if let Err(why) = name_ok(flavor, &name) {
            entry.problem = Some(why);
        }
        match root.resolve(&path) {
            Ok(resolved) => {
                let meta = root.symlink_metadata(&resolved)?;
                if meta.is_file() {
                    // Unreadable to us (not to run-parts, which runs as root): judge by the mode alone.
                    let bytes = root.read(&resolved).ok();
                    if entry.problem.is_none() {
                        let mode = meta.permissions().mode();
                        entry.problem = match &bytes {
                            Some(bytes) => executable_problem(mode, bytes),
                            None => executable_problem(mode, b"#!").filter(|_| mode & 0o111 == 0),
                        };
                    }
                    entry.text = bytes.map(|b| String::from_utf8_lossy(&b).into_owned());
                } else if entry.problem.is_none() {
                    entry.problem = Some("not a regular file: run-parts skips it".into());
                }
                entry.resolved = Some(resolved);
            }
            Err(e) if e.is_not_found() => {
                if entry.problem.is_none() {
                    entry.problem = Some(format!("a dangling link ({} is missing)", e.path.display()));
                }
            }
            Err(e) => return Err(e),
        }
        out.push(entry);
    }
    Ok(out)
}

/// Why run-parts would not run (or fail to execute) a regular file with this mode and content.
pub fn executable_problem(mode: u32, bytes: &[u8]) -> Option<String> {
    if mode & 0o111 == 0 {
        return Some(format!(
            "not executable (mode {:04o}): run-parts skips it",
            mode & 0o7777
        ));
    }
    if bytes.starts_with(b"\x7fELF") {
        return None;
    }
    if !bytes.starts_with(b"#!") {
        return Some("no #! line: run-parts executes it directly and fails with \"Exec format error\"".into());
    }
    let first_line = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    if first_line.ends_with(b"\r") {
        return Some(
            "its #! line ends with a CR (CRLF line endings): the kernel looks for an interpreter whose name \
             ends in \\r and run-parts fails to execute it"
                .into(),
        );
    }
    None
}

/// True when anacron is installed and its table runs cron.daily daily.
pub fn anacron_runs_daily(root: &SystemRoot) -> Result<bool, FactError> {
    let installed = root
        .metadata(ANACRON)
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0);
    if !installed {
        return Ok(false);
    }
    if !root.metadata(ANACRONTAB).is_ok_and(|m| m.is_file()) {
        return Ok(false);
    }
    let Some(table) = root.read_text_opt(ANACRONTAB)? else {
        return Ok(false);
    };
    Ok(table.lines().any(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        fields.len() >= 4
            && !fields[0].starts_with('#')
            && (fields[0] == "1" || fields[0] == "@daily")
            && fields[3..].iter().any(|f| f.contains("cron.daily"))
    }))
}

/// True when anacron is installed at all (Debian's /etc/crontab then leaves cron.daily to it).
pub fn anacron_installed(root: &SystemRoot) -> bool {
    root.metadata(ANACRON).is_ok_and(|m| m.is_file())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::symlink;

    fn tree() -> (tempfile::TempDir, SystemRoot) {
        let dir = tempfile::tempdir().unwrap();
        let root = SystemRoot::new(dir.path());
        fs::create_dir_all(root.path(CRON_DAILY)).unwrap();
        fs::create_dir_all(root.path("/opt/s")).unwrap();
        (dir, root)
    }

    fn file(root: &SystemRoot, path: &str, text: &str, mode: u32) {
        fs::write(root.path(path), text).unwrap();
        fs::set_permissions(root.path(path), fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn names() {
        assert!(name_ok(Flavor::Debian, "citadel-backup").is_ok());
        assert!(name_ok(Flavor::Debian, "0anacron").is_ok());
        assert!(name_ok(Flavor::Debian, "citadel-backup.sh")
            .unwrap_err()
            .contains("'.'"));
        assert!(name_ok(Flavor::Debian, "x~").is_err());
        assert!(name_ok(Flavor::Debian, "a b").is_err());
        assert!(name_ok(Flavor::Cronie, "citadel-backup.sh").is_ok());
        assert!(name_ok(Flavor::Cronie, "x.rpmnew").is_err());
    }

    #[test]
    fn entries_and_what_run_parts_makes_of_them() {
        let (_d, root) = tree();
        file(&root, "/opt/s/backup.sh", "#!/bin/sh\necho\n", 0o755);
        symlink("/opt/s/backup.sh", root.path("/etc/cron.daily/citadel-backup")).unwrap();
        symlink("/opt/s/backup.sh", root.path("/etc/cron.daily/citadel-backup.sh")).unwrap();
        file(&root, "/etc/cron.daily/noexec", "#!/bin/sh\n", 0o644);
        file(&root, "/etc/cron.daily/noshebang", "echo\n", 0o755);
        file(&root, "/etc/cron.daily/crlf", "#!/bin/sh\r\necho\r\n", 0o755);
        fs::create_dir(root.path("/etc/cron.daily/dir")).unwrap();
        symlink("/gone", root.path("/etc/cron.daily/dangling")).unwrap();
        let entries = list(&root, CRON_DAILY, Flavor::Debian).unwrap();
        let by = |n: &str| entries.iter().find(|e| e.name == n).unwrap();
        assert_eq!(by("citadel-backup").problem, None);
        assert_eq!(by("citadel-backup").resolved, Some(PathBuf::from("/opt/s/backup.sh")));
        assert!(by("citadel-backup.sh").problem.as_ref().unwrap().contains("'.'"));
        assert!(by("noexec")
            .problem
            .as_ref()
            .unwrap()
            .contains("not executable (mode 0644)"));
        assert!(by("noshebang").problem.as_ref().unwrap().contains("no #! line"));
        assert!(by("crlf").problem.as_ref().unwrap().contains("CR"));
        assert!(by("dir").problem.as_ref().unwrap().contains("not a regular file"));
        assert!(by("dangling").problem.as_ref().unwrap().contains("dangling"));
        assert!(list(&root, "/etc/cron.nothing", Flavor::Debian).unwrap().is_empty());
        assert_eq!(executable_problem(0o755, b"\x7fELF\x02"), None);
        assert!(executable_problem(0o755, b"").is_some());
    }

    #[test]
    fn anacron() {
        let (_d, root) = tree();
        assert!(!anacron_runs_daily(&root).unwrap());
        fs::create_dir_all(root.path("/usr/sbin")).unwrap();
        file(&root, ANACRON, "", 0o755);
        assert!(anacron_installed(&root));
        assert!(!anacron_runs_daily(&root).unwrap());
        file(&root, ANACRONTAB, "SHELL=/bin/sh\n# 1 5 cron.daily run-parts /etc/cron.daily\n7\t10\tcron.weekly\trun-parts --report /etc/cron.weekly\n", 0o644);
        assert!(!anacron_runs_daily(&root).unwrap());
        file(
            &root,
            ANACRONTAB,
            "1\t5\tcron.daily\trun-parts --report /etc/cron.daily\n",
            0o644,
        );
        assert!(anacron_runs_daily(&root).unwrap());
        file(
            &root,
            ANACRONTAB,
            "@daily 5 cron.daily run-parts /etc/cron.daily\n",
            0o644,
        );
        assert!(anacron_runs_daily(&root).unwrap());
    }
}
