//! Link actions (Tracklane's own; AC's public API has none): what a person's click on a
//! campaign's link does — add or remove a tag, subscribe or unsubscribe a list, start or end an
//! automation (stored now, run once automations exist). Keyed by the link's destination, so they
//! can be set before the campaign is sent. Clicks judged to be a machine's run none.

use axum::http::StatusCode;
use axum::routing::{delete, get};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use tracklane_core::ids::{CampaignId, LinkActionId};
use tracklane_core::invalid::Invalid;
use tracklane_core::link_action::LinkAction;
use tracklane_core::visit::PageUrl;
use tracklane_store::link_actions::StoredLinkAction;

use super::error::{reference_error, ApiError};
use super::extract::{required_id, ApiJson, LooseId};
use super::resource::{Ctx, PathId};
use crate::state::AppState;

/// The link action routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/campaigns/{id}/linkActions", get(list).post(add))
        .route("/linkActions/{id}", delete(remove))
}

fn action_json(action: &StoredLinkAction) -> Value {
    json!({
        "id": action.id.to_string(),
        "link": action.url,
        "action": action.action.as_str(),
        "target": action.target.to_string(),
    })
}

/// `GET /campaigns/{id}/linkActions`.
async fn list(ctx: Ctx, PathId(id): PathId<CampaignId>) -> Result<Json<Value>, ApiError> {
    let campaign = ctx.store().existing_campaign(ctx.account, id).await?;
    let actions = ctx.store().link_actions(ctx.account, campaign.id).await?;
    Ok(Json(json!({
        "linkActions": actions.iter().map(action_json).collect::<Vec<_>>(),
    })))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct LinkActionEnvelope {
    link_action: Option<LinkActionBody>,
}

#[derive(Debug, Deserialize)]
struct LinkActionBody {
    link: Option<String>,
    action: Option<String>,
    target: Option<LooseId>,
}

/// `POST /campaigns/{id}/linkActions`: 201 with the action.
async fn add(
    ctx: Ctx,
    PathId(campaign): PathId<CampaignId>,
    ApiJson(body): ApiJson<LinkActionEnvelope>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let body = body
        .link_action
        .ok_or_else(|| Invalid::missing("linkAction"))?;
    let link = PageUrl::parse("link", body.link.as_deref().unwrap_or_default())?;
    let action = LinkAction::parse(body.action.as_deref().unwrap_or_default())?;
    let target = required_id(body.target.as_ref(), "target")?;
    // The campaign in the path is the resource (AC's plain 404); the target is a reference.
    ctx.store().existing_campaign(ctx.account, campaign).await?;
    let stored = ctx
        .store()
        .add_link_action(ctx.account, campaign, &link.url, action, target, ctx.now())
        .await
        .map_err(reference_error)?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"linkAction": action_json(&stored)})),
    ))
}

/// `DELETE /linkActions/{id}`: `{}`.
async fn remove(ctx: Ctx, PathId(id): PathId<LinkActionId>) -> Result<Json<Value>, ApiError> {
    ctx.store().delete_link_action(ctx.account, id).await?;
    Ok(Json(json!({})))
}
