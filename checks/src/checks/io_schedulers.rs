//! Check `io_schedulers` (SPEC §3 #8): for each storage mount, every whole disk behind it (partition → its
//! disk, device-mapper → its slaves, recursively) has the policy's scheduler active in
//! `/sys/block/DISK/queue/scheduler`, AND the udev rules, evaluated for that disk on "add" (as at boot), leave
//! that scheduler as the last assignment to `ATTR{queue/scheduler}`.
//!
//! The device is the one behind the visible mount; when the storage is not mounted (or something that is not
//! a block device is mounted over it) it is the policy's device, so that the disk is still checked.

use crate::blockdev::{whole_disks_of, BlockDevice};
use crate::devices::{resolve_policy_device, Lookup};
use crate::error::FactError;
use crate::mountinfo::MountTable;
use crate::outcome::{Finding, Outcome};
use crate::policy::{Policy, Storage};
use crate::root::SystemRoot;
use crate::udev::Assignment;
use crate::view::System;

/// Where the fixer writes its rule, and where a person should put one.
const RULES_FILE: &str = "/etc/udev/rules.d/60-citadel-io-schedulers.rules";

pub fn run(policy: &Policy, system: &System) -> Outcome {
    match findings(policy, system) {
        Ok(findings) => Outcome::from_findings(findings),
        Err(err) => err.into(),
    }
}

fn findings(policy: &Policy, system: &System) -> Result<Vec<Finding>, FactError> {
    let root = system.root();
    let mounts = system.mounts()?;
    let rules = system.udev_rules()?;
    let mut findings = Vec::new();
    for (_, storage) in policy.storages() {
        let device = match device_behind(root, mounts, storage)? {
            Ok(device) => device,
            Err(finding) => {
                findings.push(finding);
                continue;
            }
        };
        let disks = whole_disks_of(root, &device)?;
        if disks.is_empty() {
            findings.push(Finding::new(
                device.node_path().display().to_string(),
                format!("a whole disk below {}", device.display_name()),
                "none: its slaves/ lead to no disk",
                "check `lsblk -s` for what the device is built on",
            ));
        }
        for disk in &disks {
            findings.extend(live_finding(root, disk, &storage.scheduler)?);
            let facts = disk.udev_facts(root)?;
            let assignment = rules.final_attr_assignment(&facts, "add", "queue/scheduler");
            findings.extend(boot_finding(disk, &storage.scheduler, assignment));
        }
    }
    Ok(findings)
}

/// The block device behind the storage's visible mount, else the policy's device.
fn device_behind(
    root: &SystemRoot,
    mounts: &MountTable,
    storage: &Storage,
) -> Result<Result<BlockDevice, Finding>, FactError> {
    if let Some(mount) = mounts.visible_at(&storage.mount_point) {
        if mount.devnum.major != 0 {
            return Ok(Ok(BlockDevice::by_devnum(root, mount.devnum)?));
        }
    }
    Ok(match resolve_policy_device(root, &storage.device)? {
        Lookup::Found(device) => Ok(device),
        Lookup::Missing(why) => Err(Finding::new(
            storage.device.to_string(),
            format!("the disk behind {}", storage.mount_point.display()),
            format!(
                "{} is not mounted from a block device, and the policy's device is missing: {why}",
                storage.mount_point.display()
            ),
            "fix storage_mounts first: the scheduler is a property of the disk",
        )),
    })
}

fn live_finding(root: &SystemRoot, disk: &BlockDevice, wanted: &str) -> Result<Option<Finding>, FactError> {
    let subject = format!("/sys/block/{}/queue/scheduler", disk.name);
    let Some(scheduler) = disk.scheduler(root)? else {
        return Ok(Some(Finding::new(
            subject,
            wanted,
            "no queue/scheduler file",
            format!("{} has no I/O queue to set a scheduler on", disk.name),
        )));
    };
    if scheduler.active.as_deref() == Some(wanted) {
        return Ok(None);
    }
    let active = scheduler.active.as_deref().unwrap_or("none selected");
    let message = if scheduler.available.iter().any(|s| s == wanted) {
        format!(
            "`echo {wanted} > /sys/block/{}/queue/scheduler` (until the next boot; the udev rule makes it stick)",
            disk.name
        )
    } else {
        format!(
            "{wanted} is not available for {}: load its module (`modprobe {}`) and set it",
            disk.name,
            wanted.replace('-', "_")
        )
    };
    Ok(Some(Finding::new(
        subject,
        wanted,
        format!("{active} (available: {})", scheduler.available.join(" ")),
        message,
    )))
}

fn boot_finding(disk: &BlockDevice, wanted: &str, assignment: Option<Assignment>) -> Option<Finding> {
    let expected = format!(
        "udev sets ATTR{{queue/scheduler}}=\"{wanted}\" for {} at boot",
        disk.name
    );
    let rule = format!(
        "ACTION==\"add|change\", SUBSYSTEM==\"block\", ENV{{DEVTYPE}}==\"disk\", KERNEL==\"{}\", \
         ATTR{{queue/scheduler}}=\"{wanted}\"",
        disk.name
    );
    match assignment {
        Some(a) if a.value == wanted => None,
        Some(a) => Some(Finding::new(
            format!("{}:{}", a.file.display(), a.line),
            expected,
            format!("the last matching udev rule sets \"{}\" for {}", a.value, disk.name),
            format!(
                "change that rule, or add a later one (a file that sorts after it) such as: {rule}; then \
                 `udevadm trigger --action=change --subsystem-match=block`"
            ),
        )),
        None => Some(Finding::new(
            format!("udev rules for {}", disk.name),
            expected,
            format!(
                "no udev rule assigns queue/scheduler for {}: the kernel's default applies after a reboot",
                disk.name
            ),
            format!("add to {RULES_FILE}: {rule}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mountinfo::DevNum;
    use crate::testing::{citadel_host, FakeRoot};
    use std::path::PathBuf;

    fn outcome(fake: &FakeRoot) -> Outcome {
        run(&Policy::embedded(), &System::new(fake.root().clone()))
    }

    /// Findings about the live scheduler only (the udev half depends on the udev evaluator).
    fn live_subjects(outcome: &Outcome) -> Vec<String> {
        outcome
            .findings()
            .iter()
            .filter(|f| f.subject.starts_with("/sys/"))
            .map(|f| format!("{} | {}", f.subject, f.actual))
            .collect()
    }

    #[test]
    fn compliant_disks_have_their_schedulers() {
        let root = SystemRoot::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../fixtures/compliant/root"));
        let out = run(&Policy::embedded(), &System::new(root));
        assert_eq!(live_subjects(&out), Vec::<String>::new());
        assert_eq!(live_subjects(&outcome(&citadel_host())), Vec::<String>::new());
    }

    #[test]
    fn wrong_live_scheduler() {
        let fake = citadel_host();
        let sys = fake.root().resolve("/sys/block/nvme1n1").unwrap();
        fake.file(sys.join("queue/scheduler"), "none [mq-deadline] kyber bfq \n");
        let out = outcome(&fake);
        assert_eq!(
            live_subjects(&out),
            ["/sys/block/nvme1n1/queue/scheduler | mq-deadline (available: none mq-deadline kyber bfq)"]
        );
        let finding = out.findings().iter().find(|f| f.subject.starts_with("/sys/")).unwrap();
        assert_eq!(finding.expected, "none");
        assert!(finding
            .message
            .contains("echo none > /sys/block/nvme1n1/queue/scheduler"));
    }

    #[test]
    fn an_unavailable_scheduler_says_so() {
        let fake = citadel_host();
        let sys = fake.root().resolve("/sys/block/sda").unwrap();
        fake.file(sys.join("queue/scheduler"), "[none] kyber\n");
        let out = outcome(&fake);
        let finding = out.findings().iter().find(|f| f.subject.contains("sda/queue")).unwrap();
        assert!(finding.message.contains("modprobe mq_deadline"), "{}", finding.message);
    }

    #[test]
    fn partitions_and_lvm_lead_to_their_disks() {
        let fake = citadel_host();
        let disk = fake.root().resolve("/sys/block/nvme1n1").unwrap();
        fake.partition(&disk, "nvme1n1p1", DevNum { major: 259, minor: 4 }, 1);
        fake.mountinfo_replace("259:1 / /mnt/citadel-models", "259:4 / /mnt/citadel-models");
        fake.file(disk.join("queue/scheduler"), "none [mq-deadline]\n");
        let subjects = live_subjects(&outcome(&fake));
        assert_eq!(subjects.len(), 1);
        assert!(
            subjects[0].starts_with("/sys/block/nvme1n1/queue/scheduler"),
            "{subjects:?}"
        );

        let fake = citadel_host();
        let sda = fake.root().resolve("/sys/block/sda").unwrap();
        let sdb = fake.sata_disk("sdb", DevNum { major: 8, minor: 16 }, "[none] mq-deadline");
        fake.dm("dm-0", DevNum { major: 253, minor: 0 }, "vg-backup", &[&sda, &sdb]);
        fake.mountinfo_replace("8:0 / /mnt/citadel-backup", "253:0 / /mnt/citadel-backup");
        let subjects = live_subjects(&outcome(&fake));
        assert_eq!(subjects.len(), 1, "{subjects:?}");
        assert!(
            subjects[0].starts_with("/sys/block/sdb/queue/scheduler | none"),
            "{subjects:?}"
        );
    }

    #[test]
    fn unmounted_storage_uses_the_policy_device() {
        let fake = citadel_host();
        fake.mountinfo_without("/mnt/citadel-models");
        let sys = fake.root().resolve("/sys/block/nvme1n1").unwrap();
        fake.file(sys.join("queue/scheduler"), "none [bfq]\n");
        assert_eq!(live_subjects(&outcome(&fake)).len(), 1);

        let mut policy = Policy::embedded();
        policy.storage.models.device = "/dev/nvme7n1".parse().unwrap();
        let out = run(&policy, &System::new(fake.root().clone()));
        let subjects = live_subjects(&out);
        assert_eq!(subjects.len(), 0, "{subjects:?}");
        assert!(out
            .findings()
            .iter()
            .any(|f| f.subject == "/dev/nvme7n1" && f.actual.contains("does not exist")));
    }

    #[test]
    fn without_rules_the_boot_half_fails() {
        let out = outcome(&citadel_host());
        let boot: Vec<&Finding> = out
            .findings()
            .iter()
            .filter(|f| f.subject.starts_with("udev rules for"))
            .collect();
        assert_eq!(boot.len(), 2);
        assert!(boot[0]
            .message
            .contains("KERNEL==\"nvme1n1\", ATTR{queue/scheduler}=\"none\""));
    }

    #[test]
    fn boot_findings_name_the_rule_that_wins() {
        let disk = BlockDevice {
            name: "nvme1n1".into(),
            sys_path: PathBuf::from("/sys/devices/x/nvme1n1"),
            devnum: None,
            devtype: Some("disk".into()),
            partition: false,
            dm_name: None,
        };
        let assignment = |value: &str| {
            Some(Assignment {
                value: value.into(),
                file: PathBuf::from("/usr/lib/udev/rules.d/60-io.rules"),
                line: 7,
            })
        };
        assert_eq!(boot_finding(&disk, "none", assignment("none")), None);
        let finding = boot_finding(&disk, "none", assignment("bfq")).unwrap();
        assert_eq!(finding.subject, "/usr/lib/udev/rules.d/60-io.rules:7");
        assert!(finding.actual.contains("\"bfq\""));
        assert!(boot_finding(&disk, "none", None)
            .unwrap()
            .actual
            .contains("no udev rule"));
    }
}
