//! One `--fix` at a time, across processes: a second one waits, then gives up with a clear message.
//!
//! The test runs its own executable again as the holder (`CITADEL_LOCK_HOLDER=<root>`): the child takes the lock,
//! says so through a marker file, holds it for a while and exits.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use citadel_checks::SystemRoot;
use citadel_fixers::lock::{self, LockError};

const HOLDER_ENV: &str = "CITADEL_LOCK_HOLDER";
const HOLD_FOR: Duration = Duration::from_millis(1500);

/// In the child: take the lock, mark it, hold it. In a normal run: nothing.
#[test]
fn lock_holder_child() {
    let Some(dir) = std::env::var_os(HOLDER_ENV) else {
        return;
    };
    let root = SystemRoot::new(PathBuf::from(&dir));
    let guard = lock::acquire(&root, Duration::ZERO).expect("child takes the lock");
    fs::write(Path::new(&dir).join("locked"), "").unwrap();
    thread::sleep(HOLD_FOR);
    drop(guard);
}

#[test]
fn a_second_process_waits_then_fails_clearly_and_gets_the_lock_once_free() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "lock_holder_child", "--nocapture"])
        .env(HOLDER_ENV, dir.path())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let marker = dir.path().join("locked");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !marker.exists() {
        assert!(Instant::now() < deadline, "the child never took the lock");
        thread::sleep(Duration::from_millis(20));
    }
    let root = SystemRoot::new(dir.path());
    let start = Instant::now();
    let err = lock::acquire(&root, Duration::from_millis(300)).unwrap_err();
    let waited = start.elapsed();
    assert!(waited >= Duration::from_millis(300), "gave up after {waited:?}");
    assert!(matches!(err, LockError::Busy { .. }), "{err:?}");
    let message = err.to_string();
    assert!(
        message.starts_with("another citadel-check --fix is running"),
        "{message}"
    );
    assert!(message.contains("nothing was changed"), "{message}");
    // A longer wait outlasts the holder.
    let guard = lock::acquire(&root, Duration::from_secs(20)).expect("the lock is free once the holder exits");
    assert!(child.wait().unwrap().success());
    drop(guard);
}

#[test]
fn a_killed_holder_leaves_no_stale_lock() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "lock_holder_child", "--nocapture"])
        .env(HOLDER_ENV, dir.path())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let marker = dir.path().join("locked");
    let deadline = Instant::now() + Duration::from_secs(20);
    while !marker.exists() {
        assert!(Instant::now() < deadline, "the child never took the lock");
        thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let root = SystemRoot::new(dir.path());
    lock::acquire(&root, Duration::ZERO).expect("the kernel dropped the dead holder's lock");
}
