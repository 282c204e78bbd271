//! The ten fixers, one module each, named by the check id they fix. Each only plans (see the crate docs).
//! `support` holds what the fixers share (owner ids, what stands at a path, refusals naming a prerequisite, the
//! package manager); `units` enables a systemd unit for `trim_timer` and `backup_cron`.

pub mod backup_cron;
pub mod directory_structure;
pub mod io_schedulers;
pub mod model_directories;
pub mod mount_options;
pub mod required_tools;
pub mod scripts;
pub mod storage_mounts;
mod support;
pub mod symlinks;
pub mod trim_timer;
mod units;

use crate::fix::Fixer;

/// Every fixer, in the order they run (SPEC §4: `FIX_ORDER`).
pub const FIXERS: [Fixer; 10] = [
    Fixer {
        id: "required_tools",
        plan: required_tools::plan,
    },
    Fixer {
        id: "storage_mounts",
        plan: storage_mounts::plan,
    },
    Fixer {
        id: "mount_options",
        plan: mount_options::plan,
    },
    Fixer {
        id: "io_schedulers",
        plan: io_schedulers::plan,
    },
    Fixer {
        id: "trim_timer",
        plan: trim_timer::plan,
    },
    Fixer {
        id: "directory_structure",
        plan: directory_structure::plan,
    },
    Fixer {
        id: "model_directories",
        plan: model_directories::plan,
    },
    Fixer {
        id: "symlinks",
        plan: symlinks::plan,
    },
    Fixer {
        id: "scripts",
        plan: scripts::plan,
    },
    Fixer {
        id: "backup_cron",
        plan: backup_cron::plan,
    },
];

/// The fixer of the check with this id.
pub fn by_id(id: &str) -> Option<&'static Fixer> {
    FIXERS.iter().find(|f| f.id == id)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fix::FIX_ORDER;

    #[test]
    fn fixers_run_in_fix_order_and_cover_every_check() {
        let ids: Vec<&str> = FIXERS.iter().map(|f| f.id).collect();
        assert_eq!(ids, FIX_ORDER);
        for check in citadel_checks::CHECKS {
            assert!(by_id(check.id).is_some(), "no fixer for {}", check.id);
        }
    }
}
