//! Fixer for check `mount_options` (SPEC §3 #3): the options of each storage's fstab entry and of its live mount
//! satisfy the policy, with the semantics the check uses (`citadel_checks::mountopts`).
//!
//! - Boot half: only the options field of the storage's (first) fstab entry is rewritten, in one `WriteFile` of
//!   /etc/fstab: options that contradict a policy option are removed (`barrier=1` against `barrier=0`,
//!   `relatime` against `noatime`), missing ones appended; the other options keep their spelling and order, the
//!   other fields and lines their bytes.
//! - Live half: options the kernel changes on remount (the VFS flags such as `noatime`, `nodiratime`, the atime
//!   mode; ext4's barriers) by `Remount`; to drop `noatime` it asks for `atime,relatime`, since `relatime` alone
//!   leaves `noatime` set. ext4 refuses to change `data=` on remount, so a different `data=` (or any option not
//!   known to change live) takes `UmountMount`: unmount, then mount from the fstab entry just written. That is
//!   only planned when the entry mounts the device mounted there now and states every policy option; a busy
//!   file system makes it `pending` until the next remount or boot.
//!
//! Prerequisites are refused, naming `storage_mounts` (which runs first and usually provides them): the live half
//! needs the policy's file system mounted, the boot half an fstab entry.

use std::path::Path;

use citadel_checks::blockdev::BlockDevice;
use citadel_checks::devices::{resolve_fstab_source, Lookup};
use citadel_checks::fstab::{FstabEntry, FSTAB_PATH};
use citadel_checks::mountinfo::{Mount, MountOption};
use citadel_checks::mountopts::{unmet_fstab, unmet_live};
use citadel_checks::policy::Storage;
use citadel_checks::{FactError, Policy, System, SystemRoot};

use super::support;
use crate::action::{Action, Plan, Refusal, Validation};
use crate::fstab_edit::{FstabText, RawOptions, OPTIONS};

/// VFS per-mount flags: `mount -o remount` changes them on any file system.
const VFS_LIVE: &[&str] = &[
    "ro",
    "rw",
    "noatime",
    "atime",
    "relatime",
    "norelatime",
    "strictatime",
    "nostrictatime",
    "nodiratime",
    "diratime",
    "nosuid",
    "suid",
    "nodev",
    "dev",
    "noexec",
    "exec",
    "sync",
    "async",
    "lazytime",
    "nolazytime",
];

/// ext4's own options that change on remount (LINUX-FACTS: barriers do, `data=` does not).
const EXT4_LIVE: &[&str] = &["barrier", "nobarrier"];

pub fn plan(policy: &Policy, system: &System) -> Plan {
    support::plan_or_refuse(plan_or_error(policy, system))
}

fn plan_or_error(policy: &Policy, system: &System) -> Result<Plan, FactError> {
    let root = system.root();
    let mounts = system.mounts()?;
    let current = support::current_fstab(system)?;
    let mut text = FstabText::new(current.as_deref().unwrap_or_default());
    let fstab = text.parse();
    let mut plan = Plan::new();
    let mut live_actions = Vec::new();
    for (_, storage) in policy.storages() {
        let mp = &storage.mount_point;
        // The boot half: whether the entry states the policy's options after the edit.
        let entry = fstab.entries_at(mp).first().copied();
        let entry_ready = match entry {
            None => {
                plan.refusals.push(no_entry(storage, current.is_some()));
                false
            }
            Some(entry) => match fix_options(&mut text, entry, storage) {
                Ok(()) => true,
                Err(refusal) => {
                    plan.refusals.push(refusal);
                    false
                }
            },
        };
        // The live half.
        let Some(mount) = mounts.visible_at(mp).filter(|m| m.fs_type == storage.fs_type) else {
            plan.refusals.push(not_mounted(storage, mounts.visible_at(mp)));
            continue;
        };
        let unmet: Vec<String> = unmet_live(&storage.fs_type, mount.all_options(), &storage.options)
            .into_iter()
            .map(|u| u.wanted)
            .collect();
        if unmet.is_empty() {
            continue;
        }
        if unmet.iter().all(|o| changes_live(&storage.fs_type, o)) {
            live_actions.push(Action::Remount {
                target: mp.clone(),
                options: remount_options(&unmet),
            });
            continue;
        }
        let cycle_safe = match entry {
            Some(entry) if entry_ready => mounts_what_is_mounted(root, entry, mount)?,
            _ => false,
        };
        if cycle_safe {
            live_actions.push(Action::UmountMount { target: mp.clone() });
        } else {
            plan.refusals.push(no_cycle(storage, &unmet));
        }
    }
    let new = text.to_bytes();
    if let Some(old) = &current {
        if *old != new {
            let (uid, gid, mode) = owner_mode(root);
            plan.push(Action::WriteFile {
                path: FSTAB_PATH.into(),
                content: new,
                uid,
                gid,
                mode,
                validation: Validation::Fstab,
            });
        }
    }
    plan.actions.extend(live_actions);
    Ok(plan)
}

/// Rewrites the options field of `entry` so that it satisfies the policy: contradictions out, missing options in.
fn fix_options(text: &mut FstabText, entry: &FstabEntry, storage: &Storage) -> Result<(), Refusal> {
    let field = text.field(entry.line, OPTIONS).unwrap_or_default();
    let mut options = RawOptions::parse(&field);
    let mut changed = false;
    // Each pass removes at least one option, so this ends; a second pass finds what the first one uncovered
    // (`relatime,strictatime` against `noatime`: the check names one contradiction at a time).
    for _ in 0..=options.options().len() {
        let contradictions: Vec<String> = unmet_fstab(&storage.fs_type, &options.options(), &storage.options)
            .into_iter()
            .filter_map(|u| u.contradicted_by)
            .collect();
        if contradictions.is_empty() {
            break;
        }
        for option in contradictions {
            changed |= options.remove(&option);
        }
    }
    for unmet in unmet_fstab(&storage.fs_type, &options.options(), &storage.options) {
        if unmet.contradicted_by.is_none() {
            options.push(&unmet.wanted);
            changed = true;
        }
    }
    let still: Vec<String> = unmet_fstab(&storage.fs_type, &options.options(), &storage.options)
        .into_iter()
        .map(|u| format!("{} ({})", u.wanted, u.found))
        .collect();
    if !still.is_empty() {
        return Err(Refusal::new(
            format!("{FSTAB_PATH}:{}", entry.line),
            format!(
                "the options of line {} cannot be made to satisfy the policy by removing and adding options: still \
                 unmet: {}",
                entry.line,
                still.join(", ")
            ),
            format!(
                "write the options field of line {} by hand (policy: {}), then run --fix again",
                entry.line,
                storage.options.join(",")
            ),
        ));
    }
    if changed {
        text.set_options(entry.line, &options.render());
    }
    Ok(())
}

/// Whether `mount -o remount` changes this option on the running file system.
fn changes_live(fs_type: &str, option: &str) -> bool {
    let name = MountOption::parse(option).name;
    VFS_LIVE.contains(&name.as_str()) || (matches!(fs_type, "ext4" | "ext3") && EXT4_LIVE.contains(&name.as_str()))
}

/// The options to remount with: as the policy writes them, except that relatime (or `atime`, which the check
/// reads as relatime) needs `atime` first, to clear a `noatime` that libmount merges in from the old options.
fn remount_options(unmet: &[String]) -> Vec<String> {
    let mut options: Vec<String> = Vec::new();
    for wanted in unmet {
        let these: Vec<&str> = match wanted.as_str() {
            "relatime" | "atime" => vec!["atime", "relatime"],
            other => vec![other],
        };
        for option in these {
            if !options.iter().any(|o| o == option) {
                options.push(option.to_string());
            }
        }
    }
    options
}

/// Whether mounting the entry would mount the device that is mounted there now.
fn mounts_what_is_mounted(root: &SystemRoot, entry: &FstabEntry, mount: &Mount) -> Result<bool, FactError> {
    if mount.devnum.major == 0 {
        return Ok(false);
    }
    let mounted = BlockDevice::by_devnum(root, mount.devnum)?;
    Ok(match resolve_fstab_source(root, &entry.source)? {
        Lookup::Found(device) => device.sys_path == mounted.sys_path,
        Lookup::Missing(_) => false,
    })
}

fn owner_mode(root: &SystemRoot) -> (u32, u32, u32) {
    use std::os::unix::fs::MetadataExt;
    match root.symlink_metadata(FSTAB_PATH) {
        Ok(meta) if meta.is_file() => (meta.uid(), meta.gid(), meta.mode() & 0o7777),
        _ => (0, 0, 0o644),
    }
}

fn fix_first(mp: &Path) -> String {
    format!(
        "fix storage_mounts first (its fix runs before this one; its report says what it could not do for {}), \
         then run --fix again",
        mp.display()
    )
}

fn no_entry(storage: &Storage, fstab_exists: bool) -> Refusal {
    let mp = &storage.mount_point;
    Refusal::new(
        if fstab_exists {
            FSTAB_PATH.to_string()
        } else {
            mp.display().to_string()
        },
        format!(
            "{} has no entry for {} (checked by storage_mounts): there are no boot options to set",
            if fstab_exists {
                FSTAB_PATH
            } else {
                "no /etc/fstab, so it"
            },
            mp.display()
        ),
        fix_first(mp),
    )
}

fn not_mounted(storage: &Storage, visible: Option<&Mount>) -> Refusal {
    let mp = &storage.mount_point;
    let what = match visible {
        None => "is not mounted".to_string(),
        Some(m) => format!(
            "has {} mounted (mountinfo line {}), not the policy's {}",
            m.fs_type, m.line, storage.fs_type
        ),
    };
    Refusal::new(
        mp.display().to_string(),
        format!(
            "{} {what} (checked by storage_mounts): its live options can be set once it is mounted",
            mp.display()
        ),
        fix_first(mp),
    )
}

fn no_cycle(storage: &Storage, unmet: &[String]) -> Refusal {
    let mp = storage.mount_point.display();
    Refusal::new(
        mp.to_string(),
        format!(
            "{} cannot change on remount, and unmounting {mp} to mount it again from /etc/fstab is only safe once its \
             fstab entry mounts the same device with the policy's options",
            unmet.join(", ")
        ),
        format!(
            "fix storage_mounts and the entry's options first, or put them in /etc/fstab by hand; then `umount {mp}` \
             and `mount {mp}`"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::ActionStatus;
    use crate::testing::{findings, Tree};
    use citadel_checks::Outcome;

    const MODELS_LIVE: &str = "rw,noatime,nodiratime shared:33 - ext4 /dev/nvme1n1 rw,nobarrier,data=writeback";

    fn policy() -> Policy {
        Policy::embedded()
    }

    fn kinds(plan: &Plan) -> Vec<&'static str> {
        plan.actions.iter().map(Action::kind).collect()
    }

    fn written(plan: &Plan) -> String {
        plan.actions
            .iter()
            .find_map(|a| match a {
                Action::WriteFile { content, .. } => Some(String::from_utf8_lossy(content).into_owned()),
                _ => None,
            })
            .expect("a WriteFile")
    }

    #[test]
    fn nothing_to_do_on_the_compliant_tree() {
        assert_eq!(Tree::compliant().plan("mount_options", &policy()), Plan::new());
    }

    #[test]
    fn a_missing_option_is_added_to_the_options_field_only() {
        let tree = Tree::compliant();
        let compliant = tree.read(FSTAB_PATH);
        tree.replace(
            FSTAB_PATH,
            "/mnt/citadel-models ext4 defaults,noatime,nodiratime,barrier=0,data=writeback 0 2",
            "/mnt/citadel-models\text4  nodiratime,x-systemd.device-timeout=10s,barrier=0\t0 2  # models",
        );
        let plan = tree.plan("mount_options", &policy());
        assert_eq!(kinds(&plan), ["write_file"], "{plan:#?}");
        assert!(plan.refusals.is_empty(), "{plan:#?}");
        let expected = compliant.replace(
            "/mnt/citadel-models ext4 defaults,noatime,nodiratime,barrier=0,data=writeback 0 2",
            "/mnt/citadel-models\text4  nodiratime,x-systemd.device-timeout=10s,barrier=0,noatime,data=writeback\t0 2  \
             # models",
        );
        assert_eq!(written(&plan), expected);

        let (report, outcome) = tree.fix("mount_options", &policy());
        assert_eq!(report.status.as_str(), "fixed", "{report:#?}");
        assert_eq!(outcome, Outcome::Pass, "{}", findings(&outcome));
        assert_eq!(tree.backups().len(), 1);
        assert_eq!(tree.plan("mount_options", &policy()), Plan::new());
    }

    #[test]
    fn contradicting_options_are_removed() {
        let tree = Tree::compliant();
        let compliant = tree.read(FSTAB_PATH);
        tree.replace(FSTAB_PATH, "data=writeback 0 2", "data=writeback,barrier=1 0 2");
        assert_eq!(written(&tree.plan("mount_options", &policy())), compliant);

        let tree = Tree::compliant();
        tree.replace(
            FSTAB_PATH,
            "defaults,noatime,nodiratime,barrier=0,data=writeback",
            "relatime,strictatime,diratime,nobarrier,data=ordered,commit=30",
        );
        let new = written(&tree.plan("mount_options", &policy()));
        assert!(
            new.contains(" /mnt/citadel-models ext4 nobarrier,commit=30,noatime,nodiratime,data=writeback 0 2\n"),
            "{new}"
        );
    }

    #[test]
    fn live_options_that_change_on_remount() {
        let tree = Tree::compliant();
        tree.replace(
            "/proc/self/mountinfo",
            MODELS_LIVE,
            "rw,relatime shared:33 - ext4 /dev/nvme1n1 rw,data=writeback",
        );
        let plan = tree.plan("mount_options", &policy());
        assert_eq!(
            plan.actions,
            [Action::Remount {
                target: "/mnt/citadel-models".into(),
                options: vec!["noatime".into(), "nodiratime".into(), "barrier=0".into()],
            }]
        );
        let (report, _) = tree.fix("mount_options", &policy());
        assert_eq!(report.status.as_str(), "pending", "{report:#?}");
        assert_eq!(report.results[0].status, ActionStatus::Pending);
        assert!(report
            .message
            .contains("mount -o remount,noatime,nodiratime,barrier=0 /mnt/citadel-models"));
    }

    #[test]
    fn relatime_wanted_clears_noatime() {
        let tree = Tree::compliant();
        let mut policy = policy();
        policy.storage.models.options = vec!["relatime".into(), "barrier=0".into(), "data=writeback".into()];
        let plan = tree.plan("mount_options", &policy);
        assert_eq!(
            plan.actions.last(),
            Some(&Action::Remount {
                target: "/mnt/citadel-models".into(),
                options: vec!["atime".into(), "relatime".into()],
            })
        );
        assert!(written(&plan).contains(" /mnt/citadel-models ext4 defaults,nodiratime,barrier=0,data=writeback 0 2\n"));
    }

    #[test]
    fn a_data_mode_needs_umount_and_mount_after_the_fstab_write() {
        let tree = Tree::compliant();
        tree.replace(
            "/proc/self/mountinfo",
            MODELS_LIVE,
            "rw,noatime,nodiratime - ext4 /dev/nvme1n1 rw,nobarrier",
        );
        tree.replace(FSTAB_PATH, ",data=writeback 0 2", " 0 2");
        let plan = tree.plan("mount_options", &policy());
        assert_eq!(kinds(&plan), ["write_file", "umount_mount"], "{plan:#?}");
        let (report, outcome) = tree.fix("mount_options", &policy());
        assert_eq!(report.status.as_str(), "pending", "{report:#?}");
        // The boot half is right now; only the live data mode waits.
        let wanted: Vec<&str> = outcome.findings().iter().map(|f| f.subject.as_str()).collect();
        assert_eq!(wanted, ["/mnt/citadel-models"], "{}", findings(&outcome));
        assert_eq!(
            tree.plan("mount_options", &policy()).actions,
            [Action::UmountMount {
                target: "/mnt/citadel-models".into()
            }]
        );
    }

    #[test]
    fn no_umount_when_fstab_would_mount_another_device() {
        let tree = Tree::compliant();
        tree.replace(
            "/proc/self/mountinfo",
            MODELS_LIVE,
            "rw,noatime,nodiratime - ext4 /dev/nvme1n1 rw,nobarrier",
        );
        tree.replace(
            FSTAB_PATH,
            "UUID=3f6c2b1e-8d4a-4c7e-b5f2-1a9e0d7c6b54 /mnt/citadel-models",
            "UUID=a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d /mnt/citadel-models",
        );
        let plan = tree.plan("mount_options", &policy());
        assert!(plan.actions.is_empty(), "{plan:#?}");
        assert!(plan.refusals[0]
            .why
            .starts_with("data=writeback cannot change on remount"));
    }

    #[test]
    fn prerequisites_are_refused_naming_storage_mounts() {
        let tree = Tree::compliant();
        tree.unmount("/mnt/citadel-models");
        tree.replace(FSTAB_PATH, ",data=writeback 0 2", " 0 2");
        let plan = tree.plan("mount_options", &policy());
        assert_eq!(kinds(&plan), ["write_file"], "the boot half is still fixed: {plan:#?}");
        assert_eq!(plan.refusals.len(), 1);
        assert!(plan.refusals[0].why.contains("/mnt/citadel-models is not mounted"));
        assert!(plan.refusals[0].by_hand.starts_with("fix storage_mounts first"));

        let tree = Tree::compliant();
        tree.drop_fstab_line("/mnt/citadel-backup");
        let plan = tree.plan("mount_options", &policy());
        assert!(plan.actions.is_empty(), "{plan:#?}");
        assert_eq!(plan.refusals[0].subject, FSTAB_PATH);
        assert!(plan.refusals[0].why.contains("no entry for /mnt/citadel-backup"));
        assert!(plan.refusals[0].by_hand.starts_with("fix storage_mounts first"));

        let tree = Tree::compliant();
        tree.replace(
            "/proc/self/mountinfo",
            MODELS_LIVE,
            "rw,noatime - xfs /dev/nvme1n1 rw,attr2",
        );
        let plan = tree.plan("mount_options", &policy());
        assert!(
            plan.refusals[0].why.contains("has xfs mounted (mountinfo line 11)"),
            "{plan:#?}"
        );
    }
}
