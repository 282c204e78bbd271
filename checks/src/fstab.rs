//! `/etc/fstab`: which file systems are mounted where at boot (fstab(5)).
//!
//! Parsed the way util-linux's libmount does it, because libmount is what reads the file at boot (mount(8),
//! `mount -a`, findmnt and systemd-fstab-generator all use it):
//! - fields are separated by runs of spaces and tabs; `\040`-style octal escapes are decoded in every field;
//! - a line whose first non-blank character is `#` is a comment, and so is a blank line;
//! - source, mount point and type are required; options, dump and pass are optional (dump and pass default
//!   to 0); dump and pass must be whole numbers; anything after the pass field is ignored, which is why a
//!   trailing `# comment` is accepted after six fields and is a parse error after four;
//! - a trailing `\r` (CRLF) is dropped, a missing final newline is fine, and a NUL ends the line (libmount
//!   works on C strings);
//! - a line that does not parse is skipped with "parse error at line N -- ignored": the rest of the file still
//!   counts. Here it becomes an [`FstabProblem`] so that checks can name it.

use std::path::{Path, PathBuf};

use crate::error::FactError;
use crate::mountinfo::{unescape, MountOption};
use crate::root::SystemRoot;

pub const FSTAB_PATH: &str = "/etc/fstab";

/// What an fstab line mounts: a tag that udev/libblkid resolve, a path, or a pseudo source (`tmpfs`, `proc`,
/// `server:/export`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FstabSource {
    /// `UUID=`, as written: the lookup at boot (`/dev/disk/by-uuid/VALUE`) is case-sensitive.
    Uuid(String),
    Label(String),
    PartUuid(String),
    PartLabel(String),
    /// A path such as `/dev/nvme1n1` or `/dev/disk/by-id/...`.
    Path(PathBuf),
    Other(String),
}

impl FstabSource {
    /// Classifies a decoded source field like libmount: `NAME=value` with a known tag name (case-sensitive),
    /// the value optionally in matching quotes; else a path if it starts with `/`; else a pseudo source.
    pub fn parse(field: &str) -> FstabSource {
        if let Some((name, value)) = field.split_once('=') {
            if let Some(value) = unquote_tag_value(value) {
                match name {
                    "UUID" => return FstabSource::Uuid(value.to_string()),
                    "LABEL" => return FstabSource::Label(value.to_string()),
                    "PARTUUID" => return FstabSource::PartUuid(value.to_string()),
                    "PARTLABEL" => return FstabSource::PartLabel(value.to_string()),
                    _ => {}
                }
            }
        }
        if field.starts_with('/') {
            FstabSource::Path(PathBuf::from(field))
        } else {
            FstabSource::Other(field.to_string())
        }
    }
}

/// libblkid's tag value rule: a value that starts with a quote must end with the same quote (which is
/// stripped); an unterminated quote means the field is not a tag at all.
fn unquote_tag_value(value: &str) -> Option<&str> {
    match value.chars().next() {
        Some(q @ ('"' | '\'')) => {
            let inner = &value[1..];
            let end = inner.rfind(q)?;
            Some(&inner[..end])
        }
        _ => Some(value),
    }
}

/// One line of fstab that mounts something.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FstabEntry {
    /// 1-based line number.
    pub line: usize,
    pub source: FstabSource,
    /// The source field as written (decoded), for messages.
    pub source_text: String,
    pub mount_point: PathBuf,
    pub fs_type: String,
    /// The options in the order written; empty when the field is absent (mount then uses the defaults).
    pub options: Vec<MountOption>,
    pub dump: i64,
    pub pass: i64,
}

impl FstabEntry {
    pub fn has_option(&self, name: &str) -> bool {
        self.options.iter().any(|o| o.name == name)
    }

    /// The options field as written (`defaults` when it was absent).
    pub fn options_string(&self) -> String {
        if self.options.is_empty() {
            "defaults".to_string()
        } else {
            self.options.iter().map(|o| o.to_string()).collect::<Vec<_>>().join(",")
        }
    }
}

/// A line that mount and systemd skip as a parse error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FstabProblem {
    /// 1-based line number.
    pub line: usize,
    /// The line, shortened for messages.
    pub text: String,
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fstab {
    pub entries: Vec<FstabEntry>,
    pub problems: Vec<FstabProblem>,
    /// Comment lines that would be valid entries without their `#` (`#UUID=… /mnt/x ext4 …`), so that a
    /// message can say "line N is commented out".
    pub commented_out: Vec<FstabEntry>,
}

impl Fstab {
    pub fn load(root: &SystemRoot) -> Result<Fstab, FactError> {
        Ok(Fstab::parse(&root.read_text(FSTAB_PATH)?))
    }

    /// Parses fstab text. Never fails: a bad line becomes a problem and the rest still counts.
    pub fn parse(text: &str) -> Fstab {
        let mut fstab = Fstab::default();
        for (index, raw) in text.split('\n').enumerate() {
            let number = index + 1;
            let line = line_content(raw);
            let body = line.trim_start_matches([' ', '\t']);
            if body.is_empty() {
                continue;
            }
            if let Some(comment) = body.strip_prefix('#') {
                if let Ok(entry) = parse_entry(comment.trim_start_matches([' ', '\t']), number) {
                    if entry.mount_point.is_absolute() && !entry.options.is_empty() {
                        fstab.commented_out.push(entry);
                    }
                }
                continue;
            }
            match parse_entry(body, number) {
                Ok(entry) => fstab.entries.push(entry),
                Err(reason) => fstab.problems.push(FstabProblem {
                    line: number,
                    text: shorten(body),
                    reason,
                }),
            }
        }
        fstab
    }

    /// Every entry whose mount point is `mount_point` (trailing slashes and doubled separators do not
    /// matter), in file order. At boot the first one wins; `findmnt --verify` warns about the others.
    pub fn entries_at(&self, mount_point: &Path) -> Vec<&FstabEntry> {
        self.entries.iter().filter(|e| e.mount_point == mount_point).collect()
    }

    pub fn commented_out_at(&self, mount_point: &Path) -> Vec<&FstabEntry> {
        self.commented_out
            .iter()
            .filter(|e| e.mount_point == mount_point)
            .collect()
    }
}

/// The part of a raw line libmount looks at: up to the first NUL, without a trailing `\r`.
fn line_content(raw: &str) -> &str {
    let line = match raw.find('\0') {
        Some(nul) => &raw[..nul],
        None => raw,
    };
    line.strip_suffix('\r').unwrap_or(line)
}

fn parse_entry(body: &str, line: usize) -> Result<FstabEntry, String> {
    let mut fields = body.split([' ', '\t']).filter(|f| !f.is_empty());
    let (source_field, target, fs_type) = match (fields.next(), fields.next(), fields.next()) {
        (Some(s), Some(t), Some(f)) => (s, t, f),
        (s, t, _) => {
            let count = [s, t].iter().filter(|f| f.is_some()).count();
            return Err(format!(
                "{count} field{} where at least 3 are needed (source, mount point, type)",
                if count == 1 { "" } else { "s" }
            ));
        }
    };
    let options = fields.next().map(|o| split_options(&unescape(o))).unwrap_or_default();
    let dump = fields
        .next()
        .map(|f| parse_number(f, "dump (5th)"))
        .transpose()?
        .unwrap_or(0);
    let pass = fields
        .next()
        .map(|f| parse_number(f, "pass (6th)"))
        .transpose()?
        .unwrap_or(0);
    let source_text = unescape(source_field);
    Ok(FstabEntry {
        line,
        source: FstabSource::parse(&source_text),
        source_text,
        mount_point: PathBuf::from(unescape(target)),
        fs_type: unescape(fs_type),
        options,
        dump,
        pass,
    })
}

/// libmount reads dump and pass with strtol: an optional sign and decimal digits, nothing else.
fn parse_number(field: &str, which: &str) -> Result<i64, String> {
    let digits = field.strip_prefix(['+', '-']).unwrap_or(field);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("the {which} field {:?} is not a number", shorten(field)));
    }
    // strtol saturates on overflow; the value only matters as "zero or not".
    let magnitude = digits.parse::<i64>().unwrap_or(i64::MAX);
    Ok(if field.starts_with('-') { -magnitude } else { magnitude })
}

/// Splits an options field at commas, keeping commas inside double quotes (`context="a,b"`) as libmount does.
pub fn split_options(field: &str) -> Vec<MountOption> {
    let mut options = Vec::new();
    let mut current = String::new();
    let mut quoted = false;
    for c in field.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                current.push(c);
            }
            ',' if !quoted => {
                if !current.is_empty() {
                    options.push(MountOption::parse(&current));
                }
                current.clear();
            }
            _ => current.push(c),
        }
    }
    if !current.is_empty() {
        options.push(MountOption::parse(&current));
    }
    options
}

/// Writes a value as an fstab field: space, tab, newline and backslash as octal escapes (util-linux `mangle`).
pub fn escape_field(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            ' ' | '\t' | '\n' | '\\' => out.push_str(&format!("\\{:03o}", c as u32)),
            _ => out.push(c),
        }
    }
    out
}

fn shorten(text: &str) -> String {
    const MAX: usize = 120;
    if text.len() <= MAX {
        return text.to_string();
    }
    let mut end = MAX;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry<'a>(fstab: &'a Fstab, mount_point: &str) -> &'a FstabEntry {
        fstab
            .entries_at(Path::new(mount_point))
            .first()
            .copied()
            .unwrap_or_else(|| panic!("no entry for {mount_point}: {fstab:#?}"))
    }

    fn names(options: &[MountOption]) -> Vec<String> {
        options.iter().map(|o| o.to_string()).collect()
    }

    /// The edge cases of util-linux's own fstab test files (tests/ts/libmount/files/fstab, fstab.comment),
    /// written anew: tags, tabs, a 4-field NFS line, a cifs line, comments before, between and after.
    const TYPICAL: &str = "#
 # a leading comment, indented
#

# the root file system
UUID=d1e2f3a4-0000-4c7e-b5f2-1a9e0d7c6b54 /     ext4    noatime,defaults 1 1
LABEL=boot /boot ext4    noatime,defaults 1 2

UUID=aaaa0000-1111-2222-3333-444455556666 none  swap    sw        0 0
tmpfs                   /dev/shm                tmpfs   defaults        0 0
devpts                  /dev/pts                devpts  gid=5,mode=620  0 0
/dev/mapper/vg-home\t\t/home              ext4\tnoatime,defaults 0 2
fileserver:/export\t/mnt/remote\t\tnfs\tnoauto
//smb.example/share        /mnt/share             cifs    user=GROUP/someone,noauto
/dev/sdb1\t\t/any/dir/\t\tauto\tdefaults 0 0

#a trailing comment
";

    #[test]
    fn parses_typical_lines_and_skips_comments() {
        let fstab = Fstab::parse(TYPICAL);
        assert!(fstab.problems.is_empty(), "{:?}", fstab.problems);
        assert_eq!(fstab.entries.len(), 9);
        let root = entry(&fstab, "/");
        assert_eq!(root.line, 6);
        assert_eq!(
            root.source,
            FstabSource::Uuid("d1e2f3a4-0000-4c7e-b5f2-1a9e0d7c6b54".into())
        );
        assert_eq!(root.fs_type, "ext4");
        assert_eq!(names(&root.options), ["noatime", "defaults"]);
        assert_eq!((root.dump, root.pass), (1, 1));
        assert_eq!(entry(&fstab, "/boot").source, FstabSource::Label("boot".into()));
        let home = entry(&fstab, "/home");
        assert_eq!(home.source, FstabSource::Path("/dev/mapper/vg-home".into()));
        assert_eq!(home.pass, 2);
        let nfs = entry(&fstab, "/mnt/remote");
        assert_eq!(nfs.source, FstabSource::Other("fileserver:/export".into()));
        assert_eq!((nfs.dump, nfs.pass), (0, 0), "dump and pass default to 0");
        assert!(nfs.has_option("noauto"));
        assert_eq!(
            names(&entry(&fstab, "/mnt/share").options),
            ["user=GROUP/someone", "noauto"]
        );
        assert_eq!(entry(&fstab, "/dev/pts").options[0].value.as_deref(), Some("5"));
        assert_eq!(fstab.entries[2].mount_point, PathBuf::from("none"));
    }

    #[test]
    fn trailing_slash_in_the_mount_point_does_not_matter() {
        let fstab = Fstab::parse(TYPICAL);
        assert_eq!(entry(&fstab, "/any/dir").source, FstabSource::Path("/dev/sdb1".into()));
        let fstab = Fstab::parse("/dev/sda1 //mnt//x/ ext4 defaults\n");
        assert_eq!(entry(&fstab, "/mnt/x").line, 1);
    }

    /// util-linux's fstab.broken, in spirit: garbage between good lines is reported with its line number and
    /// hides nothing.
    #[test]
    fn broken_lines_are_problems_and_the_rest_still_counts() {
        let text = "bug
UUID=d1e2f3a4-0000-4c7e-b5f2-1a9e0d7c6b54 /     ext4    noatime,defaults 1 1
 UUID=aaaa0000-1111-2222-3333-444455556666 none  swap    defaults        0 0
devpts                  /dev/pts                devpts  gid=5,mode=620
this is a broken line with an unexpected number of fields
/dev/mapper/foo\t\t/home/foo              ext4\tnoatime,defaults 1
/dev/sda1 /x
LABEL=data /data ext4 defaults 0 2x
";
        let fstab = Fstab::parse(text);
        let lines: Vec<usize> = fstab.problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, [1, 5, 7, 8]);
        assert!(fstab.problems[0].reason.contains("1 field"), "{:?}", fstab.problems[0]);
        assert_eq!(fstab.problems[0].text, "bug");
        assert!(fstab.problems[1].reason.contains("dump"), "{:?}", fstab.problems[1]);
        assert!(fstab.problems[2].reason.contains("2 fields"));
        assert!(fstab.problems[3].reason.contains("pass"));
        assert!(fstab.problems[3].text.contains("2x"));
        let targets: Vec<_> = fstab.entries.iter().map(|e| e.mount_point.to_str().unwrap()).collect();
        assert_eq!(targets, ["/", "none", "/dev/pts", "/home/foo"]);
        assert_eq!(entry(&fstab, "/home/foo").dump, 1, "a 5-field line is fine");
    }

    #[test]
    fn three_fields_are_enough_for_libmount() {
        // Verified with `findmnt --tab-file`: a line without options parses, with default options.
        let fstab = Fstab::parse("/dev/sda /m ext4\n");
        assert!(fstab.problems.is_empty());
        let e = entry(&fstab, "/m");
        assert!(e.options.is_empty());
        assert_eq!(e.options_string(), "defaults");
    }

    #[test]
    fn trailing_comment_is_ignored_after_six_fields_and_an_error_after_four() {
        // Verified with `findmnt --verify --tab-file`: libmount ignores what follows the pass field but reads
        // a `#` in the dump position as a bad number.
        let fstab = Fstab::parse(
            "UUID=x /six ext4 defaults 0 2 # fine\nUUID=y /four ext4 defaults # parse error\n/dev/z /junk ext4 rw 0 0 junk\n",
        );
        assert_eq!(entry(&fstab, "/six").pass, 2);
        assert_eq!(entry(&fstab, "/junk").line, 3);
        assert_eq!(fstab.problems.len(), 1);
        assert_eq!(fstab.problems[0].line, 2);
        assert!(fstab.problems[0].reason.contains("\"#\""), "{:?}", fstab.problems[0]);
    }

    #[test]
    fn a_hash_inside_a_field_is_not_a_comment() {
        let fstab = Fstab::parse("/dev/sda1 /mnt/a#b ext4 defaults 0 0\n");
        assert_eq!(entry(&fstab, "/mnt/a#b").line, 1);
    }

    #[test]
    fn octal_escapes_are_decoded_in_every_field() {
        let fstab = Fstab::parse("LABEL=my\\040disk /mnt/with\\040space\\011tab ext4 defaults 0 0\n");
        let e = entry(&fstab, "/mnt/with space\ttab");
        assert_eq!(e.source, FstabSource::Label("my disk".into()));
        assert_eq!(e.source_text, "LABEL=my disk");
    }

    #[test]
    fn escaping_round_trips() {
        assert_eq!(escape_field("/mnt/a b\tc\\d"), "/mnt/a\\040b\\011c\\134d");
        for value in [
            "/mnt/plain",
            "/mnt/a b",
            "tab\there",
            "new\nline",
            "back\\slash",
            "caf\u{e9}",
        ] {
            assert_eq!(unescape(&escape_field(value)), value);
        }
    }

    #[test]
    fn quoted_tags_and_tag_kinds() {
        assert_eq!(FstabSource::parse("UUID=\"AbC-1\""), FstabSource::Uuid("AbC-1".into()));
        assert_eq!(FstabSource::parse("LABEL='x y'"), FstabSource::Label("x y".into()));
        assert_eq!(
            FstabSource::parse("PARTUUID=1234-01"),
            FstabSource::PartUuid("1234-01".into())
        );
        assert_eq!(
            FstabSource::parse("PARTLABEL=esp"),
            FstabSource::PartLabel("esp".into())
        );
        // An unterminated quote is not a tag for libblkid; tag names are case-sensitive.
        assert_eq!(
            FstabSource::parse("UUID=\"abc"),
            FstabSource::Other("UUID=\"abc".into())
        );
        assert_eq!(FstabSource::parse("uuid=abc"), FstabSource::Other("uuid=abc".into()));
        assert_eq!(FstabSource::parse("UUID="), FstabSource::Uuid(String::new()));
        assert_eq!(FstabSource::parse("/dev/sda"), FstabSource::Path("/dev/sda".into()));
        assert_eq!(FstabSource::parse("proc"), FstabSource::Other("proc".into()));
        let fstab = Fstab::parse("UUID=\"3F6C2B1E-8D4A-4C7E-B5F2-1A9E0D7C6B54\" /m ext4 defaults 0 2\n");
        assert_eq!(
            entry(&fstab, "/m").source,
            FstabSource::Uuid("3F6C2B1E-8D4A-4C7E-B5F2-1A9E0D7C6B54".into()),
            "the case is kept: the lookup at boot is case-sensitive"
        );
    }

    #[test]
    fn crlf_and_missing_final_newline() {
        let fstab = Fstab::parse("# comment\r\n/dev/sda1 /a ext4 noatime 0 1\r\n\r\n/dev/sda2 /b ext4 data=writeback");
        assert!(fstab.problems.is_empty(), "{:?}", fstab.problems);
        assert_eq!(entry(&fstab, "/a").pass, 1, "the \\r does not stick to the pass field");
        let b = entry(&fstab, "/b");
        assert_eq!(b.line, 4);
        assert_eq!(names(&b.options), ["data=writeback"]);
    }

    #[test]
    fn commented_out_entries_are_remembered() {
        let fstab = Fstab::parse("#UUID=abc /mnt/m ext4 defaults,noatime 0 2\n# just words here\n#\n");
        assert!(fstab.entries.is_empty());
        let commented = fstab.commented_out_at(Path::new("/mnt/m"));
        assert_eq!(commented.len(), 1);
        assert_eq!(commented[0].line, 1);
        assert_eq!(fstab.commented_out.len(), 1, "prose is not an entry");
    }

    #[test]
    fn several_entries_for_one_mount_point_keep_file_order() {
        let fstab = Fstab::parse("/dev/a /m ext4 defaults\n/dev/b /m ext4 defaults\n");
        let lines: Vec<usize> = fstab.entries_at(Path::new("/m")).iter().map(|e| e.line).collect();
        assert_eq!(lines, [1, 2]);
    }

    #[test]
    fn options_split_at_commas_outside_quotes() {
        let opts = split_options("defaults,context=\"system_u:object_r:a,b\",,noatime,");
        assert_eq!(
            names(&opts),
            ["defaults", "context=\"system_u:object_r:a,b\"", "noatime"]
        );
    }

    #[test]
    fn numbers_follow_strtol() {
        assert_eq!(parse_number("+3", "x"), Ok(3));
        assert_eq!(parse_number("-1", "x"), Ok(-1));
        assert_eq!(parse_number("99999999999999999999999", "x"), Ok(i64::MAX));
        assert!(parse_number("-", "x").is_err());
        assert!(parse_number("0x1", "x").is_err());
    }

    #[test]
    fn nul_ends_the_line_and_binary_does_not_panic() {
        let fstab = Fstab::parse("/dev/sda1 /a ext4 defaults 0 0\0garbage after nul\n");
        assert_eq!(entry(&fstab, "/a").pass, 0);
        assert!(fstab.problems.is_empty());

        let mut bytes: Vec<u8> = (0..=255u8).cycle().take(64 * 1024).collect();
        bytes.extend_from_slice(b"\n\xff\xfe /x ext4\n");
        let text = String::from_utf8_lossy(&bytes);
        let fstab = Fstab::parse(&text);
        for p in &fstab.problems {
            assert!(p.text.len() <= 124, "problem text is shortened");
        }
        assert!(fstab.entries.iter().any(|e| e.mount_point == Path::new("/x")));
    }

    #[test]
    fn a_two_megabyte_line_is_one_problem_shortened() {
        let long = "x".repeat(2 * 1024 * 1024);
        let fstab = Fstab::parse(&format!("{long}\n/dev/sda1 /a ext4 defaults 0 0\n"));
        assert_eq!(fstab.problems.len(), 1);
        assert!(fstab.problems[0].text.len() < 200);
        assert_eq!(entry(&fstab, "/a").line, 2);

        let long_opts = format!("/dev/sda1 /b ext4 {} 0 0\n", vec!["noatime"; 300_000].join(","));
        let fstab = Fstab::parse(&long_opts);
        assert_eq!(entry(&fstab, "/b").options.len(), 300_000);
    }

    #[test]
    fn empty_and_whitespace_only_files() {
        assert_eq!(Fstab::parse(""), Fstab::default());
        assert_eq!(Fstab::parse(" \t\n\n\r\n"), Fstab::default());
    }

    #[test]
    fn loads_from_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = SystemRoot::new(dir.path());
        assert!(Fstab::load(&root).unwrap_err().is_not_found());
        std::fs::create_dir_all(root.path("/etc")).unwrap();
        std::fs::write(root.path(FSTAB_PATH), b"/dev/sda1 /a ext4 defaults 0 0\n\xff\xfe\n").unwrap();
        let fstab = Fstab::load(&root).unwrap();
        assert_eq!(fstab.entries.len(), 1);
        assert_eq!(fstab.problems.len(), 1);
        assert_eq!(fstab.problems[0].line, 2);
    }
}
