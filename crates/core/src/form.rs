//! Forms: a definition (its fields, the list it subscribes to, the tags it adds, where it thanks
//! the visitor), the HTML snippet a site embeds, and what a submission says.
//!
//! The snippet posts to `{public_url}/f/{id}`. It carries a honeypot input that people never see
//! (a bot that fills it is answered as if it had succeeded, and nothing is recorded) and a hidden
//! visitor input that a tiny inline script fills from the tracking snippet's `tl_vid` cookie when
//! the form is sent (the tracking snippet may set the cookie after the form is parsed), so that
//! the visitor's earlier anonymous visits land on the contact's timeline.

use html_escape::{encode_double_quoted_attribute as attr, encode_text as text};

use crate::contact::{ContactDraft, ContactInput};
use crate::ids::{AccountId, FormId, ListId, TagId};
use crate::invalid::Invalid;
use crate::text::{optional, required, NAME_MAX, TEXT_MAX};
use crate::time::Timestamp;
use crate::visit::{parse_visitor_key, PageUrl};

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

    fn label(&self) -> &str {
        match self {
            Self::Custom(perstag) => perstag,
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

    /// The HTML snippet to paste into a page: the form, its honeypot, and the script that hands
    /// the visitor id over. Every value is escaped.
    pub fn embed_html(&self, public_url: &str) -> String {
        let mut html = format!(
            "<form method=\"post\" action=\"{}\" class=\"tracklane-form\" \
             data-tracklane-form=\"{}\">\n",
            attr(&self.action(public_url)),
            self.id
        );
        for field in &self.fields {
            let (kind, required) = match field {
                FormField::Email => ("email", " required"),
                FormField::Phone => ("tel", ""),
                _ => ("text", ""),
            };
            html.push_str(&format!(
                "  <label>{}<input type=\"{kind}\" name=\"{}\"{required}></label>\n",
                text(field.label()),
                attr(field.name()),
            ));
        }
        html.push_str(&format!(
            "  <div style=\"position:absolute;left:-10000px\" aria-hidden=\"true\">\
             <input type=\"text\" name=\"{HONEYPOT_FIELD}\" tabindex=\"-1\" autocomplete=\"off\" \
             value=\"\"></div>\n  <input type=\"hidden\" name=\"{VISITOR_FIELD}\" value=\"\">\n  \
             <button type=\"submit\">Submit</button>\n</form>\n"
        ));
        html.push_str(&format!(
            "<script>(function(){{var f=document.querySelector('form[data-tracklane-form=\"{id}\"]');\
             if(f)f.addEventListener('submit',function(){{\
             var m=document.cookie.match(/(?:^|; ){VISITOR_FIELD}=([^;]*)/);\
             if(m)f.elements['{VISITOR_FIELD}'].value=decodeURIComponent(m[1]);}});}})();</script>\n",
            id = self.id
        ));
        html
    }

    /// Reads a submission's name/value pairs against this form's fields. Values of inputs the
    /// form does not have are ignored.
    pub fn read_submission(&self, pairs: &[(String, String)]) -> Result<Submission, Invalid> {
        let value = |name: &str| {
            pairs
                .iter()
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.as_str())
        };
        let has = |field: &FormField| self.fields.contains(field);
        let standard = |field: FormField| {
            has(&field)
                .then(|| value(field.name()).map(str::to_owned))
                .flatten()
        };
        let mut custom = Vec::new();
        for field in &self.fields {
            if let FormField::Custom(perstag) = field {
                if let Some(raw) = value(perstag).filter(|v| !v.trim().is_empty()) {
                    if raw.chars().count() > TEXT_MAX {
                        return Err(Invalid::too_long("fieldValues", TEXT_MAX));
                    }
                    custom.push((perstag.clone(), raw.to_owned()));
                }
            }
        }
        let contact = ContactInput {
            email: Some(value("email").unwrap_or_default().to_owned()),
            first_name: standard(FormField::FirstName),
            last_name: standard(FormField::LastName),
            phone: standard(FormField::Phone),
            field_values: Vec::new(),
        }
        .into_draft()?;
        let visitor = value(VISITOR_FIELD)
            .filter(|v| !v.trim().is_empty())
            .map(parse_visitor_key)
            .transpose()?;
        Ok(Submission {
            contact,
            custom,
            visitor,
        })
    }
}

/// Whether a submission filled the honeypot: a bot's.
pub fn is_spam(pairs: &[(String, String)]) -> bool {
    pairs
        .iter()
        .any(|(key, value)| key == HONEYPOT_FIELD && !value.trim().is_empty())
}

/// What a valid submission says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Submission {
    /// The contact to create or update (its custom values are in [`Submission::custom`]).
    pub contact: ContactDraft,
    /// Custom field values by personalization tag, resolved to fields by the store.
    pub custom: Vec<(String, String)>,
    /// The visitor who submitted (from the snippet's cookie).
    pub visitor: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> Form {
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

    fn pairs(raw: &[(&str, &str)]) -> Vec<(String, String)> {
        raw.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
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
            "missing"
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

    #[test]
    fn the_snippet_posts_to_the_form_with_a_honeypot_and_the_visitor() {
        let mut form = form();
        form.fields.push(FormField::Custom("X\"><script>".into()));
        let html = form.embed_html("https://t.example.com");
        assert!(html.contains("action=\"https://t.example.com/f/7\""));
        assert!(html.contains("name=\"email\" required"));
        assert!(html.contains("name=\"firstName\""));
        assert!(html.contains("name=\"tl_hp\""));
        assert!(html.contains("left:-10000px"));
        assert!(html.contains("name=\"tl_vid\""));
        assert!(html.contains("document.cookie"));
        assert!(!html.contains("X\"><script>"), "values are escaped");
    }

    proptest::proptest! {
        #[test]
        fn snippet_values_never_open_or_close_a_tag(perstag in ".*", url in ".*") {
            let snippet = |perstag: String, url: &str| {
                let mut form = form();
                form.fields = vec![FormField::Email, FormField::Custom(perstag)];
                form.embed_html(url)
            };
            let baseline = snippet("X".into(), "https://t.example.com");
            let html = snippet(perstag, &url);
            for mark in ['<', '>'] {
                proptest::prop_assert_eq!(html.matches(mark).count(), baseline.matches(mark).count());
            }
        }
    }

    #[test]
    fn submissions_read_the_form_fields_only() {
        let submission = form()
            .read_submission(&pairs(&[
                ("email", " Ada@Example.com "),
                ("firstName", "Ada"),
                ("lastName", "ignored: not a field of the form"),
                ("COMPANY", "Analytical"),
                ("tl_vid", "visitor-0001"),
            ]))
            .unwrap();
        assert_eq!(submission.contact.email.as_str(), "ada@example.com");
        assert_eq!(
            submission.contact.attributes.first_name.as_deref(),
            Some("Ada")
        );
        assert_eq!(submission.contact.attributes.last_name, None);
        assert_eq!(
            submission.custom,
            vec![("COMPANY".into(), "Analytical".into())]
        );
        assert_eq!(submission.visitor.as_deref(), Some("visitor-0001"));
    }

    #[test]
    fn bad_submissions_are_refused_and_honeypots_spotted() {
        let form = form();
        assert_eq!(
            form.read_submission(&pairs(&[("email", "nope")]))
                .unwrap_err()
                .attribute,
            "email"
        );
        assert_eq!(form.read_submission(&[]).unwrap_err().code, "missing");
        assert!(form
            .read_submission(&pairs(&[("email", "a@b.co"), ("tl_vid", "<bad>")]))
            .is_err());
        assert!(is_spam(&pairs(&[("tl_hp", "http://spam")])));
        assert!(!is_spam(&pairs(&[("tl_hp", ""), ("email", "a@b.co")])));
    }
}
