//! The `webhook` step: the contact is posted to the subscription the step names, signed with
//! its secret, once per visit of the step, with the automation and the step in the payload.

use std::time::Duration;

use serde_json::json;
use tracklane_e2e::receiver::Receiver;
use tracklane_e2e::{both_engines, TestApp};

use crate::webhook_deliveries::{field, form, message_ids, subscribe, wait_for};

async fn a_webhook_step_posts_the_contact_signed_once_per_visit(app: TestApp) {
    let app = TestApp::spawn_for_webhooks(app.engine).await;
    let receiver = Receiver::start().await;
    let (webhook, secret) = subscribe(&app, &receiver.url("/crm"), json!(["api"])).await;
    let done = app.new_tag("posted").await;
    let body = json!({"automation": {"name": "Handoff", "status": "1", "definition": {
        "entry": "multiple",
        "steps": [{"id": "name", "setField": {"field": "firstName", "value": "Ann"}},
            {"id": "post", "webhook": webhook.parse::<i64>().unwrap()},
            {"id": "tag", "addTag": done}]
    }}});
    let flow = app.create("/api/3/automations", body).await;
    let ann = app
        .create(
            "/api/3/contacts",
            json!({"contact": {"email": "ann@example.com", "firstName": "Annabel"}}),
        )
        .await;
    for _ in 0..2 {
        let entered = app
            .post(
                "/api/3/contactAutomations",
                json!({"contactAutomation": {"contact": ann, "automation": flow}}),
            )
            .await;
        assert_eq!(entered.status, 201, "{}", entered.text);
        app.settle_automations().await;
        // An API entry's cause is its instant: the next one is a second later.
        app.clock.advance(Duration::from_secs(1));
    }

    let posts = wait_for(&receiver, 2).await;
    let verifier = standardwebhooks::Webhook::new(&secret).unwrap();
    for post in &posts {
        verifier.verify(&post.body, &post.headers).unwrap();
        let pairs = form(post);
        assert_eq!(field(&pairs, "type"), Some("automation"));
        assert_eq!(field(&pairs, "initiated_from"), Some("system"));
        assert_eq!(field(&pairs, "contact[email]"), Some("ann@example.com"));
        // As the step before the post set it.
        assert_eq!(field(&pairs, "contact[first_name]"), Some("Ann"));
        assert_eq!(field(&pairs, "automation[id]"), Some(flow.as_str()));
        assert_eq!(field(&pairs, "automation[step]"), Some("post"));
    }
    // Two entries, two posts: the tag the automation puts on is the system's, which the
    // subscription (of API changes) does not hear of, and nothing is posted twice.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.received().len(), 2);
    assert_eq!(message_ids(&receiver).len(), 2);

    let unknown = app
        .post(
            "/api/3/automations",
            json!({"automation": {"name": "Nowhere", "definition": {
                "steps": [{"id": "post", "webhook": 999999}]}}}),
        )
        .await;
    assert_eq!(unknown.status, 422, "{}", unknown.text);
    assert!(
        unknown
            .text
            .contains("/steps/0/webhook: there is no webhook 999999"),
        "{}",
        unknown.text
    );
}

both_engines!(a_webhook_step_posts_the_contact_signed_once_per_visit);
