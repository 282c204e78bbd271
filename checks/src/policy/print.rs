//! `--print-policy`: the effective policy as a commented TOML file a user can start a config from.
//!
//! Written by hand rather than with `toml::to_string` so that the comments explaining each key survive; the
//! embedded default policy file is exactly `Policy::embedded().to_toml()` (tested), so the two never drift.

use std::fmt::Write;
use std::path::Path;

use super::{Policy, Storage};

impl Policy {
    /// The policy as TOML. Loading the output gives back an equal policy.
    pub fn to_toml(&self) -> String {
        let mut out = String::new();
        let w = &mut out;
        line(w, "# citadel-check policy: the Citadel storage layout.");
        line(w, "#");
        line(
            w,
            "# Start your own from `citadel-check --print-policy > /etc/citadel/citadel-check.toml`. Every section may be",
        );
        line(
            w,
            "# left out (it then takes the embedded default); a section that is given must be given whole. Unknown keys",
        );
        line(
            w,
            "# are an error. Paths are absolute; names (models, subdirectories, scripts) are single path components.",
        );
        line(w, "# Modes are octal strings.");
        line(w, "");
        if self.tools.is_empty() {
            // An empty array of tables has no [[tools]] to write; a top-level key must precede every table.
            line(w, "# No tools are required.");
            key(w, "tools", "[]");
            line(w, "");
        }
        line(w, "# Fast NVMe disk holding the models.");
        storage(w, "models", &self.storage.models);
        line(w, "");
        line(w, "# Large HDD holding the backups.");
        storage(w, "backup", &self.storage.backup);
        line(w, "");

        line(w, "[app]");
        key(w, "dir", &path(&self.app.dir));
        key(w, "subdirectories", &strings(&self.app.subdirectories));
        line(w, "# A symlink to <storage.models.mount_point>/active.");
        key(w, "models_link", &path(&self.app.models_link));
        line(w, "");

        line(w, "[models]");
        line(
            w,
            "# Each one lives in <storage.models.mount_point>/active/<name> and is linked from <app.dir>/model-links/<name>.",
        );
        key(w, "names", &strings(&self.models.names));
        line(
            w,
            "# Permission bits every model directory must have (0555: readable and searchable by everyone).",
        );
        key(w, "min_mode", &string(&self.models.min_mode.to_string()));
        line(w, "");

        line(
            w,
            "# Every directory of the layout (storage mount points, their subdirectories, the app directory and its own).",
        );
        line(w, "[directories]");
        key(w, "owner", &string(&self.directories.owner));
        key(w, "group", &string(&self.directories.group));
        key(w, "mode", &string(&self.directories.mode.to_string()));

        line(w, "");
        line(
            w,
            "# Tools that must be executable in root's secure PATH, and the package that installs each.",
        );
        for tool in &self.tools {
            line(w, "[[tools]]");
            key(w, "name", &string(&tool.name));
            key(w, "package", &string(&tool.package));
            line(w, "");
        }

        line(w, "[scripts]");
        key(w, "dir", &path(&self.scripts.dir));
        key(w, "names", &strings(&self.scripts.names));
        line(
            w,
            "# Require each script to be byte-identical to the version this citadel-check ships.",
        );
        key(w, "check_content", &self.scripts.check_content.to_string());
        key(w, "owner", &string(&self.scripts.owner));
        key(w, "group", &string(&self.scripts.group));
        key(w, "mode", &string(&self.scripts.mode.to_string()));
        line(w, "");

        line(w, "[backup_job]");
        line(
            w,
            "# Five-field cron schedule (or @daily and friends); the backup_cron check wants it to fire at least daily.",
        );
        key(w, "schedule", &string(&self.backup_job.schedule));
        key(w, "cron_file", &path(&self.backup_job.cron_file));
        line(w, "# One of [scripts].names; the job runs <scripts.dir>/<script>.");
        key(w, "script", &string(&self.backup_job.script));
        key(w, "user", &string(&self.backup_job.user));
        line(w, "");

        line(w, "[trim]");
        key(w, "timer", &string(&self.trim.timer));
        out
    }
}

fn storage(w: &mut String, role: &str, s: &Storage) {
    line(w, &format!("[storage.{role}]"));
    key(w, "mount_point", &path(&s.mount_point));
    line(w, "# A /dev path, UUID=..., LABEL=... or a /dev/disk/by-* link.");
    key(w, "device", &string(&s.device.to_string()));
    key(w, "fs_type", &string(&s.fs_type));
    line(
        w,
        "# Options the live mount and its /etc/fstab entry must have (filesystem defaults understood).",
    );
    key(w, "options", &strings(&s.options));
    line(
        w,
        "# I/O scheduler of the whole disk behind the mount: none, mq-deadline, kyber or bfq.",
    );
    key(w, "scheduler", &string(&s.scheduler));
    key(w, "subdirectories", &strings(&s.subdirectories));
}

fn line(w: &mut String, text: &str) {
    w.push_str(text);
    w.push('\n');
}

fn key(w: &mut String, name: &str, value: &str) {
    let _ = writeln!(w, "{name} = {value}");
}

/// A TOML string, quoted and escaped by the toml crate.
fn string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn path(p: &Path) -> String {
    string(&p.to_string_lossy())
}

fn strings(items: &[String]) -> String {
    format!("[{}]", items.iter().map(|s| string(s)).collect::<Vec<_>>().join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{DeviceSpec, Mode, ToolPolicy, EMBEDDED_POLICY};

    #[test]
    fn the_embedded_policy_file_is_its_own_printout() {
        // So the shipped file and --print-policy never drift (comments included).
        assert_eq!(Policy::embedded().to_toml(), EMBEDDED_POLICY);
    }

    #[test]
    fn the_embedded_policy_round_trips() {
        let p = Policy::embedded();
        assert_eq!(Policy::load(Path::new("printed"), &p.to_toml()).unwrap(), p);
    }

    #[test]
    fn a_custom_policy_round_trips() {
        let mut p = Policy::embedded();
        p.storage.models.device = DeviceSpec::Uuid("3f6c2b1e-8d4a-4c7e-b5f2-1a9e0d7c6b54".into());
        p.storage.backup.device = DeviceSpec::Label("backup \"disk\" \\ é".into());
        p.storage.backup.options = vec![];
        p.models.names = vec!["Llama 3 \"instruct\"".into(), "qwen2.5-7b".into()];
        p.models.min_mode = Mode(0o500);
        p.tools.push(ToolPolicy {
            name: "g++".into(),
            package: "g++".into(),
        });
        p.scripts.check_content = false;
        p.scripts.names.push("site-hook.sh".into());
        p.backup_job.schedule = "@daily".into();
        p.app.dir = "/srv/citadel app".into();
        let text = p.to_toml();
        assert_eq!(Policy::load(Path::new("printed"), &text).unwrap(), p, "{text}");
    }

    #[test]
    fn no_tools_round_trips() {
        let mut p = Policy::embedded();
        p.tools.clear();
        let text = p.to_toml();
        assert_eq!(Policy::load(Path::new("printed"), &text).unwrap(), p, "{text}");
    }
}
