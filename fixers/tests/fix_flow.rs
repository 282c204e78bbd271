//! A whole fix with stand-in fixers: plan, apply, check again, plan again; and `--dry-run`.

mod common;

use std::fs;
use std::os::unix::fs::symlink;
use std::sync::atomic::{AtomicU32, Ordering};

use citadel_checks::{Check, Finding, Outcome, Policy, System};
use citadel_fixers::action::{Action, Plan, Validation};
use citadel_fixers::fix::{dry_run, fix, FixStatus};
use citadel_fixers::outcome::ActionStatus;
use common::{audit_lines, ids, RecordingHost, Tree};

/// A stand-in check: `/opt/citadel/models` points to the active models directory.
fn models_link_check(policy: &Policy, system: &System) -> Outcome {
    let expected = policy.active_models_dir();
    match system.root().read_link(&policy.app.models_link) {
        Ok(target) if target == expected => Outcome::Pass,
        other => Outcome::Fail(vec![Finding::new(
            policy.app.models_link.display().to_string(),
            expected.display().to_string(),
            format!("{other:?}"),
            "link it",
        )]),
    }
}

const CHECK: Check = Check {
    id: "symlinks",
    title: "Model symlinks resolve",
    run: models_link_check,
};

fn plan_models_link(policy: &Policy, system: &System) -> Plan {
    let mut plan = Plan::new();
    if models_link_check(policy, system) != Outcome::Pass {
        plan.push(Action::Symlink {
            path: policy.app.models_link.clone(),
            target: policy.active_models_dir(),
        });
    }
    plan
}

#[test]
fn a_fix_applies_then_proves_itself_and_the_next_run_has_nothing_to_do() {
    let tree = Tree::new();
    symlink("/wrong", tree.path("/opt/citadel/models")).unwrap();
    let host = RecordingHost::default();
    let applier = tree.applier(&host);
    let (report, outcome) = fix(&CHECK, plan_models_link, &tree.policy, &applier);
    assert_eq!(report.status, FixStatus::Fixed, "{}", report.message);
    assert_eq!(outcome, Outcome::Pass);
    assert_eq!(report.actions.len(), 1);
    assert_eq!(report.actions[0].kind, "symlink");
    assert_eq!(report.results[0].status, ActionStatus::Applied);
    assert_eq!(audit_lines(&tree).len(), 1);

    let (again, _) = fix(&CHECK, plan_models_link, &tree.policy, &applier);
    assert_eq!(again.status, FixStatus::NotNeeded);
    assert_eq!(audit_lines(&tree).len(), 1, "a run with nothing to do writes nothing");
    let json = serde_json::to_value(&again).unwrap();
    assert_eq!(json["status"], "not_needed");
}

static GENERATION: AtomicU32 = AtomicU32::new(0);

/// A broken fixer: every plan wants different content.
fn plan_never_settles(_: &Policy, _: &System) -> Plan {
    let (uid, gid) = ids();
    let mut plan = Plan::new();
    plan.push(Action::WriteFile {
        path: "/etc/citadel-generation".into(),
        content: format!("{}\n", GENERATION.fetch_add(1, Ordering::Relaxed)).into_bytes(),
        uid,
        gid,
        mode: 0o644,
        validation: Validation::None,
    });
    plan
}

#[test]
fn a_second_plan_that_still_wants_something_is_not_idempotent() {
    let tree = Tree::new();
    let host = RecordingHost::default();
    let (report, _) = fix(&CHECK, plan_never_settles, &tree.policy, &tree.applier(&host));
    assert_eq!(report.status, FixStatus::Failed);
    assert!(report.message.starts_with("not idempotent"), "{}", report.message);
}

fn plan_remount(_: &Policy, _: &System) -> Plan {
    let mut plan = Plan::new();
    plan.push(Action::Remount {
        target: "/mnt/citadel-models".into(),
        options: vec!["noatime".into()],
    });
    plan
}

#[test]
fn kernel_work_under_a_tree_is_pending_not_a_lack_of_idempotence() {
    let tree = Tree::new();
    let host = RecordingHost::default();
    let (report, _) = fix(&CHECK, plan_remount, &tree.policy, &tree.applier(&host));
    assert_eq!(report.status, FixStatus::Pending, "{}", report.message);
    assert!(report
        .message
        .contains("would run mount -o remount,noatime /mnt/citadel-models"));
    assert!(host.calls.borrow().is_empty());
}

const FSTAB: &str = "\
# /etc/fstab
UUID=0b2c / ext4 errors=remount-ro 0 1
UUID=6F1D /boot/efi vfat umask=0077 0 1
# Citadel storage
UUID=3f6c /mnt/citadel-models ext4 defaults,relatime 0 2
UUID=a1b2 /mnt/citadel-backup ext4 defaults,noatime,barrier=1,data=ordered 0 2
# swap
/swapfile none swap sw 0 0
tmpfs /tmp tmpfs defaults 0 0
";

/// A stand-in mount_options fixer: rewrites only the models line, every other byte kept.
fn plan_fstab_options(_: &Policy, system: &System) -> Plan {
    let current = system.root().read_text("/etc/fstab").unwrap_or_default();
    let wanted = current.replace(
        "defaults,relatime",
        "defaults,noatime,nodiratime,barrier=0,data=writeback",
    );
    let mut plan = Plan::new();
    if wanted != current {
        plan.push(Action::WriteFile {
            path: "/etc/fstab".into(),
            content: wanted.into_bytes(),
            uid: ids().0,
            gid: ids().1,
            mode: 0o644,
            validation: Validation::Fstab,
        });
    }
    plan
}

#[test]
fn dry_run_shows_the_changed_fstab_line_with_context_and_changes_nothing() {
    let tree = Tree::new();
    fs::write(tree.path("/etc/fstab"), FSTAB).unwrap();
    let before = tree.listing("/");
    let system = System::new(tree.root.clone());
    let report = dry_run(plan_fstab_options, &tree.policy, &system);
    assert_eq!(report.status, FixStatus::Planned);
    let diff = report.actions[0].diff.as_deref().unwrap();
    let changed: Vec<&str> = diff
        .lines()
        .filter(|l| (l.starts_with('-') || l.starts_with('+')) && !l.starts_with("---") && !l.starts_with("+++"))
        .collect();
    assert_eq!(
        changed,
        [
            "-UUID=3f6c /mnt/citadel-models ext4 defaults,relatime 0 2",
            "+UUID=3f6c /mnt/citadel-models ext4 defaults,noatime,nodiratime,barrier=0,data=writeback 0 2",
        ]
    );
    assert!(
        diff.starts_with("--- a/etc/fstab\n+++ b/etc/fstab\n@@ -2,7 +2,7 @@\n"),
        "{diff}"
    );
    assert!(diff.contains("\n # Citadel storage\n"), "context lines are shown");
    assert_eq!(fs::read_to_string(tree.path("/etc/fstab")).unwrap(), FSTAB);
    assert_eq!(
        tree.listing("/"),
        before,
        "a dry run writes nothing, not even the audit log"
    );
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["status"], "planned");
    assert_eq!(json["actions"][0]["kind"], "write_file");
    assert_eq!(json["actions"][0]["target"], "/etc/fstab");
}

#[test]
fn applying_the_fstab_fix_keeps_every_other_byte() {
    let tree = Tree::new();
    fs::write(tree.path("/etc/fstab"), FSTAB).unwrap();
    let host = RecordingHost::default();
    let fstab_check = Check {
        id: "mount_options",
        title: "",
        run: |_, system| match system.root().read_text("/etc/fstab") {
            Ok(text) if text.contains("data=writeback") => Outcome::Pass,
            _ => Outcome::Fail(vec![Finding::new("/etc/fstab", "data=writeback", "relatime", "edit")]),
        },
    };
    let (report, _) = fix(&fstab_check, plan_fstab_options, &tree.policy, &tree.applier(&host));
    assert_eq!(report.status, FixStatus::Fixed, "{}", report.message);
    let new = fs::read_to_string(tree.path("/etc/fstab")).unwrap();
    let differing: Vec<(&str, &str)> = FSTAB.lines().zip(new.lines()).filter(|(a, b)| a != b).collect();
    assert_eq!(differing.len(), 1);
    assert_eq!(FSTAB.lines().count(), new.lines().count());
}
