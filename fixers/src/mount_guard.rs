//! Nothing is created under a storage mount point that is not mounted (SPEC §4 rule 2): it would land on the
//! root file system and be hidden by the later mount.
//!
//! This module is the single source of truth for that rule. Planners call `unmounted_storage_above` with the
//! run's cached mount table to refuse early with a helpful plan (`refusal`); the apply layer calls it again,
//! with mountinfo read afresh, right before every file-level change, so a planner that forgets cannot break
//! the rule and a mount done earlier in the same plan is seen.

use std::path::{Path, PathBuf};

use citadel_checks::mountinfo::MountTable;
use citadel_checks::Policy;

use crate::action::Refusal;

/// The mount points of the policy's storages.
pub fn storage_mount_points(policy: &Policy) -> Vec<PathBuf> {
    policy.storages().iter().map(|(_, s)| s.mount_point.clone()).collect()
}

/// The storage mount point strictly above `path` (a system path, links resolved) on which nothing is mounted.
/// The mount point itself may be created: it has to exist before anything can be mounted on it.
pub fn unmounted_storage_above<'a>(mounts: &MountTable, storages: &'a [PathBuf], path: &Path) -> Option<&'a Path> {
    storages
        .iter()
        .filter(|mp| path != mp.as_path() && path.starts_with(mp))
        .find(|mp| mounts.visible_at(mp).is_none())
        .map(PathBuf::as_path)
}

/// The refusal for creating `path` under the unmounted `mount_point`.
pub fn refusal(path: &Path, mount_point: &Path) -> Refusal {
    Refusal::new(
        path.display().to_string(),
        format!(
            "{} is not mounted: {} would be created on the root file system and hidden by the mount",
            mount_point.display(),
            path.display()
        ),
        format!(
            "mount it first (mount {}; the storage_mounts fix does this where it can), then run --fix again",
            mount_point.display()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const MOUNTINFO: &str = "\
28 1 259:3 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p2 rw
64 28 8:0 / /mnt/citadel-backup rw,noatime shared:35 - ext4 /dev/sda rw,data=ordered
";

    #[test]
    fn only_paths_under_an_unmounted_storage_are_refused() {
        let mounts = MountTable::parse(MOUNTINFO).unwrap();
        let storages = storage_mount_points(&Policy::embedded());
        let models = Path::new("/mnt/citadel-models");
        assert_eq!(
            unmounted_storage_above(&mounts, &storages, Path::new("/mnt/citadel-models/active")),
            Some(models)
        );
        assert_eq!(unmounted_storage_above(&mounts, &storages, models), None);
        assert_eq!(
            unmounted_storage_above(&mounts, &storages, Path::new("/mnt/citadel-backup/logs")),
            None
        );
        assert_eq!(
            unmounted_storage_above(&mounts, &storages, Path::new("/mnt/citadel-models-old/x")),
            None,
            "a sibling with the same prefix is not under the mount point"
        );
        let refusal = refusal(Path::new("/mnt/citadel-models/active"), models);
        assert!(refusal.why.contains("/mnt/citadel-models is not mounted"));
    }
}
