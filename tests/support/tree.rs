//! Snapshots of a whole tree, to prove what a run changed: every entry with its type, mode, owner, size, mtime
//! (in nanoseconds), link target and a hash of its content.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// The audit log, the lock and the dated backups, relative to the root: the files a run writes beside the ones
/// it fixes.
pub const AUDIT_LOG: &str = "opt/citadel/logs/citadel-check.log";
pub const LOCK: &str = "run/citadel-check.lock";
pub const BACKUPS: &str = "var/backups/citadel-check";

/// What a temporary file of the apply layer has in its name (`.NAME.citadel-tmp.PID.N`).
pub const TEMP_MARK: &str = ".citadel-tmp.";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// `d` directory, `f` regular file, `l` symlink, `o` anything else.
    pub kind: char,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
    pub size: u64,
    pub mtime_ns: i128,
    pub link_target: Option<PathBuf>,
    /// SHA-256 of a regular file's content.
    pub sha256: Option<String>,
}

impl Entry {
    /// What a reader sees of it, whenever it was written: type, mode, owner, content or target (no times, and no
    /// size for directories, whose size depends on their history).
    pub fn same_state(&self, other: &Entry) -> bool {
        self.kind == other.kind
            && self.mode == other.mode
            && self.uid == other.uid
            && self.gid == other.gid
            && self.link_target == other.link_target
            && self.sha256 == other.sha256
    }

    fn describe(&self) -> String {
        let what = match (&self.link_target, &self.sha256) {
            (Some(target), _) => format!(" -> {}", target.display()),
            (_, Some(hash)) => format!(" sha256 {}", &hash[..12]),
            _ => String::new(),
        };
        format!(
            "{} {:04o} {}:{} size {} mtime {}{what}",
            self.kind, self.mode, self.uid, self.gid, self.size, self.mtime_ns
        )
    }
}

/// Every entry under a root, by path relative to it (`""` is the root itself).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tree {
    pub entries: BTreeMap<PathBuf, Entry>,
}

/// Snapshots `root`, not following symlinks.
pub fn snapshot(root: &Path) -> Tree {
    let mut tree = Tree::default();
    walk(root, Path::new(""), &mut tree);
    tree
}

fn walk(root: &Path, rel: &Path, tree: &mut Tree) {
    let path = root.join(rel);
    let meta = fs::symlink_metadata(&path).unwrap_or_else(|e| panic!("lstat {}: {e}", path.display()));
    let kind = if meta.is_dir() {
        'd'
    } else if meta.is_file() {
        'f'
    } else if meta.file_type().is_symlink() {
        'l'
    } else {
        'o'
    };
    let entry = Entry {
        kind,
        mode: meta.mode() & 0o7777,
        uid: meta.uid(),
        gid: meta.gid(),
        size: meta.size(),
        mtime_ns: i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec()),
        link_target: (kind == 'l').then(|| fs::read_link(&path).expect("readlink")),
        sha256: (kind == 'f').then(|| {
            let content = fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
            Sha256::digest(&content).iter().map(|b| format!("{b:02x}")).collect()
        }),
    };
    tree.entries.insert(rel.to_path_buf(), entry);
    if kind == 'd' {
        let mut names: Vec<_> = fs::read_dir(&path)
            .unwrap_or_else(|e| panic!("read_dir {}: {e}", path.display()))
            .map(|e| e.expect("dir entry").file_name())
            .collect();
        names.sort();
        for name in names {
            walk(root, &rel.join(name), tree);
        }
    }
}

impl Tree {
    /// The tree without the entries at or under any of `paths` (relative).
    pub fn without(&self, paths: &[&str]) -> Tree {
        let entries = self
            .entries
            .iter()
            .filter(|(path, _)| !paths.iter().any(|p| path.starts_with(p)))
            .map(|(path, entry)| (path.clone(), entry.clone()))
            .collect();
        Tree { entries }
    }

    /// Every difference from `self` to `after`, one line each; empty when identical (mtimes included).
    pub fn differences(&self, after: &Tree) -> Vec<String> {
        let mut out = Vec::new();
        for (path, entry) in &self.entries {
            match after.entries.get(path) {
                None => out.push(format!("removed /{}: was {}", path.display(), entry.describe())),
                Some(now) if now != entry => out.push(format!(
                    "changed /{}: {} => {}",
                    path.display(),
                    entry.describe(),
                    now.describe()
                )),
                Some(_) => {}
            }
        }
        for (path, entry) in &after.entries {
            if !self.entries.contains_key(path) {
                out.push(format!("added /{}: {}", path.display(), entry.describe()));
            }
        }
        out
    }

    /// Every path whose state (not times) differs from `other`'s, one line each.
    pub fn state_differences(&self, other: &Tree) -> Vec<String> {
        let mut out = Vec::new();
        for (path, entry) in &self.entries {
            match other.entries.get(path) {
                None => out.push(format!("/{} is {}, expected absent", path.display(), entry.describe())),
                Some(want) if !entry.same_state(want) => out.push(format!(
                    "/{} is {}, expected {}",
                    path.display(),
                    entry.describe(),
                    want.describe()
                )),
                Some(_) => {}
            }
        }
        for (path, want) in &other.entries {
            if !self.entries.contains_key(path) {
                out.push(format!("/{} is absent, expected {}", path.display(), want.describe()));
            }
        }
        out
    }
}
