//! End to end on a real kernel: runs `ci/e2e` (see its header) with the binary cargo built for this test. The
//! script turns this machine, inside a throwaway sandbox (private mount namespace, overlay of `/` on a tmpfs,
//! loop devices as disks), into a fresh Citadel server and converges it with `citadel-check --fix`, printing
//! one summary line per step and keeping each step's JSON and JUnit under the artifacts folder.
//!
//! When it runs: only as root (mount namespaces, loop devices, chroot), and only when asked, with
//! `CITADEL_E2E=1`, or in CI (`CI` set; `CITADEL_E2E=0` still opts out). It installs Debian packages inside
//! the sandbox, so it needs the network to Debian's mirror and takes a minute or two: a developer's plain
//! `cargo test` must not do that unasked. Otherwise it prints a loud SKIP line and passes.
//!
//! Artifacts: `$E2E_ARTIFACTS`, else `target/e2e` in the workspace.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The marker every path, image and mount of the sandbox carries (`/tmp/citadel-e2e.XXXXXX`, the tmpfs and
/// overlay sources).
const SANDBOX_MARKER: &str = "citadel-e2e";

#[test]
fn e2e_converges_a_fresh_server_in_a_sandbox() {
    if let Some(reason) = skip_reason() {
        loud(&format!("SKIP e2e (tests/e2e.rs): {reason}"));
        return;
    }
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR"));
    let artifacts = std::env::var_os("E2E_ARTIFACTS")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.join("target/e2e"));
    // Another run's sandbox (a colleague's) may exist already: only what appears during this one counts.
    let before = leftovers();

    // With E2E_DEB (ci/test sets it to the package it built), the e2e installs the package with `dpkg -i` and
    // runs the installed binary; else the binary cargo built for this test.
    let tested: [std::ffi::OsString; 2] = match std::env::var_os("E2E_DEB") {
        Some(deb) => ["--deb".into(), deb],
        None => ["--binary".into(), env!("CARGO_BIN_EXE_citadel-check").into()],
    };
    let status = Command::new("bash")
        .arg(workspace.join("ci/e2e"))
        .arg("run")
        .args(&tested)
        .arg("--artifacts")
        .arg(&artifacts)
        .status()
        .expect("bash runs ci/e2e");

    // Whatever happened inside, the host must be clean: nothing of the sandbox mounted, no loop device left.
    let left: Vec<String> = leftovers().into_iter().filter(|l| !before.contains(l)).collect();
    assert_eq!(
        left,
        Vec::<String>::new(),
        "the sandbox left mounts or loop devices on the host"
    );
    assert!(
        status.success(),
        "ci/e2e failed ({status}): its one-line summary per step is above; each step's JSON, JUnit, stdout and \
         stderr are in {}",
        artifacts.display()
    );
}

/// Why the e2e does not run here, if it does not.
fn skip_reason() -> Option<String> {
    let asked = std::env::var("CITADEL_E2E").ok();
    let in_ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
    match asked.as_deref() {
        Some("0") => return Some("CITADEL_E2E=0".to_string()),
        Some("1") => {}
        _ if in_ci => {}
        _ => {
            return Some(
                "set CITADEL_E2E=1 to run it (as root; it installs Debian packages in a sandbox, so it needs \
                 the network); CI runs it"
                    .to_string(),
            )
        }
    }
    if !nix::unistd::geteuid().is_root() {
        return Some("needs root (mount namespaces, loop devices, chroot)".to_string());
    }
    None
}

/// Host mounts (`findmnt`) and loop devices (`losetup -a`) that belong to a sandbox of ci/e2e.
fn leftovers() -> Vec<String> {
    let mut found = Vec::new();
    for argv in [
        &["findmnt", "-rn", "-o", "TARGET,SOURCE,FSTYPE"][..],
        &["losetup", "-a"][..],
    ] {
        let output = Command::new(argv[0])
            .args(&argv[1..])
            .output()
            .unwrap_or_else(|e| panic!("{} runs: {e}", argv[0]));
        let text = String::from_utf8_lossy(&output.stdout);
        found.extend(
            text.lines()
                .filter(|line| line.contains(SANDBOX_MARKER))
                .map(|line| format!("{}: {line}", argv[0])),
        );
    }
    found
}

/// Writes straight to stderr: libtest captures `println!`/`eprintln!` of passing tests, not the stream.
fn loud(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}
