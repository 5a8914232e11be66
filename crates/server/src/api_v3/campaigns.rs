//! `/campaigns`: ActiveCampaign's list and get endpoints in its shapes, with the counters
//! (`send_amt`, `opens`, `uniquelinkclicks`, ...) from what recipients did, and Tracklane's own
//! documented `POST`s to create and send one (AC's public API has none).
//!
//! People's opens and clicks only are counted; `machineHits` (Tracklane's) counts those the
//! scanner rules took for a machine's. `uniquelinkclicks` and `subscriberclicks` are both the
//! people who clicked a link; `send_amt` counts messages handed over.
//!
//! Statuses are AC's: 0 draft, 1 scheduled, 2 sending, 3 paused, 4 stopped, 5 completed.
//! Tracklane's `POST`s move a campaign between them: `send` (now), `schedule` (at `sdate`),
//! `pause`, `resume` and `cancel`. A campaign whose deliveries keep failing for reasons that are
//! not the recipients' is paused too, with Tracklane's `pausedReason` and `lastError` (the
//! server's last such answer).

use axum::http::StatusCode;
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use tracklane_core::ids::{AccountId, CampaignId};
use tracklane_core::invalid::Invalid;
use tracklane_core::message::{Campaign, CampaignInput, CampaignStatus};
use tracklane_core::time::Timestamp;
use tracklane_store::campaign_pause::Cancelled;
use tracklane_store::link_clicks::CampaignCounters;

use super::doc::{get, post, ApiRouter};
use super::error::{reference_error, ApiError};
use super::extract::{ApiJson, ApiQuery, LooseId};
use super::render::{links, meta};
use super::resource::{Ctx, PathId};
use crate::campaigns::{start_campaign, tracked_links};
use crate::state::AppState;

/// The campaign routes.
pub fn routes() -> ApiRouter {
    ApiRouter::new("Campaigns")
        .route("/campaigns", post(create, "POST /campaigns (Tracklane's): 201, a draft sending message to list, to the list's subscribers who are members of the saved segment segmentid, or, without a list, to the segment's members subscribed to at least one list.").get(list, "GET /campaigns: newest first."))
        .route("/campaigns/{id}", get(show, "GET /campaigns/{id}."))
        .route("/campaigns/{id}/send", post(send, "POST /campaigns/{id}/send (Tracklane's): starts a draft (or scheduled) campaign now. Its links are recorded (when tracked) and a send is queued for every recipient; answers {\"campaign\": ..., \"queued\": N}. Sending a campaign twice is refused (422)."))
        .route("/campaigns/{id}/schedule", post(schedule, "POST /campaigns/{id}/schedule (Tracklane's): {\"sdate\": \"2027-01-05T09:00:00-05:00\"} (or YYYY-MM-DD HH:MM:SS, UTC) schedules a draft campaign, or moves a scheduled one, to start by itself then (status 1; a date past starts it at once). The message is checked now as a send would check it. Answers {\"campaign\": ...}."))
        .route("/campaigns/{id}/pause", post(pause, "POST /campaigns/{id}/pause (Tracklane's): a sending campaign pauses (status 3); its queued sends wait for resume. Refused (422) for a campaign that is not sending."))
        .route("/campaigns/{id}/resume", post(resume, "POST /campaigns/{id}/resume (Tracklane's): sets a paused campaign sending again (status 2) and wakes the sender; its queued sends are due at once. Answers {\"campaign\": ...}; a campaign that is not paused is refused (422)."))
        .route("/campaigns/{id}/cancel", post(cancel, "POST /campaigns/{id}/cancel (Tracklane's): a scheduled campaign goes back to draft; a sending or paused one stops (status 4) and its queued sends are dropped. Answers {\"campaign\": ..., \"dropped\": N}; refused (422) for a draft or a finished campaign."))
        .route("/campaigns/{id}/links", get(show_links, "GET /campaigns/{id}/links: the campaign's tracked links and the open pixel (\"Read Tracker\") in AC's shape, with Tracklane's counts beside: clicks and uniqueClicks by people, machineClicks by scanners and bots (kept out of the other two)."))
}

/// `campaigns` in AC's shape, each with its counters.
async fn campaigns_json(
    state: &AppState,
    account: AccountId,
    campaigns: &[Campaign],
) -> Result<Vec<Value>, ApiError> {
    let ids: Vec<CampaignId> = campaigns.iter().map(|c| c.id).collect();
    let counters = state.store.campaign_counters(account, &ids).await?;
    let base = &state.settings.public_url;
    Ok(campaigns
        .iter()
        .map(|c| campaign_json(c, &counters.get(&c.id).copied().unwrap_or_default(), base))
        .collect())
}

/// One campaign in AC's shape, with its counters.
async fn one_campaign_json(
    state: &AppState,
    account: AccountId,
    campaign: Campaign,
) -> Result<Value, ApiError> {
    let mut all = campaigns_json(state, account, std::slice::from_ref(&campaign)).await?;
    Ok(all.pop().unwrap_or_default())
}

/// A campaign in AC's shape, with its counters.
pub fn campaign_json(campaign: &Campaign, counters: &CampaignCounters, base: &str) -> Value {
    let zero = "0";
    let count = |n: i64| n.to_string();
    json!({
        "type": if campaign.automation.is_some() { "automation" } else { "single" },
        "userid": "1",
        "segmentid": campaign.segment.map_or("0".to_owned(), |s| s.to_string()),
        "bounceid": "-1",
        "realcid": "0",
        "sendid": "0",
        "threadid": "0",
        "seriesid": campaign.automation.map_or("0".to_owned(), |a| a.to_string()),
        "formid": "0",
        "basetemplateid": "0",
        "basemessageid": campaign.message.to_string(),
        "addressid": "0",
        "source": "api",
        "name": campaign.name,
        "cdate": campaign.created_at.to_api(),
        "mdate": campaign.updated_at.to_api(),
        "sdate": campaign.sdate().map(Timestamp::to_api),
        "ldate": campaign.finished_at.map(Timestamp::to_api),
        "send_amt": count(counters.sent),
        "total_amt": count(counters.total),
        "opens": count(counters.opens),
        "uniqueopens": count(counters.unique_opens),
        "linkclicks": count(counters.clicks),
        "uniquelinkclicks": count(counters.unique_clicks),
        "subscriberclicks": count(counters.unique_clicks),
        "forwards": zero,
        "uniqueforwards": zero,
        "hardbounces": count(counters.bounced),
        "softbounces": zero,
        "unsubscribes": count(counters.unsubscribes),
        "unsubreasons": zero,
        "updates": zero,
        "socialshares": zero,
        "replies": zero,
        "uniquereplies": zero,
        "status": campaign.status.code().to_string(),
        "public": "1",
        "tracklinks": if campaign.track_links { "all" } else { "none" },
        "tracklinksanalytics": "0",
        "trackreads": "1",
        "trackreadsanalytics": "0",
        "htmlunsub": "1",
        "textunsub": "1",
        "recurring": "",
        "willrecur": "0",
        "split_type": "even",
        "schedule": if campaign.status == CampaignStatus::Scheduled { "1" } else { "0" },
        "scheduleddate": campaign.scheduled_at.map(Timestamp::to_api),
        "listid": campaign.list.map_or("0".to_owned(), |l| l.to_string()),
        "links": links(
            base,
            &format!("campaigns/{}", campaign.id),
            &["user", "automation", "campaignMessage", "campaignMessages", "links", "campaignLists"],
        ),
        "id": campaign.id.to_string(),
        "user": "1",
        "automation": null,
        "machineHits": count(counters.machine_hits),
        "pausedReason": campaign.paused_reason,
        "lastError": campaign.last_error,
    })
}

#[derive(Debug, Deserialize)]
struct CampaignEnvelope {
    campaign: Option<CampaignBody>,
}

#[derive(Debug, Deserialize)]
struct CampaignBody {
    name: Option<String>,
    message: Option<LooseId>,
    list: Option<LooseId>,
    segmentid: Option<LooseId>,
    tracklinks: Option<String>,
}

/// `POST /campaigns` (Tracklane's): 201, a draft sending `message` to `list`, to the list's
/// subscribers who are members of the saved segment `segmentid`, or, without a list, to the
/// segment's members subscribed to at least one list.
async fn create(
    ctx: Ctx,
    ApiJson(body): ApiJson<CampaignEnvelope>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let body = body.campaign.ok_or_else(|| Invalid::missing("campaign"))?;
    let input = CampaignInput {
        name: body.name,
        message: body.message.map(|m| m.id("message")).transpose()?,
        list: body.list.map(|l| l.id("list")).transpose()?,
        segment: body.segmentid.map(|s| s.id("segmentid")).transpose()?,
        track_links: body.tracklinks,
    };
    let campaign = ctx
        .store()
        .create_campaign(ctx.account, input.into_draft()?, ctx.now())
        .await
        .map_err(reference_error)?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"campaign": one_campaign_json(&ctx.state, ctx.account, campaign).await?})),
    ))
}

/// `POST /campaigns/{id}/send` (Tracklane's): starts a draft (or scheduled) campaign now. Its
/// links are recorded (when tracked) and a send is queued for every recipient; answers
/// `{"campaign": ..., "queued": N}`. Sending a campaign twice is refused (422).
async fn send(ctx: Ctx, PathId(id): PathId<CampaignId>) -> Result<Json<Value>, ApiError> {
    let queued = start_campaign(ctx.store(), ctx.account, id, ctx.now()).await?;
    ctx.state.sending.notify_one();
    let mut answer = campaign_answer(&ctx, id).await?;
    answer.0["queued"] = json!(queued);
    Ok(answer)
}

/// `{"campaign": ...}` as it is now.
async fn campaign_answer(ctx: &Ctx, id: CampaignId) -> Result<Json<Value>, ApiError> {
    let campaign = ctx.store().existing_campaign(ctx.account, id).await?;
    Ok(Json(
        json!({"campaign": one_campaign_json(&ctx.state, ctx.account, campaign).await?}),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScheduleEnvelope {
    sdate: Option<String>,
}

/// `POST /campaigns/{id}/schedule` (Tracklane's): `{"sdate": "2027-01-05T09:00:00-05:00"}`
/// (or `YYYY-MM-DD HH:MM:SS`, UTC) schedules a draft campaign, or moves a scheduled one, to
/// start by itself then (status 1; a date past starts it at once). The message is checked now
/// as a send would check it. Answers `{"campaign": ...}`.
async fn schedule(
    ctx: Ctx,
    PathId(id): PathId<CampaignId>,
    ApiJson(body): ApiJson<ScheduleEnvelope>,
) -> Result<Json<Value>, ApiError> {
    let sdate = body.sdate.ok_or_else(|| Invalid::missing("sdate"))?;
    let at = Timestamp::parse_attribute("sdate", &sdate)?;
    tracked_links(ctx.store(), ctx.account, id).await?;
    ctx.store()
        .schedule_campaign(ctx.account, id, at, ctx.now())
        .await?;
    ctx.state.sending.notify_one();
    campaign_answer(&ctx, id).await
}

/// `POST /campaigns/{id}/pause` (Tracklane's): a sending campaign pauses (status 3); its
/// queued sends wait for `resume`. Refused (422) for a campaign that is not sending.
async fn pause(ctx: Ctx, PathId(id): PathId<CampaignId>) -> Result<Json<Value>, ApiError> {
    ctx.store()
        .pause_campaign(ctx.account, id, ctx.now())
        .await?;
    campaign_answer(&ctx, id).await
}

/// `POST /campaigns/{id}/cancel` (Tracklane's): a scheduled campaign goes back to draft; a
/// sending or paused one stops (status 4) and its queued sends are dropped. Answers
/// `{"campaign": ..., "dropped": N}`; refused (422) for a draft or a finished campaign.
async fn cancel(ctx: Ctx, PathId(id): PathId<CampaignId>) -> Result<Json<Value>, ApiError> {
    let dropped = match ctx
        .store()
        .cancel_campaign(ctx.account, id, ctx.now())
        .await?
    {
        Cancelled::Unscheduled => 0,
        Cancelled::Stopped(dropped) => dropped,
    };
    let mut answer = campaign_answer(&ctx, id).await?;
    answer.0["dropped"] = json!(dropped);
    Ok(answer)
}

/// `POST /campaigns/{id}/resume` (Tracklane's): sets a paused campaign sending again (status
/// 2) and wakes the sender; its queued sends are due at once. Answers `{"campaign": ...}`; a
/// campaign that is not paused is refused (422).
async fn resume(ctx: Ctx, PathId(id): PathId<CampaignId>) -> Result<Json<Value>, ApiError> {
    ctx.store()
        .resume_campaign(ctx.account, id, ctx.now())
        .await?;
    ctx.state.sending.notify_one();
    campaign_answer(&ctx, id).await
}

/// `GET /campaigns/{id}/links`: the campaign's tracked links and the open pixel ("Read
/// Tracker") in AC's shape, with Tracklane's counts beside: `clicks` and `uniqueClicks` by people,
/// `machineClicks` by scanners and bots (kept out of the other two).
async fn show_links(ctx: Ctx, PathId(id): PathId<CampaignId>) -> Result<Json<Value>, ApiError> {
    let campaign = ctx.store().existing_campaign(ctx.account, id).await?;
    let base = ctx.base();
    let stats = ctx.store().link_stats(ctx.account, campaign.id).await?;
    let links: Vec<Value> = stats
        .iter()
        .map(|link| {
            json!({
                "campaignid": campaign.id.to_string(),
                "messageid": campaign.message.to_string(),
                "link": link.url,
                "name": link.text,
                "ref": "",
                "tracked": "1",
                "links": {
                    "campaign": format!("{base}/api/3/campaigns/{}", campaign.id),
                    "message": format!("{base}/api/3/messages/{}", campaign.message),
                },
                "id": link.id.to_string(),
                "campaign": campaign.id.to_string(),
                "message": campaign.message.to_string(),
                "clicks": link.clicks,
                "uniqueClicks": link.unique_clicks,
                "machineClicks": link.machine_clicks,
            })
        })
        .collect();
    Ok(Json(json!({ "links": links })))
}

/// `GET /campaigns`: newest first.
async fn list(ctx: Ctx, query: ApiQuery) -> Result<Json<Value>, ApiError> {
    let listed = ctx.store().campaigns(ctx.account, query.page()?).await?;
    Ok(Json(json!({
        "campaigns": campaigns_json(&ctx.state, ctx.account, &listed.items).await?,
        "meta": meta(listed.total),
    })))
}

/// `GET /campaigns/{id}`.
async fn show(ctx: Ctx, PathId(id): PathId<CampaignId>) -> Result<Json<Value>, ApiError> {
    campaign_answer(&ctx, id).await
}
