//! The shipped management scripts (`checks/scripts/`, SPEC §7), run for real on temporary trees.
//!
//! Paths are pointed at the trees with the scripts' environment variables; `CITADEL_REQUIRE_MOUNT=0` lets a
//! plain directory stand for a mounted disk (documented in each script). Needs bash, rsync, flock, sha256sum;
//! runs shellcheck too when it is installed.

use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn script(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("checks/scripts").join(name)
}

fn on_path(tool: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .output()
        .is_ok_and(|o| o.status.success())
}

fn text(output: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}--- stderr\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A models disk, a backup disk, configs and logs, as plain directories in one temporary tree.
struct Layout {
    dir: tempfile::TempDir,
}

impl Layout {
    fn new() -> Layout {
        let layout = Layout {
            dir: tempfile::tempdir().unwrap(),
        };
        for dir in [
            "models/active/mixtral-8x7b",
            "models/active/phi-3-mini",
            "backup",
            "configs",
            "logs",
        ] {
            fs::create_dir_all(layout.path(dir)).unwrap();
        }
        layout.write("models/active/mixtral-8x7b/model.safetensors", "weights of mixtral");
        layout.write("models/active/mixtral-8x7b/config.json", "{}\n");
        layout.write("models/active/phi-3-mini/model.safetensors", "weights of phi");
        layout.write("configs/citadel.conf", "port = 8080\n");
        layout
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn write(&self, rel: &str, content: &str) {
        fs::write(self.path(rel), content).unwrap();
    }

    fn run(&self, name: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new("bash");
        cmd.arg(script(name))
            .args(args)
            .env("CITADEL_MODELS_DIR", self.path("models"))
            .env("CITADEL_BACKUP_DIR", self.path("backup"))
            .env("CITADEL_CONFIGS_DIR", self.path("configs"))
            .env("CITADEL_LOG_DIR", self.path("logs"))
            .env("CITADEL_LOCK_FILE", self.path("backup.lock"));
        for (key, value) in env {
            cmd.env(key, value);
        }
        cmd.output().unwrap()
    }

    fn backup(&self) -> Output {
        assert!(
            on_path("rsync"),
            "rsync is needed to test citadel-backup.sh: apt-get install rsync"
        );
        self.run("citadel-backup.sh", &[], &[("CITADEL_REQUIRE_MOUNT", "0")])
    }

    /// The snapshot names of one kind, oldest first (`latest` and work directories left out).
    fn snapshots(&self, kind: &str) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(self.path(&format!("backup/{kind}")))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n != "latest" && !n.starts_with('.'))
            .collect();
        names.sort();
        names
    }
}

fn inode(path: PathBuf) -> u64 {
    fs::metadata(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .ino()
}

#[test]
fn backup_twice_links_unchanged_files_to_the_first_snapshot() {
    let layout = Layout::new();
    let first = layout.backup();
    assert!(first.status.success(), "{}", text(&first));
    layout.write("models/active/phi-3-mini/model.safetensors", "new weights of phi");
    let second = layout.backup();
    assert!(second.status.success(), "{}", text(&second));

    let models = layout.snapshots("models");
    assert_eq!(models.len(), 2, "{models:?}");
    assert_eq!(layout.snapshots("configs"), models, "one stamp per run for both kinds");
    let (a, b) = (&models[0], &models[1]);
    let snap = |run: &str, file: &str| layout.path(&format!("backup/models/{run}/{file}"));
    // Unchanged: the same inode in both snapshots. Changed: a new file, the old snapshot untouched.
    assert_eq!(
        inode(snap(a, "mixtral-8x7b/model.safetensors")),
        inode(snap(b, "mixtral-8x7b/model.safetensors"))
    );
    assert_ne!(
        inode(snap(a, "phi-3-mini/model.safetensors")),
        inode(snap(b, "phi-3-mini/model.safetensors"))
    );
    assert_eq!(
        fs::read_to_string(snap(a, "phi-3-mini/model.safetensors")).unwrap(),
        "weights of phi"
    );
    assert_eq!(
        fs::read_to_string(snap(b, "phi-3-mini/model.safetensors")).unwrap(),
        "new weights of phi"
    );
    let conf = |run: &str| layout.path(&format!("backup/configs/{run}/citadel.conf"));
    assert_eq!(inode(conf(a)), inode(conf(b)));

    assert_eq!(
        fs::read_link(layout.path("backup/models/latest")).unwrap(),
        PathBuf::from(b)
    );
    let success = fs::read_to_string(layout.path("logs/citadel-backup.last-success")).unwrap();
    assert!(success.trim_end().ends_with(b.as_str()), "{success}");
    let log = fs::read_to_string(layout.path("logs/citadel-backup.log")).unwrap();
    assert!(log.contains(&format!("backup {b} complete")), "{log}");
}

#[test]
fn backup_refuses_when_the_backup_disk_is_not_a_mount_point() {
    let layout = Layout::new();
    // CITADEL_REQUIRE_MOUNT left at its default: a temporary directory is not a mount point.
    let out = layout.run("citadel-backup.sh", &[], &[]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("backup disk"), "{stderr}");
    assert!(stderr.contains("is not a mount point"), "{stderr}");
    assert_eq!(
        fs::read_dir(layout.path("backup")).unwrap().count(),
        0,
        "nothing written"
    );
    assert!(!layout.path("logs/citadel-backup.last-success").exists());
}

#[test]
fn backup_runs_one_at_a_time() {
    let layout = Layout::new();
    let lock = fs::File::create(layout.path("backup.lock")).unwrap();
    lock.try_lock().unwrap(); // flock(2), like the script's flock(1)
    let out = layout.backup();
    assert_eq!(out.status.code(), Some(4), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("another backup is running"));
    drop(lock);
    assert!(layout.backup().status.success());
}

#[test]
fn verify_models_passes_then_fails_on_a_wrong_checksum() {
    let layout = Layout::new();
    let sums = Command::new("sha256sum")
        .args(["model.safetensors", "config.json"])
        .current_dir(layout.path("models/active/mixtral-8x7b"))
        .output()
        .unwrap();
    fs::write(layout.path("models/active/mixtral-8x7b/SHA256SUMS"), &sums.stdout).unwrap();

    let out = layout.run("verify-models.sh", &[], &[]);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("OK   mixtral-8x7b (SHA256SUMS verified)"), "{stdout}");
    assert!(stdout.contains("OK   phi-3-mini (no SHA256SUMS)"), "{stdout}");

    layout.write("models/active/mixtral-8x7b/model.safetensors", "corrupted");
    let out = layout.run("verify-models.sh", &[], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("FAIL mixtral-8x7b: SHA256SUMS does not match"));
}

#[test]
fn verify_models_fails_on_missing_empty_and_unsafe_names() {
    let layout = Layout::new();
    let out = layout.run("verify-models.sh", &["phi-3-mini"], &[]);
    assert!(out.status.success(), "{}", text(&out));

    fs::create_dir(layout.path("models/active/yi-34b")).unwrap();
    let out = layout.run(
        "verify-models.sh",
        &["phi-3-mini", "yi-34b", "nous-hermes-2", "../configs"],
        &[],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("FAIL yi-34b: "), "{stdout}");
    assert!(stdout.contains("is empty"), "{stdout}");
    assert!(stdout.contains("FAIL nous-hermes-2: "), "{stdout}");
    assert!(stdout.contains("FAIL ../configs: not a model name"), "{stdout}");
    assert!(stdout.contains("3 of 4 models have problems"), "{stdout}");

    // Without arguments: every directory present, the empty one included.
    let out = layout.run("verify-models.sh", &[], &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
}

#[test]
fn storage_monitor_reports_and_warns_past_thresholds() {
    let layout = Layout::new();
    let calm = [("CITADEL_REQUIRE_MOUNT", "0"), ("CITADEL_DISK_WARN_PERCENT", "101")];
    let out = layout.run("storage-monitor.sh", &[], &calm);
    assert!(out.status.success(), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("models: blocks "), "{stdout}");
    assert!(stdout.contains("backup: inodes "), "{stdout}");
    assert!(
        stdout.contains("SMART"),
        "says what it knows about SMART, even that it has none: {stdout}"
    );
    assert!(stdout.ends_with("storage OK\n"), "{stdout}");

    let out = layout.run(
        "storage-monitor.sh",
        &[],
        &[("CITADEL_REQUIRE_MOUNT", "0"), ("CITADEL_DISK_WARN_PERCENT", "0")],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("WARN models: blocks usage"));

    let out = layout.run("storage-monitor.sh", &[], &[("CITADEL_DISK_WARN_PERCENT", "101")]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("is not mounted"));
}

#[test]
fn scripts_answer_help_and_refuse_bad_usage() {
    let layout = Layout::new();
    for name in ["citadel-backup.sh", "verify-models.sh", "storage-monitor.sh"] {
        let out = layout.run(name, &["--help"], &[]);
        assert!(out.status.success(), "{name}: {}", text(&out));
        assert!(String::from_utf8_lossy(&out.stdout).contains("Exit status"), "{name}");
        let out = layout.run(name, &["--bogus"], &[]);
        assert_eq!(out.status.code(), Some(2), "{name}: {}", text(&out));
    }
}

#[test]
fn scripts_pass_shellcheck() {
    if !on_path("shellcheck") {
        eprintln!("shellcheck is not installed (apt-get install shellcheck): not run");
        return;
    }
    let out = Command::new("shellcheck")
        .args(["citadel-backup.sh", "verify-models.sh", "storage-monitor.sh"])
        .current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("checks/scripts"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out));
}
