//! cron: what cron really reads and runs.
//!
//! PLACEHOLDER from branch `files`: only `schedule` is declared here, so that the policy validator can call
//! `Schedule::parse`. The real module (crontab parsing, schedules, the daily rule) is written on branch `boot`
//! and REPLACES this file and `schedule.rs` at merge.

pub mod schedule;
