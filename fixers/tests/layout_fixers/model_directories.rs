//! `model_directories`: each missing model directory created, missing permission bits added; a file or data in
//! the way and an unmounted models disk refused.

use citadel_checks::policy::Mode;
use citadel_checks::Outcome;
use citadel_fixers::action::Action;
use citadel_fixers::fix::FixStatus;

use crate::tree::Tree;

const ID: &str = "model_directories";

fn fixed(tree: &Tree) {
    let (report, outcome) = tree.fix(ID);
    assert_eq!(report.status, FixStatus::Fixed, "{}", report.message);
    assert_eq!(outcome, Outcome::Pass);
    assert!(tree.plan(ID).is_empty(), "{:?}", tree.plan(ID));
}

#[test]
fn nothing_is_planned_on_a_compliant_tree() {
    assert!(Tree::compliant().plan(ID).is_empty());
}

#[test]
fn a_missing_model_directory_is_created_with_the_directory_policy() {
    let tree = Tree::compliant();
    tree.remove("/mnt/citadel-models/active/yi-34b");
    assert_eq!(
        tree.plan(ID).actions,
        [Action::CreateDir {
            path: "/mnt/citadel-models/active/yi-34b".into(),
            uid: 0,
            gid: 0,
            mode: 0o755,
        }]
    );
    fixed(&tree);
}

#[test]
fn a_new_directory_has_at_least_the_minimum_mode() {
    let mut tree = Tree::compliant();
    tree.policy.directories.mode = Mode(0o700);
    tree.remove("/mnt/citadel-models/active/yi-34b");
    let plan = tree.plan(ID);
    assert!(
        matches!(&plan.actions[..], [Action::CreateDir { mode: 0o755, .. }]),
        "{:?}",
        plan.actions
    );
}

#[test]
fn missing_bits_are_added_and_others_kept() {
    let tree = Tree::compliant();
    tree.chmod("/mnt/citadel-models/active/phi-3-mini", 0o700);
    tree.chmod("/mnt/citadel-models/active/yi-34b", 0o1750);
    assert_eq!(
        tree.plan(ID).actions,
        [
            Action::SetOwnerMode {
                path: "/mnt/citadel-models/active/yi-34b".into(),
                uid: None,
                gid: None,
                mode: Some(0o1755),
            },
            Action::SetOwnerMode {
                path: "/mnt/citadel-models/active/phi-3-mini".into(),
                uid: None,
                gid: None,
                mode: Some(0o755),
            },
        ]
    );
    fixed(&tree);
}

#[test]
fn a_file_where_the_model_should_be_is_refused_and_kept() {
    let tree = Tree::compliant();
    tree.remove("/mnt/citadel-models/active/yi-34b");
    tree.write("/mnt/citadel-models/active/yi-34b", "weights");
    let plan = tree.plan(ID);
    assert!(plan.actions.is_empty());
    assert_eq!(plan.refusals[0].subject, "/mnt/citadel-models/active/yi-34b");
    assert!(plan.refusals[0].why.contains("a regular file"));
    let (report, _) = tree.fix(ID);
    assert_eq!(report.status, FixStatus::Refused);
    assert_eq!(tree.read("/mnt/citadel-models/active/yi-34b"), "weights");
}

#[test]
fn a_link_to_the_model_elsewhere_is_refused_with_the_move_to_make() {
    let tree = Tree::compliant();
    std::fs::rename(
        tree.path("/mnt/citadel-models/active/yi-34b"),
        tree.path("/mnt/citadel-models/archive/yi-34b"),
    )
    .unwrap();
    tree.link(
        "/mnt/citadel-models/active/yi-34b",
        "/mnt/citadel-models/archive/yi-34b",
    );
    let before = tree.snapshot();
    let plan = tree.plan(ID);
    assert!(plan.actions.is_empty());
    let refusal = &plan.refusals[0];
    assert!(
        refusal.by_hand.contains(
            "rm /mnt/citadel-models/active/yi-34b && mv /mnt/citadel-models/archive/yi-34b \
             /mnt/citadel-models/active/yi-34b"
        ),
        "{}",
        refusal.by_hand
    );
    tree.fix(ID);
    assert_eq!(tree.snapshot(), before);
}

#[test]
fn a_dangling_link_is_replaced_by_the_directory() {
    let tree = Tree::compliant();
    tree.link("/mnt/citadel-models/active/yi-34b", "/mnt/citadel-models/archive/gone");
    assert!(matches!(&tree.plan(ID).actions[..], [Action::CreateDir { .. }]));
    fixed(&tree);
}

#[test]
fn nothing_is_made_on_an_unmounted_models_disk() {
    let tree = Tree::compliant();
    tree.unmount("/mnt/citadel-models");
    tree.remove("/mnt/citadel-models/active/yi-34b");
    tree.chmod("/mnt/citadel-models/active/phi-3-mini", 0o700);
    let plan = tree.plan(ID);
    assert!(plan.actions.is_empty(), "{:?}", plan.actions);
    assert_eq!(plan.refusals.len(), 1);
    assert!(plan.refusals[0].why.contains("/mnt/citadel-models is not mounted"));
    assert!(plan.refusals[0].by_hand.contains("storage_mounts"));
    let before = tree.snapshot();
    let (report, _) = tree.fix(ID);
    assert_eq!(report.status, FixStatus::Refused);
    assert_eq!(tree.snapshot(), before);
    assert!(!tree.exists("/mnt/citadel-models/active/yi-34b"));
}

#[test]
fn a_missing_active_directory_is_left_to_directory_structure() {
    let tree = Tree::compliant();
    tree.remove("/mnt/citadel-models/active");
    let plan = tree.plan(ID);
    assert!(plan.actions.is_empty());
    assert_eq!(plan.refusals[0].subject, "/mnt/citadel-models/active");
    assert!(plan.refusals[0].by_hand.contains("directory_structure"));
}
