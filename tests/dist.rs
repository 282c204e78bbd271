//! What `dist/` ships for running citadel-check nightly: the systemd service and timer pass `systemd-analyze
//! verify`, the cron.d file is one that cron (and our own cron check's parser) runs daily, and the example policy
//! is the embedded policy as `--print-policy` prints it.

mod common;
mod external;
mod support;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use citadel_checks::cron::crontab::{Crontab, Format, LineKind};
use citadel_checks::cron::files::cron_d_name_ok;
use citadel_checks::cron::users::Users;
use citadel_checks::cron::Flavor;

const SERVICE: &str = "citadel-check-nightly.service";
const TIMER: &str = "citadel-check-nightly.timer";
/// Where the package installs the cron file: a name Debian's cron reads (no dot).
const CRON_D_NAME: &str = "citadel-check-nightly";
const REPORT_DIR: &str = "/opt/citadel/logs/compliance";

fn dist(path: &str) -> PathBuf {
    common::workspace().join("dist").join(path)
}

fn read(path: &str) -> String {
    fs::read_to_string(dist(path)).unwrap()
}

/// The units in a temp dir, the service's binary pointed at the one just built (verify wants it to exist).
fn units_for_verify(dir: &Path, timer_text: Option<&str>) -> (PathBuf, PathBuf) {
    let service =
        read(&format!("systemd/{SERVICE}")).replace("/usr/bin/citadel-check", env!("CARGO_BIN_EXE_citadel-check"));
    fs::write(dir.join(SERVICE), service).unwrap();
    let timer = timer_text.map_or_else(|| read(&format!("systemd/{TIMER}")), str::to_string);
    fs::write(dir.join(TIMER), timer).unwrap();
    (dir.join(SERVICE), dir.join(TIMER))
}

fn verify(analyze: &Path, units: &[&Path]) -> std::process::Output {
    // --man=no: the man page is installed by the package, not here (the package test reads it).
    Command::new(analyze)
        .arg("verify")
        .arg("--man=no")
        .args(units)
        .output()
        .unwrap()
}

#[test]
fn systemd_analyze_verify_accepts_the_units_and_catches_a_broken_one() {
    let Some(analyze) = external::required_tool("/usr/bin/systemd-analyze", "systemd") else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let (service, timer) = units_for_verify(dir.path(), None);
    let output = verify(&analyze, &[&timer, &service]);
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "systemd-analyze verify failed:\n{err}");
    // It exits 0 on settings it ignores with a warning: accept no word at all.
    assert_eq!(err, "", "systemd-analyze verify warned");

    // Not a vacuous pass: a misspelt calendar is refused.
    let broken = read(&format!("systemd/{TIMER}")).replace("OnCalendar=daily", "OnCalendar=dayly");
    let (_, timer) = units_for_verify(dir.path(), Some(&broken));
    let output = verify(&analyze, &[&timer]);
    assert!(!output.status.success(), "a broken timer passed verify");
}

#[test]
fn the_units_say_what_the_issue_asks() {
    let service = read(&format!("systemd/{SERVICE}"));
    let timer = read(&format!("systemd/{TIMER}"));
    let lines = |text: &str| text.lines().map(str::to_string).collect::<Vec<_>>();
    let service_lines = lines(&service);
    let exec = service_lines.iter().find(|l| l.starts_with("ExecStart=")).unwrap();
    assert!(
        exec.starts_with("ExecStart=/usr/bin/citadel-check --report-dir /opt/citadel/logs/compliance "),
        "{exec}"
    );
    assert!(exec.contains(&format!("--html {REPORT_DIR}/latest.html")), "{exec}");
    for line in ["Type=oneshot", "SuccessExitStatus=1"] {
        assert!(service_lines.iter().any(|l| l == line), "{line}");
    }
    // The checks must see the host's mount table: no private mount namespace.
    for option in [
        "ProtectSystem=",
        "PrivateTmp=",
        "ReadWritePaths=",
        "ProtectHome=",
        "PrivateMounts=",
    ] {
        assert!(!service_lines.iter().any(|l| l.starts_with(option)), "{option}");
    }
    let timer_lines = lines(&timer);
    for line in ["OnCalendar=daily", "Persistent=true", "WantedBy=timers.target"] {
        assert!(timer_lines.iter().any(|l| l == line), "{line}");
    }
    assert!(timer_lines.iter().any(|l| l.starts_with("RandomizedDelaySec=")));
}

#[test]
fn the_cron_file_is_one_debian_cron_and_cronie_run_daily() {
    let text = read("citadel-check-nightly.cron");
    assert!(text.ends_with('\n'), "cron ignores a last line without a newline");
    cron_d_name_ok(Flavor::Debian, CRON_D_NAME).expect("a cron.d name Debian's cron reads");
    let users = Users::parse("root:x:0:0:root:/root:/bin/bash\n");
    for flavor in [Flavor::Debian, Flavor::Cronie] {
        let crontab = Crontab::parse(
            &text,
            Format {
                user_field: true,
                flavor,
            },
            &users,
        );
        assert_eq!(crontab.first_bad(), None, "{flavor:?}");
        let jobs = crontab.runnable().unwrap();
        assert_eq!(jobs.len(), 1, "{flavor:?}: one job");
        let LineKind::Job(job) = &jobs[0].kind else {
            unreachable!()
        };
        assert_eq!(job.user.as_deref(), Some("root"));
        assert!(job.schedule.fires_daily(), "{flavor:?}: runs every day");
        assert!(!job.cut, "the command fits in cron's limit");
        // Where systemd runs, the timer does the job: the line steps aside, and otherwise runs the report.
        assert!(
            job.command.starts_with(
                "[ -d /run/systemd/system ] || /usr/bin/citadel-check --report-dir /opt/citadel/logs/compliance "
            ),
            "{}",
            job.command
        );
        assert!(!job.command.contains('%'), "cron turns % into a newline");
        assert_eq!(
            crontab.env_at(jobs[0].number, "PATH"),
            Some("/usr/sbin:/usr/bin:/sbin:/bin")
        );
    }
}

#[test]
fn the_cron_job_and_the_service_run_the_same_command() {
    let exec = read(&format!("systemd/{SERVICE}"))
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart=").map(str::to_string))
        .unwrap();
    assert!(
        read("citadel-check-nightly.cron").contains(&format!("|| {exec} >/dev/null\n")),
        "{exec}"
    );
}

#[test]
fn the_shipped_example_policy_is_the_embedded_policy_printed() {
    assert_eq!(
        read("citadel-check.toml.example"),
        citadel_cli::assets::example_policy(),
        "regenerate it: cargo run --example gen-assets -- target/assets && cp target/assets/citadel-check.toml.example dist/"
    );
    // And it is what --print-policy prints, which --config reads back.
    let output = support::citadel_check()
        .args(["--print-policy", "--root"])
        .arg(tempfile::tempdir().unwrap().path())
        .output()
        .unwrap();
    support::assert_exit(&output, 0);
    assert_eq!(support::stdout(&output), read("citadel-check.toml.example"));
    let output = support::citadel_check()
        .arg("--config")
        .arg(dist("citadel-check.toml.example"))
        .arg("--print-policy")
        .output()
        .unwrap();
    support::assert_exit(&output, 0);
    assert_eq!(
        support::stdout(&output),
        read("citadel-check.toml.example"),
        "read back to the same policy"
    );
}
