//! Check `mount_options` (SPEC §3).

use crate::outcome::Outcome;
use crate::policy::Policy;
use crate::view::System;

pub fn run(_policy: &Policy, _system: &System) -> Outcome {
    Outcome::Error("check mount_options is not implemented yet".into())
}
