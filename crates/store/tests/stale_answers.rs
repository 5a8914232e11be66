//! A membership check evaluated against a definition that has been edited since (by another
//! node, or while the worker was evaluating) changes no members when it is settled: the
//! computation after the edit answers instead. The check is still taken.

use std::collections::BTreeMap;

use sqlx::Connection;
use tracklane_core::ids::{AccountId, ContactId, SegmentId, TagId};
use tracklane_core::segment::saved::{SegmentDraft, SegmentPatch};
use tracklane_core::segment::Definition;
use tracklane_core::time::Timestamp;
use tracklane_core::webhook::event::WebhookSource;
use tracklane_store::scoring::live::ScoreWork;
use tracklane_store::segments::membership::{Change, NextCheck, Settled};
use tracklane_store::Store;

mod common;

use common::fresh_store;

#[tokio::test]
async fn an_answer_to_an_edited_definition_changes_no_members() {
    let fresh = fresh_store().await;
    let (store, url) = (&fresh.store, &fresh.url);
    let now = Timestamp(1_700_000_000_000_000);
    let account = store.bootstrap(now).await.unwrap().unwrap().id;
    let mut raw = sqlx::SqliteConnection::connect(url).await.unwrap();
    for sql in [
        "INSERT INTO contacts (id, account_id, email, hash, created_at, updated_at) \
         VALUES (7, 1, 'a@example.com', 'h', 0, 0)",
        "INSERT INTO tags (id, account_id, name, tag_type, created_at, updated_at) \
         VALUES (3, 1, 'vip', 'contact', 0, 0), (4, 1, 'other', 'contact', 0, 0)",
    ] {
        sqlx::query(sql).execute(&mut raw).await.unwrap();
    }
    let has_tag = |tag: i64| Definition::parse(&format!(r#"{{"hasTag": {tag}}}"#)).unwrap();
    let draft = SegmentDraft {
        name: "VIP".to_owned(),
        definition: has_tag(3),
    };
    let segment = store.create_segment(account, draft, now).await.unwrap();
    store
        .compute_segment_members(account, segment.id, now)
        .await
        .unwrap();
    let contact = ContactId(7);
    store
        .add_contact_tag(account, contact, TagId(3), WebhookSource::Api, now)
        .await
        .unwrap();
    let check = store.due_segment_checks(now, 10).await.unwrap()[0];
    assert_eq!(check.contact, contact);

    // The segment is edited after the worker evaluated revision 1.
    let edit = SegmentPatch {
        name: None,
        definition: Some(has_tag(4)),
    };
    store
        .update_segment(account, segment.id, edit, now)
        .await
        .unwrap();
    let stale = Settled {
        check,
        changes: vec![Change {
            segment: segment.id,
            revision: 1,
            entered: true,
        }],
        next: NextCheck::OnChange,
        scoring: ScoreWork::default(),
    };
    let (transitions, _) = store
        .settle_segment_checks(&[stale], &BTreeMap::new(), now)
        .await
        .unwrap();
    assert_eq!(transitions, vec![], "a stale answer records nothing");
    assert_eq!(members(store, segment.id).await, 0);
    assert!(
        store.due_segment_checks(now, 10).await.unwrap().is_empty(),
        "the check was taken"
    );

    // The same answer to the current revision is applied.
    store
        .add_contact_tag(account, contact, TagId(4), WebhookSource::Api, now)
        .await
        .unwrap();
    let check = store.due_segment_checks(now, 10).await.unwrap()[0];
    let current = Settled {
        check,
        changes: vec![Change {
            segment: segment.id,
            revision: 2,
            entered: true,
        }],
        next: NextCheck::OnChange,
        scoring: ScoreWork::default(),
    };
    let (transitions, _) = store
        .settle_segment_checks(&[current], &BTreeMap::new(), now)
        .await
        .unwrap();
    assert_eq!(transitions.len(), 1);
    assert_eq!(members(store, segment.id).await, 1);
}

/// The segment's stored count.
async fn members(store: &Store, segment: SegmentId) -> i64 {
    store
        .existing_segment(AccountId(1), segment)
        .await
        .unwrap()
        .member_count
}
