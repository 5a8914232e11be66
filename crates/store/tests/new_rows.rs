//! A timeline row notes its time for the scorer only in an account with a live scoring rule:
//! with segments alone, the contact's check is queued and nothing waits to be scored.

use sqlx::Connection;
use tracklane_core::event::{EventKind, NewEvent};
use tracklane_core::ids::ContactId;
use tracklane_core::segment::saved::SegmentDraft;
use tracklane_core::segment::Definition;
use tracklane_core::time::Timestamp;

mod common;

use common::{demo_rule, fresh_store};

#[tokio::test]
async fn rows_wait_for_the_scorer_only_where_a_rule_scores_them() {
    let fresh = fresh_store().await;
    let store = &fresh.store;
    let now = Timestamp(1_700_000_000_000_000);
    let account = store.bootstrap(now).await.unwrap().unwrap().id;
    let contact = fresh.contact_7().await;
    let mut raw = sqlx::SqliteConnection::connect(&fresh.url).await.unwrap();
    let draft = SegmentDraft {
        name: "demo".to_owned(),
        definition: Definition::parse(r#"{"event": {"name": "demo"}}"#).unwrap(),
    };
    store.create_segment(account, draft, now).await.unwrap();
    let demo =
        |at: Timestamp| NewEvent::of_contact(account, EventKind::Custom, "demo", contact, None, at);
    let noted = async |raw: &mut sqlx::SqliteConnection| -> (i64, Option<i64>) {
        sqlx::query_as(
            "SELECT c.due_at, n.since_at FROM segment_checks c \
             LEFT JOIN new_rows n ON n.contact_id = c.contact_id WHERE c.contact_id = 7",
        )
        .fetch_one(raw)
        .await
        .unwrap()
    };
    store.record_events(&[demo(now)], now).await.unwrap();
    assert_eq!(
        noted(&mut raw).await,
        (0, None),
        "queued, with nothing to score"
    );
    assert!(store
        .contacts_with_new_rows(ContactId(0), 10)
        .await
        .unwrap()
        .is_empty());
    let model = fresh.score_model(account, now).await;
    store
        .create_score_rule(account, model, demo_rule(5, None), now)
        .await
        .unwrap();
    let later = Timestamp(now.0 + 1_000_000);
    store.record_events(&[demo(later)], later).await.unwrap();
    assert_eq!(noted(&mut raw).await, (0, Some(later.0)));
    // An earlier row moves the noted time back; a later one leaves it.
    store.record_events(&[demo(now)], later).await.unwrap();
    store
        .record_events(&[demo(Timestamp(later.0 + 5))], later)
        .await
        .unwrap();
    assert_eq!(noted(&mut raw).await, (0, Some(now.0)));
    assert_eq!(
        store
            .contacts_with_new_rows(ContactId(0), 10)
            .await
            .unwrap(),
        vec![(contact, account)]
    );
}
