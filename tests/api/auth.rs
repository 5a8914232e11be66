//! Keys and tenants: no key or a wrong key is a 403; another account's rows are 404s.

use serde_json::json;
use tracklane_e2e::{both_engines, TestApp};

async fn a_missing_key_is_forbidden(app: TestApp) {
    let answer = app.send("GET", "/api/3/contacts", None, None).await;
    assert_eq!(answer.status, 403);
    assert!(answer.content_type.starts_with("application/json"));
    assert!(answer.body["message"]
        .as_str()
        .unwrap()
        .contains("Api-Token"));
}

async fn a_wrong_key_is_forbidden_and_writes_nothing(app: TestApp) {
    let body = json!({"contact": {"email": "eve@example.com"}}).to_string();
    let answer = app
        .send(
            "POST",
            "/api/3/contacts",
            Some("not-a-key"),
            Some(body.into_bytes()),
        )
        .await;
    assert_eq!(answer.status, 403);
    assert_eq!(answer.body["message"], "The API token is not valid");
    assert_eq!(app.get("/api/3/contacts").await.body["meta"]["total"], "0");
}

async fn the_event_key_does_not_open_the_api(app: TestApp) {
    let answer = app.send("GET", "/api/3/", Some(&app.event_key), None).await;
    assert_eq!(answer.status, 403);
    assert_eq!(app.get("/api/3/").await.status, 200);
}

async fn another_accounts_rows_are_not_found(app: TestApp) {
    let other_key = app.other_account_key().await;
    let created = app
        .post(
            "/api/3/contacts",
            json!({"contact": {"email": "mine@example.com"}}),
        )
        .await;
    let id = created.body["contact"]["id"].as_str().unwrap().to_owned();
    let path = format!("/api/3/contacts/{id}");

    let peek = app.send("GET", &path, Some(&other_key), None).await;
    assert_eq!(peek.status, 404);
    assert_eq!(
        peek.body["message"],
        format!("No Result found for Subscriber with id {id}")
    );
    let delete = app.send("DELETE", &path, Some(&other_key), None).await;
    assert_eq!(delete.status, 404);
    let listed = app
        .send("GET", "/api/3/contacts", Some(&other_key), None)
        .await;
    assert_eq!(listed.body["meta"]["total"], "0");
    // The same email is free in the other account.
    let theirs = app
        .send(
            "POST",
            "/api/3/contacts",
            Some(&other_key),
            Some(
                json!({"contact": {"email": "mine@example.com"}})
                    .to_string()
                    .into_bytes(),
            ),
        )
        .await;
    assert_eq!(theirs.status, 201);
    assert_eq!(app.get(&path).await.status, 200);
}

both_engines!(
    a_missing_key_is_forbidden,
    a_wrong_key_is_forbidden_and_writes_nothing,
    the_event_key_does_not_open_the_api,
    another_accounts_rows_are_not_found,
);
