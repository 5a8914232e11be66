//! `/fields`, `/fieldValues`, `/fieldRels` and field options.

use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use tracklane_core::contact::FieldValueInput;
use tracklane_core::field::{Field, FieldInput, FieldOption, FieldRel, FieldValue, ALL_LISTS};
use tracklane_core::ids::{AccountId, ContactId, FieldId, FieldValueId};
use tracklane_core::invalid::Invalid;
use tracklane_core::text::{bounded, NAME_MAX};
use tracklane_store::fields::{FieldOptionDraft, FieldValueQuery};

use super::doc::{get, post, ApiRouter};
use super::error::{reference_error, ApiError};
use super::extract::{required_id, ApiJson, ApiQuery, LooseId};
use super::render::{links, loose_text, meta};
use super::resource::{Ctx, PathId, Resource};
use crate::state::AppState;

/// The custom field routes.
pub fn routes() -> ApiRouter {
    ApiRouter::new("Fields")
        .route("/fields", post(create, "POST /fields: 201, or 422 duplicate when the title is taken.").get(list, "GET /fields: paging and filters[perstag]."))
        .route("/fields/{id}", get(show, "GET /fields/{id} with its options and list relations.").put(update, "PUT /fields/{id}: a partial update.").delete(remove, "DELETE /fields/{id}: {}, with every value of the field."))
        .route("/fields/{id}/options", get(options_of, "GET /fields/{id}/options."))
        .route("/fieldRels", post(relate, "POST /fieldRels: 201; relates a field to a list of the account (relid 0: all lists); another relid that names none of the account's lists is a 404 \"List not found\"."))
        .route("/fieldOption/bulk", post(add_options, "POST /fieldOption/bulk (and /fieldOptions/bulk): 201; all options or none."))
        .route("/fieldOptions/bulk", post(add_options, "POST /fieldOption/bulk (and /fieldOptions/bulk): 201; all options or none."))
        .route("/fieldValues", post(set_value, "POST /fieldValues: sets a contact's value of a field (creating or replacing it).").get(list_values, "GET /fieldValues: filters[fieldid], filters[val], paging."))
        .route("/fieldValues/{id}", get(show_value, "GET /fieldValues/{id}.").put(update_value, "PUT /fieldValues/{id}: a new value; contact and field may be left out.").delete(remove_value, "DELETE /fieldValues/{id}: {}."))
}

#[derive(Debug, Deserialize)]
struct FieldEnvelope {
    field: Option<FieldBody>,
}

#[derive(Debug, Deserialize)]
struct FieldBody {
    title: Option<String>,
    #[serde(rename = "type")]
    field_type: Option<String>,
    descript: Option<String>,
    perstag: Option<String>,
    defval: Option<String>,
    visible: Option<LooseId>,
    ordernum: Option<LooseId>,
}

impl FieldEnvelope {
    fn into_input(self) -> Result<FieldInput, Invalid> {
        let body = self.field.ok_or_else(|| Invalid::missing("field"))?;
        Ok(FieldInput {
            title: body.title,
            field_type: body.field_type,
            description: body.descript,
            perstag: body.perstag,
            default_value: body.defval,
            visible: body.visible.map(|v| v.id("visible")).transpose()?,
            ordernum: body.ordernum.map(|o| o.id("ordernum")).transpose()?,
        })
    }
}

impl Resource for Field {
    const ONE: &'static str = "field";
    const MANY: &'static str = "fields";

    fn json(&self, base: &str) -> Value {
        json!({
            "title": self.title,
            "descript": self.description,
            "type": self.field_type.as_str(),
            "isrequired": "0",
            "perstag": self.perstag,
            "defval": self.default_value,
            "show_in_list": "0",
            "rows": "0",
            "cols": "0",
            "visible": if self.visible { "1" } else { "0" },
            "service": "",
            "ordernum": self.ordernum.to_string(),
            "cdate": self.created_at.to_api(),
            "udate": self.updated_at.to_api(),
            "options": [],
            "relations": [],
            "links": links(base, &format!("fields/{}", self.id), &["options", "relations"]),
            "id": self.id.to_string(),
        })
    }
}

impl Resource for FieldValue {
    const ONE: &'static str = "fieldValue";
    const MANY: &'static str = "fieldValues";

    fn json(&self, base: &str) -> Value {
        json!({
            "contact": self.contact.to_string(),
            "field": self.field.to_string(),
            "value": self.value,
            "cdate": self.created_at.to_api(),
            "udate": self.updated_at.to_api(),
            "created_by": null,
            "updated_by": null,
            "links": links(base, &format!("fieldValues/{}", self.id), &["owner", "field"]),
            "id": self.id.to_string(),
            "owner": self.contact.to_string(),
        })
    }
}

fn field_rel_json(rel: &FieldRel) -> Value {
    json!({
        "field": rel.field.to_string(),
        "relid": rel.relid.to_string(),
        "dorder": "0",
        "cdate": rel.created_at.to_api(),
        "links": [],
        "id": rel.id.to_string(),
    })
}

fn field_option_json(option: &FieldOption) -> Value {
    json!({
        "field": option.field.to_string(),
        "orderid": option.orderid.to_string(),
        "value": option.value,
        "label": option.label,
        "isdefault": if option.isdefault { "1" } else { "0" },
        "cdate": option.created_at.to_api(),
        "udate": option.created_at.to_api(),
        "links": [],
        "id": option.id.to_string(),
    })
}

/// `POST /fields`: 201, or 422 `duplicate` when the title is taken.
async fn create(
    ctx: Ctx,
    ApiJson(body): ApiJson<FieldEnvelope>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let draft = body.into_input()?.into_draft()?;
    let field = ctx
        .store()
        .create_field(ctx.account, draft, ctx.now())
        .await?;
    Ok((StatusCode::CREATED, ctx.one(&field)))
}

/// `GET /fields`: paging and `filters[perstag]`.
async fn list(ctx: Ctx, query: ApiQuery) -> Result<Json<Value>, ApiError> {
    let perstag = query.get("filters[perstag]");
    let listed = ctx
        .store()
        .fields(ctx.account, perstag, query.page()?)
        .await?;
    Ok(Json(json!({
        "fieldOptions": [],
        "fieldRels": [],
        "fields": ctx.all(&listed.items),
        "meta": meta(listed.total),
    })))
}

/// `GET /fields/{id}` with its options and list relations.
async fn show(ctx: Ctx, PathId(id): PathId<FieldId>) -> Result<Json<Value>, ApiError> {
    let field = ctx.store().existing_field(ctx.account, id).await?;
    let options = ctx.store().field_options(ctx.account, id).await?;
    let rels = ctx.store().field_rels(ctx.account, id).await?;
    Ok(Json(json!({
        "fieldOptions": options.iter().map(field_option_json).collect::<Vec<_>>(),
        "fieldRels": rels.iter().map(field_rel_json).collect::<Vec<_>>(),
        "field": field.json(ctx.base()),
    })))
}

/// `PUT /fields/{id}`: a partial update.
async fn update(
    ctx: Ctx,
    PathId(id): PathId<FieldId>,
    ApiJson(body): ApiJson<FieldEnvelope>,
) -> Result<Json<Value>, ApiError> {
    let patch = body.into_input()?.into_patch()?;
    let field = ctx
        .store()
        .update_field(ctx.account, id, patch, ctx.now())
        .await?;
    Ok(ctx.one(&field))
}

/// `DELETE /fields/{id}`: `{}`, with every value of the field.
async fn remove(ctx: Ctx, PathId(id): PathId<FieldId>) -> Result<Json<Value>, ApiError> {
    ctx.store().delete_field(ctx.account, id).await?;
    Ok(Json(json!({})))
}

/// `GET /fields/{id}/options`.
async fn options_of(ctx: Ctx, PathId(id): PathId<FieldId>) -> Result<Json<Value>, ApiError> {
    let options = ctx.store().field_options(ctx.account, id).await?;
    Ok(Json(json!({
        "fieldOptions": options.iter().map(field_option_json).collect::<Vec<_>>(),
    })))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FieldRelEnvelope {
    field_rel: Option<FieldRelBody>,
}

#[derive(Debug, Deserialize)]
struct FieldRelBody {
    field: Option<LooseId>,
    relid: Option<LooseId>,
}

/// `POST /fieldRels`: 201; relates a field to a list of the account (`relid` 0: all lists);
/// another `relid` that names none of the account's lists is a 404 "List not found".
async fn relate(
    ctx: Ctx,
    ApiJson(body): ApiJson<FieldRelEnvelope>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let body = body.field_rel.ok_or_else(|| Invalid::missing("fieldRel"))?;
    let field = FieldId(required_id(body.field.as_ref(), "field")?);
    let relid = body
        .relid
        .map(|r| r.id("relid"))
        .transpose()?
        .unwrap_or(ALL_LISTS);
    let rel = ctx
        .store()
        .relate_field(ctx.account, field, relid, ctx.now())
        .await
        .map_err(reference_error)?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "fieldRel": field_rel_json(&rel) })),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FieldOptionsEnvelope {
    field_options: Option<Vec<FieldOptionBody>>,
}

#[derive(Debug, Deserialize)]
struct FieldOptionBody {
    field: Option<LooseId>,
    label: Option<String>,
    value: Option<String>,
    orderid: Option<LooseId>,
    isdefault: Option<Value>,
}

impl FieldOptionBody {
    fn into_draft(self) -> Result<FieldOptionDraft, Invalid> {
        let field = FieldId(required_id(self.field.as_ref(), "field")?);
        let value = bounded("value", &self.value.unwrap_or_default(), NAME_MAX)?;
        let label = match self.label {
            Some(label) => bounded("label", &label, NAME_MAX)?,
            None => value.clone(),
        };
        let isdefault = self
            .isdefault
            .as_ref()
            .and_then(loose_text)
            .is_some_and(|flag| matches!(flag.as_str(), "1" | "true"));
        Ok(FieldOptionDraft {
            field,
            label,
            value,
            orderid: self
                .orderid
                .map(|o| o.id("orderid"))
                .transpose()?
                .unwrap_or(0),
            isdefault,
        })
    }
}

/// `POST /fieldOption/bulk` (and `/fieldOptions/bulk`): 201; all options or none.
async fn add_options(
    ctx: Ctx,
    ApiJson(body): ApiJson<FieldOptionsEnvelope>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let drafts = body
        .field_options
        .ok_or_else(|| Invalid::missing("fieldOptions"))?
        .into_iter()
        .map(FieldOptionBody::into_draft)
        .collect::<Result<Vec<_>, _>>()?;
    let options = ctx
        .store()
        .add_field_options(ctx.account, drafts, ctx.now())
        .await
        .map_err(reference_error)?;
    Ok((
        StatusCode::CREATED,
        Json(json!({ "fieldOptions": options.iter().map(field_option_json).collect::<Vec<_>>() })),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FieldValueEnvelope {
    field_value: Option<FieldValueBody>,
}

#[derive(Debug, Deserialize)]
struct FieldValueBody {
    contact: Option<LooseId>,
    field: Option<LooseId>,
    value: Option<Value>,
}

impl FieldValueBody {
    fn value_text(&self) -> Result<String, Invalid> {
        self.value
            .as_ref()
            .map_or(Some(String::new()), loose_text)
            .ok_or_else(|| Invalid::bad_value("value", "a field value must be text"))
    }
}

async fn value_answer(
    state: &AppState,
    account: AccountId,
    value: &FieldValue,
) -> Result<Json<Value>, ApiError> {
    let contact = state.store.existing_contact(account, value.contact).await?;
    let base = &state.settings.public_url;
    Ok(Json(json!({
        "contacts": [contact.json(base)],
        "fieldValue": value.json(base),
    })))
}

/// `POST /fieldValues`: sets a contact's value of a field (creating or replacing it).
async fn set_value(
    ctx: Ctx,
    ApiJson(body): ApiJson<FieldValueEnvelope>,
) -> Result<Json<Value>, ApiError> {
    let body = body
        .field_value
        .ok_or_else(|| Invalid::missing("fieldValue"))?;
    let contact = ContactId(required_id(body.contact.as_ref(), "contact")?);
    let field = FieldId(required_id(body.field.as_ref(), "field")?);
    let input = FieldValueInput {
        field,
        value: body.value_text()?,
    };
    let value = ctx
        .store()
        .set_field_value(ctx.account, contact, input, ctx.now())
        .await
        .map_err(reference_error)?;
    value_answer(&ctx.state, ctx.account, &value).await
}

/// `GET /fieldValues`: `filters[fieldid]`, `filters[val]`, paging.
async fn list_values(ctx: Ctx, query: ApiQuery) -> Result<Json<Value>, ApiError> {
    let filters = FieldValueQuery {
        field: query.number("filters[fieldid]")?.map(FieldId),
        value: query.get("filters[val]").map(str::to_owned),
    };
    let listed = ctx
        .store()
        .field_values(ctx.account, &filters, query.page()?)
        .await?;
    Ok(ctx.page(&listed))
}

/// `GET /fieldValues/{id}`.
async fn show_value(ctx: Ctx, PathId(id): PathId<FieldValueId>) -> Result<Json<Value>, ApiError> {
    let value = ctx.store().existing_field_value(ctx.account, id).await?;
    Ok(Json(json!({
        "fieldValue": value.json(ctx.base()),
    })))
}

/// `PUT /fieldValues/{id}`: a new value; `contact` and `field` may be left out.
async fn update_value(
    ctx: Ctx,
    PathId(id): PathId<FieldValueId>,
    ApiJson(body): ApiJson<FieldValueEnvelope>,
) -> Result<Json<Value>, ApiError> {
    let existing = ctx.store().existing_field_value(ctx.account, id).await?;
    let body = body
        .field_value
        .ok_or_else(|| Invalid::missing("fieldValue"))?;
    let contact = match &body.contact {
        Some(contact) => ContactId(contact.id("contact")?),
        None => existing.contact,
    };
    let field = match &body.field {
        Some(field) => FieldId(field.id("field")?),
        None => existing.field,
    };
    if contact != existing.contact || field != existing.field {
        return Err(Invalid::bad_value(
            "fieldValue",
            "a field value's contact and field cannot change; create another value instead",
        )
        .into());
    }
    let input = FieldValueInput {
        field,
        value: body.value_text()?,
    };
    let value = ctx
        .store()
        .set_field_value(ctx.account, contact, input, ctx.now())
        .await?;
    value_answer(&ctx.state, ctx.account, &value).await
}

/// `DELETE /fieldValues/{id}`: `{}`.
async fn remove_value(ctx: Ctx, PathId(id): PathId<FieldValueId>) -> Result<Json<Value>, ApiError> {
    ctx.store().delete_field_value(ctx.account, id).await?;
    Ok(Json(json!({})))
}
