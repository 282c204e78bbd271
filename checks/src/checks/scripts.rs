//! Check `scripts` (SPEC §3 row 7): each management script is a regular file (not a symlink: a link could lead
//! to a file anyone may change), executable, owned by the policy's owner and group (root), not writable by group
//! or others, and, with `check_content`, byte-identical to the version this citadel-check ships.

use std::os::unix::fs::MetadataExt;

use crate::error::FactError;
use crate::filekind;
use crate::outcome::{Finding, Outcome};
use crate::policy::Policy;
use crate::shipped::shipped_script;
use crate::view::System;

pub fn run(policy: &Policy, system: &System) -> Outcome {
    match findings(policy, system) {
        Ok(findings) => Outcome::from_findings(findings),
        Err(e) => e.into(),
    }
}

fn findings(policy: &Policy, system: &System) -> Result<Vec<Finding>, FactError> {
    let root = system.root();
    let accounts = system.accounts()?;
    let want = &policy.scripts;
    let reinstall = "citadel-check --fix scripts installs the shipped version";
    let mut findings = Vec::new();
    for name in &want.names {
        let path = policy.script_path(name);
        let subject = path.display().to_string();
        let meta = match root.lstat(&path) {
            Ok(meta) => meta,
            Err(e) if e.is_not_found() => {
                findings.push(Finding::new(
                    &subject,
                    "an executable script",
                    "missing",
                    reinstall.to_string(),
                ));
                continue;
            }
            Err(e) => return Err(e),
        };
        if !meta.is_file() {
            let kind = filekind::kind(&meta);
            findings.push(Finding::new(
                &subject,
                "a regular file",
                kind,
                format!(
                    "Remove the {} and reinstall: {reinstall}",
                    kind.trim_start_matches("a ")
                ),
            ));
            continue;
        }
        let mode = filekind::mode(&meta);
        if mode & 0o111 == 0 {
            findings.push(Finding::new(
                &subject,
                format!("executable (mode {})", want.mode),
                format!("mode {mode:04o}, not executable"),
                format!("chmod {} {subject}", want.mode),
            ));
        }
        if mode & 0o022 != 0 {
            findings.push(Finding::new(
                &subject,
                format!("not writable by group or others (mode {})", want.mode),
                format!("mode {mode:04o}, writable by {}", writable_by(mode)),
                format!(
                    "chmod go-w {subject}; anyone who could write it could run commands as root from cron, so check \
                     that its content is still the shipped one"
                ),
            ));
        }
        let owner_ok = accounts.uid(&want.owner) == Some(meta.uid());
        let group_ok = accounts.gid(&want.group) == Some(meta.gid());
        if !owner_ok || !group_ok {
            findings.push(Finding::new(
                &subject,
                format!("owned by {}:{}", want.owner, want.group),
                format!("owned by {}", filekind::owner(&meta, accounts)),
                format!("chown {}:{} {subject}", want.owner, want.group),
            ));
        }
        if want.check_content {
            let Some(shipped) = shipped_script(name) else {
                findings.push(Finding::new(
                    &subject,
                    "a script citadel-check ships",
                    "no shipped version of this name",
                    "Set [scripts].check_content = false in the policy, or remove the name",
                ));
                continue;
            };
            let installed = root.read(&path)?;
            if installed != shipped {
                findings.push(Finding::new(
                    &subject,
                    format!("identical to the shipped {name} ({} bytes)", shipped.len()),
                    format!(
                        "{} bytes, first difference on line {}",
                        installed.len(),
                        first_different_line(&installed, shipped)
                    ),
                    format!("Local changes are overwritten: {reinstall}"),
                ));
            }
        }
    }
    Ok(findings)
}

fn writable_by(mode: u32) -> &'static str {
    match (mode & 0o020 != 0, mode & 0o002 != 0) {
        (true, true) => "group and others",
        (true, false) => "group",
        _ => "others",
    }
}

/// The 1-based line where `a` and `b` first differ.
fn first_different_line(a: &[u8], b: &[u8]) -> usize {
    let at = a
        .iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .unwrap_or(a.len().min(b.len()));
    a[..at].iter().filter(|&&c| c == b'\n').count() + 1
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{is_root, Tree};

    fn only_finding(tree: &Tree) -> Finding {
        match run(&Policy::embedded(), &tree.system()) {
            Outcome::Fail(findings) if findings.len() == 1 => findings[0].clone(),
            other => panic!("expected one finding, got {other:?}"),
        }
    }

    #[test]
    fn compliant_tree_passes() {
        if !is_root() {
            return; // the scripts must be owned by root
        }
        assert_eq!(run(&Policy::embedded(), &Tree::compliant().system()), Outcome::Pass);
    }

    #[test]
    fn missing_modified_writable_unexecutable_and_foreign_scripts() {
        if !is_root() {
            return;
        }
        let tree = Tree::compliant();
        tree.remove("/opt/citadel/scripts/verify-models.sh");
        assert_eq!(only_finding(&tree).actual, "missing");

        let tree = Tree::compliant();
        let path = tree.path("/opt/citadel/scripts/storage-monitor.sh");
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(
            &path,
            text.replacen("DISK_WARN_PERCENT:-85", "DISK_WARN_PERCENT:-99", 1),
        )
        .unwrap();
        let f = only_finding(&tree);
        let line = text[..text.find("DISK_WARN_PERCENT:-85").unwrap()]
            .matches('\n')
            .count()
            + 1;
        assert!(
            f.actual.ends_with(&format!("first difference on line {line}")),
            "{}",
            f.actual
        );

        let tree = Tree::compliant();
        tree.chmod("/opt/citadel/scripts/verify-models.sh", 0o775);
        assert_eq!(only_finding(&tree).actual, "mode 0775, writable by group");

        let tree = Tree::compliant();
        tree.chmod("/opt/citadel/scripts/verify-models.sh", 0o644);
        assert_eq!(only_finding(&tree).actual, "mode 0644, not executable");

        let tree = Tree::compliant();
        std::os::unix::fs::lchown(tree.path("/opt/citadel/scripts/storage-monitor.sh"), Some(1000), None).unwrap();
        assert_eq!(only_finding(&tree).actual, "owned by citadel (1000):root (0)");
    }

    #[test]
    fn a_symlink_to_the_shipped_script_is_refused() {
        let tree = Tree::compliant();
        std::fs::rename(
            tree.path("/opt/citadel/scripts/verify-models.sh"),
            tree.path("/opt/citadel/tmp/verify-models.sh"),
        )
        .unwrap();
        tree.link(
            "/opt/citadel/scripts/verify-models.sh",
            "/opt/citadel/tmp/verify-models.sh",
        );
        let f = only_finding(&tree);
        assert_eq!(
            (f.expected.as_str(), f.actual.as_str()),
            ("a regular file", "a symlink")
        );
    }

    #[test]
    fn content_is_not_compared_when_the_policy_says_so() {
        if !is_root() {
            return;
        }
        let tree = Tree::compliant();
        tree.write("/opt/citadel/scripts/verify-models.sh", "#!/bin/sh\nexit 0\n");
        let mut policy = Policy::embedded();
        policy.scripts.check_content = false;
        assert_eq!(run(&policy, &tree.system()), Outcome::Pass);
    }

    #[test]
    fn first_difference() {
        assert_eq!(first_different_line(b"a\nb\nc\n", b"a\nb\nd\n"), 3);
        assert_eq!(first_different_line(b"a\n", b"a\nb\n"), 2);
        assert_eq!(first_different_line(b"", b"x"), 1);
    }
}
