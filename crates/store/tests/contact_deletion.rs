//! Deleting a contact deletes its score awards with it, and leaves other contacts' awards as
//! they were.

use sqlx::Connection;
use tracklane_core::score::award::AdjustmentInput;
use tracklane_core::time::Timestamp;

mod common;

use common::fresh_store;

#[tokio::test]
async fn a_deleted_contacts_awards_go_with_it() {
    let fresh = fresh_store().await;
    let store = &fresh.store;
    let now = Timestamp(1_700_000_000_000_000);
    let account = store.bootstrap(now).await.unwrap().unwrap().id;
    let gone = fresh.contact_7().await;
    let kept = fresh.contact(8, "b@example.com").await;
    let model = fresh.score_model(account, now).await;
    for contact in [gone, kept] {
        let adjustment = AdjustmentInput {
            model: Some(model),
            points: Some(5),
            reason: Some("by hand".to_owned()),
            expiry_days: None,
        }
        .into_adjustment()
        .unwrap();
        store
            .adjust_score(account, contact, adjustment, now)
            .await
            .unwrap();
    }
    store.delete_contact(account, gone).await.unwrap();
    let mut raw = sqlx::SqliteConnection::connect(&fresh.url).await.unwrap();
    let awards: Vec<(i64, i64)> =
        sqlx::query_as("SELECT contact_id, points FROM score_awards ORDER BY contact_id")
            .fetch_all(&mut raw)
            .await
            .unwrap();
    assert_eq!(
        awards,
        vec![(8, 5)],
        "only the kept contact's award is left"
    );
}
