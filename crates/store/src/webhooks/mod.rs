//! Webhook subscriptions: their receivers, event types, sources, list and signing secret. An
//! account holds at most [`WEBHOOKS_MAX`] of them. The secret is read only by deliveries and
//! written when a subscription is made or its secret rotated.
//!
//! - [`changes`]: the changes subscriptions hear of, recorded with the change, and turned into
//!   deliveries.
//! - [`deliveries`]: deliveries taken for attempts, and the attempts' outcomes.
//! - [`log`]: the delivery log, replays, and the log's expiry.
//! - `timeline`: the changes new timeline rows report.

pub mod changes;
pub mod deliveries;
pub mod log;
pub(crate) mod timeline;

use secrecy::{ExposeSecret, SecretString};
use sqlx::any::AnyRow;
use sqlx::Row;
use tracklane_core::ids::{AccountId, ListId, WebhookId};
use tracklane_core::invalid::Invalid;
use tracklane_core::page::Page;
use tracklane_core::time::Timestamp;
use tracklane_core::webhook::event::{WebhookEvent, WebhookSource};
use tracklane_core::webhook::payload::PayloadFormat;
use tracklane_core::webhook::{Webhook, WebhookDraft, WebhookPatch};

use crate::listing::{owned_row, page_of, Listed};
use crate::sql::{Statement, TextFilter};
use crate::writes::Written;
use crate::{Model, Store, StoreError};

/// The most subscriptions an account may hold.
pub const WEBHOOKS_MAX: i64 = 2_000;

/// The columns [`webhook`] reads.
pub(crate) const WEBHOOK_COLUMNS: &str =
    "id, name, url, events, sources, list_id, disabled_at, format, created_at, updated_at";

/// Which subscriptions to list (AC's `filters[name]`, `filters[url]`, `filters[listid]`).
#[derive(Debug, Clone, Default)]
pub struct WebhookQuery {
    /// A condition on the name.
    pub name: Option<TextFilter>,
    /// A condition on the receiver URL.
    pub url: Option<TextFilter>,
    /// Only those of this list (`Some(None)`: those of every list).
    pub list: Option<Option<ListId>>,
}

/// A stored subscription row.
pub(crate) fn webhook(row: &AnyRow) -> Result<Webhook, sqlx::Error> {
    Ok(Webhook {
        id: WebhookId(row.try_get("id")?),
        name: row.try_get("name")?,
        url: row.try_get("url")?,
        events: names(row.try_get("events")?, WebhookEvent::parse)?,
        sources: names(row.try_get("sources")?, WebhookSource::parse)?,
        list: row.try_get::<Option<i64>, _>("list_id")?.map(ListId),
        disabled_at: row.try_get::<Option<i64>, _>("disabled_at")?.map(Timestamp),
        format: PayloadFormat::parse(&row.try_get::<String, _>("format")?)
            .map_err(|invalid| sqlx::Error::Decode(Box::new(invalid)))?,
        created_at: Timestamp(row.try_get("created_at")?),
        updated_at: Timestamp(row.try_get("updated_at")?),
    })
}

/// The values of a stored comma-separated list of names.
fn names<T>(stored: String, parse: fn(&str) -> Result<T, Invalid>) -> Result<Vec<T>, sqlx::Error> {
    stored
        .split(',')
        .filter(|name| !name.is_empty())
        .map(|name| parse(name).map_err(|invalid| sqlx::Error::Decode(Box::new(invalid))))
        .collect()
}

/// The stored form of event types or sources: their names, comma-separated.
fn joined<T: Copy>(values: &[T], name: fn(T) -> &'static str) -> String {
    values
        .iter()
        .map(|&value| name(value))
        .collect::<Vec<_>>()
        .join(",")
}

impl Store {
    /// Saves a new subscription with its signing secret; refused past [`WEBHOOKS_MAX`].
    pub async fn create_webhook(
        &self,
        account: AccountId,
        draft: WebhookDraft,
        secret: &SecretString,
        now: Timestamp,
    ) -> Result<Webhook, StoreError> {
        let id = self
            .write(async |tx| {
                let held: i64 =
                    sqlx::query_scalar("SELECT COUNT(*) FROM webhooks WHERE account_id = $1")
                        .bind(account.0)
                        .fetch_one(&mut *tx)
                        .await?;
                if held >= WEBHOOKS_MAX {
                    return Err(Invalid::bad_value(
                        "webhook",
                        format!("an account holds at most {WEBHOOKS_MAX} webhooks"),
                    )
                    .into());
                }
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO webhooks (account_id, name, url, events, sources, list_id, \
                     secret, disabled_at, format, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10) RETURNING id",
                )
                .bind(account.0)
                .bind(draft.name)
                .bind(draft.url.url)
                .bind(joined(&draft.events, WebhookEvent::name))
                .bind(joined(&draft.sources, WebhookSource::name))
                .bind(draft.list.map(|list| list.0))
                .bind(secret.expose_secret())
                .bind(draft.disabled.then_some(now.0))
                .bind(draft.format.name())
                .bind(now.0)
                .fetch_one(&mut *tx)
                .await?;
                Ok(id)
            })
            .await?;
        self.existing_webhook(account, WebhookId(id)).await
    }

    /// The subscription with this id, or [`StoreError::NotFound`].
    pub async fn existing_webhook(
        &self,
        account: AccountId,
        id: WebhookId,
    ) -> Result<Webhook, StoreError> {
        let key = (Model::Webhook, account, id.0);
        owned_row(&self.reader, "webhooks", WEBHOOK_COLUMNS, key, webhook).await
    }

    /// One page of the account's subscriptions, oldest first.
    pub async fn webhooks(
        &self,
        account: AccountId,
        query: &WebhookQuery,
        page: Page,
    ) -> Result<Listed<Webhook>, StoreError> {
        let mut filter = Statement::new(self.engine, " FROM webhooks WHERE account_id = ");
        filter.push_bind(account.0);
        if let Some(name) = &query.name {
            filter.and_text(self.engine, "name", name);
        }
        if let Some(url) = &query.url {
            filter.and_text(self.engine, "url", url);
        }
        match query.list {
            Some(Some(list)) => {
                filter.and(" AND list_id = ", list.0);
            }
            Some(None) => {
                filter.push(" AND list_id IS NULL");
            }
            None => {}
        }
        page_of(
            &self.reader,
            WEBHOOK_COLUMNS,
            &filter,
            "id ASC",
            page,
            webhook,
        )
        .await
    }

    /// Changes the attributes present in `patch`.
    pub async fn update_webhook(
        &self,
        account: AccountId,
        id: WebhookId,
        patch: WebhookPatch,
        now: Timestamp,
    ) -> Result<Webhook, StoreError> {
        self.existing_webhook(account, id).await?;
        let mut update = Statement::new(self.engine, "UPDATE webhooks SET updated_at = ");
        update.push_bind(now.0).push_present([
            (", name = ", patch.name),
            (", url = ", patch.url.map(|url| url.url)),
            (
                ", format = ",
                patch.format.map(|format| format.name().to_owned()),
            ),
            (
                ", events = ",
                patch
                    .events
                    .map(|events| joined(&events, WebhookEvent::name)),
            ),
            (
                ", sources = ",
                patch
                    .sources
                    .map(|sources| joined(&sources, WebhookSource::name)),
            ),
        ]);
        if let Some(list) = patch.list {
            update.and(", list_id = ", list.map(|list| list.0));
        }
        match patch.disabled {
            Some(true) => {
                update
                    .and(", disabled_at = COALESCE(disabled_at, ", now.0)
                    .push(")");
            }
            Some(false) => {
                update.push(", disabled_at = NULL");
            }
            None => {}
        }
        update
            .and(" WHERE account_id = ", account.0)
            .and(" AND id = ", id.0);
        update.query().execute(&self.writer).written(self).await?;
        self.existing_webhook(account, id).await
    }

    /// Replaces a subscription's signing secret.
    pub async fn rotate_webhook_secret(
        &self,
        account: AccountId,
        id: WebhookId,
        secret: &SecretString,
        now: Timestamp,
    ) -> Result<Webhook, StoreError> {
        self.existing_webhook(account, id).await?;
        sqlx::query(
            "UPDATE webhooks SET secret = $1, updated_at = $2 WHERE account_id = $3 AND id = $4",
        )
        .bind(secret.expose_secret())
        .bind(now.0)
        .bind(account.0)
        .bind(id.0)
        .execute(&self.writer)
        .written(self)
        .await?;
        self.existing_webhook(account, id).await
    }

    /// Deletes a subscription.
    pub async fn delete_webhook(
        &self,
        account: AccountId,
        id: WebhookId,
    ) -> Result<(), StoreError> {
        self.delete_owned("webhooks", Model::Webhook, account, id.0)
            .await
    }
}
