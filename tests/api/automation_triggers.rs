//! Automation triggers: behavior, tags, lists, segments, link clicks and scores enter contacts
//! in the transaction of the change that meets them, each row or change once, and never a
//! contact already inside.

use std::time::Duration;

use serde_json::{json, Value};
use tracklane_e2e::{both_engines, TestApp};
use tracklane_server::state::Clock;

use crate::automation_runs::{automation, list_status, pause, settle, tags_of, DAY};
use crate::scores::event;

async fn behavior_triggers_enter_each_row_once_and_never_while_inside(app: TestApp) {
    let carts = app.new_tag("carts").await;
    let body = json!({"automation": {"name": "Cart", "status": "1", "definition": {
        "entry": "multiple",
        "triggers": [
            {"behavior": {"event": {"name": "cart_created"}}},
            {"behavior": {"event": {"name": "cart_created"}}}
        ],
        "steps": [
            {"id": "tag", "addTag": carts},
            {"id": "pause", "wait": {"days": 1}},
            {"id": "untag", "removeTag": carts}
        ]
    }}});
    let flow = app.create("/api/3/automations", body).await;
    let ann = app.new_contact("ann@example.com").await;
    let bob = app.new_contact("bob@example.com").await;
    event(&app, &ann, "cart_created", Duration::ZERO).await;
    event(&app, &bob, "page_seen", Duration::ZERO).await;
    settle(&app).await;
    assert_eq!(tags_of(&app, &ann).await, vec![carts.clone()]);
    assert!(
        tags_of(&app, &bob).await.is_empty(),
        "another event enters nobody"
    );
    let path = format!("/api/3/automations/{flow}");
    let counted = async |app: &TestApp| app.get(&path).await.body["automation"]["entered"].clone();
    assert_eq!(
        counted(&app).await,
        "1",
        "two triggers met by one row enter once"
    );

    // While inside, another cart enters nothing; after leaving, the next one enters again.
    event(&app, &ann, "cart_created", Duration::ZERO).await;
    settle(&app).await;
    assert_eq!(counted(&app).await, "1");
    app.clock.advance(DAY + Duration::from_secs(1));
    settle(&app).await;
    assert!(tags_of(&app, &ann).await.is_empty());
    event(&app, &ann, "cart_created", Duration::ZERO).await;
    settle(&app).await;
    assert_eq!(counted(&app).await, "2");
    assert_eq!(tags_of(&app, &ann).await, vec![carts.clone()]);

    // An inactive automation is entered by nothing.
    pause(&app, &flow).await;
    event(&app, &bob, "cart_created", Duration::ZERO).await;
    settle(&app).await;
    assert!(tags_of(&app, &bob).await.is_empty());
    assert_eq!(counted(&app).await, "2");
}

/// An active automation of these triggers and steps; answers its id.
async fn triggered(app: &TestApp, triggers: Value, steps: Value) -> String {
    let body = json!({"automation": {"name": "Flow", "status": "1",
        "definition": {"triggers": triggers, "steps": steps}}});
    app.create("/api/3/automations", body).await
}

async fn tags_lists_and_segments_enter_in_the_changes_transaction(app: TestApp) {
    let vip = app.new_tag("vip").await;
    let welcomed = app.new_tag("welcomed").await;
    let sorry = app.new_tag("sorry").await;
    let news = app.new_list("News").await;
    let offers = app.new_list("Offers").await;
    let vips = app
        .create(
            "/api/3/segments",
            json!({"segment": {"name": "VIPs", "definition": {"hasTag": vip.parse::<i64>().unwrap()}}}),
        )
        .await;
    triggered(
        &app,
        json!([{"tagAdded": vip}]),
        json!([{"id": "join", "subscribe": news}]),
    )
    .await;
    triggered(
        &app,
        json!([{"enteredSegment": vips}]),
        json!([{"id": "welcome", "addTag": welcomed}]),
    )
    .await;
    triggered(
        &app,
        json!([{"unsubscribed": offers}]),
        json!([{"id": "sorry", "addTag": sorry}]),
    )
    .await;
    let ann = app.new_contact("ann@example.com").await;
    let tagged = app
        .post(
            "/api/3/contactTags",
            json!({"contactTag": {"contact": ann, "tag": vip}}),
        )
        .await;
    assert_eq!(tagged.status, 201, "{}", tagged.text);
    settle(&app).await;
    settle(&app).await;
    assert_eq!(list_status(&app, &ann, &news).await.as_deref(), Some("1"));
    let tags = tags_of(&app, &ann).await;
    assert!(tags.contains(&welcomed), "entered the segment: {tags:?}");
    assert!(!tags.contains(&sorry));
    for status in [1, 2] {
        let changed = app
            .post(
                "/api/3/contactLists",
                json!({"contactList": {"list": offers, "contact": ann, "status": status}}),
            )
            .await;
        assert_eq!(changed.status, 200, "{}", changed.text);
    }
    settle(&app).await;
    assert!(tags_of(&app, &ann).await.contains(&sorry));
    let runs = app
        .get(&format!("/api/3/contacts/{ann}/contactAutomations"))
        .await;
    assert_eq!(runs.body["contactAutomations"].as_array().unwrap().len(), 3);
}

async fn link_actions_start_and_end_automations(app: TestApp) {
    let list = app.new_list("News").await;
    let flow = automation(
        &app,
        json!([{"id": "pause", "wait": {"days": 1}}, {"id": "tag", "addTag": app.new_tag("t").await}]),
    )
    .await;
    let campaign = app
        .draft_campaign(
            &list,
            json!({"subject": "Hi", "fromemail": "news@example.com", "html": "<a href=\"https://example.com/a\">a</a> <a href=\"https://example.com/b\">b</a>"}),
        )
        .await;
    let actions = format!("/api/3/campaigns/{campaign}/linkActions");
    for (link, action) in [
        ("https://example.com/a", "start_automation"),
        ("https://example.com/b", "end_automation"),
    ] {
        let added = app
            .post(
                &actions,
                json!({"linkAction": {"link": link, "action": action, "target": flow}}),
            )
            .await;
        assert_eq!(added.status, 201, "{}", added.text);
    }
    let unknown = app
        .post(
            &actions,
            json!({"linkAction": {"link": "https://example.com/a", "action": "start_automation", "target": 999999}}),
        )
        .await;
    assert_eq!(unknown.status, 404, "{}", unknown.text);
    let ann = app.new_contact("ann@example.com").await;
    let contact = tracklane_core::ids::ContactId(ann.parse().unwrap());
    let campaign_id = tracklane_core::ids::CampaignId(campaign.parse().unwrap());
    let click = |url: &'static str| {
        let store = app.store.clone();
        let (account, now) = (app.account, app.clock.now());
        async move {
            store
                .apply_link_actions(account, campaign_id, url, contact, now)
                .await
                .unwrap()
        }
    };
    assert_eq!(click("https://example.com/a").await, 1);
    let runs = app
        .get(&format!(
            "/api/3/contactAutomations?filters[subscriberid]={ann}"
        ))
        .await;
    assert_eq!(runs.body["contactAutomations"][0]["status"], "1");
    assert_eq!(click("https://example.com/b").await, 1);
    let runs = app
        .get(&format!(
            "/api/3/contactAutomations?filters[subscriberid]={ann}"
        ))
        .await;
    assert_eq!(
        runs.body["contactAutomations"][0]["status"], "3",
        "ended by the click"
    );
    assert_eq!(
        click("https://example.com/b").await,
        0,
        "not inside any more"
    );
}

async fn a_score_that_rises_to_a_threshold_enters_once(app: TestApp) {
    let hot = app.new_tag("hot").await;
    let model = app
        .create("/api/3/scores", json!({"score": {"name": "Engagement"}}))
        .await;
    triggered(
        &app,
        json!([{"scoreReached": {"score": model, "points": 50}}]),
        json!([{"id": "hot", "addTag": hot}]),
    )
    .await;
    let ann = app.new_contact("ann@example.com").await;
    let adjust = async |points: i64| {
        let answer = app
            .post(
                &format!("/api/3/contacts/{ann}/scoreAdjustments"),
                json!({"scoreAdjustment": {"score": model, "points": points, "reason": "call"}}),
            )
            .await;
        assert_eq!(answer.status, 201, "{}", answer.text);
        settle(&app).await;
    };
    adjust(30).await;
    assert!(tags_of(&app, &ann).await.is_empty(), "30 is below 50");
    adjust(30).await;
    assert_eq!(
        tags_of(&app, &ann).await,
        vec![hot.clone()],
        "60 crossed 50"
    );
    adjust(10).await;
    adjust(-40).await;
    let runs = app
        .get(&format!("/api/3/contacts/{ann}/contactAutomations"))
        .await;
    assert_eq!(
        runs.body["contactAutomations"].as_array().unwrap().len(),
        1,
        "70 and 30 cross nothing"
    );

    // A rule added later scores past behavior again: Bob's tag, worth 50, crosses it too.
    let vip = app.new_tag("vip").await;
    let bob = app.new_contact("bob@example.com").await;
    let tagged = app
        .post(
            "/api/3/contactTags",
            json!({"contactTag": {"contact": bob, "tag": vip}}),
        )
        .await;
    assert_eq!(tagged.status, 201, "{}", tagged.text);
    settle(&app).await;
    assert_eq!(tags_of(&app, &bob).await, vec![vip.clone()], "no rule yet");
    let vip_id: i64 = vip.parse().unwrap();
    app.create(
        &format!("/api/3/scores/{model}/rules"),
        json!({"scoreRule": {"condition": {"hasTag": vip_id}, "points": 50}}),
    )
    .await;
    settle(&app).await;
    assert_eq!(
        tags_of(&app, &bob).await,
        vec![vip.clone(), hot.clone()],
        "the recompute's 50 crossed 50"
    );
}

async fn a_list_enters_at_once_and_nobody_twice(app: TestApp) {
    let entered_tag = app.new_tag("entered").await;
    let news = app.new_list("News").await;
    let mut contacts = Vec::new();
    for (i, status) in [1, 1, 1, 2].into_iter().enumerate() {
        let contact = app.new_contact(&format!("c{i}@example.com")).await;
        crate::sending::subscribe(&app, &news, &contact, status).await;
        contacts.push(contact);
    }
    let flow = automation(&app, json!([{"id": "tag", "addTag": entered_tag}])).await;
    let path = format!("/api/3/automations/{flow}/entries");
    let entered = app.post(&path, json!({"list": news})).await;
    assert_eq!(entered.status, 200, "{}", entered.text);
    assert_eq!(entered.body["entered"], "3", "the three subscribers");
    let again = app.post(&path, json!({"list": news})).await;
    assert_eq!(again.body["entered"], "0", "each contact once");
    settle(&app).await;
    for contact in &contacts[..3] {
        assert_eq!(tags_of(&app, contact).await, vec![entered_tag.clone()]);
    }
    assert!(tags_of(&app, &contacts[3]).await.is_empty(), "unsubscribed");

    for (body, status) in [
        (json!({}), 422),
        (json!({"list": news, "segment": 1}), 422),
        (json!({"list": 999999}), 404),
        (json!({"list": "x"}), 422),
        (json!({"lists": news}), 422),
    ] {
        let refused = app.post(&path, body.clone()).await;
        assert_eq!(refused.status, status, "{body}: {}", refused.text);
    }
    let other = app.other_account_key().await;
    let body = json!({"list": news}).to_string().into_bytes();
    let foreign = app.send("POST", &path, Some(&other), Some(body)).await;
    assert_eq!(foreign.status, 404, "{}", foreign.text);
    let report = app.get(&format!("/api/3/automations/{flow}/report")).await;
    assert_eq!(report.body["report"]["entered"], "3");
}

both_engines!(
    behavior_triggers_enter_each_row_once_and_never_while_inside,
    tags_lists_and_segments_enter_in_the_changes_transaction,
    link_actions_start_and_end_automations,
    a_score_that_rises_to_a_threshold_enters_once,
    a_list_enters_at_once_and_nobody_twice,
);
