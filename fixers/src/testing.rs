//! Test support for the fixers: the compliant fixture tree copied into a temporary directory, to be broken by a
//! test, planned on through a `System`, and fixed with the real apply layer (`RealHost`: under a root that is
//! not `/`, kernel actions are pending and nothing runs on this machine). Mirrors
//! `citadel_checks`'s own `testing::compliant`.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use citadel_checks::{Outcome, Policy, System, SystemRoot, CHECKS};
use citadel_testkit::{copy_tree, fixtures_dir};

use crate::action::Plan;
use crate::apply::Applier;
use crate::fix::{self, FixReport};
use crate::fixers::by_id;
use crate::host::RealHost;
use crate::lock;
use crate::outcome::ActionResult;

pub struct Tree {
    pub dir: tempfile::TempDir,
    pub root: SystemRoot,
}

impl Tree {
    /// A fresh copy of `fixtures/compliant/root`.
    pub fn compliant() -> Tree {
        let dir = tempfile::tempdir().expect("temp dir");
        copy_tree(&fixtures_dir().join("compliant/root"), dir.path()).expect("copy the compliant fixture");
        let root = SystemRoot::new(dir.path());
        Tree { dir, root }
    }

    /// Lays the `root/` of the fixture scenario `name` over the tree (what it adds to its base).
    pub fn overlay(&self, name: &str) {
        copy_tree(&fixtures_dir().join(name).join("root"), self.dir.path()).expect("overlay the scenario");
    }

    /// Where the system path `abs` is in the tree.
    pub fn path(&self, abs: &str) -> PathBuf {
        self.root.path(abs)
    }

    pub fn read(&self, abs: &str) -> String {
        fs::read_to_string(self.path(abs)).unwrap_or_else(|e| panic!("{abs}: {e}"))
    }

    pub fn write(&self, abs: &str, content: impl AsRef<[u8]>) {
        let path = self.path(abs);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(path, content).unwrap();
    }

    pub fn remove(&self, abs: &str) {
        let path = self.path(abs);
        let meta = fs::symlink_metadata(&path).unwrap_or_else(|e| panic!("{abs}: {e}"));
        if meta.is_dir() {
            fs::remove_dir_all(&path).unwrap();
        } else {
            fs::remove_file(&path).unwrap();
        }
    }

    /// Replaces `from` with `to` in the file at `abs`; `from` must be there.
    pub fn replace(&self, abs: &str, from: &str, to: &str) {
        let text = self.read(abs);
        assert!(text.contains(from), "{abs} has no {from:?}:\n{text}");
        self.write(abs, text.replacen(from, to, 1));
    }

    /// Drops the lines of mountinfo whose mount point is `mount_point`.
    pub fn unmount(&self, mount_point: &str) {
        let text: String = self
            .read("/proc/self/mountinfo")
            .lines()
            .filter(|l| l.split(' ').nth(4) != Some(mount_point))
            .map(|l| format!("{l}\n"))
            .collect();
        self.write("/proc/self/mountinfo", text);
    }

    /// Drops the fstab lines that mention `mount_point`.
    pub fn drop_fstab_line(&self, mount_point: &str) {
        let text: String = self
            .read("/etc/fstab")
            .lines()
            .filter(|l| !l.split_whitespace().any(|f| f == mount_point))
            .map(|l| format!("{l}\n"))
            .collect();
        self.write("/etc/fstab", text);
    }

    /// A new `System` (facts are cached per `System`: make one after changing the tree).
    pub fn system(&self) -> System {
        System::new(self.root.clone())
    }

    pub fn plan(&self, id: &str, policy: &Policy) -> Plan {
        (by_id(id).expect("a fixer").plan)(policy, &self.system())
    }

    /// Applies `plan` under the tree with the real apply layer.
    pub fn apply(&self, id: &str, policy: &Policy, plan: &Plan) -> Vec<ActionResult> {
        let lock = lock::acquire(&self.root, Duration::from_secs(5)).expect("the fix lock");
        Applier::new(&self.root, &lock, policy, &RealHost).apply(id, plan)
    }

    /// One whole fix (plan, apply, check, plan again), as `--fix` runs it.
    pub fn fix(&self, id: &str, policy: &Policy) -> (FixReport, Outcome) {
        let lock = lock::acquire(&self.root, Duration::from_secs(5)).expect("the fix lock");
        let applier = Applier::new(&self.root, &lock, policy, &RealHost);
        let check = CHECKS.iter().find(|c| c.id == id).expect("a check");
        fix::fix(check, by_id(id).expect("a fixer").plan, policy, &applier)
    }

    pub fn check(&self, id: &str, policy: &Policy) -> Outcome {
        let check = CHECKS.iter().find(|c| c.id == id).expect("a check");
        (check.run)(policy, &self.system())
    }

    /// Every file under the backup directory, as system paths.
    pub fn backups(&self) -> Vec<String> {
        let mut out = Vec::new();
        walk(
            &self.path(crate::backup::BACKUP_DIR),
            crate::backup::BACKUP_DIR,
            &mut out,
        );
        out.sort();
        out
    }
}

/// Asserts that the udev evaluator behind `io_schedulers` sees the compliant fixture's rule for nvme1n1, so that
/// tests of what udev does at boot are decided, never skipped.
pub fn udev_evaluator_present() -> bool {
    let tree = Tree::compliant();
    let system = tree.system();
    let Ok(rules) = system.udev_rules() else {
        return false;
    };
    let Ok(disk) = citadel_checks::blockdev::BlockDevice::by_name(&tree.root, "nvme1n1") else {
        return false;
    };
    let Ok(facts) = disk.udev_facts(&tree.root) else {
        return false;
    };
    let present = rules.final_attr_assignment(&facts, "add", "queue/scheduler").is_some();
    // The evaluator is real now: not seeing the compliant rule is a regression, never a reason to skip.
    assert!(
        present,
        "the udev evaluator does not see the compliant fixture's scheduler rule for nvme1n1"
    );
    present
}

/// The findings of an outcome, one line each, for assertion messages.
pub fn findings(outcome: &Outcome) -> String {
    outcome
        .findings()
        .iter()
        .map(|f| format!("{} | {} | {} | {}", f.subject, f.expected, f.actual, f.message))
        .collect::<Vec<_>>()
        .join("\n")
}

fn walk(dir: &Path, system: &str, out: &mut Vec<String>) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        let path = format!("{system}/{}", entry.file_name().to_string_lossy());
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            walk(&entry.path(), &path, out);
        } else {
            out.push(path);
        }
    }
}
