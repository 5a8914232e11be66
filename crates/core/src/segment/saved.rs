//! A saved segment: a name, a definition and its live members (kept by the store and the
//! membership worker).

use crate::ids::SegmentId;
use crate::invalid::Invalid;
use crate::segment::Definition;
use crate::text::{optional, required, NAME_MAX};
use crate::time::Timestamp;

/// A segment as given by a caller, before validation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SegmentInput {
    /// The name.
    pub name: Option<String>,
    /// The definition's JSON.
    pub definition: Option<serde_json::Value>,
}

/// Validated segment attributes; for a patch, only present attributes change.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentPatch {
    /// The name.
    pub name: Option<String>,
    /// The definition.
    pub definition: Option<Definition>,
}

/// A validated new segment: both attributes are required.
#[derive(Debug, Clone, PartialEq)]
pub struct SegmentDraft {
    /// The name.
    pub name: String,
    /// The definition.
    pub definition: Definition,
}

impl SegmentInput {
    /// Validates a new segment.
    pub fn into_draft(self) -> Result<SegmentDraft, Invalid> {
        let name = required("name", self.name.as_deref(), NAME_MAX)?;
        if self.definition.is_none() {
            return Err(Invalid::missing("definition"));
        }
        let patch = self.into_patch()?;
        Ok(SegmentDraft {
            name,
            definition: patch
                .definition
                .ok_or_else(|| Invalid::missing("definition"))?,
        })
    }

    /// Validates a partial update.
    pub fn into_patch(self) -> Result<SegmentPatch, Invalid> {
        let name = optional("name", self.name.as_deref(), NAME_MAX)?;
        if name.as_deref() == Some("") {
            return Err(Invalid::missing("name"));
        }
        let definition = self.definition.map(parse_definition).transpose()?;
        Ok(SegmentPatch { name, definition })
    }
}

/// A definition from a request's JSON; a refusal names where in it (`/all/2/count: ...`).
pub fn parse_definition(json: serde_json::Value) -> Result<Definition, Invalid> {
    Definition::from_value(json)
        .map_err(|error| Invalid::bad_value("definition", error.to_string()))
}

/// A stored segment.
#[derive(Debug, Clone, PartialEq)]
pub struct Segment {
    /// Its id.
    pub id: SegmentId,
    /// Its name.
    pub name: String,
    /// Its definition.
    pub definition: Definition,
    /// The definition's revision: every edit moves it on.
    pub revision: i64,
    /// How many contacts are members now.
    pub member_count: i64,
    /// Whether the stored members answer the current definition (false while they are
    /// recomputed after an edit: the previous definition's members are answered meanwhile).
    pub ready: bool,
    /// When the members were last computed whole.
    pub computed_at: Option<Timestamp>,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}
