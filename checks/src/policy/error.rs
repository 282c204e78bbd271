//! Why a policy file was refused: each problem with its file, line, column and key, like a compiler message.

use std::fmt;
use std::path::PathBuf;

use super::document::Location;

/// A policy that cannot be used. Displays one block per problem; the first line always reads
/// `FILE:LINE:COLUMN: MESSAGE` (or `FILE: MESSAGE` when the problem has no place in the file, e.g. it cannot
/// be read), and the message names the key. A snippet of the offending line follows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    pub file: PathBuf,
    /// Never empty; in the order of the file.
    pub problems: Vec<Problem>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The dotted key the problem is about (`storage.models.mount_point`, `tools[1].name`), if any.
    pub key: Option<String>,
    pub location: Option<Location>,
    /// One line; names the key.
    pub message: String,
}

impl PolicyError {
    pub fn single(file: impl Into<PathBuf>, problem: Problem) -> PolicyError {
        PolicyError {
            file: file.into(),
            problems: vec![problem],
        }
    }

    /// The first problem: what the first line of the message says.
    pub fn first(&self) -> &Problem {
        &self.problems[0]
    }
}

impl fmt::Display for PolicyError {
    /// Lines separated by newlines, with no newline after the last one (callers print it with `eprintln!`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (n, problem) in self.problems.iter().enumerate() {
            if n > 0 {
                writeln!(f)?;
            }
            write!(f, "{}", self.file.display())?;
            match &problem.location {
                Some(loc) => {
                    writeln!(f, ":{}:{}: {}", loc.line, loc.column, problem.message)?;
                    write_snippet(f, loc)?;
                }
                None => write!(f, ": {}", problem.message)?,
            }
        }
        Ok(())
    }
}

/// ```text
///    |
/// 12 | mount_piont = "/mnt/x"
///    | ^^^^^^^^^^^
/// ```
fn write_snippet(f: &mut fmt::Formatter<'_>, loc: &Location) -> fmt::Result {
    let number = loc.line.to_string();
    let gutter = " ".repeat(number.len());
    // Tabs would shift the carets: show them as one space, as the column counts them.
    let text: String = loc.line_text.chars().map(|c| if c == '\t' { ' ' } else { c }).collect();
    writeln!(f, "{gutter} |")?;
    writeln!(f, "{number} | {text}")?;
    write!(
        f,
        "{gutter} | {}{}",
        " ".repeat(loc.column.saturating_sub(1)),
        "^".repeat(loc.width)
    )
}

impl std::error::Error for PolicyError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_block_per_problem_and_no_trailing_newline() {
        let err = PolicyError {
            file: "/p.toml".into(),
            problems: vec![
                Problem {
                    key: Some("trim.timer".into()),
                    location: Some(Location {
                        line: 12,
                        column: 9,
                        line_text: "timer = \"x\"".into(),
                        width: 3,
                    }),
                    message: "`trim.timer` = \"x\" is wrong".into(),
                },
                Problem {
                    key: None,
                    location: None,
                    message: "also this".into(),
                },
            ],
        };
        assert_eq!(
            err.to_string(),
            "/p.toml:12:9: `trim.timer` = \"x\" is wrong\n   |\n12 | timer = \"x\"\n   |         ^^^\n/p.toml: also this"
        );
    }
}
