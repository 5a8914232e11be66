//! The `webhook` step of automations: a delivery to the subscription it names, written in the
//! move's transaction (one per run, visit and step; migration 0035), that the webhook worker
//! then delivers as it delivers changes: signed with the subscription's secret under the same
//! `webhook-id` at each attempt, and retried.

use std::collections::BTreeSet;

use sqlx::AnyConnection;
use tracklane_core::ids::WebhookId;
use tracklane_core::invalid::Invalid;
use tracklane_core::time::Timestamp;
use tracklane_core::webhook::event::{WebhookEvent, WebhookSource};
use tracklane_core::webhook::payload::{PayloadChange, PayloadFormat};

use super::claims::Claimed;
use crate::webhooks::changes::payload_contacts;
use crate::{Engine, StoreError};

/// Queues the post of the claimed run's contact to the subscription `webhook` (the account's),
/// as step `step`: a payload of type `automation` saying the automation and the step.
pub(crate) async fn queue_post_in(
    tx: &mut AnyConnection,
    engine: Engine,
    claimed: &Claimed,
    step: &str,
    webhook: WebhookId,
    now: Timestamp,
) -> Result<(), StoreError> {
    let format: Option<String> =
        sqlx::query_scalar("SELECT format FROM webhooks WHERE id = $1 AND account_id = $2")
            .bind(webhook.0)
            .bind(claimed.account.0)
            .fetch_optional(&mut *tx)
            .await?;
    let format = format
        .ok_or_else(|| Invalid::bad_value("webhook", format!("there is no webhook {webhook}")))?;
    let format = PayloadFormat::parse(&format)?;
    let mut people = payload_contacts(tx, engine, &BTreeSet::from([claimed.contact])).await?;
    let payload = PayloadChange {
        event: WebhookEvent::AUTOMATION,
        at: now,
        source: WebhookSource::System,
        list: None,
        contact: people.remove(&claimed.contact),
        extra: vec![
            ("automation[id]".to_owned(), claimed.automation.to_string()),
            ("automation[step]".to_owned(), step.to_owned()),
            ("automation[run]".to_owned(), claimed.run.to_string()),
        ],
    };
    sqlx::query(
        "INSERT INTO webhook_deliveries (account_id, webhook_id, type, content_type, body, \
         status, next_attempt_at, created_at, run_id, visit, step) \
         VALUES ($1, $2, $3, $4, $5, 'pending', $6, $6, $7, $8, $9) \
         ON CONFLICT (run_id, visit, step) WHERE run_id IS NOT NULL DO NOTHING",
    )
    .bind(claimed.account.0)
    .bind(webhook.0)
    .bind(WebhookEvent::AUTOMATION.name())
    .bind(format.media_type())
    .bind(payload.body(format))
    .bind(now.0)
    .bind(claimed.run.0)
    .bind(claimed.epoch)
    .bind(step)
    .execute(&mut *tx)
    .await?;
    Ok(())
}
