//! Fixer for check `required_tools`.

use citadel_checks::{Policy, System};

use crate::action::Plan;

/// PLACEHOLDER until the fixer lands: refuses, so that it can never pass for "nothing to do".
pub fn plan(_policy: &Policy, _system: &System) -> Plan {
    let mut plan = Plan::new();
    plan.refuse(
        "required_tools",
        "this fixer is not implemented yet",
        "fix it by hand as the check's findings say",
    );
    plan
}
