//! What a cron command runs: cron's `%` rule, then `/bin/sh -c` (crontab(5), sh(1)).
//!
//! cron hands the shell only what precedes the first unescaped `%` (the rest becomes standard input).
//! The shell text is split into simple commands at `;`, `&&`, `||`, `|`, `&`, newlines, parentheses and
//! braces, with quotes, backslashes, comments and redirections handled; variables are not expanded. A
//! command runs a script when it names it as the program (directly, through a link, or by a bare name found
//! in PATH), runs it with `sh`/`bash` (as a file or inside `-c "…"`), runs it under a wrapper such as `nice`
//! or `flock`, or runs `run-parts` on its directory. A `cd DIR` earlier in the text moves the working
//! directory that relative paths are resolved against.

use std::path::{Component, Path, PathBuf};

use crate::root::SystemRoot;

const SHELLS: [&str; 6] = ["sh", "bash", "dash", "ksh", "mksh", "zsh"];
const WRAPPERS: [&str; 14] = [
    "env", "nice", "ionice", "nohup", "chronic", "flock", "timeout", "setsid", "exec", "command", "time", "sudo", "su",
    "runuser",
];
const RESERVED: [&str; 14] = [
    "{", "}", "!", "if", "then", "else", "elif", "fi", "do", "done", "while", "until", "time", "esac",
];
/// How deep `sh -c "sh -c …"` and wrapper chains are followed.
const MAX_DEPTH: usize = 8;

/// Splits a cron command at the first unescaped `%`: (what the shell runs, standard input).
pub fn shell_part(command: &str) -> (&str, Option<&str>) {
    let mut escaped = false;
    for (i, c) in command.char_indices() {
        if escaped {
            escaped = false;
        } else if c == '\\' {
            escaped = true;
        } else if c == '%' {
            return (&command[..i], Some(&command[i + 1..]));
        }
    }
    (command, None)
}

/// The words of each simple command in a shell text, quotes removed, redirections dropped.
pub fn simple_commands(text: &str) -> Vec<Vec<String>> {
    Splitter::default().split(text)
}

#[derive(Default)]
struct Splitter {
    commands: Vec<Vec<String>>,
    words: Vec<(String, bool)>,
    word: String,
    in_word: bool,
    quoted: bool,
    /// The next word is the target of a redirection.
    redirect_target: bool,
}

impl Splitter {
    fn split(mut self, text: &str) -> Vec<Vec<String>> {
        let chars: Vec<char> = text.chars().collect();
        let mut i = 0;
        while i < chars.len() {
            let c = chars[i];
            i += 1;
            match c {
                ' ' | '\t' => self.end_word(),
                '\n' | ';' | '&' | '|' | '(' | ')' => {
                    self.end_word();
                    self.end_command();
                }
                '<' | '>' => {
                    let fd_number = self.in_word && !self.quoted && self.word.chars().all(|d| d.is_ascii_digit());
                    if fd_number {
                        self.word.clear();
                        self.in_word = false;
                    } else {
                        self.end_word();
                    }
                    while i < chars.len() && matches!(chars[i], '<' | '>' | '&' | '|') {
                        i += 1;
                    }
                    self.redirect_target = true;
                }
                '#' if !self.in_word => {
                    while i < chars.len() && chars[i] != '\n' {
                        i += 1;
                    }
                }
                '\'' => {
                    self.in_word = true;
                    self.quoted = true;
                    while i < chars.len() && chars[i] != '\'' {
                        self.word.push(chars[i]);
                        i += 1;
                    }
                    i += 1;
                }
                '"' => {
                    self.in_word = true;
                    self.quoted = true;
                    while i < chars.len() && chars[i] != '"' {
                        if chars[i] == '\\'
                            && i + 1 < chars.len()
                            && matches!(chars[i + 1], '$' | '`' | '"' | '\\' | '\n')
                        {
                            if chars[i + 1] != '\n' {
                                self.word.push(chars[i + 1]);
                            }
                            i += 2;
                            continue;
                        }
                        self.word.push(chars[i]);
                        i += 1;
                    }
                    i += 1;
                }
                '\\' => {
                    if let Some(&next) = chars.get(i) {
                        i += 1;
                        if next != '\n' {
                            self.word.push(next);
                            self.in_word = true;
                            self.quoted = true;
                        }
                    }
                }
                other => {
                    self.word.push(other);
                    self.in_word = true;
                }
            }
        }
        self.end_word();
        self.end_command();
        self.commands
    }

    fn end_word(&mut self) {
        if !self.in_word {
            return;
        }
        let word = std::mem::take(&mut self.word);
        if self.redirect_target {
            self.redirect_target = false;
        } else {
            self.words.push((word, self.quoted));
        }
        self.in_word = false;
        self.quoted = false;
    }

    fn end_command(&mut self) {
        self.redirect_target = false;
        let mut words = std::mem::take(&mut self.words);
        let skip = words
            .iter()
            .take_while(|(w, quoted)| !quoted && RESERVED.contains(&w.as_str()))
            .count();
        words.drain(..skip);
        if !words.is_empty() {
            self.commands.push(words.into_iter().map(|(w, _)| w).collect());
        }
    }
}

/// How a command runs the script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Invocation {
    /// The script is the program (directly or under a wrapper).
    Direct,
    /// A shell runs it (`sh script`, `bash -c "script"`).
    Shell,
    /// `run-parts DIR` on the script's directory.
    RunParts(PathBuf),
}

/// Where a command runs: the file system, PATH and the starting directory (cron starts jobs in `$HOME`).
pub struct Context<'a> {
    pub root: &'a SystemRoot,
    pub path: Vec<PathBuf>,
    pub home: PathBuf,
}

/// cron's PATH when the crontab sets none.
pub const DEFAULT_PATH: &str = "/usr/bin:/bin";

impl<'a> Context<'a> {
    pub fn new(root: &'a SystemRoot, path: Option<&str>, home: PathBuf) -> Self {
        let path = path
            .unwrap_or(DEFAULT_PATH)
            .split(':')
            .filter(|d| d.starts_with('/'))
            .map(PathBuf::from)
            .collect();
        Context { root, path, home }
    }

    /// How the shell text runs `script` (an absolute path), if it does.
    pub fn runs(&self, text: &str, script: &Path) -> Option<Invocation> {
        self.runs_in(text, script, 0)
    }

    fn runs_in(&self, text: &str, script: &Path, depth: usize) -> Option<Invocation> {
        // A text the shell cannot parse runs nothing at all.
        if depth > MAX_DEPTH || !syntax_ok(text) {
            return None;
        }
        let mut cwd = self.home.clone();
        for words in simple_commands(text) {
            let words = without_assignments(&words);
            let Some(first) = words.first() else {
                continue;
            };
            if first == "cd" {
                cwd = match words[1..].iter().find(|w| !w.starts_with('-')) {
                    Some(dir) => normalize(&cwd.join(dir)),
                    None => self.home.clone(),
                };
                continue;
            }
            if let Some(how) = self.invocation(words, &cwd, script, depth) {
                return Some(how);
            }
        }
        None
    }

    fn invocation(&self, words: &[String], cwd: &Path, script: &Path, depth: usize) -> Option<Invocation> {
        if depth > MAX_DEPTH {
            return None;
        }
        let program = words.first()?;
        let base = program.rsplit('/').next().unwrap_or(program);
        if self.is_script(program, cwd, script, false) {
            return Some(Invocation::Direct);
        }
        if SHELLS.contains(&base) {
            let mut i = 1;
            while let Some(word) = words.get(i) {
                if word == "--" {
                    i += 1;
                    break;
                }
                if word.starts_with('-') || word.starts_with('+') {
                    if word.starts_with('-') && !word.starts_with("--") && word.contains('c') {
                        let text = words.get(i + 1)?;
                        return self.runs_in(text, script, depth + 1).map(|_| Invocation::Shell);
                    }
                    i += if word == "-o" || word == "+o" { 2 } else { 1 };
                    continue;
                }
                break;
            }
            let file = words.get(i)?;
            return self.is_script(file, cwd, script, true).then_some(Invocation::Shell);
        }
        if base == "run-parts" {
            let dir = words[1..].iter().rev().find(|w| !w.starts_with('-'))?;
            let dir = normalize(&cwd.join(dir));
            let parent = script.parent()?;
            return self.same_file(&dir, parent).then_some(Invocation::RunParts(dir));
        }
        if WRAPPERS.contains(&base) {
            // The wrapped program is one of the next words: scan them once (no nested search per wrapper).
            for (i, word) in words.iter().enumerate().skip(1).take(64) {
                if word == "-c" || word == "--command" {
                    let text = words.get(i + 1)?;
                    return self.runs_in(text, script, depth + 1);
                }
                if self.is_script(word, cwd, script, false) {
                    return Some(Invocation::Direct);
                }
                let word_base = word.rsplit('/').next().unwrap_or(word);
                if SHELLS.contains(&word_base) || word_base == "run-parts" {
                    return self.invocation(&words[i..], cwd, script, depth + 1);
                }
            }
        }
        None
    }

    /// True when `word` names the script: a path (relative to `cwd`), or a bare name found in PATH (and, for
    /// `sh NAME`, in the working directory first).
    fn is_script(&self, word: &str, cwd: &Path, script: &Path, cwd_first: bool) -> bool {
        if word.is_empty() {
            return false;
        }
        if word.contains('/') {
            return self.same_file(&normalize(&cwd.join(word)), script);
        }
        if cwd_first && self.same_file(&cwd.join(word), script) {
            return true;
        }
        self.path.iter().any(|dir| self.same_file(&dir.join(word), script))
    }

    /// Same path after folding `.` and `..`, or the same file after following links under the root.
    pub fn same_file(&self, a: &Path, b: &Path) -> bool {
        if normalize(a) == normalize(b) {
            return true;
        }
        match (self.root.resolve(a), self.root.resolve(b)) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        }
    }
}

/// False when sh would reject the text with a syntax error: an unterminated quote or backquote, or an unbalanced
/// `(`/`$(`…`)`. (Keywords such as `if`/`fi` are not checked.)
pub fn syntax_ok(text: &str) -> bool {
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    let mut parens = 0usize;
    let mut backquoted = false;
    let mut word_start = true;
    while i < chars.len() {
        let c = chars[i];
        i += 1;
        match c {
            '\\' => i += 1,
            '\'' => match chars[i..].iter().position(|&q| q == '\'') {
                Some(end) => i += end + 1,
                None => return false,
            },
            '"' => {
                let mut closed = false;
                while i < chars.len() {
                    match chars[i] {
                        '\\' => i += 2,
                        '"' => {
                            i += 1;
                            closed = true;
                            break;
                        }
                        _ => i += 1,
                    }
                }
                if !closed {
                    return false;
                }
            }
            '`' => backquoted = !backquoted,
            '(' => parens += 1,
            ')' => match parens.checked_sub(1) {
                Some(p) => parens = p,
                None => return false,
            },
            '#' if word_start => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            _ => {}
        }
        word_start = matches!(c, ' ' | '\t' | '\n' | ';' | '&' | '|' | '(' | ')');
    }
    parens == 0 && !backquoted
}

/// The directories a shell text runs `run-parts` on (absolute, after any `cd`).
pub fn run_parts_dirs(text: &str, home: &Path) -> Vec<PathBuf> {
    let mut cwd = home.to_path_buf();
    let mut out = Vec::new();
    for words in simple_commands(text) {
        let words = without_assignments(&words);
        match words.first().map(String::as_str) {
            Some("cd") => {
                if let Some(dir) = words[1..].iter().find(|w| !w.starts_with('-')) {
                    cwd = normalize(&cwd.join(dir));
                }
            }
            Some(p) if p.rsplit('/').next() == Some("run-parts") => {
                if let Some(dir) = words[1..].iter().rev().find(|w| !w.starts_with('-')) {
                    out.push(normalize(&cwd.join(dir)));
                }
            }
            _ => {}
        }
    }
    out
}

/// True for Debian's `test -x /usr/sbin/anacron || …` guard: the rest runs only without anacron.
pub fn defers_to_anacron(text: &str) -> bool {
    text.contains("/usr/sbin/anacron") && text.contains("||")
}

/// Drops leading `NAME=value` words (environment for the command).
fn without_assignments(words: &[String]) -> &[String] {
    let skip = words
        .iter()
        .take_while(|w| {
            w.split_once('=').is_some_and(|(name, _)| {
                !name.is_empty()
                    && !name.starts_with(|c: char| c.is_ascii_digit())
                    && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            })
        })
        .count();
    &words[skip..]
}

/// Folds `.` and `..` without touching the file system.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::from("/");
    for comp in path.components() {
        match comp {
            Component::Normal(part) => out.push(part),
            Component::ParentDir => {
                out.pop();
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::symlink;

    const SCRIPT: &str = "/opt/citadel/scripts/citadel-backup.sh";

    fn tree() -> (tempfile::TempDir, SystemRoot) {
        let dir = tempfile::tempdir().unwrap();
        let root = SystemRoot::new(dir.path());
        fs::create_dir_all(root.path("/opt/citadel/scripts")).unwrap();
        fs::write(root.path(SCRIPT), "#!/bin/sh\n").unwrap();
        fs::create_dir_all(root.path("/usr/local/bin")).unwrap();
        symlink(SCRIPT, root.path("/usr/local/bin/citadel-backup")).unwrap();
        (dir, root)
    }

    fn runs(root: &SystemRoot, text: &str) -> Option<Invocation> {
        Context::new(root, Some("/usr/local/bin:/usr/bin:/bin"), "/root".into()).runs(text, Path::new(SCRIPT))
    }

    #[test]
    fn percent_ends_the_command() {
        assert_eq!(shell_part("a b"), ("a b", None));
        assert_eq!(shell_part("date +%Y"), ("date +", Some("Y")));
        assert_eq!(shell_part("date +\\%Y%x%y"), ("date +\\%Y", Some("x%y")));
        assert_eq!(shell_part("%"), ("", Some("")));
        assert_eq!(shell_part("é%ü"), ("é", Some("ü")));
    }

    #[test]
    fn splitting_into_simple_commands() {
        let cmds = simple_commands("test -x /usr/sbin/anacron || { cd / && run-parts --report /etc/cron.daily; }");
        assert_eq!(
            cmds,
            [
                vec!["test", "-x", "/usr/sbin/anacron"],
                vec!["cd", "/"],
                vec!["run-parts", "--report", "/etc/cron.daily"],
            ]
        );
        let cmds = simple_commands("a 'b c' \"d \\\"e\\\"\" f\\ g >/dev/null 2>&1 # comment\nh <in");
        assert_eq!(cmds, [vec!["a", "b c", "d \"e\"", "f g"], vec!["h"]]);
        let cmds = simple_commands("if [ -x x ]; then x >> /var/log/x.log 2>&1; fi");
        assert_eq!(cmds, [vec!["[", "-x", "x", "]"], vec!["x"]]);
        assert!(simple_commands("").is_empty());
        assert!(simple_commands("   ;;; && ||").is_empty());
    }

    #[test]
    fn the_script_path_as_the_program() {
        let (_d, root) = tree();
        assert_eq!(runs(&root, SCRIPT), Some(Invocation::Direct));
        assert_eq!(
            runs(&root, &format!("{SCRIPT} --full >/dev/null 2>&1")),
            Some(Invocation::Direct)
        );
        assert_eq!(runs(&root, &format!("LANG=C {SCRIPT}")), Some(Invocation::Direct));
        assert_eq!(
            runs(&root, "/opt/citadel/scripts/../scripts/./citadel-backup.sh"),
            Some(Invocation::Direct)
        );
        assert_eq!(
            runs(&root, "citadel-backup"),
            Some(Invocation::Direct),
            "a link found in PATH"
        );
        assert_eq!(runs(&root, "/usr/local/bin/citadel-backup"), Some(Invocation::Direct));
        assert_eq!(runs(&root, "citadel-backup.sh"), None, "not in PATH");
        assert_eq!(runs(&root, &format!("echo {SCRIPT}")), None);
        assert_eq!(runs(&root, &format!("test -x {SCRIPT}")), None);
        assert_eq!(
            runs(&root, &format!("test -x {SCRIPT} && {SCRIPT}")),
            Some(Invocation::Direct)
        );
    }

    #[test]
    fn after_cd() {
        let (_d, root) = tree();
        assert_eq!(
            runs(&root, "cd /opt/citadel/scripts && ./citadel-backup.sh"),
            Some(Invocation::Direct)
        );
        assert_eq!(
            runs(&root, "cd /opt/citadel && scripts/citadel-backup.sh"),
            Some(Invocation::Direct)
        );
        assert_eq!(runs(&root, "cd /tmp && ./citadel-backup.sh"), None);
        assert_eq!(runs(&root, "./citadel-backup.sh"), None, "cron starts in $HOME");
    }

    #[test]
    fn through_a_shell_or_a_wrapper() {
        let (_d, root) = tree();
        assert_eq!(runs(&root, &format!("sh {SCRIPT}")), Some(Invocation::Shell));
        assert_eq!(runs(&root, &format!("/bin/bash -e {SCRIPT}")), Some(Invocation::Shell));
        assert_eq!(
            runs(&root, &format!("/bin/sh -c '{SCRIPT} --x'")),
            Some(Invocation::Shell)
        );
        assert_eq!(
            runs(&root, &format!("bash -lc \"cd / && {SCRIPT}\"")),
            Some(Invocation::Shell)
        );
        assert_eq!(
            runs(&root, "cd /opt/citadel/scripts && sh citadel-backup.sh"),
            Some(Invocation::Shell)
        );
        assert_eq!(
            runs(&root, &format!("nice -n 19 ionice -c3 {SCRIPT}")),
            Some(Invocation::Direct)
        );
        assert_eq!(
            runs(&root, &format!("flock -n /run/x.lock {SCRIPT}")),
            Some(Invocation::Direct)
        );
        assert_eq!(
            runs(&root, &format!("flock /run/x.lock -c '{SCRIPT}'")),
            Some(Invocation::Direct)
        );
        assert_eq!(
            runs(&root, &format!("su - root -c \"{SCRIPT}\"")),
            Some(Invocation::Direct)
        );
        assert_eq!(runs(&root, "sh -c 'echo hi'"), None);
        assert_eq!(runs(&root, "sh"), None);
        assert_eq!(runs(&root, "sh -c"), None);
    }

    #[test]
    fn run_parts_on_the_scripts_directory() {
        let (_d, root) = tree();
        assert_eq!(
            runs(&root, "run-parts --report /opt/citadel/scripts"),
            Some(Invocation::RunParts("/opt/citadel/scripts".into()))
        );
        assert_eq!(runs(&root, "run-parts /etc/cron.daily"), None);
        assert_eq!(
            run_parts_dirs(
                "test -x /usr/sbin/anacron || { cd / && run-parts --report /etc/cron.daily; }",
                Path::new("/root")
            ),
            [PathBuf::from("/etc/cron.daily")]
        );
        assert_eq!(
            run_parts_dirs("cd /etc && run-parts cron.daily", Path::new("/")),
            [PathBuf::from("/etc/cron.daily")]
        );
        assert!(defers_to_anacron(
            "test -x /usr/sbin/anacron || run-parts /etc/cron.daily"
        ));
        assert!(!defers_to_anacron("run-parts /etc/cron.daily"));
    }

    #[test]
    fn a_syntax_error_runs_nothing() {
        let (_d, root) = tree();
        assert!(syntax_ok("a 'b' \"c\" $(d) `e` # (unbalanced in a comment"));
        assert!(!syntax_ok("a 'b"));
        assert!(!syntax_ok("a \"b"));
        assert!(!syntax_ok("a $(date +"));
        assert!(!syntax_ok("a `b"));
        assert!(!syntax_ok("a )"));
        assert_eq!(runs(&root, &format!("{SCRIPT} > /var/log/b-$(date +")), None);
        assert_eq!(
            runs(&root, &format!("{SCRIPT} > /var/log/b-$(date +%F).log")),
            Some(Invocation::Direct)
        );
    }

    #[test]
    fn a_trailing_cr_is_part_of_the_last_word() {
        let (_d, root) = tree();
        assert_eq!(runs(&root, &format!("{SCRIPT}\r")), None);
        assert_eq!(runs(&root, &format!("{SCRIPT} \r")), Some(Invocation::Direct));
    }

    #[test]
    fn garbage_never_panics() {
        let (_d, root) = tree();
        for text in [
            "'",
            "\"",
            "\\",
            "\"\\",
            "<",
            ">",
            "2>",
            "#",
            "(((((",
            "sh -c 'sh -c \"sh -c sh\"'",
            "cd",
            "cd ..",
            "run-parts",
            "env",
            "\u{0}\u{1}\r\n",
        ] {
            let _ = runs(&root, text);
            let _ = run_parts_dirs(text, Path::new("/"));
        }
        let deep = "sh -c ".repeat(50) + SCRIPT;
        let _ = runs(&root, &deep);
        let long = "nice ".repeat(200_000);
        let _ = runs(&root, &long);
        let _ = runs(&root, &"a".repeat(2 * 1024 * 1024));
    }
}
