//! Named keys: several API and event keys per account, created (the secret shown once), listed
//! (never the secret, with their last use) and revoked one by one, through `/api/3/keys` by a
//! key that manages keys.

use serde_json::{json, Value};
use tracklane_e2e::{both_engines, Answer, TestApp};

use crate::events::{enable, spawn};

/// `POST /api/3/keys` with the app's (owner) key.
async fn new_key(app: &TestApp, key: Value) -> Answer {
    app.post("/api/3/keys", json!({ "key": key })).await
}

/// The secret and the id of a key just created.
fn secret_and_id(created: &Answer) -> (String, String) {
    assert_eq!(created.status, 201, "{}", created.text);
    let key = &created.body["key"];
    (
        key["key"].as_str().unwrap().to_owned(),
        key["id"].as_str().unwrap().to_owned(),
    )
}

async fn status_with(app: &TestApp, key: &str, method: &str, path: &str) -> u16 {
    app.send(method, path, Some(key), None).await.status
}

async fn an_api_key_is_created_listed_without_its_secret_and_revoked_alone(app: TestApp) {
    let created = new_key(&app, json!({"name": "zapier"})).await;
    let (zapier, id) = secret_and_id(&created);
    assert_eq!(zapier.len(), 64);
    assert_eq!(created.body["key"]["kind"], "api");
    assert_eq!(created.body["key"]["manageKeys"], false);
    assert_eq!(created.body["key"]["lastUsed"], Value::Null);

    assert_eq!(
        status_with(&app, &zapier, "GET", "/api/3/contacts").await,
        200
    );
    let listed = app.get("/api/3/keys").await;
    assert_eq!(listed.status, 200);
    assert_eq!(
        listed.body["meta"]["total"], "3",
        "owner API and event keys, and zapier"
    );
    assert!(
        !listed.text.contains(&zapier),
        "a listing never shows a secret"
    );
    assert!(!listed.text.contains(&app.api_key));
    let names: Vec<&str> = listed.body["keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|key| key["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["owner", "owner", "zapier"]);
    let shown = app.get(&format!("/api/3/keys/{id}")).await;
    assert!(shown.body["key"]["lastUsed"].is_string(), "{}", shown.text);
    assert!(shown.body["key"].get("key").is_none());

    let revoked = app.delete(&format!("/api/3/keys/{id}")).await;
    assert_eq!(revoked.status, 200);
    assert!(revoked.body["key"]["revoked"].is_string());
    assert_eq!(
        status_with(&app, &zapier, "GET", "/api/3/contacts").await,
        403
    );
    assert_eq!(
        app.get("/api/3/contacts").await.status,
        200,
        "the owner key still opens"
    );
    let again = app.delete(&format!("/api/3/keys/{id}")).await;
    assert_eq!(again.body["key"]["revoked"], revoked.body["key"]["revoked"]);
}

async fn only_a_key_that_manages_keys_opens_the_keys(app: TestApp) {
    let (plain, _) = secret_and_id(&new_key(&app, json!({"name": "crm"})).await);
    let body = json!({"key": {"name": "sneaky", "manageKeys": true}}).to_string();
    let refused = app
        .send("POST", "/api/3/keys", Some(&plain), Some(body.into_bytes()))
        .await;
    assert_eq!(refused.status, 403);
    assert!(refused.body["message"]
        .as_str()
        .unwrap()
        .contains("manage keys"));
    assert_eq!(status_with(&app, &plain, "GET", "/api/3/keys").await, 403);
    assert_eq!(
        status_with(&app, &plain, "DELETE", "/api/3/keys/1").await,
        403
    );
    assert_eq!(app.get("/api/3/keys").await.body["meta"]["total"], "3");

    let (admin, _) =
        secret_and_id(&new_key(&app, json!({"name": "ops", "manageKeys": true})).await);
    assert_eq!(status_with(&app, &admin, "GET", "/api/3/keys").await, 200);
}

async fn a_revoked_event_key_stops_opening_the_collector_at_once(app: TestApp) {
    enable(&app).await;
    let (shop, id) = secret_and_id(&new_key(&app, json!({"name": "shop", "kind": "event"})).await);
    let actid = app.account.0.to_string();
    let event = |key: String| {
        let actid = actid.clone();
        let app = &app;
        async move {
            let visit = json!({"email": "ada@example.com"}).to_string();
            spawn(
                app,
                &[
                    ("actid", &actid),
                    ("key", &key),
                    ("event", "signup"),
                    ("visit", &visit),
                ],
            )
            .await
            .status
        }
    };
    assert_eq!(event(shop.clone()).await, 200);
    assert_eq!(
        status_with(&app, &shop, "GET", "/api/3/").await,
        403,
        "an event key opens no API"
    );
    assert_eq!(app.delete(&format!("/api/3/keys/{id}")).await.status, 200);
    assert_eq!(event(shop).await, 403);
    assert_eq!(
        event(app.event_key.clone()).await,
        200,
        "the other event key still opens"
    );
}

async fn bad_keys_are_refused_and_change_nothing(app: TestApp) {
    for (body, attribute) in [
        (json!({"key": {}}), "name"),
        (json!({"key": {"name": "  "}}), "name"),
        (json!({"key": {"name": "x".repeat(256)}}), "name"),
        (json!({"key": {"name": "a", "kind": "admin"}}), "kind"),
        (
            json!({"key": {"name": "a", "kind": "event", "manageKeys": true}}),
            "manageKeys",
        ),
        (json!({"key": {"name": "a", "manage_keys": true}}), ""),
        (
            json!({"key": {"name": "a", "manageKeys": "yes"}}),
            "manageKeys",
        ),
        (json!({}), "key"),
    ] {
        let answer = app.post("/api/3/keys", body.clone()).await;
        assert!(
            matches!(answer.status, 400 | 422),
            "{body}: {}",
            answer.text
        );
        if !attribute.is_empty() {
            assert!(answer.text.contains(attribute), "{body}: {}", answer.text);
        }
    }
    assert_eq!(app.get("/api/3/keys").await.body["meta"]["total"], "2");

    assert_eq!(app.get("/api/3/keys/999").await.status, 404);
    assert_eq!(app.get("/api/3/keys/abc").await.status, 404);
    let other = app.other_account_key().await;
    assert_eq!(status_with(&app, &other, "GET", "/api/3/keys/1").await, 404);
    assert_eq!(
        status_with(&app, &other, "DELETE", "/api/3/keys/1").await,
        404
    );
    assert_eq!(
        app.get("/api/3/").await.status,
        200,
        "another account cannot revoke mine"
    );

    let last = app.delete("/api/3/keys/1").await;
    assert_eq!(last.status, 422, "{}", last.text);
    assert!(last.text.contains("last key that manages keys"));
    assert_eq!(app.get("/api/3/").await.status, 200);
}

both_engines!(
    an_api_key_is_created_listed_without_its_secret_and_revoked_alone,
    only_a_key_that_manages_keys_opens_the_keys,
    a_revoked_event_key_stops_opening_the_collector_at_once,
    bad_keys_are_refused_and_change_nothing,
);
