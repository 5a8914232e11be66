//! `/tags` and `/contactTags`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use axum::{Extension, Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use tracklane_core::ids::{AccountId, ContactId, ContactTagId, TagId};
use tracklane_core::invalid::Invalid;
use tracklane_core::tag::{ContactTag, Tag, TagInput};
use tracklane_store::sql::{TextFilter, TextOp};
use tracklane_store::tags::TagQuery;
use tracklane_store::Model;

use super::error::{reference_error, ApiError};
use super::extract::{path_id, required_id, ApiJson, ApiQuery, LooseId};
use super::render::{links, meta};
use crate::state::AppState;

/// The tag routes.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/tags", post(create).get(list))
        .route("/tags/{id}", get(show).put(update).delete(remove))
        .route("/contactTags", post(add_to_contact))
        .route("/contactTags/{id}", delete(remove_from_contact))
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

/// A tag in AC's shape.
pub fn tag_json(tag: &Tag, base: &str) -> Value {
    json!({
        "tagType": tag.tag_type.as_str(),
        "tag": tag.name,
        "description": tag.description,
        "cdate": tag.created_at.to_api(),
        "subscriber_count": tag.contact_count.to_string(),
        "created_timestamp": tag.created_at.to_api_plain(),
        "updated_timestamp": tag.updated_at.to_api_plain(),
        "created_by": null,
        "updated_by": null,
        "links": links(base, &format!("tags/{}", tag.id), &["contactGoalTags"]),
        "id": tag.id.to_string(),
    })
}

/// A contact's tag in AC's shape.
pub fn contact_tag_json(contact_tag: &ContactTag, base: &str) -> Value {
    json!({
        "contact": contact_tag.contact.to_string(),
        "tag": contact_tag.tag.to_string(),
        "cdate": contact_tag.created_at.to_api(),
        "created_timestamp": contact_tag.created_at.to_api_plain(),
        "updated_timestamp": contact_tag.created_at.to_api_plain(),
        "created_by": null,
        "updated_by": null,
        "links": links(base, &format!("contactTags/{}", contact_tag.id), &["contact", "tag"]),
        "id": contact_tag.id.to_string(),
    })
}

/// `POST /tags`: 201.
async fn create(
    State(state): State<AppState>,
    Extension(account): Extension<AccountId>,
    ApiJson(body): ApiJson<TagEnvelope>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let draft = body.into_input()?.into_draft()?;
    let tag = state.store.create_tag(account, draft, state.now()).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "tag": tag_json(&tag, &state.settings.public_url) })),
    ))
}

/// `GET /tags`: `search` (contains) or `filters[search][op]`, `orders[search]`, paging.
async fn list(
    State(state): State<AppState>,
    Extension(account): Extension<AccountId>,
    query: ApiQuery,
) -> Result<Json<Value>, ApiError> {
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
    let listed = state.store.tags(account, &tag_query, query.page()?).await?;
    let base = &state.settings.public_url;
    Ok(Json(json!({
        "tags": listed.items.iter().map(|t| tag_json(t, base)).collect::<Vec<_>>(),
        "meta": meta(listed.total),
    })))
}

/// `GET /tags/{id}`.
async fn show(
    State(state): State<AppState>,
    Extension(account): Extension<AccountId>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = TagId(path_id(&id, Model::Tag)?);
    let tag = state.store.existing_tag(account, id).await?;
    Ok(Json(
        json!({ "tag": tag_json(&tag, &state.settings.public_url) }),
    ))
}

/// `PUT /tags/{id}`: a partial update.
async fn update(
    State(state): State<AppState>,
    Extension(account): Extension<AccountId>,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<TagEnvelope>,
) -> Result<Json<Value>, ApiError> {
    let id = TagId(path_id(&id, Model::Tag)?);
    let patch = body.into_input()?.into_patch()?;
    let tag = state
        .store
        .update_tag(account, id, patch, state.now())
        .await?;
    Ok(Json(
        json!({ "tag": tag_json(&tag, &state.settings.public_url) }),
    ))
}

/// `DELETE /tags/{id}`: `{}`.
async fn remove(
    State(state): State<AppState>,
    Extension(account): Extension<AccountId>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = TagId(path_id(&id, Model::Tag)?);
    state.store.delete_tag(account, id).await?;
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
    State(state): State<AppState>,
    Extension(account): Extension<AccountId>,
    ApiJson(body): ApiJson<ContactTagEnvelope>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let body = body
        .contact_tag
        .ok_or_else(|| Invalid::missing("contactTag"))?;
    let contact = ContactId(required_id(body.contact.as_ref(), "contact")?);
    let tag = TagId(required_id(body.tag.as_ref(), "tag")?);
    let (row, created) = state
        .store
        .add_contact_tag(account, contact, tag, state.now())
        .await
        .map_err(reference_error)?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((
        status,
        Json(json!({ "contactTag": contact_tag_json(&row, &state.settings.public_url) })),
    ))
}

/// `DELETE /contactTags/{id}`: `{}`; the id is the row's, not the tag's.
async fn remove_from_contact(
    State(state): State<AppState>,
    Extension(account): Extension<AccountId>,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let id = ContactTagId(path_id(&id, Model::ContactTag)?);
    state.store.remove_contact_tag(account, id).await?;
    Ok(Json(json!({})))
}
