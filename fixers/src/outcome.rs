//! What happened to an action when it was applied.

use serde::Serialize;

use crate::action::Action;

/// The result of applying one action.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionStatus {
    /// The system was changed as the action says.
    Applied,
    /// Its effect already held: nothing was touched, not even an mtime.
    Unchanged,
    /// Not done now: it needs the running kernel and the root is not `/`, or it takes effect later (a start
    /// where systemd does not run). The message says what it waits for.
    Pending,
    /// Unsafe or impossible (data in the way, a storage not mounted, a masked unit); the message says why and
    /// what to do by hand. Nothing was changed.
    Refused,
    /// Tried and failed; the message says how.
    Failed,
    /// Not tried, because an earlier action of the same plan failed.
    Skipped,
}

impl ActionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ActionStatus::Applied => "applied",
            ActionStatus::Unchanged => "unchanged",
            ActionStatus::Pending => "pending",
            ActionStatus::Refused => "refused",
            ActionStatus::Failed => "failed",
            ActionStatus::Skipped => "skipped",
        }
    }
}

/// One action and what became of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActionResult {
    pub kind: String,
    pub target: String,
    pub summary: String,
    pub status: ActionStatus,
    /// What was done or why not (for `refused`: why, then what to do by hand).
    pub message: String,
}

impl ActionResult {
    pub fn new(action: &Action, status: ActionStatus, message: impl Into<String>) -> Self {
        ActionResult {
            kind: action.kind().to_string(),
            target: action.target(),
            summary: action.summary(),
            status,
            message: message.into(),
        }
    }
}
