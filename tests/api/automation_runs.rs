//! Automation runs: contacts entered through the API go through the steps that change them
//! (tags, scores, lists, fields), wait on the clock, branch on conditions, and leave; each
//! effect happens once, a stale claim commits nothing, and a person's unsubscribe is never
//! undone. Runs are read and removed in ActiveCampaign's shape.

use std::time::Duration;

use serde_json::{json, Value};
use tracklane_core::time::Timestamp;
use tracklane_e2e::{both_engines, TestApp};
use tracklane_server::state::Clock;

use crate::scores::score;

/// A day of the test clock.
pub(crate) const DAY: Duration = Duration::from_secs(86_400);

/// An active automation of these steps; answers its id.
pub(crate) async fn automation(app: &TestApp, steps: Value) -> String {
    let body =
        json!({"automation": {"name": "Flow", "status": "1", "definition": {"steps": steps}}});
    app.create("/api/3/automations", body).await
}

/// Enters the contact through the API; answers the answer.
pub(crate) async fn enter(app: &TestApp, contact: &str, automation: &str) -> tracklane_e2e::Answer {
    app.post(
        "/api/3/contactAutomations",
        json!({"contactAutomation": {"contact": contact, "automation": automation}}),
    )
    .await
}

/// The ids of the tags the contact carries, oldest first.
pub(crate) async fn tags_of(app: &TestApp, contact: &str) -> Vec<String> {
    let answer = app
        .get(&format!("/api/3/contacts/{contact}/contactTags"))
        .await;
    answer.body["contactTags"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["tag"].as_str().unwrap().to_owned())
        .collect()
}

/// Makes the automation inactive (AC's status 2).
pub(crate) async fn pause(app: &TestApp, automation: &str) {
    app.update(
        &format!("/api/3/automations/{automation}"),
        json!({"automation": {"status": 2}}),
    )
    .await;
}

/// The contact's status on the list, if it is on it.
pub(crate) async fn list_status(app: &TestApp, contact: &str, list: &str) -> Option<String> {
    let answer = app
        .get(&format!("/api/3/contacts/{contact}/contactLists"))
        .await;
    answer.body["contactLists"]
        .as_array()
        .unwrap()
        .iter()
        .find(|row| row["list"] == list)
        .map(|row| row["status"].as_str().unwrap().to_owned())
}

async fn run_of(app: &TestApp, id: &str) -> Value {
    let answer = app.get(&format!("/api/3/contactAutomations/{id}")).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.body["contactAutomation"].clone()
}

async fn a_run_changes_the_contact_waits_branches_and_leaves(app: TestApp) {
    let keen = app.new_tag("keen").await;
    let news = app.new_list("News").await;
    let model = app
        .create("/api/3/scores", json!({"score": {"name": "Engagement"}}))
        .await;
    let flow = automation(
        &app,
        json!([
            {"id": "tag", "addTag": keen},
            {"id": "points", "adjustScore": {"score": model, "points": 20}},
            {"id": "pause", "wait": {"days": 3}},
            {"id": "tagged", "if": {"hasTag": keen.parse::<i64>().unwrap()}, "then": "join", "else": "done"},
            {"id": "join", "subscribe": news},
            {"id": "name", "setField": {"field": "firstName", "value": "Keen"}},
            {"id": "done", "end": true}
        ]),
    )
    .await;
    let ann = app.new_contact("ann@example.com").await;
    let entered = enter(&app, &ann, &flow).await;
    assert_eq!(entered.status, 201, "{}", entered.text);
    assert_eq!(entered.body["contacts"][0]["email"], "ann@example.com");
    let run = entered.body["contactAutomation"].clone();
    assert_eq!(run["contact"], ann.as_str());
    assert_eq!(run["seriesid"], flow.as_str());
    assert_eq!(run["status"], "1");
    assert_eq!(run["totalElements"], "7");
    let id = run["id"].as_str().unwrap().to_owned();

    app.settle_automations().await;
    assert_eq!(tags_of(&app, &ann).await, vec![keen.clone()]);
    assert_eq!(score(&app, &ann, &model).await, 20);
    let waiting = run_of(&app, &id).await;
    assert_eq!(waiting["lastblock"], "pause");
    assert_eq!(waiting["completedElements"], "2");
    let due = Timestamp::parse_api(waiting["dueAt"].as_str().unwrap()).unwrap();
    let entered_at = Timestamp::parse_api(waiting["adddate"].as_str().unwrap()).unwrap();
    assert_eq!(due.0 - entered_at.0, 3 * 86_400 * 1_000_000);

    // A second before the wait ends, nothing moves; then it goes on, branches and leaves.
    app.clock.advance(3 * DAY - Duration::from_secs(1));
    app.settle_automations().await;
    assert_eq!(run_of(&app, &id).await["lastblock"], "pause");
    assert_eq!(list_status(&app, &ann, &news).await, None);
    app.clock.advance(Duration::from_secs(2));
    app.settle_automations().await;
    assert_eq!(list_status(&app, &ann, &news).await.as_deref(), Some("1"));
    let contact = app.get(&format!("/api/3/contacts/{ann}")).await;
    assert_eq!(contact.body["contact"]["firstName"], "Keen");
    let left = run_of(&app, &id).await;
    assert_eq!(left["status"], "3", "ended by its end step");
    assert_eq!(left["completed"], 1);
    assert_eq!(left["lastblock"], "done");
    assert_eq!(left["completedElements"], "7");

    // Passes after it change nothing: each effect happened once.
    app.settle_automations().await;
    assert_eq!(score(&app, &ann, &model).await, 20);
    let counted = app.get(&format!("/api/3/automations/{flow}")).await;
    assert_eq!(counted.body["automation"]["entered"], "1");
    assert_eq!(counted.body["automation"]["exited"], "1");

    // Once ever: entering again is refused, with why.
    let again = enter(&app, &ann, &flow).await;
    assert_eq!(again.status, 403, "{}", again.text);
    assert_eq!(again.body["message"], "Could not create SubscriberSeries");
    assert!(again.text.contains("once"), "{}", again.text);

    let listed = app
        .get(&format!(
            "/api/3/contactAutomations?filters[seriesid]={flow}"
        ))
        .await;
    assert_eq!(listed.body["meta"]["total"], "1");
    let mine = app
        .get(&format!("/api/3/contacts/{ann}/contactAutomations"))
        .await;
    assert_eq!(mine.body["contactAutomations"][0]["id"], id.as_str());
}

async fn the_other_branch_and_a_persons_unsubscribe(app: TestApp) {
    let keen = app.new_tag("keen").await;
    let news = app.new_list("News").await;
    let flow = automation(
        &app,
        json!([
            {"id": "tagged", "if": {"hasTag": keen.parse::<i64>().unwrap()}, "then": "tag", "else": "join"},
            {"id": "tag", "removeTag": keen, "next": "done"},
            {"id": "join", "subscribe": news},
            {"id": "done", "end": true}
        ]),
    )
    .await;
    let bob = app.new_contact("bob@example.com").await;
    // Bob unsubscribed from the list himself: the automation does not subscribe him again.
    let unsubscribed = app
        .post(
            "/api/3/contactLists",
            json!({"contactList": {"list": news, "contact": bob, "status": 2}}),
        )
        .await;
    assert_eq!(unsubscribed.status, 200, "{}", unsubscribed.text);
    let id = enter(&app, &bob, &flow).await.body["contactAutomation"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.settle_automations().await;
    assert_eq!(list_status(&app, &bob, &news).await.as_deref(), Some("2"));
    let run = run_of(&app, &id).await;
    assert_eq!(run["status"], "3");
    assert_eq!(run["completedElements"], "3", "tagged, join, done");
}

async fn a_stale_claim_commits_nothing_and_removal_ends_a_run(app: TestApp) {
    let model = app
        .create("/api/3/scores", json!({"score": {"name": "Engagement"}}))
        .await;
    let flow = automation(
        &app,
        json!([
            {"id": "points", "adjustScore": {"score": model, "points": 5}},
            {"id": "pause", "wait": {"days": 1}},
            {"id": "more", "adjustScore": {"score": model, "points": 5}}
        ]),
    )
    .await;
    let cy = app.new_contact("cy@example.com").await;
    let dee = app.new_contact("dee@example.com").await;
    // A worker takes Cy's run and stops before it commits; its lease runs out and another
    // worker moves the run; the first one's late commit is refused.
    let entered = enter(&app, &cy, &flow).await;
    assert_eq!(entered.status, 201, "{}", entered.text);
    let now = app.clock.now();
    let lease = Timestamp(now.0 + 60_000_000);
    let mut taken = Vec::new();
    for _ in 0..100 {
        taken = app.store.claim_runs(now, 10, lease).await.unwrap();
        if !taken.is_empty() {
            break;
        }
        // The server's own runner may have it: it moves it, and the test has nothing to race.
        if app.store.runs_due(now).await.unwrap() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    if let Some(claimed) = taken.first().cloned() {
        app.clock.advance(Duration::from_secs(61));
        app.settle_automations().await;
        let late = tracklane_store::automations::moves::Move {
            claimed,
            effects: vec![(
                "points".to_owned(),
                tracklane_core::automation::walk::Effect::AdjustScore {
                    model: tracklane_core::ids::ScoreModelId(model.parse().unwrap()),
                    points: 5,
                    expiry_days: None,
                },
            )],
            passed: vec!["points".to_owned()],
            reached: Vec::new(),
            paths: Vec::new(),
            destination: tracklane_store::automations::moves::Destination::Completed,
        };
        let moved = app.store.move_runs(&[late], app.clock.now()).await.unwrap();
        assert_eq!((moved.moved, moved.stale), (0, 1));
    }
    app.settle_automations().await;
    assert_eq!(score(&app, &cy, &model).await, 5, "the first step once");

    // Removing a contact ends its run: the wait never ends in a step.
    let entered = enter(&app, &dee, &flow).await;
    let id = entered.body["contactAutomation"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.settle_automations().await;
    let removed = app.delete(&format!("/api/3/contactAutomations/{id}")).await;
    assert_eq!(removed.status, 200, "{}", removed.text);
    assert_eq!(removed.body, json!({}));
    app.clock.advance(2 * DAY);
    app.settle_automations().await;
    assert_eq!(score(&app, &dee, &model).await, 5);
    assert_eq!(run_of(&app, &id).await["status"], "3");
    let unknown = app.delete("/api/3/contactAutomations/999999").await;
    assert_eq!(unknown.status, 403);
    assert_eq!(
        unknown.body,
        json!({"message": "No Result found for SubscriberSeries with id 999999"})
    );
}

async fn bad_entries_are_refused_and_change_nothing(app: TestApp) {
    let tag = app.new_tag("t").await;
    let flow = automation(&app, json!([{"id": "tag", "addTag": tag}])).await;
    let ann = app.new_contact("ann@example.com").await;
    for (body, status) in [
        (
            json!({"contactAutomation": {"contact": ann, "automation": 999999}}),
            404,
        ),
        (
            json!({"contactAutomation": {"contact": 999999, "automation": flow}}),
            404,
        ),
        (json!({"contactAutomation": {"contact": ann}}), 422),
        (
            json!({"contactAutomation": {"contact": "x", "automation": flow}}),
            422,
        ),
        (
            json!({"contactAutomation": {"contact": ann, "automation": flow, "x": 1}}),
            422,
        ),
        (json!({"other": {}}), 422),
    ] {
        let answer = app.post("/api/3/contactAutomations", body.clone()).await;
        assert_eq!(answer.status, status, "{body}: {}", answer.text);
    }
    // Another account's automation is not there for this one.
    let other = app.other_account_key().await;
    let body = json!({"contactAutomation": {"contact": ann, "automation": flow}}).to_string();
    let theirs = app
        .send(
            "POST",
            "/api/3/contactAutomations",
            Some(&other),
            Some(body.into_bytes()),
        )
        .await;
    assert_eq!(theirs.status, 404, "{}", theirs.text);
    // An inactive automation takes nobody.
    pause(&app, &flow).await;
    let refused = enter(&app, &ann, &flow).await;
    assert_eq!(refused.status, 403, "{}", refused.text);
    assert!(refused.text.contains("inactive"));
    assert_eq!(
        app.get("/api/3/contactAutomations").await.body["meta"]["total"],
        "0"
    );
    assert!(tags_of(&app, &ann).await.is_empty());
}

/// Lets the new rows enter their contacts, then the runs move.
pub(crate) async fn settle(app: &TestApp) {
    app.settle_segments().await;
    app.settle_automations().await;
}

async fn a_refused_effect_is_noted_and_the_others_happen(app: TestApp) {
    let gone = app.new_tag("gone").await;
    let kept = app.new_tag("kept").await;
    let flow = automation(
        &app,
        json!([
            {"id": "pause", "wait": {"hours": 1}},
            {"id": "lost", "addTag": gone},
            {"id": "kept", "addTag": kept}
        ]),
    )
    .await;
    let ann = app.new_contact("ann@example.com").await;
    let bob = app.new_contact("bob@example.com").await;
    let mut runs = Vec::new();
    for contact in [&ann, &bob] {
        let entered = enter(&app, contact, &flow).await;
        runs.push(
            entered.body["contactAutomation"]["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    // The tag goes while the runs wait: its effect is refused when they move on.
    settle(&app).await;
    let deleted = app.delete(&format!("/api/3/tags/{gone}")).await;
    assert_eq!(deleted.status, 200, "{}", deleted.text);
    app.clock.advance(Duration::from_secs(3_600));
    settle(&app).await;
    for (contact, run) in [(&ann, &runs[0]), (&bob, &runs[1])] {
        assert_eq!(tags_of(&app, contact).await, vec![kept.clone()]);
        let run = run_of(&app, run).await;
        assert_eq!(run["status"], "2", "{run}");
        let note = run["lastError"].as_str().unwrap_or_default();
        assert!(note.starts_with("step lost: "), "{run}");
    }
}

both_engines!(
    a_refused_effect_is_noted_and_the_others_happen,
    a_run_changes_the_contact_waits_branches_and_leaves,
    the_other_branch_and_a_persons_unsubscribe,
    a_stale_claim_commits_nothing_and_removal_ends_a_run,
    bad_entries_are_refused_and_change_nothing,
);
