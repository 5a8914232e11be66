//! A campaign through AC's statuses: scheduled (1) to start by itself at its `sdate`, paused (3)
//! and resumed, stopped (4) by a cancel that drops what is still queued, with `sdate` and
//! `ldate` filled as it goes.

use std::time::Duration;

use serde_json::{json, Value};
use tracklane_core::ids::ListId;
use tracklane_core::time::Timestamp;
use tracklane_e2e::{both_engines, contact_drafts, TestApp};
use tracklane_server::state::Clock;

use crate::mail_failures::campaign_in_status;
use crate::sending::{contact, outbox, subscribe};

/// A draft campaign to a list of `ada@example.com` and `bob@example.com`.
async fn draft(app: &TestApp) -> String {
    let list = app.new_list("News").await;
    for email in ["ada@example.com", "bob@example.com"] {
        let id = contact(app, email, "Ada").await;
        subscribe(app, &list, &id, 1).await;
    }
    app.draft_campaign(
        &list,
        json!({"subject": "Hi", "fromemail": "news@example.com",
        "html": "<p>Hi</p>"}),
    )
    .await
}

/// A draft campaign to a list of `count` subscribed contacts, imported at once.
async fn draft_to_many(app: &TestApp, count: usize) -> String {
    let list = app.new_list("Many").await;
    let drafts = contact_drafts((0..count).map(|n| format!("p{n}@example.com")));
    let synced = app
        .store
        .sync_contacts(
            app.account,
            &drafts,
            Some(ListId(list.parse().unwrap())),
            Timestamp::now(),
        )
        .await
        .unwrap();
    assert!(synced.iter().all(Result::is_ok));
    app.draft_campaign(
        &list,
        json!({"subject": "Hi", "fromemail": "news@example.com",
        "html": "<p>Hi</p>"}),
    )
    .await
}

async fn shown(app: &TestApp, campaign: &str) -> Value {
    app.get(&format!("/api/3/campaigns/{campaign}")).await.body["campaign"].clone()
}

async fn act(app: &TestApp, campaign: &str, what: &str, body: Value) -> tracklane_e2e::Answer {
    app.post(&format!("/api/3/campaigns/{campaign}/{what}"), body)
        .await
}

/// The `.eml` files in the outbox now.
fn outbox_count(app: &TestApp) -> usize {
    std::fs::read_dir(app.data_dir().join("outbox"))
        .map(|dir| {
            dir.filter_map(Result::ok)
                .filter(|entry| entry.path().extension().is_some_and(|e| e == "eml"))
                .count()
        })
        .unwrap_or(0)
}

async fn a_scheduled_campaign_starts_by_itself_at_its_sdate(app: TestApp) {
    let campaign = draft(&app).await;
    let in_an_hour = Timestamp(Clock::now(&*app.clock).0 + 3_600_000_000);
    let scheduled = act(
        &app,
        &campaign,
        "schedule",
        json!({"sdate": in_an_hour.to_api()}),
    )
    .await;
    assert_eq!(scheduled.status, 200, "{}", scheduled.text);
    let scheduled = &scheduled.body["campaign"];
    assert_eq!(scheduled["status"], "1");
    assert_eq!(scheduled["schedule"], "1");
    assert_eq!(scheduled["sdate"], in_an_hour.to_api());
    assert_eq!(scheduled["scheduleddate"], in_an_hour.to_api());
    assert_eq!(scheduled["ldate"], Value::Null);

    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(
        shown(&app, &campaign).await["status"],
        "1",
        "not before its sdate"
    );
    assert_eq!(outbox_count(&app), 0);

    app.clock.advance(Duration::from_secs(2 * 3600));
    let done = campaign_in_status(&app, &campaign, "5").await;
    assert_eq!(outbox(&app, 2).await.len(), 2);
    let started = Timestamp::parse_api(done["sdate"].as_str().unwrap()).unwrap();
    assert!(
        started.0 >= in_an_hour.0,
        "sdate is the actual start: {done}"
    );
    assert!(done["ldate"].is_string(), "{done}");
    assert_eq!(done["send_amt"], "2");

    let again = act(
        &app,
        &campaign,
        "schedule",
        json!({"sdate": in_an_hour.to_api()}),
    )
    .await;
    assert_eq!(again.status, 422, "a sent campaign is not scheduled again");
}

async fn bad_schedules_are_refused_and_a_cancel_unschedules(app: TestApp) {
    let campaign = draft(&app).await;
    for body in [
        json!({}),
        json!({"sdate": "tomorrow"}),
        json!({"sdate": 5}),
        json!({"sdate": "2030-01-01 10:00:00", "when": "now"}),
    ] {
        let refused = act(&app, &campaign, "schedule", body.clone()).await;
        assert!(
            matches!(refused.status, 400 | 422),
            "{body}: {}",
            refused.text
        );
    }
    assert_eq!(
        shown(&app, &campaign).await["status"],
        "0",
        "refusals change nothing"
    );
    let missing = act(&app, "999999", "schedule", json!({"sdate": "2030-01-01"})).await;
    assert_eq!(missing.status, 404);
    let other = app.other_account_key().await;
    let body = json!({"sdate": "2030-01-01"}).to_string().into_bytes();
    let theirs = app
        .send(
            "POST",
            &format!("/api/3/campaigns/{campaign}/schedule"),
            Some(&other),
            Some(body),
        )
        .await;
    assert_eq!(theirs.status, 404);

    let scheduled = act(
        &app,
        &campaign,
        "schedule",
        json!({"sdate": "2030-01-01 10:00:00"}),
    )
    .await;
    assert_eq!(
        scheduled.body["campaign"]["sdate"],
        "2030-01-01T10:00:00+00:00"
    );
    let id = tracklane_core::ids::CampaignId(campaign.parse().unwrap());
    let now = Clock::now(&*app.clock);
    let early = app
        .store
        .start_scheduled_campaign(app.account, id, &[], now)
        .await;
    assert!(
        early.is_err(),
        "a scheduled start before its sdate is refused"
    );
    assert_eq!(shown(&app, &campaign).await["status"], "1");
    let moved = act(&app, &campaign, "schedule", json!({"sdate": "2031-02-03"})).await;
    assert_eq!(moved.body["campaign"]["sdate"], "2031-02-03T00:00:00+00:00");
    assert_eq!(act(&app, &campaign, "pause", json!({})).await.status, 422);
    let cancelled = act(&app, &campaign, "cancel", json!({})).await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.text);
    assert_eq!(cancelled.body["campaign"]["status"], "0", "back to draft");
    assert_eq!(cancelled.body["campaign"]["sdate"], Value::Null);
    assert_eq!(cancelled.body["dropped"], 0);
    assert_eq!(
        act(&app, &campaign, "cancel", json!({})).await.status,
        422,
        "a draft"
    );
    let later = Timestamp(now.0 + 10 * 365 * 86_400_000_000);
    let raced = app
        .store
        .start_scheduled_campaign(app.account, id, &[], later)
        .await;
    assert!(
        raced.is_err(),
        "a sender that read the schedule before the cancel starts nothing"
    );
    assert_eq!(shown(&app, &campaign).await["status"], "0");
}

async fn pause_resume_and_cancel_move_a_sending_campaign(app: TestApp) {
    let campaign = draft_to_many(&app, 1_000).await;
    let sent = act(&app, &campaign, "send", json!({})).await;
    assert_eq!(sent.status, 200, "{}", sent.text);
    let paused = act(&app, &campaign, "pause", json!({})).await;
    assert_eq!(paused.status, 200, "{}", paused.text);
    assert_eq!(paused.body["campaign"]["status"], "3");
    assert!(paused.body["campaign"]["pausedReason"]
        .as_str()
        .unwrap()
        .contains("paused through the API"));
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let while_paused = outbox_count(&app);
    assert!(
        while_paused < 1_000,
        "{while_paused} sent: the pause held the rest"
    );
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    assert_eq!(
        outbox_count(&app),
        while_paused,
        "nothing more is sent while paused"
    );
    assert_eq!(
        act(&app, &campaign, "pause", json!({})).await.status,
        422,
        "paused already"
    );

    let resumed = act(&app, &campaign, "resume", json!({})).await;
    assert_eq!(resumed.body["campaign"]["status"], "2", "{}", resumed.text);
    let done = campaign_in_status(&app, &campaign, "5").await;
    assert_eq!(done["send_amt"], "1000");
    assert_eq!(outbox(&app, 1_000).await.len(), 1_000);
    for what in ["pause", "resume", "cancel"] {
        assert_eq!(
            act(&app, &campaign, what, json!({})).await.status,
            422,
            "{what} when done"
        );
    }

    let second = app
        .draft_campaign(
            done["listid"].as_str().unwrap(),
            json!({"subject": "Again", "fromemail": "news@example.com", "html": "<p>Again</p>"}),
        )
        .await;
    assert_eq!(act(&app, &second, "send", json!({})).await.status, 200);
    let cancelled = act(&app, &second, "cancel", json!({})).await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.text);
    assert_eq!(cancelled.body["campaign"]["status"], "4");
    assert!(cancelled.body["campaign"]["ldate"].is_string());
    let dropped = cancelled.body["dropped"].as_u64().unwrap();
    assert!(dropped > 0, "the queued sends are dropped");
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let stopped = shown(&app, &second).await;
    assert_eq!(stopped["status"], "4", "a stopped campaign stays stopped");
    let sent: u64 = stopped["send_amt"].as_str().unwrap().parse().unwrap();
    assert_eq!(sent + dropped, 1_000, "{stopped}");
    assert_eq!(outbox_count(&app), 1_000 + sent as usize);
    assert_eq!(act(&app, &second, "resume", json!({})).await.status, 422);
}

both_engines!(
    a_scheduled_campaign_starts_by_itself_at_its_sdate,
    bad_schedules_are_refused_and_a_cancel_unschedules,
    pause_resume_and_cancel_move_a_sending_campaign,
);
