//! Events: everything a contact (or a still anonymous visitor) did, on one timeline. Page visits
//! and custom events now; clicks, opens, unsubscribes and form submissions.

use crate::device::Device;
use crate::ids::{AccountId, CampaignId, ContactId, EventId, FormId};
use crate::invalid::Invalid;
use crate::text::within;
use crate::time::Timestamp;
use crate::visit::PageUrl;

/// The name AC gives page visits in tracking logs.
pub const PAGE_VISIT_NAME: &str = "__pagevisit";
/// The name of a form submission's event.
pub const FORM_SUBMIT_NAME: &str = "__form_submit";
/// The name of a score change's row.
pub const SCORE_CHANGE_NAME: &str = "__score";
/// The timeline name of a step of a contact's automation history (entered, completed, ended,
/// goal reached); its data says which.
pub const AUTOMATION_NAME: &str = "__automation";
/// The longest event name (AC's limit).
pub const EVENT_NAME_MAX: usize = 32;
/// The longest event data.
pub const EVENT_DATA_MAX: usize = 16 * 1024;
/// The longest idempotency key (`messageId`).
pub const MESSAGE_ID_MAX: usize = 128;

/// What kind of thing happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// A page view recorded by the snippet or `/v1/page`.
    PageVisit,
    /// A custom event sent by an app (`POST /event`, `/v1/track`).
    Custom,
    /// A click on a tracked link of an email.
    Click,
    /// An email opened (its pixel loaded).
    Open,
    /// An unsubscribe from a list through an email's link.
    Unsubscribe,
    /// A form submitted.
    FormSubmit,
    /// A campaign's message refused for good by the recipient's mail server.
    Bounce,
    /// The contact's scores changed (its data lists the changes).
    ScoreChange,
    /// The contact's run through an automation entered, completed, ended or reached a goal
    /// (its data says which).
    Automation,
}

impl EventKind {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PageVisit => "page_visit",
            Self::Custom => "event",
            Self::Click => "click",
            Self::Open => "open",
            Self::Unsubscribe => "unsubscribe",
            Self::FormSubmit => "form_submit",
            Self::Bounce => "bounce",
            Self::ScoreChange => "score",
            Self::Automation => "automation",
        }
    }

    /// Reads a stored spelling.
    pub fn parse(raw: &str) -> Self {
        match raw {
            "page_visit" => Self::PageVisit,
            "click" => Self::Click,
            "open" => Self::Open,
            "unsubscribe" => Self::Unsubscribe,
            "form_submit" => Self::FormSubmit,
            "bounce" => Self::Bounce,
            "score" => Self::ScoreChange,
            "automation" => Self::Automation,
            _ => Self::Custom,
        }
    }
}

/// Checks an event name: 1 to 32 characters.
pub fn parse_event_name(raw: &str) -> Result<String, Invalid> {
    let name = raw.trim();
    if name.is_empty() {
        return Err(Invalid::missing("event"));
    }
    within("event", name, EVENT_NAME_MAX)?;
    Ok(name.to_owned())
}

/// Checks event data: at most [`EVENT_DATA_MAX`] characters.
pub fn parse_event_data(raw: &str) -> Result<String, Invalid> {
    within("eventdata", raw, EVENT_DATA_MAX)?;
    Ok(raw.to_owned())
}

/// Checks an idempotency key: 1 to 128 characters.
pub fn parse_message_id(raw: &str) -> Result<String, Invalid> {
    let id = raw.trim();
    if id.is_empty() {
        return Err(Invalid::missing("messageId"));
    }
    within("messageId", id, MESSAGE_ID_MAX)?;
    Ok(id.to_owned())
}

/// An event to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    /// The account.
    pub account: AccountId,
    /// Page visit or custom event.
    pub kind: EventKind,
    /// The event's name ([`PAGE_VISIT_NAME`] for page visits).
    pub name: String,
    /// The visitor (the snippet's first-party id, or `anonymousId`).
    pub visitor: Option<String>,
    /// The contact, when the event itself says who it is (an email, a token, a `userId`); the
    /// visitor then belongs to that contact from now on, and so do its earlier anonymous events.
    pub contact: Option<ContactId>,
    /// The page, for page visits.
    pub page: Option<PageUrl>,
    /// The whitelisted domain the page belongs to, for page visits.
    pub site: Option<String>,
    /// The referrer.
    pub referrer: Option<PageUrl>,
    /// The page title.
    pub title: Option<String>,
    /// The device.
    pub device: Option<Device>,
    /// Event data (AC's `eventdata`, or JSON properties).
    pub data: Option<String>,
    /// An idempotency key: a second event with the same key is not recorded again.
    pub message_id: Option<String>,
    /// For a click on (or open of) a campaign's link: the hit, counted in the campaign's link
    /// statistics in the same commit as the event.
    pub link: Option<LinkHit>,
    /// The campaign or form the event came through, when no link hit names it (a bounce, a
    /// form submission).
    pub source: Option<EventSource>,
    /// When it happened.
    pub occurred_at: Timestamp,
}

/// What an event came through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventSource {
    /// A campaign's email.
    Campaign(CampaignId),
    /// A form.
    Form(FormId),
}

/// A click on a campaign's link, or an open, as its link statistics count it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LinkHit {
    /// The campaign.
    pub campaign: CampaignId,
    /// The link's position in the message, or the open pixel's or trap link's target.
    pub position: i64,
    /// Why the scanner rules take it for a machine's ([`crate::scanner::Reason::as_str`]).
    pub machine: Option<&'static str>,
    /// Set when this hit showed that the recipient's hits on the campaign since then were a
    /// machine's too (every link clicked at once): they are counted as such from now on.
    pub machine_since: Option<Timestamp>,
}

impl NewEvent {
    /// An event a known contact caused away from any page (a custom event, a click, an open, a
    /// form submission): no visitor, page or device until the caller sets them.
    pub fn of_contact(
        account: AccountId,
        kind: EventKind,
        name: impl Into<String>,
        contact: ContactId,
        data: Option<String>,
        occurred_at: Timestamp,
    ) -> Self {
        Self {
            account,
            kind,
            name: name.into(),
            visitor: None,
            contact: Some(contact),
            page: None,
            site: None,
            referrer: None,
            title: None,
            device: None,
            data,
            message_id: None,
            link: None,
            source: None,
            occurred_at,
        }
    }
}

/// A recorded event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackedEvent {
    /// Its id.
    pub id: EventId,
    /// Page visit or custom event.
    pub kind: EventKind,
    /// Its name.
    pub name: String,
    /// The contact it belongs to, once known.
    pub contact: Option<ContactId>,
    /// The visitor.
    pub visitor: Option<String>,
    /// The page URL.
    pub url: Option<String>,
    /// The page's domain.
    pub domain: Option<String>,
    /// The page's path.
    pub path: Option<String>,
    /// The referrer URL.
    pub referrer: Option<String>,
    /// The referrer's domain.
    pub referrer_domain: Option<String>,
    /// The page title.
    pub title: Option<String>,
    /// The device.
    pub device: Option<Device>,
    /// Event data.
    pub data: Option<String>,
    /// Whether this page view started a site visit.
    pub starts_visit: bool,
    /// When it happened.
    pub occurred_at: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::invalid::Code;

    #[test]
    fn names_data_and_keys_are_bounded() {
        assert_eq!(parse_event_name(" signup ").unwrap(), "signup");
        assert_eq!(parse_event_name("").unwrap_err().code, Code::Missing);
        assert_eq!(
            parse_event_name(&"x".repeat(33)).unwrap_err().code,
            Code::TooLong
        );
        assert!(parse_event_data(&"x".repeat(EVENT_DATA_MAX)).is_ok());
        assert!(parse_event_data(&"x".repeat(EVENT_DATA_MAX + 1)).is_err());
        assert!(parse_message_id(&"m".repeat(129)).is_err());
        for kind in [
            EventKind::PageVisit,
            EventKind::Custom,
            EventKind::Click,
            EventKind::Open,
            EventKind::Unsubscribe,
            EventKind::FormSubmit,
            EventKind::Bounce,
            EventKind::ScoreChange,
            EventKind::Automation,
        ] {
            assert_eq!(EventKind::parse(kind.as_str()), kind);
        }
    }
}
