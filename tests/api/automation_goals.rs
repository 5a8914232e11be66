//! Waiting for a condition and goals: a run waits for the event that makes its condition true
//! (or its timeout), with no polling, and a goal met before the run reaches it is jumped to.

use std::time::Duration;

use serde_json::json;
use tracklane_e2e::{both_engines, TestApp};

use crate::automation_runs::{automation, enter, settle, tags_of, DAY};
use crate::scores::event;

async fn an_abandoned_cart_waits_for_the_purchase_or_its_timeout(app: TestApp) {
    let reminded = app.new_tag("reminded").await;
    let thanked = app.new_tag("thanked").await;
    let body = json!({"automation": {"name": "Cart", "status": "1", "definition": {
        "triggers": [{"behavior": {"event": {"name": "cart_created"}}}],
        "steps": [
            {"id": "bought", "waitFor": {"event": {"name": "purchase"}},
             "timeout": {"days": 1}, "timeoutNext": "remind"},
            {"id": "thank", "addTag": thanked, "next": "done"},
            {"id": "remind", "addTag": reminded},
            {"id": "done", "end": true}
        ]
    }}});
    app.create("/api/3/automations", body).await;
    let ann = app.new_contact("ann@example.com").await;
    let bob = app.new_contact("bob@example.com").await;
    event(&app, &ann, "cart_created", Duration::ZERO).await;
    event(&app, &bob, "cart_created", Duration::ZERO).await;
    settle(&app).await;
    let runs = app.get("/api/3/contactAutomations").await;
    for run in runs.body["contactAutomations"].as_array().unwrap() {
        assert_eq!(run["lastblock"], "bought", "both wait: {run}");
    }
    // Ann buys: the event that makes the condition true moves her run on, with no polling.
    app.clock.advance(Duration::from_secs(3_600));
    event(&app, &ann, "purchase", Duration::ZERO).await;
    settle(&app).await;
    assert_eq!(tags_of(&app, &ann).await, vec![thanked.clone()]);
    assert!(tags_of(&app, &bob).await.is_empty(), "Bob still waits");
    // Bob never does: a day after his cart, the reminder.
    app.clock.advance(DAY);
    settle(&app).await;
    assert_eq!(tags_of(&app, &bob).await, vec![reminded.clone()]);
    // A contact who bought before the wait passes at once.
    let cy = app.new_contact("cy@example.com").await;
    event(&app, &cy, "purchase", Duration::ZERO).await;
    event(&app, &cy, "cart_created", Duration::ZERO).await;
    settle(&app).await;
    assert_eq!(tags_of(&app, &cy).await, vec![thanked.clone()]);
}

async fn a_goal_met_anywhere_before_it_is_jumped_to(app: TestApp) {
    let nudged = app.new_tag("nudged").await;
    let won = app.new_tag("won").await;
    let flow = automation(
        &app,
        json!([
            {"id": "pause", "wait": {"days": 3}},
            {"id": "nudge", "addTag": nudged},
            {"id": "again", "wait": {"days": 3}},
            {"id": "deal", "goal": {"event": {"name": "purchase"}}, "unmet": "end"},
            {"id": "win", "addTag": won}
        ]),
    )
    .await;
    let ann = app.new_contact("ann@example.com").await;
    let bob = app.new_contact("bob@example.com").await;
    for contact in [&ann, &bob] {
        assert_eq!(enter(&app, contact, &flow).await.status, 201);
    }
    settle(&app).await;
    // Ann buys during the first wait: she skips the nudge and the second wait.
    app.clock.advance(DAY);
    event(&app, &ann, "purchase", Duration::ZERO).await;
    settle(&app).await;
    assert_eq!(tags_of(&app, &ann).await, vec![won.clone()]);
    // Bob reaches the goal without meeting it: the automation ends for him there.
    app.clock.advance(6 * DAY);
    settle(&app).await;
    assert_eq!(tags_of(&app, &bob).await, vec![nudged.clone()]);
    let report = app.get(&format!("/api/3/automations/{flow}/report")).await;
    let steps = &report.body["report"]["steps"];
    assert_eq!(steps[3]["passed"], "1", "one reached the goal: {steps}");
    assert_eq!(
        report.body["report"]["goals"],
        json!([{"id": "deal", "reached": "1", "rate": "0.50", "meanSecondsToGoal": 86400.0}]),
        "Ann reached it a day after she entered"
    );
    assert_eq!(steps[1]["passed"], "1", "the nudge went to Bob only");
}

both_engines!(
    an_abandoned_cart_waits_for_the_purchase_or_its_timeout,
    a_goal_met_anywhere_before_it_is_jumped_to,
);
