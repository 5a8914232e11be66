//! What a definition names outside itself. The store checks that each exists (and that a custom
//! field's type fits the tests made on it) before it saves a definition.

use std::collections::{BTreeMap, BTreeSet};
use std::convert::Infallible;

use crate::ids::{CampaignId, FormId, ListId, ScoreModelId, TagId};
use crate::segment::check::{walk, ValueKind, CREATED_FIELD, TEXT_FIELDS};
use crate::segment::Condition;

/// The tags, lists, campaigns, forms, custom fields and event names a definition names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct References {
    /// Tags (`hasTag`).
    pub tags: BTreeSet<TagId>,
    /// Lists (`list`).
    pub lists: BTreeSet<ListId>,
    /// Campaigns (`sent`, `opened`, `clicked`, `unsubscribed`, `bounced`).
    pub campaigns: BTreeSet<CampaignId>,
    /// Forms (`submittedForm`).
    pub forms: BTreeSet<FormId>,
    /// Custom fields by personalization tag, with the kinds of tests made on each: a number
    /// test on a text field, say, is for the store to refuse.
    pub fields: BTreeMap<String, BTreeSet<ValueKind>>,
    /// Custom event names (`event`).
    pub events: BTreeSet<String>,
    /// Scoring models (`score`).
    pub score_models: BTreeSet<ScoreModelId>,
}

impl References {
    /// Everything `root` names.
    pub fn of(root: &Condition) -> Self {
        let mut found = Self::default();
        let walked: Result<(), Infallible> = walk(root, "", 1, &mut |node, _, _| {
            found.add(node);
            Ok(())
        });
        let Ok(()) = walked;
        found
    }

    /// Adds everything `other` names.
    pub fn extend(&mut self, other: Self) {
        self.tags.extend(other.tags);
        self.lists.extend(other.lists);
        self.campaigns.extend(other.campaigns);
        self.forms.extend(other.forms);
        for (field, kinds) in other.fields {
            self.fields.entry(field).or_default().extend(kinds);
        }
        self.events.extend(other.events);
        self.score_models.extend(other.score_models);
    }

    fn add(&mut self, node: &Condition) {
        match node {
            Condition::Field(field) => {
                let standard =
                    TEXT_FIELDS.contains(&field.name.as_str()) || field.name == CREATED_FIELD;
                if !standard {
                    self.fields
                        .entry(field.name.clone())
                        .or_default()
                        .insert(field.value.kind());
                }
            }
            Condition::HasTag(tag) => {
                self.tags.insert(*tag);
            }
            Condition::List(list) => {
                self.lists.insert(list.id);
            }
            Condition::Event(event) => {
                self.events.insert(event.name.clone());
            }
            Condition::Sent(email)
            | Condition::Opened(email)
            | Condition::Clicked(email)
            | Condition::Unsubscribed(email)
            | Condition::Bounced(email) => self.campaigns.extend(email.campaign),
            Condition::SubmittedForm(form) => self.forms.extend(form.form),
            Condition::Score(score) => {
                self.score_models.insert(score.model);
            }
            _ => {}
        }
    }
}
