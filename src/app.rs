//! One invocation, from the command line to the exit status.

use std::ffi::OsString;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Instant, SystemTime};

use citadel_checks::{System, SystemRoot, CHECKS};
use clap::Parser;

use crate::cli::{Cli, Format};
use crate::harness;
use crate::host;
use crate::invocation_error::InvocationError;
use crate::nightly::Nightly;
use crate::policy_source::{self, LoadedPolicy};
use crate::report::{plan, PolicyInfo, RunMode, RunReport};
use crate::selection::Selection;
use crate::stdout_redirect::StdoutToStderr;

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

/// Runs what `cli` asks for. An `Err` is an invalid invocation or policy, reported before any report is written.
pub fn run(cli: &Cli) -> Result<Verdict, InvocationError> {
    if let Some(outcome) = crate::command::dispatch(cli) {
        return outcome; // nightly: `citadel-check history DIR`
    }
    if let Some(flag) = cli.unimplemented_flag() {
        return Err(InvocationError::new(format!(
            "{flag} is not implemented yet: this version only checks (run without {flag})"
        )));
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
    let nightly = Nightly::prepare(&cli.nightly, &reports)?; // nightly: --report-dir, --html (before any check)
    let stdout_is_a_report = plan::uses_stdout(&reports) || nightly.uses_stdout(); // nightly: --html -

    let mut report = check(cli, &selection, root, loaded, stdout_is_a_report);
    nightly.record_drift(&mut report, stdout_is_a_report || cli.format == Format::Json); // nightly
    plan::write_all(&report, &reports)?;
    nightly.write(&report)?; // nightly: dated reports, latest.*, retention, the page
    Ok(if report.is_compliant() {
        Verdict::Compliant
    } else {
        Verdict::NotCompliant
    })
}

/// Runs the selected checks once and gathers the run's report.
fn check(cli: &Cli, selection: &Selection, root: PathBuf, loaded: LoadedPolicy, stdout_is_a_report: bool) -> RunReport {
    let policy_info = PolicyInfo {
        source: loaded.origin.describe(),
        sha256: loaded.sha256(),
    };
    let system = Arc::new(System::new(SystemRoot::new(&root)));
    let args = selection.libtest_arguments(cli);

    let started_at = SystemTime::now();
    let started = Instant::now();
    // Keep stdout for the report: the test output goes to stderr instead. If fd 1 cannot be redirected, the
    // report would be mixed with it: better to print nothing but the report.
    let redirect = stdout_is_a_report.then(StdoutToStderr::new);
    let args = match &redirect {
        Some(Err(_)) => libtest_mimic::Arguments {
            logfile: Some("/dev/null".into()),
            ..args
        },
        _ => args,
    };
    let checks = harness::run_checks(&CHECKS, Arc::new(loaded.policy), system, selection, &args);
    let duration = started.elapsed();

    let report = RunReport {
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        host: host::hostname(),
        root,
        mode: RunMode::Check,
        started_at,
        duration,
        policy: policy_info,
        checks,
        drift: None, // nightly: set by Nightly::record_drift
    };
    let stdout_is_clean_to_print = !matches!(redirect, Some(Err(_)));
    if cli.format == Format::Pretty && !cli.quiet && stdout_is_clean_to_print {
        let _ = writeln!(io::stdout(), "{}\n", verdict_line(&report));
    }
    drop(redirect);
    report
}

/// The last line of the pretty output: the answer, in words.
fn verdict_line(report: &RunReport) -> String {
    let s = report.summary();
    let verdict = if s.compliant { "compliant" } else { "NOT compliant" };
    format!(
        "citadel-check: {verdict}: {} passed, {} failed, {} errors, {} skipped ({} checks, policy {})",
        s.passed, s.failed, s.errors, s.skipped, s.total, report.policy.source
    )
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
