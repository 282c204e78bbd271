//! Test support: the compliant fixture tree copied into a temporary directory, to be changed by a test and
//! checked through a `System`, the way `tests/common` materializes scenarios for the binary.

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::root::SystemRoot;
use crate::view::System;

pub struct Tree {
    pub dir: tempfile::TempDir,
}

impl Tree {
    /// A fresh copy of `fixtures/compliant/root`.
    pub fn compliant() -> Tree {
        let dir = tempfile::tempdir().expect("temp dir");
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/compliant/root");
        copy_tree(&src, dir.path()).expect("copy the compliant fixture");
        Tree { dir }
    }

    /// Where the system path `abs` is in the tree.
    pub fn path(&self, abs: &str) -> PathBuf {
        SystemRoot::new(self.dir.path()).path(abs)
    }

    /// A new `System` (facts are cached per `System`: make one after changing the tree).
    pub fn system(&self) -> System {
        System::new(SystemRoot::new(self.dir.path()))
    }

    pub fn remove(&self, abs: &str) {
        let path = self.path(abs);
        let meta = fs::symlink_metadata(&path).expect("exists");
        if meta.is_dir() {
            fs::remove_dir_all(&path).unwrap();
        } else {
            fs::remove_file(&path).unwrap();
        }
    }

    pub fn chmod(&self, abs: &str, mode: u32) {
        fs::set_permissions(self.path(abs), fs::Permissions::from_mode(mode)).unwrap();
    }

    pub fn write(&self, abs: &str, content: &str) {
        fs::write(self.path(abs), content).unwrap();
    }

    pub fn mkdir(&self, abs: &str) {
        fs::create_dir_all(self.path(abs)).unwrap();
    }

    /// Replaces whatever is at `abs` with a symlink to `target`.
    pub fn link(&self, abs: &str, target: &str) {
        let path = self.path(abs);
        if fs::symlink_metadata(&path).is_ok() {
            self.remove(abs);
        }
        symlink(target, path).unwrap();
    }
}

pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

fn copy_tree(src: &Path, dest: &Path) -> std::io::Result<()> {
    for entry in fs::read_dir(src)? {
        let entry = entry?;
        let (from, to) = (entry.path(), dest.join(entry.file_name()));
        let kind = entry.file_type()?;
        if entry.file_name() == ".gitkeep" {
            continue;
        }
        if kind.is_symlink() {
            symlink(fs::read_link(&from)?, &to)?;
        } else if kind.is_dir() {
            fs::create_dir_all(&to)?;
            fs::set_permissions(&to, fs::Permissions::from_mode(0o755))?;
            copy_tree(&from, &to)?;
        } else {
            fs::copy(&from, &to)?;
            let executable = entry.metadata()?.permissions().mode() & 0o111 != 0;
            fs::set_permissions(&to, fs::Permissions::from_mode(if executable { 0o755 } else { 0o644 }))?;
        }
    }
    Ok(())
}
