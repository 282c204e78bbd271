//! The reports, pinned by insta snapshots for two scenarios (`compliant`, `report-many-failures`): the JSON
//! report (timestamps, durations, host and root redacted), the JUnit XML (the same, filtered), and the pretty
//! test output. Every JUnit file is validated against the shared JUnit XSD with xmllint, including one built
//! from a hand-made run whose findings hold ANSI escapes, NUL, `<&>`, `]]>` and invalid UTF-8.
//!
//! Snapshots are created locally (`INSTA_UPDATE=always cargo test --test reports`, then review the diff), never
//! in CI, where a new or changed snapshot fails.

mod common;
mod support;

use std::fs;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use citadel_checks::{Finding, Status};
use citadel_cli::report::{
    json, junit, prometheus, ActionReport, ActionResult, ActionStatus, CheckReport, FixReport, FixStatus, PolicyInfo,
    Refusal, RunMode, RunReport,
};
use serde_json::Value;
use sha2::{Digest, Sha256};
use support::{assert_no_panic, citadel_check, materialized, parse_report, stdout};

/// What one run on a scenario produced.
struct Produced {
    json: Value,
    junit: String,
    pretty: String,
}

fn produce(scenario: &str) -> Produced {
    let fixture = materialized(scenario);
    let out = tempfile::tempdir().unwrap();
    let (json_path, junit_path) = (out.path().join("report.json"), out.path().join("report.xml"));
    let output = citadel_check()
        .arg("--root")
        .arg(fixture.path())
        .arg("--json")
        .arg(&json_path)
        .arg("--junit")
        .arg(&junit_path)
        .args(["--format", "pretty", "--color", "never", "--test-threads", "1"])
        .output()
        .unwrap();
    assert_no_panic(&output);
    let json = parse_report(&fs::read_to_string(&json_path).unwrap());
    assert_eq!(json["root"], fixture.path().to_str().unwrap());
    support::assert_valid_junit(&junit_path);
    Produced {
        json,
        junit: fs::read_to_string(&junit_path).unwrap(),
        pretty: stdout(&output),
    }
}

fn embedded_policy_sha256() -> String {
    Sha256::digest(citadel_checks::policy::EMBEDDED_POLICY.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn snapshot_all(scenario: &str) {
    let produced = produce(scenario);
    assert_eq!(produced.json["policy"]["sha256"], embedded_policy_sha256());
    assert_eq!(
        produced.json["host"],
        fs::read_to_string("/proc/sys/kernel/hostname").unwrap().trim()
    );

    insta::assert_json_snapshot!(format!("{scenario}.json"), produced.json, {
        ".host" => "[host]",
        ".root" => "[root]",
        ".started_at" => "[started_at]",
        ".duration_ms" => "[duration_ms]",
        ".policy.sha256" => "[sha256 of the embedded policy]",
        ".tool.version" => "[version]",
        ".checks[].duration_ms" => "[duration_ms]",
    });
    insta::with_settings!({filters => vec![
        (r#"hostname="[^"]*""#, r#"hostname="[host]""#),
        (r#"timestamp="[^"]*""#, r#"timestamp="[timestamp]""#),
        (r#"time="[0-9.]*""#, r#"time="[time]""#),
        // One element a line, so that a changed test case reads as a changed line (the file itself has none).
        (r"><(/?testsuites?|testcase)\b", ">\n<$1"),
    ]}, {
        insta::assert_snapshot!(format!("{scenario}.junit.xml"), produced.junit);
    });
    insta::with_settings!({filters => vec![(r"finished in [0-9.]+s", "finished in [time]")]}, {
        insta::assert_snapshot!(format!("{scenario}.pretty.txt"), produced.pretty);
    });
}

#[test]
fn compliant_reports() {
    snapshot_all("compliant");
}

#[test]
fn many_failures_reports() {
    snapshot_all("report-many-failures");
}

/// A run no real system produces: every status, and finding fields full of bytes that break naive XML.
fn hostile_run() -> RunReport {
    let from_file_name = String::from_utf8_lossy(b"/mnt/citadel-models/active/\xff\xfe\xc3(model").into_owned();
    let check = |id: &str, status, findings: Vec<Finding>, reason: Option<&str>| CheckReport {
        id: id.into(),
        title: format!("title of {id} <&>"),
        status,
        duration: Duration::from_micros(1234),
        findings,
        reason: reason.map(str::to_string),
        before: None,
        fix: None,
    };
    RunReport {
        tool_version: "0.0.0".into(),
        host: "host\u{1b}[7m<&>\0".into(),
        root: PathBuf::from("/srv/<image>&"),
        mode: RunMode::Check,
        started_at: SystemTime::UNIX_EPOCH + Duration::from_secs(1_750_000_000),
        duration: Duration::from_millis(7),
        policy: PolicyInfo {
            source: "/etc/citadel/\"quoted\".toml".into(),
            sha256: "a".repeat(64),
        },
        checks: vec![
            check("required_tools", Status::Pass, vec![], None),
            check(
                "model_directories",
                Status::Fail,
                vec![
                    Finding::new(
                        from_file_name,
                        "<directory> & \"readable\"",
                        "\u{1b}[31mred\u{1b}[0m and NUL \0 and bell \u{7}",
                        "CDATA ends here: ]]> and again ]]]]>>",
                    ),
                    Finding::new("\u{fffe}\u{ffff}", "\r\n", "\t", "\u{1b}]0;title\u{7}"),
                ],
                None,
            ),
            check("scripts", Status::Error, vec![], Some("unreadable: \0\u{1b}[1m]]><&>")),
            check("trim_timer", Status::Skip, vec![], Some("skipped: ]]> \u{1b}")),
        ],
        drift: None,
    }
}

#[test]
fn junit_of_hostile_findings_is_valid_xml_and_keeps_the_text() {
    let xml = junit::to_junit(&hostile_run());
    support::assert_valid_junit_text(&xml);
    assert!(!xml.contains('\0') && !xml.contains('\u{1b}') && !xml.contains('\u{7}'));
    assert!(xml.contains("<failure type=\"fail\" message=\"2 findings:"));
    // The operator still reads what was found, control characters shown escaped.
    assert!(
        xml.contains("\\u{1b}[31mred\\u{1b}[0m and NUL \\u{0} and bell \\u{7}"),
        "{xml}"
    );
    assert!(
        xml.contains("<directory> & \"readable\""),
        "CDATA keeps markup characters: {xml}"
    );
    assert!(xml.contains("\u{fffd}"), "invalid UTF-8 became U+FFFD: {xml}");
}

#[test]
fn json_and_prometheus_of_hostile_findings_are_valid() {
    let run = hostile_run();
    let report = parse_report(&json::to_json(&run));
    assert_eq!(
        report["checks"][1]["findings"][0]["actual"],
        "\u{1b}[31mred\u{1b}[0m and NUL \0 and bell \u{7}"
    );
    let metrics = prometheus::to_prometheus(&run);
    assert!(metrics.is_ascii() && !metrics.contains('\0'));
    assert_eq!(
        metrics
            .lines()
            .filter(|l| l.starts_with("citadel_check_status{"))
            .count(),
        4
    );
}

#[test]
fn the_schema_is_a_valid_draft_2020_12_schema_and_not_a_vacuous_one() {
    let path = common::workspace().join("schemas/report-v1.schema.json");
    let schema: Value = serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
    jsonschema::meta::validate(&schema).expect("a valid JSON Schema");
    let validator = jsonschema::validator_for(&schema).unwrap();

    let good: Value = serde_json::from_str(&json::to_json(&hostile_run())).unwrap();
    assert!(validator.is_valid(&good));
    let broken = |edit: &dyn Fn(&mut Value)| {
        let mut report = good.clone();
        edit(&mut report);
        validator.is_valid(&report)
    };
    assert!(
        !broken(&|r| r["checks"][1]["findings"] = Value::Array(vec![])),
        "fail without findings"
    );
    assert!(
        !broken(&|r| {
            r["checks"][3].as_object_mut().unwrap().remove("reason");
        }),
        "skip without reason"
    );
    assert!(
        !broken(&|r| r["checks"][0]["reason"] = "why".into()),
        "pass with a reason"
    );
    assert!(
        !broken(&|r| r["checks"][0]["status"] = "passed".into()),
        "unknown status"
    );
    assert!(!broken(&|r| r["policy"]["sha256"] = "ABC".into()), "not a SHA-256");
    assert!(!broken(&|r| r["surprise"] = 1.into()), "unknown field");
    assert!(
        !broken(&|r| r["schema"] = "citadel-check/report/v2".into()),
        "other schema"
    );
}

/// `hostile_run` as a fix run: every check with its status before and its fix, the refused one with hostile bytes.
fn hostile_fix_run() -> RunReport {
    let mut run = hostile_run();
    run.mode = RunMode::Fix;
    let write = ActionReport {
        kind: "write_file".into(),
        target: "/etc/cron.d/citadel-backup".into(),
        summary: "write /etc/cron.d/citadel-backup (52 bytes, 0:0, mode 0644)".into(),
        diff: Some("--- /dev/null\n+++ b/etc/cron.d/citadel-backup\n@@ -0,0 +1 @@\n+]]>\u{1b}[1m\0\n".into()),
    };
    for check in &mut run.checks {
        check.before = Some(if check.status == Status::Skip {
            Status::Skip
        } else {
            Status::Fail
        });
        check.fix = match check.status {
            Status::Skip => None,
            Status::Pass => Some(FixReport {
                status: FixStatus::Fixed,
                message: "applied 1 action".into(),
                actions: vec![write.clone()],
                refusals: vec![],
                results: vec![ActionResult {
                    kind: write.kind.clone(),
                    target: write.target.clone(),
                    summary: write.summary.clone(),
                    status: ActionStatus::Applied,
                    message: "created /etc/cron.d/citadel-backup".into(),
                }],
            }),
            _ => Some(FixReport {
                status: FixStatus::Refused,
                message: "in the way <&> \u{1b}[31m".into(),
                actions: vec![],
                refusals: vec![Refusal::new("/x\0", "a regular file ]]> is in the way", "move it away")],
                results: vec![],
            }),
        };
    }
    run
}

#[test]
fn fix_reports_match_the_schema_and_broken_ones_do_not() {
    let path = common::workspace().join("schemas/report-v1.schema.json");
    let schema: Value = serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let good = parse_report(&json::to_json(&hostile_fix_run()));
    assert_eq!(good["checks"][0]["fix"]["actions"][0]["result"]["status"], "applied");
    assert_eq!(good["checks"][1]["fix"]["refusals"][0]["by_hand"], "move it away");
    let broken = |edit: &dyn Fn(&mut Value)| {
        let mut report = good.clone();
        edit(&mut report);
        validator.is_valid(&report)
    };
    assert!(broken(&|_| {}));
    assert!(!broken(&|r| r["mode"] = "check".into()), "before and fix in check mode");
    assert!(
        !broken(&|r| {
            r["checks"][1].as_object_mut().unwrap().remove("before");
        }),
        "a check without before in fix mode"
    );
    assert!(
        !broken(&|r| {
            r["checks"][1].as_object_mut().unwrap().remove("fix");
        }),
        "a check that ran without its fix"
    );
    assert!(
        !broken(&|r| r["checks"][3]["fix"] = r["checks"][1]["fix"].clone()),
        "a fix for a skipped check"
    );
    assert!(
        !broken(&|r| r["checks"][0]["fix"]["status"] = "planned".into()),
        "planned in a fix run"
    );
    assert!(
        !broken(&|r| r["mode"] = "dry-run".into()),
        "results and fixed in a dry run"
    );
    assert!(
        !broken(&|r| {
            r["checks"][1]["fix"].as_object_mut().unwrap().remove("refusals");
        }),
        "no refusals list"
    );
    assert!(
        !broken(&|r| r["checks"][0]["fix"]["actions"][0]["kind"] = "format_disk".into()),
        "unknown action kind"
    );
    assert!(
        !broken(&|r| r["checks"][0]["fix"]["actions"][0]["result"]["status"] = "done".into()),
        "unknown action result"
    );
}

#[test]
fn junit_of_a_hostile_fix_run_is_valid_xml_with_the_fixes_in_system_out() {
    let xml = junit::to_junit(&hostile_fix_run());
    support::assert_valid_junit_text(&xml);
    assert_eq!(xml.matches("<system-out>").count(), 3, "every check that ran: {xml}");
    assert!(xml.contains("before: fail\nfix fixed: applied 1 action\n    applied    write /etc/cron.d/citadel-backup"));
    assert!(xml.contains("+++ b/etc/cron.d/citadel-backup"), "the diff: {xml}");
    assert!(!xml.contains('\0') && !xml.contains('\u{1b}'));
}
