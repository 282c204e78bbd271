//! The accounts cron knows: user names and home directories from `/etc/passwd` (passwd(5)).
//!
//! cron resolves the user field of `/etc/crontab` and `/etc/cron.d` lines with getpwnam(); offline, that is
//! the local passwd file under the root (NSS sources such as LDAP are not visible here).

use std::path::PathBuf;

use crate::error::FactError;
use crate::root::SystemRoot;

pub const PASSWD_PATH: &str = "/etc/passwd";

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Users {
    entries: Vec<Account>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Account {
    name: String,
    uid: u32,
    home: PathBuf,
}

impl Users {
    /// Reads `/etc/passwd`; a missing file means no users.
    pub fn load(root: &SystemRoot) -> Result<Users, FactError> {
        Ok(Users::parse(&root.read_text_opt(PASSWD_PATH)?.unwrap_or_default()))
    }

    /// `name:password:uid:gid:gecos:home:shell` lines; malformed lines are skipped (getpwnam skips them too).
    pub fn parse(text: &str) -> Users {
        let entries = text
            .lines()
            .filter_map(|line| {
                let fields: Vec<&str> = line.split(':').collect();
                if fields.len() < 7 || fields[0].is_empty() {
                    return None;
                }
                Some(Account {
                    name: fields[0].to_string(),
                    uid: fields[2].parse().ok()?,
                    home: PathBuf::from(fields[5]),
                })
            })
            .collect();
        Users { entries }
    }

    pub fn exists(&self, name: &str) -> bool {
        self.account(name).is_some()
    }

    pub fn uid(&self, name: &str) -> Option<u32> {
        self.account(name).map(|a| a.uid)
    }

    pub fn home(&self, name: &str) -> Option<PathBuf> {
        self.account(name).map(|a| a.home.clone())
    }

    fn account(&self, name: &str) -> Option<&Account> {
        self.entries.iter().find(|a| a.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_homes() {
        let users = Users::parse("root:x:0:0:root:/root:/bin/bash\nbroken line\n:x:1:1::/:/bin/sh\nbad:x:zz:1::/:/bin/sh\ncitadel:x:1000:1000:C,,,:/home/citadel:/bin/bash\n");
        assert!(users.exists("root"));
        assert!(users.exists("citadel"));
        assert!(!users.exists("bad"));
        assert!(!users.exists(""));
        assert!(!users.exists("backup"));
        assert_eq!(users.home("root"), Some(PathBuf::from("/root")));
        assert_eq!(users.uid("citadel"), Some(1000));
        let _ = Users::parse("\u{0}:::::::\n::::\n\n");
    }
}
