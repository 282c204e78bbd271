//! Check `required_tools` (SPEC §3 row 1): every tool of the policy is an executable regular file (after
//! symlinks) in root's secure PATH, under the root.
//!
//! The PATH is the one root gets from sudo's `secure_path` and Debian's login: a tool only in `/usr/games` or
//! `/opt/x/bin` is not found by root's cron jobs and scripts. Like execvp(3), a directory whose entry is not
//! executable is passed over and the search goes on, so the tool passes if any directory has it executable.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::error::{FactError, FactErrorKind};
use crate::filekind;
use crate::outcome::{Finding, Outcome};
use crate::policy::{Policy, ToolPolicy};
use crate::view::System;

/// Root's secure PATH, searched in this order.
pub const SECURE_PATH: [&str; 6] = [
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
];

/// Where tools are installed that root's PATH does not search; named in a finding to explain a "missing" tool.
const OFF_PATH: [&str; 3] = ["/usr/games", "/usr/local/games", "/snap/bin"];

pub fn run(policy: &Policy, system: &System) -> Outcome {
    let mut findings = Vec::new();
    for tool in &policy.tools {
        match tool_finding(tool, system) {
            Ok(Some(finding)) => findings.push(finding),
            Ok(None) => {}
            Err(e) => return e.into(),
        }
    }
    Outcome::from_findings(findings)
}

/// What is at `<dir>/<name>` when it is not the executable we want.
enum Candidate {
    Executable,
    Unusable { path: PathBuf, why: String },
}

fn tool_finding(tool: &ToolPolicy, system: &System) -> Result<Option<Finding>, FactError> {
    let mut unusable: Vec<(PathBuf, String)> = Vec::new();
    // With a merged /usr, /bin and /sbin are links to /usr/bin and /usr/sbin: search each real directory once.
    let mut searched: Vec<PathBuf> = Vec::new();
    for dir in SECURE_PATH {
        let real = match system.root().resolve(dir) {
            Ok(real) => real,
            Err(e) if e.is_not_found() => continue,
            Err(e) => return Err(e),
        };
        if searched.contains(&real) {
            continue;
        }
        searched.push(real);
        match look(system, Path::new(dir), &tool.name)? {
            Some(Candidate::Executable) => return Ok(None),
            Some(Candidate::Unusable { path, why }) => unusable.push((path, why)),
            None => {}
        }
    }
    let install = format!(
        "install the package {0} (Debian/Ubuntu: apt-get install {0}; RHEL/Fedora: dnf install {0})",
        tool.package
    );
    let (actual, message) = if !unusable.is_empty() {
        let actual = unusable
            .iter()
            .map(|(path, why)| format!("{} {why}", path.display()))
            .collect::<Vec<_>>()
            .join("; ");
        (actual, format!("Repair or reinstall it: {install}"))
    } else {
        let elsewhere: Vec<String> = OFF_PATH
            .iter()
            .map(|dir| Path::new(dir).join(&tool.name))
            .filter(|path| system.root().exists(path))
            .map(|path| path.display().to_string())
            .collect();
        if elsewhere.is_empty() {
            ("not found".to_string(), format!("To install it, {install}"))
        } else {
            (
                format!("only at {}, outside root's PATH", elsewhere.join(", ")),
                format!("Root's jobs will not find it there: {install}"),
            )
        }
    };
    Ok(Some(Finding::new(
        tool.name.clone(),
        format!(
            "an executable regular file named {} in {}",
            tool.name,
            SECURE_PATH.join(":")
        ),
        actual,
        message,
    )))
}

/// What `<dir>/<name>` is: nothing, the executable, or something that is not one (and why).
fn look(system: &System, dir: &Path, name: &str) -> Result<Option<Candidate>, FactError> {
    let root = system.root();
    let path = dir.join(name);
    match root.lstat(&path) {
        Ok(_) => {}
        Err(e) if e.is_not_found() => return Ok(None),
        Err(e) => return Err(e),
    }
    let resolved = match root.resolve(&path) {
        Ok(resolved) => resolved,
        Err(e) if e.is_not_found() => {
            let target = root
                .read_link(&path)
                .map(|t| t.display().to_string())
                .unwrap_or_default();
            return Ok(Some(Candidate::Unusable {
                path,
                why: format!("is a dangling symlink to {target}"),
            }));
        }
        Err(FactError {
            kind: FactErrorKind::TooManyLinks,
            ..
        }) => {
            return Ok(Some(Candidate::Unusable {
                path,
                why: "is a symlink loop".into(),
            }))
        }
        Err(e) => return Err(e),
    };
    let meta = root.symlink_metadata(&resolved)?;
    let shown = if resolved == path {
        String::new()
    } else {
        format!(" (resolves to {})", resolved.display())
    };
    let why = if !meta.is_file() {
        format!("is {}{shown}, not a regular file", filekind::kind(&meta))
    } else if meta.mode() & 0o111 == 0 {
        format!("is not executable (mode {:04o}){shown}", filekind::mode(&meta))
    } else {
        return Ok(Some(Candidate::Executable));
    };
    Ok(Some(Candidate::Unusable { path, why }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Tree;

    fn outcome(tree: &Tree) -> Outcome {
        run(&Policy::embedded(), &tree.system())
    }

    fn only_finding(tree: &Tree) -> Finding {
        match outcome(tree) {
            Outcome::Fail(findings) if findings.len() == 1 => findings[0].clone(),
            other => panic!("expected one finding, got {other:?}"),
        }
    }

    #[test]
    fn compliant_tree_passes() {
        assert_eq!(outcome(&Tree::compliant()), Outcome::Pass);
    }

    #[test]
    fn a_missing_tool_names_its_package() {
        let tree = Tree::compliant();
        tree.remove("/usr/sbin/smartctl");
        let f = only_finding(&tree);
        assert_eq!(f.subject, "smartctl");
        assert_eq!(f.actual, "not found");
        assert!(f.message.contains("apt-get install smartmontools"), "{}", f.message);
    }

    #[test]
    fn a_tool_that_is_not_executable_fails() {
        let tree = Tree::compliant();
        tree.chmod("/usr/bin/iostat", 0o644);
        let f = only_finding(&tree);
        assert!(
            f.actual.contains("/usr/bin/iostat is not executable (mode 0644)"),
            "{}",
            f.actual
        );
        assert!(f.message.contains("sysstat"));
    }

    #[test]
    fn a_tool_outside_roots_path_is_named_where_it_is() {
        let tree = Tree::compliant();
        tree.mkdir("/usr/games");
        std::fs::rename(tree.path("/usr/bin/tree"), tree.path("/usr/games/tree")).unwrap();
        let f = only_finding(&tree);
        assert_eq!(f.actual, "only at /usr/games/tree, outside root's PATH");
    }

    #[test]
    fn a_dangling_symlink_is_not_a_tool() {
        let tree = Tree::compliant();
        tree.link("/usr/bin/rsync", "/usr/lib/rsync/rsync");
        let f = only_finding(&tree);
        assert!(
            f.actual
                .contains("/usr/bin/rsync is a dangling symlink to /usr/lib/rsync/rsync"),
            "{}",
            f.actual
        );
    }

    #[test]
    fn a_symlink_to_an_executable_resolves_inside_the_root() {
        let tree = Tree::compliant();
        tree.mkdir("/usr/lib/rsync");
        std::fs::rename(tree.path("/usr/bin/rsync"), tree.path("/usr/lib/rsync/rsync")).unwrap();
        tree.link("/usr/bin/rsync", "../lib/rsync/rsync");
        assert_eq!(outcome(&tree), Outcome::Pass);
        // An absolute target restarts at the root, not at the host's /.
        tree.link("/usr/bin/rsync", "/usr/lib/rsync/rsync");
        assert_eq!(outcome(&tree), Outcome::Pass);
    }

    #[test]
    fn a_directory_is_not_a_tool_and_a_later_path_entry_can_still_provide_it() {
        let tree = Tree::compliant();
        tree.mkdir("/usr/local/bin/tree");
        assert_eq!(outcome(&tree), Outcome::Pass, "execvp goes on to /usr/bin/tree");
        tree.remove("/usr/bin/tree");
        let f = only_finding(&tree);
        assert!(
            f.actual
                .contains("/usr/local/bin/tree is a directory, not a regular file"),
            "{}",
            f.actual
        );
    }

    #[test]
    fn a_merged_usr_directory_is_searched_once() {
        let tree = Tree::compliant();
        tree.chmod("/usr/sbin/smartctl", 0o600);
        // /sbin -> usr/sbin: the same file, reported once.
        assert_eq!(
            only_finding(&tree).actual,
            "/usr/sbin/smartctl is not executable (mode 0600)"
        );
    }

    #[test]
    fn a_link_to_a_non_executable_file_says_where_it_leads() {
        let tree = Tree::compliant();
        tree.mkdir("/opt/tree");
        std::fs::rename(tree.path("/usr/bin/tree"), tree.path("/opt/tree/tree")).unwrap();
        tree.chmod("/opt/tree/tree", 0o644);
        tree.link("/usr/bin/tree", "/opt/tree/tree");
        assert_eq!(
            only_finding(&tree).actual,
            "/usr/bin/tree is not executable (mode 0644) (resolves to /opt/tree/tree)"
        );
    }
}
