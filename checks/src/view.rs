//! `System`: everything the checks know about one system, each source read and parsed at most once per run.
//!
//! Checks run in parallel, so each fact is computed lazily behind a `OnceLock` and shared. A fact that cannot be
//! read is remembered as its error, and every check that needs it reports that error.

use std::sync::OnceLock;

use crate::accounts::Accounts;
use crate::error::FactError;
use crate::mountinfo::MountTable;
use crate::root::SystemRoot;

pub struct System {
    root: SystemRoot,
    mounts: OnceLock<Result<MountTable, FactError>>,
    accounts: OnceLock<Result<Accounts, FactError>>,
}

impl System {
    pub fn new(root: SystemRoot) -> System {
        System {
            root,
            mounts: OnceLock::new(),
            accounts: OnceLock::new(),
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
}

fn cached<T>(
    cell: &OnceLock<Result<T, FactError>>,
    load: impl FnOnce() -> Result<T, FactError>,
) -> Result<&T, FactError> {
    cell.get_or_init(load).as_ref().map_err(Clone::clone)
}
