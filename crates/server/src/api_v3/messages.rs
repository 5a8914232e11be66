//! `/messages` and `/campaigns`: ActiveCampaign's list and get endpoints in its shapes, and
//! Tracklane's own documented `POST`s to create and send them (AC's public API has none).

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use tracklane_core::ids::{AccountId, CampaignId, MessageId};
use tracklane_core::invalid::Invalid;
use tracklane_core::links::find_links;
use tracklane_core::message::{Campaign, CampaignInput, Message, MessageInput};
use tracklane_store::Model;

use super::error::{reference_error, ApiError};
use super::extract::{path_id, ApiJson, ApiQuery, LooseId};
use super::render::{links, meta};
use crate::state::AppState;

/// The message and campaign routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/messages", post(create_message).get(list_messages))
        .route(
            "/messages/{id}",
            get(show_message).put(update_message).delete(remove_message),
        )
        .route("/campaigns", post(create_campaign).get(list_campaigns))
        .route("/campaigns/{id}", get(show_campaign))
        .route("/campaigns/{id}/send", post(send_campaign))
        .route("/campaigns/{id}/links", get(campaign_links))
}

#[derive(Debug, Deserialize)]
struct MessageEnvelope {
    message: Option<MessageBody>,
}

#[derive(Debug, Deserialize)]
struct MessageBody {
    name: Option<String>,
    subject: Option<String>,
    fromname: Option<String>,
    fromemail: Option<String>,
    reply2: Option<String>,
    html: Option<String>,
    text: Option<String>,
}

impl MessageEnvelope {
    fn into_input(self) -> Result<MessageInput, Invalid> {
        let body = self.message.ok_or_else(|| Invalid::missing("message"))?;
        Ok(MessageInput {
            name: body.name,
            subject: body.subject,
            from_name: body.fromname,
            from_email: body.fromemail,
            reply_to: body.reply2,
            html: body.html,
            text: body.text,
        })
    }
}

/// A message in AC's shape.
pub fn message_json(message: &Message, base: &str) -> Value {
    json!({
        "userid": "1",
        "ed_instanceid": "0",
        "ed_version": "0",
        "cdate": message.created_at.to_api(),
        "mdate": message.updated_at.to_api(),
        "name": message.name,
        "fromname": message.from_name,
        "fromemail": message.from_email,
        "reply2": message.reply_to,
        "priority": "3",
        "charset": "utf-8",
        "encoding": "quoted-printable",
        "format": if message.html.is_empty() { "text" } else { "mime" },
        "subject": message.subject,
        "preheader_text": "",
        "text": message.text,
        "html": message.html,
        "htmlfetch": "",
        "textfetch": "",
        "hidden": "0",
        "prevmid": "0",
        "simpleeditor": "0",
        "links": links(base, &format!("messages/{}", message.id), &["user"]),
        "id": message.id.to_string(),
        "user": "1",
    })
}

/// A campaign in AC's shape (counters arrive with sending).
pub fn campaign_json(campaign: &Campaign, base: &str) -> Value {
    let zero = "0";
    json!({
        "type": "single",
        "userid": "1",
        "segmentid": "0",
        "bounceid": "-1",
        "realcid": "0",
        "sendid": "0",
        "threadid": "0",
        "seriesid": "0",
        "formid": "0",
        "basetemplateid": "0",
        "basemessageid": campaign.message.to_string(),
        "addressid": "0",
        "source": "api",
        "name": campaign.name,
        "cdate": campaign.created_at.to_api(),
        "mdate": campaign.updated_at.to_api(),
        "sdate": null,
        "ldate": null,
        "send_amt": zero,
        "total_amt": zero,
        "opens": zero,
        "uniqueopens": zero,
        "linkclicks": zero,
        "uniquelinkclicks": zero,
        "subscriberclicks": zero,
        "forwards": zero,
        "uniqueforwards": zero,
        "hardbounces": zero,
        "softbounces": zero,
        "unsubscribes": zero,
        "unsubreasons": zero,
        "updates": zero,
        "socialshares": zero,
        "replies": zero,
        "uniquereplies": zero,
        "status": campaign.status.code().to_string(),
        "public": "1",
        "tracklinks": if campaign.track_links { "all" } else { "none" },
        "tracklinksanalytics": "0",
        "trackreads": "1",
        "trackreadsanalytics": "0",
        "htmlunsub": "1",
        "textunsub": "1",
        "recurring": "",
        "willrecur": "0",
        "split_type": "even",
        "schedule": "0",
        "scheduleddate": null,
        "listid": campaign.list.to_string(),
        "links": links(
            base,
            &format!("campaigns/{}", campaign.id),
            &["user", "automation", "campaignMessage", "campaignMessages", "links", "campaignLists"],
        ),
        "id": campaign.id.to_string(),
        "user": "1",
        "automation": null,
    })
}

/// `POST /messages` (Tracklane's): 201.
async fn create_message(
    State(state): State<AppState>,
    Extension(account): Extension<AccountId>,
    ApiJson(body): ApiJson<MessageEnvelope>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let draft = body.into_input()?.into_draft()?;
    let message = state
        .store
        .create_message(account, draft, state.now())
        .await?;
    let base = &state.settings.public_url;
    Ok((
        StatusCode::CREATED,
        Json(json!({"message": message_json(&message, base)})),
    ))
}

/// `GET /messages`.
async fn list_messages(
    State(state): State<AppState>,
    Extension(account): Extension<AccountId>,
    query: ApiQuery,
) -> Result<Json<Value>, ApiError> {
    let listed = state.store.messages(account, query.page()?).await?;
    let base = &state.settings.public_url;
    Ok(Json(json!({
        "messages": listed.items.iter().map(|m| message_json(m, base)).collect::<Vec<_>>(),
        "meta": meta(listed.total),
    })))
}

/// `GET /messages/{id}`.
async fn show_message(
    State(state): State<AppState>,
    Extension(account): Extension<AccountId>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = MessageId(path_id(&id, Model::Message)?);
    let message = state.store.existing_message(account, id).await?;
    Ok(Json(
        json!({"message": message_json(&message, &state.settings.public_url)}),
    ))
}

/// `PUT /messages/{id}`: a partial update.
async fn update_message(
    State(state): State<AppState>,
    Extension(account): Extension<AccountId>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<MessageEnvelope>,
) -> Result<Json<Value>, ApiError> {
    let id = MessageId(path_id(&id, Model::Message)?);
    let patch = body.into_input()?.into_patch()?;
    let message = state
        .store
        .update_message(account, id, patch, state.now())
        .await?;
    Ok(Json(
        json!({"message": message_json(&message, &state.settings.public_url)}),
    ))
}

/// `DELETE /messages/{id}`: `{}`; refused (422) while a campaign sends it.
async fn remove_message(
    State(state): State<AppState>,
    Extension(account): Extension<AccountId>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = MessageId(path_id(&id, Model::Message)?);
    state.store.delete_message(account, id).await?;
    Ok(Json(json!({})))
}

#[derive(Debug, Deserialize)]
struct CampaignEnvelope {
    campaign: Option<CampaignBody>,
}

#[derive(Debug, Deserialize)]
struct CampaignBody {
    name: Option<String>,
    message: Option<LooseId>,
    list: Option<LooseId>,
    tracklinks: Option<String>,
}

/// `POST /campaigns` (Tracklane's): 201, a draft sending `message` to `list`.
async fn create_campaign(
    State(state): State<AppState>,
    Extension(account): Extension<AccountId>,
    ApiJson(body): ApiJson<CampaignEnvelope>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let body = body.campaign.ok_or_else(|| Invalid::missing("campaign"))?;
    let input = CampaignInput {
        name: body.name,
        message: body.message.map(|m| m.id("message")).transpose()?,
        list: body.list.map(|l| l.id("list")).transpose()?,
        track_links: body.tracklinks,
    };
    let campaign = state
        .store
        .create_campaign(account, input.into_draft()?, state.now())
        .await
        .map_err(reference_error)?;
    let base = &state.settings.public_url;
    Ok((
        StatusCode::CREATED,
        Json(json!({"campaign": campaign_json(&campaign, base)})),
    ))
}

/// `POST /campaigns/{id}/send` (Tracklane's): starts a draft campaign. Its links are recorded
/// (when tracked) and a send is queued for every contact subscribed to its list; answers
/// `{"campaign": ..., "queued": N}`. Sending a campaign twice is refused (422).
async fn send_campaign(
    State(state): State<AppState>,
    Extension(account): Extension<AccountId>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = CampaignId(path_id(&id, Model::Campaign)?);
    let campaign = state.store.existing_campaign(account, id).await?;
    let message = state
        .store
        .existing_message(account, campaign.message)
        .await?;
    let links = if campaign.track_links {
        find_links(&message.html).map_err(|error| Invalid::bad_value("html", error.to_string()))?
    } else {
        Vec::new()
    };
    let queued = state
        .store
        .start_campaign(account, id, &links, state.now())
        .await?;
    state.sending.notify_one();
    let campaign = state.store.existing_campaign(account, id).await?;
    Ok(Json(json!({
        "campaign": campaign_json(&campaign, &state.settings.public_url),
        "queued": queued,
    })))
}

/// `GET /campaigns/{id}/links`: the campaign's tracked links and the open pixel ("Read
/// Tracker") in AC's shape, with Tracklane's counts beside: `clicks` and `uniqueClicks` by people,
/// `machineClicks` by scanners and bots (kept out of the other two).
async fn campaign_links(
    State(state): State<AppState>,
    Extension(account): Extension<AccountId>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = CampaignId(path_id(&id, Model::Campaign)?);
    let campaign = state.store.existing_campaign(account, id).await?;
    let base = &state.settings.public_url;
    let stats = state.store.link_stats(account, id).await?;
    let links: Vec<Value> = stats
        .iter()
        .map(|link| {
            json!({
                "campaignid": campaign.id.to_string(),
                "messageid": campaign.message.to_string(),
                "link": link.url,
                "name": link.text,
                "ref": "",
                "tracked": "1",
                "links": {
                    "campaign": format!("{base}/api/3/campaigns/{}", campaign.id),
                    "message": format!("{base}/api/3/messages/{}", campaign.message),
                },
                "id": link.id.to_string(),
                "campaign": campaign.id.to_string(),
                "message": campaign.message.to_string(),
                "clicks": link.clicks,
                "uniqueClicks": link.unique_clicks,
                "machineClicks": link.machine_clicks,
            })
        })
        .collect();
    Ok(Json(json!({ "links": links })))
}

/// `GET /campaigns`: newest first.
async fn list_campaigns(
    State(state): State<AppState>,
    Extension(account): Extension<AccountId>,
    query: ApiQuery,
) -> Result<Json<Value>, ApiError> {
    let listed = state.store.campaigns(account, query.page()?).await?;
    let base = &state.settings.public_url;
    Ok(Json(json!({
        "campaigns": listed.items.iter().map(|c| campaign_json(c, base)).collect::<Vec<_>>(),
        "meta": meta(listed.total),
    })))
}

/// `GET /campaigns/{id}`.
async fn show_campaign(
    State(state): State<AppState>,
    Extension(account): Extension<AccountId>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = CampaignId(path_id(&id, Model::Campaign)?);
    let campaign = state.store.existing_campaign(account, id).await?;
    Ok(Json(
        json!({"campaign": campaign_json(&campaign, &state.settings.public_url)}),
    ))
}
