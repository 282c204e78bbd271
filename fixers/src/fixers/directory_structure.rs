//! Fixer for check `directory_structure`: every directory of the layout a real directory with the policy's
//! owner, group and mode.
//!
//! - Missing: `CreateDir` with the policy's owner and mode, parents first (the policy lists them so); a missing
//!   ancestor outside the layout (`/opt`) is made root:root 0755, as `mkdir -p` run by root would.
//! - Wrong owner or mode: `SetOwnerMode` with exactly what differs.
//! - A symlink in its place: rule 1 lets a link be replaced, but a link through which data is reachable is
//!   refused all the same: the data would not be lost, yet it would vanish from where it is used, which an
//!   operator should decide. A link that dangles or leads to an empty directory is replaced by the directory.
//! - A file or anything else in its place: refused, named, left as it is.
//! - Under a storage that is not mounted: nothing (rule 2), one refusal naming the prerequisite `storage_mounts`;
//!   the check does not judge those directories either. On a separate file system: refused (unmount by hand).

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use citadel_checks::placement::StorageMount;
use citadel_checks::policy::Storage;
use citadel_checks::{Policy, System};

use super::support;
use crate::action::{Action, Plan};
use crate::obstacle::Existing;

/// Owner and mode of an ancestor outside the layout: what `mkdir -p` makes as root under umask 022.
const ANCESTOR: (u32, u32, u32) = (0, 0, 0o755);

pub fn plan(policy: &Policy, system: &System) -> Plan {
    let mut plan = Plan::new();
    let want = &policy.directories;
    let Some((uid, gid)) = support::owner_ids(system, &want.owner, &want.group, "directories", &mut plan) else {
        return plan;
    };
    let mut planner = Planner {
        system,
        plan,
        owner: (uid, gid),
        mode: want.mode.0,
        storages: Vec::new(),
        created: Vec::new(),
        blocked: Vec::new(),
    };
    for dir in policy.required_dirs() {
        let mount = match dir.storage {
            Some(storage) => match planner.storage(storage) {
                Some(mount) => Some((storage, mount)),
                None => continue,
            },
            None => None,
        };
        planner.directory(&dir.path, mount.as_ref().map(|(s, m)| (*s, m)));
    }
    planner.plan
}

struct Planner<'a> {
    system: &'a System,
    plan: Plan,
    owner: (u32, u32),
    mode: u32,
    /// Each storage met so far: its mount state, or `None` when it is not mounted (refused once).
    storages: Vec<(PathBuf, Option<StorageMount>)>,
    /// Directories this plan creates: they count as there for the ones below them.
    created: Vec<PathBuf>,
    /// Paths refused: nothing below them is planned (their refusal says it all).
    blocked: Vec<PathBuf>,
}

impl Planner<'_> {
    /// The mount state of `storage` if directories under it may be fixed.
    fn storage(&mut self, storage: &Storage) -> Option<StorageMount> {
        if let Some((_, state)) = self.storages.iter().find(|(mp, _)| *mp == storage.mount_point) {
            return state.clone();
        }
        let what = format!("its directories ({})", storage.subdirectories.join(", "));
        let state = match support::mounted_storage(self.system, storage, &what) {
            Ok(mount) => Some(mount),
            Err(refusal) => {
                self.plan.refusals.push(refusal);
                None
            }
        };
        self.storages.push((storage.mount_point.clone(), state.clone()));
        state
    }

    fn directory(&mut self, path: &Path, mount: Option<(&Storage, &StorageMount)>) {
        if self.blocked.iter().any(|b| path.starts_with(b)) {
            return;
        }
        let root = self.system.root();
        let meta = match root.lstat(path) {
            Ok(meta) => meta,
            Err(e) if e.is_not_found() => {
                if self.ancestors(path) {
                    self.create(path, (self.owner.0, self.owner.1, self.mode));
                }
                return;
            }
            Err(e) => return self.refuse_inspect(path, &e),
        };
        if meta.file_type().is_symlink() {
            return match support::reaches_data(self.system, path) {
                Ok(false) => self.create(path, (self.owner.0, self.owner.1, self.mode)),
                Ok(true) => self.refuse_link_to_data(path),
                Err(e) => self.refuse_inspect(path, &e),
            };
        }
        if !meta.is_dir() {
            let existing = if meta.is_file() {
                Existing::File
            } else {
                Existing::Special
            };
            support::in_the_way(&mut self.plan, path, &existing, "a directory");
            self.blocked.push(path.to_path_buf());
            return;
        }
        let subject = path.display().to_string();
        if let Some(finding) = mount.and_then(|(storage, mount)| mount.placement_finding(storage, &subject, &meta)) {
            self.plan.refuse(
                subject,
                format!("{} is {}, not {}", path.display(), finding.actual, finding.expected),
                finding.message,
            );
            return;
        }
        let owner_wrong = (meta.uid(), meta.gid()) != self.owner;
        let mode_wrong = meta.mode() & 0o7777 != self.mode;
        if owner_wrong || mode_wrong {
            self.plan.push(Action::SetOwnerMode {
                path: path.to_path_buf(),
                uid: owner_wrong.then_some(self.owner.0),
                gid: owner_wrong.then_some(self.owner.1),
                mode: mode_wrong.then_some(self.mode),
            });
        }
    }

    /// Plans the missing ancestors of `path` that are not directories of the layout (those come first in the
    /// policy's order). False when one is in the way or cannot be inspected (refused).
    fn ancestors(&mut self, path: &Path) -> bool {
        let root = self.system.root();
        let mut above: Vec<&Path> = path.ancestors().skip(1).filter(|a| a.parent().is_some()).collect();
        above.reverse();
        for ancestor in above {
            if self.created.iter().any(|c| c == ancestor) {
                continue;
            }
            match root.lstat(ancestor) {
                Err(e) if e.is_not_found() => self.create(ancestor, ANCESTOR),
                Err(e) => {
                    self.refuse_inspect(ancestor, &e);
                    return false;
                }
                // A link to a directory is followed (chroot-style) when the path is created.
                Ok(_) if root.metadata(ancestor).is_ok_and(|m| m.is_dir()) => {}
                Ok(meta) => {
                    let existing = if meta.file_type().is_symlink() {
                        Existing::Symlink(root.read_link(ancestor).unwrap_or_default())
                    } else if meta.is_file() {
                        Existing::File
                    } else {
                        Existing::Special
                    };
                    support::in_the_way(&mut self.plan, ancestor, &existing, "a directory");
                    self.blocked.push(ancestor.to_path_buf());
                    return false;
                }
            }
        }
        true
    }

    fn create(&mut self, path: &Path, (uid, gid, mode): (u32, u32, u32)) {
        self.created.push(path.to_path_buf());
        self.plan.push(Action::CreateDir {
            path: path.to_path_buf(),
            uid,
            gid,
            mode,
        });
    }

    fn refuse_link_to_data(&mut self, path: &Path) {
        let root = self.system.root();
        let target = root.read_link(path).unwrap_or_default();
        let leads_to = root.resolve(path).unwrap_or_else(|_| target.clone());
        let p = path.display();
        self.plan.refuse(
            p.to_string(),
            format!(
                "{p} is a symlink to {}, through which data is reachable: replacing the link with a directory \
                 would make that data vanish from {p}",
                target.display()
            ),
            format!(
                "to keep the data at {p}, move it there: rm {p} && mv {0} {p}; or, if it belongs elsewhere: \
                 rm {p}; then run --fix again",
                leads_to.display()
            ),
        );
        self.blocked.push(path.to_path_buf());
    }

    fn refuse_inspect(&mut self, path: &Path, err: &citadel_checks::FactError) {
        support::cannot_inspect(&mut self.plan, path, err);
        self.blocked.push(path.to_path_buf());
    }
}
