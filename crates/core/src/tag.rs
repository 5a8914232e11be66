//! Tags: labels a contact carries (or, with type `template`, that templates carry).

use crate::ids::{ContactId, ContactTagId, TagId};
use crate::invalid::Invalid;
use crate::text::{optional, required, NAME_MAX, TEXT_MAX};
use crate::time::Timestamp;

/// What a tag labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagType {
    /// A contact tag (the default).
    Contact,
    /// A template tag.
    Template,
}

impl TagType {
    /// Parses AC's `tagType` values.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        match raw.trim() {
            "contact" | "" => Ok(Self::Contact),
            "template" => Ok(Self::Template),
            other => Err(Invalid::bad_value(
                "tagType",
                format!("tagType must be 'contact' or 'template', not '{other}'"),
            )),
        }
    }

    /// The API and storage spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Contact => "contact",
            Self::Template => "template",
        }
    }
}

/// A tag as given by a caller, before validation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TagInput {
    /// The tag's name (AC's `tag`).
    pub name: Option<String>,
    /// `contact` or `template`.
    pub tag_type: Option<String>,
    /// A description.
    pub description: Option<String>,
}

/// A new tag, validated: every attribute is set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagDraft {
    /// The name.
    pub name: String,
    /// The type (`contact` unless given).
    pub tag_type: TagType,
    /// The description (empty unless given).
    pub description: String,
}

/// Validated tag attributes; for a patch, only present attributes change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagPatch {
    /// The name.
    pub name: Option<String>,
    /// The type.
    pub tag_type: Option<TagType>,
    /// The description.
    pub description: Option<String>,
}

impl TagInput {
    /// Validates a new tag: the name is required.
    pub fn into_draft(self) -> Result<TagDraft, Invalid> {
        let name = required("tag", self.name.as_deref(), NAME_MAX)?;
        let patch = self.into_patch()?;
        Ok(TagDraft {
            name,
            tag_type: patch.tag_type.unwrap_or(TagType::Contact),
            description: patch.description.unwrap_or_default(),
        })
    }

    /// Validates a partial update.
    pub fn into_patch(self) -> Result<TagPatch, Invalid> {
        let name = optional("tag", self.name.as_deref(), NAME_MAX)?;
        if name.as_deref() == Some("") {
            return Err(Invalid::missing("tag"));
        }
        Ok(TagPatch {
            name,
            tag_type: self.tag_type.as_deref().map(TagType::parse).transpose()?,
            description: optional("description", self.description.as_deref(), TEXT_MAX)?,
        })
    }
}

/// A stored tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    /// Its id.
    pub id: TagId,
    /// Its name.
    pub name: String,
    /// What it labels.
    pub tag_type: TagType,
    /// Its description.
    pub description: String,
    /// How many contacts carry it.
    pub contact_count: i64,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

/// A tag on a contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactTag {
    /// The row's id (what `DELETE /contactTags/{id}` takes).
    pub id: ContactTagId,
    /// The contact.
    pub contact: ContactId,
    /// The tag.
    pub tag: TagId,
    /// When the tag was added.
    pub created_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invalid::Code;

    #[test]
    fn a_new_tag_gets_defaults() {
        let input = TagInput {
            name: Some(" vip ".into()),
            ..TagInput::default()
        };
        let draft = input.into_draft().unwrap();
        assert_eq!(draft.name, "vip");
        assert_eq!(draft.tag_type, TagType::Contact);
        assert_eq!(draft.description, "");
    }

    #[test]
    fn refuses_unknown_types_and_blank_names() {
        let input = TagInput {
            name: Some("x".into()),
            tag_type: Some("deal".into()),
            ..TagInput::default()
        };
        assert_eq!(input.into_draft().unwrap_err().attribute, "tagType");
        assert_eq!(
            TagInput::default().into_draft().unwrap_err().code,
            Code::Missing
        );
        let blank = TagInput {
            name: Some(" ".into()),
            ..TagInput::default()
        };
        assert_eq!(blank.into_patch().unwrap_err().code, Code::Missing);
    }
}
