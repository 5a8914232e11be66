//! A delivery's body as ActiveCampaign sends it: form-encoded (`application/x-www-form-urlencoded`)
//! with PHP-style bracketed keys, one change per request:
//!
//! ```text
//! type=contact_tag_added&date_time=2026-12-02T16:00:00+00:00&initiated_from=api
//! &initiated_by=api&list=0&tag=customer&contact[id]=7&contact[email]=a@example.com
//! &contact[first_name]=Ann&contact[last_name]=Lee&contact[phone]=&contact[tags]=customer, vip
//! ```

use url::form_urlencoded::Serializer;

use super::event::{WebhookEvent, WebhookSource};
use crate::ids::{ContactId, ListId};
use crate::time::Timestamp;

/// The media type of form bodies.
pub const FORM: &str = "application/x-www-form-urlencoded";

/// What a payload says of its contact.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayloadContact {
    /// Its id.
    pub id: ContactId,
    /// Its email.
    pub email: String,
    /// Its first name.
    pub first_name: String,
    /// Its last name.
    pub last_name: String,
    /// Its phone.
    pub phone: String,
    /// The names of the tags it carries.
    pub tags: Vec<String>,
}

/// A change as its payload reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PayloadChange {
    /// Its type.
    pub event: WebhookEvent,
    /// When it happened.
    pub at: Timestamp,
    /// Who caused it.
    pub source: WebhookSource,
    /// The list it is of, if any.
    pub list: Option<ListId>,
    /// The contact it is about, if any (and if it still exists).
    pub contact: Option<PayloadContact>,
    /// What else it says, as `(key, value)` pairs with AC's keys (`tag`, `link[url]`).
    pub extra: Vec<(String, String)>,
}

impl PayloadChange {
    /// The form-encoded body.
    pub fn form(&self) -> String {
        let mut form = Serializer::new(String::new());
        form.append_pair("type", self.event.name())
            .append_pair("date_time", &self.at.to_api())
            .append_pair("initiated_from", self.source.name())
            .append_pair("initiated_by", self.source.name())
            .append_pair("list", &self.list.map_or(0, |list| list.0).to_string());
        for (key, value) in &self.extra {
            form.append_pair(key, value);
        }
        if let Some(contact) = &self.contact {
            form.append_pair("contact[id]", &contact.id.to_string())
                .append_pair("contact[email]", &contact.email)
                .append_pair("contact[first_name]", &contact.first_name)
                .append_pair("contact[last_name]", &contact.last_name)
                .append_pair("contact[phone]", &contact.phone)
                .append_pair("contact[tags]", &contact.tags.join(", "));
        }
        form.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tag_change_is_form_encoded_with_acs_keys() {
        let change = PayloadChange {
            event: WebhookEvent::CONTACT_TAG_ADDED,
            at: Timestamp(1_700_000_000_000_000),
            source: WebhookSource::Api,
            list: None,
            contact: Some(PayloadContact {
                id: ContactId(7),
                email: "a+b@example.com".to_owned(),
                first_name: "Ann".to_owned(),
                last_name: "Lee".to_owned(),
                phone: String::new(),
                tags: vec!["customer".to_owned(), "vip".to_owned()],
            }),
            extra: vec![("tag".to_owned(), "customer".to_owned())],
        };
        let body = change.form();
        let pairs: Vec<(String, String)> = url::form_urlencoded::parse(body.as_bytes())
            .into_owned()
            .collect();
        let get = |key: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v.as_str())
        };
        assert_eq!(get("type"), Some("contact_tag_added"));
        assert_eq!(get("date_time"), Some("2023-11-14T22:13:20+00:00"));
        assert_eq!(get("initiated_from"), Some("api"));
        assert_eq!(get("list"), Some("0"));
        assert_eq!(get("tag"), Some("customer"));
        assert_eq!(get("contact[id]"), Some("7"));
        assert_eq!(get("contact[email]"), Some("a+b@example.com"));
        assert_eq!(get("contact[tags]"), Some("customer, vip"));
        assert!(body.contains("contact%5Bemail%5D=a%2Bb%40example.com"));
    }
}
