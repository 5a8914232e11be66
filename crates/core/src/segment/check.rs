//! Validation of a condition tree: sizes, depths, counts, windows, texts, and operators that fit
//! the field they test. Every refusal names the place in the JSON as a JSON pointer
//! (`/all/2/visited/count/atLeast: must be >= 0`).

use std::fmt;

use serde_path_to_error::Segment;

use crate::device::Device;
use crate::event::EVENT_NAME_MAX;
use crate::segment::condition::{Count, FieldTest, TextMatch, Window};
use crate::segment::{Condition, CONDITIONS_MAX, COUNT_MAX, DEPTH_MAX, TEXT_MAX, WINDOW_DAYS_MAX};
use crate::text::NAME_MAX;

/// The standard fields that hold text.
pub const TEXT_FIELDS: [&str; 4] = ["email", "firstName", "lastName", "phone"];
/// The standard field that holds the contact's creation time.
pub const CREATED_FIELD: &str = "created";

/// A refused definition: where (a JSON pointer; empty for the whole definition) and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct DefinitionError {
    /// A JSON pointer to the refused part (`/all/2/visited/count`).
    pub pointer: String,
    /// Why, in a few words.
    pub message: String,
}

impl fmt::Display for DefinitionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pointer = if self.pointer.is_empty() {
            "(definition)"
        } else {
            &self.pointer
        };
        write!(f, "{pointer}: {}", self.message)
    }
}

impl DefinitionError {
    fn new(pointer: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            pointer: pointer.into(),
            message: message.into(),
        }
    }

    /// A refusal by the JSON reader, at `pointer`, without the reader's line and column.
    pub(crate) fn from_json(pointer: &str, error: &serde_json::Error) -> Self {
        let text = error.to_string();
        let place = format!(" at line {} column {}", error.line(), error.column());
        let message = text.strip_suffix(&place).unwrap_or(&text);
        Self::new(pointer, message)
    }

    /// A refusal by the JSON reader, at the path where it happened.
    pub(crate) fn from_serde(error: serde_path_to_error::Error<serde_json::Error>) -> Self {
        let mut pointer = String::new();
        for segment in error.path() {
            match segment {
                Segment::Seq { index } => pointer.push_str(&format!("/{index}")),
                Segment::Map { key } => pointer.push_str(&format!("/{}", escape(key))),
                Segment::Enum { variant } => pointer.push_str(&format!("/{}", escape(variant))),
                Segment::Unknown => {}
            }
        }
        Self::from_json(&pointer, error.inner())
    }
}

/// Escapes a key for a JSON pointer (RFC 6901).
fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Calls `visit` on every node of the tree with its JSON pointer and depth (the root is at 1),
/// parents before children, and stops at the first refusal.
pub(crate) fn walk<E>(
    node: &Condition,
    pointer: &str,
    depth: usize,
    visit: &mut impl FnMut(&Condition, &str, usize) -> Result<(), E>,
) -> Result<(), E> {
    visit(node, pointer, depth)?;
    match node {
        Condition::All(nodes) => nodes.iter().enumerate().try_for_each(|(index, child)| {
            walk(child, &format!("{pointer}/all/{index}"), depth + 1, visit)
        }),
        Condition::Any(nodes) => nodes.iter().enumerate().try_for_each(|(index, child)| {
            walk(child, &format!("{pointer}/any/{index}"), depth + 1, visit)
        }),
        Condition::Not(child) => walk(child, &format!("{pointer}/not"), depth + 1, visit),
        _ => Ok(()),
    }
}

/// Checks a whole tree against the bounds and rules of the definition format.
pub fn check(root: &Condition) -> Result<(), DefinitionError> {
    let mut conditions = 0;
    walk(root, "", 1, &mut |node, pointer, depth| {
        if depth > DEPTH_MAX {
            return Err(DefinitionError::new(
                pointer,
                format!("groups may be nested at most {DEPTH_MAX} levels deep"),
            ));
        }
        if !matches!(
            node,
            Condition::All(_) | Condition::Any(_) | Condition::Not(_)
        ) {
            conditions += 1;
            if conditions > CONDITIONS_MAX {
                return Err(DefinitionError::new(
                    pointer,
                    format!("a definition holds at most {CONDITIONS_MAX} conditions"),
                ));
            }
        }
        check_node(node, pointer)
    })
}

/// Checks one node (not its children).
fn check_node(node: &Condition, pointer: &str) -> Result<(), DefinitionError> {
    let at = |key: &str| format!("{pointer}/{key}");
    match node {
        Condition::All(nodes) | Condition::Any(nodes) if nodes.is_empty() => Err(
            DefinitionError::new(pointer, "a group holds at least one condition"),
        ),
        Condition::All(_) | Condition::Any(_) | Condition::Not(_) => Ok(()),
        Condition::Field(field) => {
            check_field_name(&field.name, &at("field/name"))?;
            check_field_test(&field.name, &field.value, &at("field/value"))
        }
        Condition::HasTag(tag) => check_id(tag.0, &at("hasTag")),
        Condition::List(list) => check_id(list.id.0, &at("list/id")),
        Condition::Score(score) => {
            check_id(score.model.0, &at("score/model"))?;
            check_number(score.value.number(), i64::MIN, &at("score/value"))
        }
        Condition::Visited(page) | Condition::ReferredFrom(page) => {
            let key = node.key();
            check_text_match(page.url.as_ref(), &at(&format!("{key}/url")))?;
            check_text_match(page.domain.as_ref(), &at(&format!("{key}/domain")))?;
            check_tally(page.count, page.within, &at(key))
        }
        Condition::VisitedFrom(device) => {
            if device.device == Device::Bot {
                return Err(DefinitionError::new(
                    at("visitedFrom/device"),
                    "a device is desktop, mobile or tablet",
                ));
            }
            check_tally(device.count, device.within, &at("visitedFrom"))
        }
        Condition::PageVisits(total) => {
            check_tally(Some(total.count), total.within, &at("pageVisits"))
        }
        Condition::SiteVisits(total) => {
            check_tally(Some(total.count), total.within, &at("siteVisits"))
        }
        Condition::Event(event) => {
            let name = &event.name;
            if name.is_empty() || name.trim() != name || name.chars().count() > EVENT_NAME_MAX {
                return Err(DefinitionError::new(
                    at("event/name"),
                    format!("an event name is 1 to {EVENT_NAME_MAX} characters, without surrounding spaces"),
                ));
            }
            check_text_match(event.data.as_ref(), &at("event/data"))?;
            check_tally(event.count, event.within, &at("event"))
        }
        Condition::Sent(email)
        | Condition::Opened(email)
        | Condition::Clicked(email)
        | Condition::Unsubscribed(email)
        | Condition::Bounced(email) => {
            let key = node.key();
            if let Some(campaign) = email.campaign {
                check_id(campaign.0, &at(&format!("{key}/campaign")))?;
            }
            if email.link.is_some() && !matches!(node, Condition::Clicked(_)) {
                return Err(DefinitionError::new(
                    at(&format!("{key}/link")),
                    "only clicks have a link",
                ));
            }
            check_text_match(email.link.as_ref(), &at(&format!("{key}/link")))?;
            check_tally(email.count, email.within, &at(key))
        }
        Condition::SubmittedForm(form) => {
            if let Some(id) = form.form {
                check_id(id.0, &at("submittedForm/form"))?;
            }
            check_tally(form.count, form.within, &at("submittedForm"))
        }
    }
}

fn check_id(id: i64, pointer: &str) -> Result<(), DefinitionError> {
    if id > 0 {
        Ok(())
    } else {
        Err(DefinitionError::new(pointer, "an id is a number > 0"))
    }
}

fn check_number(number: i64, min: i64, pointer: &str) -> Result<(), DefinitionError> {
    if number < min {
        return Err(DefinitionError::new(pointer, format!("must be >= {min}")));
    }
    if number.abs() > COUNT_MAX {
        return Err(DefinitionError::new(
            pointer,
            format!("must be <= {COUNT_MAX}"),
        ));
    }
    Ok(())
}

/// Checks a behavioral condition's count and window; `pointer` names the condition's object.
fn check_tally(
    count: Option<Count>,
    within: Option<Window>,
    pointer: &str,
) -> Result<(), DefinitionError> {
    if let Some(count) = count {
        check_number(count.number(), 0, &format!("{pointer}/count"))?;
    }
    within.map_or(Ok(()), |window| {
        check_window(window, &format!("{pointer}/within"))
    })
}

fn check_window(window: Window, pointer: &str) -> Result<(), DefinitionError> {
    let (key, number, max) = match window {
        Window::Days(days) => ("days", days, WINDOW_DAYS_MAX),
        Window::Hours(hours) => ("hours", hours, WINDOW_DAYS_MAX * 24),
        Window::Between(between) => {
            let readable = |at: crate::time::Timestamp| at.to_datetime().is_some();
            if !readable(between.from) || !readable(between.until) {
                return Err(DefinitionError::new(
                    format!("{pointer}/between"),
                    "a date out of range",
                ));
            }
            if between.from >= between.until {
                return Err(DefinitionError::new(
                    format!("{pointer}/between"),
                    "from must be before until",
                ));
            }
            return Ok(());
        }
    };
    let pointer = format!("{pointer}/{key}");
    if number <= 0 {
        return Err(DefinitionError::new(pointer, "must be > 0"));
    }
    if number > max {
        return Err(DefinitionError::new(pointer, format!("must be <= {max}")));
    }
    Ok(())
}

/// Checks a text compared with: not empty, not too long, storable.
fn check_text(text: &str, pointer: &str) -> Result<(), DefinitionError> {
    if text.is_empty() {
        return Err(DefinitionError::new(pointer, "must not be empty"));
    }
    if text.chars().count() > TEXT_MAX {
        return Err(DefinitionError::new(
            pointer,
            format!("must be at most {TEXT_MAX} characters"),
        ));
    }
    if text.contains('\0') {
        return Err(DefinitionError::new(pointer, crate::text::NUL_REFUSED));
    }
    Ok(())
}

fn check_text_match(test: Option<&TextMatch>, pointer: &str) -> Result<(), DefinitionError> {
    match test {
        Some(TextMatch::Equals(text)) => check_text(text, &format!("{pointer}/equals")),
        Some(TextMatch::Contains(text)) => check_text(text, &format!("{pointer}/contains")),
        None => Ok(()),
    }
}

/// A field is a standard one or a custom field's personalization tag, as stored (upper case
/// letters, digits and `_`).
fn check_field_name(name: &str, pointer: &str) -> Result<(), DefinitionError> {
    let perstag = !name.is_empty()
        && name.len() <= NAME_MAX
        && name
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_');
    if TEXT_FIELDS.contains(&name) || name == CREATED_FIELD || perstag {
        Ok(())
    } else {
        Err(DefinitionError::new(
            pointer,
            format!(
                "unknown field '{name}' (email, firstName, lastName, phone, created, or a custom \
                 field's perstag in upper case)"
            ),
        ))
    }
}

/// Which kind of value a field test reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ValueKind {
    /// Text tests: equals, notEquals, contains, startsWith, isEmpty, isNotEmpty.
    Text,
    /// Number tests: greaterThan, lessThan.
    Number,
    /// Date tests: before, after, within.
    Date,
}

impl FieldTest {
    /// The kind of value the test reads.
    pub fn kind(&self) -> ValueKind {
        match self {
            Self::GreaterThan(_) | Self::LessThan(_) => ValueKind::Number,
            Self::Before(_) | Self::After(_) | Self::Within(_) => ValueKind::Date,
            _ => ValueKind::Text,
        }
    }
}

fn check_field_test(name: &str, test: &FieldTest, pointer: &str) -> Result<(), DefinitionError> {
    let kind = test.kind();
    let refused = if TEXT_FIELDS.contains(&name) && kind != ValueKind::Text {
        Some("is text: use equals, notEquals, contains, startsWith, isEmpty or isNotEmpty")
    } else if name == CREATED_FIELD && kind != ValueKind::Date {
        Some("is a date: use before, after or within")
    } else {
        None
    };
    if let Some(reason) = refused {
        return Err(DefinitionError::new(pointer, format!("{name} {reason}")));
    }
    match test {
        FieldTest::Equals(text) => check_text(text, &format!("{pointer}/equals")),
        FieldTest::NotEquals(text) => check_text(text, &format!("{pointer}/notEquals")),
        FieldTest::Contains(text) => check_text(text, &format!("{pointer}/contains")),
        FieldTest::StartsWith(text) => check_text(text, &format!("{pointer}/startsWith")),
        FieldTest::GreaterThan(n) | FieldTest::LessThan(n) if !n.is_finite() => {
            Err(DefinitionError::new(pointer, "must be a finite number"))
        }
        FieldTest::Before(at) | FieldTest::After(at) if at.to_datetime().is_none() => {
            Err(DefinitionError::new(pointer, "a date out of range"))
        }
        FieldTest::Within(window) => check_window(*window, &format!("{pointer}/within")),
        _ => Ok(()),
    }
}
