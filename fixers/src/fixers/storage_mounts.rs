//! Fixer for check `storage_mounts` (SPEC §3 #2): each storage's file system has an /etc/fstab entry that mounts
//! it at its mount point at boot, and is mounted there now.
//!
//! The plan, per storage:
//! - the file system: on the policy's device itself, or, where the device holds none of its own, the one
//!   partition or device-mapper device built on it that holds a file system of the policy's type; where the
//!   storage is already mounted from the right device, the mounted one;
//! - its fstab entry (one `WriteFile` of /etc/fstab for all storages, `Validation::Fstab`): a missing entry is
//!   appended as `UUID=… <mount point> <type> defaults,<policy options> 0 2`; a wrong one is corrected *in place*,
//!   field by field (the source becomes `UUID=…`, the type the policy's, `noauto` goes), so that its position,
//!   its spacing and its other options stay; a second entry for the same mount point is commented out (at boot
//!   only the first counts). Lines that mount ignores as parse errors are commented out too, their text kept
//!   after a `# citadel-check: …:` prefix: the check fails on them, and a comment changes nothing at boot.
//!   Every other line stays byte-identical;
//! - `CreateDir` of a missing mount point (before the fstab write: findmnt --verify wants the target), then
//!   `Mount` from fstab when nothing is mounted there.
//!
//! It refuses, saying what to do by hand: a policy device that does not exist; a device without a file system,
//! or with another type (citadel-check never formats); something else mounted at the mount point (it never
//! unmounts what it did not mount); the file system already mounted elsewhere.

use std::path::Path;

use citadel_checks::blockdev::BlockDevice;
use citadel_checks::devices::{describe, resides_on, resolve_fstab_source, resolve_policy_device, Lookup};
use citadel_checks::fstab::{escape_field, Fstab, FSTAB_PATH};
use citadel_checks::mountinfo::{Mount, MountTable};
use citadel_checks::policy::Storage;
use citadel_checks::{FactError, Policy, System, SystemRoot};

use super::support;
use crate::action::{Action, Plan, Refusal, Validation};
use crate::filesystem::{self, Filesystem};
use crate::fstab_edit::{FstabText, RawOptions, OPTIONS, SOURCE, TYPE};
use crate::obstacle::{self, Existing};

pub fn plan(policy: &Policy, system: &System) -> Plan {
    support::plan_or_refuse(plan_or_error(policy, system))
}

fn plan_or_error(policy: &Policy, system: &System) -> Result<Plan, FactError> {
    let root = system.root();
    let mounts = system.mounts()?;
    let current = support::current_fstab(system)?;
    let mut text = FstabText::new(current.as_deref().unwrap_or_default());
    let fstab = text.parse();
    for problem in &fstab.problems {
        text.comment_out(
            problem.line,
            &format!("mount ignored this line as a parse error ({})", problem.reason),
        );
    }
    let mut plan = Plan::new();
    let mut mount_actions = Vec::new();
    for (_, storage) in policy.storages() {
        let (fs, live) = match target(root, mounts, &fstab, storage)? {
            Ok(target) => target,
            Err(refusal) => {
                plan.refusals.push(refusal);
                continue;
            }
        };
        // The mount point first: an fstab line whose target cannot exist would fail the mount at every boot.
        let create = match live {
            Live::Absent => match mount_point_dir(root, policy, system, &storage.mount_point)? {
                Ok(create) => create,
                Err(refusal) => {
                    plan.refusals.push(refusal);
                    continue;
                }
            },
            _ => None,
        };
        if let Err(refusal) = fix_entry(root, &mut text, &fstab, storage, &fs)? {
            plan.refusals.push(refusal);
            continue;
        }
        plan.actions.extend(create);
        match live {
            Live::Mounted => {}
            Live::Absent => mount_actions.push(Action::Mount {
                target: storage.mount_point.clone(),
                source: None,
                fs_type: None,
                options: Vec::new(),
            }),
            Live::Other(refusal) => plan.refusals.push(refusal),
        }
    }
    let new = text.to_bytes();
    // No fstab and nothing to put in it (every storage refused): no file with only a header.
    if current.as_deref() != Some(new.as_slice()) && !(current.is_none() && new.is_empty()) {
        let (uid, gid, mode) = owner_mode(root, FSTAB_PATH);
        let content = match current {
            Some(_) => new,
            None => [FSTAB_HEADER.as_bytes(), &new].concat(),
        };
        plan.push(Action::WriteFile {
            path: FSTAB_PATH.into(),
            content,
            uid,
            gid,
            mode,
            validation: Validation::Fstab,
        });
    }
    plan.actions.extend(mount_actions);
    Ok(plan)
}

const FSTAB_HEADER: &str = "# /etc/fstab: static file system information (see fstab(5)); created by citadel-check.\n";

/// What is mounted at a storage's mount point now.
enum Live {
    /// The policy's file system, from the policy's device.
    Mounted,
    Absent,
    /// Something else: the refusal that names it.
    Other(Refusal),
}

/// The file system the storage's fstab entry must name, and what is mounted there now; or why not.
fn target(
    root: &SystemRoot,
    mounts: &MountTable,
    fstab: &Fstab,
    storage: &Storage,
) -> Result<Result<(Filesystem, Live), Refusal>, FactError> {
    let mp = &storage.mount_point;
    let policy_device = match resolve_policy_device(root, &storage.device)? {
        Lookup::Found(device) => device,
        Lookup::Missing(why) => return Ok(Err(device_missing(storage, &why))),
    };
    let live = match mounts.visible_at(mp) {
        None => Live::Absent,
        Some(mount) => {
            if let Some(device) = mounted_policy_fs(root, mount, storage, &policy_device)? {
                let fs = filesystem::probe(root, &device)?.unwrap_or(Filesystem {
                    device,
                    uuid: None,
                    fs_type: filesystem::FsType::Unknown,
                });
                return Ok(Ok((fs, Live::Mounted)));
            }
            Live::Other(other_mounted(mounts, mount, storage, &policy_device))
        }
    };
    let fs = match entry_filesystem(root, fstab, storage, &policy_device)? {
        Some(fs) => fs,
        None => match choose_filesystem(root, storage, &policy_device)? {
            Ok(fs) => fs,
            Err(refusal) => return Ok(Err(refusal)),
        },
    };
    let elsewhere = mounts
        .mounts
        .iter()
        .find(|m| Some(m.devnum) == fs.device.devnum && m.mount_point != *mp);
    if let Some(elsewhere) = elsewhere {
        return Ok(Err(mounted_elsewhere(storage, &fs, elsewhere)));
    }
    Ok(Ok((fs, live)))
}

/// The mounted block device, when the visible mount is the policy's type on the policy's device.
fn mounted_policy_fs(
    root: &SystemRoot,
    mount: &Mount,
    storage: &Storage,
    policy_device: &BlockDevice,
) -> Result<Option<BlockDevice>, FactError> {
    if mount.devnum.major == 0 || mount.fs_type != storage.fs_type {
        return Ok(None);
    }
    let device = BlockDevice::by_devnum(root, mount.devnum)?;
    Ok(resides_on(root, &device, policy_device)?.then_some(device))
}

/// The device the storage's fstab entry already names, when it is on the policy's device and not known to hold
/// another type than the policy's: the entry is trusted over a guess (the device may be known by path only).
fn entry_filesystem(
    root: &SystemRoot,
    fstab: &Fstab,
    storage: &Storage,
    policy_device: &BlockDevice,
) -> Result<Option<Filesystem>, FactError> {
    let Some(entry) = fstab.entries_at(&storage.mount_point).first().copied() else {
        return Ok(None);
    };
    let Lookup::Found(device) = resolve_fstab_source(root, &entry.source)? else {
        return Ok(None);
    };
    if !resides_on(root, &device, policy_device)? {
        return Ok(None);
    }
    let fs = filesystem::probe(root, &device)?.unwrap_or(Filesystem {
        device,
        uuid: None,
        fs_type: filesystem::FsType::Unknown,
    });
    Ok((fs.is(&storage.fs_type) != Some(false)).then_some(fs))
}

/// The one file system of the policy's type on the policy's device, or on one device built on it.
fn choose_filesystem(
    root: &SystemRoot,
    storage: &Storage,
    policy_device: &BlockDevice,
) -> Result<Result<Filesystem, Refusal>, FactError> {
    let found = filesystem::on_device(root, policy_device)?;
    if let Some(own) = found.first().filter(|f| f.device.sys_path == policy_device.sys_path) {
        if own.is(&storage.fs_type) != Some(false) {
            return Ok(Ok(own.clone()));
        }
    }
    let fitting: Vec<&Filesystem> = found
        .iter()
        .filter(|f| f.device.sys_path != policy_device.sys_path && f.is(&storage.fs_type) != Some(false))
        .collect();
    Ok(match fitting.as_slice() {
        [one] => Ok((*one).clone()),
        [] => Err(no_filesystem(storage, policy_device, &found)),
        several => Err(several_filesystems(storage, several)),
    })
}

/// Makes the storage's first fstab entry mount `fs` there at boot, or appends one; comments out later ones.
/// Refused when a source must be written and the file system has no UUID to name it by.
fn fix_entry(
    root: &SystemRoot,
    text: &mut FstabText,
    fstab: &Fstab,
    storage: &Storage,
    fs: &Filesystem,
) -> Result<Result<(), Refusal>, FactError> {
    let mp = &storage.mount_point;
    let entries = fstab.entries_at(mp);
    let Some(entry) = entries.first() else {
        let Some(uuid) = &fs.uuid else {
            return Ok(Err(no_uuid(storage, fs)));
        };
        text.append(&new_line(storage, uuid));
        return Ok(Ok(()));
    };
    let resolves_to_fs = match resolve_fstab_source(root, &entry.source)? {
        Lookup::Found(device) => device.sys_path == fs.device.sys_path,
        Lookup::Missing(_) => false,
    };
    if !resolves_to_fs {
        let Some(uuid) = &fs.uuid else {
            return Ok(Err(no_uuid(storage, fs)));
        };
        text.set_field(entry.line, SOURCE, &format!("UUID={uuid}"));
    }
    if entry.fs_type != storage.fs_type && entry.fs_type != "auto" {
        text.set_field(entry.line, TYPE, &escape_field(&storage.fs_type));
    }
    if entry.has_option("noauto") {
        if let Some(field) = text.field(entry.line, OPTIONS) {
            let mut options = RawOptions::parse(&field);
            options.remove("noauto");
            text.set_options(entry.line, &options.render());
        }
    }
    for duplicate in &entries[1..] {
        text.comment_out(
            duplicate.line,
            &format!(
                "a second entry for {}, which mount ignores (line {} is used)",
                mp.display(),
                entry.line
            ),
        );
    }
    Ok(Ok(()))
}

/// `UUID=… /mnt/citadel-models ext4 defaults,noatime,… 0 2`: pass 2, checked after the root file system.
fn new_line(storage: &Storage, uuid: &str) -> String {
    let options: Vec<&str> = std::iter::once("defaults")
        .chain(storage.options.iter().map(String::as_str).filter(|o| *o != "defaults"))
        .collect();
    format!(
        "UUID={uuid} {} {} {} 0 2",
        escape_field(&storage.mount_point.to_string_lossy()),
        escape_field(&storage.fs_type),
        escape_field(&options.join(","))
    )
}

/// `CreateDir` of a missing mount point (or one that is a symlink, which mount would follow), with the
/// policy's directory owner and mode; `None` when the directory is there.
fn mount_point_dir(
    root: &SystemRoot,
    policy: &Policy,
    system: &System,
    mp: &Path,
) -> Result<Result<Option<Action>, Refusal>, FactError> {
    let existing = match root.symlink_metadata(mp) {
        Ok(meta) if meta.is_dir() => return Ok(Ok(None)),
        Ok(meta) if meta.file_type().is_symlink() => Existing::Symlink(root.read_link(mp)?),
        Ok(meta) if meta.is_file() => Existing::File,
        Ok(_) => Existing::Special,
        Err(e) if e.is_not_found() => Existing::Missing,
        Err(e) => return Err(e),
    };
    if !existing.is_replaceable() {
        return Ok(Err(obstacle::refusal(mp, &existing, "the mount point directory")));
    }
    let accounts = system.accounts()?;
    let owner = &policy.directories;
    let (Some(uid), Some(gid)) = (accounts.uid(&owner.owner), accounts.gid(&owner.group)) else {
        return Ok(Err(Refusal::new(
            mp.display().to_string(),
            format!(
                "the policy's directory owner {}:{} is not in /etc/passwd and /etc/group",
                owner.owner, owner.group
            ),
            format!(
                "create {} by hand, or correct [directories] in the policy",
                mp.display()
            ),
        )));
    };
    Ok(Ok(Some(Action::CreateDir {
        path: mp.to_path_buf(),
        uid,
        gid,
        mode: owner.mode.0,
    })))
}

/// The current owner and mode of a file, to keep them; root's 0644 for a new one.
fn owner_mode(root: &SystemRoot, path: &str) -> (u32, u32, u32) {
    use std::os::unix::fs::MetadataExt;
    match root.symlink_metadata(path) {
        Ok(meta) if meta.is_file() => (meta.uid(), meta.gid(), meta.mode() & 0o7777),
        _ => (0, 0, 0o644),
    }
}

fn device_missing(storage: &Storage, why: &str) -> Refusal {
    Refusal::new(
        storage.device.to_string(),
        format!(
            "the policy's device for {} is not there: {why}",
            storage.mount_point.display()
        ),
        "check the policy's device ([storage] device) against `lsblk -f`, then run --fix again",
    )
}

fn never_formats(storage: &Storage) -> String {
    format!(
        "citadel-check never formats a disk: run mkfs.{} yourself after checking that the disk holds nothing you \
         need (`lsblk -f`, `blkid`), then run --fix again",
        storage.fs_type
    )
}

fn no_filesystem(storage: &Storage, device: &BlockDevice, found: &[Filesystem]) -> Refusal {
    let node = describe(device);
    let why = if found.is_empty() {
        format!("{node} holds no file system (no partition or volume on it holds one either)")
    } else {
        let held: Vec<String> = found
            .iter()
            .map(|f| format!("{} on {}", f.type_name(), describe(&f.device)))
            .collect();
        format!("{node} holds {}, not {}", held.join(", "), storage.fs_type)
    };
    Refusal::new(node, why, never_formats(storage))
}

fn several_filesystems(storage: &Storage, several: &[&Filesystem]) -> Refusal {
    let names: Vec<String> = several
        .iter()
        .map(|f| match &f.uuid {
            Some(uuid) => format!("{} (UUID={uuid})", describe(&f.device)),
            None => describe(&f.device),
        })
        .collect();
    Refusal::new(
        storage.device.to_string(),
        format!(
            "{} file systems of type {} are on {}: {}; which one belongs at {} is not for citadel-check to guess",
            several.len(),
            storage.fs_type,
            storage.device,
            names.join(", "),
            storage.mount_point.display()
        ),
        "name the one you mean as the policy's device (UUID=…), then run --fix again",
    )
}

fn no_uuid(storage: &Storage, fs: &Filesystem) -> Refusal {
    Refusal::new(
        describe(&fs.device),
        format!(
            "the file system on {} has no UUID that its fstab entry could name",
            describe(&fs.device)
        ),
        format!(
            "add the /etc/fstab line for {} by hand (`blkid {}` shows what identifies it)",
            storage.mount_point.display(),
            fs.device.node_path().display()
        ),
    )
}

fn other_mounted(mounts: &MountTable, mount: &Mount, storage: &Storage, policy_device: &BlockDevice) -> Refusal {
    let mp = storage.mount_point.display();
    let source = mount.source.as_deref().unwrap_or("no source");
    let mut why = format!(
        "{} from {source} is mounted at {mp} (mountinfo line {}), not the {} file system on {}",
        mount.fs_type,
        mount.line,
        storage.fs_type,
        describe(policy_device)
    );
    let hidden = mounts
        .mounts
        .iter()
        .find(|m| m.id == mount.parent_id && m.mount_point == mount.mount_point);
    if let Some(hidden) = hidden {
        why.push_str(&format!(
            "; it hides the {} from {} mounted below it (line {})",
            hidden.fs_type,
            hidden.source.as_deref().unwrap_or("no source"),
            hidden.line
        ));
    }
    Refusal::new(
        mp.to_string(),
        why,
        format!(
            "citadel-check does not unmount what it did not mount: if it should not be there, `umount {mp}` \
             (`fuser -vm {mp}` shows who uses it), then run --fix again"
        ),
    )
}

fn mounted_elsewhere(storage: &Storage, fs: &Filesystem, elsewhere: &Mount) -> Refusal {
    let node = describe(&fs.device);
    let there = elsewhere.mount_point.display();
    Refusal::new(
        node.clone(),
        format!(
            "{node} is already mounted at {there} (mountinfo line {}), not at {}",
            elsewhere.line,
            storage.mount_point.display()
        ),
        format!(
            "if it belongs at {}, unmount it there (`umount {there}`) and remove or correct that fstab line; \
             otherwise correct the policy; then run --fix again",
            storage.mount_point.display()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::ActionStatus;
    use crate::testing::{findings, Tree};
    use citadel_checks::Outcome;

    const MODELS_UUID: &str = "3f6c2b1e-8d4a-4c7e-b5f2-1a9e0d7c6b54";
    const BACKUP_UUID: &str = "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d";
    const MODELS_LINE: &str =
        "UUID=3f6c2b1e-8d4a-4c7e-b5f2-1a9e0d7c6b54 /mnt/citadel-models ext4 defaults,noatime,nodiratime,barrier=0,data=writeback 0 2";

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

    fn fstab_findings(outcome: &Outcome) -> Vec<String> {
        outcome
            .findings()
            .iter()
            .filter(|f| f.subject.starts_with(FSTAB_PATH))
            .map(|f| format!("{} | {}", f.subject, f.actual))
            .collect()
    }

    #[test]
    fn nothing_to_do_on_the_compliant_tree() {
        let tree = Tree::compliant();
        assert_eq!(tree.plan("storage_mounts", &policy()), Plan::new());
    }

    #[test]
    fn a_missing_entry_is_appended_by_uuid_with_the_policy_options() {
        let tree = Tree::compliant();
        tree.drop_fstab_line("/mnt/citadel-models");
        let before = tree.read(FSTAB_PATH);
        let plan = tree.plan("storage_mounts", &policy());
        assert_eq!(kinds(&plan), ["write_file"], "{plan:#?}");
        assert!(plan.refusals.is_empty());
        assert_eq!(written(&plan), format!("{before}{MODELS_LINE}\n"));
        let Action::WriteFile { validation, mode, .. } = &plan.actions[0] else {
            unreachable!()
        };
        assert_eq!((*validation, *mode), (Validation::Fstab, 0o644));

        let (report, outcome) = tree.fix("storage_mounts", &policy());
        assert_eq!(report.status.as_str(), "fixed", "{report:#?}");
        assert_eq!(outcome, Outcome::Pass, "{}", findings(&outcome));
        assert_eq!(tree.backups().len(), 1, "{:?}", tree.backups());
        assert!(tree.backups()[0].starts_with("/var/backups/citadel-check/etc/fstab."));
        assert_eq!(tree.plan("storage_mounts", &policy()), Plan::new());
        // The storage_mounts fix writes the policy's options: mount_options is satisfied too.
        assert_eq!(tree.check("mount_options", &policy()), Outcome::Pass);
    }

    #[test]
    fn unmounted_without_mount_point_or_entry() {
        let tree = Tree::compliant();
        tree.unmount("/mnt/citadel-models");
        tree.remove("/mnt/citadel-models");
        tree.drop_fstab_line("/mnt/citadel-models");
        let plan = tree.plan("storage_mounts", &policy());
        assert_eq!(kinds(&plan), ["create_dir", "write_file", "mount"], "{plan:#?}");
        assert_eq!(
            plan.actions[0],
            Action::CreateDir {
                path: "/mnt/citadel-models".into(),
                uid: 0,
                gid: 0,
                mode: 0o755
            }
        );
        assert_eq!(plan.actions[2].command_line(), "mount /mnt/citadel-models");

        let results = tree.apply("storage_mounts", &policy(), &plan);
        let statuses: Vec<ActionStatus> = results.iter().map(|r| r.status).collect();
        assert_eq!(
            statuses,
            [ActionStatus::Applied, ActionStatus::Applied, ActionStatus::Pending],
            "{results:#?}"
        );
        assert!(tree.path("/mnt/citadel-models").is_dir());
        // The boot half passes; only the live mount waits for the running system.
        let outcome = tree.check("storage_mounts", &policy());
        assert_eq!(fstab_findings(&outcome), Vec::<String>::new());
        let subjects: Vec<&str> = outcome.findings().iter().map(|f| f.subject.as_str()).collect();
        assert_eq!(subjects, ["/mnt/citadel-models"], "{}", findings(&outcome));
        let again = tree.plan("storage_mounts", &policy());
        assert_eq!(again.actions, plan.actions[2..], "only the pending mount is left");

        let (report, _) = tree.fix("storage_mounts", &policy());
        assert_eq!(report.status.as_str(), "pending", "{report:#?}");
    }

    #[test]
    fn only_the_owned_line_changes_in_a_messy_fstab() {
        let tree = Tree::compliant();
        let mut lines: Vec<String> = vec![
            "# /etc/fstab: static file system information.".into(),
            "".into(),
            "  # an indented comment".into(),
            "UUID=0b2c1a7e-54d3-4f1e-9a39-6f2d8e1c7a10 /               ext4    errors=remount-ro 0       1".into(),
            "UUID=6F1D-2A3B  /boot/efi       vfat    umask=0077      0       1".into(),
            "proc\t/proc\tproc\tdefaults\t0\t0".into(),
            "tmpfs /tmp tmpfs nosuid,nodev,size=2g 0 0   # a trailing comment".into(),
            "server:/export /srv/nfs nfs ro,soft".into(),
            "//nas/share /srv/cifs cifs credentials=/root/.cred,uid=0 0 0\r".into(),
            "/dev/sdc1 /srv/with\\040space ext4 defaults 0 2".into(),
            "#UUID=dead-beef /srv/old ext4 defaults 0 2".into(),
            "\t".into(),
            // The models line, pointing at the backup disk (a copy-paste slip), oddly spaced and commented.
            format!("UUID={BACKUP_UUID}\t /mnt/citadel-models  ext4\tdefaults,noatime,nodiratime,barrier=0,data=writeback   0 2  # models"),
            format!("UUID={BACKUP_UUID} /mnt/citadel-backup ext4 defaults,noatime,barrier=1,data=ordered 0 2"),
            "LABEL=scratch /srv/scratch xfs noatime 0 0".into(),
            "/swapfile none swap sw 0 0".into(),
            "# end".into(),
            "".into(),
            "/dev/sr0 /media/cdrom0 udf,iso9660 user,noauto 0 0".into(),
            "#".into(),
        ];
        let text = lines.join("\n"); // no final newline
        tree.write(FSTAB_PATH, &text);

        let plan = tree.plan("storage_mounts", &policy());
        assert_eq!(kinds(&plan), ["write_file"], "{plan:#?}");
        lines[12] = format!(
            "UUID={MODELS_UUID}\t /mnt/citadel-models  ext4\tdefaults,noatime,nodiratime,barrier=0,data=writeback   0 2  # models"
        );
        assert_eq!(written(&plan), lines.join("\n"));

        let (report, outcome) = tree.fix("storage_mounts", &policy());
        assert_eq!(report.status.as_str(), "fixed", "{report:#?}");
        assert_eq!(outcome, Outcome::Pass, "{}", findings(&outcome));
        assert_eq!(tree.read(FSTAB_PATH), lines.join("\n"));
        let backups = tree.backups();
        assert_eq!(backups.len(), 1, "{backups:?}");
        assert_eq!(
            tree.read(&backups[0]),
            text,
            "the backup is the old file, byte for byte"
        );
    }

    #[test]
    fn wrong_fields_are_corrected_in_place() {
        let tree = Tree::compliant();
        tree.replace(
            FSTAB_PATH,
            &format!("UUID={MODELS_UUID} /mnt/citadel-models ext4 defaults,"),
            &format!("UUID={} /mnt/citadel-models xfs noauto,", MODELS_UUID.to_uppercase()),
        );
        let plan = tree.plan("storage_mounts", &policy());
        let new = written(&plan);
        assert!(
            new.contains(&format!(
                "UUID={MODELS_UUID} /mnt/citadel-models ext4 noatime,nodiratime,barrier=0,data=writeback 0 2\n"
            )),
            "{new}"
        );
        let (report, outcome) = tree.fix("storage_mounts", &policy());
        assert_eq!(report.status.as_str(), "fixed", "{report:#?}");
        assert_eq!(outcome, Outcome::Pass, "{}", findings(&outcome));
    }

    #[test]
    fn parse_errors_and_duplicates_are_commented_out() {
        let tree = Tree::compliant();
        let fstab = tree.read(FSTAB_PATH);
        tree.write(
            FSTAB_PATH,
            format!("{fstab}bug\n/dev/sdb1 /srv/scratch ext4 defaults 0 2x\nUUID={BACKUP_UUID} /mnt/citadel-models ext4 defaults 0 2\n"),
        );
        let new = written(&tree.plan("storage_mounts", &policy()));
        assert_eq!(
            new,
            format!(
                "{fstab}# citadel-check: mount ignored this line as a parse error (1 field where at least 3 are \
                 needed (source, mount point, type)): bug\n\
                 # citadel-check: mount ignored this line as a parse error (the pass (6th) field \"2x\" is not a \
                 number): /dev/sdb1 /srv/scratch ext4 defaults 0 2x\n\
                 # citadel-check: a second entry for /mnt/citadel-models, which mount ignores (line 13 is used): \
                 UUID={BACKUP_UUID} /mnt/citadel-models ext4 defaults 0 2\n"
            )
        );
        let (report, outcome) = tree.fix("storage_mounts", &policy());
        assert_eq!(report.status.as_str(), "fixed", "{report:#?}");
        assert_eq!(outcome, Outcome::Pass, "{}", findings(&outcome));
    }

    #[test]
    fn a_missing_fstab_is_created() {
        let tree = Tree::compliant();
        tree.remove(FSTAB_PATH);
        let (report, outcome) = tree.fix("storage_mounts", &policy());
        assert_eq!(report.status.as_str(), "fixed", "{report:#?}");
        assert_eq!(outcome, Outcome::Pass, "{}", findings(&outcome));
        let text = tree.read(FSTAB_PATH);
        assert!(text.starts_with("# /etc/fstab"), "{text}");
        assert!(text.contains(&format!("{MODELS_LINE}\n")), "{text}");
        assert!(tree.backups().is_empty(), "nothing to back up");

        let tree = Tree::compliant();
        tree.remove(FSTAB_PATH);
        let mut policy = policy();
        policy.storage.models.device = "/dev/nvme9n1".parse().unwrap();
        policy.storage.backup.device = "/dev/sdz".parse().unwrap();
        let plan = tree.plan("storage_mounts", &policy);
        assert!(plan.actions.is_empty(), "no fstab of a header alone: {plan:#?}");
    }

    #[test]
    fn a_device_that_is_not_there_is_refused() {
        let tree = Tree::compliant();
        let mut policy = policy();
        policy.storage.models.device = "/dev/nvme9n1".parse().unwrap();
        let plan = tree.plan("storage_mounts", &policy);
        assert!(plan.actions.is_empty(), "{plan:#?}");
        assert_eq!(plan.refusals.len(), 1);
        let refusal = &plan.refusals[0];
        assert_eq!(refusal.subject, "/dev/nvme9n1");
        assert!(refusal.why.contains("/dev/nvme9n1 does not exist"), "{}", refusal.why);
        assert!(refusal.by_hand.contains("lsblk"), "{}", refusal.by_hand);
    }

    /// The models disk, unmounted and without its fstab line, with its file system gone from udev's view.
    fn blank_models_disk(tree: &Tree, db: &str) {
        tree.unmount("/mnt/citadel-models");
        tree.drop_fstab_line("/mnt/citadel-models");
        tree.remove(&format!("/dev/disk/by-uuid/{MODELS_UUID}"));
        tree.remove("/dev/disk/by-label/citadel-models");
        tree.write("/run/udev/data/b259:1", db);
    }

    #[test]
    fn a_disk_without_a_file_system_is_never_formatted() {
        let tree = Tree::compliant();
        blank_models_disk(&tree, "E:DEVTYPE=disk\n");
        let plan = tree.plan("storage_mounts", &policy());
        assert!(plan.actions.is_empty(), "{plan:#?}");
        let refusal = &plan.refusals[0];
        assert_eq!(refusal.subject, "/dev/nvme1n1");
        assert!(
            refusal.why.contains("/dev/nvme1n1 holds no file system"),
            "{}",
            refusal.why
        );
        assert!(
            refusal
                .by_hand
                .starts_with("citadel-check never formats a disk: run mkfs.ext4 yourself"),
            "{}",
            refusal.by_hand
        );

        let tree = Tree::compliant();
        blank_models_disk(&tree, "E:ID_FS_TYPE=xfs\nE:ID_FS_UUID=0a0b\nE:DEVTYPE=disk\n");
        let plan = tree.plan("storage_mounts", &policy());
        assert!(plan.actions.is_empty(), "{plan:#?}");
        assert!(plan.refusals[0].why.contains("holds xfs on /dev/nvme1n1, not ext4"));
        assert!(plan.refusals[0].by_hand.contains("never formats"));
    }

    #[test]
    fn something_else_mounted_there_is_named_and_left_alone() {
        let tree = Tree::compliant();
        let mountinfo = tree.read("/proc/self/mountinfo");
        tree.write(
            "/proc/self/mountinfo",
            format!("{mountinfo}80 63 0:45 / /mnt/citadel-models rw,relatime shared:50 - tmpfs tmpfs rw,inode64\n"),
        );
        let plan = tree.plan("storage_mounts", &policy());
        assert!(plan.actions.is_empty(), "{plan:#?}");
        let refusal = &plan.refusals[0];
        assert_eq!(refusal.subject, "/mnt/citadel-models");
        assert!(
            refusal
                .why
                .starts_with("tmpfs from tmpfs is mounted at /mnt/citadel-models (mountinfo line 13)"),
            "{}",
            refusal.why
        );
        assert!(
            refusal.why.contains("it hides the ext4 from /dev/nvme1n1"),
            "{}",
            refusal.why
        );
        assert!(
            refusal.by_hand.contains("umount /mnt/citadel-models"),
            "{}",
            refusal.by_hand
        );
    }

    #[test]
    fn a_file_system_mounted_elsewhere_is_named() {
        let tree = Tree::compliant();
        tree.unmount("/mnt/citadel-models");
        let mountinfo = tree.read("/proc/self/mountinfo");
        tree.write(
            "/proc/self/mountinfo",
            format!("{mountinfo}70 28 259:1 / /srv/old rw,relatime shared:40 - ext4 /dev/nvme1n1 rw\n"),
        );
        let plan = tree.plan("storage_mounts", &policy());
        assert!(plan.actions.is_empty(), "{plan:#?}");
        assert!(
            plan.refusals[0]
                .why
                .starts_with("/dev/nvme1n1 is already mounted at /srv/old (mountinfo line 12)"),
            "{}",
            plan.refusals[0].why
        );
        assert!(plan.refusals[0].by_hand.contains("umount /srv/old"));
    }

    #[test]
    fn an_entry_by_path_is_trusted_where_no_uuid_is_known() {
        let tree = Tree::compliant();
        tree.replace(FSTAB_PATH, &format!("UUID={MODELS_UUID} "), "/dev/nvme1n1 ");
        tree.remove(&format!("/dev/disk/by-uuid/{MODELS_UUID}"));
        tree.write("/run/udev/data/b259:1", "E:DEVTYPE=disk\n");
        assert_eq!(tree.plan("storage_mounts", &policy()), Plan::new(), "mounted and right");
        tree.unmount("/mnt/citadel-models");
        assert_eq!(kinds(&tree.plan("storage_mounts", &policy())), ["mount"]);
        // Without an entry, nothing identifies the file system: refused, never guessed.
        tree.drop_fstab_line("/mnt/citadel-models");
        let plan = tree.plan("storage_mounts", &policy());
        assert!(plan.actions.is_empty(), "{plan:#?}");
        assert!(plan.refusals[0].why.contains("holds no file system"), "{plan:#?}");
    }

    #[test]
    fn a_file_in_place_of_the_mount_point_is_refused_before_fstab_names_it() {
        let tree = Tree::compliant();
        tree.unmount("/mnt/citadel-models");
        tree.drop_fstab_line("/mnt/citadel-models");
        tree.remove("/mnt/citadel-models");
        tree.write("/mnt/citadel-models", "notes\n");
        let plan = tree.plan("storage_mounts", &policy());
        assert!(plan.actions.is_empty(), "{plan:#?}");
        assert!(
            plan.refusals[0]
                .why
                .starts_with("/mnt/citadel-models is a regular file, in the way"),
            "{plan:#?}"
        );
    }

    #[test]
    fn a_partition_holds_the_file_system() {
        let tree = Tree::compliant();
        tree.overlay("models-on-partition");
        tree.unmount("/mnt/citadel-models");
        tree.drop_fstab_line("/mnt/citadel-models");
        let plan = tree.plan("storage_mounts", &policy());
        assert_eq!(kinds(&plan), ["write_file", "mount"], "{plan:#?}");
        assert!(written(&plan).ends_with(&format!("{MODELS_LINE}\n")));
    }

    #[test]
    fn without_udev_the_superblock_gives_the_uuid() {
        let tree = Tree::compliant();
        tree.overlay("superblock-only-devices");
        tree.remove("/dev/disk");
        tree.remove("/run/udev/data");
        tree.drop_fstab_line("/mnt/citadel-models");
        let (report, outcome) = tree.fix("storage_mounts", &policy());
        assert_eq!(report.status.as_str(), "fixed", "{report:#?}");
        assert_eq!(outcome, Outcome::Pass, "{}", findings(&outcome));
        assert!(tree.read(FSTAB_PATH).ends_with(&format!("{MODELS_LINE}\n")));
    }
}
