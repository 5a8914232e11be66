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
