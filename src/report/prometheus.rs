//! node_exporter textfile-collector metrics (SPEC §6), in the Prometheus text exposition format.

use std::fmt::Write as _;

use citadel_checks::Status;

use super::{unix_seconds, RunReport};

/// The metrics text.
pub fn to_prometheus(run: &RunReport) -> String {
    let mut out = String::new();
    metric_header(
        &mut out,
        "citadel_check_status",
        "1 when the check passed, 0 otherwise (fail, error or skip).",
    );
    for check in &run.checks {
        let value = u8::from(check.status == Status::Pass);
        let _ = writeln!(
            out,
            "citadel_check_status{{check=\"{}\"}} {value}",
            label_value(&check.id)
        );
    }
    metric_header(
        &mut out,
        "citadel_check_findings",
        "Number of findings of the check (0 unless it failed).",
    );
    for check in &run.checks {
        let _ = writeln!(
            out,
            "citadel_check_findings{{check=\"{}\"}} {}",
            label_value(&check.id),
            check.findings.len()
        );
    }
    metric_header(
        &mut out,
        "citadel_check_compliant",
        "1 when no check failed or could not be evaluated.",
    );
    let _ = writeln!(out, "citadel_check_compliant {}", u8::from(run.is_compliant()));
    metric_header(
        &mut out,
        "citadel_check_last_run_timestamp_seconds",
        "When the last run finished, in seconds since the Unix epoch.",
    );
    let _ = writeln!(
        out,
        "citadel_check_last_run_timestamp_seconds {:.3}",
        unix_seconds(run.finished_at())
    );
    metric_header(
        &mut out,
        "citadel_check_duration_seconds",
        "How long the last run took.",
    );
    let _ = writeln!(out, "citadel_check_duration_seconds {:.6}", run.duration.as_secs_f64());
    out
}

fn metric_header(out: &mut String, name: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} gauge");
}

/// A label value as the exposition format wants it: backslash, double quote and newline escaped.
pub fn label_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::sample;

    #[test]
    fn metrics_are_exactly_the_spec_ones() {
        let text = to_prometheus(&sample::run());
        let expected = "\
# HELP citadel_check_status 1 when the check passed, 0 otherwise (fail, error or skip).
# TYPE citadel_check_status gauge
citadel_check_status{check=\"required_tools\"} 1
citadel_check_status{check=\"model_directories\"} 0
citadel_check_status{check=\"scripts\"} 0
citadel_check_status{check=\"trim_timer\"} 0
# HELP citadel_check_findings Number of findings of the check (0 unless it failed).
# TYPE citadel_check_findings gauge
citadel_check_findings{check=\"required_tools\"} 0
citadel_check_findings{check=\"model_directories\"} 2
citadel_check_findings{check=\"scripts\"} 0
citadel_check_findings{check=\"trim_timer\"} 0
# HELP citadel_check_compliant 1 when no check failed or could not be evaluated.
# TYPE citadel_check_compliant gauge
citadel_check_compliant 0
# HELP citadel_check_last_run_timestamp_seconds When the last run finished, in seconds since the Unix epoch.
# TYPE citadel_check_last_run_timestamp_seconds gauge
citadel_check_last_run_timestamp_seconds 1700000000.004
# HELP citadel_check_duration_seconds How long the last run took.
# TYPE citadel_check_duration_seconds gauge
citadel_check_duration_seconds 0.004321
";
        assert_eq!(text, expected);
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label_value("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
    }
}
