//! What enters a contact into an automation: a behavior (one timeline row that meets a
//! condition), a tag or list change, a segment entered or left, a score reaching a threshold,
//! or a date field's day. Entry through the API, link actions and other automations needs no
//! trigger.

use chrono::NaiveTime;

use super::json::At;
use super::step::condition;
use crate::ids::{ListId, ScoreModelId, SegmentId, TagId};
use crate::segment::{Definition as Condition, DefinitionError};
use crate::text::NAME_MAX;
use crate::webhook::event::WebhookEvent;

/// The kind of change of a score that rises to a threshold.
pub const SCORE_REACHED: &str = "score_reached";

/// The farthest a date trigger fires before or after the date, in days.
pub const OFFSET_DAYS_MAX: i64 = 365;

/// A trigger.
#[derive(Debug, Clone, PartialEq)]
pub enum Trigger {
    /// A timeline row that meets a condition on one behavior: a page visited, an event
    /// recorded (with its data), a link clicked, an email opened, a form submitted, ...
    Behavior(Condition),
    /// A tag put on the contact.
    TagAdded(TagId),
    /// A tag taken off the contact.
    TagRemoved(TagId),
    /// The contact subscribed to a list.
    Subscribed(ListId),
    /// The contact unsubscribed from a list.
    Unsubscribed(ListId),
    /// The contact entered a segment.
    EnteredSegment(SegmentId),
    /// The contact left a segment.
    LeftSegment(SegmentId),
    /// The contact's score in a model reached a number of points (from below).
    ScoreReached {
        /// The model.
        model: ScoreModelId,
        /// The threshold.
        points: i64,
    },
    /// A date field's day (birthday style), shifted by days, at a time of day (UTC).
    DateField {
        /// The custom field's personalization tag.
        field: String,
        /// Days after the date (before it when negative).
        offset_days: i64,
        /// The time of day.
        time: NaiveTime,
        /// Whether it fires on the date's anniversary every year, or once.
        every_year: bool,
    },
}

/// The keys a trigger may hold, one per trigger.
pub const TRIGGERS: [&str; 9] = [
    "behavior",
    "tagAdded",
    "tagRemoved",
    "subscribed",
    "unsubscribed",
    "enteredSegment",
    "leftSegment",
    "scoreReached",
    "dateField",
];

impl Trigger {
    /// The change that enters a contact, when it is one: its kind (the webhook event name of
    /// the change, or [`SCORE_REACHED`]) and the tag, list, segment or scoring model it is of.
    pub fn change(&self) -> Option<(&'static str, i64)> {
        Some(match self {
            Self::TagAdded(tag) => (WebhookEvent::CONTACT_TAG_ADDED.name(), tag.0),
            Self::TagRemoved(tag) => (WebhookEvent::CONTACT_TAG_REMOVED.name(), tag.0),
            Self::Subscribed(list) => (WebhookEvent::SUBSCRIBE.name(), list.0),
            Self::Unsubscribed(list) => (WebhookEvent::UNSUBSCRIBE.name(), list.0),
            Self::EnteredSegment(segment) => (WebhookEvent::SEGMENT_ENTERED.name(), segment.0),
            Self::LeftSegment(segment) => (WebhookEvent::SEGMENT_LEFT.name(), segment.0),
            Self::ScoreReached { model, .. } => (SCORE_REACHED, model.0),
            _ => return None,
        })
    }
}

/// Reads one trigger of `triggers`.
pub(super) fn read_trigger(at: &At<'_>) -> Result<Trigger, DefinitionError> {
    let object = at.object_of(&TRIGGERS)?;
    let [key] = object.keys().map(String::as_str).collect::<Vec<_>>()[..] else {
        return Err(at.refused(format!(
            "must hold exactly one trigger (one of: {})",
            TRIGGERS.join(", ")
        )));
    };
    let value = at.field(key)?;
    Ok(match key {
        "behavior" => {
            let behavior = condition(&value)?;
            if !behavior.is_one_behavior() {
                return Err(value.refused(
                    "must be one behavior (visited, event, opened, clicked, submittedForm, ...) \
                     without a count or a window",
                ));
            }
            Trigger::Behavior(behavior)
        }
        "tagAdded" => Trigger::TagAdded(TagId(value.id()?)),
        "tagRemoved" => Trigger::TagRemoved(TagId(value.id()?)),
        "subscribed" => Trigger::Subscribed(ListId(value.id()?)),
        "unsubscribed" => Trigger::Unsubscribed(ListId(value.id()?)),
        "enteredSegment" => Trigger::EnteredSegment(SegmentId(value.id()?)),
        "leftSegment" => Trigger::LeftSegment(SegmentId(value.id()?)),
        "scoreReached" => {
            value.object_of(&["score", "points"])?;
            Trigger::ScoreReached {
                model: ScoreModelId(value.field("score")?.id()?),
                points: value
                    .field("points")?
                    .integer(i64::from(i32::MIN), i64::from(i32::MAX))?,
            }
        }
        _ => {
            value.object_of(&["field", "offsetDays", "time", "everyYear"])?;
            let field = value.field("field")?.text(NAME_MAX)?.to_owned();
            let offset_days = match value.get("offsetDays")? {
                Some(days) => days.integer(-OFFSET_DAYS_MAX, OFFSET_DAYS_MAX)?,
                None => 0,
            };
            let time = match value.get("time")? {
                Some(time) => NaiveTime::parse_from_str(time.text(8)?, "%H:%M")
                    .map_err(|_| time.refused("must be a time of day as HH:MM (UTC)"))?,
                None => NaiveTime::MIN,
            };
            let every_year = match value.get("everyYear")? {
                Some(flag) => flag
                    .value
                    .as_bool()
                    .ok_or_else(|| flag.refused("must be true or false"))?,
                None => true,
            };
            Trigger::DateField {
                field,
                offset_days,
                time,
                every_year,
            }
        }
    })
}
