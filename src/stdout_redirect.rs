//! Sends file descriptor 1 to stderr for a while.
//!
//! libtest-mimic prints its progress to stdout and has no other target but a log file. When a report goes to
//! stdout (`--json -`), stdout must hold the report alone: so for the duration of the run, fd 1 points where
//! fd 2 does, and is put back afterwards.

use std::io::{self, Write};
use std::os::fd::OwnedFd;

/// While alive, fd 1 is a copy of fd 2. Dropping it restores the original stdout.
pub struct StdoutToStderr {
    saved: OwnedFd,
}

impl StdoutToStderr {
    pub fn new() -> io::Result<StdoutToStderr> {
        io::stdout().flush()?;
        let saved = nix::unistd::dup(io::stdout())?;
        nix::unistd::dup2_stdout(io::stderr())?;
        Ok(StdoutToStderr { saved })
    }
}

impl Drop for StdoutToStderr {
    fn drop(&mut self) {
        // Whatever the run left buffered belongs on stderr too.
        let _ = io::stdout().flush();
        let _ = nix::unistd::dup2_stdout(&self.saved);
    }
}
