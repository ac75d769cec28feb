//! The one error type of scenario loading: where (file and line, or `--set`), which field, what.

use std::fmt;

/// A problem with a scenario, located for the person who has to fix it:
/// `scenarios/x.toml:12: nations.MYS.alignment: must be in [-1, 1], got 1.5`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScenarioError {
    /// `file:line`, `file`, or `--set`.
    pub location: String,
    /// The dotted parameter path, when the problem has one.
    pub field: Option<String>,
    pub message: String,
}

impl ScenarioError {
    pub fn at(
        location: String,
        field: Option<String>,
        message: impl Into<String>,
    ) -> ScenarioError {
        ScenarioError {
            location,
            field,
            message: message.into(),
        }
    }
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.field {
            Some(field) => write!(f, "{}: {}: {}", self.location, field, self.message),
            None => write!(f, "{}: {}", self.location, self.message),
        }
    }
}

impl std::error::Error for ScenarioError {}
