//! Typed identifiers. Every stored row has a 64-bit id; the type says what it names so that a tag
//! id is never passed where a contact id is expected.

use std::fmt;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize,
            serde::Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// An account: the tenant every other row belongs to.
    AccountId
);
id_type!(
    /// A contact (AC calls it a subscriber).
    ContactId
);
id_type!(
    /// A tag that contacts may carry.
    TagId
);
id_type!(
    /// The row tying one tag to one contact.
    ContactTagId
);
id_type!(
    /// A mailing list.
    ListId
);
id_type!(
    /// The row holding one contact's status on one list.
    ContactListId
);
id_type!(
    /// A custom contact field.
    FieldId
);
id_type!(
    /// One contact's value of one custom field.
    FieldValueId
);
id_type!(
    /// The row relating a custom field to a list (`relid` 0 means all lists).
    FieldRelId
);
id_type!(
    /// One option of a dropdown, listbox, radio or checkbox field.
    FieldOptionId
);
id_type!(
    /// A recorded event: a page visit, a custom event, and later clicks and opens.
    EventId
);
id_type!(
    /// A whitelisted site domain.
    SiteDomainId
);
id_type!(
    /// An email message (subject, sender, HTML and text parts).
    MessageId
);
id_type!(
    /// A campaign: one message sent to one list.
    CampaignId
);
id_type!(
    /// A form that subscribes the people who submit it.
    FormId
);
id_type!(
    /// A link action: what a click on one campaign link does.
    LinkActionId
);
id_type!(
    /// A saved segment: a definition and its members, kept live.
    SegmentId
);
id_type!(
    /// A scoring model: rules that award points, and a score per contact (AC's "score").
    ScoreModelId
);
id_type!(
    /// One rule of a scoring model: a condition and the points it is worth.
    ScoreRuleId
);
id_type!(
    /// One award of points in the ledger.
    ScoreAwardId
);
id_type!(
    /// A webhook subscription: a receiver URL and the event types it hears of.
    WebhookId
);
id_type!(
    /// One change delivered to one webhook subscription.
    WebhookDeliveryId
);
id_type!(
    /// An automation: a workflow contacts enter and go through step by step.
    AutomationId
);
id_type!(
    /// A contact's run through an automation (AC's contactAutomation, a "SubscriberSeries").
    AutomationRunId
);
id_type!(
    /// One of an account's named keys (an API key or an event key).
    KeyId
);
