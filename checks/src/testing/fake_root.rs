//! Test support: a hand-made system root with the sysfs, /dev and /etc files the storage parsers read.
//! Links are written relative, as the kernel and udev write them.

use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use crate::mountinfo::DevNum;
use crate::root::SystemRoot;

pub struct FakeRoot {
    _dir: tempfile::TempDir,
    root: SystemRoot,
}

impl FakeRoot {
    pub fn new() -> FakeRoot {
        let dir = tempfile::tempdir().expect("temp dir");
        let root = SystemRoot::new(dir.path());
        FakeRoot { _dir: dir, root }
    }

    pub fn root(&self) -> &SystemRoot {
        &self.root
    }

    /// Writes a file at the system path `abs`, creating its directories.
    pub fn file(&self, abs: impl AsRef<Path>, contents: impl AsRef<[u8]>) {
        let path = self.root.path(abs);
        fs::create_dir_all(path.parent().expect("has a parent")).expect("mkdir");
        fs::write(path, contents).expect("write");
    }

    pub fn remove(&self, abs: impl AsRef<Path>) {
        let path = self.root.path(abs);
        if path.is_dir() && !path.is_symlink() {
            fs::remove_dir_all(path).expect("remove dir");
        } else {
            fs::remove_file(path).expect("remove file");
        }
    }

    pub fn dir(&self, abs: impl AsRef<Path>) {
        fs::create_dir_all(self.root.path(abs)).expect("mkdir");
    }

    /// A symlink at `link` pointing to the system path `target`, written relative to the link's directory.
    pub fn link(&self, link: &Path, target: &Path) {
        let parent = link.parent().expect("link has a parent");
        let ups = parent
            .components()
            .filter(|c| matches!(c, std::path::Component::Normal(_)))
            .count();
        let mut rel = PathBuf::new();
        for _ in 0..ups {
            rel.push("..");
        }
        rel.push(target.strip_prefix("/").unwrap_or(target));
        let path = self.root.path(link);
        fs::create_dir_all(path.parent().expect("has a parent")).expect("mkdir");
        let _ = fs::remove_file(&path);
        symlink(rel, path).expect("symlink");
    }

    /// A whole disk named `name` in the sysfs directory `parent`, with its queue, links and /dev node.
    pub fn disk(&self, parent: &str, name: &str, devnum: DevNum, scheduler: &str, rotational: bool) -> PathBuf {
        let sys = Path::new(parent).join(name);
        self.device_files(&sys, name, devnum, "disk");
        self.file(sys.join("queue/scheduler"), format!("{scheduler}\n"));
        self.file(sys.join("queue/rotational"), if rotational { "1\n" } else { "0\n" });
        self.link(&Path::new("/sys/block").join(name), &sys);
        sys
    }

    /// An NVMe namespace `nvmeXnY` under its controller, non-rotational.
    pub fn nvme_disk(&self, name: &str, devnum: DevNum, scheduler: &str) -> PathBuf {
        let controller = &name[..name.rfind('n').unwrap_or(name.len())];
        self.disk(
            &format!("/sys/devices/pci0000:00/0000:00:05.0/nvme/{controller}"),
            name,
            devnum,
            scheduler,
            false,
        )
    }

    /// A SATA disk `sdX`, rotational.
    pub fn sata_disk(&self, name: &str, devnum: DevNum, scheduler: &str) -> PathBuf {
        self.disk(
            "/sys/devices/pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block",
            name,
            devnum,
            scheduler,
            true,
        )
    }

    /// Partition `number` of the disk whose sysfs directory is `disk`.
    pub fn partition(&self, disk: &Path, name: &str, devnum: DevNum, number: u32) -> PathBuf {
        let sys = disk.join(name);
        self.device_files(&sys, name, devnum, "partition");
        self.file(
            sys.join("uevent"),
            uevent(name, devnum, "partition") + &format!("PARTN={number}\n"),
        );
        self.file(sys.join("partition"), format!("{number}\n"));
        sys
    }

    /// A device-mapper device built on `slaves` (sysfs directories), with `dm/name` and `/dev/mapper/NAME`.
    pub fn dm(&self, name: &str, devnum: DevNum, dm_name: &str, slaves: &[&PathBuf]) -> PathBuf {
        let sys = Path::new("/sys/devices/virtual/block").join(name);
        self.device_files(&sys, name, devnum, "disk");
        self.file(sys.join("dm/name"), format!("{dm_name}\n"));
        self.file(sys.join("dm/uuid"), format!("LVM-{dm_name}\n"));
        self.file(sys.join("queue/scheduler"), "none\n");
        self.file(sys.join("queue/rotational"), "0\n");
        self.dir(sys.join("slaves"));
        for slave in slaves {
            let slave_name = slave.file_name().expect("named");
            self.link(&sys.join("slaves").join(slave_name), slave);
            self.link(&slave.join("holders").join(name), &sys);
        }
        self.link(&Path::new("/sys/block").join(name), &sys);
        self.link(&Path::new("/dev/mapper").join(dm_name), &Path::new("/dev").join(name));
        sys
    }

    fn device_files(&self, sys: &Path, name: &str, devnum: DevNum, devtype: &str) {
        self.file(sys.join("dev"), format!("{devnum}\n"));
        self.file(sys.join("uevent"), uevent(name, devnum, devtype));
        self.link(&PathBuf::from(format!("/sys/dev/block/{devnum}")), sys);
        self.link(&Path::new("/sys/class/block").join(name), sys);
        self.file(Path::new("/dev").join(name.replace('!', "/")), "");
    }
}

fn uevent(name: &str, devnum: DevNum, devtype: &str) -> String {
    format!(
        "MAJOR={}\nMINOR={}\nDEVNAME={}\nDEVTYPE={devtype}\n",
        devnum.major,
        devnum.minor,
        name.replace('!', "/")
    )
}

/// The first 2 KiB of an ext4 file system: the superblock at 1024 with magic, UUID and volume name.
pub fn ext4_image(uuid: [u8; 16], label: &str) -> Vec<u8> {
    let mut image = vec![0u8; 2048];
    let sb = &mut image[1024..];
    sb[0x38..0x3a].copy_from_slice(&0xEF53u16.to_le_bytes());
    sb[0x68..0x78].copy_from_slice(&uuid);
    let label = label.as_bytes();
    let n = label.len().min(16);
    sb[0x78..0x78 + n].copy_from_slice(&label[..n]);
    image
}

pub const MODELS_UUID: &str = "3f6c2b1e-8d4a-4c7e-b5f2-1a9e0d7c6b54";
pub const BACKUP_UUID: &str = "a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d";
pub const ROOT_UUID: &str = "0b2c1a7e-54d3-4f1e-9a39-6f2d8e1c7a10";

/// The storage half of a compliant Citadel (the same facts as `fixtures/compliant`): the models file system on
/// nvme1n1, the backup one on sda, the root on nvme0n1p2, with udev links, mountinfo and fstab.
pub fn citadel_host() -> FakeRoot {
    let fake = FakeRoot::new();
    let dn = |major, minor| DevNum { major, minor };
    let nvme0 = fake.disk(
        "/sys/devices/pci0000:00/0000:00:04.0/nvme/nvme0",
        "nvme0n1",
        dn(259, 0),
        "[none] mq-deadline kyber bfq ",
        false,
    );
    fake.partition(&nvme0, "nvme0n1p2", dn(259, 3), 2);
    fake.nvme_disk("nvme1n1", dn(259, 1), "[none] mq-deadline kyber bfq ");
    fake.sata_disk("sda", dn(8, 0), "none [mq-deadline] kyber bfq ");
    for (uuid, node) in [(MODELS_UUID, "nvme1n1"), (BACKUP_UUID, "sda"), (ROOT_UUID, "nvme0n1p2")] {
        fake.link(
            &Path::new("/dev/disk/by-uuid").join(uuid),
            &Path::new("/dev").join(node),
        );
    }
    fake.link(
        Path::new("/dev/disk/by-label/citadel-models"),
        Path::new("/dev/nvme1n1"),
    );
    fake.link(Path::new("/dev/disk/by-label/citadel-backup"), Path::new("/dev/sda"));
    fake.dir("/mnt/citadel-models/active");
    fake.dir("/mnt/citadel-backup/models");
    fake.file(
        "/proc/self/mountinfo",
        "22 28 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw\n\
         28 1 259:3 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p2 rw,errors=remount-ro\n\
         63 28 259:1 / /mnt/citadel-models rw,noatime,nodiratime shared:33 - ext4 /dev/nvme1n1 rw,nobarrier,data=writeback\n\
         64 28 8:0 / /mnt/citadel-backup rw,noatime shared:35 - ext4 /dev/sda rw,data=ordered\n",
    );
    fake.file(
        "/etc/fstab",
        format!(
            "# <file system> <mount point>   <type>  <options>       <dump>  <pass>\n\
             UUID={ROOT_UUID} /               ext4    errors=remount-ro 0       1\n\
             # Citadel storage\n\
             UUID={MODELS_UUID} /mnt/citadel-models ext4 defaults,noatime,nodiratime,barrier=0,data=writeback 0 2\n\
             UUID={BACKUP_UUID} /mnt/citadel-backup ext4 defaults,noatime,barrier=1,data=ordered 0 2\n"
        ),
    );
    fake
}

impl FakeRoot {
    fn edit_lines(&self, abs: &str, edit: impl Fn(&str) -> String) {
        let text = fs::read_to_string(self.root.path(abs)).expect("read");
        let edited: Vec<String> = text.lines().map(edit).collect();
        self.file(abs, edited.join("\n") + "\n");
    }

    /// Edits /etc/fstab line by line.
    pub fn fstab_edit(&self, edit: impl Fn(&str) -> String) {
        self.edit_lines("/etc/fstab", edit);
    }

    pub fn mountinfo_without(&self, mount_point: &str) {
        let needle = format!(" {mount_point} ");
        let text = fs::read_to_string(self.root.path("/proc/self/mountinfo")).expect("read");
        let kept: String = text
            .lines()
            .filter(|l| !l.contains(&needle))
            .map(|l| format!("{l}\n"))
            .collect();
        self.file("/proc/self/mountinfo", kept);
    }

    pub fn mountinfo_append(&self, line: &str) {
        let text = fs::read_to_string(self.root.path("/proc/self/mountinfo")).expect("read");
        self.file("/proc/self/mountinfo", format!("{text}{line}\n"));
    }

    pub fn mountinfo_replace(&self, from: &str, to: &str) {
        self.edit_lines("/proc/self/mountinfo", |l| l.replace(from, to));
    }
}
