//! A report read back: what drift and history need from a JSON report of an earlier run (or of this one).
//!
//! Reading is strict about what matters (the schema name, each check's id and status, the findings' fields) and
//! ignores the rest, so that a report written by a later version of schema v1 still compares.

use std::fs;
use std::io::Read;
use std::path::Path;

use citadel_checks::Status;
use serde::Deserialize;

use super::report_dir::MAX_REPORT_BYTES;
use crate::report::json::{rfc3339_utc, SCHEMA};
use crate::report::RunReport;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// RFC 3339 UTC, as the report says.
    pub started_at: String,
    pub policy_sha256: String,
    pub compliant: bool,
    /// In the report's order.
    pub checks: Vec<CheckState>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckState {
    pub id: String,
    pub status: Status,
    pub findings: Vec<FindingText>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize, serde::Serialize)]
pub struct FindingText {
    pub subject: String,
    pub expected: String,
    pub actual: String,
    pub message: String,
}

#[derive(Deserialize)]
struct Raw {
    schema: String,
    started_at: String,
    policy: RawPolicy,
    summary: RawSummary,
    checks: Vec<RawCheck>,
}

#[derive(Deserialize)]
struct RawPolicy {
    sha256: String,
}

#[derive(Deserialize)]
struct RawSummary {
    compliant: bool,
}

#[derive(Deserialize)]
struct RawCheck {
    id: String,
    status: Status,
    findings: Vec<FindingText>,
}

impl Snapshot {
    /// The run as a snapshot, as if written and read back.
    pub fn of_run(run: &RunReport) -> Snapshot {
        Snapshot {
            started_at: rfc3339_utc(run.started_at),
            policy_sha256: run.policy.sha256.clone(),
            compliant: run.is_compliant(),
            checks: run
                .checks
                .iter()
                .map(|check| CheckState {
                    id: check.id.clone(),
                    status: check.status,
                    findings: check
                        .findings
                        .iter()
                        .map(|f| FindingText {
                            subject: f.subject.clone(),
                            expected: f.expected.clone(),
                            actual: f.actual.clone(),
                            message: f.message.clone(),
                        })
                        .collect(),
                })
                .collect(),
        }
    }

    /// Parses a JSON report; the error says why it is not one this version can compare with.
    pub fn parse(text: &str) -> Result<Snapshot, String> {
        let value: serde_json::Value = serde_json::from_str(text).map_err(|e| format!("not JSON ({e})"))?;
        match value.get("schema").and_then(|s| s.as_str()) {
            Some(SCHEMA) => {}
            Some(other) => return Err(format!("another schema ({other:?}, not {SCHEMA:?})")),
            None => return Err("not a citadel-check report (no \"schema\")".into()),
        }
        let raw: Raw = serde_json::from_value(value).map_err(|e| format!("not a valid {SCHEMA} report ({e})"))?;
        debug_assert_eq!(raw.schema, SCHEMA);
        Ok(Snapshot {
            started_at: raw.started_at,
            policy_sha256: raw.policy.sha256,
            compliant: raw.summary.compliant,
            checks: raw
                .checks
                .into_iter()
                .map(|c| CheckState {
                    id: c.id,
                    status: c.status,
                    findings: c.findings,
                })
                .collect(),
        })
    }

    /// Reads and parses the report at `path` (at most `MAX_REPORT_BYTES`).
    pub fn read(path: &Path) -> Result<Snapshot, String> {
        let file = fs::File::open(path).map_err(|e| format!("cannot read it ({e})"))?;
        let mut bytes = Vec::new();
        file.take(MAX_REPORT_BYTES + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("cannot read it ({e})"))?;
        if bytes.len() as u64 > MAX_REPORT_BYTES {
            return Err(format!("larger than {MAX_REPORT_BYTES} bytes: not a report"));
        }
        let text = String::from_utf8(bytes).map_err(|_| "not UTF-8 text".to_string())?;
        Snapshot::parse(&text)
    }

    pub fn status_of(&self, id: &str) -> Option<Status> {
        self.checks.iter().find(|c| c.id == id).map(|c| c.status)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{json::to_json, sample};

    #[test]
    fn a_written_report_reads_back_as_its_snapshot() {
        let run = sample::run();
        assert_eq!(Snapshot::parse(&to_json(&run)).unwrap(), Snapshot::of_run(&run));
    }

    #[test]
    fn what_is_not_a_v1_report_says_why() {
        assert!(Snapshot::parse("{").unwrap_err().starts_with("not JSON"));
        assert!(Snapshot::parse("[]").unwrap_err().contains("no \"schema\""));
        let other = to_json(&sample::run()).replace("citadel-check/report/v1", "citadel-check/report/v2");
        assert!(Snapshot::parse(&other).unwrap_err().starts_with("another schema"));
        let broken = to_json(&sample::run()).replace("\"status\": \"fail\"", "\"status\": \"broken\"");
        assert!(Snapshot::parse(&broken).unwrap_err().starts_with("not a valid"));
    }

    #[test]
    fn reading_refuses_binary_and_missing_files() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.json");
        fs::write(&path, b"\xff\xfe").unwrap();
        assert_eq!(Snapshot::read(&path).unwrap_err(), "not UTF-8 text");
        assert!(Snapshot::read(&dir.path().join("none"))
            .unwrap_err()
            .starts_with("cannot read"));
    }
}
