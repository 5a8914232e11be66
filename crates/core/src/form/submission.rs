//! Reading a submission: the name/value pairs a visitor sent, checked against the form's fields,
//! and the honeypot that tells a bot.

use super::{Form, FormField, HONEYPOT_FIELD, VISITOR_FIELD};
use crate::contact::{ContactDraft, ContactInput};
use crate::invalid::Invalid;
use crate::text::{within, TEXT_MAX};
use crate::visit::parse_visitor_key;

impl Form {
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
                    within("fieldValues", raw, TEXT_MAX)?;
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
    use crate::form::tests::form;
    use crate::invalid::Code;

    fn pairs(raw: &[(&str, &str)]) -> Vec<(String, String)> {
        raw.iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
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
        assert_eq!(form.read_submission(&[]).unwrap_err().code, Code::Missing);
        assert!(form
            .read_submission(&pairs(&[("email", "a@b.co"), ("tl_vid", "<bad>")]))
            .is_err());
        assert!(is_spam(&pairs(&[("tl_hp", "http://spam")])));
        assert!(!is_spam(&pairs(&[("tl_hp", ""), ("email", "a@b.co")])));
    }
}
