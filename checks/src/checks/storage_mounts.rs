//! Check `storage_mounts` (SPEC §3 #2): each storage mount point is a mount point (the visible, topmost mount
//! there) of the policy's file system type, residing on the policy's device (the device itself, a partition of
//! it, or a device-mapper device built on it); and /etc/fstab has an entry for it that would mount that same
//! device there at boot. Lines of /etc/fstab that mount and systemd skip as parse errors are findings too.

use std::path::Path;

use crate::blockdev::BlockDevice;
use crate::devices::{describe, resides_on, resolve_fstab_source, resolve_policy_device, Lookup};
use crate::error::FactError;
use crate::fstab::{escape_field, Fstab, FstabEntry, FSTAB_PATH};
use crate::mountinfo::{Mount, MountTable};
use crate::outcome::{Finding, Outcome};
use crate::policy::{Policy, Storage};
use crate::root::SystemRoot;
use crate::view::System;

pub fn run(policy: &Policy, system: &System) -> Outcome {
    match findings(policy, system) {
        Ok(findings) => Outcome::from_findings(findings),
        Err(err) => err.into(),
    }
}

fn findings(policy: &Policy, system: &System) -> Result<Vec<Finding>, FactError> {
    let root = system.root();
    let mounts = system.mounts()?;
    let fstab = match system.fstab() {
        Ok(fstab) => Some(fstab),
        Err(e) if e.is_not_found() => None,
        Err(e) => return Err(e),
    };
    let mut findings = Vec::new();
    match fstab {
        None => findings.push(Finding::new(
            FSTAB_PATH,
            "/etc/fstab with an entry for each storage mount",
            "no /etc/fstab",
            "create /etc/fstab with a line for each storage mount, so that they are mounted at boot",
        )),
        Some(fstab) => findings.extend(fstab.problems.iter().map(|p| {
            Finding::new(
                format!("{FSTAB_PATH}:{}", p.line),
                "a valid fstab line or a # comment",
                p.text.clone(),
                format!(
                    "{}: mount and systemd skip this line (\"parse error at line {} -- ignored\"); fix it or comment \
                     it out",
                    p.reason, p.line
                ),
            )
        })),
    }
    for (_, storage) in policy.storages() {
        let policy_device = match resolve_policy_device(root, &storage.device)? {
            Lookup::Found(device) => Some(device),
            Lookup::Missing(why) => {
                findings.push(Finding::new(
                    storage.device.to_string(),
                    format!("the block device holding {}", storage.mount_point.display()),
                    why,
                    "check the device in the policy ([storage] device) against `lsblk -f`",
                ));
                None
            }
        };
        let mounted = check_mount(root, mounts, storage, policy_device.as_ref(), &mut findings)?;
        if let Some(fstab) = fstab {
            check_fstab(
                root,
                fstab,
                storage,
                policy_device.as_ref(),
                mounted.as_ref(),
                &mut findings,
            )?;
        }
    }
    Ok(findings)
}

/// The live half. Returns the mounted block device when it is on the policy's device.
fn check_mount(
    root: &SystemRoot,
    mounts: &MountTable,
    storage: &Storage,
    policy_device: Option<&BlockDevice>,
    findings: &mut Vec<Finding>,
) -> Result<Option<BlockDevice>, FactError> {
    let mp = &storage.mount_point;
    let wanted = format!(
        "{} from {} mounted at {}",
        storage.fs_type,
        storage.device,
        mp.display()
    );
    let Some(mount) = mounts.visible_at(mp) else {
        findings.push(Finding::new(
            mp.display().to_string(),
            wanted,
            not_mounted(root, mp)?,
            format!(
                "mount it (`mount {}` once /etc/fstab has its entry); if that fails, see `dmesg`",
                mp.display()
            ),
        ));
        return Ok(None);
    };
    let hidden = hidden_below(mounts, mount);
    if mount.fs_type != storage.fs_type {
        let mut actual = format!("{} ({})", mount.fs_type, mount_summary(mount));
        let message = match hidden {
            Some(under) => {
                actual.push_str(&format!(
                    ", mounted over the {} from {} (mountinfo line {}), which it hides",
                    under.fs_type,
                    under.source.as_deref().unwrap_or("?"),
                    under.line
                ));
                format!(
                    "unmount what is mounted on top (`umount {}` once) and check again",
                    mp.display()
                )
            }
            None => format!(
                "unmount it and mount the {} file system from {} there",
                storage.fs_type, storage.device
            ),
        };
        findings.push(Finding::new(mp.display().to_string(), wanted.clone(), actual, message));
    }
    if mount.devnum.major == 0 {
        // Not a block device (tmpfs, overlay, nfs): already wrong by type unless the policy wants that type.
        if mount.fs_type == storage.fs_type {
            findings.push(Finding::new(
                mp.display().to_string(),
                wanted,
                format!("{}, which is not a block device", mount_summary(mount)),
                format!("mount the file system on {} there", storage.device),
            ));
        }
        return Ok(None);
    }
    let device = BlockDevice::by_devnum(root, mount.devnum)?;
    let Some(policy_device) = policy_device else {
        return Ok(None);
    };
    if !resides_on(root, &device, policy_device)? {
        findings.push(Finding::new(
            mp.display().to_string(),
            format!(
                "a file system on {}: the disk, a partition of it, or a device-mapper device built on it",
                named(storage, policy_device)
            ),
            format!("mounted from {} ({})", describe(&device), mount_summary(mount)),
            format!(
                "unmount {} and mount the file system on {} there",
                mp.display(),
                storage.device
            ),
        ));
        return Ok(None);
    }
    Ok(Some(device))
}

/// What is at a mount point that is not mounted.
fn not_mounted(root: &SystemRoot, mp: &Path) -> Result<String, FactError> {
    match root.symlink_metadata(mp) {
        Ok(meta) if meta.is_dir() => Ok("not mounted: a plain directory on the file system below".into()),
        Ok(meta) if meta.file_type().is_symlink() => Ok("not mounted: a symbolic link".into()),
        Ok(_) => Ok("not mounted: not even a directory".into()),
        Err(e) if e.is_not_found() => Ok("not mounted: the directory does not exist".into()),
        Err(e) => Err(e),
    }
}

/// The mount an overmount hides: another mount at the same point that `visible` is stacked on.
fn hidden_below<'a>(mounts: &'a MountTable, visible: &Mount) -> Option<&'a Mount> {
    mounts
        .mounts
        .iter()
        .find(|m| m.id == visible.parent_id && m.mount_point == visible.mount_point)
}

fn mount_summary(mount: &Mount) -> String {
    format!(
        "{} {} from {}, mountinfo line {}",
        mount.fs_type,
        mount.devnum,
        mount.source.as_deref().unwrap_or("no source"),
        mount.line
    )
}

/// The boot half: the first fstab entry for the mount point must mount the same device there.
fn check_fstab(
    root: &SystemRoot,
    fstab: &Fstab,
    storage: &Storage,
    policy_device: Option<&BlockDevice>,
    mounted: Option<&BlockDevice>,
    findings: &mut Vec<Finding>,
) -> Result<(), FactError> {
    let mp = &storage.mount_point;
    let entries = fstab.entries_at(mp);
    let Some(entry) = entries.first() else {
        findings.push(Finding::new(
            FSTAB_PATH,
            format!("an entry mounting {} at {}", storage.device, mp.display()),
            no_entry_reason(fstab, mp),
            format!(
                "add `{} {} {} defaults,{} 0 2` (or the file system's UUID=… from `blkid`) to /etc/fstab",
                storage.device,
                escape_field(&mp.to_string_lossy()),
                storage.fs_type,
                storage.options.join(",")
            ),
        ));
        return Ok(());
    };
    let subject = format!("{FSTAB_PATH}:{}", entry.line);
    if entries.len() > 1 {
        let lines: Vec<String> = entries.iter().map(|e| e.line.to_string()).collect();
        findings.push(Finding::new(
            subject.clone(),
            format!("one entry for {}", mp.display()),
            format!("{} entries (lines {})", entries.len(), lines.join(", ")),
            format!(
                "remove all but one: at boot only line {} is used (findmnt --verify: \"target specified more than once\")",
                entry.line
            ),
        ));
    }
    if entry.fs_type != storage.fs_type && entry.fs_type != "auto" {
        findings.push(Finding::new(
            subject.clone(),
            format!("type {}", storage.fs_type),
            format!("type {}", entry.fs_type),
            format!("set the type field of line {} to {}", entry.line, storage.fs_type),
        ));
    }
    if entry.has_option("noauto") {
        findings.push(Finding::new(
            subject.clone(),
            "mounted at boot",
            format!("noauto in {}: not mounted at boot", entry.options_string()),
            format!("remove noauto from line {}", entry.line),
        ));
    }
    check_fstab_source(root, entry, &subject, storage, policy_device, mounted, findings)
}

fn check_fstab_source(
    root: &SystemRoot,
    entry: &FstabEntry,
    subject: &str,
    storage: &Storage,
    policy_device: Option<&BlockDevice>,
    mounted: Option<&BlockDevice>,
    findings: &mut Vec<Finding>,
) -> Result<(), FactError> {
    let source = &entry.source_text;
    let device = match resolve_fstab_source(root, &entry.source)? {
        Lookup::Found(device) => device,
        Lookup::Missing(why) => {
            findings.push(Finding::new(
                subject,
                format!("a source that is {}", storage.device),
                format!("{source} does not resolve: {why}"),
                format!(
                    "at boot this mount would fail; write the UUID=… that `blkid` prints for {} (UUIDs as it prints \
                     them)",
                    storage.device
                ),
            ));
            return Ok(());
        }
    };
    if let Some(policy_device) = policy_device {
        if !resides_on(root, &device, policy_device)? {
            findings.push(Finding::new(
                subject,
                format!("a source on {}", named(storage, policy_device)),
                format!("{source} is {}", describe(&device)),
                format!(
                    "at boot {} would be mounted from the wrong device; point line {} at the file system on {}",
                    storage.mount_point.display(),
                    entry.line,
                    storage.device
                ),
            ));
            return Ok(());
        }
    }
    if let Some(mounted) = mounted {
        if mounted.sys_path != device.sys_path {
            findings.push(Finding::new(
                subject,
                format!("{} (mounted there now)", describe(mounted)),
                format!("{source} is {}", describe(&device)),
                format!(
                    "at boot another file system would be mounted at {}; point line {} at {}",
                    storage.mount_point.display(),
                    entry.line,
                    describe(mounted)
                ),
            ));
        }
    }
    Ok(())
}

/// The policy's device as the policy names it, and what that is when it differs (`LABEL=x (/dev/sda)`).
fn named(storage: &Storage, device: &BlockDevice) -> String {
    let spec = storage.device.to_string();
    let actual = describe(device);
    if spec == actual {
        spec
    } else {
        format!("{spec} ({actual})")
    }
}

fn no_entry_reason(fstab: &Fstab, mp: &Path) -> String {
    if let Some(commented) = fstab.commented_out_at(mp).first() {
        return format!("no entry: line {} is commented out", commented.line);
    }
    let mp_text = mp.to_string_lossy();
    if let Some(problem) = fstab.problems.iter().find(|p| p.text.contains(mp_text.as_ref())) {
        return format!("no entry: line {} does not parse ({})", problem.line, problem.reason);
    }
    "no entry".into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::Status;
    use crate::testing::{citadel_host, MODELS_UUID};

    fn outcome(fake: &crate::testing::FakeRoot) -> Outcome {
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
    fn a_citadel_host_passes() {
        let fake = citadel_host();
        assert_eq!(outcome(&fake), Outcome::Pass, "{}", joined(&outcome(&fake)));
    }

    #[test]
    fn not_mounted() {
        let fake = citadel_host();
        fake.mountinfo_without("/mnt/citadel-models");
        let out = outcome(&fake);
        assert_eq!(out.status(), Status::Fail);
        assert_eq!(out.findings().len(), 1, "{}", joined(&out));
        assert!(
            joined(&out).contains("not mounted: a plain directory"),
            "{}",
            joined(&out)
        );
    }

    #[test]
    fn overmounted_by_tmpfs() {
        let fake = citadel_host();
        fake.mountinfo_append("80 63 0:45 / /mnt/citadel-models rw,relatime shared:50 - tmpfs tmpfs rw,inode64");
        let out = outcome(&fake);
        let text = joined(&out);
        assert_eq!(out.findings().len(), 1, "{text}");
        assert!(text.contains("tmpfs"), "{text}");
        assert!(text.contains("which it hides"), "{text}");
    }

    #[test]
    fn mounted_from_another_disk() {
        let fake = citadel_host();
        fake.nvme_disk(
            "nvme2n1",
            crate::mountinfo::DevNum { major: 259, minor: 9 },
            "[none] mq-deadline",
        );
        fake.mountinfo_replace("259:1 / /mnt/citadel-models", "259:9 / /mnt/citadel-models");
        let text = joined(&outcome(&fake));
        assert!(text.contains("mounted from /dev/nvme2n1"), "{text}");
        assert_eq!(outcome(&fake).findings().len(), 1, "{text}");
    }

    #[test]
    fn fstab_entry_missing_commented_or_for_another_device() {
        let fake = citadel_host();
        fake.fstab_edit(|line| {
            if line.contains("/mnt/citadel-models") {
                format!("#{line}")
            } else {
                line.into()
            }
        });
        let text = joined(&outcome(&fake));
        assert!(text.contains("commented out"), "{text}");

        let fake = citadel_host();
        fake.fstab_edit(|line| {
            line.replace(
                &format!("UUID={MODELS_UUID} /mnt/citadel-models"),
                "/dev/sda /mnt/citadel-models",
            )
        });
        let text = joined(&outcome(&fake));
        assert!(text.contains("/dev/sda is /dev/sda"), "{text}");

        let fake = citadel_host();
        fake.fstab_edit(|line| line.replace(MODELS_UUID, &MODELS_UUID.to_uppercase()));
        let text = joined(&outcome(&fake));
        assert!(text.contains("letter case"), "{text}");
    }

    #[test]
    fn fstab_garbage_is_reported_and_hides_nothing() {
        let fake = citadel_host();
        fake.fstab_edit(|line| {
            if line.starts_with("# Citadel") {
                "bug\n".to_string() + line
            } else {
                line.into()
            }
        });
        let out = outcome(&fake);
        assert_eq!(out.findings().len(), 1, "{}", joined(&out));
        assert!(out.findings()[0].subject.starts_with("/etc/fstab:"));
        assert_eq!(out.findings()[0].actual, "bug");
    }

    #[test]
    fn fstab_noauto_and_duplicates() {
        let fake = citadel_host();
        fake.fstab_edit(|line| line.replace("defaults,noatime,nodiratime", "noauto,noatime,nodiratime"));
        assert!(joined(&outcome(&fake)).contains("not mounted at boot"));
        let fake = citadel_host();
        fake.fstab_edit(|line| {
            if line.contains("/mnt/citadel-backup") {
                format!("{line}\n{line}")
            } else {
                line.into()
            }
        });
        assert!(joined(&outcome(&fake)).contains("2 entries"));
    }

    #[test]
    fn missing_fstab_is_one_finding_and_unreadable_mountinfo_is_an_error() {
        let fake = citadel_host();
        fake.remove("/etc/fstab");
        let out = outcome(&fake);
        assert_eq!(out.findings().len(), 1);
        assert_eq!(out.findings()[0].actual, "no /etc/fstab");
        fake.remove("/proc/self/mountinfo");
        assert_eq!(outcome(&fake).status(), Status::Error);
    }

    #[test]
    fn policy_device_absent() {
        let fake = citadel_host();
        let mut policy = Policy::embedded();
        policy.storage.models.device = "/dev/nvme9n1".parse().unwrap();
        let out = run(&policy, &System::new(fake.root().clone()));
        assert_eq!(out.findings().len(), 1, "{}", joined(&out));
        assert!(joined(&out).contains("/dev/nvme9n1 does not exist"));
    }
}
