//! The storage fixers on every fixture scenario that fails one of their checks: materialized by `citadel_testkit`
//! (as the workspace's scenario tests lay scenarios out), then fixed under the tree's root with the
//! real apply layer, in fix order. Under a root that is not `/` the kernel parts (mount, remount, sysfs) are
//! pending; the file-level parts (the fstab entry and its options, the udev rules) must be right afterwards, and
//! each fix must be fixed, pending or refused with a reason, never failed.

use std::collections::BTreeMap;
use std::fs;
use std::time::Duration;

use citadel_checks::{Finding, Outcome, Policy, System, SystemRoot, CHECKS};
use citadel_fixers::apply::Applier;
use citadel_fixers::fix::{self, FixReport};
use citadel_fixers::fixers::by_id;
use citadel_fixers::host::RealHost;
use citadel_fixers::lock;
use citadel_testkit::{fixtures_dir, is_root, load_scenario, materialize, scenario_names};

/// The checks these fixers fix, in fix order.
const STORAGE_CHECKS: [&str; 3] = ["storage_mounts", "mount_options", "io_schedulers"];

/// Scenarios where a fix must refuse (and what its refusal says): what is wrong is not for a fixer to undo.
const REFUSED: &[(&str, &str, &str)] = &[
    ("policy-device-absent", "storage_mounts", "/dev/nvme9n1 does not exist"),
    (
        "models-mounted-from-other-disk",
        "storage_mounts",
        "ext4 from /dev/nvme2n1 is mounted",
    ),
    (
        "models-overmounted-by-tmpfs",
        "storage_mounts",
        "tmpfs from tmpfs is mounted",
    ),
    (
        "models-overmounted-by-tmpfs",
        "mount_options",
        "fix storage_mounts first",
    ),
    (
        "models-wrong-fs-type",
        "storage_mounts",
        "xfs from /dev/nvme1n1 is mounted",
    ),
    ("models-wrong-fs-type", "mount_options", "fix storage_mounts first"),
    ("models-not-mounted", "mount_options", "fix storage_mounts first"),
];

/// The scenarios whose `[expect]` fails one of the storage checks, with those checks.
fn storage_scenarios() -> Vec<(String, Vec<&'static str>)> {
    scenario_names()
        .into_iter()
        .filter_map(|name| {
            let scenario = load_scenario(&name).unwrap_or_else(|e| panic!("{e}"));
            let failing: Vec<&str> = STORAGE_CHECKS
                .into_iter()
                .filter(|id| scenario.expect.get(*id).map(String::as_str) != Some("pass"))
                .collect();
            (!failing.is_empty()).then_some((name, failing))
        })
        .collect()
}

/// A finding about what is written in a file (fstab, udev rules), not about the running kernel.
fn file_level(check: &str, finding: &Finding) -> bool {
    match check {
        "io_schedulers" => !finding.subject.starts_with("/sys/"),
        _ => finding.subject.starts_with("/etc/fstab"),
    }
}

/// Whether the udev evaluator sees the compliant fixture's scheduler rule for nvme1n1 (it must).
fn udev_evaluator_present() -> bool {
    let root = SystemRoot::new(fixtures_dir().join("compliant/root"));
    let system = System::new(root.clone());
    let disk = citadel_checks::blockdev::BlockDevice::by_name(&root, "nvme1n1").unwrap();
    let facts = disk.udev_facts(&root).unwrap();
    system
        .udev_rules()
        .unwrap()
        .final_attr_assignment(&facts, "add", "queue/scheduler")
        .is_some()
}

fn run_fixes(root: &SystemRoot, policy: &Policy) -> BTreeMap<&'static str, (FixReport, Outcome)> {
    let lock = lock::acquire(root, Duration::from_secs(5)).unwrap();
    let applier = Applier::new(root, &lock, policy, &RealHost);
    STORAGE_CHECKS
        .into_iter()
        .map(|id| {
            let check = CHECKS.iter().find(|c| c.id == id).unwrap();
            (id, fix::fix(check, by_id(id).unwrap().plan, policy, &applier))
        })
        .collect()
}

#[test]
fn storage_fixes_make_the_files_right_in_every_failing_scenario() {
    if !is_root() {
        eprintln!("SKIPPED: scenario trees need files owned by root");
        return;
    }
    let udev = udev_evaluator_present();
    assert!(
        udev,
        "the udev evaluator does not see the compliant fixture's scheduler rule: a regression"
    );
    let scenarios = storage_scenarios();
    assert!(scenarios.len() >= 15, "{scenarios:?}");
    let mut problems = Vec::new();
    for (name, failing) in &scenarios {
        let dir = tempfile::tempdir().unwrap();
        let scenario = materialize(name, dir.path()).unwrap_or_else(|e| panic!("materializing {name}: {e}"));
        let policy = match &scenario.policy {
            Some(file) => Policy::read(&fixtures_dir().join(name).join(file)).unwrap(),
            None => Policy::embedded(),
        };
        let root = SystemRoot::new(dir.path());
        let fixes = run_fixes(&root, &policy);
        for (id, (report, outcome)) in &fixes {
            let status = report.status.as_str();
            eprintln!("{name:40} {id:15} {status:11} {}", report.message);
            let expected_refusal = REFUSED.iter().find(|(s, c, _)| s == name && c == id);
            match expected_refusal {
                Some((_, _, why)) => {
                    if status != "refused" || !report.message.contains(why) {
                        problems.push(format!(
                            "{name}: {id}: expected refused ({why}), got {status}: {}",
                            report.message
                        ));
                    }
                }
                None if *id == "io_schedulers" && !udev => {}
                None => {
                    if !["not_needed", "fixed", "pending"].contains(&status) {
                        problems.push(format!("{name}: {id}: {status}: {}", report.message));
                    }
                }
            }
            if !failing.contains(id) || (*id == "io_schedulers" && !udev) {
                continue;
            }
            let left: Vec<String> = outcome
                .findings()
                .iter()
                .filter(|f| file_level(id, f))
                .map(|f| format!("{} | {} | {}", f.subject, f.expected, f.actual))
                .collect();
            if !left.is_empty() {
                problems.push(format!("{name}: {id}: file-level findings left: {left:?}"));
            }
        }
        if let Some(io) = fixes.get("io_schedulers").filter(|_| !udev) {
            // Without the evaluator, at least the rules file the fix writes must be the one LINUX-FACTS shows.
            if failing.contains(&"io_schedulers") && io.0.actions.iter().any(|a| a.kind == "write_file") {
                let rules = fs::read_to_string(root.path("/etc/udev/rules.d/60-citadel-io-schedulers.rules")).unwrap();
                assert!(rules.contains("ENV{DEVTYPE}==\"disk\", KERNEL==\"nvme1n1\""), "{rules}");
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
