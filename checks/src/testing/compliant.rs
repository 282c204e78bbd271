//! Test support: the compliant fixture tree copied into a temporary directory, to be changed by a test and
//! checked through a `System`. The copy is `citadel_testkit`'s, the one that materializes scenarios for the binary.

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::PathBuf;

pub use citadel_testkit::is_root;
use citadel_testkit::{copy_tree, fixtures_dir};

use crate::root::SystemRoot;
use crate::view::System;

pub struct Tree {
    pub dir: tempfile::TempDir,
}

impl Tree {
    /// A fresh copy of `fixtures/compliant/root`.
    pub fn compliant() -> Tree {
        let dir = tempfile::tempdir().expect("temp dir");
        copy_tree(&fixtures_dir().join("compliant/root"), dir.path()).expect("copy the compliant fixture");
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
