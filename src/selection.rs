//! Which checks run: FILTER…, `--skip` and `--exact` with libtest's semantics, and the libtest-mimic
//! `Arguments` that run them.
//!
//! libtest-mimic takes a single filter; libtest takes several (a test runs when any matches). So the decision is
//! made here, one FILTER at a time with libtest-mimic's own `is_filtered_out`, and handed to libtest-mimic as an
//! exact skip list: its printed "N filtered out" stays right, and the reports can name every check that did not
//! run and why.

use libtest_mimic::{Arguments, Trial};

use crate::cli::Cli;

/// Why a check does not run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Excluded {
    /// No FILTER matched its id.
    NotMatched,
    /// A `--skip` pattern matched its id.
    Skipped(String),
}

impl Excluded {
    /// The `reason` a report gives for the check's `skip` status.
    pub fn reason(&self) -> String {
        match self {
            Excluded::NotMatched => "not selected: no FILTER on the command line matches this check".into(),
            Excluded::Skipped(pattern) => format!("not selected: skipped by --skip {pattern}"),
        }
    }
}

/// For each id, in the order given: `None` when it runs, else why not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    pub ids: Vec<&'static str>,
    pub excluded: Vec<Option<Excluded>>,
}

impl Selection {
    pub fn new(cli: &Cli, ids: &[&'static str]) -> Selection {
        let excluded = ids.iter().map(|id| exclusion(cli, id)).collect();
        Selection {
            ids: ids.to_vec(),
            excluded,
        }
    }

    /// The ids that run, in order.
    pub fn selected(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.ids
            .iter()
            .zip(&self.excluded)
            .filter(|(_, excluded)| excluded.is_none())
            .map(|(id, _)| *id)
    }

    /// libtest-mimic's arguments: our output settings, and the excluded ids as an exact skip list.
    pub fn libtest_arguments(&self, cli: &Cli) -> Arguments {
        let skip = self
            .ids
            .iter()
            .zip(&self.excluded)
            .filter(|(_, excluded)| excluded.is_some())
            .map(|(id, _)| id.to_string())
            .collect();
        Arguments {
            filter: None,
            skip,
            exact: true,
            quiet: cli.quiet,
            format: Some(cli.format.into()),
            color: Some(cli.color.into()),
            test_threads: cli.test_threads.map(usize::from),
            ..Arguments::default()
        }
    }
}

fn exclusion(cli: &Cli, id: &str) -> Option<Excluded> {
    // A stand-in trial: libtest-mimic matches on the name only (our trials have no kind).
    let probe = Trial::test(id, || Ok(()));
    let args_for = |filter: Option<&String>, skip: Vec<String>| Arguments {
        filter: filter.cloned(),
        skip,
        exact: cli.exact,
        ..Arguments::default()
    };
    if let Some(pattern) = cli
        .skip
        .iter()
        .find(|p| args_for(None, vec![(*p).clone()]).is_filtered_out(&probe))
    {
        return Some(Excluded::Skipped(pattern.clone()));
    }
    let matched = cli.filters.is_empty()
        || cli
            .filters
            .iter()
            .any(|filter| !args_for(Some(filter), Vec::new()).is_filtered_out(&probe));
    if matched {
        None
    } else {
        Some(Excluded::NotMatched)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    const IDS: [&str; 4] = ["storage_mounts", "mount_options", "symlinks", "scripts"];

    fn select(args: &[&str]) -> Vec<&'static str> {
        let cli = Cli::try_parse_from(std::iter::once("citadel-check").chain(args.iter().copied())).unwrap();
        Selection::new(&cli, &IDS).selected().collect()
    }

    #[test]
    fn no_filter_runs_everything() {
        assert_eq!(select(&[]), IDS);
    }

    #[test]
    fn a_filter_is_a_substring() {
        assert_eq!(select(&["mount"]), ["storage_mounts", "mount_options"]);
    }

    #[test]
    fn several_filters_run_what_any_matches() {
        assert_eq!(select(&["options", "sym"]), ["mount_options", "symlinks"]);
    }

    #[test]
    fn exact_wants_equality() {
        assert_eq!(select(&["--exact", "mount"]), Vec::<&str>::new());
        assert_eq!(select(&["--exact", "symlinks"]), ["symlinks"]);
    }

    #[test]
    fn skip_wins_over_filters() {
        assert_eq!(select(&["mount", "--skip", "storage"]), ["mount_options"]);
        assert_eq!(select(&["--skip", "s"]), Vec::<&str>::new());
    }

    #[test]
    fn exact_applies_to_skip_too() {
        assert_eq!(
            select(&["--exact", "--skip", "mount"]),
            ["storage_mounts", "mount_options", "symlinks", "scripts"]
        );
        assert_eq!(
            select(&["--exact", "--skip", "scripts"]),
            ["storage_mounts", "mount_options", "symlinks"]
        );
    }

    #[test]
    fn exclusions_say_why() {
        let cli = Cli::try_parse_from(["citadel-check", "mount", "--skip", "opt"]).unwrap();
        let selection = Selection::new(&cli, &IDS);
        assert_eq!(selection.excluded[1], Some(Excluded::Skipped("opt".into())));
        assert_eq!(selection.excluded[2], Some(Excluded::NotMatched));
        assert!(selection.excluded[1].as_ref().unwrap().reason().contains("--skip opt"));
    }

    #[test]
    fn libtest_gets_the_exclusions_as_an_exact_skip_list() {
        let cli = Cli::try_parse_from(["citadel-check", "mount", "--test-threads", "1", "-q"]).unwrap();
        let args = Selection::new(&cli, &IDS).libtest_arguments(&cli);
        assert_eq!(args.filter, None);
        assert!(args.exact);
        assert_eq!(args.skip, ["symlinks", "scripts"]);
        assert_eq!(args.test_threads, Some(1));
        assert!(args.quiet);
    }
}
