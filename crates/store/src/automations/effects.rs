//! The effects of moves (tags, lists, fields, scores, other automations entered, emails and
//! webhooks queued), applied in the move's transaction.
//!
//! A batch of moves applies its effects plainly; an effect the database refuses (a tag deleted
//! since, a value its field refuses) fails the batch, which is then applied again carefully:
//! each effect in a savepoint, a refused one rolled back and noted on its run. Savepoints cost
//! statements, so only a batch that needs them pays for them.

use sqlx::{AnyConnection, Connection};
use tracklane_core::automation::walk::Effect;
use tracklane_core::contact::{ContactPatch, FieldValueInput};
use tracklane_core::ids::{AccountId, ContactId, TagId};
use tracklane_core::list::ListStatus;
use tracklane_core::score::award::Adjustment;
use tracklane_core::time::Timestamp;
use tracklane_core::webhook::event::WebhookSource;

use super::emails::{queue_email_in, StepCampaigns, StepEmail};
use super::moves::Claimed;
use super::posts::queue_post_in;
use super::runs::enter_in;
use crate::contacts::update_in;
use crate::fields::{field_by_perstag, write_field_values};
use crate::lists::{set_list_status_in, Membership};
use crate::scoring::ledger::{adjust_in, adjust_many_in};
use crate::tags::{tag_contact, tag_many_in, untag_in};
use crate::{Engine, StoreError};

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

    /// Makes what the batch's effects left for its end: its tags, put on together, and its
    /// score adjustments, settled at once (a careful batch made each with its step).
    pub(super) async fn finish(mut self, tx: &mut AnyConnection) -> Result<(), StoreError> {
        self.flush_tags(tx).await?;
        adjust_many_in(tx, self.engine, &self.scores, self.now).await
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
        Effect::SetField { field, value } => {
            let mut patch = ContactPatch::default();
            match field.as_str() {
                "firstName" => patch.first_name = Some(value.clone()),
                "lastName" => patch.last_name = Some(value.clone()),
                "phone" => patch.phone = Some(value.clone()),
                perstag => {
                    let field = field_by_perstag(&mut *tx, account, perstag)
                        .await?
                        .ok_or_else(|| {
                            tracklane_core::invalid::Invalid::bad_value(
                                "field",
                                format!("there is no field '{perstag}'"),
                            )
                        })?;
                    let input = FieldValueInput {
                        field,
                        value: value.clone(),
                    };
                    write_field_values(tx, account, contact, &[input], now).await?;
                    return Ok(None);
                }
            }
            update_in(engine, tx, account, contact, &patch, now).await?;
        }
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
            // The payload says the contact's tags as they are by now.
            shared.flush_tags(tx).await?;
            queue_post_in(tx, engine, claimed, step, *webhook, now).await?;
        }
        Effect::SendEmail(message) | Effect::Notify { message, .. } => {
            let notify = match effect {
                Effect::Notify { to, .. } => Some(to),
                _ => None,
            };
            let email = StepEmail {
                step,
                message: *message,
                notify,
            };
            return queue_email_in(tx, claimed, email, &mut shared.campaigns, now).await;
        }
    }
    Ok(None)
}
