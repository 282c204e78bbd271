//! Fixer for check `required_tools`: the packages of the tools the check finds missing or broken
//! (`[[tools]].package`), installed with the package manager of the root's distribution.
//!
//! - The tools come from the check itself (its findings name them), so that fixer and check never disagree on
//!   what is missing. A broken tool (not executable, a dangling link) is fixed the same way: `InstallPackages`
//!   reinstalls a package that is already installed.
//! - The manager comes from os-release under the root: `ID`, then each `ID_LIKE`, the first known one wins
//!   (debian, ubuntu: apt; rhel, fedora, centos, rocky, almalinux: dnf). An unknown or missing one is refused,
//!   naming the packages to install by hand.
//! - Apt's package lists are refreshed by the action itself (`apt-get update` before installing; see
//!   `Action::InstallPackages`): a fresh host has none, and old ones name versions the mirrors have dropped.
//! - Under a root other than `/` the installation is `pending` (the apply layer never runs it on the host).
//! - A package name that starts with anything but a letter or digit could be read as an option by the package
//!   manager (no Debian or RPM package is named so): refused.

use citadel_checks::checks::required_tools;
use citadel_checks::{Outcome, Policy, System};

use super::support;
use crate::action::{Action, Plan};

pub fn plan(policy: &Policy, system: &System) -> Plan {
    let mut plan = Plan::new();
    let findings = match required_tools::run(policy, system) {
        Outcome::Fail(findings) => findings,
        Outcome::Pass | Outcome::Skip(_) => return plan,
        Outcome::Error(reason) => {
            plan.refuse(
                "required_tools",
                format!("cannot tell which tools are missing: {reason}"),
                "fix what the required_tools check reports, then run --fix again",
            );
            return plan;
        }
    };
    let mut packages: Vec<String> = Vec::new();
    for tool in &policy.tools {
        if !findings.iter().any(|f| f.subject == tool.name) || packages.contains(&tool.package) {
            continue;
        }
        if tool.package.starts_with(|c: char| c.is_ascii_alphanumeric()) {
            packages.push(tool.package.clone());
        } else {
            plan.refuse(
                tool.package.clone(),
                format!(
                    "the package name {:?} of {} does not start with a letter or digit: a package manager would \
                     read it as an option",
                    tool.package, tool.name
                ),
                format!(
                    "correct [[tools]].package for {} in the policy, then run --fix again",
                    tool.name
                ),
            );
        }
    }
    if packages.is_empty() {
        return plan;
    }
    if let Some(manager) = support::package_manager(system, &packages, &mut plan) {
        plan.push(Action::InstallPackages { manager, packages });
    }
    plan
}
