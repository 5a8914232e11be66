//! The timeline, in ActiveCampaign's shapes: `/contacts/{id}/trackingLogs`, `/trackingLogs`,
//! `/trackingLogs/{id}/contact` and `/activities?contact=ID`, newest first and paginated. Page
//! visits (type `__pagevisit`, value = the URL) and custom events (type = the event name, value =
//! its data) are both there. Also `POST /contacts/{id}/trackingToken`, Tracklane's own: a contact
//! token (`tl_cid`) to put on links so that the snippet identifies the visitor.

use axum::http::StatusCode;
use axum::Json;
use serde_json::{json, Value};
use tracklane_core::cid::TokenSubject;
use tracklane_core::event::{EventKind, TrackedEvent};
use tracklane_core::ids::{AccountId, ContactId, EventId};
use tracklane_core::invalid::Invalid;
use tracklane_core::page::Page;
use tracklane_core::time::Timestamp;
use tracklane_store::events::EventQuery;
use tracklane_store::{Model, StoreError};

use super::doc::{get, post, ApiRouter};
use super::error::ApiError;
use super::extract::ApiQuery;
use super::render::meta;
use super::resource::{Ctx, PathId, Resource};
use crate::state::AppState;

/// How long a contact token from the API is valid: 90 days.
const TOKEN_DAYS: i64 = 90;

/// The timeline routes.
pub fn routes() -> ApiRouter {
    ApiRouter::new("Timeline")
        .route("/contacts/{id}/trackingLogs", get(contact_logs, "GET /contacts/{id}/trackingLogs."))
        .route("/contacts/{id}/trackingToken", post(token, "POST /contacts/{id}/trackingToken: 201 {\"token\": \"...\", \"expires\": \"...\"}."))
        .route("/trackingLogs", get(account_logs, "GET /trackingLogs: the account's whole timeline (filters[contact] narrows it)."))
        .route("/trackingLogs/{id}/contact", get(log_contact, "GET /trackingLogs/{id}/contact."))
        .route("/activities", get(activities, "GET /activities?contact=ID[&after=TIME]."))
}

/// What AC puts in a tracking log's `value`: the URL of a page visit, the data of an event.
fn value_of(event: &TrackedEvent) -> Option<&str> {
    match event.kind {
        EventKind::PageVisit => event.url.as_deref(),
        _ => event.data.as_deref(),
    }
}

/// A tracking log in AC's shape, with Tracklane's details beside AC's fields.
fn log_json(event: &TrackedEvent, base: &str) -> Value {
    let contact = event.contact.map(|c| c.to_string());
    json!({
        "subscriberid": contact,
        "type": event.name,
        "value": value_of(event),
        "tstamp": event.occurred_at.to_api(),
        "hash": format!("{:040x}", event.id.0),
        "links": {"contact": format!("{base}/api/3/trackingLogs/{}/contact", event.id)},
        "id": event.id.to_string(),
        "contact": contact,
        "kind": event.kind.as_str(),
        "url": event.url,
        "domain": event.domain,
        "referrer": event.referrer,
        "referrerDomain": event.referrer_domain,
        "title": event.title,
        "device": event.device.map(|d| d.as_str()),
        "visitor": event.visitor,
        "startsVisit": event.starts_visit,
    })
}

fn activity_json(event: &TrackedEvent) -> Value {
    let details = json!({
        "type": event.name,
        "value": value_of(event),
        "url": event.url,
        "title": event.title,
        "device": event.device.map(|d| d.as_str()),
    });
    json!({
        "tstamp": event.occurred_at.to_api(),
        "subscriberid": event.contact.map(|c| c.to_string()),
        "reference_type": "TrackingLog",
        "reference_id": event.id.to_string(),
        "reference_action": event.kind.as_str(),
        "jsonData": details.to_string(),
        "userid": "0",
        "permission": null,
        "referenceModelName": "TrackingLog",
        "notes": [],
        "recipients": [],
        "reference": {"type": "TrackingLog", "id": event.id.to_string()},
        "user": null,
        "id": event.id.to_string(),
    })
}

/// One page of tracking logs as `{"trackingLogs": [...], "meta": {...}}`.
async fn logs_answer(
    state: &AppState,
    account: AccountId,
    filter: EventQuery,
    page: Page,
) -> Result<Json<Value>, ApiError> {
    let listed = state.store.events(account, filter, page).await?;
    let base = &state.settings.public_url;
    Ok(Json(json!({
        "trackingLogs": listed.items.iter().map(|e| log_json(e, base)).collect::<Vec<_>>(),
        "meta": meta(listed.total),
    })))
}

/// `GET /contacts/{id}/trackingLogs`.
async fn contact_logs(
    ctx: Ctx,
    PathId(contact): PathId<ContactId>,
    query: ApiQuery,
) -> Result<Json<Value>, ApiError> {
    ctx.store().existing_contact(ctx.account, contact).await?;
    let filter = EventQuery {
        contact: Some(contact),
        ..EventQuery::default()
    };
    logs_answer(&ctx.state, ctx.account, filter, query.page()?).await
}

/// `GET /trackingLogs`: the account's whole timeline (`filters[contact]` narrows it).
async fn account_logs(ctx: Ctx, query: ApiQuery) -> Result<Json<Value>, ApiError> {
    let filter = EventQuery {
        contact: query.number("filters[contact]")?.map(ContactId),
        ..EventQuery::default()
    };
    logs_answer(&ctx.state, ctx.account, filter, query.page()?).await
}

/// `GET /trackingLogs/{id}/contact`.
async fn log_contact(ctx: Ctx, PathId(id): PathId<EventId>) -> Result<Json<Value>, ApiError> {
    let event = ctx.store().existing_event(ctx.account, id).await?;
    let contact = event
        .contact
        .ok_or(ApiError::not_found(Model::Contact, 0))?;
    let contact = ctx.store().existing_contact(ctx.account, contact).await?;
    Ok(ctx.one(&contact))
}

/// `GET /activities?contact=ID[&after=TIME]`.
async fn activities(ctx: Ctx, query: ApiQuery) -> Result<Json<Value>, ApiError> {
    let contact = ContactId(
        query
            .number("contact")?
            .ok_or_else(|| Invalid::missing("contact"))?,
    );
    let after = query
        .get("after")
        .map(|raw| Timestamp::parse_attribute("after", raw))
        .transpose()?;
    let found = ctx.store().existing_contact(ctx.account, contact).await?;
    let filter = EventQuery {
        contact: Some(contact),
        after,
    };
    let listed = ctx
        .store()
        .events(ctx.account, filter, query.page()?)
        .await?;
    Ok(Json(json!({
        "contacts": [found.json(ctx.base())],
        "activityRecipients": [],
        "activities": listed.items.iter().map(activity_json).collect::<Vec<_>>(),
        "meta": meta(listed.total),
    })))
}

/// `POST /contacts/{id}/trackingToken`: 201 `{"token": "...", "expires": "..."}`.
async fn token(
    ctx: Ctx,
    PathId(contact): PathId<ContactId>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    ctx.store().existing_contact(ctx.account, contact).await?;
    let expires = Timestamp(ctx.now().0 + TOKEN_DAYS * 24 * 3600 * 1_000_000);
    let token = ctx
        .state
        .token_key
        .seal(
            TokenSubject {
                account: ctx.account,
                contact,
            },
            expires,
        )
        .map_err(|_| ApiError::from(StoreError::Randomness))?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"token": token, "expires": expires.to_api()})),
    ))
}
