//! Webhook subscriptions in ActiveCampaign's shape: create (with the signing secret shown that
//! once), list with filters, get, update, delete, rotate the secret, and the event types under
//! both spellings; receivers deliveries may not reach, unknown event types and sources,
//! malformed bodies and other accounts' ids are refused and change nothing.

use serde_json::{json, Value};
use tracklane_e2e::{both_engines, TestApp};
use tracklane_server::config::SettingsLayer;

/// A public receiver given by address, so that no name needs resolving.
const RECEIVER: &str = "https://93.184.216.34/hooks/in";

fn webhook(name: &str, url: &str) -> Value {
    json!({"webhook": {
        "name": name,
        "url": url,
        "events": ["subscribe", "click", "segment_entered"],
        "sources": ["public", "api"],
    }})
}

async fn count(app: &TestApp) -> String {
    let listed = app.get("/api/3/webhooks").await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    listed.body["meta"]["total"].as_str().unwrap().to_owned()
}

async fn webhooks_answer_in_acs_shape_with_the_secret_shown_once(app: TestApp) {
    let created = app.post("/api/3/webhooks", webhook("CRM", RECEIVER)).await;
    assert_eq!(created.status, 201, "{}", created.text);
    let one = &created.body["webhook"];
    assert_eq!(one["name"], "CRM");
    assert_eq!(one["url"], RECEIVER);
    assert_eq!(one["listid"], "0");
    assert_eq!(
        one["events"],
        json!(["subscribe", "click", "segment_entered"])
    );
    assert_eq!(one["sources"], json!(["public", "api"]));
    assert_eq!(one["links"], json!([]));
    assert!(one["cdate"].is_string());
    let secret = one["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("whsec_"), "{secret}");
    let id = one["id"].as_str().unwrap().to_owned();

    let shown = app.get(&format!("/api/3/webhooks/{id}")).await;
    assert_eq!(shown.status, 200);
    assert_eq!(shown.body["webhook"]["name"], "CRM");
    assert!(shown.body["webhook"].get("secret").is_none());
    assert!(!shown.text.contains(&secret));

    let rotated = app
        .post(&format!("/api/3/webhooks/{id}/secret"), json!({}))
        .await;
    assert_eq!(rotated.status, 200, "{}", rotated.text);
    let new_secret = rotated.body["webhook"]["secret"].as_str().unwrap();
    assert!(new_secret.starts_with("whsec_"));
    assert_ne!(new_secret, secret);

    let list = app
        .create(
            "/api/3/lists",
            json!({"list": {"name": "News", "stringid": "news"}}),
        )
        .await;
    let updated = app
        .update(
            &format!("/api/3/webhooks/{id}"),
            json!({"webhook": {"name": "CRM 2", "events": ["unsubscribe"], "listid": list}}),
        )
        .await;
    assert_eq!(updated["webhook"]["name"], "CRM 2");
    assert_eq!(updated["webhook"]["events"], json!(["unsubscribe"]));
    assert_eq!(updated["webhook"]["sources"], json!(["public", "api"]));
    assert_eq!(updated["webhook"]["listid"], list);

    app.create(
        "/api/3/webhooks",
        webhook("Other", "https://93.184.216.35/"),
    )
    .await;
    let by_name = app.get("/api/3/webhooks?filters[name]=Other").await;
    assert_eq!(by_name.body["meta"]["total"], "1");
    assert_eq!(by_name.body["webhooks"][0]["name"], "Other");
    let by_url = app
        .get(&format!("/api/3/webhooks?filters[url]={RECEIVER}"))
        .await;
    assert_eq!(by_url.body["meta"]["total"], "1");
    let by_list = app
        .get(&format!("/api/3/webhooks?filters[listid]={list}"))
        .await;
    assert_eq!(by_list.body["meta"]["total"], "1");
    assert_eq!(by_list.body["webhooks"][0]["id"], id.as_str());
    let paged = app.get("/api/3/webhooks?limit=1&offset=1").await;
    assert_eq!(paged.body["webhooks"].as_array().unwrap().len(), 1);
    assert_eq!(paged.body["meta"]["total"], "2");

    let deleted = app.delete(&format!("/api/3/webhooks/{id}")).await;
    assert_eq!(deleted.status, 200);
    assert_eq!(deleted.body, json!({}));
    let gone = app.get(&format!("/api/3/webhooks/{id}")).await;
    assert_eq!(gone.status, 404);
    assert_eq!(
        gone.body["message"],
        format!("No Result found for Webhook with id {id}")
    );
    assert_eq!(count(&app).await, "1");
}

async fn event_types_answer_under_both_spellings(app: TestApp) {
    for path in ["/api/3/webhook/events", "/api/3/webhooks/events"] {
        let answer = app.get(path).await;
        assert_eq!(answer.status, 200, "{path}: {}", answer.text);
        let events = answer.body["webhookEvents"].as_array().unwrap();
        assert_eq!(answer.body["meta"]["total"], events.len().to_string());
        for name in [
            "subscribe",
            "contact_tag_added",
            "bounce",
            "site_visit",
            "segment_left",
        ] {
            assert!(events.contains(&json!(name)), "{path} lists {name}");
        }
    }
}

async fn receivers_deliveries_may_not_reach_are_refused(app: TestApp) {
    for url in [
        "http://127.0.0.1:9/in",
        "http://localhost/in",
        "http://api.localhost/in",
        "http://10.1.2.3/in",
        "http://192.168.0.10/in",
        "http://[::1]/in",
        "http://[::ffff:127.0.0.1]/in",
        "http://169.254.169.254/latest/meta-data/",
        "http://0.0.0.0/in",
        "https://no-such-host.invalid/in",
    ] {
        let refused = app.post("/api/3/webhooks", webhook("x", url)).await;
        assert_eq!(refused.status, 422, "{url}: {}", refused.text);
        assert_eq!(
            refused.body["errors"][0]["source"]["pointer"],
            "/data/attributes/url"
        );
    }
    let created = app.create("/api/3/webhooks", webhook("ok", RECEIVER)).await;
    let moved = app
        .put(
            &format!("/api/3/webhooks/{created}"),
            json!({"webhook": {"url": "http://127.0.0.1/in"}}),
        )
        .await;
    assert_eq!(moved.status, 422, "{}", moved.text);
    let kept = app.get(&format!("/api/3/webhooks/{created}")).await;
    assert_eq!(kept.body["webhook"]["url"], RECEIVER);
    assert_eq!(count(&app).await, "1");

    // With the setting for development and tests, private receivers pass; metadata never.
    let settings = SettingsLayer {
        allow_private_webhooks: Some(true),
        ..SettingsLayer::default()
    };
    let local = TestApp::spawn_with(app.engine, settings).await;
    for url in [
        "http://127.0.0.1:9/in",
        "http://localhost:8080/in",
        "http://[::1]/in",
    ] {
        let created = local.post("/api/3/webhooks", webhook("dev", url)).await;
        assert_eq!(created.status, 201, "{url}: {}", created.text);
    }
    let metadata = local
        .post(
            "/api/3/webhooks",
            webhook("x", "http://169.254.169.254/latest/meta-data/"),
        )
        .await;
    assert_eq!(metadata.status, 422, "{}", metadata.text);
}

async fn bad_subscriptions_are_refused_and_change_nothing(app: TestApp) {
    let list = app
        .create(
            "/api/3/lists",
            json!({"list": {"name": "News", "stringid": "news"}}),
        )
        .await;
    let cases = [
        json!({"webhook": {"url": RECEIVER, "events": ["click"], "sources": ["api"]}}),
        json!({"webhook": {"name": "x", "events": ["click"], "sources": ["api"]}}),
        json!({"webhook": {"name": "x", "url": RECEIVER, "sources": ["api"]}}),
        json!({"webhook": {"name": "x", "url": RECEIVER, "events": [], "sources": ["api"]}}),
        json!({"webhook": {"name": "x", "url": RECEIVER, "events": ["click"]}}),
        json!({"webhook": {"name": "x", "url": RECEIVER, "events": ["nope"], "sources": ["api"]}}),
        json!({"webhook": {"name": "x", "url": RECEIVER, "events": ["click"], "sources": ["robot"]}}),
        json!({"webhook": {"name": "x", "url": "ftp://93.184.216.34/", "events": ["click"], "sources": ["api"]}}),
        json!({"webhook": {"name": "x", "url": RECEIVER, "events": ["click"], "sources": ["api"], "listid": "abc"}}),
        json!({"webhook": {"name": "x", "url": RECEIVER, "events": ["click"], "sources": ["api"], "listid": -3}}),
        json!({"webhook": {"name": "x", "url": RECEIVER, "events": "click", "sources": ["api"]}}),
        json!({"webhook": {"name": "x", "url": RECEIVER, "events": ["click"], "sources": ["api"], "secret": "mine"}}),
        json!({"nothing": {}}),
    ];
    for body in cases {
        let refused = app.post("/api/3/webhooks", body.clone()).await;
        assert!(
            matches!(refused.status, 400 | 422),
            "{body}: {} {}",
            refused.status,
            refused.text
        );
    }
    let no_list = json!({"webhook": {"name": "x", "url": RECEIVER, "events": ["click"],
        "sources": ["api"], "listid": list.parse::<i64>().unwrap() + 1000}});
    let missing = app.post("/api/3/webhooks", no_list).await;
    assert_eq!(missing.status, 404, "{}", missing.text);
    let malformed = app
        .send(
            "POST",
            "/api/3/webhooks",
            Some(&app.api_key),
            Some(b"{nope".to_vec()),
        )
        .await;
    assert_eq!(malformed.status, 400, "{}", malformed.text);
    assert_eq!(count(&app).await, "0");

    // Another account's subscription is not there for this one.
    let other_key = app.other_account_key().await;
    let theirs = app
        .create_as(&other_key, "/api/3/webhooks", webhook("theirs", RECEIVER))
        .await;
    for answer in [
        app.get(&format!("/api/3/webhooks/{theirs}")).await,
        app.put(
            &format!("/api/3/webhooks/{theirs}"),
            json!({"webhook": {"name": "mine"}}),
        )
        .await,
        app.post(&format!("/api/3/webhooks/{theirs}/secret"), json!({}))
            .await,
        app.delete(&format!("/api/3/webhooks/{theirs}")).await,
        app.get("/api/3/webhooks/abc").await,
    ] {
        assert_eq!(answer.status, 404, "{}", answer.text);
    }
    assert_eq!(count(&app).await, "0");
}

both_engines!(
    webhooks_answer_in_acs_shape_with_the_secret_shown_once,
    event_types_answer_under_both_spellings,
    receivers_deliveries_may_not_reach_are_refused,
    bad_subscriptions_are_refused_and_change_nothing,
);
