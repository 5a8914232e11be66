//! Contacts: the raw input an API call or an import row carries, and the validated forms a store
//! writes.

use crate::email::ContactEmail;
use crate::ids::{ContactId, FieldId};
use crate::invalid::Invalid;
use crate::text::{optional, within, NAME_MAX, TEXT_MAX};
use crate::time::Timestamp;

/// The longest phone number accepted.
pub const PHONE_MAX: usize = 64;

/// A contact as given by a caller, before validation. Absent attributes are `None`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactInput {
    /// The email address.
    pub email: Option<String>,
    /// The first name.
    pub first_name: Option<String>,
    /// The last name.
    pub last_name: Option<String>,
    /// The phone number.
    pub phone: Option<String>,
    /// Custom field values to set.
    pub field_values: Vec<FieldValueInput>,
}

/// One custom field value as given: the field and the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldValueInput {
    /// The custom field.
    pub field: FieldId,
    /// The value, in the field's text form.
    pub value: String,
}

/// A validated set of contact attributes. For a new contact the email is always present; for a
/// patch every attribute is optional and only those present change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactPatch {
    /// The new email, when it changes.
    pub email: Option<ContactEmail>,
    /// The new first name, when it changes.
    pub first_name: Option<String>,
    /// The new last name, when it changes.
    pub last_name: Option<String>,
    /// The new phone, when it changes.
    pub phone: Option<String>,
    /// Custom field values to set (checked against their field's type by the store's caller).
    pub field_values: Vec<FieldValueInput>,
}

/// A validated new contact: a patch whose email is known to be present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactDraft {
    /// The contact's email.
    pub email: ContactEmail,
    /// Everything else, as a patch over an empty contact (its `email` is always `None`).
    pub attributes: ContactPatch,
}

impl ContactInput {
    /// Validates a new contact (or an upsert): the email is required.
    pub fn into_draft(self) -> Result<ContactDraft, Invalid> {
        let raw_email = self.email.clone().unwrap_or_default();
        let email = ContactEmail::parse(&raw_email)?;
        let mut attributes = self.into_patch()?;
        attributes.email = None;
        Ok(ContactDraft { email, attributes })
    }

    /// Validates a partial update: every attribute is optional, but none may be invalid.
    pub fn into_patch(self) -> Result<ContactPatch, Invalid> {
        let email = self.email.as_deref().map(ContactEmail::parse).transpose()?;
        let first_name = optional("firstName", self.first_name.as_deref(), NAME_MAX)?;
        let last_name = optional("lastName", self.last_name.as_deref(), NAME_MAX)?;
        let phone = optional("phone", self.phone.as_deref(), PHONE_MAX)?;
        for field_value in &self.field_values {
            within("fieldValues", &field_value.value, TEXT_MAX)?;
        }
        Ok(ContactPatch {
            email,
            first_name,
            last_name,
            phone,
            field_values: self.field_values,
        })
    }
}

/// A stored contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    /// Its id.
    pub id: ContactId,
    /// Its email, normalised.
    pub email: String,
    /// The first name, possibly empty.
    pub first_name: String,
    /// The last name, possibly empty.
    pub last_name: String,
    /// The phone, possibly empty.
    pub phone: String,
    /// 32 random hex characters that name the contact in public links.
    pub hash: String,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invalid::Code;

    fn input(email: &str) -> ContactInput {
        ContactInput {
            email: Some(email.to_owned()),
            ..ContactInput::default()
        }
    }

    #[test]
    fn a_draft_needs_an_email() {
        assert_eq!(
            ContactInput::default().into_draft().unwrap_err().code,
            Code::Missing
        );
        assert_eq!(
            input("not-an-email").into_draft().unwrap_err().attribute,
            "email"
        );
        let draft = input("A@B.co").into_draft().unwrap();
        assert_eq!(draft.email.as_str(), "a@b.co");
    }

    #[test]
    fn a_patch_refuses_over_long_names() {
        let patch = ContactInput {
            first_name: Some("x".repeat(NAME_MAX + 1)),
            ..ContactInput::default()
        };
        assert_eq!(patch.into_patch().unwrap_err().attribute, "firstName");
    }

    #[test]
    fn a_patch_keeps_absent_attributes_absent() {
        let patch = ContactInput::default().into_patch().unwrap();
        assert_eq!(patch.email, None);
        assert_eq!(patch.first_name, None);
    }
}
