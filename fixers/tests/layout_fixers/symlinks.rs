//! `symlinks`: the models link and each model link made or re-pointed (absolute targets), stale dangling links
//! removed, a real directory with data refused and left intact.

use citadel_checks::Outcome;
use citadel_fixers::action::Action;
use citadel_fixers::fix::FixStatus;

use crate::tree::Tree;

const ID: &str = "symlinks";

fn link(path: &str, target: &str) -> Action {
    Action::Symlink {
        path: path.into(),
        target: target.into(),
    }
}

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
fn relative_links_that_lead_to_the_right_place_are_left_alone() {
    let tree = Tree::compliant();
    tree.link("/opt/citadel/models", "../../mnt/citadel-models/active");
    tree.link("/opt/citadel/model-links/yi-34b", "../models/yi-34b");
    assert!(tree.plan(ID).is_empty());
}

#[test]
fn missing_wrong_and_dangling_links_are_made_absolute() {
    let tree = Tree::compliant();
    tree.link("/opt/citadel/models", "/mnt/citadel-models/archive");
    tree.remove("/opt/citadel/model-links/phi-3-mini");
    tree.link(
        "/opt/citadel/model-links/yi-34b",
        "/mnt/citadel-models/active/yi-34b-old",
    );
    tree.link(
        "/opt/citadel/model-links/mimo-vl-7b",
        "/mnt/citadel-models/active/yi-34b",
    );
    assert_eq!(
        tree.plan(ID).actions,
        [
            link("/opt/citadel/models", "/mnt/citadel-models/active"),
            link("/opt/citadel/model-links/yi-34b", "/mnt/citadel-models/active/yi-34b"),
            link(
                "/opt/citadel/model-links/phi-3-mini",
                "/mnt/citadel-models/active/phi-3-mini"
            ),
            link(
                "/opt/citadel/model-links/mimo-vl-7b",
                "/mnt/citadel-models/active/mimo-vl-7b"
            ),
        ]
    );
    fixed(&tree);
}

#[test]
fn an_empty_directory_in_place_of_the_models_link_is_replaced() {
    let tree = Tree::compliant();
    tree.remove("/opt/citadel/models");
    tree.mkdir("/opt/citadel/models");
    assert_eq!(
        tree.plan(ID).actions,
        [link("/opt/citadel/models", "/mnt/citadel-models/active")]
    );
    fixed(&tree);
}

#[test]
fn a_directory_with_data_in_place_of_the_models_link_is_refused_and_kept() {
    let tree = Tree::compliant();
    tree.remove("/opt/citadel/models");
    tree.mkdir("/opt/citadel/models/llama-3-8b");
    tree.write("/opt/citadel/models/llama-3-8b/model.safetensors", "weights");
    let before = tree.snapshot();
    let plan = tree.plan(ID);
    assert!(plan.actions.is_empty());
    let refusal = &plan.refusals[0];
    assert_eq!(refusal.subject, "/opt/citadel/models");
    assert!(refusal.why.contains("a non-empty directory"), "{}", refusal.why);
    for step in [
        "mv /opt/citadel/models/* /mnt/citadel-models/active/",
        "rmdir /opt/citadel/models",
        "run --fix again",
    ] {
        assert!(refusal.by_hand.contains(step), "{step} not in {}", refusal.by_hand);
    }
    let (report, outcome) = tree.fix(ID);
    assert_eq!(report.status, FixStatus::Refused);
    assert!(matches!(outcome, Outcome::Fail(_)));
    assert_eq!(tree.snapshot(), before);
    assert_eq!(tree.read("/opt/citadel/models/llama-3-8b/model.safetensors"), "weights");
}

#[test]
fn a_file_in_place_of_a_model_link_is_refused() {
    let tree = Tree::compliant();
    tree.remove("/opt/citadel/model-links/yi-34b");
    tree.write("/opt/citadel/model-links/yi-34b", "notes");
    let plan = tree.plan(ID);
    assert!(plan.actions.is_empty());
    assert!(plan.refusals[0].why.contains("a regular file"));
}

#[test]
fn a_stale_dangling_link_is_removed_and_a_live_one_kept() {
    let tree = Tree::compliant();
    tree.link(
        "/opt/citadel/model-links/llama-2-13b",
        "/mnt/citadel-models/active/llama-2-13b",
    );
    tree.mkdir("/mnt/citadel-models/archive/qwen2-7b");
    tree.link(
        "/opt/citadel/model-links/qwen2-7b",
        "/mnt/citadel-models/archive/qwen2-7b",
    );
    assert_eq!(
        tree.plan(ID).actions,
        [Action::RemoveSymlink {
            path: "/opt/citadel/model-links/llama-2-13b".into(),
            target: "/mnt/citadel-models/active/llama-2-13b".into(),
        }]
    );
    fixed(&tree);
    assert_eq!(
        tree.read_link("/opt/citadel/model-links/qwen2-7b").to_str(),
        Some("/mnt/citadel-models/archive/qwen2-7b")
    );
}

#[test]
fn a_link_to_a_missing_model_waits_for_model_directories() {
    let tree = Tree::compliant();
    tree.remove("/mnt/citadel-models/active/yi-34b");
    let plan = tree.plan(ID);
    assert!(plan.actions.is_empty(), "the link is already right: {:?}", plan.actions);
    assert_eq!(plan.refusals[0].subject, "/opt/citadel/model-links/yi-34b");
    assert!(plan.refusals[0].by_hand.contains("model_directories"));

    // A wrong link is still put right; it resolves once the model is there.
    tree.link(
        "/opt/citadel/model-links/yi-34b",
        "/mnt/citadel-models/active/yi-34b-old",
    );
    let plan = tree.plan(ID);
    assert_eq!(
        plan.actions,
        [link(
            "/opt/citadel/model-links/yi-34b",
            "/mnt/citadel-models/active/yi-34b"
        )]
    );
    assert_eq!(plan.refusals.len(), 1);
    let (report, _) = tree.fix(ID);
    assert_eq!(report.status, FixStatus::Refused, "{}", report.message);
    tree.mkdir("/mnt/citadel-models/active/yi-34b");
    assert_eq!(tree.check(ID), Outcome::Pass);
    assert!(tree.plan(ID).is_empty());
}

#[test]
fn a_missing_model_links_directory_is_left_to_directory_structure() {
    let tree = Tree::compliant();
    tree.remove("/opt/citadel/model-links");
    let plan = tree.plan(ID);
    assert!(plan.actions.is_empty(), "{:?}", plan.actions);
    assert_eq!(plan.refusals.len(), 1, "{:?}", plan.refusals);
    assert_eq!(plan.refusals[0].subject, "/opt/citadel/model-links");
    assert!(plan.refusals[0].by_hand.contains("directory_structure"));
}
