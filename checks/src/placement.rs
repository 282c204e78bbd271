//! Is a path of the layout on its storage's file system? SPEC §3 rows 4 and 5: the storage mount point must be
//! mounted (the visible mount there in mountinfo), and the path must have the same st_dev as the mount point
//! path, i.e. be on the mounted file system, not on a separate mount, nor on the root file system underneath.
//! In a fixture tree, where every path shares one st_dev, this reduces to "mounted".

use std::fs::Metadata;
use std::os::unix::fs::MetadataExt;

use crate::error::FactError;
use crate::filekind;
use crate::mountinfo::MOUNTINFO_PATH;
use crate::outcome::Finding;
use crate::policy::Storage;
use crate::view::System;

/// The state of one storage mount, as far as paths on it are concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StorageMount {
    /// Mounted; `dev` is the st_dev of the mount point path (`None` if the path itself cannot be found).
    Mounted { dev: Option<u64> },
    /// Not mounted: a finding naming the prerequisite, to report once for every path on this storage.
    NotMounted(Finding),
}

impl StorageMount {
    pub fn of(storage: &Storage, system: &System) -> Result<StorageMount, FactError> {
        let mount_point = &storage.mount_point;
        if system.mounts()?.visible_at(mount_point).is_none() {
            return Ok(StorageMount::NotMounted(Finding::new(
                mount_point.display().to_string(),
                "mounted (prerequisite, checked by storage_mounts)",
                format!("not a mount point in {MOUNTINFO_PATH}"),
                format!(
                    "Mount {} first (mount {0}; its /etc/fstab entry is checked by storage_mounts): anything made \
                     there before would land on the root file system, hidden by the mount",
                    mount_point.display()
                ),
            )));
        }
        let dev = match system.root().metadata(mount_point) {
            Ok(meta) => Some(meta.dev()),
            Err(e) if e.is_not_found() => None,
            Err(e) => return Err(e),
        };
        Ok(StorageMount::Mounted { dev })
    }

    /// A finding when `meta` (of `path`, under this mounted storage) is on another file system.
    pub fn placement_finding(&self, storage: &Storage, path: &str, meta: &Metadata) -> Option<Finding> {
        match self {
            StorageMount::Mounted { dev: Some(dev) } if meta.dev() != *dev => Some(Finding::new(
                path,
                format!(
                    "on the file system mounted at {} (device {})",
                    storage.mount_point.display(),
                    filekind::device(*dev)
                ),
                format!("on device {}", filekind::device(meta.dev())),
                format!(
                    "{path} is a separate mount or lies on another file system: unmount what is mounted there and \
                     keep it on the {} file system",
                    storage.mount_point.display()
                ),
            )),
            _ => None,
        }
    }
}
