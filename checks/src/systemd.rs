//! systemd units, offline: is a unit installed, masked, enabled (systemd.unit(5), `systemctl --root`).
//!
//! Nothing is spawned. A unit file is looked up in the unit search path, first directory first. It is masked
//! when the file found first is a link to /dev/null or empty. It is enabled when some `X.wants/` or
//! `X.requires/` directory of the search path holds a symlink named after it (the target may be relative or
//! absolute; systemd adds the dependency by the link's name). systemd runs when `/run/systemd/system` is a
//! directory (`sd_booted()`).

use std::path::{Path, PathBuf};

use crate::error::FactError;
use crate::root::SystemRoot;

/// The system unit search path, highest priority first.
pub const UNIT_DIRS: [&str; 5] = [
    "/etc/systemd/system",
    "/run/systemd/system",
    "/usr/local/lib/systemd/system",
    "/usr/lib/systemd/system",
    "/lib/systemd/system",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DependencyKind {
    Wants,
    Requires,
}

/// A `*.wants/` or `*.requires/` directory: the unit named `unit` pulls in every unit linked there.
#[derive(Debug, Clone, PartialEq, Eq)]
struct DependencyDir {
    path: PathBuf,
    unit: String,
    kind: DependencyKind,
}

/// A `X.wants/NAME` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DependencyLink {
    /// The entry, e.g. `/etc/systemd/system/timers.target.wants/fstrim.timer`.
    pub path: PathBuf,
    /// The unit that wants it (`timers.target`).
    pub by: String,
    pub kind: DependencyKind,
    /// The link's target as written; `None` when the entry is not a symlink.
    pub target: Option<PathBuf>,
}

impl DependencyLink {
    /// systemd only follows symlinks here, and a link to /dev/null masks the dependency.
    pub fn counts(&self) -> bool {
        matches!(&self.target, Some(t) if t != Path::new("/dev/null"))
    }
}

/// What the unit directories say about one unit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitStatus {
    pub name: String,
    /// The unit file systemd loads (after following a link), when found and not masked.
    pub fragment: Option<PathBuf>,
    /// The entry that masks the unit: a link to /dev/null or an empty file, found first in the search path.
    pub masked_by: Option<PathBuf>,
    /// Every `*.wants/` and `*.requires/` entry with the unit's name.
    pub links: Vec<DependencyLink>,
    /// `[Install] WantedBy=` of the unit file: where `systemctl enable` would link it.
    pub install_wanted_by: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnitState {
    /// No unit file in the search path.
    NotFound,
    Masked,
    /// A unit file, but nothing pulls it in.
    Disabled,
    Enabled,
}

impl UnitStatus {
    pub fn state(&self) -> UnitState {
        if self.masked_by.is_some() {
            UnitState::Masked
        } else if self.fragment.is_none() {
            UnitState::NotFound
        } else if self.links.iter().any(DependencyLink::counts) {
            UnitState::Enabled
        } else {
            UnitState::Disabled
        }
    }

    /// The units that pull this one in through a link that counts.
    pub fn enabled_by(&self) -> impl Iterator<Item = &DependencyLink> {
        self.links.iter().filter(|l| l.counts())
    }
}

/// The unit directories of one system.
#[derive(Debug, Clone)]
pub struct Systemd {
    root: SystemRoot,
    running: bool,
    dependency_dirs: Vec<DependencyDir>,
}

impl Systemd {
    /// Lists the dependency directories of the search path. A missing unit directory is fine; an unreadable
    /// one is an error.
    pub fn load(root: &SystemRoot) -> Result<Systemd, FactError> {
        let mut dependency_dirs = Vec::new();
        for dir in UNIT_DIRS {
            for name in root.read_dir_names_opt(dir)? {
                let Some(name) = name.to_str() else {
                    continue;
                };
                let (unit, kind) = if let Some(unit) = name.strip_suffix(".wants") {
                    (unit, DependencyKind::Wants)
                } else if let Some(unit) = name.strip_suffix(".requires") {
                    (unit, DependencyKind::Requires)
                } else {
                    continue;
                };
                let path = Path::new(dir).join(name);
                if root.metadata(&path).is_ok_and(|m| m.is_dir()) {
                    dependency_dirs.push(DependencyDir {
                        path,
                        unit: unit.to_string(),
                        kind,
                    });
                }
            }
        }
        let running = root.symlink_metadata("/run/systemd/system").is_ok_and(|m| m.is_dir());
        Ok(Systemd {
            root: root.clone(),
            running,
            dependency_dirs,
        })
    }

    /// True when systemd is the running init (`/run/systemd/system` exists).
    pub fn running(&self) -> bool {
        self.running
    }

    pub fn unit(&self, name: &str) -> Result<UnitStatus, FactError> {
        let mut status = UnitStatus {
            name: name.to_string(),
            fragment: None,
            masked_by: None,
            links: Vec::new(),
            install_wanted_by: Vec::new(),
        };
        for dir in UNIT_DIRS {
            let path = Path::new(dir).join(name);
            match self.find_fragment(&path)? {
                Fragment::Missing => continue,
                Fragment::Masked => status.masked_by = Some(path),
                Fragment::File(file) => {
                    let text = self.root.read_text(&file)?;
                    status.install_wanted_by = install_wanted_by(&text);
                    status.fragment = Some(file);
                }
            }
            break;
        }
        for dir in &self.dependency_dirs {
            let path = dir.path.join(name);
            let meta = match self.root.symlink_metadata(&path) {
                Ok(meta) => meta,
                Err(e) if e.is_not_found() => continue,
                Err(e) => return Err(e),
            };
            let target = if meta.file_type().is_symlink() {
                Some(self.root.read_link(&path)?)
            } else {
                None
            };
            status.links.push(DependencyLink {
                path,
                by: dir.unit.clone(),
                kind: dir.kind,
                target,
            });
        }
        Ok(status)
    }

    fn find_fragment(&self, path: &Path) -> Result<Fragment, FactError> {
        match self.root.symlink_metadata(path) {
            Err(e) if e.is_not_found() => return Ok(Fragment::Missing),
            Err(e) => return Err(e),
            Ok(_) => {}
        }
        if self.root.read_link(path).is_ok_and(|t| t == Path::new("/dev/null")) {
            return Ok(Fragment::Masked);
        }
        let resolved = match self.root.resolve(path) {
            Ok(resolved) => resolved,
            // A dangling link: systemd skips it and looks further.
            Err(e) if e.is_not_found() => return Ok(Fragment::Missing),
            Err(e) => return Err(e),
        };
        if resolved == Path::new("/dev/null") {
            return Ok(Fragment::Masked);
        }
        let meta = self.root.symlink_metadata(&resolved)?;
        if meta.is_file() && meta.len() == 0 {
            return Ok(Fragment::Masked);
        }
        if !meta.is_file() {
            return Ok(Fragment::Missing);
        }
        Ok(Fragment::File(resolved))
    }
}

enum Fragment {
    Missing,
    Masked,
    File(PathBuf),
}

/// The `WantedBy=` values of a unit file's `[Install]` section (an empty assignment resets the list).
pub fn install_wanted_by(text: &str) -> Vec<String> {
    let mut section = "";
    let mut out = Vec::new();
    let mut pending = String::new();
    for raw in text.lines() {
        let line = raw.trim();
        // A trailing backslash continues the value on the next line.
        if let Some(head) = line.strip_suffix('\\') {
            pending.push_str(head);
            pending.push(' ');
            continue;
        }
        let full = std::mem::take(&mut pending) + line;
        let line = full.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if line.starts_with('[') && line.ends_with(']') {
            section = if line == "[Install]" { "Install" } else { "other" };
            continue;
        }
        if section != "Install" {
            continue;
        }
        if let Some((key, value)) = line.split_once('=') {
            if key.trim() == "WantedBy" {
                if value.trim().is_empty() {
                    out.clear();
                }
                out.extend(value.split_whitespace().map(str::to_string));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::symlink;

    const TIMER: &str = "[Unit]\nDescription=Discard unused blocks once a week\n\n[Timer]\nOnCalendar=weekly\n\n[Install]\nWantedBy=timers.target\n";

    fn tree() -> (tempfile::TempDir, SystemRoot) {
        let dir = tempfile::tempdir().unwrap();
        let root = SystemRoot::new(dir.path());
        fs::create_dir_all(root.path("/etc/systemd/system/timers.target.wants")).unwrap();
        fs::create_dir_all(root.path("/lib/systemd/system")).unwrap();
        fs::write(root.path("/lib/systemd/system/fstrim.timer"), TIMER).unwrap();
        (dir, root)
    }

    fn state(root: &SystemRoot) -> UnitState {
        Systemd::load(root).unwrap().unit("fstrim.timer").unwrap().state()
    }

    #[test]
    fn enabled_by_an_absolute_link_in_etc() {
        let (_d, root) = tree();
        assert_eq!(state(&root), UnitState::Disabled);
        symlink(
            "/lib/systemd/system/fstrim.timer",
            root.path("/etc/systemd/system/timers.target.wants/fstrim.timer"),
        )
        .unwrap();
        let status = Systemd::load(&root).unwrap().unit("fstrim.timer").unwrap();
        assert_eq!(status.state(), UnitState::Enabled);
        assert_eq!(status.fragment, Some(PathBuf::from("/lib/systemd/system/fstrim.timer")));
        assert_eq!(status.install_wanted_by, ["timers.target"]);
        let link = status.enabled_by().next().unwrap();
        assert_eq!(link.by, "timers.target");
        assert_eq!(link.kind, DependencyKind::Wants);
    }

    #[test]
    fn enabled_by_a_relative_link_in_a_vendor_directory() {
        let (_d, root) = tree();
        fs::create_dir_all(root.path("/usr/lib/systemd/system/timers.target.wants")).unwrap();
        symlink(
            "../fstrim.timer",
            root.path("/usr/lib/systemd/system/timers.target.wants/fstrim.timer"),
        )
        .unwrap();
        assert_eq!(state(&root), UnitState::Enabled);
        fs::create_dir_all(root.path("/run/systemd/system/multi-user.target.requires")).unwrap();
        symlink(
            "x",
            root.path("/run/systemd/system/multi-user.target.requires/fstrim.timer"),
        )
        .unwrap();
        let status = Systemd::load(&root).unwrap().unit("fstrim.timer").unwrap();
        assert_eq!(status.links.len(), 2);
        assert!(status.links.iter().any(|l| l.kind == DependencyKind::Requires));
    }

    #[test]
    fn masked_by_a_dev_null_link_or_an_empty_file_in_etc() {
        let (_d, root) = tree();
        symlink(
            "/lib/systemd/system/fstrim.timer",
            root.path("/etc/systemd/system/timers.target.wants/fstrim.timer"),
        )
        .unwrap();
        symlink("/dev/null", root.path("/etc/systemd/system/fstrim.timer")).unwrap();
        let status = Systemd::load(&root).unwrap().unit("fstrim.timer").unwrap();
        assert_eq!(status.state(), UnitState::Masked);
        assert_eq!(
            status.masked_by,
            Some(PathBuf::from("/etc/systemd/system/fstrim.timer"))
        );
        fs::remove_file(root.path("/etc/systemd/system/fstrim.timer")).unwrap();
        fs::create_dir_all(root.path("/run/systemd/system")).unwrap();
        fs::write(root.path("/run/systemd/system/fstrim.timer"), "").unwrap();
        assert_eq!(state(&root), UnitState::Masked);
    }

    #[test]
    fn missing_unit_and_ignored_entries() {
        let (_d, root) = tree();
        fs::remove_file(root.path("/lib/systemd/system/fstrim.timer")).unwrap();
        symlink(
            "/lib/systemd/system/fstrim.timer",
            root.path("/etc/systemd/system/timers.target.wants/fstrim.timer"),
        )
        .unwrap();
        assert_eq!(state(&root), UnitState::NotFound);
        // A regular file in a .wants directory is not a dependency.
        let (_d2, root2) = tree();
        fs::write(
            root2.path("/etc/systemd/system/timers.target.wants/fstrim.timer"),
            TIMER,
        )
        .unwrap();
        let status = Systemd::load(&root2).unwrap().unit("fstrim.timer").unwrap();
        assert_eq!(status.state(), UnitState::Disabled);
        assert_eq!(status.links.len(), 1);
        assert!(!status.links[0].counts());
        // A dangling link in /etc does not hide the vendor unit.
        let (_d3, root3) = tree();
        symlink("/nowhere", root3.path("/etc/systemd/system/fstrim.timer")).unwrap();
        let status = Systemd::load(&root3).unwrap().unit("fstrim.timer").unwrap();
        assert_eq!(status.fragment, Some(PathBuf::from("/lib/systemd/system/fstrim.timer")));
    }

    #[test]
    fn binary_unit_files_do_not_stop_the_lookup() {
        let (_d, root) = tree();
        fs::write(
            root.path("/lib/systemd/system/fstrim.timer"),
            [0xff, 0, 0xfe, b'\n', b'['],
        )
        .unwrap();
        let status = Systemd::load(&root).unwrap().unit("fstrim.timer").unwrap();
        assert_eq!(status.state(), UnitState::Disabled);
        assert!(status.install_wanted_by.is_empty());
    }

    #[test]
    fn running_means_run_systemd_system_is_a_directory() {
        let (_d, root) = tree();
        assert!(!Systemd::load(&root).unwrap().running());
        fs::create_dir_all(root.path("/run/systemd/system")).unwrap();
        assert!(Systemd::load(&root).unwrap().running());
    }

    #[test]
    fn install_section_parsing() {
        assert_eq!(install_wanted_by(TIMER), ["timers.target"]);
        assert_eq!(
            install_wanted_by("[Install]\nWantedBy=a.target b.target\nWantedBy=\nWantedBy=c.target\n"),
            ["c.target"]
        );
        assert_eq!(
            install_wanted_by("[Service]\nWantedBy=x\n[Install]\n# c\nWantedBy=a \\\n b\n"),
            ["a", "b"]
        );
        assert!(install_wanted_by("").is_empty());
        let junk: String = (0..5000u32)
            .map(|i| char::from_u32(i % 0x250 + 1).unwrap_or('x'))
            .collect();
        let _ = install_wanted_by(&junk);
        let _ = install_wanted_by(&"\\\n".repeat(100));
        let long = format!("[Install]\nWantedBy={}\n", "a".repeat(2 * 1024 * 1024));
        assert_eq!(install_wanted_by(&long)[0].len(), 2 * 1024 * 1024);
    }
}
