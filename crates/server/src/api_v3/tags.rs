//! `/tags` and `/contactTags`.

use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use tracklane_core::ids::{AccountId, ContactId, ContactTagId, TagId};
use tracklane_core::invalid::Invalid;
use tracklane_core::page::Page;
use tracklane_core::tag::{ContactTag, Tag, TagInput};
use tracklane_core::webhook::event::WebhookSource;
use tracklane_store::sql::{TextFilter, TextOp};
use tracklane_store::tags::TagQuery;
use tracklane_store::Store;

use super::doc::{delete, get, post, ApiRouter};
use super::error::{reference_error, ApiError};
use super::extract::{required_id, ApiJson, ApiQuery, LooseId};
use super::render::links;
use super::resource::{Ctx, PathId, Resource};

/// The tag routes.
pub fn routes() -> ApiRouter {
    ApiRouter::new("Tags")
        .route("/tags", post(create, "POST /tags: 201.").get(list, "GET /tags: search (contains) or filters[search][op], orders[search], paging."))
        .route("/tags/{id}", get(show, "GET /tags/{id}.").put(update, "PUT /tags/{id}: a partial update.").delete(remove, "DELETE /tags/{id}: {}."))
        .route("/contactTags", post(add_to_contact, "POST /contactTags: 201 with the new row, 200 with the existing one when the contact already carries the tag."))
        .route("/contactTags/{id}", delete(remove_from_contact, "DELETE /contactTags/{id}: {}; the id is the row's, not the tag's."))
}

#[derive(Debug, Deserialize)]
struct TagEnvelope {
    tag: Option<TagBody>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct TagBody {
    tag: Option<String>,
    tag_type: Option<String>,
    description: Option<String>,
}

impl TagEnvelope {
    fn into_input(self) -> Result<TagInput, Invalid> {
        let body = self.tag.ok_or_else(|| Invalid::missing("tag"))?;
        Ok(TagInput {
            name: body.tag,
            tag_type: body.tag_type,
            description: body.description,
        })
    }
}

impl Resource for Tag {
    const ONE: &'static str = "tag";
    const MANY: &'static str = "tags";

    fn json(&self, base: &str) -> Value {
        json!({
            "tagType": self.tag_type.as_str(),
            "tag": self.name,
            "description": self.description,
            "cdate": self.created_at.to_api(),
            "subscriber_count": self.contact_count.to_string(),
            "created_timestamp": self.created_at.to_api_plain(),
            "updated_timestamp": self.updated_at.to_api_plain(),
            "created_by": null,
            "updated_by": null,
            "links": links(base, &format!("tags/{}", self.id), &["contactGoalTags"]),
            "id": self.id.to_string(),
        })
    }
}

impl Resource for ContactTag {
    const ONE: &'static str = "contactTag";
    const MANY: &'static str = "contactTags";

    fn json(&self, base: &str) -> Value {
        json!({
            "contact": self.contact.to_string(),
            "tag": self.tag.to_string(),
            "cdate": self.created_at.to_api(),
            "created_timestamp": self.created_at.to_api_plain(),
            "updated_timestamp": self.created_at.to_api_plain(),
            "created_by": null,
            "updated_by": null,
            "links": links(base, &format!("contactTags/{}", self.id), &["contact", "tag"]),
            "id": self.id.to_string(),
        })
    }
}

/// `POST /tags`: 201.
async fn create(
    ctx: Ctx,
    ApiJson(body): ApiJson<TagEnvelope>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let draft = body.into_input()?.into_draft()?;
    let tag = ctx
        .store()
        .create_tag(ctx.account, draft, ctx.now())
        .await?;
    Ok((StatusCode::CREATED, ctx.one(&tag)))
}

/// `GET /tags`: `search` (contains) or `filters[search][op]`, `orders[search]`, paging.
async fn list(ctx: Ctx, query: ApiQuery) -> Result<Json<Value>, ApiError> {
    let name = match query.text_filter("search", TextOp::Contains)? {
        Some(filter) => Some(filter),
        None => query.get("search").map(|search| TextFilter {
            op: TextOp::Contains,
            value: search.to_owned(),
        }),
    };
    let tag_query = TagQuery {
        name,
        order_by_name: query.order("search").or_else(|| query.order("tag")),
    };
    let listed = ctx
        .store()
        .tags(ctx.account, &tag_query, query.page()?)
        .await?;
    Ok(ctx.page(&listed))
}

/// `GET /tags/{id}`.
async fn show(ctx: Ctx, PathId(id): PathId<TagId>) -> Result<Json<Value>, ApiError> {
    let tag = ctx.store().existing_tag(ctx.account, id).await?;
    Ok(ctx.one(&tag))
}

/// `PUT /tags/{id}`: a partial update.
async fn update(
    ctx: Ctx,
    PathId(id): PathId<TagId>,
    ApiJson(body): ApiJson<TagEnvelope>,
) -> Result<Json<Value>, ApiError> {
    let patch = body.into_input()?.into_patch()?;
    let tag = ctx
        .store()
        .update_tag(ctx.account, id, patch, ctx.now())
        .await?;
    Ok(ctx.one(&tag))
}

/// `DELETE /tags/{id}`: `{}`.
async fn remove(ctx: Ctx, PathId(id): PathId<TagId>) -> Result<Json<Value>, ApiError> {
    ctx.store().delete_tag(ctx.account, id).await?;
    Ok(Json(json!({})))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ContactTagEnvelope {
    contact_tag: Option<ContactTagBody>,
}

#[derive(Debug, Deserialize)]
struct ContactTagBody {
    contact: Option<LooseId>,
    tag: Option<LooseId>,
}

/// `POST /contactTags`: 201 with the new row, 200 with the existing one when the contact
/// already carries the tag.
async fn add_to_contact(
    ctx: Ctx,
    ApiJson(body): ApiJson<ContactTagEnvelope>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let body = body
        .contact_tag
        .ok_or_else(|| Invalid::missing("contactTag"))?;
    let contact = ContactId(required_id(body.contact.as_ref(), "contact")?);
    let tag = TagId(required_id(body.tag.as_ref(), "tag")?);
    let (row, created) = ctx
        .store()
        .add_contact_tag(ctx.account, contact, tag, WebhookSource::Api, ctx.now())
        .await
        .map_err(reference_error)?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, ctx.one(&row)))
}

/// `DELETE /contactTags/{id}`: `{}`; the id is the row's, not the tag's.
async fn remove_from_contact(
    ctx: Ctx,
    PathId(id): PathId<ContactTagId>,
) -> Result<Json<Value>, ApiError> {
    ctx.store()
        .remove_contact_tag(ctx.account, id, WebhookSource::Api, ctx.now())
        .await?;
    Ok(Json(json!({})))
}

/// A tag given by id (a number or a string of digits) or by name (the account's tag of exactly
/// that name; none is a 404 `Tag not found`). An id is checked by whoever uses it.
pub async fn tag_id(
    store: &Store,
    account: AccountId,
    tag: &LooseId,
    attribute: &'static str,
) -> Result<i64, ApiError> {
    let name = match tag {
        LooseId::Text(name) if tag.id(attribute).is_err() => name,
        _ => return Ok(tag.id(attribute)?),
    };
    let query = TagQuery {
        name: Some(TextFilter {
            op: TextOp::Eq,
            value: name.trim().to_owned(),
        }),
        order_by_name: None,
    };
    let found = store.tags(account, &query, Page::default()).await?;
    let tag = found
        .items
        .first()
        .ok_or(ApiError::MissingReference("Tag not found"))?;
    Ok(tag.id.0)
}

/// [`tag_id`] of each tag given.
pub async fn tag_ids(
    store: &Store,
    account: AccountId,
    tags: &[LooseId],
) -> Result<Vec<i64>, ApiError> {
    let mut ids = Vec::with_capacity(tags.len());
    for tag in tags {
        ids.push(tag_id(store, account, tag, "tags").await?);
    }
    Ok(ids)
}
