//! One run of citadel-check as data (SPEC §6), and the formats that report it.
//!
//! The model holds what happened; each format (`json`, `junit`, `prometheus`) decides how to spell it, and
//! `write` puts the bytes in place (atomically, or on stdout for `-`).

pub mod fix_text;
pub mod html;
pub mod json;
pub mod junit;
pub mod plan;
pub mod prometheus;
pub mod text;
pub mod write;

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use citadel_checks::{Finding, Status};
/// What a fix did, as the fixers report it: `status`, `message`, the plan's `actions` (each write with its
/// diff), the `refusals`, and what became of each action (`results`, empty in a dry run).
pub use citadel_fixers::{ActionReport, ActionResult, ActionStatus, FixReport, FixStatus, Refusal};

/// The name reports give the tool, the JUnit test suite and its test cases' class.
pub const TOOL_NAME: &str = "citadel-check";

/// What the run was asked to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunMode {
    Check,
    Fix,
    DryRun,
}

impl RunMode {
    pub fn as_str(self) -> &'static str {
        match self {
            RunMode::Check => "check",
            RunMode::Fix => "fix",
            RunMode::DryRun => "dry-run",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyInfo {
    /// `embedded`, or the path of the policy file read.
    pub source: String,
    /// Lowercase hex SHA-256 of the policy text (of the embedded text for the embedded policy).
    pub sha256: String,
}

/// Everything one run found.
#[derive(Debug, Clone, PartialEq)]
pub struct RunReport {
    pub tool_version: String,
    /// The running host's name (gethostname(2)), not the one of a tree under `--root`.
    pub host: String,
    pub root: PathBuf,
    pub mode: RunMode,
    pub started_at: SystemTime,
    pub duration: Duration,
    pub policy: PolicyInfo,
    /// One a check, in the order of SPEC §3.
    pub checks: Vec<CheckReport>,
    /// nightly (--report-dir): what changed since the previous report in the directory.
    pub drift: Option<crate::nightly::drift::Drift>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CheckReport {
    pub id: String,
    pub title: String,
    /// The final state (after fixing, in fix mode).
    pub status: Status,
    pub duration: Duration,
    /// Non-empty exactly when `status` is `Fail`.
    pub findings: Vec<Finding>,
    /// Why a check was skipped or could not be evaluated.
    pub reason: Option<String>,
    /// Fix modes: the status before fixing.
    pub before: Option<Status>,
    /// Fix modes: what the fixer did (or, in a dry run, would do). None for a check that was skipped.
    pub fix: Option<FixReport>,
}

/// True when a fix leaves nothing waiting: not needed, or fixed. Planned (a dry run), pending, refused and
/// failed fixes make a run not compliant (SPEC §2).
pub fn fix_is_settled(status: FixStatus) -> bool {
    matches!(status, FixStatus::NotNeeded | FixStatus::Fixed)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Summary {
    pub total: usize,
    pub passed: usize,
    pub failed: usize,
    pub skipped: usize,
    pub errors: usize,
    /// Nothing failed and nothing could not be evaluated (skipped checks do not count against it), and, in fix
    /// modes, no fix is planned, pending, refused or failed (SPEC §2).
    pub compliant: bool,
}

impl RunReport {
    pub fn summary(&self) -> Summary {
        let count = |status| self.checks.iter().filter(|c| c.status == status).count();
        let failed = count(Status::Fail);
        let errors = count(Status::Error);
        let fixes_settled = self
            .checks
            .iter()
            .filter_map(|c| c.fix.as_ref())
            .all(|fix| fix_is_settled(fix.status));
        Summary {
            total: self.checks.len(),
            passed: count(Status::Pass),
            failed,
            skipped: count(Status::Skip),
            errors,
            compliant: failed == 0 && errors == 0 && fixes_settled,
        }
    }

    /// How many fixes ended with `status`.
    pub fn fix_count(&self, status: FixStatus) -> usize {
        self.checks
            .iter()
            .filter(|c| c.fix.as_ref().is_some_and(|f| f.status == status))
            .count()
    }

    pub fn is_compliant(&self) -> bool {
        self.summary().compliant
    }

    /// When the run ended.
    pub fn finished_at(&self) -> SystemTime {
        self.started_at + self.duration
    }
}

/// Seconds since the Unix epoch (negative before it, which no real run is).
pub fn unix_seconds(time: SystemTime) -> f64 {
    match time.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(after) => after.as_secs_f64(),
        Err(before) => -before.duration().as_secs_f64(),
    }
}

#[cfg(test)]
pub(crate) mod sample {
    //! A hand-made run for the formats' unit tests: every status, and findings full of hostile bytes.

    use super::*;

    pub fn run() -> RunReport {
        let hostile_name = String::from_utf8_lossy(b"model-\xff\xfe-\x1b[31mred\x1b[0m").into_owned();
        RunReport {
            tool_version: "0.1.0".into(),
            host: "citadel-01".into(),
            root: PathBuf::from("/srv/image"),
            mode: RunMode::Check,
            started_at: SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
            duration: Duration::from_micros(4_321),
            policy: PolicyInfo {
                source: "embedded".into(),
                sha256: "0".repeat(64),
            },
            checks: vec![
                CheckReport {
                    id: "required_tools".into(),
                    title: "Required tools are installed".into(),
                    status: Status::Pass,
                    duration: Duration::from_micros(120),
                    findings: vec![],
                    reason: None,
                    before: None,
                    fix: None,
                },
                CheckReport {
                    id: "model_directories".into(),
                    title: "Model directories exist on the models disk".into(),
                    status: Status::Fail,
                    duration: Duration::from_micros(2_500),
                    findings: vec![
                        Finding::new(
                            format!("/mnt/citadel-models/active/{hostile_name}"),
                            "a directory <on> the models disk & readable",
                            "NUL here: \0, CDATA end: ]]> and \"quotes\"",
                            "run: mkdir -p '/mnt/citadel-models/active/x' && chmod 0755 …\nthen check again",
                        ),
                        Finding::new(
                            "/mnt/citadel-models/active/yi-34b",
                            "a directory",
                            "missing",
                            "mkdir it",
                        ),
                    ],
                    reason: None,
                    before: None,
                    fix: None,
                },
                CheckReport {
                    id: "scripts".into(),
                    title: "Management scripts are installed".into(),
                    status: Status::Error,
                    duration: Duration::from_micros(30),
                    findings: vec![],
                    reason: Some(
                        "/opt/citadel/scripts: permission denied <&>\n\x1b[1msecond line\x1b[0m \u{fffe}".into(),
                    ),
                    before: None,
                    fix: None,
                },
                CheckReport {
                    id: "trim_timer".into(),
                    title: "fstrim.timer is enabled".into(),
                    status: Status::Skip,
                    duration: Duration::ZERO,
                    findings: vec![],
                    reason: Some("not selected: skipped by --skip trim".into()),
                    before: None,
                    fix: None,
                },
            ],
            drift: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_counts_every_status_and_skips_do_not_break_compliance() {
        let mut run = sample::run();
        assert_eq!(
            run.summary(),
            Summary {
                total: 4,
                passed: 1,
                failed: 1,
                skipped: 1,
                errors: 1,
                compliant: false
            }
        );
        run.checks.retain(|c| matches!(c.status, Status::Pass | Status::Skip));
        assert!(run.is_compliant());
    }

    #[test]
    fn a_fix_left_waiting_is_not_compliant_even_when_its_check_passes() {
        let mut run = sample::run();
        run.checks.retain(|c| c.status == Status::Pass);
        let fix = |status| FixReport {
            status,
            message: String::new(),
            actions: vec![],
            refusals: vec![],
            results: vec![],
        };
        run.checks[0].fix = Some(fix(FixStatus::Fixed));
        assert!(run.is_compliant());
        for waiting in [
            FixStatus::Pending,
            FixStatus::Refused,
            FixStatus::Failed,
            FixStatus::Planned,
        ] {
            run.checks[0].fix = Some(fix(waiting));
            assert!(!run.is_compliant(), "{waiting:?}");
            assert_eq!(run.fix_count(waiting), 1);
        }
    }

    #[test]
    fn an_error_alone_is_not_compliant() {
        let mut run = sample::run();
        run.checks.retain(|c| c.status != Status::Fail);
        assert!(!run.is_compliant());
    }
}
