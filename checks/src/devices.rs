//! Which block device a name means, and whether a mounted device is "on" another.
//!
//! A policy device (`/dev/…` including `/dev/disk/by-*` and `/dev/mapper/*` links, `UUID=`, `LABEL=`) and an
//! fstab source (also `PARTUUID=`, `PARTLABEL=`) are resolved the way udev and libblkid make them resolve on
//! a real host: through the `/dev/disk/by-*` links udev creates (their names escape odd bytes as `\x20`), and
//! where udev made no links (containers, chroots, image builds) from the file system's own superblock, read
//! from the device node (ext2/3/4 keep UUID and label there).
//!
//! UUIDs: a policy `UUID=` compares case-insensitively (SPEC §5), but an fstab `UUID=` is looked up at boot
//! as the exact link name `/dev/disk/by-uuid/VALUE`, so an uppercase ext4 UUID there never resolves
//! (`findmnt --verify`: "unreachable on boot required source").

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Component, Path};

use crate::blockdev::{lineage, BlockDevice};
use crate::error::FactError;
use crate::fstab::FstabSource;
use crate::mountinfo::DevNum;
use crate::policy::DeviceSpec;
use crate::root::SystemRoot;

const BY_UUID: &str = "/dev/disk/by-uuid";
const BY_LABEL: &str = "/dev/disk/by-label";
const BY_PARTUUID: &str = "/dev/disk/by-partuuid";
const BY_PARTLABEL: &str = "/dev/disk/by-partlabel";

/// The outcome of looking a device name up: the device, or why there is none (a sentence for a finding).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    Found(BlockDevice),
    Missing(String),
}

/// How UUIDs compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Case {
    /// As udev names links and systemd looks them up at boot.
    Exact,
    /// As the policy promises.
    Insensitive,
}

/// The block device a policy names.
pub fn resolve_policy_device(root: &SystemRoot, spec: &DeviceSpec) -> Result<Lookup, FactError> {
    match spec {
        DeviceSpec::Path(path) => device_at_node(root, path),
        DeviceSpec::Uuid(uuid) => by_fs_uuid(root, uuid, Case::Insensitive),
        DeviceSpec::Label(label) => by_fs_label(root, label),
    }
}

/// The block device an fstab source would mount at boot.
pub fn resolve_fstab_source(root: &SystemRoot, source: &FstabSource) -> Result<Lookup, FactError> {
    match source {
        FstabSource::Uuid(uuid) => by_fs_uuid(root, uuid, Case::Exact),
        FstabSource::Label(label) => by_fs_label(root, label),
        FstabSource::PartUuid(uuid) => Ok(by_link(root, BY_PARTUUID, |name| name == uuid)?
            .unwrap_or_else(|| Lookup::Missing(format!("no {BY_PARTUUID}/{uuid} link")))),
        FstabSource::PartLabel(label) => Ok(by_link(root, BY_PARTLABEL, |name| name == label)?
            .unwrap_or_else(|| Lookup::Missing(format!("no {BY_PARTLABEL} link for {label:?}")))),
        FstabSource::Path(path) => device_at_node(root, path),
        FstabSource::Other(text) => Ok(Lookup::Missing(format!("{text:?} is not a block device"))),
    }
}

/// True when `device` is `target`, a partition of it, or a device (dm, LVM) built on it, at any depth.
pub fn resides_on(root: &SystemRoot, device: &BlockDevice, target: &BlockDevice) -> Result<bool, FactError> {
    Ok(lineage(root, device)?.iter().any(|d| d.sys_path == target.sys_path))
}

/// The block device behind a path under /dev, following links (`/dev/disk/by-id/…`, `/dev/mapper/…`).
///
/// A real device node is identified by its device number; a plain file standing in for one (in a fixture
/// tree) by its name, `/dev/cciss/c0d0` being sysfs's `cciss!c0d0`.
pub fn device_at_node(root: &SystemRoot, path: &Path) -> Result<Lookup, FactError> {
    let resolved = match root.resolve(path) {
        Ok(resolved) => resolved,
        Err(e) if e.is_not_found() => return Ok(Lookup::Missing(format!("{} does not exist", path.display()))),
        Err(e) => return Err(e),
    };
    let meta = root.symlink_metadata(&resolved)?;
    if meta.file_type().is_block_device() {
        return or_missing(
            BlockDevice::by_devnum(root, devnum_of(meta.rdev())),
            format!("{} is a block device unknown to sysfs", resolved.display()),
        );
    }
    let Some(name) = sysfs_name(&resolved) else {
        return Ok(Lookup::Missing(format!(
            "{} resolves to {}, which is not under /dev",
            path.display(),
            resolved.display()
        )));
    };
    match BlockDevice::by_name(root, &name) {
        Ok(dev) => Ok(Lookup::Found(dev)),
        Err(e) if e.is_not_found() => {
            // dmsetup without udev makes /dev/mapper/NAME a node of its own: find the dm device by dm/name.
            if let Ok(dm_name) = resolved.strip_prefix("/dev/mapper") {
                if let Some(dev) = dm_by_name(root, &dm_name.to_string_lossy())? {
                    return Ok(Lookup::Found(dev));
                }
            }
            Ok(Lookup::Missing(format!(
                "{} is not a block device known to sysfs (no /sys/class/block/{name})",
                resolved.display()
            )))
        }
        Err(e) => Err(e),
    }
}

fn or_missing(result: Result<BlockDevice, FactError>, why: String) -> Result<Lookup, FactError> {
    match result {
        Ok(dev) => Ok(Lookup::Found(dev)),
        Err(e) if e.is_not_found() => Ok(Lookup::Missing(why)),
        Err(e) => Err(e),
    }
}

/// `/dev/nvme1n1` → `nvme1n1`; `/dev/cciss/c0d0` → `cciss!c0d0`; `None` outside /dev.
fn sysfs_name(dev_path: &Path) -> Option<String> {
    let rel = dev_path.strip_prefix("/dev").ok()?;
    let parts: Vec<String> = rel
        .components()
        .map(|c| match c {
            Component::Normal(p) => Some(p.to_string_lossy().into_owned()),
            _ => None,
        })
        .collect::<Option<_>>()?;
    if parts.is_empty() {
        None
    } else {
        Some(parts.join("!"))
    }
}

fn dm_by_name(root: &SystemRoot, dm_name: &str) -> Result<Option<BlockDevice>, FactError> {
    for name in root.read_dir_names_opt("/sys/class/block")? {
        let name = name.to_string_lossy();
        if !name.starts_with("dm-") {
            continue;
        }
        let dev = BlockDevice::by_name(root, &name)?;
        if dev.dm_name.as_deref() == Some(dm_name) {
            return Ok(Some(dev));
        }
    }
    Ok(None)
}

/// glibc's `major()`/`minor()` of a `dev_t`.
fn devnum_of(rdev: u64) -> DevNum {
    DevNum {
        major: (((rdev >> 8) & 0xfff) | ((rdev >> 32) & !0xfff)) as u32,
        minor: ((rdev & 0xff) | ((rdev >> 12) & !0xff)) as u32,
    }
}

/// udev names every file system it has seen in /dev/disk/by-uuid. Where that directory is missing, udev made no
/// links (a container, a chroot, an image build) and the superblocks are read instead. Where udev runs, its links
/// are the answer: raw devices are not opened (that needs root, and would spin up a sleeping backup disk).
fn udev_made_links(root: &SystemRoot) -> bool {
    root.exists(BY_UUID)
}

fn by_fs_uuid(root: &SystemRoot, uuid: &str, case: Case) -> Result<Lookup, FactError> {
    let same = |candidate: &str| match case {
        Case::Exact => candidate == uuid,
        Case::Insensitive => candidate.eq_ignore_ascii_case(uuid),
    };
    let other_case = |candidate: &str| candidate != uuid && candidate.eq_ignore_ascii_case(uuid);
    let (mut why, case_differs) = if udev_made_links(root) {
        if let Some(found) = by_link(root, BY_UUID, same)? {
            return Ok(found);
        }
        (
            format!("no {BY_UUID}/{uuid} link"),
            by_link(root, BY_UUID, other_case)?.is_some(),
        )
    } else {
        if let Some(dev) = by_superblock(root, |sb| same(&sb.uuid_string()))? {
            return Ok(Lookup::Found(dev));
        }
        (
            format!("no udev links ({BY_UUID} does not exist) and no ext4 superblock with UUID {uuid}"),
            by_superblock(root, |sb| other_case(&sb.uuid_string()))?.is_some(),
        )
    };
    if case == Case::Exact && case_differs {
        why.push_str(" (one differs only in letter case: the lookup at boot is case-sensitive)");
    }
    Ok(Lookup::Missing(why))
}

fn by_fs_label(root: &SystemRoot, label: &str) -> Result<Lookup, FactError> {
    if udev_made_links(root) {
        return Ok(by_link(root, BY_LABEL, |name| name == label)?
            .unwrap_or_else(|| Lookup::Missing(format!("no {BY_LABEL} link for {label:?}"))));
    }
    Ok(match by_superblock(root, |sb| sb.label == label)? {
        Some(dev) => Lookup::Found(dev),
        None => Lookup::Missing(format!(
            "no udev links ({BY_UUID} does not exist) and no ext4 superblock labelled {label:?}"
        )),
    })
}

/// The device behind the first link in `dir` whose decoded name satisfies `wanted`; `None` when none does.
fn by_link(root: &SystemRoot, dir: &str, wanted: impl Fn(&str) -> bool) -> Result<Option<Lookup>, FactError> {
    for name in root.read_dir_names_opt(dir)? {
        let raw = name.to_string_lossy();
        if wanted(&decode_udev_name(&raw)) {
            return device_at_node(root, &Path::new(dir).join(&name)).map(Some);
        }
    }
    Ok(None)
}

/// Undoes udev's link-name escaping: `\xNN` is the byte NN (`my\x20disk`, `a\x2fb`).
pub fn decode_udev_name(name: &str) -> String {
    let bytes = name.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && bytes.get(i + 1) == Some(&b'x') {
            if let Some(byte) = bytes
                .get(i + 2..i + 4)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(byte);
                i += 4;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The first block device (in name order) whose node holds an ext4 superblock satisfying `wanted`.
///
/// A node that cannot be read (permission denied without root) is remembered: if nothing matched, that
/// error is returned, because the answer might have been on that device.
fn by_superblock(
    root: &SystemRoot,
    wanted: impl Fn(&Ext4Superblock) -> bool,
) -> Result<Option<BlockDevice>, FactError> {
    let mut unreadable = None;
    for name in root.read_dir_names_opt("/sys/class/block")? {
        let dev = match BlockDevice::by_name(root, &name.to_string_lossy()) {
            Ok(dev) => dev,
            Err(e) if e.is_not_found() => continue,
            Err(e) => return Err(e),
        };
        match read_ext4_superblock(root, &dev.node_path()) {
            Ok(Some(sb)) if wanted(&sb) => return Ok(Some(dev)),
            Ok(_) => {}
            Err(e) => {
                unreadable.get_or_insert(e);
            }
        }
    }
    match unreadable {
        Some(e) => Err(e),
        None => Ok(None),
    }
}

/// What the ext2/3/4 superblock says about the file system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ext4Superblock {
    pub uuid: [u8; 16],
    pub label: String,
}

/// Where the superblock starts on the device, and the offsets inside it (linux/fs/ext4/ext4.h).
const SUPERBLOCK_OFFSET: u64 = 1024;
const S_MAGIC: usize = 0x38;
const S_UUID: usize = 0x68;
const S_VOLUME_NAME: usize = 0x78;
const SUPERBLOCK_PREFIX: usize = S_VOLUME_NAME + 16;
const EXT_MAGIC: u16 = 0xEF53;

impl Ext4Superblock {
    /// Parses the superblock bytes (starting at its offset 0); `None` unless the magic is there.
    pub fn parse(sb: &[u8]) -> Option<Ext4Superblock> {
        if sb.len() < SUPERBLOCK_PREFIX || u16::from_le_bytes([sb[S_MAGIC], sb[S_MAGIC + 1]]) != EXT_MAGIC {
            return None;
        }
        let uuid: [u8; 16] = sb[S_UUID..S_UUID + 16].try_into().ok()?;
        let name = &sb[S_VOLUME_NAME..S_VOLUME_NAME + 16];
        let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
        Some(Ext4Superblock {
            uuid,
            label: String::from_utf8_lossy(&name[..end]).into_owned(),
        })
    }

    /// The UUID as blkid prints it: lowercase, 8-4-4-4-12.
    pub fn uuid_string(&self) -> String {
        let hex: String = self.uuid.iter().map(|b| format!("{b:02x}")).collect();
        format!(
            "{}-{}-{}-{}-{}",
            &hex[0..8],
            &hex[8..12],
            &hex[12..16],
            &hex[16..20],
            &hex[20..32]
        )
    }
}

/// Reads the ext4 superblock from a device node (or a regular file standing in for one). `None` when the
/// node does not exist, is something else (a FIFO must not be opened: it would block), or holds no ext4.
pub fn read_ext4_superblock(root: &SystemRoot, node: &Path) -> Result<Option<Ext4Superblock>, FactError> {
    let resolved = match root.resolve(node) {
        Ok(p) => p,
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => return Err(e),
    };
    let kind = root.symlink_metadata(&resolved)?.file_type();
    if !(kind.is_file() || kind.is_block_device()) {
        return Ok(None);
    }
    let io_err = |e: std::io::Error| FactError::from_io(&resolved, &e);
    let mut file = File::open(root.path(&resolved)).map_err(io_err)?;
    file.seek(SeekFrom::Start(SUPERBLOCK_OFFSET)).map_err(io_err)?;
    let mut buf = Vec::with_capacity(SUPERBLOCK_PREFIX);
    file.take(SUPERBLOCK_PREFIX as u64)
        .read_to_end(&mut buf)
        .map_err(io_err)?;
    Ok(Ext4Superblock::parse(&buf))
}

/// A device for messages: `/dev/nvme1n1p1`, or `/dev/dm-0 (vg-models)`.
pub fn describe(device: &BlockDevice) -> String {
    match &device.dm_name {
        Some(dm) if !dm.is_empty() => format!("{} ({})", device.node_path().display(), dm),
        _ => device.node_path().display().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{ext4_image, FakeRoot};

    const MODELS_UUID: &str = "3f6c2b1e-8d4a-4c7e-b5f2-1a9e0d7c6b54";
    const MODELS_UUID_BYTES: [u8; 16] = [
        0x3f, 0x6c, 0x2b, 0x1e, 0x8d, 0x4a, 0x4c, 0x7e, 0xb5, 0xf2, 0x1a, 0x9e, 0x0d, 0x7c, 0x6b, 0x54,
    ];

    fn dn(major: u32, minor: u32) -> DevNum {
        DevNum { major, minor }
    }

    fn found(lookup: Lookup) -> String {
        match lookup {
            Lookup::Found(d) => d.name,
            Lookup::Missing(why) => panic!("not found: {why}"),
        }
    }

    fn missing(lookup: Lookup) -> String {
        match lookup {
            Lookup::Found(d) => panic!("unexpectedly found {}", d.name),
            Lookup::Missing(why) => why,
        }
    }

    fn spec(s: &str) -> DeviceSpec {
        s.parse().unwrap()
    }

    /// nvme1n1 with udev links by uuid, label (with a space) and id; sda without any link.
    fn host() -> FakeRoot {
        let fake = FakeRoot::new();
        fake.nvme_disk("nvme1n1", dn(259, 1), "[none] mq-deadline");
        fake.sata_disk("sda", dn(8, 0), "none [mq-deadline]");
        let nvme = Path::new("/dev/nvme1n1");
        fake.link(&Path::new(BY_UUID).join(MODELS_UUID), nvme);
        fake.link(Path::new("/dev/disk/by-label/citadel\\x20models"), nvme);
        fake.link(
            Path::new("/dev/disk/by-id/nvme-Samsung_SSD_990_PRO_2TB_S7DNNJ0W123456A"),
            nvme,
        );
        fake
    }

    #[test]
    fn policy_paths_follow_udev_links() {
        let fake = host();
        let root = fake.root();
        assert_eq!(
            found(resolve_policy_device(root, &spec("/dev/nvme1n1")).unwrap()),
            "nvme1n1"
        );
        let by_id = spec("/dev/disk/by-id/nvme-Samsung_SSD_990_PRO_2TB_S7DNNJ0W123456A");
        assert_eq!(found(resolve_policy_device(root, &by_id).unwrap()), "nvme1n1");
        let why = missing(resolve_policy_device(root, &spec("/dev/nvme9n1")).unwrap());
        assert!(why.contains("/dev/nvme9n1 does not exist"), "{why}");
        let why = missing(resolve_policy_device(root, &spec("/dev/disk")).unwrap());
        assert!(why.contains("not a block device"), "{why}");
    }

    #[test]
    fn policy_uuids_compare_case_insensitively_and_labels_are_unescaped() {
        let fake = host();
        let root = fake.root();
        let upper = spec(&format!("UUID={}", MODELS_UUID.to_uppercase()));
        assert_eq!(found(resolve_policy_device(root, &upper).unwrap()), "nvme1n1");
        assert_eq!(
            found(resolve_policy_device(root, &spec("LABEL=citadel models")).unwrap()),
            "nvme1n1"
        );
        assert!(missing(resolve_policy_device(root, &spec("LABEL=citadel")).unwrap()).contains("no /dev/disk/by-label"));
        assert!(missing(resolve_policy_device(root, &spec("UUID=0000")).unwrap()).contains("by-uuid/0000"));
    }

    #[test]
    fn where_udev_made_links_raw_devices_are_not_read() {
        let fake = host();
        fake.file("/dev/sda", ext4_image(MODELS_UUID_BYTES, "backup disk"));
        let why = missing(resolve_policy_device(fake.root(), &spec("LABEL=backup disk")).unwrap());
        assert!(why.contains("no /dev/disk/by-label link"), "{why}");
        fake.remove(format!("{BY_UUID}/{MODELS_UUID}"));
        let why = missing(resolve_fstab_source(fake.root(), &FstabSource::Uuid(MODELS_UUID.into())).unwrap());
        assert_eq!(why, format!("no {BY_UUID}/{MODELS_UUID} link"));
    }

    #[test]
    fn fstab_uuids_are_exact_as_at_boot() {
        let fake = host();
        let root = fake.root();
        let exact = FstabSource::Uuid(MODELS_UUID.into());
        assert_eq!(found(resolve_fstab_source(root, &exact).unwrap()), "nvme1n1");
        let upper = FstabSource::Uuid(MODELS_UUID.to_uppercase());
        let why = missing(resolve_fstab_source(root, &upper).unwrap());
        assert!(why.contains("letter case"), "{why}");
    }

    #[test]
    fn fstab_sources_of_every_kind() {
        let fake = host();
        let root = fake.root();
        let disk = fake.root().resolve("/sys/class/block/nvme1n1").unwrap();
        fake.partition(&disk, "nvme1n1p1", dn(259, 5), 1);
        fake.link(
            Path::new("/dev/disk/by-partuuid/4f5a6b7c-01"),
            Path::new("/dev/nvme1n1p1"),
        );
        fake.link(
            Path::new("/dev/disk/by-partlabel/models\\x2fdata"),
            Path::new("/dev/nvme1n1p1"),
        );
        let part = resolve_fstab_source(root, &FstabSource::PartUuid("4f5a6b7c-01".into())).unwrap();
        assert_eq!(found(part), "nvme1n1p1");
        let part = resolve_fstab_source(root, &FstabSource::PartLabel("models/data".into())).unwrap();
        assert_eq!(found(part), "nvme1n1p1");
        assert!(
            missing(resolve_fstab_source(root, &FstabSource::PartUuid("x".into())).unwrap()).contains("by-partuuid")
        );
        let label = resolve_fstab_source(root, &FstabSource::Label("citadel models".into())).unwrap();
        assert_eq!(found(label), "nvme1n1");
        let path = resolve_fstab_source(root, &FstabSource::Path("/dev/sda".into())).unwrap();
        assert_eq!(found(path), "sda");
        assert!(missing(resolve_fstab_source(root, &FstabSource::Other("tmpfs".into())).unwrap()).contains("tmpfs"));
    }

    #[test]
    fn without_udev_links_the_superblock_tells() {
        let fake = host();
        fake.remove("/dev/disk");
        fake.file("/dev/sda", ext4_image(MODELS_UUID_BYTES, "backup disk"));
        let root = fake.root();
        let uuid = FstabSource::Uuid(MODELS_UUID.into());
        assert_eq!(found(resolve_fstab_source(root, &uuid).unwrap()), "sda");
        let upper = spec(&format!("UUID={}", MODELS_UUID.to_uppercase()));
        assert_eq!(found(resolve_policy_device(root, &upper).unwrap()), "sda");
        let why = missing(resolve_fstab_source(root, &FstabSource::Uuid(MODELS_UUID.to_uppercase())).unwrap());
        assert!(why.contains("letter case"), "{why}");
        assert_eq!(
            found(resolve_policy_device(root, &spec("LABEL=backup disk")).unwrap()),
            "sda"
        );
        assert!(matches!(
            resolve_policy_device(root, &spec("LABEL=backup")).unwrap(),
            Lookup::Missing(_)
        ));
    }

    #[test]
    fn superblocks_parse() {
        let image = ext4_image(MODELS_UUID_BYTES, "citadel-models");
        let sb = Ext4Superblock::parse(&image[1024..]).unwrap();
        assert_eq!(sb.uuid_string(), MODELS_UUID);
        assert_eq!(sb.label, "citadel-models");
        let long = Ext4Superblock::parse(&ext4_image([0; 16], "sixteen-chars-xx")[1024..]).unwrap();
        assert_eq!(long.label, "sixteen-chars-xx", "a full 16-byte name has no NUL");
        assert_eq!(Ext4Superblock::parse(&image[1024..1024 + 0x87]), None, "too short");
        assert_eq!(Ext4Superblock::parse(&[0u8; 2048]), None, "no magic");
        assert_eq!(Ext4Superblock::parse(&[]), None);
        let mut odd = ext4_image([0xff; 16], "");
        odd[1024 + S_VOLUME_NAME] = 0xff;
        assert_eq!(Ext4Superblock::parse(&odd[1024..]).unwrap().label, "\u{fffd}");
    }

    #[test]
    fn reading_superblocks_from_nodes_of_any_kind() {
        let fake = host();
        let root = fake.root();
        assert_eq!(read_ext4_superblock(root, Path::new("/dev/none")).unwrap(), None);
        assert_eq!(
            read_ext4_superblock(root, Path::new("/dev/nvme1n1")).unwrap(),
            None,
            "empty file"
        );
        fake.file("/dev/short", vec![0u8; 1100]);
        assert_eq!(read_ext4_superblock(root, Path::new("/dev/short")).unwrap(), None);
        fake.file(
            "/dev/random-bytes",
            (0..4096u32).map(|i| (i * 7919 % 251) as u8).collect::<Vec<_>>(),
        );
        assert_eq!(
            read_ext4_superblock(root, Path::new("/dev/random-bytes")).unwrap(),
            None
        );
        nix::unistd::mkfifo(&root.path("/dev/fifo"), nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        assert_eq!(
            read_ext4_superblock(root, Path::new("/dev/fifo")).unwrap(),
            None,
            "a FIFO is not opened"
        );
        fake.dir("/dev/adir");
        assert_eq!(read_ext4_superblock(root, Path::new("/dev/adir")).unwrap(), None);
    }

    #[test]
    fn residing_on_a_device() {
        let fake = host();
        let root = fake.root();
        let nvme_sys = root.resolve("/sys/class/block/nvme1n1").unwrap();
        let p1 = fake.partition(&nvme_sys, "nvme1n1p1", dn(259, 5), 1);
        let sda_sys = root.resolve("/sys/class/block/sda").unwrap();
        fake.dm("dm-0", dn(253, 0), "vg-models", &[&p1]);
        fake.dm("dm-1", dn(253, 1), "vg-backup", &[&sda_sys]);
        let get = |name: &str| BlockDevice::by_name(root, name).unwrap();
        let nvme = get("nvme1n1");
        assert!(resides_on(root, &nvme, &nvme).unwrap());
        assert!(resides_on(root, &get("nvme1n1p1"), &nvme).unwrap());
        assert!(resides_on(root, &get("dm-0"), &nvme).unwrap());
        assert!(resides_on(root, &get("dm-0"), &get("nvme1n1p1")).unwrap());
        assert!(
            !resides_on(root, &nvme, &get("dm-0")).unwrap(),
            "the disk is not on the volume"
        );
        assert!(!resides_on(root, &get("dm-1"), &nvme).unwrap());
        assert!(!resides_on(root, &get("sda"), &nvme).unwrap());
        // /dev/mapper links lead to the dm device.
        assert_eq!(
            found(resolve_policy_device(root, &spec("/dev/mapper/vg-models")).unwrap()),
            "dm-0"
        );
        // dmsetup without udev: /dev/mapper/NAME is a node of its own.
        fake.remove("/dev/mapper/vg-backup");
        fake.file("/dev/mapper/vg-backup", "");
        assert_eq!(
            found(resolve_policy_device(root, &spec("/dev/mapper/vg-backup")).unwrap()),
            "dm-1"
        );
        assert_eq!(describe(&get("dm-0")), "/dev/dm-0 (vg-models)");
        assert_eq!(describe(&nvme), "/dev/nvme1n1");
    }

    #[test]
    fn cciss_names_map_slashes_to_bangs() {
        let fake = FakeRoot::new();
        fake.disk(
            "/sys/devices/pci0000:00/0000:00:06.0/cciss0",
            "cciss!c0d0",
            dn(104, 0),
            "[none]",
            true,
        );
        assert!(fake.root().exists("/dev/cciss/c0d0"));
        assert_eq!(
            found(device_at_node(fake.root(), Path::new("/dev/cciss/c0d0")).unwrap()),
            "cciss!c0d0"
        );
        assert_eq!(sysfs_name(Path::new("/dev")), None);
        assert_eq!(sysfs_name(Path::new("/etc/x")), None);
    }

    #[test]
    fn real_device_nodes_are_found_by_number() {
        // The host's own /dev/null is a character device; a block device, if the host has one, resolves by
        // its number. Only the arithmetic is checked here.
        assert_eq!(devnum_of(0x0000_0000_0000_0801), dn(8, 1));
        assert_eq!(devnum_of((259u64 << 8) | 5), dn(259, 5));
        for (major, minor) in [(8, 1), (259, 5), (0x12345, 0x6789a), (4095, 255), (4096, 256)] {
            assert_eq!(devnum_of(nix::libc::makedev(major, minor)), dn(major, minor));
        }
    }

    #[test]
    fn udev_names_decode() {
        assert_eq!(decode_udev_name("citadel\\x20models"), "citadel models");
        assert_eq!(decode_udev_name("a\\x2fb"), "a/b");
        assert_eq!(decode_udev_name("trailing\\x2"), "trailing\\x2");
        assert_eq!(decode_udev_name("\\xzz\\x"), "\\xzz\\x");
        assert_eq!(decode_udev_name("caf\\xc3\\xa9"), "café");
        assert_eq!(decode_udev_name("\\xff"), "\u{fffd}");
        assert_eq!(decode_udev_name(&"\\x41".repeat(500_000)).len(), 500_000);
        assert_eq!(
            decode_udev_name("\\x\u{e9}9"),
            "\\x\u{e9}9",
            "a multi-byte character is no hex digit"
        );
    }
}
