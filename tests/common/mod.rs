//! Shared by the integration tests: fixture scenarios and how to lay them out as a fake system root.
//!
//! A scenario is a folder under `fixtures/` with a `scenario.toml` and an optional `root/` tree. Git keeps
//! neither owners, nor modes other than the x bit, nor empty directories, so a scenario is *materialized*
//! into a temporary directory: its base scenario's tree first (recursively), then its own `root/` laid over
//! it, then `remove`, `chmod` and `chown` applied. Files are 0644 (0755 when executable in git), directories
//! 0755, and `.gitkeep` files only keep their directory alive.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
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
    /// For a check: the fix status `--fix` must end with (see the module docs).
    #[serde(default)]
    pub fix: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Chmod {
    pub path: String,
    pub mode: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Chown {
    pub path: String,
    pub uid: u32,
    pub gid: u32,
}

pub fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn fixtures_dir() -> PathBuf {
    workspace().join("fixtures")
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

pub fn load_scenario(name: &str) -> Result<Scenario, String> {
    let path = fixtures_dir().join(name).join("scenario.toml");
    let text = fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    toml::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))
}

/// Lays the scenario's tree out in `dest` (which must exist and be empty).
pub fn materialize(name: &str, dest: &Path) -> Result<Scenario, String> {
    let scenario = load_scenario(name)?;
    if let Some(base) = &scenario.base {
        if base == name {
            return Err(format!("scenario {name} is its own base"));
        }
        materialize(base, dest)?;
    }
    let overlay = fixtures_dir().join(name).join("root");
    if overlay.is_dir() {
        copy_tree(&overlay, dest).map_err(|e| format!("{name}: copying {}: {e}", overlay.display()))?;
    }
    for rel in &scenario.remove {
        let path = dest.join(rel);
        let meta = fs::symlink_metadata(&path).map_err(|e| format!("{name}: remove {rel}: {e}"))?;
        let result = if meta.is_dir() {
            fs::remove_dir_all(&path)
        } else {
            fs::remove_file(&path)
        };
        result.map_err(|e| format!("{name}: remove {rel}: {e}"))?;
    }
    for chmod in &scenario.chmod {
        let mode = u32::from_str_radix(&chmod.mode, 8).map_err(|e| format!("{name}: chmod {}: {e}", chmod.mode))?;
        fs::set_permissions(dest.join(&chmod.path), fs::Permissions::from_mode(mode))
            .map_err(|e| format!("{name}: chmod {}: {e}", chmod.path))?;
    }
    for chown in &scenario.chown {
        std::os::unix::fs::lchown(dest.join(&chown.path), Some(chown.uid), Some(chown.gid))
            .map_err(|e| format!("{name}: chown {}: {e}", chown.path))?;
    }
    Ok(scenario)
}

/// Copies `src` over `dest`: an entry of another kind in the way is replaced; modes are normalized.
fn copy_tree(src: &Path, dest: &Path) -> std::io::Result<()> {
    let mut entries: Vec<_> = fs::read_dir(src)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let from = entry.path();
        let to = dest.join(entry.file_name());
        let kind = entry.file_type()?;
        if entry.file_name() == ".gitkeep" {
            continue;
        }
        if let Ok(existing) = fs::symlink_metadata(&to) {
            if !(existing.is_dir() && kind.is_dir()) {
                if existing.is_dir() {
                    fs::remove_dir_all(&to)?;
                } else {
                    fs::remove_file(&to)?;
                }
            }
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

pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}
