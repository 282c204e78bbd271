//! What a check says: pass, fail with findings, skip, or error.

use serde::Serialize;

use crate::error::FactError;

/// The final state of a check, as reports spell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pass,
    Fail,
    Skip,
    Error,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Skip => "skip",
            Status::Error => "error",
        }
    }
}

/// One thing that is not as the policy wants it. Data, not prose: reporters format it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The path or device the finding is about.
    pub subject: String,
    pub expected: String,
    pub actual: String,
    /// How to put it right by hand.
    pub message: String,
}

impl Finding {
    pub fn new(
        subject: impl Into<String>,
        expected: impl Into<String>,
        actual: impl Into<String>,
        message: impl Into<String>,
    ) -> Self {
        Finding {
            subject: subject.into(),
            expected: expected.into(),
            actual: actual.into(),
            message: message.into(),
        }
    }
}

/// The result of running one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Pass,
    /// Never empty: a failing check always says why.
    Fail(Vec<Finding>),
    Skip(String),
    /// The check could not be evaluated (a file unreadable, permission denied): neither pass nor fail.
    Error(String),
}

impl Outcome {
    /// Pass when nothing was found, fail otherwise.
    pub fn from_findings(findings: Vec<Finding>) -> Self {
        if findings.is_empty() {
            Outcome::Pass
        } else {
            Outcome::Fail(findings)
        }
    }

    pub fn status(&self) -> Status {
        match self {
            Outcome::Pass => Status::Pass,
            Outcome::Fail(_) => Status::Fail,
            Outcome::Skip(_) => Status::Skip,
            Outcome::Error(_) => Status::Error,
        }
    }

    pub fn findings(&self) -> &[Finding] {
        match self {
            Outcome::Fail(findings) => findings,
            _ => &[],
        }
    }
}

impl From<FactError> for Outcome {
    fn from(err: FactError) -> Self {
        Outcome::Error(err.to_string())
    }
}

/// Lets a check use `?` on facts: an unreadable fact ends the check as an error.
pub type CheckResult = Result<Outcome, FactError>;
