//! `/etc/passwd` and `/etc/group` under the root: user and group names and ids (passwd(5), group(5)).
//!
//! Read as files, never through NSS, so that a fixture tree or an image answers for itself. A malformed line
//! is skipped and recorded (with its line number), as glibc's files backend skips it; the first entry of a
//! name or id wins, as `getpwnam`/`getpwuid` return the first match.

use crate::error::FactError;
use crate::root::SystemRoot;

pub const PASSWD_PATH: &str = "/etc/passwd";
pub const GROUP_PATH: &str = "/etc/group";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub uid: u32,
    pub gid: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub name: String,
    pub gid: u32,
    pub members: Vec<String>,
}

/// A line that was not understood, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkippedLine {
    /// `/etc/passwd` or `/etc/group`.
    pub file: &'static str,
    /// 1-based.
    pub line: usize,
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Accounts {
    pub users: Vec<User>,
    pub groups: Vec<Group>,
    pub skipped: Vec<SkippedLine>,
}

impl Accounts {
    /// Reads both files. A missing or unreadable file is an error: without it no owner can be verified.
    pub fn load(root: &SystemRoot) -> Result<Accounts, FactError> {
        let passwd = root.read_text(PASSWD_PATH)?;
        let group = root.read_text(GROUP_PATH)?;
        Ok(Accounts::parse(&passwd, &group))
    }

    pub fn parse(passwd: &str, group: &str) -> Accounts {
        let mut accounts = Accounts::default();
        for (number, fields) in records(passwd) {
            match parse_user(&fields) {
                Ok(user) => accounts.users.push(user),
                Err(reason) => accounts.skipped.push(SkippedLine {
                    file: PASSWD_PATH,
                    line: number,
                    reason,
                }),
            }
        }
        for (number, fields) in records(group) {
            match parse_group(&fields) {
                Ok(group) => accounts.groups.push(group),
                Err(reason) => accounts.skipped.push(SkippedLine {
                    file: GROUP_PATH,
                    line: number,
                    reason,
                }),
            }
        }
        accounts
    }

    pub fn user(&self, name: &str) -> Option<&User> {
        self.users.iter().find(|u| u.name == name)
    }

    pub fn group(&self, name: &str) -> Option<&Group> {
        self.groups.iter().find(|g| g.name == name)
    }

    /// The uid of `name_or_id` as chown(1) reads it: a user name first, else a decimal id.
    pub fn uid(&self, name_or_id: &str) -> Option<u32> {
        self.user(name_or_id).map(|u| u.uid).or_else(|| decimal_id(name_or_id))
    }

    /// The gid of `name_or_id`: a group name first, else a decimal id.
    pub fn gid(&self, name_or_id: &str) -> Option<u32> {
        self.group(name_or_id).map(|g| g.gid).or_else(|| decimal_id(name_or_id))
    }

    pub fn user_name(&self, uid: u32) -> Option<&str> {
        self.users.iter().find(|u| u.uid == uid).map(|u| u.name.as_str())
    }

    pub fn group_name(&self, gid: u32) -> Option<&str> {
        self.groups.iter().find(|g| g.gid == gid).map(|g| g.name.as_str())
    }

    /// `uid` as a message shows it: `citadel (1000)`, or `1000` when no user has it.
    pub fn describe_uid(&self, uid: u32) -> String {
        match self.user_name(uid) {
            Some(name) => format!("{name} ({uid})"),
            None => uid.to_string(),
        }
    }

    pub fn describe_gid(&self, gid: u32) -> String {
        match self.group_name(gid) {
            Some(name) => format!("{name} ({gid})"),
            None => gid.to_string(),
        }
    }
}

/// The non-blank lines of `text`, split at `:`, with their 1-based line numbers.
fn records(text: &str) -> impl Iterator<Item = (usize, Vec<&str>)> {
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(i, line)| (i + 1, line.trim_end_matches('\r').split(':').collect()))
}

/// `name:password:uid:gid:gecos:home:shell`
fn parse_user(fields: &[&str]) -> Result<User, String> {
    check_entry(fields, 7)?;
    Ok(User {
        name: fields[0].to_string(),
        uid: id(fields[2], "uid")?,
        gid: id(fields[3], "gid")?,
    })
}

/// `name:password:gid:member,member`
fn parse_group(fields: &[&str]) -> Result<Group, String> {
    check_entry(fields, 4)?;
    Ok(Group {
        name: fields[0].to_string(),
        gid: id(fields[2], "gid")?,
        members: fields[3]
            .split(',')
            .filter(|m| !m.is_empty())
            .map(str::to_string)
            .collect(),
    })
}

fn check_entry(fields: &[&str], expected: usize) -> Result<(), String> {
    let name = fields[0];
    if name.starts_with('#') {
        return Err("a comment (the files have no comment syntax)".into());
    }
    if name.starts_with('+') || name.starts_with('-') {
        return Err(format!("NIS compat entry {name:?} (not resolved from files)"));
    }
    if fields.len() != expected {
        return Err(format!("{} fields, expected {expected}", fields.len()));
    }
    if name.is_empty() {
        return Err("empty name".into());
    }
    Ok(())
}

fn id(field: &str, what: &str) -> Result<u32, String> {
    decimal_id(field).ok_or_else(|| format!("{what} {field:?} is not a decimal number"))
}

fn decimal_id(s: &str) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PASSWD: &str = "\
root:x:0:0:root:/root:/bin/bash
daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin

citadel:x:1000:1000:Citadel operator,,,:/home/citadel:/bin/bash
broken:x:notanumber:0:::
short:x:5
+nisuser::::::
root:x:999:999:second root:/:/bin/sh
";
    const GROUP: &str = "root:x:0:\nadm:x:4:citadel,syslog\ncitadel:x:1000:\nbad:x:\n";

    #[test]
    fn names_and_ids_both_ways() {
        let a = Accounts::parse(PASSWD, GROUP);
        assert_eq!(a.uid("root"), Some(0));
        assert_eq!(a.uid("citadel"), Some(1000));
        assert_eq!(a.user_name(1000), Some("citadel"));
        assert_eq!(a.gid("adm"), Some(4));
        assert_eq!(a.group("adm").unwrap().members, ["citadel", "syslog"]);
        assert_eq!(a.group_name(0), Some("root"));
        assert_eq!(a.describe_uid(1000), "citadel (1000)");
        assert_eq!(a.describe_uid(4242), "4242");
    }

    #[test]
    fn the_first_entry_of_a_name_wins() {
        let a = Accounts::parse(PASSWD, GROUP);
        assert_eq!(a.uid("root"), Some(0));
    }

    #[test]
    fn numeric_ids_are_accepted_like_chown_does() {
        let a = Accounts::parse(PASSWD, GROUP);
        assert_eq!(a.uid("4242"), Some(4242));
        assert_eq!(a.gid("0"), Some(0));
        assert_eq!(a.uid("nosuchuser"), None);
        assert_eq!(a.uid("-1"), None);
        assert_eq!(a.uid("99999999999"), None);
    }

    #[test]
    fn malformed_lines_are_skipped_and_recorded() {
        let a = Accounts::parse(PASSWD, GROUP);
        let skipped: Vec<(&str, usize)> = a.skipped.iter().map(|s| (s.file, s.line)).collect();
        assert_eq!(
            skipped,
            [(PASSWD_PATH, 5), (PASSWD_PATH, 6), (PASSWD_PATH, 7), (GROUP_PATH, 4)]
        );
        assert!(a.skipped[0].reason.contains("notanumber"), "{:?}", a.skipped[0]);
        assert_eq!(a.users.len(), 4);
    }

    #[test]
    fn garbage_never_panics() {
        for text in ["", ":", "::::::", "\u{0}:x:0:0:::", "a:b:c:d:e:f:g:h", "é:x:1:1:::\r\n"] {
            let a = Accounts::parse(text, text);
            assert!(a.users.len() + a.groups.len() + a.skipped.len() <= 2);
        }
    }

    #[test]
    fn loads_from_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = SystemRoot::new(dir.path());
        assert!(Accounts::load(&root).unwrap_err().is_not_found());
        std::fs::create_dir(dir.path().join("etc")).unwrap();
        std::fs::write(dir.path().join("etc/passwd"), PASSWD).unwrap();
        std::fs::write(dir.path().join("etc/group"), GROUP).unwrap();
        assert_eq!(Accounts::load(&root).unwrap().uid("citadel"), Some(1000));
    }
}
