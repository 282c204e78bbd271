//! Enabling a systemd unit the way `systemctl enable --now` does, for the fixers whose check wants a unit
//! enabled (`trim_timer`'s timer, `backup_cron`'s cron daemon). The unit's state is the check's own reading
//! (`systemd::UnitStatus`), so that fixer and check never disagree on what "enabled" means.
//!
//! - Enabled (a link in any `*.wants/` or `*.requires/` directory): nothing to do.
//! - Disabled: one `EnableUnit` per `[Install] WantedBy=` target (the given default when it names none), linked
//!   to the unit file systemd loads; the last one also starts it (`now`). The apply layer starts it only on `/`
//!   with systemd running; elsewhere the start waits for the boot.
//! - Masked: refused. Someone masked it on purpose; unmasking is a decision for a person.
//! - Not installed: linked to where the package installation planned before it puts the unit file, or refused
//!   when there is none.
//! - Where the link goes, a link to /dev/null (the dependency masked on purpose) or data (rule 1) is refused.

use std::path::{Path, PathBuf};

use citadel_checks::systemd::{UnitState, UnitStatus};
use citadel_checks::System;

use super::support;
use crate::action::{unit_link_path, Action, PackageManager, Plan};
use crate::obstacle::Existing;

/// Where a distribution's packages put their unit files: Debian's `systemctl enable` links to `/lib`, RHEL's to
/// `/usr/lib` (with a merged /usr, both are the same directory).
pub fn vendor_unit_file(manager: PackageManager, unit: &str) -> PathBuf {
    let dir = match manager {
        PackageManager::Apt => "/lib/systemd/system",
        PackageManager::Dnf => "/usr/lib/systemd/system",
    };
    Path::new(dir).join(unit)
}

/// Plans what makes `unit` enabled and started. `default_target` stands in for a missing `WantedBy=`;
/// `shipped` is where an installation planned before puts the unit file, when the unit is not installed.
pub fn enable(plan: &mut Plan, system: &System, unit: &UnitStatus, default_target: &str, shipped: Option<&Path>) {
    let name = &unit.name;
    let (unit_file, targets) = match unit.state() {
        UnitState::Enabled => return,
        UnitState::Masked => {
            let by = unit
                .masked_by
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_else(|| name.clone());
            plan.refuse(
                by.clone(),
                format!(
                    "{name} is masked ({by} is a link to /dev/null or an empty file): someone masked it on purpose, \
                     so citadel-check does not unmask it"
                ),
                format!(
                    "find out why it was masked; if it should run, unmask it: `systemctl unmask {name}` (offline: \
                     rm {by}), then run --fix again"
                ),
            );
            return;
        }
        UnitState::Disabled => match &unit.fragment {
            Some(fragment) => (fragment.clone(), unit.install_wanted_by.clone()),
            None => return,
        },
        UnitState::NotFound => match shipped {
            Some(file) => (file.to_path_buf(), Vec::new()),
            None => {
                plan.refuse(
                    name.clone(),
                    format!("{name} is not installed: no unit directory has it"),
                    format!("install the package that ships {name}, then run --fix again"),
                );
                return;
            }
        },
    };
    let targets = if targets.is_empty() {
        vec![default_target.to_string()]
    } else {
        targets
    };
    let mut links = Vec::new();
    for target in targets {
        if link_is_free(plan, system, name, &target) {
            links.push(target);
        }
    }
    let last = links.len();
    for (i, wanted_by) in links.into_iter().enumerate() {
        plan.push(Action::EnableUnit {
            unit: name.clone(),
            wanted_by,
            unit_file: unit_file.clone(),
            now: i + 1 == last,
        });
    }
}

/// Whether the link `systemctl enable` makes for `unit` in `target.wants` may be put there; a refusal if not.
fn link_is_free(plan: &mut Plan, system: &System, unit: &str, target: &str) -> bool {
    let link = unit_link_path(unit, target);
    match support::existing(system, &link) {
        Ok(Existing::Symlink(to)) if to == Path::new("/dev/null") => {
            plan.refuse(
                link.display().to_string(),
                format!(
                    "{} links to /dev/null: someone kept {target} from pulling in {unit} on purpose",
                    link.display()
                ),
                format!(
                    "find out why; if {unit} should run, remove the link (rm {}), then run --fix again",
                    link.display()
                ),
            );
            false
        }
        Ok(Existing::Missing | Existing::Symlink(_) | Existing::EmptyDir) => true,
        Ok(other) => {
            support::in_the_way(plan, &link, &other, "a symlink");
            false
        }
        // A missing wants directory is made when the link is.
        Err(e) if e.is_not_found() => true,
        Err(e) => {
            support::cannot_inspect(plan, &link, &e);
            false
        }
    }
}
