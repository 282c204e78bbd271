//! The `--html` page in a real browser: headless Chromium (Debian's `chromium`) loads a page generated from a
//! failing fixture, and the test checks what it rendered: the DOM holds the verdict and the failing check's
//! findings, a screenshot was taken and is not blank, and the console stayed silent (the page has no script, and
//! its Content-Security-Policy turns any external asset into a console error).

mod common;
mod external;
mod support;

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use support::{assert_exit, citadel_check, materialized, stderr};

/// Runs headless Chromium on `page` with `mode` (`--dump-dom` or `--screenshot=…`), in its own profile.
fn chromium(chromium: &Path, profile: &Path, page: &Path, mode: &str) -> Output {
    Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1200,2000",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(mode)
        .arg(format!("file://{}", page.display()))
        // No display, no session bus: Chromium must not wait for either.
        .env_remove("DISPLAY")
        .env("DBUS_SESSION_BUS_ADDRESS", "disabled:")
        .output()
        .expect("chromium runs")
}

/// Lines of Chromium's log that come from the page's console (`INFO:CONSOLE`, `ERROR:CONSOLE`, "Uncaught").
fn console_lines(output: &Output) -> Vec<String> {
    stderr(output)
        .lines()
        .filter(|l| l.contains(":CONSOLE") || l.contains("Uncaught"))
        .map(str::to_string)
        .collect()
}

#[test]
fn the_page_renders_in_chromium_with_the_failing_check_and_no_console_error() {
    let Some(browser) = external::required_tool("/usr/bin/chromium", "chromium") else {
        return;
    };
    let fixture = materialized("compliant");
    // One failing check (the models link is gone), on top of a report directory with a history.
    fs::remove_file(fixture.path().join("opt/citadel/models")).unwrap();
    let work = tempfile::tempdir().unwrap();
    let reports = work.path().join("compliance");
    let page = reports.join("latest.html");
    for _ in 0..2 {
        let output = citadel_check()
            .arg("--root")
            .arg(fixture.path())
            .arg("--report-dir")
            .arg(&reports)
            .arg("--html")
            .arg(&page)
            .arg("-q")
            .output()
            .unwrap();
        assert_exit(&output, 1);
    }
    let html = fs::read_to_string(&page).unwrap();
    for external in ["http://", "https://", "src=", "<script", "<link", "url("] {
        assert!(
            !html.contains(external),
            "the page must be self-contained: {external:?} found"
        );
    }

    let dom = chromium(&browser, &work.path().join("profile-dom"), &page, "--dump-dom");
    assert!(dom.status.success(), "chromium --dump-dom failed:\n{}", stderr(&dom));
    let rendered = String::from_utf8_lossy(&dom.stdout);
    assert!(rendered.contains("is NOT compliant"), "{rendered}");
    assert!(rendered.contains("id=\"check-symlinks\""), "{rendered}");
    assert!(
        rendered.contains("/opt/citadel/models"),
        "the failing check's finding: {rendered}"
    );
    assert!(rendered.contains("<h2>History</h2>") && rendered.contains("class=\"chart\""));
    assert_eq!(
        rendered.matches("<th class=\"run\"").count(),
        2,
        "two runs in the chart"
    );
    assert_eq!(
        console_lines(&dom),
        Vec::<String>::new(),
        "console messages while loading the page"
    );

    let png = work.path().join("page.png");
    let shot = chromium(
        &browser,
        &work.path().join("profile-shot"),
        &page,
        &format!("--screenshot={}", png.display()),
    );
    assert!(
        shot.status.success(),
        "chromium --screenshot failed:\n{}",
        stderr(&shot)
    );
    assert_eq!(console_lines(&shot), Vec::<String>::new());
    let bytes = fs::read(&png).expect("the screenshot was written");
    assert!(bytes.starts_with(b"\x89PNG\r\n\x1a\n"), "a PNG");
    // IHDR: width and height, big-endian, at bytes 16..24.
    let width = u32::from_be_bytes(bytes[16..20].try_into().unwrap());
    let height = u32::from_be_bytes(bytes[20..24].try_into().unwrap());
    assert_eq!((width, height), (1200, 2000));
    // A blank 1200×2000 page compresses to a few kilobytes; text, tables and coloured cells do not.
    assert!(
        bytes.len() > 20_000,
        "the screenshot looks blank: {} bytes",
        bytes.len()
    );
    if let Some(dir) = std::env::var_os("CITADEL_SCREENSHOT_DIR") {
        fs::copy(&png, Path::new(&dir).join("citadel-check-report.png")).unwrap();
    }
}
