//! `directory_structure`: missing directories created with the policy's owner and mode, wrong ones corrected, a
//! link replaced only when nothing is reachable through it, data in the way and unmounted storage refused.

use citadel_checks::Outcome;
use citadel_fixers::action::Action;
use citadel_fixers::fix::FixStatus;

use crate::tree::{is_root, Tree};

const ID: &str = "directory_structure";

fn mkdir(path: &str, mode: u32) -> Action {
    Action::CreateDir {
        path: path.into(),
        uid: 0,
        gid: 0,
        mode,
    }
}

/// Fixes, then proves the check passes and nothing is left to plan.
fn fixed(tree: &Tree) {
    let (report, outcome) = tree.fix(ID);
    assert_eq!(report.status, FixStatus::Fixed, "{}", report.message);
    assert_eq!(outcome, Outcome::Pass);
    assert!(tree.plan(ID).is_empty(), "{:?}", tree.plan(ID));
}

#[test]
fn nothing_is_planned_on_a_compliant_tree() {
    if !is_root() {
        return; // the copy must be owned by root
    }
    assert!(Tree::compliant().plan(ID).is_empty());
}

#[test]
fn a_missing_directory_is_created_with_the_policy_owner_and_mode() {
    if !is_root() {
        return;
    }
    let tree = Tree::compliant();
    tree.remove("/mnt/citadel-backup/logs");
    let plan = tree.plan(ID);
    assert_eq!(plan.actions, [mkdir("/mnt/citadel-backup/logs", 0o755)]);
    assert!(plan.refusals.is_empty());
    fixed(&tree);
    assert_eq!(tree.mode("/mnt/citadel-backup/logs"), 0o755);
}

#[test]
fn a_missing_tree_is_made_parents_first_and_ancestors_outside_the_layout_too() {
    if !is_root() {
        return;
    }
    let tree = Tree::compliant();
    tree.remove("/opt");
    let plan = tree.plan(ID);
    let paths: Vec<String> = plan.actions.iter().map(Action::target).collect();
    assert_eq!(
        paths,
        [
            "/opt",
            "/opt/citadel",
            "/opt/citadel/model-links",
            "/opt/citadel/scripts",
            "/opt/citadel/configs",
            "/opt/citadel/logs",
            "/opt/citadel/tmp"
        ]
    );
    assert_eq!(plan.actions[0], mkdir("/opt", 0o755));
    fixed(&tree);
}

#[test]
fn owner_and_mode_are_corrected_where_they_differ() {
    if !is_root() {
        return;
    }
    let mut tree = Tree::compliant();
    tree.chmod("/opt/citadel/configs", 0o775);
    tree.chown("/mnt/citadel-backup/system", 1000, 1000);
    let plan = tree.plan(ID);
    assert_eq!(
        plan.actions,
        [
            Action::SetOwnerMode {
                path: "/mnt/citadel-backup/system".into(),
                uid: Some(0),
                gid: Some(0),
                mode: None,
            },
            Action::SetOwnerMode {
                path: "/opt/citadel/configs".into(),
                uid: None,
                gid: None,
                mode: Some(0o755),
            },
        ]
    );
    fixed(&tree);

    // Names resolve through the tree's own /etc/passwd and /etc/group.
    tree.policy.directories.owner = "citadel".into();
    tree.policy.directories.group = "citadel".into();
    let plan = tree.plan(ID);
    assert_eq!(plan.actions.len(), 16, "every directory changes owner");
    assert!(plan.actions.iter().all(|a| matches!(
        a,
        Action::SetOwnerMode {
            uid: Some(1000),
            gid: Some(1000),
            mode: None,
            ..
        }
    )));
}

#[test]
fn an_unknown_owner_or_group_is_refused() {
    let mut tree = Tree::compliant();
    tree.remove("/opt/citadel/tmp");
    tree.policy.directories.owner = "citadel-admin".into();
    tree.policy.directories.group = "citadel-admin".into();
    let plan = tree.plan(ID);
    assert!(plan.actions.is_empty());
    let subjects: Vec<&str> = plan.refusals.iter().map(|r| r.subject.as_str()).collect();
    assert_eq!(subjects, ["/etc/passwd", "/etc/group"]);
    assert!(plan.refusals[0].why.contains("citadel-admin"));
}

#[test]
fn a_link_through_which_nothing_is_reachable_is_replaced_by_a_directory() {
    if !is_root() {
        return;
    }
    let tree = Tree::compliant();
    tree.mkdir("/srv/citadel-archive");
    tree.link("/mnt/citadel-models/archive", "/srv/citadel-archive");
    tree.link("/mnt/citadel-models/cache", "/srv/gone");
    assert_eq!(
        tree.plan(ID).actions,
        [
            mkdir("/mnt/citadel-models/archive", 0o755),
            mkdir("/mnt/citadel-models/cache", 0o755)
        ]
    );
    fixed(&tree);
    assert!(tree.exists("/srv/citadel-archive"), "the link's target is left alone");
}

#[test]
fn a_link_to_data_is_refused_and_left_as_it_is() {
    if !is_root() {
        return;
    }
    let tree = Tree::compliant();
    tree.mkdir("/srv/citadel-archive");
    tree.write("/srv/citadel-archive/old-model.bin", "weights");
    tree.link("/mnt/citadel-models/archive", "/srv/citadel-archive");
    let before = tree.snapshot();
    let plan = tree.plan(ID);
    assert!(plan.actions.is_empty());
    let refusal = &plan.refusals[0];
    assert_eq!(refusal.subject, "/mnt/citadel-models/archive");
    assert!(
        refusal.why.contains("a symlink to /srv/citadel-archive"),
        "{}",
        refusal.why
    );
    assert!(
        refusal.by_hand.contains("mv /srv/citadel-archive"),
        "{}",
        refusal.by_hand
    );
    let (report, _) = tree.fix(ID);
    assert_eq!(report.status, FixStatus::Refused);
    assert_eq!(tree.snapshot(), before);
}

#[test]
fn a_file_in_the_way_is_refused_named_and_the_rest_is_still_fixed() {
    if !is_root() {
        return;
    }
    let tree = Tree::compliant();
    tree.remove("/opt/citadel/tmp");
    tree.write("/opt/citadel/tmp", "scratch notes");
    tree.chmod("/opt/citadel/configs", 0o700);
    let plan = tree.plan(ID);
    assert_eq!(plan.actions.len(), 1);
    assert_eq!(plan.refusals.len(), 1);
    assert_eq!(plan.refusals[0].subject, "/opt/citadel/tmp");
    assert!(plan.refusals[0].why.contains("a regular file"));
    let (report, _) = tree.fix(ID);
    assert_eq!(report.status, FixStatus::Refused, "{}", report.message);
    assert_eq!(tree.read("/opt/citadel/tmp"), "scratch notes");
    assert_eq!(tree.mode("/opt/citadel/configs"), 0o755);
}

#[test]
fn nothing_is_made_under_an_unmounted_storage() {
    let tree = Tree::compliant();
    tree.unmount("/mnt/citadel-backup");
    tree.remove("/mnt/citadel-backup/logs");
    tree.chmod("/mnt/citadel-backup/system", 0o700);
    let plan = tree.plan(ID);
    assert!(
        plan.actions
            .iter()
            .all(|a| !a.target().starts_with("/mnt/citadel-backup")),
        "{:?}",
        plan.actions
    );
    assert_eq!(plan.refusals.len(), 1);
    let refusal = &plan.refusals[0];
    assert_eq!(refusal.subject, "/mnt/citadel-backup");
    assert!(
        refusal.why.contains("/mnt/citadel-backup is not mounted"),
        "{}",
        refusal.why
    );
    assert!(refusal.by_hand.contains("storage_mounts"), "{}", refusal.by_hand);
    let before = tree.snapshot();
    let (report, _) = tree.fix(ID);
    assert_eq!(report.status, FixStatus::Refused);
    assert_eq!(tree.snapshot(), before);
}
