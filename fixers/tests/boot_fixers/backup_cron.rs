//! `backup_cron`: the policy's cron file written (exactly the compliant fixture's) or rewritten keeping other
//! jobs' lines, root's crontab given mode 0600, the daemon installed and enabled, and what is not this fixer's
//! (the script, a mask, a link, a policy cron never reads) refused.

use std::fs;
use std::os::unix::fs::MetadataExt;

use citadel_checks::Outcome;
use citadel_fixers::action::{Action, PackageManager, Validation};
use citadel_fixers::fix::FixStatus;
use citadel_fixers::outcome::ActionStatus;

use crate::tree::{fixtures_dir, is_root, Tree};

const ID: &str = "backup_cron";
const CRON_FILE: &str = "/etc/cron.d/citadel-backup";
const SCRIPT: &str = "/opt/citadel/scripts/citadel-backup.sh";
const LINE: &str = "30 2 * * * root /opt/citadel/scripts/citadel-backup.sh\n";
const ROOT_CRONTAB: &str = "/var/spool/cron/crontabs/root";

/// The compliant fixture's cron file: what the fixer writes.
fn compliant_cron_file() -> String {
    fs::read_to_string(fixtures_dir().join("compliant/root/etc/cron.d/citadel-backup")).unwrap()
}

/// The compliant file with its job line replaced by `body`.
fn with_body(body: &str) -> String {
    compliant_cron_file().replace(LINE, body)
}

fn write_cron_file(content: &str) -> Action {
    Action::WriteFile {
        path: CRON_FILE.into(),
        content: content.as_bytes().to_vec(),
        uid: 0,
        gid: 0,
        mode: 0o644,
        validation: Validation::None,
    }
}

/// Fixed: the check passes, nothing is planned again, and the cron file is root's, 0644, one link.
#[track_caller]
fn fixed(tree: &Tree) {
    let (report, outcome) = tree.fix(ID);
    assert_eq!(report.status, FixStatus::Fixed, "{}", report.message);
    assert_eq!(outcome, Outcome::Pass);
    assert!(tree.plan(ID).is_empty(), "{:?}", tree.plan(ID));
}

#[track_caller]
fn cron_file_is_clean(tree: &Tree) {
    let meta = fs::symlink_metadata(tree.path(CRON_FILE)).unwrap();
    assert_eq!(
        (meta.uid(), meta.gid(), meta.mode() & 0o7777, meta.nlink()),
        (0, 0, 0o644, 1)
    );
}

/// The versions kept under /var/backups/citadel-check for the cron file.
fn backups(tree: &Tree) -> Vec<String> {
    if !tree.exists("/var/backups/citadel-check/etc/cron.d") {
        return Vec::new();
    }
    tree.listing("/var/backups/citadel-check/etc/cron.d")
}

#[test]
fn nothing_is_planned_on_a_compliant_tree() {
    if !is_root() {
        return; // cron wants its files owned by root
    }
    assert!(Tree::compliant().plan(ID).is_empty());
}

#[test]
fn a_missing_cron_file_is_written_exactly_as_the_compliant_fixture_has_it() {
    if !is_root() {
        return;
    }
    let tree = Tree::compliant();
    tree.remove(CRON_FILE);
    assert_eq!(tree.plan(ID).actions, [write_cron_file(&compliant_cron_file())]);
    fixed(&tree);
    assert_eq!(tree.read(CRON_FILE), compliant_cron_file());
    cron_file_is_clean(&tree);
    assert!(backups(&tree).is_empty(), "a new file has no previous version");
}

#[test]
fn the_line_is_built_from_the_policy() {
    if !is_root() {
        return;
    }
    let mut tree = Tree::compliant();
    tree.remove(CRON_FILE);
    tree.policy.backup_job.schedule = "15 */6 * * *".into();
    let plan = tree.plan(ID);
    let expected = with_body("15 */6 * * * root /opt/citadel/scripts/citadel-backup.sh\n");
    assert_eq!(plan.actions, [write_cron_file(&expected)]);
    fixed(&tree);
}

#[test]
fn mode_and_owner_are_set_without_touching_the_content() {
    if !is_root() {
        return;
    }
    for (mode, owner) in [(0o664, 0), (0o644, 1000), (0o666, 1000)] {
        let tree = Tree::compliant();
        tree.chmod(CRON_FILE, mode);
        tree.chown(CRON_FILE, owner, owner);
        let mtime = fs::metadata(tree.path(CRON_FILE)).unwrap().mtime();
        assert_eq!(tree.plan(ID).actions, [write_cron_file(&compliant_cron_file())]);
        fixed(&tree);
        cron_file_is_clean(&tree);
        assert_eq!(
            fs::metadata(tree.path(CRON_FILE)).unwrap().mtime(),
            mtime,
            "same bytes: not rewritten"
        );
        assert!(backups(&tree).is_empty());
    }
}

#[test]
fn a_hard_linked_cron_file_gets_an_inode_of_its_own() {
    if !is_root() {
        return;
    }
    let tree = Tree::compliant();
    fs::hard_link(tree.path(CRON_FILE), tree.path("/etc/citadel-backup.copy")).unwrap();
    fixed(&tree);
    cron_file_is_clean(&tree);
    assert_eq!(
        tree.read("/etc/citadel-backup.copy"),
        compliant_cron_file(),
        "the other link keeps its data"
    );
}

#[test]
fn a_broken_job_line_is_rewritten_and_the_old_version_kept() {
    if !is_root() {
        return;
    }
    let compliant = compliant_cron_file();
    let broken = [
        ("CRLF line endings", compliant.replace('\n', "\r\n")),
        ("no final newline", compliant.trim_end().to_string()),
        (
            "weekly",
            with_body("30 2 * * 0 root /opt/citadel/scripts/citadel-backup.sh\n"),
        ),
        (
            "no user field",
            with_body("30 2 * * * /opt/citadel/scripts/citadel-backup.sh\n"),
        ),
        (
            "unknown user",
            with_body("30 2 * * * backup /opt/citadel/scripts/citadel-backup.sh\n"),
        ),
        (
            "unescaped %",
            with_body("30 2 * * * root /opt/citadel/scripts/citadel-backup.sh > /var/log/b-$(date +%F)\n"),
        ),
    ];
    for (what, content) in broken {
        let tree = Tree::compliant();
        tree.write(CRON_FILE, &content);
        assert_eq!(tree.plan(ID).actions, [write_cron_file(&compliant)], "{what}");
        fixed(&tree);
        assert_eq!(tree.read(CRON_FILE), compliant, "{what}");
        let kept = backups(&tree);
        assert_eq!(kept.len(), 1, "{what}: {kept:?}");
        let old = tree.read(&format!("/var/backups/citadel-check/etc/cron.d/{}", kept[0]));
        assert_eq!(old, content, "{what}");
        assert!(
            tree.listing("/etc/cron.d").iter().all(|n| !n.contains("citadel-tmp")),
            "{what}"
        );
    }
}

#[test]
fn other_jobs_in_the_file_stay_byte_identical() {
    if !is_root() {
        return;
    }
    let tree = Tree::compliant();
    let others =
        "MAILTO=ops@example.com\n# rotate the model cache\n15 *\t* * *\troot\t/usr/local/bin/cache-rotate --quiet\n";
    tree.write(
        CRON_FILE,
        &format!("{others}30 2 * * 0 root /opt/citadel/scripts/citadel-backup.sh\n@reboot root /bin/true\n"),
    );
    let expected = format!("{others}{LINE}@reboot root /bin/true\n");
    assert_eq!(tree.plan(ID).actions, [write_cron_file(&expected)]);
    fixed(&tree);
    // Without a backup line, the policy's is appended; duplicates become one (two would run it twice).
    let tree = Tree::compliant();
    tree.write(CRON_FILE, others);
    tree.chmod(CRON_FILE, 0o664);
    assert_eq!(tree.plan(ID).actions, [write_cron_file(&format!("{others}{LINE}"))]);
    fixed(&tree);
    let tree = Tree::compliant();
    tree.write(
        CRON_FILE,
        "30 2 * * 0 root /opt/citadel/scripts/citadel-backup.sh\n0 3 * * * citadel /opt/citadel/scripts/citadel-backup.sh\n",
    );
    assert_eq!(tree.plan(ID).actions, [write_cron_file(LINE)]);
    fixed(&tree);
}

#[test]
fn a_line_debian_cron_rejects_is_commented_out_not_deleted() {
    if !is_root() {
        return;
    }
    let (tree, _) = Tree::scenario("cron-bad-line-poisons-file");
    let expected = format!(
        "{}# citadel-check commented out the next line: Debian cron rejects it (bad minute) and would ignore this \
         whole file\n# 60 * * * * root /bin/true\n",
        compliant_cron_file()
    );
    assert_eq!(tree.plan(ID).actions, [write_cron_file(&expected)]);
    fixed(&tree);
    assert_eq!(tree.read(CRON_FILE), expected);
}

#[test]
fn cronie_drops_bad_lines_one_by_one_so_they_stay_and_its_mode_rule_is_met() {
    if !is_root() {
        return;
    }
    let (tree, _) = Tree::scenario("cronie-mode-0755");
    let content = format!("{}60 * * * * root /bin/true\n", compliant_cron_file());
    tree.write(CRON_FILE, &content);
    assert_eq!(tree.plan(ID).actions, [write_cron_file(&content)]);
    fixed(&tree);
    cron_file_is_clean(&tree);
}

#[test]
fn files_cron_never_reads_are_left_and_the_job_written_where_it_reads() {
    if !is_root() {
        return;
    }
    for (scenario, dead) in [
        ("cron-dotted-name", "/etc/cron.d/citadel.backup"),
        ("cron-tilde-backup-name", "/etc/cron.d/citadel-backup~"),
        ("cron-daily-dotted-name", "/etc/cron.daily/citadel-backup.sh"),
    ] {
        let (tree, _) = Tree::scenario(scenario);
        let before = fs::symlink_metadata(tree.path(dead)).unwrap();
        assert_eq!(
            tree.plan(ID).actions,
            [write_cron_file(&compliant_cron_file())],
            "{scenario}"
        );
        fixed(&tree);
        let after = fs::symlink_metadata(tree.path(dead)).unwrap();
        assert_eq!(
            (before.ino(), before.mtime()),
            (after.ino(), after.mtime()),
            "{scenario}: {dead}"
        );
    }
}

#[test]
fn roots_crontab_gets_mode_0600_and_no_second_job() {
    if !is_root() {
        return;
    }
    let (tree, _) = Tree::scenario("cron-root-crontab-mode-0644");
    let content = tree.read(ROOT_CRONTAB);
    assert_eq!(
        tree.plan(ID).actions,
        [Action::SetOwnerMode {
            path: ROOT_CRONTAB.into(),
            uid: None,
            gid: None,
            mode: Some(0o600),
        }]
    );
    fixed(&tree);
    assert_eq!(tree.mode(ROOT_CRONTAB), 0o600);
    assert_eq!(tree.read(ROOT_CRONTAB), content);
    assert!(!tree.exists(CRON_FILE));
    // Owned by someone else too: given to root (crontab(1) gives a user's crontab to its user).
    let (tree, _) = Tree::scenario("cron-root-crontab-mode-0644");
    tree.chown(ROOT_CRONTAB, 1000, 1000);
    assert_eq!(
        tree.plan(ID).actions,
        [Action::SetOwnerMode {
            path: ROOT_CRONTAB.into(),
            uid: Some(0),
            gid: None,
            mode: Some(0o600),
        }]
    );
    fixed(&tree);
}

#[test]
fn a_crontab_whose_own_job_is_wrong_is_left_and_the_cron_file_written() {
    if !is_root() {
        return;
    }
    let (tree, _) = Tree::scenario("cron-root-crontab-mode-0644");
    tree.write(ROOT_CRONTAB, "30 2 * * 0 /opt/citadel/scripts/citadel-backup.sh\n");
    assert_eq!(tree.plan(ID).actions, [write_cron_file(&compliant_cron_file())]);
    fixed(&tree);
    assert_eq!(tree.mode(ROOT_CRONTAB), 0o644, "not this fixer's to change");
}

#[test]
fn a_missing_cron_d_is_made_first() {
    if !is_root() {
        return;
    }
    let tree = Tree::compliant();
    tree.remove("/etc/cron.d");
    let plan = tree.plan(ID);
    assert_eq!(
        plan.actions,
        [
            Action::CreateDir {
                path: "/etc/cron.d".into(),
                uid: 0,
                gid: 0,
                mode: 0o755,
            },
            write_cron_file(&compliant_cron_file()),
        ]
    );
    fixed(&tree);
}

#[test]
fn a_symlinked_cron_file_is_refused() {
    if !is_root() {
        return;
    }
    let (tree, _) = Tree::scenario("cron-d-symlink-to-root-file");
    tree.chmod("/usr/share/citadel/citadel-backup.cron", 0o666);
    let before = tree.snapshot();
    let plan = tree.plan(ID);
    assert!(plan.actions.is_empty(), "{:?}", plan.actions);
    assert_eq!(plan.refusals[0].subject, CRON_FILE);
    assert!(plan.refusals[0]
        .why
        .contains("a symlink to /usr/share/citadel/citadel-backup.cron"));
    let (report, _) = tree.fix(ID);
    assert_eq!(report.status, FixStatus::Refused);
    assert_eq!(tree.snapshot(), before);
}

#[test]
fn a_policy_cron_never_reads_is_refused() {
    let mut tree = Tree::compliant();
    tree.remove(CRON_FILE);
    tree.policy.backup_job.cron_file = "/etc/cron.d/citadel.backup".into();
    let plan = tree.plan(ID);
    assert!(plan.actions.is_empty(), "{:?}", plan.actions);
    assert!(
        plan.refusals[0].why.contains("Debian cron would never read"),
        "{:?}",
        plan.refusals
    );
    tree.policy.backup_job.cron_file = "/opt/citadel/configs/backup.cron".into();
    let plan = tree.plan(ID);
    assert!(plan.refusals[0].why.contains("cron never reads"), "{:?}", plan.refusals);
    tree.policy.backup_job.cron_file = CRON_FILE.into();
    tree.policy.backup_job.user = "backup".into();
    let plan = tree.plan(ID);
    assert_eq!(plan.refusals[0].subject, "/etc/passwd", "{:?}", plan.refusals);
}

#[test]
fn a_missing_script_is_left_to_the_scripts_fixer() {
    if !is_root() {
        return;
    }
    let (tree, _) = Tree::scenario("cron-backup-script-missing");
    let plan = tree.plan(ID);
    assert!(plan.actions.is_empty(), "{:?}", plan.actions);
    assert_eq!(plan.refusals.len(), 1, "{:?}", plan.refusals);
    assert_eq!(plan.refusals[0].subject, SCRIPT);
    assert!(plan.refusals[0].by_hand.contains("the scripts fix comes first"));
    // Broken job too: the job is still written; the fix is refused until the script is there.
    tree.remove(CRON_FILE);
    let (report, outcome) = tree.fix(ID);
    assert_eq!(report.status, FixStatus::Refused, "{}", report.message);
    assert!(matches!(outcome, Outcome::Fail(_)));
    assert_eq!(tree.read(CRON_FILE), compliant_cron_file());
    // Once the scripts fixer has run, nothing is left to do.
    assert_eq!(tree.fix("scripts").0.status, FixStatus::Fixed);
    assert!(tree.plan(ID).is_empty(), "{:?}", tree.plan(ID));
    assert_eq!(tree.check(ID), Outcome::Pass);
}

fn enable_cron(unit: &str, unit_file: &str) -> Action {
    Action::EnableUnit {
        unit: unit.into(),
        wanted_by: "multi-user.target".into(),
        unit_file: unit_file.into(),
        now: true,
    }
}

#[test]
fn a_disabled_cron_service_is_enabled() {
    if !is_root() {
        return;
    }
    let (tree, _) = Tree::scenario("cron-service-not-enabled");
    assert_eq!(
        tree.plan(ID).actions,
        [enable_cron("cron.service", "/lib/systemd/system/cron.service")]
    );
    let (report, outcome) = tree.fix(ID);
    assert_eq!(report.status, FixStatus::Fixed, "{}", report.message);
    assert_eq!(outcome, Outcome::Pass);
    assert_eq!(
        report.results[0].status,
        ActionStatus::Pending,
        "the start waits for the boot"
    );
    assert!(tree.plan(ID).is_empty(), "{:?}", tree.plan(ID));
}

#[test]
fn a_masked_cron_service_is_refused() {
    if !is_root() {
        return;
    }
    let tree = Tree::compliant();
    tree.link("/etc/systemd/system/cron.service", "/dev/null");
    let plan = tree.plan(ID);
    assert!(plan.actions.is_empty(), "{:?}", plan.actions);
    assert!(plan.refusals[0].by_hand.contains("`systemctl unmask cron.service`"));
}

#[test]
fn a_missing_daemon_is_installed_pending_under_a_tree() {
    if !is_root() {
        return;
    }
    let (tree, _) = Tree::scenario("cron-daemon-missing");
    let install = |manager, package: &str| Action::InstallPackages {
        manager,
        packages: vec![package.into()],
    };
    // Its unit is still enabled: only the package.
    let first = tree.plan(ID);
    assert_eq!(first.actions, [install(PackageManager::Apt, "cron")]);
    let (report, outcome) = tree.fix(ID);
    assert_eq!(report.status, FixStatus::Pending, "{}", report.message);
    assert!(matches!(outcome, Outcome::Fail(_)));
    assert_eq!(tree.plan(ID), first);
    // Package and unit gone, as after `apt purge cron`: install, then enable what it ships.
    tree.remove("/lib/systemd/system/cron.service");
    tree.remove("/etc/systemd/system/multi-user.target.wants/cron.service");
    assert_eq!(
        tree.plan(ID).actions,
        [
            install(PackageManager::Apt, "cron"),
            enable_cron("cron.service", "/lib/systemd/system/cron.service")
        ]
    );
    let (report, _) = tree.fix(ID);
    assert_eq!(report.status, FixStatus::Pending, "{}", report.message);
    // On a dnf distribution: cronie and crond.service.
    tree.write("/etc/os-release", "ID=fedora\n");
    assert_eq!(
        tree.plan(ID).actions,
        [
            install(PackageManager::Dnf, "cronie"),
            enable_cron("crond.service", "/usr/lib/systemd/system/crond.service")
        ]
    );
    // Installed, but its unit file gone: reinstalled, and enabled (and started) again.
    let tree = Tree::compliant();
    tree.remove("/lib/systemd/system/cron.service");
    assert_eq!(
        tree.plan(ID).actions,
        [
            install(PackageManager::Apt, "cron"),
            enable_cron("cron.service", "/lib/systemd/system/cron.service")
        ]
    );
}
