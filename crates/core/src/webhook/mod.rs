//! Webhook subscriptions (ActiveCampaign's `/webhooks`): a name, a receiver URL, the event types
//! it hears of, the sources of change it hears of, and optionally one list (AC's `listid`: the
//! list events of that list only). Each has a signing secret (Standard Webhooks' `whsec_`
//! form), shown once when made or rotated.
//!
//! - [`event`]: the event types and sources.
//! - [`payload`]: a delivery's body, as ActiveCampaign sends it.
//! - [`receiver`]: receiver URLs and the addresses deliveries may reach.
//! - [`retry`]: when a failed delivery is tried again, and for how long.

pub mod event;
pub mod payload;
pub mod receiver;
pub mod retry;

use base64::Engine as _;
use secrecy::SecretString;

use crate::ids::{ListId, WebhookId};
use crate::invalid::Invalid;
use crate::text::{optional, required, NAME_MAX};
use crate::time::Timestamp;
use event::{WebhookEvent, WebhookSource};
use payload::PayloadFormat;
use receiver::ReceiverUrl;

/// A subscription as given by a caller, before validation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WebhookInput {
    /// The name.
    pub name: Option<String>,
    /// The receiver URL.
    pub url: Option<String>,
    /// The event types' names.
    pub events: Option<Vec<String>>,
    /// The sources' names.
    pub sources: Option<Vec<String>>,
    /// The list (0 or absent: every list).
    pub list: Option<i64>,
    /// Whether it is disabled (Tracklane's: `false` enables one its receiver's 410 disabled).
    pub disabled: Option<bool>,
    /// How its bodies are encoded: `form` (AC's, the default) or `json` (Tracklane's).
    pub format: Option<String>,
}

/// Validated attributes of a subscription; for a patch, only present attributes change.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookPatch {
    /// The name.
    pub name: Option<String>,
    /// The receiver.
    pub url: Option<ReceiverUrl>,
    /// The event types, without repeats.
    pub events: Option<Vec<WebhookEvent>>,
    /// The sources, without repeats.
    pub sources: Option<Vec<WebhookSource>>,
    /// The list: `Some(None)` for every list.
    pub list: Option<Option<ListId>>,
    /// Whether it is disabled.
    pub disabled: Option<bool>,
    /// How its bodies are encoded.
    pub format: Option<PayloadFormat>,
}

/// A validated new subscription.
#[derive(Debug, Clone, PartialEq)]
pub struct WebhookDraft {
    /// The name.
    pub name: String,
    /// The receiver.
    pub url: ReceiverUrl,
    /// The event types, at least one.
    pub events: Vec<WebhookEvent>,
    /// The sources, at least one.
    pub sources: Vec<WebhookSource>,
    /// The list, when it listens to one list's events only.
    pub list: Option<ListId>,
    /// Whether it starts disabled.
    pub disabled: bool,
    /// How its bodies are encoded.
    pub format: PayloadFormat,
}

impl WebhookInput {
    /// Validates a new subscription: name, url, events and sources are required.
    pub fn into_draft(self) -> Result<WebhookDraft, Invalid> {
        let name = required("name", self.name.as_deref(), NAME_MAX)?;
        let patch = self.into_patch()?;
        Ok(WebhookDraft {
            name,
            url: patch.url.ok_or_else(|| Invalid::missing("url"))?,
            events: patch.events.ok_or_else(|| Invalid::missing("events"))?,
            sources: patch.sources.ok_or_else(|| Invalid::missing("sources"))?,
            list: patch.list.flatten(),
            disabled: patch.disabled.unwrap_or(false),
            format: patch.format.unwrap_or_default(),
        })
    }

    /// Validates a partial update.
    pub fn into_patch(self) -> Result<WebhookPatch, Invalid> {
        let name = optional("name", self.name.as_deref(), NAME_MAX)?;
        if name.as_deref() == Some("") {
            return Err(Invalid::missing("name"));
        }
        let url = self.url.as_deref().map(ReceiverUrl::parse).transpose()?;
        let events = self
            .events
            .map(|names| some_of("events", &names, WebhookEvent::parse))
            .transpose()?;
        let sources = self
            .sources
            .map(|names| some_of("sources", &names, WebhookSource::parse))
            .transpose()?;
        let list = match self.list {
            None => None,
            Some(0) => Some(None),
            Some(id) if id > 0 => Some(Some(ListId(id))),
            Some(_) => {
                return Err(Invalid::bad_value(
                    "listid",
                    "listid must be a list's id or 0",
                ))
            }
        };
        Ok(WebhookPatch {
            name,
            url,
            events,
            sources,
            list,
            disabled: self.disabled,
            format: self
                .format
                .as_deref()
                .map(PayloadFormat::parse)
                .transpose()?,
        })
    }
}

/// The distinct values of `names`, in order, at least one.
fn some_of<T: PartialEq>(
    attribute: &'static str,
    names: &[String],
    parse: impl Fn(&str) -> Result<T, Invalid>,
) -> Result<Vec<T>, Invalid> {
    let mut values = Vec::new();
    for name in names {
        let value = parse(name)?;
        if !values.contains(&value) {
            values.push(value);
        }
    }
    if values.is_empty() {
        return Err(Invalid::missing(attribute));
    }
    Ok(values)
}

/// A stored subscription.
#[derive(Debug, Clone, PartialEq)]
pub struct Webhook {
    /// Its id.
    pub id: WebhookId,
    /// Its name.
    pub name: String,
    /// Its receiver URL.
    pub url: String,
    /// The event types it hears of.
    pub events: Vec<WebhookEvent>,
    /// The sources it hears of.
    pub sources: Vec<WebhookSource>,
    /// The list whose events only it hears of, if any.
    pub list: Option<ListId>,
    /// When its receiver answered 410 Gone and it stopped, if it did.
    pub disabled_at: Option<Timestamp>,
    /// How its bodies are encoded.
    pub format: PayloadFormat,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

/// A fresh signing secret in Standard Webhooks' form: `whsec_` and 32 random bytes in
/// base64. Fails only when the operating system has no randomness to give.
pub fn new_secret() -> Result<SecretString, getrandom::Error> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes)?;
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    Ok(SecretString::from(format!("whsec_{encoded}")))
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    fn input() -> WebhookInput {
        WebhookInput {
            name: Some("crm".to_owned()),
            url: Some("https://hooks.example.com/in".to_owned()),
            events: Some(vec![
                "click".to_owned(),
                "open".to_owned(),
                "click".to_owned(),
            ]),
            sources: Some(vec!["public".to_owned()]),
            list: Some(0),
            disabled: None,
            format: None,
        }
    }

    #[test]
    fn a_draft_needs_a_name_a_url_events_and_sources() {
        let draft = input().into_draft().unwrap();
        assert_eq!(draft.events, vec![WebhookEvent::CLICK, WebhookEvent::OPEN]);
        assert_eq!(draft.list, None);
        for missing in [
            WebhookInput {
                name: None,
                ..input()
            },
            WebhookInput {
                url: None,
                ..input()
            },
            WebhookInput {
                events: Some(Vec::new()),
                ..input()
            },
            WebhookInput {
                sources: None,
                ..input()
            },
            WebhookInput {
                list: Some(-1),
                ..input()
            },
            WebhookInput {
                events: Some(vec!["nope".to_owned()]),
                ..input()
            },
            WebhookInput {
                format: Some("xml".to_owned()),
                ..input()
            },
        ] {
            assert!(missing.into_draft().is_err());
        }
    }

    #[test]
    fn secrets_are_fresh_and_hidden_from_debug() {
        let first = new_secret().unwrap();
        let second = new_secret().unwrap();
        assert!(first.expose_secret().starts_with("whsec_"));
        assert_ne!(first.expose_secret(), second.expose_secret());
        assert!(!format!("{first:?}").contains(first.expose_secret()));
    }
}
