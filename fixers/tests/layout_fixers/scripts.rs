//! `scripts`: the shipped scripts written with the policy's owner and mode, owner and mode corrected in place,
//! content left alone when the policy does not check it, a link or a directory in the way refused.

use citadel_checks::shipped::shipped_script;
use citadel_checks::Outcome;
use citadel_fixers::action::{Action, Validation};
use citadel_fixers::fix::FixStatus;

use crate::tree::{is_root, Tree};

const ID: &str = "scripts";

fn write(name: &str) -> Action {
    Action::WriteFile {
        path: format!("/opt/citadel/scripts/{name}").into(),
        content: shipped_script(name).unwrap().to_vec(),
        uid: 0,
        gid: 0,
        mode: 0o755,
        validation: Validation::None,
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
    if !is_root() {
        return; // the scripts must be owned by root
    }
    assert!(Tree::compliant().plan(ID).is_empty());
}

#[test]
fn missing_and_modified_scripts_are_written_the_old_version_kept() {
    if !is_root() {
        return;
    }
    let tree = Tree::compliant();
    tree.remove("/opt/citadel/scripts/verify-models.sh");
    tree.write("/opt/citadel/scripts/storage-monitor.sh", "#!/bin/bash\necho local\n");
    tree.chmod("/opt/citadel/scripts/storage-monitor.sh", 0o777);
    assert_eq!(
        tree.plan(ID).actions,
        [write("verify-models.sh"), write("storage-monitor.sh")]
    );
    fixed(&tree);
    assert_eq!(tree.mode("/opt/citadel/scripts/storage-monitor.sh"), 0o755);
    let backups = tree.listing("/var/backups/citadel-check/opt/citadel/scripts");
    assert_eq!(backups.len(), 1, "{backups:?}");
    assert!(backups[0].starts_with("storage-monitor.sh."), "{backups:?}");
}

#[test]
fn only_owner_or_mode_is_corrected_in_place() {
    if !is_root() {
        return;
    }
    let tree = Tree::compliant();
    tree.chmod("/opt/citadel/scripts/verify-models.sh", 0o775);
    tree.chmod("/opt/citadel/scripts/citadel-backup.sh", 0o644);
    tree.chown("/opt/citadel/scripts/storage-monitor.sh", 1000, 0);
    let plan = tree.plan(ID);
    let set = |name: &str, owner: Option<u32>, mode: Option<u32>| Action::SetOwnerMode {
        path: format!("/opt/citadel/scripts/{name}").into(),
        uid: owner,
        gid: owner,
        mode,
    };
    assert_eq!(
        plan.actions,
        [
            set("verify-models.sh", None, Some(0o755)),
            set("storage-monitor.sh", Some(0), None),
            set("citadel-backup.sh", None, Some(0o755)),
        ]
    );
    fixed(&tree);
}

#[test]
fn content_is_left_alone_when_the_policy_does_not_check_it() {
    if !is_root() {
        return;
    }
    let mut tree = Tree::compliant();
    tree.policy.scripts.check_content = false;
    tree.write("/opt/citadel/scripts/verify-models.sh", "#!/bin/sh\nexit 0\n");
    assert!(tree.plan(ID).is_empty());
    tree.chmod("/opt/citadel/scripts/verify-models.sh", 0o666);
    assert_eq!(
        tree.plan(ID).actions,
        [Action::SetOwnerMode {
            path: "/opt/citadel/scripts/verify-models.sh".into(),
            uid: None,
            gid: None,
            mode: Some(0o755),
        }]
    );
    fixed(&tree);
    assert_eq!(
        tree.read("/opt/citadel/scripts/verify-models.sh"),
        "#!/bin/sh\nexit 0\n"
    );
}

#[test]
fn a_symlink_where_a_script_should_be_is_refused_and_kept() {
    let tree = Tree::compliant();
    std::fs::rename(
        tree.path("/opt/citadel/scripts/verify-models.sh"),
        tree.path("/opt/citadel/tmp/verify-models.sh"),
    )
    .unwrap();
    tree.link(
        "/opt/citadel/scripts/verify-models.sh",
        "/opt/citadel/tmp/verify-models.sh",
    );
    let plan = tree.plan(ID);
    let refusal = plan
        .refusals
        .iter()
        .find(|r| r.subject == "/opt/citadel/scripts/verify-models.sh")
        .unwrap();
    assert!(
        refusal.why.contains("a symlink to /opt/citadel/tmp/verify-models.sh"),
        "{}",
        refusal.why
    );
    assert!(
        refusal.by_hand.contains("rm /opt/citadel/scripts/verify-models.sh"),
        "{}",
        refusal.by_hand
    );
    assert!(plan
        .actions
        .iter()
        .all(|a| a.target() != "/opt/citadel/scripts/verify-models.sh"));
}

#[test]
fn a_directory_in_the_way_is_refused() {
    let tree = Tree::compliant();
    tree.remove("/opt/citadel/scripts/verify-models.sh");
    tree.mkdir("/opt/citadel/scripts/verify-models.sh/old");
    let plan = tree.plan(ID);
    let refusal = plan
        .refusals
        .iter()
        .find(|r| r.subject == "/opt/citadel/scripts/verify-models.sh")
        .unwrap();
    assert!(refusal.why.contains("a non-empty directory"), "{}", refusal.why);
}

#[test]
fn a_script_citadel_check_does_not_ship_cannot_be_installed() {
    let mut tree = Tree::compliant();
    tree.policy.scripts.names.push("site-report.sh".into());
    let plan = tree.plan(ID);
    assert!(plan.actions.is_empty() || !is_root(), "{:?}", plan.actions);
    let refusal = plan
        .refusals
        .iter()
        .find(|r| r.subject == "/opt/citadel/scripts/site-report.sh")
        .unwrap();
    assert!(refusal.why.contains("ships no site-report.sh"), "{}", refusal.why);
}

#[test]
fn a_missing_scripts_directory_is_left_to_directory_structure() {
    let tree = Tree::compliant();
    tree.remove("/opt/citadel/scripts");
    let plan = tree.plan(ID);
    assert!(plan.actions.is_empty());
    assert_eq!(plan.refusals.len(), 1, "{:?}", plan.refusals);
    assert_eq!(plan.refusals[0].subject, "/opt/citadel/scripts");
    assert!(plan.refusals[0].by_hand.contains("directory_structure"));
}
