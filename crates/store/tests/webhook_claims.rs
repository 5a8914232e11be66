//! How deliveries are taken for attempts. One taken by a worker that then stops (a crash,
//! SIGKILL) is not taken by another until its lease is over, and then it is: nothing is lost,
//! and no two workers make the same attempt at once. A burst for one subscription leaves room
//! in each claim for the others'.

use std::time::Duration;

use tracklane_core::ids::AccountId;
use tracklane_core::ids::{ContactId, WebhookId};
use tracklane_core::tag::TagInput;
use tracklane_core::time::Timestamp;
use tracklane_core::webhook::event::WebhookSource;
use tracklane_core::webhook::{new_secret, WebhookInput};
use tracklane_store::webhooks::deliveries::{Saturated, PER_WEBHOOK};
use tracklane_store::Store;

mod common;

use common::fresh_store;

#[tokio::test]
async fn a_leased_delivery_waits_for_its_lease_then_goes_to_another_worker() {
    let fresh = fresh_store().await;
    let store = &fresh.store;
    let now = Timestamp(1_700_000_000_000_000);
    let account = store.bootstrap(now).await.unwrap().unwrap().id;
    fresh.contact_7().await;
    subscribe(store, account, WebhookSource::Api, now).await;
    tag(
        store,
        (account, ContactId(7)),
        "vip",
        WebhookSource::Api,
        now,
    )
    .await;
    assert_eq!(store.dispatch_webhook_changes(100, now).await.unwrap(), 1);

    let lease = Duration::from_secs(60);
    let taken = store
        .claim_webhook_deliveries(now, lease, 10, WebhookId(0), &Saturated::default())
        .await
        .unwrap();
    assert_eq!(taken.len(), 1);
    // The worker that took it stops here, its attempt unmade and unrecorded.
    let later = |seconds: i64| Timestamp(now.0 + seconds * 1_000_000);
    let during = store
        .claim_webhook_deliveries(later(59), lease, 10, WebhookId(0), &Saturated::default())
        .await
        .unwrap();
    assert!(
        during.is_empty(),
        "no other worker makes the attempt meanwhile"
    );
    let after = store
        .claim_webhook_deliveries(later(61), lease, 10, WebhookId(0), &Saturated::default())
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

#[tokio::test]
async fn a_burst_for_one_subscription_leaves_room_for_the_others() {
    let fresh = fresh_store().await;
    let store = &fresh.store;
    let now = Timestamp(1_700_000_000_000_000);
    let account = store.bootstrap(now).await.unwrap().unwrap().id;
    let contact = fresh.contact_7().await;
    // One subscription hears of tags put through the API (a burst), the other of those put
    // by the contact (three).
    subscribe(store, account, WebhookSource::Api, now).await;
    subscribe(store, account, WebhookSource::Public, now).await;
    for i in 0..120 {
        let name = format!("t{i}");
        tag(store, (account, contact), &name, WebhookSource::Api, now).await;
    }
    for i in 0..3 {
        let name = format!("u{i}");
        tag(store, (account, contact), &name, WebhookSource::Public, now).await;
    }
    let made = store.dispatch_webhook_changes(1000, now).await.unwrap();
    assert_eq!(made, 123);
    let lease = Duration::from_secs(60);
    let taken = store
        .claim_webhook_deliveries(now, lease, 100, WebhookId(0), &Saturated::default())
        .await
        .unwrap();
    let mut per: std::collections::BTreeMap<i64, i64> = std::collections::BTreeMap::new();
    for delivery in &taken {
        *per.entry(delivery.webhook.0).or_default() += 1;
    }
    assert_eq!(per.values().copied().collect::<Vec<_>>(), [PER_WEBHOOK, 3]);

    // A worker whose attempts at the busy subscription are at their share takes none of its
    // deliveries; those it gives back unmade are due again at once.
    let busy = taken
        .iter()
        .find(|delivery| per[&delivery.webhook.0] == PER_WEBHOOK);
    let busy = busy.unwrap().webhook;
    let quiet: Vec<_> = taken
        .iter()
        .filter(|d| d.webhook != busy)
        .map(|d| d.id)
        .collect();
    store.release_webhook_deliveries(&quiet, now).await.unwrap();
    let saturated = Saturated {
        webhooks: vec![busy],
        ..Saturated::default()
    };
    let again = store
        .claim_webhook_deliveries(now, lease, 100, WebhookId(0), &saturated)
        .await
        .unwrap();
    let mut ids: Vec<_> = again.iter().map(|delivery| delivery.id).collect();
    ids.sort();
    assert_eq!(ids, quiet);
    let saturated = Saturated {
        accounts: vec![account],
        ..Saturated::default()
    };
    let none = store
        .claim_webhook_deliveries(now, lease, 100, WebhookId(0), &saturated)
        .await;
    assert!(none.unwrap().is_empty());
}

/// A subscription of the account to tags put on contacts by `source`.
async fn subscribe(store: &Store, account: AccountId, source: WebhookSource, now: Timestamp) {
    let draft = WebhookInput {
        name: Some(source.name().to_owned()),
        url: Some("https://93.184.216.34/in".to_owned()),
        events: Some(vec!["contact_tag_added".to_owned()]),
        sources: Some(vec![source.name().to_owned()]),
        ..WebhookInput::default()
    }
    .into_draft()
    .unwrap();
    store
        .create_webhook(account, draft, &new_secret().unwrap(), now)
        .await
        .unwrap();
}

/// Puts a new tag named `name` on the contact, as `source` does.
async fn tag(
    store: &Store,
    (account, contact): (AccountId, ContactId),
    name: &str,
    source: WebhookSource,
    now: Timestamp,
) {
    let draft = TagInput {
        name: Some(name.to_owned()),
        ..TagInput::default()
    }
    .into_draft()
    .unwrap();
    let tag = store.create_tag(account, draft, now).await.unwrap().id;
    store
        .add_contact_tag(account, contact, tag, source, now)
        .await
        .unwrap();
}
