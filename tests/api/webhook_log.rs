//! The webhook delivery log and replays, and deliveries taken by several workers at once: each
//! delivery's status, attempts and the receiver's last answer; failed ones replayed by range or
//! one by one under the same webhook-id; finished ones leaving the log after 30 days; a burst
//! delivered once each by three workers side by side.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tracklane_e2e::receiver::{Receiver, Reply};
use tracklane_e2e::{both_engines, TestApp};
use tracklane_server::workers::webhooks::Webhooks;

use crate::webhook_deliveries::{
    contact_and_tag, message_ids, put_tag, subscribe, tag_burst, wait_for,
};

/// Waits until the subscription's newest delivery has `status`; answers the log's page.
async fn log_until(app: &TestApp, webhook: &str, status: &str) -> Value {
    let started = Instant::now();
    loop {
        let log = app
            .get(&format!("/api/3/webhooks/{webhook}/deliveries"))
            .await;
        assert_eq!(log.status, 200, "{}", log.text);
        if log.body["webhookDeliveries"][0]["status"] == status {
            return log.body;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "{}", log.text);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn the_log_shows_each_delivery_and_failed_ones_replay(app: TestApp) {
    let app = TestApp::spawn_for_webhooks(app.engine).await;
    let receiver = Receiver::start().await;
    receiver.script(
        "/in",
        vec![Reply::status(400).body("bad payload"), Reply::status(200)],
    );
    let (webhook, _) = subscribe(&app, &receiver.url("/in"), json!(["api"])).await;
    let (contact, tag) = contact_and_tag(&app).await;
    put_tag(&app, &contact, &tag).await;
    let log = log_until(&app, &webhook, "failed").await;
    assert_eq!(log["meta"]["total"], "1");
    let one = &log["webhookDeliveries"][0];
    assert_eq!(one["type"], "contact_tag_added");
    assert_eq!(one["attempts"], 1);
    assert_eq!(one["lastResponseCode"], 400);
    assert_eq!(one["lastResponse"], "bad payload");
    assert!(one["finishedDate"].is_string());
    let delivery = one["id"].as_str().unwrap().to_owned();
    let none = app
        .get(&format!(
            "/api/3/webhooks/{webhook}/deliveries?status=delivered"
        ))
        .await;
    assert_eq!(none.body["meta"]["total"], "0");
    let bogus = app
        .get(&format!("/api/3/webhooks/{webhook}/deliveries?status=lost"))
        .await;
    assert_eq!(bogus.status, 422, "{}", bogus.text);

    // Every failed delivery of the last hour is tried again now.
    let from = "2000-01-01T00:00:00+00:00";
    let replayed = app
        .post(
            &format!("/api/3/webhooks/{webhook}/replay"),
            json!({"replay": {"from": from}}),
        )
        .await;
    assert_eq!(replayed.status, 200, "{}", replayed.text);
    assert_eq!(replayed.body["replayed"], 1);
    let log = log_until(&app, &webhook, "delivered").await;
    assert_eq!(log["webhookDeliveries"][0]["attempts"], 2);
    assert_eq!(log["webhookDeliveries"][0]["lastResponseCode"], 200);
    // One delivery replays by its id, under the same webhook-id.
    let again = app
        .post(
            &format!("/api/3/webhookDeliveries/{delivery}/replay"),
            json!({}),
        )
        .await;
    assert_eq!(again.status, 200, "{}", again.text);
    let received = wait_for(&receiver, 3).await;
    assert!(received
        .iter()
        .all(|request| request.headers["webhook-id"] == received[0].headers["webhook-id"]));
    for bad in [json!({}), json!({"replay": {"from": "yesterday"}})] {
        let refused = app
            .post(&format!("/api/3/webhooks/{webhook}/replay"), bad)
            .await;
        assert_eq!(refused.status, 422, "{}", refused.text);
    }
    // Another account sees none of it.
    let other = app.other_account_key().await;
    let theirs = app
        .send(
            "GET",
            &format!("/api/3/webhookDeliveries/{delivery}"),
            Some(&other),
            None,
        )
        .await;
    assert_eq!(theirs.status, 404, "{}", theirs.text);
    // The log keeps finished deliveries 30 days.
    log_until(&app, &webhook, "delivered").await;
    app.clock.advance(Duration::from_secs(31 * 86_400));
    app.retention.run_once().await.unwrap();
    let expired = app
        .get(&format!("/api/3/webhooks/{webhook}/deliveries"))
        .await;
    assert_eq!(expired.body["meta"]["total"], "0", "{}", expired.text);
}

async fn a_burst_reaches_the_receiver_once_each_with_workers_side_by_side(app: TestApp) {
    let app = TestApp::spawn_for_webhooks(app.engine).await;
    let receiver = Receiver::start().await;
    subscribe(&app, &receiver.url("/in"), json!(["api"])).await;
    const BURST: usize = 40;
    tag_burst(&app, BURST).await;
    // Two more workers (as on other nodes) beside the server's own, all at once.
    let other = Webhooks::new(app.store.clone(), app.clock.clone(), true).unwrap();
    let rounds = |worker: Webhooks| async move {
        for _ in 0..20 {
            worker.run_once().await.unwrap();
        }
    };
    tokio::join!(rounds(other.clone()), rounds(app.webhooks.clone()));
    let received = wait_for(&receiver, BURST).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        message_ids(&receiver).len(),
        BURST,
        "every delivery arrived"
    );
    assert_eq!(
        receiver.received().len(),
        BURST,
        "and none twice ({} requests)",
        received.len()
    );
}

both_engines!(
    the_log_shows_each_delivery_and_failed_ones_replay,
    a_burst_reaches_the_receiver_once_each_with_workers_side_by_side,
);
