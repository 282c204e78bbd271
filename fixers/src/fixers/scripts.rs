//! Fixer for check `scripts`: each management script a regular, executable file owned as the policy says, not
//! writable by group or others, and, with `check_content`, the version this citadel-check ships.
//!
//! - Missing, or (with `check_content`) different from the shipped bytes: `WriteFile` of the shipped script with
//!   the policy's owner, group and mode; the apply layer keeps the local version under
//!   `/var/backups/citadel-check/`.
//! - Right content (or content not checked) but wrong owner or mode: `SetOwnerMode` with what the check finds
//!   wrong: the owner, or the policy's mode when the file is not executable or is writable by group or others.
//!   A mode the check accepts (0700) is left alone.
//! - Without `check_content` a different content is the operator's own: never touched.
//! - A symlink in its place: refused. The check refuses links because one can lead to a file someone else may
//!   change; that someone set one up is worth a look before it goes, and removing it by hand is one command.
//! - A directory or anything else: refused, named, left as it is. The scripts directory missing: refused, naming
//!   `directory_structure`, which makes it.

use std::os::unix::fs::MetadataExt;
use std::path::Path;

use citadel_checks::shipped::shipped_script;
use citadel_checks::{Policy, System};

use super::support;
use crate::action::{Action, Plan, Validation};
use crate::obstacle::Existing;

pub fn plan(policy: &Policy, system: &System) -> Plan {
    let mut plan = Plan::new();
    let want = &policy.scripts;
    let Some((uid, gid)) = support::owner_ids(system, &want.owner, &want.group, "scripts", &mut plan) else {
        return plan;
    };
    match system.root().metadata(&want.dir) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => {
            let why = format!("{} is not a directory", want.dir.display());
            support::waits_for(&mut plan, &want.dir, why, "directory_structure");
            return plan;
        }
        Err(e) if e.is_not_found() => {
            let why = format!("{} does not exist", want.dir.display());
            support::waits_for(&mut plan, &want.dir, why, "directory_structure");
            return plan;
        }
        Err(e) => {
            support::cannot_inspect(&mut plan, &want.dir, &e);
            return plan;
        }
    }
    let wanted = Wanted {
        uid,
        gid,
        mode: want.mode.0,
        check_content: want.check_content,
    };
    for name in &want.names {
        script(&mut plan, system, &policy.script_path(name), name, &wanted);
    }
    plan
}

struct Wanted {
    uid: u32,
    gid: u32,
    mode: u32,
    check_content: bool,
}

fn script(plan: &mut Plan, system: &System, path: &Path, name: &str, want: &Wanted) {
    let shipped = shipped_script(name);
    if want.check_content && shipped.is_none() {
        plan.refuse(
            path.display().to_string(),
            format!("citadel-check ships no {name}, so its content can be neither checked nor installed"),
            format!("set [scripts].check_content = false or remove {name} from [scripts].names, then run --fix again"),
        );
        return;
    }
    let install = |content: &[u8]| Action::WriteFile {
        path: path.to_path_buf(),
        content: content.to_vec(),
        uid: want.uid,
        gid: want.gid,
        mode: want.mode,
        validation: Validation::None,
    };
    let p = path.display();
    match support::existing(system, path) {
        Ok(Existing::Missing) => match shipped {
            Some(content) => plan.push(install(content)),
            None => plan.refuse(
                p.to_string(),
                format!("{p} is missing, and citadel-check ships no {name} to install"),
                format!("install your {name} there by hand, then run --fix again"),
            ),
        },
        Ok(Existing::Symlink(target)) => plan.refuse(
            p.to_string(),
            format!(
                "{p} is a symlink to {}: a script root runs must be a regular file, since a link can lead to a file \
                 someone else may change",
                target.display()
            ),
            format!(
                "look at {}, remove the link (rm {p}; what it points to stays), then run --fix again to install \
                 the shipped {name}",
                target.display()
            ),
        ),
        Ok(Existing::File) => {
            let current = match system.root().read(path) {
                Ok(current) => current,
                Err(e) => return support::cannot_inspect(plan, path, &e),
            };
            match shipped {
                Some(content) if want.check_content && current != content => plan.push(install(content)),
                _ => owner_and_mode(plan, system, path, want),
            }
        }
        Ok(other) => support::in_the_way(plan, path, &other, "a regular file"),
        Err(e) => support::cannot_inspect(plan, path, &e),
    }
}

/// `SetOwnerMode` with what the check finds wrong about an existing script.
fn owner_and_mode(plan: &mut Plan, system: &System, path: &Path, want: &Wanted) {
    let meta = match system.root().lstat(path) {
        Ok(meta) => meta,
        Err(e) => return support::cannot_inspect(plan, path, &e),
    };
    let mode = meta.mode() & 0o7777;
    let owner_wrong = (meta.uid(), meta.gid()) != (want.uid, want.gid);
    let mode_wrong = mode & 0o111 == 0 || mode & 0o022 != 0;
    if owner_wrong || mode_wrong {
        plan.push(Action::SetOwnerMode {
            path: path.to_path_buf(),
            uid: owner_wrong.then_some(want.uid),
            gid: owner_wrong.then_some(want.gid),
            mode: mode_wrong.then_some(want.mode),
        });
    }
}
