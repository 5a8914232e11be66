//! Input past the API's bounds: over-long query parameters are refused in the API's error shape,
//! and a JSON body with anything after its value is malformed. Neither changes anything.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::json;
use tracklane_e2e::{both_engines, TestApp};

async fn over_long_query_parameters_get_422(app: TestApp) {
    let pattern = "ab%25".repeat(10_000);
    for path in [
        format!("/api/3/contacts?search={pattern}"),
        format!("/api/3/contacts?email_like={pattern}"),
        format!("/api/3/contacts?filters%5Bemail%5D={pattern}"),
        format!("/api/3/tags?search={pattern}"),
        format!("/api/3/lists?filters%5Bname%5D%5Bcontains%5D={pattern}"),
        format!("/api/3/fieldValues?filters%5Bval%5D={pattern}"),
    ] {
        let answer = app.get(&path).await;
        assert_eq!(answer.status, 422, "{}: {}", &path[..30], answer.text);
        let error = &answer.body["errors"][0];
        assert_eq!(error["code"], "too_long", "{}", answer.text);
        assert!(error["title"].is_string() && error["detail"].is_string());
        assert!(error["source"]["parameter"].is_string(), "{}", answer.text);
    }
    let fits = app
        .get(&format!("/api/3/contacts?search={}", "a".repeat(4000)))
        .await;
    assert_eq!(fits.status, 200, "{}", fits.text);
}

async fn json_with_trailing_garbage_is_malformed(app: TestApp) {
    let ada = app
        .create(
            "/api/3/contacts",
            json!({"contact": {"email": "ada@example.com", "firstName": "Ada"}}),
        )
        .await;
    for (method, path) in [
        ("POST", "/api/3/contacts".to_owned()),
        ("POST", "/api/3/contact/sync".to_owned()),
        ("PUT", format!("/api/3/contacts/{ada}")),
    ] {
        let body = br#"{"contact":{"email":"ada@example.com","firstName":"Changed"}} GARBAGE"#;
        let answer = app
            .send(method, &path, Some(&app.api_key), Some(body.to_vec()))
            .await;
        assert_eq!(answer.status, 400, "{path}: {}", answer.text);
        assert_eq!(answer.body["errors"][0]["code"], "malformed");
    }
    let trailing_value = app
        .send(
            "POST",
            "/api/3/tags",
            Some(&app.api_key),
            Some(br#"{"tag":{"tag":"one"}}{"tag":{"tag":"two"}}"#.to_vec()),
        )
        .await;
    assert_eq!(trailing_value.status, 400);

    let auth = format!("Basic {}", STANDARD.encode(format!("{}:", app.event_key)));
    let headers = [
        ("authorization", auth.as_str()),
        ("content-type", "application/json"),
    ];
    let v1 = app
        .track(
            "POST",
            "/v1/identify",
            &headers,
            r#"{"userId":"ada@example.com","traits":{"firstName":"Changed"}} GARBAGE"#,
        )
        .await;
    assert_eq!(v1.status, 400, "{}", v1.text);

    let contact = app.get(&format!("/api/3/contacts/{ada}")).await;
    assert_eq!(contact.body["contact"]["firstName"], "Ada");
    assert_eq!(app.get("/api/3/contacts").await.body["meta"]["total"], "1");
    assert_eq!(app.get("/api/3/tags").await.body["meta"]["total"], "0");
}

both_engines!(
    over_long_query_parameters_get_422,
    json_with_trailing_garbage_is_malformed,
);
