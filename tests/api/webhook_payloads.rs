//! What a delivery's body says, in either format: a contact's custom fields under their
//! personalization tags, and a subscription that asks for JSON gets the same keys nested, as
//! `application/json`, signed alike.

use serde_json::{json, Value};
use tracklane_e2e::receiver::Receiver;
use tracklane_e2e::{both_engines, TestApp};

use crate::webhook_deliveries::{field, form, put_tag, wait_for};

async fn a_json_subscription_gets_the_form_keys_nested_with_the_contacts_fields(app: TestApp) {
    let app = TestApp::spawn_for_webhooks(app.engine).await;
    let receiver = Receiver::start().await;
    let mut secrets = Vec::new();
    for (path, format) in [("/form", None), ("/json", Some("json"))] {
        let mut webhook = json!({"name": path, "url": receiver.url(path),
            "events": ["contact_tag_added"], "sources": ["api"]});
        if let Some(format) = format {
            webhook["format"] = json!(format);
        }
        let created = app
            .post("/api/3/webhooks", json!({ "webhook": webhook }))
            .await;
        assert_eq!(created.status, 201, "{}", created.text);
        let expected = format.unwrap_or("form");
        assert_eq!(created.body["webhook"]["format"], expected);
        secrets.push(
            created.body["webhook"]["secret"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let bad = app
        .post(
            "/api/3/webhooks",
            json!({"webhook": {"name": "x", "url": receiver.url("/x"),
                "events": ["open"], "sources": ["api"], "format": "xml"}}),
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.text);

    let company = app
        .create(
            "/api/3/fields",
            json!({"field": {"title": "Company", "type": "text"}}),
        )
        .await;
    let contact = app
        .create(
            "/api/3/contacts",
            json!({"contact": {"email": "ann@example.com", "firstName": "Ann",
                "fieldValues": [{"field": company, "value": "Acme & Co"}]}}),
        )
        .await;
    let tag = app
        .create(
            "/api/3/tags",
            json!({"tag": {"tag": "customer", "tagType": "contact"}}),
        )
        .await;
    put_tag(&app, &contact, &tag).await;

    let received = wait_for(&receiver, 2).await;
    let by_path = |path: &str| received.iter().find(|r| r.path == path).unwrap().clone();
    let as_form = by_path("/form");
    let pairs = form(&as_form);
    assert_eq!(field(&pairs, "contact[fields][company]"), Some("Acme & Co"));
    assert_eq!(
        as_form.headers["content-type"],
        "application/x-www-form-urlencoded"
    );

    let as_json = by_path("/json");
    assert_eq!(as_json.headers["content-type"], "application/json");
    let body: Value = serde_json::from_slice(&as_json.body).unwrap();
    assert_eq!(body["type"], "contact_tag_added");
    assert_eq!(body["initiated_from"], "api");
    assert_eq!(body["tag"], "customer");
    assert_eq!(body["contact"]["id"], contact);
    assert_eq!(body["contact"]["email"], "ann@example.com");
    assert_eq!(body["contact"]["first_name"], "Ann");
    assert_eq!(body["contact"]["fields"]["company"], "Acme & Co");
    let verifier = standardwebhooks::Webhook::new(&secrets[1]).unwrap();
    verifier.verify(&as_json.body, &as_json.headers).unwrap();
}

both_engines!(a_json_subscription_gets_the_form_keys_nested_with_the_contacts_fields);
