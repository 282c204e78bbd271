//! The lines of one crontab file (crontab(5)), read the way cron's `load_user()`/`load_env()`/`load_entry()`
//! read them.
//!
//! Each line is blank, a comment (`#` after blanks), an environment setting (`NAME=value`), or a job: the
//! time fields (or `@word`), the user (system crontabs only: `/etc/crontab` and `/etc/cron.d`), and the
//! command, which runs to the end of the line (a CRLF file leaves a `\r` on it). A line cron rejects is kept
//! as a bad line with cron's own words for it. Debian cron then ignores the whole file; cronie skips only
//! that line (see `Crontab::runnable`).

use super::schedule::{get_string, Cursor, Schedule};
use super::users::Users;
use super::Flavor;

/// Vixie cron's MAX_COMMAND: a longer command is cut to this many bytes less one.
pub const MAX_COMMAND: usize = 1000;

/// How to read a file: with a user field or not, and which cron's rules apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Format {
    /// System crontabs (`/etc/crontab`, `/etc/cron.d/*`) name the user after the time fields.
    pub user_field: bool,
    pub flavor: Flavor,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// 1-based.
    pub number: usize,
    /// The line as written, without its newline (a CR stays).
    pub text: String,
    /// False for a last line with no newline after it.
    pub terminated: bool,
    pub kind: LineKind,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineKind {
    Blank,
    Comment,
    Env { name: String, value: String },
    Job(Job),
    Bad(BadLine),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub schedule: Schedule,
    /// The user field, in system crontabs.
    pub user: Option<String>,
    /// Everything after the fields, as cron stores it (leading blanks dropped; a trailing `\r` kept).
    pub command: String,
    /// True when cron cut the command at MAX_COMMAND.
    pub cut: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadLine {
    /// What cron logs: "bad minute", "bad username", "bad command", ….
    pub error: &'static str,
    /// What is wrong, for a person.
    pub detail: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crontab {
    pub lines: Vec<Line>,
    pub format: Format,
}

impl Crontab {
    pub fn parse(text: &str, format: Format, users: &Users) -> Crontab {
        let mut lines = Vec::new();
        let mut rest = text;
        let mut number = 0;
        while !rest.is_empty() {
            number += 1;
            let (line, terminated, next) = match rest.find('\n') {
                Some(i) => (&rest[..i], true, &rest[i + 1..]),
                None => (rest, false, ""),
            };
            rest = next;
            lines.push(Line {
                number,
                text: line.to_string(),
                terminated,
                kind: parse_line(line, terminated, format, users),
            });
        }
        Crontab { lines, format }
    }

    /// The first line cron rejects.
    pub fn first_bad(&self) -> Option<&Line> {
        self.lines.iter().find(|l| matches!(l.kind, LineKind::Bad(_)))
    }

    /// The job lines cron runs from this file, or the line that makes Debian cron ignore the whole file.
    pub fn runnable(&self) -> Result<Vec<&Line>, &Line> {
        if self.format.flavor == Flavor::Debian {
            if let Some(bad) = self.first_bad() {
                return Err(bad);
            }
        }
        Ok(self
            .lines
            .iter()
            .filter(|l| matches!(l.kind, LineKind::Job(_)))
            .collect())
    }

    /// The value of an environment setting in force at `line` (the last `NAME=` above it).
    pub fn env_at(&self, line: usize, name: &str) -> Option<&str> {
        self.lines
            .iter()
            .take_while(|l| l.number < line)
            .filter_map(|l| match &l.kind {
                LineKind::Env { name: n, value } if n == name => Some(value.as_str()),
                _ => None,
            })
            .last()
    }
}

fn parse_line(line: &str, terminated: bool, format: Format, users: &Users) -> LineKind {
    // cron skips spaces and tabs only: a lone "\r" (an empty CRLF line) is not blank.
    let body = line.trim_start_matches([' ', '\t']);
    if body.is_empty() {
        return LineKind::Blank;
    }
    if body.starts_with('#') {
        return LineKind::Comment;
    }
    if let Some((name, value)) = parse_env(body, format.flavor) {
        return LineKind::Env { name, value };
    }
    match parse_job(body, terminated, format, users) {
        Ok(job) => LineKind::Job(job),
        Err(bad) => LineKind::Bad(bad),
    }
}

/// `NAME = value`. Debian (like Vixie 3.0's `sscanf("%[^ =] = %[^\n#]")`) ends the value at `#` and needs a
/// non-empty value (an empty one must be written `""`); cronie takes the rest of the line, empty or not.
/// Matching quotes around the value are removed.
fn parse_env(body: &str, flavor: Flavor) -> Option<(String, String)> {
    let name_end = body.find([' ', '=']).unwrap_or(body.len());
    let name = &body[..name_end];
    if name.is_empty() || (flavor == Flavor::Cronie && name.contains('\t')) {
        return None;
    }
    let after = body[name_end..].trim_start();
    let after_eq = after.strip_prefix('=')?.trim_start();
    let value = match flavor {
        Flavor::Debian => after_eq.split('#').next().unwrap_or(""),
        Flavor::Cronie => after_eq,
    };
    if value.is_empty() && flavor == Flavor::Debian {
        return None;
    }
    let value = value.trim_end();
    let unquoted = match value.as_bytes() {
        [q @ (b'"' | b'\''), .., last] if value.len() >= 2 && last == q => &value[1..value.len() - 1],
        _ => value,
    };
    Some((name.to_string(), unquoted.to_string()))
}

fn parse_job(body: &str, terminated: bool, format: Format, users: &Users) -> Result<Job, BadLine> {
    let mut bytes = body.as_bytes().to_vec();
    if terminated {
        bytes.push(b'\n');
    }
    let mut cur = Cursor::new(&bytes);
    let first = cur.get();
    let schedule = Schedule::parse_from(&mut cur, first).map_err(|field| BadLine {
        error: field.cron_error(),
        detail: format!("{} in \"{}\"", field.cron_error(), body.trim_end()),
    })?;
    let no_newline = || BadLine {
        error: "bad command",
        detail: "the last line has no newline after it".into(),
    };
    let mut user = None;
    if format.user_field {
        let (word, term) = get_string(&mut cur, b" \t\n");
        let word = String::from_utf8_lossy(&word).into_owned();
        if term.is_none() {
            return Err(no_newline());
        }
        if !users.exists(&word) {
            return Err(BadLine {
                error: "bad username",
                detail: if word.contains('/') || word.is_empty() {
                    format!(
                        "no user field: cron reads \"{word}\" as the user name (lines in /etc/crontab and \
                         /etc/cron.d need one after the time fields)"
                    )
                } else {
                    format!("user \"{word}\" is not in /etc/passwd")
                },
            });
        }
        user = Some(word);
        if term == Some(b'\n') {
            return Ok(Job {
                schedule,
                user,
                command: String::new(),
                cut: false,
            });
        }
    }
    let (command, term) = get_string(&mut cur, b"\n");
    if term.is_none() {
        return Err(no_newline());
    }
    let cut = command.len() > MAX_COMMAND - 1;
    let command = String::from_utf8_lossy(&command[..command.len().min(MAX_COMMAND - 1)]).into_owned();
    Ok(Job {
        schedule,
        user,
        command: command.trim_start_matches([' ', '\t']).to_string(),
        cut,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SYSTEM: Format = Format {
        user_field: true,
        flavor: Flavor::Debian,
    };
    const SPOOL: Format = Format {
        user_field: false,
        flavor: Flavor::Debian,
    };
    const CRONIE: Format = Format {
        user_field: true,
        flavor: Flavor::Cronie,
    };

    fn users() -> Users {
        Users::parse("root:x:0:0:root:/root:/bin/bash\ncitadel:x:1000:1000::/home/citadel:/bin/bash\n")
    }

    fn parse(text: &str, format: Format) -> Crontab {
        Crontab::parse(text, format, &users())
    }

    fn job(line: &Line) -> &Job {
        match &line.kind {
            LineKind::Job(job) => job,
            other => panic!("line {} is {other:?}", line.number),
        }
    }

    fn bad(line: &Line) -> &BadLine {
        match &line.kind {
            LineKind::Bad(bad) => bad,
            other => panic!("line {} is {other:?}", line.number),
        }
    }

    const CITADEL: &str = "# Managed by citadel-check\nSHELL=/bin/sh\nPATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n30 2 * * * root /opt/citadel/scripts/citadel-backup.sh\n";

    #[test]
    fn the_citadel_cron_d_file() {
        let tab = parse(CITADEL, SYSTEM);
        assert_eq!(tab.lines.len(), 4);
        assert_eq!(tab.lines[0].kind, LineKind::Comment);
        assert_eq!(
            tab.lines[1].kind,
            LineKind::Env {
                name: "SHELL".into(),
                value: "/bin/sh".into()
            }
        );
        let j = job(&tab.lines[3]);
        assert_eq!(j.user.as_deref(), Some("root"));
        assert_eq!(j.command, "/opt/citadel/scripts/citadel-backup.sh");
        assert_eq!(j.schedule.to_string(), "30 2 * * *");
        assert!(j.schedule.fires_daily());
        assert_eq!(tab.runnable().unwrap().len(), 1);
        assert_eq!(
            tab.env_at(4, "PATH"),
            Some("/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin")
        );
        assert_eq!(tab.env_at(2, "PATH"), None);
    }

    #[test]
    fn debians_etc_crontab_with_tabs() {
        let text = "SHELL=/bin/sh\n17 *\t* * *\troot\tcd / && run-parts --report /etc/cron.hourly\n25 6\t* * *\troot\ttest -x /usr/sbin/anacron || { cd / && run-parts --report /etc/cron.daily; }\n#\n";
        let tab = parse(text, SYSTEM);
        assert_eq!(tab.runnable().unwrap().len(), 2);
        assert_eq!(
            job(&tab.lines[2]).command,
            "test -x /usr/sbin/anacron || { cd / && run-parts --report /etc/cron.daily; }"
        );
    }

    #[test]
    fn a_bad_line_poisons_the_whole_file_on_debian_only() {
        let text = format!("{CITADEL}60 * * * * root /bin/true\n");
        let tab = parse(&text, SYSTEM);
        let poison = tab.runnable().unwrap_err();
        assert_eq!(poison.number, 5);
        assert_eq!(bad(poison).error, "bad minute");
        assert!(bad(poison).detail.contains("60 * * * * root /bin/true"));
        let tab = parse(&text, CRONIE);
        assert_eq!(tab.runnable().unwrap().len(), 1);
    }

    #[test]
    fn user_field_rules() {
        let tab = parse("30 2 * * * /opt/citadel/scripts/citadel-backup.sh\n", SYSTEM);
        let b = bad(&tab.lines[0]);
        assert_eq!(b.error, "bad username");
        assert!(b.detail.contains("no user field"));
        let tab = parse("30 2 * * * backup /opt/citadel/scripts/citadel-backup.sh\n", SYSTEM);
        let b = bad(&tab.lines[0]);
        assert_eq!(b.error, "bad username");
        assert_eq!(b.detail, "user \"backup\" is not in /etc/passwd");
        // The spool has no user field: "root" would be part of the command.
        let tab = parse("30 2 * * * /opt/citadel/scripts/citadel-backup.sh\n", SPOOL);
        assert_eq!(job(&tab.lines[0]).command, "/opt/citadel/scripts/citadel-backup.sh");
        assert_eq!(job(&tab.lines[0]).user, None);
        let tab = parse("@daily citadel /x\n", SYSTEM);
        assert_eq!(job(&tab.lines[0]).user.as_deref(), Some("citadel"));
        let tab = parse("@daily root\n", SYSTEM);
        assert_eq!(job(&tab.lines[0]).command, "");
    }

    #[test]
    fn a_missing_final_newline() {
        let text = CITADEL.trim_end();
        let tab = parse(text, SYSTEM);
        let poison = tab.runnable().unwrap_err();
        assert_eq!(poison.number, 4);
        assert!(!poison.terminated);
        assert_eq!(bad(poison).error, "bad command");
        assert!(bad(poison).detail.contains("no newline"));
        // cronie drops only that line.
        let tab = parse(text, CRONIE);
        assert!(tab.runnable().unwrap().is_empty());
        // A last comment without a newline is harmless.
        let tab = parse(&format!("{CITADEL}# end"), SYSTEM);
        assert_eq!(tab.runnable().unwrap().len(), 1);
        // So is a spool job without one? No: the command needs its newline there too.
        assert!(parse("30 2 * * * /x", SPOOL).runnable().is_err());
    }

    #[test]
    fn crlf_leaves_a_cr_on_the_command_and_poisons_empty_lines() {
        let text = CITADEL.replace('\n', "\r\n");
        let tab = parse(&text, SYSTEM);
        let jobs = tab.runnable().unwrap();
        assert_eq!(job(jobs[0]).command, "/opt/citadel/scripts/citadel-backup.sh\r");
        assert_eq!(tab.env_at(4, "SHELL"), Some("/bin/sh"), "env values lose the CR");
        let tab = parse("\r\n30 2 * * * root /x\r\n", SYSTEM);
        assert_eq!(bad(tab.runnable().unwrap_err()).error, "bad minute");
    }

    #[test]
    fn environment_lines() {
        let env = |text: &str, flavor| parse_env(text, flavor);
        assert_eq!(
            env("MAILTO=root", Flavor::Debian),
            Some(("MAILTO".into(), "root".into()))
        );
        assert_eq!(
            env("MAILTO = root ", Flavor::Debian),
            Some(("MAILTO".into(), "root".into()))
        );
        assert_eq!(env("MAILTO=\"\"", Flavor::Debian), Some(("MAILTO".into(), "".into())));
        assert_eq!(env("A=' b '", Flavor::Debian), Some(("A".into(), " b ".into())));
        assert_eq!(env("A=b # c", Flavor::Debian), Some(("A".into(), "b".into())));
        assert_eq!(env("A=b # c", Flavor::Cronie), Some(("A".into(), "b # c".into())));
        assert_eq!(
            env("MAILTO=", Flavor::Debian),
            None,
            "Debian needs quotes for an empty value"
        );
        assert_eq!(env("MAILTO=", Flavor::Cronie), Some(("MAILTO".into(), "".into())));
        assert_eq!(env("30 2 * * * root a=b", Flavor::Debian), None);
        assert_eq!(env("=x", Flavor::Debian), None);
        // So on Debian an unquoted empty value is a bad line.
        let tab = parse("MAILTO=\n30 2 * * * root /x\n", SYSTEM);
        assert!(tab.runnable().is_err());
    }

    #[test]
    fn long_commands_are_cut_and_garbage_never_panics() {
        let long = format!("30 2 * * * root /x {}\n", "a".repeat(2 * 1024 * 1024));
        let tab = parse(&long, SYSTEM);
        let j = job(&tab.lines[0]);
        assert!(j.cut);
        assert_eq!(j.command.len(), MAX_COMMAND - 1);
        let junk: String = (0..20000u32)
            .map(|i| char::from_u32((i * 7919) % 0x3000).unwrap_or('\u{fffd}'))
            .collect();
        let _ = parse(&junk, SYSTEM);
        let _ = parse(&junk, SPOOL);
        let _ = parse("\0\0\0\n@\n@@\n*\n* *\n* * * * * \n\u{feff}30 2 * * * root x\n", SYSTEM);
        let _ = parse(&"\n".repeat(100_000), SYSTEM);
    }
}
