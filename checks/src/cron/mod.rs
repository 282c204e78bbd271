//! cron, read offline: which cron is installed, which crontab files it reads and accepts, what they
//! schedule, and what runs `/etc/cron.daily` (cron(8), crontab(5), run-parts(8), anacron(8)).
//!
//! The rules are those of the cron that is installed: Debian's cron 3.0pl1 (`/usr/sbin/cron`) or cronie
//! (`/usr/sbin/crond`). `jobs` puts it together: every place that may run a script, and what cron does with it.

pub mod command;
pub mod crontab;
pub mod files;
pub mod jobs;
pub mod run_parts;
pub mod schedule;
pub mod users;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::error::{FactError, FactErrorKind};
use crate::root::SystemRoot;
use command::{defers_to_anacron, run_parts_dirs, shell_part};
use crontab::{Crontab, Format, LineKind};
use files::{Admission, TabKind};
use users::Users;

/// Which cron's rules apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    /// Debian's cron 3.0pl1 (Vixie cron with Debian's patches).
    Debian,
    /// cronie (RHEL, Fedora, SUSE).
    Cronie,
}

impl Flavor {
    pub fn name(self) -> &'static str {
        match self {
            Flavor::Debian => "Debian cron",
            Flavor::Cronie => "cronie",
        }
    }

    /// The daemon's binary.
    pub fn daemon(self) -> &'static str {
        match self {
            Flavor::Debian => "/usr/sbin/cron",
            Flavor::Cronie => "/usr/sbin/crond",
        }
    }

    /// The daemon's systemd unit.
    pub fn unit(self) -> &'static str {
        match self {
            Flavor::Debian => "cron.service",
            Flavor::Cronie => "crond.service",
        }
    }

    pub fn package(self) -> &'static str {
        match self {
            Flavor::Debian => "cron",
            Flavor::Cronie => "cronie",
        }
    }
}

/// One crontab file cron considers.
#[derive(Debug, Clone)]
pub struct Tab {
    pub path: PathBuf,
    pub kind: TabKind,
    pub admission: Admission,
    /// The parsed lines (also for files cron refuses, to explain what they would have run), or why the file
    /// could not be read.
    pub content: Result<Crontab, FactError>,
}

/// What runs `/etc/cron.daily` every day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DailyRunner {
    /// A crontab line runs `run-parts /etc/cron.daily` daily.
    Crontab { path: PathBuf, line: usize },
    /// anacron, with a daily cron.daily job in /etc/anacrontab.
    Anacron,
}

/// Everything cron-related on one system.
#[derive(Debug, Clone)]
pub struct Cron {
    pub flavor: Flavor,
    /// The daemon binary, when one is installed.
    pub installed: Option<PathBuf>,
    pub tabs: Vec<Tab>,
    /// The spool directory could not be listed (a non-root run): user crontabs are unknown.
    pub spool_error: Option<FactError>,
    /// The entries of /etc/cron.daily.
    pub daily: Vec<run_parts::Entry>,
    /// What runs /etc/cron.daily daily, or why nothing does.
    pub daily_runner: Result<DailyRunner, String>,
    pub users: Users,
}

impl Cron {
    pub fn load(root: &SystemRoot) -> Result<Cron, FactError> {
        let installed_binary = |path: &str| {
            root.metadata(path)
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
                .then(|| PathBuf::from(path))
        };
        let (flavor, installed) = match installed_binary(Flavor::Debian.daemon()) {
            Some(path) => (Flavor::Debian, Some(path)),
            None => match installed_binary(Flavor::Cronie.daemon()) {
                Some(path) => (Flavor::Cronie, Some(path)),
                None => (Flavor::Debian, None),
            },
        };
        let users = Users::load(root)?;
        let mut tabs = Vec::new();
        for (path, kind) in files::system_tabs(root)? {
            tabs.push(load_tab(root, path, kind, flavor, &users)?);
        }
        let mut spool_error = None;
        match root.read_dir_names(files::spool_dir(flavor)) {
            Ok(names) => {
                for name in names {
                    let user = name.to_string_lossy().into_owned();
                    let path = files::spool_path(flavor, &user);
                    if root.metadata(&path).is_ok_and(|m| m.is_dir()) {
                        continue; // e.g. /var/spool/cron/crontabs seen from cronie's spool
                    }
                    tabs.push(load_tab(root, path, TabKind::Spool { user }, flavor, &users)?);
                }
            }
            Err(e) if e.is_not_found() => {}
            Err(e) => spool_error = Some(e),
        }
        let daily = run_parts::list(root, run_parts::CRON_DAILY, flavor)?;
        let daily_runner = find_daily_runner(root, &tabs, &users)?;
        Ok(Cron {
            flavor,
            installed,
            tabs,
            spool_error,
            daily,
            daily_runner,
            users,
        })
    }

    /// Crontab sources that could not be read for lack of permission (what a non-root run cannot see).
    pub fn unreadable(&self) -> Vec<&FactError> {
        let files = self.tabs.iter().filter_map(|t| t.content.as_ref().err());
        files
            .chain(self.spool_error.as_ref())
            .filter(|e| e.kind == FactErrorKind::PermissionDenied)
            .collect()
    }
}

fn load_tab(root: &SystemRoot, path: PathBuf, kind: TabKind, flavor: Flavor, users: &Users) -> Result<Tab, FactError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let admission = match &kind {
        TabKind::CronD => match files::cron_d_name_ok(flavor, &name) {
            Ok(()) => files::admit(root, &path, &kind, flavor, users)?,
            Err(why) => Admission::Skipped(why),
        },
        TabKind::Spool { user } if !users.exists(user) => Admission::Refused {
            log: "ORPHAN (no passwd entry)",
            detail: format!("no user \"{user}\" in /etc/passwd"),
        },
        _ => files::admit(root, &path, &kind, flavor, users)?,
    };
    let format = Format {
        user_field: kind.has_user_field(),
        flavor,
    };
    let content = read_regular(root, &path).map(|text| Crontab::parse(&text, format, users));
    Ok(Tab {
        path,
        kind,
        admission,
        content,
    })
}

/// The text of a regular file, read through the root (a link's absolute target is inside the root, not on
/// the host). Anything else (a FIFO, a device, a directory) is an error and is never opened: it could block.
fn read_regular(root: &SystemRoot, path: &Path) -> Result<String, FactError> {
    let resolved = root.resolve(path)?;
    if !root.symlink_metadata(&resolved)?.is_file() {
        return Err(FactError::new(path, FactErrorKind::Io("not a regular file".into())));
    }
    root.read_text(resolved)
}

/// Finds what runs /etc/cron.daily every day: anacron (when its table has a daily cron.daily job), or a valid
/// crontab line running `run-parts /etc/cron.daily` daily that does not defer to an installed anacron.
fn find_daily_runner(root: &SystemRoot, tabs: &[Tab], users: &Users) -> Result<Result<DailyRunner, String>, FactError> {
    if run_parts::anacron_runs_daily(root)? {
        return Ok(Ok(DailyRunner::Anacron));
    }
    let anacron = run_parts::anacron_installed(root);
    let mut deferred = false;
    let daily_dir = Path::new(run_parts::CRON_DAILY);
    for tab in tabs {
        let (Admission::Read, Ok(crontab)) = (&tab.admission, &tab.content) else {
            continue;
        };
        let Ok(lines) = crontab.runnable() else {
            continue;
        };
        for line in lines {
            let LineKind::Job(job) = &line.kind else {
                continue;
            };
            let (shell, _) = shell_part(&job.command);
            let home = job
                .user
                .as_deref()
                .and_then(|u| users.home(u))
                .unwrap_or_else(|| PathBuf::from("/"));
            if !run_parts_dirs(shell, &home).iter().any(|d| d == daily_dir) || !job.schedule.fires_daily() {
                continue;
            }
            if anacron && defers_to_anacron(shell) {
                deferred = true;
                continue;
            }
            return Ok(Ok(DailyRunner::Crontab {
                path: tab.path.clone(),
                line: line.number,
            }));
        }
    }
    Ok(Err(if deferred {
        "anacron is installed, so /etc/crontab leaves /etc/cron.daily to it, but /etc/anacrontab has no daily \
         cron.daily job"
            .to_string()
    } else {
        "nothing runs /etc/cron.daily every day: no valid crontab line runs `run-parts /etc/cron.daily` daily, and \
         anacron is not installed"
            .to_string()
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    pub const DEBIAN_CRONTAB: &str = "SHELL=/bin/sh\n17 *\t* * *\troot\tcd / && run-parts --report /etc/cron.hourly\n25 6\t* * *\troot\ttest -x /usr/sbin/anacron || { cd / && run-parts --report /etc/cron.daily; }\n47 6\t* * 7\troot\ttest -x /usr/sbin/anacron || { cd / && run-parts --report /etc/cron.weekly; }\n#\n";

    fn tree() -> (tempfile::TempDir, SystemRoot) {
        let dir = tempfile::tempdir().unwrap();
        let root = SystemRoot::new(dir.path());
        for d in [
            "/etc/cron.d",
            "/etc/cron.daily",
            "/usr/sbin",
            "/var/spool/cron/crontabs",
        ] {
            fs::create_dir_all(root.path(d)).unwrap();
        }
        fs::write(root.path("/etc/passwd"), "root:x:0:0:root:/root:/bin/bash\n").unwrap();
        fs::write(root.path("/etc/crontab"), DEBIAN_CRONTAB).unwrap();
        (dir, root)
    }

    fn exe(root: &SystemRoot, path: &str) {
        fs::write(root.path(path), "").unwrap();
        fs::set_permissions(root.path(path), fs::Permissions::from_mode(0o755)).unwrap();
    }

    #[test]
    fn flavor_follows_the_installed_daemon() {
        let (_d, root) = tree();
        let cron = Cron::load(&root).unwrap();
        assert_eq!((cron.flavor, cron.installed), (Flavor::Debian, None));
        exe(&root, "/usr/sbin/crond");
        let cron = Cron::load(&root).unwrap();
        assert_eq!(cron.flavor, Flavor::Cronie);
        assert_eq!(cron.installed, Some(PathBuf::from("/usr/sbin/crond")));
        exe(&root, "/usr/sbin/cron");
        assert_eq!(Cron::load(&root).unwrap().flavor, Flavor::Debian);
    }

    #[test]
    fn cron_daily_runs_from_the_debian_crontab_unless_anacron_takes_over() {
        if !nix::unistd::geteuid().is_root() {
            return; // /etc/crontab must be owned by root to be read
        }
        let (_d, root) = tree();
        let cron = Cron::load(&root).unwrap();
        assert_eq!(
            cron.daily_runner,
            Ok(DailyRunner::Crontab {
                path: "/etc/crontab".into(),
                line: 3
            })
        );
        exe(&root, "/usr/sbin/anacron");
        assert!(Cron::load(&root)
            .unwrap()
            .daily_runner
            .unwrap_err()
            .contains("anacrontab"));
        fs::write(
            root.path("/etc/anacrontab"),
            "1\t5\tcron.daily\trun-parts --report /etc/cron.daily\n",
        )
        .unwrap();
        assert_eq!(Cron::load(&root).unwrap().daily_runner, Ok(DailyRunner::Anacron));
        fs::remove_file(root.path("/usr/sbin/anacron")).unwrap();
        fs::write(root.path("/etc/crontab"), "SHELL=/bin/sh\n").unwrap();
        assert!(Cron::load(&root)
            .unwrap()
            .daily_runner
            .unwrap_err()
            .contains("nothing runs"));
    }

    #[test]
    fn tabs_cover_crontab_cron_d_and_the_spool() {
        let (_d, root) = tree();
        fs::write(root.path("/etc/cron.d/citadel.backup"), "30 2 * * * root /x\n").unwrap();
        fs::write(root.path("/var/spool/cron/crontabs/root"), "30 2 * * * /x\n").unwrap();
        fs::write(root.path("/var/spool/cron/crontabs/ghost"), "30 2 * * * /x\n").unwrap();
        let cron = Cron::load(&root).unwrap();
        let kinds: Vec<(&Path, &TabKind)> = cron.tabs.iter().map(|t| (t.path.as_path(), &t.kind)).collect();
        assert_eq!(kinds.len(), 4);
        assert_eq!(kinds[1].0, Path::new("/etc/cron.d/citadel.backup"));
        assert!(matches!(cron.tabs[1].admission, Admission::Skipped(_)));
        assert!(cron.tabs[1].content.is_ok(), "parsed anyway, to explain it");
        nix::unistd::mkfifo(&root.path("/etc/cron.d/fifo"), nix::sys::stat::Mode::S_IRWXU).unwrap();
        let cron = Cron::load(&root).unwrap();
        let fifo = cron.tabs.iter().find(|t| t.path.ends_with("fifo")).unwrap();
        assert!(fifo.content.is_err(), "a FIFO is never opened");
        let ghost = cron.tabs.iter().find(|t| t.path.ends_with("ghost")).unwrap();
        assert!(matches!(&ghost.admission, Admission::Refused { log, .. } if log.starts_with("ORPHAN")));
        assert!(cron.unreadable().is_empty());
    }

    #[test]
    fn an_unlistable_spool_is_remembered_not_fatal() {
        let (d, root) = tree();
        fs::set_permissions(
            root.path("/var/spool/cron/crontabs"),
            fs::Permissions::from_mode(0o1730),
        )
        .unwrap();
        crate::unprivileged::open_up(d.path());
        if let Some(cron) = crate::unprivileged::as_nobody(|| Cron::load(&root)) {
            let cron = cron.unwrap();
            assert_eq!(cron.spool_error.as_ref().unwrap().kind, FactErrorKind::PermissionDenied);
            assert_eq!(cron.unreadable().len(), 1);
            assert_eq!(cron.tabs.len(), 1, "/etc/crontab is still read");
        }
    }
}
