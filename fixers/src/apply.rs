//! Applying a plan under a root: one function per primitive, the rules of SPEC §4 enforced here once.
//!
//! - Rule 1 (no data lost): `obstacle` decides what may be replaced; `atomic` refuses anything else again.
//! - Rule 2 (nothing under an unmounted storage): `mount_guard`, with mountinfo read afresh before each change.
//! - Rules 3, 4, 7 (atomic writes, dated backups, validation): `WriteFile` via `atomic`, `backup`, `validate`.
//! - Rule 5 (one fix at a time): an `Applier` cannot be built without a `LockGuard`.
//! - Rule 8 (audit): every action tried is appended to the audit log, which must open before anything runs.
//! - Kernel actions run through `Host` only when the root is `/`; elsewhere they are `pending`.
//! - Idempotence: each function first compares; an effect that holds is `unchanged` and nothing is written.

use std::cell::{Cell, OnceCell};
use std::fs::{self, Metadata};
use std::io;
use std::os::unix::fs::{lchown, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use citadel_checks::mountinfo::MountTable;
use citadel_checks::{Policy, SystemRoot};

use crate::action::{unit_link_path, Action, Plan, Validation};
use crate::audit::{AuditLog, AUDIT_LOG};
use crate::fspath::{self, Located};
use crate::host::Host;
use crate::lock::LockGuard;
use crate::obstacle::{self, inspect, Existing};
use crate::outcome::{ActionResult, ActionStatus};
use crate::{atomic, backup, mount_guard, validate};

/// What an action came to, before it is tied to the action: a status and its message.
type Done = (ActionStatus, String);

/// Test-only fault injection (SPEC §4 rule 7, `tests/fix_safety.rs`): with `CITADEL_CHECK_FAULT_KILL_AT=N` in the
/// environment, the process SIGKILLs itself just before it tries the run's N-th action (counted from 1 over
/// every plan this `Applier` applies, the order of the audit log). Nothing else reads it.
pub const FAULT_KILL_AT: &str = "CITADEL_CHECK_FAULT_KILL_AT";

/// Applies plans to one root, holding the fix lock.
pub struct Applier<'a> {
    root: &'a SystemRoot,
    _lock: &'a LockGuard,
    host: &'a dyn Host,
    storages: Vec<PathBuf>,
    audit: OnceCell<Result<AuditLog, String>>,
    /// Actions tried so far in this run, and the one to be killed before (`FAULT_KILL_AT`).
    tried: Cell<usize>,
    kill_at: Option<usize>,
}

impl<'a> Applier<'a> {
    /// `policy` names the storage mount points that must be mounted before anything is created under them.
    pub fn new(root: &'a SystemRoot, lock: &'a LockGuard, policy: &Policy, host: &'a dyn Host) -> Self {
        Applier {
            root,
            _lock: lock,
            host,
            storages: mount_guard::storage_mount_points(policy),
            audit: OnceCell::new(),
            tried: Cell::new(0),
            kill_at: std::env::var(FAULT_KILL_AT).ok().and_then(|n| n.trim().parse().ok()),
        }
    }

    pub fn root(&self) -> &SystemRoot {
        self.root
    }

    /// Applies the plan's actions in order, recording each in the audit log under `check` (the id of the check
    /// whose fixer planned them). After a failed action the rest are `skipped`: they may depend on it. The
    /// plan's refusals are not actions; the caller reports them.
    pub fn apply(&self, check: &str, plan: &Plan) -> Vec<ActionResult> {
        if plan.actions.is_empty() {
            return Vec::new();
        }
        let audit = match self
            .audit
            .get_or_init(|| AuditLog::open(self.root).map_err(|e| e.to_string()))
        {
            Ok(audit) => audit,
            Err(e) => {
                // Rule 8 holds even here: nothing is applied that cannot be recorded.
                let (status, message) = refused(
                    format!("not applied: the audit log {AUDIT_LOG} cannot be opened: {e}"),
                    "make /opt/citadel/logs a writable directory, then run --fix again",
                );
                return plan
                    .actions
                    .iter()
                    .map(|a| ActionResult::new(a, status, message.clone()))
                    .collect();
            }
        };
        let mut results = Vec::with_capacity(plan.actions.len());
        let mut failed = false;
        let mut after_pending = false;
        for action in &plan.actions {
            self.tried.set(self.tried.get() + 1);
            if self.kill_at == Some(self.tried.get()) {
                // SAFETY: raise(3) takes no pointer; SIGKILL cannot be caught, so nothing runs after it.
                unsafe {
                    nix::libc::raise(nix::libc::SIGKILL);
                }
            }
            let (status, message) = if failed {
                (
                    ActionStatus::Skipped,
                    "not tried: an earlier action of this fix failed".to_string(),
                )
            } else {
                self.apply_one(action, after_pending)
            };
            failed |= status == ActionStatus::Failed;
            after_pending |= status == ActionStatus::Pending;
            let mut result = ActionResult::new(action, status, message);
            if let Err(e) = audit.record(check, &result, SystemTime::now()) {
                result
                    .message
                    .push_str(&format!(" (not recorded in the audit log {AUDIT_LOG}: {e})"));
            }
            results.push(result);
        }
        results
    }

    /// `after_pending`: an earlier action of the plan is pending (what it would bring is not there yet).
    fn apply_one(&self, action: &Action, after_pending: bool) -> Done {
        if action.is_kernel_action() && !self.root.is_host() {
            return self.not_on_this_root(action);
        }
        match action {
            Action::CreateDir { path, uid, gid, mode } => self.create_dir(path, *uid, *gid, *mode),
            Action::SetOwnerMode { path, uid, gid, mode } => self.set_owner_mode(path, *uid, *gid, *mode),
            Action::WriteFile {
                path,
                content,
                uid,
                gid,
                mode,
                validation,
            } => self.write_file(path, content, (*uid, *gid, *mode), *validation),
            Action::Symlink { path, target } => self.symlink(path, target),
            Action::RemoveSymlink { path, target } => self.remove_symlink(path, target),
            Action::SysfsWrite { path, value } => self.sysfs_write(path, value),
            Action::Mount { target, .. } => self.mount(action, target),
            Action::EnableUnit {
                unit,
                wanted_by,
                unit_file,
                now,
            } => self.enable_unit(action, (unit, wanted_by, unit_file), *now, after_pending),
            Action::UmountMount { target } => self.umount_mount(action, target),
            Action::Remount { .. } | Action::InstallPackages { .. } | Action::Run { .. } => self.run_commands(action),
        }
    }

    /// A kernel action under a root that is not `/`: nothing runs; the message says what would.
    fn not_on_this_root(&self, action: &Action) -> Done {
        let would = match action {
            Action::SysfsWrite { path, value } => format!("write {value:?} to {}", path.display()),
            _ => format!("run {}", action.command_line()),
        };
        (
            ActionStatus::Pending,
            format!(
                "not run: the root is {}, not the running system; on the running system this would {would}",
                self.root.base().display()
            ),
        )
    }

    /// Locates `path` for a change that creates something, enforcing rule 2 on the resolved path.
    fn place(&self, path: &Path) -> Result<Located, Done> {
        let located = fspath::locate(self.root, path).map_err(|e| {
            if e.is_not_found() {
                refused(
                    format!(
                        "{} does not exist, so {} cannot be made",
                        e.path.display(),
                        path.display()
                    ),
                    "create it first (an earlier action or fix should have), then run --fix again",
                )
            } else {
                (ActionStatus::Failed, e.to_string())
            }
        })?;
        if self.storages.iter().any(|mp| located.system.starts_with(mp)) {
            let mounts = MountTable::load(self.root).map_err(|e| {
                refused(
                    format!(
                        "cannot tell whether the storage above {} is mounted: {e}",
                        path.display()
                    ),
                    "check /proc/self/mountinfo, then run --fix again",
                )
            })?;
            if let Some(mp) = mount_guard::unmounted_storage_above(&mounts, &self.storages, &located.system) {
                let refusal = mount_guard::refusal(&located.system, mp);
                return Err(refused(refusal.why, refusal.by_hand));
            }
        }
        Ok(located)
    }

    fn create_dir(&self, path: &Path, uid: u32, gid: u32, mode: u32) -> Done {
        let located = match self.place(path) {
            Ok(l) => l,
            Err(done) => return done,
        };
        match inspect(&located.host) {
            Ok(Existing::Missing) => done(
                atomic::replace_with_dir(&located.host, uid, gid, mode),
                format!("created {}", path.display()),
            ),
            Ok(Existing::Symlink(target)) => done(
                atomic::replace_with_dir(&located.host, uid, gid, mode),
                format!(
                    "replaced the symlink {} -> {} with a directory",
                    path.display(),
                    target.display()
                ),
            ),
            Ok(Existing::EmptyDir | Existing::NonEmptyDir) => {
                fix_owner_mode(&located.host, path, Some(uid), Some(gid), Some(mode))
            }
            Ok(other) => refuse_in_the_way(&located.system, &other, "a directory"),
            Err(e) => failed(path, e),
        }
    }

    fn set_owner_mode(&self, path: &Path, uid: Option<u32>, gid: Option<u32>, mode: Option<u32>) -> Done {
        let located = match fspath::locate(self.root, path) {
            Ok(l) => l,
            Err(e) => return (ActionStatus::Failed, e.to_string()),
        };
        match inspect(&located.host) {
            Ok(Existing::Missing) => refused(
                format!("{} does not exist", path.display()),
                "create it first, then run --fix again",
            ),
            Ok(Existing::Symlink(_)) => refused(
                format!(
                    "{} is a symlink: owner and mode are never changed through a link",
                    path.display()
                ),
                format!("check what {} should be, then run --fix again", path.display()),
            ),
            Ok(_) => fix_owner_mode(&located.host, path, uid, gid, mode),
            Err(e) => failed(path, e),
        }
    }

    fn write_file(
        &self,
        path: &Path,
        content: &[u8],
        (uid, gid, mode): (u32, u32, u32),
        validation: Validation,
    ) -> Done {
        let located = match self.place(path) {
            Ok(l) => l,
            Err(done) => return done,
        };
        let current = match inspect(&located.host) {
            Ok(Existing::Missing) => None,
            Ok(Existing::File) => match fs::read(&located.host).and_then(|c| Ok((c, fs::metadata(&located.host)?))) {
                Ok(current) => Some(current),
                Err(e) => return failed(path, e),
            },
            Ok(other) => return refuse_in_the_way(&located.system, &other, "a regular file"),
            Err(e) => return failed(path, e),
        };
        if let Some((old, meta)) = &current {
            // Same bytes: at most owner and mode, in place; the mtime stays. A hard-linked file is replaced all
            // the same (the rename gives it an inode of its own): cron refuses a file with more than one link.
            if old == content && meta.nlink() == 1 {
                return fix_owner_mode(&located.host, path, Some(uid), Some(gid), Some(mode));
            }
        }
        let prepared = match atomic::prepare_file(&located.host, content, uid, gid, mode) {
            Ok(p) => p,
            Err(e) => return failed(path, e),
        };
        if let Err(why) = validate::validate(
            validation,
            self.root,
            self.host,
            content,
            prepared.temp_path(),
            &located.host,
        ) {
            return (
                ActionStatus::Failed,
                format!("{why}; {} was left as it was", path.display()),
            );
        }
        let kept = match &current {
            Some((old, meta)) => {
                match backup::keep(
                    self.root,
                    &located.system,
                    old,
                    (meta.uid(), meta.gid(), meta.mode()),
                    SystemTime::now(),
                ) {
                    Ok(kept) => Some(kept),
                    Err(e) => {
                        return (
                            ActionStatus::Failed,
                            format!("cannot keep a backup of {}: {e}; it was left as it was", path.display()),
                        )
                    }
                }
            }
            None => None,
        };
        match prepared.commit() {
            Ok(()) => (
                ActionStatus::Applied,
                match kept {
                    Some(kept) => format!("wrote {} (previous version kept as {})", path.display(), kept.display()),
                    None => format!("created {}", path.display()),
                },
            ),
            Err(e) => failed(path, e),
        }
    }

    fn symlink(&self, path: &Path, target: &Path) -> Done {
        let located = match self.place(path) {
            Ok(l) => l,
            Err(done) => return done,
        };
        match inspect(&located.host) {
            Ok(Existing::Symlink(current)) if current == target => (
                ActionStatus::Unchanged,
                format!("{} already points to {}", path.display(), target.display()),
            ),
            Ok(existing @ (Existing::Missing | Existing::Symlink(_) | Existing::EmptyDir)) => {
                let was = match existing {
                    Existing::Symlink(old) => format!(" (was -> {})", old.display()),
                    Existing::EmptyDir => " (replaced an empty directory)".to_string(),
                    _ => String::new(),
                };
                done(
                    atomic::replace_with_symlink(&located.host, target),
                    format!("linked {} -> {}{was}", path.display(), target.display()),
                )
            }
            Ok(other) => refuse_in_the_way(&located.system, &other, "a symlink"),
            Err(e) => failed(path, e),
        }
    }

    /// Removes the link only while it still points where the plan saw it point: one re-pointed since is someone
    /// else's decision. Removing creates nothing, so rule 2 does not apply.
    fn remove_symlink(&self, path: &Path, target: &Path) -> Done {
        let located = match fspath::locate(self.root, path) {
            Ok(l) => l,
            Err(e) if e.is_not_found() => {
                return (
                    ActionStatus::Unchanged,
                    format!("{} does not exist: no link to remove", path.display()),
                )
            }
            Err(e) => return (ActionStatus::Failed, e.to_string()),
        };
        match inspect(&located.host) {
            Ok(Existing::Missing) => (
                ActionStatus::Unchanged,
                format!("{} does not exist: no link to remove", path.display()),
            ),
            Ok(Existing::Symlink(current)) if current == target => done(
                atomic::remove_symlink(&located.host),
                format!("removed the symlink {} -> {}", path.display(), target.display()),
            ),
            Ok(Existing::Symlink(current)) => refused(
                format!(
                    "{} now points to {}, not to {} as planned: left as it is",
                    path.display(),
                    current.display(),
                    target.display()
                ),
                format!("look at {}, then run --fix again", path.display()),
            ),
            Ok(other) => refused(
                format!(
                    "{} is {}, not a symlink: citadel-check removes nothing but symlinks",
                    path.display(),
                    other.describe()
                ),
                format!("look at {}, then run --fix again", path.display()),
            ),
            Err(e) => failed(path, e),
        }
    }

    fn sysfs_write(&self, path: &Path, value: &str) -> Done {
        let host_path = self.root.path(path);
        if let Ok(current) = fs::read_to_string(&host_path) {
            if sysfs_holds(&current, value) {
                return (
                    ActionStatus::Unchanged,
                    format!("{} is already {value:?}", path.display()),
                );
            }
        }
        match self.host.write_sysfs(&host_path, value) {
            Ok(()) => (ActionStatus::Applied, format!("wrote {value:?} to {}", path.display())),
            Err(e) => failed(path, e),
        }
    }

    fn mount(&self, action: &Action, target: &Path) -> Done {
        if let Ok(mounts) = MountTable::load(self.root) {
            if mounts.visible_at(target).is_some() {
                return (
                    ActionStatus::Unchanged,
                    format!("{} is already mounted", target.display()),
                );
            }
        }
        self.run_commands(action)
    }

    /// A missing unit file is refused, unless an earlier action of the plan is pending: then it is the package
    /// installation that ships it, which waits for the running system, and so does the link.
    fn enable_unit(
        &self,
        action: &Action,
        (unit, wanted_by, unit_file): (&str, &str, &Path),
        now: bool,
        after_pending: bool,
    ) -> Done {
        for dir in ["/etc/systemd/system", "/run/systemd/system"] {
            let mask = Path::new(dir).join(unit);
            if self.root.read_link(&mask).is_ok_and(|t| t == Path::new("/dev/null")) {
                return refused(
                    format!("{unit} is masked ({} -> /dev/null)", mask.display()),
                    format!("unmask it if it should run (systemctl unmask {unit}), then run --fix again"),
                );
            }
        }
        if self.root.metadata(unit_file).is_err() {
            if after_pending {
                return (
                    ActionStatus::Pending,
                    format!(
                        "not linked: the unit file {} does not exist yet: it comes with the pending action before \
                         this one (the package that ships it); run --fix again once that has run",
                        unit_file.display()
                    ),
                );
            }
            return refused(
                format!("the unit file {} does not exist", unit_file.display()),
                format!("install the package that ships {unit}, then run --fix again"),
            );
        }
        let link = unit_link_path(unit, wanted_by);
        let wants = link.parent().unwrap_or(Path::new("/etc/systemd/system"));
        let (uid, gid) = (nix::unistd::geteuid().as_raw(), nix::unistd::getegid().as_raw());
        if let Err(e) = fspath::ensure_dir(self.root, wants, uid, gid, 0o755) {
            return failed(wants, e);
        }
        let (linked, message) = self.symlink(&link, unit_file);
        if !matches!(linked, ActionStatus::Applied | ActionStatus::Unchanged) || !now {
            return (linked, message);
        }
        if !self.root.is_host() {
            return (
                ActionStatus::Pending,
                format!(
                    "{message}; not started: the root is {}, not the running system; it starts at boot",
                    self.root.base().display()
                ),
            );
        }
        if !self.root.exists("/run/systemd/system") {
            return (
                ActionStatus::Pending,
                format!("{message}; not started: systemd is not running here; it starts at the next boot"),
            );
        }
        let active = self
            .host
            .run(&["systemctl".into(), "is-active".into(), "--quiet".into(), unit.into()])
            .is_ok_and(|o| o.success());
        if active {
            return (linked, format!("{message}; {unit} is active"));
        }
        match self.run_commands(action) {
            (ActionStatus::Applied, ran) => (ActionStatus::Applied, format!("{message}; {ran}")),
            other => other,
        }
    }

    /// Unmount, then mount from fstab. A busy file system is not a failure: nothing was changed, and the fstab
    /// entry (written before) takes effect at the next mount; the message says how to find what holds it.
    fn umount_mount(&self, action: &Action, target: &Path) -> Done {
        match self.run_commands(action) {
            (ActionStatus::Failed, message)
                if message.starts_with("`umount ") && message.contains("target is busy") =>
            {
                (
                    ActionStatus::Pending,
                    format!(
                        "{message}; still mounted as before: the options in /etc/fstab take effect at the next \
                         remount or boot; close what holds it (`fuser -vm {0}`), then run --fix again",
                        target.display()
                    ),
                )
            }
            other => other,
        }
    }

    /// Runs the action's commands in order on the running system; the first failure ends it.
    fn run_commands(&self, action: &Action) -> Done {
        let mut ran = Vec::new();
        for argv in action.commands() {
            let line = argv.join(" ");
            match self.host.run(&argv) {
                Ok(out) if out.success() => ran.push(line),
                Ok(out) => {
                    let code = out.code.map_or("a signal".to_string(), |c| c.to_string());
                    return (
                        ActionStatus::Failed,
                        format!("`{line}` exited with {code}: {}", out.first_line()),
                    );
                }
                Err(e) => return (ActionStatus::Failed, format!("cannot run `{line}`: {e}")),
            }
        }
        (ActionStatus::Applied, format!("ran {}", ran.join("; ")))
    }
}

/// True when a sysfs attribute already shows `value`: as the whole content, or as the active choice of a list
/// (`none [mq-deadline] kyber`).
pub fn sysfs_holds(current: &str, value: &str) -> bool {
    let current = current.trim();
    current == value || current.split_whitespace().any(|w| w == format!("[{value}]"))
}

/// Sets owner then mode of an existing non-link entry where they differ; `unchanged` when both hold.
fn fix_owner_mode(host_path: &Path, path: &Path, uid: Option<u32>, gid: Option<u32>, mode: Option<u32>) -> Done {
    let meta = match fs::symlink_metadata(host_path) {
        Ok(m) => m,
        Err(e) => return failed(path, e),
    };
    let (owner_ok, mode_ok) = holds(&meta, uid, gid, mode);
    if owner_ok && mode_ok {
        return (
            ActionStatus::Unchanged,
            format!("{} already has its owner and mode", path.display()),
        );
    }
    let result = (|| {
        if !owner_ok {
            lchown(host_path, uid, gid)?;
        }
        if let Some(mode) = mode {
            // chown may have cleared set-id bits: set the mode after it, even if it looked right before.
            if fs::symlink_metadata(host_path)?.mode() & 0o7777 != mode {
                fs::set_permissions(host_path, fs::Permissions::from_mode(mode))?;
            }
        }
        io::Result::Ok(())
    })();
    let what = |v: Option<u32>| v.map_or("-".to_string(), |v| v.to_string());
    done(
        result,
        format!(
            "set {} to {}:{} mode {}",
            path.display(),
            what(uid),
            what(gid),
            mode.map_or("-".to_string(), |m| format!("{m:04o}"))
        ),
    )
}

/// Whether (owner, mode) already hold; `None` means "any".
fn holds(meta: &Metadata, uid: Option<u32>, gid: Option<u32>, mode: Option<u32>) -> (bool, bool) {
    let owner_ok = uid.is_none_or(|u| u == meta.uid()) && gid.is_none_or(|g| g == meta.gid());
    let mode_ok = mode.is_none_or(|m| m == meta.mode() & 0o7777);
    (owner_ok, mode_ok)
}

fn done(result: io::Result<()>, message: String) -> Done {
    match result {
        Ok(()) => (ActionStatus::Applied, message),
        Err(e) => (ActionStatus::Failed, format!("{message}: failed: {e}")),
    }
}

fn failed(path: &Path, e: io::Error) -> Done {
    (ActionStatus::Failed, format!("{}: {e}", path.display()))
}

/// A refusal's message: why, then what to do by hand.
fn refused(why: impl Into<String>, by_hand: impl Into<String>) -> Done {
    (
        ActionStatus::Refused,
        format!("{}; by hand: {}", why.into(), by_hand.into()),
    )
}

fn refuse_in_the_way(system_path: &Path, existing: &Existing, wanted: &str) -> Done {
    let refusal = obstacle::refusal(system_path, existing, wanted);
    refused(refusal.why, refusal.by_hand)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::CommandOutput;
    use std::cell::RefCell;

    /// Fails every command whose line contains `fail_on`; records all.
    struct ScriptedHost {
        fail_on: &'static str,
        ran: RefCell<Vec<String>>,
    }

    impl Host for ScriptedHost {
        fn run(&self, argv: &[String]) -> io::Result<CommandOutput> {
            let line = argv.join(" ");
            self.ran.borrow_mut().push(line.clone());
            let busy = line.contains(self.fail_on);
            Ok(CommandOutput {
                code: Some(if busy { 32 } else { 0 }),
                stdout: String::new(),
                stderr: if busy {
                    format!("{}: target is busy.\n", argv[0])
                } else {
                    String::new()
                },
            })
        }
        fn write_sysfs(&self, _: &Path, _: &str) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn commands_run_in_order_and_the_first_failure_ends_the_action() {
        let dir = tempfile::tempdir().unwrap();
        let root = SystemRoot::new(dir.path());
        let lock = crate::lock::acquire(&root, std::time::Duration::ZERO).unwrap();
        let host = ScriptedHost {
            fail_on: "umount",
            ran: RefCell::default(),
        };
        let applier = Applier::new(&root, &lock, &Policy::embedded(), &host);
        let cycle = Action::UmountMount {
            target: "/mnt/citadel-models".into(),
        };
        let (status, message) = applier.run_commands(&cycle);
        assert_eq!(status, ActionStatus::Failed);
        assert_eq!(
            message,
            "`umount /mnt/citadel-models` exited with 32: umount: target is busy."
        );
        assert_eq!(
            *host.ran.borrow(),
            ["umount /mnt/citadel-models"],
            "mount is not tried after"
        );
        let remount = Action::Remount {
            target: "/mnt/citadel-models".into(),
            options: vec!["noatime".into()],
        };
        assert_eq!(
            applier.run_commands(&remount),
            (
                ActionStatus::Applied,
                "ran mount -o remount,noatime /mnt/citadel-models".to_string()
            )
        );
    }

    #[test]
    fn a_busy_umount_leaves_the_mount_and_is_pending() {
        let dir = tempfile::tempdir().unwrap();
        let root = SystemRoot::new(dir.path());
        let lock = crate::lock::acquire(&root, std::time::Duration::ZERO).unwrap();
        let host = ScriptedHost {
            fail_on: "umount",
            ran: RefCell::default(),
        };
        let applier = Applier::new(&root, &lock, &Policy::embedded(), &host);
        let cycle = Action::UmountMount {
            target: "/mnt/citadel-models".into(),
        };
        let (status, message) = applier.umount_mount(&cycle, Path::new("/mnt/citadel-models"));
        assert_eq!(status, ActionStatus::Pending, "{message}");
        assert!(message.contains("target is busy"), "{message}");
        assert!(message.contains("fuser -vm /mnt/citadel-models"), "{message}");
        // A mount that fails after the umount is a failure, whatever it says: the storage is no longer mounted.
        struct MountFails;
        impl Host for MountFails {
            fn run(&self, argv: &[String]) -> io::Result<CommandOutput> {
                let fails = argv[0] == "mount";
                Ok(CommandOutput {
                    code: Some(if fails { 32 } else { 0 }),
                    stdout: String::new(),
                    stderr: if fails {
                        "mount: target is busy.".into()
                    } else {
                        String::new()
                    },
                })
            }
            fn write_sysfs(&self, _: &Path, _: &str) -> io::Result<()> {
                Ok(())
            }
        }
        let applier = Applier::new(&root, &lock, &Policy::embedded(), &MountFails);
        let (status, message) = applier.umount_mount(&cycle, Path::new("/mnt/citadel-models"));
        assert_eq!(status, ActionStatus::Failed, "{message}");
    }

    #[test]
    fn sysfs_choice_lists_show_the_active_one_in_brackets() {
        assert!(sysfs_holds("none [mq-deadline] kyber bfq \n", "mq-deadline"));
        assert!(!sysfs_holds("[none] mq-deadline kyber bfq \n", "mq-deadline"));
        assert!(sysfs_holds("1\n", "1"));
    }
}
