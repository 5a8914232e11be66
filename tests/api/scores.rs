//! Lead scoring's behavior: scores that follow behavior live and always equal the sum of their
//! live awards; points that expire at their instant; rules that score past behavior again when
//! added, edited or deleted; caps; adjustments and scores in segments. The API's shapes and
//! refusals are in `score_api`.

use std::time::Duration;

use serde_json::{json, Value};
use tracklane_core::event::{EventKind, NewEvent, PAGE_VISIT_NAME};
use tracklane_core::ids::ContactId;
use tracklane_core::time::Timestamp;
use tracklane_core::visit::PageUrl;
use tracklane_e2e::{both_engines, TestApp};
use tracklane_server::state::Clock;

use crate::segments::{contact, members, save, tag, tag_contact};

const DAY: Duration = Duration::from_secs(86_400);

pub(crate) async fn model(app: &TestApp, name: &str) -> String {
    app.create("/api/3/scores", json!({"score": {"name": name}}))
        .await
}

pub(crate) async fn rule(app: &TestApp, model: &str, rule: Value) -> String {
    app.create(
        &format!("/api/3/scores/{model}/rules"),
        json!({ "scoreRule": rule }),
    )
    .await
}

/// A custom event of the contact, `ago` before the app's clock.
pub(crate) async fn event(app: &TestApp, contact: &str, name: &str, ago: Duration) {
    record(app, contact, EventKind::Custom, name, None, ago).await;
}

/// A page view of `path` by the contact, `ago` before the app's clock.
pub(crate) async fn visit(app: &TestApp, contact: &str, path: &str, ago: Duration) {
    let page = PageUrl {
        url: format!("https://shop.example{path}"),
        domain: "shop.example".to_owned(),
        path: path.to_owned(),
    };
    record(
        app,
        contact,
        EventKind::PageVisit,
        PAGE_VISIT_NAME,
        Some(page),
        ago,
    )
    .await;
}

async fn record(
    app: &TestApp,
    contact: &str,
    kind: EventKind,
    name: &str,
    page: Option<PageUrl>,
    ago: Duration,
) {
    let at = app.clock.now().0 - i64::try_from(ago.as_micros()).unwrap();
    let mut row = NewEvent::of_contact(
        app.account,
        kind,
        name,
        ContactId(contact.parse().unwrap()),
        None,
        Timestamp(at),
    );
    row.page = page;
    app.store
        .record_events(&[row], app.clock.now())
        .await
        .unwrap();
}

/// The contact's score in the model, as AC's scoreValues answer it ("0" without a row).
pub(crate) async fn score(app: &TestApp, contact: &str, model: &str) -> i64 {
    let answer = app
        .get(&format!("/api/3/contacts/{contact}/scoreValues"))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.body["scoreValues"]
        .as_array()
        .unwrap()
        .iter()
        .find(|value| value["score"] == model)
        .map_or(0, |value| {
            value["scoreValue"].as_str().unwrap().parse().unwrap()
        })
}

/// The contact's live awards (their points), newest first.
pub(crate) async fn awards(app: &TestApp, contact: &str) -> Vec<Value> {
    let answer = app
        .get(&format!("/api/3/contacts/{contact}/scoreAwards?limit=100"))
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    answer.body["scoreAwards"].as_array().unwrap().clone()
}

/// The contact's score in the model equals the sum of its live awards in it.
pub(crate) async fn assert_ledger(app: &TestApp, contact: &str, model: &str) {
    let sum: i64 = awards(app, contact)
        .await
        .iter()
        .filter(|award| award["score"] == model)
        .map(|award| award["points"].as_i64().unwrap())
        .sum();
    assert_eq!(score(app, contact, model).await, sum, "the ledger's sum");
}

async fn behavior_scores_live_and_each_score_is_its_ledgers_sum(app: TestApp) {
    let id = model(&app, "Engagement").await;
    let customer = tag(&app, "customer").await;
    let customer_id: i64 = customer.parse().unwrap();
    rule(
        &app,
        &id,
        json!({"condition": {"visited": {"url": {"contains": "/pricing"}}}, "points": 20}),
    )
    .await;
    rule(
        &app,
        &id,
        json!({"condition": {"event": {"name": "demo requested"}}, "points": 30}),
    )
    .await;
    rule(
        &app,
        &id,
        json!({"condition": {"hasTag": customer_id}, "points": 50}),
    )
    .await;
    app.settle_segments().await;
    let ann = contact(&app, "ann@example.com").await;
    let bob = contact(&app, "bob@example.com").await;

    visit(&app, &ann, "/pricing", Duration::ZERO).await;
    visit(&app, &ann, "/pricing/teams", Duration::ZERO).await;
    visit(&app, &ann, "/blog", Duration::ZERO).await;
    app.settle_segments().await;
    assert_eq!(score(&app, &ann, &id).await, 40);
    event(&app, &ann, "demo requested", Duration::ZERO).await;
    let tagged = tag_contact(&app, &ann, &customer).await;
    event(&app, &bob, "demo requested", Duration::ZERO).await;
    app.settle_segments().await;
    assert_eq!(score(&app, &ann, &id).await, 120);
    assert_eq!(score(&app, &bob, &id).await, 30);
    assert_ledger(&app, &ann, &id).await;

    // Rounds again change nothing: each row scores once.
    for _ in 0..3 {
        app.membership.run_once().await.unwrap();
    }
    assert_eq!(score(&app, &ann, &id).await, 120);
    let causes: Vec<String> = awards(&app, &ann)
        .await
        .iter()
        .map(|award| award["cause"]["type"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(causes.iter().filter(|c| *c == "event").count(), 3);
    assert_eq!(causes.iter().filter(|c| *c == "condition").count(), 1);

    // A condition that stops holding takes its points back.
    let untagged = app.delete(&format!("/api/3/contactTags/{tagged}")).await;
    assert_eq!(untagged.status, 200);
    app.settle_segments().await;
    assert_eq!(score(&app, &ann, &id).await, 70);
    assert_ledger(&app, &ann, &id).await;

    // The timeline shows each change.
    let logs = app
        .get(&format!("/api/3/contacts/{ann}/trackingLogs?limit=100"))
        .await;
    let changes: Vec<&Value> = logs.body["trackingLogs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|log| log["type"] == "__score")
        .collect();
    assert!(changes.len() >= 3, "{}", logs.text);
    let newest: Value = serde_json::from_str(changes[0]["value"].as_str().unwrap()).unwrap();
    assert_eq!(
        newest,
        json!([{"score": id.parse::<i64>().unwrap(), "from": 120, "to": 70}])
    );
}

async fn points_expire_at_their_instant(app: TestApp) {
    let id = model(&app, "Engagement").await;
    rule(
        &app,
        &id,
        json!({"condition": {"event": {"name": "opened deck"}}, "points": 5, "expiryDays": 30}),
    )
    .await;
    app.settle_segments().await;
    let ann = contact(&app, "ann@example.com").await;
    event(&app, &ann, "opened deck", DAY * 29).await;
    event(&app, &ann, "opened deck", DAY * 10).await;
    // Already expired: never counts.
    event(&app, &ann, "opened deck", DAY * 31).await;
    app.settle_segments().await;
    assert_eq!(score(&app, &ann, &id).await, 10);
    let live = awards(&app, &ann).await;
    assert_eq!(live.len(), 2);
    assert!(live.iter().all(|award| award["expiresAt"].is_string()));

    app.clock.advance(DAY - Duration::from_secs(60));
    app.settle_segments().await;
    assert_eq!(score(&app, &ann, &id).await, 10);
    app.clock.advance(Duration::from_secs(61));
    app.settle_segments().await;
    assert_eq!(score(&app, &ann, &id).await, 5);
    assert_ledger(&app, &ann, &id).await;
    app.clock.advance(DAY * 19);
    app.settle_segments().await;
    assert_eq!(score(&app, &ann, &id).await, 0);
}

async fn rules_score_past_behavior_and_edits_score_it_again(app: TestApp) {
    let id = model(&app, "Engagement").await;
    let ann = contact(&app, "ann@example.com").await;
    let bob = contact(&app, "bob@example.com").await;
    for _ in 0..3 {
        event(&app, &ann, "demo requested", DAY).await;
    }
    event(&app, &bob, "demo requested", DAY).await;
    let demo = rule(
        &app,
        &id,
        json!({"condition": {"event": {"name": "demo requested"}}, "points": 10}),
    )
    .await;
    let shown = app.get(&format!("/api/3/scores/{id}")).await;
    assert!(shown.body["score"]["recomputing"].is_number());
    app.settle_segments().await;
    assert_eq!(score(&app, &ann, &id).await, 30);
    assert_eq!(score(&app, &bob, &id).await, 10);
    let shown = app.get(&format!("/api/3/scores/{id}")).await;
    assert_eq!(shown.body["score"]["recomputing"], 0);

    // An edit: the old awards count until the new ones are ready, then the new ones only.
    let edited = app
        .update(
            &format!("/api/3/scoreRules/{demo}"),
            json!({"scoreRule": {"condition": {"event": {"name": "demo requested"}},
                "points": 7, "frequency": "once"}}),
        )
        .await;
    assert_eq!(edited["scoreRule"]["revision"], 2);
    // The server's own worker may have counted the new revision already: never a mix.
    let meanwhile = score(&app, &ann, &id).await;
    assert!(meanwhile == 30 || meanwhile == 7, "{meanwhile}");
    app.settle_segments().await;
    assert_eq!(score(&app, &ann, &id).await, 7);
    assert_eq!(score(&app, &bob, &id).await, 7);
    assert_ledger(&app, &ann, &id).await;
    event(&app, &ann, "demo requested", Duration::ZERO).await;
    app.settle_segments().await;
    assert_eq!(score(&app, &ann, &id).await, 7, "once per contact");

    // Points of past behavior expire at their instant too.
    let recent = rule(
        &app,
        &id,
        json!({"condition": {"event": {"name": "trial started"}}, "points": 4, "expiryDays": 2}),
    )
    .await;
    event(&app, &bob, "trial started", DAY).await;
    app.settle_segments().await;
    assert_eq!(score(&app, &bob, &id).await, 11);
    app.clock.advance(DAY + Duration::from_secs(1));
    app.settle_segments().await;
    assert_eq!(score(&app, &bob, &id).await, 7);
    app.delete(&format!("/api/3/scoreRules/{recent}")).await;

    // A deleted rule's points go.
    let removed = app.delete(&format!("/api/3/scoreRules/{demo}")).await;
    assert_eq!(removed.status, 200);
    app.settle_segments().await;
    assert_eq!(score(&app, &ann, &id).await, 0);
    assert_eq!(score(&app, &bob, &id).await, 0);
}

async fn caps_limit_the_points_of_a_period(app: TestApp) {
    let id = model(&app, "Engagement").await;
    rule(
        &app,
        &id,
        json!({"condition": {"visited": {}}, "points": 5, "cap": {"points": 10, "days": 7}}),
    )
    .await;
    app.settle_segments().await;
    let ann = contact(&app, "ann@example.com").await;
    for path in ["/a", "/b", "/c"] {
        visit(&app, &ann, path, Duration::ZERO).await;
    }
    app.settle_segments().await;
    assert_eq!(score(&app, &ann, &id).await, 10);
    app.clock.advance(DAY * 8);
    visit(&app, &ann, "/d", Duration::ZERO).await;
    app.settle_segments().await;
    assert_eq!(score(&app, &ann, &id).await, 15);
    assert_ledger(&app, &ann, &id).await;
}

async fn adjustments_and_scores_in_segments(app: TestApp) {
    let id = model(&app, "Engagement").await;
    let model_id: i64 = id.parse().unwrap();
    let ann = contact(&app, "ann@example.com").await;
    let bob = contact(&app, "bob@example.com").await;
    let hot = save(
        &app,
        "Hot leads",
        json!({"score": {"model": model_id, "value": {"atLeast": 50}}}),
    )
    .await;
    app.settle_segments().await;
    assert!(members(&app, &hot).await.is_empty());

    let adjusted = app
        .post(
            &format!("/api/3/contacts/{ann}/scoreAdjustments"),
            json!({"scoreAdjustment": {"score": id, "points": 60, "reason": "called sales"}}),
        )
        .await;
    assert_eq!(adjusted.status, 201, "{}", adjusted.text);
    assert_eq!(
        adjusted.body["scoreAward"]["cause"]["reason"],
        "called sales"
    );
    assert_eq!(score(&app, &ann, &id).await, 60);
    app.settle_segments().await;
    assert_eq!(members(&app, &hot).await, vec![ann.clone()]);
    let preview = app
        .post(
            "/api/3/segments/preview",
            json!({"definition": {"score": {"model": model_id, "value": {"atMost": 0}}}}),
        )
        .await;
    assert_eq!(preview.body["count"], 1, "{}", preview.text);
    assert_eq!(preview.body["contacts"][0]["id"], bob.as_str());

    app.post(
        &format!("/api/3/contacts/{ann}/scoreAdjustments"),
        json!({"scoreAdjustment": {"score": id, "points": -20, "reason": "went quiet"}}),
    )
    .await;
    app.settle_segments().await;
    assert_eq!(score(&app, &ann, &id).await, 40);
    assert!(members(&app, &hot).await.is_empty());
    assert_ledger(&app, &ann, &id).await;

    // A rule added later scores past behavior, and the segment follows.
    event(&app, &bob, "demo requested", DAY).await;
    rule(
        &app,
        &id,
        json!({"condition": {"event": {"name": "demo requested"}}, "points": 55}),
    )
    .await;
    app.settle_segments().await;
    assert_eq!(score(&app, &bob, &id).await, 55);
    assert_eq!(members(&app, &hot).await, vec![bob.clone()]);
    let logs = app
        .get(&format!("/api/3/contacts/{bob}/trackingLogs"))
        .await;
    let change = logs.body["trackingLogs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|log| log["type"] == "__score")
        .unwrap()
        .clone();
    let change: Value = serde_json::from_str(change["value"].as_str().unwrap()).unwrap();
    assert_eq!(change, json!([{"score": model_id, "from": 0, "to": 55}]));

    // A model a segment reads is not deleted; the refusal names the segment.
    let refused = app.delete(&format!("/api/3/scores/{id}")).await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    assert!(refused.text.contains("Hot leads"), "{}", refused.text);
    assert_eq!(app.get(&format!("/api/3/scores/{id}")).await.status, 200);
    // A segment cannot name a model that does not exist.
    let unknown = app
        .post(
            "/api/3/segments",
            json!({"segment": {"name": "x",
                "definition": {"score": {"model": 999999, "value": {"atLeast": 1}}}}}),
        )
        .await;
    assert_eq!(unknown.status, 422, "{}", unknown.text);
    app.delete(&format!("/api/3/segments/{hot}")).await;
    let removed = app.delete(&format!("/api/3/scores/{id}")).await;
    assert_eq!(removed.status, 200, "{}", removed.text);
    let values = app.get(&format!("/api/3/contacts/{ann}/scoreValues")).await;
    assert_eq!(values.body, json!({"scoreValues": []}));
}

/// A model whose rule gives 5 points for each event `demo`, counted, and two contacts, Ann
/// and Bob: the model's id and theirs.
pub(crate) async fn demo_model_with_ann_and_bob(app: &TestApp) -> (String, String, String) {
    let id = model(app, "Engagement").await;
    rule(
        app,
        &id,
        json!({"condition": {"event": {"name": "demo"}}, "points": 5}),
    )
    .await;
    app.settle_segments().await;
    let ann = contact(app, "ann@example.com").await;
    let bob = contact(app, "bob@example.com").await;
    (id, ann, bob)
}

/// Runs membership rounds (each with a scorer step) until the contact's score in the model is
/// `points`, for at most 100 rounds: the caller asserts the score.
pub(crate) async fn until_scored(app: &TestApp, contact: &str, model: &str, points: i64) {
    for _ in 0..100 {
        if score(app, contact, model).await == points {
            return;
        }
        let _ = app.membership.run_once().await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// A write refused for one contact's awards (here by a trigger that breaks a unique key) holds
/// up no other contact's scoring, and loses nothing: the refused contact's rows stay noted and
/// score once the refusal is gone.
#[tokio::test]
async fn a_contact_whose_awards_are_refused_holds_up_no_other() {
    use sqlx::Connection;
    let app = TestApp::spawn(tracklane_e2e::Engine::Sqlite).await;
    let (id, ann, bob) = demo_model_with_ann_and_bob(&app).await;
    let file = app.data_dir().join(tracklane_server::config::SQLITE_FILE);
    let mut raw = sqlx::SqliteConnection::connect(&format!("sqlite://{}", file.display()))
        .await
        .unwrap();
    for statement in [
        "CREATE TABLE refusals (id INTEGER PRIMARY KEY)".to_owned(),
        format!(
            "CREATE TRIGGER refuse_awards BEFORE INSERT ON score_awards \
             WHEN NEW.contact_id = {ann} BEGIN \
             INSERT INTO refusals VALUES (1); INSERT INTO refusals VALUES (1); END"
        ),
    ] {
        sqlx::query(&statement).execute(&mut raw).await.unwrap();
    }
    event(&app, &ann, "demo", Duration::ZERO).await;
    event(&app, &bob, "demo", Duration::ZERO).await;
    until_scored(&app, &bob, &id, 5).await;
    assert_eq!(score(&app, &bob, &id).await, 5, "the other contact scores");
    assert_eq!(score(&app, &ann, &id).await, 0);
    sqlx::query("DROP TRIGGER refuse_awards")
        .execute(&mut raw)
        .await
        .unwrap();
    app.settle_segments().await;
    assert_eq!(
        score(&app, &ann, &id).await,
        5,
        "the refused rows score later"
    );
    assert_eq!(score(&app, &bob, &id).await, 5);
}

both_engines!(
    behavior_scores_live_and_each_score_is_its_ledgers_sum,
    points_expire_at_their_instant,
    rules_score_past_behavior_and_edits_score_it_again,
    caps_limit_the_points_of_a_period,
    adjustments_and_scores_in_segments,
);
