//! Fixer for check `backup_cron`: a job cron really runs, its script, and a cron daemon installed and enabled.
//! Each part is planned only when the check's own reading of it fails, so a host that passes plans nothing.
//!
//! The job (when no place cron reads runs the script daily; the places and their verdicts are the check's):
//! - The policy's cron file (`[backup_job].cron_file`, `/etc/cron.d/citadel-backup`) exists: it is rewritten.
//!   citadel-check owns the lines about the job (those naming or running the script, as the check finds them):
//!   the first becomes the policy's line `SCHEDULE USER SCRIPT`, the others go (two would run the backup twice);
//!   with none, the line is appended. Every other line is someone else's job or setting and stays, except what
//!   keeps cron from reading the file: a CR at a line's end (a CRLF file) goes, a missing final newline is added,
//!   and under Debian cron a line cron rejects ("bad minute") is commented out with a note above it, since one
//!   such line makes cron ignore the whole file. Owner root, mode 0644, one hard link (the apply layer's rename
//!   gives it an inode of its own); the old version is kept under /var/backups/citadel-check.
//! - It is a symlink: refused (cron reads its target, which citadel-check does not rewrite through a link).
//! - It is missing: a crontab that cron refuses only for its owner or mode, and whose job would run once cron
//!   accepts it (root's crontab at 0644), gets `SetOwnerMode` with the mode and owner crontab(1) gives it
//!   (0600; 0644 root:root for a system crontab), rather than a second job. Otherwise the file is created with
//!   a header comment, `SHELL`, `PATH` and the job line (`/etc/cron.d` made first when missing).
//! - Files cron never reads (`citadel.backup`, `citadel-backup~`, a dotted `/etc/cron.daily` name) are left as
//!   they are: they run nothing, and SPEC §4 rule 1 removes nothing that holds data. A job elsewhere that cron
//!   runs but the check rejects (a weekly line in /etc/crontab) is left too: it is not citadel-check's file.
//! - A cron file the installed cron never reads by its path or name (policy), a user /etc/passwd lacks, or
//!   crontabs that cannot be read (a job there may run it already): refused.
//!
//! The script: missing, not a regular file or not executable is the `scripts` fixer's to fix, and it runs
//! before this one; still so at plan time, it is refused naming it. A dry run plans every fixer on the unchanged
//! system, so there the refusal shows too, beside the scripts fixer's planned install.
//!
//! The daemon: neither `/usr/sbin/cron` nor `/usr/sbin/crond` installed: `InstallPackages` of `cron` (apt) or
//! `cronie` (dnf), then its unit (`cron.service`, `crond.service`) enabled and started (`units`). Installed but
//! its unit missing: the package reinstalled, then enabled. Disabled: enabled. Masked: refused.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

use citadel_checks::cron::crontab::{Crontab, Format, LineKind};
use citadel_checks::cron::files::{self, Admission, TabKind};
use citadel_checks::cron::jobs::{self, Wanted};
use citadel_checks::cron::{Cron, Flavor, Tab};
use citadel_checks::systemd::{UnitState, UnitStatus};
use citadel_checks::{Policy, System};

use super::{support, units};
use crate::action::{Action, PackageManager, Plan, Validation};
use crate::obstacle::Existing;

/// What a new cron file holds above its job line: what it is, and the environment its job runs in.
const HEADER: &str = "# Managed by citadel-check: nightly incremental backup of the Citadel models and configs.\n\
                      SHELL=/bin/sh\n\
                      PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n";

/// The cron daemons are pulled in by `multi-user.target`.
const TARGET: &str = "multi-user.target";

/// Owner root, readable by all, writable by root: what both crons accept for a system crontab.
const SYSTEM_MODE: u32 = 0o644;
/// What crontab(1) gives a user's crontab, and the only mode Debian cron accepts there.
const SPOOL_MODE: u32 = 0o600;

pub fn plan(policy: &Policy, system: &System) -> Plan {
    let mut plan = Plan::new();
    let cron = match system.cron() {
        Ok(cron) => cron,
        Err(e) => {
            support::cannot_inspect(&mut plan, &e.path, &e);
            return plan;
        }
    };
    let script = policy.backup_script_path();
    let job = &policy.backup_job;
    let wanted = Wanted {
        script: &script,
        user: &job.user,
        schedule: &job.schedule,
        cron_file: &job.cron_file,
    };
    if !jobs::places(cron, system.root(), &wanted)
        .iter()
        .any(|p| p.verdict.is_ok())
    {
        the_job(&mut plan, system, cron, &wanted);
    }
    the_script(&mut plan, system, &script);
    the_daemon(&mut plan, system, cron);
    plan
}

fn the_job(plan: &mut Plan, system: &System, cron: &Cron, wanted: &Wanted) {
    let unreadable = cron.unreadable();
    if let Some(first) = unreadable.first() {
        let list: Vec<String> = unreadable.iter().map(|e| e.to_string()).collect();
        plan.refuse(
            first.path.display().to_string(),
            format!(
                "cannot read every crontab ({}): a job there may run the backup already, and a second one would \
                 run it twice",
                list.join("; ")
            ),
            "run citadel-check --fix as root",
        );
        return;
    }
    if !cron.users.exists(wanted.user) {
        plan.refuse(
            "/etc/passwd",
            format!(
                "there is no user {} ([backup_job].user): cron rejects a job line naming an unknown user",
                wanted.user
            ),
            format!(
                "create the user {} or change [backup_job].user in the policy, then run --fix again",
                wanted.user
            ),
        );
        return;
    }
    let path = wanted.cron_file;
    if !read_by_cron(plan, cron, path) {
        return;
    }
    let line = format!("{} {} {}", wanted.schedule, wanted.user, wanted.script.display());
    let write = |content: String| Action::WriteFile {
        path: path.to_path_buf(),
        content: content.into_bytes(),
        uid: 0,
        gid: 0,
        mode: SYSTEM_MODE,
        validation: Validation::None,
    };
    let missing_dir = match support::existing(system, path) {
        Ok(Existing::File) => {
            let format = Format {
                user_field: true,
                flavor: cron.flavor,
            };
            match system.root().read_text(path) {
                Ok(text) => {
                    let crontab = Crontab::parse(&text, format, &cron.users);
                    plan.push(write(rewrite(system, cron, wanted, &crontab, &line)));
                }
                Err(e) => support::cannot_inspect(plan, path, &e),
            }
            return;
        }
        Ok(Existing::Symlink(target)) => {
            return plan.refuse(
                path.display().to_string(),
                format!(
                    "{} is a symlink to {}: cron reads the target, which citadel-check does not rewrite through a \
                     link",
                    path.display(),
                    target.display()
                ),
                format!(
                    "fix {} as the backup_cron check says, or remove the link (rm {}; its target stays) and run \
                     --fix again to create the file",
                    target.display(),
                    path.display()
                ),
            )
        }
        Ok(Existing::Missing) => false,
        Ok(other) => return support::in_the_way(plan, path, &other, "a regular file"),
        Err(e) if e.is_not_found() => true,
        Err(e) => return support::cannot_inspect(plan, path, &e),
    };
    if let Some(repair) = repairable_crontab(system, cron, wanted) {
        return plan.push(repair);
    }
    if let (true, Some(dir)) = (missing_dir, path.parent()) {
        // cron's package makes /etc/cron.d, but it may be the next thing installed, and the file comes first.
        plan.push(Action::CreateDir {
            path: dir.to_path_buf(),
            uid: 0,
            gid: 0,
            mode: 0o755,
        });
    }
    plan.push(write(format!("{HEADER}{line}\n")));
}

/// Whether the installed cron reads a crontab at `path` (`/etc/crontab`, or `/etc/cron.d/NAME` with a name it
/// reads); a refusal naming the policy key when not.
fn read_by_cron(plan: &mut Plan, cron: &Cron, path: &Path) -> bool {
    let shown = path.display();
    if path == Path::new(files::SYSTEM_CRONTAB) {
        return true;
    }
    if path.parent() != Some(Path::new(files::CRON_D)) {
        plan.refuse(
            shown.to_string(),
            format!("cron never reads {shown}: it reads /etc/crontab, /etc/cron.d/NAME and the users' crontabs"),
            "set [backup_job].cron_file in the policy to /etc/cron.d/NAME, then run --fix again",
        );
        return false;
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    match files::cron_d_name_ok(cron.flavor, &name) {
        Ok(()) => true,
        Err(why) => {
            plan.refuse(
                shown.to_string(),
                format!("{} would never read {shown}: {why}", cron.flavor.name()),
                "name [backup_job].cron_file in the policy with letters, digits, _ and - only, then run --fix again",
            );
            false
        }
    }
}

/// The policy's cron file with its job line(s) replaced by `line` (or `line` appended), and every other line
/// kept, made readable for cron: CR line ends and a missing final newline fixed; under Debian cron, a line it
/// rejects commented out (one would make it ignore the whole file).
fn rewrite(system: &System, cron: &Cron, wanted: &Wanted, crontab: &Crontab, line: &str) -> String {
    let mut out = String::new();
    let mut placed = false;
    for l in &crontab.lines {
        if jobs::is_candidate(cron, system.root(), wanted, crontab, l) {
            if !placed {
                out.push_str(line);
                out.push('\n');
                placed = true;
            }
            continue;
        }
        let text = l.text.strip_suffix('\r').unwrap_or(&l.text);
        if let Some(error) = rejected(cron, crontab, text) {
            out.push_str(&format!(
                "# citadel-check commented out the next line: Debian cron rejects it ({error}) and would ignore \
                 this whole file\n# {text}\n"
            ));
            continue;
        }
        out.push_str(text);
        out.push('\n');
    }
    if !placed {
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// What Debian cron logs for `text` as a line of a file of this format, if it rejects it; `None` under cronie,
/// which skips such a line and runs the rest.
fn rejected(cron: &Cron, crontab: &Crontab, text: &str) -> Option<&'static str> {
    if crontab.format.flavor != Flavor::Debian {
        return None;
    }
    let alone = Crontab::parse(&format!("{text}\n"), crontab.format, &cron.users);
    match alone.lines.first().map(|l| &l.kind) {
        Some(LineKind::Bad(bad)) => Some(bad.error),
        _ => None,
    }
}

/// `SetOwnerMode` for a crontab cron refuses only for its owner or mode, when its job would run once cron
/// accepts it (the check's own judgement, on the system as it would then be).
fn repairable_crontab(system: &System, cron: &Cron, wanted: &Wanted) -> Option<Action> {
    let root = system.root();
    cron.tabs.iter().enumerate().find_map(|(i, tab)| {
        let Admission::Refused { log, .. } = &tab.admission else {
            return None;
        };
        if !matches!(*log, "INSECURE MODE" | "BAD FILE MODE" | "WRONG FILE OWNER") {
            return None;
        }
        // Never through a link; and a file with several hard links needs a copy of its own, not a chmod.
        let meta = root.lstat(&tab.path).ok().filter(|m| m.is_file() && m.nlink() == 1)?;
        let mut accepted = cron.clone();
        accepted.tabs[i].admission = Admission::Read;
        if !jobs::places(&accepted, root, wanted).iter().any(|p| p.verdict.is_ok()) {
            return None;
        }
        let (uid, gid, mode) = canonical_owner_mode(cron, tab)?;
        Some(Action::SetOwnerMode {
            path: tab.path.clone(),
            uid: (meta.uid() != uid).then_some(uid),
            gid: gid.filter(|g| *g != meta.gid()),
            mode: (meta.permissions().mode() & 0o7777 != mode).then_some(mode),
        })
    })
}

/// The owner and mode a crontab gets: root:root 0644 for a system crontab; a user's crontab belongs to its user
/// (its group left as crontab(1) set it) with mode 0600.
fn canonical_owner_mode(cron: &Cron, tab: &Tab) -> Option<(u32, Option<u32>, u32)> {
    match &tab.kind {
        TabKind::Spool { user } => Some((cron.users.uid(user)?, None, SPOOL_MODE)),
        TabKind::SystemCrontab | TabKind::CronD => Some((0, Some(0), SYSTEM_MODE)),
    }
}

/// The script is the `scripts` fixer's; this one only says that the job waits for it.
fn the_script(plan: &mut Plan, system: &System, script: &Path) {
    let shown = script.display();
    let why = match system.root().metadata(script) {
        Ok(meta) if meta.is_file() && meta.permissions().mode() & 0o111 != 0 => return,
        Ok(meta) if meta.is_file() => format!(
            "{shown} has mode {:04o}, not executable: the job would run nothing",
            meta.permissions().mode() & 0o7777
        ),
        Ok(_) => format!("{shown} is not a regular file: the job would run nothing"),
        Err(e) if e.is_not_found() => format!("{shown} is missing: the job would run nothing"),
        Err(e) => return support::cannot_inspect(plan, script, &e),
    };
    support::waits_for(plan, script, why, "scripts");
}

fn the_daemon(plan: &mut Plan, system: &System, cron: &Cron) {
    if cron.installed.is_some() {
        let Some(unit) = daemon_unit(plan, system, cron.flavor) else {
            return;
        };
        if unit.state() != UnitState::NotFound {
            return units::enable(plan, system, &unit, TARGET, None);
        }
    }
    // Not installed, or installed without its unit file: the package (re)installed brings both.
    let wanted = match cron.installed {
        Some(_) => cron.flavor.package(),
        None => "cron (Debian, Ubuntu) or cronie (RHEL, Fedora)",
    };
    let Some(manager) = support::package_manager(system, &[wanted.to_string()], plan) else {
        return;
    };
    let flavor = match cron.installed {
        Some(_) => cron.flavor,
        None => flavor_of(manager),
    };
    let Some(unit) = daemon_unit(plan, system, flavor) else {
        return;
    };
    plan.push(Action::InstallPackages {
        manager,
        packages: vec![flavor.package().to_string()],
    });
    let shipped = units::vendor_unit_file(manager, flavor.unit());
    units::enable(plan, system, &unit, TARGET, Some(&shipped));
}

/// What the unit directories say about the daemon's unit; a refusal when they cannot be read.
fn daemon_unit(plan: &mut Plan, system: &System, flavor: Flavor) -> Option<UnitStatus> {
    match system.systemd().and_then(|systemd| systemd.unit(flavor.unit())) {
        Ok(unit) => Some(unit),
        Err(e) => {
            support::cannot_inspect(plan, &e.path, &e);
            None
        }
    }
}

/// The cron a distribution's package manager installs.
fn flavor_of(manager: PackageManager) -> Flavor {
    match manager {
        PackageManager::Apt => Flavor::Debian,
        PackageManager::Dnf => Flavor::Cronie,
    }
}
