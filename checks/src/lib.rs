//! citadel-checks: the Citadel policy, a read-only view of a system under a root, the parsers for each source
//! of truth, and the ten checks. Nothing in this crate writes.

pub mod accounts;
pub mod blockdev;
pub mod checks;
pub mod cron;
pub mod devices;
pub mod error;
pub mod filekind;
pub mod fstab;
pub mod mountinfo;
pub mod mountopts;
pub mod os_release;
pub mod outcome;
pub mod placement;
pub mod policy;
pub mod root;
pub mod shipped;
pub mod systemd;
#[cfg(test)]
mod testing;
pub mod udev;
#[cfg(test)]
mod unprivileged;
pub mod view;

pub use checks::{Check, CHECKS};
pub use error::{FactError, FactErrorKind};
pub use outcome::{CheckResult, Finding, Outcome, Status};
pub use policy::{Policy, PolicyError};
pub use root::SystemRoot;
pub use view::System;
