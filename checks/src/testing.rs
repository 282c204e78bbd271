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
