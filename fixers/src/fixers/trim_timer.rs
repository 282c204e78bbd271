//! Fixer for check `trim_timer`: the policy's timer (`fstrim.timer`) enabled and started, as
//! `systemctl enable --now` does it (see `units`).
//!
//! - Disabled: `EnableUnit` for each target of its `[Install] WantedBy=` (`timers.target` when it names none),
//!   with `now`. The link is a file and is made under any root; the timer starts only on `/` with systemd
//!   running. Where systemd does not run (a chroot, an image, this kind of container) the start waits for the
//!   boot, but the check, which looks at the links offline, passes: the fix is `fixed` (`fix::judge`).
//! - Masked: refused, naming the mask. Someone masked it on purpose; find out why before unmasking.
//! - The unit file missing: its package is (re)installed, then the unit enabled at the distribution's vendor
//!   unit directory. citadel-check knows the package of `fstrim.timer` only (`util-linux`, on Debian, Ubuntu
//!   and RHEL alike; a deleted unit file comes back with a reinstall); another timer is refused, naming it. Under
//!   a root other than `/` the installation is pending and so is the link that waits for it.
//! - The check's "active where systemd runs" is not read offline; a timer already enabled plans nothing.

use citadel_checks::systemd::UnitState;
use citadel_checks::{Policy, System};

use super::{support, units};
use crate::action::{Action, Plan};

/// The package that ships each timer citadel-check knows, the same name on apt and dnf distributions.
const PACKAGES: [(&str, &str); 1] = [("fstrim.timer", "util-linux")];

/// Timers are pulled in by `timers.target`.
const TARGET: &str = "timers.target";

pub fn plan(policy: &Policy, system: &System) -> Plan {
    let mut plan = Plan::new();
    let name = &policy.trim.timer;
    let unit = match system.systemd().and_then(|systemd| systemd.unit(name)) {
        Ok(unit) => unit,
        Err(e) => {
            support::cannot_inspect(&mut plan, &e.path, &e);
            return plan;
        }
    };
    let package = PACKAGES
        .iter()
        .find(|(timer, _)| timer == name)
        .map(|(_, package)| *package);
    match (unit.state(), package) {
        (UnitState::NotFound, Some(package)) => {
            let packages = vec![package.to_string()];
            if let Some(manager) = support::package_manager(system, &packages, &mut plan) {
                plan.push(Action::InstallPackages { manager, packages });
                let shipped = units::vendor_unit_file(manager, name);
                units::enable(&mut plan, system, &unit, TARGET, Some(&shipped));
            }
        }
        _ => units::enable(&mut plan, system, &unit, TARGET, None),
    }
    plan
}
