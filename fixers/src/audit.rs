//! The audit log of applied actions (SPEC §4 rule 8): `/opt/citadel/logs/citadel-check.log`, one JSON object a
//! line.
//!
//! The file is opened with `O_APPEND` and each line goes out in one `write`, so lines from two processes never
//! interleave. It is opened only when the first action is about to be applied: a run with nothing to do does
//! not touch it. Missing directories up to `/opt/citadel/logs` are created root:root 0755, as the layout wants.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::time::SystemTime;

use citadel_checks::SystemRoot;
use serde::Serialize;

use crate::outcome::ActionResult;
use crate::{clock, fspath};

pub const AUDIT_LOG: &str = "/opt/citadel/logs/citadel-check.log";

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditRecord<'a> {
    /// RFC 3339, UTC.
    pub time: String,
    pub pid: u32,
    /// The check whose fixer planned the action.
    pub check: &'a str,
    pub kind: &'a str,
    pub target: &'a str,
    pub summary: &'a str,
    pub result: &'a str,
    pub message: &'a str,
}

#[derive(Debug)]
pub struct AuditLog {
    file: File,
}

impl AuditLog {
    /// Opens (creating if needed) the audit log under `root`.
    pub fn open(root: &SystemRoot) -> io::Result<AuditLog> {
        let path = Path::new(AUDIT_LOG);
        let (uid, gid) = (nix::unistd::geteuid().as_raw(), nix::unistd::getegid().as_raw());
        fspath::ensure_dir(root, path.parent().unwrap_or(Path::new("/")), uid, gid, 0o755)?;
        let located = fspath::locate(root, path).map_err(fspath::fact_to_io)?;
        let file = OpenOptions::new()
            .append(true)
            .create(true)
            .mode(0o640)
            .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_CLOEXEC)
            .open(&located.host)?;
        Ok(AuditLog { file })
    }

    /// Appends one line for `result`.
    pub fn record(&self, check: &str, result: &ActionResult, at: SystemTime) -> io::Result<()> {
        let record = AuditRecord {
            time: clock::rfc3339(at),
            pid: std::process::id(),
            check,
            kind: &result.kind,
            target: &result.target,
            summary: &result.summary,
            result: result.status.as_str(),
            message: &result.message,
        };
        let mut line = serde_json::to_vec(&record).map_err(io::Error::other)?;
        line.push(b'\n');
        // One write: with O_APPEND the kernel puts it at the end as a whole.
        let written = (&self.file).write(&line)?;
        if written != line.len() {
            return Err(io::Error::new(
                io::ErrorKind::WriteZero,
                "audit log line written in part",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::action::Action;
    use crate::outcome::ActionStatus;
    use std::fs;

    #[test]
    fn lines_are_json_and_appended() {
        let dir = tempfile::tempdir().unwrap();
        let root = SystemRoot::new(dir.path());
        let action = Action::Symlink {
            path: "/opt/citadel/models".into(),
            target: "/mnt/citadel-models/active".into(),
        };
        let result = ActionResult::new(&action, ActionStatus::Applied, "linked \"x\"\nnext");
        AuditLog::open(&root)
            .unwrap()
            .record("symlinks", &result, SystemTime::now())
            .unwrap();
        AuditLog::open(&root)
            .unwrap()
            .record("symlinks", &result, SystemTime::now())
            .unwrap();
        let text = fs::read_to_string(root.path(AUDIT_LOG)).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        for line in lines {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            assert_eq!(v["check"], "symlinks");
            assert_eq!(v["kind"], "symlink");
            assert_eq!(v["target"], "/opt/citadel/models");
            assert_eq!(v["result"], "applied");
            assert_eq!(v["message"], "linked \"x\"\nnext");
            assert!(v["time"].as_str().unwrap().ends_with('Z'));
        }
    }
}
