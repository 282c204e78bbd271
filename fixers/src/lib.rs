//! citadel-fixers: primitive actions (plan, dry-run diff, atomic apply) and the ten fixers.

pub mod action;
pub mod apply;
pub mod atomic;
pub mod audit;
pub mod backup;
pub mod clock;
pub mod diff;
pub mod fix;
pub mod fspath;
pub mod host;
pub mod lock;
pub mod mount_guard;
pub mod obstacle;
pub mod outcome;
pub mod privilege;
pub mod validate;
