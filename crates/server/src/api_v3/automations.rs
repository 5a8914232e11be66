//! `/automations`: ActiveCampaign's reads (`GET /automations`, `GET /automations/{id}`) in AC's
//! shape, with Tracklane's definition and version beside, and Tracklane's own writes:
//! creating, editing (a new version of the definition), activating and deleting; its report and
//! a dry run of the path a contact would take.

use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use tracklane_core::automation::saved::{Automation, AutomationInput};
use tracklane_core::automation::step::Action;
use tracklane_core::automation::walk::PathEnd;
use tracklane_core::ids::{AutomationId, AutomationRunId, ContactId, ListId, SegmentId};
use tracklane_core::invalid::Invalid;
use tracklane_store::automations::bulk::Members;

use super::doc::{get, post, ApiRouter};
use super::error::ApiError;
use super::extract::{required_id, ApiJson, ApiQuery, LooseId};
use super::resource::{Ctx, PathId, Resource};

/// The automation routes.
pub fn routes() -> ApiRouter {
    ApiRouter::new("Automations")
        .route("/automations", post(create, "POST /automations (Tracklane's): saves an automation, inactive unless status is 1; 201.").get(list, "GET /automations: paging; meta as AC's."))
        .route("/automations/{id}", get(show, "GET /automations/{id}.").put(update, "PUT /automations/{id} (Tracklane's): a partial update. A new definition is a new version; contacts inside go on with the version they entered.").delete(remove, "DELETE /automations/{id} (Tracklane's): {}."))
        .route("/automations/{id}/report", get(report, "GET /automations/{id}/report (Tracklane's): how many runs entered, are in progress, completed and left early; per goal of the current version, how many reached it, their share of the entries and their mean time from entry; per A/B split, each path's runs (where they are, and how many reached a goal after it); and per step of the current version (then of earlier ones), the runs in progress there and those that passed it."))
        .route("/automations/{id}/dryRun", post(dry_run, "POST /automations/{id}/dryRun (Tracklane's, {\"contact\": ID}): the path the contact would take through the current version now, were every wait over at once: its steps, and whether it completes, ends or loops. Nothing is written."))
        .route("/automations/{id}/entries", post(enter_members, "POST /automations/{id}/entries (Tracklane's, {\"list\": ID} or {\"segment\": ID}): enters the list's subscribers or the segment's members, as AC's \"add contacts to automation\" does; answers how many entered (those inside already, or entered before when it takes each contact once, are left as they are)."))
}

#[derive(Debug, Deserialize)]
struct AutomationEnvelope {
    automation: Option<AutomationBody>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct AutomationBody {
    name: Option<String>,
    definition: Option<Value>,
    status: Option<Value>,
}

impl AutomationEnvelope {
    fn into_input(self) -> Result<AutomationInput, Invalid> {
        let body = self
            .automation
            .ok_or_else(|| Invalid::missing("automation"))?;
        let status = match body.status {
            None => None,
            Some(Value::String(text)) => Some(text),
            Some(Value::Number(number)) => Some(number.to_string()),
            Some(_) => {
                return Err(Invalid::bad_value(
                    "status",
                    "must be 1 (active) or 2 (inactive)",
                ))
            }
        };
        Ok(AutomationInput {
            name: body.name,
            definition: body.definition,
            status,
        })
    }
}

impl Resource for Automation {
    const ONE: &'static str = "automation";
    const MANY: &'static str = "automations";

    fn json(&self, base: &str) -> Value {
        let id = self.id;
        let link = |path: &str| format!("{base}/api/3/automations/{id}/{path}");
        json!({
            "name": self.name,
            "cdate": self.created_at.to_api(),
            "mdate": self.updated_at.to_api(),
            "userid": "1",
            "status": if self.active { "1" } else { "2" },
            "entered": self.entered.to_string(),
            "exited": self.exited.to_string(),
            "hidden": "0",
            "defaultscreenshot": "",
            "screenshot": "",
            "links": {
                "campaigns": link("campaigns"),
                "contactGoals": link("contactGoals"),
                "contactAutomations": link("contactAutomations"),
                "blocks": link("blocks"),
                "goals": link("goals"),
                "sms": link("sms"),
                "sitemessages": link("sitemessages"),
            },
            "id": id.to_string(),
            "version": self.version.to_string(),
            "definition": self.definition,
        })
    }
}

/// `POST /automations` (Tracklane's): saves an automation, inactive unless `status` is `1`;
/// 201.
async fn create(
    ctx: Ctx,
    ApiJson(body): ApiJson<AutomationEnvelope>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let draft = body.into_input()?.into_draft()?;
    let automation = ctx
        .store()
        .create_automation(ctx.account, draft, ctx.now())
        .await?;
    Ok((StatusCode::CREATED, ctx.one(&automation)))
}

/// `GET /automations`: paging; `meta` as AC's.
async fn list(ctx: Ctx, query: ApiQuery) -> Result<Json<Value>, ApiError> {
    let listed = ctx.store().automations(ctx.account, query.page()?).await?;
    let Json(mut answer) = ctx.page(&listed);
    answer["meta"]["starts"] = json!([]);
    answer["meta"]["filtered"] = json!(false);
    answer["meta"]["smsLogs"] = json!([]);
    Ok(Json(answer))
}

/// `GET /automations/{id}`.
async fn show(ctx: Ctx, PathId(id): PathId<AutomationId>) -> Result<Json<Value>, ApiError> {
    Ok(ctx.one(&ctx.store().existing_automation(ctx.account, id).await?))
}

/// `PUT /automations/{id}` (Tracklane's): a partial update. A new definition is a new version;
/// contacts inside go on with the version they entered.
async fn update(
    ctx: Ctx,
    PathId(id): PathId<AutomationId>,
    ApiJson(body): ApiJson<AutomationEnvelope>,
) -> Result<Json<Value>, ApiError> {
    let patch = body.into_input()?.into_patch()?;
    let automation = ctx
        .store()
        .update_automation(ctx.account, id, patch, ctx.now())
        .await?;
    Ok(ctx.one(&automation))
}

/// `DELETE /automations/{id}` (Tracklane's): `{}`.
async fn remove(ctx: Ctx, PathId(id): PathId<AutomationId>) -> Result<Json<Value>, ApiError> {
    ctx.store().delete_automation(ctx.account, id).await?;
    Ok(Json(json!({})))
}

/// `GET /automations/{id}/report` (Tracklane's): how many runs entered, are in progress,
/// completed and left early; per goal of the current version, how many reached it, their
/// share of the entries and their mean time from entry; per A/B split, each path's runs (where
/// they are, and how many reached a goal after it); and per step of the current version (then
/// of earlier ones), the runs in progress there and those that passed it.
async fn report(ctx: Ctx, PathId(id): PathId<AutomationId>) -> Result<Json<Value>, ApiError> {
    let automation = ctx.store().existing_automation(ctx.account, id).await?;
    let mut counts = ctx.store().automation_counts(ctx.account, id).await?;
    let mut steps = Vec::new();
    let mut goals = Vec::new();
    let mut splits = Vec::new();
    let definition = &automation.definition;
    for step in definition.steps() {
        let (waiting, passed) = counts.steps.remove(&step.id).unwrap_or_default();
        steps.push(json!({"id": step.id, "kind": step.action.kind(),
            "waiting": waiting.to_string(), "passed": passed.to_string()}));
        match &step.action {
            Action::Goal { .. } => {
                let goal = counts.goals.remove(&step.id).unwrap_or_default();
                goals.push(json!({"id": step.id, "reached": goal.reached.to_string(),
                    "rate": rate(goal.reached, counts.entered),
                    "meanSecondsToGoal": (goal.reached > 0).then_some(goal.mean_seconds.round())}));
            }
            Action::Split(paths) => {
                let paths: Vec<Value> = paths
                    .iter()
                    .enumerate()
                    .map(|(index, path)| {
                        let key = (step.id.clone(), i64::try_from(index).unwrap_or(i64::MAX));
                        let took = counts.paths.remove(&key).unwrap_or_default();
                        json!({"path": index, "percent": path.percent,
                            "next": definition.steps()[path.next].id,
                            "entered": took.entered.to_string(),
                            "active": took.active.to_string(),
                            "completed": took.completed.to_string(),
                            "exitedEarly": took.exited_early.to_string(),
                            "goalReached": took.reached_goal.to_string(),
                            "goalRate": rate(took.reached_goal, took.entered)})
                    })
                    .collect();
                splits.push(json!({"id": step.id, "paths": paths}));
            }
            _ => {}
        }
    }
    for (step, (waiting, passed)) in counts.steps {
        steps.push(json!({"id": step, "kind": null,
            "waiting": waiting.to_string(), "passed": passed.to_string()}));
    }
    Ok(Json(json!({"report": {
        "entered": counts.entered.to_string(),
        "active": counts.active.to_string(),
        "completed": counts.completed.to_string(),
        "exitedEarly": counts.exited_early.to_string(),
        "goals": goals,
        "splits": splits,
        "steps": steps,
    }})))
}

/// `part` of `whole` as a fraction with two decimals (`"0.50"`); `"0.00"` of nothing.
fn rate(part: i64, whole: i64) -> String {
    if whole <= 0 {
        return "0.00".to_owned();
    }
    format!("{:.2}", part as f64 / whole as f64)
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct EntriesBody {
    list: Option<LooseId>,
    segment: Option<LooseId>,
}

/// `POST /automations/{id}/entries` (Tracklane's, `{"list": ID}` or `{"segment": ID}`): enters
/// the list's subscribers or the segment's members, as AC's "add contacts to automation" does;
/// answers how many entered (those inside already, or entered before when it takes each
/// contact once, are left as they are).
async fn enter_members(
    ctx: Ctx,
    PathId(id): PathId<AutomationId>,
    ApiJson(body): ApiJson<EntriesBody>,
) -> Result<Json<Value>, ApiError> {
    let members = match (&body.list, &body.segment) {
        (Some(list), None) => Members::List(ListId(required_id(Some(list), "list")?)),
        (None, Some(segment)) => {
            Members::Segment(SegmentId(required_id(Some(segment), "segment")?))
        }
        _ => {
            return Err(
                Invalid::bad_value("list", "give either a list or a segment to enter").into(),
            )
        }
    };
    let entered = ctx
        .store()
        .enter_members(ctx.account, id, members, ctx.now())
        .await?;
    Ok(Json(json!({"entered": entered.to_string()})))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DryRunBody {
    contact: Option<LooseId>,
}

/// `POST /automations/{id}/dryRun` (Tracklane's, `{"contact": ID}`): the path the contact
/// would take through the current version now, were every wait over at once: its steps, and
/// whether it `completes`, `ends` or `loops`. Nothing is written.
async fn dry_run(
    ctx: Ctx,
    PathId(id): PathId<AutomationId>,
    ApiJson(body): ApiJson<DryRunBody>,
) -> Result<Json<Value>, ApiError> {
    let contact = ContactId(required_id(body.contact.as_ref(), "contact")?);
    let store = ctx.store();
    store.existing_contact(ctx.account, contact).await?;
    let automation = store.existing_automation(ctx.account, id).await?;
    let definition = &automation.definition;
    let mut answers = Vec::new();
    for index in 0..definition.steps().len() {
        if let Some(condition) = definition.condition_of(index) {
            let meeting = store
                .contacts_meeting(ctx.account, condition, &[contact], ctx.now())
                .await?;
            answers.push((index, meeting.contains(&contact)));
        }
    }
    let (path, end) = definition.path(AutomationRunId(contact.0), &answers);
    let steps: Vec<Value> = path
        .iter()
        .map(|&index| {
            let step = &definition.steps()[index];
            json!({"id": step.id, "kind": step.action.kind()})
        })
        .collect();
    let end = match end {
        PathEnd::Completes => "completes",
        PathEnd::Ends => "ends",
        PathEnd::Loops => "loops",
    };
    Ok(Json(json!({"dryRun": {
        "contact": contact.to_string(),
        "version": automation.version.to_string(),
        "steps": steps,
        "end": end,
    }})))
}
