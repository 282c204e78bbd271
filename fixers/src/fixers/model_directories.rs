//! Fixer for check `model_directories`: each model of the policy has `<models>/active/<name>`, a real directory
//! with at least `models.min_mode`.
//!
//! - Missing: `CreateDir` owned as `[directories]` says, with the directory mode plus any bit of `min_mode` it
//!   lacks (0755 by default). The directory is where the operator puts the model; `verify-models.sh` reports it
//!   empty until then.
//! - Lacking permission bits: `SetOwnerMode` adding exactly those, keeping every other bit.
//! - A symlink: the model lives where it leads; moving it is the operator's call, so refused with the move to
//!   make. A link that dangles or leads to an empty directory holds no model: replaced by the directory.
//! - A file or anything else: refused, left as it is. On another file system: refused.
//! - The models disk not mounted: nothing (rule 2), one refusal naming `storage_mounts`. `<models>/active` not a
//!   directory: refused, naming `directory_structure`, which makes it.

use std::path::Path;

use citadel_checks::placement::StorageMount;
use citadel_checks::{Policy, System};

use super::support;
use crate::action::{Action, Plan};
use crate::obstacle::Existing;

pub fn plan(policy: &Policy, system: &System) -> Plan {
    let mut plan = Plan::new();
    let storage = &policy.storage.models;
    let mount = match support::mounted_storage(system, storage, "the model directories") {
        Ok(mount) => mount,
        Err(refusal) => {
            plan.refusals.push(refusal);
            return plan;
        }
    };
    let want = &policy.directories;
    let Some((uid, gid)) = support::owner_ids(system, &want.owner, &want.group, "directories", &mut plan) else {
        return plan;
    };
    let active = policy.active_models_dir();
    match system.root().lstat(&active) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => {
            support::waits_for(
                &mut plan,
                &active,
                format!("{} is not a real directory", active.display()),
                "directory_structure",
            );
            return plan;
        }
        Err(e) if e.is_not_found() => {
            support::waits_for(
                &mut plan,
                &active,
                format!("{} does not exist", active.display()),
                "directory_structure",
            );
            return plan;
        }
        Err(e) => {
            support::cannot_inspect(&mut plan, &active, &e);
            return plan;
        }
    }
    let min_mode = policy.models.min_mode.0;
    let new_mode = want.mode.0 | min_mode;
    for name in &policy.models.names {
        let path = policy.model_dir(name);
        let create = Action::CreateDir {
            path: path.clone(),
            uid,
            gid,
            mode: new_mode,
        };
        match support::existing(system, &path) {
            Ok(Existing::Missing) => plan.push(create),
            Ok(Existing::Symlink(_)) => match support::reaches_data(system, &path) {
                Ok(false) => plan.push(create),
                Ok(true) => refuse_linked_model(&mut plan, system, &path),
                Err(e) => support::cannot_inspect(&mut plan, &path, &e),
            },
            Ok(Existing::EmptyDir | Existing::NonEmptyDir) => {
                add_missing_bits(&mut plan, system, &path, min_mode, (storage, &mount))
            }
            Ok(other) => support::in_the_way(&mut plan, &path, &other, "a model directory"),
            Err(e) => support::cannot_inspect(&mut plan, &path, &e),
        }
    }
    plan
}

fn add_missing_bits(
    plan: &mut Plan,
    system: &System,
    path: &Path,
    min_mode: u32,
    (storage, mount): (&citadel_checks::policy::Storage, &StorageMount),
) {
    let meta = match system.root().lstat(path) {
        Ok(meta) => meta,
        Err(e) => return support::cannot_inspect(plan, path, &e),
    };
    let subject = path.display().to_string();
    if let Some(finding) = mount.placement_finding(storage, &subject, &meta) {
        plan.refuse(
            subject,
            format!("{} is {}, not {}", path.display(), finding.actual, finding.expected),
            finding.message,
        );
        return;
    }
    let mode = citadel_checks::filekind::mode(&meta);
    if mode & min_mode != min_mode {
        plan.push(Action::SetOwnerMode {
            path: path.to_path_buf(),
            uid: None,
            gid: None,
            mode: Some(mode | min_mode),
        });
    }
}

fn refuse_linked_model(plan: &mut Plan, system: &System, path: &Path) {
    let root = system.root();
    let target = root.read_link(path).unwrap_or_default();
    let model = root.resolve(path).unwrap_or_else(|_| target.clone());
    let p = path.display();
    plan.refuse(
        p.to_string(),
        format!(
            "{p} is a symlink to {}: the model lives there, possibly off the models disk, and replacing the link \
             would make it vanish from {p}",
            target.display()
        ),
        format!(
            "move the model itself into place: rm {p} && mv {} {p}; then run --fix again",
            model.display()
        ),
    );
}
