//! The policy: what a compliant Citadel looks like (SPEC §5).
//!
//! `mod.rs` holds the data types; `load` reads a file (syntax, shape, values) with `document` locating every key
//! for messages, `validate` refuses values that cannot be meant, `print` writes the policy back as TOML.

mod document;
mod error;
mod load;
mod print;
mod validate;

pub use document::{KeyPath, Location, Segment};
pub use error::{PolicyError, Problem};
pub use validate::{component_problem, portable_name_problem, Issue, SCHEDULERS};

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// The Citadel layout, as shipped. `--print-policy` prints the effective policy; this is the default one.
pub const EMBEDDED_POLICY: &str = include_str!("../default-policy.toml");

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Policy {
    #[serde(default = "defaults::storage")]
    pub storage: StoragePolicy,
    #[serde(default = "defaults::app")]
    pub app: AppPolicy,
    #[serde(default = "defaults::models")]
    pub models: ModelsPolicy,
    #[serde(default = "defaults::directories")]
    pub directories: Ownership,
    #[serde(default = "defaults::tools")]
    pub tools: Vec<ToolPolicy>,
    #[serde(default = "defaults::scripts")]
    pub scripts: ScriptsPolicy,
    #[serde(default = "defaults::backup_job")]
    pub backup_job: BackupJobPolicy,
    #[serde(default = "defaults::trim")]
    pub trim: TrimPolicy,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoragePolicy {
    #[serde(default = "defaults::models_storage")]
    pub models: Storage,
    #[serde(default = "defaults::backup_storage")]
    pub backup: Storage,
}

/// One disk of the layout, mounted at `mount_point`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Storage {
    pub mount_point: PathBuf,
    pub device: DeviceSpec,
    pub fs_type: String,
    pub options: Vec<String>,
    pub scheduler: String,
    pub subdirectories: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppPolicy {
    pub dir: PathBuf,
    pub subdirectories: Vec<String>,
    pub models_link: PathBuf,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelsPolicy {
    pub names: Vec<String>,
    pub min_mode: Mode,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Ownership {
    pub owner: String,
    pub group: String,
    pub mode: Mode,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolPolicy {
    pub name: String,
    pub package: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScriptsPolicy {
    pub dir: PathBuf,
    pub names: Vec<String>,
    pub check_content: bool,
    pub owner: String,
    pub group: String,
    pub mode: Mode,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackupJobPolicy {
    pub schedule: String,
    pub cron_file: PathBuf,
    pub script: String,
    pub user: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrimPolicy {
    pub timer: String,
}

/// Which storage of the layout a path or disk belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StorageRole {
    Models,
    Backup,
}

impl StorageRole {
    pub fn as_str(self) -> &'static str {
        match self {
            StorageRole::Models => "models",
            StorageRole::Backup => "backup",
        }
    }
}

/// A directory the layout requires, and the storage mount it must live on (if any).
#[derive(Debug, Clone, PartialEq)]
pub struct RequiredDir<'a> {
    pub path: PathBuf,
    pub storage: Option<&'a Storage>,
}

impl Policy {
    /// The embedded Citadel layout.
    pub fn embedded() -> Policy {
        toml::from_str(EMBEDDED_POLICY).expect("the embedded policy parses (tested)")
    }

    /// Both storages, models first.
    pub fn storages(&self) -> [(StorageRole, &Storage); 2] {
        [
            (StorageRole::Models, &self.storage.models),
            (StorageRole::Backup, &self.storage.backup),
        ]
    }

    /// `<models mount>/active`, where the model directories live.
    pub fn active_models_dir(&self) -> PathBuf {
        self.storage.models.mount_point.join("active")
    }

    pub fn model_dir(&self, name: &str) -> PathBuf {
        self.active_models_dir().join(name)
    }

    pub fn model_links_dir(&self) -> PathBuf {
        self.app.dir.join("model-links")
    }

    pub fn script_path(&self, name: &str) -> PathBuf {
        self.scripts.dir.join(name)
    }

    pub fn backup_script_path(&self) -> PathBuf {
        self.script_path(&self.backup_job.script)
    }

    /// The storage whose mount point contains `path` (the deepest one), if any.
    pub fn storage_containing(&self, path: &Path) -> Option<&Storage> {
        self.storages()
            .into_iter()
            .map(|(_, s)| s)
            .filter(|s| path.starts_with(&s.mount_point))
            .max_by_key(|s| s.mount_point.components().count())
    }

    /// Every directory of the layout, in a stable order: each storage mount point and its subdirectories,
    /// then the app directory and its subdirectories.
    pub fn required_dirs(&self) -> Vec<RequiredDir<'_>> {
        let mut dirs = Vec::new();
        for (_, storage) in self.storages() {
            dirs.push(RequiredDir {
                path: storage.mount_point.clone(),
                storage: Some(storage),
            });
            for sub in &storage.subdirectories {
                dirs.push(RequiredDir {
                    path: storage.mount_point.join(sub),
                    storage: Some(storage),
                });
            }
        }
        for path in
            std::iter::once(self.app.dir.clone()).chain(self.app.subdirectories.iter().map(|s| self.app.dir.join(s)))
        {
            let storage = self.storage_containing(&path);
            dirs.push(RequiredDir { path, storage });
        }
        dirs
    }
}

/// Where a storage lives: a /dev path (including /dev/disk/by-* and /dev/mapper links), a filesystem UUID or
/// a filesystem label.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum DeviceSpec {
    Path(PathBuf),
    /// Stored lowercase: UUIDs compare case-insensitively.
    Uuid(String),
    Label(String),
}

impl FromStr for DeviceSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        if let Some(uuid) = s.strip_prefix("UUID=") {
            let uuid = uuid.trim_matches('"');
            if uuid.is_empty() {
                return Err("UUID= needs a value".into());
            }
            Ok(DeviceSpec::Uuid(uuid.to_ascii_lowercase()))
        } else if let Some(label) = s.strip_prefix("LABEL=") {
            let label = label.trim_matches('"');
            if label.is_empty() {
                return Err("LABEL= needs a value".into());
            }
            Ok(DeviceSpec::Label(label.to_string()))
        } else if s.starts_with("/dev/") && s.len() > "/dev/".len() {
            Ok(DeviceSpec::Path(PathBuf::from(s)))
        } else {
            Err(format!("device {s:?} is not a /dev path, UUID=… or LABEL=…"))
        }
    }
}

impl fmt::Display for DeviceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceSpec::Path(p) => write!(f, "{}", p.display()),
            DeviceSpec::Uuid(u) => write!(f, "UUID={u}"),
            DeviceSpec::Label(l) => write!(f, "LABEL={l}"),
        }
    }
}

impl Serialize for DeviceSpec {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for DeviceSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Permission bits, written in TOML as an octal string ("0755").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Mode(pub u32);

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04o}", self.0)
    }
}

impl FromStr for Mode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match u32::from_str_radix(s, 8) {
            Ok(bits) if !s.is_empty() && bits <= 0o7777 => Ok(Mode(bits)),
            _ => Err(format!("mode {s:?} is not an octal mode such as \"0755\"")),
        }
    }
}

impl Serialize for Mode {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Mode {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// Section defaults come from the embedded policy, so that a partial config means "the Citadel layout, except".
mod defaults {
    use super::*;

    pub fn storage() -> StoragePolicy {
        Policy::embedded().storage
    }
    pub fn models_storage() -> Storage {
        Policy::embedded().storage.models
    }
    pub fn backup_storage() -> Storage {
        Policy::embedded().storage.backup
    }
    pub fn app() -> AppPolicy {
        Policy::embedded().app
    }
    pub fn models() -> ModelsPolicy {
        Policy::embedded().models
    }
    pub fn directories() -> Ownership {
        Policy::embedded().directories
    }
    pub fn tools() -> Vec<ToolPolicy> {
        Policy::embedded().tools
    }
    pub fn scripts() -> ScriptsPolicy {
        Policy::embedded().scripts
    }
    pub fn backup_job() -> BackupJobPolicy {
        Policy::embedded().backup_job
    }
    pub fn trim() -> TrimPolicy {
        Policy::embedded().trim
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_policy_is_the_citadel_layout() {
        let p = Policy::embedded();
        assert_eq!(p.storage.models.mount_point, PathBuf::from("/mnt/citadel-models"));
        assert_eq!(p.storage.models.device, DeviceSpec::Path("/dev/nvme1n1".into()));
        assert_eq!(p.storage.backup.scheduler, "mq-deadline");
        assert_eq!(p.models.names.len(), 7);
        assert_eq!(
            p.tools.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(),
            ["iostat", "smartctl", "tree", "rsync"]
        );
        assert_eq!(p.directories.mode, Mode(0o755));
        assert_eq!(
            p.backup_script_path(),
            PathBuf::from("/opt/citadel/scripts/citadel-backup.sh")
        );
    }

    #[test]
    fn required_dirs_know_their_storage() {
        let p = Policy::embedded();
        let dirs = p.required_dirs();
        let active = dirs
            .iter()
            .find(|d| d.path == Path::new("/mnt/citadel-models/active"))
            .unwrap();
        assert_eq!(
            active.storage.unwrap().mount_point,
            PathBuf::from("/mnt/citadel-models")
        );
        let logs = dirs.iter().find(|d| d.path == Path::new("/opt/citadel/logs")).unwrap();
        assert!(logs.storage.is_none());
        assert_eq!(dirs.len(), 2 + 4 + 4 + 1 + 5);
    }

    #[test]
    fn device_specs_parse() {
        assert_eq!(
            "UUID=ABCD-1".parse::<DeviceSpec>().unwrap(),
            DeviceSpec::Uuid("abcd-1".into())
        );
        assert_eq!(
            "LABEL=models".parse::<DeviceSpec>().unwrap(),
            DeviceSpec::Label("models".into())
        );
        assert!("sda".parse::<DeviceSpec>().is_err());
        assert!("/dev/".parse::<DeviceSpec>().is_err());
    }
}
