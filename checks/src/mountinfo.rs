//! `/proc/self/mountinfo`: which file systems are mounted where (proc(5)).
//!
//! Lines are split by procfs-core's parser; this module adds what it lacks: octal-escape decoding (`\040`),
//! file and line context on errors, options in kernel order, and the "which mount is visible here" rule.

use std::path::{Path, PathBuf};

use procfs_core::process::MountInfo;

use crate::error::FactError;
use crate::root::SystemRoot;

pub const MOUNTINFO_PATH: &str = "/proc/self/mountinfo";

/// A block device number, as `major:minor`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DevNum {
    pub major: u32,
    pub minor: u32,
}

impl DevNum {
    pub fn parse(s: &str) -> Option<DevNum> {
        let (major, minor) = s.trim().split_once(':')?;
        Some(DevNum {
            major: major.parse().ok()?,
            minor: minor.parse().ok()?,
        })
    }
}

impl std::fmt::Display for DevNum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.major, self.minor)
    }
}

/// One mount option, `name` or `name=value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountOption {
    pub name: String,
    pub value: Option<String>,
}

impl MountOption {
    pub fn parse(s: &str) -> MountOption {
        match s.split_once('=') {
            Some((name, value)) => MountOption {
                name: name.to_string(),
                value: Some(value.to_string()),
            },
            None => MountOption {
                name: s.to_string(),
                value: None,
            },
        }
    }
}

impl std::fmt::Display for MountOption {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.value {
            Some(v) => write!(f, "{}={}", self.name, v),
            None => write!(f, "{}", self.name),
        }
    }
}

/// One line of mountinfo, decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub id: i32,
    pub parent_id: i32,
    pub devnum: DevNum,
    /// The directory of the file system that is mounted here (`/` unless a bind mount of a subdirectory).
    pub root: PathBuf,
    pub mount_point: PathBuf,
    /// Per-mount options (`rw,noatime`), in the kernel's order.
    pub mount_options: Vec<MountOption>,
    pub fs_type: String,
    /// `None` when the kernel printed an empty source or `none`.
    pub source: Option<String>,
    /// Per-superblock options (`rw,nobarrier,data=writeback`), in the kernel's order.
    pub super_options: Vec<MountOption>,
    /// 1-based line in mountinfo, for messages.
    pub line: usize,
}

impl Mount {
    /// Every option of the mount, per-mount first, then per-superblock.
    pub fn all_options(&self) -> impl Iterator<Item = &MountOption> {
        self.mount_options.iter().chain(self.super_options.iter())
    }

    /// The options as one comma-separated string, as `findmnt -o OPTIONS` prints them.
    pub fn options_string(&self) -> String {
        self.all_options().map(|o| o.to_string()).collect::<Vec<_>>().join(",")
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MountTable {
    pub mounts: Vec<Mount>,
}

impl MountTable {
    pub fn load(root: &SystemRoot) -> Result<MountTable, FactError> {
        let text = root.read_text(MOUNTINFO_PATH)?;
        MountTable::parse(&text).map_err(|(line, msg)| FactError::parse(MOUNTINFO_PATH, line, msg))
    }

    /// Parses mountinfo text. A malformed line is an error naming its 1-based line number.
    pub fn parse(text: &str) -> Result<MountTable, (usize, String)> {
        let mut mounts = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let number = index + 1;
            if line.trim().is_empty() {
                continue;
            }
            mounts.push(parse_line(line).map_err(|msg| (number, msg))?);
            mounts.last_mut().expect("just pushed").line = number;
        }
        Ok(MountTable { mounts })
    }

    /// The mount visible at `mount_point`: of several stacked there, the topmost. A mount is stacked on
    /// another at the same point when its parent is that other mount (an overmount); the visible one is the
    /// one no other mount at that point has as its parent.
    pub fn visible_at(&self, mount_point: &Path) -> Option<&Mount> {
        let here: Vec<&Mount> = self.mounts.iter().filter(|m| m.mount_point == mount_point).collect();
        here.iter()
            .rev()
            .find(|m| !here.iter().any(|other| other.parent_id == m.id))
            .or_else(|| here.last())
            .copied()
    }

    /// The visible mount whose mount point is the longest prefix of `path`: the file system `path` is on,
    /// as far as mountinfo tells.
    pub fn containing(&self, path: &Path) -> Option<&Mount> {
        let mut best: Option<&Mount> = None;
        for m in &self.mounts {
            if path.starts_with(&m.mount_point)
                && best.is_none_or(|b| m.mount_point.components().count() > b.mount_point.components().count())
            {
                best = Some(m);
            }
        }
        best.and_then(|b| self.visible_at(&b.mount_point))
    }
}

fn parse_line(line: &str) -> Result<Mount, String> {
    let info = MountInfo::from_line(line).map_err(|e| format!("malformed mountinfo line ({e}): {}", shorten(line)))?;
    let devnum = DevNum::parse(&info.majmin).ok_or_else(|| format!("bad major:minor {:?}", info.majmin))?;
    // procfs-core keeps options in hash maps; take them in the kernel's order from the raw fields instead.
    let fields: Vec<&str> = line.split(' ').collect();
    let mount_options = split_options(fields[5]);
    let super_options = split_options(fields.last().copied().unwrap_or(""));
    Ok(Mount {
        id: info.mnt_id,
        parent_id: info.pid,
        devnum,
        root: PathBuf::from(unescape(&info.root)),
        mount_point: PathBuf::from(unescape(&info.mount_point.to_string_lossy())),
        mount_options,
        fs_type: unescape(&info.fs_type),
        source: info.mount_source.map(|s| unescape(&s)),
        super_options,
        line: 0,
    })
}

fn split_options(field: &str) -> Vec<MountOption> {
    field
        .split(',')
        .filter(|o| !o.is_empty())
        .map(|o| MountOption::parse(&unescape(o)))
        .collect()
}

/// Decodes the kernel's octal escapes (`\040` space, `\011` tab, `\012` newline, `\134` backslash).
pub fn unescape(s: &str) -> String {
    if !s.contains('\\') {
        return s.to_string();
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 3 < bytes.len() && bytes[i + 1..i + 4].iter().all(|b| (b'0'..=b'7').contains(b)) {
            let value =
                (bytes[i + 1] - b'0') as u32 * 64 + (bytes[i + 2] - b'0') as u32 * 8 + (bytes[i + 3] - b'0') as u32;
            if value <= 0xff {
                out.push(value as u8);
                i += 4;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn shorten(line: &str) -> String {
    const MAX: usize = 120;
    if line.len() <= MAX {
        line.to_string()
    } else {
        let mut end = MAX;
        while !line.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}…", &line[..end])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
22 27 0:21 / /proc rw,relatime - proc proc rw
27 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw
63 27 259:1 / /mnt/citadel-models rw,noatime,nodiratime shared:40 - ext4 /dev/nvme1n1 rw,nobarrier,data=writeback
64 27 8:0 / /mnt/citadel-backup rw,noatime master:3 - ext4 /dev/sda rw,data=ordered
70 27 7:0 /active /srv/with\\040space rw,relatime - ext4 /dev/loop0 rw
";

    #[test]
    fn parses_kernel_lines_with_optional_fields_and_escapes() {
        let table = MountTable::parse(SAMPLE).unwrap();
        assert_eq!(table.mounts.len(), 5);
        let models = table.visible_at(Path::new("/mnt/citadel-models")).unwrap();
        assert_eq!(models.devnum, DevNum { major: 259, minor: 1 });
        assert_eq!(
            models.options_string(),
            "rw,noatime,nodiratime,rw,nobarrier,data=writeback"
        );
        assert_eq!(models.source.as_deref(), Some("/dev/nvme1n1"));
        assert_eq!(models.line, 3);
        let bind = &table.mounts[4];
        assert_eq!(bind.mount_point, PathBuf::from("/srv/with space"));
        assert_eq!(bind.root, PathBuf::from("/active"));
    }

    #[test]
    fn the_topmost_of_stacked_mounts_is_visible() {
        let text = "\
27 1 254:0 / / rw - ext4 /dev/vda rw
80 27 7:1 / /mnt/m rw - ext4 /dev/loop1 rw
81 80 0:50 / /mnt/m rw - tmpfs tmpfs rw
";
        let table = MountTable::parse(text).unwrap();
        assert_eq!(table.visible_at(Path::new("/mnt/m")).unwrap().fs_type, "tmpfs");
        assert_eq!(table.containing(Path::new("/mnt/m/active")).unwrap().id, 81);
        assert_eq!(table.containing(Path::new("/opt")).unwrap().id, 27);
    }

    #[test]
    fn empty_source_is_none() {
        let table = MountTable::parse("30 27 0:30 / /run rw - tmpfs  rw\n").unwrap();
        assert_eq!(table.mounts[0].source, None);
    }

    #[test]
    fn garbage_names_its_line() {
        let err = MountTable::parse("27 1 254:0 / / rw - ext4 /dev/vda rw\nthis is not mountinfo\n").unwrap_err();
        assert_eq!(err.0, 2);
        assert!(err.1.contains("this is not mountinfo"), "{}", err.1);
        assert!(MountTable::parse("").unwrap().mounts.is_empty());
        assert!(MountTable::parse("1 2 x:y / / rw - ext4 a rw").is_err());
    }

    #[test]
    fn unescape_decodes_octal_and_keeps_stray_backslashes() {
        assert_eq!(unescape("a\\040b\\011c\\134d"), "a b\tc\\d");
        assert_eq!(unescape("trailing\\"), "trailing\\");
        assert_eq!(unescape("\\09"), "\\09");
    }
}
