//! citadel-check's command line, test harness, fix mode and reports. `main.rs` only calls `app::main`; the rest lives
//! here so that tests and benches can reach it.

pub mod app;
pub mod assets;
pub mod cli;
pub mod command;
pub mod console;
pub mod fix_mode;
pub mod harness;
pub mod host;
pub mod invocation_error;
pub mod nightly;
pub mod policy_source;
pub mod report;
pub mod selection;
mod stdout_redirect;
