//! Findings as text for people: the failure message of the pretty output and the body of a JUnit failure.
//!
//! Finding fields can hold anything a file name or a config line holds. Control characters are shown escaped
//! (`\u{1b}`), never sent raw: an escape sequence in a file name must not repaint the operator's terminal.

use citadel_checks::Finding;

use super::{CheckReport, FixStatus, RunMode, RunReport};
use citadel_checks::Status;

/// Longest one-line summary, in characters (JUnit `message` attributes are shown in one line by CI servers).
const SUMMARY_MAX_CHARS: usize = 200;

/// `s` with every control character but newline and tab written as an escape.
pub fn printable(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_control() && c != '\n' && c != '\t' {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// Every finding, numbered, one field a line: what it is about, expected, actual, and how to fix it.
pub fn findings_block(findings: &[Finding]) -> String {
    let mut out = format!(
        "{} finding{}:\n",
        findings.len(),
        if findings.len() == 1 { "" } else { "s" }
    );
    for (i, finding) in findings.iter().enumerate() {
        out.push_str(&format!(
            "{}. {}\n",
            i + 1,
            indent_continuation(&printable(&finding.subject), 3)
        ));
        for (label, value) in [
            ("expected", &finding.expected),
            ("actual", &finding.actual),
            ("fix", &finding.message),
        ] {
            let value = indent_continuation(&printable(value), 13);
            out.push_str(&format!("   {:<10}{value}\n", format!("{label}:")));
        }
    }
    out
}

/// What a check's failure, error or skip says in full.
pub fn check_detail(check: &CheckReport) -> String {
    match check.status {
        Status::Fail => findings_block(&check.findings),
        Status::Error => format!(
            "could not be evaluated: {}\n",
            printable(check.reason.as_deref().unwrap_or("no reason given"))
        ),
        Status::Skip => format!(
            "skipped: {}\n",
            printable(check.reason.as_deref().unwrap_or("no reason given"))
        ),
        Status::Pass => String::new(),
    }
}

/// One line saying why a check did not pass, at most `SUMMARY_MAX_CHARS` characters.
pub fn check_summary(check: &CheckReport) -> String {
    let line = match check.status {
        Status::Fail => {
            let subjects: Vec<&str> = check.findings.iter().map(|f| f.subject.as_str()).collect();
            format!(
                "{} finding{}: {}",
                subjects.len(),
                if subjects.len() == 1 { "" } else { "s" },
                subjects.join("; ")
            )
        }
        Status::Error => format!(
            "could not be evaluated: {}",
            check.reason.as_deref().unwrap_or("no reason given")
        ),
        Status::Skip => check.reason.clone().unwrap_or_else(|| "skipped".into()),
        Status::Pass => "pass".into(),
    };
    truncate_chars(&printable(&line.replace(['\n', '\t'], " ")), SUMMARY_MAX_CHARS)
}

/// The last line of the pretty output: the answer, in words, and in fix modes what the fixes came to.
pub fn verdict_line(run: &RunReport) -> String {
    let s = run.summary();
    let verdict = match (s.compliant, run.mode) {
        (true, RunMode::Fix) => "compliant after fixing",
        (false, RunMode::Fix) => "NOT compliant after fixing",
        (true, _) => "compliant",
        (false, _) => "NOT compliant",
    };
    let mut line = format!(
        "citadel-check: {verdict}: {} passed, {} failed, {} errors, {} skipped ({} checks, policy {})",
        s.passed,
        s.failed,
        s.errors,
        s.skipped,
        s.total,
        printable(&run.policy.source)
    );
    match run.mode {
        RunMode::Check => {}
        RunMode::Fix => line.push_str(&format!(
            "; fixes: {} fixed, {} pending, {} refused, {} failed",
            run.fix_count(FixStatus::Fixed),
            run.fix_count(FixStatus::Pending),
            run.fix_count(FixStatus::Refused),
            run.fix_count(FixStatus::Failed)
        )),
        RunMode::DryRun => line.push_str(&format!(
            "; dry run: {} fixes planned, {} refused; nothing was changed",
            run.fix_count(FixStatus::Planned),
            run.fix_count(FixStatus::Refused)
        )),
    }
    line
}

fn indent_continuation(s: &str, width: usize) -> String {
    s.replace('\n', &format!("\n{}", " ".repeat(width)))
}

fn truncate_chars(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(max - 1).collect();
        out.push('…');
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample;

    #[test]
    fn control_characters_are_escaped_not_sent() {
        assert_eq!(printable("a\u{1b}[31mb\0c\td\ne"), "a\\u{1b}[31mb\\u{0}c\td\ne");
    }

    #[test]
    fn findings_block_lists_every_field_of_every_finding() {
        let findings = vec![
            Finding::new("/a", "dir", "file", "rm /a; mkdir /a"),
            Finding::new("/b", "x\ny", "z", "fix"),
        ];
        let text = findings_block(&findings);
        assert_eq!(
            text,
            "2 findings:\n\
             1. /a\n   expected: dir\n   actual:   file\n   fix:      rm /a; mkdir /a\n\
             2. /b\n   expected: x\n             y\n   actual:   z\n   fix:      fix\n"
        );
    }

    #[test]
    fn summaries_are_one_short_printable_line() {
        let run = sample::run();
        for check in &run.checks {
            let summary = check_summary(check);
            assert!(!summary.contains('\n') && !summary.contains('\u{1b}'), "{summary:?}");
            assert!(summary.chars().count() <= SUMMARY_MAX_CHARS);
        }
        assert!(check_summary(&run.checks[1]).starts_with("2 findings: /mnt/citadel-models/active/model-"));
        let long = "x".repeat(500);
        assert_eq!(truncate_chars(&long, 10).chars().count(), 10);
    }
}
