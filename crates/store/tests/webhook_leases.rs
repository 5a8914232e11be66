//! A delivery taken for an attempt by a worker that then stops (a crash, SIGKILL) is not taken
//! by another until its lease is over, and then it is: nothing is lost, and no two workers make
//! the same attempt at once.

use std::time::Duration;

use tracklane_core::ids::ContactId;
use tracklane_core::tag::TagInput;
use tracklane_core::time::Timestamp;
use tracklane_core::webhook::event::WebhookSource;
use tracklane_core::webhook::{new_secret, WebhookInput};

mod common;

use common::fresh_store;

#[tokio::test]
async fn a_leased_delivery_waits_for_its_lease_then_goes_to_another_worker() {
    let fresh = fresh_store().await;
    let store = &fresh.store;
    let now = Timestamp(1_700_000_000_000_000);
    let account = store.bootstrap(now).await.unwrap().unwrap().id;
    fresh.contact_7().await;
    let draft = WebhookInput {
        name: Some("crm".to_owned()),
        url: Some("https://93.184.216.34/in".to_owned()),
        events: Some(vec!["contact_tag_added".to_owned()]),
        sources: Some(vec!["api".to_owned()]),
        ..WebhookInput::default()
    }
    .into_draft()
    .unwrap();
    store
        .create_webhook(account, draft, &new_secret().unwrap(), now)
        .await
        .unwrap();
    let tag = TagInput {
        name: Some("vip".to_owned()),
        ..TagInput::default()
    }
    .into_draft()
    .unwrap();
    let tag = store.create_tag(account, tag, now).await.unwrap().id;
    store
        .add_contact_tag(account, ContactId(7), tag, WebhookSource::Api, now)
        .await
        .unwrap();
    assert_eq!(store.dispatch_webhook_changes(100, now).await.unwrap(), 1);

    let lease = Duration::from_secs(60);
    let taken = store
        .claim_webhook_deliveries(now, lease, 10)
        .await
        .unwrap();
    assert_eq!(taken.len(), 1);
    // The worker that took it stops here, its attempt unmade and unrecorded.
    let later = |seconds: i64| Timestamp(now.0 + seconds * 1_000_000);
    let during = store
        .claim_webhook_deliveries(later(59), lease, 10)
        .await
        .unwrap();
    assert!(
        during.is_empty(),
        "no other worker makes the attempt meanwhile"
    );
    let after = store
        .claim_webhook_deliveries(later(61), lease, 10)
        .await
        .unwrap();
    assert_eq!(
        after.len(),
        1,
        "once the lease is over, another worker makes it"
    );
    assert_eq!(after[0].id, taken[0].id);
    assert_eq!(after[0].body, taken[0].body);
}
