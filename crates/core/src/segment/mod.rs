//! Segments: who a contact is and what it did, as one definition format (nested `all` / `any` /
//! `not` groups over conditions) that segments, scoring rules, automation conditions, goals and
//! waits share.
//!
//! # Layout
//! - [`condition`]: the condition tree and its JSON form.
//! - [`check`]: validation (bounds, operators that fit the field), with errors that point into
//!   the JSON.
//! - [`references`]: the tags, lists, campaigns, forms, fields and events a definition names,
//!   for the store to refuse unknown ones.
//! - [`reads`]: what kinds of change a definition reads, for the membership worker.
//! - [`saved`]: a saved segment and its validated input.
//! - [`facts`]: what the one-contact evaluator knows about a contact.
//! - [`evaluate`]: the one-contact evaluator, and when its answer next changes by itself.

pub mod check;
pub mod condition;
pub mod evaluate;
pub mod facts;
pub mod reads;
pub mod references;
pub mod saved;

#[cfg(test)]
mod arbitrary;
#[cfg(test)]
mod tests;

use serde::Serialize;

pub use check::DefinitionError;
pub use condition::Condition;
pub use facts::ContactFacts;
pub use reads::Reads;
pub use references::References;

use crate::time::Timestamp;

/// The deepest nesting of groups: a definition is at most this many levels deep.
pub const DEPTH_MAX: usize = 8;
/// The most conditions (leaves) in one definition.
pub const CONDITIONS_MAX: usize = 100;
/// The longest text a condition compares with, in characters.
pub const TEXT_MAX: usize = 2048;
/// The largest number a count compares with.
pub const COUNT_MAX: i64 = 1_000_000;
/// The longest window ending now, in days (ten years).
pub const WINDOW_DAYS_MAX: i64 = 3_650;

/// A validated definition: a condition tree within the bounds above. It serializes to the JSON
/// it was parsed from (up to spacing, key order and date spelling).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Definition {
    root: Condition,
}

impl Definition {
    /// Validates a condition tree built in code.
    pub fn new(root: Condition) -> Result<Self, DefinitionError> {
        check::check(&root)?;
        Ok(Self { root })
    }

    /// Parses and validates a definition's JSON text.
    pub fn parse(json: &str) -> Result<Self, DefinitionError> {
        let mut reader = serde_json::Deserializer::from_str(json);
        let root: Condition =
            serde_path_to_error::deserialize(&mut reader).map_err(DefinitionError::from_serde)?;
        reader
            .end()
            .map_err(|error| DefinitionError::from_json("", &error))?;
        Self::new(root)
    }

    /// Parses and validates a definition already read as JSON (a request body's attribute).
    pub fn from_value(json: serde_json::Value) -> Result<Self, DefinitionError> {
        let root: Condition =
            serde_path_to_error::deserialize(json).map_err(DefinitionError::from_serde)?;
        Self::new(root)
    }

    /// Whether it is one behavior without a count or a window (a visit, an event, an email
    /// opened or clicked, a form submitted, ...): what one timeline row meets by itself, as
    /// scoring rules that award each row and automation triggers read it.
    pub fn is_one_behavior(&self) -> bool {
        match &self.root {
            Condition::Visited(page) | Condition::ReferredFrom(page) => {
                page.count.is_none() && page.within.is_none()
            }
            Condition::VisitedFrom(device) => device.count.is_none() && device.within.is_none(),
            Condition::Event(event) => event.count.is_none() && event.within.is_none(),
            Condition::Opened(email)
            | Condition::Clicked(email)
            | Condition::Unsubscribed(email)
            | Condition::Bounced(email) => email.count.is_none() && email.within.is_none(),
            Condition::SubmittedForm(form) => form.count.is_none() && form.within.is_none(),
            _ => false,
        }
    }

    /// For a condition on one behavior, the timeline kind of its rows and, for an event, its
    /// name: a row of another kind or name never meets it (what indexes behavior triggers).
    pub fn row_key(&self) -> Option<(crate::event::EventKind, Option<&str>)> {
        use crate::event::EventKind;
        Some(match &self.root {
            Condition::Visited(_) | Condition::ReferredFrom(_) | Condition::VisitedFrom(_) => {
                (EventKind::PageVisit, None)
            }
            Condition::Event(event) => (EventKind::Custom, Some(event.name.as_str())),
            Condition::Opened(_) => (EventKind::Open, None),
            Condition::Clicked(_) => (EventKind::Click, None),
            Condition::Unsubscribed(_) => (EventKind::Unsubscribe, None),
            Condition::Bounced(_) => (EventKind::Bounce, None),
            Condition::SubmittedForm(_) => (EventKind::FormSubmit, None),
            _ => return None,
        })
    }

    /// The condition tree.
    pub fn root(&self) -> &Condition {
        &self.root
    }

    /// Whether the contact matches at `now` (see [`Condition::matches`]).
    pub fn matches(&self, contact: &ContactFacts, now: Timestamp) -> bool {
        self.root.matches(contact, now)
    }

    /// When the answer for the contact could next change by itself (see
    /// [`Condition::next_change`]).
    pub fn next_change(&self, contact: &ContactFacts, now: Timestamp) -> Option<Timestamp> {
        self.root.next_change(contact, now)
    }

    /// The tags, lists, campaigns, forms, custom fields and events the definition names.
    pub fn references(&self) -> References {
        References::of(&self.root)
    }

    /// The JSON pointer of the first node (depth first) for which `found` is true.
    pub fn pointer_of(&self, found: impl Fn(&Condition) -> bool) -> Option<String> {
        let mut pointer = None;
        let _ = check::walk(&self.root, "", 1, &mut |node, at, _| {
            if found(node) {
                pointer = Some(at.to_owned());
                return Err(());
            }
            Ok(())
        });
        pointer
    }

    /// The kinds of change that can alter the answer.
    pub fn reads(&self) -> Reads {
        Reads::of(&self.root)
    }

    /// The leaf conditions (all but groups and negations), depth first.
    pub fn leaves(&self) -> Vec<&Condition> {
        fn add<'a>(node: &'a Condition, leaves: &mut Vec<&'a Condition>) {
            match node {
                Condition::All(nodes) | Condition::Any(nodes) => {
                    nodes.iter().for_each(|node| add(node, leaves));
                }
                Condition::Not(node) => add(node, leaves),
                leaf => leaves.push(leaf),
            }
        }
        let mut leaves = Vec::new();
        add(&self.root, &mut leaves);
        leaves
    }
}
