//! The delivery log: each subscription's deliveries with their status, attempts and the
//! receiver's last answer; replaying one delivery or every failed one of a time range (each
//! tried again now, for another day); and the expiry of finished deliveries after
//! [`LOG_DAYS`].

use sqlx::any::AnyRow;
use sqlx::Row;
use tracklane_core::ids::{AccountId, WebhookDeliveryId, WebhookId};
use tracklane_core::page::Page;
use tracklane_core::time::Timestamp;

use crate::listing::{owned_row, page_of, Listed};
use crate::sql::Statement;
use crate::writes::Written;
use crate::{Model, Store, StoreError};

/// How many days a finished delivery (delivered, failed or gone) stays in the log.
pub const LOG_DAYS: i64 = 30;

/// The columns [`logged`] reads.
const LOG_COLUMNS: &str = "id, webhook_id, type, status, attempts, created_at, \
     first_attempt_at, last_attempt_at, last_status, last_detail, next_attempt_at, finished_at";

/// A delivery as the log shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedDelivery {
    /// Its id.
    pub id: WebhookDeliveryId,
    /// Its subscription.
    pub webhook: WebhookId,
    /// The type of the change it reports.
    pub event: String,
    /// `pending`, `delivered`, `failed` or `gone`.
    pub status: String,
    /// How many attempts were made.
    pub attempts: i64,
    /// When it was made.
    pub created_at: Timestamp,
    /// When the last attempt was made, if one was.
    pub last_attempt_at: Option<Timestamp>,
    /// The receiver's last status code, if it answered.
    pub last_status: Option<i64>,
    /// The start of its last answer, or what failed.
    pub last_detail: Option<String>,
    /// When it is due, while pending.
    pub next_attempt_at: Option<Timestamp>,
    /// When it was delivered, failed or gone.
    pub finished_at: Option<Timestamp>,
}

/// A logged delivery row.
fn logged(row: &AnyRow) -> Result<LoggedDelivery, sqlx::Error> {
    let at = |column: &str| -> Result<Option<Timestamp>, sqlx::Error> {
        Ok(row.try_get::<Option<i64>, _>(column)?.map(Timestamp))
    };
    Ok(LoggedDelivery {
        id: WebhookDeliveryId(row.try_get("id")?),
        webhook: WebhookId(row.try_get("webhook_id")?),
        event: row.try_get("type")?,
        status: row.try_get("status")?,
        attempts: row.try_get("attempts")?,
        created_at: Timestamp(row.try_get("created_at")?),
        last_attempt_at: at("last_attempt_at")?,
        last_status: row.try_get("last_status")?,
        last_detail: row.try_get("last_detail")?,
        next_attempt_at: at("next_attempt_at")?,
        finished_at: at("finished_at")?,
    })
}

/// `SET` of a delivery tried again at `now`: pending, due now, a day of attempts from now.
const REPLAY: &str = "UPDATE webhook_deliveries SET status = 'pending', first_attempt_at = NULL, \
     finished_at = NULL, next_attempt_at = ";

impl Store {
    /// One page of a subscription's deliveries, newest first; only those of `status` when
    /// given.
    pub async fn webhook_deliveries(
        &self,
        account: AccountId,
        webhook: WebhookId,
        status: Option<&str>,
        page: Page,
    ) -> Result<Listed<LoggedDelivery>, StoreError> {
        self.existing_webhook(account, webhook).await?;
        let mut filter =
            Statement::new(self.engine, " FROM webhook_deliveries WHERE account_id = ");
        filter
            .push_bind(account.0)
            .and(" AND webhook_id = ", webhook.0);
        if let Some(status) = status {
            filter.and(" AND status = ", status);
        }
        page_of(&self.reader, LOG_COLUMNS, &filter, "id DESC", page, logged).await
    }

    /// The delivery with this id, or [`StoreError::NotFound`].
    pub async fn existing_webhook_delivery(
        &self,
        account: AccountId,
        id: WebhookDeliveryId,
    ) -> Result<LoggedDelivery, StoreError> {
        let key = (Model::WebhookDelivery, account, id.0);
        owned_row(&self.reader, "webhook_deliveries", LOG_COLUMNS, key, logged).await
    }

    /// Tries a delivery again now (whatever its status), for another day of attempts.
    pub async fn replay_webhook_delivery(
        &self,
        account: AccountId,
        id: WebhookDeliveryId,
        now: Timestamp,
    ) -> Result<LoggedDelivery, StoreError> {
        self.existing_webhook_delivery(account, id).await?;
        let mut update = Statement::new(self.engine, REPLAY);
        update
            .push_bind(now.0)
            .and(" WHERE account_id = ", account.0)
            .and(" AND id = ", id.0);
        update.query().execute(&self.writer).written(self).await?;
        self.existing_webhook_delivery(account, id).await
    }

    /// Tries again now every failed delivery of a subscription made from `from` to `until`
    /// (both included).
    /// Returns how many.
    pub async fn replay_failed_webhook_deliveries(
        &self,
        account: AccountId,
        webhook: WebhookId,
        (from, until): (Timestamp, Timestamp),
        now: Timestamp,
    ) -> Result<u64, StoreError> {
        self.existing_webhook(account, webhook).await?;
        let mut update = Statement::new(self.engine, REPLAY);
        update
            .push_bind(now.0)
            .and(" WHERE account_id = ", account.0)
            .and(" AND webhook_id = ", webhook.0)
            .push(" AND status = 'failed'")
            .and(" AND created_at >= ", from.0)
            .and(" AND created_at <= ", until.0);
        let replayed = update.query().execute(&self.writer).written(self).await?;
        Ok(replayed.rows_affected())
    }

    /// Deletes the deliveries that finished before `cutoff`. Returns how many.
    pub async fn expire_webhook_deliveries(&self, cutoff: Timestamp) -> Result<u64, StoreError> {
        let expired = sqlx::query(
            "DELETE FROM webhook_deliveries WHERE finished_at IS NOT NULL AND finished_at < $1",
        )
        .bind(cutoff.0)
        .execute(&self.writer)
        .written(self)
        .await?;
        Ok(expired.rows_affected())
    }
}
