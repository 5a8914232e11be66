//! Tracking settings: `/siteTracking`, `/siteTracking/code`, `/siteTrackingDomains`,
//! `/eventTracking` and `/eventTrackingEvents`, in ActiveCampaign's shapes. Beyond AC, the
//! settings carry `honorDoNotTrack` and `createContacts`, and each domain its tracking `status`
//! (`receiving` a visit in the last 24 hours, `not_receiving`, or `disabled`).

use axum::extract::Path;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use tracklane_core::event::parse_event_name;
use tracklane_core::ids::AccountId;
use tracklane_core::invalid::Invalid;
use tracklane_core::site_domain::{parse_site_domain, site_name};
use tracklane_core::time::Timestamp;
use tracklane_store::tracking::{SiteDomain, TrackingSettings, TrackingSettingsPatch};
use tracklane_store::StoreError;

use super::doc::{delete, get, ApiRouter};
use super::error::ApiError;
use super::extract::ApiJson;
use super::render::meta;
use super::resource::Ctx;
use crate::state::AppState;
use crate::track::snippet::embed_code;

/// A domain is "receiving data" when it had a visit within this many microseconds.
const RECEIVING_WINDOW: i64 = 24 * 3600 * 1_000_000;

/// The tracking settings routes.
pub fn routes() -> ApiRouter {
    ApiRouter::new("Tracking")
        .route("/siteTracking", get(site_tracking, "GET /siteTracking.")
                .put(set_site_tracking, "PUT (or POST) /siteTracking.")
                .post(set_site_tracking, "PUT (or POST) /siteTracking."))
        .route("/siteTracking/code", get(code, "GET /siteTracking/code: the HTML to paste, as text/plain.").text())
        .route("/siteTrackingDomains", get(domains, "GET /siteTrackingDomains.").post(add_domain, "POST /siteTrackingDomains: 201 when new, 200 when already whitelisted; 422 for what is no site's domain (see [parse_site_domain])."))
        .route("/siteTrackingDomains/{name}", delete(remove_domain, "DELETE /siteTrackingDomains/{name}: 204.").empty())
        .route("/eventTracking", get(event_tracking, "GET /eventTracking.")
                .put(set_event_tracking, "PUT (or POST) /eventTracking.")
                .post(set_event_tracking, "PUT (or POST) /eventTracking."))
        .route("/eventTrackingEvents", get(event_names, "GET /eventTrackingEvents: the whitelisted names.").post(add_event_name, "POST /eventTrackingEvents: 201 when new, 200 when already whitelisted."))
        .route("/eventTrackingEvents/{name}", delete(remove_event_name, "DELETE /eventTrackingEvents/{name} (the name URL-encoded): {}; a name that could not have been whitelisted (a NUL character, too long) names nothing."))
}

fn site_json(settings: &TrackingSettings) -> Value {
    json!({"siteTracking": {
        "enabled": settings.site_tracking,
        "honorDoNotTrack": settings.honor_do_not_track,
        "createContacts": settings.create_contacts,
    }})
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SiteTrackingEnvelope {
    site_tracking: Option<SiteTrackingBody>,
}

/// The site tracking settings a `PUT` changes; any other key is refused (a misspelt one would
/// otherwise change nothing, silently).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct SiteTrackingBody {
    enabled: Option<bool>,
    honor_do_not_track: Option<bool>,
    create_contacts: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EventTrackingEnvelope {
    event_tracking: Option<EventTrackingBody>,
}

/// The event tracking setting a `PUT` changes; any other key is refused.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EventTrackingBody {
    enabled: Option<bool>,
}

async fn change(
    state: &AppState,
    account: AccountId,
    patch: TrackingSettingsPatch,
) -> Result<TrackingSettings, ApiError> {
    let settings = state
        .store
        .update_tracking_settings(account, patch, state.now())
        .await?;
    state.gate.forget(account);
    Ok(settings)
}

/// `GET /siteTracking`.
async fn site_tracking(ctx: Ctx) -> Result<Json<Value>, ApiError> {
    Ok(Json(site_json(
        &ctx.store().tracking_settings(ctx.account).await?,
    )))
}

/// `PUT` (or `POST`) `/siteTracking`.
async fn set_site_tracking(
    ctx: Ctx,
    ApiJson(body): ApiJson<SiteTrackingEnvelope>,
) -> Result<Json<Value>, ApiError> {
    let body = body
        .site_tracking
        .ok_or_else(|| Invalid::missing("siteTracking"))?;
    let patch = TrackingSettingsPatch {
        site_tracking: body.enabled,
        honor_do_not_track: body.honor_do_not_track,
        create_contacts: body.create_contacts,
        ..TrackingSettingsPatch::default()
    };
    Ok(Json(site_json(
        &change(&ctx.state, ctx.account, patch).await?,
    )))
}

/// `GET /siteTracking/code`: the HTML to paste, as `text/plain`.
async fn code(ctx: Ctx) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        embed_code(ctx.base(), ctx.account.0),
    )
        .into_response()
}

fn domain_json(domain: &SiteDomain, settings: &TrackingSettings, now: Timestamp) -> Value {
    let status = if !settings.site_tracking {
        "disabled"
    } else if domain
        .last_visit_at
        .is_some_and(|at| now.0 - at.0 <= RECEIVING_WINDOW)
    {
        "receiving"
    } else {
        "not_receiving"
    };
    json!({
        "name": domain.name,
        "id": domain.id.to_string(),
        "status": status,
        "lastVisit": domain.last_visit_at.map(|at| at.to_api()),
        "cdate": domain.created_at.to_api(),
    })
}

/// `GET /siteTrackingDomains`.
async fn domains(ctx: Ctx) -> Result<Json<Value>, ApiError> {
    let settings = ctx.store().tracking_settings(ctx.account).await?;
    let domains = ctx.store().site_domains(ctx.account).await?;
    let now = ctx.now();
    Ok(Json(json!({
        "siteTrackingDomains": domains.iter().map(|d| domain_json(d, &settings, now)).collect::<Vec<_>>(),
        "meta": meta(domains.len()),
    })))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DomainEnvelope {
    site_tracking_domain: Option<NameBody>,
}

#[derive(Debug, Deserialize)]
struct NameBody {
    name: Option<String>,
}

/// `POST /siteTrackingDomains`: 201 when new, 200 when already whitelisted; 422 for what is no
/// site's domain (see [`parse_site_domain`]).
async fn add_domain(
    ctx: Ctx,
    ApiJson(body): ApiJson<DomainEnvelope>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let body = body
        .site_tracking_domain
        .ok_or_else(|| Invalid::missing("siteTrackingDomain"))?;
    let name = parse_site_domain(
        body.name.as_deref().unwrap_or_default(),
        ctx.state.settings.allow_local_sites,
    )?;
    let created = ctx
        .store()
        .add_site_domain(ctx.account, &name, ctx.now())
        .await?;
    ctx.state.gate.forget(ctx.account);
    let status = created_or_ok(created);
    Ok((status, Json(json!({"siteTrackingDomain": {"name": name}}))))
}

/// 201 for a new whitelist entry, 200 for one that was there already.
fn created_or_ok(created: bool) -> StatusCode {
    if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    }
}

/// `DELETE /siteTrackingDomains/{name}`: 204.
async fn remove_domain(ctx: Ctx, Path(name): Path<String>) -> Result<StatusCode, ApiError> {
    let domain = site_name(&name).map_err(|_| ApiError::NotFound {
        model: "SiteTrackingDomain",
        id: name.clone(),
    })?;
    ctx.store()
        .remove_site_domain(ctx.account, &domain)
        .await
        .map_err(|error| named(error, "SiteTrackingDomain", name))?;
    ctx.state.gate.forget(ctx.account);
    Ok(StatusCode::NO_CONTENT)
}

/// A 404 that names the row by its name rather than an id.
fn named(error: StoreError, model: &'static str, name: String) -> ApiError {
    match error {
        StoreError::NotFound { .. } => ApiError::NotFound { model, id: name },
        other => other.into(),
    }
}

/// `GET /eventTracking`.
async fn event_tracking(ctx: Ctx) -> Result<Json<Value>, ApiError> {
    let settings = ctx.store().tracking_settings(ctx.account).await?;
    Ok(Json(
        json!({"eventTracking": {"enabled": settings.event_tracking}}),
    ))
}

/// `PUT` (or `POST`) `/eventTracking`.
async fn set_event_tracking(
    ctx: Ctx,
    ApiJson(body): ApiJson<EventTrackingEnvelope>,
) -> Result<Json<Value>, ApiError> {
    let enabled = body
        .event_tracking
        .and_then(|b| b.enabled)
        .ok_or_else(|| Invalid::missing("enabled"))?;
    let patch = TrackingSettingsPatch {
        event_tracking: Some(enabled),
        ..TrackingSettingsPatch::default()
    };
    let settings = change(&ctx.state, ctx.account, patch).await?;
    Ok(Json(
        json!({"eventTracking": {"enabled": settings.event_tracking}}),
    ))
}

/// `GET /eventTrackingEvents`: the whitelisted names.
async fn event_names(ctx: Ctx) -> Result<Json<Value>, ApiError> {
    let names = ctx.store().event_names(ctx.account).await?;
    Ok(Json(json!({
        "eventTrackingEvents": names.iter().map(|name| json!({"name": name})).collect::<Vec<_>>(),
        "meta": meta(names.len()),
    })))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct EventNameEnvelope {
    event_tracking_event: Option<NameBody>,
}

/// `POST /eventTrackingEvents`: 201 when new, 200 when already whitelisted.
async fn add_event_name(
    ctx: Ctx,
    ApiJson(body): ApiJson<EventNameEnvelope>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let body = body
        .event_tracking_event
        .ok_or_else(|| Invalid::missing("eventTrackingEvent"))?;
    let name =
        parse_event_name(body.name.as_deref().unwrap_or_default()).map_err(|invalid| Invalid {
            attribute: "name",
            ..invalid
        })?;
    let created = ctx
        .store()
        .add_event_name(ctx.account, &name, ctx.now())
        .await?;
    ctx.state.gate.forget(ctx.account);
    let status = created_or_ok(created);
    Ok((status, Json(json!({"eventTrackingEvent": {"name": name}}))))
}

/// `DELETE /eventTrackingEvents/{name}` (the name URL-encoded): `{}`; a name that could not
/// have been whitelisted (a NUL character, too long) names nothing.
async fn remove_event_name(ctx: Ctx, Path(name): Path<String>) -> Result<Json<Value>, ApiError> {
    let event = parse_event_name(&name).map_err(|_| ApiError::NotFound {
        model: "EventTrackingEvent",
        id: name.clone(),
    })?;
    ctx.store()
        .remove_event_name(ctx.account, &event)
        .await
        .map_err(|error| named(error, "EventTrackingEvent", name))?;
    ctx.state.gate.forget(ctx.account);
    Ok(Json(json!({})))
}
