//! The ten checks of SPEC §3, one module each, named by the check id.

pub mod backup_cron;
pub mod directory_structure;
pub mod io_schedulers;
pub mod model_directories;
pub mod mount_options;
pub mod required_tools;
pub mod scripts;
pub mod storage_mounts;
pub mod symlinks;
pub mod trim_timer;

use crate::outcome::Outcome;
use crate::policy::Policy;
use crate::view::System;

/// One check: a stable id (the test name), a title, and a pure function from (policy, system) to an outcome.
#[derive(Clone, Copy)]
pub struct Check {
    pub id: &'static str,
    pub title: &'static str,
    pub run: fn(&Policy, &System) -> Outcome,
}

impl std::fmt::Debug for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Check").field("id", &self.id).finish()
    }
}

/// Every check, in the order of SPEC §3 (the order reports use).
pub const CHECKS: [Check; 10] = [
    Check {
        id: "required_tools",
        title: "Required tools are installed",
        run: required_tools::run,
    },
    Check {
        id: "storage_mounts",
        title: "Storage is mounted and in fstab",
        run: storage_mounts::run,
    },
    Check {
        id: "mount_options",
        title: "Mount options match the policy",
        run: mount_options::run,
    },
    Check {
        id: "directory_structure",
        title: "Directory tree exists with owner and mode",
        run: directory_structure::run,
    },
    Check {
        id: "model_directories",
        title: "Model directories exist on the models disk",
        run: model_directories::run,
    },
    Check {
        id: "symlinks",
        title: "Model symlinks resolve",
        run: symlinks::run,
    },
    Check {
        id: "scripts",
        title: "Management scripts are installed",
        run: scripts::run,
    },
    Check {
        id: "io_schedulers",
        title: "I/O schedulers are set, live and at boot",
        run: io_schedulers::run,
    },
    Check {
        id: "trim_timer",
        title: "fstrim.timer is enabled",
        run: trim_timer::run,
    },
    Check {
        id: "backup_cron",
        title: "A daily backup job runs under cron",
        run: backup_cron::run,
    },
];

/// The check with this id.
pub fn by_id(id: &str) -> Option<&'static Check> {
    CHECKS.iter().find(|c| c.id == id)
}
