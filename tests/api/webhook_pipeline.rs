//! The server's own webhook worker under a burst: a slow receiver holds only its share of the
//! worker's connections, so a fast one gets its deliveries meanwhile; and a restart of the
//! server in the middle of a burst neither loses nor doubles a delivery.

use std::time::Duration;

use serde_json::json;
use tracklane_e2e::receiver::{Receiver, Reply};
use tracklane_e2e::{both_engines, TestApp};
use tracklane_server::workers::webhooks::shares::HOST_IN_FLIGHT;

use crate::webhook_deliveries::{message_ids, subscribe, tag_burst, wait_for};

async fn a_slow_receiver_does_not_hold_back_a_fast_one(app: TestApp) {
    let app = TestApp::spawn_for_webhooks(app.engine).await;
    let slow = Receiver::start().await;
    slow.script(
        "/in",
        vec![Reply::status(200).after(Duration::from_secs(5))],
    );
    let fast = Receiver::start().await;
    subscribe(&app, &slow.url("/in"), json!(["api"])).await;
    subscribe(&app, &fast.url("/in"), json!(["api"])).await;
    // More than a claim takes of one subscription at once.
    const BURST: usize = 120;
    tag_burst(&app, BURST).await;

    wait_for(&fast, BURST).await;
    // The slow receiver is still at its first answers, with no more requests at once than
    // its share: the fast one did not wait for them.
    let slow_so_far = slow.received().len();
    assert!(
        slow_so_far <= HOST_IN_FLIGHT,
        "the slow receiver got {slow_so_far} requests"
    );
    assert_eq!(message_ids(&fast).len(), BURST);
}

async fn a_restart_in_the_middle_of_a_burst_loses_and_doubles_nothing(app: TestApp) {
    let mut app = TestApp::spawn_for_webhooks(app.engine).await;
    let receiver = Receiver::start().await;
    receiver.script(
        "/in",
        vec![Reply::status(200).after(Duration::from_millis(500))],
    );
    let (webhook, _) = subscribe(&app, &receiver.url("/in"), json!(["api"])).await;
    const BURST: usize = 80;
    tag_burst(&app, BURST).await;
    wait_for(&receiver, 1).await;

    // Stopped with attempts under way and deliveries waiting: those under way are finished
    // and recorded, the waiting ones given back, and the next start makes them.
    app.restart().await;
    let before = receiver.received().len();
    assert!(before < BURST, "the burst was over before the restart");
    wait_for(&receiver, BURST).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        message_ids(&receiver).len(),
        BURST,
        "every delivery arrived"
    );
    assert_eq!(receiver.received().len(), BURST, "and none twice");
    // Each is recorded as delivered, once its answer is.
    let started = std::time::Instant::now();
    loop {
        let log = app
            .get(&format!(
                "/api/3/webhooks/{webhook}/deliveries?status=delivered&limit=1"
            ))
            .await;
        if log.body["meta"]["total"].as_str() == Some(&*BURST.to_string()) {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "{}", log.text);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

both_engines!(
    a_slow_receiver_does_not_hold_back_a_fast_one,
    a_restart_in_the_middle_of_a_burst_loses_and_doubles_nothing,
);
