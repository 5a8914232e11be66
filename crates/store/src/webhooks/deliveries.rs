//! Deliveries: taken for an attempt when due (a lease moves them out of the way, so that a
//! worker that dies mid-attempt leaves them to another once it is over; on PostgreSQL, several
//! nodes take different ones), and the attempt's outcome recorded: delivered, tried again at a
//! later time, failed for good, or gone (the receiver answered 410, and its subscription is
//! disabled in the same transaction).

use std::time::Duration;

use secrecy::SecretString;
use sqlx::Row;
use tracklane_core::ids::{AccountId, WebhookDeliveryId, WebhookId};
use tracklane_core::time::Timestamp;

use crate::sql::{Statement, Value};
use crate::{Engine, Store, StoreError};

/// The most deliveries of one subscription that one claim takes.
pub const PER_WEBHOOK: i64 = 50;

/// What a claim leaves alone: the subscriptions and accounts that already have their share
/// of a worker's attempts.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Saturated {
    /// Subscriptions whose deliveries are not taken.
    pub webhooks: Vec<WebhookId>,
    /// Accounts whose deliveries are not taken.
    pub accounts: Vec<AccountId>,
}

/// A delivery taken for an attempt.
#[derive(Debug)]
pub struct DueDelivery {
    /// Its id.
    pub id: WebhookDeliveryId,
    /// Its account.
    pub account: AccountId,
    /// Its subscription.
    pub webhook: WebhookId,
    /// The receiver's URL.
    pub url: String,
    /// The subscription's signing secret.
    pub secret: SecretString,
    /// The body's media type.
    pub content_type: String,
    /// The body.
    pub body: String,
    /// How many attempts were made before this one.
    pub attempts: i64,
    /// When the first attempt was made, if one was.
    pub first_attempt_at: Option<Timestamp>,
}

/// Where a delivery stands after an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryStatus {
    /// To be tried again at this time.
    Pending(Timestamp),
    /// The receiver took it.
    Delivered,
    /// Failed for good.
    Failed,
    /// The receiver answered 410 Gone: its subscription is disabled.
    Gone,
}

/// The stored names of where deliveries stand, in the order of [`DeliveryStatus`].
pub const STATUSES: [&str; 4] = ["pending", "delivered", "failed", "gone"];

impl DeliveryStatus {
    /// The stored name.
    fn name(self) -> &'static str {
        STATUSES[match self {
            Self::Pending(_) => 0,
            Self::Delivered => 1,
            Self::Failed => 2,
            Self::Gone => 3,
        }]
    }
}

/// An attempt's outcome, as the delivery log keeps it.
#[derive(Debug, Clone)]
pub struct AttemptRecord {
    /// Where the delivery stands now.
    pub status: DeliveryStatus,
    /// The receiver's status code, when it answered.
    pub http_status: Option<u16>,
    /// The start of its answer, or what failed.
    pub detail: String,
}

impl Store {
    /// Takes up to `limit` deliveries due at `now`, for attempts that end within `lease`:
    /// subscriptions take turns, in the order of their ids from the first after `after`, each
    /// giving its soonest due ones, at most [`PER_WEBHOOK`] of them, so that a burst for one
    /// receiver leaves room in the claim for the others' and a claim costs in proportion to
    /// what it takes. The `saturated` ones, and disabled subscriptions, give none.
    pub async fn claim_webhook_deliveries(
        &self,
        now: Timestamp,
        lease: Duration,
        limit: i64,
        after: WebhookId,
        saturated: &Saturated,
    ) -> Result<Vec<DueDelivery>, StoreError> {
        let engine = self.engine;
        let until = now.0 + i64::try_from(lease.as_micros()).unwrap_or(i64::MAX / 2);
        // An idle server opens no write transaction (nor marks writes healthy by one that
        // wrote nothing).
        let any: Option<i64> = sqlx::query_scalar(
            "SELECT id FROM webhook_deliveries WHERE next_attempt_at IS NOT NULL \
             AND next_attempt_at <= $1 LIMIT 1",
        )
        .bind(now.0)
        .fetch_optional(&self.reader)
        .await?;
        if any.is_none() {
            return Ok(Vec::new());
        }
        self.write_in_background(async |tx| {
            // Each subscription's soonest (`y`): SQLite walks them through `IN`, PostgreSQL
            // through `LATERAL` (it would test `IN` on every delivery of every subscription).
            // The test of `d` itself is what PostgreSQL checks again on a row another worker
            // leased meanwhile (the subquery is not), so that no two workers take the same one.
            let (soonest, of_each) = match engine {
                Engine::Sqlite => ("JOIN webhook_deliveries y ON y.id IN (SELECT q.id", ")"),
                Engine::Postgres => ("CROSS JOIN LATERAL (SELECT q.id, q.next_attempt_at", ") y"),
            };
            let mut select = Statement::new(
                engine,
                &format!(
                    "SELECT d.id, d.account_id, d.webhook_id, w.url, w.secret, d.content_type, \
                     d.body, d.attempts, d.first_attempt_at FROM webhook_deliveries d \
                     JOIN webhooks w ON w.id = d.webhook_id WHERE d.id IN (SELECT y.id \
                     FROM webhooks v {soonest} FROM webhook_deliveries q \
                     WHERE q.webhook_id = v.id AND q.next_attempt_at IS NOT NULL \
                     AND q.next_attempt_at <= "
                ),
            );
            select
                .push_bind(now.0)
                .push(" ORDER BY q.next_attempt_at, q.id LIMIT ")
                .push_bind(PER_WEBHOOK)
                .push(of_each)
                .push(" WHERE v.disabled_at IS NULL")
                .and(" AND v.id > ", after.0);
            if !saturated.webhooks.is_empty() {
                select
                    .push(" AND v.id NOT IN ")
                    .push_row(saturated.webhooks.iter().map(|webhook| webhook.0.into()));
            }
            if !saturated.accounts.is_empty() {
                select
                    .push(" AND v.account_id NOT IN ")
                    .push_row(saturated.accounts.iter().map(|account| account.0.into()));
            }
            select
                .push(" ORDER BY v.id, y.next_attempt_at, y.id LIMIT ")
                .push_bind(limit)
                .push(") AND d.next_attempt_at <= ")
                .push_bind(now.0)
                .push(" ORDER BY d.webhook_id, d.next_attempt_at, d.id")
                .push(&engine.skip_locked_of("d"));
            let mut due = Vec::new();
            for row in select.query().fetch_all(&mut *tx).await? {
                due.push(DueDelivery {
                    id: WebhookDeliveryId(row.try_get("id")?),
                    account: AccountId(row.try_get("account_id")?),
                    webhook: WebhookId(row.try_get("webhook_id")?),
                    url: row.try_get("url")?,
                    secret: SecretString::from(row.try_get::<String, _>("secret")?),
                    content_type: row.try_get("content_type")?,
                    body: row.try_get("body")?,
                    attempts: row.try_get("attempts")?,
                    first_attempt_at: row
                        .try_get::<Option<i64>, _>("first_attempt_at")?
                        .map(Timestamp),
                });
            }
            for chunk in due.chunks(500) {
                let mut lease =
                    Statement::new(engine, "UPDATE webhook_deliveries SET next_attempt_at = ");
                lease
                    .push_bind(until)
                    .push(" WHERE id IN ")
                    .push_row(chunk.iter().map(|delivery| delivery.id.0.into()));
                lease.query().execute(&mut *tx).await?;
            }
            Ok(due)
        })
        .await
    }

    /// Gives back deliveries taken for attempts that were not made (their worker is
    /// stopping, or their receiver is too busy): they are due again at `now`, to this worker
    /// or another.
    pub async fn release_webhook_deliveries(
        &self,
        deliveries: &[WebhookDeliveryId],
        now: Timestamp,
    ) -> Result<(), StoreError> {
        if deliveries.is_empty() {
            return Ok(());
        }
        let engine = self.engine;
        self.write_in_background(async |tx| {
            for chunk in deliveries.chunks(500) {
                let mut release =
                    Statement::new(engine, "UPDATE webhook_deliveries SET next_attempt_at = ");
                release
                    .push_bind(now.0)
                    .push(" WHERE status = 'pending' AND id IN ")
                    .push_row(chunk.iter().map(|delivery| delivery.0.into()));
                release.query().execute(&mut *tx).await?;
            }
            Ok(())
        })
        .await
    }

    /// Records attempts, each made at its time at a delivery of a subscription, in one
    /// transaction; disables the subscriptions whose receivers are gone.
    pub async fn record_webhook_attempts(
        &self,
        attempts: &[(WebhookDeliveryId, WebhookId, AttemptRecord, Timestamp)],
    ) -> Result<(), StoreError> {
        if attempts.is_empty() {
            return Ok(());
        }
        let engine = self.engine;
        self.write_in_background(async |tx| {
            // One statement per hundred attempts: each row of VALUES is a delivery's id, then
            // what becomes of it.
            for chunk in attempts.chunks(100) {
                let mut update = Statement::new(
                    engine,
                    "UPDATE webhook_deliveries SET status = v.column2, attempts = attempts + 1, \
                     first_attempt_at = COALESCE(first_attempt_at, v.column3), \
                     last_attempt_at = v.column3, last_status = v.column4, \
                     last_detail = v.column5, next_attempt_at = v.column6, \
                     finished_at = v.column7 FROM (VALUES ",
                );
                update.push_rows(chunk.iter().map(|(delivery, _, record, at)| {
                    let (next, finished) = match record.status {
                        DeliveryStatus::Pending(due) => (Some(due.0), None),
                        _ => (None, Some(at.0)),
                    };
                    [
                        Value::from(delivery.0),
                        record.status.name().into(),
                        at.0.into(),
                        record.http_status.map(i64::from).into(),
                        record.detail.as_str().into(),
                        next.into(),
                        finished.into(),
                    ]
                }));
                update.push(") AS v WHERE webhook_deliveries.id = v.column1");
                update.query().execute(&mut *tx).await?;
            }
            for (_, webhook, record, at) in attempts {
                if record.status == DeliveryStatus::Gone {
                    sqlx::query(
                        "UPDATE webhooks SET disabled_at = $1 WHERE id = $2 \
                         AND disabled_at IS NULL",
                    )
                    .bind(at.0)
                    .bind(webhook.0)
                    .execute(&mut *tx)
                    .await?;
                }
            }
            Ok(())
        })
        .await
    }
}
