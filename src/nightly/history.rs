//! The runs recorded in a report directory (`citadel-check history DIR`, and the HTML page's chart): one row a
//! run, newest first, and since which run each check that fails now has been failing.

use std::fmt::Write as _;

use citadel_checks::Status;

use super::report_dir::{Entry, Kind, ReportDir};
use super::snapshot::Snapshot;
use crate::report::text::printable;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct History {
    /// Newest first.
    pub runs: Vec<Run>,
    /// Files skipped, and why: unreadable or corrupt reports, files that are not ours.
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    /// The dated JSON file's name.
    pub file: String,
    pub snapshot: Snapshot,
}

/// Since when a check that fails now has been failing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailingSince<'a> {
    pub check: &'a str,
    /// The first run of the current streak (no pass in between; skipped runs do not break it).
    pub since: &'a Run,
    /// Runs in the streak in which it failed or was in error.
    pub runs: usize,
}

impl Run {
    /// The ids of the checks that did not pass and were not skipped, `(error)` marking those in error.
    pub fn failing(&self) -> Vec<String> {
        self.snapshot
            .checks
            .iter()
            .filter_map(|c| match c.status {
                Status::Fail => Some(c.id.clone()),
                Status::Error => Some(format!("{} (error)", c.id)),
                Status::Pass | Status::Skip => None,
            })
            .collect()
    }
}

impl History {
    /// Reads every dated JSON report in `dir`; what cannot be read is a warning, not an error.
    pub fn read(dir: &ReportDir) -> std::io::Result<History> {
        let mut runs = Vec::new();
        let mut warnings = Vec::new();
        let entries = dir.entries()?;
        for entry in &entries {
            match entry {
                Entry::Dated {
                    name,
                    kind: Kind::Json,
                    stamp,
                } => match Snapshot::read(&dir.path().join(name)) {
                    Ok(snapshot) => runs.push((
                        *stamp,
                        Run {
                            file: name.clone(),
                            snapshot,
                        },
                    )),
                    Err(why) => warnings.push(format!("{}: skipped: {why}", name_in(dir, name))),
                },
                Entry::Foreign { name, why } => {
                    warnings.push(format!("{}: skipped: {why}; left alone", name_in(dir, name)))
                }
                Entry::Dated { kind: Kind::Xml, .. } | Entry::Latest { .. } => {}
            }
        }
        runs.sort_by_key(|(stamp, _)| std::cmp::Reverse(*stamp));
        Ok(History {
            runs: runs.into_iter().map(|(_, run)| run).collect(),
            warnings,
        })
    }

    /// Every check that fails (or is in error) in the newest run, with the first run of its streak.
    pub fn failing_since(&self) -> Vec<FailingSince<'_>> {
        let Some(newest) = self.runs.first() else {
            return Vec::new();
        };
        newest
            .snapshot
            .checks
            .iter()
            .filter(|c| matches!(c.status, Status::Fail | Status::Error))
            .map(|check| {
                let mut since = newest;
                let mut runs = 0;
                for run in &self.runs {
                    match run.snapshot.status_of(&check.id) {
                        Some(Status::Fail | Status::Error) => {
                            since = run;
                            runs += 1;
                        }
                        Some(Status::Pass) => break,
                        Some(Status::Skip) | None => {}
                    }
                }
                FailingSince {
                    check: &check.id,
                    since,
                    runs,
                }
            })
            .collect()
    }

    /// Every check id in the runs, in the order of the newest run that has it (then of older ones).
    pub fn check_ids(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = Vec::new();
        for run in &self.runs {
            for check in &run.snapshot.checks {
                if !ids.contains(&check.id.as_str()) {
                    ids.push(&check.id);
                }
            }
        }
        ids
    }

    /// The table of `citadel-check history`.
    pub fn table(&self) -> String {
        if self.runs.is_empty() {
            return "no reports yet\n".into();
        }
        let rows: Vec<[String; 3]> = self
            .runs
            .iter()
            .map(|run| {
                let failing = run.failing();
                [
                    printable(&run.snapshot.started_at),
                    if run.snapshot.compliant { "yes" } else { "NO" }.to_string(),
                    if failing.is_empty() {
                        "-".to_string()
                    } else {
                        printable(&failing.join(", "))
                    },
                ]
            })
            .collect();
        let header = ["STARTED (UTC)", "COMPLIANT", "FAILING CHECKS"];
        let width = |i: usize| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([header[i].len()])
                .max()
                .unwrap_or(0)
        };
        let (w0, w1) = (width(0), width(1));
        let mut out = String::new();
        for row in std::iter::once(header.map(str::to_string)).chain(rows) {
            let _ = writeln!(out, "{:<w0$}  {:<w1$}  {}", row[0], row[1], row[2]);
        }
        let since = self.failing_since();
        if since.is_empty() {
            let _ = writeln!(out, "\nevery check passes in the newest run");
        } else {
            let _ = writeln!(out, "\nfailing since:");
            let wid = since.iter().map(|s| s.check.chars().count()).max().unwrap_or(0);
            for s in since {
                let _ = writeln!(
                    out,
                    "  {:<wid$}  {}  ({} run{})",
                    printable(s.check),
                    printable(&s.since.snapshot.started_at),
                    s.runs,
                    if s.runs == 1 { "" } else { "s" }
                );
            }
        }
        out
    }
}

fn name_in(dir: &ReportDir, name: &str) -> String {
    printable(&dir.path().join(name).display().to_string())
}
