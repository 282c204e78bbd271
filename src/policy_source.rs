//! Where the effective policy comes from (SPEC §2 `--config`): the file given, else
//! `/etc/citadel/citadel-check.toml` under `--root` if it exists, else the embedded default.
//!
//! Parsing and printing go through `parse_policy` and `policy_to_toml` only, so that switching to
//! `Policy::load` / `Policy::to_toml` (validated values, errors naming file, line and key) is a one-line change
//! in each.

use std::fs;
use std::path::{Path, PathBuf};

use citadel_checks::policy::EMBEDDED_POLICY;
use citadel_checks::{Policy, SystemRoot};
use sha2::{Digest, Sha256};

use crate::invocation_error::InvocationError;

/// The policy file a system keeps for itself, read under `--root`.
pub const SYSTEM_POLICY_PATH: &str = "/etc/citadel/citadel-check.toml";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyOrigin {
    Embedded,
    /// The file read, as a path on the running host (under `--root` for the system policy).
    File(PathBuf),
}

impl PolicyOrigin {
    /// How reports name it: `embedded` or the file's path.
    pub fn describe(&self) -> String {
        match self {
            PolicyOrigin::Embedded => "embedded".into(),
            PolicyOrigin::File(path) => path.display().to_string(),
        }
    }
}

/// The effective policy, where it came from, and the text it was parsed from (whose SHA-256 reports carry).
#[derive(Debug, Clone)]
pub struct LoadedPolicy {
    pub policy: Policy,
    pub origin: PolicyOrigin,
    pub text: String,
}

impl LoadedPolicy {
    pub fn embedded() -> LoadedPolicy {
        LoadedPolicy {
            policy: Policy::embedded(),
            origin: PolicyOrigin::Embedded,
            text: EMBEDDED_POLICY.to_string(),
        }
    }

    /// Lowercase hex SHA-256 of the policy text.
    pub fn sha256(&self) -> String {
        Sha256::digest(self.text.as_bytes())
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect()
    }
}

/// The effective policy for this run.
pub fn load(config: Option<&Path>, root: &SystemRoot) -> Result<LoadedPolicy, InvocationError> {
    let path = match config {
        Some(path) => path.to_path_buf(),
        None => {
            if !root.exists(SYSTEM_POLICY_PATH) {
                return Ok(LoadedPolicy::embedded());
            }
            // Follow links inside the root, as the system itself would see the file.
            let resolved = root.resolve(SYSTEM_POLICY_PATH).map_err(|e| {
                InvocationError::new(format!(
                    "cannot read the policy {}: {e}",
                    root.path(SYSTEM_POLICY_PATH).display()
                ))
            })?;
            root.path(resolved)
        }
    };
    let text = read_text(&path)?;
    let policy = parse_policy(&path, &text)?;
    Ok(LoadedPolicy {
        policy,
        origin: PolicyOrigin::File(path),
        text,
    })
}

fn read_text(path: &Path) -> Result<String, InvocationError> {
    let bytes =
        fs::read(path).map_err(|e| InvocationError::new(format!("cannot read the policy {}: {e}", path.display())))?;
    String::from_utf8(bytes).map_err(|e| {
        let (line, column) = line_and_column(&String::from_utf8_lossy(e.as_bytes()), e.utf8_error().valid_up_to());
        InvocationError::new(format!(
            "invalid policy {}, line {line}, column {column}: the file is not UTF-8 text",
            path.display()
        ))
    })
}

/// Parses and validates a policy file's text; the error's first line names the file, line and key.
pub fn parse_policy(path: &Path, text: &str) -> Result<Policy, InvocationError> {
    Policy::load(path, text).map_err(|e| InvocationError::new(e.to_string()))
}

/// The policy as commented TOML that `--config` reads back to the same policy.
pub fn policy_to_toml(policy: &Policy) -> String {
    policy.to_toml()
}

/// 1-based line and column (in characters) of a byte offset.
fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_policy_hashes_its_text() {
        let loaded = LoadedPolicy::embedded();
        assert_eq!(loaded.sha256().len(), 64);
        assert_eq!(loaded.origin.describe(), "embedded");
        // Known answer for the empty string, to pin the hex encoding.
        let empty = LoadedPolicy {
            text: String::new(),
            ..LoadedPolicy::embedded()
        };
        assert_eq!(
            empty.sha256(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn printed_policy_reads_back_to_the_same_policy() {
        let policy = Policy::embedded();
        let text = policy_to_toml(&policy);
        assert_eq!(parse_policy(Path::new("p.toml"), &text).unwrap(), policy);
    }

    #[test]
    fn unknown_key_error_names_file_line_and_key_on_the_first_line() {
        let text = "[trim]\ntimer = \"fstrim.timer\"\ncolour = \"blue\"\n";
        let err = parse_policy(Path::new("/etc/p.toml"), text).unwrap_err();
        let first = err.headline();
        // Whatever the parser's wording: file, line and key on the first line.
        assert!(first.contains("/etc/p.toml"), "{first}");
        assert!(first.contains("line 3") || first.contains(":3:"), "{first}");
        assert!(first.contains("colour"), "{first}");
    }

    #[test]
    fn toml_errors_show_the_line_and_point_at_the_column() {
        let err = parse_policy(Path::new("p.toml"), "[trim]\ntimer = 42\n").unwrap_err();
        assert!(err.headline().starts_with("p.toml:2:9: "), "{err}");
        assert!(err.headline().contains("trim.timer"), "{err}");
        assert!(err.message.contains("timer = 42"), "snippet of the line: {err}");
    }

    #[test]
    fn no_file_under_the_root_means_the_embedded_policy() {
        let dir = tempfile::tempdir().unwrap();
        let loaded = load(None, &SystemRoot::new(dir.path())).unwrap();
        assert_eq!(loaded.origin, PolicyOrigin::Embedded);
    }

    #[test]
    fn the_system_policy_under_the_root_is_used_when_present() {
        let dir = tempfile::tempdir().unwrap();
        let root = SystemRoot::new(dir.path());
        fs::create_dir_all(root.path("/etc/citadel")).unwrap();
        fs::write(root.path(SYSTEM_POLICY_PATH), "[trim]\ntimer = \"other.timer\"\n").unwrap();
        let loaded = load(None, &root).unwrap();
        assert_eq!(loaded.policy.trim.timer, "other.timer");
        assert_eq!(loaded.origin, PolicyOrigin::File(root.path(SYSTEM_POLICY_PATH)));
    }

    #[test]
    fn a_missing_config_file_is_an_invocation_error() {
        let err = load(Some(Path::new("/nonexistent/p.toml")), &SystemRoot::new("/")).unwrap_err();
        assert!(err.headline().contains("/nonexistent/p.toml"), "{err}");
    }

    #[test]
    fn non_utf8_policy_names_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.toml");
        fs::write(&path, b"[trim]\ntimer = \"\xff\"\n").unwrap();
        let err = load(Some(&path), &SystemRoot::new("/")).unwrap_err();
        assert!(err.headline().contains("line 2, column 10"), "{err}");
    }

    #[test]
    fn columns_count_characters() {
        assert_eq!(line_and_column("ab\ncé x", 7), (2, 4));
        assert_eq!(line_and_column("", 5), (1, 1));
    }
}
