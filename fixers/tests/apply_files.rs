//! File-level actions applied under a temporary root: atomic writes, backups, idempotence, rule 1 and rule 2.

mod common;

use std::fs;
use std::os::unix::fs::{symlink, MetadataExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use citadel_fixers::action::{Action, Plan, Validation};
use citadel_fixers::atomic;
use citadel_fixers::outcome::ActionStatus;
use common::{audit_lines, ids, RecordingHost, Tree};

fn write(path: &str, content: &str, mode: u32) -> Action {
    let (uid, gid) = ids();
    Action::WriteFile {
        path: path.into(),
        content: content.as_bytes().to_vec(),
        uid,
        gid,
        mode,
        validation: Validation::None,
    }
}

fn plan(actions: Vec<Action>) -> Plan {
    Plan {
        actions,
        refusals: Vec::new(),
    }
}

fn link(path: &str, target: &str) -> Action {
    Action::Symlink {
        path: path.into(),
        target: target.into(),
    }
}

fn mkdir(path: &str, mode: u32) -> Action {
    let (uid, gid) = ids();
    Action::CreateDir {
        path: path.into(),
        uid,
        gid,
        mode,
    }
}

#[test]
fn a_new_file_gets_its_mode_and_no_backup() {
    let tree = Tree::new();
    let host = RecordingHost::default();
    let results = tree.applier(&host).apply(
        "backup_cron",
        &plan(vec![write("/etc/cron.d/citadel-backup", "30 2 * * * root x\n", 0o644)]),
    );
    assert_eq!(results[0].status, ActionStatus::Applied, "{}", results[0].message);
    let path = tree.path("/etc/cron.d/citadel-backup");
    assert_eq!(fs::read_to_string(&path).unwrap(), "30 2 * * * root x\n");
    assert_eq!(fs::metadata(&path).unwrap().mode() & 0o7777, 0o644);
    assert!(
        !tree.path("/var/backups/citadel-check").exists(),
        "a new file has no previous version"
    );
    assert_eq!(tree.listing("/etc/cron.d"), ["citadel-backup"]);
}

#[test]
fn a_changed_file_keeps_a_dated_backup_outside_its_directory() {
    let tree = Tree::new();
    fs::write(tree.path("/etc/cron.d/citadel-backup"), "old job\n").unwrap();
    let host = RecordingHost::default();
    let results = tree.applier(&host).apply(
        "backup_cron",
        &plan(vec![write("/etc/cron.d/citadel-backup", "new job\n", 0o644)]),
    );
    assert_eq!(results[0].status, ActionStatus::Applied, "{}", results[0].message);
    assert_eq!(
        fs::read_to_string(tree.path("/etc/cron.d/citadel-backup")).unwrap(),
        "new job\n"
    );
    // Nothing beside the file: cron would run a copy as a second job.
    assert_eq!(tree.listing("/etc/cron.d"), ["citadel-backup"]);
    let backups = tree.listing("/var/backups/citadel-check");
    assert_eq!(backups.len(), 3, "{backups:?}");
    let backup = backups
        .iter()
        .find(|b| b.starts_with("etc/cron.d/citadel-backup."))
        .unwrap();
    let stamp = backup.rsplit('.').next().unwrap();
    assert_eq!(stamp.len(), "20260501T023000Z".len());
    assert!(stamp.ends_with('Z') && stamp.chars().nth(8) == Some('T'), "{stamp}");
    let kept = tree.path("/var/backups/citadel-check").join(backup);
    assert_eq!(fs::read_to_string(&kept).unwrap(), "old job\n");
    assert!(results[0]
        .message
        .contains("/var/backups/citadel-check/etc/cron.d/citadel-backup."));
}

#[test]
fn identical_content_writes_nothing_not_even_an_mtime() {
    let tree = Tree::new();
    let path = tree.path("/etc/cron.d/citadel-backup");
    fs::write(&path, "job\n").unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    let old = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
    fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(old)
        .unwrap();
    let host = RecordingHost::default();
    let results = tree.applier(&host).apply(
        "backup_cron",
        &plan(vec![write("/etc/cron.d/citadel-backup", "job\n", 0o644)]),
    );
    assert_eq!(results[0].status, ActionStatus::Unchanged, "{}", results[0].message);
    assert_eq!(fs::metadata(&path).unwrap().modified().unwrap(), old);
    assert!(!tree.path("/var/backups").exists());
    // Only the mode differs: fixed in place, content and mtime untouched.
    fs::set_permissions(&path, fs::Permissions::from_mode(0o664)).unwrap();
    let results = tree.applier(&host).apply(
        "backup_cron",
        &plan(vec![write("/etc/cron.d/citadel-backup", "job\n", 0o644)]),
    );
    assert_eq!(results[0].status, ActionStatus::Applied);
    assert_eq!(fs::metadata(&path).unwrap().mode() & 0o7777, 0o644);
    assert_eq!(fs::metadata(&path).unwrap().modified().unwrap(), old);
    assert!(!tree.path("/var/backups").exists());
}

use std::os::unix::fs::PermissionsExt;

#[test]
fn killed_before_the_rename_the_old_version_stays_and_the_next_run_converges() {
    let tree = Tree::new();
    let path = tree.path("/etc/fstab");
    fs::write(&path, "old\n").unwrap();
    let (uid, gid) = ids();
    // A run killed between writing the new version and renaming it: its temp file stays behind.
    let abandoned = atomic::prepare_file(&path, b"half-new\n", uid, gid, 0o644).unwrap();
    let temp = abandoned.temp_path().to_path_buf();
    std::mem::forget(abandoned);
    // Another one killed earlier, by a process that is gone (pid above any pid_max).
    let dead = tree.path("/etc/.fstab.citadel-tmp.2147483647.7");
    fs::write(&dead, "garbage").unwrap();
    assert_eq!(fs::read_to_string(&path).unwrap(), "old\n");
    let host = RecordingHost::default();
    let results = tree
        .applier(&host)
        .apply("storage_mounts", &plan(vec![write("/etc/fstab", "new\n", 0o644)]));
    assert_eq!(results[0].status, ActionStatus::Applied, "{}", results[0].message);
    assert_eq!(fs::read_to_string(&path).unwrap(), "new\n");
    assert!(!dead.exists(), "the dead run's temp file is cleaned");
    // Our own pid's leftover is not removed by a write in the same process (it could be a live writer): ignored.
    assert!(temp.exists());
    fs::remove_file(temp).unwrap();
    assert_eq!(
        tree.listing("/etc")
            .iter()
            .filter(|n| n.starts_with("fstab") || n.starts_with(".fstab"))
            .count(),
        1
    );
}

#[test]
fn symlink_replaces_a_symlink_and_an_empty_dir_then_holds() {
    let tree = Tree::new();
    fs::create_dir_all(tree.path("/opt/citadel/model-links/phi-3-mini")).unwrap();
    symlink("/somewhere/else", tree.path("/opt/citadel/models")).unwrap();
    let actions = vec![
        link("/opt/citadel/models", "/mnt/citadel-models/active"),
        link(
            "/opt/citadel/model-links/phi-3-mini",
            "/mnt/citadel-models/active/phi-3-mini",
        ),
    ];
    let host = RecordingHost::default();
    let results = tree.applier(&host).apply("symlinks", &plan(actions.clone()));
    for r in &results {
        assert_eq!(r.status, ActionStatus::Applied, "{}", r.message);
    }
    assert!(results[0].message.contains("was -> /somewhere/else"));
    assert_eq!(
        fs::read_link(tree.path("/opt/citadel/models")).unwrap(),
        PathBuf::from("/mnt/citadel-models/active")
    );
    assert_eq!(
        fs::read_link(tree.path("/opt/citadel/model-links/phi-3-mini")).unwrap(),
        PathBuf::from("/mnt/citadel-models/active/phi-3-mini")
    );
    let again = tree.applier(&host).apply("symlinks", &plan(actions));
    assert!(again.iter().all(|r| r.status == ActionStatus::Unchanged));
}

#[test]
fn data_in_the_way_of_a_symlink_is_refused_named_and_left_intact() {
    let tree = Tree::new();
    fs::create_dir_all(tree.path("/opt/citadel/models")).unwrap();
    fs::write(tree.path("/opt/citadel/models/weights.bin"), "precious").unwrap();
    fs::create_dir_all(tree.path("/opt/citadel/model-links")).unwrap();
    fs::write(tree.path("/opt/citadel/model-links/yi-34b"), "notes").unwrap();
    let host = RecordingHost::default();
    let results = tree.applier(&host).apply(
        "symlinks",
        &plan(vec![
            link("/opt/citadel/models", "/mnt/citadel-models/active"),
            link("/opt/citadel/model-links/yi-34b", "/mnt/citadel-models/active/yi-34b"),
        ]),
    );
    assert_eq!(results[0].status, ActionStatus::Refused);
    assert!(
        results[0]
            .message
            .contains("/opt/citadel/models is a non-empty directory"),
        "{}",
        results[0].message
    );
    assert!(results[0].message.contains("by hand:"));
    assert_eq!(
        results[1].status,
        ActionStatus::Refused,
        "a refusal does not stop the others"
    );
    assert!(results[1]
        .message
        .contains("/opt/citadel/model-links/yi-34b is a regular file"));
    assert_eq!(
        fs::read_to_string(tree.path("/opt/citadel/models/weights.bin")).unwrap(),
        "precious"
    );
    assert_eq!(
        fs::read_to_string(tree.path("/opt/citadel/model-links/yi-34b")).unwrap(),
        "notes"
    );
}

#[test]
fn directories_get_owner_and_mode_and_replace_only_links() {
    let tree = Tree::new();
    symlink("/tmp", tree.path("/opt/citadel/model-links")).unwrap();
    fs::create_dir(tree.path("/opt/citadel/tmp")).unwrap();
    fs::set_permissions(tree.path("/opt/citadel/tmp"), fs::Permissions::from_mode(0o700)).unwrap();
    fs::write(tree.path("/opt/citadel/scripts"), "a file").unwrap();
    let host = RecordingHost::default();
    let results = tree.applier(&host).apply(
        "directory_structure",
        &plan(vec![
            mkdir("/opt/citadel/model-links", 0o755),
            mkdir("/opt/citadel/tmp", 0o755),
            mkdir("/opt/citadel/scripts", 0o755),
            mkdir("/opt/citadel/configs", 0o750),
        ]),
    );
    let statuses: Vec<ActionStatus> = results.iter().map(|r| r.status).collect();
    assert_eq!(
        statuses,
        [
            ActionStatus::Applied,
            ActionStatus::Applied,
            ActionStatus::Refused,
            ActionStatus::Applied
        ]
    );
    let meta = |p: &str| fs::symlink_metadata(tree.path(p)).unwrap();
    assert!(meta("/opt/citadel/model-links").is_dir());
    assert_eq!(meta("/opt/citadel/tmp").mode() & 0o7777, 0o755);
    assert_eq!(meta("/opt/citadel/configs").mode() & 0o7777, 0o750);
    assert_eq!(fs::read_to_string(tree.path("/opt/citadel/scripts")).unwrap(), "a file");
}

#[test]
fn nothing_is_created_under_an_unmounted_storage() {
    let tree = Tree::new();
    tree.unmount("/mnt/citadel-models");
    let host = RecordingHost::default();
    let results = tree.applier(&host).apply(
        "directory_structure",
        &plan(vec![
            mkdir("/mnt/citadel-models", 0o755),
            mkdir("/mnt/citadel-models/active", 0o755),
            mkdir("/mnt/citadel-backup/logs", 0o755),
        ]),
    );
    assert_eq!(
        results[0].status,
        ActionStatus::Unchanged,
        "the mount point itself may exist"
    );
    assert_eq!(results[1].status, ActionStatus::Refused);
    assert!(
        results[1].message.contains("/mnt/citadel-models is not mounted"),
        "{}",
        results[1].message
    );
    assert!(!tree.path("/mnt/citadel-models/active").exists());
    assert_eq!(
        results[2].status,
        ActionStatus::Applied,
        "the backup storage is mounted"
    );
}

#[test]
fn the_guard_sees_through_links_to_the_storage() {
    let tree = Tree::new();
    tree.unmount("/mnt/citadel-models");
    symlink("/mnt/citadel-models/active", tree.path("/opt/citadel/models")).unwrap();
    fs::create_dir_all(tree.path("/mnt/citadel-models/active")).unwrap();
    let host = RecordingHost::default();
    let results = tree.applier(&host).apply(
        "model_directories",
        &plan(vec![mkdir("/opt/citadel/models/yi-34b", 0o755)]),
    );
    assert_eq!(results[0].status, ActionStatus::Refused, "{}", results[0].message);
    assert!(!tree.path("/mnt/citadel-models/active/yi-34b").exists());
}

#[test]
fn an_invalid_fstab_never_replaces_the_old_one_and_later_actions_are_skipped() {
    let tree = Tree::new();
    fs::write(tree.path("/etc/fstab"), "proc /proc proc defaults 0 0\n").unwrap();
    let (uid, gid) = ids();
    let bad = Action::WriteFile {
        path: "/etc/fstab".into(),
        content: b"proc /proc proc defaults 0 0\n/dev/sda /mnt/citadel-backup\n".to_vec(),
        uid,
        gid,
        mode: 0o644,
        validation: Validation::Fstab,
    };
    let host = RecordingHost::default();
    let results = tree
        .applier(&host)
        .apply("storage_mounts", &plan(vec![bad, mkdir("/opt/citadel/logs", 0o755)]));
    assert_eq!(results[0].status, ActionStatus::Failed);
    assert!(results[0].message.contains("line 2"), "{}", results[0].message);
    assert_eq!(results[1].status, ActionStatus::Skipped);
    assert_eq!(
        fs::read_to_string(tree.path("/etc/fstab")).unwrap(),
        "proc /proc proc defaults 0 0\n"
    );
    assert!(!tree.path("/var/backups").exists());
    assert_eq!(tree.listing("/etc").iter().filter(|n| n.contains("fstab")).count(), 1);
    assert!(
        host.calls.borrow().is_empty(),
        "findmnt is not asked under a root other than /"
    );
}

#[test]
fn every_action_tried_is_one_json_line_in_the_audit_log() {
    let tree = Tree::new();
    let host = RecordingHost::default();
    let results = tree.applier(&host).apply(
        "symlinks",
        &plan(vec![
            link("/opt/citadel/models", "/mnt/citadel-models/active"),
            Action::Remount {
                target: "/mnt/citadel-models".into(),
                options: vec!["noatime".into()],
            },
        ]),
    );
    let lines = audit_lines(&tree);
    assert_eq!(lines.len(), 2);
    for (line, result) in lines.iter().zip(&results) {
        assert_eq!(line["check"], "symlinks");
        assert_eq!(line["kind"], result.kind.as_str());
        assert_eq!(line["result"], result.status.as_str());
        assert_eq!(line["summary"], result.summary.as_str());
    }
    assert_eq!(lines[0]["target"], "/opt/citadel/models");
    assert_eq!(lines[1]["result"], "pending");
}

#[test]
fn an_empty_plan_touches_nothing() {
    let tree = Tree::new();
    let before = tree.listing("/");
    let host = RecordingHost::default();
    assert!(tree.applier(&host).apply("symlinks", &Plan::new()).is_empty());
    assert_eq!(tree.listing("/"), before, "not even the audit log");
    assert!(!Path::new(&tree.path("/opt/citadel/logs")).exists());
}

#[test]
fn nothing_is_applied_that_the_audit_log_cannot_record() {
    let tree = Tree::new();
    fs::write(tree.path("/opt/citadel/logs"), "not a directory").unwrap();
    let host = RecordingHost::default();
    let results = tree.applier(&host).apply(
        "symlinks",
        &plan(vec![link("/opt/citadel/models", "/mnt/citadel-models/active")]),
    );
    assert_eq!(results[0].status, ActionStatus::Refused);
    assert!(results[0].message.contains("audit log"), "{}", results[0].message);
    assert!(!tree.path("/opt/citadel/models").exists());
}

#[test]
fn a_hard_linked_file_gets_an_inode_of_its_own_even_with_the_same_content() {
    // Debian cron refuses a cron.d file whose link count is above 1.
    let tree = Tree::new();
    let path = tree.path("/etc/cron.d/citadel-backup");
    fs::write(&path, "job\n").unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o644)).unwrap();
    fs::hard_link(&path, tree.path("/opt/citadel/job-copy")).unwrap();
    let host = RecordingHost::default();
    let action = write("/etc/cron.d/citadel-backup", "job\n", 0o644);
    let results = tree.applier(&host).apply("backup_cron", &plan(vec![action.clone()]));
    assert_eq!(results[0].status, ActionStatus::Applied, "{}", results[0].message);
    assert_eq!(fs::metadata(&path).unwrap().nlink(), 1);
    assert_eq!(fs::read_to_string(tree.path("/opt/citadel/job-copy")).unwrap(), "job\n");
    let again = tree.applier(&host).apply("backup_cron", &plan(vec![action]));
    assert_eq!(again[0].status, ActionStatus::Unchanged);
}

fn remove_link(path: &str, target: &str) -> Action {
    Action::RemoveSymlink {
        path: path.into(),
        target: target.into(),
    }
}

#[test]
fn remove_symlink_removes_only_the_planned_link_and_then_holds() {
    let tree = Tree::new();
    fs::create_dir_all(tree.path("/opt/citadel/model-links")).unwrap();
    symlink(
        "/mnt/citadel-models/active/llama-2-13b",
        tree.path("/opt/citadel/model-links/llama-2-13b"),
    )
    .unwrap();
    let action = remove_link(
        "/opt/citadel/model-links/llama-2-13b",
        "/mnt/citadel-models/active/llama-2-13b",
    );
    let host = RecordingHost::default();
    let results = tree.applier(&host).apply("symlinks", &plan(vec![action.clone()]));
    assert_eq!(results[0].status, ActionStatus::Applied, "{}", results[0].message);
    assert!(tree.listing("/opt/citadel/model-links").is_empty());
    let again = tree.applier(&host).apply("symlinks", &plan(vec![action]));
    assert_eq!(again[0].status, ActionStatus::Unchanged, "{}", again[0].message);
    let audit = audit_lines(&tree);
    assert_eq!(audit[0]["kind"], "remove_symlink");
}

#[test]
fn remove_symlink_refuses_anything_but_the_link_it_planned() {
    let tree = Tree::new();
    let dir = "/opt/citadel/model-links";
    fs::create_dir_all(tree.path(dir)).unwrap();
    symlink("/somewhere/new", tree.path("/opt/citadel/model-links/repointed")).unwrap();
    fs::write(tree.path("/opt/citadel/model-links/file"), "data").unwrap();
    fs::create_dir(tree.path("/opt/citadel/model-links/empty")).unwrap();
    let host = RecordingHost::default();
    let results = tree.applier(&host).apply(
        "symlinks",
        &plan(vec![
            remove_link("/opt/citadel/model-links/repointed", "/somewhere/old"),
            remove_link("/opt/citadel/model-links/file", "/x"),
            remove_link("/opt/citadel/model-links/empty", "/x"),
        ]),
    );
    for r in &results {
        assert_eq!(r.status, ActionStatus::Refused, "{}", r.message);
    }
    assert!(results[0]
        .message
        .contains("now points to /somewhere/new, not to /somewhere/old"));
    assert!(results[1].message.contains("is a regular file, not a symlink"));
    assert!(results[2].message.contains("is an empty directory, not a symlink"));
    assert_eq!(tree.listing(dir), ["empty", "file", "repointed"]);
    assert_eq!(
        fs::read_to_string(tree.path("/opt/citadel/model-links/file")).unwrap(),
        "data"
    );
}
