//! `/webhooks`: webhook subscriptions in ActiveCampaign's shape (create, list with
//! `filters[name|url|listid]`, get, update, delete), the event types (`GET /webhook/events`,
//! also spelled `/webhooks/events`), and Tracklane's own rotation of a signing secret
//! (`POST /webhooks/{id}/secret`). The secret is in the answer only when it is made or
//! rotated. A receiver that deliveries may not reach (a private or metadata address, or a name
//! that does not resolve) is refused with a 422.

use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::{json, Value};
use tracklane_core::ids::{ListId, WebhookId};
use tracklane_core::invalid::Invalid;
use tracklane_core::webhook::event::WebhookEvent;
use tracklane_core::webhook::receiver::ReceiverUrl;
use tracklane_core::webhook::{new_secret, Webhook, WebhookInput};
use tracklane_store::sql::TextOp;
use tracklane_store::webhooks::WebhookQuery;

use super::error::{reference_error, ApiError};
use super::extract::{ApiJson, ApiQuery, LooseId};
use super::resource::{Ctx, PathId, Resource};
use crate::state::AppState;
use crate::webhooks::receiver::check_receiver;

/// The webhook routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/webhooks", get(list).post(create))
        .route("/webhooks/events", get(events))
        .route("/webhook/events", get(events))
        .route("/webhooks/{id}", get(show).put(update).delete(remove))
        .route("/webhooks/{id}/secret", post(rotate))
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

/// `GET /webhook/events` and `/webhooks/events`: every event type a subscription may name.
async fn events() -> Json<Value> {
    Json(json!({
        "webhookEvents": WebhookEvent::ALL.iter().map(|event| event.name()).collect::<Vec<_>>(),
        "meta": {"total": WebhookEvent::ALL.len()},
    }))
}
