//! Every fixture scenario, fixed the way `--fix` does it (the layout fixers in fix order, each planning on what
//! the earlier ones left): a check the scenario breaks ends as the table below says, fixed or refused (a trap,
//! left exactly as it was) or pending (packages under a tree); a check it does not break plans nothing; and
//! after the fix nothing is planned again but what waits for the running system or a person.

use citadel_checks::Outcome;
use citadel_fixers::fix::FixStatus;

use crate::tree::{assert_table_covers_every_breaking_scenario, expected_fix, is_root, scenario_names, Tree};

use FixStatus::{Fixed, NotNeeded, Pending, Refused};

/// The five checks these fixers fix, in fix order.
const LAYOUT_CHECKS: [&str; 5] = [
    "required_tools",
    "directory_structure",
    "model_directories",
    "symlinks",
    "scripts",
];

/// (scenario, check, how its fix ends) for every layout check a scenario makes fail.
const EXPECTED: &[(&str, &str, FixStatus)] = &[
    ("cron-backup-script-missing", "scripts", Fixed),
    ("cron-backup-script-not-executable", "scripts", Fixed),
    ("directory-is-a-file", "directory_structure", Refused),
    ("directory-is-symlink", "directory_structure", Fixed),
    ("directory-missing", "directory_structure", Fixed),
    ("directory-mode-0775", "directory_structure", Fixed),
    ("directory-wrong-owner", "directory_structure", Fixed),
    // The whole layout is absent: made in fix order, directories first.
    ("fresh-host", "directory_structure", Fixed),
    ("fresh-host", "model_directories", Fixed),
    ("fresh-host", "scripts", Fixed),
    ("fresh-host", "symlinks", Fixed),
    ("model-is-a-file", "model_directories", Refused),
    ("model-is-a-symlink", "model_directories", Refused),
    ("model-link-dangling", "symlinks", Fixed),
    ("model-link-extra-stale", "symlinks", Fixed),
    ("model-link-wrong-model", "symlinks", Fixed),
    ("model-missing", "model_directories", Fixed),
    // model_directories, which runs first, makes the model directory the link leads to.
    ("model-missing", "symlinks", NotNeeded),
    ("model-mode-0700", "model_directories", Fixed),
    ("models-link-is-a-directory", "symlinks", Fixed),
    ("models-not-mounted", "directory_structure", Refused),
    ("models-not-mounted", "model_directories", Refused),
    // Tools are packages (pending under a tree); the model directory is made, then its link resolves again.
    ("report-many-failures", "required_tools", Pending),
    ("report-many-failures", "model_directories", Fixed),
    ("report-many-failures", "symlinks", NotNeeded),
    ("script-group-writable", "scripts", Fixed),
    ("script-missing", "scripts", Fixed),
    ("script-modified", "scripts", Fixed),
    ("script-not-executable", "scripts", Fixed),
    ("script-not-owned-by-root", "scripts", Fixed),
    ("tool-dangling-symlink", "required_tools", Pending),
    ("tool-missing", "required_tools", Pending),
    ("tool-not-executable", "required_tools", Pending),
    ("tool-only-in-usr-games", "required_tools", Pending),
];

fn expected(scenario: &str, check: &str) -> Option<FixStatus> {
    expected_fix(EXPECTED, scenario, check)
}

#[test]
fn the_table_covers_every_scenario_that_breaks_a_layout_check() {
    assert_table_covers_every_breaking_scenario(EXPECTED, &LAYOUT_CHECKS);
}

#[test]
fn every_scenario_is_fixed_refused_or_pending_as_expected() {
    if !is_root() {
        return; // scenarios chown, and the fixers' ownership needs root
    }
    for name in scenario_names() {
        let (tree, scenario) = Tree::scenario(&name);
        let breaks: Vec<&str> = LAYOUT_CHECKS
            .into_iter()
            .filter(|c| expected(&name, c).is_some())
            .collect();
        // Refused and pending fixes change nothing (but the tool's own lock and audit log).
        let changes_nothing = breaks
            .iter()
            .all(|c| matches!(expected(&name, c), Some(Refused | Pending)));
        let before = tree.snapshot();
        for check in LAYOUT_CHECKS {
            let (report, outcome) = tree.fix(check);
            let context = format!("{name}: {check}: {} ({outcome:?})", report.message);
            match expected(&name, check) {
                None => {
                    assert_eq!(scenario.expect[check], "pass", "{context}");
                    assert_eq!(report.status, FixStatus::NotNeeded, "{context}");
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
        if changes_nothing {
            assert_eq!(tree.snapshot(), before, "{name}: a refused fix changed the tree");
        }
        for check in LAYOUT_CHECKS {
            let again = tree.plan(check);
            match expected(&name, check) {
                Some(Refused) => assert!(again.actions.is_empty(), "{name}: {check}: {:?}", again.actions),
                Some(Pending) => assert!(
                    again.actions.iter().all(|a| a.is_kernel_action()),
                    "{name}: {check}: {:?}",
                    again.actions
                ),
                _ => assert!(again.is_empty(), "{name}: {check}: {again:?}"),
            }
        }
    }
}

#[test]
fn models_not_mounted_creates_nothing_under_the_mount_point() {
    if !is_root() {
        return;
    }
    let (tree, _) = Tree::scenario("models-not-mounted");
    tree.remove("/mnt/citadel-models/active/yi-34b");
    tree.remove("/mnt/citadel-models/cache");
    let before = tree.listing("/mnt/citadel-models");
    for check in ["directory_structure", "model_directories"] {
        let (report, _) = tree.fix(check);
        assert_eq!(report.status, Refused, "{check}: {}", report.message);
        assert!(report.message.contains("storage_mounts"), "{}", report.message);
    }
    assert_eq!(tree.listing("/mnt/citadel-models"), before);
}
