//! Fixture trees to plan and fix on: the compliant fixture copied into a temporary directory, or a scenario
//! materialized by `citadel_testkit` (base first, then the scenario's `root/` overlay, then `remove`, `chmod`,
//! `chown`; modes normalized, `.gitkeep` files skipped), with the policy it names.
//!
//! Shared by the fixer test crates (`layout_fixers`, `boot_fixers`) as their `tree` module:
//! `#[path = "../common/fixture_tree.rs"] mod tree;`.
#![allow(dead_code)]

use std::fs;
use std::os::unix::fs::{symlink, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use citadel_checks::{Outcome, Policy, System, SystemRoot, CHECKS};
use citadel_fixers::action::Plan;
use citadel_fixers::apply::Applier;
use citadel_fixers::fix::{fix, FixReport};
use citadel_fixers::fixers::by_id;
use citadel_fixers::host::RealHost;
use citadel_fixers::lock;
use citadel_testkit::materialize;
pub use citadel_testkit::{fixtures_dir, is_root, load_scenario, scenario_names, Scenario};

pub struct Tree {
    pub dir: tempfile::TempDir,
    pub root: SystemRoot,
    pub policy: Policy,
}

impl Tree {
    /// A fresh copy of `fixtures/compliant/root`, with the embedded policy.
    pub fn compliant() -> Tree {
        Tree::scenario("compliant").0
    }

    /// The scenario's tree, with its policy.
    pub fn scenario(name: &str) -> (Tree, Scenario) {
        let dir = tempfile::tempdir().unwrap();
        let scenario = materialize(name, dir.path()).unwrap_or_else(|e| panic!("materializing {name}: {e}"));
        let policy = match &scenario.policy {
            Some(file) => Policy::read(&fixtures_dir().join(name).join(file)).unwrap(),
            None => Policy::embedded(),
        };
        let root = SystemRoot::new(dir.path());
        (Tree { dir, root, policy }, scenario)
    }

    pub fn path(&self, abs: &str) -> PathBuf {
        self.root.path(abs)
    }

    /// A new view (facts are cached per `System`: make one after changing the tree).
    pub fn system(&self) -> System {
        System::new(self.root.clone())
    }

    pub fn plan(&self, id: &str) -> Plan {
        (by_id(id).unwrap().plan)(&self.policy, &self.system())
    }

    pub fn check(&self, id: &str) -> Outcome {
        let check = CHECKS.iter().find(|c| c.id == id).unwrap();
        (check.run)(&self.policy, &self.system())
    }

    /// `--fix` for one check under this tree: lock, apply on the real file system (kernel actions are pending
    /// under a root that is not `/`), check again, plan again.
    pub fn fix(&self, id: &str) -> (FixReport, Outcome) {
        let guard = lock::acquire(&self.root, Duration::ZERO).unwrap();
        let applier = Applier::new(&self.root, &guard, &self.policy, &RealHost);
        let check = CHECKS.iter().find(|c| c.id == id).unwrap();
        fix(check, by_id(id).unwrap().plan, &self.policy, &applier)
    }

    pub fn remove(&self, abs: &str) {
        let path = self.path(abs);
        if fs::symlink_metadata(&path).unwrap().is_dir() {
            fs::remove_dir_all(&path).unwrap();
        } else {
            fs::remove_file(&path).unwrap();
        }
    }

    pub fn chmod(&self, abs: &str, mode: u32) {
        fs::set_permissions(self.path(abs), fs::Permissions::from_mode(mode)).unwrap();
    }

    pub fn chown(&self, abs: &str, uid: u32, gid: u32) {
        std::os::unix::fs::lchown(self.path(abs), Some(uid), Some(gid)).unwrap();
    }

    pub fn write(&self, abs: &str, content: &str) {
        fs::write(self.path(abs), content).unwrap();
    }

    pub fn read(&self, abs: &str) -> String {
        fs::read_to_string(self.path(abs)).unwrap()
    }

    pub fn mkdir(&self, abs: &str) {
        fs::create_dir_all(self.path(abs)).unwrap();
    }

    /// Replaces whatever is at `abs` with a symlink to `target`.
    pub fn link(&self, abs: &str, target: &str) {
        if fs::symlink_metadata(self.path(abs)).is_ok() {
            self.remove(abs);
        }
        symlink(target, self.path(abs)).unwrap();
    }

    pub fn read_link(&self, abs: &str) -> PathBuf {
        fs::read_link(self.path(abs)).unwrap()
    }

    pub fn mode(&self, abs: &str) -> u32 {
        fs::symlink_metadata(self.path(abs)).unwrap().mode() & 0o7777
    }

    pub fn exists(&self, abs: &str) -> bool {
        fs::symlink_metadata(self.path(abs)).is_ok()
    }

    /// Drops the mount of `mount_point` from mountinfo: the storage is not mounted.
    pub fn unmount(&self, mount_point: &str) {
        let text: String = self
            .read("/proc/self/mountinfo")
            .lines()
            .filter(|l| l.split(' ').nth(4) != Some(mount_point))
            .map(|l| format!("{l}\n"))
            .collect();
        self.write("/proc/self/mountinfo", &text);
    }

    /// Every entry under `abs`, relative, sorted.
    pub fn listing(&self, abs: &str) -> Vec<String> {
        let mut out = Vec::new();
        walk(&self.path(abs), Path::new(""), &mut |rel, _| {
            out.push(rel.display().to_string())
        });
        out.sort();
        out
    }

    /// Every entry of the tree with its kind, owner, mode and content (or link target): to prove that a refused
    /// fix changed nothing. The fix lock and the audit log are left out: they are the tool's own.
    pub fn snapshot(&self) -> Vec<String> {
        let mut out = Vec::new();
        walk(self.dir.path(), Path::new(""), &mut |rel, path| {
            if rel.starts_with("run") || rel == Path::new("opt/citadel/logs/citadel-check.log") {
                return;
            }
            let meta = fs::symlink_metadata(path).unwrap();
            let what = if meta.file_type().is_symlink() {
                format!("-> {}", fs::read_link(path).unwrap().display())
            } else if meta.is_file() {
                String::from_utf8_lossy(&fs::read(path).unwrap()).into_owned()
            } else {
                String::new()
            };
            out.push(format!(
                "{} {}:{} {:o} {what}",
                rel.display(),
                meta.uid(),
                meta.gid(),
                meta.mode()
            ));
        });
        out.sort();
        out
    }
}

fn walk(dir: &Path, rel: &Path, visit: &mut dyn FnMut(&Path, &Path)) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries {
        let entry = entry.unwrap();
        let rel = rel.join(entry.file_name());
        visit(&rel, &entry.path());
        if entry.file_type().unwrap().is_dir() {
            walk(&entry.path(), &rel, visit);
        }
    }
}

/// A scenario table: (scenario, check, the fix status `--fix` must end with) for every check it breaks.
pub type FixTable = [(&'static str, &'static str, citadel_fixers::fix::FixStatus)];

/// The fix status `table` wants for `check` in `scenario`, if the scenario breaks it.
pub fn expected_fix(table: &FixTable, scenario: &str, check: &str) -> Option<citadel_fixers::fix::FixStatus> {
    table
        .iter()
        .find(|(s, c, _)| *s == scenario && *c == check)
        .map(|(_, _, status)| *status)
}

/// Asserts that `table` names exactly the (scenario, check) pairs among `checks` that some fixture breaks, so
/// that a new scenario cannot go untested.
pub fn assert_table_covers_every_breaking_scenario(table: &FixTable, checks: &[&str]) {
    let mut breaking = std::collections::BTreeSet::new();
    for name in scenario_names() {
        let scenario = load_scenario(&name).unwrap_or_else(|e| panic!("{e}"));
        for check in checks {
            if scenario.expect.get(*check).map(String::as_str) != Some("pass") {
                breaking.insert((name.clone(), check.to_string()));
            }
        }
    }
    let named: std::collections::BTreeSet<(String, String)> =
        table.iter().map(|(s, c, _)| (s.to_string(), c.to_string())).collect();
    assert_eq!(named, breaking);
}
