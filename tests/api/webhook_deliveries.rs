//! Webhook deliveries end to end, with a real receiver on localhost: a tag put on a contact
//! through the API reaches the subscription's receiver signed, in ActiveCampaign's payload,
//! retried until the receiver takes it; a 410 disables the subscription; a change nobody
//! listens to, or from a source the subscription does not hear of, is not delivered; events,
//! list subscriptions, segment transitions, updates, new lists and sent campaigns are reported.
//! The fixtures here serve the other webhook tests too.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tracklane_e2e::receiver::{Received, Receiver, Reply};
use tracklane_e2e::{both_engines, TestApp};

use crate::events::{enable, segment, spawn};
use crate::segments::{save, tag_contact};

/// Waits until the receiver got `count` requests, failing the test after a few seconds.
pub(crate) async fn wait_for(receiver: &Receiver, count: usize) -> Vec<Received> {
    let started = Instant::now();
    loop {
        let received = receiver.received();
        if received.len() >= count {
            return received;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the receiver got {} of {count} requests",
            received.len()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A subscription of the app to the receiver's `path`; answers its id and secret.
pub(crate) async fn subscribe(app: &TestApp, url: &str, sources: Value) -> (String, String) {
    let created = app
        .post(
            "/api/3/webhooks",
            json!({"webhook": {"name": "crm", "url": url,
                "events": ["contact_tag_added", "contact_tag_removed"], "sources": sources}}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let one = &created.body["webhook"];
    (
        one["id"].as_str().unwrap().to_owned(),
        one["secret"].as_str().unwrap().to_owned(),
    )
}

pub(crate) async fn contact_and_tag(app: &TestApp) -> (String, String) {
    let contact = app
        .create(
            "/api/3/contacts",
            json!({"contact": {"email": "ann@example.com", "firstName": "Ann"}}),
        )
        .await;
    let tag = app
        .create(
            "/api/3/tags",
            json!({"tag": {"tag": "customer", "tagType": "contact"}}),
        )
        .await;
    (contact, tag)
}

/// Tags `count` new contacts through the API, one after the other.
pub(crate) async fn tag_burst(app: &TestApp, count: usize) {
    let tag = app
        .create(
            "/api/3/tags",
            json!({"tag": {"tag": "vip", "tagType": "contact"}}),
        )
        .await;
    for i in 0..count {
        let contact = app
            .create(
                "/api/3/contacts",
                json!({"contact": {"email": format!("c{i}@example.com")}}),
            )
            .await;
        put_tag(app, &contact, &tag).await;
    }
}

/// Puts the tag on the contact through the API.
pub(crate) async fn put_tag(app: &TestApp, contact: &str, tag: &str) {
    let tagged = app
        .post(
            "/api/3/contactTags",
            json!({"contactTag": {"contact": contact, "tag": tag}}),
        )
        .await;
    assert_eq!(tagged.status, 201, "{}", tagged.text);
}

/// The distinct `webhook-id`s of what the receiver got.
pub(crate) fn message_ids(receiver: &Receiver) -> std::collections::BTreeSet<String> {
    receiver
        .received()
        .iter()
        .map(|request| request.headers["webhook-id"].to_str().unwrap().to_owned())
        .collect()
}

/// The id of the contact's first contactTag row.
pub(crate) async fn tag_row(app: &TestApp, contact: &str) -> String {
    let tags = app
        .get(&format!("/api/3/contacts/{contact}/contactTags"))
        .await;
    tags.body["contactTags"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

pub(crate) fn form(request: &Received) -> Vec<(String, String)> {
    form_urlencoded::parse(&request.body).into_owned().collect()
}

pub(crate) fn field<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, value)| value.as_str())
}

async fn a_tag_reaches_the_receiver_signed_and_is_retried_until_taken(app: TestApp) {
    let app = TestApp::spawn_for_webhooks(app.engine).await;
    let receiver = Receiver::start().await;
    receiver.script(
        "/in",
        vec![Reply::status(503), Reply::status(500), Reply::status(200)],
    );
    let (_, secret) = subscribe(&app, &receiver.url("/in"), json!(["api"])).await;
    let (contact, tag) = contact_and_tag(&app).await;
    put_tag(&app, &contact, &tag).await;

    let first = wait_for(&receiver, 1).await;
    let pairs = form(&first[0]);
    assert_eq!(field(&pairs, "type"), Some("contact_tag_added"));
    assert_eq!(field(&pairs, "initiated_from"), Some("api"));
    assert_eq!(field(&pairs, "tag"), Some("customer"));
    assert_eq!(field(&pairs, "contact[id]"), Some(contact.as_str()));
    assert_eq!(field(&pairs, "contact[email]"), Some("ann@example.com"));
    assert_eq!(field(&pairs, "contact[first_name]"), Some("Ann"));
    assert_eq!(field(&pairs, "contact[tags]"), Some("customer"));
    let verifier = standardwebhooks::Webhook::new(&secret).unwrap();
    verifier.verify(&first[0].body, &first[0].headers).unwrap();

    // The receiver failed: the next attempts come as the clock passes their delays (5 s,
    // then 10 s, each within a fifth), under the same webhook-id.
    app.clock.advance(Duration::from_secs(7));
    let second = wait_for(&receiver, 2).await;
    app.clock.advance(Duration::from_secs(13));
    let third = wait_for(&receiver, 3).await;
    assert_eq!(second.len(), 2);
    let id = first[0].headers["webhook-id"].clone();
    assert!(third
        .iter()
        .all(|request| request.headers["webhook-id"] == id));
    assert!(third.iter().all(|request| request.body == first[0].body));
    // Taken: no more attempts, however long the clock runs.
    app.clock.advance(Duration::from_secs(3600));
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(receiver.received().len(), 3);

    // Taking the tag off is reported too.
    let removed = app
        .delete(&format!(
            "/api/3/contactTags/{}",
            tag_row(&app, &contact).await
        ))
        .await;
    assert_eq!(removed.status, 200, "{}", removed.text);
    let all = wait_for(&receiver, 4).await;
    let pairs = form(&all[3]);
    assert_eq!(field(&pairs, "type"), Some("contact_tag_removed"));
    assert_eq!(field(&pairs, "tag"), Some("customer"));
    assert_eq!(field(&pairs, "contact[tags]"), Some(""));
    assert_ne!(all[3].headers["webhook-id"], id);
}

async fn a_gone_receiver_disables_its_subscription(app: TestApp) {
    let app = TestApp::spawn_for_webhooks(app.engine).await;
    let receiver = Receiver::start().await;
    receiver.script("/gone", vec![Reply::status(410)]);
    let (webhook, _) = subscribe(&app, &receiver.url("/gone"), json!(["api"])).await;
    let (contact, tag) = contact_and_tag(&app).await;
    put_tag(&app, &contact, &tag).await;
    wait_for(&receiver, 1).await;
    let started = Instant::now();
    loop {
        let shown = app.get(&format!("/api/3/webhooks/{webhook}")).await;
        if shown.body["webhook"]["disabled"] == json!(true) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "{}",
            shown.text
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A disabled subscription hears of nothing more.
    app.delete(&format!(
        "/api/3/contactTags/{}",
        tag_row(&app, &contact).await
    ))
    .await;
    app.clock.advance(Duration::from_secs(60));
    app.webhooks.run_once().await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(receiver.received().len(), 1);
    let log = app
        .get(&format!("/api/3/webhooks/{webhook}/deliveries"))
        .await;
    assert_eq!(log.body["webhookDeliveries"][0]["status"], "gone");
    let refused = app
        .post(
            &format!("/api/3/webhooks/{webhook}/replay"),
            json!({"replay": {"from": "2000-01-01T00:00:00+00:00"}}),
        )
        .await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    let enabled = app
        .put(
            &format!("/api/3/webhooks/{webhook}"),
            json!({"webhook": {"disabled": false}}),
        )
        .await;
    assert_eq!(enabled.body["webhook"]["disabled"], json!(false));
}

async fn changes_a_subscription_does_not_hear_of_are_not_delivered(app: TestApp) {
    let app = TestApp::spawn_for_webhooks(app.engine).await;
    let receiver = Receiver::start().await;
    // It hears of what the contact does (public), not of API calls.
    subscribe(&app, &receiver.url("/in"), json!(["public"])).await;
    let (contact, tag) = contact_and_tag(&app).await;
    put_tag(&app, &contact, &tag).await;
    let round = app.webhooks.run_once().await.unwrap();
    assert_eq!(round.dispatched, 0);
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(receiver.received().is_empty());
}

async fn recorded_events_are_reported_once_each(app: TestApp) {
    let app = TestApp::spawn_for_webhooks(app.engine).await;
    let receiver = Receiver::start().await;
    let created = app
        .post(
            "/api/3/webhooks",
            json!({"webhook": {"name": "events", "url": receiver.url("/events"),
                "events": ["event_recorded"], "sources": ["public"]}}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let ada = enable(&app).await;
    let key = app.event_key.clone();
    let track = json!({"event": "signup", "userId": "ada@example.com", "messageId": "m-1",
        "properties": {"plan": "pro"}});
    for _ in 0..2 {
        // The second is a retry of the same message: recorded once, reported once.
        let answer = segment(&app, "/v1/track", &key, track.clone()).await;
        assert_eq!(answer.status, 200, "{}", answer.text);
    }
    let actid = app.account.0.to_string();
    let visit = json!({"email": "ada@example.com"}).to_string();
    let spawned = spawn(
        &app,
        &[
            ("actid", &actid),
            ("key", &key),
            ("event", "signup"),
            ("eventdata", "plan=team"),
            ("visit", &visit),
        ],
    )
    .await;
    assert_eq!(spawned.status, 200, "{}", spawned.text);
    let received = wait_for(&receiver, 2).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(receiver.received().len(), 2);
    let mut data = Vec::new();
    for request in &received {
        let pairs = form(request);
        assert_eq!(field(&pairs, "type"), Some("event_recorded"));
        assert_eq!(field(&pairs, "initiated_from"), Some("public"));
        assert_eq!(field(&pairs, "event[name]"), Some("signup"));
        assert_eq!(field(&pairs, "contact[id]"), Some(ada.as_str()));
        assert_eq!(field(&pairs, "contact[email]"), Some("ada@example.com"));
        data.push(field(&pairs, "event[data]").unwrap_or_default().to_owned());
    }
    data.sort();
    assert_eq!(data, ["plan=team", r#"{"plan":"pro"}"#]);
}

async fn subscriptions_to_lists_are_reported_to_the_lists_webhooks(app: TestApp) {
    let app = TestApp::spawn_for_webhooks(app.engine).await;
    let receiver = Receiver::start().await;
    let news = app
        .create(
            "/api/3/lists",
            json!({"list": {"name": "News", "stringid": "news"}}),
        )
        .await;
    let deals = app
        .create(
            "/api/3/lists",
            json!({"list": {"name": "Deals", "stringid": "deals"}}),
        )
        .await;
    for (path, list) in [("/news", &news), ("/deals", &deals)] {
        let created = app
            .post(
                "/api/3/webhooks",
                json!({"webhook": {"name": path, "url": receiver.url(path),
                    "events": ["subscribe", "unsubscribe"], "sources": ["api"],
                    "listid": list}}),
            )
            .await;
        assert_eq!(created.status, 201, "{}", created.text);
    }
    let (contact, _) = contact_and_tag(&app).await;
    for status in [1, 1, 2] {
        // Subscribing twice is one subscription.
        let answer = app
            .post(
                "/api/3/contactLists",
                json!({"contactList": {"list": news, "contact": contact, "status": status}}),
            )
            .await;
        assert!(matches!(answer.status, 200 | 201), "{}", answer.text);
    }
    let received = wait_for(&receiver, 2).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(receiver.received().len(), 2, "{received:?}");
    // Deliveries are attempted side by side: their order is the payloads' `date_time`.
    let mut types: Vec<String> = received
        .iter()
        .map(|request| {
            assert_eq!(request.path, "/news", "only the list's webhook hears of it");
            let pairs = form(request);
            assert_eq!(field(&pairs, "list"), Some(news.as_str()));
            assert_eq!(field(&pairs, "contact[id]"), Some(contact.as_str()));
            field(&pairs, "type").unwrap().to_owned()
        })
        .collect();
    types.sort();
    assert_eq!(types, ["subscribe", "unsubscribe"]);
}

async fn entering_and_leaving_a_segment_is_reported(app: TestApp) {
    let app = TestApp::spawn_for_webhooks(app.engine).await;
    let receiver = Receiver::start().await;
    let created = app
        .post(
            "/api/3/webhooks",
            json!({"webhook": {"name": "segments", "url": receiver.url("/segments"),
                "events": ["segment_entered", "segment_left"], "sources": ["system"]}}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let (contact, tag) = contact_and_tag(&app).await;
    let segment = save(
        &app,
        "customers",
        json!({"hasTag": tag.parse::<i64>().unwrap()}),
    )
    .await;
    app.settle_segments().await;
    let row = tag_contact(&app, &contact, &tag).await;
    app.settle_segments().await;
    let entered = wait_for(&receiver, 1).await;
    let pairs = form(&entered[0]);
    assert_eq!(field(&pairs, "type"), Some("segment_entered"));
    assert_eq!(field(&pairs, "initiated_from"), Some("system"));
    assert_eq!(field(&pairs, "segment[id]"), Some(segment.as_str()));
    assert_eq!(field(&pairs, "contact[id]"), Some(contact.as_str()));
    app.delete(&format!("/api/3/contactTags/{row}")).await;
    app.settle_segments().await;
    let left = wait_for(&receiver, 2).await;
    let pairs = form(&left[1]);
    assert_eq!(field(&pairs, "type"), Some("segment_left"));
    assert_eq!(field(&pairs, "segment[id]"), Some(segment.as_str()));
}

async fn lists_updates_and_sent_campaigns_are_reported(app: TestApp) {
    let app = TestApp::spawn_for_webhooks(app.engine).await;
    let receiver = Receiver::start().await;
    let created = app
        .post(
            "/api/3/webhooks",
            json!({"webhook": {"name": "all", "url": receiver.url("/all"),
                "events": ["list_add", "update", "sent"], "sources": ["api", "system"]}}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let list = app
        .create(
            "/api/3/lists",
            json!({"list": {"name": "News", "stringid": "news"}}),
        )
        .await;
    let contact = app
        .create(
            "/api/3/contacts",
            json!({"contact": {"email": "bo@example.com", "firstName": "Bo"}}),
        )
        .await;
    app.update(
        &format!("/api/3/contacts/{contact}"),
        json!({"contact": {"firstName": "Bob"}}),
    )
    .await;
    let subscribed = app
        .post(
            "/api/3/contactLists",
            json!({"contactList": {"list": list, "contact": contact, "status": 1}}),
        )
        .await;
    assert!(
        matches!(subscribed.status, 200 | 201),
        "{}",
        subscribed.text
    );
    let campaign = app
        .draft_campaign(
            &list,
            json!({"subject": "News", "fromemail": "news@example.com", "html": "<p>Hi</p>",
                "text": "Hi"}),
        )
        .await;
    app.send_campaign(&campaign).await;
    for _ in 0..100 {
        app.sender.run_once().await.unwrap();
        if receiver.received().len() >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let received = wait_for(&receiver, 3).await;
    let mut seen: Vec<(String, Option<String>)> = received
        .iter()
        .map(|request| {
            let pairs = form(request);
            let kind = field(&pairs, "type").unwrap().to_owned();
            let detail = match kind.as_str() {
                "list_add" => field(&pairs, "list[name]"),
                "update" => field(&pairs, "contact[first_name]"),
                _ => field(&pairs, "campaign[id]"),
            };
            (kind, detail.map(str::to_owned))
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            ("list_add".to_owned(), Some("News".to_owned())),
            ("sent".to_owned(), Some(campaign.clone())),
            ("update".to_owned(), Some("Bob".to_owned())),
        ]
    );
}

both_engines!(
    lists_updates_and_sent_campaigns_are_reported,
    entering_and_leaving_a_segment_is_reported,
    subscriptions_to_lists_are_reported_to_the_lists_webhooks,
    recorded_events_are_reported_once_each,
    a_tag_reaches_the_receiver_signed_and_is_retried_until_taken,
    a_gone_receiver_disables_its_subscription,
    changes_a_subscription_does_not_hear_of_are_not_delivered,
);
