//! `scenario.toml` (its format is documented at the top of the crate) and where the scenarios are.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

use serde::Deserialize;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    pub description: String,
    /// Another scenario whose tree this one starts from.
    pub base: Option<String>,
    /// A policy file in the scenario folder, passed as `--config`.
    pub policy: Option<String>,
    #[serde(default)]
    pub remove: Vec<String>,
    #[serde(default)]
    pub chmod: Vec<Chmod>,
    #[serde(default)]
    pub chown: Vec<Chown>,
    /// The status every one of the ten checks must end with.
    pub expect: BTreeMap<String, String>,
    /// For a check: strings that must each appear in one of its findings (subject, expected, actual or
    /// message), so that a check fails for the reason the scenario is about.
    #[serde(default)]
    pub findings: BTreeMap<String, Vec<String>>,
    /// For a check: the fix status `--fix` must end with (see the crate docs).
    #[serde(default)]
    pub fix: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Chmod {
    pub path: String,
    /// Octal, e.g. `"0750"`.
    pub mode: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Chown {
    pub path: String,
    pub uid: u32,
    pub gid: u32,
}

/// The workspace's `fixtures/` folder.
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures")
}

/// Every scenario folder name, sorted.
pub fn scenario_names() -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(fixtures_dir())
        .expect("fixtures/ exists")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().join("scenario.toml").is_file())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The scenario's `scenario.toml`, or why it cannot be read (naming the file).
pub fn load_scenario(name: &str) -> Result<Scenario, String> {
    let path = fixtures_dir().join(name).join("scenario.toml");
    let text = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scenario_reads_and_names_all_ten_checks() {
        let names = scenario_names();
        assert!(names.contains(&"compliant".to_string()), "{names:?}");
        for name in names {
            let scenario = load_scenario(&name).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(scenario.expect.len(), 10, "{name}: {:?}", scenario.expect);
        }
    }

    #[test]
    fn an_unknown_key_is_an_error_naming_the_file() {
        let err = toml::from_str::<Scenario>("description = \"x\"\nremoved = []\n[expect]\n").unwrap_err();
        assert!(err.to_string().contains("removed"), "{err}");
        let err = load_scenario("no-such-scenario").unwrap_err();
        assert!(err.contains("no-such-scenario/scenario.toml"), "{err}");
    }
}
