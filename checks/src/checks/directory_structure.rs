//! Check `directory_structure` (SPEC §3 row 4): every directory of the layout exists as a real directory (not
//! a symlink) with the policy's owner, group and mode; one under a storage mount point is only judged when that
//! storage is mounted, and must be on the mounted file system (same st_dev as the mount point).
//!
//! When a storage is not mounted, the check reports that prerequisite once and does not look at the
//! directories under it: whatever is there lies on the root file system and will be hidden by the mount.

use std::collections::HashMap;
use std::os::unix::fs::MetadataExt;
use std::path::PathBuf;

use crate::accounts::Accounts;
use crate::error::FactError;
use crate::filekind;
use crate::outcome::{Finding, Outcome};
use crate::placement::StorageMount;
use crate::policy::{Ownership, Policy};
use crate::view::System;

pub fn run(policy: &Policy, system: &System) -> Outcome {
    match findings(policy, system) {
        Ok(findings) => Outcome::from_findings(findings),
        Err(e) => e.into(),
    }
}

fn findings(policy: &Policy, system: &System) -> Result<Vec<Finding>, FactError> {
    let accounts = system.accounts()?;
    let want = &policy.directories;
    let mut findings = Vec::new();
    let Some((uid, gid)) = wanted_ids(want, accounts, &mut findings) else {
        return Ok(findings);
    };
    let mut mounts: HashMap<PathBuf, StorageMount> = HashMap::new();
    for dir in policy.required_dirs() {
        let subject = dir.path.display().to_string();
        let mut state = None;
        if let Some(storage) = dir.storage {
            if !mounts.contains_key(&storage.mount_point) {
                let mount = StorageMount::of(storage, system)?;
                if let StorageMount::NotMounted(finding) = &mount {
                    findings.push(finding.clone());
                }
                mounts.insert(storage.mount_point.clone(), mount);
            }
            let mount = &mounts[&storage.mount_point];
            if matches!(mount, StorageMount::NotMounted(_)) {
                continue;
            }
            state = Some((storage, mount));
        }
        let fix = format!(
            "mkdir -p {subject} && chown {}:{} {subject} && chmod {} {subject}",
            want.owner, want.group, want.mode
        );
        let meta = match system.root().lstat(&dir.path) {
            Ok(meta) => meta,
            Err(e) if e.is_not_found() => {
                findings.push(Finding::new(
                    &subject,
                    "a directory",
                    "missing",
                    format!("Create it: {fix}"),
                ));
                continue;
            }
            Err(e) => return Err(e),
        };
        if meta.file_type().is_symlink() {
            let target = system
                .root()
                .read_link(&dir.path)
                .map(|t| t.display().to_string())
                .unwrap_or_default();
            findings.push(Finding::new(
                &subject,
                "a real directory, not a symlink",
                format!("a symlink to {target}"),
                format!(
                    "Replace the link with a directory (move what it points to if it is needed): rm {subject} && {fix}"
                ),
            ));
            continue;
        }
        if !meta.is_dir() {
            findings.push(Finding::new(
                &subject,
                "a directory",
                filekind::kind(&meta),
                format!(
                    "Move the {} away, then: {fix}",
                    filekind::kind(&meta).trim_start_matches("a ")
                ),
            ));
            continue;
        }
        if let Some((storage, mount)) = state {
            if let Some(finding) = mount.placement_finding(storage, &subject, &meta) {
                findings.push(finding);
                continue;
            }
        }
        if (meta.uid(), meta.gid()) != (uid, gid) {
            findings.push(Finding::new(
                &subject,
                format!("owned by {}:{}", want.owner, want.group),
                format!("owned by {}", filekind::owner(&meta, accounts)),
                format!("chown {}:{} {subject}", want.owner, want.group),
            ));
        }
        if filekind::mode(&meta) != want.mode.0 {
            findings.push(Finding::new(
                &subject,
                format!("mode {}", want.mode),
                format!("mode {:04o}", filekind::mode(&meta)),
                format!("chmod {} {subject}", want.mode),
            ));
        }
    }
    Ok(findings)
}

/// The policy's owner and group as ids; a name that /etc/passwd or /etc/group lacks is a finding.
fn wanted_ids(want: &Ownership, accounts: &Accounts, findings: &mut Vec<Finding>) -> Option<(u32, u32)> {
    let uid = accounts.uid(&want.owner);
    let gid = accounts.gid(&want.group);
    if uid.is_none() {
        findings.push(Finding::new(
            "/etc/passwd",
            format!("a user {}", want.owner),
            "no such user",
            format!(
                "Create the user {} or change [directories].owner in the policy",
                want.owner
            ),
        ));
    }
    if gid.is_none() {
        findings.push(Finding::new(
            "/etc/group",
            format!("a group {}", want.group),
            "no such group",
            format!(
                "Create the group {} or change [directories].group in the policy",
                want.group
            ),
        ));
    }
    Some((uid?, gid?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{is_root, Tree};

    fn findings_of(tree: &Tree) -> Vec<Finding> {
        match run(&Policy::embedded(), &tree.system()) {
            Outcome::Fail(findings) => findings,
            other => panic!("expected a failure, got {other:?}"),
        }
    }

    #[test]
    fn compliant_tree_passes() {
        if !is_root() {
            return; // the fixture's files must be owned by root
        }
        assert_eq!(run(&Policy::embedded(), &Tree::compliant().system()), Outcome::Pass);
    }

    #[test]
    fn a_missing_directory_fails_with_the_commands_to_make_it() {
        let tree = Tree::compliant();
        tree.remove("/mnt/citadel-backup/logs");
        let f = findings_of(&tree);
        let f = f.iter().find(|f| f.subject == "/mnt/citadel-backup/logs").unwrap();
        assert_eq!(f.actual, "missing");
        assert!(f.message.contains("mkdir -p /mnt/citadel-backup/logs"), "{}", f.message);
    }

    #[test]
    fn a_symlink_is_not_a_directory() {
        let tree = Tree::compliant();
        tree.link("/mnt/citadel-models/archive", "/mnt/citadel-backup/system");
        let f = findings_of(&tree);
        let f = f.iter().find(|f| f.subject == "/mnt/citadel-models/archive").unwrap();
        assert_eq!(f.actual, "a symlink to /mnt/citadel-backup/system");
    }

    #[test]
    fn a_file_is_not_a_directory() {
        let tree = Tree::compliant();
        tree.remove("/opt/citadel/tmp");
        tree.write("/opt/citadel/tmp", "");
        let f = findings_of(&tree);
        let f = f.iter().find(|f| f.subject == "/opt/citadel/tmp").unwrap();
        assert_eq!(f.actual, "a regular file");
    }

    #[test]
    fn wrong_mode_and_owner() {
        if !is_root() {
            return; // chown needs root
        }
        let tree = Tree::compliant();
        tree.chmod("/opt/citadel/configs", 0o775);
        std::os::unix::fs::lchown(tree.path("/mnt/citadel-backup/system"), Some(1000), Some(1000)).unwrap();
        let f = findings_of(&tree);
        let mode = f.iter().find(|f| f.subject == "/opt/citadel/configs").unwrap();
        assert_eq!(
            (mode.expected.as_str(), mode.actual.as_str()),
            ("mode 0755", "mode 0775")
        );
        let owner = f.iter().find(|f| f.subject == "/mnt/citadel-backup/system").unwrap();
        assert_eq!(owner.actual, "owned by citadel (1000):citadel (1000)");
        assert_eq!(owner.message, "chown root:root /mnt/citadel-backup/system");
    }

    #[test]
    fn an_unmounted_storage_is_reported_once_as_the_prerequisite() {
        let tree = Tree::compliant();
        let mountinfo = std::fs::read_to_string(tree.path("/proc/self/mountinfo")).unwrap();
        let without: String = mountinfo
            .lines()
            .filter(|l| !l.contains(" /mnt/citadel-backup "))
            .map(|l| format!("{l}\n"))
            .collect();
        tree.write("/proc/self/mountinfo", &without);
        tree.remove("/mnt/citadel-backup/logs"); // not reported: it would be on the root file system anyway
        let f = findings_of(&tree);
        let backup: Vec<_> = f
            .iter()
            .filter(|f| f.subject.starts_with("/mnt/citadel-backup"))
            .collect();
        assert_eq!(backup.len(), 1, "{f:?}");
        assert_eq!(backup[0].subject, "/mnt/citadel-backup");
        assert!(backup[0].expected.contains("storage_mounts"));
    }

    #[test]
    fn an_owner_missing_from_passwd_is_a_finding() {
        let tree = Tree::compliant();
        let mut policy = Policy::embedded();
        policy.directories.owner = "citadel-admin".into();
        match run(&policy, &tree.system()) {
            Outcome::Fail(f) => {
                assert_eq!(f.len(), 1);
                assert_eq!(f[0].subject, "/etc/passwd");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn unreadable_accounts_are_an_error() {
        let tree = Tree::compliant();
        tree.remove("/etc/passwd");
        assert!(matches!(run(&Policy::embedded(), &tree.system()), Outcome::Error(e) if e.contains("/etc/passwd")));
    }
}
