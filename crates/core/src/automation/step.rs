//! The steps of an automation: what each does, and where a contact goes after it.

use chrono::{NaiveTime, Weekday};

use super::json::At;
use crate::email::ContactEmail;
use crate::ids::{AutomationId, ListId, MessageId, ScoreModelId, TagId, WebhookId};
use crate::score::rule::{EXPIRY_DAYS_MAX, POINTS_MAX};
use crate::segment::{Definition as Condition, DefinitionError};
use crate::text::{NAME_MAX, TEXT_MAX};
use crate::time::Timestamp;

/// The longest id of a step, in characters.
pub const STEP_ID_MAX: usize = 64;
/// The most paths of an A/B split.
pub const SPLIT_PATHS_MAX: usize = 5;
/// The longest wait, in seconds (ten years).
pub const WAIT_SECONDS_MAX: i64 = 10 * 366 * 86_400;

/// A step: its stable id, what it does, and where the contact goes next (`T`: an index into
/// the definition's steps once read; none when the automation ends there).
#[derive(Debug, Clone, PartialEq)]
pub struct Step<T = usize> {
    /// Its id (ASCII letters, digits, `-`, `_`, `.`), stable across versions: contacts
    /// waiting at a step keep waiting there after an edit.
    pub id: String,
    /// What it does.
    pub action: Action<T>,
    /// The step after it (for branching steps, see their own targets); `None` completes the
    /// automation.
    pub next: Option<T>,
}

/// A step named by id in the document, with the pointer of the name, before it is resolved to
/// an index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    /// The step's id.
    pub id: String,
    /// Where the document names it.
    pub pointer: String,
}

/// What a step does; `T` names the steps it branches to.
#[derive(Debug, Clone, PartialEq)]
pub enum Action<T = usize> {
    /// Sends a message to the contact.
    SendEmail(MessageId),
    /// Sends a message to a fixed address, about the contact.
    Notify {
        /// Who gets it.
        to: ContactEmail,
        /// The message.
        message: MessageId,
    },
    /// Posts the contact to a webhook subscription's receiver, signed with its secret and
    /// retried as its deliveries are.
    Webhook(WebhookId),
    /// Puts a tag on the contact.
    AddTag(TagId),
    /// Takes a tag off the contact.
    RemoveTag(TagId),
    /// Subscribes the contact to a list.
    Subscribe(ListId),
    /// Unsubscribes the contact from a list.
    Unsubscribe(ListId),
    /// Sets a field of the contact (a standard one or a custom field's personalization tag).
    SetField {
        /// The field.
        field: String,
        /// Its new value.
        value: String,
    },
    /// Adds points to (or takes them from) the contact's score in a model, on its ledger.
    AdjustScore {
        /// The model.
        model: ScoreModelId,
        /// The points, either way.
        points: i64,
        /// After how many days they stop counting.
        expiry_days: Option<i64>,
    },
    /// Waits for a duration, in seconds.
    Wait(i64),
    /// Waits until an instant, or the next weekday and time.
    WaitUntil(Moment),
    /// Waits until the contact meets a condition, at most `timeout` seconds; after a timeout
    /// the contact goes to `timed_out` (or on, when none is given).
    WaitFor {
        /// The condition.
        condition: Condition,
        /// The longest wait, in seconds.
        timeout: Option<i64>,
        /// Where a contact goes when the wait times out.
        timed_out: Option<T>,
    },
    /// Goes one way or the other by a condition.
    If {
        /// The condition.
        condition: Condition,
        /// Where a contact that meets it goes.
        then: T,
        /// Where the others go.
        otherwise: T,
    },
    /// Sends contacts down up to five paths by percentages, the same way for the same contact
    /// and entry.
    Split(Vec<SplitPath<T>>),
    /// A goal: contacts anywhere before it jump to it when they meet its condition.
    Goal {
        /// The condition.
        condition: Condition,
        /// What a contact that reaches it without meeting it does.
        unmet: Unmet,
    },
    /// Starts another automation for the contact.
    StartAutomation(AutomationId),
    /// Ends this automation for the contact.
    End,
}

/// One path of an A/B split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SplitPath<T = usize> {
    /// Its share of the contacts, in percent.
    pub percent: u8,
    /// Where they go.
    pub next: T,
}

/// An instant to wait for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Moment {
    /// A fixed instant.
    At(Timestamp),
    /// The next time it is this weekday and time (UTC).
    Weekly(Weekday, NaiveTime),
}

/// What a contact that reaches a goal without meeting it does (ActiveCampaign's three
/// choices).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unmet {
    /// Goes on to the step after the goal.
    Continue,
    /// Waits at the goal until it meets it.
    Wait,
    /// Leaves the automation.
    End,
}

/// The action keys a step may hold, one per step.
pub const ACTIONS: [&str; 16] = [
    "sendEmail",
    "notify",
    "webhook",
    "addTag",
    "removeTag",
    "subscribe",
    "unsubscribe",
    "setField",
    "adjustScore",
    "wait",
    "waitUntil",
    "waitFor",
    "if",
    "split",
    "goal",
    "startAutomation",
];
/// The action that ends the automation (`"end": true`).
pub const END: &str = "end";

impl<T> Action<T> {
    /// Its kind, as reports and the timeline name it.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::SendEmail(_) => "sendEmail",
            Self::Notify { .. } => "notify",
            Self::Webhook(_) => "webhook",
            Self::AddTag(_) => "addTag",
            Self::RemoveTag(_) => "removeTag",
            Self::Subscribe(_) => "subscribe",
            Self::Unsubscribe(_) => "unsubscribe",
            Self::SetField { .. } => "setField",
            Self::AdjustScore { .. } => "adjustScore",
            Self::Wait(_) => "wait",
            Self::WaitUntil(_) => "waitUntil",
            Self::WaitFor { .. } => "waitFor",
            Self::If { .. } => "if",
            Self::Split(_) => "split",
            Self::Goal { .. } => "goal",
            Self::StartAutomation(_) => "startAutomation",
            Self::End => END,
        }
    }

    /// Whether a contact stays at it for a while by design (a loop must pass one).
    pub fn waits(&self) -> bool {
        matches!(
            self,
            Self::Wait(_) | Self::WaitUntil(_) | Self::WaitFor { .. }
        )
    }

    /// The steps it may send a contact to besides the step's `next`.
    pub fn branches(&self) -> Vec<&T> {
        match self {
            Self::If {
                then, otherwise, ..
            } => vec![then, otherwise],
            Self::Split(paths) => paths.iter().map(|path| &path.next).collect(),
            Self::WaitFor {
                timed_out: Some(step),
                ..
            } => vec![step],
            _ => Vec::new(),
        }
    }

    /// The same action with its branches named by `resolve`.
    pub fn resolve<U, E>(
        self,
        resolve: &mut impl FnMut(T) -> Result<U, E>,
    ) -> Result<Action<U>, E> {
        Ok(match self {
            Self::SendEmail(message) => Action::SendEmail(message),
            Self::Notify { to, message } => Action::Notify { to, message },
            Self::Webhook(webhook) => Action::Webhook(webhook),
            Self::AddTag(tag) => Action::AddTag(tag),
            Self::RemoveTag(tag) => Action::RemoveTag(tag),
            Self::Subscribe(list) => Action::Subscribe(list),
            Self::Unsubscribe(list) => Action::Unsubscribe(list),
            Self::SetField { field, value } => Action::SetField { field, value },
            Self::AdjustScore {
                model,
                points,
                expiry_days,
            } => Action::AdjustScore {
                model,
                points,
                expiry_days,
            },
            Self::Wait(seconds) => Action::Wait(seconds),
            Self::WaitUntil(moment) => Action::WaitUntil(moment),
            Self::WaitFor {
                condition,
                timeout,
                timed_out,
            } => Action::WaitFor {
                condition,
                timeout,
                timed_out: timed_out.map(&mut *resolve).transpose()?,
            },
            Self::If {
                condition,
                then,
                otherwise,
            } => Action::If {
                condition,
                then: resolve(then)?,
                otherwise: resolve(otherwise)?,
            },
            Self::Split(paths) => Action::Split(
                paths
                    .into_iter()
                    .map(|path| {
                        Ok(SplitPath {
                            percent: path.percent,
                            next: resolve(path.next)?,
                        })
                    })
                    .collect::<Result<_, E>>()?,
            ),
            Self::Goal { condition, unmet } => Action::Goal { condition, unmet },
            Self::StartAutomation(automation) => Action::StartAutomation(automation),
            Self::End => Action::End,
        })
    }

    /// Whether the step's `next` is where it sends contacts (branching steps name their own
    /// targets instead).
    pub fn goes_on(&self) -> bool {
        !matches!(self, Self::If { .. } | Self::Split(_) | Self::End)
    }
}

/// The keys a step of this action may hold besides `id`, `label` and the action's own.
fn extra_keys(action: &str) -> &'static [&'static str] {
    match action {
        "if" => &["then", "else"],
        "split" | END => &[],
        "waitFor" => &["timeout", "timeoutNext", "next"],
        "goal" => &["unmet", "next"],
        _ => &["next"],
    }
}

/// Reads one step of `steps`.
pub(super) fn read_step(at: &At<'_>) -> Result<Step<Named>, DefinitionError> {
    let object = at.object()?;
    let actions: Vec<&str> = object
        .keys()
        .map(String::as_str)
        .filter(|key| ACTIONS.contains(key) || *key == END)
        .collect();
    let [action] = actions[..] else {
        return Err(at.refused(format!(
            "must hold exactly one action (one of: {}, {END})",
            ACTIONS.join(", ")
        )));
    };
    let mut allowed = vec!["id", "label", action];
    allowed.extend(extra_keys(action));
    at.object_of(&allowed)?;
    let id = step_id(&at.field("id")?)?;
    if let Some(label) = at.get("label")? {
        label.text(NAME_MAX)?;
    }
    Ok(Step {
        id,
        action: read_action(at, action)?,
        next: target(at, "next")?,
    })
}

/// The step id under `key`, if given, with its pointer.
fn target(at: &At<'_>, key: &str) -> Result<Option<Named>, DefinitionError> {
    at.get(key)?.map(|target| named(&target)).transpose()
}

/// The step id the value names.
fn named(at: &At<'_>) -> Result<Named, DefinitionError> {
    Ok(Named {
        id: step_id(at)?,
        pointer: at.pointer().to_owned(),
    })
}

/// A step id: 1 to [`STEP_ID_MAX`] ASCII letters, digits, `-`, `_` or `.`.
fn step_id(at: &At<'_>) -> Result<String, DefinitionError> {
    let id = at.text(STEP_ID_MAX)?;
    if !id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    {
        return Err(at.refused("must hold only ASCII letters, digits, '-', '_' and '.'"));
    }
    Ok(id.to_owned())
}

/// The step id under `key`, which a branching step must give.
fn branch(at: &At<'_>, key: &str) -> Result<Named, DefinitionError> {
    named(&at.field(key)?)
}

/// A condition in the segment definition format, its refusals pointing into the document.
pub(super) fn condition(at: &At<'_>) -> Result<Condition, DefinitionError> {
    Condition::from_value(at.value.clone()).map_err(|error| DefinitionError {
        pointer: format!("{}{}", at.pointer(), error.pointer),
        message: error.message,
    })
}

/// A duration (`{"days": 3, "hours": 2}`), in seconds, of at least one second.
fn duration(at: &At<'_>) -> Result<i64, DefinitionError> {
    const UNITS: [(&str, i64); 4] = [
        ("days", 86_400),
        ("hours", 3_600),
        ("minutes", 60),
        ("seconds", 1),
    ];
    at.object_of(&UNITS.map(|(unit, _)| unit))?;
    let mut seconds: i64 = 0;
    for (unit, size) in UNITS {
        if let Some(count) = at.get(unit)? {
            seconds += count.integer(0, WAIT_SECONDS_MAX / size)? * size;
        }
    }
    if !(1..=WAIT_SECONDS_MAX).contains(&seconds) {
        return Err(at.refused(format!(
            "must last from 1 second to {} days",
            WAIT_SECONDS_MAX / 86_400
        )));
    }
    Ok(seconds)
}

/// An instant to wait for: `{"date": "2026-12-24T09:00:00Z"}` or
/// `{"weekday": "monday", "time": "09:00"}` (UTC).
fn moment(at: &At<'_>) -> Result<Moment, DefinitionError> {
    if let Some(date) = at.get("date")? {
        at.object_of(&["date"])?;
        let text = date.text(64)?;
        let parsed = chrono::DateTime::parse_from_rfc3339(text)
            .map_err(|_| date.refused("must be an RFC 3339 date and time"))?;
        return Ok(Moment::At(Timestamp(parsed.timestamp_micros())));
    }
    at.object_of(&["weekday", "time"])?;
    let weekday = at.field("weekday")?;
    let day: Weekday = weekday
        .text(16)?
        .parse()
        .map_err(|_| weekday.refused("must be a day of the week (monday, tue, ...)"))?;
    let time = at.field("time")?;
    let hour = NaiveTime::parse_from_str(time.text(8)?, "%H:%M")
        .map_err(|_| time.refused("must be a time of day as HH:MM (UTC)"))?;
    Ok(Moment::Weekly(day, hour))
}

/// Reads the action under `key` of the step at `at`.
fn read_action(at: &At<'_>, key: &str) -> Result<Action<Named>, DefinitionError> {
    let value = at.field(key)?;
    let plain = Ok;
    match key {
        "sendEmail" => {
            value.object_of(&["message"])?;
            plain(Action::SendEmail(MessageId(value.field("message")?.id()?)))
        }
        "notify" => {
            value.object_of(&["to", "message"])?;
            let to = value.field("to")?;
            let address = ContactEmail::parse(to.text(NAME_MAX)?)
                .map_err(|_| to.refused("must be an email address"))?;
            plain(Action::Notify {
                to: address,
                message: MessageId(value.field("message")?.id()?),
            })
        }
        "webhook" => plain(Action::Webhook(WebhookId(value.id()?))),
        "addTag" => plain(Action::AddTag(TagId(value.id()?))),
        "removeTag" => plain(Action::RemoveTag(TagId(value.id()?))),
        "subscribe" => plain(Action::Subscribe(ListId(value.id()?))),
        "unsubscribe" => plain(Action::Unsubscribe(ListId(value.id()?))),
        "setField" => {
            value.object_of(&["field", "value"])?;
            let field = value.field("field")?.text(NAME_MAX)?.to_owned();
            let new = value.field("value")?;
            let text = match new.value {
                serde_json::Value::String(text) if text.chars().count() <= TEXT_MAX => text.clone(),
                _ => {
                    return Err(
                        new.refused(format!("must be a string of at most {TEXT_MAX} characters"))
                    )
                }
            };
            plain(Action::SetField { field, value: text })
        }
        "adjustScore" => {
            value.object_of(&["score", "points", "expiryDays"])?;
            let model = ScoreModelId(value.field("score")?.id()?);
            let given = value.field("points")?;
            let points = given.integer(-POINTS_MAX, POINTS_MAX)?;
            if points == 0 {
                return Err(given.refused("must not be 0"));
            }
            let expiry_days = value
                .get("expiryDays")?
                .map(|days| days.integer(1, EXPIRY_DAYS_MAX))
                .transpose()?;
            plain(Action::AdjustScore {
                model,
                points,
                expiry_days,
            })
        }
        "wait" => plain(Action::Wait(duration(&value)?)),
        "waitUntil" => plain(Action::WaitUntil(moment(&value)?)),
        "waitFor" => {
            let timeout = at.get("timeout")?.map(|at| duration(&at)).transpose()?;
            let timed_out = target(at, "timeoutNext")?;
            if timed_out.is_some() && timeout.is_none() {
                return Err(at.field("timeoutNext")?.refused("needs a timeout"));
            }
            plain(Action::WaitFor {
                condition: condition(&value)?,
                timeout,
                timed_out,
            })
        }
        "if" => plain(Action::If {
            condition: condition(&value)?,
            then: branch(at, "then")?,
            otherwise: branch(at, "else")?,
        }),
        "split" => {
            let paths = value.items()?;
            if !(2..=SPLIT_PATHS_MAX).contains(&paths.len()) {
                return Err(value.refused(format!("must have 2 to {SPLIT_PATHS_MAX} paths")));
            }
            let mut read = Vec::new();
            for path in &paths {
                path.object_of(&["percent", "next"])?;
                let percent = path.field("percent")?.integer(1, 99)?;
                read.push(SplitPath {
                    percent: u8::try_from(percent).unwrap_or(u8::MAX),
                    next: branch(path, "next")?,
                });
            }
            if read.iter().map(|path| u32::from(path.percent)).sum::<u32>() != 100 {
                return Err(value.refused("the paths' percents must add up to 100"));
            }
            plain(Action::Split(read))
        }
        "goal" => {
            let condition = condition(&value)?;
            let unmet = match at.get("unmet")? {
                None => Unmet::Continue,
                Some(unmet) => match unmet.text(16)? {
                    "continue" => Unmet::Continue,
                    "wait" => Unmet::Wait,
                    "end" => Unmet::End,
                    _ => return Err(unmet.refused("must be continue, wait or end")),
                },
            };
            plain(Action::Goal { condition, unmet })
        }
        "startAutomation" => plain(Action::StartAutomation(AutomationId(value.id()?))),
        _ => {
            if value.value != &serde_json::Value::Bool(true) {
                return Err(value.refused("must be true"));
            }
            plain(Action::End)
        }
    }
}
