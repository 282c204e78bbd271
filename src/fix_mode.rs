//! `--fix` and `--fix --dry-run` (SPEC §4), from the checks before to the report after.
//!
//! `--fix`:
//! 1. On `/`, without root: stop before anything runs (`privilege::require_root`; exit 2).
//! 2. Run the selected checks (libtest-mimic trials, as in check mode, output not shown): the `before` statuses.
//! 3. If a check fails: take the fix lock (`lock::acquire`, waiting up to `LOCK_WAIT`; busy: exit 2, nothing
//!    changed). Nothing to fix takes no lock and writes nothing, not even under `/run`.
//! 4. In `FIX_ORDER`, for each selected check that failed: `fix::fix` (plan on fresh facts, apply, check again,
//!    plan again). A check that passed gets `not_needed` without planning (SPEC §1: fixers run for failing
//!    checks); one that could not be evaluated gets `refused` (nothing is fixed blind); a skipped one no fix.
//! 5. Run every selected check again on fresh facts, shown in libtest's form: the final statuses. (A fix that an
//!    earlier or later fixer undid shows here.)
//!
//! `--fix --dry-run`: the checks run and are shown as in check mode; then each failing check's fixer plans on
//! the same unchanged view (`fix::dry_run`) and the plan is printed with a unified diff per file. No root
//! needed, no lock, nothing written; the statuses stay what the checks found.
//!
//! Each fix is printed as it ends (pretty output): `fix ID ... STATUS (before -> after)`, then its actions.

use std::any::Any;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use citadel_checks::{Check, Status, System, SystemRoot, CHECKS};
use citadel_fixers::fixers::FIXERS;
use citadel_fixers::host::RealHost;
use citadel_fixers::{fix, lock, privilege, Applier, Fixer};

use crate::app::Session;
use crate::console::Console;
use crate::harness;
use crate::invocation_error::InvocationError;
use crate::report::fix_text::{fix_body, fix_heading, fix_line};
use crate::report::text::{printable, verdict_line};
use crate::report::{CheckReport, FixReport, FixStatus, Refusal, RunMode, RunReport};

/// How long a second `--fix` waits for the first to finish (SPEC §4 rule 5: "waits briefly").
pub const LOCK_WAIT: Duration = Duration::from_secs(10);

/// What became of one check's fix, and the time it took.
struct Fixed {
    fix: Option<FixReport>,
    took: Duration,
}

/// Runs `--fix` (`mode` Fix) or `--fix --dry-run` (`mode` DryRun). An `Err` means nothing was changed: not root
/// on `/`, or another fix holds the lock.
pub fn run(session: &Session, mode: RunMode) -> Result<RunReport, InvocationError> {
    let root = SystemRoot::new(&session.root);
    if mode == RunMode::Fix {
        privilege::require_root(&root).map_err(InvocationError::new)?;
    }
    let console = Console::new(session.cli, session.stdout_is_a_report);
    let args = session.selection.libtest_arguments(session.cli);
    let started_at = SystemTime::now();
    let started = Instant::now();

    let system = Arc::new(System::new(root.clone()));
    let shown_before = match mode {
        RunMode::DryRun => console.shown(&args),
        _ => Console::hidden(&args),
    };
    let policy = Arc::clone(&session.policy);
    let before = harness::run_checks(
        &CHECKS,
        Arc::clone(&policy),
        system.clone(),
        session.selection,
        &shown_before,
    );

    let checks = if mode == RunMode::DryRun {
        console.say(&section_heading(&before, &root, mode));
        let fixes = each_fix(&before, &console, mode, |_, fixer| {
            (fix::dry_run(fixer.plan, &policy, &system), None)
        });
        console.say("\n");
        combine(before, fixes, None)
    } else {
        let fixes = fix_all(session, &root, &before, &console)?;
        console.say("\nafter fixing:\n");
        let notes: Vec<Option<String>> = fixes
            .iter()
            .map(|f| f.fix.as_ref().map(|fix| format!("\n{}", fix_line(fix))))
            .collect();
        let fresh = Arc::new(System::new(root.clone()));
        let after =
            harness::run_checks_with_notes(&CHECKS, policy, fresh, session.selection, &console.shown(&args), &notes);
        combine(before, fixes, Some(after))
    };
    let report = session.report(mode, started_at, started.elapsed(), checks);
    console.say(&format!("{}\n\n", verdict_line(&report)));
    Ok(report)
}

/// `--fix` proper: the lock if anything fails, then each fix in `FIX_ORDER`, printed as it ends.
fn fix_all(
    session: &Session,
    root: &SystemRoot,
    before: &[CheckReport],
    console: &Console,
) -> Result<Vec<Fixed>, InvocationError> {
    console.say(&section_heading(before, root, RunMode::Fix));
    if !before.iter().any(|c| c.status == Status::Fail) {
        // No fixer runs (the closure is for failing checks): no lock, nothing written.
        return Ok(each_fix(before, console, RunMode::Fix, |_, _| (not_needed(), None)));
    }
    let lock = lock::acquire(root, LOCK_WAIT).map_err(|e| InvocationError::new(e.to_string()))?;
    let host = RealHost;
    let applier = Applier::new(root, &lock, &session.policy, &host);
    Ok(each_fix(before, console, RunMode::Fix, |check, fixer| {
        let (report, outcome) = fix::fix(check, fixer.plan, &session.policy, &applier);
        (report, Some(outcome.status()))
    }))
}

/// For each check, in `CHECKS` order, its fix: the fixers run in `FIX_ORDER`, `fix_failing` for a failing check
/// (returning the fix and the check's status after it; a panic in it is a failed fix, not a lost run). Passing,
/// unevaluated and skipped checks are decided here. Each fix of a check that did not pass is printed as it ends.
fn each_fix<F>(before: &[CheckReport], console: &Console, mode: RunMode, mut fix_failing: F) -> Vec<Fixed>
where
    F: FnMut(&Check, &Fixer) -> (FixReport, Option<Status>),
{
    let mut fixed: Vec<Fixed> = before
        .iter()
        .map(|_| Fixed {
            fix: None,
            took: Duration::ZERO,
        })
        .collect();
    for fixer in &FIXERS {
        let Some(index) = CHECKS.iter().position(|c| c.id == fixer.id) else {
            continue;
        };
        let (check, was) = (&CHECKS[index], &before[index]);
        let started = Instant::now();
        let (fix, after) = match was.status {
            Status::Skip => (None, None),
            Status::Pass => (Some(not_needed()), None),
            Status::Error => (Some(unevaluated(check.id, was.reason.as_deref())), None),
            Status::Fail => {
                let (fix, after) = catch_unwind(AssertUnwindSafe(|| fix_failing(check, fixer)))
                    .unwrap_or_else(|payload| (panicked(payload.as_ref()), None));
                (Some(fix), after)
            }
        };
        if let (Some(fix), Status::Fail | Status::Error) = (&fix, was.status) {
            let shown_after = if mode == RunMode::Fix { after } else { None };
            let heading = fix_heading(check.id, was.status, shown_after, fix);
            // A dry run shows the diffs; after a fix they are in the JSON and JUnit reports.
            console.say(&(heading + &fix_body(fix, mode, mode == RunMode::DryRun)));
        }
        fixed[index] = Fixed {
            fix,
            took: started.elapsed(),
        };
    }
    fixed
}

/// The report's checks: the final statuses (`after`, or `before` in a dry run), each with its status before and
/// its fix. A check's duration is all the time spent on it: its checks and its fix.
fn combine(before: Vec<CheckReport>, fixes: Vec<Fixed>, after: Option<Vec<CheckReport>>) -> Vec<CheckReport> {
    let after = after
        .map(|a| a.into_iter().map(Some).collect())
        .unwrap_or_else(|| vec![None; before.len()]);
    before
        .into_iter()
        .zip(fixes)
        .zip(after)
        .map(|((was, fixed), now)| {
            let status_before = was.status;
            let mut check = match now {
                Some(now) => CheckReport {
                    duration: was.duration + fixed.took + now.duration,
                    ..now
                },
                None => CheckReport {
                    duration: was.duration + fixed.took,
                    ..was
                },
            };
            check.before = Some(status_before);
            check.fix = fixed.fix;
            check
        })
        .collect()
}

/// The line that opens the fix section of the pretty output.
fn section_heading(before: &[CheckReport], root: &SystemRoot, mode: RunMode) -> String {
    let to_fix = before
        .iter()
        .filter(|c| matches!(c.status, Status::Fail | Status::Error))
        .count();
    let root = printable(&root.base().display().to_string());
    match (to_fix, mode) {
        (0, _) => format!("\nnothing to fix under {root}: no selected check fails\n"),
        (n, RunMode::DryRun) => format!(
            "\nthe plan for {n} check{} under {root}, in fix order (--dry-run: nothing is changed):\n\n",
            plural(n)
        ),
        (n, _) => format!(
            "fixing {n} check{} under {root}, one fixer at a time in dependency order:\n\n",
            plural(n)
        ),
    }
}

fn not_needed() -> FixReport {
    FixReport {
        status: FixStatus::NotNeeded,
        message: "the check passes: nothing to do".to_string(),
        actions: Vec::new(),
        refusals: Vec::new(),
        results: Vec::new(),
    }
}

/// A check that could not be evaluated is not fixed blind: its fixer would plan on facts the check could not
/// read.
fn unevaluated(id: &str, reason: Option<&str>) -> FixReport {
    let refusal = Refusal::new(
        id,
        format!(
            "the check could not be evaluated ({}): nothing is fixed on facts that cannot be read",
            reason.unwrap_or("no reason given")
        ),
        "make what the check reads readable, then run --fix again",
    );
    FixReport {
        status: FixStatus::Refused,
        message: format!("{}: {}; by hand: {}", refusal.subject, refusal.why, refusal.by_hand),
        actions: Vec::new(),
        refusals: vec![refusal],
        results: Vec::new(),
    }
}

fn panicked(payload: &(dyn Any + Send)) -> FixReport {
    let message = payload
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "no message".into());
    FixReport {
        status: FixStatus::Failed,
        message: format!("the fixer panicked (a bug): {message}"),
        actions: Vec::new(),
        refusals: Vec::new(),
        results: Vec::new(),
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cli::Cli;
    use citadel_checks::Finding;
    use clap::Parser;
    use std::cell::RefCell;

    fn report(id: &str, status: Status) -> CheckReport {
        CheckReport {
            id: id.to_string(),
            title: String::new(),
            status,
            duration: Duration::from_millis(1),
            findings: if status == Status::Fail {
                vec![Finding::new("/x", "a", "b", "c")]
            } else {
                Vec::new()
            },
            reason: matches!(status, Status::Skip | Status::Error).then(|| "unreadable".to_string()),
            before: None,
            fix: None,
        }
    }

    /// Every check failing but three: a passing, an unevaluated and a skipped one.
    fn before() -> Vec<CheckReport> {
        CHECKS
            .iter()
            .map(|c| {
                let status = match c.id {
                    "required_tools" => Status::Pass,
                    "scripts" => Status::Error,
                    "trim_timer" => Status::Skip,
                    _ => Status::Fail,
                };
                report(c.id, status)
            })
            .collect()
    }

    fn quiet_console() -> Console {
        Console::new(&Cli::try_parse_from(["citadel-check", "-q"]).unwrap(), false)
    }

    fn planned(message: &str) -> FixReport {
        FixReport {
            status: FixStatus::Planned,
            message: message.to_string(),
            ..not_needed()
        }
    }

    #[test]
    fn failing_checks_are_fixed_in_fix_order_and_the_others_decided_without_planning() {
        let called = RefCell::new(Vec::new());
        let fixed = each_fix(&before(), &quiet_console(), RunMode::DryRun, |check, fixer| {
            assert_eq!(check.id, fixer.id);
            called.borrow_mut().push(check.id);
            if check.id == "symlinks" {
                panic!("index out of bounds");
            }
            (planned(check.id), None)
        });
        let failing: Vec<&str> = fix::FIX_ORDER
            .iter()
            .copied()
            .filter(|id| !["required_tools", "scripts", "trim_timer"].contains(id))
            .collect();
        assert_eq!(*called.borrow(), failing, "only failing checks, in FIX_ORDER");
        let by_id = |id: &str| {
            let index = CHECKS.iter().position(|c| c.id == id).unwrap();
            fixed[index].fix.clone()
        };
        assert_eq!(by_id("required_tools").unwrap().status, FixStatus::NotNeeded);
        let unevaluated = by_id("scripts").unwrap();
        assert_eq!(unevaluated.status, FixStatus::Refused);
        assert!(
            unevaluated.message.contains("could not be evaluated (unreadable)"),
            "{unevaluated:?}"
        );
        assert_eq!(unevaluated.refusals.len(), 1);
        assert_eq!(by_id("trim_timer"), None);
        assert_eq!(by_id("mount_options").unwrap().message, "mount_options");
        let panicked = by_id("symlinks").unwrap();
        assert_eq!(panicked.status, FixStatus::Failed);
        assert!(panicked.message.contains("index out of bounds"), "{panicked:?}");
    }

    #[test]
    fn the_report_keeps_the_status_before_and_takes_the_one_after() {
        let before = vec![report("a", Status::Fail), report("b", Status::Skip)];
        let fixes = vec![
            Fixed {
                fix: Some(planned("x")),
                took: Duration::from_millis(5),
            },
            Fixed {
                fix: None,
                took: Duration::ZERO,
            },
        ];
        let after = vec![report("a", Status::Pass), report("b", Status::Skip)];
        let checks = combine(before.clone(), fixes, Some(after));
        assert_eq!(checks[0].status, Status::Pass);
        assert_eq!(checks[0].before, Some(Status::Fail));
        assert!(checks[0].findings.is_empty());
        assert_eq!(checks[0].duration, Duration::from_millis(7));
        assert_eq!(checks[0].fix.as_ref().unwrap().message, "x");
        assert_eq!(checks[1].before, Some(Status::Skip));
        assert_eq!(checks[1].fix, None);

        let dry = combine(
            before,
            vec![
                Fixed {
                    fix: Some(planned("x")),
                    took: Duration::ZERO,
                },
                Fixed {
                    fix: None,
                    took: Duration::ZERO,
                },
            ],
            None,
        );
        assert_eq!(dry[0].status, Status::Fail, "a dry run changes no status");
        assert_eq!(dry[0].findings.len(), 1);
        assert_eq!(dry[0].before, Some(Status::Fail));
    }
}
