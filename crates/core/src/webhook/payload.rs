//! A delivery's body as ActiveCampaign sends it: form-encoded (`application/x-www-form-urlencoded`)
//! with PHP-style bracketed keys, one change per request:
//!
//! ```text
//! type=contact_tag_added&date_time=2026-12-02T16:00:00+00:00&initiated_from=api
//! &initiated_by=api&list=0&tag=customer&contact[id]=7&contact[email]=a@example.com
//! &contact[first_name]=Ann&contact[last_name]=Lee&contact[phone]=&contact[tags]=customer, vip
//! &contact[fields][company]=Acme
//! ```
//!
//! Or, for a subscription that asks for JSON (Tracklane's), the same keys nested and the same
//! string values: `{"type": "contact_tag_added", ..., "contact": {"id": "7", ...,
//! "fields": {"company": "Acme"}}}`.

use serde_json::{Map, Value};
use url::form_urlencoded::Serializer;

use super::event::{WebhookEvent, WebhookSource};
use crate::ids::{ContactId, ListId};
use crate::invalid::Invalid;
use crate::time::Timestamp;

/// How a subscription's bodies are encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PayloadFormat {
    /// Form-encoded with bracketed keys, as ActiveCampaign sends them.
    #[default]
    Form,
    /// The same keys nested in a JSON object (Tracklane's).
    Json,
}

impl PayloadFormat {
    /// Every format, in the order of their names.
    pub const ALL: [Self; 2] = [Self::Form, Self::Json];

    /// The stored and API name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Form => "form",
            Self::Json => "json",
        }
    }

    /// The format named `name`.
    pub fn parse(name: &str) -> Result<Self, Invalid> {
        Self::ALL
            .into_iter()
            .find(|format| format.name() == name)
            .ok_or_else(|| Invalid::bad_value("format", "format must be form or json"))
    }

    /// The bodies' media type.
    pub fn media_type(self) -> &'static str {
        match self {
            Self::Form => "application/x-www-form-urlencoded",
            Self::Json => "application/json",
        }
    }
}

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
    /// Its custom fields' values, by the field's personalization tag in lower case.
    pub fields: Vec<(String, String)>,
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
    /// The body in `format`.
    pub fn body(&self, format: PayloadFormat) -> String {
        match format {
            PayloadFormat::Form => self.form(),
            PayloadFormat::Json => self.json().to_string(),
        }
    }

    /// The form-encoded body.
    pub fn form(&self) -> String {
        let mut form = Serializer::new(String::new());
        for (key, value) in self.pairs() {
            form.append_pair(&key, &value);
        }
        form.finish()
    }

    /// The JSON body: each bracketed key a path of nested objects.
    pub fn json(&self) -> Value {
        let mut root = Map::new();
        for (key, value) in self.pairs() {
            let mut path = key.split(['[', ']']).filter(|part| !part.is_empty());
            let mut last = path.next().unwrap_or_default().to_owned();
            let mut object = &mut root;
            for part in path {
                let entry = object
                    .entry(std::mem::replace(&mut last, part.to_owned()))
                    .or_insert_with(|| Value::Object(Map::new()));
                if !entry.is_object() {
                    *entry = Value::Object(Map::new());
                }
                object = entry.as_object_mut().expect("an object, made so above");
            }
            object.insert(last, Value::String(value));
        }
        Value::Object(root)
    }

    /// The body's keys and values, in order, with AC's bracketed keys.
    fn pairs(&self) -> Vec<(String, String)> {
        let mut pairs = vec![
            ("type".to_owned(), self.event.name().to_owned()),
            ("date_time".to_owned(), self.at.to_api()),
            ("initiated_from".to_owned(), self.source.name().to_owned()),
            ("initiated_by".to_owned(), self.source.name().to_owned()),
            (
                "list".to_owned(),
                self.list.map_or(0, |list| list.0).to_string(),
            ),
        ];
        pairs.extend(self.extra.iter().cloned());
        if let Some(contact) = &self.contact {
            for (key, value) in [
                ("id", contact.id.to_string()),
                ("email", contact.email.clone()),
                ("first_name", contact.first_name.clone()),
                ("last_name", contact.last_name.clone()),
                ("phone", contact.phone.clone()),
                ("tags", contact.tags.join(", ")),
            ] {
                pairs.push((format!("contact[{key}]"), value));
            }
            for (key, value) in &contact.fields {
                pairs.push((format!("contact[fields][{key}]"), value.clone()));
            }
        }
        pairs
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
                fields: vec![("company".to_owned(), "Acme".to_owned())],
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
        assert_eq!(get("contact[fields][company]"), Some("Acme"));
        assert!(body.contains("contact%5Bemail%5D=a%2Bb%40example.com"));

        let json = change.json();
        assert_eq!(json["type"], "contact_tag_added");
        assert_eq!(json["list"], "0");
        assert_eq!(json["tag"], "customer");
        assert_eq!(json["contact"]["id"], "7");
        assert_eq!(json["contact"]["email"], "a+b@example.com");
        assert_eq!(json["contact"]["fields"]["company"], "Acme");
        let as_json: Value = serde_json::from_str(&change.body(PayloadFormat::Json)).unwrap();
        assert_eq!(as_json, json);
    }

    #[test]
    fn bracketed_keys_nest_and_a_later_key_wins_over_a_plain_value() {
        let change = PayloadChange {
            event: WebhookEvent::CLICK,
            at: Timestamp(0),
            source: WebhookSource::Public,
            list: Some(ListId(3)),
            contact: None,
            extra: vec![
                ("campaign[id]".to_owned(), "4".to_owned()),
                ("campaign[message][subject]".to_owned(), "Hi".to_owned()),
                ("link[url]".to_owned(), "https://example.com/".to_owned()),
                ("link".to_owned(), "flat".to_owned()),
                ("link[id]".to_owned(), "9".to_owned()),
            ],
        };
        let json = change.json();
        assert_eq!(json["list"], "3");
        assert_eq!(json["campaign"]["id"], "4");
        assert_eq!(json["campaign"]["message"]["subject"], "Hi");
        assert_eq!(json["link"]["id"], "9");
        assert!(json.get("contact").is_none());
    }
}
