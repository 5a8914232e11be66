//! Link actions (Tracklane's own; AC's public API has none): what a person's click on a
//! campaign's link does — add or remove a tag, subscribe or unsubscribe a list, start or end an
//! automation. Keyed by the link's destination, so they can be set before the campaign is sent;
//! the destination must be one of the campaign's message's links (a typo would never fire), and
//! is stored as the message writes it. A tag is named by id or by name. Clicks judged to be a
//! machine's run none.

use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use tracklane_core::ids::{CampaignId, LinkActionId};
use tracklane_core::invalid::Invalid;
use tracklane_core::link_action::LinkAction;
use tracklane_core::links::{find_links, TrackedLink};
use tracklane_core::visit::PageUrl;
use tracklane_store::link_actions::StoredLinkAction;

use super::doc::{delete, get, ApiRouter};
use super::error::{reference_error, ApiError};
use super::extract::{ApiJson, LooseId};
use super::resource::{Ctx, PathId};
use super::tags::tag_id;

/// The link action routes.
pub fn routes() -> ApiRouter {
    ApiRouter::new("Link actions")
        .route("/campaigns/{id}/linkActions", get(list, "GET /campaigns/{id}/linkActions.").post(add, "POST /campaigns/{id}/linkActions: 201 with the action. A link that is not in the campaign's message is refused (422, listing the message's links)."))
        .route("/linkActions/{id}", delete(remove, "DELETE /linkActions/{id}: {}."))
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

/// `POST /campaigns/{id}/linkActions`: 201 with the action. A `link` that is not in the
/// campaign's message is refused (422, listing the message's links).
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
    let target = body.target.ok_or_else(|| Invalid::missing("target"))?;
    // The campaign in the path is the resource (AC's plain 404); the target is a reference.
    let found = ctx.store().existing_campaign(ctx.account, campaign).await?;
    let message = ctx
        .store()
        .existing_message(ctx.account, found.message)
        .await?;
    let url = link_in_message(&message.html, &link)?;
    let target = match action {
        LinkAction::AddTag | LinkAction::RemoveTag => {
            tag_id(ctx.store(), ctx.account, &target, "target").await?
        }
        _ => target.id("target")?,
    };
    let stored = ctx
        .store()
        .add_link_action(ctx.account, campaign, &url, action, target, ctx.now())
        .await
        .map_err(reference_error)?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"linkAction": action_json(&stored)})),
    ))
}

/// How many of the message's links a refusal lists.
const LINKS_LISTED: usize = 10;

/// The message's link to `link`'s destination (compared as URLs, so `https://shop.example`
/// finds `https://shop.example/`), as the message writes it: clicks name it so.
fn link_in_message(html: &str, link: &PageUrl) -> Result<String, Invalid> {
    let links = find_links(html).map_err(|error| Invalid::bad_value("html", error.to_string()))?;
    let same = |found: &&TrackedLink| {
        found.url == link.url
            || PageUrl::parse("link", &found.url).is_ok_and(|parsed| parsed.url == link.url)
    };
    if let Some(found) = links.iter().find(same) {
        return Ok(found.url.clone());
    }
    let listed: Vec<&str> = links
        .iter()
        .take(LINKS_LISTED)
        .map(|l| l.url.as_str())
        .collect();
    Err(Invalid::bad_value(
        "link",
        format!(
            "the campaign's message has no link to {}: a click could never run this action \
             (its links: {})",
            link.url,
            if listed.is_empty() {
                "none".to_owned()
            } else {
                listed.join(", ")
            }
        ),
    ))
}

/// `DELETE /linkActions/{id}`: `{}`.
async fn remove(ctx: Ctx, PathId(id): PathId<LinkActionId>) -> Result<Json<Value>, ApiError> {
    ctx.store().delete_link_action(ctx.account, id).await?;
    Ok(Json(json!({})))
}
