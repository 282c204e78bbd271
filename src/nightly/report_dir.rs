//! The report directory of nightly mode (SPEC §1, §2 `--report-dir`): one dated JSON and JUnit report a run,
//! `latest.*` links to the newest, and retention that deletes only this tool's own old reports.
//!
//! Names: `YYYYMMDDTHHMMSSZ.json` and `.xml` (UTC, when the run started; `-N` is added when a run of the same
//! second is already there), so that the name order is the time order and the age of a report is read from its
//! name alone. `latest.json` and `latest.xml` are relative symlinks to the newest dated files, replaced
//! atomically (a new link under a temp name, renamed over the old one): a reader following `latest.json` always
//! finds a whole report. Anything else in the directory is someone else's: it is warned about, never deleted.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use time::{Date, Month, OffsetDateTime, PrimitiveDateTime, Time};

use crate::invocation_error::InvocationError;
use crate::report::write::write_atomically;

/// The names of the links (and the page) that are ours without a date.
pub const LATEST_JSON: &str = "latest.json";
pub const LATEST_XML: &str = "latest.xml";
pub const LATEST_HTML: &str = "latest.html";

/// Larger files are not read as reports (a report of ten checks is a few kilobytes).
pub const MAX_REPORT_BYTES: u64 = 16 * 1024 * 1024;

/// A report directory that exists and can be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportDir {
    path: PathBuf,
}

/// What a dated name says: when, which run of that second, which kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Stamp {
    /// Seconds since the Unix epoch, UTC.
    pub unix: i64,
    /// 0 for `NAME.json`, N for `NAME-N.json`.
    pub sequence: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Json,
    Xml,
}

/// One entry of the directory, classified by name and file type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// A dated report of ours (by name, and a regular file).
    Dated { name: String, stamp: Stamp, kind: Kind },
    /// `latest.json`, `latest.xml`, `latest.html`.
    Latest { name: String },
    /// Anything else: not ours, never touched.
    Foreign { name: String, why: String },
}

/// The files one run wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Written {
    pub json: PathBuf,
    pub xml: PathBuf,
}

impl ReportDir {
    /// Makes sure `path` is a directory this process can write, creating it (and its parents) when missing.
    /// Called before any check runs: a report directory that cannot be written is an invalid invocation.
    pub fn prepare(path: &Path) -> Result<ReportDir, InvocationError> {
        let fail = |what: String| {
            InvocationError::new(format!(
                "--report-dir {}: cannot write reports there: {what}",
                path.display()
            ))
        };
        if path.as_os_str().is_empty() {
            return Err(fail("the path is empty".into()));
        }
        let absolute = std::path::absolute(path).map_err(|e| fail(e.to_string()))?;
        match fs::metadata(&absolute) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => return Err(fail("it exists and is not a directory".into())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::create_dir_all(&absolute).map_err(|e| fail(format!("cannot create it: {e}")))?
            }
            Err(e) => return Err(fail(e.to_string())),
        }
        // Permission bits do not tell (root ignores them; a read-only mount ignores them all): try.
        let probe = absolute.join(format!(".citadel-check-probe-{}", std::process::id()));
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&probe)
            .map_err(|e| fail(e.to_string()))?;
        let _ = fs::remove_file(&probe);
        Ok(ReportDir { path: absolute })
    }

    /// A directory to read only (the `history` command); not checked here.
    pub fn open(path: &Path) -> ReportDir {
        ReportDir {
            path: path.to_path_buf(),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Every entry, sorted by name; dated reports come out oldest first.
    pub fn entries(&self) -> io::Result<Vec<Entry>> {
        let mut entries = Vec::new();
        for entry in fs::read_dir(&self.path)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let file_type = entry.file_type()?;
            entries.push(classify(&name, file_type));
        }
        entries.sort_by(|a, b| a.name().cmp(b.name()));
        Ok(entries)
    }

    /// Dated reports of one kind, oldest first.
    pub fn dated(&self, kind: Kind) -> io::Result<Vec<(String, Stamp)>> {
        let mut dated: Vec<(String, Stamp)> = self
            .entries()?
            .into_iter()
            .filter_map(|entry| match entry {
                Entry::Dated { name, stamp, kind: k } if k == kind => Some((name, stamp)),
                _ => None,
            })
            .collect();
        dated.sort_by_key(|(_, stamp)| *stamp);
        Ok(dated)
    }

    /// Writes the run's two dated reports, then points `latest.*` at them.
    pub fn write_run(&self, started_at: SystemTime, json: &str, xml: &str) -> io::Result<Written> {
        let base = self.free_base_name(started_at);
        let written = Written {
            json: self.path.join(format!("{base}.json")),
            xml: self.path.join(format!("{base}.xml")),
        };
        write_atomically(&written.json, json.as_bytes())?;
        write_atomically(&written.xml, xml.as_bytes())?;
        self.point_latest(LATEST_JSON, &format!("{base}.json"))?;
        self.point_latest(LATEST_XML, &format!("{base}.xml"))?;
        File::open(&self.path)?.sync_all()?;
        Ok(written)
    }

    /// The dated base name for a run started at `started_at` that no file uses yet.
    fn free_base_name(&self, started_at: SystemTime) -> String {
        let stamp = stamp_name(started_at);
        let taken = |base: &str| {
            ["json", "xml"]
                .iter()
                .any(|ext| fs::symlink_metadata(self.path.join(format!("{base}.{ext}"))).is_ok())
        };
        if !taken(&stamp) {
            return stamp;
        }
        (1..)
            .map(|n| format!("{stamp}-{n}"))
            .find(|base| !taken(base))
            .expect("some sequence number is free")
    }

    /// Replaces the link `name` by one to `target`, atomically: a new link under a temp name, renamed over.
    fn point_latest(&self, name: &str, target: &str) -> io::Result<()> {
        let temp = self.path.join(format!(".{name}.tmp-{}", std::process::id()));
        let _ = fs::remove_file(&temp);
        symlink(target, &temp)?;
        fs::rename(&temp, self.path.join(name)).inspect_err(|_| {
            let _ = fs::remove_file(&temp);
        })
    }
}

impl Entry {
    pub fn name(&self) -> &str {
        match self {
            Entry::Dated { name, .. } | Entry::Latest { name } | Entry::Foreign { name, .. } => name,
        }
    }
}

fn classify(name: &str, file_type: fs::FileType) -> Entry {
    if [LATEST_JSON, LATEST_XML, LATEST_HTML].contains(&name) {
        return Entry::Latest { name: name.into() };
    }
    match parse_name(name) {
        Some((stamp, kind)) if file_type.is_file() => Entry::Dated {
            name: name.into(),
            stamp,
            kind,
        },
        Some(_) => Entry::Foreign {
            name: name.into(),
            why: "named like a citadel-check report but not a regular file".into(),
        },
        None => Entry::Foreign {
            name: name.into(),
            why: "not a citadel-check report".into(),
        },
    }
}

/// `YYYYMMDDTHHMMSSZ` of a time, in UTC.
pub fn stamp_name(time: SystemTime) -> String {
    let t = OffsetDateTime::from(time);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// The stamp and kind of a dated report name (`20250131T023000Z.json`, `20250131T023000Z-2.xml`), or `None`.
pub fn parse_name(name: &str) -> Option<(Stamp, Kind)> {
    let (base, kind) = if let Some(base) = name.strip_suffix(".json") {
        (base, Kind::Json)
    } else {
        (name.strip_suffix(".xml")?, Kind::Xml)
    };
    let (stamp, sequence) = match base.split_once('-') {
        Some((stamp, n)) => {
            let sequence: u32 = n.parse().ok().filter(|n| *n > 0)?;
            // No leading zeros, no sign: one spelling per number.
            (sequence.to_string() == n).then_some((stamp, sequence))?
        }
        None => (base, 0),
    };
    let bytes = stamp.as_bytes();
    if bytes.len() != 16 || bytes[8] != b'T' || bytes[15] != b'Z' {
        return None;
    }
    let digits = |range: std::ops::Range<usize>| -> Option<u32> {
        let part = &stamp[range];
        part.bytes().all(|b| b.is_ascii_digit()).then(|| part.parse().ok())?
    };
    let month = Month::try_from(u8::try_from(digits(4..6)?).ok()?).ok()?;
    let date = Date::from_calendar_date(i32::try_from(digits(0..4)?).ok()?, month, digits(6..8)? as u8).ok()?;
    let time = Time::from_hms(digits(9..11)? as u8, digits(11..13)? as u8, digits(13..15)? as u8).ok()?;
    let unix = PrimitiveDateTime::new(date, time).assume_utc().unix_timestamp();
    Some((Stamp { unix, sequence }, kind))
}

/// Seconds since the epoch of a time (whole seconds, UTC).
pub fn unix_of(time: SystemTime) -> i64 {
    OffsetDateTime::from(time).unix_timestamp()
}

/// How old a stamp is at `now`.
pub fn age(stamp: Stamp, now: SystemTime) -> Duration {
    Duration::from_secs(u64::try_from(unix_of(now) - stamp.unix).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(unix: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(unix)
    }

    #[test]
    fn names_are_utc_stamps_that_parse_back() {
        // 2023-11-14T22:13:20Z
        assert_eq!(stamp_name(at(1_700_000_000)), "20231114T221320Z");
        assert_eq!(
            parse_name("20231114T221320Z.json"),
            Some((
                Stamp {
                    unix: 1_700_000_000,
                    sequence: 0
                },
                Kind::Json
            ))
        );
        assert_eq!(
            parse_name("20231114T221320Z-12.xml"),
            Some((
                Stamp {
                    unix: 1_700_000_000,
                    sequence: 12
                },
                Kind::Xml
            ))
        );
    }

    #[test]
    fn other_names_are_not_ours() {
        for name in [
            "latest.json",
            "20231114T221320Z.json~",
            "20231114T221320Z.html",
            "20231114T221320.json",
            "20231114T221320Z-0.json",
            "20231114T221320Z-01.json",
            "20231114T221320Z-+1.json",
            "20231314T221320Z.json",
            "20230230T221320Z.json",
            "20231114T241320Z.json",
            "2023111xT221320Z.json",
            "notes.txt",
            ".20231114T221320Z.json.tmp-1-0",
            "２0231114T221320Z.json",
        ] {
            assert_eq!(parse_name(name), None, "{name}");
        }
    }

    #[test]
    fn a_missing_directory_is_created_and_a_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let nested = dir.path().join("a/b/compliance");
        let prepared = ReportDir::prepare(&nested).unwrap();
        assert!(nested.is_dir());
        assert_eq!(prepared.path(), nested);
        assert_eq!(fs::read_dir(&nested).unwrap().count(), 0, "the probe is gone");

        let file = dir.path().join("file");
        fs::write(&file, "").unwrap();
        let err = ReportDir::prepare(&file).unwrap_err();
        assert!(
            err.headline()
                .starts_with(&format!("--report-dir {}: cannot write", file.display())),
            "{err}"
        );
        let under_file = ReportDir::prepare(&file.join("sub")).unwrap_err();
        assert!(
            under_file.headline().contains("file/sub: cannot write reports there: "),
            "{under_file}"
        );
    }

    #[test]
    fn runs_of_the_same_second_get_their_own_names_and_latest_follows() {
        let dir = tempfile::tempdir().unwrap();
        let reports = ReportDir::prepare(dir.path()).unwrap();
        let first = reports.write_run(at(1_700_000_000), "{1}", "<1/>").unwrap();
        let second = reports.write_run(at(1_700_000_000), "{2}", "<2/>").unwrap();
        assert_eq!(first.json, dir.path().join("20231114T221320Z.json"));
        assert_eq!(second.json, dir.path().join("20231114T221320Z-1.json"));
        assert_eq!(second.xml, dir.path().join("20231114T221320Z-1.xml"));
        assert_eq!(
            fs::read_link(dir.path().join(LATEST_JSON)).unwrap(),
            Path::new("20231114T221320Z-1.json")
        );
        assert_eq!(fs::read_to_string(dir.path().join(LATEST_XML)).unwrap(), "<2/>");
        let names: Vec<String> = reports
            .entries()
            .unwrap()
            .iter()
            .map(|e| e.name().to_string())
            .collect();
        assert_eq!(
            names,
            [
                "20231114T221320Z-1.json",
                "20231114T221320Z-1.xml",
                "20231114T221320Z.json",
                "20231114T221320Z.xml",
                "latest.json",
                "latest.xml"
            ],
            "no temp file is left"
        );
        let dated = reports.dated(Kind::Json).unwrap();
        assert_eq!(
            dated[0].0, "20231114T221320Z.json",
            "oldest first, by stamp then sequence"
        );
    }

    #[test]
    fn a_dated_name_that_is_not_a_regular_file_is_foreign() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("20231114T221320Z.json")).unwrap();
        symlink("/etc/passwd", dir.path().join("20231115T221320Z.json")).unwrap();
        let entries = ReportDir::open(dir.path()).entries().unwrap();
        assert!(
            entries.iter().all(|e| matches!(e, Entry::Foreign { .. })),
            "{entries:?}"
        );
    }
}
