//! Fixes as text for people: the fix section of the pretty output (`--fix` and `--fix --dry-run`), a fix's
//! JUnit `system-out`, and the line a failing check's libtest output ends with.
//!
//! One line an action, labelled with what became of it (`applied`, `unchanged`, `pending`, …; `would` in a dry
//! run); what did not simply apply says why on the next line; each refusal says why and what to do by hand. In a
//! dry run every file write is followed by its unified diff, unindented, so that it can be read (or applied with
//! `patch -p1` from `/`) as it is. Every string goes through `printable`: file content must not drive the
//! terminal.

use citadel_checks::Status;

use super::text::printable;
use super::{ActionStatus, FixReport, FixStatus, RunMode};

/// Width of the label column of action lines.
const LABEL_WIDTH: usize = 10;
const INDENT: &str = "    ";

/// `fix ID ... STATUS (before -> after): message`, the first line of a fix in the pretty output. `after` is
/// None in a dry run, where nothing changes.
pub fn fix_heading(id: &str, before: Status, after: Option<Status>, fix: &FixReport) -> String {
    let change = match after {
        Some(after) => format!(" ({} -> {})", before.as_str(), after.as_str()),
        None => String::new(),
    };
    // Pending and refused fixes restate their message in the lines below.
    let message = match fix.status {
        FixStatus::Pending | FixStatus::Refused => String::new(),
        _ => format!(": {}", one_line(&fix.message)),
    };
    format!("fix {id} ... {}{change}{message}\n", status_word(fix.status))
}

/// The lines under a fix's heading: its actions and refusals; with `diffs`, each file write's diff.
pub fn fix_body(fix: &FixReport, mode: RunMode, diffs: bool) -> String {
    let mut out = String::new();
    for (i, action) in fix.actions.iter().enumerate() {
        let result = fix.results.get(i);
        let label = match (mode, result) {
            (RunMode::DryRun, _) => "would",
            (_, Some(result)) => result.status.as_str(),
            (_, None) => "planned",
        };
        out.push_str(&labelled(label, &action.summary));
        if let Some(result) = result {
            if !matches!(result.status, ActionStatus::Applied | ActionStatus::Unchanged) {
                out.push_str(&continuation(&result.message));
            }
        }
        if let (true, Some(diff)) = (diffs, &action.diff) {
            let diff = printable(diff);
            out.push_str(&diff);
            if !diff.ends_with('\n') {
                out.push('\n');
            }
        }
    }
    for refusal in &fix.refusals {
        out.push_str(&labelled("refused", &format!("{}: {}", refusal.subject, refusal.why)));
        out.push_str(&continuation(&format!("by hand: {}", refusal.by_hand)));
    }
    if fix.status == FixStatus::Failed {
        out.push_str(&labelled("why", &fix.message));
    }
    out
}

/// A fix for JUnit's `system-out`: the status before, the fix, every action with its result, and the diffs.
pub fn fix_note(before: Option<Status>, fix: &FixReport, mode: RunMode) -> String {
    let mut out = String::new();
    if let Some(before) = before {
        out.push_str(&format!("before: {}\n", before.as_str()));
    }
    out.push_str(&fix_line(fix));
    out.push('\n');
    out.push_str(&fix_body(fix, mode, true));
    out
}

/// `fix STATUS: message`, one line.
pub fn fix_line(fix: &FixReport) -> String {
    format!("fix {}: {}", fix.status.as_str(), one_line(&fix.message))
}

/// How the heading says a fix status.
fn status_word(status: FixStatus) -> &'static str {
    match status {
        FixStatus::NotNeeded => "not needed",
        FixStatus::Planned => "planned",
        FixStatus::Fixed => "fixed",
        FixStatus::Pending => "pending",
        FixStatus::Refused => "refused",
        FixStatus::Failed => "FAILED",
    }
}

fn labelled(label: &str, text: &str) -> String {
    format!(
        "{INDENT}{label:<LABEL_WIDTH$} {}\n",
        indented(&printable(text), INDENT.len() + LABEL_WIDTH + 1)
    )
}

fn continuation(text: &str) -> String {
    let pad = " ".repeat(INDENT.len() + LABEL_WIDTH + 1);
    format!("{pad}{}\n", indented(&printable(text), pad.len()))
}

fn indented(text: &str, width: usize) -> String {
    text.replace('\n', &format!("\n{}", " ".repeat(width)))
}

fn one_line(text: &str) -> String {
    printable(&text.replace(['\n', '\t'], " "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{ActionReport, ActionResult, Refusal};

    fn action(summary: &str, diff: Option<&str>) -> ActionReport {
        ActionReport {
            kind: if diff.is_some() { "write_file" } else { "create_dir" }.into(),
            target: "/x".into(),
            summary: summary.into(),
            diff: diff.map(str::to_string),
        }
    }

    fn result(status: ActionStatus, message: &str) -> ActionResult {
        ActionResult {
            kind: "create_dir".into(),
            target: "/x".into(),
            summary: "s".into(),
            status,
            message: message.into(),
        }
    }

    fn pending_fix() -> FixReport {
        FixReport {
            status: FixStatus::Pending,
            message: "not run: the root is /img".into(),
            actions: vec![
                action("create directory /opt/citadel (0:0, mode 0755)", None),
                action(
                    "write /etc/fstab (10 bytes, 0:0, mode 0644)",
                    Some("--- a/etc/fstab\n+++ b/etc/fstab\n@@ -1 +1 @@\n-a\n+b\u{1b}[31m\n"),
                ),
                action("run mount /mnt/citadel-models", None),
            ],
            refusals: vec![Refusal::new(
                "/opt/citadel/tmp",
                "a regular file is in the way",
                "move it away,\nthen run --fix again",
            )],
            results: vec![
                result(ActionStatus::Applied, "created /opt/citadel"),
                result(ActionStatus::Applied, "wrote /etc/fstab"),
                result(ActionStatus::Pending, "not run: the root is /img"),
            ],
        }
    }

    #[test]
    fn a_fix_reads_as_one_line_an_action_with_what_became_of_it() {
        let fix = pending_fix();
        assert_eq!(
            fix_heading("storage_mounts", Status::Fail, Some(Status::Fail), &fix),
            "fix storage_mounts ... pending (fail -> fail)\n"
        );
        assert_eq!(
            fix_body(&fix, RunMode::Fix, false),
            "    applied    create directory /opt/citadel (0:0, mode 0755)\n\
             \x20   applied    write /etc/fstab (10 bytes, 0:0, mode 0644)\n\
             \x20   pending    run mount /mnt/citadel-models\n\
             \x20              not run: the root is /img\n\
             \x20   refused    /opt/citadel/tmp: a regular file is in the way\n\
             \x20              by hand: move it away,\n\
             \x20              then run --fix again\n"
        );
    }

    #[test]
    fn a_dry_run_shows_each_diff_after_its_write_escaped() {
        let mut fix = pending_fix();
        fix.status = FixStatus::Planned;
        fix.message = "would apply 3 actions".into();
        fix.results.clear();
        assert_eq!(
            fix_heading("storage_mounts", Status::Fail, None, &fix),
            "fix storage_mounts ... planned: would apply 3 actions\n"
        );
        let body = fix_body(&fix, RunMode::DryRun, true);
        assert!(
            body.contains(
                "    would      write /etc/fstab (10 bytes, 0:0, mode 0644)\n--- a/etc/fstab\n+++ b/etc/fstab\n\
                 @@ -1 +1 @@\n-a\n+b\\u{1b}[31m\n    would      run mount"
            ),
            "{body}"
        );
    }

    #[test]
    fn the_junit_note_starts_with_before_and_the_fix() {
        let note = fix_note(Some(Status::Fail), &pending_fix(), RunMode::Fix);
        assert!(
            note.starts_with("before: fail\nfix pending: not run: the root is /img\n    applied "),
            "{note}"
        );
        assert!(note.contains("+++ b/etc/fstab"), "JUnit keeps the diffs: {note}");
    }

    #[test]
    fn a_failed_fix_says_why() {
        let fix = FixReport {
            status: FixStatus::Failed,
            message: "not idempotent: after applying, the fix still plans: x".into(),
            actions: vec![],
            refusals: vec![],
            results: vec![],
        };
        assert_eq!(
            fix_heading("scripts", Status::Fail, Some(Status::Pass), &fix),
            "fix scripts ... FAILED (fail -> pass): not idempotent: after applying, the fix still plans: x\n"
        );
        assert_eq!(
            fix_body(&fix, RunMode::Fix, false),
            "    why        not idempotent: after applying, the fix still plans: x\n"
        );
    }
}
