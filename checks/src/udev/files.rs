//! Which rules files udev reads, and in which order (udev(7), systemd's `conf_files_list`).
//!
//! Every `*.rules` name (not starting with `.`) in the rule directories counts once: the directory listed first
//! wins, so a file in /etc overrides the same name in /run, which overrides /usr/local/lib, /usr/lib and /lib.
//! The surviving files are read in lexical order of their names, whatever their directory. A winning file that
//! is empty or a link to /dev/null disables the name. Where /lib is a link to /usr/lib, its names are the
//! same as /usr/lib's and lose to them, so no file is read twice.

use std::path::{Path, PathBuf};

use crate::error::FactError;
use crate::root::SystemRoot;

/// The rule directories, highest priority first.
pub const RULES_DIRS: [&str; 5] = [
    "/etc/udev/rules.d",
    "/run/udev/rules.d",
    "/usr/local/lib/udev/rules.d",
    "/usr/lib/udev/rules.d",
    "/lib/udev/rules.d",
];

/// One rules file name and the file udev uses for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleFileName {
    pub name: String,
    /// The file udev reads for this name (the highest-priority one).
    pub path: PathBuf,
    /// Same-named files in lower-priority directories that `path` overrides.
    pub overrides: Vec<PathBuf>,
}

/// Every rules file name udev would consider, sorted by name.
pub fn discover(root: &SystemRoot) -> Result<Vec<RuleFileName>, FactError> {
    let mut found: Vec<RuleFileName> = Vec::new();
    for dir in RULES_DIRS {
        for name in root.read_dir_names_opt(dir)? {
            let Some(name) = name.to_str() else {
                continue;
            };
            if !name.ends_with(".rules") || name.starts_with('.') {
                continue;
            }
            let path = Path::new(dir).join(name);
            match found.iter_mut().find(|f| f.name == name) {
                Some(existing) => existing.overrides.push(path),
                None => found.push(RuleFileName {
                    name: name.to_string(),
                    path,
                    overrides: Vec::new(),
                }),
            }
        }
    }
    found.sort_by(|a, b| a.name.as_bytes().cmp(b.name.as_bytes()));
    Ok(found)
}

/// What reading a winning rules file gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileContent {
    Rules(Vec<u8>),
    /// Empty, or a link to /dev/null: the name is disabled.
    Masked,
    /// udev cannot read it (a dangling link, a directory); the name is still taken.
    Unreadable(String),
}

/// Reads the file udev uses for a name. Permission problems are errors: the rules cannot be evaluated.
pub fn read(root: &SystemRoot, path: &Path) -> Result<FileContent, FactError> {
    if let Ok(target) = root.read_link(path) {
        if target == Path::new("/dev/null") {
            return Ok(FileContent::Masked);
        }
    }
    let resolved = match root.resolve(path) {
        Ok(resolved) => resolved,
        Err(e) if e.is_not_found() => {
            return Ok(FileContent::Unreadable(format!(
                "a dangling link ({} is missing)",
                e.path.display()
            )))
        }
        Err(e) => return Err(e),
    };
    if resolved == Path::new("/dev/null") {
        return Ok(FileContent::Masked);
    }
    let meta = root.symlink_metadata(&resolved)?;
    if meta.is_dir() {
        return Ok(FileContent::Unreadable("a directory".into()));
    }
    // Never read a FIFO or a device: it could block or never end.
    if !meta.is_file() {
        return Ok(FileContent::Unreadable("not a regular file".into()));
    }
    if meta.len() == 0 {
        return Ok(FileContent::Masked);
    }
    let bytes = root.read(&resolved).map_err(|e| FactError {
        path: path.to_path_buf(),
        ..e
    })?;
    if bytes.is_empty() {
        return Ok(FileContent::Masked);
    }
    Ok(FileContent::Rules(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::symlink;

    fn tree() -> (tempfile::TempDir, SystemRoot) {
        let dir = tempfile::tempdir().unwrap();
        let root = SystemRoot::new(dir.path());
        for d in RULES_DIRS {
            if d != "/lib/udev/rules.d" {
                fs::create_dir_all(root.path(d)).unwrap();
            }
        }
        (dir, root)
    }

    #[test]
    fn etc_overrides_and_names_sort_across_directories() {
        let (_d, root) = tree();
        fs::write(root.path("/usr/lib/udev/rules.d/60-a.rules"), "x").unwrap();
        fs::write(root.path("/etc/udev/rules.d/60-a.rules"), "y").unwrap();
        fs::write(root.path("/run/udev/rules.d/10-b.rules"), "z").unwrap();
        fs::write(root.path("/usr/local/lib/udev/rules.d/99-c.rules"), "z").unwrap();
        fs::write(root.path("/etc/udev/rules.d/README"), "z").unwrap();
        fs::write(root.path("/etc/udev/rules.d/.hidden.rules"), "z").unwrap();
        let names = discover(&root).unwrap();
        let listed: Vec<(&str, &Path)> = names.iter().map(|n| (n.name.as_str(), n.path.as_path())).collect();
        assert_eq!(
            listed,
            [
                ("10-b.rules", Path::new("/run/udev/rules.d/10-b.rules")),
                ("60-a.rules", Path::new("/etc/udev/rules.d/60-a.rules")),
                ("99-c.rules", Path::new("/usr/local/lib/udev/rules.d/99-c.rules")),
            ]
        );
        assert_eq!(names[1].overrides, [PathBuf::from("/usr/lib/udev/rules.d/60-a.rules")]);
    }

    #[test]
    fn lib_linked_to_usr_lib_is_not_read_twice() {
        let (_d, root) = tree();
        symlink("usr/lib", root.path("/lib")).unwrap();
        fs::write(root.path("/usr/lib/udev/rules.d/60-a.rules"), "x").unwrap();
        let names = discover(&root).unwrap();
        assert_eq!(names.len(), 1);
        assert_eq!(names[0].path, PathBuf::from("/usr/lib/udev/rules.d/60-a.rules"));
    }

    #[test]
    fn masks_and_unreadable_files() {
        let (_d, root) = tree();
        let etc = root.path("/etc/udev/rules.d");
        symlink("/dev/null", etc.join("a.rules")).unwrap();
        fs::write(etc.join("b.rules"), "").unwrap();
        symlink("/nowhere", etc.join("c.rules")).unwrap();
        fs::create_dir(etc.join("d.rules")).unwrap();
        fs::write(etc.join("e.rules"), "KERNEL==\"x\"").unwrap();
        nix::unistd::mkfifo(&etc.join("g.rules"), nix::sys::stat::Mode::S_IRWXU).unwrap();
        symlink("e.rules", etc.join("f.rules")).unwrap();
        let at = |n: &str| read(&root, &Path::new("/etc/udev/rules.d").join(n)).unwrap();
        assert_eq!(at("a.rules"), FileContent::Masked);
        assert_eq!(at("b.rules"), FileContent::Masked);
        assert!(matches!(at("c.rules"), FileContent::Unreadable(r) if r.contains("dangling")));
        assert!(matches!(at("d.rules"), FileContent::Unreadable(r) if r.contains("directory")));
        assert_eq!(at("e.rules"), FileContent::Rules(b"KERNEL==\"x\"".to_vec()));
        assert_eq!(at("f.rules"), FileContent::Rules(b"KERNEL==\"x\"".to_vec()));
        assert!(matches!(at("g.rules"), FileContent::Unreadable(r) if r.contains("not a regular file")));
    }

    #[test]
    fn no_rule_directories_is_no_rules() {
        let dir = tempfile::tempdir().unwrap();
        assert!(discover(&SystemRoot::new(dir.path())).unwrap().is_empty());
    }
}
