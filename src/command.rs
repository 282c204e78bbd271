//! Subcommands beside the checks' own command line (`citadel-check [OPTIONS] [FILTER...]`).
//!
//! A subcommand is recognised only as the first argument (`args_conflicts_with_subcommands`: it takes none of
//! the checks' flags). After a flag, clap would read `history` as a FILTER, and the run would check nothing and
//! pass: `dispatch` refuses that instead. No FILTER needs the name, since no check id contains it (tested).

use std::path::PathBuf;

use clap::Subcommand;

use clap::CommandFactory;

use crate::app::Verdict;
use crate::cli::Cli;
use crate::invocation_error::InvocationError;
use crate::nightly;

#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum Command {
    /// Show the runs recorded in a report directory (--report-dir): one line a run, newest first, then since
    /// which run each check that fails now has been failing
    History {
        /// The report directory to read
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
}

/// Runs the subcommand, if the command line has one; refuses a FILTER spelled like one.
pub fn dispatch(cli: &Cli) -> Option<Result<Verdict, InvocationError>> {
    if let Some(command) = &cli.command {
        return Some(command.run());
    }
    let names: Vec<String> = Cli::command()
        .get_subcommands()
        .map(|c| c.get_name().to_string())
        .collect();
    let misplaced = cli.filters.iter().find(|f| names.contains(f))?;
    Some(Err(InvocationError::new(format!(
        "`{misplaced}` is a subcommand: give it first and alone (citadel-check {misplaced} ...), not after flags \
         or as a FILTER"
    ))))
}

impl Command {
    pub fn run(&self) -> Result<Verdict, InvocationError> {
        match self {
            Command::History { dir } => nightly::history_command(dir).map(|()| Verdict::Compliant),
        }
    }
}
