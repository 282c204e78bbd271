//! Fix mode on every fixture scenario that has something to fix: each is a test case.
//!
//! For a scenario whose `[expect]` has a check that does not pass: materialize it, run
//! `citadel-check --fix --root COPY --json -`, and require (SPEC §4):
//! - every check starts from the status `[expect]` gives it (`before`), and no fix ends `failed`;
//! - each check the scenario's `[fix]` table names ends with that fix status; every other check passes after the
//!   fix, or, for a check that also reads the running kernel, ends with a `pending` fix saying what it waits for;
//!   an undeclared refusal fails the scenario and names the fixer that refused (the rules are documented with
//!   `[fix]` at the top of `testkit/src/lib.rs`);
//! - a second `--fix` plans nothing new: every fix `not_needed`, or `pending`/`refused` exactly as the first
//!   time, and the whole tree (type, mode, owner, size, mtime in ns, link target, content of every entry) is
//!   identical, the audit log included when nothing was pending or refused.

mod common;
mod support;

use std::fs;
use std::path::{Path, PathBuf};

use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::Value;
use support::fixes::{self, FIX_STATUSES};
use support::tree::{self, AUDIT_LOG};
use support::CHECK_IDS;

fn main() {
    let args = Arguments::from_args();
    let root = common::is_root();
    if !root {
        eprintln!("WARNING: not root: fixture scenarios need files owned by root (uid 0); every scenario is SKIPPED");
    }
    let trials = common::scenario_names()
        .into_iter()
        .filter(|name| has_something_to_fix(name))
        .map(|name| {
            let test_name = name.clone();
            Trial::test(test_name, move || fix_scenario(&name)).with_ignored_flag(!root)
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}

/// True when a check of the scenario does not pass (a scenario that cannot be read is a test case too: it fails).
fn has_something_to_fix(name: &str) -> bool {
    common::load_scenario(name).map_or(true, |s| s.expect.values().any(|status| status != "pass"))
}

fn fix_scenario(name: &str) -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    let scenario = common::materialize(name, dir.path())?;
    let config: Option<PathBuf> = scenario
        .policy
        .as_ref()
        .map(|policy| common::fixtures_dir().join(name).join(policy));
    let mut problems = declaration_problems(&scenario);

    let first = fix(dir.path(), config.as_deref())?;
    for (id, check) in fixes::checks(&first) {
        let want = scenario.expect.get(&id).map(String::as_str).unwrap_or("?");
        if check["before"] != want {
            problems.push(format!(
                "{id}: before fixing it was {}, the scenario expects {want}",
                check["before"]
            ));
        }
    }
    problems.extend(fixes::problems_after_fix(&first, &scenario.fix));
    let after_first = tree::snapshot(dir.path());

    let second = fix(dir.path(), config.as_deref())?;
    problems.extend(second_run_problems(&first, &second));
    let after_second = tree::snapshot(dir.path());
    let quiet = fixes::checks(&second)
        .values()
        .all(|c| matches!(fixes::fix_status(c), "not_needed" | "-"));
    // Pending and refused actions are tried again, and each try is a line in the audit log.
    let ignored: &[&str] = if quiet { &[] } else { &[AUDIT_LOG] };
    let changed = after_first.without(ignored).differences(&after_second.without(ignored));
    if !changed.is_empty() {
        problems.push(format!(
            "the second --fix changed the tree:\n  {}",
            changed.join("\n  ")
        ));
    }
    if let Ok(log) = fs::read_to_string(dir.path().join(AUDIT_LOG)) {
        problems.extend(fixes::audit_log_problems(&log));
    }

    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("{}\n{}", scenario.description.trim_end(), problems.join("\n")).into())
    }
}

/// Runs `--fix` on `root` and returns its report.
fn fix(root: &Path, config: Option<&Path>) -> Result<Value, String> {
    let output = fixes::fix_command(root, config, &[])
        .output()
        .map_err(|e| e.to_string())?;
    fixes::report_of(&output)
}

/// A `[fix]` table may only name checks, with statuses a fix run reports.
fn declaration_problems(scenario: &common::Scenario) -> Vec<String> {
    scenario
        .fix
        .iter()
        .filter(|(id, status)| !CHECK_IDS.contains(&id.as_str()) || !FIX_STATUSES.contains(&status.as_str()))
        .map(|(id, status)| {
            format!("scenario.toml [fix]: {id} = {status:?}: not a check id with one of {FIX_STATUSES:?}")
        })
        .collect()
}

/// The second run must be quiet: nothing fixed again, and what was pending or refused for a check that still
/// does not pass is so again, for the same reason. (A check that passes after a pending fix, such as a unit
/// enabled whose start waits for the boot, is not fixed again: `not_needed`.)
fn second_run_problems(first: &Value, second: &Value) -> Vec<String> {
    let first_checks = fixes::checks(first);
    let mut problems = Vec::new();
    for (id, check) in fixes::checks(second) {
        let (now, why) = (fixes::fix_status(check), fixes::fix_message(check));
        let Some(before) = first_checks.get(&id) else {
            continue;
        };
        let (was, was_why) = (fixes::fix_status(before), fixes::fix_message(before));
        let fine = match was {
            "pending" | "refused" if before["status"] != "pass" => now == was && why == was_why,
            _ => matches!(now, "not_needed" | "-"),
        };
        if !fine {
            problems.push(format!(
                "{id}: the second --fix ended {now} ({why}); the first ended {was} ({was_why}): not idempotent"
            ));
        }
    }
    problems
}
