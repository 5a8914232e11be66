//! `/forms`: AC's public API lists and reads forms (`GET /forms`, `GET /forms/{id}`) without
//! documenting their shape, so forms answer in AC's conventions (a `form` wrapper, ids as
//! strings, `meta.total`). Creating, changing and deleting them, and `GET /forms/{id}/embed` (the
//! HTML snippet to paste into a page), are Tracklane's own.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;

use tracklane_core::form::{Form, FormField, FormInput, TAGS_MAX};
use tracklane_core::ids::{AccountId, FormId};
use tracklane_core::invalid::Invalid;
use tracklane_core::page::Page;
use tracklane_store::{Model, StoreError};

use super::doc::{get, ApiRouter};
use super::error::{reference_error, ApiError};
use super::extract::{ApiJson, ApiQuery, LooseId};
use super::render::links;
use super::resource::{Ctx, PathId, Resource};
use super::tags::tag_ids;
use crate::state::AppState;

/// The form routes.
pub fn routes() -> ApiRouter {
    ApiRouter::new("Forms")
        .route("/forms", get(list, "GET /forms: paging.").post(create, "POST /forms: 201 with the form."))
        .route("/forms/{id}", get(show, "GET /forms/{id}.").put(update, "PUT /forms/{id}: a partial update.").delete(remove, "DELETE /forms/{id}: {}."))
        .route("/forms/{id}/embed", get(embed, "GET /forms/{id}/embed: the HTML snippet to paste, as text/plain like /siteTracking/code.").text())
}

#[derive(Debug, Deserialize)]
struct FormEnvelope {
    form: Option<FormBody>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FormBody {
    name: Option<String>,
    fields: Option<Vec<String>>,
    list: Option<LooseId>,
    tags: Option<Vec<LooseId>>,
    thank_you_url: Option<String>,
}

impl FormEnvelope {
    /// The input, with the tags given by name looked up in the account.
    async fn into_input(self, state: &AppState, account: AccountId) -> Result<FormInput, ApiError> {
        let body = self.form.ok_or_else(|| Invalid::missing("form"))?;
        let tags = match body.tags {
            // Bounded before any is looked up by name.
            Some(tags) if tags.len() > TAGS_MAX => {
                return Err(Invalid::bad_value(
                    "tags",
                    format!("a form adds at most {TAGS_MAX} tags"),
                )
                .into())
            }
            Some(tags) => Some(tag_ids(&state.store, account, &tags).await?),
            None => None,
        };
        Ok(FormInput {
            name: body.name,
            fields: body.fields,
            list: body.list.map(|list| list.id("list")).transpose()?,
            tags,
            thank_you_url: body.thank_you_url,
        })
    }
}

impl Resource for Form {
    const ONE: &'static str = "form";
    const MANY: &'static str = "forms";

    fn json(&self, base: &str) -> Value {
        json!({
            "name": self.name,
            "fields": self.fields.iter().map(|f| f.name()).collect::<Vec<_>>(),
            "list": self.list.map(|list| list.to_string()),
            "tags": self.tags.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "thankYouUrl": self.thank_you_url.as_deref().unwrap_or_default(),
            "action": self.action(base),
            "cdate": self.created_at.to_api(),
            "udate": self.updated_at.to_api(),
            "links": links(base, &format!("forms/{}", self.id), &["embed"]),
            "id": self.id.to_string(),
        })
    }
}

/// A store error for a form request: the form itself missing is a 404 `{"message"}`, a list or
/// tag it names missing is a 404 `{"errors"}`.
fn form_error(error: StoreError) -> ApiError {
    match error {
        StoreError::NotFound {
            model: Model::Form,
            id,
        } => ApiError::not_found(Model::Form, id),
        other => reference_error(other),
    }
}

/// `GET /forms`: paging.
async fn list(ctx: Ctx, query: ApiQuery) -> Result<Json<Value>, ApiError> {
    let listed = ctx.store().forms(ctx.account, query.page()?).await?;
    Ok(ctx.page(&listed))
}

/// `POST /forms`: 201 with the form.
async fn create(
    ctx: Ctx,
    ApiJson(body): ApiJson<FormEnvelope>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let draft = body
        .into_input(&ctx.state, ctx.account)
        .await?
        .into_draft()?;
    let form = ctx
        .store()
        .create_form(ctx.account, draft, ctx.now())
        .await
        .map_err(form_error)?;
    Ok((StatusCode::CREATED, ctx.one(&form)))
}

/// `GET /forms/{id}`.
async fn show(ctx: Ctx, PathId(id): PathId<FormId>) -> Result<Json<Value>, ApiError> {
    let form = ctx.store().existing_form(ctx.account, id).await?;
    Ok(ctx.one(&form))
}

/// `PUT /forms/{id}`: a partial update.
async fn update(
    ctx: Ctx,
    PathId(id): PathId<FormId>,
    ApiJson(body): ApiJson<FormEnvelope>,
) -> Result<Json<Value>, ApiError> {
    let patch = body
        .into_input(&ctx.state, ctx.account)
        .await?
        .into_patch()?;
    let form = ctx
        .store()
        .update_form(ctx.account, id, patch, ctx.now())
        .await
        .map_err(form_error)?;
    Ok(ctx.one(&form))
}

/// `DELETE /forms/{id}`: `{}`.
async fn remove(ctx: Ctx, PathId(id): PathId<FormId>) -> Result<Json<Value>, ApiError> {
    ctx.store().delete_form(ctx.account, id).await?;
    Ok(Json(json!({})))
}

/// `GET /forms/{id}/embed`: the HTML snippet to paste, as `text/plain` like
/// `/siteTracking/code`.
async fn embed(ctx: Ctx, PathId(id): PathId<FormId>) -> Result<Response, ApiError> {
    let form = ctx.store().existing_form(ctx.account, id).await?;
    let mut titles = HashMap::new();
    for field in &form.fields {
        if let FormField::Custom(perstag) = field {
            let found = ctx
                .store()
                .fields(ctx.account, Some(perstag), Page::default())
                .await?;
            if let Some(custom) = found.items.into_iter().next() {
                titles.insert(perstag.clone(), custom.title);
            }
        }
    }
    Ok((
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        form.embed_html(ctx.base(), &titles),
    )
        .into_response())
}
