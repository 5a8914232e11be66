//! `/contacts`, `/contact/sync` and a contact's sub-collections.

use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use tracklane_core::contact::{Contact, ContactInput, FieldValueInput};
use tracklane_core::field::FieldValue;
use tracklane_core::ids::{ContactId, FieldId, ListId, ScoreModelId, SegmentId, TagId};
use tracklane_core::invalid::Invalid;
use tracklane_core::time::Timestamp;
use tracklane_store::contacts::{ContactOrder, ContactQuery};

use super::doc::{get, post, ApiRouter};
use super::error::ApiError;
use super::extract::{ApiJson, ApiQuery, LooseId};
use super::render::{links, loose_text, meta};
use super::resource::{Ctx, PathId, Resource};

/// The contact routes.
pub fn routes() -> ApiRouter {
    ApiRouter::new("Contacts")
        .route(
            "/contacts",
            post(
                create,
                "POST /contacts: 201, or 422 when the email is taken.",
            )
            .get(list, "GET /contacts with AC's filters, orders (orders[score] with sortId: the score in that model, none as 0) and paging."),
        )
        .route(
            "/contact/sync",
            post(
                sync,
                "POST /contact/sync: creates (201) or updates (200) the contact with this email.",
            ),
        )
        .route(
            "/contacts/{id}",
            get(
                show,
                "GET /contacts/{id} with its lists and field values side-loaded, as AC does.",
            )
            .put(update, "PUT /contacts/{id}: a partial update.")
            .delete(remove, "DELETE /contacts/{id}: {}."),
        )
        .route(
            "/contacts/{id}/contactTags",
            get(tags_of, "GET /contacts/{id}/contactTags."),
        )
        .route(
            "/contacts/{id}/contactLists",
            get(lists_of, "GET /contacts/{id}/contactLists."),
        )
        .route(
            "/contacts/{id}/fieldValues",
            get(field_values_of, "GET /contacts/{id}/fieldValues."),
        )
}

/// `{"contact": {...}}` as clients send it.
#[derive(Debug, Deserialize)]
struct ContactEnvelope {
    contact: Option<ContactBody>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ContactBody {
    email: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    phone: Option<String>,
    field_values: Option<Vec<FieldValueBody>>,
}

#[derive(Debug, Deserialize)]
struct FieldValueBody {
    field: Option<LooseId>,
    value: Option<Value>,
}

impl ContactEnvelope {
    fn into_input(self) -> Result<ContactInput, Invalid> {
        let body = self.contact.ok_or_else(|| Invalid::missing("contact"))?;
        let field_values = body
            .field_values
            .unwrap_or_default()
            .into_iter()
            .map(|fv| {
                let field = super::extract::required_id(fv.field.as_ref(), "field")?;
                let value = fv
                    .value
                    .as_ref()
                    .map_or(Some(String::new()), loose_text)
                    .ok_or_else(|| Invalid::bad_value("value", "a field value must be text"))?;
                Ok(FieldValueInput {
                    field: FieldId(field),
                    value,
                })
            })
            .collect::<Result<_, Invalid>>()?;
        Ok(ContactInput {
            email: body.email,
            first_name: body.first_name,
            last_name: body.last_name,
            phone: body.phone,
            field_values,
        })
    }
}

impl Resource for Contact {
    const ONE: &'static str = "contact";
    const MANY: &'static str = "contacts";

    fn json(&self, base: &str) -> Value {
        let (local, domain) = self.email.rsplit_once('@').unwrap_or(("", ""));
        // Only the sub-resources Tracklane serves: a client that follows a link finds it.
        let mut links = links(
            base,
            &format!("contacts/{}", self.id),
            &[
                "contactAutomations",
                "contactLists",
                "contactTags",
                "fieldValues",
                "trackingLogs",
                "scoreValues",
                "automationEntryCounts",
            ],
        );
        links["contactAutomations"] = json!(format!(
            "{base}/api/3/contacts/{}/contactAutomations?limit=1000&orders%5Blastdate%5D=DESC",
            self.id
        ));
        json!({
            "cdate": self.created_at.to_api(),
            "email": self.email,
            "phone": self.phone,
            "firstName": self.first_name,
            "lastName": self.last_name,
            "orgid": "0",
            "orgname": "",
            "segmentio_id": "",
            "bounced_hard": "0",
            "bounced_soft": "0",
            "bounced_date": null,
            "ip": "0",
            "ua": null,
            "hash": self.hash,
            "socialdata_lastcheck": null,
            "email_local": local,
            "email_domain": domain,
            "sentcnt": "0",
            "rating_tstamp": null,
            "gravatar": "0",
            "deleted": "0",
            "anonymized": "0",
            "adate": null,
            "udate": self.updated_at.to_api(),
            "edate": null,
            "deleted_at": null,
            "created_utc_timestamp": self.created_at.to_api_plain(),
            "updated_utc_timestamp": self.updated_at.to_api_plain(),
            "created_timestamp": self.created_at.to_api_plain(),
            "updated_timestamp": self.updated_at.to_api_plain(),
            "created_by": null,
            "updated_by": null,
            "email_empty": self.email.is_empty(),
            "mpp_tracking": "0",
            "scoreValues": [],
            "links": links,
            "id": self.id.to_string(),
            "organization": null,
        })
    }
}

/// A written contact with its field values side-loaded.
fn written_json(ctx: &Ctx, contact: &Contact, values: &[FieldValue]) -> Value {
    let mut contact_json = contact.json(ctx.base());
    contact_json["fieldValues"] =
        json!(values.iter().map(|v| v.id.to_string()).collect::<Vec<_>>());
    json!({
        "fieldValues": ctx.all(values),
        "contact": contact_json,
    })
}

/// `POST /contacts`: 201, or 422 when the email is taken.
async fn create(
    ctx: Ctx,
    ApiJson(body): ApiJson<ContactEnvelope>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let draft = body.into_input()?.into_draft()?;
    let (contact, values) = ctx
        .store()
        .create_contact(ctx.account, draft, ctx.now())
        .await?;
    Ok((
        StatusCode::CREATED,
        Json(written_json(&ctx, &contact, &values)),
    ))
}

/// `POST /contact/sync`: creates (201) or updates (200) the contact with this email.
async fn sync(
    ctx: Ctx,
    ApiJson(body): ApiJson<ContactEnvelope>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let draft = body.into_input()?.into_draft()?;
    let (contact, values, created) = ctx
        .store()
        .sync_contact(ctx.account, draft, ctx.now())
        .await?;
    let status = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(written_json(&ctx, &contact, &values))))
}

/// `GET /contacts/{id}` with its lists and field values side-loaded, as AC does.
async fn show(ctx: Ctx, PathId(id): PathId<ContactId>) -> Result<Json<Value>, ApiError> {
    let contact = ctx.store().existing_contact(ctx.account, id).await?;
    let lists = ctx.store().contact_lists(ctx.account, id).await?;
    let values = ctx.store().contact_field_values(ctx.account, id).await?;
    let mut contact_json = contact.json(ctx.base());
    contact_json["contactAutomations"] = json!([]);
    contact_json["contactLists"] =
        json!(lists.iter().map(|l| l.id.to_string()).collect::<Vec<_>>());
    contact_json["fieldValues"] =
        json!(values.iter().map(|v| v.id.to_string()).collect::<Vec<_>>());
    contact_json["geoIps"] = json!([]);
    contact_json["deals"] = json!([]);
    contact_json["accountContacts"] = json!([]);
    Ok(Json(json!({
        "contactAutomations": [],
        "contactLists": ctx.all(&lists),
        "deals": [],
        "fieldValues": ctx.all(&values),
        "geoAddresses": [],
        "geoIps": [],
        "contact": contact_json,
    })))
}

fn parse_ids(raw: Vec<&str>) -> Result<Vec<i64>, ApiError> {
    raw.into_iter()
        .map(|id| {
            id.parse()
                .map_err(|_| Invalid::bad_value("ids", format!("'{id}' is not an id")).into())
        })
        .collect()
}

fn parse_time(query: &ApiQuery, key: &'static str) -> Result<Option<Timestamp>, ApiError> {
    query
        .get(&format!("filters[{key}]"))
        .map(|raw| Ok(Timestamp::parse_attribute(key, raw)?))
        .transpose()
}

fn contact_query(query: &ApiQuery) -> Result<ContactQuery, ApiError> {
    let mut order = Vec::new();
    for (key, direction) in query.orders() {
        let parsed = match key {
            "score" => {
                let model = query
                    .number("sortId")?
                    .ok_or_else(|| Invalid::missing("sortId"))?;
                Some(ContactOrder::Score(ScoreModelId(model)))
            }
            _ => ContactOrder::parse(key),
        };
        order.extend(parsed.map(|parsed| (parsed, direction)));
    }
    Ok(ContactQuery {
        email: query
            .get("email")
            .or_else(|| query.get("filters[email]"))
            .map(str::to_owned),
        email_like: query.get("email_like").map(str::to_owned),
        search: query.get("search").map(str::to_owned),
        ids: parse_ids(query.all("ids"))?,
        id_greater: query.number("id_greater")?,
        id_less: query.number("id_less")?,
        exclude: query.number("exclude")?,
        list: query.number("listid")?.map(ListId),
        list_status: query.number("status")?,
        tag: query.number("tagid")?.map(TagId),
        segment: query.number("segmentid")?.map(SegmentId),
        phone: query.get("phone").map(str::to_owned),
        created_before: parse_time(query, "created_before")?,
        created_after: parse_time(query, "created_after")?,
        updated_before: parse_time(query, "updated_before")?,
        updated_after: parse_time(query, "updated_after")?,
        order,
    })
}

/// `GET /contacts` with AC's filters, orders (`orders[score]` with `sortId`: the score in that
/// model, none as 0) and paging.
async fn list(ctx: Ctx, query: ApiQuery) -> Result<Json<Value>, ApiError> {
    let page = query.page()?;
    let filters = contact_query(&query)?;
    let listed = ctx.store().contacts(ctx.account, &filters, page).await?;
    let mut meta = meta(listed.total);
    meta["page_input"] = json!({
        "segmentid": filters.segment.map(|s| s.0),
        "formid": 0,
        "listid": filters.list.map_or(0, |l| l.0),
        "tagid": filters.tag.map_or(0, |t| t.0),
        "limit": page.limit,
        "offset": page.offset,
        "search": filters.search,
        "sort": null,
        "seriesid": 0,
        "waitid": 0,
        "status": filters.list_status.unwrap_or(-1),
        "forceQuery": 0,
        "cacheid": "",
    });
    Ok(Json(json!({
        "scoreValues": [],
        "contacts": ctx.all(&listed.items),
        "meta": meta,
    })))
}

/// `PUT /contacts/{id}`: a partial update.
async fn update(
    ctx: Ctx,
    PathId(id): PathId<ContactId>,
    ApiJson(body): ApiJson<ContactEnvelope>,
) -> Result<Json<Value>, ApiError> {
    let patch = body.into_input()?.into_patch()?;
    let (contact, values) = ctx
        .store()
        .update_contact(ctx.account, id, patch, ctx.now())
        .await?;
    ctx.state.gate.forget_contacts(ctx.account);
    Ok(Json(written_json(&ctx, &contact, &values)))
}

/// `DELETE /contacts/{id}`: `{}`.
async fn remove(ctx: Ctx, PathId(id): PathId<ContactId>) -> Result<Json<Value>, ApiError> {
    ctx.store().delete_contact(ctx.account, id).await?;
    ctx.state.gate.forget_contacts(ctx.account);
    Ok(Json(json!({})))
}

/// `GET /contacts/{id}/contactTags`.
async fn tags_of(ctx: Ctx, PathId(id): PathId<ContactId>) -> Result<Json<Value>, ApiError> {
    let tags = ctx.store().contact_tags(ctx.account, id).await?;
    Ok(ctx.many(&tags))
}

/// `GET /contacts/{id}/contactLists`.
async fn lists_of(ctx: Ctx, PathId(id): PathId<ContactId>) -> Result<Json<Value>, ApiError> {
    let lists = ctx.store().contact_lists(ctx.account, id).await?;
    Ok(ctx.many(&lists))
}

/// `GET /contacts/{id}/fieldValues`.
async fn field_values_of(ctx: Ctx, PathId(id): PathId<ContactId>) -> Result<Json<Value>, ApiError> {
    let values = ctx.store().contact_field_values(ctx.account, id).await?;
    Ok(ctx.many(&values))
}
