//! `/prism/urlWhitelistings`: ActiveCampaign's current, JSON:API-style endpoints for the site
//! tracking whitelist, over the same domains as the legacy `/siteTrackingDomains`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use tracklane_core::ids::SiteDomainId;
use tracklane_core::invalid::Invalid;
use tracklane_core::site_domain::parse_site_domain;
use tracklane_store::tracking::SiteDomain;
use tracklane_store::Model;

use super::doc::{delete, get, ApiRouter};
use super::error::ApiError;
use super::extract::ApiJson;
use super::resource::{Ctx, PathId};

/// The whitelist routes.
pub fn routes() -> ApiRouter {
    ApiRouter::new("Whitelist")
        .route("/prism/urlWhitelistings", get(list, "GET /prism/urlWhitelistings.").post(add, "POST /prism/urlWhitelistings: 201, 409 when the domain is whitelisted already, 422 for what is no site's domain (see [parse_site_domain])."))
        .route("/prism/urlWhitelistings/{id}", delete(remove, "DELETE /prism/urlWhitelistings/{id}: 204.").empty())
}

fn entry(domain: &SiteDomain, tracking: bool) -> Value {
    json!({
        "type": "urlWhitelistings",
        "id": domain.id.to_string(),
        "attributes": {
            "whitelisted_domain": domain.name,
            "whitelisted_page": "*",
            "url_regex": null,
            "conversations_enabled": 0,
            "tracking_enabled": i32::from(tracking),
            "wp_enabled": 0,
            "created_at": domain.created_at.to_api(),
            "updated_at": domain.created_at.to_api(),
        },
    })
}

/// `GET /prism/urlWhitelistings`.
async fn list(ctx: Ctx) -> Result<Json<Value>, ApiError> {
    let tracking = ctx
        .store()
        .tracking_settings(ctx.account)
        .await?
        .site_tracking;
    let domains = ctx.store().site_domains(ctx.account).await?;
    Ok(Json(json!({
        "data": domains.iter().map(|d| entry(d, tracking)).collect::<Vec<_>>(),
    })))
}

#[derive(Debug, Deserialize)]
struct Document {
    data: Option<Resource>,
}

#[derive(Debug, Deserialize)]
struct Resource {
    attributes: Option<Attributes>,
}

#[derive(Debug, Deserialize)]
struct Attributes {
    whitelisted_domain: Option<String>,
}

/// `POST /prism/urlWhitelistings`: 201, 409 when the domain is whitelisted already, 422 for what
/// is no site's domain (see [`parse_site_domain`]).
async fn add(ctx: Ctx, ApiJson(document): ApiJson<Document>) -> Result<Response, ApiError> {
    let raw = document
        .data
        .and_then(|data| data.attributes)
        .and_then(|attributes| attributes.whitelisted_domain)
        .ok_or_else(|| Invalid::missing("whitelisted_domain"))?;
    let name =
        parse_site_domain(&raw, ctx.state.settings.allow_local_sites).map_err(|invalid| {
            Invalid {
                attribute: "whitelisted_domain",
                ..invalid
            }
        })?;
    if !ctx
        .store()
        .add_site_domain(ctx.account, &name, ctx.now())
        .await?
    {
        let conflict = json!({"errors": [{"status": 409, "title": "Conflict",
            "detail": format!("{name} is whitelisted already"), "code": "duplicate"}]});
        return Ok((StatusCode::CONFLICT, Json(conflict)).into_response());
    }
    ctx.state.gate.forget(ctx.account);
    let tracking = ctx
        .store()
        .tracking_settings(ctx.account)
        .await?
        .site_tracking;
    let added = ctx
        .store()
        .site_domains(ctx.account)
        .await?
        .into_iter()
        .find(|domain| domain.name == name)
        .ok_or_else(|| ApiError::not_found(Model::SiteDomain, &name))?;
    let mut data = entry(&added, tracking);
    data["attributes"]["tracking_enabled"] = json!(tracking);
    data["attributes"]["conversations_enabled"] = json!(false);
    data["attributes"]["wp_enabled"] = json!(false);
    Ok((StatusCode::CREATED, Json(json!({ "data": data }))).into_response())
}

/// `DELETE /prism/urlWhitelistings/{id}`: 204.
async fn remove(ctx: Ctx, PathId(id): PathId<SiteDomainId>) -> Result<StatusCode, ApiError> {
    ctx.store()
        .remove_site_domain_by_id(ctx.account, id)
        .await?;
    ctx.state.gate.forget(ctx.account);
    Ok(StatusCode::NO_CONTENT)
}
