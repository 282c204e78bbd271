//! Tests that drive a real program from Debian (chromium, prometheus-node-exporter, systemd-analyze, dpkg-deb):
//! where the program is missing they skip loudly on a developer's machine, and fail in CI (`CI=true`), whose
//! `.ci/run` installs them.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

/// The program's path, or `None` after saying loudly why the test is skipped. Panics in CI.
pub fn required_tool(path: &str, package: &str) -> Option<PathBuf> {
    let found = Path::new(path).is_file().then(|| PathBuf::from(path));
    if found.is_none() {
        let message =
            format!("{path} is missing: install it with `apt-get install -y --no-install-recommends {package}`");
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{message} (CI installs it in .ci/run: this test must not be skipped there)");
        }
        eprintln!("\n*** SKIPPED: {message} ***\n");
    }
    found
}
