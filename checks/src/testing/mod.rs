//! Test support (test builds only): fake system roots for unit tests.

mod compliant;
mod fake_root;

pub use compliant::*;
pub use fake_root::*;
