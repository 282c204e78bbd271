//! PLACEHOLDER, replaced at merge by the real udev rules evaluator (branch `boot`).
//!
//! Only the agreed API is here, so that `io_schedulers` compiles against it: `load` finds no rules and
//! `final_attr_assignment` never matches. Do not add logic to this file.

use std::path::PathBuf;

use crate::error::FactError;
use crate::root::SystemRoot;

/// What udev rules can ask about a device.
pub trait DeviceFacts {
    /// The kernel name (`KERNEL==`), e.g. `nvme1n1`.
    fn kernel(&self) -> &str;
    /// `SUBSYSTEM==`, e.g. `block`.
    fn subsystem(&self) -> &str;
    /// A sysfs attribute (`ATTR{name}==`), trimmed; `None` when absent.
    fn attr(&self, name: &str) -> Option<String>;
    /// A device property (`ENV{key}==`); `None` when absent.
    fn property(&self, key: &str) -> Option<String>;
}

/// The value an assignment leaves, and where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub value: String,
    pub file: PathBuf,
    pub line: usize,
}

/// The rules in the standard directories. Placeholder: always empty.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {}

impl RuleSet {
    /// Placeholder: finds no rules.
    pub fn load(_root: &SystemRoot) -> Result<RuleSet, FactError> {
        Ok(RuleSet::default())
    }

    /// The value the last matching `ATTR{attr}=`/`:=` assignment leaves, evaluating every rule for `action`.
    /// Placeholder: never matches.
    pub fn final_attr_assignment(&self, _device: &dyn DeviceFacts, _action: &str, _attr: &str) -> Option<Assignment> {
        None
    }
}
