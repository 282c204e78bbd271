//! Check `symlinks` (SPEC §3).

use crate::outcome::Outcome;
use crate::policy::Policy;
use crate::view::System;

pub fn run(_policy: &Policy, _system: &System) -> Outcome {
    Outcome::Error("check symlinks is not implemented yet".into())
}
