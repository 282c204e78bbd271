//! Helpers for the binary's integration tests: run `citadel-check`, and validate what it writes against
//! `schemas/report-v1.schema.json` (JSON) and the shared JUnit XSD (through `xmllint`).
#![allow(dead_code)]

pub mod fixes;
pub mod tree;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::Value;

use crate::common;

pub const CHECK_IDS: [&str; 10] = [
    "required_tools",
    "storage_mounts",
    "mount_options",
    "directory_structure",
    "model_directories",
    "symlinks",
    "scripts",
    "io_schedulers",
    "trim_timer",
    "backup_cron",
];

/// A command running the built binary.
pub fn citadel_check() -> Command {
    Command::new(env!("CARGO_BIN_EXE_citadel-check"))
}

/// Runs the binary with `args` and returns its output.
pub fn run(args: &[&std::ffi::OsStr]) -> Output {
    citadel_check().args(args).output().expect("the binary runs")
}

pub fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

pub fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// A materialized fixture scenario in a temporary directory (dropped with the directory).
pub fn materialized(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    common::materialize(name, dir.path()).unwrap_or_else(|e| panic!("materializing {name}: {e}"));
    dir
}

/// Asserts the process ended with `code` (not a signal, not libtest's 101) and did not panic.
pub fn assert_exit(output: &Output, code: i32) {
    assert_eq!(
        output.status.code(),
        Some(code),
        "exit status; stderr:\n{}",
        stderr(output)
    );
    assert_no_panic(output);
}

pub fn assert_no_panic(output: &Output) {
    let err = stderr(output);
    assert!(!err.contains("panicked"), "the binary panicked:\n{err}");
    assert_ne!(output.status.code(), Some(101), "libtest's exit status leaked:\n{err}");
}

fn report_validator() -> &'static jsonschema::Validator {
    static VALIDATOR: OnceLock<jsonschema::Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        let path = common::workspace().join("schemas/report-v1.schema.json");
        let schema: Value = serde_json::from_str(&std::fs::read_to_string(&path).expect("the schema exists"))
            .expect("the schema is JSON");
        jsonschema::options()
            .should_validate_formats(true)
            .build(&schema)
            .expect("the schema is a valid JSON Schema")
    })
}

/// Asserts `report` matches the report schema and that its summary adds up.
pub fn assert_valid_report(report: &Value) {
    let errors: Vec<String> = report_validator()
        .iter_errors(report)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "report does not match the schema:\n{}\n{report:#}",
        errors.join("\n")
    );
    let checks = report["checks"].as_array().expect("checks");
    let count = |status: &str| checks.iter().filter(|c| c["status"] == status).count() as u64;
    let summary = &report["summary"];
    assert_eq!(summary["total"], checks.len() as u64);
    assert_eq!(summary["passed"], count("pass"));
    assert_eq!(summary["failed"], count("fail"));
    assert_eq!(summary["skipped"], count("skip"));
    assert_eq!(summary["errors"], count("error"));
    // In fix modes, a fix left planned, pending, refused or failed is not compliant either (SPEC §2).
    let fixes_settled = checks
        .iter()
        .filter_map(|c| c["fix"]["status"].as_str())
        .all(|status| matches!(status, "not_needed" | "fixed"));
    assert_eq!(
        summary["compliant"],
        count("fail") + count("error") == 0 && fixes_settled
    );
}

/// Parses `text` as a report and validates it.
pub fn parse_report(text: &str) -> Value {
    let report: Value = serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}):\n{text}"));
    assert_valid_report(&report);
    report
}

/// The shared directory beside the repository (`../shared` in CI), found from this crate upwards.
/// `CITADEL_SHARED_DIR` overrides it.
pub fn shared_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CITADEL_SHARED_DIR") {
        return PathBuf::from(dir);
    }
    common::workspace()
        .ancestors()
        .map(|dir| dir.join("shared"))
        .find(|shared| shared.join("schemas/junit-10.xsd").is_file())
        .expect("shared/schemas/junit-10.xsd beside the repository (set CITADEL_SHARED_DIR to point elsewhere)")
}

/// Asserts the JUnit file at `path` validates against the shared JUnit XSD.
pub fn assert_valid_junit(path: &Path) {
    let xsd = shared_dir().join("schemas/junit-10.xsd");
    let output = Command::new("xmllint")
        .arg("--noout")
        .arg("--schema")
        .arg(&xsd)
        .arg(path)
        .output()
        .unwrap_or_else(|e| panic!("cannot run xmllint ({e}): install it with `apt-get install -y libxml2-utils`"));
    assert!(
        output.status.success(),
        "{} is not valid JUnit:\n{}\n{}",
        path.display(),
        String::from_utf8_lossy(&output.stderr),
        std::fs::read_to_string(path).unwrap_or_default()
    );
}

/// Writes `xml` to a temporary file and validates it.
pub fn assert_valid_junit_text(xml: &str) {
    let file = tempfile::Builder::new().suffix(".xml").tempfile().expect("temp file");
    std::fs::write(file.path(), xml).expect("write");
    assert_valid_junit(file.path());
}

/// True when `text` names line `line`, as `line 3` or `file:3` / `file:3:1`.
pub fn names_line(text: &str, line: usize) -> bool {
    text.contains(&format!("line {line}"))
        || text
            .match_indices(&format!(":{line}"))
            .any(|(at, m)| !text[at + m.len()..].starts_with(|c: char| c.is_ascii_digit()))
}
