//! The management scripts citadel-check ships (SPEC §7), embedded in the binary: the `scripts` check compares
//! the installed copies with these bytes, and the `scripts` fixer installs them.
//!
//! The sources live in `checks/scripts/`; each passes shellcheck and is exercised by `tests/scripts.rs`.

/// Every shipped script: its file name and its exact content.
pub const SHIPPED_SCRIPTS: [(&str, &[u8]); 3] = [
    ("citadel-backup.sh", include_bytes!("../scripts/citadel-backup.sh")),
    ("verify-models.sh", include_bytes!("../scripts/verify-models.sh")),
    ("storage-monitor.sh", include_bytes!("../scripts/storage-monitor.sh")),
];

/// The content citadel-check ships for the script `name`, if it ships one.
pub fn shipped_script(name: &str) -> Option<&'static [u8]> {
    SHIPPED_SCRIPTS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, content)| *content)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn every_script_is_a_bash_script_with_strict_mode() {
        for (name, content) in SHIPPED_SCRIPTS {
            let text = std::str::from_utf8(content).unwrap();
            assert!(text.starts_with("#!/bin/bash\n"), "{name}");
            assert!(text.contains("\nset -euo pipefail\n"), "{name}");
            assert!(!text.contains('\r'), "{name} has CR line endings");
        }
        assert!(shipped_script("verify-models.sh").is_some());
        assert!(shipped_script("nope.sh").is_none());
    }

    #[test]
    fn the_default_policy_names_exactly_the_shipped_scripts() {
        let mut names = crate::Policy::embedded().scripts.names;
        names.sort();
        let mut shipped: Vec<&str> = SHIPPED_SCRIPTS.iter().map(|(n, _)| *n).collect();
        shipped.sort();
        assert_eq!(names, shipped);
    }

    /// The compliant fixture tree carries installed copies: they must never drift from the shipped scripts, or
    /// the `scripts` check would fail on the compliant scenario (and on every scenario based on it).
    #[test]
    fn the_compliant_fixture_has_the_shipped_scripts() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures/compliant/root/opt/citadel/scripts");
        for (name, content) in SHIPPED_SCRIPTS {
            let copy = std::fs::read(dir.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
            assert!(
                copy == content,
                "fixtures/compliant/root/opt/citadel/scripts/{name} differs from checks/scripts/{name}: copy it"
            );
        }
    }
}
