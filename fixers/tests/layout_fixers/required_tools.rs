//! `required_tools`: the packages of the missing tools, with the package manager of the root's distribution.

use citadel_checks::policy::ToolPolicy;
use citadel_checks::Outcome;
use citadel_fixers::action::{Action, PackageManager};
use citadel_fixers::fix::FixStatus;
use citadel_fixers::outcome::ActionStatus;

use crate::tree::Tree;

const ID: &str = "required_tools";

fn install(manager: PackageManager, packages: &[&str]) -> Action {
    Action::InstallPackages {
        manager,
        packages: packages.iter().map(|p| p.to_string()).collect(),
    }
}

#[test]
fn nothing_is_planned_when_every_tool_is_there() {
    assert!(Tree::compliant().plan(ID).is_empty());
}

#[test]
fn missing_and_broken_tools_install_their_packages_in_policy_order() {
    let tree = Tree::compliant();
    tree.remove("/usr/sbin/smartctl");
    tree.chmod("/usr/bin/iostat", 0o644);
    tree.link("/usr/bin/rsync", "/usr/lib/rsync/rsync");
    let plan = tree.plan(ID);
    assert!(plan.refusals.is_empty(), "{:?}", plan.refusals);
    assert_eq!(
        plan.actions,
        [install(PackageManager::Apt, &["sysstat", "smartmontools", "rsync"])]
    );
}

#[test]
fn tools_of_one_package_name_it_once() {
    let mut tree = Tree::compliant();
    tree.policy.tools.push(ToolPolicy {
        name: "sar".into(),
        package: "sysstat".into(),
    });
    tree.remove("/usr/bin/iostat");
    assert_eq!(tree.plan(ID).actions, [install(PackageManager::Apt, &["sysstat"])]);
}

#[test]
fn the_package_manager_follows_id_and_id_like() {
    let cases = [
        ("ID=ubuntu\nID_LIKE=debian\n", PackageManager::Apt),
        ("ID=linuxmint\nID_LIKE=\"ubuntu debian\"\n", PackageManager::Apt),
        ("ID=fedora\n", PackageManager::Dnf),
        ("ID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\n", PackageManager::Dnf),
        ("ID=\"almalinux\"\n", PackageManager::Dnf),
        ("ID=\"ol\"\nID_LIKE=\"fedora\"\n", PackageManager::Dnf),
    ];
    for (os_release, manager) in cases {
        let tree = Tree::compliant();
        tree.write("/etc/os-release", os_release);
        tree.remove("/usr/bin/tree");
        assert_eq!(tree.plan(ID).actions, [install(manager, &["tree"])], "{os_release}");
    }
}

#[test]
fn an_unknown_distribution_is_refused_naming_the_packages() {
    let tree = Tree::compliant();
    tree.write("/etc/os-release", "NAME=\"Arch Linux\"\nID=arch\n");
    tree.remove("/usr/bin/tree");
    tree.remove("/usr/sbin/smartctl");
    let plan = tree.plan(ID);
    assert!(plan.actions.is_empty());
    assert_eq!(plan.refusals.len(), 1);
    let refusal = &plan.refusals[0];
    assert_eq!(refusal.subject, "/etc/os-release");
    assert!(refusal.why.contains("ID=arch"), "{}", refusal.why);
    assert!(refusal.by_hand.contains("smartmontools tree"), "{}", refusal.by_hand);

    tree.remove("/etc/os-release");
    let plan = tree.plan(ID);
    assert!(plan.actions.is_empty());
    assert!(
        plan.refusals[0].why.contains("no /etc/os-release"),
        "{}",
        plan.refusals[0].why
    );
}

#[test]
fn a_package_name_that_reads_as_an_option_is_refused() {
    let mut tree = Tree::compliant();
    tree.policy.tools[2].package = "--allow-unauthenticated".into();
    tree.remove("/usr/bin/tree");
    tree.remove("/usr/bin/rsync");
    let plan = tree.plan(ID);
    assert_eq!(plan.actions, [install(PackageManager::Apt, &["rsync"])]);
    assert_eq!(plan.refusals.len(), 1);
    assert_eq!(plan.refusals[0].subject, "--allow-unauthenticated");
}

#[test]
fn under_a_tree_the_install_is_pending_and_runs_nothing() {
    let tree = Tree::compliant();
    tree.remove("/usr/sbin/smartctl");
    let (report, outcome) = tree.fix(ID);
    assert_eq!(report.status, FixStatus::Pending, "{}", report.message);
    assert!(
        report
            .message
            .contains("apt-get install -y --no-install-recommends --reinstall smartmontools"),
        "{}",
        report.message
    );
    assert_eq!(report.results[0].status, ActionStatus::Pending);
    assert!(matches!(outcome, Outcome::Fail(_)));
    assert!(!tree.exists("/usr/sbin/smartctl"));
}
