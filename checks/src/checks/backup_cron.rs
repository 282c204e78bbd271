//! Check `backup_cron` (SPEC §3 row 10): cron really runs the backup script at least daily.
//!
//! Passes when some place cron reads (`/etc/crontab`, `/etc/cron.d`, the user's spool crontab, or an
//! `/etc/cron.daily` entry that something runs daily) holds a job that cron accepts and that runs the script
//! daily as the policy's user; the script exists and is executable; and the installed cron daemon is enabled.
//! When no place works, every candidate place gets a finding saying what cron does with it.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use crate::cron::jobs::{self, Problem, Wanted};
use crate::cron::Cron;
use crate::error::FactError;
use crate::outcome::{CheckResult, Finding, Outcome};
use crate::policy::Policy;
use crate::root::SystemRoot;
use crate::systemd::{Systemd, UnitState};
use crate::view::System;

pub fn run(policy: &Policy, system: &System) -> Outcome {
    check(policy, system).unwrap_or_else(Outcome::from)
}

fn check(policy: &Policy, system: &System) -> CheckResult {
    let cron = system.cron()?;
    let root = system.root();
    let script = policy.backup_script_path();
    let job = &policy.backup_job;
    let wanted = Wanted {
        script: &script,
        user: &job.user,
        schedule: &job.schedule,
        cron_file: &job.cron_file,
    };
    let places = jobs::places(cron, root, &wanted);
    let mut findings = Vec::new();
    if !places.iter().any(|p| p.verdict.is_ok()) {
        let unreadable = cron.unreadable();
        if !unreadable.is_empty() {
            let list: Vec<String> = unreadable.iter().map(|e| e.to_string()).collect();
            return Ok(Outcome::Error(format!(
                "no readable place runs {} daily, and some crontabs cannot be read ({}): run as root",
                script.display(),
                list.join("; ")
            )));
        }
        if places.is_empty() {
            findings.push(no_job(&wanted));
        }
        for place in places {
            if let Err(Problem { expected, actual, fix }) = place.verdict {
                findings.push(Finding::new(place.subject, expected, actual, fix));
            }
        }
    }
    findings.extend(script_finding(root, &script)?);
    findings.extend(daemon_finding(cron, system.systemd()?)?);
    Ok(Outcome::from_findings(findings))
}

fn no_job(wanted: &Wanted) -> Finding {
    let script = wanted.script.display();
    Finding::new(
        wanted.cron_file.display().to_string(),
        format!("a cron job that runs {script} at least daily as {}", wanted.user),
        format!(
            "no line of /etc/crontab, /etc/cron.d or {}'s crontab, and no /etc/cron.daily entry, runs {script}",
            wanted.user
        ),
        format!(
            "Create {} (owner root, mode 0644, ending in a newline) containing the line: `{} {} {script}`",
            wanted.cron_file.display(),
            wanted.schedule,
            wanted.user
        ),
    )
}

fn script_finding(root: &SystemRoot, script: &Path) -> Result<Option<Finding>, FactError> {
    let subject = script.display().to_string();
    let meta = match root.metadata(script) {
        Ok(meta) => meta,
        Err(e) if e.is_not_found() => {
            return Ok(Some(Finding::new(
                subject,
                "an executable backup script",
                "missing: the job has nothing to run",
                format!(
                    "Install it (`citadel-check --fix scripts` puts the shipped version at {})",
                    script.display()
                ),
            )))
        }
        Err(e) => return Err(e),
    };
    let mode = meta.permissions().mode() & 0o7777;
    if !meta.is_file() {
        return Ok(Some(Finding::new(
            subject,
            "an executable backup script",
            "not a regular file",
            format!("Replace {} with the backup script", script.display()),
        )));
    }
    if mode & 0o111 == 0 {
        return Ok(Some(Finding::new(
            subject,
            "an executable backup script",
            format!("mode {mode:04o}, not executable: cron's shell cannot run it"),
            format!("Make it executable: `chmod 0755 {}`", script.display()),
        )));
    }
    Ok(None)
}

fn daemon_finding(cron: &Cron, systemd: &Systemd) -> Result<Option<Finding>, FactError> {
    let flavor = cron.flavor;
    let Some(binary) = &cron.installed else {
        return Ok(Some(Finding::new(
            "/usr/sbin/cron",
            "a cron daemon installed (/usr/sbin/cron or /usr/sbin/crond)",
            "neither /usr/sbin/cron (Debian cron) nor /usr/sbin/crond (cronie) is installed: no crontab runs",
            "Install and start one: `apt install cron && systemctl enable --now cron` (Debian, Ubuntu) or \
             `dnf install cronie && systemctl enable --now crond` (RHEL, Fedora)",
        )));
    };
    let name = flavor.unit();
    let unit = systemd.unit(name)?;
    let expected = format!("{name} enabled, so that {} starts at boot", binary.display());
    Ok(match unit.state() {
        UnitState::Enabled => None,
        UnitState::Disabled => {
            let fragment = unit
                .fragment
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            let target = unit
                .install_wanted_by
                .first()
                .map(String::as_str)
                .unwrap_or("multi-user.target");
            Some(Finding::new(
                name,
                expected,
                format!("disabled: no *.wants/ link pulls in {name}, so cron does not start at boot"),
                format!(
                    "Enable it: `systemctl enable --now {name}`; offline: `ln -s {fragment} \
                     /etc/systemd/system/{target}.wants/{name}`"
                ),
            ))
        }
        UnitState::Masked => {
            let path = unit
                .masked_by
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            Some(Finding::new(
                path.clone(),
                expected,
                format!("{name} is masked by {path}: cron never starts"),
                format!("Unmask and enable it: `systemctl unmask {name} && systemctl enable --now {name}`"),
            ))
        }
        UnitState::NotFound => Some(Finding::new(
            name,
            expected,
            format!("{} is installed but no {name} unit file exists", binary.display()),
            format!("Reinstall the package: `apt install --reinstall {}`", flavor.package()),
        )),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{is_root, Tree};

    const SCRIPT: &str = "/opt/citadel/scripts/citadel-backup.sh";
    const CRON_FILE: &str = "/etc/cron.d/citadel-backup";
    const JOB: &str = "30 2 * * * root /opt/citadel/scripts/citadel-backup.sh\n";

    fn outcome(tree: &Tree) -> Outcome {
        run(&Policy::embedded(), &tree.system())
    }

    /// The findings' text, all fields, for `contains` assertions.
    fn text(out: &Outcome) -> String {
        out.findings()
            .iter()
            .map(|f| format!("{} | {} | {} | {}\n", f.subject, f.expected, f.actual, f.message))
            .collect()
    }

    #[track_caller]
    fn fails_with(tree: &Tree, needles: &[&str]) {
        let out = outcome(tree);
        assert_eq!(out.status(), crate::outcome::Status::Fail, "{out:?}");
        let all = text(&out);
        for needle in needles {
            assert!(all.contains(needle), "no finding mentions {needle:?}:\n{all}");
        }
    }

    /// Tests need root-owned files, as cron does: skipped without root.
    fn tree() -> Option<Tree> {
        is_root().then(Tree::compliant)
    }

    #[test]
    fn the_compliant_tree_passes() {
        let Some(t) = tree() else { return };
        assert_eq!(outcome(&t), Outcome::Pass);
    }

    #[test]
    fn names_cron_d_skips() {
        let Some(t) = tree() else { return };
        t.remove(CRON_FILE);
        t.write("/etc/cron.d/citadel.backup", JOB);
        fails_with(
            &t,
            &[
                "/etc/cron.d/citadel.backup:1",
                "never read",
                "mv /etc/cron.d/citadel.backup /etc/cron.d/citadel-backup",
            ],
        );
        t.remove("/etc/cron.d/citadel.backup");
        t.write("/etc/cron.d/citadel-backup~", JOB);
        fails_with(&t, &["citadel-backup~", "never read"]);
    }

    #[test]
    fn file_rules() {
        let Some(t) = tree() else { return };
        t.chmod(CRON_FILE, 0o664);
        fails_with(&t, &["INSECURE MODE", "chmod 0644 /etc/cron.d/citadel-backup"]);
        t.chmod(CRON_FILE, 0o644);
        std::os::unix::fs::chown(t.path(CRON_FILE), Some(1000), Some(1000)).unwrap();
        fails_with(&t, &["WRONG FILE OWNER", "chown root:root"]);
        std::os::unix::fs::chown(t.path(CRON_FILE), Some(0), Some(0)).unwrap();
        std::fs::hard_link(t.path(CRON_FILE), t.path("/etc/cron-backup-copy")).unwrap();
        fails_with(&t, &["NUMBER OF HARD LINKS > 1"]);
    }

    #[test]
    fn a_symlink_to_a_root_owned_file_is_read() {
        let Some(t) = tree() else { return };
        t.mkdir("/usr/share/citadel");
        t.write("/usr/share/citadel/citadel-backup.cron", JOB);
        t.link(CRON_FILE, "/usr/share/citadel/citadel-backup.cron");
        assert_eq!(outcome(&t), Outcome::Pass);
    }

    #[test]
    fn line_rules() {
        let Some(t) = tree() else { return };
        t.write(CRON_FILE, "30 2 * * * /opt/citadel/scripts/citadel-backup.sh\n");
        fails_with(
            &t,
            &[
                "bad username",
                "no user field",
                "30 2 * * * root /opt/citadel/scripts/citadel-backup.sh",
            ],
        );
        t.write(CRON_FILE, "30 2 * * * backup /opt/citadel/scripts/citadel-backup.sh\n");
        fails_with(&t, &["user \"backup\" is not in /etc/passwd"]);
        t.write(CRON_FILE, "30 2 * * 0 root /opt/citadel/scripts/citadel-backup.sh\n");
        fails_with(&t, &["\"30 2 * * 0\"", "Monday"]);
        t.write(CRON_FILE, "@daily root /opt/citadel/scripts/citadel-backup.sh\n");
        assert_eq!(outcome(&t), Outcome::Pass);
        t.write(CRON_FILE, "30 2 * * * root /opt/citadel/scripts/citadel-backup.sh");
        fails_with(&t, &["no newline", "echo >> /etc/cron.d/citadel-backup"]);
        t.write(CRON_FILE, &format!("{JOB}60 * * * * root /bin/true\n"));
        fails_with(&t, &["line 2 is invalid", "bad minute", "ignores the whole file"]);
        t.write(CRON_FILE, &JOB.replace('\n', "\r\n"));
        fails_with(&t, &["CRLF", "citadel-backup.sh\\r", "sed -i"]);
        t.write(
            CRON_FILE,
            "30 2 * * * root /opt/citadel/scripts/citadel-backup.sh > /var/log/b-$(date +%F).log\n",
        );
        fails_with(&t, &["unescaped %"]);
        t.write(CRON_FILE, "30 2 * * * citadel /opt/citadel/scripts/citadel-backup.sh\n");
        fails_with(&t, &["runs as citadel"]);
        t.write(
            CRON_FILE,
            "30 2 * * * root cd /opt/citadel/scripts && ./citadel-backup.sh >/dev/null 2>&1\n",
        );
        assert_eq!(outcome(&t), Outcome::Pass);
        t.write(
            CRON_FILE,
            "30 2 * * * root /bin/sh -c '/opt/citadel/scripts/citadel-backup.sh --quiet'\n",
        );
        assert_eq!(outcome(&t), Outcome::Pass);
    }

    #[test]
    fn other_places_cron_reads() {
        let Some(t) = tree() else { return };
        t.remove(CRON_FILE);
        fails_with(&t, &["/etc/cron.d/citadel-backup", "no line of /etc/crontab"]);
        let crontab = std::fs::read_to_string(t.path("/etc/crontab")).unwrap();
        t.write("/etc/crontab", &format!("{crontab}{JOB}"));
        assert_eq!(outcome(&t), Outcome::Pass);
        t.write("/etc/crontab", &crontab);
        t.write(
            "/var/spool/cron/crontabs/root",
            "30 2 * * * /opt/citadel/scripts/citadel-backup.sh\n",
        );
        t.chmod("/var/spool/cron/crontabs/root", 0o600);
        assert_eq!(outcome(&t), Outcome::Pass);
        t.chmod("/var/spool/cron/crontabs/root", 0o644);
        fails_with(&t, &["BAD FILE MODE", "chmod 0600 /var/spool/cron/crontabs/root"]);
    }

    #[test]
    fn cron_daily_entries() {
        let Some(t) = tree() else { return };
        t.remove(CRON_FILE);
        t.link("/etc/cron.daily/citadel-backup", SCRIPT);
        assert_eq!(outcome(&t), Outcome::Pass);
        t.remove("/etc/cron.daily/citadel-backup");
        t.link("/etc/cron.daily/citadel-backup.sh", SCRIPT);
        fails_with(
            &t,
            &[
                "/etc/cron.daily/citadel-backup.sh",
                "run-parts runs only names",
                "mv /etc/cron.daily/citadel-backup.sh /etc/cron.daily/citadel-backup",
            ],
        );
        t.remove("/etc/cron.daily/citadel-backup.sh");
        t.write(
            "/etc/cron.daily/backup",
            "#!/bin/sh\nexec /opt/citadel/scripts/citadel-backup.sh\n",
        );
        t.chmod("/etc/cron.daily/backup", 0o755);
        assert_eq!(outcome(&t), Outcome::Pass, "a script that runs it");
        // Without the /etc/crontab line and without anacron, nothing runs cron.daily.
        t.write("/etc/crontab", "SHELL=/bin/sh\n");
        fails_with(&t, &["nothing runs /etc/cron.daily"]);
    }

    #[test]
    fn script_and_daemon() {
        let Some(t) = tree() else { return };
        t.chmod(SCRIPT, 0o644);
        fails_with(&t, &["mode 0644, not executable", "chmod 0755"]);
        t.remove(SCRIPT);
        fails_with(&t, &["missing"]);
        let t = Tree::compliant();
        t.remove("/usr/sbin/cron");
        fails_with(&t, &["neither /usr/sbin/cron", "apt install cron"]);
        let t = Tree::compliant();
        t.remove("/etc/systemd/system/multi-user.target.wants/cron.service");
        fails_with(&t, &["cron.service", "disabled", "systemctl enable --now cron.service"]);
        t.link("/etc/systemd/system/cron.service", "/dev/null");
        fails_with(&t, &["masked"]);
    }

    #[test]
    fn cronie_rules() {
        let Some(t) = tree() else { return };
        t.remove("/usr/sbin/cron");
        t.write("/usr/sbin/crond", "");
        t.chmod("/usr/sbin/crond", 0o755);
        t.write(
            "/lib/systemd/system/crond.service",
            "[Service]\nExecStart=/usr/sbin/crond -n\n[Install]\nWantedBy=multi-user.target\n",
        );
        t.link(
            "/etc/systemd/system/multi-user.target.wants/crond.service",
            "/lib/systemd/system/crond.service",
        );
        assert_eq!(outcome(&t), Outcome::Pass);
        t.remove(CRON_FILE);
        t.write("/etc/cron.d/citadel.backup", JOB);
        assert_eq!(outcome(&t), Outcome::Pass, "cronie reads dotted names");
        t.chmod("/etc/cron.d/citadel.backup", 0o755);
        fails_with(&t, &["BAD FILE MODE", "cronie"]);
    }

    #[test]
    fn an_unreadable_crontab_is_an_error_not_a_fail() {
        let Some(t) = tree() else { return };
        t.chmod(CRON_FILE, 0o600);
        crate::unprivileged::open_up(t.dir.path());
        let out = crate::unprivileged::as_nobody(|| outcome(&t)).unwrap();
        assert!(
            matches!(&out, Outcome::Error(e) if e.contains("permission denied")),
            "{out:?}"
        );
        // A readable job elsewhere is enough: what cannot be read does not matter then.
        let crontab = std::fs::read_to_string(t.path("/etc/crontab")).unwrap();
        t.write("/etc/crontab", &format!("{crontab}{JOB}"));
        let out = crate::unprivileged::as_nobody(|| outcome(&t)).unwrap();
        assert_eq!(out, Outcome::Pass);
    }

    #[test]
    fn policy_script_and_user_are_honoured() {
        let Some(t) = tree() else { return };
        let mut policy = Policy::embedded();
        policy.backup_job.user = "citadel".into();
        let out = run(&policy, &t.system());
        assert!(text(&out).contains("runs as root"), "{out:?}");
    }
}
