//! Runs the checks as libtest-mimic trials and collects what each one found.
//!
//! libtest-mimic prints the familiar test output but returns only counts. So each trial's closure records its
//! own outcome and duration in shared state, with `catch_unwind` inside: a panicking check becomes an `error`,
//! never a crash and never a lost result. Checks that do not run are recorded as `skip` with the reason. Trials
//! finish in any order across threads; the results come back in the order of the checks given.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use citadel_checks::{Check, Outcome, Policy, Status, System};
use libtest_mimic::{Arguments, Completion, Failed, Trial};

use crate::report::text::check_detail;
use crate::report::CheckReport;
use crate::selection::Selection;

/// What one check said, and how long it took.
#[derive(Debug, Clone)]
struct Record {
    outcome: Outcome,
    duration: Duration,
}

type Records = Arc<Mutex<Vec<Option<Record>>>>;

/// Runs `checks` (those `selection` selects) under libtest-mimic with `args`, printing its usual output, and
/// returns one report a check, in the order of `checks`.
pub fn run_checks(
    checks: &[Check],
    policy: Arc<Policy>,
    system: Arc<System>,
    selection: &Selection,
    args: &Arguments,
) -> Vec<CheckReport> {
    run_checks_with_notes(checks, policy, system, selection, args, &[])
}

/// `run_checks`, where a check that does not pass ends its libtest failure message with its note (`notes[i]` for
/// `checks[i]`; fix mode says there what the check's fix did).
pub fn run_checks_with_notes(
    checks: &[Check],
    policy: Arc<Policy>,
    system: Arc<System>,
    selection: &Selection,
    args: &Arguments,
    notes: &[Option<String>],
) -> Vec<CheckReport> {
    let records: Records = Arc::new(Mutex::new(vec![None; checks.len()]));
    let mut excluded = vec![None; checks.len()];
    let mut trials = Vec::with_capacity(checks.len());
    for (index, check) in checks.iter().enumerate() {
        let trial = trial(
            index,
            *check,
            Arc::clone(&policy),
            Arc::clone(&system),
            Arc::clone(&records),
            notes.get(index).cloned().flatten(),
        );
        if args.is_filtered_out(&trial) {
            let reason = selection
                .ids
                .iter()
                .position(|id| *id == check.id)
                .and_then(|i| selection.excluded[i].as_ref())
                .map_or_else(|| "not selected on the command line".to_string(), |why| why.reason());
            excluded[index] = Some(reason);
        }
        trials.push(trial);
    }

    // libtest-mimic unwraps its writes to stdout: a closed pipe would panic here. The results recorded so far
    // still make a report.
    let runner = catch_unwind(AssertUnwindSafe(|| libtest_mimic::run(args, trials)));
    let runner_panic = runner.err().map(|payload| panic_message(payload.as_ref()));

    let mut records = records.lock().unwrap_or_else(PoisonError::into_inner);
    checks
        .iter()
        .enumerate()
        .map(|(index, check)| {
            let (outcome, duration) = match (records[index].take(), excluded[index].take()) {
                (_, Some(reason)) => (Outcome::Skip(reason), Duration::ZERO),
                (Some(record), None) => (record.outcome, record.duration),
                (None, None) => (
                    Outcome::Error(format!(
                        "the check did not run: the test runner stopped ({})",
                        runner_panic.as_deref().unwrap_or("no reason given")
                    )),
                    Duration::ZERO,
                ),
            };
            check_report(check, outcome, duration)
        })
        .collect()
}

fn trial(
    index: usize,
    check: Check,
    policy: Arc<Policy>,
    system: Arc<System>,
    records: Records,
    note: Option<String>,
) -> Trial {
    Trial::ignorable_test(check.id, move || {
        let started = Instant::now();
        let outcome = catch_unwind(AssertUnwindSafe(|| (check.run)(&policy, &system))).unwrap_or_else(|payload| {
            Outcome::Error(format!("the check panicked: {}", panic_message(payload.as_ref())))
        });
        let outcome = normalized(outcome);
        let duration = started.elapsed();
        let verdict = verdict(check, &outcome, duration, note.as_deref());
        records.lock().unwrap_or_else(PoisonError::into_inner)[index] = Some(Record { outcome, duration });
        verdict
    })
}

/// Holds the contract `Fail` ⇒ findings: a failure that does not say why is reported as an error.
fn normalized(outcome: Outcome) -> Outcome {
    match outcome {
        Outcome::Fail(findings) if findings.is_empty() => {
            Outcome::Error("the check failed without a finding saying why (a bug in the check)".into())
        }
        other => other,
    }
}

/// What libtest-mimic prints: ok, ignored with the reason, or FAILED with every finding (and the note).
fn verdict(check: Check, outcome: &Outcome, duration: Duration, note: Option<&str>) -> Result<Completion, Failed> {
    match outcome {
        Outcome::Pass => Ok(Completion::Completed),
        Outcome::Skip(reason) => Ok(Completion::ignored_with(crate::report::text::printable(reason))),
        Outcome::Fail(_) | Outcome::Error(_) => {
            let report = check_report(&check, outcome.clone(), duration);
            let mut message = check_detail(&report);
            if let Some(note) = note {
                message.push_str(&crate::report::text::printable(note));
            }
            Err(Failed::from(message.trim_end()))
        }
    }
}

fn check_report(check: &Check, outcome: Outcome, duration: Duration) -> CheckReport {
    let status = outcome.status();
    let (findings, reason) = match outcome {
        Outcome::Pass => (Vec::new(), None),
        Outcome::Fail(findings) => (findings, None),
        Outcome::Skip(reason) | Outcome::Error(reason) => (Vec::new(), Some(reason)),
    };
    debug_assert_eq!(status == Status::Fail, !findings.is_empty());
    CheckReport {
        id: check.id.to_string(),
        title: check.title.to_string(),
        status,
        duration,
        findings,
        reason,
        before: None,
        fix: None,
    }
}

fn panic_message(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".into())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Cli;
    use citadel_checks::{Finding, SystemRoot};
    use clap::Parser;

    fn pass(_: &Policy, _: &System) -> Outcome {
        Outcome::Pass
    }
    fn fail(_: &Policy, _: &System) -> Outcome {
        Outcome::Fail(vec![Finding::new("/x", "a", "b", "do c")])
    }
    fn fail_without_findings(_: &Policy, _: &System) -> Outcome {
        Outcome::Fail(vec![])
    }
    fn skip(_: &Policy, _: &System) -> Outcome {
        Outcome::Skip("not applicable".into())
    }
    fn error(_: &Policy, _: &System) -> Outcome {
        Outcome::Error("/etc/fstab: permission denied".into())
    }
    fn panics(_: &Policy, _: &System) -> Outcome {
        panic!("index out of bounds")
    }

    const CHECKS: [Check; 6] = [
        Check {
            id: "a_pass",
            title: "A",
            run: pass,
        },
        Check {
            id: "b_fail",
            title: "B",
            run: fail,
        },
        Check {
            id: "c_fail_empty",
            title: "C",
            run: fail_without_findings,
        },
        Check {
            id: "d_skip",
            title: "D",
            run: skip,
        },
        Check {
            id: "e_error",
            title: "E",
            run: error,
        },
        Check {
            id: "f_panic",
            title: "F",
            run: panics,
        },
    ];

    fn run(args: &[&str]) -> Vec<CheckReport> {
        let cli = Cli::try_parse_from(
            ["citadel-check", "--format", "terse", "--color", "never"]
                .iter()
                .chain(args),
        )
        .unwrap();
        let ids: Vec<&'static str> = CHECKS.iter().map(|c| c.id).collect();
        let selection = Selection::new(&cli, &ids);
        let args = Arguments {
            // Keep the test output clean: libtest-mimic writes to stdout directly, past the test capture.
            logfile: Some("/dev/null".into()),
            ..selection.libtest_arguments(&cli)
        };
        let system = Arc::new(System::new(SystemRoot::new("/nonexistent")));
        run_checks(&CHECKS, Arc::new(Policy::embedded()), system, &selection, &args)
    }

    fn statuses(reports: &[CheckReport]) -> Vec<(&str, Status)> {
        reports.iter().map(|r| (r.id.as_str(), r.status)).collect()
    }

    #[test]
    fn every_outcome_is_recorded_in_order_whatever_the_threads() {
        for threads in ["1", "4"] {
            let reports = run(&["--test-threads", threads]);
            assert_eq!(
                statuses(&reports),
                [
                    ("a_pass", Status::Pass),
                    ("b_fail", Status::Fail),
                    ("c_fail_empty", Status::Error),
                    ("d_skip", Status::Skip),
                    ("e_error", Status::Error),
                    ("f_panic", Status::Error),
                ]
            );
            assert_eq!(reports[1].findings.len(), 1);
            assert_eq!(reports[3].reason.as_deref(), Some("not applicable"));
            assert_eq!(
                reports[5].reason.as_deref(),
                Some("the check panicked: index out of bounds")
            );
            assert!(reports[2].reason.as_deref().unwrap().contains("without a finding"));
        }
    }

    #[test]
    fn filtered_checks_are_skipped_with_the_reason() {
        let reports = run(&["fail", "--skip", "empty"]);
        assert_eq!(
            statuses(&reports),
            [
                ("a_pass", Status::Skip),
                ("b_fail", Status::Fail),
                ("c_fail_empty", Status::Skip),
                ("d_skip", Status::Skip),
                ("e_error", Status::Skip),
                ("f_panic", Status::Skip),
            ]
        );
        assert!(reports[0].reason.as_deref().unwrap().contains("no FILTER"));
        assert!(reports[2].reason.as_deref().unwrap().contains("--skip empty"));
    }
}
