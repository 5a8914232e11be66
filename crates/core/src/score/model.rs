//! A scoring model: a name, a description, and the rules that award its points.

use crate::ids::ScoreModelId;
use crate::invalid::Invalid;
use crate::score::rule::Progress;
use crate::text::{optional, required, NAME_MAX, TEXT_MAX};
use crate::time::Timestamp;

/// A model as given by a caller, before validation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModelInput {
    /// The name.
    pub name: Option<String>,
    /// The description.
    pub description: Option<String>,
}

/// Validated model attributes; for a patch, only present attributes change.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelPatch {
    /// The name.
    pub name: Option<String>,
    /// The description.
    pub description: Option<String>,
}

/// A validated new model.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelDraft {
    /// The name.
    pub name: String,
    /// The description, possibly empty.
    pub description: String,
}

impl ModelInput {
    /// Validates a new model: the name is required.
    pub fn into_draft(self) -> Result<ModelDraft, Invalid> {
        let name = required("name", self.name.as_deref(), NAME_MAX)?;
        let patch = self.into_patch()?;
        Ok(ModelDraft {
            name,
            description: patch.description.unwrap_or_default(),
        })
    }

    /// Validates a partial update.
    pub fn into_patch(self) -> Result<ModelPatch, Invalid> {
        let name = optional("name", self.name.as_deref(), NAME_MAX)?;
        if name.as_deref() == Some("") {
            return Err(Invalid::missing("name"));
        }
        let description = optional("descript", self.description.as_deref(), TEXT_MAX)?;
        Ok(ModelPatch { name, description })
    }
}

/// A stored scoring model.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreModel {
    /// Its id.
    pub id: ScoreModelId,
    /// Its name.
    pub name: String,
    /// Its description.
    pub description: String,
    /// How many of its rules are being recomputed (added, edited or deleted, and not counted
    /// yet).
    pub recomputing: i64,
    /// How far those recomputes have gone, together.
    pub progress: Progress,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}
