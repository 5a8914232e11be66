//! `/lists` and `/contactLists`.

use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use tracklane_core::ids::{ContactId, ListId};
use tracklane_core::invalid::Invalid;
use tracklane_core::list::{ContactList, List, ListInput, ListStatus};
use tracklane_core::webhook::event::WebhookSource;
use tracklane_store::lists::ListQuery;
use tracklane_store::sql::TextOp;

use super::doc::{get, post, ApiRouter};
use super::error::{reference_error, ApiError};
use super::extract::{required_id, ApiJson, ApiQuery, LooseId};
use super::render::links;
use super::resource::{Ctx, PathId, Resource};

/// The list routes.
pub fn routes() -> ApiRouter {
    ApiRouter::new("Lists")
        .route("/lists", post(create, "POST /lists: 200 with the list, as AC answers.").get(list, "GET /lists: filters[name] (contains) or filters[name][op], orders[name], paging."))
        .route("/lists/{id}", get(show, "GET /lists/{id}.").put(update, "PUT /lists/{id}: a partial update.").delete(remove, "DELETE /lists/{id}: {}."))
        .route("/contactLists", post(set_status, "POST /contactLists: status 1 subscribes, 2 unsubscribes; creates or updates the row."))
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

impl Resource for List {
    const ONE: &'static str = "list";
    const MANY: &'static str = "lists";

    fn json(&self, base: &str) -> Value {
        json!({
            "stringid": self.stringid,
            "userid": "1",
            "name": self.name,
            "cdate": self.created_at.to_api(),
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
            "sender_url": self.sender_url,
            "sender_reminder": self.sender_reminder,
            "fulladdress": "",
            "optinmessageid": "0",
            "optoutconf": "0",
            "deletestamp": null,
            "udate": self.updated_at.to_api(),
            "links": links(base, &format!("lists/{}", self.id), &["contactGoalLists", "user", "addressLists"]),
            "id": self.id.to_string(),
            "user": "1",
        })
    }
}

impl Resource for ContactList {
    const ONE: &'static str = "contactList";
    const MANY: &'static str = "contactLists";

    fn json(&self, base: &str) -> Value {
        json!({
            "contact": self.contact.to_string(),
            "list": self.list.to_string(),
            "form": null,
            "seriesid": "0",
            "sdate": self.subscribed_at.map(|at| at.to_api()),
            "udate": self.unsubscribed_at.map(|at| at.to_api()),
            "status": self.status.code().to_string(),
            "responder": "1",
            "sync": "0",
            "unsubreason": null,
            "campaign": null,
            "message": null,
            "first_name": "",
            "last_name": "",
            "ip4Sub": "0",
            "sourceid": self.source_id.to_string(),
            "autosyncLog": null,
            "ip4_last": "0",
            "ip4Unsub": "0",
            "created_timestamp": self.created_at.to_api_plain(),
            "updated_timestamp": self.updated_at.to_api_plain(),
            "created_by": null,
            "updated_by": null,
            "unsubscribeAutomation": null,
            "links": links(
                base,
                &format!("contactLists/{}", self.id),
                &["automation", "list", "contact", "form", "autosyncLog", "campaign", "unsubscribeAutomation", "message"],
            ),
            "id": self.id.to_string(),
            "automation": null,
        })
    }
}

/// `POST /lists`: 200 with the list, as AC answers.
async fn create(ctx: Ctx, ApiJson(body): ApiJson<ListEnvelope>) -> Result<Json<Value>, ApiError> {
    let draft = body.into_input()?.into_draft()?;
    let list = ctx
        .store()
        .create_list(ctx.account, draft, ctx.now())
        .await?;
    Ok(ctx.one(&list))
}

/// `GET /lists`: `filters[name]` (contains) or `filters[name][op]`, `orders[name]`, paging.
async fn list(ctx: Ctx, query: ApiQuery) -> Result<Json<Value>, ApiError> {
    let list_query = ListQuery {
        name: query.text_filter("name", TextOp::Contains)?,
        order_by_name: query.order("name"),
    };
    let listed = ctx
        .store()
        .lists(ctx.account, &list_query, query.page()?)
        .await?;
    Ok(ctx.page(&listed))
}

/// `GET /lists/{id}`.
async fn show(ctx: Ctx, PathId(id): PathId<ListId>) -> Result<Json<Value>, ApiError> {
    let list = ctx.store().existing_list(ctx.account, id).await?;
    Ok(ctx.one(&list))
}

/// `PUT /lists/{id}`: a partial update.
async fn update(
    ctx: Ctx,
    PathId(id): PathId<ListId>,
    ApiJson(body): ApiJson<ListEnvelope>,
) -> Result<Json<Value>, ApiError> {
    let patch = body.into_input()?.into_patch()?;
    let list = ctx
        .store()
        .update_list(ctx.account, id, patch, ctx.now())
        .await?;
    Ok(ctx.one(&list))
}

/// `DELETE /lists/{id}`: `{}`.
async fn remove(ctx: Ctx, PathId(id): PathId<ListId>) -> Result<Json<Value>, ApiError> {
    ctx.store().delete_list(ctx.account, id).await?;
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
    ctx: Ctx,
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
    let row = ctx
        .store()
        .set_list_status(
            ctx.account,
            contact,
            list,
            status,
            source_id,
            Some(WebhookSource::Api),
            ctx.now(),
        )
        .await
        .map_err(reference_error)?;
    let contact = ctx.store().existing_contact(ctx.account, contact).await?;
    let base = ctx.base();
    Ok(Json(json!({
        "contacts": [contact.json(base)],
        "contactList": row.json(base),
    })))
}
