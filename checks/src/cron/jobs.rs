//! Every place cron might run a script from, and what cron really does with each one.
//!
//! A place is a crontab line (in `/etc/crontab`, `/etc/cron.d/*` or a user's spool crontab) that names the
//! script or runs it, or an `/etc/cron.daily` entry that is the script, links to it, runs it, or is named
//! after it. Each place either runs the script at least daily as the wanted user, or has a problem that says
//! what cron does with it and how to fix it by hand.

use std::path::{Path, PathBuf};

use super::command::{shell_part, Context, Invocation};
use super::crontab::{BadLine, Crontab, Line, LineKind};
use super::files::{Admission, TabKind};
use super::run_parts::{self, Entry};
use super::{Cron, Flavor, Tab};
use crate::root::SystemRoot;

/// A roomy PATH for scripts run by run-parts (Debian's /etc/crontab sets one like it).
const RUN_PARTS_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// What the policy wants: this script, run by cron as this user, at least daily.
#[derive(Debug, Clone, Copy)]
pub struct Wanted<'a> {
    pub script: &'a Path,
    pub user: &'a str,
    /// Used in fix suggestions.
    pub schedule: &'a str,
    pub cron_file: &'a Path,
}

/// Why a place does not run the script daily, in the shape of a finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub expected: String,
    pub actual: String,
    /// How to fix it by hand.
    pub fix: String,
}

/// One place that may run the script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Place {
    /// `/etc/cron.d/citadel-backup:4`, or `/etc/cron.daily/citadel-backup`.
    pub subject: String,
    /// `Ok` when cron really runs the script from here, at least daily, as the wanted user.
    pub verdict: Result<(), Problem>,
}

/// Every place that may run the script, in the order cron reads them.
pub fn places(cron: &Cron, root: &SystemRoot, wanted: &Wanted) -> Vec<Place> {
    let judge = Judge { cron, root, wanted };
    let mut out = Vec::new();
    for tab in &cron.tabs {
        let Ok(crontab) = &tab.content else {
            continue;
        };
        for line in &crontab.lines {
            if judge.is_candidate(crontab, line) {
                out.push(Place {
                    subject: format!("{}:{}", tab.path.display(), line.number),
                    verdict: judge.line(tab, crontab, line),
                });
            }
        }
    }
    for entry in &cron.daily {
        if judge.is_daily_candidate(entry) {
            out.push(Place {
                subject: entry.path.display().to_string(),
                verdict: judge.daily(entry),
            });
        }
    }
    out
}

/// Whether `line` of `crontab` is about the job: it names the script, or runs it. The lines a fixer that rewrites
/// the job owns.
pub fn is_candidate(cron: &Cron, root: &SystemRoot, wanted: &Wanted, crontab: &Crontab, line: &Line) -> bool {
    Judge { cron, root, wanted }.is_candidate(crontab, line)
}

struct Judge<'a> {
    cron: &'a Cron,
    root: &'a SystemRoot,
    wanted: &'a Wanted<'a>,
}

impl Judge<'_> {
    fn script_name(&self) -> String {
        file_name(self.wanted.script)
    }

    fn script_display(&self) -> String {
        self.wanted.script.display().to_string()
    }

    /// The line that would install the job right, for fix messages.
    fn good_line(&self) -> String {
        format!(
            "{} {} {}",
            self.wanted.schedule,
            self.wanted.user,
            self.script_display()
        )
    }

    fn context(&self, crontab: &Crontab, line: &Line, user: &str) -> Context<'_> {
        let home = crontab
            .env_at(line.number, "HOME")
            .map(PathBuf::from)
            .or_else(|| self.cron.users.home(user))
            .unwrap_or_else(|| PathBuf::from("/"));
        Context::new(self.root, crontab.env_at(line.number, "PATH"), home)
    }

    fn is_candidate(&self, crontab: &Crontab, line: &Line) -> bool {
        let mentions = line.text.contains(&self.script_name());
        match &line.kind {
            LineKind::Bad(_) => mentions,
            LineKind::Job(job) => {
                mentions || {
                    let user = job.user.as_deref().unwrap_or("root");
                    let (shell, _) = shell_part(&job.command);
                    self.context(crontab, line, user)
                        .runs(shell, self.wanted.script)
                        .is_some()
                }
            }
            _ => false,
        }
    }

    fn line(&self, tab: &Tab, crontab: &Crontab, line: &Line) -> Result<(), Problem> {
        self.admission(tab)?;
        let flavor = self.cron.flavor;
        if let Err(bad) = crontab.runnable() {
            if bad.number != line.number {
                return Err(self.poisoned_file(tab, bad));
            }
        }
        let job = match &line.kind {
            LineKind::Job(job) => job,
            LineKind::Bad(bad) => return Err(self.bad_line(tab, line, bad)),
            _ => {
                return Err(Problem {
                    expected: "a job line".into(),
                    actual: format!("line {} is not a job", line.number),
                    fix: format!("Add the job: `{}`", self.good_line()),
                })
            }
        };
        let user = match (&tab.kind, &job.user) {
            (TabKind::Spool { user }, _) => user.clone(),
            (_, Some(user)) => user.clone(),
            (_, None) => "root".to_string(),
        };
        if user != self.wanted.user {
            return Err(Problem {
                expected: format!("runs as {}", self.wanted.user),
                actual: format!("runs as {user}"),
                fix: format!("Run it as {}: `{}`", self.wanted.user, self.good_line()),
            });
        }
        if let Some(gap) = job.schedule.first_missed_day() {
            return Err(Problem {
                expected: "a schedule that fires at least once every day".into(),
                actual: format!("\"{}\": {gap}", job.schedule),
                fix: format!("Use a daily schedule: `{}`", self.good_line()),
            });
        }
        let context = self.context(crontab, line, &user);
        let (shell, stdin) = shell_part(&job.command);
        let script = self.wanted.script;
        let expected = format!("a command that runs {}", self.script_display());
        match context.runs(shell, script) {
            Some(Invocation::RunParts(dir)) => match run_parts::name_ok(flavor, &self.script_name()) {
                Ok(()) => Ok(()),
                Err(why) => Err(Problem {
                    expected,
                    actual: format!("`run-parts {}` skips {}: {why}", dir.display(), self.script_name()),
                    fix: format!("Call the script directly: `{}`", self.good_line()),
                }),
            },
            Some(_) => Ok(()),
            None if shell.ends_with('\r') && context.runs(shell.trim_end_matches('\r'), script).is_some() => {
                Err(Problem {
                    expected,
                    actual: format!(
                        "the line ends in CR (CRLF line endings): cron runs \"{}\\r\", which does not exist",
                        shell.trim_end_matches('\r').trim_end()
                    ),
                    fix: format!(
                        "Convert {} to LF line endings: `sed -i 's/\\r$//' {}`",
                        tab.path.display(),
                        tab.path.display()
                    ),
                })
            }
            None if stdin.is_some() && context.runs(&job.command, script).is_some() => Err(Problem {
                expected,
                actual: format!(
                    "cron ends the command at the first unescaped %, so the shell runs only \"{}\" (the rest \
                     becomes its standard input)",
                    shell.trim_end()
                ),
                fix: "Escape every % in the command as \\%, or move the command into a script".into(),
            }),
            None => Err(Problem {
                expected,
                actual: format!(
                    "the command \"{}\" does not run {}{}",
                    job.command.trim_end(),
                    self.script_display(),
                    if job.cut { " (cron cut it at 999 bytes)" } else { "" }
                ),
                fix: format!("Run the script by its absolute path: `{}`", self.good_line()),
            }),
        }
    }

    /// Whether cron reads the file at all.
    fn admission(&self, tab: &Tab) -> Result<(), Problem> {
        let path = tab.path.display();
        match &tab.admission {
            Admission::Read => Ok(()),
            Admission::Skipped(why) => {
                let name = file_name(&tab.path);
                let suggested = Path::new(super::files::CRON_D).join(valid_name(&name, self.wanted.cron_file));
                Err(Problem {
                    expected: format!("a file {} reads", self.cron.flavor.name()),
                    actual: format!("{path} is never read: {why}"),
                    fix: format!("Rename it: `mv {path} {}`", suggested.display()),
                })
            }
            Admission::Refused { log, detail } => Err(Problem {
                expected: format!("a file {} accepts", self.cron.flavor.name()),
                actual: format!("cron refuses {path} ({log}: {detail}) and never runs it"),
                fix: refusal_fix(log, &tab.path, &tab.kind, self.cron.flavor),
            }),
        }
    }

    /// Debian cron ignores a whole file because of another bad line.
    fn poisoned_file(&self, tab: &Tab, bad: &Line) -> Problem {
        let path = tab.path.display();
        let detail = match &bad.kind {
            LineKind::Bad(b) => format!("{}: {}", b.error, b.detail),
            _ => String::new(),
        };
        Problem {
            expected: "every line of the file valid (Debian cron ignores a file with one bad line)".into(),
            actual: format!(
                "line {} is invalid ({detail}), so Debian cron ignores the whole file and this job with it",
                bad.number
            ),
            fix: if bad.terminated {
                format!("Fix or delete line {} of {path}", bad.number)
            } else {
                format!("Add a newline at the end of {path}: `echo >> {path}`")
            },
        }
    }

    /// The candidate line itself is invalid.
    fn bad_line(&self, tab: &Tab, line: &Line, bad: &BadLine) -> Problem {
        let path = tab.path.display();
        let consequence = match self.cron.flavor {
            Flavor::Debian => "Debian cron ignores the whole file",
            Flavor::Cronie => "cronie skips this line",
        };
        let fix = match bad.error {
            "bad username" if bad.detail.starts_with("no user field") => {
                format!("Add the user field after the time fields: `{}`", self.good_line())
            }
            "bad username" => format!("Name an existing user: `{}`", self.good_line()),
            "bad command" if !line.terminated => format!("Add a newline at the end of {path}: `echo >> {path}`"),
            _ => format!("Fix the time fields: `{}`", self.good_line()),
        };
        Problem {
            expected: "a line cron accepts".into(),
            actual: format!("{}: {}; {consequence}", bad.error, bad.detail),
            fix,
        }
    }

    fn daily_context(&self) -> Context<'_> {
        Context::new(self.root, Some(RUN_PARTS_PATH), PathBuf::from("/"))
    }

    fn is_daily_candidate(&self, entry: &Entry) -> bool {
        let stem = self.script_name();
        let stem = stem.strip_suffix(".sh").unwrap_or(&stem);
        let context = self.daily_context();
        entry.name.contains(stem)
            || context.same_file(&entry.path, self.wanted.script)
            || entry
                .text
                .as_deref()
                .is_some_and(|t| context.runs(t, self.wanted.script).is_some())
    }

    fn daily(&self, entry: &Entry) -> Result<(), Problem> {
        let path = entry.path.display();
        let context = self.daily_context();
        let is_script = context.same_file(&entry.path, self.wanted.script);
        if let Some(problem) = &entry.problem {
            let target = entry.resolved.as_deref().unwrap_or(&entry.path).display();
            let fix = if run_parts::name_ok(self.cron.flavor, &entry.name).is_err() {
                let name = valid_name(&entry.name, self.wanted.script);
                format!("Rename it: `mv {path} {}/{name}`", run_parts::CRON_DAILY)
            } else if problem.starts_with("not executable") {
                format!("Make it executable: `chmod 0755 {target}`")
            } else if problem.starts_with("no #!") {
                format!("Start {target} with a #! line such as #!/bin/sh")
            } else if problem.contains("CR") {
                format!("Convert {target} to LF line endings: `sed -i 's/\\r$//' {target}`")
            } else {
                format!(
                    "Replace it with a link to the script: `ln -sfn {} {path}`",
                    self.script_display()
                )
            };
            return Err(Problem {
                expected: "an entry run-parts runs".into(),
                actual: format!("{path}: {problem}"),
                fix,
            });
        }
        if let Err(why) = &self.cron.daily_runner {
            return Err(Problem {
                expected: "something that runs /etc/cron.daily every day".into(),
                actual: why.clone(),
                fix: "Restore Debian's /etc/crontab line `25 6 * * * root test -x /usr/sbin/anacron || { cd / && \
                      run-parts --report /etc/cron.daily; }`, or install anacron with a daily cron.daily job"
                    .into(),
            });
        }
        if self.wanted.user != "root" {
            return Err(Problem {
                expected: format!("runs as {}", self.wanted.user),
                actual: "run-parts runs /etc/cron.daily as root".into(),
                fix: format!(
                    "Schedule it in {}: `{}`",
                    self.wanted.cron_file.display(),
                    self.good_line()
                ),
            });
        }
        let runs = entry
            .text
            .as_deref()
            .is_some_and(|t| context.runs(t, self.wanted.script).is_some());
        if is_script || runs {
            return Ok(());
        }
        Err(Problem {
            expected: format!("the script {} or a link to it", self.script_display()),
            actual: format!("{path} does not run {}", self.script_display()),
            fix: format!(
                "Make it a link to the script: `ln -sfn {} {path}`",
                self.script_display()
            ),
        })
    }
}

fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// A name cron and run-parts accept, derived from `name` (dots become dashes, other characters go), or the
/// fallback's file name.
fn valid_name(name: &str, fallback: &Path) -> String {
    let cleaned: String = name
        .strip_suffix(".sh")
        .unwrap_or(name)
        .chars()
        .map(|c| if c == '.' { '-' } else { c })
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .collect();
    let cleaned = cleaned.trim_matches('-').to_string();
    if cleaned.is_empty() {
        file_name(fallback)
    } else {
        cleaned
    }
}

fn refusal_fix(log: &str, path: &Path, kind: &TabKind, flavor: Flavor) -> String {
    let path = path.display();
    match log {
        "INSECURE MODE" => format!("Make it writable by root only: `chmod 0644 {path}`"),
        "BAD FILE MODE" => match (kind, flavor) {
            (TabKind::Spool { .. }, Flavor::Debian) => {
                format!("Set the mode crontab(1) gives it: `chmod 0600 {path}` (or edit it with `crontab -e`)")
            }
            _ => format!("Set a mode cronie accepts: `chmod 0644 {path}`"),
        },
        "WRONG FILE OWNER" => match kind {
            TabKind::Spool { user } => format!("Give it to its user: `chown {user} {path}`"),
            _ => format!("Give it to root: `chown root:root {path}`"),
        },
        "WRONG SYMLINK OWNER" => format!("Give the link to root: `chown -h root:root {path}`"),
        "NUMBER OF HARD LINKS > 1" => {
            format!("Give it a single link: `cp -p {path} {path}.new && mv {path}.new {path}`")
        }
        "ORPHAN (no passwd entry)" => "Create the user, or move the job to root's crontab".into(),
        _ => format!("Replace {path} with a regular file (not a link) holding the job"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_names_for_renames() {
        let fallback = Path::new("/etc/cron.d/citadel-backup");
        assert_eq!(valid_name("citadel.backup", fallback), "citadel-backup");
        assert_eq!(valid_name("citadel-backup~", fallback), "citadel-backup");
        assert_eq!(valid_name("citadel-backup.sh", fallback), "citadel-backup");
        assert_eq!(valid_name("...", fallback), "citadel-backup");
        assert_eq!(valid_name("", fallback), "citadel-backup");
    }

    #[test]
    fn refusal_fixes_name_the_command() {
        let p = Path::new("/etc/cron.d/x");
        assert!(refusal_fix("INSECURE MODE", p, &TabKind::CronD, Flavor::Debian).contains("chmod 0644 /etc/cron.d/x"));
        assert!(refusal_fix("WRONG FILE OWNER", p, &TabKind::CronD, Flavor::Debian).contains("chown root:root"));
        let spool = TabKind::Spool { user: "root".into() };
        assert!(refusal_fix("BAD FILE MODE", p, &spool, Flavor::Debian).contains("chmod 0600"));
        assert!(refusal_fix("BAD FILE MODE", p, &TabKind::CronD, Flavor::Cronie).contains("chmod 0644"));
    }
}
