//! What mount options mean: whether the options a mount shows, or an fstab entry asks for, satisfy the
//! options a policy lists.
//!
//! Comparing strings is wrong in both places. The kernel shows what differs from the default, in its own
//! spelling (LINUX-FACTS "ext4 in /proc/self/mountinfo"): `defaults` never shows; `relatime` is the default;
//! ext4 never shows barriers on (`barrier=1`), shows `barrier=0` as `nobarrier`, and shows `data=ordered` only
//! when it was asked for. fstab asks in the user's spelling, later options overriding earlier ones, and the
//! atime flags combine as the kernel combines them (`strictatime` beats `noatime` beats `relatime`, whatever
//! the order; `atime` only undoes an earlier `noatime`; verified with tmpfs mounts).
//!
//! So every option is read as a statement about a *setting* (atime behaviour, barriers, data mode, …), from a
//! table per file system type (VFS options for all, ext4's own for ext4/ext3). An option the tables do not
//! know is compared literally. A policy option is a requirement on a setting, met when the *effective* value
//! (defaults, then the options in order) matches; `nodiratime` is also met by `noatime`, which implies it.

use std::collections::HashMap;

use crate::mountinfo::MountOption;

/// What a group of options controls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Setting {
    Access,
    Atime,
    DirAtime,
    Suid,
    Dev,
    Exec,
    Sync,
    Lazytime,
    /// fstab only: mounted by `mount -a` and at boot. The kernel never sees it.
    Auto,
    Barrier,
    DataMode,
}

impl Setting {
    /// Settings that only mount(8) and systemd read; they are invisible in mountinfo.
    fn is_userspace(self) -> bool {
        self == Setting::Auto
    }
}

/// One row of a table: the option as written (`name`, `name=value`, or `name=*` for any value), the setting it
/// speaks about, and the value it states, in a canonical spelling (`*` stands for the option's own value).
struct Rule {
    option: &'static str,
    setting: Setting,
    states: &'static str,
}

const fn rule(option: &'static str, setting: Setting, states: &'static str) -> Rule {
    Rule {
        option,
        setting,
        states,
    }
}

/// The VFS options every file system takes (mount(8) "FILESYSTEM-INDEPENDENT MOUNT OPTIONS").
const VFS_RULES: &[Rule] = &[
    rule("ro", Setting::Access, "ro"),
    rule("rw", Setting::Access, "rw"),
    rule("noatime", Setting::Atime, "noatime"),
    rule("atime", Setting::Atime, "atime"),
    rule("relatime", Setting::Atime, "relatime"),
    rule("norelatime", Setting::Atime, "norelatime"),
    rule("strictatime", Setting::Atime, "strictatime"),
    rule("nostrictatime", Setting::Atime, "nostrictatime"),
    rule("nodiratime", Setting::DirAtime, "nodiratime"),
    rule("diratime", Setting::DirAtime, "diratime"),
    rule("nosuid", Setting::Suid, "nosuid"),
    rule("suid", Setting::Suid, "suid"),
    rule("nodev", Setting::Dev, "nodev"),
    rule("dev", Setting::Dev, "dev"),
    rule("noexec", Setting::Exec, "noexec"),
    rule("exec", Setting::Exec, "exec"),
    rule("sync", Setting::Sync, "sync"),
    rule("async", Setting::Sync, "async"),
    rule("lazytime", Setting::Lazytime, "lazytime"),
    rule("nolazytime", Setting::Lazytime, "nolazytime"),
    rule("auto", Setting::Auto, "auto"),
    rule("noauto", Setting::Auto, "noauto"),
];

const VFS_DEFAULTS: &[(Setting, &str)] = &[
    (Setting::Access, "rw"),
    (Setting::Atime, "relatime"),
    (Setting::DirAtime, "diratime"),
    (Setting::Suid, "suid"),
    (Setting::Dev, "dev"),
    (Setting::Exec, "exec"),
    (Setting::Sync, "async"),
    (Setting::Lazytime, "nolazytime"),
    (Setting::Auto, "auto"),
];

/// ext4(5): `barrier` and `barrier=N` (N ≠ 0) turn barriers on, `barrier=0` and `nobarrier` off.
const EXT4_RULES: &[Rule] = &[
    rule("barrier", Setting::Barrier, "barrier=1"),
    rule("barrier=0", Setting::Barrier, "barrier=0"),
    rule("barrier=*", Setting::Barrier, "barrier=1"),
    rule("nobarrier", Setting::Barrier, "barrier=0"),
    rule("data=*", Setting::DataMode, "data=*"),
];

/// Missing `data=` means ordered (unless the superblock's default mount options say otherwise, which
/// `tune2fs -o` can change; not read here).
const EXT4_DEFAULTS: &[(Setting, &str)] = &[(Setting::Barrier, "barrier=1"), (Setting::DataMode, "data=ordered")];

/// Options only mount(8) and systemd read (besides `auto`/`noauto`): never shown by the kernel.
fn is_userspace_only(option: &MountOption) -> bool {
    matches!(
        option.name.as_str(),
        "defaults" | "nofail" | "_netdev" | "user" | "users" | "nouser" | "owner" | "group" | "comment"
    ) || option.name.starts_with("x-")
}

/// The tables that apply to one file system type.
struct Semantics {
    rules: Vec<&'static Rule>,
    defaults: Vec<(Setting, &'static str)>,
}

impl Semantics {
    fn for_fs(fs_type: &str) -> Semantics {
        let mut rules: Vec<&'static Rule> = VFS_RULES.iter().collect();
        let mut defaults = VFS_DEFAULTS.to_vec();
        // ext3 is mounted by the ext4 driver and shows its options the same way.
        if matches!(fs_type, "ext4" | "ext3") {
            rules.extend(EXT4_RULES.iter());
            defaults.extend_from_slice(EXT4_DEFAULTS);
        }
        Semantics { rules, defaults }
    }

    /// The setting an option speaks about and the value it states, or `None` for an option to compare
    /// literally.
    fn meaning(&self, option: &MountOption) -> Option<(Setting, String)> {
        self.rules.iter().find(|r| matches_rule(r.option, option)).map(|r| {
            let value = match (&option.value, r.states.strip_suffix('*')) {
                (Some(v), Some(prefix)) => format!("{prefix}{v}"),
                _ => r.states.to_string(),
            };
            (r.setting, value)
        })
    }

    /// The value each setting ends up with, and the option that set it (`None`: the default).
    fn effective(&self, options: &[MountOption], source: Source) -> HashMap<Setting, (String, Option<String>)> {
        let mut values: HashMap<Setting, (String, Option<String>)> =
            self.defaults.iter().map(|(s, v)| (*s, (v.to_string(), None))).collect();
        let mut atime = AtimeFlags::default();
        for option in options {
            match self.meaning(option) {
                Some((Setting::Atime, state)) => atime.apply(&state, option),
                Some((setting, value)) => {
                    values.insert(setting, (value, Some(option.to_string())));
                }
                None => {}
            }
        }
        values.insert(Setting::Atime, atime.effective(source));
        values
    }
}

fn matches_rule(pattern: &str, option: &MountOption) -> bool {
    match pattern.split_once('=') {
        None => option.name == pattern && option.value.is_none(),
        Some((name, "*")) => option.name == name && option.value.is_some(),
        Some((name, value)) => option.name == name && option.value.as_deref() == Some(value),
    }
}

/// Where options come from: the kernel shows the complete per-mount state; fstab asks for changes from the
/// defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Live,
    Fstab,
}

/// The kernel's atime flags (fs/namespace.c): `noatime` and `strictatime` are flags the options set and
/// clear; `relatime` is what is left when neither is set.
#[derive(Default)]
struct AtimeFlags {
    noatime: Option<String>,
    strict: Option<String>,
    relatime_shown: bool,
}

impl AtimeFlags {
    fn apply(&mut self, state: &str, option: &MountOption) {
        match state {
            "noatime" => self.noatime = Some(option.to_string()),
            "atime" => self.noatime = None,
            "strictatime" => self.strict = Some(option.to_string()),
            "nostrictatime" => self.strict = None,
            "relatime" => self.relatime_shown = true,
            _ => {}
        }
    }

    fn effective(self, source: Source) -> (String, Option<String>) {
        if let Some(opt) = self.strict {
            ("strictatime".into(), Some(opt))
        } else if let Some(opt) = self.noatime {
            ("noatime".into(), Some(opt))
        } else if source == Source::Live && !self.relatime_shown {
            // The kernel prints `relatime` or `noatime` unless strictatime is in effect.
            ("strictatime".into(), None)
        } else {
            ("relatime".into(), self.relatime_shown.then(|| "relatime".to_string()))
        }
    }
}

/// The atime options that contradict an atime requirement when written in fstab.
fn atime_contradicts(wanted: &str, stated: &str) -> bool {
    match wanted {
        "noatime" => matches!(stated, "atime" | "relatime" | "strictatime"),
        "relatime" => matches!(stated, "noatime" | "strictatime"),
        "strictatime" => matches!(stated, "noatime" | "relatime" | "nostrictatime"),
        _ => false,
    }
}

/// A policy option that is not satisfied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unmet {
    /// The policy option, as the policy writes it (`barrier=0`).
    pub wanted: String,
    /// What is there instead, in words (`relatime`, `data=ordered (ext4's default: no data= option)`,
    /// `barrier=1, which contradicts it`).
    pub found: String,
    /// The option that explicitly says otherwise (fstab only).
    pub contradicted_by: Option<String>,
}

/// What one policy option requires.
enum Requirement {
    Setting(Setting, String),
    Literal(MountOption),
}

fn requirements(semantics: &Semantics, policy: &[String]) -> Vec<(String, Requirement)> {
    policy
        .iter()
        .map(|text| MountOption::parse(text))
        .filter(|o| o.name != "defaults" && !o.name.is_empty())
        .map(|o| {
            let requirement = match semantics.meaning(&o) {
                // `atime` and friends only say "not noatime" (or "not strict"): relatime, the default.
                Some((Setting::Atime, state)) if !matches!(state.as_str(), "noatime" | "strictatime") => {
                    Requirement::Setting(Setting::Atime, "relatime".into())
                }
                Some((setting, value)) => Requirement::Setting(setting, value),
                None => Requirement::Literal(o.clone()),
            };
            (o.to_string(), requirement)
        })
        .collect()
}

/// The policy options the live options of a mount (per-mount and per-superblock, as mountinfo shows them) do
/// not satisfy. Options the kernel never shows (`nofail`, `x-…`, `noauto`) are not looked for.
pub fn unmet_live<'a>(fs_type: &str, live: impl IntoIterator<Item = &'a MountOption>, policy: &[String]) -> Vec<Unmet> {
    let semantics = Semantics::for_fs(fs_type);
    let live: Vec<MountOption> = live.into_iter().cloned().collect();
    let effective = semantics.effective(&live, Source::Live);
    let mut unmet = Vec::new();
    for (wanted, requirement) in requirements(&semantics, policy) {
        match requirement {
            Requirement::Setting(setting, _) if setting.is_userspace() => {}
            Requirement::Setting(setting, value) => {
                if let Some(found) = setting_unmet(&effective, setting, &value, Source::Live) {
                    unmet.push(Unmet {
                        wanted,
                        found,
                        contradicted_by: None,
                    });
                }
            }
            Requirement::Literal(option) if is_userspace_only(&option) => {}
            Requirement::Literal(option) => {
                if !live.contains(&option) {
                    let found = match live.iter().rev().find(|o| o.name == option.name) {
                        Some(other) => other.to_string(),
                        None => format!("no {} option shown", option.name),
                    };
                    unmet.push(Unmet {
                        wanted,
                        found,
                        contradicted_by: None,
                    });
                }
            }
        }
    }
    unmet
}

/// The policy options an fstab options field does not satisfy: a setting whose effective value differs, or
/// an option that explicitly says otherwise (even if a later one wins, as `noatime,relatime` does). Extra
/// options are fine; `defaults` means nothing.
pub fn unmet_fstab(fs_type: &str, fstab: &[MountOption], policy: &[String]) -> Vec<Unmet> {
    let semantics = Semantics::for_fs(fs_type);
    let effective = semantics.effective(fstab, Source::Fstab);
    let mut unmet = Vec::new();
    for (wanted, requirement) in requirements(&semantics, policy) {
        match requirement {
            Requirement::Setting(setting, value) => {
                let contradiction = fstab.iter().find(|o| match semantics.meaning(o) {
                    Some((s, _)) if s != setting => false,
                    Some((Setting::Atime, stated)) => atime_contradicts(&value, &stated),
                    Some((_, stated)) => stated != value,
                    None => false,
                });
                if let Some(option) = contradiction {
                    unmet.push(Unmet {
                        wanted,
                        found: format!("{option}, which contradicts it"),
                        contradicted_by: Some(option.to_string()),
                    });
                } else if let Some(found) = setting_unmet(&effective, setting, &value, Source::Fstab) {
                    unmet.push(Unmet {
                        wanted,
                        found,
                        contradicted_by: None,
                    });
                }
            }
            Requirement::Literal(option) => match fstab.iter().rev().find(|o| o.name == option.name) {
                Some(last) if *last == option => {}
                Some(last) => unmet.push(Unmet {
                    wanted,
                    found: format!("{last}, which contradicts it"),
                    contradicted_by: Some(last.to_string()),
                }),
                None => unmet.push(Unmet {
                    wanted,
                    found: format!("no {} option", option.name),
                    contradicted_by: None,
                }),
            },
        }
    }
    unmet
}

/// `None` when the setting's effective value meets the requirement; else what was found, in words.
fn setting_unmet(
    effective: &HashMap<Setting, (String, Option<String>)>,
    setting: Setting,
    wanted: &str,
    source: Source,
) -> Option<String> {
    let (value, set_by) = effective.get(&setting)?;
    if value == wanted {
        return None;
    }
    // noatime implies nodiratime: no atime update at all.
    if setting == Setting::DirAtime
        && wanted == "nodiratime"
        && effective.get(&Setting::Atime).is_some_and(|(v, _)| v == "noatime")
    {
        return None;
    }
    Some(match (set_by, source) {
        (Some(option), _) if option == value => value.clone(),
        (Some(option), _) => format!("{option} ({value})"),
        (None, Source::Live) if setting == Setting::Atime && value == "strictatime" => {
            "strictatime (neither noatime nor relatime shown)".to_string()
        }
        (None, Source::Live) => format!("{value} (the default, which the kernel does not show)"),
        (None, Source::Fstab) => format!("{value} (the default: no option sets it)"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fstab::split_options;
    use crate::mountinfo::MountTable;

    fn policy(options: &[&str]) -> Vec<String> {
        options.iter().map(|s| s.to_string()).collect()
    }

    const MODELS: &[&str] = &["noatime", "nodiratime", "barrier=0", "data=writeback"];
    const BACKUP: &[&str] = &["noatime", "barrier=1", "data=ordered"];

    /// The options of the last mountinfo line, per-mount then per-superblock, as the kernel printed them.
    fn live(line: &str) -> Vec<MountOption> {
        let table = MountTable::parse(line).unwrap();
        table.mounts[0].all_options().cloned().collect()
    }

    fn live_unmet(line: &str, wanted: &[&str]) -> Vec<String> {
        unmet_live("ext4", &live(line), &policy(wanted))
            .into_iter()
            .map(|u| u.wanted)
            .collect()
    }

    fn fstab_unmet(options: &str, wanted: &[&str]) -> Vec<Unmet> {
        unmet_fstab("ext4", &split_options(options), &policy(wanted))
    }

    fn wanted(unmet: &[Unmet]) -> Vec<&str> {
        unmet.iter().map(|u| u.wanted.as_str()).collect()
    }

    // Each line is what this kernel really printed for the `-o` in the comment (LINUX-FACTS).
    #[test]
    fn ext4_lines_from_the_kernel() {
        // -o defaults,noatime,nodiratime,barrier=0,data=writeback (and with nobarrier: identical)
        let models = "63 28 259:1 / /m rw,noatime,nodiratime - ext4 /dev/nvme1n1 rw,nobarrier,data=writeback";
        assert!(live_unmet(models, MODELS).is_empty());
        // -o defaults,noatime,barrier=1,data=ordered
        let backup = "64 28 8:0 / /b rw,noatime - ext4 /dev/sda rw,data=ordered";
        assert!(live_unmet(backup, BACKUP).is_empty());
        // -o noatime,barrier=1 only: data=ordered is not shown, but is in effect.
        let implicit = "64 28 8:0 / /b rw,noatime - ext4 /dev/sda rw";
        assert!(live_unmet(implicit, BACKUP).is_empty());
        // nothing: relatime, barriers on, ordered.
        let plain = "63 43 7:0 / /m rw,relatime - ext4 /dev/loop0 rw";
        assert_eq!(live_unmet(plain, MODELS), MODELS);
        assert_eq!(live_unmet(plain, BACKUP), ["noatime"]);
        assert!(live_unmet(plain, &["relatime", "barrier=1", "data=ordered", "rw", "defaults"]).is_empty());
        // -o data=journal
        let journal = "63 43 7:0 / /m rw,relatime - ext4 /dev/loop0 rw,nodioread_nolock,nodelalloc,data=journal";
        assert_eq!(live_unmet(journal, &["data=ordered", "nodelalloc"]), ["data=ordered"]);
        // -o errors=remount-ro
        let errors = "63 43 7:0 / /m rw,relatime - ext4 /dev/loop0 rw,errors=remount-ro";
        assert!(live_unmet(errors, &["errors=remount-ro"]).is_empty());
        assert_eq!(
            live_unmet(errors, &["errors=panic", "discard"]),
            ["errors=panic", "discard"]
        );
    }

    #[test]
    fn live_findings_say_what_is_there() {
        let plain = live("63 43 7:0 / /m rw,relatime - ext4 /dev/loop0 rw");
        let unmet = unmet_live("ext4", &plain, &policy(MODELS));
        let found: Vec<&str> = unmet.iter().map(|u| u.found.as_str()).collect();
        assert_eq!(found[0], "relatime");
        assert_eq!(found[1], "diratime (the default, which the kernel does not show)");
        assert_eq!(found[2], "barrier=1 (the default, which the kernel does not show)");
        assert_eq!(found[3], "data=ordered (the default, which the kernel does not show)");
        assert!(unmet.iter().all(|u| u.contradicted_by.is_none()));
        let strict = live("63 43 7:0 / /m rw - ext4 /dev/loop0 rw");
        let unmet = unmet_live("ext4", &strict, &policy(&["relatime"]));
        assert_eq!(unmet[0].found, "strictatime (neither noatime nor relatime shown)");
        let nobarrier = live("63 43 7:0 / /m rw,noatime - ext4 /dev/loop0 rw,nobarrier");
        assert_eq!(
            unmet_live("ext4", &nobarrier, &policy(&["barrier=1"]))[0].found,
            "nobarrier (barrier=0)"
        );
    }

    #[test]
    fn noatime_satisfies_nodiratime_and_strictatime_shows_nothing() {
        assert!(live_unmet("1 2 7:0 / /m rw,noatime - ext4 /dev/x rw", &["nodiratime"]).is_empty());
        assert_eq!(
            live_unmet("1 2 7:0 / /m rw,relatime - ext4 /dev/x rw", &["nodiratime"]),
            ["nodiratime"]
        );
        assert!(live_unmet("1 2 7:0 / /m rw,relatime,nodiratime - ext4 /dev/x rw", &["nodiratime"]).is_empty());
        assert!(live_unmet("1 2 7:0 / /m rw - ext4 /dev/x rw", &["strictatime"]).is_empty());
        assert_eq!(
            live_unmet("1 2 7:0 / /m rw - ext4 /dev/x rw", &["noatime"]),
            ["noatime"]
        );
    }

    #[test]
    fn userspace_options_are_not_looked_for_live() {
        let line = "1 2 7:0 / /m rw,noatime - ext4 /dev/x rw";
        assert!(live_unmet(
            line,
            &["nofail", "noauto", "x-systemd.automount", "_netdev", "defaults"]
        )
        .is_empty());
    }

    #[test]
    fn ro_and_other_vfs_flags_live() {
        let line = "1 2 7:0 / /m ro,nosuid,nodev,noexec,relatime - ext4 /dev/x ro,sync";
        assert_eq!(live_unmet(line, &["rw"]), ["rw"]);
        assert!(live_unmet(line, &["ro", "nosuid", "nodev", "noexec", "sync"]).is_empty());
        let rw = "1 2 7:0 / /m rw,relatime - ext4 /dev/x rw";
        assert_eq!(live_unmet(rw, &["nosuid", "sync", "suid", "async"]), ["nosuid", "sync"]);
    }

    #[test]
    fn unknown_file_systems_compare_their_own_options_literally() {
        let xfs = live("1 2 8:1 / /m rw,noatime - xfs /dev/sdb1 rw,attr2,inode64,logbufs=8,logbsize=32k,noquota");
        let unmet = unmet_live(
            "xfs",
            &xfs,
            &policy(&["noatime", "nodiratime", "inode64", "logbufs=8", "nobarrier"]),
        );
        assert_eq!(
            wanted(&unmet),
            ["nobarrier"],
            "nobarrier means nothing special to xfs here"
        );
        let unmet = unmet_live("xfs", &xfs, &policy(&["logbufs=4"]));
        assert_eq!(unmet[0].found, "logbufs=8");
        // ext4's hidden defaults are not assumed for another file system.
        assert_eq!(
            wanted(&unmet_live("xfs", &xfs, &policy(&["data=ordered"]))),
            ["data=ordered"]
        );
    }

    #[test]
    fn fstab_spellings_of_the_same_request() {
        assert!(fstab_unmet("defaults,noatime,nodiratime,barrier=0,data=writeback", MODELS).is_empty());
        assert!(
            fstab_unmet("noatime,nobarrier,data=writeback", MODELS).is_empty(),
            "noatime implies nodiratime"
        );
        assert!(fstab_unmet("defaults,noatime,barrier=1,data=ordered", BACKUP).is_empty());
        assert!(
            fstab_unmet("noatime", BACKUP).is_empty(),
            "barriers on and ordered are the defaults"
        );
        assert!(fstab_unmet("noatime,barrier,errors=remount-ro,discard,nofail", BACKUP).is_empty());
        assert!(
            fstab_unmet("noatime,barrier=5", &["barrier=1"]).is_empty(),
            "any non-zero value turns barriers on"
        );
    }

    #[test]
    fn fstab_missing_options() {
        let unmet = fstab_unmet("defaults,noatime,nodiratime,barrier=0", MODELS);
        assert_eq!(wanted(&unmet), ["data=writeback"]);
        assert_eq!(unmet[0].found, "data=ordered (the default: no option sets it)");
        assert_eq!(unmet[0].contradicted_by, None);
        let unmet = fstab_unmet("defaults", MODELS);
        assert_eq!(wanted(&unmet), MODELS);
        assert_eq!(unmet[0].found, "relatime (the default: no option sets it)");
        assert_eq!(
            wanted(&unmet_fstab("ext4", &[], &policy(BACKUP))),
            ["noatime"],
            "no options field at all"
        );
    }

    #[test]
    fn fstab_contradictions() {
        let unmet = fstab_unmet("defaults,noatime,nodiratime,barrier=0,data=writeback,barrier=1", MODELS);
        assert_eq!(wanted(&unmet), ["barrier=0"]);
        assert_eq!(unmet[0].found, "barrier=1, which contradicts it");
        assert_eq!(unmet[0].contradicted_by.as_deref(), Some("barrier=1"));
        // The kernel would end with noatime here, but the line says two things.
        let unmet = fstab_unmet("noatime,relatime", &["noatime"]);
        assert_eq!(unmet[0].found, "relatime, which contradicts it");
        assert_eq!(wanted(&fstab_unmet("atime,noatime", &["noatime"])), ["noatime"]);
        assert_eq!(wanted(&fstab_unmet("noatime,strictatime", &["noatime"])), ["noatime"]);
        assert_eq!(
            wanted(&fstab_unmet("data=writeback,data=ordered", &["data=writeback"])),
            ["data=writeback"]
        );
        assert_eq!(wanted(&fstab_unmet("ro,noatime", &["rw"])), ["rw"]);
        assert_eq!(
            wanted(&fstab_unmet("nodiratime,diratime", &["nodiratime"])),
            ["nodiratime"]
        );
        assert_eq!(wanted(&fstab_unmet("noauto", &["auto"])), ["auto"]);
        assert_eq!(
            fstab_unmet("commit=30", &["commit=60"])[0].found,
            "commit=30, which contradicts it"
        );
        assert_eq!(fstab_unmet("noatime", &["commit=60"])[0].found, "no commit option");
        assert!(
            fstab_unmet("commit=30,commit=60", &["commit=60"]).is_empty(),
            "the last one wins"
        );
        assert!(fstab_unmet("rw,noatime", &["rw"]).is_empty());
        assert!(
            fstab_unmet("noatime,nodev", &["noatime"]).is_empty(),
            "extra options are fine"
        );
    }

    #[test]
    fn fstab_atime_flags_combine_like_the_kernel() {
        // Verified with tmpfs: `noatime,atime` ends relatime, `strictatime` beats `noatime` in any order.
        assert!(
            fstab_unmet("noatime,atime", &["relatime"]).len() == 1,
            "noatime is stated and contradicts"
        );
        assert!(fstab_unmet("atime", &["relatime"]).is_empty());
        assert!(fstab_unmet("strictatime", &["strictatime"]).is_empty());
        assert!(fstab_unmet("relatime", &["relatime"]).is_empty());
        assert!(fstab_unmet("", &["relatime"]).is_empty());
        assert_eq!(wanted(&fstab_unmet("", &["strictatime"])), ["strictatime"]);
        let sem = Semantics::for_fs("ext4");
        let eff = |s: &str| {
            sem.effective(&split_options(s), Source::Fstab)[&Setting::Atime]
                .0
                .clone()
        };
        assert_eq!(eff("noatime,relatime"), "noatime");
        assert_eq!(eff("relatime,noatime"), "noatime");
        assert_eq!(eff("noatime,strictatime"), "strictatime");
        assert_eq!(eff("strictatime,noatime"), "strictatime");
        assert_eq!(eff("noatime,atime"), "relatime");
        assert_eq!(eff("atime,noatime"), "noatime");
        assert_eq!(eff("norelatime"), "relatime");
        assert_eq!(eff("strictatime,nostrictatime"), "relatime");
    }

    #[test]
    fn fstab_userspace_options_are_required_literally() {
        assert!(fstab_unmet(
            "noatime,nofail,x-systemd.device-timeout=10s",
            &["nofail", "x-systemd.device-timeout=10s"]
        )
        .is_empty());
        assert_eq!(wanted(&fstab_unmet("noatime", &["nofail"])), ["nofail"]);
    }

    #[test]
    fn odd_policy_and_option_text_does_not_panic() {
        let odd = policy(&[
            "",
            "=",
            "=x",
            "a=b=c",
            "data=",
            "barrier=",
            ",",
            "\u{0}",
            "noatime\u{fffd}",
        ]);
        let _ = unmet_fstab("ext4", &split_options("=,==,data=,barrier=,\u{0}"), &odd);
        let _ = unmet_live("ext4", &split_options("rw,=,data="), &odd);
        let long = "noatime,".repeat(200_000);
        assert!(unmet_fstab("ext4", &split_options(&long), &policy(MODELS)).len() == 2);
        let garbage: Vec<MountOption> = split_options(&String::from_utf8_lossy(&[0xff, b',', 0, b'=', b',']));
        let _ = unmet_live("", &garbage, &policy(MODELS));
    }
}
