//! What a webhook subscription listens to: ActiveCampaign's event types (all of them accepted,
//! so that a client written for AC can subscribe unchanged; Tracklane fires those it produces)
//! and Tracklane's own, and who caused a change (AC's `sources`).

use crate::invalid::Invalid;

/// An event type a subscription can name: one of a closed set ([`WebhookEvent::ALL`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WebhookEvent(&'static str);

impl WebhookEvent {
    /// A contact subscribed to a list.
    pub const SUBSCRIBE: Self = Self("subscribe");
    /// A contact unsubscribed from a list.
    pub const UNSUBSCRIBE: Self = Self("unsubscribe");
    /// A contact's details changed.
    pub const UPDATE: Self = Self("update");
    /// A campaign was sent.
    pub const SENT: Self = Self("sent");
    /// A contact opened a campaign.
    pub const OPEN: Self = Self("open");
    /// A contact clicked a campaign's link.
    pub const CLICK: Self = Self("click");
    /// A campaign's message to a contact bounced.
    pub const BOUNCE: Self = Self("bounce");
    /// A tag was added to a contact.
    pub const CONTACT_TAG_ADDED: Self = Self("contact_tag_added");
    /// A tag was removed from a contact.
    pub const CONTACT_TAG_REMOVED: Self = Self("contact_tag_removed");
    /// A list was created.
    pub const LIST_ADD: Self = Self("list_add");
    /// Tracklane's: a contact viewed a page of a tracked site.
    pub const SITE_VISIT: Self = Self("site_visit");
    /// Tracklane's: an event was recorded for a contact.
    pub const EVENT_RECORDED: Self = Self("event_recorded");
    /// Tracklane's: a form was submitted.
    pub const FORM_SUBMIT: Self = Self("form_submit");
    /// Tracklane's: a contact entered a segment.
    pub const SEGMENT_ENTERED: Self = Self("segment_entered");
    /// Tracklane's: a contact left a segment.
    pub const SEGMENT_LEFT: Self = Self("segment_left");
    /// Tracklane's: an automation's `webhook` step posted a contact (to the subscription it
    /// names, whatever the subscription's events).
    pub const AUTOMATION: Self = Self("automation");

    /// Every event type a subscription may name, in the order `GET /webhook/events` lists them.
    pub const ALL: &'static [Self] = &[
        Self::SUBSCRIBE,
        Self::UNSUBSCRIBE,
        Self::UPDATE,
        Self::SENT,
        Self::OPEN,
        Self::CLICK,
        Self::BOUNCE,
        Self::CONTACT_TAG_ADDED,
        Self::CONTACT_TAG_REMOVED,
        Self::LIST_ADD,
        Self::SITE_VISIT,
        Self::EVENT_RECORDED,
        Self::FORM_SUBMIT,
        Self::SEGMENT_ENTERED,
        Self::SEGMENT_LEFT,
        Self::AUTOMATION,
        Self("reply"),
        Self("forward"),
        Self("share"),
        Self("subscriber_note"),
        Self("contact_task_add"),
        Self("sms_sent"),
        Self("sms_reply"),
        Self("sms_unsub"),
        Self("deal_add"),
        Self("deal_update"),
        Self("deal_note_add"),
        Self("deal_pipeline_add"),
        Self("deal_stage_add"),
        Self("deal_task_add"),
        Self("deal_tasktype_add"),
        Self("deal_task_complete"),
        Self("account_add"),
        Self("account_update"),
        Self("account_contact_add"),
        Self("account_contact_update"),
    ];

    /// How many of [`WebhookEvent::ALL`], from the first, Tracklane fires; the rest are AC's
    /// for what Tracklane does not have (replies, SMS, deals, accounts): accepted, never sent.
    const FIRED: usize = 16;

    /// The event type of this name.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        Self::ALL
            .iter()
            .find(|event| event.0 == raw.trim())
            .copied()
            .ok_or_else(|| {
                Invalid::bad_value(
                    "events",
                    format!("'{raw}' is not an event type (GET /api/3/webhook/events lists them)"),
                )
            })
    }

    /// Its name.
    pub fn name(self) -> &'static str {
        self.0
    }

    /// Whether Tracklane ever fires it.
    pub fn is_fired(self) -> bool {
        Self::ALL[..Self::FIRED].contains(&self)
    }
}

/// Who caused a change, as AC's `sources` name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum WebhookSource {
    /// The contact (a form, a click, an unsubscribe link, site and event tracking).
    Public,
    /// A person using the application.
    Admin,
    /// An API call.
    Api,
    /// Tracklane itself (an automation, a segment, a bounce).
    System,
}

impl WebhookSource {
    /// Every source.
    pub const ALL: [Self; 4] = [Self::Public, Self::Admin, Self::Api, Self::System];

    /// The source of this name.
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        Self::ALL
            .into_iter()
            .find(|source| source.name() == raw.trim())
            .ok_or_else(|| {
                Invalid::bad_value(
                    "sources",
                    format!("'{raw}' is not a source (public, admin, api or system)"),
                )
            })
    }

    /// Its name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::Admin => "admin",
            Self::Api => "api",
            Self::System => "system",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_event_parses_back_and_only_tracklanes_are_fired() {
        for event in WebhookEvent::ALL {
            assert_eq!(WebhookEvent::parse(event.name()).unwrap(), *event);
        }
        assert!(WebhookEvent::CLICK.is_fired());
        assert!(WebhookEvent::SEGMENT_LEFT.is_fired());
        assert!(!WebhookEvent::parse("deal_add").unwrap().is_fired());
        assert!(WebhookEvent::parse("nothing").is_err());
        assert!(WebhookEvent::AUTOMATION.is_fired());
        assert_eq!(WebhookEvent::ALL.len(), 36);
    }

    #[test]
    fn sources_parse_by_name() {
        assert_eq!(WebhookSource::parse("api").unwrap(), WebhookSource::Api);
        assert!(WebhookSource::parse("robot").is_err());
    }
}
