//! Where the output for people goes during a run: stdout, or stderr while a report holds stdout (`--json -`).
//!
//! libtest-mimic prints to fd 1 and knows no other target but a log file; so while a report goes to stdout, fd
//! 1 points where fd 2 does, for the whole run (checks, fixes, the verdict line), and is put back when the
//! `Console` is dropped. If fd 1 cannot be redirected, the report would be mixed with the test output: then
//! nothing but the report is printed.

use std::io::{self, Write};

use libtest_mimic::Arguments;

use crate::cli::{Cli, Format};
use crate::stdout_redirect::StdoutToStderr;

/// The output of one run. Dropping it restores stdout.
pub struct Console {
    redirect: Option<io::Result<StdoutToStderr>>,
    /// Pretty output, not `-q`, and stdout clean to print to.
    talk: bool,
}

impl Console {
    pub fn new(cli: &Cli, stdout_is_a_report: bool) -> Console {
        let redirect = stdout_is_a_report.then(StdoutToStderr::new);
        let clean = !matches!(redirect, Some(Err(_)));
        Console {
            talk: cli.format == Format::Pretty && !cli.quiet && clean,
            redirect,
        }
    }

    /// libtest-mimic's arguments for a run whose output is shown (nowhere, when stdout is not clean).
    pub fn shown(&self, args: &Arguments) -> Arguments {
        match &self.redirect {
            Some(Err(_)) => Console::hidden(args),
            _ => args.clone(),
        }
    }

    /// libtest-mimic's arguments for a run whose output nobody sees (fix mode's checks before fixing).
    pub fn hidden(args: &Arguments) -> Arguments {
        Arguments {
            logfile: Some("/dev/null".into()),
            ..args.clone()
        }
    }

    /// Prints `text` in the pretty output (not with `-q`, `--format terse|json`, or an unclean stdout).
    pub fn say(&self, text: &str) {
        if self.talk {
            let mut stdout = io::stdout().lock();
            let _ = stdout.write_all(text.as_bytes());
            let _ = stdout.flush();
        }
    }
}
