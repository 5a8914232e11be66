//! What a definition names outside itself: the store checks that each exists before it saves
//! the definition.

use std::collections::BTreeSet;

use super::step::Action;
use super::trigger::Trigger;
use super::Definition;
use crate::ids::{AutomationId, MessageId, SegmentId};
use crate::segment;

/// The rows and names a definition refers to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct References {
    /// What its conditions, triggers and steps name among tags, lists, campaigns, forms,
    /// custom fields (by personalization tag), events and scoring models.
    pub segment: segment::References,
    /// Messages sent.
    pub messages: BTreeSet<MessageId>,
    /// Segments entered or left.
    pub segments: BTreeSet<SegmentId>,
    /// Automations started.
    pub automations: BTreeSet<AutomationId>,
    /// Fields its steps set and its date triggers read, by name or personalization tag.
    pub fields: BTreeSet<String>,
}

impl References {
    /// Everything `definition` names.
    pub fn of(definition: &Definition) -> Self {
        let mut found = Self::default();
        for trigger in definition.triggers() {
            match trigger {
                Trigger::Behavior(condition) => found.segment.extend(condition.references()),
                Trigger::TagAdded(tag) | Trigger::TagRemoved(tag) => {
                    found.segment.tags.insert(*tag);
                }
                Trigger::Subscribed(list) | Trigger::Unsubscribed(list) => {
                    found.segment.lists.insert(*list);
                }
                Trigger::EnteredSegment(id) | Trigger::LeftSegment(id) => {
                    found.segments.insert(*id);
                }
                Trigger::ScoreReached { model, .. } => {
                    found.segment.score_models.insert(*model);
                }
                Trigger::DateField { field, .. } => {
                    found.fields.insert(field.clone());
                }
            }
        }
        for step in definition.steps() {
            match &step.action {
                Action::SendEmail(message) | Action::Notify { message, .. } => {
                    found.messages.insert(*message);
                }
                Action::AddTag(tag) | Action::RemoveTag(tag) => {
                    found.segment.tags.insert(*tag);
                }
                Action::Subscribe(list) | Action::Unsubscribe(list) => {
                    found.segment.lists.insert(*list);
                }
                Action::SetField { field, .. } => {
                    found.fields.insert(field.clone());
                }
                Action::AdjustScore { model, .. } => {
                    found.segment.score_models.insert(*model);
                }
                Action::WaitFor { condition, .. }
                | Action::If { condition, .. }
                | Action::Goal { condition, .. } => found.segment.extend(condition.references()),
                Action::StartAutomation(automation) => {
                    found.automations.insert(*automation);
                }
                Action::Webhook(_)
                | Action::Wait(_)
                | Action::WaitUntil(_)
                | Action::Split(_)
                | Action::End => {}
            }
        }
        found
    }
}
