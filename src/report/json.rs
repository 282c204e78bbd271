//! The JSON report of SPEC §6 (`schemas/report-v1.schema.json` describes it).
//!
//! Beyond SPEC §6: a check's `reason` says why it was skipped or could not be evaluated (present exactly for
//! `skip` and `error`). `before` and `fix` appear only in fix modes (`fix` for every check that ran). A fix also
//! lists its `refusals` (`{subject, why, by_hand}`), and each action applied says what became of it
//! (`result {status, message}`; absent in a dry run).

use std::time::{Duration, SystemTime};

use citadel_checks::{Finding, Status};
use serde::Serialize;
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use super::{ActionReport, ActionResult, CheckReport, FixReport, Refusal, RunReport, TOOL_NAME};

pub const SCHEMA: &str = "citadel-check/report/v1";

/// The report, pretty-printed, ending in a newline.
pub fn to_json(run: &RunReport) -> String {
    let mut text = serde_json::to_string_pretty(&JsonReport::from(run)).expect("a report always serializes");
    text.push('\n');
    text
}

/// RFC 3339, UTC, whole seconds: `2025-01-31T02:30:00Z`.
pub fn rfc3339_utc(time: SystemTime) -> String {
    let time = OffsetDateTime::from(time);
    let time = time.replace_nanosecond(0).unwrap_or(time);
    time.format(&Rfc3339).unwrap_or_else(|_| "1970-01-01T00:00:00Z".into())
}

/// Milliseconds with microsecond resolution.
pub fn millis(duration: Duration) -> f64 {
    (duration.as_micros() as f64) / 1000.0
}

#[derive(Serialize)]
struct JsonReport<'a> {
    schema: &'static str,
    tool: Tool,
    host: &'a str,
    root: String,
    mode: &'static str,
    started_at: String,
    duration_ms: f64,
    policy: Policy<'a>,
    summary: Summary,
    checks: Vec<Check<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    drift: Option<&'a crate::nightly::drift::Drift>, // nightly
}

#[derive(Serialize)]
struct Tool {
    name: &'static str,
    version: String,
}

#[derive(Serialize)]
struct Policy<'a> {
    source: &'a str,
    sha256: &'a str,
}

#[derive(Serialize)]
struct Summary {
    total: usize,
    passed: usize,
    failed: usize,
    skipped: usize,
    errors: usize,
    compliant: bool,
}

#[derive(Serialize)]
struct Check<'a> {
    id: &'a str,
    title: &'a str,
    status: Status,
    duration_ms: f64,
    findings: &'a [Finding],
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    before: Option<Status>,
    #[serde(skip_serializing_if = "Option::is_none")]
    fix: Option<Fix<'a>>,
}

#[derive(Serialize)]
struct Fix<'a> {
    status: &'static str,
    message: &'a str,
    actions: Vec<Action<'a>>,
    refusals: &'a [Refusal],
}

#[derive(Serialize)]
struct Action<'a> {
    kind: &'a str,
    target: &'a str,
    summary: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    diff: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<Applied<'a>>,
}

/// What became of an action that was applied.
#[derive(Serialize)]
struct Applied<'a> {
    status: &'static str,
    message: &'a str,
}

impl<'a> From<&'a RunReport> for JsonReport<'a> {
    fn from(run: &'a RunReport) -> Self {
        let summary = run.summary();
        JsonReport {
            schema: SCHEMA,
            tool: Tool {
                name: TOOL_NAME,
                version: run.tool_version.clone(),
            },
            host: &run.host,
            root: run.root.to_string_lossy().into_owned(),
            mode: run.mode.as_str(),
            started_at: rfc3339_utc(run.started_at),
            duration_ms: millis(run.duration),
            policy: Policy {
                source: &run.policy.source,
                sha256: &run.policy.sha256,
            },
            summary: Summary {
                total: summary.total,
                passed: summary.passed,
                failed: summary.failed,
                skipped: summary.skipped,
                errors: summary.errors,
                compliant: summary.compliant,
            },
            checks: run.checks.iter().map(Check::from).collect(),
            drift: run.drift.as_ref(), // nightly
        }
    }
}

impl<'a> From<&'a CheckReport> for Check<'a> {
    fn from(check: &'a CheckReport) -> Self {
        Check {
            id: &check.id,
            title: &check.title,
            status: check.status,
            duration_ms: millis(check.duration),
            findings: &check.findings,
            reason: check.reason.as_deref(),
            before: check.before,
            fix: check.fix.as_ref().map(Fix::from),
        }
    }
}

impl<'a> From<&'a FixReport> for Fix<'a> {
    fn from(fix: &'a FixReport) -> Self {
        Fix {
            status: fix.status.as_str(),
            message: &fix.message,
            // The fixers give one result per action, in order (none in a dry run).
            actions: fix
                .actions
                .iter()
                .enumerate()
                .map(|(i, action)| Action::new(action, fix.results.get(i)))
                .collect(),
            refusals: &fix.refusals,
        }
    }
}

impl<'a> Action<'a> {
    fn new(action: &'a ActionReport, result: Option<&'a ActionResult>) -> Self {
        Action {
            kind: &action.kind,
            target: &action.target,
            summary: &action.summary,
            diff: action.diff.as_deref(),
            result: result.map(|r| Applied {
                status: r.status.as_str(),
                message: &r.message,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{sample, ActionStatus, FixStatus};
    use serde_json::Value;

    #[test]
    fn report_has_every_field_of_spec_section_6() {
        let json: Value = serde_json::from_str(&to_json(&sample::run())).unwrap();
        assert_eq!(json["schema"], "citadel-check/report/v1");
        assert_eq!(json["tool"]["name"], "citadel-check");
        assert_eq!(json["host"], "citadel-01");
        assert_eq!(json["root"], "/srv/image");
        assert_eq!(json["mode"], "check");
        assert_eq!(json["started_at"], "2023-11-14T22:13:20Z");
        assert_eq!(json["duration_ms"], 4.321);
        assert_eq!(json["policy"]["source"], "embedded");
        assert_eq!(json["summary"]["failed"], 1);
        assert_eq!(json["summary"]["compliant"], false);
        let checks = json["checks"].as_array().unwrap();
        assert_eq!(checks[1]["status"], "fail");
        assert_eq!(
            checks[1]["findings"][0]["actual"],
            "NUL here: \u{0}, CDATA end: ]]> and \"quotes\""
        );
        assert_eq!(checks[0]["findings"], Value::Array(vec![]));
        assert!(checks[0].get("reason").is_none());
        assert_eq!(checks[3]["reason"], "not selected: skipped by --skip trim");
        assert!(checks[0].get("fix").is_none() && checks[0].get("before").is_none());
    }

    #[test]
    fn fix_mode_fields_appear_when_present() {
        let mut run = sample::run();
        run.mode = crate::report::RunMode::Fix;
        run.checks[1].before = Some(Status::Fail);
        let action = ActionReport {
            kind: "create_dir".into(),
            target: "/mnt/citadel-models/active/yi-34b".into(),
            summary: "create directory".into(),
            diff: None,
        };
        run.checks[1].fix = Some(FixReport {
            status: FixStatus::Refused,
            message: "/x: in the way; by hand: move it".into(),
            actions: vec![action.clone()],
            refusals: vec![Refusal::new("/x", "in the way", "move it")],
            results: vec![ActionResult {
                kind: action.kind.clone(),
                target: action.target.clone(),
                summary: action.summary.clone(),
                status: ActionStatus::Applied,
                message: "created it".into(),
            }],
        });
        let json: Value = serde_json::from_str(&to_json(&run)).unwrap();
        assert_eq!(json["mode"], "fix");
        let check = &json["checks"][1];
        assert_eq!(check["before"], "fail");
        assert_eq!(check["fix"]["status"], "refused");
        assert_eq!(check["fix"]["actions"][0]["kind"], "create_dir");
        assert!(check["fix"]["actions"][0].get("diff").is_none());
        assert_eq!(check["fix"]["actions"][0]["result"]["status"], "applied");
        assert_eq!(check["fix"]["actions"][0]["result"]["message"], "created it");
        assert_eq!(check["fix"]["refusals"][0]["by_hand"], "move it");
    }
}
