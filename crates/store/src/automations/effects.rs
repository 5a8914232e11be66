//! The effects of moves (tags, lists, fields, scores, other automations entered, emails and
//! webhooks queued), applied in the move's transaction.
//!
//! A batch of moves applies its effects plainly; an effect the database refuses (a tag deleted
//! since, a value its field refuses) fails the batch, which is then applied again carefully:
//! each effect in a savepoint, a refused one rolled back and noted on its run. Savepoints cost
//! statements, so only a batch that needs them pays for them.
//!
//! A plain batch also puts off the effects that take a statement per contact (tags put on,
//! standard fields set, scores adjusted, emails queued) and makes each kind together, a chunk of
//! contacts per statement: before an effect that reads what they write, and at the batch's end.
//!
use std::collections::BTreeMap;

use sqlx::{AnyConnection, Connection};
use tracklane_core::automation::walk::Effect;
use tracklane_core::contact::FieldValueInput;
use tracklane_core::ids::{AccountId, AutomationRunId, ContactId, TagId};
use tracklane_core::list::ListStatus;
use tracklane_core::score::award::Adjustment;
use tracklane_core::time::Timestamp;
use tracklane_core::webhook::event::WebhookSource;

use super::claims::Claimed;
use super::emails::{queue_emails_in, StepCampaigns, StepEmail, NOT_SUBSCRIBED};
use super::posts::queue_post_in;
use super::runs::enter_in;
use crate::contacts::{set_standard_many_in, StandardField};
use crate::fields::{field_by_perstag, write_field_values};
use crate::lists::{set_list_status_in, Membership};
use crate::scoring::ledger::{adjust_in, adjust_many_in};
use crate::tags::{tag_contact, tag_many_in, untag_in};
use crate::{Engine, StoreError};

/// The note a run keeps of an effect of `step` skipped or refused, and why.
pub(super) fn run_note(step: &str, why: &str) -> String {
    format!("step {step}: {why}")
}

/// What the effects of one transaction share.
pub(super) struct Shared {
    engine: Engine,
    now: Timestamp,
    /// Whether each effect runs in a savepoint of its own.
    careful: bool,
    /// The campaigns of email steps found so far.
    campaigns: StepCampaigns,
    /// The score adjustments of a plain batch, made together at its end.
    scores: Vec<(AccountId, ContactId, Adjustment)>,
    /// The tags a plain batch puts on, put on together before an effect that reads or takes
    /// tags, and at its end.
    tags: Vec<(AccountId, ContactId, TagId)>,
    /// The standard fields a plain batch sets, the last value per contact and field, set
    /// together before an effect that reads them, and at its end.
    fields: BTreeMap<(StandardField, ContactId), (AccountId, String)>,
    /// The emails a plain batch queues, queued together before an effect that changes whom
    /// they may go to, and at its end.
    emails: Vec<StepEmail>,
    /// The notes of the emails put off and then skipped, by run.
    notes: Vec<(AutomationRunId, String)>,
}

impl Shared {
    /// For a transaction on `engine` at `now`, careful or not.
    pub(super) fn new(engine: Engine, now: Timestamp, careful: bool) -> Self {
        Self {
            engine,
            now,
            careful,
            campaigns: StepCampaigns::new(),
            scores: Vec::new(),
            tags: Vec::new(),
            fields: BTreeMap::new(),
            emails: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Puts the tags waiting to go on.
    async fn flush_tags(&mut self, tx: &mut AnyConnection) -> Result<(), StoreError> {
        let tags = std::mem::take(&mut self.tags);
        if tags.is_empty() {
            return Ok(());
        }
        tag_many_in(tx, self.engine, &tags, WebhookSource::System, self.now).await
    }

    /// Sets the standard fields waiting to be set, a statement per field.
    async fn flush_fields(&mut self, tx: &mut AnyConnection) -> Result<(), StoreError> {
        let fields = std::mem::take(&mut self.fields);
        for field in StandardField::ALL {
            let values: Vec<_> = fields
                .range((field, ContactId(i64::MIN))..=(field, ContactId(i64::MAX)))
                .map(|((_, contact), (account, value))| (*account, *contact, value.as_str()))
                .collect();
            set_standard_many_in(tx, self.engine, field, &values, self.now).await?;
        }
        Ok(())
    }

    /// Queues the emails waiting to be queued, noting the skipped ones on their runs.
    async fn flush_emails(&mut self, tx: &mut AnyConnection) -> Result<(), StoreError> {
        let emails = std::mem::take(&mut self.emails);
        let skipped =
            queue_emails_in(tx, self.engine, &emails, &mut self.campaigns, self.now).await?;
        self.notes.extend(
            skipped
                .into_iter()
                .map(|email| (email.claimed.run, run_note(&email.step, NOT_SUBSCRIBED))),
        );
        Ok(())
    }

    /// Makes what the batch's effects left for its end (a careful batch made each with its
    /// step): its tags, fields, emails and score adjustments, each kind together. Answers the
    /// notes of the effects it skipped, by run.
    pub(super) async fn finish(
        mut self,
        tx: &mut AnyConnection,
    ) -> Result<Vec<(AutomationRunId, String)>, StoreError> {
        self.flush_tags(tx).await?;
        self.flush_fields(tx).await?;
        self.flush_emails(tx).await?;
        adjust_many_in(tx, self.engine, &self.scores, self.now).await?;
        Ok(self.notes)
    }

    /// The transaction's instant.
    pub(super) fn now(&self) -> Timestamp {
        self.now
    }

    /// Applies one effect of step `step` for the claimed run's contact; answers why it was
    /// skipped or refused, when it was. Careless, a refusal is the batch's error.
    pub(super) async fn apply(
        &mut self,
        tx: &mut AnyConnection,
        claimed: &Claimed,
        step: &str,
        effect: &Effect,
    ) -> Result<Option<String>, StoreError> {
        if !self.careful {
            return effect_in(tx, self, claimed, step, effect).await;
        }
        let mut savepoint = tx.begin().await?;
        match effect_in(&mut savepoint, self, claimed, step, effect).await {
            Ok(skipped) => {
                savepoint.commit().await?;
                Ok(skipped)
            }
            Err(error) if error.is_database_failure() => Err(error),
            Err(error) => {
                savepoint.rollback().await?;
                // A campaign the rolled back effect made is gone.
                self.campaigns.clear();
                Ok(Some(error.to_string()))
            }
        }
    }
}

/// Applies one effect of step `step` on `tx`; answers why it was skipped, when it was (a
/// contact an email may not go to).
async fn effect_in(
    tx: &mut AnyConnection,
    shared: &mut Shared,
    claimed: &Claimed,
    step: &str,
    effect: &Effect,
) -> Result<Option<String>, StoreError> {
    let (engine, now) = (shared.engine, shared.now);
    let (account, contact) = (claimed.account, claimed.contact);
    let source = WebhookSource::System;
    match effect {
        Effect::AddTag(tag) if !shared.careful => {
            // Put on with the batch's others (see `Shared::flush_tags`).
            shared.tags.push((account, contact, *tag));
        }
        Effect::AddTag(tag) => {
            tag_contact(tx, engine, account, contact, *tag, source, now).await?;
        }
        Effect::RemoveTag(tag) => {
            shared.flush_tags(tx).await?;
            untag_in(tx, engine, (account, contact, *tag), source, now).await?;
        }
        Effect::Subscribe(list) | Effect::Unsubscribe(list) => {
            // The emails before it go (or not) by the lists as they were.
            shared.flush_emails(tx).await?;
            let status: Option<i64> = sqlx::query_scalar(
                "SELECT status FROM contact_lists WHERE contact_id = $1 AND list_id = $2",
            )
            .bind(contact.0)
            .bind(list.0)
            .fetch_optional(&mut *tx)
            .await?;
            let status = status.map(ListStatus::from_code);
            let new = match effect {
                // An unsubscribe is the person's choice: an automation never undoes it.
                Effect::Subscribe(_) if status != Some(ListStatus::Unsubscribed) => {
                    ListStatus::Active
                }
                Effect::Unsubscribe(_) if status.is_some() => ListStatus::Unsubscribed,
                _ => return Ok(None),
            };
            let membership = Membership {
                contact,
                list: *list,
                status: new,
                source_id: 0,
            };
            set_list_status_in(tx, engine, account, membership, Some(source), now).await?;
        }
        Effect::SetField { field, value } => match StandardField::named(field) {
            Some(standard) if !shared.careful => {
                // Set with the batch's others (see `Shared::flush_fields`).
                shared
                    .fields
                    .insert((standard, contact), (account, value.clone()));
            }
            Some(standard) => {
                let one = [(account, contact, value.as_str())];
                set_standard_many_in(tx, engine, standard, &one, now).await?;
            }
            None => {
                let field = field_by_perstag(&mut *tx, account, field)
                    .await?
                    .ok_or_else(|| {
                        tracklane_core::invalid::Invalid::bad_value(
                            "field",
                            format!("there is no field '{field}'"),
                        )
                    })?;
                let input = FieldValueInput {
                    field,
                    value: value.clone(),
                };
                write_field_values(tx, account, contact, &[input], now).await?;
            }
        },
        Effect::AdjustScore {
            model,
            points,
            expiry_days,
        } => {
            let adjustment = Adjustment {
                model: *model,
                points: *points,
                reason: format!("automation {}", claimed.automation),
                expiry_days: *expiry_days,
            };
            if shared.careful {
                adjust_in(tx, engine, account, contact, &adjustment, now).await?;
            } else {
                // Settled with the batch's others (see `Shared::finish`).
                shared.scores.push((account, contact, adjustment));
            }
        }
        Effect::StartAutomation(other) => {
            let cause = format!("run:{}", claimed.run);
            // A contact the other automation does not take (inactive, inside already) is
            // left as it is.
            let _ = enter_in(tx, engine, account, *other, contact, &cause, now).await?;
        }
        Effect::Webhook(webhook) => {
            // The payload says the contact's tags and fields as they are by now.
            shared.flush_tags(tx).await?;
            shared.flush_fields(tx).await?;
            queue_post_in(tx, engine, claimed, step, *webhook, now).await?;
        }
        Effect::SendEmail(message) | Effect::Notify { message, .. } => {
            let notify = match effect {
                Effect::Notify { to, .. } => Some(to.clone()),
                _ => None,
            };
            let email = StepEmail {
                claimed: claimed.clone(),
                step: step.to_owned(),
                message: *message,
                notify,
            };
            if !shared.careful {
                // Queued with the batch's others (see `Shared::flush_emails`).
                shared.emails.push(email);
                return Ok(None);
            }
            let emails = [email];
            let skipped = queue_emails_in(tx, engine, &emails, &mut shared.campaigns, now).await?;
            if !skipped.is_empty() {
                return Ok(Some(NOT_SUBSCRIBED.into()));
            }
        }
    }
    Ok(None)
}
