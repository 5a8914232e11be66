//! A saved automation: a name, whether it runs, and its definition's versions (contacts go on
//! with the version they entered).

use super::Definition;
use crate::ids::AutomationId;
use crate::invalid::Invalid;
use crate::text::{optional, required, NAME_MAX};
use crate::time::Timestamp;

/// An automation as given by a caller, before validation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AutomationInput {
    /// The name.
    pub name: Option<String>,
    /// The definition's JSON.
    pub definition: Option<serde_json::Value>,
    /// ActiveCampaign's status: `1` active, `2` inactive.
    pub status: Option<String>,
}

/// Validated automation attributes; for a patch, only present attributes change.
#[derive(Debug, Clone, PartialEq)]
pub struct AutomationPatch {
    /// The name.
    pub name: Option<String>,
    /// The definition: a new version.
    pub definition: Option<Definition>,
    /// Whether triggers enter contacts.
    pub active: Option<bool>,
}

/// A validated new automation: a name and a definition; inactive unless asked.
#[derive(Debug, Clone, PartialEq)]
pub struct AutomationDraft {
    /// The name.
    pub name: String,
    /// The definition.
    pub definition: Definition,
    /// Whether triggers enter contacts.
    pub active: bool,
}

impl AutomationInput {
    /// Validates a new automation.
    pub fn into_draft(self) -> Result<AutomationDraft, Invalid> {
        let name = required("name", self.name.as_deref(), NAME_MAX)?;
        let patch = self.into_patch()?;
        Ok(AutomationDraft {
            name,
            definition: patch
                .definition
                .ok_or_else(|| Invalid::missing("definition"))?,
            active: patch.active.unwrap_or(false),
        })
    }

    /// Validates a partial update.
    pub fn into_patch(self) -> Result<AutomationPatch, Invalid> {
        let name = optional("name", self.name.as_deref(), NAME_MAX)?;
        if name.as_deref() == Some("") {
            return Err(Invalid::missing("name"));
        }
        let definition = self
            .definition
            .map(|json| {
                Definition::from_value(json)
                    .map_err(|error| Invalid::bad_value("definition", error.to_string()))
            })
            .transpose()?;
        let active = match self.status.as_deref() {
            None => None,
            Some("1") => Some(true),
            Some("2") => Some(false),
            Some(_) => {
                return Err(Invalid::bad_value(
                    "status",
                    "must be 1 (active) or 2 (inactive)",
                ))
            }
        };
        Ok(AutomationPatch {
            name,
            definition,
            active,
        })
    }
}

/// A stored automation, with its current version.
#[derive(Debug, Clone, PartialEq)]
pub struct Automation {
    /// Its id.
    pub id: AutomationId,
    /// Its name.
    pub name: String,
    /// Whether triggers enter contacts.
    pub active: bool,
    /// The current version: every edit of the definition makes a new one.
    pub version: i64,
    /// The current version's definition.
    pub definition: Definition,
    /// How many times contacts entered (64-bit).
    pub entered: i64,
    /// How many times contacts left it (completed, ended or removed).
    pub exited: i64,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

/// Where a run stands (AC's contactAutomation `status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunStatus {
    /// In progress: at a step, or waiting in one.
    Active,
    /// Went past the last step.
    Completed,
    /// Ended early: by an `end` step, or removed.
    Ended,
}

impl RunStatus {
    /// The stored (and AC's) code.
    pub fn code(self) -> i64 {
        match self {
            Self::Active => 1,
            Self::Completed => 2,
            Self::Ended => 3,
        }
    }

    /// The status of a stored code.
    pub fn from_code(code: i64) -> Self {
        match code {
            1 => Self::Active,
            2 => Self::Completed,
            _ => Self::Ended,
        }
    }
}

/// A contact's run through an automation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    /// Its id.
    pub id: crate::ids::AutomationRunId,
    /// The automation.
    pub automation: AutomationId,
    /// The version of the definition it goes through (the one current when it entered).
    pub version: i64,
    /// The contact.
    pub contact: crate::ids::ContactId,
    /// What entered it.
    pub cause: String,
    /// Where it stands.
    pub status: RunStatus,
    /// The step it is at, or the last it passed once it left.
    pub step: String,
    /// When it arrived at the step.
    pub since_at: Timestamp,
    /// When the worker takes it next, while it is in progress.
    pub due_at: Option<Timestamp>,
    /// How many steps it passed.
    pub steps_done: i64,
    /// How many steps its version has.
    pub steps_total: i64,
    /// When it entered.
    pub entered_at: Timestamp,
    /// When it last moved.
    pub updated_at: Timestamp,
    /// When it left, once it did.
    pub ended_at: Option<Timestamp>,
    /// What its steps could not do, as the last move that was refused something noted it
    /// (a deleted tag, a contact subscribed to no list for an email).
    pub last_error: Option<String>,
}
