//! The primitive actions a fixer plans, and the plan itself.
//!
//! An action says what the system should look like afterwards, not how to get there: applying one whose effect
//! already holds changes nothing. Each is applied by one function of `apply.rs`, where the safety rules of
//! SPEC §4 live once for all fixers.

use std::path::{Path, PathBuf};

use citadel_checks::SystemRoot;
use serde::Serialize;

/// The package manager that installs missing tools.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PackageManager {
    Apt,
    Dnf,
}

/// Extra checks a file's new content must pass before it replaces the old one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Validation {
    None,
    /// SPEC §4 rule 4: parsed back, and `findmnt --verify --tab-file` where present (on `/` only: it looks at
    /// the running system's devices and mount points).
    Fstab,
}

/// One primitive change. Paths are system paths (`/etc/fstab`), applied under the `SystemRoot`.
///
/// File-level actions (`CreateDir`, `SetOwnerMode`, `WriteFile`, `Symlink`, `RemoveSymlink`, the link of
/// `EnableUnit`) apply under
/// any root. Kernel actions (`SysfsWrite`, `Mount`, `Remount`, `UmountMount`, `InstallPackages`, `Run`, the start
/// of `EnableUnit`) run only when the root is `/`; elsewhere they are reported `pending` and nothing runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Action {
    /// A real directory with this owner and mode. An existing directory only gets owner and mode; a symlink in
    /// the way is replaced; anything else in the way is refused.
    CreateDir {
        path: PathBuf,
        uid: u32,
        gid: u32,
        mode: u32,
    },
    /// Owner and/or mode of an existing file or directory (never through a symlink).
    SetOwnerMode {
        path: PathBuf,
        uid: Option<u32>,
        gid: Option<u32>,
        mode: Option<u32>,
    },
    /// A regular file with exactly this content, owner and mode, written atomically; a changed file's previous
    /// version is kept under `/var/backups/citadel-check/`.
    WriteFile {
        path: PathBuf,
        #[serde(serialize_with = "lossy_text")]
        content: Vec<u8>,
        uid: u32,
        gid: u32,
        mode: u32,
        validation: Validation,
    },
    /// A symlink `path -> target` (target stored verbatim), put in place by renaming a temporary link over the
    /// old one. An empty directory or another symlink in the way is replaced; anything else is refused.
    Symlink { path: PathBuf, target: PathBuf },
    /// No symlink at `path`: the one that points to `target` (verbatim, as planned) is removed. A link holds no
    /// data (SPEC §4 rule 1), so this is the only removal there is. Anything else at `path`, or a link that now
    /// points elsewhere, is refused and left as it is; nothing there is already the effect.
    RemoveSymlink { path: PathBuf, target: PathBuf },
    /// Write `value` to a sysfs attribute of the running kernel (e.g. `/sys/block/sda/queue/scheduler`).
    SysfsWrite { path: PathBuf, value: String },
    /// `mount [-t fs_type] [-o options] [source] target`; with no source, fstab says what to mount.
    Mount {
        target: PathBuf,
        source: Option<String>,
        fs_type: Option<String>,
        options: Vec<String>,
    },
    /// `mount -o remount,OPTIONS target`: for options the kernel changes live.
    Remount { target: PathBuf, options: Vec<String> },
    /// `umount target` then `mount target` from fstab: for options a remount cannot change (ext4 `data=`).
    UmountMount { target: PathBuf },
    /// Enable `unit` the way `systemctl enable` does for `WantedBy=wanted_by`: a link
    /// `/etc/systemd/system/<wanted_by>.wants/<unit> -> unit_file`. With `now`, also start it where systemd runs.
    EnableUnit {
        unit: String,
        wanted_by: String,
        unit_file: PathBuf,
        now: bool,
    },
    /// The packages installed with their files as the package ships them: one that is installed already is
    /// reinstalled, since a tool that is missing or broken may belong to an installed package whose files were
    /// removed or changed. Apt: `apt-get update` first (a fresh host has no package lists, and old lists name
    /// versions the mirrors no longer have), then `apt-get install --reinstall`, which installs what is missing
    /// and reinstalls the rest in one transaction. Dnf has no such mode: `dnf install` then `dnf reinstall`
    /// (dnf refreshes expired metadata itself).
    InstallPackages {
        manager: PackageManager,
        packages: Vec<String>,
    },
    /// Any other command on the running system (`udevadm trigger …`), with the reason it is needed.
    Run { argv: Vec<String>, why: String },
}

impl Action {
    /// The action's name in reports and the audit log (`write_file`).
    pub fn kind(&self) -> &'static str {
        match self {
            Action::CreateDir { .. } => "create_dir",
            Action::SetOwnerMode { .. } => "set_owner_mode",
            Action::WriteFile { .. } => "write_file",
            Action::Symlink { .. } => "symlink",
            Action::RemoveSymlink { .. } => "remove_symlink",
            Action::SysfsWrite { .. } => "sysfs_write",
            Action::Mount { .. } => "mount",
            Action::Remount { .. } => "remount",
            Action::UmountMount { .. } => "umount_mount",
            Action::EnableUnit { .. } => "enable_unit",
            Action::InstallPackages { .. } => "install_packages",
            Action::Run { .. } => "run",
        }
    }

    /// What the action changes: a path, a unit, or the packages.
    pub fn target(&self) -> String {
        match self {
            Action::CreateDir { path, .. }
            | Action::SetOwnerMode { path, .. }
            | Action::WriteFile { path, .. }
            | Action::Symlink { path, .. }
            | Action::RemoveSymlink { path, .. }
            | Action::SysfsWrite { path, .. } => display(path),
            Action::Mount { target, .. } | Action::Remount { target, .. } | Action::UmountMount { target } => {
                display(target)
            }
            Action::EnableUnit { unit, .. } => unit.clone(),
            Action::InstallPackages { packages, .. } => packages.join(" "),
            Action::Run { argv, .. } => argv.first().cloned().unwrap_or_default(),
        }
    }

    /// One line saying what the action does, for the plan, the report and the audit log.
    pub fn summary(&self) -> String {
        match self {
            Action::CreateDir { path, uid, gid, mode } => {
                format!("create directory {} ({uid}:{gid}, mode {mode:04o})", display(path))
            }
            Action::SetOwnerMode { path, uid, gid, mode } => {
                let mut parts = Vec::new();
                if uid.is_some() || gid.is_some() {
                    let id = |v: &Option<u32>| v.map_or("-".to_string(), |v| v.to_string());
                    parts.push(format!("owner {}:{}", id(uid), id(gid)));
                }
                if let Some(mode) = mode {
                    parts.push(format!("mode {mode:04o}"));
                }
                format!("set {} of {}", parts.join(", "), display(path))
            }
            Action::WriteFile {
                path,
                content,
                uid,
                gid,
                mode,
                ..
            } => format!(
                "write {} ({} bytes, {uid}:{gid}, mode {mode:04o})",
                display(path),
                content.len()
            ),
            Action::Symlink { path, target } => format!("link {} -> {}", display(path), display(target)),
            Action::RemoveSymlink { path, target } => {
                format!("remove the symlink {} -> {}", display(path), display(target))
            }
            Action::SysfsWrite { path, value } => format!("write {value:?} to {}", display(path)),
            Action::Run { why, .. } => format!("run {} ({why})", self.command_line()),
            Action::Mount { .. }
            | Action::Remount { .. }
            | Action::UmountMount { .. }
            | Action::InstallPackages { .. } => {
                format!("run {}", self.command_line())
            }
            Action::EnableUnit {
                unit,
                wanted_by,
                unit_file,
                now,
            } => {
                let start = if *now { " and start it" } else { "" };
                format!(
                    "enable {unit}: link {} -> {}{start}",
                    display(&unit_link_path(unit, wanted_by)),
                    display(unit_file)
                )
            }
        }
    }

    /// The commands this action runs on the running system, in order (empty for file-level actions). For
    /// `EnableUnit` only the start (`now`); its link is a file-level change.
    pub fn commands(&self) -> Vec<Vec<String>> {
        let s = |v: &str| v.to_string();
        match self {
            Action::Mount {
                target,
                source,
                fs_type,
                options,
            } => {
                let mut argv = vec![s("mount")];
                if let Some(fs_type) = fs_type {
                    argv.extend([s("-t"), fs_type.clone()]);
                }
                if !options.is_empty() {
                    argv.extend([s("-o"), options.join(",")]);
                }
                argv.extend(source.iter().cloned());
                argv.push(display(target));
                vec![argv]
            }
            Action::Remount { target, options } => {
                let opts = std::iter::once("remount".to_string()).chain(options.iter().cloned());
                vec![vec![
                    s("mount"),
                    s("-o"),
                    opts.collect::<Vec<_>>().join(","),
                    display(target),
                ]]
            }
            Action::UmountMount { target } => {
                vec![vec![s("umount"), display(target)], vec![s("mount"), display(target)]]
            }
            Action::InstallPackages { manager, packages } => {
                let with_packages = |mut argv: Vec<String>| {
                    argv.extend(packages.iter().cloned());
                    argv
                };
                match manager {
                    PackageManager::Apt => {
                        let apt = |args: &[&str]| {
                            let mut argv = vec![s("env"), s("DEBIAN_FRONTEND=noninteractive"), s("apt-get")];
                            argv.extend(args.iter().map(|a| s(a)));
                            argv
                        };
                        vec![
                            apt(&["update"]),
                            with_packages(apt(&["install", "-y", "--no-install-recommends", "--reinstall"])),
                        ]
                    }
                    PackageManager::Dnf => vec![
                        with_packages(vec![s("dnf"), s("install"), s("-y")]),
                        with_packages(vec![s("dnf"), s("reinstall"), s("-y")]),
                    ],
                }
            }
            Action::Run { argv, .. } => vec![argv.clone()],
            Action::EnableUnit { unit, now: true, .. } => vec![
                vec![s("systemctl"), s("daemon-reload")],
                vec![s("systemctl"), s("start"), unit.clone()],
            ],
            _ => Vec::new(),
        }
    }

    /// `commands()` as one shell-like line (`umount /m; mount /m`), for summaries and messages.
    pub fn command_line(&self) -> String {
        self.commands()
            .iter()
            .map(|argv| argv.join(" "))
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// True for actions on the running kernel, which never run under a root other than `/`.
    pub fn is_kernel_action(&self) -> bool {
        matches!(
            self,
            Action::SysfsWrite { .. }
                | Action::Mount { .. }
                | Action::Remount { .. }
                | Action::UmountMount { .. }
                | Action::InstallPackages { .. }
                | Action::Run { .. }
        )
    }
}

/// `/etc/systemd/system/<wanted_by>.wants/<unit>`: where `systemctl enable` puts the link.
pub fn unit_link_path(unit: &str, wanted_by: &str) -> PathBuf {
    Path::new("/etc/systemd/system")
        .join(format!("{wanted_by}.wants"))
        .join(unit)
}

/// Something a fixer will not do, why, and what the operator can do by hand.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Refusal {
    /// The path, device or unit concerned.
    pub subject: String,
    pub why: String,
    pub by_hand: String,
}

impl Refusal {
    pub fn new(subject: impl Into<String>, why: impl Into<String>, by_hand: impl Into<String>) -> Self {
        Refusal {
            subject: subject.into(),
            why: why.into(),
            by_hand: by_hand.into(),
        }
    }
}

/// What one fixer would do: the actions in the order they apply, and what it refuses to do. A plan with neither
/// is empty: the fix is `not_needed`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub actions: Vec<Action>,
    pub refusals: Vec<Refusal>,
}

impl Plan {
    pub fn new() -> Plan {
        Plan::default()
    }

    pub fn push(&mut self, action: Action) {
        self.actions.push(action);
    }

    pub fn refuse(&mut self, subject: impl Into<String>, why: impl Into<String>, by_hand: impl Into<String>) {
        self.refusals.push(Refusal::new(subject, why, by_hand));
    }

    pub fn is_empty(&self) -> bool {
        self.actions.is_empty() && self.refusals.is_empty()
    }

    pub fn extend(&mut self, other: Plan) {
        self.actions.extend(other.actions);
        self.refusals.extend(other.refusals);
    }

    /// The actions as reports show them, each file write with its diff from the content under `root` now.
    pub fn reports(&self, root: &SystemRoot) -> Vec<ActionReport> {
        self.actions
            .iter()
            .map(|action| ActionReport {
                kind: action.kind().to_string(),
                target: action.target(),
                summary: action.summary(),
                diff: crate::diff::action_diff(action, root),
            })
            .collect()
    }
}

/// An action as the JSON report shows it (SPEC §6: `actions [{kind, target, summary, diff}]`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActionReport {
    pub kind: String,
    pub target: String,
    pub summary: String,
    /// For a file write: the unified diff from the current content (`diff::file_diff`).
    pub diff: Option<String>,
}

fn display(path: &Path) -> String {
    path.display().to_string()
}

fn lossy_text<S: serde::Serializer>(content: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&String::from_utf8_lossy(content))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn kinds_are_the_serialized_tags() {
        let actions = [
            Action::CreateDir {
                path: "/d".into(),
                uid: 0,
                gid: 0,
                mode: 0o755,
            },
            Action::Symlink {
                path: "/l".into(),
                target: "/t".into(),
            },
            Action::UmountMount { target: "/m".into() },
            Action::RemoveSymlink {
                path: "/l".into(),
                target: "/gone".into(),
            },
            Action::InstallPackages {
                manager: PackageManager::Apt,
                packages: strings(&["tree"]),
            },
        ];
        for action in actions {
            let json = serde_json::to_value(&action).unwrap();
            assert_eq!(json["kind"], action.kind());
        }
    }

    #[test]
    fn summaries_say_what_and_where() {
        let write = Action::WriteFile {
            path: "/etc/fstab".into(),
            content: b"x\n".to_vec(),
            uid: 0,
            gid: 0,
            mode: 0o644,
            validation: Validation::Fstab,
        };
        assert_eq!(write.summary(), "write /etc/fstab (2 bytes, 0:0, mode 0644)");
        assert_eq!(write.target(), "/etc/fstab");
        let remount = Action::Remount {
            target: "/mnt/m".into(),
            options: strings(&["noatime", "nodiratime"]),
        };
        assert_eq!(remount.summary(), "run mount -o remount,noatime,nodiratime /mnt/m");
        let enable = Action::EnableUnit {
            unit: "fstrim.timer".into(),
            wanted_by: "timers.target".into(),
            unit_file: "/lib/systemd/system/fstrim.timer".into(),
            now: true,
        };
        assert_eq!(
            enable.summary(),
            "enable fstrim.timer: link /etc/systemd/system/timers.target.wants/fstrim.timer -> \
             /lib/systemd/system/fstrim.timer and start it"
        );
        let owner = Action::SetOwnerMode {
            path: "/x".into(),
            uid: None,
            gid: Some(5),
            mode: Some(0o750),
        };
        assert_eq!(owner.summary(), "set owner -:5, mode 0750 of /x");
    }

    #[test]
    fn mount_commands_are_built_from_what_is_given() {
        let from_fstab = Action::Mount {
            target: "/mnt/m".into(),
            source: None,
            fs_type: None,
            options: vec![],
        };
        assert_eq!(from_fstab.commands(), vec![strings(&["mount", "/mnt/m"])]);
        let explicit = Action::Mount {
            target: "/mnt/m".into(),
            source: Some("/dev/sda".into()),
            fs_type: Some("ext4".into()),
            options: strings(&["noatime"]),
        };
        assert_eq!(
            explicit.commands(),
            vec![strings(&["mount", "-t", "ext4", "-o", "noatime", "/dev/sda", "/mnt/m"])]
        );
        assert!(explicit.is_kernel_action());
    }

    #[test]
    fn packages_are_installed_or_reinstalled_after_a_list_update_on_apt() {
        let apt = Action::InstallPackages {
            manager: PackageManager::Apt,
            packages: strings(&["sysstat", "tree"]),
        };
        let env = ["env", "DEBIAN_FRONTEND=noninteractive", "apt-get"];
        assert_eq!(
            apt.commands(),
            vec![
                strings(&[&env[..], &["update"]].concat()),
                strings(
                    &[
                        &env[..],
                        &[
                            "install",
                            "-y",
                            "--no-install-recommends",
                            "--reinstall",
                            "sysstat",
                            "tree"
                        ]
                    ]
                    .concat()
                ),
            ]
        );
        assert!(apt.is_kernel_action());
        let dnf = Action::InstallPackages {
            manager: PackageManager::Dnf,
            packages: strings(&["smartmontools"]),
        };
        assert_eq!(
            dnf.command_line(),
            "dnf install -y smartmontools; dnf reinstall -y smartmontools"
        );
    }

    #[test]
    fn removing_a_symlink_is_a_file_level_action_naming_its_target() {
        let remove = Action::RemoveSymlink {
            path: "/opt/citadel/model-links/llama-2-13b".into(),
            target: "/mnt/citadel-models/active/llama-2-13b".into(),
        };
        assert_eq!(remove.kind(), "remove_symlink");
        assert_eq!(remove.target(), "/opt/citadel/model-links/llama-2-13b");
        assert_eq!(
            remove.summary(),
            "remove the symlink /opt/citadel/model-links/llama-2-13b -> /mnt/citadel-models/active/llama-2-13b"
        );
        assert!(!remove.is_kernel_action());
        assert!(remove.commands().is_empty());
    }

    #[test]
    fn plan_is_empty_only_without_actions_and_refusals() {
        let mut plan = Plan::new();
        assert!(plan.is_empty());
        plan.refuse("/x", "a regular file is in the way", "move it away");
        assert!(!plan.is_empty());
        let json = serde_json::to_value(&plan).unwrap();
        assert_eq!(json["refusals"][0]["by_hand"], "move it away");
    }
}
