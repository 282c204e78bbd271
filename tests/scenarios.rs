//! Every folder under `fixtures/` is a test: materialize its fake root, run `citadel-check --root` on it, and
//! compare each check's status (and the findings the scenario names) with `scenario.toml`.

mod common;

use std::process::Command;

use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::Value;

const CHECK_IDS: [&str; 10] = [
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

fn main() {
    let args = Arguments::from_args();
    let root = common::is_root();
    if !root {
        eprintln!("WARNING: not root: fixture scenarios need files owned by root (uid 0); every scenario is SKIPPED");
    }
    let trials = common::scenario_names()
        .into_iter()
        .map(|name| {
            let test_name = name.clone();
            Trial::test(test_name, move || run_scenario(&name)).with_ignored_flag(!root)
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}

fn run_scenario(name: &str) -> Result<(), Failed> {
    let dir = tempfile::tempdir()?;
    let scenario = common::materialize(name, dir.path())?;
    let expected_ids: Vec<&str> = scenario.expect.keys().map(String::as_str).collect();
    let mut sorted_ids = CHECK_IDS.to_vec();
    sorted_ids.sort();
    if expected_ids != sorted_ids {
        return Err(format!("scenario.toml [expect] must name all ten checks, it names {expected_ids:?}").into());
    }

    let mut cmd = Command::new(env!("CARGO_BIN_EXE_citadel-check"));
    cmd.arg("--root")
        .arg(dir.path())
        .args(["--json", "-", "--format", "terse", "-q"]);
    if let Some(policy) = &scenario.policy {
        cmd.arg("--config").arg(common::fixtures_dir().join(name).join(policy));
    }
    let output = cmd.output()?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    let report: Value = serde_json::from_slice(&output.stdout).map_err(|e| {
        format!(
            "no JSON report on stdout ({e}); exit {:?}; stderr:\n{stderr}",
            output.status.code()
        )
    })?;

    let mut problems = Vec::new();
    let checks = report["checks"].as_array().ok_or("report has no checks array")?;
    for check in checks {
        let id = check["id"].as_str().unwrap_or("?");
        let status = check["status"].as_str().unwrap_or("?");
        let want = scenario.expect.get(id).map(String::as_str).unwrap_or("?");
        if status != want {
            problems.push(format!("{id}: expected {want}, got {status}: {}", check_summary(check)));
        }
        for needle in scenario.findings.get(id).into_iter().flatten() {
            let hay = check_summary(check);
            if !hay.contains(needle.as_str()) {
                problems.push(format!("{id}: no finding mentions {needle:?}; findings: {hay}"));
            }
        }
    }
    let all_pass = scenario.expect.values().all(|s| s == "pass");
    let want_exit = if all_pass { 0 } else { 1 };
    if output.status.code() != Some(want_exit) {
        problems.push(format!(
            "exit status {:?}, expected {want_exit}; stderr:\n{stderr}",
            output.status.code()
        ));
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("{}\n{}", scenario.description, problems.join("\n")).into())
    }
}

fn check_summary(check: &Value) -> String {
    let mut out = String::new();
    if let Some(findings) = check["findings"].as_array() {
        for f in findings {
            for key in ["subject", "expected", "actual", "message"] {
                out.push_str(f[key].as_str().unwrap_or(""));
                out.push_str(" | ");
            }
            out.push('\n');
        }
    }
    if let Some(error) = check["reason"].as_str() {
        out.push_str(error);
    }
    out
}
