//! udev rules (udev(7)): which files udev reads, what they say, and what they would do to one device.
//!
//! `RuleSet::load` reads the rule directories under the root the way systemd-udevd does; malformed lines are
//! kept as problems (udev skips them and goes on). `final_attr_assignment` replays every rule for a device
//! and an action and returns the last `ATTR{…}=` that would be written: what the attribute ends up as.

mod eval;
mod files;
mod glob;
mod rules;

use std::path::{Path, PathBuf};

use crate::error::FactError;
use crate::root::SystemRoot;

pub use eval::{Decision, Undecided};
pub use files::{RuleFileName, RULES_DIRS};
pub use glob::fnmatch;
pub use rules::{Key, Op, Rule, RuleProblem, Severity, Token};

/// What the rules may ask about a device. `attr` reads `/sys/…/<device>/<name>` (raw, with its newline);
/// `property` reads a udev property (`DEVTYPE`, `ID_…`).
pub trait DeviceFacts {
    fn kernel(&self) -> &str;
    fn subsystem(&self) -> &str;
    fn attr(&self, name: &str) -> Option<String>;
    fn property(&self, key: &str) -> Option<String>;
}

/// An `ATTR{…}=` that applies, and where it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub value: String,
    pub file: PathBuf,
    pub line: usize,
}

/// One rules file name as udev sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleFile {
    pub name: String,
    /// The file udev reads for this name.
    pub path: PathBuf,
    /// Same-named files in lower-priority directories that `path` hides.
    pub overrides: Vec<PathBuf>,
    pub state: FileState,
    /// The rules udev keeps from it, in file order.
    pub rules: Vec<Rule>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileState {
    Read,
    /// An empty file or a link to /dev/null: the name is disabled.
    Masked,
    /// udev cannot read it (a dangling link, a directory).
    Unreadable(String),
}

/// All rules udev would load, in the order it applies them.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    files: Vec<RuleFile>,
    problems: Vec<RuleProblem>,
    /// For `TEST=="/abs/path"`.
    root: Option<SystemRoot>,
}

/// The full answer about one attribute: the final assignment, and the rules whose outcome could not be known.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AttrEvaluation {
    pub assignment: Option<Assignment>,
    /// Every matching assignment to the attribute, in order (the last one is `assignment`).
    pub history: Vec<Assignment>,
    /// Lines treated as not matching because they depend on facts not known offline.
    pub undecided: Vec<Undecided>,
}

impl RuleSet {
    /// Reads every rule directory under the root. An unreadable directory or file is an error (the rules cannot
    /// be evaluated); malformed content never is.
    pub fn load(root: &SystemRoot) -> Result<RuleSet, FactError> {
        let mut set = RuleSet {
            root: Some(root.clone()),
            ..RuleSet::default()
        };
        for RuleFileName { name, path, overrides } in files::discover(root)? {
            let (state, bytes) = match files::read(root, &path)? {
                files::FileContent::Rules(bytes) => (FileState::Read, bytes),
                files::FileContent::Masked => (FileState::Masked, Vec::new()),
                files::FileContent::Unreadable(why) => {
                    set.problems.push(RuleProblem {
                        file: path.clone(),
                        line: None,
                        severity: Severity::Ignored,
                        reason: format!("{why}: udev cannot read it, and it still hides same-named files"),
                    });
                    (FileState::Unreadable(why), Vec::new())
                }
            };
            set.push_file(name, path, overrides, state, &bytes);
        }
        Ok(set)
    }

    /// A rule set from file texts given directly, in the order given (for tests and tools).
    pub fn from_texts<'a>(texts: impl IntoIterator<Item = (&'a Path, &'a str)>) -> RuleSet {
        let mut set = RuleSet::default();
        for (path, text) in texts {
            let name = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            set.push_file(name, path.to_path_buf(), Vec::new(), FileState::Read, text.as_bytes());
        }
        set
    }

    fn push_file(&mut self, name: String, path: PathBuf, overrides: Vec<PathBuf>, state: FileState, bytes: &[u8]) {
        let parsed = rules::parse(&path, bytes);
        self.problems.extend(parsed.problems);
        self.files.push(RuleFile {
            name,
            path,
            overrides,
            state,
            rules: parsed.rules,
        });
    }

    /// Every rules file name, in the order udev applies them.
    pub fn files(&self) -> &[RuleFile] {
        &self.files
    }

    /// The file udev uses for this name, if any directory has it.
    pub fn file(&self, name: &str) -> Option<&RuleFile> {
        self.files.iter().find(|f| f.name == name)
    }

    /// Malformed lines udev skips, and lints on lines it accepts, in file order.
    pub fn problems(&self) -> &[RuleProblem] {
        &self.problems
    }

    /// Problems in one file (the path udev reads).
    pub fn problems_in<'a>(&'a self, path: &'a Path) -> impl Iterator<Item = &'a RuleProblem> {
        self.problems.iter().filter(move |p| p.file == path)
    }

    /// The value the last matching `ATTR{attr}=`/`:=` assignment leaves, evaluating every rule for `action`.
    pub fn final_attr_assignment(&self, device: &dyn DeviceFacts, action: &str, attr: &str) -> Option<Assignment> {
        self.evaluate_attr(device, action, attr).assignment
    }

    /// Like `final_attr_assignment`, with every matching assignment and the lines that could not be decided.
    pub fn evaluate_attr(&self, device: &dyn DeviceFacts, action: &str, attr: &str) -> AttrEvaluation {
        let mut event = eval::Event::new(device, action, self.root.as_ref());
        let mut out = AttrEvaluation::default();
        for file in &self.files {
            let mut i = 0;
            while let Some(rule) = file.rules.get(i) {
                let assigns_attr = rule
                    .assignments
                    .iter()
                    .any(|t| t.key == Key::AttrAssign && t.attr.as_deref() == Some(attr));
                match event.decide(rule) {
                    Decision::Match => {
                        event.apply_env(rule);
                        for t in rule.assignments.iter().filter(|t| t.key == Key::AttrAssign) {
                            if t.attr.as_deref() == Some(attr) {
                                out.history.push(Assignment {
                                    value: t.value.clone(),
                                    file: file.path.clone(),
                                    line: rule.line,
                                });
                            }
                        }
                        if let Some(target) = rule.goto_target {
                            i = target;
                            continue;
                        }
                    }
                    Decision::NoMatch => {}
                    Decision::Unknown(reason) => {
                        let matters = assigns_attr
                            || rule.goto_target.is_some()
                            || rule.assignments.iter().any(|t| t.key == Key::EnvAssign);
                        if matters {
                            out.undecided.push(Undecided {
                                file: file.path.clone(),
                                line: rule.line,
                                reason,
                            });
                        }
                    }
                }
                i += 1;
            }
        }
        out.assignment = out.history.last().cloned();
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::symlink;

    struct Disk {
        kernel: &'static str,
        devtype: &'static str,
        rotational: &'static str,
    }

    impl DeviceFacts for Disk {
        fn kernel(&self) -> &str {
            self.kernel
        }
        fn subsystem(&self) -> &str {
            "block"
        }
        fn attr(&self, name: &str) -> Option<String> {
            match name {
                "queue/rotational" => Some(format!("{}\n", self.rotational)),
                "queue/scheduler" => Some("none [mq-deadline] kyber bfq \n".into()),
                _ => None,
            }
        }
        fn property(&self, key: &str) -> Option<String> {
            (key == "DEVTYPE").then(|| self.devtype.to_string())
        }
    }

    const NVME: Disk = Disk {
        kernel: "nvme1n1",
        devtype: "disk",
        rotational: "0",
    };
    const SDA: Disk = Disk {
        kernel: "sda",
        devtype: "disk",
        rotational: "1",
    };
    const NVME_PART: Disk = Disk {
        kernel: "nvme1n1p1",
        devtype: "partition",
        rotational: "0",
    };

    const CITADEL_RULES: &str = "\
# Managed by citadel-check: I/O schedulers for the Citadel storage disks.
ACTION==\"add|change\", SUBSYSTEM==\"block\", ENV{DEVTYPE}==\"disk\", KERNEL==\"nvme[0-9]*n[0-9]*\", ATTR{queue/scheduler}=\"none\"
ACTION==\"add|change\", SUBSYSTEM==\"block\", ENV{DEVTYPE}==\"disk\", KERNEL==\"sd[a-z]*\", ATTR{queue/rotational}==\"1\", ATTR{queue/scheduler}=\"mq-deadline\"
";

    fn tree() -> (tempfile::TempDir, SystemRoot) {
        let dir = tempfile::tempdir().unwrap();
        let root = SystemRoot::new(dir.path());
        for d in ["/etc/udev/rules.d", "/run/udev/rules.d", "/usr/lib/udev/rules.d"] {
            fs::create_dir_all(root.path(d)).unwrap();
        }
        (dir, root)
    }

    fn write(root: &SystemRoot, path: &str, text: &str) {
        fs::write(root.path(path), text).unwrap();
    }

    fn value(set: &RuleSet, disk: &Disk) -> Option<String> {
        set.final_attr_assignment(disk, "add", "queue/scheduler")
            .map(|a| a.value)
    }

    #[test]
    fn the_citadel_rules_set_both_schedulers() {
        let (_d, root) = tree();
        write(&root, "/etc/udev/rules.d/60-citadel-io-schedulers.rules", CITADEL_RULES);
        let set = RuleSet::load(&root).unwrap();
        assert!(set.problems().is_empty(), "{:?}", set.problems());
        let a = set.final_attr_assignment(&NVME, "add", "queue/scheduler").unwrap();
        assert_eq!(
            a,
            Assignment {
                value: "none".into(),
                file: "/etc/udev/rules.d/60-citadel-io-schedulers.rules".into(),
                line: 2
            }
        );
        assert_eq!(value(&set, &SDA).as_deref(), Some("mq-deadline"));
        assert_eq!(
            set.final_attr_assignment(&SDA, "change", "queue/scheduler")
                .unwrap()
                .line,
            3
        );
        assert_eq!(set.final_attr_assignment(&SDA, "remove", "queue/scheduler"), None);
        assert_eq!(
            value(&set, &NVME_PART),
            None,
            "ENV{{DEVTYPE}}==\"disk\" keeps partitions out"
        );
        let ssd = Disk { rotational: "0", ..SDA };
        assert_eq!(value(&set, &ssd), None, "the HDD rule wants rotational 1");
    }

    #[test]
    fn no_rules_file_means_no_assignment() {
        let (_d, root) = tree();
        let set = RuleSet::load(&root).unwrap();
        assert_eq!(value(&set, &NVME), None);
    }

    #[test]
    fn an_empty_file_in_etc_masks_the_usr_lib_file() {
        let (_d, root) = tree();
        write(
            &root,
            "/usr/lib/udev/rules.d/60-citadel-io-schedulers.rules",
            CITADEL_RULES,
        );
        assert_eq!(value(&RuleSet::load(&root).unwrap(), &NVME).as_deref(), Some("none"));
        write(&root, "/etc/udev/rules.d/60-citadel-io-schedulers.rules", "");
        let set = RuleSet::load(&root).unwrap();
        assert_eq!(value(&set, &NVME), None);
        let file = set.file("60-citadel-io-schedulers.rules").unwrap();
        assert_eq!(file.state, FileState::Masked);
        assert_eq!(
            file.overrides,
            [PathBuf::from("/usr/lib/udev/rules.d/60-citadel-io-schedulers.rules")]
        );
    }

    #[test]
    fn a_dev_null_link_masks_too() {
        let (_d, root) = tree();
        write(&root, "/usr/lib/udev/rules.d/60-x.rules", CITADEL_RULES);
        symlink("/dev/null", root.path("/run/udev/rules.d/60-x.rules")).unwrap();
        assert_eq!(value(&RuleSet::load(&root).unwrap(), &NVME), None);
    }

    #[test]
    fn the_last_assignment_wins_across_files_sorted_by_name() {
        let (_d, root) = tree();
        write(&root, "/etc/udev/rules.d/60-citadel-io-schedulers.rules", CITADEL_RULES);
        // In /usr/lib, but sorted after 60-: it runs later and wins.
        write(
            &root,
            "/usr/lib/udev/rules.d/99-vendor.rules",
            "ACTION==\"add|change\", KERNEL==\"nvme*\", ATTR{queue/scheduler}=\"mq-deadline\"\n",
        );
        let set = RuleSet::load(&root).unwrap();
        let eval = set.evaluate_attr(&NVME, "add", "queue/scheduler");
        assert_eq!(eval.assignment.as_ref().unwrap().value, "mq-deadline");
        assert_eq!(
            eval.assignment.as_ref().unwrap().file,
            PathBuf::from("/usr/lib/udev/rules.d/99-vendor.rules")
        );
        assert_eq!(eval.history.len(), 2);
        // Sorted before 60-: it runs first and loses.
        let (_d2, root2) = tree();
        write(
            &root2,
            "/etc/udev/rules.d/60-citadel-io-schedulers.rules",
            CITADEL_RULES,
        );
        write(
            &root2,
            "/etc/udev/rules.d/10-early.rules",
            "KERNEL==\"nvme*\", ATTR{queue/scheduler}=\"bfq\"\n",
        );
        assert_eq!(value(&RuleSet::load(&root2).unwrap(), &NVME).as_deref(), Some("none"));
    }

    #[test]
    fn assign_final_on_attr_is_not_final_in_udev() {
        let set = RuleSet::from_texts([
            (
                Path::new("/etc/udev/rules.d/10-a.rules"),
                "KERNEL==\"nvme*\", ATTR{queue/scheduler}:=\"none\"\n",
            ),
            (
                Path::new("/etc/udev/rules.d/20-b.rules"),
                "KERNEL==\"nvme*\", ATTR{queue/scheduler}=\"bfq\"\n",
            ),
        ]);
        assert_eq!(value(&set, &NVME).as_deref(), Some("bfq"));
        assert!(set.problems().iter().any(|p| p.reason.contains("treats := as =")));
    }

    #[test]
    fn a_match_instead_of_an_assignment_sets_nothing() {
        let set = RuleSet::from_texts([(
            Path::new("/etc/udev/rules.d/60-c.rules"),
            "ACTION==\"add|change\", KERNEL==\"nvme[0-9]*n[0-9]*\", ATTR{queue/scheduler}==\"none\"\n",
        )]);
        assert_eq!(value(&set, &NVME), None);
        let p = &set.problems().iter().find(|p| p.severity == Severity::Ignored).unwrap();
        assert_eq!(p.file, PathBuf::from("/etc/udev/rules.d/60-c.rules"));
        assert_eq!(p.line, Some(1));
        assert!(p.reason.contains("is a match"));
    }

    #[test]
    fn without_devtype_the_rule_still_matches_the_disk() {
        let set = RuleSet::from_texts([(
            Path::new("/etc/udev/rules.d/60-c.rules"),
            "ACTION==\"add|change\", SUBSYSTEM==\"block\", KERNEL==\"nvme[0-9]*n[0-9]*\", ATTR{queue/scheduler}=\"none\"\n",
        )]);
        assert_eq!(value(&set, &NVME).as_deref(), Some("none"));
        assert_eq!(
            value(&set, &NVME_PART).as_deref(),
            Some("none"),
            "and the partition (harmless)"
        );
    }

    #[test]
    fn goto_skips_rules_up_to_the_label() {
        let text = "\
SUBSYSTEM!=\"block\", GOTO=\"end\"
ENV{DEVTYPE}!=\"disk\", GOTO=\"end\"
KERNEL==\"nvme*\", ATTR{queue/scheduler}=\"none\"
LABEL=\"end\"
KERNEL==\"nvme*p*\", ATTR{queue/scheduler}=\"bfq\"
";
        let set = RuleSet::from_texts([(Path::new("/etc/udev/rules.d/60-c.rules"), text)]);
        assert_eq!(value(&set, &NVME).as_deref(), Some("none"));
        // The partition jumps over the first assignment, then matches the rule after the label.
        assert_eq!(value(&set, &NVME_PART).as_deref(), Some("bfq"));
    }

    #[test]
    fn env_set_by_an_earlier_rule_is_matched_later() {
        let text = "\
KERNEL==\"nvme*\", ENV{CITADEL_FAST}=\"1\"
ENV{CITADEL_FAST}==\"1\", ATTR{queue/scheduler}=\"none\"
";
        let set = RuleSet::from_texts([(Path::new("/etc/udev/rules.d/60-c.rules"), text)]);
        assert_eq!(value(&set, &NVME).as_deref(), Some("none"));
        assert_eq!(value(&set, &SDA), None);
    }

    #[test]
    fn undecidable_rules_are_reported_not_applied() {
        let text = "KERNEL==\"nvme*\", PROGRAM==\"/usr/bin/is-fast %k\", ATTR{queue/scheduler}=\"kyber\"\n";
        let set = RuleSet::from_texts([(Path::new("/etc/udev/rules.d/60-c.rules"), text)]);
        let eval = set.evaluate_attr(&NVME, "add", "queue/scheduler");
        assert_eq!(eval.assignment, None);
        assert_eq!(eval.undecided.len(), 1);
        assert!(eval.undecided[0].reason.contains("PROGRAM"));
        // A known mismatch is not undecided.
        assert!(set.evaluate_attr(&SDA, "add", "queue/scheduler").undecided.is_empty());
    }

    #[test]
    fn unreadable_directory_is_an_error_and_binary_files_are_not() {
        let (_d, root) = tree();
        fs::write(
            root.path("/etc/udev/rules.d/50-bin.rules"),
            [0u8, 159, 146, 150, 255, b'\n', b'"'],
        )
        .unwrap();
        let set = RuleSet::load(&root).unwrap();
        assert_eq!(set.files().len(), 1);
        // A dangling link is a problem, not an error.
        symlink("/gone", root.path("/etc/udev/rules.d/70-gone.rules")).unwrap();
        let set = RuleSet::load(&root).unwrap();
        assert!(set.problems().iter().any(|p| p.reason.contains("dangling")));
        // Unreadable to us: the rules cannot be evaluated, an error naming the file.
        use std::os::unix::fs::PermissionsExt;
        fs::remove_file(root.path("/etc/udev/rules.d/70-gone.rules")).unwrap();
        fs::set_permissions(
            root.path("/etc/udev/rules.d/50-bin.rules"),
            fs::Permissions::from_mode(0o600),
        )
        .unwrap();
        crate::unprivileged::open_up(_d.path());
        if let Some(result) = crate::unprivileged::as_nobody(|| RuleSet::load(&root)) {
            let err = result.unwrap_err();
            assert_eq!(err.kind, crate::error::FactErrorKind::PermissionDenied);
            assert_eq!(err.path, PathBuf::from("/etc/udev/rules.d/50-bin.rules"));
        }
        fs::set_permissions(root.path("/etc/udev/rules.d"), fs::Permissions::from_mode(0o700)).unwrap();
        if let Some(result) = crate::unprivileged::as_nobody(|| RuleSet::load(&root)) {
            assert_eq!(result.unwrap_err().path, PathBuf::from("/etc/udev/rules.d"));
        }
    }
}
