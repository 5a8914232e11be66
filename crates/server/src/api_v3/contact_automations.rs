//! `/contactAutomations`: contacts' runs through automations, in ActiveCampaign's shape
//! (AC's "SubscriberSeries"): entering a contact (`POST`), reading, listing with AC's filters,
//! and removing a contact from an automation (`DELETE`, which ends its run early).

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use tracklane_core::automation::saved::{Run, RunStatus};
use tracklane_core::ids::{AutomationId, AutomationRunId, ContactId};
use tracklane_core::invalid::Invalid;
use tracklane_store::automations::runs::RunQuery;
use tracklane_store::StoreError;

use super::doc::{get, post, ApiRouter};
use super::error::ApiError;
use super::extract::{required_id, ApiJson, ApiQuery, LooseId};
use super::render::meta;
use super::resource::{Ctx, PathId, Resource};

/// The contactAutomation routes.
pub fn routes() -> ApiRouter {
    ApiRouter::new("Contact automations")
        .route("/contactAutomations", post(create, "POST /contactAutomations: enters the contact into the automation; 201 with the contact side-loaded, as AC answers. A contact the automation does not take (inactive, inside already, or entered before when it takes each contact once) is AC's 403.").get(list, "GET /contactAutomations: paging, with AC's filters[seriesid], filters[subscriberid] and filters[status]."))
        .route("/contactAutomations/{id}", get(show, "GET /contactAutomations/{id}.").delete(remove, "DELETE /contactAutomations/{id}: ends the run early; {}. An unknown id is AC's 403."))
        .route("/contacts/{id}/contactAutomations", get(of_contact, "GET /contacts/{id}/contactAutomations: the contact's runs, newest first."))
        .route("/contacts/{id}/automationEntryCounts", get(entry_counts, "GET /contacts/{id}/automationEntryCounts: how many times the contact entered each automation, by automation id."))
}

#[derive(Debug, Deserialize)]
struct RunEnvelope {
    #[serde(rename = "contactAutomation")]
    contact_automation: Option<RunBody>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RunBody {
    contact: Option<LooseId>,
    automation: Option<LooseId>,
}

impl Resource for Run {
    const ONE: &'static str = "contactAutomation";
    const MANY: &'static str = "contactAutomations";

    fn json(&self, base: &str) -> Value {
        let id = self.id;
        let done = self.status != RunStatus::Active;
        let percent = if done || self.steps_total == 0 {
            100
        } else {
            (self.steps_done * 100 / self.steps_total).min(99)
        };
        let timespan = self
            .ended_at
            .map(|ended| ((ended.0 - self.entered_at.0) / 1_000_000).to_string());
        json!({
            "contact": self.contact.to_string(),
            "seriesid": self.automation.to_string(),
            "startid": "0",
            "status": self.status.code().to_string(),
            "batchid": null,
            "adddate": self.entered_at.to_api(),
            "remdate": self.ended_at.map(|at| at.to_api()),
            "timespan": timespan,
            "lastblock": self.step,
            "lastlogid": "0",
            "lastdate": self.updated_at.to_api(),
            "completedElements": self.steps_done.to_string(),
            "totalElements": self.steps_total.to_string(),
            "completed": i64::from(done),
            "completeValue": percent,
            "links": {
                "automation": format!("{base}/api/3/contactAutomations/{id}/automation"),
                "contact": format!("{base}/api/3/contactAutomations/{id}/contact"),
                "contactGoals": format!("{base}/api/3/contactAutomations/{id}/contactGoals"),
            },
            "id": id.to_string(),
            "automation": self.automation.to_string(),
            "version": self.version.to_string(),
            "dueAt": self.due_at.map(|at| at.to_api()),
            "lastError": self.last_error,
        })
    }
}

/// `POST /contactAutomations`: enters the contact into the automation; 201 with the contact
/// side-loaded, as AC answers. A contact the automation does not take (inactive, inside
/// already, or entered before when it takes each contact once) is AC's 403.
async fn create(ctx: Ctx, ApiJson(body): ApiJson<RunEnvelope>) -> Result<Response, ApiError> {
    let body = body
        .contact_automation
        .ok_or_else(|| Invalid::missing("contactAutomation"))?;
    let contact = ContactId(required_id(body.contact.as_ref(), "contact")?);
    let automation = AutomationId(required_id(body.automation.as_ref(), "automation")?);
    let cause = format!("api:{}", ctx.now().0);
    let entered = ctx
        .store()
        .enter_automation(ctx.account, automation, contact, &cause, ctx.now())
        .await
        .map_err(|error| match error {
            StoreError::NotFound { .. } => ApiError::MissingReference(
                "the contact or the automation does not exist in this account",
            ),
            other => other.into(),
        })?;
    let run = match entered {
        Ok(run) => run,
        Err(refusal) => {
            let body = json!({
                "message": "Could not create SubscriberSeries",
                "errors": [{"status": 403, "title": "Forbidden", "detail": refusal.reason()}],
            });
            return Ok((StatusCode::FORBIDDEN, Json(body)).into_response());
        }
    };
    let contact = ctx.store().existing_contact(ctx.account, contact).await?;
    let answer = json!({
        "contacts": [contact.json(ctx.base())],
        "contactAutomation": run.json(ctx.base()),
    });
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}

/// `GET /contactAutomations`: paging, with AC's `filters[seriesid]`, `filters[subscriberid]`
/// and `filters[status]`.
async fn list(ctx: Ctx, query: ApiQuery) -> Result<Json<Value>, ApiError> {
    let filter = RunQuery {
        automation: query.number("filters[seriesid]")?.map(AutomationId),
        contact: query.number("filters[subscriberid]")?.map(ContactId),
        status: query.number("filters[status]")?.map(RunStatus::from_code),
    };
    let listed = ctx
        .store()
        .runs(ctx.account, &filter, query.page()?)
        .await?;
    Ok(ctx.page(&listed))
}

/// `GET /contactAutomations/{id}`.
async fn show(ctx: Ctx, PathId(id): PathId<AutomationRunId>) -> Result<Json<Value>, ApiError> {
    Ok(ctx.one(&ctx.store().existing_run(ctx.account, id).await?))
}

/// `DELETE /contactAutomations/{id}`: ends the run early; `{}`. An unknown id is AC's 403.
async fn remove(ctx: Ctx, PathId(id): PathId<AutomationRunId>) -> Result<Response, ApiError> {
    match ctx.store().remove_run(ctx.account, id, ctx.now()).await {
        Ok(()) => Ok(Json(json!({})).into_response()),
        Err(StoreError::NotFound { .. }) => {
            let message = format!("No Result found for SubscriberSeries with id {id}");
            Ok((StatusCode::FORBIDDEN, Json(json!({ "message": message }))).into_response())
        }
        Err(other) => Err(other.into()),
    }
}

/// `GET /contacts/{id}/automationEntryCounts`: how many times the contact entered each
/// automation, by automation id.
async fn entry_counts(ctx: Ctx, PathId(id): PathId<ContactId>) -> Result<Json<Value>, ApiError> {
    let runs = ctx.store().contact_runs(ctx.account, id).await?;
    let mut counts: std::collections::BTreeMap<AutomationId, u64> = Default::default();
    for run in &runs {
        *counts.entry(run.automation).or_default() += 1;
    }
    let rows: Vec<Value> = counts
        .iter()
        .map(|(automation, count)| {
            json!({"contact": id.to_string(), "automation": automation.to_string(),
                "count": count.to_string()})
        })
        .collect();
    Ok(Json(json!({
        "automationEntryCounts": rows,
        "meta": meta(rows.len()),
    })))
}

/// `GET /contacts/{id}/contactAutomations`: the contact's runs, newest first.
async fn of_contact(ctx: Ctx, PathId(id): PathId<ContactId>) -> Result<Json<Value>, ApiError> {
    let runs = ctx.store().contact_runs(ctx.account, id).await?;
    Ok(ctx.many(&runs))
}
