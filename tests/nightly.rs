//! Nightly mode through the binary (SPEC §1, §2 `--report-dir`): dated reports and `latest.*` links, the drift
//! after a change between runs, files in the directory that are not ours (never deleted), retention, a report
//! directory that cannot be written (exit 2 before any check), the `history` table, and `--html`.

mod common;
mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, SystemTime};

use citadel_checks::{Finding, Status};
use citadel_cli::nightly::report_dir::{parse_name, stamp_name};
use citadel_cli::report::{json, CheckReport, PolicyInfo, RunMode, RunReport};
use serde_json::Value;
use support::{assert_exit, citadel_check, materialized, parse_report, stderr, stdout};

/// Runs the checks on `root` in nightly mode into `dir`, with `extra` flags.
fn nightly_run(root: &Path, dir: &Path, extra: &[&str]) -> Output {
    let output = citadel_check()
        .arg("--root")
        .arg(root)
        .arg("--report-dir")
        .arg(dir)
        .args(["--color", "never", "--test-threads", "1"])
        .args(extra)
        .output()
        .unwrap();
    support::assert_no_panic(&output);
    output
}

fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Names of dated reports (by our naming rule) ending in `ext`.
fn dated(dir: &Path, ext: &str) -> Vec<String> {
    names(dir)
        .into_iter()
        .filter(|n| n.ends_with(ext) && parse_name(n).is_some())
        .collect()
}

fn read_json(path: &Path) -> Value {
    parse_report(&fs::read_to_string(path).unwrap())
}

#[test]
fn two_runs_make_two_dated_reports_and_latest_links_to_the_newest() {
    let fixture = materialized("compliant");
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("logs/compliance");

    let first = nightly_run(fixture.path(), &dir, &[]);
    assert_exit(&first, 0);
    assert!(dir.is_dir(), "a missing report directory is created");
    assert!(
        stdout(&first).contains("drift: none to report: no previous report"),
        "{}",
        stdout(&first)
    );
    let second = nightly_run(fixture.path(), &dir, &["-q"]);
    assert_exit(&second, 0);
    assert!(stdout(&second).contains("drift: none since "), "{}", stdout(&second));

    let jsons = dated(&dir, ".json");
    let xmls = dated(&dir, ".xml");
    assert_eq!(jsons.len(), 2, "{:?}", names(&dir));
    assert_eq!(xmls.len(), 2, "{:?}", names(&dir));
    for name in &jsons {
        let (stamp, rest) = name.split_at(16);
        assert!(
            stamp.len() == 16 && stamp.as_bytes()[8] == b'T' && stamp.ends_with('Z'),
            "{name}"
        );
        assert!(rest == ".json" || rest.starts_with('-'), "{name}");
    }
    let newest = jsons.iter().max_by_key(|n| parse_name(n).unwrap().0).unwrap();
    assert_eq!(fs::read_link(dir.join("latest.json")).unwrap(), Path::new(newest));
    assert_eq!(
        fs::read_link(dir.join("latest.xml")).unwrap(),
        Path::new(&newest.replace(".json", ".xml"))
    );
    support::assert_valid_junit(&dir.join("latest.xml"));

    let latest = read_json(&dir.join("latest.json"));
    assert_eq!(latest["drift"]["comparison"], "compared");
    let previous = jsons.iter().find(|n| *n != newest).unwrap();
    assert_eq!(latest["drift"]["previous"]["file"], previous.as_str());
    assert_eq!(latest["drift"]["status_changes"], Value::Array(vec![]));
    let oldest = read_json(&dir.join(previous));
    assert_eq!(oldest["drift"]["comparison"], "no_previous_report");
    // The dated name is the run's start, in UTC, to the second.
    let started = oldest["started_at"].as_str().unwrap().replace(['-', ':'], "");
    assert_eq!(&previous[..16], started.as_str());
}

#[test]
fn a_change_between_runs_is_recorded_as_drift_and_printed() {
    let fixture = materialized("compliant");
    let dir = tempfile::tempdir().unwrap();
    assert_exit(&nightly_run(fixture.path(), dir.path(), &[]), 0);

    fs::remove_file(fixture.path().join("opt/citadel/scripts/verify-models.sh")).unwrap();
    let output = nightly_run(fixture.path(), dir.path(), &["--json", "-"]);
    assert_exit(&output, 1);
    // The JSON report on stdout carries the drift too; the printed block goes to stderr then.
    let report = parse_report(&stdout(&output));
    let drift = &report["drift"];
    assert_eq!(drift["comparison"], "compared");
    assert_eq!(
        drift["status_changes"],
        serde_json::json!([{"check": "scripts", "before": "pass", "after": "fail"}])
    );
    let appeared = drift["findings_appeared"].as_array().unwrap();
    assert!(!appeared.is_empty());
    assert!(appeared.iter().all(|f| f["check"] == "scripts"), "{drift}");
    assert!(
        appeared
            .iter()
            .any(|f| f["subject"].as_str().unwrap().ends_with("verify-models.sh")),
        "{drift}"
    );
    assert_eq!(drift["findings_gone"], Value::Array(vec![]));
    assert_eq!(drift["policy_changed"], false);
    let err = stderr(&output);
    assert!(err.contains("drift since "), "{err}");
    assert!(err.contains("  scripts: pass -> fail\n"), "{err}");
    assert!(
        err.contains("  + scripts: /opt/citadel/scripts/verify-models.sh"),
        "{err}"
    );
    assert_eq!(read_json(&dir.path().join("latest.json"))["drift"], *drift);

    // Put it back: the findings went away.
    fs::copy(
        common::workspace().join("fixtures/compliant/root/opt/citadel/scripts/verify-models.sh"),
        fixture.path().join("opt/citadel/scripts/verify-models.sh"),
    )
    .unwrap();
    let output = nightly_run(fixture.path(), dir.path(), &["-q"]);
    assert_exit(&output, 0);
    let drift = &read_json(&dir.path().join("latest.json"))["drift"];
    assert_eq!(drift["status_changes"][0]["after"], "pass", "{drift}");
    assert_eq!(drift["findings_gone"].as_array().unwrap().len(), appeared.len());
    assert!(stdout(&output).contains("  - scripts: "), "{}", stdout(&output));
}

#[test]
fn foreign_files_and_a_corrupt_report_are_warned_about_and_never_deleted() {
    let fixture = materialized("compliant");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let hour_ago = stamp_name(SystemTime::now() - Duration::from_secs(3600));
    let corrupt_previous = format!("{hour_ago}.json");
    fs::write(
        d.join(&corrupt_previous),
        "{\"schema\": \"citadel-check/report/v1\", trunc",
    )
    .unwrap();
    // Old enough for retention, but not recognisably ours: kept.
    fs::write(d.join("20200101T000000Z.json"), "not json at all").unwrap();
    fs::write(d.join("20200101T000000Z.xml"), "<html/>").unwrap();
    fs::write(d.join("notes.txt"), "the operator's own notes").unwrap();
    fs::create_dir(d.join("archive")).unwrap();
    fs::write(d.join("20200101T000000Z.json~"), "an editor's backup").unwrap();
    let before = names(d);

    let output = nightly_run(fixture.path(), d, &["-q"]);
    assert_exit(&output, 0);
    let err = stderr(&output);
    for name in ["notes.txt", "archive", "20200101T000000Z.json~"] {
        assert!(
            err.contains(&format!(
                "warning: {}: not a citadel-check report; left alone",
                d.join(name).display()
            )),
            "{name}: {err}"
        );
    }
    assert!(
        err.contains(&format!("{corrupt_previous}: skipped as the previous report: not JSON")),
        "{err}"
    );
    assert!(
        err.contains("20200101T000000Z.json: older than 90 days but not deleted: not JSON"),
        "{err}"
    );
    assert!(
        err.contains("20200101T000000Z.xml: older than 90 days but not deleted"),
        "{err}"
    );
    let out = stdout(&output);
    assert!(
        out.contains(&format!(
            "drift: no comparable previous report: {corrupt_previous}: not JSON"
        )),
        "{out}"
    );
    let latest = read_json(&d.join("latest.json"));
    assert_eq!(latest["drift"]["comparison"], "no_comparable_previous_report");
    assert_eq!(latest["drift"]["previous"]["file"], corrupt_previous.as_str());

    let after = names(d);
    for name in &before {
        assert!(after.contains(name), "{name} was deleted: {after:?}");
    }
    assert_eq!(
        fs::read_to_string(d.join("notes.txt")).unwrap(),
        "the operator's own notes"
    );
    assert_eq!(
        after.len(),
        before.len() + 4,
        "two dated reports and two links: {after:?}"
    );
}

#[test]
fn retention_deletes_only_our_own_old_reports() {
    let fixture = materialized("compliant");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    assert_exit(&nightly_run(fixture.path(), d, &["-q"]), 0);
    let (json, xml) = (dated(d, ".json")[0].clone(), dated(d, ".xml")[0].clone());
    // Reports of earlier nights, faked by their names (retention reads the age from the name).
    let days_ago = |n: u64| stamp_name(SystemTime::now() - Duration::from_secs(n * 86_400 + 60));
    for n in [40, 31, 29, 2] {
        fs::copy(d.join(&json), d.join(format!("{}.json", days_ago(n)))).unwrap();
        fs::copy(d.join(&xml), d.join(format!("{}.xml", days_ago(n)))).unwrap();
    }
    fs::write(d.join("keep-me.json"), "{}").unwrap();

    let output = nightly_run(fixture.path(), d, &["-q", "--keep-days", "30"]);
    assert_exit(&output, 0);
    assert!(!stderr(&output).contains("not deleted"), "{}", stderr(&output));
    let left = names(d);
    for n in [40, 31] {
        assert!(!left.contains(&format!("{}.json", days_ago(n))), "{left:?}");
        assert!(!left.contains(&format!("{}.xml", days_ago(n))), "{left:?}");
    }
    for n in [29, 2] {
        assert!(left.contains(&format!("{}.json", days_ago(n))), "{left:?}");
        assert!(left.contains(&format!("{}.xml", days_ago(n))), "{left:?}");
    }
    assert!(left.contains(&"keep-me.json".to_string()) && left.contains(&json));
    assert_eq!(dated(d, ".json").len(), 4, "{left:?}");
}

#[test]
fn a_report_dir_that_cannot_be_written_exits_2_before_any_check() {
    let fixture = materialized("compliant");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    fs::write(&file, "").unwrap();
    for report_dir in [file.clone(), file.join("compliance")] {
        let output = nightly_run(
            fixture.path(),
            &report_dir,
            &["--json", &dir.path().join("r.json").to_string_lossy()],
        );
        assert_exit(&output, 2);
        let first = stderr(&output).lines().next().unwrap_or_default().to_string();
        assert!(
            first.starts_with(&format!(
                "citadel-check: --report-dir {}: cannot write reports there: ",
                report_dir.display()
            )),
            "{first}"
        );
        assert!(stdout(&output).is_empty(), "no check ran: {}", stdout(&output));
        assert!(!dir.path().join("r.json").exists(), "no report was written");
    }

    // A read-only filesystem (root ignores permission bits, not a read-only mount): a read-only bind mount in a
    // private mount namespace.
    let ro = tempfile::tempdir().unwrap();
    let script = format!(
        "mount --bind '{d}' '{d}' && mount -o remount,bind,ro '{d}' && exec '{bin}' --root '{root}' --report-dir '{d}/compliance' -q",
        d = ro.path().display(),
        bin = env!("CARGO_BIN_EXE_citadel-check"),
        root = fixture.path().display()
    );
    let output = Command::new("unshare").args(["-m", "sh", "-c", &script]).output();
    match output {
        Ok(output) if output.status.code() != Some(2) && stderr(&output).contains("unshare") => {
            eprintln!(
                "SKIPPED the read-only mount case: unshare -m is not permitted here: {}",
                stderr(&output)
            )
        }
        Ok(output) => {
            assert_exit(&output, 2);
            let err = stderr(&output);
            assert!(
                err.contains("cannot write reports there") && err.contains("Read-only file system"),
                "{err}"
            );
            assert!(stdout(&output).is_empty(), "no check ran");
        }
        Err(e) => eprintln!("SKIPPED the read-only mount case: cannot run unshare: {e}"),
    }
}

#[test]
fn html_and_keep_days_are_checked_before_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&[&str], &str); 4] = [
        (&["--html", "-", "--json", "-"], "--json and --html: both go to stdout"),
        (
            &["--html", "/nonexistent/dir/p.html"],
            "--html /nonexistent/dir/p.html: cannot write the page there",
        ),
        (&["--keep-days", "5"], "--report-dir"),
        (&["--report-dir", "/tmp/x", "--keep-days", "0"], "--keep-days"),
    ];
    for (args, expected) in cases {
        let output = citadel_check().current_dir(dir.path()).args(args).output().unwrap();
        assert_exit(&output, 2);
        assert!(stderr(&output).contains(expected), "{args:?}: {}", stderr(&output));
        assert!(!stdout(&output).contains("running"), "{args:?}");
    }
}

#[test]
fn history_as_a_filter_or_after_flags_is_refused() {
    let output = support::run(&[std::ffi::OsStr::new("-q"), std::ffi::OsStr::new("history")]);
    assert_exit(&output, 2);
    assert!(
        stderr(&output).contains("`history` is a subcommand"),
        "{}",
        stderr(&output)
    );
    // So no check may ever need it as a FILTER.
    assert!(support::CHECK_IDS.iter().all(|id| !id.contains("history")));
}

// ---- history ----

/// A hand-made run: `failing` checks fail (`!name`: error), the others of the four pass.
fn made_run(unix: u64, failing: &[&str]) -> RunReport {
    let checks = ["storage_mounts", "mount_options", "symlinks", "backup_cron"]
        .iter()
        .map(|id| {
            let status = if failing.contains(id) {
                Status::Fail
            } else if failing.contains(&format!("!{id}").as_str()) {
                Status::Error
            } else {
                Status::Pass
            };
            CheckReport {
                id: id.to_string(),
                title: format!("title of {id}"),
                status,
                duration: Duration::from_micros(10),
                findings: if status == Status::Fail {
                    vec![Finding::new(format!("/subject/of/{id}"), "x", "y", "fix it")]
                } else {
                    vec![]
                },
                reason: (status == Status::Error).then(|| "permission denied".to_string()),
                before: None,
                fix: None,
            }
        })
        .collect();
    RunReport {
        tool_version: "0.1.0".into(),
        host: "citadel-01".into(),
        root: PathBuf::from("/"),
        mode: RunMode::Check,
        started_at: SystemTime::UNIX_EPOCH + Duration::from_secs(unix),
        duration: Duration::from_millis(3),
        policy: PolicyInfo {
            source: "embedded".into(),
            sha256: "0".repeat(64),
        },
        checks,
        drift: None,
    }
}

/// Five nights (2025-01-27 … 2025-01-31 at 02:30 UTC) in a report directory, plus a corrupt report and a
/// foreign file.
fn history_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let night = |n: u64| 1_737_945_000 + n * 86_400; // 2025-01-27T02:30:00Z
    let runs: [&[&str]; 5] = [
        &[],
        &["symlinks"],
        &["symlinks", "!backup_cron"],
        &["!backup_cron"],
        &["symlinks", "backup_cron", "mount_options"],
    ];
    for (n, failing) in runs.iter().enumerate() {
        let run = made_run(night(n as u64), failing);
        let name = stamp_name(run.started_at);
        fs::write(dir.path().join(format!("{name}.json")), json::to_json(&run)).unwrap();
    }
    // A skipped check does not break a streak; a pass does.
    let mut skipped = made_run(night(3) + 3600, &["symlinks"]);
    skipped.checks[3].status = Status::Skip;
    skipped.checks[3].reason = Some("not selected".into());
    fs::write(
        dir.path().join(format!("{}.json", stamp_name(skipped.started_at))),
        json::to_json(&skipped),
    )
    .unwrap();
    fs::write(dir.path().join("20250129T120000Z.json"), "{\"truncated").unwrap();
    fs::write(dir.path().join("README"), "ours").unwrap();
    dir
}

#[test]
fn history_table_newest_first_with_failing_since() {
    let dir = history_dir();
    let output = citadel_check().arg("history").arg(dir.path()).output().unwrap();
    assert_exit(&output, 0);
    insta::assert_snapshot!("history_table", stdout(&output));
    let err = stderr(&output);
    assert!(err.contains("20250129T120000Z.json: skipped: not JSON"), "{err}");
    assert!(
        err.contains("README: skipped: not a citadel-check report; left alone"),
        "{err}"
    );
    assert_eq!(names(dir.path()).len(), 8, "history reads only");
}

#[test]
fn history_of_a_missing_directory_exits_2_and_an_empty_one_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let output = citadel_check()
        .arg("history")
        .arg(dir.path().join("none"))
        .output()
        .unwrap();
    assert_exit(&output, 2);
    assert!(stderr(&output).starts_with(&format!(
        "citadel-check: history {}: cannot read the report directory",
        dir.path().join("none").display()
    )));
    let output = citadel_check().arg("history").arg(dir.path()).output().unwrap();
    assert_exit(&output, 0);
    assert_eq!(stdout(&output), "no reports yet\n");
}

#[test]
fn html_page_with_the_history_chart() {
    let fixture = materialized("compliant");
    let dir = history_dir();
    let page = dir.path().join("latest.html");
    fs::remove_file(fixture.path().join("opt/citadel/models")).unwrap();
    // The made-up nights are in 2025: keep them.
    let keep = ["-q", "--keep-days", "100000", "--html", &page.to_string_lossy()];
    let output = nightly_run(fixture.path(), dir.path(), &keep);
    assert_exit(&output, 1);
    let html = fs::read_to_string(&page).unwrap();
    assert!(html.contains("is NOT compliant"));
    assert!(html.contains("<h2>History</h2>"));
    // Six readable runs from before, and this one.
    assert!(html.contains("The last 7 of 7 runs"), "{html}");
    assert_eq!(html.matches("<th class=\"run\"").count(), 7);
    assert!(html.contains("<b>symlinks</b> failing since "), "{html}");
    // The page is ours: a second run does not warn about it.
    let output = nightly_run(fixture.path(), dir.path(), &keep);
    assert!(!stderr(&output).contains("latest.html"), "{}", stderr(&output));
}

#[test]
fn the_schema_describes_the_drift_and_is_not_vacuous_about_it() {
    let path = common::workspace().join("schemas/report-v1.schema.json");
    let schema: Value = serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let mut run = made_run(1_737_945_000, &["symlinks"]);
    let previous = citadel_cli::nightly::snapshot::Snapshot::of_run(&made_run(1_737_945_000 - 86_400, &[]));
    let current = citadel_cli::nightly::snapshot::Snapshot::of_run(&run);
    run.drift = Some(citadel_cli::nightly::drift::Drift::compare(
        "p.json", &previous, &current,
    ));
    let good: Value = serde_json::from_str(&json::to_json(&run)).unwrap();
    assert_eq!(good["drift"]["status_changes"][0]["after"], "fail");
    assert!(validator.is_valid(&good), "{good:#}");
    let broken = |edit: &dyn Fn(&mut Value)| {
        let mut report = good.clone();
        edit(&mut report);
        validator.is_valid(&report)
    };
    assert!(!broken(&|r| {
        r["drift"].as_object_mut().unwrap().remove("previous");
    }));
    assert!(
        !broken(&|r| r["drift"]["comparison"] = "no_previous_report".into()),
        "changes without a comparison"
    );
    assert!(!broken(&|r| r["drift"]["status_changes"][0]["after"] = "passed".into()));
    assert!(!broken(&|r| r["drift"]["surprise"] = 1.into()));
}
