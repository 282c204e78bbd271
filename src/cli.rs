//! The command line of SPEC §2: one field per flag, documented here once (clap turns the doc comments into
//! `--help`).
//!
//! libtest-mimic has its own clap parser; we do not flatten it (it would take over the help template, disable
//! `--version` and clash with our `--format`). Instead `selection` builds its `Arguments` from these fields.

use std::path::PathBuf;

use clap::{Parser, ValueEnum};

#[derive(Debug, Clone, Parser)]
#[command(
    name = "citadel-check",
    version,
    // `history DIR` beside the checks; a subcommand takes none of the checks' flags, and `help` is no
    // subcommand (it would take the FILTER `help` away too).
    args_conflicts_with_subcommands = true,
    disable_help_subcommand = true,
    about = "Checks and fixes the storage layout of a Citadel AI-model server.",
    long_about = "Checks the storage layout of a Citadel AI-model server: ten checks, each one a test case with \
                  findings that say how to fix it by hand. With --fix (as root), fixes what fails and checks \
                  again; with --fix --dry-run, prints the plan and the diffs and changes nothing.\n\n\
                  Exit status: 0 compliant (after fixing, with --fix); 1 not compliant, including fixes that \
                  are planned, pending or refused; 2 the invocation or the policy is invalid, or the fix could \
                  not run (another --fix holds the lock, or not root on /)."
)]
pub struct Cli {
    /// Run only checks whose id contains a FILTER (libtest semantics; --exact for equality). A FILTER cannot be
    /// `history`: that is the subcommand
    #[arg(value_name = "FILTER")]
    pub filters: Vec<String>,

    /// List the checks, one id a line, and exit
    #[arg(long)]
    pub list: bool,

    /// Apply fixers for the checks that fail, then verify (needs root on /; one --fix at a time)
    #[arg(long)]
    pub fix: bool,

    /// With --fix: print the plan (and a unified diff for every file it would write); change nothing
    #[arg(long, requires = "fix")]
    pub dry_run: bool,

    /// The policy (TOML). Default: /etc/citadel/citadel-check.toml under --root if it exists, else the
    /// embedded default policy
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Treat DIR as the system root: every path (/proc, /sys, /etc, /opt, /mnt, /dev) is read under it
    #[arg(long, value_name = "DIR", default_value = "/")]
    pub root: PathBuf,

    /// Write a JUnit XML report ('-' = stdout)
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,

    /// Write the JSON report ('-' = stdout)
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,

    /// Write node_exporter textfile-collector metrics, atomically ('-' = stdout)
    #[arg(long, value_name = "FILE")]
    pub prometheus: Option<PathBuf>,

    /// nightly: --report-dir DIR, --keep-days N, --html FILE (documented in `nightly::NightlyArgs`)
    #[command(flatten)]
    pub nightly: crate::nightly::NightlyArgs,

    /// Print the effective policy as TOML and exit
    #[arg(long)]
    pub print_policy: bool,

    /// How to print test results
    #[arg(long, value_enum, value_name = "pretty|terse|json", default_value_t = Format::Pretty)]
    pub format: Format,

    /// When to colour the output
    #[arg(long, value_enum, value_name = "auto|always|never", default_value_t = Color::Auto)]
    pub color: Color,

    /// One character per check (same as --format terse)
    #[arg(short, long)]
    pub quiet: bool,

    /// Skip checks whose id contains PATTERN (repeatable; --exact for equality)
    #[arg(long, value_name = "PATTERN")]
    pub skip: Vec<String>,

    /// Match FILTER and --skip patterns against whole ids
    #[arg(long)]
    pub exact: bool,

    /// Number of threads running checks (default: one per CPU)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub test_threads: Option<u16>,

    /// nightly: a subcommand instead of the checks (`history DIR`)
    #[command(subcommand)]
    pub command: Option<crate::command::Command>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One line a check, then every failing check's findings
    Pretty,
    /// One character a check
    Terse,
    /// libtest's JSON events, one a line
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Color {
    Auto,
    Always,
    Never,
}

impl From<Format> for libtest_mimic::FormatSetting {
    fn from(format: Format) -> Self {
        match format {
            Format::Pretty => libtest_mimic::FormatSetting::Pretty,
            Format::Terse => libtest_mimic::FormatSetting::Terse,
            Format::Json => libtest_mimic::FormatSetting::Json,
        }
    }
}

impl From<Color> for libtest_mimic::ColorSetting {
    fn from(color: Color) -> Self {
        match color {
            Color::Auto => libtest_mimic::ColorSetting::Auto,
            Color::Always => libtest_mimic::ColorSetting::Always,
            Color::Never => libtest_mimic::ColorSetting::Never,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn parse(args: &[&str]) -> Cli {
        Cli::try_parse_from(std::iter::once("citadel-check").chain(args.iter().copied())).unwrap()
    }

    #[test]
    fn the_command_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn defaults() {
        let cli = parse(&[]);
        assert!(cli.filters.is_empty());
        assert_eq!(cli.root, PathBuf::from("/"));
        assert_eq!(cli.format, Format::Pretty);
        assert_eq!(cli.color, Color::Auto);
    }

    #[test]
    fn every_flag_of_spec_section_2_parses() {
        let cli = parse(&[
            "mount",
            "symlinks",
            "--config",
            "p.toml",
            "--root",
            "/tmp/r",
            "--junit",
            "j.xml",
            "--json",
            "-",
            "--prometheus",
            "m.prom",
            "--format",
            "terse",
            "--color",
            "never",
            "-q",
            "--skip",
            "a",
            "--skip",
            "b",
            "--exact",
            "--test-threads",
            "2",
        ]);
        assert_eq!(cli.filters, ["mount", "symlinks"]);
        assert_eq!(cli.json, Some(PathBuf::from("-")));
        assert_eq!(cli.skip, ["a", "b"]);
        assert!(cli.quiet && cli.exact);
        assert_eq!(cli.test_threads, Some(2));
        assert_eq!(cli.format, Format::Terse);
    }

    #[test]
    fn quiet_and_format_may_be_given_together() {
        let cli = parse(&["--format", "terse", "-q"]);
        assert!(cli.quiet);
    }

    #[test]
    fn zero_threads_is_refused() {
        assert!(Cli::try_parse_from(["citadel-check", "--test-threads", "0"]).is_err());
    }

    #[test]
    fn dry_run_needs_fix() {
        let err = Cli::try_parse_from(["citadel-check", "--dry-run"]).unwrap_err();
        assert_eq!(err.kind(), clap::error::ErrorKind::MissingRequiredArgument);
        assert!(err.to_string().contains("--fix"), "{err}");
        assert!(parse(&["--dry-run", "--fix"]).dry_run);
    }
}
