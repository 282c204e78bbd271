//! Block devices as sysfs describes them, read under the root.
//!
//! A device is found by number (`/sys/dev/block/MAJ:MIN`, the link mountinfo's `major:minor` leads to) or by
//! kernel name (`/sys/class/block/NAME`), and is identified by its canonical sysfs directory. What a device is
//! built on is read from sysfs, never guessed from names or numbers: a partition (it has a `partition` file)
//! lives in its whole disk's directory, so the disk is the sysfs parent (`nvme0n1p1` → `nvme0n1`, `mmcblk0p1`
//! → `mmcblk0`, `cciss!c0d0p1` → `cciss!c0d0`; partitions of NVMe and loop devices use major 259, so numbers
//! tell nothing); a device-mapper device lists what it is built on in `slaves/`, which may be partitions, other
//! dm devices, or several disks (LVM).

use std::path::{Component, Path, PathBuf};

use crate::error::{FactError, FactErrorKind};
use crate::mountinfo::DevNum;
use crate::root::SystemRoot;
use crate::udev::DeviceFacts;

/// How many devices one stack may hold before we stop following `slaves/` (sysfs has no cycles; this only
/// guards against a hand-made tree that has one).
const MAX_STACK: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockDevice {
    /// The kernel name (`nvme1n1p1`, `dm-0`, `cciss!c0d0`): `/` in a device name becomes `!` in sysfs.
    pub name: String,
    /// The canonical sysfs directory (`/sys/devices/…/nvme1n1`), the device's identity.
    pub sys_path: PathBuf,
    /// From the `dev` file.
    pub devnum: Option<DevNum>,
    /// `DEVTYPE` from `uevent`: `disk` or `partition`.
    pub devtype: Option<String>,
    /// True when the directory has a `partition` file.
    pub partition: bool,
    /// `dm/name` of a device-mapper device (`vg-models`).
    pub dm_name: Option<String>,
}

impl BlockDevice {
    /// The device with this number, via `/sys/dev/block/MAJ:MIN`.
    pub fn by_devnum(root: &SystemRoot, devnum: DevNum) -> Result<BlockDevice, FactError> {
        let link = PathBuf::from(format!("/sys/dev/block/{devnum}"));
        BlockDevice::at(root, &root.resolve(&link)?)
    }

    /// The device with this kernel name, via `/sys/class/block/NAME`.
    pub fn by_name(root: &SystemRoot, name: &str) -> Result<BlockDevice, FactError> {
        let link = Path::new("/sys/class/block").join(name);
        if !is_single_component(name) {
            return Err(FactError::new(link, FactErrorKind::NotFound));
        }
        BlockDevice::at(root, &root.resolve(&link)?)
    }

    /// The device whose canonical sysfs directory is `sys_path`.
    pub fn at(root: &SystemRoot, sys_path: &Path) -> Result<BlockDevice, FactError> {
        let name = sys_path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| FactError::new(sys_path, FactErrorKind::NotFound))?;
        let devnum = root
            .read_text_opt(sys_path.join("dev"))?
            .and_then(|t| DevNum::parse(&t));
        let uevent = root.read_text_opt(sys_path.join("uevent"))?.unwrap_or_default();
        let devtype = parse_uevent(&uevent)
            .into_iter()
            .find(|(k, _)| k == "DEVTYPE")
            .map(|(_, v)| v);
        let partition = root.exists(sys_path.join("partition"));
        let dm_name = root
            .read_text_opt(sys_path.join("dm/name"))?
            .map(|n| n.trim().to_string());
        Ok(BlockDevice {
            name,
            sys_path: sys_path.to_path_buf(),
            devnum,
            devtype,
            partition,
            dm_name,
        })
    }

    /// The device node udev creates for it: `/dev/NAME`, with sysfs's `!` turned back into `/`.
    pub fn node_path(&self) -> PathBuf {
        Path::new("/dev").join(self.name.replace('!', "/"))
    }

    /// A name for messages: `nvme1n1p1`, or `dm-0 (vg-models)`.
    pub fn display_name(&self) -> String {
        match &self.dm_name {
            Some(dm) if !dm.is_empty() => format!("{} ({dm})", self.name),
            _ => self.name.clone(),
        }
    }

    /// The whole disk a partition lives on: its sysfs parent directory.
    pub fn parent_disk(&self, root: &SystemRoot) -> Result<Option<BlockDevice>, FactError> {
        if !self.partition {
            return Ok(None);
        }
        match self.sys_path.parent() {
            Some(parent) => Ok(Some(BlockDevice::at(root, parent)?)),
            None => Ok(None),
        }
    }

    /// The devices this one is built on, from `slaves/` (device-mapper, md), in name order.
    pub fn slaves(&self, root: &SystemRoot) -> Result<Vec<BlockDevice>, FactError> {
        let dir = self.sys_path.join("slaves");
        let mut slaves = Vec::new();
        for name in root.read_dir_names_opt(&dir)? {
            let target = root.resolve(dir.join(&name))?;
            slaves.push(BlockDevice::at(root, &target)?);
        }
        Ok(slaves)
    }

    /// What this device sits on directly: a partition's disk, or a stacked device's slaves.
    fn below(&self, root: &SystemRoot) -> Result<Vec<BlockDevice>, FactError> {
        if self.partition {
            Ok(self.parent_disk(root)?.into_iter().collect())
        } else {
            self.slaves(root)
        }
    }

    /// A sysfs attribute of the device (`queue/scheduler`), trimmed like udev does; `None` when absent.
    pub fn attr(&self, root: &SystemRoot, name: &str) -> Result<Option<String>, FactError> {
        let rel = Path::new(name);
        if name.is_empty() || !rel.components().all(|c| matches!(c, Component::Normal(_))) {
            return Ok(None);
        }
        Ok(root
            .read_text_opt(self.sys_path.join(rel))?
            .map(|v| v.trim_end().to_string()))
    }

    /// `queue/scheduler`; `None` when the device has no queue (a partition).
    pub fn scheduler(&self, root: &SystemRoot) -> Result<Option<Scheduler>, FactError> {
        Ok(root
            .read_text_opt(self.sys_path.join("queue/scheduler"))?
            .map(|t| Scheduler::parse(&t)))
    }

    /// `queue/rotational` (which can lie: virtio and loop devices report 1).
    pub fn rotational(&self, root: &SystemRoot) -> Result<Option<bool>, FactError> {
        Ok(self.attr(root, "queue/rotational")?.map(|v| v == "1"))
    }

    /// What udev rules see of this device: its name, sysfs attributes and properties (from udev's database
    /// `/run/udev/data/bMAJ:MIN`, over the kernel's `uevent`, which is all there is without udev).
    pub fn udev_facts<'a>(&'a self, root: &'a SystemRoot) -> Result<BlockDeviceFacts<'a>, FactError> {
        let mut properties = parse_uevent(&root.read_text_opt(self.sys_path.join("uevent"))?.unwrap_or_default());
        if let Some(devnum) = self.devnum {
            let db = root
                .read_text_opt(format!("/run/udev/data/b{devnum}"))?
                .unwrap_or_default();
            for line in db.lines() {
                if let Some((key, value)) = line.strip_prefix("E:").and_then(|kv| kv.split_once('=')) {
                    properties.retain(|(k, _)| k != key);
                    properties.push((key.to_string(), value.to_string()));
                }
            }
        }
        Ok(BlockDeviceFacts {
            root,
            device: self,
            properties,
        })
    }
}

/// A block device as udev rules see it.
pub struct BlockDeviceFacts<'a> {
    root: &'a SystemRoot,
    device: &'a BlockDevice,
    properties: Vec<(String, String)>,
}

impl DeviceFacts for BlockDeviceFacts<'_> {
    fn kernel(&self) -> &str {
        &self.device.name
    }

    fn subsystem(&self) -> &str {
        "block"
    }

    fn attr(&self, name: &str) -> Option<String> {
        // An unreadable attribute does not match, as in udev.
        self.device.attr(self.root, name).ok().flatten()
    }

    fn property(&self, key: &str) -> Option<String> {
        self.properties.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
    }
}

/// `queue/scheduler`: `none [mq-deadline] kyber bfq ` (the active one in brackets).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scheduler {
    pub active: Option<String>,
    pub available: Vec<String>,
}

impl Scheduler {
    pub fn parse(text: &str) -> Scheduler {
        let mut active = None;
        let mut available = Vec::new();
        for token in text.split_whitespace() {
            match token.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
                Some(name) => {
                    active = Some(name.to_string());
                    available.push(name.to_string());
                }
                None => available.push(token.to_string()),
            }
        }
        // A queue without a choice of elevator (bio-based device-mapper) prints a bare `none`.
        if active.is_none() && available == ["none"] {
            active = Some("none".to_string());
        }
        Scheduler { active, available }
    }
}

/// The device and every device it is built on, the device first: a partition's disk, a dm device's slaves,
/// recursively.
pub fn lineage(root: &SystemRoot, device: &BlockDevice) -> Result<Vec<BlockDevice>, FactError> {
    Ok(walk(root, device)?.into_iter().map(|(d, _)| d).collect())
}

/// The whole disks at the bottom of the device's stack: itself if it is a disk, the disk of a partition, the
/// disks under a device-mapper device (several for an LVM volume that spans disks).
pub fn whole_disks_of(root: &SystemRoot, device: &BlockDevice) -> Result<Vec<BlockDevice>, FactError> {
    Ok(walk(root, device)?
        .into_iter()
        .filter(|(d, has_below)| !d.partition && !has_below)
        .map(|(d, _)| d)
        .collect())
}

/// The whole disks behind the block device `devnum` (as mountinfo names it).
pub fn whole_disks(root: &SystemRoot, devnum: DevNum) -> Result<Vec<BlockDevice>, FactError> {
    whole_disks_of(root, &BlockDevice::by_devnum(root, devnum)?)
}

/// Breadth-first over what each device sits on; each device once, with whether anything is below it.
fn walk(root: &SystemRoot, device: &BlockDevice) -> Result<Vec<(BlockDevice, bool)>, FactError> {
    let mut seen: Vec<(BlockDevice, bool)> = vec![(device.clone(), false)];
    let mut next = 0;
    while next < seen.len() && seen.len() < MAX_STACK {
        let below = seen[next].0.below(root)?;
        seen[next].1 = !below.is_empty();
        for dev in below {
            if !seen.iter().any(|(d, _)| d.sys_path == dev.sys_path) {
                seen.push((dev, false));
            }
        }
        next += 1;
    }
    Ok(seen)
}

/// `KEY=VALUE` lines of a `uevent` file.
pub fn parse_uevent(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn is_single_component(name: &str) -> bool {
    let mut comps = Path::new(name).components();
    matches!((comps.next(), comps.next()), (Some(Component::Normal(_)), None)) && !name.contains('/')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::FakeRoot;

    fn dn(major: u32, minor: u32) -> DevNum {
        DevNum { major, minor }
    }

    fn names(devices: &[BlockDevice]) -> Vec<&str> {
        devices.iter().map(|d| d.name.as_str()).collect()
    }

    #[test]
    fn scheduler_line_parses() {
        let s = Scheduler::parse("none [mq-deadline] kyber bfq \n");
        assert_eq!(s.active.as_deref(), Some("mq-deadline"));
        assert_eq!(s.available, ["none", "mq-deadline", "kyber", "bfq"]);
        assert_eq!(Scheduler::parse("[none] mq-deadline").active.as_deref(), Some("none"));
        assert_eq!(Scheduler::parse("none\n").active.as_deref(), Some("none"));
        let none = Scheduler::parse("");
        assert_eq!((none.active, none.available.len()), (None, 0));
        assert_eq!(Scheduler::parse("mq-deadline kyber").active, None);
        assert_eq!(Scheduler::parse("[]").active.as_deref(), Some(""));
        let garbage = String::from_utf8_lossy(&[0xff, b'[', 0, b']', b' ', b'[']).into_owned();
        let _ = Scheduler::parse(&garbage);
        let _ = Scheduler::parse(&"[x] ".repeat(500_000));
    }

    #[test]
    fn garbage_sysfs_files_do_not_panic() {
        let fake = FakeRoot::new();
        let sys = fake.nvme_disk("nvme1n1", dn(259, 1), "[none]");
        fake.file(sys.join("dev"), b"\xff\x00259:x\n");
        fake.file(
            sys.join("uevent"),
            [&b"DEVTYPE=\xffdisk\0\n"[..], &vec![b'A'; 2 * 1024 * 1024]].concat(),
        );
        fake.file(sys.join("queue/scheduler"), vec![b'['; 2 * 1024 * 1024]);
        fake.file(sys.join("dm/name"), b"\xfe\xff");
        let dev = BlockDevice::by_devnum(fake.root(), dn(259, 1)).unwrap();
        assert_eq!(dev.devnum, None);
        assert_eq!(dev.devtype.as_deref(), Some("\u{fffd}disk\0"));
        assert!(dev.scheduler(fake.root()).unwrap().unwrap().active.is_none());
        assert_eq!(dev.dm_name.as_deref(), Some("\u{fffd}\u{fffd}"));
        let facts = dev.udev_facts(fake.root()).unwrap();
        assert_eq!(facts.property("MAJOR"), None);
        assert_eq!(whole_disks_of(fake.root(), &dev).unwrap().len(), 1);
    }

    #[test]
    fn uevent_parses() {
        let kv = parse_uevent("MAJOR=259\nMINOR=1\nDEVNAME=nvme1n1\nDEVTYPE=disk\ngarbage\nX=a=b\n");
        assert_eq!(kv.len(), 5);
        assert_eq!(kv[4], ("X".to_string(), "a=b".to_string()));
    }

    #[test]
    fn finds_devices_by_number_and_name() {
        let fake = FakeRoot::new();
        fake.nvme_disk("nvme1n1", dn(259, 1), "[none] mq-deadline kyber bfq ");
        let dev = BlockDevice::by_devnum(fake.root(), dn(259, 1)).unwrap();
        assert_eq!(dev.name, "nvme1n1");
        assert_eq!(dev.devnum, Some(dn(259, 1)));
        assert_eq!(dev.devtype.as_deref(), Some("disk"));
        assert!(!dev.partition);
        assert_eq!(
            dev.sys_path,
            PathBuf::from("/sys/devices/pci0000:00/0000:00:05.0/nvme/nvme1/nvme1n1")
        );
        assert_eq!(BlockDevice::by_name(fake.root(), "nvme1n1").unwrap(), dev);
        assert_eq!(dev.node_path(), PathBuf::from("/dev/nvme1n1"));
        let sched = dev.scheduler(fake.root()).unwrap().unwrap();
        assert_eq!(sched.active.as_deref(), Some("none"));
        assert_eq!(dev.rotational(fake.root()).unwrap(), Some(false));

        assert!(BlockDevice::by_devnum(fake.root(), dn(8, 0))
            .unwrap_err()
            .is_not_found());
        assert!(BlockDevice::by_name(fake.root(), "sda").unwrap_err().is_not_found());
        assert!(BlockDevice::by_name(fake.root(), "../../etc")
            .unwrap_err()
            .is_not_found());
        assert!(BlockDevice::by_name(fake.root(), "").unwrap_err().is_not_found());
    }

    #[test]
    fn a_partition_lives_in_its_disk_whatever_the_names() {
        let fake = FakeRoot::new();
        let nvme = fake.nvme_disk("nvme0n1", dn(259, 0), "[none] mq-deadline");
        fake.partition(&nvme, "nvme0n1p1", dn(259, 7), 1);
        let mmc = fake.disk(
            "/sys/devices/platform/mmc0/mmc_host/mmc0/mmc0:0001/block",
            "mmcblk0",
            dn(179, 0),
            "[mq-deadline] none",
            true,
        );
        fake.partition(&mmc, "mmcblk0p1", dn(179, 1), 1);
        let cciss = fake.disk(
            "/sys/devices/pci0000:00/0000:00:06.0/cciss0",
            "cciss!c0d0",
            dn(104, 0),
            "[mq-deadline] none",
            true,
        );
        fake.partition(&cciss, "cciss!c0d0p1", dn(104, 1), 1);

        for (part, disk) in [((259, 7), "nvme0n1"), ((179, 1), "mmcblk0"), ((104, 1), "cciss!c0d0")] {
            let p = BlockDevice::by_devnum(fake.root(), dn(part.0, part.1)).unwrap();
            assert!(p.partition);
            assert_eq!(p.devtype.as_deref(), Some("partition"));
            assert!(p.scheduler(fake.root()).unwrap().is_none(), "a partition has no queue");
            assert_eq!(p.parent_disk(fake.root()).unwrap().unwrap().name, disk);
            assert_eq!(names(&whole_disks(fake.root(), dn(part.0, part.1)).unwrap()), [disk]);
        }
        let c = BlockDevice::by_name(fake.root(), "cciss!c0d0p1").unwrap();
        assert_eq!(c.node_path(), PathBuf::from("/dev/cciss/c0d0p1"));
        assert_eq!(names(&whole_disks(fake.root(), dn(259, 0)).unwrap()), ["nvme0n1"]);
    }

    #[test]
    fn device_mapper_follows_slaves_recursively_to_every_disk() {
        let fake = FakeRoot::new();
        let a = fake.nvme_disk("nvme1n1", dn(259, 1), "[none]");
        let b = fake.nvme_disk("nvme2n1", dn(259, 2), "[none]");
        let b1 = fake.partition(&b, "nvme2n1p1", dn(259, 3), 1);
        // A crypt device on the second disk's partition, and an LVM volume spanning disk A and the crypt device.
        let crypt = fake.dm("dm-1", dn(253, 1), "crypt0", &[&b1]);
        let lv = fake.dm("dm-0", dn(253, 0), "vg-models", &[&a, &crypt]);
        let dev = BlockDevice::by_devnum(fake.root(), dn(253, 0)).unwrap();
        assert_eq!(dev.sys_path, lv);
        assert_eq!(dev.dm_name.as_deref(), Some("vg-models"));
        assert_eq!(dev.display_name(), "dm-0 (vg-models)");
        assert_eq!(
            names(&lineage(fake.root(), &dev).unwrap()),
            ["dm-0", "dm-1", "nvme1n1", "nvme2n1p1", "nvme2n1"]
        );
        assert_eq!(
            names(&whole_disks(fake.root(), dn(253, 0)).unwrap()),
            ["nvme1n1", "nvme2n1"]
        );
    }

    #[test]
    fn a_slave_loop_does_not_hang() {
        let fake = FakeRoot::new();
        let x = fake.dm("dm-0", dn(253, 0), "x", &[]);
        let y = fake.dm("dm-1", dn(253, 1), "y", &[&x]);
        fake.link(&x.join("slaves/dm-1"), &y);
        let dev = BlockDevice::by_name(fake.root(), "dm-0").unwrap();
        assert_eq!(names(&lineage(fake.root(), &dev).unwrap()), ["dm-0", "dm-1"]);
        assert!(whole_disks_of(fake.root(), &dev).unwrap().is_empty());
    }

    #[test]
    fn a_dangling_slave_is_an_error_naming_it() {
        let fake = FakeRoot::new();
        let x = fake.dm("dm-0", dn(253, 0), "x", &[]);
        fake.link(&x.join("slaves/sdz"), Path::new("/sys/devices/gone/sdz"));
        let dev = BlockDevice::by_name(fake.root(), "dm-0").unwrap();
        let err = whole_disks_of(fake.root(), &dev).unwrap_err();
        assert!(err.is_not_found());
        assert!(err.path.starts_with("/sys/devices/gone"), "{err}");
    }

    #[test]
    fn attributes_stay_inside_the_device() {
        let fake = FakeRoot::new();
        let d = fake.nvme_disk("nvme1n1", dn(259, 1), "[none] mq-deadline ");
        fake.file("/etc/secret", "x");
        let dev = BlockDevice::at(fake.root(), &d).unwrap();
        assert_eq!(
            dev.attr(fake.root(), "queue/scheduler").unwrap().as_deref(),
            Some("[none] mq-deadline")
        );
        assert_eq!(dev.attr(fake.root(), "../../../../../../../etc/secret").unwrap(), None);
        assert_eq!(dev.attr(fake.root(), "/etc/secret").unwrap(), None);
        assert_eq!(dev.attr(fake.root(), "nope").unwrap(), None);
    }

    #[test]
    fn udev_facts_prefer_the_udev_database_over_uevent() {
        let fake = FakeRoot::new();
        let d = fake.nvme_disk("nvme1n1", dn(259, 1), "[none]");
        let dev = BlockDevice::at(fake.root(), &d).unwrap();
        {
            let facts = dev.udev_facts(fake.root()).unwrap();
            assert_eq!(facts.kernel(), "nvme1n1");
            assert_eq!(facts.subsystem(), "block");
            assert_eq!(
                facts.property("DEVTYPE").as_deref(),
                Some("disk"),
                "from uevent without udev"
            );
            assert_eq!(facts.property("ID_FS_TYPE"), None);
            assert_eq!(facts.attr("queue/rotational").as_deref(), Some("0"));
        }
        fake.file(
            "/run/udev/data/b259:1",
            "S:disk/by-uuid/x\nE:ID_FS_TYPE=ext4\nE:DEVTYPE=disk\nE:BROKEN\nI:123\n",
        );
        let facts = dev.udev_facts(fake.root()).unwrap();
        assert_eq!(facts.property("ID_FS_TYPE").as_deref(), Some("ext4"));
        assert_eq!(facts.property("DEVTYPE").as_deref(), Some("disk"));
        assert_eq!(facts.property("MAJOR").as_deref(), Some("259"));
    }
}
