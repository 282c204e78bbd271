//! Actions on the running kernel under a root other than `/`: reported pending, and nothing runs.

mod common;

use std::fs;
use std::os::unix::fs::symlink;
use std::path::PathBuf;

use citadel_fixers::action::{Action, PackageManager, Plan};
use citadel_fixers::outcome::ActionStatus;
use common::{RecordingHost, Tree};

fn plan(actions: Vec<Action>) -> Plan {
    Plan {
        actions,
        refusals: Vec::new(),
    }
}

#[test]
fn kernel_actions_are_pending_and_run_nothing() {
    let tree = Tree::new();
    fs::create_dir_all(tree.path("/sys/block/nvme1n1/queue")).unwrap();
    fs::write(tree.path("/sys/block/nvme1n1/queue/scheduler"), "[mq-deadline] none \n").unwrap();
    let actions = vec![
        Action::SysfsWrite {
            path: "/sys/block/nvme1n1/queue/scheduler".into(),
            value: "none".into(),
        },
        Action::Mount {
            target: "/mnt/citadel-models".into(),
            source: None,
            fs_type: None,
            options: vec![],
        },
        Action::Remount {
            target: "/mnt/citadel-models".into(),
            options: vec!["noatime".into(), "nodiratime".into()],
        },
        Action::UmountMount {
            target: "/mnt/citadel-models".into(),
        },
        Action::InstallPackages {
            manager: PackageManager::Apt,
            packages: vec!["sysstat".into(), "tree".into()],
        },
        Action::Run {
            argv: vec!["udevadm".into(), "trigger".into(), "--action=change".into()],
            why: "apply the new scheduler rule to existing disks".into(),
        },
    ];
    let host = RecordingHost::default();
    let results = tree.applier(&host).apply("io_schedulers", &plan(actions));
    for r in &results {
        assert_eq!(r.status, ActionStatus::Pending, "{}: {}", r.kind, r.message);
        assert!(r.message.contains("not the running system"), "{}", r.message);
    }
    assert!(results[2]
        .message
        .contains("mount -o remount,noatime,nodiratime /mnt/citadel-models"));
    assert!(results[4]
        .message
        .contains("apt-get update; env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends --reinstall sysstat tree"));
    assert!(host.calls.borrow().is_empty(), "ran: {:?}", host.calls.borrow());
    // The tree's sysfs file is the kernel's state: not written either.
    assert_eq!(
        fs::read_to_string(tree.path("/sys/block/nvme1n1/queue/scheduler")).unwrap(),
        "[mq-deadline] none \n"
    );
}

fn enable(now: bool) -> Action {
    Action::EnableUnit {
        unit: "fstrim.timer".into(),
        wanted_by: "timers.target".into(),
        unit_file: "/lib/systemd/system/fstrim.timer".into(),
        now,
    }
}

#[test]
fn enabling_a_unit_links_it_under_the_root_and_leaves_the_start_pending() {
    let tree = Tree::new();
    fs::create_dir_all(tree.path("/lib/systemd/system")).unwrap();
    fs::write(tree.path("/lib/systemd/system/fstrim.timer"), "[Timer]\n").unwrap();
    let host = RecordingHost::default();
    let results = tree.applier(&host).apply("trim_timer", &plan(vec![enable(true)]));
    assert_eq!(results[0].status, ActionStatus::Pending, "{}", results[0].message);
    assert!(results[0].message.contains("starts at boot"), "{}", results[0].message);
    assert_eq!(
        fs::read_link(tree.path("/etc/systemd/system/timers.target.wants/fstrim.timer")).unwrap(),
        PathBuf::from("/lib/systemd/system/fstrim.timer")
    );
    assert!(host.calls.borrow().is_empty());
    let again = tree.applier(&host).apply("trim_timer", &plan(vec![enable(false)]));
    assert_eq!(again[0].status, ActionStatus::Unchanged, "{}", again[0].message);
}

#[test]
fn a_masked_or_missing_unit_is_refused() {
    let tree = Tree::new();
    let host = RecordingHost::default();
    let missing = tree.applier(&host).apply("trim_timer", &plan(vec![enable(false)]));
    assert_eq!(missing[0].status, ActionStatus::Refused);
    assert!(
        missing[0].message.contains("install the package"),
        "{}",
        missing[0].message
    );
    fs::create_dir_all(tree.path("/lib/systemd/system")).unwrap();
    fs::write(tree.path("/lib/systemd/system/fstrim.timer"), "[Timer]\n").unwrap();
    fs::create_dir_all(tree.path("/etc/systemd/system")).unwrap();
    symlink("/dev/null", tree.path("/etc/systemd/system/fstrim.timer")).unwrap();
    let masked = tree.applier(&host).apply("trim_timer", &plan(vec![enable(false)]));
    assert_eq!(masked[0].status, ActionStatus::Refused);
    assert!(
        masked[0].message.contains("systemctl unmask fstrim.timer"),
        "{}",
        masked[0].message
    );
    assert!(!tree.path("/etc/systemd/system/timers.target.wants").exists());
}

#[test]
fn a_unit_its_pending_package_would_install_is_pending_not_refused() {
    // Under a tree the package installation is pending, so the unit file it ships cannot appear: the link waits
    // for it instead of being refused. Without an installation before it, a missing unit is refused as ever.
    let tree = Tree::new();
    let host = RecordingHost::default();
    let install = Action::InstallPackages {
        manager: PackageManager::Apt,
        packages: vec!["util-linux".into()],
    };
    let results = tree
        .applier(&host)
        .apply("trim_timer", &plan(vec![install, enable(true)]));
    assert_eq!(results[0].status, ActionStatus::Pending, "{}", results[0].message);
    assert_eq!(results[1].status, ActionStatus::Pending, "{}", results[1].message);
    assert!(
        results[1]
            .message
            .contains("/lib/systemd/system/fstrim.timer does not exist yet"),
        "{}",
        results[1].message
    );
    assert!(!tree.path("/etc/systemd/system/timers.target.wants").exists());
    assert!(host.calls.borrow().is_empty());
}
