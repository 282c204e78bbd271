//! The HTML page for the morning mail (`--html FILE`): one self-contained file, no script, no external asset
//! (a Content-Security-Policy of `default-src 'none'` makes the browser refuse any that slipped in). The verdict
//! at a glance, the drift since the previous report, each check with its findings, reason and fix, and, from a
//! report directory, the history as a grid of pass/fail cells, one row a check and one column a run.
//!
//! Every string from the run goes through `esc`: findings hold whatever a file name or a config line holds.

use std::fmt::Write as _;

use citadel_checks::Status;

use super::json::rfc3339_utc;
use super::{CheckReport, FixReport, RunReport};
use crate::nightly::drift::{Comparison, Drift};
use crate::nightly::history::History;

/// Columns of the history chart: the newest runs, at most this many.
pub const HISTORY_COLUMNS: usize = 31;

const STYLE: &str = "
body{font:14px/1.4 system-ui,-apple-system,'Segoe UI',sans-serif;color:#1b1f23;margin:0;background:#f6f8fa}
main{max-width:1100px;margin:0 auto;padding:16px}
h1{font-size:22px;margin:0 0 4px}
h2{font-size:17px;margin:24px 0 8px}
h3{font-size:15px;margin:0}
.verdict{padding:16px;border-radius:6px;color:#fff}
.verdict.ok{background:#1a7f37}.verdict.bad{background:#cf222e}
.verdict p{margin:4px 0 0}
.meta{color:#57606a;font-size:12px;margin:8px 0}
table{border-collapse:collapse;background:#fff}
th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#eaeef2}
.status{font-weight:600;white-space:nowrap}
.s-pass{color:#1a7f37}.s-fail{color:#cf222e}.s-error{color:#bc4c00}.s-skip{color:#57606a}
.check{background:#fff;border:1px solid #d0d7de;border-left-width:6px;border-radius:6px;padding:8px 12px;margin:8px 0}
.check.fail{border-left-color:#cf222e}.check.error{border-left-color:#bc4c00}
.check.pass{border-left-color:#1a7f37}.check.skip{border-left-color:#8c959f}
.findings{width:100%;margin-top:8px}
pre{white-space:pre-wrap;word-break:break-all;background:#f6f8fa;padding:6px;margin:4px 0}
.chart td,.chart th{padding:0;width:18px;height:18px;text-align:center;font-size:11px}
.chart th.id,.chart td.id{width:auto;padding:0 8px;text-align:left;white-space:nowrap}
.chart th.run{writing-mode:vertical-rl;height:auto;padding:4px 0;font-weight:400}
.c-pass{background:#2da44e;color:#fff}.c-fail{background:#cf222e;color:#fff}
.c-error{background:#fb8f44;color:#fff}.c-skip{background:#d0d7de}.c-absent{background:#fff}
.drift li{margin:2px 0}
";

/// The page. `history`, from the report directory, includes this run.
pub fn to_html(run: &RunReport, history: Option<&History>) -> String {
    let summary = run.summary();
    let verdict = if summary.compliant {
        "compliant"
    } else {
        "NOT compliant"
    };
    let started = rfc3339_utc(run.started_at);
    let mut out = String::new();
    let o = &mut out;
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>citadel-check: {verdict} – {} – {started}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<main>\n",
        esc(&run.host)
    );
    let _ = write!(
        o,
        "<header class=\"verdict {}\" id=\"verdict\">\n<h1>{} {} is {verdict}</h1>\n\
         <p>{} passed, {} failed, {} errors, {} skipped of {} checks</p>\n</header>\n",
        if summary.compliant { "ok" } else { "bad" },
        if summary.compliant { "✓" } else { "✗" },
        esc(&run.host),
        summary.passed,
        summary.failed,
        summary.errors,
        summary.skipped,
        summary.total,
    );
    let _ = writeln!(
        o,
        "<p class=\"meta\">Run started {started} ({} mode, {:.1} ms) on root <code>{}</code> with policy <code>{}</code> \
         (sha256 {}), citadel-check {}.</p>",
        run.mode.as_str(),
        run.duration.as_secs_f64() * 1000.0,
        esc(&run.root.to_string_lossy()),
        esc(&run.policy.source),
        esc(&run.policy.sha256),
        esc(&run.tool_version),
    );
    overview(o, run);
    if let Some(drift) = &run.drift {
        drift_section(o, drift);
    }
    let _ = writeln!(o, "<h2>Checks</h2>");
    // The ones that need attention first, then the rest, each group in the order of SPEC §3.
    let needs_attention = |c: &&CheckReport| matches!(c.status, Status::Fail | Status::Error);
    for check in run.checks.iter().filter(needs_attention) {
        check_section(o, check);
    }
    for check in run.checks.iter().filter(|c| !needs_attention(c)) {
        check_section(o, check);
    }
    if let Some(history) = history {
        history_section(o, history);
    }
    let _ = writeln!(o, "</main>\n</body>\n</html>");
    out
}

/// One line a check: its status at a glance, linking to its section.
fn overview(o: &mut String, run: &RunReport) {
    let _ = writeln!(
        o,
        "<table class=\"overview\">\n<tr><th>Check</th><th>Status</th><th>Findings</th></tr>"
    );
    for check in &run.checks {
        let _ = writeln!(
            o,
            "<tr><td><a href=\"#check-{id}\">{id}</a></td><td class=\"status s-{s}\">{sym} {s}</td><td>{n}</td></tr>",
            id = esc(&check.id),
            s = check.status.as_str(),
            sym = symbol(Some(check.status)),
            n = check.findings.len(),
        );
    }
    let _ = writeln!(o, "</table>");
}

fn drift_section(o: &mut String, drift: &Drift) {
    let _ = writeln!(o, "<h2>Drift since the previous report</h2>");
    if drift.comparison != Comparison::Compared {
        let _ = writeln!(
            o,
            "<p class=\"drift\">{}</p>",
            esc(drift.note.as_deref().unwrap_or("no comparable previous report"))
        );
        return;
    }
    let since = drift
        .previous
        .as_ref()
        .map(|p| format!("{} ({})", esc(p.started_at.as_deref().unwrap_or("?")), esc(&p.file)))
        .unwrap_or_default();
    if drift.is_quiet() {
        let _ = writeln!(o, "<p class=\"drift\">Nothing changed since {since}.</p>");
        return;
    }
    let _ = writeln!(o, "<p>Since {since}:</p>\n<ul class=\"drift\">");
    if drift.policy_changed {
        let _ = writeln!(o, "<li>The policy changed in between.</li>");
    }
    for change in &drift.status_changes {
        let name = |s: Option<Status>| s.map_or("absent", Status::as_str);
        let _ = writeln!(
            o,
            "<li><b>{}</b>: <span class=\"s-{b}\">{b}</span> → <span class=\"s-{a}\">{a}</span></li>",
            esc(&change.check),
            b = name(change.before),
            a = name(change.after)
        );
    }
    for (what, changes) in [
        ("appeared", &drift.findings_appeared),
        ("went away", &drift.findings_gone),
    ] {
        for change in changes {
            let _ = writeln!(
                o,
                "<li>Finding {what} in <b>{}</b>: {}: expected {}, actual {}</li>",
                esc(&change.check),
                esc(&change.finding.subject),
                esc(&change.finding.expected),
                esc(&change.finding.actual)
            );
        }
    }
    let _ = writeln!(o, "</ul>");
}

fn check_section(o: &mut String, check: &CheckReport) {
    let status = check.status.as_str();
    let _ = writeln!(
        o,
        "<section class=\"check {status}\" id=\"check-{id}\">\n<h3><span class=\"status s-{status}\">{sym} {status}</span> \
         {id} <span class=\"meta\">– {title}</span></h3>",
        id = esc(&check.id),
        sym = symbol(Some(check.status)),
        title = esc(&check.title),
    );
    // Fix mode (SPEC §6 `before`, `fix`): the status before fixing and what the fixer did.
    if let Some(before) = check.before {
        let _ = writeln!(
            o,
            "<p>Before fixing: <span class=\"status s-{b}\">{b}</span></p>",
            b = before.as_str()
        );
    }
    if let Some(reason) = &check.reason {
        let what = if check.status == Status::Error {
            "Could not be evaluated"
        } else {
            "Reason"
        };
        let _ = writeln!(o, "<p>{what}: {}</p>", esc_multiline(reason));
    }
    if !check.findings.is_empty() {
        let _ = writeln!(
            o,
            "<table class=\"findings\">\n<tr><th>Subject</th><th>Expected</th><th>Actual</th><th>How to fix</th></tr>"
        );
        for f in &check.findings {
            let _ = writeln!(
                o,
                "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc_multiline(&f.subject),
                esc_multiline(&f.expected),
                esc_multiline(&f.actual),
                esc_multiline(&f.message)
            );
        }
        let _ = writeln!(o, "</table>");
    }
    if let Some(fix) = &check.fix {
        fix_block(o, fix);
    }
    let _ = writeln!(o, "</section>");
}

/// What the fixer did: its status and message, and each action (with its diff).
fn fix_block(o: &mut String, fix: &FixReport) {
    let _ = writeln!(
        o,
        "<div class=\"fix\"><p>Fix: <b>{}</b> – {}</p>",
        fix.status.as_str(),
        esc_multiline(&fix.message)
    );
    if !fix.actions.is_empty() {
        let _ = writeln!(o, "<ul>");
        for action in &fix.actions {
            let _ = write!(
                o,
                "<li><code>{}</code> {}: {}",
                esc(&action.kind),
                esc(&action.target),
                esc(&action.summary)
            );
            if let Some(diff) = &action.diff {
                let _ = write!(o, "<pre>{}</pre>", esc(diff));
            }
            let _ = writeln!(o, "</li>");
        }
        let _ = writeln!(o, "</ul>");
    }
    // A refused fix is the operator's to do: say why and how, as the refusal does.
    if !fix.refusals.is_empty() {
        let _ = writeln!(o, "<p>Refused:</p>\n<ul>");
        for refusal in &fix.refusals {
            let _ = writeln!(
                o,
                "<li>{}: {}. By hand: {}</li>",
                esc(&refusal.subject),
                esc(&refusal.why),
                esc(&refusal.by_hand)
            );
        }
        let _ = writeln!(o, "</ul>");
    }
    let _ = writeln!(o, "</div>");
}

/// The grid: one row a check, one column a run (oldest left), a coloured cell for its status.
fn history_section(o: &mut String, history: &History) {
    let _ = writeln!(o, "<h2>History</h2>");
    if history.runs.is_empty() {
        let _ = writeln!(o, "<p>No reports in the report directory yet.</p>");
        return;
    }
    let shown: Vec<_> = history.runs.iter().take(HISTORY_COLUMNS).rev().collect();
    let _ = writeln!(
        o,
        "<p class=\"meta\">The last {} of {} runs, oldest on the left. ✓ pass, ✗ fail, ! error, – skipped.</p>",
        shown.len(),
        history.runs.len()
    );
    let _ = write!(o, "<table class=\"chart\">\n<tr><th class=\"id\">Check</th>");
    for run in &shown {
        let started = &run.snapshot.started_at;
        // `2025-01-31T02:30:00Z` → `01-31`: the night, the full time in the tooltip.
        let day = started.get(5..10).unwrap_or(started);
        let _ = write!(o, "<th class=\"run\" title=\"{}\">{}</th>", esc(started), esc(day));
    }
    let _ = writeln!(o, "</tr>");
    for id in history.check_ids() {
        let _ = write!(o, "<tr><td class=\"id\">{}</td>", esc(id));
        for run in &shown {
            let status = run.snapshot.status_of(id);
            let name = status.map_or("absent", Status::as_str);
            let _ = write!(
                o,
                "<td class=\"c-{name}\" title=\"{}: {name}\">{}</td>",
                esc(&run.snapshot.started_at),
                symbol(status)
            );
        }
        let _ = writeln!(o, "</tr>");
    }
    let _ = writeln!(o, "</table>");
    let since = history.failing_since();
    if !since.is_empty() {
        let _ = writeln!(o, "<ul>");
        for s in since {
            let _ = writeln!(
                o,
                "<li><b>{}</b> failing since {} ({} run{})</li>",
                esc(s.check),
                esc(&s.since.snapshot.started_at),
                s.runs,
                if s.runs == 1 { "" } else { "s" }
            );
        }
        let _ = writeln!(o, "</ul>");
    }
}

fn symbol(status: Option<Status>) -> &'static str {
    match status {
        Some(Status::Pass) => "✓",
        Some(Status::Fail) => "✗",
        Some(Status::Error) => "!",
        Some(Status::Skip) => "–",
        None => "",
    }
}

/// Text safe in HTML element content and attribute values: `& < > " '` as character references, control
/// characters (but newline and tab) and noncharacters shown escaped as `\u{…}` (never sent raw: an ESC or NUL
/// in a file name stays visible and harmless). Invalid UTF-8 was already U+FFFD when the string was made.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' | '\t' => out.push(c),
            c if c.is_control() || is_noncharacter(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// `esc`, with line breaks kept visible as `<br>`.
fn esc_multiline(s: &str) -> String {
    esc(s).replace('\n', "<br>\n")
}

fn is_noncharacter(c: char) -> bool {
    let n = c as u32;
    (0xfdd0..=0xfdef).contains(&n) || (n & 0xfffe) == 0xfffe
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{sample, ActionReport, FixStatus};

    #[test]
    fn escaping_makes_any_text_inert() {
        assert_eq!(esc("<script>a&b</script>"), "&lt;script&gt;a&amp;b&lt;/script&gt;");
        assert_eq!(esc("\"x\" 'y'"), "&quot;x&quot; &#39;y&#39;");
        assert_eq!(esc("a\u{1b}[31mb\0c\u{7f}"), "a\\u{1b}[31mb\\u{0}c\\u{7f}");
        assert_eq!(
            esc("\u{fffe}\u{ffff}\u{1fffe}\u{fdd0}"),
            "\\u{fffe}\\u{ffff}\\u{1fffe}\\u{fdd0}"
        );
        assert_eq!(esc("tab\tline\nü €\u{fffd}"), "tab\tline\nü €\u{fffd}");
        let from_file_name = String::from_utf8_lossy(b"model-\xff\xfe");
        assert_eq!(esc(&from_file_name), "model-\u{fffd}\u{fffd}");
    }

    #[test]
    fn the_page_is_self_contained_and_hostile_text_stays_text() {
        let page = to_html(&sample::run(), None);
        assert!(page.starts_with("<!DOCTYPE html>\n"));
        for forbidden in [
            "<script", "http://", "https://", "src=", "url(", "@import", "\0", "\u{1b}",
        ] {
            assert!(!page.contains(forbidden), "{forbidden:?} in the page");
        }
        assert!(page.contains("default-src 'none'"));
        assert!(page.contains("citadel-01 is NOT compliant"));
        assert!(page.contains("a directory &lt;on&gt; the models disk &amp; readable"));
        assert!(page.contains("NUL here: \\u{0}, CDATA end: ]]&gt; and &quot;quotes&quot;"));
        assert!(page.contains("model-\u{fffd}\u{fffd}-\\u{1b}[31mred"));
        // Each check has its section, failing ones first.
        let at = |id: &str| page.find(&format!("id=\"check-{id}\"")).unwrap();
        assert!(at("model_directories") < at("scripts") && at("scripts") < at("required_tools"));
        assert_eq!(page.matches("<section ").count(), 4);
        // No history without a report directory.
        assert!(!page.contains("<h2>History</h2>"));
    }

    #[test]
    fn fix_mode_data_is_shown() {
        let mut run = sample::run();
        run.checks[1].before = Some(Status::Fail);
        run.checks[1].fix = Some(FixReport {
            status: FixStatus::Fixed,
            message: "created <2> directories".into(),
            actions: vec![ActionReport {
                kind: "mkdir".into(),
                target: "/mnt/citadel-models/active/yi-34b".into(),
                summary: "create directory".into(),
                diff: Some("+a <b>\n-c".into()),
            }],
            refusals: vec![citadel_fixers::Refusal::new(
                "/opt/citadel/models",
                "a non-empty directory is in the way",
                "move <its data> away",
            )],
            results: Vec::new(),
        });
        let page = to_html(&run, None);
        assert!(page.contains("Before fixing: <span class=\"status s-fail\">fail</span>"));
        assert!(page.contains("Fix: <b>fixed</b> – created &lt;2&gt; directories"));
        assert!(page.contains("<pre>+a &lt;b&gt;\n-c</pre>"));
        assert!(page.contains(
            "<li>/opt/citadel/models: a non-empty directory is in the way. By hand: move &lt;its data&gt; away</li>"
        ));
    }

    #[test]
    fn a_compliant_run_says_so() {
        let mut run = sample::run();
        run.checks.retain(|c| c.status == Status::Pass);
        let page = to_html(&run, None);
        assert!(page.contains("<header class=\"verdict ok\""));
        assert!(page.contains("✓ citadel-01 is compliant"));
    }
}
