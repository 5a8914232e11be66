//! Sending campaigns (started by [`crate::campaign_start`]): claiming due sends, recording how
//! each went, and what a message needs to know of its recipient.
//!
//! A send is marked "handing over" in its own commit before the message leaves, and "sent" after;
//! on start, sends still "handing over" are settled (see [`Store::settle_interrupted_sends`]):
//! those known to be delivered become sent, those known not to be are queued again, and the rest
//! "uncertain", never sent again. Claims take rows with `FOR UPDATE SKIP LOCKED` on PostgreSQL,
//! so several nodes share the work; the sends of a paused campaign are not claimed (see
//! [`crate::campaign_pause`]).

use std::collections::HashMap;

use sqlx::{AnyConnection, Row};
use tracklane_core::contact::Contact;
use tracklane_core::event::{EventKind, EventSource, NewEvent};
use tracklane_core::ids::{AccountId, CampaignId, ContactId, ListId};
use tracklane_core::list::ListStatus;
use tracklane_core::message::CampaignStatus;
use tracklane_core::time::Timestamp;
use tracklane_core::webhook::event::{WebhookEvent, WebhookSource};

use crate::campaign_pause::pause_failing_campaigns_in;
use crate::events::record_events_in;
use crate::rows::{self, CONTACT_COLUMNS};
use crate::sql::{Statement, Value};
use crate::webhooks::changes::{record_changes, Change};
use crate::{Engine, Store, StoreError};

pub use crate::send_status::SendStatus;

/// The timeline name of a bounce.
pub const BOUNCE_EVENT: &str = "__bounce";

/// A claimed send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClaimedSend {
    /// The send's id.
    pub id: i64,
    /// The account.
    pub account: AccountId,
    /// The campaign.
    pub campaign: CampaignId,
    /// The recipient.
    pub contact: ContactId,
    /// How many times it was claimed, this one included.
    pub attempts: i64,
    /// For an automation's notification, the address it goes to (about the contact); none
    /// sends to the contact.
    pub notify: Option<String>,
}

/// How a handed-over send went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendOutcome {
    /// Accepted.
    Sent,
    /// Refused for now because of its recipient (a busy or full mailbox): tried again at `at`.
    /// Says nothing about the campaign.
    Deferred {
        /// When to try again.
        at: Timestamp,
        /// The server's answer.
        error: String,
    },
    /// Failed for a reason that is not the recipient's (the connection, the sender's settings,
    /// the message, the mail server): tried again at `at`, and counted against the campaign,
    /// which is paused when such failures persist (see [`crate::campaign_pause`]).
    Failed {
        /// When to try again.
        at: Timestamp,
        /// The server's answer, or what went wrong.
        error: String,
    },
    /// Refused for good because of its recipient: the contact is marked bounced on the
    /// campaign's list.
    Bounced {
        /// The server's answer.
        error: String,
    },
    /// Not sent, because its contact was deleted after the send was claimed: the send goes,
    /// as the sends still queued for a contact go when it is deleted.
    Dropped,
}

/// What becomes of the sends a stopped node left handing over (see
/// [`Store::settle_interrupted_sends`]); any send in neither list becomes uncertain.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Interrupted {
    /// Sends whose message is known to be delivered (whole in the outbox): they become sent.
    pub delivered: Vec<i64>,
    /// Sends whose message is known never to have left (not written, or only half): they are
    /// queued again.
    pub undelivered: Vec<i64>,
}

/// How many interrupted sends ended where (see [`Store::settle_interrupted_sends`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Settled {
    /// Became sent.
    pub sent: u64,
    /// Were queued again.
    pub queued: u64,
    /// Became uncertain: never sent again.
    pub uncertain: u64,
}

/// Recipients by contact id: the contact and what personalization needs to know of it.
pub type Recipients = HashMap<ContactId, (Contact, RecipientData)>;

/// What personalization needs to know of a recipient.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecipientData {
    /// Custom field values by personalization tag; every field of the account is there, empty
    /// when the contact has no value (so that its fallback applies).
    pub fields: HashMap<String, String>,
    /// The names of the contact's tags.
    pub tags: Vec<String>,
    /// The data of the latest event of each name.
    pub events: HashMap<String, String>,
}

impl Store {
    /// The ids of the sends still marked as being handed over: at start, those a stopped node
    /// left half-done.
    pub async fn interrupted_sends(&self) -> Result<Vec<i64>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT id FROM sends WHERE status = $1 ORDER BY id")
                .bind(SendStatus::HandingOver as i64)
                .fetch_all(&self.reader)
                .await?,
        )
    }

    /// Settles the sends a stopped node left handing over, in one commit: `interrupted`'s
    /// delivered ones become sent, its undelivered ones are queued again (due at `now`), and
    /// every other send still handing over becomes uncertain, never sent again (its message may
    /// have reached the mail server). Run at start, before sending.
    pub async fn settle_interrupted_sends(
        &self,
        interrupted: &Interrupted,
        now: Timestamp,
    ) -> Result<Settled, StoreError> {
        self.write(async |tx| {
            let mut settled = Settled::default();
            let moves = [
                (&interrupted.delivered, SendStatus::Sent),
                (&interrupted.undelivered, SendStatus::Queued),
            ];
            for (ids, status) in moves {
                for id in ids {
                    let moved = sqlx::query(
                        "UPDATE sends SET status = $1, next_attempt_at = $2, \
                         sent_at = CASE WHEN $1 = $3 THEN $2 ELSE sent_at END \
                         WHERE id = $4 AND status = $5",
                    )
                    .bind(status as i64)
                    .bind(now.0)
                    .bind(SendStatus::Sent as i64)
                    .bind(*id)
                    .bind(SendStatus::HandingOver as i64)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
                    match status {
                        SendStatus::Sent => settled.sent += moved,
                        _ => settled.queued += moved,
                    }
                }
            }
            drop_sends_of_stopped_in(tx, self.engine, &interrupted.undelivered).await?;
            settled.uncertain = sqlx::query("UPDATE sends SET status = $1 WHERE status = $2")
                .bind(SendStatus::Uncertain as i64)
                .bind(SendStatus::HandingOver as i64)
                .execute(&mut *tx)
                .await?
                .rows_affected();
            Ok(settled)
        })
        .await
    }

    /// Claims up to `limit` due sends of sending campaigns (not paused ones), the earliest due
    /// first (in the order of the index of due sends, not sorted), marking them as being handed
    /// over (committed before the caller sends anything).
    pub async fn claim_sends(
        &self,
        limit: i64,
        now: Timestamp,
    ) -> Result<Vec<ClaimedSend>, StoreError> {
        let rows = sqlx::query(&format!(
            "UPDATE sends SET status = $1, attempts = attempts + 1 WHERE id IN \
             (SELECT id FROM sends WHERE status = $2 AND next_attempt_at <= $3 \
             AND EXISTS (SELECT 1 FROM campaigns c WHERE c.id = sends.campaign_id AND c.status = $5) \
             ORDER BY next_attempt_at, id LIMIT $4{}) \
             RETURNING id, account_id, campaign_id, contact_id, attempts, to_address",
            self.engine.skip_locked()
        ))
        .bind(SendStatus::HandingOver as i64)
        .bind(SendStatus::Queued as i64)
        .bind(now.0)
        .bind(limit)
        .bind(CampaignStatus::Sending.code())
        .fetch_all(&self.writer)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(ClaimedSend {
                    id: row.try_get("id")?,
                    account: AccountId(row.try_get("account_id")?),
                    campaign: CampaignId(row.try_get("campaign_id")?),
                    contact: ContactId(row.try_get("contact_id")?),
                    attempts: row.try_get("attempts")?,
                    notify: row.try_get("to_address")?,
                })
            })
            .collect()
    }

    /// Records how each of `finished` (in the order they finished) went, in one commit: sent,
    /// queued again for a retry, or bounced (the contact is then marked bounced on the
    /// campaign's list, or, for a campaign to a segment alone, on every list it was subscribed
    /// to, and a `__bounce` event with the campaign and the server's answer goes on
    /// its timeline). Failures that are not the recipients' count against their campaign, which
    /// is paused when they persist (see [`crate::campaign_pause`]); answers the campaigns this
    /// round paused.
    pub async fn finish_sends(
        &self,
        finished: &[(ClaimedSend, SendOutcome)],
        now: Timestamp,
    ) -> Result<Vec<CampaignId>, StoreError> {
        self.write(async |tx| {
            let sent: Vec<i64> = finished
                .iter()
                .filter(|(_, outcome)| matches!(outcome, SendOutcome::Sent))
                .map(|(send, _)| send.id)
                .collect();
            for chunk in sent.chunks(500) {
                let mut update = Statement::new(self.engine, "UPDATE sends SET status = ");
                update
                    .push_bind(SendStatus::Sent as i64)
                    .and(", next_attempt_at = ", now.0)
                    .and(", last_error = NULL, sent_at = ", now.0)
                    .push(" WHERE id IN ")
                    .push_row(chunk.iter().map(|&id| Value::from(id)));
                update.query().execute(&mut *tx).await?;
            }
            let mut bounces = Vec::new();
            for (send, outcome) in finished {
                let (status, next, error) = match outcome {
                    SendOutcome::Sent => continue,
                    SendOutcome::Dropped => {
                        sqlx::query("DELETE FROM sends WHERE id = $1")
                            .bind(send.id)
                            .execute(&mut *tx)
                            .await?;
                        continue;
                    }
                    SendOutcome::Deferred { at, error } | SendOutcome::Failed { at, error } => {
                        (SendStatus::Queued, *at, error.as_str())
                    }
                    SendOutcome::Bounced { error } => (SendStatus::Bounced, now, error.as_str()),
                };
                sqlx::query(
                    "UPDATE sends SET status = $1, next_attempt_at = $2, last_error = $3 \
                     WHERE id = $4",
                )
                .bind(status as i64)
                .bind(next.0)
                .bind(error)
                .bind(send.id)
                .execute(&mut *tx)
                .await?;
                // A notification's address is not the contact's: its bounce is only its own.
                if status == SendStatus::Bounced && send.notify.is_none() {
                    sqlx::query(
                        "UPDATE contact_lists SET status = $1, updated_at = $2 WHERE account_id = $3 \
                         AND contact_id = $4 AND (list_id = (SELECT list_id FROM campaigns WHERE id = $5) \
                         OR (status = $6 AND EXISTS (SELECT 1 FROM campaigns \
                         WHERE id = $5 AND list_id IS NULL)))",
                    )
                    .bind(ListStatus::Bounced.code())
                    .bind(now.0)
                    .bind(send.account.0)
                    .bind(send.contact.0)
                    .bind(send.campaign.0)
                    .bind(ListStatus::Active.code())
                    .execute(&mut *tx)
                    .await?;
                    let data = format!("campaign:{} {error}", send.campaign);
                    let mut bounce = NewEvent::of_contact(
                        send.account,
                        EventKind::Bounce,
                        BOUNCE_EVENT,
                        send.contact,
                        Some(data),
                        now,
                    );
                    bounce.source = Some(EventSource::Campaign(send.campaign));
                    bounces.push(bounce);
                }
            }
            record_events_in(self.engine, tx, &bounces, now).await?;
            let queued_again: Vec<i64> = finished
                .iter()
                .filter(|(_, outcome)| {
                    matches!(outcome, SendOutcome::Deferred { .. } | SendOutcome::Failed { .. })
                })
                .map(|(send, _)| send.id)
                .collect();
            drop_sends_of_stopped_in(tx, self.engine, &queued_again).await?;
            pause_failing_campaigns_in(tx, finished, now).await
        })
        .await
    }

    /// Marks sending campaigns with no send left to hand over as completed (not automations'
    /// campaigns, which send as long as their steps do), and reports them
    /// (`sent`) to the webhooks that hear of it.
    pub async fn complete_campaigns(&self, now: Timestamp) -> Result<u64, StoreError> {
        self.write(async |tx| {
            let completed = sqlx::query(
                "UPDATE campaigns SET status = $1, updated_at = $2, finished_at = $2 WHERE status = $3 \
                 AND automation_id IS NULL AND NOT EXISTS (SELECT 1 FROM sends s WHERE s.campaign_id = campaigns.id \
                 AND s.status IN ($4, $5)) RETURNING id, account_id, name, list_id",
            )
            .bind(CampaignStatus::Completed.code())
            .bind(now.0)
            .bind(CampaignStatus::Sending.code())
            .bind(SendStatus::Queued as i64)
            .bind(SendStatus::HandingOver as i64)
            .fetch_all(&mut *tx)
            .await?;
            let mut changes = Vec::with_capacity(completed.len());
            for row in &completed {
                let id: i64 = row.try_get("id")?;
                let account = AccountId(row.try_get("account_id")?);
                let name: String = row.try_get("name")?;
                let sent = Change::new(account, WebhookEvent::SENT, WebhookSource::System, now)
                    .of_list(row.try_get::<Option<i64>, _>("list_id")?.map(ListId))
                    .saying("campaign[id]", id.to_string())
                    .saying("campaign[name]", name);
                changes.push(sent);
            }
            record_changes(tx, self.engine, &changes).await?;
            Ok(completed.len() as u64)
        })
        .await
    }

    /// How many of a campaign's sends are in `status`.
    pub async fn count_sends(
        &self,
        campaign: CampaignId,
        status: SendStatus,
    ) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(*) AS total FROM sends WHERE campaign_id = $1 AND status = $2",
        )
        .bind(campaign.0)
        .bind(status as i64)
        .fetch_one(&self.reader)
        .await?;
        Ok(row.try_get("total")?)
    }

    /// The account's `contacts` as a campaign's message needs them — their attributes, custom
    /// fields, tags and latest event data — in four queries, whatever their number. Contacts
    /// that are gone are missing from the answer.
    pub async fn recipients(
        &self,
        account: AccountId,
        contacts: &[ContactId],
    ) -> Result<Recipients, StoreError> {
        let mut found = HashMap::with_capacity(contacts.len());
        if contacts.is_empty() {
            return Ok(found);
        }
        let ids = || contacts.iter().map(|id| Value::from(id.0));
        let select = |sql: &str, contact_column: &str| {
            let mut statement = Statement::new(self.engine, sql);
            statement
                .push_bind(account.0)
                .push(&format!(" AND {contact_column} IN "))
                .push_row(ids());
            statement
        };
        let rows = select(
            &format!("SELECT {CONTACT_COLUMNS} FROM contacts WHERE account_id = "),
            "id",
        );
        let fields = sqlx::query("SELECT perstag FROM fields WHERE account_id = $1")
            .bind(account.0)
            .fetch_all(&self.reader)
            .await?;
        let mut blank = RecipientData::default();
        for row in fields {
            blank.fields.insert(row.try_get("perstag")?, String::new());
        }
        for row in rows.query().fetch_all(&self.reader).await? {
            let contact = rows::contact(&row)?;
            found.insert(contact.id, (contact, blank.clone()));
        }
        let values = select(
            "SELECT v.contact_id, f.perstag, v.value FROM field_values v \
             JOIN fields f ON f.id = v.field_id WHERE f.account_id = ",
            "v.contact_id",
        );
        for row in values.query().fetch_all(&self.reader).await? {
            if let Some((_, data)) = found.get_mut(&ContactId(row.try_get("contact_id")?)) {
                let value: Option<String> = row.try_get("value")?;
                data.fields
                    .insert(row.try_get("perstag")?, value.unwrap_or_default());
            }
        }
        let tags = select(
            "SELECT ct.contact_id, t.name FROM contact_tags ct JOIN tags t ON t.id = ct.tag_id \
             WHERE ct.account_id = ",
            "ct.contact_id",
        );
        for row in tags.query().fetch_all(&self.reader).await? {
            if let Some((_, data)) = found.get_mut(&ContactId(row.try_get("contact_id")?)) {
                data.tags.push(row.try_get("name")?);
            }
        }
        let mut events = select(
            "SELECT contact_id, name, data FROM events WHERE kind = 'event' AND account_id = ",
            "contact_id",
        );
        // Per contact (the account's index by contact and kind), not by time over the
        // account's whole timeline.
        events.push(" ORDER BY contact_id, occurred_at ASC, id ASC");
        for row in events.query().fetch_all(&self.reader).await? {
            if let Some((_, data)) = found.get_mut(&ContactId(row.try_get("contact_id")?)) {
                let value: Option<String> = row.try_get("data")?;
                data.events
                    .insert(row.try_get("name")?, value.unwrap_or_default());
            }
        }
        Ok(found)
    }
}

/// Drops (marks cancelled) those of the sends `ids` that are queued again although their
/// campaign was stopped while they were being handed over: a stopped campaign sends nothing
/// more, and its queued sends would otherwise wait forever.
async fn drop_sends_of_stopped_in(
    tx: &mut AnyConnection,
    engine: Engine,
    ids: &[i64],
) -> Result<(), StoreError> {
    for chunk in ids.chunks(500) {
        let mut update = Statement::new(engine, "UPDATE sends SET status = ");
        update
            .push_bind(SendStatus::Cancelled as i64)
            .and(" WHERE status = ", SendStatus::Queued as i64)
            .and(
                " AND campaign_id IN (SELECT id FROM campaigns WHERE status = ",
                CampaignStatus::Stopped.code(),
            )
            .push(") AND id IN ")
            .push_row(chunk.iter().map(|&id| Value::from(id)));
        update.query().execute(&mut *tx).await?;
    }
    Ok(())
}
