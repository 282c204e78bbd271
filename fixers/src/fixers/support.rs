//! What the fixers share: owners resolved through the root's own accounts, what stands at a path (classified
//! exactly as the apply layer classifies it), what a link in the way leads to, the refusals that name what must
//! come first, and the package manager of the root's distribution.

use std::path::Path;

use citadel_checks::os_release::OsRelease;
use citadel_checks::placement::StorageMount;
use citadel_checks::policy::Storage;
use citadel_checks::{FactError, FactErrorKind, System};

use crate::action::{Action, PackageManager, Plan, Refusal};
use crate::fspath;
use crate::mount_guard;
use crate::obstacle::{self, Existing};

/// The numeric ids of `owner` and `group` (names or decimal ids, as chown reads them) in the root's
/// `/etc/passwd` and `/etc/group`; a refusal for each that is unknown or unreadable. `section` names the policy
/// table they come from (`directories`).
pub fn owner_ids(system: &System, owner: &str, group: &str, section: &str, plan: &mut Plan) -> Option<(u32, u32)> {
    let accounts = match system.accounts() {
        Ok(accounts) => accounts,
        Err(e) => {
            plan.refuse(
                e.path.display().to_string(),
                format!("cannot resolve the owner {owner}:{group}: {e}"),
                "make /etc/passwd and /etc/group readable, then run --fix again",
            );
            return None;
        }
    };
    let uid = accounts.uid(owner);
    let gid = accounts.gid(group);
    if uid.is_none() {
        plan.refuse(
            "/etc/passwd",
            format!("there is no user {owner} ([{section}].owner)"),
            format!("create the user {owner} or change [{section}].owner in the policy, then run --fix again"),
        );
    }
    if gid.is_none() {
        plan.refuse(
            "/etc/group",
            format!("there is no group {group} ([{section}].group)"),
            format!("create the group {group} or change [{section}].group in the policy, then run --fix again"),
        );
    }
    Some((uid?, gid?))
}

/// What stands at `path`, its parent resolved inside the root: the classification the apply layer acts on. A
/// missing directory above it is `NotFound` naming that directory.
pub fn existing(system: &System, path: &Path) -> Result<Existing, FactError> {
    let located = fspath::locate(system.root(), path)?;
    obstacle::inspect(&located.host).map_err(|e| FactError::from_io(path, &e))
}

/// Whether anything can be reached through the symlink at `path`. A link that dangles, loops, or leads to an
/// empty directory hides nothing when it is replaced; one that leads to a file or to a directory with entries
/// would make that data vanish from where it was found.
pub fn reaches_data(system: &System, path: &Path) -> Result<bool, FactError> {
    let root = system.root();
    let target = match root.resolve(path) {
        Ok(target) => target,
        Err(e) if e.is_not_found() || e.kind == FactErrorKind::TooManyLinks => return Ok(false),
        Err(e) => return Err(e),
    };
    let meta = root.symlink_metadata(&target)?;
    if !meta.is_dir() {
        return Ok(true);
    }
    Ok(!root.read_dir_names(&target)?.is_empty())
}

/// Whether `storage` is mounted, as its checks judge it; a refusal naming the prerequisite when it is not (the
/// same words as the apply layer's rule 2), or when that cannot be told.
pub fn mounted_storage(system: &System, storage: &Storage, what: &str) -> Result<StorageMount, Refusal> {
    let mount_point = &storage.mount_point;
    match StorageMount::of(storage, system) {
        Ok(StorageMount::NotMounted(_)) => {
            let guard = mount_guard::refusal(mount_point, mount_point);
            Err(Refusal::new(
                mount_point.display().to_string(),
                format!(
                    "{} is not mounted: {what} would be created on the root file system and hidden by the mount",
                    mount_point.display()
                ),
                guard.by_hand,
            ))
        }
        Ok(mounted) => Ok(mounted),
        Err(e) => Err(Refusal::new(
            mount_point.display().to_string(),
            format!("cannot tell whether {} is mounted: {e}", mount_point.display()),
            "check /proc/self/mountinfo, then run --fix again",
        )),
    }
}

/// Plans `CreateDir` (root:root 0755, as `mkdir -p` run by root makes them) for the missing directories above
/// `path`, outermost first, so that a system file can be written where its package has not made the directory
/// yet (`/etc/udev/rules.d` without udev installed). Existing ones are left as they are.
pub fn create_missing_parents(plan: &mut Plan, system: &System, path: &Path) {
    let mut missing: Vec<&Path> = path
        .ancestors()
        .skip(1)
        .take_while(|dir| system.root().lstat(dir).is_err_and(|e| e.is_not_found()))
        .collect();
    missing.reverse();
    for dir in missing {
        plan.push(Action::CreateDir {
            path: dir.to_path_buf(),
            uid: 0,
            gid: 0,
            mode: 0o755,
        });
    }
}

/// The plan of a planner that needs facts it may not be able to read: an unreadable fact (permission denied, an
/// I/O error) ends it as one refusal that says so, never as a guess.
pub fn plan_or_refuse(planned: Result<Plan, FactError>) -> Plan {
    planned.unwrap_or_else(|e| {
        let mut plan = Plan::new();
        plan.refuse(
            e.path.display().to_string(),
            format!("cannot read what the fix needs: {e}"),
            "run citadel-check --fix as root, or fix the file's permissions, then run it again",
        );
        plan
    })
}

/// `/etc/fstab` as bytes, `None` when there is none (a new file is written then).
pub fn current_fstab(system: &System) -> Result<Option<Vec<u8>>, FactError> {
    match system.root().read(citadel_checks::fstab::FSTAB_PATH) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}

/// A refusal for something another fix makes first: `fix` is its check id.
pub fn waits_for(plan: &mut Plan, subject: &Path, why: String, fix: &str) {
    plan.refuse(
        subject.display().to_string(),
        why,
        format!("the {fix} fix comes first (citadel-check --fix {fix}, or by hand as that check says), then run --fix again"),
    );
}

/// A refusal for a path that cannot even be looked at.
pub fn cannot_inspect(plan: &mut Plan, path: &Path, err: &FactError) {
    plan.refuse(
        path.display().to_string(),
        format!("cannot inspect it: {err}"),
        format!("check {} and its permissions, then run --fix again", path.display()),
    );
}

/// The refusal for data (`existing`) in the way of `wanted` ("a directory") at `path`: the apply layer's own.
pub fn in_the_way(plan: &mut Plan, path: &Path, existing: &Existing, wanted: &str) {
    plan.refusals.push(obstacle::refusal(path, existing, wanted));
}

/// The distributions whose package manager is known, by their os-release `ID`.
const MANAGERS: [(&str, PackageManager); 7] = [
    ("debian", PackageManager::Apt),
    ("ubuntu", PackageManager::Apt),
    ("rhel", PackageManager::Dnf),
    ("fedora", PackageManager::Dnf),
    ("centos", PackageManager::Dnf),
    ("rocky", PackageManager::Dnf),
    ("almalinux", PackageManager::Dnf),
];

/// The package manager of the root's distribution, from its os-release (`ID`, then each `ID_LIKE`: the first
/// known one wins). When it cannot be told, a refusal saying to install `packages` by hand.
pub fn package_manager(system: &System, packages: &[String], plan: &mut Plan) -> Option<PackageManager> {
    let by_hand = format!(
        "install the packages {} with the distribution's package manager, then run --fix again",
        packages.join(" ")
    );
    match OsRelease::load(system.root()) {
        Ok(Some(os)) => {
            let manager = manager(&os);
            if manager.is_none() {
                plan.refuse(
                    os.source.display().to_string(),
                    format!(
                        "no package manager is known for {} (known: debian, ubuntu with apt; rhel, fedora, centos, \
                         rocky, almalinux with dnf)",
                        os.describe()
                    ),
                    by_hand,
                );
            }
            manager
        }
        Ok(None) => {
            plan.refuse(
                "/etc/os-release",
                "no /etc/os-release or /usr/lib/os-release says which distribution this is",
                by_hand,
            );
            None
        }
        Err(e) => {
            plan.refuse(
                e.path.display().to_string(),
                format!("cannot tell which distribution this is: {e}"),
                by_hand,
            );
            None
        }
    }
}

/// The package manager of the distribution or, failing that, of the closest family it names.
fn manager(os: &OsRelease) -> Option<PackageManager> {
    os.ids()
        .find_map(|id| MANAGERS.iter().find(|(known, _)| *known == id).map(|(_, m)| *m))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn of(text: &str) -> Option<PackageManager> {
        manager(&OsRelease::parse(PathBuf::from("/etc/os-release"), text))
    }

    #[test]
    fn the_distribution_wins_over_its_family_and_unknown_ones_have_none() {
        assert_eq!(of("ID=debian\n"), Some(PackageManager::Apt));
        assert_eq!(of("ID=pop\nID_LIKE=\"ubuntu debian\"\n"), Some(PackageManager::Apt));
        assert_eq!(of("ID=centos\nID_LIKE=\"rhel fedora\"\n"), Some(PackageManager::Dnf));
        assert_eq!(of("ID=opensuse-leap\nID_LIKE=\"suse opensuse\"\n"), None);
        assert_eq!(of("ID=arch\n"), None);
        assert_eq!(of(""), None);
    }
}
