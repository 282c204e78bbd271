//! Every fixture scenario, fixed the way `--fix` does it for these checks: `trim_timer`, then `scripts` (which
//! `backup_cron` needs and which runs before it), then `backup_cron`, each planning on what the earlier ones
//! left. A check the scenario breaks ends as the table says; one it does not break plans nothing; and after the
//! fix nothing is planned again but what waits for the running system.

use citadel_checks::Outcome;
use citadel_fixers::action::Action;
use citadel_fixers::fix::FixStatus;

use crate::tree::{assert_table_covers_every_breaking_scenario, expected_fix, is_root, scenario_names, Tree};

use FixStatus::{Fixed, NotNeeded, Pending, Refused};

/// The checks whose fixers these tests are about.
const BOOT_CHECKS: [&str; 2] = ["trim_timer", "backup_cron"];

/// The fixers run, in fix order: `scripts` installs what `backup_cron`'s job runs.
const RUN: [&str; 3] = ["trim_timer", "scripts", "backup_cron"];

/// (scenario, check, how its fix ends) for every boot check a scenario makes fail.
const EXPECTED: &[(&str, &str, FixStatus)] = &[
    // The scripts fixer, before it, installs the script or makes it executable: nothing left for backup_cron.
    ("cron-backup-script-missing", "backup_cron", NotNeeded),
    ("cron-backup-script-not-executable", "backup_cron", NotNeeded),
    ("cron-bad-line-poisons-file", "backup_cron", Fixed),
    ("cron-crlf-line-endings", "backup_cron", Fixed),
    // The package installation waits for the running system.
    ("cron-daemon-missing", "backup_cron", Pending),
    ("cron-daily-dotted-name", "backup_cron", Fixed),
    ("cron-dotted-name", "backup_cron", Fixed),
    ("cron-group-writable", "backup_cron", Fixed),
    ("cron-missing-final-newline", "backup_cron", Fixed),
    ("cron-missing-user-field", "backup_cron", Fixed),
    ("cron-not-owned-by-root", "backup_cron", Fixed),
    ("cron-root-crontab-mode-0644", "backup_cron", Fixed),
    // Linked; the start waits for the boot, which the offline check does not need.
    ("cron-service-not-enabled", "backup_cron", Fixed),
    ("cron-tilde-backup-name", "backup_cron", Fixed),
    ("cron-unknown-user", "backup_cron", Fixed),
    ("cron-weekly-schedule", "backup_cron", Fixed),
    ("cronie-mode-0755", "backup_cron", Fixed),
    // The layout, the cron file and the timer link are absent. This test runs only trim_timer, scripts and
    // backup_cron: without directory_structure there is no scripts directory, so no script for the job (the full
    // --fix of tests/fix_scenarios.rs fixes it).
    ("fresh-host", "backup_cron", Refused),
    ("fresh-host", "trim_timer", Fixed),
    ("report-many-failures", "backup_cron", Fixed),
    ("trim-timer-masked", "trim_timer", Refused),
    ("trim-timer-not-enabled", "trim_timer", Fixed),
    // util-linux reinstalled (pending under a tree), and the link waits for the unit it brings.
    ("trim-timer-unit-missing", "trim_timer", Pending),
];

fn expected(scenario: &str, check: &str) -> Option<FixStatus> {
    expected_fix(EXPECTED, scenario, check)
}

#[test]
fn the_table_covers_every_scenario_that_breaks_a_boot_check() {
    assert_table_covers_every_breaking_scenario(EXPECTED, &BOOT_CHECKS);
}

#[test]
fn every_scenario_is_fixed_refused_or_pending_as_expected() {
    if !is_root() {
        return; // cron wants root-owned files, and scenarios chown
    }
    for name in scenario_names() {
        let (tree, scenario) = Tree::scenario(&name);
        let broken: Vec<FixStatus> = BOOT_CHECKS.iter().filter_map(|c| expected(&name, c)).collect();
        let refused_only = !broken.is_empty() && broken.iter().all(|status| *status == Refused);
        let before = tree.snapshot();
        for check in RUN {
            let (report, outcome) = tree.fix(check);
            if !BOOT_CHECKS.contains(&check) {
                continue;
            }
            let context = format!("{name}: {check}: {} ({outcome:?})", report.message);
            match expected(&name, check) {
                None => {
                    assert_eq!(scenario.expect[check], "pass", "{context}");
                    assert_eq!(report.status, NotNeeded, "{context}");
                    assert_eq!(outcome, Outcome::Pass, "{context}");
                }
                Some(status) => {
                    assert_eq!(report.status, status, "{context}");
                    match status {
                        Fixed | NotNeeded => assert_eq!(outcome, Outcome::Pass, "{context}"),
                        _ => assert!(matches!(outcome, Outcome::Fail(_)), "{context}"),
                    }
                }
            }
        }
        if refused_only {
            assert_eq!(tree.snapshot(), before, "{name}: a refused fix changed the tree");
        }
        for check in BOOT_CHECKS {
            let again = tree.plan(check);
            match expected(&name, check) {
                Some(Refused) => assert!(again.actions.is_empty(), "{name}: {check}: {:?}", again.actions),
                Some(Pending) => assert!(
                    again
                        .actions
                        .iter()
                        .all(|a| a.is_kernel_action() || matches!(a, Action::EnableUnit { .. })),
                    "{name}: {check}: {:?}",
                    again.actions
                ),
                _ => assert!(again.is_empty(), "{name}: {check}: {again:?}"),
            }
        }
    }
}
