//! citadel-fixers: primitive actions (plan, dry-run diff, atomic apply) and the ten fixers.

pub mod action;
pub mod atomic;
pub mod clock;
pub mod diff;
pub mod fspath;
pub mod obstacle;
