//! The Prometheus textfile through the real collector: Debian's `prometheus-node-exporter` on 127.0.0.1, with
//! only the textfile collector, reads the directory `citadel-check --prometheus` writes into; the test scrapes
//! `/metrics` (plain HTTP/1.0 over a TcpStream) and finds our values. The exporter is killed whatever happens.

mod common;
mod external;
mod support;

use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use support::{citadel_check, materialized};

/// The exporter, killed and reaped when dropped (also when an assertion fails).
struct Exporter(Child);

impl Drop for Exporter {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A loopback port free at the time of asking.
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// GET `path` from 127.0.0.1:`port`; `None` while nothing listens.
fn http_get(port: u16, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    assert!(
        head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"),
        "{head}"
    );
    Some(body.to_string())
}

/// Scrapes until the exporter answers (it takes a moment to listen), for at most 20 seconds.
fn scrape(exporter: &mut Exporter, port: u16) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Some(body) = http_get(port, "/metrics") {
            return body;
        }
        if let Ok(Some(status)) = exporter.0.try_wait() {
            panic!("prometheus-node-exporter exited: {status}");
        }
        assert!(
            Instant::now() < deadline,
            "prometheus-node-exporter did not answer on port {port}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The value of the sample `name` (with its labels, as written) in a scrape.
fn sample(metrics: &str, name: &str) -> Option<f64> {
    metrics
        .lines()
        .find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

fn run_into(textfiles: &Path, root: &Path) {
    let output = citadel_check()
        .arg("--root")
        .arg(root)
        .arg("--prometheus")
        .arg(textfiles.join("citadel.prom"))
        .arg("-q")
        .output()
        .unwrap();
    support::assert_no_panic(&output);
    assert!(matches!(output.status.code(), Some(0 | 1)), "{output:?}");
}

#[test]
fn node_exporter_serves_our_metrics() {
    let Some(binary) = external::required_tool("/usr/bin/prometheus-node-exporter", "prometheus-node-exporter") else {
        return;
    };
    let fixture = materialized("compliant");
    fs::remove_file(fixture.path().join("opt/citadel/models")).unwrap();
    let textfiles = tempfile::tempdir().unwrap();
    run_into(textfiles.path(), fixture.path());

    let port = free_port();
    let mut exporter = Exporter(
        Command::new(binary)
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg(format!("--collector.textfile.directory={}", textfiles.path().display()))
            .args(["--collector.disable-defaults", "--collector.textfile"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("prometheus-node-exporter starts"),
    );
    let metrics = scrape(&mut exporter, port);
    // The collector read our file without complaint.
    assert_eq!(
        sample(&metrics, "node_textfile_scrape_error"),
        Some(0.0),
        "the textfile collector reports an error:\n{metrics}"
    );
    for id in support::CHECK_IDS {
        let expected = if id == "symlinks" { 0.0 } else { 1.0 };
        assert_eq!(
            sample(&metrics, &format!("citadel_check_status{{check=\"{id}\"}}")),
            Some(expected),
            "{id}:\n{metrics}"
        );
    }
    assert_eq!(
        sample(&metrics, "citadel_check_findings{check=\"symlinks\"}"),
        Some(1.0)
    );
    assert_eq!(sample(&metrics, "citadel_check_compliant"), Some(0.0));
    let last_run = sample(&metrics, "citadel_check_last_run_timestamp_seconds").expect("last run timestamp");
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!((now - last_run).abs() < 600.0, "{last_run} is not now ({now})");
    assert!(sample(&metrics, "citadel_check_duration_seconds").is_some());
    assert!(
        metrics.contains("# HELP citadel_check_status 1 when the check passed"),
        "{metrics}"
    );

    // The next run replaces the file atomically; the exporter serves the new values.
    let link = fs::read_link(common::workspace().join("fixtures/compliant/root/opt/citadel/models")).unwrap();
    std::os::unix::fs::symlink(link, fixture.path().join("opt/citadel/models")).unwrap();
    run_into(textfiles.path(), fixture.path());
    let metrics = scrape(&mut exporter, port);
    assert_eq!(sample(&metrics, "citadel_check_compliant"), Some(1.0), "{metrics}");
    assert_eq!(sample(&metrics, "citadel_check_status{check=\"symlinks\"}"), Some(1.0));
    let leftovers: Vec<_> = fs::read_dir(textfiles.path())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        leftovers,
        ["citadel.prom"],
        "no temp file left for the collector to find"
    );
    drop(exporter);
}
