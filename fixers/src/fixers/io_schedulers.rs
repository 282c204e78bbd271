//! Fixer for check `io_schedulers` (SPEC §3 #8): every whole disk behind a storage has the policy's scheduler
//! now, and udev sets it again at boot.
//!
//! The disks are the check's: those behind the visible mount (partition → its disk, device-mapper → its slaves),
//! or behind the policy's device when the storage is not mounted from a block device.
//! - Now: `SysfsWrite` of `/sys/block/<disk>/queue/scheduler`, refused when the kernel does not offer that
//!   scheduler for the disk.
//! - At boot: the checker's own udev evaluator decides. Where it finds that the last rule assigning
//!   `queue/scheduler` for a disk sets another value (or none does), the fixer writes its own rules file, which
//!   it owns whole: `/etc/udev/rules.d/60-citadel-io-schedulers.rules`, one rule per scheduler, matching the
//!   actual whole disks by kernel name with `ENV{DEVTYPE}=="disk"` (without it the match would include
//!   partitions, which have no queue/), in the form LINUX-FACTS gives. Where a file that sorts after that name
//!   (rules files are read in lexical order of name, across directories, last assignment wins) sets another
//!   value, the rules go to `99-zz-citadel-io-schedulers.rules` instead; a rule in a file that sorts after that
//!   too (names compare byte by byte, so `local.rules` sorts after every numbered name) is refused, naming it: it
//!   is not citadel-check's to edit. The file is rewritten whole (it is citadel-check's name), also where it is
//!   empty, which masks a same-named vendor file; a name masked by a link to /dev/null is refused instead: the
//!   apply layer never writes over a link, and such a mask is deliberate. Then `udevadm control --reload`, only where udevd runs (`/run/udev/control`): without it the
//!   command fails, and boot reads the files anyway.

use std::path::{Path, PathBuf};

use citadel_checks::blockdev::{whole_disks_of, BlockDevice};
use citadel_checks::devices::{resolve_policy_device, Lookup};
use citadel_checks::mountinfo::MountTable;
use citadel_checks::policy::Storage;
use citadel_checks::udev::Assignment;
use citadel_checks::{FactError, Policy, System, SystemRoot};

use super::support;
use crate::action::{Action, Plan, Refusal, Validation};
use crate::obstacle::{self, Existing};

pub const RULES_DIR: &str = "/etc/udev/rules.d";
/// The rules file's name, and the later one used when a file sorting after the first defeats it.
pub const RULES_NAME: &str = "60-citadel-io-schedulers.rules";
/// `99-zz-` sorts after the usual late names (`99-local.rules`, `99-vendor-….rules`, systemd's `99-systemd.rules`).
pub const LATE_RULES_NAME: &str = "99-zz-citadel-io-schedulers.rules";
const HEADER: &str = "# Managed by citadel-check: I/O schedulers for the Citadel storage disks.\n";
/// udevd's control socket: present only where udevd runs.
const UDEV_CONTROL: &str = "/run/udev/control";

pub fn plan(policy: &Policy, system: &System) -> Plan {
    support::plan_or_refuse(plan_or_error(policy, system))
}

/// A whole disk and the scheduler the policy wants for it.
struct Disk {
    device: BlockDevice,
    wanted: String,
}

fn plan_or_error(policy: &Policy, system: &System) -> Result<Plan, FactError> {
    let root = system.root();
    let mut plan = Plan::new();
    let disks = disks(root, system.mounts()?, policy, &mut plan)?;
    for disk in &disks {
        live(root, disk, &mut plan)?;
    }
    boot(root, system, &disks, &mut plan)?;
    Ok(plan)
}

/// The whole disks behind every storage, each once.
fn disks(root: &SystemRoot, mounts: &MountTable, policy: &Policy, plan: &mut Plan) -> Result<Vec<Disk>, FactError> {
    let mut disks: Vec<Disk> = Vec::new();
    for (_, storage) in policy.storages() {
        let device = match device_behind(root, mounts, storage)? {
            Ok(device) => device,
            Err(refusal) => {
                plan.refusals.push(refusal);
                continue;
            }
        };
        let whole = whole_disks_of(root, &device)?;
        if whole.is_empty() {
            plan.refuse(
                device.node_path().display().to_string(),
                format!(
                    "no whole disk is below {}: its slaves/ lead nowhere",
                    device.display_name()
                ),
                "check `lsblk -s` for what it is built on, and set the scheduler of those disks by hand",
            );
        }
        for device in whole {
            match disks.iter().find(|d| d.device.sys_path == device.sys_path) {
                Some(seen) if seen.wanted != storage.scheduler => plan.refuse(
                    format!("/sys/block/{}/queue/scheduler", device.name),
                    format!(
                        "{} holds two storages whose policies want different schedulers ({} and {})",
                        device.name, seen.wanted, storage.scheduler
                    ),
                    "give both storages the same scheduler in the policy, then run --fix again",
                ),
                Some(_) => {}
                None => disks.push(Disk {
                    device,
                    wanted: storage.scheduler.clone(),
                }),
            }
        }
    }
    Ok(disks)
}

/// The block device behind the storage's visible mount, else the policy's device (as the check does).
fn device_behind(
    root: &SystemRoot,
    mounts: &MountTable,
    storage: &Storage,
) -> Result<Result<BlockDevice, Refusal>, FactError> {
    if let Some(mount) = mounts.visible_at(&storage.mount_point) {
        if mount.devnum.major != 0 {
            return Ok(Ok(BlockDevice::by_devnum(root, mount.devnum)?));
        }
    }
    Ok(match resolve_policy_device(root, &storage.device)? {
        Lookup::Found(device) => Ok(device),
        Lookup::Missing(why) => Err(Refusal::new(
            storage.device.to_string(),
            format!(
                "{} is not mounted from a block device, and the policy's device is not there ({why}): there is no \
                 disk to set a scheduler on",
                storage.mount_point.display()
            ),
            "fix storage_mounts first (check the policy's device against `lsblk -f`), then run --fix again",
        )),
    })
}

/// The scheduler now: written to sysfs if the kernel offers it for the disk.
fn live(root: &SystemRoot, disk: &Disk, plan: &mut Plan) -> Result<(), FactError> {
    let path = PathBuf::from(format!("/sys/block/{}/queue/scheduler", disk.device.name));
    let Some(scheduler) = disk.device.scheduler(root)? else {
        plan.refuse(
            path.display().to_string(),
            format!(
                "{} has no queue/scheduler: no I/O queue to set a scheduler on",
                disk.device.name
            ),
            format!("check what {} is (`lsblk -s`)", disk.device.node_path().display()),
        );
        return Ok(());
    };
    if scheduler.active.as_deref() == Some(disk.wanted.as_str()) {
        return Ok(());
    }
    if scheduler.available.contains(&disk.wanted) {
        plan.push(Action::SysfsWrite {
            path,
            value: disk.wanted.clone(),
        });
    } else {
        plan.refuse(
            path.display().to_string(),
            format!(
                "{} is not offered for {}: this kernel offers: {}",
                disk.wanted,
                disk.device.name,
                scheduler.available.join(" ")
            ),
            format!(
                "load its module (`modprobe {}`; make it load at boot in /etc/modules-load.d/), or choose one of \
                 those in the policy; then run --fix again",
                disk.wanted.replace('-', "_")
            ),
        );
    }
    Ok(())
}

/// The rules at boot: the checker's evaluator says which disks would not get their scheduler.
fn boot(root: &SystemRoot, system: &System, disks: &[Disk], plan: &mut Plan) -> Result<(), FactError> {
    let rules = system.udev_rules()?;
    let mut wrong: Vec<(&Disk, Option<Assignment>)> = Vec::new();
    for disk in disks {
        let facts = disk.device.udev_facts(root)?;
        let assignment = rules.final_attr_assignment(&facts, "add", "queue/scheduler");
        if assignment.as_ref().map(|a| a.value.as_str()) != Some(disk.wanted.as_str()) {
            wrong.push((disk, assignment));
        }
    }
    if wrong.is_empty() {
        return Ok(());
    }
    let ours = |file: &Path| file.parent() == Some(Path::new(RULES_DIR)) && is_our_name(file);
    let late_exists = root
        .symlink_metadata(Path::new(RULES_DIR).join(LATE_RULES_NAME))
        .is_ok();
    let mut name = if late_exists { LATE_RULES_NAME } else { RULES_NAME };
    for (disk, assignment) in &wrong {
        let Some(a) = assignment else { continue };
        let file_name = a.file.file_name().map(|n| n.as_encoded_bytes()).unwrap_or_default();
        if ours(&a.file) || file_name <= name.as_bytes() {
            continue;
        }
        if file_name > LATE_RULES_NAME.as_bytes() {
            plan.refuse(
                format!("{}:{}", a.file.display(), a.line),
                format!(
                    "this rule sets queue/scheduler to \"{}\" for {}, and its file sorts after {LATE_RULES_NAME}, the \
                     latest name citadel-check writes (names compare byte by byte), so it would still win at boot",
                    a.value, disk.device.name
                ),
                format!(
                    "change that rule to \"{}\" (or mask the file with a same-named link to /dev/null in {RULES_DIR} \
                     if nothing else in it is needed), then run --fix again",
                    disk.wanted
                ),
            );
            return Ok(());
        }
        name = LATE_RULES_NAME;
    }
    let path = Path::new(RULES_DIR).join(name);
    let content = rules_text(disks);
    let current = match existing_rules_file(root, &path)? {
        Ok(current) => current,
        Err(refusal) => {
            plan.refusals.push(refusal);
            return Ok(());
        }
    };
    if current.as_deref() == Some(content.as_bytes()) {
        // Written already, and still not effective: writing it again would change nothing.
        for (disk, assignment) in &wrong {
            plan.refusals.push(not_effective(&path, disk, assignment.as_ref()));
        }
        return Ok(());
    }
    // /etc/udev/rules.d does not exist where udev is not installed (containers, images): make it.
    support::create_missing_parents(plan, system, &path);
    plan.push(Action::WriteFile {
        path,
        content: content.into_bytes(),
        uid: 0,
        gid: 0,
        mode: 0o644,
        validation: Validation::None,
    });
    if root.exists(UDEV_CONTROL) {
        plan.push(Action::Run {
            argv: vec!["udevadm".into(), "control".into(), "--reload".into()],
            why: "make the running udevd read the new rules for devices added from now on".into(),
        });
    }
    Ok(())
}

fn is_our_name(file: &Path) -> bool {
    file.file_name()
        .is_some_and(|n| n == RULES_NAME || n == LATE_RULES_NAME)
}

/// The current content of our rules file (`None`: not there), or why it may not be written.
fn existing_rules_file(root: &SystemRoot, path: &Path) -> Result<Result<Option<Vec<u8>>, Refusal>, FactError> {
    let meta = match root.symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.is_not_found() => return Ok(Ok(None)),
        Err(e) => return Err(e),
    };
    if meta.is_file() {
        return Ok(Ok(Some(root.read(path)?)));
    }
    if meta.file_type().is_symlink() {
        let target = root.read_link(path)?;
        if target == Path::new("/dev/null") {
            return Ok(Err(Refusal::new(
                path.display().to_string(),
                format!(
                    "{} is a link to /dev/null: someone masked this rules file by hand, so udev ignores the name",
                    path.display()
                ),
                format!(
                    "if citadel-check should manage the schedulers at boot, remove the link (`rm {}`), then run --fix \
                     again",
                    path.display()
                ),
            )));
        }
        return Ok(Err(obstacle::refusal(
            path,
            &Existing::Symlink(target),
            "a regular file",
        )));
    }
    let existing = if meta.is_dir() {
        Existing::NonEmptyDir
    } else {
        Existing::Special
    };
    Ok(Err(obstacle::refusal(path, &existing, "a regular file")))
}

/// One rule per scheduler, naming the whole disks that get it, in the order of the storages.
fn rules_text(disks: &[Disk]) -> String {
    let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
    for disk in disks {
        match groups.iter_mut().find(|(wanted, _)| *wanted == disk.wanted) {
            Some((_, names)) => names.push(&disk.device.name),
            None => groups.push((&disk.wanted, vec![&disk.device.name])),
        }
    }
    let mut text = HEADER.to_string();
    for (wanted, names) in groups {
        text.push_str(&format!(
            "ACTION==\"add|change\", SUBSYSTEM==\"block\", ENV{{DEVTYPE}}==\"disk\", KERNEL==\"{}\", \
             ATTR{{queue/scheduler}}=\"{wanted}\"\n",
            names.join("|")
        ));
    }
    text
}

fn not_effective(path: &Path, disk: &Disk, assignment: Option<&Assignment>) -> Refusal {
    let found = match assignment {
        Some(a) => format!(
            "the last rule assigning it is {}:{}, which sets \"{}\"",
            a.file.display(),
            a.line,
            a.value
        ),
        None => "no rule assigns it".to_string(),
    };
    Refusal::new(
        format!("udev rules for {}", disk.device.name),
        format!(
            "{} already holds the rule for {}, yet evaluated for it at boot {found}",
            path.display(),
            disk.device.name
        ),
        format!(
            "check what udev knows of the disk (`udevadm info --query=property --name={}`: DEVTYPE=disk?) and the \
             rules files that mention queue/scheduler; then run --fix again",
            disk.device.name
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::outcome::ActionStatus;
    use crate::testing::{findings, udev_evaluator_present, Tree};
    use citadel_checks::Outcome;

    const OURS: &str = "/etc/udev/rules.d/60-citadel-io-schedulers.rules";
    const RULES: &str = "# Managed by citadel-check: I/O schedulers for the Citadel storage disks.
ACTION==\"add|change\", SUBSYSTEM==\"block\", ENV{DEVTYPE}==\"disk\", KERNEL==\"nvme1n1\", ATTR{queue/scheduler}=\"none\"
ACTION==\"add|change\", SUBSYSTEM==\"block\", ENV{DEVTYPE}==\"disk\", KERNEL==\"sda\", ATTR{queue/scheduler}=\"mq-deadline\"
";

    fn policy() -> Policy {
        Policy::embedded()
    }

    fn sysfs_writes(plan: &Plan) -> Vec<String> {
        plan.actions
            .iter()
            .filter(|a| matches!(a, Action::SysfsWrite { .. }))
            .map(Action::summary)
            .collect()
    }

    fn rules_write(plan: &Plan) -> Option<(PathBuf, String)> {
        plan.actions.iter().find_map(|a| match a {
            Action::WriteFile { path, content, .. } => {
                Some((path.clone(), String::from_utf8_lossy(content).into_owned()))
            }
            _ => None,
        })
    }

    fn set_scheduler(tree: &Tree, disk: &str, text: &str) {
        let sys = tree.root.resolve(format!("/sys/block/{disk}")).unwrap();
        tree.write(&format!("{}/queue/scheduler", sys.display()), text);
    }

    #[test]
    fn nothing_to_do_on_the_compliant_tree() {
        if !udev_evaluator_present() {
            return;
        }
        assert_eq!(Tree::compliant().plan("io_schedulers", &policy()), Plan::new());
    }

    #[test]
    fn a_wrong_live_scheduler_is_written_to_sysfs() {
        let tree = Tree::compliant();
        set_scheduler(&tree, "nvme1n1", "none [mq-deadline] kyber bfq \n");
        let plan = tree.plan("io_schedulers", &policy());
        assert_eq!(
            sysfs_writes(&plan),
            ["write \"none\" to /sys/block/nvme1n1/queue/scheduler"]
        );
        if !udev_evaluator_present() {
            return;
        }
        assert_eq!(plan.actions.len(), 1, "{plan:#?}");
        let (report, outcome) = tree.fix("io_schedulers", &policy());
        assert_eq!(report.status.as_str(), "pending", "{report:#?}");
        assert_eq!(report.results[0].status, ActionStatus::Pending);
        let subjects: Vec<&str> = outcome.findings().iter().map(|f| f.subject.as_str()).collect();
        assert_eq!(subjects, ["/sys/block/nvme1n1/queue/scheduler"]);
        // The tree's sysfs is the kernel's state: untouched.
        assert!(tree
            .read("/sys/block/nvme1n1/queue/scheduler")
            .contains("[mq-deadline]"));
    }

    #[test]
    fn a_scheduler_the_kernel_does_not_offer_is_refused() {
        let tree = Tree::compliant();
        set_scheduler(&tree, "sda", "[none] kyber\n");
        let plan = tree.plan("io_schedulers", &policy());
        assert!(sysfs_writes(&plan).is_empty(), "{plan:#?}");
        let refusal = &plan.refusals[0];
        assert_eq!(refusal.subject, "/sys/block/sda/queue/scheduler");
        assert_eq!(
            refusal.why,
            "mq-deadline is not offered for sda: this kernel offers: none kyber"
        );
        assert!(refusal.by_hand.starts_with("load its module (`modprobe mq_deadline`"));
    }

    #[test]
    fn missing_rules_are_written_for_the_actual_disks() {
        let tree = Tree::compliant();
        tree.remove(OURS);
        let plan = tree.plan("io_schedulers", &policy());
        assert_eq!(rules_write(&plan), Some((PathBuf::from(OURS), RULES.to_string())));
        assert_eq!(plan.actions.len(), 1, "no reload where udevd does not run: {plan:#?}");
        let results = tree.apply("io_schedulers", &policy(), &plan);
        assert_eq!(results[0].status, ActionStatus::Applied, "{results:#?}");
        assert_eq!(tree.read(OURS), RULES);
        if !udev_evaluator_present() {
            return;
        }
        let outcome = tree.check("io_schedulers", &policy());
        assert_eq!(outcome, Outcome::Pass, "{}", findings(&outcome));
        assert_eq!(tree.plan("io_schedulers", &policy()), Plan::new());
    }

    #[test]
    fn the_rules_directory_is_made_where_udev_is_not_installed() {
        let tree = Tree::compliant();
        tree.remove("/etc/udev");
        let plan = tree.plan("io_schedulers", &policy());
        let targets: Vec<String> = plan
            .actions
            .iter()
            .map(|a| format!("{} {}", a.kind(), a.target()))
            .collect();
        assert_eq!(
            targets,
            [
                "create_dir /etc/udev",
                "create_dir /etc/udev/rules.d",
                &format!("write_file {OURS}")
            ],
            "{plan:#?}"
        );
        let (report, outcome) = tree.fix("io_schedulers", &policy());
        assert_eq!(outcome, Outcome::Pass, "{report:#?}");
        assert_eq!(tree.read(OURS), RULES);
    }

    #[test]
    fn udevd_is_told_to_reload_where_it_runs() {
        let tree = Tree::compliant();
        tree.remove(OURS);
        tree.write(UDEV_CONTROL, "");
        let plan = tree.plan("io_schedulers", &policy());
        let kinds: Vec<&str> = plan.actions.iter().map(Action::kind).collect();
        assert_eq!(kinds, ["write_file", "run"]);
        assert_eq!(plan.actions[1].command_line(), "udevadm control --reload");
        let (report, _) = tree.fix("io_schedulers", &policy());
        assert_eq!(report.results[1].status, ActionStatus::Pending, "{report:#?}");
    }

    #[test]
    fn a_later_file_that_defeats_the_rule_moves_it_to_99_zz() {
        if !udev_evaluator_present() {
            return;
        }
        let tree = Tree::compliant();
        tree.write(
            "/usr/lib/udev/rules.d/99-vendor-io.rules",
            "ACTION==\"add|change\", SUBSYSTEM==\"block\", KERNEL==\"nvme*\", ATTR{queue/scheduler}=\"bfq\"\n",
        );
        let plan = tree.plan("io_schedulers", &policy());
        assert_eq!(
            rules_write(&plan),
            Some((
                PathBuf::from("/etc/udev/rules.d/99-zz-citadel-io-schedulers.rules"),
                RULES.to_string()
            ))
        );
        let (report, outcome) = tree.fix("io_schedulers", &policy());
        assert_eq!(report.status.as_str(), "fixed", "{report:#?}");
        assert_eq!(outcome, Outcome::Pass, "{}", findings(&outcome));

        tree.write(
            "/etc/udev/rules.d/local.rules",
            "SUBSYSTEM==\"block\", KERNEL==\"sda\", ATTR{queue/scheduler}=\"bfq\"\n",
        );
        let plan = tree.plan("io_schedulers", &policy());
        assert!(plan.actions.is_empty(), "{plan:#?}");
        assert_eq!(plan.refusals[0].subject, "/etc/udev/rules.d/local.rules:1");
        assert!(plan.refusals[0]
            .why
            .contains("sorts after 99-zz-citadel-io-schedulers.rules"));
    }

    #[test]
    fn an_empty_file_of_our_name_is_filled() {
        // Empty, it masks the same name in /usr/lib; it is citadel-check's name, and holds nothing.
        let tree = Tree::compliant();
        let vendor = tree.read(OURS).replace("none", "bfq");
        tree.write("/usr/lib/udev/rules.d/60-citadel-io-schedulers.rules", vendor);
        tree.write(OURS, "");
        let plan = tree.plan("io_schedulers", &policy());
        assert_eq!(rules_write(&plan), Some((PathBuf::from(OURS), RULES.to_string())));
        let results = tree.apply("io_schedulers", &policy(), &plan);
        assert!(results[0]
            .message
            .contains("previous version kept as /var/backups/citadel-check/etc/udev/rules.d/"));
        if !udev_evaluator_present() {
            return;
        }
        let outcome = tree.check("io_schedulers", &policy());
        assert_eq!(outcome, Outcome::Pass, "{}", findings(&outcome));
    }

    #[test]
    fn a_masked_rules_file_is_left_masked() {
        let tree = Tree::compliant();
        tree.remove(OURS);
        std::os::unix::fs::symlink("/dev/null", tree.path(OURS)).unwrap();
        let plan = tree.plan("io_schedulers", &policy());
        assert!(plan.actions.is_empty(), "{plan:#?}");
        assert!(plan.refusals[0].why.contains("is a link to /dev/null"), "{plan:#?}");
        assert!(plan.refusals[0].by_hand.contains(&format!("rm {OURS}")));
    }

    #[test]
    fn disks_behind_lvm_and_an_unmounted_storage() {
        let tree = Tree::compliant();
        tree.overlay("models-on-lvm");
        set_scheduler(&tree, "nvme1n1", "none [bfq]\n");
        assert_eq!(
            sysfs_writes(&tree.plan("io_schedulers", &policy())),
            ["write \"none\" to /sys/block/nvme1n1/queue/scheduler"]
        );

        let tree = Tree::compliant();
        tree.unmount("/mnt/citadel-models");
        let mut policy = policy();
        policy.storage.models.device = "/dev/nvme9n1".parse().unwrap();
        let plan = tree.plan("io_schedulers", &policy);
        assert_eq!(plan.refusals[0].subject, "/dev/nvme9n1", "{plan:#?}");
        assert!(plan.refusals[0].by_hand.starts_with("fix storage_mounts first"));
    }
}
