//! `System`: everything the checks know about one system, each source read and parsed at most once per run.
//!
//! Checks run in parallel, so each fact is computed lazily behind a `OnceLock` and shared. A fact that cannot be
//! read is remembered as its error, and every check that needs it reports that error.

use std::sync::OnceLock;

use crate::accounts::Accounts;
use crate::cron::Cron;
use crate::error::FactError;
use crate::fstab::Fstab;
use crate::mountinfo::MountTable;
use crate::root::SystemRoot;
use crate::systemd::Systemd;
use crate::udev::RuleSet;

pub struct System {
    root: SystemRoot,
    mounts: OnceLock<Result<MountTable, FactError>>,
    accounts: OnceLock<Result<Accounts, FactError>>,
    fstab: OnceLock<Result<Fstab, FactError>>,
    udev_rules: OnceLock<Result<RuleSet, FactError>>,
    systemd: OnceLock<Result<Systemd, FactError>>,
    cron: OnceLock<Result<Cron, FactError>>,
}

impl System {
    pub fn new(root: SystemRoot) -> System {
        System {
            root,
            mounts: OnceLock::new(),
            accounts: OnceLock::new(),
            fstab: OnceLock::new(),
            udev_rules: OnceLock::new(),
            systemd: OnceLock::new(),
            cron: OnceLock::new(),
        }
    }

    pub fn root(&self) -> &SystemRoot {
        &self.root
    }

    /// `/proc/self/mountinfo`.
    pub fn mounts(&self) -> Result<&MountTable, FactError> {
        cached(&self.mounts, || MountTable::load(&self.root))
    }

    /// `/etc/passwd` and `/etc/group`.
    pub fn accounts(&self) -> Result<&Accounts, FactError> {
        cached(&self.accounts, || Accounts::load(&self.root))
    }

    /// `/etc/fstab`. Lines that do not parse are in `problems`, not errors; a missing file is `NotFound`.
    pub fn fstab(&self) -> Result<&Fstab, FactError> {
        cached(&self.fstab, || Fstab::load(&self.root))
    }

    /// The udev rules in the standard rule directories, in the order udev applies them.
    pub fn udev_rules(&self) -> Result<&RuleSet, FactError> {
        cached(&self.udev_rules, || RuleSet::load(&self.root))
    }

    /// The systemd unit directories (units, masks, `*.wants` links) and whether systemd runs.
    pub fn systemd(&self) -> Result<&Systemd, FactError> {
        cached(&self.systemd, || Systemd::load(&self.root))
    }

    /// cron: the installed daemon, its crontab files and /etc/cron.daily.
    pub fn cron(&self) -> Result<&Cron, FactError> {
        cached(&self.cron, || Cron::load(&self.root))
    }
}

fn cached<T>(
    cell: &OnceLock<Result<T, FactError>>,
    load: impl FnOnce() -> Result<T, FactError>,
) -> Result<&T, FactError> {
    cell.get_or_init(load).as_ref().map_err(Clone::clone)
}
