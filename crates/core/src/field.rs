//! Custom contact fields: their definition and the values a contact holds for them.

use chrono::{DateTime, NaiveDate};

use crate::ids::{ContactId, FieldId, FieldOptionId, FieldRelId, FieldValueId};
use crate::invalid::Invalid;
use crate::text::{optional, required, within, NAME_MAX, TEXT_MAX};
use crate::time::Timestamp;

/// The kind of a custom field, with AC's spellings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldType {
    /// One line of text.
    Text,
    /// Several lines of text.
    Textarea,
    /// `YYYY-MM-DD`.
    Date,
    /// ISO-8601 date and time.
    Datetime,
    /// One option of several.
    Dropdown,
    /// Several options (`||a||b||`).
    Listbox,
    /// One option of several.
    Radio,
    /// Several options (`||a||b||`).
    Checkbox,
    /// Not shown on forms.
    Hidden,
    /// A number.
    Number,
}

const FIELD_TYPES: [(&str, FieldType); 10] = [
    ("text", FieldType::Text),
    ("textarea", FieldType::Textarea),
    ("date", FieldType::Date),
    ("datetime", FieldType::Datetime),
    ("dropdown", FieldType::Dropdown),
    ("listbox", FieldType::Listbox),
    ("radio", FieldType::Radio),
    ("checkbox", FieldType::Checkbox),
    ("hidden", FieldType::Hidden),
    ("number", FieldType::Number),
];

impl FieldType {
    /// Parses AC's `type` spelling.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let raw = raw.trim();
        FIELD_TYPES
            .iter()
            .find(|(name, _)| *name == raw)
            .map(|(_, kind)| *kind)
            .ok_or_else(|| Invalid::bad_value("type", format!("unknown field type '{raw}'")))
    }

    /// The API and storage spelling.
    pub fn as_str(self) -> &'static str {
        FIELD_TYPES
            .iter()
            .find(|(_, kind)| *kind == self)
            .map_or("text", |(name, _)| name)
    }

    /// Checks that `value` is acceptable for a field of this type. Empty values clear a field
    /// and are always acceptable.
    pub fn check_value(self, value: &str) -> Result<(), Invalid> {
        let value = value.trim();
        within("value", value, TEXT_MAX)?;
        if value.is_empty() {
            return Ok(());
        }
        let acceptable = match self {
            Self::Date => NaiveDate::parse_from_str(value, "%Y-%m-%d").is_ok(),
            Self::Datetime => {
                DateTime::parse_from_rfc3339(value).is_ok()
                    || NaiveDate::parse_from_str(value, "%Y-%m-%d").is_ok()
            }
            Self::Number => value.parse::<f64>().is_ok_and(f64::is_finite),
            _ => true,
        };
        if acceptable {
            Ok(())
        } else {
            Err(Invalid::bad_value(
                "value",
                format!("'{value}' is not a valid {} value", self.as_str()),
            ))
        }
    }
}

/// A custom field as given by a caller, before validation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldInput {
    /// The field's title.
    pub title: Option<String>,
    /// The field's type.
    pub field_type: Option<String>,
    /// A description.
    pub description: Option<String>,
    /// The personalization tag (`%PERSTAG%`); derived from the title when absent.
    pub perstag: Option<String>,
    /// The default value.
    pub default_value: Option<String>,
    /// Whether the field is shown (1) or not (0).
    pub visible: Option<i64>,
    /// The position among the fields.
    pub ordernum: Option<i64>,
}

/// A new field, validated: every attribute is set (the personalization tag from the title
/// unless given, shown, first in order).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldDraft {
    /// The title.
    pub title: String,
    /// The type.
    pub field_type: FieldType,
    /// The description.
    pub description: String,
    /// The personalization tag, upper-case letters, digits and underscores.
    pub perstag: String,
    /// The default value.
    pub default_value: String,
    /// Whether the field is shown.
    pub visible: bool,
    /// The position among the fields.
    pub ordernum: i64,
}

/// Validated field attributes; for a patch, only present attributes change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldPatch {
    /// The title.
    pub title: Option<String>,
    /// The type.
    pub field_type: Option<FieldType>,
    /// The description.
    pub description: Option<String>,
    /// The personalization tag, upper-case letters, digits and underscores.
    pub perstag: Option<String>,
    /// The default value.
    pub default_value: Option<String>,
    /// Whether the field is shown.
    pub visible: Option<bool>,
    /// The position among the fields.
    pub ordernum: Option<i64>,
}

impl FieldInput {
    /// Validates a new field: title and type are required.
    pub fn into_draft(self) -> Result<FieldDraft, Invalid> {
        let title = required("title", self.title.as_deref(), NAME_MAX)?;
        let field_type = FieldType::parse(&required("type", self.field_type.as_deref(), 32)?)?;
        let patch = self.into_patch()?;
        Ok(FieldDraft {
            perstag: patch
                .perstag
                .filter(|tag| !tag.is_empty())
                .unwrap_or_else(|| perstag_of(&title)),
            title,
            field_type,
            description: patch.description.unwrap_or_default(),
            default_value: patch.default_value.unwrap_or_default(),
            visible: patch.visible.unwrap_or(true),
            ordernum: patch.ordernum.unwrap_or(0),
        })
    }

    /// Validates a partial update.
    pub fn into_patch(self) -> Result<FieldPatch, Invalid> {
        let title = optional("title", self.title.as_deref(), NAME_MAX)?;
        if title.as_deref() == Some("") {
            return Err(Invalid::missing("title"));
        }
        let field_type = self
            .field_type
            .as_deref()
            .map(FieldType::parse)
            .transpose()?;
        let perstag = optional("perstag", self.perstag.as_deref(), NAME_MAX)?
            .filter(|tag| !tag.is_empty())
            .map(|tag| perstag_of(&tag));
        Ok(FieldPatch {
            title,
            field_type,
            description: optional("descript", self.description.as_deref(), TEXT_MAX)?,
            perstag,
            default_value: optional("defval", self.default_value.as_deref(), TEXT_MAX)?,
            visible: self.visible.map(|visible| visible != 0),
            ordernum: self.ordernum,
        })
    }
}

/// A stored custom field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// Its id.
    pub id: FieldId,
    /// Its title.
    pub title: String,
    /// Its type.
    pub field_type: FieldType,
    /// Its description.
    pub description: String,
    /// Its personalization tag.
    pub perstag: String,
    /// Its default value.
    pub default_value: String,
    /// Whether it is shown.
    pub visible: bool,
    /// Its position among the fields.
    pub ordernum: i64,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

/// One contact's value of one custom field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldValue {
    /// The row's id.
    pub id: FieldValueId,
    /// The contact.
    pub contact: ContactId,
    /// The field.
    pub field: FieldId,
    /// The value, in text form.
    pub value: String,
    /// When it was first set.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

/// The `relid` of a field's relation to every list, as AC spells it.
pub const ALL_LISTS: i64 = 0;

/// A field's relation to a list (`relid` [`ALL_LISTS`]: all lists).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldRel {
    /// The row's id.
    pub id: FieldRelId,
    /// The field.
    pub field: FieldId,
    /// The list id, or [`ALL_LISTS`].
    pub relid: i64,
    /// When it was created.
    pub created_at: Timestamp,
}

/// One option of a choice field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldOption {
    /// The row's id.
    pub id: FieldOptionId,
    /// The field.
    pub field: FieldId,
    /// What is shown.
    pub label: String,
    /// What is stored.
    pub value: String,
    /// Its position.
    pub orderid: i64,
    /// Whether it is selected by default.
    pub isdefault: bool,
    /// When it was created.
    pub created_at: Timestamp,
}

/// The personalization tag for a title: upper case, with every other character an underscore.
pub fn perstag_of(title: &str) -> String {
    title
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() {
                c.to_ascii_uppercase()
            } else {
                '_'
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_round_trip() {
        for (name, kind) in FIELD_TYPES {
            assert_eq!(FieldType::parse(name), Ok(kind));
            assert_eq!(kind.as_str(), name);
        }
        assert!(FieldType::parse("blob").is_err());
    }

    #[test]
    fn values_are_checked_by_type() {
        assert!(FieldType::Date.check_value("2024-02-29").is_ok());
        assert!(FieldType::Date.check_value("2023-02-29").is_err());
        assert!(FieldType::Datetime
            .check_value("2024-02-29T10:00:00-05:00")
            .is_ok());
        assert!(FieldType::Number.check_value("12.5").is_ok());
        assert!(FieldType::Number.check_value("twelve").is_err());
        assert!(FieldType::Number.check_value("NaN").is_err());
        assert!(FieldType::Number.check_value("").is_ok());
        assert!(FieldType::Text.check_value("anything").is_ok());
    }

    #[test]
    fn a_new_field_gets_a_perstag() {
        let input = FieldInput {
            title: Some("Favourite colour".into()),
            field_type: Some("text".into()),
            ..FieldInput::default()
        };
        let draft = input.into_draft().unwrap();
        assert_eq!(draft.perstag, "FAVOURITE_COLOUR");
        assert!(draft.visible);
    }
}
