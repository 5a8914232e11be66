//! What a definition names outside itself, each with the JSON pointer of where it is named:
//! the store checks that each exists in the account before it saves the definition, and
//! refuses it at that pointer otherwise.

use super::step::Action;
use super::trigger::Trigger;
use super::Definition;
use crate::ids::{AutomationId, ListId, MessageId, ScoreModelId, SegmentId, TagId, WebhookId};
use crate::segment;

/// A row or name a definition refers to, outside its conditions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reference {
    /// A tag.
    Tag(TagId),
    /// A list.
    List(ListId),
    /// A message.
    Message(MessageId),
    /// A scoring model.
    ScoreModel(ScoreModelId),
    /// A segment.
    Segment(SegmentId),
    /// An automation.
    Automation(AutomationId),
    /// A custom field, by personalization tag (or a standard field's name).
    Field(String),
    /// A webhook subscription.
    Webhook(WebhookId),
}

impl Definition {
    /// The rows and names its triggers and steps refer to, with where.
    pub fn references(&self) -> Vec<(String, Reference)> {
        let mut found = Vec::new();
        for (index, trigger) in self.triggers().iter().enumerate() {
            let at = |key: &str| format!("/triggers/{index}/{key}");
            match trigger {
                Trigger::Behavior(_) => {}
                Trigger::TagAdded(tag) => found.push((at("tagAdded"), Reference::Tag(*tag))),
                Trigger::TagRemoved(tag) => found.push((at("tagRemoved"), Reference::Tag(*tag))),
                Trigger::Subscribed(list) => {
                    found.push((at("subscribed"), Reference::List(*list)));
                }
                Trigger::Unsubscribed(list) => {
                    found.push((at("unsubscribed"), Reference::List(*list)));
                }
                Trigger::EnteredSegment(id) => {
                    found.push((at("enteredSegment"), Reference::Segment(*id)));
                }
                Trigger::LeftSegment(id) => {
                    found.push((at("leftSegment"), Reference::Segment(*id)));
                }
                Trigger::ScoreReached { model, .. } => {
                    found.push((at("scoreReached/score"), Reference::ScoreModel(*model)));
                }
                Trigger::DateField { field, .. } => {
                    found.push((at("dateField/field"), Reference::Field(field.clone())));
                }
            }
        }
        for (index, step) in self.steps().iter().enumerate() {
            let at = |path: &str| format!("/steps/{index}/{path}");
            let reference = match &step.action {
                Action::SendEmail(message) => {
                    (at("sendEmail/message"), Reference::Message(*message))
                }
                Action::Notify { message, .. } => {
                    (at("notify/message"), Reference::Message(*message))
                }
                Action::Webhook(webhook) => (at("webhook"), Reference::Webhook(*webhook)),
                Action::AddTag(tag) => (at("addTag"), Reference::Tag(*tag)),
                Action::RemoveTag(tag) => (at("removeTag"), Reference::Tag(*tag)),
                Action::Subscribe(list) => (at("subscribe"), Reference::List(*list)),
                Action::Unsubscribe(list) => (at("unsubscribe"), Reference::List(*list)),
                Action::SetField { field, .. } => {
                    (at("setField/field"), Reference::Field(field.clone()))
                }
                Action::AdjustScore { model, .. } => {
                    (at("adjustScore/score"), Reference::ScoreModel(*model))
                }
                Action::StartAutomation(id) => (at("startAutomation"), Reference::Automation(*id)),
                _ => continue,
            };
            found.push(reference);
        }
        found
    }

    /// Its conditions (of triggers, waits, branches and goals), with where each is.
    pub fn conditions(&self) -> Vec<(String, &segment::Definition)> {
        let mut found = Vec::new();
        for (index, trigger) in self.triggers().iter().enumerate() {
            if let Trigger::Behavior(condition) = trigger {
                found.push((format!("/triggers/{index}/behavior"), condition));
            }
        }
        for (index, step) in self.steps().iter().enumerate() {
            match &step.action {
                Action::WaitFor { condition, .. }
                | Action::If { condition, .. }
                | Action::Goal { condition, .. } => {
                    found.push((format!("/steps/{index}/{}", step.action.kind()), condition));
                }
                _ => {}
            }
        }
        found
    }
}
