//! Scoring with rules read before one of them was edited scores nothing for that account: the
//! contact's new rows stay noted, and a round queues its check again whole, so that the next
//! step and round score by the rules as they are.

use std::collections::BTreeMap;

use sqlx::Connection;
use tracklane_core::event::{EventKind, NewEvent};
use tracklane_core::ids::ContactId;
use tracklane_core::time::Timestamp;
use tracklane_store::scoring::live::ScoreWork;
use tracklane_store::segments::membership::{NextCheck, Settled};

mod common;

use common::{demo_rule, fresh_store};

#[tokio::test]
async fn scoring_with_rules_read_before_an_edit_scores_nothing_and_keeps_the_rows() {
    let fresh = fresh_store().await;
    let store = &fresh.store;
    let now = Timestamp(1_700_000_000_000_000);
    let account = store.bootstrap(now).await.unwrap().unwrap().id;
    fresh.contact_7().await;
    let mut raw = sqlx::SqliteConnection::connect(&fresh.url).await.unwrap();
    let model = fresh.score_model(account, now).await;
    let created = store
        .create_score_rule(account, model, demo_rule(5, None), now)
        .await
        .unwrap();
    // The worker reads the rules (revision 1), then the rule is edited (revision 2).
    let read = store.account_score_rules(account).await.unwrap();
    store
        .replace_score_rule(account, created.id, demo_rule(9, None), now)
        .await
        .unwrap();
    let contact = ContactId(7);
    let event = NewEvent::of_contact(account, EventKind::Custom, "demo", contact, None, now);
    store.record_events(&[event], now).await.unwrap();
    let check = store
        .due_segment_checks(now, 10)
        .await
        .unwrap()
        .into_iter()
        .find(|check| check.contact == contact)
        .unwrap();
    let settled = Settled {
        check,
        changes: Vec::new(),
        next: NextCheck::OnChange,
        scoring: ScoreWork::default(),
    };
    let rules = BTreeMap::from([(account, read)]);
    let (_, scores) = store
        .settle_segment_checks(&[settled], &rules, now)
        .await
        .unwrap();
    assert!(scores.is_empty());
    let scored = store
        .score_new_rows(&[(contact, account)], &rules, &BTreeMap::new(), now)
        .await
        .unwrap();
    assert_eq!(scored.taken, 0);
    assert!(scored.changes.is_empty());
    let (awards, since): (i64, Option<i64>) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM score_awards), \
         (SELECT since_at FROM new_rows WHERE contact_id = 7)",
    )
    .fetch_one(&mut raw)
    .await
    .unwrap();
    assert_eq!(
        awards, 0,
        "nothing scored by the rules read before the edit"
    );
    assert_eq!(since, Some(now.0), "the new rows stay noted");
    let again = store.due_segment_checks(now, 10).await.unwrap();
    assert!(
        again.iter().any(|check| check.contact == contact),
        "the contact is checked again"
    );
    // With the rules read again, the step scores the rows by the edited rule.
    let current = BTreeMap::from([(account, store.account_score_rules(account).await.unwrap())]);
    let scored = store
        .score_new_rows(&[(contact, account)], &current, &BTreeMap::new(), now)
        .await
        .unwrap();
    assert_eq!(scored.taken, 1);
    let (points, since): (i64, Option<i64>) = sqlx::query_as(
        "SELECT (SELECT SUM(points) FROM score_awards), \
         (SELECT since_at FROM new_rows WHERE contact_id = 7)",
    )
    .fetch_one(&mut raw)
    .await
    .unwrap();
    assert_eq!(points, 9, "awarded by the edited rule");
    assert_eq!(since, None, "the rows are noted as scored");
}
