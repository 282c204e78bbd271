//! `trim_timer`: the timer linked into `timers.target.wants` (its start pending under a tree, the fix `fixed`
//! since the check passes offline), its package installed when the unit file is gone, a mask refused.

use std::path::PathBuf;

use citadel_checks::Outcome;
use citadel_fixers::action::{Action, PackageManager};
use citadel_fixers::fix::FixStatus;
use citadel_fixers::outcome::ActionStatus;

use crate::tree::Tree;

const ID: &str = "trim_timer";
const LINK: &str = "/etc/systemd/system/timers.target.wants/fstrim.timer";
const UNIT: &str = "/lib/systemd/system/fstrim.timer";

fn enable(wanted_by: &str, unit_file: &str, now: bool) -> Action {
    Action::EnableUnit {
        unit: "fstrim.timer".into(),
        wanted_by: wanted_by.into(),
        unit_file: unit_file.into(),
        now,
    }
}

fn install(manager: PackageManager) -> Action {
    Action::InstallPackages {
        manager,
        packages: vec!["util-linux".into()],
    }
}

#[test]
fn nothing_is_planned_on_a_compliant_tree() {
    assert!(Tree::compliant().plan(ID).is_empty());
}

#[test]
fn nothing_is_planned_for_a_timer_a_vendor_directory_enables() {
    let (tree, _) = Tree::scenario("trim-timer-enabled-in-usr-lib");
    assert!(tree.plan(ID).is_empty(), "{:?}", tree.plan(ID));
}

#[test]
fn a_disabled_timer_is_linked_and_the_fix_is_fixed_though_its_start_waits_for_the_boot() {
    let tree = Tree::compliant();
    tree.remove(LINK);
    assert_eq!(tree.plan(ID).actions, [enable("timers.target", UNIT, true)]);
    let (report, outcome) = tree.fix(ID);
    assert_eq!(report.status, FixStatus::Fixed, "{}", report.message);
    assert_eq!(outcome, Outcome::Pass);
    assert_eq!(report.results[0].status, ActionStatus::Pending);
    assert!(report.message.contains("the check passes"), "{}", report.message);
    assert!(report.message.contains("starts at boot"), "{}", report.message);
    assert_eq!(tree.read_link(LINK), PathBuf::from(UNIT));
    assert!(tree.plan(ID).is_empty(), "{:?}", tree.plan(ID));
}

#[test]
fn the_targets_come_from_the_install_section() {
    let tree = Tree::compliant();
    tree.remove(LINK);
    tree.write(
        UNIT,
        "[Timer]\nOnCalendar=weekly\n\n[Install]\nWantedBy=timers.target\nWantedBy=basic.target\n",
    );
    assert_eq!(
        tree.plan(ID).actions,
        [enable("timers.target", UNIT, false), enable("basic.target", UNIT, true)]
    );
    let (report, outcome) = tree.fix(ID);
    assert_eq!(report.status, FixStatus::Fixed, "{}", report.message);
    assert_eq!(outcome, Outcome::Pass);
    assert!(tree.exists("/etc/systemd/system/basic.target.wants/fstrim.timer"));
    // No [Install] section: timers.target, as for any timer.
    let tree = Tree::compliant();
    tree.remove(LINK);
    tree.write(UNIT, "[Timer]\nOnCalendar=weekly\n");
    assert_eq!(tree.plan(ID).actions, [enable("timers.target", UNIT, true)]);
}

#[test]
fn a_masked_timer_is_refused_and_left_masked() {
    let (tree, _) = Tree::scenario("trim-timer-masked");
    let before = tree.snapshot();
    let plan = tree.plan(ID);
    assert!(plan.actions.is_empty(), "{:?}", plan.actions);
    assert_eq!(plan.refusals[0].subject, "/etc/systemd/system/fstrim.timer");
    assert!(plan.refusals[0].why.contains("on purpose"), "{}", plan.refusals[0].why);
    assert!(
        plan.refusals[0].by_hand.contains("`systemctl unmask fstrim.timer`"),
        "{}",
        plan.refusals[0].by_hand
    );
    assert!(plan.refusals[0].by_hand.contains("find out why"));
    let (report, _) = tree.fix(ID);
    assert_eq!(report.status, FixStatus::Refused, "{}", report.message);
    assert_eq!(tree.snapshot(), before);
}

#[test]
fn a_missing_unit_file_comes_back_with_its_package_and_waits_for_it_under_a_tree() {
    let (tree, _) = Tree::scenario("trim-timer-unit-missing");
    let first = tree.plan(ID);
    assert_eq!(
        first.actions,
        [install(PackageManager::Apt), enable("timers.target", UNIT, true)]
    );
    let (report, outcome) = tree.fix(ID);
    assert_eq!(report.status, FixStatus::Pending, "{}", report.message);
    assert!(matches!(outcome, Outcome::Fail(_)));
    assert!(report.results.iter().all(|r| r.status == ActionStatus::Pending));
    assert!(report.message.contains("apt-get install"), "{}", report.message);
    // The dangling link the scenario keeps is left for the package to fill.
    assert_eq!(tree.read_link(LINK), PathBuf::from(UNIT));
    assert_eq!(tree.plan(ID), first, "the same plan waits for the running system");
}

#[test]
fn on_a_dnf_distribution_the_unit_goes_to_usr_lib() {
    let tree = Tree::compliant();
    tree.remove(UNIT);
    tree.remove(LINK);
    tree.write("/etc/os-release", "ID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\n");
    assert_eq!(
        tree.plan(ID).actions,
        [
            install(PackageManager::Dnf),
            enable("timers.target", "/usr/lib/systemd/system/fstrim.timer", true)
        ]
    );
}

#[test]
fn an_unknown_distribution_or_timer_is_refused_naming_what_to_install() {
    let tree = Tree::compliant();
    tree.remove(UNIT);
    tree.write("/etc/os-release", "ID=arch\n");
    let plan = tree.plan(ID);
    assert!(plan.actions.is_empty(), "{:?}", plan.actions);
    assert!(plan.refusals[0].by_hand.contains("util-linux"), "{:?}", plan.refusals);
    let mut tree = Tree::compliant();
    tree.policy.trim.timer = "site-trim.timer".into();
    let plan = tree.plan(ID);
    assert!(plan.actions.is_empty(), "{:?}", plan.actions);
    assert_eq!(plan.refusals[0].subject, "site-trim.timer");
    assert!(
        plan.refusals[0]
            .by_hand
            .contains("install the package that ships site-trim.timer"),
        "{:?}",
        plan.refusals
    );
}

#[test]
fn data_or_a_masking_link_where_the_link_goes_is_refused() {
    let tree = Tree::compliant();
    tree.remove(LINK);
    tree.write(LINK, "[Timer]\n");
    let plan = tree.plan(ID);
    assert!(plan.actions.is_empty(), "{:?}", plan.actions);
    assert_eq!(plan.refusals[0].subject, LINK);
    assert!(
        plan.refusals[0].why.contains("a regular file"),
        "{}",
        plan.refusals[0].why
    );
    let tree = Tree::compliant();
    tree.link(LINK, "/dev/null");
    let plan = tree.plan(ID);
    assert!(plan.actions.is_empty(), "{:?}", plan.actions);
    assert!(plan.refusals[0].why.contains("on purpose"), "{}", plan.refusals[0].why);
    let (report, _) = tree.fix(ID);
    assert_eq!(report.status, FixStatus::Refused);
    assert_eq!(tree.read_link(LINK), PathBuf::from("/dev/null"));
}
