//! Checks a file's new version must pass before it replaces the old one (SPEC §4 rule 4).

use std::collections::BTreeSet;
use std::path::Path;

use citadel_checks::SystemRoot;

use crate::action::Validation;
use crate::host::Host;

/// Validates the new version waiting at `new_host` (a host path) against the current one at `current_host`
/// (which may not exist). `Err` says why the new version must not replace the old.
pub fn validate(
    validation: Validation,
    root: &SystemRoot,
    host: &dyn Host,
    content: &[u8],
    new_host: &Path,
    current_host: &Path,
) -> Result<(), String> {
    match validation {
        Validation::None => Ok(()),
        Validation::Fstab => {
            fstab_syntax(&String::from_utf8_lossy(content))?;
            // findmnt judges sources and targets on the running system: meaningless for another root.
            if root.is_host() {
                findmnt_verify(host, new_host, current_host)?;
            }
            Ok(())
        }
    }
}

/// The fstab parsed back as libmount reads it: at least source, target and type; dump and pass, where given,
/// are numbers. Blank lines and `#` comments are skipped. `Err` names the line.
pub fn fstab_syntax(text: &str) -> Result<usize, String> {
    let mut entries = 0;
    for (index, line) in text.lines().enumerate() {
        let fields: Vec<&str> = line.split_whitespace().take_while(|f| !f.starts_with('#')).collect();
        if fields.is_empty() {
            continue;
        }
        let number = index + 1;
        if fields.len() < 3 {
            return Err(format!(
                "new fstab, line {number}: needs at least source, mount point and type: {line:?}"
            ));
        }
        for (name, value) in ["dump", "pass"].iter().zip(fields.iter().skip(4)) {
            if value.parse::<u32>().is_err() {
                return Err(format!(
                    "new fstab, line {number}: {name} field {value:?} is not a number"
                ));
            }
        }
        entries += 1;
    }
    Ok(entries)
}

/// `findmnt --verify --tab-file` on the new fstab. Errors (`[E]`) the current fstab already has are not held
/// against the new one (a fix must be able to repair its own line in a file with an unrelated problem), but a
/// new error or any parse error rejects it. Skipped when findmnt is not installed.
fn findmnt_verify(host: &dyn Host, new_host: &Path, current_host: &Path) -> Result<(), String> {
    let verify = |path: &Path| {
        host.run(&[
            "findmnt".to_string(),
            "--verify".to_string(),
            "--tab-file".to_string(),
            path.display().to_string(),
        ])
    };
    let Ok(new) = verify(new_host) else {
        return Ok(());
    };
    if new.success() {
        return Ok(());
    }
    if let Some(line) = new
        .stdout
        .lines()
        .chain(new.stderr.lines())
        .find(|l| l.contains("parse error"))
    {
        return Err(format!("findmnt --verify rejects the new fstab: {}", line.trim()));
    }
    let old_errors = match current_host.exists() {
        true => verify(current_host)
            .map(|o| verify_errors(&o.stdout))
            .unwrap_or_default(),
        false => BTreeSet::new(),
    };
    let added: Vec<String> = verify_errors(&new.stdout).difference(&old_errors).cloned().collect();
    if added.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "findmnt --verify finds new errors in the new fstab: {}",
            added.join("; ")
        ))
    }
}

/// The `[E]` lines of `findmnt --verify` output, each with the target it is about (`/mnt/x: [E] …`).
fn verify_errors(stdout: &str) -> BTreeSet<String> {
    let mut errors = BTreeSet::new();
    let mut target = "";
    for line in stdout.lines() {
        if !line.starts_with(char::is_whitespace) {
            target = line.trim();
        } else if line.trim_start().starts_with("[E]") {
            errors.insert(format!("{target}: {}", line.trim()));
        }
    }
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::CommandOutput;
    use std::cell::RefCell;
    use std::io;

    #[test]
    fn syntax_accepts_what_libmount_accepts() {
        let text = "# c\n\nproc /proc proc\nproc /proc proc defaults\nUUID=x /m ext4 noatime 0 2 # note\n";
        assert_eq!(fstab_syntax(text), Ok(3));
        assert!(fstab_syntax("proc /proc\n").unwrap_err().contains("line 1"));
        assert!(fstab_syntax("a /b c d 0 x\n").unwrap_err().contains("pass field \"x\""));
    }

    /// Answers findmnt with canned output per file name and records what ran.
    struct FakeFindmnt {
        new: CommandOutput,
        old: CommandOutput,
        ran: RefCell<Vec<String>>,
    }

    impl Host for FakeFindmnt {
        fn run(&self, argv: &[String]) -> io::Result<CommandOutput> {
            let file = argv.last().cloned().unwrap_or_default();
            self.ran.borrow_mut().push(argv.join(" "));
            Ok(if file.contains("citadel-tmp") {
                self.new.clone()
            } else {
                self.old.clone()
            })
        }
        fn write_sysfs(&self, _: &Path, _: &str) -> io::Result<()> {
            unreachable!()
        }
    }

    fn output(code: i32, stdout: &str) -> CommandOutput {
        CommandOutput {
            code: Some(code),
            stdout: stdout.to_string(),
            stderr: String::new(),
        }
    }

    #[test]
    fn only_new_findmnt_errors_reject() {
        let unreachable = "/mnt/x\n   [E] unreachable on boot required target: No such file or directory\n";
        let dir = tempfile::tempdir().unwrap();
        let current = dir.path().join("fstab");
        std::fs::write(&current, "").unwrap();
        let new = dir.path().join(".fstab.citadel-tmp.1.0");
        let host_root = SystemRoot::new("/");
        let same = FakeFindmnt {
            new: output(1, unreachable),
            old: output(1, unreachable),
            ran: RefCell::default(),
        };
        assert_eq!(
            validate(Validation::Fstab, &host_root, &same, b"", &new, &current),
            Ok(())
        );
        let added = FakeFindmnt {
            new: output(1, unreachable),
            old: output(0, "Success, no errors or warnings detected\n"),
            ran: RefCell::default(),
        };
        let err = validate(Validation::Fstab, &host_root, &added, b"", &new, &current).unwrap_err();
        assert!(err.contains("/mnt/x: [E] unreachable on boot"), "{err}");
        // Under another root findmnt is not asked: it would judge the host's devices.
        let tree = SystemRoot::new(dir.path());
        assert_eq!(validate(Validation::Fstab, &tree, &added, b"", &new, &current), Ok(()));
    }

    #[test]
    fn real_findmnt_on_a_file_if_installed() {
        let dir = tempfile::tempdir().unwrap();
        let new = dir.path().join(".fstab.citadel-tmp.1.0");
        std::fs::write(&new, "proc /proc proc defaults 0 x\n").unwrap();
        let host = crate::host::RealHost;
        if host.run(&["findmnt".into(), "--version".into()]).is_err() {
            return;
        }
        let err = findmnt_verify(&host, &new, &dir.path().join("fstab")).unwrap_err();
        assert!(err.contains("parse error"), "{err}");
    }
}
