//! An invocation or policy the tool cannot run with: exit status 2, no report written.

use std::fmt;

/// What is wrong and where, on the first line (`--config /etc/x.toml, line 3: unknown key …`), optionally
/// followed by more lines (a snippet of the file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvocationError {
    pub message: String,
}

impl InvocationError {
    pub fn new(message: impl Into<String>) -> Self {
        InvocationError {
            message: message.into(),
        }
    }

    /// The first line: the one that says what and where.
    pub fn headline(&self) -> &str {
        self.message.lines().next().unwrap_or_default()
    }
}

impl fmt::Display for InvocationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for InvocationError {}
