//! What changed since the previous report (SPEC §1 "says what drifted since the last one"): checks whose status
//! changed, and findings that appeared or went away.
//!
//! A finding is the same finding when its check, subject, expected and actual are the same: a reworded `message`
//! (a newer version explaining the fix better) is not drift. Checks are matched by id; a check that one report
//! has and the other does not (a version with an eleventh check) changes from or to `null`.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use citadel_checks::Status;
use serde::Serialize;

use super::snapshot::{FindingText, Snapshot};
use crate::report::text::printable;

/// The `drift` object of the JSON report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Drift {
    pub comparison: Comparison,
    /// The report compared with (its file name in the report directory) and when that run started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous: Option<Previous>,
    /// Why there is nothing to compare with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// The policy's SHA-256 differs from the previous report's: some changes may be the policy's, not the host's.
    pub policy_changed: bool,
    pub status_changes: Vec<StatusChange>,
    pub findings_appeared: Vec<FindingChange>,
    pub findings_gone: Vec<FindingChange>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Comparison {
    Compared,
    /// The first report in the directory.
    NoPreviousReport,
    /// The newest earlier report is unreadable, corrupt or of another schema.
    NoComparablePreviousReport,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Previous {
    pub file: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusChange {
    pub check: String,
    pub before: Option<Status>,
    pub after: Option<Status>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FindingChange {
    pub check: String,
    #[serde(flatten)]
    pub finding: FindingText,
}

/// Lines of the printed block past which the rest is only counted.
const MAX_PRINTED_CHANGES: usize = 12;

impl Drift {
    /// The first report in the directory.
    pub fn first() -> Drift {
        Drift::without_comparison(Comparison::NoPreviousReport, None, "no previous report".into())
    }

    /// The newest earlier report (`file`) could not be compared with, for `why`.
    pub fn not_comparable(file: &str, why: &str) -> Drift {
        Drift::without_comparison(
            Comparison::NoComparablePreviousReport,
            Some(Previous {
                file: file.into(),
                started_at: None,
            }),
            format!("no comparable previous report: {file}: {why}"),
        )
    }

    fn without_comparison(comparison: Comparison, previous: Option<Previous>, note: String) -> Drift {
        Drift {
            comparison,
            previous,
            note: Some(note),
            policy_changed: false,
            status_changes: Vec::new(),
            findings_appeared: Vec::new(),
            findings_gone: Vec::new(),
        }
    }

    /// What changed from `previous` (read from `file`) to `current`.
    pub fn compare(file: &str, previous: &Snapshot, current: &Snapshot) -> Drift {
        let mut ids: Vec<&str> = current.checks.iter().map(|c| c.id.as_str()).collect();
        ids.extend(
            previous
                .checks
                .iter()
                .map(|c| c.id.as_str())
                .filter(|id| current.status_of(id).is_none()),
        );
        let status_changes = ids
            .iter()
            .filter_map(|id| {
                let (before, after) = (previous.status_of(id), current.status_of(id));
                (before != after).then(|| StatusChange {
                    check: id.to_string(),
                    before,
                    after,
                })
            })
            .collect();
        Drift {
            comparison: Comparison::Compared,
            previous: Some(Previous {
                file: file.into(),
                started_at: Some(previous.started_at.clone()),
            }),
            note: None,
            policy_changed: previous.policy_sha256 != current.policy_sha256,
            status_changes,
            findings_appeared: findings_only_in(current, previous),
            findings_gone: findings_only_in(previous, current),
        }
    }

    /// Nothing changed (and there was something to compare with).
    pub fn is_quiet(&self) -> bool {
        self.comparison == Comparison::Compared
            && self.status_changes.is_empty()
            && self.findings_appeared.is_empty()
            && self.findings_gone.is_empty()
    }

    /// The short block printed after a nightly run.
    pub fn summary(&self) -> String {
        let Some(previous) = &self.previous else {
            return "drift: none to report: no previous report in the report directory\n".into();
        };
        if self.comparison != Comparison::Compared {
            return format!(
                "drift: {}\n",
                printable(self.note.as_deref().unwrap_or("no comparable previous report"))
            );
        }
        let since = format!(
            "since {} ({})",
            previous.started_at.as_deref().unwrap_or("?"),
            printable(&previous.file)
        );
        let policy = if self.policy_changed {
            "; the policy changed in between"
        } else {
            ""
        };
        if self.is_quiet() {
            return format!("drift: none {since}{policy}\n");
        }
        let mut out = format!(
            "drift {since}: {} status change{}, {} finding{} appeared, {} gone{policy}\n",
            self.status_changes.len(),
            plural(self.status_changes.len()),
            self.findings_appeared.len(),
            plural(self.findings_appeared.len()),
            self.findings_gone.len(),
        );
        let mut lines: Vec<String> = self
            .status_changes
            .iter()
            .map(|c| format!("  {}: {} -> {}", c.check, status_name(c.before), status_name(c.after)))
            .collect();
        for (sign, changes) in [("+", &self.findings_appeared), ("-", &self.findings_gone)] {
            lines.extend(changes.iter().map(|c| {
                format!(
                    "  {sign} {}: {}: expected {}, actual {}",
                    c.check,
                    one_line(&c.finding.subject),
                    one_line(&c.finding.expected),
                    one_line(&c.finding.actual)
                )
            }));
        }
        let hidden = lines.len().saturating_sub(MAX_PRINTED_CHANGES);
        for line in lines.into_iter().take(MAX_PRINTED_CHANGES) {
            let _ = writeln!(out, "{line}");
        }
        if hidden > 0 {
            let _ = writeln!(out, "  … and {hidden} more (the report's \"drift\" has them all)");
        }
        out
    }
}

fn findings_only_in(these: &Snapshot, others: &Snapshot) -> Vec<FindingChange> {
    let key = |check: &str, f: &FindingText| {
        (
            check.to_string(),
            f.subject.clone(),
            f.expected.clone(),
            f.actual.clone(),
        )
    };
    let other_keys: BTreeSet<_> = others
        .checks
        .iter()
        .flat_map(|c| c.findings.iter().map(|f| key(&c.id, f)))
        .collect();
    these
        .checks
        .iter()
        .flat_map(|c| c.findings.iter().map(move |f| (c, f)))
        .filter(|(c, f)| !other_keys.contains(&key(&c.id, f)))
        .map(|(c, f)| FindingChange {
            check: c.id.clone(),
            finding: f.clone(),
        })
        .collect()
}

fn status_name(status: Option<Status>) -> &'static str {
    status.map_or("absent", Status::as_str)
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

/// A field on one line: control characters escaped, line breaks shown as spaces, long values cut.
fn one_line(s: &str) -> String {
    let flat = printable(&s.replace(['\n', '\t'], " "));
    if flat.chars().count() > 80 {
        let mut cut: String = flat.chars().take(79).collect();
        cut.push('…');
        cut
    } else {
        flat
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nightly::snapshot::CheckState;

    fn finding(subject: &str, actual: &str) -> FindingText {
        FindingText {
            subject: subject.into(),
            expected: "a directory".into(),
            actual: actual.into(),
            message: "mkdir it".into(),
        }
    }

    fn snapshot(checks: &[(&str, Status, Vec<FindingText>)]) -> Snapshot {
        Snapshot {
            started_at: "2025-01-30T02:30:00Z".into(),
            policy_sha256: "a".repeat(64),
            compliant: checks.iter().all(|c| c.1 != Status::Fail),
            checks: checks
                .iter()
                .map(|(id, status, findings)| CheckState {
                    id: id.to_string(),
                    status: *status,
                    findings: findings.clone(),
                })
                .collect(),
        }
    }

    #[test]
    fn the_same_report_twice_is_no_drift() {
        let s = snapshot(&[
            ("a", Status::Fail, vec![finding("/x", "missing")]),
            ("b", Status::Pass, vec![]),
        ]);
        let drift = Drift::compare("prev.json", &s, &s);
        assert!(drift.is_quiet(), "{drift:?}");
        assert!(!drift.policy_changed);
        assert_eq!(drift.summary(), "drift: none since 2025-01-30T02:30:00Z (prev.json)\n");
    }

    #[test]
    fn status_changes_and_findings_that_came_and_went() {
        let before = snapshot(&[
            ("a", Status::Pass, vec![]),
            (
                "b",
                Status::Fail,
                vec![finding("/b1", "missing"), finding("/b2", "missing")],
            ),
            ("gone", Status::Pass, vec![]),
        ]);
        let mut reworded = finding("/b2", "missing");
        reworded.message = "a better explanation".into();
        let after = snapshot(&[
            ("a", Status::Fail, vec![finding("/a1", "a file")]),
            ("b", Status::Fail, vec![reworded, finding("/b3", "missing")]),
            ("new", Status::Error, vec![]),
        ]);
        let drift = Drift::compare("prev.json", &before, &after);
        let changes: Vec<_> = drift
            .status_changes
            .iter()
            .map(|c| (c.check.as_str(), c.before, c.after))
            .collect();
        assert_eq!(
            changes,
            [
                ("a", Some(Status::Pass), Some(Status::Fail)),
                ("new", None, Some(Status::Error)),
                ("gone", Some(Status::Pass), None),
            ]
        );
        let subjects = |changes: &[FindingChange]| {
            changes
                .iter()
                .map(|c| format!("{} {}", c.check, c.finding.subject))
                .collect::<Vec<_>>()
        };
        assert_eq!(subjects(&drift.findings_appeared), ["a /a1", "b /b3"]);
        assert_eq!(
            subjects(&drift.findings_gone),
            ["b /b1"],
            "a reworded message is the same finding"
        );
        let text = drift.summary();
        assert!(
            text.starts_with(
                "drift since 2025-01-30T02:30:00Z (prev.json): 3 status changes, 2 findings appeared, 1 gone\n"
            ),
            "{text}"
        );
        assert!(text.contains("  a: pass -> fail\n  new: absent -> error\n"), "{text}");
        assert!(
            text.contains("  + a: /a1: expected a directory, actual a file\n"),
            "{text}"
        );
        assert!(
            text.contains("  - b: /b1: expected a directory, actual missing\n"),
            "{text}"
        );
    }

    #[test]
    fn a_long_drift_prints_a_short_block() {
        let many: Vec<FindingText> = (0..40).map(|i| finding(&format!("/m{i}\x1b[31m"), "missing")).collect();
        let drift = Drift::compare(
            "p.json",
            &snapshot(&[("a", Status::Pass, vec![])]),
            &snapshot(&[("a", Status::Fail, many)]),
        );
        let text = drift.summary();
        assert_eq!(text.lines().count(), 1 + MAX_PRINTED_CHANGES + 1, "{text}");
        assert!(
            text.ends_with("  … and 29 more (the report's \"drift\" has them all)\n"),
            "{text}"
        );
        assert!(!text.contains('\x1b'), "control characters are escaped: {text}");
    }

    #[test]
    fn a_policy_change_is_said() {
        let before = snapshot(&[("a", Status::Pass, vec![])]);
        let mut after = before.clone();
        after.policy_sha256 = "b".repeat(64);
        let drift = Drift::compare("p.json", &before, &after);
        assert!(drift.policy_changed);
        assert!(drift.summary().contains("the policy changed in between"));
    }

    #[test]
    fn nothing_to_compare_with() {
        assert_eq!(Drift::first().comparison, Comparison::NoPreviousReport);
        let drift = Drift::not_comparable("20250130T023000Z.json", "not JSON (EOF)");
        assert_eq!(
            drift.summary(),
            "drift: no comparable previous report: 20250130T023000Z.json: not JSON (EOF)\n"
        );
        let json = serde_json::to_value(&drift).unwrap();
        assert_eq!(json["comparison"], "no_comparable_previous_report");
        assert_eq!(json["previous"]["file"], "20250130T023000Z.json");
        assert!(json["previous"].get("started_at").is_none());
    }
}
