//! `--keep-days N`: deletes this tool's own reports older than N days, judged by the time in their names.
//!
//! A file is deleted only when both its name and its content say it is ours: a dated name (a regular file) and
//! a JSON report of our schema, or a JUnit file of our test suite. A file named like ours that is not (corrupt,
//! truncated, someone else's) is warned about and kept: deleting what we cannot recognise could lose data.

use std::fs;
use std::io::Read;
use std::time::{Duration, SystemTime};

use super::report_dir::{age, Entry, Kind, ReportDir, MAX_REPORT_BYTES};
use super::snapshot::Snapshot;
use crate::report::TOOL_NAME;

pub const DEFAULT_KEEP_DAYS: u32 = 90;

/// What one pass of retention did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Pruned {
    pub deleted: Vec<String>,
    pub warnings: Vec<String>,
}

/// Deletes our dated reports older than `keep_days` days at `now`.
pub fn prune(dir: &ReportDir, now: SystemTime, keep_days: u32) -> Pruned {
    let mut pruned = Pruned::default();
    let limit = Duration::from_secs(u64::from(keep_days) * 86_400);
    let entries = match dir.entries() {
        Ok(entries) => entries,
        Err(e) => {
            pruned.warnings.push(format!(
                "{}: cannot list it to delete old reports: {e}",
                dir.path().display()
            ));
            return pruned;
        }
    };
    for entry in entries {
        let Entry::Dated { name, stamp, kind } = entry else {
            continue;
        };
        if age(stamp, now) <= limit {
            continue;
        }
        let path = dir.path().join(&name);
        match recognised(&path, kind) {
            Ok(()) => match fs::remove_file(&path) {
                Ok(()) => pruned.deleted.push(name),
                Err(e) => pruned
                    .warnings
                    .push(format!("{}: cannot delete it: {e}", path.display())),
            },
            Err(why) => pruned.warnings.push(format!(
                "{}: older than {keep_days} days but not deleted: {why}",
                path.display()
            )),
        }
    }
    pruned
}

/// Ok when the file's content is a report this tool writes.
fn recognised(path: &std::path::Path, kind: Kind) -> Result<(), String> {
    match kind {
        Kind::Json => Snapshot::read(path).map(|_| ()),
        Kind::Xml => {
            let mut text = String::new();
            fs::File::open(path)
                .and_then(|f| f.take(MAX_REPORT_BYTES).read_to_string(&mut text))
                .map_err(|e| format!("cannot read it ({e})"))?;
            let ours = text.trim_start().starts_with("<?xml")
                && text.contains("<testsuite ")
                && text.contains(&format!(" name=\"{TOOL_NAME}\""))
                && text.trim_end().ends_with("</testsuites>");
            if ours {
                Ok(())
            } else {
                Err(format!("not a whole {TOOL_NAME} JUnit report"))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{json::to_json, junit::to_junit, sample};

    const DAY: u64 = 86_400;

    #[test]
    fn only_our_old_reports_go() {
        let dir = tempfile::tempdir().unwrap();
        let reports = ReportDir::prepare(dir.path()).unwrap();
        let run = sample::run();
        let (json, xml) = (to_json(&run), to_junit(&run));
        let now = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
        let day = |n: u64| now - std::time::Duration::from_secs(n * DAY);
        // 2023-11-14T22:13:20Z is now; 91 days before is 2023-08-15T22:13:20Z.
        for at in [day(91), day(90), day(1)] {
            reports.write_run(at, &json, &xml).unwrap();
        }
        let old_corrupt = "20230801T000000Z.json";
        fs::write(dir.path().join(old_corrupt), "{ truncated").unwrap();
        fs::write(dir.path().join("20230801T000000Z.xml"), "<html/>").unwrap();
        fs::write(dir.path().join("notes-2019.txt"), "mine").unwrap();

        let pruned = prune(&reports, now, 90);
        assert_eq!(pruned.deleted, ["20230815T221320Z.json", "20230815T221320Z.xml"]);
        assert_eq!(pruned.warnings.len(), 2, "{:?}", pruned.warnings);
        assert!(pruned.warnings[0].contains("20230801T000000Z.json: older than 90 days but not deleted: not JSON"));
        assert!(pruned.warnings[1].contains("not a whole citadel-check JUnit report"));
        let mut left: Vec<String> = fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(
            left,
            [
                "20230801T000000Z.json",
                "20230801T000000Z.xml",
                "20230816T221320Z.json",
                "20230816T221320Z.xml",
                "20231113T221320Z.json",
                "20231113T221320Z.xml",
                "latest.json",
                "latest.xml",
                "notes-2019.txt"
            ]
        );
    }
}
