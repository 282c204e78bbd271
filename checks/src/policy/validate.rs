//! The values of a policy that parses but cannot be meant (SPEC §5): relative paths, names that are not one
//! path component, unknown schedulers, a schedule cron would not run, a backup script that is not one of the
//! scripts, duplicates, modes that contradict the checks.
//!
//! Name rules, decided once for every name that becomes a path component:
//! - a *safe component* (model names, subdirectory names, the trim timer) is 1 to 255 bytes (NAME_MAX), is not
//!   `.` or `..`, and has no `/`, no NUL or other control character (a newline would split a cron line or a
//!   report), no leading or trailing white space, and no leading `-` (rsync, tree or a script given the name as
//!   an argument would read it as an option);
//! - a *portable name* (script names, tool names, package names) is a safe component made only of
//!   `A-Z a-z 0-9 . _ + -`: script names go into cron command lines, where a space or `%` changes the command;
//! - an *account name* (owners, groups, the cron user) is `A-Z a-z 0-9 . _ -` with an optional trailing `$`,
//!   not starting with `-`, or a numeric id.
//!
//! Whether a schedule fires daily is the `backup_cron` check's business, not the validator's: a policy may ask
//! for a weekly job and accept that check's failure.

use std::collections::HashSet;
use std::path::{Component, Path};

use super::document::KeyPath;
use super::{Policy, Storage};
use crate::cron::schedule::Schedule;
use crate::shipped;

/// The block-layer schedulers of the multi-queue kernel (`/sys/block/DEV/queue/scheduler`).
pub const SCHEDULERS: [&str; 4] = ["none", "mq-deadline", "kyber", "bfq"];

/// One value the validator refuses: the keys it is about (the first one is the key named, the others are
/// where else to point when the file does not mention the first), and a one-line message that names the key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    pub paths: Vec<KeyPath>,
    pub message: String,
}

/// Why `name` is not a safe path component (see the module documentation), or `None` if it is one.
pub fn component_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("it is empty")
    } else if name == "." || name == ".." {
        Some("`.` and `..` name a directory itself or its parent")
    } else if name.contains('/') {
        Some("it contains `/`")
    } else if name.chars().any(char::is_control) {
        Some("it contains a control character")
    } else if name.len() > 255 {
        Some("it is longer than 255 bytes (NAME_MAX)")
    } else if name.starts_with(char::is_whitespace) || name.ends_with(char::is_whitespace) {
        Some("it begins or ends with white space")
    } else if name.starts_with('-') {
        Some("it starts with `-`, which commands would read as an option")
    } else {
        None
    }
}

/// Why `name` is not a portable name (a safe component of `A-Z a-z 0-9 . _ + -`), or `None`.
pub fn portable_name_problem(name: &str) -> Option<&'static str> {
    component_problem(name).or_else(|| {
        (!name.chars().all(|c| c.is_ascii_alphanumeric() || "._+-".contains(c)))
            .then_some("it has characters other than A-Z a-z 0-9 . _ + -")
    })
}

fn account_name_problem(name: &str) -> Option<&'static str> {
    let body = name.strip_suffix('$').unwrap_or(name);
    if body.is_empty() {
        Some("it is empty")
    } else if body.starts_with('-') {
        Some("it starts with `-`")
    } else if !body.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c)) {
        Some("it has characters other than A-Z a-z 0-9 . _ -")
    } else {
        None
    }
}

pub(crate) fn validate(policy: &Policy) -> Vec<Issue> {
    let mut v = Validator::default();
    for (role, storage) in policy.storages() {
        v.storage(KeyPath::keys(&["storage", role.as_str()]), storage);
    }
    v.distinct_mount_points(policy);

    let app = KeyPath::keys(&["app"]);
    v.absolute_path(app.clone().key("dir"), &policy.app.dir);
    v.names(
        app.clone().key("subdirectories"),
        &policy.app.subdirectories,
        component_problem,
    );
    v.absolute_path(app.key("models_link"), &policy.app.models_link);

    let models = KeyPath::keys(&["models"]);
    v.names(models.clone().key("names"), &policy.models.names, component_problem);
    if policy.models.min_mode.0 & !0o777 != 0 {
        v.issue(
            models.key("min_mode"),
            format!(
                "`models.min_mode` = \"{}\" has setuid, setgid or sticky bits; it lists permission bits a model \
                 directory must have (0555: readable and searchable by everyone)",
                policy.models.min_mode
            ),
        );
    }

    let dirs = KeyPath::keys(&["directories"]);
    v.account(dirs.clone().key("owner"), &policy.directories.owner);
    v.account(dirs.key("group"), &policy.directories.group);

    let tool_names: Vec<String> = policy.tools.iter().map(|t| t.name.clone()).collect();
    for (i, tool) in policy.tools.iter().enumerate() {
        let at = KeyPath::keys(&["tools"]).index(i);
        v.name(at.clone().key("name"), &tool.name, portable_name_problem);
        v.name(at.key("package"), &tool.package, portable_name_problem);
    }
    v.duplicates(&tool_names, |i| KeyPath::keys(&["tools"]).index(i).key("name"));

    v.scripts(policy);
    v.backup_job(policy);

    let timer = &policy.trim.timer;
    let at = KeyPath::keys(&["trim", "timer"]);
    v.name(at.clone(), timer, portable_name_problem);
    if !timer.ends_with(".timer") || timer.len() == ".timer".len() {
        v.issue(
            at,
            format!("`trim.timer` = {timer:?} is not a systemd timer unit name (NAME.timer)"),
        );
    }
    v.issues
}

#[derive(Default)]
struct Validator {
    issues: Vec<Issue>,
}

impl Validator {
    fn issue(&mut self, path: KeyPath, message: String) {
        self.issues.push(Issue {
            paths: vec![path],
            message,
        });
    }

    fn storage(&mut self, at: KeyPath, storage: &Storage) {
        self.absolute_path(at.clone().key("mount_point"), &storage.mount_point);
        if let super::DeviceSpec::Path(device) = &storage.device {
            self.absolute_path(at.clone().key("device"), device);
        }
        if storage.fs_type.is_empty() || storage.fs_type.contains(|c: char| c.is_whitespace() || c == ',') {
            self.issue(
                at.clone().key("fs_type"),
                format!(
                    "`{at}.fs_type` = {:?} is not a file system type such as \"ext4\"",
                    storage.fs_type
                ),
            );
        }
        for (i, option) in storage.options.iter().enumerate() {
            if option.is_empty() || option.contains(|c: char| c.is_whitespace() || c == ',') {
                self.issue(
                    at.clone().key("options").index(i),
                    format!("`{at}.options[{i}]` = {option:?} is not one mount option (no commas or spaces)"),
                );
            }
        }
        if !SCHEDULERS.contains(&storage.scheduler.as_str()) {
            self.issue(
                at.clone().key("scheduler"),
                format!(
                    "`{at}.scheduler` = {:?} is not a known I/O scheduler: one of {}",
                    storage.scheduler,
                    SCHEDULERS.join(", ")
                ),
            );
        }
        self.names(at.key("subdirectories"), &storage.subdirectories, component_problem);
    }

    /// Two storages on one mount point, or one inside the other, would put the backups on the models disk.
    fn distinct_mount_points(&mut self, policy: &Policy) {
        let models = &policy.storage.models.mount_point;
        let backup = &policy.storage.backup.mount_point;
        if models.starts_with(backup) || backup.starts_with(models) {
            self.issues.push(Issue {
                paths: vec![
                    KeyPath::keys(&["storage", "backup", "mount_point"]),
                    KeyPath::keys(&["storage", "models", "mount_point"]),
                ],
                message: format!(
                    "`storage.backup.mount_point` = {:?} and `storage.models.mount_point` = {:?} must be two \
                     separate mount points, neither inside the other",
                    backup.display().to_string(),
                    models.display().to_string()
                ),
            });
        }
    }

    fn scripts(&mut self, policy: &Policy) {
        let at = KeyPath::keys(&["scripts"]);
        let scripts = &policy.scripts;
        self.absolute_path(at.clone().key("dir"), &scripts.dir);
        self.names(at.clone().key("names"), &scripts.names, portable_name_problem);
        if scripts.check_content {
            for (i, name) in scripts.names.iter().enumerate() {
                if shipped::shipped_script(name).is_none() {
                    self.issues.push(Issue {
                        paths: vec![at.clone().key("names").index(i), at.clone().key("check_content")],
                        message: format!(
                            "`scripts.names[{i}]` = {name:?} is not a script citadel-check ships ({}), so its \
                             content cannot be checked; set `scripts.check_content = false` or remove it",
                            shipped::SHIPPED_SCRIPTS
                                .iter()
                                .map(|(n, _)| *n)
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    });
                }
            }
        }
        self.account(at.clone().key("owner"), &scripts.owner);
        self.account(at.clone().key("group"), &scripts.group);
        let mode = scripts.mode.0;
        let problem = if mode & 0o100 == 0 {
            Some("is not executable by its owner")
        } else if mode & 0o022 != 0 {
            Some("is writable by group or others, which the `scripts` check refuses")
        } else if mode & 0o6000 != 0 {
            Some("is setuid or setgid, which no shell script should be")
        } else {
            None
        };
        if let Some(problem) = problem {
            self.issue(
                at.key("mode"),
                format!("`scripts.mode` = \"{}\" {problem}", scripts.mode),
            );
        }
    }

    fn backup_job(&mut self, policy: &Policy) {
        let at = KeyPath::keys(&["backup_job"]);
        let job = &policy.backup_job;
        if let Err(why) = Schedule::parse(&job.schedule) {
            self.issue(
                at.clone().key("schedule"),
                format!(
                    "`backup_job.schedule` = {:?} is not a cron schedule: {why}",
                    job.schedule
                ),
            );
        }
        self.absolute_path(at.clone().key("cron_file"), &job.cron_file);
        if !policy.scripts.names.contains(&job.script) {
            self.issues.push(Issue {
                paths: vec![at.clone().key("script"), KeyPath::keys(&["scripts", "names"])],
                message: format!(
                    "`backup_job.script` = {:?} is not one of `scripts.names` ({})",
                    job.script,
                    policy.scripts.names.join(", ")
                ),
            });
        }
        self.account(at.key("user"), &job.user);
    }

    /// An absolute path other than `/`, without `.` or `..` components (checks compare paths as written).
    fn absolute_path(&mut self, at: KeyPath, path: &Path) {
        let text = path.to_string_lossy();
        let problem = if !path.is_absolute() {
            Some("is not an absolute path")
        } else if text.split('/').any(|c| c == "." || c == "..") {
            Some("has `.` or `..` components; write the path it means")
        } else if path.components().all(|c| c == Component::RootDir) {
            Some("is `/` itself")
        } else if text.chars().any(char::is_control) {
            Some("contains a control character")
        } else {
            None
        };
        if let Some(problem) = problem {
            self.issue(at.clone(), format!("`{at}` = {text:?} {problem}"));
        }
    }

    fn name(&mut self, at: KeyPath, name: &str, rule: fn(&str) -> Option<&'static str>) {
        if let Some(problem) = rule(name) {
            self.issue(
                at.clone(),
                format!("`{at}` = {name:?} is not a single safe path component: {problem}"),
            );
        }
    }

    fn names(&mut self, at: KeyPath, names: &[String], rule: fn(&str) -> Option<&'static str>) {
        for (i, name) in names.iter().enumerate() {
            self.name(at.clone().index(i), name, rule);
        }
        self.duplicates(names, |i| at.clone().index(i));
    }

    fn duplicates(&mut self, names: &[String], path_of: impl Fn(usize) -> KeyPath) {
        let mut seen = HashSet::new();
        for (i, name) in names.iter().enumerate() {
            if !seen.insert(name.as_str()) {
                let at = path_of(i);
                self.issue(at.clone(), format!("`{at}` = {name:?} is given twice"));
            }
        }
    }

    fn account(&mut self, at: KeyPath, name: &str) {
        if let Some(problem) = account_name_problem(name) {
            self.issue(
                at.clone(),
                format!("`{at}` = {name:?} is not a user or group name: {problem}"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_components() {
        for ok in ["mixtral-8x7b", "openchat-3.5", "a", "Yi 34B", "é"] {
            assert_eq!(component_problem(ok), None, "{ok}");
        }
        for bad in [
            "",
            ".",
            "..",
            "../x",
            "a/b",
            "a\0b",
            "a\nb",
            "-rf",
            " x",
            "x ",
            &"a".repeat(256),
        ] {
            assert!(component_problem(bad).is_some(), "{bad:?}");
        }
        assert_eq!(portable_name_problem("citadel-backup.sh"), None);
        assert_eq!(portable_name_problem("g++"), None);
        assert!(portable_name_problem("back up.sh").is_some());
        assert!(portable_name_problem("x%y").is_some());
    }

    #[test]
    fn account_names() {
        for ok in ["root", "_apt", "www-data", "user.name", "machine$", "1000"] {
            assert_eq!(account_name_problem(ok), None, "{ok}");
        }
        for bad in ["", "$", "-x", "a:b", "a b"] {
            assert!(account_name_problem(bad).is_some(), "{bad:?}");
        }
    }

    #[test]
    fn the_embedded_policy_is_valid() {
        assert_eq!(validate(&Policy::embedded()), vec![]);
    }
}
