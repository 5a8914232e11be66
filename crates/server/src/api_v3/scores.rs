//! `/scores`: lead scoring. ActiveCampaign's reads in AC's shape (`GET /scores`,
//! `GET /scores/{id}`, `GET /contacts/{id}/scoreValues`), and Tracklane's own: writing models,
//! their rules (`/scores/{id}/rules`, `/scoreRules/{id}`), a contact's awards (why it has its
//! scores) and manual adjustments.

use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use tracklane_core::ids::{ContactId, ScoreModelId, ScoreRuleId};
use tracklane_core::invalid::Invalid;
use tracklane_core::score::award::{AdjustmentInput, Cause, ScoreAward};
use tracklane_core::score::model::{ModelInput, ScoreModel};
use tracklane_core::score::rule::{Cap, Frequency, Progress, RuleInput, ScoreRule, Scoring};
use tracklane_store::scoring::ledger::ContactScore;

use super::doc::{get, post, ApiRouter};
use super::error::ApiError;
use super::extract::{ApiJson, ApiQuery, LooseId};
use super::resource::{Ctx, PathId, Resource};

/// The scoring routes.
pub fn routes() -> ApiRouter {
    ApiRouter::new("Scores")
        .route("/scores", get(list, "GET /scores: paging.").post(create, "POST /scores (Tracklane's): a new model; 201."))
        .route("/scores/{id}", get(show, "GET /scores/{id}.").put(update, "PUT /scores/{id} (Tracklane's): a partial update.").delete(remove, "DELETE /scores/{id} (Tracklane's): the model, its rules, ledger and scores; refused while a segment reads its scores. {}."))
        .route("/scores/{id}/rules", get(rules, "GET /scores/{id}/rules (Tracklane's): the model's rules, paged.").post(add_rule, "POST /scores/{id}/rules (Tracklane's): a new rule; past behavior is scored by it in the background (ready turns true); 201."))
        .route("/scoreRules/{id}", get(show_rule, "GET /scoreRules/{id} (Tracklane's).").put(replace_rule, "PUT /scoreRules/{id} (Tracklane's): replaces the rule (the body is a whole rule, as for POST); past behavior is scored again in the background while the previous rule's awards still count.").delete(remove_rule, "DELETE /scoreRules/{id} (Tracklane's): its awards stop counting once the scores are recomputed in the background. {}."))
        .route("/contacts/{id}/scoreValues", get(score_values, "GET /contacts/{id}/scoreValues: the contact's score in each model it has had points in."))
        .route("/contacts/{id}/scoreAwards", get(awards, "GET /contacts/{id}/scoreAwards (Tracklane's): the live awards its scores sum, newest first, paged; score=ID keeps one model's."))
        .route("/contacts/{id}/scoreAdjustments", post(adjust, "POST /contacts/{id}/scoreAdjustments (Tracklane's): adds or takes points by hand, with a reason; the award, 201."))
}

/// A share of work done, 0 to 1: 1 when there is none (`ready`), 0 when it has not begun.
fn share(ready: bool, progress: Progress) -> f64 {
    if ready {
        1.0
    } else if progress.total <= 0 {
        0.0
    } else {
        (progress.done as f64 / progress.total as f64).clamp(0.0, 1.0)
    }
}

impl Resource for ScoreModel {
    const ONE: &'static str = "score";
    const MANY: &'static str = "scores";

    fn json(&self, _base: &str) -> Value {
        json!({
            "reltype": "contact",
            "name": self.name,
            "descript": self.description,
            "status": "1",
            "cdate": self.created_at.to_api(),
            "mdate": self.updated_at.to_api(),
            "links": [],
            "id": self.id.to_string(),
            "recomputing": self.recomputing,
            "progress": share(self.recomputing == 0, self.progress),
        })
    }
}

#[derive(Debug, Deserialize)]
struct ModelEnvelope {
    score: Option<ModelBody>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelBody {
    name: Option<String>,
    descript: Option<String>,
    /// AC's other attributes, read back as given: only contact models exist.
    reltype: Option<String>,
}

impl ModelEnvelope {
    fn into_input(self) -> Result<ModelInput, Invalid> {
        let body = self.score.ok_or_else(|| Invalid::missing("score"))?;
        if body
            .reltype
            .as_deref()
            .is_some_and(|kind| kind != "contact")
        {
            return Err(Invalid::bad_value(
                "reltype",
                "only contact scoring models exist (reltype \"contact\")",
            ));
        }
        Ok(ModelInput {
            name: body.name,
            description: body.descript,
        })
    }
}

/// `GET /scores`: paging.
async fn list(ctx: Ctx, query: ApiQuery) -> Result<Json<Value>, ApiError> {
    let listed = ctx.store().score_models(ctx.account, query.page()?).await?;
    Ok(ctx.page(&listed))
}

/// `GET /scores/{id}`.
async fn show(ctx: Ctx, PathId(id): PathId<ScoreModelId>) -> Result<Json<Value>, ApiError> {
    Ok(ctx.one(&ctx.store().existing_score_model(ctx.account, id).await?))
}

/// `POST /scores` (Tracklane's): a new model; 201.
async fn create(
    ctx: Ctx,
    ApiJson(body): ApiJson<ModelEnvelope>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let draft = body.into_input()?.into_draft()?;
    let model = ctx
        .store()
        .create_score_model(ctx.account, draft, ctx.now())
        .await?;
    Ok((StatusCode::CREATED, ctx.one(&model)))
}

/// `PUT /scores/{id}` (Tracklane's): a partial update.
async fn update(
    ctx: Ctx,
    PathId(id): PathId<ScoreModelId>,
    ApiJson(body): ApiJson<ModelEnvelope>,
) -> Result<Json<Value>, ApiError> {
    let patch = body.into_input()?.into_patch()?;
    let model = ctx
        .store()
        .update_score_model(ctx.account, id, patch, ctx.now())
        .await?;
    Ok(ctx.one(&model))
}

/// `DELETE /scores/{id}` (Tracklane's): the model, its rules, ledger and scores; refused while
/// a segment reads its scores. `{}`.
async fn remove(ctx: Ctx, PathId(id): PathId<ScoreModelId>) -> Result<Json<Value>, ApiError> {
    ctx.store().delete_score_model(ctx.account, id).await?;
    Ok(Json(json!({})))
}

impl Resource for ScoreRule {
    const ONE: &'static str = "scoreRule";
    const MANY: &'static str = "scoreRules";

    fn json(&self, _base: &str) -> Value {
        let rule = &self.rule;
        json!({
            "id": self.id.to_string(),
            "score": self.model.to_string(),
            "condition": rule.definition,
            "points": rule.points,
            "expiryDays": rule.expiry_days,
            "frequency": rule.frequency,
            "cap": rule.cap,
            "scoring": match Scoring::of(&rule.definition) {
                Scoring::EachRow => "eachRow",
                Scoring::WhileTrue => "whileTrue",
            },
            "revision": self.revision,
            "ready": self.ready(),
            "progress": share(self.ready(), self.progress),
            "cdate": self.created_at.to_api(),
            "mdate": self.updated_at.to_api(),
        })
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RuleEnvelope {
    score_rule: Option<RuleBody>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RuleBody {
    condition: Option<Value>,
    points: Option<i64>,
    expiry_days: Option<i64>,
    frequency: Option<Frequency>,
    cap: Option<Cap>,
}

impl RuleEnvelope {
    fn into_input(self) -> Result<RuleInput, Invalid> {
        let body = self
            .score_rule
            .ok_or_else(|| Invalid::missing("scoreRule"))?;
        Ok(RuleInput {
            condition: body.condition,
            points: body.points,
            expiry_days: body.expiry_days,
            frequency: body.frequency,
            cap: body.cap,
        })
    }
}

/// `GET /scores/{id}/rules` (Tracklane's): the model's rules, paged.
async fn rules(
    ctx: Ctx,
    PathId(id): PathId<ScoreModelId>,
    query: ApiQuery,
) -> Result<Json<Value>, ApiError> {
    let listed = ctx
        .store()
        .score_rules(ctx.account, id, query.page()?)
        .await?;
    Ok(ctx.page(&listed))
}

/// `POST /scores/{id}/rules` (Tracklane's): a new rule; past behavior is scored by it in the
/// background (`ready` turns true); 201.
async fn add_rule(
    ctx: Ctx,
    PathId(id): PathId<ScoreModelId>,
    ApiJson(body): ApiJson<RuleEnvelope>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let draft = body.into_input()?.into_draft()?;
    let rule = ctx
        .store()
        .create_score_rule(ctx.account, id, draft, ctx.now())
        .await?;
    Ok((StatusCode::CREATED, ctx.one(&rule)))
}

/// `GET /scoreRules/{id}` (Tracklane's).
async fn show_rule(ctx: Ctx, PathId(id): PathId<ScoreRuleId>) -> Result<Json<Value>, ApiError> {
    Ok(ctx.one(&ctx.store().existing_score_rule(ctx.account, id).await?))
}

/// `PUT /scoreRules/{id}` (Tracklane's): replaces the rule (the body is a whole rule, as for
/// `POST`); past behavior is scored again in the background while the previous rule's awards
/// still count.
async fn replace_rule(
    ctx: Ctx,
    PathId(id): PathId<ScoreRuleId>,
    ApiJson(body): ApiJson<RuleEnvelope>,
) -> Result<Json<Value>, ApiError> {
    let draft = body.into_input()?.into_draft()?;
    let rule = ctx
        .store()
        .replace_score_rule(ctx.account, id, draft, ctx.now())
        .await?;
    Ok(ctx.one(&rule))
}

/// `DELETE /scoreRules/{id}` (Tracklane's): its awards stop counting once the scores are
/// recomputed in the background. `{}`.
async fn remove_rule(ctx: Ctx, PathId(id): PathId<ScoreRuleId>) -> Result<Json<Value>, ApiError> {
    ctx.store()
        .delete_score_rule(ctx.account, id, ctx.now())
        .await?;
    Ok(Json(json!({})))
}

/// A contact's score in AC's `scoreValue` shape.
struct ScoreValue<'a> {
    score: &'a ContactScore,
}

impl Resource for ScoreValue<'_> {
    const ONE: &'static str = "scoreValue";
    const MANY: &'static str = "scoreValues";

    fn json(&self, base: &str) -> Value {
        let score = self.score;
        json!({
            "score": score.model.to_string(),
            "contact": score.contact.to_string(),
            "deal": null,
            "cdate": score.created_at.to_api(),
            "mdate": score.updated_at.to_api(),
            "scoreValue": score.total.to_string(),
            "links": {
                "score": format!("{base}/api/3/scores/{}", score.model),
                "contact": format!("{base}/api/3/contacts/{}", score.contact),
                "deal": null,
            },
            "id": score.id.to_string(),
        })
    }
}

/// `GET /contacts/{id}/scoreValues`: the contact's score in each model it has had points in.
async fn score_values(ctx: Ctx, PathId(id): PathId<ContactId>) -> Result<Json<Value>, ApiError> {
    let scores = ctx.store().contact_scores(ctx.account, id).await?;
    let values: Vec<ScoreValue<'_>> = scores.iter().map(|score| ScoreValue { score }).collect();
    Ok(ctx.many(&values))
}

impl Resource for ScoreAward {
    const ONE: &'static str = "scoreAward";
    const MANY: &'static str = "scoreAwards";

    fn json(&self, _base: &str) -> Value {
        let cause = match &self.cause {
            Cause::Event(event) => json!({"type": "event", "event": event.to_string()}),
            Cause::Condition => json!({"type": "condition"}),
            Cause::Adjustment(reason) => json!({"type": "adjustment", "reason": reason}),
        };
        json!({
            "id": self.id.to_string(),
            "score": self.model.to_string(),
            "rule": self.rule.map(|rule| rule.to_string()),
            "contact": self.contact.to_string(),
            "points": self.points,
            "cause": cause,
            "awardedAt": self.awarded_at.to_api(),
            "expiresAt": self.expires_at.map(|at| at.to_api()),
        })
    }
}

/// `GET /contacts/{id}/scoreAwards` (Tracklane's): the live awards its scores sum, newest first,
/// paged; `score=ID` keeps one model's.
async fn awards(
    ctx: Ctx,
    PathId(id): PathId<ContactId>,
    query: ApiQuery,
) -> Result<Json<Value>, ApiError> {
    let model = query.number("score")?.map(ScoreModelId);
    let listed = ctx
        .store()
        .contact_score_awards(ctx.account, id, model, ctx.now(), query.page()?)
        .await?;
    Ok(ctx.page(&listed))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct AdjustmentEnvelope {
    score_adjustment: Option<AdjustmentBody>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct AdjustmentBody {
    score: Option<LooseId>,
    points: Option<i64>,
    reason: Option<String>,
    expiry_days: Option<i64>,
}

/// `POST /contacts/{id}/scoreAdjustments` (Tracklane's): adds or takes points by hand, with a
/// reason; the award, 201.
async fn adjust(
    ctx: Ctx,
    PathId(id): PathId<ContactId>,
    ApiJson(body): ApiJson<AdjustmentEnvelope>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let body = body
        .score_adjustment
        .ok_or_else(|| Invalid::missing("scoreAdjustment"))?;
    let model = body
        .score
        .as_ref()
        .map(|id| id.id("score").map(ScoreModelId))
        .transpose()?;
    let adjustment = AdjustmentInput {
        model,
        points: body.points,
        reason: body.reason,
        expiry_days: body.expiry_days,
    }
    .into_adjustment()?;
    let award = ctx
        .store()
        .adjust_score(ctx.account, id, adjustment, ctx.now())
        .await?;
    Ok((StatusCode::CREATED, ctx.one(&award)))
}
