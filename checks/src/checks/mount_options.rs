//! Check `mount_options` (SPEC §3 #3): the live options of each storage mount satisfy the policy, with the
//! file system's defaults understood, AND the options of its /etc/fstab entry do too (extra options are fine
//! unless they contradict). The semantics live in `mountopts`; this only compares and words the findings.
//!
//! Prerequisites (checked by `storage_mounts`) are findings here when missing: the live half needs the
//! policy's file system to be the one mounted (visible) at the mount point, the boot half an fstab entry.

use std::path::Path;

use crate::error::FactError;
use crate::fstab::{Fstab, FSTAB_PATH};
use crate::mountinfo::MountTable;
use crate::mountopts::{unmet_fstab, unmet_live, Unmet};
use crate::outcome::{Finding, Outcome};
use crate::policy::{Policy, Storage};
use crate::view::System;

pub fn run(policy: &Policy, system: &System) -> Outcome {
    match findings(policy, system) {
        Ok(findings) => Outcome::from_findings(findings),
        Err(err) => err.into(),
    }
}

fn findings(policy: &Policy, system: &System) -> Result<Vec<Finding>, FactError> {
    let mounts = system.mounts()?;
    let fstab = match system.fstab() {
        Ok(fstab) => Some(fstab),
        Err(e) if e.is_not_found() => None,
        Err(e) => return Err(e),
    };
    let mut findings = Vec::new();
    for (_, storage) in policy.storages() {
        live_findings(mounts, storage, &mut findings);
        fstab_findings(fstab, storage, &mut findings);
    }
    Ok(findings)
}

fn live_findings(mounts: &MountTable, storage: &Storage, findings: &mut Vec<Finding>) {
    let mp = storage.mount_point.display().to_string();
    let prerequisite = format!(
        "the {} file system mounted at {mp} (check storage_mounts)",
        storage.fs_type
    );
    let fix_first = "its live options can be checked once it is mounted: fix storage_mounts first";
    let Some(mount) = mounts.visible_at(&storage.mount_point) else {
        findings.push(Finding::new(&mp, prerequisite, "not mounted", fix_first));
        return;
    };
    if mount.fs_type != storage.fs_type {
        findings.push(Finding::new(
            &mp,
            prerequisite,
            format!("{} is mounted there (mountinfo line {})", mount.fs_type, mount.line),
            fix_first,
        ));
        return;
    }
    for unmet in unmet_live(&storage.fs_type, mount.all_options(), &storage.options) {
        findings.push(Finding::new(
            &mp,
            unmet.wanted.clone(),
            format!("{} (live options: {})", unmet.found, mount.options_string()),
            remount_advice(&unmet, &storage.mount_point),
        ));
    }
}

fn remount_advice(unmet: &Unmet, mp: &Path) -> String {
    if unmet.wanted.starts_with("data=") {
        // LINUX-FACTS: "Cannot change data mode on remount".
        format!(
            "ext4 cannot change data= on remount: put {} in /etc/fstab, then `umount {mp}` and `mount {mp}`",
            unmet.wanted,
            mp = mp.display()
        )
    } else {
        format!(
            "`mount -o remount,{} {}`, and keep it in /etc/fstab so that it survives a reboot",
            unmet.wanted,
            mp.display()
        )
    }
}

fn fstab_findings(fstab: Option<&Fstab>, storage: &Storage, findings: &mut Vec<Finding>) {
    let mp = storage.mount_point.display().to_string();
    let prerequisite = format!("an /etc/fstab entry for {mp} (check storage_mounts)");
    let fix_first = "its boot options can be checked once /etc/fstab has its entry: fix storage_mounts first";
    let Some(fstab) = fstab else {
        findings.push(Finding::new(FSTAB_PATH, prerequisite, "no /etc/fstab", fix_first));
        return;
    };
    let Some(entry) = fstab.entries_at(&storage.mount_point).first().copied() else {
        findings.push(Finding::new(FSTAB_PATH, prerequisite, "no entry", fix_first));
        return;
    };
    for unmet in unmet_fstab(&storage.fs_type, &entry.options, &storage.options) {
        let message = match &unmet.contradicted_by {
            Some(option) => format!(
                "remove {option} from the options of line {} (the policy wants {})",
                entry.line, unmet.wanted
            ),
            None => format!(
                "add {} to the options of line {}, then remount {mp}",
                unmet.wanted, entry.line
            ),
        };
        findings.push(Finding::new(
            format!("{FSTAB_PATH}:{}", entry.line),
            unmet.wanted.clone(),
            format!("{} (fstab options: {})", unmet.found, entry.options_string()),
            message,
        ));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::Status;
    use crate::root::SystemRoot;
    use crate::testing::{citadel_host, FakeRoot};

    fn outcome(fake: &FakeRoot) -> Outcome {
        run(&Policy::embedded(), &System::new(fake.root().clone()))
    }

    fn joined(outcome: &Outcome) -> String {
        outcome
            .findings()
            .iter()
            .map(|f| format!("{} | {} | {} | {}", f.subject, f.expected, f.actual, f.message))
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn the_compliant_fixture_passes() {
        let root = SystemRoot::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/compliant/root"));
        let outcome = run(&Policy::embedded(), &System::new(root));
        assert_eq!(outcome, Outcome::Pass, "{}", joined(&outcome));
    }

    #[test]
    fn hidden_ext4_defaults_pass() {
        let fake = citadel_host();
        // Mounted by hand with -o noatime only: barriers on and data=ordered are in effect but not shown.
        fake.mountinfo_replace(
            "rw,noatime shared:35 - ext4 /dev/sda rw,data=ordered",
            "rw,noatime shared:35 - ext4 /dev/sda rw",
        );
        fake.fstab_edit(|l| l.replace("nodiratime,barrier=0", "nobarrier"));
        assert_eq!(outcome(&fake), Outcome::Pass, "{}", joined(&outcome(&fake)));
    }

    #[test]
    fn relatime_live() {
        let fake = citadel_host();
        fake.mountinfo_replace("rw,noatime,nodiratime shared:33", "rw,relatime shared:33");
        let out = outcome(&fake);
        let wanted: Vec<&str> = out.findings().iter().map(|f| f.expected.as_str()).collect();
        assert_eq!(wanted, ["noatime", "nodiratime"], "{}", joined(&out));
        assert!(out.findings()[0]
            .actual
            .starts_with("relatime (live options: rw,relatime,rw,nobarrier"));
        assert!(out.findings()[0]
            .message
            .contains("mount -o remount,noatime /mnt/citadel-models"));
    }

    #[test]
    fn fstab_missing_and_contradicting_options() {
        let fake = citadel_host();
        fake.fstab_edit(|l| l.replace(",data=writeback", ""));
        let out = outcome(&fake);
        assert_eq!(out.findings().len(), 1, "{}", joined(&out));
        assert_eq!(out.findings()[0].expected, "data=writeback");
        assert_eq!(out.findings()[0].subject, "/etc/fstab:4");

        let fake = citadel_host();
        fake.fstab_edit(|l| l.replace("data=writeback", "data=writeback,barrier=1"));
        let out = outcome(&fake);
        assert_eq!(out.findings().len(), 1, "{}", joined(&out));
        assert!(out.findings()[0].message.starts_with("remove barrier=1"));
    }

    #[test]
    fn data_mode_advice_says_remount_is_not_enough() {
        let fake = citadel_host();
        fake.mountinfo_replace("rw,nobarrier,data=writeback", "rw,nobarrier");
        let out = outcome(&fake);
        assert_eq!(out.findings().len(), 1, "{}", joined(&out));
        assert!(out.findings()[0].message.contains("cannot change data= on remount"));
    }

    #[test]
    fn prerequisites_are_named() {
        let fake = citadel_host();
        fake.mountinfo_without("/mnt/citadel-models");
        fake.fstab_edit(|l| {
            if l.contains("/mnt/citadel-models") {
                String::new()
            } else {
                l.into()
            }
        });
        let out = outcome(&fake);
        assert_eq!(out.status(), Status::Fail);
        assert_eq!(out.findings().len(), 2, "{}", joined(&out));
        assert!(out
            .findings()
            .iter()
            .all(|f| f.expected.contains("check storage_mounts")));

        let fake = citadel_host();
        fake.mountinfo_append("80 63 0:45 / /mnt/citadel-models rw,relatime - tmpfs tmpfs rw");
        let out = outcome(&fake);
        assert_eq!(out.findings().len(), 1, "{}", joined(&out));
        assert!(out.findings()[0].actual.starts_with("tmpfs is mounted there"));
    }
}
