//! `/webhooks`: webhook subscriptions in ActiveCampaign's shape (create, list with
//! `filters[name|url|listid]`, get, update, delete), the event types (`GET /webhook/events`,
//! also spelled `/webhooks/events`), and Tracklane's own rotation of a signing secret
//! (`POST /webhooks/{id}/secret`). The secret is in the answer only when it is made or
//! rotated. A receiver that deliveries may not reach (a private or metadata address, or a name
//! that does not resolve) is refused with a 422.

use axum::http::StatusCode;
use axum::Json;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{json, Value};
use tracklane_core::ids::{ListId, WebhookDeliveryId, WebhookId};
use tracklane_core::invalid::Invalid;
use tracklane_core::time::Timestamp;
use tracklane_core::webhook::event::WebhookEvent;
use tracklane_core::webhook::receiver::ReceiverUrl;
use tracklane_core::webhook::{new_secret, Webhook, WebhookInput};
use tracklane_store::sql::TextOp;
use tracklane_store::webhooks::deliveries::STATUSES;
use tracklane_store::webhooks::log::LoggedDelivery;
use tracklane_store::webhooks::WebhookQuery;

use super::doc::{get, post, ApiRouter};
use super::error::{reference_error, ApiError};
use super::extract::{ApiJson, ApiQuery, LooseId};
use super::render::meta;
use super::resource::{Ctx, PathId, Resource};
use crate::webhooks::receiver::check_receiver;

/// The webhook routes.
pub fn routes() -> ApiRouter {
    ApiRouter::new("Webhooks")
        .route("/webhooks", get(list, "GET /webhooks: filters[name], filters[url] (equal, or filters[x][op]), filters[listid], paging.").post(create, "POST /webhooks: 201 with the subscription and its secret."))
        .route("/webhooks/events", get(events, "GET /webhook/events and /webhooks/events: every event type a subscription may name."))
        .route("/webhook/events", get(events, "GET /webhook/events and /webhooks/events: every event type a subscription may name."))
        .route("/webhooks/{id}", get(show, "GET /webhooks/{id}.").put(update, "PUT /webhooks/{id}: the attributes given change.").delete(remove, "DELETE /webhooks/{id}: {}."))
        .route("/webhooks/{id}/secret", post(rotate, "POST /webhooks/{id}/secret (Tracklane's): a new signing secret, shown this once."))
        .route("/webhooks/{id}/deliveries", get(deliveries, "GET /webhooks/{id}/deliveries (Tracklane's): the delivery log, newest first, paged; status=pending|delivered|failed|gone."))
        .route("/webhooks/{id}/replay", post(replay_failed, "POST /webhooks/{id}/replay (Tracklane's): {\"replay\": {\"from\", \"until\"}} (ISO 8601; until defaults to now): every failed delivery made in that range is tried again now."))
        .route("/webhookDeliveries/{id}", get(show_delivery, "GET /webhookDeliveries/{id} (Tracklane's)."))
        .route("/webhookDeliveries/{id}/replay", post(replay, "POST /webhookDeliveries/{id}/replay (Tracklane's): the delivery is tried again now."))
}

impl Resource for Webhook {
    const ONE: &'static str = "webhook";
    const MANY: &'static str = "webhooks";

    fn json(&self, _base: &str) -> Value {
        json!({
            "cdate": self.created_at.to_api(),
            "listid": self.list.map_or(0, |list| list.0).to_string(),
            "name": self.name,
            "url": self.url,
            "events": self.events.iter().map(|event| event.name()).collect::<Vec<_>>(),
            "sources": self.sources.iter().map(|source| source.name()).collect::<Vec<_>>(),
            "links": [],
            "id": self.id.to_string(),
            "disabled": self.disabled_at.is_some(),
            "format": self.format.name(),
        })
    }
}

#[derive(Debug, Deserialize)]
struct WebhookEnvelope {
    webhook: Option<WebhookBody>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct WebhookBody {
    name: Option<String>,
    url: Option<String>,
    events: Option<Vec<String>>,
    sources: Option<Vec<String>>,
    listid: Option<LooseId>,
    disabled: Option<bool>,
    format: Option<String>,
}

impl WebhookEnvelope {
    fn into_input(self) -> Result<WebhookInput, Invalid> {
        let body = self.webhook.ok_or_else(|| Invalid::missing("webhook"))?;
        Ok(WebhookInput {
            name: body.name,
            url: body.url,
            events: body.events,
            sources: body.sources,
            list: body.listid.map(|id| id.id("listid")).transpose()?,
            disabled: body.disabled,
            format: body.format,
        })
    }
}

/// Refuses a receiver deliveries may not reach, and a list that is not the account's.
async fn check_targets(
    ctx: &Ctx,
    url: Option<&ReceiverUrl>,
    list: Option<ListId>,
) -> Result<(), ApiError> {
    if let Some(url) = url {
        check_receiver(url, ctx.state.settings.allow_private_webhooks)
            .await
            .map_err(Invalid::from)?;
    }
    if let Some(list) = list {
        ctx.store()
            .existing_list(ctx.account, list)
            .await
            .map_err(reference_error)?;
    }
    Ok(())
}

/// `{"webhook": {...}}` with the secret just made.
fn with_secret(ctx: &Ctx, webhook: &Webhook, secret: &SecretString) -> Json<Value> {
    let mut one = webhook.json(ctx.base());
    one["secret"] = Value::from(secret.expose_secret());
    Json(json!({ "webhook": one }))
}

/// A fresh signing secret.
fn secret() -> Result<SecretString, ApiError> {
    new_secret().map_err(|_| ApiError::Internal(anyhow::anyhow!("no randomness for a new secret")))
}

/// `POST /webhooks`: 201 with the subscription and its secret.
async fn create(
    ctx: Ctx,
    ApiJson(body): ApiJson<WebhookEnvelope>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let draft = body.into_input()?.into_draft()?;
    check_targets(&ctx, Some(&draft.url), draft.list).await?;
    let secret = secret()?;
    let webhook = ctx
        .store()
        .create_webhook(ctx.account, draft, &secret, ctx.now())
        .await?;
    Ok((StatusCode::CREATED, with_secret(&ctx, &webhook, &secret)))
}

/// `GET /webhooks`: `filters[name]`, `filters[url]` (equal, or `filters[x][op]`),
/// `filters[listid]`, paging.
async fn list(ctx: Ctx, query: ApiQuery) -> Result<Json<Value>, ApiError> {
    let list = query.number("filters[listid]")?;
    let webhook_query = WebhookQuery {
        name: query.text_filter("name", TextOp::Eq)?,
        url: query.text_filter("url", TextOp::Eq)?,
        list: list.map(|id| (id > 0).then_some(ListId(id))),
    };
    let listed = ctx
        .store()
        .webhooks(ctx.account, &webhook_query, query.page()?)
        .await?;
    Ok(ctx.page(&listed))
}

/// `GET /webhooks/{id}`.
async fn show(ctx: Ctx, PathId(id): PathId<WebhookId>) -> Result<Json<Value>, ApiError> {
    Ok(ctx.one(&ctx.store().existing_webhook(ctx.account, id).await?))
}

/// `PUT /webhooks/{id}`: the attributes given change.
async fn update(
    ctx: Ctx,
    PathId(id): PathId<WebhookId>,
    ApiJson(body): ApiJson<WebhookEnvelope>,
) -> Result<Json<Value>, ApiError> {
    let patch = body.into_input()?.into_patch()?;
    ctx.store().existing_webhook(ctx.account, id).await?;
    check_targets(&ctx, patch.url.as_ref(), patch.list.flatten()).await?;
    let webhook = ctx
        .store()
        .update_webhook(ctx.account, id, patch, ctx.now())
        .await?;
    Ok(ctx.one(&webhook))
}

/// `DELETE /webhooks/{id}`: `{}`.
async fn remove(ctx: Ctx, PathId(id): PathId<WebhookId>) -> Result<Json<Value>, ApiError> {
    ctx.store().delete_webhook(ctx.account, id).await?;
    Ok(Json(json!({})))
}

/// `POST /webhooks/{id}/secret` (Tracklane's): a new signing secret, shown this once.
async fn rotate(ctx: Ctx, PathId(id): PathId<WebhookId>) -> Result<Json<Value>, ApiError> {
    let secret = secret()?;
    let webhook = ctx
        .store()
        .rotate_webhook_secret(ctx.account, id, &secret, ctx.now())
        .await?;
    Ok(with_secret(&ctx, &webhook, &secret))
}

impl Resource for LoggedDelivery {
    const ONE: &'static str = "webhookDelivery";
    const MANY: &'static str = "webhookDeliveries";

    fn json(&self, _base: &str) -> Value {
        let at = |at: Option<Timestamp>| at.map(Timestamp::to_api);
        json!({
            "id": self.id.to_string(),
            "webhook": self.webhook.to_string(),
            "type": self.event,
            "status": self.status,
            "attempts": self.attempts,
            "cdate": self.created_at.to_api(),
            "lastAttemptDate": at(self.last_attempt_at),
            "lastResponseCode": self.last_status,
            "lastResponse": self.last_detail,
            "nextAttemptDate": at(self.next_attempt_at),
            "finishedDate": at(self.finished_at),
        })
    }
}

/// `GET /webhooks/{id}/deliveries` (Tracklane's): the delivery log, newest first, paged;
/// `status=pending|delivered|failed|gone`.
async fn deliveries(
    ctx: Ctx,
    PathId(id): PathId<WebhookId>,
    query: ApiQuery,
) -> Result<Json<Value>, ApiError> {
    let status = query.get("status");
    if let Some(status) = status {
        if !STATUSES.contains(&status) {
            return Err(Invalid::bad_value(
                "status",
                "status must be pending, delivered, failed or gone",
            )
            .into());
        }
    }
    let listed = ctx
        .store()
        .webhook_deliveries(ctx.account, id, status, query.page()?)
        .await?;
    Ok(ctx.page(&listed))
}

/// `GET /webhookDeliveries/{id}` (Tracklane's).
async fn show_delivery(
    ctx: Ctx,
    PathId(id): PathId<WebhookDeliveryId>,
) -> Result<Json<Value>, ApiError> {
    Ok(ctx.one(
        &ctx.store()
            .existing_webhook_delivery(ctx.account, id)
            .await?,
    ))
}

/// `POST /webhookDeliveries/{id}/replay` (Tracklane's): the delivery is tried again now.
async fn replay(ctx: Ctx, PathId(id): PathId<WebhookDeliveryId>) -> Result<Json<Value>, ApiError> {
    let delivery = ctx
        .store()
        .existing_webhook_delivery(ctx.account, id)
        .await?;
    enabled(&ctx, delivery.webhook).await?;
    let replayed = ctx
        .store()
        .replay_webhook_delivery(ctx.account, id, ctx.now())
        .await?;
    Ok(ctx.one(&replayed))
}

#[derive(Debug, Deserialize)]
struct ReplayEnvelope {
    replay: Option<ReplayBody>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ReplayBody {
    from: Option<String>,
    until: Option<String>,
}

/// `POST /webhooks/{id}/replay` (Tracklane's): `{"replay": {"from", "until"}}` (ISO 8601;
/// `until` defaults to now): every failed delivery made in that range is tried again now.
async fn replay_failed(
    ctx: Ctx,
    PathId(id): PathId<WebhookId>,
    ApiJson(body): ApiJson<ReplayEnvelope>,
) -> Result<Json<Value>, ApiError> {
    let body = body.replay.ok_or_else(|| Invalid::missing("replay"))?;
    let from = body
        .from
        .as_deref()
        .ok_or_else(|| Invalid::missing("from"))?;
    let from = Timestamp::parse_attribute("from", from)?;
    let until = match body.until.as_deref() {
        Some(raw) => Timestamp::parse_attribute("until", raw)?,
        None => ctx.now(),
    };
    enabled(&ctx, id).await?;
    let replayed = ctx
        .store()
        .replay_failed_webhook_deliveries(ctx.account, id, (from, until), ctx.now())
        .await?;
    Ok(Json(json!({ "replayed": replayed })))
}

/// Refuses to replay the deliveries of a disabled subscription.
async fn enabled(ctx: &Ctx, id: WebhookId) -> Result<(), ApiError> {
    let webhook = ctx.store().existing_webhook(ctx.account, id).await?;
    if webhook.disabled_at.is_some() {
        return Err(Invalid::bad_value(
            "webhook",
            "the webhook is disabled (its receiver answered 410 Gone): enable it with \
             PUT /webhooks/{id} {\"webhook\": {\"disabled\": false}} first",
        )
        .into());
    }
    Ok(())
}

/// `GET /webhook/events` and `/webhooks/events`: every event type a subscription may name.
async fn events() -> Json<Value> {
    Json(json!({
        "webhookEvents": WebhookEvent::ALL.iter().map(|event| event.name()).collect::<Vec<_>>(),
        "meta": meta(WebhookEvent::ALL.len()),
    }))
}
