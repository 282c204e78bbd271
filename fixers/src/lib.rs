//! citadel-fixers: fix mode (SPEC §4). Fixers plan; this crate's apply layer changes the system, enforcing the
//! rules of §4 once for all of them.
//!
//! # Writing a fixer
//!
//! A fixer is a `fix::PlanFn`: `fn plan(policy: &Policy, system: &System) -> Plan`. It reads only through the
//! `System` view (like a check), compares with the policy, and returns the primitive actions that make its check
//! pass, in order, plus the `Refusal`s for what it will not do (`plan.refuse(subject, why, by_hand)`). An empty
//! plan means nothing to do. It never writes.
//!
//! - Actions (`action::Action`) state an end result: `CreateDir`, `SetOwnerMode`, `WriteFile`, `Symlink`,
//!   `RemoveSymlink`, `SysfsWrite`, `Mount`, `Remount`, `UmountMount`, `EnableUnit`, `InstallPackages`, `Run`. Paths are system
//!   paths; owners are numeric (resolve names through `/etc/passwd` under the root). Applying one whose effect
//!   holds changes nothing, so a fixer may be generous, but it must plan nothing on a compliant system: after
//!   applying, `fix::fix` plans again and anything still planned (other than what was pending or refused) fails
//!   the fix as "not idempotent".
//! - `WriteFile` carries the whole new content: build it from the current file so that lines the fixer does not
//!   own stay byte-identical. For `/etc/fstab` use `Validation::Fstab`; create a missing mount point with
//!   `CreateDir` before the fstab line that names it (`findmnt --verify` wants the target to exist).
//! - Rule 1 (data in the way) and rule 2 (storage not mounted) are enforced by the apply layer on every action;
//!   planners should still check them to refuse early with a helpful plan: `obstacle::inspect` and
//!   `mount_guard::unmounted_storage_above` / `mount_guard::refusal` are the same functions the apply layer
//!   uses (the single source of truth for rule 2 is `mount_guard`).
//!
//! # Running fixes (the CLI)
//!
//! ```text
//! --dry-run:  for each fixer in fix::FIX_ORDER:  fix::dry_run(plan, &policy, &system) -> FixReport  (no lock, no root)
//! --fix:      privilege::require_root(&root)?                      // before anything, on / only
//!             let lock = lock::acquire(&root, Duration::from_secs(10))?;   // LockError's Display says it all
//!             let host = host::RealHost;
//!             let applier = apply::Applier::new(&root, &lock, &policy, &host);
//!             for each fixer in FIX_ORDER: let (report, outcome) = fix::fix(&check, plan, &policy, &applier);
//! ```
//!
//! `FixReport { status, message, actions: [ActionReport {kind, target, summary, diff}], refusals, results }` is
//! `Serialize`; `status` is `not_needed | planned | fixed | pending | refused | failed` (`planned` only in a dry
//! run). `Plan::reports(root)` gives the actions with their unified diffs (`diff::file_diff`, git-style
//! `a/etc/fstab` / `b/etc/fstab` headers, `/dev/null` for a new file). A dry run plans every fixer on the same
//! unchanged system, so a later fixer does not see what an earlier one would do.
//!
//! # What applying guarantees
//!
//! - Files: temp file beside the target (`.NAME.citadel-tmp.PID.N`, a name cron, run-parts and udev never read),
//!   owner then mode, fsync, validation, dated backup of the old version under
//!   `/var/backups/citadel-check/<mirrored path>.<YYYYMMDDTHHMMSSZ>` (never beside it; none for a new file),
//!   rename, fsync of the directory. Same content: nothing written, not even the mtime. Temp files of dead runs
//!   are removed by the next write to the same path.
//! - Symlinks: a temp link renamed over the old link; an empty directory in the way is removed first. Anything
//!   else in the way is refused, and `atomic` refuses it again at the lowest level. `RemoveSymlink` removes a
//!   link only while it still points where the plan saw it point; it is the only removal there is.
//! - Packages: `InstallPackages` on apt runs `apt-get update` first, then installs or reinstalls in one
//!   transaction; on dnf, `dnf install` then `dnf reinstall` (a broken tool may belong to an installed package).
//! - Paths resolve chroot-style: a link inside a `--root` tree never leads a write out onto the host.
//! - Kernel actions (sysfs, mount, packages, commands, starting a unit) run through `host::Host` only when the
//!   root is `/`; under any other root they are `pending` and nothing runs (the `EnableUnit` link is a file and
//!   is made under the root). A start where systemd is not running is `pending` until boot; the fix is still
//!   `fixed` when the check passes without it (`fix::judge`). A unit file missing after a pending action (the
//!   package installation that ships it) leaves the link pending too, not refused.
//! - Each action tried is one JSON line in `/opt/citadel/logs/citadel-check.log` under the root (`audit`):
//!   `{time, pid, check, kind, target, summary, result, message}`. If that log cannot be opened, nothing is
//!   applied. An empty plan touches nothing, not even the log.
//! - `UmountMount` of a busy file system (`umount`: "target is busy") is `pending`, not `failed`: nothing changed,
//!   and the fstab entry written before it takes effect at the next mount or boot.
//! - After a failed action the rest of that plan is `skipped`.
//! - Test-only: with `CITADEL_CHECK_FAULT_KILL_AT=N` (`apply::FAULT_KILL_AT`) the process SIGKILLs itself just
//!   before it tries the run's N-th action, so that tests can kill a fix between any two actions (rule 7).

pub mod action;
pub mod apply;
pub mod atomic;
pub mod audit;
pub mod backup;
pub mod clock;
pub mod diff;
pub mod filesystem;
pub mod fix;
pub mod fixers;
pub mod fspath;
pub mod fstab_edit;
pub mod host;
pub mod lock;
pub mod mount_guard;
pub mod obstacle;
pub mod outcome;
pub mod privilege;
#[cfg(test)]
mod testing;
pub mod validate;

pub use action::{Action, ActionReport, PackageManager, Plan, Refusal, Validation};
pub use apply::Applier;
pub use fix::{dry_run, fix, FixReport, FixStatus, Fixer, PlanFn, FIX_ORDER};
pub use outcome::{ActionResult, ActionStatus};
