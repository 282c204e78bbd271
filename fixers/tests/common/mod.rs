//! A small system tree to apply plans to, and a host that records instead of running.
#![allow(dead_code)]

use std::cell::RefCell;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::time::Duration;

use citadel_checks::{Policy, SystemRoot};
use citadel_fixers::apply::Applier;
use citadel_fixers::host::{CommandOutput, Host};
use citadel_fixers::lock::{self, LockGuard};

/// The compliant fixture's mountinfo: both storages mounted, as this kernel prints it.
pub fn compliant_mountinfo() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/compliant/root/proc/self/mountinfo");
    fs::read_to_string(path).unwrap()
}

pub struct Tree {
    pub dir: tempfile::TempDir,
    pub root: SystemRoot,
    pub lock: LockGuard,
    pub policy: Policy,
}

impl Tree {
    /// An empty system with /etc, /opt/citadel and both storage mount points, mounted.
    pub fn new() -> Tree {
        let dir = tempfile::tempdir().unwrap();
        let root = SystemRoot::new(dir.path());
        for d in [
            "/etc/cron.d",
            "/opt/citadel",
            "/mnt/citadel-models",
            "/mnt/citadel-backup",
            "/proc/self",
        ] {
            fs::create_dir_all(root.path(d)).unwrap();
        }
        fs::write(root.path("/proc/self/mountinfo"), compliant_mountinfo()).unwrap();
        let lock = lock::acquire(&root, Duration::ZERO).unwrap();
        Tree {
            dir,
            root,
            lock,
            policy: Policy::embedded(),
        }
    }

    /// Drops the mount of `mount_point` from mountinfo.
    pub fn unmount(&self, mount_point: &str) {
        let text: String = compliant_mountinfo()
            .lines()
            .filter(|l| l.split(' ').nth(4) != Some(mount_point))
            .map(|l| format!("{l}\n"))
            .collect();
        fs::write(self.root.path("/proc/self/mountinfo"), text).unwrap();
    }

    pub fn applier<'a>(&'a self, host: &'a dyn Host) -> Applier<'a> {
        Applier::new(&self.root, &self.lock, &self.policy, host)
    }

    pub fn path(&self, abs: &str) -> PathBuf {
        self.root.path(abs)
    }

    /// Every entry under `abs`, relative, sorted.
    pub fn listing(&self, abs: &str) -> Vec<String> {
        let mut out = Vec::new();
        walk(&self.path(abs), Path::new(""), &mut out);
        out.sort();
        out
    }
}

fn walk(dir: &Path, rel: &Path, out: &mut Vec<String>) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for entry in entries {
        let entry = entry.unwrap();
        let rel = rel.join(entry.file_name());
        out.push(rel.display().to_string());
        if entry.file_type().unwrap().is_dir() {
            walk(&entry.path(), &rel, out);
        }
    }
}

pub fn ids() -> (u32, u32) {
    (nix::unistd::geteuid().as_raw(), nix::unistd::getegid().as_raw())
}

/// A host that records every command and sysfs write and changes nothing.
#[derive(Default)]
pub struct RecordingHost {
    pub calls: RefCell<Vec<String>>,
}

impl Host for RecordingHost {
    fn run(&self, argv: &[String]) -> io::Result<CommandOutput> {
        self.calls.borrow_mut().push(argv.join(" "));
        Ok(CommandOutput {
            code: Some(0),
            stdout: String::new(),
            stderr: String::new(),
        })
    }

    fn write_sysfs(&self, path: &Path, value: &str) -> io::Result<()> {
        self.calls
            .borrow_mut()
            .push(format!("sysfs {} {value}", path.display()));
        Ok(())
    }
}

/// The audit log's lines, each parsed as JSON.
pub fn audit_lines(tree: &Tree) -> Vec<serde_json::Value> {
    let text = fs::read_to_string(tree.path(citadel_fixers::audit::AUDIT_LOG)).unwrap_or_default();
    text.lines()
        .map(|l| serde_json::from_str(l).expect("audit line is JSON"))
        .collect()
}
