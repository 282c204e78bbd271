//! `/etc/os-release` (os-release(5)): which distribution a root holds, for the package manager that installs
//! missing tools.
//!
//! The file is a list of shell-style `KEY=VALUE` assignments; values may be quoted with `"` or `'`, and inside
//! double quotes `\` escapes `"`, `\`, `$` and `` ` ``. `/etc/os-release` takes precedence; where it does not
//! exist, `/usr/lib/os-release` is read, as the man page tells applications to do. Only `ID` and `ID_LIKE`
//! matter here: `ID_LIKE` lists the distributions this one derives from, closest first (Rocky: `rhel centos
//! fedora`), so that an unknown derivative is recognised by its family.

use std::path::PathBuf;

use crate::error::FactError;
use crate::root::SystemRoot;

/// Where os-release is read, in order of precedence.
pub const OS_RELEASE_PATHS: [&str; 2] = ["/etc/os-release", "/usr/lib/os-release"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OsRelease {
    /// The file it was read from.
    pub source: PathBuf,
    /// `ID`, lowercase; "linux" when the file does not say (the man page's default).
    pub id: String,
    /// `ID_LIKE`, space-separated, closest first.
    pub id_like: Vec<String>,
}

impl OsRelease {
    /// Reads the first of `OS_RELEASE_PATHS` that exists; `None` when neither does.
    pub fn load(root: &SystemRoot) -> Result<Option<OsRelease>, FactError> {
        for path in OS_RELEASE_PATHS {
            if let Some(text) = root.read_text_opt(path)? {
                return Ok(Some(OsRelease::parse(PathBuf::from(path), &text)));
            }
        }
        Ok(None)
    }

    /// Lines that are not assignments are ignored, as the shell parsers of this file ignore them.
    pub fn parse(source: PathBuf, text: &str) -> OsRelease {
        let mut id = None;
        let mut id_like = Vec::new();
        for line in text.lines() {
            let line = line.trim();
            if line.starts_with('#') {
                continue;
            }
            let Some((key, value)) = line.split_once('=') else {
                continue;
            };
            let value = unquote(value.trim());
            match key.trim() {
                "ID" => id = Some(value.to_ascii_lowercase()),
                "ID_LIKE" => id_like = value.split_whitespace().map(str::to_ascii_lowercase).collect(),
                _ => {}
            }
        }
        OsRelease {
            source,
            id: id.filter(|id| !id.is_empty()).unwrap_or_else(|| "linux".to_string()),
            id_like,
        }
    }

    /// `ID` then `ID_LIKE`: the distribution and its families, the most specific first.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        std::iter::once(self.id.as_str()).chain(self.id_like.iter().map(String::as_str))
    }

    /// `ID=rocky ID_LIKE="rhel centos fedora"`, for messages.
    pub fn describe(&self) -> String {
        if self.id_like.is_empty() {
            format!("ID={} in {}", self.id, self.source.display())
        } else {
            format!(
                "ID={} ID_LIKE=\"{}\" in {}",
                self.id,
                self.id_like.join(" "),
                self.source.display()
            )
        }
    }
}

/// A shell word without its quotes: `"a\"b"` → `a"b`, `'a b'` → `a b`.
fn unquote(value: &str) -> String {
    if let Some(inner) = value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
        return inner.to_string();
    }
    let Some(inner) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) else {
        return value.to_string();
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some(next @ ('"' | '\\' | '$' | '`')) => out.push(next),
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> OsRelease {
        OsRelease::parse(PathBuf::from("/etc/os-release"), text)
    }

    #[test]
    fn debian_and_ubuntu_as_they_ship_it() {
        let debian = parse("PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nVERSION_ID=\"12\"\nID=debian\n");
        assert_eq!(debian.ids().collect::<Vec<_>>(), ["debian"]);
        let ubuntu = parse("NAME=\"Ubuntu\"\nID=ubuntu\nID_LIKE=debian\nVERSION_ID=\"22.04\"\n");
        assert_eq!(ubuntu.ids().collect::<Vec<_>>(), ["ubuntu", "debian"]);
    }

    #[test]
    fn quoted_lists_and_single_quotes() {
        let rocky = parse("NAME=\"Rocky Linux\"\nID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\n");
        assert_eq!(rocky.ids().collect::<Vec<_>>(), ["rocky", "rhel", "centos", "fedora"]);
        assert_eq!(
            rocky.describe(),
            "ID=rocky ID_LIKE=\"rhel centos fedora\" in /etc/os-release"
        );
        let single = parse("ID='almalinux'\nID_LIKE='rhel centos fedora'\n");
        assert_eq!(single.id, "almalinux");
        assert_eq!(single.id_like.len(), 3);
    }

    #[test]
    fn comments_garbage_and_escapes() {
        let text = "# ID=wrong\n\ngarbage line\nID=Fedora\nNAME=\"a \\\"quoted\\\" \\$name\"\n";
        assert_eq!(parse(text).id, "fedora");
        assert_eq!(unquote("\"a \\\"quoted\\\" \\$name\""), "a \"quoted\" $name");
        assert_eq!(unquote("\"back\\\\slash\\n\""), "back\\slash\\n");
    }

    #[test]
    fn a_missing_id_is_linux() {
        assert_eq!(parse("NAME=Something\n").id, "linux");
        assert_eq!(parse("ID=\n").id, "linux");
    }

    #[test]
    fn etc_takes_precedence_and_usr_lib_is_the_fallback() {
        let dir = tempfile::tempdir().unwrap();
        let root = SystemRoot::new(dir.path());
        assert_eq!(OsRelease::load(&root).unwrap(), None);
        std::fs::create_dir_all(root.path("/usr/lib")).unwrap();
        std::fs::write(root.path("/usr/lib/os-release"), "ID=fedora\n").unwrap();
        let found = OsRelease::load(&root).unwrap().unwrap();
        assert_eq!(
            (found.id.as_str(), found.source.clone()),
            ("fedora", PathBuf::from("/usr/lib/os-release"))
        );
        std::fs::create_dir_all(root.path("/etc")).unwrap();
        std::fs::write(root.path("/etc/os-release"), "ID=debian\n").unwrap();
        assert_eq!(OsRelease::load(&root).unwrap().unwrap().id, "debian");
    }
}
