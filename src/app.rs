//! One invocation, from the command line to the exit status.

use std::ffi::OsString;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use citadel_checks::{Policy, System, SystemRoot, CHECKS};
use clap::Parser;

use crate::cli::{Cli, Format};
use crate::console::Console;
use crate::fix_mode;
use crate::harness;
use crate::host;
use crate::invocation_error::InvocationError;
use crate::nightly::Nightly;
use crate::policy_source;
use crate::report::text::verdict_line;
use crate::report::{plan, CheckReport, PolicyInfo, RunMode, RunReport};
use crate::selection::Selection;

/// SPEC §2 exit statuses. Never libtest's 101.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Compliant = 0,
    NotCompliant = 1,
    Invalid = 2,
}

impl From<Verdict> for ExitCode {
    fn from(verdict: Verdict) -> ExitCode {
        ExitCode::from(verdict as u8)
    }
}

/// Lets a closed pipe end the process quietly, as it ends `cat` (`citadel-check | head`), instead of making
/// every write to stdout fail (Rust ignores SIGPIPE by default, and libtest-mimic panics on a failed write).
pub fn die_quietly_on_closed_pipe() {
    // SAFETY: called first thing in main, before any thread exists; SIG_DFL is a valid disposition.
    unsafe {
        nix::libc::signal(nix::libc::SIGPIPE, nix::libc::SIG_DFL);
    }
}

/// The whole program: parse `args`, run, report, and say how it went.
pub fn main(args: impl IntoIterator<Item = OsString>) -> ExitCode {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(err) => {
            // --help and --version are "errors" that print to stdout and exit 0; usage errors exit 2.
            let _ = err.print();
            return ExitCode::from(u8::try_from(err.exit_code()).unwrap_or(Verdict::Invalid as u8));
        }
    };
    match run(&cli) {
        Ok(verdict) => verdict.into(),
        Err(err) => {
            eprintln!("citadel-check: {err}");
            Verdict::Invalid.into()
        }
    }
}

/// Runs what `cli` asks for. An `Err` is an invalid invocation or policy, or a fix that could not run; it is
/// reported before any report is written.
pub fn run(cli: &Cli) -> Result<Verdict, InvocationError> {
    if let Some(outcome) = crate::command::dispatch(cli) {
        return outcome; // `citadel-check history DIR`
    }
    let ids: Vec<&'static str> = CHECKS.iter().map(|c| c.id).collect();
    let selection = Selection::new(cli, &ids);
    if cli.list {
        let mut stdout = io::stdout().lock();
        for id in selection.selected() {
            let _ = writeln!(stdout, "{id}");
        }
        return Ok(Verdict::Compliant);
    }

    let root = system_root(&cli.root)?;
    let loaded = policy_source::load(cli.config.as_deref(), &SystemRoot::new(&root))?;
    if cli.print_policy {
        let _ = io::stdout().write_all(policy_source::policy_to_toml(&loaded.policy).as_bytes());
        return Ok(Verdict::Compliant);
    }
    let reports = plan::plan(cli.json.as_deref(), cli.junit.as_deref(), cli.prometheus.as_deref())?;
    // --report-dir and --html are checked (the directory made) before any check runs.
    let nightly = Nightly::prepare(&cli.nightly, &reports)?;

    let session = Session {
        cli,
        selection: &selection,
        policy_info: PolicyInfo {
            source: loaded.origin.describe(),
            sha256: loaded.sha256(),
        },
        policy: Arc::new(loaded.policy),
        root,
        stdout_is_a_report: plan::uses_stdout(&reports) || nightly.uses_stdout(),
    };
    let mut report = match mode_of(cli) {
        RunMode::Check => check(&session),
        mode => fix_mode::run(&session, mode)?,
    };
    nightly.record_drift(&mut report, session.stdout_is_a_report || cli.format == Format::Json);
    plan::write_all(&report, &reports)?;
    nightly.write(&report)?; // dated reports, latest.*, retention, the page
    Ok(if report.is_compliant() {
        Verdict::Compliant
    } else {
        Verdict::NotCompliant
    })
}

/// What every mode runs with.
pub struct Session<'a> {
    pub cli: &'a Cli,
    pub selection: &'a Selection,
    pub policy: Arc<Policy>,
    pub policy_info: PolicyInfo,
    /// `--root`, absolute.
    pub root: PathBuf,
    /// A report goes to stdout: the output for people goes to stderr.
    pub stdout_is_a_report: bool,
}

impl Session<'_> {
    /// The run's report, from what it found.
    pub fn report(
        &self,
        mode: RunMode,
        started_at: SystemTime,
        duration: Duration,
        checks: Vec<CheckReport>,
    ) -> RunReport {
        RunReport {
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            host: host::hostname(),
            root: self.root.clone(),
            mode,
            started_at,
            duration,
            policy: self.policy_info.clone(),
            checks,
            drift: None, // set by Nightly::record_drift
        }
    }
}

/// The mode the flags ask for.
pub fn mode_of(cli: &Cli) -> RunMode {
    match (cli.fix, cli.dry_run) {
        (true, true) => RunMode::DryRun,
        (true, false) => RunMode::Fix,
        // clap refuses --dry-run without --fix.
        (false, _) => RunMode::Check,
    }
}

/// Runs the selected checks once and gathers the run's report.
fn check(session: &Session) -> RunReport {
    let system = Arc::new(System::new(SystemRoot::new(&session.root)));
    let console = Console::new(session.cli, session.stdout_is_a_report);
    let args = console.shown(&session.selection.libtest_arguments(session.cli));
    let started_at = SystemTime::now();
    let started = Instant::now();
    let checks = harness::run_checks(&CHECKS, Arc::clone(&session.policy), system, session.selection, &args);
    let report = session.report(RunMode::Check, started_at, started.elapsed(), checks);
    console.say(&format!("{}\n\n", verdict_line(&report)));
    report
}

/// `--root` as an absolute path to an existing directory.
fn system_root(root: &Path) -> Result<PathBuf, InvocationError> {
    let absolute =
        std::path::absolute(root).map_err(|e| InvocationError::new(format!("--root {}: {e}", root.display())))?;
    match fs::metadata(&absolute) {
        Ok(meta) if meta.is_dir() => Ok(absolute),
        Ok(_) => Err(InvocationError::new(format!(
            "--root {}: not a directory",
            root.display()
        ))),
        Err(e) => Err(InvocationError::new(format!("--root {}: {e}", root.display()))),
    }
}
