//! A NUL character in any text is refused (422, in each endpoint's own shape) on both engines,
//! PostgreSQL included, whose `text` cannot store one; nothing is written.

use serde_json::json;
use tracklane_e2e::{both_engines, TestApp};

use crate::events::{self, segment, spawn, total_logs};
use crate::forms::{contact_total, newsletter_form, post_form};
use crate::tracking::{self, hit, page};

const NUL: &str = "a\u{0}b";

async fn api_bodies_and_queries_with_a_nul_are_refused(app: TestApp) {
    let refused = app
        .post(
            "/api/3/contacts",
            json!({"contact": {"email": "ada@example.com", "firstName": NUL}}),
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    let error = &refused.body["errors"][0];
    assert_eq!(error["code"], "invalid");
    assert_eq!(error["source"]["pointer"], "/data/attributes/firstName");
    assert_eq!(
        error["detail"],
        "contact.firstName must not contain a NUL character"
    );
    let synced = app
        .post(
            "/api/3/contact/sync",
            json!({"contact": {"email": "ada@example.com", "fieldValues": [{"field": "1", "value": NUL}]}}),
        )
        .await;
    assert_eq!(synced.status, 422, "{}", synced.text);
    let tag = app.post("/api/3/tags", json!({"tag": {"tag": NUL}})).await;
    assert_eq!(tag.status, 422, "{}", tag.text);
    let searched = app.get("/api/3/contacts?search=a%00b").await;
    assert_eq!(searched.status, 422, "{}", searched.text);
    assert_eq!(
        searched.body["errors"][0]["source"]["pointer"],
        "/data/attributes/search"
    );
    let removed = app.delete("/api/3/eventTrackingEvents/a%00b").await;
    assert_eq!(removed.status, 404, "{}", removed.text);
    assert_eq!(contact_total(&app).await, "0");
    assert_eq!(app.get("/api/3/tags").await.body["meta"]["total"], "0");
}

async fn tracking_bodies_with_a_nul_are_refused(app: TestApp) {
    tracking::enable(&app).await;
    let mut visit = page(&app, "visitor-nul-1", "https://example.com/");
    visit["t"] = json!(NUL);
    let posted = hit(&app, visit.clone()).await;
    assert_eq!(posted.status, 422, "{}", posted.text);
    assert_eq!(posted.body["recorded"], false);
    assert_eq!(posted.body["reason"], "t must not contain a NUL character");
    let query: String = form_urlencoded::byte_serialize(visit.to_string().as_bytes()).collect();
    let fetched = app
        .track("GET", &format!("/c?d={query}"), &[], Vec::new())
        .await;
    assert_eq!(fetched.status, 422, "{}", fetched.text);

    events::enable(&app).await;
    let actid = app.account.0.to_string();
    let email = json!({"email": "ada@example.com"}).to_string();
    let event = spawn(
        &app,
        &[
            ("actid", &actid),
            ("key", &app.event_key),
            ("event", "signup"),
            ("eventdata", NUL),
            ("visit", &email),
        ],
    )
    .await;
    assert_eq!(event.status, 422, "{}", event.text);
    assert_eq!(event.body["success"], 0);
    let track = json!({"type": "track", "event": "signup", "userId": "ada@example.com",
        "properties": {"plan": NUL}});
    let tracked = segment(&app, "/v1/track", &app.event_key, track).await;
    assert_eq!(tracked.status, 422, "{}", tracked.text);
    assert_eq!(tracked.body["success"], false);
    assert_eq!(total_logs(&app).await, "0", "nothing was recorded");
}

async fn a_form_answer_with_a_nul_is_refused(app: TestApp) {
    let (form, _, _) = newsletter_form(&app).await;
    let (status, _) = post_form(&app, &form, "email=ada%40example.com&firstName=a%00b").await;
    assert_eq!(status, 422);
    let (status, _) = post_form(&app, &form, "email=ada%40example.com&COMPANY=a%00b").await;
    assert_eq!(status, 422);
    assert_eq!(contact_total(&app).await, "0", "nobody was created");
}

both_engines!(
    api_bodies_and_queries_with_a_nul_are_refused,
    tracking_bodies_with_a_nul_are_refused,
    a_form_answer_with_a_nul_is_refused,
);
