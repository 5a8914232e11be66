//! The store on a fresh SQLite file: migrations, bootstrap, and the contact round trip.

use tracklane_core::contact::ContactInput;
use tracklane_core::time::Timestamp;
use tracklane_store::accounts::KeyKind;
use tracklane_store::contacts::ContactQuery;
use tracklane_store::{PoolSize, Store};

#[tokio::test]
async fn bootstraps_once_and_round_trips_a_contact() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}/t.db?mode=rwc", dir.path().display());
    let store = Store::connect(&url, PoolSize::default()).await.unwrap();
    store.migrate().await.unwrap();
    let now = Timestamp(1_700_000_000_000_000);
    let account = store
        .bootstrap(now)
        .await
        .unwrap()
        .expect("first start creates an account");
    assert!(store.bootstrap(now).await.unwrap().is_none());
    assert_eq!(
        store
            .account_for_key(KeyKind::Api, &account.api_key)
            .await
            .unwrap(),
        Some(account.id)
    );
    assert_eq!(
        store
            .account_for_key(KeyKind::Event, &account.api_key)
            .await
            .unwrap(),
        None
    );

    let draft = ContactInput {
        email: Some("Ada@Example.com".into()),
        first_name: Some("Ada".into()),
        ..ContactInput::default()
    }
    .into_draft()
    .unwrap();
    let (created, _) = store
        .create_contact(account.id, draft.clone(), now)
        .await
        .unwrap();
    assert_eq!(created.email, "ada@example.com");
    assert!(store
        .create_contact(account.id, draft.clone(), now)
        .await
        .is_err());
    let (synced, _, was_created) = store.sync_contact(account.id, draft, now).await.unwrap();
    assert!(!was_created);
    assert_eq!(synced.id, created.id);

    let query = ContactQuery {
        search: Some("ADA".into()),
        ..ContactQuery::default()
    };
    let page = store
        .contacts(account.id, &query, Default::default())
        .await
        .unwrap();
    assert_eq!(page.total, 1);
    assert_eq!(page.items[0].first_name, "Ada");
}
