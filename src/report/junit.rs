//! The JUnit XML report of SPEC §6, through junit-report.
//!
//! junit-report writes what it is given: an ESC or NUL in a finding makes the XML ill-formed, and `]]>` ends
//! its CDATA early. So every string goes through `xml_text` (or `xml_attribute`) on its way in.

use citadel_checks::Status;
use junit_report::{Duration, OffsetDateTime, Report, TestCase, TestResult, TestSuite};

use super::fix_text::fix_note;
use super::text::{check_detail, check_summary};
use super::{CheckReport, RunMode, RunReport, TOOL_NAME};

/// The report as XML text.
pub fn to_junit(run: &RunReport) -> String {
    let mut suite = TestSuite::new(TOOL_NAME);
    suite.hostname = xml_attribute(&run.host);
    let started = OffsetDateTime::from(run.started_at);
    suite.set_timestamp(started.replace_nanosecond(0).unwrap_or(started));
    suite.add_testcases(run.checks.iter().map(|check| test_case(check, run.mode)));
    let mut report = Report::new();
    report.add_testsuite(suite);
    let mut xml = Vec::new();
    report
        .write_xml(&mut xml)
        .expect("writing XML into memory does not fail");
    let mut text = String::from_utf8_lossy(&xml).into_owned();
    text.push('\n');
    text
}

fn test_case(check: &CheckReport, mode: RunMode) -> TestCase {
    let time = Duration::try_from(check.duration).unwrap_or(Duration::ZERO);
    let mut case = TestCase::success(&xml_attribute(&check.id), time);
    case.set_classname(TOOL_NAME);
    let message = xml_attribute(&check_summary(check));
    let cause = Some(xml_text(&check_detail(check)));
    case.result = match check.status {
        Status::Pass => TestResult::Success,
        Status::Fail => TestResult::Failure {
            type_: "fail".into(),
            message,
            cause,
        },
        Status::Error => TestResult::Error {
            type_: "error".into(),
            message,
            cause,
        },
        Status::Skip => TestResult::SkippedWithCause {
            type_: "skip".into(),
            message,
            cause,
        },
    };
    if let Some(fix) = &check.fix {
        case.set_system_out(&xml_text(&fix_note(check.before, fix, mode)));
    }
    case
}

/// Text safe in XML 1.0 element content and CDATA: ANSI escape sequences removed, characters XML 1.0 forbids
/// (NUL and the other C0 controls but tab, newline and carriage return; U+FFFE, U+FFFF) dropped, and `]]>`
/// broken so that it cannot end a CDATA section.
pub fn xml_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI sequence: ESC [ parameters… final byte in @..~. Other escapes: drop ESC and the next char.
            if chars.peek() == Some(&'[') {
                chars.next();
                for next in chars.by_ref() {
                    if ('\u{40}'..='\u{7e}').contains(&next) {
                        break;
                    }
                }
            } else {
                chars.next();
            }
            continue;
        }
        if is_xml_char(c) {
            out.push(c);
        }
    }
    out.replace("]]>", "]] >")
}

/// Like `xml_text`, for attribute values: line breaks and tabs become spaces (XML parsers would anyway).
pub fn xml_attribute(s: &str) -> String {
    xml_text(s).replace(['\n', '\r', '\t'], " ")
}

fn is_xml_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}' | '\u{10000}'..='\u{10ffff}')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample;

    #[test]
    fn sanitizer_drops_what_xml_forbids_and_breaks_cdata_ends() {
        assert_eq!(xml_text("a\u{1b}[1;31mred\u{1b}[0m\0b"), "aredb");
        assert_eq!(xml_text("x]]>y"), "x]] >y");
        assert_eq!(xml_text("\u{fffe}\u{ffff}\u{fffd}\u{7}\t\n"), "\u{fffd}\t\n");
        assert_eq!(xml_attribute("a\nb\tc"), "a b c");
    }

    #[test]
    fn hostile_findings_still_make_well_formed_xml() {
        let xml = to_junit(&sample::run());
        assert!(
            !xml.contains('\0') && !xml.contains('\u{1b}') && !xml.contains('\u{fffe}'),
            "{xml}"
        );
        // One CDATA end per CDATA start: none leaked from the findings.
        assert_eq!(xml.matches("<![CDATA[").count(), xml.matches("]]>").count());
        assert!(xml.contains("hostname=\"citadel-01\""));
        assert!(xml.contains("timestamp=\"2023-11-14T22:13:20Z\""));
        // In CDATA, markup characters stay as they are; in attributes they are escaped.
        assert!(xml.contains("expected: a directory <on> the models disk & readable"));
        assert!(
            xml.contains("message=\"could not be evaluated: /opt/citadel/scripts: permission denied &lt;&amp;&gt; ")
        );
    }

    #[test]
    fn one_testcase_per_check_with_the_spec_names() {
        let xml = to_junit(&sample::run());
        assert_eq!(xml.matches("<testsuite ").count(), 1);
        assert!(xml.contains("name=\"citadel-check\""));
        assert_eq!(xml.matches("<testcase ").count(), 4);
        assert!(xml.contains("<testcase name=\"model_directories\" time=\"0.0025\" classname=\"citadel-check\">"));
        assert!(xml.contains("<failure type=\"fail\" message=\"2 findings: /mnt/citadel-models/active/model-"));
        assert!(xml.contains("<error type=\"error\" message=\"could not be evaluated: /opt/citadel/scripts"));
        assert!(xml.contains("<skipped type=\"skip\" message=\"not selected: skipped by --skip trim\">"));
        // The failure text lists every finding.
        assert!(xml.contains("1. /mnt/citadel-models/active/model-"));
        assert!(xml.contains("2. /mnt/citadel-models/active/yi-34b"));
    }

    #[test]
    fn fix_actions_go_to_system_out() {
        let mut run = sample::run();
        run.mode = RunMode::DryRun;
        run.checks[1].before = Some(Status::Fail);
        run.checks[1].fix = Some(crate::report::FixReport {
            status: crate::report::FixStatus::Planned,
            message: "would apply 1 action".into(),
            actions: vec![crate::report::ActionReport {
                kind: "write_file".into(),
                target: "/etc/fstab".into(),
                summary: "write /etc/fstab".into(),
                diff: Some("+UUID=x /mnt ext4 defaults 0 2]]>\u{1b}[1m".into()),
            }],
            refusals: vec![],
            results: vec![],
        });
        let xml = to_junit(&run);
        assert!(
            xml.contains(
                "<system-out><![CDATA[before: fail\nfix planned: would apply 1 action\n    would      write \
                 /etc/fstab\n+UUID=x /mnt ext4 defaults 0 2]] >\\u{1b}[1m\n]]></system-out>"
            ),
            "{xml}"
        );
    }
}
