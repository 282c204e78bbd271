//! One fix, start to end (SPEC §4): plan, apply, run the check again, plan again.
//!
//! A fixer only plans (`PlanFn`); this module turns a plan into the fix outcome the report shows (`judge`). The second
//! plan proves idempotence on every run: anything it still wants, other than what was pending or refused the
//! first time (a remount that only the running system can do), makes the fix `failed` ("not idempotent").

use serde::Serialize;

use citadel_checks::{Check, Outcome, Policy, System};

use crate::action::{Action, ActionReport, Plan, Refusal};
use crate::apply::Applier;
use crate::outcome::{ActionResult, ActionStatus};

/// A fixer: from the policy and what the system view finds, the plan that makes the check pass.
pub type PlanFn = fn(&Policy, &System) -> Plan;

/// The fixer of one check.
#[derive(Clone, Copy)]
pub struct Fixer {
    /// The id of the check it fixes.
    pub id: &'static str,
    pub plan: PlanFn,
}

impl std::fmt::Debug for Fixer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fixer").field("id", &self.id).finish()
    }
}

/// The order fixers run in: each may need what an earlier one set up (SPEC §4).
pub const FIX_ORDER: [&str; 10] = [
    "required_tools",
    "storage_mounts",
    "mount_options",
    "io_schedulers",
    "trim_timer",
    "directory_structure",
    "model_directories",
    "symlinks",
    "scripts",
    "backup_cron",
];

/// The fix outcome of one check, as the report spells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FixStatus {
    /// The plan was empty.
    NotNeeded,
    /// `--dry-run`: there is a plan, and nothing was changed.
    Planned,
    /// Applied, and the check passes.
    Fixed,
    /// Applied as far as possible; the rest takes effect at a remount or boot, or needs the running system.
    Pending,
    /// Something is unsafe or impossible; the message says why and what to do by hand.
    Refused,
    Failed,
}

impl FixStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            FixStatus::NotNeeded => "not_needed",
            FixStatus::Planned => "planned",
            FixStatus::Fixed => "fixed",
            FixStatus::Pending => "pending",
            FixStatus::Refused => "refused",
            FixStatus::Failed => "failed",
        }
    }
}

/// What a fix did, for the report's `fix {status, message, actions}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FixReport {
    pub status: FixStatus,
    pub message: String,
    /// The plan's actions, each file write with its diff (taken before anything was applied).
    pub actions: Vec<ActionReport>,
    pub refusals: Vec<Refusal>,
    /// What became of each action (empty in `--dry-run`).
    pub results: Vec<ActionResult>,
}

/// `--dry-run`: the plan and its diffs; nothing is changed.
pub fn dry_run(plan_fn: PlanFn, policy: &Policy, system: &System) -> FixReport {
    let plan = plan_fn(policy, system);
    let actions = plan.reports(system.root());
    let (status, message) = if plan.is_empty() {
        (FixStatus::NotNeeded, "nothing to do".to_string())
    } else if plan.actions.is_empty() {
        (FixStatus::Refused, refusals_message(&plan.refusals))
    } else {
        let mut message = format!("would apply {}", count(plan.actions.len(), "action"));
        if !plan.refusals.is_empty() {
            message.push_str(&format!("; refuses: {}", refusals_message(&plan.refusals)));
        }
        (FixStatus::Planned, message)
    };
    FixReport {
        status,
        message,
        actions,
        refusals: plan.refusals,
        results: Vec::new(),
    }
}

/// Plans on fresh facts, applies, runs `check` again and plans again. Returns the report and the check's
/// final outcome.
pub fn fix(check: &Check, plan_fn: PlanFn, policy: &Policy, applier: &Applier) -> (FixReport, Outcome) {
    let root = applier.root();
    let before = System::new(root.clone());
    let plan = plan_fn(policy, &before);
    if plan.is_empty() {
        let outcome = (check.run)(policy, &before);
        let report = FixReport {
            status: FixStatus::NotNeeded,
            message: "nothing to do".to_string(),
            actions: Vec::new(),
            refusals: Vec::new(),
            results: Vec::new(),
        };
        return (report, outcome);
    }
    let actions = plan.reports(root);
    let results = applier.apply(check.id, &plan);
    let after = System::new(root.clone());
    let outcome = (check.run)(policy, &after);
    let second = plan_fn(policy, &after);
    let (status, message) = judge(&plan, &results, &second, &outcome);
    let report = FixReport {
        status,
        message,
        actions,
        refusals: plan.refusals,
        results,
    };
    (report, outcome)
}

/// The fix outcome from the first plan, what applying it did, the second plan and the check's outcome after.
/// Failed beats not idempotent beats refused beats pending beats fixed. Pending actions make the fix pending
/// only while the check does not pass: once it passes, what still waits (a unit's start until boot) is not
/// something the check needs, and the fix is `fixed`, its message saying what waits.
pub fn judge(plan: &Plan, results: &[ActionResult], second: &Plan, outcome: &Outcome) -> (FixStatus, String) {
    let with = |status: ActionStatus| results.iter().filter(move |r| r.status == status);
    let failures: Vec<String> = with(ActionStatus::Failed)
        .map(|r| format!("{}: {}", r.summary, r.message))
        .collect();
    if !failures.is_empty() {
        return (FixStatus::Failed, failures.join("; "));
    }
    // What the first apply could not do may rightly be planned again; anything else may not.
    let waiting: Vec<&Action> = plan
        .actions
        .iter()
        .zip(results)
        .filter(|(_, r)| matches!(r.status, ActionStatus::Pending | ActionStatus::Refused))
        .map(|(a, _)| a)
        .collect();
    let again: Vec<String> = second
        .actions
        .iter()
        .filter(|a| !waiting.contains(a))
        .map(Action::summary)
        .collect();
    if !again.is_empty() {
        return (
            FixStatus::Failed,
            format!(
                "not idempotent: after applying, the fix still plans: {}",
                again.join("; ")
            ),
        );
    }
    let mut refusals: Vec<String> = plan.refusals.iter().map(refusal_message).collect();
    refusals.extend(with(ActionStatus::Refused).map(|r| r.message.clone()));
    if !refusals.is_empty() {
        return (FixStatus::Refused, refusals.join("; "));
    }
    // What waits for a boot or the running system makes the fix pending only while the check still needs it: a
    // timer linked where systemd does not run passes the (offline) check, and its start waits for the boot.
    let pending: Vec<String> = with(ActionStatus::Pending).map(|r| r.message.clone()).collect();
    if !pending.is_empty() && *outcome != Outcome::Pass {
        return (FixStatus::Pending, pending.join("; "));
    }
    let applied = with(ActionStatus::Applied).count();
    match outcome {
        Outcome::Pass | Outcome::Skip(_) => {
            let mut said = Vec::new();
            if applied > 0 || pending.is_empty() {
                said.push(format!("applied {}", count(applied, "action")));
            }
            if !pending.is_empty() {
                said.push(format!("the check passes; waiting: {}", pending.join("; ")));
            }
            (FixStatus::Fixed, said.join("; "))
        }
        Outcome::Fail(findings) => {
            let first = findings
                .first()
                .map(|f| format!("{}: expected {}, found {}", f.subject, f.expected, f.actual))
                .unwrap_or_default();
            (
                FixStatus::Failed,
                format!(
                    "applied {}, but the check still fails: {first}",
                    count(applied, "action")
                ),
            )
        }
        Outcome::Error(reason) => (
            FixStatus::Failed,
            format!(
                "applied {}, but the check cannot be evaluated: {reason}",
                count(applied, "action")
            ),
        ),
    }
}

fn refusal_message(r: &Refusal) -> String {
    format!("{}: {}; by hand: {}", r.subject, r.why, r.by_hand)
}

fn refusals_message(refusals: &[Refusal]) -> String {
    refusals.iter().map(refusal_message).collect::<Vec<_>>().join("; ")
}

fn count(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use citadel_checks::Finding;

    fn remount() -> Action {
        Action::Remount {
            target: "/mnt/m".into(),
            options: vec!["noatime".into()],
        }
    }

    fn mkdir() -> Action {
        Action::CreateDir {
            path: "/d".into(),
            uid: 0,
            gid: 0,
            mode: 0o755,
        }
    }

    fn plan(actions: Vec<Action>) -> Plan {
        Plan {
            actions,
            refusals: Vec::new(),
        }
    }

    fn result(action: &Action, status: ActionStatus) -> ActionResult {
        ActionResult::new(action, status, format!("{} {}", action.kind(), status.as_str()))
    }

    #[test]
    fn pending_actions_planned_again_are_not_a_lack_of_idempotence() {
        let first = plan(vec![mkdir(), remount()]);
        let results = [
            result(&mkdir(), ActionStatus::Applied),
            result(&remount(), ActionStatus::Pending),
        ];
        let failing = Outcome::Fail(vec![Finding::new("/mnt/m", "noatime", "relatime", "remount")]);
        let (status, message) = judge(&first, &results, &plan(vec![remount()]), &failing);
        assert_eq!(status, FixStatus::Pending);
        assert_eq!(message, "remount pending");
    }

    fn enable() -> Action {
        Action::EnableUnit {
            unit: "fstrim.timer".into(),
            wanted_by: "timers.target".into(),
            unit_file: "/lib/systemd/system/fstrim.timer".into(),
            now: true,
        }
    }

    #[test]
    fn a_pending_start_the_passing_check_does_not_need_leaves_the_fix_fixed() {
        // Where systemd does not run, the link is made and the start waits for the boot; offline the check wants
        // only the link.
        let first = plan(vec![enable()]);
        let waits = "linked /etc/systemd/system/timers.target.wants/fstrim.timer -> /lib/systemd/system/fstrim.timer; \
                     not started: systemd is not running here; it starts at the next boot";
        let results = [ActionResult::new(&enable(), ActionStatus::Pending, waits)];
        let (status, message) = judge(&first, &results, &Plan::new(), &Outcome::Pass);
        assert_eq!(status, FixStatus::Fixed);
        assert_eq!(message, format!("the check passes; waiting: {waits}"));
        // With something applied too, both are said.
        let first = plan(vec![mkdir(), enable()]);
        let results = [
            result(&mkdir(), ActionStatus::Applied),
            ActionResult::new(&enable(), ActionStatus::Pending, waits),
        ];
        let (status, message) = judge(&first, &results, &Plan::new(), &Outcome::Pass);
        assert_eq!(status, FixStatus::Fixed);
        assert_eq!(message, format!("applied 1 action; the check passes; waiting: {waits}"));
        // A check that still fails, or says nothing, keeps the fix pending.
        let failing = Outcome::Fail(vec![Finding::new("fstrim.timer", "enabled", "disabled", "enable it")]);
        let (status, _) = judge(&first, &results, &Plan::new(), &failing);
        assert_eq!(status, FixStatus::Pending);
        let (status, _) = judge(&first, &results, &Plan::new(), &Outcome::Skip("no systemd".into()));
        assert_eq!(status, FixStatus::Pending);
    }

    #[test]
    fn an_applied_action_planned_again_is_not_idempotent() {
        let first = plan(vec![mkdir()]);
        let results = [result(&mkdir(), ActionStatus::Applied)];
        let (status, message) = judge(&first, &results, &plan(vec![mkdir()]), &Outcome::Pass);
        assert_eq!(status, FixStatus::Failed);
        assert!(message.starts_with("not idempotent"), "{message}");
    }

    #[test]
    fn refusals_outrank_pending_and_say_what_to_do() {
        let mut first = plan(vec![remount()]);
        first.refuse("/opt/x", "a regular file is in the way", "move it away");
        let results = [result(&remount(), ActionStatus::Pending)];
        let (status, message) = judge(&first, &results, &plan(vec![remount()]), &Outcome::Pass);
        assert_eq!(status, FixStatus::Refused);
        assert_eq!(message, "/opt/x: a regular file is in the way; by hand: move it away");
    }

    #[test]
    fn applied_but_still_failing_is_failed() {
        let first = plan(vec![mkdir()]);
        let results = [result(&mkdir(), ActionStatus::Applied)];
        let failing = Outcome::Fail(vec![Finding::new("/d", "0755", "0700", "chmod")]);
        let (status, message) = judge(&first, &results, &Plan::new(), &failing);
        assert_eq!(status, FixStatus::Failed);
        assert_eq!(
            message,
            "applied 1 action, but the check still fails: /d: expected 0755, found 0700"
        );
        assert_eq!(
            judge(&first, &results, &Plan::new(), &Outcome::Pass),
            (FixStatus::Fixed, "applied 1 action".to_string())
        );
    }
}
