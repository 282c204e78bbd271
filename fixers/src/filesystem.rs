//! Which file system a block device holds, as far as the root tells without mounting anything: what an fstab
//! line for it needs (its UUID) and what a fixer must refuse (no file system, or another type than the policy's).
//!
//! The sources are the ones `citadel_checks::devices` resolves fstab sources with, so that a `UUID=` written
//! from here resolves there: udev's `/dev/disk/by-uuid` links and its database (`ID_FS_TYPE`, `ID_FS_UUID` in
//! `/run/udev/data/bMAJ:MIN`); where udev made no links (a container, a chroot, an image build), the ext2/3/4
//! superblock read from the device node. A raw device is never opened where udev runs.

use std::path::Path;

use citadel_checks::blockdev::BlockDevice;
use citadel_checks::devices::{decode_udev_name, device_at_node, read_ext4_superblock, resides_on, Lookup};
use citadel_checks::udev::DeviceFacts;
use citadel_checks::{FactError, SystemRoot};

const BY_UUID: &str = "/dev/disk/by-uuid";

/// What is known of a file system's type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FsType {
    /// As udev's blkid probe named it (`ext4`, `xfs`, `LVM2_member`).
    Named(String),
    /// An ext2/3/4 superblock: the ext4 driver mounts all three.
    ExtFamily,
    /// udev made a by-uuid link, but its database does not say the type.
    Unknown,
}

/// A file system (or another signature blkid knows, such as an LVM physical volume) on a block device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Filesystem {
    pub device: BlockDevice,
    /// As an fstab `UUID=` must name it: the by-uuid link's name, else udev's or the superblock's UUID.
    pub uuid: Option<String>,
    pub fs_type: FsType,
}

impl Filesystem {
    /// Whether it is of type `wanted`; `None` when the type is not known.
    pub fn is(&self, wanted: &str) -> Option<bool> {
        match &self.fs_type {
            FsType::Named(name) => Some(name == wanted),
            FsType::ExtFamily => Some(matches!(wanted, "ext2" | "ext3" | "ext4")),
            FsType::Unknown => None,
        }
    }

    /// The type for messages.
    pub fn type_name(&self) -> &str {
        match &self.fs_type {
            FsType::Named(name) => name,
            FsType::ExtFamily => "ext2/3/4",
            FsType::Unknown => "an unknown type",
        }
    }
}

/// The file system on `device` itself, if any is known.
pub fn probe(root: &SystemRoot, device: &BlockDevice) -> Result<Option<Filesystem>, FactError> {
    let udev_links = root.exists(BY_UUID);
    let link_uuid = if udev_links { uuid_link_to(root, device)? } else { None };
    let facts = device.udev_facts(root)?;
    let property = |key: &str| facts.property(key).filter(|v| !v.is_empty());
    let (db_type, db_uuid) = (property("ID_FS_TYPE"), property("ID_FS_UUID"));
    let superblock = if udev_links {
        None
    } else {
        read_ext4_superblock(root, &device.node_path())?
    };
    let fs_type = match (db_type, &superblock, &link_uuid) {
        (Some(name), _, _) => FsType::Named(name),
        (None, Some(_), _) => FsType::ExtFamily,
        (None, None, Some(_)) => FsType::Unknown,
        (None, None, None) => return Ok(None),
    };
    let uuid = link_uuid.or(db_uuid).or_else(|| superblock.map(|sb| sb.uuid_string()));
    Ok(Some(Filesystem {
        device: device.clone(),
        uuid,
        fs_type,
    }))
}

/// The file systems on `device` and on every device built on it (its partitions, device-mapper devices on it),
/// in sysfs name order, the device's own first.
pub fn on_device(root: &SystemRoot, device: &BlockDevice) -> Result<Vec<Filesystem>, FactError> {
    let mut found: Vec<Filesystem> = probe(root, device)?.into_iter().collect();
    let mut names = root.read_dir_names_opt("/sys/class/block")?;
    names.sort();
    for name in names {
        let other = match BlockDevice::by_name(root, &name.to_string_lossy()) {
            Ok(other) => other,
            Err(e) if e.is_not_found() => continue,
            Err(e) => return Err(e),
        };
        if other.sys_path == device.sys_path || !resides_on(root, &other, device)? {
            continue;
        }
        found.extend(probe(root, &other)?);
    }
    Ok(found)
}

/// The name of the `/dev/disk/by-uuid` link that leads to `device`, decoded.
fn uuid_link_to(root: &SystemRoot, device: &BlockDevice) -> Result<Option<String>, FactError> {
    let mut names = root.read_dir_names_opt(BY_UUID)?;
    names.sort();
    for name in names {
        if let Lookup::Found(linked) = device_at_node(root, &Path::new(BY_UUID).join(&name))? {
            if linked.sys_path == device.sys_path {
                return Ok(Some(decode_udev_name(&name.to_string_lossy())));
            }
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Tree;

    const MODELS_UUID: &str = "3f6c2b1e-8d4a-4c7e-b5f2-1a9e0d7c6b54";

    fn disk(tree: &Tree, name: &str) -> BlockDevice {
        BlockDevice::by_name(&tree.root, name).unwrap()
    }

    #[test]
    fn udev_links_and_database_name_uuid_and_type() {
        let tree = Tree::compliant();
        let fs = probe(&tree.root, &disk(&tree, "nvme1n1")).unwrap().unwrap();
        assert_eq!(fs.uuid.as_deref(), Some(MODELS_UUID));
        assert_eq!(fs.fs_type, FsType::Named("ext4".into()));
        assert_eq!(fs.is("ext4"), Some(true));
        assert_eq!(fs.is("xfs"), Some(false));
        // nvme0n1 holds partitions only: nothing of its own.
        assert_eq!(probe(&tree.root, &disk(&tree, "nvme0n1")).unwrap(), None);
        let on_system_disk = on_device(&tree.root, &disk(&tree, "nvme0n1")).unwrap();
        let names: Vec<&str> = on_system_disk.iter().map(|f| f.device.name.as_str()).collect();
        assert_eq!(names, ["nvme0n1p1", "nvme0n1p2"]);
        // A link without a database entry: the UUID is known, the type is not.
        assert_eq!(on_system_disk[0].fs_type, FsType::Unknown);
        assert_eq!(on_system_disk[0].uuid.as_deref(), Some("6F1D-2A3B"));
    }

    #[test]
    fn without_udev_the_superblock_answers() {
        let tree = Tree::compliant();
        tree.remove("/dev/disk");
        tree.remove("/run/udev/data");
        assert_eq!(probe(&tree.root, &disk(&tree, "nvme1n1")).unwrap(), None, "empty node");
        let image = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/superblock-only-devices/root/dev/nvme1n1");
        std::fs::copy(image, tree.path("/dev/nvme1n1")).unwrap();
        let fs = probe(&tree.root, &disk(&tree, "nvme1n1")).unwrap().unwrap();
        assert_eq!(fs.fs_type, FsType::ExtFamily);
        assert_eq!(fs.uuid.as_deref(), Some(MODELS_UUID));
        assert_eq!(fs.is("ext4"), Some(true));
    }
}
