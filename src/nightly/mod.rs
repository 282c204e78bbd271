//! Nightly mode (SPEC §1, §2): `--report-dir DIR` keeps a dated history of reports and says what drifted since
//! the last one; `--html FILE` writes the page for the morning mail; `citadel-check history DIR` reads the
//! history back.
//!
//! `Nightly::prepare` checks every destination before any check runs (a report directory that cannot be
//! written is exit 2, and no check has run); after the run, `record_drift` compares with the previous report
//! and `write` puts the reports, the links, retention and the page in place.

pub mod drift;
pub mod history;
pub mod report_dir;
pub mod retention;
pub mod snapshot;

use std::io::{self, Write};
use std::path::PathBuf;

use clap::Args;

use self::drift::Drift;
use self::history::History;
use self::report_dir::{Kind, ReportDir};
use self::snapshot::Snapshot;
use crate::invocation_error::InvocationError;
use crate::report::plan::ReportRequest;
use crate::report::text::printable;
use crate::report::write::Destination;
use crate::report::{html, json, junit, RunReport};

/// The flags of nightly mode, flattened into the command line.
#[derive(Debug, Clone, PartialEq, Eq, Args)]
pub struct NightlyArgs {
    /// Nightly mode: a dated JSON and JUnit report in DIR each run (created if missing), latest.json and
    /// latest.xml links to the newest, the drift since the previous report, and old reports deleted
    #[arg(long, value_name = "DIR")]
    pub report_dir: Option<PathBuf>,

    /// With --report-dir: delete this tool's own reports older than N days (never another file)
    #[arg(long, value_name = "N", default_value_t = retention::DEFAULT_KEEP_DAYS,
          value_parser = clap::value_parser!(u32).range(1..), requires = "report_dir")]
    pub keep_days: u32,

    /// Write a self-contained HTML page of the run (with --report-dir, with the history), atomically
    /// ('-' = stdout)
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

/// The nightly outputs of one invocation, checked before any check runs.
#[derive(Debug)]
pub struct Nightly {
    report_dir: Option<ReportDir>,
    keep_days: u32,
    html: Option<Destination>,
}

impl Nightly {
    /// Makes sure the report directory exists and can be written, and checks `--html` (writable, not the
    /// destination of another report).
    pub fn prepare(args: &NightlyArgs, reports: &[ReportRequest]) -> Result<Nightly, InvocationError> {
        // First the directory, which may be created: the page may go into it (`--html DIR/latest.html`).
        let report_dir = args.report_dir.as_deref().map(ReportDir::prepare).transpose()?;
        let html = args.html.as_deref().map(Destination::from_arg);
        if let Some(destination) = &html {
            if let (Some(problem), Destination::File(path)) = (destination.problem(), destination) {
                return Err(InvocationError::new(format!(
                    "--html {}: cannot write the page there: {problem}",
                    path.display()
                )));
            }
            if let Some(other) = reports.iter().find(|r| &r.destination == destination) {
                let what = match destination {
                    Destination::Stdout => "both go to stdout ('-'); only one report can".to_string(),
                    Destination::File(path) => format!("both write {}", path.display()),
                };
                return Err(InvocationError::new(format!(
                    "{} and --html: {what}",
                    other.format.flag()
                )));
            }
        }
        Ok(Nightly {
            report_dir,
            keep_days: args.keep_days,
            html,
        })
    }

    /// True when the page goes to stdout (which the test output must then leave alone).
    pub fn uses_stdout(&self) -> bool {
        self.html == Some(Destination::Stdout)
    }

    /// Compares the run with the newest report in the directory, records the drift in the run, and prints it in
    /// one short block (on stderr when stdout is taken by a report or by libtest's JSON).
    pub fn record_drift(&self, run: &mut RunReport, stdout_taken: bool) {
        let Some(dir) = &self.report_dir else {
            return;
        };
        let drift = drift_since_previous(dir, run);
        let block = drift.summary();
        run.drift = Some(drift);
        if stdout_taken {
            let _ = io::stderr().write_all(block.as_bytes());
        } else {
            let _ = io::stdout().write_all(block.as_bytes());
        }
    }

    /// Writes the dated reports and links, deletes old reports, and writes the page.
    pub fn write(&self, run: &RunReport) -> Result<(), InvocationError> {
        let mut history = None;
        if let Some(dir) = &self.report_dir {
            dir.write_run(run.started_at, &json::to_json(run), &junit::to_junit(run))
                .map_err(|e| {
                    InvocationError::new(format!(
                        "--report-dir {}: cannot write the reports: {e}",
                        dir.path().display()
                    ))
                })?;
            let pruned = retention::prune(dir, run.started_at, self.keep_days);
            pruned.warnings.iter().for_each(|w| warn(w));
            if self.html.is_some() {
                // The page's chart; the directory's oddities were just warned about by the drift.
                history = History::read(dir).ok();
            }
        }
        if let Some(destination) = &self.html {
            destination
                .write(html::to_html(run, history.as_ref()).as_bytes())
                .map_err(|e| {
                    let target = match destination {
                        Destination::Stdout => "stdout".to_string(),
                        Destination::File(path) => path.display().to_string(),
                    };
                    InvocationError::new(format!("--html {target}: cannot write the page: {e}"))
                })?;
        }
        Ok(())
    }
}

/// The drift against the newest dated JSON report in `dir`; what is odd in the directory is warned about.
fn drift_since_previous(dir: &ReportDir, run: &RunReport) -> Drift {
    let entries = match dir.entries() {
        Ok(entries) => entries,
        Err(e) => {
            warn(&format!("{}: cannot list it: {e}", dir.path().display()));
            return Drift::not_comparable(&dir.path().display().to_string(), &format!("cannot list it ({e})"));
        }
    };
    for entry in &entries {
        if let report_dir::Entry::Foreign { name, why } = entry {
            warn(&format!("{}: {why}; left alone", dir.path().join(name).display()));
        }
    }
    let previous = match dir.dated(Kind::Json) {
        Ok(dated) => dated.into_iter().last(),
        Err(_) => None,
    };
    let Some((name, _)) = previous else {
        return Drift::first();
    };
    match Snapshot::read(&dir.path().join(&name)) {
        Ok(previous) => Drift::compare(&name, &previous, &Snapshot::of_run(run)),
        Err(why) => {
            warn(&format!(
                "{}: skipped as the previous report: {why}; left alone",
                dir.path().join(&name).display()
            ));
            Drift::not_comparable(&name, &why)
        }
    }
}

/// `citadel-check history DIR`: the table on stdout, skipped files on stderr. Exit 2 when DIR cannot be read.
pub fn history_command(dir: &std::path::Path) -> Result<(), InvocationError> {
    let history = History::read(&ReportDir::open(dir)).map_err(|e| {
        InvocationError::new(format!(
            "history {}: cannot read the report directory: {e}",
            dir.display()
        ))
    })?;
    history.warnings.iter().for_each(|w| warn(w));
    let _ = io::stdout().write_all(history.table().as_bytes());
    Ok(())
}

fn warn(message: &str) {
    eprintln!("citadel-check: warning: {}", printable(message));
}
