//! `/lists` and `/contactLists`.

use axum::extract::{Path, State};
use axum::routing::{get, post};
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use tracklane_core::ids::{AccountId, ContactId, ListId};
use tracklane_core::invalid::Invalid;
use tracklane_core::list::{ContactList, List, ListInput, ListStatus};
use tracklane_store::lists::ListQuery;
use tracklane_store::sql::TextOp;
use tracklane_store::Model;

use super::contacts::contact_json;
use super::error::{reference_error, ApiError};
use super::extract::{path_id, required_id, ApiJson, ApiQuery, LooseId};
use super::render::{links, meta};
use crate::state::AppState;

/// The list routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/lists", post(create).get(list))
        .route("/lists/{id}", get(show).put(update).delete(remove))
        .route("/contactLists", post(set_status))
}

#[derive(Debug, Deserialize)]
struct ListEnvelope {
    list: Option<ListBody>,
}

#[derive(Debug, Deserialize)]
struct ListBody {
    name: Option<String>,
    stringid: Option<String>,
    sender_url: Option<String>,
    sender_reminder: Option<String>,
}

impl ListEnvelope {
    fn into_input(self) -> Result<ListInput, Invalid> {
        let body = self.list.ok_or_else(|| Invalid::missing("list"))?;
        Ok(ListInput {
            name: body.name,
            stringid: body.stringid,
            sender_url: body.sender_url,
            sender_reminder: body.sender_reminder,
        })
    }
}

/// A list in AC's shape.
pub fn list_json(list: &List, base: &str) -> Value {
    json!({
        "stringid": list.stringid,
        "userid": "1",
        "name": list.name,
        "cdate": list.created_at.to_api(),
        "p_use_tracking": "1",
        "p_use_analytics_read": "0",
        "p_use_analytics_link": "0",
        "p_use_twitter": "0",
        "p_use_facebook": "0",
        "p_embed_image": "1",
        "p_use_captcha": "1",
        "send_last_broadcast": "0",
        "private": "0",
        "analytics_domains": null,
        "analytics_source": "",
        "analytics_ua": "",
        "twitter_token": "",
        "twitter_token_secret": "",
        "facebook_session": null,
        "carboncopy": null,
        "subscription_notify": null,
        "unsubscription_notify": null,
        "require_name": "0",
        "get_unsubscribe_reason": "0",
        "to_name": "Subscriber",
        "optinoptout": "1",
        "sender_name": "",
        "sender_addr1": "",
        "sender_addr2": "",
        "sender_city": "",
        "sender_state": "",
        "sender_zip": "",
        "sender_country": "",
        "sender_phone": "",
        "sender_url": list.sender_url,
        "sender_reminder": list.sender_reminder,
        "fulladdress": "",
        "optinmessageid": "0",
        "optoutconf": "0",
        "deletestamp": null,
        "udate": list.updated_at.to_api(),
        "links": links(base, &format!("lists/{}", list.id), &["contactGoalLists", "user", "addressLists"]),
        "id": list.id.to_string(),
        "user": "1",
    })
}

/// A contact's list membership in AC's shape.
pub fn contact_list_json(row: &ContactList, base: &str) -> Value {
    json!({
        "contact": row.contact.to_string(),
        "list": row.list.to_string(),
        "form": null,
        "seriesid": "0",
        "sdate": row.subscribed_at.map(|at| at.to_api()),
        "udate": row.unsubscribed_at.map(|at| at.to_api()),
        "status": row.status.code().to_string(),
        "responder": "1",
        "sync": "0",
        "unsubreason": null,
        "campaign": null,
        "message": null,
        "first_name": "",
        "last_name": "",
        "ip4Sub": "0",
        "sourceid": row.source_id.to_string(),
        "autosyncLog": null,
        "ip4_last": "0",
        "ip4Unsub": "0",
        "created_timestamp": row.created_at.to_api_plain(),
        "updated_timestamp": row.updated_at.to_api_plain(),
        "created_by": null,
        "updated_by": null,
        "unsubscribeAutomation": null,
        "links": links(
            base,
            &format!("contactLists/{}", row.id),
            &["automation", "list", "contact", "form", "autosyncLog", "campaign", "unsubscribeAutomation", "message"],
        ),
        "id": row.id.to_string(),
        "automation": null,
    })
}

/// `POST /lists`: 200 with the list, as AC answers.
async fn create(
    State(state): State<AppState>,
    Extension(account): Extension<AccountId>,
    ApiJson(body): ApiJson<ListEnvelope>,
) -> Result<Json<Value>, ApiError> {
    let draft = body.into_input()?.into_draft()?;
    let list = state.store.create_list(account, draft, state.now()).await?;
    Ok(Json(
        json!({ "list": list_json(&list, &state.settings.public_url) }),
    ))
}

/// `GET /lists`: `filters[name]` (contains) or `filters[name][op]`, `orders[name]`, paging.
async fn list(
    State(state): State<AppState>,
    Extension(account): Extension<AccountId>,
    query: ApiQuery,
) -> Result<Json<Value>, ApiError> {
    let list_query = ListQuery {
        name: query.text_filter("name", TextOp::Contains)?,
        order_by_name: query.order("name"),
    };
    let listed = state
        .store
        .lists(account, &list_query, query.page()?)
        .await?;
    let base = &state.settings.public_url;
    Ok(Json(json!({
        "lists": listed.items.iter().map(|l| list_json(l, base)).collect::<Vec<_>>(),
        "meta": meta(listed.total),
    })))
}

/// `GET /lists/{id}`.
async fn show(
    State(state): State<AppState>,
    Extension(account): Extension<AccountId>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = ListId(path_id(&id, Model::List)?);
    let list = state.store.existing_list(account, id).await?;
    Ok(Json(
        json!({ "list": list_json(&list, &state.settings.public_url) }),
    ))
}

/// `PUT /lists/{id}`: a partial update.
async fn update(
    State(state): State<AppState>,
    Extension(account): Extension<AccountId>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<ListEnvelope>,
) -> Result<Json<Value>, ApiError> {
    let id = ListId(path_id(&id, Model::List)?);
    let patch = body.into_input()?.into_patch()?;
    let list = state
        .store
        .update_list(account, id, patch, state.now())
        .await?;
    Ok(Json(
        json!({ "list": list_json(&list, &state.settings.public_url) }),
    ))
}

/// `DELETE /lists/{id}`: `{}`.
async fn remove(
    State(state): State<AppState>,
    Extension(account): Extension<AccountId>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = ListId(path_id(&id, Model::List)?);
    state.store.delete_list(account, id).await?;
    Ok(Json(json!({})))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ContactListEnvelope {
    contact_list: Option<ContactListBody>,
}

#[derive(Debug, Deserialize)]
struct ContactListBody {
    list: Option<LooseId>,
    contact: Option<LooseId>,
    status: Option<LooseId>,
    sourceid: Option<LooseId>,
}

/// `POST /contactLists`: status 1 subscribes, 2 unsubscribes; creates or updates the row.
async fn set_status(
    State(state): State<AppState>,
    Extension(account): Extension<AccountId>,
    ApiJson(body): ApiJson<ContactListEnvelope>,
) -> Result<Json<Value>, ApiError> {
    let body = body
        .contact_list
        .ok_or_else(|| Invalid::missing("contactList"))?;
    let list = ListId(required_id(body.list.as_ref(), "list")?);
    let contact = ContactId(required_id(body.contact.as_ref(), "contact")?);
    let status = ListStatus::parse_request(required_id(body.status.as_ref(), "status")?)?;
    let source_id = body
        .sourceid
        .as_ref()
        .map(|id| id.id("sourceid"))
        .transpose()?
        .unwrap_or(0);
    let row = state
        .store
        .set_list_status(account, contact, list, status, source_id, state.now())
        .await
        .map_err(reference_error)?;
    let contact = state.store.existing_contact(account, contact).await?;
    let base = &state.settings.public_url;
    Ok(Json(json!({
        "contacts": [contact_json(&contact, base)],
        "contactList": contact_list_json(&row, base),
    })))
}
