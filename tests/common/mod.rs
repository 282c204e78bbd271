//! Shared by the integration tests: fixture scenarios and how to lay them out as a fake system root live in the
//! `citadel-testkit` crate (`testkit/src/lib.rs` documents `scenario.toml`); this module adds the root package's
//! own folder.
#![allow(dead_code)]

use std::path::PathBuf;

pub use citadel_testkit::*;

/// The root package's folder (the workspace root): `schemas/`, `fixtures/`.
pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}
