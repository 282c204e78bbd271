//! Evaluating parsed rules for one device and one action, the way udevd processes an event.
//!
//! Every match token of a line must hold; then its assignments apply in udev's order, and a GOTO skips
//! forward to its LABEL. Properties set by `ENV{…}=` are seen by later lines. What cannot be known offline
//! (PROGRAM, RESULT, parent devices other than the device itself, tags set earlier) makes a line
//! *undecided*: it is treated as not matching, and reported so that a caller can say why.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::glob::{fnmatch, is_glob};
use super::rules::{Key, Op, Rule, Token};
use super::DeviceFacts;
use crate::root::SystemRoot;

/// Whether a line's matches hold for the device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    Match,
    NoMatch,
    /// Depends on something this offline view cannot know; the reason says what.
    Unknown(String),
}

/// A line whose outcome could not be decided and that would have mattered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Undecided {
    pub file: PathBuf,
    pub line: usize,
    pub reason: String,
}

/// The state of one event while the rules run: the device, the action, and properties set so far.
pub struct Event<'a> {
    device: &'a dyn DeviceFacts,
    action: &'a str,
    root: Option<&'a SystemRoot>,
    /// Properties assigned by rules; `None` is a removed property.
    env: HashMap<String, Option<String>>,
}

impl<'a> Event<'a> {
    pub fn new(device: &'a dyn DeviceFacts, action: &'a str, root: Option<&'a SystemRoot>) -> Self {
        Event {
            device,
            action,
            root,
            env: HashMap::new(),
        }
    }

    pub fn property(&self, key: &str) -> Option<String> {
        if let Some(value) = self.env.get(key) {
            return value.clone();
        }
        self.device.property(key).or_else(|| match key {
            "ACTION" => Some(self.action.to_string()),
            "SUBSYSTEM" => Some(self.device.subsystem().to_string()),
            _ => None,
        })
    }

    /// Decides a rule's matches. A known mismatch wins over an unknown token, as udev stops at the first
    /// failing token and evaluates the side-effect-free ones first.
    pub fn decide(&self, rule: &Rule) -> Decision {
        let mut unknown = None;
        let parent_tokens: Vec<&Token> = rule.matches.iter().filter(|t| is_parent_key(t.key)).collect();
        for token in &rule.matches {
            if is_parent_key(token.key) {
                continue;
            }
            match self.match_token(token) {
                Decision::Match => {}
                Decision::NoMatch => return Decision::NoMatch,
                Decision::Unknown(reason) => {
                    unknown.get_or_insert(reason);
                }
            }
        }
        if !parent_tokens.is_empty() {
            // udev looks for one device in the chain (the device itself first) on which all of them hold. We
            // only know the device itself: if they all hold there, the line matches; otherwise a parent might.
            let on_self = parent_tokens.iter().all(|t| self.match_parent_on_self(t) == Some(true));
            if !on_self {
                unknown.get_or_insert_with(|| {
                    format!(
                        "{} may match a parent device, which is not known offline",
                        parent_tokens.iter().map(|t| t.display()).collect::<Vec<_>>().join(", ")
                    )
                });
            }
        }
        match unknown {
            Some(reason) => Decision::Unknown(reason),
            None => Decision::Match,
        }
    }

    /// Applies the ENV assignments of a matching rule (the only ones that affect later matching).
    pub fn apply_env(&mut self, rule: &Rule) {
        for token in rule.assignments.iter().filter(|t| t.key == Key::EnvAssign) {
            let Some(name) = token.attr.clone() else {
                continue;
            };
            if token.value.is_empty() {
                if token.op != Op::Add {
                    self.env.insert(name, None);
                }
                continue;
            }
            let value = match (token.op, self.property(&name)) {
                (Op::Add, Some(old)) => format!("{old} {}", token.value),
                _ => token.value.clone(),
            };
            self.env.insert(name, Some(value));
        }
    }

    fn match_token(&self, token: &Token) -> Decision {
        let known = |value: Option<String>| Decision::from(match_string(token, value.as_deref()));
        match token.key {
            Key::Action => known(Some(self.action.to_string())),
            Key::Kernel => known(Some(self.device.kernel().to_string())),
            Key::Subsystem => known(Some(self.device.subsystem().to_string())),
            Key::Driver => known(self.device.property("DRIVER")),
            Key::EnvMatch => match &token.attr {
                Some(name) => known(self.property(name)),
                None => Decision::NoMatch,
            },
            // Only network interfaces get a NAME; a block device has none.
            Key::NameMatch => known(None),
            Key::AttrMatch => self.match_attr(token),
            Key::Devpath => match self.device.property("DEVPATH") {
                Some(devpath) => known(Some(devpath)),
                None => Decision::Unknown(format!("{} needs the device path", token.display())),
            },
            Key::Test => self.match_test(token),
            // IMPORT almost always succeeds; what it imports is already in the udev database.
            Key::Import => match token.attr.as_deref() {
                Some("builtin" | "db" | "parent" | "program") => Decision::from(token.op == Op::Match),
                _ => Decision::Unknown(format!("{} cannot be evaluated offline", token.display())),
            },
            _ => Decision::Unknown(format!("{} cannot be evaluated offline", token.display())),
        }
    }

    fn match_attr(&self, token: &Token) -> Decision {
        let Some(name) = token.attr.as_deref() else {
            return Decision::NoMatch;
        };
        if name.starts_with('[') || name.contains(['%', '$']) {
            return Decision::Unknown(format!("{} uses a substitution", token.display()));
        }
        // A missing attribute fails the token whatever the operator (udev's token_match_attr).
        let Some(value) = self.device.attr(name) else {
            return Decision::NoMatch;
        };
        let value = if token.value.ends_with(|c: char| c.is_ascii_whitespace()) {
            value.as_str()
        } else {
            value.trim_end()
        };
        Decision::from(match_string(token, Some(value)))
    }

    fn match_test(&self, token: &Token) -> Decision {
        let path = token.value.as_str();
        if token.attr.is_some() || path.contains(['%', '$']) || path.starts_with('[') {
            return Decision::Unknown(format!("{} cannot be evaluated offline", token.display()));
        }
        let exists = if path.starts_with('/') {
            match self.root {
                Some(root) => root.metadata(Path::new(path)).is_ok(),
                None => return Decision::Unknown(format!("{} needs the file system", token.display())),
            }
        } else if self.device.attr(path).is_some() {
            true
        } else {
            return Decision::Unknown(format!(
                "{} tests a path under the device's sysfs directory",
                token.display()
            ));
        };
        Decision::from(exists == (token.op == Op::Match))
    }

    /// A parent-matching token evaluated on the device itself; `None` when unknowable.
    fn match_parent_on_self(&self, token: &Token) -> Option<bool> {
        match token.key {
            Key::Kernels => Some(match_string(token, Some(self.device.kernel()))),
            Key::Subsystems => Some(match_string(token, Some(self.device.subsystem()))),
            Key::Drivers => Some(match_string(token, self.device.property("DRIVER").as_deref())),
            Key::Attrs => match self.match_attr(token) {
                Decision::Match => Some(true),
                Decision::NoMatch => Some(false),
                Decision::Unknown(_) => None,
            },
            _ => None,
        }
    }
}

impl From<bool> for Decision {
    fn from(b: bool) -> Self {
        if b {
            Decision::Match
        } else {
            Decision::NoMatch
        }
    }
}

fn is_parent_key(key: Key) -> bool {
    matches!(
        key,
        Key::Kernels | Key::Subsystems | Key::Drivers | Key::Attrs | Key::Tags
    )
}

/// udev's `token_match_string()`: `|`-separated alternatives, an empty alternative matching an empty value,
/// globs when the value has `*?[`, and the operator deciding between match and no-match.
pub fn match_string(token: &Token, value: Option<&str>) -> bool {
    let value = value.unwrap_or("");
    let pattern = token.value.as_str();
    let matched = if token.key == Key::Subsystem && matches!(pattern, "subsystem" | "bus" | "class") {
        matches!(value, "subsystem" | "bus" | "class")
    } else if pattern.is_empty() {
        value.is_empty()
    } else {
        let alternatives: Vec<&str> = pattern.split('|').collect();
        let with_empty = alternatives.iter().any(|a| a.is_empty());
        let glob = is_glob(pattern);
        (with_empty && value.is_empty())
            || alternatives
                .iter()
                .filter(|a| !a.is_empty())
                .any(|alt| matches_one(alt, value, glob, token.case_insensitive))
    };
    matched == (token.op == Op::Match)
}

fn matches_one(pattern: &str, value: &str, glob: bool, case_insensitive: bool) -> bool {
    let (pattern, value) = if case_insensitive {
        (pattern.to_ascii_lowercase(), value.to_ascii_lowercase())
    } else {
        (pattern.to_string(), value.to_string())
    };
    if glob {
        fnmatch(pattern.as_bytes(), value.as_bytes())
    } else {
        pattern == value
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::udev::rules::parse;

    pub struct Disk {
        pub kernel: &'static str,
        pub attrs: Vec<(&'static str, &'static str)>,
        pub props: Vec<(&'static str, &'static str)>,
    }

    impl DeviceFacts for Disk {
        fn kernel(&self) -> &str {
            self.kernel
        }
        fn subsystem(&self) -> &str {
            "block"
        }
        fn attr(&self, name: &str) -> Option<String> {
            self.attrs.iter().find(|(k, _)| *k == name).map(|(_, v)| v.to_string())
        }
        fn property(&self, key: &str) -> Option<String> {
            self.props.iter().find(|(k, _)| *k == key).map(|(_, v)| v.to_string())
        }
    }

    fn nvme() -> Disk {
        Disk {
            kernel: "nvme1n1",
            attrs: vec![
                ("queue/scheduler", "[none] mq-deadline kyber bfq \n"),
                ("queue/rotational", "0\n"),
            ],
            props: vec![("DEVTYPE", "disk")],
        }
    }

    fn rule(text: &str) -> Rule {
        let parsed = parse(Path::new("/t.rules"), text.as_bytes());
        assert_eq!(parsed.rules.len(), 1, "{:?}", parsed.problems);
        parsed.rules.into_iter().next().unwrap()
    }

    fn decide(text: &str, device: &Disk, action: &str) -> Decision {
        Event::new(device, action, None).decide(&rule(text))
    }

    #[test]
    fn plain_glob_and_alternatives() {
        let d = nvme();
        assert_eq!(
            decide("ACTION==\"add|change\", ATTR{x}=\"1\"", &d, "add"),
            Decision::Match
        );
        assert_eq!(
            decide("ACTION==\"add|change\", ATTR{x}=\"1\"", &d, "remove"),
            Decision::NoMatch
        );
        assert_eq!(
            decide("ACTION!=\"remove\", ATTR{x}=\"1\"", &d, "change"),
            Decision::Match
        );
        assert_eq!(
            decide("KERNEL==\"nvme[0-9]*n[0-9]*\", ATTR{x}=\"1\"", &d, "add"),
            Decision::Match
        );
        assert_eq!(
            decide("KERNEL==\"sd*|nvme*\", ATTR{x}=\"1\"", &d, "add"),
            Decision::Match
        );
        assert_eq!(
            decide("KERNEL==\"sd*|mmc*\", ATTR{x}=\"1\"", &d, "add"),
            Decision::NoMatch
        );
        assert_eq!(
            decide("KERNEL==i\"NVME1N1\", ATTR{x}=\"1\"", &d, "add"),
            Decision::Match
        );
        assert_eq!(
            decide("SUBSYSTEM==\"block\", ATTR{x}=\"1\"", &d, "add"),
            Decision::Match
        );
    }

    #[test]
    fn env_missing_property_is_the_empty_string() {
        let d = nvme();
        assert_eq!(
            decide("ENV{DEVTYPE}==\"disk\", ATTR{x}=\"1\"", &d, "add"),
            Decision::Match
        );
        assert_eq!(decide("ENV{ID_FOO}==\"\", ATTR{x}=\"1\"", &d, "add"), Decision::Match);
        assert_eq!(decide("ENV{ID_FOO}!=\"x\", ATTR{x}=\"1\"", &d, "add"), Decision::Match);
        assert_eq!(decide("ENV{ID_FOO}==\"|x\", ATTR{x}=\"1\"", &d, "add"), Decision::Match);
        assert_eq!(
            decide("ENV{ID_FOO}==\"?*\", ATTR{x}=\"1\"", &d, "add"),
            Decision::NoMatch
        );
        let part = Disk {
            kernel: "nvme1n1p1",
            attrs: vec![],
            props: vec![("DEVTYPE", "partition")],
        };
        assert_eq!(
            decide("ENV{DEVTYPE}==\"disk\", ATTR{x}=\"1\"", &part, "add"),
            Decision::NoMatch
        );
    }

    #[test]
    fn attr_match_ignores_trailing_whitespace_and_fails_when_missing() {
        let d = nvme();
        assert_eq!(
            decide("ATTR{queue/rotational}==\"0\", ATTR{x}=\"1\"", &d, "add"),
            Decision::Match
        );
        assert_eq!(
            decide("ATTR{queue/rotational}!=\"1\", ATTR{x}=\"1\"", &d, "add"),
            Decision::Match
        );
        // A missing attribute fails even a != token.
        assert_eq!(decide("ATTR{nope}!=\"1\", ATTR{x}=\"1\"", &d, "add"), Decision::NoMatch);
        assert_eq!(
            decide("ATTR{queue/scheduler}==\"*none*\", ATTR{x}=\"1\"", &d, "add"),
            Decision::Match
        );
    }

    #[test]
    fn parent_keys_are_decided_on_the_device_itself_when_they_hold_there() {
        let d = nvme();
        assert_eq!(
            decide("KERNELS==\"nvme1n1\", ATTR{x}=\"1\"", &d, "add"),
            Decision::Match
        );
        assert!(matches!(
            decide("SUBSYSTEMS==\"nvme\", ATTR{x}=\"1\"", &d, "add"),
            Decision::Unknown(_)
        ));
        // A known mismatch still wins.
        assert_eq!(
            decide("KERNEL==\"sda\", SUBSYSTEMS==\"scsi\", ATTR{x}=\"1\"", &d, "add"),
            Decision::NoMatch
        );
    }

    #[test]
    fn program_is_unknown_and_import_builtin_succeeds() {
        let d = nvme();
        assert!(matches!(
            decide("PROGRAM=\"/bin/false\", ATTR{x}=\"1\"", &d, "add"),
            Decision::Unknown(_)
        ));
        assert_eq!(
            decide("IMPORT{builtin}=\"path_id\", ATTR{x}=\"1\"", &d, "add"),
            Decision::Match
        );
    }

    #[test]
    fn test_key_reads_attributes_and_the_root() {
        let d = nvme();
        assert_eq!(
            decide("TEST==\"queue/scheduler\", ATTR{x}=\"1\"", &d, "add"),
            Decision::Match
        );
        assert!(matches!(
            decide("TEST==\"device/foo\", ATTR{x}=\"1\"", &d, "add"),
            Decision::Unknown(_)
        ));
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("etc")).unwrap();
        let root = SystemRoot::new(dir.path());
        let ev = Event::new(&d, "add", Some(&root));
        assert_eq!(ev.decide(&rule("TEST==\"/etc\", ATTR{x}=\"1\"")), Decision::Match);
        assert_eq!(ev.decide(&rule("TEST!=\"/etc\", ATTR{x}=\"1\"")), Decision::NoMatch);
        assert_eq!(ev.decide(&rule("TEST==\"/nope\", ATTR{x}=\"1\"")), Decision::NoMatch);
    }

    #[test]
    fn env_assignments_are_seen_later() {
        let d = nvme();
        let mut ev = Event::new(&d, "add", None);
        ev.apply_env(&rule("ENV{ID_SSD}=\"1\""));
        assert_eq!(ev.property("ID_SSD").as_deref(), Some("1"));
        ev.apply_env(&rule("ENV{ID_SSD}+=\"2\""));
        assert_eq!(ev.property("ID_SSD").as_deref(), Some("1 2"));
        ev.apply_env(&rule("ENV{DEVTYPE}=\"\""));
        assert_eq!(ev.property("DEVTYPE"), None);
        assert_eq!(ev.property("ACTION").as_deref(), Some("add"));
    }
}
