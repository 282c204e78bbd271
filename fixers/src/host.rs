//! The running system, as kernel actions reach it: commands and sysfs writes. Only used when the root is `/`.
//!
//! A trait, so that tests can prove what would run without running it.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::Path;
use std::process::{Command, Stdio};

/// What a command did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandOutput {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl CommandOutput {
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }

    /// The first non-empty line of stderr (else stdout), to quote in a message.
    pub fn first_line(&self) -> &str {
        self.stderr
            .lines()
            .chain(self.stdout.lines())
            .map(str::trim)
            .find(|l| !l.is_empty())
            .unwrap_or("")
    }
}

pub trait Host {
    /// Runs `argv` (no shell, stdin closed) and waits for it. `Err` when it cannot be started (not installed).
    fn run(&self, argv: &[String]) -> io::Result<CommandOutput>;
    /// Writes `value` to a sysfs attribute in one write.
    fn write_sysfs(&self, path: &Path, value: &str) -> io::Result<()>;
}

/// The real machine.
#[derive(Debug, Clone, Copy, Default)]
pub struct RealHost;

impl Host for RealHost {
    fn run(&self, argv: &[String]) -> io::Result<CommandOutput> {
        let Some((program, args)) = argv.split_first() else {
            return Err(io::Error::new(io::ErrorKind::InvalidInput, "empty command"));
        };
        let output = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .env("LC_ALL", "C")
            .output()?;
        Ok(CommandOutput {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        })
    }

    fn write_sysfs(&self, path: &Path, value: &str) -> io::Result<()> {
        // sysfs takes one write per value; no truncation, no temp file.
        let mut file = OpenOptions::new().write(true).open(path)?;
        file.write_all(value.as_bytes())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_a_command_and_quotes_its_error() {
        let out = RealHost
            .run(&[
                "sh".into(),
                "-c".into(),
                "echo out; echo 'target is busy' >&2; exit 32".into(),
            ])
            .unwrap();
        assert_eq!(out.code, Some(32));
        assert!(!out.success());
        assert_eq!(out.first_line(), "target is busy");
        assert!(RealHost.run(&["/no/such/program".into()]).is_err());
    }
}
