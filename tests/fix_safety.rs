//! The safety rules of fix mode (SPEC §4), run as processes: idempotence on a compliant tree, `--dry-run`
//! changing nothing, one `--fix` at a time, no fix on `/` without root, the audit log, the reports of a fix run,
//! and a kill before every action of a full plan (`CITADEL_CHECK_FAULT_KILL_AT`, read by `fixers/src/apply.rs`).
//!
//! Fixture trees need root (their files are owned by uid 0); as another user those tests say so and return. The
//! test of `--fix` without root runs the binary as `nobody` through `setpriv` when the tests run as root, and
//! as the current user otherwise.

mod common;
mod support;

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::MetadataExt;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::fixes::{self, fix_command, FILE_LEVEL};
use support::tree::{self, Tree, AUDIT_LOG, BACKUPS, LOCK, TEMP_MARK};
use support::{assert_exit, citadel_check, materialized, parse_report, stderr, stdout};

/// The scenario with the fullest plan: most of the layout absent, the mounts present.
const FULL_PLAN: &str = "fresh-host";

/// True (and says why on stderr) when fixture trees cannot be made: they need files owned by root.
fn cannot_make_fixtures(test: &str) -> bool {
    if common::is_root() {
        return false;
    }
    eprintln!("{test}: SKIPPED: not root, and fixture trees need files owned by uid 0");
    true
}

fn declared_fixes(name: &str) -> BTreeMap<String, String> {
    common::load_scenario(name).expect("scenario").fix
}

/// `--fix` on `root` with the report on stdout; the report, checked as `tests/fix_scenarios.rs` checks it.
fn fix(root: &Path) -> Value {
    let output = fix_command(root, None, &[]).output().unwrap();
    fixes::report_of(&output).unwrap_or_else(|e| panic!("{e}"))
}

/// Which fixers refused, for a failure message: until every fixer has landed, placeholders refuse.
fn refusals(report: &Value) -> String {
    fixes::checks(report)
        .iter()
        .filter(|(_, c)| fixes::fix_status(c) == "refused")
        .map(|(id, c)| format!("\n  {id}: {}", fixes::fix_message(c)))
        .collect()
}

// ---- idempotence and dry runs ----

#[test]
fn fix_on_a_compliant_tree_changes_nothing_not_even_an_mtime() {
    if cannot_make_fixtures("fix_on_a_compliant_tree_changes_nothing_not_even_an_mtime") {
        return;
    }
    let fixture = materialized("compliant");
    let before = tree::snapshot(fixture.path());
    let output = fix_command(fixture.path(), None, &[]).output().unwrap();
    assert_exit(&output, 0);
    let report = parse_report(&stdout(&output));
    assert_eq!(report["mode"], "fix");
    for (id, check) in fixes::checks(&report) {
        assert_eq!(check["before"], "pass", "{id}");
        assert_eq!(fixes::fix_status(check), "not_needed", "{id}: {check}");
    }
    let changed = before.differences(&tree::snapshot(fixture.path()));
    assert!(
        changed.is_empty(),
        "--fix on a compliant tree changed it (no lock, no audit log may appear either):\n{}",
        changed.join("\n")
    );
}

/// `--fix --dry-run` on `root`, the JSON report in a file outside the tree and the pretty output on stdout.
fn dry_run(root: &Path) -> (Output, Value) {
    let out = tempfile::tempdir().unwrap();
    let json = out.path().join("plan.json");
    let output = citadel_check()
        .args(["--fix", "--dry-run", "--color", "never", "--root"])
        .arg(root)
        .arg("--json")
        .arg(&json)
        .output()
        .unwrap();
    assert_exit(&output, 1);
    let report = parse_report(&fs::read_to_string(&json).unwrap());
    (output, report)
}

#[test]
fn dry_run_changes_nothing_and_prints_the_plan_with_a_diff_per_file() {
    if cannot_make_fixtures("dry_run_changes_nothing_and_prints_the_plan_with_a_diff_per_file") {
        return;
    }
    // fresh-host: the whole plan (its writes wait for the directories, so no diff); the other two write files.
    let (_, full) = dry_run_scenario(FULL_PLAN);
    assert!(full.contains("nothing was changed"), "{full}");
    let (diffs, new_file) = dry_run_scenario("report-many-failures");
    assert!(diffs > 0, "report-many-failures: the plan writes no file");
    assert!(
        new_file.contains("--- /dev/null\n+++ b/etc/cron.d/citadel-backup\n"),
        "no diff for the new cron.d file in the output:\n{new_file}"
    );
    let (diffs, changed_file) = dry_run_scenario("script-modified");
    assert!(diffs > 0, "script-modified: the plan writes no file");
    assert!(
        changed_file
            .contains("--- a/opt/citadel/scripts/storage-monitor.sh\n+++ b/opt/citadel/scripts/storage-monitor.sh\n"),
        "no diff for the modified script in the output:\n{changed_file}"
    );
}

/// Dry-runs a scenario: asserts it changes nothing and plans (or waits for an earlier fix) for every failing
/// check; returns how many file writes carry a diff, and the output.
fn dry_run_scenario(name: &str) -> (usize, String) {
    let fixture = materialized(name);
    let before = tree::snapshot(fixture.path());
    let (output, report) = dry_run(fixture.path());
    let changed = before.differences(&tree::snapshot(fixture.path()));
    assert!(
        changed.is_empty(),
        "--dry-run changed the tree:\n{}",
        changed.join("\n")
    );

    assert_eq!(report["mode"], "dry-run");
    let mut diffs = 0;
    for (id, check) in fixes::checks(&report) {
        assert_eq!(check["status"], check["before"], "{id}: a dry run changes no status");
        if check["before"] == "pass" {
            assert_eq!(fixes::fix_status(check), "not_needed", "{id}");
            continue;
        }
        let actions = check["fix"]["actions"].as_array().unwrap();
        // A dry run plans every fixer on the unchanged system: a fix that needs what an earlier fixer makes (a
        // directory) says so, naming that fixer, which must itself have a plan.
        if let Some(earlier) = waits_for_earlier_fix(check) {
            let earlier_check = &report["checks"]
                .as_array()
                .unwrap()
                .iter()
                .find(|c| c["id"] == earlier.as_str())
                .unwrap_or_else(|| panic!("{id}: waits for an unknown fix {earlier}"));
            assert!(
                fixes::fix_status(earlier_check) == "planned" || waits_for_earlier_fix(earlier_check).is_some(),
                "{id} waits for {earlier}, which has no plan: {}",
                fixes::fix_message(earlier_check)
            );
            assert!(
                citadel_fixers::FIX_ORDER.iter().position(|f| *f == earlier.as_str())
                    < citadel_fixers::FIX_ORDER.iter().position(|f| *f == id.as_str()),
                "{id} waits for {earlier}, which does not run before it"
            );
            continue;
        }
        assert!(
            fixes::fix_status(check) == "planned" && !actions.is_empty(),
            "{id}: a failing file-level check gets a plan, got {}: {}",
            fixes::fix_status(check),
            fixes::fix_message(check)
        );
        for action in actions {
            assert!(action.get("result").is_none(), "{id}: nothing is applied in a dry run");
            if action["kind"] == "write_file" {
                let diff = action["diff"]
                    .as_str()
                    .unwrap_or_else(|| panic!("{id}: a write without a diff"));
                assert!(diff.starts_with("--- "), "{diff}");
                diffs += 1;
            }
        }
    }
    let out = stdout(&output);
    assert!(out.contains("nothing was changed"), "{name}: {out}");
    (diffs, out)
}

#[test]
fn dry_run_on_slash_needs_no_root_and_changes_nothing() {
    let lock_before = fs::symlink_metadata("/run/citadel-check.lock").ok().map(|m| m.mtime());
    let output = as_nobody(&["--fix", "--dry-run", "-q", "--color", "never"]);
    // This machine is no Citadel: not compliant, but the dry run ran.
    assert_exit(&output, 1);
    assert!(!stderr(&output).contains("needs root"), "{}", stderr(&output));
    let lock_after = fs::symlink_metadata("/run/citadel-check.lock").ok().map(|m| m.mtime());
    assert_eq!(lock_before, lock_after, "a dry run takes no lock");
}

// ---- one fix at a time; root on / ----

#[test]
fn a_second_fix_waits_for_the_lock_then_exits_2_and_changes_nothing() {
    if cannot_make_fixtures("a_second_fix_waits_for_the_lock_then_exits_2_and_changes_nothing") {
        return;
    }
    let fixture = materialized(FULL_PLAN);
    // The first fix: this process, holding the flock every --fix on this root takes.
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(fixture.path().join(LOCK))
        .unwrap();
    lock.lock().unwrap();
    let before = tree::snapshot(fixture.path());
    let start = Instant::now();
    let output = fix_command(fixture.path(), None, &[]).output().unwrap();
    let waited = start.elapsed();
    assert_exit(&output, 2);
    let err = stderr(&output);
    let first = err.lines().next().unwrap_or_default();
    assert!(
        first.contains("another citadel-check --fix is running") && first.contains("nothing was changed"),
        "{err}"
    );
    assert!(
        waited >= Duration::from_secs(9),
        "it waits briefly first, waited {waited:?}"
    );
    assert!(stdout(&output).is_empty(), "no report is written: {}", stdout(&output));
    let changed = before.differences(&tree::snapshot(fixture.path()));
    assert!(
        changed.is_empty(),
        "a fix that did not get the lock changed:\n{}",
        changed.join("\n")
    );
    drop(lock);
    let report = fix(fixture.path());
    assert!(fixes::action_count(&report) > 0 || !refusals(&report).is_empty());
}

/// Runs the binary with `args` as an unprivileged user: `nobody` through setpriv when the tests run as root,
/// else as the current user.
fn as_nobody(args: &[&str]) -> Output {
    let binary = env!("CARGO_BIN_EXE_citadel-check");
    let mut cmd = if common::is_root() {
        let mut cmd = Command::new("setpriv");
        cmd.args(["--reuid", "65534", "--regid", "65534", "--clear-groups", "--"])
            .arg(binary);
        cmd
    } else {
        Command::new(binary)
    };
    // Somewhere nobody may be: the test's own directory may be private.
    cmd.current_dir("/").args(args).output().expect("setpriv runs")
}

/// What a fix on / would write first: the lock and the audit log.
fn traces_on_slash() -> Vec<Option<(u64, i64, i64)>> {
    ["/run/citadel-check.lock", "/opt/citadel/logs/citadel-check.log"]
        .iter()
        .map(|path| {
            fs::symlink_metadata(path)
                .ok()
                .map(|m| (m.size(), m.mtime(), m.mtime_nsec()))
        })
        .collect()
}

#[test]
fn without_root_fix_on_slash_stops_before_anything() {
    let before = traces_on_slash();
    for args in [&["--fix"][..], &["--fix", "--json", "-", "symlinks"]] {
        let output = as_nobody(args);
        assert_exit(&output, 2);
        let err = stderr(&output);
        let first = err.lines().next().unwrap_or_default();
        assert!(
            first.contains("root") && first.contains("sudo") && first.contains("nothing was changed"),
            "{err}"
        );
        assert!(!err.contains("running"), "no check runs before it stops:\n{err}");
        assert!(stdout(&output).is_empty(), "no report: {}", stdout(&output));
    }
    assert_eq!(before, traces_on_slash(), "no lock taken, nothing logged");
}

// ---- audit log and reports ----

#[test]
fn the_audit_log_is_json_lines_one_per_action_tried() {
    if cannot_make_fixtures("the_audit_log_is_json_lines_one_per_action_tried") {
        return;
    }
    let fixture = materialized(FULL_PLAN);
    let report = fix(fixture.path());
    let actions = fixes::action_count(&report);
    let log = fs::read_to_string(fixture.path().join(AUDIT_LOG))
        .unwrap_or_else(|e| panic!("no audit log ({e}):{}", refusals(&report)));
    let problems = fixes::audit_log_problems(&log);
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert_eq!(log.lines().count(), actions, "one line per action tried:\n{log}");
    for line in log.lines() {
        let record: Value = serde_json::from_str(line).unwrap();
        let check = record["check"].as_str().unwrap();
        assert!(support::CHECK_IDS.contains(&check), "{line}");
        assert!(record["time"].as_str().unwrap().ends_with('Z'), "{line}");
    }
}

#[test]
fn fix_reports_say_before_and_fix_in_every_format() {
    if cannot_make_fixtures("fix_reports_say_before_and_fix_in_every_format") {
        return;
    }
    let fixture = materialized(FULL_PLAN);
    let out = tempfile::tempdir().unwrap();
    let (json, junit, prom) = (
        out.path().join("r.json"),
        out.path().join("r.xml"),
        out.path().join("m.prom"),
    );
    let output = citadel_check()
        .args(["--fix", "--color", "never", "--test-threads", "1", "--root"])
        .arg(fixture.path())
        .arg("--json")
        .arg(&json)
        .arg("--junit")
        .arg(&junit)
        .arg("--prometheus")
        .arg(&prom)
        .output()
        .unwrap();
    support::assert_no_panic(&output);
    let report = parse_report(&fs::read_to_string(&json).unwrap());
    assert_eq!(report["mode"], "fix");
    support::assert_valid_junit(&junit);
    let xml = fs::read_to_string(&junit).unwrap();
    for (id, check) in fixes::checks(&report) {
        assert!(check.get("before").is_some(), "{id}");
        if check["before"] == "fail" {
            assert!(
                xml.contains(&format!("before: fail\nfix {}: ", fixes::fix_status(check))),
                "{id}: no fix in system-out:\n{xml}"
            );
        }
    }
    assert!(fs::read_to_string(&prom).unwrap().contains("citadel_check_compliant "));
    // The pretty output: each fix with its before and after, then the final results in libtest's form.
    let text = stdout(&output);
    assert!(text.contains("fix directory_structure ... "), "{text}");
    assert!(text.contains("(fail -> "), "{text}");
    assert!(text.contains("running 10 tests"), "{text}");
    assert!(text.contains("citadel-check: "), "{text}");
}

// ---- killed at every action ----

/// The entries a killed run may leave: each one as it was before the fix or as a complete fix leaves it, and no
/// temporary file. The audit log, the lock and the dated backups are judged elsewhere.
fn half_done_problems(killed: &Tree, before: &Tree, after: &Tree) -> Vec<String> {
    let mut problems = Vec::new();
    for (path, entry) in &killed.without(&[AUDIT_LOG, LOCK, BACKUPS]).entries {
        if path.to_string_lossy().contains(TEMP_MARK) {
            problems.push(format!("a temporary file was left: /{}", path.display()));
            continue;
        }
        let old = before.entries.get(path).is_some_and(|e| e.same_state(entry));
        let new = after.entries.get(path).is_some_and(|e| e.same_state(entry));
        if !old && !new {
            problems.push(format!(
                "/{} is neither as before nor as after the fix: {entry:?}",
                path.display()
            ));
        }
    }
    problems
}

#[test]
fn killed_before_any_action_every_file_is_whole_and_the_next_fix_converges() {
    if cannot_make_fixtures("killed_before_any_action_every_file_is_whole_and_the_next_fix_converges") {
        return;
    }
    let declared = declared_fixes(FULL_PLAN);
    let clean = materialized(FULL_PLAN);
    let before = tree::snapshot(clean.path());
    let report = fix(clean.path());
    let after = tree::snapshot(clean.path());
    let total = fixes::action_count(&report);
    assert!(
        total > 0,
        "the fix of {FULL_PLAN} applied no action: nothing to kill. Refusals:{}",
        refusals(&report)
    );

    let mut problems = Vec::new();
    for n in 1..=total {
        let dir = materialized(FULL_PLAN);
        let output = fix_command(dir.path(), None, &[])
            .env("CITADEL_CHECK_FAULT_KILL_AT", n.to_string())
            .output()
            .unwrap();
        if output.status.signal() != Some(nix::libc::SIGKILL) {
            problems.push(format!(
                "action {n}/{total}: the run was not killed ({:?}); stderr:\n{}",
                output.status,
                stderr(&output)
            ));
            continue;
        }
        let killed = tree::snapshot(dir.path());
        for problem in half_done_problems(&killed, &before, &after) {
            problems.push(format!("killed before action {n}/{total}: {problem}"));
        }
        let log = fs::read_to_string(dir.path().join(AUDIT_LOG)).unwrap_or_default();
        if log.lines().count() != n - 1 {
            problems.push(format!(
                "killed before action {n}/{total}: the audit log has {} lines, expected {}",
                log.lines().count(),
                n - 1
            ));
        }

        let rerun = fix_command(dir.path(), None, &[]).output().unwrap();
        match fixes::report_of(&rerun) {
            Ok(report) => {
                for problem in fixes::problems_after_fix(&report, &declared) {
                    problems.push(format!(
                        "after a kill before action {n}/{total}, the next --fix: {problem}"
                    ));
                }
            }
            Err(e) => problems.push(format!("after a kill before action {n}/{total}, the next --fix: {e}")),
        }
        let converged = tree::snapshot(dir.path()).without(&[AUDIT_LOG, BACKUPS]);
        for problem in converged.state_differences(&after.without(&[AUDIT_LOG, BACKUPS])) {
            problems.push(format!(
                "after a kill before action {n}/{total} and a new --fix, unlike a clean fix: {problem}"
            ));
        }
        let log = fs::read_to_string(dir.path().join(AUDIT_LOG)).unwrap_or_default();
        for problem in fixes::audit_log_problems(&log) {
            problems.push(format!("after a kill before action {n}/{total}: {problem}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    for id in FILE_LEVEL {
        let check = &fixes::checks(&report)[id];
        assert_eq!(check["status"], "pass", "{id} after the clean fix: {check}");
    }
}

/// The lock file `--fix` takes is a plain file the test can hold (`File::lock` is the same flock).
#[test]
fn the_lock_the_test_holds_is_the_one_fix_takes() {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir(dir.path().join("run")).unwrap();
    let file = File::create(dir.path().join(LOCK)).unwrap();
    file.lock().unwrap();
    let root = citadel_checks::SystemRoot::new(dir.path());
    let err = citadel_fixers::lock::acquire(&root, Duration::ZERO).unwrap_err();
    assert!(
        err.to_string().contains("another citadel-check --fix is running"),
        "{err}"
    );
}

/// The earlier fixer a dry-run fix waits for ("the X fix comes first"), when every refusal of it says so.
fn waits_for_earlier_fix(check: &serde_json::Value) -> Option<String> {
    let refusals = check["fix"]["refusals"].as_array()?;
    let mut earlier = None;
    for refusal in refusals {
        let by_hand = refusal["by_hand"].as_str()?;
        let rest = by_hand.strip_prefix("the ")?;
        let (fix, _) = rest.split_once(" fix comes first")?;
        earlier = Some(fix.to_string());
    }
    earlier
}
