//! The condition tree and its JSON form. Every node is an object with exactly one key: a group
//! (`all`, `any`, `not`) or a condition. The README's "Segments (definition format)" section
//! shows the whole shape with examples.

use serde::{Deserialize, Serialize};

use crate::device::Device;
use crate::ids::{CampaignId, FormId, ListId, ScoreModelId, TagId};
use crate::time::Timestamp;

/// One node of a definition: a group of nodes or one condition.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Condition {
    /// `{"all": [...]}`: every node matches (AND).
    All(Vec<Condition>),
    /// `{"any": [...]}`: at least one node matches (OR).
    Any(Vec<Condition>),
    /// `{"not": {...}}`: the node does not match. "Has not visited", "lacks tag" and "did not
    /// visit from a device" are written with it.
    Not(Box<Condition>),
    /// `{"field": {"name": "firstName", "value": {"equals": "Ann"}}}`: a standard or custom
    /// field's value.
    Field(FieldCondition),
    /// `{"hasTag": 7}`: the contact carries the tag.
    HasTag(TagId),
    /// `{"list": {"id": 3, "status": "subscribed"}}`: the contact's status on a list.
    List(ListCondition),
    /// `{"score": {"model": 2, "value": {"atLeast": 50}}}`: the contact's score in a scoring
    /// model (0 without any points).
    Score(ScoreCondition),
    /// `{"visited": {"url": {"contains": "/pricing"}, "count": {"atLeast": 3}}}`: page visits
    /// to a URL or a domain (any page when neither is given).
    Visited(PageCondition),
    /// `{"referredFrom": {"domain": {"equals": "google.com"}}}`: page visits whose referrer is
    /// that URL or domain.
    ReferredFrom(PageCondition),
    /// `{"visitedFrom": {"device": "mobile"}}`: page visits from that kind of device.
    VisitedFrom(DeviceCondition),
    /// `{"pageVisits": {"count": {"atLeast": 10}}}`: how many pages the contact viewed.
    PageVisits(TotalCondition),
    /// `{"siteVisits": {"count": {"atMost": 2}}}`: how many site visits (sessions: page views
    /// that started a visit) the contact made.
    SiteVisits(TotalCondition),
    /// `{"event": {"name": "signup", "data": {"contains": "pro"}}}`: custom events recorded.
    Event(EventCondition),
    /// `{"sent": {"campaign": 12}}`: campaign emails sent to the contact.
    Sent(EmailCondition),
    /// `{"opened": {}}`: opens of a campaign's email (any campaign when none is given).
    Opened(EmailCondition),
    /// `{"clicked": {"campaign": 12, "link": {"contains": "/pricing"}}}`: clicks on tracked
    /// links, of one campaign or any, of any link or one whose URL matches.
    Clicked(EmailCondition),
    /// `{"unsubscribed": {}}`: unsubscribes through a campaign's email.
    Unsubscribed(EmailCondition),
    /// `{"bounced": {"campaign": 12}}`: campaign emails that bounced.
    Bounced(EmailCondition),
    /// `{"submittedForm": {"form": 4}}`: form submissions (any form when none is given).
    SubmittedForm(FormCondition),
}

impl Condition {
    /// The node's JSON key (`all`, `visited`, `hasTag`, ...).
    pub fn key(&self) -> &'static str {
        match self {
            Self::All(_) => "all",
            Self::Any(_) => "any",
            Self::Not(_) => "not",
            Self::Field(_) => "field",
            Self::HasTag(_) => "hasTag",
            Self::List(_) => "list",
            Self::Score(_) => "score",
            Self::Visited(_) => "visited",
            Self::ReferredFrom(_) => "referredFrom",
            Self::VisitedFrom(_) => "visitedFrom",
            Self::PageVisits(_) => "pageVisits",
            Self::SiteVisits(_) => "siteVisits",
            Self::Event(_) => "event",
            Self::Sent(_) => "sent",
            Self::Opened(_) => "opened",
            Self::Clicked(_) => "clicked",
            Self::Unsubscribed(_) => "unsubscribed",
            Self::Bounced(_) => "bounced",
            Self::SubmittedForm(_) => "submittedForm",
        }
    }
}

/// A test on a field's value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FieldCondition {
    /// `email`, `firstName`, `lastName`, `phone`, `created`, or a custom field's
    /// personalization tag (`COMPANY`).
    pub name: String,
    /// What the value must be.
    pub value: FieldTest,
}

/// What a field's value must be. Text is compared literally and case-sensitively; an absent
/// custom field value is the empty text.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum FieldTest {
    /// The value is exactly this text.
    Equals(String),
    /// The value is anything but this text.
    NotEquals(String),
    /// The value holds this text.
    Contains(String),
    /// The value begins with this text.
    StartsWith(String),
    /// `"isEmpty"`: the value is empty.
    IsEmpty,
    /// `"isNotEmpty"`: the value is not empty.
    IsNotEmpty,
    /// The value is a number greater than this one.
    GreaterThan(f64),
    /// The value is a number less than this one.
    LessThan(f64),
    /// The value is a date before this instant.
    #[serde(with = "date")]
    Before(Timestamp),
    /// The value is a date after this instant.
    #[serde(with = "date")]
    After(Timestamp),
    /// The value is a date within this window (`{"days": 7}`: within the last 7 days, up to
    /// now).
    Within(Window),
}

/// A contact's status on a list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListCondition {
    /// The list.
    pub id: ListId,
    /// The status the contact must have on it.
    pub status: ListMembership,
}

/// The statuses a list condition can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ListMembership {
    /// Subscribed (active).
    Subscribed,
    /// Unsubscribed.
    Unsubscribed,
    /// Bounced.
    Bounced,
    /// Waiting for confirmation.
    Unconfirmed,
}

/// A contact's score in one scoring model compared with a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoreCondition {
    /// The scoring model.
    pub model: ScoreModelId,
    /// The comparison.
    pub value: Count,
}

/// How many matching rows there must be. Absent, it means `{"atLeast": 1}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Count {
    /// At least this many.
    AtLeast(i64),
    /// Exactly this many.
    Exactly(i64),
    /// At most this many (0 included: "never").
    AtMost(i64),
}

impl Count {
    /// Whether `n` satisfies the count.
    pub fn accepts(self, n: i64) -> bool {
        match self {
            Self::AtLeast(min) => n >= min,
            Self::Exactly(wanted) => n == wanted,
            Self::AtMost(max) => n <= max,
        }
    }

    /// The number compared with.
    pub fn number(self) -> i64 {
        match self {
            Self::AtLeast(n) | Self::Exactly(n) | Self::AtMost(n) => n,
        }
    }

    /// How many rows tell whether the count holds: "at least n" tells n rows from more
    /// (one at least); "exactly" and "at most" need one more.
    pub fn rows_needed(self) -> i64 {
        match self {
            Self::AtLeast(n) => n.max(1),
            Self::Exactly(n) | Self::AtMost(n) => n.max(0) + 1,
        }
    }
}

/// When the counted rows happened. Absent, every row counts whenever it happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Window {
    /// Within the last N days, up to now (both ends included).
    Days(i64),
    /// Within the last N hours, up to now (both ends included).
    Hours(i64),
    /// From one instant (included) until another (excluded).
    Between(Between),
}

/// Two instants, in the JSON as dates or times (`2024-05-01`, `2024-05-01 10:00:00`, RFC 3339).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Between {
    /// The first instant included.
    #[serde(with = "date")]
    pub from: Timestamp,
    /// The first instant no longer included.
    #[serde(with = "date")]
    pub until: Timestamp,
}

/// A text test on a URL, a domain, a link or event data: literal, case-sensitive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum TextMatch {
    /// The whole text is this.
    Equals(String),
    /// The text holds this.
    Contains(String),
}

/// Page visits to (or referred from) a URL or a domain.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageCondition {
    /// The page's (or referrer's) whole URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<TextMatch>,
    /// The page's (or referrer's) domain, lower case without `www.`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub domain: Option<TextMatch>,
    /// How many visits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<Count>,
    /// When.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within: Option<Window>,
}

/// Page visits from a kind of device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeviceCondition {
    /// `desktop`, `mobile` or `tablet`.
    pub device: Device,
    /// How many visits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<Count>,
    /// When.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within: Option<Window>,
}

/// A total of page views or site visits compared with a number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TotalCondition {
    /// The comparison.
    pub count: Count,
    /// When.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within: Option<Window>,
}

/// Custom events recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventCondition {
    /// The event's name.
    pub name: String,
    /// A test on the event's data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<TextMatch>,
    /// How many events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<Count>,
    /// When.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within: Option<Window>,
}

/// Email activity: sends, opens, clicks, unsubscribes or bounces.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailCondition {
    /// The campaign; any campaign when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub campaign: Option<CampaignId>,
    /// For clicks only: the clicked link's URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<TextMatch>,
    /// How many.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<Count>,
    /// When.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within: Option<Window>,
}

/// Form submissions.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FormCondition {
    /// The form; any form when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub form: Option<FormId>,
    /// How many submissions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<Count>,
    /// When.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within: Option<Window>,
}

/// Instants in the JSON: written as RFC 3339 in UTC (with microseconds only when there are
/// some), read in any form [`Timestamp::parse_api`] reads.
mod date {
    use chrono::SecondsFormat;
    use serde::{de::Error as _, ser::Error as _, Deserialize, Deserializer, Serializer};

    use crate::time::Timestamp;

    pub fn serialize<S: Serializer>(at: &Timestamp, serializer: S) -> Result<S::Ok, S::Error> {
        let at = at
            .to_datetime()
            .ok_or_else(|| S::Error::custom("a time out of range"))?;
        serializer.serialize_str(&at.to_rfc3339_opts(SecondsFormat::AutoSi, true))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Timestamp, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Timestamp::parse_api(&raw).ok_or_else(|| {
            D::Error::custom(format!(
                "'{raw}' is not a date (YYYY-MM-DD, YYYY-MM-DD HH:MM:SS or RFC 3339)"
            ))
        })
    }
}
