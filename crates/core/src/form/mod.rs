//! Forms: a definition (its fields, the list it subscribes to, the tags it adds, where it thanks
//! the visitor), the HTML snippet a site embeds, and what a submission says.
//!
//! The snippet posts to `{public_url}/f/{id}`. It carries a honeypot input that people never see
//! (a bot that fills it is answered as if it had succeeded, and nothing is recorded) and a hidden
//! visitor input that a tiny inline script fills from the tracking snippet's `tl_vid` cookie when
//! the form is sent (the tracking snippet may set the cookie after the form is parsed), so that
//! the visitor's earlier anonymous visits land on the contact's timeline.
//!
//! # Layout
//! - this module: the definition, its validation, and where the form posts.
//! - [`snippet`]: the HTML to embed.
//! - [`submission`]: reading what a visitor sent, and spotting bots.

use std::collections::HashMap;

pub mod snippet;
pub mod submission;

pub use submission::{is_spam, Submission};

use crate::ids::{AccountId, FormId, ListId, TagId};
use crate::invalid::Invalid;
use crate::text::{optional, required, NAME_MAX};
use crate::time::Timestamp;
use crate::visit::PageUrl;

/// The honeypot input's name: a person leaves it empty.
pub const HONEYPOT_FIELD: &str = "tl_hp";
/// The hidden input the snippet fills with the visitor id (the `tl_vid` cookie).
pub const VISITOR_FIELD: &str = "tl_vid";
/// The most fields a form may have.
pub const FIELDS_MAX: usize = 50;
/// The most tags a form may add.
pub const TAGS_MAX: usize = 50;

/// One input of a form.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum FormField {
    /// The email address (always present, always required).
    Email,
    /// The first name.
    FirstName,
    /// The last name.
    LastName,
    /// The phone number.
    Phone,
    /// A custom field, by its personalization tag (`COMPANY`).
    Custom(String),
}

const STANDARD: [(&str, &str, FormField); 4] = [
    ("email", "Email", FormField::Email),
    ("firstName", "First name", FormField::FirstName),
    ("lastName", "Last name", FormField::LastName),
    ("phone", "Phone", FormField::Phone),
];

impl FormField {
    /// Parses the API spelling: `email`, `firstName`, `lastName`, `phone`, or a custom field's
    /// personalization tag (letters, digits and `_`, stored upper case).
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let raw = raw.trim();
        if let Some((_, _, field)) = STANDARD.iter().find(|(name, _, _)| *name == raw) {
            return Ok(field.clone());
        }
        let perstag = raw.trim_matches('%');
        let fine = !perstag.is_empty()
            && perstag.len() <= NAME_MAX
            && perstag
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if fine {
            Ok(Self::Custom(perstag.to_ascii_uppercase()))
        } else {
            Err(Invalid::bad_value(
                "fields",
                format!(
                    "unknown field '{raw}' (email, firstName, lastName, phone, or a custom \
                     field's perstag)"
                ),
            ))
        }
    }

    /// The API spelling, which is also the input's name in the snippet.
    pub fn name(&self) -> &str {
        match self {
            Self::Custom(perstag) => perstag,
            standard => STANDARD
                .iter()
                .find(|(_, _, field)| field == standard)
                .map_or("email", |(name, _, _)| name),
        }
    }

    /// The label the snippet shows: a custom field's title from `titles` (by perstag), or its
    /// perstag when it has none there.
    fn label<'a>(&'a self, titles: &'a HashMap<String, String>) -> &'a str {
        match self {
            Self::Custom(perstag) => titles.get(perstag).map_or(perstag, String::as_str),
            standard => STANDARD
                .iter()
                .find(|(_, _, field)| field == standard)
                .map_or("Email", |(_, label, _)| label),
        }
    }
}

/// A form as given by a caller, before validation. Absent attributes are `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FormInput {
    /// The form's name.
    pub name: Option<String>,
    /// Its fields, in the API spelling.
    pub fields: Option<Vec<String>>,
    /// The list a submission subscribes to; 0 for none.
    pub list: Option<i64>,
    /// The tags a submission adds.
    pub tags: Option<Vec<i64>>,
    /// Where the visitor goes after submitting; empty for the built-in thank-you page.
    pub thank_you_url: Option<String>,
}

/// Validated form attributes; for a patch only present attributes change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FormPatch {
    /// The form's name.
    pub name: Option<String>,
    /// Its fields, email first.
    pub fields: Option<Vec<FormField>>,
    /// The list to subscribe to (`Some(None)`: none).
    pub list: Option<Option<ListId>>,
    /// The tags to add.
    pub tags: Option<Vec<TagId>>,
    /// The thank-you URL (`Some(None)`: the built-in page).
    pub thank_you_url: Option<Option<String>>,
}

impl FormInput {
    /// Validates a new form: a name is required; the fields default to the email alone.
    pub fn into_draft(self) -> Result<FormPatch, Invalid> {
        let name = required("name", self.name.as_deref(), NAME_MAX)?;
        let mut patch = self.into_patch()?;
        patch.name = Some(name);
        patch.fields.get_or_insert_with(|| vec![FormField::Email]);
        patch.list.get_or_insert(None);
        patch.tags.get_or_insert_with(Vec::new);
        patch.thank_you_url.get_or_insert(None);
        Ok(patch)
    }

    /// Validates a partial update.
    pub fn into_patch(self) -> Result<FormPatch, Invalid> {
        let name = optional("name", self.name.as_deref(), NAME_MAX)?;
        if name.as_deref() == Some("") {
            return Err(Invalid::missing("name"));
        }
        let fields = self.fields.map(|raw| parse_fields(&raw)).transpose()?;
        let list = self
            .list
            .map(|id| match id {
                0 => Ok(None),
                id if id > 0 => Ok(Some(ListId(id))),
                id => Err(Invalid::bad_value(
                    "list",
                    format!("'{id}' is not a list id"),
                )),
            })
            .transpose()?;
        let tags = self.tags.map(|ids| parse_tags(&ids)).transpose()?;
        let thank_you_url = self
            .thank_you_url
            .map(|raw| match raw.trim() {
                "" => Ok(None),
                raw => PageUrl::parse("thankYouUrl", raw).map(|url| Some(url.url)),
            })
            .transpose()?;
        Ok(FormPatch {
            name,
            fields,
            list,
            tags,
            thank_you_url,
        })
    }
}

fn parse_fields(raw: &[String]) -> Result<Vec<FormField>, Invalid> {
    if raw.len() > FIELDS_MAX {
        return Err(Invalid::bad_value(
            "fields",
            format!("a form has at most {FIELDS_MAX} fields"),
        ));
    }
    let mut fields = vec![FormField::Email];
    for field in raw.iter().map(|name| FormField::parse(name)) {
        let field = field?;
        if !fields.contains(&field) {
            fields.push(field);
        }
    }
    Ok(fields)
}

fn parse_tags(ids: &[i64]) -> Result<Vec<TagId>, Invalid> {
    if ids.len() > TAGS_MAX {
        return Err(Invalid::bad_value(
            "tags",
            format!("a form adds at most {TAGS_MAX} tags"),
        ));
    }
    let mut tags: Vec<TagId> = Vec::with_capacity(ids.len());
    for &id in ids {
        if id <= 0 {
            return Err(Invalid::bad_value(
                "tags",
                format!("'{id}' is not a tag id"),
            ));
        }
        if !tags.contains(&TagId(id)) {
            tags.push(TagId(id));
        }
    }
    Ok(tags)
}

/// A stored form.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Form {
    /// Its id.
    pub id: FormId,
    /// The account it belongs to.
    pub account: AccountId,
    /// Its name.
    pub name: String,
    /// Its fields, email first.
    pub fields: Vec<FormField>,
    /// The list a submission subscribes to.
    pub list: Option<ListId>,
    /// The tags a submission adds.
    pub tags: Vec<TagId>,
    /// Where the visitor goes after submitting; `None` for the built-in thank-you page.
    pub thank_you_url: Option<String>,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

impl Form {
    /// Where the snippet posts: `{public_url}/f/{id}`.
    pub fn action(&self, public_url: &str) -> String {
        format!("{public_url}/f/{}", self.id)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::invalid::Code;

    /// A form with an email, a first name and a custom field.
    pub(crate) fn form() -> Form {
        Form {
            id: FormId(7),
            account: AccountId(1),
            name: "Newsletter".into(),
            fields: vec![
                FormField::Email,
                FormField::FirstName,
                FormField::Custom("COMPANY".into()),
            ],
            list: Some(ListId(2)),
            tags: vec![TagId(3)],
            thank_you_url: None,
            created_at: Timestamp(0),
            updated_at: Timestamp(0),
        }
    }

    #[test]
    fn fields_parse_and_round_trip() {
        for (name, _, field) in STANDARD {
            assert_eq!(FormField::parse(name), Ok(field.clone()));
            assert_eq!(field.name(), name);
        }
        assert_eq!(
            FormField::parse("%company%"),
            Ok(FormField::Custom("COMPANY".into()))
        );
        assert!(FormField::parse("no spaces").is_err());
        assert!(FormField::parse("").is_err());
    }

    #[test]
    fn drafts_need_a_name_and_put_email_first() {
        assert_eq!(
            FormInput::default().into_draft().unwrap_err().code,
            Code::Missing
        );
        let draft = FormInput {
            name: Some(" Signup ".into()),
            fields: Some(vec!["firstName".into(), "email".into(), "firstName".into()]),
            list: Some(0),
            tags: Some(vec![4, 4]),
            ..FormInput::default()
        }
        .into_draft()
        .unwrap();
        assert_eq!(draft.name.as_deref(), Some("Signup"));
        assert_eq!(
            draft.fields,
            Some(vec![FormField::Email, FormField::FirstName])
        );
        assert_eq!(draft.list, Some(None));
        assert_eq!(draft.tags, Some(vec![TagId(4)]));
        assert_eq!(draft.thank_you_url, Some(None));
    }

    #[test]
    fn thank_you_urls_are_http_or_https() {
        let with = |url: &str| {
            FormInput {
                thank_you_url: Some(url.into()),
                ..FormInput::default()
            }
            .into_patch()
        };
        assert_eq!(
            with("https://example.com/thanks").unwrap().thank_you_url,
            Some(Some("https://example.com/thanks".into()))
        );
        assert_eq!(with("").unwrap().thank_you_url, Some(None));
        for bad in ["javascript:alert(1)", "ftp://example.com/", "not a url"] {
            assert_eq!(with(bad).unwrap_err().attribute, "thankYouUrl", "{bad}");
        }
        let negative = FormInput {
            tags: Some(vec![-1]),
            ..FormInput::default()
        };
        assert!(negative.into_patch().is_err());
    }
}
