//! `/segments`: ActiveCampaign's reads (`GET /segments`, `GET /segments/{id}`) in AC's shape,
//! with Tracklane's definition and live count beside, and Tracklane's own writes, members,
//! count and preview. A saved segment's members are `GET /contacts?segmentid=ID` too.

use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use tracklane_core::ids::{ContactId, SegmentId};
use tracklane_core::invalid::Invalid;
use tracklane_core::segment::saved::{parse_definition, Segment, SegmentInput};
use tracklane_core::segment::Condition;
use tracklane_store::contacts::ContactQuery;
use tracklane_store::segments::members::Transition;

use super::doc::{get, post, ApiRouter};
use super::error::ApiError;
use super::extract::{ApiJson, ApiQuery};
use super::resource::{Ctx, PathId, Resource};

/// The segment routes.
pub fn routes() -> ApiRouter {
    ApiRouter::new("Segments")
        .route("/segments", post(create, "POST /segments (Tracklane's): saves a segment; 201. Its members are computed in the background (ready turns true) and kept live from then on.").get(list, "GET /segments: paging."))
        .route("/segments/preview", post(preview, "POST /segments/preview (Tracklane's): an unsaved definition's count and first page of members (limit, offset), computed now; nothing is saved."))
        .route("/segments/{id}", get(show, "GET /segments/{id}.").put(update, "PUT /segments/{id} (Tracklane's): a partial update; a new definition is recomputed in the background while the previous members stay readable.").delete(remove, "DELETE /segments/{id} (Tracklane's): {}."))
        .route("/segments/{id}/count", get(count, "GET /segments/{id}/count (Tracklane's): {\"count\": N, \"ready\": bool}, read from the stored members."))
        .route("/segments/{id}/members", get(members, "GET /segments/{id}/members (Tracklane's): one page of the stored members, as GET /contacts?segmentid=ID answers them."))
        .route("/contacts/{id}/segmentTransitions", get(transitions_of, "GET /contacts/{id}/segmentTransitions (Tracklane's): the contact's entries into and exits from segments, oldest first, paged."))
}

#[derive(Debug, Deserialize)]
struct SegmentEnvelope {
    segment: Option<SegmentBody>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SegmentBody {
    name: Option<String>,
    definition: Option<Value>,
}

impl SegmentEnvelope {
    fn into_input(self) -> Result<SegmentInput, Invalid> {
        let body = self.segment.ok_or_else(|| Invalid::missing("segment"))?;
        Ok(SegmentInput {
            name: body.name,
            definition: body.definition,
        })
    }
}

impl Resource for Segment {
    const ONE: &'static str = "segment";
    const MANY: &'static str = "segments";

    fn json(&self, _base: &str) -> Value {
        let logic = match self.definition.root() {
            Condition::Any(_) => "or",
            _ => "and",
        };
        json!({
            "name": self.name,
            "logic": logic,
            "hidden": "0",
            "seriesid": "0",
            "created_timestamp": self.created_at.to_api_plain(),
            "updated_timestamp": self.updated_at.to_api_plain(),
            "links": [],
            "id": self.id.to_string(),
            "definition": self.definition,
            "count": self.member_count,
            "ready": self.ready,
        })
    }
}

/// `POST /segments` (Tracklane's): saves a segment; 201. Its members are computed in the
/// background (`ready` turns true) and kept live from then on.
async fn create(
    ctx: Ctx,
    ApiJson(body): ApiJson<SegmentEnvelope>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let draft = body.into_input()?.into_draft()?;
    let segment = ctx
        .store()
        .create_segment(ctx.account, draft, ctx.now())
        .await?;
    Ok((StatusCode::CREATED, ctx.one(&segment)))
}

/// `GET /segments`: paging.
async fn list(ctx: Ctx, query: ApiQuery) -> Result<Json<Value>, ApiError> {
    let listed = ctx.store().segments(ctx.account, query.page()?).await?;
    Ok(ctx.page(&listed))
}

/// `GET /segments/{id}`.
async fn show(ctx: Ctx, PathId(id): PathId<SegmentId>) -> Result<Json<Value>, ApiError> {
    Ok(ctx.one(&ctx.store().existing_segment(ctx.account, id).await?))
}

/// `PUT /segments/{id}` (Tracklane's): a partial update; a new definition is recomputed in the
/// background while the previous members stay readable.
async fn update(
    ctx: Ctx,
    PathId(id): PathId<SegmentId>,
    ApiJson(body): ApiJson<SegmentEnvelope>,
) -> Result<Json<Value>, ApiError> {
    let patch = body.into_input()?.into_patch()?;
    let segment = ctx
        .store()
        .update_segment(ctx.account, id, patch, ctx.now())
        .await?;
    Ok(ctx.one(&segment))
}

/// `DELETE /segments/{id}` (Tracklane's): `{}`.
async fn remove(ctx: Ctx, PathId(id): PathId<SegmentId>) -> Result<Json<Value>, ApiError> {
    ctx.store().delete_segment(ctx.account, id).await?;
    Ok(Json(json!({})))
}

/// `GET /segments/{id}/count` (Tracklane's): `{"count": N, "ready": bool}`, read from the
/// stored members.
async fn count(ctx: Ctx, PathId(id): PathId<SegmentId>) -> Result<Json<Value>, ApiError> {
    let segment = ctx.store().existing_segment(ctx.account, id).await?;
    Ok(Json(
        json!({ "count": segment.member_count, "ready": segment.ready }),
    ))
}

/// `GET /segments/{id}/members` (Tracklane's): one page of the stored members, as
/// `GET /contacts?segmentid=ID` answers them.
async fn members(
    ctx: Ctx,
    PathId(id): PathId<SegmentId>,
    query: ApiQuery,
) -> Result<Json<Value>, ApiError> {
    let filters = ContactQuery {
        segment: Some(id),
        ..ContactQuery::default()
    };
    let listed = ctx
        .store()
        .contacts(ctx.account, &filters, query.page()?)
        .await?;
    Ok(ctx.page(&listed))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PreviewBody {
    definition: Option<Value>,
}

/// `POST /segments/preview` (Tracklane's): an unsaved definition's count and first page of
/// members (`limit`, `offset`), computed now; nothing is saved.
async fn preview(
    ctx: Ctx,
    query: ApiQuery,
    ApiJson(body): ApiJson<PreviewBody>,
) -> Result<Json<Value>, ApiError> {
    let json = body
        .definition
        .ok_or_else(|| Invalid::missing("definition"))?;
    let definition = parse_definition(json)?;
    let listed = ctx
        .store()
        .preview_segment(ctx.account, &definition, ctx.now(), query.page()?)
        .await?;
    Ok(Json(json!({
        "count": listed.total,
        "contacts": ctx.all(&listed.items),
    })))
}

impl Resource for Transition {
    const ONE: &'static str = "segmentTransition";
    const MANY: &'static str = "segmentTransitions";

    fn json(&self, _base: &str) -> Value {
        json!({
            "segment": self.segment.to_string(),
            "contact": self.contact.to_string(),
            "entered": self.entered,
            "at": self.at.to_api(),
        })
    }
}

/// `GET /contacts/{id}/segmentTransitions` (Tracklane's): the contact's entries into and exits
/// from segments, oldest first, paged.
async fn transitions_of(
    ctx: Ctx,
    PathId(id): PathId<ContactId>,
    query: ApiQuery,
) -> Result<Json<Value>, ApiError> {
    let listed = ctx
        .store()
        .contact_transitions(ctx.account, id, query.page()?)
        .await?;
    Ok(ctx.page(&listed))
}
