//! Running `citadel-check --fix` on a tree, and judging its report: what a fix run must end with (the rules are
//! documented with `[fix]` at the top of `testkit/src/lib.rs`).
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

use super::{assert_valid_report, citadel_check, stderr};

/// Checks whose state is files only: under any root their fix must make them pass (or be declared).
pub const FILE_LEVEL: [&str; 6] = [
    "directory_structure",
    "model_directories",
    "symlinks",
    "scripts",
    "trim_timer",
    "backup_cron",
];

/// Checks that also read the running kernel (live mounts, sysfs, installed packages): under a root other than
/// `/` their fix may end `pending` (the fstab or udev half applied, the kernel half reported).
pub const KERNEL_LEVEL: [&str; 4] = ["required_tools", "storage_mounts", "mount_options", "io_schedulers"];

/// What the refusal of a fixer that has not landed yet says (`fixers/src/fixers/*.rs` placeholders).
pub const PLACEHOLDER: &str = "this fixer is not implemented yet";

/// The fix statuses a `--fix` run may report, and those a scenario may declare.
pub const FIX_STATUSES: [&str; 4] = ["fixed", "pending", "refused", "not_needed"];

/// `citadel-check --fix --root ROOT --json - -q [--config CONFIG] [extra…]`, ready to run.
pub fn fix_command(root: &Path, config: Option<&Path>, extra: &[&str]) -> Command {
    let mut cmd = citadel_check();
    cmd.arg("--fix")
        .arg("--root")
        .arg(root)
        .args(["--json", "-", "--format", "terse", "-q", "--color", "never"])
        .args(extra);
    if let Some(config) = config {
        cmd.arg("--config").arg(config);
    }
    cmd
}

/// Runs a fix command to its end: the report (validated against the schema), or why there is none.
pub fn report_of(output: &Output) -> Result<Value, String> {
    let err = stderr(output);
    if err.contains("panicked") {
        return Err(format!("the binary panicked:\n{err}"));
    }
    match output.status.code() {
        Some(0 | 1) => {}
        other => return Err(format!("exit status {other:?}, expected 0 or 1; stderr:\n{err}")),
    }
    let report: Value = serde_json::from_slice(&output.stdout)
        .map_err(|e| format!("no JSON report on stdout ({e}); stderr:\n{err}"))?;
    assert_valid_report(&report);
    let compliant = report["summary"]["compliant"].as_bool().unwrap_or(false);
    if output.status.code() != Some(if compliant { 0 } else { 1 }) {
        return Err(format!(
            "exit status {:?} does not follow summary.compliant = {compliant}",
            output.status.code()
        ));
    }
    if report["mode"] != "fix" {
        return Err(format!("mode is {}, expected \"fix\"", report["mode"]));
    }
    Ok(report)
}

/// The report's checks, by id.
pub fn checks(report: &Value) -> BTreeMap<String, &Value> {
    report["checks"]
        .as_array()
        .map(|checks| {
            checks
                .iter()
                .map(|c| (c["id"].as_str().unwrap_or("?").to_string(), c))
                .collect()
        })
        .unwrap_or_default()
}

/// `fix.status` of a check, or `-` when it has no fix.
pub fn fix_status(check: &Value) -> &str {
    check["fix"]["status"].as_str().unwrap_or("-")
}

pub fn fix_message(check: &Value) -> &str {
    check["fix"]["message"].as_str().unwrap_or("")
}

/// Everything wrong with the report of a `--fix` run under a root other than `/`, given the fix statuses the
/// scenario declares: a failed fix, an undeclared refusal, a check still failing without a pending fix that
/// says why. Each problem names the check whose fixer is at fault.
pub fn problems_after_fix(report: &Value, declared: &BTreeMap<String, String>) -> Vec<String> {
    let mut problems = Vec::new();
    for (id, check) in checks(report) {
        let status = check["status"].as_str().unwrap_or("?");
        let before = check["before"].as_str().unwrap_or("?");
        let fix = fix_status(check);
        let message = fix_message(check);
        if before == "skip" {
            continue;
        }
        if !FIX_STATUSES.contains(&fix) {
            problems.push(format!("{id}: the fix ended {fix}: {message}"));
            continue;
        }
        // A placeholder refuses everything: its refusal proves nothing, even where one is declared.
        if fix == "refused" && message.contains(PLACEHOLDER) {
            problems.push(format!("{id}: the {id} fixer is still a placeholder: {message}"));
            continue;
        }
        if let Some(want) = declared.get(&id) {
            if fix != want {
                problems.push(format!(
                    "{id}: the scenario declares fix {want}, the fixer ended {fix} (check {before} -> {status}): \
                     {message}"
                ));
            } else if matches!(fix, "pending" | "refused") && message.is_empty() {
                problems.push(format!("{id}: fix {fix} without a message saying why"));
            }
            continue;
        }
        if fix == "refused" {
            problems.push(format!(
                "{id}: the {id} fixer refused, and the scenario declares no refusal (check {before} -> {status}): \
                 {message}"
            ));
        } else if status != "pass" {
            let waits = KERNEL_LEVEL.contains(&id.as_str()) && fix == "pending" && !message.is_empty();
            if !waits {
                problems.push(format!(
                    "{id}: still {status} after --fix (before: {before}; fix {fix}: {message}); findings: {}",
                    findings_text(check)
                ));
            }
        }
    }
    problems
}

/// The subjects and actual values of a check's findings, or its reason, in one line.
pub fn findings_text(check: &Value) -> String {
    let mut parts: Vec<String> = check["findings"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|f| {
            format!(
                "{} ({})",
                f["subject"].as_str().unwrap_or(""),
                f["actual"].as_str().unwrap_or("")
            )
        })
        .collect();
    if let Some(reason) = check["reason"].as_str() {
        parts.push(reason.to_string());
    }
    parts.join("; ")
}

/// How many actions the fixes of a report planned (and a fix run tried), over all checks.
pub fn action_count(report: &Value) -> usize {
    checks(report)
        .values()
        .map(|c| c["fix"]["actions"].as_array().map_or(0, Vec::len))
        .sum()
}

/// Problems with the audit log's text: every line a JSON object with the fields of SPEC §4 rule 8.
pub fn audit_log_problems(text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if !text.is_empty() && !text.ends_with('\n') {
        problems.push("the audit log does not end with a newline (a line written in part)".to_string());
    }
    for (i, line) in text.lines().enumerate() {
        match serde_json::from_str::<Value>(line) {
            Ok(Value::Object(record)) => {
                for key in ["time", "pid", "check", "kind", "target", "summary", "result", "message"] {
                    if !record.contains_key(key) {
                        problems.push(format!("audit log line {}: no {key:?}: {line}", i + 1));
                    }
                }
            }
            Ok(_) => problems.push(format!("audit log line {}: not an object: {line}", i + 1)),
            Err(e) => problems.push(format!("audit log line {}: not JSON ({e}): {line}", i + 1)),
        }
    }
    problems
}
