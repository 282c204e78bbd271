//! Check-mode wall time, measured on the whole process as an operator or CI runs it.
//!
//! 1. `citadel-check --root <compliant fixture>` N times: min and median wall time (target: under 10 ms).
//! 2. Generated trees with 1,000 / 2,500 / 5,000 / 10,000 models (a directory and a model-links link each, and a
//!    policy naming them all) and a mountinfo of half as many lines (5,000 lines at 10,000 models), to show how
//!    the time grows.
//!
//! `cargo bench --bench check_mode` runs it in full. Under `cargo test --all-targets` (no `--bench` argument)
//! it only proves, in a second, that it still works.

#[path = "../tests/common/mod.rs"]
mod common;

use std::fmt::Write as _;
use std::fs;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BINARY: &str = env!("CARGO_BIN_EXE_citadel-check");

struct Settings {
    compliant_runs: usize,
    sizes: &'static [usize],
    generated_runs: usize,
}

const FULL: Settings = Settings {
    compliant_runs: 50,
    sizes: &[1_000, 2_500, 5_000, 10_000],
    generated_runs: 10,
};

const SMOKE: Settings = Settings {
    compliant_runs: 2,
    sizes: &[100],
    generated_runs: 1,
};

fn main() {
    let full = std::env::args().any(|arg| arg == "--bench");
    let settings = if full { FULL } else { SMOKE };
    if !full {
        println!("check_mode: smoke run (use `cargo bench --bench check_mode` for the figures)");
    }

    let mut rows = Vec::new();
    let compliant = tempfile::tempdir().expect("temp dir");
    common::materialize("compliant", compliant.path()).expect("materialize compliant");
    let reports = tempfile::tempdir().expect("temp dir");
    let json = reports.path().join("report.json");
    let junit = reports.path().join("report.xml");
    rows.push(Row::measure(
        "compliant",
        7,
        count_lines(compliant.path()),
        settings.compliant_runs,
        |cmd| {
            cmd.arg("--root").arg(compliant.path());
        },
    ));
    rows.push(Row::measure(
        "compliant, --json and --junit files",
        7,
        count_lines(compliant.path()),
        settings.compliant_runs,
        |cmd| {
            cmd.arg("--root")
                .arg(compliant.path())
                .arg("--json")
                .arg(&json)
                .arg("--junit")
                .arg(&junit);
        },
    ));

    for &models in settings.sizes {
        let tree = tempfile::tempdir().expect("temp dir");
        let policy = generate(tree.path(), models, models / 2);
        rows.push(Row::measure(
            "generated",
            models,
            count_lines(tree.path()),
            settings.generated_runs,
            |cmd| {
                cmd.arg("--root").arg(tree.path()).arg("--config").arg(&policy);
            },
        ));
    }

    println!("{}", table(&rows));
}

struct Row {
    name: &'static str,
    models: usize,
    mountinfo_lines: usize,
    runs: usize,
    min: Duration,
    median: Duration,
}

impl Row {
    fn measure(
        name: &'static str,
        models: usize,
        mountinfo_lines: usize,
        runs: usize,
        args: impl Fn(&mut Command),
    ) -> Row {
        let mut times: Vec<Duration> = (0..runs)
            .map(|_| {
                let mut cmd = Command::new(BINARY);
                args(&mut cmd);
                cmd.args(["-q", "--color", "never"])
                    .stdout(Stdio::null())
                    .stderr(Stdio::null());
                let started = Instant::now();
                let status = cmd.status().expect("the binary runs");
                let elapsed = started.elapsed();
                assert!(matches!(status.code(), Some(0 | 1)), "{name}: exit {status}");
                elapsed
            })
            .collect();
        times.sort();
        Row {
            name,
            models,
            mountinfo_lines,
            runs,
            min: times[0],
            median: times[times.len() / 2],
        }
    }
}

fn table(rows: &[Row]) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<36} {:>7} {:>10} {:>5} {:>9} {:>10} {:>13}",
        "tree", "models", "mountinfo", "runs", "min ms", "median ms", "µs per model"
    );
    for row in rows {
        // Only meaningful where the models dominate the tree.
        let per_model = if row.name == "generated" {
            format!("{:.2}", row.median.as_secs_f64() * 1e6 / row.models as f64)
        } else {
            "-".into()
        };
        let _ = writeln!(
            out,
            "{:<36} {:>7} {:>10} {:>5} {:>9.2} {:>10.2} {:>13}",
            row.name,
            row.models,
            row.mountinfo_lines,
            row.runs,
            row.min.as_secs_f64() * 1e3,
            row.median.as_secs_f64() * 1e3,
            per_model
        );
    }
    out
}

fn count_lines(root: &Path) -> usize {
    fs::read_to_string(root.join("proc/self/mountinfo")).map_or(0, |text| text.lines().count())
}

/// Lays out the compliant tree with `models` models and `extra_mounts` more mountinfo lines; returns the
/// policy file naming those models.
fn generate(root: &Path, models: usize, extra_mounts: usize) -> std::path::PathBuf {
    common::materialize("compliant", root).expect("materialize compliant");
    let names: Vec<String> = (0..models).map(|i| format!("model-{i:05}")).collect();

    let active = root.join("mnt/citadel-models/active");
    let links = root.join("opt/citadel/model-links");
    fs::create_dir_all(&links).expect("model-links");
    for name in &names {
        let dir = active.join(name);
        fs::create_dir_all(&dir).expect("model dir");
        fs::write(dir.join("config.json"), "{}\n").expect("config.json");
        let link = links.join(name);
        let _ = fs::remove_file(&link);
        symlink(format!("/mnt/citadel-models/active/{name}"), &link).expect("model link");
    }

    // Extra tmpfs mounts of the kind a busy host has (per-user runtime dirs), with their mount points.
    let mountinfo_path = root.join("proc/self/mountinfo");
    let mut mountinfo = fs::read_to_string(&mountinfo_path).expect("mountinfo");
    for i in 0..extra_mounts {
        let _ = writeln!(
            mountinfo,
            "{} 26 0:{} / /run/user/{} rw,nosuid,nodev,relatime shared:{} - tmpfs tmpfs rw,size=1224k,nr_inodes=306,mode=700,uid={},gid={},inode64",
            1000 + i,
            100 + i,
            10_000 + i,
            500 + i,
            10_000 + i,
            10_000 + i
        );
        fs::create_dir_all(root.join(format!("run/user/{}", 10_000 + i))).expect("mount point");
    }
    fs::write(&mountinfo_path, mountinfo).expect("mountinfo");

    let mut policy: toml::Table = toml::from_str(citadel_checks::policy::EMBEDDED_POLICY).expect("embedded policy");
    let models_section = policy
        .get_mut("models")
        .and_then(toml::Value::as_table_mut)
        .expect("[models]");
    models_section.insert(
        "names".into(),
        toml::Value::Array(names.into_iter().map(toml::Value::String).collect()),
    );
    let policy_path = root.join("bench-policy.toml");
    fs::write(&policy_path, toml::to_string(&policy).expect("policy TOML")).expect("policy");
    policy_path
}
