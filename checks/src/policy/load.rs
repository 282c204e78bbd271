//! Reading a policy file: TOML syntax, then the shape (serde, unknown keys refused), then the values
//! (`validate`). Every problem is reported with the file, line, column and key it is about.

use std::ops::Range;
use std::path::Path;

use super::document::{Document, KeyPath, Segment};
use super::error::{PolicyError, Problem};
use super::validate::{validate, Issue};
use super::Policy;

impl Policy {
    /// Parses and validates the policy `text`, read from `path` (used in messages only).
    pub fn load(path: &Path, text: &str) -> Result<Policy, PolicyError> {
        let (doc, syntax_error) = Document::parse(text);
        if let Some(err) = syntax_error {
            return Err(PolicyError::single(path, syntax_problem(&doc, &err.message, err.span)));
        }
        let policy: Policy = toml::from_str(text).map_err(|e| PolicyError::single(path, shape_problem(&doc, &e)))?;
        let mut problems: Vec<Problem> = validate(&policy).into_iter().map(|i| value_problem(&doc, i)).collect();
        if problems.is_empty() {
            return Ok(policy);
        }
        problems.sort_by_key(|p| p.location.as_ref().map_or((usize::MAX, 0), |l| (l.line, l.column)));
        Err(PolicyError {
            file: path.to_path_buf(),
            problems,
        })
    }

    /// Reads the file at `path` (a path on the real file system) and loads it.
    pub fn read(path: &Path) -> Result<Policy, PolicyError> {
        let text = std::fs::read_to_string(path).map_err(|e| {
            PolicyError::single(
                path,
                Problem {
                    key: None,
                    location: None,
                    message: format!("cannot read the policy: {e}"),
                },
            )
        })?;
        Policy::load(path, &text)
    }
}

/// A TOML syntax error, named by the key (or else the table) it is in.
fn syntax_problem(doc: &Document<'_>, message: &str, span: Option<Range<usize>>) -> Problem {
    let Some(span) = span else {
        return Problem {
            key: None,
            location: None,
            message: format!("TOML syntax error: {message}"),
        };
    };
    let table = doc.table_at(span.start);
    let (key, message) = if message == "duplicate key" {
        let name = doc.text_of(span.clone()).unwrap_or("?").trim();
        let key = table.clone().key(name.trim_matches(['"', '\'']));
        (key, format!("duplicate key `{name}` in {}", table.table_name()))
    } else if doc.line_of(span.start).trim_start().starts_with('[') {
        (
            KeyPath::default(),
            format!("TOML syntax error in a table header: {message}"),
        )
    } else {
        // Recovery after an error can attach later keys to odd spans: only a key written before the error can
        // be the one the error is in.
        match doc
            .path_at(span.start)
            .filter(|key| doc.key_start(key).is_some_and(|k| k <= span.start))
        {
            Some(key) => (
                key.clone(),
                format!("TOML syntax error in the value of `{key}`: {message}{}", mode_hint(key)),
            ),
            None => (
                table.clone(),
                format!("TOML syntax error in {}: {message}", table.table_name()),
            ),
        }
    };
    Problem {
        key: (!key.is_empty()).then(|| key.to_string()),
        location: Some(doc.location(span)),
        message,
    }
}

/// An error from deserializing: an unknown or missing key, or a value of the wrong type or form.
fn shape_problem(doc: &Document<'_>, err: &toml::de::Error) -> Problem {
    let message = err.message();
    let Some(span) = err.span() else {
        return Problem {
            key: None,
            location: None,
            message: message.to_string(),
        };
    };
    let path = doc.path_at(span.start).cloned().unwrap_or_default();
    let (key, message) = if let Some(rest) = message.strip_prefix("unknown field `") {
        // serde: "unknown field `NAME`, expected one of `a`, `b`": the path ends with the unknown key.
        let (name, hint) = rest.split_once('`').unwrap_or((rest, ""));
        let table = parent(&path);
        (
            path.clone(),
            format!("unknown key `{name}` in {}{hint}", table.table_name()),
        )
    } else if let Some(rest) = message.strip_prefix("missing field `") {
        // serde reports a missing key at the table (its header) that lacks it.
        let name = rest.trim_end_matches('`');
        (
            path.clone().key(name),
            format!(
                "missing key `{name}` in {} (a section that is given must be given whole)",
                path.table_name()
            ),
        )
    } else {
        (
            path.clone(),
            format!(
                "invalid value for `{path}`: {message}{}",
                if message.contains("integer") {
                    mode_hint(&path)
                } else {
                    ""
                }
            ),
        )
    };
    Problem {
        key: (!key.is_empty()).then(|| key.to_string()),
        location: Some(doc.location(span)),
        message,
    }
}

/// A value the validator refused, located at the first of its keys that the file mentions.
fn value_problem(doc: &Document<'_>, issue: Issue) -> Problem {
    let span = issue
        .paths
        .iter()
        .find_map(|p| doc.value_span(p))
        .or_else(|| issue.paths.iter().find_map(|p| nearest_mentioned(doc, p)));
    Problem {
        key: issue.paths.first().map(|p| p.to_string()),
        location: span.map(|s| doc.location(s)),
        message: issue.message,
    }
}

/// The span of the deepest table above `path` that the file has (the value itself took its default).
fn nearest_mentioned(doc: &Document<'_>, path: &KeyPath) -> Option<Range<usize>> {
    (1..path.0.len())
        .rev()
        .find_map(|n| doc.key_span(&KeyPath(path.0[..n].to_vec())))
}

fn parent(path: &KeyPath) -> KeyPath {
    KeyPath(path.0[..path.0.len().saturating_sub(1)].to_vec())
}

/// Modes are octal strings; a bare `0755` is not a TOML integer and `493` is not what anyone means.
fn mode_hint(path: &KeyPath) -> &'static str {
    match path.0.last() {
        Some(Segment::Key(k)) if k.ends_with("mode") => " (write modes as octal strings: mode = \"0755\")",
        _ => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::{DeviceSpec, EMBEDDED_POLICY};

    const FILE: &str = "/etc/citadel/citadel-check.toml";

    /// The embedded policy with `from` replaced by `to` (which must occur exactly once).
    fn edited(from: &str, to: &str) -> String {
        assert_eq!(EMBEDDED_POLICY.matches(from).count(), 1, "{from:?} must occur once");
        EMBEDDED_POLICY.replacen(from, to, 1)
    }

    fn line_of(text: &str, needle: &str) -> usize {
        text[..text.find(needle).unwrap()].matches('\n').count() + 1
    }

    /// Loads `text`, expects an error, and returns its display's first line.
    fn first_line(text: &str) -> String {
        let err = Policy::load(Path::new(FILE), text).expect_err("the policy must be refused");
        err.to_string().lines().next().unwrap().to_string()
    }

    #[test]
    fn the_embedded_policy_loads_and_is_the_default() {
        let p = Policy::load(Path::new("embedded"), EMBEDDED_POLICY).unwrap();
        assert_eq!(p, Policy::embedded());
    }

    #[test]
    fn an_empty_file_is_the_embedded_policy() {
        assert_eq!(Policy::load(Path::new(FILE), "").unwrap(), Policy::embedded());
    }

    #[test]
    fn a_partial_file_changes_only_its_sections() {
        let text = "[models]\nnames = [\"llama-3-8b\"]\nmin_mode = \"0500\"\n";
        let p = Policy::load(Path::new(FILE), text).unwrap();
        assert_eq!(p.models.names, ["llama-3-8b"]);
        assert_eq!(p.storage, Policy::embedded().storage);
    }

    #[test]
    fn syntax_error_names_file_line_and_key() {
        let text = edited("scheduler = \"none\"", "scheduler = none");
        let line = line_of(&text, "scheduler = none");
        let first = first_line(&text);
        assert!(
            first.starts_with(&format!(
                "{FILE}:{line}:13: TOML syntax error in the value of `storage.models.scheduler`: "
            )),
            "{first}"
        );
        let text = edited("[app]", "[app");
        let first = first_line(&text);
        assert!(
            first.starts_with(&format!(
                "{FILE}:{}:5: TOML syntax error in a table header: ",
                line_of(&text, "[app")
            )),
            "{first}"
        );
    }

    #[test]
    fn a_bare_octal_mode_gets_a_hint() {
        let text = edited("min_mode = \"0555\"", "min_mode = 0555");
        let first = first_line(&text);
        assert!(
            first.starts_with(&format!("{FILE}:{}:12: ", line_of(&text, "min_mode = 0555"))),
            "{first}"
        );
        assert!(first.contains("`models.min_mode`"), "{first}");
        assert!(first.contains("mode = \"0755\""), "{first}");
    }

    #[test]
    fn unknown_key_names_file_line_key_and_table() {
        let text = edited(
            "mount_point = \"/mnt/citadel-models\"",
            "mount_piont = \"/mnt/citadel-models\"",
        );
        let line = line_of(&text, "mount_piont");
        let err = Policy::load(Path::new(FILE), &text).unwrap_err();
        let shown = err.to_string();
        let mut lines = shown.lines();
        let first = lines.next().unwrap();
        assert!(
            first.starts_with(&format!(
                "{FILE}:{line}:1: unknown key `mount_piont` in [storage.models], expected one of"
            )),
            "{first}"
        );
        assert_eq!(err.first().key.as_deref(), Some("storage.models.mount_piont"));
        // The snippet: the offending line, underlined.
        assert_eq!(lines.next().unwrap().trim(), "|");
        assert!(lines
            .next()
            .unwrap()
            .ends_with("| mount_piont = \"/mnt/citadel-models\""));
        assert!(lines.next().unwrap().ends_with("| ^^^^^^^^^^^"));
    }

    #[test]
    fn unknown_top_level_key_and_unknown_key_in_an_array_of_tables() {
        assert_eq!(
            first_line("colour = \"blue\"\n"),
            format!(
                "{FILE}:1:1: unknown key `colour` in the top level, expected one of `storage`, `app`, `models`, \
                 `directories`, `tools`, `scripts`, `backup_job`, `trim`"
            )
        );
        let text = "[[tools]]\nname = \"tree\"\npackage = \"tree\"\n\n[[tools]]\nname = \"rsync\"\npkg = \"rsync\"\n";
        let first = first_line(text);
        assert!(
            first.starts_with(&format!("{FILE}:7:1: unknown key `pkg` in [[tools]] entry 2")),
            "{first}"
        );
    }

    #[test]
    fn missing_key_names_its_table() {
        let text = "[trim]\n";
        assert_eq!(
            first_line(text),
            format!("{FILE}:1:1: missing key `timer` in [trim] (a section that is given must be given whole)")
        );
    }

    #[test]
    fn duplicate_key_is_named() {
        let text = "[trim]\ntimer = \"fstrim.timer\"\ntimer = \"other.timer\"\n";
        assert_eq!(first_line(text), format!("{FILE}:3:1: duplicate key `timer` in [trim]"));
    }

    #[test]
    fn wrong_type_and_bad_device_name_the_key() {
        let first = first_line(&edited("check_content = true", "check_content = \"yes\""));
        assert!(first.contains("invalid value for `scripts.check_content`"), "{first}");
        let first = first_line(&edited("device = \"/dev/sda\"", "device = \"sda\""));
        assert!(first.contains("`storage.backup.device`"), "{first}");
        assert!(first.contains("not a /dev path"), "{first}");
    }

    #[test]
    fn relative_path_names_file_line_and_key() {
        let text = edited("dir = \"/opt/citadel/scripts\"", "dir = \"opt/citadel/scripts\"");
        let line = line_of(&text, "dir = \"opt/citadel/scripts\"");
        assert_eq!(
            first_line(&text),
            format!("{FILE}:{line}:7: `scripts.dir` = \"opt/citadel/scripts\" is not an absolute path")
        );
        let text = edited(
            "mount_point = \"/mnt/citadel-backup\"",
            "mount_point = \"/mnt/../citadel-backup\"",
        );
        assert!(first_line(&text).contains("`storage.backup.mount_point`"));
    }

    #[test]
    fn dotdot_model_name_names_file_line_and_key() {
        let text = edited("\"yi-34b\"", "\"../x\"");
        let line = line_of(&text, "\"../x\"");
        let column = text.lines().nth(line - 1).unwrap().find("\"../x\"").unwrap() + 1;
        assert_eq!(
            first_line(&text),
            format!(
                "{FILE}:{line}:{column}: `models.names[1]` = \"../x\" is not a single safe path component: it \
                 contains `/`"
            )
        );
        for bad in ["", ".", "..", "a/b", "-rf", "a\\u0000b"] {
            let text = edited("\"yi-34b\"", &format!("\"{bad}\""));
            assert!(first_line(&text).contains("`models.names[1]`"), "{bad:?}");
        }
    }

    #[test]
    fn unknown_scheduler_names_file_line_and_key() {
        let text = edited("scheduler = \"mq-deadline\"", "scheduler = \"cfq\"");
        let line = line_of(&text, "scheduler = \"cfq\"");
        assert_eq!(
            first_line(&text),
            format!(
                "{FILE}:{line}:13: `storage.backup.scheduler` = \"cfq\" is not a known I/O scheduler: one of none, \
                 mq-deadline, kyber, bfq"
            )
        );
    }

    #[test]
    fn bad_schedule_names_file_line_and_key() {
        let text = edited("schedule = \"30 2 * * *\"", "schedule = \"30 2 * *\"");
        let line = line_of(&text, "schedule = \"30 2 * *\"");
        let first = first_line(&text);
        assert!(
            first.starts_with(&format!(
                "{FILE}:{line}:12: `backup_job.schedule` = \"30 2 * *\" is not a cron schedule: "
            )),
            "{first}"
        );
    }

    #[test]
    fn a_weekly_schedule_is_the_checks_business_not_the_validators() {
        let text = edited("schedule = \"30 2 * * *\"", "schedule = \"@weekly\"");
        assert!(Policy::load(Path::new(FILE), &text).is_ok());
    }

    #[test]
    fn backup_script_must_be_one_of_the_scripts() {
        let text = edited("script = \"citadel-backup.sh\"", "script = \"backup.sh\"");
        let line = line_of(&text, "script = \"backup.sh\"");
        assert!(first_line(&text).starts_with(&format!("{FILE}:{line}:10: `backup_job.script` = \"backup.sh\"")));
        // Only [scripts] given: the default backup_job.script is no longer a script, so the message points at
        // the names that the file does give.
        let text = "[scripts]\ndir = \"/opt/citadel/scripts\"\nnames = [\"verify-models.sh\"]\ncheck_content = \
                    true\nowner = \"root\"\ngroup = \"root\"\nmode = \"0755\"\n";
        assert_eq!(
            first_line(text),
            format!(
                "{FILE}:3:9: `backup_job.script` = \"citadel-backup.sh\" is not one of `scripts.names` \
                 (verify-models.sh)"
            )
        );
    }

    #[test]
    fn duplicates_and_unshipped_scripts_and_modes() {
        let first = first_line(&edited("\"phi-3-mini\"", "\"yi-34b\""));
        assert!(
            first.contains("`models.names[4]` = \"yi-34b\" is given twice"),
            "{first}"
        );
        let text = edited("\"storage-monitor.sh\"", "\"my-script.sh\"");
        assert!(first_line(&text).contains("is not a script citadel-check ships"));
        let text = text.replace("check_content = true", "check_content = false");
        assert!(Policy::load(Path::new(FILE), &text).is_ok());
        let first =
            first_line(&EMBEDDED_POLICY.replace("mode = \"0755\"\n\n[backup_job]", "mode = \"0775\"\n\n[backup_job]"));
        assert!(
            first.contains("`scripts.mode` = \"0775\" is writable by group or others"),
            "{first}"
        );
        let first = first_line(&edited("min_mode = \"0555\"", "min_mode = \"4555\""));
        assert!(first.contains("`models.min_mode`"), "{first}");
    }

    #[test]
    fn every_problem_is_reported_in_file_order() {
        let text = edited("scheduler = \"mq-deadline\"", "scheduler = \"cfq\"").replace("\"yi-34b\"", "\"a/b\"");
        let err = Policy::load(Path::new(FILE), &text).unwrap_err();
        let keys: Vec<_> = err.problems.iter().map(|p| p.key.clone().unwrap()).collect();
        assert_eq!(keys, ["storage.backup.scheduler", "models.names[1]"]);
    }

    #[test]
    fn devices_in_every_form_load() {
        for (spec, want) in [
            (
                "UUID=3F6C2B1E-8D4A-4C7E-B5F2-1A9E0D7C6B54",
                DeviceSpec::Uuid("3f6c2b1e-8d4a-4c7e-b5f2-1a9e0d7c6b54".into()),
            ),
            ("LABEL=citadel-models", DeviceSpec::Label("citadel-models".into())),
            (
                "/dev/disk/by-id/nvme-x",
                DeviceSpec::Path("/dev/disk/by-id/nvme-x".into()),
            ),
        ] {
            let text = edited("device = \"/dev/nvme1n1\"", &format!("device = \"{spec}\""));
            assert_eq!(
                Policy::load(Path::new(FILE), &text).unwrap().storage.models.device,
                want
            );
        }
    }

    #[test]
    fn an_unreadable_file_is_an_error_naming_it() {
        let err = Policy::read(Path::new("/nonexistent/citadel-check.toml")).unwrap_err();
        assert!(err
            .to_string()
            .starts_with("/nonexistent/citadel-check.toml: cannot read the policy"));
    }

    #[test]
    fn garbage_never_panics() {
        for text in [
            "[",
            "]]",
            "a = [1,",
            "\u{feff}x = 1",
            "[storage]\nmodels = 3",
            "tools = 3",
            "[[app]]",
            "\"\\u00\" = 1",
            "é = \"\u{0}\"",
        ] {
            assert!(Policy::load(Path::new(FILE), text).is_err(), "{text:?}");
        }
    }
}
