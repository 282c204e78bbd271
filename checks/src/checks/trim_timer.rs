//! Check `trim_timer` (SPEC §3 row 9): the trim timer is installed, not masked, and pulled in by a target.
//!
//! Offline, "enabled" means a symlink named after the timer in some `*.wants/` or `*.requires/` directory of
//! the unit search path (/etc, /run or the vendor directories; relative or absolute target).

use crate::outcome::{CheckResult, Finding, Outcome};
use crate::policy::Policy;
use crate::systemd::{UnitState, UnitStatus, UNIT_DIRS};
use crate::view::System;

pub fn run(policy: &Policy, system: &System) -> Outcome {
    check(policy, system).unwrap_or_else(Outcome::from)
}

fn check(policy: &Policy, system: &System) -> CheckResult {
    let unit = system.systemd()?.unit(&policy.trim.timer)?;
    Ok(Outcome::from_findings(unit_findings(&unit).into_iter().collect()))
}

/// What is wrong with the unit, if anything.
fn unit_findings(unit: &UnitStatus) -> Option<Finding> {
    let name = &unit.name;
    match unit.state() {
        UnitState::Enabled => None,
        UnitState::NotFound => Some(Finding::new(
            name.clone(),
            "the unit file installed",
            format!("no {name} in {}", UNIT_DIRS.join(", ")),
            format!(
                "Install the package that ships {name} (util-linux on Debian, Ubuntu and RHEL), then run \
                 `systemctl enable --now {name}`."
            ),
        )),
        UnitState::Masked => {
            let path = unit
                .masked_by
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            Some(Finding::new(
                path.clone(),
                format!("{name} not masked"),
                format!("masked by {path} (a link to /dev/null or an empty file): systemd never starts it"),
                format!(
                    "Unmask and enable it: `systemctl unmask {name} && systemctl enable --now {name}` \
                     (or remove {path} by hand, then create the timers.target.wants link)."
                ),
            ))
        }
        UnitState::Disabled => {
            let targets = if unit.install_wanted_by.is_empty() {
                "timers.target".to_string()
            } else {
                unit.install_wanted_by.join(" ")
            };
            let ignored: Vec<String> = unit
                .links
                .iter()
                .filter(|l| !l.counts())
                .map(|l| match &l.target {
                    None => format!("{} is not a symlink, so systemd ignores it", l.path.display()),
                    Some(t) => format!("{} points to {}, which masks it", l.path.display(), t.display()),
                })
                .collect();
            let mut actual = format!("disabled: no symlink named {name} in any *.wants/ or *.requires/ directory");
            if !ignored.is_empty() {
                actual.push_str(&format!(" ({})", ignored.join("; ")));
            }
            let fragment = unit
                .fragment
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            let first_target = targets.split_whitespace().next().unwrap_or("timers.target");
            Some(Finding::new(
                name.clone(),
                format!("enabled (wanted by {targets})"),
                actual,
                format!(
                    "Enable it: `systemctl enable --now {name}`; offline, create the link by hand: \
                     `ln -s {fragment} /etc/systemd/system/{first_target}.wants/{name}`."
                ),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::root::SystemRoot;
    use std::fs;
    use std::os::unix::fs::{symlink, PermissionsExt};

    fn system() -> (tempfile::TempDir, SystemRoot) {
        let dir = tempfile::tempdir().unwrap();
        let root = SystemRoot::new(dir.path());
        fs::create_dir_all(root.path("/etc/systemd/system/timers.target.wants")).unwrap();
        fs::create_dir_all(root.path("/lib/systemd/system")).unwrap();
        fs::write(
            root.path("/lib/systemd/system/fstrim.timer"),
            "[Timer]\nOnCalendar=weekly\n[Install]\nWantedBy=timers.target\n",
        )
        .unwrap();
        (dir, root)
    }

    fn outcome(root: &SystemRoot) -> Outcome {
        run(&Policy::embedded(), &System::new(root.clone()))
    }

    fn enable(root: &SystemRoot) {
        symlink(
            "/lib/systemd/system/fstrim.timer",
            root.path("/etc/systemd/system/timers.target.wants/fstrim.timer"),
        )
        .unwrap();
    }

    #[test]
    fn passes_when_enabled() {
        let (_d, root) = system();
        enable(&root);
        assert_eq!(outcome(&root), Outcome::Pass);
    }

    #[test]
    fn fails_when_not_enabled_and_says_how_to_enable() {
        let (_d, root) = system();
        let out = outcome(&root);
        let f = &out.findings()[0];
        assert_eq!(f.subject, "fstrim.timer");
        assert!(f.actual.starts_with("disabled"));
        assert!(f.expected.contains("timers.target"));
        assert!(f.message.contains("systemctl enable --now fstrim.timer"));
        assert!(f
            .message
            .contains("ln -s /lib/systemd/system/fstrim.timer /etc/systemd/system/timers.target.wants/fstrim.timer"));
    }

    #[test]
    fn fails_when_masked_even_with_a_wants_link() {
        let (_d, root) = system();
        enable(&root);
        symlink("/dev/null", root.path("/etc/systemd/system/fstrim.timer")).unwrap();
        let out = outcome(&root);
        let f = &out.findings()[0];
        assert_eq!(f.subject, "/etc/systemd/system/fstrim.timer");
        assert!(f.actual.contains("masked"));
        assert!(f.message.contains("systemctl unmask fstrim.timer"));
    }

    #[test]
    fn fails_when_the_unit_is_missing() {
        let (_d, root) = system();
        enable(&root);
        fs::remove_file(root.path("/lib/systemd/system/fstrim.timer")).unwrap();
        let out = outcome(&root);
        assert!(out.findings()[0]
            .actual
            .contains("no fstrim.timer in /etc/systemd/system"));
        assert!(out.findings()[0].message.contains("util-linux"));
    }

    #[test]
    fn a_regular_file_in_wants_is_named() {
        let (_d, root) = system();
        fs::write(root.path("/etc/systemd/system/timers.target.wants/fstrim.timer"), "").unwrap();
        let out = outcome(&root);
        assert!(out.findings()[0].actual.contains("is not a symlink"));
    }

    #[test]
    fn unreadable_unit_directory_is_an_error() {
        let (d, root) = system();
        fs::set_permissions(root.path("/etc/systemd/system"), fs::Permissions::from_mode(0o700)).unwrap();
        crate::unprivileged::open_up(d.path());
        if let Some(out) = crate::unprivileged::as_nobody(|| outcome(&root)) {
            assert!(
                matches!(&out, Outcome::Error(e) if e.contains("permission denied")),
                "{out:?}"
            );
        }
    }
}
