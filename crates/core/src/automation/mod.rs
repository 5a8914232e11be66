//! Automations: workflows that contacts enter by a trigger (or through the API) and go through
//! step by step. A definition is a JSON document:
//!
//! ```json
//! {
//!   "entry": "once",
//!   "triggers": [{"behavior": {"visited": {"url": {"contains": "/pricing"}}}}],
//!   "steps": [
//!     {"id": "tag", "addTag": 12},
//!     {"id": "points", "adjustScore": {"score": 3, "points": 20}},
//!     {"id": "email-a", "sendEmail": {"message": 7}},
//!     {"id": "pause", "wait": {"days": 3}},
//!     {"id": "opened", "if": {"opened": {"campaign": 5}}, "then": "done", "else": "email-b"},
//!     {"id": "email-b", "sendEmail": {"message": 8}},
//!     {"id": "done", "end": true}
//!   ]
//! }
//! ```
//!
//! Each step has a stable `id` and one action; it goes on to the step after it in the array,
//! or to its `next`, and the automation completes after the last one. `if`, `split` and
//! `waitFor` (with its `timeoutNext`) name their branches. A `goal` is reached from anywhere
//! before it when its condition becomes true. Conditions are in the segment definition format.
//!
//! # Layout
//! - `json`: reading the document with a JSON pointer for every refusal.
//! - [`step`]: the steps and what each does.
//! - [`trigger`]: what enters a contact.
//! - [`walk`]: where a run goes from its step, and the effects on the way.
//! - `graph`: the checks of the whole graph (reachable steps, no loop without a wait).
//! - [`references`]: what a definition names, for the store to refuse unknown rows.
//! - [`saved`]: a saved automation and its validated input.

pub mod dates;
mod graph;
mod json;
pub mod references;
pub mod saved;
pub mod step;
pub mod trigger;
pub mod walk;

#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use json::{refused, At};
pub use references::Reference;
pub use step::{Action, Step};
pub use trigger::Trigger;

use crate::segment::DefinitionError;

/// The most steps in one automation.
pub const STEPS_MAX: usize = 200;
/// The most triggers of one automation.
pub const TRIGGERS_MAX: usize = 20;

/// How often a contact may enter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Entry {
    /// Once ever.
    Once,
    /// Again after each exit (never while already inside).
    Multiple,
}

/// A validated automation definition. It serializes to the document it was read from.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(transparent)]
pub struct Definition {
    #[serde(skip)]
    entry: Entry,
    #[serde(skip)]
    triggers: Vec<Trigger>,
    #[serde(skip)]
    steps: Vec<Step>,
    document: serde_json::Value,
}

impl Definition {
    /// Reads and validates a document.
    pub fn from_value(document: serde_json::Value) -> Result<Self, DefinitionError> {
        let root = At::root(&document);
        root.object_of(&["entry", "triggers", "steps"])?;
        let entry = match root.get("entry")? {
            None => Entry::Once,
            Some(entry) => match entry.text(16)? {
                "once" => Entry::Once,
                "multiple" => Entry::Multiple,
                _ => return Err(entry.refused("must be once or multiple")),
            },
        };
        let triggers = match root.get("triggers")? {
            None => Vec::new(),
            Some(triggers) => {
                let items = triggers.items()?;
                if items.len() > TRIGGERS_MAX {
                    return Err(triggers.refused(format!("must hold at most {TRIGGERS_MAX}")));
                }
                items
                    .iter()
                    .map(trigger::read_trigger)
                    .collect::<Result<_, _>>()?
            }
        };
        let steps = steps(&root.field("steps")?)?;
        graph::check(&steps)?;
        Ok(Self {
            entry,
            triggers,
            steps,
            document,
        })
    }

    /// Reads and validates stored JSON text.
    pub fn parse(json: &str) -> Result<Self, DefinitionError> {
        let document =
            serde_json::from_str(json).map_err(|error| DefinitionError::from_json("", &error))?;
        Self::from_value(document)
    }

    /// How often a contact may enter.
    pub fn entry(&self) -> Entry {
        self.entry
    }

    /// Its triggers.
    pub fn triggers(&self) -> &[Trigger] {
        &self.triggers
    }

    /// Its steps; contacts enter at the first.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// The step with this id.
    pub fn step(&self, id: &str) -> Option<(usize, &Step)> {
        self.steps
            .iter()
            .enumerate()
            .find(|(_, step)| step.id == id)
    }

    /// The conditions of its behavior triggers: a timeline row that meets one enters its
    /// contact.
    pub fn behaviors(&self) -> Vec<&crate::segment::Definition> {
        self.triggers
            .iter()
            .filter_map(|trigger| match trigger {
                Trigger::Behavior(condition) => Some(condition),
                _ => None,
            })
            .collect()
    }

    /// The document it was read from.
    pub fn document(&self) -> &serde_json::Value {
        &self.document
    }
}

/// Reads the steps and resolves the steps they name to indices.
fn steps(at: &At<'_>) -> Result<Vec<Step>, DefinitionError> {
    let items = at.items()?;
    if items.is_empty() || items.len() > STEPS_MAX {
        return Err(at.refused(format!("must hold 1 to {STEPS_MAX} steps")));
    }
    let read: Vec<Step<step::Named>> = items
        .iter()
        .map(step::read_step)
        .collect::<Result<_, _>>()?;
    let mut index = BTreeMap::new();
    for (position, step) in read.iter().enumerate() {
        if index.insert(step.id.clone(), position).is_some() {
            return Err(refused(
                &format!("{}/{position}/id", at.pointer()),
                format!("repeats the id {:?} of an earlier step", step.id),
            ));
        }
    }
    let mut resolve = |named: step::Named| {
        index.get(&named.id).copied().ok_or_else(|| {
            refused(
                &named.pointer,
                format!("names no step (no step has the id {:?})", named.id),
            )
        })
    };
    let count = read.len();
    read.into_iter()
        .enumerate()
        .map(|(position, step)| {
            let action = step.action.resolve(&mut resolve)?;
            let next = match step.next {
                Some(named) => Some(resolve(named)?),
                None if action.goes_on() && position + 1 < count => Some(position + 1),
                None => None,
            };
            Ok(Step {
                id: step.id,
                action,
                next,
            })
        })
        .collect()
}
