//! Which reports this run writes, and where: decided and checked before any check runs, so that an invalid
//! destination is an invalid invocation (exit 2) and costs no half-written report.

use std::path::Path;

use super::write::Destination;
use super::{json, junit, prometheus, RunReport};
use crate::invocation_error::InvocationError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReportFormat {
    Json,
    Junit,
    Prometheus,
}

impl ReportFormat {
    /// The flag that asks for it.
    pub fn flag(self) -> &'static str {
        match self {
            ReportFormat::Json => "--json",
            ReportFormat::Junit => "--junit",
            ReportFormat::Prometheus => "--prometheus",
        }
    }

    pub fn render(self, run: &RunReport) -> String {
        match self {
            ReportFormat::Json => json::to_json(run),
            ReportFormat::Junit => junit::to_junit(run),
            ReportFormat::Prometheus => prometheus::to_prometheus(run),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportRequest {
    pub format: ReportFormat,
    pub destination: Destination,
}

/// The reports asked for, checked: each destination writable, at most one on stdout, no file named twice.
pub fn plan(
    json: Option<&Path>,
    junit: Option<&Path>,
    prometheus: Option<&Path>,
) -> Result<Vec<ReportRequest>, InvocationError> {
    let requests: Vec<ReportRequest> = [
        (ReportFormat::Json, json),
        (ReportFormat::Junit, junit),
        (ReportFormat::Prometheus, prometheus),
    ]
    .into_iter()
    .filter_map(|(format, arg)| {
        arg.map(|arg| ReportRequest {
            format,
            destination: Destination::from_arg(arg),
        })
    })
    .collect();
    for (i, request) in requests.iter().enumerate() {
        if let Some(problem) = request.destination.problem() {
            let Destination::File(path) = &request.destination else {
                unreachable!("stdout has no problem");
            };
            return Err(InvocationError::new(format!(
                "{} {}: cannot write the report there: {problem}",
                request.format.flag(),
                path.display()
            )));
        }
        if let Some(earlier) = requests[..i].iter().find(|r| r.destination == request.destination) {
            let what = match &request.destination {
                Destination::Stdout => "both go to stdout ('-'); only one report can".to_string(),
                Destination::File(path) => format!("both write {}", path.display()),
            };
            return Err(InvocationError::new(format!(
                "{} and {}: {what}",
                earlier.format.flag(),
                request.format.flag()
            )));
        }
    }
    Ok(requests)
}

/// True when a report goes to stdout (which the test output must then leave alone).
pub fn uses_stdout(requests: &[ReportRequest]) -> bool {
    requests.iter().any(|r| r.destination == Destination::Stdout)
}

/// Writes every report; the first failure names the report and the reason.
pub fn write_all(run: &RunReport, requests: &[ReportRequest]) -> Result<(), InvocationError> {
    for request in requests {
        request
            .destination
            .write(request.format.render(run).as_bytes())
            .map_err(|e| {
                let target = match &request.destination {
                    Destination::Stdout => "stdout".to_string(),
                    Destination::File(path) => path.display().to_string(),
                };
                InvocationError::new(format!(
                    "{} {target}: cannot write the report: {e}",
                    request.format.flag()
                ))
            })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn several_reports_at_once() {
        let dir = tempfile::tempdir().unwrap();
        let requests = plan(
            Some(Path::new("-")),
            Some(&dir.path().join("r.xml")),
            Some(&dir.path().join("m.prom")),
        )
        .unwrap();
        assert_eq!(requests.len(), 3);
        assert!(uses_stdout(&requests));
    }

    #[test]
    fn two_reports_on_stdout_are_refused() {
        let err = plan(Some(Path::new("-")), Some(Path::new("-")), None).unwrap_err();
        assert!(
            err.headline().starts_with("--json and --junit: both go to stdout"),
            "{err}"
        );
    }

    #[test]
    fn the_same_file_twice_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r");
        let err = plan(Some(&path), None, Some(&path)).unwrap_err();
        assert!(err.headline().contains("--json and --prometheus: both write"), "{err}");
    }

    #[test]
    fn an_unwritable_destination_is_named() {
        let err = plan(None, Some(Path::new("/nonexistent/dir/r.xml")), None).unwrap_err();
        assert!(
            err.headline()
                .starts_with("--junit /nonexistent/dir/r.xml: cannot write"),
            "{err}"
        );
    }
}
